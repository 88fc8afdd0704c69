/* test_model_set.c - the set model driven through its vtable. */
#include "support/model_test.h"

#include "common/alloc.h"

Test(checker_model_set, add_then_read_in_any_order)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "set", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m);
    cr_assert_str_eq(mt_state(&t, s), "#{}");
    for (int i = 3; i >= 1; i--) {
        struct checker_op add = mt_ok(&t, "add", json_integer(i));
        s = mt_must(&t, s, &add);
    }
    cr_assert_str_eq(mt_state(&t, s), "#{1 2 3}");
    struct checker_op r = mt_ok(&t, "read", json_pack("[iii]", 2, 3, 1));
    cr_assert_eq(mt_must(&t, s, &r), s);
    cr_assert_str_eq(mt_op(&t, &r), "read #{1 2 3}");
    cr_assert_gt(t.m.mem_bytes, 0);
    mt_destroy(&t);
}

Test(checker_model_set, missing_extra_and_duplicate_reads_are_illegal)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "set", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m), next;
    struct checker_op a1 = mt_ok(&t, "add", json_integer(1));
    struct checker_op a2 = mt_ok(&t, "add", json_integer(2));
    s = mt_must(&t, mt_must(&t, s, &a1), &a2);
    struct checker_op missing = mt_ok(&t, "read", json_pack("[i]", 1));
    struct checker_op extra = mt_ok(&t, "read", json_pack("[iii]", 1, 2, 3));
    struct checker_op dup = mt_ok(&t, "read", json_pack("[iii]", 1, 2, 2));
    cr_assert_not(mt_step(&t, s, &missing, &next));
    cr_assert_not(mt_step(&t, s, &extra, &next));
    cr_assert_not(mt_step(&t, s, &dup, &next), "a duplicate is never legal");
    mt_destroy(&t);
}

Test(checker_model_set, equal_sets_equal_handles)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "set", NULL, false), 0);
    uint64_t s0 = t.m.ops->init(&t.m);
    struct checker_op a = mt_ok(&t, "add", json_string("a"));
    struct checker_op b = mt_ok(&t, "add", json_integer(7));
    uint64_t x = mt_must(&t, mt_must(&t, s0, &a), &b);
    uint64_t y = mt_must(&t, mt_must(&t, s0, &b), &a);
    cr_assert_eq(x, y);
    cr_assert_eq(mt_must(&t, x, &a), x, "re-adding an element keeps the state");
    cr_assert(t.m.ops->equal(&t.m, x, y));
    cr_assert_eq(t.m.ops->hash(&t.m, x), t.m.ops->hash(&t.m, y));
    cr_assert_neq(x, s0);
    cr_assert_str_eq(mt_state(&t, x), "#{\"a\" 7}");
    cr_assert_str_eq(mt_op(&t, &a), "add \"a\"");
    mt_destroy(&t);
}

Test(checker_model_set, empty_read)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "set", NULL, false), 0);
    struct checker_op r = mt_ok(&t, "read", json_array());
    mt_must(&t, t.m.ops->init(&t.m), &r);
    mt_destroy(&t);
}

Test(checker_model_set, crashed_add_steps_and_crashed_read_drops)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "set", NULL, false), 0);
    cr_assert_eq(mt_prepare(&t, "add", json_integer(5), FL_EVENT_INFO, &op), 0);
    uint64_t s = mt_must(&t, t.m.ops->init(&t.m), &op);
    cr_assert_str_eq(mt_state(&t, s), "#{5}");
    cr_assert_eq(mt_prepare(&t, "read", NULL, FL_EVENT_INFO, &op), CHECKER_PREPARE_DROP);
    mt_destroy(&t);
}

Test(checker_model_set, bad_shapes)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "set", NULL, false), 0);
    cr_assert_eq(mt_prepare(&t, "read", json_integer(3), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert(strncmp(t.errmsg, "value: ", 7) == 0, "%s", t.errmsg);
    cr_assert_eq(mt_prepare(&t, "read", NULL, FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert_eq(mt_prepare(&t, "remove", json_integer(3), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert(strncmp(t.errmsg, "f: ", 3) == 0, "%s", t.errmsg);
    mt_destroy(&t);
    cr_assert_eq(mt_create(&t, "set", NULL, true), 0);
    cr_assert_eq(mt_prepare(&t, "read", NULL, FL_EVENT_OK, &op), CHECKER_PREPARE_DROP);
    mt_destroy(&t);
}

Test(checker_model_set, many_states_stay_distinct)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "set", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m), prev[200];
    for (int i = 0; i < 200; i++) {
        struct checker_op add = mt_ok(&t, "add", json_integer(i));
        s = mt_must(&t, s, &add);
        prev[i] = s;
    }
    for (int i = 1; i < 200; i++)
        cr_assert_neq(prev[i], prev[i - 1]);
    struct checker_op r = mt_ok(&t, "read", json_pack("[iii]", 0, 1, 2));
    uint64_t next;
    cr_assert(mt_step(&t, prev[2], &r, &next), "old handles stay valid after growth");
    mt_destroy(&t);
}

Test(checker_model_set, allocation_failures_are_reported_not_crashed)
{
    bool clean = false;
    for (long n = 0; !clean && n < 10000; n++) {
        struct model_test t;
        struct checker_op op;
        uint64_t s;
        fl_alloc_fail_after(n);
        int rc = mt_create(&t, "set", NULL, false);
        if (rc != 0) {
            cr_assert_eq(rc, FL_ENOMEM);
            fl_alloc_fail_reset();
            fl_buf_free(&t.text);
            continue;
        }
        s = t.m.ops->init(&t.m);
        clean = true;
        for (int i = 0; i < 100 && clean; i++) {
            cr_assert_eq(mt_prepare(&t, "add", json_integer(i), FL_EVENT_OK, &op), 0);
            if (!t.m.ops->step(&t.m, s, &op, &s)) {
                cr_assert(t.m.oom, "an add only fails for lack of memory");
                clean = false;
            }
        }
        if (clean) {
            rc = mt_prepare(&t, "read", json_pack("[iii]", 0, 1, 2), FL_EVENT_OK, &op);
            cr_assert(rc == 0 || rc == FL_ENOMEM);
            clean = rc == 0;
        }
        fl_alloc_fail_reset();
        mt_destroy(&t);
    }
    cr_assert(clean, "some budget lets the whole run through");
}
