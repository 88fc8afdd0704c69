/* adapter_etcd.c - the etcd 3.4 adapter: member command lines, a client over the v3 JSON gateway.
 *
 * Nodes: one etcd member per namespace (../shared/FAULTS.md recipe), named
 * n1..nN, client URL http://IP:2379, peer URL http://IP:2380.
 *
 * Client: every operation is one POST to a member's v3 JSON gateway through
 * libcurl's multi interface driven by the harness's libuv loop (uv_poll_t per
 * socket, one uv_timer_t for curl's timeouts, as curl's multi-uv example).
 * The multi handle keeps connections alive between requests. Keys and values
 * travel base64-encoded; a value is stored as its JSON text ("7", "\"a\"").
 *   write  -> /v3/kv/put   {key, value}
 *   read   -> /v3/kv/range {key} (+ "serializable":true for WORKLOAD_SEQUENTIAL;
 *             etcd has no lease reads: WORKLOAD_LEASE reads are linearizable)
 *   cas    -> /v3/kv/txn   compare VALUE == old (old null: VERSION == 0),
 *             success put new; "succeeded" absent/false -> FAIL (definite)
 *   txn    -> /v3/kv/txn   (rw-register) no compare, success = one
 *             request_range per ["r", k, null] and one request_put per
 *             ["w", k, v], in the micro-ops' order: etcd applies them as one
 *             transaction, a range seeing the txn's earlier puts; the reads
 *             come back from responses[i].response_range. etcd refuses two
 *             puts of one key in a txn (InvalidArgument: FAIL, definite).
 *             A txn of reads only is classified as a read.
 * The register model has no key: it uses "r". Models counter/set/queue and
 * list-append are refused by client_open.
 *
 * Outcomes (the mapping scenarios/README.md documents):
 *   HTTP 200 with a JSON body                    -> OK (cas: FAIL if not succeeded)
 *   request body never handed to the socket
 *     (connection refused, connect timeout)      -> FAIL
 *   gateway error that etcd returns before proposing: "too many requests",
 *     "raft proposal dropped", "no leader", "request is too large",
 *     "not capable", gRPC InvalidArgument        -> FAIL
 *   anything else after the body left (timeouts, resets, "request timed out",
 *     "leader changed", "server stopped", 5xx)   -> UNKNOWN
 *   reads: every failure is FAIL (a read changes nothing).
 * The request body goes through a read callback without a seek callback, so
 * curl cannot silently re-send a POST on a fresh connection after a reused
 * one died (it fails with CURLE_SEND_FAIL_REWIND, which is UNKNOWN here). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "workloads/adapter.h"

#define ETCD_CLIENT_PORT  2379
#define ETCD_PEER_PORT    2380
#define ETCD_MAX_RESPONSE (8u << 20) /* bytes of one gateway answer */

/* ==== Command line ==== */

/* An unsigned option of the implementation options, or `def`. */
static unsigned opt_uint(const struct workload_cluster *cl, const char *name, unsigned def)
{
    json_t *v = cl->options != NULL ? json_object_get(cl->options, name) : NULL;
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 1000000)
        return (unsigned)json_integer_value(v);
    return def;
}

/* Ports: options.client_port / options.peer_port (adapter-level, for tests
 * on one address; the scenario loader does not accept them) or 2379/2380. */
static int opt_port(const struct workload_cluster *cl, const char *name, int def)
{
    json_t *v = cl->options != NULL ? json_object_get(cl->options, name) : NULL;
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 65536)
        return (int)json_integer_value(v);
    return def;
}

#define CPORT(cl) opt_port((cl), "client_port", ETCD_CLIENT_PORT)
#define PPORT(cl) opt_port((cl), "peer_port", ETCD_PEER_PORT)

