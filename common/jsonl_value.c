/* jsonl_value.c - JSON text read as the values of a JSONL history (see jsonl_value.h). */
#include "common/jsonl_value.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/edn.h"
#include "common/error.h"
#include "common/history.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest number token read, and most digits of an integer value (1e400 is
 * 401 digits; beyond a double's range jansson refused it before). */
#define MAX_TOKEN  256
#define MAX_DIGITS 400
/* A rewritten line may grow (1e300 is 301 digits): at most this much. */
#define MAX_REWRITE (4u * FL_HISTORY_MAX_LINE)

/* ==== Fractions seen: double -> the decimal first spelling it ==== */

struct real_slot {
    uint64_t bits; /* of the double */
    char *text;    /* canonical decimal, NULL for an empty slot */
    char *shown;   /* as first spelled, for messages */
    uint64_t line;
};

struct fl_jsonl_reals {
    struct real_slot *slots;
    size_t n_slots, n_used;
};

struct fl_jsonl_reals *fl_jsonl_reals_new(void)
{
    return fl_calloc(1, sizeof(struct fl_jsonl_reals));
}

void fl_jsonl_reals_free(struct fl_jsonl_reals *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_slots; i++) {
        fl_free(t->slots[i].text);
        fl_free(t->slots[i].shown);
    }
    fl_free(t->slots);
    fl_free(t);
}

static size_t slot_of(const struct fl_jsonl_reals *t, uint64_t bits)
{
    size_t mask = t->n_slots - 1;
    size_t i = (size_t)((bits * 0x9e3779b97f4a7c15ull) >> 17) & mask;
    while (t->slots[i].text && t->slots[i].bits != bits)
        i = (i + 1) & mask;
    return i;
}

/* Records `text` for the double `bits`; returns the slot already holding
 * another text (a collision), NULL when recorded or already the same, and
 * sets *oom when memory ran out. */
static const struct real_slot *reals_put(struct fl_jsonl_reals *t, uint64_t bits, const char *text,
                                         const char *shown, uint64_t line, bool *oom)
{
    if ((t->n_used + 1) * 2 > t->n_slots) {
        size_t n = t->n_slots ? t->n_slots * 2 : 64;
        struct real_slot *old = t->slots;
        size_t n_old = t->n_slots;
        t->slots = fl_calloc(n, sizeof *t->slots);
        if (!t->slots) {
            t->slots = old;
            *oom = true;
            return NULL;
        }
        t->n_slots = n;
        for (size_t i = 0; i < n_old; i++)
            if (old[i].text)
                t->slots[slot_of(t, old[i].bits)] = old[i];
        fl_free(old);
    }
    size_t i = slot_of(t, bits);
    if (t->slots[i].text)
        return strcmp(t->slots[i].text, text) == 0 ? NULL : &t->slots[i];
    char *copy = fl_strdup(text), *scopy = fl_strdup(shown);
    if (!copy || !scopy) {
        fl_free(copy);
        fl_free(scopy);
        *oom = true;
        return NULL;
    }
    t->slots[i] = (struct real_slot){bits, copy, scopy, line};
    t->n_used++;
    return NULL;
}

/* ==== Numbers ==== */

/* The token's value as sign, significant digits (no leading or trailing
 * zeros) and exponent: value = (-1)^neg * digits * 10^exp. Zero has no digits. */
struct decimal {
    bool neg;
    char digits[MAX_TOKEN];
    size_t n;
    long exp;
};

/* Reads the number token at t (grammar already checked by jansson, or
 * checked here: returns the token's length, 0 when it is not a number). */
static size_t number_token(const char *t, const char *end, struct decimal *d)
{
    const char *p = t;
    long frac = 0, e = 0;
    bool seen = false;
    memset(d, 0, offsetof(struct decimal, digits));
    d->n = 0;
    d->exp = 0;
    if (p < end && *p == '-') {
        d->neg = true;
        p++;
    }
    for (bool in_frac = false; p < end; p++) {
        if (*p >= '0' && *p <= '9') {
            seen = true;
            if (in_frac)
                frac++;
            if (d->n == 0 && *p == '0')
                continue; /* leading zero */
            if (d->n >= MAX_TOKEN - 1)
                return 0;
            d->digits[d->n++] = *p;
        } else if (*p == '.' && !in_frac) {
            in_frac = true;
        } else {
            break;
        }
    }
    if (!seen)
        return 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || *p < '0' || *p > '9')
            return 0;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (e < 100000000)
                e = e * 10 + (*p - '0');
        if (eneg)
            e = -e;
    }
    d->exp = e - frac;
    while (d->n > 0 && d->digits[d->n - 1] == '0') {
        d->n--;
        d->exp++;
    }
    if (d->n == 0)
        d->neg = false, d->exp = 0;
    d->digits[d->n] = '\0';
    return (size_t)(p - t);
}

