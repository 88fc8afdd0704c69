/* check.c - from a history file to a linearizability verdict. */
#include "checker/check.h"

#include "common/error.h"
#include "common/mem.h"

#include <stdio.h>

#include <string.h>

/* What the check allocates per operation besides the search caches (per-key
 * operation arrays, the unique-value procedure's sort, the search's stack
 * and bitsets), and the least cache worth starting a search with. Measured
 * with bench_checker --memory: peak RSS less the RSS after loading. */
#define CHECKER_SEARCH_BYTES_PER_OP 160
#define CHECKER_SEARCH_MIN_CACHE    ((size_t)4 << 20)

void checker_check_defaults(enum fl_history_format format, bool *initial_zero, bool *nil_read_any)
{
    *initial_zero = format == FL_FORMAT_EDN;
    *nil_read_any = format == FL_FORMAT_EDN;
}

const struct checker_model_ops *checker_detect_model(const struct checker_history *h)
{
    bool txn = false, mutex = false, queue = false, add = false, kv = false, coll = false;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct checker_hop *op = &h->ops[i];
        const char *f = op->f;
        if (strcmp(f, "txn") == 0)
            txn = true;
        else if (strcmp(f, "acquire") == 0 || strcmp(f, "release") == 0)
            mutex = true;
        else if (strcmp(f, "enqueue") == 0 || strcmp(f, "dequeue") == 0)
            queue = true;
        else if (strcmp(f, "add") == 0)
            add = true;
        else if (strcmp(f, "get") == 0 || strcmp(f, "put") == 0 || strcmp(f, "append") == 0)
            kv = true;
        else if (strcmp(f, "read") == 0 && op->status == FL_EVENT_OK && json_is_array(op->value))
            coll = true;
    }
    if (txn)
        return &checker_model_multi_register;
    if (mutex)
        return &checker_model_mutex;
    if (queue)
        return &checker_model_queue;
    if (add)
        return coll ? &checker_model_set : &checker_model_counter;
    if (kv)
        return &checker_model_kv;
    return &checker_model_register;
}

/* The model configuration checker_check_file() checks with; *zero (to
 * release) holds a default initial value it made. */
static int make_config(const struct checker_history *h, const struct checker_model_ops *model,
                       const struct checker_check_options *opt, struct checker_model_config *cfg,
                       json_t **zero, char *errmsg)
{
    memset(cfg, 0, sizeof *cfg);
    *zero = NULL;
    bool initial_zero, nil_any;
    checker_check_defaults(h->format, &initial_zero, &nil_any);
    if (initial_zero) {
        /* Knossos registers start at 0; get/put/append histories in EDN come
         * from Porcupine's kv model, where every key starts as "". */
        *zero = model == &checker_model_kv ? json_string("") : json_integer(0);
        if (!*zero)
            return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        cfg->initial = *zero;
    }
    if (opt->initial)
        cfg->initial = opt->initial;
    cfg->nil_read_any = opt->nil_read_any >= 0 ? opt->nil_read_any != 0 : nil_any;
    cfg->edn = h->format == FL_FORMAT_EDN || h->format == FL_FORMAT_JEPSEN_LOG;
    return 0;
}

int checker_check_minimize(const struct checker_history *h, const struct checker_model_ops *model,
                           const struct checker_check_options *opt,
                           const struct checker_result *res, struct checker_minimized *out,
                           char *errmsg)
{
    struct checker_model_config cfg;
    json_t *zero;
    int rc = make_config(h, model, opt, &cfg, &zero, errmsg);
    if (rc == 0)
        rc = checker_minimize(h, model, &cfg, res, opt->limits.procedure, opt->limits.timeout_s,
                              out, errmsg);
    json_decref(zero);
    return rc;
}

/* The fields a refusal fills, the same in both result types (checker_result,
 * checker_seq_result). */
struct refusal {
    enum checker_verdict *verdict;
    const char **refused;
    char *reason;
    size_t reason_len;
};
#define REFUSAL(res) \
    ((struct refusal){&(res)->verdict, &(res)->refused, (res)->reason, sizeof (res)->reason})

/* Reads PATH within --max-memory and picks the model (--model, else detected).
 * A history cut short by the memory bound is not an error: the result is then
 * unknown, refused "while reading", its reason errmsg's without the path the
 * output line starts with, and 1 is returned (0: go on checking). */
