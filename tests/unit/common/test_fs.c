/* test_fs.c - mkdir -p and the results folder of a command. */
#include "common/fs.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[64];

static void setup(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/fl-test-fs.XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    cr_assert_eq(system(cmd), 0);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

TestSuite(fl_fs, .init = setup, .fini = teardown);

Test(fl_fs, results_dir_uses_out_when_given_and_creates_it)
{
    char out[128], dir[256];
    snprintf(out, sizeof out, "%s/a/b", tmp);
    cr_assert_eq(fl_results_dir(dir, sizeof dir, out, "unused"), 0);
    cr_assert_str_eq(dir, out);
    cr_assert(is_dir(out));
}

Test(fl_fs, results_dir_stamps_under_base_and_never_reuses_a_folder)
{
    char base[128], a[256], b[256];
    snprintf(base, sizeof base, "%s/results/x", tmp);
    cr_assert_eq(fl_results_dir(a, sizeof a, NULL, base), 0);
    cr_assert_eq(fl_results_dir(b, sizeof b, NULL, base), 0);
    cr_assert(is_dir(a) && is_dir(b));
    cr_assert_str_neq(a, b, "two calls gave the same folder %s", a);
    /* "<base>/YYYYmmddTHHMMSSZ", the second maybe with "-1". */
    cr_assert_eq(strncmp(a, base, strlen(base)), 0);
    cr_assert_eq(strlen(a + strlen(base) + 1), 16, "%s", a);
    cr_assert_eq(a[strlen(a) - 1], 'Z');
}

Test(fl_fs, results_dir_too_long_is_an_error_and_creates_nothing)
{
    char dir[16];
    cr_assert_eq(fl_results_dir(dir, sizeof dir, NULL, tmp), -ENAMETOOLONG);
    char out[64];
    snprintf(out, sizeof out, "%s/longer-than-sixteen", tmp);
    cr_assert_eq(fl_results_dir(dir, sizeof dir, out, NULL), -ENAMETOOLONG);
    cr_assert(!is_dir(out));
}
