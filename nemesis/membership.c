/* membership.c - membership faults: remove/add back, promote. */
#include "nemesis/membership.h"

#include "nemesis/nodefault.h"

static int request(struct nemesis_ctx *ctx, const struct nemesis_fault *f, bool heal, char *errmsg)
{
    if (heal && f->action != NEMESIS_ACTION_REMOVE)
        return 0; /* nothing to undo: recorded as done at once */
    if (ctx->node_ops.membership == NULL)
        return fl_errorf(errmsg, FL_EUSAGE, "no client to send membership changes");
    bool sent = false;
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(f->nodes & (1u << i)))
            continue;
        int rv = ctx->node_ops.membership(ctx->node_ops.data, f, i, heal, errmsg);
        if (rv != 0)
            return rv;
        sent = true;
    }
    return sent ? NEMESIS_PENDING : 0;
}

static int member_apply(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    return request(ctx, f, false, errmsg);
}

static int member_heal(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    return request(ctx, f, true, errmsg);
}

NEMESIS_NODE_KIND(nemesis_membership_remove_add, "membership-remove-add", NEMESIS_CLASS_MEMBERSHIP,
                  NEMESIS_TARGET_ONE, NEMESIS_ACTION_REMOVE, member_apply, member_heal);
NEMESIS_NODE_KIND(nemesis_membership_promote, "membership-promote", NEMESIS_CLASS_MEMBERSHIP,
                  NEMESIS_TARGET_ONE, NEMESIS_ACTION_PROMOTE, member_apply, member_heal);
