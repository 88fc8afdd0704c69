/* diskfault.c - lose-unsynced, torn-write, fsync-error, bitflip, truncate. */
#include "nemesis/diskfault.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "nemesis/nodefault.h"

/* fsync-error on node i: EIO on (apply) or off (heal); at the heal a node the errors made
 * exit is started again. */
static int fsync_error(struct nemesis_ctx *ctx, unsigned i, bool heal, char *errmsg)
{
    char reply[512];
    int rv = ctx->node_ops.disk_command(ctx->node_ops.data, i,
                                        heal ? "fsync-error off" : "fsync-error on", reply,
                                        sizeof reply, errmsg);
    int code = 0, sig = 0;
    if (rv == 0 && heal && ctx->node_ops.exited != NULL &&
        ctx->node_ops.exited(ctx->node_ops.data, i, &code, &sig) == 1) {
        nemesis__say(ctx, "n%u exited under fsync errors (code %d, signal %d); starting it", i + 1,
                     code, sig);
        rv = nemesis__node_start(ctx, i, errmsg);
    }
    return rv;
}

/* The other kinds on node i, already killed (it stays marked killed even when it had exited
 * by itself: the heal starts it): its disk changed under it. */
static int damage(struct nemesis_ctx *ctx, enum nemesis_action action, unsigned i, char *errmsg)
{
    int rv;
    uint64_t seed = ctx->seed ^ (ctx->applied << 8 | i);
    char reply[512], cmd[64];
    if (action == NEMESIS_ACTION_BITFLIP || action == NEMESIS_ACTION_TRUNCATE) {
        if (ctx->node_ops.disk_damage == NULL)
            return fl_errorf(errmsg, FL_EUNSUPPORTED, "the nodes' backend cannot damage a disk");
        rv = ctx->node_ops.disk_damage(ctx->node_ops.data, i, action == NEMESIS_ACTION_BITFLIP,
                                       seed, reply, sizeof reply);
        if (rv != 0)
            return fl_errorf(errmsg, rv, "n%u: %s: %s", i + 1, nemesis_action_name(action),
                             strerror(-rv));
    } else {
        if (action == NEMESIS_ACTION_TORN_WRITE)
            snprintf(cmd, sizeof cmd, "torn %" PRIu64, seed);
        else
            snprintf(cmd, sizeof cmd, "lose");
        rv = ctx->node_ops.disk_command(ctx->node_ops.data, i, cmd, reply, sizeof reply, errmsg);
        if (rv != 0)
            return rv;
    }
    nemesis__say(ctx, "n%u: %s", i + 1, reply);
    return 0;
}

struct damage_arg {
    struct nemesis_ctx *ctx;
    enum nemesis_action action;
    unsigned i;
    int rv;
    char err[FL_ERRMSG_SIZE];
};

static void *damage_thread(void *p)
{
    struct damage_arg *a = p;
    a->rv = damage(a->ctx, a->action, a->i, a->err);
    return NULL;
}

/* damage() on every node of `set`: on hosts all at once (each a round trip to its own host,
 * which would otherwise keep the cluster down a round trip per node longer than in
 * namespaces), here one by one. */
static int damage_set(struct nemesis_ctx *ctx, enum nemesis_action action, uint32_t set,
                      char *errmsg)
{
    struct damage_arg a[NEMESIS_MAX_NODES];
    pthread_t th[NEMESIS_MAX_NODES];
    bool threaded[NEMESIS_MAX_NODES] = {0};
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(set & (1u << i)))
            continue;
        a[i] = (struct damage_arg){.ctx = ctx, .action = action, .i = i};
        threaded[i] = ctx->remote != NULL && pthread_create(&th[i], NULL, damage_thread, &a[i]) == 0;
        if (!threaded[i])
            damage_thread(&a[i]);
    }
    int first = 0;
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(set & (1u << i)))
            continue;
        if (threaded[i])
            pthread_join(th[i], NULL);
        if (a[i].rv != 0 && first == 0)
            first = fl_errorf(errmsg, a[i].rv, "%s", a[i].err);
    }
    return first;
}

