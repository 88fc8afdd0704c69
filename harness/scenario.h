/* scenario.h - scenario files (scenarios/NAME.json): load, validate, default, write back.
 *
 * A scenario names everything a run needs: the implementation under test, the
 * nodes, the network, the workload, the nemesis schedule, the phases, the
 * checkers and the verdict expected. Every field has a default (see
 * scenarios/README.md, which documents each one) so `{}` is a valid scenario.
 * Loading is strict: an unknown field, a value of the wrong type or out of its
 * bounds, or a combination that cannot run (clock faults against etcd, a
 * counter workload without the counter checker...) is refused with one line
 * naming the file and the field path:
 *   scenario scenarios/x.json: nemesis.interval_ms: expected a positive integer
 * The struct holds no pointers: it is copied by assignment and needs no free. */
#ifndef HARNESS_SCENARIO_H
#define HARNESS_SCENARIO_H

#include "checker/txn_model.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HARNESS_SCENARIO_MAX_FILE  (1u << 20)         /* bytes of a scenario file */
#define HARNESS_SCENARIO_NAME_MAX  64                 /* bytes of a name, with the NUL */
#define HARNESS_SCENARIO_DESC_MAX  512                /* bytes of a description, with the NUL */
#define HARNESS_SCENARIO_PATH_MAX  512                /* bytes of implementation.options.binary */
#define HARNESS_SCENARIO_ARG_MAX   256                /* bytes of one argument */
#define HARNESS_SCENARIO_MAX_ARGS  32                 /* implementation.options.args */
#define HARNESS_SCENARIO_MAX_NODES 9                  /* nodes.count + nodes.passive */
#define HARNESS_SCENARIO_FOREIGN_MAX (64u << 10) /* process/client options as JSON (harness/foreign.h) */
#define HARNESS_START_TIMEOUT_S    30 /* phases.start_timeout_s by default */
#define HARNESS_SCENARIO_SEED_MAX  ((1ull << 53) - 1) /* exact in every JSON reader */
#define HARNESS_SCENARIO_MAX_STEPS 256                /* nemesis.schedule entries */

enum harness_impl {
    HARNESS_IMPL_REFERENCE,
    HARNESS_IMPL_ETCD,
    HARNESS_IMPL_PROCESS,
    HARNESS_IMPL_CLIENT, /* a client program of the user's (workloads/CLIENT_PROTOCOL.md) */
    HARNESS_IMPL_COUNT
};

/* Planted bugs of the reference node (node/raft RAFT_BUG_*, node/server SERVER_BUG_*). */
enum harness_bug {
    HARNESS_BUG_NONE,
    HARNESS_BUG_STALE_READ,         /* RAFT_BUG_LOCAL_READS */
    HARNESS_BUG_LEASE_NO_DRIFT,     /* RAFT_BUG_LEASE_NO_DRIFT */
    HARNESS_BUG_COMMIT_OLD_TERM,    /* RAFT_BUG_COMMIT_OLD_TERM */
    HARNESS_BUG_NO_DEDUP,           /* SERVER_BUG_NO_DEDUP */
    HARNESS_BUG_ACK_BEFORE_FSYNC,   /* SERVER_BUG_ACK_BEFORE_FSYNC */
    HARNESS_BUG_NO_PREVOTE,         /* RAFT_BUG_NO_PREVOTE */
    HARNESS_BUG_VOTE_NOT_PERSISTED, /* RAFT_BUG_VOTE_NOT_PERSISTED */
    HARNESS_BUG_TXN_EARLY_READS,    /* SERVER_BUG_TXN_EARLY_READS */
    HARNESS_BUG_SEQUENTIAL_UNORDERED, /* SERVER_BUG_SEQUENTIAL_UNORDERED */
    HARNESS_BUG_COUNT
};

enum harness_model {
    HARNESS_MODEL_REGISTER,
    HARNESS_MODEL_KV,
    HARNESS_MODEL_COUNTER,
    HARNESS_MODEL_SET,
    HARNESS_MODEL_QUEUE,
    HARNESS_MODEL_LIST_APPEND, /* transactions (Elle), checked by the "txn" checker */
    HARNESS_MODEL_RW_REGISTER,
    HARNESS_MODEL_COUNT
};

