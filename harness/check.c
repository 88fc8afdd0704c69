/* check.c - `faultline check FILE...`: load, check, print, exit by verdict. */
#include "harness/check.h"

#include "harness/check_txn.h"

#include "checker/check.h"
#include "checker/countercheck.h"
#include "checker/explain.h"
#include "checker/setcheck.h"
#include "checker/stats.h"
#include "common/edn.h"
#include "common/error.h"
#include "common/history.h"
#include "common/jsonl_value.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_INVALID 1
#define EXIT_UNKNOWN 2
#define EXIT_ERROR   3

static void usage(FILE *out)
{
    fprintf(out,
            "usage: faultline check FILE... [options]\n"
            "\n"
            "Checks each history for linearizability and prints one line per file:\n"
            "its verdict, operations, keys and time; a counterexample when invalid.\n"
            "Formats: our JSONL, Jepsen/Knossos EDN, Jepsen text logs (autodetected).\n"
            "A FILE that is a results folder of `faultline run` means its history.jsonl,\n"
            "checked with the model of its scenario.json.\n"
            "\n"
            "options:\n"
            "  --model M          register (cas-register), kv, counter, set, queue, mutex,\n"
            "                     multi-register; default: detected from the operations.\n"
            "                     list-append, rw-register: Elle's transactional check\n"
            "  --consistency C    register / kv: linearizable (default) or sequential:\n"
            "                     sequential consistency and the session guarantees of\n"
            "                     sequential (follower) reads, monotonic reads and\n"
            "                     read-your-writes, per process (default for a results\n"
            "                     folder whose scenario has read_consistency sequential).\n"
            "                     list-append / rw-register: strict-serializable (default),\n"
            "                     serializable, snapshot-isolation, repeatable-read,\n"
            "                     read-committed, read-uncommitted\n"
            "  --html OUT         with list-append / rw-register: also write a report page\n"
            "                     (each anomaly's shortest cycle drawn, steps in words)\n"
            "  --format F         auto (default), jsonl, edn, jepsen-log\n"
            "  --initial JSON     initial value (default: 0 for EDN as in Knossos, else nil),\n"
            "                     read as JSONL values are (1.0 is 1; \"\\u0000:a\" is :a).\n"
            "                     multi-register: an object naming registers, the rest\n"
            "                     nil; in JSONL \"1\" names the key 1; in EDN \":x\" names\n"
            "                     :x, \"x\" the string \"x\", \"\\u00011\" the key 1 (\\u0001\n"
            "                     then the key's EDN text)\n"
            "  --nil-read-any     an ok read of nil matches any state (default for EDN)\n"
            "  --nil-read-strict  a read of nil means absent (default for JSONL and logs)\n"
            "  --timeout S        give up after S seconds per file: verdict unknown\n"
            "  --max-memory MIB   cap the whole process's resident memory (the history as\n"
            "                     read, then the search): verdict unknown, with how far it\n"
            "                     got, when the history or the search needs more\n"
            "                     (default: half the available memory, at most 8 GiB)\n"
            "  --threads N        keys checked in parallel (default: all cores)\n"
            "  --procedure P      auto (default: registers and kv keys whose written values\n"
            "                     are unique are decided without search, in O(n log n);\n"
            "                     other keys by the WGL search) or wgl (always search)\n"
            "  --json             one JSON object per file instead of text\n"
            "  --prefix N         operations of the linearizable prefix to print (default 10,\n"
            "                     0 for all)\n"
            "  --export-edn OUT   also write the (single) history as Jepsen EDN to OUT\n"
            "  --export-jsonl OUT also write it as JSONL: EDN's keywords, symbols, chars,\n"
            "                     sets, floats 1.0, #inst/#uuid as \"\\u0000\" + EDN text\n"
            "                     (\"\\u0000:a\"), which the JSONL reader takes back\n"
            "  --minimize         when invalid, also the smallest set of operations (each\n"
            "                     keeping its interval) that is still not linearizable:\n"
            "                     delta debugging over the invalid key's operations, each\n"
            "                     candidate decided by the check; within --timeout S (then\n"
            "                     the smallest found so far, which may not be minimal)\n"
            "  --stats            also print latency percentiles and counts per f\n"
            "  -q, --quiet        print only the verdict lines\n"
            "  -h, --help         this text\n"
            "\n"
            "With the set model, Jepsen's set checker also runs (lost, unexpected,\n"
            "duplicated, recovered elements in the final read); with the counter model,\n"
            "the counter bounds check. Either failing makes the history invalid.\n"
            "Bad input (malformed line, unknown type, completion with no invoke, two\n"
            "operations in flight on one process, wrong value shape, truncated file)\n"
            "is one line on stderr naming file, line and field, and exit 3.\n"
            "\n"
            "exit: 0 valid, 1 invalid, 2 unknown, 3 usage or input error\n");
}

