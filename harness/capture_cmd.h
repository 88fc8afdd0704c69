/* capture_cmd.h - `faultline capture RESULTS_DIR`: a run's capture.pcap as decoded messages.
 *
 * Peer frames of the reference node are shown as Raft messages (type, term, indexes); traffic
 * that is not our frames (etcd's HTTP and gRPC peers, anything else) as what TCP shows:
 * connections opened and closed, resets, retransmissions, holes in the capture. Times are
 * seconds on the history's clock (clock.json of the run: the wall-clock time of history time 0;
 * older runs without it are aligned on the first packet, and the output says so). Only the
 * capture commands and the report link this (libpcap); `faultline check` does not need it. */
#ifndef HARNESS_CAPTURE_CMD_H
#define HARNESS_CAPTURE_CMD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "nemesis/capread.h"

/* One event on the history's clock. */
struct harness_capmsg {
    int64_t t; /* ns since history time 0 */
    enum nemesis_capev_kind kind;
    int src, dst; /* node index, or -1 for an address that is not a node (clients, the hub) */
    uint32_t src_ip, dst_ip;
    uint16_t sport, dport;
    struct nemesis_peermsg msg; /* MSG only */
};

struct harness_capture {
    /* Filled by harness_capture_load. */
    struct harness_capmsg *v; /* owned, in capture order */
    size_t n;
    size_t dropped;  /* events in the window past `max` */
    int64_t t0_unix; /* wall-clock ns of history time 0 */
    bool t0_exact;   /* from clock.json (else: the first packet) */
    unsigned nodes;  /* node count (from scenario.json; 9 when absent) */
    uint32_t net;    /* the /24 of the nodes, host order */
    /* Nodes on hosts (scenario "hosts", its file still readable): node i's address, host
     * order; then these name the nodes instead of net. */
    uint32_t host_ip[16];
    bool on_hosts;
    struct nemesis_capread_stats st;
    /* Set by the caller before loading. */
    int64_t from, to; /* window in ns of history time (inclusive); INT64_MIN/MAX: all */
    bool all;         /* client traffic too, not only node-to-node */
    size_t max;       /* events kept (the rest counted in dropped) */
    FILE *print;      /* non-NULL: print each event as text (or JSON lines) instead of keeping */
    bool json;
};

/* Initialises *c with the whole window, node-to-node traffic, at most `max` events kept. */
void harness_capture_init(struct harness_capture *c, size_t max);
/* Reads DIR/capture.pcap (and DIR/clock.json, DIR/scenario.json). Returns 0, or a negative
 * code with errmsg naming the file. */
int harness_capture_load(struct harness_capture *c, const char *dir, char *errmsg);
void harness_capture_free(struct harness_capture *c);
/* The lane name of a node index, or the dotted address (buf: at least 24 bytes). */
const char *harness_capture_name(const struct harness_capture *c, int node, uint32_t ip, char *buf);
/* The event's short name: the message type, or "SYN", "FIN", "RST", "retransmit", "hole". */
const char *harness_capture_kind(const struct harness_capmsg *m);

/* Runs the capture subcommand (argv[0] is "capture"). Returns 0, or 3 on usage or input
 * errors. */
int harness_capture_main(int argc, char **argv);

#endif
