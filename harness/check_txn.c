/* check_txn.c - the transactional branch of `faultline check`: load, check, print. */
#include "harness/check_txn.h"
#include "harness/check.h"

#include "checker/txn_explain.h"
#include "common/error.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int harness_check_txn_file(const char *path, const struct harness_check_txn_opts *o)
{
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct checker_txn_history h;
    struct checker_txn_result res;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int rc = checker_txn_history_load(path, o->format, &h, errmsg);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double load_s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    memset(&res, 0, sizeof res);
    if (rc == 0) {
        struct checker_txn_options opt = {
            .workload = o->workload_given ? o->workload : checker_txn_detect_workload(&h),
            .consistency = o->consistency,
            .timeout_s = o->timeout_s,
            .max_memory = o->max_memory,
        };
        rc = checker_txn_check(&h, &opt, &res, errmsg);
        if (rc < 0)
            fl_error_wrap(errmsg, rc, "%s", path);
    }
    if (rc < 0) {
        harness_check_print_error(path, NULL, errmsg, o->json);
        checker_txn_result_free(&res);
        checker_txn_history_free(&h);
        return 3;
    }
    if (o->json) {
        json_t *j = checker_txn_result_json(&h, &res);
        if (j) {
            json_object_set_new(j, "file", json_string(path));
            json_object_set_new(j, "load_time", json_real(load_s));
        }
        harness_check_print_json(j);
    } else {
        printf("%s: %s  model=%s consistency=%s txns=%zu (ok %zu, info %zu, fail %zu) keys=%zu "
               "edges=%zu load=%.3fs check=%.3fs",
               path, checker_verdict_name(res.verdict), checker_txn_workload_name(res.workload),
               checker_txn_consistency_name(res.consistency), res.n_txns, res.n_ok, res.n_info,
               res.n_fail, res.n_keys, res.n_edges, load_s, res.seconds);
        if (res.reason[0])
            printf("  (%s)", res.reason);
        putchar('\n');
        if (!o->quiet) {
            struct fl_buf buf;
            fl_buf_init(&buf);
            checker_txn_explain_text(&h, &res, &buf);
            fputs(fl_buf_cstr(&buf), stdout);
            fl_buf_free(&buf);
        }
    }
    if (o->html) {
        struct fl_buf page;
        fl_buf_init(&page);
        checker_txn_report_page(&h, &res, path, 0, &page);
        FILE *f = fopen(o->html, "w");
        bool ok = f && !page.oom && fwrite(fl_buf_cstr(&page), 1, page.len, f) == page.len;
        if (f && fclose(f) != 0)
            ok = false;
        fl_buf_free(&page);
        if (!ok) {
            fprintf(stderr, "faultline check: --html %s: cannot write\n", o->html);
            checker_txn_result_free(&res);
            checker_txn_history_free(&h);
            return 3;
        }
    }
    fflush(stdout);
    int code = (int)res.verdict;
    checker_txn_result_free(&res);
    checker_txn_history_free(&h);
    return code;
}
