/* client.c - the libuv client of the reference node (client.h; node/PROTOCOL.md "Client protocol").
 */
#include "node/client/client.h"

#include "common/alloc.h"
#include "common/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct client__conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    struct client *c;
    struct io_frame_decoder dec;
    uint64_t gen;
    uint64_t started; /* uv_now() of the connect attempt */
    bool connected;
    bool closing;
};

struct wbuf {
    uv_write_t w;
    unsigned char *bytes;
};

#define BACKOFF_MAX 200 /* ms: elections take about an election timeout; a longer wait only adds to failover */

static void conn_drop(struct client *c, const char *why);
static void flush_sends(struct client *c);
static void deliver(struct client *c);
static void maybe_finish_close(struct client *c);

/* ==== Small helpers ==== */

const char *client_outcome_name(enum client_outcome o)
{
    switch (o) {
    case CLIENT_OK:
        return "ok";
    case CLIENT_FAIL:
        return "fail";
    default:
        return "unknown";
    }
}

int client_consistency_parse(const char *s, enum client_consistency *out)
{
    if (strcmp(s, "linearizable") == 0)
        *out = CLIENT_LINEARIZABLE;
    else if (strcmp(s, "lease") == 0)
        *out = CLIENT_LEASE;
    else if (strcmp(s, "sequential") == 0)
        *out = CLIENT_SEQUENTIAL;
    else
        return FL_EUSAGE;
    return 0;
}

static const char *consistency_name(enum client_consistency k)
{
    return k == CLIENT_LEASE ? "lease" : k == CLIENT_SEQUENTIAL ? "sequential" : "linearizable";
}

uint64_t client_session(const struct client *c)
{
    return c->session;
}

const char *client_conn_addr(const struct client *c)
{
    return c->conn_addr;
}

uint64_t client_max_index(const struct client *c)
{
    return c->max_index;
}

uint64_t client_events_dropped(const struct client *c)
{
    return c->events_dropped;
}

const char *client_last_error(const struct client *c)
{
    return c->last_error[0] != '\0' ? c->last_error : NULL;
}

