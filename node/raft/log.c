/* log.c - the in-memory log of the Raft core: append, truncate, release, terms. */
#include <string.h>

#include "common/alloc.h"
#include "node/raft/impl.h"

uint64_t raft__last_index(const struct raft *r)
{
    return r->log_start + r->log_n - 1;
}

uint64_t raft__term_at(const struct raft *r, uint64_t index)
{
    if (index >= r->log_start && index < r->log_start + r->log_n)
        return r->log[index - r->log_start].term;
    if (index == r->log_start - 1)
        return r->log_prev_term;
    if (index == r->snap_index)
        return r->snap_term;
    return 0;
}

void raft__mark_dirty(struct raft *r, uint64_t index)
{
    if (r->dirty_from == 0 || index < r->dirty_from)
        r->dirty_from = index;
}

int raft__log_append(struct raft *r, uint64_t term, int type, struct raft_buf *buf)
{
    if (r->log_n == r->log_cap) {
        uint64_t cap = r->log_cap ? r->log_cap * 2 : 64;
        struct raft_entry *e = fl_reallocarray(r->log, cap, sizeof *e);
        if (e == NULL)
            return RAFT_ENOMEM;
        r->log = e;
        r->log_cap = cap;
    }
    struct raft_entry *e = &r->log[r->log_n++];
    e->term = term;
    e->type = type;
    e->buf = buf;
    if (buf != NULL)
        raft_buf_ref(buf);
    raft__mark_dirty(r, raft__last_index(r));
    if (type == RAFT_CHANGE) {
        struct raft_configuration c;
        /* A configuration takes effect as soon as it is appended (§4.1). */
        if (raft_configuration_decode(buf, &c) == 0)
            raft__conf_apply(r, &c, raft__last_index(r));
    }
    return 0;
}

void raft__log_truncate(struct raft *r, uint64_t index)
{
    if (index < r->log_start || index > raft__last_index(r))
        return;
    uint64_t keep = index - r->log_start;
    for (uint64_t i = keep; i < r->log_n; i++)
        if (r->log[i].buf != NULL)
            raft_buf_unref(r->log[i].buf);
    r->log_n = keep;
    raft__mark_dirty(r, index);
    if (r->persisted_index >= index)
        r->persisted_index = index - 1;
    if (r->conf_index >= index)
        raft__conf_restore(r);
}

void raft__log_release(struct raft *r, uint64_t index)
{
    if (index < r->log_start)
        return;
    if (index > raft__last_index(r))
        index = raft__last_index(r);
    uint64_t drop = index - r->log_start + 1;
    r->log_prev_term = raft__term_at(r, index);
    for (uint64_t i = 0; i < drop; i++)
        if (r->log[i].buf != NULL)
            raft_buf_unref(r->log[i].buf);
    memmove(r->log, r->log + drop, (r->log_n - drop) * sizeof *r->log);
    r->log_n -= drop;
    r->log_start = index + 1;
}

void raft__log_reset(struct raft *r, uint64_t index, uint64_t term)
{
    for (uint64_t i = 0; i < r->log_n; i++)
        if (r->log[i].buf != NULL)
            raft_buf_unref(r->log[i].buf);
    r->log_n = 0;
    r->log_start = index + 1;
    r->log_prev_term = term;
    r->dirty_from = 0;
    if (r->persisted_index > index)
        r->persisted_index = 0;
}
