/* schedule.h - fault schedules: an interval with jitter, a weighted mix of kinds, a seed, a
 * duration.
 *
 * nemesis_schedule_plan is pure: the same schedule (seed included) and
 * topology give the same faults at the same offsets. Faults never overlap:
 * each is healed before the next one starts, so the orchestration runs the
 * steps in order: at offset_ms apply (or, for PROCESS/MEMBERSHIP kinds, act
 * on fault.nodes/fault.action; bind the leader first when fault.needs_leader),
 * at heal_ms heal. */
#ifndef NEMESIS_SCHEDULE_H
#define NEMESIS_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "nemesis/fault.h"

#define NEMESIS_SCHEDULE_MAX_MIX   32
#define NEMESIS_SCHEDULE_MAX_STEPS 100000

struct nemesis_mix_entry {
    const struct nemesis_kind *kind; /* borrowed (static) */
    unsigned weight;                 /* relative weight, >= 1 */
};

struct nemesis_schedule {
    uint64_t seed;
    uint32_t interval_ms; /* mean time from one fault's start to the next */
    uint32_t jitter_ms;   /* each gap varies uniformly by +-jitter_ms */
    uint32_t hold_ms;     /* how long each fault lasts before its heal */
    uint32_t start_ms;    /* the first fault starts at start_ms + a gap (warm-up) */
    uint32_t duration_ms; /* every heal happens at or before duration_ms */
    size_t n_mix;
    struct nemesis_mix_entry mix[NEMESIS_SCHEDULE_MAX_MIX];
    struct nemesis_fault_opts opts;
};

struct nemesis_step {
    uint32_t offset_ms;         /* since the start of the run */
    uint32_t heal_ms;           /* > offset_ms */
    struct nemesis_fault fault; /* owned by the plan */
};

struct nemesis_plan {
    size_t n;
    struct nemesis_step *steps; /* owned */
};

/* Defaults: interval 10 s, jitter 2 s, hold 5 s, start 0, duration 30 s, seed 0,
 * empty mix, default options. */
void nemesis_schedule_init(struct nemesis_schedule *s);
/* Adds kind `name` with `weight` to the mix (a kind already there gets the new
 * weight). Returns 0 or FL_EUSAGE ("nemesis.kinds: unknown kind \"x\"", full mix, weight 0). */
int nemesis_schedule_add(struct nemesis_schedule *s, const char *name, unsigned weight,
                         char *errmsg);
/* Validates: non-empty mix, hold_ms >= 1, hold_ms + jitter_ms <= interval_ms,
 * options in range. errmsg names the field. */
int nemesis_schedule_check(const struct nemesis_schedule *s, char *errmsg);
/* Plans the whole schedule for `topo` (borrowed). Pure. The leader is unknown
 * at planning time: leader kinds come with fault.needs_leader set. Kinds that
 * cannot be planned for this topology (e.g. majorities-ring with 2 nodes) are
 * an error naming the kind. `out` is initialised; release with nemesis_plan_clear. */
int nemesis_schedule_plan(const struct nemesis_schedule *s, const struct nemesis_topology *topo,
                          struct nemesis_plan *out, char *errmsg);
void nemesis_plan_clear(struct nemesis_plan *p);

#endif
