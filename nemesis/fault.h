/* fault.h - the one interface behind every nemesis fault kind: pure seeded planning, then
 * apply/heal.
 *
 * A fault kind is a vtable (struct nemesis_kind): plan, apply, heal. Planning is
 * pure: from a seeded fl_rng, the topology, the leader index when known and the
 * options it fills a struct nemesis_fault whose JSON `value` describes exactly
 * what will be done (the history's record of the fault). apply/heal touch the
 * system through a struct nemesis_ctx that remembers what is active, so faults
 * of different kinds can overlap and each heal removes only its own part.
 *
 * "Where are faults done?" has one answer: here, one module per family of kinds
 * (partition.h, packet.h, clock.h, procfault.h, membership.h, ...). What a kind
 * needs from whoever runs the nodes (start, kill, pause, membership requests,
 * disk control) it asks through struct nemesis_node_ops, which the harness
 * fills for its namespaced processes (and another backend, e.g. SSH hosts, can
 * fill for its own); the network and clock kinds act on the topology directly.
 *
 * Using it: nemesis_ctx_init, nemesis_ctx_set_nodes, then for each planned
 * fault nemesis_fault_apply ... nemesis_fault_heal, nemesis_ctx_restore_nodes
 * at the end of the fault phase, nemesis_ctx_close.
 *
 * Node indices are 0-based (topology.nodes[i]); in JSON values nodes are named
 * "n<i+1>", like the namespaces. */
#ifndef NEMESIS_FAULT_H
#define NEMESIS_FAULT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/history.h"
#include "common/rng.h"
#include "nemesis/topology.h"

/* What a fault acts on (for reports and schedules; every class is applied here). */
enum nemesis_fault_class {
    NEMESIS_CLASS_NET,        /* partitions, loss, duplication, delay: the hub's nft/iptables */
    NEMESIS_CLASS_CLOCK,      /* libfaketime files */
    NEMESIS_CLASS_PROCESS,    /* pause/kill/disk: through struct nemesis_node_ops */
    NEMESIS_CLASS_MEMBERSHIP, /* remove/add/promote: through nemesis_node_ops.membership */
};

/* apply/heal returned having sent a request whose answer records the outcome (membership). */
#define NEMESIS_PENDING 1

/* What a node fault does (NONE for network and clock faults). */
enum nemesis_action {
    NEMESIS_ACTION_NONE,
    NEMESIS_ACTION_PAUSE,        /* SIGSTOP fault->nodes; heal: SIGCONT */
    NEMESIS_ACTION_KILL,         /* SIGKILL fault->nodes; heal: start them again */
    NEMESIS_ACTION_REMOVE,       /* remove fault->nodes from the cluster; heal: add them back */
    NEMESIS_ACTION_PROMOTE,      /* promote fault->nodes (passive members); heal: nothing */
    NEMESIS_ACTION_CORRUPT,      /* SIGKILL fault->nodes and damage the tail of their newest log
                                    segment (reference node); heal: start them again */
    NEMESIS_ACTION_SLOW_ISOLATE, /* slow the leader's clock (no jump), then isolate it; heal:
                                    heal the partition, clock back to rate 1 (no jump) */
    NEMESIS_ACTION_FIGURE_3_7,   /* the leader's term-T entries left on a minority, then the
                                    steps of Raft's Figure 3.7 (harness/figure37.h) with
                                    delay_ms on the lagging node's inbound links; heal: network
                                    back, every killed node started again */
    NEMESIS_ACTION_LOSE_UNSYNCED, /* SIGKILL fault->nodes, undo their unsynced writes (disk.h);
                                     heal: start them again */
    NEMESIS_ACTION_TORN_WRITE,    /* the same, the last unsynced write kept in part */
    NEMESIS_ACTION_FSYNC_ERROR,   /* fsync returns EIO on fault->nodes; heal: fsync works again
                                     and a node that exited is started again */
    NEMESIS_ACTION_BITFLIP,       /* SIGKILL fault->nodes, flip a bit of their newest file;
                                     heal: start them again */
    NEMESIS_ACTION_TRUNCATE,      /* the same, cutting bytes off the newest file */
};

