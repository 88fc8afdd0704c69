/* txn_model.c - anomaly names and the models each one rules out (Elle's table, trimmed). */
#include "checker/txn_model.h"

#include "common/alloc.h"
#include "common/error.h"

#include <string.h>

static const char *const other_names[] = {
    "G1a",         "G1b", "lost-update", "internal", "duplicate-elements", "incompatible-order",
    "garbage-read"};
static const char *const model_names[] = {"read-uncommitted", "read-committed",
                                          "repeatable-read",  "snapshot-isolation",
                                          "serializable",     "strict-serializable"};

const char *checker_txn_anomaly_name(enum checker_txn_anomaly_kind k)
{
    static const char *const variants[][5] = {
        {"G0", "G1c", "G-single", "G-nonadjacent", "G2-item"},
        {"G0-process", "G1c-process", "G-single-process", "G-nonadjacent-process",
         "G2-item-process"},
        {"G0-realtime", "G1c-realtime", "G-single-realtime", "G-nonadjacent-realtime",
         "G2-item-realtime"},
    };
    if (k < CHECKER_TXN_N_CYCLE_KINDS)
        return variants[k / 5][k % 5];
    if (k < CHECKER_TXN_N_ANOMALIES)
        return other_names[k - CHECKER_TXN_N_CYCLE_KINDS];
    return "?";
}

const char *checker_txn_consistency_name(enum checker_txn_consistency c)
{
    return c < CHECKER_TXN_N_MODELS ? model_names[c] : "?";
}

int checker_txn_consistency_parse(const char *s, enum checker_txn_consistency *out)
{
    for (int i = 0; i < CHECKER_TXN_N_MODELS; i++)
        if (strcmp(s, model_names[i]) == 0) {
            *out = (enum checker_txn_consistency)i;
            return 0;
        }
    return -1;
}

#define B(k) (1u << (k))

uint32_t checker_txn_forbidden(enum checker_txn_consistency c)
{
    /* PL-1 forbids G0 (and, with Elle, duplicates; garbage is worse still). */
    uint32_t ru = B(CHECKER_TXN_G0) | B(CHECKER_TXN_DUPLICATE) | B(CHECKER_TXN_GARBAGE);
    /* PL-2 adds G1; incompatible orders imply an aborted read (Elle). */
    uint32_t rc = ru | B(CHECKER_TXN_G1A) | B(CHECKER_TXN_G1B) | B(CHECKER_TXN_G1C) |
                  B(CHECKER_TXN_INCOMPATIBLE);
    /* PL-2.99: G2-item (G-single and G-nonadjacent on items are G2-item),
     * lost update (Bailis; a special case of G2-item). */
    uint32_t rr = rc | B(CHECKER_TXN_G_SINGLE) | B(CHECKER_TXN_G_NONADJ) | B(CHECKER_TXN_G2_ITEM) |
                  B(CHECKER_TXN_LOST_UPDATE);
    /* SI: G-single and G-nonadjacent (generalized SI), internal (Cerone), lost update. */
    uint32_t si = rc | B(CHECKER_TXN_G_SINGLE) | B(CHECKER_TXN_G_NONADJ) |
                  B(CHECKER_TXN_LOST_UPDATE) | B(CHECKER_TXN_INTERNAL);
    uint32_t ser = rr | si;
    uint32_t strict = ser;
    for (int k = 5; k < CHECKER_TXN_N_CYCLE_KINDS; k++)
        strict |= B(k);
    switch (c) {
    case CHECKER_TXN_READ_UNCOMMITTED:
        return ru;
    case CHECKER_TXN_READ_COMMITTED:
        return rc;
    case CHECKER_TXN_REPEATABLE_READ:
        return rr;
    case CHECKER_TXN_SNAPSHOT_ISOLATION:
        return si;
    case CHECKER_TXN_SERIALIZABLE:
        return ser;
    default:
        return strict;
    }
}

uint32_t checker_txn_ruled_out(uint32_t found)
{
    uint32_t out = 0;
    for (int m = 0; m < CHECKER_TXN_N_MODELS; m++)
        if (checker_txn_forbidden((enum checker_txn_consistency)m) & found)
            out |= B(m);
    return out;
}

bool checker_txn_weaker(enum checker_txn_consistency a, enum checker_txn_consistency b)
{
    if (a == b)
        return false;
    /* RU < RC < {RR, SI} < SER < STRICT; RR and SI are incomparable. */
    if ((a == CHECKER_TXN_REPEATABLE_READ && b == CHECKER_TXN_SNAPSHOT_ISOLATION) ||
        (a == CHECKER_TXN_SNAPSHOT_ISOLATION && b == CHECKER_TXN_REPEATABLE_READ))
        return false;
    return a < b;
}

uint32_t checker_txn_weakest(uint32_t models)
{
    uint32_t out = 0;
    for (int m = 0; m < CHECKER_TXN_N_MODELS; m++) {
        if (!(models & B(m)))
            continue;
        bool minimal = true;
        for (int w = 0; w < CHECKER_TXN_N_MODELS; w++)
            if ((models & B(w)) && checker_txn_weaker((enum checker_txn_consistency)w,
                                                      (enum checker_txn_consistency)m))
                minimal = false;
        if (minimal)
            out |= B(m);
    }
    return out;
}

int checker_txn_found_add(struct checker_txn_found *f, const struct checker_txn_anomaly *a)
{
    f->count[a->kind]++;
    struct checker_txn_anomaly *e = &f->example[a->kind];
    if (e->n && e->n <= a->n)
        return 0;
    uint32_t *txns = fl_malloc((a->n ? a->n : 1) * sizeof *txns);
    uint8_t *types = fl_malloc(a->n ? a->n : 1);
    if (!txns || !types) {
        fl_free(txns);
        fl_free(types);
        return FL_ENOMEM;
    }
    memcpy(txns, a->txns, a->n * sizeof *txns);
    if (a->types)
        memcpy(types, a->types, a->n);
    else
        memset(types, 0, a->n ? a->n : 1);
    fl_free(e->txns);
    fl_free(e->types);
    fl_free(e->why);
    *e = *a;
    e->why = NULL;
    e->txns = txns;
    e->types = types;
    return 0;
}

uint32_t checker_txn_found_kinds(const struct checker_txn_found *f)
{
    uint32_t k = 0;
    for (int i = 0; i < CHECKER_TXN_N_ANOMALIES; i++)
        if (f->count[i])
            k |= 1u << i;
    return k;
}

void checker_txn_found_free(struct checker_txn_found *f)
{
    for (int i = 0; i < CHECKER_TXN_N_ANOMALIES; i++) {
        fl_free(f->example[i].txns);
        fl_free(f->example[i].types);
        fl_free(f->example[i].why);
    }
    memset(f, 0, sizeof *f);
}
