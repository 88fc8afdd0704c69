/* server.h - faultline-node: the Raft core hosted over libuv, a durable log and a client protocol.
 *
 * One event loop thread does everything: peer transport (node/io/transport),
 * client connections (node/PROTOCOL.md, "Client protocol"), the Raft core
 * (node/raft), storage (node/io/log, meta, snapfile) and the replicated
 * server state (node/server/state). Persistence is group-committed: the
 * entries of every step in one loop iteration are written as they come and
 * made durable by one fdatasync at the end of the iteration, and the
 * messages those steps produced are sent only after it (the core's update
 * contract: a vote, an acknowledgement or the leader's own count never
 * leaves before the data behind it is durable). Nothing is acknowledged to
 * a client before its entry is committed, that is durable on a majority.
 *
 * Notable events are written as one JSON line each on stderr:
 *   {"ts_ms":...,"node":"n1","event":"role","state":"leader","term":3,...}
 * (events: start, recovery, role, membership, snapshot_taken,
 * snapshot_installed, compaction, shutdown, error). */
#ifndef NODE_SERVER_H
#define NODE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "node/raft/raft.h"

#define SERVER_ADDR_MAX 64
#define SERVER_PATH_MAX 512

/* Server-level planted bugs (raft_options.bugs covers the core's). */
#define SERVER_BUG_NO_DEDUP (1u << 0)         /* apply retried commands again */
#define SERVER_BUG_ACK_BEFORE_FSYNC (1u << 1) /* treat entries as durable before fdatasync */
/* a txn's reads answered from the leader's state when it proposes the entry,
 * not at the entry's position in the log (its writes still go through it) */
#define SERVER_BUG_TXN_EARLY_READS (1u << 2)
/* a sequential query served at once on whatever node gets it, without waiting
 * for the session's last seen index or its earlier commands (§6.4.1): a
 * lagging node answers a session with state older than it already saw */
#define SERVER_BUG_SEQUENTIAL_UNORDERED (1u << 3)

struct server_peer {
    uint64_t id; /* node "nK" has id K */
    char peer[SERVER_ADDR_MAX];
    char client[SERVER_ADDR_MAX];
    bool passive; /* starts as a passive member */
};

struct server_options {
    uint64_t id;
    char peer_listen[SERVER_ADDR_MAX];
    char client_listen[SERVER_ADDR_MAX];
    struct server_peer peers[RAFT_MAX_SERVERS]; /* the other initial members */
    unsigned n_peers;
    bool passive; /* this server starts as a passive member */
    bool join;    /* no bootstrap configuration: wait to be added by the leader */
    char data_dir[SERVER_PATH_MAX];
    char sm[16];       /* state machine: kv, counter, set, queue, txn */
    char cluster[65];  /* token checked in the peer hello */
    char secret_file[SERVER_PATH_MAX]; /* the cluster's secret key (node/io/auth.h); required */
    unsigned election_timeout_ms, heartbeat_ms;
    double lease_drift;
    uint64_t snapshot_threshold; /* entries applied between snapshots; 0: never */
    uint64_t snapshot_trailing;
    unsigned request_timeout_ms; /* a client request not answered by then gets "timeout" */
    unsigned hold_timeout_ms;    /* a command ahead of a gap is held at most this long */
    unsigned max_frame;
    unsigned max_sessions; /* open sessions before a registration evicts the oldest idle one */
    uint64_t segment_bytes; /* log segment size; 0: the log's default (8 MiB) */
    unsigned max_batch;     /* entries per AppendEntries; 0: the core's default (64) */
    unsigned raft_bugs;   /* RAFT_BUG_* */
    unsigned server_bugs; /* SERVER_BUG_* */
    bool quiet;           /* no JSON event lines */
    bool test_lose_unsynced; /* test hook: SIGUSR1 drops unsynced log bytes and exits 137,
                                as a power loss would (crash faults of the harness) */
};

/* Fills `o` with defaults (et 300 ms, heartbeat 50 ms, drift 0.1, kv,
 * snapshots every 4096 entries, request timeout 5 s, hold 1 s, 1 MiB frames). */
void server_options_default(struct server_options *o);

/* Parses "n2=HOST:PORT[/HOST:CPORT],n3=..." into o->peers. Without a client
 * address, the client port is the peer port + 1. Returns 0 or -1 with errmsg
 * naming the item. */
int server_parse_peers(struct server_options *o, const char *spec, char *errmsg);

/* Parses a node name "nK" (K in 1..1000000) into its id; 0 when malformed. */
uint64_t server_parse_name(const char *name);

/* Runs the server until SIGTERM or SIGINT (clean shutdown: stops accepting,
 * syncs, closes every handle). Returns 0, or a negative code with errmsg
 * (FL_ERRMSG_SIZE) when it could not start or storage failed. */
int server_run(const struct server_options *o, char *errmsg);

#endif
