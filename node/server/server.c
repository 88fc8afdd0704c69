/* server.c - faultline-node: hosts the Raft core over libuv, the durable log and the client
 * protocol. */
#include "node/server/server.h"
#include "node/server/request.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "node/io/auth.h"
#include "node/io/codec.h"
#include "node/io/frame.h"
#include "node/io/log.h"
#include "node/io/meta.h"
#include "node/io/snapfile.h"
#include "node/io/transport.h"
#include "node/server/state.h"

#define PENDING_MAX    20000 /* client requests in progress, all kinds */
#define PENDING_HASH   4096  /* buckets of the pending lookup (a power of two) */
#define PENDING_SPARE  1024  /* freed pendings kept for reuse */
#define BUILT_MAX      1024  /* parsed entries kept for their apply (a ring) */
#define HELD_MAX       1024  /* commands held ahead of a gap, per session */
#define SUBMIT_BATCH   256   /* commands submitted to the core in one step */
#define CONN_WRITE_MAX (8u << 20)
#define SNAPSHOT_CHUNK (256u << 10)

/* ==== Types ==== */

struct server;

struct conn {
    uv_tcp_t tcp;
    struct server *srv;
    struct io_frame_decoder dec;
    struct conn *prev, *next;
    uint64_t session; /* events of this session are pushed here */
    bool closing;
};

enum pending_kind { P_ENTRY = 1, P_COMMAND, P_READ };

/* A client request waiting for the log or for a read to be served. Every
 * pending is on the server's list; a command is also found by (session,
 * seq), an entry by its index and a read by its read id through the hash
 * (complete_cb and reads_ready look up instead of scanning), and a read
 * whose read index is confirmed waits on the ready list (serve_reads). */
struct pending {
    struct pending *next, *prev;
    struct pending *hnext;         /* hash chain */
    struct pending *rnext, *rprev; /* ready reads */
    bool hashed, on_ready, in_flush;
    uint64_t hkey;
    struct conn *conn; /* NULL once the connection is gone */
    uint64_t req_id;
    int kind;
    uint64_t index, term;  /* P_ENTRY: the entry that answers it */
    uint64_t session, seq; /* P_COMMAND */
    json_t *op;            /* P_READ */
    json_t *early;         /* P_COMMAND under txn-early-reads: the result the txn got when proposed */
    uint64_t read_id, min_index, seq_hint;
    bool queued; /* P_COMMAND: its entry waits in the submit batch (struct server sq_*) */
    uint64_t deadline;
    uint64_t change_id; /* P_ENTRY of a join: the change to propose once committed */
    int change_role;
};

/* A command that arrived ahead of a gap in its session's sequence. */
struct held {
    uint64_t seq, ack, deadline;
    struct conn *conn;
    uint64_t req_id;
    json_t *op;
};

struct hold {
    struct hold *next;
    uint64_t session, expected; /* next seq to submit */
    struct held *held;
    unsigned n, cap;
};

struct flush_frame {
    struct pending **p;
    unsigned n;
    struct flush_frame *up;
};

struct deferred_change {
    uint64_t id;
    int role;
    struct pending *p;
};

struct server {
    struct server_options o;
    char name[24];
    uv_loop_t loop;
    uv_timer_t tick;
    uv_idle_t flush_idle;
    /* Commands arriving in one loop iteration go into the log as one batch
     * (one core step, one append message per follower, one log write):
     * flushed by submit_check after the iteration's reads, or before any
     * other entry is submitted so the log keeps the arrival order. */
    uv_check_t submit_check;
    struct raft_buf *sq_bufs[SUBMIT_BATCH];
    struct pending *sq_p[SUBMIT_BATCH]; /* NULL once freed while queued */
    unsigned sq_n;
    /* The batches being stepped (flush_submits, innermost first): their
     * pendings are set to NULL there when freed meanwhile. */
    struct flush_frame *flushing;
    /* ReadIndex ([0]) and lease ([1]) reads of this loop iteration. */
    struct read_queue {
        uint64_t ids[SUBMIT_BATCH];
        unsigned n;
    } rq[2];
    /* The leader applies the command entries it built without parsing
     * their text again: each buffer submitted (a reference held, so its
     * address is not reused) with its fields, in submission order. */
    struct built {
        struct raft_buf *b;
        json_t *op;
        uint64_t time, session, seq, ack;
    } built[BUILT_MAX];
    unsigned built_head, built_n;
    struct fl_buf ebuf;  /* reused: an entry's text before it is copied into a raft_buf */
    struct fl_buf opbuf; /* reused: an op's text when the client's is not at hand */
    struct fl_buf obuf;  /* reused: a reply's frame before it is written */
    uv_signal_t sigterm, sigint, sigusr1;
    uv_tcp_t client_listener;
    struct io_transport tr;
    struct raft raft;
    struct server_state st;
    struct io_log log;
    char log_dir[SERVER_PATH_MAX + 8];
    struct conn *conns;
    struct pending *pending;
    unsigned n_pending;
    struct pending *phash[PENDING_HASH];
    struct pending *ready, *ready_tail; /* reads to serve once applied, FIFO */
    struct pending *spare;              /* freed pendings for reuse (via next) */
    unsigned n_spare;
    struct hold *holds;
    uint64_t next_read_id;
    /* Group commit. */
    bool unsynced;
    uint64_t p_index, p_term;
    struct raft_message *held_msgs;
    unsigned n_held_msgs, cap_held_msgs;
    /* The sync in flight on the thread pool: what it makes durable (up to
     * sync_index/sync_term) and the messages that wait for it. */
    bool syncing;
    uv_work_t sync_work;
    struct io_log_sync_job sync_job;
    uint64_t sync_index, sync_term;
    struct raft_message *sync_msgs;
    unsigned n_sync_msgs;
    /* Steps requested while an update is being carried out. */
    struct deferred_change deferred[16];
    unsigned n_deferred;
    bool in_update;
    /* Bookkeeping. */
    uint64_t leader_since_wall;
    uint64_t last_conf_index, last_members_version;
    bool conf_seen;
    uint64_t last_maintenance;
    uint64_t expire_sent[64];
    uint64_t expire_sent_at[64];
    /* Evictions for the session limit appended but perhaps not applied yet. */
    uint64_t evict_sent[16];
    uint64_t evict_sent_at[16];
    unsigned evict_next;
    bool stopping;
    int fatal;
    char fatal_msg[FL_ERRMSG_SIZE];
    uint64_t released_since_compaction;
    bool log_open;
    uint64_t bug_sync_at;
    /* Peer messages refused (bounds or membership), logged at most once a second. */
    uint64_t refused_msgs, refused_logged, refused_log_at;
    const char *refused_why; /* the reason last logged (a static string) */
    /* One read buffer for every client connection: a read is consumed
     * (frames handled or copied by the decoder) before the next starts. */
    char rbuf[65536];
};

/* ==== Small helpers ==== */

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_ms(struct server *s)
{
    return uv_now(&s->loop);
}

/* Writes one JSON event line on stderr; `extra` (stolen) adds fields. */
static void log_event(struct server *s, const char *event, json_t *extra)
{
    if (s->o.quiet) {
        json_decref(extra);
        return;
    }
    json_t *o =
        json_pack("{s:I,s:s,s:s}", "ts_ms", (json_int_t)wall_ms(), "node", s->name, "event", event);
    if (o != NULL && extra != NULL)
        json_object_update(o, extra);
    json_decref(extra);
    char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    if (text != NULL) {
        fprintf(stderr, "%s\n", text);
        fflush(stderr);
    }
    free(text);
    json_decref(o);
}

