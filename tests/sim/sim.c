/* sim.c - the deterministic simulated cluster: network, disks, clocks, clients, invariants, register oracle. */
#include "sim.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

/* ==== Types ==== */

enum { EV_DELIVER = 1, EV_DISK, EV_TICK, EV_CLIENT, EV_FAULT, EV_RESTART };

struct event {
    uint64_t time, seq;
    int kind;
    unsigned node;
    uint64_t epoch;
    struct raft_message *msg;
};

struct job {
    uint64_t done_at;
    bool hs;
    uint64_t term, vote;
    bool has_entries;
    uint64_t entries_index;
    unsigned n_entries;
    struct raft_entry *entries;
    bool has_snap;
    struct raft_snapshot_install snap;
    unsigned n_msgs;
    struct raft_message *msgs;
    uint64_t p_index, p_term;
};

struct node {
    uint64_t id;
    bool up;
    uint64_t epoch;
    struct raft r;
    double rate;
    uint64_t offset;
    uint64_t disk_delay_max;
    struct raft_configuration boot; /* stands for a bootstrap entry on disk */
    /* Disk. */
    uint64_t d_term, d_vote;
    struct raft_entry *d_log; /* d_log[i-1] is index i */
    uint64_t d_n, d_cap;
    struct raft_snapshot_install d_snap;
    /* Disk queue (FIFO) and the group-commit batch still open: its fsync
     * starts at b_start and ends at b_done. */
    uint64_t b_start, b_done;
    struct job *jobs;
    unsigned j_head, j_n, j_cap;
    /* State machine: a register holding the last written value. */
    uint64_t sm_value, sm_applied;
    /* Mirror of the in-memory log for invariants: term and prefix hash. */
    uint64_t *m_term, *m_hash, m_last, m_cap;
    /* Leader tracking. */
    bool was_leader;
    uint64_t lead_term, lead_last;
};

struct write {
    unsigned node;
    bool acked;
};

struct pread {
    uint64_t id, node, inv, lo;
    bool done;
};

struct kv {
    uint64_t key, hash;
};

struct sim {
    struct sim_config c;
    struct fl_rng rng;
    uint64_t now, seq;
    unsigned n;
    struct node nodes[SIM_MAX_NODES];
    struct sim_link links[SIM_MAX_NODES][SIM_MAX_NODES];
    /* Event heap. */
    struct event *heap;
    size_t h_n, h_cap;
    /* Invariant state. */
    uint64_t *leader_of_term;
    uint64_t lt_cap;
    uint64_t *c_hash, *c_term, *c_value, c_cap, commit_max;
    struct kv *lm;
    size_t lm_cap, lm_n;
    char err[512];
    bool failed;
    /* Clients. */
    struct write *writes;
    uint64_t n_writes, w_cap, acked_max;
    struct pread *preads;
    size_t n_preads, pr_cap;
    struct sim_read *reads;
    size_t n_reads, r_cap;
    uint64_t next_read_id;
    sim_filter_cb filter;
    void *filter_data;
    struct sim_stats st;
    bool faults_on;
};

/* ==== Helpers ==== */

static void *grow(void *p, uint64_t *cap, uint64_t need, size_t size)
{
    if (need <= *cap)
        return p;
    uint64_t c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = fl_reallocarray(p, c, size);
    if (q == NULL) {
        fprintf(stderr, "sim: out of memory\n");
        abort();
    }
    memset((char *)q + *cap * size, 0, (c - *cap) * size);
    *cap = c;
    return q;
}

static void fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct sim *s, const char *fmt, ...)
{
    if (s->failed)
        return;
    s->failed = true;
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(s->err, sizeof s->err, "seed %llu t=%llu: ", (unsigned long long)s->c.seed,
                     (unsigned long long)s->now);
    vsnprintf(s->err + k, sizeof s->err - (size_t)k, fmt, ap);
    va_end(ap);
}

static struct node *node_of(struct sim *s, uint64_t id)
{
    if (id == 0 || id > s->n)
        return NULL;
    return &s->nodes[id - 1];
}

static uint64_t local_time(const struct sim *s, const struct node *nd)
{
    return nd->offset + (uint64_t)((double)s->now * nd->rate);
}

static uint64_t entry_hash(const struct raft_entry *e)
{
    uint64_t h = fl_mix64(e->term * 31 + (uint64_t)e->type);
    if (e->buf != NULL)
        for (uint32_t i = 0; i < e->buf->len; i++)
            h = fl_mix64(h ^ e->buf->data[i]);
    return h;
}

static uint64_t entry_value(const struct raft_entry *e)
{
    uint64_t v = 0;
    if (e->type == RAFT_COMMAND && e->buf != NULL && e->buf->len == sizeof v)
        memcpy(&v, e->buf->data, sizeof v);
    return v;
}

/* ==== Event heap ==== */

static bool ev_less(const struct event *a, const struct event *b)
{
    return a->time < b->time || (a->time == b->time && a->seq < b->seq);
}

