/* scenario.c - scenario files: strict loading with defaults, cross-field rules, JSON out. */
#include "harness/scenario.h"

#include "common/alloc.h"
#include "common/error.h"
#include "harness/foreign.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ==== Names ==== */

static const char *const impl_names[] = {"reference", "etcd", "process", "client"};
static const char *const bug_names[] = {
    NULL,       "stale-read",       "lease-no-drift", "commit-old-term",
    "no-dedup", "ack-before-fsync", "no-prevote",     "vote-not-persisted",
    "txn-early-reads",
};
static const char *const model_names[] = {"register", "kv",          "counter",    "set",
                                          "queue",    "list-append", "rw-register"};
/* In the order of enum checker_txn_consistency (checker/txn_model.h). */
static const char *const txn_consistency_names[] = {
    "read-uncommitted", "read-committed", "repeatable-read",
    "snapshot-isolation", "serializable", "strict-serializable"};
_Static_assert(sizeof txn_consistency_names / sizeof *txn_consistency_names == CHECKER_TXN_N_MODELS,
               "txn consistency names");
static const char *const consistency_names[] = {"linearizable", "lease", "sequential"};
static const char *const op_names[] = {"read", "write", "cas", "add", "enqueue", "dequeue"};
static const char *const fault_names[] = {
    "isolate-one",        "isolate-leader", "halves",
    "majorities-ring",    "bridge",         "one-way",
    "random-partition",   "pause-one",      "pause-leader",
    "pause-minority",     "kill-one",       "kill-leader",
    "kill-minority",      "kill-all",       "loss",
    "duplicate",          "delay",          "clock-skew",
    "clock-jump",         "clock-rate",     "membership-remove-add",
    "membership-promote", "corrupt-tail",   "slow-isolate-leader",
    "figure-3-7",         "lose-unsynced",  "torn-write",
    "fsync-error",        "bitflip",        "truncate",
    "reorder",
};
static const char *const checker_names[] = {"linearizable", "set", "counter", "stats", "txn"};
static const char *const expect_names[] = {NULL, "valid", "invalid", "unknown"};

/* Fewest voting nodes a fault kind needs to mean anything (see README.md). */
static const unsigned fault_min_nodes[HARNESS_FAULT_COUNT] = {
    [HARNESS_FAULT_ISOLATE_ONE] = 2,
    [HARNESS_FAULT_ISOLATE_LEADER] = 2,
    [HARNESS_FAULT_HALVES] = 2,
    [HARNESS_FAULT_MAJORITIES_RING] = 4,
    [HARNESS_FAULT_BRIDGE] = 3,
    [HARNESS_FAULT_ONE_WAY] = 2,
    [HARNESS_FAULT_RANDOM_PARTITION] = 2,
    [HARNESS_FAULT_PAUSE_ONE] = 1,
    [HARNESS_FAULT_PAUSE_LEADER] = 1,
    [HARNESS_FAULT_PAUSE_MINORITY] = 3,
    [HARNESS_FAULT_KILL_ONE] = 1,
    [HARNESS_FAULT_KILL_LEADER] = 1,
    [HARNESS_FAULT_KILL_MINORITY] = 3,
    [HARNESS_FAULT_KILL_ALL] = 2,
    [HARNESS_FAULT_LOSS] = 1,
    [HARNESS_FAULT_DUPLICATE] = 1,
    [HARNESS_FAULT_DELAY] = 1,
    [HARNESS_FAULT_CLOCK_SKEW] = 1,
    [HARNESS_FAULT_CLOCK_JUMP] = 1,
    [HARNESS_FAULT_CLOCK_RATE] = 1,
    [HARNESS_FAULT_MEMBERSHIP_REMOVE_ADD] = 3,
    [HARNESS_FAULT_MEMBERSHIP_PROMOTE] = 1,
    [HARNESS_FAULT_CORRUPT_TAIL] = 1,
    [HARNESS_FAULT_SLOW_ISOLATE_LEADER] = 3,
    [HARNESS_FAULT_FIGURE_3_7] = 5,
    [HARNESS_FAULT_LOSE_UNSYNCED] = 1,
    [HARNESS_FAULT_TORN_WRITE] = 1,
    [HARNESS_FAULT_FSYNC_ERROR] = 1,
    [HARNESS_FAULT_BITFLIP] = 1,
    [HARNESS_FAULT_TRUNCATE] = 1,
    [HARNESS_FAULT_REORDER] = 1,
};

#define NAME_AT(tab, v) ((size_t)(v) < sizeof(tab) / sizeof(tab[0]) ? tab[v] : "?")

const char *harness_impl_name(enum harness_impl v)
{
    return NAME_AT(impl_names, v);
}
const char *harness_bug_name(enum harness_bug v)
{
    return NAME_AT(bug_names, v);
}
const char *harness_model_name(enum harness_model v)
{
    return NAME_AT(model_names, v);
}
const char *harness_consistency_name(enum harness_consistency v)
{
    return NAME_AT(consistency_names, v);
}
const char *harness_op_name(enum harness_op v)
{
    return NAME_AT(op_names, v);
}
const char *harness_fault_name(enum harness_fault v)
{
    return NAME_AT(fault_names, v);
}
const char *harness_checker_name(enum harness_checker v)
{
    return NAME_AT(checker_names, v);
}
const char *harness_expect_name(enum harness_expect v)
{
    return NAME_AT(expect_names, v);
}

int harness_fault_parse(const char *s, enum harness_fault *out)
{
    for (int i = 0; i < HARNESS_FAULT_COUNT; i++) {
        if (strcmp(s, fault_names[i]) == 0) {
            *out = (enum harness_fault)i;
            return 0;
        }
    }
    return -1;
}

static bool is_clock_fault(int k)
{
    return k == HARNESS_FAULT_CLOCK_SKEW || k == HARNESS_FAULT_CLOCK_JUMP ||
           k == HARNESS_FAULT_CLOCK_RATE || k == HARNESS_FAULT_SLOW_ISOLATE_LEADER;
}

static bool is_membership_fault(int k)
{
    return k == HARNESS_FAULT_MEMBERSHIP_REMOVE_ADD || k == HARNESS_FAULT_MEMBERSHIP_PROMOTE;
}

/* Whether operation `op` belongs to `model`. */
static bool model_has_op(enum harness_model model, int op)
{
    switch (model) {
    case HARNESS_MODEL_REGISTER:
    case HARNESS_MODEL_KV:
        return op == HARNESS_OP_READ || op == HARNESS_OP_WRITE || op == HARNESS_OP_CAS;
    case HARNESS_MODEL_COUNTER:
    case HARNESS_MODEL_SET:
        return op == HARNESS_OP_ADD || op == HARNESS_OP_READ;
    case HARNESS_MODEL_QUEUE:
        return op == HARNESS_OP_ENQUEUE || op == HARNESS_OP_DEQUEUE;
    case HARNESS_MODEL_LIST_APPEND:
    case HARNESS_MODEL_RW_REGISTER:
        return op == HARNESS_OP_READ || op == HARNESS_OP_WRITE;
    default:
        return false;
    }
}

/* ==== Defaults ==== */

/* The defaults that depend on the workload model: op mix, keys, key
 * rotation, checkers. Applied when the model is set. */
