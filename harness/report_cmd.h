/* report_cmd.h - `faultline report`: results.json and report.html from a saved history. */
#ifndef HARNESS_REPORT_CMD_H
#define HARNESS_REPORT_CMD_H

#include "checker/linear.h"
#include "harness/scenario.h"

#include <jansson.h>
#include <stdbool.h>

struct harness_report_request {
    const char *history;                     /* JSONL (or EDN, Jepsen log) history path */
    const struct harness_scenario *scenario; /* borrowed, or NULL: model detected,
                                              * linearizable + stats (+ set/counter by model) */
    const char *json_out;                    /* results.json path, or NULL: not written */
    const char *html_out;                    /* report.html path, or NULL: not written */
    double timeout_s;                        /* linearizability budget; <= 0: none */
    int threads;                             /* checker threads; 0: one per CPU */
    /* When not linearizable: find the smallest set of operations still not
     * linearizable (checker/minimize.h) for the page and results.json, within
     * minimize_s seconds (<= 0: no bound). */
    bool minimize;
    double minimize_s;
};

/* Checks `req->history` with the scenario's checkers (model and checkers from
 * the scenario when given) and writes the requested files atomically. The
 * scenario as run (with its seed) goes into results.json. *verdict receives
 * the overall verdict. Returns 0 for any verdict, or a negative code with
 * errmsg naming the file, line and field (unreadable or inconsistent history,
 * a file that cannot be written). This is what `faultline run` calls after a
 * run. */
int harness_report_generate(const struct harness_report_request *req, enum checker_verdict *verdict,
                            char *errmsg);

/* Runs the report subcommand (argv[0] is "report"):
 *   faultline report DIR|HISTORY [--out FILE] [--json FILE] [--timeout S] [--minimize]
 * DIR is a results folder: reads DIR/history.jsonl and DIR/scenario.json
 * (when present), writes DIR/results.json and DIR/report.html. HISTORY is a
 * history file: both files go next to it. --out and --json choose other
 * paths. --minimize adds the minimal counterexample of an invalid history,
 * bounded by --timeout (default 60 s). Returns the exit code: 0 valid, 1 invalid, 2 unknown, 3
 * usage or input error. */
int harness_report_main(int argc, char **argv);

#endif
