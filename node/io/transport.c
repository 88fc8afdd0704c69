/* transport.c - libuv TCP peer transport: listener, outbound dialling with backoff, hello, framed
 * messages. */
#include "node/io/transport.h"

#include "common/alloc.h"
#include "common/error.h"
#include "node/io/auth.h"
#include "node/io/codec.h"
#include "node/io/frame.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_BATCH 64    /* frames per uv_write */

/* A frame waiting in a peer's queue or in flight on a connection. */
struct io_out {
    struct io_out *next;
    size_t len;
    unsigned char *bytes; /* fl_malloc'd header + body */
};

enum { PEER_IDLE = 1, PEER_CONNECTING, PEER_CONNECTED };

/* One TCP connection, outbound (owned by a peer until detached) or inbound.
 * Freed in its close callback. */
struct io_conn {
    uv_tcp_t tcp;
    struct io_transport *t;
    struct io_peer *peer; /* outbound: the peer while attached, else NULL */
    bool inbound;
    bool closing;
    /* Inbound. */
    bool hello_done;
    uint64_t remote;
    unsigned char nonce[IO_AUTH_NONCE]; /* the challenge this connection's hello must answer */
    struct io_frame_decoder dec;        /* inbound: messages; outbound: the challenge */
    struct io_conn *next, *prev;
    /* Outbound. */
    bool challenged; /* the challenge arrived and the hello answering it is queued */
    uv_connect_t connect;
    uv_write_t write;
    bool writing;
    struct io_out *inflight;
    uv_buf_t bufs[WRITE_BATCH];
};

/* A peer this node sends to. Freed in its timer's close callback. */
struct io_peer {
    struct io_transport *t;
    uint64_t id;
    char address[64];
    struct sockaddr_storage addr;
    uv_timer_t timer; /* idle: redial; connecting: connect timeout; connected: write stall */
    int state;
    unsigned backoff;
    uint64_t connected_at; /* loop time the current connection was established */
    struct io_conn *conn;
    struct io_out *head, *tail;
    size_t queued_bytes;
    struct io_peer *next;
};

/* ==== Helpers ==== */

