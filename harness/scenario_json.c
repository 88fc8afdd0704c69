/* scenario_json.c - a scenario as JSON (every field, defaults included) and equality. */
#include "harness/scenario_json.h"

#include <stdio.h>
#include <string.h>

#include "harness/foreign.h"
#include "harness/scenario.h"

/* Adds a new reference under key, tracking allocation failure in *ok. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        *ok = false;
}

json_t *harness_scenario_to_json(const struct harness_scenario *s)
{
    bool ok = true;
    json_t *root = json_object();
    json_t *impl = json_object(), *opts = json_object(), *args = json_array();
    json_t *nodes = json_object(), *net = json_object(), *cap = json_object();
    json_t *wl = json_object(), *mix = json_object();
    json_t *nem = json_object(), *kinds = json_object(), *nopts = json_object();
    json_t *phases = json_object(), *checkers = json_array();
    if (!root || !impl || !opts || !args || !nodes || !net || !cap || !wl || !mix || !nem ||
        !kinds || !nopts || !phases || !checkers) {
        json_t *all[] = {root, impl, opts, args,  nodes, net,    cap,
                         wl,   mix,  nem,  kinds, nopts, phases, checkers};
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            json_decref(all[i]);
        return NULL;
    }
    put(root, "name", json_string(s->name), &ok);
    put(root, "description", json_string(s->description), &ok);
    if (s->hosts[0])
        put(root, "hosts", json_string(s->hosts), &ok);

    const char *bug = harness_bug_name(s->implementation.bug);
    put(impl, "impl", json_string(harness_impl_name(s->implementation.impl)), &ok);
    json_decref(opts);
    json_decref(args);
    opts = harness_scenario_impl_options(s);
    ok = ok && opts != NULL;
    if (!harness_scenario_is_foreign(s)) {
        put(opts, "election_timeout_ms",
            json_integer(s->implementation.options.election_timeout_ms), &ok);
        put(opts, "heartbeat_ms", json_integer(s->implementation.options.heartbeat_ms), &ok);
    }
    if (s->implementation.impl == HARNESS_IMPL_REFERENCE) {
        put(opts, "lease_drift", json_real(s->implementation.options.lease_drift), &ok);
        put(opts, "snapshot_threshold",
            json_integer((json_int_t)s->implementation.options.snapshot_threshold), &ok);
        put(opts, "max_batch", json_integer(s->implementation.options.max_batch), &ok);
    }
    if (harness_scenario_is_foreign(s))
        put(opts, "dynamic", json_boolean(s->implementation.options.dynamic), &ok);
    put(impl, "options", opts, &ok);
    put(impl, "bug", bug ? json_string(bug) : json_null(), &ok);
    put(root, "implementation", impl, &ok);

    put(nodes, "count", json_integer(s->nodes.count), &ok);
    put(nodes, "passive", json_integer(s->nodes.passive), &ok);
    put(root, "nodes", nodes, &ok);

    put(net, "subnet", json_string(s->network.subnet), &ok);
    put(cap, "enabled", json_boolean(s->network.capture.enabled), &ok);
    put(cap, "snaplen", json_integer(s->network.capture.snaplen), &ok);
    put(cap, "max_bytes", json_integer((json_int_t)s->network.capture.max_bytes), &ok);
    put(net, "capture", cap, &ok);
    put(root, "network", net, &ok);

    put(wl, "model", json_string(harness_model_name(s->workload.model)), &ok);
    put(wl, "keys", json_integer(s->workload.keys), &ok);
    put(wl, "key_rotation_ops", json_integer((json_int_t)s->workload.key_rotation_ops), &ok);
    put(wl, "concurrency", json_integer(s->workload.concurrency), &ok);
    put(wl, "rate_per_s", json_integer(s->workload.rate_per_s), &ok);
    for (int i = 0; i < HARNESS_OP_COUNT; i++)
        if (harness_model_has_op(s->workload.model, i) || s->workload.mix[i])
            put(mix, harness_op_name(i), json_integer(s->workload.mix[i]), &ok);
    put(wl, "mix", mix, &ok);
    put(wl, "read_consistency", json_string(harness_consistency_name(s->workload.read_consistency)),
        &ok);
    put(wl, "value_bytes", json_integer(s->workload.value_bytes), &ok);
    put(wl, "op_timeout_ms", json_integer(s->workload.op_timeout_ms), &ok);
    if (s->workload.model == HARNESS_MODEL_LIST_APPEND ||
        s->workload.model == HARNESS_MODEL_RW_REGISTER) {
        put(wl, "txn_max_ops", json_integer(s->workload.txn_max_ops), &ok);
        put(wl, "txn_consistency",
            json_string(harness_txn_consistency_name(s->workload.txn_consistency)), &ok);
    }
    put(root, "workload", wl, &ok);

    put(nem, "seed", s->nemesis.seed_set ? json_integer((json_int_t)s->nemesis.seed) : json_null(),
        &ok);
    put(nem, "interval_ms", json_integer(s->nemesis.interval_ms), &ok);
    put(nem, "duration_ms", json_integer(s->nemesis.duration_ms), &ok);
    put(nem, "jitter_ms", json_integer(s->nemesis.jitter_ms), &ok);
    for (int k = 0; k < HARNESS_FAULT_COUNT; k++)
        if (s->nemesis.weights[k])
            put(kinds, harness_fault_name(k), json_integer(s->nemesis.weights[k]), &ok);
    put(nem, "kinds", kinds, &ok);
    const struct harness_scenario *t = s;
    put(nopts, "loss", json_pack("{s:i}", "percent", (int)t->nemesis.options.loss_percent), &ok);
    put(nopts, "duplicate",
        json_pack("{s:i}", "percent", (int)t->nemesis.options.duplicate_percent), &ok);
    put(nopts, "delay",
        json_pack("{s:i, s:i, s:i}", "ms", (int)t->nemesis.options.delay_ms, "jitter_ms",
                  (int)t->nemesis.options.delay_jitter_ms, "reorder_percent",
                  (int)t->nemesis.options.delay_reorder_percent),
        &ok);
    put(nopts, "reorder", json_pack("{s:i}", "percent", (int)t->nemesis.options.reorder_percent),
        &ok);
    put(nopts, "clock-skew",
        json_pack("{s:i}", "max_ms", (int)t->nemesis.options.clock_skew_max_ms), &ok);
    put(nopts, "clock-jump",
        json_pack("{s:i}", "max_ms", (int)t->nemesis.options.clock_jump_max_ms), &ok);
    put(nopts, "clock-rate",
        json_pack("{s:f, s:f}", "min", t->nemesis.options.clock_rate_min, "max",
                  t->nemesis.options.clock_rate_max),
        &ok);
    put(nopts, "kill", json_pack("{s:b}", "lose_unfsynced", t->nemesis.options.kill_lose_unfsynced),
        &ok);
    put(nem, "options", nopts, &ok);
    if (s->nemesis.explicit_schedule) {
        json_t *steps = json_array();
        for (unsigned i = 0; steps && i < s->nemesis.n_steps; i++) {
            const struct harness_step *st = &s->nemesis.steps[i];
            json_t *spare = json_array();
            for (unsigned k = 0; spare && k < HARNESS_SCENARIO_MAX_NODES; k++) {
                char nm[8];
                snprintf(nm, sizeof(nm), "n%u", k + 1);
                if ((st->spare & (1u << k)) && json_array_append_new(spare, json_string(nm)))
                    ok = false;
            }
            json_t *o = json_pack("{s:s, s:I, s:I, s:I}", "kind", harness_fault_name(st->kind),
                                  "at_ms", (json_int_t)st->at_ms, "heal_ms",
                                  (json_int_t)st->heal_ms, "seed", (json_int_t)st->seed);
            if (o && spare && json_array_size(spare) > 0)
                put(o, "spare", json_incref(spare), &ok);
            json_decref(spare);
            if (!o || json_array_append_new(steps, o))
                ok = false;
        }
        put(nem, "schedule", steps, &ok);
    }
    put(root, "nemesis", nem, &ok);

    put(phases, "warmup_s", json_integer(s->phases.warmup_s), &ok);
    put(phases, "faults_s", json_integer(s->phases.faults_s), &ok);
    put(phases, "heal_s", json_integer(s->phases.heal_s), &ok);
    put(phases, "final_reads", json_boolean(s->phases.final_reads), &ok);
    if (s->phases.start_timeout_s != HARNESS_START_TIMEOUT_S) /* scenario.json as before */
        put(phases, "start_timeout_s", json_integer(s->phases.start_timeout_s), &ok);
    put(root, "phases", phases, &ok);

    for (int i = 0; i < HARNESS_CHECKER_COUNT; i++)
        if (s->checkers[i] &&
            json_array_append_new(checkers, json_string(harness_checker_name(i))) != 0)
            ok = false;
    put(root, "checkers", checkers, &ok);
    const char *exp = harness_expect_name(s->expected);
    put(root, "expected", exp ? json_string(exp) : json_null(), &ok);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