/* Reads a uint field (PROTOCOL.md "Conventions"); false when absent or ill-typed. */
static bool get_uint(const json_t *o, const char *name, uint64_t *out)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static const char *get_str(const json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool needs_session(const struct client_req *r)
{
    return r->kind == CLIENT__COMMAND || r->kind == CLIENT__QUERY;
}

static bool is_admin_change(const struct client_req *r)
{
    return r->kind == CLIENT__JOIN || r->kind == CLIENT__LEAVE || r->kind == CLIENT__PROMOTE ||
           r->kind == CLIENT__DEMOTE;
}

/* ==== Completion ==== */

/* Marks `r` finished with no reply: outcome from whether an attempt may have
 * been accepted. */
static void finish_local(struct client_req *r, const char *why, bool unknown)
{
    if (r->done)
        return;
    r->done = true;
    r->why = why;
    r->outcome = unknown ? CLIENT_UNKNOWN : CLIENT_FAIL;
    struct client *c = r->c;
    if (r->kind != CLIENT__COMMAND || r->seq == 0 || c->session == 0 || c->closing)
        return;
    if (c->n_ghosts < CLIENT_GHOSTS_MAX) {
        /* seqs are given up in ascending order (deadlines follow submission
         * order unless per-request timeouts differ): insert sorted anyway */
        size_t i = c->n_ghosts;
        while (i > 0 && c->ghosts[i - 1].seq > r->seq)
            i--;
        memmove(&c->ghosts[i + 1], &c->ghosts[i], (c->n_ghosts - i) * sizeof c->ghosts[0]);
        /* still in flight on this connection: a late reply settles it */
        c->ghosts[i] = (struct client__ghost){.seq = r->seq,
                                              .wire_id = r->wire_id,
                                              .sent_gen = r->sent_gen,
                                              .msg = json_incref(r->msg)};
        c->n_ghosts++;
    } else if (c->gap_seq == 0 || r->seq < c->gap_seq) {
        c->gap_seq = r->seq;
    }
}

static void ghost_remove(struct client *c, size_t i)
{
    json_decref(c->ghosts[i].msg);
    memmove(&c->ghosts[i], &c->ghosts[i + 1], (c->n_ghosts - i - 1) * sizeof c->ghosts[0]);
    c->n_ghosts--;
}

static void ghosts_clear(struct client *c)
{
    while (c->n_ghosts > 0)
        ghost_remove(c, c->n_ghosts - 1);
}

/* Marks `r` finished with `reply` (new reference taken). */
static void finish_reply(struct client_req *r, json_t *reply, enum client_outcome o,
                         const char *why)
{
    if (r->done)
        return;
    r->done = true;
    r->reply = json_incref(reply);
    r->outcome = o;
    r->why = why;
}

static void unlink_req(struct client *c, struct client_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        c->tail = r->prev;
    r->prev = r->next = NULL;
    c->n_pending--;
}

/* Calls the callback of every finished request that may go: commands only
 * after every earlier command finished (submission order, §11.1.2). */
static void deliver(struct client *c)
{
again:;
    bool blocked = false;
    for (struct client_req *r = c->head; r != NULL; r = r->next) {
        if (!r->done) {
            if (r->kind == CLIENT__COMMAND)
                blocked = true;
            continue;
        }
        if (r->kind == CLIENT__COMMAND && blocked)
            continue;
        unlink_req(c, r);
        json_t *reply = r->reply;
        r->reply = NULL;
        r->error = NULL;
        r->message = NULL;
        r->result = NULL;
        r->index = 0;
        if (reply != NULL) {
            get_uint(reply, "index", &r->index);
            if (r->kind == CLIENT__COMMAND || r->kind == CLIENT__QUERY) {
                r->result = json_object_get(reply, "result");
                if (r->outcome == CLIENT_FAIL && r->result != NULL)
                    r->error = get_str(r->result, "error");
            } else {
                r->result = reply;
            }
            if (r->error == NULL && r->outcome != CLIENT_OK)
                r->error = get_str(reply, "error");
            r->message = get_str(reply, "message");
        }
        if (r->error == NULL && r->outcome != CLIENT_OK)
            r->error = r->why != NULL ? r->why : "error";
        json_decref(r->msg);
        r->msg = NULL;
        r->c = NULL;
        r->cb(r);
        json_decref(reply);
        goto again;
    }
    if (c->closing)
        maybe_finish_close(c);
}

/* ==== Writing ==== */

static void on_write(uv_write_t *w, int status)
{
    (void)status; /* a failed write shows up as a read error or EOF */
    struct wbuf *b = (struct wbuf *)w;
    fl_free(b->bytes);
    fl_free(b);
}

/* Sends `obj` (borrowed) on the current connection. On failure the
 * connection is dropped (lost) and a negative code returned. */
static int send_obj(struct client *c, const json_t *obj)
{
    struct client__conn *k = c->conn;
    if (k == NULL || !k->connected || k->closing)
        return UV_ENOTCONN;
    char err[FL_ERRMSG_SIZE];
    struct wbuf *b = fl_malloc(sizeof *b);
    if (b == NULL)
        return FL_ENOMEM;
    size_t len = 0;
    int rc = io_frame_encode(obj, c->cfg.max_frame, &b->bytes, &len, err);
    if (rc < 0) {
        fl_free(b);
        return rc;
    }
    uv_buf_t buf = uv_buf_init((char *)b->bytes, (unsigned)len);
    rc = uv_write(&b->w, (uv_stream_t *)&k->tcp, &buf, 1, on_write);
    if (rc < 0) {
        fl_free(b->bytes);
        fl_free(b);
        snprintf(c->last_error, sizeof c->last_error, "write: %s", uv_strerror(rc));
        conn_drop(c, "write failed");
    }
    return rc;
}

static int buf_dump_cb(const char *text, size_t n, void *data)
{
    fl_buf_append(data, text, n);
    return 0;
}

/* Sends a whole frame (`data`, borrowed) on the current connection: written at once
 * when nothing is queued (one syscall, no allocation); what the socket does not take
 * is copied and queued. On failure the connection is dropped and a negative code
 * returned. */
static int send_bytes(struct client *c, const unsigned char *data, size_t len)
{
    struct client__conn *k = c->conn;
    if (k == NULL || !k->connected || k->closing)
        return UV_ENOTCONN;
    uv_stream_t *st = (uv_stream_t *)&k->tcp;
    size_t off = 0;
    int rc = 0;
    if (uv_stream_get_write_queue_size(st) == 0) {
        uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
        int n = uv_try_write(st, &b, 1);
        if (n == (int)len)
            return 0;
        if (n > 0)
            off = (size_t)n;
        else if (n != UV_EAGAIN)
            rc = n;
    }
    struct wbuf *w = NULL;
    if (rc == 0 && (w = fl_malloc(sizeof *w)) != NULL &&
        (w->bytes = fl_malloc(len - off)) != NULL) {
        memcpy(w->bytes, data + off, len - off);
        uv_buf_t b = uv_buf_init((char *)w->bytes, (unsigned)(len - off));
        rc = uv_write(&w->w, st, &b, 1, on_write);
        if (rc == 0)
            return 0;
    } else if (rc == 0) {
        rc = FL_ENOMEM;
    }
    if (w != NULL)
        fl_free(w->bytes);
    fl_free(w);
    /* Part of the frame may be on the wire: the connection cannot be used again. */
    snprintf(c->last_error, sizeof c->last_error, "write: %s",
             rc == FL_ENOMEM ? "out of memory" : uv_strerror(rc));
    conn_drop(c, "write failed");
    return rc;
}

/* A command or query written as text straight into c->wb: the envelope here, the op
 * (compact, by jansson) after it; the same fields as send_obj would send for the
 * object built from r->msg, without copying it or allocating its integers. Returns 0
 * with the frame in c->wb, or FL_ELIMIT (over the max frame) / FL_ENOMEM. */
static int encode_req(struct client *c, const struct client_req *r, uint64_t id)
{
    struct fl_buf *b = &c->wb;
    fl_buf_reset(b);
    fl_buf_append(b, "\0\0\0\0", IO_FRAME_HEADER);
    if (r->kind == CLIENT__COMMAND) {
        /* command_ack on every command: the node trims its response cache as the
         * commands flow, not only at each keepalive. */
        fl_buf_printf(b,
                      "{\"type\":\"command\",\"id\":%" PRIu64 ",\"session\":%" PRIu64
                      ",\"seq\":%" PRIu64 ",\"command_ack\":%" PRIu64 ",\"op\":",
                      id, c->session, r->seq, c->command_ack);
    } else {
        /* One of consistency_name's constants (client_query): no escaping needed. */
        const char *cons = json_string_value(json_object_get(r->msg, "consistency"));
        fl_buf_printf(b,
                      "{\"type\":\"query\",\"consistency\":\"%s\",\"id\":%" PRIu64
                      ",\"session\":%" PRIu64 ",\"seq_hint\":%" PRIu64 ",\"index\":%" PRIu64
                      ",\"op\":",
                      cons != NULL ? cons : "linearizable", id, c->session, r->seq_hint,
                      c->max_index);
    }
    if (json_dump_callback(json_object_get(r->msg, "op"), buf_dump_cb, b, JSON_COMPACT) != 0)
        b->oom = true;
    fl_buf_append(b, "}", 1);
    if (b->oom) {
        fl_buf_free(b); /* clears oom for the next frame */
        return FL_ENOMEM;
    }
    size_t body = b->len - IO_FRAME_HEADER;
    size_t max = c->cfg.max_frame ? c->cfg.max_frame : IO_FRAME_MAX_DEFAULT;
    if (body > max || body > UINT32_MAX)
        return FL_ELIMIT;
    io_frame_put_header((unsigned char *)b->data, (uint32_t)body);
    return 0;
}

static int send_register(struct client *c)
{
    json_t *o =
        json_pack("{s:s,s:I,s:I}", "type", "register", "id", (json_int_t)(c->next_wire_id + 1),
                  "timeout_ms", (json_int_t)c->cfg.session_timeout_ms);
    if (o == NULL)
        return FL_ENOMEM;
    int rc = send_obj(c, o);
    json_decref(o);
    if (rc == 0) {
        c->reg_id = ++c->next_wire_id;
        c->reg_sent_at = uv_now(c->loop);
    }
    return rc;
}

static int send_keepalive(struct client *c)
{
    json_t *o = json_pack("{s:s,s:I,s:I,s:I,s:I}", "type", "keepalive", "id",
                          (json_int_t)(c->next_wire_id + 1), "session", (json_int_t)c->session,
                          "command_ack", (json_int_t)c->command_ack, "event_ack",
                          (json_int_t)c->last_event);
    if (o == NULL)
        return FL_ENOMEM;
    int rc = send_obj(c, o);
    json_decref(o);
    if (rc == 0) {
        c->ka_id = ++c->next_wire_id;
        c->ka_sent_at = c->last_ka = uv_now(c->loop);
    }
    return rc;
}

/* Sends one attempt of `r`. */
static int send_req(struct client *c, struct client_req *r)
{
    uint64_t id = c->next_wire_id + 1;
    bool new_seq = false;
    int rc;
    if (r->kind == CLIENT__COMMAND && r->seq == 0) {
        r->seq = c->last_seq + 1;
        new_seq = true;
    }
    if (r->kind == CLIENT__QUERY && !r->hinted)
        r->seq_hint = c->last_seq;
    if (r->kind == CLIENT__COMMAND || r->kind == CLIENT__QUERY) {
        rc = encode_req(c, r, id);
        if (rc == 0)
            rc = send_bytes(c, (const unsigned char *)c->wb.data, c->wb.len);
    } else {
        json_t *o = json_copy(r->msg); /* shallow: nothing shared is modified */
        rc = o == NULL ? FL_ENOMEM : json_object_set_new(o, "id", json_integer((json_int_t)id));
        if (rc == 0 && needs_session(r))
            rc = json_object_set_new(o, "session", json_integer((json_int_t)c->session));
        if (rc != 0)
            rc = FL_ENOMEM;
        else
            rc = send_obj(c, o);
        json_decref(o);
    }
    if (rc < 0) {
        if (new_seq)
            r->seq = 0; /* not on the wire: the seq is not consumed */
        return rc;
    }
    if (new_seq)
        c->last_seq = r->seq;
    if (r->kind == CLIENT__QUERY)
        r->hinted = true;
    c->next_wire_id = id;
    r->wire_id = id;
    r->sent_gen = c->conn->gen;
    r->ever_sent = true;
    return 0;
}

/* Resends a given-up command with its seq (no callback waits for it). */
static int send_ghost(struct client *c, struct client__ghost *g)
{
    json_t *o = json_copy(g->msg);
    if (o == NULL)
        return FL_ENOMEM;
    uint64_t id = c->next_wire_id + 1;
    int rc = json_object_set_new(o, "id", json_integer((json_int_t)id));
    rc |= json_object_set_new(o, "session", json_integer((json_int_t)c->session));
    rc |= json_object_set_new(o, "seq", json_integer((json_int_t)g->seq));
    if (rc == 0)
        rc = send_obj(c, o);
    else
        rc = FL_ENOMEM;
    json_decref(o);
    if (rc < 0)
        return rc;
    c->next_wire_id = id;
    g->wire_id = id;
    g->sent_gen = c->conn->gen;
    return 0;
}

/* Sends what can go on the current connection, in submission order: the
 * keepalive after a reconnection, given-up seqs, then requests. */
static void flush_sends(struct client *c)
{
    struct client__conn *k = c->conn;
    if (k == NULL || !k->connected || k->closing || c->closing)
        return;
    uint64_t now = uv_now(c->loop);
    if (c->session != 0 && c->ka_first) {
        if (send_keepalive(c) < 0)
            return;
        c->ka_first = false;
    }
    for (size_t i = 0; c->session != 0 && i < c->n_ghosts; i++) {
        struct client__ghost *g = &c->ghosts[i];
        if (g->sent_gen == k->gen || g->not_before > now)
            continue;
        if (send_ghost(c, g) < 0 || c->conn != k)
            return;
    }
    for (struct client_req *r = c->head; r != NULL; r = r->next) {
        if (r->done || r->sent_gen == k->gen || r->not_before > now)
            continue;
        if (needs_session(r) && c->session == 0) {
            if (c->reg_id == 0 && send_register(c) < 0)
                return;
            continue;
        }
        if (send_req(c, r) < 0)
            return;
        if (c->conn != k)
            return;
    }
}

/* ==== Connections ==== */

static void on_conn_closed(uv_handle_t *h)
{
    struct client__conn *k = h->data;
    struct client *c = k->c;
    io_frame_decoder_close(&k->dec);
    fl_free(k);
    c->open_handles--;
    if (c->closing)
        maybe_finish_close(c);
}

/* Drops the current connection. Every request sent on it and unanswered may
 * have been accepted, whatever the reason: a node answering not_leader may
 * just have stepped down with earlier commands of this connection in its log,
 * so even a redirect marks them (a membership change then ends UNKNOWN). */
static void conn_drop(struct client *c, const char *why)
{
    struct client__conn *k = c->conn;
    if (k == NULL)
        return;
    c->conn = NULL;
    k->closing = true;
    c->reg_id = 0;
    c->ka_id = 0;
    if (!uv_is_closing((uv_handle_t *)&k->tcp))
        uv_close((uv_handle_t *)&k->tcp, on_conn_closed);
    for (struct client_req *r = c->head; r != NULL; r = r->next) {
        if (r->done || r->sent_gen != k->gen)
            continue;
        r->maybe_applied = r->maybe_applied || r->kind == CLIENT__COMMAND || is_admin_change(r);
        if (is_admin_change(r))
            finish_local(r, "connection_lost", true);
    }
    (void)why;
    /* A leader hint is tried at once, unless hints keep bouncing; otherwise
     * wait, doubling the wait up to BACKOFF_MAX. Finished requests are
     * delivered by the caller's loop callback or the next tick, never here
     * (conn_drop runs inside submissions and client_close). */
    uint64_t now = uv_now(c->loop);
    if (c->hint[0] != '\0' && c->hops <= c->n_addrs + 1) {
        c->reconnect_at = now;
    } else {
        c->reconnect_at = now + c->backoff;
        c->backoff *= 2;
        if (c->backoff > BACKOFF_MAX)
            c->backoff = BACKOFF_MAX;
    }
}

/* Splits "host:port" (host may be "[v6]") into a sockaddr. */
static int resolve(const char *addr, struct sockaddr_storage *ss)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon[1] == '\0')
        return FL_EUSAGE;
    char host[CLIENT_ADDR_MAX];
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host)
        return FL_EUSAGE;
    memcpy(host, addr, hl);
    host[hl] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port <= 0 || port > 65535)
        return FL_EUSAGE;
    if (host[0] == '[' && hl >= 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)ss);
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (strcmp(host, "localhost") == 0)
        return uv_ip4_addr("127.0.0.1", (int)port, (struct sockaddr_in *)ss);
    return FL_EUSAGE;
}

