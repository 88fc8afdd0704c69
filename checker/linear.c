/* linear.c - Wing & Gong linearizability search with Lowe's memoization.
 *
 * Per key, operations become call and return entries in a doubly linked list
 * in observation order (WGL). The search walks the list: at a call entry it
 * tries to linearize that operation next (the model step must be legal and
 * the resulting configuration - set of linearized operations plus model
 * state - must be new, Lowe's cache); at a return entry of an operation not
 * yet linearized it must backtrack. Indeterminate (info) operations have no
 * return entry: they may be linearized anywhere after their call or never,
 * and the search succeeds once every completed operation is linearized.
 *
 * Cache keys are canonical and compact: with m the lowest completed operation
 * not yet linearized, every completed operation below m is linearized and no
 * operation invoked after m returned can be (WGL would have hit m's return
 * entry first). So (state, m, the bitset words from m to lim[m], the bitset of
 * indeterminate operations) names a configuration exactly, in a few words
 * even for a 30,000-operation key. */
#include "checker/linear.h"
#include "checker/unique.h"

#include "common/alloc.h"
#include "common/error.h"
#include "common/rng.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CEX_STATES     16
#define MAX_CEX_CONCURRENT 32
#define CHUNK_WORDS        (1u << 17) /* 1 MiB arena chunks at most */
#define FIRST_CHUNK_WORDS  (1u << 10) /* 8 KiB first, doubling: a small key touches few pages */
#define FIRST_CACHE_SLOTS  64
#define ROUND_FIRST        5000       /* configurations per key in the first round */
#define ROUND_GROWTH       8          /* each later round allows this many times more */
#define ROUND_OVER         1          /* run()'s *err: the round's budget ran out */

const char *checker_verdict_name(enum checker_verdict v)
{
    switch (v) {
    case CHECKER_VALID:
        return "valid";
    case CHECKER_INVALID:
        return "invalid";
    default:
        return "unknown";
    }
}

size_t checker_default_max_memory(void)
{
    long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    size_t avail = pages > 0 && size > 0 ? (size_t)pages * (size_t)size : (size_t)4 << 30;
    size_t cap = (size_t)8 << 30;
    avail /= 2;
    return avail < cap ? avail : cap;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ==== Shared state across key searches ==== */

struct key_result {
    enum checker_verdict verdict;
    int err; /* < 0: the key's operations did not fit the model */
    char errmsg[FL_ERRMSG_SIZE];
    char reason[FL_ERRMSG_SIZE];
    size_t n_ops, n_crashed;
    uint64_t configs;
    bool has_cex;
    struct checker_counterexample cex;
    bool decided;   /* a verdict (or a model error) that no larger budget changes */
    bool unique;    /* decided by the unique-value procedure */
    bool unchecked; /* left undecided once another key was invalid */
};

struct shared {
    const struct checker_history *h;
    const struct checker_model_ops *model;
    const struct checker_model_config *config;
    enum checker_procedure procedure;
    size_t max_memory;
    double deadline; /* 0: none */
    double timeout_s;
    size_t *key_start; /* CSR of hop indices per key */
    size_t *key_hops;
    uint32_t *order; /* keys, largest first */
    size_t n_order;
    atomic_size_t next; /* work queue cursor into order */
    atomic_size_t mem, peak;
    atomic_uint min_invalid;    /* lowest invalid key id so far */
    struct key_result *results; /* by key id */
    uint64_t round_budget;      /* configurations per key in this round; 0: none */
};

/* Charges `bytes` to the budget; false when that would exceed it (the caller
 * then gives the charge back and does not allocate). The peak counts only
 * granted charges, so it never reports more than --max-memory. */
static bool mem_add(struct shared *s, size_t bytes)
{
    size_t now = atomic_fetch_add(&s->mem, bytes) + bytes;
    if (now > s->max_memory)
        return false;
    size_t peak = atomic_load(&s->peak);
    while (now > peak && !atomic_compare_exchange_weak(&s->peak, &peak, now))
        ;
    return true;
}

static void mem_sub(struct shared *s, size_t bytes)
{
    atomic_fetch_sub(&s->mem, bytes);
}

/* ==== Configuration cache ==== */

/* A slot holds a base key (state, m, window of the completed bitset) and a
 * list of indeterminate-operation bitsets seen with it. A configuration whose
 * indeterminate set is a superset of one already seen is dominated: the
 * earlier one left more operations optional and can do all it can. */
struct slot {
    uint64_t hash;
    uint64_t *key;  /* base key words, then unused */
    uint64_t *sets; /* first record: [next pointer][xwords words] */
};

struct cache {
    struct slot *slots;
    size_t cap, n;
    uint64_t **chunks;
    size_t n_chunks, chunks_cap;
    size_t used;        /* words used in the last chunk */
    size_t chunk_words; /* the last chunk's size */
    size_t bytes; /* accounted in shared.mem */
};

static void cache_free(struct cache *c, struct shared *s)
{
    for (size_t i = 0; i < c->n_chunks; i++)
        fl_free(c->chunks[i]);
    fl_free(c->chunks);
    fl_free(c->slots);
    mem_sub(s, c->bytes);
    memset(c, 0, sizeof *c);
}

static uint64_t hash_words(const uint64_t *w, size_t n)
{
    uint64_t h = 0x243f6a8885a308d3ULL ^ n;
    for (size_t i = 0; i < n; i++)
        h = fl_mix64(h ^ w[i]) + 0x9e3779b97f4a7c15ULL;
    return h;
}

static uint64_t *arena_alloc(struct cache *c, struct shared *s, size_t n, int *err)
{
    if (c->n_chunks == 0 || c->used + n > c->chunk_words) {
        /* Chunks double from 8 KiB to 1 MiB: a page fault costs ~17 us on
         * the development VM, and most keys of a small history need a few
         * KiB (a fresh 1 MiB chunk was an mmap and munmap per key). */
        size_t next = c->n_chunks == 0 ? FIRST_CHUNK_WORDS
                      : c->chunk_words < CHUNK_WORDS ? c->chunk_words * 2
                                                     : CHUNK_WORDS;
        size_t words = n > next ? n : next;
        if (!mem_add(s, words * 8)) {
            mem_sub(s, words * 8);
            *err = FL_EBUDGET;
            return NULL;
        }
        if (c->n_chunks == c->chunks_cap) {
            size_t ncap = c->chunks_cap ? c->chunks_cap * 2 : 16;
            uint64_t **chunks = fl_reallocarray(c->chunks, ncap, sizeof *chunks);
            if (!chunks) {
                mem_sub(s, words * 8);
                *err = FL_ENOMEM;
                return NULL;
            }
            c->chunks = chunks;
            c->chunks_cap = ncap;
        }
        uint64_t *chunk = fl_malloc(words * 8);
        if (!chunk) {
            mem_sub(s, words * 8);
            *err = FL_ENOMEM;
            return NULL;
        }
        c->bytes += words * 8;
        c->chunk_words = words;
        c->chunks[c->n_chunks++] = chunk;
        c->used = 0;
    }
    uint64_t *p = c->chunks[c->n_chunks - 1] + c->used;
    c->used += n;
    return p;
}

static int cache_grow(struct cache *c, struct shared *s)
{
    size_t cap = c->cap ? c->cap * 2 : FIRST_CACHE_SLOTS;
    if (!mem_add(s, cap * sizeof(struct slot))) {
        mem_sub(s, cap * sizeof(struct slot));
        return FL_EBUDGET;
    }
    struct slot *slots = fl_calloc(cap, sizeof *slots);
    if (!slots) {
        mem_sub(s, cap * sizeof(struct slot));
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].key)
            continue;
        size_t j = c->slots[i].hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = c->slots[i];
    }
    mem_sub(s, c->cap * sizeof(struct slot));
    c->bytes += (cap - c->cap) * sizeof(struct slot);
    fl_free(c->slots);
    c->slots = slots;
    c->cap = cap;
    return 0;
}

