/* schedule.h - a scenario's nemesis section as a plan of faults: the seeded random schedule
 * (interval, jitter, weighted kinds) or the explicit steps of nemesis.schedule.
 *
 * Both are pure: the same scenario (seed included) and topology give the same plan. An
 * explicit step plans its fault with its kind's own planner from an rng seeded by the step's
 * seed alone, so removing a step from a schedule leaves the faults of the others unchanged; this
 * is what `faultline shrink` relies on. */
#ifndef HARNESS_SCHEDULE_H
#define HARNESS_SCHEDULE_H

#include "harness/scenario.h"
#include "nemesis/schedule.h"
#include "nemesis/topology.h"

/* The nemesis registry's name of a scenario fault kind ("random-partition" is "random"). */
const char *harness_schedule_kind_name(enum harness_fault k);

/* Plans the faults of scenario `sc` (borrowed, seed set) for `topo` (borrowed). No kind and no
 * explicit step gives an empty plan. `out` is initialised; release with nemesis_plan_clear.
 * Returns 0 or a negative code with errmsg naming the step or kind. */
int harness_schedule_plan(const struct harness_scenario *sc, const struct nemesis_topology *topo,
                          struct nemesis_plan *out, char *errmsg);

/* Rewrites `sc`'s random schedule as explicit steps (nemesis.schedule) with the same kinds and
 * times; each step's seed is derived from the scenario seed and its index. Targets drawn at
 * random (isolate-one's node, say) may differ from the random plan's: a shrink checks that the
 * explicit form still fails before it removes anything. A scenario already explicit is left
 * as it is. Returns 0, or FL_ELIMIT (more than HARNESS_SCENARIO_MAX_STEPS steps) or a planning
 * error with errmsg. */
int harness_schedule_make_explicit(struct harness_scenario *sc, char *errmsg);

#endif
