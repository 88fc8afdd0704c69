/* txn_check.h - `faultline check --model list-append|rw-register`: a transactional history
 * to a verdict for a consistency model, with the anomalies that decide it.
 *
 * Four steps, one module each: inference (txn_infer.h: edges and non-cycle
 * anomalies), the graph (txn_graph.h), the cycle search (txn_cycle.h) and
 * the explanation (txn_explain.h). A verdict is never a guess:
 *   invalid  an anomaly the model forbids was found (each one is a fact about
 *            every execution that could have produced the history);
 *   valid    a witness proves it: a serial order of the committed
 *            transactions (topological order of the graph, with realtime
 *            edges for strict-serializable) replayed against every read, or
 *            for the weaker models a graph known to be exact (every version
 *            order observed) searched to the end without a forbidden cycle;
 *   unknown  neither, with the reason (a budget, an unobserved order). */
#ifndef CHECKER_TXN_CHECK_H
#define CHECKER_TXN_CHECK_H

#include "checker/linear.h"
#include "checker/txn_history.h"
#include "checker/txn_infer.h"
#include "checker/txn_model.h"

#include <jansson.h>

struct checker_txn_options {
    enum checker_txn_workload workload;
    enum checker_txn_consistency consistency;
    double timeout_s;  /* <= 0: none */
    size_t max_memory; /* bytes for the graph; 0: none */
};

struct checker_txn_result {
    enum checker_verdict verdict; /* for opt->consistency */
    char reason[256];             /* invalid: the anomalies; unknown: why */
    struct checker_txn_found found;
    uint32_t ruled_out; /* models (bit 1 << model) the anomalies rule out */
    uint32_t weakest;   /* the weakest of those */
    uint32_t proven;    /* models proven to hold */
    enum checker_txn_workload workload;
    enum checker_txn_consistency consistency;
    size_t n_txns, n_ok, n_info, n_fail, n_keys, n_mops, n_edges;
    bool orders_complete, search_complete;
    double seconds; /* inference, graph, search, witness */
};

/* Checks h (borrowed). Returns 0 with *res filled for any verdict, or a
 * negative code with errmsg for a history that does not fit the workload.
 * Free *res with checker_txn_result_free in both cases. */
int checker_txn_check(const struct checker_txn_history *h, const struct checker_txn_options *opt,
                      struct checker_txn_result *res, char *errmsg);
void checker_txn_result_free(struct checker_txn_result *res);

/* "list-append" / "rw-register" and back (-1: unknown name). */
const char *checker_txn_workload_name(enum checker_txn_workload w);
int checker_txn_workload_parse(const char *s, enum checker_txn_workload *out);
/* The workload a history's micro-ops suggest: appends or list reads make it
 * list-append, otherwise rw-register. */
enum checker_txn_workload checker_txn_detect_workload(const struct checker_txn_history *h);

#endif
