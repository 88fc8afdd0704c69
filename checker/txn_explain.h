/* txn_explain.h - transactional anomalies in plain words, as JSON, and as a small drawn cycle.
 *
 * Each cycle is told edge by edge, each edge by its own type, naming the key
 * and values that make it ("T3 read key 4 as [1 2] without 7, which T9
 * appended after: T3 -rw-> T9"). The reasons are found while the inference
 * is at hand (checker_txn_explain_why) and kept in the anomaly as data; text,
 * JSON and SVG are drawn from that data and the history alone. */
#ifndef CHECKER_TXN_EXPLAIN_H
#define CHECKER_TXN_EXPLAIN_H

#include "checker/report.h"
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

/* The run's operations and faults as report.html reads them (the same file
 * loaded by checker_history_load, analysed by checker_report_analyze), for
 * the fault timeline. h NULL: no timeline, `note` says why. */
struct checker_txn_report_timeline {
    const struct checker_history *h;
    const struct checker_report_analysis *a;
    const struct checker_report_options *o;
    const char *note;
};

/* A self-contained HTML page built from report.html's parts (report.h): the
 * verdict, the models ruled out, the timeline of `tl` (NULL: none) with the
 * faults shaded and each anomaly example's transactions marked, per anomaly
 * kind its shortest example drawn as a cycle with its steps in words, then
 * the latency plot and the fault tables. `title` is escaped. Returns 0 or
 * FL_ENOMEM (out->oom). */
int checker_txn_report_html(const struct checker_txn_history *h,
                            const struct checker_txn_result *res, const char *title,
                            const struct checker_txn_report_timeline *tl, struct fl_buf *out);

/* The page with the timeline: reads h->path again as report.html does (a
 * history from standard input, one of more than `max_txns` transactions (0:
 * CHECKER_TXN_REPORT_MAX_TXNS), or one past the memory budget gets the page
 * without it, saying why). Returns 0 or FL_ENOMEM. */
#define CHECKER_TXN_REPORT_MAX_TXNS 100000 /* 100k: ~6 s and ~290 MiB more than the check */
int checker_txn_report_page(const struct checker_txn_history *h,
                            const struct checker_txn_result *res, const char *title,
                            size_t max_txns, struct fl_buf *out);

/* One sentence for step i of the cycle a (into out, no newline). */
void checker_txn_step_text(const struct checker_txn_history *h, const struct checker_txn_anomaly *a,
                           uint32_t i, struct fl_buf *out);

#endif
