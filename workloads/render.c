/* render.c - the placeholders of foreign nodes and client programs (PROCESS_PROTOCOL.md). */
#include "workloads/render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/template.h"

struct rctx {
    const struct workload_cluster *cl;
    int node;
    const char *worker;
};

int workload_port(const struct workload_cluster *cl, bool peer)
{
    json_t *v = cl->options != NULL
                    ? json_object_get(cl->options, peer ? "peer_port" : "client_port")
                    : NULL;
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 65536)
        return (int)json_integer_value(v);
    return peer ? WORKLOAD_PEER_PORT : WORKLOAD_CLIENT_PORT;
}

/* "nK" with 1 <= K <= n: K - 1; else -1. */
static int node_index(const struct workload_cluster *cl, const char *s)
{
    if (s == NULL || s[0] != 'n' || s[1] < '1' || s[1] > '9')
        return -1;
    char *end;
    long k = strtol(s + 1, &end, 10);
    return *end == '\0' && k >= 1 && k <= (long)cl->n ? (int)k - 1 : -1;
}

static int bad_node(const struct workload_cluster *cl, const char *arg, char *errmsg)
{
    return fl_errorf(errmsg, FL_ESHAPE, "no node \"%s\" (nodes are n1..n%u)", arg ? arg : "",
                     cl->n);
}

/* True when NAME is the path of one of options.files. */
static bool has_file(const struct workload_cluster *cl, const char *name)
{
    json_t *files = cl->options != NULL ? json_object_get(cl->options, "files") : NULL;
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        const char *p = json_string_value(json_object_get(f, "path"));
        if (p != NULL && strcmp(p, name) == 0)
            return true;
    }
    return false;
}

static int list(const struct workload_cluster *cl, bool named, bool peer, struct fl_buf *out)
{
    for (unsigned j = 0; j < cl->n; j++) {
        if (named)
            fl_buf_printf(out, "%sn%u=%s:%d", j ? "," : "", j + 1, cl->addr[j],
                          workload_port(cl, peer));
        else
            fl_buf_printf(out, "%s%s:%d", j ? "," : "", cl->addr[j], workload_port(cl, peer));
    }
    return 0;
}

static int value(void *data, const char *name, const char *arg, struct fl_buf *out, char *errmsg)
{
    struct rctx *x = data;
    const struct workload_cluster *cl = x->cl;
    int i = x->node;
#define IS(s) (strcmp(name, s) == 0)
    if (arg != NULL) {
        if (IS("addr")) {
            int k = node_index(cl, arg);
            if (k < 0)
                return bad_node(cl, arg, errmsg);
            fl_buf_puts(out, cl->addr[k]);
            return 0;
        }
        if (IS("file")) {
            if (i < 0)
                return fl_errorf(errmsg, FL_ESHAPE, "a node's file; client programs have none");
            if (!has_file(cl, arg))
                return fl_errorf(errmsg, FL_ESHAPE, "no file \"%s\" in implementation.options.files",
                                 arg);
            fl_buf_printf(out, "%s/%s", cl->conf_dir[i] ? cl->conf_dir[i] : ".", arg);
            return 0;
        }
        return fl_errorf(errmsg, FL_ESHAPE,
                         "unknown placeholder (with an argument: {addr:nK}, {file:NAME}, "
                         "{if:nK:TEXT}, {unless:nK:TEXT})");
    }
    if (IS("peer_port") || IS("port") || IS("client_port")) {
        fl_buf_printf(out, "%d", workload_port(cl, !IS("client_port")));
        return 0;
    }
    if (IS("peers"))
        return list(cl, true, true, out);
    if (IS("nodes"))
        return list(cl, true, false, out);
    if (IS("addrs"))
        return list(cl, false, false, out);
    if (IS("n")) {
        fl_buf_printf(out, "%u", cl->n);
        return 0;
    }
    if (IS("model")) {
        fl_buf_puts(out, workload_model_name(cl->model));
        return 0;
    }
    if (IS("worker")) {
        if (x->worker == NULL)
            return fl_errorf(errmsg, FL_ESHAPE, "only client programs have a worker number");
        fl_buf_puts(out, x->worker);
        return 0;
    }
    bool node_only = IS("id") || IS("name") || IS("addr") || IS("data") || IS("dir") || IS("conf");
    if (node_only && i < 0)
        return fl_errorf(errmsg, FL_ESHAPE,
                         "a node's placeholder; a client program has {nodes}, {addrs}, {addr:nK}");
    if (IS("id"))
        fl_buf_printf(out, "%d", i + 1);
    else if (IS("name"))
        fl_buf_printf(out, "n%d", i + 1);
    else if (IS("addr"))
        fl_buf_puts(out, cl->addr[i]);
    else if (IS("data") || IS("dir"))
        fl_buf_puts(out, cl->data_dir[i] != NULL ? cl->data_dir[i] : "");
    else if (IS("conf"))
        fl_buf_puts(out, cl->conf_dir[i] != NULL ? cl->conf_dir[i] : "");
    else
        return fl_errorf(errmsg, FL_ESHAPE,
                         "unknown placeholder (known: {id} {name} {addr} {addr:nK} {peer_port} "
                         "{port} {client_port} {peers} {nodes} {addrs} {n} {model} {data} {dir} "
                         "{conf} {file:NAME} {worker}; {{ for a brace)");
#undef IS
    return 0;
}

static int cond(void *data, const char *arg, bool *on, char *errmsg)
{
    struct rctx *x = data;
    int k = node_index(x->cl, arg);
    if (k < 0)
        return bad_node(x->cl, arg, errmsg);
    if (x->node < 0)
        return fl_errorf(errmsg, FL_ESHAPE, "conditionals are for nodes, not client programs");
    *on = k == x->node;
    return 0;
}

int workload_render(const struct workload_cluster *cl, int node, const char *worker,
                    const char *src, size_t len, const char *what, struct fl_buf *out, size_t max,
                    char *errmsg)
{
    struct rctx x = {.cl = cl, .node = node, .worker = worker};
    struct fl_template_ops ops = {.value = value, .cond = cond, .data = &x};
    if (node >= (int)cl->n)
        return fl_errorf(errmsg, FL_EUSAGE, "%s: node %d of %u", what, node + 1, cl->n);
    return fl_template_render(&ops, src, len, what, out, max, errmsg);
}
