/* raft_core.c - entries committed per second by the pure Raft core, no I/O (issue 4 "Speed").
 *
 *   bench_raft_core [--seconds N] [--quick]
 *
 * Three cores in one process. Messages go through one in-memory FIFO and are
 * delivered as soon as they are dequeued; persistence is acknowledged at once
 * (RAFT_PERSISTED right after each update that writes entries); snapshots
 * asked for are "taken" at once with a 16-byte blob so the logs stay bounded.
 * The leader submits batches of 100-byte buffers (a fresh raft_buf per entry,
 * as a server would) and up to DEPTH batches are outstanding (pipelining)
 * before the queue is drained. The figure is entries committed per second:
 * growth of apply_last on the leader over the measured wall-clock time. The
 * clock fed to the cores is the real monotonic clock, so heartbeats and
 * timers run as in a server. Figures only; nothing is asserted. */
#include "common/alloc.h"
#include "node/raft/raft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_NODES     3
#define ENTRY_BYTES 100
#define DEPTH       4 /* batches submitted before the queue is drained */

struct bench {
    struct raft r[N_NODES];
    struct raft_message *q; /* FIFO of owned copies */
    size_t q_head, q_n, q_cap;
    uint64_t t0_ms, offset_ms;
    uint64_t applied[N_NODES];
    uint64_t messages;
    struct raft_buf *snap_blob;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t bench_now(const struct bench *b)
{
    return mono_ms() - b->t0_ms + b->offset_ms + 1;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_raft_core: %s\n", what);
    exit(1);
}

static void q_push(struct bench *b, const struct raft_message *m)
{
    if (b->q_head + b->q_n == b->q_cap) {
        if (b->q_head > 0) {
            memmove(b->q, b->q + b->q_head, b->q_n * sizeof *b->q);
            b->q_head = 0;
        }
        if (b->q_n == b->q_cap) {
            size_t cap = b->q_cap ? b->q_cap * 2 : 256;
            struct raft_message *nq = fl_reallocarray(b->q, cap, sizeof *nq);
            if (nq == NULL)
                die("out of memory");
            b->q = nq;
            b->q_cap = cap;
        }
    }
    if (raft_message_copy(&b->q[b->q_head + b->q_n], m) != 0)
        die("raft_message_copy failed");
    b->q_n++;
}

static void step(struct bench *b, int i, const struct raft_event *ev);

/* Carries out an update of node i: messages queued, persistence and
 * snapshots acknowledged immediately, applied index recorded. */
static void handle(struct bench *b, int i, const struct raft_update *up)
{
    uint64_t p_index = 0, p_term = 0;
    if (up->snapshot != NULL) {
        p_index = up->snapshot->index;
        p_term = up->snapshot->term;
    }
    if (up->n_entries > 0) {
        p_index = up->entries_index + up->n_entries - 1;
        p_term = up->entries[up->n_entries - 1].term;
    }
    for (unsigned k = 0; k < up->n_messages; k++)
        q_push(b, &up->messages[k]);
    b->messages += up->n_messages;
    if (up->apply_last >= up->apply_first && up->apply_last > b->applied[i])
        b->applied[i] = up->apply_last;
    uint64_t take = up->snapshot_take;
    /* `up` is invalid from here on (the next step reuses it). */
    if (p_index != 0) {
        struct raft_event ev = {.type = RAFT_PERSISTED, .time = bench_now(b)};
        ev.persisted.index = p_index;
        ev.persisted.term = p_term;
        step(b, i, &ev);
    }
    if (take != 0) {
        struct raft_event ev = {.type = RAFT_SNAPSHOT_TAKEN, .time = bench_now(b)};
        ev.snapshot_taken.index = take;
        ev.snapshot_taken.data = b->snap_blob;
        step(b, i, &ev);
    }
}

static void step(struct bench *b, int i, const struct raft_event *ev)
{
    struct raft_update up;
    raft_step(&b->r[i], ev, &up);
    handle(b, i, &up);
}

static void drain(struct bench *b)
{
    while (b->q_n > 0) {
        struct raft_message m = b->q[b->q_head];
        b->q_head++;
        b->q_n--;
        if (b->q_n == 0)
            b->q_head = 0;
        if (m.to >= 1 && m.to <= N_NODES) {
            struct raft_event ev = {.type = RAFT_RECEIVE, .time = bench_now(b)};
            ev.receive.msg = &m;
            step(b, (int)m.to - 1, &ev);
        }
        raft_message_release(&m);
    }
}

static void tick_all(struct bench *b)
{
    for (int i = 0; i < N_NODES; i++) {
        struct raft_event ev = {.type = RAFT_TICK, .time = bench_now(b)};
        step(b, i, &ev);
    }
}

static int leader_of(const struct bench *b)
{
    for (int i = 0; i < N_NODES; i++)
        if (b->r[i].state == RAFT_LEADER)
            return i;
    return -1;
}

static void bench_open(struct bench *b, const struct raft_options *o)
{
    memset(b, 0, sizeof *b);
    b->t0_ms = mono_ms();
    static const unsigned char blob[16] = "bench-snapshot";
    b->snap_blob = raft_buf_new(blob, sizeof blob);
    if (b->snap_blob == NULL)
        die("out of memory");
    struct raft_configuration conf = {.n = N_NODES};
    for (int i = 0; i < N_NODES; i++)
        conf.servers[i] = (struct raft_server){.id = (uint64_t)i + 1, .role = RAFT_VOTER};
    for (int i = 0; i < N_NODES; i++) {
        if (raft_init(&b->r[i], (uint64_t)i + 1, o, 1000 + (uint64_t)i) != 0)
            die("raft_init failed");
        struct raft_event ev = {.type = RAFT_START, .time = bench_now(b)};
        ev.start.bootstrap = &conf;
        step(b, i, &ev);
    }
    /* Elect a leader on a fast-forwarded clock. */
    for (int k = 0; k < 10000 && leader_of(b) < 0; k++) {
        b->offset_ms += 10;
        tick_all(b);
        drain(b);
    }
    if (leader_of(b) < 0)
        die("no leader elected");
    /* Let the leader's no-op commit. */
    tick_all(b);
    drain(b);
}

static void bench_close(struct bench *b)
{
    for (size_t k = 0; k < b->q_n; k++)
        raft_message_release(&b->q[b->q_head + k]);
    fl_free(b->q);
    for (int i = 0; i < N_NODES; i++)
        raft_close(&b->r[i]);
    raft_buf_unref(b->snap_blob);
}

struct result {
    double entries_per_s, seconds, msgs_per_entry;
    uint64_t committed, follower_lag; /* leader applied minus the slowest follower's */
};

static struct result run(const struct raft_options *o, unsigned batch, double seconds)
{
    struct bench b;
    bench_open(&b, o);
    int l = leader_of(&b);
    unsigned char payload[ENTRY_BYTES];
    memset(payload, 'x', sizeof payload);
    struct raft_buf **bufs = fl_calloc(batch, sizeof *bufs);
    if (bufs == NULL)
        die("out of memory");
    uint64_t start_applied = b.applied[l], start_msgs = b.messages;
    double t_start = mono_s(), t_end = t_start + seconds, t = t_start;
    uint64_t last_tick = 0;
    unsigned rounds = 0;
    while (t < t_end) {
        for (int d = 0; d < DEPTH; d++) {
            for (unsigned k = 0; k < batch; k++) {
                bufs[k] = raft_buf_new(payload, sizeof payload);
                if (bufs[k] == NULL)
                    die("out of memory");
            }
            struct raft_event ev = {.type = RAFT_SUBMIT, .time = bench_now(&b)};
            ev.submit.n = batch;
            ev.submit.bufs = bufs;
            struct raft_update up;
            int rv = raft_step(&b.r[l], &ev, &up);
            handle(&b, l, &up);
            for (unsigned k = 0; k < batch; k++)
                raft_buf_unref(bufs[k]);
            if (rv != 0)
                die("submit refused (leadership lost?)");
        }
        drain(&b);
        uint64_t now = bench_now(&b);
        if (now != last_tick) {
            tick_all(&b);
            drain(&b);
            last_tick = now;
        }
        if (leader_of(&b) != l)
            die("leadership changed during the run");
        if ((++rounds & 15) == 0)
            t = mono_s();
    }
    /* Let what was submitted commit, then stop the clock. */
    drain(&b);
    t = mono_s();
    struct result res = {0};
    res.committed = b.applied[l] - start_applied;
    res.seconds = t - t_start;
    res.entries_per_s = (double)res.committed / res.seconds;
    res.msgs_per_entry =
        res.committed ? (double)(b.messages - start_msgs) / (double)res.committed : 0;
    for (int i = 0; i < N_NODES; i++)
        if (b.applied[l] - b.applied[i] > res.follower_lag)
            res.follower_lag = b.applied[l] - b.applied[i];
    fl_free(bufs);
    bench_close(&b);
    return res;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_raft_core [--seconds N] [--quick]\n"
                    "  --seconds N  measured seconds per batch size, 1..600 (default 3)\n"
                    "  --quick      0.5 s per batch size\n");
}

