/* raft.c - the Raft core's entry points: init, close, raft_step, and building the update. */
#include <string.h>

#include "common/alloc.h"
#include "node/raft/impl.h"

/* ==== Buffers and messages ==== */

struct raft_buf *raft_buf_new(const void *data, size_t len)
{
    if (len > UINT32_MAX)
        return NULL;
    struct raft_buf *b = fl_malloc(sizeof *b + len);
    if (b == NULL)
        return NULL;
    b->refs = 1;
    b->len = (uint32_t)len;
    if (len > 0 && data != NULL)
        memcpy(b->data, data, len);
    return b;
}

void raft_buf_ref(struct raft_buf *b)
{
    b->refs++;
}

void raft_buf_unref(struct raft_buf *b)
{
    if (b != NULL && --b->refs == 0)
        fl_free(b);
}

int raft_message_copy(struct raft_message *dst, const struct raft_message *src)
{
    *dst = *src;
    if (src->type == RAFT_APPEND && src->append.n > 0) {
        dst->append.entries = fl_reallocarray(NULL, src->append.n, sizeof(struct raft_entry));
        if (dst->append.entries == NULL)
            return RAFT_ENOMEM;
        memcpy(dst->append.entries, src->append.entries, src->append.n * sizeof(struct raft_entry));
        for (unsigned i = 0; i < src->append.n; i++)
            if (dst->append.entries[i].buf != NULL)
                raft_buf_ref(dst->append.entries[i].buf);
    } else if (src->type == RAFT_APPEND) {
        dst->append.entries = NULL;
    }
    if (src->type == RAFT_SNAPSHOT && src->snapshot.chunk != NULL)
        raft_buf_ref(src->snapshot.chunk);
    return 0;
}

void raft_message_release(struct raft_message *m)
{
    if (m->type == RAFT_APPEND && m->append.entries != NULL) {
        for (unsigned i = 0; i < m->append.n; i++)
            raft_buf_unref(m->append.entries[i].buf);
        fl_free(m->append.entries);
        m->append.entries = NULL;
    }
    if (m->type == RAFT_SNAPSHOT && m->snapshot.chunk != NULL) {
        raft_buf_unref(m->snapshot.chunk);
        m->snapshot.chunk = NULL;
    }
}

/* ==== Init and close ==== */

void raft_options_default(struct raft_options *o)
{
    memset(o, 0, sizeof *o);
    o->election_timeout = 150;
    o->heartbeat_interval = 30;
    o->drift_bound = 0.1;
    o->max_batch = 64;
    o->max_inflight = 1024;
    o->snapshot_threshold = 0;
    o->snapshot_trailing = 16;
    o->snapshot_chunk = 64;
    o->pre_vote = true;
    o->check_quorum = true;
}

int raft_init(struct raft *r, uint64_t id, const struct raft_options *o, uint64_t seed)
{
    if (id == 0)
        return RAFT_EINVAL;
    memset(r, 0, sizeof *r);
    r->id = id;
    if (o != NULL)
        r->opt = *o;
    else
        raft_options_default(&r->opt);
    if (r->opt.election_timeout == 0 || r->opt.heartbeat_interval == 0 || r->opt.max_batch == 0)
        return RAFT_EINVAL;
    if (r->opt.snapshot_chunk == 0)
        r->opt.snapshot_chunk = 64;
    fl_rng_seed(&r->rng, seed ^ fl_mix64(id));
    r->state = RAFT_FOLLOWER;
    r->log_start = 1;
    return 0;
}

static void release_output(struct raft *r)
{
    for (unsigned i = 0; i < r->n_msgs; i++)
        raft_message_release(&r->msgs[i]);
    r->n_msgs = 0;
    r->n_ready = 0;
}

void raft_close(struct raft *r)
{
    release_output(r);
    raft__log_reset(r, 0, 0);
    fl_free(r->log);
    fl_free(r->msgs);
    fl_free(r->ready);
    fl_free(r->reads);
    raft_buf_unref(r->snap_data);
    raft_buf_unref(r->rx_snap);
    memset(r, 0, sizeof *r);
}

/* ==== Output helpers ==== */

/* Returns a zeroed message slot addressed to `to`, or NULL when out of memory
 * (the message is then lost, which Raft tolerates like a network drop). */
struct raft_message *raft__msg(struct raft *r, int type, uint64_t to)
{
    if (r->n_msgs == r->msgs_cap) {
        unsigned cap = r->msgs_cap ? r->msgs_cap * 2 : 16;
        struct raft_message *m = fl_reallocarray(r->msgs, cap, sizeof *m);
        if (m == NULL)
            return NULL;
        r->msgs = m;
        r->msgs_cap = cap;
    }
    struct raft_message *m = &r->msgs[r->n_msgs++];
    memset(m, 0, sizeof *m);
    m->type = type;
    m->from = r->id;
    m->to = to;
    m->term = r->term;
    return m;
}

