/* schedule.c - a scenario's nemesis section as a plan: the random schedule or explicit steps. */
#include "harness/schedule.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/rng.h"

const char *harness_schedule_kind_name(enum harness_fault k)
{
    const char *kind = harness_fault_name(k);
    return strcmp(kind, "random-partition") == 0 ? "random" : kind;
}

static void fault_opts(const struct harness_scenario *sc, struct nemesis_fault_opts *o)
{
    nemesis_fault_opts_default(o);
    o->loss_percent = (int)sc->nemesis.options.loss_percent;
    o->dup_percent = (int)sc->nemesis.options.duplicate_percent;
    o->delay_ms = sc->nemesis.options.delay_ms;
    o->jitter_ms = sc->nemesis.options.delay_jitter_ms;
    o->delay_reorder_percent = (int)sc->nemesis.options.delay_reorder_percent;
    o->reorder_percent = (int)sc->nemesis.options.reorder_percent;
    o->skew_ms = sc->nemesis.options.clock_skew_max_ms;
    o->jump_ms = sc->nemesis.options.clock_jump_max_ms;
    o->rate = sc->nemesis.options.clock_rate_max;
    o->slow_rate = sc->nemesis.options.clock_rate_min;
}

static int random_plan(const struct harness_scenario *sc, const struct nemesis_topology *topo,
                       struct nemesis_plan *out, char *errmsg)
{
    struct nemesis_schedule s;
    nemesis_schedule_init(&s);
    s.seed = sc->nemesis.seed;
    s.interval_ms = sc->nemesis.interval_ms + sc->nemesis.duration_ms;
    s.jitter_ms = sc->nemesis.jitter_ms;
    s.hold_ms = sc->nemesis.duration_ms;
    s.start_ms = 0;
    s.duration_ms = sc->phases.faults_s * 1000;
    bool any = false;
    for (int k = 0; k < HARNESS_FAULT_COUNT; k++) {
        if (sc->nemesis.weights[k] == 0)
            continue;
        any = true;
        int rv = nemesis_schedule_add(&s, harness_schedule_kind_name((enum harness_fault)k),
                                      sc->nemesis.weights[k], errmsg);
        if (rv != 0)
            return rv;
    }
    fault_opts(sc, &s.opts);
    if (!any)
        return 0;
    int rv = nemesis_schedule_check(&s, errmsg);
    if (rv == 0)
        rv = nemesis_schedule_plan(&s, topo, out, errmsg);
    return rv;
}

/* Leaves the nodes of `spare` out of a planned fault: their links and their targets. The
 * value says so ("spared"), since it is what the history records. */
static int spare_nodes(struct nemesis_fault *f, uint32_t spare, unsigned n, char *errmsg)
{
    if (spare == 0)
        return 0;
    json_t *names = json_array();
    for (unsigned i = 0; i < n && i < NEMESIS_MAX_NODES; i++) {
        if (!(spare & (1u << i)))
            continue;
        f->drop[i] = 0;
        for (unsigned j = 0; j < n; j++)
            f->drop[j] &= ~(1u << i);
        f->nodes &= ~(1u << i);
        char nm[8];
        snprintf(nm, sizeof nm, "n%u", i + 1);
        if (names)
            json_array_append_new(names, json_string(nm));
    }
    /* The value may be shared with a copy: replace it, do not edit it. */
    json_t *v = json_is_object(f->value) ? json_deep_copy(f->value) : json_object();
    if (!names || !v || json_object_set_new(v, "spared", names) != 0) {
        json_decref(v);
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory sparing nodes");
    }
    json_decref(f->value);
    f->value = v;
    return 0;
}

static int explicit_plan(const struct harness_scenario *sc, const struct nemesis_topology *topo,
                         struct nemesis_plan *out, char *errmsg)
{
    unsigned n = sc->nemesis.n_steps;
    if (n == 0)
        return 0;
    out->steps = fl_calloc(n, sizeof *out->steps);
    if (!out->steps)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory planning the schedule");
    struct nemesis_fault_opts opts;
    fault_opts(sc, &opts);
    for (unsigned i = 0; i < n; i++) {
        const struct harness_step *st = &sc->nemesis.steps[i];
        const char *name = harness_schedule_kind_name(st->kind);
        const struct nemesis_kind *kind = nemesis_kind_find(name);
        int rv;
        if (!kind) {
            rv = fl_errorf(errmsg, FL_EUSAGE, "nemesis.schedule[%u]: unknown kind \"%s\"", i, name);
            goto err;
        }
        struct fl_rng rng;
        fl_rng_seed(&rng, st->seed);
        struct nemesis_step *d = &out->steps[i];
        d->offset_ms = st->at_ms;
        d->heal_ms = st->heal_ms;
        rv = nemesis_fault_plan(kind, &rng, topo, -1, &opts, &d->fault, errmsg);
        if (rv == 0) {
            out->n++;
            rv = spare_nodes(&d->fault, st->spare, topo->n, errmsg);
        }
        if (rv != 0) {
            fl_error_wrap(errmsg, rv, "nemesis.schedule[%u]", i);
            goto err;
        }
    }
    return 0;
err:
    nemesis_plan_clear(out);
    return -1;
}

int harness_schedule_plan(const struct harness_scenario *sc, const struct nemesis_topology *topo,
                          struct nemesis_plan *out, char *errmsg)
{
    memset(out, 0, sizeof *out);
    if (sc->nemesis.explicit_schedule)
        return explicit_plan(sc, topo, out, errmsg) == 0 ? 0 : FL_EUSAGE;
    return random_plan(sc, topo, out, errmsg);
}

int harness_schedule_make_explicit(struct harness_scenario *sc, char *errmsg)
{
    if (sc->nemesis.explicit_schedule)
        return 0;
    struct nemesis_topology topo;
    struct nemesis_plan plan;
    int rv = nemesis_topology_plan(&topo, "000000", sc->network.subnet,
                                   sc->nodes.count + sc->nodes.passive, errmsg);
    if (rv != 0)
        return rv;
    if ((rv = random_plan(sc, &topo, &plan, errmsg)) != 0)
        return rv;
    if (plan.n > HARNESS_SCENARIO_MAX_STEPS) {
        nemesis_plan_clear(&plan);
        return fl_errorf(errmsg, FL_ELIMIT, "the schedule has %zu steps, more than %d", plan.n,
                         HARNESS_SCENARIO_MAX_STEPS);
    }
    sc->nemesis.explicit_schedule = true;
    sc->nemesis.n_steps = 0;
    for (size_t i = 0; i < plan.n; i++) {
        enum harness_fault k;
        const char *name = plan.steps[i].fault.kind->name;
        if (harness_fault_parse(strcmp(name, "random") == 0 ? "random-partition" : name, &k) != 0) {
            nemesis_plan_clear(&plan);
            return fl_errorf(errmsg, FL_EUSAGE, "step %zu: kind \"%s\" has no scenario name", i,
                             name);
        }
        struct harness_step *st = &sc->nemesis.steps[sc->nemesis.n_steps++];
        memset(st, 0, sizeof *st);
        st->kind = k;
        st->at_ms = plan.steps[i].offset_ms;
        st->heal_ms = plan.steps[i].heal_ms;
        st->seed = fl_mix64(sc->nemesis.seed * 1000003u + i) & HARNESS_SCENARIO_SEED_MAX;
    }
    nemesis_plan_clear(&plan);
    return 0;
}
