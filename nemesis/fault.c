/* fault.c - the fault kind registry, planning entry points, the apply/heal context and history
 * events. */
#include "nemesis/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "nemesis/clock.h"
#include "nemesis/delayer.h"
#include "nemesis/netns.h"
#include "nemesis/corrupt.h"
#include "nemesis/diskfault.h"
#include "nemesis/figure37.h"
#include "nemesis/membership.h"
#include "nemesis/packet.h"
#include "nemesis/partition.h"
#include "nemesis/procfault.h"
#include "nemesis/slowisolate.h"
#include "nemesis/remote.h"

/* ==== Kinds ==== */

static const struct nemesis_kind *const all_kinds[] = {
    &nemesis_partition_isolate_one,
    &nemesis_partition_isolate_leader,
    &nemesis_partition_halves,
    &nemesis_partition_majorities_ring,
    &nemesis_partition_bridge,
    &nemesis_partition_one_way,
    &nemesis_partition_random,
    &nemesis_packet_loss,
    &nemesis_packet_duplicate,
    &nemesis_packet_delay,
    &nemesis_packet_reorder,
    &nemesis_clock_skew,
    &nemesis_clock_jump,
    &nemesis_clock_rate,
    &nemesis_procfault_pause_one,
    &nemesis_procfault_pause_leader,
    &nemesis_procfault_pause_minority,
    &nemesis_procfault_kill_one,
    &nemesis_procfault_kill_leader,
    &nemesis_procfault_kill_minority,
    &nemesis_procfault_kill_all,
    &nemesis_membership_remove_add,
    &nemesis_membership_promote,
    &nemesis_corrupt_tail,
    &nemesis_slowisolate_leader,
    &nemesis_figure37_kind,
    &nemesis_diskfault_lose_unsynced,
    &nemesis_diskfault_torn_write,
    &nemesis_diskfault_fsync_error,
    &nemesis_diskfault_bitflip,
    &nemesis_diskfault_truncate,
};

const struct nemesis_kind *nemesis_kind_find(const char *name)
{
    for (size_t i = 0; i < sizeof all_kinds / sizeof all_kinds[0]; i++)
        if (strcmp(all_kinds[i]->name, name) == 0)
            return all_kinds[i];
    return NULL;
}

const struct nemesis_kind *const *nemesis_kinds(size_t *n)
{
    *n = sizeof all_kinds / sizeof all_kinds[0];
    return all_kinds;
}

void nemesis_fault_opts_default(struct nemesis_fault_opts *opts)
{
    opts->loss_percent = 20;
    opts->dup_percent = 20;
    opts->delay_ms = 50;
    opts->jitter_ms = 10;
    opts->delay_reorder_percent = 0;
    opts->reorder_percent = 25;
    opts->skew_ms = 200;
    opts->jump_ms = 60000;
    opts->rate = 2.0;
    opts->slow_rate = 0.5;
}

int nemesis_fault_opts_check(const struct nemesis_fault_opts *o, char *errmsg)
{
    if (o->loss_percent < 1 || o->loss_percent > 100)
        return fl_errorf(errmsg, FL_EUSAGE, "loss_percent: expected 1..100, got %d",
                         o->loss_percent);
    if (o->dup_percent < 1 || o->dup_percent > 100)
        return fl_errorf(errmsg, FL_EUSAGE, "dup_percent: expected 1..100, got %d", o->dup_percent);
    if (o->delay_ms < 1 || o->delay_ms > 60000)
        return fl_errorf(errmsg, FL_EUSAGE, "delay_ms: expected 1..60000, got %u", o->delay_ms);
    if (o->jitter_ms > o->delay_ms)
        return fl_errorf(errmsg, FL_EUSAGE, "jitter_ms: expected at most delay_ms (%u), got %u",
                         o->delay_ms, o->jitter_ms);
    if (o->delay_reorder_percent < 0 || o->delay_reorder_percent > 100)
        return fl_errorf(errmsg, FL_EUSAGE, "delay_reorder_percent: expected 0..100, got %d",
                         o->delay_reorder_percent);
    if (o->reorder_percent < 0 || o->reorder_percent > 100)
        return fl_errorf(errmsg, FL_EUSAGE, "reorder_percent: expected 0..100, got %d",
                         o->reorder_percent);
    if (o->skew_ms < 0 || o->skew_ms > 86400000)
        return fl_errorf(errmsg, FL_EUSAGE, "skew_ms: expected 0..86400000, got %lld",
                         (long long)o->skew_ms);
    if (o->jump_ms < 1 || o->jump_ms > 86400000LL * 365)
        return fl_errorf(errmsg, FL_EUSAGE, "jump_ms: expected 1..31536000000, got %lld",
                         (long long)o->jump_ms);
    if (!(o->rate >= 0.1 && o->rate <= 10.0))
        return fl_errorf(errmsg, FL_EUSAGE, "rate: expected 0.1..10, got %g", o->rate);
    if (!(o->slow_rate >= 0.1 && o->slow_rate <= 10.0))
        return fl_errorf(errmsg, FL_EUSAGE, "slow_rate: expected 0.1..10, got %g", o->slow_rate);
    return 0;
}

