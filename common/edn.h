/* edn.h - a bounded EDN reader that produces jansson values (for Jepsen/Knossos histories).
 *
 * Conversion (the same as history.h describes for EDN histories). EDN
 * values equal in Clojure stay equal (json_equal) and values Clojure tells
 * apart stay apart ((= :a "a") is false), so a checker comparing values never
 * takes one for another:
 *   nil -> null, true/false -> booleans, integers -> integers (1N is 1;
 *   beyond int64 a tagged value, below), floats -> reals when they hold a
 *   fraction, else tagged ("1.0": 1.0 is not 1, as in Clojure; one double is
 *   one text, so 1.0 is 1e0; a JSON real thus always holds a fraction, in
 *   EDN as in JSONL); BigDecimals (1.0M) are rejected: Clojure's equality on
 *   them is not a double's), strings -> strings, vectors and lists -> arrays
 *   ([1 2] = (1 2) in Clojure), maps -> objects.
 *   Keywords, symbols, characters, big integers, #inst and #uuid are
 *   "tagged": a string holding a NUL byte then the value's canonical EDN text
 *   (":a", "a" for the symbol a, "\a", "-123456789012345678901N", "1.0",
 *   "#inst \"...\"", "#uuid \"...\"" lower-cased). No other string holds a
 *   NUL (the readers reject it), so a tagged value equals only its own kind.
 *   A set is an array whose first element is the tagged marker "#{" and then
 *   its elements in a canonical order (equal sets give equal arrays; a
 *   repeated element is an error); fl_edn_coll_first() skips the marker.
 *   Map keys (jansson's are strings): a keyword key is ":name"; a string
 *   key is itself, so JSON objects written as EDN read back the same (marked
 *   as below when it starts with the mark or is ":" then a keyword name);
 *   any other key is FL_EDN_KEY_MARK then its canonical EDN text ("\x01" "1"
 *   for 1, "\x01" "[1 2]", "\x01" "nil"): {:a 1}, {"a" 1} and {1 1} stay
 *   three maps, as in Clojure. In an event map (a history reader sets
 *   op_map), the outermost map's keyword and string keys are their names:
 *   {:type :ok} has the field "type". Duplicate keys after conversion are an
 *   error. fl_edn_key_value() turns a key back into the value it was.
 *   Names read from op maps (type, f, process, micro-op f) go through
 *   fl_edn_name(), which takes a keyword, symbol or string alike.
 * Also understood: `;` comments, commas as whitespace, `#_` discard,
 * `#inst "..."` and `#uuid "..."` (-> their string), and Clojure record
 * syntax `#ns.Name{...}` (-> the map; Jepsen writes `#jepsen.history.Op{...}`).
 * Other tagged literals, ##Inf/##NaN, ratios, radix and octal integers and
 * Clojure-only reader macros are rejected with a message saying so.
 *
 * The reader works over a caller-owned buffer, never reads past its end,
 * bounds nesting at FL_HISTORY_MAX_DEPTH and reports errors as
 * "line N: column C: problem" (column in bytes, 1-based). */
#ifndef FL_EDN_H
#define FL_EDN_H

#include <jansson.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

struct fl_edn_reader {
    const char *data;       /* borrowed input, not NUL-terminated */
    const char *end;        /* data + length */
    const char *p;          /* next unread byte */
    const char *line_start; /* first byte of the current line, for columns */
    uint64_t line;          /* 1-based line of *p */
    int depth;              /* current nesting while reading a value */
    int op_map;             /* 1: the outermost map is an event, its keys field names (below) */
};

/* Prepares `rd` to read `len` bytes at `data` (borrowed; must outlive the
 * reader), starting at line 1. A caller reading a fragment of a larger text
 * may then set rd->line, rd->line_start and rd->p to keep positions true. */
void fl_edn_reader_init(struct fl_edn_reader *rd, const char *data, size_t len);

