/* test_txn.c - the txn state machine: list-append and rw-register
 * transactions applied all or nothing, reads at the entry's position, the
 * preview the planted bug txn-early-reads answers from, snapshots. */
#include "sm_test.h"

Test(node_sm_txn, appends_build_lists_and_reads_see_the_txns_own_writes)
{
    struct sm_test t;
    st_open(&t, "txn");
    st_expect(&t, 1, 0, "{\"f\":\"txn\",\"value\":[[\"r\",\"k1\",null]]}",
              "{\"ok\":true,\"value\":[[\"r\",\"k1\",null]]}");
    st_expect(&t, 2, 0,
              "{\"f\":\"txn\",\"value\":[[\"append\",\"k1\",1],[\"append\",\"k2\",2],"
              "[\"r\",\"k1\",null]]}",
              "{\"ok\":true,\"value\":[[\"append\",\"k1\",1],[\"append\",\"k2\",2],"
              "[\"r\",\"k1\",[1]]]}");
    st_expect(&t, 3, 0,
              "{\"f\":\"txn\",\"value\":[[\"r\",\"k1\",null],[\"append\",\"k1\",3],"
              "[\"r\",\"k1\",null],[\"append\",\"k1\",4],[\"r\",\"k2\",null]]}",
              "{\"ok\":true,\"value\":[[\"r\",\"k1\",[1]],[\"append\",\"k1\",3],"
              "[\"r\",\"k1\",[1,3]],[\"append\",\"k1\",4],[\"r\",\"k2\",[2]]]}");
    /* An integer key is a different key from its string spelling. */
    st_expect(&t, 4, 0, "{\"f\":\"txn\",\"value\":[[\"append\",1,5],[\"r\",\"1\",null]]}",
              "{\"ok\":true,\"value\":[[\"append\",1,5],[\"r\",\"1\",null]]}");
    cr_assert_str_eq(st_releases(&t), "1", "a txn that wrote stays; a read-only one goes");
    cr_assert_str_eq(st_snapshot(&t),
                     "{\"keys\":{\"\\\"k1\\\"\":[1,3,4],\"\\\"k2\\\"\":[2],\"1\":[5]},\"sm\":\"txn\"}");
    st_round_trip(&t, "txn");
    st_close(&t);
}

Test(node_sm_txn, registers_write_and_read)
{
    struct sm_test t;
    st_open(&t, "txn");
    st_expect(&t, 1, 0, "{\"f\":\"txn\",\"value\":[[\"w\",\"x\",1],[\"r\",\"x\",null]]}",
              "{\"ok\":true,\"value\":[[\"w\",\"x\",1],[\"r\",\"x\",1]]}");
    st_expect(&t, 2, 0,
              "{\"f\":\"txn\",\"value\":[[\"r\",\"x\",null],[\"w\",\"x\",2],[\"w\",\"y\",3]]}",
              "{\"ok\":true,\"value\":[[\"r\",\"x\",1],[\"w\",\"x\",2],[\"w\",\"y\",3]]}");
    st_expect(&t, 3, 0, "{\"f\":\"txn\",\"value\":[[\"r\",\"x\",null],[\"r\",\"y\",null]]}",
              "{\"ok\":true,\"value\":[[\"r\",\"x\",2],[\"r\",\"y\",3]]}");
    st_close(&t);
}

