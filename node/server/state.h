/* state.h - the replicated server state: client sessions around a hosted state machine.
 *
 * Everything here is deterministic and is driven only by committed log
 * entries, so every replica (and every replay after a restart) reaches the
 * same sessions, response caches, event queues and state machine (Raft
 * dissertation §6.3; Copycat's sessions). No I/O, no clock.
 *
 * Log entries (the JSON payload of RAFT_COMMAND entries; "time" is the
 * leader's wall clock in ms when it appended the entry):
 *   {"t":"register","time":T,"timeout":ms}            -> {"ok":true,"session":INDEX}
 *   {"t":"keepalive","time":T,"session":S,"command_ack":n,"event_ack":m}
 *   {"t":"close","time":T,"session":S}
 *   {"t":"expire","time":T,"session":S}                (appended by the leader)
 *   {"t":"expire","time":T,"session":S,"evict":true}   (the leader's session limit: ends S
 *                                                       even if it was active since)
 *   {"t":"command","time":T,"session":S,"seq":n,"command_ack":a,"op":{...}}
 *                                                      (command_ack optional, 0 when absent)
 *   {"t":"address","time":T,"id":K,"peer":"h:p","client":"h:p"}  (a joining server)
 *
 * Commands of one session take effect exactly once and in sequence order:
 * an entry ahead of a gap is held until the gap fills (FIFO, §11.1.2 of the
 * dissertation); a duplicate is answered from the response cache, which the
 * client trims with command_ack. Events published by the state machine carry
 * the log index of the entry that published them (at most one per session
 * and entry) and are kept until the client acknowledges them with event_ack,
 * so any server can resend them after a reconnect. A command's command_ack
 * below its seq trims the cache as a keepalive's would, right after the
 * command takes effect (a duplicate's is ignored), so the cache stays small
 * while commands flow.
 *
 * Incremental compaction: an entry is reported released (see sm.h for the
 * rule) when replaying the log without it yields the same state: a command
 * once the state machine released it and its response was acknowledged or
 * its session ended; a keepalive once a later keepalive of its session was
 * applied; a register and its close or expiry once every other entry of the
 * ended session was released. Replaying only the entries never released
 * yields the same snapshot, except for session times, which are maxima of
 * entry times and only bound expiry (the leader never expires a session
 * sooner than one timeout after it took office). */
#ifndef NODE_SERVER_STATE_H
#define NODE_SERVER_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "node/sm/sm.h"

#define SERVER_SESSIONS_MAX     4096 /* open sessions: registrations past it are refused busy */
#define SERVER_SESSIONS_DEFAULT 1024 /* --max-sessions: past it the oldest idle is evicted */
#define SERVER_HELD_MAX         1024 /* commands held ahead of a gap, per session */
#define SERVER_RESPONSES_MAX    4096 /* cached responses not yet acknowledged, per session */
#define SERVER_EVENTS_MAX       4096 /* events not yet acknowledged, per session */
#define SERVER_TIMEOUT_MIN      500  /* ms, session timeout bounds */
#define SERVER_TIMEOUT_MAX      600000

/* What applying an entry tells the server hosting the state. Every callback
 * may be NULL; json arguments are borrowed (incref to keep). */
struct server_state_cb {
    void *data;
    /* The answer to the request carried by entry `index`: for a command,
     * session and seq name it (a held command completes when its gap fills,
     * a duplicate from the cache); for other entries seq is 0. */
    void (*complete)(void *data, uint64_t index, uint64_t session, uint64_t seq,
                     const json_t *result);
    /* A new event for `session`; event_index is the publishing entry's index. */
    void (*event)(void *data, uint64_t session, uint64_t event_index, const json_t *event);
    /* Entry `index` is no longer needed (incremental compaction). */
    void (*release)(void *data, uint64_t index);
    /* The session ended: closed by its client or expired. */
    void (*session_ended)(void *data, uint64_t session, bool expired);
};

struct server_session; /* private */
struct server_track;   /* private */
struct server_rq_item; /* private */

struct server_state {
    struct sm sm;
    struct server_session **sessions; /* sorted by id */
    unsigned n_sessions, cap_sessions;
    struct server_track *track; /* open-addressing map: entry index -> release bookkeeping */
    uint64_t track_n, track_cap;
    /* Release queue: tracked entries waiting only for the floor (a min-heap
     * by the index that must be passed), so an acknowledgement releases
     * what it frees without scanning every tracked entry. */
    struct server_rq_item *rq;
    uint64_t rq_n, rq_cap;
    /* floor_of() kept between acknowledgements: appending an answer or
     * event only lowers it from "none"; trimming marks it stale. */
    uint64_t floor;
    bool floor_stale;
    json_t *members;          /* address book: {"<id>": {"peer":..., "client":...}} */
    uint64_t members_version; /* bumped whenever the address book changes */
    uint64_t applied;         /* last index applied (entries and no-ops) */
    uint64_t last_time;       /* largest entry time seen */
    bool no_dedup;            /* planted bug: apply retried commands again */
};

