/* raft.h - a pure Raft state machine: events in, an update out (no I/O, no clock).
 *
 * Modelled on cowsql/raft's raft_step(). The caller owns all I/O: it feeds
 * events (start, message received, tick with the node-local time in ms,
 * entries persisted, snapshot taken, submit, read, membership change,
 * leadership transfer) and carries out the update each step returns.
 *
 * The update contract (see also node/raft/README.md), in this order:
 *   1. if `snapshot` is set, persist it and restore the state machine from it;
 *   2. persist the hard state (if `hard_state`) and the entries (truncate the
 *      stored log from `entries_index`, then append `entries`);
 *   3. only after 1 and 2 are durable, send `messages` and feed RAFT_PERSISTED
 *      with the index and term of the last entry (or snapshot) written.
 *      Requests (append, vote, snapshot, timeout_now) may leave before the
 *      entries are durable: the leader writes in parallel with its followers
 *      (§10.2.1) and counts itself only on RAFT_PERSISTED; results (append,
 *      vote and snapshot results) must wait, they promise durability;
 *   4. apply committed entries apply_first..apply_last (raft_entry_at());
 *   5. then serve `reads` (each names the index that must be applied first,
 *      which step 4 has done) and take a snapshot if `snapshot_take` != 0.
 * Everything an update points to is owned by the raft struct and valid until
 * the next raft_step() or raft_close(): copy what you keep (raft_message_copy).
 */
#ifndef RAFT_H
#define RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"

#define RAFT_MAX_SERVERS 16

/* Error codes (negative, far from errno and FL_E*). */
#define RAFT_ENOTLEADER  (-20001) /* request needs the leader */
#define RAFT_EBUSY       (-20002) /* a change or transfer is already in progress */
#define RAFT_EINVAL      (-20003) /* malformed event or message */
#define RAFT_ENOMEM      (-20004) /* allocation failed; the struct stays usable */
#define RAFT_ELEADERSHIP (-20005) /* leadership lost before the request completed */

/* Planted bugs for demonstrations (raft_options.bugs). Off by default. */
#define RAFT_BUG_COMMIT_OLD_TERM    (1u << 0) /* count replicas for old-term entries */
#define RAFT_BUG_LOCAL_READS        (1u << 1) /* serve reads without ReadIndex or lease */
#define RAFT_BUG_LEASE_NO_DRIFT     (1u << 2) /* lease lasts the full election timeout */
#define RAFT_BUG_NO_PREVOTE         (1u << 3) /* ignore pre_vote and stickiness */
#define RAFT_BUG_VOTE_NOT_PERSISTED (1u << 4) /* grant a vote without persisting it */

enum raft_role { RAFT_VOTER = 1, RAFT_PASSIVE, RAFT_RESERVE, RAFT_REMOVED };
enum raft_state { RAFT_FOLLOWER = 1, RAFT_PRECANDIDATE, RAFT_CANDIDATE, RAFT_LEADER };

struct raft_server {
    uint64_t id;
    int role; /* enum raft_role */
};

struct raft_configuration {
    unsigned n;
    struct raft_server servers[RAFT_MAX_SERVERS];
};

/* A reference-counted immutable byte buffer; entries and snapshot chunks
 * share these instead of copying. raft_buf_new returns a new reference. */
struct raft_buf {
    uint32_t refs;
    uint32_t len;
    unsigned char data[];
};

struct raft_buf *raft_buf_new(const void *data, size_t len);
void raft_buf_ref(struct raft_buf *b);
void raft_buf_unref(struct raft_buf *b);

enum raft_entry_type { RAFT_COMMAND = 1, RAFT_NOOP, RAFT_CHANGE };

/* A log entry. `buf` is a reference held by whoever holds the entry (NULL for
 * RAFT_NOOP); a RAFT_CHANGE entry's buf holds an encoded configuration. */
struct raft_entry {
    uint64_t term;
    int type;
    struct raft_buf *buf;
};

enum raft_message_type {
    RAFT_APPEND = 1,
    RAFT_APPEND_RESULT,
    RAFT_VOTE,
    RAFT_VOTE_RESULT,
    RAFT_SNAPSHOT,
    RAFT_SNAPSHOT_RESULT,
    RAFT_TIMEOUT_NOW,
};

struct raft_message {
    int type; /* enum raft_message_type */
    uint64_t from, to, term;
    union {
        struct {
            uint64_t prev_index, prev_term, commit, round;
            uint64_t leader; /* differs from `from` for gossip to passive members */
            unsigned n;
            struct raft_entry *entries;
        } append;
        struct {
            bool success;
            uint64_t index;      /* success: last index matched; failure: rejected prev */
            uint64_t last_index; /* receiver's last log index */
            uint64_t conflict_term, conflict_index; /* fast backtracking hint (§5.3 fig) */
            uint64_t round;
        } append_result;
        struct {
            uint64_t last_index, last_term;
            bool pre;      /* pre-vote (§9.6): term is the proposed one, not adopted */
            bool transfer; /* leadership transfer: bypass stickiness (§3.10) */
        } vote;
        struct {
            bool granted, pre;
        } vote_result;
        struct {
            uint64_t index, term, conf_index, offset, round;
            struct raft_configuration conf;
            struct raft_buf *chunk;
            bool done;
        } snapshot;
        struct {
            uint64_t index, next_offset, round;
            bool done;
        } snapshot_result;
    };
};

