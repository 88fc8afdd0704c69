/* partition.c - partition kinds: pure planning of a directed drop matrix, applied as one nft bridge
 * table in the hub. */
#include "nemesis/partition.h"
#include "nemesis/remote.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"

/* ==== Planning (pure) ==== */

static void shuffle(struct fl_rng *rng, unsigned *v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        v[i] = i;
    for (unsigned i = n; i > 1; i--) {
        unsigned j = (unsigned)fl_rng_below(rng, i);
        unsigned t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* Cuts every link between the two node sets, both directions. */
static void cut(struct nemesis_fault *f, uint32_t a, uint32_t b)
{
    for (unsigned i = 0; i < NEMESIS_MAX_NODES; i++) {
        if (a & (1u << i))
            f->drop[i] |= b & ~(1u << i);
        if (b & (1u << i))
            f->drop[i] |= a & ~(1u << i);
    }
}

static uint32_t all_nodes(unsigned n)
{
    return n >= 32 ? 0xffffffffu : (1u << n) - 1;
}

static int need_nodes(const struct nemesis_topology *topo, unsigned min, char *errmsg)
{
    if (topo->n < min)
        return fl_errorf(errmsg, FL_EUSAGE, "needs at least %u nodes, the topology has %u", min,
                         topo->n);
    return 0;
}

static int isolate(struct nemesis_fault *f, const struct nemesis_topology *topo, unsigned node,
                   char *errmsg)
{
    cut(f, 1u << node, all_nodes(topo->n) & ~(1u << node));
    return nemesis__value_edges(f, topo->n, NULL, errmsg);
}

static int plan_isolate_one(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                            const struct nemesis_fault_opts *opts, struct nemesis_fault *f,
                            char *errmsg)
{
    (void)leader;
    (void)opts;
    int rc = need_nodes(topo, 2, errmsg);
    if (rc < 0)
        return rc;
    return isolate(f, topo, (unsigned)fl_rng_below(rng, topo->n), errmsg);
}

static int plan_isolate_leader(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                               const struct nemesis_fault_opts *opts, struct nemesis_fault *f,
                               char *errmsg)
{
    (void)rng;
    (void)opts;
    int rc = need_nodes(topo, 2, errmsg);
    if (rc < 0)
        return rc;
    if (leader < 0) {
        f->needs_leader = true;
        f->value = json_pack("{s:s}", "isolate", "leader");
        return f->value ? 0 : fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    }
    return isolate(f, topo, (unsigned)leader, errmsg);
}

static int plan_halves(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                       const struct nemesis_fault_opts *opts, struct nemesis_fault *f, char *errmsg)
{
    (void)leader;
    (void)opts;
    int rc = need_nodes(topo, 2, errmsg);
    if (rc < 0)
        return rc;
    unsigned order[NEMESIS_MAX_NODES] = {0};
    shuffle(rng, order, topo->n);
    uint32_t a = 0;
    for (unsigned k = 0; k < topo->n / 2; k++)
        a |= 1u << order[k];
    cut(f, a, all_nodes(topo->n) & ~a);
    return nemesis__value_edges(f, topo->n, NULL, errmsg);
}

/* Jepsen's majorities ring: nodes on a shuffled ring; each node hears only
 * from the majority window centred on it, so every node sees a majority and
 * no two nodes see the same one. Directed: a node drops what comes from
 * outside its window. */
static int plan_majorities_ring(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                                const struct nemesis_fault_opts *opts, struct nemesis_fault *f,
                                char *errmsg)
{
    (void)leader;
    (void)opts;
    int rc = need_nodes(topo, 3, errmsg);
    if (rc < 0)
        return rc;
    unsigned n = topo->n, m = n / 2 + 1;
    unsigned ring[NEMESIS_MAX_NODES];
    shuffle(rng, ring, n);
    for (unsigned k = 0; k < n; k++) {
        uint32_t window = 0;
        for (unsigned w = 0; w < m; w++)
            window |= 1u << ring[(k + w) % n];
        unsigned centre = ring[(k + m / 2) % n];
        for (unsigned src = 0; src < n; src++)
            if (!(window & (1u << src)))
                f->drop[src] |= 1u << centre;
    }
    return nemesis__value_edges(f, n, NULL, errmsg);
}

/* Two halves joined by one bridge node that talks to both. */
static int plan_bridge(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                       const struct nemesis_fault_opts *opts, struct nemesis_fault *f, char *errmsg)
{
    (void)leader;
    (void)opts;
    int rc = need_nodes(topo, 3, errmsg);
    if (rc < 0)
        return rc;
    unsigned order[NEMESIS_MAX_NODES] = {0};
    shuffle(rng, order, topo->n);
    unsigned half = (topo->n - 1) / 2;
    uint32_t a = 0, b = 0;
    for (unsigned k = 0; k < half; k++)
        a |= 1u << order[k];
    for (unsigned k = half + 1; k < topo->n; k++)
        b |= 1u << order[k];
    cut(f, a, b); /* order[half] is the bridge */
    return nemesis__value_edges(f, topo->n, NULL, errmsg);
}

/* One node either cannot send to, or cannot receive from, all the others. */
static int plan_one_way(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                        const struct nemesis_fault_opts *opts, struct nemesis_fault *f,
                        char *errmsg)
{
    (void)leader;
    (void)opts;
    int rc = need_nodes(topo, 2, errmsg);
    if (rc < 0)
        return rc;
    unsigned node = (unsigned)fl_rng_below(rng, topo->n);
    uint32_t others = all_nodes(topo->n) & ~(1u << node);
    if (fl_rng_chance(rng, 0.5)) {
        f->drop[node] = others;
    } else {
        for (unsigned i = 0; i < topo->n; i++)
            if (others & (1u << i))
                f->drop[i] |= 1u << node;
    }
    return nemesis__value_edges(f, topo->n, NULL, errmsg);
}

/* Each link is cut (both directions) with probability 1/2; at least one is. */
static int plan_random(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                       const struct nemesis_fault_opts *opts, struct nemesis_fault *f, char *errmsg)
{
    (void)leader;
    (void)opts;
    int rc = need_nodes(topo, 2, errmsg);
    if (rc < 0)
        return rc;
    bool any = false;
    for (unsigned i = 0; i < topo->n; i++)
        for (unsigned j = i + 1; j < topo->n; j++)
            if (fl_rng_chance(rng, 0.5)) {
                cut(f, 1u << i, 1u << j);
                any = true;
            }
    if (!any) {
        unsigned i = (unsigned)fl_rng_below(rng, topo->n);
        unsigned j = (i + 1 + (unsigned)fl_rng_below(rng, topo->n - 1)) % topo->n;
        cut(f, 1u << i, 1u << j);
    }
    return nemesis__value_edges(f, topo->n, NULL, errmsg);
}

/* ==== Rendering (pure) ==== */

struct out {
    char *buf;
    size_t cap, len;
    bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= o->cap - o->len)
        o->full = true;
    else
        o->len += (size_t)w;
}

/* One rule per source: ip saddr S ip daddr { D1, D2 } [numgen...] drop */
static void put_rules(struct out *o, const struct nemesis_topology *topo, const uint32_t *m,
                      int percent)
{
    for (unsigned i = 0; i < topo->n; i++) {
        if (!m[i])
            continue;
        put(o, "    ip saddr %s ip daddr { ", topo->nodes[i].addr);
        bool first = true;
        for (unsigned j = 0; j < topo->n; j++) {
            if (!(m[i] & (1u << j)))
                continue;
            put(o, "%s%s", first ? "" : ", ", topo->nodes[j].addr);
            first = false;
        }
        if (percent < 100)
            put(o, " } numgen random mod 100 < %d drop\n", percent);
        else
            put(o, " } drop\n");
    }
}

int nemesis_partition_render(const struct nemesis_ctx *ctx, char *buf, size_t cap, char *errmsg)
{
    struct out o = {.buf = buf, .cap = cap};
    /* add+delete makes the delete succeed when the table is absent; the whole
     * buffer is one nft transaction, so the old rules are replaced atomically. */
    put(&o, "add table bridge nemesis\ndelete table bridge nemesis\n");
    bool part = false, loss = false;
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        part |= ctx->part_drop[i] != 0;
        loss |= ctx->loss_drop[i] != 0;
    }
    if (part || loss) {
        /* nft 1.0.6: `fwd` is a keyword, so the chain is named fw. */
        put(&o, "table bridge nemesis {\n  chain fw {\n"
                "    type filter hook forward priority -10; policy accept;\n");
        if (part)
            put_rules(&o, ctx->topo, ctx->part_drop, 100);
        if (loss)
            put_rules(&o, ctx->topo, ctx->loss_drop, ctx->loss_percent);
        put(&o, "  }\n}\n");
    }
    if (o.full)
        return fl_errorf(errmsg, FL_ELIMIT, "nft script longer than %zu bytes", cap);
    return 0;
}

