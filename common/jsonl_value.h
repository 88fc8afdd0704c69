/* jsonl_value.h - JSON text read as the values of a JSONL history (DESIGN.md
 * "Histories", README "Value handling").
 *
 * Numbers are the decimal values their text spells (RFC 8259 tells 1 from
 * 1.0 no more than 100 from 1e2; every JSON number is a double in
 * JavaScript), held in one form per value so that equal values stay equal
 * and different values different:
 *   an integer value (1, 1.0, 1e0, 100, 1e2, 9007199254740993.0) within
 *   int64 -> a JSON integer; beyond it -> the tagged big integer EDN reads
 *   ("\0" "100000000000000000000N"; compared digit by digit, not as a double);
 *   anything else (0.1, 2.5e-3) -> a JSON real, the double nearest the text.
 * Two different decimals that round to one double (0.1 and
 * 0.10000000000000000001 in one history, or 0.99999999999999999999, a
 * fraction a double holds as 1) cannot be told equal or apart (a client in
 * JavaScript sees one number, one in Python with Decimal two): reading stops
 * with FL_EUNDECIDED and says which, and the checker's verdict is `unknown`.
 *
 * Strings holding a NUL are the tagged EDN values of common/edn.h ("\u0000:a"
 * is the keyword :a, "\u00001.0" the EDN float 1.0, ["\u0000#{", 1, 2] the set
 * #{1 2}): how an EDN history exported to JSONL keeps what JSON cannot say.
 * Each must be the canonical form the EDN reader makes, else the line is
 * refused. */
#ifndef FL_JSONL_VALUE_H
#define FL_JSONL_VALUE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The fractions a history has read, to catch two spellings of one double. */
struct fl_jsonl_reals;

struct fl_jsonl_reals *fl_jsonl_reals_new(void);
void fl_jsonl_reals_free(struct fl_jsonl_reals *t);

/* Parses `len` bytes of JSON (jansson `flags` besides duplicate keys and NUL,
 * which are decided here) into *out (a new reference) with numbers and tags
 * as above. `reals` (may be NULL: no check across calls) remembers the
 * fractions seen, `line` is recorded with them for messages. Returns 0, or
 * FL_EPARSE / FL_ELIMIT / FL_EUNDECIDED / FL_ENOMEM with errmsg
 * "column C: problem" or "problem". */
int fl_jsonl_parse(const char *text, size_t len, size_t flags, struct fl_jsonl_reals *reals,
                   uint64_t line, json_t **out, char *errmsg);

#endif
