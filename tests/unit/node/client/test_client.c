/* test_client.c - the node client (node/client/client.h) against fake servers on 127.0.0.1.
 *
 * A fake server is a libuv TCP listener on an ephemeral port that decodes
 * client frames and hands each to the test's script function, which records
 * it and answers (or drops the connection, or stays silent). Each test runs
 * the loop until its condition holds, closes the client and the fakes, and
 * ends with uv_loop_close() == 0 so a leaked handle fails it. No assertion on
 * time: deadlines only decide which outcome is reported. */
#include "common/alloc.h"
#include "common/error.h"
#include "node/client/client.h"
#include "node/io/frame.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#define MAXC  8
#define MAXR  256
#define NREQS 64

struct fake;

struct fconn {
    uv_tcp_t tcp;
    struct fake *f;
    struct io_frame_decoder dec;
    bool open;
    int no; /* connection number at this fake, from 0 */
};

typedef void (*script_fn)(struct fake *f, struct fconn *fc, json_t *msg);

struct fake {
    uv_tcp_t listen;
    struct world *w;
    char addr[64];
    struct fconn conns[MAXC];
    int n_conns;
    script_fn script;
    json_t *got[MAXR]; /* every frame received, in order (own references) */
    int n_got;
    int conn_of[MAXR];  /* connection number of each frame */
    json_t *held[MAXR]; /* requests held back by a script */
    int n_held;
};

struct world {
    uv_loop_t loop;
    struct fake f[2];
    struct client c;
    bool client_closed;
    struct client_req reqs[NREQS];
    int order[NREQS];       /* request numbers in callback order */
    char errors[NREQS][64]; /* req->error copied in the callback ("" for none) */
    json_t *results[NREQS]; /* req->result copied in the callback (borrowed only there) */
    int n_done;
    uint64_t events[16];
    int n_events;
    int session_lost;
    int step; /* script state */
};

/* ==== Fake server ==== */

static void fake_send(struct fconn *fc, json_t *obj)
{
    unsigned char *bytes = NULL;
    size_t len = 0;
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(io_frame_encode(obj, 0, &bytes, &len, err), 0, "%s", err);
    json_decref(obj);
    if (!fc->open) {
        fl_free(bytes);
        return;
    }
    uv_buf_t b = uv_buf_init((char *)bytes, (unsigned)len);
    /* small frames on loopback: a blocking-free try_write takes them whole */
    int rc = uv_try_write((uv_stream_t *)&fc->tcp, &b, 1);
    cr_assert_eq(rc, (int)len, "try_write %d", rc);
    fl_free(bytes);
}

static void reply_ok(struct fconn *fc, json_t *req, json_t *fields)
{
    json_t *o =
        json_pack("{s:s,s:O,s:b}", "type", "reply", "id", json_object_get(req, "id"), "ok", 1);
    if (fields != NULL) {
        json_object_update(o, fields);
        json_decref(fields);
    }
    fake_send(fc, o);
}

static void reply_err(struct fconn *fc, json_t *req, const char *error, json_t *fields)
{
    json_t *o = json_pack("{s:s,s:O,s:b,s:s,s:s}", "type", "reply", "id",
                          json_object_get(req, "id"), "ok", 0, "error", error, "message", error);
    if (fields != NULL) {
        json_object_update(o, fields);
        json_decref(fields);
    }
    fake_send(fc, o);
}

static void fconn_closed(uv_handle_t *h)
{
    struct fconn *fc = h->data;
    io_frame_decoder_close(&fc->dec);
}

static void fconn_drop(struct fconn *fc)
{
    if (!fc->open)
        return;
    fc->open = false;
    uv_close((uv_handle_t *)&fc->tcp, fconn_closed);
}

static void f_alloc(uv_handle_t *h, size_t s, uv_buf_t *buf)
{
    (void)h;
    buf->base = malloc(s);
    buf->len = s;
}

static void f_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct fconn *fc = s->data;
    if (n < 0) {
        fconn_drop(fc);
    } else {
        const unsigned char *p = (const unsigned char *)buf->base;
        size_t len = (size_t)n;
        json_t *o = NULL;
        char err[FL_ERRMSG_SIZE];
        int rc;
        while (fc->open && (rc = io_frame_decoder_next(&fc->dec, &p, &len, &o, err)) == 1) {
            struct fake *f = fc->f;
            cr_assert_lt(f->n_got, MAXR);
            f->conn_of[f->n_got] = fc->no;
            f->got[f->n_got++] = json_incref(o);
            f->script(f, fc, o);
            json_decref(o);
        }
        cr_assert(rc >= 0 || !fc->open, "client sent a bad frame: %s", err);
    }
    free(buf->base);
}

