/* replication.c - the leader's side of log replication: batching, pipelining, heartbeats, commit (§3.5, §3.6.2); gossip to passive members. */
#include <string.h>

#include "node/raft/impl.h"

/* Sends one AppendEntries to server i. `force` sends even an empty message
 * (heartbeat, answer to a rejection); otherwise only when entries are due.
 * In pipeline mode next_index advances optimistically (§10.2.1). */
static bool send_one(struct raft *r, unsigned i, bool force, uint64_t max)
{
    struct raft_progress *p = &r->prog[i];
    uint64_t to = r->conf.servers[i].id;
    if (p->snapshotting) {
        if (force)
            raft__send_snapshot(r, i);
        return false;
    }
    if (p->next < r->log_start) {
        /* The entries it needs are released: send the snapshot (§5.1). */
        p->snapshotting = true;
        p->snap_offset = 0;
        raft__send_snapshot(r, i);
        return false;
    }
    uint64_t last = raft__last_index(r);
    uint64_t n = p->next <= last ? last - p->next + 1 : 0;
    if (n > max)
        n = max;
    if (p->next - 1 >= p->match + r->opt.max_inflight)
        n = 0;
    if (p->probing && !force)
        return false;
    if (n == 0 && !force)
        return false;
    struct raft_message *m = raft__msg(r, RAFT_APPEND, to);
    if (m == NULL)
        return false;
    m->append.prev_index = p->next - 1;
    m->append.prev_term = raft__term_at(r, p->next - 1);
    m->append.commit = r->commit;
    m->append.round = r->round;
    m->append.leader = r->id;
    if (raft__msg_entries(r, m, p->next, (unsigned)n) != 0) {
        r->n_msgs--;
        return false;
    }
    p->sent_at = r->now;
    if (!p->probing)
        p->next += n;
    return n > 0 && !p->probing;
}

void raft__send_append(struct raft *r, unsigned i, bool force)
{
    const struct raft_server *s = &r->conf.servers[i];
    if (s->id == r->id || s->role == RAFT_RESERVE)
        return;
    if (s->role == RAFT_PASSIVE && raft__voters(&r->conf) > 1) {
        /* Passive members get the log from followers by gossip. The leader
         * only checks on each once an election timeout, and sends it the
         * snapshot when it needs one (followers cannot send snapshots). */
        const struct raft_progress *p = &r->prog[i];
        if (!p->snapshotting && (!force || p->sent_at + r->opt.election_timeout > r->now))
            return;
        send_one(r, i, true, 0);
        return;
    }
    if (send_one(r, i, force, r->opt.max_batch)) {
        while (send_one(r, i, false, r->opt.max_batch))
            ;
    }
}

