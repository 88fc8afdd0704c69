/* read.c - linearizable reads: ReadIndex and leader leases (§6.4, §6.4.1). */
#include "common/alloc.h"
#include "node/raft/impl.h"

static bool committed_in_term(const struct raft *r)
{
    return raft__term_at(r, r->commit) == r->term;
}

static bool lease_valid(const struct raft *r)
{
    return r->now < r->lease_until;
}

/* Queues or answers linearizable reads. RAFT_READ_LEASE answers at once
 * while the lease holds and falls back to ReadIndex otherwise. The reads
 * queued share one heartbeat round, sent after they all arrived. */
int raft__read(struct raft *r, const uint64_t *ids, unsigned n, int mode)
{
    if (mode != RAFT_READ_INDEX && mode != RAFT_READ_LEASE)
        return RAFT_EINVAL;
    if (r->state != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    if (r->opt.bugs & RAFT_BUG_LOCAL_READS) {
        for (unsigned i = 0; i < n; i++)
            raft__read_done(r, ids[i], r->commit, 0);
        return 0;
    }
    if (mode == RAFT_READ_LEASE && lease_valid(r) && committed_in_term(r)) {
        for (unsigned i = 0; i < n; i++)
            raft__read_done(r, ids[i], r->commit, 0);
        return 0;
    }
    if (r->n_reads + n > r->reads_cap) {
        unsigned cap = r->reads_cap ? r->reads_cap : 16;
        while (cap < r->n_reads + n)
            cap *= 2;
        struct raft_pending_read *a = fl_reallocarray(r->reads, cap, sizeof *a);
        if (a == NULL)
            return RAFT_ENOMEM;
        r->reads = a;
        r->reads_cap = cap;
    }
    /* ReadIndex (§6.4): the commit index once the leader has committed in its
     * term, confirmed by a heartbeat round sent after the read arrived. */
    for (unsigned i = 0; i < n; i++) {
        struct raft_pending_read *p = &r->reads[r->n_reads++];
        p->id = ids[i];
        p->index = committed_in_term(r) ? r->commit : 0;
        p->round = r->round + 1;
    }
    if (n > 0)
        raft__broadcast(r, true);
    return 0;
}

void raft__reads_flush(struct raft *r)
{
    if (r->state != RAFT_LEADER || r->n_reads == 0)
        return;
    unsigned k = 0;
    for (unsigned i = 0; i < r->n_reads; i++) {
        struct raft_pending_read *p = &r->reads[i];
        if (p->index == 0 && committed_in_term(r))
            p->index = r->commit;
        if (p->index != 0 && r->quorum_round >= p->round && r->applied >= p->index)
            raft__read_done(r, p->id, p->index, 0);
        else
            r->reads[k++] = *p;
    }
    r->n_reads = k;
}

void raft__reads_fail(struct raft *r, int status)
{
    for (unsigned i = 0; i < r->n_reads; i++)
        raft__read_done(r, r->reads[i].id, 0, status);
    r->n_reads = 0;
}