/* True when the integer `digits` (n of them, no leading zero) fits int64. */
static bool fits_int64(const char *digits, size_t n, bool neg)
{
    if (n != 19)
        return n < 19;
    return strcmp(digits, neg ? "9223372036854775808" : "9223372036854775807") <= 0;
}

struct rewrite {
    struct fl_buf out;
    struct fl_jsonl_reals *reals;
    uint64_t line;
    char *errmsg;
};

/* Appends the number at t (len bytes, value d) in the form jsonl_value.h
 * gives it. Returns 0 or a negative code with errmsg. */
static int put_number(struct rewrite *w, const char *t, size_t len, const struct decimal *d,
                      size_t col)
{
    int shown = (int)(len > 40 ? 40 : len);
    if (d->n == 0) {
        fl_buf_puts(&w->out, "0");
        return 0;
    }
    if (d->exp >= 0) { /* an integer value */
        if ((size_t)d->exp + d->n > MAX_DIGITS)
            return fl_errorf(w->errmsg, FL_ELIMIT,
                             "column %zu: number %.*s has more than %d digits", col, shown, t,
                             MAX_DIGITS);
        char digits[MAX_DIGITS + 1];
        memcpy(digits, d->digits, d->n);
        memset(digits + d->n, '0', (size_t)d->exp);
        size_t n = d->n + (size_t)d->exp;
        digits[n] = '\0';
        if (fits_int64(digits, n, d->neg))
            fl_buf_printf(&w->out, "%s%s", d->neg ? "-" : "", digits);
        else /* EDN's big integer: [-]digits N, tagged */
            fl_buf_printf(&w->out, "\"\\u0000%s%sN\"", d->neg ? "-" : "", digits);
        return 0;
    }
    char tok[MAX_TOKEN + 1];
    if (len > MAX_TOKEN)
        return fl_errorf(w->errmsg, FL_ELIMIT, "column %zu: number longer than %d characters", col,
                         MAX_TOKEN);
    memcpy(tok, t, len);
    tok[len] = '\0';
    double x = strtod(tok, NULL);
    if (!isfinite(x))
        return fl_errorf(w->errmsg, FL_EPARSE, "column %zu: number %.*s is out of range", col,
                         shown, t);
    if (x == trunc(x))
        return fl_errorf(
            w->errmsg, FL_EUNDECIDED,
            "column %zu: number %.*s is not an integer but a double holds it as %.17g: "
            "whether it equals that integer cannot be decided",
            col, shown, t, x);
    if (w->reals) {
        char canon[MAX_TOKEN + 32];
        snprintf(canon, sizeof canon, "%s%se%ld", d->neg ? "-" : "", d->digits, d->exp);
        uint64_t bits;
        memcpy(&bits, &x, sizeof bits);
        bool oom = false;
        const struct real_slot *other = reals_put(w->reals, bits, canon, tok, w->line, &oom);
        if (oom)
            return fl_errorf(w->errmsg, FL_ENOMEM, "out of memory");
        if (other)
            return fl_errorf(w->errmsg, FL_EUNDECIDED,
                             "column %zu: number %.*s and line %llu's %.40s are different decimals "
                             "a double holds as one: whether they are equal cannot be decided",
                             col, shown, t, (unsigned long long)other->line, other->shown);
    }
    fl_buf_append(&w->out, t, len);
    return 0;
}

/* Copies the JSON text with every number as put_number writes it. */
static int rewrite_numbers(struct rewrite *w, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        char c = s[i];
        if (c == '"') { /* a string, escapes and all */
            size_t j = i + 1;
            while (j < len && s[j] != '"')
                j += s[j] == '\\' ? 2 : 1;
            j = j < len ? j + 1 : len;
            fl_buf_append(&w->out, s + i, j - i);
            i = j;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            struct decimal d;
            size_t n = number_token(s + i, s + len, &d);
            if (n == 0) { /* not a number: jansson says what is wrong */
                fl_buf_append(&w->out, s + i, 1);
                i++;
                continue;
            }
            bool plain = n < 19 && !memchr(s + i, '.', n) && !memchr(s + i, 'e', n) &&
                         !memchr(s + i, 'E', n);
            int rc =
                plain ? (fl_buf_append(&w->out, s + i, n), 0) : put_number(w, s + i, n, &d, i + 1);
            if (rc < 0)
                return rc;
            i += n;
        } else {
            size_t j = i + 1; /* up to the next string or number */
            while (j < len && s[j] != '"' && s[j] != '-' && (s[j] < '0' || s[j] > '9'))
                j++;
            fl_buf_append(&w->out, s + i, j - i);
            i = j;
        }
        if (w->out.oom)
            return fl_errorf(w->errmsg, FL_ENOMEM, "out of memory");
        if (w->out.len > MAX_REWRITE)
            return fl_errorf(w->errmsg, FL_ELIMIT, "numbers spelled out longer than %u bytes",
                             MAX_REWRITE);
    }
    return 0;
}