static int etcd_node_argv(const struct workload_cluster *cl, unsigned i, char **argv, size_t max,
                          char *buf, size_t buflen, char *errmsg)
{
    size_t argc = 0, used = 0;
    char tmp[2048];
    int rv = 0;
    if (cl->n == 0 || cl->n > WORKLOAD_MAX_NODES || i >= cl->n)
        return fl_errorf(errmsg, FL_EUSAGE, "etcd adapter: node %u of %u", i, cl->n);
#define PUSH(s)                                                                                    \
    do {                                                                                           \
        if ((rv = workload_argv_push(argv, max, &argc, buf, buflen, &used, (s))) != 0)             \
            return fl_errorf(errmsg, rv, "etcd adapter: command line too long");                   \
    } while (0)
    const char *bin =
        cl->options != NULL ? json_string_value(json_object_get(cl->options, "binary")) : NULL;
    PUSH(bin != NULL && bin[0] != '\0' ? bin : "etcd");
    snprintf(tmp, sizeof tmp, "n%u", i + 1);
    PUSH("--name");
    PUSH(tmp);
    PUSH("--data-dir");
    PUSH(cl->data_dir[i]);
    snprintf(tmp, sizeof tmp, "http://%s:%d", cl->addr[i], CPORT(cl));
    PUSH("--listen-client-urls");
    PUSH(tmp);
    PUSH("--advertise-client-urls");
    PUSH(tmp);
    snprintf(tmp, sizeof tmp, "http://%s:%d", cl->addr[i], PPORT(cl));
    PUSH("--listen-peer-urls");
    PUSH(tmp);
    PUSH("--initial-advertise-peer-urls");
    PUSH(tmp);
    size_t off = 0;
    tmp[0] = '\0';
    for (unsigned j = 0; j < cl->n; j++) {
        int k = snprintf(tmp + off, sizeof tmp - off, "%sn%u=http://%s:%d", off ? "," : "", j + 1,
                         cl->addr[j], PPORT(cl));
        if (k < 0 || (size_t)k >= sizeof tmp - off)
            return fl_errorf(errmsg, FL_ELIMIT, "etcd adapter: --initial-cluster too long");
        off += (size_t)k;
    }
    PUSH("--initial-cluster");
    PUSH(tmp);
    PUSH("--initial-cluster-token");
    PUSH("faultline");
    PUSH("--initial-cluster-state");
    PUSH("new");
    unsigned et = cl->election_timeout_ms > 0 ? cl->election_timeout_ms : 1000;
    unsigned hb = opt_uint(cl, "heartbeat_ms", cl->election_timeout_ms > 0 ? et / 10 : 100);
    if (hb == 0 || hb >= et)
        hb = et / 10 > 0 ? et / 10 : 1;
    snprintf(tmp, sizeof tmp, "%u", et);
    PUSH("--election-timeout");
    PUSH(tmp);
    snprintf(tmp, sizeof tmp, "%u", hb);
    PUSH("--heartbeat-interval");
    PUSH(tmp);
    json_t *args = cl->options != NULL ? json_object_get(cl->options, "args") : NULL;
    for (size_t k = 0; json_is_array(args) && k < json_array_size(args); k++) {
        const char *a = json_string_value(json_array_get(args, k));
        if (a == NULL)
            return fl_errorf(errmsg, FL_ESHAPE, "etcd adapter: args[%zu] is not a string", k);
        PUSH(a);
    }
#undef PUSH
    return 0;
}

static void etcd_client_addr(const struct workload_cluster *cl, unsigned i, char *out, size_t len)
{
    snprintf(out, len, "%s:%d", cl->addr[i], CPORT(cl));
}

static void etcd_peer_addr(const struct workload_cluster *cl, unsigned i, char *out, size_t len)
{
    snprintf(out, len, "%s:%d", cl->addr[i], PPORT(cl));
}

/* ==== base64 (the gateway's bytes fields) ==== */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A new NUL-terminated base64 text of s[0..n). NULL on OOM. */
static char *b64_encode(const char *s, size_t n)
{
    char *out = fl_malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (out == NULL)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = B64[v >> 18 & 63];
        *o++ = B64[v >> 12 & 63];
        *o++ = i + 1 < n ? B64[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? B64[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

/* Decodes base64 `s` into a new NUL-terminated buffer (*len bytes). NULL on
 * malformed input or OOM. */
static char *b64_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *out = fl_malloc(n / 4 * 3 + 4);
    if (out == NULL)
        return NULL;
    unsigned acc = 0, bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=')
            break;
        const char *q = memchr(B64, s[i], 64);
        if (q == NULL || s[i] == '\0') {
            fl_free(out);
            return NULL;
        }
        acc = acc << 6 | (unsigned)(q - B64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)(acc >> bits & 0xff);
        }
    }
    out[o] = '\0';
    *len = o;
    return out;
}

/* ==== Client ==== */

enum ec_kind { EC_OP, EC_STATUS, EC_MEMBERS };

struct ec_client;
struct ec_lead;

