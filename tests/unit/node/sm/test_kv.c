/* test_kv.c - the kv state machine: registers, cas, delete, watches, bounds,
 * snapshots, releases. */
#include "sm_test.h"

Test(node_sm_kv, write_then_read_returns_the_value_and_get_put_are_aliases)
{
    struct sm_test t;
    st_open(&t, "kv");
    st_expect(&t, 1, 0, "{\"f\":\"read\",\"key\":\"k\"}", "{\"ok\":true,\"value\":null}");
    st_expect(&t, 2, 0, "{\"f\":\"write\",\"key\":\"k\",\"value\":{\"b\":[1,2],\"a\":null}}",
              "{\"ok\":true}");
    st_expect(&t, 3, 0, "{\"f\":\"get\",\"key\":\"k\"}",
              "{\"ok\":true,\"value\":{\"a\":null,\"b\":[1,2]}}");
    st_expect(&t, 4, 0, "{\"f\":\"put\",\"key\":7,\"value\":\"seven\"}", "{\"ok\":true}");
    st_query(&t, "{\"f\":\"read\",\"key\":7}", "{\"ok\":true,\"value\":\"seven\"}");
    st_query(&t, "{\"f\":\"read\",\"key\":\"7\"}", "{\"ok\":true,\"value\":null}");
    cr_assert_str_eq(st_releases(&t), "1 3", "reads release themselves");
    st_close(&t);
}

Test(node_sm_kv, cas_matches_with_json_equal_and_mismatch_is_a_definite_failure)
{
    struct sm_test t;
    st_open(&t, "kv");
    st_expect(&t, 1, 0, "{\"f\":\"write\",\"key\":\"k\",\"value\":{\"x\":1,\"y\":2}}",
              "{\"ok\":true}");
    /* Same object, other key order: json_equal matches. */
    st_expect(&t, 2, 0, "{\"f\":\"cas\",\"key\":\"k\",\"value\":[{\"y\":2,\"x\":1},3]}",
              "{\"ok\":true}");
    char *before = st_snapshot_dup(&t);
    st_expect(&t, 3, 0, "{\"f\":\"cas\",\"key\":\"k\",\"value\":[2,4]}",
              "{\"error\":\"cas_mismatch\",\"ok\":false}");
    cr_assert_str_eq(st_snapshot(&t), before, "a failed cas has no effect");
    free(before);
    st_expect(&t, 4, 0, "{\"f\":\"read\",\"key\":\"k\"}", "{\"ok\":true,\"value\":3}");
    /* An absent key holds null for cas. */
    st_expect(&t, 5, 0, "{\"f\":\"cas\",\"key\":\"new\",\"value\":[null,1]}", "{\"ok\":true}");
    st_expect(&t, 6, 0, "{\"f\":\"cas\",\"key\":\"other\",\"value\":[0,1]}",
              "{\"error\":\"cas_mismatch\",\"ok\":false}");
    cr_assert_str_eq(st_releases(&t), "3 4 6");
    cr_assert_str_eq(st_snapshot(&t),
                     "{\"keys\":[[\"k\",3,[1,2]],[\"new\",1,[5]]],\"sm\":\"kv\",\"watches\":[]}");
    st_close(&t);
}

Test(node_sm_kv, write_and_delete_release_the_chain_that_built_the_value)
{
    struct sm_test t;
    st_open(&t, "kv");
    st_expect(&t, 1, 0, "{\"f\":\"write\",\"key\":\"k\",\"value\":1}", "{\"ok\":true}");
    st_expect(&t, 2, 0, "{\"f\":\"cas\",\"key\":\"k\",\"value\":[1,2]}", "{\"ok\":true}");
    st_expect(&t, 3, 0, "{\"f\":\"cas\",\"key\":\"k\",\"value\":[2,3]}", "{\"ok\":true}");
    cr_assert_eq(t.nreleased, 0, "a cas chain stays live");
    st_expect(&t, 4, 0, "{\"f\":\"write\",\"key\":\"k\",\"value\":9}", "{\"ok\":true}");
    cr_assert_str_eq(st_releases(&t), "1 2 3");
    st_expect(&t, 5, 0, "{\"f\":\"delete\",\"key\":\"k\"}", "{\"ok\":true}");
    cr_assert_str_eq(st_releases(&t), "1 2 3 4 5");
    st_expect(&t, 6, 0, "{\"f\":\"delete\",\"key\":\"k\"}", "{\"ok\":true}");
    cr_assert_str_eq(st_releases(&t), "1 2 3 4 5 6", "deleting an absent key releases itself");
    st_expect(&t, 7, 0, "{\"f\":\"read\",\"key\":\"k\"}", "{\"ok\":true,\"value\":null}");
    cr_assert_str_eq(st_snapshot(&t), "{\"keys\":[],\"sm\":\"kv\",\"watches\":[]}");
    st_close(&t);
}

