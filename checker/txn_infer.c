/* txn_infer.c - version orders, dependency edges and non-cycle anomalies (Elle's inference). */
#include "checker/txn_infer.h"

#include "common/alloc.h"
#include "common/error.h"
#include "common/rng.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE CHECKER_TXN_NONE

struct wslot {
    int64_t value;
    uint32_t key, mop; /* mop NONE: empty */
};

/* Per key, where its writes are indexed: values are unique per key and
 * mostly counted up from 1, so a key whose values span at most about twice
 * their number gets a direct array (wtab[base + value - min], 4 bytes a
 * value); the rest share a hash table. */
struct kwrites {
    int64_t min;
    uint64_t base; /* KW_HASHED: in the hash table */
    uint64_t range;
};
#define KW_HASHED UINT64_MAX

struct ctx {
    const struct checker_txn_history *h;
    struct checker_txn_infer *inf;
    struct checker_txn_graph *g;
    struct checker_txn_found *found;
    size_t max_edges;
    char *errmsg;
    /* (key, value) -> write micro-op */
    struct kwrites *kw; /* by key */
    uint32_t *wtab;     /* the direct arrays */
    struct wslot *wslots; /* the key and value sit in the slot: one cache miss a probe */
    size_t wmask;
};

/* Runs of 16 consecutive values of a key share one hashed block of slots, so
 * the writes of a run (values mostly counted up) and the reads that name them
 * in order touch neighbouring cache lines instead of one random line each. */
static size_t wslot(const struct ctx *c, uint32_t key, int64_t value)
{
    uint64_t v = (uint64_t)value;
    size_t i = (fl_mix64(((uint64_t)key << 40) ^ (v >> 4) ^ ((uint64_t)key * 0x9e3779b97f4a7c15ull))
                    << 4 |
                (v & 15)) &
               c->wmask;
    for (;; i = (i + 1) & c->wmask) {
        const struct wslot *w = &c->wslots[i];
        if (w->mop == NONE || (w->key == key && w->value == value))
            return i;
    }
}

/* The write micro-op of `value` to `key`, or NONE. */
static uint32_t writer_of(const struct ctx *c, uint32_t key, int64_t value)
{
    const struct kwrites *kw = &c->kw[key];
    if (kw->base != KW_HASHED) {
        uint64_t o = (uint64_t)value - (uint64_t)kw->min;
        return o < kw->range ? c->wtab[kw->base + o] : NONE;
    }
    return c->wslots ? c->wslots[wslot(c, key, value)].mop : NONE;
}

static int add_edge(struct ctx *c, uint32_t a, uint32_t b, uint8_t t, bool optional)
{
    if (a == b)
        return 0;
    if (c->max_edges && c->g->n_pairs >= c->max_edges) {
        if (!optional)
            return fl_errorf(c->errmsg, FL_EBUDGET, "more than %zu dependency edges", c->max_edges);
        c->inf->n_edges_skipped++;
        if (c->inf->orders_complete) {
            c->inf->orders_complete = false;
            snprintf(c->inf->incomplete, sizeof c->inf->incomplete,
                     "edges beyond the memory budget were dropped");
        }
        return 0;
    }
    if (checker_txn_graph_add(c->g, a, b, t) < 0)
        return fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
    return 0;
}

static int report(struct ctx *c, uint8_t kind, uint32_t t0, uint32_t t1, uint32_t mop,
                  uint32_t mop2, int64_t value)
{
    uint32_t txns[2] = {t0, t1};
    struct checker_txn_anomaly a = {.kind = kind,
                                    .n = t1 == NONE ? 1 : 2,
                                    .txns = txns,
                                    .mop = mop,
                                    .mop2 = mop2,
                                    .value = value};
    if (checker_txn_found_add(c->found, &a) < 0)
        return fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
    return 0;
}

