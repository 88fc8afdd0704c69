/* test_gen_unique.c - generated unique-value histories (issue 14, "Done
 * when"): 8 to 64 processes, 1% to 30% crashed operations, valid and
 * certainly invalid (a read of a value overwritten before the read began),
 * each decided by the unique-value procedure, with the verdict it must have,
 * and with the WGL search's verdict wherever the search finishes. Small
 * sizes here; bench_checker --unique runs 1k to 1M and prints the times. */
#include "checker/check.h"
#include "checker/gen.h"
#include "common/error.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum checker_verdict check(const char *path, enum checker_procedure proc, double timeout,
                                  bool *all_unique)
{
    struct checker_check_options opt = {.format = FL_FORMAT_AUTO, .nil_read_any = -1};
    opt.limits.procedure = proc;
    opt.limits.timeout_s = timeout;
    struct checker_history h;
    struct checker_result res;
    const struct checker_model_ops *used;
    char errmsg[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(checker_check_file(path, &opt, &h, &res, &used, errmsg), 0, "%s", errmsg);
    if (all_unique)
        *all_unique = res.n_keys > 0 && res.n_unique == res.n_keys;
    enum checker_verdict v = res.verdict;
    checker_result_free(&res);
    checker_history_free(&h);
    return v;
}

Test(checker_gen_unique, decided_and_agreeing_with_the_search, .timeout = 600)
{
    static const size_t sizes[] = {100, 300, 1000};
    static const int procs[] = {8, 64};
    static const double crash[] = {0.01, 0.30};
    int cases = 0, compared = 0, compared_invalid = 0;
    uint64_t seed = 1400;
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
        for (size_t pi = 0; pi < 2; pi++)
            for (size_t ci = 0; ci < 2; ci++)
                for (int stale = 0; stale < 2; stale++) {
                    struct checker_gen_config cfg;
                    checker_gen_defaults(&cfg);
                    cfg.seed = ++seed;
                    cfg.n_ops = sizes[si];
                    cfg.processes = procs[pi];
                    cfg.crash_rate = crash[ci];
                    cfg.stale = stale;
                    char path[] = "/tmp/fltest-genu-XXXXXX";
                    int fd = mkstemp(path);
                    cr_assert(fd >= 0);
                    close(fd);
                    char errmsg[FL_ERRMSG_SIZE] = "";
                    cr_assert_eq(checker_gen_write(&cfg, path, errmsg), 0, "seed %llu: %s",
                                 (unsigned long long)cfg.seed, errmsg);
                    bool unique = false;
                    enum checker_verdict want = stale ? CHECKER_INVALID : CHECKER_VALID;
                    enum checker_verdict fast = check(path, CHECKER_PROC_AUTO, 0, &unique);
                    cr_expect(unique, "seed %llu: not decided by the unique-value procedure",
                              (unsigned long long)cfg.seed);
                    cr_expect_eq(fast, want, "seed %llu (%zu ops, %d procs, %.0f%% crashed%s): %s",
                                 (unsigned long long)cfg.seed, cfg.n_ops, cfg.processes,
                                 cfg.crash_rate * 100, stale ? ", stale read" : "",
                                 checker_verdict_name(fast));
                    /* The search, where it finishes within its budget. */
                    enum checker_verdict wgl = check(path, CHECKER_PROC_WGL, 1, NULL);
                    if (wgl != CHECKER_UNKNOWN) {
                        compared++;
                        compared_invalid += stale;
                        cr_expect_eq(wgl, fast, "seed %llu: the search says %s, unique-values %s",
                                     (unsigned long long)cfg.seed, checker_verdict_name(wgl),
                                     checker_verdict_name(fast));
                    }
                    cases++;
                    unlink(path);
                }
    cr_log_info("%d generated histories, %d compared with the search (%d invalid)", cases,
                compared, compared_invalid);
    /* The small ones are within the search's reach: the comparison happens. */
    cr_assert_geq(compared, cases / 3, "only %d of %d compared with the search", compared, cases);
    cr_assert_gt(compared_invalid, 0, "no invalid history compared with the search");
}

/* The stale read is certain: asked of a history too short to have two
 * writes in real-time order before a read, the generator says so instead
 * of writing a history that might be valid. */
Test(checker_gen_unique, stale_needs_a_read_after_two_writes)
{
    struct checker_gen_config cfg;
    checker_gen_defaults(&cfg);
    cfg.n_ops = 1;
    cfg.stale = true;
    char errmsg[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(checker_gen_write(&cfg, "/tmp/fltest-genu-never", errmsg), FL_EUNSUPPORTED);
    cr_assert(strstr(errmsg, "no read follows two writes"), "%s", errmsg);
    cfg.values = 5;
    cfg.n_ops = 100;
    cr_assert_eq(checker_gen_write(&cfg, "/tmp/fltest-genu-never", errmsg), FL_EUNSUPPORTED);
    cr_assert(access("/tmp/fltest-genu-never", F_OK) != 0, "no file written");
}