struct ec_req {
    struct ec_client *c;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    size_t body_len, body_off;
    bool sent; /* curl asked for the body: the request may have reached etcd */
    char *resp;
    size_t resp_len, resp_cap;
    bool resp_too_big;
    enum ec_kind kind;
    unsigned member;
    const char *f;              /* EC_OP: "read", "write", "cas", "txn", "txn-read" (reads only) */
    struct workload_call *call; /* EC_OP */
    struct ec_lead *lead;       /* EC_STATUS, EC_MEMBERS */
    struct ec_req *prev, *next; /* in flight */
};

/* One leader() question: a status request to the node asked (and its member
 * list while some member ids are unknown). */
struct ec_lead {
    struct workload_call *call;
    unsigned pending;
    bool answered; /* the status came back */
    long long term;
    unsigned long long leader_id;
};

struct ec_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct ec_client *c;
    struct ec_sock *prev, *next;
};

struct ec_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    unsigned n, cur;
    enum workload_model model;
    char url[WORKLOAD_MAX_NODES][80];          /* http://IP:2379 */
    char peer[WORKLOAD_MAX_NODES][80];         /* http://IP:2380 */
    char name[WORKLOAD_MAX_NODES][8];          /* n1.. */
    unsigned long long id[WORKLOAD_MAX_NODES]; /* member ids, 0: unknown */
    struct ec_req *reqs;                       /* in flight */
    struct ec_sock *socks;                     /* watched sockets */
    bool closing;
    unsigned closing_handles;
    struct ec_req *dead; /* completed at close */
    void (*close_cb)(void *data);
    void *close_data;
};

static void req_free(struct ec_req *r)
{
    if (r->easy != NULL)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    fl_free(r->body);
    fl_free(r->resp);
    fl_free(r);
}

static void list_remove(struct ec_client *c, struct ec_req *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static void check_multi(struct ec_client *c);

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct ec_sock *s = h->data;
    struct ec_client *c = s->c;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, s->fd, flags, &running);
    check_multi(c);
}

static void on_sock_closed(uv_handle_t *h)
{
    fl_free(h->data);
}

static void sock_unlink(struct ec_client *c, struct ec_sock *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static int on_socket(CURL *easy, curl_socket_t fd, int action, void *userp, void *socketp)
{
    (void)easy;
    struct ec_client *c = userp;
    struct ec_sock *s = socketp;
    if (action == CURL_POLL_REMOVE) {
        if (s != NULL) {
            curl_multi_assign(c->multi, fd, NULL);
            sock_unlink(c, s);
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, on_sock_closed);
        }
        return 0;
    }
    if (s == NULL) {
        s = fl_calloc(1, sizeof *s);
        if (s == NULL)
            return -1;
        if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
            fl_free(s);
            return -1;
        }
        s->fd = fd;
        s->c = c;
        s->poll.data = s;
        s->next = c->socks;
        if (c->socks != NULL)
            c->socks->prev = s;
        c->socks = s;
        curl_multi_assign(c->multi, fd, s);
    }
    int ev = 0;
    if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
        ev |= UV_READABLE;
    if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    struct ec_client *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi(c);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct ec_client *c = userp;
    if (c->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
    return 0;
}

static int on_socket_noop(CURL *e, curl_socket_t fd, int a, void *u, void *p)
{
    (void)e, (void)fd, (void)a, (void)u, (void)p;
    return 0;
}

static int on_timer_noop(CURLM *m, long t, void *u)
{
    (void)m, (void)t, (void)u;
    return 0;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct ec_req *r = userdata;
    size_t n = size * nmemb;
    if (r->resp_len + n + 1 > ETCD_MAX_RESPONSE) {
        r->resp_too_big = true;
        return 0;
    }
    if (r->resp_len + n + 1 > r->resp_cap) {
        size_t cap = r->resp_cap ? r->resp_cap : 1024;
        while (cap < r->resp_len + n + 1)
            cap *= 2;
        char *p = fl_realloc(r->resp, cap);
        if (p == NULL)
            return 0;
        r->resp = p;
        r->resp_cap = cap;
    }
    memcpy(r->resp + r->resp_len, ptr, n);
    r->resp_len += n;
    r->resp[r->resp_len] = '\0';
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct ec_req *r = userdata;
    r->sent = true;
    size_t n = size * nitems, left = r->body_len - r->body_off;
    if (n > left)
        n = left;
    memcpy(buf, r->body + r->body_off, n);
    r->body_off += n;
    return n;
}

