/* adapter_process.c - the adapter for a program the scenario describes: argv template, JSON lines.
 *
 * Nodes: argv[0] = implementation.options.binary, then options.args with
 * the placeholders of workloads/PROCESS_PROTOCOL.md replaced per node
 * (workloads/render.c); or options.processes under one /bin/sh group leader.
 * The "client" implementation (adapter_client.c) shares this node side.
 * Client: one TCP connection per client to a node's client port, JSON lines
 * both ways, requests matched to replies by id (PROCESS_PROTOCOL.md). A
 * connection that fails moves the client to the next node; per-operation
 * timeouts; lines are bounded to 1 MiB. Outcomes:
 *   {"ok":true}                       -> OK (reads: "value")
 *   {"ok":false,"definite":true}      -> FAIL
 *   {"ok":false,"definite":false}     -> UNKNOWN
 *   never sent (connection refused)   -> FAIL
 *   sent, then timeout / connection lost / malformed reply -> UNKNOWN
 *   reads: every failure is FAIL (a read changes nothing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/buf.h"
#include "workloads/adapter.h"
#include "workloads/render.h"

#define PROC_MAX_LINE (1u << 20)

int workload_process_expand(const struct workload_cluster *cl, unsigned i, const char *tmpl,
                            char *out, size_t len, char *errmsg)
{
    if (len == 0)
        return fl_errorf(errmsg, FL_ELIMIT, "process adapter: no room");
    struct fl_buf b;
    fl_buf_init(&b);
    char what[96];
    snprintf(what, sizeof what, "argument \"%.64s\"", tmpl);
    int rv = workload_render(cl, (int)i, NULL, tmpl, strlen(tmpl), what, &b, len - 1, errmsg);
    if (rv == 0)
        memcpy(out, fl_buf_cstr(&b), b.len + 1);
    fl_buf_free(&b);
    return rv;
}

/* Appends s to b in single quotes, for /bin/sh. */
static void sh_quote(struct fl_buf *b, const char *s)
{
    fl_buf_puts(b, "'");
    for (; *s != '\0'; s++) {
        if (*s == '\'')
            fl_buf_puts(b, "'\\''");
        else
            fl_buf_append(b, s, 1);
    }
    fl_buf_puts(b, "' ");
}

/* options.processes: one /bin/sh script that starts each in the background
 * (one process group: the node) and waits. */
static int group_argv(const struct workload_cluster *cl, unsigned i, json_t *procs, char **argv,
                      size_t max, char *buf, size_t buflen, char *errmsg)
{
    struct fl_buf sh, arg;
    fl_buf_init(&sh);
    fl_buf_init(&arg);
    int rv = 0;
    size_t k;
    json_t *p;
    json_array_foreach(procs, k, p)
    {
        const char *bin = json_string_value(json_object_get(p, "binary"));
        json_t *args = json_object_get(p, "args");
        if (bin == NULL || bin[0] == '\0') {
            rv = fl_errorf(errmsg, FL_ESHAPE, "process adapter: processes[%zu].binary is required",
                           k);
            break;
        }
        sh_quote(&sh, bin);
        for (size_t j = 0; j < json_array_size(args) && rv == 0; j++) {
            const char *t = json_string_value(json_array_get(args, j));
            char what[96];
            snprintf(what, sizeof what, "processes[%zu].args[%zu]", k, j);
            fl_buf_reset(&arg);
            rv = t == NULL ? fl_errorf(errmsg, FL_ESHAPE, "process adapter: %s is not a string",
                                       what)
                           : workload_render(cl, (int)i, NULL, t, strlen(t), what, &arg, 4096,
                                             errmsg);
            if (rv == 0)
                sh_quote(&sh, fl_buf_cstr(&arg));
        }
        if (rv != 0)
            break;
        fl_buf_puts(&sh, "&\n");
    }
    fl_buf_puts(&sh, "wait\n");
    if (rv == 0 && sh.oom)
        rv = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    size_t argc = 0, used = 0;
    char name[32];
    snprintf(name, sizeof name, "fl-node-n%u", i + 1);
    const char *parts[] = {"/bin/sh", "-c", fl_buf_cstr(&sh), name};
    for (size_t m = 0; m < 4 && rv == 0; m++)
        if (workload_argv_push(argv, max, &argc, buf, buflen, &used, parts[m]) != 0)
            rv = fl_errorf(errmsg, FL_ELIMIT, "process adapter: node n%u's command line too long",
                           i + 1);
    fl_buf_free(&sh);
    fl_buf_free(&arg);
    return rv;
}

