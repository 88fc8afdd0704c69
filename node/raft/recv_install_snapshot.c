/* recv_install_snapshot.c - InstallSnapshot in chunks (offset, done) and its result (§5.1, Figure 5.3). */
#include <string.h>

#include "common/alloc.h"
#include "node/raft/impl.h"

static void reply(struct raft *r, const struct raft_message *m, uint64_t next, bool done)
{
    struct raft_message *out = raft__msg(r, RAFT_SNAPSHOT_RESULT, m->from);
    if (out == NULL)
        return;
    out->snapshot_result.index = m->snapshot.index;
    out->snapshot_result.next_offset = next;
    out->snapshot_result.done = done;
    out->snapshot_result.round = m->snapshot.round;
}

static void install(struct raft *r, const struct raft_message *m)
{
    uint64_t idx = m->snapshot.index;
    bool keep = idx >= r->log_start && idx <= raft__last_index(r) &&
                raft__term_at(r, idx) == m->snapshot.term;
    if (keep) {
        /* Figure 5.3 step 6: our log holds the snapshot's last entry, so the
         * entries after it match the leader's and may already have been
         * acknowledged: keep them. The caller replaces its stored log by the
         * snapshot, so they are written again after it. */
        raft__log_release(r, idx);
        r->dirty_from = idx + 1;
    } else {
        /* Step 7: discard the whole log; the snapshot supersedes it. */
        raft__log_reset(r, idx, m->snapshot.term);
    }
    r->snap_index = m->snapshot.index;
    r->snap_term = m->snapshot.term;
    r->snap_conf = m->snapshot.conf;
    r->snap_conf_index = m->snapshot.conf_index;
    raft_buf_unref(r->snap_data);
    r->snap_data = r->rx_snap;
    r->rx_snap = NULL;
    r->commit = r->applied = m->snapshot.index;
    r->persisted_index = 0;
    if (keep)
        raft__conf_restore(r);
    else
        raft__conf_apply(r, &m->snapshot.conf, m->snapshot.conf_index);
    r->install.index = r->snap_index;
    r->install.term = r->snap_term;
    r->install.conf = r->snap_conf;
    r->install.conf_index = r->snap_conf_index;
    r->install.data = r->snap_data;
}

int raft__recv_snapshot(struct raft *r, const struct raft_message *m)
{
    if (m->term < r->term) {
        reply(r, m, 0, false);
        return 0;
    }
    if (m->term > r->term || r->state != RAFT_FOLLOWER)
        raft__become_follower(r, m->term, m->from);
    r->leader = m->from;
    r->heard_leader = true;
    r->last_leader_contact = r->now;
    raft__reset_election_timer(r);
    if (m->snapshot.index <= r->commit) {
        reply(r, m, 0, true);
        return 0;
    }
    uint32_t have = r->rx_snap != NULL ? r->rx_snap->len : 0;
    if (m->snapshot.offset == 0 || r->rx_index != m->snapshot.index ||
        r->rx_term != m->snapshot.term) {
        raft_buf_unref(r->rx_snap);
        r->rx_snap = raft_buf_new(NULL, 0);
        if (r->rx_snap == NULL)
            return RAFT_ENOMEM;
        r->rx_index = m->snapshot.index;
        r->rx_term = m->snapshot.term;
        have = 0;
    }
    if (m->snapshot.offset != have) {
        reply(r, m, have, false);
        return 0;
    }
    uint32_t add = m->snapshot.chunk != NULL ? m->snapshot.chunk->len : 0;
    struct raft_buf *b = fl_realloc(r->rx_snap, sizeof *b + have + add);
    if (b == NULL)
        return RAFT_ENOMEM;
    if (add > 0)
        memcpy(b->data + have, m->snapshot.chunk->data, add);
    b->len = have + add;
    r->rx_snap = b;
    if (!m->snapshot.done) {
        reply(r, m, b->len, false);
        return 0;
    }
    install(r, m);
    reply(r, m, 0, true);
    return 0;
}

int raft__recv_snapshot_result(struct raft *r, const struct raft_message *m)
{
    if (m->term > r->term) {
        raft__become_follower(r, m->term, 0);
        return 0;
    }
    if (r->state != RAFT_LEADER || m->term < r->term)
        return 0;
    int i = raft__conf_find(&r->conf, m->from);
    if (i < 0)
        return 0;
    struct raft_progress *p = &r->prog[i];
    p->last_contact = r->now;
    if (m->snapshot_result.round > p->round) {
        p->round = m->snapshot_result.round;
        raft__round_acked(r);
    }
    if (!p->snapshotting)
        return 0;
    if (m->snapshot_result.done) {
        p->snapshotting = false;
        if (m->snapshot_result.index > p->match)
            p->match = m->snapshot_result.index;
        p->next = p->match + 1;
        p->probing = true;
        raft__maybe_commit(r);
        raft__send_append(r, (unsigned)i, true);
        return 0;
    }
    if (m->snapshot_result.index != r->snap_index) {
        p->snap_offset = 0;
    } else {
        if (m->snapshot_result.next_offset == p->snap_offset &&
            p->sent_at + r->opt.heartbeat_interval > r->now && p->snap_offset != 0)
            return 0;
        p->snap_offset = m->snapshot_result.next_offset;
    }
    raft__send_snapshot(r, (unsigned)i);
    return 0;
}
