/* txn_check.c - the transactional check: inference, cycles, a witness, the verdict. */
#include "checker/txn_check.h"

#include "checker/txn_cycle.h"
#include "checker/txn_explain.h"
#include "common/alloc.h"
#include "common/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE CHECKER_TXN_NONE

const char *checker_txn_workload_name(enum checker_txn_workload w)
{
    return w == CHECKER_TXN_LIST_APPEND ? "list-append" : "rw-register";
}

int checker_txn_workload_parse(const char *s, enum checker_txn_workload *out)
{
    if (strcmp(s, "list-append") == 0)
        *out = CHECKER_TXN_LIST_APPEND;
    else if (strcmp(s, "rw-register") == 0)
        *out = CHECKER_TXN_RW_REGISTER;
    else
        return -1;
    return 0;
}

enum checker_txn_workload checker_txn_detect_workload(const struct checker_txn_history *h)
{
    for (size_t i = 0; i < h->n_mops; i++) {
        if (h->mops[i].f == CHECKER_TXN_APPEND || h->mops[i].rkind == CHECKER_TXN_RLIST)
            return CHECKER_TXN_LIST_APPEND;
        if (h->mops[i].f == CHECKER_TXN_W || h->mops[i].rkind == CHECKER_TXN_RINT)
            return CHECKER_TXN_RW_REGISTER;
    }
    return CHECKER_TXN_LIST_APPEND;
}

/* ==== Witness: a serial order replayed ==== */

struct heap {
    uint64_t *v; /* priority << 32 | node */
    size_t n;
};

static void heap_push(struct heap *h, uint64_t x)
{
    size_t i = h->n++;
    while (i > 0 && h->v[(i - 1) / 2] > x) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = x;
}

static uint64_t heap_pop(struct heap *h)
{
    uint64_t top = h->v[0], x = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && h->v[c + 1] < h->v[c])
            c++;
        if (h->v[c] >= x)
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = x;
    return top;
}

/* Replays the committed transactions in `order` (n of them): every read of an
 * ok transaction must return the state the order gives. Returns true when all
 * do; otherwise *bad_txn names the first that does not. */
static bool replay(const struct checker_txn_history *h, const struct checker_txn_infer *inf,
                   const uint32_t *order, size_t n, uint32_t *bad_txn, int *err)
{
    bool la = inf->workload == CHECKER_TXN_LIST_APPEND;
    uint32_t *base = NULL, *len = NULL, *arr = NULL;
    uint32_t *cur = NULL;
    bool ok = true;
    *err = 0;
    if (la) {
        base = fl_calloc((size_t)h->n_keys + 1, sizeof *base);
        len = fl_calloc(h->n_keys ? h->n_keys : 1, sizeof *len);
        if (!base || !len)
            goto oom;
        for (size_t i = 0; i < n; i++) {
            const struct checker_txn *t = &h->txns[order[i]];
            for (uint32_t mi = t->mop; mi < t->mop + t->n_mops; mi++)
                if (h->mops[mi].f == CHECKER_TXN_APPEND)
                    base[h->mops[mi].key + 1]++;
        }
        for (uint32_t k = 0; k < h->n_keys; k++)
            base[k + 1] += base[k];
        arr = fl_malloc((base[h->n_keys] ? base[h->n_keys] : 1) * sizeof *arr);
        if (!arr)
            goto oom;
    } else {
        cur = fl_malloc((h->n_keys ? h->n_keys : 1) * sizeof *cur);
        if (!cur)
            goto oom;
        memset(cur, 0xff, (h->n_keys ? h->n_keys : 1) * sizeof *cur);
    }
    for (size_t i = 0; i < n && ok; i++) {
        const struct checker_txn *t = &h->txns[order[i]];
        bool check = t->type == CHECKER_TXN_OK;
        for (uint32_t mi = t->mop; mi < t->mop + t->n_mops && ok; mi++) {
            const struct checker_txn_mop *m = &h->mops[mi];
            uint32_t k = m->key;
            if (la) {
                if (m->f == CHECKER_TXN_APPEND) {
                    arr[base[k] + len[k]++] = mi;
                } else if (check) {
                    uint32_t rl = m->rkind == CHECKER_TXN_RLIST ? m->len : 0;
                    if (rl != len[k])
                        ok = false;
                    for (uint32_t e = 0; e < rl && ok; e++)
                        if (inf->elem_w[(size_t)m->value + e] != arr[base[k] + e])
                            ok = false;
                }
            } else {
                if (m->f == CHECKER_TXN_W)
                    cur[k] = mi;
                else if (check) {
                    if (m->rkind == CHECKER_TXN_RNIL)
                        ok = cur[k] == NONE;
                    else
                        ok = cur[k] != NONE && h->mops[cur[k]].value == m->value;
                }
            }
        }
        if (!ok)
            *bad_txn = order[i];
    }
    fl_free(base);
    fl_free(len);
    fl_free(arr);
    fl_free(cur);
    return ok;
oom:
    fl_free(base);
    fl_free(len);
    fl_free(arr);
    fl_free(cur);
    *err = FL_ENOMEM;
    return false;
}

