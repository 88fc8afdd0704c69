/* test_report.c - results.json fields and the self-contained report.html. */
#include "checker/check.h"
#include "checker/report.h"
#include "checker/txn_explain.h"
#include "common/alloc.h"
#include "common/error.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS 1000000LL

/* Appends an operation: invoke at t0 ms, completion `type` at t1 ms. */
static void op(char *buf, size_t cap, int p, const char *f, const char *type, long t0, long t1,
               const char *inv, const char *val)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len,
             "{\"process\":%d,\"time\":%lld,\"type\":\"invoke\",\"f\":\"%s\",\"value\":%s}\n"
             "{\"process\":%d,\"time\":%lld,\"type\":\"%s\",\"f\":\"%s\",\"value\":%s}\n",
             p, t0 * MS, f, inv, p, t1 * MS, type, f, val);
}

static void nem(char *buf, size_t cap, long t, const char *type, const char *f, const char *val)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len,
             "{\"process\":\"nemesis\",\"time\":%lld,\"type\":\"%s\",\"f\":\"%s\",\"value\":%s}\n",
             t * MS, type, f, val);
}

/* A register history: ok operations every 100 ms until 1000 ms, an
 * isolate-one fault from 1000 ms (applied 1001) healed at 3000 ms (done 3002),
 * no ok completion between 1000 ms and 3202 ms (one write times out to info,
 * one cas fails), then ok operations again. Valid. */
static const char *small_history(void)
{
    static char t[16384];
    t[0] = '\0';
    for (int i = 0; i < 10; i++)
        op(t, sizeof t, i % 2, i % 2 ? "read" : "write", "ok", i * 100, i * 100 + 10 + i,
           i % 2 ? "null" : "1", "1");
    nem(t, sizeof t, 1000, "invoke", "isolate-one", "null");
    nem(t, sizeof t, 1001, "info", "isolate-one", "{\"n1\":[\"n2\",\"n3\"]}");
    op(t, sizeof t, 2, "write", "info", 1100, 2100, "5", "5");
    op(t, sizeof t, 0, "cas", "fail", 1200, 1300, "[7,8]", "[7,8]");
    nem(t, sizeof t, 3000, "invoke", "heal", "{\"fault\":\"isolate-one\"}");
    nem(t, sizeof t, 3002, "info", "heal", "{\"fault\":\"isolate-one\",\"value\":{}}");
    op(t, sizeof t, 1, "write", "ok", 3100, 3202, "2", "2");
    op(t, sizeof t, 1, "read", "ok", 3300, 3310, "null", "2");
    return t;
}

struct fixture {
    struct checker_history h;
    struct checker_result res;
    struct checker_stats st;
    struct checker_report_analysis a;
    struct checker_report_options o;
    struct checker_report_input in;
};

static void load(struct fixture *x, const char *text)
{
    char errmsg[FL_ERRMSG_SIZE] = "";
    const char *path = test_tmpfile(text, ".jsonl");
    struct checker_check_options co = {.model = "register", .nil_read_any = -1};
    const struct checker_model_ops *model;
    memset(x, 0, sizeof(*x));
    cr_assert_eq(checker_check_file(path, &co, &x->h, &x->res, &model, errmsg), 0, "%s", errmsg);
    cr_assert_eq(checker_stats_compute(&x->h, &x->st, errmsg), 0, "%s", errmsg);
    checker_report_options_default(&x->o);
    cr_assert_eq(checker_report_analyze(&x->h, &x->o, &x->a, errmsg), 0, "%s", errmsg);
    x->in.h = &x->h;
    x->in.model = model->name;
    x->in.linear = &x->res;
    x->in.stats = &x->st;
}

static void unload(struct fixture *x)
{
    checker_report_analysis_free(&x->a);
    checker_stats_free(&x->st);
    checker_result_free(&x->res);
    checker_history_free(&x->h);
}

static double num(json_t *root, const char *path)
{
    json_t *v = root;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok && v; tok = strtok(NULL, ".")) {
        if (json_is_array(v))
            v = json_array_get(v, (size_t)atoi(tok));
        else
            v = json_object_get(v, tok);
    }
    cr_assert(json_is_number(v), "%s is a number", path);
    return json_number_value(v);
}