static void on_accept(uv_stream_t *server, int status)
{
    struct fake *f = server->data;
    cr_assert_eq(status, 0);
    cr_assert_lt(f->n_conns, MAXC);
    struct fconn *fc = &f->conns[f->n_conns];
    fc->no = f->n_conns++;
    fc->f = f;
    cr_assert_eq(uv_tcp_init(server->loop, &fc->tcp), 0);
    fc->tcp.data = fc;
    io_frame_decoder_init(&fc->dec, 0);
    fc->open = true;
    cr_assert_eq(uv_accept(server, (uv_stream_t *)&fc->tcp), 0);
    cr_assert_eq(uv_read_start((uv_stream_t *)&fc->tcp, f_alloc, f_read), 0);
}

static void fake_start(struct world *w, int i, script_fn script)
{
    struct fake *f = &w->f[i];
    f->w = w;
    f->script = script;
    struct sockaddr_in sa;
    cr_assert_eq(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
    cr_assert_eq(uv_tcp_init(&w->loop, &f->listen), 0);
    f->listen.data = f;
    cr_assert_eq(uv_tcp_bind(&f->listen, (const struct sockaddr *)&sa, 0), 0);
    cr_assert_eq(uv_listen((uv_stream_t *)&f->listen, 16, on_accept), 0);
    struct sockaddr_in got;
    int len = sizeof got;
    cr_assert_eq(uv_tcp_getsockname(&f->listen, (struct sockaddr *)&got, &len), 0);
    snprintf(f->addr, sizeof f->addr, "127.0.0.1:%d", ntohs(got.sin_port));
}

static void fake_stop(struct fake *f)
{
    if (f->w == NULL)
        return;
    for (int i = 0; i < f->n_conns; i++)
        fconn_drop(&f->conns[i]);
    uv_close((uv_handle_t *)&f->listen, NULL);
    for (int i = 0; i < f->n_got; i++)
        json_decref(f->got[i]);
    for (int i = 0; i < f->n_held; i++)
        json_decref(f->held[i]);
}

static const char *mtype(const json_t *m)
{
    return json_string_value(json_object_get(m, "type"));
}

static uint64_t mint(const json_t *m, const char *k)
{
    json_t *v = json_object_get(m, k);
    cr_assert(json_is_integer(v), "field %s missing", k);
    return (uint64_t)json_integer_value(v);
}

/* Frames of type `type` the fake received, the n-th (from 0), or NULL. */
static json_t *nth(struct fake *f, const char *type, int n)
{
    for (int i = 0; i < f->n_got; i++)
        if (strcmp(mtype(f->got[i]), type) == 0 && n-- == 0)
            return f->got[i];
    return NULL;
}

static int count(struct fake *f, const char *type)
{
    int n = 0;
    for (int i = 0; i < f->n_got; i++)
        n += strcmp(mtype(f->got[i]), type) == 0;
    return n;
}

/* ==== Client side ==== */

static void on_event(struct client *c, uint64_t event_index, uint64_t index, const json_t *event,
                     void *data)
{
    (void)c;
    (void)index;
    struct world *w = data;
    if (event == NULL) {
        w->session_lost++;
        return;
    }
    cr_assert_lt(w->n_events, 16);
    w->events[w->n_events++] = event_index;
}

static void on_done(struct client_req *req)
{
    struct world *w = req->data;
    int no = (int)(req - w->reqs);
    w->order[w->n_done++] = no;
    snprintf(w->errors[no], sizeof w->errors[no], "%s", req->error != NULL ? req->error : "");
    if (req->result != NULL)
        w->results[no] = json_deep_copy(req->result);
}

static void on_client_closed(struct client *c)
{
    struct world *w = c->data;
    w->client_closed = true;
}

static void world_init(struct world *w, int n_fakes, script_fn s0, script_fn s1,
                       uint64_t session_timeout)
{
    memset(w, 0, sizeof *w);
    cr_assert_eq(uv_loop_init(&w->loop), 0);
    if (n_fakes > 0)
        fake_start(w, 0, s0);
    if (n_fakes > 1)
        fake_start(w, 1, s1);
    const char *addrs[1] = {w->f[0].addr};
    if (n_fakes == 0)
        addrs[0] = "127.0.0.1:1"; /* nothing listens there */
    struct client_config cfg = {
        .addrs = addrs,
        .n_addrs = 1,
        .session_timeout_ms = session_timeout,
        .op_timeout_ms = 60000,
        .backoff_ms = 5,
        .tick_ms = 5,
        .on_event = on_event,
        .event_data = w,
    };
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(client_init(&w->c, &w->loop, &cfg, err), 0, "%s", err);
    w->c.data = w;
    for (int i = 0; i < NREQS; i++)
        w->reqs[i].data = w;
}

static void run_until_done(struct world *w, int n)
{
    while (w->n_done < n)
        uv_run(&w->loop, UV_RUN_ONCE);
}

static void world_close(struct world *w)
{
    client_close(&w->c, on_client_closed);
    fake_stop(&w->f[0]);
    fake_stop(&w->f[1]);
    cr_assert_eq(uv_run(&w->loop, UV_RUN_DEFAULT), 0);
    for (int i = 0; i < NREQS; i++)
        json_decref(w->results[i]);
    cr_assert(w->client_closed);
    cr_assert_eq(uv_loop_close(&w->loop), 0, "a handle leaked");
}

static json_t *op_write(const char *key, int value)
{
    return json_pack("{s:s,s:s,s:i}", "f", "write", "key", key, "value", value);
}

static void command(struct world *w, int no, json_t *op)
{
    cr_assert_eq(client_command(&w->c, &w->reqs[no], op, on_done), 0);
    json_decref(op);
}

/* ==== Scripts ==== */

/* Registers session 42; commands answered at once with index 100 + seq. */
static void s_simple(struct fake *f, struct fconn *fc, json_t *m)
{
    (void)f;
    const char *t = mtype(m);
    if (strcmp(t, "register") == 0) {
        reply_ok(fc, m, json_pack("{s:i,s:s}", "session", 42, "leader", f->addr));
    } else if (strcmp(t, "command") == 0) {
        json_t *op = json_object_get(m, "op");
        json_t *result = strcmp(json_string_value(json_object_get(op, "f")), "cas") == 0
                             ? json_pack("{s:b,s:s}", "ok", 0, "error", "cas_mismatch")
                             : json_pack("{s:b}", "ok", 1);
        reply_ok(
            fc, m,
            json_pack("{s:I,s:o}", "index", (json_int_t)(100 + mint(m, "seq")), "result", result));
    } else if (strcmp(t, "query") == 0) {
        reply_ok(fc, m,
                 json_pack("{s:i,s:{s:b,s:i}}", "index", 150, "result", "ok", 1, "value", 7));
    } else if (strcmp(t, "keepalive") == 0) {
        reply_ok(fc, m, NULL);
    }
}

/* Like s_simple but holds every command until 50 arrived, then answers them
 * in reverse order. */
static void s_reverse(struct fake *f, struct fconn *fc, json_t *m)
{
    if (strcmp(mtype(m), "command") != 0) {
        s_simple(f, fc, m);
        return;
    }
    f->held[f->n_held++] = json_incref(m);
    if (f->n_held < 50)
        return;
    for (int i = f->n_held - 1; i >= 0; i--)
        s_simple(f, fc, f->held[i]);
}

/* Drops the connection on the first command frame, answers afterwards. */
static void s_drop_first(struct fake *f, struct fconn *fc, json_t *m)
{
    if (strcmp(mtype(m), "command") == 0 && f->w->step == 0) {
        f->w->step = 1;
        fconn_drop(fc);
        return;
    }
    s_simple(f, fc, m);
}

/* Not the leader: points at fake 1. */
static void s_follower(struct fake *f, struct fconn *fc, json_t *m)
{
    reply_err(fc, m, "not_leader", json_pack("{s:s}", "leader", f->w->f[1].addr));
}

/* Registers, answers a watch command, then pushes events 5, 5, 3, 9. */
static void s_events(struct fake *f, struct fconn *fc, json_t *m)
{
    s_simple(f, fc, m);
    if (strcmp(mtype(m), "command") != 0)
        return;
    int idx[4] = {5, 5, 3, 9};
    for (int i = 0; i < 4; i++)
        fake_send(fc, json_pack("{s:s,s:i,s:i,s:i,s:{s:s,s:s,s:i,s:i}}", "type", "event", "session",
                                42, "event_index", idx[i], "index", idx[i], "event", "f", "write",
                                "key", "k", "value", i, "index", idx[i]));
}

/* Registers and never answers a command. */
static void s_silent(struct fake *f, struct fconn *fc, json_t *m)
{
    if (strcmp(mtype(m), "command") != 0)
        s_simple(f, fc, m);
}

/* First registration gets 42, the next 43; the first command drops the
 * connection, its retry is told session_expired. */
static void s_expire(struct fake *f, struct fconn *fc, json_t *m)
{
    struct world *w = f->w;
    const char *t = mtype(m);
    if (strcmp(t, "register") == 0) {
        reply_ok(fc, m, json_pack("{s:i}", "session", count(f, "register") == 1 ? 42 : 43));
    } else if (strcmp(t, "command") == 0 && w->step == 0) {
        w->step = 1;
        fconn_drop(fc);
    } else if (strcmp(t, "command") == 0 && w->step == 1) {
        w->step = 2;
        reply_err(fc, m, "session_expired", NULL);
    } else {
        s_simple(f, fc, m);
    }
}

/* no_leader to the first registration, busy to the first command. */
static void s_no_leader_then_busy(struct fake *f, struct fconn *fc, json_t *m)
{
    const char *t = mtype(m);
    if (strcmp(t, "register") == 0 && count(f, "register") == 1)
        reply_err(fc, m, "no_leader", NULL);
    else if (strcmp(t, "command") == 0 && count(f, "command") == 1)
        reply_err(fc, m, "busy", NULL);
    else
        s_simple(f, fc, m);
}

/* Membership: members answered; join drops the connection; leave answered ok. */
static void s_members(struct fake *f, struct fconn *fc, json_t *m)
{
    (void)f;
    const char *t = mtype(m);
    if (strcmp(t, "members") == 0)
        reply_ok(fc, m,
                 json_pack("{s:s,s:i,s:[{s:s,s:s,s:s,s:s}]}", "leader", "n1", "term", 3, "members",
                           "id", "n1", "peer", "127.0.0.1:1", "client", "127.0.0.1:2", "role",
                           "voter"));
    else if (strcmp(t, "join") == 0)
        fconn_drop(fc);
    else if (strcmp(t, "leave") == 0)
        reply_ok(fc, m, json_pack("{s:i}", "index", 120));
}

/* Ignores seq 1; drops the connection when seq 2 first arrives; answers after. */
static void s_ghost(struct fake *f, struct fconn *fc, json_t *m)
{
    if (strcmp(mtype(m), "command") == 0 && f->n_conns == 1) {
        if (mint(m, "seq") == 2)
            fconn_drop(fc);
        return;
    }
    s_simple(f, fc, m);
}

/* too_large to every command: "applied" true for key "applied", false otherwise. */
static void s_too_large(struct fake *f, struct fconn *fc, json_t *m)
{
    if (strcmp(mtype(m), "command") == 0) {
        const char *key = json_string_value(json_object_get(json_object_get(m, "op"), "key"));
        bool applied = key != NULL && strcmp(key, "applied") == 0;
        reply_err(fc, m, "too_large", json_pack("{s:b}", "applied", applied));
        return;
    }
    s_simple(f, fc, m);
}

/* ==== Tests ==== */

Test(client, registers_a_session_before_the_first_command)
{
    struct world w;
    world_init(&w, 1, s_simple, NULL, 3000);
    command(&w, 0, op_write("k", 1));
    run_until_done(&w, 1);
    struct client_req *r = &w.reqs[0];
    cr_assert_eq(r->outcome, CLIENT_OK);
    cr_assert_eq(r->seq, 1);
    cr_assert_eq(r->index, 101);
    cr_assert_eq(client_session(&w.c), 42);
    json_t *reg = w.f[0].got[0];
    cr_assert_str_eq(mtype(reg), "register", "the first frame is the registration");
    cr_assert_eq(mint(reg, "timeout_ms"), 3000);
    json_t *cmd = nth(&w.f[0], "command", 0);
    cr_assert_eq(mint(cmd, "session"), 42);
    cr_assert_eq(mint(cmd, "seq"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(cmd, "op"), "key")), "k");
    world_close(&w);
}

