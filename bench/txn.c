/* txn.c - figures for the transactional checker: transactions per second and peak memory.
 *
 *   bench_txn [--sizes 10000,100000,1000000] [--workload list-append|rw-register]
 *             [--plant G-single|G1c|G1a] [--consistency C] [--procs P] [--dir DIR]
 *             [--keys K] [--max-ops M] [--writes-per-key W] [--keep 1]
 *
 * --keys, --max-ops and --writes-per-key change the history's shape (keys in
 * use at once, micro-ops per transaction, appends before a key retires), so
 * the figures are not those of one shape only.
 *
 * For each size it writes a history (checker/txn_gen.h: a simulated
 * strict-serializable store, optionally with one planted anomaly) to DIR
 * (default /tmp), then checks it in a child process so the peak resident
 * memory (ru_maxrss) is that check's alone: load, inference, graph, cycle
 * search, witness, as `faultline check --model ...` does. Prints wall and
 * CPU time (the child's user + system: the figure that survives a shared,
 * loaded machine) and peak memory; never asserts on time. --keep 1 leaves
 * the histories in DIR (to profile `faultline check --model ...` on them). */
#include "checker/txn_check.h"
#include "checker/txn_gen.h"
#include "common/error.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* In the child: load and check, print one line, exit with the verdict. */
static int check_one(const char *path, enum checker_txn_workload w, enum checker_txn_consistency c,
                     unsigned long long n)
{
    char errmsg[FL_ERRMSG_SIZE];
    struct checker_txn_history h;
    struct checker_txn_result res;
    double t0 = now();
    if (checker_txn_history_load(path, FL_FORMAT_JSONL, &h, errmsg) < 0) {
        fprintf(stderr, "bench_txn: %s\n", errmsg);
        return 3;
    }
    double t1 = now();
    struct checker_txn_options opt = {.workload = w, .consistency = c};
    if (checker_txn_check(&h, &opt, &res, errmsg) < 0) {
        fprintf(stderr, "bench_txn: %s\n", errmsg);
        return 3;
    }
    double t2 = now();
    char found[160] = "";
    size_t k = 0;
    for (int a = 0; a < CHECKER_TXN_N_ANOMALIES; a++)
        if (res.found.count[a])
            k += (size_t)snprintf(found + k, k < sizeof found ? sizeof found - k : 0, "%s%s",
                                  k ? "," : "",
                                  checker_txn_anomaly_name((enum checker_txn_anomaly_kind)a));
    printf("%9llu txns  %-7s  load %6.3f s  check %6.3f s  total %6.3f s  %9.0f txns/s  edges %zu  "
           "anomalies %s",
           n, checker_verdict_name(res.verdict), t1 - t0, t2 - t1, t2 - t0,
           (double)h.n_txns / (t2 - t0), res.n_edges, found[0] ? found : "-");
    fflush(stdout);
    int v = (int)res.verdict;
    checker_txn_result_free(&res);
    checker_txn_history_free(&h);
    return v;
}

int main(int argc, char **argv)
{
    const char *sizes = "10000,100000,1000000", *dir = "/tmp";
    bool keep = false;
    struct checker_txn_gen_config cfg;
    enum checker_txn_consistency cons = CHECKER_TXN_STRICT_SERIALIZABLE;
    checker_txn_gen_defaults(&cfg);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_txn: %s: missing value (see the comment atop bench/txn.c)\n", a);
            return 3;
        }
        i++;
        if (strcmp(a, "--sizes") == 0)
            sizes = v;
        else if (strcmp(a, "--dir") == 0)
            dir = v;
        else if (strcmp(a, "--keep") == 0)
            keep = strcmp(v, "0") != 0;
        else if (strcmp(a, "--plant") == 0)
            cfg.plant = v;
        else if (strcmp(a, "--procs") == 0)
            cfg.processes = atoi(v);
        else if (strcmp(a, "--keys") == 0)
            cfg.active_keys = atoi(v);
        else if (strcmp(a, "--max-ops") == 0)
            cfg.max_ops = atoi(v);
        else if (strcmp(a, "--writes-per-key") == 0)
            cfg.max_writes_per_key = atoi(v);
        else if (strcmp(a, "--workload") == 0) {
            if (checker_txn_workload_parse(v, &cfg.workload) < 0) {
                fprintf(stderr, "bench_txn: --workload: list-append or rw-register\n");
                return 3;
            }
        } else if (strcmp(a, "--consistency") == 0) {
            if (checker_txn_consistency_parse(v, &cons) < 0) {
                fprintf(stderr, "bench_txn: --consistency: unknown model\n");
                return 3;
            }
        } else {
            fprintf(stderr, "bench_txn: unknown option %s\n", a);
            return 3;
        }
    }
    if (cfg.processes < 1 || cfg.active_keys < 1 || cfg.max_ops < cfg.min_ops ||
        cfg.max_writes_per_key < 1) {
        fprintf(stderr, "bench_txn: --procs, --keys, --max-ops and --writes-per-key must be >= 1\n");
        return 3;
    }
    printf("workload %s, %d processes, 1-%d micro-ops, %d active keys (%d writes each), plant %s, "
           "consistency %s\n",
           checker_txn_workload_name(cfg.workload), cfg.processes, cfg.max_ops, cfg.active_keys,
           cfg.max_writes_per_key, cfg.plant ? cfg.plant : "none",
           checker_txn_consistency_name(cons));
    char *list = strdup(sizes);
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        cfg.n_txns = strtoull(tok, NULL, 10);
        char path[4096];
        snprintf(path, sizeof path, "%s/bench_txn_%d_%llu.jsonl", dir, (int)getpid(),
                 (unsigned long long)cfg.n_txns);
        FILE *f = fopen(path, "w");
        if (!f) {
            perror(path);
            return 3;
        }
        double g0 = now();
        int rc = checker_txn_gen_write(&cfg, f);
        long size = ftell(f);
        fclose(f);
        if (rc < 0) {
            fprintf(stderr, "bench_txn: generating: %s\n", fl_strerror(rc));
            unlink(path);
            return 3;
        }
        double g1 = now();
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(check_one(path, cfg.workload, cons, (unsigned long long)cfg.n_txns));
        int status;
        struct rusage ru;
        wait4(pid, &status, 0, &ru);
        double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
        printf("  cpu %.2f s (%.0f txns per cpu-s)  peak RSS %.0f MiB  (history %.0f MiB, written in "
               "%.2f s)\n",
               cpu, (double)cfg.n_txns / cpu, (double)ru.ru_maxrss / 1024, (double)size / 1048576,
               g1 - g0);
        if (keep)
            printf("  kept %s\n", path);
        else
            unlink(path);
    }
    free(list);
    return 0;
}