int main(int argc, char **argv)
{
    double seconds = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 1 || v > 600) {
                fprintf(stderr, "bench_raft_core: --seconds: expected 1..600\n");
                return 2;
            }
            seconds = (double)v;
        } else if (strcmp(argv[i], "--quick") == 0) {
            seconds = 0.5;
        } else {
            usage();
            return strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ? 0 : 2;
        }
    }
    struct raft_options o;
    raft_options_default(&o);
    o.max_batch = 256;
    o.max_inflight = 4096;
    o.snapshot_threshold = 65536;
    o.snapshot_trailing = 1024;
    printf("raft core, %d voters in one process, no I/O: in-memory FIFO delivery, persistence "
           "acknowledged at once\n",
           N_NODES);
    printf("options: %u-byte entries (a raft_buf each), %d batches in flight before draining, "
           "max_batch %u, max_inflight %u, election timeout %u ms, heartbeat %u ms, pre-vote "
           "%s, check-quorum %s, snapshot every %llu entries (trailing %llu), %.1f s per row\n\n",
           ENTRY_BYTES, DEPTH, o.max_batch, o.max_inflight, o.election_timeout,
           o.heartbeat_interval, o.pre_vote ? "on" : "off", o.check_quorum ? "on" : "off",
           (unsigned long long)o.snapshot_threshold, (unsigned long long)o.snapshot_trailing,
           seconds);
    printf("%-8s %14s %12s %8s %11s %13s\n", "batch", "entries/s", "committed", "seconds",
           "msgs/entry", "follower lag");
    static const unsigned batches[] = {1, 16, 64, 256};
    for (size_t k = 0; k < sizeof batches / sizeof batches[0]; k++) {
        struct result r = run(&o, batches[k], seconds);
        printf("%-8u %14.0f %12llu %8.2f %11.3f %13llu\n", batches[k], r.entries_per_s,
               (unsigned long long)r.committed, r.seconds, r.msgs_per_entry,
               (unsigned long long)r.follower_lag);
        fflush(stdout);
    }
    return 0;
}
