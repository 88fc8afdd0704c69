/* recv_append_entries.c - the follower's side of AppendEntries (§3.5, Figure 3.1), with conflict hints. */
#include "node/raft/impl.h"

static void reply(struct raft *r, const struct raft_message *m, bool ok, uint64_t index,
                  uint64_t conflict_term, uint64_t conflict_index)
{
    struct raft_message *out = raft__msg(r, RAFT_APPEND_RESULT, m->from);
    if (out == NULL)
        return;
    out->append_result.success = ok;
    out->append_result.index = index;
    out->append_result.last_index = raft__last_index(r);
    out->append_result.conflict_term = conflict_term;
    out->append_result.conflict_index = conflict_index;
    out->append_result.round = m->append.round;
}

int raft__recv_append(struct raft *r, const struct raft_message *m)
{
    if (m->term < r->term) {
        /* A stale leader learns the new term from our answer (§3.3). */
        reply(r, m, false, m->append.prev_index, 0, 0);
        return 0;
    }
    if (m->term > r->term || r->state != RAFT_FOLLOWER)
        raft__become_follower(r, m->term, m->append.leader);
    r->leader = m->append.leader;
    r->heard_leader = true;
    r->last_leader_contact = r->now;
    raft__reset_election_timer(r);

    uint64_t prev = m->append.prev_index, prev_term = m->append.prev_term;
    unsigned skip = 0, n = m->append.n;
    if (prev < r->commit) {
        /* Entries up to our commit index match the leader's (Leader
         * Completeness, Log Matching) and may be compacted here: skip them. */
        uint64_t d = r->commit - prev;
        if (d >= n) {
            reply(r, m, true, prev + n, 0, 0);
            return 0;
        }
        skip = (unsigned)d;
        prev = r->commit;
        prev_term = m->append.entries[skip - 1].term;
    }
    uint64_t last = raft__last_index(r);
    if (prev > last) {
        reply(r, m, false, m->append.prev_index, 0, 0);
        return 0;
    }
    uint64_t t = raft__term_at(r, prev);
    if (t != prev_term) {
        /* Fast backtracking: name the conflicting term and its first index so
         * the leader skips the whole term in one round trip. */
        uint64_t first = prev;
        while (first > r->log_start && first - 1 > r->commit && raft__term_at(r, first - 1) == t)
            first--;
        reply(r, m, false, m->append.prev_index, t, first);
        return 0;
    }
    for (unsigned j = skip; j < n; j++) {
        const struct raft_entry *e = &m->append.entries[j];
        uint64_t idx = m->append.prev_index + 1 + j;
        if (idx <= raft__last_index(r)) {
            if (raft__term_at(r, idx) == e->term)
                continue;
            raft__log_truncate(r, idx);
        }
        int rv = raft__log_append(r, e->term, e->type, e->buf);
        if (rv != 0)
            return rv;
    }
    uint64_t match = m->append.prev_index + n;
    uint64_t c = m->append.commit < match ? m->append.commit : match;
    if (c > r->commit)
        r->commit = c;
    reply(r, m, true, match, 0, 0);
    return 0;
}