#define RAFT_VALUE_MAX     (UINT64_C(1) << 62) /* terms and indexes accepted from a peer */
#define RAFT_TERM_JUMP_MAX (UINT64_C(1) << 32) /* a term further above ours is refused */

/* Checks a received message's numbers against what a correct peer can send
 * to `r` (borrowed): terms and indexes at most RAFT_VALUE_MAX (so term + 1
 * and index + 1 always fit the wire), a term at most RAFT_TERM_JUMP_MAX above
 * ours, entry and snapshot terms not above the message's term, a match index
 * within our log and an echoed round we sent (in our term). Returns NULL when
 * the message is acceptable, else a static "field: reason" string. RAFT_RECEIVE
 * refuses such a message with RAFT_EINVAL; callers call this first to log why. */
struct raft;
const char *raft_message_check(const struct raft *r, const struct raft_message *m);

/* Copies src into dst, taking new references on buffers (dst owns them);
 * returns 0 or RAFT_ENOMEM. raft_message_release drops what dst owns. */
int raft_message_copy(struct raft_message *dst, const struct raft_message *src);
void raft_message_release(struct raft_message *m);

enum raft_event_type {
    RAFT_START = 1,
    RAFT_RECEIVE,
    RAFT_TICK,
    RAFT_PERSISTED,
    RAFT_SNAPSHOT_TAKEN,
    RAFT_SUBMIT,
    RAFT_READ,
    RAFT_CHANGE_CONF,
    RAFT_TRANSFER,
    RAFT_PEER_DOWN,
};

enum raft_read_mode { RAFT_READ_INDEX = 1, RAFT_READ_LEASE };

struct raft_event {
    int type;      /* enum raft_event_type */
    uint64_t time; /* node-local monotonic time in ms; must never go backwards */
    union {
        struct {
            uint64_t term, vote;
            /* persisted snapshot (index 0 = none); data borrowed */
            uint64_t snap_index, snap_term, snap_conf_index;
            struct raft_configuration snap_conf;
            struct raft_buf *snap_data;
            /* persisted entries snap_index+1 .. snap_index+n; borrowed (refs taken) */
            unsigned n;
            const struct raft_entry *entries;
            /* configuration when the log holds none and there is no snapshot */
            const struct raft_configuration *bootstrap;
        } start;
        struct {
            const struct raft_message *msg; /* borrowed */
        } receive;
        struct {
            uint64_t index, term; /* last entry (or snapshot) durably written */
        } persisted;
        struct {
            uint64_t index;        /* as asked by update.snapshot_take */
            struct raft_buf *data; /* borrowed: the core takes its own reference */
        } snapshot_taken;
        struct {
            unsigned n;
            struct raft_buf *const *bufs; /* borrowed: the core takes references */
        } submit;
        struct {
            uint64_t id;
            int mode; /* enum raft_read_mode */
            /* n > 0: the reads ids[0..n) instead of id, all of this mode,
             * confirmed by one heartbeat round (reads that arrived together). */
            unsigned n;
            const uint64_t *ids; /* borrowed */
        } read;
        struct {
            uint64_t id;
            int role; /* enum raft_role; RAFT_REMOVED removes */
        } change;
        struct {
            uint64_t id; /* 0: pick the most up-to-date voter */
        } transfer;
        struct {
            uint64_t id; /* a peer whose connection to us was closed (its process died?) */
        } peer_down;
    };
};

struct raft_read {
    uint64_t id;
    uint64_t index; /* serve once entries up to here are applied */
    int status;     /* 0 or RAFT_ELEADERSHIP / RAFT_ENOTLEADER */
};

struct raft_snapshot_install {
    uint64_t index, term, conf_index;
    struct raft_configuration conf;
    struct raft_buf *data; /* borrowed */
};

struct raft_update {
    bool hard_state; /* persist term and vote */
    uint64_t term, vote;
    uint64_t entries_index; /* truncate stored log from here, then append */
    unsigned n_entries;
    const struct raft_entry *entries;
    const struct raft_snapshot_install *snapshot;
    uint64_t apply_first, apply_last; /* apply_first > apply_last: nothing */
    uint64_t snapshot_take;           /* 0: none */
    unsigned n_messages;
    struct raft_message *messages;
    unsigned n_reads;
    struct raft_read *reads;
    uint64_t submit_index; /* index given to the first submitted entry */
    bool state_changed;    /* role, term or leader changed */
};

struct raft_options {
    unsigned election_timeout;   /* ms; timers are uniform in [et, 2et) */
    unsigned heartbeat_interval; /* ms */
    double drift_bound;          /* lease = et * (1 - drift_bound) */
    unsigned max_batch;          /* entries per append message */
    unsigned max_inflight;       /* entries sent but unacknowledged per follower */
    uint64_t snapshot_threshold; /* 0: never ask for snapshots */
    uint64_t snapshot_trailing;  /* entries kept after a snapshot */
    unsigned snapshot_chunk;     /* bytes per install chunk */
    bool pre_vote;
    bool check_quorum;
    unsigned bugs; /* RAFT_BUG_* */
};

