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

enum workload_outcome { WORKLOAD_OK = 0, WORKLOAD_FAIL, WORKLOAD_UNKNOWN };
enum workload_consistency { WORKLOAD_LINEARIZABLE = 0, WORKLOAD_LEASE, WORKLOAD_SEQUENTIAL };

/* The cluster as the adapter needs it. Strings are owned by the caller. */
struct workload_cluster {
    unsigned n;
    const char *addr[WORKLOAD_MAX_NODES]; /* node i's IP address */
    bool passive[WORKLOAD_MAX_NODES];
    const char *data_dir[WORKLOAD_MAX_NODES];
    const char *node_bin;    /* the implementation's binary (adapter default when NULL) */
    enum workload_model model;
    unsigned election_timeout_ms;
    const char *bug; /* planted bug name (reference only), or NULL */
    bool lose_unsynced; /* crash faults drop what was not fsynced (reference test hook) */
    json_t *options; /* implementation options from the scenario (borrowed), or NULL */
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
    const char *error;  /* static text or NULL */
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
    /* Asks which node leads: completes `call` with outcome OK and value = the
     * leader's node index (0-based integer) or null when there is none known.
     * call->op is unused. Returns 0 or an error (cb not called). */
    int (*leader)(void *client, struct workload_call *call);
    /* Closes the client; cb(data) once every handle is closed. In-flight calls
     * complete first (unknown). */
    void (*client_close)(void *client, void (*cb)(void *data), void *data);
    /* True when clock faults can apply (dynamically linked C binary). */
    bool clock_faults;
    /* True when membership faults can apply. */
    bool membership;
};

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

extern const struct workload_adapter workload_adapter_reference;
extern const struct workload_adapter workload_adapter_etcd;    /* adapter_etcd.c */
extern const struct workload_adapter workload_adapter_process; /* adapter_process.c */

#endif
