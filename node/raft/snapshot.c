/* snapshot.c - snapshots: asking for one at a threshold, releasing the log, sending in chunks (§5.1). */
#include "node/raft/impl.h"

/* Configuration in effect at `index` (at most the latest one). */
static void conf_at(const struct raft *r, uint64_t index, struct raft_configuration *c,
                    uint64_t *ci)
{
    if (r->conf_index <= index) {
        *c = r->conf;
        *ci = r->conf_index;
        return;
    }
    for (uint64_t i = index; i >= r->log_start && i > r->snap_conf_index; i--) {
        const struct raft_entry *e = &r->log[i - r->log_start];
        if (e->type == RAFT_CHANGE && raft_configuration_decode(e->buf, c) == 0) {
            *ci = i;
            return;
        }
    }
    *c = r->snap_conf;
    *ci = r->snap_conf_index;
}

int raft__snapshot_taken(struct raft *r, uint64_t index, struct raft_buf *data)
{
    if (index <= r->snap_index || index > r->applied || data == NULL)
        return RAFT_EINVAL;
    uint64_t term = raft__term_at(r, index);
    if (term == 0)
        return RAFT_EINVAL;
    conf_at(r, index, &r->snap_conf, &r->snap_conf_index);
    r->snap_index = index;
    r->snap_term = term;
    raft_buf_ref(data);
    raft_buf_unref(r->snap_data);
    r->snap_data = data;
    /* Keep a few trailing entries so slightly lagging followers avoid a
     * snapshot transfer. */
    if (index > r->opt.snapshot_trailing)
        raft__log_release(r, index - r->opt.snapshot_trailing);
    return 0;
}

void raft__send_snapshot(struct raft *r, unsigned i)
{
    struct raft_progress *p = &r->prog[i];
    if (r->snap_data == NULL)
        return;
    uint64_t total = r->snap_data->len;
    if (p->snap_offset > total)
        p->snap_offset = 0;
    uint64_t len = total - p->snap_offset;
    if (len > r->opt.snapshot_chunk)
        len = r->opt.snapshot_chunk;
    struct raft_buf *chunk = raft_buf_new(r->snap_data->data + p->snap_offset, (size_t)len);
    if (chunk == NULL)
        return;
    struct raft_message *m = raft__msg(r, RAFT_SNAPSHOT, r->conf.servers[i].id);
    if (m == NULL) {
        raft_buf_unref(chunk);
        return;
    }
    m->snapshot.index = r->snap_index;
    m->snapshot.term = r->snap_term;
    m->snapshot.conf = r->snap_conf;
    m->snapshot.conf_index = r->snap_conf_index;
    m->snapshot.offset = p->snap_offset;
    m->snapshot.round = r->round;
    m->snapshot.chunk = chunk; /* the message owns this reference */
    m->snapshot.done = p->snap_offset + len == total;
    p->sent_at = r->now;
}