enum harness_consistency {
    HARNESS_READ_LINEARIZABLE,
    HARNESS_READ_LEASE,
    HARNESS_READ_SEQUENTIAL,
    HARNESS_READ_COUNT
};

/* Operation names of workload.mix; which apply depends on the model. */
enum harness_op {
    HARNESS_OP_READ,
    HARNESS_OP_WRITE,
    HARNESS_OP_CAS,
    HARNESS_OP_ADD,
    HARNESS_OP_ENQUEUE,
    HARNESS_OP_DEQUEUE,
    HARNESS_OP_COUNT
};

/* Nemesis fault kinds, in the order of their names (harness_fault_name). */
enum harness_fault {
    HARNESS_FAULT_ISOLATE_ONE,
    HARNESS_FAULT_ISOLATE_LEADER,
    HARNESS_FAULT_HALVES,
    HARNESS_FAULT_MAJORITIES_RING,
    HARNESS_FAULT_BRIDGE,
    HARNESS_FAULT_ONE_WAY,
    HARNESS_FAULT_RANDOM_PARTITION,
    HARNESS_FAULT_PAUSE_ONE,
    HARNESS_FAULT_PAUSE_LEADER,
    HARNESS_FAULT_PAUSE_MINORITY,
    HARNESS_FAULT_KILL_ONE,
    HARNESS_FAULT_KILL_LEADER,
    HARNESS_FAULT_KILL_MINORITY,
    HARNESS_FAULT_KILL_ALL,
    HARNESS_FAULT_LOSS,
    HARNESS_FAULT_DUPLICATE,
    HARNESS_FAULT_DELAY,
    HARNESS_FAULT_CLOCK_SKEW,
    HARNESS_FAULT_CLOCK_JUMP,
    HARNESS_FAULT_CLOCK_RATE,
    HARNESS_FAULT_MEMBERSHIP_REMOVE_ADD,
    HARNESS_FAULT_MEMBERSHIP_PROMOTE,
    HARNESS_FAULT_CORRUPT_TAIL,
    HARNESS_FAULT_SLOW_ISOLATE_LEADER,
    HARNESS_FAULT_FIGURE_3_7,
    HARNESS_FAULT_LOSE_UNSYNCED, /* disk faults (nemesis/disk.h): every implementation */
    HARNESS_FAULT_TORN_WRITE,
    HARNESS_FAULT_FSYNC_ERROR,
    HARNESS_FAULT_BITFLIP,
    HARNESS_FAULT_TRUNCATE,
    HARNESS_FAULT_REORDER, /* delay with reorder.percent of the packets sent ahead */
    HARNESS_FAULT_COUNT
};

/* One fault of an explicit schedule (nemesis.schedule): `faultline shrink` writes these so a
 * schedule can lose steps, get shorter holds and spare nodes, and still load with `run`. The
 * fault is planned by its kind from an rng seeded with `seed` alone, so a step plans the same
 * fault whatever steps are around it. */
struct harness_step {
    enum harness_fault kind;
    uint32_t at_ms;   /* since the fault phase began */
    uint32_t heal_ms; /* > at_ms; at or before the next step's at_ms */
    uint64_t seed;    /* 0..HARNESS_SCENARIO_SEED_MAX */
    uint32_t spare;   /* bit i: node i is left out of the fault (links and targets) */
};

enum harness_checker {
    HARNESS_CHECKER_LINEARIZABLE,
    HARNESS_CHECKER_SET,
    HARNESS_CHECKER_COUNTER,
    HARNESS_CHECKER_STATS,
    HARNESS_CHECKER_TXN, /* Elle-style check of list-append / rw-register (checker/txn_check.h) */
    HARNESS_CHECKER_COUNT
};