static void incomplete(struct checker_txn_infer *inf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void incomplete(struct checker_txn_infer *inf, const char *fmt, ...)
{
    if (!inf->orders_complete)
        return;
    inf->orders_complete = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(inf->incomplete, sizeof inf->incomplete, fmt, ap);
    va_end(ap);
}

/* ==== Per transaction: flags, shapes, internal consistency ==== */

static bool committed_txn(const struct ctx *c, uint32_t t)
{
    return c->inf->committed[t];
}

static const int64_t *read_elems(const struct checker_txn_history *h,
                                 const struct checker_txn_mop *m)
{
    return h->elems + m->value;
}

/* list-append: a read after the transaction's own micro-ops on the key must
 * be the earlier read plus the appends since (or end with the appends when no
 * read came first). prev[] links each micro-op to the previous one on its key
 * in its transaction, so each check walks only what the last one did not. */
static bool internal_ok_append(const struct checker_txn_history *h, const uint32_t *prev,
                               uint32_t ri)
{
    const struct checker_txn_mop *r = &h->mops[ri];
    uint32_t x = r->rkind == CHECKER_TXN_RLIST ? r->len : 0;
    const int64_t *re = x ? read_elems(h, r) : NULL;
    uint32_t j = prev[ri];
    for (; j != NONE && h->mops[j].f != CHECKER_TXN_R; j = prev[j])
        if (x == 0 || re[--x] != h->mops[j].value)
            return false;
    if (j == NONE)
        return true;
    const struct checker_txn_mop *p = &h->mops[j];
    uint32_t plen = p->rkind == CHECKER_TXN_RLIST ? p->len : 0;
    return x == plen && (plen == 0 || memcmp(re, read_elems(h, p), plen * sizeof *re) == 0);
}

/* rw-register: a read after the transaction's own write or read of the key
 * returns that write or the same value. */
static bool internal_ok_register(const struct checker_txn_history *h, const uint32_t *prev,
                                 uint32_t ri)
{
    const struct checker_txn_mop *r = &h->mops[ri];
    if (prev[ri] == NONE)
        return true;
    const struct checker_txn_mop *m = &h->mops[prev[ri]];
    if (m->f == CHECKER_TXN_R && m->rkind == CHECKER_TXN_RNIL)
        return r->rkind == CHECKER_TXN_RNIL;
    return r->rkind == CHECKER_TXN_RINT && r->value == m->value;
}

static int scan_txns(struct ctx *c)
{
    const struct checker_txn_history *h = c->h;
    struct checker_txn_infer *inf = c->inf;
    bool la = inf->workload == CHECKER_TXN_LIST_APPEND;
    uint32_t *kstamp = fl_calloc(h->n_keys ? h->n_keys : 1, sizeof *kstamp);
    uint32_t *klast = fl_malloc((h->n_keys ? h->n_keys : 1) * sizeof *klast);
    uint32_t *rstamp = fl_calloc(h->n_keys ? h->n_keys : 1, sizeof *rstamp);
    uint32_t *prev = fl_malloc((h->n_mops ? h->n_mops : 1) * sizeof *prev);
    uint32_t stamp = 0;
    int rc = 0;
    if (!kstamp || !klast || !prev || !rstamp) {
        rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t t = 0; t < h->n_txns; t++) {
        const struct checker_txn *tx = &h->txns[t];
        if (stamp >= UINT32_MAX - 2) {
            memset(kstamp, 0, h->n_keys * sizeof *kstamp);
            memset(rstamp, 0, h->n_keys * sizeof *rstamp);
            stamp = 0;
        }
        uint32_t fwd = ++stamp, bwd = ++stamp;
        for (uint32_t mi = tx->mop; mi < tx->mop + tx->n_mops; mi++) {
            const struct checker_txn_mop *m = &h->mops[mi];
            inf->mop_txn[mi] = t;
            if (m->f == (la ? CHECKER_TXN_W : CHECKER_TXN_APPEND)) {
                rc = fl_errorf(c->errmsg, FL_ESHAPE,
                               "line %" PRIu64 ": value[%u]: %s micro-op in a %s history",
                               tx->inv_line, mi - tx->mop, la ? "w" : "append",
                               la ? "list-append" : "rw-register");
                goto out;
            }
            if (m->f == CHECKER_TXN_R && tx->type == CHECKER_TXN_OK &&
                ((la && m->rkind == CHECKER_TXN_RINT) || (!la && m->rkind == CHECKER_TXN_RLIST))) {
                rc = fl_errorf(c->errmsg, FL_ESHAPE,
                               "line %" PRIu64 ": value[%u]: a %s read returns %s", tx->end_line,
                               mi - tx->mop, la ? "list-append" : "rw-register",
                               la ? "a list or nil" : "an integer or nil");
                goto out;
            }
            if (kstamp[m->key] != fwd) {
                kstamp[m->key] = fwd;
                inf->mop_flags[mi] |= CHECKER_TXN_EXT;
                prev[mi] = NONE;
            } else
                prev[mi] = klast[m->key];
            klast[m->key] = mi;
            if (m->f == CHECKER_TXN_R && rstamp[m->key] != fwd) {
                rstamp[m->key] = fwd;
                inf->mop_flags[mi] |= CHECKER_TXN_FIRSTR;
            }
        }
        /* backwards: the last write of each key, and reads a write follows */
        for (uint32_t mi = tx->mop + tx->n_mops; mi-- > tx->mop;) {
            const struct checker_txn_mop *m = &h->mops[mi];
            if (m->f != CHECKER_TXN_R) {
                if (kstamp[m->key] != bwd) {
                    kstamp[m->key] = bwd;
                    inf->mop_flags[mi] |= CHECKER_TXN_FINAL;
                }
            } else if (kstamp[m->key] == bwd)
                inf->mop_flags[mi] |= CHECKER_TXN_RMW;
        }
        if (tx->type != CHECKER_TXN_OK)
            continue;
        for (uint32_t mi = tx->mop; mi < tx->mop + tx->n_mops; mi++) {
            const struct checker_txn_mop *m = &h->mops[mi];
            if (m->f != CHECKER_TXN_R || (inf->mop_flags[mi] & CHECKER_TXN_EXT))
                continue;
            bool ok = la ? internal_ok_append(h, prev, mi) : internal_ok_register(h, prev, mi);
            if (ok)
                continue;
            inf->mop_flags[mi] |= CHECKER_TXN_BADINT;
            if ((rc = report(c, CHECKER_TXN_INTERNAL, t, NONE, mi, NONE, 0)) < 0)
                goto out;
        }
    }
out:
    fl_free(kstamp);
    fl_free(klast);
    fl_free(rstamp);
    fl_free(prev);
    return rc;
}

/* ==== Writes and reads ==== */

static int duplicate_write(struct ctx *c, uint32_t first, uint32_t again)
{
    const struct checker_txn_history *h = c->h;
    const struct checker_txn_mop *m = &h->mops[again];
    const struct checker_txn *a = &h->txns[c->inf->mop_txn[first]];
    const struct checker_txn *b = &h->txns[c->inf->mop_txn[again]];
    return fl_errorf(c->errmsg, FL_EHISTORY,
                     "line %" PRIu64 ": value: %" PRId64 " written to key %s again (first on line "
                     "%" PRIu64 "); Elle's inference needs unique values per key",
                     b->inv_line, m->value, checker_txn_key_name(h, m->key), a->inv_line);
}

static int index_writes(struct ctx *c)
{
    const struct checker_txn_history *h = c->h;
    size_t nk = h->n_keys ? h->n_keys : 1;
    uint32_t *cnt = fl_calloc(nk, sizeof *cnt);
    int64_t *max = fl_malloc(nk * sizeof *max);
    c->kw = fl_malloc(nk * sizeof *c->kw);
    int rc = 0;
    if (!cnt || !max || !c->kw) {
        rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < h->n_mops; i++) {
        const struct checker_txn_mop *m = &h->mops[i];
        if (m->f == CHECKER_TXN_R)
            continue;
        if (cnt[m->key]++ == 0) {
            c->kw[m->key].min = m->value;
            max[m->key] = m->value;
        } else if (m->value < c->kw[m->key].min)
            c->kw[m->key].min = m->value;
        else if (m->value > max[m->key])
            max[m->key] = m->value;
    }
    size_t n_direct = 0, n_hashed = 0;
    for (uint32_t k = 0; k < h->n_keys; k++) {
        struct kwrites *kw = &c->kw[k];
        uint64_t span = cnt[k] ? (uint64_t)max[k] - (uint64_t)kw->min : 0;
        if (cnt[k] && span < (uint64_t)cnt[k] * 2 + 16) {
            kw->base = n_direct;
            kw->range = span + 1;
            n_direct += span + 1;
        } else {
            kw->base = cnt[k] ? KW_HASHED : 0;
            kw->range = 0;
            n_hashed += cnt[k];
        }
    }
    c->wtab = fl_malloc((n_direct ? n_direct : 1) * sizeof *c->wtab);
    if (!c->wtab) {
        rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    memset(c->wtab, 0xff, n_direct * sizeof *c->wtab);
    if (n_hashed) {
        size_t n = 16;
        while (n < n_hashed * 2)
            n *= 2;
        c->wslots = fl_malloc(n * sizeof *c->wslots);
        if (!c->wslots) {
            rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
            goto out;
        }
        memset(c->wslots, 0xff, n * sizeof *c->wslots);
        c->wmask = n - 1;
    }
    for (uint32_t i = 0; i < h->n_mops; i++) {
        const struct checker_txn_mop *m = &h->mops[i];
        if (m->f == CHECKER_TXN_R)
            continue;
        const struct kwrites *kw = &c->kw[m->key];
        if (kw->base != KW_HASHED) {
            uint32_t *slot = &c->wtab[kw->base + ((uint64_t)m->value - (uint64_t)kw->min)];
            if (*slot != NONE) {
                rc = duplicate_write(c, *slot, i);
                goto out;
            }
            *slot = i;
            continue;
        }
        size_t s = wslot(c, m->key, m->value);
        if (c->wslots[s].mop != NONE) {
            rc = duplicate_write(c, c->wslots[s].mop, i);
            goto out;
        }
        c->wslots[s] = (struct wslot){m->value, m->key, i};
    }
out:
    fl_free(cnt);
    fl_free(max);
    return rc;
}

/* Per key: the longest list read resolved so far and where its first
 * duplicate, garbage value and failed writer are (NONE: none). */
struct kcache {
    uint32_t read, first_dup, first_garbage, first_fail;
};

/* Resolves every read of an ok transaction to the writes it returned, and
 * reports garbage, duplicates, G1a and G1b. */
static int resolve_reads(struct ctx *c)
{
    const struct checker_txn_history *h = c->h;
    struct checker_txn_infer *inf = c->inf;
    bool la = inf->workload == CHECKER_TXN_LIST_APPEND;
    uint32_t *dup = la ? fl_calloc(h->n_mops ? h->n_mops : 1, sizeof *dup) : NULL;
    struct kcache *cache = la ? fl_malloc((h->n_keys ? h->n_keys : 1) * sizeof *cache) : NULL;
    int rc = 0;
    if (la && (!dup || !cache)) {
        fl_free(dup);
        fl_free(cache);
        return fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
    }
    for (uint32_t k = 0; la && k < h->n_keys; k++)
        cache[k].read = NONE;
    for (uint32_t t = 0; t < h->n_txns; t++) {
        const struct checker_txn *tx = &h->txns[t];
        if (tx->type != CHECKER_TXN_OK)
            continue;
        for (uint32_t mi = tx->mop; mi < tx->mop + tx->n_mops; mi++) {
            const struct checker_txn_mop *m = &h->mops[mi];
            if (m->f != CHECKER_TXN_R)
                continue;
            uint32_t last = NONE;
            bool garbage = false, dupd = false, aborted = false;
            int64_t gv = 0, dv = 0, av = 0;
            uint32_t aw = NONE;
            if (m->rkind == CHECKER_TXN_RLIST) {
                /* Reads of a key mostly repeat the last one and add a few values:
                 * reuse what the longest read so far resolved for the common prefix
                 * (values are unique per key: equal values, equal writers). */
                struct kcache *kc = &cache[m->key];
                const int64_t *re = h->elems + m->value;
                uint32_t common = 0, fd = NONE, fg = NONE, ff = NONE;
                if (kc->read != NONE) {
                    const struct checker_txn_mop *p = &h->mops[kc->read];
                    const int64_t *pe = h->elems + p->value;
                    uint32_t lim = p->len < m->len ? p->len : m->len;
                    if (pe == re)
                        common = lim;
                    while (common < lim && re[common] == pe[common])
                        common++;
                    if (common && p->value != m->value) /* else shared: resolved already */
                        memcpy(inf->elem_w + m->value, inf->elem_w + p->value,
                               common * sizeof *inf->elem_w);
                    fd = kc->first_dup < common ? kc->first_dup : NONE;
                    fg = kc->first_garbage < common ? kc->first_garbage : NONE;
                    ff = kc->first_fail < common ? kc->first_fail : NONE;
                }
                bool stamp_all = m->len - common > 8;
                if (stamp_all)
                    for (uint32_t e = 0; e < common; e++)
                        if (inf->elem_w[(size_t)m->value + e] != NONE)
                            dup[inf->elem_w[(size_t)m->value + e]] = mi + 1;
                for (uint32_t e = common; e < m->len; e++) {
                    size_t ei = (size_t)m->value + e;
                    int64_t v = re[e];
                    uint32_t w = writer_of(c, m->key, v);
                    inf->elem_w[ei] = w;
                    if (w == NONE) {
                        if (fg == NONE)
                            fg = e;
                        continue;
                    }
                    if (fd == NONE) {
                        if (stamp_all) {
                            if (dup[w] == mi + 1)
                                fd = e;
                            dup[w] = mi + 1;
                        } else
                            for (uint32_t q = 0; q < e; q++)
                                if (inf->elem_w[(size_t)m->value + q] == w) {
                                    fd = e;
                                    break;
                                }
                    }
                    uint32_t wt = inf->mop_txn[w];
                    if (wt != t)
                        inf->mop_flags[w] |= CHECKER_TXN_OBSERVED;
                    if (ff == NONE && h->txns[wt].type == CHECKER_TXN_FAIL)
                        ff = e;
                }
                if (kc->read == NONE || m->len >= h->mops[kc->read].len)
                    *kc = (struct kcache){mi, fd, fg, ff};
                last = m->len ? inf->elem_w[(size_t)m->value + m->len - 1] : NONE;
                if (fg != NONE) {
                    garbage = true;
                    gv = re[fg];
                }
                if (fd != NONE) {
                    dupd = true;
                    dv = re[fd];
                }
                if (ff != NONE) {
                    aborted = true;
                    av = re[ff];
                    aw = inf->elem_w[(size_t)m->value + ff];
                }
            } else if (m->rkind == CHECKER_TXN_RINT) {
                uint32_t w = writer_of(c, m->key, m->value);
                last = w;
                if (w == NONE) {
                    garbage = true;
                    gv = m->value;
                } else {
                    uint32_t wt = inf->mop_txn[w];
                    if (wt != t)
                        inf->mop_flags[w] |= CHECKER_TXN_OBSERVED;
                    if (h->txns[wt].type == CHECKER_TXN_FAIL) {
                        aborted = true;
                        av = m->value;
                        aw = w;
                    }
                }
            }
            if (la) {
                /* what it read from others: without its own appends at the end */
                uint32_t eff = m->rkind == CHECKER_TXN_RLIST ? m->len : 0;
                if (!(inf->mop_flags[mi] & CHECKER_TXN_EXT))
                    while (eff > 0 && inf->elem_w[(size_t)m->value + eff - 1] != NONE &&
                           inf->mop_txn[inf->elem_w[(size_t)m->value + eff - 1]] == t)
                        eff--;
                inf->rlen[mi] = eff;
                last = eff ? inf->elem_w[(size_t)m->value + eff - 1] : NONE;
            }
            inf->read_w[mi] = last;
            /* a first read that returns the transaction's own later write: a future read */
            bool future = false;
            if ((inf->mop_flags[mi] & (CHECKER_TXN_EXT | CHECKER_TXN_RMW)) ==
                (CHECKER_TXN_EXT | CHECKER_TXN_RMW)) {
                if (m->rkind == CHECKER_TXN_RLIST) {
                    for (uint32_t e = 0; e < m->len; e++) {
                        uint32_t w = inf->elem_w[(size_t)m->value + e];
                        if (w != NONE && inf->mop_txn[w] == t)
                            future = true;
                    }
                } else if (last != NONE && inf->mop_txn[last] == t)
                    future = true;
            }
            if (future) {
                inf->mop_flags[mi] |= CHECKER_TXN_BADINT;
                if ((rc = report(c, CHECKER_TXN_INTERNAL, t, NONE, mi, NONE, 0)) < 0)
                    goto out;
            }
            if (garbage && (rc = report(c, CHECKER_TXN_GARBAGE, t, NONE, mi, NONE, gv)) < 0)
                goto out;
            if (dupd && (rc = report(c, CHECKER_TXN_DUPLICATE, t, NONE, mi, NONE, dv)) < 0)
                goto out;
            if (aborted && (rc = report(c, CHECKER_TXN_G1A, t, inf->mop_txn[aw], mi, aw, av)) < 0)
                goto out;
            if (last != NONE && inf->mop_txn[last] != t &&
                !(inf->mop_flags[last] & CHECKER_TXN_FINAL) &&
                h->txns[inf->mop_txn[last]].type != CHECKER_TXN_FAIL &&
                (rc = report(c, CHECKER_TXN_G1B, t, inf->mop_txn[last], mi, last,
                             h->mops[last].value)) < 0)
                goto out;
        }
    }
    for (uint32_t t = 0; t < h->n_txns; t++) {
        const struct checker_txn *tx = &h->txns[t];
        bool seen = tx->type == CHECKER_TXN_OK;
        if (tx->type == CHECKER_TXN_INFO)
            for (uint32_t mi = tx->mop; mi < tx->mop + tx->n_mops; mi++)
                if (inf->mop_flags[mi] & CHECKER_TXN_OBSERVED)
                    seen = true;
        inf->committed[t] = seen;
    }
out:
    fl_free(dup);
    fl_free(cache);
    return rc;
}

/* ==== Grouping by key ==== */

/* Counting sort of the micro-ops selected by `want` by key: off has
 * n_keys + 1 entries, ids the selected micro-ops. */
static int group_by_key(const struct ctx *c, bool (*want)(const struct ctx *, uint32_t),
                        uint32_t **off_out, uint32_t **ids_out, size_t *n_out)
{
    const struct checker_txn_history *h = c->h;
    uint32_t *off = fl_calloc((size_t)h->n_keys + 1, sizeof *off);
    if (!off)
        return FL_ENOMEM;
    size_t n = 0;
    for (uint32_t i = 0; i < h->n_mops; i++)
        if (want(c, i)) {
            off[h->mops[i].key + 1]++;
            n++;
        }
    for (uint32_t k = 0; k < h->n_keys; k++)
        off[k + 1] += off[k];
    uint32_t *ids = fl_malloc((n ? n : 1) * sizeof *ids);
    uint32_t *fill = fl_malloc(((size_t)h->n_keys + 1) * sizeof *fill);
    if (!ids || !fill) {
        fl_free(off);
        fl_free(ids);
        fl_free(fill);
        return FL_ENOMEM;
    }
    memcpy(fill, off, ((size_t)h->n_keys + 1) * sizeof *fill);
    for (uint32_t i = 0; i < h->n_mops; i++)
        if (want(c, i))
            ids[fill[h->mops[i].key]++] = i;
    fl_free(fill);
    *off_out = off;
    *ids_out = ids;
    *n_out = n;
    return 0;
}

/* An external read of an ok transaction, with a known value. */
static bool want_ext_read(const struct ctx *c, uint32_t i)
{
    const struct checker_txn_mop *m = &c->h->mops[i];
    uint8_t fl = c->inf->mop_flags[i];
    bool la = c->inf->workload == CHECKER_TXN_LIST_APPEND;
    return m->f == CHECKER_TXN_R && !(fl & CHECKER_TXN_BADINT) &&
           ((fl & CHECKER_TXN_EXT) || (la && (fl & CHECKER_TXN_FIRSTR))) &&
           m->rkind != CHECKER_TXN_RUNKNOWN &&
           c->h->txns[c->inf->mop_txn[i]].type == CHECKER_TXN_OK;
}

/* A write of a committed transaction. */
static bool want_committed_any(const struct ctx *c, uint32_t i)
{
    return c->h->mops[i].f != CHECKER_TXN_R && committed_txn(c, c->inf->mop_txn[i]);
}

/* A final write of a committed transaction (rw-register). */
static bool want_committed_write(const struct ctx *c, uint32_t i)
{
    const struct checker_txn_mop *m = &c->h->mops[i];
    return m->f != CHECKER_TXN_R && (c->inf->mop_flags[i] & CHECKER_TXN_FINAL) &&
           committed_txn(c, c->inf->mop_txn[i]);
}

/* ==== Lost updates ==== */

struct lu {
    uint64_t version; /* key << 32 | (writer + 1) */
    uint32_t txn, mop;
};

static int cmp_lu(const void *a, const void *b)
{
    const struct lu *x = a, *y = b;
    if (x->version != y->version)
        return x->version < y->version ? -1 : 1;
    return x->txn < y->txn ? -1 : x->txn > y->txn;
}

/* Two ok transactions that read the same version of a key and both wrote it. */
static int lost_updates(struct ctx *c, const uint32_t *roff, const uint32_t *rids)
{
    const struct checker_txn_history *h = c->h;
    size_t n = 0, cap = 0;
    struct lu *v = NULL;
    int rc = 0;
    for (uint32_t k = 0; k < h->n_keys; k++)
        for (uint32_t i = roff[k]; i < roff[k + 1]; i++) {
            uint32_t r = rids[i], t = c->inf->mop_txn[r];
            if ((c->inf->mop_flags[r] & (CHECKER_TXN_RMW | CHECKER_TXN_EXT)) !=
                (CHECKER_TXN_RMW | CHECKER_TXN_EXT))
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                struct lu *nv = fl_reallocarray(v, cap, sizeof *v);
                if (!nv) {
                    rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
                    goto out;
                }
                v = nv;
            }
            v[n++] = (struct lu){(uint64_t)k << 32 | (uint32_t)(c->inf->read_w[r] + 1), t, r};
        }
    if (n)
        qsort(v, n, sizeof *v, cmp_lu);
    for (size_t i = 0; i + 1 < n;) {
        size_t j = i + 1;
        while (j < n && v[j].version == v[i].version)
            j++;
        if (j - i >= 2 && (rc = report(c, CHECKER_TXN_LOST_UPDATE, v[i].txn, v[i + 1].txn, v[i].mop,
                                       v[i + 1].mop, 0)) < 0)
            goto out;
        i = j;
    }
out:
    fl_free(v);
    return rc;
}

/* ==== list-append ==== */

static int infer_append(struct ctx *c)
{
    const struct checker_txn_history *h = c->h;
    struct checker_txn_infer *inf = c->inf;
    uint32_t *roff = NULL, *rids = NULL, *aoff = NULL, *aids = NULL, *order = NULL;
    uint32_t *unobs = NULL, *in_order = NULL, *ncommitted = NULL;
    size_t nr, na, order_cap = 0;
    int rc;
    if ((rc = group_by_key(c, want_ext_read, &roff, &rids, &nr)) < 0 ||
        (rc = group_by_key(c, want_committed_any, &aoff, &aids, &na)) < 0 ||
        !(unobs = fl_malloc((na ? na : 1) * sizeof *unobs)) ||
        !(in_order = fl_calloc(h->n_mops ? h->n_mops : 1, sizeof *in_order))) {
        rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t k = 0; k < h->n_keys; k++) {
        /* the longest read gives the order */
        uint32_t longest = NONE, llen = 0;
        for (uint32_t i = roff[k]; i < roff[k + 1]; i++) {
            uint32_t len = inf->rlen[rids[i]];
            if (longest == NONE || len > llen) {
                longest = rids[i];
                llen = len;
            }
        }
        bool bad = false;
        const struct checker_txn_mop *L = longest == NONE ? NULL : &h->mops[longest];
        for (uint32_t i = roff[k]; i < roff[k + 1] && L; i++) {
            const struct checker_txn_mop *m = &h->mops[rids[i]];
            uint32_t len = inf->rlen[rids[i]];
            const int64_t *re = h->elems + m->value, *le = h->elems + L->value;
            for (uint32_t e = 0; e < len; e++)
                if (re[e] != le[e]) { /* values are unique per key: equal values, one writer */
                    if (!bad && (rc = report(c, CHECKER_TXN_INCOMPATIBLE, inf->mop_txn[rids[i]],
                                             inf->mop_txn[longest], rids[i], longest, 0)) < 0)
                        goto out;
                    bad = true;
                    break;
                }
        }
        /* the committed writers along the order, each value once; ncommitted[e]:
         * how many of the first e values of the order are committed writes */
        size_t n_order = 0;
        if (llen + 1 > order_cap) {
            order_cap = llen + 1;
            uint32_t *no = fl_reallocarray(order, order_cap, sizeof *order);
            uint32_t *nc = no ? fl_reallocarray(ncommitted, order_cap, sizeof *ncommitted) : NULL;
            if (no)
                order = no;
            if (!no || !nc) {
                rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
                goto out;
            }
            ncommitted = nc;
        }
        ncommitted[0] = 0;
        for (uint32_t e = 0; e < llen; e++) {
            uint32_t w = inf->elem_w[(size_t)L->value + e];
            ncommitted[e + 1] = (uint32_t)n_order;
            if (w == NONE || !committed_txn(c, inf->mop_txn[w]))
                continue;
            ncommitted[e + 1] = (uint32_t)n_order + 1;
            if (in_order[w] == k + 1) {
                bad = true; /* a duplicate: already reported */
                break;
            }
            in_order[w] = k + 1;
            inf->vpos[w] = (uint32_t)n_order;
            order[n_order++] = w;
        }
        /* committed appends no read of the order returned */
        uint32_t n_unobs = 0;
        for (uint32_t q = aoff[k]; q < aoff[k + 1]; q++)
            if (in_order[aids[q]] != k + 1)
                unobs[n_unobs++] = aids[q];
        if (n_unobs > 1)
            incomplete(inf,
                       "key %s: %u committed appends no read returned (their order is unknown)",
                       checker_txn_key_name(h, k), n_unobs);
        if (bad) {
            incomplete(inf, "key %s: its reads disagree on its order", checker_txn_key_name(h, k));
            /* wr edges stay sound without an order */
            for (uint32_t i = roff[k]; i < roff[k + 1]; i++) {
                uint32_t r = rids[i], w = inf->read_w[r];
                if (w != NONE && committed_txn(c, inf->mop_txn[w]) &&
                    (rc = add_edge(c, inf->mop_txn[w], inf->mop_txn[r], CHECKER_TXN_WR, false)) < 0)
                    goto out;
            }
            continue;
        }
        /* ww along the order, and to the appends no read returned */
        for (size_t q = 0; q + 1 < n_order; q++)
            if ((rc = add_edge(c, inf->mop_txn[order[q]], inf->mop_txn[order[q + 1]],
                               CHECKER_TXN_WW, false)) < 0)
                goto out;
        if (n_order)
            for (uint32_t u = 0; u < n_unobs; u++)
                if ((rc = add_edge(c, inf->mop_txn[order[n_order - 1]], inf->mop_txn[unobs[u]],
                                   CHECKER_TXN_WW, false)) < 0)
                    goto out;
        /* position of each committed writer in the order, to find a read's successor */
        for (uint32_t i = roff[k]; i < roff[k + 1]; i++) {
            uint32_t r = rids[i], rt = inf->mop_txn[r];
            uint32_t len = inf->rlen[rids[i]];
            uint32_t w = inf->read_w[r];
            if (w != NONE && committed_txn(c, inf->mop_txn[w]) &&
                (rc = add_edge(c, inf->mop_txn[w], rt, CHECKER_TXN_WR, false)) < 0)
                goto out;
            /* the read is a prefix of the order: the next committed value is its successor */
            size_t seen = ncommitted[len];
            if (seen < n_order) {
                if ((rc = add_edge(c, rt, inf->mop_txn[order[seen]], CHECKER_TXN_RW, false)) < 0)
                    goto out;
            } else
                for (uint32_t u = 0; u < n_unobs; u++)
                    if ((rc = add_edge(c, rt, inf->mop_txn[unobs[u]], CHECKER_TXN_RW, true)) < 0)
                        goto out;
        }
    }
    rc = lost_updates(c, roff, rids);
out:
    fl_free(roff);
    fl_free(rids);
    fl_free(aoff);
    fl_free(aids);
    fl_free(unobs);
    fl_free(in_order);
    fl_free(ncommitted);
    fl_free(order);
    return rc;
}

/* ==== rw-register ==== */

static int infer_register(struct ctx *c)
{
    const struct checker_txn_history *h = c->h;
    struct checker_txn_infer *inf = c->inf;
    uint32_t *roff = NULL, *rids = NULL, *woff = NULL, *wids = NULL;
    size_t nr, nw;
    int rc;
    if ((rc = group_by_key(c, want_ext_read, &roff, &rids, &nr)) < 0 ||
        (rc = group_by_key(c, want_committed_write, &woff, &wids, &nw)) < 0) {
        rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t k = 0; k < h->n_keys; k++) {
        if (woff[k + 1] - woff[k] > 1)
            incomplete(inf, "key %s: %u committed writes (rw-register cannot observe their order)",
                       checker_txn_key_name(h, k), woff[k + 1] - woff[k]);
        for (uint32_t i = roff[k]; i < roff[k + 1]; i++) {
            uint32_t r = rids[i], rt = inf->mop_txn[r], w = inf->read_w[r];
            const struct checker_txn_mop *m = &h->mops[r];
            if (w != NONE && committed_txn(c, inf->mop_txn[w]) &&
                (rc = add_edge(c, inf->mop_txn[w], rt, CHECKER_TXN_WR, false)) < 0)
                goto out;
            if (m->rkind == CHECKER_TXN_RNIL)
                for (uint32_t q = woff[k]; q < woff[k + 1]; q++)
                    if ((rc = add_edge(c, rt, inf->mop_txn[wids[q]], CHECKER_TXN_RW, true)) < 0)
                        goto out;
        }
    }
    rc = lost_updates(c, roff, rids);
out:
    fl_free(roff);
    fl_free(rids);
    fl_free(woff);
    fl_free(wids);
    return rc;
}

/* ==== Process and realtime ==== */

struct proc_last {
    int64_t p;
    uint32_t last; /* NONE - 1: empty slot */
};

static int session_edges(struct ctx *c)
{
    const struct checker_txn_history *h = c->h;
    struct checker_txn_infer *inf = c->inf;
    int rc = 0;
    /* ok transactions by completion: the order the loader saw them in */
    const uint32_t *by_end = h->ok_order;
    size_t n_ok = h->n_ok_order;
    uint32_t *prev = fl_malloc((h->n_txns ? h->n_txns : 1) * sizeof *prev);
    uint32_t *frontier = NULL;
    size_t nf = 0, capf = 0;
    if (!prev) {
        rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    /* the previous committed transaction of each one's process: transactions
     * are in invocation order and a process runs one at a time */
    {
        struct proc_last *tab = NULL;
        size_t nslots = 256, used = 0;
        tab = fl_malloc(nslots * sizeof *tab);
        if (!tab) {
            rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < nslots; i++)
            tab[i].last = NONE - 1;
        for (uint32_t t = 0; t < h->n_txns; t++)
            prev[t] = NONE;
        for (uint32_t t = 0; t < h->n_txns; t++) {
            if (!inf->committed[t])
                continue;
            if ((used + 1) * 2 > nslots) {
                /* grow: rehash the processes seen so far */
                size_t n2 = nslots * 2;
                struct proc_last *t2 = fl_malloc(n2 * sizeof *t2);
                if (!t2) {
                    fl_free(tab);
                    rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
                    goto out;
                }
                for (size_t i = 0; i < n2; i++)
                    t2[i].last = NONE - 1;
                for (size_t i = 0; i < nslots; i++) {
                    if (tab[i].last == NONE - 1)
                        continue;
                    size_t j =
                        (size_t)((uint64_t)tab[i].p * 0x9e3779b97f4a7c15ull >> 17) & (n2 - 1);
                    while (t2[j].last != NONE - 1)
                        j = (j + 1) & (n2 - 1);
                    t2[j] = tab[i];
                }
                fl_free(tab);
                tab = t2;
                nslots = n2;
            }
            size_t i =
                (size_t)((uint64_t)h->txns[t].process * 0x9e3779b97f4a7c15ull >> 17) & (nslots - 1);
            while (tab[i].last != NONE - 1 && tab[i].p != h->txns[t].process)
                i = (i + 1) & (nslots - 1);
            if (tab[i].last == NONE - 1) {
                tab[i].p = h->txns[t].process;
                tab[i].last = NONE;
                used++;
            }
            prev[t] = tab[i].last;
            tab[i].last = t;
        }
        fl_free(tab);
    }
    /* walk invocations (txn order) and completions (by_end) in event order */
    size_t ci = 0;
    for (uint32_t t = 0; t < h->n_txns; t++) {
        const struct checker_txn *tx = &h->txns[t];
        while (ci < n_ok && h->txns[by_end[ci]].end_pos < tx->inv_pos) {
            uint32_t d = by_end[ci++];
            if (!inf->committed[d])
                continue;
            /* d covers every frontier member that completed before d began */
            size_t w = 0;
            for (size_t q = 0; q < nf; q++)
                if (h->txns[frontier[q]].end_pos >= h->txns[d].inv_pos)
                    frontier[w++] = frontier[q];
            nf = w;
            if (nf == capf) {
                capf = capf ? capf * 2 : 64;
                uint32_t *nfr = fl_reallocarray(frontier, capf, sizeof *frontier);
                if (!nfr) {
                    rc = fl_errorf(c->errmsg, FL_ENOMEM, "out of memory");
                    goto out;
                }
                frontier = nfr;
            }
            frontier[nf++] = d;
        }
        if (!inf->committed[t])
            continue;
        bool proc_done = prev[t] == NONE;
        for (size_t q = 0; q < nf; q++) {
            uint8_t type = CHECKER_TXN_REALTIME;
            if (frontier[q] == prev[t]) {
                type |= CHECKER_TXN_PROCESS;
                proc_done = true;
            }
            if ((rc = add_edge(c, frontier[q], t, type, false)) < 0)
                goto out;
        }
        if (!proc_done && (rc = add_edge(c, prev[t], t, CHECKER_TXN_PROCESS, false)) < 0)
            goto out;
    }
out:
    fl_free(prev);
    fl_free(frontier);
    return rc;
}

/* ==== Entry ==== */

int checker_txn_infer(const struct checker_txn_history *h, enum checker_txn_workload w,
                      struct checker_txn_infer *inf, struct checker_txn_graph *g,
                      struct checker_txn_found *found, size_t max_edges, char *errmsg)
{
    struct ctx c = {
        .h = h, .inf = inf, .g = g, .found = found, .max_edges = max_edges, .errmsg = errmsg};
    int rc;
    memset(inf, 0, sizeof *inf);
    inf->workload = w;
    inf->orders_complete = true;
    size_t nm = h->n_mops ? h->n_mops : 1;
    inf->mop_txn = fl_malloc(nm * sizeof *inf->mop_txn);
    inf->mop_flags = fl_calloc(nm, 1);
    inf->read_w = fl_malloc(nm * sizeof *inf->read_w);
    inf->committed = fl_calloc(h->n_txns ? h->n_txns : 1, 1);
    inf->vpos = fl_malloc(nm * sizeof *inf->vpos);
    inf->rlen = fl_calloc(nm, sizeof *inf->rlen);
    if (w == CHECKER_TXN_LIST_APPEND)
        inf->elem_w = fl_malloc((h->n_elems ? h->n_elems : 1) * sizeof *inf->elem_w);
    if (!inf->mop_txn || !inf->mop_flags || !inf->read_w || !inf->committed || !inf->vpos ||
        !inf->rlen || (w == CHECKER_TXN_LIST_APPEND && !inf->elem_w))
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    memset(inf->read_w, 0xff, nm * sizeof *inf->read_w);
    memset(inf->vpos, 0xff, nm * sizeof *inf->vpos);
    bool timing = getenv("FL_TXN_TIMING") != NULL;
    int64_t t0 = checker_txn_now_ns();
#define LAP(name)                                                                                  \
    if (timing)                                                                                    \
    fprintf(stderr, "  %s %.3f\n", name, (double)(checker_txn_now_ns() - t0) / 1e9)
    if ((rc = scan_txns(&c)) < 0)
        goto out;
    LAP("scan");
    if ((rc = index_writes(&c)) < 0)
        goto out;
    LAP("index");
    if ((rc = resolve_reads(&c)) < 0)
        goto out;
    /* No more writer lookups: give the tables back before the edges take memory. */
    fl_free(c.wslots);
    fl_free(c.wtab);
    fl_free(c.kw);
    c.wslots = NULL;
    c.wtab = NULL;
    c.kw = NULL;
    LAP("resolve");
    rc = w == CHECKER_TXN_LIST_APPEND ? infer_append(&c) : infer_register(&c);
    if (rc < 0)
        goto out;
    LAP("edges");
    rc = session_edges(&c);
    LAP("session");
out:
    fl_free(c.wslots);
    fl_free(c.wtab);
    fl_free(c.kw);
    return rc;
}

void checker_txn_infer_free(struct checker_txn_infer *inf)
{
    fl_free(inf->mop_txn);
    fl_free(inf->mop_flags);
    fl_free(inf->elem_w);
    fl_free(inf->read_w);
    fl_free(inf->committed);
    fl_free(inf->vpos);
    fl_free(inf->rlen);
    memset(inf, 0, sizeof *inf);
}
