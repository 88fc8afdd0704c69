/* gen_history.c - writes a synthetic register history (checker/gen.h) as JSONL,
 * for experiments with `faultline check`:
 *   bench_gen_history OUT [--ops N] [--procs P] [--keys K] [--values V]
 *                         [--crash R] [--seed S] [--mutate] [--stale]
 * --stale: certainly invalid (a read of a value overwritten before it began). */
#include "checker/gen.h"
#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct checker_gen_config cfg;
    char errmsg[FL_ERRMSG_SIZE];
    checker_gen_defaults(&cfg);
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: bench_gen_history OUT [--ops N] [--procs P] [--keys K] "
                        "[--values V] [--crash R] [--seed S] [--mutate] [--stale]\n");
        return 3;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--mutate") == 0) {
            cfg.mutate = true;
            continue;
        }
        if (strcmp(a, "--stale") == 0) {
            cfg.stale = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench_gen_history: %s: missing value\n", a);
            return 3;
        }
        i++;
        if (strcmp(a, "--ops") == 0)
            cfg.n_ops = strtoull(v, NULL, 10);
        else if (strcmp(a, "--procs") == 0)
            cfg.processes = atoi(v);
        else if (strcmp(a, "--keys") == 0)
            cfg.keys = atoi(v);
        else if (strcmp(a, "--values") == 0)
            cfg.values = atoi(v);
        else if (strcmp(a, "--crash") == 0)
            cfg.crash_rate = atof(v);
        else if (strcmp(a, "--seed") == 0)
            cfg.seed = strtoull(v, NULL, 10);
        else {
            fprintf(stderr, "bench_gen_history: unknown option %s\n", a);
            return 3;
        }
    }
    if (checker_gen_write(&cfg, argv[1], errmsg) < 0) {
        fprintf(stderr, "bench_gen_history: %s\n", errmsg);
        return 3;
    }
    return 0;
}
