/* peerframe.h - decoding captured reference-protocol frames (node/PROTOCOL.md) from a TCP byte
 * stream, for `faultline capture` and the report's message diagram.
 *
 * The stream is untrusted and may have holes (a capture can miss packets, or start in the
 * middle of a connection): the decoder buffers at most one frame body (max_frame bytes), and
 * after a hole it looks for the next place where a plausible length is followed by '{"' before
 * it decodes again. Pure: no I/O. */
#ifndef NEMESIS_PEERFRAME_H
#define NEMESIS_PEERFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NEMESIS_PEERFRAME_MAX_DEFAULT (1u << 20) /* node/PROTOCOL.md's default maximum */

/* One decoded frame, summarised. Strings are NUL-terminated and cut to fit. */
struct nemesis_peermsg {
    char type[24];     /* the frame's "type" ("append", "vote_result", "put", ...) */
    bool peer;         /* one of the peer protocol's types (hello and the seven messages) */
    uint64_t from, to; /* server ids (0 when absent) */
    uint64_t term;     /* 0 when absent */
    char detail[160];  /* the indexes and flags of the type, e.g. "prev 12/3 n=2 commit 12" */
};

/* Called for each frame: `body` (len bytes, borrowed for the call) and its summary. A frame
 * whose body is not a JSON object is reported with type "?" and detail naming the problem. */
typedef void (*nemesis_peerframe_cb)(void *data, const struct nemesis_peermsg *m);

struct nemesis_peerframe {
    size_t max_frame; /* 0: NEMESIS_PEERFRAME_MAX_DEFAULT */
    uint8_t hdr[4];
    size_t hlen;   /* header bytes held */
    uint8_t *body; /* owned, max_frame bytes once needed */
    size_t need, have;
    bool resync;     /* after a hole: scanning for a frame start */
    uint8_t scan[5]; /* the last bytes seen while scanning */
    size_t nscan;
    uint64_t frames, bad, holes; /* counters */
};

/* Initialises the decoder (nothing allocated yet). */
void nemesis_peerframe_init(struct nemesis_peerframe *d, size_t max_frame);
/* Releases the body buffer. */
void nemesis_peerframe_free(struct nemesis_peerframe *d);
/* Feeds `n` bytes (borrowed) of the stream; calls cb for each frame completed. A length of 0
 * or over max_frame is counted as bad and makes the decoder look for the next frame start.
 * Returns 0, or FL_ENOMEM. */
int nemesis_peerframe_feed(struct nemesis_peerframe *d, const uint8_t *p, size_t n,
                           nemesis_peerframe_cb cb, void *data);
/* Bytes of the stream are missing here: drop the partial frame and look for the next start. */
void nemesis_peerframe_hole(struct nemesis_peerframe *d);
/* Summarises one frame body (len bytes, borrowed) into *m. */
void nemesis_peerframe_summarise(const uint8_t *body, size_t len, struct nemesis_peermsg *m);

#endif
