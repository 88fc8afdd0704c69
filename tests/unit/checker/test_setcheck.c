/* test_setcheck.c - Jepsen's set checker over small JSONL histories. */
#include "checker/setcheck.h"
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

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}

#define EV(p, t, f, v) "{\"process\":" #p ",\"type\":\"" t "\",\"f\":\"" f "\",\"value\":" v "}\n"

Test(checker_set, all_adds_present_is_valid)
{
    struct checker_history h;
    load(&h, EV(0, "invoke", "add", "1") EV(0, "ok", "add", "1") EV(1, "invoke", "add", "2") EV(
                 1, "ok", "add", "2") EV(0, "invoke", "read", "null") EV(0, "ok", "read", "[2,1]"));
    struct checker_set_result r;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_set_check(&h, CHECKER_SET_ALL_KEYS, &r, errmsg), 0);
    cr_assert(r.has_final_read);
    cr_assert(r.valid);
    cr_assert_eq(r.attempt_count, 2);
    cr_assert_eq(r.acknowledged_count, 2);
    cr_assert_eq(r.ok_count, 2);
    cr_assert_eq(r.final_read_op, 2);
    struct fl_buf b;
    fl_buf_init(&b);
    checker_set_summary(&r, &b);
    cr_assert_str_eq(fl_buf_cstr(&b), "set: valid: 2 attempted, 2 acknowledged, 2 ok, 0 lost, 0 "
                                      "unexpected, 0 duplicated, 0 recovered, 0 never read");
    fl_buf_free(&b);
    checker_set_result_free(&r);
    checker_history_free(&h);
}

Test(checker_set, lost_unexpected_recovered_duplicated)
{
    struct checker_history h;
    load(&h, EV(0, "invoke", "add", "1") EV(0, "ok", "add", "1") /* acknowledged, lost */
         EV(1, "invoke", "add", "2") EV(1, "info", "add", "2")   /* indeterminate, present */
         EV(2, "invoke", "add", "3") EV(2, "fail", "add", "3")   /* failed: not unexpected */
         EV(3, "invoke", "add", "\"a\"") EV(3, "ok", "add", "\"a\"") EV(4, "invoke", "read", "null")
             EV(4, "ok", "read", "[\"a\",\"a\",2,3,9]"));
    struct checker_set_result r;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_set_check(&h, CHECKER_SET_ALL_KEYS, &r, errmsg), 0);
    cr_assert_not(r.valid);
    cr_assert_eq(r.attempt_count, 4);
    cr_assert_eq(r.acknowledged_count, 2);
    cr_assert_eq(r.ok_count, 3);
    char *s;
    cr_assert_str_eq(s = dump(r.lost), "[1]");
    free(s);
    cr_assert_str_eq(s = dump(r.unexpected), "[9]");
    free(s);
    cr_assert_str_eq(s = dump(r.duplicated), "[\"a\"]");
    free(s);
    cr_assert_str_eq(s = dump(r.recovered), "[2]");
    free(s);
    json_t *j = checker_set_result_json(&r);
    cr_assert(j);
    cr_assert(json_is_false(json_object_get(j, "valid")));
    cr_assert_eq(json_integer_value(json_object_get(j, "lost_count")), 1);
    cr_assert_eq(json_integer_value(json_object_get(j, "duplicated_count")), 1);
    json_decref(j);
    struct fl_buf b;
    fl_buf_init(&b);
    checker_set_summary(&r, &b);
    cr_assert(strstr(fl_buf_cstr(&b), "1 lost [1]"), "%s", fl_buf_cstr(&b));
    fl_buf_free(&b);
    checker_set_result_free(&r);
    checker_history_free(&h);
}