/* Adds configuration (base key of n words, indeterminate set of xw words)
 * unless it is dominated. Returns 1 if added, 0 if dominated, or a negative
 * code when memory or the budget ran out. */
static int cache_add(struct cache *c, struct shared *s, const uint64_t *key, size_t n,
                     const uint64_t *xb, size_t xw)
{
    int err = 0;
    uint64_t h = hash_words(key, n);
    if ((c->n + 1) * 4 > c->cap * 3 && (err = cache_grow(c, s)) < 0)
        return err;
    size_t j = h & (c->cap - 1);
    struct slot *sl = NULL;
    while (c->slots[j].key) {
        if (c->slots[j].hash == h && memcmp(c->slots[j].key, key, n * sizeof *key) == 0) {
            sl = &c->slots[j];
            break;
        }
        j = (j + 1) & (c->cap - 1);
    }
    if (sl) {
        for (uint64_t *rec = sl->sets; rec; rec = (uint64_t *)(uintptr_t)rec[0]) {
            size_t w = 0;
            while (w < xw && (rec[1 + w] & ~xb[w]) == 0)
                w++;
            if (w == xw)
                return 0; /* a subset was seen: dominated */
        }
    }
    uint64_t *rec = arena_alloc(c, s, 1 + xw + (sl ? 0 : n), &err);
    if (!rec)
        return err;
    memcpy(rec + 1, xb, xw * sizeof *xb);
    if (sl) {
        rec[0] = (uint64_t)(uintptr_t)sl->sets;
        sl->sets = rec;
        return 1;
    }
    rec[0] = 0;
    uint64_t *k = rec + 1 + xw;
    memcpy(k, key, n * sizeof *key);
    c->slots[j].hash = h;
    c->slots[j].key = k;
    c->slots[j].sets = rec;
    c->n++;
    return 1;
}

/* ==== One key's search ==== */

struct entry {
    struct entry *prev, *next;
    struct entry *match; /* call -> return (NULL if indeterminate); return -> call */
    struct checker_op *op;
    int64_t pos;
    bool is_call;
};

struct frame {
    struct entry *e;
    uint64_t state;
    bool forced; /* a legal read-only op: no alternative to try */
};

struct search {
    struct shared *s;
    uint32_t key;
    struct checker_model model;
    struct checker_op *ops; /* completed ops (ids 0..nc-1), then indeterminate */
    size_t nc, nx;
    uint32_t *lim; /* per completed id: highest id invoked before it returned */
    struct entry *entries;
    struct entry head;
    struct frame *stack;
    size_t depth;
    uint64_t *cb, *xb; /* linearized bitsets: completed, indeterminate */
    size_t cwords, xwords;
    size_t m; /* lowest completed id not linearized */
    uint64_t *kbuf;
    struct cache cache;
    uint64_t configs;
    /* Counterexample bookkeeping. */
    size_t best_depth;
    struct checker_op *best_op;
    uint64_t best_states[MAX_CEX_STATES];
    size_t n_best_states;
    struct checker_op **prefix; /* longest linearizable prefix seen (stack copy) */
    size_t n_prefix;
    size_t prefix_valid; /* prefix[0..prefix_valid) still equals the stack */
    bool *ro;            /* per op id: read-only in the model */
    /* Per indeterminate op (index id - nc): the previous indeterminate op
     * with the same effect, or NULL. Identical indeterminate ops that are
     * both invoked are interchangeable, so only the earliest one not yet
     * linearized is a candidate: linearized members of a class are always a
     * prefix of it and the cache keys stay canonical. */
    struct checker_op **prev_same;
};

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