static int disk(struct nemesis_ctx *ctx, const struct nemesis_fault *f, bool heal, char *errmsg)
{
    if (ctx->node_ops.disk_command == NULL)
        return fl_errorf(errmsg, FL_EUNSUPPORTED, "the nodes have no disk-fault filesystem");
    /* Every node of a power loss is down before any disk changes: the others would otherwise
     * keep running (and syncing) while the first ones are handled, as they do for a while on
     * hosts, where each step is an ssh round trip. */
    uint32_t down = 0, running = 0;
    for (unsigned i = 0; i < ctx->topo->n && !heal && f->action != NEMESIS_ACTION_FSYNC_ERROR;
         i++) {
        if (!(f->nodes & (1u << i)))
            continue;
        down |= 1u << i;
        if (nemesis__node_running(ctx, i))
            running |= 1u << i;
    }
    if (running != 0 && ctx->node_ops.kill_set != NULL) {
        int rv = ctx->node_ops.kill_set(ctx->node_ops.data, running, errmsg);
        ctx->killed |= down; /* also on error: the heal tries to start them */
        if (rv != 0)
            return rv;
    }
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(down & (1u << i)))
            continue;
        int rv = nemesis__node_kill(ctx, i, errmsg);
        ctx->killed |= 1u << i;
        if (rv != 0)
            return rv;
    }
    uint32_t back = 0; /* the heal's nodes to start, all at once when the backend can */
    for (unsigned i = 0; i < ctx->topo->n && heal && f->action != NEMESIS_ACTION_FSYNC_ERROR;
         i++)
        if ((f->nodes & ctx->killed & (1u << i)) && !nemesis__node_running(ctx, i))
            back |= 1u << i;
    if (back != 0 && ctx->node_ops.start_set != NULL) {
        int rv = ctx->node_ops.start_set(ctx->node_ops.data, back, errmsg);
        if (rv != 0)
            return rv;
        ctx->killed &= ~back;
        ctx->paused &= ~back;
    }
    if (!heal && f->action != NEMESIS_ACTION_FSYNC_ERROR)
        return damage_set(ctx, f->action, f->nodes & ((1u << ctx->topo->n) - 1), errmsg);
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(f->nodes & (1u << i)))
            continue;
        int rv;
        if (f->action == NEMESIS_ACTION_FSYNC_ERROR)
            rv = fsync_error(ctx, i, heal, errmsg);
        else
            rv = (ctx->killed & (1u << i)) ? nemesis__node_start(ctx, i, errmsg) : 0;
        if (rv != 0)
            return rv;
    }
    return 0;
}

static int disk_apply(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    return disk(ctx, f, false, errmsg);
}

static int disk_heal(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    return disk(ctx, f, true, errmsg);
}

NEMESIS_NODE_KIND(nemesis_diskfault_lose_unsynced, "lose-unsynced", NEMESIS_CLASS_PROCESS,
                  NEMESIS_TARGET_ALL, NEMESIS_ACTION_LOSE_UNSYNCED, disk_apply, disk_heal);
NEMESIS_NODE_KIND(nemesis_diskfault_torn_write, "torn-write", NEMESIS_CLASS_PROCESS,
                  NEMESIS_TARGET_ALL, NEMESIS_ACTION_TORN_WRITE, disk_apply, disk_heal);
NEMESIS_NODE_KIND(nemesis_diskfault_fsync_error, "fsync-error", NEMESIS_CLASS_PROCESS,
                  NEMESIS_TARGET_ONE, NEMESIS_ACTION_FSYNC_ERROR, disk_apply, disk_heal);
NEMESIS_NODE_KIND(nemesis_diskfault_bitflip, "bitflip", NEMESIS_CLASS_PROCESS, NEMESIS_TARGET_ONE,
                  NEMESIS_ACTION_BITFLIP, disk_apply, disk_heal);
NEMESIS_NODE_KIND(nemesis_diskfault_truncate, "truncate", NEMESIS_CLASS_PROCESS, NEMESIS_TARGET_ONE,
                  NEMESIS_ACTION_TRUNCATE, disk_apply, disk_heal);
