/* txn_cycle.c - anomaly cycles: SCCs, then a shortest cycle through a seed edge per component. */
#include "checker/txn_cycle.h"

#include "checker/txn_history.h"
#include "common/alloc.h"
#include "common/error.h"

#include <string.h>

#define NONE CHECKER_TXN_NONE

enum checker_txn_anomaly_kind checker_txn_cycle_classify(const uint8_t *types, uint32_t n)
{
    uint32_t rw = 0, wr = 0, proc = 0, rt = 0;
    bool adjacent = false;
    for (uint32_t i = 0; i < n; i++) {
        rw += types[i] == CHECKER_TXN_RW;
        wr += types[i] == CHECKER_TXN_WR;
        proc += types[i] == CHECKER_TXN_PROCESS;
        rt += types[i] == CHECKER_TXN_REALTIME;
        if (types[i] == CHECKER_TXN_RW && types[(i + 1) % n] == CHECKER_TXN_RW)
            adjacent = true;
    }
    int base = rw == 0    ? (wr ? CHECKER_TXN_G1C : CHECKER_TXN_G0)
               : rw == 1  ? CHECKER_TXN_G_SINGLE
               : adjacent ? CHECKER_TXN_G2_ITEM
                          : CHECKER_TXN_G_NONADJ;
    int variant = rt ? CHECKER_TXN_VARIANT_REALTIME : proc ? CHECKER_TXN_VARIANT_PROCESS : 0;
    return checker_txn_cycle_kind(base, variant);
}

struct search {
    struct checker_txn_graph *g;
    struct checker_txn_found *found;
    struct checker_txn_budget *budget;
    uint32_t *comp, n_comp;
    uint32_t *comp_kinds; /* per component: kinds already reported */
    uint32_t *nodes;      /* path scratch, n + 1 */
    uint8_t *hot;         /* nodes in a cycle of the whole graph: the only ones searched */
    uint32_t *hot_list;
    uint32_t n_hot;
    uint8_t *types;
};

/* The cycle u -> v (seed, used as seed_type) then the path v ... u. Returns
 * 1 when found (and reported), 0 when not, or a negative code. */
static int close_cycle(struct search *s, uint32_t u, uint32_t v, uint8_t seed_type, uint8_t mask,
                       enum checker_txn_path_mode mode, uint32_t c)
{
    int len = checker_txn_graph_path(s->g, v, u, mask, mode, s->comp, c, s->nodes + 1, s->types + 1,
                                     s->g->n, s->budget);
    if (len <= 0)
        return len;
    /* nodes: u, v, ..., u -> drop the final u; types[0] is the seed edge */
    s->nodes[0] = u;
    s->types[0] = seed_type;
    uint32_t n = (uint32_t)len; /* u + path without its last node (u) */
    struct checker_txn_anomaly a = {.kind = checker_txn_cycle_classify(s->types, n),
                                    .n = n,
                                    .txns = s->nodes,
                                    .types = s->types,
                                    .mop = NONE,
                                    .mop2 = NONE};
    if (!(s->comp_kinds[c] & (1u << a.kind))) {
        s->comp_kinds[c] |= 1u << a.kind;
        if (checker_txn_found_add(s->found, &a) < 0)
            return FL_ENOMEM;
    } else {
        /* already counted for this component: keep it only if shorter */
        uint64_t keep = s->found->count[a.kind];
        if (checker_txn_found_add(s->found, &a) < 0)
            return FL_ENOMEM;
        s->found->count[a.kind] = keep;
    }
    return 1;
}

/* For each component of `scc_mask`, tries seed edges whose type has a bit of
 * `seed` (and none of `seed_not`) until one closes a cycle over `path_mask`,
 * or, with `every`, all of them. done[c] marks components already settled. */