static void lift(struct entry *e)
{
    e->prev->next = e->next;
    if (e->next)
        e->next->prev = e->prev;
    struct entry *r = e->match;
    if (r) {
        r->prev->next = r->next;
        if (r->next)
            r->next->prev = r->prev;
    }
}

static void unlift(struct entry *e)
{
    struct entry *r = e->match;
    if (r) {
        r->prev->next = r;
        if (r->next)
            r->next->prev = r;
    }
    e->prev->next = e;
    if (e->next)
        e->next->prev = e;
}

static void set_bit(struct search *S, const struct checker_op *op)
{
    if (op->crashed) {
        size_t i = op->id - S->nc;
        S->xb[i >> 6] |= 1ULL << (i & 63);
        return;
    }
    S->cb[op->id >> 6] |= 1ULL << (op->id & 63);
    while (S->m < S->nc && (S->cb[S->m >> 6] >> (S->m & 63) & 1))
        S->m++;
}

static void clear_bit(struct search *S, const struct checker_op *op)
{
    if (op->crashed) {
        size_t i = op->id - S->nc;
        S->xb[i >> 6] &= ~(1ULL << (i & 63));
        return;
    }
    S->cb[op->id >> 6] &= ~(1ULL << (op->id & 63));
    if (op->id < S->m)
        S->m = op->id;
}

/* Builds the canonical base key of the current configuration with `state`:
 * everything but the indeterminate set, which cache_add compares by subset. */
static size_t make_key(struct search *S, uint64_t state)
{
    uint64_t *k = S->kbuf;
    size_t n = 0;
    k[n++] = S->model.ops->hash(&S->model, state) ^ (state * 0x9e3779b97f4a7c15ULL);
    k[n++] = state;
    k[n++] = S->m;
    if (S->m < S->nc) {
        size_t lo = S->m >> 6, hi = S->lim[S->m] >> 6;
        for (size_t w = lo; w <= hi; w++)
            k[n++] = S->cb[w];
    }
    return n;
}

/* At a block (a return entry of an operation not linearized), remembers
 * the operation blocking the deepest configuration, the states it was
 * blocked in at that depth, and the stack as the longest linearizable
 * prefix. The prefix is copied incrementally: only the part of the stack
 * above its low-water mark since the last copy, so the total copying is
 * bounded by the number of pushes. */
static int note_block(struct search *S, struct checker_op *op, uint64_t state)
{
    if (S->depth > S->best_depth || !S->best_op) {
        S->best_depth = S->depth;
        S->best_op = op;
        S->n_best_states = 0;
        if (S->prefix_valid > S->depth)
            S->prefix_valid = S->depth;
        for (size_t i = S->prefix_valid; i < S->depth; i++)
            S->prefix[i] = S->stack[i].e->op;
        S->n_prefix = S->depth;
        S->prefix_valid = S->depth;
    }
    if (op == S->best_op) {
        for (size_t i = 0; i < S->n_best_states; i++)
            if (S->best_states[i] == state)
                return 0;
        if (S->n_best_states < MAX_CEX_STATES)
            S->best_states[S->n_best_states++] = state;
    }
    return 0;
}

enum { RUN_VALID, RUN_INVALID, RUN_ABORT };

/* Runs WGL. Candidates at a configuration are the call entries before the
 * first return entry. They are tried in three phases: read-only completed
 * operations (a legal one is taken as the only choice: if that fails, so
 * does the configuration), other completed operations, then indeterminate
 * ones, so that "not yet" is explored before "now" and the subset test in
 * the cache prunes the configurations that linearize them. */
static int run(struct search *S, int *err)
{
    struct shared *s = S->s;
    uint64_t state = S->model.ops->init(&S->model);
    struct entry *e = S->head.next;
    size_t linearized = 0;
    uint64_t iter = 0;
    int phase = 0;
    bool has_ro = S->model.ops->read_only != NULL;

    memset(S->cb, 0, S->cwords * 8);
    memset(S->xb, 0, S->xwords * 8);
    S->m = 0;
    S->depth = 0;
    if (!has_ro)
        phase = 1;

    while (linearized < S->nc) {
        if ((++iter & 1023) == 0) {
            if (atomic_load_explicit(&s->min_invalid, memory_order_relaxed) < S->key)
                return RUN_ABORT; /* a lower key is invalid: ours no longer matters */
            if (s->deadline > 0 && now_s() > s->deadline) {
                *err = FL_EBUDGET;
                return RUN_ABORT;
            }
        }
        if (e && e->is_call) {
            uint64_t next;
            struct checker_op *op = e->op;
            int op_phase = op->crashed ? 2 : (S->ro[op->id] ? 0 : 1);
            if (op_phase != phase) {
                e = e->next;
                continue;
            }
            if (op->crashed) {
                struct checker_op *prev = S->prev_same[op->id - S->nc];
                if (prev && !(S->xb[(prev->id - S->nc) >> 6] >> ((prev->id - S->nc) & 63) & 1)) {
                    e = e->next; /* an identical earlier op is still pending */
                    continue;
                }
            }
            if (S->model.ops->step(&S->model, state, op, &next)) {
                set_bit(S, op);
                size_t n = make_key(S, next);
                int added = cache_add(&S->cache, s, S->kbuf, n, S->xb, S->xwords);
                if (added < 0) {
                    *err = added;
                    return RUN_ABORT;
                }
                if (added) {
                    if (++S->configs > s->round_budget && s->round_budget) {
                        *err = ROUND_OVER;
                        return RUN_ABORT;
                    }
                    S->stack[S->depth].e = e;
                    S->stack[S->depth].state = state;
                    S->stack[S->depth].forced = phase == 0;
                    S->depth++;
                    if (!op->crashed)
                        linearized++;
                    state = next;
                    lift(e);
                    e = S->head.next;
                    phase = has_ro ? 0 : 1;
                    continue;
                }
                clear_bit(S, op);
                if (phase == 0)
                    goto backtrack; /* that configuration failed already: so does this one */
            } else if (S->model.oom) {
                *err = FL_ENOMEM;
                return RUN_ABORT;
            }
            e = e->next;
            continue;
        }
        /* A return entry of an operation not linearized yet (or the end of
         * the list): the next phase rescans the same candidates. */
        if (phase < 2 && (phase == 0 || S->nx > 0)) {
            phase++;
            e = S->head.next;
            continue;
        }
        if (e)
            note_block(S, e->op, state);
    backtrack:
        for (;;) {
            if (S->depth == 0)
                return RUN_INVALID;
            S->depth--;
            if (S->prefix_valid > S->depth)
                S->prefix_valid = S->depth;
            struct frame *f = &S->stack[S->depth];
            state = f->state;
            clear_bit(S, f->e->op);
            if (!f->e->op->crashed)
                linearized--;
            unlift(f->e);
            if (f->forced)
                continue; /* its parent had no other choice worth trying */
            e = f->e->next;
            phase = f->e->op->crashed ? 2 : 1;
            break;
        }
    }
    return RUN_VALID;
}