/* ==== Tagged values ==== */

enum { HAS_REAL = 1, HAS_NUL = 2 };

static int scan(const json_t *v)
{
    int f = 0;
    switch (json_typeof(v)) {
    case JSON_REAL:
        return HAS_REAL;
    case JSON_STRING:
        return strlen(json_string_value(v)) != json_string_length(v) ? HAS_NUL : 0;
    case JSON_ARRAY:
        for (size_t i = 0; i < json_array_size(v); i++)
            f |= scan(json_array_get(v, i));
        return f;
    case JSON_OBJECT: {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) f |= scan(e);
        return f;
    }
    default:
        return 0;
    }
}

/* The value a string holding a NUL stands for (a new reference in *out), or
 * an error when it is not a canonical tagged value. */
static int decode_string(json_t *v, json_t **out, char *errmsg)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    char err[FL_ERRMSG_SIZE];
    json_t *w = NULL;
    if (!fl_edn_is_tagged(v) || memchr(s + 1, '\0', n - 1))
        return fl_errorf(errmsg, FL_EPARSE,
                         "a string holds a NUL byte (allowed only first, "
                         "before a tagged EDN value's text)");
    if (fl_edn_parse(s + 1, n - 1, &w, err) < 0 || !json_equal(w, v)) {
        json_decref(w);
        return fl_errorf(errmsg, FL_EPARSE,
                         "\"\\u0000%.40s\" is not a keyword, symbol, character, big integer, "
                         "EDN float, #inst or #uuid in the form the EDN reader makes",
                         s + 1);
    }
    json_decref(w);
    *out = json_incref(v);
    return 0;
}

static int decode(json_t *v, char *errmsg);

/* One element or member: a tagged string is checked, a container walked. */
static int decode_elem(json_t *e, char *errmsg)
{
    if (!json_is_string(e) || !(scan(e) & HAS_NUL))
        return decode(e, errmsg);
    json_t *d;
    int rc = decode_string(e, &d, errmsg);
    if (rc >= 0)
        json_decref(d);
    return rc;
}

/* Checks the tagged values inside v (in place); sets must be canonical. */
static int decode(json_t *v, char *errmsg)
{
    int rc;
    if (json_is_array(v)) {
        size_t first = fl_edn_coll_first(v); /* a set's marker: checked with its set below */
        for (size_t i = first; i < json_array_size(v); i++)
            if ((rc = decode_elem(json_array_get(v, i), errmsg)) < 0)
                return rc;
        if (first) {
            /* a set: its elements in the reader's order, each once */
            char *text = fl_edn_value_text(v);
            char err[FL_ERRMSG_SIZE];
            json_t *w = NULL;
            bool same = text && fl_edn_parse(text, strlen(text), &w, err) == 0 && json_equal(w, v);
            json_decref(w);
            free(text);
            if (!same)
                return fl_errorf(errmsg, FL_EPARSE,
                                 "a set [\"\\u0000#{\", ...] whose elements are not distinct and "
                                 "in the EDN reader's order");
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            if ((rc = decode_elem(e, errmsg)) < 0)
                return rc;
        }
    }
    return 0;
}

int fl_jsonl_parse(const char *text, size_t len, size_t flags, struct fl_jsonl_reals *reals,
                   uint64_t line, json_t **out, char *errmsg)
{
    json_error_t jerr;
    flags |= JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
    *out = NULL;
    json_t *v = json_loadb(text, len, flags, &jerr);
    int found = v ? scan(v) : 0;
    if (!v && json_error_code(&jerr) != json_error_numeric_overflow)
        return fl_errorf(errmsg, FL_EPARSE, "column %d: %s", jerr.column, jerr.text);
    if (!v || (found & HAS_REAL)) {
        /* A fraction, an exponent or a big integer somewhere: the numbers
         * spelled out again (rare, so the copy costs nothing otherwise). */
        json_decref(v);
        struct rewrite w = {.reals = reals, .line = line, .errmsg = errmsg};
        fl_buf_init(&w.out);
        int rc = rewrite_numbers(&w, text, len);
        if (rc < 0) {
            fl_buf_free(&w.out);
            return rc;
        }
        v = json_loadb(w.out.data ? w.out.data : "", w.out.len, flags, &jerr);
        fl_buf_free(&w.out);
        if (!v)
            return fl_errorf(errmsg, FL_EPARSE, "column %d: %s", jerr.column, jerr.text);
        found = scan(v);
    }
    if (found & HAS_NUL) {
        int rc;
        json_t *d = NULL;
        if (json_is_string(v))
            rc = decode_string(v, &d, errmsg);
        else
            rc = decode(v, errmsg);
        json_decref(d);
        if (rc < 0) {
            json_decref(v);
            return rc;
        }
    }
    *out = v;
    return 0;
}