Test(node_sm_kv, watchers_get_events_in_session_order_for_writes_cas_and_deletes)
{
    struct sm_test t;
    st_open(&t, "kv");
    st_expect(&t, 1, 9, "{\"f\":\"watch\",\"key\":\"k\"}", "{\"ok\":true}");
    st_expect(&t, 2, 3, "{\"f\":\"watch\",\"key\":\"k\"}", "{\"ok\":true}");
    st_expect(&t, 3, 5, "{\"f\":\"watch\",\"key\":\"other\"}", "{\"ok\":true}");
    st_expect(&t, 4, 3, "{\"f\":\"watch\",\"key\":\"k\"}", "{\"ok\":true}");
    cr_assert_str_eq(st_releases(&t), "4", "a duplicate watch releases itself");
    cr_assert_eq(json_array_size(t.events), 0);
    st_expect(&t, 5, 1, "{\"f\":\"write\",\"key\":\"k\",\"value\":\"a\"}", "{\"ok\":true}");
    st_expect(&t, 6, 1, "{\"f\":\"cas\",\"key\":\"k\",\"value\":[\"x\",\"b\"]}",
              "{\"error\":\"cas_mismatch\",\"ok\":false}");
    st_expect(&t, 7, 1, "{\"f\":\"cas\",\"key\":\"k\",\"value\":[\"a\",\"b\"]}", "{\"ok\":true}");
    st_expect(&t, 8, 1, "{\"f\":\"delete\",\"key\":\"k\"}", "{\"ok\":true}");
    st_expect(&t, 9, 1, "{\"f\":\"delete\",\"key\":\"k\"}", "{\"ok\":true}");
    char *events = st_text(t.events);
    cr_assert_str_eq(events, "["
                             "[3,{\"f\":\"write\",\"index\":5,\"key\":\"k\",\"value\":\"a\"}],"
                             "[9,{\"f\":\"write\",\"index\":5,\"key\":\"k\",\"value\":\"a\"}],"
                             "[3,{\"f\":\"cas\",\"index\":7,\"key\":\"k\",\"value\":\"b\"}],"
                             "[9,{\"f\":\"cas\",\"index\":7,\"key\":\"k\",\"value\":\"b\"}],"
                             "[3,{\"f\":\"delete\",\"index\":8,\"key\":\"k\",\"value\":null}],"
                             "[9,{\"f\":\"delete\",\"index\":8,\"key\":\"k\",\"value\":null}]]");
    free(events);
    /* Watches survive the delete: the key entry is kept for them. */
    cr_assert_str_eq(st_snapshot(&t), "{\"keys\":[],\"sm\":\"kv\",\"watches\":"
                                      "[[3,\"k\",2],[5,\"other\",3],[9,\"k\",1]]}");
    st_forget(&t);
    st_expect(&t, 10, 9, "{\"f\":\"unwatch\",\"key\":\"k\"}", "{\"ok\":true}");
    cr_assert_str_eq(st_releases(&t), "1 10", "unwatch releases the watch and itself");
    st_expect(&t, 11, 9, "{\"f\":\"unwatch\",\"key\":\"k\"}", "{\"ok\":true}");
    st_expect(&t, 12, 1, "{\"f\":\"write\",\"key\":\"k\",\"value\":1}", "{\"ok\":true}");
    cr_assert_eq(json_array_size(t.events), 1, "only session 3 still watches k");
    cr_assert_eq(json_integer_value(json_array_get(json_array_get(t.events, 0), 0)), 3);
    st_close(&t);
}

