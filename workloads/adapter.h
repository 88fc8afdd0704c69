/* adapter.h - how the harness drives one implementation: its nodes and its clients.
 *
 * An adapter knows (1) how to start a node: the argv of its command for node
 * i of a cluster (addresses, peers, data directory), and (2) how a client
 * performs each workload operation against the cluster, asynchronously on
 * the harness's libuv loop, reporting an outcome the history can record:
 *   WORKLOAD_OK       took effect (or, for a read, returned a value)
 *   WORKLOAD_FAIL     certainly did not take effect
 *   WORKLOAD_UNKNOWN  may have taken effect (history: info)
 * Adapters: "reference" (faultline-node, node/client) here; others (etcd,
 * process) plug into the same table. */
#ifndef WORKLOAD_ADAPTER_H
#define WORKLOAD_ADAPTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "workloads/generator.h"

#define WORKLOAD_MAX_NODES 16
#define WORKLOAD_ARGV_MAX 48
/* The error of an operation whose client program (impl "client") has exited before answering
 * anything this many times in a row starts with WORKLOAD_CLIENT_DEAD: a program that cannot
 * start (a wrong path, a missing library); the run stops waiting for a leader on it. */
#define WORKLOAD_CLIENT_DEAD_AFTER 8
#define WORKLOAD_CLIENT_DEAD "client program keeps exiting before answering anything"


enum workload_outcome { WORKLOAD_OK = 0, WORKLOAD_FAIL, WORKLOAD_UNKNOWN };
enum workload_consistency { WORKLOAD_LINEARIZABLE = 0, WORKLOAD_LEASE, WORKLOAD_SEQUENTIAL };

/* The cluster as the adapter needs it. Strings are owned by the caller. */
struct workload_cluster {
    unsigned n;
    const char *addr[WORKLOAD_MAX_NODES]; /* node i's IP address */
    bool passive[WORKLOAD_MAX_NODES];
    const char *data_dir[WORKLOAD_MAX_NODES];
    const char *conf_dir[WORKLOAD_MAX_NODES]; /* rendered config files (process, client) */
    const char *log_dir;   /* results folder for client programs' stderr (client), or NULL */
    unsigned *programs;    /* client: programs started so far (numbers them), or NULL */
    const char *node_bin;    /* the implementation's binary (adapter default when NULL) */
    enum workload_model model;
    unsigned election_timeout_ms;
    const char *bug; /* planted bug name (reference only), or NULL */
    bool lose_unsynced; /* crash faults drop what was not fsynced (reference test hook) */
    json_t *options; /* implementation options from the scenario (borrowed), or NULL */
    const char *secret_file; /* the cluster's secret key file (reference nodes), or NULL */
};

/* One operation in flight. The caller fills op/consistency/cb/data; the
 * adapter fills outcome, value (a new reference or NULL), error. */
struct workload_call {
    json_t *op; /* borrowed {"f","key"?,"value"?} */
    enum workload_consistency consistency;
    uint64_t timeout_ms;
    void (*cb)(struct workload_call *call);
    void *data;
    enum workload_outcome outcome;
    json_t *value;      /* what a read saw, a dequeued element; NULL otherwise */
    const char *error;  /* NULL, static text, or (client) the adapter's until its next completion */
    const char *node;   /* which node served it, when known */
    void *impl;         /* the adapter's */
};