/* Tunables of the kinds; nemesis_fault_opts_default gives sensible values. */
struct nemesis_fault_opts {
    int loss_percent;    /* loss: 1..100 */
    int dup_percent;     /* duplicate: 1..100 */
    uint32_t delay_ms;   /* delay, reorder: added one-way per packet, 1..60000 */
    uint32_t jitter_ms;  /* delay, reorder: uniform +-jitter, <= delay_ms */
    int delay_reorder_percent; /* delay: share of packets released at once (0..100, default 0:
                                  a plain delay keeps the order) */
    int reorder_percent;       /* reorder: the same share for the reorder kind (0..100,
                                  default 25) */
    int64_t skew_ms;     /* clock-skew: each node offset uniformly in [-skew, +skew] */
    int64_t jump_ms;     /* clock-jump: one node jumps by +-jump */
    double rate;         /* clock-rate: one node's clock runs at this rate (0.1..10) */
    double slow_rate;    /* slow-isolate-leader: the leader's clock rate (0.1..10) */
};

struct nemesis_kind;

/* A planned fault. Plain data: copy it with nemesis_fault_copy (value is refcounted). */
struct nemesis_fault {
    const struct nemesis_kind *kind; /* borrowed (static) */
    json_t *value;                   /* owned reference: what will be done */
    /* Directed edges: bit j of drop[i] set = traffic from node i to node j is affected
     * (dropped for partitions, lost/delayed for packet faults). */
    uint32_t drop[NEMESIS_MAX_NODES];
    uint32_t nodes;             /* bit i: node i is a target (process, membership, clock, dup) */
    bool needs_leader;          /* planned without a leader: bind one before applying */
    enum nemesis_action action; /* for PROCESS and MEMBERSHIP faults */
    int percent;                /* loss, duplicate, reorder */
    uint32_t delay_ms, jitter_ms;
    int64_t clock_offset_ms[NEMESIS_MAX_NODES]; /* clock-skew, clock-jump */
    double clock_rate;                          /* clock-rate (1.0 otherwise) */
    struct nemesis_fault_opts opts;             /* planned with these (binding the leader
                                                   plans again with them) */
};

struct nemesis_delayer;
struct nft_ctx;
struct nemesis_figure37;

/* The active slow-isolate-leader fault (slowisolate.h). */
struct nemesis_slow {
    struct nemesis_fault part; /* its partition (owned value while active) */
    bool active;
    unsigned node;
    double t1_ms;                        /* when the node's clock was slowed (nemesis__now_ms) */
    int64_t lag_ms[NEMESIS_MAX_NODES];   /* how far each clock is behind after slow episodes */
};

/* What the fault kinds need from whoever runs the nodes: filled by the caller
 * (harness/run.c for namespaced processes), copied by nemesis_ctx_set_nodes.
 * Every op returns 0 or a negative code with errmsg unless said otherwise;
 * `node` is a 0-based index. An op a backend cannot do may be NULL: the kinds
 * that need it then fail with a message naming it. */
