/* txn_graph.c - typed dependency graph: compressed rows, Tarjan SCC, shortest constrained paths. */
#include "checker/txn_graph.h"

#include "checker/txn_history.h"
#include "common/alloc.h"
#include "common/error.h"

#include <string.h>
#include <time.h>

int64_t checker_txn_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool checker_txn_budget_out(struct checker_txn_budget *b)
{
    if (b->exceeded)
        return true;
    if (!b->deadline_ns || (++b->tick & 4095))
        return false;
    if (checker_txn_now_ns() > b->deadline_ns)
        b->exceeded = true;
    return b->exceeded;
}

int checker_txn_graph_init(struct checker_txn_graph *g, uint32_t n)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    return 0;
}

void checker_txn_graph_free(struct checker_txn_graph *g)
{
    fl_free(g->off);
    fl_free(g->dst);
    fl_free(g->type);
    fl_free(g->pairs);
    fl_free(g->ptype);
    fl_free(g->stamp);
    fl_free(g->parent);
    fl_free(g->pedge);
    fl_free(g->queue);
    memset(g, 0, sizeof *g);
}

int checker_txn_graph_add(struct checker_txn_graph *g, uint32_t src, uint32_t dst, uint8_t type)
{
    if (src == dst)
        return 0;
    if (g->n_pairs == g->cap_pairs) {
        size_t c = g->cap_pairs ? g->cap_pairs * 2 : 1024;
        uint64_t *p = fl_reallocarray(g->pairs, c, sizeof *p);
        if (!p)
            return FL_ENOMEM;
        g->pairs = p;
        uint8_t *t = fl_reallocarray(g->ptype, c, 1);
        if (!t)
            return FL_ENOMEM;
        g->ptype = t;
        g->cap_pairs = c;
    }
    g->pairs[g->n_pairs] = (uint64_t)src << 32 | dst;
    g->ptype[g->n_pairs++] = type;
    return 0;
}

size_t checker_txn_graph_bytes(uint32_t n, size_t n_pairs)
{
    return ((size_t)n + 1) * 4 + n_pairs * 5 + (size_t)n * 2 * 12;
}

int checker_txn_graph_build(struct checker_txn_graph *g)
{
    g->off = fl_calloc((size_t)g->n + 1, sizeof *g->off);
    g->dst = fl_malloc((g->n_pairs ? g->n_pairs : 1) * sizeof *g->dst);
    g->type = fl_malloc(g->n_pairs ? g->n_pairs : 1);
    if (!g->off || !g->dst || !g->type)
        return FL_ENOMEM;
    /* counting sort by source */
    for (size_t i = 0; i < g->n_pairs; i++)
        g->off[(g->pairs[i] >> 32) + 1]++;
    for (uint32_t v = 0; v < g->n; v++)
        g->off[v + 1] += g->off[v];
    uint32_t *fill = fl_malloc(((size_t)g->n + 1) * sizeof *fill);
    if (!fill)
        return FL_ENOMEM;
    memcpy(fill, g->off, ((size_t)g->n + 1) * sizeof *fill);
    for (size_t i = 0; i < g->n_pairs; i++) {
        uint32_t s = (uint32_t)(g->pairs[i] >> 32);
        uint32_t k = fill[s]++;
        g->dst[k] = (uint32_t)g->pairs[i];
        g->type[k] = g->ptype[i];
    }
    fl_free(fill);
    g->m = g->n_pairs;
    fl_free(g->pairs);
    fl_free(g->ptype);
    g->pairs = NULL;
    g->ptype = NULL;
    g->n_pairs = g->cap_pairs = 0;
    return 0;
}

/* ==== Tarjan ==== */

int checker_txn_graph_scc(const struct checker_txn_graph *g, uint8_t mask, const uint8_t *only,
                          uint32_t *comp, uint32_t *n_comp)
{
    uint32_t n = g->n;
    uint32_t *index = fl_malloc((size_t)n * sizeof *index);
    uint32_t *low = fl_malloc((size_t)n * sizeof *low);
    uint32_t *stack = fl_malloc((size_t)n * sizeof *stack);
    uint32_t *cs_node = fl_malloc((size_t)n * sizeof *cs_node); /* call stack */
    uint32_t *cs_edge = fl_malloc((size_t)n * sizeof *cs_edge);
    uint8_t *on = fl_calloc(n ? n : 1, 1);
    int rc = 0;
    if (!index || !low || !stack || !cs_node || !cs_edge || !on) {
        rc = FL_ENOMEM;
        goto out;
    }
    for (uint32_t v = 0; v < n; v++) {
        index[v] = CHECKER_TXN_NONE;
        comp[v] = CHECKER_TXN_NONE;
    }
    uint32_t next = 0, sp = 0, nc = 0;
    for (uint32_t root = 0; root < n; root++) {
        if (index[root] != CHECKER_TXN_NONE || (only && !only[root]))
            continue;
        uint32_t depth = 0;
        cs_node[0] = root;
        cs_edge[0] = g->off[root];
        index[root] = low[root] = next++;
        stack[sp++] = root;
        on[root] = 1;
        for (;;) {
            uint32_t v = cs_node[depth];
            uint32_t e = cs_edge[depth];
            bool descended = false;
            for (; e < g->off[v + 1]; e++) {
                if (!(g->type[e] & mask))
                    continue;
                uint32_t w = g->dst[e];
                if (only && !only[w])
                    continue;
                if (index[w] == CHECKER_TXN_NONE) {
                    cs_edge[depth] = e + 1;
                    depth++;
                    cs_node[depth] = w;
                    cs_edge[depth] = g->off[w];
                    index[w] = low[w] = next++;
                    stack[sp++] = w;
                    on[w] = 1;
                    descended = true;
                    break;
                }
                if (on[w] && index[w] < low[v])
                    low[v] = index[w];
            }
            if (descended)
                continue;
            if (low[v] == index[v]) {
                /* pop the component; number it only when it holds a cycle */
                uint32_t size = 0, k = sp;
                do {
                    k--;
                    size++;
                } while (stack[k] != v);
                uint32_t id = size > 1 ? nc++ : CHECKER_TXN_NONE;
                while (sp > k) {
                    uint32_t w = stack[--sp];
                    on[w] = 0;
                    comp[w] = id;
                }
            }
            if (depth == 0)
                break;
            depth--;
            uint32_t u = cs_node[depth];
            if (low[v] < low[u])
                low[u] = low[v];
        }
    }
    *n_comp = nc;
out:
    fl_free(index);
    fl_free(low);
    fl_free(stack);
    fl_free(cs_node);
    fl_free(cs_edge);
    fl_free(on);
    return rc;
}