static void fatal(struct server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fatal(struct server *s, const char *fmt, ...)
{
    if (s->fatal != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->fatal_msg, sizeof s->fatal_msg, fmt, ap);
    va_end(ap);
    s->fatal = -EIO;
    log_event(s, "error", json_pack("{s:s}", "message", s->fatal_msg));
    uv_stop(&s->loop);
}

static const char *state_name(int st)
{
    switch (st) {
    case RAFT_LEADER:
        return "leader";
    case RAFT_CANDIDATE:
        return "candidate";
    case RAFT_PRECANDIDATE:
        return "precandidate";
    default:
        return "follower";
    }
}

static const char *role_name(int role)
{
    switch (role) {
    case RAFT_VOTER:
        return "voter";
    case RAFT_PASSIVE:
        return "passive";
    case RAFT_RESERVE:
        return "reserve";
    default:
        return "removed";
    }
}

/* Addresses of server `id`: the initial members from the options, then the
 * replicated address book (joins). */
static bool addresses_of(struct server *s, uint64_t id, const char **peer, const char **client)
{
    if (id == s->o.id) {
        *peer = s->o.peer_listen;
        *client = s->o.client_listen;
        return true;
    }
    for (unsigned i = 0; i < s->o.n_peers; i++)
        if (s->o.peers[i].id == id) {
            *peer = s->o.peers[i].peer;
            *client = s->o.peers[i].client;
            return true;
        }
    return server_state_member(&s->st, id, peer, client);
}

/* ==== Client connections: writing ==== */

struct write_req {
    uv_write_t req;
    unsigned char *data;
};

static void on_written(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    (void)status;
    fl_free(w->data);
    fl_free(w);
}

static void conn_close(struct conn *c);

/* Sends a whole frame (`data`, borrowed). Written at once when nothing is
 * queued (no request, no epoll change, no allocation: one write syscall);
 * what the socket does not take is copied and goes through uv_write. */
static void conn_send_copy(struct conn *c, const unsigned char *data, size_t len)
{
    uv_stream_t *st = (uv_stream_t *)&c->tcp;
    size_t off = 0;
    if (uv_stream_get_write_queue_size(st) == 0) {
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
        int n = uv_try_write(st, &b, 1);
        if (n == (int)len)
            return;
        if (n > 0)
            off = (size_t)n;
        else if (n != UV_EAGAIN) {
            conn_close(c);
            return;
        }
    } else if (uv_stream_get_write_queue_size(st) > CONN_WRITE_MAX) {
        /* A client that does not read its replies loses its connection. */
        conn_close(c);
        return;
    }
    struct write_req *w = fl_malloc(sizeof *w);
    unsigned char *rest = w != NULL ? fl_malloc(len - off) : NULL;
    if (rest == NULL) {
        fl_free(w);
        conn_close(c);
        return;
    }
    memcpy(rest, data + off, len - off);
    w->data = rest;
    uv_buf_t b = uv_buf_init((char *)rest, (unsigned)(len - off));
    if (uv_write(&w->req, st, &b, 1, on_written) != 0) {
        fl_free(rest);
        fl_free(w);
        conn_close(c);
    }
}

/* As conn_send_copy, `data` fl_malloc'd and stolen. */
static void conn_send_bytes(struct conn *c, unsigned char *data, size_t len)
{
    conn_send_copy(c, data, len);
    fl_free(data);
}

static void reply_too_large(struct conn *c, uint64_t id, bool applied);

static void conn_send(struct conn *c, json_t *msg /* stolen */)
{
    if (c == NULL || c->closing) {
        json_decref(msg);
        return;
    }
    char err[FL_ERRMSG_SIZE];
    unsigned char *data = NULL;
    size_t len = 0;
    int rv = msg != NULL ? io_frame_encode(msg, c->srv->o.max_frame, &data, &len, err) : FL_ENOMEM;
    /* A reply over the max frame becomes a too_large error the client can act
     * on (the connection stays); anything else that cannot be sent closes it. */
    const char *type = json_string_value(json_object_get(msg, "type"));
    json_t *jid = json_object_get(msg, "id");
    bool reply = rv == FL_ELIMIT && type != NULL && strcmp(type, "reply") == 0 &&
                 json_is_integer(jid) && json_integer_value(jid) >= 0;
    uint64_t id = reply ? (uint64_t)json_integer_value(jid) : 0;
    bool ok = json_is_true(json_object_get(msg, "ok")); /* may have taken effect */
    json_decref(msg);
    if (reply) {
        reply_too_large(c, id, ok);
        return;
    }
    if (rv != 0) {
        conn_close(c);
        return;
    }
    conn_send_bytes(c, data, len);
}

/* The error reply for a reply that would exceed the max frame; `applied`
 * when the request took effect (a command): its outcome is then unknown to
 * the client, not failed. */
static void reply_too_large(struct conn *c, uint64_t id, bool applied)
{
    char text[256];
    size_t max = c->srv->o.max_frame ? c->srv->o.max_frame : IO_FRAME_MAX_DEFAULT;
    int n = snprintf(text + IO_FRAME_HEADER, sizeof text - IO_FRAME_HEADER,
                     "{\"type\":\"reply\",\"id\":%" PRIu64
                     ",\"ok\":false,\"error\":\"too_large\",\"applied\":%s,\"message\":\"the "
                     "reply would exceed the max frame of %zu bytes\"}",
                     id, applied ? "true" : "false", max);
    unsigned char *data = n > 0 && (size_t)n < sizeof text - IO_FRAME_HEADER
                              ? fl_malloc((size_t)n + IO_FRAME_HEADER)
                              : NULL;
    if (data == NULL || (size_t)n > max) {
        fl_free(data);
        conn_close(c);
        return;
    }
    memcpy(data + IO_FRAME_HEADER, text + IO_FRAME_HEADER, (size_t)n);
    io_frame_put_header(data, (uint32_t)n);
    conn_send_bytes(c, data, (size_t)n + IO_FRAME_HEADER);
}

static int buf_dump_cb(const char *text, size_t n, void *data)
{
    fl_buf_append(data, text, n);
    return 0;
}

/* The hot replies (a command's outcome, a read's result) written as text:
 * {"type":"reply","id":ID,"ok":true,"index":INDEX,"result":RESULT}, the
 * same bytes as reply_ok with those fields, without building the object. */
static void reply_result(struct conn *c, uint64_t id, uint64_t index, const json_t *result,
                         bool applied)
{
    if (c == NULL || c->closing)
        return;
    struct fl_buf *b = &c->srv->obuf; /* reused: no allocation per reply */
    fl_buf_reset(b);
    fl_buf_append(b, "\0\0\0\0", IO_FRAME_HEADER);
    fl_buf_puts(b, "{\"type\":\"reply\",\"id\":");
    fl_buf_put_u64(b, id);
    fl_buf_puts(b, ",\"ok\":true,\"index\":");
    fl_buf_put_u64(b, index);
    fl_buf_puts(b, ",\"result\":");
    if (json_dump_callback(result, buf_dump_cb, b, JSON_COMPACT | JSON_ENCODE_ANY) != 0)
        b->oom = true;
    fl_buf_append(b, "}", 1);
    size_t body = b->len - IO_FRAME_HEADER;
    size_t max = c->srv->o.max_frame ? c->srv->o.max_frame : IO_FRAME_MAX_DEFAULT;
    if (b->oom) {
        fl_buf_free(b); /* clears oom for the next reply */
        conn_close(c);
        return;
    }
    if (body > max || body > UINT32_MAX) {
        reply_too_large(c, id, applied);
        return;
    }
    io_frame_put_header((unsigned char *)b->data, (uint32_t)body);
    conn_send_copy(c, (const unsigned char *)b->data, b->len);
    if (b->cap > 65536)
        fl_buf_free(b); /* a large result's buffer is not kept */
}

static void reply_ok(struct conn *c, uint64_t id, json_t *fields /* stolen, may be NULL */)
{
    json_t *r = json_pack("{s:s,s:I,s:b}", "type", "reply", "id", (json_int_t)id, "ok", 1);
    if (r != NULL && fields != NULL)
        json_object_update(r, fields);
    json_decref(fields);
    conn_send(c, r);
}

static void reply_err(struct server *s, struct conn *c, uint64_t id, const char *error,
                      const char *message)
{
    json_t *r = json_pack("{s:s,s:I,s:b,s:s,s:s}", "type", "reply", "id", (json_int_t)id, "ok", 0,
                          "error", error, "message", message);
    if (r != NULL && strcmp(error, "not_leader") == 0) {
        const char *peer, *client;
        uint64_t l = s->raft.leader;
        if (l != 0 && l != s->o.id && addresses_of(s, l, &peer, &client))
            json_object_set_new(r, "leader", json_string(client));
    }
    conn_send(c, r);
}

/* not_leader with the leader's address, or no_leader when none is known. */
static void reply_redirect(struct server *s, struct conn *c, uint64_t id)
{
    if (s->raft.leader != 0 && s->raft.leader != s->o.id)
        reply_err(s, c, id, "not_leader", "this node is not the leader");
    else
        reply_err(s, c, id, "no_leader", "no leader is known; retry later");
}

/* ==== Pending requests ==== */

static uint64_t pending_hkey(int kind, uint64_t a, uint64_t b)
{
    uint64_t h = (a + (uint64_t)kind * 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
    return (h ^ (h >> 31) ^ b) * 0x94d049bb133111ebull;
}

static struct pending **pending_bucket(struct server *s, uint64_t hkey)
{
    return &s->phash[(hkey >> 32) & (PENDING_HASH - 1)];
}

static void pending_unhash(struct server *s, struct pending *p)
{
    if (!p->hashed)
        return;
    struct pending **pp = pending_bucket(s, p->hkey);
    while (*pp != NULL && *pp != p)
        pp = &(*pp)->hnext;
    if (*pp == p)
        *pp = p->hnext;
    p->hashed = false;
}

/* Files `p` under its key (a command's session and seq, an entry's index, a
 * read's id), to be called again when the key changes. */
static void pending_rehash(struct server *s, struct pending *p)
{
    pending_unhash(s, p);
    uint64_t a = p->kind == P_COMMAND ? p->session : 0;
    uint64_t b = p->kind == P_COMMAND ? p->seq : p->kind == P_ENTRY ? p->index : p->read_id;
    p->hkey = pending_hkey(p->kind, a, b);
    struct pending **pp = pending_bucket(s, p->hkey);
    p->hnext = *pp;
    *pp = p;
    p->hashed = true;
}

/* The first pending filed under the key of (kind, a, b); the chain may hold
 * others of other keys: callers check the fields. */
static struct pending *pending_chain(struct server *s, int kind, uint64_t a, uint64_t b,
                                     uint64_t *hkey)
{
    *hkey = pending_hkey(kind, a, b);
    return *pending_bucket(s, *hkey);
}

static void ready_add(struct server *s, struct pending *p)
{
    if (p->on_ready)
        return;
    p->on_ready = true;
    p->rnext = NULL;
    p->rprev = s->ready_tail;
    if (s->ready_tail != NULL)
        s->ready_tail->rnext = p;
    else
        s->ready = p;
    s->ready_tail = p;
}

static void ready_del(struct server *s, struct pending *p)
{
    if (!p->on_ready)
        return;
    if (p->rprev != NULL)
        p->rprev->rnext = p->rnext;
    else
        s->ready = p->rnext;
    if (p->rnext != NULL)
        p->rnext->rprev = p->rprev;
    else
        s->ready_tail = p->rprev;
    p->on_ready = false;
}

static struct pending *pending_new(struct server *s, struct conn *c, uint64_t req_id, int kind)
{
    if (s->n_pending >= PENDING_MAX)
        return NULL;
    struct pending *p = s->spare;
    if (p != NULL) {
        s->spare = p->next;
        s->n_spare--;
        memset(p, 0, sizeof *p);
    } else {
        p = fl_calloc(1, sizeof *p);
        if (p == NULL)
            return NULL;
    }
    p->conn = c;
    p->req_id = req_id;
    p->kind = kind;
    p->deadline = now_ms(s) + s->o.request_timeout_ms;
    p->next = s->pending;
    if (s->pending != NULL)
        s->pending->prev = p;
    s->pending = p;
    s->n_pending++;
    return p;
}

static void pending_free(struct server *s, struct pending *p)
{
    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        s->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    s->n_pending--;
    pending_unhash(s, p);
    ready_del(s, p);
    if (p->queued)
        for (unsigned i = 0; i < s->sq_n; i++)
            if (s->sq_p[i] == p)
                s->sq_p[i] = NULL;
    if (p->in_flush)
        for (struct flush_frame *f = s->flushing; f != NULL; f = f->up)
            for (unsigned i = 0; i < f->n; i++)
                if (f->p[i] == p)
                    f->p[i] = NULL;
    json_decref(p->op);
    json_decref(p->early);
    if (s->n_spare < PENDING_SPARE) {
        p->next = s->spare;
        s->spare = p;
        s->n_spare++;
    } else {
        fl_free(p);
    }
}

/* ==== Raft steps ==== */

static void handle_update(struct server *s, struct raft_update *up);
static void run_deferred(struct server *s);
struct built;
static bool built_take(struct server *s, const struct raft_buf *b, struct built *out);
static void built_clear(struct server *s);

/* Feeds one event to the core and carries out its update. Returns the
 * core's code; *submit_index (optional) gets the first submitted index. */
static int step(struct server *s, struct raft_event *ev, uint64_t *submit_index)
{
    struct raft_update up;
    ev->time = now_ms(s);
    int rv = raft_step(&s->raft, ev, &up);
    if (submit_index != NULL)
        *submit_index = up.submit_index;
    bool nested = s->in_update;
    s->in_update = true;
    handle_update(s, &up);
    s->in_update = nested;
    if (!nested)
        run_deferred(s);
    return rv;
}

static bool is_leader(struct server *s);

/* Submits the queued commands as one batch; each command whose batch the
 * core refuses is answered (not_leader with a hint, or busy). */
static void flush_submits(struct server *s)
{
    unsigned n = s->sq_n;
    if (n == 0)
        return;
    s->sq_n = 0;
    struct raft_buf *bufs[SUBMIT_BATCH];
    struct pending *ps[SUBMIT_BATCH];
    memcpy(bufs, s->sq_bufs, n * sizeof bufs[0]);
    memcpy(ps, s->sq_p, n * sizeof ps[0]);
    for (unsigned i = 0; i < n; i++)
        if (ps[i] != NULL) {
            ps[i]->queued = false;
            ps[i]->in_flush = true;
        }
    struct raft_event ev = {.type = RAFT_SUBMIT};
    ev.submit.n = n;
    ev.submit.bufs = bufs;
    /* The step may free pendings (lost leadership answers them): those
     * are set to NULL in ps through the frame. */
    struct flush_frame frame = {.p = ps, .n = n, .up = s->flushing};
    s->flushing = &frame;
    int rv = step(s, &ev, NULL);
    s->flushing = frame.up;
    for (unsigned i = 0; i < n; i++) {
        raft_buf_unref(bufs[i]);
        if (ps[i] != NULL)
            ps[i]->in_flush = false;
    }
    if (rv == 0)
        return;
    built_clear(s); /* refused: these entries will never be applied */
    for (unsigned i = 0; i < n; i++) {
        if (ps[i] == NULL)
            continue;
        if (rv == RAFT_ENOTLEADER)
            reply_redirect(s, ps[i]->conn, ps[i]->req_id);
        else
            reply_err(s, ps[i]->conn, ps[i]->req_id, "busy", "the entry could not be submitted");
        pending_free(s, ps[i]);
    }
}

/* Steps the queued reads of `mode` as one event; when the core refuses
 * them, each still waiting is answered (not_leader with a hint). */
static void flush_reads(struct server *s, int mode)
{
    struct read_queue *q = &s->rq[mode == RAFT_READ_LEASE];
    unsigned n = q->n;
    if (n == 0)
        return;
    uint64_t ids[SUBMIT_BATCH];
    memcpy(ids, q->ids, n * sizeof ids[0]);
    q->n = 0;
    struct raft_event ev = {.type = RAFT_READ};
    ev.read.mode = mode;
    ev.read.n = n;
    ev.read.ids = ids;
    if (step(s, &ev, NULL) == 0)
        return;
    for (unsigned i = 0; i < n; i++) {
        uint64_t hkey;
        for (struct pending *p = pending_chain(s, P_READ, 0, ids[i], &hkey); p != NULL;
             p = p->hnext)
            if (p->hkey == hkey && p->kind == P_READ && p->read_id == ids[i]) {
                reply_redirect(s, p->conn, p->req_id);
                pending_free(s, p);
                break;
            }
    }
}

static void on_submit_check(uv_check_t *h)
{
    struct server *s = h->data;
    uv_check_stop(h);
    flush_submits(s);
    flush_reads(s, RAFT_READ_INDEX);
    flush_reads(s, RAFT_READ_LEASE);
}

static int submit_entry(struct server *s, json_t *entry /* stolen */, uint64_t *index,
                        uint64_t *term)
{
    flush_submits(s);
    char *text = entry != NULL ? json_dumps(entry, JSON_COMPACT) : NULL;
    json_decref(entry);
    if (text == NULL)
        return FL_ENOMEM;
    struct raft_buf *b = raft_buf_new(text, strlen(text));
    free(text);
    if (b == NULL)
        return FL_ENOMEM;
    struct raft_event ev = {.type = RAFT_SUBMIT};
    ev.submit.n = 1;
    ev.submit.bufs = &b;
    uint64_t idx = 0;
    int rv = step(s, &ev, &idx);
    raft_buf_unref(b);
    if (rv == 0) {
        *index = idx;
        *term = s->raft.term;
    }
    return rv;
}

/* ==== Applying committed entries ==== */

static void complete_cb(void *data, uint64_t index, uint64_t session, uint64_t seq,
                        const json_t *result)
{
    struct server *s = data;
    uint64_t hkey;
    struct pending *first = seq != 0 ? pending_chain(s, P_COMMAND, session, seq, &hkey)
                                     : pending_chain(s, P_ENTRY, 0, index, &hkey);
    for (struct pending *p = first, *next; p != NULL; p = next) {
        next = p->hnext;
        bool match = false;
        if (p->hkey != hkey)
            continue;
        if (p->kind == P_COMMAND && seq != 0)
            match = p->session == session && p->seq == seq;
        else if (p->kind == P_ENTRY && seq == 0)
            match = p->index == index && raft_term_at(&s->raft, index) == p->term;
        if (!match)
            continue;
        bool ok = json_is_true(json_object_get(result, "ok"));
        if (p->kind == P_ENTRY && p->change_id != 0) {
            /* A join's address is recorded: now propose the configuration change. */
            if (ok && s->n_deferred < 16) {
                s->deferred[s->n_deferred++] =
                    (struct deferred_change){.id = p->change_id, .role = p->change_role, .p = p};
                p->change_id = 0;
                continue;
            }
        }
        const char *error = json_string_value(json_object_get(result, "error"));
        if (p->kind == P_COMMAND && !ok && error != NULL && strcmp(error, "unknown_session") == 0) {
            /* Not a state machine outcome: the session ended. The client
             * decides whether an earlier attempt may have taken effect. */
            reply_err(s, p->conn, p->req_id, "unknown_session",
                      "no such session (expired or closed)");
        } else if (p->kind == P_COMMAND) {
            /* The planted bug txn-early-reads: the txn took effect here, but
             * the client is told what it read back when it was proposed. */
            const json_t *r =
                ok && json_is_true(json_object_get(p->early, "ok")) ? p->early : result;
            reply_result(p->conn, p->req_id, index, r, true);
        } else if (ok) {
            json_t *f = json_deep_copy(result);
            json_object_del(f, "ok");
            json_object_set_new(f, "index", json_integer((json_int_t)index));
            reply_ok(p->conn, p->req_id, f);
        } else {
            const char *e = json_string_value(json_object_get(result, "error"));
            const char *m = json_string_value(json_object_get(result, "message"));
            reply_err(s, p->conn, p->req_id, e ? e : "bad_request", m ? m : "refused");
        }
        pending_free(s, p);
    }
}

static void event_cb(void *data, uint64_t session, uint64_t event_index, const json_t *event)
{
    struct server *s = data;
    for (struct conn *c = s->conns; c != NULL; c = c->next)
        if (c->session == session)
            conn_send(c, json_pack("{s:s,s:I,s:I,s:I,s:O}", "type", "event", "session",
                                   (json_int_t)session, "event_index", (json_int_t)event_index,
                                   "index", (json_int_t)event_index, "event", event));
}

static void release_cb(void *data, uint64_t index)
{
    struct server *s = data;
    io_log_release(&s->log, index);
    s->released_since_compaction++;
}

static void session_ended_cb(void *data, uint64_t session, bool expired)
{
    struct server *s = data;
    for (struct hold **hp = &s->holds; *hp != NULL; hp = &(*hp)->next)
        if ((*hp)->session == session) {
            struct hold *h = *hp;
            for (unsigned i = 0; i < h->n; i++) {
                reply_err(s, h->held[i].conn, h->held[i].req_id,
                          expired ? "session_expired" : "unknown_session", "the session ended");
                json_decref(h->held[i].op);
            }
            *hp = h->next;
            fl_free(h->held);
            fl_free(h);
            break;
        }
    log_event(s, "session_end",
              json_pack("{s:I,s:b}", "session", (json_int_t)session, "expired", expired));
}


static void apply_range(struct server *s, uint64_t first, uint64_t last)
{
    struct server_state_cb cb = {.data = s,
                                 .complete = complete_cb,
                                 .event = event_cb,
                                 .release = release_cb,
                                 .session_ended = session_ended_cb};
    for (uint64_t i = first; i <= last && s->fatal == 0; i++) {
        const struct raft_entry *e = raft_entry_at(&s->raft, i);
        if (e == NULL) {
            fatal(s, "apply: entry %" PRIu64 " is not in memory", i);
            return;
        }
        if (e->type == RAFT_COMMAND && e->buf != NULL) {
            struct built x = {0};
            int rv = s->built_n > 0 && built_take(s, e->buf, &x)
                         ? server_state_apply_command(&s->st, i, x.time, x.session, x.seq, x.ack,
                                                      x.op, &cb)
                         : server_state_apply(&s->st, i, e->buf->data, e->buf->len, &cb);
            json_decref(x.op); /* taken: its reference is ours */
            if (rv != 0)
                fatal(s, "apply: entry %" PRIu64 ": %s", i, fl_strerror(rv));
        } else {
            server_state_apply_noop(&s->st, i);
        }
    }
}

/* ==== Reads ==== */

static void serve_reads(struct server *s)
{
    for (struct pending *p = s->ready, *next; p != NULL; p = next) {
        next = p->rnext;
        if (s->st.applied < p->min_index)
            continue;
        if (p->seq_hint != 0 && server_state_next_seq(&s->st, p->session) <= p->seq_hint &&
            server_state_has_session(&s->st, p->session))
            continue; /* FIFO: the session's earlier command is not applied here yet */
        json_t *result = NULL;
        int rv = server_state_query(&s->st, p->op, &result);
        if (rv != 0)
            reply_err(s, p->conn, p->req_id, "bad_request", "op: not a read-only operation");
        else
            reply_result(p->conn, p->req_id, s->st.applied, result, false);
        json_decref(result);
        pending_free(s, p);
    }
}

static void reads_ready(struct server *s, const struct raft_read *reads, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t hkey;
        for (struct pending *p = pending_chain(s, P_READ, 0, reads[i].id, &hkey); p != NULL;
             p = p->hnext) {
            if (p->hkey != hkey || p->kind != P_READ || p->read_id != reads[i].id)
                continue;
            if (reads[i].status != 0) {
                reply_err(s, p->conn, p->req_id, "not_leader", "leadership lost before the read");
                pending_free(s, p);
            } else {
                if (reads[i].index > p->min_index)
                    p->min_index = reads[i].index;
                ready_add(s, p);
            }
            break;
        }
    }
}

/* ==== Snapshots ==== */

static void take_snapshot(struct server *s, uint64_t index)
{
    char err[FL_ERRMSG_SIZE];
    struct fl_buf b;
    fl_buf_init(&b);
    if (s->st.applied != index) {
        fl_buf_free(&b);
        return; /* asked for an index we are not at: skip this one */
    }
    if (server_state_snapshot(&s->st, &b) != 0 || b.oom) {
        fl_buf_free(&b);
        fatal(s, "snapshot: out of memory");
        return;
    }
    struct raft_buf *data = raft_buf_new(b.data, b.len);
    fl_buf_free(&b);
    if (data == NULL) {
        fatal(s, "snapshot: out of memory");
        return;
    }
    struct raft_event ev = {.type = RAFT_SNAPSHOT_TAKEN};
    ev.snapshot_taken.index = index;
    ev.snapshot_taken.data = data;
    if (step(s, &ev, NULL) != 0) {
        raft_buf_unref(data);
        return;
    }
    struct io_snapfile f = {.index = s->raft.snap_index,
                            .term = s->raft.snap_term,
                            .conf_index = s->raft.snap_conf_index,
                            .conf = s->raft.snap_conf,
                            .data = data};
    if (io_snapfile_write(s->o.data_dir, &f, err) != 0) {
        raft_buf_unref(data);
        fatal(s, "snapshot: %s", err);
        return;
    }
    uint64_t before = io_log_bytes(&s->log);
    /* The log is needed from the core's first entry in memory on. */
    if (s->raft.log_start > 1 && io_log_compact_prefix(&s->log, s->raft.log_start - 1, err) != 0)
        log_event(s, "error", json_pack("{s:s}", "message", err));
    log_event(s, "snapshot_taken",
              json_pack("{s:I,s:I,s:I,s:I}", "index", (json_int_t)index, "bytes",
                        (json_int_t)data->len, "log_bytes_before", (json_int_t)before,
                        "log_bytes_after", (json_int_t)io_log_bytes(&s->log)));
    raft_buf_unref(data);
}

static void install_snapshot(struct server *s, const struct raft_snapshot_install *in)
{
    char err[FL_ERRMSG_SIZE];
    const char *bytes = in->data != NULL ? (const char *)in->data->data : "";
    size_t len = in->data != NULL ? in->data->len : 0;
    if (server_state_restore(&s->st, bytes, len, err) != 0) {
        fatal(s, "install snapshot %" PRIu64 ": %s", in->index, err);
        return;
    }
    s->st.applied = in->index;
    struct io_snapfile f = {.index = in->index,
                            .term = in->term,
                            .conf_index = in->conf_index,
                            .conf = in->conf,
                            .data = in->data};
    if (io_snapfile_write(s->o.data_dir, &f, err) != 0) {
        fatal(s, "install snapshot: %s", err);
        return;
    }
    if (io_log_last_index(&s->log) > 0 && io_log_truncate(&s->log, 1, err) != 0) {
        fatal(s, "install snapshot: %s", err);
        return;
    }
    log_event(s, "snapshot_installed",
              json_pack("{s:I,s:I,s:I}", "index", (json_int_t)in->index, "term",
                        (json_int_t)in->term, "bytes", (json_int_t)len));
}

/* ==== Membership: keep the transport's peers equal to the configuration ==== */

static void sync_peers(struct server *s)
{
    const struct raft_configuration *c = raft_configuration(&s->raft);
    bool changed = !s->conf_seen || s->raft.conf_index != s->last_conf_index;
    /* A joined server's address may be applied after its configuration entry
     * was appended: a new address is a reason to look again too. */
    if (!changed && s->st.members_version == s->last_members_version)
        return;
    s->conf_seen = true;
    s->last_conf_index = s->raft.conf_index;
    s->last_members_version = s->st.members_version;
    char err[FL_ERRMSG_SIZE];
    json_t *members = changed ? json_array() : NULL;
    for (unsigned i = 0; i < c->n; i++) {
        uint64_t id = c->servers[i].id;
        char name[24];
        snprintf(name, sizeof name, "n%" PRIu64, id);
        if (members != NULL)
            json_array_append_new(
                members, json_pack("{s:s,s:s}", "id", name, "role", role_name(c->servers[i].role)));
        if (id == s->o.id || c->servers[i].role == RAFT_RESERVE)
            continue;
        const char *peer, *client;
        if (!io_transport_has_peer(&s->tr, id) && addresses_of(s, id, &peer, &client) &&
            io_transport_add_peer(&s->tr, id, peer, err) != 0)
            log_event(s, "error", json_pack("{s:s}", "message", err));
    }
    /* A joining node (--join) not yet in its configuration must still answer the
     * leader (and relaying voters): keep outbound connections to every --peers address
     * until it learns a configuration that holds it. */
    bool joining = s->o.join && raft_role_of(c, s->o.id) == RAFT_REMOVED;
    /* Drop peers no longer in the configuration (known ids are small). */
    for (unsigned i = 0; i < s->o.n_peers; i++) {
        uint64_t id = s->o.peers[i].id;
        if (joining) {
            if (!io_transport_has_peer(&s->tr, id) &&
                io_transport_add_peer(&s->tr, id, s->o.peers[i].peer, err) != 0)
                log_event(s, "error", json_pack("{s:s}", "message", err));
        } else if (raft_role_of(c, id) == RAFT_REMOVED && io_transport_has_peer(&s->tr, id)) {
            io_transport_remove_peer(&s->tr, id);
        }
    }
    if (members != NULL)
        log_event(s, "membership",
                  json_pack("{s:I,s:o}", "conf_index", (json_int_t)s->raft.conf_index, "members",
                            members));
}

/* ==== The update contract ==== */

/* Only acknowledgements wait for the fdatasync: they promise the sender that
 * our log (or vote, saved synchronously before) is durable. A leader's
 * appends go out at once, so its own write overlaps the followers' (Raft
 * §10.2.1): it counts itself only once RAFT_PERSISTED arrives. */
static bool needs_durability(const struct raft_message *m)
{
    return m->type == RAFT_APPEND_RESULT || m->type == RAFT_VOTE_RESULT ||
           m->type == RAFT_SNAPSHOT_RESULT;
}

static void send_or_hold(struct server *s, const struct raft_message *m)
{
    /* While a sync is in flight, what it covers is not durable yet either. */
    bool hold = (s->unsynced || s->syncing) && needs_durability(m) &&
                !(s->o.server_bugs & SERVER_BUG_ACK_BEFORE_FSYNC);
    if (!hold) {
        io_transport_send(&s->tr, m);
        return;
    }
    if (s->n_held_msgs == s->cap_held_msgs) {
        unsigned cap = s->cap_held_msgs ? s->cap_held_msgs * 2 : 64;
        struct raft_message *a = fl_reallocarray(s->held_msgs, cap, sizeof *a);
        if (a == NULL)
            return; /* dropped: Raft tolerates message loss */
        s->held_msgs = a;
        s->cap_held_msgs = cap;
    }
    if (raft_message_copy(&s->held_msgs[s->n_held_msgs], m) == 0)
        s->n_held_msgs++;
}

static void fail_holds(struct server *s);
static void on_flush(uv_idle_t *h);

/* A node that stops leading answers what waits on its log at once instead
 * of at the request timeout: its entries may still commit under the next
 * leader, so the outcome is unknown ("timeout"); the client retries
 * elsewhere (a command with the same seq, so it applies once). */
static void answer_lost_leadership(struct server *s)
{
    for (struct pending *p = s->pending, *next; p != NULL; p = next) {
        next = p->next;
        if (p->kind == P_READ)
            continue; /* the core fails ReadIndex reads; sequential ones need no leader */
        reply_err(s, p->conn, p->req_id, "timeout",
                  "leadership lost before the entry committed; outcome unknown");
        pending_free(s, p);
    }
}

static void arm_flush(struct server *s)
{
    uv_idle_start(&s->flush_idle, on_flush);
}

static void handle_update(struct server *s, struct raft_update *up)
{
    char err[FL_ERRMSG_SIZE];
    if (s->fatal != 0)
        return;
    if (up->snapshot != NULL)
        install_snapshot(s, up->snapshot);
    if (up->hard_state) {
        struct io_meta m = {.term = up->term, .vote = up->vote};
        if (io_meta_save(s->o.data_dir, &m, err) != 0) {
            fatal(s, "hard state: %s", err);
            return;
        }
    }
    if (up->entries_index != 0) {
        if (io_log_last_index(&s->log) >= up->entries_index &&
            io_log_truncate(&s->log, up->entries_index, err) != 0) {
            fatal(s, "log truncate: %s", err);
            return;
        }
        if (up->n_entries > 0) {
            if (io_log_append(&s->log, up->entries_index, up->entries, up->n_entries, err) != 0) {
                fatal(s, "log append: %s", err);
                return;
            }
            s->unsynced = true;
            s->p_index = up->entries_index + up->n_entries - 1;
            s->p_term = up->entries[up->n_entries - 1].term;
        }
    }
    if (up->snapshot != NULL && !s->unsynced) {
        /* The snapshot is durable already: tell the core. */
        s->unsynced = true;
        s->p_index = up->snapshot->index;
        s->p_term = up->snapshot->term;
        if (up->n_entries > 0) {
            s->p_index = up->entries_index + up->n_entries - 1;
            s->p_term = up->entries[up->n_entries - 1].term;
        }
    }
    for (unsigned i = 0; i < up->n_messages; i++)
        send_or_hold(s, &up->messages[i]);
    if (up->apply_first <= up->apply_last)
        apply_range(s, up->apply_first, up->apply_last);
    if (up->n_reads > 0)
        reads_ready(s, up->reads, up->n_reads);
    serve_reads(s);
    sync_peers(s);
    if (up->state_changed) {
        const char *peer, *client;
        bool known = s->raft.leader != 0 && addresses_of(s, s->raft.leader, &peer, &client);
        char leader[24];
        snprintf(leader, sizeof leader, "n%" PRIu64, s->raft.leader);
        log_event(s, "role",
                  json_pack("{s:s,s:I,s:s?}", "state", state_name(s->raft.state), "term",
                            (json_int_t)s->raft.term, "leader", known ? leader : NULL));
        if (s->raft.state == RAFT_LEADER) {
            s->leader_since_wall = wall_ms();
        } else {
            fail_holds(s);
            answer_lost_leadership(s);
            built_clear(s);
        }
    }
    if (s->unsynced)
        arm_flush(s);
    if (up->snapshot_take != 0)
        take_snapshot(s, up->snapshot_take);
}

/* Sends the messages `msgs` (n of them, owned) and frees them. */
static void send_all(struct server *s, struct raft_message *msgs, unsigned n, bool send)
{
    for (unsigned i = 0; i < n; i++) {
        if (send)
            io_transport_send(&s->tr, &msgs[i]);
        raft_message_release(&msgs[i]);
    }
    fl_free(msgs);
}

static void on_sync_work(uv_work_t *w)
{
    struct server *s = w->data;
    io_log_sync_run(&s->sync_job); /* touches the job only: the loop goes on */
}

/* The sync is done: its messages go out, the core learns what is durable,
 * and the next sync starts if anything was written meanwhile. */
static void on_sync_done(uv_work_t *w, int status)
{
    struct server *s = w->data;
    char err[FL_ERRMSG_SIZE];
    (void)status; /* never cancelled */
    s->syncing = false;
    int rv = io_log_sync_end(&s->log, &s->sync_job, err);
    struct raft_message *msgs = s->sync_msgs;
    unsigned n = s->n_sync_msgs;
    s->sync_msgs = NULL;
    s->n_sync_msgs = 0;
    bool live = rv == 0 && s->fatal == 0 && !s->stopping;
    send_all(s, msgs, n, live);
    if (rv != 0) {
        fatal(s, "log sync: %s", err);
        return;
    }
    if (!live)
        return;
    struct raft_event ev = {.type = RAFT_PERSISTED};
    ev.persisted.index = s->sync_index;
    ev.persisted.term = s->sync_term;
    step(s, &ev, NULL);
    /* Held during the sync with nothing written since it began: they only
     * needed what it made durable. */
    if (!s->unsynced && !s->syncing && s->n_held_msgs > 0) {
        msgs = s->held_msgs;
        n = s->n_held_msgs;
        s->held_msgs = NULL;
        s->n_held_msgs = s->cap_held_msgs = 0;
        send_all(s, msgs, n, true);
    }
    if (s->unsynced)
        arm_flush(s);
}

/* Group commit: one fdatasync for everything written since the last one
 * began, on the thread pool, so the loop goes on reading requests and
 * appending (and the leader replicating) while the disk syncs; then the
 * messages that waited for it, then RAFT_PERSISTED (on_sync_done). At most
 * one sync is in flight; what is written meanwhile goes into the next. */
static void on_flush(uv_idle_t *h)
{
    struct server *s = h->data;
    char err[FL_ERRMSG_SIZE];
    uv_idle_stop(h);
    if (!s->unsynced || s->fatal != 0 || s->syncing)
        return; /* a sync in flight: on_sync_done starts the next one */
    /* Planted bug: entries count as durable once written to the OS; the
     * fdatasync comes later, every 100 ms (maintenance), so a power loss
     * (the disk faults' lose-unsynced, or the test hook) loses acks. */
    if (s->o.server_bugs & SERVER_BUG_ACK_BEFORE_FSYNC) {
        if (io_log_write(&s->log, err) != 0) {
            fatal(s, "log write: %s", err);
            return;
        }
        s->unsynced = false;
        unsigned n = s->n_held_msgs;
        struct raft_message *msgs = s->held_msgs;
        s->held_msgs = NULL;
        s->n_held_msgs = s->cap_held_msgs = 0;
        send_all(s, msgs, n, true);
        struct raft_event ev = {.type = RAFT_PERSISTED};
        ev.persisted.index = s->p_index;
        ev.persisted.term = s->p_term;
        step(s, &ev, NULL);
        return;
    }
    if (io_log_sync_begin(&s->log, &s->sync_job, err) != 0) {
        fatal(s, "log sync: %s", err);
        return;
    }
    s->unsynced = false;
    s->syncing = true;
    s->sync_index = s->p_index;
    s->sync_term = s->p_term;
    s->sync_msgs = s->held_msgs;
    s->n_sync_msgs = s->n_held_msgs;
    s->held_msgs = NULL;
    s->n_held_msgs = s->cap_held_msgs = 0;
    s->sync_work.data = s;
    if (uv_queue_work(&s->loop, &s->sync_work, on_sync_work, on_sync_done) != 0) {
        on_sync_work(&s->sync_work); /* no thread pool: sync here */
        on_sync_done(&s->sync_work, 0);
    }
}

static void run_deferred(struct server *s)
{
    while (s->n_deferred > 0) {
        struct deferred_change d = s->deferred[0];
        memmove(&s->deferred[0], &s->deferred[1], (s->n_deferred - 1) * sizeof s->deferred[0]);
        s->n_deferred--;
        struct raft_event ev = {.type = RAFT_CHANGE_CONF};
        ev.change.id = d.id;
        ev.change.role = d.role;
        int rv = step(s, &ev, NULL);
        struct pending *p = d.p;
        if (rv != 0) {
            reply_err(s, p->conn, p->req_id, rv == RAFT_EBUSY ? "busy" : "not_leader",
                      rv == RAFT_EBUSY ? "a membership change is in progress"
                                       : "leadership lost during the change");
            pending_free(s, p);
        } else {
            /* Answered when the configuration entry is committed. */
            p->index = raft_last_index(&s->raft);
            p->term = s->raft.term;
            pending_rehash(s, p);
        }
    }
}

/* ==== Entries built here, kept parsed for their apply ==== */

static void built_drop_head(struct server *s)
{
    struct built *x = &s->built[s->built_head];
    raft_buf_unref(x->b);
    json_decref(x->op);
    x->b = NULL;
    x->op = NULL;
    s->built_head = (s->built_head + 1) % BUILT_MAX;
    s->built_n--;
}

/* `x` (b and op borrowed: references are taken) is the entry `x->b` holds. */
static void built_add(struct server *s, const struct built *x)
{
    if (s->built_n == BUILT_MAX)
        built_drop_head(s);
    struct built *y = &s->built[(s->built_head + s->built_n) % BUILT_MAX];
    *y = *x;
    raft_buf_ref(y->b);
    json_incref(y->op);
    s->built_n++;
}

/* The fields `b` was built from into *out (out->op a reference for the
 * caller), or false. Entries are applied in the order they were submitted:
 * those ahead of `b` (refused, truncated) are dropped. */
static bool built_take(struct server *s, const struct raft_buf *b, struct built *out)
{
    for (unsigned k = 0; k < s->built_n && k < 8; k++) {
        struct built *x = &s->built[(s->built_head + k) % BUILT_MAX];
        if (x->b != b)
            continue;
        while (k-- > 0)
            built_drop_head(s);
        *out = s->built[s->built_head];
        json_incref(out->op);
        out->b = NULL;
        built_drop_head(s);
        return true;
    }
    return false;
}

static void built_clear(struct server *s)
{
    while (s->built_n > 0)
        built_drop_head(s);
}

/* ==== Command ordering at the leader (FIFO, §11.1.2) ==== */

static struct hold *hold_of(struct server *s, uint64_t session)
{
    for (struct hold *h = s->holds; h != NULL; h = h->next)
        if (h->session == session)
            return h;
    struct hold *h = fl_calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->session = session;
    h->expected = server_state_next_seq(&s->st, session);
    h->next = s->holds;
    s->holds = h;
    return h;
}

static void fail_holds(struct server *s)
{
    while (s->holds != NULL) {
        struct hold *h = s->holds;
        s->holds = h->next;
        for (unsigned i = 0; i < h->n; i++) {
            reply_redirect(s, h->held[i].conn, h->held[i].req_id);
            json_decref(h->held[i].op);
        }
        fl_free(h->held);
        fl_free(h);
    }
}

static void submit_command(struct server *s, struct conn *c, uint64_t req_id, uint64_t session,
                           uint64_t seq, uint64_t ack, json_t *op /* borrowed */)
{
    struct pending *p = pending_new(s, c, req_id, P_COMMAND);
    if (p == NULL) {
        reply_err(s, c, req_id, "busy", "too many requests in progress");
        return;
    }
    p->session = session;
    p->seq = seq;
    pending_rehash(s, p);
    if (!is_leader(s)) {
        reply_redirect(s, c, req_id);
        pending_free(s, p);
        return;
    }
    const char *f = json_string_value(json_object_get(op, "f"));
    if ((s->o.server_bugs & SERVER_BUG_TXN_EARLY_READS) && f != NULL && strcmp(f, "txn") == 0 &&
        sm_txn_preview(&s->st.sm, op, &p->early) != 0)
        p->early = NULL; /* no preview (not a txn state machine, out of memory): read in place */
    /* The client's command_ack trims the session's response cache on apply
     * (state.h); one at or above seq says nothing and is left out. */
    struct built x = {
        .op = op, .time = wall_ms(), .session = session, .seq = seq, .ack = ack < seq ? ack : 0};
    /* The entry's text by hand (no object built for it): the op by jansson. */
    fl_buf_reset(&s->opbuf);
    if (json_dump_callback(op, buf_dump_cb, &s->opbuf, JSON_COMPACT) != 0)
        s->opbuf.oom = true;
    fl_buf_reset(&s->ebuf);
    if (!s->opbuf.oom)
        server_state_command_text(&s->ebuf, x.time, x.session, x.seq, x.ack, s->opbuf.data,
                                  s->opbuf.len);
    bool oom = s->ebuf.oom || s->opbuf.oom;
    struct raft_buf *b = !oom ? raft_buf_new(s->ebuf.data, s->ebuf.len) : NULL;
    if (oom) { /* clears oom for the next entry */
        fl_buf_free(&s->ebuf);
        fl_buf_free(&s->opbuf);
    }
    if (b != NULL) {
        x.b = b;
        built_add(s, &x);
    }
    if (b == NULL) {
        reply_err(s, c, req_id, "busy", "out of memory");
        pending_free(s, p);
        return;
    }
    if (s->sq_n == SUBMIT_BATCH)
        flush_submits(s);
    s->sq_bufs[s->sq_n] = b;
    s->sq_p[s->sq_n] = p;
    s->sq_n++;
    p->queued = true;
    uv_check_start(&s->submit_check, on_submit_check);
}

/* Submits held commands of `h` that are next in sequence (or overdue). */
static void hold_drain(struct server *s, struct hold *h, bool overdue)
{
    for (;;) {
        unsigned best = h->n;
        for (unsigned i = 0; i < h->n; i++)
            if (best == h->n || h->held[i].seq < h->held[best].seq)
                best = i;
        if (best == h->n)
            return;
        struct held x = h->held[best];
        if (x.seq != h->expected && !(overdue && x.deadline <= now_ms(s)))
            return;
        h->held[best] = h->held[--h->n];
        /* Past an expired gap the order of what follows still holds. */
        h->expected = x.seq + 1;
        submit_command(s, x.conn, x.req_id, h->session, x.seq, x.ack, x.op);
        json_decref(x.op);
        overdue = overdue && h->n > 0;
    }
}

static void command_arrived(struct server *s, struct conn *c, uint64_t req_id, uint64_t session,
                            uint64_t seq, uint64_t ack, json_t *op)
{
    struct hold *h = hold_of(s, session);
    if (h == NULL) {
        reply_err(s, c, req_id, "busy", "out of memory");
        return;
    }
    if (seq < h->expected || (s->o.server_bugs & SERVER_BUG_NO_DEDUP)) {
        /* A retry: the log's de-duplication answers it from the cache. */
        submit_command(s, c, req_id, session, seq, ack, op);
        return;
    }
    if (seq == h->expected) {
        h->expected++;
        submit_command(s, c, req_id, session, seq, ack, op);
        hold_drain(s, h, false);
        return;
    }
    if (h->n >= HELD_MAX) {
        reply_err(s, c, req_id, "busy", "too many commands held ahead of a gap");
        return;
    }
    if (h->n == h->cap) {
        unsigned cap = h->cap ? h->cap * 2 : 8;
        struct held *a = fl_reallocarray(h->held, cap, sizeof *a);
        if (a == NULL) {
            reply_err(s, c, req_id, "busy", "out of memory");
            return;
        }
        h->held = a;
        h->cap = cap;
    }
    h->held[h->n++] = (struct held){.seq = seq,
                                    .ack = ack,
                                    .deadline = now_ms(s) + s->o.hold_timeout_ms,
                                    .conn = c,
                                    .req_id = req_id,
                                    .op = json_incref(op)};
}

/* ==== Client requests ==== */

static bool get_uint(const json_t *o, const char *k, uint64_t *v)
{
    json_t *j = json_object_get(o, k);
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return false;
    *v = (uint64_t)json_integer_value(j);
    return true;
}

static bool is_leader(struct server *s)
{
    return s->raft.state == RAFT_LEADER;
}

static void resend_events_fn(void *data, uint64_t event_index, const json_t *event)
{
    struct conn *c = data;
    conn_send(c, json_pack("{s:s,s:I,s:I,s:I,s:O}", "type", "event", "session",
                           (json_int_t)c->session, "event_index", (json_int_t)event_index, "index",
                           (json_int_t)event_index, "event", event));
}

/* The session limit (--max-sessions, node/PROTOCOL.md "Sessions"): before a
 * registration that would pass it, the leader appends an eviction of the
 * session idle the longest. Evictions appended within the last second and
 * not yet applied count as done, so a burst of registrations evicts one
 * session each; the state's hard bound (SERVER_SESSIONS_MAX) refuses with
 * `busy` whatever a burst gets past this. */
static void evict_for_limit(struct server *s)
{
    uint64_t now = now_ms(s), skip[16];
    unsigned n_skip = 0, open = server_state_open_sessions(&s->st);
    for (unsigned i = 0; i < 16; i++) {
        if (s->evict_sent[i] == 0 || !server_state_has_session(&s->st, s->evict_sent[i]) ||
            s->evict_sent_at[i] + 1000 <= now)
            continue;
        skip[n_skip++] = s->evict_sent[i];
    }
    if (open < n_skip || open - n_skip < s->o.max_sessions)
        return;
    uint64_t victim = server_state_oldest_idle(&s->st, skip, n_skip);
    if (victim == 0)
        return;
    uint64_t idx, term;
    if (submit_entry(s,
                     json_pack("{s:s,s:I,s:I,s:b}", "t", "expire", "time", (json_int_t)wall_ms(),
                               "session", (json_int_t)victim, "evict", 1),
                     &idx, &term) != 0)
        return;
    s->evict_sent[s->evict_next] = victim;
    s->evict_sent_at[s->evict_next] = now;
    s->evict_next = (s->evict_next + 1) % 16;
    log_event(s, "session_evicted",
              json_pack("{s:I,s:I,s:I}", "session", (json_int_t)victim, "open", (json_int_t)open,
                        "max_sessions", (json_int_t)s->o.max_sessions));
}

static void submit_and_wait(struct server *s, struct conn *c, uint64_t id, json_t *entry)
{
    if (!is_leader(s)) {
        json_decref(entry);
        reply_redirect(s, c, id);
        return;
    }
    struct pending *p = pending_new(s, c, id, P_ENTRY);
    if (p == NULL) {
        json_decref(entry);
        reply_err(s, c, id, "busy", "too many requests in progress");
        return;
    }
    if (submit_entry(s, entry, &p->index, &p->term) != 0) {
        reply_redirect(s, c, id);
        pending_free(s, p);
        return;
    }
    pending_rehash(s, p);
}

static void members_reply(struct server *s, struct conn *c, uint64_t id)
{
    const struct raft_configuration *conf = raft_configuration(&s->raft);
    json_t *arr = json_array();
    for (unsigned i = 0; i < conf->n; i++) {
        const char *peer = "", *client = "";
        char name[24];
        snprintf(name, sizeof name, "n%" PRIu64, conf->servers[i].id);
        addresses_of(s, conf->servers[i].id, &peer, &client);
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:s,s:s}", "id", name, "peer", peer, "client",
                                        client, "role", role_name(conf->servers[i].role)));
    }
    char leader[24];
    snprintf(leader, sizeof leader, "n%" PRIu64, s->raft.leader);
    reply_ok(c, id,
             json_pack("{s:s?,s:I,s:I,s:o,s:I,s:I}", "leader", s->raft.leader ? leader : NULL,
                       "term", (json_int_t)s->raft.term, "commit",
                       (json_int_t)raft_commit_index(&s->raft), "members", arr, "applied",
                       (json_int_t)s->st.applied, "self", (json_int_t)s->o.id));
}