Test(checker_report, results_json_counts_percentiles_faults_windows_recovery)
{
    struct fixture x;
    load(&x, small_history());
    x.in.expected = "valid";
    json_t *j = checker_report_json(&x.in, &x.a, &x.o);
    cr_assert(j);
    cr_assert_str_eq(json_string_value(json_object_get(j, "verdict")), "valid");
    cr_assert(json_is_true(json_object_get(j, "as_expected")));
    cr_assert_eq(num(j, "counts.operations"), 14);
    cr_assert_eq(num(j, "counts.ok"), 12);
    cr_assert_eq(num(j, "counts.fail"), 1);
    cr_assert_eq(num(j, "counts.info"), 1);
    cr_assert_eq(num(j, "counts.nemesis_events"), 4);
    cr_assert_eq(num(j, "counts.by_f.write.ok"), 6);
    cr_assert_eq(num(j, "counts.by_f.write.info"), 1);
    cr_assert_eq(num(j, "counts.by_f.cas.fail"), 1);
    /* Percentiles present for every f with ok operations; none for cas. */
    cr_assert_gt(num(j, "latency_ms.read.p50"), 0);
    cr_assert_geq(num(j, "latency_ms.read.p99"), num(j, "latency_ms.read.p50"));
    cr_assert_eq(num(j, "latency_ms.write.max"), 102, "the 3100-3202 ms write is the slowest");
    cr_assert(json_is_null(
        json_object_get(json_object_get(json_object_get(j, "latency_ms"), "cas"), "p50")));
    cr_assert(json_is_object(json_object_get(j, "throughput")));
    cr_assert(json_is_string(json_object_get(
        json_object_get(json_object_get(j, "checkers"), "linearizable"), "verdict")));
    /* The fault, from the nemesis events: start at its invoke, end at the heal's info. */
    json_t *faults = json_object_get(j, "faults");
    cr_assert_eq(json_array_size(faults), 1);
    json_t *f = json_array_get(faults, 0);
    cr_assert_str_eq(json_string_value(json_object_get(f, "kind")), "isolate-one");
    double t0 = (double)x.a.t0 / 1e9;
    cr_assert_float_eq(num(j, "faults.0.start_s") + t0, 1.0, 1e-9);
    cr_assert_float_eq(num(j, "faults.0.applied_s") + t0, 1.001, 1e-9);
    cr_assert_float_eq(num(j, "faults.0.end_s") + t0, 3.002, 1e-9);
    cr_assert(json_is_false(json_object_get(f, "failed")));
    cr_assert(json_is_object(json_object_get(f, "value")));
    /* Recovery: the first ok completion after the heal (3202 ms) minus the heal (3002 ms). */
    cr_assert_float_eq(num(j, "faults.0.recovery_s"), 0.2, 1e-9);
    /* Failover: from the fault taking effect (1001 ms) to the first ok completion of an
     * operation invoked after it (the write of 3100-3202 ms). */
    cr_assert_float_eq(num(j, "faults.0.failover_s"), 2.201, 1e-9);
    /* Unavailability: no ok completion from 919 ms (the last before the fault) to 3202 ms. */
    json_t *wins = json_object_get(json_object_get(j, "unavailability"), "windows");
    cr_assert_eq(json_array_size(wins), 1, "one gap longer than 1 s");
    cr_assert_float_eq(num(j, "unavailability.windows.0.start_s") + t0, 0.919, 1e-9);
    cr_assert_float_eq(num(j, "unavailability.windows.0.end_s") + t0, 3.202, 1e-9);
    cr_assert_eq(num(j, "unavailability.windows.0.faults.0"), 0, "the fault overlapped it");
    cr_assert(json_is_false(json_object_get(json_array_get(wins, 0), "open")));
    cr_assert_null(json_object_get(j, "counterexample"), "no counterexample when valid");
    json_decref(j);
    unload(&x);
}

Test(checker_report, a_shorter_threshold_finds_more_windows)
{
    struct fixture x;
    load(&x, small_history());
    checker_report_analysis_free(&x.a);
    x.o.unavailable_ns = 150 * MS;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_report_analyze(&x.h, &x.o, &x.a, errmsg), 0);
    cr_assert_eq(x.a.n_windows, 1, "ok completions every ~100 ms elsewhere");
    x.o.unavailable_ns = 50 * MS;
    checker_report_analysis_free(&x.a);
    cr_assert_eq(checker_report_analyze(&x.h, &x.o, &x.a, errmsg), 0);
    cr_assert_gt(x.a.n_windows, 5);
    unload(&x);
}

