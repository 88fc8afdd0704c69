/* topology.c - hub namespace, bridge, node namespaces and veth pairs of a run. */
#include "nemesis/topology.h"

#include "common/alloc.h"
#include "common/error.h"
#include "nemesis/internal.h"
#include "nemesis/netns.h"
#include "nemesis/registry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ==== Run ids and planning (pure) ==== */

void nemesis_run_id_new(char out[8])
{
    unsigned char b[3] = {0, 0, 0};
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            /* No entropy source: fall back to pid and time, still unique enough per host. */
            unsigned v = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
            b[0] = (unsigned char)v, b[1] = (unsigned char)(v >> 8),
            b[2] = (unsigned char)(v >> 16);
            break;
        }
        got += (size_t)r;
    }
    snprintf(out, 8, "%02x%02x%02x", b[0], b[1], b[2]);
}

bool nemesis_run_id_ok(const char *run)
{
    if (!run)
        return false;
    for (int i = 0; i < 6; i++)
        if (!((run[i] >= '0' && run[i] <= '9') || (run[i] >= 'a' && run[i] <= 'f')))
            return false;
    return run[6] == '\0';
}

/* Parses "a.b.c.0" strictly (decimal octets, no leading zeros, no spaces).
 * Returns 0 and the network in host order, or -1. */
static int parse_subnet(const char *s, uint32_t *net)
{
    uint32_t v = 0;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned o = 0;
        const char *start = p;
        while (*p >= '0' && *p <= '9' && p - start < 4)
            o = o * 10 + (unsigned)(*p++ - '0');
        if (o > 255 || p - start > 3 || (p - start > 1 && *start == '0'))
            return -1;
        v = v << 8 | o;
        if (i < 3 && *p++ != '.')
            return -1;
    }
    if (*p != '\0')
        return -1;
    *net = v;
    return 0;
}

static void quad(uint32_t v, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
}

/* Validates the subnet argument; on success *net is the network (host order). */
static int subnet_ok(const char *subnet, uint32_t *net, char *errmsg)
{
    if (!subnet || strlen(subnet) > 15 || parse_subnet(subnet, net) < 0)
        return fl_errorf(errmsg, FL_EUSAGE,
                         "subnet \"%.32s\": expected a /24 written as a dotted quad a.b.c.0",
                         subnet ? subnet : "(null)");
    if ((*net & 255) != 0)
        return fl_errorf(errmsg, FL_EUSAGE,
                         "subnet %s: the last octet must be 0 (a /24 network, e.g. %s)", subnet,
                         NEMESIS_DEFAULT_SUBNET);
    unsigned a = *net >> 24;
    if (a == 0 || a == 127 || a >= 224)
        return fl_errorf(errmsg, FL_EUSAGE,
                         "subnet %s: not a unicast network usable for namespaces (first octet "
                         "0, 127 or >= 224)",
                         subnet);
    return 0;
}

int nemesis_topology_plan(struct nemesis_topology *t, const char *run, const char *subnet,
                          unsigned n, char *errmsg)
{
    uint32_t net;
    memset(t, 0, sizeof *t);
    if (!subnet)
        subnet = NEMESIS_DEFAULT_SUBNET;
    if (!nemesis_run_id_ok(run))
        return fl_errorf(errmsg, FL_EUSAGE, "run id \"%.16s\": expected 6 lowercase hex digits",
                         run ? run : "(null)");
    if (n < 1 || n > NEMESIS_MAX_NODES)
        return fl_errorf(errmsg, FL_EUSAGE, "nodes: %u is out of range 1..%d", n,
                         NEMESIS_MAX_NODES);
    int rc = subnet_ok(subnet, &net, errmsg);
    if (rc < 0)
        return rc;
    snprintf(t->run, sizeof t->run, "%s", run);
    snprintf(t->hub_ns, sizeof t->hub_ns, "fl-%s-hub", run);
    snprintf(t->bridge, sizeof t->bridge, "br0");
    quad(net | 254, t->hub_addr);
    quad(net, t->subnet);
    t->n = n;
    for (unsigned i = 0; i < n; i++) {
        struct nemesis_node_net *nd = &t->nodes[i];
        snprintf(nd->ns, sizeof nd->ns, "fl-%s-n%u", run, i + 1);
        snprintf(nd->hub_veth, sizeof nd->hub_veth, "fl%sv%u", run, i + 1);
        quad(net | (i + 1), nd->addr);
    }
    t->up = false;
    return 0;
}

