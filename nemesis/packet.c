/* packet.c - loss and duplication as nft rules in the hub; delay, jitter and reordering through the
 * delayer or netem. On hosts: the same state, applied by remote.c (each host's tables, a
 * faultline-delayer per host). */
#include "nemesis/packet.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "nemesis/delayer.h"
#include "nemesis/remote.h"

/* ==== Planning (pure) ==== */

static int all_links(struct nemesis_fault *f, const struct nemesis_topology *topo, char *errmsg)
{
    if (topo->n < 2)
        return fl_errorf(errmsg, FL_EUSAGE, "needs at least 2 nodes, the topology has %u", topo->n);
    for (unsigned i = 0; i < topo->n; i++)
        f->drop[i] = ((1u << topo->n) - 1) & ~(1u << i);
    return 0;
}

static int plan_loss(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                     const struct nemesis_fault_opts *opts, struct nemesis_fault *f, char *errmsg)
{
    (void)rng;
    (void)leader;
    int rc = all_links(f, topo, errmsg);
    if (rc < 0)
        return rc;
    f->percent = opts->loss_percent;
    return nemesis__value_edges(f, topo->n, json_pack("{s:i}", "percent", f->percent), errmsg);
}

static int plan_duplicate(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                          const struct nemesis_fault_opts *opts, struct nemesis_fault *f,
                          char *errmsg)
{
    (void)rng;
    (void)leader;
    int rc = all_links(f, topo, errmsg);
    if (rc < 0)
        return rc;
    f->percent = opts->dup_percent;
    return nemesis__value_edges(f, topo->n, json_pack("{s:i}", "percent", f->percent), errmsg);
}

static int plan_delay_common(const struct nemesis_topology *topo,
                             const struct nemesis_fault_opts *opts, int reorder,
                             struct nemesis_fault *f, char *errmsg)
{
    int rc = all_links(f, topo, errmsg);
    if (rc < 0)
        return rc;
    f->delay_ms = opts->delay_ms;
    f->jitter_ms = opts->jitter_ms;
    f->percent = reorder;
    json_t *v = json_pack("{s:i,s:i,s:i}", "delay_ms", (json_int_t)f->delay_ms, "jitter_ms",
                          (json_int_t)f->jitter_ms, "reorder_percent", reorder);
    return nemesis__value_edges(f, topo->n, v, errmsg);
}

static int plan_delay(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                      const struct nemesis_fault_opts *opts, struct nemesis_fault *f, char *errmsg)
{
    (void)rng;
    (void)leader;
    /* Its own share (delay.reorder_percent of a scenario, 0 by default): a plain delay keeps
     * the order; the reorder kind has reorder.percent. */
    return plan_delay_common(topo, opts, opts->delay_reorder_percent, f, errmsg);
}

static int plan_reorder(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                        const struct nemesis_fault_opts *opts, struct nemesis_fault *f,
                        char *errmsg)
{
    (void)rng;
    (void)leader;
    return plan_delay_common(topo, opts, opts->reorder_percent, f, errmsg);
}

/* ==== Loss ==== */

static int apply_loss(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    uint32_t saved[NEMESIS_MAX_NODES];
    int saved_pct = ctx->loss_percent;
    memcpy(saved, ctx->loss_drop, sizeof saved);
    memcpy(ctx->loss_drop, f->drop, sizeof ctx->loss_drop);
    ctx->loss_percent = f->percent;
    int rc = nemesis__net_sync(ctx, errmsg);
    if (rc < 0) {
        memcpy(ctx->loss_drop, saved, sizeof saved);
        ctx->loss_percent = saved_pct;
    }
    return rc;
}

static int heal_loss(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    (void)f;
    uint32_t saved[NEMESIS_MAX_NODES];
    memcpy(saved, ctx->loss_drop, sizeof saved);
    memset(ctx->loss_drop, 0, sizeof ctx->loss_drop);
    int rc = nemesis__net_sync(ctx, errmsg);
    if (rc < 0)
        memcpy(ctx->loss_drop, saved, sizeof saved);
    return rc;
}

/* ==== Duplication ==== */

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

#define SCRIPT_CAP 32768

/* The copy goes straight out of the destination's hub port, so a rule per
 * destination address sends it only where the original is going. */
