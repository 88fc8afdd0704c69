/* test_transport.c - the TCP peer transport (node/io/transport.h) on 127.0.0.1 with ephemeral
 * ports.
 *
 * Every test runs its loop until the transports close themselves and ends
 * with uv_loop_close() == 0, so a leaked handle fails it. No assertion on time. */
#include "common/alloc.h"
#include "common/error.h"
#include "node/io/frame.h"
#include "node/io/transport.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define N 3

/* The cluster secret every test transport shares (only length matters to the transport). */
static const struct io_auth_key test_key = {.len = 32, .bytes = "0123456789abcdef0123456789abcdef"};

struct node {
    struct io_transport t;
    struct world *w;
    int port;
    unsigned got;       /* messages received */
    uint64_t terms[16]; /* term of each message received, in order */
    uint64_t froms[16];
    bool has_entries; /* an append with the expected entries arrived */
    bool closed;
    char log[8][FL_ERRMSG_SIZE]; /* last log lines */
    unsigned n_log;
};

struct world {
    uv_loop_t loop;
    struct node n[N];
    unsigned expected; /* total messages before closing everything */
    unsigned total;
    bool closing;
    uv_timer_t tick;
    bool tick_on;
    int phase;
    uint64_t next_term;
};

static void on_log(struct io_transport *t, const char *msg, void *data)
{
    (void)t;
    struct node *n = data;
    snprintf(n->log[n->n_log % 8], FL_ERRMSG_SIZE, "%s", msg);
    n->n_log++;
}

static bool logged(const struct node *n, const char *needle)
{
    for (unsigned i = 0; i < 8 && i < n->n_log; i++)
        if (strstr(n->log[i], needle))
            return true;
    return false;
}

static void on_closed(struct io_transport *t)
{
    struct node *n = (struct node *)((char *)t - offsetof(struct node, t));
    n->closed = true;
}

static void close_all(struct world *w)
{
    if (w->closing)
        return;
    w->closing = true;
    for (int i = 0; i < N; i++)
        if (w->n[i].t.loop != NULL && !w->n[i].t.closing)
            io_transport_close(&w->n[i].t, on_closed);
    if (w->tick_on)
        uv_close((uv_handle_t *)&w->tick, NULL);
}

static void on_recv(struct io_transport *t, const struct raft_message *m, void *data)
{
    struct node *n = data;
    cr_assert_eq(m->to, t->id);
    if (n->got < 16) {
        n->terms[n->got] = m->term;
        n->froms[n->got] = m->from;
    }
    n->got++;
    if (m->type == RAFT_APPEND && m->append.n == 2 && m->append.entries[1].buf != NULL &&
        m->append.entries[1].buf->len == 5 &&
        memcmp(m->append.entries[1].buf->data, "hello", 5) == 0)
        n->has_entries = true;
    n->w->total++;
    if (n->w->expected > 0 && n->w->total == n->w->expected)
        close_all(n->w);
}

static void start(struct world *w, int i, const struct io_transport_options *o, int port,
                  io_transport_recv_cb cb)
{
    struct node *n = &w->n[i];
    n->w = w;
    struct io_transport_options opt = {0};
    if (o != NULL)
        opt = *o;
    opt.log_cb = on_log;
    if (opt.key == NULL)
        opt.key = &test_key;
    cr_assert_eq(io_transport_init(&n->t, &w->loop, (uint64_t)i + 1, "test-cluster", &opt,
                                   cb != NULL ? cb : on_recv, n),
                 0);
    char addr[32], err[FL_ERRMSG_SIZE] = "";
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    cr_assert_eq(io_transport_listen(&n->t, addr, err), 0, "%s", err);
    n->port = io_transport_port(&n->t);
    cr_assert_gt(n->port, 0);
}

static void add_peer(struct world *w, int from, int to)
{
    char addr[32], err[FL_ERRMSG_SIZE] = "";
    snprintf(addr, sizeof addr, "127.0.0.1:%d", w->n[to].port);
    cr_assert_eq(io_transport_add_peer(&w->n[from].t, (uint64_t)to + 1, addr, err), 0, "%s", err);
}

