/* recv_request_vote.c - handling RequestVote and pre-vote requests (§3.4, §3.6.1, §9.6, §4.2.3). */
#include "node/raft/impl.h"

static bool log_up_to_date(const struct raft *r, const struct raft_message *m)
{
    /* Election restriction (§3.6.1): the candidate's log is at least as up to date. */
    uint64_t last = raft__last_index(r), last_term = raft__term_at(r, last);
    if (m->vote.last_term != last_term)
        return m->vote.last_term > last_term;
    return m->vote.last_index >= last;
}

static void reply(struct raft *r, const struct raft_message *m, bool granted, uint64_t term)
{
    struct raft_message *out = raft__msg(r, RAFT_VOTE_RESULT, m->from);
    if (out == NULL)
        return;
    out->term = term;
    out->vote_result.granted = granted;
    out->vote_result.pre = m->vote.pre;
}

int raft__recv_vote(struct raft *r, const struct raft_message *m)
{
    bool sticky = raft__sticky(r) && !m->vote.transfer;
    if (m->vote.pre) {
        /* A pre-vote changes nothing here: no term, no vote, no timer. */
        bool ok = m->term > r->term && !sticky && log_up_to_date(r, m);
        if (m->term < r->term || !ok)
            reply(r, m, false, r->term);
        else
            reply(r, m, true, m->term);
        return 0;
    }
    if (sticky && m->term > r->term) {
        /* Ignore disruptive candidates while a leader is live (§4.2.3). */
        return 0;
    }
    if (m->term > r->term)
        raft__become_follower(r, m->term, 0);
    if (m->term < r->term) {
        reply(r, m, false, r->term);
        return 0;
    }
    bool granted = false;
    if ((r->vote == 0 || r->vote == m->from) && r->state == RAFT_FOLLOWER &&
        log_up_to_date(r, m)) {
        granted = true;
        if (r->vote != m->from) {
            r->vote = m->from;
            /* The vote must be durable before the reply leaves (§3.8): the reply
             * rides in the same update as the hard state. */
            if (!(r->opt.bugs & RAFT_BUG_VOTE_NOT_PERSISTED)) {
                r->hs_vote = m->from;
                r->hs_dirty = true;
            }
        }
        raft__reset_election_timer(r);
    }
    reply(r, m, granted, r->term);
    return 0;
}