Test(client, many_commands_in_flight_get_seqs_and_callbacks_in_submission_order)
{
    struct world w;
    world_init(&w, 1, s_reverse, NULL, 3000);
    for (int i = 0; i < 50; i++)
        command(&w, i, op_write("k", i));
    run_until_done(&w, 50);
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(w.order[i], i, "callback %d was for request %d", i, w.order[i]);
        cr_assert_eq(w.reqs[i].outcome, CLIENT_OK);
        cr_assert_eq(w.reqs[i].seq, (uint64_t)i + 1);
        cr_assert_eq(w.reqs[i].index, 101 + (uint64_t)i);
        json_t *cmd = nth(&w.f[0], "command", i);
        cr_assert_eq(mint(cmd, "seq"), (uint64_t)i + 1, "sent in submission order");
        cr_assert_eq(json_integer_value(json_object_get(json_object_get(cmd, "op"), "value")), i);
    }
    cr_assert_eq(w.f[0].n_held, 50, "all 50 were in flight at once");
    world_close(&w);
}

Test(client, retries_with_the_same_seq_after_the_connection_drops)
{
    struct world w;
    world_init(&w, 1, s_drop_first, NULL, 3000);
    command(&w, 0, op_write("k", 1));
    run_until_done(&w, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_OK);
    cr_assert_eq(count(&w.f[0], "command"), 2);
    json_t *a = nth(&w.f[0], "command", 0), *b = nth(&w.f[0], "command", 1);
    cr_assert_eq(mint(a, "seq"), 1);
    cr_assert_eq(mint(b, "seq"), 1, "the retry keeps the seq");
    cr_assert_eq(mint(b, "session"), 42);
    cr_assert_eq(count(&w.f[0], "register"), 1, "the session survives the reconnection");
    /* after reconnecting, the first frame on the new connection is a keepalive */
    int i = 0;
    while (w.f[0].conn_of[i] == 0)
        i++;
    cr_assert_str_eq(mtype(w.f[0].got[i]), "keepalive");
    cr_assert_eq(mint(w.f[0].got[i], "command_ack"), 0, "seq 1 was not answered yet");
    world_close(&w);
}

