/* bench.c - `faultline bench`: writes/s, linearizable reads/s, p50/p99 per implementation. */
#include "common/fs.h"
#include "common/json.h"
#include "harness/bench.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checker/report.h"
#include "common/alloc.h"
#include "common/error.h"
#include "harness/run.h"

/* ==== Scenario and figures ==== */

int harness_bench_scenario(const struct harness_impl_spec *spec, unsigned nodes, unsigned clients,
                           bool reads, unsigned seconds, struct harness_scenario *sc, char *errmsg)
{
    harness_scenario_default(sc);
    snprintf(sc->name, sizeof sc->name, "bench");
    snprintf(sc->description, sizeof sc->description, "faultline bench: %s, %u clients, %s only",
             spec->text, clients, reads ? "linearizable reads" : "writes");
    harness_impl_spec_apply(spec, sc);
    /* etcd's recipe (scenarios/etcd-partition.json); the same for every
     * implementation so the figures compare. Nothing fails over here. */
    sc->implementation.options.election_timeout_ms = 1000;
    sc->implementation.options.heartbeat_ms = 100;
    sc->nodes.count = nodes;
    sc->nodes.passive = 0;
    sc->network.capture.enabled = false;
    sc->workload.model = HARNESS_MODEL_KV;
    sc->workload.keys = 5;
    sc->workload.concurrency = clients;
    sc->workload.rate_per_s = 0;
    memset(sc->workload.mix, 0, sizeof sc->workload.mix);
    sc->workload.mix[reads ? HARNESS_OP_READ : HARNESS_OP_WRITE] = 1;
    sc->workload.read_consistency = HARNESS_READ_LINEARIZABLE;
    sc->workload.value_bytes = 100;
    sc->workload.op_timeout_ms = 5000;
    memset(sc->nemesis.weights, 0, sizeof sc->nemesis.weights);
    sc->nemesis.seed = 1;
    sc->nemesis.seed_set = true;
    sc->phases.warmup_s = 1;
    sc->phases.faults_s = seconds;
    sc->phases.heal_s = 0;
    sc->phases.final_reads = false;
    memset(sc->checkers, 0, sizeof sc->checkers);
    sc->checkers[HARNESS_CHECKER_STATS] = true;
    sc->expected = HARNESS_EXPECT_NONE;
    return harness_scenario_validate(sc, sc->name, errmsg);
}

int harness_bench_parse_clients(const char *s, unsigned *out, char *errmsg)
{
    int n = 0;
    const char *p = s;
    if (*p == '\0')
        return fl_errorf(errmsg, FL_EUSAGE, "--clients: expected a list like 1,16,128"), -1;
    while (*p != '\0') {
        char *end;
        errno = 0;
        unsigned long v = *p >= '0' && *p <= '9' ? strtoul(p, &end, 10) : 0;
        if (*p < '0' || *p > '9' || errno != 0 || v < 1 || v > HARNESS_BENCH_CLIENTS_MAX ||
            (*end != ',' && *end != '\0')) {
            fl_errorf(errmsg, FL_EUSAGE,
                      "--clients \"%s\": expected comma-separated counts in 1..%d", s,
                      HARNESS_BENCH_CLIENTS_MAX);
            return -1;
        }
        if (n >= HARNESS_BENCH_MAX_CLIENTS) {
            fl_errorf(errmsg, FL_EUSAGE, "--clients: at most %d counts", HARNESS_BENCH_MAX_CLIENTS);
            return -1;
        }
        out[n++] = (unsigned)v;
        p = *end == ',' ? end + 1 : end;
        if (*end == ',' && *p == '\0') {
            fl_errorf(errmsg, FL_EUSAGE, "--clients \"%s\": trailing comma", s);
            return -1;
        }
    }
    return n;
}

