/* client.h - the libuv client of the reference node: sessions, commands, queries, events,
 * membership (node/PROTOCOL.md "Client protocol"; dissertation §6.3, §6.4, §11.1.2).
 *
 * One `struct client` talks to one cluster over one TCP connection at a time.
 * It finds the leader (tries the addresses in turn, follows a `not_leader`
 * reply's `leader` hint, backs off on `no_leader`), registers a session when
 * the first command or query needs one, keeps it alive (a keepalive every
 * session timeout / 3 carrying command_ack and event_ack), pipelines many
 * requests, retries a command with the SAME (session, seq) after a dropped
 * connection or a leader change until an ok reply or its deadline, and
 * delivers session events once each, in order. A command given up without a
 * reply (reported UNKNOWN) keeps being resent with its seq in the background
 * until the node answers it, so the leader's hold of later seqs ends and
 * command_ack can pass it (at most CLIENT_GHOSTS_MAX such seqs per session).
 *
 * libuv style: the caller allocates `struct client` and every `struct
 * client_req`; client_init/client_close bracket the handle; a request's
 * callback is never called synchronously and never when the submitting call
 * returned an error. Command callbacks are called in submission order (a
 * command answered early waits for the earlier ones); queries and membership
 * requests complete as their replies arrive.
 *
 * Outcome classification (what workloads record as ok / fail / info):
 *
 *   CLIENT_OK       the request was carried out: a reply with "ok":true and,
 *                   for commands and queries, a state-machine result with
 *                   "ok":true.
 *   CLIENT_FAIL     definitely did NOT take effect:
 *                   - an ok reply whose result says "ok":false (cas_mismatch,
 *                     a refused op): req->error is the result's "error";
 *                   - unknown_session, bad_request, too_large (first attempt
 *                     or any attempt of a request that was never possibly
 *                     accepted; too_large with "applied":true is UNKNOWN:
 *                     the command took effect, its result was too large to
 *                     send); busy for membership requests;
 *                   - not_leader / no_leader after CLIENT_MAX_REDIRECTS hops
 *                     ("not_leader"), or the deadline passing while no attempt
 *                     may have been accepted ("timeout": never sent, or every
 *                     attempt answered not_leader/no_leader/busy), or the
 *                     client closing likewise ("closed").
 *   CLIENT_UNKNOWN  may or may not have taken effect (history: info): the
 *                   deadline passed after some attempt was sent ("timeout"),
 *                   the connection was lost after sending a membership
 *                   request ("connection_lost"), a "session_expired" reply to
 *                   a command (its session is gone; the command is not retried
 *                   in a new session), the client closed with the request
 *                   sent and unanswered ("closed"), or any of the FAIL errors
 *                   above arriving on a RETRY of a command whose earlier
 *                   attempt may have been accepted (timeout, shutting_down,
 *                   lost connection).
 *
 * Queries have no effect, so UNKNOWN for a query means only "no answer". */
#ifndef NODE_CLIENT_H
#define NODE_CLIENT_H

#include "common/buf.h"
#include "common/error.h"
#include "node/io/frame.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define CLIENT_ADDRS_MAX          16    /* addresses in a cluster list */
#define CLIENT_ADDR_MAX           262   /* bytes of one "host:port", with NUL */
#define CLIENT_MAX_REDIRECTS      32    /* not_leader/no_leader hops per request */
#define CLIENT_KEY_MAX            256   /* bytes of a string key (PROTOCOL.md "Limits") */
#define CLIENT_VALUE_MAX          65536 /* bytes of a value's compact JSON */
#define CLIENT_CONNECT_TIMEOUT_MS 1000  /* a TCP connect attempt is abandoned after this */

enum client_outcome { CLIENT_OK = 0, CLIENT_FAIL = 1, CLIENT_UNKNOWN = 2 };

enum client_consistency {
    CLIENT_LINEARIZABLE = 0,
    CLIENT_LEASE = 1,
    CLIENT_SEQUENTIAL = 2,
};

enum client_kind {
    CLIENT__COMMAND,
    CLIENT__QUERY,
    CLIENT__MEMBERS,
    CLIENT__JOIN,
    CLIENT__LEAVE,
    CLIENT__PROMOTE,
    CLIENT__DEMOTE,
};

struct client;
struct client_req;

/* Called once per request, from the loop, with the outcome fields filled in.
 * The req may be reused or freed inside the callback. */