static char *describe_hop(struct search *S, const struct checker_op *op)
{
    const struct checker_hop *hop = &S->s->h->ops[op->hop];
    struct fl_buf b;
    fl_buf_init(&b);
    fl_buf_printf(&b, "process %lld ", (long long)hop->process);
    S->model.ops->describe_op(&S->model, op, &b);
    if (op->crashed)
        fl_buf_printf(&b, " (indeterminate; invoked line %llu)",
                      (unsigned long long)hop->call_line);
    else
        fl_buf_printf(&b, " (lines %llu-%llu)", (unsigned long long)hop->call_line,
                      (unsigned long long)hop->ret_line);
    if (b.oom) {
        fl_buf_free(&b);
        return NULL;
    }
    char *out = fl_strdup(fl_buf_cstr(&b));
    fl_buf_free(&b);
    return out;
}

static int build_cex(struct search *S, struct checker_counterexample *cex)
{
    memset(cex, 0, sizeof *cex);
    cex->key_id = S->key;
    cex->op = S->best_op->hop;
    cex->op_desc = describe_hop(S, S->best_op);
    cex->n_prefix = S->n_prefix;
    cex->prefix = fl_calloc(S->n_prefix + 1, sizeof *cex->prefix);
    cex->prefix_desc = fl_calloc(S->n_prefix + 1, sizeof *cex->prefix_desc);
    cex->states = fl_calloc(MAX_CEX_STATES, sizeof *cex->states);
    cex->concurrent = fl_calloc(MAX_CEX_CONCURRENT, sizeof *cex->concurrent);
    cex->concurrent_desc = fl_calloc(MAX_CEX_CONCURRENT, sizeof *cex->concurrent_desc);
    if (!cex->op_desc || !cex->prefix || !cex->prefix_desc || !cex->states || !cex->concurrent ||
        !cex->concurrent_desc)
        return FL_ENOMEM;
    for (size_t i = 0; i < S->n_prefix; i++) {
        cex->prefix[i] = S->prefix[i]->hop;
        if (!(cex->prefix_desc[i] = describe_hop(S, S->prefix[i])))
            return FL_ENOMEM;
    }
    for (size_t i = 0; i < S->n_best_states; i++) {
        struct fl_buf b;
        fl_buf_init(&b);
        S->model.ops->describe_state(&S->model, S->best_states[i], &b);
        cex->states[i] = b.oom ? NULL : fl_strdup(fl_buf_cstr(&b));
        fl_buf_free(&b);
        if (!cex->states[i])
            return FL_ENOMEM;
        cex->n_states++;
    }
    const struct checker_op *bo = S->best_op;
    for (size_t i = 0; i < S->nc + S->nx && cex->n_concurrent < MAX_CEX_CONCURRENT; i++) {
        const struct checker_op *o = &S->ops[i];
        if (o == bo || o->call >= bo->ret || o->ret <= bo->call)
            continue;
        cex->concurrent[cex->n_concurrent] = o->hop;
        if (!(cex->concurrent_desc[cex->n_concurrent] = describe_hop(S, o)))
            return FL_ENOMEM;
        cex->n_concurrent++;
    }
    return 0;
}

static void cex_free(struct checker_counterexample *cex)
{
    for (size_t i = 0; cex->prefix_desc && i < cex->n_prefix; i++)
        fl_free(cex->prefix_desc[i]);
    for (size_t i = 0; cex->states && i < MAX_CEX_STATES; i++)
        fl_free(cex->states[i]);
    for (size_t i = 0; cex->concurrent_desc && i < MAX_CEX_CONCURRENT; i++)
        fl_free(cex->concurrent_desc[i]);
    fl_free(cex->prefix);
    fl_free(cex->prefix_desc);
    fl_free(cex->states);
    fl_free(cex->concurrent);
    fl_free(cex->concurrent_desc);
    fl_free(cex->op_desc);
    memset(cex, 0, sizeof *cex);
}

