/* linear.h - linearizability checking: Wing & Gong's search with Lowe's
 * memoization, split per key (P-compositionality), keys checked in parallel.
 *
 * Keys are searched in rounds with a growing budget of configurations per
 * key, and the check stops after the first round in which a key is invalid:
 * the verdict cannot change, the keys left undecided are reported as
 * unchecked. The verdict is deterministic: each key's search is, the round
 * budgets count configurations (not time), and of the keys a round finds
 * invalid the lowest key id is the one reported. Only the budgets (time,
 * memory) can turn a verdict into `unknown`, and the result names the budget
 * that ran out. */
#ifndef CHECKER_LINEAR_H
#define CHECKER_LINEAR_H

#include "checker/history.h"
#include "checker/model.h"

#include <stddef.h>
#include <stdint.h>

enum checker_verdict { CHECKER_VALID = 0, CHECKER_INVALID = 1, CHECKER_UNKNOWN = 2 };

const char *checker_verdict_name(enum checker_verdict v);

/* Which procedure decides a key: the unique-value one when the key
 * qualifies (checker/unique.h), else the search; or always the search. */
enum checker_procedure { CHECKER_PROC_AUTO = 0, CHECKER_PROC_WGL = 1 };

struct checker_limits {
    double timeout_s;  /* wall-clock budget for the whole check; <= 0: none */
    enum checker_procedure procedure;
    size_t max_memory; /* bytes of search caches across all keys; 0: default */
    int threads;       /* 0: one per online CPU */
};

/* Default memory budget: half the memory available, at most 8 GiB. */
size_t checker_default_max_memory(void);

/* Why a history is not linearizable, in terms of its operations (indices
 * into checker_history.ops). All arrays are owned by the result. */
struct checker_counterexample {
    uint32_t key_id;
    size_t op;      /* the operation that could not be linearized */
    size_t *prefix; /* longest linearizable prefix, in linearization order */
    size_t n_prefix;
    char **states; /* model states reachable just before `op` (described) */
    size_t n_states;
    size_t *concurrent; /* operations whose interval overlaps `op`'s */
    size_t n_concurrent;
    char *op_desc;          /* the op as the model sees it */
    char **prefix_desc;     /* descriptions matching prefix[] */
    char **concurrent_desc; /* descriptions matching concurrent[] */
    /* Set (static text) when the unique-value procedure decided: the rule
     * `op` breaks, with concurrent[0] (if any) the operation it conflicts
     * with; states and prefix are then empty. */
    const char *rule;
};

struct checker_result {
    enum checker_verdict verdict;
    char reason[256];   /* unknown: the exhausted budget; invalid: one sentence */
    size_t n_ops;       /* operations searched (after dropping fail/unobservable ones) */
    size_t n_keys;      /* keys with at least one operation */
    size_t n_crashed;   /* indeterminate operations searched */
    size_t n_unchecked; /* keys left undecided once another key was invalid */
    size_t n_unique;    /* keys decided by the unique-value procedure (the rest: WGL) */
    const char *refused; /* static text when --max-memory refused the history before any
                          * procedure ran ("while reading", "before the search"), else NULL */
    uint64_t configs;   /* configurations cached across keys */
    size_t peak_memory; /* bytes of caches at the high-water mark */
    double seconds;     /* wall clock of the search */
    double cpu_seconds; /* CPU time of the process meanwhile (all search threads): under
                         * load, the steadier figure */
    bool has_cex;
    struct checker_counterexample cex;
};

/* Checks `h` against `model` (created per key with `config`). Returns 0 with
 * *res filled (any verdict), or a negative code with errmsg naming the
 * operation when an operation does not fit the model ("PATH:LINE: value:
 * cas expects [old new]"). Release with checker_result_free(). */
int checker_linear_check(const struct checker_history *h, const struct checker_model_ops *model,
                         const struct checker_model_config *config,
                         const struct checker_limits *limits, struct checker_result *res,
                         char *errmsg);
void checker_result_free(struct checker_result *res);
/* Names the procedure that decided the result into buf: "unique-values",
 * "wgl", "unique-values(K keys)+wgl(M keys)", or "none" when the history was
 * refused before any ran (res->refused). */
const char *checker_result_procedure(const struct checker_result *res, char *buf, size_t len);

#endif
