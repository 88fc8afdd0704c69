/* recv_timeout_now.c - leadership transfer: bring the target up to date, then TimeoutNow (§3.10). */
#include "node/raft/impl.h"

/* Starts a transfer to voter `id` (0: the most up-to-date one). Submits are
 * refused until it completes or an election timeout passes. */
int raft__transfer(struct raft *r, uint64_t id)
{
    if (r->state != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    if (r->transfer_to != 0)
        return RAFT_EBUSY;
    int best = -1;
    for (unsigned i = 0; i < r->conf.n; i++) {
        const struct raft_server *s = &r->conf.servers[i];
        if (s->id == r->id || s->role != RAFT_VOTER)
            continue;
        if (id != 0 && s->id != id)
            continue;
        if (best < 0 || r->prog[i].match > r->prog[best].match)
            best = (int)i;
    }
    if (best < 0)
        return RAFT_EINVAL;
    r->transfer_to = r->conf.servers[best].id;
    r->transfer_deadline = r->now + r->opt.election_timeout;
    /* TimeoutNow lets the target's voters ignore stickiness, which is what a
     * lease relies on: no lease from now until the target's election (sent
     * by the deadline at the latest) is over, one more election timeout on. */
    r->lease_until = 0;
    r->lease_blocked_until = r->transfer_deadline + r->opt.election_timeout;
    raft__transfer_check(r, (unsigned)best);
    raft__send_append(r, (unsigned)best, true);
    return 0;
}

void raft__transfer_check(struct raft *r, unsigned i)
{
    if (r->transfer_to == 0 || r->conf.servers[i].id != r->transfer_to ||
        r->prog[i].match < raft__last_index(r))
        return;
    struct raft_message *m = raft__msg(r, RAFT_TIMEOUT_NOW, r->transfer_to);
    if (m == NULL)
        return;
    m->append.prev_index = raft__last_index(r);
}

int raft__recv_timeout_now(struct raft *r, const struct raft_message *m)
{
    if (m->term != r->term || r->state != RAFT_FOLLOWER || !raft__is_voter(r, r->id))
        return 0;
    /* Skip pre-vote and stickiness: the old leader asked us to (§3.10). */
    raft__become_candidate(r, false, true);
    return 0;
}