void harness_bench_cell_from_json(const json_t *results, const char *f, unsigned warmup_s,
                                  struct harness_bench_cell *cell)
{
    const json_t *lat = json_object_get(json_object_get(results, "latency_ms"), f);
    cell->p50 = fl_json_number(json_object_get(lat, "p50"));
    cell->p99 = fl_json_number(json_object_get(lat, "p99"));
    const json_t *counts = json_object_get(results, "counts");
    const json_t *c[3] = {json_object_get(counts, "ok"), json_object_get(counts, "fail"),
                          json_object_get(counts, "info")};
    unsigned long long *dst[3] = {&cell->ok, &cell->fail, &cell->info};
    for (int i = 0; i < 3; i++)
        *dst[i] = json_is_integer(c[i]) && json_integer_value(c[i]) >= 0
                      ? (unsigned long long)json_integer_value(c[i])
                      : 0;
    const json_t *tp = json_object_get(results, "throughput");
    const json_t *b = json_object_get(tp, "ok_per_s");
    double bucket_s = fl_json_number(json_object_get(tp, "bucket_s"));
    size_t n = json_array_size(b);
    cell->ops_per_s = fl_json_number(json_object_get(tp, "mean_ok_per_s"));
    if (!(bucket_s > 0) || n < (size_t)warmup_s + 2)
        return;
    double sum = 0;
    size_t k = 0;
    for (size_t i = warmup_s; i + 1 < n; i++) {
        const json_t *v = json_array_get(b, i);
        if (!json_is_number(v))
            return; /* keep the overall mean */
        sum += json_number_value(v);
        k++;
    }
    cell->ops_per_s = sum / (double)k / bucket_s;
}

/* ==== The command ==== */

static const char usage[] =
    "usage: faultline bench --impl SPEC [--impl SPEC]... [options]\n"
    "\n"
    "Fault-free throughput and latency, side by side: for each client count and\n"
    "each implementation, a write-only run then a linearizable-read-only run\n"
    "(3 nodes or --nodes N, kv over 5 keys, 100-byte values, rate unlimited, 1 s warm-up, then\n"
    "S seconds measured). Prints writes/s, reads/s, p50/p99 latency (ms), the CPU\n"
    "per ok operation (us) of the nodes and of the harness over the measured\n"
    "window, and writes DIR/bench.json; each run's results folder is DIR/<spec>/c<N>-<write|read>/.\n"
    "\n"
    "  --impl SPEC         reference, etcd, reference:bug=BUG (up to 8); add \":disk\" to run\n"
    "                      on the disk-fault filesystem (faultline fs), e.g. --impl etcd\n"
    "                      --impl etcd:disk for its overhead\n"
    "  --seconds S         measured seconds per run (default 10)\n"
    "  --clients LIST      client counts, each 1..512 (default 1,16,128,256,512)\n"
    "  --nodes N           voting nodes, 1..9 (default 3)\n"
    "  --out DIR           default results/bench/<UTC time>\n"
    "  --node-bin PATH     the faultline-node binary (default: next to faultline)\n"
    "  -v, --verbose       the runs' progress lines\n"
    "  -h, --help          this text\n"
    "\n"
    "Needs root (namespaces). Exit status: 0 when every run was carried out, 3\n"
    "otherwise (usage, environment, or a run that failed; the table shows which).\n";

struct bench {
    struct harness_impl_spec specs[HARNESS_COMPARE_MAX_IMPLS];
    size_t n_specs;
    unsigned clients[HARNESS_BENCH_MAX_CLIENTS];
    int n_clients;
    unsigned seconds;
    unsigned nodes;
    char dir[512];
    /* [client][spec][0 write, 1 read] */
    struct harness_bench_cell cells[HARNESS_BENCH_MAX_CLIENTS][HARNESS_COMPARE_MAX_IMPLS][2];
};