static void tlog(struct io_transport *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tlog(struct io_transport *t, const char *fmt, ...)
{
    if (t->opt.log_cb == NULL)
        return;
    char msg[FL_ERRMSG_SIZE + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    t->opt.log_cb(t, msg, t->data);
}

static void maybe_finish(struct io_transport *t)
{
    if (t->closing && t->handles == 0 && t->close_cb != NULL) {
        io_transport_close_cb cb = t->close_cb;
        t->close_cb = NULL;
        cb(t);
    }
}

static void free_outs(struct io_out *o)
{
    while (o != NULL) {
        struct io_out *next = o->next;
        fl_free(o->bytes);
        fl_free(o);
        o = next;
    }
}

static struct io_peer *find_peer(const struct io_transport *t, uint64_t id)
{
    for (struct io_peer *p = t->peers; p != NULL; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

/* Sets TCP_NODELAY and, so that a silently partitioned link fails instead of
 * retransmitting for minutes, TCP_USER_TIMEOUT. */
static void tune_socket(struct io_conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
        unsigned ms = c->t->opt.write_timeout_ms;
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
    }
}

int io_transport_parse_address(const char *s, bool allow_port0, struct sockaddr_storage *addr,
                               char *errmsg)
{
    memset(addr, 0, sizeof *addr);
    const char *colon = s != NULL ? strrchr(s, ':') : NULL;
    if (colon == NULL || colon == s)
        return fl_errorf(errmsg, FL_EPARSE, "address \"%.80s\": expected host:port",
                         s != NULL ? s : "");
    char host[64];
    size_t hlen = (size_t)(colon - s);
    bool v6 = s[0] == '[';
    if (v6) {
        if (hlen < 3 || s[hlen - 1] != ']')
            return fl_errorf(errmsg, FL_EPARSE, "address \"%.80s\": expected [v6]:port", s);
        s++;
        hlen -= 2;
    }
    if (hlen >= sizeof host)
        return fl_errorf(errmsg, FL_EPARSE, "address \"%.80s\": host too long", s);
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    char *end;
    const char *ps = colon + 1;
    long port = strtol(ps, &end, 10);
    if (*ps < '0' || *ps > '9' || *end != '\0' || port > 65535 || (port == 0 && !allow_port0))
        return fl_errorf(errmsg, FL_EPARSE, "address \"%.80s\": bad port \"%.10s\"", s, ps);
    int rc = v6 ? uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)addr)
                : uv_ip4_addr(host, (int)port, (struct sockaddr_in *)addr);
    if (rc != 0)
        return fl_errorf(errmsg, FL_EPARSE, "address \"%.80s\": \"%s\" is not an IP%s address", s,
                         host, v6 ? "v6" : "v4");
    return 0;
}

/* ==== Connections ==== */

static void on_conn_closed(uv_handle_t *h)
{
    struct io_conn *c = h->data;
    struct io_transport *t = c->t;
    free_outs(c->inflight);
    io_frame_decoder_close(&c->dec);
    fl_free(c);
    t->handles--;
    maybe_finish(t);
}

/* Closes `c`: detaches it from its peer or the inbound list. Idempotent. */
static void conn_close(struct io_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    if (c->peer != NULL) {
        c->peer->conn = NULL;
        c->peer = NULL;
    }
    if (c->inbound) {
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            c->t->inbound = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
        c->t->n_inbound--;
    }
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static struct io_conn *conn_new(struct io_transport *t)
{
    struct io_conn *c = fl_calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    int rc = uv_tcp_init(t->loop, &c->tcp);
    if (rc != 0) {
        fl_free(c);
        return NULL;
    }
    c->t = t;
    c->tcp.data = c;
    c->connect.data = c;
    c->write.data = c;
    io_frame_decoder_init(&c->dec, t->opt.max_frame);
    t->handles++;
    return c;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct io_conn *c = h->data;
    (void)suggested;
    buf->base = (char *)c->t->rbuf;
    buf->len = sizeof c->t->rbuf;
}

/* ==== Outbound: dialling, backoff, sending ==== */

static void peer_connect(struct io_peer *p);
static void peer_flush(struct io_peer *p);
static void on_timer(uv_timer_t *timer);

/* Drops the peer's connection (if any) and schedules a redial after the backoff. */
static void peer_fail(struct io_peer *p, const char *why, int status)
{
    struct io_transport *t = p->t;
    if (p->state == PEER_CONNECTED) {
        tlog(t, "peer %llu (%s): connection lost: %s: %s", (unsigned long long)p->id, p->address,
             why, uv_strerror(status));
        /* A connection that lasted resets the backoff; one closed at once
         * (e.g. the peer refuses our hello) keeps doubling it. */
        if (uv_now(t->loop) - p->connected_at >= t->opt.backoff_max_ms)
            p->backoff = t->opt.backoff_min_ms;
    }
    if (p->conn != NULL)
        conn_close(p->conn);
    p->state = PEER_IDLE;
    if (t->closing)
        return;
    uv_timer_start(&p->timer, on_timer, p->backoff, 0);
    p->backoff = p->backoff * 2 > t->opt.backoff_max_ms ? t->opt.backoff_max_ms : p->backoff * 2;
}

/* The peer timer means one thing per state (see struct io_peer). */
static void on_timer(uv_timer_t *timer)
{
    struct io_peer *p = timer->data;
    switch (p->state) {
    case PEER_IDLE:
        peer_connect(p);
        break;
    case PEER_CONNECTING:
        peer_fail(p, "connect", UV_ETIMEDOUT);
        break;
    case PEER_CONNECTED:
        peer_fail(p, "write", UV_ETIMEDOUT);
        break;
    }
}

static void on_write(uv_write_t *req, int status)
{
    struct io_conn *c = req->data;
    free_outs(c->inflight);
    c->inflight = NULL;
    c->writing = false;
    struct io_peer *p = c->peer;
    if (p == NULL)
        return; /* detached: closing */
    if (status < 0) {
        peer_fail(p, "write", status);
        return;
    }
    uv_timer_stop(&p->timer);
    peer_flush(p);
}

/* Starts writing queued frames when connected and no write is in flight. */
static void peer_flush(struct io_peer *p)
{
    struct io_conn *c = p->conn;
    if (p->state != PEER_CONNECTED || c == NULL || c->writing || p->head == NULL)
        return;
    unsigned n = 0;
    struct io_out **tail = &c->inflight;
    while (p->head != NULL && n < WRITE_BATCH) {
        struct io_out *o = p->head;
        p->head = o->next;
        p->queued_bytes -= o->len;
        o->next = NULL;
        *tail = o;
        tail = &o->next;
        c->bufs[n++] = uv_buf_init((char *)o->bytes, (unsigned)o->len);
    }
    if (p->head == NULL)
        p->tail = NULL;
    int rc = uv_write(&c->write, (uv_stream_t *)&c->tcp, c->bufs, n, on_write);
    if (rc != 0) {
        free_outs(c->inflight);
        c->inflight = NULL;
        p->t->stats.frames_dropped += n;
        peer_fail(p, "write", rc);
        return;
    }
    c->writing = true;
    p->t->stats.frames_sent += n;
    uv_timer_start(&p->timer, on_timer, p->t->opt.write_timeout_ms, 0);
}

/* Appends (or, for the hello, prepends) a frame, dropping the oldest frames
 * while the queue is over its bound. Takes ownership of `bytes`. */
static int peer_enqueue(struct io_peer *p, unsigned char *bytes, size_t len, bool front)
{
    struct io_out *o = fl_malloc(sizeof *o);
    if (o == NULL) {
        fl_free(bytes);
        return FL_ENOMEM;
    }
    o->bytes = bytes;
    o->len = len;
    o->next = NULL;
    while (p->head != NULL && p->queued_bytes + len > p->t->opt.max_queue) {
        struct io_out *old = p->head;
        p->head = old->next;
        if (p->head == NULL)
            p->tail = NULL;
        p->queued_bytes -= old->len;
        old->next = NULL;
        free_outs(old);
        p->t->stats.frames_dropped++;
    }
    if (front) {
        o->next = p->head;
        p->head = o;
        if (p->tail == NULL)
            p->tail = o;
    } else {
        if (p->tail != NULL)
            p->tail->next = o;
        else
            p->head = o;
        p->tail = o;
    }
    p->queued_bytes += len;
    return 0;
}

/* Queues the hello answering the acceptor's challenge `obj` (borrowed) and
 * starts sending. Returns 0 or a negative code with errmsg set. */
static int on_challenge(struct io_conn *c, json_t *obj, char *err)
{
    struct io_peer *p = c->peer;
    struct io_transport *t = p->t;
    const char *type = json_string_value(json_object_get(obj, "type"));
    const char *hex = json_string_value(json_object_get(obj, "nonce"));
    unsigned char nonce[IO_AUTH_NONCE], mac[IO_AUTH_MAC];
    char mac_hex[IO_AUTH_MAC_HEX + 1];
    if (type == NULL || strcmp(type, "challenge") != 0)
        return fl_errorf(err, FL_ESHAPE, "first frame: type: expected \"challenge\"");
    if (hex == NULL || strlen(hex) != IO_AUTH_NONCE_HEX || io_auth_unhex(hex, nonce, sizeof nonce))
        return fl_errorf(err, FL_ESHAPE, "challenge: nonce: expected %d hex digits",
                         IO_AUTH_NONCE_HEX);
    if (io_auth_mac(&t->key, nonce, t->id, p->id, t->cluster, mac) != 0)
        return fl_errorf(err, -EIO, "hello: cannot compute the MAC");
    io_auth_hex(mac, sizeof mac, mac_hex);
    json_t *hello = json_pack("{s:s,s:I,s:I,s:s,s:s}", "type", "hello", "from", (json_int_t)t->id,
                              "to", (json_int_t)p->id, "cluster", t->cluster, "mac", mac_hex);
    unsigned char *bytes = NULL;
    size_t len = 0;
    int rc = hello != NULL ? io_frame_encode(hello, t->opt.max_frame, &bytes, &len, err)
                           : fl_errorf(err, FL_ENOMEM, "hello: out of memory");
    json_decref(hello);
    if (rc == 0)
        rc = peer_enqueue(p, bytes, len, true);
    if (rc != 0)
        return rc;
    c->challenged = true;
    uv_timer_stop(&p->timer);
    p->state = PEER_CONNECTED;
    p->connected_at = uv_now(t->loop);
    t->stats.connects++;
    tlog(t, "peer %llu (%s): connected", (unsigned long long)p->id, p->address);
    peer_flush(p);
    return 0;
}

static void on_outbound_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct io_conn *c = s->data;
    /* Outbound connections only send: after the challenge, data is ignored;
     * EOF or an error is a loss. */
    if (nread < 0 && c->peer != NULL) {
        peer_fail(c->peer, "read", (int)nread);
    } else if (nread > 0 && c->peer != NULL && !c->challenged) {
        const unsigned char *b = (const unsigned char *)buf->base;
        size_t n = (size_t)nread;
        json_t *obj = NULL;
        char err[FL_ERRMSG_SIZE] = "";
        int rc = io_frame_decoder_next(&c->dec, &b, &n, &obj, err);
        if (rc == 1)
            rc = on_challenge(c, obj, err) == 0 ? 1 : -1;
        json_decref(obj);
        if (rc < 0) {
            struct io_peer *p = c->peer;
            tlog(p->t, "peer %llu (%s): refused: %s", (unsigned long long)p->id, p->address, err);
            peer_fail(p, "challenge", UV_EPROTO);
        }
    }
}

/* Connected: wait for the acceptor's challenge (on_challenge); the connect
 * timer keeps running until it comes. */
static void on_connect(uv_connect_t *req, int status)
{
    struct io_conn *c = req->data;
    struct io_peer *p = c->peer;
    if (p == NULL)
        return; /* detached (timed out, removed or closing): the close callback frees it */
    if (status < 0) {
        peer_fail(p, "connect", status);
        return;
    }
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_outbound_read);
    if (rc != 0) {
        peer_fail(p, "read", rc);
        return;
    }
    tune_socket(c);
}

