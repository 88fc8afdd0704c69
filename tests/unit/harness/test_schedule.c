/* test_schedule.c - explicit nemesis schedules: parsing, rules, round trip, planning per step. */
#include "harness/schedule.h"

#include "common/error.h"

#include <criterion/criterion.h>
#include <string.h>

static int parse(const char *text, struct harness_scenario *s, char *errmsg)
{
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    cr_assert(root, "test JSON parses: %s", jerr.text);
    errmsg[0] = '\0';
    int rc = harness_scenario_from_json(root, "t.json", s, errmsg);
    json_decref(root);
    return rc;
}

#define TWO_STEPS                                                                                  \
    "{\"nemesis\": {\"kinds\": [\"halves\", \"kill-leader\"], \"seed\": 5, \"schedule\": ["        \
    "{\"kind\": \"halves\", \"at_ms\": 1000, \"heal_ms\": 3000, \"seed\": 9, \"spare\": "          \
    "[\"n2\"]},"                                                                                   \
    "{\"kind\": \"kill-leader\", \"at_ms\": 4000, \"heal_ms\": 5000}]}, \"phases\": "              \
    "{\"faults_s\": 6}}"

Test(harness_schedule, explicit_steps_load_and_round_trip)
{
    struct harness_scenario s, back;
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(parse(TWO_STEPS, &s, err), 0, "%s", err);
    cr_assert(s.nemesis.explicit_schedule);
    cr_assert_eq(s.nemesis.n_steps, 2);
    cr_assert_eq(s.nemesis.steps[0].kind, HARNESS_FAULT_HALVES);
    cr_assert_eq(s.nemesis.steps[0].spare, 2u);
    cr_assert_eq(s.nemesis.steps[1].heal_ms, 5000u);
    json_t *j = harness_scenario_to_json(&s);
    cr_assert(j);
    cr_assert_eq(harness_scenario_from_json(j, "back", &back, err), 0, "%s", err);
    json_decref(j);
    cr_assert(harness_scenario_equal(&s, &back), "the schedule survives a round trip");
    back.nemesis.steps[1].at_ms++;
    cr_assert(!harness_scenario_equal(&s, &back), "equal compares the steps");
}

static void refused(const char *text, const char *want)
{
    struct harness_scenario s;
    char err[FL_ERRMSG_SIZE];
    cr_assert_neq(parse(text, &s, err), 0, "refused: %s", text);
    cr_assert(strstr(err, want), "\"%s\" contains \"%s\"", err, want);
}

Test(harness_schedule, bad_steps_are_refused_naming_the_step)
{
    refused("{\"nemesis\": {\"kinds\": [\"halves\"], \"schedule\": [{\"kind\": \"halves\", "
            "\"at_ms\": 10, \"heal_ms\": 10}]}}",
            "nemesis.schedule[0].heal_ms");
    refused("{\"nemesis\": {\"kinds\": [\"halves\"], \"schedule\": [{\"kind\": \"kill-one\", "
            "\"at_ms\": 10, \"heal_ms\": 20}]}}",
            "not in nemesis.kinds");
    refused("{\"nemesis\": {\"kinds\": [\"halves\"], \"schedule\": [{\"kind\": \"halves\", "
            "\"at_ms\": 10, \"heal_ms\": 2000}, {\"kind\": \"halves\", \"at_ms\": 1000, "
            "\"heal_ms\": 3000}]}}",
            "nemesis.schedule[1].at_ms");
    refused("{\"nemesis\": {\"kinds\": [\"halves\"], \"schedule\": [{\"kind\": \"halves\", "
            "\"at_ms\": 10, \"heal_ms\": 99000}]}}",
            "fault phase");
    refused("{\"nemesis\": {\"kinds\": [\"halves\"], \"schedule\": [{\"kind\": \"halves\", "
            "\"at_ms\": 10, \"heal_ms\": 20, \"spare\": [\"n7\"]}]}}",
            "spare");
    refused("{\"nemesis\": {\"kinds\": [\"halves\"], \"schedule\": [{\"kind\": \"halves\", "
            "\"at_ms\": 10, \"heal_ms\": 20, \"spare\": [\"x\"]}]}}",
            "node names");
    refused("{\"nemesis\": {\"kinds\": [\"halves\"], \"schedule\": [{\"kind\": \"halves\"}]}}",
            "needs kind, at_ms and heal_ms");
    refused("{\"nemesis\": {\"kinds\": [\"halves\"], \"schedule\": {}}}", "expected an array");
}

