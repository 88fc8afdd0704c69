/* sm.c - the state machine registry, the instance handle, and the helpers the
 * state machines share: results, op parsing, canonical JSON, snapshots. */
#include "node/sm/impl.h"

#include "common/alloc.h"
#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ==== Registry and handle ==== */

static const struct sm_type *const all_types[] = {&sm_kv, &sm_counter, &sm_set, &sm_queue,
                                                 &sm_txn, NULL};

const struct sm_type *sm_type_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; all_types[i]; i++)
        if (strcmp(all_types[i]->name, name) == 0)
            return all_types[i];
    return NULL;
}

const struct sm_type *const *sm_type_all(void)
{
    return all_types;
}

int sm_open(struct sm *sm, const char *name, char *errmsg)
{
    memset(sm, 0, sizeof *sm);
    const struct sm_type *type = sm_type_find(name);
    if (!type)
        return fl_errorf(errmsg, FL_EUSAGE,
                         "state machine \"%s\" is unknown (kv, counter, set, queue, txn)",
                         name ? name : "(null)");
    int rc = type->create(&sm->st);
    if (rc < 0)
        return fl_errorf(errmsg, rc, "state machine %s: %s", name, fl_strerror(rc));
    sm->type = type;
    return 0;
}

void sm_close(struct sm *sm)
{
    if (sm->type)
        sm->type->destroy(sm->st);
    memset(sm, 0, sizeof *sm);
}

bool sm_is_read_only(const struct sm *sm, const json_t *op)
{
    return sm->type->is_read_only(op);
}

int sm_apply(struct sm *sm, const struct sm_ctx *ctx, uint64_t index, uint64_t session,
             const json_t *op, json_t **result)
{
    return sm->type->apply(sm->st, ctx, index, session, op, result);
}

int sm_query(struct sm *sm, const json_t *op, json_t **result)
{
    return sm->type->query(sm->st, op, result);
}

int sm_snapshot(struct sm *sm, struct fl_buf *out)
{
    return sm->type->snapshot(sm->st, out);
}

int sm_restore(struct sm *sm, const char *bytes, size_t len, char *errmsg)
{
    return sm->type->restore(sm->st, bytes, len, errmsg);
}

void sm_session_closed(struct sm *sm, const struct sm_ctx *ctx, uint64_t session)
{
    if (sm->type->session_closed != NULL)
        sm->type->session_closed(sm->st, ctx, session);
}

/* ==== Results ==== */

json_t *sm__ok(void)
{
    return json_pack("{s:b}", "ok", 1);
}

json_t *sm__ok_value(json_t *v)
{
    if (!v)
        return NULL;
    return json_pack("{s:b,s:o}", "ok", 1, "value", v);
}

json_t *sm__fail(const char *error)
{
    return json_pack("{s:b,s:s}", "ok", 0, "error", error);
}