static void model_defaults(struct harness_scenario *s, enum harness_model model)
{
    s->workload.model = model;
    memset(s->workload.mix, 0, sizeof(s->workload.mix));
    memset(s->checkers, 0, sizeof(s->checkers));
    s->checkers[HARNESS_CHECKER_STATS] = true;
    switch (model) {
    case HARNESS_MODEL_REGISTER:
    case HARNESS_MODEL_KV:
        s->workload.mix[HARNESS_OP_READ] = 1;
        s->workload.mix[HARNESS_OP_WRITE] = 1;
        s->workload.mix[HARNESS_OP_CAS] = 1;
        s->workload.keys = 5;
        s->workload.key_rotation_ops = 1000;
        s->checkers[HARNESS_CHECKER_LINEARIZABLE] = true;
        break;
    case HARNESS_MODEL_COUNTER:
        s->workload.mix[HARNESS_OP_ADD] = 1;
        s->workload.mix[HARNESS_OP_READ] = 1;
        s->workload.keys = 1;
        s->workload.key_rotation_ops = 0;
        s->checkers[HARNESS_CHECKER_COUNTER] = true;
        break;
    case HARNESS_MODEL_SET:
        s->workload.mix[HARNESS_OP_ADD] = 10;
        s->workload.mix[HARNESS_OP_READ] = 1;
        s->workload.keys = 1;
        s->workload.key_rotation_ops = 0;
        s->checkers[HARNESS_CHECKER_SET] = true;
        break;
    case HARNESS_MODEL_LIST_APPEND:
    case HARNESS_MODEL_RW_REGISTER:
        /* Micro-ops: r, and append (list-append) or w (rw-register) as "write". */
        s->workload.mix[HARNESS_OP_READ] = 1;
        s->workload.mix[HARNESS_OP_WRITE] = 1;
        s->workload.keys = 5;
        s->workload.key_rotation_ops = 0;
        s->checkers[HARNESS_CHECKER_TXN] = true;
        break;
    case HARNESS_MODEL_QUEUE:
    default:
        s->workload.mix[HARNESS_OP_ENQUEUE] = 1;
        s->workload.mix[HARNESS_OP_DEQUEUE] = 1;
        s->workload.keys = 1;
        s->workload.key_rotation_ops = 0;
        s->checkers[HARNESS_CHECKER_LINEARIZABLE] = true;
        break;
    }
}

void harness_scenario_default(struct harness_scenario *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "default");
    snprintf(s->description, sizeof(s->description),
             "3 reference nodes, kv workload, partitions and kills for 30 s");
    s->implementation.impl = HARNESS_IMPL_REFERENCE;
    s->implementation.bug = HARNESS_BUG_NONE;
    s->implementation.options.election_timeout_ms = 300;
    s->implementation.options.heartbeat_ms = 50;
    s->implementation.options.lease_drift = 0.1;
    s->implementation.options.max_batch = 64;
    s->implementation.options.snapshot_threshold = 4096;
    s->nodes.count = 3;
    s->nodes.passive = 0;
    snprintf(s->network.subnet, sizeof(s->network.subnet), "198.51.100.0");
    s->network.capture.enabled = true;
    s->network.capture.snaplen = 65535;
    s->network.capture.max_bytes = 100ull << 20;
    model_defaults(s, HARNESS_MODEL_KV);
    s->workload.concurrency = 5;
    s->workload.rate_per_s = 100;
    s->workload.read_consistency = HARNESS_READ_LINEARIZABLE;
    s->workload.value_bytes = 0;
    s->workload.op_timeout_ms = 1000;
    s->workload.txn_max_ops = 4;
    s->workload.txn_consistency = CHECKER_TXN_STRICT_SERIALIZABLE;
    s->nemesis.interval_ms = 5000;
    s->nemesis.duration_ms = 5000;
    s->nemesis.jitter_ms = 1000;
    s->nemesis.weights[HARNESS_FAULT_ISOLATE_ONE] = 1;
    s->nemesis.weights[HARNESS_FAULT_ISOLATE_LEADER] = 1;
    s->nemesis.weights[HARNESS_FAULT_HALVES] = 1;
    s->nemesis.weights[HARNESS_FAULT_KILL_ONE] = 1;
    s->nemesis.weights[HARNESS_FAULT_KILL_LEADER] = 1;
    s->nemesis.options.loss_percent = 20;
    s->nemesis.options.duplicate_percent = 20;
    s->nemesis.options.delay_ms = 100;
    s->nemesis.options.delay_jitter_ms = 50;
    s->nemesis.options.delay_reorder_percent = 0;
    s->nemesis.options.reorder_percent = 25;
    s->nemesis.options.clock_skew_max_ms = 5000;
    s->nemesis.options.clock_jump_max_ms = 60000;
    s->nemesis.options.clock_rate_min = 0.5;
    s->nemesis.options.clock_rate_max = 2.0;
    s->phases.warmup_s = 5;
    s->phases.faults_s = 30;
    s->phases.heal_s = 10;
    s->phases.final_reads = true;
    s->expected = HARNESS_EXPECT_NONE;
}

/* ==== Field readers ==== */

struct ctx {
    const char *name; /* for messages */
    char *errmsg;
};

static int fail(struct ctx *c, int code, const char *path, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(struct ctx *c, int code, const char *path, const char *key, const char *fmt, ...)
{
    char what[FL_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (path && path[0] && key)
        return fl_errorf(c->errmsg, code, "scenario %s: %s.%s: %s", c->name, path, key, what);
    if (key)
        return fl_errorf(c->errmsg, code, "scenario %s: %s: %s", c->name, key, what);
    return fl_errorf(c->errmsg, code, "scenario %s: %s: %s", c->name, path, what);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
    default:
        return "null";
    }
}

/* Refuses keys of `obj` that are not in `allowed` (NULL-terminated). */
static int only_keys(struct ctx *c, json_t *obj, const char *path, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            ok = ok || strcmp(key, allowed[i]) == 0;
        if (!ok) {
            char list[160] = "";
            size_t len = 0;
            for (size_t i = 0; allowed[i] && len < sizeof(list); i++)
                len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
                                        allowed[i]);
            char shown[48];
            snprintf(shown, sizeof(shown), "%s", key);
            for (char *p = shown; *p; p++)
                if ((unsigned char)*p < 0x20)
                    *p = '?';
            return fail(c, FL_ESHAPE, path, shown, "unknown field (known: %s)", list);
        }
    }
    return 0;
}

/* Returns the member `key` of `obj` that must be an object (NULL when absent). */
static int get_object(struct ctx *c, json_t *obj, const char *path, const char *key, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_object(v))
        return fail(c, FL_ESHAPE, path, key, "expected an object, got %s", type_name(v));
    *out = v;
    return 0;
}

static int get_u64(struct ctx *c, json_t *obj, const char *path, const char *key, uint64_t min,
                   uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v)) {
        if (min == 1)
            return fail(c, FL_ESHAPE, path, key, "expected a positive integer, got %s",
                        type_name(v));
        return fail(c, FL_ESHAPE, path, key, "expected an integer from %llu to %llu, got %s",
                    (unsigned long long)min, (unsigned long long)max, type_name(v));
    }
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x < min || (uint64_t)x > max)
        return fail(c, FL_ELIMIT, path, key, "expected an integer from %llu to %llu, got %lld",
                    (unsigned long long)min, (unsigned long long)max, (long long)x);
    *out = (uint64_t)x;
    return 0;
}

static int get_uint(struct ctx *c, json_t *obj, const char *path, const char *key, unsigned min,
                    unsigned max, unsigned *out)
{
    uint64_t x = *out;
    int rc = get_u64(c, obj, path, key, min, max, &x);
    if (rc == 0)
        *out = (unsigned)x;
    return rc;
}