static void membership_request(struct server *s, struct conn *c, uint64_t id, const char *type,
                               const json_t *req)
{
    const char *node = json_string_value(json_object_get(req, "node"));
    uint64_t nid = node != NULL ? server_parse_name(node) : 0;
    if (nid == 0) {
        reply_err(s, c, id, "bad_request", "node: expected a node name like \"n4\"");
        return;
    }
    if (!is_leader(s)) {
        reply_redirect(s, c, id);
        return;
    }
    int cur = raft_role_of(raft_configuration(&s->raft), nid);
    int role;
    if (strcmp(type, "join") == 0) {
        const char *peer = json_string_value(json_object_get(req, "peer"));
        const char *client = json_string_value(json_object_get(req, "client"));
        const char *r = json_string_value(json_object_get(req, "role"));
        role = r == NULL || strcmp(r, "passive") == 0 ? RAFT_PASSIVE
               : strcmp(r, "voter") == 0              ? RAFT_VOTER
                                                      : 0;
        if (peer == NULL || client == NULL || role == 0 || strlen(peer) >= SERVER_ADDR_MAX ||
            strlen(client) >= SERVER_ADDR_MAX) {
            reply_err(s, c, id, "bad_request",
                      "join: peer, client and role (passive|voter) required");
            return;
        }
        if (cur != RAFT_REMOVED) {
            reply_err(s, c, id, "bad_request", "join: the node is already a member");
            return;
        }
        struct pending *p = pending_new(s, c, id, P_ENTRY);
        if (p == NULL) {
            reply_err(s, c, id, "busy", "too many requests in progress");
            return;
        }
        p->change_id = nid;
        p->change_role = role;
        json_t *e =
            json_pack("{s:s,s:I,s:I,s:s,s:s}", "t", "address", "time", (json_int_t)wall_ms(), "id",
                      (json_int_t)nid, "peer", peer, "client", client);
        if (submit_entry(s, e, &p->index, &p->term) != 0) {
            reply_redirect(s, c, id);
            pending_free(s, p);
            return;
        }
        pending_rehash(s, p);
        return;
    }
    if (strcmp(type, "leave") == 0)
        role = RAFT_REMOVED;
    else if (strcmp(type, "promote") == 0)
        role = RAFT_VOTER;
    else
        role = RAFT_PASSIVE;
    if (cur == RAFT_REMOVED || cur == role) {
        reply_err(s, c, id, "bad_request",
                  cur == RAFT_REMOVED ? "node: not a member" : "node: already has that role");
        return;
    }
    struct pending *p = pending_new(s, c, id, P_ENTRY);
    if (p == NULL) {
        reply_err(s, c, id, "busy", "too many requests in progress");
        return;
    }
    struct raft_event ev = {.type = RAFT_CHANGE_CONF};
    ev.change.id = nid;
    ev.change.role = role;
    int rv = step(s, &ev, NULL);
    if (rv != 0) {
        reply_err(s, c, id, rv == RAFT_EBUSY ? "busy" : "not_leader",
                  rv == RAFT_EBUSY ? "a membership change or transfer is in progress"
                                   : "not the leader");
        pending_free(s, p);
        return;
    }
    p->index = raft_last_index(&s->raft);
    p->term = s->raft.term;
    pending_rehash(s, p);
}

