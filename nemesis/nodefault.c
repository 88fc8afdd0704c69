/* nodefault.c - target planning shared by the node fault kinds (one, the leader, a minority,
 * all), their `value`, and the action names. */
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

int nemesis_nodefault_plan(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                           enum nemesis_target target, enum nemesis_action action,
                           struct nemesis_fault *f, char *errmsg)
{
    unsigned n = topo->n;
    switch (target) {
    case NEMESIS_TARGET_ONE:
        f->nodes = 1u << fl_rng_below(rng, n);
        break;
    case NEMESIS_TARGET_LEADER:
        if (leader < 0)
            f->needs_leader = true;
        else
            f->nodes = 1u << leader;
        break;
    case NEMESIS_TARGET_MINORITY: {
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
    case NEMESIS_TARGET_ALL:
        f->nodes = n >= 32 ? 0xffffffffu : (1u << n) - 1;
        break;
    }
    return fill(f, topo, action, errmsg);
}