static int get_double(struct ctx *c, json_t *obj, const char *path, const char *key, double min,
                      double max, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return fail(c, FL_ESHAPE, path, key, "expected a number from %g to %g, got %s", min, max,
                    type_name(v));
    double x = json_number_value(v);
    if (!isfinite(x) || x < min || x > max)
        return fail(c, FL_ELIMIT, path, key, "expected a number from %g to %g, got %g", min, max,
                    x);
    *out = x;
    return 0;
}

static int get_bool(struct ctx *c, json_t *obj, const char *path, const char *key, bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return fail(c, FL_ESHAPE, path, key, "expected true or false, got %s", type_name(v));
    *out = json_is_true(v);
    return 0;
}

/* A string without control characters, shorter than `cap` bytes. */
static int check_text(struct ctx *c, json_t *v, const char *path, const char *key, size_t cap)
{
    if (!json_is_string(v))
        return fail(c, FL_ESHAPE, path, key, "expected a string, got %s", type_name(v));
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len >= cap)
        return fail(c, FL_ELIMIT, path, key, "longer than %zu bytes", cap - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return fail(c, FL_ESHAPE, path, key, "control character at byte %zu", i);
    return 0;
}

static int get_text(struct ctx *c, json_t *obj, const char *path, const char *key, char *out,
                    size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    int rc = check_text(c, v, path, key, cap);
    if (rc)
        return rc;
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

/* A string member that must be one of names[0..n) (NULL entries skipped);
 * `null_ok`: JSON null gives `null_value`. */
static int get_enum(struct ctx *c, json_t *obj, const char *path, const char *key,
                    const char *const *names, int n, bool null_ok, int null_value, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    char list[200] = "";
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof(list); i++)
        if (names[i])
            len += (size_t)snprintf(list + len, sizeof(list) - len, "%s\"%s\"", len ? ", " : "",
                                    names[i]);
    if (null_ok && len < sizeof(list))
        snprintf(list + len, sizeof(list) - len, ", null");
    if (json_is_null(v) && null_ok) {
        *out = null_value;
        return 0;
    }
    if (!json_is_string(v))
        return fail(c, FL_ESHAPE, path, key, "expected one of %s, got %s", list, type_name(v));
    for (int i = 0; i < n; i++) {
        if (names[i] && strcmp(json_string_value(v), names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return fail(c, FL_ESHAPE, path, key, "expected one of %s", list);
}

/* ==== Sections ==== */

/* The implementations started from the scenario's command templates. */
static bool is_foreign(const struct harness_scenario *s)
{
    return s->implementation.impl == HARNESS_IMPL_PROCESS ||
           s->implementation.impl == HARNESS_IMPL_CLIENT;
}

static int parse_implementation(struct ctx *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"impl", "options", "bug", NULL};
    static const char *const ref_opts[] = {"binary",       "args",        "election_timeout_ms",
                                           "heartbeat_ms", "lease_drift", "snapshot_threshold",
                                           "max_batch",    NULL};
    static const char *const etcd_opts[] = {"binary", "args", "election_timeout_ms", "heartbeat_ms",
                                            NULL};
    static const char *const proc_opts[] = {"binary", "args",   "dynamic",   "client",
                                            "processes", "files", "hooks",    "events",
                                            "peer_port", "client_port", NULL};
    const char *P = "implementation", *PO = "implementation.options";
    json_t *o, *opts;
    int rc, v;
    if ((rc = get_object(c, root, "", "implementation", &o)) || !o)
        return rc;
    if ((rc = only_keys(c, o, P, keys)))
        return rc;
    v = (int)s->implementation.impl;
    if ((rc = get_enum(c, o, P, "impl", impl_names, HARNESS_IMPL_COUNT, false, 0, &v)))
        return rc;
    s->implementation.impl = (enum harness_impl)v;
    v = (int)s->implementation.bug;
    if ((rc = get_enum(c, o, P, "bug", bug_names, HARNESS_BUG_COUNT, true, HARNESS_BUG_NONE, &v)))
        return rc;
    s->implementation.bug = (enum harness_bug)v;
    if ((rc = get_object(c, o, P, "options", &opts)) || !opts)
        return rc;
    const char *const *allowed = s->implementation.impl == HARNESS_IMPL_REFERENCE ? ref_opts
                                 : s->implementation.impl == HARNESS_IMPL_ETCD    ? etcd_opts
                                                                                  : proc_opts;
    const char *key;
    json_t *val;
    json_object_foreach(opts, key, val)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            ok = ok || strcmp(key, allowed[i]) == 0;
        bool known = false;
        for (size_t i = 0; ref_opts[i]; i++)
            known = known || strcmp(key, ref_opts[i]) == 0;
        known = known || strcmp(key, "dynamic") == 0;
        bool foreign = harness_foreign_key(key);
        if (foreign && (s->implementation.impl == HARNESS_IMPL_PROCESS ||
                        s->implementation.impl == HARNESS_IMPL_CLIENT))
            continue;
        known = known || foreign;
        if (!ok && known)
            return fail(c, FL_ESHAPE, PO, key, "does not apply to the %s implementation",
                        harness_impl_name(s->implementation.impl));
    }
    if ((rc = only_keys(c, opts, PO, allowed)))
        return rc;
    struct harness_scenario *t = s;
    if ((rc = get_text(c, opts, PO, "binary", t->implementation.options.binary,
                       sizeof(t->implementation.options.binary))))
        return rc;
    json_t *args = json_object_get(opts, "args");
    if (args) {
        if (!json_is_array(args))
            return fail(c, FL_ESHAPE, PO, "args", "expected an array of strings, got %s",
                        type_name(args));
        if (json_array_size(args) > HARNESS_SCENARIO_MAX_ARGS)
            return fail(c, FL_ELIMIT, PO, "args", "more than %d arguments",
                        HARNESS_SCENARIO_MAX_ARGS);
        size_t i;
        json_t *a;
        json_array_foreach(args, i, a)
        {
            char k[32];
            snprintf(k, sizeof(k), "args[%zu]", i);
            if ((rc = check_text(c, a, PO, k, HARNESS_SCENARIO_ARG_MAX)))
                return rc;
            snprintf(t->implementation.options.args[i], HARNESS_SCENARIO_ARG_MAX, "%s",
                     json_string_value(a));
        }
        t->implementation.options.n_args = (unsigned)json_array_size(args);
    }
    if ((rc = get_uint(c, opts, PO, "election_timeout_ms", 20, 60000,
                       &t->implementation.options.election_timeout_ms)) ||
        (rc = get_uint(c, opts, PO, "heartbeat_ms", 5, 30000,
                       &t->implementation.options.heartbeat_ms)) ||
        (rc = get_double(c, opts, PO, "lease_drift", 0.0, 0.9,
                         &t->implementation.options.lease_drift)) ||
        (rc = get_u64(c, opts, PO, "snapshot_threshold", 0, 1000000000,
                      &t->implementation.options.snapshot_threshold)) ||
        (rc = get_uint(c, opts, PO, "max_batch", 1, 4096, &t->implementation.options.max_batch)) ||
        (rc = get_bool(c, opts, PO, "dynamic", &t->implementation.options.dynamic)))
        return rc;
    if (is_foreign(s))
        return harness_foreign_parse(opts, c->name, s->implementation.impl == HARNESS_IMPL_CLIENT,
                                     t->implementation.options.foreign,
                                     sizeof t->implementation.options.foreign, c->errmsg);
    return 0;
}

static int parse_nodes(struct ctx *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"count", "passive", NULL};
    json_t *o;
    int rc;
    if ((rc = get_object(c, root, "", "nodes", &o)) || !o)
        return rc;
    if ((rc = only_keys(c, o, "nodes", keys)) ||
        (rc = get_uint(c, o, "nodes", "count", 1, HARNESS_SCENARIO_MAX_NODES, &s->nodes.count)) ||
        (rc = get_uint(c, o, "nodes", "passive", 0, HARNESS_SCENARIO_MAX_NODES - 1,
                       &s->nodes.passive)))
        return rc;
    return 0;
}