static void vote(struct world *w, int from, int to, uint64_t term)
{
    struct raft_message m = {
        .type = RAFT_VOTE, .from = (uint64_t)from + 1, .to = (uint64_t)to + 1, .term = term};
    m.vote.last_index = 1;
    m.vote.last_term = 1;
    cr_assert_eq(io_transport_send(&w->n[from].t, &m), 0);
}

static void finish(struct world *w)
{
    cr_assert_eq(uv_run(&w->loop, UV_RUN_DEFAULT), 0);
    for (int i = 0; i < N; i++)
        if (w->n[i].t.loop != NULL)
            cr_assert(w->n[i].closed, "transport %d never called its close callback", i + 1);
    cr_assert_eq(uv_loop_close(&w->loop), 0, "a handle leaked");
}

Test(io_transport, three_transports_exchange_messages_both_ways, .timeout = 60)
{
    struct world w = {0};
    cr_assert_eq(uv_loop_init(&w.loop), 0);
    for (int i = 0; i < N; i++)
        start(&w, i, NULL, 0, NULL);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (i != j)
                add_peer(&w, i, j);
    /* Queued before any connection exists: sent once connected. */
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (i != j)
                vote(&w, i, j, 10 * (uint64_t)(i + 1) + (uint64_t)(j + 1));
    struct raft_buf *b1 = raft_buf_new("x", 1), *b2 = raft_buf_new("hello", 5);
    struct raft_entry ents[2] = {{.term = 3, .type = RAFT_COMMAND, .buf = b1},
                                 {.term = 3, .type = RAFT_COMMAND, .buf = b2}};
    struct raft_message a = {.type = RAFT_APPEND, .from = 3, .to = 1, .term = 33};
    a.append.leader = 3;
    a.append.n = 2;
    a.append.entries = ents;
    cr_assert_eq(io_transport_send(&w.n[2].t, &a), 0);
    raft_buf_unref(b1);
    raft_buf_unref(b2);
    w.expected = N * (N - 1) + 1;
    finish(&w);

    for (int i = 0; i < N; i++) {
        struct node *n = &w.n[i];
        cr_assert_eq(n->got, i == 0 ? 3u : 2u, "node %d got %u", i + 1, n->got);
        for (unsigned k = 0; k < n->got; k++) {
            uint64_t from = n->froms[k];
            if (n->terms[k] == 33)
                continue;
            cr_assert_eq(n->terms[k], 10 * from + (uint64_t)(i + 1), "node %d message %u", i + 1,
                         k);
        }
        cr_assert_eq(n->t.stats.connects, 2u);
        cr_assert_eq(n->t.stats.frames_dropped, 0u);
        cr_assert_eq(n->t.stats.inbound_refused, 0u);
    }
    cr_assert(w.n[0].has_entries, "the append's entries did not arrive intact");
}

/* Phase 0: node 1 sends until node 2 receives; node 2 is then closed and
 * reopened on the same port; node 1 keeps sending until the new node 2 hears. */
static void on_tick(uv_timer_t *timer)
{
    struct world *w = timer->data;
    if (w->closing || w->n[0].t.closing)
        return;
    vote(w, 0, 1, ++w->next_term);
}

static void on_recv_restart(struct io_transport *t, const struct raft_message *m, void *data);

static void on_n2_closed(struct io_transport *t)
{
    struct node *n = (struct node *)((char *)t - offsetof(struct node, t));
    struct world *w = n->w;
    int port = n->port;
    memset(n, 0, sizeof *n);
    w->phase = 2;
    start(w, 1, NULL, port, on_recv_restart); /* same port: node 1 must redial it */
    cr_assert_eq(w->n[1].port, port);
}

static void on_recv_restart(struct io_transport *t, const struct raft_message *m, void *data)
{
    (void)m;
    struct node *n = data;
    struct world *w = n->w;
    n->got++;
    if (w->phase == 0) {
        w->phase = 1;
        io_transport_close(t, on_n2_closed);
    } else if (w->phase == 2) {
        w->phase = 3;
        close_all(w);
    }
}