/* Copies n entries starting at `from` into the message (taking references). */
int raft__msg_entries(struct raft *r, struct raft_message *m, uint64_t from, unsigned n)
{
    m->append.n = 0;
    m->append.entries = NULL;
    if (n == 0)
        return 0;
    struct raft_entry *e = fl_reallocarray(NULL, n, sizeof *e);
    if (e == NULL)
        return RAFT_ENOMEM;
    memcpy(e, &r->log[from - r->log_start], n * sizeof *e);
    for (unsigned i = 0; i < n; i++)
        if (e[i].buf != NULL)
            raft_buf_ref(e[i].buf);
    m->append.entries = e;
    m->append.n = n;
    return 0;
}

void raft__read_done(struct raft *r, uint64_t id, uint64_t index, int status)
{
    if (r->n_ready == r->ready_cap) {
        unsigned cap = r->ready_cap ? r->ready_cap * 2 : 16;
        struct raft_read *a = fl_reallocarray(r->ready, cap, sizeof *a);
        if (a == NULL)
            return; /* the read is lost; the client times out */
        r->ready = a;
        r->ready_cap = cap;
    }
    r->ready[r->n_ready++] = (struct raft_read){.id = id, .index = index, .status = status};
}

void raft__reset_election_timer(struct raft *r)
{
    uint64_t et = r->opt.election_timeout;
    /* Randomized timeouts in [et, 2et) make split votes rare (§3.4). */
    r->election_deadline = r->now + et + fl_rng_below(&r->rng, et);
}

/* ==== Start ==== */

static int start(struct raft *r, const struct raft_event *ev)
{
    r->term = ev->start.term;
    r->vote = r->hs_vote = ev->start.vote;
    raft__log_reset(r, ev->start.snap_index, ev->start.snap_term);
    r->snap_index = ev->start.snap_index;
    r->snap_term = ev->start.snap_term;
    r->snap_conf = ev->start.snap_conf;
    r->snap_conf_index = ev->start.snap_conf_index;
    r->commit = r->applied = ev->start.snap_index;
    raft_buf_unref(r->snap_data);
    r->snap_data = ev->start.snap_data;
    if (r->snap_data != NULL)
        raft_buf_ref(r->snap_data);
    if (ev->start.snap_index > 0) {
        r->conf = ev->start.snap_conf;
        r->conf_index = ev->start.snap_conf_index;
    } else if (ev->start.bootstrap != NULL) {
        r->conf = *ev->start.bootstrap;
        r->conf_index = 0;
    }
    r->snap_conf = r->conf;
    r->snap_conf_index = r->conf_index;
    for (unsigned i = 0; i < ev->start.n; i++) {
        const struct raft_entry *e = &ev->start.entries[i];
        int rv = raft__log_append(r, e->term, e->type, e->buf);
        if (rv != 0)
            return rv;
    }
    /* A term below the last logged one means the hard state write was lost
     * while later data survived: nothing was sent for that term, so adopt it
     * with no vote. */
    uint64_t last_term = raft__term_at(r, raft__last_index(r));
    if (r->term < last_term) {
        r->term = last_term;
        r->vote = r->hs_vote = 0;
        r->hs_dirty = true;
    }
    /* What was given to us is on disk already. */
    r->dirty_from = 0;
    r->persisted_index = raft__last_index(r);
    r->state = RAFT_FOLLOWER;
    r->leader = 0;
    raft__reset_election_timer(r);
    return 0;
}

/* ==== Step ==== */

static int receive(struct raft *r, const struct raft_message *m)
{
    if (m->to != r->id || raft_message_check(r, m) != NULL)
        return RAFT_EINVAL;
    switch (m->type) {
    case RAFT_APPEND:
        return raft__recv_append(r, m);
    case RAFT_APPEND_RESULT:
        return raft__recv_append_result(r, m);
    case RAFT_VOTE:
        return raft__recv_vote(r, m);
    case RAFT_VOTE_RESULT:
        return raft__recv_vote_result(r, m);
    case RAFT_SNAPSHOT:
        return raft__recv_snapshot(r, m);
    case RAFT_SNAPSHOT_RESULT:
        return raft__recv_snapshot_result(r, m);
    case RAFT_TIMEOUT_NOW:
        return raft__recv_timeout_now(r, m);
    default:
        return RAFT_EINVAL;
    }
}

