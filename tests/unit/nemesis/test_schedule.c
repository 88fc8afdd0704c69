/* test_schedule.c - fault schedules: the same seed gives the same faults at the same offsets, the
 * mix is respected. */
#include "nemesis/schedule.h"

#include <criterion/criterion.h>
#include <string.h>

#include "common/alloc.h"
#include "nemesis/figure37.h"
#include "nemesis/nodefault.h"
#include "nemesis/procfault.h"
#include "nemesis/topology.h"

static struct nemesis_topology topo(unsigned n)
{
    struct nemesis_topology t;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, n, errmsg), 0, "%s", errmsg);
    return t;
}

static void mixed(struct nemesis_schedule *s, uint64_t seed)
{
    char errmsg[FL_ERRMSG_SIZE];
    nemesis_schedule_init(s);
    s->seed = seed;
    s->duration_ms = 600000;
    const char *kinds[] = {"isolate-one",
                           "isolate-leader",
                           "halves",
                           "majorities-ring",
                           "bridge",
                           "one-way",
                           "random",
                           "loss",
                           "duplicate",
                           "delay",
                           "reorder",
                           "clock-skew",
                           "clock-jump",
                           "clock-rate",
                           "pause-one",
                           "pause-leader",
                           "pause-minority",
                           "kill-one",
                           "kill-leader",
                           "kill-minority",
                           "kill-all",
                           "membership-remove-add",
                           "membership-promote"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        cr_assert_eq(nemesis_schedule_add(s, kinds[i], 1 + (unsigned)i % 3, errmsg), 0, "%s",
                     errmsg);
}

Test(nemesis_schedule, same_seed_gives_the_same_faults_at_the_same_offsets)
{
    struct nemesis_topology t = topo(5);
    struct nemesis_schedule s;
    struct nemesis_plan a, b, c;
    char errmsg[FL_ERRMSG_SIZE];
    mixed(&s, 1234);
    cr_assert_eq(nemesis_schedule_plan(&s, &t, &a, errmsg), 0, "%s", errmsg);
    cr_assert_eq(nemesis_schedule_plan(&s, &t, &b, errmsg), 0, "%s", errmsg);
    cr_assert_gt(a.n, 40);
    cr_assert_eq(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        cr_assert_eq(a.steps[i].offset_ms, b.steps[i].offset_ms);
        cr_assert_eq(a.steps[i].heal_ms, b.steps[i].heal_ms);
        cr_assert_eq(a.steps[i].fault.kind, b.steps[i].fault.kind);
        cr_assert(json_equal(a.steps[i].fault.value, b.steps[i].fault.value), "step %zu", i);
        cr_assert_arr_eq(a.steps[i].fault.drop, b.steps[i].fault.drop,
                         sizeof a.steps[i].fault.drop);
        cr_assert_eq(a.steps[i].fault.nodes, b.steps[i].fault.nodes);
    }
    s.seed = 1235;
    cr_assert_eq(nemesis_schedule_plan(&s, &t, &c, errmsg), 0, "%s", errmsg);
    size_t same = 0;
    for (size_t i = 0; i < a.n && i < c.n; i++)
        same += a.steps[i].offset_ms == c.steps[i].offset_ms &&
                a.steps[i].fault.kind == c.steps[i].fault.kind;
    cr_assert_lt(same, a.n / 2, "another seed should give another schedule");
    nemesis_plan_clear(&a);
    nemesis_plan_clear(&b);
    nemesis_plan_clear(&c);
}

Test(nemesis_schedule, faults_never_overlap_and_keep_to_interval_jitter_and_duration)
{
    struct nemesis_topology t = topo(3);
    struct nemesis_schedule s;
    struct nemesis_plan p;
    char errmsg[FL_ERRMSG_SIZE];
    nemesis_schedule_init(&s);
    cr_assert_eq(nemesis_schedule_add(&s, "halves", 1, errmsg), 0);
    s.seed = 9;
    s.interval_ms = 1000;
    s.jitter_ms = 300;
    s.hold_ms = 400;
    s.start_ms = 2000;
    s.duration_ms = 60000;
    cr_assert_eq(nemesis_schedule_plan(&s, &t, &p, errmsg), 0, "%s", errmsg);
    cr_assert_geq(p.n, 50);
    uint32_t prev_heal = s.start_ms;
    bool saw_short = false, saw_long = false;
    for (size_t i = 0; i < p.n; i++) {
        const struct nemesis_step *st = &p.steps[i];
        uint32_t gap = st->offset_ms - prev_heal;
        cr_assert_geq(st->offset_ms, prev_heal);
        cr_assert(gap >= 300 && gap <= 900, "gap %u", gap);
        saw_short |= gap < 500;
        saw_long |= gap > 700;
        cr_assert_eq(st->heal_ms - st->offset_ms, 400);
        cr_assert_leq(st->heal_ms, s.duration_ms);
        prev_heal = st->heal_ms;
    }
    cr_assert(saw_short && saw_long, "jitter should show");
    cr_assert_gt(prev_heal, s.duration_ms - 2000);
    nemesis_plan_clear(&p);
}

Test(nemesis_schedule, the_mix_is_respected_by_weight)
{
    struct nemesis_topology t = topo(5);
    struct nemesis_schedule s;
    struct nemesis_plan p;
    char errmsg[FL_ERRMSG_SIZE];
    nemesis_schedule_init(&s);
    s.seed = 77;
    s.interval_ms = 100;
    s.jitter_ms = 10;
    s.hold_ms = 50;
    s.duration_ms = 400000;
    cr_assert_eq(nemesis_schedule_add(&s, "isolate-one", 3, errmsg), 0);
    cr_assert_eq(nemesis_schedule_add(&s, "kill-minority", 1, errmsg), 0);
    cr_assert_eq(nemesis_schedule_plan(&s, &t, &p, errmsg), 0, "%s", errmsg);
    size_t iso = 0, kill = 0;
    for (size_t i = 0; i < p.n; i++) {
        const struct nemesis_fault *f = &p.steps[i].fault;
        if (f->kind == nemesis_kind_find("isolate-one"))
            iso++;
        else if (f->kind == &nemesis_procfault_kill_minority) {
            kill++;
            cr_assert_eq(f->action, NEMESIS_ACTION_KILL);
            unsigned k = (unsigned)__builtin_popcount(f->nodes);
            cr_assert(k >= 1 && k <= 2, "a minority of 5 is 1 or 2 nodes, got %u", k);
        } else
            cr_assert_fail("kind %s is not in the mix", f->kind->name);
    }
    cr_assert_gt(p.n, 3000);
    double share = (double)iso / (double)p.n;
    cr_assert(share > 0.70 && share < 0.80, "isolate-one share %.3f, weight 3/4", share);
    cr_assert_gt(kill, 0);
    nemesis_plan_clear(&p);
}

Test(nemesis_schedule, leader_kinds_are_planned_unbound_and_process_kinds_name_their_action)
{
    struct nemesis_topology t = topo(3);
    struct nemesis_schedule s;
    struct nemesis_plan p;
    char errmsg[FL_ERRMSG_SIZE];
    mixed(&s, 5);
    cr_assert_eq(nemesis_schedule_plan(&s, &t, &p, errmsg), 0, "%s", errmsg);
    size_t leader = 0;
    for (size_t i = 0; i < p.n; i++) {
        struct nemesis_fault *f = &p.steps[i].fault;
        bool is_leader_kind = strstr(f->kind->name, "leader") != NULL;
        cr_assert_eq(f->needs_leader, is_leader_kind, "%s", f->kind->name);
        cr_assert_not_null(f->value, "%s", f->kind->name);
        if (f->kind->cls == NEMESIS_CLASS_PROCESS || f->kind->cls == NEMESIS_CLASS_MEMBERSHIP) {
            cr_assert_neq(f->action, NEMESIS_ACTION_NONE);
            cr_assert_not_null(f->kind->apply, "%s", f->kind->name);
            cr_assert_str_eq(json_string_value(json_object_get(f->value, "action")),
                             nemesis_action_name(f->action));
        }
        if (is_leader_kind) {
            leader++;
            cr_assert_eq(nemesis_fault_bind_leader(f, &t, 1, errmsg), 0, "%s", errmsg);
            cr_assert_not(f->needs_leader);
            if (f->kind->cls == NEMESIS_CLASS_PROCESS)
                cr_assert_eq(f->nodes, 2u);
            else
                cr_assert_eq(f->drop[1], 5u);
        }
    }
    cr_assert_gt(leader, 0);
    nemesis_plan_clear(&p);
}

Test(nemesis_schedule, bad_schedules_are_refused_naming_the_field)
{
    struct nemesis_topology t = topo(3);
    struct nemesis_schedule s;
    struct nemesis_plan p;
    char errmsg[FL_ERRMSG_SIZE];
    nemesis_schedule_init(&s);
    cr_assert_eq(nemesis_schedule_plan(&s, &t, &p, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "nemesis.kinds"), "%s", errmsg);
    cr_assert_eq(nemesis_schedule_add(&s, "partition-everything", 1, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "partition-everything"), "%s", errmsg);
    cr_assert_eq(nemesis_schedule_add(&s, "halves", 0, errmsg), FL_EUSAGE);
    cr_assert_eq(nemesis_schedule_add(&s, "halves", 1, errmsg), 0);
    s.hold_ms = 9000;
    cr_assert_eq(nemesis_schedule_plan(&s, &t, &p, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "nemesis.interval"), "%s", errmsg);
    s.hold_ms = 1000;
    s.opts.loss_percent = 0;
    cr_assert_eq(nemesis_schedule_plan(&s, &t, &p, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "loss_percent"), "%s", errmsg);
    s.opts.loss_percent = 10;
    cr_assert_eq(nemesis_schedule_add(&s, "majorities-ring", 1, errmsg), 0);
    struct nemesis_topology two = topo(2);
    s.duration_ms = 600000;
    cr_assert_eq(nemesis_schedule_plan(&s, &two, &p, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "majorities-ring"), "%s", errmsg);
    cr_assert_eq(p.n, 0);
    cr_assert_null(p.steps);
}

Test(nemesis_schedule, a_short_run_may_plan_no_fault)
{
    struct nemesis_topology t = topo(3);
    struct nemesis_schedule s;
    struct nemesis_plan p;
    char errmsg[FL_ERRMSG_SIZE];
    nemesis_schedule_init(&s);
    cr_assert_eq(nemesis_schedule_add(&s, "kill-all", 1, errmsg), 0);
    s.duration_ms = 1000;
    cr_assert_eq(nemesis_schedule_plan(&s, &t, &p, errmsg), 0, "%s", errmsg);
    cr_assert_eq(p.n, 0);
    nemesis_plan_clear(&p);
}

Test(nemesis_schedule, allocation_failures_are_reported_and_leave_an_empty_plan)
{
    struct nemesis_topology t = topo(3);
    struct nemesis_schedule s;
    struct nemesis_plan p;
    char errmsg[FL_ERRMSG_SIZE];
    mixed(&s, 3);
    s.duration_ms = 2000000; /* enough steps for several reallocations */
    bool succeeded = false;
    for (long n = 0; n < 64 && !succeeded; n++) {
        fl_alloc_fail_after(n);
        int rc = nemesis_schedule_plan(&s, &t, &p, errmsg);
        fl_alloc_fail_reset();
        if (rc == 0) {
            succeeded = true;
            cr_assert_gt(p.n, 100);
            nemesis_plan_clear(&p);
        } else {
            cr_assert_eq(rc, FL_ENOMEM, "after %ld allocations: %s", n, errmsg);
            cr_assert_eq(p.n, 0);
            cr_assert_null(p.steps);
        }
    }
    cr_assert(succeeded);
}
