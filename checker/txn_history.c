/* txn_history.c - loading transactional histories: a JSONL parser of our own, EDN through
 * common/, key interning and invocation/completion pairing. */
#include "checker/txn_history.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/edn.h"
#include "common/error.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* ==== Growable arrays ==== */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = fl_reallocarray(*p, c, elem);
    if (!q)
        return FL_ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

/* ==== Keys ==== */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t x = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        x = (x ^ (unsigned char)s[i]) * 1099511628211ull;
    return x ^ (x >> 29);
}

static int key_rehash(struct checker_txn_history *h, size_t n_slots)
{
    uint32_t *slots = fl_calloc(n_slots, sizeof *slots);
    if (!slots)
        return FL_ENOMEM;
    for (uint32_t k = 0; k < h->n_keys; k++) {
        const char *s = h->names + h->key_off[k];
        size_t i = hash_bytes(s, strlen(s)) & (n_slots - 1);
        while (slots[i])
            i = (i + 1) & (n_slots - 1);
        slots[i] = k + 1;
    }
    fl_free(h->key_slots);
    h->key_slots = slots;
    h->n_key_slots = n_slots;
    return 0;
}

/* Interns the key `s` (n bytes, no NUL inside) and returns its id in *id. */
static int key_intern(struct checker_txn_history *h, const char *s, size_t n, uint32_t *id)
{
    if ((size_t)h->n_keys * 2 + 2 > h->n_key_slots &&
        key_rehash(h, h->n_key_slots ? h->n_key_slots * 2 : 1024) < 0)
        return FL_ENOMEM;
    size_t mask = h->n_key_slots - 1, i = hash_bytes(s, n) & mask;
    for (; h->key_slots[i]; i = (i + 1) & mask) {
        uint32_t k = h->key_slots[i] - 1;
        const char *t = h->names + h->key_off[k];
        size_t tn = (k + 1 < h->n_keys ? h->key_off[k + 1] : h->names_len) - h->key_off[k] - 1;
        if (tn == n && memcmp(t, s, n) == 0) {
            *id = k;
            return 0;
        }
    }
    if (h->n_keys == UINT32_MAX - 1 || h->names_len + n + 1 > UINT32_MAX)
        return FL_ELIMIT;
    size_t cap = h->cap_keys;
    if (grow((void **)&h->key_off, &cap, (size_t)h->n_keys + 1, sizeof *h->key_off) < 0 ||
        grow((void **)&h->names, &h->names_cap, h->names_len + n + 1, 1) < 0)
        return FL_ENOMEM;
    h->cap_keys = (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap);
    memcpy(h->names + h->names_len, s, n);
    h->names[h->names_len + n] = '\0';
    h->key_off[h->n_keys] = (uint32_t)h->names_len;
    h->names_len += n + 1;
    h->key_slots[i] = h->n_keys + 1;
    *id = h->n_keys++;
    return 0;
}

/* A string key's text: quoted ("1", with \" and \\ escaped) when it would
 * otherwise read as an integer key's digits or as a quoted key (`always`: in
 * EDN, where every string key is shown as EDN prints it). The integer 1 and
 * the string "1" are two keys, as in Elle. Returns the text in *out (buf or
 * s itself), or FL_ELIMIT when it does not fit buf. */
static int string_key(const char *s, size_t n, bool always, char *buf, size_t cap,
                      const char **out, size_t *out_n)
{
    bool digits = n > 0;
    for (size_t i = 0; i < n && digits; i++)
        digits = (s[i] >= '0' && s[i] <= '9') || (i == 0 && s[0] == '-' && n > 1);
    if (!always && !digits && (n == 0 || s[0] != '"')) {
        *out = s;
        *out_n = n;
        return 0;
    }
    size_t k = 0;
    if (cap < 3)
        return FL_ELIMIT;
    buf[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (k + 4 > cap)
            return FL_ELIMIT;
        if (s[i] == '"' || s[i] == '\\')
            buf[k++] = '\\';
        buf[k++] = s[i];
    }
    buf[k++] = '"';
    *out = buf;
    *out_n = k;
    return 0;
}

/* ==== Pairing ==== */

/* One event's micro-ops, parsed before we know what to do with them. */
struct scratch {
    struct checker_txn_mop *mops;
    size_t n, cap;
    /* list-read values (a list's value is its offset here): an ok completion
     * stores them in h->elems, anything else drops them */
    int64_t *elems;
    size_t n_elems, cap_elems;
};

/* Per key, the block of h->elems that holds its longest list read so far:
 * [off, off + len) used, [off + len, off + cap) room to extend in place. */
struct klist {
    uint64_t off;
    uint32_t len, cap;
};

struct pending_slot {
    int64_t process;
    uint32_t txn; /* CHECKER_TXN_NONE: empty */
};

struct span {
    const char *s;
    size_t n;
};

struct loader {
    struct checker_txn_history *h;
    struct scratch s;
    struct klist *klist; /* by key id */
    size_t cap_klist;
    struct span *kspans; /* edn_fast: each micro-op's key text, interned once the form is taken */
    size_t cap_kspans;
    struct pending_slot *pend; /* open addressing by process */
    size_t n_pend_slots, n_pend_used;
    char qkey[8200]; /* a quoted string key (string_key) */
};

static size_t pend_find(const struct loader *ld, int64_t process)
{
    size_t mask = ld->n_pend_slots - 1;
    size_t i = (size_t)((uint64_t)process * 0x9e3779b97f4a7c15ull >> 20) & mask;
    while (ld->pend[i].txn != CHECKER_TXN_NONE && ld->pend[i].process != process)
        i = (i + 1) & mask;
    return i;
}

/* Removing from open addressing: re-insert the cluster after the hole. */
static void pend_remove(struct loader *ld, size_t i)
{
    size_t mask = ld->n_pend_slots - 1;
    ld->pend[i].txn = CHECKER_TXN_NONE;
    ld->n_pend_used--;
    for (size_t j = (i + 1) & mask; ld->pend[j].txn != CHECKER_TXN_NONE; j = (j + 1) & mask) {
        struct pending_slot e = ld->pend[j];
        ld->pend[j].txn = CHECKER_TXN_NONE;
        ld->pend[pend_find(ld, e.process)] = e;
    }
}

/* Stores the list `v` (len values) read of `key` and returns its offset in
 * h->elems in *off. Reads of a key are mostly prefixes of its longest read
 * (a list only grows): such a read shares that read's values, and a read
 * that extends it is appended in place when its block has room, so memory
 * follows the values written, not the sum of every read's length. Equal
 * offsets mean equal values, never more: each read keeps its own length. */