/* Skips whitespace, commas, comments and `#_` discarded forms. Returns 1 when
 * a form follows (rd->p points at it), 0 at the end of the input, or a
 * negative code with errmsg set (a discarded form can be malformed). */
int fl_edn_skip(struct fl_edn_reader *rd, char *errmsg);

/* Reads the next form. On success returns 0 and stores a new reference in
 * *out; at the end of the input returns FL_EPARSE ("unexpected end of
 * input"). A closing delimiter with no opener is an error too. On error
 * *out is NULL and errmsg says "line N: column C: problem". */
int fl_edn_read(struct fl_edn_reader *rd, json_t **out, char *errmsg);

/* Parses `len` bytes holding exactly one form (surrounding whitespace and
 * comments allowed). Returns 0 with a new reference in *out, or a negative
 * code with errmsg. */
int fl_edn_parse(const char *data, size_t len, json_t **out, char *errmsg);

/* The marker (first element of a set's array) and the tag byte. */
#define FL_EDN_TAG        '\0'
#define FL_EDN_SET_MARKER "\0#{"
#define FL_EDN_KEY_MARK   '\x01' /* first byte of a map key that is not a string or keyword */

/* True when v is a tagged scalar (a keyword, symbol, char, ...; see above). */
int fl_edn_is_tagged(const json_t *v);
/* True when v is a set (an array starting with the marker). */
int fl_edn_is_set(const json_t *v);
/* True when v holds a tagged scalar or a set anywhere inside. */
int fl_edn_has_tags(const json_t *v);
/* Index of an array's first element (1 for a set, past its marker; else 0). */
size_t fl_edn_coll_first(const json_t *v);
/* A name given as a string, keyword or symbol: its text in *s (borrowed,
 * *n bytes; a keyword without its colon). Returns 0, or -1 for anything else
 * (a char, a number, a tagged value of another kind). */
int fl_edn_name(const json_t *v, const char **s, size_t *n);
/* The value a map key read by this reader stands for (a new reference): a
 * keyword for a keyword's name ("x" -> :x), the form itself for any other
 * key's text ("\"1\"" -> "1", "1" -> 1); NULL when out of memory. A name
 * this reader never makes becomes the plain string. */
json_t *fl_edn_key_value(const char *name);
/* v with every tagged value made a plain string and every set an array (a
 * new reference; v itself when it holds none; NULL when out of memory), for
 * JSON, which has no keywords: with `names`, a keyword or symbol becomes its
 * name (an error's :timed-out -> "timed-out"), else every tagged value its
 * EDN text (":a", "\\a"), so that :a and "a" stay apart in JSONL. */
json_t *fl_edn_plain(json_t *v, int names);
/* The text a value is shown and compared as: compact JSON with sorted keys
 * when it holds no tagged value or set (what it always was), else EDN text in
 * canonical form (sorted map keys), ":a" for a keyword. Equal values give
 * equal texts, different values different ones. Returns a malloc'd string
 * (free()), or NULL when out of memory. */
char *fl_edn_value_text(const json_t *v);

/* True when `s` (len bytes) can be written as the keyword `:s` and read back,
 * by this reader and by Clojure's, as the same name. */
int fl_edn_is_keyword_name(const char *s, size_t len);

/* Writes `v` (borrowed) as EDN text that fl_edn_parse reads back as an equal
 * JSON value: null -> nil, strings as EDN strings, tagged values as their
 * EDN text, arrays as vectors (sets as sets), objects as maps whose keys are
 * keywords when fl_edn_is_keyword_name allows, the key's EDN text when it is
 * one the reader makes for a non-keyword key (see above), strings otherwise. Values nested deeper than `max_depth` are refused
 * with FL_ELIMIT. Returns 0, FL_ELIMIT, FL_ESHAPE or -EIO. */
int fl_edn_write_value(FILE *fp, const json_t *v, int max_depth);

#endif
