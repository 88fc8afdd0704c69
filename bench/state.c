/* state.c - CPU per entry of the replicated server state (node/server/state.h) on the bench's traffic.
 *
 *   bench_state [--entries N] [--sessions S] [--snapshot-every K] [--ack-every A]
 *
 * Applies N command entries from their text as a follower does (default
 * 200000; `faultline bench` shape: S = 128 sessions writing 100-byte values
 * to 5 keys, each session's keepalive acknowledging its answers after every
 * A = 150 of its commands, as node/client's keepalive every timeout/3 does at
 * ~12,000 writes/s), a snapshot every K = 4096 entries (the harness's
 * --snapshot-threshold). Prints thread CPU microseconds per entry for the
 * apply and for the snapshots, so figures hold on a loaded machine. */
#include "bench/bench_util.h"
#include "common/buf.h"
#include "common/error.h"
#include "node/server/state.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    unsigned long n = bench_arg(argc, argv, "bench_state", "--entries", 200000, 1000000000);
    unsigned long ns = bench_arg(argc, argv, "bench_state", "--sessions", 128, 4096);
    unsigned long snap_every =
        bench_arg(argc, argv, "bench_state", "--snapshot-every", 4096, 1000000000);
    unsigned long ack_every = bench_arg(argc, argv, "bench_state", "--ack-every", 150, 1000000000);
    struct server_state st;
    char err[FL_ERRMSG_SIZE];
    if (server_state_init(&st, "kv", err) != 0) {
        fprintf(stderr, "bench_state: %s\n", err);
        return 1;
    }
    uint64_t *seq = calloc(ns, sizeof *seq);
    char value[101], e[512];
    memset(value, 'v', 100);
    value[100] = '\0';
    uint64_t index = 0;
    for (unsigned long i = 0; i < ns; i++) {
        int len = snprintf(e, sizeof e, "{\"t\":\"register\",\"time\":1,\"timeout\":5000}");
        server_state_apply(&st, ++index, e, (size_t)len, NULL);
    }
    double apply = 0, snap = 0;
    unsigned long snaps = 0;
    size_t snap_bytes = 0;
    uint64_t snap_hash = 0; /* FNV-1a of every snapshot: two builds must agree */
    for (unsigned long k = 0; k < n; k++) {
        unsigned long c = k % ns;
        uint64_t sid = c + 1;
        int len;
        seq[c]++;
        /* every ack_every-th entry of a session, sessions out of phase */
        bool ka = (k / ns + c * 37) % ack_every == ack_every - 1;
        if (ka)
            len = snprintf(e, sizeof e,
                           "{\"t\":\"keepalive\",\"time\":%lu,\"session\":%llu,\"command_ack\":%llu,"
                           "\"event_ack\":0}",
                           1000 + k / 10, (unsigned long long)sid,
                           (unsigned long long)(seq[c] - 1));
        else
            len = snprintf(e, sizeof e,
                           "{\"t\":\"command\",\"time\":%lu,\"session\":%llu,\"seq\":%llu,\"op\":{"
                           "\"f\":\"write\",\"key\":\"k%lu\",\"value\":\"%s\"}}",
                           1000 + k / 10, (unsigned long long)sid, (unsigned long long)seq[c],
                           (k * 7) % 5, value);
        if (ka)
            seq[c]--; /* a keepalive uses no seq */
        double t0 = bench_cpu_s();
        int rv = server_state_apply(&st, ++index, e, (size_t)len, NULL);
        apply += bench_cpu_s() - t0;
        if (rv != 0) {
            fprintf(stderr, "bench_state: apply %llu: %s\n", (unsigned long long)index,
                    fl_strerror(rv));
            return 1;
        }
        if (index % snap_every == 0) {
            struct fl_buf b;
            fl_buf_init(&b);
            t0 = bench_cpu_s();
            rv = server_state_snapshot(&st, &b);
            snap += bench_cpu_s() - t0;
            snaps++;
            snap_bytes = b.len;
            for (size_t i = 0; i < b.len; i++)
                snap_hash = (snap_hash ^ (unsigned char)b.data[i]) * 0x100000001b3ULL;
            fl_buf_free(&b);
            if (rv != 0) {
                fprintf(stderr, "bench_state: snapshot: %s\n", fl_strerror(rv));
                return 1;
            }
        }
    }
    printf("entries %lu, sessions %lu, ack every %lu commands, snapshot every %lu entries\n", n, ns,
           ack_every, snap_every);
    printf("apply    %.2f us/entry (thread CPU)\n", apply * 1e6 / (double)n);
    printf("snapshot %.2f us/entry (%lu snapshots, %.0f us each, last %zu bytes, hash %016llx)\n",
           snap * 1e6 / (double)n, snaps, snaps ? snap * 1e6 / (double)snaps : 0.0, snap_bytes,
           (unsigned long long)snap_hash);
    server_state_close(&st);
    free(seq);
    return 0;
}
