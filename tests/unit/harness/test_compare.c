/* test_compare.c - faultline compare's pure parts: specs, results.json read back, summary, outputs.
 */
#include "harness/compare.h"

#include "common/alloc.h"
#include "common/error.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void load(const char *name, struct harness_compare_run *r, int want_rc)
{
    char rel[128], err[FL_ERRMSG_SIZE] = "";
    snprintf(rel, sizeof rel, "tests/data/compare/%s", name);
    memset(r, 0, sizeof *r);
    int rc = harness_compare_run_load(test_source_path(rel), r, err);
    if (want_rc == 0)
        cr_assert_eq(rc, 0, "%s loads: %s", name, err);
    else
        cr_assert(rc < 0, "%s is refused", name);
}

/* A comparison of fixtures: reference (valid + invalid runs) and a planted bug. */
static void fixture(struct harness_compare *c, int bug_code)
{
    memset(c, 0, sizeof *c);
    snprintf(c->scenario, sizeof c->scenario, "fixture");
    snprintf(c->dir, sizeof c->dir, "/tmp/x");
    c->seed = 7;
    c->count = 2;
    c->faults_s = 10;
    c->n_impls = 2;
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(harness_impl_spec_parse("reference", &c->impls[0].spec, err), 0);
    cr_assert_eq(harness_impl_spec_parse("reference:bug=stale-read", &c->impls[1].spec, err), 0);
    for (size_t i = 0; i < 2; i++) {
        c->impls[i].runs = fl_calloc(2, sizeof *c->impls[i].runs);
        cr_assert(c->impls[i].runs);
        c->impls[i].n_runs = 2;
    }
    load("valid.json", &c->impls[0].runs[0], 0);
    load("valid.json", &c->impls[0].runs[1], 0);
    load("valid.json", &c->impls[1].runs[0], 0);
    load(bug_code == HARNESS_COMPARE_INVALID ? "invalid.json" : "valid.json", &c->impls[1].runs[1],
         0);
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 2; j++) {
            c->impls[i].runs[j].seed = 7 + j;
            snprintf(c->impls[i].runs[j].dir, sizeof c->impls[i].runs[j].dir, "%s/%zu",
                     c->impls[i].spec.text, 7 + j);
        }
    for (size_t i = 0; i < 2; i++)
        harness_compare_summarize(c->impls[i].runs, c->impls[i].n_runs, &c->impls[i].sum);
}

/* ==== Specs ==== */

Test(harness_compare, spec_names_an_implementation_and_a_planted_bug)
{
    struct harness_impl_spec s;
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(harness_impl_spec_parse("reference:bug=stale-read", &s, err), 0, "%s", err);
    cr_assert_eq(s.impl, HARNESS_IMPL_REFERENCE);
    cr_assert_eq(s.bug, HARNESS_BUG_STALE_READ);
    cr_assert_str_eq(s.text, "reference:bug=stale-read");
    cr_assert_eq(harness_impl_spec_parse("etcd", &s, err), 0, "%s", err);
    cr_assert_eq(s.impl, HARNESS_IMPL_ETCD);
    cr_assert_eq(s.bug, HARNESS_BUG_NONE);
    cr_assert_str_eq(s.text, "etcd");
    cr_assert_eq(harness_impl_spec_parse("reference:bug=vote-not-persisted", &s, err), 0);
    cr_assert_eq(s.bug, HARNESS_BUG_VOTE_NOT_PERSISTED);

    struct harness_scenario sc;
    harness_scenario_default(&sc);
    cr_assert_eq(harness_impl_spec_parse("reference:bug=no-dedup", &s, err), 0);
    harness_impl_spec_apply(&s, &sc);
    cr_assert_eq(sc.implementation.impl, HARNESS_IMPL_REFERENCE);
    cr_assert_eq(sc.implementation.bug, HARNESS_BUG_NO_DEDUP);
}

Test(harness_compare, spec_refuses_unknown_names_and_bugs_outside_the_reference)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "expected NAME"},
        {"mysql", "unknown implementation \"mysql\""},
        {"reference:bug=nope", "unknown bug \"nope\""},
        {"reference:bugs=stale-read", "expected \"bug=BUG\""},
        {"reference:", "expected \"bug=BUG\""},
        {"etcd:bug=stale-read", "only in the reference"},
        {"referenc", "unknown implementation"},
        {"reference:bug=stale-read-and-a-very-long-tail-that-goes-past-the-limit-of-64", "bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct harness_impl_spec s;
        char err[FL_ERRMSG_SIZE] = "";
        cr_assert(harness_impl_spec_parse(cases[i].text, &s, err) < 0, "refused: %s",
                  cases[i].text);
        cr_assert(strstr(err, cases[i].want), "\"%s\": message \"%s\" says \"%s\"", cases[i].text,
                  err, cases[i].want);
    }
}