/* ==== Subnet overlap with the caller's namespace ==== */

/* Whether prefix p/len overlaps the /24 at net (both host order). */
static bool overlaps(uint32_t p, unsigned len, uint32_t net)
{
    unsigned l = len < 24 ? len : 24;
    if (l == 0)
        return true;
    return ((p ^ net) >> (32 - l)) == 0;
}

static int parse_prefix(const char *s, unsigned default_len, uint32_t *p, unsigned *len)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *slash = strchr(buf, '/');
    *len = default_len;
    if (slash) {
        *slash = '\0';
        char *end;
        long l = strtol(slash + 1, &end, 10);
        if (*end || l < 0 || l > 32)
            return -1;
        *len = (unsigned)l;
    }
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    *p = ntohl(a.s_addr);
    return 0;
}

static int run_ip_json(const char *const *argv, json_t **out, char *errmsg)
{
    enum { OUT_MAX = 1 << 20 };
    char *buf = fl_malloc(OUT_MAX);
    if (!buf)
        return fl_errorf(errmsg, FL_ENOMEM, "ip: out of memory");
    int trunc = 0;
    int rc = nemesis_netns_run(NULL, argv, NULL, 0, buf, OUT_MAX, NULL, &trunc, errmsg);
    if (rc == 0 && trunc)
        rc = fl_errorf(errmsg, FL_ELIMIT, "%s %s: output over %d bytes", argv[0], argv[2], OUT_MAX);
    else if (rc > 0)
        rc = -EIO;
    if (rc == 0) {
        json_error_t jerr;
        *out = json_loads(buf, 0, &jerr);
        if (!*out || !json_is_array(*out)) {
            json_decref(*out);
            *out = NULL;
            rc = fl_errorf(errmsg, FL_EPARSE, "ip -j: unexpected output: %s", jerr.text);
        }
    }
    fl_free(buf);
    return rc;
}