static int dup_sync(struct nemesis_ctx *ctx, const uint32_t *m, int percent, char *errmsg)
{
    const struct nemesis_topology *t = ctx->topo;
    struct out o = {.buf = fl_malloc(SCRIPT_CAP), .cap = SCRIPT_CAP};
    if (!o.buf)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory for the nft script");
    put(&o, "add table netdev nemesis_dup\ndelete table netdev nemesis_dup\n");
    bool any = false;
    for (unsigned i = 0; i < t->n; i++)
        any |= m[i] != 0;
    if (any) {
        put(&o, "table netdev nemesis_dup {\n");
        for (unsigned i = 0; i < t->n; i++) {
            if (!m[i])
                continue;
            put(&o,
                "  chain p%u {\n    type filter hook ingress device \"%s\" priority 0; policy "
                "accept;\n",
                i + 1, t->nodes[i].hub_veth);
            for (unsigned j = 0; j < t->n; j++) {
                if (!(m[i] & (1u << j)))
                    continue;
                if (percent < 100)
                    put(&o, "    ip daddr %s numgen random mod 100 < %d dup to \"%s\"\n",
                        t->nodes[j].addr, percent, t->nodes[j].hub_veth);
                else
                    put(&o, "    ip daddr %s dup to \"%s\"\n", t->nodes[j].addr,
                        t->nodes[j].hub_veth);
            }
            put(&o, "  }\n");
        }
        put(&o, "}\n");
    }
    int rc = o.full ? fl_errorf(errmsg, FL_ELIMIT, "nft script longer than %d bytes", SCRIPT_CAP)
                    : nemesis__nft(ctx, o.buf, errmsg);
    fl_free(o.buf);
    return rc;
}

static int apply_duplicate(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    int rc = ctx->remote ? nemesis_remote_dup(ctx->remote, f->drop, f->percent, errmsg)
                         : dup_sync(ctx, f->drop, f->percent, errmsg);
    if (rc == 0) {
        memcpy(ctx->dup_drop, f->drop, sizeof ctx->dup_drop);
        ctx->dup_percent = f->percent;
    }
    return rc;
}

int nemesis__packet_dup_clear(struct nemesis_ctx *ctx, char *errmsg)
{
    uint32_t none[NEMESIS_MAX_NODES] = {0};
    int rc = ctx->remote ? nemesis_remote_dup(ctx->remote, none, 0, errmsg)
                         : dup_sync(ctx, none, 0, errmsg);
    if (rc == 0)
        memset(ctx->dup_drop, 0, sizeof ctx->dup_drop);
    return rc;
}

static int heal_duplicate(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    (void)f;
    return nemesis__packet_dup_clear(ctx, errmsg);
}

/* ==== Delay ==== */

/* iptables-restore input adding (op 'A') or deleting (op 'D') one NFQUEUE rule per link. */
static char *queue_rules(const struct nemesis_ctx *ctx, const uint32_t *m, char op)
{
    const struct nemesis_topology *t = ctx->topo;
    struct out o = {.buf = fl_malloc(SCRIPT_CAP), .cap = SCRIPT_CAP};
    if (!o.buf)
        return NULL;
    put(&o, "*filter\n");
    for (unsigned i = 0; i < t->n; i++)
        for (unsigned j = 0; j < t->n; j++)
            if (m[i] & (1u << j))
                put(&o, "-%c FORWARD -s %s/32 -d %s/32 -j NFQUEUE --queue-num %u --queue-bypass\n",
                    op, t->nodes[i].addr, t->nodes[j].addr, ctx->queue_num);
    put(&o, "COMMIT\n");
    if (o.full) {
        fl_free(o.buf);
        return NULL;
    }
    return o.buf;
}

static int iptables_restore(struct nemesis_ctx *ctx, const uint32_t *m, char op, char *errmsg)
{
    char *rules = queue_rules(ctx, m, op);
    if (!rules)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory for the iptables rules");
    char *argv[] = {"iptables-restore", "--noflush", "-w", NULL};
    int rc = nemesis__exec_in(ctx->topo->hub_ns, argv, rules, errmsg);
    fl_free(rules);
    return rc;
}

/* netem on the hub port towards each destination (delays everything sent to it). */
static int netem_sync(struct nemesis_ctx *ctx, const struct nemesis_fault *f, bool add,
                      char *errmsg)
{
    const struct nemesis_topology *t = ctx->topo;
    uint32_t dsts = 0;
    for (unsigned i = 0; i < t->n; i++)
        dsts |= f->drop[i];
    int first = 0;
    for (unsigned j = 0; j < t->n; j++) {
        if (!(dsts & (1u << j)))
            continue;
        char delay[24], jitter[24], reorder[24];
        snprintf(delay, sizeof delay, "%ums", f->delay_ms);
        snprintf(jitter, sizeof jitter, "%ums", f->jitter_ms);
        snprintf(reorder, sizeof reorder, "%d%%", f->percent);
        char *veth = (char *)t->nodes[j].hub_veth;
        char *add_argv[] = {"tc",    "qdisc", "replace", "dev",     veth,    "root", "netem",
                            "delay", delay,   jitter,    "reorder", reorder, NULL};
        char *del_argv[] = {"tc", "qdisc", "del", "dev", veth, "root", NULL};
        int rc = nemesis__exec_in(t->hub_ns, add ? add_argv : del_argv, NULL, errmsg);
        if (rc < 0 && first == 0)
            first = rc;
        if (rc < 0 && add)
            return rc;
    }
    return first;
}

