/* edn.h - a bounded EDN reader that produces jansson values (for Jepsen/Knossos histories).
 *
 * Conversion (the same as history.h describes for EDN histories):
 *   nil -> null, true/false -> booleans, integers -> integers (int64; overflow
 *   is an error), floats -> reals, strings and characters -> strings,
 *   keywords -> strings without the leading colon (":cas" -> "cas",
 *   ":a/b" -> "a/b"), symbols -> strings, vectors, lists and sets -> arrays
 *   (a set's elements in a canonical order, so equal sets give equal arrays;
 *   a repeated element is an error), maps -> objects. A map key that is a string, keyword or symbol becomes
 *   that string; any other key becomes its source text with runs of
 *   whitespace and commas folded to one space ({[1 2] 3} -> {"[1 2]": 3}).
 *   Duplicate keys after conversion are an error.
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

/* True when `s` (len bytes) can be written as the keyword `:s` and read back,
 * by this reader and by Clojure's, as the same name. */
int fl_edn_is_keyword_name(const char *s, size_t len);

/* Writes `v` (borrowed) as EDN text that fl_edn_parse reads back as an equal
 * JSON value: null -> nil, strings as EDN strings, arrays as vectors,
 * objects as maps whose keys are keywords when fl_edn_is_keyword_name allows
 * and strings otherwise. Values nested deeper than `max_depth` are refused
 * with FL_ELIMIT. Returns 0, FL_ELIMIT, FL_ESHAPE or -EIO. */
int fl_edn_write_value(FILE *fp, const json_t *v, int max_depth);

#endif
