/* setcheck.c - Jepsen's set checker (lost, unexpected, duplicated, recovered, never read). */
#include "checker/setcheck.h"

#include "common/alloc.h"
#include "common/edn.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

enum {
    EL_ADD_OK = 1 << 0,
    EL_ADD_INFO = 1 << 1,
    EL_ADD_FAIL = 1 << 2,
    EL_IN_FINAL = 1 << 3,
    EL_DUP = 1 << 4,
};

/* One sighting of an element; sightings of equal elements are merged. */
struct rec {
    char *text;    /* canonical JSON, allocated by jansson (free()) */
    json_t *value; /* borrowed from the history */
    unsigned flags;
    int64_t add_ret; /* EL_ADD_OK: the add's completion (event position) */
};

struct recs {
    struct rec *v;
    size_t n, cap;
};

static void recs_free(struct recs *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        free(rs->v[i].text); /* allocated by jansson */
    fl_free(rs->v);
    memset(rs, 0, sizeof *rs);
}

static bool recs_push(struct recs *rs, json_t *value, unsigned flags)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        struct rec *v = fl_reallocarray(rs->v, cap, sizeof *v);
        if (!v)
            return false;
        rs->v = v;
        rs->cap = cap;
    }
    char *text = fl_edn_value_text(value);
    if (!text)
        return false;
    rs->v[rs->n++] = (struct rec){.text = text, .value = value, .flags = flags};
    return true;
}

/* Integers first in numeric order, then everything else by JSON text. */
static int cmp_rec(const void *pa, const void *pb)
{
    const struct rec *a = pa, *b = pb;
    bool ia = json_is_integer(a->value), ib = json_is_integer(b->value);
    if (ia && ib) {
        json_int_t x = json_integer_value(a->value), y = json_integer_value(b->value);
        return (x > y) - (x < y);
    }
    if (ia != ib)
        return ia ? -1 : 1;
    return strcmp(a->text, b->text);
}

static bool same(const struct rec *a, const struct rec *b)
{
    return cmp_rec(a, b) == 0;
}

static bool key_matches(const struct checker_hop *op, uint32_t key_id)
{
    return key_id == CHECKER_SET_ALL_KEYS || op->key_id == key_id;
}

/* Marks the elements a read returns more than once. */
static bool find_dups(struct recs *rs, json_t *read, struct recs *tmp)
{
    tmp->n = 0;
    for (size_t i = fl_edn_coll_first(read); i < json_array_size(read); i++)
        if (!recs_push(tmp, json_array_get(read, i), EL_DUP))
            return false;
    if (tmp->n > 1)
        qsort(tmp->v, tmp->n, sizeof *tmp->v, cmp_rec);
    for (size_t i = 1; i < tmp->n; i++)
        if (same(&tmp->v[i], &tmp->v[i - 1]) && (i < 2 || !same(&tmp->v[i], &tmp->v[i - 2])))
            if (!recs_push(rs, tmp->v[i].value, EL_DUP))
                return false;
    for (size_t i = 0; i < tmp->n; i++)
        free(tmp->v[i].text); /* allocated by jansson */
    tmp->n = 0;
    return true;
}

int checker_set_check(const struct checker_history *h, uint32_t key_id,
                      struct checker_set_result *r, char *errmsg)
{
    struct recs rs = {0}, tmp = {0};
    memset(r, 0, sizeof *r);
    int rc = FL_ENOMEM;
    const struct checker_hop *final = NULL;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct checker_hop *op = &h->ops[i];
        if (!key_matches(op, key_id))
            continue;
        if (strcmp(op->f, "add") == 0) {
            unsigned flag = op->status == FL_EVENT_OK     ? EL_ADD_OK
                            : op->status == FL_EVENT_FAIL ? EL_ADD_FAIL
                                                          : EL_ADD_INFO;
            if (!recs_push(&rs, op->value, flag))
                goto oom;
            if (op->status == FL_EVENT_OK)
                rs.v[rs.n - 1].add_ret = op->ret;
        } else if (strcmp(op->f, "read") == 0 && op->status == FL_EVENT_OK &&
                   !op->value_unknown) { /* a read that returned nothing observed nothing */
            if (!json_is_array(op->value)) {
                rc = fl_errorf(errmsg, FL_ESHAPE, "%s: line %llu: value: read expects an array",
                               h->path ? h->path : "history", (unsigned long long)op->ret_line);
                goto err;
            }
            r->read_count++;
            if (!find_dups(&rs, op->value, &tmp))
                goto oom;
            if (!final || op->ret > final->ret)
                final = op;
        }
    }
    if (final) {
        r->has_final_read = true;
        r->final_read_op = (size_t)(final - h->ops);
        for (size_t i = fl_edn_coll_first(final->value); i < json_array_size(final->value); i++)
            if (!recs_push(&rs, json_array_get(final->value, i), EL_IN_FINAL))
                goto oom;
    }
    if (rs.n > 1)
        qsort(rs.v, rs.n, sizeof *rs.v, cmp_rec);
    r->lost = json_array();
    r->unexpected = json_array();
    r->duplicated = json_array();
    r->recovered = json_array();
    r->never_read = json_array();
    if (!r->lost || !r->unexpected || !r->duplicated || !r->recovered || !r->never_read)
        goto oom;
    for (size_t i = 0; i < rs.n;) {
        size_t j = i;
        unsigned flags = 0;
        int64_t first_ack = INT64_MAX; /* when its first ok add completed */
        while (j < rs.n && same(&rs.v[i], &rs.v[j])) {
            if ((rs.v[j].flags & EL_ADD_OK) && rs.v[j].add_ret < first_ack)
                first_ack = rs.v[j].add_ret;
            flags |= rs.v[j++].flags;
        }
        json_t *v = rs.v[i].value;
        bool attempted = flags & (EL_ADD_OK | EL_ADD_INFO | EL_ADD_FAIL);
        bool present = flags & EL_IN_FINAL;
        r->attempt_count += attempted;
        r->acknowledged_count += !!(flags & EL_ADD_OK);
        r->ok_count += attempted && present;
        /* Lost only if acknowledged before the final read began (event order). */
        bool missing = final && (flags & EL_ADD_OK) && !present;
        if (missing && first_ack < final->call && json_array_append(r->lost, v) < 0)
            goto oom;
        if (missing && first_ack > final->call && json_array_append(r->never_read, v) < 0)
            goto oom;
        if (present && !attempted && json_array_append(r->unexpected, v) < 0)
            goto oom;
        if ((flags & EL_DUP) && json_array_append(r->duplicated, v) < 0)
            goto oom;
        if (present && (flags & EL_ADD_INFO) && !(flags & EL_ADD_OK) &&
            json_array_append(r->recovered, v) < 0)
            goto oom;
        i = j;
    }
    r->lost_count = json_array_size(r->lost);
    r->unexpected_count = json_array_size(r->unexpected);
    r->duplicated_count = json_array_size(r->duplicated);
    r->recovered_count = json_array_size(r->recovered);
    r->never_read_count = json_array_size(r->never_read);
    bool wrong = r->lost_count || r->unexpected_count || r->duplicated_count;
    r->unknown = !wrong && (!r->has_final_read || r->never_read_count > 0);
    r->valid = !wrong && !r->unknown;
    recs_free(&rs);
    recs_free(&tmp);
    return 0;
