/* jscan.h - a strict scanner for the plain JSON the node's hot paths read without jansson.
 *
 * The peer codec (append, append_result: node/io/codec.c), the client port
 * (command, query: node/server/request.c) and the state's command entries
 * (node/server/state.c) read by hand the form our own writers use; anything
 * outside that subset is given up, never refused, and the caller reads it
 * through jansson as before. So every reader here says either yes (the token
 * is exactly what jansson reads there) or no (give up; the cursor is then of
 * no use). The subset: JSON whitespace, strings of printable ASCII without
 * escapes, unsigned integers without sign, leading zero, fraction or exponent
 * up to an explicit bound, true/false, and objects key by key. Nothing is
 * read at or past `end`.
 *
 * The readers are static inline: they run per byte on the follower's append
 * path, and out of line (a jscan.c) io_codec_decode_body took 8.7% more
 * instructions than the codec's own static readers did (callgrind,
 * bench_peer_codec); inlined it takes the same. */
#ifndef IO_JSCAN_H
#define IO_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A cursor over a text (borrowed for the scan): p moves towards end. */
struct jscan {
    const unsigned char *p, *end;
};

/* An object being read: how many keys so far, which of a table's were seen. */
struct jscan_obj {
    unsigned n;
    uint32_t seen;
};

#define JSCAN_END       (-1) /* the object's closing brace was read */
#define JSCAN_BAD       (-2) /* outside the subset, or a key seen before: give up */
#define JSCAN_MAX_NAMES 32   /* names in one jscan_field table (the bits of seen) */

/* The readers copy the cursor into a local and store it once: text is
 * unsigned char, which may alias the cursor, so moving s->p itself would be
 * a store per byte where a caller keeps the cursor in memory. */

static inline void jscan_init(struct jscan *s, const void *text, size_t len)
{
    s->p = text;
    s->end = s->p + len;
}

static inline const unsigned char *jscan__ws(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* Skips JSON whitespace (space, tab, newline, carriage return). */
static inline void jscan_ws(struct jscan *s)
{
    s->p = jscan__ws(s->p, s->end);
}

/* Skips whitespace, then reads the character c. */
static inline bool jscan_ch(struct jscan *s, char c)
{
    const unsigned char *p = jscan__ws(s->p, s->end);
    s->p = p;
    if (p == s->end || *p != (unsigned char)c)
        return false;
    s->p = p + 1;
    return true;
}

/* Reads the bytes of `lit` exactly, no whitespace around them (a fixed form). */
static inline bool jscan_lit(struct jscan *s, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
        return false;
    s->p += n;
    return true;
}

/* Reads a string at the cursor: a quote, printable ASCII but the quote and
 * the backslash (an escape is jansson's to read), a quote. Its bytes are
 * [*str, *str + *n), borrowed from the text. */
static inline bool jscan_str(struct jscan *s, const char **str, size_t *n)
{
    const unsigned char *p = s->p, *end = s->end;
    if (p == end || *p != '"')
        return false;
    const unsigned char *b = ++p;
    while (p < end && *p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\')
        p++;
    if (p == end || *p != '"')
        return false;
    *str = (const char *)b;
    *n = (size_t)(p - b);
    s->p = p + 1;
    return true;
}

/* Reads an unsigned integer at the cursor as jansson reads an integer: one
 * digit or more, no sign, no leading zero, not followed by a fraction or an
 * exponent (jansson would make it a real), and at most `max` (a larger one is
 * given up, never wrapped). */
static inline bool jscan_u64(struct jscan *s, uint64_t max, uint64_t *v)
{
    const unsigned char *b = s->p, *p = b, *end = s->end;
    uint64_t x = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        unsigned d = *p - '0';
        if (d > max || x > (max - d) / 10)
            return false;
        x = x * 10 + d;
        p++;
    }
    if (p == b || (p - b > 1 && *b == '0'))
        return false;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return false;
    s->p = p;
    *v = x;
    return true;
}

/* Reads true or false at the cursor. */
static inline bool jscan_bool(struct jscan *s, bool *v)
{
    size_t left = (size_t)(s->end - s->p);
    if (left >= 4 && memcmp(s->p, "true", 4) == 0) {
        s->p += 4;
        *v = true;
        return true;
    }
    if (left >= 5 && memcmp(s->p, "false", 5) == 0) {
        s->p += 5;
        *v = false;
        return true;
    }
    return false;
}

/* True when the string [str, str + n) is `lit`. */
static inline bool jscan_is(const char *str, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(str, lit, n) == 0;
}

/* Reads an object key by key: call it with *o zeroed at the object's opening
 * brace, then again after reading each value. It reads the opening brace
 * first (o->n == 0), then either the closing brace (JSCAN_END; an empty
 * object when o->n is still 0) or a comma (from the second key on), a key,
 * its colon and the whitespace after it: 0 with the key in [*k, *k + *kn),
 * the cursor at its value and o->n counting it. JSCAN_BAD for anything else
 * (a trailing comma, a missing one, a key that is not a plain string). */
static inline int jscan_key(struct jscan *s, struct jscan_obj *o, const char **k, size_t *kn)
{
    const unsigned char *end = s->end, *p = jscan__ws(s->p, end);
    if (o->n == 0) {
        if (p == end || *p != '{')
            return JSCAN_BAD;
        p = jscan__ws(p + 1, end);
    }
    if (p < end && *p == '}') {
        s->p = p + 1;
        return JSCAN_END;
    }
    if (o->n > 0) {
        if (p == end || *p != ',')
            return JSCAN_BAD;
        p = jscan__ws(p + 1, end);
    }
    s->p = p;
    if (!jscan_str(s, k, kn))
        return JSCAN_BAD;
    p = jscan__ws(s->p, end);
    if (p == end || *p != ':')
        return JSCAN_BAD;
    s->p = jscan__ws(p + 1, end);
    o->n++;
    return 0;
}

/* jscan_key for an object whose keys all come from names[0..count) (count <=
 * JSCAN_MAX_NAMES), each at most once (jansson refuses duplicates): the key's
 * index, JSCAN_END, or JSCAN_BAD (also for another key or one seen before in
 * this object; o->seen has a bit per name seen). */
static inline int jscan_field(struct jscan *s, struct jscan_obj *o, const char *const *names,
                              int count)
{
    const char *k;
    size_t kn;
    int rc = jscan_key(s, o, &k, &kn);
    if (rc != 0)
        return rc;
    for (int i = 0; i < count && i < JSCAN_MAX_NAMES; i++) {
        if (!jscan_is(k, kn, names[i]))
            continue;
        if (o->seen & (1u << i))
            return JSCAN_BAD;
        o->seen |= 1u << i;
        return i;
    }
    return JSCAN_BAD;
}

/* True when jscan_field read names[i] in this object. */
static inline bool jscan_seen(const struct jscan_obj *o, int i)
{
    return (o->seen & 1u << i) != 0;
}

/* Skips trailing whitespace; true when that was the end of the text. */
static inline bool jscan_done(struct jscan *s)
{
    jscan_ws(s);
    return s->p == s->end;
}

#endif
