/* minimize.c - ddmin over operations; see minimize.h. */
#include "checker/minimize.h"

#include "common/alloc.h"
#include "common/error.h"

#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct mctx {
    const struct checker_history *h;
    const struct checker_model_ops *model;
    const struct checker_model_config *config;
    enum checker_procedure procedure;
    double deadline; /* 0: none */
    double cap;      /* seconds one candidate may take; 0: no cap */
    struct checker_hop *scratch;
    const size_t *start; /* the operations searched (the invalid key's), ascending */
    size_t n_start;
    size_t candidates;
    size_t undecided; /* candidates that took their whole share */
    bool out_of_time;
};

/* 1: the operations `idx` alone are not linearizable; 0: they are, or that
 * was not shown within the candidate's share of the budget (mc->undecided)
 * or the budget (mc->out_of_time); negative: an error. */
static int still_invalid(struct mctx *mc, const size_t *idx, size_t n, char *errmsg)
{
    if (mc->deadline > 0 && now_s() > mc->deadline) {
        mc->out_of_time = true;
        return 0;
    }
    /* The operations left out stay as indeterminate ones (invoked, never
     * known to complete: they may have taken effect at any point after their
     * invocation, or not at all), so a smaller set is never invalid only
     * because a write a read depends on was dropped. */
    struct checker_history sub = *mc->h;
    /* A left-out operation invoked after every kept one returned takes
     * effect after all of them, so it can neither explain nor break them:
     * dropped (the same verdict, and far fewer indeterminate operations for
     * the search when the candidate is an early chunk). */
    int64_t last_ret = INT64_MIN;
    for (size_t j = 0; j < n; j++) {
        const struct checker_hop *op = &mc->h->ops[idx[j]];
        int64_t r = op->status == FL_EVENT_INFO ? CHECKER_POS_NEVER : op->ret;
        last_ret = r > last_ret ? r : last_ret;
    }
    size_t k = 0, m = 0;
    for (size_t i = 0; i < mc->n_start; i++) {
        struct checker_hop op = mc->h->ops[mc->start[i]];
        if (k < n && idx[k] == mc->start[i]) {
            k++;
        } else if (op.call > last_ret) {
            continue;
        } else if (op.status == FL_EVENT_OK) {
            op.status = FL_EVENT_INFO;
            op.value = op.invoke_value;
            op.ret = CHECKER_POS_NEVER;
            op.ret_time = -1;
            op.error = NULL;
        }
        mc->scratch[m++] = op;
    }
    sub.ops = mc->scratch;
    sub.n_ops = m;
    struct checker_limits lim = {.procedure = mc->procedure, .threads = 1};
    if (mc->deadline > 0) {
        lim.timeout_s = mc->deadline - now_s();
        if (lim.timeout_s <= 0) {
            mc->out_of_time = true;
            return 0;
        }
        if (lim.timeout_s > mc->cap)
            lim.timeout_s = mc->cap;
    }
    struct checker_result r;
    memset(&r, 0, sizeof r);
    int rc = checker_linear_check(&sub, mc->model, mc->config, &lim, &r, errmsg);
    mc->candidates++;
    enum checker_verdict v = r.verdict;
    checker_result_free(&r);
    if (rc < 0)
        return rc;
    /* Undecided within its share: kept as "not shown invalid" and the search
     * goes on with other candidates (an invalid proof over many indeterminate
     * operations can take the search far longer than the chunks around it). */
    if (v == CHECKER_UNKNOWN) {
        if (mc->deadline > 0 && now_s() >= mc->deadline)
            mc->out_of_time = true;
        else
            mc->undecided++;
    }
    return v == CHECKER_INVALID;
}