static void run_cell(struct bench *B, int ci, size_t si, int rd,
                     const struct harness_run_opts *base)
{
    struct harness_bench_cell *cell = &B->cells[ci][si][rd];
    const struct harness_impl_spec *spec = &B->specs[si];
    char err[FL_ERRMSG_SIZE];
    struct harness_scenario sc;
    cell->ops_per_s = cell->p50 = cell->p99 = NAN;
    cell->node_us_per_op = cell->harness_us_per_op = NAN;
    cell->code = 3;
    snprintf(cell->dir, sizeof cell->dir, "%s/c%u-%s", spec->text, B->clients[ci],
             rd ? "read" : "write");
    if (harness_bench_scenario(spec, B->nodes, B->clients[ci], rd, B->seconds, &sc, err) != 0) {
        snprintf(cell->error, sizeof cell->error, "%s", err);
        return;
    }
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s/%s", B->dir, cell->dir);
    struct harness_run_opts o = *base;
    o.out_dir = rundir;
    o.disk = spec->disk;
    struct harness_run_result res;
    if (harness_run_scenario(&sc, &o, &res, err) != 0) {
        snprintf(cell->error, sizeof cell->error, "%s", err);
        return;
    }
    if (res.aborted) {
        snprintf(cell->error, sizeof cell->error, "interrupted");
        return;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/results.json", rundir);
    json_error_t jerr;
    struct stat st;
    json_t *root = NULL;
    if (stat(path, &st) != 0 || (uint64_t)st.st_size > HARNESS_COMPARE_RESULTS_MAX ||
        (root = json_load_file(path, 0, &jerr)) == NULL) {
        snprintf(cell->error, sizeof cell->error, "%s: cannot be read", path);
        return;
    }
    cell->code = (int)res.verdict;
    if (res.window_ok > 0) {
        if (res.cpu_ok)
            cell->node_us_per_op = res.node_cpu_s * 1e6 / (double)res.window_ok;
        cell->harness_us_per_op = res.harness_cpu_s * 1e6 / (double)res.window_ok;
    }
    harness_bench_cell_from_json(root, rd ? "read" : "write", sc.phases.warmup_s, cell);
    json_decref(root);
}

static void bench_table(const struct bench *B, struct fl_buf *out)
{
    fl_buf_printf(out,
                  "bench: %u nodes, kv, 100-byte values, no faults, %u s per run; ops/s, "
                  "latency p50/p99 in ms,\n"
                  "CPU us/op of the nodes (sum of their processes) / of the harness\n",
                  B->nodes, B->seconds);
    fl_buf_printf(out, "%-8s", "clients");
    for (size_t s = 0; s < B->n_specs; s++)
        fl_buf_printf(out, " | %-63s", B->specs[s].text);
    fl_buf_puts(out, "\n");
    fl_buf_printf(out, "%-8s", "");
    for (size_t s = 0; s < B->n_specs; s++)
        fl_buf_printf(out, " | %9s %11s %9s %9s %11s %9s", "writes/s", "p50/p99", "cpu n/h",
                      "reads/s", "p50/p99", "cpu n/h");
    fl_buf_puts(out, "\n");
    for (int c = 0; c < B->n_clients; c++) {
        fl_buf_printf(out, "%-8u", B->clients[c]);
        for (size_t s = 0; s < B->n_specs; s++) {
            fl_buf_puts(out, " |");
            for (int rd = 0; rd < 2; rd++) {
                const struct harness_bench_cell *cell = &B->cells[c][s][rd];
                char tp[24], lat[32], cpu[32];
                snprintf(cpu, sizeof cpu, "-");
                if (cell->error[0]) {
                    snprintf(tp, sizeof tp, "error");
                    snprintf(lat, sizeof lat, "-");
                } else {
                    if (isnan(cell->harness_us_per_op))
                        ;
                    else if (isnan(cell->node_us_per_op))
                        snprintf(cpu, sizeof cpu, "-/%.0f", cell->harness_us_per_op);
                    else
                        snprintf(cpu, sizeof cpu, "%.0f/%.0f", cell->node_us_per_op,
                                 cell->harness_us_per_op);
                    if (isnan(cell->ops_per_s))
                        snprintf(tp, sizeof tp, "-");
                    else
                        snprintf(tp, sizeof tp, "%.0f", cell->ops_per_s);
                    if (isnan(cell->p50) || isnan(cell->p99))
                        snprintf(lat, sizeof lat, "-");
                    else
                        snprintf(lat, sizeof lat, "%.1f/%.1f", cell->p50, cell->p99);
                }
                fl_buf_printf(out, " %9s %11s %9s", tp, lat, cpu);
            }
        }
        fl_buf_puts(out, "\n");
    }
    for (int c = 0; c < B->n_clients; c++)
        for (size_t s = 0; s < B->n_specs; s++)
            for (int rd = 0; rd < 2; rd++) {
                const struct harness_bench_cell *cell = &B->cells[c][s][rd];
                if (cell->error[0])
                    fl_buf_printf(out, "%s, %u clients, %s: %s\n", B->specs[s].text, B->clients[c],
                                  rd ? "reads" : "writes", cell->error);
                else if (cell->fail || cell->info)
                    fl_buf_printf(out, "%s, %u clients, %s: %llu fail, %llu info\n",
                                  B->specs[s].text, B->clients[c], rd ? "reads" : "writes",
                                  cell->fail, cell->info);
            }
}

static json_t *bench_json(const struct bench *B)
{
    json_t *root = json_object(), *rows = json_array();
    if (root == NULL || rows == NULL) {
        json_decref(root);
        json_decref(rows);
        return NULL;
    }
    bool ok = json_object_set_new(root, "format", json_integer(1)) == 0 &&
              json_object_set_new(root, "seconds", json_integer(B->seconds)) == 0 &&
              json_object_set_new(root, "nodes", json_integer(B->nodes)) == 0 &&
              json_object_set_new(root, "value_bytes", json_integer(100)) == 0 &&
              json_object_set_new(root, "dir", json_string(B->dir)) == 0;
    for (int c = 0; ok && c < B->n_clients; c++)
        for (size_t s = 0; ok && s < B->n_specs; s++) {
            const struct harness_bench_cell *w = &B->cells[c][s][0], *r = &B->cells[c][s][1];
            json_t *row = json_pack(
                "{s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I}",
                "impl", B->specs[s].text, "clients", (int)B->clients[c], "writes_per_s",
                fl_json_real(w->ops_per_s), "write_p50_ms", fl_json_real(w->p50), "write_p99_ms",
                fl_json_real(w->p99), "reads_per_s", fl_json_real(r->ops_per_s), "read_p50_ms",
                fl_json_real(r->p50), "read_p99_ms", fl_json_real(r->p99), "write_dir", w->dir,
                "read_dir", r->dir, "write_error",
                w->error[0] ? json_string(w->error) : json_null(), "read_error",
                r->error[0] ? json_string(r->error) : json_null(), "write_fail",
                (json_int_t)(w->fail + w->info), "read_fail", (json_int_t)(r->fail + r->info),
                "writes_ok", (json_int_t)w->ok, "reads_ok", (json_int_t)r->ok);
            ok = row != NULL &&
                 json_object_set_new(row, "write_node_cpu_us_per_op",
                                     fl_json_real(w->node_us_per_op)) == 0 &&
                 json_object_set_new(row, "write_harness_cpu_us_per_op",
                                     fl_json_real(w->harness_us_per_op)) == 0 &&
                 json_object_set_new(row, "read_node_cpu_us_per_op",
                                     fl_json_real(r->node_us_per_op)) == 0 &&
                 json_object_set_new(row, "read_harness_cpu_us_per_op",
                                     fl_json_real(r->harness_us_per_op)) == 0;
            if (row != NULL && !ok)
                json_decref(row);
            ok = ok && json_array_append_new(rows, row) == 0;
        }
    if (!ok || json_object_set_new(root, "rows", rows) != 0) {
        if (!ok)
            json_decref(rows);
        json_decref(root);
        return NULL;
    }
    return root;
}

int harness_bench_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"impl", required_argument, NULL, 'i'},
        {"seconds", required_argument, NULL, 'S'},
        {"clients", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"nodes", required_argument, NULL, 'n'},
        {"node-bin", required_argument, NULL, 'b'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *prog = "faultline bench";
    char err[FL_ERRMSG_SIZE];
    struct bench *B = fl_calloc(1, sizeof *B);
    if (B == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 3;
    }
    const char *out = NULL, *clients = "1,16,128,256,512";
    struct harness_run_opts o = {.quiet = true};
    B->seconds = 10;
    B->nodes = 3;
    int rc = 3, opt;
    unsigned long long v;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            if (harness_impl_spec_add(B->specs, &B->n_specs, optarg, err) != 0) {
                fprintf(stderr, "%s: %s\n", prog, err);
                goto out;
            }
            break;
        case 'S':
            if (fl_parse_uint("faultline bench", "--seconds", optarg, 3600, &v) != 0)
                goto out;
            if (v == 0) {
                fprintf(stderr, "%s: --seconds: at least 1\n", prog);
                goto out;
            }
            B->seconds = (unsigned)v;
            break;
        case 'c':
            clients = optarg;
            break;
        case 'n':
            if (fl_parse_uint_range("faultline bench", "--nodes", optarg, 1,
                                    HARNESS_SCENARIO_MAX_NODES, &v) != 0)
                goto out;
            B->nodes = (unsigned)v;
            break;
        case 'o':
            out = optarg;
            break;
        case 'b':
            o.node_bin = optarg;
            break;
        case 'v':
            o.quiet = false;
            break;
        case 'h':
            fputs(usage, stdout);
            rc = 0;
            goto out;
        default:
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", prog,
                    argv[optind - 1]);
            goto out;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", prog, argv[optind]);
        goto out;
    }
    if (B->n_specs == 0) {
        fprintf(stderr, "%s: give at least one --impl (see --help)\n", prog);
        goto out;
    }
    if ((B->n_clients = harness_bench_parse_clients(clients, B->clients, err)) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto out;
    }
    for (size_t s = 0; s < B->n_specs; s++) {
        struct harness_scenario sc;
        if (harness_bench_scenario(&B->specs[s], B->nodes, B->clients[0], false, B->seconds, &sc,
                                   err) != 0) {
            fprintf(stderr, "%s: --impl %s: %s\n", prog, B->specs[s].text, err);
            goto out;
        }
    }
    if (geteuid() != 0) {
        fprintf(stderr, "%s: needs root (network namespaces); try sudo\n", prog);
        goto out;
    }
    int mrv = fl_results_dir(B->dir, sizeof B->dir, out, "results/bench");
    if (mrv != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, out ? out : "results/bench", strerror(-mrv));
        goto out;
    }
    unsigned total = (unsigned)(B->n_clients * (int)B->n_specs * 2), done = 0;
    fprintf(stderr, "%s: %u runs of %u s (+1 s warm-up), results in %s\n", prog, total, B->seconds,
            B->dir);
    bool failed = false, aborted = false;
    for (int c = 0; c < B->n_clients && !aborted; c++)
        for (size_t s = 0; s < B->n_specs && !aborted; s++)
            for (int rd = 0; rd < 2 && !aborted; rd++) {
                fprintf(stderr, "== [%u/%u] %s, %u clients, %s\n", ++done, total, B->specs[s].text,
                        B->clients[c], rd ? "linearizable reads" : "writes");
                run_cell(B, c, s, rd, &o);
                const struct harness_bench_cell *cell = &B->cells[c][s][rd];
                if (cell->error[0]) {
                    failed = true;
                    fprintf(stderr, "%s: %s: %s\n", prog, B->specs[s].text, cell->error);
                    aborted = strcmp(cell->error, "interrupted") == 0;
                }
            }
    if (aborted) /* runs never started are errors in the table */
        for (int c = 0; c < B->n_clients; c++)
            for (size_t s = 0; s < B->n_specs; s++)
                for (int rd = 0; rd < 2; rd++)
                    if (B->cells[c][s][rd].dir[0] == '\0') {
                        B->cells[c][s][rd].ops_per_s = NAN;
                        snprintf(B->cells[c][s][rd].error, sizeof B->cells[c][s][rd].error,
                                 "not run");
                    }
    struct fl_buf t;
    fl_buf_init(&t);
    bench_table(B, &t);
    fputs(fl_buf_cstr(&t), stdout);
    fl_buf_free(&t);
    json_t *j = bench_json(B);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(j);
    char path[700];
    snprintf(path, sizeof path, "%s/bench.json", B->dir);
    if (text == NULL || checker_report_write_file(path, text, strlen(text), err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, text == NULL ? "out of memory" : err);
        failed = true;
    } else {
        printf("bench: %s\n", path);
    }
    free(text); /* jansson's */
    rc = failed ? 3 : 0;
out:
    fl_free(B);
    return rc;
}