typedef void (*client_req_cb)(struct client_req *req);
/* Called once per new session event (event_index above every one delivered
 * before, duplicates are dropped). `event` is borrowed for the call. Called
 * with event == NULL (and zero indexes) when the session was lost
 * (session_expired / unknown_session): its watches are gone. */
typedef void (*client_event_cb)(struct client *c, uint64_t event_index, uint64_t index,
                                const json_t *event, void *data);
typedef void (*client_close_cb)(struct client *c);

/* A request. Caller-allocated; set `data` and optionally `timeout_ms` before
 * submitting; read the outcome fields in the callback. */
struct client_req {
    void *data;          /* for the caller */
    uint64_t timeout_ms; /* deadline from submission; 0 = the client's op_timeout_ms */

    /* ==== outcome, valid during the callback ==== */
    enum client_outcome outcome;
    const char *error;    /* NULL on CLIENT_OK; a protocol/result code or local reason */
    const char *message;  /* human line, or NULL */
    uint64_t index;       /* log index of the reply (commands, queries, membership), or 0 */
    uint64_t seq;         /* command seq assigned (0: never sent) */
    const json_t *result; /* borrowed until the callback returns: the reply's "result"
                             (commands, queries) or the whole reply (members, join...) */

    /* ==== private ==== */
    struct client *c;
    client_req_cb cb;
    enum client_kind kind;
    json_t *msg; /* the request body without id/seq fields (own reference) */
    json_t *reply;
    struct client_req *prev, *next;
    uint64_t deadline;   /* uv_now() ms */
    uint64_t not_before; /* do not resend before (backoff) */
    uint64_t wire_id;    /* id of the latest send */
    uint64_t sent_gen;   /* connection generation of the latest send; 0 = none */
    uint64_t seq_hint;   /* queries: fixed at the first send */
    unsigned redirects;
    bool hinted; /* seq_hint fixed */
    bool ever_sent;
    bool maybe_applied; /* an earlier attempt may have been accepted */
    bool done;
    const char *why; /* local error when done without a reply */
};

struct client_config {
    const char *const *addrs; /* n_addrs "host:port" client addresses (copied) */
    size_t n_addrs;
    uint64_t session_timeout_ms; /* requested session timeout; 0 = 5000 */
    uint64_t op_timeout_ms;      /* default per-request deadline; 0 = 10000 */
    uint64_t backoff_ms;         /* first reconnect backoff, doubled to 200 ms; 0 = 50 */
    uint64_t tick_ms;            /* internal timer period; 0 = 20 */
    size_t max_pending;          /* bounded queue of unfinished requests; 0 = 4096 */
    size_t max_frame;            /* 0 = IO_FRAME_MAX_DEFAULT */
    /* Follower reads: each sequential query goes to the next address in turn
     * (the client reconnects before it when nothing else is in flight), so a
     * session reads from every node, not only the leader its commands
     * found. Off: queries go wherever the connection is. */
    bool sequential_rotate;
    client_event_cb on_event;    /* may be NULL */
    void *event_data;
};

struct client__conn;

/* A command given up without a reply: its seq is still resent in the
 * background until answered, so the leader's gap fills and command_ack can
 * pass it (PROTOCOL.md: every seq must eventually be sent). */
struct client__ghost {
    uint64_t seq, wire_id, sent_gen, not_before;
    json_t *msg; /* the command body without id/session/seq (own reference) */
};
#define CLIENT_GHOSTS_MAX 64

/* The client. Caller-allocated; every field is private except `data`. */
struct client {
    void *data;
    uv_loop_t *loop;
    char addrs[CLIENT_ADDRS_MAX][CLIENT_ADDR_MAX];
    size_t n_addrs, next_addr;
    char hint[CLIENT_ADDR_MAX]; /* leader hint to try next, "" = none */
    char conn_addr[CLIENT_ADDR_MAX]; /* the current (or last) connection's address */
    struct client_config cfg;
    uv_timer_t timer;
    struct client__conn *conn; /* current connection, or NULL */
    unsigned open_handles;     /* timer + connections not yet closed */
    uint64_t gen;              /* connection generation counter */
    uint64_t next_wire_id;
    uint64_t reconnect_at;
    uint64_t backoff;
    size_t hops; /* leader hints followed since the last ok reply */
    struct client_req *head, *tail;
    size_t n_pending;
    /* session */
    uint64_t session;         /* 0 = none */
    uint64_t session_timeout; /* effective (the register reply may clamp it) */
    uint64_t last_seq, command_ack, last_event, max_index;
    uint64_t gap_seq; /* lowest seq given up with no ghost left to resend it (caps command_ack) */
    struct client__ghost ghosts[CLIENT_GHOSTS_MAX]; /* ascending seq */
    size_t n_ghosts;
    uint64_t reg_id, ka_id; /* wire ids in flight on the current connection, 0 = none */
    uint64_t reg_sent_at, ka_sent_at, last_ka;
    bool ka_first;           /* send a keepalive before anything else on this connection */
    bool rotated;            /* the connection is for a follower read (sequential_rotate):
                                no keepalive first, a follower would redirect it */
    uint64_t events_dropped; /* duplicates discarded */
    bool closing;
    client_close_cb close_cb;
    char last_error[FL_ERRMSG_SIZE]; /* last connection problem, for messages */
    struct fl_buf wb; /* reused: the frame of a command or query being sent */
};

