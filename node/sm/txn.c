/* txn.c - transactions over keys (list-append and rw-register, as Elle's
 * workloads): one txn op of micro-ops ["r", k, null], ["append", k, v],
 * ["w", k, v], applied all at once or not at all at the entry's position in
 * the log, its reads filled in from the state at that point (the txn's own
 * earlier writes included). A key holds any JSON value; append needs a list
 * (or an absent key, which starts one).
 *
 * Release rule: a txn that wrote something is never released (its effect on
 * a key may be built upon by later appends, and one entry touches several
 * keys): the log of this state machine is compacted by snapshots, as the
 * counter's. A txn that changed nothing (reads only, or refused) releases
 * itself. */
#include "node/sm/impl.h"

#include "common/alloc.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

struct txn_sm {
    json_t *keys; /* object: canonical encoding of a key -> its value */
};

static int create(void **st)
{
    struct txn_sm *t = fl_calloc(1, sizeof *t);
    if (!t)
        return FL_ENOMEM;
    if (!(t->keys = json_object())) {
        fl_free(t);
        return FL_ENOMEM;
    }
    *st = t;
    return 0;
}

static void destroy(void *st)
{
    struct txn_sm *t = st;
    if (!t)
        return;
    json_decref(t->keys);
    fl_free(t);
}

static bool is_read_only(const json_t *op)
{
    (void)op; /* every txn goes through the log: its reads are served at its position */
    return false;
}

/* Checks one micro-op's shape; NULL when usable, else the problem (the
 * caller names the micro-op). *large tells a size problem from a shape one. */
static const char *mop_problem(const json_t *m, bool *large)
{
    *large = false;
    if (!json_is_array(m) || json_array_size(m) != 3)
        return "expected [f, key, value]";
    const char *f = json_string_value(json_array_get(m, 0));
    if (!f || (strcmp(f, "r") && strcmp(f, "append") && strcmp(f, "w")))
        return "f: expected \"r\", \"append\" or \"w\"";
    const json_t *k = json_array_get(m, 1);
    if (!json_is_integer(k) && !json_is_string(k))
        return "key: expected a string or an integer";
    if (json_is_string(k) && json_string_length(k) > SM_KEY_MAX) {
        *large = true;
        return "key: longer than 256 bytes";
    }
    if (f[0] != 'r' && json_is_null(json_array_get(m, 2)))
        return "value: null is not a value to write";
    return NULL;
}

/* The value a micro-op sees for key text `kt`: the txn's own write first. */
static json_t *current(const struct txn_sm *t, const json_t *view, const char *kt)
{
    json_t *v = json_object_get(view, kt);
    return v ? v : json_object_get(t->keys, kt);
}

/* Runs the txn `op` against the state: *result as sm.h's Results, the value
 * being the micro-ops with reads filled in. With `commit`, its writes become
 * the state (all or none); without, the state is left as it was (a
 * preview). *wrote tells whether the state changed. */
static int eval(struct txn_sm *t, const json_t *op, bool commit, json_t **result, bool *wrote)
{
    json_t *res = NULL, *view = NULL, *out = NULL;
    bool oom = false;
    int rc = 0;
    *wrote = false;
    const char *f = sm__op_f(op, &res, &oom);
    const json_t *v = f ? sm__op_value(op, &res, &oom) : NULL;
    if (f && strcmp(f, "txn") != 0) {
        json_decref(res);
        res = sm__failf("bad_request", "f: \"%.64s\" is not a txn operation (txn)", f);
        goto done;
    }
    if (!v)
        goto done;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > SM_TXN_OPS_MAX) {
        res = sm__failf("bad_request", "value: expected an array of 1 to %d micro-ops",
                        SM_TXN_OPS_MAX);
        goto done;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        bool large;
        const char *p = mop_problem(json_array_get(v, i), &large);
        if (p) {
            res = sm__failf(large ? "too_large" : "bad_request", "value[%zu]: %s", i, p);
            goto done;
        }
    }
    if (!(view = json_object()) || !(out = json_array()))
        goto oom;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *m = json_array_get(v, i);
        const char *mf = json_string_value(json_array_get(m, 0));
        json_t *k = json_array_get(m, 1), *x = json_array_get(m, 2), *seen;
        size_t klen;
        char *kt = sm__encode(k, &klen);
        if (!kt)
            goto oom;
        json_t *cur = current(t, view, kt);
        if (mf[0] == 'r') {
            /* A copy: the list in the state may grow after the reply is built. */
            seen = cur && json_is_array(cur) ? json_copy(cur) : cur ? json_incref(cur) : json_null();
        } else if (mf[0] == 'w') {
            /* The state keeps its own copy of what the op wrote. */
            json_t *mine = json_deep_copy(x);
            seen = mine ? json_incref(x) : NULL;
            if (seen && json_object_set_new(view, kt, mine) != 0) {
                json_decref(seen);
                seen = NULL;
            }
        } else if (cur && !json_is_array(cur)) {
            fl_free(kt);
            res = sm__failf("type_mismatch", "value[%zu]: append to a key that holds no list", i);
            goto done;
        } else if (cur && json_array_size(cur) >= SM_TXN_LIST_MAX) {
            fl_free(kt);
            res = sm__failf("too_large", "value[%zu]: the list already holds %d elements", i,
                            SM_TXN_LIST_MAX);
            goto done;
        } else {
            /* The txn's own list: a shallow copy the first time, then grown in place. */
            json_t *own = json_object_get(view, kt);
            json_t *l = own ? json_incref(own) : cur ? json_copy(cur) : json_array();
            seen = json_incref(x);
            if (!l || !seen || json_array_append_new(l, json_deep_copy(x)) != 0 ||
                (!own && json_object_set(view, kt, l) != 0)) {
                json_decref(seen);
                seen = NULL;
            }
            json_decref(l);
        }
        fl_free(kt);
        if (!seen || json_array_append_new(out, json_pack("[O,O,o]", json_array_get(m, 0), k,
                                                          seen)) != 0)
            goto oom;
    }
    *wrote = json_object_size(view) > 0;
    if (commit && *wrote) {
        /* New keys first (inserting may allocate; undone on failure), then
         * replacements of present keys, which do not allocate. */
        const char *kt;
        json_t *x;
        json_object_foreach(view, kt, x)
        {
            if (json_object_get(t->keys, kt) || json_object_set(t->keys, kt, x) == 0)
                continue;
            json_object_foreach(view, kt, x)
            {
                if (json_object_get(t->keys, kt) == x)
                    json_object_del(t->keys, kt);
            }
            *wrote = false;
            goto oom;
        }
        json_object_foreach(view, kt, x)
        {
            json_object_set(t->keys, kt, x);
        }
    }
    res = sm__ok_value(out);
    out = NULL;
    if (!res)
        goto oom;
    goto done;