/* Starts a POST of `body` (taken over) to member m's `path`. */
static int req_start(struct ec_client *c, struct ec_req *r, unsigned m, const char *path,
                     char *body, uint64_t timeout_ms)
{
    char url[160];
    r->c = c;
    r->member = m;
    r->body = body;
    r->body_len = strlen(body);
    snprintf(url, sizeof url, "%s%s", c->url[m], path);
    r->easy = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = h != NULL ? curl_slist_append(h, "Expect:") : NULL;
    if (h2 == NULL)
        curl_slist_free_all(h);
    r->hdrs = h2;
    if (r->easy == NULL || r->hdrs == NULL)
        return FL_ENOMEM;
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1000));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 1000));
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK)
        return FL_ENOMEM;
    r->next = c->reqs;
    if (c->reqs != NULL)
        c->reqs->prev = r;
    c->reqs = r;
    return 0;
}

/* A JSON body to text (compact), taking `j` over. */
static char *body_text(json_t *j)
{
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (s == NULL)
        return NULL;
    char *out = fl_strdup(s);
    free(s);
    return out;
}

/* The gateway error message in an error body, or "". */
static const char *gw_message(json_t *doc)
{
    const char *m = json_string_value(json_object_get(doc, "message"));
    if (m == NULL)
        m = json_string_value(json_object_get(doc, "error"));
    return m != NULL ? m : "";
}

/* Errors etcd returns before proposing anything: certainly not applied. */
static bool gw_definite(json_t *doc)
{
    static const char *const definite[] = {
        "too many requests", "raft proposal dropped", "no leader", "request is too large",
        "not capable",       "key is not provided",   NULL};
    const char *m = gw_message(doc);
    for (int i = 0; definite[i] != NULL; i++)
        if (strstr(m, definite[i]) != NULL)
            return true;
    json_t *code = json_object_get(doc, "code");
    return json_is_integer(code) && json_integer_value(code) == 3; /* InvalidArgument */
}

/* The value of a range answer: kvs[0].value parsed as JSON, or null. */
static json_t *range_value(json_t *doc, const char **error)
{
    json_t *kvs = json_object_get(doc, "kvs");
    if (!json_is_array(kvs) || json_array_size(kvs) == 0)
        return json_null();
    const char *v64 = json_string_value(json_object_get(json_array_get(kvs, 0), "value"));
    if (v64 == NULL)
        v64 = ""; /* an empty value is omitted */
    size_t len;
    char *raw = b64_decode(v64, &len);
    if (raw == NULL) {
        *error = "etcd: value is not base64";
        return NULL;
    }
    json_t *v = json_loadb(raw, len, JSON_DECODE_ANY, NULL);
    fl_free(raw);
    if (v == NULL)
        *error = "etcd: stored value is not JSON";
    return v;
}

/* Classifies a finished operation into call's outcome/value/error. */
/* The micro-ops of `op` (a txn) with each read filled in from the txn
 * answer's responses[i].response_range; NULL with *error set when the answer
 * does not match the request. */
static json_t *txn_value(const json_t *op, json_t *doc, const char **error)
{
    const json_t *mops = json_object_get(op, "value");
    json_t *resp = json_object_get(doc, "responses"), *out = json_array();
    if (!json_is_array(resp) || json_array_size(resp) != json_array_size(mops) || out == NULL) {
        json_decref(out);
        *error = "etcd: txn answer does not match the request";
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(mops); i++) {
        const json_t *m = json_array_get(mops, i);
        const char *f = json_string_value(json_array_get(m, 0));
        json_t *v;
        if (f != NULL && strcmp(f, "r") == 0) {
            json_t *rr = json_object_get(json_array_get(resp, i), "response_range");
            if (!json_is_object(rr)) {
                json_decref(out);
                *error = "etcd: txn answer does not match the request";
                return NULL;
            }
            if ((v = range_value(rr, error)) == NULL) {
                json_decref(out);
                return NULL;
            }
        } else {
            v = json_incref(json_array_get(m, 2));
        }
        if (json_array_append_new(out, json_pack("[O,O,o]", json_array_get(m, 0),
                                                 json_array_get(m, 1), v)) != 0) {
            json_decref(out);
            *error = "out of memory";
            return NULL;
        }
    }
    return out;
}

