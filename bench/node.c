/* node.c - throughput, latency and failover time of 3 real faultline-node processes (issue 5).
 *
 *   bench_node [--seconds N] [--quick] [--bin PATH] [--only KIND] [--no-failover]
 *
 * Starts 3 faultline-node processes on 127.0.0.1 (temporary data directories,
 * fsync on, --quiet) and drives them with node/client: 100-byte values, with
 * 1, 16 and 128 operations in flight, measures writes/s and linearizable,
 * lease and sequential reads/s with p50/p99 latency (each row: 0.5 s warm-up,
 * then N seconds; only operations submitted and completed inside the window
 * count). 128 in flight is measured both from one session (its commands are
 * answered in FIFO order) and from 8 clients x 16. Then "failover": a fresh
 * cluster with --election-timeout-ms 1000, one client writing in a loop; right
 * after a write completes the leader is killed with SIGKILL and the next write
 * is submitted; the time from the kill to that write's success is recorded;
 * the node is restarted and the cluster left to settle; 20 times (5 with
 * --quick). Every process and the temporary directory are removed at the end,
 * on failure and on SIGINT/SIGTERM (children also die with the bench:
 * PR_SET_PDEATHSIG). --only KIND and --no-failover narrow the run (for profiling);
 * FL_BENCH_DEBUG=1 prints every leader probe's reply. Figures only; nothing is asserted. */
#include "common/alloc.h"
#include "common/error.h"
#include "node/client/client.h"
#include "node/io/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#ifndef FL_NODE_BIN
#define FL_NODE_BIN "faultline-node"
#endif

#define N_NODES        3
#define VALUE_BYTES    100
#define CLIENTS_MAX    8
#define WINDOW_MAX     128
#define WARMUP_NS      500000000ull
#define FAILOVER_ET_MS "1000"

enum op_kind { OP_WRITE, OP_LINEARIZABLE, OP_LEASE, OP_SEQUENTIAL, OP_KINDS };
static const char *const kind_names[OP_KINDS] = {"write", "read linearizable", "read lease",
                                                 "read sequential"};

struct bench;

struct slot {
    struct client_req req;
    struct bench *b;
    struct client *c;
    json_t *wop, *rop; /* reused: the client never modifies them */
    uint64_t start_ns;
};

struct node {
    pid_t pid;
    char dir[300], err[300];
};

struct lat {
    uint32_t *us;
    size_t n, cap;
};

struct bench {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    uv_timer_t ticker;
    bool interrupted;
    const char *bin;
    char tmp[64];
    char secret[96]; /* the cluster's key file, in tmp */
    int base_port;
    char gen[8]; /* data directory prefix of the current cluster */
    const char *et_ms;
    struct node nodes[N_NODES + 1];
    char addr_bufs[N_NODES][32];
    const char *addrs[N_NODES];
    /* workload clients and their slots */
    struct client *clients[CLIENTS_MAX];
    size_t n_clients;
    size_t n_closed;
    struct slot *slots;
    size_t n_slots;
    /* the current measurement */
    enum op_kind kind;
    bool running;
    uint64_t win_start, win_end;
    size_t inflight;
    uint64_t ok, errors;
    char first_error[128];
    struct lat lat;
    /* probes (one client per node) and failover */
    struct client *probes[N_NODES + 1];
    struct client_req probe_reqs[N_NODES + 1];
    size_t probes_done;
    json_t *probe_reply[N_NODES + 1];
    bool fo_kill_now, fo_killed, fo_seen, fo_running;
    int fo_victim;
    uint64_t fo_kill_ns, fo_done_ns, fo_errors;
};

/* ==== clean-up ==== */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void node_kill(struct bench *b, int k)
{
    if (b->nodes[k].pid > 0) {
        kill(b->nodes[k].pid, SIGKILL);
        waitpid(b->nodes[k].pid, NULL, 0);
        b->nodes[k].pid = 0;
    }
}

