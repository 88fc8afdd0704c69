/* nodes.h - a run's node processes: start, stop, kill, the disk-fault filesystem under them, and
 * the nemesis node ops (nemesis/fault.h struct nemesis_node_ops) over them.
 *
 * The nodes run in their namespaces (forked from the run thread, killed with it) or on hosts
 * over SSH (harness/hosts.h); process and client implementations get their hooks
 * (harness/nodelife.h) around each start and stop. */
#ifndef HARNESS_NODES_H
#define HARNESS_NODES_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "nemesis/disk.h"
#include "nemesis/fault.h"
#include "nemesis/process.h"
#include "nemesis/topology.h"
#include "workloads/adapter.h"

struct harness_nodelife;
struct harness_hosts;

/* Caller-allocated (zeroed); the caller fills the first part, all borrowed for the run. */
struct harness_nodes {
    const struct nemesis_topology *topo;
    const struct workload_adapter *adapter;
    struct workload_cluster *cl;   /* n, lose_unsynced (the kill hook), addresses */
    uv_loop_t *loop;               /* start times (uv_now) */
    struct harness_nodelife *life; /* process/client hooks; NULL when none */
    struct harness_hosts *hosts;   /* the nodes on hosts; NULL: in namespaces */
    char **argv[NEMESIS_MAX_NODES];
    const char **env[NEMESIS_MAX_NODES]; /* extra environment (clock faults), or NULL */
    const char *logs[NEMESIS_MAX_NODES], *data_dirs[NEMESIS_MAX_NODES];
    const char *tmp, *dir, *self_exe;          /* temp dir, results dir, the faultline binary */
    void (*say)(void *data, const char *line); /* progress lines; say_data passed back */
    void *say_data;
    void *owner; /* the caller's, for the ops it adds (membership) */
    /* State. */
    struct nemesis_process procs[NEMESIS_MAX_NODES];
    bool started[NEMESIS_MAX_NODES];
    uint64_t
        started_ms[NEMESIS_MAX_NODES]; /* when each (re)started: libfaketime scales from there */
    struct nemesis_disk disks[NEMESIS_MAX_NODES];
};

/* Starts node i (its hooks first). Returns 0 or a negative code with errmsg. */
int harness_nodes_start(struct harness_nodes *ns, unsigned i, char *errmsg);
/* Stops every started node (SIGTERM, then SIGKILL after 3 s) and tears its hooks down. */
void harness_nodes_stop_all(struct harness_nodes *ns);
/* Kills node i at once (with cl->lose_unsynced, its power-loss hook first) and reaps it.
 * Returns 0 or a negative errno. */
int harness_nodes_kill(struct harness_nodes *ns, unsigned i);
/* Mounts the disk-fault filesystem over every node's data directory / unmounts them (the
 * nodes stopped first). */
int harness_nodes_mount_disks(struct harness_nodes *ns, char *errmsg);
void harness_nodes_unmount_disks(struct harness_nodes *ns);
/* Sets *seconds to the CPU time (utime+stime, every thread) used so far by the
 * started node processes, from /proc/<pid>/stat. Returns 0, or -1 when a node
 * is on a host, not running, or its stat cannot be read. */
int harness_nodes_cpu(const struct harness_nodes *ns, double *seconds);
/* Fills `ops` to act on these nodes (data = ns); membership is left NULL for the caller. */
void harness_nodes_ops(struct harness_nodes *ns, struct nemesis_node_ops *ops);

#endif