static void push(struct sim *s, struct event ev)
{
    ev.seq = s->seq++;
    s->heap = grow(s->heap, (uint64_t *)&s->h_cap, s->h_n + 1, sizeof *s->heap);
    size_t i = s->h_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!ev_less(&ev, &s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = ev;
}

static struct event pop(struct sim *s)
{
    struct event top = s->heap[0], last = s->heap[--s->h_n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct event *best = &last;
        if (l < s->h_n && ev_less(&s->heap[l], best)) {
            m = l;
            best = &s->heap[l];
        }
        if (r < s->h_n && ev_less(&s->heap[r], best))
            m = r;
        if (m == i)
            break;
        s->heap[i] = s->heap[m];
        i = m;
    }
    if (s->h_n > 0)
        s->heap[i] = last;
    return top;
}

/* ==== Invariants ==== */

/* Log Matching via prefix hashes: (index, term) names one prefix forever. */
static void lm_check(struct sim *s, uint64_t index, uint64_t term, uint64_t hash)
{
    if (s->lm_n * 2 >= s->lm_cap) {
        size_t cap = s->lm_cap ? s->lm_cap * 2 : 1024;
        struct kv *t = fl_calloc(cap, sizeof *t);
        if (t == NULL)
            abort();
        for (size_t i = 0; i < s->lm_cap; i++) {
            if (s->lm[i].key == 0)
                continue;
            size_t j = fl_mix64(s->lm[i].key) & (cap - 1);
            while (t[j].key != 0)
                j = (j + 1) & (cap - 1);
            t[j] = s->lm[i];
        }
        fl_free(s->lm);
        s->lm = t;
        s->lm_cap = cap;
    }
    uint64_t key = index * 1000003u + term + 1;
    key = key ^ (term << 40);
    size_t j = fl_mix64(key) & (s->lm_cap - 1);
    while (s->lm[j].key != 0) {
        if (s->lm[j].key == key) {
            if (s->lm[j].hash != hash)
                fail(s, "log matching: two logs hold index %llu term %llu with different prefixes",
                     (unsigned long long)index, (unsigned long long)term);
            return;
        }
        j = (j + 1) & (s->lm_cap - 1);
    }
    s->lm[j].key = key;
    s->lm[j].hash = hash;
    s->lm_n++;
}

static void mirror_fit(struct node *nd, uint64_t last)
{
    uint64_t cap = nd->m_cap;
    nd->m_term = grow(nd->m_term, &cap, last + 1, sizeof *nd->m_term);
    cap = nd->m_cap;
    nd->m_hash = grow(nd->m_hash, &cap, last + 1, sizeof *nd->m_hash);
    nd->m_cap = cap;
}

/* Makes indexes 1..index of the mirror the committed prefix (after a snapshot). */
static void mirror_from_committed(struct sim *s, struct node *nd, uint64_t index)
{
    mirror_fit(nd, index);
    if (index > s->commit_max) {
        fail(s, "node %llu holds a snapshot at %llu beyond the commit index %llu",
             (unsigned long long)nd->id, (unsigned long long)index,
             (unsigned long long)s->commit_max);
        return;
    }
    for (uint64_t i = 1; i <= index; i++) {
        nd->m_term[i] = s->c_term[i];
        nd->m_hash[i] = s->c_hash[i];
    }
    nd->m_last = index;
}

static void mirror_append(struct sim *s, struct node *nd, uint64_t from, unsigned n,
                          const struct raft_entry *e)
{
    if (from == 0 || from - 1 > nd->m_last) {
        fail(s, "node %llu wrote entries from %llu past its log end %llu",
             (unsigned long long)nd->id, (unsigned long long)from,
             (unsigned long long)nd->m_last);
        return;
    }
    mirror_fit(nd, from + n);
    for (unsigned k = 0; k < n; k++) {
        uint64_t i = from + k;
        nd->m_term[i] = e[k].term;
        nd->m_hash[i] = fl_mix64(nd->m_hash[i - 1] ^ entry_hash(&e[k]));
        lm_check(s, i, e[k].term, nd->m_hash[i]);
    }
    nd->m_last = from + n - 1;
}

static void record_commit(struct sim *s, struct node *nd, uint64_t from, uint64_t to)
{
    if (to > nd->m_last) {
        fail(s, "node %llu commits %llu beyond its log %llu", (unsigned long long)nd->id,
             (unsigned long long)to, (unsigned long long)nd->m_last);
        return;
    }
    s->c_hash = grow(s->c_hash, &(uint64_t){s->c_cap}, to + 1, sizeof *s->c_hash);
    s->c_term = grow(s->c_term, &(uint64_t){s->c_cap}, to + 1, sizeof *s->c_term);
    s->c_value = grow(s->c_value, &s->c_cap, to + 1, sizeof *s->c_value);
    for (uint64_t i = from; i <= to; i++) {
        if (i <= s->commit_max) {
            /* State Machine Safety: one entry per committed index. */
            if (s->c_hash[i] != nd->m_hash[i])
                fail(s,
                     "state machine safety: node %llu committed a different entry at %llu "
                     "(term %llu, first committed term %llu)",
                     (unsigned long long)nd->id, (unsigned long long)i,
                     (unsigned long long)nd->m_term[i], (unsigned long long)s->c_term[i]);
            continue;
        }
        const struct raft_entry *e = raft_entry_at(&nd->r, i);
        s->c_hash[i] = nd->m_hash[i];
        s->c_term[i] = nd->m_term[i];
        s->c_value[i] = e != NULL ? entry_value(e) : 0;
        s->commit_max = i;
        s->st.committed++;
    }
    /* Leader Completeness: leaders of later terms hold what was committed. */
    for (unsigned k = 0; k < s->n; k++) {
        struct node *o = &s->nodes[k];
        if (!o->up || o->r.state != RAFT_LEADER || o->r.term <= nd->r.term)
            continue;
        for (uint64_t i = from; i <= to; i++)
            if (i > o->m_last || o->m_hash[i] != s->c_hash[i])
                fail(s, "leader completeness: leader %llu (term %llu) lacks committed %llu",
                     (unsigned long long)o->id, (unsigned long long)o->r.term,
                     (unsigned long long)i);
    }
}

static void check_new_leader(struct sim *s, struct node *nd)
{
    uint64_t t = nd->r.term;
    s->leader_of_term = grow(s->leader_of_term, &s->lt_cap, t + 1, sizeof *s->leader_of_term);
    if (s->leader_of_term[t] != 0 && s->leader_of_term[t] != nd->id)
        fail(s, "election safety: nodes %llu and %llu both lead term %llu",
             (unsigned long long)s->leader_of_term[t], (unsigned long long)nd->id,
             (unsigned long long)t);
    if (s->leader_of_term[t] == 0)
        s->st.leaders++;
    s->leader_of_term[t] = nd->id;
    for (uint64_t i = 1; i <= s->commit_max; i++)
        if (i > nd->m_last || nd->m_hash[i] != s->c_hash[i]) {
            fail(s, "leader completeness: new leader %llu (term %llu) lacks committed %llu",
                 (unsigned long long)nd->id, (unsigned long long)t, (unsigned long long)i);
            break;
        }
}

/* ==== Network ==== */

static void send_msg(struct sim *s, struct node *from, const struct raft_message *m)
{
    struct node *to = node_of(s, m->to);
    if (to == NULL)
        return;
    struct sim_link *l = &s->links[from->id - 1][m->to - 1];
    s->st.messages++;
    int copies = 1;
    if (l->dup > 0 && fl_rng_chance(&s->rng, l->dup))
        copies = 2;
    for (int c = 0; c < copies; c++) {
        if (l->cut || (l->drop > 0 && fl_rng_chance(&s->rng, l->drop)))
            continue;
        struct raft_message *copy = fl_malloc(sizeof *copy);
        if (copy == NULL || raft_message_copy(copy, m) != 0)
            abort();
        uint64_t lat = (uint64_t)fl_rng_range(&s->rng, l->lat_min, l->lat_max);
        push(s, (struct event){.time = s->now + lat, .kind = EV_DELIVER, .node = (unsigned)m->to - 1,
                               .msg = copy});
    }
}

/* ==== Disks ==== */

static void job_release(struct job *j)
{
    for (unsigned i = 0; i < j->n_entries; i++)
        raft_buf_unref(j->entries[i].buf);
    fl_free(j->entries);
    for (unsigned i = 0; i < j->n_msgs; i++)
        raft_message_release(&j->msgs[i]);
    fl_free(j->msgs);
    if (j->has_snap)
        raft_buf_unref(j->snap.data);
    memset(j, 0, sizeof *j);
}

static void disk_truncate(struct node *nd, uint64_t index)
{
    /* Drops stored entries index.. */
    while (nd->d_n >= index && nd->d_n > 0) {
        raft_buf_unref(nd->d_log[nd->d_n - 1].buf);
        nd->d_log[nd->d_n - 1].buf = NULL;
        nd->d_n--;
    }
}

static void handle_update(struct sim *s, struct node *nd, struct raft_update *up, int depth);

static void step(struct sim *s, struct node *nd, struct raft_event *ev)
{
    struct raft_update up;
    ev->time = local_time(s, nd);
    s->st.steps++;
    int rv = raft_step(&nd->r, ev, &up);
    (void)rv;
    handle_update(s, nd, &up, 0);
}

static void disk_complete(struct sim *s, struct node *nd)
{
    struct job *j = &nd->jobs[nd->j_head];
    if (j->hs) {
        nd->d_term = j->term;
        nd->d_vote = j->vote;
    }
    if (j->has_snap) {
        raft_buf_unref(nd->d_snap.data);
        nd->d_snap = j->snap;
        j->has_snap = false;
        disk_truncate(nd, 1);
    }
    if (j->has_entries) {
        uint64_t idx = j->entries_index;
        if (idx > 0)
            disk_truncate(nd, idx);
        /* Fill a gap below the snapshot with empty slots (never read back). */
        uint64_t need = idx + j->n_entries;
        nd->d_log = grow(nd->d_log, &nd->d_cap, need, sizeof *nd->d_log);
        while (nd->d_n + 1 < idx)
            nd->d_log[nd->d_n++] = (struct raft_entry){0};
        for (unsigned i = 0; i < j->n_entries; i++) {
            nd->d_log[nd->d_n++] = j->entries[i];
            j->entries[i].buf = NULL;
        }
    }
    struct job done = *j;
    nd->j_head = (nd->j_head + 1) % nd->j_cap;
    nd->j_n--;
    for (unsigned i = 0; i < done.n_msgs; i++)
        send_msg(s, nd, &done.msgs[i]);
    uint64_t epoch = nd->epoch;
    if (done.p_index != 0) {
        struct raft_event ev = {.type = RAFT_PERSISTED};
        ev.persisted.index = done.p_index;
        ev.persisted.term = done.p_term;
        step(s, nd, &ev);
    }
    (void)epoch;
    job_release(&done);
}

static void enqueue_job(struct sim *s, struct node *nd, struct job *j)
{
    bool persists = j->hs || j->has_entries || j->has_snap;
    if (!persists && nd->j_n == 0) {
        for (unsigned i = 0; i < j->n_msgs; i++)
            send_msg(s, nd, &j->msgs[i]);
        job_release(j);
        return;
    }
    uint64_t at = s->now;
    if (nd->j_n > 0) {
        uint64_t tail = nd->jobs[(nd->j_head + nd->j_n - 1) % nd->j_cap].done_at;
        if (tail > at)
            at = tail;
    }
    if (persists) {
        /* Group commit: writes that arrive while an fsync runs share the next
         * one, so a slow disk delays them by at most two fsyncs instead of
         * building an ever longer queue (as a real log does, node/io). */
        if (nd->b_start <= s->now) {
            nd->b_start = nd->b_done > s->now ? nd->b_done : s->now;
            nd->b_done = nd->b_start + (nd->disk_delay_max > 0
                                            ? fl_rng_below(&s->rng, nd->disk_delay_max + 1)
                                            : 0);
        }
        if (nd->b_done > at)
            at = nd->b_done;
    }
    j->done_at = at;
    if (nd->j_n == nd->j_cap) {
        unsigned cap = nd->j_cap ? nd->j_cap * 2 : 8;
        struct job *q = fl_calloc(cap, sizeof *q);
        if (q == NULL)
            abort();
        for (unsigned i = 0; i < nd->j_n; i++)
            q[i] = nd->jobs[(nd->j_head + i) % nd->j_cap];
        fl_free(nd->jobs);
        nd->jobs = q;
        nd->j_head = 0;
        nd->j_cap = cap;
    }
    nd->jobs[(nd->j_head + nd->j_n) % nd->j_cap] = *j;
    nd->j_n++;
    push(s, (struct event){.time = at, .kind = EV_DISK, .node = (unsigned)nd->id - 1,
                           .epoch = nd->epoch});
}

/* ==== State machine and clients ==== */

static struct raft_buf *sm_snapshot(const struct node *nd)
{
    /* 64 bytes so that installs take several chunks. */
    uint64_t words[8];
    for (int i = 0; i < 8; i++)
        words[i] = fl_mix64(nd->sm_value + (uint64_t)i);
    words[0] = nd->sm_value;
    words[1] = nd->sm_applied;
    return raft_buf_new(words, sizeof words);
}

static void sm_restore(struct node *nd, const struct raft_buf *b, uint64_t index)
{
    nd->sm_value = 0;
    nd->sm_applied = index;
    if (b != NULL && b->len >= 16) {
        memcpy(&nd->sm_value, b->data, 8);
        uint64_t applied;
        memcpy(&applied, b->data + 8, 8);
        nd->sm_applied = applied;
    }
}

static void apply(struct sim *s, struct node *nd, uint64_t first, uint64_t last)
{
    for (uint64_t i = first; i <= last; i++) {
        const struct raft_entry *e = raft_entry_at(&nd->r, i);
        if (e == NULL) {
            fail(s, "node %llu asked to apply %llu which is not in memory",
                 (unsigned long long)nd->id, (unsigned long long)i);
            return;
        }
        if (i != nd->sm_applied + 1) {
            fail(s, "node %llu applies %llu after %llu", (unsigned long long)nd->id,
                 (unsigned long long)i, (unsigned long long)nd->sm_applied);
            return;
        }
        if (i > s->commit_max || s->c_hash[i] != nd->m_hash[i]) {
            fail(s, "state machine safety: node %llu applies an uncommitted or different %llu",
                 (unsigned long long)nd->id, (unsigned long long)i);
            return;
        }
        nd->sm_applied = i;
        uint64_t v = entry_value(e);
        if (v == 0)
            continue;
        nd->sm_value = v;
        if (v < s->n_writes && s->writes[v].node == nd->id - 1 && !s->writes[v].acked &&
            nd->r.state == RAFT_LEADER) {
            s->writes[v].acked = true;
            s->st.writes_acked++;
            if (i > s->acked_max)
                s->acked_max = i;
        }
    }
}

static void serve_reads(struct sim *s, struct node *nd, const struct raft_update *up)
{
    for (unsigned k = 0; k < up->n_reads; k++) {
        const struct raft_read *rd = &up->reads[k];
        struct pread *p = NULL;
        for (size_t i = 0; i < s->n_preads; i++)
            if (s->preads[i].id == rd->id && !s->preads[i].done) {
                p = &s->preads[i];
                break;
            }
        if (p == NULL || p->node != nd->id)
            continue;
        p->done = true;
        if (rd->status != 0)
            continue;
        if (nd->sm_applied < rd->index) {
            fail(s, "node %llu serves a read at %llu with only %llu applied",
                 (unsigned long long)nd->id, (unsigned long long)rd->index,
                 (unsigned long long)nd->sm_applied);
            return;
        }
        uint64_t cap = s->r_cap;
        s->reads = grow(s->reads, &cap, s->n_reads + 1, sizeof *s->reads);
        s->r_cap = cap;
        s->reads[s->n_reads++] = (struct sim_read){.value = nd->sm_value, .lo = p->lo,
                                                   .hi = s->commit_max, .node = nd->id,
                                                   .inv = p->inv, .ret = s->now};
        s->st.reads_ok++;
    }
    /* Compact the pending list now and then. */
    if (s->n_preads > 256) {
        size_t k = 0;
        for (size_t i = 0; i < s->n_preads; i++)
            if (!s->preads[i].done)
                s->preads[k++] = s->preads[i];
        s->n_preads = k;
    }
}

/* ==== Updates ==== */

static void handle_update(struct sim *s, struct node *nd, struct raft_update *up, int depth)
{
    struct raft *r = &nd->r;
    uint64_t old_commit = nd->sm_applied > 0 ? 0 : 0;
    (void)old_commit;

    /* Leader Append-Only: a leader never rewrites its own log within its term. */
    if (nd->was_leader && r->state == RAFT_LEADER && r->term == nd->lead_term &&
        up->entries_index != 0 && up->entries_index <= nd->lead_last)
        fail(s, "leader append-only: leader %llu rewrote from %llu (last %llu)",
             (unsigned long long)nd->id, (unsigned long long)up->entries_index,
             (unsigned long long)nd->lead_last);

    if (up->state_changed && s->c.verbose)
        fprintf(stderr, "t=%llu node %llu: state=%d term=%llu leader=%llu last=%llu commit=%llu\n",
                (unsigned long long)s->now, (unsigned long long)nd->id, r->state,
                (unsigned long long)r->term, (unsigned long long)r->leader,
                (unsigned long long)raft_last_index(r), (unsigned long long)r->commit);

    struct job j = {0};
    if (up->snapshot != NULL) {
        s->st.installs++;
        mirror_from_committed(s, nd, up->snapshot->index);
        j.has_snap = true;
        j.snap = *up->snapshot;
        raft_buf_ref(j.snap.data);
        j.p_index = up->snapshot->index;
        j.p_term = up->snapshot->term;
        sm_restore(nd, up->snapshot->data, up->snapshot->index);
    }
    if (up->entries_index != 0) {
        mirror_append(s, nd, up->entries_index, up->n_entries, up->entries);
        if (up->n_entries == 0)
            nd->m_last = up->entries_index - 1;
        j.has_entries = true;
        j.entries_index = up->entries_index;
        j.n_entries = up->n_entries;
        if (up->n_entries > 0) {
            j.entries = fl_reallocarray(NULL, up->n_entries, sizeof *j.entries);
            if (j.entries == NULL)
                abort();
            memcpy(j.entries, up->entries, up->n_entries * sizeof *j.entries);
            for (unsigned i = 0; i < up->n_entries; i++)
                if (j.entries[i].buf != NULL)
                    raft_buf_ref(j.entries[i].buf);
            j.p_index = up->entries_index + up->n_entries - 1;
            j.p_term = up->entries[up->n_entries - 1].term;
        }
    }
    if (up->hard_state) {
        j.hs = true;
        j.term = up->term;
        j.vote = up->vote;
    }
    if (up->n_messages > 0) {
        j.msgs = fl_reallocarray(NULL, up->n_messages, sizeof *j.msgs);
        if (j.msgs == NULL)
            abort();
        for (unsigned i = 0; i < up->n_messages; i++)
            if (raft_message_copy(&j.msgs[i], &up->messages[i]) != 0)
                abort();
        j.n_msgs = up->n_messages;
    }

    /* Invariants on roles and commits. */
    if (r->state == RAFT_LEADER && (!nd->was_leader || nd->lead_term != r->term)) {
        s->st.elections++;
        check_new_leader(s, nd);
    }
    if (up->apply_first <= up->apply_last)
        record_commit(s, nd, up->apply_first, up->apply_last);
    nd->was_leader = r->state == RAFT_LEADER;
    nd->lead_term = r->term;
    nd->lead_last = raft_last_index(r);

    if (up->apply_first <= up->apply_last)
        apply(s, nd, up->apply_first, up->apply_last);
    serve_reads(s, nd, up);
    uint64_t take = up->snapshot_take;
    enqueue_job(s, nd, &j);
    if (take != 0 && depth < 4) {
        struct raft_buf *b = sm_snapshot(nd);
        if (b == NULL)
            abort();
        /* The sim writes snapshots synchronously. */
        raft_buf_unref(nd->d_snap.data);
        nd->d_snap.index = take;
        nd->d_snap.term = raft_term_at(r, take);
        nd->d_snap.data = b;
        struct raft_event ev = {.type = RAFT_SNAPSHOT_TAKEN};
        ev.snapshot_taken.index = take;
        ev.snapshot_taken.data = b;
        ev.time = local_time(s, nd);
        struct raft_update up2;
        raft_step(r, &ev, &up2);
        nd->d_snap.conf = r->snap_conf;
        nd->d_snap.conf_index = r->snap_conf_index;
        s->st.snapshots++;
        handle_update(s, nd, &up2, depth + 1);
    }
}

/* ==== Node lifecycle ==== */

static void node_start(struct sim *s, struct node *nd)
{
    struct raft_options o = s->c.opt;
    nd->epoch++;
    if (raft_init(&nd->r, nd->id, &o, s->c.seed * 7919 + nd->epoch) != 0)
        abort();
    nd->up = true;
    nd->was_leader = false;
    struct raft_event ev = {.type = RAFT_START};
    ev.start.term = nd->d_term;
    ev.start.vote = nd->d_vote;
    ev.start.snap_index = nd->d_snap.index;
    ev.start.snap_term = nd->d_snap.term;
    ev.start.snap_conf = nd->d_snap.conf;
    ev.start.snap_conf_index = nd->d_snap.conf_index;
    ev.start.snap_data = nd->d_snap.data;
    uint64_t si = nd->d_snap.index;
    ev.start.n = nd->d_n > si ? (unsigned)(nd->d_n - si) : 0;
    ev.start.entries = nd->d_n > si ? &nd->d_log[si] : NULL;
    ev.start.bootstrap = &nd->boot;
    /* Rebuild the mirror from what is on disk. */
    if (si > 0)
        mirror_from_committed(s, nd, si);
    else
        nd->m_last = 0;
    if (ev.start.n > 0)
        mirror_append(s, nd, si + 1, ev.start.n, ev.start.entries);
    sm_restore(nd, nd->d_snap.data, si);
    step(s, nd, &ev);
}

void sim_crash(struct sim *s, uint64_t id)
{
    struct node *nd = node_of(s, id);
    if (nd == NULL || !nd->up)
        return;
    nd->up = false;
    nd->epoch++;
    while (nd->j_n > 0) {
        job_release(&nd->jobs[nd->j_head]);
        nd->j_head = (nd->j_head + 1) % nd->j_cap;
        nd->j_n--;
    }
    nd->b_start = nd->b_done = 0;
    raft_close(&nd->r);
    s->st.crashes++;
}

void sim_restart(struct sim *s, uint64_t id)
{
    struct node *nd = node_of(s, id);
    if (nd == NULL || nd->up)
        return;
    node_start(s, nd);
}

/* ==== Configuration and creation ==== */

void sim_config_default(struct sim_config *c, uint64_t seed, unsigned voters)
{
    memset(c, 0, sizeof *c);
    c->seed = seed;
    c->voters = voters;
    c->passive = 1;
    c->spare = 1;
    c->fault_ms = 2500;
    c->heal_ms = 1500;
    c->partitions = c->crashes = c->lossy = c->slow_disk = c->membership = c->transfers = true;
    c->max_drift = 0.02;
    c->lat_min = 1;
    c->lat_max = 6;
    c->op_every = 4;
    c->lease_reads = 0.4;
    raft_options_default(&c->opt);
    c->opt.election_timeout = 100;
    c->opt.heartbeat_interval = 20;
    c->opt.drift_bound = 0.1;
    c->opt.max_batch = 16;
    c->opt.snapshot_threshold = 32;
    c->opt.snapshot_trailing = 8;
    c->opt.snapshot_chunk = 16;
}

static void reset_links(struct sim *s)
{
    for (unsigned a = 0; a < SIM_MAX_NODES; a++)
        for (unsigned b = 0; b < SIM_MAX_NODES; b++)
            s->links[a][b] = (struct sim_link){.lat_min = s->c.lat_min, .lat_max = s->c.lat_max};
}

struct sim *sim_new(const struct sim_config *c)
{
    struct sim *s = fl_calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->c = *c;
    if (getenv("FL_SIM_TRACE") != NULL)
        s->c.verbose = atoi(getenv("FL_SIM_TRACE"));
    s->n = c->voters + c->passive + c->spare;
    assert(s->n <= SIM_MAX_NODES);
    fl_rng_seed(&s->rng, c->seed);
    reset_links(s);
    s->n_writes = 1; /* value 0 is the initial register value */
    s->writes = grow(NULL, &s->w_cap, 1, sizeof *s->writes);
    struct raft_configuration boot = {0};
    for (unsigned i = 0; i < c->voters + c->passive; i++) {
        boot.servers[boot.n].id = i + 1;
        boot.servers[boot.n].role = i < c->voters ? RAFT_VOTER : RAFT_PASSIVE;
        boot.n++;
    }
    for (unsigned i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        nd->id = i + 1;
        nd->rate = 1.0 + (c->max_drift > 0 ? (fl_rng_double(&s->rng) * 2 - 1) * c->max_drift : 0);
        nd->offset = fl_rng_below(&s->rng, 1000);
    }
    for (unsigned i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        /* Spares start outside the configuration and wait to be added. */
        if (i < c->voters + c->passive)
            nd->boot = boot;
        node_start(s, nd);
        push(s, (struct event){.time = s->now + 1 + fl_rng_below(&s->rng, 5), .kind = EV_TICK,
                               .node = i});
    }
    if (c->op_every > 0)
        push(s, (struct event){.time = 10, .kind = EV_CLIENT});
    if (c->fault_ms > 0) {
        s->faults_on = true;
        push(s, (struct event){.time = 50, .kind = EV_FAULT});
    }
    return s;
}

void sim_free(struct sim *s)
{
    if (s == NULL)
        return;
    for (unsigned i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        sim_crash(s, nd->id);
        disk_truncate(nd, 1);
        fl_free(nd->d_log);
        raft_buf_unref(nd->d_snap.data);
        fl_free(nd->jobs);
        fl_free(nd->m_term);
        fl_free(nd->m_hash);
    }
    while (s->h_n > 0) {
        struct event ev = pop(s);
        if (ev.msg != NULL) {
            raft_message_release(ev.msg);
            fl_free(ev.msg);
        }
    }
    fl_free(s->heap);
    fl_free(s->leader_of_term);
    fl_free(s->c_hash);
    fl_free(s->c_term);
    fl_free(s->c_value);
    fl_free(s->lm);
    fl_free(s->writes);
    fl_free(s->preads);
    fl_free(s->reads);
    fl_free(s);
}

/* ==== Clients ==== */

uint64_t sim_write(struct sim *s, uint64_t id)
{
    struct node *nd = node_of(s, id);
    if (nd == NULL || !nd->up)
        return 0;
    uint64_t v = s->n_writes;
    s->writes = grow(s->writes, &s->w_cap, v + 1, sizeof *s->writes);
    struct raft_buf *b = raft_buf_new(&v, sizeof v);
    if (b == NULL)
        abort();
    struct raft_event ev = {.type = RAFT_SUBMIT};
    ev.submit.n = 1;
    ev.submit.bufs = &b;
    ev.time = local_time(s, nd);
    struct raft_update up;
    s->st.steps++;
    int rv = raft_step(&nd->r, &ev, &up);
    raft_buf_unref(b);
    if (rv == 0) {
        s->writes[v] = (struct write){.node = (unsigned)id - 1};
        s->n_writes++;
    }
    handle_update(s, nd, &up, 0);
    return rv == 0 ? v : 0;
}

int sim_read_batch(struct sim *s, uint64_t id, int mode, unsigned n)
{
    struct node *nd = node_of(s, id);
    if (nd == NULL || !nd->up || n == 0 || n > 16)
        return -1;
    uint64_t rids[16];
    for (unsigned i = 0; i < n; i++) {
        rids[i] = ++s->next_read_id;
        if (s->n_preads == s->pr_cap) {
            size_t cap = s->pr_cap ? s->pr_cap * 2 : 64;
            struct pread *p = fl_reallocarray(s->preads, cap, sizeof *p);
            if (p == NULL)
                abort();
            s->preads = p;
            s->pr_cap = cap;
        }
        s->preads[s->n_preads++] =
            (struct pread){.id = rids[i], .node = id, .inv = s->now, .lo = s->acked_max};
    }
    struct raft_event ev = {.type = RAFT_READ};
    if (n == 1) {
        ev.read.id = rids[0];
    } else {
        ev.read.n = n;
        ev.read.ids = rids;
    }
    ev.read.mode = mode;
    ev.time = local_time(s, nd);
    struct raft_update up;
    s->st.steps++;
    int rv = raft_step(&nd->r, &ev, &up);
    if (rv != 0)
        for (unsigned i = 0; i < n; i++)
            s->preads[s->n_preads - 1 - i].done = true;
    handle_update(s, nd, &up, 0);
    return rv;
}

int sim_read(struct sim *s, uint64_t id, int mode)
{
    return sim_read_batch(s, id, mode, 1);
}

void sim_peer_down(struct sim *s, uint64_t at, uint64_t down)
{
    struct node *nd = node_of(s, at);
    if (nd == NULL || !nd->up)
        return;
    struct raft_event ev = {.type = RAFT_PEER_DOWN};
    ev.peer_down.id = down;
    ev.time = local_time(s, nd);
    struct raft_update up;
    s->st.steps++;
    raft_step(&nd->r, &ev, &up);
    handle_update(s, nd, &up, 0);
}

int sim_change(struct sim *s, uint64_t id, int role)
{
    uint64_t l = sim_leader(s);
    struct node *nd = node_of(s, l);
    if (nd == NULL)
        return RAFT_ENOTLEADER;
    struct raft_event ev = {.type = RAFT_CHANGE_CONF};
    ev.change.id = id;
    ev.change.role = role;
    ev.time = local_time(s, nd);
    struct raft_update up;
    int rv = raft_step(&nd->r, &ev, &up);
    if (rv == 0)
        s->st.changes++;
    handle_update(s, nd, &up, 0);
    return rv;
}

int sim_transfer(struct sim *s, uint64_t to)
{
    uint64_t l = sim_leader(s);
    struct node *nd = node_of(s, l);
    if (nd == NULL)
        return RAFT_ENOTLEADER;
    struct raft_event ev = {.type = RAFT_TRANSFER};
    ev.transfer.id = to;
    ev.time = local_time(s, nd);
    struct raft_update up;
    int rv = raft_step(&nd->r, &ev, &up);
    if (rv == 0)
        s->st.transfers++;
    handle_update(s, nd, &up, 0);
    return rv;
}

static uint64_t pick_target(struct sim *s)
{
    uint64_t l = sim_leader(s);
    if (l != 0 && fl_rng_chance(&s->rng, 0.85))
        return l;
    return 1 + fl_rng_below(&s->rng, s->n);
}

static void client_op(struct sim *s)
{
    uint64_t target = pick_target(s);
    double x = fl_rng_double(&s->rng);
    if (x < 0.5) {
        sim_write(s, target);
    } else {
        int mode = fl_rng_chance(&s->rng, s->c.lease_reads) ? RAFT_READ_LEASE : RAFT_READ_INDEX;
        /* 1 to 3 reads in one event (as the server batches a loop
         * iteration's reads), sized from x: no extra draw of the rng. */
        sim_read_batch(s, target, mode, 1 + (unsigned)((x - 0.5) * 1000) % 3);
    }
}

/* ==== Faults ==== */

static void random_fault(struct sim *s)
{
    const struct sim_config *c = &s->c;
    unsigned n = s->n;
    uint64_t id = 1 + fl_rng_below(&s->rng, n);
    switch (fl_rng_below(&s->rng, 10)) {
    case 0:
    case 1:
        if (c->partitions) {
            /* Random split into two sides; sometimes only one way. */
            uint64_t mask = fl_rng_next(&s->rng);
            bool oneway = fl_rng_chance(&s->rng, 0.3);
            for (unsigned a = 0; a < n; a++)
                for (unsigned b = 0; b < n; b++)
                    if (((mask >> a) & 1) != ((mask >> b) & 1) && (!oneway || ((mask >> a) & 1)))
                        s->links[a][b].cut = true;
        }
        break;
    case 2:
        if (c->partitions) {
            uint64_t l = sim_leader(s);
            sim_isolate(s, l ? l : id, true);
        }
        break;
    case 3:
        sim_heal(s);
        break;
    case 4:
        if (c->crashes && sim_is_up(s, id)) {
            sim_crash(s, id);
            /* Its sockets close: the nodes it reaches see the connection go
             * (the server's RAFT_PEER_DOWN from the transport). */
            for (unsigned k = 0; k < n; k++)
                if (k != id - 1 && !s->links[id - 1][k].cut)
                    sim_peer_down(s, k + 1, id);
            push(s, (struct event){.time = s->now + 20 + fl_rng_below(&s->rng, 300),
                                   .kind = EV_RESTART, .node = (unsigned)id - 1});
        }
        break;
    case 5:
        if (c->lossy) {
            for (unsigned a = 0; a < n; a++)
                for (unsigned b = 0; b < n; b++) {
                    struct sim_link *l = &s->links[a][b];
                    l->drop = fl_rng_chance(&s->rng, 0.5) ? fl_rng_double(&s->rng) * 0.2 : 0;
                    l->dup = fl_rng_chance(&s->rng, 0.3) ? fl_rng_double(&s->rng) * 0.1 : 0;
                    l->lat_max = c->lat_max + (unsigned)fl_rng_below(&s->rng, 3 * c->lat_max);
                }
        }
        break;
    case 6:
        if (c->slow_disk)
            s->nodes[id - 1].disk_delay_max = fl_rng_chance(&s->rng, 0.5) ? 5 + fl_rng_below(&s->rng, 40) : 0;
        break;
    case 7:
    case 8:
        if (c->membership) {
            /* One server at a time: promote, demote, add, remove. */
            int roles[] = {RAFT_VOTER, RAFT_PASSIVE, RAFT_RESERVE, RAFT_REMOVED};
            int role = roles[fl_rng_below(&s->rng, 4)];
            uint64_t l = sim_leader(s);
            if (l != 0) {
                const struct raft_configuration *cf = raft_configuration(sim_raft(s, l));
                unsigned voters = 0;
                for (unsigned i = 0; i < cf->n; i++)
                    voters += cf->servers[i].role == RAFT_VOTER;
                int cur = raft_role_of(cf, id);
                /* Keep between 3 and 7 voters so runs stay meaningful. */
                if (cur == RAFT_VOTER && role != RAFT_VOTER && voters <= 3)
                    break;
                if (cur != RAFT_VOTER && role == RAFT_VOTER && voters >= 7)
                    break;
                if (cur == role)
                    break;
                sim_change(s, id, role);
            }
        }
        break;
    case 9:
        if (c->transfers)
            sim_transfer(s, 0);
        break;
    }
}

/* ==== Running ==== */

static void dispatch(struct sim *s, struct event *ev)
{
    struct node *nd = ev->node < s->n ? &s->nodes[ev->node] : NULL;
    switch (ev->kind) {
    case EV_DELIVER: {
        bool drop = !nd->up || (s->filter != NULL && s->filter(s, ev->msg, s->filter_data)) ||
                    s->links[ev->msg->from - 1][ev->msg->to - 1].cut;
        if (!drop && s->c.verbose > 1)
            fprintf(stderr, "t=%llu deliver type %d %llu->%llu term %llu\n",
                    (unsigned long long)s->now, ev->msg->type, (unsigned long long)ev->msg->from,
                    (unsigned long long)ev->msg->to, (unsigned long long)ev->msg->term);
        if (!drop) {
            struct raft_event e = {.type = RAFT_RECEIVE};
            e.receive.msg = ev->msg;
            step(s, nd, &e);
        }
        raft_message_release(ev->msg);
        fl_free(ev->msg);
        break;
    }
    case EV_DISK:
        if (nd->up && ev->epoch == nd->epoch && nd->j_n > 0)
            disk_complete(s, nd);
        break;
    case EV_TICK:
        if (nd->up) {
            struct raft_event e = {.type = RAFT_TICK};
            step(s, nd, &e);
        }
        push(s, (struct event){.time = s->now + 5, .kind = EV_TICK, .node = ev->node});
        break;
    case EV_CLIENT:
        client_op(s);
        push(s, (struct event){.time = s->now + 1 + fl_rng_below(&s->rng, 2 * s->c.op_every),
                               .kind = EV_CLIENT});
        break;
    case EV_FAULT:
        if (!s->faults_on)
            break;
        random_fault(s);
        push(s, (struct event){.time = s->now + 30 + fl_rng_below(&s->rng, 150), .kind = EV_FAULT});
        break;
    case EV_RESTART:
        sim_restart(s, ev->node + 1);
        break;
    }
}

/* A message storm (a feedback loop between cores) would otherwise grow the
 * heap until the machine runs out of memory: fail with what is in flight. */
#define SIM_MAX_EVENTS 200000

static void storm(struct sim *s)
{
    uint64_t by[8][SIM_MAX_NODES][SIM_MAX_NODES] = {{{0}}};
    char buf[256];
    size_t off = 0;
    for (size_t i = 0; i < s->h_n; i++) {
        const struct raft_message *m = s->heap[i].msg;
        if (s->heap[i].kind == EV_DELIVER && m->type > 0 && m->type < 8)
            by[m->type][m->from - 1][m->to - 1]++;
    }
    for (int t = 1; t < 8; t++)
        for (unsigned a = 0; a < s->n; a++)
            for (unsigned b = 0; b < s->n; b++)
                if (by[t][a][b] > s->h_n / 20 && off < sizeof buf - 40)
                    off += (size_t)snprintf(buf + off, sizeof buf - off, " type%d %u->%u:%llu", t,
                                            a + 1, b + 1, (unsigned long long)by[t][a][b]);
    fail(s, "message storm: %zu events in flight at %llu ms;%s", s->h_n,
         (unsigned long long)s->now, buf);
}

int sim_run_for(struct sim *s, uint64_t ms)
{
    uint64_t until = s->now + ms;
    while (!s->failed && s->h_n > 0 && s->heap[0].time <= until) {
        if (s->h_n > SIM_MAX_EVENTS) {
            storm(s);
            break;
        }
        struct event ev = pop(s);
        s->now = ev.time;
        dispatch(s, &ev);
    }
    if (!s->failed)
        s->now = until;
    return s->failed ? -1 : 0;
}

const char *sim_error(const struct sim *s)
{
    return s->err;
}

uint64_t sim_now(const struct sim *s)
{
    return s->now;
}

uint64_t sim_leader(const struct sim *s)
{
    uint64_t best = 0, term = 0;
    for (unsigned i = 0; i < s->n; i++) {
        const struct node *nd = &s->nodes[i];
        if (nd->up && nd->r.state == RAFT_LEADER && nd->r.term >= term) {
            best = nd->id;
            term = nd->r.term;
        }
    }
    return best;
}

struct raft *sim_raft(struct sim *s, uint64_t id)
{
    struct node *nd = node_of(s, id);
    return nd != NULL && nd->up ? &nd->r : NULL;
}

bool sim_is_up(const struct sim *s, uint64_t id)
{
    return id >= 1 && id <= s->n && s->nodes[id - 1].up;
}

void sim_set_link(struct sim *s, uint64_t from, uint64_t to, const struct sim_link *l)
{
    s->links[from - 1][to - 1] = *l;
}

void sim_cut(struct sim *s, uint64_t a, uint64_t b, bool cut)
{
    s->links[a - 1][b - 1].cut = cut;
    s->links[b - 1][a - 1].cut = cut;
}

void sim_isolate(struct sim *s, uint64_t id, bool cut)
{
    for (unsigned i = 1; i <= s->n; i++)
        if (i != id)
            sim_cut(s, id, i, cut);
}

void sim_heal(struct sim *s)
{
    reset_links(s);
}

void sim_set_rate(struct sim *s, uint64_t id, double rate)
{
    struct node *nd = node_of(s, id);
    /* Keep local time continuous across the change. */
    uint64_t t = local_time(s, nd);
    nd->rate = rate;
    uint64_t t2 = (uint64_t)((double)s->now * rate);
    nd->offset = t > t2 ? t - t2 : 0;
}

void sim_set_filter(struct sim *s, sim_filter_cb cb, void *data)
{
    s->filter = cb;
    s->filter_data = data;
}

uint64_t sim_commit_max(const struct sim *s)
{
    return s->commit_max;
}

uint64_t sim_state_value(struct sim *s, uint64_t id)
{
    struct node *nd = node_of(s, id);
    return nd != NULL ? nd->sm_value : 0;
}

const struct sim_stats *sim_stats(const struct sim *s)
{
    return &s->st;
}

unsigned sim_reads(const struct sim *s, const struct sim_read **reads)
{
    *reads = s->reads;
    return (unsigned)s->n_reads;
}

/* ==== The register oracle ==== */

/* A single register whose writes are ordered by the log: a read returning v is
 * linearizable iff v is the state after some index i with
 * lo <= i <= hi, where lo is the index of the latest write acknowledged before
 * the read was invoked and hi the highest index committed when it returned.
 * The state after i is v exactly for i in [index(v), next write index). */
int sim_check_reads(struct sim *s)
{
    uint64_t *where = fl_calloc(s->n_writes + 1, sizeof *where);
    if (where == NULL)
        abort();
    for (uint64_t i = 1; i <= s->commit_max; i++) {
        uint64_t v = s->c_value[i];
        if (v != 0 && v < s->n_writes)
            where[v] = i;
    }
    int rv = 0;
    for (size_t k = 0; k < s->n_reads && rv == 0; k++) {
        const struct sim_read *rd = &s->reads[k];
        uint64_t j = 0;
        if (rd->value != 0) {
            j = rd->value < s->n_writes ? where[rd->value] : 0;
            if (j == 0) {
                fail(s, "read on node %llu returned %llu, never committed",
                     (unsigned long long)rd->node, (unsigned long long)rd->value);
                rv = -1;
                break;
            }
        }
        uint64_t next = UINT64_MAX;
        for (uint64_t i = j + 1; i <= s->commit_max; i++)
            if (s->c_value[i] != 0) {
                next = i;
                break;
            }
        if (j > rd->hi || next <= rd->lo) {
            fail(s,
                 "linearizability: read on node %llu invoked at %llu returned at %llu saw value "
                 "%llu (index %llu, overwritten at %llu) but a write at index %llu was "
                 "acknowledged before it started",
                 (unsigned long long)rd->node, (unsigned long long)rd->inv,
                 (unsigned long long)rd->ret, (unsigned long long)rd->value,
                 (unsigned long long)j, (unsigned long long)next, (unsigned long long)rd->lo);
            rv = -1;
        }
    }
    fl_free(where);
    return rv;
}

/* ==== Whole randomized runs ==== */

static void dump(struct sim *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        struct node *nd = &s->nodes[i];
        struct raft *r = &nd->r;
        fprintf(stderr, "node %u up=%d state=%d term=%llu vote=%llu leader=%llu last=%llu commit=%llu conf:",
                i + 1, nd->up, r->state, (unsigned long long)r->term, (unsigned long long)r->vote,
                (unsigned long long)r->leader, (unsigned long long)raft_last_index(r),
                (unsigned long long)r->commit);
        for (unsigned k = 0; k < r->conf.n; k++)
            fprintf(stderr, " %llu/%d", (unsigned long long)r->conf.servers[k].id,
                    r->conf.servers[k].role);
        fprintf(stderr, " (conf_index %llu) log_start=%llu snap=%llu now=%llu deadline=%llu\n",
                (unsigned long long)r->conf_index, (unsigned long long)r->log_start,
                (unsigned long long)r->snap_index, (unsigned long long)r->now,
                (unsigned long long)r->election_deadline);
        for (unsigned k = 0; r->state == RAFT_LEADER && k < r->conf.n; k++) {
            const struct raft_progress *p = &r->prog[k];
            fprintf(stderr, "  prog %llu: next=%llu match=%llu probing=%d snapshotting=%d "
                    "snap_offset=%llu sent_at=%llu contact=%llu\n",
                    (unsigned long long)r->conf.servers[k].id, (unsigned long long)p->next,
                    (unsigned long long)p->match, p->probing, p->snapshotting,
                    (unsigned long long)p->snap_offset, (unsigned long long)p->sent_at,
                    (unsigned long long)p->last_contact);
        }
    }
}