static int store_list(struct loader *ld, uint32_t key, const int64_t *v, uint32_t len,
                      uint64_t *off)
{
    struct checker_txn_history *h = ld->h;
    if (key >= ld->cap_klist) {
        size_t old = ld->cap_klist;
        if (grow((void **)&ld->klist, &ld->cap_klist, (size_t)key + 1, sizeof *ld->klist) < 0)
            return FL_ENOMEM;
        memset(ld->klist + old, 0, (ld->cap_klist - old) * sizeof *ld->klist);
    }
    struct klist *kl = &ld->klist[key];
    if (len == 0) {
        *off = kl->off;
        return 0;
    }
    if (kl->cap) {
        const int64_t *have = h->elems + kl->off;
        uint32_t common = len < kl->len ? len : kl->len;
        if (memcmp(v, have, common * sizeof *v) == 0) {
            if (len <= kl->len) {
                *off = kl->off;
                return 0;
            }
            if (len <= kl->cap) {
                memcpy(h->elems + kl->off + kl->len, v + kl->len,
                       (len - kl->len) * sizeof *v);
                kl->len = len;
                *off = kl->off;
                return 0;
            }
        }
    }
    /* a new block: twice the length when the key's list is growing (room to
     * extend), exactly the length for a key's first read or a diverging one */
    size_t cap = kl->cap && len > kl->len ? (size_t)len * 2 : len;
    if (cap > UINT32_MAX - 1)
        cap = len;
    if (h->n_elems + cap > (uint64_t)INT64_MAX / 2)
        return FL_ELIMIT;
    if (grow((void **)&h->elems, &h->cap_elems, h->n_elems + cap, sizeof *h->elems) < 0)
        return FL_ENOMEM;
    memcpy(h->elems + h->n_elems, v, (size_t)len * sizeof *v);
    *kl = (struct klist){.off = h->n_elems, .len = len, .cap = (uint32_t)cap};
    h->n_elems += cap;
    *off = kl->off;
    return 0;
}