/* A refused micro-op refuses the whole txn: nothing it wrote before stays. */
Test(node_sm_txn, a_refused_txn_changes_nothing)
{
    struct sm_test t;
    st_open(&t, "txn");
    st_expect(&t, 1, 0, "{\"f\":\"txn\",\"value\":[[\"w\",\"r\",7],[\"append\",\"l\",1]]}",
              "{\"ok\":true,\"value\":[[\"w\",\"r\",7],[\"append\",\"l\",1]]}");
    char *before = st_snapshot_dup(&t);
    st_expect_error(&t, 2, 0,
                    "{\"f\":\"txn\",\"value\":[[\"append\",\"l\",2],[\"w\",\"n\",1],"
                    "[\"append\",\"r\",3]]}",
                    "type_mismatch");
    st_expect_error(&t, 3, 0, "{\"f\":\"txn\",\"value\":[]}", "bad_request");
    st_expect_error(&t, 4, 0, "{\"f\":\"txn\",\"value\":[[\"append\",\"l\",2],[\"cas\",\"l\",1]]}",
                    "bad_request");
    st_expect_error(&t, 5, 0, "{\"f\":\"txn\",\"value\":[[\"append\",\"l\",null]]}",
                    "bad_request");
    st_expect_error(&t, 6, 0, "{\"f\":\"txn\",\"value\":[[\"r\",{},null]]}", "bad_request");
    st_expect_error(&t, 7, 0, "{\"f\":\"txn\",\"value\":[[\"r\",\"l\"]]}", "bad_request");
    st_expect_error(&t, 8, 0, "{\"f\":\"txn\"}", "bad_request");
    st_expect_error(&t, 9, 0, "{\"f\":\"write\",\"key\":\"l\",\"value\":1}", "bad_request");
    st_expect_error(&t, 10, 0, "[]", "bad_request");
    char key[300], op[400];
    memset(key, 'k', 257);
    key[257] = '\0';
    snprintf(op, sizeof op, "{\"f\":\"txn\",\"value\":[[\"r\",\"%s\",null]]}", key);
    st_expect_error(&t, 11, 0, op, "too_large");
    json_t *res = st_apply(&t, 12, 0, "{\"f\":\"txn\",\"value\":[[\"r\",\"l\",null],[\"x\",\"l\",1]]}");
    cr_assert_str_eq(json_string_value(json_object_get(res, "message")),
                     "value[1]: f: expected \"r\", \"append\" or \"w\"");
    json_decref(res);
    cr_assert_str_eq(st_snapshot(&t), before);
    cr_assert_str_eq(st_releases(&t), "2 3 4 5 6 7 8 9 10 11 12");
    free(before);
    st_close(&t);
}

Test(node_sm_txn, lists_and_txns_are_bounded)
{
    struct sm_test t;
    st_open(&t, "txn");
    struct fl_buf b;
    fl_buf_init(&b);
    fl_buf_printf(&b, "{\"f\":\"txn\",\"value\":[");
    for (int i = 0; i <= SM_TXN_OPS_MAX; i++)
        fl_buf_printf(&b, "%s[\"r\",\"k\",null]", i ? "," : "");
    fl_buf_printf(&b, "]}");
    st_expect_error(&t, 1, 0, fl_buf_cstr(&b), "bad_request");
    /* A list at SM_TXN_LIST_MAX elements takes no more. */
    fl_buf_reset(&b);
    fl_buf_printf(&b, "{\"sm\":\"txn\",\"keys\":{\"\\\"k\\\"\":[");
    for (int i = 0; i < SM_TXN_LIST_MAX; i++)
        fl_buf_printf(&b, "%s%d", i ? "," : "", i);
    fl_buf_printf(&b, "]}}");
    cr_assert_eq(sm_restore(&t.sm, fl_buf_cstr(&b), b.len, t.errmsg), 0, "%s", t.errmsg);
    st_expect_error(&t, 2, 0, "{\"f\":\"txn\",\"value\":[[\"append\",\"k\",1]]}", "too_large");
    st_expect(&t, 3, 0, "{\"f\":\"txn\",\"value\":[[\"w\",\"k\",1]]}",
              "{\"ok\":true,\"value\":[[\"w\",\"k\",1]]}");
    fl_buf_free(&b);
    st_close(&t);
}

