/* txn_infer.h - Elle's inference: from a transactional history to dependency edges and the
 * anomalies that need no cycle.
 *
 * list-append (Kingsbury & Alvaro, "Elle", VLDB 2020, section 4): every read
 * of a key returns a prefix of its version order, so the longest read gives
 * the order of every value it holds. ww: the writer of each value -> the
 * writer of the next; wr: the writer of a read's last value -> the reader;
 * rw: a reader -> the writer of the first value its read lacks. Appends by
 * committed transactions that no read saw come after the longest read (ww
 * from its last writer, rw from the readers of all of it).
 *
 * rw-register (weaker, nothing invented): values are unique, so a read names
 * its writer (wr); the initial nil precedes every write, so a reader of nil
 * -> every committed writer of the key (rw). No ww edges: the order of two
 * writes is not observable.
 *
 * Both: process edges (a process's consecutive transactions) and realtime
 * edges (T1 completed before T2 was invoked; only the frontier of recent
 * completions, which keeps the relation's transitive reduction small).
 *
 * Only committed transactions are nodes with edges: ok ones, and info ones
 * whose writes some read observed (an info transaction nobody observed may
 * never have happened, and the checker chooses that). Reads are taken from
 * ok transactions only; a transaction's own earlier micro-ops make its later
 * reads internal (checked against them). The first read of a key in a
 * transaction is used for inference: all of it when nothing of the
 * transaction's came before, else (list-append) without its own appends at
 * the end, when it passed the internal check. */
#ifndef CHECKER_TXN_INFER_H
#define CHECKER_TXN_INFER_H

#include "checker/txn_graph.h"
#include "checker/txn_history.h"
#include "checker/txn_model.h"

enum checker_txn_workload { CHECKER_TXN_LIST_APPEND, CHECKER_TXN_RW_REGISTER };

/* mop_flags bits */
#define CHECKER_TXN_EXT      1  /* first micro-op on its key in its transaction */
#define CHECKER_TXN_FINAL    2  /* last write to its key in its transaction */
#define CHECKER_TXN_OBSERVED 4  /* a write that a read of another transaction returned */
#define CHECKER_TXN_RMW      8  /* an external read of a key its transaction then writes */
#define CHECKER_TXN_FIRSTR   16 /* first read of its key in its transaction */
#define CHECKER_TXN_BADINT   32 /* a read that disagrees with its own transaction (internal) */

struct checker_txn_infer {
    enum checker_txn_workload workload;
    uint32_t *mop_txn;    /* micro-op -> its transaction */
    uint8_t *mop_flags;   /* CHECKER_TXN_EXT | ... */
    uint32_t *elem_w;     /* list-append: elems[i] -> the append that wrote it, or NONE */
    uint32_t *read_w;     /* per read micro-op: the write whose version it returned (the
                             last element; the value), NONE for nil/empty or unknown */
    uint8_t *committed;   /* per transaction */
    uint32_t *vpos;       /* list-append: per write, its place in its key's order, or NONE */
    uint32_t *rlen;       /* list-append: per read, how many of its values other transactions wrote
                             (a first read after the transaction's own appends ends with them) */
    bool orders_complete; /* every key's version order is known: the graph is exact */
    char incomplete[160]; /* why not */
    size_t n_edges_skipped; /* rw edges dropped by the edge budget */
};

/* Infers edges into g (initialised for h->n_txns nodes, not built) and the
 * non-cycle anomalies into found. At most max_edges edges are added
 * (0: no limit); beyond that, edges are dropped and orders_complete turns
 * false, which can only make a verdict unknown. Returns 0, or a negative
 * code with errmsg naming the line for a history that does not fit the
 * workload (a read of the wrong shape, a value written twice). */
int checker_txn_infer(const struct checker_txn_history *h, enum checker_txn_workload w,
                      struct checker_txn_infer *inf, struct checker_txn_graph *g,
                      struct checker_txn_found *found, size_t max_edges, char *errmsg);
void checker_txn_infer_free(struct checker_txn_infer *inf);

#endif