Test(node_sm_kv, closing_a_session_drops_its_watches_and_releases_them_in_index_order)
{
    struct sm_test t;
    st_open(&t, "kv");
    st_expect(&t, 10, 4, "{\"f\":\"watch\",\"key\":\"c\"}", "{\"ok\":true}");
    st_expect(&t, 11, 4, "{\"f\":\"watch\",\"key\":\"a\"}", "{\"ok\":true}");
    st_expect(&t, 12, 5, "{\"f\":\"watch\",\"key\":\"a\"}", "{\"ok\":true}");
    st_expect(&t, 13, 4, "{\"f\":\"watch\",\"key\":\"b\"}", "{\"ok\":true}");
    st_expect(&t, 14, 4, "{\"f\":\"unwatch\",\"key\":\"a\"}", "{\"ok\":true}");
    st_expect(&t, 15, 4, "{\"f\":\"watch\",\"key\":\"a\"}", "{\"ok\":true}");
    st_forget(&t);
    sm_session_closed(&t.sm, &t.ctx, 4);
    cr_assert_str_eq(st_releases(&t), "10 13 15");
    sm_session_closed(&t.sm, &t.ctx, 4);
    sm_session_closed(&t.sm, &t.ctx, 77);
    cr_assert_eq(t.nreleased, 3, "closing again or an unknown session does nothing");
    cr_assert_str_eq(st_snapshot(&t), "{\"keys\":[],\"sm\":\"kv\",\"watches\":[[5,\"a\",12]]}");
    st_expect(&t, 16, 1, "{\"f\":\"write\",\"key\":\"c\",\"value\":1}", "{\"ok\":true}");
    cr_assert_eq(json_array_size(t.events), 0, "no event for a closed session");
    st_close(&t);
}

Test(node_sm_kv, malformed_ops_get_bad_request_results_and_release_themselves)
{
    struct sm_test t;
    st_open(&t, "kv");
    static const char *const bad[] = {
        "[1,2]",
        "{\"key\":\"k\"}",
        "{\"f\":3,\"key\":\"k\"}",
        "{\"f\":\"frobnicate\",\"key\":\"k\"}",
        "{\"f\":\"read\"}",
        "{\"f\":\"write\",\"key\":[1],\"value\":1}",
        "{\"f\":\"write\",\"key\":1.5,\"value\":1}",
        "{\"f\":\"write\",\"key\":\"k\"}",
        "{\"f\":\"cas\",\"key\":\"k\",\"value\":1}",
        "{\"f\":\"cas\",\"key\":\"k\",\"value\":[1,2,3]}",
        "{\"f\":\"watch\",\"key\":\"k\"}",
        "{\"f\":\"unwatch\",\"key\":\"k\"}",
        "null",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *res = st_apply(&t, i + 1, 0, bad[i]);
        cr_assert(json_is_false(json_object_get(res, "ok")), "%s is refused", bad[i]);
        cr_assert_str_eq(json_string_value(json_object_get(res, "error")), "bad_request", "%s",
                         bad[i]);
        cr_assert(json_is_string(json_object_get(res, "message")), "%s has a message", bad[i]);
        json_decref(res);
        cr_assert(st_released(&t, i + 1), "%s releases itself", bad[i]);
    }
    json_t *res = st_apply(&t, 100, 0, "{\"f\":\"write\",\"key\":\"k\"}");
    cr_assert_str_eq(json_string_value(json_object_get(res, "message")), "value: missing");
    json_decref(res);
    cr_assert_str_eq(st_snapshot(&t), "{\"keys\":[],\"sm\":\"kv\",\"watches\":[]}");
    st_close(&t);
}