/* One read buffer per thread, shared by its clients: a read is decoded (the
 * frame decoder copies what it keeps) before the loop reads again. A 64 KiB
 * malloc and free per read cost a malloc_consolidate each (glibc merges its
 * fast bins on every free of 64 KiB or more), seen in the bench's profile. */
static _Thread_local char rbuf[65536];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = rbuf;
    buf->len = sizeof rbuf;
}

static void handle_frame(struct client *c, json_t *o);

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct client__conn *k = s->data;
    struct client *c = k->c;
    if (nread < 0) {
        if (c->conn == k) {
            snprintf(c->last_error, sizeof c->last_error, "read: %s", uv_strerror((int)nread));
            conn_drop(c, "connection lost");
            deliver(c);
        }
        return;
    }
    const unsigned char *p = (const unsigned char *)buf->base;
    size_t n = (size_t)nread;
    char err[FL_ERRMSG_SIZE];
    json_t *o = NULL;
    int rc;
    while (c->conn == k && (rc = io_frame_decoder_next(&k->dec, &p, &n, &o, err)) == 1) {
        handle_frame(c, o);
        json_decref(o);
    }
    if (c->conn == k && rc < 0) {
        snprintf(c->last_error, sizeof c->last_error, "%s", err);
        conn_drop(c, "bad frame");
    }
    deliver(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct client__conn *k = req->data;
    struct client *c = k->c;
    if (c->conn != k)
        return; /* dropped (client closing) while connecting */
    if (status < 0) {
        snprintf(c->last_error, sizeof c->last_error, "connect: %s", uv_strerror(status));
        conn_drop(c, "connect failed");
        return;
    }
    int rc = uv_read_start((uv_stream_t *)&k->tcp, on_alloc, on_read);
    if (rc < 0) {
        conn_drop(c, "read start failed");
        return;
    }
    k->connected = true;
    c->ka_first = c->session != 0 && !c->rotated;
    c->rotated = false;
    flush_sends(c);
}

