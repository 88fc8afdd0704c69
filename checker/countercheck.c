/* countercheck.c - Jepsen's counter bounds check, by prefix sums over positions. */
#include "checker/countercheck.h"

#include "common/alloc.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

/* An add as seen from one end: the position that matters and its value. */
struct pt {
    int64_t pos;
    int64_t value;
};

/* Points sorted by position, with saturating prefix sums of their positive
 * and negative parts: pos_sum[i] is the sum over the first i points. */
struct prefix {
    struct pt *pts;
    size_t n;
    int64_t *pos_sum, *neg_sum;
};

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t s;
    if (__builtin_add_overflow(a, b, &s))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return s;
}

static int cmp_pt(const void *pa, const void *pb)
{
    const struct pt *a = pa, *b = pb;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static bool prefix_build(struct prefix *p)
{
    if (p->n > 1)
        qsort(p->pts, p->n, sizeof *p->pts, cmp_pt);
    p->pos_sum = fl_reallocarray(NULL, p->n + 1, sizeof *p->pos_sum);
    p->neg_sum = fl_reallocarray(NULL, p->n + 1, sizeof *p->neg_sum);
    if (!p->pos_sum || !p->neg_sum)
        return false;
    p->pos_sum[0] = p->neg_sum[0] = 0;
    for (size_t i = 0; i < p->n; i++) {
        int64_t v = p->pts[i].value;
        p->pos_sum[i + 1] = sat_add(p->pos_sum[i], v > 0 ? v : 0);
        p->neg_sum[i + 1] = sat_add(p->neg_sum[i], v < 0 ? v : 0);
    }
    return true;
}

/* Number of points with position < pos. */
static size_t prefix_before(const struct prefix *p, int64_t pos)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->pts[mid].pos < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void prefix_free(struct prefix *p)
{
    fl_free(p->pts);
    fl_free(p->pos_sum);
    fl_free(p->neg_sum);
    memset(p, 0, sizeof *p);
}

static bool key_matches(const struct checker_hop *op, uint32_t key_id)
{
    return key_id == CHECKER_COUNTER_ALL_KEYS || op->key_id == key_id;
}

static int shape_error(const struct checker_history *h, const struct checker_hop *op, char *errmsg)
{
    return fl_errorf(errmsg, FL_ESHAPE, "%s: line %llu: value: %s expects an integer",
                     h->path ? h->path : "history",
                     (unsigned long long)(op->status == FL_EVENT_OK ? op->ret_line : op->call_line),
                     op->f);
}

int checker_counter_check(const struct checker_history *h, uint32_t key_id, int64_t initial,
                          struct checker_counter_result *r, char *errmsg)
{
    struct prefix done = {0}, maybe = {0}; /* ok adds by completion; ok+info adds by invoke */
    size_t err_cap = 0;
    int rc;
    memset(r, 0, sizeof *r);
    done.pts = fl_reallocarray(NULL, h->n_ops ? h->n_ops : 1, sizeof *done.pts);
    maybe.pts = fl_reallocarray(NULL, h->n_ops ? h->n_ops : 1, sizeof *maybe.pts);
    if (!done.pts || !maybe.pts)
        goto oom;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct checker_hop *op = &h->ops[i];
        if (!key_matches(op, key_id) || strcmp(op->f, "add") != 0 || op->status == FL_EVENT_FAIL)
            continue;
        if (!json_is_integer(op->value)) {
            rc = shape_error(h, op, errmsg);
            goto err;
        }
        int64_t v = json_integer_value(op->value);
        maybe.pts[maybe.n++] = (struct pt){op->call, v};
        if (op->status == FL_EVENT_OK)
            done.pts[done.n++] = (struct pt){op->ret, v};
    }
    r->add_count = maybe.n;
    if (!prefix_build(&done) || !prefix_build(&maybe))
        goto oom;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct checker_hop *op = &h->ops[i];
        if (!key_matches(op, key_id) || strcmp(op->f, "read") != 0 || op->status != FL_EVENT_OK ||
            json_is_null(op->value) || op->value_unknown)
            continue;
        if (!json_is_integer(op->value)) {
            rc = shape_error(h, op, errmsg);
            goto err;
        }
        r->read_count++;
        int64_t value = json_integer_value(op->value);
        size_t d = prefix_before(&done, op->call), m = prefix_before(&maybe, op->ret);
        int64_t lower = sat_add(sat_add(initial, done.pos_sum[d]), maybe.neg_sum[m]);
        int64_t upper = sat_add(sat_add(initial, done.neg_sum[d]), maybe.pos_sum[m]);
        if (value >= lower && value <= upper)
            continue;
        if (r->n_errors == err_cap) {
            size_t cap = err_cap ? err_cap * 2 : 16;
            struct checker_counter_error *e = fl_reallocarray(r->errors, cap, sizeof *e);
            if (!e)
                goto oom;
            r->errors = e;
            err_cap = cap;
        }
        r->errors[r->n_errors++] = (struct checker_counter_error){
            .op = i, .line = op->ret_line, .value = value, .lower = lower, .upper = upper};
    }
    r->valid = r->n_errors == 0;
    prefix_free(&done);
    prefix_free(&maybe);
    return 0;
oom:
    rc = fl_errorf(errmsg, FL_ENOMEM, "counter checker: out of memory");
err:
    prefix_free(&done);
    prefix_free(&maybe);
    checker_counter_result_free(r);
    return rc;
}

void checker_counter_result_free(struct checker_counter_result *r)
{
    fl_free(r->errors);
    memset(r, 0, sizeof *r);
}

json_t *checker_counter_result_json(const struct checker_counter_result *r)
{
    json_t *errors = json_array();
    if (!errors)
        return NULL;
    for (size_t i = 0; i < r->n_errors; i++) {
        const struct checker_counter_error *e = &r->errors[i];
        json_t *o = json_pack("{sI sI sI sI sI}", "op", (json_int_t)e->op, "line",
                              (json_int_t)e->line, "value", (json_int_t)e->value, "lower",
                              (json_int_t)e->lower, "upper", (json_int_t)e->upper);
        if (!o || json_array_append_new(errors, o) < 0) {
            json_decref(errors);
            return NULL;
        }
    }
    return json_pack("{sb sI sI so}", "valid", r->valid, "read_count", (json_int_t)r->read_count,
                     "add_count", (json_int_t)r->add_count, "errors", errors);
}

void checker_counter_summary(const struct checker_counter_result *r, struct fl_buf *out)
{
    if (r->valid) {
        fl_buf_printf(out, "counter: valid: %zu reads within bounds (%zu adds)", r->read_count,
                      r->add_count);
        return;
    }
    const struct checker_counter_error *e = &r->errors[0];
    fl_buf_printf(out,
                  "counter: invalid: %zu of %zu reads out of bounds (first: line %llu read %lld, "
                  "bounds [%lld, %lld])",
                  r->n_errors, r->read_count, (unsigned long long)e->line, (long long)e->value,
                  (long long)e->lower, (long long)e->upper);
}