/* A topological order of the committed transactions over edges of `mask`,
 * ready ones taken by `by_end` (completion, info last) or invocation order.
 * Returns 1 and replays it into *replayed, 0 when the graph has a cycle, or
 * a negative code. */
static int witness(const struct checker_txn_history *h, const struct checker_txn_infer *inf,
                   const struct checker_txn_graph *g, uint8_t mask, bool by_end, bool *replayed,
                   uint32_t *bad_txn, struct checker_txn_budget *budget)
{
    uint32_t n = g->n;
    uint32_t *indeg = fl_calloc(n ? n : 1, sizeof *indeg);
    uint32_t *order = fl_malloc((n ? n : 1) * sizeof *order);
    struct heap hp = {.v = fl_malloc((n ? n : 1) * sizeof *hp.v)};
    int rc = 0;
    if (!indeg || !order || !hp.v) {
        rc = FL_ENOMEM;
        goto out;
    }
    size_t n_nodes = 0, n_order = 0;
    for (uint32_t u = 0; u < n; u++) {
        if (!inf->committed[u])
            continue;
        n_nodes++;
        for (uint32_t e = g->off[u]; e < g->off[u + 1]; e++)
            if (g->type[e] & mask)
                indeg[g->dst[e]]++;
    }
    for (uint32_t u = 0; u < n; u++) {
        const struct checker_txn *t = &h->txns[u];
        uint64_t pri = by_end ? (t->end_pos == UINT64_MAX ? 0xffffffffu : (uint32_t)t->end_pos)
                              : (uint32_t)t->inv_pos;
        if (inf->committed[u] && indeg[u] == 0)
            heap_push(&hp, pri << 32 | u);
    }
    while (hp.n) {
        if (budget && checker_txn_budget_out(budget)) {
            rc = FL_EBUDGET;
            goto out;
        }
        uint32_t u = (uint32_t)heap_pop(&hp);
        order[n_order++] = u;
        for (uint32_t e = g->off[u]; e < g->off[u + 1]; e++) {
            if (!(g->type[e] & mask))
                continue;
            uint32_t v = g->dst[e];
            if (--indeg[v] == 0) {
                const struct checker_txn *t = &h->txns[v];
                uint64_t pri = by_end
                                   ? (t->end_pos == UINT64_MAX ? 0xffffffffu : (uint32_t)t->end_pos)
                                   : (uint32_t)t->inv_pos;
                heap_push(&hp, pri << 32 | v);
            }
        }
    }
    if (n_order < n_nodes) {
        rc = 0; /* a cycle */
        goto out;
    }
    int err;
    *replayed = replay(h, inf, order, n_order, bad_txn, &err);
    rc = err < 0 ? err : 1;
out:
    fl_free(indeg);
    fl_free(order);
    fl_free(hp.v);
    return rc;
}

/* ==== Verdict ==== */

static void models_text(uint32_t models, char *out, size_t size)
{
    size_t k = 0;
    out[0] = '\0';
    for (int m = 0; m < CHECKER_TXN_N_MODELS; m++)
        if (models & (1u << m))
            k += (size_t)snprintf(out + k, k < size ? size - k : 0, "%s%s", k ? ", " : "",
                                  checker_txn_consistency_name((enum checker_txn_consistency)m));
}

