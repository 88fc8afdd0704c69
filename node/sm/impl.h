/* impl.h - helpers shared by the state machines of node/sm/ (not public).
 *
 * Results and op parsing (sm.c), canonical JSON encoding and ordering
 * (sm.c), and a byte-keyed open-addressing hash table (table.c). */
#ifndef NODE_SM_IMPL_H
#define NODE_SM_IMPL_H

#include "node/sm/sm.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Flags of the canonical encoding: compact, sorted keys, any value. */
#define SM__JSON_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)

/* ==== Results (new references; NULL on allocation failure) ==== */

json_t *sm__ok(void);
/* {"ok":true,"value":v}; steals v (a new reference; NULL fails). */
json_t *sm__ok_value(json_t *v);
/* {"ok":false,"error":error}. */
json_t *sm__fail(const char *error);
/* {"ok":false,"error":error,"message":<formatted>}. */
json_t *sm__failf(const char *error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ==== Ops ==== */

/* Returns op's "f" (borrowed) or NULL when op is not an object with a string
 * f; then *result is a bad_request result (NULL on allocation failure, with
 * *oom set). */
const char *sm__op_f(const json_t *op, json_t **result, bool *oom);
/* Returns op's "value" (borrowed) when present and its encoding fits
 * SM_VALUE_MAX; otherwise NULL and *result is a bad_request or too_large
 * result (or *oom). */
const json_t *sm__op_value(const json_t *op, json_t **result, bool *oom);
/* Releases `index` through ctx, if it has a release callback. */
void sm__release(const struct sm_ctx *ctx, uint64_t index);
void sm__publish(const struct sm_ctx *ctx, uint64_t session, json_t *event);

/* ==== Canonical encoding ==== */

/* Encodes v canonically into a fresh fl_malloc'd NUL-terminated string;
 * *len is its length. NULL on allocation failure. */
char *sm__encode(const json_t *v, size_t *len);
/* Bytes of v's canonical encoding, without allocating (but sorting keys may;
 * returns SIZE_MAX then). */
size_t sm__encoded_size(const json_t *v);
/* Appends v's canonical encoding to out; false on allocation failure. */
bool sm__dump(const json_t *v, struct fl_buf *out);
/* Total order of sm.h on (value, canonical text) pairs. */
int sm__cmp(const json_t *a, const char *atext, size_t alen, const json_t *b, const char *btext,
            size_t blen);

/* Parses a snapshot: an object whose "sm" is `name`. Returns the new
 * reference or NULL with errmsg set and *rc the code. */
json_t *sm__snapshot_parse(const char *bytes, size_t len, const char *name, char *errmsg, int *rc);
/* Reads a log index (an integer >= 1) from v; false if it is not one. */
bool sm__index(const json_t *v, uint64_t *out);

/* Grows the array *pptr (any T **, elements of `size` bytes, capacity *cap)
 * to hold at least `need`; false on allocation failure (nothing changed). */
bool sm__grow(void *pptr, size_t *cap, size_t need, size_t size);

/* ==== Byte-keyed hash table (table.c) ====
 * Maps (key bytes) -> item pointer. Keys are borrowed: they must stay valid
 * and unchanged while in the table (point them into the item). */

struct sm__slot {
    uint64_t hash;
    const void *key;
    size_t klen;
    void *item; /* NULL: empty slot */
};

struct sm__table {
    struct sm__slot *slots;
    size_t cap; /* 0 or a power of two */
    size_t len;
};

void sm__table_init(struct sm__table *t);
/* Frees the slot array (not the items). */
void sm__table_free(struct sm__table *t);
void *sm__table_get(const struct sm__table *t, const void *key, size_t klen);
/* Makes room for `extra` more items so that many puts cannot fail. Returns
 * false on allocation failure (the table is unchanged). */
bool sm__table_reserve(struct sm__table *t, size_t extra);
/* Inserts a key that is not present; room must have been reserved. */
void sm__table_put(struct sm__table *t, const void *key, size_t klen, void *item);
/* Removes key; returns its item or NULL. */
void *sm__table_del(struct sm__table *t, const void *key, size_t klen);

#endif
