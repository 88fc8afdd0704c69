/* test_model_register.c - the register model and the kv model built on it,
 * driven through their vtables. */
#include "common/alloc.h"
#include "support/model_test.h"
#include <stdio.h>
#include <string.h>

Test(checker_model_register, write_read_cas)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "register", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m), next;
    cr_assert_str_eq(mt_state(&t, s), "nil");
    struct checker_op w = mt_ok(&t, "write", json_integer(3));
    struct checker_op r3 = mt_ok(&t, "read", json_integer(3));
    struct checker_op r4 = mt_ok(&t, "read", json_integer(4));
    struct checker_op cas = mt_ok(&t, "cas", json_pack("[ii]", 3, 4));
    cr_assert_not(mt_step(&t, s, &r3, &next), "nothing written yet");
    s = mt_must(&t, s, &w);
    cr_assert_eq(mt_must(&t, s, &r3), s, "a read leaves the state alone");
    cr_assert_not(mt_step(&t, s, &r4, &next));
    s = mt_must(&t, s, &cas);
    cr_assert_str_eq(mt_state(&t, s), "4");
    mt_must(&t, s, &r4);
    cr_assert_not(mt_step(&t, s, &cas, &next), "cas 3->4 needs 3");
    cr_assert_str_eq(mt_op(&t, &cas), "cas [3 4]");
    mt_destroy(&t);
}

Test(checker_model_register, values_of_any_json_shape)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "register", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m);
    struct checker_op w = mt_ok(&t, "write", json_pack("{s:[i,s]}", "a", 1, "x"));
    struct checker_op r = mt_ok(&t, "read", json_pack("{s:[i,s]}", "a", 1, "x"));
    s = mt_must(&t, s, &w);
    mt_must(&t, s, &r);
    mt_destroy(&t);
}

Test(checker_model_register, nil_reads)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "register", NULL, true), 0);
    cr_assert_eq(mt_prepare(&t, "read", NULL, FL_EVENT_OK, &op), CHECKER_PREPARE_DROP,
                 "nil_read_any (Knossos): a nil read constrains nothing");
    cr_assert_eq(mt_prepare(&t, "read", json_integer(1), FL_EVENT_INFO, &op), CHECKER_PREPARE_DROP,
                 "an unobserved read constrains nothing");
    mt_destroy(&t);

    cr_assert_eq(mt_create(&t, "register", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m), next;
    struct checker_op r = mt_ok(&t, "read", NULL);
    struct checker_op w = mt_ok(&t, "write", json_integer(1));
    mt_must(&t, s, &r);
    cr_assert_not(mt_step(&t, mt_must(&t, s, &w), &r, &next), "strict: nil means absent");
    mt_destroy(&t);
}

Test(checker_model_register, initial_value)
{
    struct model_test t;
    json_t *zero = json_integer(0);
    cr_assert_eq(mt_create(&t, "register", zero, false), 0);
    struct checker_op r = mt_ok(&t, "read", json_integer(0));
    mt_must(&t, t.m.ops->init(&t.m), &r);
    mt_destroy(&t);
    json_decref(zero);
}

