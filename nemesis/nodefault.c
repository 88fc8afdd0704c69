/* nodefault.c - planning of process (pause, kill) and membership faults; the orchestration applies
 * them. */
#include "nemesis/nodefault.h"

#include <string.h>

const char *nemesis_action_name(enum nemesis_action action)
{
    switch (action) {
    case NEMESIS_ACTION_PAUSE:
        return "pause";
    case NEMESIS_ACTION_KILL:
        return "kill";
    case NEMESIS_ACTION_REMOVE:
        return "remove";
    case NEMESIS_ACTION_PROMOTE:
        return "promote";
    case NEMESIS_ACTION_CORRUPT:
        return "corrupt";
    case NEMESIS_ACTION_SLOW_ISOLATE:
        return "slow-isolate";
    case NEMESIS_ACTION_FIGURE_3_7:
        return "figure-3-7";
    case NEMESIS_ACTION_LOSE_UNSYNCED:
        return "lose-unsynced";
    case NEMESIS_ACTION_TORN_WRITE:
        return "torn-write";
    case NEMESIS_ACTION_FSYNC_ERROR:
        return "fsync-error";
    case NEMESIS_ACTION_BITFLIP:
        return "bitflip";
    case NEMESIS_ACTION_TRUNCATE:
        return "truncate";
    case NEMESIS_ACTION_NONE:
        break;
    }
    return "none";
}

enum target { TARGET_ONE, TARGET_LEADER, TARGET_MINORITY, TARGET_ALL };

static int fill(struct nemesis_fault *f, const struct nemesis_topology *topo,
                enum nemesis_action action, char *errmsg)
{
    f->action = action;
    json_t *v = json_object();
    json_t *nodes = f->needs_leader ? json_string("leader") : json_array();
    if (!v || !nodes ||
        json_object_set_new(v, "action", json_string(nemesis_action_name(action))) < 0)
        goto err;
    for (unsigned i = 0; !f->needs_leader && i < topo->n; i++) {
        if (!(f->nodes & (1u << i)))
            continue;
        char name[8];
        nemesis__node_name(i, name);
        if (json_array_append_new(nodes, json_string(name)) < 0)
            goto err;
    }
    if (json_object_set_new(v, "nodes", nodes) < 0) {
        nodes = NULL;
        goto err;
    }
    f->value = v;
    return 0;
err:
    json_decref(nodes);
    json_decref(v);
    return fl_errorf(errmsg, FL_ENOMEM, "out of memory building the fault's value");
}

static int plan_targets(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                        enum target target, enum nemesis_action action, struct nemesis_fault *f,
                        char *errmsg)
{
    unsigned n = topo->n;
    switch (target) {
    case TARGET_ONE:
        f->nodes = 1u << fl_rng_below(rng, n);
        break;
    case TARGET_LEADER:
        if (leader < 0)
            f->needs_leader = true;
        else
            f->nodes = 1u << leader;
        break;
    case TARGET_MINORITY: {
        if (n < 3)
            return fl_errorf(errmsg, FL_EUSAGE, "needs at least 3 nodes, the topology has %u", n);
        unsigned k = 1 + (unsigned)fl_rng_below(rng, (n - 1) / 2);
        /* Floyd's sampling: k distinct nodes. */
        for (unsigned j = n - k; j < n; j++) {
            unsigned t = (unsigned)fl_rng_below(rng, j + 1);
            f->nodes |= (f->nodes & (1u << t)) ? 1u << j : 1u << t;
        }
        break;
    }
    case TARGET_ALL:
        f->nodes = n >= 32 ? 0xffffffffu : (1u << n) - 1;
        break;
    }
    return fill(f, topo, action, errmsg);
}