int workload_process_node_argv(const struct workload_cluster *cl, unsigned i, char **argv,
                               size_t max, char *buf, size_t buflen, char *errmsg)
{
    if (i >= cl->n || cl->n > WORKLOAD_MAX_NODES)
        return fl_errorf(errmsg, FL_EUSAGE, "process adapter: node %u of %u", i, cl->n);
    json_t *procs = cl->options != NULL ? json_object_get(cl->options, "processes") : NULL;
    if (json_array_size(procs) > 0)
        return group_argv(cl, i, procs, argv, max, buf, buflen, errmsg);
    const char *bin =
        cl->options != NULL ? json_string_value(json_object_get(cl->options, "binary")) : NULL;
    if (bin == NULL || bin[0] == '\0')
        bin = cl->node_bin;
    if (bin == NULL || bin[0] == '\0')
        return fl_errorf(errmsg, FL_EUSAGE,
                         "process adapter: implementation.options.binary is required");
    json_t *args = cl->options != NULL ? json_object_get(cl->options, "args") : NULL;
    size_t nargs = json_is_array(args) ? json_array_size(args) : 0;
    if (nargs + 2 > max)
        return fl_errorf(errmsg, FL_ELIMIT, "process adapter: %zu arguments (at most %zu)", nargs,
                         max - 2);
    size_t used = 0;
    for (size_t k = 0; k <= nargs; k++) {
        const char *t = k == 0 ? bin : json_string_value(json_array_get(args, k - 1));
        if (t == NULL)
            return fl_errorf(errmsg, FL_ESHAPE, "process adapter: args[%zu] is not a string",
                             k - 1);
        if (used >= buflen)
            return fl_errorf(errmsg, FL_ELIMIT, "process adapter: command line too long");
        int rv = k == 0 ? (strlen(t) < buflen - used ? (memcpy(buf + used, t, strlen(t) + 1), 0)
                                                     : FL_ELIMIT)
                        : workload_process_expand(cl, i, t, buf + used, buflen - used, errmsg);
        if (rv != 0)
            return rv == FL_ELIMIT && k == 0
                       ? fl_errorf(errmsg, rv, "process adapter: command line too long")
                       : rv;
        argv[k] = buf + used;
        used += strlen(buf + used) + 1;
    }
    argv[nargs + 1] = NULL;
    return 0;
}

void workload_process_client_addr(const struct workload_cluster *cl, unsigned i, char *out,
                                  size_t len)
{
    snprintf(out, len, "%s:%d", cl->addr[i], workload_port(cl, false));
}

void workload_process_peer_addr(const struct workload_cluster *cl, unsigned i, char *out,
                                size_t len)
{
    snprintf(out, len, "%s:%d", cl->addr[i], workload_port(cl, true));
}

/* ==== Client ==== */

struct pc_client;

struct pc_call {
    struct workload_call *call;
    uint64_t id;
    uint64_t deadline;
    unsigned member; /* the node it goes to */
    bool is_read, is_leader, sent;
    char *line; /* until written */
    size_t line_len;
    char error[160]; /* the answer's own error text, valid during the callback */
    struct pc_call *next;
};

struct pc_conn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    struct pc_client *c;
    bool connected;
    unsigned member;
    char *buf;
    size_t len, cap;
};

struct pc_write {
    uv_write_t req;
    char *data;
};

struct pc_client {
    uv_loop_t *loop;
    uv_timer_t timer;
    unsigned n, cur; /* operations go to node `cur`; leader questions to the node asked */
    struct sockaddr_in addr[WORKLOAD_MAX_NODES];
    char name[WORKLOAD_MAX_NODES][8];
    struct pc_conn *conn[WORKLOAD_MAX_NODES]; /* one connection per node at most */
    struct pc_call *pending; /* sent or waiting for the connection */
    struct pc_call *done;    /* completed: callbacks to run */
    uint64_t next_id;
    bool closing;
    unsigned handles; /* closing: handles not yet closed */
    void (*close_cb)(void *data);
    void *close_data;
};

