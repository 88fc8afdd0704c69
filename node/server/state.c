/* state.c - the replicated server state: sessions, exactly-once commands, events, releases (§6.3).
 */
#include "node/server/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "node/io/jscan.h"

/* ==== Types ==== */

struct resp {
    uint64_t seq, index;
    json_t *result;
};

struct event {
    uint64_t event_index; /* the log index of the entry that published it */
    json_t *event;
};

struct server_session {
    uint64_t id, timeout, last_time;
    uint64_t last_seq, command_ack;
    uint64_t event_ack;
    struct resp *resp;
    unsigned n_resp, cap_resp;
    struct event *ev;
    unsigned n_ev, cap_ev;
    uint64_t *unacked; /* ring: tracked command entries whose response is not acknowledged */
    unsigned ua_head, ua_n, ua_cap;
    uint64_t keepalive_index; /* latest keepalive entry, not yet released */
    uint64_t live;            /* tracked entries of this session not yet released */
    uint64_t end_index;
    bool ended;
};

/* Release bookkeeping of one command entry (kept until released). */
struct server_track {
    uint64_t index; /* 0: empty slot */
    uint64_t session, seq;
    uint64_t blocker;    /* the entry whose apply made the state machine release it */
    uint32_t events_out; /* published events not yet acknowledged */
    bool sm_done;        /* the state machine released it */
    bool acked;          /* its response was acknowledged or its session ended */
    bool queued;         /* in the release queue (struct server_state rq) */
};

/* ==== Tracking map (open addressing, linear probing, backward-shift delete) ==== */

static uint64_t slot_of(uint64_t index, uint64_t cap)
{
    uint64_t x = index * 0x9E3779B97F4A7C15ULL;
    return (x ^ (x >> 29)) & (cap - 1);
}

static struct server_track *track_find(struct server_state *s, uint64_t index)
{
    if (s->track_cap == 0 || index == 0)
        return NULL;
    for (uint64_t i = slot_of(index, s->track_cap);; i = (i + 1) & (s->track_cap - 1)) {
        if (s->track[i].index == index)
            return &s->track[i];
        if (s->track[i].index == 0)
            return NULL;
    }
}

static int track_grow(struct server_state *s)
{
    uint64_t cap = s->track_cap ? s->track_cap * 2 : 256;
    struct server_track *t = fl_calloc(cap, sizeof *t);
    if (t == NULL)
        return FL_ENOMEM;
    for (uint64_t i = 0; i < s->track_cap; i++) {
        if (s->track[i].index == 0)
            continue;
        uint64_t j = slot_of(s->track[i].index, cap);
        while (t[j].index != 0)
            j = (j + 1) & (cap - 1);
        t[j] = s->track[i];
    }
    fl_free(s->track);
    s->track = t;
    s->track_cap = cap;
    return 0;
}

static struct server_track *track_add(struct server_state *s, uint64_t index)
{
    if ((s->track_n + 1) * 2 > s->track_cap && track_grow(s) != 0)
        return NULL;
    uint64_t i = slot_of(index, s->track_cap);
    while (s->track[i].index != 0)
        i = (i + 1) & (s->track_cap - 1);
    memset(&s->track[i], 0, sizeof s->track[i]);
    s->track[i].index = index;
    s->track_n++;
    return &s->track[i];
}

static void track_del(struct server_state *s, struct server_track *t)
{
    uint64_t mask = s->track_cap - 1, i = (uint64_t)(t - s->track);
    s->track[i].index = 0;
    s->track_n--;
    for (uint64_t j = (i + 1) & mask; s->track[j].index != 0; j = (j + 1) & mask) {
        uint64_t home = slot_of(s->track[j].index, s->track_cap);
        /* Move j back to i when its home slot does not lie in (i, j]. */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            s->track[i] = s->track[j];
            s->track[j].index = 0;
            i = j;
        }
    }
}

/* ==== Sessions ==== */

