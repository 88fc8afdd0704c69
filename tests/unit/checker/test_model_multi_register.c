/* test_model_multi_register.c - the multi-register model through its vtable. */
#include "support/model_test.h"

#include "common/alloc.h"

static json_t *txn1(const char *f, const char *k, json_t *v)
{
    return json_pack("[[sso]]", f, k, v ? v : json_null());
}

Test(checker_model_multi_register, object_initial_and_txn)
{
    struct model_test t;
    json_t *init = json_pack("{sisi}", "x", 0, "y", 0);
    cr_assert_eq(mt_create(&t, "multi-register", init, false), 0);
    uint64_t s = t.m.ops->init(&t.m), next;
    cr_assert_str_eq(mt_state(&t, s), "{x 0, y 0}");
    struct checker_op w =
        mt_ok(&t, "txn", json_pack("[[ssi][ssi]]", "read", "x", 0, "write", "y", 2));
    cr_assert_str_eq(mt_op(&t, &w), "txn [[r x 0] [w y 2]]");
    s = mt_must(&t, s, &w);
    cr_assert_str_eq(mt_state(&t, s), "{x 0, y 2}");
    struct checker_op r_ok =
        mt_ok(&t, "txn", json_pack("[[ssi][ssi]]", "read", "y", 2, "read", "x", 0));
    struct checker_op r_bad = mt_ok(&t, "txn", json_pack("[[ssi]]", "read", "y", 0));
    cr_assert_eq(mt_must(&t, s, &r_ok), s);
    cr_assert_not(mt_step(&t, s, &r_bad, &next));
    mt_destroy(&t);
    json_decref(init);
}

Test(checker_model_multi_register, reads_see_earlier_writes_of_the_txn)
{
    struct model_test t;
    cr_assert_eq(mt_create(&t, "multi-register", NULL, false), 0);
    uint64_t next;
    struct checker_op ok = mt_ok(&t, "txn", json_pack("[[ssi][ssi]]", "w", "x", 5, "r", "x", 5));
    struct checker_op bad = mt_ok(&t, "txn", json_pack("[[ssi][ssi]]", "r", "x", 5, "w", "x", 5));
    uint64_t s = mt_must(&t, t.m.ops->init(&t.m), &ok);
    cr_assert_str_eq(mt_state(&t, s), "{x 5}");
    cr_assert_not(mt_step(&t, t.m.ops->init(&t.m), &bad, &next));
    mt_destroy(&t);
}

Test(checker_model_multi_register, nil_reads)
{
    struct model_test t;
    struct checker_op op;
    uint64_t next;
    /* Without nil_read_any an ok nil read must find nil: unnamed registers
     * start at nil. */
    json_t *init = json_pack("{si}", "x", 0);
    cr_assert_eq(mt_create(&t, "multi-register", init, false), 0);
    uint64_t s0 = t.m.ops->init(&t.m);
    struct checker_op rz = mt_ok(&t, "txn", txn1("read", "z", NULL));
    mt_must(&t, s0, &rz);
    struct checker_op rx = mt_ok(&t, "txn", txn1("read", "x", NULL));
    cr_assert_not(mt_step(&t, s0, &rx, &next), "x holds 0, not nil");
    /* A crashed transaction's reads are unknown: a read-only one is dropped,
     * one with writes keeps only its writes. */
    cr_assert_eq(mt_prepare(&t, "txn", txn1("read", "x", json_integer(9)), FL_EVENT_INFO, &op),
                 CHECKER_PREPARE_DROP);
    cr_assert_eq(mt_prepare(&t, "txn", json_pack("[[ssi][ssi]]", "read", "x", 9, "write", "x", 1),
                            FL_EVENT_INFO, &op),
                 0);
    cr_assert_eq(op.nxs, 3);
    cr_assert_str_eq(mt_state(&t, mt_must(&t, s0, &op)), "{x 1}");
    mt_destroy(&t);
    /* With nil_read_any an ok nil read is always legal (dropped). */
    cr_assert_eq(mt_create(&t, "multi-register", init, true), 0);
    cr_assert_eq(mt_prepare(&t, "txn", txn1("read", "x", NULL), FL_EVENT_OK, &op),
                 CHECKER_PREPARE_DROP);
    mt_destroy(&t);
    json_decref(init);
}

Test(checker_model_multi_register, scalar_initial_applies_to_every_register)
{
    struct model_test t;
    json_t *init = json_integer(0);
    cr_assert_eq(mt_create(&t, "multi-register", init, false), 0);
    uint64_t s = t.m.ops->init(&t.m);
    struct checker_op r = mt_ok(&t, "txn", json_pack("[[ssi][ssi]]", "r", "a", 0, "r", "b", 0));
    mt_must(&t, s, &r);
    cr_assert_str_eq(mt_state(&t, s), "{} (others 0)");
    mt_destroy(&t);
    json_decref(init);
}