enum harness_expect {
    HARNESS_EXPECT_NONE, /* null: no expectation */
    HARNESS_EXPECT_VALID,
    HARNESS_EXPECT_INVALID,
    HARNESS_EXPECT_UNKNOWN
};

struct harness_scenario {
    char name[HARNESS_SCENARIO_NAME_MAX];        /* [A-Za-z0-9._-]+; names results/<name>/ */
    char description[HARNESS_SCENARIO_DESC_MAX]; /* one line for people */
    /* The hosts file (nemesis/hostfile.h) when the nodes run on hosts over ssh, "" when
     * they run in namespaces here; `run --hosts FILE` sets it. */
    char hosts[HARNESS_SCENARIO_PATH_MAX];

    struct {
        enum harness_impl impl;
        enum harness_bug bug; /* reference only */
        struct {
            char binary[HARNESS_SCENARIO_PATH_MAX]; /* "": the implementation's default */
            char args[HARNESS_SCENARIO_MAX_ARGS][HARNESS_SCENARIO_ARG_MAX];
            unsigned n_args;
            unsigned election_timeout_ms; /* reference and etcd */
            unsigned heartbeat_ms;        /* reference and etcd; < election_timeout_ms */
            double lease_drift;           /* reference */
            uint64_t snapshot_threshold;  /* reference; 0: never */
            unsigned max_batch;           /* reference: entries per AppendEntries */
            bool dynamic;                 /* process, client: dynamically linked (libfaketime) */
            /* process, client: client, processes, files, hooks, events, ports as
             * canonical JSON text ("" when none; harness/foreign.h) */
            char foreign[HARNESS_SCENARIO_FOREIGN_MAX];
        } options;
    } implementation;

    struct {
        unsigned count;   /* voting members, 1..9 */
        unsigned passive; /* passive members (reference), count + passive <= 9 */
    } nodes;

    struct {
        char subnet[16]; /* dotted IPv4 /24 network address, last octet 0 */
        struct {
            bool enabled;
            unsigned snaplen;   /* bytes kept of each packet */
            uint64_t max_bytes; /* capture.pcap stops growing here */
        } capture;
    } network;

    struct {
        enum harness_model model;
        unsigned keys;                  /* keys in use at once */
        uint64_t key_rotation_ops;      /* a key retires after this many ops; 0: never */
        unsigned concurrency;           /* client processes in flight */
        unsigned rate_per_s;            /* invocations per second, all clients; 0: unlimited */
        unsigned mix[HARNESS_OP_COUNT]; /* weights; only the model's operations nonzero */
        enum harness_consistency read_consistency;
        unsigned value_bytes;   /* 0: small integers; else string values of this size */
        unsigned op_timeout_ms; /* an operation not answered by then becomes info */
        unsigned txn_max_ops;   /* micro-ops per transaction, 1..16 (list-append, rw-register) */
        enum checker_txn_consistency txn_consistency; /* what the txn checker checks */
    } workload;

    struct {
        bool seed_set; /* false: the run picks one and writes it to scenario.json */
        uint64_t seed;
        unsigned interval_ms;                  /* quiet time before each fault */
        unsigned duration_ms;                  /* how long each fault is held before it is healed */
        unsigned jitter_ms;                    /* both times vary uniformly by +- jitter_ms */
        unsigned weights[HARNESS_FAULT_COUNT]; /* 0: kind not used; all 0: no faults */
        bool explicit_schedule; /* nemesis.schedule given: these steps, not a random plan */
        unsigned n_steps;
        struct harness_step steps[HARNESS_SCENARIO_MAX_STEPS];
        struct {
            unsigned loss_percent;                                     /* loss */
            unsigned duplicate_percent;                                /* duplicate */
            unsigned delay_ms, delay_jitter_ms, delay_reorder_percent; /* delay (and reorder's
                                                                          delays) */
            unsigned reorder_percent; /* reorder: share released at once, ahead */
            unsigned clock_skew_max_ms;            /* clock-skew: offsets in [-max, max] */
            unsigned clock_jump_max_ms;            /* clock-jump: one jump in [-max, max] */
            double clock_rate_min, clock_rate_max; /* clock-rate: speed factor range */
            bool kill_lose_unfsynced; /* kill-*: the node also drops writes not yet fsynced */
        } options;
    } nemesis;