json_t *sm__failf(const char *error, const char *fmt, ...)
{
    char msg[FL_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return json_pack("{s:b,s:s,s:s}", "ok", 0, "error", error, "message", msg);
}

/* ==== Ops ==== */

const char *sm__op_f(const json_t *op, json_t **result, bool *oom)
{
    const json_t *f = json_is_object(op) ? json_object_get(op, "f") : NULL;
    if (f && json_is_string(f))
        return json_string_value(f);
    if (!json_is_object(op))
        *result = sm__failf("bad_request", "op: expected an object");
    else if (!f)
        *result = sm__failf("bad_request", "f: missing");
    else
        *result = sm__failf("bad_request", "f: expected a string");
    *oom = *result == NULL;
    return NULL;
}

const json_t *sm__op_value(const json_t *op, json_t **result, bool *oom)
{
    const json_t *v = json_object_get(op, "value");
    if (!v) {
        *result = sm__failf("bad_request", "value: missing");
        *oom = *result == NULL;
        return NULL;
    }
    size_t n = sm__encoded_size(v);
    if (n == SIZE_MAX) {
        *result = NULL;
        *oom = true;
        return NULL;
    }
    if (n > SM_VALUE_MAX) {
        *result = sm__failf("too_large", "value: %zu bytes encoded, limit %d", n, SM_VALUE_MAX);
        *oom = *result == NULL;
        return NULL;
    }
    return v;
}

void sm__release(const struct sm_ctx *ctx, uint64_t index)
{
    if (ctx && ctx->release)
        ctx->release(ctx->data, index);
}

void sm__publish(const struct sm_ctx *ctx, uint64_t session, json_t *event)
{
    if (ctx && ctx->publish)
        ctx->publish(ctx->data, session, event);
}

/* ==== Canonical encoding and order ==== */

size_t sm__encoded_size(const json_t *v)
{
    if (json_is_null(v))
        return 4; /* json_dumpb returns 0 for an error and cannot tell "null" apart */
    size_t n = json_dumpb(v, NULL, 0, SM__JSON_FLAGS);
    return n == 0 ? SIZE_MAX : n;
}

char *sm__encode(const json_t *v, size_t *len)
{
    size_t n = sm__encoded_size(v);
    if (n == SIZE_MAX)
        return NULL;
    char *s = fl_malloc(n + 1);
    if (!s)
        return NULL;
    if (json_dumpb(v, s, n, SM__JSON_FLAGS) != n) {
        fl_free(s);
        return NULL;
    }
    s[n] = '\0';
    *len = n;
    return s;
}

static int to_buf(const char *buffer, size_t size, void *data)
{
    struct fl_buf *out = data;
    fl_buf_append(out, buffer, size);
    return out->oom ? -1 : 0;
}

bool sm__dump(const json_t *v, struct fl_buf *out)
{
    return json_dump_callback(v, to_buf, out, SM__JSON_FLAGS) == 0 && !out->oom;
}

static int rank(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        return 0;
    case JSON_FALSE:
        return 1;
    case JSON_TRUE:
        return 2;
    case JSON_INTEGER:
    case JSON_REAL:
        return 3;
    case JSON_STRING:
        return 4;
    case JSON_ARRAY:
        return 5;
    default:
        return 6;
    }
}

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

int sm__cmp(const json_t *a, const char *atext, size_t alen, const json_t *b, const char *btext,
            size_t blen)
{
    int ra = rank(a), rb = rank(b);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (ra == 3) {
        if (json_is_integer(a) && json_is_integer(b)) {
            json_int_t x = json_integer_value(a), y = json_integer_value(b);
            if (x != y)
                return x < y ? -1 : 1;
        } else {
            long double x = json_is_integer(a) ? (long double)json_integer_value(a)
                                               : (long double)json_real_value(a);
            long double y = json_is_integer(b) ? (long double)json_integer_value(b)
                                               : (long double)json_real_value(b);
            if (x != y)
                return x < y ? -1 : 1;
            if (json_is_integer(a) != json_is_integer(b))
                return json_is_integer(a) ? -1 : 1;
        }
    } else if (ra == 4) {
        int c = bytes_cmp(json_string_value(a), json_string_length(a), json_string_value(b),
                          json_string_length(b));
        if (c)
            return c;
    }
    return bytes_cmp(atext, alen, btext, blen);
}

/* ==== Snapshots ==== */

json_t *sm__snapshot_parse(const char *bytes, size_t len, const char *name, char *errmsg, int *rc)
{
    json_error_t jerr;
    json_t *root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        *rc = fl_errorf(errmsg, FL_EPARSE, "snapshot: line %d column %d: %s", jerr.line,
                        jerr.column, jerr.text);
        return NULL;
    }
    const json_t *sm = json_object_get(root, "sm");
    if (!json_is_object(root) || !json_is_string(sm) || strcmp(json_string_value(sm), name)) {
        *rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: sm: expected \"%s\"", name);
        json_decref(root);
        return NULL;
    }
    return root;
}

bool sm__index(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

bool sm__grow(void *pptr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 4;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return false;
        n *= 2;
    }
    void *arr;
    memcpy(&arr, pptr, sizeof arr);
    void *p = fl_reallocarray(arr, n, size);
    if (!p)
        return false;
    memcpy(pptr, &p, sizeof p);
    *cap = n;
    return true;
}
