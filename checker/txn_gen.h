/* txn_gen.h - synthetic transactional histories (list-append, rw-register) for the bench,
 * the property tests and experiments.
 *
 * A simulated store that is strict-serializable: processes invoke
 * transactions that overlap in time, and each one takes effect atomically at
 * the moment it completes. Keys rotate as in Elle's generator (a key is
 * retired after `max_writes_per_key` writes), values are unique per key,
 * crashed transactions (info) take effect or not at random. `plant` breaks
 * one transaction near the middle so the history holds exactly one anomaly:
 *   "G-single"  a read returns its key without the latest write, and the
 *               transaction then writes the key (list-append: appends to it)
 *   "G1c"       a transaction's read sees a write of a transaction that is
 *               still running (its wr edge closes a ww/wr cycle)
 *   "G1a"       a read returns a value of a transaction that then fails */
#ifndef CHECKER_TXN_GEN_H
#define CHECKER_TXN_GEN_H

#include "checker/txn_infer.h"

#include <stdint.h>
#include <stdio.h>

struct checker_txn_gen_config {
    enum checker_txn_workload workload;
    uint64_t n_txns;
    int processes;
    int active_keys;        /* keys in use at once */
    int max_writes_per_key; /* then the key is retired for a fresh one */
    int min_ops, max_ops;   /* micro-ops per transaction */
    double read_ratio;      /* share of micro-ops that are reads */
    double crash;           /* share of transactions that end info */
    uint64_t seed;
    const char *plant; /* NULL: none */
};

void checker_txn_gen_defaults(struct checker_txn_gen_config *c);
/* Writes the history as JSONL to out. Returns 0, FL_EUSAGE for an unknown
 * plant, or a negative errno. */
int checker_txn_gen_write(const struct checker_txn_gen_config *c, FILE *out);

#endif