/* ==== results.json read back ==== */

Test(harness_compare, run_reads_counts_latency_unavailability_and_recovery)
{
    struct harness_compare_run r;
    load("valid.json", &r, 0);
    cr_assert_eq(r.code, HARNESS_COMPARE_VALID);
    cr_assert_eq(r.fig.ok, 15);
    cr_assert_eq(r.fig.fail, 4);
    cr_assert_eq(r.fig.info, 1);
    cr_assert_float_eq(r.fig.ok_per_s, 100.0, 1e-9);
    cr_assert_float_eq(r.fig.write_p50, 2.0, 1e-9);
    cr_assert_float_eq(r.fig.write_p99, 10.0, 1e-9);
    cr_assert_float_eq(r.fig.read_p50, 1.0, 1e-9);
    cr_assert_float_eq(r.fig.read_p99, 5.0, 1e-9);
    cr_assert_float_eq(r.fig.unavailable_s, 1.25, 1e-9);
    cr_assert_eq(r.n_faults, 2, "the failed fault is not counted");
    cr_assert_eq(r.n_recovered, 2);
    cr_assert_str_eq(r.anomaly, "");
}

Test(harness_compare, invalid_run_gives_its_counterexample_in_one_line)
{
    struct harness_compare_run r;
    load("invalid.json", &r, 0);
    cr_assert_eq(r.code, HARNESS_COMPARE_INVALID);
    cr_assert(strstr(r.anomaly, "key \"k1\": cannot linearize process 3 read k1 -> 3"), "%s",
              r.anomaly);
    cr_assert(strstr(r.anomaly, "states before: 1, 2"), "%s", r.anomaly);
    cr_assert(isnan(r.fig.read_p50), "no reads: NaN");
    cr_assert_eq(r.n_faults, 2);
    cr_assert_eq(r.n_recovered, 1, "the fault never healed has no recovery");

    load("counter-invalid.json", &r, 0);
    cr_assert_eq(r.code, HARNESS_COMPARE_INVALID);
    cr_assert(strstr(r.anomaly, "counter: 2 reads out of bounds; first: read 9 at line 12, "
                                "bounds [2, 4]"),
              "%s", r.anomaly);
}

Test(harness_compare, damaged_results_are_an_error_not_a_crash)
{
    struct harness_compare_run r;
    load("truncated.json", &r, -1);
    cr_assert_eq(r.code, HARNESS_COMPARE_ERROR);
    cr_assert(strstr(r.anomaly, "truncated.json"), "%s", r.anomaly);
    load("no-such-file.json", &r, -1);
    cr_assert_eq(r.code, HARNESS_COMPARE_ERROR);
    load("wrong-types.json", &r, 0);
    cr_assert_eq(r.code, HARNESS_COMPARE_ERROR, "a verdict that is not a name");
    cr_assert_eq(r.fig.ok, 0);
    cr_assert_eq(r.fig.fail, 0, "a negative count is absent");
    cr_assert(isnan(r.fig.ok_per_s) && isnan(r.fig.write_p50) && isnan(r.fig.read_p99));
    cr_assert(isnan(r.fig.unavailable_s));
    cr_assert_eq(r.n_faults, 0);
}

/* ==== Summary and exit code ==== */