static void conn_open(struct client *c)
{
    char addr[CLIENT_ADDR_MAX];
    if (c->hint[0] != '\0') {
        snprintf(addr, sizeof addr, "%s", c->hint);
        c->hint[0] = '\0';
    } else {
        snprintf(addr, sizeof addr, "%s", c->addrs[c->next_addr]);
        c->next_addr = (c->next_addr + 1) % c->n_addrs;
    }
    snprintf(c->conn_addr, sizeof c->conn_addr, "%s", addr);
    struct sockaddr_storage ss;
    uint64_t now = uv_now(c->loop);
    if (resolve(addr, &ss) < 0) {
        snprintf(c->last_error, sizeof c->last_error, "bad address \"%.200s\"", addr);
        c->reconnect_at = now + c->backoff;
        return;
    }
    struct client__conn *k = fl_calloc(1, sizeof *k);
    if (k == NULL) {
        c->reconnect_at = now + c->backoff;
        return;
    }
    k->c = c;
    k->gen = ++c->gen;
    k->started = now;
    io_frame_decoder_init(&k->dec, c->cfg.max_frame);
    if (uv_tcp_init(c->loop, &k->tcp) < 0) {
        io_frame_decoder_close(&k->dec);
        fl_free(k);
        c->reconnect_at = now + c->backoff;
        return;
    }
    k->tcp.data = k;
    k->connect.data = k;
    c->open_handles++;
    c->conn = k;
    uv_tcp_nodelay(&k->tcp, 1);
    int rc = uv_tcp_connect(&k->connect, &k->tcp, (const struct sockaddr *)&ss, on_connect);
    if (rc < 0) {
        snprintf(c->last_error, sizeof c->last_error, "connect %.200s: %s", addr, uv_strerror(rc));
        conn_drop(c, "connect failed");
    }
}

