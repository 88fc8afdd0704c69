/* test_adapter_process.c - process adapter: argv templates, client against an in-memory server. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "workloads/adapter.h"

static void two(struct workload_cluster *cl, json_t *options)
{
    memset(cl, 0, sizeof *cl);
    cl->n = 2;
    cl->addr[0] = "198.51.100.1";
    cl->addr[1] = "198.51.100.2";
    cl->data_dir[0] = "/tmp/d/n1";
    cl->data_dir[1] = "/tmp/d/n2";
    cl->model = WORKLOAD_KV;
    cl->options = options;
}

Test(workload_adapter_process, argv_substitutes_every_placeholder_per_node)
{
    struct workload_cluster cl;
    two(&cl, json_pack("{s:s,s:[s,s,s,s,s,s]}", "binary", "/usr/bin/mykv", "args", "--id={id}",
                       "--name={name}", "--listen={addr}:{peer_port}",
                       "--client={addr}:{client_port}", "--peers={peers}", "--data={data}"));
    char *argv[WORKLOAD_ARGV_MAX], buf[8192], err[256];
    cr_assert_eq(
        workload_adapter_process.node_argv(&cl, 1, argv, WORKLOAD_ARGV_MAX, buf, sizeof buf, err),
        0, "%s", err);
    cr_assert_str_eq(argv[0], "/usr/bin/mykv");
    cr_assert_str_eq(argv[1], "--id=2");
    cr_assert_str_eq(argv[2], "--name=n2");
    cr_assert_str_eq(argv[3], "--listen=198.51.100.2:7000");
    cr_assert_str_eq(argv[4], "--client=198.51.100.2:7001");
    cr_assert_str_eq(argv[5], "--peers=n1=198.51.100.1:7000,n2=198.51.100.2:7000");
    cr_assert_str_eq(argv[6], "--data=/tmp/d/n2");
    cr_assert_null(argv[7]);
    json_decref(cl.options);
}

Test(workload_adapter_process, template_aliases_and_escaped_braces)
{
    struct workload_cluster cl;
    two(&cl, NULL);
    char out[256], err[256];
    cr_assert_eq(workload_process_expand(&cl, 0, "{dir}/{port}/{{id}", out, sizeof out, err), 0,
                 "%s", err);
    cr_assert_str_eq(out, "/tmp/d/n1/7000/{id}");
    cr_assert_eq(workload_process_expand(&cl, 0, "plain", out, sizeof out, err), 0);
    cr_assert_str_eq(out, "plain");
}

Test(workload_adapter_process, unknown_placeholder_is_refused_by_name)
{
    struct workload_cluster cl;
    two(&cl, NULL);
    char out[256], err[256];
    cr_assert_eq(workload_process_expand(&cl, 0, "--x={nope}", out, sizeof out, err), FL_ESHAPE);
    cr_assert(strstr(err, "{nope}") != NULL, "%s", err);
    cr_assert_eq(workload_process_expand(&cl, 0, "--x={unclosed", out, sizeof out, err), FL_EPARSE);
    cr_assert(strstr(err, "col 5: malformed placeholder") != NULL, "%s", err);
}

Test(workload_adapter_process, expansion_that_does_not_fit_is_refused)
{
    struct workload_cluster cl;
    two(&cl, NULL);
    char out[16], err[256];
    cr_assert_eq(workload_process_expand(&cl, 0, "--peers={peers}", out, sizeof out, err),
                 FL_ELIMIT);
}

Test(workload_adapter_process, binary_is_required)
{
    struct workload_cluster cl;
    two(&cl, json_pack("{s:[s]}", "args", "{id}"));
    char *argv[WORKLOAD_ARGV_MAX], buf[8192], err[256];
    cr_assert_neq(
        workload_adapter_process.node_argv(&cl, 0, argv, WORKLOAD_ARGV_MAX, buf, sizeof buf, err),
        0);
    cr_assert(strstr(err, "binary") != NULL, "%s", err);
    json_decref(cl.options);
}

Test(workload_adapter_process, clock_faults_follow_options_dynamic)
{
    struct workload_cluster cl;
    two(&cl, json_pack("{s:b}", "dynamic", 1));
    cr_assert(workload_adapter_clock_faults(&workload_adapter_process, &cl));
    json_object_set_new(cl.options, "dynamic", json_false());
    cr_assert_not(workload_adapter_clock_faults(&workload_adapter_process, &cl));
    cr_assert_not(workload_adapter_process.membership);
    json_decref(cl.options);
}

/* ==== A single-node in-memory kv server of the protocol, on the same loop ==== */

