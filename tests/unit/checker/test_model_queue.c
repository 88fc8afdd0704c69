/* test_model_queue.c - the FIFO queue model driven through its vtable. */
#include "support/model_test.h"

#include "common/alloc.h"

Test(checker_model_queue, fifo_order)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "queue", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m), next;
    cr_assert_str_eq(mt_state(&t, s), "[]");
    struct checker_op e1 = mt_ok(&t, "enqueue", json_integer(1));
    struct checker_op e2 = mt_ok(&t, "enqueue", json_integer(2));
    struct checker_op d1 = mt_ok(&t, "dequeue", json_integer(1));
    struct checker_op d2 = mt_ok(&t, "dequeue", json_integer(2));
    s = mt_must(&t, mt_must(&t, s, &e1), &e2);
    cr_assert_str_eq(mt_state(&t, s), "[1 2]");
    cr_assert_not(mt_step(&t, s, &d2, &next), "2 is not at the head");
    s = mt_must(&t, s, &d1);
    cr_assert_str_eq(mt_state(&t, s), "[2]");
    s = mt_must(&t, s, &d2);
    cr_assert_eq(s, t.m.ops->init(&t.m), "empty again is the initial handle");
    cr_assert_str_eq(mt_op(&t, &e1), "enqueue 1");
    cr_assert_str_eq(mt_op(&t, &d2), "dequeue 2");
    mt_destroy(&t);
}

Test(checker_model_queue, nil_dequeue_only_when_empty)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "queue", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m), next;
    struct checker_op empty = mt_ok(&t, "dequeue", NULL);
    cr_assert_eq(mt_must(&t, s, &empty), s);
    struct checker_op e = mt_ok(&t, "enqueue", json_string("x"));
    s = mt_must(&t, s, &e);
    cr_assert_not(mt_step(&t, s, &empty, &next));
    struct checker_op d1 = mt_ok(&t, "dequeue", json_integer(1));
    cr_assert_not(mt_step(&t, t.m.ops->init(&t.m), &d1, &next), "nothing to dequeue");
    mt_destroy(&t);
}

Test(checker_model_queue, crashed_dequeue_takes_any_head)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "queue", NULL, false), 0);
    cr_assert_eq(mt_prepare(&t, "dequeue", NULL, FL_EVENT_INFO, &op), 0);
    cr_assert_str_eq(mt_op(&t, &op), "dequeue ?");
    uint64_t s0 = t.m.ops->init(&t.m);
    cr_assert_eq(mt_must(&t, s0, &op), s0, "no-op on an empty queue");
    struct checker_op e7 = mt_ok(&t, "enqueue", json_integer(7));
    struct checker_op e8 = mt_ok(&t, "enqueue", json_integer(8));
    uint64_t s = mt_must(&t, mt_must(&t, s0, &e7), &e8);
    s = mt_must(&t, s, &op);
    cr_assert_str_eq(mt_state(&t, s), "[8]");
    mt_destroy(&t);
}

Test(checker_model_queue, equal_queues_equal_handles)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "queue", NULL, false), 0);
    uint64_t s0 = t.m.ops->init(&t.m);
    struct checker_op e1 = mt_ok(&t, "enqueue", json_integer(1));
    struct checker_op e2 = mt_ok(&t, "enqueue", json_integer(2));
    struct checker_op d1 = mt_ok(&t, "dequeue", json_integer(1));
    uint64_t x = mt_must(&t, mt_must(&t, mt_must(&t, s0, &e1), &e2), &d1);
    uint64_t y = mt_must(&t, s0, &e2);
    cr_assert_eq(x, y);
    cr_assert(t.m.ops->equal(&t.m, x, y));
    cr_assert_eq(t.m.ops->hash(&t.m, x), t.m.ops->hash(&t.m, y));
    uint64_t z = mt_must(&t, mt_must(&t, s0, &e2), &e1);
    uint64_t w = mt_must(&t, mt_must(&t, s0, &e1), &e2);
    cr_assert_neq(z, w, "order matters in a queue");
    mt_destroy(&t);
}

Test(checker_model_queue, unknown_f_is_a_shape_error)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "queue", NULL, false), 0);
    cr_assert_eq(mt_prepare(&t, "push", json_integer(1), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert(strncmp(t.errmsg, "f: \"push\"", 9) == 0, "%s", t.errmsg);
    mt_destroy(&t);
}

Test(checker_model_queue, long_queue)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "queue", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m);
    for (int i = 0; i < 300; i++) {
        struct checker_op e = mt_ok(&t, "enqueue", json_integer(i));
        s = mt_must(&t, s, &e);
    }
    for (int i = 0; i < 300; i++) {
        struct checker_op d = mt_ok(&t, "dequeue", json_integer(i));
        s = mt_must(&t, s, &d);
    }
    cr_assert_eq(s, t.m.ops->init(&t.m));
    mt_destroy(&t);
}

Test(checker_model_queue, allocation_failures_are_reported_not_crashed)
{
    bool clean = false;
    for (long n = 0; !clean && n < 10000; n++) {
        struct model_test t;
        struct checker_op op;
        fl_alloc_fail_after(n);
        int rc = mt_create(&t, "queue", NULL, false);
        if (rc != 0) {
            cr_assert_eq(rc, FL_ENOMEM);
            fl_alloc_fail_reset();
            fl_buf_free(&t.text);
            continue;
        }
        uint64_t s = t.m.ops->init(&t.m);
        clean = true;
        for (int i = 0; i < 100 && clean; i++) {
            bool deq = i % 3 == 2;
            cr_assert_eq(mt_prepare(&t, deq ? "dequeue" : "enqueue",
                                    json_integer(i / 3 * 2 + i % 3 - deq),
                                    deq ? FL_EVENT_INFO : FL_EVENT_OK, &op),
                         0);
            if (!t.m.ops->step(&t.m, s, &op, &s)) {
                cr_assert(t.m.oom);
                clean = false;
            }
        }
        fl_alloc_fail_reset();
        mt_destroy(&t);
    }
    cr_assert(clean);
}
