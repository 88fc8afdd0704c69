/* model_mutex.c - Knossos's mutex: acquire when free, release when held.
 *
 * Operations (f, value ignored):
 *   acquire   legal when the mutex is free; it becomes held
 *   release   legal when the mutex is held; it becomes free
 * As in Knossos there is no owner: any process may release a held mutex. The
 * state handle is 0 (free) or 1 (held); the mutex starts free. A crashed
 * acquire or release may or may not have happened, which the search decides. */
#include "checker/model.h"

#include "common/error.h"

#include <string.h>

enum { MTX_ACQUIRE, MTX_RELEASE };

static int mtx_prepare(struct checker_model *m, const struct checker_hop *hop,
                       struct checker_op *op, char *errmsg)
{
    (void)m;
    if (strcmp(hop->f, "acquire") == 0)
        op->f = MTX_ACQUIRE;
    else if (strcmp(hop->f, "release") == 0)
        op->f = MTX_RELEASE;
    else
        return fl_errorf(errmsg, FL_ESHAPE,
                         "f: \"%s\" is not an operation of the mutex model (acquire, release)",
                         hop->f);
    return 0;
}

static uint64_t mtx_init(struct checker_model *m)
{
    (void)m;
    return 0;
}

static bool mtx_step(struct checker_model *m, uint64_t state, const struct checker_op *op,
                     uint64_t *next)
{
    (void)m;
    if (op->f == MTX_ACQUIRE) {
        *next = 1;
        return state == 0;
    }
    *next = 0;
    return state == 1;
}

static uint64_t mtx_hash(struct checker_model *m, uint64_t state)
{
    (void)m;
    return state;
}

static bool mtx_equal(struct checker_model *m, uint64_t a, uint64_t b)
{
    (void)m;
    return a == b;
}

static void mtx_describe_state(struct checker_model *m, uint64_t state, struct fl_buf *out)
{
    (void)m;
    fl_buf_puts(out, state ? "held" : "free");
}

static void mtx_describe_op(struct checker_model *m, const struct checker_op *op,
                            struct fl_buf *out)
{
    (void)m;
    fl_buf_puts(out, op->f == MTX_ACQUIRE ? "acquire" : "release");
}

const struct checker_model_ops checker_model_mutex = {
    .name = "mutex",
    .summary = "mutex: acquire (legal when free), release (legal when held); no owners",
    .impl_size = 0,
    .prepare = mtx_prepare,
    .init = mtx_init,
    .step = mtx_step,
    .hash = mtx_hash,
    .equal = mtx_equal,
    .describe_state = mtx_describe_state,
    .describe_op = mtx_describe_op,
};
