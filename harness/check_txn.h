/* check_txn.h - `faultline check --model list-append|rw-register`: one transactional history. */
#ifndef HARNESS_CHECK_TXN_H
#define HARNESS_CHECK_TXN_H

#include "checker/txn_check.h"
#include "common/history.h"

#include <stdbool.h>

struct harness_check_txn_opts {
    bool workload_given; /* else detected from the micro-ops */
    enum checker_txn_workload workload;
    enum checker_txn_consistency consistency;
    enum fl_history_format format;
    double timeout_s;
    size_t max_memory;
    bool json, quiet;
    const char *html; /* write the report page here (one history), or NULL */
};

/* Checks `path` and prints its verdict line (and explanation, or one JSON
 * object). Returns the verdict (0 valid, 1 invalid, 2 unknown) or 3 for an
 * input error (printed on stderr as "faultline check: PATH:LINE: ..."). */
int harness_check_txn_file(const char *path, const struct harness_check_txn_opts *o);

#endif