static int find_pos(const struct server_state *s, uint64_t id, unsigned *pos)
{
    unsigned lo = 0, hi = s->n_sessions;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (s->sessions[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return lo < s->n_sessions && s->sessions[lo]->id == id;
}

static struct server_session *find(const struct server_state *s, uint64_t id)
{
    unsigned pos;
    return find_pos(s, id, &pos) ? s->sessions[pos] : NULL;
}

static struct server_session *open_session(const struct server_state *s, uint64_t id)
{
    struct server_session *ss = find(s, id);
    return ss != NULL && !ss->ended ? ss : NULL;
}

static void session_free(struct server_session *ss)
{
    for (unsigned i = 0; i < ss->n_resp; i++)
        json_decref(ss->resp[i].result);
    for (unsigned i = 0; i < ss->n_ev; i++)
        json_decref(ss->ev[i].event);
    fl_free(ss->resp);
    fl_free(ss->ev);
    fl_free(ss->unacked);
    fl_free(ss);
}

static int insert_session(struct server_state *s, struct server_session *ss)
{
    unsigned pos;
    if (find_pos(s, ss->id, &pos))
        return FL_EUSAGE;
    if (s->n_sessions == s->cap_sessions) {
        unsigned cap = s->cap_sessions ? s->cap_sessions * 2 : 16;
        struct server_session **a = fl_reallocarray(s->sessions, cap, sizeof *a);
        if (a == NULL)
            return FL_ENOMEM;
        s->sessions = a;
        s->cap_sessions = cap;
    }
    memmove(&s->sessions[pos + 1], &s->sessions[pos],
            (s->n_sessions - pos) * sizeof s->sessions[0]);
    s->sessions[pos] = ss;
    s->n_sessions++;
    return 0;
}

static void remove_session(struct server_state *s, uint64_t id)
{
    unsigned pos;
    if (!find_pos(s, id, &pos))
        return;
    s->floor_stale = true;
    session_free(s->sessions[pos]);
    memmove(&s->sessions[pos], &s->sessions[pos + 1],
            (s->n_sessions - pos - 1) * sizeof s->sessions[0]);
    s->n_sessions--;
}

/* ==== Releases ==== */

static void release(const struct server_state_cb *cb, uint64_t index)
{
    if (cb != NULL && cb->release != NULL && index != 0)
        cb->release(cb->data, index);
}

/* An ended session whose entries are all released takes its register and
 * end entries with it: a replay without any of them is the same. */
static void maybe_drop_ended(struct server_state *s, struct server_session *ss,
                             const struct server_state_cb *cb)
{
    if (!ss->ended || ss->live > 0)
        return;
    release(cb, ss->id);
    release(cb, ss->end_index);
    remove_session(s, ss->id);
}

/* The lowest index of any response or event a client may still ask for
 * (UINT64_MAX when none). A replay without entry i changes the state only
 * between i and the entry j that superseded it (j's own event may say
 * whether a key was present), so i may go once nothing answered up to j is
 * still to be delivered: otherwise a retry after a restart could get a
 * different answer than the first time. */
static uint64_t floor_of(struct server_state *s)
{
    if (!s->floor_stale)
        return s->floor;
    uint64_t m = UINT64_MAX;
    for (unsigned i = 0; i < s->n_sessions; i++) {
        const struct server_session *ss = s->sessions[i];
        if (ss->n_resp > 0 && ss->resp[0].index < m)
            m = ss->resp[0].index;
        if (ss->n_ev > 0 && ss->ev[0].event_index < m)
            m = ss->ev[0].event_index;
    }
    s->floor = m;
    s->floor_stale = false;
    return m;
}

/* A first answer or event of a session at `index` (the newest entry). */
static void floor_lower(struct server_state *s, uint64_t index)
{
    if (!s->floor_stale && index < s->floor)
        s->floor = index;
}

static void try_release(struct server_state *s, struct server_track *t,
                        const struct server_state_cb *cb, uint64_t floor)
{
    if (!t->sm_done || t->events_out > 0 || floor <= t->blocker)
        return;
    struct server_session *ss = find(s, t->session);
    if (ss != NULL && !ss->ended && t->seq > ss->command_ack)
        return; /* the client may still ask for the response */
    uint64_t index = t->index;
    track_del(s, t);
    release(cb, index);
    if (ss != NULL) {
        ss->live--;
        maybe_drop_ended(s, ss, cb);
    }
}

/* ==== Release queue ==== */

struct server_rq_item {
    uint64_t blocker, index;
};

static void rq_push(struct server_state *s, uint64_t blocker, uint64_t index)
{
    if (s->rq_n == s->rq_cap) {
        uint64_t cap = s->rq_cap ? s->rq_cap * 2 : 256;
        struct server_rq_item *a = fl_reallocarray(s->rq, cap, sizeof *a);
        if (a == NULL)
            return; /* the entry stays tracked: released by no sweep, kept in the log */
        s->rq = a;
        s->rq_cap = cap;
    }
    uint64_t i = s->rq_n++;
    while (i > 0 && s->rq[(i - 1) / 2].blocker > blocker) {
        s->rq[i] = s->rq[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->rq[i] = (struct server_rq_item){.blocker = blocker, .index = index};
}

static struct server_rq_item rq_pop(struct server_state *s)
{
    struct server_rq_item top = s->rq[0], last = s->rq[--s->rq_n];
    uint64_t i = 0;
    for (;;) {
        uint64_t c = 2 * i + 1;
        if (c >= s->rq_n)
            break;
        if (c + 1 < s->rq_n && s->rq[c + 1].blocker < s->rq[c].blocker)
            c++;
        if (s->rq[c].blocker >= last.blocker)
            break;
        s->rq[i] = s->rq[c];
        i = c;
    }
    if (s->rq_n > 0)
        s->rq[i] = last;
    return top;
}

/* Queues `t` once nothing but the floor holds it: the state machine released
 * it, its events and its response were acknowledged (or its session ended).
 * Each of these only ever becomes true, so an entry is queued once. */
static void rq_offer(struct server_state *s, struct server_track *t)
{
    if (t->sm_done && t->events_out == 0 && t->acked && !t->queued) {
        t->queued = true;
        rq_push(s, t->blocker, t->index);
    }
}

/* One event of tracked entry `index` acknowledged (or dropped). */
static void event_done(struct server_state *s, uint64_t index)
{
    struct server_track *t = track_find(s, index);
    if (t != NULL && t->events_out > 0 && --t->events_out == 0)
        rq_offer(s, t);
}

static bool unacked_push(struct server_session *ss, uint64_t index)
{
    if (ss->ua_n == ss->ua_cap) {
        unsigned cap = ss->ua_cap ? ss->ua_cap * 2 : 16;
        uint64_t *a = fl_malloc(cap * sizeof *a);
        if (a == NULL)
            return false; /* never acknowledged here: the entry stays in the log */
        for (unsigned i = 0; i < ss->ua_n; i++)
            a[i] = ss->unacked[(ss->ua_head + i) % ss->ua_cap];
        fl_free(ss->unacked);
        ss->unacked = a;
        ss->ua_cap = cap;
        ss->ua_head = 0;
    }
    ss->unacked[(ss->ua_head + ss->ua_n) % ss->ua_cap] = index;
    ss->ua_n++;
    return true;
}

/* Marks acknowledged the session's tracked commands up to `command_ack` (all
 * of them when the session ended): they are in seq order in the ring. */
static void unacked_trim(struct server_state *s, struct server_session *ss, uint64_t command_ack,
                         bool all)
{
    while (ss->ua_n > 0) {
        uint64_t index = ss->unacked[ss->ua_head];
        struct server_track *t = track_find(s, index);
        if (t != NULL && !all && t->seq > command_ack)
            break;
        ss->ua_head = (ss->ua_head + 1) % ss->ua_cap;
        ss->ua_n--;
        if (t != NULL) {
            t->acked = true;
            rq_offer(s, t);
        }
    }
}

/* Releases every queued entry the floor no longer holds: after
 * acknowledgements or the end of a session. */
static void sweep(struct server_state *s, const struct server_state_cb *cb)
{
    uint64_t floor = floor_of(s);
    while (s->rq_n > 0 && s->rq[0].blocker < floor) {
        struct server_rq_item x = rq_pop(s);
        struct server_track *t = track_find(s, x.index);
        if (t == NULL || !t->queued)
            continue;
        if (t->blocker != x.blocker) { /* released again by the state machine: requeue */
            rq_push(s, t->blocker, t->index);
            continue;
        }
        t->queued = false;
        try_release(s, t, cb, floor); /* every condition holds: it goes */
    }
}

/* ==== Applying entries ==== */

struct apply_ctx {
    struct server_state *s;
    const struct server_state_cb *cb;
    uint64_t index, floor;
    int err;
};

static void on_sm_release(void *data, uint64_t index)
{
    struct apply_ctx *a = data;
    struct server_track *t = track_find(a->s, index);
    if (t == NULL)
        return; /* before the last snapshot, or not a command */
    t->sm_done = true;
    t->blocker = a->index;
    /* The entry being applied keeps its response until acknowledged. */
    if (index == a->index)
        return;
    try_release(a->s, t, a->cb, a->floor);
    t = track_find(a->s, index);
    if (t != NULL) /* held by the floor: the sweep after it rises releases it */
        rq_offer(a->s, t);
}

static void on_sm_publish(void *data, uint64_t session, json_t *event)
{
    struct apply_ctx *a = data;
    struct server_session *ss = open_session(a->s, session);
    if (ss == NULL || a->err != 0)
        return;
    if (ss->n_ev >= SERVER_EVENTS_MAX) {
        /* A client that never acknowledges loses its oldest events rather
         * than the server its memory; the gap in event numbers shows it. */
        uint64_t dropped = ss->ev[0].event_index;
        json_decref(ss->ev[0].event);
        memmove(&ss->ev[0], &ss->ev[1], (ss->n_ev - 1) * sizeof ss->ev[0]);
        ss->n_ev--;
        a->s->floor_stale = true;
        event_done(a->s, dropped); /* released by the next sweep */
    }
    if (ss->n_ev == ss->cap_ev) {
        unsigned cap = ss->cap_ev ? ss->cap_ev * 2 : 8;
        struct event *e = fl_reallocarray(ss->ev, cap, sizeof *e);
        if (e == NULL) {
            a->err = FL_ENOMEM;
            return;
        }
        ss->ev = e;
        ss->cap_ev = cap;
    }
    struct server_track *t = track_find(a->s, a->index);
    if (t != NULL)
        t->events_out++;
    /* Events are numbered by the entry that published it (one per session
     * and entry): numbers survive compaction, which a counter would not. */
    uint64_t ei = a->index;
    if (ss->n_ev == 0)
        floor_lower(a->s, ei);
    ss->ev[ss->n_ev++] = (struct event){.event_index = ei, .event = json_incref(event)};
    if (a->cb != NULL && a->cb->event != NULL)
        a->cb->event(a->cb->data, session, ei, event);
}

static void complete(const struct server_state_cb *cb, uint64_t index, uint64_t session,
                     uint64_t seq, const json_t *result)
{
    if (cb != NULL && cb->complete != NULL)
        cb->complete(cb->data, index, session, seq, result);
}

static void fail_result(const struct server_state_cb *cb, uint64_t index, uint64_t session,
                        uint64_t seq, const char *error, const char *message)
{
    json_t *r = json_pack("{s:b,s:s,s:s}", "ok", 0, "error", error, "message", message);
    complete(cb, index, session, seq, r);
    json_decref(r);
}

static void end_session(struct server_state *s, struct server_session *ss, uint64_t index,
                        bool expired, const struct server_state_cb *cb)
{
    struct sm_ctx ctx = {0};
    struct apply_ctx a = {.s = s, .cb = cb, .index = index};
    ctx.data = &a;
    ctx.release = on_sm_release;
    sm_session_closed(&s->sm, &ctx, ss->id);
    ss->ended = true;
    ss->end_index = index;
    for (unsigned i = 0; i < ss->n_resp; i++)
        json_decref(ss->resp[i].result);
    ss->n_resp = 0;
    /* Its events will never be acknowledged now. */
    for (unsigned i = 0; i < ss->n_ev; i++) {
        event_done(s, ss->ev[i].event_index);
        json_decref(ss->ev[i].event);
    }
    ss->n_ev = 0;
    s->floor_stale = true;
    unacked_trim(s, ss, 0, true);
    if (ss->keepalive_index != 0) {
        release(cb, ss->keepalive_index);
        ss->keepalive_index = 0;
        ss->live--;
    }
    if (cb != NULL && cb->session_ended != NULL)
        cb->session_ended(cb->data, ss->id, expired);
    uint64_t id = ss->id;
    sweep(s, cb);
    ss = find(s, id);
    if (ss != NULL)
        maybe_drop_ended(s, ss, cb);
}

/* Trims what the client acknowledged: cached responses up to command_ack and
 * events up to event_ack; their entries may then be released. */
static void acknowledge(struct server_state *s, struct server_session *ss, uint64_t command_ack,
                        uint64_t event_ack, const struct server_state_cb *cb)
{
    /* No clamping to what was applied: a replay of a compacted log may lack
     * the commands and events acknowledged here, and must end up the same.
     * An acknowledged response means its command took effect. */
    if (command_ack > ss->last_seq)
        ss->last_seq = command_ack;
    if (event_ack > ss->event_ack) {
        ss->event_ack = event_ack;
        unsigned k = 0;
        while (k < ss->n_ev && ss->ev[k].event_index <= event_ack)
            k++;
        for (unsigned i = 0; i < k; i++) {
            event_done(s, ss->ev[i].event_index);
            json_decref(ss->ev[i].event);
        }
        if (k > 0) /* ev may be NULL when empty: memmove wants real pointers */
            memmove(&ss->ev[0], &ss->ev[k], (ss->n_ev - k) * sizeof ss->ev[0]);
        ss->n_ev -= k;
        s->floor_stale = true;
    }
    if (command_ack > ss->command_ack) {
        ss->command_ack = command_ack;
        unsigned k = 0;
        while (k < ss->n_resp && ss->resp[k].seq <= command_ack)
            k++;
        for (unsigned i = 0; i < k; i++)
            json_decref(ss->resp[i].result);
        if (k > 0)
            memmove(&ss->resp[0], &ss->resp[k], (ss->n_resp - k) * sizeof ss->resp[0]);
        ss->n_resp -= k;
        s->floor_stale = true;
        unacked_trim(s, ss, command_ack, false);
    }
    sweep(s, cb);
}

static int apply_register(struct server_state *s, uint64_t index, const json_t *e, uint64_t time,
                          const struct server_state_cb *cb)
{
    json_t *jt = json_object_get(e, "timeout");
    if (!json_is_integer(jt) || json_integer_value(jt) < SERVER_TIMEOUT_MIN ||
        json_integer_value(jt) > SERVER_TIMEOUT_MAX) {
        fail_result(cb, index, 0, 0, "bad_request", "timeout: expected ms in [500, 600000]");
        release(cb, index);
        return 0;
    }
    unsigned open = 0;
    for (unsigned i = 0; i < s->n_sessions; i++)
        open += !s->sessions[i]->ended;
    if (open >= SERVER_SESSIONS_MAX) {
        fail_result(cb, index, 0, 0, "busy", "too many open sessions");
        release(cb, index);
        return 0;
    }
    struct server_session *ss = fl_calloc(1, sizeof *ss);
    if (ss == NULL)
        return FL_ENOMEM;
    ss->id = index;
    ss->timeout = (uint64_t)json_integer_value(jt);
    ss->last_time = time;
    int rv = insert_session(s, ss);
    if (rv != 0) {
        fl_free(ss);
        return rv;
    }
    json_t *r = json_pack("{s:b,s:I}", "ok", 1, "session", (json_int_t)index);
    complete(cb, index, 0, 0, r);
    json_decref(r);
    return 0;
}

static int apply_address(struct server_state *s, uint64_t index, const json_t *e,
                         const struct server_state_cb *cb)
{
    json_t *id = json_object_get(e, "id"), *peer = json_object_get(e, "peer"),
           *client = json_object_get(e, "client");
    if (!json_is_integer(id) || json_integer_value(id) < 1 || json_integer_value(id) > 1000000 ||
        !json_is_string(peer) || !json_is_string(client) || json_string_length(peer) > 64 ||
        json_string_length(client) > 64) {
        fail_result(cb, index, 0, 0, "bad_request", "address: id, peer and client required");
        release(cb, index);
        return 0;
    }
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)json_integer_value(id));
    json_t *v = json_pack("{s:O,s:O}", "peer", peer, "client", client);
    if (v == NULL || json_object_set_new(s->members, key, v) != 0)
        return FL_ENOMEM;
    s->members_version++;
    json_t *r = json_pack("{s:b}", "ok", 1);
    complete(cb, index, 0, 0, r);
    json_decref(r);
    return 0;
}

bool server_state_member(const struct server_state *s, uint64_t id, const char **peer,
                         const char **client)
{
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)id);
    json_t *v = json_object_get(s->members, key);
    if (v == NULL)
        return false;
    *peer = json_string_value(json_object_get(v, "peer"));
    *client = json_string_value(json_object_get(v, "client"));
    return true;
}