Test(checker_set, final_read_is_the_last_completed)
{
    /* The earlier read misses 2; the last one to complete has it. */
    struct checker_history h;
    load(&h,
         EV(0, "invoke", "add", "2") EV(1, "invoke", "read", "null") EV(1, "ok", "read", "[]")
             EV(0, "ok", "add", "2") EV(1, "invoke", "read", "null") EV(1, "ok", "read", "[2]"));
    struct checker_set_result r;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_set_check(&h, CHECKER_SET_ALL_KEYS, &r, errmsg), 0);
    cr_assert(r.valid);
    cr_assert_eq(r.read_count, 2);
    cr_assert_eq(r.final_read_op, 2);
    checker_set_result_free(&r);
    checker_history_free(&h);
}

Test(checker_set, acknowledged_after_the_last_ok_read_is_never_read_not_lost)
{
    /* Issue 11: the final reads failed, so the last ok read is from the middle of
     * the run; 2 and 3 were acknowledged after it began (3 concurrently with it):
     * unknown, never lost. 1 was acknowledged before it and is there. */
    struct checker_history h;
    load(&h, EV(0, "invoke", "add", "1") EV(0, "ok", "add", "1") EV(1, "invoke", "read", "null")
                 EV(0, "invoke", "add", "3") EV(0, "ok", "add", "3") EV(1, "ok", "read", "[1]")
                     EV(0, "invoke", "add", "2") EV(0, "ok", "add", "2")
                         EV(2, "invoke", "read", "null") EV(2, "fail", "read", "null"));
    struct checker_set_result r;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_set_check(&h, CHECKER_SET_ALL_KEYS, &r, errmsg), 0);
    cr_assert(r.has_final_read);
    cr_assert_eq(r.lost_count, 0, "acknowledged after the read began: not lost");
    cr_assert_eq(r.never_read_count, 2);
    cr_assert_not(r.valid);
    cr_assert(r.unknown);
    char *s;
    cr_assert_str_eq(s = dump(r.never_read), "[2,3]");
    free(s);
    json_t *j = checker_set_result_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "valid")), "unknown");
    cr_assert_eq(json_integer_value(json_object_get(j, "never_read_count")), 2);
    json_decref(j);
    struct fl_buf b;
    fl_buf_init(&b);
    checker_set_summary(&r, &b);
    cr_assert(strstr(fl_buf_cstr(&b), "set: unknown: ") == fl_buf_cstr(&b), "%s", fl_buf_cstr(&b));
    cr_assert(strstr(fl_buf_cstr(&b), "2 never read [2 3]"), "%s", fl_buf_cstr(&b));
    fl_buf_free(&b);
    checker_set_result_free(&r);
    checker_history_free(&h);
}

Test(checker_set, lost_before_the_final_read_stays_lost_beside_never_read)
{
    /* 1 acknowledged before the final read began and missing: lost, whatever else. */
    struct checker_history h;
    load(&h, EV(0, "invoke", "add", "1") EV(0, "ok", "add", "1") EV(1, "invoke", "read", "null")
                 EV(0, "invoke", "add", "2") EV(0, "ok", "add", "2") EV(1, "ok", "read", "[]"));
    struct checker_set_result r;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_set_check(&h, CHECKER_SET_ALL_KEYS, &r, errmsg), 0);
    cr_assert_eq(r.lost_count, 1);
    cr_assert_eq(r.never_read_count, 1);
    cr_assert_not(r.valid);
    cr_assert_not(r.unknown, "a lost element makes it invalid");
    checker_set_result_free(&r);
    checker_history_free(&h);
}

Test(checker_set, duplicates_in_any_read_count)
{
    struct checker_history h;
    load(&h, EV(0, "invoke", "add", "5") EV(0, "ok", "add", "5") EV(1, "invoke", "read", "null")
                 EV(1, "ok", "read", "[5,5]") EV(1, "invoke", "read", "null")
                     EV(1, "ok", "read", "[5]"));
    struct checker_set_result r;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_set_check(&h, CHECKER_SET_ALL_KEYS, &r, errmsg), 0);
    cr_assert_not(r.valid);
    cr_assert_eq(r.duplicated_count, 1);
    cr_assert_eq(r.lost_count, 0);
    checker_set_result_free(&r);
    checker_history_free(&h);
}