/* Fills `o` with defaults: et 150 ms, heartbeat 30 ms, drift 0.1, batch 64,
 * inflight 1024, no snapshots, pre-vote and check-quorum on, no bugs. */
void raft_options_default(struct raft_options *o);

struct raft_progress {
    uint64_t next, match;
    uint64_t last_contact; /* local ms of the last response in this term */
    uint64_t round;        /* highest heartbeat round acknowledged */
    uint64_t snap_offset;  /* bytes of the snapshot acknowledged */
    uint64_t sent_at;      /* time of the last message sent */
    bool probing;          /* after a rejection: one message per heartbeat */
    bool snapshotting;
};

struct raft_pending_read {
    uint64_t id, index, round;
};

#define RAFT_ROUNDS 64

/* The state of one server. Caller allocates; every field is private. */
struct raft {
    uint64_t id;
    struct raft_options opt;
    struct fl_rng rng;
    uint64_t now;

    /* Hard state and role. */
    uint64_t term, vote, hs_vote;
    int state;
    uint64_t leader;
    bool hs_dirty;

    /* Log in memory: entries log_start..log_start+log_n-1; log_prev_term is
     * the term of log_start-1. The snapshot may overlap the log (trailing). */
    struct raft_entry *log;
    uint64_t log_n, log_cap, log_start, log_prev_term;
    uint64_t snap_index, snap_term, snap_conf_index;
    struct raft_configuration snap_conf;
    struct raft_buf *snap_data;
    uint64_t persisted_index;
    uint64_t commit, applied;

    /* Configuration in effect (the latest in the log) and its index. */
    struct raft_configuration conf;
    uint64_t conf_index;

    /* Timers (local ms). */
    uint64_t election_deadline, heartbeat_deadline, quorum_deadline;
    uint64_t last_leader_contact;
    bool heard_leader;

    /* Candidate. */
    uint64_t votes[RAFT_MAX_SERVERS];
    unsigned n_votes;
    bool transfer_election;

    /* Leader. */
    struct raft_progress prog[RAFT_MAX_SERVERS];
    uint64_t round, round_sent[RAFT_ROUNDS], term_first_round, quorum_round;
    uint64_t lease_until;
    uint64_t lease_blocked_until; /* no lease before this: a transfer's election may be running */
    uint64_t transfer_to, transfer_deadline;
    struct raft_pending_read *reads;
    unsigned n_reads, reads_cap;

    /* Gossip to passive members (Copycat): progress of assigned members. */
    struct raft_progress gossip[RAFT_MAX_SERVERS];

    /* Snapshot being received. */
    struct raft_buf *rx_snap;
    uint64_t rx_index, rx_term;

    /* Output under construction. */
    struct raft_update up;
    struct raft_message *msgs;
    unsigned n_msgs, msgs_cap;
    struct raft_read *ready;
    unsigned n_ready, ready_cap;
    struct raft_entry **msg_entries; /* entry arrays owned by messages */
    unsigned n_msg_entries, msg_entries_cap;
    uint64_t dirty_from; /* lowest index changed since the last update, 0 none */
    struct raft_snapshot_install install;
    uint64_t snapshot_asked;

    /* Counters for tests. */
    uint64_t stat_elections, stat_disruptions;
};

/* Initialises `r` for server `id` with options `o` (copied; NULL = defaults)
 * and the rng seeded with `seed`. The server is inert until RAFT_START. */
int raft_init(struct raft *r, uint64_t id, const struct raft_options *o, uint64_t seed);

/* Releases everything `r` holds, including the last update's contents. */
void raft_close(struct raft *r);

/* Feeds one event and fills `up` with what the caller must do (contract at the
 * top of this file). Returns 0, or a negative code when the event is refused
 * (RAFT_ENOTLEADER, RAFT_EBUSY, RAFT_EINVAL, RAFT_ENOMEM); `up` is valid and
 * must be carried out in every case. */
int raft_step(struct raft *r, const struct raft_event *ev, struct raft_update *up);

/* Accessors. raft_entry_at returns a borrowed pointer valid until the next
 * step, or NULL when the index is not in memory (compacted or beyond the end). */
uint64_t raft_last_index(const struct raft *r);
uint64_t raft_last_term(const struct raft *r);
uint64_t raft_term_at(const struct raft *r, uint64_t index); /* 0 if unknown */
const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index);
uint64_t raft_commit_index(const struct raft *r);
/* Applied index: what a follower reports for sequential reads (§6.4.1). */
uint64_t raft_applied_index(const struct raft *r);
const struct raft_configuration *raft_configuration(const struct raft *r);
int raft_role_of(const struct raft_configuration *c, uint64_t id);

/* Encodes/decodes a configuration into a buffer for RAFT_CHANGE entries. */
struct raft_buf *raft_configuration_encode(const struct raft_configuration *c);
int raft_configuration_decode(const struct raft_buf *b, struct raft_configuration *c);

#endif