Test(checker_report, never_healed_fault_and_open_window)
{
    static char t[4096];
    t[0] = '\0';
    op(t, sizeof t, 0, "write", "ok", 0, 10, "1", "1");
    nem(t, sizeof t, 100, "info", "kill-all", "{\"nodes\":[\"n1\",\"n2\",\"n3\"]}");
    op(t, sizeof t, 1, "read", "info", 200, 3000, "null", "null");
    nem(t, sizeof t, 3000, "info", "pause-one", "{\"error\":\"no such process\"}");
    struct fixture x;
    load(&x, t);
    cr_assert_eq(x.a.n_faults, 2);
    cr_assert_eq(x.a.faults[0].end, -1, "never healed");
    cr_assert_eq(x.a.faults[0].first_ok, -1);
    cr_assert(x.a.faults[1].failed, "an error in the value marks the fault failed");
    cr_assert_eq(x.a.n_windows, 1);
    cr_assert(x.a.windows[0].open, "still unavailable at the end");
    json_t *j = checker_report_json(&x.in, &x.a, &x.o);
    cr_assert(
        json_is_null(json_object_get(json_array_get(json_object_get(j, "faults"), 0), "end_s")));
    json_decref(j);
    unload(&x);
}

Test(checker_report, jepsen_start_stop_events_pair)
{
    static char t[4096];
    t[0] = '\0';
    op(t, sizeof t, 0, "write", "ok", 0, 10, "1", "1");
    nem(t, sizeof t, 100, "info", "start", "null");
    nem(t, sizeof t, 101, "info", "start", "\"Cut off {n1 #{n2}}\"");
    nem(t, sizeof t, 500, "info", "stop", "null");
    nem(t, sizeof t, 502, "info", "stop", "\"fully connected\"");
    op(t, sizeof t, 0, "read", "ok", 600, 610, "null", "1");
    struct fixture x;
    load(&x, t);
    cr_assert_eq(x.a.n_faults, 1);
    cr_assert_eq(x.a.faults[0].start, 100 * MS);
    cr_assert_eq(x.a.faults[0].applied, 101 * MS);
    cr_assert_eq(x.a.faults[0].end, 502 * MS);
    cr_assert_eq(x.a.faults[0].first_ok, 610 * MS);
    unload(&x);
}

static void assert_no_network(const char *html)
{
    cr_assert_null(strstr(html, "http://"), "no http:// in the page");
    cr_assert_null(strstr(html, "https://"), "no https:// in the page");
    cr_assert_null(strstr(html, "src="), "no src= in the page");
    cr_assert_null(strstr(html, "href="), "no links in the page");
    cr_assert_null(strstr(html, "@import"), "no CSS import");
    for (const char *u = html; (u = strstr(u, "url(")); u++)
        cr_assert_eq(u[4], '#', "url() only to the page's own SVG markers");
}

Test(checker_report, html_is_self_contained_with_timeline_and_faults)
{
    struct fixture x;
    load(&x, small_history());
    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    const char *html = fl_buf_cstr(&b);
    assert_no_network(html);
    cr_assert(strstr(html, "<!DOCTYPE html>"));
    cr_assert(strstr(html, "<svg id=\"timeline\""), "the timeline SVG");
    cr_assert(strstr(html, "<svg id=\"latency\""), "the latency plot");
    cr_assert(strstr(html, "<rect class=\"fault fn\""), "the fault interval is shaded");
    cr_assert(strstr(html, ">isolate-one</text>"), "and labeled");
    cr_assert(strstr(html, "class=\"op ok\""), "operations drawn one by one");
    cr_assert(strstr(html, "class=\"op fail\""));
    cr_assert(strstr(html, "class=\"op info\""));
    cr_assert(strstr(html, "class=\"unavail\""), "the unavailability window");
    cr_assert_null(strstr(html, "id=\"cex-marker\""), "no counterexample when valid");
    cr_assert_null(strstr(html, "id=\"minimized"), "no minimal counterexample when valid");
    cr_assert_null(strstr(html, "id=\"downsampled\""));
    cr_assert(strstr(html, "</html>"));
    fl_buf_free(&b);
    unload(&x);
}

Test(checker_report, invalid_history_marks_the_counterexample)
{
    struct fixture x;
    const char *path = test_source_path("tests/data/report/invalid-kv.jsonl");
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct checker_check_options co = {.model = "kv", .nil_read_any = -1};
    const struct checker_model_ops *model;
    memset(&x, 0, sizeof(x));
    cr_assert_eq(checker_check_file(path, &co, &x.h, &x.res, &model, errmsg), 0, "%s", errmsg);
    cr_assert_eq(x.res.verdict, CHECKER_INVALID);
    cr_assert_eq(checker_stats_compute(&x.h, &x.st, errmsg), 0);
    checker_report_options_default(&x.o);
    cr_assert_eq(checker_report_analyze(&x.h, &x.o, &x.a, errmsg), 0);
    x.in = (struct checker_report_input){.h = &x.h,
                                         .linear = &x.res,
                                         .stats = &x.st,
                                         .expected = "invalid",
                                         .title = "bug-stale-read"};
    cr_assert_eq(checker_report_verdict(&x.in), CHECKER_INVALID);
    json_t *j = checker_report_json(&x.in, &x.a, &x.o);
    json_t *cex = json_object_get(j, "counterexample");
    cr_assert(json_is_object(cex), "counterexample in results.json");
    cr_assert(json_is_object(json_object_get(cex, "op")));
    cr_assert_eq(json_array_size(json_object_get(j, "faults")), 2);
    json_decref(j);
    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    const char *html = fl_buf_cstr(&b);
    assert_no_network(html);
    cr_assert(strstr(html, "id=\"cex-marker\""), "the counterexample marker on the timeline");
    cr_assert(strstr(html, "id=\"cex-op\""), "the operation outlined");
    cr_assert(strstr(html, "id=\"counterexample\""), "explained in words");
    cr_assert(strstr(html, "cannot take effect"));
    cr_assert(strstr(html, "as expected"));
    fl_buf_free(&b);
    unload(&x);
}