/* Configuration entries are applied as no-ops: answer changes on commit. */
static void answer_committed_changes(struct server *s)
{
    for (struct pending *p = s->pending, *next; p != NULL; p = next) {
        next = p->next;
        if (p->kind != P_ENTRY || p->change_id != 0 || p->index == 0 || p->index > s->st.applied)
            continue;
        const struct raft_entry *e = raft_entry_at(&s->raft, p->index);
        if (e == NULL || e->type != RAFT_CHANGE)
            continue;
        if (raft_term_at(&s->raft, p->index) == p->term)
            reply_ok(p->conn, p->req_id, json_pack("{s:I}", "index", (json_int_t)p->index));
        else
            reply_err(s, p->conn, p->req_id, "timeout", "the change was overwritten");
        pending_free(s, p);
    }
}

/* A command whose fields are read (the jansson path or request.h's reader). */
static void command_request(struct server *s, struct conn *c, uint64_t id, uint64_t session,
                            uint64_t seq, uint64_t ack, json_t *op /* borrowed */)
{
    if (!is_leader(s)) {
        reply_redirect(s, c, id);
        return;
    }
    if (!server_state_has_session(&s->st, session)) {
        reply_err(s, c, id, "unknown_session", "no such session (expired or closed)");
        return;
    }
    command_arrived(s, c, id, session, seq, ack, op);
}

