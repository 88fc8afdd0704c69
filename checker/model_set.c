/* model_set.c - a grow-only set: adds and full reads (Knossos's set model).
 *
 * Operations (f, value):
 *   add   x          x any JSON value (reduced to an atom)
 *   read  [x ...]    ok value is the whole set read; order is irrelevant
 * A read is legal when its elements are exactly the set's. A read that
 * returns an element twice is not a shape error: it is simply never legal
 * (a set holds each element once), so the search reports it. A crashed read
 * constrains nothing and is dropped; a nil read is dropped too when
 * nil_read_any is set. The state is the sorted array of the set's distinct
 * atoms, interned per instance; the handle is its intern id. */
#include "checker/model.h"
#include "checker/model_seq.h"

#include "common/edn.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

enum { SET_ADD, SET_READ };

struct set {
    struct checker__seqtab states;
    struct checker__arena args;
    struct checker__vec scratch;
    uint64_t empty;
};

static int set_create(struct checker_model *m, char *errmsg)
{
    struct set *s = m->impl;
    if (!checker__seqtab_intern(m, &s->states, NULL, 0, &s->empty)) {
        checker__seqtab_free(&s->states);
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    }
    return 0;
}

static void set_destroy(struct checker_model *m)
{
    struct set *s = m->impl;
    checker__seqtab_free(&s->states);
    checker__arena_free(&s->args);
    checker__vec_free(&s->scratch);
}

static int set_prepare(struct checker_model *m, const struct checker_hop *hop,
                       struct checker_op *op, char *errmsg)
{
    struct set *s = m->impl;
    bool crashed = op->crashed || hop->status == FL_EVENT_INFO;
    const json_t *v = hop->value;
    if (strcmp(hop->f, "add") == 0) {
        op->f = SET_ADD;
        if (!checker_atom(m, v, &op->a))
            return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        return 0;
    }
    if (strcmp(hop->f, "read") != 0)
        return fl_errorf(errmsg, FL_ESHAPE,
                         "f: \"%s\" is not an operation of the set model (add, read)", hop->f);
    op->f = SET_READ;
    if (crashed || hop->value_unknown)
        return CHECKER_PREPARE_DROP;
    if (json_is_null(v) && m->config.nil_read_any)
        return CHECKER_PREPARE_DROP;
    if (!json_is_array(v))
        return fl_errorf(errmsg, FL_ESHAPE, "value: read expects an array of the set's elements");
    size_t n = json_array_size(v);
    if (n > UINT32_MAX)
        return fl_errorf(errmsg, FL_ESHAPE, "value: read of too many elements");
    if (!checker__vec_reserve(m, &s->scratch, n))
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    size_t first = fl_edn_coll_first(v); /* an EDN set: past its marker */
    n -= first;
    for (size_t i = 0; i < n; i++)
        if (!checker_atom(m, json_array_get(v, first + i), &s->scratch.v[i]))
            return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    if (n)
        qsort(s->scratch.v, n, sizeof *s->scratch.v, checker__cmp_i64);
    op->xs = checker__arena_copy(m, &s->args, s->scratch.v, n);
    if (!op->xs)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    op->nxs = (uint32_t)n;
    return 0;
}

static uint64_t set_init(struct checker_model *m)
{
    return ((struct set *)m->impl)->empty;
}

/* Index of the first element >= x in xs[0..n). */
static size_t lower_bound(const int64_t *xs, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (xs[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool set_step(struct checker_model *m, uint64_t state, const struct checker_op *op,
                     uint64_t *next)
{
    struct set *s = m->impl;
    size_t n;
    const int64_t *xs = checker__seqtab_get(&s->states, state, &n);
    if (op->f == SET_READ) {
        *next = state;
        return op->nxs == n && (n == 0 || memcmp(op->xs, xs, n * sizeof *xs) == 0);
    }
    size_t at = lower_bound(xs, n, op->a);
    if (at < n && xs[at] == op->a) {
        *next = state; /* already present */
        return true;
    }
    if (!checker__vec_reserve(m, &s->scratch, n + 1)) {
        m->oom = true;
        return false;
    }
    int64_t *w = s->scratch.v;
    if (at)
        memcpy(w, xs, at * sizeof *w);
    w[at] = op->a;
    if (n > at)
        memcpy(w + at + 1, xs + at, (n - at) * sizeof *w);
    if (!checker__seqtab_intern(m, &s->states, w, n + 1, next)) {
        m->oom = true;
        return false;
    }
    return true;
}

static uint64_t set_hash(struct checker_model *m, uint64_t state)
{
    (void)m;
    return state; /* handles are canonical */
}

static bool set_equal(struct checker_model *m, uint64_t a, uint64_t b)
{
    (void)m;
    return a == b;
}

static void describe_atoms(struct checker_model *m, const int64_t *xs, size_t n, struct fl_buf *out)
{
    fl_buf_puts(out, "#{");
    for (size_t i = 0; i < n; i++) {
        if (i)
            fl_buf_puts(out, " ");
        checker_atom_describe(m, xs[i], out);
    }
    fl_buf_puts(out, "}");
}

static void set_describe_state(struct checker_model *m, uint64_t state, struct fl_buf *out)
{
    struct set *s = m->impl;
    size_t n;
    const int64_t *xs = checker__seqtab_get(&s->states, state, &n);
    describe_atoms(m, xs, n, out);
}

static void set_describe_op(struct checker_model *m, const struct checker_op *op,
                            struct fl_buf *out)
{
    if (op->f == SET_ADD) {
        fl_buf_puts(out, "add ");
        checker_atom_describe(m, op->a, out);
    } else {
        fl_buf_puts(out, "read ");
        describe_atoms(m, op->xs, op->nxs, out);
    }
}

static bool set_read_only(struct checker_model *m, const struct checker_op *op)
{
    (void)m;
    return op->f == SET_READ;
}

const struct checker_model_ops checker_model_set = {
    .name = "set",
    .summary = "set: add x (any JSON), read [x ...] (the whole set, any order)",
    .impl_size = sizeof(struct set),
    .create = set_create,
    .destroy = set_destroy,
    .prepare = set_prepare,
    .init = set_init,
    .step = set_step,
    .read_only = set_read_only,
    .hash = set_hash,
    .equal = set_equal,
    .describe_state = set_describe_state,
    .describe_op = set_describe_op,
};
