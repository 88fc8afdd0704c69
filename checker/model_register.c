/* model_register.c - a read/write/cas register, and the kv model built on it.
 *
 * Operations (f, value):
 *   read   v        ok value is the value read (nil with nil_read_any: anything)
 *   write  v
 *   cas    [old new]  ok: the register held old and now holds new
 * kv spells them get/put and adds append (string concatenation, Porcupine's
 * kv model): append [s] or s appends s to the current string value. The state
 * handle is the value's atom; appended strings are interned as atoms. */
#include "checker/model.h"

#include "common/alloc.h"
#include "common/edn.h"
#include "common/error.h"

#include <string.h>

enum {
    REG_READ = CHECKER_REG_READ,
    REG_WRITE = CHECKER_REG_WRITE,
    REG_CAS = CHECKER_REG_CAS,
    REG_APPEND = CHECKER_REG_APPEND
};

/* Appends memoized: the search applies the same append to the same state
 * many times, and concatenating through JSON text is slow. Open addressing
 * over (state, suffix) -> result; 0-filled slots are empty (used == 0). */
struct memo {
    int64_t cur, suffix, out;
    uint64_t used;
};

struct reg {
    int64_t initial;
    struct memo *memo;
    size_t memo_cap, memo_n;
};

static void reg_destroy(struct checker_model *m)
{
    struct reg *r = m->impl;
    fl_free(r->memo);
    r->memo = NULL;
}

static uint64_t memo_hash(int64_t cur, int64_t suffix)
{
    uint64_t h = (uint64_t)cur * 0x9e3779b97f4a7c15ULL ^ (uint64_t)suffix * 0xc2b2ae3d27d4eb4fULL;
    return h ^ (h >> 29);
}

static struct memo *memo_find(struct reg *r, int64_t cur, int64_t suffix)
{
    if (!r->memo)
        return NULL;
    size_t j = memo_hash(cur, suffix) & (r->memo_cap - 1);
    while (r->memo[j].used) {
        if (r->memo[j].cur == cur && r->memo[j].suffix == suffix)
            return &r->memo[j];
        j = (j + 1) & (r->memo_cap - 1);
    }
    return NULL;
}

/* Remembers one append; a failed allocation only loses the memo. */
static void memo_put(struct checker_model *m, int64_t cur, int64_t suffix, int64_t out)
{
    struct reg *r = m->impl;
    if ((r->memo_n + 1) * 2 > r->memo_cap) {
        size_t cap = r->memo_cap ? r->memo_cap * 2 : 1024;
        struct memo *t = fl_calloc(cap, sizeof *t);
        if (!t)
            return;
        for (size_t i = 0; i < r->memo_cap; i++) {
            if (!r->memo[i].used)
                continue;
            size_t j = memo_hash(r->memo[i].cur, r->memo[i].suffix) & (cap - 1);
            while (t[j].used)
                j = (j + 1) & (cap - 1);
            t[j] = r->memo[i];
        }
        m->mem_bytes += (cap - r->memo_cap) * sizeof *t;
        fl_free(r->memo);
        r->memo = t;
        r->memo_cap = cap;
    }
    size_t j = memo_hash(cur, suffix) & (r->memo_cap - 1);
    while (r->memo[j].used)
        j = (j + 1) & (r->memo_cap - 1);
    r->memo[j] = (struct memo){cur, suffix, out, 1};
    r->memo_n++;
}

static int reg_create(struct checker_model *m, char *errmsg)
{
    struct reg *r = m->impl;
    if (!checker_atom(m, m->config.initial, &r->initial))
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    return 0;
}

static uint64_t reg_init(struct checker_model *m)
{
    return (uint64_t)((struct reg *)m->impl)->initial;
}

static int parse_f(const char *f, bool kv, uint16_t *out)
{
    if (strcmp(f, "read") == 0 || (kv && strcmp(f, "get") == 0))
        *out = REG_READ;
    else if (strcmp(f, "write") == 0 || (kv && strcmp(f, "put") == 0))
        *out = REG_WRITE;
    else if (strcmp(f, "cas") == 0)
        *out = REG_CAS;
    else if (kv && strcmp(f, "append") == 0)
        *out = REG_APPEND;
    else
        return -1;
    return 0;
}

