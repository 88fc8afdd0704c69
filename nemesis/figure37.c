/* figure37.c - the figure-3-7 fault: Raft's Figure 3.7 on a real cluster, step by step on what
 * the nodes report (see figure37.h). */
#include "nemesis/figure37.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "nemesis/nodefault.h"
#include "nemesis/packet.h"
#include "nemesis/partition.h"

#define POLL_MS    20
#define PROBE_MS   300   /* a probe's deadline */
#define STEP_MAX   30000 /* a step that waits longer gives up (the fault heals at once) */
#define SETTLE_MAX 5000  /* the followers' catching up is waited for this long at most */
#define SETTLE_ONE 1000  /* ... and this long when only one lags */

enum { L, A, B, C, D };

enum state {
    ST_IDLE,
    ST_SETTLE,      /* before step 1: every follower to reach the leader's commit index */
    ST_WAIT_D,      /* step 1: C to name D its leader */
    ST_WAIT_W,      /* step 2: L or A to lead a later term */
    ST_WAIT_COMMIT, /* step 2: W's commit index to move */
    ST_WAIT_NEW,    /* step 3: B, C or D to lead */
    ST_DONE,        /* steps over (the network stays as it is until the heal), or given up */
};

static void say(struct nemesis_figure37 *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(struct nemesis_figure37 *f, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    f->ops.say(f->ops.data, line);
}

static void enter(struct nemesis_figure37 *f, int state)
{
    f->state = state;
    f->state_since = uv_now(f->loop);
}

/* ==== Network layouts ==== */

static void all_cut(uint32_t *drop)
{
    for (unsigned i = 0; i < NEMESIS_FIGURE37_NODES; i++)
        drop[i] = ((1u << NEMESIS_FIGURE37_NODES) - 1) & ~(1u << i);
}

static void link_both(const struct nemesis_figure37 *f, uint32_t *drop, int a, int b)
{
    unsigned x = f->role[a], y = f->role[b];
    drop[x] &= ~(1u << y);
    drop[y] &= ~(1u << x);
}

static void delay_to(const struct nemesis_figure37 *f, uint32_t *delay, unsigned from, int to)
{
    delay[from] |= 1u << f->role[to];
}

static int net(struct nemesis_figure37 *f, const uint32_t *drop, const uint32_t *delay)
{
    char err[FL_ERRMSG_SIZE] = "";
    int rv = f->ops.net(f->ops.data, drop, delay, f->delay_ms, err);
    if (rv != 0)
        say(f, "figure-3-7: network change failed: %s", err);
    return rv;
}

/* Kills (kill) or starts again node i, keeping f->killed up to date for the heal. */
static int node_act(struct nemesis_figure37 *f, unsigned i, bool kill)
{
    char err[FL_ERRMSG_SIZE] = "";
    int rv = kill ? f->ops.kill(f->ops.data, i, err) : f->ops.start(f->ops.data, i, err);
    if (rv != 0) {
        say(f, "figure-3-7: %s n%u failed: %s", kill ? "kill" : "start", i + 1, err);
        return rv;
    }
    if (kill)
        f->killed |= 1u << i;
    else
        f->killed &= ~(1u << i);
    return 0;
}

static int kill_node(struct nemesis_figure37 *f, unsigned i)
{
    return node_act(f, i, true);
}

static int start_node(struct nemesis_figure37 *f, unsigned i)
{
    return node_act(f, i, false);
}

static int block_d(struct nemesis_figure37 *f, bool on)
{
    char err[FL_ERRMSG_SIZE] = "";
    int rv = f->ops.block_clients(f->ops.data, f->role[D], on, err);
    if (rv != 0)
        say(f, "figure-3-7: client port of n%u: %s", f->role[D] + 1, err);
    else
        f->blocked = on;
    return rv;
}

static void give_up(struct nemesis_figure37 *f, const char *why)
{
    char err[FL_ERRMSG_SIZE];
    say(f, "figure-3-7: %s; healing now", why);
    nemesis_figure37_end(f, err);
    enter(f, ST_DONE);
}

/* ==== Steps ==== */

/* Step 1, once the followers have caught up (a lagging B would get W's no-op in the same burst
 * as the entries it lacks). */
static void step1(struct nemesis_figure37 *f)
{
    uint32_t drop[NEMESIS_FIGURE37_NODES], delay[NEMESIS_FIGURE37_NODES] = {0};
    all_cut(drop);
    link_both(f, drop, L, A);
    link_both(f, drop, C, D);
    link_both(f, drop, B, D);
    delay_to(f, delay, f->role[D], B);
    if (block_d(f, true) != 0 || net(f, drop, delay) != 0)
        return give_up(f, "step 1 not set up");
    say(f,
        "figure-3-7: roles L=n%u A=n%u B=n%u C=n%u D=n%u (commit %" PRIu64
        "); L and A cut off, D->B delayed %" PRIu32 " ms, clients kept from D",
        f->role[L] + 1, f->role[A] + 1, f->role[B] + 1, f->role[C] + 1, f->role[D] + 1,
        f->settle_to, f->delay_ms);
    enter(f, ST_WAIT_D);
}

/* Step 2: D leads. B has voted for it; D's entries to B are still held by the delay. */
static void step2(struct nemesis_figure37 *f)
{
    uint32_t drop[NEMESIS_FIGURE37_NODES], delay[NEMESIS_FIGURE37_NODES] = {0};
    if (kill_node(f, f->role[D]) != 0 || kill_node(f, f->role[B]) != 0)
        return give_up(f, "could not kill D or B");
    all_cut(drop);
    link_both(f, drop, L, A);
    link_both(f, drop, L, B);
    link_both(f, drop, A, B);
    delay_to(f, delay, f->role[L], B);
    delay_to(f, delay, f->role[A], B);
    /* D is dead: its port may refuse at once now, so that clients that try it (C still names
     * it) move on to W quickly instead of waiting out a connect timeout. */
    if (net(f, drop, delay) != 0 || start_node(f, f->role[B]) != 0 || block_d(f, false) != 0)
        return give_up(f, "step 2 not set up");
    say(f,
        "figure-3-7: n%u led term %" PRIu64 "; n%u and n%u killed, n%u started again; n%u, n%u, "
        "n%u together, C and D cut off",
        f->role[D] + 1, f->term_d, f->role[D] + 1, f->role[B] + 1, f->role[B] + 1, f->role[L] + 1,
        f->role[A] + 1, f->role[B] + 1);
    enter(f, ST_WAIT_W);
}

/* Step 3: W's commit index moved. */
static void step3(struct nemesis_figure37 *f, uint64_t commit)
{
    uint32_t drop[NEMESIS_FIGURE37_NODES], delay[NEMESIS_FIGURE37_NODES] = {0};
    if (kill_node(f, f->w) != 0 || kill_node(f, f->role[B]) != 0)
        return give_up(f, "could not kill W or B");
    all_cut(drop);
    link_both(f, drop, B, C);
    link_both(f, drop, B, D);
    link_both(f, drop, C, D);
    if (net(f, drop, delay) != 0 || start_node(f, f->role[B]) != 0 ||
        start_node(f, f->role[D]) != 0)
        return give_up(f, "step 3 not set up");
    say(f,
        "figure-3-7: n%u (term %" PRIu64 ") commit %" PRIu64 " -> %" PRIu64
        "; n%u and n%u killed, n%u and n%u started; n%u, n%u, n%u together, n%u cut off",
        f->w + 1, f->term_w, f->commit_w0, commit, f->w + 1, f->role[B] + 1, f->role[B] + 1,
        f->role[D] + 1, f->role[B] + 1, f->role[C] + 1, f->role[D] + 1, f->v + 1);
    enter(f, ST_WAIT_NEW);
}

/* Before step 1: goes on once every follower has reached the leader's commit index, or all but
 * one after SETTLE_ONE ms, or whatever they reached after SETTLE_MAX ms. */
static void settle_check(struct nemesis_figure37 *f)
{
    if (f->settle_to == 0)
        return;
    uint64_t waited = uv_now(f->loop) - f->state_since;
    char lag[128] = "";
    size_t off = 0;
    unsigned n_lag = 0, k_lag = 0;
    for (unsigned k = A; k <= D; k++) {
        unsigned i = f->role[k];
        if (f->commit[i] >= f->settle_to)
            continue;
        n_lag++;
        k_lag = k;
        if (off < sizeof lag)
            off += (size_t)snprintf(lag + off, sizeof lag - off, " n%u at %" PRIu64, i + 1,
                                    f->commit[i]);
    }
    if (n_lag > 0 && !(n_lag == 1 && waited >= SETTLE_ONE) && waited < SETTLE_MAX)
        return;
    if (n_lag > 0) {
        /* A node that cannot catch up (with commit-old-term, one whose committed entries were
         * overwritten refuses the leader's log for good) does least harm as C: C only votes. */
        if (n_lag == 1 && k_lag != C) {
            unsigned swap = f->role[C];
            f->role[C] = f->role[k_lag];
            f->role[k_lag] = swap;
        }
        say(f, "figure-3-7: not every follower reached commit %" PRIu64 " (%s); going on%s",
            f->settle_to, lag + 1, n_lag == 1 ? " with it as C" : "");
    }
    step1(f);
}

/* ==== Probes ==== */

static bool watched(const struct nemesis_figure37 *f, unsigned i)
{
    switch (f->state) {
    case ST_SETTLE:
        return true;
    case ST_WAIT_D:
        return i == f->role[C];
    case ST_WAIT_W:
        return i == f->role[L] || i == f->role[A];
    case ST_WAIT_COMMIT:
        return i == f->w;
    case ST_WAIT_NEW:
        return i == f->role[B] || i == f->role[C] || i == f->role[D];
    default:
        return false;
    }
}

/* A node's report: the leader it knows (index, or -1), its term and commit index. */
static bool report(const json_t *reply, int *leader, uint64_t *term, uint64_t *commit)
{
    const json_t *jl = json_object_get(reply, "leader");
    const json_t *jt = json_object_get(reply, "term");
    const json_t *jc = json_object_get(reply, "commit");
    if (!json_is_integer(jt) || !json_is_integer(jc))
        return false;
    const char *l = json_string_value(jl);
    unsigned long id = l != NULL && l[0] == 'n' ? strtoul(l + 1, NULL, 10) : 0;
    *leader = id >= 1 && id <= NEMESIS_FIGURE37_NODES ? (int)id - 1 : -1;
    *term = (uint64_t)json_integer_value(jt);
    *commit = (uint64_t)json_integer_value(jc);
    return true;
}

static void on_probe(struct client_req *req)
{
    struct nemesis_figure37_probe *p = req->data;
    struct nemesis_figure37 *f = p->f;
    p->busy = false;
    int leader;
    uint64_t term, commit;
    /* A report asked for before the step began may describe the previous step. */
    if (req->outcome != CLIENT_OK || p->sent_at <= f->state_since || !watched(f, p->node) ||
        !report(req->result, &leader, &term, &commit))
        return;
    bool leads = leader == (int)p->node;
    switch (f->state) {
    case ST_SETTLE:
        f->commit[p->node] = commit;
        if (p->node == f->role[L]) {
            if (!leads)
                return give_up(f, "the leader changed before step 1");
            if (f->settle_to == 0)
                f->settle_to = commit;
        }
        settle_check(f);
        break;
    case ST_WAIT_D:
        if (leader == (int)f->role[D]) {
            f->term_d = term;
            step2(f);
        }
        break;
    case ST_WAIT_W:
        if (leads && term > f->term_d) {
            f->w = p->node;
            f->v = p->node == f->role[L] ? f->role[A] : f->role[L];
            f->term_w = term;
            f->commit_w0 = commit;
            say(f, "figure-3-7: n%u leads term %" PRIu64 " with commit %" PRIu64, f->w + 1, term,
                commit);
            enter(f, ST_WAIT_COMMIT);
        }
        break;
    case ST_WAIT_COMMIT:
        if (!leads || term != f->term_w)
            give_up(f, "W lost its leadership before its commit index moved");
        else if (commit > f->commit_w0)
            step3(f, commit);
        break;
    case ST_WAIT_NEW:
        if (leads && term > f->term_w) {
            say(f, "figure-3-7: n%u leads term %" PRIu64 " (steps over)", p->node + 1, term);
            enter(f, ST_DONE);
        }
        break;
    default:
        break;
    }
}

static void on_poll(uv_timer_t *t)
{
    struct nemesis_figure37 *f = t->data;
    if (f->state == ST_IDLE || f->state == ST_DONE) {
        uv_timer_stop(&f->timer);
        return;
    }
    if (f->state == ST_SETTLE) {
        settle_check(f);
        if (f->state != ST_SETTLE)
            return;
    }
    if (uv_now(f->loop) - f->state_since > STEP_MAX) {
        give_up(f, f->state == ST_SETTLE        ? "the leader did not answer"
                   : f->state == ST_WAIT_D      ? "D did not lead in time"
                   : f->state == ST_WAIT_W      ? "neither L nor A led in time"
                   : f->state == ST_WAIT_COMMIT ? "W's commit index did not move in time"
                                                : "no leader among B, C and D in time");
        return;
    }
    for (unsigned i = 0; i < NEMESIS_FIGURE37_NODES; i++) {
        struct nemesis_figure37_probe *p = &f->probe[i];
        if (p->busy || !watched(f, i) || (f->killed & (1u << i)))
            continue;
        memset(&p->req, 0, sizeof p->req);
        p->req.data = p;
        p->req.timeout_ms = PROBE_MS;
        p->sent_at = uv_now(f->loop);
        if (client_members(&p->c, &p->req, on_probe) == 0)
            p->busy = true;
    }
}

/* ==== Interface ==== */

int nemesis_figure37_init(struct nemesis_figure37 *f, uv_loop_t *loop,
                          const char *const *client_addrs, unsigned n,
                          const struct nemesis_figure37_ops *ops, char *errmsg)
{
    memset(f, 0, sizeof *f);
    f->loop = loop;
    f->ops = *ops;
    int rv = uv_timer_init(loop, &f->timer);
    if (rv != 0)
        return fl_errorf(errmsg, rv, "figure-3-7 timer: %s", uv_strerror(rv));
    f->timer.data = f;
    f->timer_ok = true;
    f->open_handles = 1;
    if (n != NEMESIS_FIGURE37_NODES)
        return fl_errorf(errmsg, FL_EUSAGE, "figure-3-7 needs exactly 5 voting nodes, not %u", n);
    for (unsigned i = 0; i < n; i++) {
        struct nemesis_figure37_probe *p = &f->probe[i];
        const char *addr = client_addrs[i];
        struct client_config cc = {
            .addrs = &addr, .n_addrs = 1, .op_timeout_ms = PROBE_MS, .backoff_ms = POLL_MS};
        p->f = f;
        p->node = i;
        char err[FL_ERRMSG_SIZE];
        if ((rv = client_init(&p->c, loop, &cc, err)) != 0)
            return fl_errorf(errmsg, rv, "probe of n%u: %s", i + 1, err);
        p->c.data = p;
        p->open = true;
        f->open_handles++;
    }
    return 0;
}

int nemesis_figure37_begin(struct nemesis_figure37 *f, unsigned leader, uint32_t delay_ms,
                           char *errmsg)
{
    if ((f->state != ST_IDLE && f->state != ST_DONE) || f->blocked || f->killed != 0)
        return fl_errorf(errmsg, FL_EUSAGE, "figure-3-7 is already going (or not healed)");
    if (leader >= NEMESIS_FIGURE37_NODES)
        return fl_errorf(errmsg, FL_EUSAGE, "figure-3-7: leader index %u out of range", leader);
    for (unsigned k = 0; k < NEMESIS_FIGURE37_NODES; k++)
        f->role[k] = (leader + k) % NEMESIS_FIGURE37_NODES;
    f->delay_ms = delay_ms;
    f->killed = 0;
    f->settle_to = 0;
    memset(f->commit, 0, sizeof f->commit);
    enter(f, ST_SETTLE);
    uv_timer_start(&f->timer, on_poll, 0, POLL_MS);
    return 0;
}

int nemesis_figure37_end(struct nemesis_figure37 *f, char *errmsg)
{
    if (f->state == ST_IDLE)
        return 0;
    uv_timer_stop(&f->timer);
    uint32_t zero[NEMESIS_FIGURE37_NODES] = {0};
    char err[FL_ERRMSG_SIZE] = "";
    int first = f->ops.net(f->ops.data, zero, zero, f->delay_ms, err);
    if (first != 0)
        fl_errorf(errmsg, first, "figure-3-7 heal: %s", err);
    if (f->blocked) {
        int rv = f->ops.block_clients(f->ops.data, f->role[D], false, err);
        if (rv == 0)
            f->blocked = false;
        else if (first == 0)
            first = fl_errorf(errmsg, rv, "figure-3-7 heal: %s", err);
    }
    for (unsigned i = 0; i < NEMESIS_FIGURE37_NODES; i++) {
        if (!(f->killed & (1u << i)))
            continue;
        int rv = f->ops.start(f->ops.data, i, err);
        if (rv == 0)
            f->killed &= ~(1u << i);
        else if (first == 0)
            first = fl_errorf(errmsg, rv, "figure-3-7 heal: start n%u: %s", i + 1, err);
    }
    /* Stay active while something is left (a blocked port, a killed node), so that the next
     * heal (the run's end) tries again. */
    f->state = f->blocked || f->killed != 0 ? ST_DONE : ST_IDLE;
    return first;
}

static void closed_one(struct nemesis_figure37 *f)
{
    if (--f->open_handles == 0 && f->close_cb != NULL)
        f->close_cb(f->close_data);
}

static void on_probe_closed(struct client *c)
{
    struct nemesis_figure37_probe *p = c->data;
    closed_one(p->f);
}

static void on_timer_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

void nemesis_figure37_close(struct nemesis_figure37 *f, void (*cb)(void *data), void *data)
{
    f->close_cb = cb;
    f->close_data = data;
    f->state = ST_IDLE;
    for (unsigned i = 0; i < NEMESIS_FIGURE37_NODES; i++) {
        if (f->probe[i].open) {
            f->probe[i].open = false;
            client_close(&f->probe[i].c, on_probe_closed);
        }
    }
    if (f->timer_ok) {
        f->timer_ok = false;
        uv_close((uv_handle_t *)&f->timer, on_timer_closed);
    } else if (f->open_handles == 0 && cb != NULL) {
        cb(data);
    }
}

/* ==== The steps through a nemesis ctx ==== */

static int ctx_kill(void *data, unsigned i, char *errmsg)
{
    return nemesis__node_kill(data, i, errmsg);
}

static int ctx_start(void *data, unsigned i, char *errmsg)
{
    return nemesis__node_start(data, i, errmsg);
}

/* Replaces the partition and the delayed links (the nemesis runs one fault at a time). The
 * kinds' own apply/heal, so that these steps are not counted as faults applied. */
static int ctx_net(void *data, const uint32_t *drop, const uint32_t *delay, uint32_t delay_ms,
                   char *errmsg)
{
    struct nemesis_ctx *ctx = data;
    unsigned n = ctx->topo->n;
    struct nemesis_fault f;
    memset(&f, 0, sizeof f);
    f.kind = &nemesis_packet_delay;
    int rv = nemesis_packet_delay.heal(ctx, &f, errmsg);
    bool cut = false, held = false;
    for (unsigned i = 0; i < n; i++) {
        cut |= drop[i] != 0;
        held |= delay[i] != 0;
    }
    f.kind = &nemesis_partition_isolate_one;
    memcpy(f.drop, drop, n * sizeof *drop);
    if (rv == 0)
        rv = cut ? nemesis_partition_isolate_one.apply(ctx, &f, errmsg)
                 : nemesis_partition_isolate_one.heal(ctx, &f, errmsg);
    if (rv == 0 && held) {
        f.kind = &nemesis_packet_delay;
        memset(f.drop, 0, sizeof f.drop);
        memcpy(f.drop, delay, n * sizeof *delay);
        f.delay_ms = delay_ms;
        rv = nemesis_packet_delay.apply(ctx, &f, errmsg);
    }
    return rv;
}

static int ctx_block_clients(void *data, unsigned i, bool on, char *errmsg)
{
    struct nemesis_ctx *ctx = data;
    unsigned port = ctx->node_ops.client_port != NULL
                        ? ctx->node_ops.client_port(ctx->node_ops.data, i)
                        : 0;
    if (port == 0 || port > 65535)
        return fl_errorf(errmsg, FL_EUSAGE, "n%u: no client port known", i + 1);
    return nemesis_port_block(ctx->topo, i, (uint16_t)port, on, errmsg);
}

static void ctx_say(void *data, const char *line)
{
    nemesis__say(data, "%s", line);
}

void nemesis_figure37_ctx_ops(struct nemesis_ctx *ctx, struct nemesis_figure37_ops *ops)
{
    *ops = (struct nemesis_figure37_ops){.data = ctx,
                                         .kill = ctx_kill,
                                         .start = ctx_start,
                                         .net = ctx_net,
                                         .block_clients = ctx_block_clients,
                                         .say = ctx_say};
}

/* ==== The fault kind ==== */

/* figure-3-7 plays five roles and keeps the link delay it will use. */
static int plan_figure_3_7(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                           const struct nemesis_fault_opts *opts, struct nemesis_fault *f,
                           char *errmsg)
{
    if (topo->n != 5)
        return fl_errorf(errmsg, FL_EUSAGE, "figure-3-7 needs exactly 5 nodes, the topology has %u",
                         topo->n);
    f->delay_ms = opts->delay_ms;
    return nemesis_nodefault_plan(rng, topo, leader, NEMESIS_TARGET_LEADER,
                                  NEMESIS_ACTION_FIGURE_3_7, f, errmsg);
}

static int fig_effect(struct nemesis_ctx *ctx, const struct nemesis_fault *f, bool heal,
                      char *errmsg)
{
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(f->nodes & (1u << i)))
            continue;
        if (ctx->figure37 == NULL)
            return fl_errorf(errmsg, FL_EUSAGE, "figure-3-7: no probes (needs 5 reference nodes)");
        int rv = heal ? nemesis_figure37_end(ctx->figure37, errmsg)
                      : nemesis_figure37_begin(ctx->figure37, i, f->delay_ms, errmsg);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static int fig_apply(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    return fig_effect(ctx, f, false, errmsg);
}

static int fig_heal(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    return fig_effect(ctx, f, true, errmsg);
}

const struct nemesis_kind nemesis_figure37_kind = {.name = "figure-3-7",
                                                   .cls = NEMESIS_CLASS_PROCESS,
                                                   .plan = plan_figure_3_7,
                                                   .apply = fig_apply,
                                                   .heal = fig_heal};
