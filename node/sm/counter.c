/* counter.c - a 64-bit counter: add {value:n}, read. Adds are never released
 * (each contributes to the sum): a counter's log is compacted by snapshots. */
#include "node/sm/impl.h"

#include "common/alloc.h"
#include "common/error.h"

#include <string.h>

struct counter {
    int64_t value;
};

static int create(void **st)
{
    *st = fl_calloc(1, sizeof(struct counter));
    return *st ? 0 : FL_ENOMEM;
}

static void destroy(void *st)
{
    fl_free(st);
}

static bool is_read(const char *f)
{
    return strcmp(f, "read") == 0;
}

static bool is_read_only(const json_t *op)
{
    const json_t *f = json_is_object(op) ? json_object_get(op, "f") : NULL;
    return json_is_string(f) && is_read(json_string_value(f));
}

static json_t *read_result(const struct counter *c)
{
    return sm__ok_value(json_integer(c->value));
}

static int apply(void *st, const struct sm_ctx *ctx, uint64_t index, uint64_t session,
                 const json_t *op, json_t **result)
{
    (void)session;
    struct counter *c = st;
    json_t *res = NULL;
    bool oom = false, keep = false;
    const char *f = sm__op_f(op, &res, &oom);
    if (!f) {
        /* refused below */
    } else if (strcmp(f, "add") == 0) {
        const json_t *v = sm__op_value(op, &res, &oom);
        int64_t sum;
        if (!v) {
        } else if (!json_is_integer(v)) {
            res = sm__failf("bad_request", "value: expected an integer");
        } else if (__builtin_add_overflow(c->value, (int64_t)json_integer_value(v), &sum)) {
            res = sm__failf("overflow", "value: adding %lld to %lld overflows int64",
                            (long long)json_integer_value(v), (long long)c->value);
        } else if ((res = sm__ok())) {
            keep = json_integer_value(v) != 0;
            c->value = sum;
        }
    } else if (is_read(f)) {
        res = read_result(c);
    } else {
        res = sm__failf("bad_request", "f: \"%.64s\" is not a counter operation (add, read)", f);
    }
    if (!res)
        return FL_ENOMEM;
    if (!keep)
        sm__release(ctx, index);
    *result = res;
    return 0;
}

static int query(void *st, const json_t *op, json_t **result)
{
    if (!is_read_only(op))
        return FL_EUSAGE;
    *result = read_result(st);
    return *result ? 0 : FL_ENOMEM;
}

static int snapshot(void *st, struct fl_buf *out)
{
    const struct counter *c = st;
    json_t *root = json_pack("{s:s,s:I}", "sm", "counter", "value", (json_int_t)c->value);
    bool ok = root && sm__dump(root, out);
    json_decref(root);
    return ok ? 0 : FL_ENOMEM;
}

static int restore(void *st, const char *bytes, size_t len, char *errmsg)
{
    int rc = 0;
    json_t *root = sm__snapshot_parse(bytes, len, "counter", errmsg, &rc);
    if (!root)
        return rc;
    const json_t *v = json_object_get(root, "value");
    if (!json_is_integer(v))
        rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: value: expected an integer");
    else if (json_object_size(root) != 2)
        rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: unexpected fields (sm, value)");
    else
        ((struct counter *)st)->value = json_integer_value(v);
    json_decref(root);
    return rc;
}

const struct sm_type sm_counter = {
    .name = "counter",
    .summary = "add {value:int64}, read",
    .create = create,
    .destroy = destroy,
    .is_read_only = is_read_only,
    .apply = apply,
    .query = query,
    .snapshot = snapshot,
    .restore = restore,
    .session_closed = NULL, /* holds nothing per session */
};