static int prepare(struct checker_model *m, const struct checker_hop *hop, struct checker_op *op,
                   char *errmsg, bool kv)
{
    if (parse_f(hop->f, kv, &op->f) < 0)
        return fl_errorf(errmsg, FL_ESHAPE,
                         kv ? "f: \"%s\" is not an operation of the kv model (get, put, append, "
                              "read, write, cas)"
                            : "f: \"%s\" is not an operation of the register model (read, write, "
                              "cas)",
                         hop->f);
    const json_t *v = hop->value;
    switch (op->f) {
    case REG_READ:
        if (op->crashed || hop->value_unknown)
            return CHECKER_PREPARE_DROP; /* an unobserved read constrains nothing */
        if (json_is_null(v) && m->config.nil_read_any)
            return CHECKER_PREPARE_DROP; /* Knossos: a nil read is always legal */
        if (!checker_atom(m, v, &op->a))
            return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        return 0;
    case REG_WRITE:
        if (!checker_atom(m, v, &op->a))
            return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        return 0;
    case REG_CAS:
        if (!json_is_array(v) || json_array_size(v) != 2)
            return fl_errorf(errmsg, FL_ESHAPE, "value: cas expects [old new]");
        if (!checker_atom(m, json_array_get(v, 0), &op->a) ||
            !checker_atom(m, json_array_get(v, 1), &op->b))
            return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        return 0;
    default: /* REG_APPEND */
        if (json_is_array(v) && json_array_size(v) == 1)
            v = json_array_get(v, 0);
        if (!json_is_string(v) || fl_edn_is_tagged(v))
            return fl_errorf(errmsg, FL_ESHAPE, "value: append expects a string");
        if (!checker_atom(m, v, &op->a))
            return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        return 0;
    }
}

static int reg_prepare(struct checker_model *m, const struct checker_hop *hop,
                       struct checker_op *op, char *errmsg)
{
    return prepare(m, hop, op, errmsg, false);
}

static int kv_prepare(struct checker_model *m, const struct checker_hop *hop, struct checker_op *op,
                      char *errmsg)
{
    return prepare(m, hop, op, errmsg, true);
}

/* Concatenates two string atoms into a new interned atom. Returns false for
 * an append to a non-string (illegal) and, setting m->oom, when memory ran
 * out: that must not pass for an illegal step (a wrong verdict). */
static bool append_atom(struct checker_model *m, int64_t cur, int64_t suffix, int64_t *out)
{
    /* Fast path: both are JSON strings, whose canonical texts (jansson
     * escapes each character on its own) concatenate by dropping the
     * first's closing quote and the second's opening one. */
    const char *ta = cur == CHECKER_NIL ? "\"\"" : checker_atom_text_of(m, cur);
    const char *tb = checker_atom_text_of(m, suffix);
    if (ta && tb && ta[0] == '"' && tb[0] == '"') {
        size_t la = strlen(ta), lb = strlen(tb);
        char stackbuf[512];
        char *cat = la + lb <= sizeof stackbuf ? stackbuf : fl_malloc(la + lb);
        if (!cat) {
            m->oom = true;
            return false;
        }
        memcpy(cat, ta, la - 1);
        memcpy(cat + la - 1, tb + 1, lb); /* with tb's NUL */
        bool ok = checker_atom_text(m, cat, out);
        if (cat != stackbuf)
            fl_free(cat);
        if (!ok)
            m->oom = true;
        return ok;
    }
    if (ta && tb && (ta[0] != '"' || tb[0] != '"')) {
        *out = cur; /* appending to a non-string: illegal, not OOM */
        return false;
    }
    struct fl_buf a, b;
    bool ok = false, oom = false;
    fl_buf_init(&a);
    fl_buf_init(&b);
    if (cur != CHECKER_NIL)
        checker_atom_describe(m, cur, &a);
    checker_atom_describe(m, suffix, &b);
    const char *sa = fl_buf_cstr(&a), *sb = fl_buf_cstr(&b);
    json_t *ja = cur == CHECKER_NIL ? json_string("") : json_loads(sa, JSON_DECODE_ANY, NULL);
    json_t *jb = json_loads(sb, JSON_DECODE_ANY, NULL);
    if (!ja || !jb || a.oom || b.oom) {
        oom = true;
    } else if (json_is_string(ja) && json_is_string(jb)) {
        size_t la = json_string_length(ja), lb = json_string_length(jb);
        struct fl_buf cat;
        fl_buf_init(&cat);
        fl_buf_append(&cat, json_string_value(ja), la);
        fl_buf_append(&cat, json_string_value(jb), lb);
        json_t *j = cat.oom ? NULL : json_stringn(fl_buf_cstr(&cat), la + lb);
        ok = j && checker_atom(m, j, out);
        oom = !ok;
        json_decref(j);
        fl_buf_free(&cat);
    } else {
        *out = cur; /* appending to a non-string: illegal, not OOM */
    }
    if (oom)
        m->oom = true;
    json_decref(ja);
    json_decref(jb);
    fl_buf_free(&a);
    fl_buf_free(&b);
    return ok;
}