Test(client, follows_not_leader_to_the_leader_hint)
{
    struct world w;
    world_init(&w, 2, s_follower, s_simple, 3000);
    command(&w, 0, op_write("k", 1));
    run_until_done(&w, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_OK);
    cr_assert_str_eq(mtype(w.f[0].got[0]), "register");
    cr_assert_eq(count(&w.f[0], "command"), 0);
    cr_assert_eq(count(&w.f[1], "register"), 1);
    cr_assert_eq(count(&w.f[1], "command"), 1);
    cr_assert_eq(mint(nth(&w.f[1], "command", 0), "seq"), 1);
    world_close(&w);
}

static bool keepalive_acked_9(struct world *w)
{
    for (int i = 0; i < w->f[0].n_got; i++) {
        json_t *m = w->f[0].got[i];
        if (strcmp(mtype(m), "keepalive") == 0 && mint(m, "event_ack") == 9)
            return true;
    }
    return false;
}

Test(client, events_are_delivered_once_and_acknowledged)
{
    struct world w;
    world_init(&w, 1, s_events, NULL, 60); /* keepalive every 20 ms */
    command(&w, 0, json_pack("{s:s,s:s}", "f", "watch", "key", "k"));
    run_until_done(&w, 1);
    bool seen = false;
    while (!seen) {
        uv_run(&w.loop, UV_RUN_ONCE);
        seen = keepalive_acked_9(&w);
    }
    cr_assert_eq(w.n_events, 2, "duplicates and old events are discarded");
    cr_assert_eq(w.events[0], 5);
    cr_assert_eq(w.events[1], 9);
    cr_assert_eq(client_events_dropped(&w.c), 2);
    cr_assert_eq(count(&w.f[0], "event_ack"), 2);
    cr_assert_eq(mint(nth(&w.f[0], "event_ack", 0), "event_index"), 5);
    cr_assert_eq(mint(nth(&w.f[0], "event_ack", 1), "event_index"), 9);
    cr_assert_eq(mint(nth(&w.f[0], "event_ack", 1), "session"), 42);
    json_t *ka = NULL;
    for (int i = 0; (ka = nth(&w.f[0], "keepalive", i)) != NULL; i++)
        if (mint(ka, "event_ack") == 9)
            break;
    cr_assert_eq(mint(ka, "command_ack"), 1, "the answered watch is acknowledged");
    world_close(&w);
}

