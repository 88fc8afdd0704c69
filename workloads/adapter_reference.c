/* adapter_reference.c - the adapter for faultline-node: command line and node/client operations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "node/client/client.h"
#include "workloads/adapter.h"

#define PEER_PORT   7000
#define CLIENT_PORT 7001

static int ref_node_argv(const struct workload_cluster *cl, unsigned i, char **argv, size_t max,
                         char *buf, size_t buflen, char *errmsg)
{
    size_t argc = 0, used = 0;
    char tmp[2048], et[16];
    int rv = 0;
#define PUSH(s)                                                                                    \
    do {                                                                                           \
        if ((rv = workload_argv_push(argv, max, &argc, buf, buflen, &used, (s))) != 0)             \
            return fl_errorf(errmsg, rv, "reference adapter: command line too long");              \
    } while (0)
    PUSH(cl->node_bin != NULL ? cl->node_bin : "faultline-node");
    snprintf(tmp, sizeof tmp, "n%u", i + 1);
    PUSH("--id");
    PUSH(tmp);
    snprintf(tmp, sizeof tmp, "%s:%d", cl->addr[i], PEER_PORT);
    PUSH("--peer-listen");
    PUSH(tmp);
    snprintf(tmp, sizeof tmp, "%s:%d", cl->addr[i], CLIENT_PORT);
    PUSH("--client-listen");
    PUSH(tmp);
    size_t off = 0;
    tmp[0] = '\0';
    for (unsigned j = 0; j < cl->n; j++) {
        if (j == i)
            continue;
        off += (size_t)snprintf(tmp + off, sizeof tmp - off, "%sn%u=%s:%d", off ? "," : "", j + 1,
                                cl->addr[j], PEER_PORT);
    }
    if (off > 0) {
        PUSH("--peers");
        PUSH(tmp);
    }
    off = 0;
    tmp[0] = '\0';
    for (unsigned j = 0; j < cl->n; j++)
        if (cl->passive[j])
            off += (size_t)snprintf(tmp + off, sizeof tmp - off, "%sn%u", off ? "," : "", j + 1);
    if (off > 0) {
        PUSH("--passive-peers");
        PUSH(tmp);
    }
    PUSH("--data");
    PUSH(cl->data_dir[i]);
    if (cl->secret_file == NULL)
        return fl_errorf(errmsg, FL_EUSAGE, "reference adapter: no cluster secret file");
    PUSH("--secret-file");
    PUSH(cl->secret_file);
    PUSH("--sm");
    PUSH(workload_model_sm(cl->model));
    if (cl->election_timeout_ms > 0) {
        snprintf(et, sizeof et, "%u", cl->election_timeout_ms);
        PUSH("--election-timeout-ms");
        PUSH(et);
    }
    /* Implementation options of the scenario (scenarios/README.md). */
    json_t *hb = json_object_get(cl->options, "heartbeat_ms");
    json_t *ld = json_object_get(cl->options, "lease_drift");
    json_t *st = json_object_get(cl->options, "snapshot_threshold");
    json_t *mb = json_object_get(cl->options, "max_batch");
    if (json_is_integer(hb) && json_integer_value(hb) > 0) {
        snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(hb));
        PUSH("--heartbeat-ms");
        PUSH(tmp);
    }
    if (json_is_number(ld)) {
        snprintf(tmp, sizeof tmp, "%.3f", json_number_value(ld));
        PUSH("--lease-drift");
        PUSH(tmp);
    }
    if (json_is_integer(st) && json_integer_value(st) >= 0) {
        snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(st));
        PUSH("--snapshot-threshold");
        PUSH(tmp);
    }
    if (json_is_integer(mb) && json_integer_value(mb) > 0) {
        snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(mb));
        PUSH("--max-batch");
        PUSH(tmp);
    }
    if (cl->lose_unsynced)
        PUSH("--test-lose-unsynced");
    if (cl->bug != NULL && cl->bug[0] != '\0') {
        PUSH("--bug");
        PUSH(cl->bug);
    }
#undef PUSH
    return 0;
}

static void ref_client_addr(const struct workload_cluster *cl, unsigned i, char *out, size_t len)
{
    snprintf(out, len, "%s:%d", cl->addr[i], CLIENT_PORT);
}

static void ref_peer_addr(const struct workload_cluster *cl, unsigned i, char *out, size_t len)
{
    snprintf(out, len, "%s:%d", cl->addr[i], PEER_PORT);
}

/* ==== Client ==== */

struct ref_client;

/* A client of one node only, for leader questions (opened when first asked). */
struct ref_probe {
    struct client c;
    struct ref_client *owner;
    bool open;
};