Test(node_sm_kv, keys_values_and_watches_are_bounded)
{
    struct sm_test t;
    st_open(&t, "kv");
    char key[SM_KEY_MAX + 2];
    memset(key, 'k', sizeof key);
    key[SM_KEY_MAX] = '\0';
    json_t *op = json_pack("{s:s,s:s,s:i}", "f", "write", "key", key, "value", 1);
    json_t *res = st_apply_json(&t, 1, 0, op);
    cr_assert(json_is_true(json_object_get(res, "ok")), "256-byte key accepted");
    json_decref(res);
    json_decref(op);
    key[SM_KEY_MAX] = 'k';
    key[SM_KEY_MAX + 1] = '\0';
    op = json_pack("{s:s,s:s,s:i}", "f", "write", "key", key, "value", 1);
    res = st_apply_json(&t, 2, 0, op);
    cr_assert_str_eq(json_string_value(json_object_get(res, "error")), "too_large");
    json_decref(res);
    json_decref(op);

    char *big = malloc(SM_VALUE_MAX);
    memset(big, 'v', SM_VALUE_MAX - 1);
    big[SM_VALUE_MAX - 3] = '\0'; /* with its quotes: exactly SM_VALUE_MAX - 1 bytes */
    op = json_pack("{s:s,s:s,s:s}", "f", "write", "key", "k", "value", big);
    res = st_apply_json(&t, 3, 0, op);
    cr_assert(json_is_true(json_object_get(res, "ok")));
    json_decref(res);
    json_decref(op);
    memset(big, 'v', SM_VALUE_MAX - 1);
    big[SM_VALUE_MAX - 1] = '\0'; /* SM_VALUE_MAX + 1 bytes encoded */
    op = json_pack("{s:s,s:s,s:s}", "f", "write", "key", "k", "value", big);
    res = st_apply_json(&t, 4, 0, op);
    cr_assert_str_eq(json_string_value(json_object_get(res, "error")), "too_large");
    json_decref(res);
    json_decref(op);
    free(big);
    cr_assert_str_eq(st_releases(&t), "2 4");

    uint64_t index = 10;
    for (int i = 0; i < SM_WATCHES_MAX; i++) {
        op = json_pack("{s:s,s:i}", "f", "watch", "key", i);
        res = st_apply_json(&t, index++, 42, op);
        cr_assert(json_is_true(json_object_get(res, "ok")));
        json_decref(res);
        json_decref(op);
    }
    op = json_pack("{s:s,s:i}", "f", "watch", "key", SM_WATCHES_MAX);
    res = st_apply_json(&t, index, 42, op);
    cr_assert_str_eq(json_string_value(json_object_get(res, "error")), "too_large");
    cr_assert(st_released(&t, index));
    json_decref(res);
    res = st_apply_json(&t, index + 1, 43, op);
    cr_assert(json_is_true(json_object_get(res, "ok")), "the bound is per session");
    json_decref(res);
    json_decref(op);
    st_round_trip(&t, "kv");
    st_close(&t);
}

Test(node_sm_kv, queries_answer_reads_and_refuse_commands)
{
    struct sm_test t;
    st_open(&t, "kv");
    st_expect(&t, 1, 0, "{\"f\":\"put\",\"key\":\"k\",\"value\":[1]}", "{\"ok\":true}");
    st_query(&t, "{\"f\":\"get\",\"key\":\"k\"}", "{\"ok\":true,\"value\":[1]}");
    st_query(&t, "{\"f\":\"read\"}",
             "{\"error\":\"bad_request\",\"message\":\"key: missing\",\"ok\":false}");
    static const char *const cmds[] = {"{\"f\":\"write\",\"key\":\"k\",\"value\":2}",
                                       "{\"f\":\"cas\",\"key\":\"k\",\"value\":[1,2]}",
                                       "{\"f\":\"watch\",\"key\":\"k\"}", "{\"f\":7}", "3"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        json_t *op = json_loads(cmds[i], JSON_DECODE_ANY, NULL), *res = NULL;
        cr_assert_not(sm_is_read_only(&t.sm, op), "%s", cmds[i]);
        cr_assert_eq(sm_query(&t.sm, op, &res), FL_EUSAGE, "%s", cmds[i]);
        cr_assert_null(res);
        json_decref(op);
    }
    st_query(&t, "{\"f\":\"get\",\"key\":\"k\"}", "{\"ok\":true,\"value\":[1]}");
    st_close(&t);
}

