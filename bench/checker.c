/* checker.c - benchmark of the linearizability checker: prints, per history,
 * operations, keys, verdict and check time (the search, not the parsing).
 *
 *   bench_checker [KNOSSOS_DIR]   (default: tests/data/knossos in the source tree)
 *
 * Each history gets a 30 s budget (--timeout), so a hard one prints
 * `unknown` instead of hanging the benchmark.
 *
 * Workloads: every Knossos corpus file; 100-operation histories of 5-20
 * processes with many crashed operations; a 100,000-operation history over 64
 * keys with 32 processes and 1% crashed operations; a 30,000-operation
 * single-key history with 16 processes, valid and mutated into invalid.
 * Figures only: no assertions. */
#include "checker/check.h"
#include "checker/gen.h"
#include "common/alloc.h"
#include "common/error.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct totals {
    size_t files;
    double worst, sum;
    const char *worst_name;
    char worst_buf[512];
};

static int check_one(const char *path, const char *label, bool print, struct totals *t)
{
    struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
    opt.limits.timeout_s = 30;
    struct checker_history h;
    struct checker_result res;
    const struct checker_model_ops *model;
    char errmsg[FL_ERRMSG_SIZE];
    double t0 = now_s();
    int rc = checker_check_file(path, &opt, &h, &res, &model, errmsg);
    double load = now_s() - t0 - res.seconds;
    if (rc < 0) {
        printf("%-48s ERROR %s\n", label, errmsg);
        checker_result_free(&res);
        checker_history_free(&h);
        return -1;
    }
    if (print)
        printf("%-48s %8zu %6zu %6zu  %-8s %10.4f %9.4f %8.1f\n", label, res.n_ops, res.n_keys,
               res.n_crashed, checker_verdict_name(res.verdict), res.seconds, load,
               (double)res.peak_memory / (1 << 20));
    if (t) {
        t->files++;
        t->sum += res.seconds;
        if (res.seconds >= t->worst) {
            t->worst = res.seconds;
            snprintf(t->worst_buf, sizeof t->worst_buf, "%s", label);
        }
    }
    checker_result_free(&res);
    checker_history_free(&h);
    return 0;
}

static void header(const char *title)
{
    printf("\n%s\n%-48s %8s %6s %6s  %-8s %10s %9s %8s\n", title, "history", "ops", "keys", "info",
           "verdict", "check s", "parse s", "peak MiB");
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk(const char *dir, const char *rel, struct totals *t)
{
    char path[4096], sub[4096];
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *de;
    char *names[512];
    int n = 0;
    while ((de = readdir(d)) && n < 512)
        if (de->d_name[0] != '.' && (names[n] = fl_strdup(de->d_name)))
            n++;
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        size_t len = strlen(names[i]);
        if (len > 4 && strcmp(names[i] + len - 4, ".edn") == 0)
            check_one(path, sub, true, t);
        else if (!strchr(names[i], '.'))
            walk(path, sub, t);
        fl_free(names[i]);
    }
    return 0;
}

static void generated(const char *label, struct checker_gen_config *cfg, bool print,
                      struct totals *t)
{
    char path[] = "/tmp/fl-bench-XXXXXX";
    char errmsg[FL_ERRMSG_SIZE];
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return;
    }
    close(fd);
    if (checker_gen_write(cfg, path, errmsg) < 0)
        printf("%-48s ERROR %s\n", label, errmsg);
    else
        check_one(path, label, print, t);
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: bench_checker [KNOSSOS_DIR]\n");
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    const char *dir = argc > 1 ? argv[1] : FL_SOURCE_DIR "/tests/data/knossos";
    struct totals t = {0};
    struct checker_gen_config cfg;
    char label[128];

    printf("faultline checker benchmark (%ld cores)\n", sysconf(_SC_NPROCESSORS_ONLN));
    header("Knossos corpus");
    if (walk(dir, "", &t) < 0)
        printf("(corpus not found at %s)\n", dir);
    printf("corpus: %zu files, total %.4f s, slowest %.4f s (%s)\n", t.files, t.sum, t.worst,
           t.worst_buf);

    header("100-operation histories, 5-20 processes, 20% crashed (20 seeds each)");
    for (int p = 5; p <= 20; p += 5) {
        struct totals g = {0};
        for (uint64_t seed = 1; seed <= 20; seed++) {
            checker_gen_defaults(&cfg);
            cfg.values = 5; /* the figures below were measured with 5 values */
            cfg.seed = seed;
            cfg.n_ops = 100;
            cfg.processes = p;
            cfg.crash_rate = 0.2;
            snprintf(label, sizeof label, "gen p=%d seed=%llu", p, (unsigned long long)seed);
            generated(label, &cfg, seed <= 2, &g);
        }
        printf("  -> %d processes: 20 histories, slowest %.4f s (%s)\n", p, g.worst, g.worst_buf);
    }

    header("large histories");
    checker_gen_defaults(&cfg);
    cfg.values = 5; /* the figures below were measured with 5 values */
    cfg.seed = 42;
    cfg.n_ops = 100000;
    cfg.keys = 64;
    cfg.processes = 32;
    cfg.crash_rate = 0.01;
    generated("gen 100000 ops, 64 keys, 32 procs, 1% info", &cfg, true, NULL);
    checker_gen_defaults(&cfg);
    cfg.values = 5; /* the figures below were measured with 5 values */
    cfg.seed = 43;
    cfg.n_ops = 30000;
    cfg.keys = 1;
    cfg.processes = 16;
    cfg.crash_rate = 0.0;
    generated("gen 30000 ops, 1 key, 16 procs, 0% info", &cfg, true, NULL);
    cfg.crash_rate = 0.01;
    cfg.seed = 44;
    generated("gen 30000 ops, 1 key, 16 procs, 1% info", &cfg, true, NULL);
    /* One read changed to a value no concurrent write explains (1000 values
     * make that near certain): invalid. Mutated histories with ~100 or more
     * crashed operations can exhaust the budget instead (README "Speed"). */
    cfg.mutate = true;
    cfg.values = 1000;
    cfg.crash_rate = 0.0;
    cfg.seed = 45;
    generated("gen 30000 ops, 1 key, 16 procs, mutated", &cfg, true, NULL);
    cfg.crash_rate = 0.001;
    generated("gen 30000 ops, 1 key, 16 procs, 0.1% info, mut", &cfg, true, NULL);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\nmax resident set: %.1f MiB\n", (double)ru.ru_maxrss / 1024);
    return 0;
}