static int final_checks(struct sim *s)
{
    /* The sim's mirror must agree with the core's own log. */
    for (unsigned i = 0; i < s->n && !s->failed; i++) {
        struct node *nd = &s->nodes[i];
        if (!nd->up)
            continue;
        if (raft_last_index(&nd->r) != nd->m_last)
            fail(s, "sim mirror of node %llu ends at %llu, core at %llu",
                 (unsigned long long)nd->id, (unsigned long long)nd->m_last,
                 (unsigned long long)raft_last_index(&nd->r));
        for (uint64_t k = nd->r.log_start; k <= nd->m_last && !s->failed; k++)
            if (raft_term_at(&nd->r, k) != nd->m_term[k])
                fail(s, "sim mirror of node %llu differs at %llu", (unsigned long long)nd->id,
                     (unsigned long long)k);
    }
    if (s->failed)
        return -1;
    return sim_check_reads(s);
}

int sim_run_seed(const struct sim_config *c, char *why, size_t why_len, struct sim_stats *st)
{
    struct sim *s = sim_new(c);
    if (s == NULL)
        abort();
    /* Every run has at least one membership change: halfway through the
     * fault phase, if random faults proposed none, keep proposing one (the
     * spare joins as a passive member, or the passive member is promoted)
     * until a leader accepts it. */
    int rv = sim_run_for(s, c->fault_ms / 2);
    uint64_t spent = c->fault_ms / 2;
    while (rv == 0 && c->membership && s->st.changes == 0 && spent + 20 < c->fault_ms) {
        uint64_t id = c->voters + c->passive + 1;
        int role = RAFT_PASSIVE;
        if (c->spare == 0 || raft_role_of(raft_configuration(&s->nodes[0].r), id) != RAFT_REMOVED) {
            id = c->voters + 1;
            role = RAFT_VOTER;
        }
        if (sim_leader(s) != 0)
            sim_change(s, id, role);
        rv = sim_run_for(s, 20);
        spent += 20;
    }
    if (rv == 0 && spent < c->fault_ms)
        rv = sim_run_for(s, c->fault_ms - spent);
    if (rv == 0) {
        /* Heal everything; a leader must be elected and commit a fresh write
         * within a bounded number of election timeouts (liveness). */
        s->faults_on = false;
        sim_heal(s);
        for (unsigned i = 0; i < s->n; i++) {
            sim_restart(s, i + 1);
            s->nodes[i].disk_delay_max = 0;
        }
        uint64_t et = c->opt.election_timeout, deadline = s->now + c->heal_ms;
        uint64_t v = 0, at = 0, by = 0;
        bool live = false;
        while (rv == 0 && s->now < deadline) {
            rv = sim_run_for(s, et / 2);
            uint64_t l = sim_leader(s);
            if (rv != 0 || l == 0)
                continue;
            if (v != 0 && s->writes[v].acked) {
                live = true;
                break;
            }
            /* Retry when the leader changed or the write got lost with it. */
            if (v == 0 || by != l || s->now > at + 3 * et) {
                v = sim_write(s, l);
                at = s->now;
                by = l;
            }
        }
        if (rv == 0 && !live) {
            fail(s, "liveness: no write committed within %llu ms after healing",
                 (unsigned long long)c->heal_ms);
            rv = -1;
        }
    }
    if (rv == 0)
        rv = final_checks(s);
    if (rv != 0 && why != NULL)
        snprintf(why, why_len, "%s", s->err);
    if (rv != 0 && getenv("FL_SIM_VERBOSE") != NULL)
        dump(s);
    if (st != NULL) {
        st->steps += s->st.steps;
        st->messages += s->st.messages;
        st->elections += s->st.elections;
        st->leaders += s->st.leaders;
        st->crashes += s->st.crashes;
        st->changes += s->st.changes;
        st->snapshots += s->st.snapshots;
        st->installs += s->st.installs;
        st->writes_acked += s->st.writes_acked;
        st->reads_ok += s->st.reads_ok;
        st->transfers += s->st.transfers;
        st->committed += s->st.committed;
        st->runs++;
        st->runs_with_change += s->st.changes > 0;
        st->runs_with_snapshot += s->st.snapshots > 0;
        st->runs_with_3_leaders += s->st.leaders >= 3;
        for (unsigned i = 0; i < s->n; i++)
            if (s->nodes[i].up)
                st->disruptions += s->nodes[i].r.stat_disruptions;
    }
    sim_free(s);
    return rv;
}
