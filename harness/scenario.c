/* scenario.c - scenario files: strict loading with defaults, cross-field rules, JSON out. */
#include "harness/scenario.h"

#include "common/alloc.h"
#include "common/error.h"
#include "harness/foreign.h"
#include "harness/scenario_nemesis.h"
#include "harness/scenario_read.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ==== Names ==== */

static const char *const impl_names[] = {"reference", "etcd", "process", "client"};
static const char *const bug_names[] = {
    NULL,
    "stale-read",
    "lease-no-drift",
    "commit-old-term",
    "no-dedup",
    "ack-before-fsync",
    "no-prevote",
    "vote-not-persisted",
    "txn-early-reads",
    "sequential-unordered",
};
_Static_assert(sizeof bug_names / sizeof *bug_names == HARNESS_BUG_COUNT, "a name per bug");
static const char *const model_names[] = {"register", "kv",          "counter",    "set",
                                          "queue",    "list-append", "rw-register"};
/* In the order of enum checker_txn_consistency (checker/txn_model.h). */
static const char *const txn_consistency_names[] = {"read-uncommitted", "read-committed",
                                                    "repeatable-read",  "snapshot-isolation",
                                                    "serializable",     "strict-serializable"};
_Static_assert(sizeof txn_consistency_names / sizeof *txn_consistency_names == CHECKER_TXN_N_MODELS,
               "txn consistency names");