static int pend_reserve(struct loader *ld)
{
    if ((ld->n_pend_used + 1) * 2 <= ld->n_pend_slots)
        return 0;
    size_t n = ld->n_pend_slots ? ld->n_pend_slots * 2 : 64;
    struct pending_slot *old = ld->pend;
    size_t n_old = ld->n_pend_slots;
    ld->pend = fl_malloc(n * sizeof *ld->pend);
    if (!ld->pend) {
        ld->pend = old;
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        ld->pend[i].txn = CHECKER_TXN_NONE;
    ld->n_pend_slots = n;
    for (size_t i = 0; i < n_old; i++)
        if (old[i].txn != CHECKER_TXN_NONE)
            ld->pend[pend_find(ld, old[i].process)] = old[i];
    fl_free(old);
    return 0;
}

struct event_head {
    enum fl_event_type type;
    int64_t process;
    uint64_t line;
    int64_t time;
};

/* Takes one client txn event whose micro-ops are in ld->s. */
static int on_event(struct loader *ld, const struct event_head *e, char *errmsg)
{
    struct checker_txn_history *h = ld->h;
    struct scratch *s = &ld->s;
    uint64_t pos = h->n_events - 1;
    int rc;
    if ((rc = pend_reserve(ld)) < 0)
        return fl_errorf(errmsg, rc, "out of memory");
    size_t slot = pend_find(ld, e->process);
    if (e->type == FL_EVENT_INVOKE) {
        if (ld->pend[slot].txn != CHECKER_TXN_NONE)
            return fl_errorf(errmsg, FL_EHISTORY,
                             "line %" PRIu64 ": process: process %" PRId64
                             " invokes while its operation of line %" PRIu64 " is in flight",
                             e->line, e->process, h->txns[ld->pend[slot].txn].inv_line);
        if (h->n_txns >= CHECKER_TXN_MAX_TXNS)
            return fl_errorf(errmsg, FL_ELIMIT, "line %" PRIu64 ": more than %u transactions",
                             e->line, CHECKER_TXN_MAX_TXNS);
        if (h->n_mops + s->n > UINT32_MAX - 1)
            return fl_errorf(errmsg, FL_ELIMIT, "line %" PRIu64 ": too many micro-ops", e->line);
        if (grow((void **)&h->txns, &h->cap_txns, h->n_txns + 1, sizeof *h->txns) < 0 ||
            grow((void **)&h->mops, &h->cap_mops, h->n_mops + s->n, sizeof *h->mops) < 0)
            return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        struct checker_txn *t = &h->txns[h->n_txns];
        *t = (struct checker_txn){.inv_line = e->line,
                                  .inv_pos = pos,
                                  .end_pos = UINT64_MAX,
                                  .process = e->process,
                                  .inv_time = e->time,
                                  .end_time = -1,
                                  .mop = (uint32_t)h->n_mops,
                                  .n_mops = (uint32_t)s->n,
                                  .type = CHECKER_TXN_INFO};
        for (size_t i = 0; i < s->n; i++) {
            struct checker_txn_mop m = s->mops[i];
            if (m.f == CHECKER_TXN_R) {
                m.rkind = CHECKER_TXN_RUNKNOWN;
                m.value = 0;
                m.len = 0;
            }
            h->mops[h->n_mops++] = m;
        }
        ld->pend[slot] = (struct pending_slot){e->process, (uint32_t)h->n_txns++};
        ld->n_pend_used++;
        return 0;
    }
    if (ld->pend[slot].txn == CHECKER_TXN_NONE)
        return fl_errorf(errmsg, FL_EHISTORY,
                         "line %" PRIu64 ": process: %s of process %" PRId64
                         " with no operation in flight",
                         e->line, fl_event_type_name(e->type), e->process);
    struct checker_txn *t = &h->txns[ld->pend[slot].txn];
    pend_remove(ld, slot);
    t->end_line = e->line;
    if (e->type == FL_EVENT_INFO)
        return 0; /* may take effect any time after its invocation: keep end_pos at infinity */
    t->end_pos = pos;
    t->end_time = e->time;
    t->type = e->type == FL_EVENT_OK ? CHECKER_TXN_OK : CHECKER_TXN_FAIL;
    if (e->type == FL_EVENT_FAIL)
        return 0;
    if (grow((void **)&h->ok_order, &h->cap_ok_order, h->n_ok_order + 1, sizeof *h->ok_order) < 0)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    h->ok_order[h->n_ok_order++] = (uint32_t)(t - h->txns);
    if (s->n != t->n_mops)
        return fl_errorf(errmsg, FL_EHISTORY,
                         "line %" PRIu64 ": value: %zu micro-ops, its invocation (line %" PRIu64
                         ") had %u",
                         e->line, s->n, t->inv_line, t->n_mops);
    for (size_t i = 0; i < s->n; i++) {
        struct checker_txn_mop *m = &h->mops[t->mop + i];
        const struct checker_txn_mop *c = &s->mops[i];
        if (c->f != m->f || c->key != m->key || (m->f != CHECKER_TXN_R && c->value != m->value))
            return fl_errorf(errmsg, FL_EHISTORY,
                             "line %" PRIu64
                             ": value[%zu]: differs from its invocation (line %" PRIu64 ")",
                             e->line, i, t->inv_line);
        if (m->f != CHECKER_TXN_R)
            continue;
        m->rkind = c->rkind;
        m->value = c->value;
        m->len = c->len;
        if (c->rkind == CHECKER_TXN_RLIST) {
            uint64_t off;
            const int64_t *v = c->len ? s->elems + c->value : NULL;
            if ((rc = store_list(ld, c->key, v, c->len, &off)) < 0)
                return fl_errorf(errmsg, rc, "line %" PRIu64 ": value[%zu]: %s", e->line, i,
                                 rc == FL_ELIMIT ? "too many list values" : "out of memory");
            m->value = (int64_t)off;
        }
    }
    return 0;
}

static int scratch_mop(struct scratch *s, struct checker_txn_mop **out)
{
    if (s->n >= CHECKER_TXN_MAX_MOPS)
        return FL_ELIMIT;
    if (grow((void **)&s->mops, &s->cap, s->n + 1, sizeof *s->mops) < 0)
        return FL_ENOMEM;
    *out = &s->mops[s->n++];
    memset(*out, 0, sizeof **out);
    return 0;
}

static int scratch_elem(struct scratch *s, int64_t v)
{
    if (s->n_elems >= CHECKER_TXN_MAX_LIST)
        return FL_ELIMIT;
    if (s->n_elems >= s->cap_elems &&
        grow((void **)&s->elems, &s->cap_elems, s->n_elems + 1, sizeof *s->elems) < 0)
        return FL_ENOMEM;
    s->elems[s->n_elems++] = v;
    return 0;
}

static int mop_f_parse(const char *s, size_t n, struct checker_txn_mop *m)
{
    if (n > 2 && s[0] == '\0' && s[1] == ':') /* an EDN keyword exported to JSONL */
        s += 2, n -= 2;
    else if (n > 1 && s[0] == ':') /* an EDN keyword as older exports wrote it */
        s++, n--;
    if (n == 6 && memcmp(s, "append", 6) == 0)
        m->f = CHECKER_TXN_APPEND;
    else if (n == 1 && s[0] == 'r')
        m->f = CHECKER_TXN_R;
    else if (n == 1 && s[0] == 'w')
        m->f = CHECKER_TXN_W;
    else
        return FL_ESHAPE;
    return 0;
}

/* ==== JSONL ==== */

struct jp {
    const char *p, *end;
    uint64_t line;
    char *errmsg;
    char *str; /* decoded string scratch */
    size_t str_cap;
    int depth;
    char qkey[8200]; /* a quoted string key (string_key) */
};

static int jp_err(struct jp *j, const char *field, const char *what)
{
    return fl_errorf(j->errmsg, FL_EPARSE, "line %" PRIu64 ": %s: %s", j->line, field, what);
}

static void jp_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
        j->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int put_utf8(struct jp *j, size_t *n, uint32_t cp)
{
    char b[4];
    size_t k = fl_utf8_encode(cp, b);
    if (grow((void **)&j->str, &j->str_cap, *n + k + 1, 1) < 0)
        return FL_ENOMEM;
    memcpy(j->str + *n, b, k);
    *n += k;
    return 0;
}

static int read_hex4(struct jp *j, uint32_t *out)
{
    if (j->end - j->p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hexval(j->p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + (uint32_t)d;
    }
    j->p += 4;
    *out = v;
    return 0;
}

/* Reads a JSON string at j->p into j->str (NUL-terminated, *len bytes). A
 * string holding NUL is refused: keys become C strings. */
static int jp_string(struct jp *j, const char *field, size_t *len)
{
    if (j->p >= j->end || *j->p != '"')
        return jp_err(j, field, "expected a string");
    j->p++;
    size_t n = 0;
    for (;;) {
        const char *q = j->p;
        while (q < j->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
            q++;
        if (grow((void **)&j->str, &j->str_cap, n + (size_t)(q - j->p) + 1, 1) < 0)
            return fl_errorf(j->errmsg, FL_ENOMEM, "out of memory");
        memcpy(j->str + n, j->p, (size_t)(q - j->p));
        n += (size_t)(q - j->p);
        j->p = q;
        if (q >= j->end)
            return jp_err(j, field, "unterminated string");
        if (*q == '"') {
            j->p++;
            break;
        }
        if ((unsigned char)*q < 0x20)
            return jp_err(j, field, "control character in a string");
        /* backslash */
        if (++j->p >= j->end)
            return jp_err(j, field, "unterminated string");
        char c = *j->p++;
        uint32_t cp;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            cp = (uint32_t)c;
            break;
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            if (read_hex4(j, &cp) < 0)
                return jp_err(j, field, "bad \\u escape");
            if (cp >= 0xd800 && cp < 0xdc00) {
                uint32_t lo;
                if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
                    return jp_err(j, field, "unpaired surrogate");
                j->p += 2;
                if (read_hex4(j, &lo) < 0 || lo < 0xdc00 || lo >= 0xe000)
                    return jp_err(j, field, "unpaired surrogate");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000)
                return jp_err(j, field, "unpaired surrogate");
            if (cp == 0 && n > 0) /* first: an EDN tag (common/jsonl_value.h) */
                return jp_err(j, field, "NUL in a string");
            break;
        default:
            return jp_err(j, field, "bad escape");
        }
        if (put_utf8(j, &n, cp) < 0)
            return fl_errorf(j->errmsg, FL_ENOMEM, "out of memory");
    }
    j->str[n] = '\0';
    *len = n;
    return 0;
}

/* A JSON string at j->p as a span: in place when it holds no escape (the
 * common case: no copy), else decoded by jp_string into j->str. The span is
 * valid until the next string is read. */
static int jp_span(struct jp *j, const char *field, const char **s, size_t *len)
{
    if (j->p < j->end && *j->p == '"') {
        const char *b = j->p + 1, *q = b;
        while (q < j->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
            q++;
        if (q < j->end && *q == '"') {
            *s = b;
            *len = (size_t)(q - b);
            j->p = q + 1;
            return 0;
        }
    }
    int rc = jp_string(j, field, len);
    *s = j->str;
    return rc;
}

/* isdigit() without the locale table lookup. */
static inline bool is_digit(char c)
{
    return (unsigned char)(c - '0') < 10;
}

/* Reads an integer; a fraction or exponent is refused (values are ids). */
static int jp_int(struct jp *j, const char *field, int64_t *out)
{
    const char *q = j->p;
    bool neg = false;
    if (q < j->end && *q == '-') {
        neg = true;
        q++;
    }
    if (q >= j->end || !is_digit(*q))
        return jp_err(j, field, "expected an integer");
    if (*q == '0' && q + 1 < j->end && is_digit(q[1]))
        return jp_err(j, field, "leading zero");
    uint64_t v = 0;
    for (; q < j->end && is_digit(*q); q++) {
        unsigned d = (unsigned)(*q - '0');
        if (v > (UINT64_C(9223372036854775808) - d) / 10)
            return jp_err(j, field, "integer out of range");
        v = v * 10 + d;
    }
    if (q < j->end && (*q == '.' || *q == 'e' || *q == 'E'))
        return jp_err(j, field, "expected an integer");
    if (!neg && v > INT64_MAX)
        return jp_err(j, field, "integer out of range");
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    j->p = q;
    return 0;
}

static bool jp_lit(struct jp *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) >= n && memcmp(j->p, lit, n) == 0) {
        j->p += n;
        return true;
    }
    return false;
}

/* Skips any JSON value (validating it). */
static int jp_skip(struct jp *j, const char *field)
{
    int rc;
    size_t n;
    const char *str;
    jp_ws(j);
    if (j->p >= j->end)
        return jp_err(j, field, "unexpected end of line");
    char c = *j->p;
    if (c == '"')
        return jp_span(j, field, &str, &n);
    if (c == '{' || c == '[') {
        if (++j->depth > FL_HISTORY_MAX_DEPTH)
            return jp_err(j, field, "nested too deeply");
        char close = c == '{' ? '}' : ']';
        j->p++;
        jp_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            j->depth--;
            return 0;
        }
        for (;;) {
            if (c == '{') {
                jp_ws(j);
                if ((rc = jp_span(j, field, &str, &n)) < 0)
                    return rc;
                jp_ws(j);
                if (j->p >= j->end || *j->p != ':')
                    return jp_err(j, field, "expected ':'");
                j->p++;
            }
            if ((rc = jp_skip(j, field)) < 0)
                return rc;
            jp_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == close) {
                j->p++;
                j->depth--;
                return 0;
            }
            return jp_err(j, field, "expected ',' or a closing bracket");
        }
    }
    if (c == '-' || isdigit((unsigned char)c)) {
        const char *q = j->p;
        if (*q == '-')
            q++;
        if (q >= j->end || !isdigit((unsigned char)*q))
            return jp_err(j, field, "bad number");
        while (q < j->end && isdigit((unsigned char)*q))
            q++;
        if (q < j->end && *q == '.') {
            q++;
            if (q >= j->end || !isdigit((unsigned char)*q))
                return jp_err(j, field, "bad number");
            while (q < j->end && isdigit((unsigned char)*q))
                q++;
        }
        if (q < j->end && (*q == 'e' || *q == 'E')) {
            q++;
            if (q < j->end && (*q == '+' || *q == '-'))
                q++;
            if (q >= j->end || !isdigit((unsigned char)*q))
                return jp_err(j, field, "bad number");
            while (q < j->end && isdigit((unsigned char)*q))
                q++;
        }
        j->p = q;
        return 0;
    }
    if (jp_lit(j, "null") || jp_lit(j, "true") || jp_lit(j, "false"))
        return 0;
    return jp_err(j, field, "not JSON");
}

