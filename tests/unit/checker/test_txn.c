/* test_txn.c - the transactional checker on hand-built histories: each anomaly class with an
 * invalid history and a valid one next to it, verdicts per consistency model, the readers
 * (JSONL and EDN) and their errors. */
#include "checker/txn_check.h"
#include "checker/txn_cycle.h"
#include "checker/txn_explain.h"
#include "common/error.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* History lines: ops are written with ' for " to stay readable. */
#define I(p, v)    "{'process':" #p ",'type':'invoke','f':'txn','value':" v "}\n"
#define OK(p, v)   "{'process':" #p ",'type':'ok','f':'txn','value':" v "}\n"
#define FAIL(p, v) "{'process':" #p ",'type':'fail','f':'txn','value':" v "}\n"
#define INFO(p, v) "{'process':" #p ",'type':'info','f':'txn','value':" v "}\n"
/* invoke then ok right away: a transaction alone in time */
#define T(p, inv, ok) I(p, inv) OK(p, ok)

struct run {
    struct checker_txn_history h;
    struct checker_txn_result res;
    int rc;
    char errmsg[FL_ERRMSG_SIZE];
};

static void run_fmt(struct run *r, const char *text, enum fl_history_format fmt,
                    enum checker_txn_workload w, enum checker_txn_consistency c)
{
    char *s = strdup(text);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    FILE *fp = fmemopen(s, strlen(s), "r");
    cr_assert(fp);
    memset(r, 0, sizeof *r);
    r->rc = checker_txn_history_load_file(fp, "test", fmt, &r->h, r->errmsg);
    if (r->rc == 0) {
        struct checker_txn_options opt = {.workload = w, .consistency = c};
        r->rc = checker_txn_check(&r->h, &opt, &r->res, r->errmsg);
    }
    free(s);
}

static void run(struct run *r, const char *text, enum checker_txn_workload w,
                enum checker_txn_consistency c)
{
    run_fmt(r, text, FL_FORMAT_JSONL, w, c);
}

static void done(struct run *r)
{
    checker_txn_result_free(&r->res);
    checker_txn_history_free(&r->h);
}

#define LA     CHECKER_TXN_LIST_APPEND
#define RW     CHECKER_TXN_RW_REGISTER
#define STRICT CHECKER_TXN_STRICT_SERIALIZABLE
#define SER    CHECKER_TXN_SERIALIZABLE
#define SI     CHECKER_TXN_SNAPSHOT_ISOLATION
#define RR     CHECKER_TXN_REPEATABLE_READ
#define RC     CHECKER_TXN_READ_COMMITTED
#define RU     CHECKER_TXN_READ_UNCOMMITTED

/* Checks `text` and expects `verdict` for model c, with anomaly `kind`
 * found (or none found when kind < 0). */
static void expect(const char *text, enum checker_txn_workload w, enum checker_txn_consistency c,
                   enum checker_verdict verdict, int kind)
{
    struct run r;
    run(&r, text, w, c);
    cr_assert_eq(r.rc, 0, "%s", r.errmsg);
    cr_assert_eq(r.res.verdict, verdict, "verdict %s, expected %s (%s)",
                 checker_verdict_name(r.res.verdict), checker_verdict_name(verdict), r.res.reason);
    uint32_t kinds = checker_txn_found_kinds(&r.res.found);
    if (kind >= 0)
        cr_assert(kinds & (1u << kind), "expected %s, found 0x%x",
                  checker_txn_anomaly_name((enum checker_txn_anomaly_kind)kind), kinds);
    else
        cr_assert_eq(kinds, 0, "expected no anomaly, found 0x%x", kinds);
    /* every explanation renders */
    struct fl_buf b;
    fl_buf_init(&b);
    checker_txn_explain_text(&r.h, &r.res, &b);
    for (int k = 0; k < CHECKER_TXN_N_CYCLE_KINDS; k++)
        checker_txn_cycle_svg(&r.h, &r.res.found.example[k], &b);
    cr_assert(!b.oom);
    json_t *j = checker_txn_result_json(&r.h, &r.res);
    cr_assert(j);
    json_decref(j);
    fl_buf_free(&b);
    done(&r);
}

/* ==== G0 ==== */

Test(checker_txn, g0_write_cycle)
{
    const char *h =
        T(0, "[['append','x',1],['append','y',2]]", "[['append','x',1],['append','y',2]]")
            T(1, "[['append','x',2],['append','y',1]]", "[['append','x',2],['append','y',1]]")
                T(2, "[['r','x',null],['r','y',null]]", "[['r','x',[1,2]],['r','y',[1,2]]]");
    expect(h, LA, RU, CHECKER_INVALID, CHECKER_TXN_G0);
}

