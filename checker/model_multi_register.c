/* model_multi_register.c - Knossos's multi-register: transactions of reads and
 * writes over named registers.
 *
 * Operations (f, value):
 *   txn  [[f k v] ...]   micro-ops applied in order, atomically; f is "read"
 *                        (or "r") or "write" (or "w"), k any JSON key, v any
 *                        JSON value. A read is legal when register k holds v
 *                        at that point of the transaction.
 * A read of nil is "not observed" (Knossos): in an invoke, in a crashed
 * transaction (whose reads are all unknown) and, with nil_read_any, in an ok
 * completion, it constrains nothing. Without nil_read_any an ok read of nil
 * must find the register holding nil. A read may omit v ([f k]): not observed.
 * A transaction left with no constraining micro-op is dropped.
 *
 * Initial values: config.initial an object maps register names to values
 * (names that are decimal integers stand for integer keys, since EDN maps
 * with integer keys import as objects with their text as names), registers it
 * does not name start at nil; a scalar initial starts every register at it;
 * no initial starts every register at nil.
 *
 * The state is the sorted list of (key, value) pairs whose value differs from
 * the register's initial value, so equal states have one representation; it
 * is interned per instance and the handle is its intern id. */
#include "checker/model.h"
#include "checker/model_seq.h"

#include "common/edn.h"
#include "common/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { MR_TXN };
enum { MR_READ, MR_WRITE };

struct mreg {
    struct checker__seqtab states;
    struct checker__arena args;
    struct checker__vec scratch;
    struct checker__vec defaults; /* sorted (key, value) pairs from an object initial */
    int64_t other;                /* initial value of registers not in defaults */
    uint64_t empty;
};

/* ==== Pairs ==== */