/* ==== Faults ==== */

static void fault_init(struct nemesis_fault *f, const struct nemesis_kind *kind)
{
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->clock_rate = 1.0;
}

int nemesis_fault_plan(const struct nemesis_kind *kind, struct fl_rng *rng,
                       const struct nemesis_topology *topo, int leader,
                       const struct nemesis_fault_opts *opts, struct nemesis_fault *out,
                       char *errmsg)
{
    fault_init(out, kind);
    int rc = nemesis_fault_opts_check(opts, errmsg);
    if (rc < 0)
        return fl_error_wrap(errmsg, rc, "nemesis options");
    if (topo->n < 1 || topo->n > NEMESIS_MAX_NODES)
        return fl_errorf(errmsg, FL_EUSAGE, "topology: expected 1..%d nodes, got %u",
                         NEMESIS_MAX_NODES, topo->n);
    if (leader >= (int)topo->n)
        return fl_errorf(errmsg, FL_EUSAGE, "leader: index %d out of range (%u nodes)", leader,
                         topo->n);
    out->opts = *opts;
    rc = kind->plan(rng, topo, leader, opts, out, errmsg);
    if (rc < 0) {
        nemesis_fault_clear(out);
        return fl_error_wrap(errmsg, rc, "%s", kind->name);
    }
    return 0;
}

int nemesis_fault_bind_leader(struct nemesis_fault *f, const struct nemesis_topology *topo,
                              int leader, char *errmsg)
{
    if (!f->needs_leader)
        return 0;
    if (leader < 0 || leader >= (int)topo->n)
        return fl_errorf(errmsg, FL_EUSAGE, "%s: leader index %d out of range (%u nodes)",
                         f->kind->name, leader, topo->n);
    /* Leader kinds plan deterministically once the leader is known: no randomness needed. */
    struct fl_rng unused;
    fl_rng_seed(&unused, 0);
    /* The options it was planned with (a copy: plan writes *f's successor). */
    struct nemesis_fault_opts opts = f->opts;
    struct nemesis_fault bound;
    int rc = nemesis_fault_plan(f->kind, &unused, topo, leader, &opts, &bound, errmsg);
    if (rc < 0)
        return rc;
    nemesis_fault_clear(f);
    *f = bound;
    return 0;
}

void nemesis_fault_copy(struct nemesis_fault *dst, const struct nemesis_fault *src)
{
    *dst = *src;
    if (dst->value)
        json_incref(dst->value);
}

void nemesis_fault_clear(struct nemesis_fault *f)
{
    json_decref(f->value);
    f->value = NULL;
}

void nemesis__node_name(unsigned i, char *buf)
{
    snprintf(buf, 8, "n%u", (i + 1) % 1000);
}

int nemesis__value_edges(struct nemesis_fault *f, unsigned n, json_t *extra, char *errmsg)
{
    json_t *m = json_object();
    if (!m)
        goto err_nomem;
    for (unsigned i = 0; i < n; i++) {
        if (!f->drop[i])
            continue;
        json_t *dsts = json_array();
        char name[8];
        nemesis__node_name(i, name);
        if (!dsts || json_object_set_new(m, name, dsts) < 0)
            goto err_value;
        for (unsigned j = 0; j < n; j++) {
            if (!(f->drop[i] & (1u << j)))
                continue;
            nemesis__node_name(j, name);
            if (json_array_append_new(dsts, json_string(name)) < 0)
                goto err_value;
        }
    }
    if (extra) {
        if (json_object_set_new(extra, "links", m) < 0) {
            m = NULL;
            goto err_value;
        }
        m = extra;
        extra = NULL;
    }
    json_decref(f->value);
    f->value = m;
    return 0;
err_value:
    json_decref(m);
err_nomem:
    json_decref(extra);
    return fl_errorf(errmsg, FL_ENOMEM, "out of memory building the fault's value");
}

