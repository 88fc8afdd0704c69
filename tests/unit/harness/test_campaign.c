/* test_campaign.c - faultline campaign's pure parts: the matrix and shell quoting. */
#include "harness/campaign.h"

#include "common/error.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static int parse(const char *text, struct harness_campaign_matrix *m, char *err)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    cr_assert_not_null(root, "fixture parses: %s", jerr.text);
    int rv = harness_campaign_matrix_from_json(root, m, err);
    json_decref(root);
    return rv;
}

static struct harness_campaign_matrix M;

Test(campaign, matrix_defaults_and_seed_range)
{
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(parse("{\"scenarios\": [\"a.json\", \"b.json\"], \"impls\": [\"reference\", "
                       "\"etcd\"], \"seeds\": {\"first\": 5, \"count\": 3}}",
                       &M, err),
                 0, "%s", err);
    cr_assert_eq(M.n_scenarios, 2);
    cr_assert_eq(M.n_impls, 2);
    cr_assert_eq(M.n_seeds, 3);
    cr_assert_eq(M.seeds[0], 5);
    cr_assert_eq(M.seeds[2], 7);
    cr_assert_eq(M.time_limit, -1, "the scenario's own time limit by default");
    cr_assert(M.capture);
    cr_assert_eq(M.jobs, 1);
    cr_assert_eq(M.retries, 2);
    cr_assert_eq(M.n_runners, 0, "local by default");
    cr_assert_str_eq(M.name, "campaign");
}

Test(campaign, matrix_runners)
{
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(parse("{\"name\": \"lab\", \"scenarios\": [\"a.json\"], \"impls\": [\"reference\"],"
                       " \"seeds\": [3, 9], \"time_limit\": 10, \"capture\": false,"
                       " \"runners\": [{\"ssh\": \"root@203.0.113.11\", \"port\": 2222,"
                       " \"identity\": \"/k\", \"known_hosts\": \"/kh\", \"jobs\": 2},"
                       " {\"name\": \"b\", \"ssh\": \"203.0.113.12\","
                       " \"host_key_checking\": \"accept-new\", \"faultline\": \"/opt/fl\","
                       " \"workdir\": \"/var/tmp/x\"}]}",
                       &M, err),
                 0, "%s", err);
    cr_assert_eq(M.n_runners, 2);
    cr_assert_str_eq(M.runners[0].name, "r1", "runners are named by position by default");
    cr_assert_eq(M.runners[0].port, 2222);
    cr_assert_eq(M.runners[0].jobs, 2);
    cr_assert_eq(M.runners[0].hostkeys, HARNESS_CAMPAIGN_HOSTKEYS_YES, "strict by default");
    cr_assert_str_eq(M.runners[0].faultline, "faultline");
    cr_assert_str_eq(M.runners[1].name, "b");
    cr_assert_eq(M.runners[1].hostkeys, HARNESS_CAMPAIGN_HOSTKEYS_ACCEPT_NEW);
    cr_assert_str_eq(M.runners[1].workdir, "/var/tmp/x");
    cr_assert_eq(M.seeds[1], 9);
    cr_assert_eq(M.time_limit, 10);
    cr_assert(!M.capture);
}

/* Each bad matrix is refused with a message naming the field. */
Test(campaign, matrix_errors_name_the_field)
{
    static const struct {
        const char *text, *field;
    } cases[] = {
        {"[]", "expected a JSON object"},
        {"{\"impls\": [\"reference\"], \"seeds\": [1]}", "scenarios"},
        {"{\"scenarios\": [], \"impls\": [\"reference\"], \"seeds\": [1]}", "scenarios"},
        {"{\"scenarios\": [1], \"impls\": [\"reference\"], \"seeds\": [1]}", "scenarios[0]"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\", \"x\"], \"seeds\": [1]}", "impls[1]"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1, 1]}", "seeds[1]"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [-1]}", "seeds[0]"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": {\"first\": 1}}", "seeds.count"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"]}", "seeds"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"jobs\": 0}", "jobs"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"colour\": 1}", "colour"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"name\": \"a/b\"}", "name"},
        /* results/campaign/.. is results/: out of the campaign store. */
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"name\": \"..\"}",
         "name: expected [A-Za-z0-9._-]+, not . or .."},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"name\": \".\"}", "name"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"runners\": "
         "[{\"ssh\": \"h\", \"name\": \"..\"}]}",
         "runners[0].name"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"runners\": [{}]}",
         "runners[0].ssh"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"runners\": "
         "[{\"ssh\": \"-oProxyCommand=x\"}]}",
         "runners[0].ssh"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"runners\": "
         "[{\"ssh\": \"h\", \"port\": 70000}]}",
         "runners[0].port"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"runners\": "
         "[{\"ssh\": \"h\", \"workdir\": \"/\"}]}",
         "runners[0].workdir"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"runners\": "
         "[{\"ssh\": \"h\", \"host_key_checking\": \"maybe\"}]}",
         "runners[0].host_key_checking"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"runners\": "
         "[{\"ssh\": \"h\", \"name\": \"a\"}, {\"ssh\": \"i\", \"name\": \"a\"}]}",
         "runners[1].name"},
        {"{\"scenarios\": [\"a\"], \"impls\": [\"x\"], \"seeds\": [1], \"runners\": "
         "[{\"ssh\": \"h\", \"shell\": \"x\"}]}",
         "runners[0].shell"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[FL_ERRMSG_SIZE] = "";
        cr_assert_neq(parse(cases[i].text, &M, err), 0, "case %zu is refused", i);
        cr_assert_not_null(strstr(err, cases[i].field), "case %zu names %s: %s", i, cases[i].field,
                           err);
    }
}

Test(campaign, shell_quote_survives_any_byte)
{
    struct fl_buf b;
    fl_buf_init(&b);
    harness_campaign_shell_quote(&b, "it's $(rm -rf /) `x` \"y\"");
    cr_assert_str_eq(fl_buf_cstr(&b), "'it'\\''s $(rm -rf /) `x` \"y\"'");
    fl_buf_reset(&b);
    harness_campaign_shell_quote(&b, "");
    cr_assert_str_eq(fl_buf_cstr(&b), "''");
    fl_buf_free(&b);
}

/* The quoted text, given to a real shell, comes back as the same single argument. */
Test(campaign, shell_quote_round_trips_through_sh)
{
    const char *nasty = "a b'c\"d$e`f\\g;h|i&j*k?l[m]n~o{p}q\tr";
    struct fl_buf b;
    fl_buf_init(&b);
    fl_buf_puts(&b, "printf %s ");
    harness_campaign_shell_quote(&b, nasty);
    FILE *p = popen(fl_buf_cstr(&b), "r");
    cr_assert_not_null(p);
    char out[256] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    cr_assert_str_eq(out, nasty);
    fl_buf_free(&b);
}