Test(client, query_carries_highest_index_and_seq_hint)
{
    struct world w;
    world_init(&w, 1, s_simple, NULL, 3000);
    command(&w, 0, op_write("k", 1));
    command(&w, 1, op_write("k", 2));
    run_until_done(&w, 2);
    json_t *op = json_pack("{s:s,s:s}", "f", "read", "key", "k");
    cr_assert_eq(client_query(&w.c, &w.reqs[2], op, CLIENT_SEQUENTIAL, on_done), 0);
    json_decref(op);
    run_until_done(&w, 3);
    cr_assert_eq(w.reqs[2].outcome, CLIENT_OK);
    cr_assert_eq(json_integer_value(json_object_get(w.results[2], "value")), 7);
    json_t *q = nth(&w.f[0], "query", 0);
    cr_assert_eq(mint(q, "index"), 102, "the highest index seen in a reply");
    cr_assert_eq(mint(q, "seq_hint"), 2);
    cr_assert_eq(mint(q, "session"), 42);
    cr_assert_str_eq(json_string_value(json_object_get(q, "consistency")), "sequential");
    cr_assert_eq(client_max_index(&w.c), 150);
    world_close(&w);
}

Test(client, cas_mismatch_is_a_definite_failure)
{
    struct world w;
    world_init(&w, 1, s_simple, NULL, 3000);
    command(&w, 0, json_pack("{s:s,s:s,s:[i,i]}", "f", "cas", "key", "k", "value", 1, 2));
    run_until_done(&w, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_FAIL);
    cr_assert_str_eq(w.errors[0], "cas_mismatch");
    world_close(&w);
}