Test(node_sm_kv, snapshot_restore_round_trip_is_byte_equal_and_keeps_release_indices)
{
    struct sm_test t;
    st_open(&t, "kv");
    st_expect(&t, 1, 0, "{\"f\":\"write\",\"key\":\"b\",\"value\":{\"z\":1,\"a\":[true,null]}}",
              "{\"ok\":true}");
    st_expect(&t, 2, 0, "{\"f\":\"write\",\"key\":3,\"value\":\"three\"}", "{\"ok\":true}");
    st_expect(&t, 3, 0, "{\"f\":\"cas\",\"key\":3,\"value\":[\"three\",1.5]}", "{\"ok\":true}");
    st_expect(&t, 4, 0, "{\"f\":\"write\",\"key\":\"n\",\"value\":null}", "{\"ok\":true}");
    st_expect(&t, 5, 7, "{\"f\":\"watch\",\"key\":\"b\"}", "{\"ok\":true}");
    st_expect(&t, 6, 2, "{\"f\":\"watch\",\"key\":\"zz\"}", "{\"ok\":true}");
    const char *expect =
        "{\"keys\":[[\"b\",{\"a\":[true,null],\"z\":1},[1]],"
        "[\"n\",null,[4]],[3,1.5,[2,3]]],\"sm\":\"kv\",\"watches\":[[2,\"zz\",6],[7,\"b\",5]]}";
    cr_assert_str_eq(st_snapshot(&t), expect);
    st_round_trip(&t, "kv");

    struct sm_test u;
    st_open(&u, "kv");
    cr_assert_eq(sm_restore(&u.sm, expect, strlen(expect), u.errmsg), 0, "%s", u.errmsg);
    st_expect(&u, 7, 0, "{\"f\":\"write\",\"key\":3,\"value\":0}", "{\"ok\":true}");
    cr_assert_str_eq(st_releases(&u), "2 3", "the restored chain is released");
    st_expect(&u, 8, 0, "{\"f\":\"write\",\"key\":\"b\",\"value\":0}", "{\"ok\":true}");
    cr_assert_eq(json_array_size(u.events), 1, "the restored watch fires");
    sm_session_closed(&u.sm, &u.ctx, 2);
    cr_assert_str_eq(st_releases(&u), "2 3 1 6");
    st_close(&u);
    st_close(&t);
}

Test(node_sm_kv, restore_refuses_garbage_and_keeps_the_live_state)
{
    struct sm_test t;
    st_open(&t, "kv");
    st_expect(&t, 1, 0, "{\"f\":\"write\",\"key\":\"k\",\"value\":1}", "{\"ok\":true}");
    st_expect(&t, 2, 8, "{\"f\":\"watch\",\"key\":\"k\"}", "{\"ok\":true}");
    static const char *const garbage[] = {
        "",
        "not json",
        "{\"keys\":[],\"sm\":\"kv\",\"watches\":[]",
        "[]",
        "{\"keys\":[],\"sm\":\"set\",\"watches\":[]}",
        "{\"keys\":[],\"sm\":\"kv\"}",
        "{\"keys\":[],\"sm\":\"kv\",\"watches\":[],\"extra\":1}",
        "{\"keys\":{},\"sm\":\"kv\",\"watches\":[]}",
        "{\"keys\":[[\"a\",1]],\"sm\":\"kv\",\"watches\":[]}",
        "{\"keys\":[[\"a\",1,[]]],\"sm\":\"kv\",\"watches\":[]}",
        "{\"keys\":[[\"a\",1,[3,2]]],\"sm\":\"kv\",\"watches\":[]}",
        "{\"keys\":[[\"a\",1,[0]]],\"sm\":\"kv\",\"watches\":[]}",
        "{\"keys\":[[\"a\",1,[\"x\"]]],\"sm\":\"kv\",\"watches\":[]}",
        "{\"keys\":[[\"a\",1,[1]],[\"a\",2,[2]]],\"sm\":\"kv\",\"watches\":[]}",
        "{\"keys\":[[[1],1,[1]]],\"sm\":\"kv\",\"watches\":[]}",
        "{\"keys\":[],\"sm\":\"kv\",\"watches\":[[0,\"a\",1]]}",
        "{\"keys\":[],\"sm\":\"kv\",\"watches\":[[1,\"a\"]]}",
        "{\"keys\":[],\"sm\":\"kv\",\"watches\":[[1,\"a\",1],[1,\"a\",2]]}",
        "{\"keys\":[],\"sm\":\"kv\",\"watches\":[[1,null,1]]}",
        "{\"keys\":[],\"keys\":[],\"sm\":\"kv\",\"watches\":[]}",
    };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
        st_restore_refused(&t, garbage[i]);
    /* A long key in a snapshot is refused like one in an op. */
    char *longkey = malloc(SM_KEY_MAX + 100);
    memset(longkey, 'x', SM_KEY_MAX + 99);
    longkey[SM_KEY_MAX + 99] = '\0';
    json_t *snap =
        json_pack("{s:s,s:[[s,i,[i]]],s:[]}", "sm", "kv", "keys", longkey, 1, 1, "watches");
    char *text = json_dumps(snap, JSON_COMPACT);
    st_restore_refused(&t, text);
    free(text);
    json_decref(snap);
    free(longkey);
    st_expect(&t, 3, 0, "{\"f\":\"write\",\"key\":\"k\",\"value\":2}", "{\"ok\":true}");
    cr_assert_eq(json_array_size(t.events), 1, "the live watch still fires");
    st_close(&t);
}