static void call_free(struct pc_call *p)
{
    fl_free(p->line);
    fl_free(p);
}

/* Marks p complete (outcome set by the caller) and queues its callback. */
static void to_done(struct pc_client *c, struct pc_call *p)
{
    p->next = c->done;
    c->done = p;
}

/* Answers the finished calls. A callback may close the client: then the rest
 * waits for close_step, which answers them with `closing` set. */
static void run_done(struct pc_client *c, bool closing)
{
    while ((closing || !c->closing) && c->done != NULL) {
        struct pc_call *p = c->done;
        c->done = p->next;
        struct workload_call *call = p->call;
        call->impl = NULL;
        call->cb(call); /* call->error may point into p */
        call_free(p);
    }
}

/* Removes p from the pending list (true if it was there). */
static bool unpend(struct pc_client *c, struct pc_call *p)
{
    for (struct pc_call **pp = &c->pending; *pp != NULL; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            p->next = NULL;
            return true;
        }
    return false;
}

/* A failure of p: reads and calls never sent fail; others are unknown. */
static void fail_call(struct pc_client *c, struct pc_call *p, const char *error)
{
    struct workload_call *call = p->call;
    call->outcome = p->is_read || !p->sent ? WORKLOAD_FAIL : WORKLOAD_UNKNOWN;
    if (p->is_leader)
        call->outcome = WORKLOAD_UNKNOWN;
    call->error = error;
    call->value = NULL;
    to_done(c, p);
}

static void close_step(struct pc_client *c);

static void on_conn_closed(uv_handle_t *h)
{
    struct pc_conn *k = h->data;
    struct pc_client *c = k->c;
    fl_free(k->buf);
    fl_free(k);
    c->handles--;
    close_step(c);
}

static void arm_timer(struct pc_client *c);

/* Drops the connection to node m: its pending calls end (sent: unknown; not
 * sent: fail); operations move on to the next node. */