static bool reg_step(struct checker_model *m, uint64_t state, const struct checker_op *op,
                     uint64_t *next)
{
    int64_t v = (int64_t)state;
    switch (op->f) {
    case REG_READ:
        *next = state;
        return v == op->a;
    case REG_WRITE:
        *next = (uint64_t)op->a;
        return true;
    case REG_CAS:
        if (v != op->a)
            return false; /* an ok cas must have matched; a crashed one that fails is a no-op */
        *next = (uint64_t)op->b;
        return true;
    default: {
        int64_t out;
        struct memo *hit = memo_find(m->impl, v, op->a);
        if (hit) {
            if (hit->out == CHECKER_NIL)
                return false; /* remembered: appending to a non-string */
            *next = (uint64_t)hit->out;
            return true;
        }
        if (!append_atom(m, v, op->a, &out)) {
            if (!m->oom)
                memo_put(m, v, op->a, CHECKER_NIL);
            return false;
        }
        memo_put(m, v, op->a, out);
        *next = (uint64_t)out;
        return true;
    }
    }
}

static uint64_t reg_hash(struct checker_model *m, uint64_t state)
{
    (void)m;
    return state;
}

static bool reg_equal(struct checker_model *m, uint64_t a, uint64_t b)
{
    (void)m;
    return a == b;
}

static void reg_describe_state(struct checker_model *m, uint64_t state, struct fl_buf *out)
{
    checker_atom_describe(m, (int64_t)state, out);
}

static void reg_describe_op(struct checker_model *m, const struct checker_op *op,
                            struct fl_buf *out)
{
    static const char *const names[] = {"read", "write", "cas", "append"};
    fl_buf_printf(out, "%s ", names[op->f]);
    if (op->f == REG_CAS) {
        fl_buf_puts(out, "[");
        checker_atom_describe(m, op->a, out);
        fl_buf_puts(out, " ");
        checker_atom_describe(m, op->b, out);
        fl_buf_puts(out, "]");
    } else {
        checker_atom_describe(m, op->a, out);
    }
}

static bool reg_read_only(struct checker_model *m, const struct checker_op *op)
{
    (void)m;
    return op->f == REG_READ;
}

const struct checker_model_ops checker_model_register = {
    .name = "register",
    .summary = "read/write/cas register (alias cas-register); values any JSON, cas [old new]",
    .impl_size = sizeof(struct reg),
    .create = reg_create,
    .destroy = reg_destroy,
    .prepare = reg_prepare,
    .init = reg_init,
    .step = reg_step,
    .read_only = reg_read_only,
    .hash = reg_hash,
    .equal = reg_equal,
    .describe_state = reg_describe_state,
    .describe_op = reg_describe_op,
};

const struct checker_model_ops checker_model_kv = {
    .name = "kv",
    .summary = "a register per key: get/put/append or read/write/cas",
    .impl_size = sizeof(struct reg),
    .create = reg_create,
    .destroy = reg_destroy,
    .prepare = kv_prepare,
    .init = reg_init,
    .step = reg_step,
    .read_only = reg_read_only,
    .hash = reg_hash,
    .equal = reg_equal,
    .describe_state = reg_describe_state,
    .describe_op = reg_describe_op,
};