oom:
    rc = fl_errorf(errmsg, FL_ENOMEM, "set checker: out of memory");
err:
    recs_free(&rs);
    recs_free(&tmp);
    checker_set_result_free(r);
    return rc;
}

void checker_set_result_free(struct checker_set_result *r)
{
    json_decref(r->lost);
    json_decref(r->unexpected);
    json_decref(r->duplicated);
    json_decref(r->recovered);
    json_decref(r->never_read);
    memset(r, 0, sizeof *r);
}

json_t *checker_set_result_json(const struct checker_set_result *r)
{
    json_t *valid = r->unknown ? json_string("unknown") : json_boolean(r->valid);
    json_t *o = json_pack("{so sI sI sI sI sI sI sI sI sO sO sO sO}", "valid", valid, "read_count",
                          (json_int_t)r->read_count, "attempt_count", (json_int_t)r->attempt_count,
                          "acknowledged_count", (json_int_t)r->acknowledged_count, "ok_count",
                          (json_int_t)r->ok_count, "lost_count", (json_int_t)r->lost_count,
                          "unexpected_count", (json_int_t)r->unexpected_count, "duplicated_count",
                          (json_int_t)r->duplicated_count, "recovered_count",
                          (json_int_t)r->recovered_count, "lost", r->lost, "unexpected",
                          r->unexpected, "duplicated", r->duplicated, "recovered", r->recovered);
    if (o && (json_object_set_new(o, "never_read_count",
                                  json_integer((json_int_t)r->never_read_count)) < 0 ||
              json_object_set(o, "never_read", r->never_read) < 0)) {
        json_decref(o);
        return NULL;
    }
    if (o && r->has_final_read &&
        json_object_set_new(o, "final_read_op", json_integer((json_int_t)r->final_read_op)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Appends up to a few elements of a class, e.g. " [3 4 ...]". */
static void list_some(const json_t *a, struct fl_buf *out)
{
    size_t n = json_array_size(a);
    if (n == 0)
        return;
    fl_buf_puts(out, " [");
    for (size_t i = 0; i < n && i < 5; i++) {
        char *text = fl_edn_value_text(json_array_get(a, i));
        if (i)
            fl_buf_puts(out, " ");
        fl_buf_puts(out, text ? text : "?");
        free(text); /* allocated by jansson */
    }
    if (n > 5)
        fl_buf_puts(out, " ...");
    fl_buf_puts(out, "]");
}

void checker_set_summary(const struct checker_set_result *r, struct fl_buf *out)
{
    if (!r->has_final_read) {
        fl_buf_printf(out, "set: unknown: no ok read (%zu attempted)", r->attempt_count);
        return;
    }
    fl_buf_printf(out, "set: %s: %zu attempted, %zu acknowledged, %zu ok, %zu lost",
                  r->valid     ? "valid"
                  : r->unknown ? "unknown"
                               : "invalid",
                  r->attempt_count, r->acknowledged_count,
                  r->ok_count, r->lost_count);
    list_some(r->lost, out);
    fl_buf_printf(out, ", %zu unexpected", r->unexpected_count);
    list_some(r->unexpected, out);
    fl_buf_printf(out, ", %zu duplicated", r->duplicated_count);
    list_some(r->duplicated, out);
    fl_buf_printf(out, ", %zu recovered", r->recovered_count);
    fl_buf_printf(out, ", %zu never read", r->never_read_count);
    list_some(r->never_read, out);
    if (r->never_read_count > 0)
        fl_buf_puts(out, " (acknowledged after the last ok read began)");
}