/* ==== Namespaces and commands ==== */

static int ns_name_ok(const char *ns)
{
    return strncmp(ns, "fl-", 3) == 0 && !strchr(ns, '/') && strlen(ns) < NEMESIS_NAME_MAX;
}

struct netns_call {
    const char *ns;
    int (*fn)(void *arg, char *errmsg);
    void *arg;
    char *errmsg;
    int rc;
};

static void *netns_thread(void *p)
{
    struct netns_call *c = p;
    c->rc = nemesis_netns_enter(c->ns, c->errmsg);
    if (c->rc == 0)
        c->rc = c->fn(c->arg, c->errmsg);
    return NULL;
}

int nemesis__in_netns(const char *ns, int (*fn)(void *arg, char *errmsg), void *arg, char *errmsg)
{
    if (!ns_name_ok(ns))
        return fl_errorf(errmsg, FL_EUSAGE, "namespace %s: refused (not one of ours: fl-*)", ns);
    struct netns_call c = {.ns = ns, .fn = fn, .arg = arg, .errmsg = errmsg, .rc = 0};
    pthread_t t;
    int rc = pthread_create(&t, NULL, netns_thread, &c);
    if (rc != 0)
        return fl_errorf(errmsg, -rc, "namespace %s: thread: %s", ns, strerror(rc));
    pthread_join(t, NULL);
    return c.rc;
}

int nemesis__exec_in(const char *ns, char *const argv[], const char *input, char *errmsg)
{
    if (!ns_name_ok(ns))
        return fl_errorf(errmsg, FL_EUSAGE, "namespace %s: refused (not one of ours: fl-*)", ns);
    int rc = nemesis_netns_run(ns, (const char *const *)argv, input, input ? strlen(input) : 0,
                               NULL, 0, NULL, NULL, errmsg);
    if (rc > 0)
        return FL_EUSAGE; /* errmsg says what failed */
    return rc;
}

static int nft_new_in_hub(void *arg, char *errmsg)
{
    struct nemesis_ctx *ctx = arg;
    ctx->nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!ctx->nft)
        return fl_errorf(errmsg, FL_ENOMEM, "nft: cannot create a context");
    nft_ctx_buffer_output(ctx->nft);
    nft_ctx_buffer_error(ctx->nft);
    return 0;
}

struct nft_call {
    struct nemesis_ctx *ctx;
    const char *script;
};

static int nft_run_in_hub(void *arg, char *errmsg)
{
    struct nft_call *c = arg;
    if (!c->ctx->nft) {
        int rc = nft_new_in_hub(c->ctx, errmsg);
        if (rc < 0)
            return rc;
    }
    if (nft_run_cmd_from_buffer(c->ctx->nft, c->script) != 0) {
        const char *e = nft_ctx_get_error_buffer(c->ctx->nft);
        char line[200];
        snprintf(line, sizeof line, "%s", e ? e : "");
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        return fl_errorf(errmsg, FL_EUSAGE, "nft in %s: %s", c->ctx->topo->hub_ns, line);
    }
    return 0;
}

int nemesis__nft(struct nemesis_ctx *ctx, const char *script, char *errmsg)
{
    /* Device names (netdev hooks, `dup to`) are resolved in the calling
     * thread's namespace, so the script runs on a thread in the hub. */
    struct nft_call c = {.ctx = ctx, .script = script};
    return nemesis__in_netns(ctx->topo->hub_ns, nft_run_in_hub, &c, errmsg);
}

struct nft_node_call {
    const char *script;
    const char *ns;
};

/* A short-lived libnftables context in a node's namespace (tables there are rare: figure-3-7). */
static int nft_run_here(void *arg, char *errmsg)
{
    struct nft_node_call *c = arg;
    struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!nft)
        return fl_errorf(errmsg, FL_ENOMEM, "nft: cannot create a context");
    nft_ctx_buffer_output(nft);
    nft_ctx_buffer_error(nft);
    int rc = 0;
    if (nft_run_cmd_from_buffer(nft, c->script) != 0) {
        const char *e = nft_ctx_get_error_buffer(nft);
        char line[200];
        snprintf(line, sizeof line, "%s", e ? e : "");
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        rc = fl_errorf(errmsg, FL_EUSAGE, "nft in %s: %s", c->ns, line);
    }
    nft_ctx_free(nft);
    return rc;
}