static int pass(struct search *s, uint8_t scc_mask, uint8_t seed, uint8_t seed_not,
                uint8_t path_mask, enum checker_txn_path_mode mode, uint8_t *done, int max_tries)
{
    struct checker_txn_graph *g = s->g;
    int rc = checker_txn_graph_scc(g, scc_mask, s->hot, s->comp, &s->n_comp);
    if (rc < 0)
        return rc;
    if (s->n_comp == 0)
        return 0;
    uint32_t *tries = fl_calloc(s->n_comp, sizeof *tries);
    uint32_t *kinds = fl_calloc(s->n_comp, sizeof *kinds);
    if (!tries || !kinds) {
        fl_free(tries);
        fl_free(kinds);
        return FL_ENOMEM;
    }
    fl_free(s->comp_kinds);
    s->comp_kinds = kinds;
    for (uint32_t hi = 0; hi < s->n_hot && rc >= 0; hi++) {
        uint32_t u = s->hot_list[hi];
        uint32_t c = s->comp[u];
        if (c == NONE || (done && done[c]) || (max_tries && tries[c] >= (uint32_t)max_tries))
            continue;
        for (uint32_t e = g->off[u]; e < g->off[u + 1]; e++) {
            uint8_t t = g->type[e];
            if (!(t & seed) || (t & seed_not) || s->comp[g->dst[e]] != c)
                continue;
            tries[c]++;
            uint8_t st = checker_txn_edge_pick(t & seed, seed);
            rc = close_cycle(s, u, g->dst[e], st, path_mask, mode, c);
            if (rc < 0)
                break;
            if (rc == 1 && done) {
                done[c] = 1;
                break;
            }
            if (max_tries && tries[c] >= (uint32_t)max_tries)
                break;
        }
    }
    fl_free(tries);
    return rc < 0 ? rc : 0;
}

int checker_txn_cycles(struct checker_txn_graph *g, struct checker_txn_found *found,
                       struct checker_txn_budget *budget)
{
    struct search s = {.g = g, .found = found, .budget = budget};
    const uint8_t WW = CHECKER_TXN_WW, WR = CHECKER_TXN_WR, RW = CHECKER_TXN_RW;
    const uint8_t DATA = CHECKER_TXN_DATA, P = CHECKER_TXN_PROCESS, RT = CHECKER_TXN_REALTIME;
    uint8_t *done = NULL;
    int rc;
    s.comp = fl_malloc((g->n ? g->n : 1) * sizeof *s.comp);
    s.nodes = fl_malloc(((size_t)g->n + 2) * sizeof *s.nodes);
    s.types = fl_malloc((size_t)g->n + 2);
    done = fl_calloc((size_t)g->n + 1, 1); /* components never outnumber nodes */
    s.hot = fl_calloc((size_t)g->n + 1, 1);
    if (!s.comp || !s.nodes || !s.types || !done || !s.hot) {
        rc = FL_ENOMEM;
        goto out;
    }
    /* every cycle lies inside a component of the whole graph: find those once */
    if ((rc = checker_txn_graph_scc(g, DATA | P | RT, NULL, s.comp, &s.n_comp)) < 0)
        goto out;
    for (uint32_t v = 0; v < g->n; v++)
        if (s.comp[v] != NONE) {
            s.hot[v] = 1;
            s.n_hot++;
        }
    if (s.n_hot == 0)
        goto out;
    s.hot_list = fl_malloc(s.n_hot * sizeof *s.hot_list);
    if (!s.hot_list) {
        rc = FL_ENOMEM;
        goto out;
    }
    s.n_hot = 0;
    for (uint32_t v = 0; v < g->n; v++)
        if (s.hot[v])
            s.hot_list[s.n_hot++] = v;
    /* G0, then G1c: one cycle per component settles it (SCC decides existence) */
    if ((rc = pass(&s, WW, WW, 0, WW, CHECKER_TXN_PATH_ANY, NULL, 4)) < 0)
        goto out;
    if ((rc = pass(&s, WW | WR, WR, 0, WW | WR, CHECKER_TXN_PATH_ANY, NULL, 4)) < 0)
        goto out;
    /* G-single: every rw seed until one closes over ww/wr; then G-nonadjacent,
     * then G2-item, in the components still unsettled (same SCCs each time) */
    if ((rc = pass(&s, DATA, RW, 0, WW | WR, CHECKER_TXN_PATH_ANY, done, 0)) < 0)
        goto out;
    if ((rc = pass(&s, DATA, RW, 0, DATA, CHECKER_TXN_PATH_NONADJ, done, 0)) < 0)
        goto out;
    if ((rc = pass(&s, DATA, RW, 0, DATA, CHECKER_TXN_PATH_ANY, done, 0)) < 0)
        goto out;
    /* process, then realtime variants: a few seeds per component */
    if ((rc = pass(&s, DATA | P, P, 0, DATA | P, CHECKER_TXN_PATH_ANY, NULL, 4)) < 0)
        goto out;
    rc = pass(&s, DATA | P | RT, RT, P, DATA | P | RT, CHECKER_TXN_PATH_ANY, NULL, 4);
out:
    fl_free(s.comp);
    fl_free(s.nodes);
    fl_free(s.types);
    fl_free(s.comp_kinds);
    fl_free(s.hot);
    fl_free(s.hot_list);
    fl_free(done);
    if (rc == 0 && budget && budget->exceeded)
        rc = FL_EBUDGET;
    return rc;
}