/* A command whose result was too large to send took effect (unknown: its result is not
 * known); one refused as too large did not (a definite failure). */
Test(client, too_large_is_unknown_when_applied_and_a_failure_otherwise)
{
    struct world w;
    world_init(&w, 1, s_too_large, NULL, 3000);
    command(&w, 0, op_write("applied", 1));
    command(&w, 1, op_write("refused", 1));
    run_until_done(&w, 2);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_UNKNOWN);
    cr_assert_eq(w.reqs[1].outcome, CLIENT_FAIL);
    cr_assert_str_eq(w.errors[1], "too_large");
    world_close(&w);
}

Test(client, unanswered_command_is_unknown_after_its_deadline)
{
    struct world w;
    world_init(&w, 1, s_silent, NULL, 3000);
    w.reqs[0].timeout_ms = 100;
    command(&w, 0, op_write("k", 1));
    run_until_done(&w, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_UNKNOWN);
    cr_assert_str_eq(w.errors[0], "timeout");
    cr_assert_eq(w.reqs[0].seq, 1, "it was sent");
    world_close(&w);
}

Test(client, never_sent_command_fails_definitely_after_its_deadline)
{
    struct world w;
    world_init(&w, 0, NULL, NULL, 3000);
    w.reqs[0].timeout_ms = 100;
    command(&w, 0, op_write("k", 1));
    run_until_done(&w, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_FAIL);
    cr_assert_str_eq(w.errors[0], "timeout");
    cr_assert_eq(w.reqs[0].seq, 0, "no seq was consumed");
    world_close(&w);
}

