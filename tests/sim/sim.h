/* sim.h - a deterministic simulated Raft cluster: one clock, faulty links and disks, invariants after every step. */
#ifndef SIM_H
#define SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/rng.h"
#include "node/raft/raft.h"

#define SIM_MAX_NODES 10

struct sim;
/* Returns true to drop a message in flight (targeted tests use it). */
typedef bool (*sim_filter_cb)(struct sim *s, const struct raft_message *m, void *data);

struct sim_config {
    uint64_t seed;
    unsigned voters;  /* initial voters, ids 1..voters */
    unsigned passive; /* initial passive members after them */
    unsigned spare;   /* servers outside the configuration, usable by changes */
    uint64_t fault_ms; /* random fault phase; 0 = no random faults */
    uint64_t heal_ms;  /* quiet phase after which a fresh write must commit */
    bool partitions, crashes, lossy, slow_disk, membership, transfers;
    double max_drift;  /* clock rates uniform in [1-d, 1+d] */
    unsigned lat_min, lat_max; /* ms per message in a healthy link */
    unsigned op_every; /* mean ms between client operations; 0 = none */
    double lease_reads; /* fraction of reads using the lease */
    struct raft_options opt;
    int verbose;
};

/* Fills c with the defaults of the randomized runs (all faults on). */
void sim_config_default(struct sim_config *c, uint64_t seed, unsigned voters);

struct sim_link {
    bool cut;
    double drop, dup;
    unsigned lat_min, lat_max;
};

struct sim_read {
    uint64_t value, lo, hi, node, inv, ret;
};

struct sim_stats {
    uint64_t steps, messages, elections, leaders, crashes, changes, snapshots, installs;
    uint64_t writes_acked, reads_ok, transfers, disruptions, committed;
    uint64_t runs, runs_with_change, runs_with_snapshot, runs_with_3_leaders;
};

/* Runs the whole randomized scenario of `c`: fault phase, heal, liveness,
 * final checks. Returns 0, or -1 with the reason in `why` (and the seed). */
int sim_run_seed(const struct sim_config *c, char *why, size_t why_len, struct sim_stats *st);

/* ==== Lower-level API for targeted tests ==== */
struct sim *sim_new(const struct sim_config *c);
void sim_free(struct sim *s);
/* Advances the simulated clock by `ms`, processing every event. Returns 0 or
 * -1 once an invariant failed (sticky; sim_error() says which). */
int sim_run_for(struct sim *s, uint64_t ms);
const char *sim_error(const struct sim *s);
uint64_t sim_now(const struct sim *s);
/* The node that believes it leads with the highest term, 0 if none. */
uint64_t sim_leader(const struct sim *s);
struct raft *sim_raft(struct sim *s, uint64_t id);
bool sim_is_up(const struct sim *s, uint64_t id);
void sim_crash(struct sim *s, uint64_t id);
void sim_restart(struct sim *s, uint64_t id);
/* Tells node `at` that its connection from `down` closed (RAFT_PEER_DOWN). */
void sim_peer_down(struct sim *s, uint64_t at, uint64_t down);
void sim_set_link(struct sim *s, uint64_t from, uint64_t to, const struct sim_link *l);
void sim_cut(struct sim *s, uint64_t a, uint64_t b, bool cut); /* both ways */
void sim_isolate(struct sim *s, uint64_t id, bool cut);
void sim_heal(struct sim *s);
void sim_set_rate(struct sim *s, uint64_t id, double rate);
void sim_set_filter(struct sim *s, sim_filter_cb cb, void *data);
/* Submits a write of a fresh value at node id; returns its value or 0. */
uint64_t sim_write(struct sim *s, uint64_t id);
/* Starts a linearizable read at node id (mode RAFT_READ_INDEX/LEASE). */
int sim_read(struct sim *s, uint64_t id, int mode);
/* n (1..16) reads in one RAFT_READ event (ev.read.ids), confirmed by one
 * heartbeat round; each is checked like sim_read's. */
int sim_read_batch(struct sim *s, uint64_t id, int mode, unsigned n);
int sim_change(struct sim *s, uint64_t id, int role);
int sim_transfer(struct sim *s, uint64_t to);
/* Checks the recorded reads against the register oracle; 0 or -1. */
int sim_check_reads(struct sim *s);
/* Highest index committed anywhere, and the number of committed entries that
 * were acknowledged writes. */
uint64_t sim_commit_max(const struct sim *s);
uint64_t sim_state_value(struct sim *s, uint64_t id);
const struct sim_stats *sim_stats(const struct sim *s);
unsigned sim_reads(const struct sim *s, const struct sim_read **reads);

#endif