/* Decides the key without search when its values are unique: sets
 * res->decided (and the verdict, reason, counterexample) or leaves it for
 * the search. Returns 0 or FL_ENOMEM. */
static int decide_unique(struct search *S, struct key_result *res)
{
    enum checker_unique_outcome out;
    struct checker_unique_why why;
    uint64_t initial = S->model.ops->init(&S->model);
    int rc = checker_unique_check(S->ops, S->nc + S->nx, (int64_t)initial, &out, &why);
    if (rc < 0 || out == CHECKER_UNIQUE_INELIGIBLE)
        return rc;
    res->decided = res->unique = true;
    if (out == CHECKER_UNIQUE_VALID) {
        res->verdict = CHECKER_VALID;
        return 0;
    }
    res->verdict = CHECKER_INVALID;
    unsigned cur = atomic_load(&S->s->min_invalid);
    while (S->key < cur && !atomic_compare_exchange_weak(&S->s->min_invalid, &cur, S->key))
        ;
    struct checker_counterexample *cex = &res->cex;
    memset(cex, 0, sizeof *cex);
    cex->key_id = S->key;
    cex->op = S->ops[why.op].hop;
    cex->rule = why.rule;
    cex->op_desc = describe_hop(S, &S->ops[why.op]);
    cex->concurrent = fl_calloc(1, sizeof *cex->concurrent);
    cex->concurrent_desc = fl_calloc(MAX_CEX_CONCURRENT, sizeof *cex->concurrent_desc);
    cex->states = fl_calloc(MAX_CEX_STATES, sizeof *cex->states);
    if (!cex->op_desc || !cex->concurrent || !cex->concurrent_desc || !cex->states) {
        cex_free(cex);
        return FL_ENOMEM;
    }
    if (why.other != SIZE_MAX) {
        cex->concurrent[0] = S->ops[why.other].hop;
        cex->concurrent_desc[0] = describe_hop(S, &S->ops[why.other]);
        if (!cex->concurrent_desc[0]) {
            cex_free(cex);
            return FL_ENOMEM;
        }
        cex->n_concurrent = 1;
    }
    res->has_cex = true;
    if (why.other != SIZE_MAX)
        fl_errorf(res->reason, 0, "no linearization: %s: %s (with %s)", cex->op_desc, why.rule,
                  cex->concurrent_desc[0]);
    else
        fl_errorf(res->reason, 0, "no linearization: %s: %s", cex->op_desc, why.rule);
    return 0;
}

static bool same_effect(const struct checker_op *a, const struct checker_op *b)
{
    return a->f == b->f && a->a == b->a && a->b == b->b && a->nxs == b->nxs &&
           (a->nxs == 0 || memcmp(a->xs, b->xs, a->nxs * sizeof *a->xs) == 0);
}

static uint64_t effect_hash(const struct checker_op *o)
{
    uint64_t h = fl_mix64(o->f ^ ((uint64_t)o->a * 31) ^ ((uint64_t)o->b * 1000003) ^ o->nxs);
    for (uint32_t i = 0; i < o->nxs; i++)
        h = fl_mix64(h ^ (uint64_t)o->xs[i]);
    return h;
}

/* Fills prev_same for the indeterminate ops (in call order) with a hash
 * table of the last op seen per effect. */
static int link_same_effect(struct search *S)
{
    size_t cap = 16;
    while (cap < 2 * S->nx)
        cap *= 2;
    S->prev_same = fl_calloc(S->nx + 1, sizeof *S->prev_same);
    struct checker_op **last = fl_calloc(cap, sizeof *last);
    if (!S->prev_same || !last) {
        fl_free(last);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < S->nx; i++) {
        struct checker_op *o = &S->ops[S->nc + i];
        size_t j = effect_hash(o) & (cap - 1);
        while (last[j] && !same_effect(last[j], o))
            j = (j + 1) & (cap - 1);
        S->prev_same[i] = last[j];
        last[j] = o;
    }
    fl_free(last);
    return 0;
}

static uint32_t upper_lim(const struct checker_op *ops, size_t nc, int64_t ret)
{
    /* Highest id whose call precedes ret (calls ascend with id). */
    size_t lo = 0, hi = nc;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ops[mid].call < ret)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)(lo - 1);
}

static const char *budget_reason(struct shared *s, int err, char *buf, size_t len)
{
    if (err == FL_EBUDGET && s->deadline > 0 && now_s() > s->deadline)
        snprintf(buf, len, "search budget exhausted: --timeout %g s", s->timeout_s);
    else if (err == FL_EBUDGET)
        snprintf(buf, len, "search budget exhausted: --max-memory %zu MiB", s->max_memory >> 20);
    else
        snprintf(buf, len, "search budget exhausted: out of memory");
    return buf;
}

