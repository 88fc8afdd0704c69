/* explain.h - a linearizability result in plain words and as JSON. */
#ifndef CHECKER_EXPLAIN_H
#define CHECKER_EXPLAIN_H

#include "checker/history.h"
#include "checker/linear.h"
#include "checker/minimize.h"
#include "common/buf.h"

#include <jansson.h>

/* Appends the counterexample of an invalid result to out, for people: the
 * operation that could not be linearized, the states reachable just before
 * it, the operations concurrent with it, and the tail of the longest
 * linearizable prefix (`prefix_tail` operations; 0 for all). */
void checker_explain_text(const struct checker_history *h, const struct checker_result *res,
                          size_t prefix_tail, struct fl_buf *out);

/* Returns a new reference: the result as a JSON object (verdict, counts,
 * timing, and the full counterexample when invalid). NULL on OOM. */
json_t *checker_explain_json(const struct checker_history *h, const struct checker_result *res);
/* One operation as JSON: process, type, f, value, lines and positions, key,
 * and `desc` when not NULL. */
json_t *checker_hop_json(const struct checker_history *h, size_t idx, const char *desc);
/* Returns a new reference: a minimal counterexample as {"operations": [op...],
 * "from", "candidates", "undecided", "out_of_time", "minimal", "seconds",
 * "budget_s"}. NULL on OOM. */
json_t *checker_minimized_json(const struct checker_history *h, const struct checker_minimized *m);

#endif
