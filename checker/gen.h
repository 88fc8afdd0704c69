/* gen.h - synthetic register histories for benchmarks and property tests.
 *
 * Valid by construction: each process runs operations one at a time; every
 * operation gets a linearization point inside its interval and operations
 * take effect on a simulated register per key in linearization-point order,
 * which fixes read values and cas outcomes (a cas that does not match is a
 * definite `fail`). Crashed operations complete as `info` and either take
 * effect at their point or never; the process then continues under a new
 * number, as Jepsen does. A mutation changes the value of one ok read, which
 * usually (not always: the search decides) makes the history invalid. */
#ifndef CHECKER_GEN_H
#define CHECKER_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct checker_gen_config {
    uint64_t seed;
    size_t n_ops;      /* operations invoked */
    int processes;     /* concurrent clients */
    int keys;          /* 1: no key field; >1: keys "k0".. */
    int values;        /* written values drawn from [1, values]; 0: unique (1, 2, 3, ...) */
    double crash_rate; /* probability an operation completes as info */
    double read_ratio; /* reads; the rest split between writes and cas */
    double cas_ratio;
    int64_t max_latency_ns; /* operation duration drawn from [1, max] */
    int64_t max_think_ns;   /* gap before a process's next operation */
    bool mutate;            /* corrupt one ok read */
    /* Certainly invalid (unique values only): one ok read R is made to
     * return the value of an ok write W1 although another ok write W2 of the
     * key began after W1 returned and returned before R began. No
     * linearization can put R after W1 and before W2. checker_gen_write
     * fails with FL_EUNSUPPORTED when no such read exists. */
    bool stale;
};

/* Fills sensible defaults (1000 ops, 5 processes, 1 key, unique values, 1%
 * crashes, 50% reads, 25% cas, 1 ms latency, 0.5 ms think). */
void checker_gen_defaults(struct checker_gen_config *cfg);

/* Writes the history as JSONL to `path`. Returns 0 or a negative code with
 * errmsg. Memory is O(n_ops). */
int checker_gen_write(const struct checker_gen_config *cfg, const char *path, char *errmsg);

#endif
