/* txn_model.h - transactional anomalies and the consistency models they rule out.
 *
 * Names and implications follow Elle (jepsen-io/elle, consistency_model.clj)
 * and Adya's definitions, restricted to the six models `faultline check
 * --consistency` offers. Cycle anomalies are named by the edges of the cycle:
 * only ww: G0; ww and wr: G1c; exactly one rw: G-single; several rw, never
 * two in a row: G-nonadjacent; otherwise G2-item. A cycle that needs a
 * process edge gets "-process", one that needs a realtime edge "-realtime". */
#ifndef CHECKER_TXN_MODEL_H
#define CHECKER_TXN_MODEL_H

#include <stdbool.h>
#include <stdint.h>

enum checker_txn_anomaly_kind {
    /* cycles: base + 5 * variant (0 plain, 1 process, 2 realtime) */
    CHECKER_TXN_G0,
    CHECKER_TXN_G1C,
    CHECKER_TXN_G_SINGLE,
    CHECKER_TXN_G_NONADJ,
    CHECKER_TXN_G2_ITEM,
    CHECKER_TXN_N_CYCLE_KINDS = 15,
    /* found without a cycle */
    CHECKER_TXN_G1A = CHECKER_TXN_N_CYCLE_KINDS, /* read a failed transaction's write */
    CHECKER_TXN_G1B,                             /* read a write its transaction later overwrote */
    CHECKER_TXN_LOST_UPDATE,  /* two transactions read the same version and both wrote it */
    CHECKER_TXN_INTERNAL,     /* a read disagrees with its own transaction's earlier ops */
    CHECKER_TXN_DUPLICATE,    /* a list read holds one appended value twice */
    CHECKER_TXN_INCOMPATIBLE, /* two reads of a list that are not prefixes of one another */
    CHECKER_TXN_GARBAGE,      /* a read of a value nobody wrote */
    CHECKER_TXN_N_ANOMALIES
};

#define CHECKER_TXN_VARIANT_PROCESS  1
#define CHECKER_TXN_VARIANT_REALTIME 2

enum checker_txn_consistency {
    CHECKER_TXN_READ_UNCOMMITTED,
    CHECKER_TXN_READ_COMMITTED,
    CHECKER_TXN_REPEATABLE_READ,
    CHECKER_TXN_SNAPSHOT_ISOLATION,
    CHECKER_TXN_SERIALIZABLE,
    CHECKER_TXN_STRICT_SERIALIZABLE,
    CHECKER_TXN_N_MODELS
};

/* "G0", "G-single-realtime", "lost-update", ... */
const char *checker_txn_anomaly_name(enum checker_txn_anomaly_kind k);
/* "read-committed", ...; and back (returns 0, or -1 for an unknown name). */
const char *checker_txn_consistency_name(enum checker_txn_consistency c);
int checker_txn_consistency_parse(const char *s, enum checker_txn_consistency *out);
/* Bit set (1 << kind) of the anomalies model `c` forbids. */
uint32_t checker_txn_forbidden(enum checker_txn_consistency c);
/* Bit set (1 << model) of the models that the anomalies in `found` rule out. */
uint32_t checker_txn_ruled_out(uint32_t found);
/* True when model a is weaker than (implied by) model b, a != b. */
bool checker_txn_weaker(enum checker_txn_consistency a, enum checker_txn_consistency b);
/* The weakest models of a set (those with no weaker model in the set). */
uint32_t checker_txn_weakest(uint32_t models);
/* The cycle kind for `base` (G0..G2_ITEM) and a variant (0, process, realtime). */
static inline enum checker_txn_anomaly_kind checker_txn_cycle_kind(int base, int variant)
{
    return (enum checker_txn_anomaly_kind)(base + 5 * variant);
}

/* One anomaly: a cycle (txns[0] -> txns[1] -> ... -> txns[0], types[i] the
 * one edge type txns[i] -> txns[i+1] is used as), or for the other kinds the
 * transactions and micro-ops concerned:
 *   G1a, G1b, garbage, duplicate, internal: txns[0] read in mop (value);
 *     mop2 is the write read (G1a, G1b), CHECKER_TXN_NONE otherwise
 *   incompatible-order: mop and mop2 the two reads (txns[0], txns[1])
 *   lost-update: txns[0] and txns[1] both read mop/mop2's version and wrote. */
struct checker_txn_anomaly {
    uint8_t kind;
    uint32_t n;     /* transactions in txns */
    uint32_t *txns; /* owned */
    uint8_t *types; /* owned; cycles only */
    uint32_t mop, mop2;
    int64_t value;
    uint32_t *why; /* owned; cycles: per edge i, the micro-ops of txns[i] and txns[i+1]
                      that make it (2 * n entries, NONE for process/realtime edges) */
};

/* What was found: a count per kind and the shortest example of each. */
struct checker_txn_found {
    uint64_t count[CHECKER_TXN_N_ANOMALIES];
    struct checker_txn_anomaly example[CHECKER_TXN_N_ANOMALIES]; /* n == 0: none */
};

/* Counts `a` and keeps a copy of it when it is the first or shortest of its
 * kind. Returns 0 or FL_ENOMEM. */
int checker_txn_found_add(struct checker_txn_found *f, const struct checker_txn_anomaly *a);
/* Bit set of the kinds found. */
uint32_t checker_txn_found_kinds(const struct checker_txn_found *f);
void checker_txn_found_free(struct checker_txn_found *f);

#endif