/* A stale read among noise (register): write 1, write 2, then a read of 1;
 * the minimal counterexample is 3 of its 6 operations (the stale read, a
 * write of 1, and the write of 2 or a read of 2). */
static const char *stale_history(void)
{
    static char t[4096];
    t[0] = '\0';
    op(t, sizeof t, 0, "write", "ok", 0, 10, "1", "1");
    op(t, sizeof t, 1, "read", "ok", 20, 30, "null", "1");
    op(t, sizeof t, 0, "write", "ok", 40, 50, "2", "2");
    op(t, sizeof t, 2, "read", "ok", 60, 70, "null", "2");
    op(t, sizeof t, 1, "read", "ok", 80, 90, "null", "1"); /* stale: lines 9-10 */
    op(t, sizeof t, 2, "read", "ok", 100, 110, "null", "2");
    return t;
}

static size_t count(const char *html, const char *needle)
{
    size_t n = 0;
    for (const char *p = html; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

Test(checker_report, invalid_history_draws_the_minimal_counterexample)
{
    struct fixture x;
    load(&x, stale_history());
    cr_assert_eq(x.res.verdict, CHECKER_INVALID);
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct checker_check_options co = {.model = "register", .nil_read_any = -1};
    struct checker_minimized m;
    cr_assert_eq(checker_check_minimize(&x.h, &checker_model_register, &co, &x.res, &m, errmsg), 0,
                 "%s", errmsg);
    cr_assert(m.complete);
    cr_assert_eq(m.n_ops, 3, "%zu operations kept", m.n_ops);
    x.in.minimized = &m;

    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    const char *html = fl_buf_cstr(&b);
    assert_no_network(html);
    cr_assert(strstr(html, "<h2 id=\"minimized\">Minimal counterexample</h2>"));
    cr_assert(strstr(html, "These 3 operations alone are already not linearizable"));
    cr_assert(strstr(html, "leaving out any one of these makes the rest linearizable"));
    cr_assert_null(strstr(html, "id=\"minimized-bound\""), "complete: no bound hit");
    cr_assert_null(strstr(html, "id=\"minimized-none\""));
    /* Drawn on its own axis, one bar per kept operation, and listed. */
    const char *svg = strstr(html, "<svg id=\"minimized-timeline\"");
    cr_assert(svg, "the kept operations drawn");
    cr_assert_eq(count(svg, " min-op"), 3);
    const char *table = strstr(html, "<table id=\"minimized-ops\"");
    cr_assert(table, "and listed");
    cr_assert_eq(count(table, "<tr><td"), 3);
    cr_assert(strstr(table, "<td>9-10</td>"), "the stale read (lines 9-10) is kept");
    /* Each kept operation's interval, in seconds from the start. */
    for (size_t i = 0; i < m.n_ops; i++) {
        const struct checker_hop *kop = &x.h.ops[m.ops[i]];
        char cell[96];
        snprintf(cell, sizeof cell, "<td>%.6f</td><td>%.6f</td>",
                 (double)(kop->call_time - x.a.t0) / 1e9, (double)(kop->ret_time - x.a.t0) / 1e9);
        cr_assert(strstr(table, cell), "%s", cell);
    }
    fl_buf_free(&b);

    json_t *j = checker_report_json(&x.in, &x.a, &x.o);
    json_t *mj = json_object_get(j, "minimized");
    cr_assert_eq(json_array_size(json_object_get(mj, "operations")), 3);
    cr_assert(json_is_true(json_object_get(mj, "minimal")));
    cr_assert_eq(json_integer_value(json_object_get(mj, "from")), 6);
    json_decref(j);

    /* A search that hit its bound says so and what it kept. */
    m.complete = false;
    m.out_of_time = true;
    m.budget_s = 10;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    html = fl_buf_cstr(&b);
    cr_assert(strstr(html, "id=\"minimized-bound\">The search stopped at its time bound of 10 s"));
    cr_assert(strstr(html, "These 3 operations"));
    cr_assert_null(strstr(html, "leaving out any one of these"));
    fl_buf_free(&b);
    /* ... or that some candidates were not decided in their share. */
    m.out_of_time = false;
    m.undecided = 2;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    html = fl_buf_cstr(&b);
    cr_assert(strstr(html, "id=\"minimized-bound\">2 of the "));
    cr_assert(strstr(html, "could not be decided</b> within their share of the time bound"));
    fl_buf_free(&b);

    /* Not asked for: a placeholder with the reason, nothing drawn. */
    x.in.minimized = NULL;
    x.in.minimize_note = "minimization was not asked for";
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    html = fl_buf_cstr(&b);
    cr_assert(strstr(html, "id=\"minimized-none\">Not computed: minimization was not asked for"));
    cr_assert_null(strstr(html, "id=\"minimized-timeline\""));
    fl_buf_free(&b);
    j = checker_report_json(&x.in, &x.a, &x.o);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(j, "minimized"), "not_computed")),
        "minimization was not asked for");
    json_decref(j);
    checker_minimized_free(&m);
    unload(&x);
}