bool harness_scenario_equal(const struct harness_scenario *a, const struct harness_scenario *b)
{
    const __typeof__(a->implementation.options) *ao = &a->implementation.options,
                                                *bo = &b->implementation.options;
    if (strcmp(a->name, b->name) || strcmp(a->description, b->description) ||
        strcmp(a->hosts, b->hosts))
        return false;
    if (a->implementation.impl != b->implementation.impl ||
        a->implementation.bug != b->implementation.bug || strcmp(ao->binary, bo->binary) ||
        ao->n_args != bo->n_args || ao->election_timeout_ms != bo->election_timeout_ms ||
        ao->heartbeat_ms != bo->heartbeat_ms || ao->lease_drift != bo->lease_drift ||
        ao->snapshot_threshold != bo->snapshot_threshold || ao->max_batch != bo->max_batch ||
        ao->dynamic != bo->dynamic || strcmp(ao->foreign, bo->foreign))
        return false;
    for (unsigned i = 0; i < ao->n_args; i++)
        if (strcmp(ao->args[i], bo->args[i]))
            return false;
    if (a->nodes.count != b->nodes.count || a->nodes.passive != b->nodes.passive ||
        strcmp(a->network.subnet, b->network.subnet) ||
        a->network.capture.enabled != b->network.capture.enabled ||
        a->network.capture.snaplen != b->network.capture.snaplen ||
        a->network.capture.max_bytes != b->network.capture.max_bytes)
        return false;
    if (a->workload.model != b->workload.model || a->workload.keys != b->workload.keys ||
        a->workload.key_rotation_ops != b->workload.key_rotation_ops ||
        a->workload.concurrency != b->workload.concurrency ||
        a->workload.rate_per_s != b->workload.rate_per_s ||
        memcmp(a->workload.mix, b->workload.mix, sizeof(a->workload.mix)) ||
        a->workload.read_consistency != b->workload.read_consistency ||
        a->workload.value_bytes != b->workload.value_bytes ||
        a->workload.op_timeout_ms != b->workload.op_timeout_ms)
        return false;
    if (a->nemesis.seed_set != b->nemesis.seed_set ||
        (a->nemesis.seed_set && a->nemesis.seed != b->nemesis.seed) ||
        a->nemesis.interval_ms != b->nemesis.interval_ms ||
        a->nemesis.duration_ms != b->nemesis.duration_ms ||
        a->nemesis.jitter_ms != b->nemesis.jitter_ms ||
        memcmp(a->nemesis.weights, b->nemesis.weights, sizeof(a->nemesis.weights)) ||
        a->nemesis.explicit_schedule != b->nemesis.explicit_schedule ||
        a->nemesis.n_steps != b->nemesis.n_steps)
        return false;
    for (unsigned i = 0; a->nemesis.explicit_schedule && i < a->nemesis.n_steps; i++) {
        const struct harness_step *x = &a->nemesis.steps[i], *y = &b->nemesis.steps[i];
        if (x->kind != y->kind || x->at_ms != y->at_ms || x->heal_ms != y->heal_ms ||
            x->seed != y->seed || x->spare != y->spare)
            return false;
    }
    const __typeof__(a->nemesis.options) *an = &a->nemesis.options, *bn = &b->nemesis.options;
    if (an->loss_percent != bn->loss_percent || an->duplicate_percent != bn->duplicate_percent ||
        an->delay_ms != bn->delay_ms || an->delay_jitter_ms != bn->delay_jitter_ms ||
        an->delay_reorder_percent != bn->delay_reorder_percent ||
        an->reorder_percent != bn->reorder_percent ||
        an->clock_skew_max_ms != bn->clock_skew_max_ms ||
        an->clock_jump_max_ms != bn->clock_jump_max_ms ||
        an->clock_rate_min != bn->clock_rate_min || an->clock_rate_max != bn->clock_rate_max ||
        an->kill_lose_unfsynced != bn->kill_lose_unfsynced)
        return false;
    if (a->phases.warmup_s != b->phases.warmup_s || a->phases.faults_s != b->phases.faults_s ||
        a->phases.heal_s != b->phases.heal_s || a->phases.final_reads != b->phases.final_reads ||
        a->phases.start_timeout_s != b->phases.start_timeout_s)
        return false;
    return memcmp(a->checkers, b->checkers, sizeof(a->checkers)) == 0 && a->expected == b->expected;
}

json_t *harness_scenario_impl_options(const struct harness_scenario *s)
{
    json_t *o = s->implementation.options.foreign[0] != '\0'
                    ? json_loads(s->implementation.options.foreign, 0, NULL)
                    : json_object();
    json_t *args = json_array();
    if (o == NULL || args == NULL) {
        json_decref(o);
        json_decref(args);
        return NULL;
    }
    for (unsigned i = 0; i < s->implementation.options.n_args; i++)
        json_array_append_new(args, json_string(s->implementation.options.args[i]));
    json_object_set_new(o, "binary", json_string(s->implementation.options.binary));
    json_object_set_new(o, "args", args);
    return o;
}
