/* unique.c - registers with unique written values, decided without search.
 *
 * Why it is exact. With unique values every value v has at most one writer
 * W(v) (a write or a cas; the initial value a virtual writer before
 * everything), and the register never holds v again once overwritten. So in
 * any linearization the operations fall into runs: W(v), then the reads of
 * v, then the next writer. A cas from a to b must come right after the reads
 * of a (the register holds a just before it), so it glues a's run to b's:
 * call a maximal sequence of runs glued by cas a chain. Its order inside is
 * forced (writer, reads of its value, cas, reads of the next value, ...),
 * and chains cannot interleave, so a linearization is an order of chains.
 *
 * 1. Indeterminate operations: one that does not take effect constrains
 *    nothing, so it is left out unless something observes its value (an ok
 *    read or cas of it, or a cas left in for that reason): then it must take
 *    effect, with no completion (ret = never). A crashed write nobody read is
 *    thus linearized "never", which is as good as at the end.
 * 2. Observed values must have a writer (or be the initial value), and no
 *    value may be taken by two cas operations (the first one overwrites it
 *    for good). A cas whose chain does not start at a write or at the
 *    initial value (cas a->b, cas b->a) can never take effect.
 * 3. Inside a chain the forced order must agree with real time: no operation
 *    may complete before an operation forced earlier was invoked.
 * 4. Between chains: chain S must precede chain T when some operation of S
 *    completed before some operation of T was invoked, i.e. when
 *    f(S) < s(T) with f the earliest completion and s the latest invocation
 *    in a chain. Any order of chains consistent with this relation works
 *    (within each chain the forced order is fine by 3), so the history is
 *    linearizable iff the relation between distinct chains is acyclic. A
 *    cycle implies a 2-cycle: let A in the cycle have the least f; its
 *    predecessor P has an edge in, so s(P) > f(X) >= f(A) for some X, so
 *    A -> P as well. So the test is: no two chains with f(S) < s(T) and
 *    f(T) < s(S), found in O(n log n) by sorting chains by f. The initial
 *    value's chain has f = -infinity, so it precedes every other chain. */
#include "checker/unique.h"

#include "common/alloc.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

#define NONE      SIZE_MAX
#define POS_BEGIN INT64_MIN /* the initial value's virtual writer: call = ret */

/* ==== Value -> writer map ==== */

struct vmap {
    int64_t *keys;
    size_t *vals;
    size_t cap;
};

static uint64_t vhash(int64_t v)
{
    uint64_t h = (uint64_t)v * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 31);
}

/* The slot of v: its writer, or NONE. */
static size_t *vmap_slot(struct vmap *m, int64_t v)
{
    size_t j = vhash(v) & (m->cap - 1);
    while (m->vals[j] != NONE && m->keys[j] != v)
        j = (j + 1) & (m->cap - 1);
    m->keys[j] = v;
    return &m->vals[j];
}

static size_t vmap_get(const struct vmap *m, int64_t v)
{
    size_t j = vhash(v) & (m->cap - 1);
    while (m->vals[j] != NONE) {
        if (m->keys[j] == v)
            return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return NONE;
}

/* ==== Chains ==== */

struct chain {
    int64_t f, s;  /* earliest completion, latest invocation */
    size_t fop, sop; /* operations attaining them (NONE: the virtual writer) */
};

static int cmp_chain_f(const void *x, const void *y, void *ctx)
{
    const struct chain *c = ctx;
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    if (c[a].f != c[b].f)
        return c[a].f < c[b].f ? -1 : 1;
    return (a > b) - (a < b);
}

struct walk {
    int64_t pm;   /* latest invocation among operations forced earlier */
    size_t pm_op; /* the operation attaining it */
    struct chain *c;
    bool first; /* no member taken yet */
};

/* Takes operation i (position call..ret; i NONE for the virtual writer) as
 * the next group member: checks it against the groups before it. The
 * invocation joins w->pm only when the group closes (group_end). */
static bool walk_check(struct walk *w, const struct checker_op *ops, size_t i,
                       struct checker_unique_why *why)
{
    int64_t call = i == NONE ? POS_BEGIN : ops[i].call, ret = i == NONE ? POS_BEGIN : ops[i].ret;
    if (i != NONE && ret < w->pm) {
        why->op = i;
        why->other = w->pm_op;
        why->rule = "it completed before an operation that must precede it was invoked";
        return false;
    }
    if (w->first || ret < w->c->f) {
        w->c->f = ret;
        w->c->fop = i;
    }
    if (w->first || call > w->c->s) {
        w->c->s = call;
        w->c->sop = i;
    }
    w->first = false;
    return true;
}

static void group_end(struct walk *w, const struct checker_op *ops, const size_t *members,
                      size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = members[k];
        int64_t call = i == NONE ? POS_BEGIN : ops[i].call;
        if (call > w->pm) {
            w->pm = call;
            w->pm_op = i;
        }
    }
}