/* ==== Replies and events ==== */

static struct client_req *find_req(struct client *c, uint64_t id)
{
    uint64_t gen = c->conn != NULL ? c->conn->gen : 0;
    for (struct client_req *r = c->head; r != NULL; r = r->next)
        if (!r->done && r->wire_id == id && r->sent_gen == gen)
            return r;
    return NULL;
}

/* The session is gone: commands holding a seq of it end (unknown), the rest
 * wait for a new session. */
static void session_lost(struct client *c, const char *why)
{
    if (c->session == 0)
        return;
    c->session = 0;
    c->last_seq = c->command_ack = c->last_event = c->gap_seq = 0;
    c->ka_id = 0;
    ghosts_clear(c);
    for (struct client_req *r = c->head; r != NULL; r = r->next) {
        if (r->done)
            continue;
        if (r->kind == CLIENT__COMMAND && r->seq != 0)
            finish_local(r, why, r->maybe_applied || r->sent_gen != 0);
        else if (r->kind == CLIENT__QUERY) {
            r->hinted = false;
            r->sent_gen = 0;
        }
    }
    if (c->cfg.on_event != NULL)
        c->cfg.on_event(c, 0, 0, NULL, c->cfg.event_data);
}

static void redirect(struct client *c, const json_t *reply, bool no_leader)
{
    const char *leader = get_str(reply, "leader");
    if (!no_leader && leader != NULL && strlen(leader) < CLIENT_ADDR_MAX && strchr(leader, ':'))
        snprintf(c->hint, sizeof c->hint, "%s", leader);
    c->hops++;
    conn_drop(c, no_leader ? "no_leader" : "not_leader");
}

/* Advances command_ack over the contiguous answered seqs. */
static void advance_ack(struct client *c, uint64_t seq)
{
    (void)seq;
    /* The lowest seq still unanswered bounds the ack: commands are in
     * submission order and seqs are assigned in that order. */
    uint64_t low = c->last_seq + 1;
    for (struct client_req *r = c->head; r != NULL; r = r->next)
        if (r->kind == CLIENT__COMMAND && !r->done && r->seq != 0 && r->seq < low)
            low = r->seq;
    if (c->n_ghosts > 0 && c->ghosts[0].seq < low)
        low = c->ghosts[0].seq; /* given up, still unanswered */
    if (c->gap_seq != 0 && c->gap_seq < low)
        low = c->gap_seq; /* given up with no ghost: never acknowledged */
    if (low - 1 > c->command_ack)
        c->command_ack = low - 1;
}