void raft__broadcast(struct raft *r, bool new_round)
{
    if (new_round) {
        r->round++;
        r->round_sent[r->round % RAFT_ROUNDS] = r->now;
        r->heartbeat_deadline = r->now + r->opt.heartbeat_interval;
    }
    for (unsigned i = 0; i < r->conf.n; i++)
        raft__send_append(r, i, true);
    /* A single voter acknowledges its own rounds. */
    raft__round_acked(r);
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Returns the largest value that a quorum of voters has reached, given each
 * voter's value in v (sorted in place). */
static uint64_t quorum_value(uint64_t *v, unsigned n)
{
    /* n is at most RAFT_MAX_SERVERS: insertion sort, no qsort callback cost. */
    for (unsigned i = 1; i < n; i++)
        for (unsigned j = i; j > 0 && cmp_desc(&v[j - 1], &v[j]) > 0; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

void raft__maybe_commit(struct raft *r)
{
    if (r->state != RAFT_LEADER)
        return;
    uint64_t v[RAFT_MAX_SERVERS];
    unsigned n = 0;
    for (unsigned i = 0; i < r->conf.n; i++) {
        if (r->conf.servers[i].role != RAFT_VOTER)
            continue;
        if (r->conf.servers[i].id == r->id) {
            /* Count our own entries only once durable (persistence contract). */
            uint64_t last = raft__last_index(r);
            v[n++] = r->persisted_index < last ? r->persisted_index : last;
        } else {
            v[n++] = r->prog[i].match;
        }
    }
    if (n == 0)
        return;
    uint64_t idx = quorum_value(v, n);
    if (idx <= r->commit)
        return;
    /* Figure 3.7: only entries of the current term are committed by counting
     * replicas; earlier ones commit indirectly (§3.6.2). */
    if (raft__term_at(r, idx) != r->term && !(r->opt.bugs & RAFT_BUG_COMMIT_OLD_TERM))
        return;
    r->commit = idx;
    raft__maybe_step_down_removed(r);
}

void raft__round_acked(struct raft *r)
{
    if (r->state != RAFT_LEADER)
        return;
    uint64_t v[RAFT_MAX_SERVERS];
    unsigned n = 0;
    for (unsigned i = 0; i < r->conf.n; i++) {
        if (r->conf.servers[i].role != RAFT_VOTER)
            continue;
        v[n++] = r->conf.servers[i].id == r->id ? r->round : r->prog[i].round;
    }
    if (n == 0)
        return;
    uint64_t q = quorum_value(v, n);
    if (q <= r->quorum_round || q < r->term_first_round)
        return;
    r->quorum_round = q;
    if (q + RAFT_ROUNDS <= r->round || r->transfer_to != 0 || r->now < r->lease_blocked_until)
        return;
    /* Leader lease (§6.4.1): a majority heard from us after round q was sent,
     * so none of them votes before its election timeout elapses from then. */
    double margin = (r->opt.bugs & RAFT_BUG_LEASE_NO_DRIFT) ? 0.0 : r->opt.drift_bound;
    uint64_t until =
        r->round_sent[q % RAFT_ROUNDS] + (uint64_t)(r->opt.election_timeout * (1.0 - margin));
    if (until > r->lease_until)
        r->lease_until = until;
}

/* ==== Gossip to passive members (Copycat) ==== */

/* Copycat replicates committed entries to passive members from followers:
 * passive member j (in configuration order) is served by the follower
 * (j mod k) among the k voters other than the leader. */
void raft__gossip(struct raft *r)
{
    if (r->state != RAFT_FOLLOWER || r->leader == 0 || !raft__is_voter(r, r->id))
        return;
    unsigned k = 0, me = 0, j = 0;
    bool any = false;
    for (unsigned i = 0; i < r->conf.n; i++) {
        const struct raft_server *s = &r->conf.servers[i];
        if (s->role == RAFT_PASSIVE)
            any = true;
        if (s->role == RAFT_VOTER && s->id != r->leader) {
            if (s->id == r->id)
                me = k;
            k++;
        }
    }
    if (!any || k == 0)
        return;
    for (unsigned i = 0; i < r->conf.n; i++) {
        const struct raft_server *s = &r->conf.servers[i];
        if (s->role != RAFT_PASSIVE)
            continue;
        if (j++ % k != me)
            continue;
        struct raft_progress *g = &r->gossip[i];
        bool due = g->sent_at + r->opt.heartbeat_interval <= r->now;
        if (g->next == 0 || g->next > r->commit + 1)
            g->next = r->commit + 1;
        /* Behind our log: the leader's check-up sends it a snapshot. */
        if (g->next < r->log_start)
            continue;
        /* After a rejection, one probe per heartbeat: answering every
         * (possibly duplicated) rejection at once feeds a message storm. */
        if (g->probing && !due)
            continue;
        uint64_t n = g->next <= r->commit ? r->commit - g->next + 1 : 0;
        if (n > r->opt.max_batch)
            n = r->opt.max_batch;
        if (g->next - 1 >= g->match + r->opt.max_inflight)
            n = 0;
        if (n == 0 && !due)
            continue;
        if (g->next - 1 < r->log_start - 1)
            continue;
        struct raft_message *m = raft__msg(r, RAFT_APPEND, s->id);
        if (m == NULL)
            return;
        m->append.prev_index = g->next - 1;
        m->append.prev_term = raft__term_at(r, g->next - 1);
        m->append.commit = r->commit;
        m->append.leader = r->leader;
        if (raft__msg_entries(r, m, g->next, (unsigned)n) != 0) {
            r->n_msgs--;
            return;
        }
        g->sent_at = r->now;
        if (!g->probing)
            g->next += n;
    }
}
