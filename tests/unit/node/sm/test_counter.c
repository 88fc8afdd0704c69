/* test_counter.c - the counter state machine: adds, overflow, snapshots. */
#include "sm_test.h"

#include <stdint.h>

Test(node_sm_counter, adds_sum_and_reads_return_the_total)
{
    struct sm_test t;
    st_open(&t, "counter");
    st_expect(&t, 1, 0, "{\"f\":\"read\"}", "{\"ok\":true,\"value\":0}");
    st_expect(&t, 2, 0, "{\"f\":\"add\",\"value\":5}", "{\"ok\":true}");
    st_expect(&t, 3, 0, "{\"f\":\"add\",\"value\":-7}", "{\"ok\":true}");
    st_expect(&t, 4, 0, "{\"f\":\"add\",\"value\":0}", "{\"ok\":true}");
    st_query(&t, "{\"f\":\"read\"}", "{\"ok\":true,\"value\":-2}");
    cr_assert_str_eq(st_releases(&t), "1 4", "adds stay live; reads and add 0 release themselves");
    cr_assert_str_eq(st_snapshot(&t), "{\"sm\":\"counter\",\"value\":-2}");
    st_close(&t);
}

Test(node_sm_counter, overflow_and_non_integers_are_refused_without_effect)
{
    struct sm_test t;
    st_open(&t, "counter");
    st_expect(&t, 1, 0, "{\"f\":\"add\",\"value\":9223372036854775800}", "{\"ok\":true}");
    st_expect_error(&t, 2, 0, "{\"f\":\"add\",\"value\":8}", "overflow");
    st_expect(&t, 3, 0, "{\"f\":\"add\",\"value\":7}", "{\"ok\":true}");
    st_expect_error(&t, 4, 0, "{\"f\":\"add\",\"value\":1}", "overflow");
    st_query(&t, "{\"f\":\"read\"}", "{\"ok\":true,\"value\":9223372036854775807}");
    json_t *res = st_apply(&t, 5, 0, "{\"f\":\"add\",\"value\":1.5}");
    cr_assert_str_eq(json_string_value(json_object_get(res, "message")),
                     "value: expected an integer");
    json_decref(res);
    st_expect_error(&t, 6, 0, "{\"f\":\"add\"}", "bad_request");
    st_expect_error(&t, 7, 0, "{\"f\":\"add\",\"value\":\"1\"}", "bad_request");
    st_expect_error(&t, 8, 0, "{\"f\":\"sub\",\"value\":1}", "bad_request");
    st_expect_error(&t, 9, 0, "17", "bad_request");
    cr_assert_str_eq(st_releases(&t), "2 4 5 6 7 8 9");
    st_query(&t, "{\"f\":\"read\"}", "{\"ok\":true,\"value\":9223372036854775807}");
    st_close(&t);
}

Test(node_sm_counter, queries_refuse_adds)
{
    struct sm_test t;
    st_open(&t, "counter");
    json_t *op = json_pack("{s:s,s:i}", "f", "add", "value", 1), *res = NULL;
    cr_assert_not(sm_is_read_only(&t.sm, op));
    cr_assert_eq(sm_query(&t.sm, op, &res), FL_EUSAGE);
    cr_assert_null(res);
    json_decref(op);
    st_close(&t);
}

Test(node_sm_counter, snapshot_round_trip_and_garbage_refused)
{
    struct sm_test t;
    st_open(&t, "counter");
    st_expect(&t, 1, 0, "{\"f\":\"add\",\"value\":-9223372036854775807}", "{\"ok\":true}");
    st_expect(&t, 2, 0, "{\"f\":\"add\",\"value\":-1}", "{\"ok\":true}");
    st_round_trip(&t, "counter");
    cr_assert_str_eq(st_snapshot(&t), "{\"sm\":\"counter\",\"value\":-9223372036854775808}");
    static const char *const garbage[] = {
        "",
        "{",
        "7",
        "{\"sm\":\"counter\"}",
        "{\"sm\":\"kv\",\"value\":1}",
        "{\"sm\":\"counter\",\"value\":1.0}",
        "{\"sm\":\"counter\",\"value\":\"1\"}",
        "{\"sm\":\"counter\",\"value\":1,\"more\":2}",
        "{\"sm\":\"counter\",\"value\":99999999999999999999}",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        st_restore_refused(&t, garbage[i]);
    const char *good = "{\"sm\":\"counter\",\"value\":41}";
    cr_assert_eq(sm_restore(&t.sm, good, strlen(good), t.errmsg), 0);
    st_query(&t, "{\"f\":\"read\"}", "{\"ok\":true,\"value\":41}");
    st_close(&t);
}