static void peer_connect(struct io_peer *p)
{
    struct io_transport *t = p->t;
    struct io_conn *c = conn_new(t);
    if (c == NULL) {
        peer_fail(p, "connect", UV_ENOMEM);
        return;
    }
    c->peer = p;
    p->conn = c;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&p->addr, on_connect);
    if (rc != 0) {
        peer_fail(p, "connect", rc);
        return;
    }
    p->state = PEER_CONNECTING;
    uv_timer_start(&p->timer, on_timer, t->opt.connect_timeout_ms, 0);
}

static void on_peer_closed(uv_handle_t *h)
{
    struct io_peer *p = h->data;
    struct io_transport *t = p->t;
    free_outs(p->head);
    fl_free(p);
    t->handles--;
    maybe_finish(t);
}

/* Unlinks nothing: closes the peer's connection and timer; freed on close. */
static void peer_destroy(struct io_peer *p)
{
    if (p->conn != NULL)
        conn_close(p->conn);
    for (struct io_out *o = p->head; o != NULL; o = o->next)
        p->t->stats.frames_dropped++;
    uv_close((uv_handle_t *)&p->timer, on_peer_closed);
}

/* ==== Inbound: accepting, hello, messages ==== */

/* Handles the hello frame of an inbound connection; returns 0 or -1 to close. */
static int on_hello(struct io_conn *c, json_t *obj, char *err)
{
    struct io_transport *t = c->t;
    const char *type = json_string_value(json_object_get(obj, "type"));
    json_t *from = json_object_get(obj, "from");
    json_t *to = json_object_get(obj, "to");
    const char *cluster = json_string_value(json_object_get(obj, "cluster"));
    const char *mac = json_string_value(json_object_get(obj, "mac"));
    if (type == NULL || strcmp(type, "hello") != 0) {
        snprintf(err, FL_ERRMSG_SIZE, "first frame: type: expected \"hello\"");
        return -1;
    }
    if (!json_is_integer(from) || json_integer_value(from) <= 0) {
        snprintf(err, FL_ERRMSG_SIZE, "hello: from: expected a positive integer");
        return -1;
    }
    if (!json_is_integer(to) || (uint64_t)json_integer_value(to) != t->id) {
        snprintf(err, FL_ERRMSG_SIZE, "hello: to: expected %llu (this node)",
                 (unsigned long long)t->id);
        return -1;
    }
    if (cluster == NULL || strcmp(cluster, t->cluster) != 0) {
        snprintf(err, FL_ERRMSG_SIZE, "hello: cluster: expected \"%s\"", t->cluster);
        return -1;
    }
    /* Only now may a hello displace a connection (below): a forged one cannot. */
    if (!io_auth_verify(&t->key, c->nonce, (uint64_t)json_integer_value(from), t->id, cluster,
                        mac)) {
        snprintf(err, FL_ERRMSG_SIZE, "hello from %lld: mac: %s",
                 (long long)json_integer_value(from),
                 mac == NULL ? "missing" : "wrong (not this cluster's secret, or a replay)");
        return -1;
    }
    c->remote = (uint64_t)json_integer_value(from);
    c->hello_done = true;
    /* A peer has one outbound connection: any older one from it is dead. */
    struct io_conn *o = t->inbound;
    while (o != NULL) {
        struct io_conn *next = o->next;
        if (o != c && o->hello_done && o->remote == c->remote)
            conn_close(o);
        o = next;
    }
    return 0;
}

