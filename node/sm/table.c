/* table.c - byte-keyed open-addressing hash table (linear probing, backward
 * shift deletion) for the state machines' keys, elements and sessions. */
#include "node/sm/impl.h"

#include "common/alloc.h"
#include "common/rng.h"

#include <string.h>

static uint64_t hash_bytes(const void *key, size_t klen)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return fl_mix64(h ^ klen);
}

void sm__table_init(struct sm__table *t)
{
    memset(t, 0, sizeof *t);
}

void sm__table_free(struct sm__table *t)
{
    fl_free(t->slots);
    sm__table_init(t);
}

static size_t find(const struct sm__table *t, uint64_t h, const void *key, size_t klen)
{
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const struct sm__slot *s = &t->slots[i];
        if (!s->item)
            return i;
        if (s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)
            return i;
    }
}

void *sm__table_get(const struct sm__table *t, const void *key, size_t klen)
{
    if (t->len == 0)
        return NULL;
    return t->slots[find(t, hash_bytes(key, klen), key, klen)].item;
}

bool sm__table_reserve(struct sm__table *t, size_t extra)
{
    size_t need = t->len + extra;
    if (need < t->len)
        return false;
    if (t->cap && need <= t->cap / 4 * 3)
        return true;
    size_t cap = t->cap ? t->cap : 16;
    while (need > cap / 4 * 3) {
        if (cap > SIZE_MAX / 2 / sizeof(struct sm__slot))
            return false;
        cap *= 2;
    }
    struct sm__slot *slots = fl_calloc(cap, sizeof *slots);
    if (!slots)
        return false;
    struct sm__table n = {slots, cap, 0};
    for (size_t i = 0; i < t->cap; i++) {
        struct sm__slot *s = &t->slots[i];
        if (s->item)
            n.slots[find(&n, s->hash, s->key, s->klen)] = *s;
    }
    n.len = t->len;
    fl_free(t->slots);
    *t = n;
    return true;
}

void sm__table_put(struct sm__table *t, const void *key, size_t klen, void *item)
{
    uint64_t h = hash_bytes(key, klen);
    size_t i = find(t, h, key, klen);
    t->slots[i] = (struct sm__slot){h, key, klen, item};
    t->len++;
}

void *sm__table_del(struct sm__table *t, const void *key, size_t klen)
{
    if (t->len == 0)
        return NULL;
    size_t mask = t->cap - 1;
    size_t i = find(t, hash_bytes(key, klen), key, klen);
    void *item = t->slots[i].item;
    if (!item)
        return NULL;
    /* Backward shift: pull later members of the probe run into the hole. */
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        struct sm__slot *s = &t->slots[j];
        if (!s->item)
            break;
        size_t home = s->hash & mask;
        /* Move s into hole i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            t->slots[i] = *s;
            i = j;
        }
    }
    memset(&t->slots[i], 0, sizeof t->slots[i]);
    t->len--;
    return item;
}
