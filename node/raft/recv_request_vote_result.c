/* recv_request_vote_result.c - counting votes and pre-votes (§3.4, §9.6). */
#include "node/raft/impl.h"

int raft__recv_vote_result(struct raft *r, const struct raft_message *m)
{
    if (m->vote_result.pre) {
        if (m->term > r->term + 1 || (m->term > r->term && !m->vote_result.granted)) {
            raft__become_follower(r, m->term, 0);
            return 0;
        }
        if (r->state != RAFT_PRECANDIDATE || m->term != r->term + 1 || !m->vote_result.granted)
            return 0;
        if (raft__add_vote(r, m->from))
            raft__become_candidate(r, false, r->transfer_election);
        return 0;
    }
    if (m->term > r->term) {
        raft__become_follower(r, m->term, 0);
        return 0;
    }
    if (r->state != RAFT_CANDIDATE || m->term != r->term || !m->vote_result.granted)
        return 0;
    if (raft__add_vote(r, m->from))
        raft__become_leader(r);
    return 0;
}
