/* scenario_nemesis.c - a scenario file's nemesis section: kinds, schedule, fault options. */
#include "harness/scenario_nemesis.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"

static int parse_kinds(struct harness__sc *c, json_t *kinds, struct harness_scenario *s)
{
    const char *P = "nemesis.kinds";
    int rc;
    memset(s->nemesis.weights, 0, sizeof(s->nemesis.weights));
    if (json_is_array(kinds)) {
        size_t i;
        json_t *k;
        json_array_foreach(kinds, i, k)
        {
            char key[32];
            snprintf(key, sizeof(key), "[%zu]", i);
            enum harness_fault f;
            if (!json_is_string(k))
                return harness__fail(c, FL_ESHAPE, P, NULL,
                                     "%s: expected a fault kind name, got %s", key,
                                     harness__type_name(k));
            if (harness_fault_parse(json_string_value(k), &f) != 0)
                return harness__fail(
                    c, FL_ESHAPE, P, NULL,
                    "%s: unknown fault kind (see scenarios/README.md for the list)", key);
            if (s->nemesis.weights[f])
                return harness__fail(c, FL_ESHAPE, P, NULL, "%s: \"%s\" listed twice", key,
                                     harness_fault_name(f));
            s->nemesis.weights[f] = 1;
        }
        return 0;
    }
    if (!json_is_object(kinds))
        return harness__fail(c, FL_ESHAPE, "nemesis", "kinds",
                             "expected an object of weights or an array of kind names, got %s",
                             harness__type_name(kinds));
    const char *key;
    json_t *w;
    json_object_foreach(kinds, key, w)
    {
        enum harness_fault f;
        if (harness_fault_parse(key, &f) != 0) {
            char shown[48];
            snprintf(shown, sizeof(shown), "%s", key);
            for (char *p = shown; *p; p++)
                if ((unsigned char)*p < 0x20)
                    *p = '?';
            return harness__fail(c, FL_ESHAPE, P, shown,
                                 "unknown fault kind (see scenarios/README.md for the list)");
        }
        if ((rc = harness__get_uint(c, kinds, P, key, 0, 1000, &s->nemesis.weights[f])))
            return rc;
    }
    return 0;
}

/* nemesis.schedule: [{"kind", "at_ms", "heal_ms", "seed", "spare": ["n2"]}...]. The order and
 * the kinds are checked by harness_scenario_validate, which also sees command-line overrides. */
static int parse_schedule(struct harness__sc *c, json_t *arr, struct harness_scenario *s)
{
    static const char *const keys[] = {"kind", "at_ms", "heal_ms", "seed", "spare", NULL};
    if (!json_is_array(arr))
        return harness__fail(c, FL_ESHAPE, "nemesis", "schedule",
                             "expected an array of steps, got %s", harness__type_name(arr));
    if (json_array_size(arr) > HARNESS_SCENARIO_MAX_STEPS)
        return harness__fail(c, FL_ELIMIT, "nemesis", "schedule", "more than %d steps",
                             HARNESS_SCENARIO_MAX_STEPS);
    s->nemesis.explicit_schedule = true;
    s->nemesis.n_steps = 0;
    size_t i;
    json_t *st;
    json_array_foreach(arr, i, st)
    {
        char path[48];
        snprintf(path, sizeof(path), "nemesis.schedule[%zu]", i);
        struct harness_step *d = &s->nemesis.steps[i];
        memset(d, 0, sizeof(*d));
        int rc, v = 0;
        if (!json_is_object(st))
            return harness__fail(c, FL_ESHAPE, path, NULL, "expected an object, got %s",
                                 harness__type_name(st));
        if ((rc = harness__only_keys(c, st, path, keys)))
            return rc;
        if (!json_object_get(st, "kind") || !json_object_get(st, "at_ms") ||
            !json_object_get(st, "heal_ms"))
            return harness__fail(c, FL_ESHAPE, path, NULL, "needs kind, at_ms and heal_ms");
        if ((rc = harness__get_enum(c, st, path, "kind", harness__fault_names(),
                                    HARNESS_FAULT_COUNT, false, 0, &v)))
            return rc;
        d->kind = (enum harness_fault)v;
        unsigned at = 0, heal = 0;
        uint64_t seed = 0;
        if ((rc = harness__get_uint(c, st, path, "at_ms", 0, 86400000, &at)) ||
            (rc = harness__get_uint(c, st, path, "heal_ms", 1, 86400000, &heal)) ||
            (rc = harness__get_u64(c, st, path, "seed", 0, HARNESS_SCENARIO_SEED_MAX, &seed)))
            return rc;
        d->at_ms = at;
        d->heal_ms = heal;
        d->seed = seed;
        json_t *spare = json_object_get(st, "spare");
        if (spare && !json_is_array(spare))
            return harness__fail(c, FL_ESHAPE, path, "spare",
                                 "expected an array of node names, got %s",
                                 harness__type_name(spare));
        size_t j;
        json_t *nm;
        json_array_foreach(spare, j, nm)
        {
            const char *t = json_is_string(nm) ? json_string_value(nm) : "";
            char *end = NULL;
            unsigned long k = t[0] == 'n' ? strtoul(t + 1, &end, 10) : 0;
            if (k < 1 || k > HARNESS_SCENARIO_MAX_NODES || !end || *end)
                return harness__fail(c, FL_ESHAPE, path, "spare", "expected node names n1..n%d",
                                     HARNESS_SCENARIO_MAX_NODES);
            d->spare |= 1u << (k - 1);
        }
        s->nemesis.n_steps++;
    }
    return 0;
}