oom:
    json_decref(res);
    res = NULL;
    oom = true;
done:
    json_decref(view);
    json_decref(out);
    if (!res || oom) {
        json_decref(res);
        *wrote = false;
        return FL_ENOMEM;
    }
    if (json_is_false(json_object_get(res, "ok")))
        *wrote = false;
    *result = res;
    return rc;
}

static int apply(void *st, const struct sm_ctx *ctx, uint64_t index, uint64_t session,
                 const json_t *op, json_t **result)
{
    (void)session;
    bool wrote;
    int rc = eval(st, op, true, result, &wrote);
    if (rc != 0)
        return rc;
    if (!wrote)
        sm__release(ctx, index);
    return 0;
}

static int query(void *st, const json_t *op, json_t **result)
{
    (void)st;
    (void)op;
    (void)result;
    return FL_EUSAGE; /* no read-only ops (is_read_only) */
}

int sm_txn_preview(struct sm *sm, const json_t *op, json_t **result)
{
    if (sm->type != &sm_txn)
        return FL_EUSAGE;
    bool wrote;
    return eval(sm->st, op, false, result, &wrote);
}

static int snapshot(void *st, struct fl_buf *out)
{
    const struct txn_sm *t = st;
    json_t *root = json_pack("{s:s,s:O}", "sm", "txn", "keys", t->keys);
    bool ok = root && sm__dump(root, out);
    json_decref(root);
    return ok ? 0 : FL_ENOMEM;
}

static int restore(void *st, const char *bytes, size_t len, char *errmsg)
{
    int rc = 0;
    json_t *root = sm__snapshot_parse(bytes, len, "txn", errmsg, &rc);
    if (!root)
        return rc;
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_object(keys) || json_object_size(root) != 2) {
        rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: keys: expected an object (sm, keys)");
        goto out;
    }
    const char *kt;
    json_t *x;
    json_object_foreach(keys, kt, x)
    {
        /* Each name is the canonical encoding of a usable key. */
        json_t *k = json_loads(kt, JSON_DECODE_ANY, NULL);
        size_t n = 0;
        char *again = k && (json_is_integer(k) || (json_is_string(k) &&
                                                   json_string_length(k) <= SM_KEY_MAX))
                          ? sm__encode(k, &n)
                          : NULL;
        bool same = again && strcmp(again, kt) == 0;
        fl_free(again);
        json_decref(k);
        if (!same) {
            rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: keys: \"%.64s\": not a canonical key", kt);
            goto out;
        }
    }
    struct txn_sm *t = st;
    json_decref(t->keys);
    t->keys = json_incref(keys);
out:
    json_decref(root);
    return rc;
}

const struct sm_type sm_txn = {
    .name = "txn",
    .summary = "txn {value:[[\"r\"|\"append\"|\"w\", key, value], ...]} -> reads filled in",
    .create = create,
    .destroy = destroy,
    .is_read_only = is_read_only,
    .apply = apply,
    .query = query,
    .snapshot = snapshot,
    .restore = restore,
    .session_closed = NULL, /* holds nothing per session */
};