static int load_for_check(const char *path, const struct checker_check_options *opt,
                          struct checker_history *h, const struct checker_model_ops **model_used,
                          struct refusal out, char *errmsg)
{
    int rc = checker_history_load_capped(h, path, opt->format, opt->max_rss, errmsg);
    if (rc < 0 && !((rc == FL_EBUDGET || rc == FL_EUNDECIDED) && h->truncated))
        return rc;
    if (opt->model) {
        *model_used = checker_model_find(opt->model);
        if (!*model_used)
            return fl_errorf(errmsg, FL_EUSAGE, "--model: unknown model \"%s\"", opt->model);
    } else {
        *model_used = checker_detect_model(h);
    }
    if (!h->truncated)
        return 0;
    size_t plen = strlen(path);
    *out.verdict = CHECKER_UNKNOWN;
    *out.refused = "while reading";
    snprintf(out.reason, out.reason_len, "%s",
             strncmp(errmsg, path, plen) == 0 && errmsg[plen] == ':' ? errmsg + plen + 2 : errmsg);
    return 1;
}

int checker_check_file(const char *path, const struct checker_check_options *opt,
                       struct checker_history *h, struct checker_result *res,
                       const struct checker_model_ops **model_used, char *errmsg)
{
    int rc;
    memset(res, 0, sizeof *res);
    if ((rc = load_for_check(path, opt, h, model_used, REFUSAL(res), errmsg)) != 0)
        return rc < 0 ? rc : 0;
    const struct checker_model_ops *model = *model_used;
    struct checker_limits limits = opt->limits;
    if (opt->max_rss) {
        /* The search gets what the history left, less what it allocates per
         * operation besides its caches (measured: README "Memory"). */
        size_t rss = fl_mem_rss();
        size_t need = rss + h->n_ops * CHECKER_SEARCH_BYTES_PER_OP + CHECKER_SEARCH_MIN_CACHE;
        if (rss && need > opt->max_rss) {
            res->verdict = CHECKER_UNKNOWN;
            res->refused = "before the search";
            res->n_ops = h->n_ops;
            snprintf(res->reason, sizeof res->reason,
                     "the history leaves no room for the search within --max-memory %zu MiB "
                     "(%zu MiB resident for %zu operations, %zu MiB more needed)",
                     opt->max_rss >> 20, rss >> 20, h->n_ops, (need - opt->max_rss + (1 << 20) - 1) >> 20);
            return 0;
        }
        if (rss) {
            size_t room = opt->max_rss - (need - CHECKER_SEARCH_MIN_CACHE);
            size_t cap = limits.max_memory ? limits.max_memory : checker_default_max_memory();
            limits.max_memory = room < cap ? room : cap;
        }
    }

    struct checker_model_config cfg;
    json_t *zero;
    if ((rc = make_config(h, model, opt, &cfg, &zero, errmsg)) < 0)
        return rc;
    rc = checker_linear_check(h, model, &cfg, &limits, res, errmsg);
    json_decref(zero);
    return rc;
}

int checker_check_file_seq(const char *path, const struct checker_check_options *opt,
                           struct checker_history *h, struct checker_seq_result *res,
                           const struct checker_model_ops **model_used, char *errmsg)
{
    int rc;
    memset(res, 0, sizeof *res);
    if ((rc = load_for_check(path, opt, h, model_used, REFUSAL(res), errmsg)) != 0)
        return rc < 0 ? rc : 0;
    const struct checker_model_ops *model = *model_used;
    struct checker_model_config cfg;
    json_t *zero;
    if ((rc = make_config(h, model, opt, &cfg, &zero, errmsg)) < 0)
        return rc;
    struct checker_seq_limits lim = {.timeout_s = opt->limits.timeout_s,
                                     .max_memory = opt->limits.max_memory};
    if (opt->max_rss) {
        size_t rss = fl_mem_rss();
        size_t room = rss && rss < opt->max_rss ? opt->max_rss - rss : 0;
        if (rss && (!lim.max_memory || room < lim.max_memory))
            lim.max_memory = room ? room : 1;
    }
    rc = checker_seq_check(h, model, &cfg, &lim, res, errmsg);
    json_decref(zero);
    return rc;
}