static void handle_reply(struct client *c, json_t *o)
{
    uint64_t id = 0;
    get_uint(o, "id", &id);
    json_t *okv = json_object_get(o, "ok");
    bool ok = json_is_true(okv);
    const char *error = ok ? NULL : get_str(o, "error");
    if (error == NULL)
        error = "";
    uint64_t idx = 0;
    if (get_uint(o, "index", &idx) && idx > c->max_index)
        c->max_index = idx;

    if (id != 0 && id == c->reg_id) {
        c->reg_id = 0;
        uint64_t s = 0;
        if (ok && get_uint(o, "session", &s) && s != 0) {
            c->session = s;
            uint64_t eff = 0; /* the server may clamp the timeout: keep alive by its value */
            c->session_timeout =
                get_uint(o, "timeout_ms", &eff) && eff >= 3 ? eff : c->cfg.session_timeout_ms;
            c->last_seq = c->command_ack = c->last_event = 0;
            c->last_ka = uv_now(c->loop);
            c->backoff = c->cfg.backoff_ms;
            c->hops = 0;
            c->gap_seq = 0;
            if (s > c->max_index)
                c->max_index = s;
            flush_sends(c);
        } else if (strcmp(error, "not_leader") == 0 || strcmp(error, "no_leader") == 0) {
            redirect(c, o, strcmp(error, "no_leader") == 0);
        } else {
            snprintf(c->last_error, sizeof c->last_error, "register: %s", error);
            conn_drop(c, "register refused");
        }
        return;
    }
    if (id != 0 && id == c->ka_id) {
        c->ka_id = 0;
        if (ok)
            return;
        if (strcmp(error, "session_expired") == 0 || strcmp(error, "unknown_session") == 0) {
            session_lost(c, error);
            deliver(c);
            flush_sends(c);
        } else if (strcmp(error, "not_leader") == 0 || strcmp(error, "no_leader") == 0) {
            redirect(c, o, strcmp(error, "no_leader") == 0);
        }
        return;
    }
    uint64_t gen = c->conn != NULL ? c->conn->gen : 0;
    for (size_t i = 0; id != 0 && i < c->n_ghosts; i++) {
        struct client__ghost *g = &c->ghosts[i];
        if (g->wire_id != id || g->sent_gen != gen)
            continue;
        g->sent_gen = 0;
        if (strcmp(error, "not_leader") == 0 || strcmp(error, "no_leader") == 0) {
            redirect(c, o, strcmp(error, "no_leader") == 0);
        } else if (strcmp(error, "busy") == 0 || strcmp(error, "timeout") == 0) {
            g->not_before = uv_now(c->loop) + c->backoff;
        } else if (strcmp(error, "shutting_down") == 0) {
            conn_drop(c, "shutting_down");
        } else if (strcmp(error, "session_expired") == 0 || strcmp(error, "unknown_session") == 0) {
            session_lost(c, error);
            deliver(c);
            flush_sends(c);
        } else {
            ghost_remove(c, i); /* answered (ok or definite): the seq is settled */
            advance_ack(c, 0);
        }
        return;
    }
    struct client_req *r = find_req(c, id);
    if (r == NULL)
        return;      /* a stale or unknown id: ignore */
    r->sent_gen = 0; /* answered: eligible to resend if retried */
    if (ok) {
        c->backoff = c->cfg.backoff_ms;
        c->hops = 0;
        enum client_outcome out = CLIENT_OK;
        if (r->kind == CLIENT__COMMAND || r->kind == CLIENT__QUERY) {
            json_t *res = json_object_get(o, "result");
            if (json_is_object(res) && json_is_false(json_object_get(res, "ok")))
                out = CLIENT_FAIL;
        }
        finish_reply(r, o, out, NULL);
        if (r->kind == CLIENT__COMMAND)
            advance_ack(c, r->seq);
        deliver(c);
        return;
    }
    uint64_t now = uv_now(c->loop);
    if (strcmp(error, "not_leader") == 0 || strcmp(error, "no_leader") == 0) {
        if (++r->redirects > CLIENT_MAX_REDIRECTS) {
            finish_reply(r, o, r->maybe_applied ? CLIENT_UNKNOWN : CLIENT_FAIL, NULL);
            deliver(c);
            return;
        }
        redirect(c, o, strcmp(error, "no_leader") == 0);
        return;
    }
    if (strcmp(error, "timeout") == 0) {
        r->maybe_applied = r->maybe_applied || r->kind == CLIENT__COMMAND || is_admin_change(r);
        if (is_admin_change(r)) {
            finish_reply(r, o, CLIENT_UNKNOWN, NULL);
            deliver(c);
            return;
        }
        r->not_before = now + c->backoff;
        return;
    }
    if (strcmp(error, "shutting_down") == 0) {
        r->maybe_applied = r->maybe_applied || r->kind == CLIENT__COMMAND || is_admin_change(r);
        if (is_admin_change(r)) {
            finish_reply(r, o, CLIENT_UNKNOWN, NULL);
            deliver(c);
            return;
        }
        conn_drop(c, "shutting_down");
        return;
    }
    if (strcmp(error, "busy") == 0 && !is_admin_change(r)) {
        /* a refused command must still be sent: keep its seq and retry */
        r->not_before = now + c->backoff;
        return;
    }
    if (strcmp(error, "session_expired") == 0 || strcmp(error, "unknown_session") == 0) {
        /* a first attempt was refused; a retry's earlier attempt may count */
        if (r->kind == CLIENT__COMMAND)
            finish_reply(r, o, r->maybe_applied ? CLIENT_UNKNOWN : CLIENT_FAIL, NULL);
        session_lost(c, error);
        deliver(c);
        flush_sends(c);
        return;
    }
    /* bad_request, too_large, busy (membership), anything else: definite,
     * unless an earlier attempt may have been accepted or the node says it
     * took effect (too_large with "applied": its result could not be sent) */
    bool applied = json_is_true(json_object_get(o, "applied"));
    finish_reply(r, o, r->maybe_applied || applied ? CLIENT_UNKNOWN : CLIENT_FAIL, NULL);
    if (r->kind == CLIENT__COMMAND)
        advance_ack(c, r->seq);
    deliver(c);
}

static void handle_event(struct client *c, json_t *o)
{
    uint64_t s = 0, ei = 0, idx = 0;
    if (!get_uint(o, "session", &s) || s != c->session || c->session == 0 ||
        !get_uint(o, "event_index", &ei) || ei == 0)
        return;
    get_uint(o, "index", &idx);
    if (idx > c->max_index)
        c->max_index = idx;
    if (ei <= c->last_event) {
        c->events_dropped++;
        return;
    }
    c->last_event = ei;
    json_t *ack = json_pack("{s:s,s:I,s:I}", "type", "event_ack", "session", (json_int_t)s,
                            "event_index", (json_int_t)ei);
    if (c->cfg.on_event != NULL)
        c->cfg.on_event(c, ei, idx, json_object_get(o, "event"), c->cfg.event_data);
    if (ack != NULL && c->conn != NULL && c->session == s)
        send_obj(c, ack);
    json_decref(ack);
}

static void handle_frame(struct client *c, json_t *o)
{
    const char *type = get_str(o, "type");
    if (type == NULL)
        return;
    if (strcmp(type, "reply") == 0)
        handle_reply(c, o);
    else if (strcmp(type, "event") == 0)
        handle_event(c, o);
}

/* ==== Timer ==== */