Test(checker_model_register, bad_shapes)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "register", NULL, false), 0);
    cr_assert_eq(mt_prepare(&t, "cas", json_integer(5), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert_str_eq(t.errmsg, "value: cas expects [old new]");
    cr_assert_eq(mt_prepare(&t, "cas", json_pack("[iii]", 1, 2, 3), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert_eq(mt_prepare(&t, "put", json_integer(1), FL_EVENT_OK, &op), FL_ESHAPE,
                 "put is a kv spelling only");
    cr_assert(strstr(t.errmsg, "f: \"put\" is not an operation of the register model"), "%s",
              t.errmsg);
    mt_destroy(&t);
}

Test(checker_model_kv, both_spellings_and_append)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "kv", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m), next;
    struct checker_op put = mt_ok(&t, "put", json_string("a"));
    struct checker_op app = mt_ok(&t, "append", json_string("b"));
    struct checker_op app1 = mt_ok(&t, "append", json_pack("[s]", "c"));
    struct checker_op get = mt_ok(&t, "get", json_string("abc"));
    struct checker_op read = mt_ok(&t, "read", json_string("abc"));
    struct checker_op write = mt_ok(&t, "write", json_integer(7));
    s = mt_must(&t, s, &put);
    s = mt_must(&t, s, &app);
    s = mt_must(&t, s, &app1);
    cr_assert_str_eq(mt_state(&t, s), "\"abc\"");
    mt_must(&t, s, &get);
    mt_must(&t, s, &read);
    s = mt_must(&t, s, &write);
    cr_assert_not(mt_step(&t, s, &app, &next), "appending to an integer is illegal");
    cr_assert_not(t.m.oom, "illegal, not out of memory");
    mt_destroy(&t);
}

/* Appends concatenate the atoms' JSON texts directly (no decode/encode);
 * escapes, non-ASCII text and long values must come out as the value a get
 * of the whole string names. */
Test(checker_model_kv, append_concatenates_escaped_and_long_strings)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "kv", NULL, false), 0);
    uint64_t s = t.m.ops->init(&t.m);
    struct checker_op put = mt_ok(&t, "put", json_string("a\\\"q\n"));
    struct checker_op app = mt_ok(&t, "append", json_string("\"\u00e9\t/"));
    char big[700];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    struct checker_op app_big = mt_ok(&t, "append", json_string(big));
    s = mt_must(&t, s, &put);
    s = mt_must(&t, s, &app);
    struct checker_op get = mt_ok(&t, "get", json_string("a\\\"q\n\"\u00e9\t/"));
    mt_must(&t, s, &get);
    s = mt_must(&t, s, &app_big);
    char want[800];
    snprintf(want, sizeof want, "a\\\"q\n\"\u00e9\t/%s", big);
    struct checker_op get_big = mt_ok(&t, "get", json_string(want));
    mt_must(&t, s, &get_big);
    cr_assert_not(t.m.oom);
    mt_destroy(&t);
}

Test(checker_model_kv, append_to_nothing_starts_a_string)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "kv", NULL, false), 0);
    struct checker_op app = mt_ok(&t, "append", json_string("x"));
    struct checker_op get = mt_ok(&t, "get", json_string("x"));
    mt_must(&t, mt_must(&t, t.m.ops->init(&t.m), &app), &get);
    struct checker_op op;
    cr_assert_eq(mt_prepare(&t, "append", json_integer(1), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert_str_eq(t.errmsg, "value: append expects a string");
    mt_destroy(&t);
}

/* An append that runs out of memory must say so (m->oom, the search then
 * reports unknown), never pass for an illegal step: that would be a wrong
 * `invalid`. */
Test(checker_model_kv, allocation_failures_are_reported_not_taken_for_illegal)
{
    bool clean = false;
    for (long n = 0; !clean && n < 10000; n++) {
        struct model_test t;
        fl_alloc_fail_after(n);
        int rc = mt_create(&t, "kv", NULL, false);
        if (rc != 0) {
            cr_assert_eq(rc, FL_ENOMEM);
            fl_alloc_fail_reset();
            fl_buf_free(&t.text);
            continue;
        }
        uint64_t s = t.m.ops->init(&t.m);
        clean = true;
        for (int i = 0; i < 20 && clean; i++) {
            struct checker_op op;
            char piece[8];
            snprintf(piece, sizeof piece, "%c", 'a' + i);
            rc = mt_prepare(&t, "append", json_string(piece), FL_EVENT_OK, &op);
            if (rc != 0) {
                cr_assert_eq(rc, FL_ENOMEM, "%s", t.errmsg);
                clean = false;
            } else if (!t.m.ops->step(&t.m, s, &op, &s)) {
                cr_assert(t.m.oom, "n=%ld step %d: illegal without running out of memory", n, i);
                clean = false;
            }
        }
        fl_alloc_fail_reset();
        if (clean)
            cr_assert_str_eq(mt_state(&t, s), "\"abcdefghijklmnopqrst\"");
        mt_destroy(&t);
    }
    cr_assert(clean);
}