/* One operation alone impossible (a read of a value nobody wrote). */
Test(checker_report, minimal_counterexample_of_one_operation)
{
    static char t[1024];
    t[0] = '\0';
    op(t, sizeof t, 0, "write", "ok", 0, 10, "1", "1");
    op(t, sizeof t, 1, "read", "ok", 20, 30, "null", "7");
    struct fixture x;
    load(&x, t);
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct checker_check_options co = {.model = "register", .nil_read_any = -1};
    struct checker_minimized m;
    cr_assert_eq(checker_check_minimize(&x.h, &checker_model_register, &co, &x.res, &m, errmsg), 0,
                 "%s", errmsg);
    cr_assert_eq(m.n_ops, 1);
    x.in.minimized = &m;
    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    const char *html = fl_buf_cstr(&b);
    cr_assert(strstr(html, "This one operation alone is already not linearizable"));
    cr_assert_eq(count(strstr(html, "<svg id=\"minimized-timeline\""), " min-op"), 1);
    cr_assert(strstr(html, ">read 7</text>"), "labeled with what it returned");
    fl_buf_free(&b);
    /* Allocation failures while drawing it: reported, never a crash or a leak. */
    bool done = false;
    for (long n = 0; n < 10000 && !done; n++) {
        fl_buf_init(&b);
        fl_alloc_fail_after(n);
        int rc = checker_report_html(&x.in, &x.a, &x.o, &b);
        fl_alloc_fail_reset();
        cr_assert(rc == 0 || rc == FL_ENOMEM, "rc %d", rc);
        done = rc == 0;
        fl_buf_free(&b);
    }
    cr_assert(done);
    checker_minimized_free(&m);
    unload(&x);
}

Test(checker_report, text_from_the_history_is_escaped)
{
    static char t[4096];
    t[0] = '\0';
    op(t, sizeof t, 0, "write", "ok", 0, 10, "\"http://x.example/<script>\"",
       "\"http://x.example/<script>\"");
    nem(t, sizeof t, 20, "info", "isolate-one", "{\"src=\":\"https://y\"}");
    op(t, sizeof t, 0, "read", "ok", 30, 40, "null", "\"http://x.example/<script>\"");
    struct fixture x;
    load(&x, t);
    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    const char *html = fl_buf_cstr(&b);
    assert_no_network(html);
    cr_assert_null(strstr(html, "<script>\""), "no markup from the history");
    cr_assert(strstr(html, "&lt;script&gt;"));
    fl_buf_free(&b);
    unload(&x);
}

Test(checker_report, large_history_is_downsampled_and_bounded)
{
    /* 6000 operations over 60 s on 10 processes. */
    size_t cap = 6000 * 260;
    char *t = fl_malloc(cap);
    cr_assert(t);
    t[0] = '\0';
    for (int i = 0; i < 6000; i++)
        op(t, cap, i % 10, i % 3 ? "read" : "write", i % 97 != 5 ? "ok" : "fail", i * 10,
           i * 10 + 7, i % 3 ? "null" : "1", "1");
    struct fixture x;
    load(&x, t);
    fl_free(t);
    x.o.max_timeline_ops = 1000;
    x.o.max_timeline_rects = 500;
    x.o.max_scatter_points = 200;
    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    const char *html = fl_buf_cstr(&b);
    cr_assert(strstr(html, "id=\"downsampled\""), "the page says it is downsampled");
    cr_assert(strstr(html, "id=\"scatter-sampled\""), "and that the plot is sampled");
    size_t rects = 0, circles = 0;
    for (const char *p = html; (p = strstr(p, "<rect class=\"op ")); p++)
        rects++;
    for (const char *p = html; (p = strstr(p, "<circle ")); p++)
        circles++;
    cr_assert_leq(rects, 500, "%zu bars", rects);
    cr_assert_gt(rects, 0);
    cr_assert_leq(circles, 200, "%zu points", circles);
    cr_assert_lt(b.len, 300000, "page of %zu bytes", b.len);
    fl_buf_free(&b);
    unload(&x);
}