Test(client, close_completes_pending_requests_asynchronously)
{
    struct world w;
    world_init(&w, 1, s_silent, NULL, 3000);
    command(&w, 0, op_write("k", 1));
    while (count(&w.f[0], "command") < 1)
        uv_run(&w.loop, UV_RUN_ONCE);
    client_close(&w.c, on_client_closed);
    cr_assert_eq(w.n_done, 0, "not called synchronously");
    fake_stop(&w.f[0]);
    cr_assert_eq(uv_run(&w.loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(w.n_done, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_UNKNOWN, "sent and unanswered");
    cr_assert_str_eq(w.errors[0], "closed");
    cr_assert(w.client_closed);
    cr_assert_eq(uv_loop_close(&w.loop), 0);
}

Test(client, oversized_value_is_refused_before_a_seq)
{
    struct world w;
    world_init(&w, 1, s_simple, NULL, 3000);
    char *big = malloc(CLIENT_VALUE_MAX + 10);
    memset(big, 'x', CLIENT_VALUE_MAX + 9);
    big[CLIENT_VALUE_MAX + 9] = '\0';
    json_t *op = json_pack("{s:s,s:s,s:s}", "f", "write", "key", "k", "value", big);
    free(big);
    cr_assert_eq(client_command(&w.c, &w.reqs[0], op, on_done), FL_ELIMIT);
    json_decref(op);
    cr_assert_eq(w.n_done, 0);
    world_close(&w);
}

/* The limit is on the value's compact JSON: measured exactly where escapes and
 * arrays could take it past (the size bound only spares the dump below it). */
Test(client, value_limit_is_on_the_compact_json)
{
    struct world w;
    world_init(&w, 1, s_simple, NULL, 3000);
    char *s = malloc(CLIENT_VALUE_MAX + 1);
    /* a string of exactly the limit with its quotes: sent */
    memset(s, 'y', CLIENT_VALUE_MAX - 2);
    json_t *op = json_pack("{s:s,s:s,s:s%}", "f", "write", "key", "k", "value", s,
                           (size_t)(CLIENT_VALUE_MAX - 2));
    command(&w, 0, op);
    run_until_done(&w, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_OK);
    /* one byte more: refused */
    memset(s, 'y', CLIENT_VALUE_MAX - 1);
    op = json_pack("{s:s,s:s,s:s%}", "f", "write", "key", "k", "value", s,
                   (size_t)(CLIENT_VALUE_MAX - 1));
    cr_assert_eq(client_command(&w.c, &w.reqs[1], op, on_done), FL_ELIMIT);
    json_decref(op);
    /* few bytes, each escaped as \u0001: 6 each, past the limit */
    memset(s, 1, CLIENT_VALUE_MAX / 6 + 1);
    op = json_pack("{s:s,s:s,s:s%}", "f", "write", "key", "k", "value", s,
                   (size_t)(CLIENT_VALUE_MAX / 6 + 1));
    cr_assert_eq(client_command(&w.c, &w.reqs[1], op, on_done), FL_ELIMIT);
    json_decref(op);
    /* a cas pair whose two strings together pass it */
    memset(s, 'z', CLIENT_VALUE_MAX / 2);
    op = json_pack("{s:s,s:s,s:[s%,s%]}", "f", "cas", "key", "k", "value", s,
                   (size_t)(CLIENT_VALUE_MAX / 2), s, (size_t)(CLIENT_VALUE_MAX / 2));
    cr_assert_eq(client_command(&w.c, &w.reqs[1], op, on_done), FL_ELIMIT);
    json_decref(op);
    /* and one within it: sent (this script answers every cas with a mismatch) */
    op = json_pack("{s:s,s:s,s:[s%,s%]}", "f", "cas", "key", "k", "value", s, (size_t)100, s,
                   (size_t)(CLIENT_VALUE_MAX / 2));
    command(&w, 1, op);
    run_until_done(&w, 2);
    cr_assert_eq(w.reqs[1].outcome, CLIENT_FAIL);
    cr_assert_str_eq(w.errors[1], "cas_mismatch");
    free(s);
    world_close(&w);
}

Test(client, session_expired_on_a_retry_is_unknown_and_a_new_session_follows)
{
    struct world w;
    world_init(&w, 1, s_expire, NULL, 3000);
    command(&w, 0, op_write("k", 1));
    run_until_done(&w, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_UNKNOWN, "the first attempt may have been applied");
    cr_assert_str_eq(w.errors[0], "session_expired");
    cr_assert_eq(w.session_lost, 1, "the event callback hears of the lost session");
    command(&w, 1, op_write("k", 2));
    run_until_done(&w, 2);
    cr_assert_eq(w.reqs[1].outcome, CLIENT_OK);
    cr_assert_eq(client_session(&w.c), 43);
    cr_assert_eq(w.reqs[1].seq, 1, "seqs restart in the new session");
    cr_assert_eq(mint(nth(&w.f[0], "command", 2), "session"), 43);
    world_close(&w);
}

Test(client, retries_after_no_leader_and_busy_with_the_same_seq)
{
    struct world w;
    world_init(&w, 1, s_no_leader_then_busy, NULL, 3000);
    command(&w, 0, op_write("k", 1));
    run_until_done(&w, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_OK);
    cr_assert_eq(count(&w.f[0], "register"), 2);
    cr_assert_eq(count(&w.f[0], "command"), 2);
    cr_assert_eq(mint(nth(&w.f[0], "command", 0), "seq"), 1);
    cr_assert_eq(mint(nth(&w.f[0], "command", 1), "seq"), 1);
    world_close(&w);
}

Test(client, membership_requests_need_no_session_and_a_lost_join_is_unknown)
{
    struct world w;
    world_init(&w, 1, s_members, NULL, 3000);
    cr_assert_eq(client_members(&w.c, &w.reqs[0], on_done), 0);
    run_until_done(&w, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_OK);
    cr_assert_str_eq(json_string_value(json_object_get(w.results[0], "leader")), "n1");
    cr_assert_eq(json_array_size(json_object_get(w.results[0], "members")), 1);
    cr_assert_eq(
        client_join(&w.c, &w.reqs[1], "n4", "127.0.0.1:7000", "127.0.0.1:7001", "passive", on_done),
        0);
    run_until_done(&w, 2);
    cr_assert_eq(w.reqs[1].outcome, CLIENT_UNKNOWN);
    cr_assert_str_eq(w.errors[1], "connection_lost");
    json_t *j = nth(&w.f[0], "join", 0);
    cr_assert_str_eq(json_string_value(json_object_get(j, "node")), "n4");
    cr_assert_str_eq(json_string_value(json_object_get(j, "peer")), "127.0.0.1:7000");
    cr_assert_str_eq(json_string_value(json_object_get(j, "client")), "127.0.0.1:7001");
    cr_assert_str_eq(json_string_value(json_object_get(j, "role")), "passive");
    cr_assert_eq(count(&w.f[0], "join"), 1, "a membership change is not retried");
    cr_assert_eq(client_leave(&w.c, &w.reqs[2], "n4", on_done), 0);
    run_until_done(&w, 3);
    cr_assert_eq(w.reqs[2].outcome, CLIENT_OK);
    cr_assert_eq(w.reqs[2].index, 120);
    cr_assert_eq(count(&w.f[0], "register"), 0);
    cr_assert_eq(client_join(&w.c, &w.reqs[3], "n5", "x", "y", "boss", on_done), UV_EINVAL);
    world_close(&w);
}

Test(client, a_given_up_seq_is_resent_in_the_background_until_answered)
{
    struct world w;
    world_init(&w, 1, s_ghost, NULL, 3000);
    w.reqs[0].timeout_ms = 100;
    command(&w, 0, op_write("k", 1));
    run_until_done(&w, 1);
    cr_assert_eq(w.reqs[0].outcome, CLIENT_UNKNOWN);
    command(&w, 1, op_write("k", 2));
    run_until_done(&w, 2);
    cr_assert_eq(w.reqs[1].outcome, CLIENT_OK);
    while (w.c.n_ghosts > 0)
        uv_run(&w.loop, UV_RUN_ONCE);
    /* on the second connection: keepalive, the given-up seq 1, then seq 2 */
    int i = 0;
    while (w.f[0].conn_of[i] == 0)
        i++;
    cr_assert_str_eq(mtype(w.f[0].got[i]), "keepalive");
    cr_assert_str_eq(mtype(w.f[0].got[i + 1]), "command");
    cr_assert_eq(mint(w.f[0].got[i + 1], "seq"), 1);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(w.f[0].got[i + 1], "op"), "value")), 1);
    cr_assert_eq(mint(w.f[0].got[i + 2], "seq"), 2);
    cr_assert_eq(w.c.command_ack, 2, "both answered: the ack passes the given-up seq");
    world_close(&w);
}

