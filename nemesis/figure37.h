/* figure37.h - the figure-3-7 fault: Raft's Figure 3.7 played on a real five-node cluster of
 * reference nodes, so that a leader that commits entries of an earlier term by counting replicas
 * (the planted bug commit-old-term) loses writes it has acknowledged.
 *
 * Each step waits for what the nodes report (a "members" request to one node: its leader, term
 * and commit index), not for a fixed time. Roles, from the leader L at the start, in node order
 * after it: A, B, C, D. First every follower is let catch up with the leader's commit index (all
 * but one within 1 s, or up to 5 s; one node that does not catch up plays C, which only votes), so
 * that B lacks only the entries of step 1.
 *   1. L and A are cut off from B, C and D: clients' writes pile up on them, uncommitted (term T).
 *      D sees C and B; B and C do not see each other, and D's messages to B are delayed by
 *      delay_ms. Only D can gather three votes; its first entry (term T+1) reaches C at once, B
 *      only after the delay. Clients cannot reach D (its client port is blocked), so D's log
 *      gets no client command that would later bring back the writes step 3 removes.
 *   2. As soon as C names D its leader, D and B are killed (the delayed packets then meet a closed
 * socket) and B started again: B has voted in term T+1 but holds none of its entries. L, A and B
 * see each other, with L->B and A->B delayed; C and D are cut off. L or A (W) wins a later term
 * with B's vote and sends B the term-T entries it lacks, max_batch at a time, its own no-op last.
 *   3. As soon as W's commit index moves, W and B are killed and B started again. A correct W
 *      moves it only once B holds the no-op of W's term; with the bug it moves when B holds the
 *      first batch of term-T entries, and W applies them and answers their clients. Then B, C
 *      and D see each other (the other of L and A, V, is cut off): D or C, whose last entry has
 *      term T+1, gets B's vote and overwrites B's term-T entries. Acknowledged writes are gone.
 *      (D's client port is open again from step 2 on, when D is dead.)
 * The delay must be below the election timeout (a candidate waits that long for B's vote).
 * End (the fault's heal): the network back to whole, every node it killed started again.
 *
 * The fault kind (nemesis_figure37_kind, "figure-3-7") is planned with the leader as L and the
 * link delay (delay.ms) it will use; its apply begins the steps on ctx->figure37 and its heal
 * ends them. The steps' ops are callbacks; nemesis_figure37_ctx_ops binds them to a nemesis ctx
 * (its node ops and its network), which is what a run does. */
#ifndef NEMESIS_FIGURE37_H
#define NEMESIS_FIGURE37_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "nemesis/fault.h"
#include "node/client/client.h"

#define NEMESIS_FIGURE37_NODES 5

extern const struct nemesis_kind nemesis_figure37_kind;

/* What the steps need done. Each returns 0 or a negative code with errmsg. Each returns 0 or a negative code with errmsg. */
struct nemesis_figure37_ops {
    void *data;
    int (*kill)(void *data, unsigned node, char *errmsg);  /* SIGKILL, reaped */
    int (*start)(void *data, unsigned node, char *errmsg); /* start a killed node again */
    /* Replaces the partition (drop[i] bit j: traffic i->j dropped) and the delayed links
     * (delay[i] bit j: i->j held delay_ms); all zero: the network whole. */
    int (*net)(void *data, const uint32_t *drop, const uint32_t *delay, uint32_t delay_ms,
               char *errmsg);
    int (*block_clients)(void *data, unsigned node, bool on, char *errmsg); /* its client port */
    void (*say)(void *data, const char *line); /* a progress line for the run's output */
};

struct nemesis_figure37_probe {
    struct client c;
    struct client_req req;
    struct nemesis_figure37 *f;
    unsigned node;
    bool open, busy;
    uint64_t sent_at; /* uv_now() of the request in flight or last answered */
};

/* Caller-allocated; fields private. */
struct nemesis_figure37 {
    uv_loop_t *loop;
    struct nemesis_figure37_ops ops;
    uv_timer_t timer;
    struct nemesis_figure37_probe probe[NEMESIS_FIGURE37_NODES];
    unsigned open_handles;
    bool timer_ok;
    void (*close_cb)(void *data);
    void *close_data;
    int state;
    unsigned role[NEMESIS_FIGURE37_NODES]; /* L, A, B, C, D */
    unsigned w, v;                         /* the step-2 winner (L or A) and the other */
    uint64_t term_d, term_w, commit_w0, state_since;
    uint32_t delay_ms;
    uint32_t killed;    /* bit i: killed by this fault and not started again */
    bool blocked;       /* D's client port is blocked */
    uint64_t settle_to; /* before step 1: the leader's commit index to reach */
    uint64_t
        commit[NEMESIS_FIGURE37_NODES]; /* before step 1: each node's last reported commit index */
};

/* Prepares `f` on `loop` with one probe client per node (client_addrs: "host:port", the
 * nodes' client addresses, borrowed; `ops` is copied). Starts nothing. Returns 0 or a negative
 * code; either way nemesis_figure37_close must be called to release what was opened. */
int nemesis_figure37_init(struct nemesis_figure37 *f, uv_loop_t *loop,
                          const char *const *client_addrs, unsigned n,
                          const struct nemesis_figure37_ops *ops, char *errmsg);

/* Starts the steps with `leader` as L. Returns 0, FL_EUSAGE when a run is already going. */
int nemesis_figure37_begin(struct nemesis_figure37 *f, unsigned leader, uint32_t delay_ms,
                           char *errmsg);

/* Stops the steps and heals: network whole, D's client port open, the nodes it killed started
 * again. Returns the first error (still healing the rest; a later call tries again what
 * failed); 0 when nothing was going. */
int nemesis_figure37_end(struct nemesis_figure37 *f, char *errmsg);

/* Closes the probes and the timer, then calls cb(data). Call nemesis_figure37_end first. */
void nemesis_figure37_close(struct nemesis_figure37 *f, void (*cb)(void *data), void *data);

/* Fills `ops` to act through `ctx` (borrowed, must outlive the steps; it may be initialised
 * later): kill and start through its node ops (ctx->killed kept), the network through its
 * partition and delay kinds, the client port blocked in the node's namespace. */
void nemesis_figure37_ctx_ops(struct nemesis_ctx *ctx, struct nemesis_figure37_ops *ops);

#endif