/* Handles one frame body of an inbound connection; returns 0 or -1 to close. */
static int on_frame(struct io_conn *c, const unsigned char *body, size_t len, char *err)
{
    struct io_transport *t = c->t;
    if (!c->hello_done) {
        json_t *obj;
        if (io_frame_parse_body(body, len, &obj, err) < 0)
            return -1;
        int rc = on_hello(c, obj, err);
        json_decref(obj);
        return rc;
    }
    struct raft_message m;
    if (io_codec_decode_body(body, len, &m, err) < 0)
        return -1;
    if (m.from != c->remote) {
        snprintf(err, FL_ERRMSG_SIZE, "%s: from: %llu differs from the hello's %llu",
                 io_codec_type_name(m.type), (unsigned long long)m.from,
                 (unsigned long long)c->remote);
        raft_message_release(&m);
        return -1;
    }
    if (m.to != t->id) {
        t->stats.messages_misrouted++;
    } else {
        t->stats.messages_received++;
        t->recv_cb(t, &m, t->data);
    }
    raft_message_release(&m);
    return 0;
}

static void on_inbound_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct io_conn *c = s->data;
    struct io_transport *t = c->t;
    char err[FL_ERRMSG_SIZE] = "";
    if (nread < 0) {
        bool lost = c->hello_done && !c->closing && !t->closing;
        uint64_t remote = c->remote;
        conn_close(c);
        if (lost && t->opt.lost_cb != NULL)
            t->opt.lost_cb(t, remote, t->data);
    } else if (nread > 0 && !c->closing) {
        const unsigned char *p = (const unsigned char *)buf->base;
        size_t n = (size_t)nread;
        const unsigned char *body;
        size_t len;
        int rc;
        while (!c->closing && !t->closing &&
               (rc = io_frame_decoder_next_raw(&c->dec, &p, &n, &body, &len, err)) != 0) {
            if (rc < 0 || on_frame(c, body, len, err) < 0) {
                tlog(t, "inbound connection%s%.0llu: refused: %s", c->hello_done ? " from " : "",
                     (unsigned long long)c->remote, err);
                t->stats.inbound_refused++;
                conn_close(c);
                break;
            }
        }
    }
}