struct srv {
    uv_tcp_t listener;
    uv_tcp_t conn;
    bool have_conn;
    char buf[1 << 21]; /* requests up to the protocol's 1 MiB line */
    size_t len;
    json_t *kv;
    json_t *leader_answer; /* the leader answer without "id"; NULL: {"leader":"n1"} */
    int port;
    unsigned answered;
};

struct env {
    uv_loop_t loop;
    struct srv s;
    void *client;
    struct workload_cluster cl;
};

static struct env E;

static void srv_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

/* Queues reply as one line (the write request and the line in one block). */
static void srv_send(struct srv *s, json_t *reply)
{
    char *t = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    size_t n = strlen(t);
    uv_write_t *w = malloc(sizeof *w + n + 1);
    char *line = (char *)(w + 1);
    memcpy(line, t, n);
    line[n] = '\n';
    free(t);
    uv_buf_t b = uv_buf_init(line, (unsigned)n + 1);
    uv_write(w, (uv_stream_t *)&s->conn, &b, 1, srv_written);
    s->answered++;
}

/* Keys: "hang" never answers; "indef" answers an indefinite failure;
 * "huge" answers a line over 1 MiB. */
static void srv_line(struct srv *s, const char *line, size_t n)
{
    json_t *req = json_loadb(line, n, 0, NULL);
    json_t *id = json_object_get(req, "id");
    if (json_object_get(req, "leader") != NULL) {
        json_t *ans = s->leader_answer != NULL ? json_deep_copy(s->leader_answer)
                                                : json_pack("{s:s}", "leader", "n1");
        json_object_set(ans, "id", id);
        srv_send(s, ans);
        json_decref(req);
        return;
    }
    json_t *op = json_object_get(req, "op");
    const char *f = json_string_value(json_object_get(op, "f"));
    const char *key = json_string_value(json_object_get(op, "key"));
    if (key == NULL)
        key = "r";
    json_t *val = json_object_get(op, "value");
    json_t *cur = json_object_get(s->kv, key);
    if (strcmp(key, "hang") == 0) {
        /* no answer */
    } else if (strcmp(key, "indef") == 0) {
        srv_send(
            s, json_pack("{s:O,s:b,s:b,s:s}", "id", id, "ok", 0, "definite", 0, "error", "maybe"));
    } else if (strcmp(key, "huge") == 0) {
        size_t big = (1u << 20) + 10;
        uv_write_t *w = malloc(sizeof *w + big);
        char *t = (char *)(w + 1);
        memset(t, 'x', big);
        uv_buf_t b = uv_buf_init(t, (unsigned)big);
        /* Queued; the client gives up before any newline. */
        uv_write(w, (uv_stream_t *)&s->conn, &b, 1, srv_written);
    } else if (strcmp(f, "read") == 0) {
        srv_send(s, json_pack("{s:O,s:b,s:O}", "id", id, "ok", 1, "value",
                              cur != NULL ? cur : json_null()));
    } else if (strcmp(f, "write") == 0) {
        json_object_set(s->kv, key, val);
        srv_send(s, json_pack("{s:O,s:b}", "id", id, "ok", 1));
    } else if (strcmp(f, "cas") == 0) {
        json_t *old = json_array_get(val, 0);
        if (json_equal(cur != NULL ? cur : json_null(), old)) {
            json_object_set(s->kv, key, json_array_get(val, 1));
            srv_send(s, json_pack("{s:O,s:b}", "id", id, "ok", 1));
        } else {
            srv_send(s, json_pack("{s:O,s:b,s:b,s:s}", "id", id, "ok", 0, "definite", 1, "error",
                                  "cas mismatch"));
        }
    }
    json_decref(req);
}

