/* capture.h - libpcap capture of the hub bridge into a bounded pcap file.
 *
 * A thread enters the hub namespace (only itself), opens the bridge with
 * libpcap (each frame is seen once there; `any` would see it three times),
 * and writes every frame to a pcap file readable by tcpdump and Wireshark.
 * The file header is flushed right after it is opened and the dump is
 * flushed periodically, so a killed harness still leaves a valid file. The
 * file never exceeds max_bytes: the first frame that would not fit ends the
 * capture (limit_reached). */
#ifndef NEMESIS_CAPTURE_H
#define NEMESIS_CAPTURE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

#define NEMESIS_CAPTURE_SNAPLEN_DEFAULT   262144
#define NEMESIS_CAPTURE_MAX_BYTES_DEFAULT (256ull << 20)
#define NEMESIS_CAPTURE_FLUSH_MS_DEFAULT  200

struct nemesis_capture_opts {
    const char *ns;     /* namespace to capture in (the hub); NULL = the caller's */
    const char *dev;    /* device, e.g. "br0" */
    const char *path;   /* output file, created or truncated */
    int snaplen;        /* bytes kept per frame, 64..262144; 0 = default */
    uint64_t max_bytes; /* file size bound in bytes, >= 24 (the header); 0 = default */
    unsigned flush_ms;  /* dump flush period; 0 = default */
};

struct nemesis_capture_stats {
    uint64_t packets;   /* frames written */
    uint64_t bytes;     /* bytes of the file (header included) */
    uint64_t dropped;   /* frames the kernel dropped (pcap_stats), when known */
    bool limit_reached; /* stopped early at max_bytes */
};

/* Caller-allocated handle; fields are private. */
struct nemesis_capture {
    pthread_t thread;
    bool running;
    int wake[2]; /* pipe: stop request */
    /* Written by the thread, read after join or under the start handshake. */
    struct nemesis_capture_opts o;
    char ns[64], dev[32], path[4096];
    struct nemesis_capture_stats stats;
    int rc;
    char errmsg[FL_ERRMSG_SIZE];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started;
};

/* Starts capturing. Returns once the device is open and the file header is
 * on disk: 0, or a negative code with errmsg (no such namespace or device,
 * permission, file) and nothing left running. Strings in o are copied. */
int nemesis_capture_start(struct nemesis_capture *c, const struct nemesis_capture_opts *o,
                          char *errmsg);

/* Stops the capture thread, flushes and closes the file, joins, and fills
 * *stats (may be NULL). Returns 0, or the error that ended the capture
 * early (e.g. a write error) with errmsg. Idempotent: a second call returns
 * the same result and stats. Reaching max_bytes is not an error. */
int nemesis_capture_stop(struct nemesis_capture *c, struct nemesis_capture_stats *stats,
                         char *errmsg);

#endif