static int parse_double(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 1e12) { /* also NaN and inf */
        fprintf(stderr, "faultline check: %s: expected a non-negative number, got \"%s\"\n", opt,
                s);
        return -1;
    }
    *out = v;
    return 0;
}

static int export_history(const char *in, enum fl_history_format format, const char *out,
                          enum fl_history_format out_format)
{
    char errmsg[FL_ERRMSG_SIZE];
    struct fl_history_reader r;
    struct fl_history_writer w;
    struct fl_event ev;
    int rc;

    if ((rc = fl_history_reader_open(&r, in, format, errmsg)) < 0)
        goto fail;
    if ((rc = fl_history_writer_open(&w, out, out_format, errmsg)) < 0) {
        fl_history_reader_close(&r);
        goto fail;
    }
    fl_event_init(&ev);
    while ((rc = fl_history_reader_next(&r, &ev, errmsg)) == 1)
        if ((rc = fl_history_writer_write(&w, &ev, errmsg)) < 0)
            break;
    fl_event_clear(&ev);
    fl_history_reader_close(&r);
    int rc2 = fl_history_writer_close(&w, rc < 0 ? NULL : errmsg);
    if (rc == 0)
        rc = rc2;
    if (rc < 0) {
        unlink(out); /* no well-formed but partial history for Knossos */
        goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "faultline check: --export-%s: %s\n",
            out_format == FL_FORMAT_EDN ? "edn" : "jsonl", errmsg);
    return -1;
}

/* Runs the checks that go with the model (set, counter) and, if asked, the
 * statistics: JSON into extra, text lines into lines, and a failed check
 * turns *verdict invalid (an undecided one turns valid into unknown). Returns 0 or a negative code with errmsg. */
static int extra_checks(const struct checker_history *h, const struct checker_model_ops *model,
                        const struct checker_check_options *opt, bool want_stats, json_t *extra,
                        struct fl_buf *lines, enum checker_verdict *verdict, char *errmsg)
{
    int rc;
    if (!extra)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    if (model == &checker_model_set) {
        struct checker_set_result sr;
        if ((rc = checker_set_check(h, CHECKER_SET_ALL_KEYS, &sr, errmsg)) < 0)
            return rc;
        json_object_set_new(extra, "set", checker_set_result_json(&sr));
        fl_buf_puts(lines, "  ");
        checker_set_summary(&sr, lines);
        fl_buf_puts(lines, "\n");
        if (!sr.valid && !sr.unknown)
            *verdict = CHECKER_INVALID;
        else if (sr.unknown && *verdict == CHECKER_VALID)
            *verdict = CHECKER_UNKNOWN; /* no final read, or elements never read */
        checker_set_result_free(&sr);
    }
    if (model == &checker_model_counter) {
        struct checker_counter_result cr;
        int64_t initial =
            opt->initial && json_is_integer(opt->initial) ? json_integer_value(opt->initial) : 0;
        if ((rc = checker_counter_check(h, CHECKER_COUNTER_ALL_KEYS, initial, &cr, errmsg)) < 0)
            return rc;
        json_object_set_new(extra, "counter", checker_counter_result_json(&cr));
        fl_buf_puts(lines, "  ");
        checker_counter_summary(&cr, lines);
        fl_buf_puts(lines, "\n");
        if (!cr.valid)
            *verdict = CHECKER_INVALID;
        checker_counter_result_free(&cr);
    }
    if (want_stats) {
        struct checker_stats st;
        if ((rc = checker_stats_compute(h, &st, errmsg)) < 0)
            return rc;
        json_object_set_new(extra, "stats", checker_stats_json(&st));
        checker_stats_table(&st, lines);
        checker_stats_free(&st);
    }
    return 0;
}

