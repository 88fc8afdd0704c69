/* capture_cmd.c - `faultline capture`: decoded peer messages and TCP events of a run's capture. */
#include "harness/capture_cmd.h"

#include <arpa/inet.h>

#include "nemesis/hostfile.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "harness/scenario.h"

#define PATH_SZ 4096

void harness_capture_init(struct harness_capture *c, size_t max)
{
    memset(c, 0, sizeof *c);
    c->from = INT64_MIN;
    c->to = INT64_MAX;
    c->max = max;
    c->nodes = HARNESS_SCENARIO_MAX_NODES;
}

void harness_capture_free(struct harness_capture *c)
{
    fl_free(c->v);
    c->v = NULL;
    c->n = 0;
}

const char *harness_capture_name(const struct harness_capture *c, int node, uint32_t ip, char *buf)
{
    (void)c;
    if (node >= 0)
        snprintf(buf, 24, "n%d", node + 1);
    else
        snprintf(buf, 24, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
    return buf;
}

const char *harness_capture_kind(const struct harness_capmsg *m)
{
    switch (m->kind) {
    case NEMESIS_CAPEV_MSG:
        return m->msg.type;
    case NEMESIS_CAPEV_SYN:
        return "SYN";
    case NEMESIS_CAPEV_FIN:
        return "FIN";
    case NEMESIS_CAPEV_RST:
        return "RST";
    case NEMESIS_CAPEV_RETRANS:
        return "retransmit";
    case NEMESIS_CAPEV_HOLE:
    default:
        return "hole";
    }
}

static int node_of(const struct harness_capture *c, uint32_t ip)
{
    for (unsigned i = 0; c->on_hosts && i < c->nodes && i < 16; i++)
        if (c->host_ip[i] == ip)
            return (int)i;
    if (c->on_hosts)
        return -1;
    if ((ip & 0xffffff00u) != c->net)
        return -1;
    unsigned last = ip & 255;
    return last >= 1 && last <= c->nodes ? (int)last - 1 : -1;
}

struct load_ctx {
    struct harness_capture *c;
    bool have_t0;
    int rc;
};

static void print_event(struct harness_capture *c, const struct harness_capmsg *m)
{
    char a[24], b[24];
    harness_capture_name(c, m->src, m->src_ip, a);
    harness_capture_name(c, m->dst, m->dst_ip, b);
    double t = (double)m->t / 1e9;
    if (c->json) {
        json_t *j = json_pack("{s:f, s:s, s:s, s:i, s:i, s:s}", "t", t, "src", a, "dst", b, "sport",
                              m->sport, "dport", m->dport, "event",
                              m->kind == NEMESIS_CAPEV_MSG ? "message" : harness_capture_kind(m));
        if (j && m->kind == NEMESIS_CAPEV_MSG) {
            json_object_set_new(j, "type", json_string(m->msg.type));
            json_object_set_new(j, "from", json_integer((json_int_t)m->msg.from));
            json_object_set_new(j, "to", json_integer((json_int_t)m->msg.to));
            json_object_set_new(j, "term", json_integer((json_int_t)m->msg.term));
            json_object_set_new(j, "detail", json_string(m->msg.detail));
        }
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        if (s)
            fprintf(c->print, "%s\n", s);
        free(s);
        json_decref(j);
        return;
    }
    if (m->kind == NEMESIS_CAPEV_MSG)
        fprintf(c->print, "%12.6f  %-4s -> %-4s %-15s term %-4" PRIu64 " %s\n", t, a, b,
                m->msg.type, m->msg.term, m->msg.detail);
    else
        fprintf(c->print, "%12.6f  %-4s -> %-4s %-15s (%s:%u -> %s:%u)\n", t, a, b,
                harness_capture_kind(m), a, m->sport, b, m->dport);
}

static void on_event(void *data, const struct nemesis_capev *ev)
{
    struct load_ctx *x = data;
    struct harness_capture *c = x->c;
    if (!x->have_t0) {
        c->t0_unix = ev->t_ns;
        x->have_t0 = true;
    }
    struct harness_capmsg m = {.t = ev->t_ns - c->t0_unix,
                               .kind = ev->kind,
                               .src = node_of(c, ev->src),
                               .dst = node_of(c, ev->dst),
                               .src_ip = ev->src,
                               .dst_ip = ev->dst,
                               .sport = ev->sport,
                               .dport = ev->dport};
    if (m.t < c->from || m.t > c->to)
        return;
    if (!c->all && (m.src < 0 || m.dst < 0))
        return;
    if (ev->kind == NEMESIS_CAPEV_MSG)
        m.msg = *ev->msg;
    if (c->print) {
        print_event(c, &m);
        return;
    }
    if (c->n == c->max) {
        c->dropped++;
        return;
    }
    if (c->n % 1024 == 0) {
        struct harness_capmsg *nv = fl_reallocarray(c->v, c->n + 1024, sizeof *nv);
        if (!nv) {
            x->rc = FL_ENOMEM;
            c->dropped++;
            return;
        }
        c->v = nv;
    }
    c->v[c->n++] = m;
}

int harness_capture_load(struct harness_capture *c, const char *dir, char *errmsg)
{
    char path[PATH_SZ + 32];
    struct load_ctx x = {.c = c};
    /* The nodes' addresses: subnet and count from the scenario as run. */
    struct harness_scenario sc;
    char err[FL_ERRMSG_SIZE];
    snprintf(path, sizeof path, "%s/scenario.json", dir);
    const char *subnet = "198.51.100.0";
    if (harness_scenario_load(path, &sc, err) == 0) {
        c->nodes = sc.nodes.count + sc.nodes.passive;
        subnet = sc.network.subnet[0] ? sc.network.subnet : subnet;
        struct nemesis_hostfile hf;
        if (sc.hosts[0] && nemesis_hostfile_load(sc.hosts, &hf, err) == 0) {
            c->on_hosts = true;
            for (unsigned i = 0; i < hf.n && i < 16; i++) {
                struct in_addr h;
                if (inet_pton(AF_INET, hf.hosts[i].addr, &h) == 1)
                    c->host_ip[i] = ntohl(h.s_addr);
            }
        }
    }
    struct in_addr a;
    c->net = inet_pton(AF_INET, subnet, &a) == 1 ? ntohl(a.s_addr) & 0xffffff00u : 0xc6336400u;
    /* History time 0 on the wall clock. */
    snprintf(path, sizeof path, "%s/clock.json", dir);
    json_error_t jerr;
    json_t *cj = json_load_file(path, 0, &jerr);
    json_t *t0 = json_object_get(cj, "history_t0_unix_ns");
    if (json_is_integer(t0) && json_integer_value(t0) > 0) {
        c->t0_unix = (int64_t)json_integer_value(t0);
        c->t0_exact = true;
        x.have_t0 = true;
    }
    json_decref(cj);
    snprintf(path, sizeof path, "%s/capture.pcap", dir);
    int rv = nemesis_capread_file(path, 0, on_event, &x, &c->st, errmsg);
    if (rv == 0 && x.rc != 0)
        rv = fl_errorf(errmsg, x.rc, "%s: out of memory", path);
    return rv;
}

/* ==== Command ==== */

static const char usage[] =
    "usage: faultline capture RESULTS_DIR [--from S] [--to S] [--all] [--json]\n"
    "\n"
    "Prints the traffic between the nodes in RESULTS_DIR/capture.pcap, decoded: the\n"
    "reference node's peer frames as Raft messages (type, term, indexes; node/PROTOCOL.md),\n"
    "and for other traffic (etcd's HTTP/gRPC peers) what TCP shows: SYN, FIN, RST,\n"
    "retransmissions, holes in the capture. Times are seconds on the history's clock.\n"
    "\n"
    "  --from S, --to S  only this window (seconds, fractions allowed)\n"
    "  --all             client traffic too (requests and replies), not only node to node\n"
    "  --json            one JSON object per line\n"
    "  -h, --help        this text\n";

static int parse_secs(const char *opt, const char *v, int64_t *out)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end || d != d || d < -1e6 || d > 1e6) {
        fprintf(stderr, "faultline capture: %s: expected seconds, got \"%.40s\"\n", opt, v);
        return -1;
    }
    *out = (int64_t)(d * 1e9);
    return 0;
}