static int jp_expect(struct jp *j, char c, const char *field, const char *what)
{
    jp_ws(j);
    if (j->p >= j->end || *j->p != c)
        return jp_err(j, field, what);
    j->p++;
    return 0;
}

/* Writes "value[i]" into field (>= 32 bytes). */
static void value_field(char *field, size_t i)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0);
    memcpy(field, "value[", 6);
    for (size_t k = 0; k < n; k++)
        field[6 + k] = digits[n - 1 - k];
    field[6 + n] = ']';
    field[7 + n] = '\0';
}

/* Parses a txn value (the span [p, end) of "value") into the scratch. */
static int jp_txn_value(struct jp *j, struct checker_txn_history *h, struct scratch *s)
{
    int rc;
    char field[48];
    s->n = 0;
    s->n_elems = 0;
    if ((rc = jp_expect(j, '[', "value", "expected a list of micro-ops")) < 0)
        return rc;
    jp_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (size_t i = 0;; i++) {
        value_field(field, i); /* for error messages: no printf per micro-op */
        struct checker_txn_mop *m;
        if ((rc = scratch_mop(s, &m)) < 0)
            return fl_errorf(j->errmsg, rc, "line %" PRIu64 ": value: %s", j->line,
                             rc == FL_ELIMIT ? "too many micro-ops" : "out of memory");
        if ((rc = jp_expect(j, '[', field, "expected [f, key, value]")) < 0)
            return rc;
        jp_ws(j);
        size_t n;
        const char *str;
        if ((rc = jp_span(j, field, &str, &n)) < 0)
            return rc;
        if (mop_f_parse(str, n, m) < 0)
            return jp_err(j, field, "micro-op f must be \"append\", \"r\" or \"w\"");
        if ((rc = jp_expect(j, ',', field, "expected [f, key, value]")) < 0)
            return rc;
        jp_ws(j);
        char buf[24];
        if (j->p < j->end && *j->p == '"') {
            if ((rc = jp_span(j, field, &str, &n)) < 0)
                return rc;
            if (n > 0 && str[0] == '\0') {
                /* an EDN value exported to JSONL: a keyword's text is the
                 * key's, as read from EDN; others are not held apart here */
                if (n < 2 || str[1] != ':')
                    return jp_err(j, field,
                                  "an EDN symbol, character, big integer, float, #inst or #uuid as "
                                  "a key (of an exported EDN history): check the EDN history");
                str++, n--;
            } else if ((n > 0 && ((str[0] >= '0' && str[0] <= '9') || str[0] == '-' ||
                                  str[0] == '"' || str[0] == ':'))) {
                /* "1" is not the key 1, ":x" not :x: quoted (rare, so the
                 * copy is kept apart) */
                if (n * 2 + 3 > sizeof j->qkey ||
                    string_key(str, n, false, j->qkey, sizeof j->qkey, &str, &n) < 0)
                    return jp_err(j, field, "key longer than 4096 bytes");
            }
        } else {
            int64_t k;
            if ((rc = jp_int(j, field, &k)) < 0)
                return jp_err(j, field, "key must be a string or an integer");
            n = (size_t)snprintf(buf, sizeof buf, "%" PRId64, k);
            str = buf;
        }
        if ((rc = key_intern(h, str, n, &m->key)) < 0)
            return fl_errorf(j->errmsg, rc, "line %" PRIu64 ": %s: %s", j->line, field,
                             rc == FL_ELIMIT ? "too many keys" : "out of memory");
        if ((rc = jp_expect(j, ',', field, "expected [f, key, value]")) < 0)
            return rc;
        jp_ws(j);
        if (m->f != CHECKER_TXN_R) {
            if ((rc = jp_int(j, field, &m->value)) < 0)
                return rc;
        } else if (jp_lit(j, "null")) {
            m->rkind = CHECKER_TXN_RNIL;
        } else if (j->p < j->end && *j->p == '[') {
            j->p++;
            m->rkind = CHECKER_TXN_RLIST;
            m->value = (int64_t)s->n_elems;
            jp_ws(j);
            if (j->p < j->end && *j->p == ']')
                j->p++;
            else
                for (;;) {
                    int64_t v;
                    jp_ws(j);
                    if ((rc = jp_int(j, field, &v)) < 0)
                        return rc;
                    if ((rc = scratch_elem(s, v)) < 0)
                        return fl_errorf(j->errmsg, rc, "line %" PRIu64 ": %s: %s", j->line, field,
                                         rc == FL_ELIMIT ? "too long" : "out of memory");
                    jp_ws(j);
                    if (j->p < j->end && *j->p == ',') {
                        j->p++;
                        continue;
                    }
                    if ((rc = jp_expect(j, ']', field, "expected ',' or ']'")) < 0)
                        return rc;
                    break;
                }
            m->len = (uint32_t)(s->n_elems - (size_t)m->value);
        } else {
            m->rkind = CHECKER_TXN_RINT;
            if ((rc = jp_int(j, field, &m->value)) < 0)
                return jp_err(j, field, "a read is nil, an integer or a list of integers");
        }
        if ((rc = jp_expect(j, ']', field, "expected the end of [f, key, value]")) < 0)
            return rc;
        jp_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        return jp_expect(j, ']', "value", "expected ',' or ']'");
    }
}