int checker_unique_check(const struct checker_op *ops, size_t n, int64_t initial,
                         enum checker_unique_outcome *out, struct checker_unique_why *why)
{
    struct vmap map = {0};
    size_t *taken = NULL, *rd_start = NULL, *rd = NULL, *work = NULL, *order = NULL;
    size_t *best1 = NULL, *best2 = NULL;
    bool *incl = NULL, *visited = NULL;
    struct chain *chains = NULL;
    size_t n_chains = 0;
    int rc = 0;

    why->op = why->other = NONE;
    why->rule = NULL;
    *out = CHECKER_UNIQUE_INELIGIBLE;
    for (size_t i = 0; i < n; i++)
        if (ops[i].f != CHECKER_REG_READ && ops[i].f != CHECKER_REG_WRITE &&
            ops[i].f != CHECKER_REG_CAS)
            return 0; /* appends build values from values: not unique writes */

    map.cap = 16;
    while (map.cap < 2 * n + 2)
        map.cap *= 2;
    map.keys = fl_calloc(map.cap, sizeof *map.keys);
    map.vals = fl_malloc(map.cap * sizeof *map.vals);
    /* Value ids: 0 is the initial value, i + 1 the value operation i writes. */
    taken = fl_malloc((n + 1) * sizeof *taken);  /* value id -> the cas taking it */
    rd_start = fl_calloc(n + 3, sizeof *rd_start); /* value id -> its reads (CSR) */
    rd = fl_malloc((n + 1) * sizeof *rd);
    work = fl_malloc((n + 1) * sizeof *work);
    incl = fl_calloc(n + 1, sizeof *incl);
    visited = fl_calloc(n + 1, sizeof *visited);
    chains = fl_calloc(n + 1, sizeof *chains);
    if (!map.keys || !map.vals || !taken || !rd_start || !rd || !work || !incl || !visited ||
        !chains) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (size_t j = 0; j < map.cap; j++)
        map.vals[j] = NONE;

    /* Writers; a value written twice (or the initial value written) does not qualify. */
    for (size_t i = 0; i < n; i++) {
        if (ops[i].f == CHECKER_REG_READ)
            continue;
        int64_t v = ops[i].f == CHECKER_REG_WRITE ? ops[i].a : ops[i].b;
        if (v == initial)
            goto out;
        size_t *slot = vmap_slot(&map, v);
        if (*slot != NONE)
            goto out;
        *slot = i;
    }
    *out = CHECKER_UNIQUE_INVALID;

    /* 1, 2: what must take effect. An operation observes a value when it is
     * an ok read or a cas that takes effect; the value's writer must then
     * take effect too (work list of operations whose observed value is
     * still to be followed). */
    size_t nw = 0;
    for (size_t i = 0; i < n; i++) {
        if (ops[i].crashed)
            continue;
        incl[i] = true;
        if (ops[i].f != CHECKER_REG_WRITE)
            work[nw++] = i;
    }
    while (nw > 0) {
        size_t i = work[--nw];
        int64_t v = ops[i].a;
        if (v == initial)
            continue;
        size_t w = vmap_get(&map, v);
        if (w == NONE) {
            why->op = i;
            why->rule = "no operation wrote the value it observed";
            goto out;
        }
        if (!incl[w]) {
            incl[w] = true;
            if (ops[w].f == CHECKER_REG_CAS)
                work[nw++] = w;
        }
    }

