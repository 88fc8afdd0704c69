/* check.h - one call from a history file to a verdict: load, pick the model,
 * apply the per-format defaults, search. Used by `faultline check`, the
 * benchmarks and the tests. */
#ifndef CHECKER_CHECK_H
#define CHECKER_CHECK_H

#include "checker/history.h"
#include "checker/linear.h"
#include "checker/minimize.h"
#include "checker/model.h"
#include "checker/sequential.h"

struct checker_check_options {
    const char *model;             /* NULL: detect from the operations' f */
    enum fl_history_format format; /* FL_FORMAT_AUTO: detect */
    json_t *initial;               /* borrowed; NULL: the format's default (below) */
    int nil_read_any;              /* -1: the format's default */
    struct checker_limits limits;
    /* Bytes the whole process may keep resident (faultline check's
     * --max-memory): reading stops past it, and the search caches get what
     * the loaded history leaves (at most limits.max_memory). Over it, the
     * verdict is `unknown` with the reason, never an out-of-memory kill.
     * 0: no process-wide bound (limits.max_memory alone caps the caches). */
    size_t max_rss;
};

/* Defaults by format. Knossos/Jepsen EDN histories use Knossos's conventions:
 * registers start at 0 (the kv model: "", as in Porcupine's kv model, whose
 * logs are EDN) and an ok read of nil is always legal. Our JSONL and
 * Jepsen text logs (etcd) start at nil, and a nil read means "absent". */
void checker_check_defaults(enum fl_history_format format, bool *initial_zero, bool *nil_read_any);

/* Picks a model from the operations' f names: txn -> multi-register,
 * acquire/release -> mutex, enqueue/dequeue -> queue, add+read -> set when a
 * read returns a collection else counter, get/put/append -> kv, otherwise
 * register. */
const struct checker_model_ops *checker_detect_model(const struct checker_history *h);

/* Loads `path` into *h (caller frees with checker_history_free, also on
 * error) and checks it into *res (caller frees with checker_result_free).
 * *model_used is set to the model chosen. Returns 0 for any verdict, or a
 * negative code with errmsg naming file, line and field. A history that does
 * not fit opt->max_rss is verdict `unknown` (reason: how far reading got)
 * with h->truncated set and no operations. */
int checker_check_file(const char *path, const struct checker_check_options *opt,
                       struct checker_history *h, struct checker_result *res,
                       const struct checker_model_ops **model_used, char *errmsg);

/* As checker_check_file, checking sequential consistency and the session
 * guarantees of sequential reads instead of linearizability (register and kv
 * histories; see sequential.h). Release *res with checker_seq_result_free. */
int checker_check_file_seq(const char *path, const struct checker_check_options *opt,
                           struct checker_history *h, struct checker_seq_result *res,
                           const struct checker_model_ops **model_used, char *errmsg);

/* Minimizes an invalid result of checker_check_file() (same model
 * configuration; budget: opt->limits.timeout_s). See minimize.h. */
int checker_check_minimize(const struct checker_history *h, const struct checker_model_ops *model,
                           const struct checker_check_options *opt,
                           const struct checker_result *res, struct checker_minimized *out,
                           char *errmsg);

#endif