static bool wants_connection(const struct client *c)
{
    return c->head != NULL || c->session != 0;
}

static void on_tick(uv_timer_t *t)
{
    struct client *c = t->data;
    if (c->closing)
        return;
    uint64_t now = uv_now(c->loop);
    for (struct client_req *r = c->head; r != NULL; r = r->next) {
        if (r->done || now < r->deadline)
            continue;
        finish_local(r, "timeout", r->maybe_applied || r->sent_gen != 0);
    }
    deliver(c);
    if (c->closing)
        return;
    struct client__conn *k = c->conn;
    if (k == NULL) {
        if (wants_connection(c) && now >= c->reconnect_at)
            conn_open(c);
        return;
    }
    if (!k->connected) {
        /* a blackholed address would hold the attempt for minutes */
        if (now - k->started >= CLIENT_CONNECT_TIMEOUT_MS) {
            snprintf(c->last_error, sizeof c->last_error, "connect: timed out");
            conn_drop(c, "connect timeout");
        }
        return;
    }
    uint64_t st = c->session_timeout;
    if ((c->reg_id != 0 && now - c->reg_sent_at >= st) ||
        (c->ka_id != 0 && now - c->ka_sent_at >= st)) {
        snprintf(c->last_error, sizeof c->last_error, "no answer from the node");
        conn_drop(c, "unresponsive");
        return;
    }
    if (c->session != 0 && c->ka_id == 0 && now - c->last_ka >= st / 3)
        send_keepalive(c);
    flush_sends(c);
}

/* ==== Lifecycle ==== */

int client_init(struct client *c, uv_loop_t *loop, const struct client_config *cfg, char *errmsg)
{
    memset(c, 0, sizeof *c);
    if (cfg->n_addrs == 0)
        return fl_errorf(errmsg, FL_EUSAGE, "cluster: no address given");
    if (cfg->n_addrs > CLIENT_ADDRS_MAX)
        return fl_errorf(errmsg, FL_EUSAGE, "cluster: %zu addresses, at most %d", cfg->n_addrs,
                         CLIENT_ADDRS_MAX);
    for (size_t i = 0; i < cfg->n_addrs; i++) {
        const char *a = cfg->addrs[i];
        struct sockaddr_storage ss;
        if (a == NULL || strlen(a) >= CLIENT_ADDR_MAX || resolve(a, &ss) < 0)
            return fl_errorf(errmsg, FL_EUSAGE,
                             "cluster: address %zu \"%.64s\" is not an IP address with a port "
                             "(host:port)",
                             i + 1, a != NULL ? a : "");
        snprintf(c->addrs[i], CLIENT_ADDR_MAX, "%s", a);
    }
    c->n_addrs = cfg->n_addrs;
    c->cfg = *cfg;
    c->cfg.addrs = NULL;
    if (c->cfg.session_timeout_ms == 0)
        c->cfg.session_timeout_ms = 5000;
    c->session_timeout = c->cfg.session_timeout_ms;
    if (c->cfg.op_timeout_ms == 0)
        c->cfg.op_timeout_ms = 10000;
    if (c->cfg.backoff_ms == 0)
        c->cfg.backoff_ms = 50;
    if (c->cfg.tick_ms == 0)
        c->cfg.tick_ms = 20;
    if (c->cfg.max_pending == 0)
        c->cfg.max_pending = 4096;
    if (c->cfg.max_frame == 0)
        c->cfg.max_frame = IO_FRAME_MAX_DEFAULT;
    c->backoff = c->cfg.backoff_ms;
    c->loop = loop;
    int rc = uv_timer_init(loop, &c->timer);
    if (rc < 0)
        return fl_errorf(errmsg, rc, "client timer: %s", uv_strerror(rc));
    c->timer.data = c;
    c->open_handles = 1;
    rc = uv_timer_start(&c->timer, on_tick, c->cfg.tick_ms, c->cfg.tick_ms);
    if (rc < 0) {
        uv_close((uv_handle_t *)&c->timer, NULL);
        return fl_errorf(errmsg, rc, "client timer: %s", uv_strerror(rc));
    }
    return 0;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct client *c = h->data;
    c->open_handles--;
    /* Delivers the requests client_close finished, then finishes the close
     * (maybe_finish_close), which may free c: nothing may follow. */
    deliver(c);
}

static void maybe_finish_close(struct client *c)
{
    if (!c->closing || c->open_handles != 0 || c->head != NULL || c->close_cb == NULL)
        return;
    client_close_cb cb = c->close_cb;
    c->close_cb = NULL;
    fl_buf_free(&c->wb);
    cb(c);
}

static void noop_close(struct client *c)
{
    (void)c;
}

void client_close(struct client *c, client_close_cb cb)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_cb = cb != NULL ? cb : noop_close;
    for (struct client_req *r = c->head; r != NULL; r = r->next)
        finish_local(r, "closed", r->maybe_applied || r->sent_gen != 0);
    ghosts_clear(c);
    conn_drop(c, "closing");
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    /* requests complete from the timer's close callback path (deliver runs
     * there), never synchronously here */
}

/* ==== Submission ==== */