static void minimized_text(const struct checker_history *h, const struct checker_minimized *m)
{
    printf("  minimized: %zu of the key's %zu operations are still not linearizable "
           "(%zu candidates checked)",
           m->n_ops, m->n_start, m->candidates);
    if (m->out_of_time)
        printf("; the budget ran out, so this may not be minimal");
    else if (!m->complete)
        printf("; %zu candidates were not decided within their share of the budget, so this "
               "may not be minimal",
               m->undecided);
    printf(":\n");
    for (size_t i = 0; i < m->n_ops; i++) {
        const struct checker_hop *op = &h->ops[m->ops[i]];
        char *v = fl_edn_value_text(op->value);
        printf("    process %lld %s %s %s", (long long)op->process,
               fl_event_type_name(op->status), op->f, v ? v : "?");
        free(v);
        if (op->status == FL_EVENT_INFO)
            printf(" (line %llu, never completed)\n", (unsigned long long)op->call_line);
        else
            printf(" (lines %llu-%llu)\n", (unsigned long long)op->call_line,
                   (unsigned long long)op->ret_line);
    }
}

/* Checks one history for sequential consistency (--consistency sequential)
 * and prints it; returns the exit code for this file. */
static int check_seq_file(const char *path, const struct checker_check_options *opt, bool json_out,
                          bool quiet)
{
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct checker_history h;
    struct checker_seq_result res;
    const struct checker_model_ops *model = NULL;
    int code;
    int rc = checker_check_file_seq(path, opt, &h, &res, &model, errmsg);
    if (rc < 0) {
        harness_check_print_error(path, "sequential", errmsg, json_out);
        checker_history_free(&h);
        return EXIT_ERROR;
    }
    /* Refused while reading: no operation was kept to detect the model from,
     * as in the linearizability path (only --model or a scenario names it). */
    const char *mname = h.truncated && !opt->model ? NULL : model->name;
    if (json_out) {
        json_t *o = checker_seq_result_json(&h, &res);
        if (o)
            json_object_set_new(o, "model", mname ? json_string(mname) : json_null());
        harness_check_print_json(o);
    } else {
        printf("%s: %s  model=%s consistency=sequential ops=%zu processes=%zu keys=%zu "
               "time=%.3fs procedure=%s",
               path, checker_verdict_name(res.verdict), mname ? mname : "-", res.n_ops,
               res.n_processes, res.n_keys, res.seconds, checker_seq_result_procedure(&res));
        if (res.refused)
            printf("  (refused %s: %s)", res.refused, res.reason);
        else if (res.verdict == CHECKER_UNKNOWN && res.reason[0])
            printf("  (%s)", res.reason);
        putchar('\n');
        if (!quiet && res.verdict == CHECKER_INVALID) {
            struct fl_buf b;
            fl_buf_init(&b);
            checker_seq_explain_text(&res, &b);
            fputs(fl_buf_cstr(&b), stdout);
            fl_buf_free(&b);
        }
    }
    fflush(stdout);
    code = res.verdict == CHECKER_INVALID ? EXIT_INVALID
           : res.verdict == CHECKER_UNKNOWN ? EXIT_UNKNOWN
                                            : 0;
    checker_seq_result_free(&res);
    checker_history_free(&h);
    return code;
}

static void merge_code(int *code, int r)
{
    if (r == EXIT_ERROR || (r == EXIT_INVALID && *code != EXIT_ERROR) ||
        (r == EXIT_UNKNOWN && *code == 0))
        *code = r;
}

void harness_check_print_json(json_t *o)
{
    if (!o)
        return;
    /* EDN's keywords and the like as their EDN text (":a"), never the tag byte */
    json_t *plain = fl_edn_plain(o, 0);
    json_dumpf(plain ? plain : o, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(plain);
    json_decref(o);
}

void harness_check_print_error(const char *path, const char *consistency, const char *errmsg,
                               bool json)
{
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "file", path, "verdict", "error", "error", errmsg);
        if (o && consistency)
            json_object_set_new(o, "consistency", json_string(consistency));
        harness_check_print_json(o);
    }
    fprintf(stderr, "faultline check: %s\n", errmsg);
}

