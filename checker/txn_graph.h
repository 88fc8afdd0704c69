/* txn_graph.h - the dependency graph between transactions (Elle, Adya): typed edges in
 * compressed rows, strongly connected components and shortest constrained paths.
 *
 * Nodes are transaction indexes. An edge carries a bit set of types (an edge
 * can be ww on one key and rw on another); searches name the types they may
 * use. Self-loops are never stored. Built once (add, then build), read-only
 * afterwards. */
#ifndef CHECKER_TXN_GRAPH_H
#define CHECKER_TXN_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum checker_txn_edge {
    CHECKER_TXN_WW = 1,       /* write-write: T1 installed a version, T2 the next */
    CHECKER_TXN_WR = 2,       /* write-read: T2 read what T1 wrote */
    CHECKER_TXN_RW = 4,       /* read-write (anti-dependency): T2 overwrote what T1 read */
    CHECKER_TXN_PROCESS = 8,  /* T2 came after T1 on the same process */
    CHECKER_TXN_REALTIME = 16 /* T1 completed before T2 was invoked */
};
#define CHECKER_TXN_DATA (CHECKER_TXN_WW | CHECKER_TXN_WR | CHECKER_TXN_RW)

/* A search budget: a deadline and a flag raised when it passed. */
struct checker_txn_budget {
    int64_t deadline_ns; /* CLOCK_MONOTONIC; 0: none */
    bool exceeded;
    uint32_t tick;
};
/* True when the budget ran out (checks the clock every few thousand calls). */
bool checker_txn_budget_out(struct checker_txn_budget *b);
int64_t checker_txn_now_ns(void);

struct checker_txn_graph {
    uint32_t n;
    /* compressed rows (after build) */
    uint32_t *off; /* n + 1 */
    uint32_t *dst;
    uint8_t *type;
    size_t m;
    /* edges while building */
    uint64_t *pairs; /* src << 32 | dst */
    uint8_t *ptype;
    size_t n_pairs, cap_pairs;
    /* search scratch */
    uint32_t *stamp, *parent, *pedge, *queue;
    uint32_t cur_stamp;
};

int checker_txn_graph_init(struct checker_txn_graph *g, uint32_t n);
void checker_txn_graph_free(struct checker_txn_graph *g);
/* Adds an edge (ignored when src == dst). Returns 0 or FL_ENOMEM. */
int checker_txn_graph_add(struct checker_txn_graph *g, uint32_t src, uint32_t dst, uint8_t type);
/* Turns the added edges into rows; frees the edge list. */
int checker_txn_graph_build(struct checker_txn_graph *g);
/* Bytes the graph will take once built with `n_pairs` edges (for budgets). */
size_t checker_txn_graph_bytes(uint32_t n, size_t n_pairs);

/* Strongly connected components over edges with a type in `mask` (Tarjan,
 * iterative). comp[v] is the component of v, or CHECKER_TXN_NONE (txn_history.h)
 * when v is alone in its component: only components that hold a cycle are
 * numbered. *n_comp receives how many. `comp` has n entries. With `only`
 * (n flags, or NULL for all), nodes without the flag are left out. */
int checker_txn_graph_scc(const struct checker_txn_graph *g, uint8_t mask, const uint8_t *only,
                          uint32_t *comp, uint32_t *n_comp);

enum checker_txn_path_mode {
    CHECKER_TXN_PATH_ANY,   /* any edges of the mask */
    CHECKER_TXN_PATH_NONADJ /* never two rw edges in a row, counting the closing rw seed
                               edge into `from` and out of `to` */
};

/* Shortest path from `from` to `to` over edges with a type in `mask` whose
 * nodes all have comp[v] == c (comp may be NULL: no restriction). The path's
 * nodes (from first, to last) go to out_nodes and the type each edge is used
 * as (one bit) to out_types[i] for the edge out_nodes[i] -> out_nodes[i+1];
 * both must hold `max_len` entries. Returns the number of nodes, 0 when there
 * is no path within max_len nodes, or a negative code (budget: FL_EBUDGET). */
int checker_txn_graph_path(struct checker_txn_graph *g, uint32_t from, uint32_t to, uint8_t mask,
                           enum checker_txn_path_mode mode, const uint32_t *comp, uint32_t c,
                           uint32_t *out_nodes, uint8_t *out_types, size_t max_len,
                           struct checker_txn_budget *budget);

/* The one type an edge of types `t` is used as when `allowed` may be used:
 * ww, then wr, process, realtime, rw (the weakest claim that explains it). */
uint8_t checker_txn_edge_pick(uint8_t t, uint8_t allowed);

#endif