static int parse_network(struct ctx *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"subnet", "capture", NULL};
    static const char *const ckeys[] = {"enabled", "snaplen", "max_bytes", NULL};
    json_t *o, *cap;
    int rc;
    if ((rc = get_object(c, root, "", "network", &o)) || !o)
        return rc;
    if ((rc = only_keys(c, o, "network", keys)))
        return rc;
    json_t *sub = json_object_get(o, "subnet");
    if (sub) {
        if ((rc = check_text(c, sub, "network", "subnet", sizeof(s->network.subnet))))
            return rc;
        struct in_addr a;
        const char *txt = json_string_value(sub);
        if (inet_pton(AF_INET, txt, &a) != 1)
            return fail(c, FL_ESHAPE, "network", "subnet",
                        "expected a dotted IPv4 address such as \"198.51.100.0\"");
        uint32_t h = ntohl(a.s_addr);
        if ((h & 0xff) != 0)
            return fail(c, FL_ESHAPE, "network", "subnet",
                        "expected the network address of a /24 (last number 0), got \"%s\"", txt);
        unsigned first = h >> 24;
        if (first == 0 || first == 127 || first >= 224)
            return fail(c, FL_ESHAPE, "network", "subnet",
                        "\"%s\" is not a usable unicast network (0/8, 127/8 and 224/3 are refused)",
                        txt);
        snprintf(s->network.subnet, sizeof(s->network.subnet), "%s", txt);
    }
    if ((rc = get_object(c, o, "network", "capture", &cap)) || !cap)
        return rc;
    if ((rc = only_keys(c, cap, "network.capture", ckeys)) ||
        (rc = get_bool(c, cap, "network.capture", "enabled", &s->network.capture.enabled)) ||
        (rc = get_uint(c, cap, "network.capture", "snaplen", 64, 262144,
                       &s->network.capture.snaplen)) ||
        (rc = get_u64(c, cap, "network.capture", "max_bytes", 1ull << 20, 16ull << 30,
                      &s->network.capture.max_bytes)))
        return rc;
    return 0;
}

static int parse_workload(struct ctx *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"model",         "keys", "key_rotation_ops", "concurrency",
                                       "rate_per_s",    "mix",  "read_consistency", "value_bytes",
                                       "op_timeout_ms", "txn_max_ops", "txn_consistency", NULL};
    static const char *const mkeys[] = {"read", "write", "cas", "add", "enqueue", "dequeue", NULL};
    const char *P = "workload";
    json_t *o, *mix;
    int rc, v;
    if ((rc = get_object(c, root, "", "workload", &o)) || !o)
        return rc;
    if ((rc = only_keys(c, o, P, keys)))
        return rc;
    v = -1;
    if ((rc = get_enum(c, o, P, "model", model_names, HARNESS_MODEL_COUNT, false, 0, &v)))
        return rc;
    if (v >= 0)
        model_defaults(s, (enum harness_model)v);
    v = (int)s->workload.read_consistency;
    if ((rc = get_enum(c, o, P, "read_consistency", consistency_names, HARNESS_READ_COUNT, false, 0,
                       &v)))
        return rc;
    s->workload.read_consistency = (enum harness_consistency)v;
    if ((rc = get_uint(c, o, P, "keys", 1, 100000, &s->workload.keys)) ||
        (rc = get_u64(c, o, P, "key_rotation_ops", 0, 10000000, &s->workload.key_rotation_ops)) ||
        (rc = get_uint(c, o, P, "concurrency", 1, 512, &s->workload.concurrency)) ||
        (rc = get_uint(c, o, P, "rate_per_s", 0, 100000, &s->workload.rate_per_s)) ||
        (rc = get_uint(c, o, P, "value_bytes", 0, 65536, &s->workload.value_bytes)) ||
        (rc = get_uint(c, o, P, "op_timeout_ms", 10, 600000, &s->workload.op_timeout_ms)) ||
        (rc = get_uint(c, o, P, "txn_max_ops", 1, 16, &s->workload.txn_max_ops)))
        return rc;
    v = (int)s->workload.txn_consistency;
    if ((rc = get_enum(c, o, P, "txn_consistency", txn_consistency_names, CHECKER_TXN_N_MODELS,
                       false, 0, &v)))
        return rc;
    s->workload.txn_consistency = (enum checker_txn_consistency)v;
    if ((rc = get_object(c, o, P, "mix", &mix)) || !mix)
        return rc;
    if ((rc = only_keys(c, mix, "workload.mix", mkeys)))
        return rc;
    memset(s->workload.mix, 0, sizeof(s->workload.mix));
    for (int i = 0; i < HARNESS_OP_COUNT; i++)
        if ((rc = get_uint(c, mix, "workload.mix", op_names[i], 0, 1000, &s->workload.mix[i])))
            return rc;
    return 0;
}

static int parse_kinds(struct ctx *c, json_t *kinds, struct harness_scenario *s)
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
                return fail(c, FL_ESHAPE, P, NULL, "%s: expected a fault kind name, got %s", key,
                            type_name(k));
            if (harness_fault_parse(json_string_value(k), &f) != 0)
                return fail(c, FL_ESHAPE, P, NULL,
                            "%s: unknown fault kind (see scenarios/README.md for the list)", key);
            if (s->nemesis.weights[f])
                return fail(c, FL_ESHAPE, P, NULL, "%s: \"%s\" listed twice", key, fault_names[f]);
            s->nemesis.weights[f] = 1;
        }
        return 0;
    }
    if (!json_is_object(kinds))
        return fail(c, FL_ESHAPE, "nemesis", "kinds",
                    "expected an object of weights or an array of kind names, got %s",
                    type_name(kinds));
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
            return fail(c, FL_ESHAPE, P, shown,
                        "unknown fault kind (see scenarios/README.md for the list)");
        }
        if ((rc = get_uint(c, kinds, P, key, 0, 1000, &s->nemesis.weights[f])))
            return rc;
    }
    return 0;
}

/* nemesis.schedule: [{"kind", "at_ms", "heal_ms", "seed", "spare": ["n2"]}...]. The order and
 * the kinds are checked by harness_scenario_validate, which also sees command-line overrides. */