static int push_response(struct server_state *s, struct server_session *ss, uint64_t seq,
                         uint64_t index, json_t *result)
{
    if (ss->n_resp >= SERVER_RESPONSES_MAX) {
        s->floor_stale = true;
        /* The client acknowledges nothing: forget its oldest response. */
        json_decref(ss->resp[0].result);
        memmove(&ss->resp[0], &ss->resp[1], (ss->n_resp - 1) * sizeof ss->resp[0]);
        ss->n_resp--;
    }
    if (ss->n_resp == ss->cap_resp) {
        unsigned cap = ss->cap_resp ? ss->cap_resp * 2 : 8;
        struct resp *a = fl_reallocarray(ss->resp, cap, sizeof *a);
        if (a == NULL)
            return FL_ENOMEM;
        ss->resp = a;
        ss->cap_resp = cap;
    }
    if (ss->n_resp == 0)
        floor_lower(s, index);
    ss->resp[ss->n_resp++] =
        (struct resp){.seq = seq, .index = index, .result = json_incref(result)};
    return 0;
}

/* A command entry of session `ss`: seq >= 1 and op an object (or seq 0: the
 * entry lacked them). `ack` is the entry's command_ack (0: none): applied as a
 * keepalive's right after a command that takes effect, when below its seq. A
 * duplicate's ack is ignored: that entry is released at once, and a replay
 * without it must end up the same. A command that took effect stays in the
 * log until a later ack reaches its seq, so the entry holding the session's
 * highest ack is never released (the later one holds a higher ack). */
