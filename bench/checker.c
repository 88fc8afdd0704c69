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
 * Figures only: no assertions.
 *
 *   bench_checker --unique 1000,10000,100000,1000000
 *     generated unique-value histories: 8/64 processes, 1%/30% crashed,
 *     valid and certainly invalid (a stale read): verdict and search time per
 *     case, and the WGL search's verdict (10 s budget) up to 100,000 ops;
 *     exit 1 if any is undecided or disagrees.
 *   bench_checker --memory 1000000,10000000
 *     peak RSS of faultline-check on such histories, unbounded and with
 *     --max-memory 512 (FL_ANCHOR_CHECK=PROGRAM runs that one too). */
#include "checker/check.h"
#include "checker/gen.h"
#include "common/alloc.h"
#include "common/error.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* ==== --unique: generated unique-value histories (issue 14) ==== */

/* Checks `path` with `proc` in this process; returns the verdict and sets
 * *secs (search, wall clock), *cpu (its CPU time) and *unique (decided
 * without search). */
static enum checker_verdict timed_check(const char *path, enum checker_procedure proc,
                                        double timeout, double *secs, double *cpu, bool *unique)
{
    struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
    opt.limits.procedure = proc;
    opt.limits.timeout_s = timeout;
    struct checker_history h;
    struct checker_result res;
    const struct checker_model_ops *model;
    char errmsg[FL_ERRMSG_SIZE];
    enum checker_verdict v = CHECKER_UNKNOWN;
    if (checker_check_file(path, &opt, &h, &res, &model, errmsg) < 0) {
        printf("ERROR %s\n", errmsg);
    } else {
        v = res.verdict;
        *secs = res.seconds;
        *cpu = res.cpu_seconds;
        *unique = res.n_keys > 0 && res.n_unique == res.n_keys;
    }
    checker_result_free(&res);
    checker_history_free(&h);
    return v;
}

/* Sizes x {8, 64} processes x {1%, 30%} crashed x {valid, stale read}: the
 * unique-value procedure's time and verdict, and the WGL search's (10 s
 * budget, up to 100,000 operations) where it finishes. */
static int unique_bench(const size_t *sizes, int n_sizes)
{
    static const int procs[] = {8, 64};
    static const double crash[] = {0.01, 0.30};
    int wrong = 0;
    printf("%-9s %5s %6s %-7s  %-8s %9s %9s %-9s  %-8s %9s\n", "ops", "procs", "crash", "kind",
           "verdict", "search s", "cpu s", "procedure", "wgl", "wgl s");
    for (int si = 0; si < n_sizes; si++)
        for (int pi = 0; pi < 2; pi++)
            for (int ci = 0; ci < 2; ci++)
                for (int stale = 0; stale < 2; stale++) {
                    struct checker_gen_config cfg;
                    checker_gen_defaults(&cfg);
                    cfg.seed = 1000 + (uint64_t)(si * 8 + pi * 4 + ci * 2 + stale);
                    cfg.n_ops = sizes[si];
                    cfg.processes = procs[pi];
                    cfg.crash_rate = crash[ci];
                    cfg.stale = stale;
                    char path[] = "/tmp/fl-bench-XXXXXX";
                    char errmsg[FL_ERRMSG_SIZE];
                    int fd = mkstemp(path);
                    if (fd < 0)
                        return 2;
                    close(fd);
                    printf("%-9zu %5d %5.0f%% %-7s  ", cfg.n_ops, cfg.processes,
                           cfg.crash_rate * 100, stale ? "stale" : "valid");
                    fflush(stdout);
                    if (checker_gen_write(&cfg, path, errmsg) < 0) {
                        printf("ERROR %s\n", errmsg);
                        unlink(path);
                        continue;
                    }
                    double t = 0, tc = 0, tw = 0, twc = 0;
                    bool uq = false, uw;
                    enum checker_verdict v = timed_check(path, CHECKER_PROC_AUTO, 0, &t, &tc, &uq);
                    enum checker_verdict want = stale ? CHECKER_INVALID : CHECKER_VALID;
                    printf("%-8s %9.4f %9.4f %-9s  ", checker_verdict_name(v), t, tc,
                           uq ? "unique" : "wgl");
                    wrong += v != want || !uq;
                    if (cfg.n_ops <= 100000) {
                        enum checker_verdict w =
                            timed_check(path, CHECKER_PROC_WGL, 10, &tw, &twc, &uw);
                        printf("%-8s %9.4f%s\n", checker_verdict_name(w), tw,
                               w != CHECKER_UNKNOWN && w != v ? "  DISAGREES" : "");
                        wrong += w != CHECKER_UNKNOWN && w != v;
                    } else {
                        printf("%-8s %9s\n", "-", "-");
                    }
                    unlink(path);
                }
    printf("%s\n", wrong ? "SOME CASES UNDECIDED OR WRONG" : "all decided, as expected");
    return wrong ? 1 : 0;
}