static int parse_schedule(struct ctx *c, json_t *arr, struct harness_scenario *s)
{
    static const char *const keys[] = {"kind", "at_ms", "heal_ms", "seed", "spare", NULL};
    if (!json_is_array(arr))
        return fail(c, FL_ESHAPE, "nemesis", "schedule", "expected an array of steps, got %s",
                    type_name(arr));
    if (json_array_size(arr) > HARNESS_SCENARIO_MAX_STEPS)
        return fail(c, FL_ELIMIT, "nemesis", "schedule", "more than %d steps",
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
            return fail(c, FL_ESHAPE, path, NULL, "expected an object, got %s", type_name(st));
        if ((rc = only_keys(c, st, path, keys)))
            return rc;
        if (!json_object_get(st, "kind") || !json_object_get(st, "at_ms") ||
            !json_object_get(st, "heal_ms"))
            return fail(c, FL_ESHAPE, path, NULL, "needs kind, at_ms and heal_ms");
        if ((rc = get_enum(c, st, path, "kind", fault_names, HARNESS_FAULT_COUNT, false, 0, &v)))
            return rc;
        d->kind = (enum harness_fault)v;
        unsigned at = 0, heal = 0;
        uint64_t seed = 0;
        if ((rc = get_uint(c, st, path, "at_ms", 0, 86400000, &at)) ||
            (rc = get_uint(c, st, path, "heal_ms", 1, 86400000, &heal)) ||
            (rc = get_u64(c, st, path, "seed", 0, HARNESS_SCENARIO_SEED_MAX, &seed)))
            return rc;
        d->at_ms = at;
        d->heal_ms = heal;
        d->seed = seed;
        json_t *spare = json_object_get(st, "spare");
        if (spare && !json_is_array(spare))
            return fail(c, FL_ESHAPE, path, "spare", "expected an array of node names, got %s",
                        type_name(spare));
        size_t j;
        json_t *nm;
        json_array_foreach(spare, j, nm)
        {
            const char *t = json_is_string(nm) ? json_string_value(nm) : "";
            char *end = NULL;
            unsigned long k = t[0] == 'n' ? strtoul(t + 1, &end, 10) : 0;
            if (k < 1 || k > HARNESS_SCENARIO_MAX_NODES || !end || *end)
                return fail(c, FL_ESHAPE, path, "spare", "expected node names n1..n%d",
                            HARNESS_SCENARIO_MAX_NODES);
            d->spare |= 1u << (k - 1);
        }
        s->nemesis.n_steps++;
    }
    return 0;
}

static int parse_nemesis(struct ctx *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"seed",  "interval_ms", "duration_ms", "jitter_ms",
                                       "kinds", "options",     "schedule",    NULL};
    static const char *const okeys[] = {"loss",       "duplicate",  "delay", "reorder", "clock-skew",
                                        "clock-jump", "clock-rate", "kill",  NULL};
    static const char *const kkeys[] = {"lose_unfsynced", NULL};
    static const char *const pct[] = {"percent", NULL};
    static const char *const dkeys[] = {"ms", "jitter_ms", "reorder_percent", NULL};
    static const char *const maxkeys[] = {"max_ms", NULL};
    static const char *const rkeys[] = {"min", "max", NULL};
    const char *P = "nemesis";
    json_t *o, *opts, *g;
    int rc;
    if ((rc = get_object(c, root, "", "nemesis", &o)) || !o)
        return rc;
    if ((rc = only_keys(c, o, P, keys)))
        return rc;
    json_t *seed = json_object_get(o, "seed");
    if (seed && json_is_null(seed)) {
        s->nemesis.seed_set = false;
        s->nemesis.seed = 0;
    } else if (seed) {
        if ((rc = get_u64(c, o, P, "seed", 0, HARNESS_SCENARIO_SEED_MAX, &s->nemesis.seed)))
            return rc;
        s->nemesis.seed_set = true;
    }
    if ((rc = get_uint(c, o, P, "interval_ms", 1, 3600000, &s->nemesis.interval_ms)) ||
        (rc = get_uint(c, o, P, "duration_ms", 1, 3600000, &s->nemesis.duration_ms)) ||
        (rc = get_uint(c, o, P, "jitter_ms", 0, 3600000, &s->nemesis.jitter_ms)))
        return rc;
    json_t *kinds = json_object_get(o, "kinds");
    if (kinds && (rc = parse_kinds(c, kinds, s)))
        return rc;
    json_t *sched = json_object_get(o, "schedule");
    if (sched && !json_is_null(sched) && (rc = parse_schedule(c, sched, s)))
        return rc;
    if ((rc = get_object(c, o, P, "options", &opts)) || !opts)
        return rc;
    if ((rc = only_keys(c, opts, "nemesis.options", okeys)))
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
        if ((rc = get_object(c, opts, "nemesis.options", groups[i].kind, &g)))
            return rc;
        if (g && (rc = only_keys(c, g, groups[i].path, groups[i].keys)))
            return rc;
    }
    struct harness_scenario *t = s;
    if ((g = json_object_get(opts, "loss")) &&
        (rc = get_uint(c, g, "nemesis.options.loss", "percent", 1, 100,
                       &t->nemesis.options.loss_percent)))
        return rc;
    if ((g = json_object_get(opts, "duplicate")) &&
        (rc = get_uint(c, g, "nemesis.options.duplicate", "percent", 1, 100,
                       &t->nemesis.options.duplicate_percent)))
        return rc;
    if ((g = json_object_get(opts, "delay")) &&
        ((rc = get_uint(c, g, "nemesis.options.delay", "ms", 1, 60000,
                        &t->nemesis.options.delay_ms)) ||
         (rc = get_uint(c, g, "nemesis.options.delay", "jitter_ms", 0, 60000,
                        &t->nemesis.options.delay_jitter_ms)) ||
         (rc = get_uint(c, g, "nemesis.options.delay", "reorder_percent", 0, 100,
                        &t->nemesis.options.delay_reorder_percent))))
        return rc;
    if ((g = json_object_get(opts, "reorder")) &&
        (rc = get_uint(c, g, "nemesis.options.reorder", "percent", 1, 100,
                       &t->nemesis.options.reorder_percent)))
        return rc;
    if ((g = json_object_get(opts, "clock-skew")) &&
        (rc = get_uint(c, g, "nemesis.options.clock-skew", "max_ms", 1, 86400000,
                       &t->nemesis.options.clock_skew_max_ms)))
        return rc;
    if ((g = json_object_get(opts, "clock-jump")) &&
        (rc = get_uint(c, g, "nemesis.options.clock-jump", "max_ms", 1, 86400000,
                       &t->nemesis.options.clock_jump_max_ms)))
        return rc;
    if ((g = json_object_get(opts, "clock-rate")) &&
        ((rc = get_double(c, g, "nemesis.options.clock-rate", "min", 0.1, 10.0,
                          &t->nemesis.options.clock_rate_min)) ||
         (rc = get_double(c, g, "nemesis.options.clock-rate", "max", 0.1, 10.0,
                          &t->nemesis.options.clock_rate_max))))
        return rc;
    if ((g = json_object_get(opts, "kill")) &&
        (rc = get_bool(c, g, "nemesis.options.kill", "lose_unfsynced",
                       &t->nemesis.options.kill_lose_unfsynced)))
        return rc;
    return 0;
}

static int parse_phases(struct ctx *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"warmup_s", "faults_s", "heal_s", "final_reads", NULL};
    json_t *o;
    int rc;
    if ((rc = get_object(c, root, "", "phases", &o)) || !o)
        return rc;
    if ((rc = only_keys(c, o, "phases", keys)) ||
        (rc = get_uint(c, o, "phases", "warmup_s", 0, 3600, &s->phases.warmup_s)) ||
        (rc = get_uint(c, o, "phases", "faults_s", 1, 86400, &s->phases.faults_s)) ||
        (rc = get_uint(c, o, "phases", "heal_s", 0, 3600, &s->phases.heal_s)) ||
        (rc = get_bool(c, o, "phases", "final_reads", &s->phases.final_reads)))
        return rc;
    return 0;
}

