/* test_index.c - results/index.html: reading runs, the scan, the page. */
#include "harness/index.h"

#include "common/alloc.h"
#include "common/error.h"
#include "common/fs.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char RESULTS[] =
    "{\"verdict\": \"invalid\", \"title\": \"t\", \"expected\": \"valid\", \"model\": \"kv\"}";
static const char SCENARIO[] =
    "{\"name\": \"partition-leader\", \"expected\": \"valid\", \"implementation\": {\"impl\": "
    "\"reference\", \"bug\": \"stale-read\"}, \"nemesis\": {\"seed\": 42}}";

Test(index, run_parse_takes_scenario_and_results)
{
    struct harness_index_run r;
    memset(&r, 0, sizeof r);
    harness_index_run_parse(RESULTS, SCENARIO, &r);
    cr_assert_str_eq(r.verdict, "invalid");
    cr_assert_str_eq(r.scenario, "partition-leader", "scenario.json's name wins over the title");
    cr_assert_str_eq(r.impl, "reference:bug=stale-read");
    cr_assert_eq(r.seed, 42);
    cr_assert_str_eq(r.model, "kv");
    cr_assert_str_eq(r.expected, "valid");
}

Test(index, run_parse_survives_garbage)
{
    struct harness_index_run r;
    memset(&r, 0, sizeof r);
    harness_index_run_parse("not json", "[1,2", &r);
    cr_assert_str_eq(r.verdict, "?");
    cr_assert_eq(r.seed, -1);
    memset(&r, 0, sizeof r);
    harness_index_run_parse("{\"verdict\": 3, \"scenario\": {\"name\": 5}}", NULL, &r);
    cr_assert_str_eq(r.verdict, "?");
}

static void put(const char *dir, const char *name, const char *text)
{
    char p[512];
    cr_assert_eq(fl_mkdir_p(dir), 0);
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* Runs at several depths are found; a symbolic link (results/latest) and a run's own
 * subfolders are not listed twice; markup in names is escaped. */
Test(index, scan_and_page)
{
    char root[] = "/tmp/fl-index-test-XXXXXX";
    cr_assert_not_null(mkdtemp(root));
    char d[512];
    snprintf(d, sizeof d, "%s/a/2026-01-01T00:00:00Z", root);
    put(d, "results.json", RESULTS);
    put(d, "scenario.json", SCENARIO);
    put(d, "report.html", "<html></html>");
    snprintf(d, sizeof d, "%s/a/2026-01-01T00:00:00Z/shrink/x", root);
    put(d, "results.json", RESULTS); /* inside a run: not a run of the store */
    snprintf(d, sizeof d, "%s/campaign/c/cells/x.reference.1/reference/1", root);
    put(d, "results.json", "{\"verdict\": \"valid\", \"title\": \"<script>x</script>\"}");
    char link[512], target[512];
    snprintf(link, sizeof link, "%s/latest", root);
    snprintf(target, sizeof target, "%s/a/2026-01-01T00:00:00Z", root);
    cr_assert_eq(symlink(target, link), 0);

    struct harness_index_run *runs = NULL;
    size_t n = 0;
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(harness_index_scan(root, &runs, &n, err), 0, "%s", err);
    cr_assert_eq(n, 2, "two runs, found %zu", n);
    struct fl_buf page;
    fl_buf_init(&page);
    harness_index_html(runs, n, root, &page);
    const char *html = fl_buf_cstr(&page);
    /* Attribute text is entity-escaped ('/' and ':' too); a browser decodes it back. */
    cr_assert_not_null(strstr(html, "href=\"./a&#47;2026-01-01T00&#58;00&#58;00Z/report.html\""),
                       "a link to the report");
    cr_assert_null(strstr(html, "<script>x</script>"), "a title cannot inject markup");
    cr_assert_null(strstr(html, "http"), "no URL: the page is self-contained");
    cr_assert_not_null(strstr(html, "2 runs: 1 valid, 1 invalid"));
    fl_buf_free(&page);
    fl_free(runs);

    size_t listed = 0;
    cr_assert_eq(harness_index_write(root, &listed, err), 0, "%s", err);
    cr_assert_eq(listed, 2);
    char p[600];
    snprintf(p, sizeof p, "%s/index.html", root);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert(st.st_size > 500);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    cr_assert_eq(system(cmd), 0);
}

Test(index, scan_refuses_a_missing_folder)
{
    struct harness_index_run *runs = NULL;
    size_t n = 0;
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_neq(harness_index_scan("/nonexistent/fl-index", &runs, &n, err), 0);
    cr_assert_not_null(strstr(err, "/nonexistent/fl-index"));
}
