/* model_queue.c - a FIFO queue (Knossos's fifo-queue).
 *
 * Operations (f, value):
 *   enqueue  x   x any JSON value (reduced to an atom)
 *   dequeue  x   ok value is the element dequeued: legal when x is at the
 *                head, and the head is removed. An ok dequeue of nil means
 *                the queue was found empty: legal only when it is empty.
 * A crashed dequeue's result is unknown, so it is treated as "any": it
 * removes the head when there is one and is a no-op on an empty queue (the
 * search decides whether it happened at all). The state is the queue's atoms
 * in FIFO order, interned per instance; the handle is its intern id. */
#include "checker/model.h"
#include "checker/model_seq.h"

#include "common/error.h"

#include <string.h>

enum { Q_ENQUEUE, Q_DEQUEUE };

struct queue {
    struct checker__seqtab states;
    struct checker__vec scratch;
    uint64_t empty;
};

static int q_create(struct checker_model *m, char *errmsg)
{
    struct queue *q = m->impl;
    if (!checker__seqtab_intern(m, &q->states, NULL, 0, &q->empty)) {
        checker__seqtab_free(&q->states);
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    }
    return 0;
}

static void q_destroy(struct checker_model *m)
{
    struct queue *q = m->impl;
    checker__seqtab_free(&q->states);
    checker__vec_free(&q->scratch);
}

static int q_prepare(struct checker_model *m, const struct checker_hop *hop, struct checker_op *op,
                     char *errmsg)
{
    bool crashed = op->crashed || hop->status == FL_EVENT_INFO;
    if (strcmp(hop->f, "enqueue") == 0)
        op->f = Q_ENQUEUE;
    else if (strcmp(hop->f, "dequeue") == 0)
        op->f = Q_DEQUEUE;
    else
        return fl_errorf(errmsg, FL_ESHAPE,
                         "f: \"%s\" is not an operation of the queue model (enqueue, dequeue)",
                         hop->f);
    op->b = 0;
    if (op->f == Q_DEQUEUE && !crashed && hop->value_unknown)
        return fl_errorf(errmsg, FL_ESHAPE,
                         "value: an ok dequeue with no value (what it took is not known)");
    if (op->f == Q_DEQUEUE && crashed) {
        op->a = CHECKER_NIL;
        op->b = 1; /* the element dequeued, if any, is unknown */
        return 0;
    }
    if (!checker_atom(m, hop->value, &op->a))
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    return 0;
}

static uint64_t q_init(struct checker_model *m)
{
    return ((struct queue *)m->impl)->empty;
}

static bool q_step(struct checker_model *m, uint64_t state, const struct checker_op *op,
                   uint64_t *next)
{
    struct queue *q = m->impl;
    size_t n;
    const int64_t *xs = checker__seqtab_get(&q->states, state, &n);
    if (op->f == Q_DEQUEUE) {
        if (n == 0) {
            *next = state;
            return op->b || op->a == CHECKER_NIL;
        }
        if (!op->b && op->a != xs[0])
            return false;
        /* Copy the tail out: interning may move the pool it lives in. */
        if (!checker__vec_reserve(m, &q->scratch, n)) {
            m->oom = true;
            return false;
        }
        memcpy(q->scratch.v, xs + 1, (n - 1) * sizeof *xs);
        if (!checker__seqtab_intern(m, &q->states, q->scratch.v, n - 1, next)) {
            m->oom = true;
            return false;
        }
        return true;
    }
    if (!checker__vec_reserve(m, &q->scratch, n + 1)) {
        m->oom = true;
        return false;
    }
    if (n)
        memcpy(q->scratch.v, xs, n * sizeof *xs);
    q->scratch.v[n] = op->a;
    if (!checker__seqtab_intern(m, &q->states, q->scratch.v, n + 1, next)) {
        m->oom = true;
        return false;
    }
    return true;
}

static uint64_t q_hash(struct checker_model *m, uint64_t state)
{
    (void)m;
    return state; /* handles are canonical */
}

static bool q_equal(struct checker_model *m, uint64_t a, uint64_t b)
{
    (void)m;
    return a == b;
}

static void q_describe_state(struct checker_model *m, uint64_t state, struct fl_buf *out)
{
    struct queue *q = m->impl;
    size_t n;
    const int64_t *xs = checker__seqtab_get(&q->states, state, &n);
    fl_buf_puts(out, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            fl_buf_puts(out, " ");
        checker_atom_describe(m, xs[i], out);
    }
    fl_buf_puts(out, "]");
}

static void q_describe_op(struct checker_model *m, const struct checker_op *op, struct fl_buf *out)
{
    fl_buf_puts(out, op->f == Q_ENQUEUE ? "enqueue " : "dequeue ");
    if (op->f == Q_DEQUEUE && op->b)
        fl_buf_puts(out, "?");
    else
        checker_atom_describe(m, op->a, out);
}

const struct checker_model_ops checker_model_queue = {
    .name = "queue",
    .summary = "FIFO queue: enqueue x, dequeue x (ok value the element; nil when empty)",
    .impl_size = sizeof(struct queue),
    .create = q_create,
    .destroy = q_destroy,
    .prepare = q_prepare,
    .init = q_init,
    .step = q_step,
    .hash = q_hash,
    .equal = q_equal,
    .describe_state = q_describe_state,
    .describe_op = q_describe_op,
};