static int submit(struct client *c, struct client_req *req, enum client_kind kind, json_t *msg,
                  client_req_cb cb)
{
    if (c->closing || cb == NULL) {
        json_decref(msg);
        return UV_EINVAL;
    }
    if (msg == NULL)
        return FL_ENOMEM;
    if (c->n_pending >= c->cfg.max_pending) {
        json_decref(msg);
        return UV_ENOBUFS;
    }
    void *data = req->data;
    uint64_t timeout = req->timeout_ms;
    memset(req, 0, sizeof *req);
    req->data = data;
    req->timeout_ms = timeout;
    req->c = c;
    req->cb = cb;
    req->kind = kind;
    req->msg = msg;
    req->deadline = uv_now(c->loop) + (timeout != 0 ? timeout : c->cfg.op_timeout_ms);
    req->prev = c->tail;
    if (c->tail)
        c->tail->next = req;
    else
        c->head = req;
    c->tail = req;
    c->n_pending++;
    /* sending now is not a callback: replies only arrive from the loop */
    if (c->conn == NULL && uv_now(c->loop) >= c->reconnect_at)
        conn_open(c);
    else
        flush_sends(c);
    return 0;
}

/* An upper bound of v's compact JSON size without writing it: a string takes at most
 * 6 bytes per byte (\u00XX) and its quotes, an integer 20, an array its elements and
 * separators; SIZE_MAX (measure it) for anything else or past depth 4. */
static size_t json_size_bound(const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return json_string_length(v) <= SIZE_MAX / 8 ? 2 + 6 * json_string_length(v) : SIZE_MAX;
    case JSON_INTEGER:
        return 20;
    case JSON_TRUE:
    case JSON_FALSE:
    case JSON_NULL:
        return 5;
    case JSON_ARRAY: {
        size_t n = json_array_size(v), sum = 2 + n;
        for (size_t i = 0; i < n && depth < 4 && sum <= CLIENT_VALUE_MAX; i++) {
            size_t e = json_size_bound(json_array_get(v, i), depth + 1);
            sum = e > SIZE_MAX - sum ? SIZE_MAX : sum + e;
        }
        return depth < 4 ? sum : SIZE_MAX;
    }
    default:
        return SIZE_MAX;
    }
}

/* Checks the documented limits of an op before a seq is assigned. */
static int check_op(const json_t *op)
{
    if (!json_is_object(op) || !json_is_string(json_object_get(op, "f")))
        return UV_EINVAL;
    json_t *key = json_object_get(op, "key");
    if (json_is_string(key) && json_string_length(key) > CLIENT_KEY_MAX)
        return FL_ELIMIT;
    json_t *value = json_object_get(op, "value");
    /* most values are plainly within the limit: no dump to measure them */
    if (value != NULL && json_size_bound(value, 0) > CLIENT_VALUE_MAX) {
        size_t n = json_dumpb(value, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
        if (n > CLIENT_VALUE_MAX)
            return FL_ELIMIT;
    }
    return 0;
}

int client_command(struct client *c, struct client_req *req, const json_t *op, client_req_cb cb)
{
    int rc = check_op(op);
    if (rc < 0)
        return rc;
    json_t *msg = json_pack("{s:s,s:O}", "type", "command", "op", (json_t *)op);
    return submit(c, req, CLIENT__COMMAND, msg, cb);
}

int client_query(struct client *c, struct client_req *req, const json_t *op,
                 enum client_consistency consistency, client_req_cb cb)
{
    int rc = check_op(op);
    if (rc < 0)
        return rc;
    json_t *msg = json_pack("{s:s,s:s,s:O}", "type", "query", "consistency",
                            consistency_name(consistency), "op", (json_t *)op);
    if (consistency == CLIENT_SEQUENTIAL && c->cfg.sequential_rotate && c->conn != NULL &&
        c->conn->connected && c->head == NULL && c->n_addrs > 1 && !c->closing) {
        /* Next node in turn, at once: no backoff, no leader hint. */
        uint64_t backoff = c->backoff;
        c->hint[0] = '\0';
        conn_drop(c, "sequential read on the next node");
        c->rotated = true;
        c->backoff = backoff;
        c->reconnect_at = uv_now(c->loop);
    }
    return submit(c, req, CLIENT__QUERY, msg, cb);
}

int client_members(struct client *c, struct client_req *req, client_req_cb cb)
{
    return submit(c, req, CLIENT__MEMBERS, json_pack("{s:s}", "type", "members"), cb);
}

static bool ok_str(const char *s)
{
    return s != NULL && s[0] != '\0' && strlen(s) < CLIENT_ADDR_MAX;
}

int client_join(struct client *c, struct client_req *req, const char *node, const char *peer,
                const char *client_addr, const char *role, client_req_cb cb)
{
    if (!ok_str(node) || !ok_str(peer) || !ok_str(client_addr) || role == NULL ||
        (strcmp(role, "passive") != 0 && strcmp(role, "voter") != 0))
        return UV_EINVAL;
    json_t *msg = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "join", "node", node, "peer", peer,
                            "client", client_addr, "role", role);
    return submit(c, req, CLIENT__JOIN, msg, cb);
}

static int change(struct client *c, struct client_req *req, enum client_kind kind, const char *type,
                  const char *node, client_req_cb cb)
{
    if (!ok_str(node))
        return UV_EINVAL;
    return submit(c, req, kind, json_pack("{s:s,s:s}", "type", type, "node", node), cb);
}

int client_leave(struct client *c, struct client_req *req, const char *node, client_req_cb cb)
{
    return change(c, req, CLIENT__LEAVE, "leave", node, cb);
}

int client_promote(struct client *c, struct client_req *req, const char *node, client_req_cb cb)
{
    return change(c, req, CLIENT__PROMOTE, "promote", node, cb);
}

int client_demote(struct client *c, struct client_req *req, const char *node, client_req_cb cb)
{
    return change(c, req, CLIENT__DEMOTE, "demote", node, cb);
}