static void plan(const struct harness_scenario *s, struct nemesis_plan *p)
{
    struct nemesis_topology topo;
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&topo, "abcdef", NULL, s->nodes.count, err), 0, "%s", err);
    cr_assert_eq(harness_schedule_plan(s, &topo, p, err), 0, "%s", err);
}

Test(harness_schedule, a_step_plans_the_same_fault_whatever_is_around_it)
{
    struct harness_scenario s, one;
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(parse(TWO_STEPS, &s, err), 0, "%s", err);
    s.nemesis.steps[0].spare = 0;
    one = s;
    one.nemesis.steps[0] = s.nemesis.steps[1];
    one.nemesis.n_steps = 1;
    struct nemesis_plan a, b;
    plan(&s, &a);
    plan(&one, &b);
    cr_assert_eq(a.n, 2);
    cr_assert_eq(b.n, 1);
    cr_assert_eq(a.steps[1].offset_ms, 4000u);
    cr_assert_eq(a.steps[1].heal_ms, 5000u);
    cr_assert(a.steps[1].fault.needs_leader);
    cr_assert(json_equal(a.steps[1].fault.value, b.steps[0].fault.value));
    nemesis_plan_clear(&a);
    nemesis_plan_clear(&b);
}

Test(harness_schedule, spared_nodes_leave_the_fault)
{
    struct harness_scenario s;
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(parse(TWO_STEPS, &s, err), 0, "%s", err);
    struct nemesis_plan p;
    plan(&s, &p);
    const struct nemesis_fault *f = &p.steps[0].fault;
    cr_assert_eq(f->drop[1], 0u, "n2 sends everywhere");
    for (unsigned i = 0; i < 3; i++)
        cr_assert_eq(f->drop[i] & 2u, 0u, "everyone reaches n2");
    json_t *sp = json_object_get(f->value, "spared");
    cr_assert(json_is_array(sp) && json_array_size(sp) == 1, "the value says n2 was spared");
    nemesis_plan_clear(&p);
}

Test(harness_schedule, make_explicit_keeps_kinds_and_times_of_the_random_plan)
{
    struct harness_scenario s, e;
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(
        parse("{\"nemesis\": {\"kinds\": [\"isolate-leader\", \"kill-one\"], \"seed\": 42},"
              " \"phases\": {\"faults_s\": 60}}",
              &s, err),
        0, "%s", err);
    struct nemesis_plan r;
    plan(&s, &r);
    e = s;
    cr_assert_eq(harness_schedule_make_explicit(&e, err), 0, "%s", err);
    cr_assert(e.nemesis.explicit_schedule);
    cr_assert_eq(e.nemesis.n_steps, r.n);
    cr_assert_gt(r.n, 2);
    for (size_t i = 0; i < r.n; i++) {
        cr_assert_eq(e.nemesis.steps[i].at_ms, r.steps[i].offset_ms);
        cr_assert_eq(e.nemesis.steps[i].heal_ms, r.steps[i].heal_ms);
        cr_assert_str_eq(harness_schedule_kind_name(e.nemesis.steps[i].kind),
                         r.steps[i].fault.kind->name);
    }
    cr_assert_eq(harness_scenario_validate(&e, "e", err), 0, "%s", err);
    nemesis_plan_clear(&r);
}
