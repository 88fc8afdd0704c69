/* sequential.h - sequential consistency and session guarantees of register
 * and kv histories: what sequential (follower) reads promise (Raft §6.4.1,
 * Copycat's SEQUENTIAL queries), not linearizability.
 *
 * A session is a process (after an indeterminate operation the client
 * continues as a new process, with a new session). The history is
 * sequentially consistent when one total order of its operations keeps every
 * process's own order and explains every read (Lamport 1979); this implies
 * the session guarantees, monotonic reads (a session never reads a value
 * older than one it has read) and read-your-writes (never older than its own
 * write), which are reported by name when they are what breaks.
 *
 * How. When a key's written values are unique, each read knows the write it
 * read from; the checker builds a graph (process order, write -> read) and
 * adds the orders every sequential execution must have (Gibbons & Korach,
 * "Testing shared memories", 1997): when write A precedes write B, a read of
 * A precedes B, and a write that precedes a read of A precedes A. A cycle, or
 * a session reading a write older than what it saw before, is a violation,
 * explained edge by edge. Deciding sequential consistency is NP-complete
 * even with unique values, so an acyclic graph is then confirmed by a search
 * for the order itself (process positions and register values, memoized,
 * reads taken as soon as legal, writes in graph order); a search that runs
 * out of budget is `unknown` with the budget named, never a guess. */
#ifndef CHECKER_SEQUENTIAL_H
#define CHECKER_SEQUENTIAL_H

#include "checker/history.h"
#include "checker/linear.h"
#include "checker/model.h"
#include "common/buf.h"

#include <jansson.h>

/* Which guarantee a violation breaks. */
enum checker_seq_rule {
    CHECKER_SEQ_NONE = 0,
    CHECKER_SEQ_MONOTONIC_READS,
    CHECKER_SEQ_READ_YOUR_WRITES,
    CHECKER_SEQ_NEVER_WRITTEN, /* a read of a value no operation wrote */
    CHECKER_SEQ_ORDER,         /* a cycle among necessary orders */
    CHECKER_SEQ_NO_ORDER,      /* the exhaustive search found no order */
};

/* "monotonic-reads", "read-your-writes", "never-written",
 * "sequential-consistency" (ORDER and NO_ORDER), or "none". */
const char *checker_seq_rule_name(enum checker_seq_rule r);

struct checker_seq_limits {
    double timeout_s;     /* <= 0: none */
    size_t max_memory;    /* bytes for the graph and the search; 0: default */
    uint64_t max_configs; /* search configurations; 0: default (bounded by memory) */
};

/* One step of an explanation: the operation (index into the history's ops)
 * and a sentence saying why it comes where it does. */
struct checker_seq_step {
    size_t op;
    char *text; /* owned */
};

struct checker_seq_result {
    enum checker_verdict verdict;
    enum checker_seq_rule rule;     /* when invalid */
    char reason[512];               /* invalid: the headline; unknown: the budget */
    struct checker_seq_step *steps; /* invalid: why, step by step (owned) */
    size_t n_steps;
    size_t n_ops;       /* operations checked (fail and unobserved ones left out) */
    size_t n_processes; /* sessions */
    size_t n_keys;
    size_t n_unique_keys;  /* keys with unique written values (graph built) */
    size_t n_edges;        /* necessary orders added to the graph */
    uint64_t configs;      /* search configurations explored */
    const char *procedure; /* "graph", "graph+search" or "search" (static) */
    const char *refused;   /* static text when --max-memory refused the history before any
                            * procedure ran ("while reading"), else NULL */
    double seconds;
};

/* Checks `h` for sequential consistency with the register or kv `model`
 * (anything else is FL_EUNSUPPORTED), created with `config`. Returns 0 with
 * *res filled (any verdict), or a negative code with errmsg naming the
 * operation when it does not fit the model. Release with
 * checker_seq_result_free(). */
int checker_seq_check(const struct checker_history *h, const struct checker_model_ops *model,
                      const struct checker_model_config *config,
                      const struct checker_seq_limits *limits, struct checker_seq_result *res,
                      char *errmsg);
void checker_seq_result_free(struct checker_seq_result *res);
/* The procedure that decided the result (static): res->procedure, or "none"
 * when the history was refused before any ran (res->refused). */
const char *checker_seq_result_procedure(const struct checker_seq_result *res);

/* Appends the explanation of an invalid result (one line per step). */
void checker_seq_explain_text(const struct checker_seq_result *res, struct fl_buf *out);

/* Returns a new reference: the result as JSON (consistency, verdict, rule,
 * reason, counts, and the steps with their operations); NULL on OOM. */
json_t *checker_seq_result_json(const struct checker_history *h,
                                const struct checker_seq_result *res);

#endif
