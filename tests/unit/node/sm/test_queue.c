/* test_queue.c - the queue state machine: FIFO order, empty dequeues,
 * releases of dequeued enqueues, snapshots. */
#include "sm_test.h"

Test(node_sm_queue, dequeues_in_fifo_order_and_fail_when_empty)
{
    struct sm_test t;
    st_open(&t, "queue");
    st_expect(&t, 1, 0, "{\"f\":\"dequeue\"}", "{\"error\":\"empty\",\"ok\":false}");
    st_expect(&t, 2, 0, "{\"f\":\"enqueue\",\"value\":\"a\"}", "{\"ok\":true}");
    st_expect(&t, 3, 0, "{\"f\":\"enqueue\",\"value\":{\"b\":[2]}}", "{\"ok\":true}");
    st_expect(&t, 4, 0, "{\"f\":\"enqueue\",\"value\":\"a\"}", "{\"ok\":true}");
    st_query(&t, "{\"f\":\"read\"}", "{\"ok\":true,\"value\":[\"a\",{\"b\":[2]},\"a\"]}");
    st_expect(&t, 5, 0, "{\"f\":\"dequeue\"}", "{\"ok\":true,\"value\":\"a\"}");
    st_expect(&t, 6, 0, "{\"f\":\"dequeue\"}", "{\"ok\":true,\"value\":{\"b\":[2]}}");
    st_expect(&t, 7, 0, "{\"f\":\"read\"}", "{\"ok\":true,\"value\":[\"a\"]}");
    st_expect(&t, 8, 0, "{\"f\":\"dequeue\"}", "{\"ok\":true,\"value\":\"a\"}");
    st_expect(&t, 9, 0, "{\"f\":\"dequeue\"}", "{\"error\":\"empty\",\"ok\":false}");
    cr_assert_str_eq(st_releases(&t), "1 2 5 3 6 7 4 8 9",
                     "a dequeue releases its enqueue, then itself");
    cr_assert_str_eq(st_snapshot(&t), "{\"items\":[],\"sm\":\"queue\"}");
    st_close(&t);
}

Test(node_sm_queue, malformed_ops_are_refused)
{
    struct sm_test t;
    st_open(&t, "queue");
    st_expect_error(&t, 1, 0, "{\"f\":\"enqueue\"}", "bad_request");
    st_expect_error(&t, 2, 0, "{\"f\":\"push\",\"value\":1}", "bad_request");
    st_expect_error(&t, 3, 0, "{\"value\":1}", "bad_request");
    json_t *op = json_pack("{s:s}", "f", "dequeue"), *res = NULL;
    cr_assert_not(sm_is_read_only(&t.sm, op));
    cr_assert_eq(sm_query(&t.sm, op, &res), FL_EUSAGE);
    json_decref(op);
    cr_assert_str_eq(st_releases(&t), "1 2 3");
    st_close(&t);
}

Test(node_sm_queue, many_items_survive_growth_and_compaction_of_the_buffer)
{
    struct sm_test t;
    st_open(&t, "queue");
    uint64_t index = 1;
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 37; i++) {
            char op[64];
            snprintf(op, sizeof op, "{\"f\":\"enqueue\",\"value\":%d}", next_in++);
            st_expect(&t, index++, 0, op, "{\"ok\":true}");
        }
        for (int i = 0; i < 29; i++) {
            char expect[64];
            snprintf(expect, sizeof expect, "{\"ok\":true,\"value\":%d}", next_out++);
            st_expect(&t, index++, 0, "{\"f\":\"dequeue\"}", expect);
        }
    }
    st_round_trip(&t, "queue");
    json_t *op = json_pack("{s:s}", "f", "read"), *res = NULL;
    cr_assert_eq(sm_query(&t.sm, op, &res), 0);
    json_t *items = json_object_get(res, "value");
    cr_assert_eq(json_array_size(items), (size_t)(next_in - next_out));
    cr_assert_eq(json_integer_value(json_array_get(items, 0)), next_out);
    json_decref(res);
    json_decref(op);
    st_close(&t);
}

Test(node_sm_queue, snapshot_keeps_enqueue_indices_and_refuses_garbage)
{
    struct sm_test t;
    st_open(&t, "queue");
    st_expect(&t, 4, 0, "{\"f\":\"enqueue\",\"value\":1}", "{\"ok\":true}");
    st_expect(&t, 9, 0, "{\"f\":\"enqueue\",\"value\":[2]}", "{\"ok\":true}");
    cr_assert_str_eq(st_snapshot(&t), "{\"items\":[[4,1],[9,[2]]],\"sm\":\"queue\"}");
    st_round_trip(&t, "queue");
    static const char *const garbage[] = {
        "{\"items\":[[4,1],[4,2]],\"sm\":\"queue\"}",
        "{\"items\":[[5,1],[4,2]],\"sm\":\"queue\"}",
        "{\"items\":[[0,1]],\"sm\":\"queue\"}",
        "{\"items\":[[1]],\"sm\":\"queue\"}",
        "{\"items\":[1],\"sm\":\"queue\"}",
        "{\"items\":null,\"sm\":\"queue\"}",
        "{\"sm\":\"queue\"}",
        "\"queue\"",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        st_restore_refused(&t, garbage[i]);
    struct sm_test u;
    st_open(&u, "queue");
    const char *snap = "{\"items\":[[4,1],[9,[2]]],\"sm\":\"queue\"}";
    cr_assert_eq(sm_restore(&u.sm, snap, strlen(snap), u.errmsg), 0);
    st_expect(&u, 20, 0, "{\"f\":\"dequeue\"}", "{\"ok\":true,\"value\":1}");
    cr_assert_str_eq(st_releases(&u), "4 20", "the restored index is released");
    st_close(&u);
    st_close(&t);
}

Test(node_sm_queue, allocation_failures_leave_the_state_unchanged)
{
    bool done = false;
    for (long n = 0; n < 32 && !done; n++) {
        struct sm_test t;
        st_open(&t, "queue");
        for (int i = 0; i < 16; i++) /* fills the first buffer: the next enqueue grows it */
            st_expect(&t, (uint64_t)i + 1, 0, "{\"f\":\"enqueue\",\"value\":1}", "{\"ok\":true}");
        char *before = st_snapshot_dup(&t);
        json_t *op = json_pack("{s:s,s:[i]}", "f", "enqueue", "value", 2), *res = NULL;
        fl_alloc_fail_after(n);
        int rc = sm_apply(&t.sm, &t.ctx, 100, 0, op, &res);
        fl_alloc_fail_reset();
        if (rc == 0) {
            done = true;
            json_decref(res);
        } else {
            cr_assert_eq(rc, FL_ENOMEM);
            cr_assert_str_eq(st_snapshot(&t), before);
        }
        json_decref(op);
        free(before);
        st_close(&t);
    }
    cr_assert(done);
}
