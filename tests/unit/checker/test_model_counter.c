/* test_model_counter.c - the counter model driven through its vtable. */
#include "support/model_test.h"

Test(checker_model_counter, starts_at_zero_and_adds)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "counter", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m);
    cr_assert_str_eq(mt_state(&t, s), "0");
    struct checker_op add2 = mt_ok(&t, "add", json_integer(2));
    struct checker_op addm5 = mt_ok(&t, "add", json_integer(-5));
    s = mt_must(&t, s, &add2);
    s = mt_must(&t, s, &addm5);
    cr_assert_str_eq(mt_state(&t, s), "-3");
    struct checker_op r = mt_ok(&t, "read", json_integer(-3));
    cr_assert_eq(mt_must(&t, s, &r), s, "a read leaves the state alone");
    cr_assert_str_eq(mt_op(&t, &addm5), "add -5");
    cr_assert_str_eq(mt_op(&t, &r), "read -3");
    mt_destroy(&t);
}

Test(checker_model_counter, wrong_read_is_illegal)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "counter", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m), next;
    struct checker_op r = mt_ok(&t, "read", json_integer(1));
    cr_assert_not(mt_step(&t, s, &r, &next));
    mt_destroy(&t);
}

Test(checker_model_counter, initial_integer_from_config)
{
    struct model_test t;
    json_t *init = json_integer(10);
    cr_assert_eq(mt_create(&t, "counter", init, false), 0);
    uint64_t s = t.m.ops->init(&t.m);
    struct checker_op r = mt_ok(&t, "read", json_integer(10));
    mt_must(&t, s, &r);
    mt_destroy(&t);
    json_decref(init);
}

Test(checker_model_counter, non_integer_initial_is_rejected)
{
    struct model_test t;
    json_t *init = json_string("ten");
    cr_assert_eq(mt_create(&t, "counter", init, false), FL_ESHAPE);
    cr_assert(strncmp(t.errmsg, "initial: ", 9) == 0, "%s", t.errmsg);
    fl_buf_free(&t.text);
    json_decref(init);
}

Test(checker_model_counter, crashed_add_steps_and_crashed_read_drops)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "counter", NULL, false), 0);
    struct checker_op op;
    cr_assert_eq(mt_prepare(&t, "add", json_integer(4), FL_EVENT_INFO, &op), 0);
    cr_assert(op.crashed);
    cr_assert_eq(mt_must(&t, t.m.ops->init(&t.m), &op), 4);
    cr_assert_eq(mt_prepare(&t, "read", json_null(), FL_EVENT_INFO, &op), CHECKER_PREPARE_DROP);
    mt_destroy(&t);
}

Test(checker_model_counter, nil_read_drops_only_with_nil_read_any)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "counter", NULL, true), 0);
    cr_assert_eq(mt_prepare(&t, "read", json_null(), FL_EVENT_OK, &op), CHECKER_PREPARE_DROP);
    mt_destroy(&t);
    cr_assert_eq(mt_create(&t, "counter", NULL, false), 0);
    cr_assert_eq(mt_prepare(&t, "read", json_null(), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert(strncmp(t.errmsg, "value: ", 7) == 0, "%s", t.errmsg);
    mt_destroy(&t);
}

Test(checker_model_counter, bad_shapes)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "counter", NULL, false), 0);
    cr_assert_eq(mt_prepare(&t, "add", json_string("1"), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert_str_eq(t.errmsg, "value: add expects an integer");
    cr_assert_eq(mt_prepare(&t, "add", json_real(1.5), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert_eq(mt_prepare(&t, "incr", json_integer(1), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert(strncmp(t.errmsg, "f: \"incr\"", 9) == 0, "%s", t.errmsg);
    mt_destroy(&t);
}

Test(checker_model_counter, overflow_is_illegal_not_undefined)
{
    struct model_test t;
    json_t *init = json_integer(INT64_MAX);
    cr_assert_eq(mt_create(&t, "counter", init, false), 0);
    uint64_t next;
    struct checker_op add = mt_ok(&t, "add", json_integer(1));
    cr_assert_not(mt_step(&t, t.m.ops->init(&t.m), &add, &next));
    cr_assert_not(t.m.oom);
    mt_destroy(&t);
    json_decref(init);
}

Test(checker_model_counter, equal_totals_equal_handles)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "counter", NULL, false), 0);
    uint64_t s0 = t.m.ops->init(&t.m);
    struct checker_op a1 = mt_ok(&t, "add", json_integer(1));
    struct checker_op a2 = mt_ok(&t, "add", json_integer(2));
    uint64_t x = mt_must(&t, mt_must(&t, s0, &a1), &a2);
    uint64_t y = mt_must(&t, mt_must(&t, s0, &a2), &a1);
    cr_assert_eq(x, y);
    cr_assert(t.m.ops->equal(&t.m, x, y));
    cr_assert_eq(t.m.ops->hash(&t.m, x), t.m.ops->hash(&t.m, y));
    cr_assert(strstr(t.m.ops->summary, "add"));
    mt_destroy(&t);
}