static int parse_checkers(struct ctx *c, json_t *root, struct harness_scenario *s)
{
    json_t *a = json_object_get(root, "checkers");
    if (!a)
        return 0;
    if (!json_is_array(a))
        return fail(c, FL_ESHAPE, "", "checkers", "expected an array of checker names, got %s",
                    type_name(a));
    memset(s->checkers, 0, sizeof(s->checkers));
    size_t i;
    json_t *n;
    json_array_foreach(a, i, n)
    {
        int k = -1;
        if (json_is_string(n))
            for (int j = 0; j < HARNESS_CHECKER_COUNT; j++)
                if (strcmp(json_string_value(n), checker_names[j]) == 0)
                    k = j;
        if (k < 0)
            return fail(c, FL_ESHAPE, NULL, "checkers",
                        "[%zu]: expected one of \"linearizable\", \"set\", \"counter\", \"stats\"",
                        i);
        if (s->checkers[k])
            return fail(c, FL_ESHAPE, NULL, "checkers", "[%zu]: \"%s\" listed twice", i,
                        checker_names[k]);
        s->checkers[k] = true;
    }
    return 0;
}

/* ==== Cross-field rules ==== */

bool harness_fault_on_hosts(enum harness_fault v)
{
    /* Partitions and loss are each host's nft table, clocks its libfaketime file, processes
     * ssh + kill; the rest needs more on the host (remote.h). */
    switch (v) {
    case HARNESS_FAULT_DUPLICATE:
    case HARNESS_FAULT_DELAY:
    case HARNESS_FAULT_CORRUPT_TAIL:
    case HARNESS_FAULT_SLOW_ISOLATE_LEADER:
    case HARNESS_FAULT_FIGURE_3_7:
    case HARNESS_FAULT_LOSE_UNSYNCED:
    case HARNESS_FAULT_TORN_WRITE:
    case HARNESS_FAULT_FSYNC_ERROR:
    case HARNESS_FAULT_BITFLIP:
    case HARNESS_FAULT_TRUNCATE:
        return false;
    default:
        return v < HARNESS_FAULT_COUNT;
    }
}