struct workload_adapter {
    const char *name;
    /* Fills argv (NULL-terminated, strings in buf) for node i. */
    int (*node_argv)(const struct workload_cluster *cl, unsigned i, char **argv, size_t max,
                     char *buf, size_t buflen, char *errmsg);
    /* The client address of node i ("ip:port"), into out. */
    void (*client_addr)(const struct workload_cluster *cl, unsigned i, char *out, size_t len);
    /* The peer (Raft) address of node i, into out (membership joins). */
    void (*peer_addr)(const struct workload_cluster *cl, unsigned i, char *out, size_t len);
    /* Opens a client of the cluster on `loop` (one per workload process). */
    int (*client_open)(void **client, uv_loop_t *loop, const struct workload_cluster *cl,
                       uint64_t op_timeout_ms, char *errmsg);
    /* Starts `call`; its cb runs later on the loop (never synchronously).
     * Returns 0 or an error (then cb is not called). */
    int (*invoke)(void *client, struct workload_call *call);
    /* THE LEADER QUESTION (contract shared by every adapter, the process
     * protocol and client programs; the harness side is workload_leader_decide
     * below). Asks ONE node, `node` (0-based index), whom it believes leads.
     * Completes `call` with outcome OK and value = a new JSON object:
     *   {"leader": L, "term": T}   L: the leader's node index (integer) or
     *                              null when this node knows no leader; T:
     *                              the system's term/epoch of that belief
     *                              (integer >= 0), absent when it has none
     *   {"unknown": true}          the system cannot say who leads (never
     *                              guess: leader-targeted faults then record
     *                              "leader unknown" in the history)
     * or with outcome FAIL/UNKNOWN (call->error says why) when the node did
     * not answer: unreachable, paused, timed out. The harness asks every node
     * and takes the answer with the highest term. call->op is unused. Returns
     * 0 or an error (cb not called). NULL: the adapter cannot answer at all
     * (as if every node answered {"unknown": true}). */
    int (*leader)(void *client, unsigned node, struct workload_call *call);
    /* Closes the client; cb(data) once every handle is closed. In-flight calls
     * complete first (unknown). */
    void (*client_close)(void *client, void (*cb)(void *data), void *data);
    /* True when clock faults can apply (dynamically linked C binary). */
    bool clock_faults;
    /* True when membership faults can apply. */
    bool membership;
};

/* What the harness concludes from the nodes' leader answers. */
enum workload_leader_state {
    WORKLOAD_LEADER_NONE = 0, /* nobody answered, or the newest term has no leader */
    WORKLOAD_LEADER_KNOWN,    /* `node` leads (in `term` when has_term) */
    WORKLOAD_LEADER_UNKNOWN,  /* the system cannot say, or answers of one term disagree */
};

struct workload_leader {
    enum workload_leader_state state;
    int node; /* KNOWN: 0-based index; -1 otherwise */
    bool has_term;
    int64_t term;     /* the highest term any answer carried (has_term) */
    unsigned answers; /* nodes that answered */
    unsigned cannot_say; /* of them, how many answered {"unknown": true} */
    char why[96];     /* UNKNOWN/NONE: the reason, for the history and the progress line */
};

/* Decides who leads from answers[i] (node i's leader value, NULL when it did
 * not answer) of an n-node cluster: the answers with the highest term win
 * (answers carrying a term outrank those without); among them the leader
 * they name, or NONE when they name none, or UNKNOWN when they name
 * different nodes. Every answering node saying {"unknown":true} -> UNKNOWN.
 * A malformed answer (wrong types, index out of range) counts as no answer. */
void workload_leader_decide(json_t *const *answers, unsigned n, struct workload_leader *out);

/* Appends a copy of `s` (into buf, at *used) to argv (at *argc, kept
 * NULL-terminated): how adapters build a node's command line. Returns 0 or
 * FL_ELIMIT when argv or buf is full. */
int workload_argv_push(char **argv, size_t max, size_t *argc, char *buf, size_t buflen,
                       size_t *used, const char *s);

/* Finds an adapter by name ("reference", "etcd", "process"); NULL if unknown. */
const struct workload_adapter *workload_adapter_find(const char *name);

/* True when clock faults can apply to `cl` run by `a`: the adapter's flag,
 * or for "process" the scenario's options.dynamic. */
bool workload_adapter_clock_faults(const struct workload_adapter *a,
                                   const struct workload_cluster *cl);

/* process adapter: expands one argument template for node i (placeholders in
 * workloads/PROCESS_PROTOCOL.md) into out (len bytes). Returns 0, FL_ESHAPE
 * (unknown placeholder) or FL_ELIMIT, with errmsg. */
int workload_process_expand(const struct workload_cluster *cl, unsigned i, const char *tmpl,
                            char *out, size_t len, char *errmsg);
/* The node side shared by "process" and "client": node i's argv from
 * options.binary/args, or for options.processes a /bin/sh group leader that
 * starts each (quoted) in the background and waits. */
int workload_process_node_argv(const struct workload_cluster *cl, unsigned i, char **argv,
                               size_t max, char *buf, size_t buflen, char *errmsg);
void workload_process_client_addr(const struct workload_cluster *cl, unsigned i, char *out,
                                  size_t len);
void workload_process_peer_addr(const struct workload_cluster *cl, unsigned i, char *out,
                                size_t len);

extern const struct workload_adapter workload_adapter_reference;
extern const struct workload_adapter workload_adapter_etcd;    /* adapter_etcd.c */
extern const struct workload_adapter workload_adapter_process; /* adapter_process.c */
extern const struct workload_adapter workload_adapter_client;  /* adapter_client.c */

#endif
