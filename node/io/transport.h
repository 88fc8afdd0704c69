/* transport.h - the libuv TCP peer transport: framed Raft messages between the nodes of a cluster.
 *
 * A node listens on its peer address and dials every peer it knows: one
 * outbound connection per peer carries what this node sends; connections a
 * node accepts only receive. The first frame on a connection is a hello
 * {"type":"hello","from":<id>,"cluster":"<token>"} naming the sender; every
 * later frame is one Raft message (node/io/codec.h). Lost connections are
 * redialled with exponential backoff. Peers authenticate: the acceptor sends a
 * challenge {"type":"challenge","nonce":"<hex>"} first, and the dialler's
 * hello {"type":"hello","from":<id>,"to":<id>,"cluster":"<token>","mac":"<hex>"}
 * must carry the HMAC of that nonce under the cluster's secret key
 * (node/io/auth.h); nothing else is accepted before it. Each peer has a bounded send queue that
 * drops its oldest frames when full: Raft tolerates loss (§3.3), and a stale
 * heartbeat is worth less than a fresh one. Inbound frames over the maximum,
 * malformed frames or messages, a bad hello or a message whose `from` differs
 * from the hello close the connection. node/PROTOCOL.md documents the wire.
 *
 * Handle conventions follow libuv: io_transport_init opens handles on the
 * loop, io_transport_close closes them all and calls its callback (never
 * synchronously) once the last one is closed; only then may the struct be
 * freed. Callbacks run on the loop thread. */
#ifndef IO_TRANSPORT_H
#define IO_TRANSPORT_H

#include "node/io/auth.h"
#include "node/raft/raft.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define IO_TRANSPORT_CLUSTER_MAX 64 /* bytes of the cluster token, excluding the NUL */

struct io_transport;
struct io_peer;
struct io_conn;

/* Called for each message received; `m` and its buffers are borrowed for the
 * duration of the call (raft_message_copy to keep them). The callback may
 * send, add or remove peers, or close the transport. */
typedef void (*io_transport_recv_cb)(struct io_transport *t, const struct raft_message *m,
                                     void *data);
/* Called when an authenticated inbound connection from peer `id` is closed by
 * the peer or fails (not when we refuse it): its process may have died. */
typedef void (*io_transport_lost_cb)(struct io_transport *t, uint64_t id, void *data);
/* Called once every handle of the transport is closed; `t` may be freed then. */
typedef void (*io_transport_close_cb)(struct io_transport *t);
/* Called with a one-line description of a notable event (a peer connected or
 * lost, a connection refused and why). Optional. */
typedef void (*io_transport_log_cb)(struct io_transport *t, const char *msg, void *data);

struct io_transport_options {
    size_t max_frame;              /* largest frame body sent or received; 0 = 1 MiB */
    size_t max_queue;              /* bytes queued per peer before dropping the oldest; 0 = 8 MiB */
    unsigned backoff_min_ms;       /* first redial delay; 0 = 50 */
    unsigned backoff_max_ms;       /* redial delay cap (doubling); 0 = 1000 */
    unsigned connect_timeout_ms;   /* a dial not completed by then is retried; 0 = 2000 */
    unsigned write_timeout_ms;     /* unacknowledged data or a stalled write closes; 0 = 3000 */
    unsigned max_inbound;          /* accepted connections held at once; 0 = 64 */
    io_transport_log_cb log_cb;    /* NULL: silent */
    const struct io_auth_key *key; /* required: the cluster's secret (copied by init) */
    io_transport_lost_cb lost_cb;  /* NULL: not told */
};

struct io_transport_stats {
    uint64_t frames_sent;    /* frames handed to the kernel */
    uint64_t frames_dropped; /* dropped: queue full, or peer removed/closed with frames queued */
    uint64_t messages_received;
    uint64_t messages_misrouted; /* `to` was not this node: dropped */
    uint64_t connects;           /* outbound connections established */
    uint64_t inbound_refused;    /* inbound connections closed for bad input or a failed hello */
};