static void search_key(struct shared *s, uint32_t key)
{
    struct key_result *res = &s->results[key];
    const struct checker_history *h = s->h;
    size_t first = s->key_start[key], count = s->key_start[key + 1] - first;
    struct search S;
    char errmsg[FL_ERRMSG_SIZE] = "";
    int rc, err = 0;

    memset(&S, 0, sizeof S);
    S.s = s;
    S.key = key;
    res->verdict = CHECKER_UNKNOWN;
    rc = checker_model_create(&S.model, s->model, s->config, errmsg);
    if (rc < 0) {
        res->err = rc;
        fl_errorf(res->errmsg, rc, "%s", errmsg);
        return;
    }
    S.ops = fl_calloc(count + 1, sizeof *S.ops);
    if (!S.ops) {
        err = FL_ENOMEM;
        goto out;
    }
    /* Prepare: completed operations first (ids in call order), then
     * indeterminate ones; fail operations never happened. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < count; i++) {
            const struct checker_hop *hop = &h->ops[s->key_hops[first + i]];
            if (hop->status == FL_EVENT_FAIL || (hop->status == FL_EVENT_INFO) != (pass == 1))
                continue;
            struct checker_op *op = &S.ops[S.nc + S.nx];
            memset(op, 0, sizeof *op);
            op->hop = (uint32_t)s->key_hops[first + i];
            op->call = hop->call;
            op->crashed = hop->status == FL_EVENT_INFO;
            op->ret = op->crashed ? CHECKER_POS_NEVER : hop->ret;
            rc = s->model->prepare(&S.model, hop, op, errmsg);
            if (rc == CHECKER_PREPARE_DROP)
                continue;
            if (rc < 0) {
                res->err = rc;
                fl_errorf(res->errmsg, rc, "%s: line %llu: %s", h->path,
                          (unsigned long long)(hop->status == FL_EVENT_OK ? hop->ret_line
                                                                          : hop->call_line),
                          errmsg);
                goto out;
            }
            op->id = (uint32_t)(S.nc + S.nx);
            if (pass == 0)
                S.nc++;
            else
                S.nx++;
        }
    }
    res->n_ops = S.nc + S.nx;
    res->n_crashed = S.nx;
    if (s->procedure == CHECKER_PROC_AUTO &&
        (s->model == &checker_model_register || s->model == &checker_model_kv)) {
        rc = decide_unique(&S, res);
        if (rc < 0) {
            err = rc;
            goto out;
        }
        if (res->decided)
            goto out;
    }
    if (S.nc == 0) {
        res->verdict = CHECKER_VALID; /* nothing must be linearized */
        res->decided = true;
        goto out;
    }
    size_t n_entries = 2 * S.nc + S.nx;
    S.lim = fl_calloc(S.nc, sizeof *S.lim);
    S.entries = fl_calloc(n_entries, sizeof *S.entries);
    S.stack = fl_calloc(S.nc + S.nx + 1, sizeof *S.stack);
    S.cwords = (S.nc + 63) / 64;
    S.xwords = (S.nx + 63) / 64;
    S.cb = fl_calloc(S.cwords + 1, 8);
    S.xb = fl_calloc(S.xwords + 1, 8);
    S.kbuf = fl_calloc(S.cwords + 4, 8);
    S.prefix = fl_calloc(S.nc + S.nx + 1, sizeof *S.prefix);
    S.ro = fl_calloc(S.nc + S.nx + 1, sizeof *S.ro);
    if (!S.lim || !S.entries || !S.stack || !S.cb || !S.xb || !S.kbuf || !S.prefix || !S.ro) {
        err = FL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < S.nc; i++)
        S.lim[i] = upper_lim(S.ops, S.nc, S.ops[i].ret);
    for (size_t i = 0; i < S.nc + S.nx; i++)
        S.ro[i] =
            !S.ops[i].crashed && s->model->read_only && s->model->read_only(&S.model, &S.ops[i]);
    if (link_same_effect(&S) < 0) {
        err = FL_ENOMEM;
        goto out;
    }
    size_t ne = 0;
    for (size_t i = 0; i < S.nc + S.nx; i++) {
        struct entry *c = &S.entries[ne++];
        c->op = &S.ops[i];
        c->pos = S.ops[i].call;
        c->is_call = true;
        if (!S.ops[i].crashed) {
            struct entry *r = &S.entries[ne++];
            r->op = &S.ops[i];
            r->pos = S.ops[i].ret;
        }
    }
    qsort(S.entries, ne, sizeof *S.entries, cmp_entry);
    /* Match entries only after sorting: the array moved. */
    struct entry **call_of = fl_calloc(S.nc + S.nx, sizeof *call_of);
    if (!call_of) {
        err = FL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < ne; i++) {
        struct entry *x = &S.entries[i];
        if (x->is_call) {
            call_of[x->op->id] = x;
        } else {
            x->match = call_of[x->op->id];
            x->match->match = x;
        }
    }
    fl_free(call_of);
    S.head.next = &S.entries[0];
    S.entries[0].prev = &S.head;
    for (size_t i = 0; i < ne; i++) {
        if (i > 0)
            S.entries[i].prev = &S.entries[i - 1];
        S.entries[i].next = i + 1 < ne ? &S.entries[i + 1] : NULL;
    }

    int r = run(&S, &err);
    res->configs += S.configs;
    if (r == RUN_ABORT && err == ROUND_OVER) {
        err = 0; /* undecided: the next round searches again with more */
        goto out;
    }
    res->decided = true;
    if (r == RUN_VALID) {
        res->verdict = CHECKER_VALID;
    } else if (r == RUN_INVALID) {
        res->verdict = CHECKER_INVALID;
        unsigned cur = atomic_load(&s->min_invalid);
        while (key < cur && !atomic_compare_exchange_weak(&s->min_invalid, &cur, key))
            ;
        if (S.best_op) {
            res->has_cex = build_cex(&S, &res->cex) == 0;
            if (!res->has_cex)
                cex_free(&res->cex);
        }
        fl_errorf(res->reason, 0,
                  "no linearization: %s cannot take effect in any state reachable before it",
                  res->has_cex && res->cex.op_desc ? res->cex.op_desc : "an operation");
    } else if (err) {
        budget_reason(s, err, res->reason, sizeof res->reason);
    } else {
        res->unchecked = true;
        snprintf(res->reason, sizeof res->reason, "not searched: another key is invalid");
    }
    err = 0;