int nemesis_port_block(const struct nemesis_topology *topo, unsigned node, uint16_t port, bool on,
                       char *errmsg)
{
    if (node >= topo->n)
        return fl_errorf(errmsg, FL_EUSAGE, "port block: node %u out of range", node);
    char script[256];
    /* Adding the table first makes the delete succeed when it is absent. */
    if (on)
        snprintf(script, sizeof script,
                 "table inet faultline_block\ndelete table inet faultline_block\n"
                 "table inet faultline_block {\n  chain in {\n    type filter hook input priority "
                 "0; policy accept;\n    tcp dport %u drop\n  }\n}\n",
                 (unsigned)port);
    else
        snprintf(script, sizeof script,
                 "table inet faultline_block\ndelete table inet faultline_block\n");
    struct nft_node_call c = {.script = script, .ns = topo->nodes[node].ns};
    return nemesis__in_netns(topo->nodes[node].ns, nft_run_here, &c, errmsg);
}

double nemesis__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ==== Apply and heal ==== */

/* Tries `tc qdisc add dev lo root netem` in a fresh scratch namespace: the
 * kernel either has the qdisc or answers "Specified qdisc kind is unknown". */
static bool netem_probe(const struct nemesis_topology *topo)
{
    char ns[NEMESIS_NAME_MAX], errmsg[FL_ERRMSG_SIZE];
    snprintf(ns, sizeof ns, "fl-%s-probe", topo->run);
    const char *add[] = {"ip", "netns", "add", ns, NULL};
    if (nemesis_netns_exec(NULL, add, errmsg) != 0)
        return false;
    char *tc[] = {"tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms", NULL};
    bool has = nemesis__exec_in(ns, tc, NULL, errmsg) == 0;
    const char *del[] = {"ip", "netns", "del", ns, NULL};
    nemesis_netns_exec(NULL, del, errmsg);
    return has;
}

int nemesis_ctx_init(struct nemesis_ctx *ctx, const struct nemesis_topology *topo,
                     const char *clock_dir, uint64_t seed, char *errmsg)
{
    memset(ctx, 0, sizeof *ctx);
    if (topo->n < 1 || topo->n > NEMESIS_MAX_NODES)
        return fl_errorf(errmsg, FL_EUSAGE, "topology: expected 1..%d nodes, got %u",
                         NEMESIS_MAX_NODES, topo->n);
    if (!ns_name_ok(topo->hub_ns))
        return fl_errorf(errmsg, FL_EUSAGE, "topology: hub namespace %s is not one of ours (fl-*)",
                         topo->hub_ns);
    if (clock_dir && strlen(clock_dir) >= sizeof ctx->clock_dir)
        return fl_errorf(errmsg, FL_EUSAGE, "clock directory: path longer than %zu bytes",
                         sizeof ctx->clock_dir - 1);
    ctx->topo = topo;
    if (clock_dir)
        snprintf(ctx->clock_dir, sizeof ctx->clock_dir, "%s", clock_dir);
    ctx->seed = seed;
    ctx->queue_num = 7;
    ctx->netem = netem_probe(topo);
    /* Made now so that the first fault applies as fast as the others. */
    int rc = nemesis__in_netns(topo->hub_ns, nft_new_in_hub, ctx, errmsg);
    if (rc < 0) {
        ctx->topo = NULL;
        return fl_error_wrap(errmsg, rc, "hub %s", topo->hub_ns);
    }
    return 0;
}

int nemesis_ctx_init_remote(struct nemesis_ctx *ctx, const struct nemesis_topology *topo,
                            struct nemesis_remote *remote, bool clock, uint64_t seed,
                            char *errmsg)
{
    memset(ctx, 0, sizeof *ctx);
    if (topo->n < 1 || topo->n > remote->n)
        return fl_errorf(errmsg, FL_EUSAGE, "topology: %u nodes for %u hosts", topo->n, remote->n);
    ctx->topo = topo;
    ctx->remote = remote;
    ctx->seed = seed;
    if (clock)
        snprintf(ctx->clock_dir, sizeof ctx->clock_dir, "%s/clock", NEMESIS_REMOTE_DIR);
    return 0;
}

static bool any_edges(const uint32_t *m)
{
    for (unsigned i = 0; i < NEMESIS_MAX_NODES; i++)
        if (m[i])
            return true;
    return false;
}

