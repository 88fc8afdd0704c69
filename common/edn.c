/* edn.c - the bounded EDN reader and the JSON-to-EDN value writer (see edn.h). */
#include "common/edn.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/history.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* read_form's "nothing left" result; never escapes this file. */
#define END_OF_INPUT 1

/* Longest number token we hand to strtod. */
#define MAX_NUMBER_TOKEN 512 /* a big integer of 400 digits (common/jsonl_value.c) fits */

/* ==== Positions and errors ==== */

struct pos {
    uint64_t line;
    uint64_t col;
};

static struct pos here(const struct fl_edn_reader *rd)
{
    struct pos p = {rd->line, (uint64_t)(rd->p - rd->line_start) + 1};
    return p;
}

static int err_at(struct pos at, char *errmsg, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int err_at(struct pos at, char *errmsg, int code, const char *fmt, ...)
{
    char what[FL_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fl_errorf(errmsg, code, "line %llu: column %llu: %s", (unsigned long long)at.line,
                     (unsigned long long)at.col, what);
}

static int oom(const struct fl_edn_reader *rd, char *errmsg)
{
    return err_at(here(rd), errmsg, FL_ENOMEM, "out of memory");
}

/* Renders byte c for a message: 'x' when printable, else \xNN. */
static const char *show_char(unsigned char c, char out[8])
{
    if (c >= 0x21 && c < 0x7f)
        snprintf(out, 8, "'%c'", c);
    else
        snprintf(out, 8, "\\x%02x", c);
    return out;
}

/* ==== Character classes ==== */

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == ',';
}

/* Bytes that end a token (Clojure's whitespace and terminating macros). */
static bool is_delim(unsigned char c)
{
    return is_ws(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' ||
           c == '"' || c == ';' || c == '\\' || c == '@' || c == '^' || c == '`' || c == '~';
}

static bool is_closer(char c)
{
    return c == ')' || c == ']' || c == '}';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Characters allowed inside a symbol or keyword name (EDN spec plus
 * non-ASCII bytes, which are checked as UTF-8 separately). */
static bool is_sym_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c >= 0x80 || (c != 0 && strchr("*+!-_?<>=./&$%'#:", c));
}

/* Returns true when s[0..len) is well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF). */
static bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *e = p + len;
    while (p < e) {
        unsigned c = *p;
        size_t n;
        unsigned cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(e - p) <= n)
            return false;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

/* Appends code point cp (already validated) as UTF-8. */
static void put_utf8(struct fl_buf *b, unsigned cp)
{
    char u[4];
    fl_buf_append(b, u, fl_utf8_encode(cp, u));
}

static int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses exactly four hex digits at s; returns the value or -1. */
static long hex4(const char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value((unsigned char)s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* ==== Tagged values ==== */

static const char *bad_name(const char *s, size_t len);

int fl_edn_is_tagged(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 1 &&
           json_string_value(v)[0] == FL_EDN_TAG;
}

int fl_edn_is_set(const json_t *v)
{
    const json_t *m = json_array_get(v, 0);
    return json_is_array(v) && json_is_string(m) && json_string_length(m) == 3 &&
           memcmp(json_string_value(m), FL_EDN_SET_MARKER, 3) == 0;
}

size_t fl_edn_coll_first(const json_t *v)
{
    return fl_edn_is_set(v) ? 1 : 0;
}

int fl_edn_has_tags(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return fl_edn_is_tagged(v);
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++)
            if (fl_edn_has_tags(json_array_get(v, i)))
                return 1;
        return 0;
    case JSON_OBJECT: {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e)
        {
            if (k[0] == FL_EDN_KEY_MARK || (k[0] == ':' && !bad_name(k + 1, strlen(k + 1))) ||
                fl_edn_has_tags(e))
                return 1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

int fl_edn_name(const json_t *v, const char **s, size_t *n)
{
    if (!json_is_string(v))
        return -1;
    const char *t = json_string_value(v);
    size_t len = json_string_length(v);
    if (!fl_edn_is_tagged(v)) {
        *s = t;
        *n = len;
        return 0;
    }
    t++, len--;
    if (t[0] == ':') { /* keyword */
        *s = t + 1;
        *n = len - 1;
        return 0;
    }
    if (strchr("\\#-0123456789", t[0])) /* char, #inst/#uuid, big integer */
        return -1;
    *s = t; /* symbol */
    *n = len;
    return 0;
}

/* A tagged value: NUL then the EDN text (edn.h). */
static json_t *tagged(const char *text, size_t n)
{
    char stackbuf[128];
    char *b = n + 1 <= sizeof stackbuf ? stackbuf : fl_malloc(n + 1);
    if (!b)
        return NULL;
    b[0] = FL_EDN_TAG;
    memcpy(b + 1, text, n);
    json_t *v = json_stringn_nocheck(b, n + 1);
    if (b != stackbuf)
        fl_free(b);
    return v;
}

/* A character's canonical text (\a, \newline, \u0001) as a tagged value. */
static json_t *tagged_char(unsigned cp);

/* ==== Reader core ==== */

static int read_form(struct fl_edn_reader *rd, json_t **out, char *errmsg);

void fl_edn_reader_init(struct fl_edn_reader *rd, const char *data, size_t len)
{
    rd->data = data;
    rd->end = data + len;
    rd->p = data;
    rd->line_start = data;
    rd->line = 1;
    rd->depth = 0;
    rd->op_map = 0;
}

/* Moves past one byte, keeping the line count. */
static void advance(struct fl_edn_reader *rd)
{
    if (*rd->p == '\n') {
        rd->line++;
        rd->line_start = rd->p + 1;
    }
    rd->p++;
}

static int enter(struct fl_edn_reader *rd, char *errmsg)
{
    if (rd->depth >= FL_HISTORY_MAX_DEPTH)
        return err_at(here(rd), errmsg, FL_ELIMIT, "nested deeper than %d levels",
                      FL_HISTORY_MAX_DEPTH);
    rd->depth++;
    return 0;
}

int fl_edn_skip(struct fl_edn_reader *rd, char *errmsg)
{
    for (;;) {
        while (rd->p < rd->end) {
            unsigned char c = (unsigned char)*rd->p;
            if (is_ws(c)) {
                advance(rd);
            } else if (c == ';' || (c == '#' && rd->p + 1 < rd->end && rd->p[1] == '!')) {
                while (rd->p < rd->end && *rd->p != '\n')
                    rd->p++;
            } else {
                break;
            }
        }
        if (rd->p >= rd->end)
            return 0;
        if (rd->p[0] != '#' || rd->p + 1 >= rd->end || rd->p[1] != '_')
            return 1;
        /* #_ discards the next form, which must still be well formed. */
        struct pos at = here(rd);
        rd->p += 2;
        int rc = enter(rd, errmsg);
        if (rc < 0)
            return rc;
        rc = fl_edn_skip(rd, errmsg);
        if (rc == 0 || (rc == 1 && is_closer(*rd->p)))
            rc = err_at(at, errmsg, FL_EPARSE, "#_ with no form after it to discard");
        else if (rc == 1)
            rc = read_form(rd, NULL, errmsg);
        rd->depth--;
        if (rc < 0)
            return rc;
    }
}

/* ==== Strings and characters ==== */

static int read_string(struct fl_edn_reader *rd, json_t **out, char *errmsg)
{
    struct pos start = here(rd);
    struct fl_buf b;
    int rc;

    fl_buf_init(&b);
    rd->p++; /* opening quote */
    for (;;) {
        if (rd->p >= rd->end) {
            rc = err_at(here(rd), errmsg, FL_EPARSE,
                        "unterminated string starting at line %llu column %llu",
                        (unsigned long long)start.line, (unsigned long long)start.col);
            goto out;
        }
        const char *run = rd->p;
        while (rd->p < rd->end && *rd->p != '"' && *rd->p != '\\')
            advance(rd);
        fl_buf_append(&b, run, (size_t)(rd->p - run));
        if (rd->p >= rd->end)
            continue;
        if (*rd->p == '"') {
            rd->p++;
            break;
        }
        /* A backslash escape. */
        struct pos esc = here(rd);
        if (rd->p + 1 >= rd->end) {
            rd->p = rd->end; /* reported as unterminated */
            continue;
        }
        char e = rd->p[1];
        rd->p += 2;
        switch (e) {
        case 't':
            fl_buf_append(&b, "\t", 1);
            break;
        case 'r':
            fl_buf_append(&b, "\r", 1);
            break;
        case 'n':
            fl_buf_append(&b, "\n", 1);
            break;
        case 'b':
            fl_buf_append(&b, "\b", 1);
            break;
        case 'f':
            fl_buf_append(&b, "\f", 1);
            break;
        case '\\':
            fl_buf_append(&b, "\\", 1);
            break;
        case '"':
            fl_buf_append(&b, "\"", 1);
            break;
        case 'u': {
            long cp = rd->end - rd->p >= 4 ? hex4(rd->p) : -1;
            if (cp < 0) {
                rc = err_at(esc, errmsg, FL_EPARSE, "\\u must be followed by four hex digits");
                goto out;
            }
            rd->p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff) {
                long lo = rd->end - rd->p >= 6 && rd->p[0] == '\\' && rd->p[1] == 'u'
                              ? hex4(rd->p + 2)
                              : -1;
                if (lo < 0xdc00 || lo > 0xdfff) {
                    rc = err_at(esc, errmsg, FL_EPARSE,
                                "\\u%04lx is a high surrogate without a low one", cp);
                    goto out;
                }
                rd->p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                rc = err_at(esc, errmsg, FL_EPARSE, "\\u%04lx is a lone low surrogate", cp);
                goto out;
            }
            put_utf8(&b, (unsigned)cp);
            break;
        }
        default:
            if (e >= '0' && e <= '7') { /* Clojure's octal escape, \0 to \377 */
                unsigned v = (unsigned)(e - '0');
                for (int i = 0; i < 2 && rd->p < rd->end && *rd->p >= '0' && *rd->p <= '7'; i++)
                    v = v * 8 + (unsigned)(*rd->p++ - '0');
                if (v > 0377) {
                    rc = err_at(esc, errmsg, FL_EPARSE, "octal escape above \\377");
                    goto out;
                }
                put_utf8(&b, v);
                break;
            }
            if ((unsigned char)e >= 0x21 && (unsigned char)e < 0x7f)
                rc = err_at(esc, errmsg, FL_EPARSE, "unsupported escape \\%c in string", e);
            else
                rc = err_at(esc, errmsg, FL_EPARSE, "unsupported escape \\ + \\x%02x in string",
                            (unsigned char)e);
            goto out;
        }
    }
    if (b.oom) {
        rc = oom(rd, errmsg);
        goto out;
    }
    if (!utf8_valid(b.data ? b.data : "", b.len)) {
        rc = err_at(start, errmsg, FL_EPARSE, "string is not valid UTF-8");
        goto out;
    }
    /* Like jansson's default, no NUL inside strings: names such as `f`
     * become C strings and would be silently cut short. */
    if (b.len > 0 && memchr(b.data, '\0', b.len)) {
        rc = err_at(start, errmsg, FL_EPARSE, "string contains a NUL character (U+0000)");
        goto out;
    }
    rc = 0;
    if (out) {
        *out = json_stringn(b.data ? b.data : "", b.len);
        if (!*out)
            rc = oom(rd, errmsg);
    }
out:
    fl_buf_free(&b);
    return rc;
}

static const struct {
    const char *name;
    unsigned cp;
} char_names[] = {
    {"newline", '\n'}, {"return", '\r'},   {"space", ' '},
    {"tab", '\t'},     {"formfeed", '\f'}, {"backspace", '\b'},
};

/* \c, \newline, \uXXXX, \oNNN -> a one-character string. */
static int read_char(struct fl_edn_reader *rd, json_t **out, char *errmsg)
{
    struct pos start = here(rd);
    const char *s = rd->p + 1, *q = s;
    unsigned cp;

    if (q >= rd->end)
        return err_at(start, errmsg, FL_EPARSE, "backslash at the end of the input");
    /* The first character is taken whatever it is (\( and \; are literals). */
    unsigned char c0 = (unsigned char)*q;
    size_t first = c0 < 0x80 ? 1 : c0 >= 0xf0 ? 4 : c0 >= 0xe0 ? 3 : 2;
    if ((size_t)(rd->end - q) < first)
        first = (size_t)(rd->end - q);
    q += first;
    while (q < rd->end && !is_delim((unsigned char)*q))
        q++;
    size_t len = (size_t)(q - s);
    if (len == first) {
        if (!utf8_valid(s, len))
            return err_at(start, errmsg, FL_EPARSE, "character literal is not valid UTF-8");
        if (c0 == '\0')
            return err_at(start, errmsg, FL_EPARSE, "character literal is NUL (U+0000)");
        if (c0 == '\n') { /* keep line numbers right for "\<newline>" */
            rd->line++;
            rd->line_start = q;
        }
        rd->p = q;
        if (out) {
            unsigned c = c0;
            if (len > 1) { /* decode the one UTF-8 character */
                c = c0 & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
                for (size_t i = 1; i < len; i++)
                    c = (c << 6) | ((unsigned char)s[i] & 0x3f);
            }
            if (!(*out = tagged_char(c)))
                return oom(rd, errmsg);
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof char_names / sizeof char_names[0]; i++) {
        if (strlen(char_names[i].name) == len && memcmp(s, char_names[i].name, len) == 0) {
            cp = char_names[i].cp;
            goto found;
        }
    }
    if (s[0] == 'u' && len == 5 && hex4(s + 1) >= 0) {
        cp = (unsigned)hex4(s + 1);
        if (cp >= 0xd800 && cp <= 0xdfff)
            return err_at(start, errmsg, FL_EPARSE, "character \\u%04x is a surrogate", cp);
        goto found;
    }
    if (s[0] == 'o' && len >= 2 && len <= 4) {
        cp = 0;
        for (size_t i = 1; i < len; i++) {
            if (s[i] < '0' || s[i] > '7')
                goto bad;
            cp = cp * 8 + (unsigned)(s[i] - '0');
        }
        if (cp <= 0377)
            goto found;
    }
bad:
    return err_at(start, errmsg, FL_EPARSE, "unsupported character literal \\%.*s",
                  (int)(len > 40 ? 40 : len), s);
found:
    if (cp == 0)
        return err_at(start, errmsg, FL_EPARSE, "character literal is NUL (U+0000)");
    rd->p = q;
    if (out && !(*out = tagged_char(cp)))
        return oom(rd, errmsg);
    return 0;
}

static json_t *tagged_char(unsigned cp)
{
    char t[24];
    size_t n;
    for (size_t i = 0; i < sizeof char_names / sizeof char_names[0]; i++)
        if (char_names[i].cp == cp) {
            n = (size_t)snprintf(t, sizeof t, "\\%s", char_names[i].name);
            return tagged(t, n < sizeof t ? n : sizeof t - 1);
        }
    if (cp < 0x20 || cp == 0x7f) {
        n = (size_t)snprintf(t, sizeof t, "\\u%04x", cp);
    } else {
        t[0] = '\\';
        n = 1 + (size_t)fl_utf8_encode(cp, t + 1);
    }
    return tagged(t, n < sizeof t ? n : sizeof t - 1);
}

/* ==== Numbers, symbols, keywords ==== */

/* Parses an integer token (optional sign, digits, optional N). */
static int parse_integer(const char *t, size_t len, struct pos at, json_t **out, char *errmsg)
{
    size_t i = 0;
    bool neg = false;
    if (t[0] == '+' || t[0] == '-') {
        neg = t[0] == '-';
        i = 1;
    }
    size_t digits = len - i;
    if (t[len - 1] == 'N')
        digits--;
    if (digits > 1 && t[i] == '0')
        return err_at(at, errmsg, FL_EPARSE,
                      "integer %.*s has a leading zero (octal is Clojure-only, not EDN)",
                      (int)(len > 40 ? 40 : len), t);
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t k = i; k < i + digits; k++) {
        unsigned d = (unsigned)(t[k] - '0');
        if (v > (limit - d) / 10) {
            /* A BigInt: tagged as [-]digits N, equal to every spelling of it. */
            if (digits >= MAX_NUMBER_TOKEN)
                return err_at(at, errmsg, FL_ELIMIT, "integer longer than %d digits",
                              MAX_NUMBER_TOKEN - 1);
            char big[MAX_NUMBER_TOKEN + 2];
            size_t n = 0;
            if (neg)
                big[n++] = '-';
            memcpy(big + n, t + i, digits);
            n += digits;
            big[n++] = 'N';
            if (out && !(*out = tagged(big, n)))
                return err_at(at, errmsg, FL_ENOMEM, "out of memory");
            return 0;
        }
        v = v * 10 + d;
    }
    int64_t s;
    if (neg)
        s = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        s = (int64_t)v;
    if (out && !(*out = json_integer(s)))
        return err_at(at, errmsg, FL_ENOMEM, "out of memory");
    return 0;
}

static int parse_number(const char *t, size_t len, struct pos at, json_t **out, char *errmsg)
{
    int shown = (int)(len > 40 ? 40 : len);
    size_t i = (t[0] == '+' || t[0] == '-') ? 1 : 0;
    size_t k = i;
    while (k < len && is_digit((unsigned char)t[k]))
        k++;
    if (k == len || (k == len - 1 && t[k] == 'N'))
        return parse_integer(t, len, at, out, errmsg);
    if (t[k] == '/')
        return err_at(at, errmsg, FL_EUNSUPPORTED, "ratio %.*s is not supported", shown, t);
    if (t[k] == 'x' || t[k] == 'X' || t[k] == 'r' || t[k] == 'R')
        return err_at(at, errmsg, FL_EUNSUPPORTED, "radix integer %.*s is Clojure-only, not EDN",
                      shown, t);
    /* A float: digits [. digits*] [e [sign] digits+] [M] */
    bool ok = true;
    if (k < len && t[k] == '.') {
        k++;
        while (k < len && is_digit((unsigned char)t[k]))
            k++;
    }
    if (k < len && (t[k] == 'e' || t[k] == 'E')) {
        k++;
        if (k < len && (t[k] == '+' || t[k] == '-'))
            k++;
        size_t d0 = k;
        while (k < len && is_digit((unsigned char)t[k]))
            k++;
        ok = k > d0;
    }
    size_t numlen = k;
    if (ok && k == len - 1 && t[k] == 'M')
        return err_at(at, errmsg, FL_EUNSUPPORTED,
                      "BigDecimal %.*s is not supported (Clojure compares it unlike a double)",
                      shown, t);
    if (!ok || k != len)
        return err_at(at, errmsg, FL_EPARSE, "invalid number %.*s", shown, t);
    if (numlen >= MAX_NUMBER_TOKEN)
        return err_at(at, errmsg, FL_ELIMIT, "number longer than %d characters",
                      MAX_NUMBER_TOKEN - 1);
    char tmp[MAX_NUMBER_TOKEN];
    memcpy(tmp, t, numlen);
    tmp[numlen] = '\0';
    double d = strtod(tmp, NULL);
    if (!isfinite(d))
        return err_at(at, errmsg, FL_ELIMIT, "number %.*s is out of range for a double", shown, t);
    if (out && d == trunc(d)) {
        /* 1.0 is not 1 in Clojure: an integral float is tagged as its
         * canonical text ("1.0", "1e+20"; -0.0 is 0.0, as (= 0.0 -0.0)), so
         * that a JSON real always holds a fraction, in EDN as in JSONL. */
        char num[40];
        snprintf(num, sizeof num, "%.17g", d == 0 ? 0.0 : d);
        if (!strpbrk(num, ".eE"))
            strcat(num, ".0");
        if (!(*out = tagged(num, strlen(num))))
            return err_at(at, errmsg, FL_ENOMEM, "out of memory");
        return 0;
    }
    if (out && !(*out = json_real(d)))
        return err_at(at, errmsg, FL_ENOMEM, "out of memory");
    return 0;
}

/* Checks a symbol or keyword name; returns NULL or what is wrong with it. */
static const char *bad_name(const char *s, size_t len)
{
    if (len == 0)
        return "empty name";
    if (is_digit((unsigned char)s[0]))
        return "a name cannot start with a digit";
    if ((s[0] == '+' || s[0] == '-' || s[0] == '.') && len > 1 && is_digit((unsigned char)s[1]))
        return "a name cannot start with a sign or dot followed by a digit";
    if (s[0] == '\'' || s[0] == '#')
        return "a name cannot start with ' or #";
    for (size_t i = 0; i < len; i++)
        if (!is_sym_char((unsigned char)s[i]))
            return "invalid character in name";
    if (!utf8_valid(s, len))
        return "name is not valid UTF-8";
    return NULL;
}

static int read_token(struct fl_edn_reader *rd, json_t **out, char *errmsg)
{
    struct pos at = here(rd);
    const char *t = rd->p, *q = t;
    while (q < rd->end && !is_delim((unsigned char)*q))
        q++;
    size_t len = (size_t)(q - t);
    int shown = (int)(len > 40 ? 40 : len);
    char sc[8];

    if (len == 0)
        return err_at(at, errmsg, FL_EPARSE, "unexpected character %s%s",
                      show_char((unsigned char)*t, sc),
                      strchr("@^`~", *t) ? " (Clojure reader syntax, not EDN)" : "");
    rd->p = q;
    unsigned char c0 = (unsigned char)t[0];
    if (is_digit(c0) || ((c0 == '+' || c0 == '-') && len > 1 && is_digit((unsigned char)t[1])))
        return parse_number(t, len, at, out, errmsg);

    json_t *v = NULL;
    if (len == 3 && memcmp(t, "nil", 3) == 0) {
        v = json_null();
    } else if (len == 4 && memcmp(t, "true", 4) == 0) {
        v = json_true();
    } else if (len == 5 && memcmp(t, "false", 5) == 0) {
        v = json_false();
    } else {
        const char *name = t;
        size_t nlen = len;
        if (c0 == ':') {
            name++;
            nlen--;
            if (nlen > 0 && name[0] == ':')
                return err_at(at, errmsg, FL_EPARSE,
                              "%.*s: auto-resolved keywords (::) are Clojure-only, not EDN", shown,
                              t);
        }
        const char *why = bad_name(name, nlen);
        if (why)
            return err_at(at, errmsg, FL_EPARSE, "invalid %s %.*s: %s",
                          c0 == ':' ? "keyword" : "symbol", shown, t, why);
        /* keyword: ":name"; symbol: "name" (tagged, never equal to a string) */
        if (out && !(v = tagged(c0 == ':' ? t : name, c0 == ':' ? nlen + 1 : nlen)))
            return oom(rd, errmsg);
    }
    if (out)
        *out = v;
    else
        json_decref(v);
    return 0;
}

/* ==== Collections ==== */

static char *edn_text(const json_t *v, int depth_left);
static const char *bad_name(const char *s, size_t len);

/* True when a string key must be marked (edn.h): it starts with the mark or
 * reads like a keyword's key. */
static bool string_key_marked(const char *s, size_t n)
{
    return n > 0 && (s[0] == FL_EDN_KEY_MARK || (s[0] == ':' && !bad_name(s + 1, n - 1)));
}

/* The key a map key becomes (edn.h), given it is not a keyword: a string as
 * it is (marked when it would read as another key), anything else the mark
 * then its canonical EDN text. Returns a new fl_malloc'd string or NULL (out
 * of memory, or a key nested too deep to write). */
static char *key_text(const json_t *k)
{
    if (json_is_string(k) && !fl_edn_is_tagged(k) &&
        !string_key_marked(json_string_value(k), json_string_length(k)))
        return fl_strdup(json_string_value(k));
    char *t = edn_text(k, FL_HISTORY_MAX_DEPTH);
    if (!t)
        return NULL;
    size_t n = strlen(t);
    char *out = fl_malloc(n + 2);
    if (out) {
        out[0] = FL_EDN_KEY_MARK;
        memcpy(out + 1, t, n + 1);
    }
    fl_free(t);
    return out;
}

static const char *coll_name(char open)
{
    switch (open) {
    case '(':
        return "list";
    case '[':
        return "vector";
    case '{':
        return "map";
    default:
        return "set";
    }
}

/* A set's elements in one canonical order, so that two sets are equal JSON
 * arrays exactly when they hold the same elements, whatever order the text
 * listed them in (Clojure prints a hash set in hash order: #{2 1} = #{1 2}).
 * Integers first by value, then everything else by its compact JSON text
 * with sorted object keys. A repeated element is an error, as in Clojure. */
struct set_elem {
    json_t *v;
    char *text; /* NULL for an integer */
};

static int set_elem_cmp(const void *a, const void *b)
{
    const struct set_elem *x = a, *y = b;
    if (!x->text || !y->text) {
        if (x->text || y->text)
            return x->text ? 1 : -1;
        json_int_t i = json_integer_value(x->v), j = json_integer_value(y->v);
        return (i > j) - (i < j);
    }
    return strcmp(x->text, y->text);
}

static int canonical_set(struct fl_edn_reader *rd, struct pos start, json_t *set, char *errmsg)
{
    size_t n = json_array_size(set);
    if (n < 2)
        return 0;
    struct set_elem *e = fl_calloc(n, sizeof *e);
    int rc = 0;
    if (!e)
        return oom(rd, errmsg);
    for (size_t i = 0; i < n && rc == 0; i++) {
        e[i].v = json_incref(json_array_get(set, i));
        if (!json_is_integer(e[i].v) &&
            !(e[i].text = json_dumps(e[i].v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)))
            rc = oom(rd, errmsg);
    }
    if (rc == 0) {
        qsort(e, n, sizeof *e, set_elem_cmp);
        for (size_t i = 1; i < n && rc == 0; i++)
            if (set_elem_cmp(&e[i - 1], &e[i]) == 0)
                rc = err_at(start, errmsg, FL_EPARSE, "set has a duplicate element");
        for (size_t i = 0; i < n && rc == 0; i++)
            if (json_array_set(set, i, e[i].v) != 0)
                rc = oom(rd, errmsg);
    }
    for (size_t i = 0; i < n; i++) {
        json_decref(e[i].v);
        free(e[i].text); /* json_dumps allocates with jansson's allocator */
    }
    fl_free(e);
    return rc;
}

/* Reads a collection at rd->p; `skip` bytes of opener ("[" is 1, "#{" is 2,
 * a record tag more). `open` is '(', '[', '{' or '#' for a set. */
static int read_coll(struct fl_edn_reader *rd, char open, size_t skip, json_t **out, char *errmsg)
{
    struct pos start = here(rd);
    char close = open == '(' ? ')' : open == '[' ? ']' : '}';
    bool map = open == '{';
    json_t *coll = NULL, *k = NULL, *v = NULL;
    char *ktext = NULL;
    int rc;

    if ((rc = enter(rd, errmsg)) < 0)
        return rc;
    rd->p += skip;
    if (out && !(coll = map ? json_object() : json_array())) {
        rc = oom(rd, errmsg);
        goto out;
    }
    for (;;) {
        if ((rc = fl_edn_skip(rd, errmsg)) < 0)
            goto out;
        if (rc == 0) {
            rc = err_at(here(rd), errmsg, FL_EPARSE,
                        "unterminated %s opened at line %llu column %llu (input ended)",
                        coll_name(open), (unsigned long long)start.line,
                        (unsigned long long)start.col);
            goto out;
        }
        char c = *rd->p;
        if (c == close) {
            rd->p++;
            break;
        }
        if (c == ')' || c == ']' || c == '}') {
            rc = err_at(here(rd), errmsg, FL_EPARSE,
                        "expected '%c' to close the %s opened at line %llu column %llu, found '%c'",
                        close, coll_name(open), (unsigned long long)start.line,
                        (unsigned long long)start.col, c);
            goto out;
        }
        if (!map) {
            if ((rc = read_form(rd, coll ? &v : NULL, errmsg)) < 0)
                goto out;
            if (coll && json_array_append_new(coll, v) != 0) {
                v = NULL;
                rc = oom(rd, errmsg);
                goto out;
            }
            v = NULL;
            continue;
        }
        struct pos kpos = here(rd);
        if ((rc = read_form(rd, coll ? &k : NULL, errmsg)) < 0)
            goto out;
        if ((rc = fl_edn_skip(rd, errmsg)) < 0)
            goto out;
        if (rc == 0 || *rd->p == ')' || *rd->p == ']' || *rd->p == '}') {
            rc = err_at(kpos, errmsg, FL_EPARSE,
                        "map opened at line %llu column %llu has a key without a value",
                        (unsigned long long)start.line, (unsigned long long)start.col);
            goto out;
        }
        if ((rc = read_form(rd, coll ? &v : NULL, errmsg)) < 0)
            goto out;
        if (!coll)
            continue;
        const char *key;
        if (fl_edn_is_tagged(k) && json_string_value(k)[1] == ':') {
            /* a keyword: ":name", or in an op map (the outermost map of a
             * history's reader) its name, the field */
            key = json_string_value(k) + (rd->op_map && rd->depth == 1 ? 2 : 1);
        } else if (rd->op_map && rd->depth == 1 && json_is_string(k) && !fl_edn_is_tagged(k)) {
            key = json_string_value(k); /* {"type" "ok" ...}: the field too */
        } else {
            if (!(ktext = key_text(k))) {
                rc = oom(rd, errmsg);
                goto out;
            }
            if (!utf8_valid(ktext, strlen(ktext))) {
                rc = err_at(kpos, errmsg, FL_EPARSE, "map key is not valid UTF-8");
                goto out;
            }
            key = ktext;
        }
        if (json_object_get(coll, key)) {
            rc = err_at(kpos, errmsg, FL_EPARSE, "duplicate map key \"%.40s\"", key);
            goto out;
        }
        rc = json_object_set_new(coll, key, v);
        v = NULL;
        if (rc != 0) {
            rc = oom(rd, errmsg);
            goto out;
        }
        json_decref(k);
        k = NULL;
        fl_free(ktext);
        ktext = NULL;
    }
    rc = 0;
    if (coll && open == '#') {
        if ((rc = canonical_set(rd, start, coll, errmsg)) < 0)
            goto out;
        if (json_array_insert_new(coll, 0, json_stringn_nocheck(FL_EDN_SET_MARKER, 3)) != 0) {
            rc = oom(rd, errmsg);
            goto out;
        }
    }
    if (out) {
        *out = coll;
        coll = NULL;
    }
out:
    rd->depth--;
    fl_free(ktext);
    json_decref(k);
    json_decref(v);
    json_decref(coll);
    return rc;
}

/* Reads n digits at s into *v; false when they are not all digits. */
static bool inst_digits(const char *s, size_t len, size_t at, size_t n, int *v)
{
    if (at + n > len)
        return false;
    *v = 0;
    for (size_t i = at; i < at + n; i++) {
        if (!is_digit((unsigned char)s[i]))
            return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* An #inst's text as Clojure reads it (clojure.instant: yyyy[-MM[-dd[THH[:mm
 * [:ss[.fff]]]]]] then Z or +-HH:mm) into the instant it names, written the
 * way Clojure prints a java.util.Date: UTC, milliseconds (digits past them
 * dropped, as the Date drops them), "yyyy-MM-ddTHH:mm:ss.SSS-00:00". So two
 * spellings of one instant are one value, as (= #inst ... #inst ...) is.
 * Returns false when the text is not a timestamp. */
static bool inst_canonical(const char *s, size_t len, char out[40])
{
    int y, mo = 1, d = 1, h = 0, mi = 0, sec = 0, ms = 0, oh = 0, om = 0, sign = 0;
    size_t i = 4;
    if (!inst_digits(s, len, 0, 4, &y))
        return false;
    if (i < len && s[i] == '-' && inst_digits(s, len, i + 1, 2, &mo)) {
        i += 3;
        if (i < len && s[i] == '-' && inst_digits(s, len, i + 1, 2, &d)) {
            i += 3;
            if (i < len && s[i] == 'T' && inst_digits(s, len, i + 1, 2, &h)) {
                i += 3;
                if (i < len && s[i] == ':' && inst_digits(s, len, i + 1, 2, &mi)) {
                    i += 3;
                    if (i < len && s[i] == ':' && inst_digits(s, len, i + 1, 2, &sec)) {
                        i += 3;
                        if (i < len && s[i] == '.') {
                            size_t f = ++i;
                            while (i < len && is_digit((unsigned char)s[i])) {
                                if (i - f < 3)
                                    ms = ms * 10 + (s[i] - '0');
                                i++;
                            }
                            if (i == f)
                                return false;
                            for (size_t k = i - f; k < 3; k++)
                                ms *= 10;
                        }
                    }
                }
            }
        }
    }
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '-' ? -1 : 1;
        if (!inst_digits(s, len, i + 1, 2, &oh) || i + 3 >= len || s[i + 3] != ':' ||
            !inst_digits(s, len, i + 4, 2, &om))
            return false;
        i += 6;
    }
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (i != len || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > (mi == 59 ? 60 : 59) ||
        oh > 23 || om > 59)
        return false;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
                sign * (oh * 3600 + om * 60);
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t rem = t - days * 86400;
    int64_t yy;
    civil_from_days(days, &yy, &mo, &d);
    if (yy < 0 || yy > 9999)
        return false;
    snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03d-00:00", (int)yy, mo, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), ms);
    return true;
}

/* #tag form: #inst/#uuid give their string, #ns.Record{...} its map. */
static int read_tagged(struct fl_edn_reader *rd, json_t **out, char *errmsg)
{
    struct pos at = here(rd);
    const char *t = rd->p + 1, *q = t;
    while (q < rd->end && !is_delim((unsigned char)*q))
        q++;
    size_t len = (size_t)(q - t);
    int shown = (int)(len > 40 ? 40 : len);
    int rc;

    if (!is_alpha((unsigned char)t[0]))
        return err_at(at, errmsg, FL_EUNSUPPORTED, "#%c is Clojure reader syntax, not EDN", t[0]);
    if (bad_name(t, len))
        return err_at(at, errmsg, FL_EPARSE, "invalid tag #%.*s", shown, t);
    if (q < rd->end && *q == '{' && memchr(t, '.', len))
        return read_coll(rd, '{', (size_t)(q - rd->p) + 1, out, errmsg); /* record */
    if ((len == 4 && memcmp(t, "inst", 4) == 0) || (len == 4 && memcmp(t, "uuid", 4) == 0)) {
        rd->p = q;
        if ((rc = enter(rd, errmsg)) < 0)
            return rc;
        rc = fl_edn_skip(rd, errmsg);
        json_t *str = NULL;
        if (rc == 1 && *rd->p == '"') {
            rc = read_string(rd, out ? &str : NULL, errmsg);
            char inst[40];
            if (rc == 0 && out && t[0] == 'i') {
                /* one instant, one value: its canonical spelling */
                if (!inst_canonical(json_string_value(str), json_string_length(str), inst))
                    rc = err_at(at, errmsg, FL_EPARSE,
                                "#inst \"%.40s\" is not a timestamp (yyyy-MM-ddTHH:mm:ss.fff "
                                "then Z or +-HH:mm, from year 0000 to 9999)",
                                json_string_value(str));
                else {
                    json_decref(str);
                    str = json_string(inst);
                    if (!str)
                        rc = oom(rd, errmsg);
                }
            }
            if (rc == 0 && out) {
                /* #inst "x" is not the string "x": tagged as its text */
                struct fl_buf b;
                fl_buf_init(&b);
                fl_buf_printf(&b, "#%.4s ", t);
                size_t from = b.len;
                char *qs = json_dumps(str, JSON_ENCODE_ANY);
                if (qs)
                    fl_buf_puts(&b, qs);
                free(qs);
                if (t[0] == 'u') /* a UUID is its 128 bits: case does not matter */
                    for (size_t i = from; i < b.len; i++)
                        if (b.data[i] >= 'A' && b.data[i] <= 'Z')
                            b.data[i] = (char)(b.data[i] - 'A' + 'a');
                *out = !qs || b.oom ? NULL : tagged(b.data, b.len);
                fl_buf_free(&b);
                if (!*out)
                    rc = oom(rd, errmsg);
            }
            json_decref(str);
        } else if (rc >= 0)
            rc = err_at(at, errmsg, FL_EPARSE, "#%.*s must be followed by a string", shown, t);
        rd->depth--;
        return rc;
    }
    return err_at(at, errmsg, FL_EUNSUPPORTED, "tagged literal #%.*s is not supported", shown, t);
}

/* Reads one form; out NULL parses and discards. Returns 0, END_OF_INPUT or
 * a negative code. */
static int read_form(struct fl_edn_reader *rd, json_t **out, char *errmsg)
{
    int rc = fl_edn_skip(rd, errmsg);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return END_OF_INPUT;
    char c = *rd->p;
    switch (c) {
    case '(':
    case '[':
    case '{':
        return read_coll(rd, c, 1, out, errmsg);
    case ')':
    case ']':
    case '}':
        return err_at(here(rd), errmsg, FL_EPARSE, "unexpected '%c' with no matching opener", c);
    case '"':
        return read_string(rd, out, errmsg);
    case '\\':
        return read_char(rd, out, errmsg);
    case '#':
        if (rd->p + 1 >= rd->end)
            return err_at(here(rd), errmsg, FL_EPARSE, "'#' at the end of the input");
        if (rd->p[1] == '{')
            return read_coll(rd, '#', 2, out, errmsg);
        if (rd->p[1] == '#')
            return err_at(here(rd), errmsg, FL_EUNSUPPORTED,
                          "symbolic values (##Inf, ##NaN) are not supported (no JSON equivalent)");
        return read_tagged(rd, out, errmsg);
    default:
        return read_token(rd, out, errmsg);
    }
}

int fl_edn_read(struct fl_edn_reader *rd, json_t **out, char *errmsg)
{
    *out = NULL;
    int rc = read_form(rd, out, errmsg);
    if (rc == END_OF_INPUT)
        return err_at(here(rd), errmsg, FL_EPARSE, "unexpected end of input");
    if (rc < 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

int fl_edn_parse(const char *data, size_t len, json_t **out, char *errmsg)
{
    struct fl_edn_reader rd;
    fl_edn_reader_init(&rd, data, len);
    int rc = fl_edn_read(&rd, out, errmsg);
    if (rc < 0)
        return rc;
    rc = fl_edn_skip(&rd, errmsg);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
        if (rc > 0)
            rc = err_at(here(&rd), errmsg, FL_EPARSE, "unexpected data after the value");
        return rc;
    }
    return 0;
}

json_t *fl_edn_key_value(const char *name)
{
    size_t len = strlen(name);
    if (len > 1 && name[0] == FL_EDN_KEY_MARK) {
        char err[FL_ERRMSG_SIZE];
        json_t *v = NULL;
        if (fl_edn_parse(name + 1, len - 1, &v, err) == 0)
            return v;
    } else if (len > 1 && name[0] == ':' && !bad_name(name + 1, len - 1)) {
        return tagged(name, len);
    }
    return json_string(name);
}

json_t *fl_edn_plain(json_t *v, int names)
{
    if (!fl_edn_has_tags(v))
        return json_incref(v);
    if (json_is_string(v)) {
        const char *s;
        size_t n;
        if (names && fl_edn_name(v, &s, &n) == 0)
            return json_stringn(s, n);
        return json_stringn(json_string_value(v) + 1, json_string_length(v) - 1);
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        for (size_t i = fl_edn_coll_first(v); a && i < json_array_size(v); i++)
            if (json_array_append_new(a, fl_edn_plain(json_array_get(v, i), names)) != 0) {
                json_decref(a);
                a = NULL;
            }
        return a;
    }
    /* Keys: a marked key (1, [1 2], nil) becomes its EDN text; then every
     * other string key is quoted as EDN writes it ("1" -> "\"1\""), so that
     * {1 1, "1" 2} keeps two keys. A keyword key stays ":a". */
    json_t *o = json_object();
    const char *k;
    json_t *e;
    bool marked = false;
    json_object_foreach(v, k, e) marked |= k[0] == FL_EDN_KEY_MARK;
    json_object_foreach(v, k, e)
    {
        char *quoted = NULL;
        const char *name = k;
        if (k[0] == FL_EDN_KEY_MARK) {
            name = k + 1;
        } else if (marked && !(k[0] == ':' && !bad_name(k + 1, strlen(k + 1)))) {
            json_t *str = json_string(k);
            quoted = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
            json_decref(str);
            name = quoted;
        }
        if (o && (!name || json_object_set_new(o, name, fl_edn_plain(e, names)) != 0)) {
            json_decref(o);
            o = NULL;
        }
        free(quoted);
    }
    return o;
}

/* ==== Writer ==== */

int fl_edn_is_keyword_name(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    unsigned char c = (unsigned char)s[0];
    if (!is_alpha(c) && (c == 0 || !strchr("*!_?<>=&$%-+.", c)))
        return 0;
    if ((c == '-' || c == '+' || c == '.') && len > 1 && is_digit((unsigned char)s[1]))
        return 0;
    for (size_t i = 1; i < len; i++) {
        c = (unsigned char)s[i];
        if (!is_alpha(c) && !is_digit(c) && (c == 0 || !strchr("*!_?<>=&$%-+.", c)))
            return 0;
    }
    return 1;
}

static int write_string(FILE *fp, const char *s, size_t len)
{
    if (putc('"', fp) == EOF)
        return -EIO;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int r;
        switch (c) {
        case '"':
            r = fputs("\\\"", fp);
            break;
        case '\\':
            r = fputs("\\\\", fp);
            break;
        case '\n':
            r = fputs("\\n", fp);
            break;
        case '\t':
            r = fputs("\\t", fp);
            break;
        case '\r':
            r = fputs("\\r", fp);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                r = fprintf(fp, "\\u%04x", c);
            else
                r = putc(c, fp);
        }
        if (r < 0)
            return -EIO;
    }
    return putc('"', fp) == EOF ? -EIO : 0;
}

#define W_SORTED 1 /* object keys in byte order: a canonical text */

static int write_value(FILE *fp, const json_t *v, int depth_left, int flags);

/* True when `key` is the text the reader makes for a marked key (edn.h):
 * the mark then a form whose key text is exactly this. */
static bool is_key_form(const char *key)
{
    size_t len = strlen(key);
    if (len < 2 || key[0] != FL_EDN_KEY_MARK)
        return false;
    char err[FL_ERRMSG_SIZE];
    json_t *k = NULL;
    if (fl_edn_parse(key + 1, len - 1, &k, err) != 0)
        return false;
    char *canon = fl_edn_is_tagged(k) && json_string_value(k)[1] == ':' ? NULL : key_text(k);
    bool same = canon && strcmp(canon, key) == 0;
    fl_free(canon);
    json_decref(k);
    return same;
}

/* A map key: ":name" as that keyword, a marked key as its form, any other
 * as a string (which reads back as the same key). */
static int write_key(FILE *fp, const char *key)
{
    size_t klen = strlen(key);
    if (klen > 1 && key[0] == ':' && !bad_name(key + 1, klen - 1))
        return fputs(key, fp) < 0 ? -EIO : 0;
    if (is_key_form(key))
        return fputs(key + 1, fp) < 0 ? -EIO : 0;
    return write_string(fp, key, klen);
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int write_object(FILE *fp, const json_t *v, int depth_left, int flags)
{
    size_t n = json_object_size(v), i = 0;
    const char **keys = fl_calloc(n ? n : 1, sizeof *keys);
    const char *key;
    json_t *e;
    int rc = 0;
    if (!keys)
        return FL_ENOMEM;
    json_object_foreach((json_t *)v, key, e) keys[i++] = key;
    if (flags & W_SORTED)
        qsort(keys, n, sizeof *keys, key_cmp);
    if (putc('{', fp) == EOF)
        rc = -EIO;
    for (i = 0; i < n && rc == 0; i++) {
        if (i > 0 && fputs(", ", fp) < 0)
            rc = -EIO;
        else if ((rc = write_key(fp, keys[i])) == 0 && putc(' ', fp) == EOF)
            rc = -EIO;
        if (rc == 0)
            rc = write_value(fp, json_object_get(v, keys[i]), depth_left - 1, flags);
    }
    fl_free(keys);
    if (rc < 0)
        return rc;
    return putc('}', fp) == EOF ? -EIO : 0;
}

static int write_value(FILE *fp, const json_t *v, int depth_left, int flags)
{
    int rc = 0;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return fputs("nil", fp) < 0 ? -EIO : 0;
    case JSON_TRUE:
        return fputs("true", fp) < 0 ? -EIO : 0;
    case JSON_FALSE:
        return fputs("false", fp) < 0 ? -EIO : 0;
    case JSON_INTEGER:
        return fprintf(fp, "%lld", (long long)json_integer_value(v)) < 0 ? -EIO : 0;
    case JSON_REAL: {
        char num[64];
        double d = json_real_value(v);
        if (!isfinite(d))
            return FL_ESHAPE;
        snprintf(num, sizeof num, "%.17g", d);
        if (!strpbrk(num, ".eE"))
            strcat(num, ".0");
        return fputs(num, fp) < 0 ? -EIO : 0;
    }
    case JSON_STRING:
        if (fl_edn_is_tagged(v)) /* its EDN text */
            return fwrite(json_string_value(v) + 1, 1, json_string_length(v) - 1, fp) ==
                           json_string_length(v) - 1
                       ? 0
                       : -EIO;
        return write_string(fp, json_string_value(v), json_string_length(v));
    case JSON_ARRAY: {
        if (depth_left <= 0)
            return FL_ELIMIT;
        size_t first = fl_edn_coll_first(v);
        if (fputs(first ? "#{" : "[", fp) < 0)
            return -EIO;
        for (size_t i = first; i < json_array_size(v); i++) {
            if (i > first && putc(' ', fp) == EOF)
                return -EIO;
            if ((rc = write_value(fp, json_array_get(v, i), depth_left - 1, flags)) < 0)
                return rc;
        }
        return putc(first ? '}' : ']', fp) == EOF ? -EIO : 0;
    }
    case JSON_OBJECT:
        if (depth_left <= 0)
            return FL_ELIMIT;
        return write_object(fp, v, depth_left, flags);
    }
    return FL_ESHAPE;
}

/* Canonical EDN text of v (sorted keys, nested-map key forms), fl_malloc'd;
 * NULL when out of memory or nested deeper than depth_left. */
static char *edn_text(const json_t *v, int depth_left)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    if (!fp)
        return NULL;
    int rc = write_value(fp, v, depth_left, W_SORTED);
    if (fclose(fp) != 0)
        rc = -EIO;
    if (rc < 0 || !text) {
        free(text);
        return NULL;
    }
    char *out = fl_strdup(text);
    free(text);
    return out;
}

char *fl_edn_value_text(const json_t *v)
{
    if (!fl_edn_has_tags(v))
        return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *t = edn_text(v, FL_HISTORY_MAX_DEPTH + 1);
    char *out = t ? strdup(t) : NULL; /* free()-able, as json_dumps's */
    fl_free(t);
    return out;
}

int fl_edn_write_value(FILE *fp, const json_t *v, int max_depth)
{
    return write_value(fp, v, max_depth, 0);
}