out:
    if (err) {
        res->verdict = CHECKER_UNKNOWN;
        res->decided = true;
        budget_reason(s, err, res->reason, sizeof res->reason);
    }
    if (res->err < 0)
        res->decided = true;
    cache_free(&S.cache, s);
    fl_free(S.prefix);
    fl_free(S.ro);
    fl_free(S.prev_same);
    fl_free(S.lim);
    fl_free(S.entries);
    fl_free(S.stack);
    fl_free(S.cb);
    fl_free(S.xb);
    fl_free(S.kbuf);
    fl_free(S.ops);
    checker_model_destroy(&S.model);
}

/* Runs every operation through the model's prepare once, in history order,
 * so a malformed operation is reported the same way whatever the search
 * would have skipped. Counts each key's operations and crashed ones into
 * results[] here, so the totals do not depend on which keys the search
 * skipped once a lower key was found invalid (that depends on timing). */
static int validate_shapes(const struct checker_history *h, const struct checker_model_ops *model,
                           const struct checker_model_config *config, struct key_result *results,
                           char *errmsg)
{
    struct checker_model m;
    char msg[FL_ERRMSG_SIZE] = "";
    int rc = checker_model_create(&m, model, config, msg);
    if (rc < 0)
        return fl_errorf(errmsg, rc, "%s: model %s: %s", h->path, model->name, msg);
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct checker_hop *hop = &h->ops[i];
        struct checker_op op;
        if (hop->status == FL_EVENT_FAIL)
            continue;
        memset(&op, 0, sizeof op);
        op.crashed = hop->status == FL_EVENT_INFO;
        rc = model->prepare(&m, hop, &op, msg);
        if (rc >= 0 && rc != CHECKER_PREPARE_DROP) {
            results[hop->key_id].n_ops++;
            results[hop->key_id].n_crashed += op.crashed;
        }
        if (rc < 0) {
            fl_errorf(
                errmsg, rc, "%s: line %llu: %s", h->path,
                (unsigned long long)(hop->status == FL_EVENT_OK ? hop->ret_line : hop->call_line),
                msg);
            break;
        }
        rc = 0;
    }
    checker_model_destroy(&m);
    return rc;
}

static void *worker(void *arg)
{
    struct shared *s = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&s->next, 1);
        if (i >= s->n_order)
            return NULL;
        uint32_t key = s->order[i];
        struct key_result *kr = &s->results[key];
        if (kr->decided)
            continue;
        if (atomic_load(&s->min_invalid) < key) {
            kr->verdict = CHECKER_UNKNOWN;
            kr->decided = kr->unchecked = true;
            snprintf(kr->reason, sizeof kr->reason, "not searched: another key is invalid");
            continue;
        }
        search_key(s, key);
    }
}

/* Orders keys by operation count, largest first (glibc qsort_r: `ctx` is
 * the key_start array). */
static int cmp_size_desc(const void *a, const void *b, void *ctx)
{
    const size_t *sort_sizes = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    size_t sx = sort_sizes[x + 1] - sort_sizes[x], sy = sort_sizes[y + 1] - sort_sizes[y];
    if (sx != sy)
        return sx < sy ? 1 : -1;
    return (x > y) - (x < y);
}