/* A query whose fields are read; `cons` NULL means linearizable, an unknown value is
 * refused here. */
static void query_request(struct server *s, struct conn *c, uint64_t id, uint64_t session,
                          const char *cons, uint64_t index, uint64_t hint,
                          json_t *op /* borrowed */)
{
    int mode = 0;
    if (cons == NULL || strcmp(cons, "linearizable") == 0)
        mode = RAFT_READ_INDEX;
    else if (strcmp(cons, "lease") == 0)
        mode = RAFT_READ_LEASE;
    else if (strcmp(cons, "sequential") != 0) {
        reply_err(s, c, id, "bad_request",
                  "consistency: expected linearizable, lease or sequential");
        return;
    }
    if (!server_state_is_read_only(&s->st, op)) {
        reply_err(s, c, id, "bad_request", "op: not a read-only operation");
        return;
    }
    if (mode != 0 && !is_leader(s)) {
        reply_redirect(s, c, id);
        return;
    }
    struct pending *p = pending_new(s, c, id, P_READ);
    if (p == NULL) {
        reply_err(s, c, id, "busy", "too many requests in progress");
        return;
    }
    p->op = json_incref(op);
    p->session = session;
    p->seq_hint = hint;
    p->min_index = index;
    if (mode == 0 && (s->o.server_bugs & SERVER_BUG_SEQUENTIAL_UNORDERED)) {
        /* The planted bug sequential-unordered: the session's index and
         * its earlier commands are not waited for. */
        p->seq_hint = 0;
        p->min_index = 0;
    }
    if (mode == 0) {
        ready_add(s, p); /* sequential: this node once it has caught up */
        serve_reads(s);
        return;
    }
    p->read_id = ++s->next_read_id;
    pending_rehash(s, p);
    /* Reads of one loop iteration share one heartbeat round (flush_reads). */
    struct read_queue *q = &s->rq[mode == RAFT_READ_LEASE];
    if (q->n == SUBMIT_BATCH)
        flush_reads(s, mode);
    q->ids[q->n++] = p->read_id;
    uv_check_start(&s->submit_check, on_submit_check);
}