Test(client, init_rejects_a_malformed_address)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    struct client c;
    const char *addrs[] = {"127.0.0.1:70000"};
    struct client_config cfg = {.addrs = addrs, .n_addrs = 1};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(client_init(&c, &loop, &cfg, err), FL_EUSAGE);
    cr_assert(strstr(err, "127.0.0.1:70000") != NULL, "%s", err);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

/* Follower reads: with sequential_rotate each sequential query goes to the
 * next node in turn, carrying the session and the highest index seen. */
Test(client, sequential_rotate_sends_each_sequential_query_to_the_next_node)
{
    struct world w;
    world_init(&w, 2, s_simple, s_simple, 3000);
    client_close(&w.c, on_client_closed); /* again, with both addresses */
    while (!w.client_closed)
        uv_run(&w.loop, UV_RUN_ONCE);
    w.client_closed = false;
    const char *addrs[2] = {w.f[0].addr, w.f[1].addr};
    struct client_config cfg = {.addrs = addrs,
                                .n_addrs = 2,
                                .session_timeout_ms = 3000,
                                .op_timeout_ms = 60000,
                                .backoff_ms = 5,
                                .tick_ms = 5,
                                .sequential_rotate = true};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(client_init(&w.c, &w.loop, &cfg, err), 0, "%s", err);
    w.c.data = &w;
    command(&w, 0, op_write("k", 1));
    run_until_done(&w, 1);
    json_t *op = json_pack("{s:s,s:s}", "f", "read", "key", "k");
    for (int i = 1; i <= 3; i++) {
        cr_assert_eq(client_query(&w.c, &w.reqs[i], op, CLIENT_SEQUENTIAL, on_done), 0);
        run_until_done(&w, i + 1);
        cr_assert_eq(w.reqs[i].outcome, CLIENT_OK);
    }
    /* A linearizable query stays where the connection is. */
    cr_assert_eq(client_query(&w.c, &w.reqs[4], op, CLIENT_LINEARIZABLE, on_done), 0);
    run_until_done(&w, 5);
    json_decref(op);
    cr_assert_eq(count(&w.f[1], "query"), 3, "the 1st and 3rd sequential reads, then the "
                                             "linearizable one where the connection was");
    cr_assert_eq(count(&w.f[0], "query"), 1, "the 2nd sequential read");
    cr_assert_str_eq(client_conn_addr(&w.c), w.f[1].addr);
    json_t *q = nth(&w.f[1], "query", 0);
    cr_assert_eq(mint(q, "session"), 42, "the session registered on the other node");
    cr_assert_eq(mint(q, "index"), 101, "the index of the command's reply");
    cr_assert_eq(mint(nth(&w.f[0], "query", 0), "index"), 150, "then the query's");
    world_close(&w);
}