/* One JSONL line: returns 0 (event taken or skipped) or a negative code. */
/* fl_event_type_parse for a string of known length, without a strcmp chain. */
static bool event_type_parse(const char *s, size_t n, enum fl_event_type *type)
{
    if (n == 2 && memcmp(s, "ok", 2) == 0)
        *type = FL_EVENT_OK;
    else if (n == 6 && memcmp(s, "invoke", 6) == 0)
        *type = FL_EVENT_INVOKE;
    else if (n == 4 && memcmp(s, "fail", 4) == 0)
        *type = FL_EVENT_FAIL;
    else if (n == 4 && memcmp(s, "info", 4) == 0)
        *type = FL_EVENT_INFO;
    else
        return false;
    return true;
}

static int jsonl_line(struct loader *ld, struct jp *j)
{
    int rc;
    size_t n;
    jp_ws(j);
    if (j->p >= j->end)
        return 0; /* blank line */
    if (*j->p != '{')
        return jp_err(j, "line", "expected a JSON object");
    j->p++;
    bool have_type = false, have_f = false, have_process = false, nemesis = false, txn = false;
    const char *value = NULL, *value_end = NULL;
    bool parsed = false;
    struct event_head e = {.line = j->line, .time = -1};
    jp_ws(j);
    if (j->p < j->end && *j->p == '}')
        return jp_err(j, "type", "missing");
    for (;;) {
        jp_ws(j);
        const char *str;
        if ((rc = jp_span(j, "field name", &str, &n)) < 0)
            return rc;
        /* the name for messages; matched in place */
        char name[16] = "";
        if (n < sizeof name)
            memcpy(name, str, n);
#define NAME_IS(lit) (n == sizeof lit - 1 && memcmp(name, lit, sizeof lit - 1) == 0)
        if ((rc = jp_expect(j, ':', name, "expected ':'")) < 0)
            return rc;
        jp_ws(j);
        if (NAME_IS("type")) {
            if ((rc = jp_span(j, "type", &str, &n)) < 0)
                return rc;
            if (!event_type_parse(str, n, &e.type))
                return jp_err(j, "type", "expected invoke, ok, fail or info");
            have_type = true;
        } else if (NAME_IS("f")) {
            if ((rc = jp_span(j, "f", &str, &n)) < 0)
                return rc;
            txn = n == 3 && memcmp(str, "txn", 3) == 0;
            have_f = true;
        } else if (NAME_IS("process")) {
            if (j->p < j->end && *j->p == '"') {
                if ((rc = jp_span(j, "process", &str, &n)) < 0)
                    return rc;
                /* Fault and node events (DESIGN.md "Histories") are not transactions. */
                if (!(n == 7 && memcmp(str, "nemesis", 7) == 0) &&
                    !(n == 4 && memcmp(str, "node", 4) == 0))
                    return jp_err(j, "process", "expected an integer, \"nemesis\" or \"node\"");
                nemesis = true;
            } else if ((rc = jp_int(j, "process", &e.process)) < 0)
                return rc;
            have_process = true;
        } else if (NAME_IS("time") && j->p < j->end && *j->p != 'n') {
            const char *save = j->p;
            if (jp_int(j, "time", &e.time) < 0) { /* a real time: keep -1 */
                j->p = save;
                e.time = -1;
                if ((rc = jp_skip(j, "time")) < 0)
                    return rc;
            }
        } else if (NAME_IS("value")) {
            value = j->p;
            if (have_f && txn && !nemesis && !(j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0)) {
                /* the common case (f before value): parse it once, right here */
                const char *end = j->end;
                if ((rc = jp_txn_value(j, ld->h, &ld->s)) < 0)
                    return rc;
                j->end = end;
                parsed = true;
            } else if ((rc = jp_skip(j, "value")) < 0)
                return rc;
            value_end = j->p;
        } else if ((rc = jp_skip(j, name)) < 0)
            return rc;
#undef NAME_IS
        jp_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if ((rc = jp_expect(j, '}', name, "expected ',' or '}'")) < 0)
            return rc;
        break;
    }
    jp_ws(j);
    if (j->p != j->end)
        return jp_err(j, "line", "text after the object");
    if (!have_type)
        return jp_err(j, "type", "missing");
    if (!have_process)
        return jp_err(j, "process", "missing");
    ld->h->n_events++;
    if (nemesis)
        return 0;
    if (!have_f)
        return jp_err(j, "f", "missing");
    if (!txn)
        return jp_err(j, "f", "expected \"txn\" (a transactional history)");
    /* An info or fail completion may leave its value out (or give null):
     * neither is read, the invocation's micro-ops stand (as in Knossos). */
    bool no_value = !value || (!parsed && value_end - value >= 4 && memcmp(value, "null", 4) == 0);
    if (no_value && (e.type == FL_EVENT_INFO || e.type == FL_EVENT_FAIL)) {
        ld->s.n = 0;
        ld->s.n_elems = 0;
        return on_event(ld, &e, j->errmsg);
    }
    if (!value)
        return jp_err(j, "value", "missing");
    if (!parsed) {
        j->p = value;
        j->end = value_end;
        if ((rc = jp_txn_value(j, ld->h, &ld->s)) < 0)
            return rc;
        jp_ws(j);
        if (j->p != j->end)
            return jp_err(j, "value", "text after the micro-ops");
    }
    return on_event(ld, &e, j->errmsg);
}