/* ==== Paths ==== */

uint8_t checker_txn_edge_pick(uint8_t t, uint8_t allowed)
{
    static const uint8_t order[] = {CHECKER_TXN_WW, CHECKER_TXN_WR, CHECKER_TXN_PROCESS,
                                    CHECKER_TXN_REALTIME, CHECKER_TXN_RW};
    for (size_t i = 0; i < sizeof order; i++)
        if (t & allowed & order[i])
            return order[i];
    return 0;
}

int checker_txn_graph_path(struct checker_txn_graph *g, uint32_t from, uint32_t to, uint8_t mask,
                           enum checker_txn_path_mode mode, const uint32_t *comp, uint32_t c,
                           uint32_t *out_nodes, uint8_t *out_types, size_t max_len,
                           struct checker_txn_budget *budget)
{
    /* States: node * 2 + (last edge was rw) in NONADJ mode, node * 2 otherwise. */
    size_t n_states = (size_t)g->n * 2;
    if (!g->stamp) {
        g->stamp = fl_calloc(n_states ? n_states : 1, sizeof *g->stamp);
        g->parent = fl_malloc((n_states ? n_states : 1) * sizeof *g->parent);
        g->pedge = fl_malloc((n_states ? n_states : 1) * sizeof *g->pedge);
        g->queue = fl_malloc((n_states ? n_states : 1) * sizeof *g->queue);
        if (!g->stamp || !g->parent || !g->pedge || !g->queue)
            return FL_ENOMEM;
    }
    if (++g->cur_stamp == 0) {
        memset(g->stamp, 0, n_states * sizeof *g->stamp);
        g->cur_stamp = 1;
    }
    uint32_t st = g->cur_stamp;
    uint32_t *queue = g->queue;
    size_t qh = 0, qt = 0;
    uint32_t start = from * 2 + (mode == CHECKER_TXN_PATH_NONADJ ? 1 : 0);
    uint32_t goal = CHECKER_TXN_NONE;
    g->stamp[start] = st;
    g->parent[start] = CHECKER_TXN_NONE;
    queue[qt++] = start;
    int rc = 0;
    while (qh < qt) {
        if (budget && checker_txn_budget_out(budget)) {
            rc = FL_EBUDGET;
            break;
        }
        uint32_t s = queue[qh++];
        uint32_t v = s / 2, lastrw = s & 1;
        if (v == to && s != start && (mode != CHECKER_TXN_PATH_NONADJ || !lastrw)) {
            goal = s;
            break;
        }
        for (uint32_t e = g->off[v]; e < g->off[v + 1]; e++) {
            uint8_t t = g->type[e] & mask;
            if (!t)
                continue;
            uint32_t w = g->dst[e];
            if (comp && comp[w] != c)
                continue;
            uint32_t ws;
            if (mode == CHECKER_TXN_PATH_NONADJ) {
                if (t & ~CHECKER_TXN_RW)
                    ws = w * 2;
                else if (lastrw)
                    continue;
                else
                    ws = w * 2 + 1;
            } else
                ws = w * 2;
            if (g->stamp[ws] == st)
                continue;
            g->stamp[ws] = st;
            g->parent[ws] = s;
            g->pedge[ws] = e;
            queue[qt++] = ws;
        }
    }
    if (rc < 0)
        return rc;
    if (goal == CHECKER_TXN_NONE)
        return 0;
    size_t len = 0;
    for (uint32_t s = goal; s != CHECKER_TXN_NONE; s = g->parent[s]) {
        len++;
        if (s == start)
            break;
    }
    if (len > max_len)
        return 0;
    size_t i = len;
    for (uint32_t s = goal;; s = g->parent[s]) {
        out_nodes[--i] = s / 2;
        if (i > 0) {
            uint32_t e = g->pedge[s];
            uint8_t t = g->type[e] & mask;
            if (mode == CHECKER_TXN_PATH_NONADJ && !(s & 1))
                t &= (uint8_t)~CHECKER_TXN_RW;
            out_types[i - 1] = checker_txn_edge_pick(t, mask);
        }
        if (s == start)
            break;
    }
    return (int)len;
}