static void handle_request(struct server *s, struct conn *c, json_t *req)
{
    const char *type = json_string_value(json_object_get(req, "type"));
    uint64_t id = 0, session = 0;
    get_uint(req, "id", &id);
    if (type == NULL) {
        reply_err(s, c, id, "bad_request", "type: expected a string");
        return;
    }
    if (s->stopping) {
        reply_err(s, c, id, "shutting_down", "the node is stopping");
        return;
    }
    if (strcmp(type, "event_ack") == 0) {
        if (get_uint(req, "session", &session))
            c->session = session;
        return; /* no reply; keepalives carry acknowledgements into the log */
    }
    if (!json_is_integer(json_object_get(req, "id"))) {
        reply_err(s, c, 0, "bad_request", "id: expected an unsigned integer");
        return;
    }
    if (strcmp(type, "members") == 0) {
        members_reply(s, c, id);
        return;
    }
    if (strcmp(type, "join") == 0 || strcmp(type, "leave") == 0 || strcmp(type, "promote") == 0 ||
        strcmp(type, "demote") == 0) {
        membership_request(s, c, id, type, req);
        return;
    }
    if (strcmp(type, "register") == 0) {
        uint64_t timeout = 5000;
        json_t *jt = json_object_get(req, "timeout_ms");
        if (jt != NULL && !get_uint(req, "timeout_ms", &timeout)) {
            reply_err(s, c, id, "bad_request", "timeout_ms: expected an unsigned integer");
            return;
        }
        if (timeout < SERVER_TIMEOUT_MIN)
            timeout = SERVER_TIMEOUT_MIN;
        if (timeout > SERVER_TIMEOUT_MAX)
            timeout = SERVER_TIMEOUT_MAX;
        if (is_leader(s))
            evict_for_limit(s);
        submit_and_wait(s, c, id,
                        json_pack("{s:s,s:I,s:I}", "t", "register", "time", (json_int_t)wall_ms(),
                                  "timeout", (json_int_t)timeout));
        return;
    }
    if (!get_uint(req, "session", &session) || session == 0) {
        reply_err(s, c, id, "bad_request", "session: expected a session id");
        return;
    }
    c->session = session;
    if (strcmp(type, "keepalive") == 0) {
        uint64_t ca = 0, ea = 0;
        if (!get_uint(req, "command_ack", &ca) || !get_uint(req, "event_ack", &ea)) {
            reply_err(s, c, id, "bad_request", "command_ack and event_ack: expected integers");
            return;
        }
        /* After a reconnection: everything the client has not acknowledged. */
        server_state_events(&s->st, session, ea, resend_events_fn, c);
        submit_and_wait(s, c, id,
                        json_pack("{s:s,s:I,s:I,s:I,s:I}", "t", "keepalive", "time",
                                  (json_int_t)wall_ms(), "session", (json_int_t)session,
                                  "command_ack", (json_int_t)ca, "event_ack", (json_int_t)ea));
        return;
    }
    if (strcmp(type, "close") == 0) {
        submit_and_wait(s, c, id,
                        json_pack("{s:s,s:I,s:I}", "t", "close", "time", (json_int_t)wall_ms(),
                                  "session", (json_int_t)session));
        return;
    }
    json_t *op = json_object_get(req, "op");
    if (!json_is_object(op)) {
        reply_err(s, c, id, "bad_request", "op: expected an object");
        return;
    }
    if (strcmp(type, "command") == 0) {
        uint64_t seq = 0, ack = 0;
        if (!get_uint(req, "seq", &seq) || seq == 0) {
            reply_err(s, c, id, "bad_request", "seq: expected an integer >= 1");
            return;
        }
        if (json_object_get(req, "command_ack") != NULL && !get_uint(req, "command_ack", &ack)) {
            reply_err(s, c, id, "bad_request", "command_ack: expected an unsigned integer");
            return;
        }
        command_request(s, c, id, session, seq, ack, op);
        return;
    }
    if (strcmp(type, "query") == 0) {
        uint64_t index = 0, hint = 0;
        get_uint(req, "index", &index);
        get_uint(req, "seq_hint", &hint);
        query_request(s, c, id, session, json_string_value(json_object_get(req, "consistency")),
                      index, hint, op);
        return;
    }
    reply_err(s, c, id, "bad_request", "type: unknown request type");
}

/* ==== Client connections: reading and lifecycle ==== */

static void on_conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    io_frame_decoder_close(&c->dec);
    fl_free(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    struct server *s = c->srv;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    for (struct pending *p = s->pending; p != NULL; p = p->next)
        if (p->conn == c)
            p->conn = NULL;
    for (struct hold *h = s->holds; h != NULL; h = h->next)
        for (unsigned i = 0; i < h->n; i++)
            if (h->held[i].conn == c)
                h->held[i].conn = NULL;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    buf->base = c->srv->rbuf;
    buf->len = sizeof c->srv->rbuf;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = stream->data;
    if (nread < 0) {
        conn_close(c);
        return;
    }
    const unsigned char *p = (const unsigned char *)buf->base;
    size_t n = (size_t)nread;
    char err[FL_ERRMSG_SIZE];
    const unsigned char *body;
    size_t len;
    int rc = 0;
    while (!c->closing &&
           (rc = io_frame_decoder_next_raw(&c->dec, &p, &n, &body, &len, err)) == 1) {
        struct server *s = c->srv;
        struct server_request q;
        /* Commands and queries in their plain form skip jansson (request.h). */
        if (!s->stopping && server_request_read(body, len, &q) == 1) {
            c->session = q.session;
            if (q.type == SERVER_REQUEST_COMMAND)
                command_request(s, c, q.id, q.session, q.seq, q.command_ack, q.op);
            else
                query_request(s, c, q.id, q.session, q.consistency, q.index, q.seq_hint, q.op);
            json_decref(q.op);
            continue;
        }
        json_t *obj;
        if ((rc = io_frame_parse_body(body, len, &obj, err)) < 0)
            break;
        handle_request(s, c, obj);
        json_decref(obj);
    }
    if (!c->closing && rc < 0) {
        reply_err(c->srv, c, 0, "bad_request", err);
        conn_close(c);
    }
}