static void on_challenge_written(uv_write_t *req, int status)
{
    struct io_conn *c = req->data;
    free_outs(c->inflight);
    c->inflight = NULL;
    c->writing = false;
    if (status < 0)
        conn_close(c);
}

/* Sends a fresh nonce the dialler's hello must answer with its MAC. */
static int send_challenge(struct io_conn *c)
{
    struct io_transport *t = c->t;
    char hex[IO_AUTH_NONCE_HEX + 1], err[FL_ERRMSG_SIZE];
    if (io_auth_nonce(c->nonce) != 0) {
        tlog(t, "inbound connection: refused: no random bytes for the challenge");
        return -1;
    }
    io_auth_hex(c->nonce, sizeof c->nonce, hex);
    json_t *obj = json_pack("{s:s,s:s}", "type", "challenge", "nonce", hex);
    struct io_out *o = fl_calloc(1, sizeof *o);
    int rc = obj != NULL && o != NULL
                 ? io_frame_encode(obj, t->opt.max_frame, &o->bytes, &o->len, err)
                 : FL_ENOMEM;
    json_decref(obj);
    if (rc != 0) {
        fl_free(o);
        return -1;
    }
    c->inflight = o;
    c->bufs[0] = uv_buf_init((char *)o->bytes, (unsigned)o->len);
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, c->bufs, 1, on_challenge_written) != 0)
        return -1; /* o is freed with the connection */
    c->writing = true;
    return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct io_transport *t = server->data;
    if (status < 0 || t->closing)
        return;
    struct io_conn *c = conn_new(t);
    if (c == NULL) {
        /* libuv stops accepting until uv_accept succeeds, so a failure here
         * leaves the listener paused; only allocation failure gets here. */
        tlog(t, "inbound connection: out of memory: listener paused");
        return;
    }
    c->inbound = true;
    c->next = t->inbound;
    if (t->inbound != NULL)
        t->inbound->prev = c;
    t->inbound = c;
    t->n_inbound++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    if (t->n_inbound > t->opt.max_inbound) {
        tlog(t, "inbound connection: refused: over %u connections", t->opt.max_inbound);
        t->stats.inbound_refused++;
        conn_close(c);
        return;
    }
    tune_socket(c);
    if (send_challenge(c) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_inbound_read) != 0)
        conn_close(c);
}