static void on_client_closed(struct client *c)
{
    struct bench *b = c->data;
    b->n_closed++;
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* Closes every client (waiting for their handles), returns once done. */
static void clients_close(struct bench *b)
{
    size_t want = 0;
    b->n_closed = 0;
    for (size_t i = 0; i < b->n_clients; i++) {
        client_close(b->clients[i], on_client_closed);
        want++;
    }
    for (int k = 1; k <= N_NODES; k++)
        if (b->probes[k] != NULL) {
            client_close(b->probes[k], on_client_closed);
            want++;
        }
    for (int spins = 0; b->n_closed < want && spins < 1000000; spins++)
        uv_run(&b->loop, UV_RUN_ONCE);
    for (size_t i = 0; i < b->n_clients; i++)
        fl_free(b->clients[i]);
    b->n_clients = 0;
    for (int k = 1; k <= N_NODES; k++) {
        fl_free(b->probes[k]);
        b->probes[k] = NULL;
        json_decref(b->probe_reply[k]);
        b->probe_reply[k] = NULL;
    }
    for (size_t i = 0; i < b->n_slots; i++) {
        json_decref(b->slots[i].wop);
        json_decref(b->slots[i].rop);
    }
    fl_free(b->slots);
    b->slots = NULL;
    b->n_slots = 0;
}

static void cluster_stop(struct bench *b)
{
    for (int k = 1; k <= N_NODES; k++)
        node_kill(b, k);
}

static void bench_cleanup(struct bench *b)
{
    cluster_stop(b);
    clients_close(b);
    uv_signal_stop(&b->sigint);
    uv_signal_stop(&b->sigterm);
    uv_timer_stop(&b->ticker);
    uv_close((uv_handle_t *)&b->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&b->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&b->ticker, on_handle_closed);
    uv_run(&b->loop, UV_RUN_DEFAULT);
    uv_loop_close(&b->loop);
    fl_free(b->lat.us);
    if (b->tmp[0] != '\0' && strncmp(b->tmp, "/tmp/fl-bench-", 14) == 0)
        nftw(b->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void print_tail(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[512], last[5][512];
    size_t n = 0;
    while (fgets(line, sizeof line, f) != NULL)
        snprintf(last[n++ % 5], sizeof last[0], "%s", line);
    fclose(f);
    for (size_t i = n > 5 ? n - 5 : 0; i < n; i++)
        fprintf(stderr, "  %s: %s", path, last[i % 5]);
}

/* Prints the reason (and each node's last stderr lines), kills the nodes, removes the
 * temporary directory and exits 1. May be called from a loop callback, so it does not
 * run the loop (the clients' sockets go with the process). */
static void fail(struct bench *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_node: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    for (int k = 1; k <= N_NODES; k++)
        if (b->nodes[k].err[0] != '\0')
            print_tail(b->nodes[k].err);
    cluster_stop(b);
    if (b->tmp[0] != '\0' && strncmp(b->tmp, "/tmp/fl-bench-", 14) == 0)
        nftw(b->tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    exit(1);
}

/* ==== the loop ==== */

static void on_signal(uv_signal_t *h, int signum)
{
    struct bench *b = h->data;
    (void)signum;
    b->interrupted = true;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

/* Runs the loop until *flag is true or `ms` pass; fails when interrupted. */
static bool pump_until(struct bench *b, const bool *flag, uint64_t ms)
{
    uint64_t end = now_ns() + ms * 1000000ull;
    while ((flag == NULL || !*flag) && now_ns() < end) {
        uv_run(&b->loop, UV_RUN_ONCE);
        if (b->interrupted)
            fail(b, "interrupted");
    }
    return flag != NULL && *flag;
}

/* ==== nodes ==== */

static bool port_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static int peer_port(const struct bench *b, int k)
{
    return b->base_port + 2 * (k - 1);
}

static int client_port(const struct bench *b, int k)
{
    return b->base_port + 2 * (k - 1) + 1;
}

static void node_start(struct bench *b, int k)
{
    struct node *nd = &b->nodes[k];
    snprintf(nd->dir, sizeof nd->dir, "%s/%s-n%d", b->tmp, b->gen, k);
    snprintf(nd->err, sizeof nd->err, "%s/%s-n%d.err", b->tmp, b->gen, k);
    char id[16], pl[64], cl[64], peers[512] = "";
    snprintf(id, sizeof id, "n%d", k);
    snprintf(pl, sizeof pl, "127.0.0.1:%d", peer_port(b, k));
    snprintf(cl, sizeof cl, "127.0.0.1:%d", client_port(b, k));
    for (int j = 1; j <= N_NODES; j++) {
        if (j == k)
            continue;
        size_t len = strlen(peers);
        snprintf(peers + len, sizeof peers - len, "%sn%d=127.0.0.1:%d/127.0.0.1:%d",
                 len > 0 ? "," : "", j, peer_port(b, j), client_port(b, j));
    }
    const char *argv[] = {
        b->bin,   "--id",          id,        "--peer-listen", pl,    "--client-listen",
        cl,       "--data",        nd->dir,   "--peers",       peers, "--election-timeout-ms",
        b->et_ms, "--secret-file", b->secret, "--quiet",       NULL};
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        fail(b, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
        int fd = open(nd->err, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDWR);
        if (fd < 0 || nul < 0)
            _exit(127);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(fd, 2);
        execv(b->bin, (char *const *)argv);
        _exit(127);
    }
    nd->pid = pid;
}

static struct client *client_new(struct bench *b, const char *const *addrs, size_t n)
{
    struct client *c = fl_calloc(1, sizeof *c);
    if (c == NULL)
        fail(b, "out of memory");
    struct client_config cfg = {
        .addrs = addrs, .n_addrs = n, .backoff_ms = 10, .op_timeout_ms = 10000};
    char err[FL_ERRMSG_SIZE] = "";
    if (client_init(c, &b->loop, &cfg, err) != 0) {
        fl_free(c);
        fail(b, "client_init: %s", err);
    }
    c->data = b;
    return c;
}

/* ==== measurements ==== */

static void lat_add(struct bench *b, uint64_t ns)
{
    struct lat *l = &b->lat;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        uint32_t *v = fl_reallocarray(l->us, cap, sizeof *v);
        if (v == NULL)
            fail(b, "out of memory");
        l->us = v;
        l->cap = cap;
    }
    uint64_t us = ns / 1000;
    l->us[l->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const struct lat *l, double p)
{
    if (l->n == 0)
        return 0;
    size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
    return (double)l->us[i] / 1000.0;
}

static void slot_submit(struct slot *s);

static void slot_cb(struct client_req *req)
{
    struct slot *s = req->data;
    struct bench *b = s->b;
    uint64_t t = now_ns();
    b->inflight--;
    if (req->outcome == CLIENT_OK) {
        if (s->start_ns >= b->win_start && t <= b->win_end) {
            b->ok++;
            lat_add(b, t - s->start_ns);
        }
    } else {
        b->errors++;
        if (b->first_error[0] == '\0')
            snprintf(b->first_error, sizeof b->first_error, "%s", req->error ? req->error : "?");
    }
    if (b->running && t < b->win_end)
        slot_submit(s);
}

static void slot_submit(struct slot *s)
{
    struct bench *b = s->b;
    static const enum client_consistency cons[OP_KINDS] = {0, CLIENT_LINEARIZABLE, CLIENT_LEASE,
                                                           CLIENT_SEQUENTIAL};
    s->req.data = s;
    s->start_ns = now_ns();
    int rc = b->kind == OP_WRITE ? client_command(s->c, &s->req, s->wop, slot_cb)
                                 : client_query(s->c, &s->req, s->rop, cons[b->kind], slot_cb);
    if (rc != 0) {
        b->errors++;
        if (b->first_error[0] == '\0')
            snprintf(b->first_error, sizeof b->first_error, "submit: %d", rc);
        return;
    }
    b->inflight++;
}

/* Creates `n_clients` clients with `window` slots each (closing earlier ones). */
static void workload_setup(struct bench *b, size_t n_clients, size_t window)
{
    clients_close(b);
    b->slots = fl_calloc(n_clients * window, sizeof *b->slots);
    if (b->slots == NULL)
        fail(b, "out of memory");
    char value[VALUE_BYTES + 1];
    memset(value, 'v', VALUE_BYTES);
    value[VALUE_BYTES] = '\0';
    for (size_t i = 0; i < n_clients; i++) {
        b->clients[b->n_clients++] = client_new(b, b->addrs, N_NODES);
        for (size_t j = 0; j < window; j++) {
            struct slot *s = &b->slots[b->n_slots++];
            char key[64];
            snprintf(key, sizeof key, "c%zu-%zu", i, j);
            s->b = b;
            s->c = b->clients[i];
            s->wop = json_pack("{s:s,s:s,s:s}", "f", "write", "key", key, "value", value);
            s->rop = json_pack("{s:s,s:s}", "f", "read", "key", key);
            if (s->wop == NULL || s->rop == NULL)
                fail(b, "out of memory");
        }
    }
}

struct row {
    double per_s, p50, p99;
    uint64_t errors;
    char first_error[128];
};

static struct row measure(struct bench *b, enum op_kind kind, double seconds)
{
    b->kind = kind;
    b->ok = b->errors = 0;
    b->first_error[0] = '\0';
    b->lat.n = 0;
    b->running = true;
    b->win_start = now_ns() + WARMUP_NS;
    b->win_end = b->win_start + (uint64_t)(seconds * 1e9);
    for (size_t i = 0; i < b->n_slots; i++)
        slot_submit(&b->slots[i]);
    pump_until(b, NULL, (b->win_end - now_ns()) / 1000000 + 1);
    b->running = false;
    uint64_t end = now_ns() + 30000000000ull;
    while (b->inflight > 0 && now_ns() < end) {
        uv_run(&b->loop, UV_RUN_ONCE);
        if (b->interrupted)
            fail(b, "interrupted");
    }
    if (b->inflight > 0)
        fail(b, "%zu requests still unanswered 30 s after the window", b->inflight);
    struct row r = {0};
    r.per_s = (double)b->ok / seconds;
    qsort(b->lat.us, b->lat.n, sizeof *b->lat.us, cmp_u32);
    r.p50 = pct_ms(&b->lat, 0.50);
    r.p99 = pct_ms(&b->lat, 0.99);
    r.errors = b->errors;
    snprintf(r.first_error, sizeof r.first_error, "%s", b->first_error);
    return r;
}

/* ==== stability and failover ==== */

static void probe_cb(struct client_req *req)
{
    struct bench *b = req->data;
    int k = (int)(req - b->probe_reqs);
    if (getenv("FL_BENCH_DEBUG") != NULL) {
        char *d = req->result ? json_dumps(req->result, JSON_COMPACT) : NULL;
        fprintf(stderr, "probe n%d: %s %s %s\n", k, client_outcome_name(req->outcome),
                req->error ? req->error : "", d ? d : "");
        free(d);
    }
    if (k > 0 && req->outcome == CLIENT_OK && req->result != NULL)
        b->probe_reply[k] = json_deep_copy(req->result);
    b->probes_done++;
}

/* The leader all running nodes agree on (same name and term), or 0. */
static int agreed_leader(struct bench *b)
{
    size_t want = 0;
    b->probes_done = 0;
    for (int k = 1; k <= N_NODES; k++) {
        json_decref(b->probe_reply[k]);
        b->probe_reply[k] = NULL;
        if (b->nodes[k].pid <= 0)
            continue;
        if (b->probes[k] == NULL)
            b->probes[k] = client_new(b, &b->addrs[k - 1], 1);
        struct client_req *req = &b->probe_reqs[k];
        memset(req, 0, sizeof *req);
        req->data = b;
        req->timeout_ms = 500;
        if (client_members(b->probes[k], req, probe_cb) != 0)
            continue;
        want++;
    }
    uint64_t end = now_ns() + 2000000000ull;
    while (b->probes_done < want && now_ns() < end) {
        uv_run(&b->loop, UV_RUN_ONCE);
        if (b->interrupted)
            fail(b, "interrupted");
    }
    int leader = 0;
    json_int_t term = -1;
    for (int k = 1; k <= N_NODES; k++) {
        if (b->nodes[k].pid <= 0)
            continue;
        const json_t *r = b->probe_reply[k];
        const char *l = r ? json_string_value(json_object_get(r, "leader")) : NULL;
        json_int_t t = r ? json_integer_value(json_object_get(r, "term")) : -1;
        int lk = l != NULL && l[0] == 'n' ? atoi(l + 1) : 0;
        if (lk < 1 || lk > N_NODES || b->nodes[lk].pid <= 0)
            return 0;
        if (leader == 0) {
            leader = lk;
            term = t;
        } else if (leader != lk || term != t) {
            return 0;
        }
    }
    return leader;
}

/* Waits until all nodes agree on a leader twice 300 ms apart; returns it. */
static int wait_stable(struct bench *b, uint64_t timeout_ms)
{
    uint64_t end = now_ns() + timeout_ms * 1000000ull;
    int prev = 0;
    while (now_ns() < end) {
        int l = agreed_leader(b);
        if (l != 0 && l == prev)
            return l;
        prev = l;
        pump_until(b, NULL, 300);
    }
    fail(b, "the cluster did not settle on a leader within %llu ms",
         (unsigned long long)timeout_ms);
    return 0;
}

static void cluster_start(struct bench *b, const char *gen, const char *et_ms)
{
    snprintf(b->gen, sizeof b->gen, "%s", gen);
    b->et_ms = et_ms;
    for (int k = 1; k <= N_NODES; k++)
        node_start(b, k);
    wait_stable(b, 30000);
}

static void fo_submit(struct slot *s);

static void fo_cb(struct client_req *req)
{
    struct slot *s = req->data;
    struct bench *b = s->b;
    uint64_t t = now_ns();
    b->inflight--;
    if (req->outcome == CLIENT_OK) {
        if (b->fo_killed && !b->fo_seen) {
            b->fo_seen = true;
            b->fo_done_ns = t;
        }
        if (b->fo_kill_now) {
            b->fo_kill_now = false;
            kill(b->nodes[b->fo_victim].pid, SIGKILL);
            b->fo_kill_ns = now_ns();
            b->fo_killed = true;
        }
    } else {
        b->fo_errors++;
    }
    if (b->fo_running)
        fo_submit(s);
}

static void fo_submit(struct slot *s)
{
    struct bench *b = s->b;
    s->req.data = s;
    s->req.timeout_ms = 30000;
    if (client_command(s->c, &s->req, s->wop, fo_cb) != 0)
        fail(b, "failover: client_command refused");
    b->inflight++;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void failover(struct bench *b, int rounds, double *median, double *p90, double el_med[2],
                     uint64_t *errs)
{
    double ms[32], el[32];
    workload_setup(b, 1, 1);
    struct slot *s = &b->slots[0];
    b->fo_running = true;
    b->fo_errors = 0;
    fo_submit(s);
    for (int i = 0; i < rounds; i++) {
        int leader = wait_stable(b, 60000);
        pump_until(b, NULL, 500); /* a few writes on the settled cluster */
        b->fo_victim = leader;
        b->fo_killed = b->fo_seen = false;
        b->fo_kill_now = true;
        bool killed = false;
        uint64_t end = now_ns() + 30000000000ull;
        while (!killed && now_ns() < end) {
            uv_run(&b->loop, UV_RUN_ONCE);
            killed = b->fo_killed;
            if (b->interrupted)
                fail(b, "interrupted");
        }
        if (!killed)
            fail(b, "failover %d: no write completed on the settled cluster", i + 1);
        waitpid(b->nodes[leader].pid, NULL, 0);
        b->nodes[leader].pid = 0;
        /* Also note when both survivors first name the same new leader (probed every
         * 20 ms), to tell the election from the client's own retry delays. */
        uint64_t elected_ns = 0, deadline = now_ns() + 60000000000ull;
        int new_leader = 0;
        while (!b->fo_seen && now_ns() < deadline) {
            if (elected_ns == 0 && (new_leader = agreed_leader(b)) != 0)
                elected_ns = now_ns();
            pump_until(b, &b->fo_seen, 20);
        }
        if (!b->fo_seen)
            fail(b, "failover %d: no write succeeded within 60 s of the kill", i + 1);
        ms[i] = (double)(b->fo_done_ns - b->fo_kill_ns) / 1e6;
        el[i] = elected_ns ? (double)(elected_ns - b->fo_kill_ns) / 1e6 : ms[i];
        printf("  failover %2d: killed n%d, n%d leader known after %.0f ms, first write after "
               "%.0f ms\n",
               i + 1, leader, new_leader, el[i], ms[i]);
        fflush(stdout);
        node_start(b, leader);
    }
    b->fo_running = false;
    uint64_t end = now_ns() + 30000000000ull;
    while (b->inflight > 0 && now_ns() < end)
        uv_run(&b->loop, UV_RUN_ONCE);
    qsort(ms, (size_t)rounds, sizeof ms[0], cmp_double);
    qsort(el, (size_t)rounds, sizeof el[0], cmp_double);
    *median = rounds % 2 ? ms[rounds / 2] : (ms[rounds / 2 - 1] + ms[rounds / 2]) / 2;
    *p90 = ms[(size_t)(0.9 * (rounds - 1) + 0.5)];
    el_med[0] = rounds % 2 ? el[rounds / 2] : (el[rounds / 2 - 1] + el[rounds / 2]) / 2;
    el_med[1] = el[(size_t)(0.9 * (rounds - 1) + 0.5)];
    *errs = b->fo_errors;
}

/* ==== main ==== */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_node [--seconds N] [--quick] [--bin PATH] [--only KIND] [--no-failover]\n"
            "  --seconds N  measured seconds per row, 1..600 (default 5)\n"
            "  --quick      1 s per row, 1 and 16 in flight and 128 from 8 clients only,\n"
            "               5 failovers instead of 20\n"
            "  --bin PATH   the faultline-node binary (default: the one built with the bench)\n");
}

int main(int argc, char **argv)
{
    double seconds = 5;
    bool quick = false, no_failover = false;
    int only = -1;
    const char *bin = FL_NODE_BIN;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > 600) {
                fprintf(stderr, "bench_node: --seconds: expected 1..600\n");
                return 2;
            }
            seconds = (double)v;
        } else if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--no-failover") == 0) {
            no_failover = true;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            static const char *const names[OP_KINDS] = {"write", "linearizable", "lease",
                                                        "sequential"};
            const char *v = argv[++i];
            only = -1;
            for (int k = 0; k < OP_KINDS; k++)
                if (strcmp(v, names[k]) == 0)
                    only = k;
            if (only < 0) {
                fprintf(stderr, "bench_node: --only: expected write, linearizable, lease or "
                                "sequential\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--bin") == 0 && i + 1 < argc) {
            bin = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (quick && seconds == 5)
        seconds = 1;
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "bench_node: --bin: %s is not an executable\n", bin);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct bench *b = fl_calloc(1, sizeof *b);
    if (b == NULL)
        return 1;
    b->bin = bin;
    if (uv_loop_init(&b->loop) != 0) {
        fl_free(b);
        return 1;
    }
    uv_signal_init(&b->loop, &b->sigint);
    uv_signal_init(&b->loop, &b->sigterm);
    uv_timer_init(&b->loop, &b->ticker);
    b->sigint.data = b->sigterm.data = b;
    uv_signal_start(&b->sigint, on_signal, SIGINT);
    uv_signal_start(&b->sigterm, on_signal, SIGTERM);
    uv_timer_start(&b->ticker, on_tick, 10, 10);
    snprintf(b->tmp, sizeof b->tmp, "/tmp/fl-bench-XXXXXX");
    if (mkdtemp(b->tmp) == NULL) {
        b->tmp[0] = '\0';
        fail(b, "mkdtemp: %s", strerror(errno));
    }
    {
        char kerr[FL_ERRMSG_SIZE];
        snprintf(b->secret, sizeof b->secret, "%s/cluster.key", b->tmp);
        if (io_auth_key_create(b->secret, kerr) != 0)
            fail(b, "%s", kerr);
    }
    for (int tries = 0; tries < 500 && b->base_port == 0; tries++) {
        int p = 23000 + (int)(((unsigned)getpid() + (unsigned)tries * 7919u) % 4000u) * 8;
        bool ok = true;
        for (int j = 0; j < 2 * N_NODES && ok; j++)
            ok = port_free(p + j);
        if (ok)
            b->base_port = p;
    }
    if (b->base_port == 0)
        fail(b, "no free port range");
    for (int k = 1; k <= N_NODES; k++) {
        snprintf(b->addr_bufs[k - 1], sizeof b->addr_bufs[0], "127.0.0.1:%d", client_port(b, k));
        b->addrs[k - 1] = b->addr_bufs[k - 1];
    }

    printf("faultline-node x %d on 127.0.0.1 (fsync on, --quiet, default options), %d-byte "
           "values, kv writes/reads; %.0f s per row after 0.5 s warm-up\n",
           N_NODES, VALUE_BYTES, seconds);
    printf("binary: %s\n\n", bin);
    cluster_start(b, "tp", "300");
    struct {
        size_t clients, window;
    } cfgs[] = {{1, 1}, {1, 16}, {1, 128}, {8, 16}};
    printf("%-24s %9s %-18s %11s %9s %9s %7s\n", "operation", "in flight", "clients x window",
           "ops/s", "p50 ms", "p99 ms", "errors");
    for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
        if (quick && c == 2)
            continue;
        workload_setup(b, cfgs[c].clients, cfgs[c].window);
        char cw[64];
        snprintf(cw, sizeof cw, "%zu x %zu", cfgs[c].clients, cfgs[c].window);
        for (int k = 0; k < OP_KINDS; k++) {
            if (only >= 0 && k != only)
                continue;
            struct row r = measure(b, (enum op_kind)k, seconds);
            printf("%-24s %9zu %-18s %11.0f %9.2f %9.2f %7llu%s%s\n", kind_names[k],
                   cfgs[c].clients * cfgs[c].window, cw, r.per_s, r.p50, r.p99,
                   (unsigned long long)r.errors, r.first_error[0] ? " first: " : "", r.first_error);
            fflush(stdout);
        }
    }
    clients_close(b);
    cluster_stop(b);
    if (no_failover) {
        bench_cleanup(b);
        fl_free(b);
        return 0;
    }

    int rounds = quick ? 5 : 20;
    printf("\nfailover: fresh cluster, --election-timeout-ms %s, one client writing in a loop "
           "(client backoff 10 ms), leader killed with SIGKILL right after a write completes; "
           "time from the kill to the next write's success, %d times\n",
           FAILOVER_ET_MS, rounds);
    cluster_start(b, "fo", FAILOVER_ET_MS);
    double median, p90, el_med[2];
    uint64_t errs;
    failover(b, rounds, &median, &p90, el_med, &errs);
    printf("failover: kill -> first successful write: median %.0f ms, p90 %.0f ms (%d kills, "
           "%llu writes failed or timed out)\n",
           median, p90, rounds, (unsigned long long)errs);
    printf("          kill -> new leader named by both survivors: median %.0f ms, p90 %.0f ms\n",
           el_med[0], el_med[1]);
    bench_cleanup(b);
    fl_free(b);
    return 0;
}