static int apply_command(struct server_state *s, uint64_t index, uint64_t seq, uint64_t ack,
                         const json_t *op, struct server_session *ss,
                         const struct server_state_cb *cb)
{
    if (seq == 0 || !json_is_object(op)) {
        fail_result(cb, index, ss->id, 0, "bad_request", "command: seq and op required");
        release(cb, index);
        return 0;
    }
    if (seq <= ss->last_seq && !s->no_dedup) {
        /* A retry: answered from the cache, applied no second time. The
         * entry changes nothing, so it is released at once. */
        const struct resp *cached = NULL;
        for (unsigned i = 0; i < ss->n_resp; i++)
            if (ss->resp[i].seq == seq)
                cached = &ss->resp[i];
        /* Answered with the index at which it took effect. */
        if (cached != NULL)
            complete(cb, cached->index, ss->id, seq, cached->result);
        else
            fail_result(cb, index, ss->id, seq, "duplicate",
                        seq <= ss->command_ack ? "response already acknowledged"
                                               : "sequence number already passed");
        release(cb, index);
        return 0;
    }
    struct server_track *t = track_add(s, index);
    if (t == NULL)
        return FL_ENOMEM;
    t->session = ss->id;
    t->seq = seq;
    bool pushed = unacked_push(ss, index);
    struct apply_ctx a = {.s = s, .cb = cb, .index = index, .floor = floor_of(s)};
    struct sm_ctx ctx = {.data = &a, .publish = on_sm_publish, .release = on_sm_release};
    json_t *result = NULL;
    int rv = sm_apply(&s->sm, &ctx, index, ss->id, op, &result);
    if (rv == 0 && a.err == 0)
        rv = push_response(s, ss, seq, index, result);
    if (rv != 0 || a.err != 0) {
        /* sm_apply leaves its state unchanged on FL_ENOMEM; a failure after
         * it cannot be undone, so the server must stop (it reports it). */
        json_decref(result);
        t = track_find(s, index);
        if (t != NULL)
            track_del(s, t);
        if (pushed) /* its ring slot, pushed last */
            ss->ua_n--;
        return rv != 0 ? rv : a.err;
    }
    ss->last_seq = seq;
    ss->live++;
    complete(cb, index, ss->id, seq, result);
    json_decref(result);
    if (ack != 0 && ack < seq && ack > ss->command_ack)
        acknowledge(s, ss, ack, ss->event_ack, cb);
    return 0;
}