int harness_check_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"consistency", required_argument, NULL, 'C'},
        {"html", required_argument, NULL, 'H'},
        {"format", required_argument, NULL, 'f'},
        {"initial", required_argument, NULL, 'i'},
        {"nil-read-any", no_argument, NULL, 'a'},
        {"nil-read-strict", no_argument, NULL, 's'},
        {"timeout", required_argument, NULL, 't'},
        {"max-memory", required_argument, NULL, 'M'},
        {"threads", required_argument, NULL, 'T'},
        {"procedure", required_argument, NULL, 'P'},
        {"json", no_argument, NULL, 'j'},
        {"prefix", required_argument, NULL, 'p'},
        {"export-edn", required_argument, NULL, 'e'},
        {"export-jsonl", required_argument, NULL, 1002},
        {"minimize", no_argument, NULL, 1001},
        {"quiet", no_argument, NULL, 'q'},
        {"stats", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
    const char *export_path = NULL;
    enum fl_history_format export_format = FL_FORMAT_EDN;
    bool json_out = false, quiet = false, want_stats = false, minimize = false;
    double d;
    size_t prefix_tail = 10;
    int c, code = 0;
    struct harness_check_txn_opts txn = {.consistency = CHECKER_TXN_STRICT_SERIALIZABLE};
    bool txn_mode = false, consistency_given = false, seq_mode = false;

    optind = 1;
    opterr = 0; /* our own message: getopt's would say "check: ..." */
    while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (checker_txn_workload_parse(optarg, &txn.workload) == 0) {
                txn.workload_given = true;
                txn_mode = true;
                break;
            }
            if (!checker_model_find(optarg)) {
                fprintf(stderr, "faultline check: --model: unknown model \"%s\" (see --help)\n",
                        optarg);
                goto usage_error;
            }
            opt.model = optarg;
            break;
        case 'H':
            txn.html = optarg;
            txn_mode = true;
            break;
        case 'C':
            if (strcmp(optarg, "sequential") == 0 || strcmp(optarg, "linearizable") == 0) {
                seq_mode = strcmp(optarg, "sequential") == 0;
                consistency_given = true;
                break;
            }
            if (checker_txn_consistency_parse(optarg, &txn.consistency) < 0) {
                fprintf(stderr, "faultline check: --consistency: unknown consistency \"%s\" (see --help)\n",
                        optarg);
                goto usage_error;
            }
            txn_mode = true;
            consistency_given = true;
            break;
        case 'f':
            if (fl_history_format_parse(optarg, &opt.format) < 0) {
                fprintf(stderr,
                        "faultline check: --format: expected auto, jsonl, edn or jepsen-log, got "
                        "\"%s\"\n",
                        optarg);
                goto usage_error;
            }
            break;
        case 'i': {
            /* read as a JSONL history's values: 1.0 is 1, "\u0000:a" the keyword :a */
            char ierr[FL_ERRMSG_SIZE];
            json_decref(opt.initial);
            if (fl_jsonl_parse(optarg, strlen(optarg), JSON_DECODE_ANY, NULL, 0, &opt.initial,
                               ierr) < 0) {
                fprintf(stderr, "faultline check: --initial: not JSON: %s\n", ierr);
                goto usage_error;
            }
            break;
        }
        case 'a':
            opt.nil_read_any = 1;
            break;
        case 's':
            opt.nil_read_any = 0;
            break;
        case 't':
            if (parse_double("--timeout", optarg, &d) < 0)
                goto usage_error;
            opt.limits.timeout_s = d;
            break;
        case 'M':
            if (parse_double("--max-memory", optarg, &d) < 0 || d < 1 || d > 1e9) {
                fprintf(stderr, "faultline check: --max-memory: expected MiB >= 1\n");
                goto usage_error;
            }
            opt.limits.max_memory = (size_t)(d * 1024 * 1024);
            break;
        case 'T':
            if (parse_double("--threads", optarg, &d) < 0 || d < 1 || d > 64) {
                fprintf(stderr, "faultline check: --threads: expected 1 to 64\n");
                goto usage_error;
            }
            opt.limits.threads = (int)d;
            break;
        case 'P':
            if (strcmp(optarg, "auto") == 0) {
                opt.limits.procedure = CHECKER_PROC_AUTO;
            } else if (strcmp(optarg, "wgl") == 0) {
                opt.limits.procedure = CHECKER_PROC_WGL;
            } else {
                fprintf(stderr, "faultline check: --procedure: expected auto or wgl, got \"%s\"\n",
                        optarg);
                goto usage_error;
            }
            break;
        case 'j':
            json_out = true;
            break;
        case 'p':
            if (parse_double("--prefix", optarg, &d) < 0)
                goto usage_error;
            prefix_tail = (size_t)d;
            break;
        case 'e':
            export_path = optarg;
            export_format = FL_FORMAT_EDN;
            break;
        case 1002:
            export_path = optarg;
            export_format = FL_FORMAT_JSONL;
            break;
        case 1001:
            minimize = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'S':
            want_stats = true;
            break;
        case 'h':
            usage(stdout);
            json_decref(opt.initial);
            return 0;
        case ':':
            fprintf(stderr, "faultline check: %s: needs a value (see --help)\n", argv[optind - 1]);
            goto usage_error;
        default:
            fprintf(stderr, "faultline check: unknown option %s (see --help)\n", argv[optind - 1]);
            goto usage_error;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "faultline check: no history file given (see --help)\n");
        goto usage_error;
    }
    const char *export_opt = export_format == FL_FORMAT_EDN ? "--export-edn" : "--export-jsonl";
    if (export_path && argc - optind != 1) {
        fprintf(stderr, "faultline check: %s takes exactly one history file\n", export_opt);
        goto usage_error;
    }
    /* The export reads the history again after the check: a pipe is read once. */
    struct stat est;
    if (export_path && stat(argv[optind], &est) == 0 && !S_ISREG(est.st_mode) &&
        !S_ISDIR(est.st_mode)) {
        fprintf(stderr,
                "faultline check: %s: %s is not a regular file (a pipe is read once, "
                "by the check): save the history to a file first\n",
                export_opt, argv[optind]);
        goto usage_error;
    }

    if (txn_mode && (opt.model || export_path || want_stats)) {
        fprintf(stderr, "faultline check: --model list-append/rw-register and --consistency go "
                        "without --export-edn/--export-jsonl, --stats or another --model\n");
        goto usage_error;
    }
    if (seq_mode && (txn_mode || want_stats || minimize || export_path)) {
        fprintf(stderr, "faultline check: --consistency sequential goes with the register and kv "
                        "models, without --html, --stats, --minimize or --export-edn/--export-jsonl\n");
        goto usage_error;
    }
    if (txn.html && argc - optind != 1) {
        fprintf(stderr, "faultline check: --html takes exactly one history file\n");
        goto usage_error;
    }
    /* --max-memory bounds the whole process (the search caches get what the
     * history leaves); the transactional checker keeps its own graph bound. */
    opt.max_rss = opt.limits.max_memory ? opt.limits.max_memory : checker_default_max_memory();
    if (txn_mode) {
        txn.format = opt.format;
        txn.timeout_s = opt.limits.timeout_s;
        txn.max_memory = opt.limits.max_memory;
        txn.json = json_out;
        txn.quiet = quiet;
        for (int i = optind; i < argc; i++) {
            /* A results folder: its history. */
            char hist[4096];
            struct stat dst;
            const char *p = argv[i];
            if (stat(p, &dst) == 0 && S_ISDIR(dst.st_mode)) {
                snprintf(hist, sizeof hist, "%s/history.jsonl", p);
                p = hist;
            }
            int r = harness_check_txn_file(p, &txn);
            if (r == EXIT_ERROR || (r == EXIT_INVALID && code != EXIT_ERROR) ||
                (r == EXIT_UNKNOWN && code == 0))
                code = r;
        }
        json_decref(opt.initial);
        return code;
    }
    for (int i = optind; i < argc; i++) {
        const char *path = argv[i];
        char errmsg[FL_ERRMSG_SIZE] = "";
        struct checker_history h;
        struct checker_result res;
        const struct checker_model_ops *model = NULL;
        /* A results folder of `faultline run`: its history, and its model
         * from scenario.json unless --model says otherwise. */
        char dir_history[4096];
        const char *saved_model = opt.model;
        char model_name[32] = "";
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(dir_history, sizeof dir_history, "%s/history.jsonl", path);
            char sc_path[4096];
            snprintf(sc_path, sizeof sc_path, "%s/scenario.json", path);
            /* No scenario.json: the model is detected. One that is there but
             * cannot be read must not be: its model and read consistency
             * decide what the history is checked for. */
            json_t *sc = NULL;
            struct stat sst;
            if (stat(sc_path, &sst) == 0) {
                json_error_t jerr;
                sc = json_load_file(sc_path, JSON_REJECT_DUPLICATES, &jerr);
                const char *bad = NULL;
                enum checker_txn_workload tw;
                json_t *wl0 = json_object_get(sc, "workload");
                json_t *m0 = json_object_get(wl0, "model");
                if (!sc)
                    snprintf(errmsg, sizeof errmsg, "%s: line %d column %d: %s", sc_path,
                             jerr.line, jerr.column, jerr.text);
                else if (!json_is_object(sc))
                    bad = "expected a JSON object at the top";
                else if (wl0 && !json_is_object(wl0))
                    bad = "workload: expected an object";
                else if (m0 && (!json_is_string(m0) ||
                                (checker_model_find(json_string_value(m0)) == NULL &&
                                 checker_txn_workload_parse(json_string_value(m0), &tw) < 0)))
                    bad = "workload.model: not a model faultline check knows";
                if (bad)
                    snprintf(errmsg, sizeof errmsg, "%s: %s", sc_path, bad);
                if (!sc || bad) {
                    harness_check_print_error(path, NULL, errmsg, json_out);
                    json_decref(sc);
                    code = EXIT_ERROR;
                    continue;
                }
            }
            json_t *wl = json_object_get(sc, "workload");
            const char *m = json_string_value(json_object_get(wl, "model"));
            struct harness_check_txn_opts t = txn;
            if (m != NULL && opt.model == NULL && checker_txn_workload_parse(m, &t.workload) == 0) {
                /* A transactional run: the txn checker at the scenario's consistency. */
                const char *cs = json_string_value(json_object_get(wl, "txn_consistency"));
                if (!consistency_given && cs && checker_txn_consistency_parse(cs, &t.consistency) < 0) {
                    fprintf(stderr, "faultline check: %s: workload.txn_consistency: unknown \"%s\"\n",
                            sc_path, cs);
                    json_decref(sc);
                    code = EXIT_ERROR;
                    continue;
                }
                t.workload_given = true;
                t.format = opt.format;
                t.timeout_s = opt.limits.timeout_s;
                t.max_memory = opt.limits.max_memory;
                t.json = json_out;
                t.quiet = quiet;
                json_decref(sc);
                int r = harness_check_txn_file(dir_history, &t);
                if (r == EXIT_ERROR || (r == EXIT_INVALID && code != EXIT_ERROR) ||
                    (r == EXIT_UNKNOWN && code == 0))
                    code = r;
                continue;
            }
            if (m != NULL && opt.model == NULL && checker_model_find(m) != NULL) {
                snprintf(model_name, sizeof model_name, "%s", m);
                opt.model = model_name;
            }
            /* Sequential reads are checked for what they promise. */
            const char *rc_name = json_string_value(json_object_get(wl, "read_consistency"));
            /* As a run checks it (harness_scenario_checks_sequential): the
             * reference node's sessions; etcd's and clients' keep linearizability. */
            const char *impl = json_string_value(
                json_object_get(json_object_get(sc, "implementation"), "impl"));
            bool run_seq = !consistency_given && rc_name && strcmp(rc_name, "sequential") == 0 &&
                           (impl == NULL || strcmp(impl, "reference") == 0) &&
                           (m == NULL || strcmp(m, "register") == 0 || strcmp(m, "kv") == 0);
            json_decref(sc);
            path = dir_history;
            if (run_seq) {
                merge_code(&code, check_seq_file(path, &opt, json_out, quiet));
                opt.model = saved_model;
                continue;
            }
        }
        if (seq_mode) {
            merge_code(&code, check_seq_file(path, &opt, json_out, quiet));
            opt.model = saved_model;
            continue;
        }

        int rc = checker_check_file(path, &opt, &h, &res, &model, errmsg);
        bool model_named = opt.model != NULL; /* by --model or the run's scenario */
        opt.model = saved_model;
        if (rc < 0) {
            harness_check_print_error(path, NULL, errmsg, json_out);
            code = EXIT_ERROR;
            checker_result_free(&res);
            checker_history_free(&h);
            continue;
        }
        /* Refused while reading: no operation was kept, so the model was
         * not detected from the history (only --model or a scenario names it). */
        const char *mname = h.truncated && !model_named ? NULL : model->name;
        json_t *extra = json_object();
        struct fl_buf lines;
        fl_buf_init(&lines);
        enum checker_verdict verdict = res.verdict;
        /* A history refused for memory has no operations to run them on. */
        if (!h.truncated &&
            extra_checks(&h, model, &opt, want_stats, extra, &lines, &verdict, errmsg) < 0) {
            fprintf(stderr, "faultline check: %s\n", errmsg);
            code = EXIT_ERROR;
            json_decref(extra);
            fl_buf_free(&lines);
            checker_result_free(&res);
            checker_history_free(&h);
            continue;
        }
        struct checker_minimized mini = {0};
        bool have_mini = false;
        if (minimize && res.verdict == CHECKER_INVALID && res.has_cex) {
            if (checker_check_minimize(&h, model, &opt, &res, &mini, errmsg) < 0)
                fprintf(stderr, "faultline check: --minimize: %s\n", errmsg);
            else
                have_mini = true;
        }
        if (json_out) {
            json_t *o = checker_explain_json(&h, &res);
            if (o && have_mini)
                json_object_set_new(o, "minimized", checker_minimized_json(&h, &mini));
            if (o) {
                json_object_set_new(o, "model", mname ? json_string(mname) : json_null());
                json_object_set_new(o, "linearizable",
                                    json_string(checker_verdict_name(res.verdict)));
                json_object_set_new(o, "verdict", json_string(checker_verdict_name(verdict)));
                json_object_update(o, extra);
            }
            harness_check_print_json(o);
        } else {
            char proc[96];
            printf("%s: %s  model=%s ops=%zu keys=%zu indeterminate=%zu time=%.3fs procedure=%s",
                   path, checker_verdict_name(verdict), mname ? mname : "-", res.n_ops, res.n_keys,
                   res.n_crashed, res.seconds, checker_result_procedure(&res, proc, sizeof proc));
            if (res.refused)
                printf("  (refused %s: %s)", res.refused, res.reason);
            else if (res.verdict != CHECKER_VALID && res.reason[0])
                printf("  (%s)", res.reason);
            putchar('\n');
            if (!quiet && res.verdict == CHECKER_INVALID) {
                struct fl_buf b;
                fl_buf_init(&b);
                checker_explain_text(&h, &res, prefix_tail, &b);
                fputs(fl_buf_cstr(&b), stdout);
                fl_buf_free(&b);
            }
            if (!quiet && have_mini)
                minimized_text(&h, &mini);
            if (!quiet)
                fputs(fl_buf_cstr(&lines), stdout);
        }
        checker_minimized_free(&mini);
        json_decref(extra);
        fl_buf_free(&lines);
        res.verdict = verdict;
        fflush(stdout);
        if (res.verdict == CHECKER_INVALID && code != EXIT_ERROR)
            code = EXIT_INVALID;
        else if (res.verdict == CHECKER_UNKNOWN && code == 0)
            code = EXIT_UNKNOWN;
        checker_result_free(&res);
        checker_history_free(&h);
    }
    /* Not when the history was rejected: its error is already printed. */
    if (export_path && code != EXIT_ERROR &&
        export_history(argv[optind], opt.format, export_path, export_format) < 0)
        code = EXIT_ERROR;
    json_decref(opt.initial);
    return code;

usage_error:
    json_decref(opt.initial);
    return EXIT_ERROR;
}
