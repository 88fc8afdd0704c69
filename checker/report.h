/* report.h - a checked history as results.json (for tools) and report.html (for people).
 *
 * The analysis pairs the nemesis events of a history into fault intervals
 * (nemesis/fault.h: a fault is an invoke then an info with f = its kind; a
 * heal is an invoke then an info with f = "heal" and value {"fault": kind,
 * ...}; Jepsen's "stop" / "stop-X" events heal too), finds unavailability
 * windows (stretches longer than a threshold in which no operation completed
 * ok) and the time each fault took to recover from (first ok completion after
 * its heal).
 *
 * report.html is one self-contained page: inline CSS, SVG and a few lines of
 * JS, no reference to anything outside it (no URL, no src=). Its size is
 * bounded: past `max_timeline_ops` operations the timeline draws pixel
 * columns instead of operations, the latency plot samples at most
 * `max_scatter_points`, and the page says so. Text taken from the history is
 * escaped. */
#ifndef CHECKER_REPORT_H
#define CHECKER_REPORT_H

#include "checker/countercheck.h"
#include "checker/history.h"
#include "checker/linear.h"
#include "checker/minimize.h"
#include "checker/sequential.h"
#include "checker/setcheck.h"
#include "checker/stats.h"
#include "common/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct checker_report_options {
    int64_t unavailable_ns;    /* shortest gap without ok completions reported; default 1 s */
    size_t max_timeline_ops;   /* operations drawn one by one; default 3000 */
    size_t max_timeline_rects; /* bars of the downsampled timeline; default 20000 */
    size_t max_scatter_points; /* points of the latency plot; default 3000 */
};

void checker_report_options_default(struct checker_report_options *o);

/* What was checked. Every pointer is borrowed; a NULL checker was not run. */
struct checker_report_input {
    const struct checker_history *h;              /* required */
    const char *model;                            /* model name, or NULL */
    const struct checker_result *linear;          /* linearizability */
    const struct checker_seq_result *sequential;  /* sequential consistency (sequential reads) */
    const struct checker_set_result *set;         /* Jepsen set check */
    const struct checker_counter_result *counter; /* counter bounds */
    const struct checker_stats *stats;            /* latency and throughput */
    const char *title;      /* e.g. the scenario name; NULL: the history path */
    const char *expected;   /* "valid", "invalid", "unknown" or NULL */
    json_t *scenario;       /* the scenario as run, copied into results.json; or NULL */
    const char *extra_html; /* trusted HTML placed after the counterexample (the harness's
                               message diagram, its text escaped), or NULL */
    /* The smallest set of operations still not linearizable (minimize.h), for
     * an invalid `linear`; or NULL, then `minimize_note` says why (not asked
     * for, failed) when not NULL. */
    const struct checker_minimized *minimized;
    const char *minimize_note;
};

/* One fault interval. Times are ns on the history's clock; -1 when unknown. */
struct checker_report_fault {
    const char *kind; /* borrowed: the f of the fault's first event */
    json_t *value;    /* borrowed from the history's events: what was done */
    int64_t start;    /* the fault's invoke (or its info when alone) */
    int64_t applied;  /* its info, -1 when absent */
    int64_t end;      /* the heal's info (or invoke); -1 never healed */
    bool failed;      /* the info carried an "error" */
    int64_t first_ok; /* first ok completion at or after `end`; -1 none */
    /* First ok completion of an operation invoked at or after the fault took
     * effect (`applied`, else `start`): time from the fault to service again
     * (a failover), which `first_ok` cannot show when the fault heals before
     * the cluster recovers (a kill); -1 none. */
    int64_t first_ok_invoked_after;
};

/* A stretch without any ok completion. */
struct checker_report_window {
    int64_t start, end; /* ns */
    bool open;          /* still unavailable when the history ends */
};

struct checker_report_analysis {
    int64_t t0, t1; /* earliest and latest time in the history (0, 0 without times) */
    struct checker_report_fault *faults; /* owned, by start */
    size_t n_faults;
    struct checker_report_window *windows; /* owned, in time order */
    size_t n_windows;
    size_t n_other_nemesis; /* nemesis events that are neither a fault nor a heal */
};

/* Analyses `h` (borrowed; must outlive *a, whose faults borrow from it).
 * Returns 0 or FL_ENOMEM (then *a holds nothing). */
int checker_report_analyze(const struct checker_history *h, const struct checker_report_options *o,
                           struct checker_report_analysis *a, char *errmsg);
void checker_report_analysis_free(struct checker_report_analysis *a);

/* The overall verdict: invalid when a checker found the history invalid, else
 * unknown when one could not decide (or none ran), else valid. Statistics
 * have no verdict. */