int checker_linear_check(const struct checker_history *h, const struct checker_model_ops *model,
                         const struct checker_model_config *config,
                         const struct checker_limits *limits, struct checker_result *res,
                         char *errmsg)
{
    struct shared s;
    int rc = 0;
    double t0 = now_s(), c0 = cpu_s();

    memset(res, 0, sizeof *res);
    memset(&s, 0, sizeof s);
    s.h = h;
    s.model = model;
    s.config = config;
    s.procedure = limits ? limits->procedure : CHECKER_PROC_AUTO;
    s.max_memory = limits && limits->max_memory ? limits->max_memory : checker_default_max_memory();
    s.timeout_s = limits ? limits->timeout_s : 0;
    s.deadline = s.timeout_s > 0 ? t0 + s.timeout_s : 0;
    atomic_init(&s.next, 0);
    atomic_init(&s.mem, 0);
    atomic_init(&s.peak, 0);
    atomic_init(&s.min_invalid, UINT32_MAX);

    size_t nk = h->n_keys ? h->n_keys : 1;
    s.key_start = fl_calloc(nk + 1, sizeof *s.key_start);
    s.key_hops = fl_calloc(h->n_ops + 1, sizeof *s.key_hops);
    s.order = fl_calloc(nk, sizeof *s.order);
    s.results = fl_calloc(nk, sizeof *s.results);
    if (!s.key_start || !s.key_hops || !s.order || !s.results) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", h->path);
        goto out;
    }
    /* Counting sort of operations by key, keeping invoke order. */
    for (size_t i = 0; i < h->n_ops; i++)
        s.key_start[h->ops[i].key_id + 1]++;
    for (size_t k = 0; k < nk; k++)
        s.key_start[k + 1] += s.key_start[k];
    {
        size_t *fill = fl_calloc(nk, sizeof *fill);
        if (!fill) {
            rc = fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", h->path);
            goto out;
        }
        for (size_t i = 0; i < h->n_ops; i++) {
            uint32_t k = h->ops[i].key_id;
            s.key_hops[s.key_start[k] + fill[k]++] = i;
        }
        fl_free(fill);
    }
    for (size_t k = 0; k < nk; k++)
        if (s.key_start[k + 1] > s.key_start[k])
            s.order[s.n_order++] = (uint32_t)k;
    if ((rc = validate_shapes(h, model, config, s.results, errmsg)) < 0)
        goto out;
    qsort_r(s.order, s.n_order, sizeof *s.order, cmp_size_desc, s.key_start);

    /* One key needs one thread: no look at the CPUs (3 system calls). */
    int threads = limits && limits->threads > 0 ? limits->threads
                  : s.n_order <= 1                ? 1
                                                  : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1)
        threads = 1;
    if ((size_t)threads > s.n_order)
        threads = (int)(s.n_order ? s.n_order : 1);
    if (threads > 64)
        threads = 64;
    /* Rounds (iterative deepening over keys): every undecided key is
     * searched with a budget of configurations that grows by ROUND_GROWTH a
     * round, so one hard key cannot hold back an easy invalid one, and the
     * first round with an invalid key is the last. Budgets count
     * configurations, not time, so which keys a round decides, and so the
     * verdict and the counterexample, do not depend on thread timing. A key
     * alone (or the last undecided one) gets no budget. */
    s.round_budget = ROUND_FIRST;
    for (;;) {
        size_t undecided = 0;
        for (size_t i = 0; i < s.n_order; i++)
            undecided += !s.results[s.order[i]].decided;
        if (undecided == 0)
            break;
        if (undecided == 1)
            s.round_budget = 0;
        atomic_store(&s.next, 0);
        int want = threads;
        if ((size_t)want > undecided)
            want = (int)undecided;
        pthread_t tids[64];
        int started = 0;
        for (int i = 1; i < want; i++) {
            if (pthread_create(&tids[started], NULL, worker, &s) != 0)
                break;
            started++;
        }
        worker(&s);
        for (int i = 0; i < started; i++)
            pthread_join(tids[i], NULL);
        if (atomic_load(&s.min_invalid) != UINT32_MAX || s.round_budget == 0)
            break;
        if (s.deadline > 0 && now_s() > s.deadline) {
            for (size_t i = 0; i < s.n_order; i++) {
                struct key_result *kr = &s.results[s.order[i]];
                if (!kr->decided) {
                    kr->verdict = CHECKER_UNKNOWN;
                    kr->decided = true;
                    snprintf(kr->reason, sizeof kr->reason,
                             "search budget exhausted: --timeout %g s", s.timeout_s);
                }
            }
            break;
        }
        s.round_budget = s.round_budget > UINT64_MAX / ROUND_GROWTH ? 0
                                                                    : s.round_budget * ROUND_GROWTH;
    }
    /* Keys a round left undecided once a key was invalid are unchecked. */
    for (size_t i = 0; i < s.n_order; i++) {
        struct key_result *kr = &s.results[s.order[i]];
        if (!kr->decided) {
            kr->verdict = CHECKER_UNKNOWN;
            kr->decided = kr->unchecked = true;
            snprintf(kr->reason, sizeof kr->reason, "not searched: another key is invalid");
        }
    }

    /* Combine in key order: the first model error wins, then the lowest
     * invalid key, then any unknown. */
    res->verdict = CHECKER_VALID;
    for (size_t k = 0; k < nk; k++) {
        struct key_result *kr = &s.results[k];
        if (kr->err < 0) {
            rc = kr->err;
            fl_errorf(errmsg, rc, "%s", kr->errmsg);
            goto out;
        }
    }
    for (size_t k = 0; k < nk; k++) {
        struct key_result *kr = &s.results[k];
        if (s.key_start[k + 1] == s.key_start[k])
            continue;
        res->n_keys++;
        res->n_unchecked += kr->unchecked;
        res->n_unique += kr->unique;
        res->n_ops += kr->n_ops;
        res->n_crashed += kr->n_crashed;
        res->configs += kr->configs;
        if (kr->verdict == CHECKER_INVALID && res->verdict != CHECKER_INVALID) {
            res->verdict = CHECKER_INVALID;
            fl_errorf(res->reason, 0, "%s", kr->reason);
            if (kr->has_cex) {
                res->has_cex = true;
                res->cex = kr->cex;
                memset(&kr->cex, 0, sizeof kr->cex);
                kr->has_cex = false;
            }
        } else if (kr->verdict == CHECKER_UNKNOWN && res->verdict == CHECKER_VALID) {
            res->verdict = CHECKER_UNKNOWN;
            fl_errorf(res->reason, 0, "%s", kr->reason);
        }
    }
    if (res->verdict == CHECKER_INVALID && res->n_unchecked > 0) {
        size_t len = strlen(res->reason);
        snprintf(res->reason + len, sizeof res->reason - len,
                 "; %zu of %zu keys left unchecked once one was invalid", res->n_unchecked,
                 res->n_keys);
    }
out:
    if (s.results)
        for (size_t k = 0; k < nk; k++)
            if (s.results[k].has_cex)
                cex_free(&s.results[k].cex);
    res->peak_memory = atomic_load(&s.peak);
    res->seconds = now_s() - t0;
    res->cpu_seconds = cpu_s() - c0;
    fl_free(s.key_start);
    fl_free(s.key_hops);
    fl_free(s.order);
    fl_free(s.results);
    return rc;
}

void checker_result_free(struct checker_result *res)
{
    if (res->has_cex)
        cex_free(&res->cex);
    memset(res, 0, sizeof *res);
}

const char *checker_result_procedure(const struct checker_result *res, char *buf, size_t len)
{
    size_t searched = res->n_keys - res->n_unchecked;
    size_t wgl = searched > res->n_unique ? searched - res->n_unique : 0;
    if (res->refused)
        snprintf(buf, len, "none");
    else if (res->n_unique == 0)
        snprintf(buf, len, "wgl");
    else if (wgl == 0)
        snprintf(buf, len, "unique-values");
    else
        snprintf(buf, len, "unique-values(%zu keys)+wgl(%zu keys)", res->n_unique, wgl);
    return buf;
}