static const char *const consistency_names[] = {"linearizable", "lease", "sequential"};
static const char *const op_names[] = {"read", "write", "cas", "add", "enqueue", "dequeue"};
static const char *const fault_names[] = {
    "isolate-one",
    "isolate-leader",
    "halves",
    "majorities-ring",
    "bridge",
    "one-way",
    "random-partition",
    "pause-one",
    "pause-leader",
    "pause-minority",
    "kill-one",
    "kill-leader",
    "kill-minority",
    "kill-all",
    "loss",
    "duplicate",
    "delay",
    "clock-skew",
    "clock-jump",
    "clock-rate",
    "membership-remove-add",
    "membership-promote",
    "corrupt-tail",
    "slow-isolate-leader",
    "figure-3-7",
    "lose-unsynced",
    "torn-write",
    "fsync-error",
    "bitflip",
    "truncate",
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
bool harness_scenario_checks_sequential(const struct harness_scenario *s)
{
    return s->workload.read_consistency == HARNESS_READ_SEQUENTIAL &&
           s->implementation.impl == HARNESS_IMPL_REFERENCE &&
           (s->workload.model == HARNESS_MODEL_REGISTER || s->workload.model == HARNESS_MODEL_KV);
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

const char *const *harness__fault_names(void)
{
    return fault_names;
}

const char *harness_txn_consistency_name(int v)
{
    return NAME_AT(txn_consistency_names, v);
}

unsigned harness_fault_min_nodes(enum harness_fault v)
{
    return (size_t)v < HARNESS_FAULT_COUNT ? fault_min_nodes[v] : 0;
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

bool harness_fault_is_clock(int k)
{
    return k == HARNESS_FAULT_CLOCK_SKEW || k == HARNESS_FAULT_CLOCK_JUMP ||
           k == HARNESS_FAULT_CLOCK_RATE || k == HARNESS_FAULT_SLOW_ISOLATE_LEADER;
}

bool harness_fault_is_membership(int k)
{
    return k == HARNESS_FAULT_MEMBERSHIP_REMOVE_ADD || k == HARNESS_FAULT_MEMBERSHIP_PROMOTE;
}

/* Whether operation `op` belongs to `model`. */
bool harness_model_has_op(enum harness_model model, int op)
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
    s->phases.start_timeout_s = HARNESS_START_TIMEOUT_S;
    s->expected = HARNESS_EXPECT_NONE;
}

/* ==== Sections ==== */

/* The implementations started from the scenario's command templates. */
bool harness_scenario_is_foreign(const struct harness_scenario *s)
{
    return s->implementation.impl == HARNESS_IMPL_PROCESS ||
           s->implementation.impl == HARNESS_IMPL_CLIENT;
}

static int parse_implementation(struct harness__sc *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"impl", "options", "bug", NULL};
    static const char *const ref_opts[] = {"binary",       "args",        "election_timeout_ms",
                                           "heartbeat_ms", "lease_drift", "snapshot_threshold",
                                           "max_batch",    NULL};
    static const char *const etcd_opts[] = {"binary", "args", "election_timeout_ms", "heartbeat_ms",
                                            NULL};
    static const char *const proc_opts[] = {"binary",    "args",        "dynamic", "client",
                                            "processes", "files",       "hooks",   "events",
                                            "peer_port", "client_port", "upload", NULL};
    const char *P = "implementation", *PO = "implementation.options";
    json_t *o, *opts;
    int rc, v;
    if ((rc = harness__get_object(c, root, "", "implementation", &o)) || !o)
        return rc;
    if ((rc = harness__only_keys(c, o, P, keys)))
        return rc;
    v = (int)s->implementation.impl;
    if ((rc = harness__get_enum(c, o, P, "impl", impl_names, HARNESS_IMPL_COUNT, false, 0, &v)))
        return rc;
    s->implementation.impl = (enum harness_impl)v;
    v = (int)s->implementation.bug;
    if ((rc = harness__get_enum(c, o, P, "bug", bug_names, HARNESS_BUG_COUNT, true,
                                HARNESS_BUG_NONE, &v)))
        return rc;
    s->implementation.bug = (enum harness_bug)v;
    if ((rc = harness__get_object(c, o, P, "options", &opts)) || !opts)
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
            return harness__fail(c, FL_ESHAPE, PO, key, "does not apply to the %s implementation",
                                 harness_impl_name(s->implementation.impl));
    }
    if ((rc = harness__only_keys(c, opts, PO, allowed)))
        return rc;
    struct harness_scenario *t = s;
    if ((rc = harness__get_text(c, opts, PO, "binary", t->implementation.options.binary,
                                sizeof(t->implementation.options.binary))))
        return rc;
    json_t *args = json_object_get(opts, "args");
    if (args) {
        if (!json_is_array(args))
            return harness__fail(c, FL_ESHAPE, PO, "args", "expected an array of strings, got %s",
                                 harness__type_name(args));
        if (json_array_size(args) > HARNESS_SCENARIO_MAX_ARGS)
            return harness__fail(c, FL_ELIMIT, PO, "args", "more than %d arguments",
                                 HARNESS_SCENARIO_MAX_ARGS);
        size_t i;
        json_t *a;
        json_array_foreach(args, i, a)
        {
            char k[32];
            snprintf(k, sizeof(k), "args[%zu]", i);
            if ((rc = harness__check_text(c, a, PO, k, HARNESS_SCENARIO_ARG_MAX)))
                return rc;
            snprintf(t->implementation.options.args[i], HARNESS_SCENARIO_ARG_MAX, "%s",
                     json_string_value(a));
        }
        t->implementation.options.n_args = (unsigned)json_array_size(args);
    }
    if ((rc = harness__get_uint(c, opts, PO, "election_timeout_ms", 20, 60000,
                                &t->implementation.options.election_timeout_ms)) ||
        (rc = harness__get_uint(c, opts, PO, "heartbeat_ms", 5, 30000,
                                &t->implementation.options.heartbeat_ms)) ||
        (rc = harness__get_double(c, opts, PO, "lease_drift", 0.0, 0.9,
                                  &t->implementation.options.lease_drift)) ||
        (rc = harness__get_u64(c, opts, PO, "snapshot_threshold", 0, 1000000000,
                               &t->implementation.options.snapshot_threshold)) ||
        (rc = harness__get_uint(c, opts, PO, "max_batch", 1, 4096,
                                &t->implementation.options.max_batch)) ||
        (rc = harness__get_bool(c, opts, PO, "dynamic", &t->implementation.options.dynamic)))
        return rc;
    if (harness_scenario_is_foreign(s))
        return harness_foreign_parse(opts, c->name, s->implementation.impl == HARNESS_IMPL_CLIENT,
                                     t->implementation.options.foreign,
                                     sizeof t->implementation.options.foreign, c->errmsg);
    return 0;
}

static int parse_nodes(struct harness__sc *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"count", "passive", NULL};
    json_t *o;
    int rc;
    if ((rc = harness__get_object(c, root, "", "nodes", &o)) || !o)
        return rc;
    if ((rc = harness__only_keys(c, o, "nodes", keys)) ||
        (rc = harness__get_uint(c, o, "nodes", "count", 1, HARNESS_SCENARIO_MAX_NODES,
                                &s->nodes.count)) ||
        (rc = harness__get_uint(c, o, "nodes", "passive", 0, HARNESS_SCENARIO_MAX_NODES - 1,
                                &s->nodes.passive)))
        return rc;
    return 0;
}