int harness__parse_nemesis(struct harness__sc *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"seed",  "interval_ms", "duration_ms", "jitter_ms",
                                       "kinds", "options",     "schedule",    NULL};
    static const char *const okeys[] = {"loss",       "duplicate",  "delay",
                                        "reorder",    "clock-skew", "clock-jump",
                                        "clock-rate", "kill",       NULL};
    static const char *const kkeys[] = {"lose_unfsynced", NULL};
    static const char *const pct[] = {"percent", NULL};
    static const char *const dkeys[] = {"ms", "jitter_ms", "reorder_percent", NULL};
    static const char *const maxkeys[] = {"max_ms", NULL};
    static const char *const rkeys[] = {"min", "max", NULL};
    const char *P = "nemesis";
    json_t *o, *opts, *g;
    int rc;
    if ((rc = harness__get_object(c, root, "", "nemesis", &o)) || !o)
        return rc;
    if ((rc = harness__only_keys(c, o, P, keys)))
        return rc;
    json_t *seed = json_object_get(o, "seed");
    if (seed && json_is_null(seed)) {
        s->nemesis.seed_set = false;
        s->nemesis.seed = 0;
    } else if (seed) {
        if ((rc =
                 harness__get_u64(c, o, P, "seed", 0, HARNESS_SCENARIO_SEED_MAX, &s->nemesis.seed)))
            return rc;
        s->nemesis.seed_set = true;
    }
    if ((rc = harness__get_uint(c, o, P, "interval_ms", 1, 3600000, &s->nemesis.interval_ms)) ||
        (rc = harness__get_uint(c, o, P, "duration_ms", 1, 3600000, &s->nemesis.duration_ms)) ||
        (rc = harness__get_uint(c, o, P, "jitter_ms", 0, 3600000, &s->nemesis.jitter_ms)))
        return rc;
    json_t *kinds = json_object_get(o, "kinds");
    if (kinds && (rc = parse_kinds(c, kinds, s)))
        return rc;
    json_t *sched = json_object_get(o, "schedule");
    if (sched && !json_is_null(sched) && (rc = parse_schedule(c, sched, s)))
        return rc;
    if ((rc = harness__get_object(c, o, P, "options", &opts)) || !opts)
        return rc;
    if ((rc = harness__only_keys(c, opts, "nemesis.options", okeys)))
        return rc;
    struct {
        const char *kind, *path;
        const char *const *keys;
    } groups[] = {
        {"loss", "nemesis.options.loss", pct},
        {"duplicate", "nemesis.options.duplicate", pct},
        {"delay", "nemesis.options.delay", dkeys},
        {"clock-skew", "nemesis.options.clock-skew", maxkeys},
        {"clock-jump", "nemesis.options.clock-jump", maxkeys},
        {"clock-rate", "nemesis.options.clock-rate", rkeys},
        {"kill", "nemesis.options.kill", kkeys},
    };
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        if ((rc = harness__get_object(c, opts, "nemesis.options", groups[i].kind, &g)))
            return rc;
        if (g && (rc = harness__only_keys(c, g, groups[i].path, groups[i].keys)))
            return rc;
    }
    struct harness_scenario *t = s;
    if ((g = json_object_get(opts, "loss")) &&
        (rc = harness__get_uint(c, g, "nemesis.options.loss", "percent", 1, 100,
                                &t->nemesis.options.loss_percent)))
        return rc;
    if ((g = json_object_get(opts, "duplicate")) &&
        (rc = harness__get_uint(c, g, "nemesis.options.duplicate", "percent", 1, 100,
                                &t->nemesis.options.duplicate_percent)))
        return rc;
    if ((g = json_object_get(opts, "delay")) &&
        ((rc = harness__get_uint(c, g, "nemesis.options.delay", "ms", 1, 60000,
                                 &t->nemesis.options.delay_ms)) ||
         (rc = harness__get_uint(c, g, "nemesis.options.delay", "jitter_ms", 0, 60000,
                                 &t->nemesis.options.delay_jitter_ms)) ||
         (rc = harness__get_uint(c, g, "nemesis.options.delay", "reorder_percent", 0, 100,
                                 &t->nemesis.options.delay_reorder_percent))))
        return rc;
    if ((g = json_object_get(opts, "reorder")) &&
        (rc = harness__get_uint(c, g, "nemesis.options.reorder", "percent", 1, 100,
                                &t->nemesis.options.reorder_percent)))
        return rc;
    if ((g = json_object_get(opts, "clock-skew")) &&
        (rc = harness__get_uint(c, g, "nemesis.options.clock-skew", "max_ms", 1, 86400000,
                                &t->nemesis.options.clock_skew_max_ms)))
        return rc;
    if ((g = json_object_get(opts, "clock-jump")) &&
        (rc = harness__get_uint(c, g, "nemesis.options.clock-jump", "max_ms", 1, 86400000,
                                &t->nemesis.options.clock_jump_max_ms)))
        return rc;
    if ((g = json_object_get(opts, "clock-rate")) &&
        ((rc = harness__get_double(c, g, "nemesis.options.clock-rate", "min", 0.1, 10.0,
                                   &t->nemesis.options.clock_rate_min)) ||
         (rc = harness__get_double(c, g, "nemesis.options.clock-rate", "max", 0.1, 10.0,
                                   &t->nemesis.options.clock_rate_max))))
        return rc;
    if ((g = json_object_get(opts, "kill")) &&
        (rc = harness__get_bool(c, g, "nemesis.options.kill", "lose_unfsynced",
                                &t->nemesis.options.kill_lose_unfsynced)))
        return rc;
    return 0;
}
