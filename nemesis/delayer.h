/* delayer.h - an NFQUEUE packet delayer: holds each queued packet and accepts it at its release
 * time.
 *
 * The kernel of these machines has no netem, so delay, jitter and reordering
 * go through userspace: iptables rules in the hub send the affected traffic
 * to NFQUEUE queue Q (with --queue-bypass, so nothing is lost when no delayer
 * is bound), and the delayer, a thread of ours that entered the hub namespace,
 * gives every packet a release time (delay + uniform jitter, seeded) and
 * issues its accept verdict then. Verdicts out of order reorder packets, as
 * netem does; `reorder_percent` of the packets are released at once. */
#ifndef NEMESIS_DELAYER_H
#define NEMESIS_DELAYER_H

#include <stdint.h>

struct nemesis_delayer_opts {
    const char *ns;      /* namespace to bind in (borrowed during start), "fl-*"; NULL: the
                            caller's own (faultline-delayer, run on a host) */
    uint16_t queue_num;  /* NFQUEUE number */
    uint32_t delay_ms;   /* added to every held packet */
    uint32_t jitter_ms;  /* uniform +-jitter_ms, at most delay_ms */
    int reorder_percent; /* 0..100: share released at once */
    uint64_t seed;
};

struct nemesis_delayer_stats {
    uint64_t packets;   /* packets seen */
    uint64_t held;      /* packets held for a delay */
    uint64_t immediate; /* released at once (reorder share, or the heap was full) */
};

struct nemesis_delayer;

/* Starts a delayer thread bound to opts->queue_num in opts->ns; returns only
 * once the queue is bound (so rules added afterwards never bypass it).
 * *out receives the new delayer (owned by the caller, ended by stop).
 * Returns 0 or a negative code with errmsg (e.g. the queue is taken). */
int nemesis_delayer_start(struct nemesis_delayer **out, const struct nemesis_delayer_opts *opts,
                          char *errmsg);
/* Stops the thread: every packet still held is accepted at once, the queue
 * unbound, the delayer freed. `stats` (may be NULL) receives the counters. */
void nemesis_delayer_stop(struct nemesis_delayer *d, struct nemesis_delayer_stats *stats);

#endif