/* ==== Public API ==== */

static void on_listener_closed(uv_handle_t *h)
{
    struct io_transport *t = h->data;
    t->handles--;
    maybe_finish(t);
}

int io_transport_init(struct io_transport *t, uv_loop_t *loop, uint64_t id, const char *cluster,
                      const struct io_transport_options *o, io_transport_recv_cb recv_cb,
                      void *data)
{
    if (id == 0 || cluster == NULL || strlen(cluster) > IO_TRANSPORT_CLUSTER_MAX ||
        recv_cb == NULL || o == NULL || o->key == NULL || o->key->len < IO_AUTH_KEY_MIN)
        return FL_EUSAGE;
    memset(t, 0, sizeof *t);
    t->loop = loop;
    t->id = id;
    strcpy(t->cluster, cluster);
    t->opt = *o;
    t->key = *o->key;
    t->opt.key = &t->key;
    if (t->opt.max_frame == 0)
        t->opt.max_frame = IO_FRAME_MAX_DEFAULT;
    if (t->opt.max_queue == 0)
        t->opt.max_queue = 8u << 20;
    if (t->opt.max_queue < t->opt.max_frame + IO_FRAME_HEADER)
        t->opt.max_queue = t->opt.max_frame + IO_FRAME_HEADER;
    if (t->opt.backoff_min_ms == 0)
        t->opt.backoff_min_ms = 50;
    if (t->opt.backoff_max_ms == 0)
        t->opt.backoff_max_ms = 1000;
    if (t->opt.backoff_max_ms < t->opt.backoff_min_ms)
        t->opt.backoff_max_ms = t->opt.backoff_min_ms;
    if (t->opt.connect_timeout_ms == 0)
        t->opt.connect_timeout_ms = 2000;
    if (t->opt.write_timeout_ms == 0)
        t->opt.write_timeout_ms = 3000;
    if (t->opt.max_inbound == 0)
        t->opt.max_inbound = 64;
    t->recv_cb = recv_cb;
    t->data = data;
    int rc = uv_tcp_init(loop, &t->listener);
    if (rc != 0)
        return rc;
    t->listener.data = t;
    t->handles = 1;
    return 0;
}