Test(node_sm_kv, equal_states_reached_in_different_orders_have_equal_snapshots)
{
    struct sm_test a, b;
    st_open(&a, "kv");
    st_open(&b, "kv");
    st_expect(&a, 1, 0, "{\"f\":\"write\",\"key\":\"x\",\"value\":{\"p\":1,\"q\":2}}",
              "{\"ok\":true}");
    st_expect(&a, 2, 0, "{\"f\":\"write\",\"key\":\"y\",\"value\":2}", "{\"ok\":true}");
    st_expect(&b, 2, 0, "{\"f\":\"write\",\"key\":\"y\",\"value\":2}", "{\"ok\":true}");
    st_expect(&b, 1, 0, "{\"f\":\"write\",\"key\":\"x\",\"value\":{\"q\":2,\"p\":1}}",
              "{\"ok\":true}");
    char *sa = st_snapshot_dup(&a);
    cr_assert_str_eq(sa, st_snapshot(&b));
    free(sa);
    st_close(&a);
    st_close(&b);
}

/* Applies `op` with allocations failing after n; on FL_ENOMEM the state and
 * the release/event records must be untouched. Returns true once it succeeds. */
static bool apply_under_failure(struct sm_test *t, long n, uint64_t index, uint64_t session,
                                const char *optext)
{
    json_t *op = json_loads(optext, 0, NULL), *res = NULL;
    char *before = st_snapshot_dup(t);
    size_t nrel = t->nreleased, nev = json_array_size(t->events);
    fl_alloc_fail_after(n);
    int rc = sm_apply(&t->sm, &t->ctx, index, session, op, &res);
    fl_alloc_fail_reset();
    json_decref(op);
    if (rc == FL_ENOMEM) {
        cr_assert_null(res);
        cr_assert_str_eq(st_snapshot(t), before, "%s failing after %ld: state unchanged", optext,
                         n);
        cr_assert_eq(t->nreleased, nrel, "no release reported");
        cr_assert_eq(json_array_size(t->events), nev, "no event published");
        free(before);
        return false;
    }
    cr_assert_eq(rc, 0);
    cr_assert(json_is_object(res));
    json_decref(res);
    free(before);
    return true;
}