Test(checker_report, history_without_times_uses_event_order)
{
    const char *t = "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
                    "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
                    "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                    "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":2}\n";
    struct fixture x;
    load(&x, t);
    cr_assert_eq(x.res.verdict, CHECKER_INVALID);
    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    const char *html = fl_buf_cstr(&b);
    cr_assert(strstr(html, "no times"), "the page says so");
    cr_assert(strstr(html, "id=\"cex-marker\""));
    fl_buf_free(&b);
    json_t *j = checker_report_json(&x.in, &x.a, &x.o);
    cr_assert(j);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(j, "unavailability"), "windows")),
                 0);
    json_decref(j);
    unload(&x);
}

Test(checker_report, allocation_failures_are_reported_not_crashed_on)
{
    struct fixture x;
    load(&x, small_history());
    checker_report_analysis_free(&x.a);
    char errmsg[FL_ERRMSG_SIZE];
    bool done = false;
    for (long n = 0; n < 10000 && !done; n++) {
        struct fl_buf b;
        fl_buf_init(&b);
        fl_alloc_fail_after(n);
        int rc = checker_report_analyze(&x.h, &x.o, &x.a, errmsg);
        if (rc == 0) {
            rc = checker_report_html(&x.in, &x.a, &x.o, &b);
            checker_report_analysis_free(&x.a);
        }
        fl_alloc_fail_reset();
        cr_assert(rc == 0 || rc == FL_ENOMEM, "rc %d", rc);
        done = rc == 0;
        fl_buf_free(&b);
    }
    cr_assert(done, "succeeds once allocations do");
    unload(&x);
}

Test(checker_report, verdict_combines_checkers)
{
    struct checker_result lin = {.verdict = CHECKER_VALID};
    struct checker_counter_result ctr = {.valid = false};
    struct checker_set_result set = {.has_final_read = false, .unknown = true};
    struct checker_history h;
    memset(&h, 0, sizeof h);
    h.n_ok = 1;
    struct checker_report_input in = {.h = &h};
    cr_assert_eq(checker_report_verdict(&in), CHECKER_UNKNOWN, "nothing checked");
    in.linear = &lin;
    cr_assert_eq(checker_report_verdict(&in), CHECKER_VALID);
    cr_assert_null(checker_report_verdict_reason(&in));
    in.set = &set;
    cr_assert_eq(checker_report_verdict(&in), CHECKER_UNKNOWN, "set without a final read");
    in.counter = &ctr;
    cr_assert_eq(checker_report_verdict(&in), CHECKER_INVALID);
}

/* A run whose client program failed every operation passes every checker:
 * no evidence, so unknown with the reason, never valid; a failed check still
 * says invalid. */
Test(checker_report, no_ok_operation_is_unknown_not_valid)
{
    struct checker_result lin = {.verdict = CHECKER_VALID};
    struct checker_history h;
    memset(&h, 0, sizeof h);
    h.n_fail = 40;
    h.n_info = 3;
    struct checker_report_input in = {.h = &h, .linear = &lin};
    cr_assert_eq(checker_report_verdict(&in), CHECKER_UNKNOWN);
    cr_assert(strstr(checker_report_verdict_reason(&in), "0 ok"));
    struct checker_counter_result ctr = {.valid = false};
    in.counter = &ctr;
    cr_assert_eq(checker_report_verdict(&in), CHECKER_INVALID);
}

Test(checker_report, write_file_replaces_atomically)
{
    char errmsg[FL_ERRMSG_SIZE];
    const char *path = test_tmpfile("old", ".html");
    cr_assert_eq(checker_report_write_file(path, "new text", 8, errmsg), 0, "%s", errmsg);
    FILE *fp = fopen(path, "r");
    char buf[32] = "";
    cr_assert(fgets(buf, sizeof buf, fp));
    fclose(fp);
    cr_assert_str_eq(buf, "new text");
    cr_assert_lt(checker_report_write_file("/nonexistent-dir/x.html", "x", 1, errmsg), 0);
    cr_assert(strstr(errmsg, "/nonexistent-dir/x.html"), "%s", errmsg);
}

