/* test_stats.c - latency percentiles, counts and throughput of a history. */
#include "checker/stats.h"
#include "common/alloc.h"
#include "common/error.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static void load(struct checker_history *h, const char *text)
{
    char errmsg[FL_ERRMSG_SIZE] = "";
    const char *path = test_tmpfile(text, ".jsonl");
    int rc = checker_history_load(h, path, FL_FORMAT_JSONL, errmsg);
    cr_assert_eq(rc, 0, "load: %s", errmsg);
}

/* Appends an operation of process p: invoke at t0 ms, completion at t1 ms. */
static void op(char *buf, size_t cap, int p, const char *f, const char *type, long t0, long t1)
{
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len,
             "{\"process\":%d,\"time\":%ld,\"type\":\"invoke\",\"f\":\"%s\",\"value\":null}\n"
             "{\"process\":%d,\"time\":%ld,\"type\":\"%s\",\"f\":\"%s\",\"value\":1}\n",
             p, t0 * 1000000, f, p, t1 * 1000000, type, f);
}

Test(checker_stats, percentiles_counts_and_throughput)
{
    static char text[65536];
    text[0] = '\0';
    /* 100 ok reads with latencies 1..100 ms, completing in the first 3 s. */
    for (int i = 1; i <= 100; i++)
        op(text, sizeof text, 0, "read", "ok", i * 10, i * 10 + i);
    op(text, sizeof text, 1, "write", "ok", 0, 7);
    op(text, sizeof text, 1, "write", "fail", 10, 20);
    op(text, sizeof text, 1, "write", "info", 30, 40);
    struct checker_history h;
    load(&h, text);
    struct checker_stats s;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_stats_compute(&h, &s, errmsg), 0);
    cr_assert_eq(s.n_fs, 2);
    cr_assert_str_eq(s.fs[0].f, "read");
    cr_assert_eq(s.fs[0].count, 100);
    cr_assert_eq(s.fs[0].lat_count, 100);
    cr_assert_eq(s.fs[0].p50, 50 * 1000000LL);
    cr_assert_eq(s.fs[0].p90, 90 * 1000000LL);
    cr_assert_eq(s.fs[0].p99, 99 * 1000000LL);
    cr_assert_eq(s.fs[0].max, 100 * 1000000LL);
    cr_assert_str_eq(s.fs[1].f, "write");
    cr_assert_eq(s.fs[1].ok, 1);
    cr_assert_eq(s.fs[1].fail, 1);
    cr_assert_eq(s.fs[1].info, 1);
    cr_assert_eq(s.fs[1].lat_count, 1, "only ok operations have latencies");
    cr_assert_eq(s.fs[1].p99, 7 * 1000000LL);
    cr_assert_eq(s.count, 103);
    cr_assert_eq(s.ok, 101);
    /* Last ok completion at 1100 ms: two 1 s buckets. */
    cr_assert_eq(s.bucket_ns, 1000000000LL);
    cr_assert_eq(s.n_buckets, 2);
    cr_assert_eq(s.buckets[0] + s.buckets[1], 101);
    cr_assert_eq(s.buckets[1], 10, "reads 91..100 complete after 1 s");

    json_t *j = checker_stats_json(&s);
    cr_assert(j);
    json_t *lat =
        json_object_get(json_object_get(json_object_get(j, "by_f"), "read"), "latency_ms");
    cr_assert_float_eq(json_real_value(json_object_get(lat, "p90")), 90.0, 1e-9);
    json_t *rates = json_object_get(json_object_get(j, "throughput"), "ok_per_s");
    cr_assert_eq(json_array_size(rates), 2);
    cr_assert_float_eq(json_real_value(json_array_get(rates, 1)), 10.0, 1e-9);
    json_decref(j);

    struct fl_buf b;
    fl_buf_init(&b);
    checker_stats_table(&s, &b);
    const char *t = fl_buf_cstr(&b);
    cr_assert(strstr(t, "read                 100     100       0       0    50.000    90.000"
                        "    99.000   100.000\n"),
              "%s", t);
    cr_assert(strstr(t, "throughput: 2 buckets of 1 s"), "%s", t);
    fl_buf_free(&b);
    checker_stats_free(&s);
    checker_history_free(&h);
}

Test(checker_stats, no_times_no_latencies)
{
    struct checker_history h;
    load(&h, "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
             "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n"
             "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n");
    struct checker_stats s;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_stats_compute(&h, &s, errmsg), 0);
    cr_assert_eq(s.fs[0].lat_count, 0);
    cr_assert_eq(s.fs[0].p50, -1);
    cr_assert_eq(s.fs[0].info, 1, "a never-completed operation counts as info");
    cr_assert_eq(s.n_buckets, 0);
    json_t *j = checker_stats_json(&s);
    json_t *lat =
        json_object_get(json_object_get(json_object_get(j, "by_f"), "read"), "latency_ms");
    cr_assert(json_is_null(json_object_get(lat, "p50")));
    json_decref(j);
    checker_stats_free(&s);
    checker_history_free(&h);
}

Test(checker_stats, long_runs_widen_buckets)
{
    char text[1024] = "";
    /* A completion 10^6 s into the run: buckets widen to stay bounded. */
    snprintf(text, sizeof text,
             "{\"process\":0,\"time\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
             "{\"process\":0,\"time\":%lld,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n",
             1000000LL * 1000000000LL);
    struct checker_history h;
    load(&h, text);
    struct checker_stats s;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_stats_compute(&h, &s, errmsg), 0);
    cr_assert_leq(s.n_buckets, CHECKER_STATS_MAX_BUCKETS);
    cr_assert_gt(s.bucket_ns, 1000000000LL);
    cr_assert_eq(s.buckets[s.n_buckets - 1], 1);
    checker_stats_free(&s);
    checker_history_free(&h);
}

/* No client operation (an empty file is refused by the loader: issue 14). */
Test(checker_stats, history_without_operations)
{
    struct checker_history h;
    load(&h, "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"start\",\"value\":null}\n");
    struct checker_stats s;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_stats_compute(&h, &s, errmsg), 0);
    cr_assert_eq(s.n_fs, 0);
    struct fl_buf b;
    fl_buf_init(&b);
    checker_stats_table(&s, &b);
    cr_assert(strstr(fl_buf_cstr(&b), "throughput: 0 buckets"));
    fl_buf_free(&b);
    checker_stats_free(&s);
    checker_history_free(&h);
}

Test(checker_stats, allocation_failures_are_reported_not_crashed)
{
    char text[4096] = "";
    const char *fs[] = {"read", "write", "cas", "add", "a", "b", "c", "d", "e", "f"};
    for (int i = 0; i < 10; i++)
        op(text, sizeof text, i, fs[i], "ok", i, i + 1);
    struct checker_history h;
    load(&h, text);
    int rc = FL_ENOMEM;
    for (long n = 0; rc != 0 && n < 1000; n++) {
        struct checker_stats s;
        char errmsg[FL_ERRMSG_SIZE];
        fl_alloc_fail_after(n);
        rc = checker_stats_compute(&h, &s, errmsg);
        fl_alloc_fail_reset();
        cr_assert(rc == 0 || rc == FL_ENOMEM);
        if (rc == 0) {
            cr_assert_eq(s.n_fs, 10);
            checker_stats_free(&s);
        }
    }
    cr_assert_eq(rc, 0);
    checker_history_free(&h);
}