/* The transport. Caller allocates; every field is private. */
#define IO_TRANSPORT_READ_SIZE 65536 /* bytes per read */

struct io_transport {
    uv_loop_t *loop;
    uint64_t id;
    char cluster[IO_TRANSPORT_CLUSTER_MAX + 1];
    struct io_auth_key key;
    struct io_transport_options opt;
    io_transport_recv_cb recv_cb;
    void *data; /* the user's; passed to recv_cb and log_cb */
    uv_tcp_t listener;
    bool listening;
    struct io_peer *peers;
    struct io_conn *inbound;
    unsigned n_inbound;
    unsigned handles; /* open libuv handles */
    bool closing;
    io_transport_close_cb close_cb;
    struct io_transport_stats stats;
    /* One read buffer for every connection: a read is consumed (frames
     * parsed or copied by the decoder) before the next one starts. */
    unsigned char rbuf[IO_TRANSPORT_READ_SIZE];
};

/* Parses "a.b.c.d:port" or "[v6]:port" into *addr. Port 0 is accepted only
 * when `allow_port0` (listening on an ephemeral port). Returns 0, or
 * FL_EPARSE with a message naming the address in errmsg. */
int io_transport_parse_address(const char *s, bool allow_port0, struct sockaddr_storage *addr,
                               char *errmsg);

/* Initialises `t` for node `id` (> 0) of cluster `cluster` (a token both ends
 * must share, at most IO_TRANSPORT_CLUSTER_MAX bytes; copied) on `loop`, with
 * options `o` (required for its key; copied, zero fields = defaults). recv_cb
 * (required) receives each message with `data`. Opens the listening handle
 * (not yet bound). Returns 0, FL_EUSAGE (no key, a bad id or token), or a
 * negative errno (nothing to close then). */
int io_transport_init(struct io_transport *t, uv_loop_t *loop, uint64_t id, const char *cluster,
                      const struct io_transport_options *o, io_transport_recv_cb recv_cb,
                      void *data);

/* Binds and listens on `address` ("host:port"; port 0 picks a free port,
 * see io_transport_port). Returns 0 or a negative errno with errmsg set. */
int io_transport_listen(struct io_transport *t, const char *address, char *errmsg);

/* Returns the port the transport listens on, or a negative errno. */
int io_transport_port(const struct io_transport *t);

/* Adds peer `id` at `address` ("host:port"; copied) and starts dialling it.
 * Returns 0, FL_EUSAGE (id is 0, this node, already a peer, or the transport
 * is closing) or FL_EPARSE (bad address), with errmsg set. */
int io_transport_add_peer(struct io_transport *t, uint64_t id, const char *address, char *errmsg);

/* Removes peer `id`: closes its outbound connection and drops its queue.
 * Connections it opened to us stay until it closes them. Returns 0 or
 * UV_ENOENT when `id` is not a peer. */
int io_transport_remove_peer(struct io_transport *t, uint64_t id);

/* Returns true when `id` is a peer. */
bool io_transport_has_peer(const struct io_transport *t, uint64_t id);

/* Encodes `m` (borrowed; copied into a frame) and queues it for peer m->to,
 * dropping the peer's oldest frames if the queue is over max_queue; sends
 * once connected. Returns 0 (queued: delivery is not guaranteed), UV_ENOENT
 * (m->to is not a peer), FL_ELIMIT (frame over max_frame, refused),
 * FL_ESHAPE, FL_ENOMEM, or FL_EUSAGE while closing. */
int io_transport_send(struct io_transport *t, const struct raft_message *m);

/* Returns true when the outbound connection to `id` is established. */
bool io_transport_connected(const struct io_transport *t, uint64_t id);

/* Closes every connection, timer and the listener; `cb` (may be NULL) runs
 * once all are closed, never synchronously. recv_cb is not called again.
 * Queued frames are dropped. A second call does nothing. */
void io_transport_close(struct io_transport *t, io_transport_close_cb cb);

#endif