static void conn_fail(struct pc_client *c, unsigned m, const char *error)
{
    struct pc_conn *k = c->conn[m];
    if (k == NULL)
        return;
    c->conn[m] = NULL;
    if (c->cur == m)
        c->cur = (m + 1) % c->n;
    for (struct pc_call **pp = &c->pending; *pp != NULL;) {
        struct pc_call *p = *pp;
        if (p->member != m) {
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        fail_call(c, p, error);
    }
    uv_close((uv_handle_t *)&k->tcp, on_conn_closed);
    arm_timer(c);
}

static void on_written(uv_write_t *req, int status)
{
    struct pc_write *w = (struct pc_write *)req;
    fl_free(w->data);
    fl_free(w);
    (void)status; /* a failed write shows as a read error or timeout */
}

/* Writes p's line on the connected socket. */
static int send_line(struct pc_client *c, struct pc_call *p)
{
    struct pc_write *w = fl_calloc(1, sizeof *w);
    if (w == NULL)
        return FL_ENOMEM;
    w->data = p->line;
    uv_buf_t b = uv_buf_init(p->line, (unsigned)p->line_len);
    p->line = NULL;
    p->sent = true;
    int rv = uv_write(&w->req, (uv_stream_t *)&c->conn[p->member]->tcp, &b, 1, on_written);
    if (rv != 0) {
        fl_free(w->data);
        fl_free(w);
    }
    return rv;
}

/* A leader answer as adapter.h's leader value, or NULL when malformed:
 * {"leader":"nK"|null,"term":T?} or {"unknown":true}. */
static json_t *leader_value(const struct pc_client *c, const json_t *doc)
{
    if (json_is_true(json_object_get(doc, "unknown")))
        return json_pack("{s:b}", "unknown", 1);
    json_t *l = json_object_get(doc, "leader"), *t = json_object_get(doc, "term");
    const char *s = json_string_value(l);
    char *end = NULL;
    long v = s != NULL && s[0] == 'n' ? strtol(s + 1, &end, 10) : 0;
    if (!(json_is_null(l) || (end != NULL && *end == '\0' && v >= 1 && v <= (long)c->n)))
        return NULL;
    if (t != NULL && !json_is_null(t) && !(json_is_integer(t) && json_integer_value(t) >= 0))
        return NULL;
    json_t *out = json_pack("{s:o}", "leader", s != NULL ? json_integer(v - 1) : json_null());
    if (out != NULL && json_is_integer(t))
        json_object_set(out, "term", t);
    return out;
}

static void handle_line(struct pc_client *c, struct pc_conn *k, const char *line, size_t n)
{
    json_t *doc = json_loadb(line, n, 0, NULL);
    json_t *jid = json_object_get(doc, "id");
    struct pc_call *p = NULL;
    if (json_is_integer(jid))
        for (p = c->pending; p != NULL; p = p->next)
            if (p->id == (uint64_t)json_integer_value(jid) && p->member == k->member)
                break;
    if (p == NULL) { /* a late answer (timed out) or garbage: ignored */
        json_decref(doc);
        return;
    }
    unpend(c, p);
    struct workload_call *call = p->call;
    call->node = c->name[k->member];
    call->value = NULL;
    call->error = NULL;
    if (p->is_leader) {
        call->value = leader_value(c, doc);
        call->outcome = call->value != NULL ? WORKLOAD_OK : WORKLOAD_UNKNOWN;
        call->error = call->value != NULL ? NULL : "process: malformed leader answer";
    } else if (json_is_true(json_object_get(doc, "ok"))) {
        call->outcome = WORKLOAD_OK;
        if (p->is_read) {
            json_t *v = json_object_get(doc, "value");
            call->value = v != NULL ? json_incref(v) : json_null();
        }
    } else if (json_is_false(json_object_get(doc, "ok"))) {
        bool definite = json_is_true(json_object_get(doc, "definite"));
        call->outcome = definite || p->is_read ? WORKLOAD_FAIL : WORKLOAD_UNKNOWN;
        const char *e = json_string_value(json_object_get(doc, "error"));
        snprintf(p->error, sizeof p->error, "%s", e != NULL ? e : "");
        call->error = e != NULL && e[0] != '\0' ? p->error
                      : definite                  ? "process: failed"
                                                  : "process: indefinite failure";
    } else {
        call->outcome = p->is_read ? WORKLOAD_FAIL : WORKLOAD_UNKNOWN;
        call->error = "process: malformed answer";
    }
    json_decref(doc);
    to_done(c, p);
}

/* The buffer doubles from 16 KiB while a line is incomplete, up to one line
 * of PROC_MAX_LINE bytes plus its newline and a read's worth after it: a
 * full buffer is no error, only a line that outgrows the limit is. */
#define PROC_BUF_MAX (PROC_MAX_LINE + 65536)

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct pc_conn *k = h->data;
    if (k->cap - k->len < 4096 && k->cap < PROC_BUF_MAX) {
        size_t cap = k->cap ? k->cap * 2 : 16384;
        if (cap > PROC_BUF_MAX)
            cap = PROC_BUF_MAX;
        char *p = fl_realloc(k->buf, cap);
        if (p != NULL) {
            k->buf = p;
            k->cap = cap;
        }
    }
    /* 0 bytes (no memory to grow): libuv reports UV_ENOBUFS, the connection drops. */
    *buf = uv_buf_init(k->buf + k->len, (unsigned)(k->cap - k->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct pc_conn *k = s->data;
    struct pc_client *c = k->c;
    if (nread < 0) {
        conn_fail(c, k->member,
                  nread == UV_EOF        ? "process: connection closed"
                  : nread == UV_ENOBUFS ? "process: out of memory for an answer"
                                        : "process: connection lost");
        run_done(c, false);
        return;
    }
    k->len += (size_t)nread;
    size_t start = 0;
    for (size_t i = 0; i < k->len && c->conn[k->member] == k; i++)
        if (k->buf[i] == '\n') {
            handle_line(c, k, k->buf + start, i - start);
            start = i + 1;
        }
    if (c->conn[k->member] == k) {
        memmove(k->buf, k->buf + start, k->len - start);
        k->len -= start;
        /* What is left is one incomplete line. */
        if (k->len > PROC_MAX_LINE)
            conn_fail(c, k->member, "process: answer line longer than 1 MiB");
    }
    arm_timer(c);
    run_done(c, false);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct pc_conn *k = req->data;
    struct pc_client *c = k->c;
    if (c->conn[k->member] != k) /* dropped meanwhile */
        return;
    if (status != 0 || uv_read_start((uv_stream_t *)&k->tcp, on_alloc, on_read) != 0) {
        conn_fail(c, k->member, "process: cannot connect");
        run_done(c, false);
        return;
    }
    k->connected = true;
    for (struct pc_call *p = c->pending; p != NULL; p = p->next)
        if (p->member == k->member && !p->sent && send_line(c, p) != 0) {
            conn_fail(c, k->member, "process: write failed");
            break;
        }
    run_done(c, false);
}

static int conn_open(struct pc_client *c, unsigned m)
{
    struct pc_conn *k = fl_calloc(1, sizeof *k);
    if (k == NULL)
        return FL_ENOMEM;
    k->c = c;
    k->member = m;
    uv_tcp_init(c->loop, &k->tcp);
    c->handles++;
    k->tcp.data = k;
    k->creq.data = k;
    uv_tcp_nodelay(&k->tcp, 1);
    c->conn[m] = k;
    int rv = uv_tcp_connect(&k->creq, &k->tcp, (const struct sockaddr *)&c->addr[m], on_connect);
    if (rv != 0) {
        c->conn[m] = NULL;
        uv_close((uv_handle_t *)&k->tcp, on_conn_closed);
        if (c->cur == m)
            c->cur = (m + 1) % c->n;
    }
    return rv;
}

static void on_timer(uv_timer_t *t)
{
    struct pc_client *c = t->data;
    uint64_t now = uv_now(c->loop);
    for (struct pc_call **pp = &c->pending; *pp != NULL;) {
        struct pc_call *p = *pp;
        if (p->deadline <= now) {
            *pp = p->next;
            fail_call(c, p, "process: timed out");
        } else {
            pp = &p->next;
        }
    }
    arm_timer(c);
    run_done(c, false);
}

static void arm_timer(struct pc_client *c)
{
    if (c->closing)
        return;
    if (c->done != NULL) {
        uv_timer_start(&c->timer, on_timer, 0, 0);
        return;
    }
    uint64_t now = uv_now(c->loop), next = UINT64_MAX;
    for (struct pc_call *p = c->pending; p != NULL; p = p->next)
        if (p->deadline < next)
            next = p->deadline;
    if (next == UINT64_MAX)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, next > now ? next - now : 0, 0);
}

static int proc_client_open(void **out, uv_loop_t *loop, const struct workload_cluster *cl,
                            uint64_t op_timeout_ms, char *errmsg)
{
    (void)op_timeout_ms;
    if (cl->n == 0 || cl->n > WORKLOAD_MAX_NODES)
        return fl_errorf(errmsg, FL_EUSAGE, "process adapter: %u nodes", cl->n);
    struct pc_client *c = fl_calloc(1, sizeof *c);
    if (c == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    int port = workload_port(cl, false);
    for (unsigned i = 0; i < cl->n; i++) {
        if (uv_ip4_addr(cl->addr[i], port, &c->addr[i]) != 0) {
            fl_free(c);
            return fl_errorf(errmsg, FL_ESHAPE, "process adapter: node %u address \"%.64s\"", i + 1,
                             cl->addr[i]);
        }
        snprintf(c->name[i], sizeof c->name[i], "n%u", i + 1);
    }
    c->loop = loop;
    c->n = cl->n;
    c->cur = (unsigned)((uv_hrtime() / 1000) % cl->n);
    c->next_id = 1;
    uv_timer_init(loop, &c->timer);
    c->handles = 1; /* the timer */
    c->timer.data = c;
    *out = c;
    return 0;
}

/* Queues a request line for `call` to node m (sent now or once connected). */
static int submit(struct pc_client *c, struct workload_call *call, json_t *msg, unsigned m,
                  bool is_read, bool is_leader)
{
    if (c->closing) {
        json_decref(msg);
        return FL_EUSAGE;
    }
    struct pc_call *p = fl_calloc(1, sizeof *p);
    char *text = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (p == NULL || text == NULL) {
        fl_free(p);
        free(text);
        return FL_ENOMEM;
    }
    size_t n = strlen(text);
    p->line = fl_malloc(n + 2);
    if (p->line == NULL) {
        fl_free(p);
        free(text);
        return FL_ENOMEM;
    }
    memcpy(p->line, text, n);
    p->line[n] = '\n';
    p->line[n + 1] = '\0';
    p->line_len = n + 1;
    free(text);
    if (p->line_len > PROC_MAX_LINE) {
        call_free(p);
        return FL_ELIMIT;
    }
    p->call = call;
    p->member = m;
    p->is_read = is_read;
    p->is_leader = is_leader;
    p->deadline = uv_now(c->loop) + (call->timeout_ms > 0 ? call->timeout_ms : 1000);
    call->impl = p;
    p->next = c->pending;
    c->pending = p;
    if (c->conn[m] == NULL && conn_open(c, m) != 0) {
        unpend(c, p);
        fail_call(c, p, "process: cannot connect");
    } else if (c->conn[m] != NULL && c->conn[m]->connected && send_line(c, p) != 0) {
        conn_fail(c, m, "process: write failed");
    }
    arm_timer(c);
    return 0;
}

static int proc_invoke(void *client, struct workload_call *call)
{
    struct pc_client *c = client;
    const char *f = json_string_value(json_object_get(call->op, "f"));
    if (f == NULL)
        return FL_ESHAPE;
    uint64_t id = c->next_id++;
    const char *cons = call->consistency == WORKLOAD_LEASE        ? "lease"
                       : call->consistency == WORKLOAD_SEQUENTIAL ? "sequential"
                                                                  : "linearizable";
    json_t *msg =
        json_pack("{s:I,s:O,s:s}", "id", (json_int_t)id, "op", call->op, "consistency", cons);
    int rv = submit(c, call, msg, c->cur, strcmp(f, "read") == 0, false);
    if (rv == 0)
        ((struct pc_call *)call->impl)->id = id;
    return rv;
}

static int proc_leader(void *client, unsigned node, struct workload_call *call)
{
    struct pc_client *c = client;
    if (node >= c->n)
        return FL_EUSAGE;
    uint64_t id = c->next_id++;
    json_t *msg = json_pack("{s:I,s:b}", "id", (json_int_t)id, "leader", 1);
    int rv = submit(c, call, msg, node, false, true);
    if (rv == 0)
        ((struct pc_call *)call->impl)->id = id;
    return rv;
}

/* Once closing and every handle is closed: the remaining callbacks, then
 * the close callback. */
static void close_step(struct pc_client *c)
{
    if (!c->closing || c->handles > 0)
        return;
    run_done(c, true);
    void (*cb)(void *) = c->close_cb;
    void *data = c->close_data;
    fl_free(c);
    if (cb != NULL)
        cb(data);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct pc_client *c = h->data;
    c->handles--;
    close_step(c);
}

static void proc_client_close(void *client, void (*cb)(void *data), void *data)
{
    struct pc_client *c = client;
    c->closing = true;
    c->close_cb = cb;
    c->close_data = data;
    for (unsigned m = 0; m < c->n; m++)
        conn_fail(c, m, "process: client closed");
    while (c->pending != NULL) { /* none left after conn_fail; kept for safety */
        struct pc_call *p = c->pending;
        c->pending = p->next;
        fail_call(c, p, "process: client closed");
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
}

const struct workload_adapter workload_adapter_process = {
    .name = "process",
    .node_argv = workload_process_node_argv,
    .client_addr = workload_process_client_addr,
    .peer_addr = workload_process_peer_addr,
    .client_open = proc_client_open,
    .invoke = proc_invoke,
    .leader = proc_leader,
    .client_close = proc_client_close,
    .clock_faults = false, /* options.dynamic decides: workload_adapter_clock_faults() */
    .membership = false,
};