Test(io_transport, reconnects_after_a_peer_is_closed_and_reopened, .timeout = 60)
{
    struct world w = {0};
    cr_assert_eq(uv_loop_init(&w.loop), 0);
    start(&w, 0, NULL, 0, NULL);
    start(&w, 1, NULL, 0, on_recv_restart);
    add_peer(&w, 0, 1);
    cr_assert_eq(uv_timer_init(&w.loop, &w.tick), 0);
    w.tick.data = &w;
    w.tick_on = true;
    cr_assert_eq(uv_timer_start(&w.tick, on_tick, 0, 10), 0);
    finish(&w);
    cr_assert_eq(w.phase, 3);
    cr_assert_geq(w.n[0].t.stats.connects, 2u, "node 1 never reconnected");
    cr_assert_eq(w.n[1].got, 1u, "the reopened node 2 got %u messages", w.n[1].got);
}

/* ==== A raw client sending bad input ==== */

struct raw {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    struct world *w;
    unsigned char *bytes;
    size_t len;
    int read_status; /* 0 until the server closed the connection */
    /* Authenticate first: answer the challenge with a hello from `hello_from`
     * MAC'd with `key` (a wrong key forges), then send bytes. */
    bool handshake;
    const struct io_auth_key *key;
    uint64_t hello_from;
    unsigned char nonce[IO_AUTH_NONCE]; /* the challenge answered */
    bool answered;
    struct io_frame_decoder dec;
    unsigned char out[512];
    uv_write_t write2;
};

static void raw_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf)
{
    (void)h;
    static char scratch[4096]; /* test-only read sink; contents ignored */
    (void)n;
    *buf = uv_buf_init(scratch, sizeof scratch);
}

static void raw_written(uv_write_t *req, int status);

/* Builds the hello answering the challenge in buf, then sends it with r->bytes. */
static void raw_answer(struct raw *r, const uv_buf_t *buf, ssize_t nread)
{
    const unsigned char *p = (const unsigned char *)buf->base;
    size_t n = (size_t)nread;
    json_t *obj = NULL;
    char err[FL_ERRMSG_SIZE];
    if (io_frame_decoder_next(&r->dec, &p, &n, &obj, err) != 1)
        return;
    const char *hex = json_string_value(json_object_get(obj, "nonce"));
    cr_assert_str_eq(json_string_value(json_object_get(obj, "type")), "challenge");
    cr_assert_eq(io_auth_unhex(hex, r->nonce, sizeof r->nonce), 0);
    json_decref(obj);
    unsigned char mac[IO_AUTH_MAC];
    char mac_hex[IO_AUTH_MAC_HEX + 1], hello[256];
    cr_assert_eq(io_auth_mac(r->key, r->nonce, r->hello_from, 1, "test-cluster", mac), 0);
    io_auth_hex(mac, sizeof mac, mac_hex);
    snprintf(
        hello, sizeof hello,
        "{\"type\":\"hello\",\"from\":%llu,\"to\":1,\"cluster\":\"test-cluster\",\"mac\":\"%s\"}",
        (unsigned long long)r->hello_from, mac_hex);
    size_t hl = strlen(hello);
    cr_assert_lt(hl + 4 + r->len, sizeof r->out);
    io_frame_put_header(r->out, (uint32_t)hl);
    memcpy(r->out + 4, hello, hl);
    memcpy(r->out + 4 + hl, r->bytes, r->len);
    r->answered = true;
    uv_buf_t b = uv_buf_init((char *)r->out, (unsigned)(4 + hl + r->len));
    cr_assert_eq(uv_write(&r->write2, (uv_stream_t *)&r->tcp, &b, 1, raw_written), 0);
}

static void raw_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct raw *r = s->data;
    if (nread > 0 && r->handshake && !r->answered)
        raw_answer(r, buf, nread);
    if (nread < 0) {
        r->read_status = (int)nread;
        uv_close((uv_handle_t *)&r->tcp, NULL);
        close_all(r->w);
    }
}

static void raw_written(uv_write_t *req, int status)
{
    (void)req;
    (void)status;
}