int harness_capture_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
        {"all", no_argument, NULL, 'a'},        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    struct harness_capture c;
    harness_capture_init(&c, 0);
    int o;
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (o) {
        case 'f':
            if (parse_secs("--from", optarg, &c.from) != 0)
                return 3;
            break;
        case 't':
            if (parse_secs("--to", optarg, &c.to) != 0)
                return 3;
            break;
        case 'a':
            c.all = true;
            break;
        case 'j':
            c.json = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "faultline capture: unknown or incomplete option \"%s\" (see --help)\n",
                    argv[optind - 1]);
            return 3;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "faultline capture: expected one results folder (see --help)\n");
        return 3;
    }
    c.print = stdout;
    char err[FL_ERRMSG_SIZE];
    if (harness_capture_load(&c, argv[optind], err) != 0) {
        fprintf(stderr, "faultline capture: %s\n", err);
        return 3;
    }
    fflush(stdout);
    fprintf(stderr,
            "faultline capture: %" PRIu64 " packets, %" PRIu64 " TCP flows, %" PRIu64
            " frames decoded, %" PRIu64 " streams not ours, %" PRIu64 " retransmissions, %" PRIu64
            " resets, %" PRIu64 " holes%s\n",
            c.st.packets, c.st.flows, c.st.frames, c.st.bad_frames, c.st.retrans, c.st.resets,
            c.st.holes, c.t0_exact ? "" : "; no clock.json: times count from the first packet");
    harness_capture_free(&c);
    return 0;
}
