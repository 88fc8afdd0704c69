/* slowisolate.c - slow-isolate-leader: a slow clock, then a partition. */
#include "nemesis/slowisolate.h"

#include "nemesis/clock.h"
#include "nemesis/nodefault.h"
#include "nemesis/partition.h"

/* The leader's rate is the scenario's clock-rate.min (nemesis_fault_opts.slow_rate). */
static int plan_slow(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                     const struct nemesis_fault_opts *opts, struct nemesis_fault *f, char *errmsg)
{
    (void)opts;
    return nemesis_nodefault_plan(rng, topo, leader, NEMESIS_TARGET_LEADER,
                                  NEMESIS_ACTION_SLOW_ISOLATE, f, errmsg);
}

static int slow_apply(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    struct nemesis_slow *s = &ctx->slow;
    double rate = f->opts.slow_rate;
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(f->nodes & (1u << i)))
            continue;
        if (!ctx->clock_dir[0])
            return fl_errorf(errmsg, FL_EUSAGE, "no clock files (the nodes run without faketime)");
        if (s->active)
            return fl_errorf(errmsg, FL_EUSAGE, "a slow-isolate fault is already active");
        /* libfaketime scales from the process start: this offset keeps the clock where it
         * stands now (behind by earlier episodes), no jump. */
        double since = ctx->node_ops.uptime_ms != NULL
                           ? (double)ctx->node_ops.uptime_ms(ctx->node_ops.data, i)
                           : 0.0;
        int rv = nemesis__clock_set(ctx, i, (int64_t)((1.0 - rate) * since) - s->lag_ms[i], rate,
                                    errmsg);
        if (rv != 0)
            return rv;
        double now = nemesis__now_ms();
        struct fl_rng rng;
        fl_rng_seed(&rng, ctx->seed + (uint64_t)now);
        struct nemesis_fault_opts fo;
        nemesis_fault_opts_default(&fo);
        rv = nemesis_fault_plan(&nemesis_partition_isolate_leader, &rng, ctx->topo, (int)i, &fo,
                                &s->part, errmsg);
        if (rv == 0)
            rv = nemesis_partition_isolate_leader.apply(ctx, &s->part, errmsg);
        if (rv != 0) {
            nemesis_fault_clear(&s->part);
            return rv;
        }
        s->active = true;
        s->node = i;
        s->t1_ms = now;
        nemesis__say(ctx, "n%u runs at %.2fx and is cut off", i + 1, rate);
        return 0;
    }
    return 0;
}

static int slow_heal(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    struct nemesis_slow *s = &ctx->slow;
    if (!s->active)
        return 0;
    double rate = f->opts.slow_rate;
    int rv = nemesis_partition_isolate_leader.heal(ctx, &s->part, errmsg);
    nemesis_fault_clear(&s->part);
    s->active = false;
    /* Back to rate 1 where the slow clock stands now: no jump. */
    s->lag_ms[s->node] += (int64_t)((1.0 - rate) * (nemesis__now_ms() - s->t1_ms));
    int crv = nemesis__clock_set(ctx, s->node, -s->lag_ms[s->node], 1.0, errmsg);
    return rv != 0 ? rv : crv;
}

const struct nemesis_kind nemesis_slowisolate_leader = {.name = "slow-isolate-leader",
                                                        .cls = NEMESIS_CLASS_PROCESS,
                                                        .plan = plan_slow,
                                                        .apply = slow_apply,
                                                        .heal = slow_heal};