static void raw_connected(uv_connect_t *req, int status)
{
    struct raw *r = req->data;
    cr_assert_eq(status, 0);
    uv_buf_t b = uv_buf_init((char *)r->bytes, (unsigned)r->len);
    if (!r->handshake)
        cr_assert_eq(uv_write(&r->write, (uv_stream_t *)&r->tcp, &b, 1, raw_written), 0);
    cr_assert_eq(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read), 0);
}

/* Connects a raw client to node 1 of `w` (already started), sends `bytes` and
 * runs the loop until everything is closed. */
static void raw_run_as(struct world *w, struct raw *r, const unsigned char *bytes, size_t len,
                       const struct io_auth_key *key, uint64_t from)
{
    memset(r, 0, sizeof *r);
    r->handshake = key != NULL;
    r->key = key;
    r->hello_from = from;
    io_frame_decoder_init(&r->dec, 4096);
    r->w = w;
    r->bytes = (unsigned char *)bytes;
    r->len = len;
    r->tcp.data = r;
    r->connect.data = r;
    cr_assert_eq(uv_tcp_init(&w->loop, &r->tcp), 0);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", w->n[0].port, &sa);
    cr_assert_eq(uv_tcp_connect(&r->connect, &r->tcp, (struct sockaddr *)&sa, raw_connected), 0);
    finish(w);
    io_frame_decoder_close(&r->dec);
}

static void raw_run(struct world *w, struct raw *r, const unsigned char *bytes, size_t len)
{
    raw_run_as(w, r, bytes, len, NULL, 0);
}

/* Sends `bytes` to a transport with max_frame 1024 and expects it to close the
 * connection, count a refusal and log `needle`. */
static void raw_refused_as(const unsigned char *bytes, size_t len, const char *needle,
                           const struct io_auth_key *key)
{
    struct world w = {0};
    cr_assert_eq(uv_loop_init(&w.loop), 0);
    struct io_transport_options o = {.max_frame = 1024};
    start(&w, 0, &o, 0, NULL);
    struct raw r;
    raw_run_as(&w, &r, bytes, len, key, 2);
    cr_assert_lt(r.read_status, 0, "the connection was not closed");
    cr_assert_eq(w.n[0].t.stats.inbound_refused, 1u);
    cr_assert_eq(w.n[0].got, 0u);
    cr_assert(logged(&w.n[0], needle), "no log line with \"%s\" (last: %s)", needle, w.n[0].log[0]);
}

static void raw_refused(const unsigned char *bytes, size_t len, const char *needle)
{
    raw_refused_as(bytes, len, needle, NULL);
}

/* Refused after a genuine handshake (the hello is MAC'd with the right key). */
static void authed_refused(const unsigned char *bytes, size_t len, const char *needle)
{
    raw_refused_as(bytes, len, needle, &test_key);
}

static size_t frame(unsigned char *out, const char *json)
{
    size_t n = strlen(json);
    io_frame_put_header(out, (uint32_t)n);
    memcpy(out + 4, json, n);
    return 4 + n;
}

#define HELLO "{\"type\":\"hello\",\"from\":2,\"to\":1,\"cluster\":\"test-cluster\"}"

Test(io_transport, oversized_frame_from_a_raw_client_closes_the_connection, .timeout = 60)
{
    unsigned char b[256];
    io_frame_put_header(b, 4096);
    memset(b + 4, ' ', 16);
    raw_refused(b, 20, "length 4096 over the maximum of 1024");
}

Test(io_transport, a_wrong_cluster_token_closes_the_connection, .timeout = 60)
{
    unsigned char b[256];
    size_t n = frame(b, "{\"type\":\"hello\",\"from\":2,\"to\":1,\"cluster\":\"other\"}");
    raw_refused(b, n, "hello: cluster: expected \"test-cluster\"");
}

Test(io_transport, a_message_before_the_hello_closes_the_connection, .timeout = 60)
{
    unsigned char b[256];
    size_t n = frame(b, "{\"type\":\"timeout_now\",\"from\":2,\"to\":1,\"term\":1}");
    raw_refused(b, n, "first frame: type: expected \"hello\"");
}

