/* nodefault.h - what the node fault kinds (procfault.h, membership.h, corrupt.h, slowisolate.h,
 * figure37.h, diskfault.h) share: planning their targets and their value.
 *
 * A planned node fault names its targets in fault->nodes (bit i = node i) and
 * what is done in fault->action; its value is {"action":"pause","nodes":["n2"]}
 * ("nodes":"leader" until the leader is bound). */
#ifndef NEMESIS_NODEFAULT_H
#define NEMESIS_NODEFAULT_H

#include "nemesis/fault.h"

/* Which nodes a node fault hits. */
enum nemesis_target {
    NEMESIS_TARGET_ONE,      /* one node chosen by the rng */
    NEMESIS_TARGET_LEADER,   /* the leader (needs_leader until it is known) */
    NEMESIS_TARGET_MINORITY, /* 1..(n-1)/2 distinct nodes (n >= 3) */
    NEMESIS_TARGET_ALL,      /* every node */
};

/* Chooses f->nodes for `target` and sets f->action and f->value. Returns 0,
 * FL_EUSAGE (too few nodes) or FL_ENOMEM with errmsg. */
int nemesis_nodefault_plan(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                           enum nemesis_target target, enum nemesis_action action,
                           struct nemesis_fault *f, char *errmsg);

/* "pause", "kill", "remove", "promote", ... or "none". */
const char *nemesis_action_name(enum nemesis_action action);

/* Defines `const struct nemesis_kind var` planned by nemesis_nodefault_plan. */
#define NEMESIS_NODE_KIND(var, kname, cl, target, action, apply_fn, heal_fn)                       \
    static int plan_##var(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,     \
                          const struct nemesis_fault_opts *opts, struct nemesis_fault *f,          \
                          char *errmsg)                                                            \
    {                                                                                              \
        (void)opts;                                                                                \
        return nemesis_nodefault_plan(rng, topo, leader, target, action, f, errmsg);               \
    }                                                                                              \
    const struct nemesis_kind var = {                                                              \
        .name = kname, .cls = cl, .plan = plan_##var, .apply = apply_fn, .heal = heal_fn}

#endif