    struct {
        unsigned warmup_s; /* clients run, no faults */
        unsigned faults_s; /* the time limit: clients and nemesis */
        unsigned heal_s;   /* all faults healed, clients still run */
        bool final_reads;  /* one read per key at the end (set/counter final reads) */
        unsigned start_timeout_s; /* the nodes' start-up: how long a leader (or a node
                                     saying it cannot tell) is waited for */
    } phases;

    bool checkers[HARNESS_CHECKER_COUNT];
    enum harness_expect expected;
};

/* Names, for messages and JSON. Each returns a static string ("?" when out of range). */
const char *harness_impl_name(enum harness_impl v);
/* True when a run of `s` is checked for sequential consistency and session
 * guarantees instead of linearizability: sequential reads on the reference
 * node (register or kv). Other implementations' sequential reads (etcd's
 * serializable reads, ZooKeeper's plain reads) promise no sessions, so their
 * scenarios keep the linearizability check that shows staleness. */
bool harness_scenario_checks_sequential(const struct harness_scenario *s);
const char *harness_bug_name(enum harness_bug v); /* NULL for HARNESS_BUG_NONE */
const char *harness_model_name(enum harness_model v);
const char *harness_consistency_name(enum harness_consistency v);
const char *harness_op_name(enum harness_op v);
const char *harness_fault_name(enum harness_fault v);
const char *harness_checker_name(enum harness_checker v);
const char *harness_expect_name(enum harness_expect v); /* NULL for HARNESS_EXPECT_NONE */
/* The name of a workload.txn_consistency value (checker/txn_model.h order). */
const char *harness_txn_consistency_name(int v);
/* Fewest voting nodes fault kind v needs to mean anything (0 out of range). */
unsigned harness_fault_min_nodes(enum harness_fault v);
/* Clock kinds (the nodes run under libfaketime), membership kinds. */
bool harness_fault_is_clock(int k);
bool harness_fault_is_membership(int k);
/* Whether operation `op` (enum harness_op) belongs to `model`. */
bool harness_model_has_op(enum harness_model model, int op);
/* The implementation is a foreign one (process or client: harness/foreign.h). */
bool harness_scenario_is_foreign(const struct harness_scenario *s);
/* Parses a fault kind name; returns 0 or -1. */
int harness_fault_parse(const char *s, enum harness_fault *out);

/* Fills *s with the built-in default scenario: "default", the reference node,
 * 3 nodes, a kv workload over 5 keys, partitions (isolate-one, isolate-leader,
 * halves) and kills (kill-one, kill-leader), 5 s warm-up, 30 s of faults,
 * 10 s heal, final reads, the linearizable and stats checkers, no seed. */
void harness_scenario_default(struct harness_scenario *s);

/* Fills *s from the JSON object `root` (borrowed): defaults first, then every
 * field present, then the cross-field rules. `name` (borrowed) prefixes
 * messages: "scenario NAME: field.path: problem". Returns 0, or FL_ESHAPE
 * (wrong type, unknown field, bad combination) / FL_ELIMIT (out of bounds)
 * with errmsg set; *s is then unspecified. */
int harness_scenario_from_json(json_t *root, const char *name, struct harness_scenario *s,
                               char *errmsg);

/* Reads and validates the scenario file `path` (at most
 * HARNESS_SCENARIO_MAX_FILE bytes). When the file has no "name", the name is
 * its base name without ".json". Returns 0, a negative errno when it cannot
 * be read, FL_EPARSE for malformed JSON (with line and column), or the codes
 * of harness_scenario_from_json; errmsg names the file. */
int harness_scenario_load(const char *path, struct harness_scenario *s, char *errmsg);


/* The rest of the module's interface, in its own files: the cross-field rules, JSON out. */
#include "harness/scenario_check.h"
#include "harness/scenario_json.h"

#endif