/* ==== Command entries from their text ==== */

/* A follower applies every command from its entry's text; through jansson the
 * envelope {"t":"command","time":T,"session":S,"seq":Q,"command_ack":A,"op":{...}}
 * cost 40% of the parse. The leader writes it in exactly that form
 * (server_state_command_text, command_ack only when it is above 0): that form is read
 * here by hand and only the op goes through jansson. Anything else (another
 * entry type, another form, a zero seq, an op that is not an object) takes
 * the general path, so both give the same outcome. The integers are read as
 * the peer codec reads them (node/io/jscan.h, 0..2^63-1). */

/* Applies a command entry in the leader's form; returns 1 when it was not in
 * that form (nothing done), else what server_state_apply_json returns. */
static int apply_command_text(struct server_state *s, uint64_t index, const char *p, size_t len,
                              const struct server_state_cb *cb)
{
    struct jscan r;
    jscan_init(&r, p, len);
    uint64_t time, sid, seq, ack = 0;
    if (!jscan_lit(&r, "{\"t\":\"command\",\"time\":") || !jscan_u64(&r, INT64_MAX, &time) ||
        !jscan_lit(&r, ",\"session\":") || !jscan_u64(&r, INT64_MAX, &sid) ||
        !jscan_lit(&r, ",\"seq\":") || !jscan_u64(&r, INT64_MAX, &seq) || seq == 0)
        return 1;
    /* Entries from before command_ack was carried lack it. */
    if (jscan_lit(&r, ",\"command_ack\":") && !jscan_u64(&r, INT64_MAX, &ack))
        return 1;
    if (!jscan_lit(&r, ",\"op\":") || r.end - r.p < 3 || r.end[-1] != '}' || *r.p != '{')
        return 1;
    json_t *op = json_loadb((const char *)r.p, (size_t)(r.end - 1 - r.p), JSON_REJECT_DUPLICATES,
                            NULL);
    if (!json_is_object(op)) {
        json_decref(op);
        return 1;
    }
    int rv = server_state_apply_command(s, index, time, sid, seq, ack, op, cb);
    json_decref(op);
    return rv;
}

/* What server_state_apply_json does for a command entry (seq or op wrong
 * included: apply_command refuses them as it does). */
int server_state_apply_command(struct server_state *s, uint64_t index, uint64_t time,
                               uint64_t session, uint64_t seq, uint64_t ack, const json_t *op,
                               const struct server_state_cb *cb)
{
    if (time > s->last_time)
        s->last_time = time;
    int rv = 0;
    struct server_session *ss = open_session(s, session);
    if (ss == NULL) {
        fail_result(cb, index, session, seq, "unknown_session",
                    "no such session (expired or closed)");
        release(cb, index);
    } else {
        if (time > ss->last_time)
            ss->last_time = time;
        rv = apply_command(s, index, seq, ack, op, ss, cb);
    }
    if (rv == 0 && index > s->applied)
        s->applied = index;
    return rv;
}

void server_state_command_text(struct fl_buf *b, uint64_t time, uint64_t session, uint64_t seq,
                               uint64_t ack, const char *op, size_t op_len)
{
    fl_buf_puts(b, "{\"t\":\"command\",\"time\":");
    fl_buf_put_u64(b, time);
    fl_buf_puts(b, ",\"session\":");
    fl_buf_put_u64(b, session);
    fl_buf_puts(b, ",\"seq\":");
    fl_buf_put_u64(b, seq);
    if (ack > 0) {
        fl_buf_puts(b, ",\"command_ack\":");
        fl_buf_put_u64(b, ack);
    }
    fl_buf_puts(b, ",\"op\":");
    fl_buf_append(b, op, op_len);
    fl_buf_append(b, "}", 1);
}

int server_state_apply(struct server_state *s, uint64_t index, const void *data, size_t len,
                       const struct server_state_cb *cb)
{
    int fast = apply_command_text(s, index, data, len, cb);
    if (fast != 1)
        return fast;
    json_error_t jerr;
    json_t *e = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    int rv = server_state_apply_json(s, index, e, cb);
    json_decref(e);
    return rv;
}