/* Initialises `c` on `loop` with `cfg` (addresses copied; cfg itself copied).
 * Starts no connection until a request needs one. Returns 0, FL_EUSAGE (no
 * address, too many, one malformed or over CLIENT_ADDR_MAX; errmsg names it)
 * or a libuv error. */
int client_init(struct client *c, uv_loop_t *loop, const struct client_config *cfg, char *errmsg);

/* Closes `c`: every unfinished request completes (CLIENT_FAIL "closed" if never
 * sent, CLIENT_UNKNOWN "closed" if sent and unanswered), then the handles close
 * and `cb` (may be NULL) is called; free `c` after that. The session is not
 * closed on the server: it expires after its timeout.
 * Safe to call from any callback; a second call is ignored. */
void client_close(struct client *c, client_close_cb cb);

/* Submits a state-machine command `op` (borrowed; the client takes its own
 * reference: do not modify op until the callback). Registers a session first
 * if there is none. The command gets the next seq when first sent and keeps it
 * on every retry. Returns 0, UV_EINVAL when closing or op is not an object
 * without "f", FL_ELIMIT when the key or value is over the documented limits
 * (checked before a seq is assigned), UV_ENOBUFS when max_pending requests
 * are unfinished. */
int client_command(struct client *c, struct client_req *req, const json_t *op, client_req_cb cb);

/* Submits a read-only query `op` (borrowed, as client_command) at
 * `consistency`; it carries the highest log index seen and seq_hint = the
 * highest seq sent when it is first sent. Same return codes. */
int client_query(struct client *c, struct client_req *req, const json_t *op,
                 enum client_consistency consistency, client_req_cb cb);

/* Asks the connected node for the membership (any node answers); result is
 * the whole reply ({"leader","term","members"}). No session needed. */
int client_members(struct client *c, struct client_req *req, client_req_cb cb);

/* Membership changes (leader only; no session needed). Strings are copied.
 * role: "passive" or "voter". A change whose connection is lost after sending
 * completes CLIENT_UNKNOWN "connection_lost" (not retried). Returns 0,
 * UV_EINVAL for a missing/oversized string or closing, UV_ENOBUFS. */
int client_join(struct client *c, struct client_req *req, const char *node, const char *peer,
                const char *client_addr, const char *role, client_req_cb cb);
int client_leave(struct client *c, struct client_req *req, const char *node, client_req_cb cb);
int client_promote(struct client *c, struct client_req *req, const char *node, client_req_cb cb);
int client_demote(struct client *c, struct client_req *req, const char *node, client_req_cb cb);

/* The current session id (0 = none), the highest log index seen, the number of
 * duplicate events discarded. */
uint64_t client_session(const struct client *c);
uint64_t client_max_index(const struct client *c);
/* The address of the current connection, or of the last one ("" before the
 * first): the node that answered a request completing now. Borrowed. */
const char *client_conn_addr(const struct client *c);
uint64_t client_events_dropped(const struct client *c);

/* The last connection problem seen ("connect: connection refused", "read:
 * end of file", ...), for messages; NULL when none. Borrowed from `c`. */
const char *client_last_error(const struct client *c);

/* Parses "linearizable" | "lease" | "sequential". Returns 0 or FL_EUSAGE. */
int client_consistency_parse(const char *s, enum client_consistency *out);

/* A static name for an outcome: "ok", "fail", "unknown". */
const char *client_outcome_name(enum client_outcome o);

#endif