Test(harness_compare, summary_counts_verdicts_and_takes_median_and_max_recovery)
{
    struct harness_compare c;
    fixture(&c, HARNESS_COMPARE_INVALID);
    const struct harness_compare_summary *s = &c.impls[1].sum;
    cr_assert_eq(s->runs, 2);
    cr_assert_eq(s->verdicts[HARNESS_COMPARE_VALID], 1);
    cr_assert_eq(s->verdicts[HARNESS_COMPARE_INVALID], 1);
    cr_assert_str_eq(s->letters, "VI");
    cr_assert_eq(s->worst, HARNESS_COMPARE_INVALID);
    cr_assert_eq(s->fig.ok, 25);
    cr_assert_eq(s->fig.info, 4);
    cr_assert_float_eq(s->fig.ok_per_s, 75.0, 1e-9);
    cr_assert_float_eq(s->fig.write_p99, 15.0, 1e-9);
    cr_assert_float_eq(s->fig.read_p50, 1.0, 1e-9, "the run without reads does not count");
    cr_assert_float_eq(s->fig.unavailable_s, 3.75, 1e-9);
    cr_assert_float_eq(s->unavailable_s_mean, 1.875, 1e-9);
    cr_assert_eq(s->faults, 4);
    cr_assert_eq(s->recovered, 3);
    cr_assert_float_eq(s->recovery_median_s, 1.5, 1e-9, "median of 0.5, 1.5, 3");
    cr_assert_float_eq(s->recovery_max_s, 3.0, 1e-9);
    harness_compare_free(&c);

    struct harness_compare_summary empty;
    harness_compare_summarize(NULL, 0, &empty);
    cr_assert_eq(empty.runs, 0);
    cr_assert(isnan(empty.recovery_median_s) && isnan(empty.fig.ok_per_s));
}

Test(harness_compare, exit_code_ignores_planted_bugs_and_error_is_worst)
{
    struct harness_compare c;
    fixture(&c, HARNESS_COMPARE_INVALID);
    cr_assert_eq(harness_compare_exit_code(&c), 0, "the bug's invalid run does not count");
    cr_assert(harness_compare_bug_caught(&c.impls[1]));
    cr_assert(!harness_compare_bug_caught(&c.impls[0]));
    c.impls[0].runs[1].code = HARNESS_COMPARE_UNKNOWN;
    cr_assert_eq(harness_compare_exit_code(&c), 2);
    c.impls[0].runs[0].code = HARNESS_COMPARE_INVALID;
    cr_assert_eq(harness_compare_exit_code(&c), 1, "invalid is worse than unknown");
    c.impls[0].runs[1].code = HARNESS_COMPARE_ERROR;
    cr_assert_eq(harness_compare_exit_code(&c), 3, "an error is worst");
    cr_assert_eq(harness_compare_worse(HARNESS_COMPARE_UNKNOWN, HARNESS_COMPARE_VALID), 2);
    cr_assert_eq(harness_compare_worse(HARNESS_COMPARE_UNKNOWN, HARNESS_COMPARE_INVALID), 1);
    harness_compare_free(&c);
}

/* ==== Outputs ==== */

Test(harness_compare, table_shows_anomalies_and_says_when_a_bug_was_not_caught)
{
    struct harness_compare c;
    fixture(&c, HARNESS_COMPARE_INVALID);
    struct fl_buf b;
    fl_buf_init(&b);
    harness_compare_table(&c, &b);
    const char *t = fl_buf_cstr(&b);
    cr_assert(strstr(t, "reference:bug=stale-read"), "%s", t);
    cr_assert(strstr(t, "seeds: VI"), "%s", t);
    cr_assert(strstr(t, "25/6/4"), "ok/fail/info totals: %s", t);
    cr_assert(strstr(t, "1.50s/3.00s*"), "recovery median/max, a fault never recovered: %s", t);
    cr_assert(strstr(t, "anomaly seed 8: key \"k1\": cannot linearize"), "%s", t);
    cr_assert(strstr(t, "planted bug stale-read caught: 1 of 2 runs invalid"), "%s", t);
    fl_buf_free(&b);
    harness_compare_free(&c);

    fixture(&c, HARNESS_COMPARE_VALID);
    fl_buf_init(&b);
    harness_compare_table(&c, &b);
    t = fl_buf_cstr(&b);
    cr_assert(strstr(t, "planted bug stale-read NOT caught: no invalid run in 2 (VV)"), "%s", t);
    fl_buf_free(&b);
    harness_compare_free(&c);
}