static void srv_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)sz;
    struct srv *s = h->data;
    *b = uv_buf_init(s->buf + s->len, (unsigned)(sizeof s->buf - s->len));
}

static void srv_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct srv *s = st->data;
    if (nread < 0) {
        uv_read_stop(st);
        return;
    }
    s->len += (size_t)nread;
    size_t start = 0;
    for (size_t i = 0; i < s->len; i++)
        if (s->buf[i] == '\n') {
            srv_line(s, s->buf + start, i - start);
            start = i + 1;
        }
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
}

static void srv_accept(uv_stream_t *l, int status)
{
    struct srv *s = l->data;
    if (status != 0 || s->have_conn)
        return;
    uv_tcp_init(l->loop, &s->conn);
    s->conn.data = s;
    s->have_conn = true;
    uv_accept(l, (uv_stream_t *)&s->conn);
    uv_read_start((uv_stream_t *)&s->conn, srv_alloc, srv_read);
}

static void env_start(void)
{
    memset(&E, 0, sizeof E);
    uv_loop_init(&E.loop);
    E.s.kv = json_object();
    uv_tcp_init(&E.loop, &E.s.listener);
    E.s.listener.data = &E.s;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    cr_assert_eq(uv_tcp_bind(&E.s.listener, (struct sockaddr *)&a, 0), 0);
    cr_assert_eq(uv_listen((uv_stream_t *)&E.s.listener, 8, srv_accept), 0);
    int len = sizeof a;
    uv_tcp_getsockname(&E.s.listener, (struct sockaddr *)&a, &len);
    E.s.port = ntohs(a.sin_port);
    E.cl.n = 1;
    E.cl.addr[0] = "127.0.0.1";
    E.cl.data_dir[0] = "/tmp/unused";
    E.cl.model = WORKLOAD_KV;
    E.cl.options = json_pack("{s:s,s:i}", "binary", "kv", "client_port", E.s.port);
    char err[256];
    cr_assert_eq(workload_adapter_process.client_open(&E.client, &E.loop, &E.cl, 1000, err), 0,
                 "%s", err);
}

static void on_closed(void *data)
{
    *(bool *)data = true;
}

static void env_stop(void)
{
    if (E.client != NULL) {
        bool closed = false;
        workload_adapter_process.client_close(E.client, on_closed, &closed);
        while (!closed)
            uv_run(&E.loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&E.s.listener, NULL);
    if (E.s.have_conn)
        uv_close((uv_handle_t *)&E.s.conn, NULL);
    uv_run(&E.loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&E.loop), 0);
    json_decref(E.s.kv);
    json_decref(E.s.leader_answer);
    json_decref(E.cl.options);
}

static char last_error[256]; /* the error text of do_op's last call */

/* call->error may point into the adapter's own memory, valid only during the callback
 * (workloads/adapter.h): copy it here, as the runner does. */
static void on_done(struct workload_call *call)
{
    snprintf(last_error, sizeof last_error, "%s", call->error != NULL ? call->error : "");
    *(bool *)call->data = true;
}

static enum workload_outcome do_op(const char *text, uint64_t timeout_ms, json_t **value)
{
    bool done = false;
    struct workload_call call = {.timeout_ms = timeout_ms, .cb = on_done, .data = &done};
    call.op = json_loads(text, 0, NULL);
    cr_assert_not_null(call.op);
    cr_assert_eq(workload_adapter_process.invoke(E.client, &call), 0);
    cr_assert_not(done, "the callback ran synchronously");
    while (!done)
        uv_run(&E.loop, UV_RUN_ONCE);
    json_decref(call.op);
    if (value != NULL)
        *value = call.value;
    else
        json_decref(call.value);
    return call.outcome;
}

TestSuite(workload_adapter_process_client, .init = env_start, .fini = env_stop);