int harness_scenario_validate(const struct harness_scenario *s, const char *name, char *errmsg)
{
    struct ctx cx = {name, errmsg}, *c = &cx;
    const char *impl = harness_impl_name(s->implementation.impl);
    bool ref = s->implementation.impl == HARNESS_IMPL_REFERENCE;

    if (s->hosts[0] && s->implementation.impl != HARNESS_IMPL_REFERENCE &&
        s->implementation.impl != HARNESS_IMPL_ETCD)
        return fail(c, FL_ESHAPE, "", "hosts",
                    "nodes on hosts run the reference node or etcd, not %s (yet)", impl);
    for (int k = 0; s->hosts[0] && k < HARNESS_FAULT_COUNT; k++)
        if (s->nemesis.weights[k] > 0 && !harness_fault_on_hosts((enum harness_fault)k))
            return fail(c, FL_ESHAPE, "nemesis", "faults",
                        "%s does not run on hosts yet (partitions, loss, pause, kill, clock and "
                        "membership faults do)",
                        fault_names[k]);

    if (s->implementation.bug != HARNESS_BUG_NONE && !ref)
        return fail(c, FL_ESHAPE, "implementation", "bug",
                    "planted bugs exist only in the reference implementation, not %s", impl);
    if (is_foreign(s) && !s->implementation.options.binary[0] &&
        strstr(s->implementation.options.foreign, "\"processes\":") == NULL)
        return fail(c, FL_ESHAPE, "implementation.options", "binary",
                    "required for the %s implementation (the program to start per node), or "
                    "processes",
                    impl);
    if (is_foreign(s)) {
        json_t *o = harness_scenario_impl_options(s);
        int rc = o == NULL ? fl_errorf(errmsg, FL_ENOMEM, "out of memory")
                           : harness_foreign_check(o, name, s->nodes.count + s->nodes.passive,
                                                   s->implementation.impl == HARNESS_IMPL_CLIENT,
                                                   errmsg);
        json_decref(o);
        if (rc != 0)
            return rc;
    }
    if (!is_foreign(s) &&
        s->implementation.options.heartbeat_ms >= s->implementation.options.election_timeout_ms)
        return fail(c, FL_ESHAPE, "implementation.options", "heartbeat_ms",
                    "must be less than election_timeout_ms (%u), got %u",
                    s->implementation.options.election_timeout_ms,
                    s->implementation.options.heartbeat_ms);
    if (s->nodes.count + s->nodes.passive > HARNESS_SCENARIO_MAX_NODES)
        return fail(c, FL_ELIMIT, "nodes", "passive",
                    "count + passive must be at most %d, got %u + %u", HARNESS_SCENARIO_MAX_NODES,
                    s->nodes.count, s->nodes.passive);
    if (s->nodes.passive && !ref)
        return fail(c, FL_ESHAPE, "nodes", "passive",
                    "passive members exist only in the reference implementation, not %s", impl);
    if (s->nemesis.options.kill_lose_unfsynced && !ref)
        return fail(c, FL_ESHAPE, "nemesis.options.kill", "lose_unfsynced",
                    "needs the reference implementation (its test hook drops unsynced writes)");

    /* Workload. */
    unsigned total = 0;
    for (int i = 0; i < HARNESS_OP_COUNT; i++) {
        if (s->workload.mix[i] && !model_has_op(s->workload.model, i)) {
            char ops[64] = "";
            size_t len = 0;
            for (int j = 0; j < HARNESS_OP_COUNT; j++)
                if (model_has_op(s->workload.model, j))
                    len += (size_t)snprintf(ops + len, sizeof(ops) - len, "%s%s", len ? ", " : "",
                                            op_names[j]);
            return fail(c, FL_ESHAPE, "workload.mix", op_names[i],
                        "the %s model has no %s operation (its operations: %s)",
                        model_names[s->workload.model], op_names[i], ops);
        }
        total += s->workload.mix[i];
    }
    if (total == 0)
        return fail(c, FL_ESHAPE, NULL, "workload.mix",
                    "every weight is 0; give at least one operation of the %s model a weight",
                    model_names[s->workload.model]);
    if (s->workload.value_bytes &&
        (s->workload.model == HARNESS_MODEL_COUNTER || s->workload.model == HARNESS_MODEL_SET))
        return fail(c, FL_ESHAPE, "workload", "value_bytes",
                    "the %s model uses integers; value_bytes must be 0",
                    model_names[s->workload.model]);
    /* The reference node takes 64 KiB of value JSON per operation (node/PROTOCOL.md
     * "Limits"); a cas carries two values: [old, new] in quotes, a comma, brackets. */
    if (s->implementation.impl == HARNESS_IMPL_REFERENCE && s->workload.value_bytes > 32765)
        return fail(c, FL_ESHAPE, "workload", "value_bytes",
                    "%u is over 32765, the most the reference node takes (a cas carries two "
                    "values in its 64 KiB value limit)",
                    s->workload.value_bytes);
    if (s->implementation.impl == HARNESS_IMPL_ETCD &&
        s->workload.read_consistency == HARNESS_READ_LEASE)
        return fail(c, FL_ESHAPE, "workload", "read_consistency",
                    "etcd has no lease reads to choose; use \"linearizable\" or \"sequential\" "
                    "(serializable)");
    if (s->implementation.impl == HARNESS_IMPL_ETCD &&
        s->workload.model != HARNESS_MODEL_REGISTER && s->workload.model != HARNESS_MODEL_KV)
        return fail(c, FL_ESHAPE, "workload", "model",
                    "the etcd adapter drives the register and kv models only, not %s",
                    model_names[s->workload.model]);

    bool txn = s->workload.model == HARNESS_MODEL_LIST_APPEND ||
               s->workload.model == HARNESS_MODEL_RW_REGISTER;
    if (txn && s->implementation.impl != HARNESS_IMPL_CLIENT &&
        s->implementation.impl != HARNESS_IMPL_REFERENCE)
        return fail(c, FL_ESHAPE, "workload", "model",
                    "the %s transactions run on the reference node or through a client program "
                    "(impl \"client\", workloads/CLIENT_PROTOCOL.md); the %s implementation has "
                    "no txn operation",
                    model_names[s->workload.model], impl_names[s->implementation.impl]);
    if (txn && s->workload.value_bytes)
        return fail(c, FL_ESHAPE, "workload", "value_bytes",
                    "the %s model uses integers; value_bytes must be 0",
                    model_names[s->workload.model]);

    /* Checkers. */
    bool any = false;
    for (int i = 0; i < HARNESS_CHECKER_COUNT; i++)
        any = any || s->checkers[i];
    if (!any)
        return fail(c, FL_ESHAPE, NULL, "checkers", "expected at least one checker");
    if (s->workload.model == HARNESS_MODEL_COUNTER && !s->checkers[HARNESS_CHECKER_COUNTER])
        return fail(c, FL_ESHAPE, NULL, "checkers",
                    "the counter workload needs the \"counter\" checker");
    if (s->workload.model == HARNESS_MODEL_SET && !s->checkers[HARNESS_CHECKER_SET])
        return fail(c, FL_ESHAPE, NULL, "checkers", "the set workload needs the \"set\" checker");
    if (s->checkers[HARNESS_CHECKER_COUNTER] && s->workload.model != HARNESS_MODEL_COUNTER)
        return fail(c, FL_ESHAPE, NULL, "checkers",
                    "the \"counter\" checker applies to the counter workload only, not %s",
                    model_names[s->workload.model]);
    if (s->checkers[HARNESS_CHECKER_SET] && s->workload.model != HARNESS_MODEL_SET)
        return fail(c, FL_ESHAPE, NULL, "checkers",
                    "the \"set\" checker applies to the set workload only, not %s",
                    model_names[s->workload.model]);
    if (txn && !s->checkers[HARNESS_CHECKER_TXN])
        return fail(c, FL_ESHAPE, NULL, "checkers", "the %s workload needs the \"txn\" checker",
                    model_names[s->workload.model]);
    if (txn && s->checkers[HARNESS_CHECKER_LINEARIZABLE])
        return fail(c, FL_ESHAPE, NULL, "checkers",
                    "the \"linearizable\" checker has no model for %s transactions; use \"txn\"",
                    model_names[s->workload.model]);
    if (s->checkers[HARNESS_CHECKER_TXN] && !txn)
        return fail(c, FL_ESHAPE, NULL, "checkers",
                    "the \"txn\" checker applies to the list-append and rw-register workloads "
                    "only, not %s",
                    model_names[s->workload.model]);
    if (s->workload.model == HARNESS_MODEL_SET && !s->phases.final_reads)
        return fail(c, FL_ESHAPE, "phases", "final_reads",
                    "the set checker compares adds with a final read; final_reads must be true");

    /* Nemesis. */
    if (s->nemesis.jitter_ms > s->nemesis.interval_ms ||
        s->nemesis.jitter_ms > s->nemesis.duration_ms)
        return fail(c, FL_ESHAPE, "nemesis", "jitter_ms",
                    "must not exceed interval_ms (%u) or duration_ms (%u), got %u",
                    s->nemesis.interval_ms, s->nemesis.duration_ms, s->nemesis.jitter_ms);
    if (s->nemesis.options.clock_rate_min > s->nemesis.options.clock_rate_max)
        return fail(c, FL_ESHAPE, "nemesis.options.clock-rate", "min",
                    "must not exceed max (%g), got %g", s->nemesis.options.clock_rate_max,
                    s->nemesis.options.clock_rate_min);
    if (s->nemesis.options.delay_jitter_ms > s->nemesis.options.delay_ms)
        return fail(c, FL_ESHAPE, "nemesis.options.delay", "jitter_ms",
                    "must not exceed ms (%u), got %u", s->nemesis.options.delay_ms,
                    s->nemesis.options.delay_jitter_ms);
    uint64_t prev_heal = 0;
    for (unsigned i = 0; s->nemesis.explicit_schedule && i < s->nemesis.n_steps; i++) {
        const struct harness_step *st = &s->nemesis.steps[i];
        char path[48];
        snprintf(path, sizeof(path), "nemesis.schedule[%u]", i);
        if ((unsigned)st->kind >= HARNESS_FAULT_COUNT || !s->nemesis.weights[st->kind])
            return fail(c, FL_ESHAPE, path, "kind",
                        "\"%s\" is not in nemesis.kinds (the kinds' rules apply to the steps)",
                        harness_fault_name(st->kind));
        if (st->heal_ms <= st->at_ms)
            return fail(c, FL_ESHAPE, path, "heal_ms", "must be after at_ms (%u), got %u",
                        st->at_ms, st->heal_ms);
        if (st->at_ms < prev_heal)
            return fail(c, FL_ESHAPE, path, "at_ms",
                        "steps run one at a time: must not be before the previous heal (%llu), "
                        "got %u",
                        (unsigned long long)prev_heal, st->at_ms);
        if ((uint64_t)st->heal_ms > (uint64_t)s->phases.faults_s * 1000)
            return fail(c, FL_ESHAPE, path, "heal_ms",
                        "must be within the fault phase (phases.faults_s = %u s), got %u ms",
                        s->phases.faults_s, st->heal_ms);
        if (st->spare >> (s->nodes.count + s->nodes.passive))
            return fail(c, FL_ESHAPE, path, "spare", "names a node beyond n%u",
                        s->nodes.count + s->nodes.passive);
        prev_heal = st->heal_ms;
    }
    for (int k = 0; k < HARNESS_FAULT_COUNT; k++) {
        if (!s->nemesis.weights[k])
            continue;
        if (is_clock_fault(k) && s->implementation.impl == HARNESS_IMPL_ETCD)
            return fail(c, FL_ESHAPE, "nemesis.kinds", fault_names[k],
                        "clock faults do not apply to etcd or static binaries (they need "
                        "libfaketime in a dynamically linked node)");
        if (is_clock_fault(k) && is_foreign(s) &&
            !s->implementation.options.dynamic)
            return fail(c, FL_ESHAPE, "nemesis.kinds", fault_names[k],
                        "clock faults do not apply to etcd or static binaries (libfaketime); set "
                        "implementation.options.dynamic if this binary is dynamically linked");
        if (k == HARNESS_FAULT_FIGURE_3_7 && (!ref || s->nodes.count != 5 || s->nodes.passive != 0))
            return fail(c, FL_ESHAPE, "nemesis.kinds", fault_names[k],
                        "figure-3-7 needs the reference implementation (it reads the nodes' "
                        "commit index) and exactly 5 voting nodes, no passive member");
        if (k == HARNESS_FAULT_FIGURE_3_7 &&
            s->nemesis.options.delay_ms >= s->implementation.options.election_timeout_ms)
            return fail(c, FL_ESHAPE, "nemesis.options.delay", "ms",
                        "figure-3-7 needs a delay below the election timeout (%u ms), got %u",
                        s->implementation.options.election_timeout_ms, s->nemesis.options.delay_ms);
        if (k == HARNESS_FAULT_CORRUPT_TAIL && !ref)
            return fail(c, FL_ESHAPE, "nemesis.kinds", fault_names[k],
                        "corrupt-tail damages the reference node's log files, not %s's", impl);
        if (is_membership_fault(k) && !ref)
            return fail(c, FL_ESHAPE, "nemesis.kinds", fault_names[k],
                        "membership faults need the reference implementation, not %s", impl);
        if (k == HARNESS_FAULT_MEMBERSHIP_PROMOTE && s->nodes.passive == 0)
            return fail(c, FL_ESHAPE, "nemesis.kinds", fault_names[k],
                        "needs a passive member to promote (nodes.passive >= 1)");
        if (k == HARNESS_FAULT_KILL_ALL && s->nodes.count < 2)
            return fail(c, FL_ESHAPE, "nemesis.kinds", fault_names[k],
                        "with 1 node kill-all is kill-one; use kill-one");
        if (s->nodes.count < fault_min_nodes[k])
            return fail(c, FL_ESHAPE, "nemesis.kinds", fault_names[k],
                        "needs at least %u nodes (nodes.count is %u)", fault_min_nodes[k],
                        s->nodes.count);
    }
    return 0;
}