int checker_minimize(const struct checker_history *h, const struct checker_model_ops *model,
                     const struct checker_model_config *config, const struct checker_result *res,
                     enum checker_procedure procedure, double timeout_s,
                     struct checker_minimized *out, char *errmsg)
{
    memset(out, 0, sizeof *out);
    if (res->verdict != CHECKER_INVALID || !res->has_cex)
        return fl_errorf(errmsg, FL_EUSAGE, "minimize: the history is not invalid");
    struct mctx mc = {.h = h, .model = model, .config = config, .procedure = procedure};
    double t0 = now_s();
    if (timeout_s > 0) {
        mc.deadline = t0 + timeout_s;
        mc.cap = timeout_s / 10;
    }
    size_t *cur = fl_calloc(h->n_ops ? h->n_ops : 1, sizeof *cur);
    size_t *cand = fl_calloc(h->n_ops ? h->n_ops : 1, sizeof *cand);
    mc.scratch = fl_calloc(h->n_ops ? h->n_ops : 1, sizeof *mc.scratch);
    int rc = 0;
    if (!cur || !cand || !mc.scratch) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    size_t n = 0;
    for (size_t i = 0; i < h->n_ops; i++)
        if (h->ops[i].key_id == res->cex.key_id)
            cur[n++] = i;
    out->n_start = n;
    size_t *start = fl_calloc(n ? n : 1, sizeof *start);
    if (!start) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(start, cur, n * sizeof *start);
    mc.start = start;
    mc.n_start = n;
    /* ddmin: split the current set into `parts` chunks; keep a chunk that is
     * invalid alone, else a complement that is, else split finer. Ends
     * 1-minimal: removing any single operation makes the rest linearizable. */
    size_t parts = 2;
    while (n >= 2 && !mc.out_of_time) {
        if (parts > n)
            parts = n;
        bool reduced = false;
        for (size_t c = 0; c < parts && !reduced && !mc.out_of_time; c++) {
            size_t lo = n * c / parts, hi = n * (c + 1) / parts;
            memcpy(cand, cur + lo, (hi - lo) * sizeof *cand);
            if ((rc = still_invalid(&mc, cand, hi - lo, errmsg)) < 0)
                goto out;
            if (rc) {
                memcpy(cur, cand, (hi - lo) * sizeof *cur);
                n = hi - lo;
                parts = 2;
                reduced = true;
            }
        }
        for (size_t c = 0; c < parts && !reduced && !mc.out_of_time && parts > 2; c++) {
            size_t lo = n * c / parts, hi = n * (c + 1) / parts, m = 0;
            for (size_t i = 0; i < n; i++)
                if (i < lo || i >= hi)
                    cand[m++] = cur[i];
            if ((rc = still_invalid(&mc, cand, m, errmsg)) < 0)
                goto out;
            if (rc) {
                memcpy(cur, cand, m * sizeof *cur);
                n = m;
                parts = parts - 1 > 2 ? parts - 1 : 2;
                reduced = true;
            }
        }
        if (reduced)
            continue;
        if (parts >= n)
            break; /* 1-minimal */
        parts = parts * 2 < n ? parts * 2 : n;
    }
    /* With two chunks the complements are the chunks themselves: the loop
     * above skips them, so check the single removals once at the end. */
    for (size_t i = 0; n > 1 && i < n && !mc.out_of_time;) {
        size_t m = 0;
        for (size_t j = 0; j < n; j++)
            if (j != i)
                cand[m++] = cur[j];
        if ((rc = still_invalid(&mc, cand, m, errmsg)) < 0)
            goto out;
        if (rc) {
            memcpy(cur, cand, m * sizeof *cur);
            n = m;
        } else {
            i++;
        }
    }
    rc = 0;
    out->ops = cur;
    out->n_ops = n;
    out->candidates = mc.candidates;
    out->undecided = mc.undecided;
    out->out_of_time = mc.out_of_time;
    out->complete = !mc.out_of_time && mc.undecided == 0;
    out->seconds = now_s() - t0;
    out->budget_s = timeout_s > 0 ? timeout_s : 0;
    cur = NULL;
out:
    fl_free((void *)mc.start);
    fl_free(cur);
    fl_free(cand);
    fl_free(mc.scratch);
    return rc;
}

void checker_minimized_free(struct checker_minimized *m)
{
    fl_free(m->ops);
    memset(m, 0, sizeof *m);
}