static void op_classify(struct ec_req *r, CURLcode code)
{
    struct workload_call *call = r->call;
    bool is_read = strcmp(r->f, "read") == 0 || strcmp(r->f, "txn-read") == 0;
    long status = 0;
    call->value = NULL;
    call->error = NULL;
    call->node = r->c->name[r->member];
    if (code != CURLE_OK) {
        call->outcome = is_read || !r->sent ? WORKLOAD_FAIL : WORKLOAD_UNKNOWN;
        call->error = code == CURLE_OPERATION_TIMEDOUT ? "etcd: timed out"
                      : code == CURLE_COULDNT_CONNECT  ? "etcd: connection refused"
                      : r->resp_too_big                ? "etcd: answer too large"
                                                       : "etcd: connection error";
        return;
    }
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    json_t *doc = r->resp != NULL ? json_loadb(r->resp, r->resp_len, 0, NULL) : NULL;
    if (status != 200 || !json_is_object(doc)) {
        call->outcome =
            is_read || (json_is_object(doc) && gw_definite(doc)) ? WORKLOAD_FAIL : WORKLOAD_UNKNOWN;
        call->error = doc == NULL                                    ? "etcd: malformed answer"
                      : strstr(gw_message(doc), "timed out") != NULL ? "etcd: request timed out"
                      : strstr(gw_message(doc), "leader changed") != NULL ? "etcd: leader changed"
                      : strstr(gw_message(doc), "no leader") != NULL      ? "etcd: no leader"
                      : strstr(gw_message(doc), "duplicate key") != NULL
                          ? "etcd: duplicate key given in txn request"
                      : strstr(gw_message(doc), "too many requests") != NULL
                          ? "etcd: too many requests"
                          : "etcd: error answer";
        json_decref(doc);
        return;
    }
    if (strcmp(r->f, "read") == 0) {
        const char *err = NULL;
        call->value = range_value(doc, &err);
        call->outcome = call->value != NULL ? WORKLOAD_OK : WORKLOAD_FAIL;
        call->error = err;
    } else if (strncmp(r->f, "txn", 3) == 0) {
        const char *err = NULL;
        call->value = txn_value(call->op, doc, &err);
        /* It committed (HTTP 200): without its reads it is evidence of nothing we can use. */
        call->outcome = call->value != NULL ? WORKLOAD_OK : is_read ? WORKLOAD_FAIL : WORKLOAD_UNKNOWN;
        call->error = err;
    } else if (strcmp(r->f, "cas") == 0) {
        bool ok = json_is_true(json_object_get(doc, "succeeded"));
        call->outcome = ok ? WORKLOAD_OK : WORKLOAD_FAIL;
        call->error = ok ? NULL : "cas mismatch";
    } else {
        call->outcome = WORKLOAD_OK;
    }
    json_decref(doc);
}

/* The node's answer: {"leader": index or null, "term": its raft term}. A
 * leader id that is no known member is no answer (not "no leader"). */
static void lead_finish(struct ec_client *c, struct ec_lead *l)
{
    struct workload_call *call = l->call;
    int idx = -1;
    for (unsigned i = 0; l->leader_id != 0 && i < c->n; i++)
        if (c->id[i] == l->leader_id)
            idx = (int)i;
    call->value = NULL;
    call->error = NULL;
    if (!l->answered) {
        call->outcome = WORKLOAD_UNKNOWN;
        call->error = "etcd: no status answer";
    } else if (l->leader_id != 0 && idx < 0) {
        call->outcome = WORKLOAD_UNKNOWN;
        call->error = "etcd: the leader's member id is not known yet";
    } else {
        call->outcome = WORKLOAD_OK;
        call->value = json_pack("{s:o,s:I}", "leader", idx >= 0 ? json_integer(idx) : json_null(),
                                "term", (json_int_t)l->term);
    }
    fl_free(l);
    call->impl = NULL;
    call->cb(call);
}

static unsigned long long id_of(json_t *v)
{
    const char *s = json_string_value(v);
    if (s != NULL)
        return strtoull(s, NULL, 10);
    return json_is_integer(v) ? (unsigned long long)json_integer_value(v) : 0;
}