/* Initialises an empty state hosting state machine `sm_name`. Returns 0,
 * FL_EUSAGE (unknown name, errmsg says so) or FL_ENOMEM. */
int server_state_init(struct server_state *s, const char *sm_name, char *errmsg);
void server_state_close(struct server_state *s);

/* Applies committed entry `index` (increasing, no gaps with apply_noop):
 * `data`/`len` (borrowed) is its payload. A malformed payload completes
 * with a bad_request result and changes nothing. Returns 0 or FL_ENOMEM
 * (the entry must then be applied again; nothing was half done). */
int server_state_apply(struct server_state *s, uint64_t index, const void *data, size_t len,
                       const struct server_state_cb *cb);
/* The same with the payload already parsed (`e` borrowed, NULL = not JSON):
 * the leader keeps the entries it built (node/server/server.c). */
int server_state_apply_json(struct server_state *s, uint64_t index, const json_t *e,
                            const struct server_state_cb *cb);
/* The same for a command entry given by its fields (`op` borrowed): the
 * leader applies the entries it wrote without reading them back. */
int server_state_apply_command(struct server_state *s, uint64_t index, uint64_t time,
                               uint64_t session, uint64_t seq, uint64_t ack, const json_t *op,
                               const struct server_state_cb *cb);
/* Appends the text of that command entry, in the form server_state_apply
 * reads without jansson (all but the op); `op` is the op's JSON text (an
 * object), `ack` 0 leaves command_ack out. Numbers below 2^63. */
void server_state_command_text(struct fl_buf *b, uint64_t time, uint64_t session, uint64_t seq,
                               uint64_t ack, const char *op, size_t op_len);
/* Applies a no-op or configuration entry: only advances the index. */
void server_state_apply_noop(struct server_state *s, uint64_t index);

/* Answers a read-only op from the state machine; *result is a new reference. */
int server_state_query(struct server_state *s, const json_t *op, json_t **result);
bool server_state_is_read_only(const struct server_state *s, const json_t *op);

/* Session facts for the server. Each returns false when the session is unknown. */
bool server_state_has_session(const struct server_state *s, uint64_t session);
/* Open (not ended) sessions. */
unsigned server_state_open_sessions(const struct server_state *s);
/* The open session idle the longest (oldest last entry time; the lower id on
 * a tie), skipping the `n_skip` ids in `skip` (evictions already on their
 * way); 0 when there is none. */
uint64_t server_state_oldest_idle(const struct server_state *s, const uint64_t *skip,
                                  unsigned n_skip);
/* Sessions whose last entry time, or `since_ms` (when the leader took
 * office) if later, is older than their timeout at wall time `now_ms`: the
 * leader appends an expire entry for each. Fills up to `max` ids and
 * returns how many. */
unsigned server_state_expired(const struct server_state *s, uint64_t now_ms, uint64_t since_ms,
                              uint64_t *ids, unsigned max);
/* Highest command seq the session acknowledged (0 when unknown). */
uint64_t server_state_command_ack(const struct server_state *s, uint64_t session);
/* Calls `fn` for each unacknowledged event of `session` after `after`, in order. */
void server_state_events(const struct server_state *s, uint64_t session, uint64_t after,
                         void (*fn)(void *data, uint64_t event_index, const json_t *event),
                         void *data);
/* The cached response of (session, seq) if still held: borrowed, or NULL. */
const json_t *server_state_response(const struct server_state *s, uint64_t session, uint64_t seq);
/* The next sequence number the session will apply (1 for a new session). */
uint64_t server_state_next_seq(const struct server_state *s, uint64_t session);

/* The addresses recorded for server `id` by an address entry (borrowed
 * strings, NULL when none). */
bool server_state_member(const struct server_state *s, uint64_t id, const char **peer,
                         const char **client);

/* Snapshot of sessions and state machine at the applied index: canonical
 * JSON appended to `out`. restore() replaces everything or, on error,
 * leaves the state untouched and explains in errmsg. */
int server_state_snapshot(struct server_state *s, struct fl_buf *out);
int server_state_restore(struct server_state *s, const char *bytes, size_t len, char *errmsg);

#endif
