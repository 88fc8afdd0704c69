/* bench.h - `faultline bench`: fault-free throughput and latency of implementations side by side.
 *
 * For each client count and each implementation spec: a write-only run, then
 * a read-only (linearizable reads) run, each a real `faultline run` with no
 * nemesis: 3 nodes, kv over 5 keys, 100-byte values, rate unlimited, 1 s of
 * warm-up, S seconds measured, no heal phase, no final reads, no capture,
 * only the stats checker (nothing to decide without faults; the verdict is
 * unknown by design). A read-only run reads keys nobody wrote: the reads are
 * just as linearizable (they go through the log or ReadIndex) and answer
 * null, which is what a throughput figure needs. */
#ifndef HARNESS_BENCH_H
#define HARNESS_BENCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "harness/compare.h"
#include "harness/scenario.h"

#define HARNESS_BENCH_MAX_CLIENTS 8 /* client counts in --clients */

#define HARNESS_BENCH_CLIENTS_MAX 512 /* concurrent clients of one run */

/* Fills *sc with the bench scenario for `spec` (borrowed): `nodes` voting
 * nodes, `clients` concurrent clients, reads only when `reads` else writes
 * only, `seconds` measured. Returns 0, or FL_ESHAPE with errmsg when the
 * implementation refuses it (harness_scenario_validate). */
int harness_bench_scenario(const struct harness_impl_spec *spec, unsigned nodes, unsigned clients,
                           bool reads, unsigned seconds, struct harness_scenario *sc, char *errmsg);

/* Parses a comma-separated list of client counts ("1,16,128"), each in
 * 1..HARNESS_BENCH_CLIENTS_MAX, at most HARNESS_BENCH_MAX_CLIENTS. Returns the count, or -1 with
 * errmsg. */
int harness_bench_parse_clients(const char *s, unsigned *out, char *errmsg);

/* One measured run. Figures are NaN when the run gave none. */
struct harness_bench_cell {
    double ops_per_s; /* ok operations per second, warm-up and the last partial second left out */
    double p50, p99;  /* ms */
    unsigned long long ok, fail, info;
    /* CPU per ok operation over the measured window, in microseconds: of the system
     * under test (its node processes) and of the harness; NaN when not measured. */
    double node_us_per_op, harness_us_per_op;
    int code;      /* enum harness_compare_code of the run (stats only: unknown) */
    char dir[512]; /* relative to the bench folder */
    char error[256];
};

/* Reads a bench run's figures from its results.json object (borrowed): the
 * latency of `f` ("write" or "read") and the mean of throughput.ok_per_s
 * past the first `warmup_s` buckets, without the last (partial) one; the
 * overall mean_ok_per_s when there are too few buckets. */
void harness_bench_cell_from_json(const json_t *results, const char *f, unsigned warmup_s,
                                  struct harness_bench_cell *cell);

/* Runs the bench subcommand (argv[0] is "bench"). Returns 0 when every run
 * was carried out, 3 on a usage or environment error or a failed run. */
int harness_bench_main(int argc, char **argv);

#endif