static void lead_part(struct ec_req *r, CURLcode code)
{
    struct ec_client *c = r->c;
    struct ec_lead *l = r->lead;
    long status = 0;
    if (code == CURLE_OK)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    json_t *doc =
        status == 200 && r->resp != NULL ? json_loadb(r->resp, r->resp_len, 0, NULL) : NULL;
    if (r->kind == EC_STATUS && json_is_object(doc)) {
        unsigned long long self =
            id_of(json_object_get(json_object_get(doc, "header"), "member_id"));
        if (self != 0)
            c->id[r->member] = self;
        unsigned long long lid = id_of(json_object_get(doc, "leader"));
        json_t *t = json_object_get(doc, "raftTerm");
        long long term = json_is_string(t)    ? strtoll(json_string_value(t), NULL, 10)
                         : json_is_integer(t) ? (long long)json_integer_value(t)
                                              : 0;
        l->answered = term >= 0;
        l->term = term;
        l->leader_id = lid;
    } else if (r->kind == EC_MEMBERS && json_is_object(doc)) {
        json_t *ms = json_object_get(doc, "members"), *m;
        size_t k;
        json_array_foreach(ms, k, m)
        {
            unsigned long long mid = id_of(json_object_get(m, "ID"));
            const char *p = json_string_value(json_array_get(json_object_get(m, "peerURLs"), 0));
            for (unsigned i = 0; p != NULL && mid != 0 && i < c->n; i++)
                if (strcmp(p, c->peer[i]) == 0)
                    c->id[i] = mid;
        }
    }
    json_decref(doc);
    if (--l->pending == 0)
        lead_finish(c, l);
}

/* Completes a finished request (removed from the multi handle). */
static void req_done(struct ec_req *r, CURLcode code)
{
    if (r->kind == EC_OP) {
        struct workload_call *call = r->call;
        op_classify(r, code);
        if (call->outcome != WORKLOAD_OK && code != CURLE_OK)
            r->c->cur = (r->member + 1) % r->c->n; /* try another member next */
        req_free(r);
        call->impl = NULL;
        call->cb(call);
    } else {
        lead_part(r, code);
        req_free(r);
    }
}