Test(checker_model_multi_register, canonical_states)
{
    struct model_test t;
    json_t *init = json_pack("{si}", "x", 0);
    cr_assert_eq(mt_create(&t, "multi-register", init, false), 0);
    uint64_t s0 = t.m.ops->init(&t.m);
    struct checker_op wx1 = mt_ok(&t, "txn", txn1("write", "x", json_integer(1)));
    struct checker_op wx0 = mt_ok(&t, "txn", txn1("write", "x", json_integer(0)));
    struct checker_op wy1 = mt_ok(&t, "txn", txn1("write", "y", json_integer(1)));
    struct checker_op wyn = mt_ok(&t, "txn", txn1("write", "y", NULL));
    cr_assert_eq(mt_must(&t, mt_must(&t, s0, &wx1), &wx0), s0, "back to the initial value");
    cr_assert_eq(mt_must(&t, mt_must(&t, s0, &wy1), &wyn), s0, "y back to nil");
    uint64_t a = mt_must(&t, mt_must(&t, s0, &wx1), &wy1);
    uint64_t b = mt_must(&t, mt_must(&t, s0, &wy1), &wx1);
    cr_assert_eq(a, b);
    cr_assert(t.m.ops->equal(&t.m, a, b));
    cr_assert_eq(t.m.ops->hash(&t.m, a), t.m.ops->hash(&t.m, b));
    cr_assert_str_eq(mt_state(&t, a), "{x 1, y 1}");
    mt_destroy(&t);
    json_decref(init);
}

Test(checker_model_multi_register, integer_named_initial_keys)
{
    /* EDN {1 0} imports as {"1": 0}: the name stands for integer key 1. */
    struct model_test t;
    json_t *init = json_pack("{si}", "1", 3);
    cr_assert_eq(mt_create(&t, "multi-register", init, false), 0);
    struct checker_op r = mt_ok(&t, "txn", json_pack("[[sii]]", "read", 1, 3));
    mt_must(&t, t.m.ops->init(&t.m), &r);
    mt_destroy(&t);
    json_decref(init);
}

Test(checker_model_multi_register, bad_shapes)
{
    struct model_test t;
    struct checker_op op;
    cr_assert_eq(mt_create(&t, "multi-register", NULL, false), 0);
    cr_assert_eq(mt_prepare(&t, "txn", json_integer(1), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert_str_eq(t.errmsg, "value: txn expects a list of [f k v] micro-ops");
    cr_assert_eq(mt_prepare(&t, "txn", json_pack("[[ssi]]", "cas", "x", 1), FL_EVENT_OK, &op),
                 FL_ESHAPE);
    cr_assert_str_eq(t.errmsg, "value: micro-op 0: \"cas\" is not read or write");
    cr_assert_eq(mt_prepare(&t, "txn", json_pack("[[ss]]", "write", "x"), FL_EVENT_OK, &op),
                 FL_ESHAPE);
    cr_assert_eq(mt_prepare(&t, "txn", json_pack("[i]", 4), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert_eq(mt_prepare(&t, "cas", json_array(), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert(strncmp(t.errmsg, "f: ", 3) == 0, "%s", t.errmsg);
    /* Jepsen's read/write beside txn (issue 14): micro-ops, a map, or [k v]. */
    cr_assert_eq(mt_prepare(&t, "read", json_integer(3), FL_EVENT_OK, &op), FL_ESHAPE);
    cr_assert(strstr(t.errmsg, "read expects"), "%s", t.errmsg);
    cr_assert_eq(mt_prepare(&t, "read", json_pack("{s:i}", "x", 1), FL_EVENT_OK, &op), 0);
    cr_assert_eq(op.nxs, 3);
    cr_assert_eq(mt_prepare(&t, "write", json_pack("[s,i]", "x", 1), FL_EVENT_OK, &op), 0);
    cr_assert_eq(op.nxs, 3);
    cr_assert_eq(mt_prepare(&t, "txn", json_array(), FL_EVENT_OK, &op), CHECKER_PREPARE_DROP);
    mt_destroy(&t);
    json_t *init = json_pack("[i]", 1);
    cr_assert_eq(mt_create(&t, "multi-register", init, false), FL_ESHAPE);
    cr_assert(strncmp(t.errmsg, "initial: ", 9) == 0, "%s", t.errmsg);
    fl_buf_free(&t.text);
    json_decref(init);
}

Test(checker_model_multi_register, allocation_failures_are_reported_not_crashed)
{
    bool clean = false;
    json_t *init = json_pack("{sisi}", "x", 0, "y", 0);
    for (long n = 0; !clean && n < 10000; n++) {
        struct model_test t;
        struct checker_op op;
        fl_alloc_fail_after(n);
        int rc = mt_create(&t, "multi-register", init, false);
        if (rc != 0) {
            cr_assert_eq(rc, FL_ENOMEM);
            fl_alloc_fail_reset();
            fl_buf_free(&t.text);
            continue;
        }
        uint64_t s = t.m.ops->init(&t.m);
        clean = true;
        for (int i = 0; i < 60 && clean; i++) {
            rc =
                mt_prepare(&t, "txn", json_pack("[[ssi][sii]]", "write", "x", i, "write", i % 7, i),
                           FL_EVENT_OK, &op);
            cr_assert(rc == 0 || rc == FL_ENOMEM);
            if (rc != 0) {
                clean = false;
            } else if (!t.m.ops->step(&t.m, s, &op, &s)) {
                cr_assert(t.m.oom);
                clean = false;
            }
        }
        fl_alloc_fail_reset();
        mt_destroy(&t);
    }
    json_decref(init);
    cr_assert(clean);
}
