/* model.c - model registry, instance lifecycle and the atom table. */
#include "checker/model.h"

#include "common/alloc.h"
#include "common/edn.h"
#include "common/error.h"
#include "common/rng.h"

#include <string.h>

static const struct checker_model_ops *const all_models[] = {
    &checker_model_register,       &checker_model_kv,
    &checker_model_counter,        &checker_model_set,
    &checker_model_queue,          &checker_model_mutex,
    &checker_model_multi_register, NULL,
};

const struct checker_model_ops *const *checker_model_all(void)
{
    return all_models;
}

const struct checker_model_ops *checker_model_find(const char *name)
{
    if (strcmp(name, "cas-register") == 0)
        name = "register";
    for (size_t i = 0; all_models[i]; i++)
        if (strcmp(all_models[i]->name, name) == 0)
            return all_models[i];
    return NULL;
}

/* ==== Atoms: canonical JSON text <-> dense id ==== */

struct atomtab {
    char **by_id;
    size_t n, id_cap;
    uint32_t *slots; /* id + 1 */
    size_t cap;
};

static bool atom_intern(struct checker_model *m, const char *text, int64_t *out)
{
    struct atomtab *t = m->atoms;
    if (!t) {
        t = fl_calloc(1, sizeof *t);
        if (!t)
            return false;
        m->atoms = t;
    }
    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        uint32_t *slots = fl_calloc(cap, sizeof *slots);
        if (!slots)
            return false;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i])
                continue;
            size_t j = fl_hash_str(t->by_id[t->slots[i] - 1]) & (cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = t->slots[i];
        }
        m->mem_bytes += (cap - t->cap) * sizeof *slots;
        fl_free(t->slots);
        t->slots = slots;
        t->cap = cap;
    }
    size_t j = fl_hash_str(text) & (t->cap - 1);
    while (t->slots[j]) {
        if (strcmp(t->by_id[t->slots[j] - 1], text) == 0) {
            *out = CHECKER_ATOM_BASE + (int64_t)(t->slots[j] - 1);
            return true;
        }
        j = (j + 1) & (t->cap - 1);
    }
    if (t->n >= UINT32_MAX - 1)
        return false;
    if (t->n == t->id_cap) {
        size_t cap = t->id_cap ? t->id_cap * 2 : 64;
        char **by_id = fl_reallocarray(t->by_id, cap, sizeof *by_id);
        if (!by_id)
            return false;
        t->by_id = by_id;
        t->id_cap = cap;
    }
    char *copy = fl_strdup(text);
    if (!copy)
        return false;
    m->mem_bytes += strlen(text) + 1 + sizeof(char *);
    t->by_id[t->n] = copy;
    t->slots[j] = (uint32_t)(t->n + 1);
    *out = CHECKER_ATOM_BASE + (int64_t)t->n;
    t->n++;
    return true;
}

bool checker_atom(struct checker_model *m, const json_t *v, int64_t *out)
{
    if (!v || json_is_null(v)) {
        *out = CHECKER_NIL;
        return true;
    }
    if (json_is_integer(v) && json_integer_value(v) >= CHECKER_ATOM_LIMIT) {
        *out = json_integer_value(v);
        return true;
    }
    char *text = fl_edn_value_text(v);
    if (!text)
        return false;
    bool ok = atom_intern(m, text, out);
    free(text); /* allocated by jansson */
    return ok;
}

const char *checker_atom_text_of(const struct checker_model *m, int64_t atom)
{
    const struct atomtab *t = m->atoms;
    if (!t || atom < CHECKER_ATOM_BASE || atom >= CHECKER_ATOM_LIMIT)
        return NULL;
    size_t id = (size_t)(atom - CHECKER_ATOM_BASE);
    return id < t->n ? t->by_id[id] : NULL;
}

bool checker_atom_text(struct checker_model *m, const char *text, int64_t *out)
{
    return atom_intern(m, text, out);
}

void checker_atom_describe(struct checker_model *m, int64_t atom, struct fl_buf *out)
{
    struct atomtab *t = m->atoms;
    if (atom == CHECKER_NIL) {
        fl_buf_puts(out, "nil");
    } else if (atom >= CHECKER_ATOM_BASE && atom < CHECKER_ATOM_LIMIT) {
        size_t id = (size_t)(atom - CHECKER_ATOM_BASE);
        fl_buf_puts(out, t && id < t->n ? t->by_id[id] : "?");
    } else {
        fl_buf_printf(out, "%lld", (long long)atom);
    }
}

static void atoms_free(struct checker_model *m)
{
    struct atomtab *t = m->atoms;
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        fl_free(t->by_id[i]);
    fl_free(t->by_id);
    fl_free(t->slots);
    fl_free(t);
    m->atoms = NULL;
}

/* ==== Instances ==== */

int checker_model_create(struct checker_model *m, const struct checker_model_ops *ops,
                         const struct checker_model_config *config, char *errmsg)
{
    memset(m, 0, sizeof *m);
    m->ops = ops;
    if (config)
        m->config = *config;
    if (ops->impl_size) {
        m->impl = fl_calloc(1, ops->impl_size);
        if (!m->impl)
            return fl_errorf(errmsg, FL_ENOMEM, "model %s: out of memory", ops->name);
    }
    int rc = ops->create ? ops->create(m, errmsg) : 0;
    if (rc < 0) {
        fl_free(m->impl);
        m->impl = NULL;
        atoms_free(m);
    }
    return rc;
}

void checker_model_destroy(struct checker_model *m)
{
    if (!m->ops)
        return;
    if (m->ops->destroy)
        m->ops->destroy(m);
    atoms_free(m);
    fl_free(m->impl);
    memset(m, 0, sizeof *m);
}