int io_transport_listen(struct io_transport *t, const char *address, char *errmsg)
{
    struct sockaddr_storage addr;
    int rc = io_transport_parse_address(address, true, &addr, errmsg);
    if (rc < 0)
        return rc;
    rc = uv_tcp_bind(&t->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&t->listener, 128, on_connection);
    if (rc != 0)
        return fl_errorf(errmsg, rc, "peer listen %s: %s", address, uv_strerror(rc));
    t->listening = true;
    return 0;
}

int io_transport_port(const struct io_transport *t)
{
    struct sockaddr_storage addr;
    int len = sizeof addr;
    int rc = uv_tcp_getsockname(&t->listener, (struct sockaddr *)&addr, &len);
    if (rc != 0)
        return rc;
    if (addr.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&addr)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
}

int io_transport_add_peer(struct io_transport *t, uint64_t id, const char *address, char *errmsg)
{
    if (t->closing)
        return fl_errorf(errmsg, FL_EUSAGE, "peer %llu: transport is closing",
                         (unsigned long long)id);
    if (id == 0 || id == t->id || find_peer(t, id) != NULL)
        return fl_errorf(errmsg, FL_EUSAGE, "peer %llu: %s", (unsigned long long)id,
                         id == 0       ? "id 0 is invalid"
                         : id == t->id ? "is this node"
                                       : "already a peer");
    struct sockaddr_storage addr;
    int rc = io_transport_parse_address(address, false, &addr, errmsg);
    if (rc < 0)
        return fl_error_wrap(errmsg, rc, "peer %llu", (unsigned long long)id);
    struct io_peer *p = fl_calloc(1, sizeof *p);
    if (p == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "peer %llu: out of memory", (unsigned long long)id);
    rc = uv_timer_init(t->loop, &p->timer);
    if (rc != 0) {
        fl_free(p);
        return fl_errorf(errmsg, rc, "peer %llu: %s", (unsigned long long)id, uv_strerror(rc));
    }
    t->handles++;
    p->timer.data = p;
    p->t = t;
    p->id = id;
    snprintf(p->address, sizeof p->address, "%s", address);
    p->addr = addr;
    p->state = PEER_IDLE;
    p->backoff = t->opt.backoff_min_ms;
    p->next = t->peers;
    t->peers = p;
    peer_connect(p);
    return 0;
}

int io_transport_remove_peer(struct io_transport *t, uint64_t id)
{
    for (struct io_peer **pp = &t->peers; *pp != NULL; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            struct io_peer *p = *pp;
            *pp = p->next;
            peer_destroy(p);
            return 0;
        }
    }
    return UV_ENOENT;
}

bool io_transport_has_peer(const struct io_transport *t, uint64_t id)
{
    return find_peer(t, id) != NULL;
}

bool io_transport_connected(const struct io_transport *t, uint64_t id)
{
    const struct io_peer *p = find_peer(t, id);
    return p != NULL && p->state == PEER_CONNECTED;
}

int io_transport_send(struct io_transport *t, const struct raft_message *m)
{
    if (t->closing)
        return FL_EUSAGE;
    struct io_peer *p = find_peer(t, m->to);
    if (p == NULL)
        return UV_ENOENT;
    char err[FL_ERRMSG_SIZE];
    unsigned char *bytes;
    size_t len;
    int rc = io_codec_encode_frame(m, t->opt.max_frame, &bytes, &len, err);
    if (rc < 0) {
        t->stats.frames_dropped++;
        return rc;
    }
    rc = peer_enqueue(p, bytes, len, false);
    if (rc < 0)
        return rc;
    peer_flush(p);
    return 0;
}

void io_transport_close(struct io_transport *t, io_transport_close_cb cb)
{
    if (t->closing)
        return;
    t->closing = true;
    t->close_cb = cb;
    while (t->peers != NULL) {
        struct io_peer *p = t->peers;
        t->peers = p->next;
        peer_destroy(p);
    }
    while (t->inbound != NULL)
        conn_close(t->inbound);
    uv_close((uv_handle_t *)&t->listener, on_listener_closed);
}