/* ==== Entry points ==== */

static int check_name(struct ctx *c, const char *n)
{
    if (!n[0])
        return fail(c, FL_ESHAPE, NULL, "name", "must not be empty");
    if (n[0] == '.')
        return fail(c, FL_ESHAPE, NULL, "name", "must not start with '.'");
    for (const char *p = n; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
        if (!ok)
            return fail(c, FL_ESHAPE, NULL, "name",
                        "only letters, digits, '-', '_' and '.' are allowed (it names a results "
                        "folder)");
    }
    return 0;
}

int harness_scenario_from_json(json_t *root, const char *name, struct harness_scenario *s,
                               char *errmsg)
{
    static const char *const keys[] = {
        "name",    "description", "implementation", "nodes",    "network", "workload",
        "nemesis", "phases",      "checkers",       "expected", "hosts",   NULL};
    struct ctx cx = {name, errmsg}, *c = &cx;
    int rc, v;
    harness_scenario_default(s);
    if (!json_is_object(root))
        return fl_errorf(errmsg, FL_ESHAPE,
                         "scenario %s: expected a JSON object at the top, got %s", name,
                         type_name(root));
    if ((rc = only_keys(c, root, "", keys)))
        return rc;
    if ((rc = get_text(c, root, "", "name", s->name, sizeof(s->name))) ||
        (rc = check_name(c, s->name)))
        return rc;
    snprintf(s->description, sizeof(s->description), "%s", "");
    if ((rc = get_text(c, root, "", "description", s->description, sizeof(s->description))))
        return rc;
    if ((rc = get_text(c, root, "", "hosts", s->hosts, sizeof(s->hosts))))
        return rc;
    /* The workload first: its model sets the defaults of the mix and checkers. */
    if ((rc = parse_implementation(c, root, s)) || (rc = parse_nodes(c, root, s)) ||
        (rc = parse_network(c, root, s)) || (rc = parse_workload(c, root, s)) ||
        (rc = parse_nemesis(c, root, s)) || (rc = parse_phases(c, root, s)) ||
        (rc = parse_checkers(c, root, s)))
        return rc;
    v = (int)s->expected;
    if ((rc = get_enum(c, root, "", "expected", expect_names, 4, true, HARNESS_EXPECT_NONE, &v)))
        return rc;
    s->expected = (enum harness_expect)v;
    return harness_scenario_validate(s, name, errmsg);
}

int harness_scenario_load(const char *path, struct harness_scenario *s, char *errmsg)
{
    int rc;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return fl_errorf(errmsg, -errno, "scenario %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        rc = fl_errorf(errmsg, -errno, "scenario %s: %s", path, strerror(errno));
        goto err_file;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fl_errorf(errmsg, FL_EUSAGE, "scenario %s: not a regular file", path);
        goto err_file;
    }
    if ((uint64_t)st.st_size > HARNESS_SCENARIO_MAX_FILE) {
        rc = fl_errorf(errmsg, FL_ELIMIT, "scenario %s: larger than %u bytes", path,
                       HARNESS_SCENARIO_MAX_FILE);
        goto err_file;
    }
    char *text = fl_malloc((size_t)st.st_size + 1);
    if (!text) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "scenario %s: out of memory", path);
        goto err_file;
    }
    size_t n = fread(text, 1, (size_t)st.st_size + 1, fp);
    if (ferror(fp) || n > (size_t)st.st_size) {
        rc = fl_errorf(errmsg, FL_EPARSE, "scenario %s: read error or file changed while read",
                       path);
        goto err_text;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = fl_errorf(errmsg, FL_EPARSE, "scenario %s: line %d column %d: %s", path, jerr.line,
                       jerr.column, jerr.text);
        goto err_text;
    }
    rc = harness_scenario_from_json(root, path, s, errmsg);
    if (rc == 0 && !json_object_get(root, "name")) {
        /* The base name without ".json" names the scenario. */
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        size_t len = strlen(base);
        if (len > 5 && strcmp(base + len - 5, ".json") == 0)
            len -= 5;
        if (len >= sizeof(s->name))
            len = sizeof(s->name) - 1;
        memcpy(s->name, base, len);
        s->name[len] = '\0';
        struct ctx cx = {path, errmsg};
        if (check_name(&cx, s->name) != 0)
            snprintf(s->name, sizeof(s->name), "scenario");
    }
    json_decref(root);
err_text:
    fl_free(text);
err_file:
    fclose(fp);
    return rc;
}

/* ==== Output ==== */

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
    if (!is_foreign(s)) {
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
    if (is_foreign(s))
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
        if (model_has_op(s->workload.model, i) || s->workload.mix[i])
            put(mix, op_names[i], json_integer(s->workload.mix[i]), &ok);
    put(wl, "mix", mix, &ok);
    put(wl, "read_consistency", json_string(harness_consistency_name(s->workload.read_consistency)),
        &ok);
    put(wl, "value_bytes", json_integer(s->workload.value_bytes), &ok);
    put(wl, "op_timeout_ms", json_integer(s->workload.op_timeout_ms), &ok);
    if (s->workload.model == HARNESS_MODEL_LIST_APPEND ||
        s->workload.model == HARNESS_MODEL_RW_REGISTER) {
        put(wl, "txn_max_ops", json_integer(s->workload.txn_max_ops), &ok);
        put(wl, "txn_consistency",
            json_string(txn_consistency_names[s->workload.txn_consistency]), &ok);
    }
    put(root, "workload", wl, &ok);

    put(nem, "seed", s->nemesis.seed_set ? json_integer((json_int_t)s->nemesis.seed) : json_null(),
        &ok);
    put(nem, "interval_ms", json_integer(s->nemesis.interval_ms), &ok);
    put(nem, "duration_ms", json_integer(s->nemesis.duration_ms), &ok);
    put(nem, "jitter_ms", json_integer(s->nemesis.jitter_ms), &ok);
    for (int k = 0; k < HARNESS_FAULT_COUNT; k++)
        if (s->nemesis.weights[k])
            put(kinds, fault_names[k], json_integer(s->nemesis.weights[k]), &ok);
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
    put(root, "phases", phases, &ok);

    for (int i = 0; i < HARNESS_CHECKER_COUNT; i++)
        if (s->checkers[i] && json_array_append_new(checkers, json_string(checker_names[i])) != 0)
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
        a->phases.heal_s != b->phases.heal_s || a->phases.final_reads != b->phases.final_reads)
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
