/* queue.c - a FIFO queue of JSON values: enqueue {value:x}, dequeue, read.
 * Each item remembers the index of its enqueue entry: a dequeue releases that
 * entry and itself, so the live log holds exactly the enqueues still queued. */
#include "node/sm/impl.h"

#include "common/alloc.h"
#include "common/error.h"

#include <string.h>

struct item {
    uint64_t index; /* the enqueue entry */
    json_t *value;  /* private deep copy */
};

struct queue {
    struct item *items; /* live items are items[head .. len) */
    size_t head, len, cap;
};

static int create(void **st)
{
    *st = fl_calloc(1, sizeof(struct queue));
    return *st ? 0 : FL_ENOMEM;
}

static void clear(struct queue *q)
{
    for (size_t i = q->head; i < q->len; i++)
        json_decref(q->items[i].value);
    fl_free(q->items);
    memset(q, 0, sizeof *q);
}

static void destroy(void *st)
{
    if (!st)
        return;
    clear(st);
    fl_free(st);
}

static bool is_read_only(const json_t *op)
{
    const json_t *f = json_is_object(op) ? json_object_get(op, "f") : NULL;
    return json_is_string(f) && strcmp(json_string_value(f), "read") == 0;
}

/* Makes room for one more item at the tail; false on OOM (nothing changed). */
static bool reserve(struct queue *q)
{
    if (q->len < q->cap)
        return true;
    if (q->head > 0 && q->head >= q->cap / 2) {
        memmove(q->items, q->items + q->head, (q->len - q->head) * sizeof *q->items);
        q->len -= q->head;
        q->head = 0;
        return true;
    }
    size_t cap = q->cap ? q->cap * 2 : 16;
    struct item *items = fl_reallocarray(q->items, cap, sizeof *items);
    if (!items)
        return false;
    q->items = items;
    q->cap = cap;
    return true;
}

/* Appends a copy of v; false on OOM (nothing changed). */
static bool push(struct queue *q, uint64_t index, const json_t *v)
{
    json_t *copy = json_deep_copy(v);
    if (!copy || !reserve(q)) {
        json_decref(copy);
        return false;
    }
    q->items[q->len++] = (struct item){index, copy};
    return true;
}

/* The items, head first (deep copies when `copy`); with `indices`, as
 * [index, value] pairs (the snapshot form). */
static json_t *items(const struct queue *q, bool copy, bool indices)
{
    json_t *arr = json_array();
    for (size_t i = q->head; arr && i < q->len; i++) {
        json_t *v = copy ? json_deep_copy(q->items[i].value) : json_incref(q->items[i].value);
        json_t *x = indices ? json_pack("[I,o]", (json_int_t)q->items[i].index, v) : v;
        if (json_array_append_new(arr, x) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr;
}

static int apply(void *st, const struct sm_ctx *ctx, uint64_t index, uint64_t session,
                 const json_t *op, json_t **result)
{
    (void)session;
    struct queue *q = st;
    json_t *res = NULL;
    bool oom = false, keep = false;
    const char *f = sm__op_f(op, &res, &oom);
    if (!f) {
    } else if (strcmp(f, "enqueue") == 0) {
        const json_t *v = sm__op_value(op, &res, &oom);
        if (v && (res = sm__ok())) {
            if (!push(q, index, v)) {
                json_decref(res);
                return FL_ENOMEM;
            }
            keep = true;
        }
    } else if (strcmp(f, "dequeue") == 0) {
        if (q->head == q->len) {
            res = sm__fail("empty");
        } else if ((res = sm__ok_value(json_incref(q->items[q->head].value)))) {
            /* The value moves from the queue to the result: no copy needed. */
            struct item it = q->items[q->head++];
            json_decref(it.value);
            if (q->head == q->len)
                q->head = q->len = 0;
            sm__release(ctx, it.index);
        }
    } else if (strcmp(f, "read") == 0) {
        res = sm__ok_value(items(q, true, false));
    } else {
        res = sm__failf("bad_request",
                        "f: \"%.64s\" is not a queue operation (enqueue, dequeue, read)", f);
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
    *result = sm__ok_value(items(st, true, false));
    return *result ? 0 : FL_ENOMEM;
}

static int snapshot(void *st, struct fl_buf *out)
{
    json_t *root = json_pack("{s:s,s:o}", "sm", "queue", "items", items(st, false, true));
    bool ok = root && sm__dump(root, out);
    json_decref(root);
    return ok ? 0 : FL_ENOMEM;
}

static int restore(void *st, const char *bytes, size_t len, char *errmsg)
{
    int rc = 0;
    json_t *root = sm__snapshot_parse(bytes, len, "queue", errmsg, &rc);
    if (!root)
        return rc;
    struct queue fresh = {0};
    const json_t *arr = json_object_get(root, "items");
    if (!json_is_array(arr) || json_object_size(root) != 2) {
        rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: items: expected an array");
        goto out;
    }
    uint64_t last = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *x = json_array_get(arr, i);
        uint64_t idx;
        if (!json_is_array(x) || json_array_size(x) != 2 ||
            !sm__index(json_array_get(x, 0), &idx)) {
            rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: items[%zu]: expected [index, value]", i);
            goto out;
        }
        if (idx <= last) {
            rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: items[%zu]: index not increasing", i);
            goto out;
        }
        last = idx;
        size_t n = sm__encoded_size(json_array_get(x, 1));
        if (n > SM_VALUE_MAX && n != SIZE_MAX) {
            rc = fl_errorf(errmsg, FL_ELIMIT, "snapshot: items[%zu]: %zu bytes, limit %d", i, n,
                           SM_VALUE_MAX);
            goto out;
        }
        if (!push(&fresh, idx, json_array_get(x, 1))) {
            rc = fl_errorf(errmsg, FL_ENOMEM, "snapshot: out of memory");
            goto out;
        }
    }
    clear(st);
    *(struct queue *)st = fresh;
    memset(&fresh, 0, sizeof fresh);
out:
    clear(&fresh);
    json_decref(root);
    return rc;
}

const struct sm_type sm_queue = {
    .name = "queue",
    .summary = "enqueue {value:any}, dequeue -> head, read -> array",
    .create = create,
    .destroy = destroy,
    .is_read_only = is_read_only,
    .apply = apply,
    .query = query,
    .snapshot = snapshot,
    .restore = restore,
    .session_closed = NULL, /* holds nothing per session */
};