Test(harness_compare, json_holds_summaries_runs_and_no_nan)
{
    struct harness_compare c;
    fixture(&c, HARNESS_COMPARE_INVALID);
    json_t *j = harness_compare_json(&c);
    cr_assert(j);
    char *text = json_dumps(j, JSON_COMPACT);
    cr_assert(text);
    cr_assert(!strstr(text, "nan") && !strstr(text, "NaN"), "%s", text);
    cr_assert_eq(json_integer_value(json_object_get(j, "exit_code")), 0);
    json_t *impls = json_object_get(j, "impls");
    cr_assert_eq(json_array_size(impls), 2);
    json_t *bug = json_array_get(impls, 1);
    cr_assert_str_eq(json_string_value(json_object_get(bug, "spec")), "reference:bug=stale-read");
    cr_assert_str_eq(json_string_value(json_object_get(bug, "bug")), "stale-read");
    cr_assert(json_is_true(json_object_get(bug, "bug_caught")));
    cr_assert(json_is_null(json_object_get(json_array_get(impls, 0), "bug")));
    json_t *sum = json_object_get(bug, "summary");
    cr_assert_eq(json_integer_value(json_object_get(sum, "invalid")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(sum, "letters")), "VI");
    json_t *run = json_array_get(json_object_get(bug, "runs"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(run, "verdict")), "invalid");
    cr_assert_str_eq(json_string_value(json_object_get(run, "report")),
                     "reference:bug=stale-read/8/report.html");
    cr_assert(json_is_null(json_object_get(run, "read_p50_ms")), "NaN is written as null");
    cr_assert_eq(json_array_size(json_object_get(run, "recovery_s")), 1);
    free(text);
    json_decref(j);
    harness_compare_free(&c);
}

Test(harness_compare, html_is_self_contained_and_links_each_report_relatively)
{
    struct harness_compare c;
    fixture(&c, HARNESS_COMPARE_INVALID);
    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(harness_compare_html(&c, &b), 0);
    const char *h = fl_buf_cstr(&b);
    cr_assert(strncmp(h, "<!DOCTYPE html>", 15) == 0);
    /* The anomaly text carries "<script>http://x.example/": escaped. */
    cr_assert(!strstr(h, "http:") && !strstr(h, "https:") && !strstr(h, "//"), "no URL");
    cr_assert(!strstr(h, "src=") && !strstr(h, "<script") && !strstr(h, "@import"),
              "loads nothing");
    cr_assert(strstr(h, "href=\"./reference%3Abug%3Dstale-read/8/report.html\""),
              "relative link, no scheme: %s", h);
    cr_assert(strstr(h, "href=\"./reference/7/report.html\""));
    cr_assert(strstr(h, "&lt;script&gt;"), "anomaly shown, escaped");
    cr_assert(strstr(h, "Planted bug stale-read caught"));
    cr_assert(strstr(h, "</html>"));
    fl_buf_free(&b);
    harness_compare_free(&c);
}

Test(harness_compare, summary_survives_allocation_failure)
{
    struct harness_compare c;
    fixture(&c, HARNESS_COMPARE_INVALID);
    struct harness_compare_summary s;
    fl_alloc_fail_after(0);
    harness_compare_summarize(c.impls[1].runs, 2, &s);
    fl_alloc_fail_reset();
    cr_assert_eq(s.verdicts[HARNESS_COMPARE_INVALID], 1);
    cr_assert(isnan(s.recovery_median_s), "median unknown without memory");
    cr_assert_float_eq(s.recovery_max_s, 3.0, 1e-9, "the maximum needs none");
    harness_compare_free(&c);
}

Test(harness_compare, impl_spec_add_counts_refuses_twice_and_past_the_maximum)
{
    struct harness_impl_spec specs[HARNESS_COMPARE_MAX_IMPLS];
    size_t n = 0;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(harness_impl_spec_add(specs, &n, "reference", errmsg), 0, "%s", errmsg);
    cr_assert_eq(harness_impl_spec_add(specs, &n, "reference:bug=stale-read", errmsg), 0);
    cr_assert_eq(n, 2);
    cr_assert_eq(harness_impl_spec_add(specs, &n, "reference", errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "given twice"), "%s", errmsg);
    cr_assert_eq(harness_impl_spec_add(specs, &n, "zookeeper", errmsg), FL_EUSAGE);
    cr_assert_eq(n, 2);
    const char *bugs[] = {"no-dedup",       "ack-before-fsync", "no-prevote",
                          "lease-no-drift", "commit-old-term",  "vote-not-persisted"};
    char spec[64];
    for (size_t i = 0; n < HARNESS_COMPARE_MAX_IMPLS; i++) {
        cr_assert_lt(i, sizeof bugs / sizeof bugs[0]);
        snprintf(spec, sizeof spec, "reference:bug=%s", bugs[i]);
        cr_assert_eq(harness_impl_spec_add(specs, &n, spec, errmsg), 0, "%s", errmsg);
    }
    cr_assert_eq(harness_impl_spec_add(specs, &n, "etcd", errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "at most"), "%s", errmsg);
}