static void check_multi(struct ec_client *c)
{
    CURLMsg *msg;
    int left;
    while (!c->closing && (msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode code = msg->data.result;
        struct ec_req *r = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
        curl_multi_remove_handle(c->multi, e);
        list_remove(c, r);
        req_done(r, code);
    }
}

static int etcd_client_open(void **out, uv_loop_t *loop, const struct workload_cluster *cl,
                            uint64_t op_timeout_ms, char *errmsg)
{
    (void)op_timeout_ms;
    if (cl->model != WORKLOAD_REGISTER && cl->model != WORKLOAD_KV &&
        cl->model != WORKLOAD_RW_REGISTER)
        return fl_errorf(errmsg, FL_EUNSUPPORTED,
                         "etcd adapter: the %s model is not supported (register, kv and "
                         "rw-register only)",
                         workload_model_name(cl->model));
    if (cl->n == 0 || cl->n > WORKLOAD_MAX_NODES)
        return fl_errorf(errmsg, FL_EUSAGE, "etcd adapter: %u nodes", cl->n);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return fl_errorf(errmsg, FL_ENOMEM, "etcd adapter: libcurl initialisation failed");
    struct ec_client *c = fl_calloc(1, sizeof *c);
    if (c == NULL) {
        curl_global_cleanup();
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    }
    c->loop = loop;
    c->n = cl->n;
    c->model = cl->model;
    for (unsigned i = 0; i < cl->n; i++) {
        snprintf(c->url[i], sizeof c->url[i], "http://%s:%d", cl->addr[i], CPORT(cl));
        snprintf(c->peer[i], sizeof c->peer[i], "http://%s:%d", cl->addr[i], PPORT(cl));
        snprintf(c->name[i], sizeof c->name[i], "n%u", i + 1);
    }
    /* Clients spread over the members; a failure moves a client on. */
    c->cur = (unsigned)((uv_hrtime() / 1000) % cl->n);
    c->multi = curl_multi_init();
    if (c->multi == NULL) {
        fl_free(c);
        curl_global_cleanup();
        return fl_errorf(errmsg, FL_ENOMEM, "etcd adapter: curl_multi_init failed");
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    *out = c;
    return 0;
}

/* An rw-register transaction as one /v3/kv/txn (see the top of the file). */
static int etcd_txn(struct ec_client *c, struct workload_call *call)
{
    const json_t *mops = json_object_get(call->op, "value");
    if (c->model != WORKLOAD_RW_REGISTER || !json_is_array(mops) || json_array_size(mops) == 0)
        return FL_EUNSUPPORTED;
    json_t *ops = json_array();
    bool reads_only = true;
    int rv = FL_ENOMEM;
    for (size_t i = 0; ops != NULL && i < json_array_size(mops); i++) {
        const json_t *m = json_array_get(mops, i);
        const char *f = json_string_value(json_array_get(m, 0));
        const char *key = json_string_value(json_array_get(m, 1));
        if (f == NULL || key == NULL || json_array_size(m) != 3 ||
            (strcmp(f, "r") != 0 && strcmp(f, "w") != 0)) {
            rv = FL_ESHAPE;
            goto err;
        }
        char *k64 = b64_encode(key, strlen(key)), *v64 = NULL;
        json_t *req = NULL;
        if (k64 != NULL && f[0] == 'r') {
            req = json_pack("{s:{s:s}}", "request_range", "key", k64);
        } else if (k64 != NULL) {
            reads_only = false;
            char *t = json_dumps(json_array_get(m, 2), JSON_COMPACT | JSON_ENCODE_ANY);
            v64 = t != NULL ? b64_encode(t, strlen(t)) : NULL;
            free(t);
            if (v64 != NULL)
                req = json_pack("{s:{s:s,s:s}}", "request_put", "key", k64, "value", v64);
        }
        fl_free(k64);
        fl_free(v64);
        if (req == NULL || json_array_append_new(ops, req) != 0)
            goto err;
    }
    if (ops == NULL)
        goto err;
    struct ec_req *r = fl_calloc(1, sizeof *r);
    if (r == NULL)
        goto err;
    char *body = body_text(json_pack("{s:o}", "success", ops)); /* steals ops */
    if (body == NULL) {
        req_free(r);
        return FL_ENOMEM;
    }
    r->kind = EC_OP;
    r->call = call;
    r->f = reads_only ? "txn-read" : "txn";
    call->impl = r;
    rv = req_start(c, r, c->cur, "/v3/kv/txn", body, call->timeout_ms);
    if (rv != 0) {
        call->impl = NULL;
        req_free(r);
    }
    return rv;
err:
    json_decref(ops);
    return rv;
}

static int etcd_invoke(void *client, struct workload_call *call)
{
    struct ec_client *c = client;
    if (c->closing)
        return FL_EUSAGE;
    const char *f = json_string_value(json_object_get(call->op, "f"));
    if (f != NULL && strcmp(f, "txn") == 0)
        return etcd_txn(c, call);
    if (f == NULL || (strcmp(f, "read") != 0 && strcmp(f, "write") != 0 && strcmp(f, "cas") != 0))
        return FL_EUNSUPPORTED;
    const char *key = json_string_value(json_object_get(call->op, "key"));
    if (key == NULL)
        key = "r";
    json_t *val = json_object_get(call->op, "value");
    int rv = FL_ENOMEM;
    char *k64 = b64_encode(key, strlen(key)), *a64 = NULL, *b64 = NULL, *body = NULL;
    const char *path;
    struct ec_req *r = fl_calloc(1, sizeof *r);
    if (k64 == NULL || r == NULL)
        goto err;
    r->kind = EC_OP;
    r->call = call;
    if (strcmp(f, "read") == 0) {
        r->f = "read";
        path = "/v3/kv/range";
        json_t *j = json_pack("{s:s}", "key", k64);
        if (j != NULL && call->consistency == WORKLOAD_SEQUENTIAL)
            json_object_set_new(j, "serializable", json_true());
        body = body_text(j);
    } else if (strcmp(f, "write") == 0) {
        r->f = "write";
        path = "/v3/kv/put";
        char *t = val != NULL ? json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if (t == NULL) {
            rv = FL_ESHAPE;
            goto err;
        }
        a64 = b64_encode(t, strlen(t));
        free(t);
        if (a64 == NULL)
            goto err;
        body = body_text(json_pack("{s:s,s:s}", "key", k64, "value", a64));
    } else {
        r->f = "cas";
        path = "/v3/kv/txn";
        if (!json_is_array(val) || json_array_size(val) != 2) {
            rv = FL_ESHAPE;
            goto err;
        }
        json_t *old = json_array_get(val, 0);
        char *tn = json_dumps(json_array_get(val, 1), JSON_COMPACT | JSON_ENCODE_ANY);
        b64 = tn != NULL ? b64_encode(tn, strlen(tn)) : NULL;
        free(tn);
        if (b64 == NULL)
            goto err;
        json_t *cmp;
        if (json_is_null(old)) {
            cmp = json_pack("{s:s,s:s,s:s,s:s}", "key", k64, "result", "EQUAL", "target", "VERSION",
                            "version", "0");
        } else {
            char *to = json_dumps(old, JSON_COMPACT | JSON_ENCODE_ANY);
            a64 = to != NULL ? b64_encode(to, strlen(to)) : NULL;
            free(to);
            if (a64 == NULL)
                goto err;
            cmp = json_pack("{s:s,s:s,s:s,s:s}", "key", k64, "result", "EQUAL", "target", "VALUE",
                            "value", a64);
        }
        body = body_text(json_pack("{s:[o],s:[{s:{s:s,s:s}}]}", "compare", cmp, "success",
                                   "request_put", "key", k64, "value", b64));
    }
    if (body == NULL)
        goto err;
    call->impl = r;
    rv = req_start(c, r, c->cur, path, body, call->timeout_ms);
    body = NULL; /* owned by r */
    if (rv != 0) {
        call->impl = NULL;
        goto err;
    }
    fl_free(k64);
    fl_free(a64);
    fl_free(b64);
    return 0;
err:
    fl_free(k64);
    fl_free(a64);
    fl_free(b64);
    fl_free(body);
    if (r != NULL)
        req_free(r);
    return rv;
}

static int etcd_leader(void *client, unsigned node, struct workload_call *call)
{
    struct ec_client *c = client;
    if (c->closing || node >= c->n)
        return FL_EUSAGE;
    bool need_ids = false;
    for (unsigned i = 0; i < c->n; i++)
        need_ids |= c->id[i] == 0;
    struct ec_lead *l = fl_calloc(1, sizeof *l);
    if (l == NULL)
        return FL_ENOMEM;
    l->call = call;
    call->impl = l;
    unsigned started = 0;
    for (unsigned k = 0; k < 2; k++) {
        if (k == 1 && !need_ids)
            break;
        for (unsigned i = node; i == node; i++) {
            struct ec_req *r = fl_calloc(1, sizeof *r);
            char *body = fl_strdup("{}");
            if (r == NULL || body == NULL) {
                fl_free(r);
                fl_free(body);
                continue;
            }
            r->kind = k == 0 ? EC_STATUS : EC_MEMBERS;
            r->lead = l;
            l->pending++;
            if (req_start(c, r, i, k == 0 ? "/v3/maintenance/status" : "/v3/cluster/member/list",
                          body, call->timeout_ms) != 0) {
                l->pending--;
                req_free(r);
                continue;
            }
            started++;
        }
    }
    if (started == 0) {
        fl_free(l);
        call->impl = NULL;
        return FL_ENOMEM;
    }
    return 0;
}

static void close_finish(struct ec_client *c)
{
    /* Calls still in flight at close complete now (unknown), then the close cb. */
    while (c->dead != NULL) {
        struct ec_req *r = c->dead;
        c->dead = r->next;
        r->next = NULL;
        req_done(r, CURLE_ABORTED_BY_CALLBACK);
    }
    void (*cb)(void *) = c->close_cb;
    void *data = c->close_data;
    fl_free(c);
    curl_global_cleanup();
    if (cb != NULL)
        cb(data);
}

static void on_close_handle(uv_handle_t *h)
{
    struct ec_client *c = h->data;
    if (--c->closing_handles == 0)
        close_finish(c);
}

static void on_close_sock(uv_handle_t *h)
{
    struct ec_sock *s = h->data;
    struct ec_client *c = s->c;
    fl_free(s);
    if (--c->closing_handles == 0)
        close_finish(c);
}

static void etcd_client_close(void *client, void (*cb)(void *data), void *data)
{
    struct ec_client *c = client;
    c->closing = true;
    c->close_cb = cb;
    c->close_data = data;
    /* Sockets curl still watches close with the client; REMOVE callbacks
     * from here on are ignored. */
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket_noop);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_noop);
    while (c->reqs != NULL) {
        struct ec_req *r = c->reqs;
        list_remove(c, r);
        curl_multi_remove_handle(c->multi, r->easy);
        r->next = c->dead;
        c->dead = r;
    }
    c->closing_handles = 1; /* the timer */
    while (c->socks != NULL) {
        struct ec_sock *s = c->socks;
        sock_unlink(c, s);
        uv_poll_stop(&s->poll);
        c->closing_handles++;
        uv_close((uv_handle_t *)&s->poll, on_close_sock);
    }
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_close_handle);
}

const struct workload_adapter workload_adapter_etcd = {
    .name = "etcd",
    .node_argv = etcd_node_argv,
    .client_addr = etcd_client_addr,
    .peer_addr = etcd_peer_addr,
    .client_open = etcd_client_open,
    .invoke = etcd_invoke,
    .leader = etcd_leader,
    .client_close = etcd_client_close,
    .clock_faults = false, /* Go reads the clock through the vDSO: libfaketime has no effect */
    .membership = false,
};
