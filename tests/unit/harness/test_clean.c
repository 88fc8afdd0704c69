/* test_clean.c - `faultline clean` command line: options, usage errors, dry run. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "harness/clean.h"

#include <stdio.h>
#include <string.h>

static int run(int argc, char **argv)
{
    return harness_clean_main(argc, argv);
}

Test(harness_clean, help_exits_0_and_names_the_options, .init = cr_redirect_stdout)
{
    char *argv[] = {"clean", "--help", NULL};
    cr_assert_eq(run(2, argv), 0);
    fflush(stdout);
    FILE *out = cr_get_redirected_stdout();
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, out);
    buf[n] = '\0';
    cr_assert(strstr(buf, "usage: faultline clean [--all | --run ID] [--dry-run]"), "%s", buf);
    cr_assert(strstr(buf, "--run ID"), "%s", buf);
    cr_assert(strstr(buf, "--all"), "%s", buf);
    cr_assert(strstr(buf, "--dry-run"), "%s", buf);
}

Test(harness_clean, an_unknown_option_or_an_argument_is_a_usage_error, .init = cr_redirect_stderr)
{
    char *bogus[] = {"clean", "--bogus", NULL};
    cr_assert_eq(run(2, bogus), 3);
    char *extra[] = {"clean", "now", NULL};
    cr_assert_eq(run(2, extra), 3);
    char *shortopt[] = {"clean", "-x", NULL};
    cr_assert_eq(run(2, shortopt), 3);
    char *both[] = {"clean", "--run", "a1b2c3", "--all", NULL};
    cr_assert_eq(run(4, both), 3);
    char *hosts[] = {"clean", "--run", "a1b2c3", "--hosts", "h.json", NULL};
    cr_assert_eq(run(5, hosts), 3);
    char *bad[] = {"clean", "--run", "nothex", "--dry-run", NULL};
    cr_assert_eq(run(4, bad), 3);
}

Test(harness_clean, a_dry_run_succeeds_and_removes_nothing, .init = cr_redirect_stdout)
{
    /* Whatever this machine holds, a dry run only reports it. */
    char *argv[] = {"clean", "--dry-run", NULL};
    cr_assert_eq(run(2, argv), 0);
}
