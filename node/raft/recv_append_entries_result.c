/* recv_append_entries_result.c - the leader's (or a gossiping follower's) handling of AppendEntries results (§3.5). */
#include "node/raft/impl.h"

/* Finds the next index to try after a rejection, using the follower's hint:
 * skip past our entries of the conflicting term, or to the end of its log. */
static uint64_t backtrack(const struct raft *r, const struct raft_message *m)
{
    const uint64_t last = raft__last_index(r);
    if (m->append_result.conflict_term == 0)
        return m->append_result.last_index + 1;
    for (uint64_t i = m->append_result.index < last ? m->append_result.index : last;
         i >= r->log_start && i > 0; i--) {
        uint64_t t = raft__term_at(r, i);
        if (t == m->append_result.conflict_term)
            return i + 1;
        if (t < m->append_result.conflict_term)
            break;
    }
    return m->append_result.conflict_index;
}

static void update(struct raft *r, struct raft_progress *p, const struct raft_message *m)
{
    if (m->append_result.success) {
        if (m->append_result.index > p->match)
            p->match = m->append_result.index;
        if (p->next < p->match + 1)
            p->next = p->match + 1;
        p->probing = false;
        return;
    }
    /* Drop stale rejections: pipelined messages fail in a burst. */
    if (m->append_result.index < p->match || (p->probing && m->append_result.index != p->next - 1))
        return;
    uint64_t next = backtrack(r, m);
    if (next > p->next)
        next = p->next;
    if (next < p->match + 1)
        next = p->match + 1;
    if (next == 0)
        next = 1;
    p->next = next;
    p->probing = true;
}

static int gossip_result(struct raft *r, const struct raft_message *m)
{
    int i = raft__conf_find(&r->conf, m->from);
    if (i < 0 || m->term != r->term)
        return 0;
    update(r, &r->gossip[i], m);
    return 0;
}

int raft__recv_append_result(struct raft *r, const struct raft_message *m)
{
    if (m->term > r->term) {
        raft__become_follower(r, m->term, 0);
        return 0;
    }
    if (r->state != RAFT_LEADER)
        return gossip_result(r, m);
    if (m->term < r->term)
        return 0;
    int i = raft__conf_find(&r->conf, m->from);
    if (i < 0)
        return 0;
    struct raft_progress *p = &r->prog[i];
    p->last_contact = r->now;
    if (m->append_result.round > p->round) {
        p->round = m->append_result.round;
        raft__round_acked(r);
    }
    bool was_probing = p->probing;
    uint64_t old_next = p->next;
    update(r, p, m);
    if (m->append_result.success) {
        raft__maybe_commit(r);
        raft__transfer_check(r, (unsigned)i);
        raft__send_append(r, (unsigned)i, was_probing);
    } else if (p->probing && (!was_probing || p->next != old_next)) {
        raft__send_append(r, (unsigned)i, true);
    }
    return 0;
}