static int load_jsonl(struct loader *ld, FILE *fp, char *errmsg)
{
    size_t cap = 1 << 20, len = 0;
    char *buf = fl_malloc(cap);
    struct jp j = {.errmsg = errmsg};
    int rc = 0;
    if (!buf)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    for (;;) {
        if (cap - len < 4096 && len < FL_HISTORY_MAX_LINE + 2) {
            char *nb = fl_realloc(buf, cap * 2);
            if (!nb) {
                rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
                goto out;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        if (got == 0 && ferror(fp)) {
            rc = fl_errorf(errmsg, -EIO, "line %" PRIu64 ": read error", j.line + 1);
            goto out;
        }
        bool eof = got == 0;
        len += got;
        size_t start = 0;
        for (;;) {
            char *nl = memchr(buf + start, '\n', len - start);
            if (!nl)
                break;
            j.line++;
            if ((size_t)(nl - (buf + start)) > FL_HISTORY_MAX_LINE) {
                rc = fl_errorf(errmsg, FL_ELIMIT, "line %" PRIu64 ": longer than %u bytes", j.line,
                               FL_HISTORY_MAX_LINE);
                goto out;
            }
            j.p = buf + start;
            j.end = nl;
            j.depth = 0;
            if ((rc = jsonl_line(ld, &j)) < 0)
                goto out;
            start = (size_t)(nl - buf) + 1;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
        if (len > FL_HISTORY_MAX_LINE) {
            rc = fl_errorf(errmsg, FL_ELIMIT, "line %" PRIu64 ": longer than %u bytes", j.line + 1,
                           FL_HISTORY_MAX_LINE);
            goto out;
        }
        if (eof) {
            bool blank = true;
            for (size_t i = 0; i < len; i++)
                if (!isspace((unsigned char)buf[i]))
                    blank = false;
            if (!blank)
                rc = fl_errorf(errmsg, FL_EPARSE,
                               "line %" PRIu64
                               ": truncated (no newline at the end of the last line)",
                               j.line + 1);
            goto out;
        }
    }
out:
    fl_free(buf);
    fl_free(j.str);
    return rc;
}

/* ==== EDN (and anything else common/ reads), from JSON values ==== */

static int json_int(json_t *v, int64_t *out)
{
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

static int edn_txn_value(struct loader *ld, json_t *value, uint64_t line, char *errmsg)
{
    struct scratch *s = &ld->s;
    int rc;
    s->n = 0;
    s->n_elems = 0;
    if (!json_is_array(value))
        return fl_errorf(errmsg, FL_ESHAPE, "line %" PRIu64 ": value: expected a list of micro-ops",
                         line);
    for (size_t i = 0; i < json_array_size(value); i++) {
        json_t *op = json_array_get(value, i);
        struct checker_txn_mop *m;
        if ((rc = scratch_mop(s, &m)) < 0)
            return fl_errorf(errmsg, rc, "line %" PRIu64 ": value: too many micro-ops", line);
        const char *f;
        size_t fn;
        if (!json_is_array(op) || json_array_size(op) < 2 || json_array_size(op) > 3 ||
            fl_edn_name(json_array_get(op, 0), &f, &fn) < 0 || mop_f_parse(f, fn, m) < 0)
            return fl_errorf(errmsg, FL_ESHAPE,
                             "line %" PRIu64
                             ": value[%zu]: expected [f key value] with f :append, :r or :w",
                             line, i);
        json_t *k = json_array_get(op, 1), *v = json_array_get(op, 2);
        char buf[24];
        const char *ks = json_string_value(k);
        size_t kn;
        int64_t ki;
        if (fl_edn_is_tagged(k)) { /* :x, a symbol, \c, a big integer: its EDN text */
            ks++;
            kn = json_string_length(k) - 1;
        } else if (ks) {
            kn = json_string_length(k);
            if (kn * 2 + 3 > sizeof ld->qkey ||
                string_key(ks, kn, true, ld->qkey, sizeof ld->qkey, &ks, &kn) < 0)
                return fl_errorf(errmsg, FL_ELIMIT,
                                 "line %" PRIu64 ": value[%zu]: key longer than 4096 bytes", line,
                                 i);
        } else if (json_int(k, &ki) == 0) {
            kn = (size_t)snprintf(buf, sizeof buf, "%" PRId64, ki);
            ks = buf;
        } else
            return fl_errorf(errmsg, FL_ESHAPE,
                             "line %" PRIu64 ": value[%zu]: key must be a string or an integer",
                             line, i);
        if (memchr(ks, '\0', kn))
            return fl_errorf(errmsg, FL_ESHAPE, "line %" PRIu64 ": value[%zu]: NUL in a key", line,
                             i);
        if ((rc = key_intern(ld->h, ks, kn, &m->key)) < 0)
            return fl_errorf(errmsg, rc, "line %" PRIu64 ": value[%zu]: too many keys", line, i);
        if (m->f != CHECKER_TXN_R) {
            if (json_int(v, &m->value) < 0)
                return fl_errorf(errmsg, FL_ESHAPE,
                                 "line %" PRIu64 ": value[%zu]: expected an integer", line, i);
        } else if (!v || json_is_null(v)) {
            m->rkind = CHECKER_TXN_RNIL;
        } else if (json_is_array(v)) {
            m->rkind = CHECKER_TXN_RLIST;
            m->value = (int64_t)s->n_elems;
            for (size_t e = 0; e < json_array_size(v); e++) {
                int64_t x;
                if (json_int(json_array_get(v, e), &x) < 0)
                    return fl_errorf(errmsg, FL_ESHAPE,
                                     "line %" PRIu64 ": value[%zu]: expected a list of integers",
                                     line, i);
                if ((rc = scratch_elem(s, x)) < 0)
                    return fl_errorf(errmsg, rc, "line %" PRIu64 ": value[%zu]: too long", line, i);
            }
            m->len = (uint32_t)(s->n_elems - (size_t)m->value);
        } else if (json_int(v, &m->value) == 0) {
            m->rkind = CHECKER_TXN_RINT;
        } else
            return fl_errorf(errmsg, FL_ESHAPE,
                             "line %" PRIu64 ": value[%zu]: a read is nil, an integer or a list",
                             line, i);
    }
    return 0;
}

/* The EDN fast path: events of the shape Jepsen writes for transactions,
 *   {:type :ok, :f :txn, :value [[:append 3 12] [:r 4 [1 2]]], :process 2, :time 5, :index 9}
 * (fields in any order, :f before :value), read straight into the scratch
 * with no JSON built. Anything else - another field, a keyword key, a
 * string with an escape, a comment or tag inside the map, an integer the
 * general reader would write differently - returns 0 before anything is
 * decided, and the general reader (common/edn.c) reads the form, so what is
 * accepted and every error message stay the general reader's. */

static void ef_ws(struct fl_edn_reader *rd)
{
    const char *p = rd->p;
    for (; p < rd->end; p++) {
        char c = *p;
        if (c == '\n') {
            rd->line++;
            rd->line_start = p + 1;
        } else if (c != ' ' && c != ',' && c != '\t' && c != '\r')
            break;
    }
    rd->p = p;
}

/* A token ends here (the general reader's delimiters this path accepts). */
static bool ef_end(const struct fl_edn_reader *rd, const char *p)
{
    return p < rd->end && (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t' || *p == '\r' ||
                           *p == ']' || *p == '}');
}

/* An integer as the general reader takes it: [-]digits, no leading zero, no
 * N, fits in 64 bits; its text in *s, *n. */
static bool ef_int(struct fl_edn_reader *rd, int64_t *out, const char **s, size_t *n)
{
    const char *p = rd->p, *q = p;
    bool neg = q < rd->end && *q == '-';
    q += neg;
    if (q >= rd->end || !is_digit(*q) || (*q == '0' && q + 1 < rd->end && is_digit(q[1])))
        return false;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; q < rd->end && is_digit(*q); q++) {
        unsigned d = (unsigned)(*q - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (!ef_end(rd, q))
        return false;
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    *s = p;
    *n = (size_t)(q - p);
    rd->p = q;
    return true;
}

/* A keyword of [a-z0-9-]: its name in *s, *n. */
static bool ef_kw(struct fl_edn_reader *rd, const char **s, size_t *n)
{
    const char *p = rd->p;
    if (p >= rd->end || *p != ':')
        return false;
    const char *q = ++p;
    while (q < rd->end && ((*q >= 'a' && *q <= 'z') || is_digit(*q) || *q == '-'))
        q++;
    if (q == p || !ef_end(rd, q) || is_digit(*p) || *p == '-')
        return false;
    *s = p;
    *n = (size_t)(q - p);
    rd->p = q;
    return true;
}

static bool ef_nil(struct fl_edn_reader *rd)
{
    if (rd->end - rd->p >= 3 && memcmp(rd->p, "nil", 3) == 0 && ef_end(rd, rd->p + 3)) {
        rd->p += 3;
        return true;
    }
    return false;
}

/* [[f key value] ...] into the scratch; false: not this path's shape. */
static bool ef_txn_value(struct loader *ld, struct fl_edn_reader *rd)
{
    struct scratch *s = &ld->s;
    const char *ks;
    size_t kn;
    int64_t x;
    s->n = 0;
    s->n_elems = 0;
    if (rd->p >= rd->end || *rd->p != '[')
        return false;
    rd->p++;
    for (;;) {
        ef_ws(rd);
        if (rd->p >= rd->end)
            return false;
        if (*rd->p == ']') {
            rd->p++;
            return true;
        }
        if (*rd->p != '[')
            return false;
        rd->p++;
        ef_ws(rd);
        struct checker_txn_mop *m;
        const char *fs;
        size_t fn;
        if (!ef_kw(rd, &fs, &fn) || scratch_mop(s, &m) < 0 || mop_f_parse(fs, fn, m) < 0 ||
            grow((void **)&ld->kspans, &ld->cap_kspans, s->n, sizeof *ld->kspans) < 0)
            return false;
        ef_ws(rd);
        if (rd->p < rd->end && *rd->p == '"') {
            const char *q = ++rd->p;
            while (q < rd->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20 &&
                   (unsigned char)*q < 0x80)
                q++;
            if (q >= rd->end || *q != '"' || !ef_end(rd, q + 1))
                return false;
            ks = rd->p - 1; /* with its quotes, as the general reader keys a string */
            kn = (size_t)(q + 1 - ks);
            rd->p = q + 1;
        } else if (!ef_int(rd, &x, &ks, &kn) || (x == 0 && kn != 1))
            return false; /* "-0" is written "0" by the general reader: leave it that */
        ld->kspans[s->n - 1] = (struct span){ks, kn};
        ef_ws(rd);
        if (m->f != CHECKER_TXN_R) {
            if (!ef_int(rd, &m->value, &ks, &kn))
                return false;
        } else if (ef_nil(rd)) {
            m->rkind = CHECKER_TXN_RNIL;
        } else if (rd->p < rd->end && *rd->p == '[') {
            rd->p++;
            m->rkind = CHECKER_TXN_RLIST;
            m->value = (int64_t)s->n_elems;
            for (;;) {
                ef_ws(rd);
                if (rd->p < rd->end && *rd->p == ']') {
                    rd->p++;
                    break;
                }
                if (!ef_int(rd, &x, &ks, &kn) || scratch_elem(s, x) < 0)
                    return false;
            }
            m->len = (uint32_t)(s->n_elems - (size_t)m->value);
        } else if (ef_int(rd, &m->value, &ks, &kn)) {
            m->rkind = CHECKER_TXN_RINT;
        } else
            return false;
        ef_ws(rd);
        if (rd->p >= rd->end || *rd->p != ']')
            return false;
        rd->p++;
    }
}

static bool edn_fast_off; /* checker_txn_history_edn_fast */

void checker_txn_history_edn_fast(bool on)
{
    edn_fast_off = !on;
}

static int edn_fast(void *ctx, struct fl_edn_reader *rd, char *errmsg)
{
    struct loader *ld = ctx;
    enum { TYPE = 1, F = 2, PROCESS = 4, TIME = 8, INDEX = 16, VALUE = 32 };
    unsigned seen = 0;
    struct event_head e = {.line = rd->line, .time = -1};
    const char *s;
    size_t n;
    int64_t x;
    if (rd->p >= rd->end || *rd->p != '{')
        return 0;
    rd->p++;
    for (;;) {
        ef_ws(rd);
        if (rd->p < rd->end && *rd->p == '}') {
            rd->p++;
            break;
        }
        if (!ef_kw(rd, &s, &n))
            return 0;
        unsigned field = n == 4 && memcmp(s, "type", 4) == 0      ? TYPE
                         : n == 1 && *s == 'f'                    ? F
                         : n == 7 && memcmp(s, "process", 7) == 0 ? PROCESS
                         : n == 4 && memcmp(s, "time", 4) == 0    ? TIME
                         : n == 5 && memcmp(s, "index", 5) == 0   ? INDEX
                         : n == 5 && memcmp(s, "value", 5) == 0   ? VALUE
                                                                  : 0;
        if (!field || (seen & field))
            return 0;
        seen |= field;
        ef_ws(rd);
        switch (field) {
        case TYPE:
            if (!ef_kw(rd, &s, &n) || !event_type_parse(s, n, &e.type))
                return 0;
            break;
        case F:
            if (!ef_kw(rd, &s, &n) || n != 3 || memcmp(s, "txn", 3) != 0)
                return 0;
            break;
        case PROCESS:
            if (!ef_int(rd, &e.process, &s, &n) || e.process < 0)
                return 0;
            break;
        case TIME:
        case INDEX:
            if (ef_nil(rd))
                x = -1;
            else if (!ef_int(rd, &x, &s, &n) || x < 0)
                return 0;
            if (field == TIME)
                e.time = x;
            break;
        default: /* VALUE */
            if (!(seen & F) || !ef_txn_value(ld, rd))
                return 0;
        }
    }
    if ((seen & (TYPE | F | PROCESS | VALUE)) != (TYPE | F | PROCESS | VALUE))
        return 0;
    /* taken: from here on it is this event, as the general reader would have it */
    for (size_t i = 0; i < ld->s.n; i++)
        if (key_intern(ld->h, ld->kspans[i].s, ld->kspans[i].n, &ld->s.mops[i].key) < 0)
            return 0; /* the general reader says which limit */
    ld->h->n_events++;
    int rc = on_event(ld, &e, errmsg);
    return rc < 0 ? rc : 1;
}

static int load_events(struct loader *ld, FILE *fp, const char *name, enum fl_history_format format,
                       char *errmsg)
{
    struct fl_history_reader r;
    struct fl_event ev;
    int rc;
    /* The reader takes fp over (and closes it unless it is stdin). */
    if ((rc = fl_history_reader_open_file(&r, fp, name, format, errmsg)) < 0) {
        if (fp != stdin)
            fclose(fp);
        return rc;
    }
    if (!edn_fast_off)
        fl_history_reader_set_edn_fast(&r, edn_fast, ld);
    fl_event_init(&ev);
    while ((rc = fl_history_reader_next(&r, &ev, errmsg)) >= 1) {
        if (rc == 2)
            continue; /* taken by edn_fast */
        ld->h->n_events++;
        if (ev.process == FL_PROCESS_NEMESIS)
            continue;
        if (strcmp(ev.f, "txn") != 0) {
            rc = fl_errorf(errmsg, FL_ESHAPE,
                           "%s:%" PRIu64 ": f: expected txn (a transactional history)", name,
                           ev.line);
            break;
        }
        struct event_head e = {
            .type = ev.type, .process = ev.process, .line = ev.line, .time = ev.time};
        /* An info or fail completion may leave its value out (see jsonl_line). */
        if ((ev.type == FL_EVENT_INFO || ev.type == FL_EVENT_FAIL) &&
            (!ev.value || json_is_null(ev.value))) {
            ld->s.n = 0;
            ld->s.n_elems = 0;
            if ((rc = on_event(ld, &e, errmsg)) < 0) {
                fl_error_wrap(errmsg, rc, "%s", name);
                break;
            }
            continue;
        }
        if ((rc = edn_txn_value(ld, ev.value, ev.line, errmsg)) < 0 ||
            (rc = on_event(ld, &e, errmsg)) < 0) {
            fl_error_wrap(errmsg, rc, "%s", name);
            break;
        }
    }
    fl_event_clear(&ev);
    fl_history_reader_close(&r);
    return rc;
}

/* ==== Loading ==== */

/* The format from the first meaningful bytes, as common/history.c does:
 * '{"' is JSONL, '[', '(', '#', ';' or '{:' is EDN. */
static enum fl_history_format detect(const char *head, size_t n)
{
    size_t i = 0;
    while (i < n && (isspace((unsigned char)head[i]) || head[i] == ','))
        i++;
    if (i < n && (head[i] == '[' || head[i] == '(' || head[i] == '#' || head[i] == ';'))
        return FL_FORMAT_EDN;
    if (i < n && head[i] == '{') {
        size_t j = i + 1;
        while (j < n && isspace((unsigned char)head[j]))
            j++;
        if (j < n && head[j] == ':')
            return FL_FORMAT_EDN;
    }
    return FL_FORMAT_JSONL;
}

int checker_txn_history_load_file(FILE *fp, const char *name, enum fl_history_format format,
                                  struct checker_txn_history *h, char *errmsg)
{
    struct loader ld = {.h = h};
    int rc;
    memset(h, 0, sizeof *h);
    h->path = fl_strdup(name);
    if (!h->path) {
        if (fp != stdin)
            fclose(fp);
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    }
    if (format == FL_FORMAT_AUTO) {
        /* On a pipe fp becomes a replay of the peeked bytes that owns the pipe. */
        char head[256];
        size_t n;
        if ((rc = fl_history_peek(&fp, head, sizeof head, &n, true, name, errmsg)) < 0) {
            if (fp != stdin)
                fclose(fp);
            return rc;
        }
        format = detect(head, n);
    }
    h->format = format;
    if (format == FL_FORMAT_JSONL) {
        rc = load_jsonl(&ld, fp, errmsg);
        if (rc < 0)
            fl_error_wrap(errmsg, rc, "%s", name);
        if (fp != stdin)
            fclose(fp);
    } else if (format == FL_FORMAT_EDN) {
        rc = load_events(&ld, fp, name, format, errmsg);
    } else {
        rc = fl_errorf(errmsg, FL_EUSAGE, "%s: transactional histories are JSONL or EDN", name);
        if (fp != stdin)
            fclose(fp);
    }
    fl_free(ld.s.mops);
    fl_free(ld.s.elems);
    fl_free(ld.klist);
    fl_free(ld.kspans);
    fl_free(ld.pend);
    return rc;
}

int checker_txn_history_load(const char *path, enum fl_history_format format,
                             struct checker_txn_history *h, char *errmsg)
{
    FILE *fp;
    memset(h, 0, sizeof *h);
    if (strcmp(path, "-") == 0) {
        if (format == FL_FORMAT_AUTO)
            return fl_errorf(errmsg, FL_EUSAGE, "-: give --format when reading standard input");
        fp = stdin;
    } else if (!(fp = fopen(path, "r")))
        return fl_errorf(errmsg, -errno, "%s: %s", path, strerror(errno));
    return checker_txn_history_load_file(fp, path, format, h, errmsg);
}

void checker_txn_history_free(struct checker_txn_history *h)
{
    fl_free(h->txns);
    fl_free(h->ok_order);
    fl_free(h->mops);
    fl_free(h->elems);
    fl_free(h->names);
    fl_free(h->key_off);
    fl_free(h->key_slots);
    fl_free(h->path);
    memset(h, 0, sizeof *h);
}