int nemesis_ctx_close(struct nemesis_ctx *ctx, char *errmsg)
{
    if (!ctx->topo)
        return 0;
    int first = 0;
    char msg[FL_ERRMSG_SIZE];
    bool net = any_edges(ctx->part_drop) || any_edges(ctx->loss_drop);
    memset(ctx->part_drop, 0, sizeof ctx->part_drop);
    memset(ctx->loss_drop, 0, sizeof ctx->loss_drop);
    if (net) {
        int rc = nemesis__net_sync(ctx, msg);
        if (rc < 0 && first == 0)
            first = fl_errorf(errmsg, rc, "%s", msg);
    }
    if (any_edges(ctx->dup_drop)) {
        int rc = nemesis__packet_dup_clear(ctx, msg);
        if (rc < 0 && first == 0)
            first = fl_errorf(errmsg, rc, "%s", msg);
    }
    if (ctx->delayer || ctx->remote_delay) {
        int rc = nemesis__packet_delay_clear(ctx, msg);
        if (rc < 0 && first == 0)
            first = fl_errorf(errmsg, rc, "%s", msg);
    }
    if (ctx->clock_dir[0]) {
        int rc = nemesis__clock_reset_all(ctx, msg);
        if (rc < 0 && first == 0)
            first = fl_errorf(errmsg, rc, "%s", msg);
    }
    if (ctx->slow.active) { /* its partition and clock went with the rest */
        nemesis_fault_clear(&ctx->slow.part);
        ctx->slow.active = false;
    }
    if (ctx->nft)
        nft_ctx_free(ctx->nft);
    ctx->nft = NULL;
    ctx->topo = NULL;
    return first;
}

int nemesis_fault_apply(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    if (!f->kind->apply)
        return fl_errorf(errmsg, FL_EUSAGE, "%s: not applied by the nemesis yet", f->kind->name);
    if (f->needs_leader)
        return fl_errorf(errmsg, FL_EUSAGE, "%s: the leader is not bound yet", f->kind->name);
    double t0 = nemesis__now_ms();
    int rc = f->kind->apply(ctx, f, errmsg);
    ctx->last_apply_ms = nemesis__now_ms() - t0;
    if (rc < 0)
        return fl_error_wrap(errmsg, rc, "apply %s", f->kind->name);
    ctx->applied++;
    return rc;
}

int nemesis_fault_heal(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    if (!f->kind->heal)
        return fl_errorf(errmsg, FL_EUSAGE, "%s: not healed by the nemesis yet", f->kind->name);
    double t0 = nemesis__now_ms();
    int rc = f->kind->heal(ctx, f, errmsg);
    ctx->last_heal_ms = nemesis__now_ms() - t0;
    if (rc < 0)
        return fl_error_wrap(errmsg, rc, "heal %s", f->kind->name);
    return rc;
}

/* ==== History events ==== */

json_t *nemesis_fault_event_json(const struct nemesis_fault *f, enum nemesis_phase phase,
                                 enum fl_event_type type, int64_t index, int64_t time_ns,
                                 const char *error)
{
    json_t *ev = json_object();
    json_t *value = NULL;
    if (!ev)
        return NULL;
    if (index >= 0 && json_object_set_new(ev, "index", json_integer(index)) < 0)
        goto err;
    if (json_object_set_new(ev, "time", json_integer(time_ns)) < 0 ||
        json_object_set_new(ev, "process", json_string("nemesis")) < 0 ||
        json_object_set_new(ev, "type", json_string(fl_event_type_name(type))) < 0)
        goto err;
    json_t *planned = f->value ? json_incref(f->value) : json_null();
    if (phase == NEMESIS_PHASE_START) {
        value = planned;
    } else {
        value = json_object();
        if (!value || json_object_set_new(value, "fault", json_string(f->kind->name)) < 0 ||
            json_object_set_new(value, "value", planned) < 0) {
            if (!value)
                json_decref(planned);
            goto err;
        }
    }
    if (error && type == FL_EVENT_INFO) {
        json_t *wrapped = json_object();
        if (!wrapped || json_object_set_new(wrapped, "error", json_string(error)) < 0 ||
            json_object_set(wrapped, "planned", value) < 0) {
            json_decref(wrapped);
            goto err;
        }
        json_decref(value);
        value = wrapped;
    }
    const char *fname = phase == NEMESIS_PHASE_START ? f->kind->name : "heal";
    if (json_object_set_new(ev, "f", json_string(fname)) < 0)
        goto err;
    if (json_object_set_new(ev, "value", value) < 0) {
        value = NULL;
        goto err;
    }
    return ev;
err:
    json_decref(value);
    json_decref(ev);
    return NULL;
}
