/* report_cmd.c - `faultline report`: check a saved history, write results.json and report.html. */
#include "harness/report_cmd.h"
#include "harness/seqdiagram.h"

#include "checker/check.h"
#include "checker/countercheck.h"
#include "checker/report.h"
#include "checker/setcheck.h"
#include "checker/stats.h"
#include "checker/txn_check.h"
#include "checker/txn_explain.h"
#include "common/buf.h"
#include "common/edn.h"
#include "common/error.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_ERROR 3

static int write_json(const char *path, json_t *j, char *errmsg)
{
    /* EDN's keywords and the like as their EDN text (":a"), never the tag byte */
    json_t *plain = fl_edn_plain(j, 0);
    char *text = plain ? json_dumps(plain, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(plain);
    if (!text)
        return fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", path);
    size_t len = strlen(text);
    int rc = checker_report_write_file(path, text, len, errmsg);
    free(text);
    return rc;
}

/* A transactional run (checker "txn"): the history checked at the scenario's
 * txn_consistency; results.json carries the txn checker's verdict, anomalies
 * and weakest violated model, report.html draws each anomaly's cycle and the
 * fault timeline with the anomalies' transactions marked. */
static int report_txn(const struct harness_report_request *req, enum checker_verdict *verdict,
                      char *errmsg)
{
    const struct harness_scenario *sc = req->scenario;
    struct checker_txn_history h;
    struct checker_txn_result res;
    json_t *root = NULL;
    struct fl_buf page;
    fl_buf_init(&page);
    memset(&res, 0, sizeof res);
    int rc = checker_txn_history_load(req->history, FL_FORMAT_AUTO, &h, errmsg);
    if (rc < 0)
        return rc;
    struct checker_txn_options opt = {
        .workload = sc->workload.model == HARNESS_MODEL_RW_REGISTER ? CHECKER_TXN_RW_REGISTER
                                                                    : CHECKER_TXN_LIST_APPEND,
        .consistency = sc->workload.txn_consistency,
        .timeout_s = req->timeout_s,
    };
    if ((rc = checker_txn_check(&h, &opt, &res, errmsg)) < 0) {
        fl_error_wrap(errmsg, rc, "%s", req->history);
        goto out;
    }
    /* As checker_report_verdict_reason: no committed transaction shows nothing. */
    const char *reason = res.verdict == CHECKER_VALID && h.n_ok_order == 0
                             ? "no client operation succeeded (0 ok): nothing was shown"
                             : NULL;
    enum checker_verdict overall = reason ? CHECKER_UNKNOWN : res.verdict;
    *verdict = overall;
    if (req->json_out) {
        const char *exp = harness_expect_name(sc->expected);
        json_t *txn = checker_txn_result_json(&h, &res);
        root = json_object();
        if (!txn || !root ||
            json_object_set_new(root, "checkers", json_pack("{s:o}", "txn", txn)) != 0) {
            rc = fl_errorf(errmsg, FL_ENOMEM, "report: out of memory");
            goto out;
        }
        json_object_set_new(root, "format", json_integer(1));
        json_object_set_new(root, "title", json_string(sc->name));
        json_object_set_new(root, "history", json_string(req->history));
        json_object_set_new(root, "model", json_string(harness_model_name(sc->workload.model)));
        json_object_set_new(root, "consistency",
                            json_string(checker_txn_consistency_name(res.consistency)));
        json_object_set_new(root, "verdict", json_string(checker_verdict_name(overall)));
        if (reason)
            json_object_set_new(root, "verdict_reason", json_string(reason));
        json_object_set_new(root, "expected", exp ? json_string(exp) : json_null());
        json_object_set_new(root, "as_expected",
                            exp ? json_boolean(strcmp(exp, checker_verdict_name(overall)) == 0)
                                : json_null());
        json_object_set_new(root, "scenario", harness_scenario_to_json(sc));
        if ((rc = write_json(req->json_out, root, errmsg)) < 0)
            goto out;
    }
    if (req->html_out) {
        if (checker_txn_report_page(&h, &res, sc->name, 0, &page) != 0) {
            rc = fl_errorf(errmsg, FL_ENOMEM, "report: out of memory");
            goto out;
        }
        if ((rc = checker_report_write_file(req->html_out, fl_buf_cstr(&page), page.len,
                                            errmsg)) < 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(root);
    fl_buf_free(&page);
    checker_txn_result_free(&res);
    checker_txn_history_free(&h);
    return rc;
}

int harness_report_generate(const struct harness_report_request *req, enum checker_verdict *verdict,
                            char *errmsg)
{
    if (req->scenario && req->scenario->checkers[HARNESS_CHECKER_TXN])
        return report_txn(req, verdict, errmsg);
    const struct harness_scenario *sc = req->scenario;
    struct checker_history h;
    struct checker_result lin;
    struct checker_set_result set;
    struct checker_counter_result ctr;
    struct checker_stats st;
    struct checker_report_analysis an;
    struct checker_report_options opt;
    struct checker_seq_result seq;
    memset(&seq, 0, sizeof seq);
    bool have_seq = false;
    bool have_lin = false, have_set = false, have_ctr = false, have_st = false;
    const struct checker_model_ops *model = NULL;
    struct checker_minimized mini;
    bool have_mini = false;
    char mini_note[FL_ERRMSG_SIZE + 64] = "";
    json_t *scenario_json = NULL, *results = NULL;
    struct fl_buf html, extra;
    int rc;

    memset(&h, 0, sizeof(h));
    memset(&lin, 0, sizeof(lin));
    memset(&an, 0, sizeof(an));
    memset(&mini, 0, sizeof(mini));
    fl_buf_init(&html);
    fl_buf_init(&extra);
    checker_report_options_default(&opt);

    bool want_lin = !sc || sc->checkers[HARNESS_CHECKER_LINEARIZABLE];
    /* Sequential reads of the reference node promise sequential consistency
     * and session order, not linearizability: such a run is checked for that. */
    bool want_seq = want_lin && sc && harness_scenario_checks_sequential(sc);
    if (want_seq) {
        struct checker_check_options co = {
            .model = harness_model_name(sc->workload.model),
            .format = FL_FORMAT_AUTO,
            .initial = NULL,
            .nil_read_any = -1,
            .limits = {.timeout_s = req->timeout_s, .max_memory = 0, .threads = req->threads}};
        rc = checker_check_file_seq(req->history, &co, &h, &seq, &model, errmsg);
        if (rc < 0)
            goto out;
        have_seq = true;
    } else if (want_lin) {
        struct checker_check_options co = {
            .model = sc ? harness_model_name(sc->workload.model) : NULL,
            .format = FL_FORMAT_AUTO,
            .initial = NULL,
            .nil_read_any = -1,
            .limits = {.timeout_s = req->timeout_s, .max_memory = 0, .threads = req->threads}};
        rc = checker_check_file(req->history, &co, &h, &lin, &model, errmsg);
        if (rc < 0)
            goto out;
        have_lin = true;
        if (lin.verdict == CHECKER_INVALID && lin.has_cex) {
            if (!req->minimize) {
                snprintf(mini_note, sizeof mini_note,
                         "minimization was not asked for (faultline report --minimize)");
            } else {
                char merr[FL_ERRMSG_SIZE] = "";
                co.limits.timeout_s = req->minimize_s > 0 ? req->minimize_s : 0;
                /* A failure is said on the page; the verdict stands. */
                if (checker_check_minimize(&h, model, &co, &lin, &mini, merr) < 0)
                    snprintf(mini_note, sizeof mini_note, "minimization failed: %s", merr);
                else
                    have_mini = true;
            }
        }
    } else {
        rc = checker_history_load(&h, req->history, FL_FORMAT_AUTO, errmsg);
        if (rc < 0)
            goto out;
        model = checker_model_find(harness_model_name(sc->workload.model));
        if (!model)
            model = checker_detect_model(&h);
    }
    const char *model_name = model ? model->name : NULL;
    bool want_set =
        sc ? sc->checkers[HARNESS_CHECKER_SET] : (model_name && strcmp(model_name, "set") == 0);
    bool want_ctr = sc ? sc->checkers[HARNESS_CHECKER_COUNTER]
                       : (model_name && strcmp(model_name, "counter") == 0);
    bool want_st = !sc || sc->checkers[HARNESS_CHECKER_STATS];
    if (want_set) {
        if ((rc = checker_set_check(&h, CHECKER_SET_ALL_KEYS, &set, errmsg)) < 0)
            goto out;
        have_set = true;
    }
    if (want_ctr) {
        if ((rc = checker_counter_check(&h, CHECKER_COUNTER_ALL_KEYS, 0, &ctr, errmsg)) < 0)
            goto out;
        have_ctr = true;
    }
    /* Statistics feed the counts and latency tables: always computed, marked
     * as a checker only when asked for. */
    if ((rc = checker_stats_compute(&h, &st, errmsg)) < 0)
        goto out;
    have_st = true;
    if ((rc = checker_report_analyze(&h, &opt, &an, errmsg)) < 0)
        goto out;
    if (sc && !(scenario_json = harness_scenario_to_json(sc))) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "report: out of memory");
        goto out;
    }
    struct checker_report_input in = {
        .h = &h,
        .model = model_name,
        .linear = have_lin ? &lin : NULL,
        .sequential = have_seq ? &seq : NULL,
        .set = have_set ? &set : NULL,
        .counter = have_ctr ? &ctr : NULL,
        .stats = have_st ? &st : NULL,
        .title = sc ? sc->name : NULL,
        .expected = sc ? harness_expect_name(sc->expected) : NULL,
        .scenario = scenario_json,
        .minimized = have_mini ? &mini : NULL,
        .minimize_note = mini_note[0] ? mini_note : NULL,
    };
    *verdict = checker_report_verdict(&in);
    if (req->json_out) {
        results = checker_report_json(&in, &an, &opt);
        if (!results) {
            rc = fl_errorf(errmsg, FL_ENOMEM, "report: out of memory");
            goto out;
        }
        if (!want_st)
            json_object_del(json_object_get(results, "checkers"), "stats");
        if ((rc = write_json(req->json_out, results, errmsg)) < 0)
            goto out;
    }
    if (req->html_out && have_lin && lin.verdict == CHECKER_INVALID && lin.has_cex &&
        lin.cex.op < h.n_ops) {
        /* The messages around the operation that cannot be linearized, when the history
         * sits in a results folder with a capture. */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", req->history);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        const struct checker_hop *op = &h.ops[lin.cex.op];
        if (op->call_time >= 0 &&
            harness_seqdiagram_html(dir, op->call_time, op->ret_time, &an, &extra) != 0) {
            rc = fl_errorf(errmsg, FL_ENOMEM, "report: out of memory");
            goto out;
        }
        in.extra_html = extra.len ? fl_buf_cstr(&extra) : NULL;
    }
    if (req->html_out) {
        if ((rc = checker_report_html(&in, &an, &opt, &html)) < 0) {
            fl_errorf(errmsg, rc, "report: out of memory");
            goto out;
        }
        if ((rc = checker_report_write_file(req->html_out, fl_buf_cstr(&html), html.len, errmsg)) <
            0)
            goto out;
    }
    rc = 0;
out:
    json_decref(results);
    json_decref(scenario_json);
    fl_buf_free(&html);
    fl_buf_free(&extra);
    checker_report_analysis_free(&an);
    checker_minimized_free(&mini);
    if (have_st)
        checker_stats_free(&st);
    if (have_ctr)
        checker_counter_result_free(&ctr);
    if (have_set)
        checker_set_result_free(&set);
    checker_result_free(&lin);
    checker_seq_result_free(&seq);
    checker_history_free(&h);
    return rc;
}

/* ==== Command ==== */

static void usage(FILE *out)
{
    fprintf(out, "usage: faultline report DIR|HISTORY [--out FILE] [--json FILE] [--timeout S]\n"
                 "\n"
                 "Checks a saved run again and writes its results.json and report.html:\n"
                 "a self-contained page (no network) with the verdicts and counts, a timeline\n"
                 "of operations per process with the faults shaded, latency over time, and the\n"
                 "counterexample highlighted when the history is not linearizable.\n"
                 "\n"
                 "  DIR          a results folder: reads DIR/history.jsonl and, when present,\n"
                 "               DIR/scenario.json (model, checkers, expected verdict); writes\n"
                 "               DIR/results.json and DIR/report.html\n"
                 "  HISTORY      a history file: the model is detected, both files are written\n"
                 "               next to it\n"
                 "  --out FILE   write report.html here instead\n"
                 "  --json FILE  write results.json here instead\n"
                 "  --timeout S  give up the linearizability search after S seconds (unknown)\n"
                 "  --minimize   when not linearizable, also the smallest set of operations\n"
                 "               still not linearizable (drawn in the page, in results.json),\n"
                 "               searched for at most --timeout S seconds (default 60)\n"
                 "  -h, --help   this text\n"
                 "\n"
                 "exit: 0 valid, 1 invalid, 2 unknown, 3 usage or input error\n");
}

/* dir + "/" + name into buf; false when it does not fit. */
static bool join(char *buf, size_t cap, const char *dir, const char *name)
{
    return (size_t)snprintf(buf, cap, "%s/%s", dir, name) < cap;
}

int harness_report_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},     {"json", required_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'}, {"minimize", no_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *json_out = NULL;
    double timeout = 0;
    bool minimize = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":o:j:t:mh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'j':
            json_out = optarg;
            break;
        case 't': {
            char *end;
            errno = 0;
            timeout = strtod(optarg, &end);
            if (errno || end == optarg || *end || timeout < 0 || timeout > 1e7) {
                fprintf(stderr,
                        "faultline report: --timeout: expected seconds (a non-negative number), "
                        "got \"%s\"\n",
                        optarg);
                return EXIT_ERROR;
            }
            break;
        }
        case 'm':
            minimize = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "faultline report: %s needs a value\n", argv[optind - 1]);
            return EXIT_ERROR;
        default:
            fprintf(stderr, "faultline report: unknown option \"%s\"\n", argv[optind - 1]);
            usage(stderr);
            return EXIT_ERROR;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "faultline report: expected one results folder or history file\n");
        usage(stderr);
        return EXIT_ERROR;
    }
    const char *arg = argv[optind];
    char history[4096], dir[4096], scen_path[4096], html_path[4096], json_path[4096];
    struct stat sb;
    if (stat(arg, &sb) != 0) {
        fprintf(stderr, "faultline report: %s: %s\n", arg, strerror(errno));
        return EXIT_ERROR;
    }
    struct harness_scenario scenario;
    bool have_scenario = false;
    char errmsg[FL_ERRMSG_SIZE];
    if (S_ISDIR(sb.st_mode)) {
        if (!join(history, sizeof(history), arg, "history.jsonl") ||
            !join(scen_path, sizeof(scen_path), arg, "scenario.json") ||
            snprintf(dir, sizeof(dir), "%s", arg) >= (int)sizeof(dir)) {
            fprintf(stderr, "faultline report: %s: path too long\n", arg);
            return EXIT_ERROR;
        }
        if (access(history, R_OK) != 0) {
            fprintf(stderr, "faultline report: %s: %s (not a results folder?)\n", history,
                    strerror(errno));
            return EXIT_ERROR;
        }
        if (access(scen_path, F_OK) == 0) {
            if (harness_scenario_load(scen_path, &scenario, errmsg) < 0) {
                fprintf(stderr, "faultline report: %s\n", errmsg);
                return EXIT_ERROR;
            }
            have_scenario = true;
        }
    } else {
        if (snprintf(history, sizeof(history), "%s", arg) >= (int)sizeof(history)) {
            fprintf(stderr, "faultline report: %s: path too long\n", arg);
            return EXIT_ERROR;
        }
        const char *slash = strrchr(arg, '/');
        if (slash)
            snprintf(dir, sizeof(dir), "%.*s", (int)(slash - arg), arg);
        else
            snprintf(dir, sizeof(dir), ".");
        if (!dir[0])
            snprintf(dir, sizeof(dir), "/");
    }
    if (!out) {
        if (!join(html_path, sizeof(html_path), dir, "report.html")) {
            fprintf(stderr, "faultline report: %s: path too long\n", dir);
            return EXIT_ERROR;
        }
        out = html_path;
    }
    if (!json_out) {
        if (!join(json_path, sizeof(json_path), dir, "results.json")) {
            fprintf(stderr, "faultline report: %s: path too long\n", dir);
            return EXIT_ERROR;
        }
        json_out = json_path;
    }
    struct harness_report_request req = {
        .history = history,
        .scenario = have_scenario ? &scenario : NULL,
        .json_out = json_out,
        .html_out = out,
        .timeout_s = timeout,
        .threads = 0,
        .minimize = minimize,
        .minimize_s = timeout > 0 ? timeout : 60,
    };
    enum checker_verdict v = CHECKER_UNKNOWN;
    int rc = harness_report_generate(&req, &v, errmsg);
    if (rc < 0) {
        fprintf(stderr, "faultline report: %s\n", errmsg);
        return EXIT_ERROR;
    }
    printf("%s: %s\n%s\n", out, checker_verdict_name(v), json_out);
    return v == CHECKER_VALID ? 0 : v == CHECKER_INVALID ? 1 : 2;
}