static int submit(struct raft *r, const struct raft_event *ev)
{
    if (r->state != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    if (r->transfer_to != 0)
        return RAFT_EBUSY;
    r->up.submit_index = raft__last_index(r) + 1;
    for (unsigned i = 0; i < ev->submit.n; i++) {
        int rv = raft__log_append(r, r->term, RAFT_COMMAND, ev->submit.bufs[i]);
        if (rv != 0)
            return rv;
    }
    /* Pipelining: ship the new entries now instead of at the next heartbeat. */
    for (unsigned i = 0; i < r->conf.n; i++)
        if (r->conf.servers[i].id != r->id)
            raft__send_append(r, i, false);
    return 0;
}

static void persisted(struct raft *r, uint64_t index, uint64_t term)
{
    /* Entries the caller wrote may have been truncated since; only an index
     * whose term still matches counts (Log Matching). */
    if (index <= raft__last_index(r) && raft__term_at(r, index) == term &&
        index > r->persisted_index)
        r->persisted_index = index;
    if (r->state == RAFT_LEADER)
        raft__maybe_commit(r);
}

static void finish(struct raft *r, struct raft_update *up)
{
    if (r->hs_dirty) {
        up->hard_state = true;
        up->term = r->term;
        up->vote = r->hs_vote;
        r->hs_dirty = false;
    }
    if (r->install.index != 0) {
        up->snapshot = &r->install;
    }
    if (r->dirty_from != 0) {
        up->entries_index = r->dirty_from;
        if (r->dirty_from <= raft__last_index(r)) {
            up->entries = &r->log[r->dirty_from - r->log_start];
            up->n_entries = (unsigned)(raft__last_index(r) - r->dirty_from + 1);
        }
        r->dirty_from = 0;
    }
    up->apply_first = r->applied + 1;
    up->apply_last = r->commit;
    if (r->commit > r->applied)
        r->applied = r->commit;
    raft__reads_flush(r);
    if (r->opt.snapshot_threshold > 0 && r->applied >= r->snap_index + r->opt.snapshot_threshold &&
        r->snapshot_asked <= r->snap_index) {
        r->snapshot_asked = r->applied;
        up->snapshot_take = r->applied;
    }
    up->messages = r->msgs;
    up->n_messages = r->n_msgs;
    up->reads = r->ready;
    up->n_reads = r->n_ready;
}

int raft_step(struct raft *r, const struct raft_event *ev, struct raft_update *up)
{
    int rv = 0;
    uint64_t term = r->term, leader = r->leader;
    int state = r->state;

    release_output(r);
    memset(&r->up, 0, sizeof r->up);
    memset(&r->install, 0, sizeof r->install);
    if (ev->time > r->now)
        r->now = ev->time;

    switch (ev->type) {
    case RAFT_START:
        rv = start(r, ev);
        break;
    case RAFT_RECEIVE:
        rv = receive(r, ev->receive.msg);
        break;
    case RAFT_TICK:
        raft__tick(r);
        break;
    case RAFT_PERSISTED:
        persisted(r, ev->persisted.index, ev->persisted.term);
        break;
    case RAFT_SNAPSHOT_TAKEN:
        rv = raft__snapshot_taken(r, ev->snapshot_taken.index, ev->snapshot_taken.data);
        break;
    case RAFT_SUBMIT:
        rv = submit(r, ev);
        break;
    case RAFT_READ:
        rv = ev->read.n > 0 ? raft__read(r, ev->read.ids, ev->read.n, ev->read.mode)
                            : raft__read(r, &ev->read.id, 1, ev->read.mode);
        break;
    case RAFT_CHANGE_CONF:
        rv = raft__change(r, ev->change.id, ev->change.role);
        break;
    case RAFT_TRANSFER:
        rv = raft__transfer(r, ev->transfer.id);
        break;
    case RAFT_PEER_DOWN:
        raft__peer_down(r, ev->peer_down.id);
        break;
    default:
        rv = RAFT_EINVAL;
    }
    raft__gossip(r);
    *up = r->up;
    finish(r, up);
    up->state_changed = term != r->term || leader != r->leader || state != r->state;
    return rv;
}

/* ==== Accessors ==== */

uint64_t raft_last_index(const struct raft *r)
{
    return raft__last_index(r);
}

uint64_t raft_last_term(const struct raft *r)
{
    return raft__term_at(r, raft__last_index(r));
}

uint64_t raft_term_at(const struct raft *r, uint64_t index)
{
    return raft__term_at(r, index);
}

const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t index)
{
    if (index < r->log_start || index > raft__last_index(r))
        return NULL;
    return &r->log[index - r->log_start];
}

uint64_t raft_commit_index(const struct raft *r)
{
    return r->commit;
}

uint64_t raft_applied_index(const struct raft *r)
{
    return r->applied;
}

const struct raft_configuration *raft_configuration(const struct raft *r)
{
    return &r->conf;
}
