/* model_test.h - helpers for model unit tests: drive a model through its
 * vtable the way the linearizability search does (create, prepare, step). */
#ifndef FL_MODEL_TEST_H
#define FL_MODEL_TEST_H

#include "checker/model.h"
#include "common/buf.h"
#include "common/error.h"

#include <criterion/criterion.h>
#include <stdbool.h>
#include <string.h>

struct model_test {
    struct checker_model m;
    char errmsg[FL_ERRMSG_SIZE];
    struct fl_buf text;
};

/* Creates model `name` with `initial` (borrowed; NULL for the default). */
static inline int mt_create(struct model_test *t, const char *name, json_t *initial,
                            bool nil_read_any)
{
    const struct checker_model_ops *ops = checker_model_find(name);
    cr_assert(ops, "model %s is registered", name);
    struct checker_model_config cfg = {.initial = initial, .nil_read_any = nil_read_any};
    memset(t->errmsg, 0, sizeof t->errmsg);
    fl_buf_init(&t->text);
    return checker_model_create(&t->m, ops, &cfg, t->errmsg);
}

static inline void mt_destroy(struct model_test *t)
{
    checker_model_destroy(&t->m);
    fl_buf_free(&t->text);
}

/* Prepares an operation (f, value) completed with `status`; `value` is
 * stolen (a new reference from json_pack, NULL for json null). */
static inline int mt_prepare(struct model_test *t, const char *f, json_t *value,
                             enum fl_event_type status, struct checker_op *op)
{
    struct checker_hop hop;
    memset(&hop, 0, sizeof hop);
    hop.f = f;
    hop.status = status;
    hop.value = value ? value : json_null();
    hop.invoke_value = hop.value;
    memset(op, 0, sizeof *op);
    op->crashed = status == FL_EVENT_INFO;
    int rc = t->m.ops->prepare(&t->m, &hop, op, t->errmsg);
    json_decref(hop.value);
    return rc;
}

/* Prepares an ok operation that must be accepted. */
static inline struct checker_op mt_ok(struct model_test *t, const char *f, json_t *value)
{
    struct checker_op op;
    int rc = mt_prepare(t, f, value, FL_EVENT_OK, &op);
    cr_assert_eq(rc, 0, "prepare %s: %d %s", f, rc, t->errmsg);
    return op;
}

/* Steps `op` from `state`; returns legality and stores the next state. */
static inline bool mt_step(struct model_test *t, uint64_t state, const struct checker_op *op,
                           uint64_t *next)
{
    *next = UINT64_MAX;
    return t->m.ops->step(&t->m, state, op, next);
}

/* Steps an op that must be legal and returns the next state. */
static inline uint64_t mt_must(struct model_test *t, uint64_t state, const struct checker_op *op)
{
    uint64_t next;
    cr_assert(mt_step(t, state, op, &next), "step is legal");
    cr_assert_not(t->m.oom);
    return next;
}

static inline const char *mt_state(struct model_test *t, uint64_t state)
{
    fl_buf_reset(&t->text);
    t->m.ops->describe_state(&t->m, state, &t->text);
    return fl_buf_cstr(&t->text);
}

static inline const char *mt_op(struct model_test *t, const struct checker_op *op)
{
    fl_buf_reset(&t->text);
    t->m.ops->describe_op(&t->m, op, &t->text);
    return fl_buf_cstr(&t->text);
}

#endif