    /* 2: each value taken by at most one cas; reads grouped by value id. */
    for (size_t id = 0; id <= n; id++)
        taken[id] = NONE;
    for (size_t i = 0; i < n; i++) {
        if (!incl[i] || ops[i].f == CHECKER_REG_WRITE)
            continue;
        size_t id = ops[i].a == initial ? 0 : vmap_get(&map, ops[i].a) + 1;
        if (ops[i].f == CHECKER_REG_READ) {
            rd_start[id + 2]++;
            continue;
        }
        if (taken[id] != NONE) {
            why->op = i;
            why->other = taken[id];
            why->rule = "another cas already replaced the value it expects, which is never "
                        "written again";
            goto out;
        }
        taken[id] = i;
    }
    for (size_t id = 0; id <= n; id++)
        rd_start[id + 2] += rd_start[id + 1];
    for (size_t i = 0; i < n; i++) {
        if (!incl[i] || ops[i].f != CHECKER_REG_READ)
            continue;
        size_t id = ops[i].a == initial ? 0 : vmap_get(&map, ops[i].a) + 1;
        rd[rd_start[id + 1]++] = i;
    }
    /* Now reads of value id are rd[rd_start[id] .. rd_start[id + 1]). */

    /* 3: walk each chain from its root (the initial value, or a write). */
    for (size_t r = 0; r <= n; r++) {
        size_t root_op = r == 0 ? NONE : r - 1;
        if (r > 0 && (!incl[root_op] || ops[root_op].f != CHECKER_REG_WRITE))
            continue;
        struct chain *c = &chains[n_chains++];
        struct walk w = {.pm = INT64_MIN, .pm_op = NONE, .c = c, .first = true};
        size_t id = r, writer = root_op;
        for (;;) {
            visited[id] = true;
            if (!walk_check(&w, ops, writer, why))
                goto out;
            group_end(&w, ops, &writer, 1);
            size_t lo = rd_start[id], hi = rd_start[id + 1];
            for (size_t k = lo; k < hi; k++)
                if (!walk_check(&w, ops, rd[k], why))
                    goto out;
            group_end(&w, ops, rd + lo, hi - lo);
            if (taken[id] == NONE)
                break;
            writer = taken[id];
            id = writer + 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (incl[i] && ops[i].f == CHECKER_REG_CAS && !visited[i + 1]) {
            why->op = i;
            why->rule = "the value it expects is written only by operations that need its own "
                        "value first";
            goto out;
        }
    }

    /* 4: no two chains that must each precede the other. Sorted by f, the
     * chains with f(S) < s(T) are a prefix; keep the two largest s of each
     * prefix (from different chains) to leave T itself out. */
    order = fl_malloc((n_chains + 1) * sizeof *order);
    best1 = fl_malloc((n_chains + 1) * sizeof *best1);
    best2 = fl_malloc((n_chains + 1) * sizeof *best2);
    if (!order || !best1 || !best2) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < n_chains; k++)
        order[k] = k;
    qsort_r(order, n_chains, sizeof *order, cmp_chain_f, chains);
    /* best1[k], best2[k]: the chains with the largest s among order[0..k). */
    best1[0] = best2[0] = NONE;
    for (size_t k = 0; k < n_chains; k++) {
        size_t b1 = best1[k], b2 = best2[k], c = order[k];
        if (b1 == NONE || chains[c].s > chains[b1].s) {
            b2 = b1;
            b1 = c;
        } else if (b2 == NONE || chains[c].s > chains[b2].s) {
            b2 = c;
        }
        best1[k + 1] = b1;
        best2[k + 1] = b2;
    }
    for (size_t t = 0; t < n_chains; t++) {
        /* Chains with f < s(t): the first `lo` in order. */
        size_t lo = 0, hi = n_chains;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (chains[order[mid]].f < chains[t].s)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t b = best1[lo] == t ? best2[lo] : best1[lo];
        if (b != NONE && chains[b].s > chains[t].f) {
            /* b's fop completed before t's sop was invoked, and t's fop
             * completed before b's sop was invoked. */
            why->op = chains[t].sop != NONE ? chains[t].sop : chains[t].fop;
            why->other = chains[b].sop != NONE ? chains[b].sop : chains[b].fop;
            why->rule = "its run of values and another must each come before the other";
            goto out;
        }
    }
    *out = CHECKER_UNIQUE_VALID;
out:
    fl_free(map.keys);
    fl_free(map.vals);
    fl_free(taken);
    fl_free(rd_start);
    fl_free(rd);
    fl_free(work);
    fl_free(incl);
    fl_free(visited);
    fl_free(chains);
    fl_free(order);
    fl_free(best1);
    fl_free(best2);
    if (rc < 0)
        *out = CHECKER_UNIQUE_INELIGIBLE;
    return rc;
}