struct nemesis_node_ops {
    void *data; /* passed back to every op */
    /* The node's process was started and is not known to have ended. */
    bool (*running)(void *data, unsigned node);
    /* Kills the node at once (SIGKILL, or the run's power-loss hook first) and reaps it. */
    int (*kill)(void *data, unsigned node, char *errmsg);
    /* Kills the running nodes of the bit set at once, as kill does each (NULL: one by one
     * through kill). On hosts, where each kill is a round trip, a power loss of the whole
     * cluster would otherwise leave the last nodes running, and syncing, for a while. */
    int (*kill_set)(void *data, uint32_t nodes, char *errmsg);
    /* Starts the node again (it was killed or has exited). */
    int (*start)(void *data, unsigned node, char *errmsg);
    /* Starts the nodes of the bit set again at once, as start does each (NULL: one by one).
     * On hosts each start is a round trip: one by one, the first node of a power loss would
     * be up most of a second before the last, which decides who wins the election after it
     * (in namespaces they start within milliseconds of each other). */
    int (*start_set)(void *data, uint32_t nodes, char *errmsg);
    /* Stops (on: SIGSTOP) or continues (SIGCONT) the node's processes. */
    int (*pause)(void *data, unsigned node, bool on, char *errmsg);
    /* 1 when the running node's process has ended by itself (reaped: it no longer counts as
     * running; *code and *sig say how), 0 while it runs. */
    int (*exited)(void *data, unsigned node, int *code, int *sig);
    /* Milliseconds since the node was last started (libfaketime scales from there). */
    uint64_t (*uptime_ms)(void *data, unsigned node);
    /* The node's data directory (borrowed, lives as long as the run), or NULL. */
    const char *(*data_dir)(void *data, unsigned node);
    /* The node's client port (figure-3-7 blocks it), 0 when unknown. */
    unsigned (*client_port)(void *data, unsigned node);
    /* Sends the membership change of `f` (borrowed; copy what the answer needs) for
     * `node`: remove (heal: add back), promote. Returns 0 once sent: the caller records
     * the outcome when the answer comes (nemesis_fault_apply returns NEMESIS_PENDING). */
    int (*membership)(void *data, const struct nemesis_fault *f, unsigned node, bool heal,
                      char *errmsg);
    /* One command to the node's disk-fault filesystem (fsd.h: "lose", "torn SEED",
     * "fsync-error on|off", "sync"); its JSON answer into reply. */
    int (*disk_command)(void *data, unsigned node, const char *cmd, char *reply, size_t size,
                        char *errmsg);
    /* Damages the newest file of the stopped node's disk (disk.h nemesis_disk_damage);
     * `what` says what was done. Returns 0 or a negative errno. */
    int (*disk_damage)(void *data, unsigned node, bool flip, uint64_t seed, char *what,
                       size_t len);
    /* corrupt-tail on the stopped node's files (corrupt.h nemesis_corrupt_damage_tail) where
     * they are not on this machine (hosts); NULL: done here, under data_dir. */
    int (*damage_tail)(void *data, unsigned node, unsigned count, uint64_t seed, char *what,
                       size_t len);
    /* A progress line for the run's output (may be NULL). */
    void (*say)(void *data, const char *line);
};

/* Apply/heal context: which network state is active. One per run, used from one thread. */
struct nemesis_ctx {
    const struct nemesis_topology *topo; /* borrowed, must outlive the ctx */
    char clock_dir[256];                 /* where the per-node faketime files live ("" = none) */
    uint64_t seed;                       /* seeds the delayer */
    uint16_t queue_num;                  /* NFQUEUE number of the delayer */
    bool netem;                          /* the kernel has tc netem (probed by init) */
    /* Active network faults, rendered together into the hub's nft tables. */
    uint32_t part_drop[NEMESIS_MAX_NODES];
    uint32_t loss_drop[NEMESIS_MAX_NODES];
    int loss_percent;
    uint32_t dup_drop[NEMESIS_MAX_NODES];
    int dup_percent;
    struct nemesis_delayer *delayer; /* owned; non-NULL while a delay fault is applied */
    struct nft_ctx *nft; /* owned: libnftables context whose socket was opened in the hub */
    uint32_t delay_drop[NEMESIS_MAX_NODES];
    bool delay_netem;       /* the active delay went through netem */
    bool remote_delay;      /* the active delay runs in the hosts' faultline-delayers */
    uint64_t delay_packets; /* the last delayer's counters, set when it stops */
    uint64_t delay_held;
    double last_apply_ms, last_heal_ms; /* duration of the last apply/heal (figures) */
    /* The node side (nemesis_ctx_set_nodes); all NULL until then. */
    struct nemesis_node_ops node_ops;
    uint32_t killed; /* bit i: node i killed by a fault, started again by its heal */
    uint32_t paused; /* bit i: node i paused by a fault */
    uint64_t applied; /* faults applied so far (seeds the disk kinds' choices) */
    unsigned corrupt_count; /* corrupt-tail faults done (cut and flip alternate) */
    struct nemesis_slow slow;
    /* figure-3-7's steps (figure37.h; borrowed, set after init by a caller that runs them). */
    struct nemesis_figure37 *figure37;
    /* Nodes on hosts (remote.h; borrowed): partitions, loss, duplication and delay become
     * each host's nft tables (delay through a faultline-delayer per host), clock files are
     * written on the hosts. */
    struct nemesis_remote *remote;
};

/* Plans a fault. `rng` is advanced; `topo` borrowed (only n and names are read);
 * `leader` is the leader's index or -1 when unknown (leader kinds then set
 * needs_leader); `out` is initialised by the call. Returns 0 or FL_EUSAGE
 * (e.g. too few nodes) / FL_ENOMEM with errmsg. */