static int parse_network(struct harness__sc *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"subnet", "capture", NULL};
    static const char *const ckeys[] = {"enabled", "snaplen", "max_bytes", NULL};
    json_t *o, *cap;
    int rc;
    if ((rc = harness__get_object(c, root, "", "network", &o)) || !o)
        return rc;
    if ((rc = harness__only_keys(c, o, "network", keys)))
        return rc;
    json_t *sub = json_object_get(o, "subnet");
    if (sub) {
        if ((rc = harness__check_text(c, sub, "network", "subnet", sizeof(s->network.subnet))))
            return rc;
        struct in_addr a;
        const char *txt = json_string_value(sub);
        if (inet_pton(AF_INET, txt, &a) != 1)
            return harness__fail(c, FL_ESHAPE, "network", "subnet",
                                 "expected a dotted IPv4 address such as \"198.51.100.0\"");
        uint32_t h = ntohl(a.s_addr);
        if ((h & 0xff) != 0)
            return harness__fail(
                c, FL_ESHAPE, "network", "subnet",
                "expected the network address of a /24 (last number 0), got \"%s\"", txt);
        unsigned first = h >> 24;
        if (first == 0 || first == 127 || first >= 224)
            return harness__fail(
                c, FL_ESHAPE, "network", "subnet",
                "\"%s\" is not a usable unicast network (0/8, 127/8 and 224/3 are refused)", txt);
        snprintf(s->network.subnet, sizeof(s->network.subnet), "%s", txt);
    }
    if ((rc = harness__get_object(c, o, "network", "capture", &cap)) || !cap)
        return rc;
    if ((rc = harness__only_keys(c, cap, "network.capture", ckeys)) ||
        (rc = harness__get_bool(c, cap, "network.capture", "enabled",
                                &s->network.capture.enabled)) ||
        (rc = harness__get_uint(c, cap, "network.capture", "snaplen", 64, 262144,
                                &s->network.capture.snaplen)) ||
        (rc = harness__get_u64(c, cap, "network.capture", "max_bytes", 1ull << 20, 16ull << 30,
                               &s->network.capture.max_bytes)))
        return rc;
    return 0;
}

static int parse_workload(struct harness__sc *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {
        "model",         "keys",        "key_rotation_ops", "concurrency",
        "rate_per_s",    "mix",         "read_consistency", "value_bytes",
        "op_timeout_ms", "txn_max_ops", "txn_consistency",  NULL};
    static const char *const mkeys[] = {"read", "write", "cas", "add", "enqueue", "dequeue", NULL};
    const char *P = "workload";
    json_t *o, *mix;
    int rc, v;
    if ((rc = harness__get_object(c, root, "", "workload", &o)) || !o)
        return rc;
    if ((rc = harness__only_keys(c, o, P, keys)))
        return rc;
    v = -1;
    if ((rc = harness__get_enum(c, o, P, "model", model_names, HARNESS_MODEL_COUNT, false, 0, &v)))
        return rc;
    if (v >= 0)
        model_defaults(s, (enum harness_model)v);
    v = (int)s->workload.read_consistency;
    if ((rc = harness__get_enum(c, o, P, "read_consistency", consistency_names, HARNESS_READ_COUNT,
                                false, 0, &v)))
        return rc;
    s->workload.read_consistency = (enum harness_consistency)v;
    if ((rc = harness__get_uint(c, o, P, "keys", 1, 100000, &s->workload.keys)) ||
        (rc = harness__get_u64(c, o, P, "key_rotation_ops", 0, 10000000,
                               &s->workload.key_rotation_ops)) ||
        (rc = harness__get_uint(c, o, P, "concurrency", 1, 512, &s->workload.concurrency)) ||
        (rc = harness__get_uint(c, o, P, "rate_per_s", 0, 100000, &s->workload.rate_per_s)) ||
        (rc = harness__get_uint(c, o, P, "value_bytes", 0, 65536, &s->workload.value_bytes)) ||
        (rc =
             harness__get_uint(c, o, P, "op_timeout_ms", 10, 600000, &s->workload.op_timeout_ms)) ||
        (rc = harness__get_uint(c, o, P, "txn_max_ops", 1, 16, &s->workload.txn_max_ops)))
        return rc;
    v = (int)s->workload.txn_consistency;
    if ((rc = harness__get_enum(c, o, P, "txn_consistency", txn_consistency_names,
                                CHECKER_TXN_N_MODELS, false, 0, &v)))
        return rc;
    s->workload.txn_consistency = (enum checker_txn_consistency)v;
    if ((rc = harness__get_object(c, o, P, "mix", &mix)) || !mix)
        return rc;
    if ((rc = harness__only_keys(c, mix, "workload.mix", mkeys)))
        return rc;
    memset(s->workload.mix, 0, sizeof(s->workload.mix));
    for (int i = 0; i < HARNESS_OP_COUNT; i++)
        if ((rc = harness__get_uint(c, mix, "workload.mix", op_names[i], 0, 1000,
                                    &s->workload.mix[i])))
            return rc;
    return 0;
}