#define NODE_KIND(var, kname, cl, target, action)                                                  \
    static int plan_##var(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,     \
                          const struct nemesis_fault_opts *opts, struct nemesis_fault *f,          \
                          char *errmsg)                                                            \
    {                                                                                              \
        (void)opts;                                                                                \
        return plan_targets(rng, topo, leader, target, action, f, errmsg);                         \
    }                                                                                              \
    const struct nemesis_kind var = {.name = kname, .cls = cl, .plan = plan_##var}

NODE_KIND(nemesis_nodefault_pause_one, "pause-one", NEMESIS_CLASS_PROCESS, TARGET_ONE,
          NEMESIS_ACTION_PAUSE);
NODE_KIND(nemesis_nodefault_pause_leader, "pause-leader", NEMESIS_CLASS_PROCESS, TARGET_LEADER,
          NEMESIS_ACTION_PAUSE);
NODE_KIND(nemesis_nodefault_pause_minority, "pause-minority", NEMESIS_CLASS_PROCESS,
          TARGET_MINORITY, NEMESIS_ACTION_PAUSE);
NODE_KIND(nemesis_nodefault_kill_one, "kill-one", NEMESIS_CLASS_PROCESS, TARGET_ONE,
          NEMESIS_ACTION_KILL);
NODE_KIND(nemesis_nodefault_kill_leader, "kill-leader", NEMESIS_CLASS_PROCESS, TARGET_LEADER,
          NEMESIS_ACTION_KILL);
NODE_KIND(nemesis_nodefault_kill_minority, "kill-minority", NEMESIS_CLASS_PROCESS, TARGET_MINORITY,
          NEMESIS_ACTION_KILL);
NODE_KIND(nemesis_nodefault_kill_all, "kill-all", NEMESIS_CLASS_PROCESS, TARGET_ALL,
          NEMESIS_ACTION_KILL);
NODE_KIND(nemesis_nodefault_corrupt_tail, "corrupt-tail", NEMESIS_CLASS_PROCESS, TARGET_ONE,
          NEMESIS_ACTION_CORRUPT);
NODE_KIND(nemesis_nodefault_slow_isolate_leader, "slow-isolate-leader", NEMESIS_CLASS_PROCESS,
          TARGET_LEADER, NEMESIS_ACTION_SLOW_ISOLATE);
/* figure-3-7 plays five roles (harness/figure37.h) and keeps the link delay it will use. */
static int plan_figure_3_7(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                           const struct nemesis_fault_opts *opts, struct nemesis_fault *f,
                           char *errmsg)
{
    if (topo->n != 5)
        return fl_errorf(errmsg, FL_EUSAGE, "figure-3-7 needs exactly 5 nodes, the topology has %u",
                         topo->n);
    f->delay_ms = opts->delay_ms;
    return plan_targets(rng, topo, leader, TARGET_LEADER, NEMESIS_ACTION_FIGURE_3_7, f, errmsg);
}
const struct nemesis_kind nemesis_nodefault_figure_3_7 = {
    .name = "figure-3-7", .cls = NEMESIS_CLASS_PROCESS, .plan = plan_figure_3_7};

NODE_KIND(nemesis_nodefault_lose_unsynced, "lose-unsynced", NEMESIS_CLASS_PROCESS, TARGET_ALL,
          NEMESIS_ACTION_LOSE_UNSYNCED);
NODE_KIND(nemesis_nodefault_torn_write, "torn-write", NEMESIS_CLASS_PROCESS, TARGET_ALL,
          NEMESIS_ACTION_TORN_WRITE);
NODE_KIND(nemesis_nodefault_fsync_error, "fsync-error", NEMESIS_CLASS_PROCESS, TARGET_ONE,
          NEMESIS_ACTION_FSYNC_ERROR);
NODE_KIND(nemesis_nodefault_bitflip, "bitflip", NEMESIS_CLASS_PROCESS, TARGET_ONE,
          NEMESIS_ACTION_BITFLIP);
NODE_KIND(nemesis_nodefault_truncate, "truncate", NEMESIS_CLASS_PROCESS, TARGET_ONE,
          NEMESIS_ACTION_TRUNCATE);
NODE_KIND(nemesis_nodefault_membership_remove_add, "membership-remove-add",
          NEMESIS_CLASS_MEMBERSHIP, TARGET_ONE, NEMESIS_ACTION_REMOVE);
NODE_KIND(nemesis_nodefault_membership_promote, "membership-promote", NEMESIS_CLASS_MEMBERSHIP,
          TARGET_ONE, NEMESIS_ACTION_PROMOTE);