/* The preview answers as apply would, and changes nothing. */
Test(node_sm_txn, preview_answers_without_applying)
{
    struct sm_test t;
    st_open(&t, "txn");
    st_expect(&t, 1, 0, "{\"f\":\"txn\",\"value\":[[\"append\",\"k\",1]]}",
              "{\"ok\":true,\"value\":[[\"append\",\"k\",1]]}");
    json_t *op = json_loads("{\"f\":\"txn\",\"value\":[[\"append\",\"k\",2],[\"r\",\"k\",null]]}",
                            0, NULL);
    json_t *res = NULL;
    cr_assert_not(sm_is_read_only(&t.sm, op));
    cr_assert_eq(sm_query(&t.sm, op, &res), FL_EUSAGE);
    cr_assert_eq(sm_txn_preview(&t.sm, op, &res), 0);
    char *got = st_text(res);
    cr_assert_str_eq(got, "{\"ok\":true,\"value\":[[\"append\",\"k\",2],[\"r\",\"k\",[1,2]]]}");
    free(got);
    json_decref(res);
    cr_assert_str_eq(st_snapshot(&t), "{\"keys\":{\"\\\"k\\\"\":[1]},\"sm\":\"txn\"}");
    struct sm_test kv;
    st_open(&kv, "kv");
    cr_assert_eq(sm_txn_preview(&kv.sm, op, &res), FL_EUSAGE);
    st_close(&kv);
    json_decref(op);
    st_close(&t);
}

/* A read's list is a copy: a later append does not change a result already given. */
Test(node_sm_txn, results_do_not_alias_the_state)
{
    struct sm_test t;
    st_open(&t, "txn");
    json_decref(st_apply(&t, 1, 0, "{\"f\":\"txn\",\"value\":[[\"append\",\"k\",1]]}"));
    json_t *r = st_apply(&t, 2, 0, "{\"f\":\"txn\",\"value\":[[\"r\",\"k\",null]]}");
    json_t *op = json_loads("{\"f\":\"txn\",\"value\":[[\"w\",\"j\",[7]],[\"append\",\"j\",8]]}", 0,
                            NULL);
    json_decref(st_apply_json(&t, 3, 0, op));
    json_decref(st_apply(&t, 4, 0, "{\"f\":\"txn\",\"value\":[[\"append\",\"k\",2]]}"));
    char *got = st_text(r);
    cr_assert_str_eq(got, "{\"ok\":true,\"value\":[[\"r\",\"k\",[1]]]}");
    free(got);
    got = st_text(op);
    cr_assert_str_eq(got, "{\"f\":\"txn\",\"value\":[[\"w\",\"j\",[7]],[\"append\",\"j\",8]]}",
                     "the op is not changed");
    free(got);
    cr_assert_str_eq(st_snapshot(&t),
                     "{\"keys\":{\"\\\"j\\\"\":[7,8],\"\\\"k\\\"\":[1,2]},\"sm\":\"txn\"}");
    json_decref(r);
    json_decref(op);
    st_close(&t);
}

Test(node_sm_txn, restore_refuses_garbage)
{
    struct sm_test t;
    st_open(&t, "txn");
    json_decref(st_apply(&t, 1, 0, "{\"f\":\"txn\",\"value\":[[\"append\",\"k\",1]]}"));
    st_restore_refused(&t, "{\"sm\":\"kv\",\"keys\":{}}");
    st_restore_refused(&t, "{\"sm\":\"txn\",\"keys\":[]}");
    st_restore_refused(&t, "{\"sm\":\"txn\",\"keys\":{},\"x\":1}");
    st_restore_refused(&t, "{\"sm\":\"txn\",\"keys\":{\"k\":1}}");
    st_restore_refused(&t, "{\"sm\":\"txn\",\"keys\":{\" 1\":1}}");
    st_restore_refused(&t, "{\"sm\":\"txn\",\"keys\":{\"[1]\":1}}");
    st_restore_refused(&t, "not json");
    const char *empty = "{\"sm\":\"txn\",\"keys\":{}}";
    cr_assert_eq(sm_restore(&t.sm, empty, strlen(empty), t.errmsg), 0, "%s", t.errmsg);
    cr_assert_str_eq(st_snapshot(&t), "{\"keys\":{},\"sm\":\"txn\"}");
    st_close(&t);
}
