/* capread.h - reading a run's capture.pcap back: TCP streams reassembled, reference-protocol
 * frames decoded (nemesis/peerframe.h), and what TCP itself shows (connections opened and
 * closed, resets, retransmissions, holes) for systems whose peer traffic is not our frames.
 *
 * The file is untrusted: every header is checked against the captured length, the flow table
 * and each stream's buffer are bounded, and a stream that does not start like our frames is no
 * longer decoded (its TCP events are still reported). Events come in capture order. The packet
 * parser (nemesis_capread_packet) is pure; only nemesis_capread_file touches libpcap. */
#ifndef NEMESIS_CAPREAD_H
#define NEMESIS_CAPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nemesis/peerframe.h"

enum nemesis_capev_kind {
    NEMESIS_CAPEV_MSG,     /* a decoded frame (msg set) */
    NEMESIS_CAPEV_SYN,     /* a connection attempt (SYN without ACK) */
    NEMESIS_CAPEV_FIN,     /* an orderly close from src */
    NEMESIS_CAPEV_RST,     /* a reset from src */
    NEMESIS_CAPEV_RETRANS, /* a segment starting before bytes seen already (a retransmission,
                              or a reordered segment: stats.reordered) */
    NEMESIS_CAPEV_HOLE,    /* bytes of the stream missing from the capture */
};

struct nemesis_capev {
    int64_t t_ns; /* the packet's capture time, ns since the Unix epoch */
    enum nemesis_capev_kind kind;
    uint32_t src, dst; /* IPv4 addresses, host byte order */
    uint16_t sport, dport;
    const struct nemesis_peermsg *msg; /* MSG only; borrowed for the call */
};

/* Called for each event; `ev` is borrowed for the call. */
typedef void (*nemesis_capev_cb)(void *data, const struct nemesis_capev *ev);

struct nemesis_capread_stats {
    uint64_t packets, tcp, flows, frames, retrans, resets, holes;
    /* Of retrans: segments that brought bytes a later segment had skipped (not seen before):
     * they arrived out of order. Where nothing is lost (a namespace), reordering; on a lossy
     * link a retransmission that fills a loss counts too. */
    uint64_t reordered;
    uint64_t bad_frames;    /* streams that did not start like our frames (not decoded) */
    uint64_t flows_dropped; /* flows past the table's bound: not followed */
};

struct nemesis_capflow;

struct nemesis_capread {
    size_t max_flows, max_frame;
    struct nemesis_capflow *flows; /* owned */
    size_t n_flows;
    size_t last; /* the flow of the previous packet (a cheap cache) */
    nemesis_capev_cb cb;
    void *data;
    struct nemesis_capread_stats st;
    /* The packet being fed, for the frame callback. */
    int64_t cur_t;
    struct nemesis_capflow *cur;
};

#define NEMESIS_CAPREAD_MAX_FLOWS 4096

/* Initialises a reader: at most max_flows directed flows (0: NEMESIS_CAPREAD_MAX_FLOWS),
 * frames up to max_frame bytes (0: the protocol's default). cb/data receive the events. */
void nemesis_capread_init(struct nemesis_capread *r, size_t max_flows, size_t max_frame,
                          nemesis_capev_cb cb, void *data);
void nemesis_capread_free(struct nemesis_capread *r);

/* Link types understood (libpcap's DLT numbers). */
#define NEMESIS_CAPREAD_DLT_EN10MB    1
#define NEMESIS_CAPREAD_DLT_RAW       101
#define NEMESIS_CAPREAD_DLT_LINUX_SLL 113

/* Feeds one captured packet: `caplen` bytes at `pkt` (borrowed) of a `wirelen`-byte packet of
 * link type `linktype`. Anything but IPv4/TCP is counted and ignored. Returns 0 or FL_ENOMEM. */
int nemesis_capread_packet(struct nemesis_capread *r, int64_t t_ns, const uint8_t *pkt,
                           size_t caplen, size_t wirelen, int linktype);

/* Reads the pcap file at `path` with libpcap through a reader (see init). Returns 0 with
 * *stats filled, or a negative code with errmsg naming the file (not a capture, unsupported
 * link type). */
int nemesis_capread_file(const char *path, size_t max_frame, nemesis_capev_cb cb, void *data,
                         struct nemesis_capread_stats *stats, char *errmsg);

#endif