int server_state_apply_json(struct server_state *s, uint64_t index, const json_t *e,
                            const struct server_state_cb *cb)
{
    int rv = 0;
    if (e == NULL || !json_is_object(e)) {
        fail_result(cb, index, 0, 0, "bad_request", "entry: not a JSON object");
        release(cb, index);
        goto done;
    }
    const char *t = json_string_value(json_object_get(e, "t"));
    json_t *jtime = json_object_get(e, "time");
    uint64_t time = json_is_integer(jtime) && json_integer_value(jtime) > 0
                        ? (uint64_t)json_integer_value(jtime)
                        : 0;
    if (time > s->last_time)
        s->last_time = time;
    if (t == NULL) {
        fail_result(cb, index, 0, 0, "bad_request", "entry: t missing");
        release(cb, index);
        goto done;
    }
    if (strcmp(t, "register") == 0) {
        rv = apply_register(s, index, e, time, cb);
        goto done;
    }
    if (strcmp(t, "address") == 0) {
        rv = apply_address(s, index, e, cb);
        goto done;
    }
    json_t *js = json_object_get(e, "session");
    uint64_t sid =
        json_is_integer(js) && json_integer_value(js) > 0 ? (uint64_t)json_integer_value(js) : 0;
    struct server_session *ss = open_session(s, sid);
    if (ss == NULL) {
        json_t *seq = json_object_get(e, "seq");
        fail_result(cb, index, sid, json_is_integer(seq) ? (uint64_t)json_integer_value(seq) : 0,
                    "unknown_session", "no such session (expired or closed)");
        release(cb, index);
        goto done;
    }
    uint64_t alive_until = ss->last_time + ss->timeout;
    if (strcmp(t, "expire") != 0 && time > ss->last_time)
        ss->last_time = time;
    /* An eviction (the leader's session limit) ends the session whatever its times. */
    bool evict = json_is_true(json_object_get(e, "evict"));
    if (strcmp(t, "expire") == 0 && !evict && time != 0 && time <= alive_until) {
        /* An entry of the session applied since the leader decided shows it
         * alive at the expiry's time: the expiry is void (deterministic, by
         * the entries' own times). */
        json_t *r = json_pack("{s:b,s:b}", "ok", 1, "expired", 0);
        complete(cb, index, sid, 0, r);
        json_decref(r);
        release(cb, index);
    } else if (strcmp(t, "command") == 0) {
        json_t *jseq = json_object_get(e, "seq");
        uint64_t seq = json_is_integer(jseq) && json_integer_value(jseq) > 0
                           ? (uint64_t)json_integer_value(jseq)
                           : 0;
        json_t *jack = json_object_get(e, "command_ack");
        uint64_t ack = json_is_integer(jack) && json_integer_value(jack) > 0
                           ? (uint64_t)json_integer_value(jack)
                           : 0;
        rv = apply_command(s, index, seq, ack, json_object_get(e, "op"), ss, cb);
    } else if (strcmp(t, "keepalive") == 0) {
        json_t *ca = json_object_get(e, "command_ack"), *ea = json_object_get(e, "event_ack");
        uint64_t c = json_is_integer(ca) && json_integer_value(ca) > 0
                         ? (uint64_t)json_integer_value(ca)
                         : 0;
        uint64_t ev = json_is_integer(ea) && json_integer_value(ea) > 0
                          ? (uint64_t)json_integer_value(ea)
                          : 0;
        /* Acks only grow (the state keeps the largest): a keepalive whose
         * acks reach the state's supersedes the previous one; one below
         * them changes nothing and goes at once. */
        if (c >= ss->command_ack && ev >= ss->event_ack) {
            if (ss->keepalive_index != 0) {
                release(cb, ss->keepalive_index);
                ss->live--;
            }
            ss->keepalive_index = index;
            ss->live++;
        } else if (c <= ss->command_ack && ev <= ss->event_ack) {
            release(cb, index);
        } else {
            /* Mixed: both stay in the log (clients send growing acks). */
            ss->live++;
            ss->keepalive_index = index;
        }
        json_t *r = json_pack("{s:b,s:I}", "ok", 1, "session", (json_int_t)sid);
        complete(cb, index, sid, 0, r);
        json_decref(r);
        acknowledge(s, ss, c, ev, cb);
    } else if (strcmp(t, "close") == 0 || strcmp(t, "expire") == 0) {
        bool expired = t[0] == 'e';
        json_t *r = json_pack("{s:b}", "ok", 1);
        complete(cb, index, sid, 0, r);
        json_decref(r);
        end_session(s, ss, index, expired, cb);
    } else {
        fail_result(cb, index, sid, 0, "bad_request", "entry: unknown t");
        release(cb, index);
    }
done:
    if (rv == 0 && index > s->applied)
        s->applied = index;
    return rv;
}

void server_state_apply_noop(struct server_state *s, uint64_t index)
{
    if (index > s->applied)
        s->applied = index;
}

/* ==== Queries and facts ==== */

int server_state_query(struct server_state *s, const json_t *op, json_t **result)
{
    return sm_query(&s->sm, op, result);
}

bool server_state_is_read_only(const struct server_state *s, const json_t *op)
{
    return sm_is_read_only(&s->sm, op);
}

bool server_state_has_session(const struct server_state *s, uint64_t session)
{
    return open_session(s, session) != NULL;
}

unsigned server_state_open_sessions(const struct server_state *s)
{
    unsigned open = 0;
    for (unsigned i = 0; i < s->n_sessions; i++)
        open += !s->sessions[i]->ended;
    return open;
}

uint64_t server_state_oldest_idle(const struct server_state *s, const uint64_t *skip,
                                  unsigned n_skip)
{
    const struct server_session *best = NULL;
    for (unsigned i = 0; i < s->n_sessions; i++) {
        const struct server_session *ss = s->sessions[i];
        bool skipped = false;
        for (unsigned k = 0; k < n_skip && !skipped; k++)
            skipped = skip[k] == ss->id;
        /* Sessions are sorted by id: a tie keeps the lower id. */
        if (!ss->ended && !skipped && (best == NULL || ss->last_time < best->last_time))
            best = ss;
    }
    return best != NULL ? best->id : 0;
}