Test(node_sm_kv, allocation_failures_leave_the_state_unchanged)
{
    static const char *const ops[] = {
        "{\"f\":\"write\",\"key\":\"new\",\"value\":[1,2]}",
        "{\"f\":\"write\",\"key\":\"w\",\"value\":5}",
        "{\"f\":\"cas\",\"key\":\"w\",\"value\":[1,2]}",
        "{\"f\":\"delete\",\"key\":\"w\"}",
        "{\"f\":\"watch\",\"key\":\"fresh\"}",
        "{\"f\":\"watch\",\"key\":\"w\"}",
        "{\"f\":\"unwatch\",\"key\":\"w\"}",
        "{\"f\":\"read\",\"key\":\"w\"}",
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        bool done = false;
        for (long n = 0; n < 64 && !done; n++) {
            struct sm_test t;
            st_open(&t, "kv");
            st_expect(&t, 1, 0, "{\"f\":\"write\",\"key\":\"w\",\"value\":1}", "{\"ok\":true}");
            st_expect(&t, 2, 3, "{\"f\":\"watch\",\"key\":\"w\"}", "{\"ok\":true}");
            st_expect(&t, 3, 4, "{\"f\":\"watch\",\"key\":\"w\"}", "{\"ok\":true}");
            done = apply_under_failure(&t, n, 10, 3, ops[i]);
            st_close(&t);
        }
        cr_assert(done, "%s succeeds once allocations do", ops[i]);
    }
}

Test(node_sm_kv, restore_under_allocation_failure_keeps_the_live_state)
{
    const char *snap = "{\"keys\":[[\"a\",1,[1,2]],[\"b\",[2],[3]]],\"sm\":\"kv\","
                       "\"watches\":[[1,\"a\",4],[2,\"c\",5]]}";
    bool done = false;
    for (long n = 0; n < 64 && !done; n++) {
        struct sm_test t;
        st_open(&t, "kv");
        st_expect(&t, 1, 9, "{\"f\":\"watch\",\"key\":\"w\"}", "{\"ok\":true}");
        char *before = st_snapshot_dup(&t);
        fl_alloc_fail_after(n);
        int rc = sm_restore(&t.sm, snap, strlen(snap), t.errmsg);
        fl_alloc_fail_reset();
        if (rc == 0) {
            cr_assert_str_eq(st_snapshot(&t), snap);
            done = true;
        } else {
            cr_assert_eq(rc, FL_ENOMEM, "%s", t.errmsg);
            cr_assert_str_eq(st_snapshot(&t), before);
        }
        free(before);
        st_close(&t);
    }
    cr_assert(done);
}

Test(node_sm_kv, session_close_and_queries_of_absent_state_need_no_allocation)
{
    struct sm_test t;
    st_open(&t, "kv");
    st_expect(&t, 1, 6, "{\"f\":\"watch\",\"key\":\"a\"}", "{\"ok\":true}");
    st_expect(&t, 2, 6, "{\"f\":\"watch\",\"key\":\"b\"}", "{\"ok\":true}");
    fl_alloc_fail_after(0);
    sm_session_closed(&t.sm, &t.ctx, 6);
    fl_alloc_fail_reset();
    cr_assert_str_eq(st_releases(&t), "1 2");
    cr_assert_str_eq(st_snapshot(&t), "{\"keys\":[],\"sm\":\"kv\",\"watches\":[]}");
    st_close(&t);
}

Test(node_sm_kv, snapshot_under_allocation_failure_reports_it_and_changes_nothing)
{
    struct sm_test t;
    st_open(&t, "kv");
    st_expect(&t, 1, 0, "{\"f\":\"write\",\"key\":\"a\",\"value\":1}", "{\"ok\":true}");
    st_expect(&t, 2, 0, "{\"f\":\"cas\",\"key\":\"a\",\"value\":[1,2]}", "{\"ok\":true}");
    st_expect(&t, 3, 5, "{\"f\":\"watch\",\"key\":\"a\"}", "{\"ok\":true}");
    st_expect(&t, 4, 2, "{\"f\":\"watch\",\"key\":\"b\"}", "{\"ok\":true}");
    char *expect = st_snapshot_dup(&t);
    bool done = false;
    for (long n = 0; n < 32 && !done; n++) {
        struct fl_buf out;
        fl_buf_init(&out);
        fl_alloc_fail_after(n);
        int rc = sm_snapshot(&t.sm, &out);
        fl_alloc_fail_reset();
        if (rc == 0) {
            cr_assert_str_eq(fl_buf_cstr(&out), expect);
            done = true;
        } else {
            cr_assert_eq(rc, FL_ENOMEM);
        }
        fl_buf_free(&out);
        cr_assert_str_eq(st_snapshot(&t), expect);
    }
    cr_assert(done);
    free(expect);
    st_close(&t);
}