enum checker_verdict checker_report_verdict(const struct checker_report_input *in);

/* Why the overall verdict is unknown whatever the checkers say, or NULL:
 * a history with no ok client operation (then unknown, never valid). */
const char *checker_report_verdict_reason(const struct checker_report_input *in);

/* Returns a new reference, the results.json object, or NULL on OOM:
 *   {"format": 1, "title", "history", "model", "verdict", ["verdict_reason",] "expected",
 *    "as_expected", "checkers": {"linearizable": {...}, "set": {...},
 *    "counter": {...}, "stats": {"verdict": "info"}},
 *    "counts": {"events", "operations", "ok", "fail", "info", "nemesis_events",
 *               "by_f": {F: {"ok", "fail", "info"}}},
 *    "throughput": {"bucket_s", "ok_per_s": [...], "mean_ok_per_s"},
 *    "latency_ms": {F: {"count", "p50", "p90", "p99", "max"}},
 *    "faults": [{"kind", "start_s", "applied_s", "end_s", "duration_s",
 *                "failed", "value", "recovery_s", "failover_s"}],
 *    "unavailability": {"threshold_s", "total_s",
 *                       "windows": [{"start_s", "end_s", "duration_s", "open", "faults": [i]}]},
 *    "counterexample": {...} (only when linearizability found it invalid),
 *    "minimized": {"operations": [...], "from", "candidates", "undecided", "out_of_time",
 *                  "minimal", "seconds", "budget_s"} or {"not_computed": why}
 *                 (only with the counterexample),
 *    "scenario": {...} (when given)}
 * Times are seconds from the start of the history (reals). */
json_t *checker_report_json(const struct checker_report_input *in,
                            const struct checker_report_analysis *a,
                            const struct checker_report_options *o);

/* Appends report.html to `out`. Returns 0 or FL_ENOMEM (out->oom). */
int checker_report_html(const struct checker_report_input *in,
                        const struct checker_report_analysis *a,
                        const struct checker_report_options *o, struct fl_buf *out);

/* ==== Parts of the page, for pages of other checkers (txn_explain.c) ==== */

/* An operation another checker points at (a transactional anomaly's
 * transaction): outlined on the timeline with `label` (escaped) beside it
 * and `what` in its tooltip. */
struct checker_report_mark {
    size_t op;        /* index into h->ops */
    char label[24];   /* e.g. "T3" */
    const char *what; /* borrowed, e.g. "G-single"; or NULL */
};

/* The head (shared CSS plus `extra_css`, trusted, or NULL), and the title
 * (escaped) with the verdict badge. */
void checker_report_page_begin(struct fl_buf *out, const char *title, const char *verdict,
                               const char *extra_css);
/* The timeline of report.html (faults shaded, node events, unavailability)
 * with `marks` (at most 200 drawn) on top. Returns 0 or FL_ENOMEM. */
int checker_report_timeline_html(const struct checker_history *h,
                                 const struct checker_report_analysis *a,
                                 const struct checker_report_options *o,
                                 const struct checker_report_mark *marks, size_t n_marks,
                                 struct fl_buf *out);
/* The latency plot and the fault and unavailability tables of report.html. */
void checker_report_faults_html(const struct checker_history *h,
                                const struct checker_report_analysis *a,
                                const struct checker_report_options *o, struct fl_buf *out);
/* The footer and the page's script. Returns 0 or FL_ENOMEM (out->oom). */
int checker_report_page_end(struct fl_buf *out);

/* Appends `s` escaped for HTML text and attributes, at most `max` bytes of it
 * (then "..."; (size_t)-1: all). '/', ':' and '=' are escaped too, so no
 * untrusted text (a history, a results file) can form "http:" or "src=" in a page;
 * control bytes but tab and newline become '?'. Used by report.html and
 * faultline compare's page. */
void checker_html_escape(struct fl_buf *out, const char *s, size_t max);

/* Writes `len` bytes of `data` (borrowed) to `path` atomically: PATH.tmp is
 * written, fsynced and renamed over `path`. Returns 0 or a negative errno
 * with errmsg naming the file. */
int checker_report_write_file(const char *path, const char *data, size_t len, char *errmsg);

/* ==== Internal (report.c and report_html.c) ==== */

/* "valid", "invalid", or "unknown" (no final read, or elements never read). */
const char *checker__report_set_verdict(const struct checker_set_result *r);
/* True when fault `f` (open faults last until t1) overlaps [start, end]. */
bool checker__report_overlaps(const struct checker_report_fault *f, int64_t start, int64_t end,
                              int64_t t1);

#endif