/* The forged frames of issue 15: a hello knowing only the cluster token, then
 * a vote with term 2^63-1. The hello is refused: nothing reaches Raft. */
Test(io_transport, a_hello_without_the_secret_is_refused_and_nothing_delivered, .timeout = 60)
{
    unsigned char b[512];
    size_t n = frame(b, "{\"type\":\"hello\",\"from\":2,\"cluster\":\"test-cluster\"}");
    raw_refused(b, n, "hello: to: expected 1");
    n = frame(b, HELLO);
    n += frame(b + n, "{\"type\":\"vote\",\"from\":2,\"to\":1,\"term\":9223372036854775807,"
                      "\"last_index\":1000000000,\"last_term\":9223372036854775807,"
                      "\"pre\":false,\"transfer\":true}");
    raw_refused(b, n, "hello from 2: mac: missing");
}

Test(io_transport, a_hello_with_another_key_is_refused, .timeout = 60)
{
    static const struct io_auth_key other = {.len = 32,
                                             .bytes = "0123456789abcdef0123456789abcdeX"};
    unsigned char b[256];
    size_t n = frame(b, "{\"type\":\"timeout_now\",\"from\":2,\"to\":1,\"term\":1}");
    raw_refused_as(b, n, "hello from 2: mac: wrong", &other);
}

Test(io_transport, a_replayed_hello_is_refused, .timeout = 60)
{
    /* A hello MAC'd correctly for another connection's nonce. */
    unsigned char nonce[IO_AUTH_NONCE] = {1, 2, 3}, mac[IO_AUTH_MAC];
    char hex[IO_AUTH_MAC_HEX + 1], hello[256];
    cr_assert_eq(io_auth_mac(&test_key, nonce, 2, 1, "test-cluster", mac), 0);
    io_auth_hex(mac, sizeof mac, hex);
    snprintf(hello, sizeof hello,
             "{\"type\":\"hello\",\"from\":2,\"to\":1,\"cluster\":\"test-cluster\",\"mac\":\"%s\"}",
             hex);
    unsigned char b[512];
    size_t n = frame(b, hello);
    raw_refused(b, n, "hello from 2: mac: wrong");
}

Test(io_transport, a_message_not_from_the_hello_sender_closes_the_connection, .timeout = 60)
{
    unsigned char b[256];
    size_t n = frame(b, "{\"type\":\"timeout_now\",\"from\":3,\"to\":1,\"term\":1}");
    authed_refused(b, n, "timeout_now: from: 3 differs from the hello's 2");
}

Test(io_transport, an_invalid_message_closes_the_connection, .timeout = 60)
{
    unsigned char b[256];
    size_t n = frame(b, "{\"type\":\"vote\",\"from\":2,\"to\":1,\"term\":1}");
    authed_refused(b, n, "vote: last_index: missing");
}

Test(io_transport, garbage_bytes_close_the_connection, .timeout = 60)
{
    unsigned char b[256];
    size_t n = frame(b, "{not json}");
    authed_refused(b, n, "invalid JSON");
}

Test(io_transport, a_message_for_another_node_is_dropped_and_the_next_delivered, .timeout = 60)
{
    unsigned char b[512];
    size_t n = frame(b, "{\"type\":\"timeout_now\",\"from\":2,\"to\":5,\"term\":1}");
    n += frame(b + n, "{\"type\":\"timeout_now\",\"from\":2,\"to\":1,\"term\":7}");
    struct world w = {0};
    cr_assert_eq(uv_loop_init(&w.loop), 0);
    start(&w, 0, NULL, 0, NULL);
    w.expected = 1; /* the first delivery closes everything */
    struct raw r;
    raw_run_as(&w, &r, b, n, &test_key, 2);
    cr_assert_eq(w.n[0].got, 1u);
    cr_assert_eq(w.n[0].terms[0], 7u);
    cr_assert_eq(w.n[0].froms[0], 2u);
    cr_assert_eq(w.n[0].t.stats.messages_misrouted, 1u);
    cr_assert_eq(w.n[0].t.stats.inbound_refused, 0u);
}

