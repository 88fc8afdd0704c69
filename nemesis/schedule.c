/* schedule.c - pure, seeded planning of a run's fault schedule from an interval, jitter and a
 * weighted mix. */
#include "nemesis/schedule.h"

#include <string.h>

#include "common/alloc.h"

void nemesis_schedule_init(struct nemesis_schedule *s)
{
    memset(s, 0, sizeof *s);
    s->interval_ms = 10000;
    s->jitter_ms = 2000;
    s->hold_ms = 5000;
    s->duration_ms = 30000;
    nemesis_fault_opts_default(&s->opts);
}

int nemesis_schedule_add(struct nemesis_schedule *s, const char *name, unsigned weight,
                         char *errmsg)
{
    const struct nemesis_kind *kind = nemesis_kind_find(name);
    if (!kind)
        return fl_errorf(errmsg, FL_EUSAGE, "nemesis.kinds: unknown kind \"%.64s\"", name);
    if (weight == 0)
        return fl_errorf(errmsg, FL_EUSAGE, "nemesis.kinds: %s: weight must be at least 1", name);
    for (size_t i = 0; i < s->n_mix; i++)
        if (s->mix[i].kind == kind) {
            s->mix[i].weight = weight;
            return 0;
        }
    if (s->n_mix == NEMESIS_SCHEDULE_MAX_MIX)
        return fl_errorf(errmsg, FL_EUSAGE, "nemesis.kinds: more than %d kinds",
                         NEMESIS_SCHEDULE_MAX_MIX);
    s->mix[s->n_mix].kind = kind;
    s->mix[s->n_mix].weight = weight;
    s->n_mix++;
    return 0;
}

int nemesis_schedule_check(const struct nemesis_schedule *s, char *errmsg)
{
    if (s->n_mix == 0)
        return fl_errorf(errmsg, FL_EUSAGE, "nemesis.kinds: no fault kind given");
    if (s->n_mix > NEMESIS_SCHEDULE_MAX_MIX)
        return fl_errorf(errmsg, FL_EUSAGE, "nemesis.kinds: more than %d kinds",
                         NEMESIS_SCHEDULE_MAX_MIX);
    for (size_t i = 0; i < s->n_mix; i++)
        if (!s->mix[i].kind || s->mix[i].weight == 0 || s->mix[i].weight > 1000000)
            return fl_errorf(errmsg, FL_EUSAGE,
                             "nemesis.kinds[%zu]: expected a kind with a weight in 1..1000000", i);
    if (s->hold_ms < 1)
        return fl_errorf(errmsg, FL_EUSAGE, "nemesis.hold: expected at least 1 ms");
    if ((uint64_t)s->hold_ms + s->jitter_ms > s->interval_ms)
        return fl_errorf(errmsg, FL_EUSAGE,
                         "nemesis.interval: %u ms is shorter than hold (%u ms) + jitter (%u ms)",
                         s->interval_ms, s->hold_ms, s->jitter_ms);
    int rc = nemesis_fault_opts_check(&s->opts, errmsg);
    if (rc < 0)
        return fl_error_wrap(errmsg, rc, "nemesis");
    return 0;
}

static const struct nemesis_kind *pick(const struct nemesis_schedule *s, struct fl_rng *rng)
{
    uint64_t total = 0;
    for (size_t i = 0; i < s->n_mix; i++)
        total += s->mix[i].weight;
    uint64_t r = fl_rng_below(rng, total);
    for (size_t i = 0; i < s->n_mix; i++) {
        if (r < s->mix[i].weight)
            return s->mix[i].kind;
        r -= s->mix[i].weight;
    }
    return s->mix[s->n_mix - 1].kind;
}

void nemesis_plan_clear(struct nemesis_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        nemesis_fault_clear(&p->steps[i].fault);
    fl_free(p->steps);
    p->steps = NULL;
    p->n = 0;
}

int nemesis_schedule_plan(const struct nemesis_schedule *s, const struct nemesis_topology *topo,
                          struct nemesis_plan *out, char *errmsg)
{
    out->n = 0;
    out->steps = NULL;
    int rc = nemesis_schedule_check(s, errmsg);
    if (rc < 0)
        return rc;
    struct fl_rng rng;
    fl_rng_seed(&rng, s->seed);
    size_t cap = 0;
    /* A fault starts a gap after the previous heal: interval - hold, +-jitter. */
    uint64_t gap_mean = s->interval_ms - s->hold_ms;
    uint64_t t = s->start_ms;
    for (;;) {
        int64_t gap =
            (int64_t)gap_mean + fl_rng_range(&rng, -(int64_t)s->jitter_ms, (int64_t)s->jitter_ms);
        uint64_t start = t + (uint64_t)(gap < 0 ? 0 : gap);
        uint64_t heal = start + s->hold_ms;
        if (heal > s->duration_ms)
            break;
        if (out->n == NEMESIS_SCHEDULE_MAX_STEPS) {
            rc = fl_errorf(errmsg, FL_ELIMIT, "nemesis: more than %d faults planned",
                           NEMESIS_SCHEDULE_MAX_STEPS);
            goto err;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct nemesis_step *ns = fl_reallocarray(out->steps, ncap, sizeof *ns);
            if (!ns) {
                rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory planning the schedule");
                goto err;
            }
            out->steps = ns;
            cap = ncap;
        }
        struct nemesis_step *st = &out->steps[out->n];
        st->offset_ms = (uint32_t)start;
        st->heal_ms = (uint32_t)heal;
        rc = nemesis_fault_plan(pick(s, &rng), &rng, topo, -1, &s->opts, &st->fault, errmsg);
        if (rc < 0) {
            fl_error_wrap(errmsg, rc, "nemesis.kinds");
            goto err;
        }
        out->n++;
        t = heal;
    }
    return 0;
err:
    nemesis_plan_clear(out);
    return rc;
}
