/* model_counter.c - Jepsen's counter: integer adds and reads of the total.
 *
 * Operations (f, value):
 *   add   n   n an integer (negative allowed); a crashed add may or may not
 *             apply, which the search decides by linearizing it or not
 *   read  n   ok value is the total read; a crashed read constrains nothing
 *             and is dropped, as is a nil read when nil_read_any is set
 * The state handle is the total itself. The initial total is 0, or
 * config.initial when it is an integer. An add that would overflow int64 is
 * illegal (no real counter reaches it). */
#include "checker/model.h"

#include "common/error.h"

#include <string.h>

enum { CTR_ADD, CTR_READ };

struct ctr {
    int64_t initial;
};

static int ctr_create(struct checker_model *m, char *errmsg)
{
    struct ctr *c = m->impl;
    const json_t *init = m->config.initial;
    if (!init || json_is_null(init))
        c->initial = 0;
    else if (json_is_integer(init))
        c->initial = json_integer_value(init);
    else
        return fl_errorf(errmsg, FL_ESHAPE, "initial: the counter model expects an integer");
    return 0;
}

static int ctr_prepare(struct checker_model *m, const struct checker_hop *hop,
                       struct checker_op *op, char *errmsg)
{
    bool crashed = op->crashed || hop->status == FL_EVENT_INFO;
    const json_t *v = hop->value;
    if (strcmp(hop->f, "add") == 0) {
        op->f = CTR_ADD;
        if (!json_is_integer(v))
            return fl_errorf(errmsg, FL_ESHAPE, "value: add expects an integer");
        op->a = json_integer_value(v);
        return 0;
    }
    if (strcmp(hop->f, "read") == 0) {
        op->f = CTR_READ;
        if (crashed || hop->value_unknown)
            return CHECKER_PREPARE_DROP; /* an unobserved read constrains nothing */
        if (json_is_null(v) && m->config.nil_read_any)
            return CHECKER_PREPARE_DROP;
        if (!json_is_integer(v))
            return fl_errorf(errmsg, FL_ESHAPE, "value: read expects an integer");
        op->a = json_integer_value(v);
        return 0;
    }
    return fl_errorf(errmsg, FL_ESHAPE,
                     "f: \"%s\" is not an operation of the counter model (add, read)", hop->f);
}

static uint64_t ctr_init(struct checker_model *m)
{
    return (uint64_t)((struct ctr *)m->impl)->initial;
}

static bool ctr_step(struct checker_model *m, uint64_t state, const struct checker_op *op,
                     uint64_t *next)
{
    (void)m;
    int64_t v = (int64_t)state, sum;
    if (op->f == CTR_READ) {
        *next = state;
        return v == op->a;
    }
    if (__builtin_add_overflow(v, op->a, &sum))
        return false;
    *next = (uint64_t)sum;
    return true;
}

static uint64_t ctr_hash(struct checker_model *m, uint64_t state)
{
    (void)m;
    return state;
}

static bool ctr_equal(struct checker_model *m, uint64_t a, uint64_t b)
{
    (void)m;
    return a == b;
}

static void ctr_describe_state(struct checker_model *m, uint64_t state, struct fl_buf *out)
{
    (void)m;
    fl_buf_printf(out, "%lld", (long long)(int64_t)state);
}

static void ctr_describe_op(struct checker_model *m, const struct checker_op *op,
                            struct fl_buf *out)
{
    (void)m;
    fl_buf_printf(out, "%s %lld", op->f == CTR_ADD ? "add" : "read", (long long)op->a);
}

static bool ctr_read_only(struct checker_model *m, const struct checker_op *op)
{
    (void)m;
    return op->f == CTR_READ;
}

const struct checker_model_ops checker_model_counter = {
    .name = "counter",
    .summary = "counter: add n (integer, may be negative), read n; starts at 0 or the initial "
               "integer",
    .impl_size = sizeof(struct ctr),
    .create = ctr_create,
    .prepare = ctr_prepare,
    .init = ctr_init,
    .step = ctr_step,
    .read_only = ctr_read_only,
    .hash = ctr_hash,
    .equal = ctr_equal,
    .describe_state = ctr_describe_state,
    .describe_op = ctr_describe_op,
};