static void on_client(uv_stream_t *listener, int status)
{
    struct server *s = listener->data;
    if (status != 0 || s->stopping)
        return;
    struct conn *c = fl_calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->srv = s;
    io_frame_decoder_init(&c->dec, s->o.max_frame);
    uv_tcp_init(&s->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ==== Timers: ticks, deadlines, expiry, compaction ==== */

/* Whether the log holds an entry of `session` not yet applied: a session
 * whose keepalive waits for a commit (a stall, a new leader) is alive. */
static bool pending_entry_of(struct server *s, uint64_t session)
{
    uint64_t last = raft_last_index(&s->raft);
    for (uint64_t i = s->st.applied + 1; i <= last; i++) {
        const struct raft_entry *e = raft_entry_at(&s->raft, i);
        if (e == NULL || e->type != RAFT_COMMAND || e->buf == NULL)
            continue;
        json_t *j = json_loadb((const char *)e->buf->data, e->buf->len, 0, NULL);
        json_t *js = json_object_get(j, "session");
        bool match = json_is_integer(js) && (uint64_t)json_integer_value(js) == session;
        json_decref(j);
        if (match)
            return true;
    }
    return false;
}

static void maintenance(struct server *s)
{
    uint64_t now = now_ms(s);
    if ((s->o.server_bugs & SERVER_BUG_ACK_BEFORE_FSYNC) && now >= s->bug_sync_at) {
        char err[FL_ERRMSG_SIZE];
        s->bug_sync_at = now + 100;
        if (io_log_sync(&s->log, err) != 0)
            fatal(s, "log sync: %s", err);
    }
    /* Requests past their deadline: the outcome of a submitted entry is unknown. */
    for (struct pending *p = s->pending, *next; p != NULL; p = next) {
        next = p->next;
        if (p->deadline > now)
            continue;
        reply_err(s, p->conn, p->req_id, "timeout", "no answer within the request timeout");
        pending_free(s, p);
    }
    for (struct hold *h = s->holds; h != NULL; h = h->next)
        hold_drain(s, h, true);
    answer_committed_changes(s);
    if (is_leader(s)) {
        uint64_t ids[64];
        uint64_t wall = wall_ms();
        unsigned n = server_state_expired(&s->st, wall, s->leader_since_wall, ids, 64);
        for (unsigned i = 0; i < n; i++) {
            unsigned slot = (unsigned)(ids[i] % 64);
            if (s->expire_sent[slot] == ids[i] && s->expire_sent_at[slot] + 1000 > now)
                continue;
            if (pending_entry_of(s, ids[i]))
                continue; /* its keepalive or command is in the log, not yet applied */
            s->expire_sent[slot] = ids[i];
            s->expire_sent_at[slot] = now;
            uint64_t idx, term;
            submit_entry(s,
                         json_pack("{s:s,s:I,s:I}", "t", "expire", "time", (json_int_t)wall,
                                   "session", (json_int_t)ids[i]),
                         &idx, &term);
        }
    }
    if (s->released_since_compaction >= 256 && s->last_maintenance + 2000 <= now) {
        char err[FL_ERRMSG_SIZE];
        struct io_log_compaction out = {0};
        s->last_maintenance = now;
        s->released_since_compaction = 0;
        if (io_log_compact_incremental(&s->log, 0.5, &out, err) != 0)
            log_event(s, "error", json_pack("{s:s}", "message", err));
        else if (out.segments_rewritten > 0)
            log_event(s, "compaction",
                      json_pack("{s:I,s:I,s:I,s:I}", "segments", (json_int_t)out.segments_rewritten,
                                "tombstones", (json_int_t)out.tombstones, "bytes_before",
                                (json_int_t)out.bytes_before, "bytes_after",
                                (json_int_t)out.bytes_after));
    }
}

static void on_tick(uv_timer_t *t)
{
    struct server *s = t->data;
    struct raft_event ev = {.type = RAFT_TICK};
    step(s, &ev, NULL);
    maintenance(s);
}

/* ==== Transport ==== */

/* Why a message from m->from is refused for membership, or NULL. A member of
 * its own configuration hears only from members, except from a leader its
 * lagging configuration does not know yet (Raft §4.1: servers accept
 * AppendEntries from leaders outside their configuration); a node not in its
 * configuration (joining) hears from any authenticated peer. */
static const char *membership_refusal(struct server *s, const struct raft_message *m)
{
    const struct raft_configuration *c = raft_configuration(&s->raft);
    if (raft_role_of(c, s->o.id) == RAFT_REMOVED || raft_role_of(c, m->from) != RAFT_REMOVED)
        return NULL;
    if ((m->type == RAFT_APPEND || m->type == RAFT_SNAPSHOT) && m->term >= s->raft.term)
        return NULL;
    return "from: not a member of our configuration";
}

static void on_peer_message(struct io_transport *t, const struct raft_message *m, void *data)
{
    struct server *s = data;
    (void)t;
    if (s->stopping || s->fatal != 0)
        return;
    const char *why = raft_message_check(&s->raft, m);
    if (why == NULL)
        why = membership_refusal(s, m);
    if (why != NULL) {
        s->refused_msgs++;
        uint64_t now = now_ms(s);
        if (s->refused_logged == 0 || why != s->refused_why || now - s->refused_log_at >= 1000) {
            log_event(s, "peer_message_refused",
                      json_pack("{s:s,s:I,s:I,s:s,s:I}", "type", io_codec_type_name(m->type),
                                "from", (json_int_t)m->from, "term",
                                (json_int_t)(m->term > INT64_MAX ? INT64_MAX : m->term), "reason",
                                why, "refused_total", (json_int_t)s->refused_msgs));
            s->refused_logged = s->refused_msgs;
            s->refused_why = why;
            s->refused_log_at = now;
        }
        return;
    }
    struct raft_event ev = {.type = RAFT_RECEIVE};
    ev.receive.msg = m;
    step(s, &ev, NULL);
}

static void on_peer_lost(struct io_transport *t, uint64_t id, void *data)
{
    (void)t;
    struct server *s = data;
    if (s->stopping || s->fatal != 0)
        return;
    struct raft_event ev = {.type = RAFT_PEER_DOWN};
    ev.peer_down.id = id;
    step(s, &ev, NULL);
}

static void on_transport_log(struct io_transport *t, const char *msg, void *data)
{
    (void)t;
    struct server *s = data;
    log_event(s, "transport", json_pack("{s:s}", "message", msg));
}

/* ==== Shutdown ==== */

static void on_closed_handle(uv_handle_t *h)
{
    (void)h;
}

static void on_transport_closed(struct io_transport *t)
{
    (void)t;
}

static void begin_shutdown(struct server *s, const char *why)
{
    if (s->stopping)
        return;
    s->stopping = true;
    log_event(s, "shutdown", json_pack("{s:s}", "reason", why));
    for (unsigned i = 0; i < s->sq_n; i++)
        raft_buf_unref(s->sq_bufs[i]);
    s->sq_n = 0;
    s->rq[0].n = s->rq[1].n = 0;
    for (struct pending *p = s->pending, *next; p != NULL; p = next) {
        next = p->next;
        reply_err(s, p->conn, p->req_id, "shutting_down", "the node is stopping");
        pending_free(s, p);
    }
    fail_holds(s);
    uv_timer_stop(&s->tick);
    uv_close((uv_handle_t *)&s->tick, on_closed_handle);
    uv_close((uv_handle_t *)&s->flush_idle, on_closed_handle);
    uv_close((uv_handle_t *)&s->submit_check, on_closed_handle);
    uv_close((uv_handle_t *)&s->sigterm, on_closed_handle);
    uv_close((uv_handle_t *)&s->sigint, on_closed_handle);
    uv_close((uv_handle_t *)&s->sigusr1, on_closed_handle);
    uv_close((uv_handle_t *)&s->client_listener, on_closed_handle);
    while (s->conns != NULL)
        conn_close(s->conns);
    io_transport_close(&s->tr, on_transport_closed);
}

/* The crash test hook: what a power loss keeps is what was fsynced. */
static void on_crash_signal(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    (void)signum;
    uint64_t dropped = s->log_open ? io_log_drop_unsynced(&s->log) : 0;
    log_event(s, "crash",
              json_pack("{s:s,s:I}", "reason", "SIGUSR1 (test hook: power loss)",
                        "unsynced_bytes_dropped", (json_int_t)dropped));
    _exit(137);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    begin_shutdown(s, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* ==== Start-up ==== */

static int recover(struct server *s, char *errmsg)
{
    struct io_meta meta = {0};
    bool found = false;
    int rv = io_meta_load(s->o.data_dir, &meta, &found, errmsg);
    if (rv != 0)
        return rv;
    struct io_snapfile snap = {0};
    struct io_snapfile_report srep = {0};
    bool have_snap = false;
    rv = io_snapfile_load(s->o.data_dir, 0, &snap, &have_snap, &srep, errmsg);
    if (rv != 0)
        return rv;
    snprintf(s->log_dir, sizeof s->log_dir, "%s/log", s->o.data_dir);
    struct io_log_recovery lrep = {0};
    struct io_log_options lo = {.segment_bytes = s->o.segment_bytes};
    rv = io_log_open(&s->log, s->log_dir, &lo, &lrep, errmsg);
    if (rv != 0) {
        io_snapfile_release(&snap);
        return rv;
    }
    s->log_open = true;
    if (lrep.truncated)
        log_event(s, "recovery",
                  json_pack("{s:b,s:I,s:s,s:I,s:I,s:s}", "truncated", 1, "from_index",
                            (json_int_t)lrep.from_index, "segment", lrep.segment, "offset",
                            (json_int_t)lrep.offset, "bytes_dropped",
                            (json_int_t)lrep.bytes_dropped, "reason", lrep.reason));
    if (srep.skipped > 0)
        log_event(s, "recovery",
                  json_pack("{s:I,s:s}", "snapshots_skipped", (json_int_t)srep.skipped, "why",
                            srep.first_skip));
    uint64_t first = io_log_first_index(&s->log), last = io_log_last_index(&s->log);
    uint64_t from = have_snap ? snap.index + 1 : 1;
    if (last >= from && first > from) {
        io_snapfile_release(&snap);
        return fl_errorf(errmsg, FL_EHISTORY,
                         "log in %s starts at %" PRIu64 " but entries from %" PRIu64
                         " are needed (snapshot %" PRIu64 ")",
                         s->log_dir, first, from, have_snap ? snap.index : 0);
    }
    if (have_snap) {
        const char *bytes = snap.data != NULL ? (const char *)snap.data->data : "";
        size_t len = snap.data != NULL ? snap.data->len : 0;
        rv = server_state_restore(&s->st, bytes, len, errmsg);
        if (rv != 0) {
            io_snapfile_release(&snap);
            return fl_error_wrap(errmsg, rv, "snapshot %" PRIu64, snap.index);
        }
        s->st.applied = snap.index;
    }
    struct raft_entry *entries = NULL;
    uint64_t n = last >= from ? last - from + 1 : 0;
    if (n > 0 && (rv = io_log_load(&s->log, from, last, &entries, errmsg)) != 0) {
        io_snapfile_release(&snap);
        return rv;
    }
    struct raft_configuration boot = {0};
    boot.servers[boot.n++] =
        (struct raft_server){.id = s->o.id, .role = s->o.passive ? RAFT_PASSIVE : RAFT_VOTER};
    for (unsigned i = 0; i < s->o.n_peers; i++)
        boot.servers[boot.n++] = (struct raft_server){
            .id = s->o.peers[i].id, .role = s->o.peers[i].passive ? RAFT_PASSIVE : RAFT_VOTER};
    /* Every initial member must build the same configuration: sort by id. */
    for (unsigned i = 1; i < boot.n; i++)
        for (unsigned j = i; j > 0 && boot.servers[j - 1].id > boot.servers[j].id; j--) {
            struct raft_server t = boot.servers[j];
            boot.servers[j] = boot.servers[j - 1];
            boot.servers[j - 1] = t;
        }
    struct raft_event ev = {.type = RAFT_START};
    ev.start.term = meta.term;
    ev.start.vote = meta.vote;
    if (have_snap) {
        ev.start.snap_index = snap.index;
        ev.start.snap_term = snap.term;
        ev.start.snap_conf_index = snap.conf_index;
        ev.start.snap_conf = snap.conf;
        ev.start.snap_data = snap.data;
    }
    ev.start.n = (unsigned)n;
    ev.start.entries = entries;
    ev.start.bootstrap = s->o.join ? NULL : &boot;
    rv = step(s, &ev, NULL);
    io_log_entries_free(entries, n);
    log_event(s, "start",
              json_pack("{s:I,s:I,s:I,s:I,s:I,s:s}", "term", (json_int_t)meta.term, "vote",
                        (json_int_t)meta.vote, "snapshot", (json_int_t)(have_snap ? snap.index : 0),
                        "first_index", (json_int_t)first, "last_index", (json_int_t)last, "sm",
                        s->o.sm));
    io_snapfile_release(&snap);
    if (rv != 0)
        return fl_errorf(errmsg, FL_EUSAGE, "raft start: code %d", rv);
    return 0;
}

void server_options_default(struct server_options *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->sm, sizeof o->sm, "kv");
    snprintf(o->cluster, sizeof o->cluster, "faultline");
    o->election_timeout_ms = 300;
    o->heartbeat_ms = 50;
    o->lease_drift = 0.1;
    o->snapshot_threshold = 4096;
    o->snapshot_trailing = 256;
    o->request_timeout_ms = 5000;
    o->hold_timeout_ms = 1000;
    o->max_frame = IO_FRAME_MAX_DEFAULT;
    o->max_sessions = SERVER_SESSIONS_DEFAULT;
}

uint64_t server_parse_name(const char *name)
{
    if (name == NULL || name[0] != 'n' || name[1] < '1' || name[1] > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(name + 1, &end, 10);
    if (errno != 0 || *end != '\0' || v == 0 || v > 1000000)
        return 0;
    return v;
}

/* Splits "host:port" and returns the port (0 when malformed). */
static unsigned port_of(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL)
        return 0;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    return *end == '\0' && p > 0 && p < 65536 ? (unsigned)p : 0;
}

int server_parse_peers(struct server_options *o, const char *spec, char *errmsg)
{
    char buf[4096];
    if (strlen(spec) >= sizeof buf)
        return fl_errorf(errmsg, FL_ELIMIT, "--peers: too long");
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        if (eq == NULL)
            return fl_errorf(errmsg, FL_EUSAGE, "--peers: %s: expected NAME=HOST:PORT", item);
        *eq = '\0';
        uint64_t id = server_parse_name(item);
        if (id == 0)
            return fl_errorf(errmsg, FL_EUSAGE, "--peers: %s: expected a node name like n2", item);
        if (o->n_peers + 1 >= RAFT_MAX_SERVERS)
            return fl_errorf(errmsg, FL_ELIMIT, "--peers: at most %d servers", RAFT_MAX_SERVERS);
        for (unsigned i = 0; i < o->n_peers; i++)
            if (o->peers[i].id == id)
                return fl_errorf(errmsg, FL_EUSAGE, "--peers: %s given twice", item);
        struct server_peer *p = &o->peers[o->n_peers];
        char *slash = strchr(eq + 1, '/');
        if (slash != NULL)
            *slash = '\0';
        const char *peer = eq + 1;
        unsigned port = port_of(peer);
        if (port == 0 || strlen(peer) >= SERVER_ADDR_MAX)
            return fl_errorf(errmsg, FL_EUSAGE, "--peers: %s: expected HOST:PORT, got \"%s\"", item,
                             peer);
        snprintf(p->peer, sizeof p->peer, "%s", peer);
        if (slash != NULL) {
            if (port_of(slash + 1) == 0 || strlen(slash + 1) >= SERVER_ADDR_MAX)
                return fl_errorf(errmsg, FL_EUSAGE, "--peers: %s: bad client address \"%s\"", item,
                                 slash + 1);
            snprintf(p->client, sizeof p->client, "%s", slash + 1);
        } else {
            if (port >= 65535)
                return fl_errorf(errmsg, FL_EUSAGE, "--peers: %s: no room for client port", item);
            int hl = (int)(strrchr(peer, ':') - peer);
            snprintf(p->client, sizeof p->client, "%.*s:%u", hl, peer, port + 1);
        }
        p->id = id;
        o->n_peers++;
    }
    return 0;
}

static int listen_clients(struct server *s, char *errmsg)
{
    struct sockaddr_storage addr;
    int rv = io_transport_parse_address(s->o.client_listen, true, &addr, errmsg);
    if (rv != 0)
        return fl_error_wrap(errmsg, rv, "--client-listen");
    rv = uv_tcp_bind(&s->client_listener, (const struct sockaddr *)&addr, 0);
    if (rv == 0)
        rv = uv_listen((uv_stream_t *)&s->client_listener, 128, on_client);
    if (rv != 0)
        return fl_errorf(errmsg, rv, "--client-listen %s: %s", s->o.client_listen, uv_strerror(rv));
    return 0;
}

int server_run(const struct server_options *o, char *errmsg)
{
    struct server *s = fl_calloc(1, sizeof *s);
    if (s == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    s->o = *o;
    snprintf(s->name, sizeof s->name, "n%" PRIu64, o->id);
    signal(SIGPIPE, SIG_IGN);
    int rv = fl_mkdir_p(o->data_dir);
    if (rv != 0) {
        fl_errorf(errmsg, rv, "data dir %s: %s", o->data_dir, strerror(-rv));
        goto out_free;
    }
    rv = server_state_init(&s->st, o->sm, errmsg);
    if (rv != 0)
        goto out_free;
    s->st.no_dedup = (o->server_bugs & SERVER_BUG_NO_DEDUP) != 0;
    struct raft_options ro;
    raft_options_default(&ro);
    ro.election_timeout = o->election_timeout_ms;
    ro.heartbeat_interval = o->heartbeat_ms;
    ro.drift_bound = o->lease_drift;
    ro.snapshot_threshold = o->snapshot_threshold;
    ro.snapshot_trailing = o->snapshot_trailing;
    if (o->max_batch > 0)
        ro.max_batch = o->max_batch;
    ro.snapshot_chunk = SNAPSHOT_CHUNK;
    ro.bugs = o->raft_bugs;
    rv = raft_init(&s->raft, o->id, &ro, o->id * 0x9E3779B97F4A7C15ULL ^ wall_ms());
    if (rv != 0) {
        rv = fl_errorf(errmsg, FL_EUSAGE, "raft options refused (code %d)", rv);
        goto out_state;
    }
    uv_loop_init(&s->loop);
    uv_idle_init(&s->loop, &s->flush_idle);
    uv_check_init(&s->loop, &s->submit_check);
    s->submit_check.data = s;
    uv_timer_init(&s->loop, &s->tick);
    uv_signal_init(&s->loop, &s->sigterm);
    uv_signal_init(&s->loop, &s->sigint);
    uv_signal_init(&s->loop, &s->sigusr1);
    uv_tcp_init(&s->loop, &s->client_listener);
    s->flush_idle.data = s->tick.data = s->sigterm.data = s->sigint.data = s->sigusr1.data = s;
    s->client_listener.data = s;
    struct io_auth_key key;
    char kerr[FL_ERRMSG_SIZE] = "";
    struct io_transport_options to = {.max_frame = o->max_frame,
                                      .log_cb = on_transport_log,
                                      .key = &key,
                                      .lost_cb = on_peer_lost};
    rv = io_auth_key_load(&key, o->secret_file, kerr);
    if (rv == 0)
        rv = io_transport_init(&s->tr, &s->loop, o->id, o->cluster, &to, on_peer_message, s);
    memset(&key, 0, sizeof key);
    if (rv != 0) {
        if (kerr[0] != '\0')
            fl_errorf(errmsg, rv, "%s", kerr);
        else
            fl_errorf(errmsg, rv, "transport: %s", fl_strerror(rv));
        s->stopping = true;
        uv_close((uv_handle_t *)&s->tick, on_closed_handle);
        uv_close((uv_handle_t *)&s->flush_idle, on_closed_handle);
        uv_close((uv_handle_t *)&s->submit_check, on_closed_handle);
        uv_close((uv_handle_t *)&s->sigterm, on_closed_handle);
        uv_close((uv_handle_t *)&s->sigint, on_closed_handle);
        uv_close((uv_handle_t *)&s->sigusr1, on_closed_handle);
        uv_close((uv_handle_t *)&s->client_listener, on_closed_handle);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        goto out_loop;
    }
    rv = recover(s, errmsg);
    if (rv == 0)
        rv = io_transport_listen(&s->tr, o->peer_listen, errmsg);
    if (rv == 0)
        rv = listen_clients(s, errmsg);
    if (rv == 0) {
        uv_timer_start(&s->tick, on_tick, 10, 10);
        uv_signal_start(&s->sigterm, on_signal, SIGTERM);
        uv_signal_start(&s->sigint, on_signal, SIGINT);
        if (o->test_lose_unsynced)
            uv_signal_start(&s->sigusr1, on_crash_signal, SIGUSR1);
        sync_peers(s);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        if (s->fatal != 0) {
            snprintf(errmsg, FL_ERRMSG_SIZE, "%s", s->fatal_msg);
            rv = s->fatal;
        }
    }
    if (!s->stopping)
        begin_shutdown(s, rv == 0 ? "stopped" : "error");
    uv_run(&s->loop, UV_RUN_DEFAULT);
    if (s->log_open) {
        char err[FL_ERRMSG_SIZE];
        if (s->unsynced && s->fatal == 0 && io_log_sync(&s->log, err) != 0 && rv == 0)
            rv = fl_errorf(errmsg, -EIO, "log sync: %s", err);
        io_log_close(&s->log);
    }
    for (unsigned i = 0; i < s->n_held_msgs; i++)
        raft_message_release(&s->held_msgs[i]);
    fl_free(s->held_msgs);
    send_all(s, s->sync_msgs, s->n_sync_msgs, false); /* a job never ended */
out_loop:
    uv_loop_close(&s->loop);
    raft_close(&s->raft);
out_state:
    server_state_close(&s->st);
out_free:
    built_clear(s);
    fl_buf_free(&s->ebuf);
    fl_buf_free(&s->opbuf);
    fl_buf_free(&s->obuf);
    while (s->spare != NULL) {
        struct pending *p = s->spare;
        s->spare = p->next;
        fl_free(p);
    }
    fl_free(s);
    return rv;
}
