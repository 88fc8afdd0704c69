/* test_countercheck.c - Jepsen's counter bounds over small JSONL histories. */
#include "checker/countercheck.h"
#include "common/alloc.h"
#include "common/error.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <string.h>

static void load(struct checker_history *h, const char *text)
{
    char errmsg[FL_ERRMSG_SIZE] = "";
    const char *path = test_tmpfile(text, ".jsonl");
    int rc = checker_history_load(h, path, FL_FORMAT_JSONL, errmsg);
    cr_assert_eq(rc, 0, "load: %s", errmsg);
}

#define EV(p, t, f, v) "{\"process\":" #p ",\"type\":\"" t "\",\"f\":\"" f "\",\"value\":" v "}\n"

static void check(const char *text, int64_t initial, struct checker_counter_result *r)
{
    struct checker_history h;
    char errmsg[FL_ERRMSG_SIZE];
    load(&h, text);
    cr_assert_eq(checker_counter_check(&h, CHECKER_COUNTER_ALL_KEYS, initial, r, errmsg), 0, "%s",
                 errmsg);
    checker_history_free(&h);
}

Test(checker_counter, sequential_reads_in_bounds)
{
    struct checker_counter_result r;
    check(EV(0, "invoke", "add", "1") EV(0, "ok", "add", "1") EV(0, "invoke", "add", "2")
              EV(0, "ok", "add", "2") EV(0, "invoke", "read", "null") EV(0, "ok", "read", "3"),
          0, &r);
    cr_assert(r.valid);
    cr_assert_eq(r.read_count, 1);
    cr_assert_eq(r.add_count, 2);
    struct fl_buf b;
    fl_buf_init(&b);
    checker_counter_summary(&r, &b);
    cr_assert_str_eq(fl_buf_cstr(&b), "counter: valid: 1 reads within bounds (2 adds)");
    fl_buf_free(&b);
    checker_counter_result_free(&r);
}

Test(checker_counter, concurrent_add_widens_bounds)
{
    /* The add of 5 overlaps the read: 0 and 5 are both fine, 6 is not. */
    const char *concurrent = EV(0, "invoke", "add", "5") EV(1, "invoke", "read", "null");
    char text[1024];
    struct checker_counter_result r;
    for (int v = 0; v <= 6; v += 5) {
        snprintf(text, sizeof text,
                 "%s{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":%d}\n" EV(0, "ok",
                                                                                      "add", "5"),
                 concurrent, v);
        check(text, 0, &r);
        cr_assert(r.valid, "read %d", v);
        checker_counter_result_free(&r);
    }
    snprintf(text, sizeof text, "%s" EV(1, "ok", "read", "6") EV(0, "ok", "add", "5"), concurrent);
    check(text, 0, &r);
    cr_assert_not(r.valid);
    cr_assert_eq(r.n_errors, 1);
    cr_assert_eq(r.errors[0].lower, 0);
    cr_assert_eq(r.errors[0].upper, 5);
    cr_assert_eq(r.errors[0].value, 6);
    cr_assert_eq(r.errors[0].line, 3);
    checker_counter_result_free(&r);
}

Test(checker_counter, acknowledged_add_must_be_seen)
{
    struct checker_counter_result r;
    check(EV(0, "invoke", "add", "4") EV(0, "ok", "add", "4") EV(1, "invoke", "read", "null")
              EV(1, "ok", "read", "10"),
          10, &r);
    cr_assert_not(r.valid);
    cr_assert_eq(r.errors[0].lower, 14);
    cr_assert_eq(r.errors[0].upper, 14);
    struct fl_buf b;
    fl_buf_init(&b);
    checker_counter_summary(&r, &b);
    cr_assert_str_eq(fl_buf_cstr(&b), "counter: invalid: 1 of 1 reads out of bounds (first: line "
                                      "4 read 10, bounds [14, 14])");
    fl_buf_free(&b);
    json_t *j = checker_counter_result_json(&r);
    cr_assert(json_is_false(json_object_get(j, "valid")));
    json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    cr_assert_eq(json_integer_value(json_object_get(e, "lower")), 14);
    cr_assert_eq(json_integer_value(json_object_get(e, "value")), 10);
    json_decref(j);
    checker_counter_result_free(&r);
}

Test(checker_counter, negative_and_info_adds)
{
    /* An info add of -3 may apply at any time (lowering the lower bound); a
     * failed add of 100 never counts. */
    struct checker_counter_result r;
    check(EV(0, "invoke", "add", "2") EV(0, "ok", "add", "2") EV(1, "invoke", "add", "-3")
              EV(1, "info", "add", "-3") EV(2, "invoke", "add", "100") EV(2, "fail", "add", "100")
                  EV(3, "invoke", "read", "null") EV(3, "ok", "read", "-1")
                      EV(3, "invoke", "read", "null") EV(3, "ok", "read", "2")
                          EV(3, "invoke", "read", "null") EV(3, "ok", "read", "102"),
          0, &r);
    cr_assert_eq(r.read_count, 3);
    cr_assert_eq(r.add_count, 2);
    cr_assert_eq(r.n_errors, 1);
    cr_assert_eq(r.errors[0].value, 102);
    cr_assert_eq(r.errors[0].lower, -1);
    cr_assert_eq(r.errors[0].upper, 2);
    checker_counter_result_free(&r);
}

Test(checker_counter, nil_reads_are_skipped_and_bad_values_rejected)
{
    struct checker_counter_result r;
    check(EV(0, "invoke", "read", "null") EV(0, "ok", "read", "null"), 0, &r);
    cr_assert(r.valid);
    cr_assert_eq(r.read_count, 0);
    checker_counter_result_free(&r);

    struct checker_history h;
    char errmsg[FL_ERRMSG_SIZE];
    load(&h, EV(0, "invoke", "add", "\"one\"") EV(0, "ok", "add", "\"one\""));
    cr_assert_eq(checker_counter_check(&h, CHECKER_COUNTER_ALL_KEYS, 0, &r, errmsg), FL_ESHAPE);
    cr_assert(strstr(errmsg, ": line 2: value: add expects an integer"), "%s", errmsg);
    checker_history_free(&h);
}

Test(checker_counter, saturates_instead_of_overflowing)
{
    struct checker_counter_result r;
    check(EV(0, "invoke", "add", "9223372036854775807") EV(1, "invoke", "add", "5")
              EV(2, "invoke", "read", "null") EV(2, "ok", "read", "3"),
          0, &r);
    cr_assert(r.valid);
    checker_counter_result_free(&r);
}

Test(checker_counter, allocation_failures_are_reported_not_crashed)
{
    struct checker_history h;
    load(&h, EV(0, "invoke", "add", "1") EV(0, "ok", "add", "1") EV(1, "invoke", "read", "null")
                 EV(1, "ok", "read", "5") EV(1, "invoke", "read", "null") EV(1, "ok", "read", "6"));
    int rc = FL_ENOMEM;
    for (long n = 0; rc != 0 && n < 1000; n++) {
        struct checker_counter_result r;
        char errmsg[FL_ERRMSG_SIZE];
        fl_alloc_fail_after(n);
        rc = checker_counter_check(&h, CHECKER_COUNTER_ALL_KEYS, 0, &r, errmsg);
        fl_alloc_fail_reset();
        cr_assert(rc == 0 || rc == FL_ENOMEM);
        if (rc == 0) {
            cr_assert_eq(r.n_errors, 2);
            checker_counter_result_free(&r);
        }
    }
    cr_assert_eq(rc, 0);
    checker_history_free(&h);
}