static int apply_delay(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    if (ctx->delayer || ctx->delay_netem || ctx->remote_delay)
        return fl_errorf(errmsg, FL_EUSAGE, "a delay fault is already active");
    if (ctx->remote) {
        /* A faultline-delayer on each receiving host, its table queueing to it (remote.h). */
        int rc = nemesis_remote_delay_start(ctx->remote, f->drop, f->delay_ms, f->jitter_ms,
                                            f->percent, ctx->seed, errmsg);
        if (rc != 0)
            return rc < 0 ? rc : FL_EUSAGE;
        ctx->remote_delay = true;
        memcpy(ctx->delay_drop, f->drop, sizeof ctx->delay_drop);
        return 0;
    }
    if (ctx->netem) {
        int rc = netem_sync(ctx, f, true, errmsg);
        if (rc < 0) {
            char ignored[FL_ERRMSG_SIZE];
            netem_sync(ctx, f, false, ignored);
            return rc;
        }
        ctx->delay_netem = true;
        memcpy(ctx->delay_drop, f->drop, sizeof ctx->delay_drop);
        return 0;
    }
    struct nemesis_delayer_opts o = {
        .ns = ctx->topo->hub_ns,
        .queue_num = ctx->queue_num,
        .delay_ms = f->delay_ms,
        .jitter_ms = f->jitter_ms,
        .reorder_percent = f->percent,
        .seed = ctx->seed,
    };
    int rc = nemesis_delayer_start(&ctx->delayer, &o, errmsg);
    if (rc < 0)
        return rc;
    rc = iptables_restore(ctx, f->drop, 'A', errmsg);
    if (rc < 0) {
        nemesis_delayer_stop(ctx->delayer, NULL);
        ctx->delayer = NULL;
        return rc;
    }
    memcpy(ctx->delay_drop, f->drop, sizeof ctx->delay_drop);
    return 0;
}

int nemesis__packet_delay_clear(struct nemesis_ctx *ctx, char *errmsg)
{
    int rc = 0;
    if (ctx->remote_delay) {
        uint64_t packets = 0, held = 0;
        rc = nemesis_remote_delay_stop(ctx->remote, &packets, &held, errmsg);
        ctx->remote_delay = false;
        ctx->delay_packets = packets;
        ctx->delay_held = held;
    }
    if (ctx->delay_netem) {
        struct nemesis_fault f = {0};
        memcpy(f.drop, ctx->delay_drop, sizeof f.drop);
        rc = netem_sync(ctx, &f, false, errmsg);
        ctx->delay_netem = false;
    }
    if (ctx->delayer) {
        /* Rules first, so no new packet is queued; then the delayer releases what it holds. */
        rc = iptables_restore(ctx, ctx->delay_drop, 'D', errmsg);
        struct nemesis_delayer_stats st;
        nemesis_delayer_stop(ctx->delayer, &st);
        ctx->delayer = NULL;
        ctx->delay_packets = st.packets;
        ctx->delay_held = st.held;
    }
    memset(ctx->delay_drop, 0, sizeof ctx->delay_drop);
    return rc;
}

static int heal_delay(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    (void)f;
    return nemesis__packet_delay_clear(ctx, errmsg);
}

const struct nemesis_kind nemesis_packet_loss = {.name = "loss",
                                                 .cls = NEMESIS_CLASS_NET,
                                                 .plan = plan_loss,
                                                 .apply = apply_loss,
                                                 .heal = heal_loss};
const struct nemesis_kind nemesis_packet_duplicate = {.name = "duplicate",
                                                      .cls = NEMESIS_CLASS_NET,
                                                      .plan = plan_duplicate,
                                                      .apply = apply_duplicate,
                                                      .heal = heal_duplicate};
const struct nemesis_kind nemesis_packet_delay = {.name = "delay",
                                                  .cls = NEMESIS_CLASS_NET,
                                                  .plan = plan_delay,
                                                  .apply = apply_delay,
                                                  .heal = heal_delay};
const struct nemesis_kind nemesis_packet_reorder = {.name = "reorder",
                                                    .cls = NEMESIS_CLASS_NET,
                                                    .plan = plan_reorder,
                                                    .apply = apply_delay,
                                                    .heal = heal_delay};