unsigned server_state_expired(const struct server_state *s, uint64_t now_ms, uint64_t since_ms,
                              uint64_t *ids, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < s->n_sessions && n < max; i++) {
        const struct server_session *ss = s->sessions[i];
        uint64_t last = ss->last_time > since_ms ? ss->last_time : since_ms;
        if (!ss->ended && last + ss->timeout < now_ms)
            ids[n++] = ss->id;
    }
    return n;
}

uint64_t server_state_command_ack(const struct server_state *s, uint64_t session)
{
    const struct server_session *ss = open_session(s, session);
    return ss != NULL ? ss->command_ack : 0;
}

void server_state_events(const struct server_state *s, uint64_t session, uint64_t after,
                         void (*fn)(void *data, uint64_t event_index, const json_t *event),
                         void *data)
{
    const struct server_session *ss = open_session(s, session);
    if (ss == NULL)
        return;
    for (unsigned i = 0; i < ss->n_ev; i++)
        if (ss->ev[i].event_index > after)
            fn(data, ss->ev[i].event_index, ss->ev[i].event);
}

const json_t *server_state_response(const struct server_state *s, uint64_t session, uint64_t seq)
{
    const struct server_session *ss = open_session(s, session);
    if (ss == NULL)
        return NULL;
    for (unsigned i = 0; i < ss->n_resp; i++)
        if (ss->resp[i].seq == seq)
            return ss->resp[i].result;
    return NULL;
}

uint64_t server_state_next_seq(const struct server_state *s, uint64_t session)
{
    const struct server_session *ss = open_session(s, session);
    return ss != NULL ? ss->last_seq + 1 : 0;
}

/* ==== Lifecycle and snapshots ==== */

int server_state_init(struct server_state *s, const char *sm_name, char *errmsg)
{
    memset(s, 0, sizeof *s);
    s->floor_stale = true;
    s->members = json_object();
    if (s->members == NULL)
        return FL_ENOMEM;
    int rv = sm_open(&s->sm, sm_name, errmsg);
    if (rv != 0) {
        json_decref(s->members);
        s->members = NULL;
    }
    return rv;
}

static void clear(struct server_state *s)
{
    for (unsigned i = 0; i < s->n_sessions; i++)
        session_free(s->sessions[i]);
    fl_free(s->sessions);
    fl_free(s->track);
    fl_free(s->rq);
    s->sessions = NULL;
    s->track = NULL;
    s->rq = NULL;
    s->n_sessions = s->cap_sessions = 0;
    s->track_n = s->track_cap = 0;
    s->rq_n = s->rq_cap = 0;
    s->floor_stale = true;
}

void server_state_close(struct server_state *s)
{
    clear(s);
    json_decref(s->members);
    s->members = NULL;
    sm_close(&s->sm);
}

static int dump_to_buf(const char *text, size_t n, void *data)
{
    fl_buf_append(data, text, n);
    return 0;
}

/* Appends `v` as canonical JSON (compact, keys sorted). */
static void put_json(struct fl_buf *b, const json_t *v)
{
    if (json_dump_callback(v, dump_to_buf, b, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) != 0)
        b->oom = true;
}

static void put_u64(struct fl_buf *b, uint64_t v)
{
    fl_buf_put_u64(b, v); /* no printf: a snapshot writes thousands of numbers */
}

/* The snapshot is written as text, keys in sorted order: the same bytes as
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS) of the object
 *   {"applied", "last_time", "members", "sessions": [{"command_ack", "event_ack",
 *    "events": [[event_index, event]...], "id", "last_seq", "last_time",
 *    "responses": [[seq, index, result]...], "timeout"}...], "sm": "<text>"}
 * without building that object for every cached response (a snapshot
 * every few thousand entries holds thousands of them). */
int server_state_snapshot(struct server_state *s, struct fl_buf *out)
{
    struct fl_buf smb;
    fl_buf_init(&smb);
    int rv = sm_snapshot(&s->sm, &smb);
    json_t *smtext = rv == 0 && !smb.oom ? json_stringn(smb.data ? smb.data : "", smb.len) : NULL;
    fl_buf_free(&smb);
    if (smtext == NULL)
        return FL_ENOMEM;
    fl_buf_puts(out, "{\"applied\":");
    put_u64(out, s->applied);
    fl_buf_puts(out, ",\"last_time\":");
    put_u64(out, s->last_time);
    fl_buf_puts(out, ",\"members\":");
    put_json(out, s->members);
    fl_buf_puts(out, ",\"sessions\":[");
    bool first = true;
    for (unsigned i = 0; i < s->n_sessions; i++) {
        const struct server_session *ss = s->sessions[i];
        if (ss->ended)
            continue;
        fl_buf_puts(out, first ? "{\"command_ack\":" : ",{\"command_ack\":");
        first = false;
        put_u64(out, ss->command_ack);
        fl_buf_puts(out, ",\"event_ack\":");
        put_u64(out, ss->event_ack);
        fl_buf_puts(out, ",\"events\":[");
        for (unsigned k = 0; k < ss->n_ev; k++) {
            fl_buf_puts(out, k == 0 ? "[" : ",[");
            put_u64(out, ss->ev[k].event_index);
            fl_buf_append(out, ",", 1);
            put_json(out, ss->ev[k].event);
            fl_buf_append(out, "]", 1);
        }
        fl_buf_puts(out, "],\"id\":");
        put_u64(out, ss->id);
        fl_buf_puts(out, ",\"last_seq\":");
        put_u64(out, ss->last_seq);
        fl_buf_puts(out, ",\"last_time\":");
        put_u64(out, ss->last_time);
        fl_buf_puts(out, ",\"responses\":[");
        for (unsigned k = 0; k < ss->n_resp; k++) {
            fl_buf_puts(out, k == 0 ? "[" : ",[");
            put_u64(out, ss->resp[k].seq);
            fl_buf_append(out, ",", 1);
            put_u64(out, ss->resp[k].index);
            fl_buf_append(out, ",", 1);
            put_json(out, ss->resp[k].result);
            fl_buf_append(out, "]", 1);
        }
        fl_buf_puts(out, "],\"timeout\":");
        put_u64(out, ss->timeout);
        fl_buf_append(out, "}", 1);
    }
    fl_buf_puts(out, "],\"sm\":");
    put_json(out, smtext);
    fl_buf_append(out, "}", 1);
    json_decref(smtext);
    return out->oom ? FL_ENOMEM : 0;
}