Test(workload_adapter_process_client, write_read_and_cas_against_the_server)
{
    json_t *v = NULL;
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"k1\"}", 5000, &v), WORKLOAD_OK);
    cr_assert(json_is_null(v));
    json_decref(v);
    cr_assert_eq(do_op("{\"f\":\"write\",\"key\":\"k1\",\"value\":3}", 5000, NULL), WORKLOAD_OK);
    cr_assert_eq(do_op("{\"f\":\"cas\",\"key\":\"k1\",\"value\":[3,4]}", 5000, NULL), WORKLOAD_OK);
    cr_assert_eq(do_op("{\"f\":\"cas\",\"key\":\"k1\",\"value\":[3,5]}", 5000, NULL),
                 WORKLOAD_FAIL);
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"k1\"}", 5000, &v), WORKLOAD_OK);
    cr_assert(json_is_integer(v) && json_integer_value(v) == 4);
    json_decref(v);
}

/* Asks node 0 the leader question with the server answering `answer` (JSON
 * text, NULL: the old form {"leader":"n1"}); returns the outcome and value. */
static enum workload_outcome ask_leader(const char *answer, json_t **value)
{
    json_decref(E.s.leader_answer);
    E.s.leader_answer = answer != NULL ? json_loads(answer, 0, NULL) : NULL;
    bool done = false;
    struct workload_call call = {.timeout_ms = 5000, .cb = on_done, .data = &done};
    cr_assert_eq(workload_adapter_process.leader(E.client, 0, &call), 0);
    cr_assert_not(done, "the callback ran synchronously");
    while (!done)
        uv_run(&E.loop, UV_RUN_ONCE);
    *value = call.value;
    return call.outcome;
}

Test(workload_adapter_process_client, leader_query_maps_the_name_to_an_index)
{
    json_t *v = NULL;
    cr_assert_eq(ask_leader(NULL, &v), WORKLOAD_OK); /* the old form stays readable */
    json_t *want = json_pack("{s:i}", "leader", 0);
    cr_assert(json_equal(v, want));
    json_decref(want);
    json_decref(v);
}

Test(workload_adapter_process_client, leader_answer_carries_the_term_or_says_unknown)
{
    json_t *v = NULL;
    cr_assert_eq(ask_leader("{\"leader\":\"n1\",\"term\":7}", &v), WORKLOAD_OK);
    cr_assert_eq(json_integer_value(json_object_get(v, "leader")), 0);
    cr_assert_eq(json_integer_value(json_object_get(v, "term")), 7);
    json_decref(v);
    cr_assert_eq(ask_leader("{\"leader\":null,\"term\":8}", &v), WORKLOAD_OK);
    cr_assert(json_is_null(json_object_get(v, "leader")));
    cr_assert_eq(json_integer_value(json_object_get(v, "term")), 8);
    json_decref(v);
    cr_assert_eq(ask_leader("{\"unknown\":true}", &v), WORKLOAD_OK);
    cr_assert(json_is_true(json_object_get(v, "unknown")));
    json_decref(v);
}

Test(workload_adapter_process_client, malformed_leader_answers_are_no_answer)
{
    static const char *bad[] = {"{\"leader\":\"n2\"}", /* one node only: out of range */
                                "{\"leader\":\"n1x\"}", "{\"leader\":1}",
                                "{\"leader\":\"n1\",\"term\":-1}",
                                "{\"leader\":\"n1\",\"term\":\"7\"}", "{}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *v = NULL;
        cr_assert_eq(ask_leader(bad[i], &v), WORKLOAD_UNKNOWN, "%s", bad[i]);
        cr_assert_null(v);
    }
}

Test(workload_adapter_process_client, indefinite_failure_is_unknown_for_writes_and_fail_for_reads)
{
    cr_assert_eq(do_op("{\"f\":\"write\",\"key\":\"indef\",\"value\":1}", 5000, NULL),
                 WORKLOAD_UNKNOWN);
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"indef\"}", 5000, NULL), WORKLOAD_FAIL);
}