#define SCRIPT_CAP 32768

int nemesis__net_sync(struct nemesis_ctx *ctx, char *errmsg)
{
    if (ctx->remote != NULL) {
        /* Each host drops what reaches it (remote.h): the same state, rendered per host. */
        memcpy(ctx->remote->part_drop, ctx->part_drop, sizeof ctx->remote->part_drop);
        memcpy(ctx->remote->loss_drop, ctx->loss_drop, sizeof ctx->remote->loss_drop);
        ctx->remote->loss_percent = ctx->loss_percent;
        return nemesis_remote_net_sync(ctx->remote, errmsg);
    }
    char *script = fl_malloc(SCRIPT_CAP);
    if (!script)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory for the nft script");
    int rc = nemesis_partition_render(ctx, script, SCRIPT_CAP, errmsg);
    if (rc == 0)
        rc = nemesis__nft(ctx, script, errmsg);
    fl_free(script);
    return rc;
}

/* ==== Apply and heal ==== */

/* A new partition replaces the previous one (a run has one partition at a time). */
static int apply_partition(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    uint32_t saved[NEMESIS_MAX_NODES];
    memcpy(saved, ctx->part_drop, sizeof saved);
    memcpy(ctx->part_drop, f->drop, sizeof ctx->part_drop);
    int rc = nemesis__net_sync(ctx, errmsg);
    if (rc < 0)
        memcpy(ctx->part_drop, saved, sizeof saved);
    return rc;
}