static int get_u64(const json_t *o, const char *k, uint64_t *v, char *errmsg, unsigned i)
{
    json_t *j = json_object_get(o, k);
    if (!json_is_integer(j) || json_integer_value(j) < 0)
        return fl_errorf(errmsg, FL_ESHAPE, "snapshot: sessions[%u].%s: expected a count", i, k);
    *v = (uint64_t)json_integer_value(j);
    return 0;
}

int server_state_restore(struct server_state *s, const char *bytes, size_t len, char *errmsg)
{
    json_error_t jerr;
    json_t *root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fl_errorf(errmsg, FL_EPARSE, "snapshot: %s", jerr.text);
    struct server_state n = {0};
    int rv = 0;
    json_t *sessions = json_object_get(root, "sessions"), *sm = json_object_get(root, "sm");
    json_t *ja = json_object_get(root, "applied"), *jt = json_object_get(root, "last_time");
    json_t *members = json_object_get(root, "members");
    if (!json_is_array(sessions) || !json_is_string(sm) || !json_is_integer(ja) ||
        !json_is_integer(jt) || json_array_size(sessions) > SERVER_SESSIONS_MAX ||
        !json_is_object(members) || json_object_size(members) > 1024) {
        rv = fl_errorf(errmsg, FL_ESHAPE,
                       "snapshot: expected applied, last_time, members, sessions, sm");
        goto out;
    }
    size_t i;
    json_t *o;
    json_array_foreach(sessions, i, o)
    {
        struct server_session *ss = fl_calloc(1, sizeof *ss);
        if (ss == NULL) {
            rv = FL_ENOMEM;
            goto out;
        }
        if ((rv = get_u64(o, "id", &ss->id, errmsg, (unsigned)i)) != 0 ||
            (rv = get_u64(o, "timeout", &ss->timeout, errmsg, (unsigned)i)) != 0 ||
            (rv = get_u64(o, "last_time", &ss->last_time, errmsg, (unsigned)i)) != 0 ||
            (rv = get_u64(o, "last_seq", &ss->last_seq, errmsg, (unsigned)i)) != 0 ||
            (rv = get_u64(o, "command_ack", &ss->command_ack, errmsg, (unsigned)i)) != 0 ||
            (rv = get_u64(o, "event_ack", &ss->event_ack, errmsg, (unsigned)i)) != 0) {
            fl_free(ss);
            goto out;
        }
        json_t *resp = json_object_get(o, "responses"), *ev = json_object_get(o, "events");
        if (!json_is_array(resp) || !json_is_array(ev) ||
            json_array_size(resp) > SERVER_RESPONSES_MAX ||
            json_array_size(ev) > SERVER_EVENTS_MAX || ss->id == 0 || insert_session(&n, ss) != 0) {
            fl_free(ss);
            rv = fl_errorf(errmsg, FL_ESHAPE, "snapshot: sessions[%u]: bad or duplicate session",
                           (unsigned)i);
            goto out;
        }
        size_t k;
        json_t *x;
        json_array_foreach(resp, k, x)
        {
            json_int_t seq, idx;
            json_t *res;
            if (json_unpack(x, "[IIo]", &seq, &idx, &res) != 0 || seq < 1 || idx < 1) {
                rv = fl_errorf(errmsg, FL_ESHAPE, "snapshot: sessions[%u].responses[%u]",
                               (unsigned)i, (unsigned)k);
                goto out;
            }
            if ((rv = push_response(&n, ss, (uint64_t)seq, (uint64_t)idx, res)) != 0)
                goto out;
        }
        json_array_foreach(ev, k, x)
        {
            json_int_t ei;
            json_t *evo;
            if (json_unpack(x, "[Io]", &ei, &evo) != 0 || ei < 1) {
                rv = fl_errorf(errmsg, FL_ESHAPE, "snapshot: sessions[%u].events[%u]", (unsigned)i,
                               (unsigned)k);
                goto out;
            }
            if (ss->n_ev == ss->cap_ev) {
                unsigned cap = ss->cap_ev ? ss->cap_ev * 2 : 8;
                struct event *e = fl_reallocarray(ss->ev, cap, sizeof *e);
                if (e == NULL) {
                    rv = FL_ENOMEM;
                    goto out;
                }
                ss->ev = e;
                ss->cap_ev = cap;
            }
            ss->ev[ss->n_ev++] =
                (struct event){.event_index = (uint64_t)ei, .event = json_incref(evo)};
        }
    }
    /* The state machine last: its restore leaves it untouched on error. */
    rv = sm_restore(&s->sm, json_string_value(sm), json_string_length(sm), errmsg);
    if (rv != 0)
        goto out;
    clear(s);
    s->sessions = n.sessions;
    s->n_sessions = n.n_sessions;
    s->cap_sessions = n.cap_sessions;
    n.sessions = NULL;
    n.n_sessions = 0;
    s->applied = (uint64_t)json_integer_value(ja);
    s->last_time = (uint64_t)json_integer_value(jt);
    json_decref(s->members);
    s->members = json_deep_copy(members);
    if (s->members == NULL)
        s->members = json_object();
    s->members_version++;
out:
    clear(&n);
    json_decref(root);
    return rv;
}