Test(checker_report, html_escape_leaves_no_markup_url_or_attribute_and_cuts_at_max)
{
    struct fl_buf b;
    fl_buf_init(&b);
    checker_html_escape(&b, "<a href='x'>\"http://y\" & z=1\x01</a>", (size_t)-1);
    cr_assert_str_eq(b.data, "&lt;a href&#61;&#39;x&#39;&gt;&quot;http&#58;&#47;&#47;y&quot; &amp; "
                             "z&#61;1?&lt;&#47;a&gt;");
    fl_buf_free(&b);
    fl_buf_init(&b);
    checker_html_escape(&b, "abcdef", 3);
    cr_assert_str_eq(b.data, "abc...");
    fl_buf_free(&b);
}

/* A failed or unknown operation's error text reaches its tooltip (a cas mismatch must be told
 * from a refused connection); an ok operation shows none. Markup in it is escaped. */
Test(checker_report, error_text_of_failed_operations_reaches_the_timeline)
{
    const char *t =
        "{\"index\":0,\"time\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":[1,2]}\n"
        "{\"index\":1,\"time\":10,\"process\":0,\"type\":\"fail\",\"f\":\"cas\",\"value\":[1,2],"
        "\"error\":\"cas mismatch: expected 1, found <null>\"}\n"
        "{\"index\":2,\"time\":20,\"process\":1,\"type\":\"invoke\",\"f\":\"write\",\"value\":3}\n"
        "{\"index\":3,\"time\":30,\"process\":1,\"type\":\"info\",\"f\":\"write\",\"value\":3,"
        "\"error\":\"ConnectionError: reset by peer\"}\n"
        "{\"index\":4,\"time\":40,\"process\":2,\"type\":\"invoke\",\"f\":\"write\",\"value\":4}\n"
        "{\"index\":5,\"time\":50,\"process\":2,\"type\":\"ok\",\"f\":\"write\",\"value\":4}\n";
    struct fixture x;
    load(&x, t);
    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    const char *html = fl_buf_cstr(&b);
    cr_assert(strstr(html, "(error: cas mismatch&#58; expected 1, found &lt;null&gt;)"),
              "the fail's error text, escaped");
    cr_assert(strstr(html, "(error: ConnectionError&#58; reset by peer)"), "the info's");
    const char *e = html;
    int n = 0;
    while ((e = strstr(e, "(error: ")) != NULL) {
        n++;
        e++;
    }
    cr_assert_eq(n, 2, "the ok operation has no error text (%d found)", n);
    fl_buf_free(&b);
    unload(&x);
}

/* A node event (a foreign node's log line) at the fault's start is drawn
 * where the fault starts (it was drawn PLOT_LEFT to the right of its time). */
Test(checker_report, node_event_sits_at_its_time)
{
    char t[20000];
    snprintf(t, sizeof t, "%s", small_history());
    size_t len = strlen(t);
    snprintf(t + len, sizeof t - len,
             "{\"process\":\"node\",\"node\":\"n1\",\"time\":%lld,\"type\":\"info\","
             "\"f\":\"leader-lost\",\"value\":\"lost\"}\n",
             1000 * MS);
    struct fixture x;
    load(&x, t);
    cr_assert_eq(x.h.n_node_events, 1);
    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(checker_report_html(&x.in, &x.a, &x.o, &b), 0);
    const char *html = fl_buf_cstr(&b);
    const char *f = strstr(html, "<rect class=\"fault fn\" x=\"");
    const char *n = strstr(html, "<line class=\"nodeev\" x1=\"");
    cr_assert(f && n);
    double fx = atof(f + strlen("<rect class=\"fault fn\" x=\""));
    double nx = atof(n + strlen("<line class=\"nodeev\" x1=\""));
    cr_assert_float_eq(nx, fx, 0.11, "node event at x %.1f, its fault at %.1f", nx, fx);
    cr_assert(strstr(html, ">n1 leader-lost</text>"));
    fl_buf_free(&b);
    unload(&x);
}

/* ==== Transactional runs: the same timeline ==== */

/* tests/data/report/txn-faults.jsonl (make_txn_history.py): list-append, a
 * "halves" partition 1.000-2.002 s, a kill-one 3.000-3.402 s, and a read skew
 * (G-single) at 2.4-2.52 s. Its page has the register report's timeline with
 * both faults shaded and the anomaly's transactions marked where they sit. */