typedef int (*nemesis_plan_fn)(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                               const struct nemesis_fault_opts *opts, struct nemesis_fault *out,
                               char *errmsg);
/* Applies or heals `f` (borrowed). Returns 0 or a negative code with errmsg. */
typedef int (*nemesis_effect_fn)(struct nemesis_ctx *ctx, const struct nemesis_fault *f,
                                 char *errmsg);

struct nemesis_kind {
    const char *name; /* the history's `f`, e.g. "isolate-one" */
    enum nemesis_fault_class cls;
    nemesis_plan_fn plan;
    nemesis_effect_fn apply; /* 0, NEMESIS_PENDING or a negative code */
    nemesis_effect_fn heal;
};

/* ==== Kinds ==== */

/* The kind called `name`, or NULL. */
const struct nemesis_kind *nemesis_kind_find(const char *name);
/* All kinds, in a fixed order; *n receives the count. */
const struct nemesis_kind *const *nemesis_kinds(size_t *n);

void nemesis_fault_opts_default(struct nemesis_fault_opts *opts);
/* Validates the ranges documented on struct nemesis_fault_opts; errmsg names the field. */
int nemesis_fault_opts_check(const struct nemesis_fault_opts *opts, char *errmsg);

/* ==== Faults ==== */

/* Plans one fault of `kind` (see nemesis_plan_fn). Checks the options first. */
int nemesis_fault_plan(const struct nemesis_kind *kind, struct fl_rng *rng,
                       const struct nemesis_topology *topo, int leader,
                       const struct nemesis_fault_opts *opts, struct nemesis_fault *out,
                       char *errmsg);
/* Binds the leader of a fault planned with needs_leader (isolate-leader,
 * pause-leader, kill-leader): fills its targets and value. A no-op for
 * other faults. Returns 0, FL_EUSAGE (leader out of range) or FL_ENOMEM. */
int nemesis_fault_bind_leader(struct nemesis_fault *f, const struct nemesis_topology *topo,
                              int leader, char *errmsg);
/* Copies `src` into `dst` (the value is shared: a new reference). */
void nemesis_fault_copy(struct nemesis_fault *dst, const struct nemesis_fault *src);
/* Releases the value; the fault can be planned again. */
void nemesis_fault_clear(struct nemesis_fault *f);

/* ==== Apply and heal ==== */

/* Prepares a context for `topo` (borrowed; its hub namespace must exist).
 * `clock_dir` (copied, may be NULL) is the directory of the nodes' faketime
 * files (see clock.h). Probes netem in a scratch namespace "fl-<run>-probe"
 * (created and deleted again) and records the result in ctx->netem; opens the
 * libnftables context in the hub. Changes nothing else. Returns 0 or a
 * negative code with errmsg; on error there is nothing to close. */
int nemesis_ctx_init(struct nemesis_ctx *ctx, const struct nemesis_topology *topo,
                     const char *clock_dir, uint64_t seed, char *errmsg);
/* Prepares a context whose nodes run on the hosts of `remote` (borrowed; opened), with
 * clock faults when `clock` (the nodes started with nemesis_clock_env's variables, their
 * folder NEMESIS_REMOTE_DIR "/clock"). Touches nothing here. Returns 0 or FL_EUSAGE. */
int nemesis_ctx_init_remote(struct nemesis_ctx *ctx, const struct nemesis_topology *topo,
                            struct nemesis_remote *remote, bool clock, uint64_t seed,
                            char *errmsg);
/* Heals everything still active (nft tables, iptables rules, delayer, clock
 * files) and releases the context. Returns the first error, still healing the rest. */
int nemesis_ctx_close(struct nemesis_ctx *ctx, char *errmsg);

/* Gives the node kinds their way to the nodes (`ops` copied; ops->data borrowed). */
void nemesis_ctx_set_nodes(struct nemesis_ctx *ctx, const struct nemesis_node_ops *ops);

/* Applies `f` (leader bound) of any kind. Records the time taken in ctx->last_apply_ms
 * and counts it in ctx->applied. Returns 0, NEMESIS_PENDING (a membership request is
 * out: the caller records its outcome) or a negative code with errmsg. */
int nemesis_fault_apply(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg);
/* Heals `f`, previously applied. Records ctx->last_heal_ms. Returns as apply. */
int nemesis_fault_heal(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg);
/* Brings back what node faults left (end of the fault phase): continues paused nodes and
 * starts killed ones. Returns the first error (errmsg), still trying the others. */
