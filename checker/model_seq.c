/* model_seq.c - sequence interning, scratch vectors and the xs arena for models. */
#include "checker/model_seq.h"

#include "common/alloc.h"
#include "common/rng.h"

#include <string.h>

/* ==== Intern table ==== */

static uint64_t seq_hash(const int64_t *xs, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    for (size_t i = 0; i < n; i++)
        h = fl_mix64(h ^ (uint64_t)xs[i]) + 0x632be59bd9b4e019ULL;
    return fl_mix64(h);
}

static bool seqtab_grow_slots(struct checker_model *m, struct checker__seqtab *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    uint32_t *slots = fl_calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i])
            continue;
        size_t j = t->hashes[t->slots[i] - 1] & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    m->mem_bytes += (cap - t->cap) * sizeof *slots;
    fl_free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return true;
}

static bool seqtab_grow_ids(struct checker_model *m, struct checker__seqtab *t)
{
    size_t cap = t->n_cap ? t->n_cap * 2 : 64;
    size_t *off = fl_reallocarray(t->off, cap, sizeof *off);
    if (!off)
        return false;
    t->off = off;
    uint32_t *len = fl_reallocarray(t->len, cap, sizeof *len);
    if (!len)
        return false;
    t->len = len;
    uint64_t *hashes = fl_reallocarray(t->hashes, cap, sizeof *hashes);
    if (!hashes)
        return false;
    t->hashes = hashes;
    m->mem_bytes += (cap - t->n_cap) * (sizeof *off + sizeof *len + sizeof *hashes);
    t->n_cap = cap;
    return true;
}

bool checker__seqtab_intern(struct checker_model *m, struct checker__seqtab *t, const int64_t *xs,
                            size_t n, uint64_t *id)
{
    if (n > UINT32_MAX)
        return false;
    if ((t->n + 1) * 2 > t->cap && !seqtab_grow_slots(m, t))
        return false;
    uint64_t h = seq_hash(xs, n);
    size_t j = h & (t->cap - 1);
    while (t->slots[j]) {
        size_t k = t->slots[j] - 1;
        if (t->hashes[k] == h && t->len[k] == n &&
            (n == 0 || memcmp(t->pool + t->off[k], xs, n * sizeof *xs) == 0)) {
            *id = k;
            return true;
        }
        j = (j + 1) & (t->cap - 1);
    }
    if (t->n >= UINT32_MAX - 1)
        return false;
    if (t->n == t->n_cap && !seqtab_grow_ids(m, t))
        return false;
    if (t->pool_len + n > t->pool_cap) {
        size_t cap = t->pool_cap ? t->pool_cap : 256;
        while (cap < t->pool_len + n)
            cap *= 2;
        int64_t *pool = fl_reallocarray(t->pool, cap, sizeof *pool);
        if (!pool)
            return false;
        m->mem_bytes += (cap - t->pool_cap) * sizeof *pool;
        t->pool = pool;
        t->pool_cap = cap;
    }
    if (n)
        memcpy(t->pool + t->pool_len, xs, n * sizeof *xs);
    t->off[t->n] = t->pool_len;
    t->len[t->n] = (uint32_t)n;
    t->hashes[t->n] = h;
    t->pool_len += n;
    t->slots[j] = (uint32_t)(t->n + 1);
    *id = t->n++;
    return true;
}

const int64_t *checker__seqtab_get(const struct checker__seqtab *t, uint64_t id, size_t *n)
{
    *n = t->len[id];
    return t->pool ? t->pool + t->off[id] : NULL;
}

void checker__seqtab_free(struct checker__seqtab *t)
{
    fl_free(t->pool);
    fl_free(t->off);
    fl_free(t->len);
    fl_free(t->hashes);
    fl_free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ==== Scratch vectors ==== */

bool checker__vec_reserve(struct checker_model *m, struct checker__vec *vec, size_t want)
{
    if (want <= vec->cap)
        return true;
    size_t cap = vec->cap ? vec->cap : 16;
    while (cap < want)
        cap *= 2;
    int64_t *v = fl_reallocarray(vec->v, cap, sizeof *v);
    if (!v)
        return false;
    m->mem_bytes += (cap - vec->cap) * sizeof *v;
    vec->v = v;
    vec->cap = cap;
    return true;
}

void checker__vec_free(struct checker__vec *vec)
{
    fl_free(vec->v);
    memset(vec, 0, sizeof *vec);
}

/* ==== Arena ==== */

const int64_t *checker__arena_copy(struct checker_model *m, struct checker__arena *a,
                                   const int64_t *xs, size_t n)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        int64_t **blocks = fl_reallocarray(a->blocks, cap, sizeof *blocks);
        if (!blocks)
            return NULL;
        m->mem_bytes += (cap - a->cap) * sizeof *blocks;
        a->blocks = blocks;
        a->cap = cap;
    }
    int64_t *copy = fl_malloc((n ? n : 1) * sizeof *copy);
    if (!copy)
        return NULL;
    if (n)
        memcpy(copy, xs, n * sizeof *xs);
    m->mem_bytes += (n ? n : 1) * sizeof *copy;
    a->blocks[a->n++] = copy;
    return copy;
}

void checker__arena_free(struct checker__arena *a)
{
    for (size_t i = 0; i < a->n; i++)
        fl_free(a->blocks[i]);
    fl_free(a->blocks);
    memset(a, 0, sizeof *a);
}

int checker__cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}