Test(workload_adapter_process_client, unanswered_write_times_out_unknown_and_the_client_goes_on)
{
    /* Connected first: within 50 ms on a loaded machine the write might not be sent (fail). */
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"k2\"}", 5000, NULL), WORKLOAD_OK);
    cr_assert_eq(do_op("{\"f\":\"write\",\"key\":\"hang\",\"value\":1}", 50, NULL),
                 WORKLOAD_UNKNOWN);
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"hang\"}", 50, NULL), WORKLOAD_FAIL);
    cr_assert_eq(do_op("{\"f\":\"write\",\"key\":\"k2\",\"value\":9}", 5000, NULL), WORKLOAD_OK);
}

Test(workload_adapter_process_client, answer_line_over_one_mib_drops_the_connection_unknown)
{
    cr_assert_eq(do_op("{\"f\":\"write\",\"key\":\"huge\",\"value\":1}", 60000, NULL),
                 WORKLOAD_UNKNOWN);
    cr_assert(strstr(last_error, "longer than 1 MiB") != NULL, "%s", last_error);
}

/* Writes a string value of `bytes` characters and reads it back: the answer
 * line is as long, up to the protocol's 1 MiB (issue 11: 16 KiB answers
 * dropped the connection). */
static void round_trip(size_t bytes)
{
    json_t *op = json_pack("{s:s,s:s}", "f", "write", "key", "big");
    char *v = malloc(bytes + 1);
    for (size_t i = 0; i < bytes; i++)
        v[i] = (char)('a' + i % 26);
    v[bytes] = '\0';
    json_object_set_new(op, "value", json_string(v));
    char *text = json_dumps(op, JSON_COMPACT);
    json_decref(op);
    cr_assert_eq(do_op(text, 30000, NULL), WORKLOAD_OK, "write of %zu bytes: %s", bytes,
                 last_error);
    free(text);
    json_t *got = NULL;
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"big\"}", 30000, &got), WORKLOAD_OK,
                 "read of %zu bytes: %s", bytes, last_error);
    cr_assert(json_is_string(got) && json_string_length(got) == bytes &&
                  strcmp(json_string_value(got), v) == 0,
              "read back %zu bytes", json_string_length(got));
    json_decref(got);
    free(v);
}

Test(workload_adapter_process_client, answers_of_20_kib_and_900_kib_arrive_whole)
{
    round_trip(20 * 1024);
    round_trip(900 * 1024);
    round_trip(64 * 1024); /* and smaller again on the same connection */
}

Test(workload_adapter_process_client, refused_connection_fails_definitely)
{
    /* Nobody listens once the listener is closed (and its port unbound). */
    uv_close((uv_handle_t *)&E.s.listener, NULL);
    uv_run(&E.loop, UV_RUN_NOWAIT);
    uv_tcp_init(&E.loop, &E.s.listener); /* env_stop closes it again */
    cr_assert_eq(do_op("{\"f\":\"write\",\"key\":\"k1\",\"value\":1}", 5000, NULL), WORKLOAD_FAIL);
}

struct close_order {
    bool call_done, closed, closed_after_call;
};

static void order_call(struct workload_call *call)
{
    ((struct close_order *)call->data)->call_done = true;
}

static void order_closed(void *data)
{
    struct close_order *o = data;
    o->closed_after_call = o->call_done;
    o->closed = true;
}

Test(workload_adapter_process_client, close_completes_calls_in_flight_before_its_callback)
{
    struct close_order o = {0};
    struct workload_call call = {.timeout_ms = 5000, .cb = order_call, .data = &o};
    call.op = json_loads("{\"f\":\"write\",\"key\":\"hang\",\"value\":1}", 0, NULL);
    cr_assert_eq(workload_adapter_process.invoke(E.client, &call), 0);
    for (int i = 0; i < 5; i++) /* connected and sent */
        uv_run(&E.loop, UV_RUN_NOWAIT);
    workload_adapter_process.client_close(E.client, order_closed, &o);
    E.client = NULL;
    cr_assert_not(o.call_done, "not synchronously");
    while (!o.closed)
        uv_run(&E.loop, UV_RUN_ONCE);
    cr_assert(o.closed_after_call);
    cr_assert_neq(call.outcome, WORKLOAD_OK);
    json_decref(call.op);
}
