/* set.c - a grow-only set of JSON values: add {value:x}, read -> sorted array.
 * Elements are identified by their canonical encoding. A duplicate add (and a
 * read) releases itself; a first add is kept for ever (or until a snapshot). */
#include "node/sm/impl.h"

#include "common/alloc.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

struct elem {
    char *text; /* canonical encoding: the table key */
    size_t tlen;
    json_t *value; /* private deep copy */
};

struct set {
    struct sm__table elems;
};

static int create(void **st)
{
    struct set *s = fl_calloc(1, sizeof *s);
    if (!s)
        return FL_ENOMEM;
    sm__table_init(&s->elems);
    *st = s;
    return 0;
}

static void elem_free(struct elem *e)
{
    if (!e)
        return;
    fl_free(e->text);
    json_decref(e->value);
    fl_free(e);
}

static void clear(struct set *s)
{
    for (size_t i = 0; i < s->elems.cap; i++)
        elem_free(s->elems.slots[i].item);
    sm__table_free(&s->elems);
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

static int elem_cmp(const void *pa, const void *pb)
{
    const struct elem *a = *(struct elem *const *)pa, *b = *(struct elem *const *)pb;
    return sm__cmp(a->value, a->text, a->tlen, b->value, b->text, b->tlen);
}

/* Elements in read order; an fl_malloc'd array of s->elems.len, NULL on OOM. */
static struct elem **sorted(const struct set *s)
{
    struct elem **v = fl_reallocarray(NULL, s->elems.len + 1, sizeof *v);
    if (!v)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < s->elems.cap; i++)
        if (s->elems.slots[i].item)
            v[n++] = s->elems.slots[i].item;
    qsort(v, n, sizeof *v, elem_cmp);
    return v;
}

/* An array of the elements (deep copies when `copy`, else shared). */
static json_t *elements(const struct set *s, bool copy)
{
    struct elem **v = sorted(s);
    json_t *arr = v ? json_array() : NULL;
    for (size_t i = 0; arr && i < s->elems.len; i++) {
        json_t *x = copy ? json_deep_copy(v[i]->value) : json_incref(v[i]->value);
        if (json_array_append_new(arr, x) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    fl_free(v);
    return arr;
}

/* Adds a copy of v unless present. Returns 1 when added, 0 when present,
 * FL_ENOMEM (nothing changed). */
static int add(struct set *s, const json_t *v)
{
    size_t tlen;
    char *text = sm__encode(v, &tlen);
    if (!text)
        return FL_ENOMEM;
    if (sm__table_get(&s->elems, text, tlen)) {
        fl_free(text);
        return 0;
    }
    struct elem *e = fl_calloc(1, sizeof *e);
    if (!e || !sm__table_reserve(&s->elems, 1) || !(e->value = json_deep_copy(v))) {
        fl_free(e);
        fl_free(text);
        return FL_ENOMEM;
    }
    e->text = text;
    e->tlen = tlen;
    sm__table_put(&s->elems, e->text, e->tlen, e);
    return 1;
}

static int apply(void *st, const struct sm_ctx *ctx, uint64_t index, uint64_t session,
                 const json_t *op, json_t **result)
{
    (void)session;
    struct set *s = st;
    json_t *res = NULL;
    bool oom = false, keep = false;
    const char *f = sm__op_f(op, &res, &oom);
    if (!f) {
    } else if (strcmp(f, "add") == 0) {
        const json_t *v = sm__op_value(op, &res, &oom);
        if (v && (res = sm__ok())) {
            int rc = add(s, v);
            if (rc < 0) {
                json_decref(res);
                return FL_ENOMEM;
            }
            keep = rc == 1;
        }
    } else if (strcmp(f, "read") == 0) {
        res = sm__ok_value(elements(s, true));
    } else {
        res = sm__failf("bad_request", "f: \"%.64s\" is not a set operation (add, read)", f);
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
    *result = sm__ok_value(elements(st, true));
    return *result ? 0 : FL_ENOMEM;
}

static int snapshot(void *st, struct fl_buf *out)
{
    json_t *root = json_pack("{s:s,s:o}", "sm", "set", "elements", elements(st, false));
    bool ok = root && sm__dump(root, out);
    json_decref(root);
    return ok ? 0 : FL_ENOMEM;
}

static int restore(void *st, const char *bytes, size_t len, char *errmsg)
{
    int rc = 0;
    json_t *root = sm__snapshot_parse(bytes, len, "set", errmsg, &rc);
    if (!root)
        return rc;
    struct set fresh;
    sm__table_init(&fresh.elems);
    const json_t *arr = json_object_get(root, "elements");
    if (!json_is_array(arr) || json_object_size(root) != 2) {
        rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: elements: expected an array");
        goto out;
    }
    if (!sm__table_reserve(&fresh.elems, json_array_size(arr))) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "snapshot: out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        size_t n = sm__encoded_size(v);
        if (n > SM_VALUE_MAX && n != SIZE_MAX) {
            rc = fl_errorf(errmsg, FL_ELIMIT, "snapshot: elements[%zu]: %zu bytes, limit %d", i, n,
                           SM_VALUE_MAX);
            goto out;
        }
        int added = add(&fresh, v);
        if (added < 0) {
            rc = fl_errorf(errmsg, FL_ENOMEM, "snapshot: out of memory");
            goto out;
        }
        if (added == 0) {
            rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: elements[%zu]: duplicate element", i);
            goto out;
        }
    }
    struct set *s = st;
    clear(s);
    *s = fresh;
    sm__table_init(&fresh.elems);
out:
    clear(&fresh);
    json_decref(root);
    return rc;
}

const struct sm_type sm_set = {
    .name = "set",
    .summary = "add {value:any}, read -> sorted array",
    .create = create,
    .destroy = destroy,
    .is_read_only = is_read_only,
    .apply = apply,
    .query = query,
    .snapshot = snapshot,
    .restore = restore,
    .session_closed = NULL, /* holds nothing per session */
};