static int heal_partition(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    (void)f;
    uint32_t saved[NEMESIS_MAX_NODES];
    memcpy(saved, ctx->part_drop, sizeof saved);
    memset(ctx->part_drop, 0, sizeof ctx->part_drop);
    int rc = nemesis__net_sync(ctx, errmsg);
    if (rc < 0)
        memcpy(ctx->part_drop, saved, sizeof saved);
    return rc;
}

#define PARTITION_KIND(var, kname, planfn)                                                         \
    const struct nemesis_kind var = {                                                              \
        .name = kname,                                                                             \
        .cls = NEMESIS_CLASS_NET,                                                                  \
        .plan = planfn,                                                                            \
        .apply = apply_partition,                                                                  \
        .heal = heal_partition,                                                                    \
    }

PARTITION_KIND(nemesis_partition_isolate_one, "isolate-one", plan_isolate_one);
PARTITION_KIND(nemesis_partition_isolate_leader, "isolate-leader", plan_isolate_leader);
PARTITION_KIND(nemesis_partition_halves, "halves", plan_halves);
PARTITION_KIND(nemesis_partition_majorities_ring, "majorities-ring", plan_majorities_ring);
PARTITION_KIND(nemesis_partition_bridge, "bridge", plan_bridge);
PARTITION_KIND(nemesis_partition_one_way, "one-way", plan_one_way);
PARTITION_KIND(nemesis_partition_random, "random", plan_random);