Test(checker_txn, g0_valid_when_orders_agree)
{
    const char *h =
        T(0, "[['append','x',1],['append','y',2]]", "[['append','x',1],['append','y',2]]")
            T(1, "[['append','x',2],['append','y',1]]", "[['append','x',2],['append','y',1]]")
                T(2, "[['r','x',null],['r','y',null]]", "[['r','x',[1,2]],['r','y',[2,1]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

/* ==== G1a, G1b ==== */

Test(checker_txn, g1a_aborted_read)
{
    const char *h = I(0, "[['append','x',1]]") FAIL(0, "[['append','x',1]]")
        T(1, "[['r','x',null]]", "[['r','x',[1]]]");
    expect(h, LA, RC, CHECKER_INVALID, CHECKER_TXN_G1A);
    expect(h, LA, RU, CHECKER_VALID, CHECKER_TXN_G1A);
}

Test(checker_txn, g1a_valid_when_not_read)
{
    const char *h = I(0, "[['append','x',1]]") FAIL(0, "[['append','x',1]]")
        T(1, "[['r','x',null]]", "[['r','x',[]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

Test(checker_txn, g1b_intermediate_read)
{
    const char *h = I(0, "[['append','x',1],['append','x',2]]") I(1, "[['r','x',null]]")
        OK(0, "[['append','x',1],['append','x',2]]") OK(1, "[['r','x',[1]]]");
    expect(h, LA, RC, CHECKER_INVALID, CHECKER_TXN_G1B);
}

Test(checker_txn, g1b_valid_when_final)
{
    const char *h = I(0, "[['append','x',1],['append','x',2]]") I(1, "[['r','x',null]]")
        OK(0, "[['append','x',1],['append','x',2]]") OK(1, "[['r','x',[1,2]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

Test(checker_txn, g1b_rw_register)
{
    const char *h = I(0, "[['w','x',1],['w','x',2]]") I(1, "[['r','x',null]]")
        OK(0, "[['w','x',1],['w','x',2]]") OK(1, "[['r','x',1]]");
    expect(h, RW, RC, CHECKER_INVALID, CHECKER_TXN_G1B);
}

/* ==== G1c ==== */

Test(checker_txn, g1c_circular_information_flow)
{
    const char *h =
        I(0, "[['append','x',1],['r','y',null]]") I(1, "[['append','y',1],['r','x',null]]")
            OK(0, "[['append','x',1],['r','y',[1]]]") OK(1, "[['append','y',1],['r','x',[1]]]");
    expect(h, LA, RC, CHECKER_INVALID, CHECKER_TXN_G1C);
    expect(h, LA, RU, CHECKER_VALID, CHECKER_TXN_G1C);
}

Test(checker_txn, g1c_valid_one_way)
{
    const char *h =
        I(0, "[['append','x',1],['r','y',null]]") I(1, "[['append','y',1],['r','x',null]]")
            OK(0, "[['append','x',1],['r','y',[1]]]") OK(1, "[['append','y',1],['r','x',[]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

Test(checker_txn, g1c_rw_register)
{
    const char *h = I(0, "[['w','x',1],['r','y',null]]") I(1, "[['w','y',1],['r','x',null]]")
        OK(0, "[['w','x',1],['r','y',1]]") OK(1, "[['w','y',1],['r','x',1]]");
    expect(h, RW, RC, CHECKER_INVALID, CHECKER_TXN_G1C);
}

/* ==== G-single, G2-item ==== */

Test(checker_txn, g_single_read_skew)
{
    const char *h = I(1, "[['r','x',null],['r','y',null]]")
        T(0, "[['append','x',1],['append','y',1]]", "[['append','x',1],['append','y',1]]")
            OK(1, "[['r','x',[1]],['r','y',[]]]");
    expect(h, LA, SI, CHECKER_INVALID, CHECKER_TXN_G_SINGLE);
    expect(h, LA, RC, CHECKER_VALID, CHECKER_TXN_G_SINGLE);
}

Test(checker_txn, g_single_valid_snapshot)
{
    const char *h = I(1, "[['r','x',null],['r','y',null]]")
        T(0, "[['append','x',1],['append','y',1]]", "[['append','x',1],['append','y',1]]")
            OK(1, "[['r','x',[1]],['r','y',[1]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

Test(checker_txn, g2_item_write_skew)
{
    const char *h =
        I(0, "[['r','y',null],['append','x',1]]") I(1, "[['r','x',null],['append','y',1]]")
            OK(0, "[['r','y',[]],['append','x',1]]") OK(1, "[['r','x',[]],['append','y',1]]")
                T(2, "[['r','x',null],['r','y',null]]", "[['r','x',[1]],['r','y',[1]]]");
    expect(h, LA, SER, CHECKER_INVALID, CHECKER_TXN_G2_ITEM);
    expect(h, LA, RR, CHECKER_INVALID, CHECKER_TXN_G2_ITEM);
    /* write skew is allowed by snapshot isolation */
    expect(h, LA, SI, CHECKER_VALID, CHECKER_TXN_G2_ITEM);
}

Test(checker_txn, g2_item_valid_when_one_sees_the_other)
{
    const char *h =
        I(0, "[['r','y',null],['append','x',1]]") I(1, "[['r','x',null],['append','y',1]]")
            OK(0, "[['r','y',[]],['append','x',1]]") OK(1, "[['r','x',[1]],['append','y',1]]")
                T(2, "[['r','x',null],['r','y',null]]", "[['r','x',[1]],['r','y',[1]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

/* ==== lost update ==== */

Test(checker_txn, lost_update)
{
    const char *h = I(0, "[['r','x',null],['append','x',1]]")
        I(1, "[['r','x',null],['append','x',2]]") OK(0, "[['r','x',[]],['append','x',1]]")
            OK(1, "[['r','x',[]],['append','x',2]]") T(2, "[['r','x',null]]", "[['r','x',[1,2]]]");
    expect(h, LA, SI, CHECKER_INVALID, CHECKER_TXN_LOST_UPDATE);
    expect(h, LA, RC, CHECKER_VALID, CHECKER_TXN_LOST_UPDATE);
}

Test(checker_txn, lost_update_rw_register)
{
    const char *h = I(0, "[['r','x',null],['w','x',1]]") I(1, "[['r','x',null],['w','x',2]]")
        OK(0, "[['r','x',null],['w','x',1]]") OK(1, "[['r','x',null],['w','x',2]]");
    expect(h, RW, SI, CHECKER_INVALID, CHECKER_TXN_LOST_UPDATE);
}

Test(checker_txn, no_lost_update_when_serial)
{
    const char *h = T(0, "[['r','x',null],['append','x',1]]", "[['r','x',[]],['append','x',1]]")
        T(1, "[['r','x',null],['append','x',2]]", "[['r','x',[1]],['append','x',2]]")
            T(2, "[['r','x',null]]", "[['r','x',[1,2]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

/* ==== internal, duplicates, incompatible orders, garbage ==== */

Test(checker_txn, internal_inconsistency)
{
    const char *h = T(0, "[['append','x',1],['r','x',null]]", "[['append','x',1],['r','x',[]]]");
    expect(h, LA, SI, CHECKER_INVALID, CHECKER_TXN_INTERNAL);
    expect(h, LA, RC, CHECKER_VALID, CHECKER_TXN_INTERNAL);
}

Test(checker_txn, internal_valid)
{
    const char *h =
        T(0, "[['r','x',null],['append','x',1],['r','x',null]]",
          "[['r','x',[]],['append','x',1],['r','x',[1]]]") T(1, "[['w','y',3]]", "[['w','y',3]]");
    struct run r;
    run(&r, h, LA, STRICT);
    cr_assert_neq(r.rc, 0, "a w micro-op in a list-append history is an input error");
    cr_assert(strstr(r.errmsg, "line 3"), "%s", r.errmsg);
    done(&r);
    const char *ok = T(0, "[['r','x',null],['append','x',1],['r','x',null]]",
                       "[['r','x',[]],['append','x',1],['r','x',[1]]]");
    expect(ok, LA, STRICT, CHECKER_VALID, -1);
}

Test(checker_txn, internal_rw_register)
{
    const char *h = T(0, "[['w','x',1],['r','x',null]]", "[['w','x',1],['r','x',2]]")
        T(1, "[['w','x',2]]", "[['w','x',2]]");
    expect(h, RW, SI, CHECKER_INVALID, CHECKER_TXN_INTERNAL);
}

Test(checker_txn, duplicate_elements)
{
    const char *h = T(0, "[['append','x',1]]", "[['append','x',1]]")
        T(1, "[['r','x',null]]", "[['r','x',[1,1]]]");
    expect(h, LA, RU, CHECKER_INVALID, CHECKER_TXN_DUPLICATE);
}

Test(checker_txn, incompatible_order)
{
    const char *h = T(0, "[['append','x',1]]", "[['append','x',1]]")
        T(1, "[['append','x',2]]", "[['append','x',2]]")
            T(2, "[['r','x',null]]", "[['r','x',[1,2]]]")
                T(3, "[['r','x',null]]", "[['r','x',[2,1]]]");
    expect(h, LA, RC, CHECKER_INVALID, CHECKER_TXN_INCOMPATIBLE);
}

Test(checker_txn, compatible_orders)
{
    const char *h = T(0, "[['append','x',1]]", "[['append','x',1]]")
        T(2, "[['r','x',null]]", "[['r','x',[1]]]") T(1, "[['append','x',2]]", "[['append','x',2]]")
            T(3, "[['r','x',null]]", "[['r','x',[1,2]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

Test(checker_txn, garbage_read)
{
    const char *h = T(0, "[['append','x',1]]", "[['append','x',1]]")
        T(1, "[['r','x',null]]", "[['r','x',[1,7]]]");
    expect(h, LA, RU, CHECKER_INVALID, CHECKER_TXN_GARBAGE);
    const char *r =
        T(0, "[['w','x',1]]", "[['w','x',1]]") T(1, "[['r','x',null]]", "[['r','x',7]]");
    expect(r, RW, RU, CHECKER_INVALID, CHECKER_TXN_GARBAGE);
}

/* Writes are indexed per key in a direct array when a key's values are dense
 * and in a hash table otherwise (txn_infer.c): both give the same writers,
 * garbage and duplicates, with values at the ends of the 64-bit range. */
/* EDN keys: :x, "x", x (a symbol) and 1, "1" are five keys; the fast path
 * (string and integer keys) and the general reader (keywords) agree. */
Test(checker_txn, edn_keys_keep_their_kind)
{
    const char *bad = "{:type :invoke, :f :txn, :value [[:append :x 1]], :process 0}\n"
                      "{:type :ok, :f :txn, :value [[:append :x 1]], :process 0}\n"
                      "{:type :invoke, :f :txn, :value [[:r \"x\" nil]], :process 1}\n"
                      "{:type :ok, :f :txn, :value [[:r \"x\" [1]]], :process 1}\n";
    struct run r;
    for (int fast = 1; fast >= 0; fast--) {
        checker_txn_history_edn_fast(fast);
        run_fmt(&r, bad, FL_FORMAT_EDN, LA, STRICT);
        cr_assert_eq(r.rc, 0, "%s", r.errmsg);
        cr_assert_eq(r.h.n_keys, 2);
        cr_assert_str_eq(checker_txn_key_name(&r.h, 0), ":x");
        cr_assert_str_eq(checker_txn_key_name(&r.h, 1), "\"x\"");
        cr_assert_eq(r.res.verdict, CHECKER_INVALID);
        done(&r);
    }
    const char *five = "{:type :invoke, :f :txn, :value [[:append :x 1] [:append \"x\" 2]"
                       " [:append x 3] [:append 1 4] [:append \"1\" 5]], :process 0}\n";
    for (int fast = 1; fast >= 0; fast--) {
        checker_txn_history_edn_fast(fast);
        run_fmt(&r, five, FL_FORMAT_EDN, LA, STRICT);
        cr_assert_eq(r.rc, 0, "%s", r.errmsg);
        cr_assert_eq(r.h.n_keys, 5);
        done(&r);
    }
    checker_txn_history_edn_fast(true);
}

static void expect_error(const char *text, const char *needle);

Test(checker_txn, writer_index_dense_and_sparse_keys)
{
    const char *h =
        T(0, "[['append','x',9223372036854775807],['append','y',1]]",
          "[['append','x',9223372036854775807],['append','y',1]]")
            T(1, "[['append','x',-9223372036854775808],['append','y',2]]",
              "[['append','x',-9223372036854775808],['append','y',2]]")
                T(2, "[['append','x',1000]]", "[['append','x',1000]]")
                    T(3, "[['r','x',null],['r','y',null]]",
                      "[['r','x',[9223372036854775807,-9223372036854775808,1000]],['r','y',[1,2]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
    const char *g = T(0, "[['append','x',9223372036854775807]]",
                      "[['append','x',9223372036854775807]]")
        T(1, "[['append','x',-9223372036854775808]]", "[['append','x',-9223372036854775808]]")
            T(2, "[['r','x',null]]", "[['r','x',[9223372036854775807,5]]]");
    expect(g, LA, RU, CHECKER_INVALID, CHECKER_TXN_GARBAGE);
    const char *r = T(0, "[['w','x',-9223372036854775808]]", "[['w','x',-9223372036854775808]]")
        T(1, "[['w','x',9223372036854775807]]", "[['w','x',9223372036854775807]]")
            T(2, "[['r','x',null]]", "[['r','x',9223372036854775806]]");
    expect(r, RW, RU, CHECKER_INVALID, CHECKER_TXN_GARBAGE);
    expect_error(T(0, "[['append','x',-9223372036854775808]]",
                   "[['append','x',-9223372036854775808]]")
                     T(1, "[['append','x',77]]", "[['append','x',77]]")
                         T(2, "[['append','x',-9223372036854775808]]",
                           "[['append','x',-9223372036854775808]]"),
                 "line 5: value: -9223372036854775808 written to key x again (first on line 1)");
    expect_error(T(0, "[['append','x',3]]", "[['append','x',3]]")
                     T(1, "[['append','x',4]]", "[['append','x',4]]")
                         T(2, "[['append','x',3]]", "[['append','x',3]]"),
                 "line 5: value: 3 written to key x again (first on line 1)");
}

/* ==== realtime and process ==== */

Test(checker_txn, realtime_stale_read)
{
    /* T1 completes, then T2 begins and misses T1's append */
    const char *h =
        T(0, "[['append','x',1]]", "[['append','x',1]]") T(1, "[['r','x',null]]", "[['r','x',[]]]");
    expect(h, LA, STRICT, CHECKER_INVALID, CHECKER_TXN_G_SINGLE + 5 * CHECKER_TXN_VARIANT_REALTIME);
    expect(h, LA, SER, CHECKER_VALID, CHECKER_TXN_G_SINGLE + 5 * CHECKER_TXN_VARIANT_REALTIME);
}

Test(checker_txn, process_stale_read)
{
    const char *h =
        T(0, "[['append','x',1]]", "[['append','x',1]]") T(0, "[['r','x',null]]", "[['r','x',[]]]");
    expect(h, LA, STRICT, CHECKER_INVALID, CHECKER_TXN_G_SINGLE + 5 * CHECKER_TXN_VARIANT_PROCESS);
}

Test(checker_txn, realtime_valid_when_concurrent)
{
    const char *h = I(0, "[['append','x',1]]") I(1, "[['r','x',null]]") OK(0, "[['append','x',1]]")
        OK(1, "[['r','x',[]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

Test(checker_txn, g0_realtime)
{
    /* the reads order x as T0 then T1 and y as T1 then T0: a ww cycle once
     * T2 (after both) is told apart by realtime... here: T1 -ww-> T0 on y and
     * T0 completed before T1 began */
    const char *h = T(0, "[['append','y',2]]", "[['append','y',2]]")
        T(1, "[['append','y',1]]", "[['append','y',1]]")
            T(2, "[['r','y',null]]", "[['r','y',[1,2]]]");
    expect(h, LA, STRICT, CHECKER_INVALID, CHECKER_TXN_G0 + 5 * CHECKER_TXN_VARIANT_REALTIME);
    expect(h, LA, SER, CHECKER_VALID, CHECKER_TXN_G0 + 5 * CHECKER_TXN_VARIANT_REALTIME);
}

/* ==== info and fail ==== */

Test(checker_txn, info_unobserved_may_not_have_happened)
{
    const char *h = I(0, "[['append','x',1]]") INFO(0, "[['append','x',1]]")
        T(1, "[['r','x',null]]", "[['r','x',[]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

Test(checker_txn, info_observed_happened)
{
    const char *h = I(0, "[['append','x',1],['append','y',1]]")
        T(1, "[['r','x',null]]", "[['r','x',[1]]]") INFO(0, "[['append','x',1],['append','y',1]]")
            T(2, "[['r','y',null]]", "[['r','y',[]]]") T(3, "[['r','x',null]]", "[['r','x',[1]]]");
    /* y's append happened with x's (T1 saw it), so T2 (after T1) missing it
     * is a stale read: T2 -rw-> T0 -wr-> T1 -rt-> T2 */
    expect(h, LA, STRICT, CHECKER_INVALID, CHECKER_TXN_G_SINGLE + 5 * CHECKER_TXN_VARIANT_REALTIME);
}

Test(checker_txn, never_completed_is_info)
{
    const char *h = I(0, "[['append','x',1]]") T(1, "[['r','x',null]]", "[['r','x',[1]]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

/* ==== rw-register: what it cannot know ==== */

Test(checker_txn, rw_register_valid_by_witness)
{
    const char *h = T(0, "[['w','x',1]]", "[['w','x',1]]")
        T(1, "[['r','x',null],['w','x',2]]", "[['r','x',1],['w','x',2]]")
            T(2, "[['r','x',null]]", "[['r','x',2]]");
    expect(h, RW, STRICT, CHECKER_VALID, -1);
}

Test(checker_txn, rw_register_unknown_without_order)
{
    /* not strict-serializable, but no cycle is inferable: the writes'
     * order is not observed, so the verdict is unknown, never valid */
    const char *h =
        I(0, "[['w','x',1]]") I(1, "[['w','x',2]]") OK(0, "[['w','x',1]]") OK(1, "[['w','x',2]]")
            T(2, "[['r','x',null]]", "[['r','x',1]]") T(3, "[['r','x',null]]", "[['r','x',2]]");
    expect(h, RW, STRICT, CHECKER_UNKNOWN, -1);
}

/* ==== models ==== */

Test(checker_txn, model_lattice)
{
    cr_assert(checker_txn_weaker(RC, SI));
    cr_assert(checker_txn_weaker(RR, SER));
    cr_assert(!checker_txn_weaker(RR, SI));
    cr_assert(!checker_txn_weaker(SI, RR));
    uint32_t out = checker_txn_ruled_out(1u << CHECKER_TXN_G2_ITEM);
    cr_assert_eq(checker_txn_weakest(out), 1u << RR);
    out = checker_txn_ruled_out(1u << CHECKER_TXN_G_SINGLE);
    cr_assert_eq(checker_txn_weakest(out), (1u << RR) | (1u << SI));
    out = checker_txn_ruled_out(1u << (CHECKER_TXN_G1C + 5 * CHECKER_TXN_VARIANT_REALTIME));
    cr_assert_eq(out, 1u << STRICT);
    enum checker_txn_consistency c;
    cr_assert_eq(checker_txn_consistency_parse("snapshot-isolation", &c), 0);
    cr_assert_eq(c, SI);
    cr_assert_neq(checker_txn_consistency_parse("linearizable", &c), 0);
}

Test(checker_txn, classify_cycles)
{
    uint8_t ww[] = {CHECKER_TXN_WW, CHECKER_TXN_WW};
    uint8_t g1c[] = {CHECKER_TXN_WW, CHECKER_TXN_WR};
    uint8_t single[] = {CHECKER_TXN_RW, CHECKER_TXN_WR, CHECKER_TXN_WW};
    uint8_t nonadj[] = {CHECKER_TXN_RW, CHECKER_TXN_WR, CHECKER_TXN_RW, CHECKER_TXN_WW};
    uint8_t g2[] = {CHECKER_TXN_RW, CHECKER_TXN_RW};
    uint8_t rt[] = {CHECKER_TXN_RW, CHECKER_TXN_REALTIME};
    cr_assert_eq(checker_txn_cycle_classify(ww, 2), CHECKER_TXN_G0);
    cr_assert_eq(checker_txn_cycle_classify(g1c, 2), CHECKER_TXN_G1C);
    cr_assert_eq(checker_txn_cycle_classify(single, 3), CHECKER_TXN_G_SINGLE);
    cr_assert_eq(checker_txn_cycle_classify(nonadj, 4), CHECKER_TXN_G_NONADJ);
    cr_assert_eq(checker_txn_cycle_classify(g2, 2), CHECKER_TXN_G2_ITEM);
    cr_assert_eq(checker_txn_cycle_classify(rt, 2),
                 CHECKER_TXN_G_SINGLE + 5 * CHECKER_TXN_VARIANT_REALTIME);
}

/* ==== explanations ==== */

Test(checker_txn, explanation_names_keys_and_values)
{
    const char *h = I(1, "[['r','x',null],['r','y',null]]")
        T(0, "[['append','x',1],['append','y',1]]", "[['append','x',1],['append','y',1]]")
            OK(1, "[['r','x',[1]],['r','y',[]]]");
    struct run r;
    run(&r, h, LA, SER);
    cr_assert_eq(r.rc, 0, "%s", r.errmsg);
    struct fl_buf b;
    fl_buf_init(&b);
    checker_txn_explain_text(&r.h, &r.res, &b);
    const char *t = fl_buf_cstr(&b);
    cr_assert(strstr(t, "G-single"), "%s", t);
    cr_assert(strstr(t, "T0 read key y as [] without 1, which T1 appended later"), "%s", t);
    cr_assert(strstr(t, "T0 read key x as [1], which ends with 1, appended by T1"), "%s", t);
    cr_assert(strstr(t, "weakest violated: repeatable-read, snapshot-isolation"), "%s", t);
    fl_buf_reset(&b);
    checker_txn_cycle_svg(&r.h, &r.res.found.example[CHECKER_TXN_G_SINGLE], &b);
    cr_assert(strncmp(fl_buf_cstr(&b), "<svg", 4) == 0);
    cr_assert(strstr(fl_buf_cstr(&b), ">rw</text>"));
    fl_buf_reset(&b);
    cr_assert_eq(checker_txn_report_html(&r.h, &r.res, "<history & co>", NULL, &b), 0);
    const char *page = fl_buf_cstr(&b);
    cr_assert(strstr(page, "<svg"));
    cr_assert(strstr(page, "&lt;history &amp; co&gt;"));
    cr_assert(strstr(page, "G-single"));
    cr_assert(!strstr(page, "src=") && !strstr(page, "<history"), "self-contained and escaped");
    fl_buf_free(&b);
    done(&r);
}

/* ==== readers ==== */

Test(checker_txn, edn_history)
{
    const char *edn =
        "[{:type :invoke, :f :txn, :value [[:append 3 1] [:r 4 nil]], :process 0, :index 0}\n"
        " {:type :invoke, :f :txn, :value [[:append 4 1] [:r 3 nil]], :process 1, :index 1}\n"
        " {:type :ok, :f :txn, :value [[:append 3 1] [:r 4 [1]]], :process 0, :index 2}\n"
        " {:type :ok, :f :txn, :value [[:append 4 1] [:r 3 [1]]], :process 1, :index 3}\n"
        " {:type :info, :f :start, :value nil, :process :nemesis, :index 4}]\n";
    struct run r;
    run_fmt(&r, edn, FL_FORMAT_AUTO, LA, RC);
    cr_assert_eq(r.rc, 0, "%s", r.errmsg);
    cr_assert_eq(r.h.format, FL_FORMAT_EDN);
    cr_assert_eq(r.res.verdict, CHECKER_INVALID);
    cr_assert(r.res.found.count[CHECKER_TXN_G1C]);
    done(&r);
}

/* The integer 3 and the string "3" are two keys, as in Elle: a read of "3"
 * seeing what was appended to 3 read a value nobody wrote to it (garbage).
 * It was one key, and such a history was judged valid. */
Test(checker_txn, integer_and_string_keys_are_two_keys)
{
    const char *h =
        T(0, "[['append',3,1]]", "[['append',3,1]]") T(1, "[['r','3',null]]", "[['r','3',[1]]]");
    struct run r;
    run(&r, h, LA, STRICT);
    cr_assert_eq(r.rc, 0, "%s", r.errmsg);
    cr_assert_eq(r.h.n_keys, 2);
    cr_assert_str_eq(checker_txn_key_name(&r.h, 0), "3");
    cr_assert_str_eq(checker_txn_key_name(&r.h, 1), "\"3\"");
    cr_assert_eq(r.res.verdict, CHECKER_INVALID);
    done(&r);
    /* the same keys written apart are fine */
    const char *ok =
        T(0, "[['append',3,1]]", "[['append',3,1]]") T(1, "[['r','3',null]]", "[['r','3',[]]]");
    run(&r, ok, LA, STRICT);
    cr_assert_eq(r.rc, 0, "%s", r.errmsg);
    cr_assert_eq(r.res.verdict, CHECKER_VALID);
    done(&r);
}

static void expect_error(const char *text, const char *needle)
{
    struct run r;
    run(&r, text, LA, STRICT);
    cr_assert_lt(r.rc, 0, "expected an error for %s", text);
    cr_assert(strstr(r.errmsg, needle), "\"%s\" lacks \"%s\"", r.errmsg, needle);
    done(&r);
}

Test(checker_txn, input_errors_name_line_and_field)
{
    expect_error(I(0, "[['append','x',1]]") "{'process':0,'type':'ok','f':'txn','value':[['append',"
                                            "'x',1.5]]}\n",
                 "line 2: value[0]: expected an integer");
    expect_error(I(0, "[['add','x',1]]"), "line 1: value[0]: micro-op f must be");
    expect_error("{'process':0,'type':'invoke','f':'read','value':1}\n",
                 "line 1: f: expected \"txn\"");
    expect_error(I(0, "[['append','x',1]]") I(0, "[['append','x',2]]"), "line 2: process");
    expect_error(OK(0, "[['append','x',1]]"), "line 1: process");
    expect_error(T(0, "[['append','x',1]]", "[['append','x',2]]"), "line 2: value[0]: differs");
    expect_error(T(0, "[['append','x',1]]", "[['append','x',1]]")
                     T(1, "[['append','x',1]]", "[['append','x',1]]"),
                 "written to key x again");
    expect_error(T(0, "[['r','x',null]]", "[['r','x',3]]"), "a list-append read returns a list");
    expect_error("{'process':0,'type':'invoke','f':'txn','value':[['r','x',null]]", "line 1");
    expect_error("{'process':0,'type':'invoke','f':'txn','value':[['r','x',null]]}", "truncated");
    expect_error("{'process':0,'type':'invoke','f':'txn','value':[['r','x\\u0000',null]]}\n",
                 "NUL");
}

Test(checker_txn, nemesis_lines_are_skipped)
{
    const char *h = "{'process':'nemesis','type':'info','f':'partition','value':{'n1':['n2']}}\n" T(
        0, "[['append','x',1]]", "[['append','x',1]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
}

/* A run's history carries node events (process "node": a client program's
 * "ready", "crash-recovery"); they are not transactions. Another string is
 * still refused. */
Test(checker_txn, node_events_are_skipped)
{
    const char *h = "{'process':'node','type':'info','f':'ready','value':'ready','node':'n1'}\n" T(
        0, "[['append','x',1]]", "[['append','x',1]]");
    expect(h, LA, STRICT, CHECKER_VALID, -1);
    expect_error("{'process':'client','type':'info','f':'ready','value':null}\n", "process");
}

/* Reads of a key share stored values when one is a prefix of another
 * (txn_history.c store_list): every read must still give back exactly what
 * it returned, whether it shares, extends in place, diverges or is empty. */
Test(checker_txn, list_reads_keep_their_own_values)
{
    static const char *reads[] = {"[1,2]", "[1,2,3]", "[1]",   "[]",      "[1,2,3,4,5]",
                                  "[7,8]", "[1,2]",   "[7,8,9]", "[1,2,3,4,5,6]", "[7]"};
    static const int64_t want[][7] = {{2, 1, 2},       {3, 1, 2, 3},       {1, 1},
                                      {0},             {5, 1, 2, 3, 4, 5}, {2, 7, 8},
                                      {2, 1, 2},       {3, 7, 8, 9},       {6, 1, 2, 3, 4, 5, 6},
                                      {1, 7}};
    char text[4096];
    size_t k = 0;
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        k += (size_t)snprintf(text + k, sizeof text - k,
                              "{'process':0,'type':'invoke','f':'txn','value':[['r','x',null],"
                              "['r','y',null]]}\n"
                              "{'process':0,'type':'ok','f':'txn','value':[['r','x',%s],"
                              "['r','y',%s]]}\n",
                              reads[i], reads[(i + 3) % 10]);
        cr_assert_lt(k, sizeof text);
    }
    struct run r;
    run_fmt(&r, text, FL_FORMAT_JSONL, LA, STRICT);
    cr_assert_eq(r.rc, 0, "%s", r.errmsg);
    cr_assert_eq(r.h.n_txns, 10);
    for (size_t i = 0; i < 10; i++) {
        const struct checker_txn *t = &r.h.txns[i];
        for (uint32_t j = 0; j < 2; j++) {
            const struct checker_txn_mop *m = &r.h.mops[t->mop + j];
            const int64_t *w = want[j == 0 ? i : (i + 3) % 10];
            cr_assert_eq(m->rkind, CHECKER_TXN_RLIST);
            cr_assert_eq(m->len, (uint32_t)w[0], "txn %zu read %u: len %u", i, j, m->len);
            for (uint32_t e = 0; e < m->len; e++)
                cr_assert_eq(r.h.elems[m->value + e], w[1 + e], "txn %zu read %u elem %u", i, j, e);
        }
    }
    done(&r);
}

/* Loads EDN `text` with the EDN fast path and without it: the same history
 * or the same error, whatever the form. */
static void expect_edn_agrees(const char *text)
{
    struct checker_txn_history a, b;
    char ea[FL_ERRMSG_SIZE] = "", eb[FL_ERRMSG_SIZE] = "";
    FILE *fa = fmemopen((void *)text, strlen(text), "r"), *fb;
    cr_assert(fa);
    int ra = checker_txn_history_load_file(fa, "t.edn", FL_FORMAT_EDN, &a, ea);
    checker_txn_history_edn_fast(false);
    fb = fmemopen((void *)text, strlen(text), "r");
    cr_assert(fb);
    int rb = checker_txn_history_load_file(fb, "t.edn", FL_FORMAT_EDN, &b, eb);
    checker_txn_history_edn_fast(true);
    cr_assert_eq(ra, rb, "fast %d (%s), general %d (%s) for\n%s", ra, ea, rb, eb, text);
    cr_assert_str_eq(ea, eb, "for\n%s", text);
    cr_assert_eq(a.n_txns, b.n_txns);
    cr_assert_eq(a.n_mops, b.n_mops);
    cr_assert_eq(a.n_keys, b.n_keys, "for\n%s", text);
    cr_assert_eq(a.n_events, b.n_events);
    for (uint32_t k = 0; k < a.n_keys; k++)
        cr_assert_str_eq(checker_txn_key_name(&a, k), checker_txn_key_name(&b, k));
    for (size_t i = 0; i < a.n_txns; i++) {
        const struct checker_txn *x = &a.txns[i], *y = &b.txns[i];
        cr_assert(x->inv_line == y->inv_line && x->end_line == y->end_line &&
                      x->process == y->process && x->type == y->type &&
                      x->inv_time == y->inv_time && x->end_time == y->end_time &&
                      x->mop == y->mop && x->n_mops == y->n_mops,
                  "txn %zu differs for\n%s", i, text);
    }
    for (size_t i = 0; i < a.n_mops; i++) {
        const struct checker_txn_mop *x = &a.mops[i], *y = &b.mops[i];
        cr_assert(x->f == y->f && x->key == y->key && x->rkind == y->rkind && x->len == y->len,
                  "mop %zu differs for\n%s", i, text);
        if (x->rkind == CHECKER_TXN_RLIST)
            cr_assert(memcmp(a.elems + x->value, b.elems + y->value, x->len * sizeof *a.elems) == 0);
        else
            cr_assert_eq(x->value, y->value);
    }
    checker_txn_history_free(&a);
    checker_txn_history_free(&b);
}

#define EI "{:type :invoke, :f :txn, :value [[:append 3 1] [:r 4 nil]], :process 0, :time 5}\n"
#define EO "{:type :ok, :f :txn, :value [[:append 3 1] [:r 4 [7 8]]], :process 0, :time 9}\n"

Test(checker_txn, edn_fast_path_agrees_with_the_general_reader)
{
    static const char *docs[] = {
        EI EO,
        "[" EI EO "]",
        "(" EI "; a comment\n" EO ")",
        /* shapes the fast path leaves to the general reader */
        "#jepsen.history.Op{:type :invoke, :f :txn, :value [[:r 4 nil]], :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:r 4 nil]], :process 0, :error [:timeout \"x\"]}\n",
        "{:type :invoke, :f :txn, :value [[:r :k nil] [:append \"k\" 2]], :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:r -0 nil] [:append 0 2]], :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:append +5 1] [:append 5 +2]], :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:r 3]], :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:append 5N 1]], :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:append 007 1]], :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:append \"\xc3\xa9\" 1] [:append \"a\\\"b\" 2]], "
        ":process 0}\n",
        "{:type :invoke,\n :f :txn,\n :value [[:append 3 1]\n [:r 4 nil]],\n :process 0}\n" EO,
        "{:type :info, :f :txn, :value [[:r 99 nil]], :process :nemesis}\n" EI,
        "{:value [[:r 98 nil]], :type :invoke, :f :txn, :process 0}\n",
        "{:type :invoke, :type :ok, :f :txn, :value [[:r 4 nil]], :process 0}\n",
        "{:type :invoke, :f :txn, :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:r 4 nil]], :process -1}\n",
        "{:type :invoke, :f :txn, :value [[:r 4 nil]], :process 0, :time -3}\n",
        "{:type :invoke, :f :txn, :value [[:r 4 nil]], :process 0, :time nil, :index nil}\n",
        "{:type :invoke, :f :txn, :value [[:r 4 nil]], :process 0, :time 1.5}\n",
        "{:type :invoke, :f :txn, :value [[:r 4 nil]], :process 0}{:type :ok}\n",
        "{:type :invoke, :f :txn, :value [[:add 4 1]], :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:append 4 99999999999999999999]], :process 0}\n",
        "{:type :invoke, :f :txn, :value [[:append 4 1] [:r 4 [1 true]]], :process 0}\n",
        "{:type :invoke, :f :read, :value nil, :process 0}\n",
        /* errors found after the fast path took the form: same messages, lines */
        EI EI,
        EO,
        EI "{:type :ok, :f :txn, :value [[:append 3 2] [:r 4 nil]], :process 0}\n",
        EI "{:type :ok, :f :txn, :value [[:append 3 1]], :process 0}\n",
        "[" EI EO,
        "[" EI EO "]]",
        EI "{:type :ok, :f :txn, :value [[:append 3 1] [:r 4 [7 8]]], :process 0, :time 9",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++)
        expect_edn_agrees(docs[i]);
}