/* ==== --memory: peak RSS of faultline-check on large histories ==== */

/* Runs `bin` on `path` with extra arguments and prints its peak RSS and wall
 * time (wait4's rusage: the child's own peak). */
static void rss_run(const char *label, const char *bin, const char *path, const char *a1,
                    const char *a2)
{
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        return;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        execl(bin, bin, "-q", path, a1, a2, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return;
    printf("  %-38s exit %d  peak RSS %7.1f MiB  wall %6.1f s  cpu %6.1f s\n", label,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
           (double)ru.ru_maxrss / 1024, now_s() - t0,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
               ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6);
}

/* Generates a unique-value history of each size (64 processes, 30% crashed)
 * and prints faultline-check's peak RSS without a bound and with
 * --max-memory 512, and the anchor's (FL_ANCHOR_CHECK: another checker
 * program taking FILE, e.g. an older faultline-check) when set. */
static int memory_bench(const size_t *sizes, int n_sizes)
{
    const char *anchor = getenv("FL_ANCHOR_CHECK");
    for (int i = 0; i < n_sizes; i++) {
        struct checker_gen_config cfg;
        checker_gen_defaults(&cfg);
        cfg.seed = 77;
        cfg.n_ops = sizes[i];
        cfg.processes = 64;
        cfg.crash_rate = 0.3;
        char path[] = "/tmp/fl-bench-XXXXXX";
        char errmsg[FL_ERRMSG_SIZE];
        int fd = mkstemp(path);
        if (fd < 0)
            return 2;
        close(fd);
        if (checker_gen_write(&cfg, path, errmsg) < 0) {
            printf("ERROR %s\n", errmsg);
            unlink(path);
            return 2;
        }
        struct stat st;
        stat(path, &st);
        printf("%zu ops (64 processes, 30%% crashed, unique values), %.0f MiB of JSONL:\n",
               cfg.n_ops, (double)st.st_size / (1 << 20));
        rss_run("faultline-check", FL_CHECK_BIN, path, NULL, NULL);
        rss_run("faultline-check --max-memory 512", FL_CHECK_BIN, path, "--max-memory", "512");
        if (anchor)
            rss_run(anchor, anchor, path, NULL, NULL);
        unlink(path);
    }
    return 0;
}

static int parse_sizes(const char *s, size_t *out, int max)
{
    int n = 0;
    while (*s && n < max) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s || v == 0)
            return -1;
        out[n++] = (size_t)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc == 3 && (strcmp(argv[1], "--unique") == 0 || strcmp(argv[1], "--memory") == 0)) {
        size_t sizes[16];
        int n = parse_sizes(argv[2], sizes, 16);
        if (n <= 0) {
            fprintf(stderr, "bench_checker: %s: expected sizes like 1000,1000000\n", argv[1]);
            return 2;
        }
        printf("faultline checker benchmark (%ld cores)\n", sysconf(_SC_NPROCESSORS_ONLN));
        return strcmp(argv[1], "--unique") == 0 ? unique_bench(sizes, n) : memory_bench(sizes, n);
    }
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: bench_checker [KNOSSOS_DIR]\n"
                        "       bench_checker --unique SIZES   generated unique-value histories\n"
                        "                                      (8/64 procs, 1/30%% crashed, valid\n"
                        "                                      and stale), vs the WGL search\n"
                        "       bench_checker --memory SIZES   peak RSS of faultline-check\n"
                        "                                      (FL_ANCHOR_CHECK=PROGRAM: also it)\n");
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
