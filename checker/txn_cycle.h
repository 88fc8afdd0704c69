/* txn_cycle.h - cycle search in a dependency graph: Tarjan SCCs per edge-type mask, then
 * a shortest cycle per anomaly kind through a seed edge inside each component.
 *
 * Kinds without process or realtime edges, in order (Elle's):
 *   G0       components over ww; a ww seed edge closed by ww paths
 *   G1c      components over ww+wr; a wr seed closed by ww/wr paths
 *   G-single components over ww+wr+rw; every rw seed tried, closed by ww/wr
 *   G-nonadjacent  where no G-single: rw seeds closed by paths with no two rw in a row
 *   G2-item  where neither: any rw seed, any data path
 * Then with process edges (seeds: process edges) and with realtime edges too
 * (seeds: realtime edges), each found cycle named by what it holds. Every
 * cycle reported exists in the graph; whether none of a kind exists is
 * decided exactly unless the budget runs out. */
#ifndef CHECKER_TXN_CYCLE_H
#define CHECKER_TXN_CYCLE_H

#include "checker/txn_graph.h"
#include "checker/txn_model.h"

/* Searches g (built) and adds what it finds to `found`. Returns 0 when the
 * search was exhaustive, FL_EBUDGET when the budget ran out first (what was
 * found is still true), or FL_ENOMEM. */
int checker_txn_cycles(struct checker_txn_graph *g, struct checker_txn_found *found,
                       struct checker_txn_budget *budget);

/* Names a cycle by its n edge types: the cycle kind (txn_model.h). */
enum checker_txn_anomaly_kind checker_txn_cycle_classify(const uint8_t *types, uint32_t n);

#endif