Test(checker_set, no_read_is_unknown)
{
    struct checker_history h;
    load(&h, EV(0, "invoke", "add", "1") EV(0, "ok", "add", "1") EV(1, "invoke", "read", "null")
                 EV(1, "fail", "read", "null"));
    struct checker_set_result r;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_set_check(&h, CHECKER_SET_ALL_KEYS, &r, errmsg), 0);
    cr_assert_not(r.has_final_read);
    cr_assert_eq(r.lost_count, 0, "nothing is lost without a final read");
    json_t *j = checker_set_result_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(j, "valid")), "unknown");
    json_decref(j);
    struct fl_buf b;
    fl_buf_init(&b);
    checker_set_summary(&r, &b);
    cr_assert_str_eq(fl_buf_cstr(&b), "set: unknown: no ok read (1 attempted)");
    fl_buf_free(&b);
    checker_set_result_free(&r);
    checker_history_free(&h);
}

Test(checker_set, keys_are_separate_sets)
{
    struct checker_history h;
    load(&h, "{\"process\":0,\"type\":\"invoke\",\"f\":\"add\",\"key\":\"a\",\"value\":1}\n"
             "{\"process\":0,\"type\":\"ok\",\"f\":\"add\",\"key\":\"a\",\"value\":1}\n"
             "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"a\",\"value\":null}\n"
             "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":\"a\",\"value\":[1]}\n"
             "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"b\",\"value\":null}\n"
             "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":\"b\",\"value\":[]}\n");
    struct checker_set_result r;
    char errmsg[FL_ERRMSG_SIZE];
    uint32_t a = h.ops[0].key_id;
    cr_assert_eq(checker_set_check(&h, a, &r, errmsg), 0);
    cr_assert(r.valid);
    cr_assert_eq(r.final_read_op, 1);
    checker_set_result_free(&r);
    cr_assert_eq(checker_set_check(&h, CHECKER_SET_ALL_KEYS, &r, errmsg), 0);
    cr_assert_not(r.valid, "mixing the keys, the last read (of b) misses a's 1");
    cr_assert_eq(r.lost_count, 1);
    checker_set_result_free(&r);
    checker_history_free(&h);
}

Test(checker_set, read_of_a_non_array_is_a_shape_error)
{
    struct checker_history h;
    load(&h, EV(0, "invoke", "read", "null") EV(0, "ok", "read", "7"));
    struct checker_set_result r;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(checker_set_check(&h, CHECKER_SET_ALL_KEYS, &r, errmsg), FL_ESHAPE);
    cr_assert(strstr(errmsg, ": line 2: value: read expects an array"), "%s", errmsg);
    checker_history_free(&h);
}

Test(checker_set, allocation_failures_are_reported_not_crashed)
{
    struct checker_history h;
    load(&h, EV(0, "invoke", "add", "1") EV(0, "ok", "add", "1") EV(1, "invoke", "add", "2")
                 EV(1, "info", "add", "2") EV(2, "invoke", "read", "null")
                     EV(2, "ok", "read", "[1,1,2,3]"));
    int rc = FL_ENOMEM;
    for (long n = 0; rc != 0 && n < 1000; n++) {
        struct checker_set_result r;
        char errmsg[FL_ERRMSG_SIZE];
        fl_alloc_fail_after(n);
        rc = checker_set_check(&h, CHECKER_SET_ALL_KEYS, &r, errmsg);
        fl_alloc_fail_reset();
        cr_assert(rc == 0 || rc == FL_ENOMEM);
        if (rc == 0) {
            cr_assert_eq(r.duplicated_count, 1);
            checker_set_result_free(&r);
        }
    }
    cr_assert_eq(rc, 0);
    checker_history_free(&h);
}
