/* fuzz_raft_peer.c - libFuzzer target: peer frames through the decoder, the bounds checks and
 * into a live Raft core (node 1 of a 3-voter cluster), with extreme terms, indexes and lengths.
 *
 * Input: byte 0 picks the starting term (small, or near the checks' limits),
 * byte 1 the time step per frame; the rest is a stream of frames. Each
 * decoded message is addressed to node 1 (so the core, not the routing,
 * sees it), checked with raft_message_check and stepped when accepted;
 * ticks and RAFT_PERSISTED follow as the server would feed them. After every
 * step: a refused message changed nothing, our term and every message we
 * send still encode (term + 1 fits the wire), and commit <= last index. */
#include "common/error.h"
#include "node/io/codec.h"
#include "node/io/frame.h"
#include "node/raft/raft.h"
#include "fuzz_die.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct world {
    struct raft r;
    uint64_t now;
};

/* Carries out what the server must (persist at once) and checks the update. */
static void after(struct world *w, struct raft_update *up)
{
    char err[FL_ERRMSG_SIZE];
    for (unsigned i = 0; i < up->n_messages; i++) {
        json_t *obj = NULL;
        if (io_codec_encode(&up->messages[i], &obj, err) != 0 &&
            strstr(err, "entries") == NULL) /* an over-long batch is the sender's limit */
            DIE("a message we send does not encode: %s", err);
        json_decref(obj);
    }
    if (w->r.term >= RAFT_VALUE_MAX + 1)
        DIE("term %llu over the accepted range", (unsigned long long)w->r.term);
    if (raft_commit_index(&w->r) > raft_last_index(&w->r))
        DIE("commit %llu past the last index %llu", (unsigned long long)raft_commit_index(&w->r),
            (unsigned long long)raft_last_index(&w->r));
    if (up->n_entries > 0 || up->snapshot != NULL) {
        struct raft_event p = {.type = RAFT_PERSISTED, .time = w->now};
        p.persisted.index = raft_last_index(&w->r);
        p.persisted.term = raft_last_term(&w->r);
        struct raft_update up2;
        raft_step(&w->r, &p, &up2);
        after(w, &up2);
    }
}

static void deliver(struct world *w, struct raft_message *m)
{
    m->to = 1;
    uint64_t term = w->r.term, commit = raft_commit_index(&w->r), last = raft_last_index(&w->r);
    int state = w->r.state;
    bool refused = raft_message_check(&w->r, m) != NULL;
    struct raft_event ev = {.type = RAFT_RECEIVE, .time = w->now};
    ev.receive.msg = m;
    struct raft_update up;
    int rc = raft_step(&w->r, &ev, &up);
    if (refused && (rc != RAFT_EINVAL || w->r.term != term || w->r.state != state ||
                    raft_commit_index(&w->r) != commit || raft_last_index(&w->r) != last))
        DIE("a refused message changed the core (rc %d)", rc);
    after(w, &up);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    static const uint64_t terms[] = {0, 1, 5, RAFT_TERM_JUMP_MAX, RAFT_VALUE_MAX - 1,
                                     RAFT_VALUE_MAX};
    struct world w = {.now = 1000};
    struct raft_options o;
    raft_options_default(&o);
    o.max_batch = 8;
    if (raft_init(&w.r, 1, &o, 42) != 0)
        return 0;
    struct raft_configuration conf = {.n = 3};
    for (unsigned i = 0; i < 3; i++)
        conf.servers[i] = (struct raft_server){.id = i + 1, .role = RAFT_VOTER};
    struct raft_event ev = {.type = RAFT_START, .time = w.now};
    ev.start.term = terms[data[0] % (sizeof terms / sizeof terms[0])];
    ev.start.bootstrap = &conf;
    struct raft_update up;
    raft_step(&w.r, &ev, &up);
    after(&w, &up);
    unsigned dt = data[1];
    struct io_frame_decoder d;
    io_frame_decoder_init(&d, 4096);
    const unsigned char *p = data + 2;
    size_t n = size - 2;
    char err[FL_ERRMSG_SIZE];
    const unsigned char *body;
    size_t len;
    /* As the transport reads: the hand-written reader, else jansson. */
    while (io_frame_decoder_next_raw(&d, &p, &n, &body, &len, err) == 1) {
        struct raft_message m;
        if (io_codec_decode_body(body, len, &m, err) == 0) {
            deliver(&w, &m);
            raft_message_release(&m);
        }
        /* Time passes between frames: timers fire, elections start. */
        w.now += dt * 10u;
        struct raft_event tick = {.type = RAFT_TICK, .time = w.now};
        raft_step(&w.r, &tick, &up);
        after(&w, &up);
    }
    io_frame_decoder_close(&d);
    raft_close(&w.r);
    return 0;
}
