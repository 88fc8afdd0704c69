/* impl.h - internal declarations shared by the files of the Raft core (raft__ prefix). */
#ifndef RAFT_IMPL_H
#define RAFT_IMPL_H

#include "node/raft/raft.h"

/* ==== Log (log.c) ==== */
uint64_t raft__last_index(const struct raft *r);
uint64_t raft__term_at(const struct raft *r, uint64_t index);
/* Appends one entry taking a new reference on its buffer; marks it dirty. */
int raft__log_append(struct raft *r, uint64_t term, int type, struct raft_buf *buf);
/* Drops entries from `index` on (follower conflict); marks dirty. */
void raft__log_truncate(struct raft *r, uint64_t index);
/* Releases entries up to and including `index` from memory. */
void raft__log_release(struct raft *r, uint64_t index);
/* Drops the whole log and restarts it after (index, term). */
void raft__log_reset(struct raft *r, uint64_t index, uint64_t term);
void raft__mark_dirty(struct raft *r, uint64_t index);

/* ==== Configuration (membership.c) ==== */
int raft__conf_find(const struct raft_configuration *c, uint64_t id);
unsigned raft__voters(const struct raft_configuration *c);
bool raft__is_voter(const struct raft *r, uint64_t id);
/* Makes `c` (appended at `index`) the configuration in effect, keeping the
 * progress of servers that remain. */
void raft__conf_apply(struct raft *r, const struct raft_configuration *c, uint64_t index);
/* Recomputes the configuration from the log after a truncation. */
void raft__conf_restore(struct raft *r);
int raft__change(struct raft *r, uint64_t id, int role);
void raft__maybe_step_down_removed(struct raft *r);

/* ==== Output (raft.c) ==== */
struct raft_message *raft__msg(struct raft *r, int type, uint64_t to);
int raft__msg_entries(struct raft *r, struct raft_message *m, uint64_t from, unsigned n);
void raft__read_done(struct raft *r, uint64_t id, uint64_t index, int status);
void raft__reset_election_timer(struct raft *r);

/* ==== Roles (election.c) ==== */
void raft__become_follower(struct raft *r, uint64_t term, uint64_t leader);
void raft__become_candidate(struct raft *r, bool pre, bool transfer);
void raft__become_leader(struct raft *r);
void raft__tick(struct raft *r);
bool raft__sticky(const struct raft *r);
/* Counts a vote; true once a quorum of voters granted. */
bool raft__add_vote(struct raft *r, uint64_t id);

/* ==== Replication (replication.c) ==== */
void raft__send_append(struct raft *r, unsigned i, bool heartbeat);
void raft__broadcast(struct raft *r, bool new_round);
void raft__maybe_commit(struct raft *r);
void raft__gossip(struct raft *r);

/* ==== Handlers (one file each) ==== */
int raft__recv_append(struct raft *r, const struct raft_message *m);
int raft__recv_append_result(struct raft *r, const struct raft_message *m);
int raft__recv_vote(struct raft *r, const struct raft_message *m);
int raft__recv_vote_result(struct raft *r, const struct raft_message *m);
int raft__recv_snapshot(struct raft *r, const struct raft_message *m);
int raft__recv_snapshot_result(struct raft *r, const struct raft_message *m);
int raft__recv_timeout_now(struct raft *r, const struct raft_message *m);

/* ==== Reads and leases (read.c) ==== */
int raft__read(struct raft *r, const uint64_t *ids, unsigned n, int mode);
void raft__round_acked(struct raft *r);
void raft__peer_down(struct raft *r, uint64_t id);
void raft__reads_flush(struct raft *r);
void raft__reads_fail(struct raft *r, int status);

/* ==== Snapshots (snapshot.c) ==== */
int raft__snapshot_taken(struct raft *r, uint64_t index, struct raft_buf *data);
void raft__send_snapshot(struct raft *r, unsigned i);

/* ==== Transfer (recv_timeout_now.c) ==== */
int raft__transfer(struct raft *r, uint64_t id);
void raft__transfer_check(struct raft *r, unsigned i);

#endif