int checker_txn_check(const struct checker_txn_history *h, const struct checker_txn_options *opt,
                      struct checker_txn_result *res, char *errmsg)
{
    struct checker_txn_infer inf;
    struct checker_txn_graph g;
    struct checker_txn_budget budget = {0};
    int64_t t0 = checker_txn_now_ns();
    int rc;
    memset(res, 0, sizeof *res);
    res->workload = opt->workload;
    res->consistency = opt->consistency;
    res->n_txns = h->n_txns;
    res->n_keys = h->n_keys;
    res->n_mops = h->n_mops;
    for (size_t i = 0; i < h->n_txns; i++) {
        uint8_t t = h->txns[i].type;
        res->n_ok += t == CHECKER_TXN_OK;
        res->n_info += t == CHECKER_TXN_INFO;
        res->n_fail += t == CHECKER_TXN_FAIL;
    }
    if (opt->timeout_s > 0)
        budget.deadline_ns = t0 + (int64_t)(opt->timeout_s * 1e9);
    checker_txn_graph_init(&g, (uint32_t)h->n_txns);
    size_t max_edges = 0;
    if (opt->max_memory) {
        size_t fixed = checker_txn_graph_bytes((uint32_t)h->n_txns, 0) + h->n_mops * 16;
        max_edges = opt->max_memory > fixed ? (opt->max_memory - fixed) / 23 : 1;
    }
    bool timing = getenv("FL_TXN_TIMING") != NULL;
    rc = checker_txn_infer(h, opt->workload, &inf, &g, &res->found, max_edges, errmsg);
    if (timing)
        fprintf(stderr, "infer %.3f\n", (double)(checker_txn_now_ns() - t0) / 1e9);
    bool over_memory = rc == FL_EBUDGET;
    if (rc < 0 && !over_memory)
        goto out;
    res->orders_complete = inf.orders_complete && !over_memory;
    res->search_complete = false;
    uint32_t kinds = checker_txn_found_kinds(&res->found);
    if (!over_memory) {
        res->n_edges = g.n_pairs;
        if ((rc = checker_txn_graph_build(&g)) < 0) {
            rc = fl_errorf(errmsg, rc, "out of memory");
            goto out;
        }
        if (timing)
            fprintf(stderr, "build %.3f\n", (double)(checker_txn_now_ns() - t0) / 1e9);
        rc = checker_txn_cycles(&g, &res->found, &budget);
        if (timing)
            fprintf(stderr, "cycles %.3f\n", (double)(checker_txn_now_ns() - t0) / 1e9);
        if (rc < 0 && rc != FL_EBUDGET) {
            rc = fl_errorf(errmsg, rc, "out of memory");
            goto out;
        }
        res->search_complete = rc == 0;
        kinds = checker_txn_found_kinds(&res->found);
        /* witnesses: strict (all edges), else serializable (data edges) */
        bool replayed = false;
        uint32_t bad = NONE;
        const uint8_t all = CHECKER_TXN_DATA | CHECKER_TXN_PROCESS | CHECKER_TXN_REALTIME;
        struct {
            uint8_t mask;
            uint32_t proves;
        } tries[] = {
            {all, (1u << CHECKER_TXN_N_MODELS) - 1},
            {CHECKER_TXN_DATA, (1u << (CHECKER_TXN_SERIALIZABLE + 1)) - 1},
        };
        for (size_t i = 0; i < 2 && !res->proven; i++) {
            if (kinds & checker_txn_forbidden(i == 0 ? CHECKER_TXN_STRICT_SERIALIZABLE
                                                     : CHECKER_TXN_SERIALIZABLE))
                continue;
            for (int by_end = 1; by_end >= 0 && !res->proven; by_end--) {
                rc = witness(h, &inf, &g, tries[i].mask, by_end, &replayed, &bad, &budget);
                if (rc < 0 && rc != FL_EBUDGET) {
                    rc = fl_errorf(errmsg, rc, "out of memory");
                    goto out;
                }
                if (rc == 1 && replayed)
                    res->proven = tries[i].proves;
                if (rc != 1 || opt->workload == CHECKER_TXN_LIST_APPEND)
                    break; /* a cycle, or list-append where any order replays alike */
            }
        }
        if (timing)
            fprintf(stderr, "witness %.3f\n", (double)(checker_txn_now_ns() - t0) / 1e9);
        rc = 0;
        if (!res->proven && res->orders_complete && res->search_complete)
            for (int m = 0; m < CHECKER_TXN_N_MODELS; m++)
                if (!(checker_txn_forbidden((enum checker_txn_consistency)m) & kinds))
                    res->proven |= 1u << m;
    }
    for (int k = 0; k < CHECKER_TXN_N_CYCLE_KINDS; k++)
        if (res->found.count[k] && checker_txn_explain_why(h, &inf, &res->found.example[k]) < 0) {
            rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
            goto out;
        }
    rc = 0;
    res->ruled_out = checker_txn_ruled_out(kinds);
    res->proven &= ~res->ruled_out;
    res->weakest = checker_txn_weakest(res->ruled_out);
    uint32_t me = 1u << opt->consistency;
    if (res->ruled_out & me) {
        res->verdict = CHECKER_INVALID;
        char names[200] = "";
        size_t k = 0;
        uint32_t bad = kinds & checker_txn_forbidden(opt->consistency);
        for (int a = 0; a < CHECKER_TXN_N_ANOMALIES; a++)
            if (bad & (1u << a))
                k += (size_t)snprintf(names + k, k < sizeof names ? sizeof names - k : 0, "%s%s",
                                      k ? ", " : "",
                                      checker_txn_anomaly_name((enum checker_txn_anomaly_kind)a));
        char weakest[160];
        models_text(res->weakest, weakest, sizeof weakest);
        snprintf(res->reason, sizeof res->reason, "%s; not %s", names, weakest);
    } else if (res->proven & me) {
        res->verdict = CHECKER_VALID;
    } else {
        res->verdict = CHECKER_UNKNOWN;
        if (over_memory)
            snprintf(res->reason, sizeof res->reason,
                     "the dependency graph needs more than --max-memory");
        else if (!res->search_complete)
            snprintf(res->reason, sizeof res->reason, "--timeout ran out during the cycle search");
        else if (!res->orders_complete)
            snprintf(res->reason, sizeof res->reason, "no serial order replays and %s",
                     inf.incomplete);
        else
            snprintf(res->reason, sizeof res->reason, "no serial order replays every read");
    }
out:
    res->seconds = (double)(checker_txn_now_ns() - t0) / 1e9;
    checker_txn_infer_free(&inf);
    checker_txn_graph_free(&g);
    return rc;
}

void checker_txn_result_free(struct checker_txn_result *res)
{
    checker_txn_found_free(&res->found);
}