/* Index of the first pair with key >= k in ps (n pairs). */
static size_t pair_lower_bound(const int64_t *ps, size_t n, int64_t k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ps[2 * mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int64_t initial_of(const struct mreg *r, int64_t key)
{
    size_t n = r->defaults.n / 2;
    size_t at = pair_lower_bound(r->defaults.v, n, key);
    if (at < n && r->defaults.v[2 * at] == key)
        return r->defaults.v[2 * at + 1];
    return r->other;
}

static int cmp_pair(const void *a, const void *b)
{
    return checker__cmp_i64(a, b);
}

/* ==== Lifecycle ==== */

/* Reduces an object member name to a key atom: decimal integers become
 * integer keys, anything else a string key; in an EDN history, the key the
 * name was read from (:x, "x", 1: three keys). */
static bool name_atom(struct checker_model *m, const char *name, int64_t *out)
{
    if (m->config.edn) {
        json_t *j = fl_edn_key_value(name);
        bool ok = j && checker_atom(m, j, out);
        json_decref(j);
        return ok;
    }
    char *end;
    errno = 0;
    long long v = strtoll(name, &end, 10);
    json_t *j;
    if (*name && *end == '\0' && errno == 0 && (name[0] != '0' || name[1] == '\0') &&
        name[0] != '+' && name[0] != ' ')
        j = json_integer(v);
    else
        j = json_string(name);
    bool ok = j && checker_atom(m, j, out);
    json_decref(j);
    return ok;
}

static void mr_destroy(struct checker_model *m)
{
    struct mreg *r = m->impl;
    checker__seqtab_free(&r->states);
    checker__arena_free(&r->args);
    checker__vec_free(&r->scratch);
    checker__vec_free(&r->defaults);
}

static int mr_create(struct checker_model *m, char *errmsg)
{
    struct mreg *r = m->impl;
    const json_t *init = m->config.initial;
    r->other = CHECKER_NIL;
    if (init && json_is_object(init)) {
        size_t n = json_object_size(init), i = 0;
        if (!checker__vec_reserve(m, &r->defaults, 2 * n))
            goto oom;
        const char *name;
        json_t *v;
        json_object_foreach((json_t *)init, name, v)
        {
            if (!name_atom(m, name, &r->defaults.v[2 * i]) ||
                !checker_atom(m, v, &r->defaults.v[2 * i + 1]))
                goto oom;
            i++;
        }
        r->defaults.n = 2 * i;
        if (i)
            qsort(r->defaults.v, i, 2 * sizeof *r->defaults.v, cmp_pair);
    } else if (init && json_is_array(init)) {
        mr_destroy(m);
        return fl_errorf(errmsg, FL_ESHAPE,
                         "initial: the multi-register model expects an object or a scalar");
    } else if (!checker_atom(m, init, &r->other)) {
        goto oom;
    }
    if (!checker__seqtab_intern(m, &r->states, NULL, 0, &r->empty))
        goto oom;
    return 0;
oom:
    mr_destroy(m);
    return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
}

/* ==== Prepare ==== */

/* Appends one micro-op to r->scratch at slot *k, unless it is an
 * unobserved read. The key is `key`, or the member name `name` (as in an
 * object initial value) when key is NULL. Returns 0 or a negative code. */
static int add_mop(struct checker_model *m, struct mreg *r, size_t *k, int kind, const json_t *key,
                   const char *name, const json_t *val, bool crashed, char *errmsg)
{
    if (kind == MR_READ && (crashed || !val || (json_is_null(val) && m->config.nil_read_any)))
        return 0; /* not observed */
    if (!checker__vec_reserve(m, &r->scratch, 3 * (*k + 1)))
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    int64_t *t = &r->scratch.v[3 * *k];
    t[0] = kind;
    if (!(key ? checker_atom(m, key, &t[1]) : name_atom(m, name, &t[1])) ||
        !checker_atom(m, val, &t[2]))
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    (*k)++;
    return 0;
}

static int mop_kind(const char *f)
{
    if (f[0] == ':' && f[1] != '\0')
        f++; /* an EDN keyword exported to JSONL (common/edn.h fl_edn_plain) */
    if (strcmp(f, "read") == 0 || strcmp(f, "r") == 0)
        return MR_READ;
    if (strcmp(f, "write") == 0 || strcmp(f, "w") == 0)
        return MR_WRITE;
    return -1;
}

/* Operations are `txn` with a list of [f k v] micro-ops. Jepsen histories
 * also hold `read` and `write` operations beside the transactions (issue
 * 14: a braft test's history); they are one-kind transactions, their value
 * a list of micro-ops, a map {k v ...}, or a single [k v]. */
static int mr_prepare(struct checker_model *m, const struct checker_hop *hop, struct checker_op *op,
                      char *errmsg)
{
    struct mreg *r = m->impl;
    /* an ok txn with no value: its writes are the invoke's, its reads unknown */
    bool crashed = op->crashed || hop->status == FL_EVENT_INFO || hop->value_unknown;
    const json_t *v = hop->value;
    int whole = strcmp(hop->f, "txn") == 0 ? -2 : mop_kind(hop->f);
    size_t k = 0;
    int rc;
    if (whole == -1)
        return fl_errorf(errmsg, FL_ESHAPE,
                         "f: \"%s\" is not an operation of the multi-register model (txn, read, "
                         "write)",
                         hop->f);
    op->f = MR_TXN;
    if (whole >= 0 && json_is_object(v)) {
        const char *name;
        json_t *val;
        json_object_foreach((json_t *)v, name, val) {
            if ((rc = add_mop(m, r, &k, whole, NULL, name, val, crashed, errmsg)) < 0)
                return rc;
        }
        goto done;
    }
    if (whole >= 0 && json_is_array(v) && json_array_size(v) == 2 &&
        !json_is_array(json_array_get(v, 0))) {
        rc = add_mop(m, r, &k, whole, json_array_get(v, 0), NULL, json_array_get(v, 1), crashed,
                     errmsg);
        if (rc < 0)
            return rc;
        goto done;
    }
    if (!json_is_array(v))
        return fl_errorf(errmsg, FL_ESHAPE,
                         whole == -2 ? "value: txn expects a list of [f k v] micro-ops"
                                     : "value: %s expects a list of [f k v] micro-ops, a map or [k v]",
                         hop->f);
    size_t n = json_array_size(v);
    if (n > UINT32_MAX / 3)
        return fl_errorf(errmsg, FL_ESHAPE, "value: txn has too many micro-ops");
    for (size_t i = 0; i < n; i++) {
        const json_t *mop = json_array_get(v, i);
        size_t len = json_is_array(mop) ? json_array_size(mop) : 0;
        const json_t *fj = len ? json_array_get(mop, 0) : NULL;
        const char *fs;
        size_t fn;
        char f[8];
        if (!fj || fl_edn_name(fj, &fs, &fn) < 0 || fn >= sizeof f || len < 2 || len > 3)
            return fl_errorf(errmsg, FL_ESHAPE, "value: micro-op %zu: expected [f k v]", i);
        memcpy(f, fs, fn);
        f[fn] = '\0';
        int kind = mop_kind(f);
        if (kind < 0)
            return fl_errorf(errmsg, FL_ESHAPE, "value: micro-op %zu: \"%s\" is not read or write",
                             i, f);
        const json_t *val = len == 3 ? json_array_get(mop, 2) : NULL;
        if (kind == MR_WRITE && len != 3)
            return fl_errorf(errmsg, FL_ESHAPE, "value: micro-op %zu: write expects [f k v]", i);
        if ((rc = add_mop(m, r, &k, kind, json_array_get(mop, 1), NULL, val, crashed, errmsg)) < 0)
            return rc;
    }
done:
    if (k == 0)
        return CHECKER_PREPARE_DROP;
    op->xs = checker__arena_copy(m, &r->args, r->scratch.v, 3 * k);
    if (!op->xs)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    op->nxs = (uint32_t)(3 * k);
    return 0;
}

/* ==== Stepping ==== */

static uint64_t mr_init(struct checker_model *m)
{
    return ((struct mreg *)m->impl)->empty;
}

static bool mr_step(struct checker_model *m, uint64_t state, const struct checker_op *op,
                    uint64_t *next)
{
    struct mreg *r = m->impl;
    size_t n;
    const int64_t *ps = checker__seqtab_get(&r->states, state, &n);
    size_t writes = 0;
    for (uint32_t i = 0; i < op->nxs; i += 3)
        writes += op->xs[i] == MR_WRITE;
    if (writes == 0) { /* read-only: no copy needed */
        for (uint32_t i = 0; i < op->nxs; i += 3) {
            size_t at = pair_lower_bound(ps, n / 2, op->xs[i + 1]);
            int64_t cur = at < n / 2 && ps[2 * at] == op->xs[i + 1] ? ps[2 * at + 1]
                                                                    : initial_of(r, op->xs[i + 1]);
            if (cur != op->xs[i + 2])
                return false;
        }
        *next = state;
        return true;
    }
    if (!checker__vec_reserve(m, &r->scratch, n + 2 * writes)) {
        m->oom = true;
        return false;
    }
    int64_t *w = r->scratch.v;
    if (n)
        memcpy(w, ps, n * sizeof *w);
    size_t np = n / 2; /* pairs in w; values equal to the initial are kept until the end */
    for (uint32_t i = 0; i < op->nxs; i += 3) {
        int64_t key = op->xs[i + 1], val = op->xs[i + 2];
        size_t at = pair_lower_bound(w, np, key);
        bool found = at < np && w[2 * at] == key;
        if (op->xs[i] == MR_READ) {
            if ((found ? w[2 * at + 1] : initial_of(r, key)) != val)
                return false;
        } else if (found) {
            w[2 * at + 1] = val;
        } else {
            memmove(w + 2 * at + 2, w + 2 * at, (np - at) * 2 * sizeof *w);
            w[2 * at] = key;
            w[2 * at + 1] = val;
            np++;
        }
    }
    size_t out = 0; /* canonical form: drop registers back at their initial value */
    for (size_t i = 0; i < np; i++) {
        if (w[2 * i + 1] == initial_of(r, w[2 * i]))
            continue;
        w[2 * out] = w[2 * i];
        w[2 * out + 1] = w[2 * i + 1];
        out++;
    }
    if (!checker__seqtab_intern(m, &r->states, w, 2 * out, next)) {
        m->oom = true;
        return false;
    }
    return true;
}

static uint64_t mr_hash(struct checker_model *m, uint64_t state)
{
    (void)m;
    return state; /* handles are canonical */
}

static bool mr_equal(struct checker_model *m, uint64_t a, uint64_t b)
{
    (void)m;
    return a == b;
}

/* ==== Descriptions ==== */

/* Register names print bare when they are plain strings: x rather than "x". */
static void describe_key(struct checker_model *m, int64_t key, struct fl_buf *out)
{
    struct fl_buf b;
    fl_buf_init(&b);
    checker_atom_describe(m, key, &b);
    const char *s = fl_buf_cstr(&b);
    size_t len = strlen(s);
    if (len >= 2 && s[0] == '"' && s[len - 1] == '"' && !memchr(s + 1, '\\', len - 2) &&
        !memchr(s + 1, ' ', len - 2))
        fl_buf_append(out, s + 1, len - 2);
    else
        fl_buf_puts(out, s);
    fl_buf_free(&b);
}

static void mr_describe_state(struct checker_model *m, uint64_t state, struct fl_buf *out)
{
    struct mreg *r = m->impl;
    size_t n;
    const int64_t *ps = checker__seqtab_get(&r->states, state, &n);
    const int64_t *ds = r->defaults.v;
    size_t i = 0, j = 0, np = n / 2, nd = r->defaults.n / 2;
    bool first = true;
    fl_buf_puts(out, "{");
    while (i < np || j < nd) { /* merge changed registers with the named initial ones */
        int64_t key, val;
        if (j >= nd || (i < np && ps[2 * i] < ds[2 * j])) {
            key = ps[2 * i];
            val = ps[2 * i + 1];
            i++;
        } else if (i >= np || ds[2 * j] < ps[2 * i]) {
            key = ds[2 * j];
            val = ds[2 * j + 1];
            j++;
        } else {
            key = ps[2 * i];
            val = ps[2 * i + 1];
            i++;
            j++;
        }
        if (!first)
            fl_buf_puts(out, ", ");
        first = false;
        describe_key(m, key, out);
        fl_buf_puts(out, " ");
        checker_atom_describe(m, val, out);
    }
    fl_buf_puts(out, "}");
    if (r->other != CHECKER_NIL) {
        fl_buf_puts(out, " (others ");
        checker_atom_describe(m, r->other, out);
        fl_buf_puts(out, ")");
    }
}

static void mr_describe_op(struct checker_model *m, const struct checker_op *op, struct fl_buf *out)
{
    fl_buf_puts(out, "txn [");
    for (uint32_t i = 0; i < op->nxs; i += 3) {
        if (i)
            fl_buf_puts(out, " ");
        fl_buf_puts(out, op->xs[i] == MR_READ ? "[r " : "[w ");
        describe_key(m, op->xs[i + 1], out);
        fl_buf_puts(out, " ");
        checker_atom_describe(m, op->xs[i + 2], out);
        fl_buf_puts(out, "]");
    }
    fl_buf_puts(out, "]");
}

const struct checker_model_ops checker_model_multi_register = {
    .name = "multi-register",
    .summary = "multi-register: txn [[read k v] [write k v] ...] (nil read = not observed)",
    .impl_size = sizeof(struct mreg),
    .create = mr_create,
    .destroy = mr_destroy,
    .prepare = mr_prepare,
    .init = mr_init,
    .step = mr_step,
    .hash = mr_hash,
    .equal = mr_equal,
    .describe_state = mr_describe_state,
    .describe_op = mr_describe_op,
};
