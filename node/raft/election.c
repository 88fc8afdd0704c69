/* election.c - roles and timers: follower, (pre-)candidate, leader; ticks and check-quorum (§3.4,
 * §9.6). */
#include "node/raft/impl.h"

bool raft__sticky(const struct raft *r)
{
    /* Leader stickiness (§4.2.3): a server that heard from a live leader within
     * the minimum election timeout ignores (pre-)votes. */
    if (r->state == RAFT_LEADER)
        return true;
    return r->heard_leader && r->now < r->last_leader_contact + r->opt.election_timeout;
}

void raft__become_follower(struct raft *r, uint64_t term, uint64_t leader)
{
    if (r->state == RAFT_LEADER) {
        if (term > r->term)
            r->stat_disruptions++;
        raft__reads_fail(r, RAFT_ELEADERSHIP);
    }
    if (term > r->term) {
        r->term = term;
        r->vote = r->hs_vote = 0;
        r->hs_dirty = true;
    }
    r->state = RAFT_FOLLOWER;
    r->leader = leader;
    r->lease_until = 0;
    r->transfer_to = 0;
    r->transfer_election = false;
    raft__reset_election_timer(r);
}

static unsigned quorum(const struct raft *r)
{
    return raft__voters(&r->conf) / 2 + 1;
}

static void send_votes(struct raft *r, bool pre, bool transfer)
{
    for (unsigned i = 0; i < r->conf.n; i++) {
        const struct raft_server *s = &r->conf.servers[i];
        if (s->id == r->id || s->role != RAFT_VOTER)
            continue;
        struct raft_message *m = raft__msg(r, RAFT_VOTE, s->id);
        if (m == NULL)
            return;
        m->term = pre ? r->term + 1 : r->term;
        m->vote.last_index = raft__last_index(r);
        m->vote.last_term = raft__term_at(r, m->vote.last_index);
        m->vote.pre = pre;
        m->vote.transfer = transfer;
    }
}

void raft__become_candidate(struct raft *r, bool pre, bool transfer)
{
    if (!raft__is_voter(r, r->id))
        return;
    if (r->state == RAFT_LEADER)
        raft__reads_fail(r, RAFT_ELEADERSHIP);
    r->leader = 0;
    r->heard_leader = false;
    r->lease_until = 0;
    r->n_votes = 1;
    r->votes[0] = r->id;
    r->transfer_election = transfer;
    raft__reset_election_timer(r);
    if (pre) {
        /* Pre-vote (§9.6): ask without disturbing anyone's term. */
        r->state = RAFT_PRECANDIDATE;
    } else {
        r->state = RAFT_CANDIDATE;
        r->term++;
        r->vote = r->hs_vote = r->id;
        r->hs_dirty = true;
        r->stat_elections++;
    }
    if (r->n_votes >= quorum(r)) {
        if (pre)
            raft__become_candidate(r, false, transfer);
        else
            raft__become_leader(r);
        return;
    }
    send_votes(r, pre, transfer);
}

bool raft__add_vote(struct raft *r, uint64_t id)
{
    if (!raft__is_voter(r, id))
        return false;
    for (unsigned i = 0; i < r->n_votes; i++)
        if (r->votes[i] == id)
            return false;
    r->votes[r->n_votes++] = id;
    return r->n_votes >= quorum(r);
}

void raft__become_leader(struct raft *r)
{
    r->state = RAFT_LEADER;
    r->leader = r->id;
    r->transfer_to = 0;
    r->transfer_election = false;
    r->lease_until = 0;
    for (unsigned i = 0; i < r->conf.n; i++) {
        struct raft_progress *p = &r->prog[i];
        p->next = raft__last_index(r) + 1;
        p->match = 0;
        p->round = 0;
        p->last_contact = r->now;
        p->probing = true;
        p->snapshotting = false;
        p->snap_offset = 0;
        p->sent_at = 0;
    }
    /* Leases and ReadIndex rounds count only rounds of this term (§6.4.1). */
    r->term_first_round = r->round + 1;
    r->quorum_round = 0;
    r->quorum_deadline = r->now + r->opt.election_timeout;
    /* A no-op entry lets the leader commit, and so learn the commit index (§6.4). */
    raft__log_append(r, r->term, RAFT_NOOP, NULL);
    raft__broadcast(r, true);
    raft__maybe_commit(r);
}

void raft__tick(struct raft *r)
{
    if (r->state == RAFT_LEADER) {
        if (r->transfer_to != 0 && r->now >= r->transfer_deadline)
            r->transfer_to = 0;
        if (r->opt.check_quorum && r->now >= r->quorum_deadline) {
            /* Check-quorum (§6.2): step down without a majority's recent contact. */
            unsigned live = 0;
            for (unsigned i = 0; i < r->conf.n; i++) {
                const struct raft_server *s = &r->conf.servers[i];
                if (s->role != RAFT_VOTER)
                    continue;
                if (s->id == r->id || r->prog[i].last_contact + r->opt.election_timeout > r->now)
                    live++;
            }
            r->quorum_deadline = r->now + r->opt.election_timeout;
            if (live < quorum(r)) {
                raft__become_follower(r, r->term, 0);
                return;
            }
        }
        if (r->now >= r->heartbeat_deadline)
            raft__broadcast(r, true);
        return;
    }
    if (!raft__is_voter(r, r->id) || r->now < r->election_deadline)
        return;
    bool pre = r->opt.pre_vote && !(r->opt.bugs & RAFT_BUG_NO_PREVOTE);
    raft__become_candidate(r, pre, false);
}

/* The leader's connection closed (a killed process's sockets close at once):
 * instead of waiting out a whole election timeout, a follower campaigns
 * within a quarter of one, randomized so that followers rarely split the
 * vote, and stops being sticky to that leader. Pre-vote keeps this from
 * disrupting a leader that is in fact alive: the others still hear from it
 * and refuse (§9.6, §4.2.3). */
void raft__peer_down(struct raft *r, uint64_t id)
{
    if (r->state != RAFT_FOLLOWER || id == 0 || id != r->leader)
        return;
    r->heard_leader = false;
    uint64_t et = r->opt.election_timeout;
    uint64_t d = r->now + fl_rng_below(&r->rng, et / 4 + 1);
    if (d < r->election_deadline)
        r->election_deadline = d;
}
