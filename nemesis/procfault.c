/* procfault.c - pause and kill faults, and the node steps other node kinds share. */
#include "nemesis/procfault.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nemesis/nodefault.h"

/* ==== Node steps (fault.h internals) ==== */

static int missing(const char *op, char *errmsg)
{
    return fl_errorf(errmsg, FL_EUNSUPPORTED, "the nodes' backend cannot %s", op);
}

bool nemesis__node_running(struct nemesis_ctx *ctx, unsigned i)
{
    return ctx->node_ops.running != NULL && ctx->node_ops.running(ctx->node_ops.data, i);
}

int nemesis__node_kill(struct nemesis_ctx *ctx, unsigned i, char *errmsg)
{
    if (!nemesis__node_running(ctx, i))
        return 0;
    if (ctx->node_ops.kill == NULL)
        return missing("kill a node", errmsg);
    int rv = ctx->node_ops.kill(ctx->node_ops.data, i, errmsg);
    ctx->killed |= 1u << i; /* also on error: the heal tries to start it */
    return rv;
}

int nemesis__node_start(struct nemesis_ctx *ctx, unsigned i, char *errmsg)
{
    if (nemesis__node_running(ctx, i))
        return 0;
    if (ctx->node_ops.start == NULL)
        return missing("start a node", errmsg);
    int rv = ctx->node_ops.start(ctx->node_ops.data, i, errmsg);
    if (rv == 0) {
        ctx->killed &= ~(1u << i);
        ctx->paused &= ~(1u << i);
    }
    return rv;
}

void nemesis__say(struct nemesis_ctx *ctx, const char *fmt, ...)
{
    if (ctx->node_ops.say == NULL)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ctx->node_ops.say(ctx->node_ops.data, line);
}

void nemesis_ctx_set_nodes(struct nemesis_ctx *ctx, const struct nemesis_node_ops *ops)
{
    ctx->node_ops = *ops;
}

int nemesis_ctx_restore_nodes(struct nemesis_ctx *ctx, char *errmsg)
{
    int first = 0;
    char msg[FL_ERRMSG_SIZE];
    for (unsigned i = 0; ctx->topo != NULL && i < ctx->topo->n; i++) {
        int rv = 0;
        msg[0] = '\0';
        if ((ctx->paused & (1u << i)) && ctx->node_ops.pause != NULL) {
            ctx->node_ops.pause(ctx->node_ops.data, i, false, msg);
            ctx->paused &= ~(1u << i);
        }
        if (ctx->killed & (1u << i))
            rv = nemesis__node_start(ctx, i, msg);
        if (rv != 0 && first == 0)
            first = fl_errorf(errmsg, rv, "restart of n%u failed: %s", i + 1, msg);
    }
    return first;
}

/* ==== pause ==== */

static int pause_nodes(struct nemesis_ctx *ctx, const struct nemesis_fault *f, bool on,
                       char *errmsg)
{
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(f->nodes & (1u << i)) || !nemesis__node_running(ctx, i))
            continue;
        if (ctx->node_ops.pause == NULL)
            return missing("pause a node", errmsg);
        int rv = ctx->node_ops.pause(ctx->node_ops.data, i, on, errmsg);
        if (on)
            ctx->paused |= 1u << i;
        else
            ctx->paused &= ~(1u << i);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static int pause_apply(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    return pause_nodes(ctx, f, true, errmsg);
}

static int pause_heal(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    return pause_nodes(ctx, f, false, errmsg);
}

/* ==== kill ==== */

static int kill_apply(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(f->nodes & (1u << i)))
            continue;
        int rv = nemesis__node_kill(ctx, i, errmsg);
        if (rv != 0)
            return rv;
    }
    return 0;
}

int nemesis__node_start_killed(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(f->nodes & (1u << i)) || !(ctx->killed & (1u << i)))
            continue;
        int rv = nemesis__node_start(ctx, i, errmsg);
        if (rv != 0)
            return rv;
    }
    return 0;
}

NEMESIS_NODE_KIND(nemesis_procfault_pause_one, "pause-one", NEMESIS_CLASS_PROCESS,
                  NEMESIS_TARGET_ONE, NEMESIS_ACTION_PAUSE, pause_apply, pause_heal);
NEMESIS_NODE_KIND(nemesis_procfault_pause_leader, "pause-leader", NEMESIS_CLASS_PROCESS,
                  NEMESIS_TARGET_LEADER, NEMESIS_ACTION_PAUSE, pause_apply, pause_heal);
NEMESIS_NODE_KIND(nemesis_procfault_pause_minority, "pause-minority", NEMESIS_CLASS_PROCESS,
                  NEMESIS_TARGET_MINORITY, NEMESIS_ACTION_PAUSE, pause_apply, pause_heal);
NEMESIS_NODE_KIND(nemesis_procfault_kill_one, "kill-one", NEMESIS_CLASS_PROCESS, NEMESIS_TARGET_ONE,
                  NEMESIS_ACTION_KILL, kill_apply, nemesis__node_start_killed);
NEMESIS_NODE_KIND(nemesis_procfault_kill_leader, "kill-leader", NEMESIS_CLASS_PROCESS,
                  NEMESIS_TARGET_LEADER, NEMESIS_ACTION_KILL, kill_apply,
                  nemesis__node_start_killed);
NEMESIS_NODE_KIND(nemesis_procfault_kill_minority, "kill-minority", NEMESIS_CLASS_PROCESS,
                  NEMESIS_TARGET_MINORITY, NEMESIS_ACTION_KILL, kill_apply,
                  nemesis__node_start_killed);
NEMESIS_NODE_KIND(nemesis_procfault_kill_all, "kill-all", NEMESIS_CLASS_PROCESS, NEMESIS_TARGET_ALL,
                  NEMESIS_ACTION_KILL, kill_apply, nemesis__node_start_killed);
