/* test_set.c - the set state machine: adds, duplicates, read order, snapshots. */
#include "sm_test.h"

Test(node_sm_set, reads_are_sorted_by_type_then_value)
{
    struct sm_test t;
    st_open(&t, "set");
    static const char *const values[] = {"{\"a\":1}", "\"b\"",  "10",   "[1]",   "2",
                                         "true",      "1.5",    "null", "\"a\"", "false",
                                         "-3",        "\"ab\"", "2.0",  "[0,9]"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char op[64];
        snprintf(op, sizeof op, "{\"f\":\"add\",\"value\":%s}", values[i]);
        st_expect(&t, i + 1, 0, op, "{\"ok\":true}");
    }
    cr_assert_eq(t.nreleased, 0, "first adds stay live");
    st_query(&t, "{\"f\":\"read\"}",
             "{\"ok\":true,\"value\":[null,false,true,-3,1.5,2,2.0,10,\"a\",\"ab\",\"b\","
             "[0,9],[1],{\"a\":1}]}");
    st_close(&t);
}

Test(node_sm_set, duplicate_adds_and_reads_release_themselves)
{
    struct sm_test t;
    st_open(&t, "set");
    st_expect(&t, 1, 0, "{\"f\":\"add\",\"value\":{\"x\":1,\"y\":2}}", "{\"ok\":true}");
    st_expect(&t, 2, 0, "{\"f\":\"add\",\"value\":{\"y\":2,\"x\":1}}", "{\"ok\":true}");
    st_expect(&t, 3, 0, "{\"f\":\"add\",\"value\":1}", "{\"ok\":true}");
    st_expect(&t, 4, 0, "{\"f\":\"read\"}", "{\"ok\":true,\"value\":[1,{\"x\":1,\"y\":2}]}");
    st_expect(&t, 5, 0, "{\"f\":\"add\",\"value\":1}", "{\"ok\":true}");
    st_expect_error(&t, 6, 0, "{\"f\":\"add\"}", "bad_request");
    st_expect_error(&t, 7, 0, "{\"f\":\"remove\",\"value\":1}", "bad_request");
    cr_assert_str_eq(st_releases(&t), "2 4 5 6 7");
    st_close(&t);
}

Test(node_sm_set, values_over_the_bound_are_refused)
{
    struct sm_test t;
    st_open(&t, "set");
    char *big = malloc(SM_VALUE_MAX + 1);
    memset(big, 'x', SM_VALUE_MAX);
    big[SM_VALUE_MAX] = '\0';
    json_t *op = json_pack("{s:s,s:s}", "f", "add", "value", big);
    json_t *res = st_apply_json(&t, 1, 0, op);
    cr_assert_str_eq(json_string_value(json_object_get(res, "error")), "too_large");
    json_decref(res);
    json_decref(op);
    free(big);
    cr_assert_str_eq(st_snapshot(&t), "{\"elements\":[],\"sm\":\"set\"}");
    st_close(&t);
}

Test(node_sm_set, snapshots_are_byte_equal_whatever_the_add_order)
{
    struct sm_test a, b;
    st_open(&a, "set");
    st_open(&b, "set");
    for (int i = 0; i < 200; i++) {
        char op[64];
        snprintf(op, sizeof op, "{\"f\":\"add\",\"value\":%d}", i);
        st_expect(&a, (uint64_t)i + 1, 0, op, "{\"ok\":true}");
        snprintf(op, sizeof op, "{\"f\":\"add\",\"value\":%d}", 199 - i);
        st_expect(&b, (uint64_t)i + 1, 0, op, "{\"ok\":true}");
    }
    char *sa = st_snapshot_dup(&a);
    cr_assert_str_eq(sa, st_snapshot(&b));
    free(sa);
    st_round_trip(&a, "set");
    st_close(&a);
    st_close(&b);
}

Test(node_sm_set, restore_refuses_garbage_and_keeps_the_live_state)
{
    struct sm_test t;
    st_open(&t, "set");
    st_expect(&t, 1, 0, "{\"f\":\"add\",\"value\":\"kept\"}", "{\"ok\":true}");
    static const char *const garbage[] = {
        "x",
        "{\"elements\":[],\"sm\":\"queue\"}",
        "{\"elements\":{},\"sm\":\"set\"}",
        "{\"elements\":[1,2,1],\"sm\":\"set\"}",
        "{\"elements\":[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}],\"sm\":\"set\"}",
        "{\"elements\":[],\"sm\":\"set\",\"x\":0}",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        st_restore_refused(&t, garbage[i]);
    const char *good = "{\"elements\":[\"z\",1],\"sm\":\"set\"}";
    cr_assert_eq(sm_restore(&t.sm, good, strlen(good), t.errmsg), 0, "%s", t.errmsg);
    cr_assert_str_eq(st_snapshot(&t), "{\"elements\":[1,\"z\"],\"sm\":\"set\"}");
    st_close(&t);
}

Test(node_sm_set, allocation_failures_leave_the_state_unchanged)
{
    bool done = false;
    for (long n = 0; n < 32 && !done; n++) {
        struct sm_test t;
        st_open(&t, "set");
        for (int i = 0; i < 12; i++) { /* 12 of 16 slots: the next add grows the table */
            char op[64];
            snprintf(op, sizeof op, "{\"f\":\"add\",\"value\":%d}", i);
            st_expect(&t, (uint64_t)i + 1, 0, op, "{\"ok\":true}");
        }
        char *before = st_snapshot_dup(&t);
        json_t *op = json_pack("{s:s,s:[s]}", "f", "add", "value", "new"), *res = NULL;
        fl_alloc_fail_after(n);
        int rc = sm_apply(&t.sm, &t.ctx, 100, 0, op, &res);
        fl_alloc_fail_reset();
        if (rc == 0) {
            done = true;
            cr_assert_neq(strcmp(st_snapshot(&t), before), 0, "added");
            json_decref(res);
        } else {
            cr_assert_eq(rc, FL_ENOMEM);
            cr_assert_null(res);
            cr_assert_str_eq(st_snapshot(&t), before);
            cr_assert_eq(t.nreleased, 0);
        }
        json_decref(op);
        free(before);
        st_close(&t);
    }
    cr_assert(done);
}