Test(io_transport, connections_over_the_inbound_limit_are_refused, .timeout = 60)
{
    struct world w = {0};
    cr_assert_eq(uv_loop_init(&w.loop), 0);
    struct io_transport_options o = {.max_inbound = 1};
    start(&w, 0, &o, 0, NULL);
    /* The first raw client holds the only slot and says nothing; the second is refused. */
    struct raw idle = {.w = &w}, r;
    idle.tcp.data = &idle;
    idle.connect.data = &idle;
    cr_assert_eq(uv_tcp_init(&w.loop, &idle.tcp), 0);
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", w.n[0].port, &sa);
    static const unsigned char nothing[1] = {0};
    idle.bytes = (unsigned char *)nothing;
    idle.len = 0;
    cr_assert_eq(uv_tcp_connect(&idle.connect, &idle.tcp, (struct sockaddr *)&sa, raw_connected),
                 0);
    while (w.n[0].t.n_inbound == 0)
        uv_run(&w.loop, UV_RUN_ONCE);
    raw_run(&w, &r, nothing, 0);
    cr_assert_lt(r.read_status, 0);
    cr_assert_eq(w.n[0].t.stats.inbound_refused, 1u);
    cr_assert(logged(&w.n[0], "over 1 connections"));
}

/* ==== Allocation failures ==== */

Test(io_transport, setup_and_sends_survive_allocation_failure)
{
    for (long k = 0; k < 60; k++) {
        struct world w = {0};
        cr_assert_eq(uv_loop_init(&w.loop), 0);
        start(&w, 0, NULL, 0, NULL);
        start(&w, 1, NULL, 0, NULL);
        char addr[32], err[FL_ERRMSG_SIZE];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", w.n[1].port);
        fl_alloc_fail_after(k);
        int rc = io_transport_add_peer(&w.n[0].t, 2, addr, err);
        cr_assert(rc == 0 || rc == FL_ENOMEM, "rc %d: %s", rc, err);
        struct raft_buf *b = raft_buf_new("payload", 7);
        struct raft_entry e = {.term = 1, .type = RAFT_COMMAND, .buf = b};
        struct raft_message m = {.type = RAFT_APPEND, .from = 1, .to = 2, .term = 1};
        m.append.leader = 1;
        m.append.n = b != NULL ? 1 : 0;
        m.append.entries = b != NULL ? &e : NULL;
        for (int i = 0; i < 4; i++) {
            int s = io_transport_send(&w.n[0].t, &m);
            cr_assert(s == 0 || s == FL_ENOMEM || s == UV_ENOENT, "send: %d", s);
        }
        raft_buf_unref(b);
        uv_run(&w.loop, UV_RUN_NOWAIT);
        fl_alloc_fail_reset();
        close_all(&w);
        finish(&w);
    }
}

/* ==== Queues and peers, without running the loop until the end ==== */

Test(io_transport, a_full_queue_drops_the_oldest_frames)
{
    struct world w = {0};
    cr_assert_eq(uv_loop_init(&w.loop), 0);
    struct io_transport_options o = {.max_frame = 1024, .max_queue = 4096};
    start(&w, 0, &o, 0, NULL);
    char err[FL_ERRMSG_SIZE];
    /* Nobody has connected yet (the loop has not run), so everything queues. */
    cr_assert_eq(io_transport_add_peer(&w.n[0].t, 2, "127.0.0.1:9", err), 0, "%s", err);
    for (int i = 0; i < 200; i++)
        vote(&w, 0, 1, (uint64_t)i + 1);
    cr_assert_gt(w.n[0].t.stats.frames_dropped, 0u);
    cr_assert_lt(w.n[0].t.stats.frames_dropped, 200u);
    cr_assert_eq(w.n[0].t.stats.frames_sent, 0u);
    close_all(&w);
    finish(&w);
}

