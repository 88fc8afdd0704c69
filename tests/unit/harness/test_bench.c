/* test_bench.c - faultline bench's pure parts: the scenario it runs, --clients, figures from
 * results.json. */
#include "harness/bench.h"
#include "harness/nodes.h"

#include "common/error.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

Test(harness_bench, scenario_is_fault_free_single_op_and_valid_for_each_impl)
{
    static const char *specs[] = {"reference", "etcd", "reference:bug=no-dedup"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        for (int rd = 0; rd < 2; rd++) {
            struct harness_impl_spec spec;
            struct harness_scenario sc;
            char err[FL_ERRMSG_SIZE] = "";
            cr_assert_eq(harness_impl_spec_parse(specs[i], &spec, err), 0, "%s", err);
            cr_assert_eq(harness_bench_scenario(&spec, 3, 128, rd, 7, &sc, err), 0, "%s %s: %s",
                         specs[i], rd ? "reads" : "writes", err);
            cr_assert_eq(sc.implementation.impl, spec.impl);
            cr_assert_eq(sc.nodes.count, 3);
            cr_assert_eq(sc.workload.concurrency, 128);
            cr_assert_eq(sc.workload.value_bytes, 100);
            cr_assert_eq(sc.workload.rate_per_s, 0, "unlimited");
            cr_assert_eq(sc.workload.mix[HARNESS_OP_READ], rd ? 1u : 0u);
            cr_assert_eq(sc.workload.mix[HARNESS_OP_WRITE], rd ? 0u : 1u);
            cr_assert_eq(sc.workload.mix[HARNESS_OP_CAS], 0);
            cr_assert_eq(sc.workload.read_consistency, HARNESS_READ_LINEARIZABLE);
            for (int k = 0; k < HARNESS_FAULT_COUNT; k++)
                cr_assert_eq(sc.nemesis.weights[k], 0, "no faults");
            cr_assert_eq(sc.phases.warmup_s, 1);
            cr_assert_eq(sc.phases.faults_s, 7);
            cr_assert_eq(sc.phases.heal_s, 0);
            cr_assert(!sc.phases.final_reads);
            cr_assert(!sc.network.capture.enabled);
        }
}

Test(harness_bench, five_nodes_and_512_clients)
{
    struct harness_impl_spec spec;
    struct harness_scenario sc;
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(harness_impl_spec_parse("reference", &spec, err), 0, "%s", err);
    cr_assert_eq(harness_bench_scenario(&spec, 5, 512, false, 3, &sc, err), 0, "%s", err);
    cr_assert_eq(sc.nodes.count, 5);
    cr_assert_eq(sc.workload.concurrency, 512);
}

Test(harness_bench, clients_list_parses_and_refuses_bad_counts)
{
    unsigned c[HARNESS_BENCH_MAX_CLIENTS];
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(harness_bench_parse_clients("1,16,128", c, err), 3);
    cr_assert(c[0] == 1 && c[1] == 16 && c[2] == 128);
    cr_assert_eq(harness_bench_parse_clients("256,512", c, err), 2);
    cr_assert(c[0] == 256 && c[1] == 512);
    static const char *bad[] = {"",   "0", "513", "1,,2", "1,",
                                ",1", "a", "1;2", "-1",   "1,2,3,4,5,6,7,8,9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_assert_eq(harness_bench_parse_clients(bad[i], c, err), -1, "refused: \"%s\"", bad[i]);
        cr_assert(strstr(err, "--clients"), "%s", err);
    }
}

Test(harness_bench, figures_leave_out_warmup_and_the_partial_last_second)
{
    json_error_t jerr;
    json_t *r = json_loads("{\"counts\": {\"ok\": 65, \"fail\": 1, \"info\": 2},"
                           " \"throughput\": {\"bucket_s\": 1.0, \"ok_per_s\": [5, 20, 30, 10],"
                           " \"mean_ok_per_s\": 16.25},"
                           " \"latency_ms\": {\"write\": {\"p50\": 1.5, \"p99\": 9.0}}}",
                           0, &jerr);
    cr_assert(r, "%s", jerr.text);
    struct harness_bench_cell cell;
    memset(&cell, 0, sizeof cell);
    harness_bench_cell_from_json(r, "write", 1, &cell);
    cr_assert_float_eq(cell.ops_per_s, 25.0, 1e-9, "mean of 20 and 30");
    cr_assert_float_eq(cell.p50, 1.5, 1e-9);
    cr_assert_float_eq(cell.p99, 9.0, 1e-9);
    cr_assert_eq(cell.ok, 65);
    cr_assert_eq(cell.info, 2);
    harness_bench_cell_from_json(r, "read", 3, &cell);
    cr_assert_float_eq(cell.ops_per_s, 16.25, 1e-9, "too few buckets: the overall mean");
    cr_assert(isnan(cell.p50) && isnan(cell.p99), "no reads");
    json_decref(r);
}

/* The CPU column reads each node's /proc/<pid>/stat; here this test process stands in
 * for a one-node cluster. */
Test(harness_bench, node_cpu_counts_the_processes_and_refuses_what_it_cannot_read)
{
    struct workload_cluster cl = {.n = 1};
    struct harness_nodes ns = {.cl = &cl};
    ns.started[0] = true;
    ns.procs[0].pid = getpid();
    double a, b;
    cr_assert_eq(harness_nodes_cpu(&ns, &a), 0);
    volatile unsigned long x = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    do { /* burn 50 ms of CPU: at least 5 ticks */
        for (int i = 0; i < 100000; i++)
            x += (unsigned long)i;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 50000000L);
    cr_assert_eq(harness_nodes_cpu(&ns, &b), 0);
    cr_assert(b - a >= 0.02, "%f then %f", a, b);
    ns.procs[0].start = 1; /* another process's start time: a reused pid */
    cr_assert_eq(harness_nodes_cpu(&ns, &b), -1);
    ns.procs[0].start = 0;
    ns.procs[0].exited = true;
    cr_assert_eq(harness_nodes_cpu(&ns, &b), -1);
    ns.procs[0].exited = false;
    ns.started[0] = false;
    cr_assert_eq(harness_nodes_cpu(&ns, &b), -1);
}