static int parse_phases(struct harness__sc *c, json_t *root, struct harness_scenario *s)
{
    static const char *const keys[] = {"warmup_s", "faults_s", "heal_s", "final_reads",
                                        "start_timeout_s", NULL};
    json_t *o;
    int rc;
    if ((rc = harness__get_object(c, root, "", "phases", &o)) || !o)
        return rc;
    if ((rc = harness__only_keys(c, o, "phases", keys)) ||
        (rc = harness__get_uint(c, o, "phases", "warmup_s", 0, 3600, &s->phases.warmup_s)) ||
        (rc = harness__get_uint(c, o, "phases", "faults_s", 1, 86400, &s->phases.faults_s)) ||
        (rc = harness__get_uint(c, o, "phases", "heal_s", 0, 3600, &s->phases.heal_s)) ||
        (rc = harness__get_bool(c, o, "phases", "final_reads", &s->phases.final_reads)) ||
        (rc = harness__get_uint(c, o, "phases", "start_timeout_s", 1, 600,
                                &s->phases.start_timeout_s)))
        return rc;
    return 0;
}

static int parse_checkers(struct harness__sc *c, json_t *root, struct harness_scenario *s)
{
    json_t *a = json_object_get(root, "checkers");
    if (!a)
        return 0;
    if (!json_is_array(a))
        return harness__fail(c, FL_ESHAPE, "", "checkers",
                             "expected an array of checker names, got %s", harness__type_name(a));
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
            return harness__fail(
                c, FL_ESHAPE, NULL, "checkers",
                "[%zu]: expected one of \"linearizable\", \"set\", \"counter\", \"stats\"", i);
        if (s->checkers[k])
            return harness__fail(c, FL_ESHAPE, NULL, "checkers", "[%zu]: \"%s\" listed twice", i,
                                 checker_names[k]);
        s->checkers[k] = true;
    }
    return 0;
}

/* ==== Entry points ==== */

static int check_name(struct harness__sc *c, const char *n)
{
    if (!n[0])
        return harness__fail(c, FL_ESHAPE, NULL, "name", "must not be empty");
    if (n[0] == '.')
        return harness__fail(c, FL_ESHAPE, NULL, "name", "must not start with '.'");
    for (const char *p = n; *p; p++) {
        bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.';
        if (!ok)
            return harness__fail(
                c, FL_ESHAPE, NULL, "name",
                "only letters, digits, '-', '_' and '.' are allowed (it names a results "
                "folder)");
    }
    return 0;
}

int harness_scenario_from_json(json_t *root, const char *name, struct harness_scenario *s,
                               char *errmsg)
{
    static const char *const keys[] = {"name",     "description", "implementation", "nodes",
                                       "network",  "workload",    "nemesis",        "phases",
                                       "checkers", "expected",    "hosts",          NULL};
    struct harness__sc cx = {name, errmsg}, *c = &cx;
    int rc, v;
    harness_scenario_default(s);
    if (!json_is_object(root))
        return fl_errorf(errmsg, FL_ESHAPE,
                         "scenario %s: expected a JSON object at the top, got %s", name,
                         harness__type_name(root));
    if ((rc = harness__only_keys(c, root, "", keys)))
        return rc;
    if ((rc = harness__get_text(c, root, "", "name", s->name, sizeof(s->name))) ||
        (rc = check_name(c, s->name)))
        return rc;
    snprintf(s->description, sizeof(s->description), "%s", "");
    if ((rc =
             harness__get_text(c, root, "", "description", s->description, sizeof(s->description))))
        return rc;
    if ((rc = harness__get_text(c, root, "", "hosts", s->hosts, sizeof(s->hosts))))
        return rc;
    /* The workload first: its model sets the defaults of the mix and checkers. */
    if ((rc = parse_implementation(c, root, s)) || (rc = parse_nodes(c, root, s)) ||
        (rc = parse_network(c, root, s)) || (rc = parse_workload(c, root, s)) ||
        (rc = harness__parse_nemesis(c, root, s)) || (rc = parse_phases(c, root, s)) ||
        (rc = parse_checkers(c, root, s)))
        return rc;
    v = (int)s->expected;
    if ((rc = harness__get_enum(c, root, "", "expected", expect_names, 4, true, HARNESS_EXPECT_NONE,
                                &v)))
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
        struct harness__sc cx = {path, errmsg};
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