Test(io_transport, refuses_unknown_peers_oversized_frames_and_bad_addresses)
{
    struct world w = {0};
    cr_assert_eq(uv_loop_init(&w.loop), 0);
    struct io_transport_options o = {.max_frame = 256};
    start(&w, 0, &o, 0, NULL);
    char err[FL_ERRMSG_SIZE] = "";
    struct raft_message m = {.type = RAFT_TIMEOUT_NOW, .from = 1, .to = 2, .term = 1};
    cr_assert_eq(io_transport_send(&w.n[0].t, &m), UV_ENOENT);
    cr_assert_eq(io_transport_add_peer(&w.n[0].t, 2, "127.0.0.1", err), FL_EPARSE);
    cr_assert(strstr(err, "peer 2: address \"127.0.0.1\": expected host:port"), "%s", err);
    cr_assert_eq(io_transport_add_peer(&w.n[0].t, 2, "localhost:80", err), FL_EPARSE);
    cr_assert(strstr(err, "is not an IPv4 address"), "%s", err);
    cr_assert_eq(io_transport_add_peer(&w.n[0].t, 2, "127.0.0.1:0", err), FL_EPARSE);
    cr_assert_eq(io_transport_add_peer(&w.n[0].t, 2, "127.0.0.1:70000", err), FL_EPARSE);
    cr_assert_eq(io_transport_add_peer(&w.n[0].t, 1, "127.0.0.1:5", err), FL_EUSAGE);
    cr_assert_eq(io_transport_add_peer(&w.n[0].t, 2, "[::1]:5", err), 0, "%s", err);
    cr_assert_eq(io_transport_add_peer(&w.n[0].t, 2, "127.0.0.1:5", err), FL_EUSAGE);
    cr_assert(strstr(err, "already a peer"), "%s", err);
    cr_assert(io_transport_has_peer(&w.n[0].t, 2));
    cr_assert_eq(io_transport_send(&w.n[0].t, &m), 0);

    struct raft_buf *big = raft_buf_new(NULL, 300);
    memset(big->data, 'x', 300);
    struct raft_message s = {.type = RAFT_SNAPSHOT, .from = 1, .to = 2, .term = 1};
    s.snapshot.index = 1;
    s.snapshot.chunk = big;
    cr_assert_eq(io_transport_send(&w.n[0].t, &s), FL_ELIMIT);
    raft_buf_unref(big);

    cr_assert_eq(io_transport_remove_peer(&w.n[0].t, 2), 0);
    cr_assert_not(io_transport_has_peer(&w.n[0].t, 2));
    cr_assert_eq(io_transport_remove_peer(&w.n[0].t, 2), UV_ENOENT);
    cr_assert_eq(io_transport_send(&w.n[0].t, &m), UV_ENOENT);
    close_all(&w);
    finish(&w);
}

/* A peer removed and added back at run time (membership change) receives again. */
static void on_recv_membership(struct io_transport *t, const struct raft_message *m, void *data)
{
    struct node *n = data;
    struct world *w = n->w;
    (void)t;
    n->got++;
    if (m->term == 1) {
        /* Node 1 forgets node 2, then learns it again and sends term 2. */
        cr_assert_eq(io_transport_remove_peer(&w->n[0].t, 2), 0);
        add_peer(w, 0, 1);
        vote(w, 0, 1, 2);
    } else if (m->term == 2) {
        close_all(w);
    }
}

Test(io_transport, a_peer_removed_and_added_again_receives_again, .timeout = 60)
{
    struct world w = {0};
    cr_assert_eq(uv_loop_init(&w.loop), 0);
    start(&w, 0, NULL, 0, NULL);
    start(&w, 1, NULL, 0, on_recv_membership);
    add_peer(&w, 0, 1);
    vote(&w, 0, 1, 1);
    finish(&w);
    cr_assert_eq(w.n[1].got, 2u);
    cr_assert_eq(w.n[0].t.stats.connects, 2u);
}

Test(io_transport, close_with_pending_connects_and_writes_leaks_nothing)
{
    struct world w = {0};
    cr_assert_eq(uv_loop_init(&w.loop), 0);
    start(&w, 0, NULL, 0, NULL);
    start(&w, 1, NULL, 0, NULL);
    add_peer(&w, 0, 1);
    add_peer(&w, 1, 0);
    vote(&w, 0, 1, 1);
    vote(&w, 1, 0, 1);
    uv_run(&w.loop, UV_RUN_NOWAIT);
    close_all(&w);
    finish(&w);
}