int nemesis_topology_check_subnet(const char *subnet, char *errmsg)
{
    uint32_t net;
    int rc = subnet_ok(subnet, &net, errmsg);
    if (rc < 0)
        return rc;
    json_t *addrs = NULL, *routes = NULL;
    static const char *const addr_argv[] = {"ip", "-j", "-4", "addr", "show", NULL};
    static const char *const route_argv[] = {"ip",   "-j",    "-4",  "route",
                                             "show", "table", "all", NULL};
    rc = run_ip_json(addr_argv, &addrs, errmsg);
    if (rc < 0)
        return fl_error_wrap(errmsg, rc, "checking subnet %s", subnet);
    rc = run_ip_json(route_argv, &routes, errmsg);
    if (rc < 0) {
        json_decref(addrs);
        return fl_error_wrap(errmsg, rc, "checking subnet %s", subnet);
    }
    size_t i, j;
    json_t *link, *ai;
    json_array_foreach(addrs, i, link)
    {
        const char *ifname = json_string_value(json_object_get(link, "ifname"));
        json_array_foreach(json_object_get(link, "addr_info"), j, ai)
        {
            const char *local = json_string_value(json_object_get(ai, "local"));
            json_t *pl = json_object_get(ai, "prefixlen");
            uint32_t a;
            unsigned len;
            if (!local || !json_is_integer(pl) || parse_prefix(local, 32, &a, &len) < 0)
                continue;
            len = (unsigned)json_integer_value(pl);
            if (len > 32)
                continue;
            if (overlaps(a, len == 0 ? 32 : len, net)) {
                rc = fl_errorf(errmsg, FL_EUSAGE,
                               "subnet %s/24 overlaps address %s/%u on %.32s of the root "
                               "namespace; choose another subnet",
                               subnet, local, len, ifname ? ifname : "?");
                goto out;
            }
        }
    }
    json_t *r;
    json_array_foreach(routes, i, r)
    {
        const char *dst = json_string_value(json_object_get(r, "dst"));
        const char *dev = json_string_value(json_object_get(r, "dev"));
        uint32_t p;
        unsigned len;
        if (!dst || strcmp(dst, "default") == 0 || parse_prefix(dst, 32, &p, &len) < 0 || len == 0)
            continue;
        if (overlaps(p, len, net)) {
            rc = fl_errorf(errmsg, FL_EUSAGE,
                           "subnet %s/24 overlaps route %s%s%.32s of the root namespace; "
                           "choose another subnet",
                           subnet, dst, dev ? " dev " : "", dev ? dev : "");
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(addrs);
    json_decref(routes);
    return rc;
}

/* ==== Up and down ==== */

bool nemesis_topology_ns_exists(const char *ns)
{
    char path[128];
    struct stat st;
    if (!nemesis_netns_name_ok(ns))
        return false;
    snprintf(path, sizeof path, "%s/%s", NEMESIS_NETNS_DIR, ns);
    return lstat(path, &st) == 0;
}

/* Appends a formatted line to a batch buffer. */
static int batch_add(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int batch_add(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size - *len)
        return FL_ELIMIT;
    *len += (size_t)n;
    return 0;
}

static int run_batch(const char *ns, const char *batch, size_t len, char *errmsg)
{
    static const char *const argv[] = {"ip", "-batch", "-", NULL};
    int rc = nemesis_netns_run(ns, argv, batch, len, NULL, 0, NULL, NULL, errmsg);
    return rc > 0 ? -EIO : rc;
}

static bool plan_ok(const struct nemesis_topology *t)
{
    if (!nemesis_run_id_ok(t->run) || t->n < 1 || t->n > NEMESIS_MAX_NODES ||
        !nemesis_netns_name_ok(t->hub_ns) || !t->bridge[0])
        return false;
    for (unsigned i = 0; i < t->n; i++)
        if (!nemesis_netns_name_ok(t->nodes[i].ns) || !t->nodes[i].hub_veth[0] ||
            !t->nodes[i].addr[0])
            return false;
    return true;
}

/* A record the caller made before (nemesis_registry_create, to name its temp dirs before
 * creating them) keeps its dirs and processes; another process's record of this run id is
 * refused, never overwritten. */
static int keep_own_record(struct nemesis_registry *reg, char *errmsg)
{
    char path[512], em[FL_ERRMSG_SIZE];
    if (nemesis_registry_path(NULL, reg->run, path, sizeof path) < 0)
        return 0; /* save reports it */
    struct nemesis_registry *old = fl_malloc(sizeof *old);
    if (!old)
        return fl_errorf(errmsg, FL_ENOMEM, "topology %s: out of memory", reg->run);
    int rc = nemesis_registry_load(path, old, em);
    if (rc == -ENOENT) {
        rc = 0;
    } else if (rc == 0 && old->owner == reg->owner && old->owner_start == reg->owner_start) {
        reg->n_procs = old->n_procs;
        memcpy(reg->procs, old->procs, sizeof reg->procs);
        reg->n_dirs = old->n_dirs;
        memcpy(reg->dirs, old->dirs, sizeof reg->dirs);
    } else {
        rc = fl_errorf(errmsg, -EEXIST, "topology %s: %s names another run of this id", reg->run,
                       path);
    }
    fl_free(old);
    return rc;
}

int nemesis_topology_up(struct nemesis_topology *t, char *errmsg)
{
    enum { BATCH_MAX = 8192 };
    char batch[BATCH_MAX];
    size_t len = 0;
    int rc;

    if (!plan_ok(t))
        return fl_errorf(errmsg, FL_EUSAGE, "topology: not planned (nemesis_topology_plan)");
    if (t->up)
        return fl_errorf(errmsg, FL_EUSAGE, "topology %s: already up", t->run);
    rc = nemesis_topology_check_subnet(t->subnet, errmsg);
    if (rc < 0)
        return rc;
    if (nemesis_topology_ns_exists(t->hub_ns))
        return fl_errorf(errmsg, -EEXIST, "topology: namespace %s already exists", t->hub_ns);
    for (unsigned i = 0; i < t->n; i++)
        if (nemesis_topology_ns_exists(t->nodes[i].ns))
            return fl_errorf(errmsg, -EEXIST, "topology: namespace %s already exists",
                             t->nodes[i].ns);

    /* Record before creating, so a harness killed from here on leaves a trace for clean. */
    struct nemesis_registry *reg = fl_malloc(sizeof *reg);
    if (!reg)
        return fl_errorf(errmsg, FL_ENOMEM, "topology %s: out of memory", t->run);
    rc = nemesis_registry_init(reg, t);
    if (rc == 0)
        rc = keep_own_record(reg, errmsg);
    else
        fl_errorf(errmsg, rc, "topology %s: reading own start time: %s", t->run, fl_strerror(rc));
    if (rc == 0)
        rc = nemesis_registry_save(NULL, reg, errmsg);
    fl_free(reg);
    if (rc < 0)
        return rc;
    t->up = true; /* from here on, down has something to undo */

    /* Root namespace: the namespaces, and veth pairs created directly in place. */
    rc = batch_add(batch, sizeof batch, &len, "netns add %s\n", t->hub_ns);
    for (unsigned i = 0; rc == 0 && i < t->n; i++)
        rc = batch_add(batch, sizeof batch, &len, "netns add %s\n", t->nodes[i].ns);
    for (unsigned i = 0; rc == 0 && i < t->n; i++)
        rc = batch_add(batch, sizeof batch, &len,
                       "link add %s netns %s type veth peer name eth0 netns %s\n",
                       t->nodes[i].hub_veth, t->hub_ns, t->nodes[i].ns);
    if (rc == 0)
        rc = run_batch(NULL, batch, len, errmsg);
    if (rc < 0)
        goto err;

    /* Hub: lo, the bridge with the hub's address, every hub-side veth enslaved.
     * addrgenmode none: no IPv6 link-local chatter in the capture. */
    len = 0;
    rc = batch_add(batch, sizeof batch, &len,
                   "link set lo up\nlink add %s type bridge\nlink set %s addrgenmode none\n"
                   "addr add %s/24 dev %s\nlink set %s up\n",
                   t->bridge, t->bridge, t->hub_addr, t->bridge, t->bridge);
    for (unsigned i = 0; rc == 0 && i < t->n; i++)
        rc = batch_add(batch, sizeof batch, &len,
                       "link set %s addrgenmode none\nlink set %s master %s\nlink set %s up\n",
                       t->nodes[i].hub_veth, t->nodes[i].hub_veth, t->bridge, t->nodes[i].hub_veth);
    if (rc == 0)
        rc = run_batch(t->hub_ns, batch, len, errmsg);
    if (rc < 0)
        goto err;

    for (unsigned i = 0; i < t->n; i++) {
        len = 0;
        rc = batch_add(batch, sizeof batch, &len,
                       "link set lo up\nlink set eth0 addrgenmode none\n"
                       "addr add %s/24 dev eth0\nlink set eth0 up\n",
                       t->nodes[i].addr);
        if (rc == 0)
            rc = run_batch(t->nodes[i].ns, batch, len, errmsg);
        if (rc < 0)
            goto err;
    }
    return 0;

err:
    if (rc == FL_ELIMIT)
        fl_errorf(errmsg, rc, "topology %s: ip batch too long", t->run);
    fl_error_wrap(errmsg, rc, "topology %s up", t->run);
    nemesis_topology_down(t);
    return rc;
}

int nemesis_topology_down(struct nemesis_topology *t)
{
    int first = 0, rc;
    char path[512], errmsg[FL_ERRMSG_SIZE];

    if (!t->up || !nemesis_run_id_ok(t->run))
        return 0; /* never brought up, or already down: nothing of ours to remove */
    /* Nodes first, then the hub: no veth outlives its bridge port for long. */
    for (unsigned i = 0; i < t->n && i < NEMESIS_MAX_NODES; i++) {
        rc = nemesis__ns_remove(t->nodes[i].ns, false, NULL, NULL);
        if (rc < 0 && !first)
            first = rc;
    }
    rc = nemesis__ns_remove(t->hub_ns, false, NULL, NULL);
    if (rc < 0 && !first)
        first = rc;
    /* Temp dirs recorded for the run, then the record itself. */
    struct nemesis_registry *reg = fl_malloc(sizeof *reg);
    if (reg && nemesis_registry_path(NULL, t->run, path, sizeof path) == 0 &&
        nemesis_registry_load(path, reg, errmsg) == 0) {
        for (unsigned i = 0; i < reg->n_dirs; i++) {
            rc = nemesis__rmtree(reg->dirs[i]);
            if (rc < 0 && rc != -ENOENT && !first)
                first = rc;
        }
    }
    fl_free(reg);
    nemesis_registry_remove(NULL, t->run);
    t->up = false;
    return first;
}
