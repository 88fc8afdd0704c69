/* model_seq.h - internal helpers shared by the models with larger states
 * (set, queue, multi-register): an intern table of int64 sequences, a growable
 * int64 scratch vector and an arena for prepared operations' variable
 * arguments. Not a public module: names use the checker__ prefix.
 *
 * Every byte these hold is added to m->mem_bytes when it is allocated, so the
 * search's --max-memory accounting sees model growth. */
#ifndef CHECKER_MODEL_SEQ_H
#define CHECKER_MODEL_SEQ_H

#include "checker/model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Interned sequences: equal sequences get equal ids (0, 1, 2, ...). */
struct checker__seqtab {
    int64_t *pool; /* all sequences back to back */
    size_t pool_len, pool_cap;
    size_t *off;      /* id -> offset in pool */
    uint32_t *len;    /* id -> length */
    uint64_t *hashes; /* id -> hash */
    size_t n, n_cap;
    uint32_t *slots; /* open addressing, id + 1; 0 = empty */
    size_t cap;
};

/* Interns xs[0..n) (borrowed; may not point into the table's own pool) and
 * stores its id in *id. Returns false on allocation failure. */
bool checker__seqtab_intern(struct checker_model *m, struct checker__seqtab *t, const int64_t *xs,
                            size_t n, uint64_t *id);
/* Returns the sequence with id `id` (borrowed, valid until the next intern)
 * and its length in *n. `id` must have been returned by intern. */
const int64_t *checker__seqtab_get(const struct checker__seqtab *t, uint64_t id, size_t *n);
void checker__seqtab_free(struct checker__seqtab *t);

/* A growable vector of int64, used as per-instance scratch space. */
struct checker__vec {
    int64_t *v;
    size_t n, cap;
};

/* Makes room for at least `want` elements; false on allocation failure. */
bool checker__vec_reserve(struct checker_model *m, struct checker__vec *vec, size_t want);
void checker__vec_free(struct checker__vec *vec);

/* Arena of prepared operations' variable arguments (checker_op.xs). */
struct checker__arena {
    int64_t **blocks;
    size_t n, cap;
};

/* Copies xs[0..n) into the arena; returns the owned copy (valid until
 * checker__arena_free) or NULL on allocation failure. n may be 0. */
const int64_t *checker__arena_copy(struct checker_model *m, struct checker__arena *a,
                                   const int64_t *xs, size_t n);
void checker__arena_free(struct checker__arena *a);

/* qsort comparator for int64. */
int checker__cmp_i64(const void *a, const void *b);

#endif