int nemesis_ctx_restore_nodes(struct nemesis_ctx *ctx, char *errmsg);

/* Drops (on) or lets through again (off) TCP packets to `port` arriving at node `node`: an nft
 * table in the node's own namespace, so the drop is at the receiver; the namespace's deletion
 * removes it too. Used by figure-3-7 to keep clients away from one node. Returns 0 or a
 * negative code with errmsg. */
int nemesis_port_block(const struct nemesis_topology *topo, unsigned node, uint16_t port, bool on,
                       char *errmsg);

/* ==== History events ==== */

enum nemesis_phase { NEMESIS_PHASE_START, NEMESIS_PHASE_HEAL };

/* Returns a new reference: one history event for process "nemesis"
 * (DESIGN.md "Histories"). Each phase is two events: an invoke, then an info
 * saying what was done.
 *   START: f = the kind name, value = fault->value;
 *   HEAL:  f = "heal", value = {"fault": kind name, "value": fault->value}.
 * On the info event, a non-NULL `error` (copied) makes value
 * {"error": error, "planned": <the value above>}. `index` < 0 omits "index";
 * `time_ns` is the harness's monotonic time since the run started.
 * Returns NULL only when out of memory. */
json_t *nemesis_fault_event_json(const struct nemesis_fault *f, enum nemesis_phase phase,
                                 enum fl_event_type type, int64_t index, int64_t time_ns,
                                 const char *error);

/* ==== Internal (nemesis/ only) ==== */

/* Node name "n<i+1>" into buf (at least 8 bytes). */
void nemesis__node_name(unsigned i, char *buf);
/* Sets f->value to the drop matrix {"n1":["n2","n3"], ...} (sources with no
 * dropped destination omitted), or, when `extra` (stolen) is not NULL, to
 * extra with the matrix under "links". */
int nemesis__value_edges(struct nemesis_fault *f, unsigned n, json_t *extra, char *errmsg);
/* Runs fn(arg, errmsg) on a short-lived thread that has entered network
 * namespace `ns` (must start with "fl-"), so the caller's namespace is unchanged.
 * Returns fn's result, or a negative code when the namespace cannot be entered. */
int nemesis__in_netns(const char *ns, int (*fn)(void *arg, char *errmsg), void *arg, char *errmsg);
/* Runs argv (argv[0] looked up in PATH) inside namespace `ns` (must start
 * with "fl-"), waits for it; `input` (may be NULL, < 64 KiB) is its stdin,
 * stdout is discarded, stderr kept for errmsg.
 * Returns 0 on exit status 0, else FL_EUSAGE/-errno with errmsg. */
int nemesis__exec_in(const char *ns, char *const argv[], const char *input, char *errmsg);
/* Runs an nft script with libnftables on a short-lived thread in the hub
 * namespace (device names resolve there). The nft context is created once and
 * kept until nemesis_ctx_close: freeing one costs 10-40 ms, a script ~0.3 ms. */
int nemesis__nft(struct nemesis_ctx *ctx, const char *script, char *errmsg);
/* Renders the partition and loss state of ctx into the hub's bridge table. */
int nemesis__net_sync(struct nemesis_ctx *ctx, char *errmsg);
/* Monotonic milliseconds (for the apply/heal figures only). */
double nemesis__now_ms(void);
/* Node steps through ctx->node_ops that keep ctx->killed right (procfault.c).
 * kill: a running node i is killed and marked killed (nothing happens to one
 * that is not running). start: node i is started if it is not running, and no
 * longer marked. */
int nemesis__node_kill(struct nemesis_ctx *ctx, unsigned i, char *errmsg);
int nemesis__node_start(struct nemesis_ctx *ctx, unsigned i, char *errmsg);
/* node_ops.running(i), false without a backend. */
bool nemesis__node_running(struct nemesis_ctx *ctx, unsigned i);
/* A heal: starts the targets of `f` that are marked killed. */
int nemesis__node_start_killed(struct nemesis_ctx *ctx, const struct nemesis_fault *f,
                               char *errmsg);
/* A progress line through node_ops.say (printf-style; nothing when say is NULL). */
void nemesis__say(struct nemesis_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