Test(checker_report, txn_page_has_the_fault_timeline_and_marks_the_anomaly)
{
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct checker_txn_history h;
    struct checker_txn_result res;
    memset(&res, 0, sizeof res);
    const char *path = test_source_path("tests/data/report/txn-faults.jsonl");
    cr_assert_eq(checker_txn_history_load(path, FL_FORMAT_AUTO, &h, errmsg), 0, "%s", errmsg);
    struct checker_txn_options opt = {.workload = CHECKER_TXN_LIST_APPEND,
                                      .consistency = CHECKER_TXN_SERIALIZABLE};
    cr_assert_eq(checker_txn_check(&h, &opt, &res, errmsg), 0, "%s", errmsg);
    cr_assert_eq(res.verdict, CHECKER_INVALID);
    const struct checker_txn_anomaly *an = &res.found.example[CHECKER_TXN_G_SINGLE];
    cr_assert(res.found.count[CHECKER_TXN_G_SINGLE] && an->n == 2, "the read skew is found");

    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(checker_txn_report_page(&h, &res, "txn <faults>", 0, &b), 0);
    const char *html = fl_buf_cstr(&b);
    assert_no_network(html);
    cr_assert(strstr(html, "txn &lt;faults&gt;"), "the title escaped");
    cr_assert(strstr(html, "<svg id=\"timeline\""), "the timeline");
    cr_assert(strstr(html, "<rect class=\"fault fn\""), "the partition shaded");
    cr_assert(strstr(html, "<title>halves 1.000s-2.002s"), "over its interval");
    cr_assert(strstr(html, "<rect class=\"fault fk\""), "the kill shaded");
    cr_assert(strstr(html, "<title>kill-one 3.000s-3.402s"), "over its interval");
    cr_assert(strstr(html, "class=\"unavail\""), "no commit during the partition");
    cr_assert(strstr(html, "<table id=\"faults\""), "the fault table");
    cr_assert(strstr(html, "<svg id=\"latency\""), "the latency plot");
    cr_assert(strstr(html, "<h2>G-single</h2>"), "the anomaly explained");
    cr_assert(strstr(html, "data-ready"), "the shared script");
    cr_assert_null(strstr(html, "id=\"no-timeline\""));
    /* Each transaction of the example outlined, its marker at its invocation. */
    int64_t t0 = 0; /* the first event is at time 0 */
    int64_t t1 = 0;
    for (size_t i = 0; i < h.n_txns; i++) {
        t1 = h.txns[i].inv_time > t1 ? h.txns[i].inv_time : t1;
        t1 = h.txns[i].end_time > t1 ? h.txns[i].end_time : t1;
    }
    for (uint32_t i = 0; i < an->n; i++) {
        const struct checker_txn *tx = &h.txns[an->txns[i]];
        cr_assert(tx->inv_time >= 2400 * MS && tx->inv_time <= 2500 * MS);
        char want[160];
        snprintf(want, sizeof want,
                 "<g class=\"anomaly-marker\"><title>G-single T%u</title><line x1=\"%.1f\"",
                 an->txns[i], 70 + (double)(tx->inv_time - t0) * 1000 / (double)(t1 - t0));
        cr_assert(strstr(html, want), "marker %s", want);
        snprintf(want, sizeof want, "T%u (process %lld, ok, line %llu), invoked at %.3f s",
                 an->txns[i], (long long)tx->process, (unsigned long long)tx->end_line,
                 (double)tx->inv_time / 1e9);
        cr_assert(strstr(html, want), "%s", want);
    }
    cr_assert_geq(count(html, "class=\"op ok anomaly-op\""), 2);
    fl_buf_free(&b);

    /* Past the bound on transactions: not read again, and the page says why. */
    fl_buf_init(&b);
    cr_assert_eq(checker_txn_report_page(&h, &res, "t", 10, &b), 0);
    cr_assert(strstr(fl_buf_cstr(&b), "id=\"no-timeline\">No timeline: 274 transactions, over "
                                      "the 10 it is drawn for"),
              "%s", fl_buf_cstr(&b));
    cr_assert_null(strstr(fl_buf_cstr(&b), "<svg id=\"timeline\""));
    fl_buf_free(&b);

    /* Without the register reading: the page says there is no timeline. */
    fl_buf_init(&b);
    struct checker_txn_report_timeline none = {.note = "not here"};
    cr_assert_eq(checker_txn_report_html(&h, &res, "t", &none, &b), 0);
    cr_assert(strstr(fl_buf_cstr(&b), "id=\"no-timeline\">No timeline: not here"));
    cr_assert_null(strstr(fl_buf_cstr(&b), "<svg id=\"timeline\""));
    cr_assert(strstr(fl_buf_cstr(&b), "<h2>G-single</h2>"));
    fl_buf_free(&b);
    checker_txn_result_free(&res);
    checker_txn_history_free(&h);
}
