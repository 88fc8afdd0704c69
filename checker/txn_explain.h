/* txn_explain.h - transactional anomalies in plain words, as JSON, and as a small drawn cycle.
 *
 * Each cycle is told edge by edge, each edge by its own type, naming the key
 * and values that make it ("T3 read key 4 as [1 2] without 7, which T9
 * appended after: T3 -rw-> T9"). The reasons are found while the inference
 * is at hand (checker_txn_explain_why) and kept in the anomaly as data; text,
 * JSON and SVG are drawn from that data and the history alone. */
#ifndef CHECKER_TXN_EXPLAIN_H
#define CHECKER_TXN_EXPLAIN_H

#include "checker/txn_check.h"
#include "common/buf.h"

#include <jansson.h>

/* Fills a->why for a cycle: for each edge, the micro-ops that make it.
 * Returns 0 or FL_ENOMEM. */
int checker_txn_explain_why(const struct checker_txn_history *h,
                            const struct checker_txn_infer *inf, struct checker_txn_anomaly *a);

/* The lines that follow a verdict line: what the anomalies rule out, then
 * each kind found with its shortest example told step by step. */
void checker_txn_explain_text(const struct checker_txn_history *h,
                              const struct checker_txn_result *res, struct fl_buf *out);

/* A new reference: the result as one JSON object (verdict, counts, models
 * ruled out, the weakest, the anomalies with their steps). */
json_t *checker_txn_result_json(const struct checker_txn_history *h,
                                const struct checker_txn_result *res);

/* An inline <svg> of one cycle: transactions on a circle, edges as arrows
 * labelled with their type. Text from the history is escaped. */
void checker_txn_cycle_svg(const struct checker_txn_history *h, const struct checker_txn_anomaly *a,
                           struct fl_buf *out);

/* A self-contained HTML page (inline CSS and SVG, nothing fetched): the
 * verdict, the models ruled out, and per anomaly kind its shortest example
 * drawn as a cycle with its steps in words. `title` is escaped. */
void checker_txn_report_html(const struct checker_txn_history *h,
                             const struct checker_txn_result *res, const char *title,
                             struct fl_buf *out);

/* One sentence for step i of the cycle a (into out, no newline). */
void checker_txn_step_text(const struct checker_txn_history *h, const struct checker_txn_anomaly *a,
                           uint32_t i, struct fl_buf *out);

#endif
