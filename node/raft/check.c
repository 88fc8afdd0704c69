/* check.c - bounds every numeric field of a received message before the core acts on it.
 *
 * The codec accepts any integer in 0..2^63-1; a member with a bug (or a
 * forged frame that got past authentication) could still make us adopt a
 * term whose successor no longer fits the wire, or count a match index past
 * our log. These checks refuse what no correct peer sends. */
#include "node/raft/impl.h"

static const char *check_index(uint64_t v, const char *name)
{
    return v > RAFT_VALUE_MAX ? name : NULL;
}

const char *raft_message_check(const struct raft *r, const struct raft_message *m)
{
    if (m->from == 0)
        return "from: 0 is not a server id";
    if (m->from == r->id)
        return "from: this server's own id";
    if (m->term > RAFT_VALUE_MAX)
        return "term: over 2^62";
    if (m->term > r->term && m->term - r->term > RAFT_TERM_JUMP_MAX)
        return "term: more than 2^32 above ours";
    const char *bad = NULL;
    switch (m->type) {
    case RAFT_APPEND:
        if ((bad = check_index(m->append.prev_index, "prev_index: over 2^62")) ||
            (bad = check_index(m->append.commit, "commit: over 2^62")) ||
            (bad = check_index(m->append.round, "round: over 2^62")))
            return bad;
        if (m->append.prev_term > m->term)
            return "prev_term: above the message's term";
        if (m->append.leader == 0)
            return "leader: 0 is not a server id";
        for (unsigned i = 0; i < m->append.n; i++)
            if (m->append.entries[i].term == 0 || m->append.entries[i].term > m->term)
                return "entries: an entry's term is 0 or above the message's term";
        return NULL;
    case RAFT_APPEND_RESULT:
        if ((bad = check_index(m->append_result.index, "index: over 2^62")) ||
            (bad = check_index(m->append_result.last_index, "last_index: over 2^62")) ||
            (bad = check_index(m->append_result.conflict_index, "conflict_index: over 2^62")) ||
            (bad = check_index(m->append_result.round, "round: over 2^62")))
            return bad;
        if (m->append_result.conflict_term > m->term)
            return "conflict_term: above the message's term";
        /* In our own term only our own entries can have been matched, and
         * only rounds we sent can be echoed. */
        if (m->term == r->term && m->append_result.success &&
            m->append_result.index > raft__last_index(r))
            return "index: matched beyond our last index";
        if (m->term == r->term && r->state == RAFT_LEADER && m->append_result.round > r->round)
            return "round: ahead of any round we sent";
        return NULL;
    case RAFT_VOTE:
        if ((bad = check_index(m->vote.last_index, "last_index: over 2^62")))
            return bad;
        if (m->vote.last_term > m->term)
            return "last_term: above the message's term";
        return NULL;
    case RAFT_VOTE_RESULT:
    case RAFT_TIMEOUT_NOW:
        return NULL;
    case RAFT_SNAPSHOT:
        if ((bad = check_index(m->snapshot.index, "index: over 2^62")) ||
            (bad = check_index(m->snapshot.conf_index, "conf_index: over 2^62")) ||
            (bad = check_index(m->snapshot.round, "round: over 2^62")))
            return bad;
        if (m->snapshot.term > m->term)
            return "snap_term: above the message's term";
        if (m->snapshot.offset > UINT32_MAX)
            return "offset: over 2^32";
        return NULL;
    case RAFT_SNAPSHOT_RESULT:
        if ((bad = check_index(m->snapshot_result.index, "index: over 2^62")) ||
            (bad = check_index(m->snapshot_result.round, "round: over 2^62")))
            return bad;
        if (m->snapshot_result.next_offset > UINT32_MAX)
            return "next_offset: over 2^32";
        if (m->term == r->term && r->state == RAFT_LEADER && m->snapshot_result.round > r->round)
            return "round: ahead of any round we sent";
        return NULL;
    default:
        return "type: unknown";
    }
}