/* Issue 11: `compare PROCESS_SCENARIO --impl etcd` started the process binary with
 * etcd's arguments. Another impl than a foreign scenario's gets its own defaults. */
Test(harness_compare, a_builtin_impl_on_a_process_scenario_drops_the_programs_options)
{
    struct harness_scenario sc;
    char err[FL_ERRMSG_SIZE];
    json_t *root = json_loads("{\"implementation\":{\"impl\":\"process\",\"options\":"
                              "{\"binary\":\"/usr/bin/mykv\",\"args\":[\"--x\",\"{addr}\"]}}}",
                              0, NULL);
    cr_assert_eq(harness_scenario_from_json(root, "p", &sc, err), 0, "%s", err);
    json_decref(root);
    struct harness_impl_spec spec;
    cr_assert_eq(harness_impl_spec_parse("etcd", &spec, err), 0, "%s", err);
    harness_impl_spec_apply(&spec, &sc);
    cr_assert_eq(sc.implementation.impl, HARNESS_IMPL_ETCD);
    cr_assert_str_eq(sc.implementation.options.binary, "");
    cr_assert_eq(sc.implementation.options.n_args, 0);
    cr_assert_eq(harness_scenario_validate(&sc, "p", err), 0, "%s", err);
}

Test(harness_compare, a_foreign_implementation_is_named_by_its_file)
{
    char err[FL_ERRMSG_SIZE];
    /* A bare implementation object, and a scenario whose implementation is taken. */
    const char *impl = test_tmpfile("{\"impl\":\"process\",\"options\":{\"binary\":\"/bin/kv1\","
                                    "\"args\":[\"--listen\",\"{addr}:{client_port}\"]}}",
                                    ".json");
    const char *scen = test_tmpfile("{\"name\":\"mykv\",\"implementation\":{\"impl\":\"process\","
                                    "\"options\":{\"binary\":\"/bin/kv2\"}}}",
                                    ".json");
    char arg[600];
    struct harness_impl_spec specs[HARNESS_COMPARE_MAX_IMPLS];
    size_t n = 0;
    cr_assert_eq(harness_impl_spec_add(specs, &n, "reference", err), 0, "%s", err);
    snprintf(arg, sizeof arg, "process:%s", impl);
    cr_assert_eq(harness_impl_spec_add(specs, &n, arg, err), 0, "%s", err);
    snprintf(arg, sizeof arg, "process:%s", scen);
    cr_assert_eq(harness_impl_spec_add(specs, &n, arg, err), 0, "%s", err);
    cr_assert_str_eq(specs[2].text, "process:mykv");
    cr_assert(strncmp(specs[1].text, "process:", 8) == 0 && strchr(specs[1].text, '/') == NULL,
              "%s", specs[1].text);
    /* Applied to a reference scenario: the file's program, args and all. */
    struct harness_scenario sc;
    json_t *root = json_object();
    cr_assert_eq(harness_scenario_from_json(root, "r", &sc, err), 0, "%s", err);
    json_decref(root);
    struct harness_scenario t = sc;
    harness_impl_spec_apply(&specs[1], &t);
    cr_assert_eq(t.implementation.impl, HARNESS_IMPL_PROCESS);
    cr_assert_str_eq(t.implementation.options.binary, "/bin/kv1");
    cr_assert_eq(t.implementation.options.n_args, 2);
    cr_assert_eq(harness_scenario_validate(&t, "r", err), 0, "%s", err);
    t = sc;
    harness_impl_spec_apply(&specs[2], &t);
    cr_assert_str_eq(t.implementation.options.binary, "/bin/kv2");
    /* The prefix must match the file's impl; a missing file is one clear line. */
    snprintf(arg, sizeof arg, "client:%s", impl);
    cr_assert_neq(harness_impl_spec_parse(arg, &specs[3], err), 0);
    cr_assert(strstr(err, "holds a process implementation, not client") != NULL, "%s", err);
    cr_assert_neq(harness_impl_spec_parse("process:/nonexistent/x.json", &specs[3], err), 0);
    cr_assert(strstr(err, "/nonexistent/x.json") != NULL, "%s", err);
}
