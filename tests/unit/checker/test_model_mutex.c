/* test_model_mutex.c - the mutex model driven through its vtable. */
#include "support/model_test.h"

Test(checker_model_mutex, acquire_then_release)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "mutex", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m);
    cr_assert_str_eq(mt_state(&t, s), "free");
    struct checker_op acq = mt_ok(&t, "acquire", NULL);
    struct checker_op rel = mt_ok(&t, "release", NULL);
    s = mt_must(&t, s, &acq);
    cr_assert_str_eq(mt_state(&t, s), "held");
    s = mt_must(&t, s, &rel);
    cr_assert_eq(s, t.m.ops->init(&t.m), "free again is the initial handle");
    cr_assert_str_eq(mt_op(&t, &acq), "acquire");
    cr_assert_str_eq(mt_op(&t, &rel), "release");
    mt_destroy(&t);
}

Test(checker_model_mutex, double_acquire_and_free_release_are_illegal)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "mutex", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m), next;
    struct checker_op acq = mt_ok(&t, "acquire", NULL);
    struct checker_op rel = mt_ok(&t, "release", NULL);
    cr_assert_not(mt_step(&t, s, &rel, &next));
    s = mt_must(&t, s, &acq);
    cr_assert_not(mt_step(&t, s, &acq, &next));
    mt_destroy(&t);
}

Test(checker_model_mutex, no_owner_tracking)
{
    /* Knossos: a release by any process is legal while the mutex is held.
     * Processes are not visible to the model at all. */
    struct model_test t;
    cr_assert_eq(mt_create(&t, "mutex", NULL, false), 0);
    struct checker_op acq = mt_ok(&t, "acquire", json_integer(1));
    struct checker_op rel = mt_ok(&t, "release", json_integer(2));
    mt_must(&t, mt_must(&t, t.m.ops->init(&t.m), &acq), &rel);
    mt_destroy(&t);
}

Test(checker_model_mutex, crashed_ops_prepare_and_step)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "mutex", NULL, false), 0);
    cr_assert_eq(mt_prepare(&t, "acquire", NULL, FL_EVENT_INFO, &op), 0);
    cr_assert_eq(mt_must(&t, t.m.ops->init(&t.m), &op), 1);
    mt_destroy(&t);
}

Test(checker_model_mutex, unknown_f_is_a_shape_error)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "mutex", NULL, false), 0);
    cr_assert_eq(mt_prepare(&t, "lock", NULL, FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert(strncmp(t.errmsg, "f: \"lock\"", 9) == 0, "%s", t.errmsg);
    cr_assert(strstr(t.m.ops->summary, "acquire"));
    mt_destroy(&t);
}