struct ref_client {
    struct client c;
    uv_loop_t *loop;
    unsigned n;
    char name[WORKLOAD_MAX_NODES][12]; /* "nK": the history's `node` of a reply */
    char addr[WORKLOAD_MAX_NODES][64];
    struct ref_probe probe[WORKLOAD_MAX_NODES];
    unsigned closing; /* clients not yet closed */
    void (*close_cb)(void *data);
    void *close_data;
};

struct ref_call {
    struct client_req req;
    struct ref_client *owner;
    struct workload_call *call;
    json_t *op; /* what was sent (keyed for the kv state machine) */
};

static int ref_client_open(void **out, uv_loop_t *loop, const struct workload_cluster *cl,
                           uint64_t op_timeout_ms, char *errmsg)
{
    struct ref_client *rc = fl_calloc(1, sizeof *rc);
    if (rc == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    const char *ptrs[WORKLOAD_MAX_NODES];
    rc->loop = loop;
    rc->n = cl->n < WORKLOAD_MAX_NODES ? cl->n : WORKLOAD_MAX_NODES;
    for (unsigned i = 0; i < rc->n; i++) {
        ref_client_addr(cl, i, rc->addr[i], sizeof rc->addr[i]);
        ptrs[i] = rc->addr[i];
        snprintf(rc->name[i], sizeof rc->name[i], "n%u", i + 1);
    }
    struct client_config cfg = {.addrs = ptrs,
                                .n_addrs = rc->n,
                                .session_timeout_ms = 10000,
                                .op_timeout_ms = op_timeout_ms,
                                /* sequential reads spread over all nodes */
                                .sequential_rotate = true};
    int rv = client_init(&rc->c, loop, &cfg, errmsg);
    if (rv != 0) {
        fl_free(rc);
        return rv;
    }
    rc->c.data = rc;
    *out = rc;
    return 0;
}

/* A call in flight: what the client library's callback needs to answer it. */
static struct ref_call *ref_call_new(struct workload_call *call)
{
    struct ref_call *rc = fl_calloc(1, sizeof *rc);
    if (rc == NULL)
        return NULL;
    rc->call = call;
    rc->req.data = rc;
    rc->req.timeout_ms = call->timeout_ms;
    call->impl = rc;
    return rc;
}

/* Releases rc; with `answer`, hands the call (outcome set) back to the workload. */
static void ref_call_end(struct ref_call *rc, bool answer)
{
    struct workload_call *call = rc->call;
    json_decref(rc->op);
    fl_free(rc);
    call->impl = NULL;
    if (answer)
        call->cb(call);
}

static void ref_done(struct client_req *req)
{
    struct ref_call *rc = req->data;
    struct workload_call *call = rc->call;
    call->outcome = req->outcome == CLIENT_OK     ? WORKLOAD_OK
                    : req->outcome == CLIENT_FAIL ? WORKLOAD_FAIL
                                                  : WORKLOAD_UNKNOWN;
    call->error = req->error;
    call->value = NULL;
    if (req->outcome == CLIENT_OK && req->result != NULL) {
        json_t *v = json_object_get(req->result, "value");
        call->value = v != NULL ? json_incref(v) : json_null();
    }
    if (req->outcome == CLIENT_OK && rc->owner != NULL) {
        /* The node that answered: the connection the reply came on. */
        const struct ref_client *c = rc->owner;
        const char *a = client_conn_addr(&c->c);
        for (unsigned i = 0; i < c->n; i++)
            if (strcmp(a, c->addr[i]) == 0)
                call->node = c->name[i];
    }
    ref_call_end(rc, true);
}

static int ref_invoke(void *client, struct workload_call *call)
{
    struct ref_client *c = client;
    const char *f = json_string_value(json_object_get(call->op, "f"));
    if (f == NULL)
        return UV_EINVAL;
    struct ref_call *rc = ref_call_new(call);
    if (rc == NULL)
        return FL_ENOMEM;
    rc->owner = c;
    bool read = strcmp(f, "read") == 0;
    /* The register workload has no key: the kv state machine needs one, added to a
     * shallow copy. An op with its key (kv) is sent as it is: the client library
     * only reads it. */
    if ((read || strcmp(f, "write") == 0 || strcmp(f, "cas") == 0) &&
        json_object_get(call->op, "key") == NULL) {
        rc->op = json_copy(call->op);
        if (rc->op != NULL && json_object_set_new(rc->op, "key", json_string("r")) != 0) {
            json_decref(rc->op);
            rc->op = NULL;
        }
    } else {
        rc->op = json_incref(call->op);
    }
    if (rc->op == NULL) {
        ref_call_end(rc, false);
        return FL_ENOMEM;
    }
    int rv;
    if (read) {
        enum client_consistency cons = call->consistency == WORKLOAD_LEASE ? CLIENT_LEASE
                                       : call->consistency == WORKLOAD_SEQUENTIAL
                                           ? CLIENT_SEQUENTIAL
                                           : CLIENT_LINEARIZABLE;
        rv = client_query(&c->c, &rc->req, rc->op, cons, ref_done);
    } else {
        rv = client_command(&c->c, &rc->req, rc->op, ref_done);
    }
    if (rv != 0)
        ref_call_end(rc, false);
    return rv;
}

/* A node's members reply: whom it follows, in which term. */
static void ref_members_done(struct client_req *req)
{
    struct ref_call *rc = req->data;
    struct workload_call *call = rc->call;
    call->outcome = req->outcome == CLIENT_OK ? WORKLOAD_OK : WORKLOAD_UNKNOWN;
    call->error = req->error;
    call->value = NULL;
    if (req->outcome == CLIENT_OK) {
        const char *l =
            req->result != NULL ? json_string_value(json_object_get(req->result, "leader")) : NULL;
        json_t *t = req->result != NULL ? json_object_get(req->result, "term") : NULL;
        long v = l != NULL && l[0] == 'n' ? strtol(l + 1, NULL, 10) : 0;
        call->value = json_pack("{s:o}", "leader", v >= 1 ? json_integer(v - 1) : json_null());
        if (call->value != NULL && json_is_integer(t) && json_integer_value(t) >= 0)
            json_object_set(call->value, "term", t);
    }
    ref_call_end(rc, true);
}

static int ref_leader(void *client, unsigned node, struct workload_call *call)
{
    struct ref_client *c = client;
    if (node >= c->n || c->closing > 0)
        return FL_EUSAGE;
    struct ref_probe *p = &c->probe[node];
    if (!p->open) {
        const char *addr = c->addr[node];
        struct client_config cc = {.addrs = &addr, .n_addrs = 1, .op_timeout_ms = 1000};
        char err[FL_ERRMSG_SIZE];
        int rv = client_init(&p->c, c->loop, &cc, err);
        if (rv != 0)
            return rv;
        p->c.data = p;
        p->owner = c;
        p->open = true;
    }
    struct ref_call *rc = ref_call_new(call);
    if (rc == NULL)
        return FL_ENOMEM;
    int rv = client_members(&p->c, &rc->req, ref_members_done);
    if (rv != 0)
        ref_call_end(rc, false);
    return rv;
}

static void ref_one_closed(struct ref_client *rc)
{
    if (--rc->closing > 0)
        return;
    void (*cb)(void *) = rc->close_cb;
    void *data = rc->close_data;
    fl_free(rc);
    if (cb != NULL)
        cb(data);
}

static void ref_closed(struct client *c)
{
    ref_one_closed(c->data);
}

static void ref_probe_closed(struct client *c)
{
    struct ref_probe *p = c->data;
    ref_one_closed(p->owner);
}

static void ref_client_close(void *client, void (*cb)(void *data), void *data)
{
    struct ref_client *rc = client;
    rc->close_cb = cb;
    rc->close_data = data;
    rc->closing = 1;
    for (unsigned i = 0; i < rc->n; i++)
        rc->closing += rc->probe[i].open;
    for (unsigned i = 0; i < rc->n; i++)
        if (rc->probe[i].open) {
            rc->probe[i].open = false;
            client_close(&rc->probe[i].c, ref_probe_closed);
        }
    client_close(&rc->c, ref_closed);
}

const struct workload_adapter workload_adapter_reference = {
    .name = "reference",
    .node_argv = ref_node_argv,
    .client_addr = ref_client_addr,
    .peer_addr = ref_peer_addr,
    .client_open = ref_client_open,
    .invoke = ref_invoke,
    .leader = ref_leader,
    .client_close = ref_client_close,
    .clock_faults = true,
    .membership = true,
};

const struct workload_adapter *workload_adapter_find(const char *name)
{
    if (name != NULL && strcmp(name, "reference") == 0)
        return &workload_adapter_reference;
    if (name != NULL && strcmp(name, "etcd") == 0)
        return &workload_adapter_etcd;
    if (name != NULL && strcmp(name, "process") == 0)
        return &workload_adapter_process;
    if (name != NULL && strcmp(name, "client") == 0)
        return &workload_adapter_client;
    return NULL;
}

bool workload_adapter_clock_faults(const struct workload_adapter *a,
                                   const struct workload_cluster *cl)
{
    if (a == &workload_adapter_process || a == &workload_adapter_client)
        return cl != NULL && cl->options != NULL &&
               json_is_true(json_object_get(cl->options, "dynamic"));
    return a != NULL && a->clock_faults;
}
