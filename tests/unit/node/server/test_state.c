/* test_state.c - the replicated server state: sessions, exactly-once commands, events, releases. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "node/server/state.h"

#define MAXI 4096

struct rec {
    json_t *last; /* last completion */
    uint64_t last_index, last_session, last_seq;
    unsigned n_complete, n_events, n_ended;
    uint64_t event_session[64], event_index[64];
    bool released[MAXI];
    unsigned n_released;
    bool twice;
};

static void on_complete(void *d, uint64_t index, uint64_t session, uint64_t seq, const json_t *r)
{
    struct rec *x = d;
    json_decref(x->last);
    x->last = json_deep_copy(r);
    x->last_index = index;
    x->last_session = session;
    x->last_seq = seq;
    x->n_complete++;
}

static void on_event(void *d, uint64_t session, uint64_t ei, const json_t *e)
{
    struct rec *x = d;
    (void)e;
    if (x->n_events < 64) {
        x->event_session[x->n_events] = session;
        x->event_index[x->n_events] = ei;
    }
    x->n_events++;
}

static void on_release(void *d, uint64_t index)
{
    struct rec *x = d;
    cr_assert_lt(index, MAXI);
    if (x->released[index])
        x->twice = true;
    x->released[index] = true;
    x->n_released++;
}

static void on_ended(void *d, uint64_t session, bool expired)
{
    struct rec *x = d;
    (void)session;
    (void)expired;
    x->n_ended++;
}

static struct server_state_cb cb_of(struct rec *x)
{
    return (struct server_state_cb){.data = x,
                                    .complete = on_complete,
                                    .event = on_event,
                                    .release = on_release,
                                    .session_ended = on_ended};
}

/* Applies entry `index`, its JSON given printf-style. */
static void apply(struct server_state *s, struct rec *x, uint64_t index, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void apply(struct server_state *s, struct rec *x, uint64_t index, const char *fmt, ...)
{
    char json[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(json, sizeof json, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t)n < sizeof json, "entry %llu too long", (unsigned long long)index);
    struct server_state_cb cb = cb_of(x);
    cr_assert_eq(server_state_apply(s, index, json, strlen(json), &cb), 0, "entry %llu: %s",
                 (unsigned long long)index, json);
}

/* The entries the tests repeat, as the leader proposes them. */
static void reg(struct server_state *s, struct rec *x, uint64_t index, long time)
{
    apply(s, x, index, "{\"t\":\"register\",\"time\":%ld,\"timeout\":5000}", time);
}

static void keepalive(struct server_state *s, struct rec *x, uint64_t index, long time,
                      uint64_t session, uint64_t command_ack, uint64_t event_ack)
{
    apply(s, x, index,
          "{\"t\":\"keepalive\",\"time\":%ld,\"session\":%llu,\"command_ack\":%llu,"
          "\"event_ack\":%llu}",
          time, (unsigned long long)session, (unsigned long long)command_ack,
          (unsigned long long)event_ack);
}

/* A command of `session` with sequence number `seq`; `op` is its JSON. */
static void command(struct server_state *s, struct rec *x, uint64_t index, long time,
                    uint64_t session, uint64_t seq, const char *op)
{
    apply(s, x, index, "{\"t\":\"command\",\"time\":%ld,\"session\":%llu,\"seq\":%llu,\"op\":%s}",
          time, (unsigned long long)session, (unsigned long long)seq, op);
}

/* A command writing `value` to `key`. */
static void write_cmd(struct server_state *s, struct rec *x, uint64_t index, long time,
                      uint64_t session, uint64_t seq, const char *key, int value)
{
    char op[128];
    snprintf(op, sizeof op, "{\"f\":\"write\",\"key\":\"%s\",\"value\":%d}", key, value);
    command(s, x, index, time, session, seq, op);
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool ok(const json_t *r)
{
    return json_is_true(json_object_get(r, "ok"));
}

Test(server_state, register_gives_session_named_by_index)
{
    struct server_state s;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&s, "kv", err), 0);
    reg(&s, &x, 7, 1000);
    cr_expect(ok(x.last));
    cr_expect_eq(json_integer_value(json_object_get(x.last, "session")), 7);
    cr_expect(server_state_has_session(&s, 7));
    cr_expect_eq(server_state_next_seq(&s, 7), 1);
    apply(&s, &x, 8, "{\"t\":\"register\",\"time\":1000,\"timeout\":5}");
    cr_expect_str_eq(str(x.last, "error"), "bad_request");
    cr_expect(!server_state_has_session(&s, 8));
    json_decref(x.last);
    server_state_close(&s);
}

Test(server_state, duplicate_command_answered_from_cache_not_applied_twice)
{
    struct server_state s;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&s, "counter", err), 0);
    reg(&s, &x, 1, 1);
    command(&s, &x, 2, 2, 1, 1, "{\"f\":\"add\",\"value\":5}");
    cr_expect(ok(x.last));
    cr_expect_eq(x.last_seq, 1);
    command(&s, &x, 3, 3, 1, 1, "{\"f\":\"add\",\"value\":5}");
    cr_expect(ok(x.last), "retry answered from the cache");
    cr_expect_eq(x.last_index, 2, "answered with the index at which it took effect");
    cr_expect(x.released[3], "a duplicate entry is released at once");
    json_t *op = json_pack("{s:s}", "f", "read"), *r = NULL;
    cr_assert_eq(server_state_query(&s, op, &r), 0);
    cr_expect_eq(json_integer_value(json_object_get(r, "value")), 5, "applied once");
    json_decref(r);
    json_decref(op);
    /* After the client acknowledged seq 1, the cache no longer holds it. */
    keepalive(&s, &x, 4, 4, 1, 1, 0);
    cr_expect_null(server_state_response(&s, 1, 1));
    command(&s, &x, 5, 5, 1, 1, "{\"f\":\"add\",\"value\":5}");
    cr_expect_str_eq(str(x.last, "error"), "duplicate");
    json_decref(x.last);
    server_state_close(&s);
}

Test(server_state, command_of_unknown_or_closed_session_refused)
{
    struct server_state s;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&s, "kv", err), 0);
    write_cmd(&s, &x, 1, 1, 9, 1, "a", 1);
    cr_expect_str_eq(str(x.last, "error"), "unknown_session");
    reg(&s, &x, 2, 1);
    apply(&s, &x, 3, "{\"t\":\"close\",\"time\":2,\"session\":2}");
    cr_expect_eq(x.n_ended, 1);
    write_cmd(&s, &x, 4, 3, 2, 1, "a", 1);
    cr_expect_str_eq(str(x.last, "error"), "unknown_session");
    cr_expect(x.released[2] && x.released[3], "an ended session with nothing left is released");
    apply(&s, &x, 5, "not json");
    cr_expect_str_eq(str(x.last, "error"), "bad_request");
    json_decref(x.last);
    server_state_close(&s);
}

Test(server_state, released_only_after_state_machine_and_client_are_done)
{
    struct server_state s;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&s, "kv", err), 0);
    reg(&s, &x, 1, 1);
    write_cmd(&s, &x, 2, 1, 1, 1, "k", 1);
    write_cmd(&s, &x, 3, 1, 1, 2, "k", 2);
    cr_expect(!x.released[2], "superseded but its response is not acknowledged");
    keepalive(&s, &x, 4, 2, 1, 2, 0);
    cr_expect(x.released[2]);
    cr_expect(!x.released[3], "the current value of k is still needed");
    keepalive(&s, &x, 5, 3, 1, 2, 0);
    cr_expect(x.released[4], "a keepalive is superseded by the next");
    cr_expect(!x.twice);
    json_decref(x.last);
    server_state_close(&s);
}

/* An entry free but for the floor (another session's unacknowledged answer
 * at or before the entry that superseded it) waits in the release queue and
 * goes with the acknowledgement that lifts the floor. */
Test(server_state, entry_held_by_floor_released_when_floor_rises)
{
    struct server_state s;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&s, "kv", err), 0);
    reg(&s, &x, 1, 1);
    reg(&s, &x, 2, 1);
    write_cmd(&s, &x, 3, 1, 2, 1, "j", 1);
    write_cmd(&s, &x, 4, 1, 1, 1, "k", 1);
    write_cmd(&s, &x, 5, 1, 1, 2, "k", 2);
    keepalive(&s, &x, 6, 2, 1, 2, 0);
    cr_expect(!x.released[4], "session 2's answer at 3 is before the entry (5) that superseded it");
    cr_expect(!x.released[3] && !x.released[5], "current values");
    write_cmd(&s, &x, 7, 2, 1, 3, "k", 3);
    cr_expect(!x.released[4] && !x.released[5], "the floor still holds both");
    keepalive(&s, &x, 8, 2, 2, 1, 0);
    cr_expect(x.released[4], "the floor rose past 5: released from the queue");
    cr_expect(!x.released[5], "the floor (session 1's unacknowledged answer at 7) holds it");
    keepalive(&s, &x, 9, 3, 1, 3, 0);
    cr_expect(x.released[5] && x.released[6], "acknowledged; the old keepalive superseded");
    cr_expect(!x.released[7], "the current value of k");
    cr_expect(!x.twice);
    json_decref(x.last);
    server_state_close(&s);
}

Test(server_state, watch_events_numbered_and_trimmed_by_ack)
{
    struct server_state s;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&s, "kv", err), 0);
    reg(&s, &x, 1, 1);
    reg(&s, &x, 2, 1);
    command(&s, &x, 3, 1, 1, 1, "{\"f\":\"watch\",\"key\":\"k\"}");
    write_cmd(&s, &x, 4, 1, 2, 1, "k", 1);
    write_cmd(&s, &x, 5, 1, 2, 2, "k", 2);
    cr_assert_eq(x.n_events, 2);
    cr_expect_eq(x.event_session[0], 1);
    cr_expect_eq(x.event_index[0], 4, "events carry the publishing entry's index");
    cr_expect_eq(x.event_index[1], 5);
    keepalive(&s, &x, 6, 2, 2, 2, 0);
    cr_expect(!x.released[4], "its event is not acknowledged yet");
    keepalive(&s, &x, 7, 2, 1, 1, 4);
    cr_expect(!x.released[4], "the event of the entry that superseded it is not acknowledged");
    keepalive(&s, &x, 8, 2, 1, 1, 5);
    cr_expect(x.released[4], "superseded, acknowledged, its events acknowledged");
    json_decref(x.last);
    server_state_close(&s);
}

Test(server_state, snapshot_round_trip_and_garbage_refused)
{
    struct server_state a, b;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&a, "kv", err), 0);
    cr_assert_eq(server_state_init(&b, "kv", err), 0);
    reg(&a, &x, 1, 1);
    command(&a, &x, 2, 1, 1, 1, "{\"f\":\"watch\",\"key\":\"k\"}");
    command(&a, &x, 3, 1, 1, 2, "{\"f\":\"write\",\"key\":\"k\",\"value\":[1,2]}");
    struct fl_buf s1, s2;
    fl_buf_init(&s1);
    fl_buf_init(&s2);
    cr_assert_eq(server_state_snapshot(&a, &s1), 0);
    cr_assert_eq(server_state_restore(&b, s1.data, s1.len, err), 0, "%s", err);
    cr_assert_eq(server_state_snapshot(&b, &s2), 0);
    cr_expect_str_eq(fl_buf_cstr(&s2), fl_buf_cstr(&s1));
    cr_expect_not_null(server_state_response(&b, 1, 2));
    const char *bad[] = {"", "{}", "[1]",
                         "{\"applied\":1,\"last_time\":1,\"sessions\":[{}],\"sm\":\"{}\"}",
                         "{\"applied\":1,\"last_time\":1,\"sessions\":[],\"sm\":\"garbage\"}"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cr_expect_neq(server_state_restore(&b, bad[i], strlen(bad[i]), err), 0, "accepted %s",
                      bad[i]);
        cr_expect_neq(err[0], '\0');
    }
    fl_buf_reset(&s2);
    cr_assert_eq(server_state_snapshot(&b, &s2), 0);
    cr_expect_str_eq(fl_buf_cstr(&s2), fl_buf_cstr(&s1), "a refused restore changed the state");
    fl_buf_free(&s1);
    fl_buf_free(&s2);
    json_decref(x.last);
    server_state_close(&a);
    server_state_close(&b);
}

/* The compaction guarantee: replaying only the entries never released gives
 * the same state, over random traffic from several sessions, at every cut
 * (each 50 entries: what was released by then, replayed up to there). */
Test(server_state, replay_of_unreleased_entries_gives_same_state)
{
    for (uint64_t seed = getenv("FL_SEED") ? strtoull(getenv("FL_SEED"), NULL, 10) : 1;
         seed <= (getenv("FL_SEED") ? strtoull(getenv("FL_SEED"), NULL, 10) : 200); seed++) {
        struct fl_rng rng;
        fl_rng_seed(&rng, seed);
        struct server_state a;
        struct rec *x = calloc(1, sizeof *x);
        char err[FL_ERRMSG_SIZE], *log[MAXI] = {0};
        enum { CUT = 50, CUTS = 600 / CUT };
        bool(*rel)[MAXI] = calloc(CUTS, sizeof *rel);
        char *want[CUTS];
        cr_assert_eq(server_state_init(&a, "kv", err), 0);
        uint64_t sess[4] = {0}, seq[4] = {0}, ack[4] = {0}, eack[4] = {0};
        unsigned n = 600;
        for (uint64_t i = 1; i <= n; i++) {
            char e[256];
            unsigned c = (unsigned)fl_rng_below(&rng, 4);
            unsigned k = (unsigned)fl_rng_below(&rng, 100);
            if (sess[c] == 0 || k < 2) {
                if (sess[c] != 0 && k == 0)
                    snprintf(e, sizeof e, "{\"t\":\"close\",\"time\":1,\"session\":%llu}",
                             (unsigned long long)sess[c]);
                else
                    snprintf(e, sizeof e, "{\"t\":\"register\",\"time\":1,\"timeout\":5000}");
                if (sess[c] != 0 && k == 0)
                    sess[c] = 0;
                else {
                    sess[c] = i;
                    seq[c] = ack[c] = eack[c] = 0;
                }
            } else if (k < 20) {
                ack[c] = seq[c] - fl_rng_below(&rng, seq[c] + 1) / 2;
                eack[c] = i - fl_rng_below(&rng, 40);
                snprintf(e, sizeof e,
                         "{\"t\":\"keepalive\",\"time\":1,\"session\":%llu,\"command_ack\":%llu,"
                         "\"event_ack\":%llu}",
                         (unsigned long long)sess[c], (unsigned long long)ack[c],
                         (unsigned long long)eack[c]);
            } else {
                const char *f[] = {"write", "write", "cas", "delete", "watch", "unwatch", "read"};
                unsigned fi = (unsigned)fl_rng_below(&rng, 7);
                uint64_t s = seq[c] + 1;
                if (fl_rng_below(&rng, 10) == 0 && seq[c] > 0)
                    s = seq[c]; /* a retry */
                seq[c] = s > seq[c] ? s : seq[c];
                unsigned key = (unsigned)fl_rng_below(&rng, 4), v = (unsigned)fl_rng_below(&rng, 3);
                /* The client's command_ack on commands (node/PROTOCOL.md): mostly
                 * just below seq, sometimes absent, lagging, or (not from our
                 * client) at or above seq; retries carry one too. */
                char ca[40] = "";
                unsigned ak = (unsigned)fl_rng_below(&rng, 10);
                uint64_t cack = ak < 2   ? 0
                                : ak < 8 ? s - 1 - fl_rng_below(&rng, s < 3 ? s : 3)
                                         : s + fl_rng_below(&rng, 2);
                if (ak >= 2)
                    snprintf(ca, sizeof ca, ",\"command_ack\":%llu", (unsigned long long)cack);
                if (strcmp(f[fi], "cas") == 0)
                    snprintf(e, sizeof e,
                             "{\"t\":\"command\",\"time\":1,\"session\":%llu,\"seq\":%llu%s,"
                             "\"op\":{\"f\":\"cas\",\"key\":\"k%u\",\"value\":[%u,%u]}}",
                             (unsigned long long)sess[c], (unsigned long long)s, ca, key, v,
                             (unsigned)fl_rng_below(&rng, 3));
                else
                    snprintf(e, sizeof e,
                             "{\"t\":\"command\",\"time\":1,\"session\":%llu,\"seq\":%llu%s,"
                             "\"op\":{\"f\":\"%s\",\"key\":\"k%u\",\"value\":%u}}",
                             (unsigned long long)sess[c], (unsigned long long)s, ca, f[fi], key, v);
            }
            log[i] = strdup(e);
            struct server_state_cb cb = cb_of(x);
            cr_assert_eq(server_state_apply(&a, i, e, strlen(e), &cb), 0);
            if (i % CUT == 0) {
                struct fl_buf s1;
                fl_buf_init(&s1);
                cr_assert_eq(server_state_snapshot(&a, &s1), 0);
                want[i / CUT - 1] = strdup(fl_buf_cstr(&s1));
                fl_buf_free(&s1);
                memcpy(rel[i / CUT - 1], x->released, sizeof x->released);
            }
        }
        cr_expect(!x->twice, "seed %llu: an entry released twice", (unsigned long long)seed);
        cr_expect_gt(x->n_released, n / 10, "seed %llu: only %u of %u released",
                     (unsigned long long)seed, x->n_released, n);
        for (unsigned c = 0; c < CUTS; c++) {
            uint64_t upto = (uint64_t)(c + 1) * CUT;
            struct server_state b;
            struct rec *y = calloc(1, sizeof *y);
            cr_assert_eq(server_state_init(&b, "kv", err), 0);
            for (uint64_t i = 1; i <= upto; i++) {
                if (!rel[c][i]) {
                    struct server_state_cb cb = cb_of(y);
                    cr_assert_eq(server_state_apply(&b, i, log[i], strlen(log[i]), &cb), 0);
                }
            }
            server_state_apply_noop(&b, upto);
            struct fl_buf s2;
            fl_buf_init(&s2);
            cr_assert_eq(server_state_snapshot(&b, &s2), 0);
            if (getenv("FL_DUMP") && strcmp(want[c], fl_buf_cstr(&s2)) != 0) {
                FILE *f1 = fopen("/tmp/st_a.json", "w"), *f2 = fopen("/tmp/st_b.json", "w");
                fputs(want[c], f1);
                fputs(fl_buf_cstr(&s2), f2);
                fclose(f1);
                fclose(f2);
            }
            cr_expect_str_eq(fl_buf_cstr(&s2), want[c], "seed %llu: replay up to %llu differs",
                             (unsigned long long)seed, (unsigned long long)upto);
            fl_buf_free(&s2);
            free(want[c]);
            json_decref(y->last);
            free(y);
            server_state_close(&b);
        }
        for (uint64_t i = 1; i <= n; i++)
            free(log[i]);
        free(rel);
        json_decref(x->last);
        free(x);
        server_state_close(&a);
    }
}

/* An expiry decided by the leader is void when an entry of the session
 * applied before it shows the session alive at the expiry's time. */
Test(server_state, expiry_void_when_the_session_was_heard_from_since)
{
    struct server_state s;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&s, "kv", err), 0);
    reg(&s, &x, 1, 1000);
    keepalive(&s, &x, 2, 5500, 1, 0, 0);
    apply(&s, &x, 3, "{\"t\":\"expire\",\"time\":7000,\"session\":1}");
    cr_expect(server_state_has_session(&s, 1), "a keepalive at 5500 keeps it alive until 10500");
    cr_expect_eq(x.n_ended, 0);
    apply(&s, &x, 4, "{\"t\":\"expire\",\"time\":11000,\"session\":1}");
    cr_expect(!server_state_has_session(&s, 1), "expired at 11000");
    cr_expect_eq(x.n_ended, 1);
    json_decref(x.last);
    server_state_close(&s);
}

/* The session limit (issue 15): the leader evicts the session idle the
 * longest with an expire entry marked "evict", which ends it even though it
 * was active since the entry's time (a plain expire would be void). */
Test(server_state, eviction_picks_the_oldest_idle_and_ends_it_even_if_alive)
{
    struct server_state s;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&s, "kv", err), 0);
    reg(&s, &x, 1, 1000);
    reg(&s, &x, 2, 1100);
    reg(&s, &x, 3, 1200);
    /* Session 1 active again: session 2 is now idle the longest. */
    keepalive(&s, &x, 4, 1300, 1, 0, 0);
    cr_expect_eq(server_state_open_sessions(&s), 3u);
    cr_expect_eq(server_state_oldest_idle(&s, NULL, 0), 2u);
    uint64_t skip[1] = {2};
    cr_expect_eq(server_state_oldest_idle(&s, skip, 1), 3u, "the next oldest, skipping 2");
    /* A plain expire of a session active after its time is void... */
    apply(&s, &x, 5, "{\"t\":\"expire\",\"time\":1250,\"session\":1}");
    cr_expect(server_state_has_session(&s, 1));
    /* ...an eviction is not. */
    apply(&s, &x, 6, "{\"t\":\"expire\",\"time\":1400,\"session\":2,\"evict\":true}");
    cr_expect(!server_state_has_session(&s, 2));
    cr_expect_eq(x.n_ended, 1u);
    cr_expect_eq(server_state_open_sessions(&s), 2u);
    cr_expect_eq(server_state_oldest_idle(&s, NULL, 0), 3u);
    command(&s, &x, 7, 1500, 2, 1, "{\"f\":\"read\",\"key\":\"k\"}");
    cr_expect_str_eq(str(x.last, "error"), "unknown_session");
    json_decref(x.last);
    server_state_close(&s);
}

/* A command as the leader writes it with the client's command_ack. */
static void command_ack(struct server_state *s, struct rec *x, uint64_t index, long time,
                        uint64_t session, uint64_t seq, uint64_t ack, const char *op)
{
    apply(s, x, index,
          "{\"t\":\"command\",\"time\":%ld,\"session\":%llu,\"seq\":%llu,\"command_ack\":%llu,"
          "\"op\":%s}",
          time, (unsigned long long)session, (unsigned long long)seq, (unsigned long long)ack, op);
}

/* Cached responses a snapshot holds for the session (the only one). */
static unsigned cached_responses(struct server_state *s)
{
    struct fl_buf b;
    fl_buf_init(&b);
    cr_assert_eq(server_state_snapshot(s, &b), 0);
    json_t *o = json_loadb(b.data, b.len, 0, NULL);
    cr_assert_not_null(o);
    json_t *ss = json_array_get(json_object_get(o, "sessions"), 0);
    unsigned n = (unsigned)json_array_size(json_object_get(ss, "responses"));
    json_decref(o);
    fl_buf_free(&b);
    return n;
}

/* Issue 15: the response cache was trimmed only by keepalives, so 128 busy
 * sessions held ~100 responses each and every snapshot wrote them all. With
 * command_ack on each command the cache stays at what is unacknowledged. */
Test(server_state, command_ack_on_commands_keeps_the_cache_small)
{
    struct server_state s;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&s, "kv", err), 0);
    reg(&s, &x, 1, 1);
    /* Two commands in flight at a time: seq k is sent once k-2 was answered. */
    for (uint64_t seq = 1; seq <= 200; seq++) {
        char op[96];
        snprintf(op, sizeof op, "{\"f\":\"write\",\"key\":\"k%u\",\"value\":%u}",
                 (unsigned)(seq % 3), (unsigned)seq);
        command_ack(&s, &x, 1 + seq, 2, 1, seq, seq > 2 ? seq - 2 : 0, op);
        cr_assert(ok(x.last));
        cr_assert_leq(cached_responses(&s), 2u, "seq %llu", (unsigned long long)seq);
    }
    cr_expect_eq(server_state_command_ack(&s, 1), 198);
    cr_expect_null(server_state_response(&s, 1, 198));
    cr_expect_not_null(server_state_response(&s, 1, 199));
    /* Superseded and acknowledged writes go; the current value of each key, the
     * unacknowledged ones and the register stay. */
    for (uint64_t i = 2; i <= 196; i++)
        cr_expect(x.released[i], "entry %llu kept", (unsigned long long)i);
    for (uint64_t i = 197; i <= 201; i++)
        cr_expect(!x.released[i], "entry %llu released", (unsigned long long)i);
    cr_expect(!x.twice);
    json_decref(x.last);
    server_state_close(&s);
}

/* Exactly-once is unchanged: a retry above the ack is answered from the cache;
 * one at or below it is a duplicate that is not applied. The ack of a
 * duplicate, and one not below its command's seq, are ignored. */
Test(server_state, command_ack_keeps_retries_above_it_answered_from_the_cache)
{
    struct server_state s;
    struct rec x = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&s, "counter", err), 0);
    reg(&s, &x, 1, 1);
    command_ack(&s, &x, 2, 2, 1, 1, 0, "{\"f\":\"add\",\"value\":1}");
    command_ack(&s, &x, 3, 2, 1, 2, 0, "{\"f\":\"add\",\"value\":10}");
    command_ack(&s, &x, 4, 2, 1, 3, 1, "{\"f\":\"add\",\"value\":100}");
    cr_expect_null(server_state_response(&s, 1, 1), "acknowledged by seq 3");
    /* The reply to 2 was lost: its retry (acknowledging 1) gets the cached answer. */
    command_ack(&s, &x, 5, 3, 1, 2, 1, "{\"f\":\"add\",\"value\":10}");
    cr_expect(ok(x.last));
    cr_expect_eq(x.last_index, 3, "answered with the index at which it took effect");
    cr_expect_eq(x.last_seq, 2);
    cr_expect(x.released[5], "a duplicate entry is released at once");
    /* A retry of 3 carrying an ack of 2 (not from our client, which acks only
     * contiguous answers): the duplicate's ack is ignored, 2 stays cached. */
    command_ack(&s, &x, 6, 3, 1, 3, 2, "{\"f\":\"add\",\"value\":100}");
    cr_expect_eq(x.last_index, 4);
    cr_expect_not_null(server_state_response(&s, 1, 2));
    cr_expect_eq(server_state_command_ack(&s, 1), 1);
    /* An ack at or above the command's own seq is ignored too: 4 takes effect
     * and stays cached, and so does 2. */
    command_ack(&s, &x, 7, 4, 1, 4, 4, "{\"f\":\"add\",\"value\":1000}");
    cr_expect(ok(x.last));
    cr_expect_not_null(server_state_response(&s, 1, 4));
    cr_expect_not_null(server_state_response(&s, 1, 2));
    cr_expect(!x.released[7]);
    /* A retry of 1, below the ack: a duplicate, nothing applied again. */
    command_ack(&s, &x, 8, 5, 1, 1, 0, "{\"f\":\"add\",\"value\":1}");
    cr_expect_str_eq(str(x.last, "error"), "duplicate");
    json_t *op = json_pack("{s:s}", "f", "read"), *r = NULL;
    cr_assert_eq(server_state_query(&s, op, &r), 0);
    cr_expect_eq(json_integer_value(json_object_get(r, "value")), 1111, "each applied once");
    json_decref(r);
    json_decref(op);
    /* An old keepalive after a command raised the ack changes nothing. */
    keepalive(&s, &x, 9, 6, 1, 0, 0);
    cr_expect_eq(server_state_command_ack(&s, 1), 1);
    cr_expect_not_null(server_state_response(&s, 1, 2));
    cr_expect(!x.twice);
    json_decref(x.last);
    server_state_close(&s);
}

/* The leader writes its command entries by hand (server_state_command_text)
 * and applies them from their fields (server_state_apply_command); followers
 * read that text. All three (and the JSON path) must agree. */
Test(server_state, leader_command_text_and_fields_apply_alike)
{
    struct fl_buf t;
    fl_buf_init(&t);
    server_state_command_text(&t, 1700000000123, 42, 7, 6, "{\"f\":\"read\"}", 12);
    cr_assert_str_eq(fl_buf_cstr(&t), "{\"t\":\"command\",\"time\":1700000000123,\"session\":42,"
                                      "\"seq\":7,\"command_ack\":6,\"op\":{\"f\":\"read\"}}");
    fl_buf_reset(&t);
    server_state_command_text(&t, 0, 1, 1, 0, "{}", 2);
    cr_assert_str_eq(fl_buf_cstr(&t),
                     "{\"t\":\"command\",\"time\":0,\"session\":1,\"seq\":1,\"op\":{}}");
    struct server_state a, b, c;
    struct rec xa = {0}, xb = {0}, xc = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&a, "kv", err), 0);
    cr_assert_eq(server_state_init(&b, "kv", err), 0);
    cr_assert_eq(server_state_init(&c, "kv", err), 0);
    reg(&a, &xa, 1, 1000);
    reg(&b, &xb, 1, 1000);
    reg(&c, &xc, 1, 1000);
    /* session 1: fresh, acks, a retry above the ack, one below; session 9: unknown */
    static const struct {
        uint64_t session, seq, ack;
        const char *op;
    } cmds[] = {
        {1, 1, 0, "{\"f\":\"write\",\"key\":\"a\",\"value\":\"x\"}"},
        {1, 2, 1, "{\"f\":\"write\",\"key\":\"a\",\"value\":\"y\"}"},
        {1, 3, 1, "{\"f\":\"cas\",\"key\":\"a\",\"from\":\"y\",\"to\":\"z\"}"},
        {1, 2, 1, "{\"f\":\"write\",\"key\":\"a\",\"value\":\"y\"}"},
        {1, 1, 0, "{\"f\":\"write\",\"key\":\"a\",\"value\":\"x\"}"},
        {1, 4, 3, "{\"f\":\"read\",\"key\":\"a\"}"},
        {9, 1, 0, "{\"f\":\"read\",\"key\":\"a\"}"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        uint64_t index = i + 2, time = 1000 + i;
        fl_buf_reset(&t);
        server_state_command_text(&t, time, cmds[i].session, cmds[i].seq, cmds[i].ack, cmds[i].op,
                                  strlen(cmds[i].op));
        struct server_state_cb ca = cb_of(&xa), cbb = cb_of(&xb), cc = cb_of(&xc);
        cr_assert_eq(server_state_apply(&a, index, t.data, t.len, &ca), 0);
        json_t *op = json_loads(cmds[i].op, 0, NULL);
        cr_assert_eq(server_state_apply_command(&b, index, time, cmds[i].session, cmds[i].seq,
                                                cmds[i].ack, op, &cbb),
                     0);
        json_decref(op);
        json_t *e = json_loadb(t.data, t.len, 0, NULL);
        cr_assert_not_null(e, "not JSON: %s", fl_buf_cstr(&t));
        cr_assert_eq(server_state_apply_json(&c, index, e, &cc), 0);
        json_decref(e);
        const struct rec *r[2] = {&xb, &xc};
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(xa.n_complete, r[k]->n_complete, "entry %zu", i);
            cr_assert_eq(xa.n_released, r[k]->n_released, "entry %zu", i);
            cr_assert_eq(xa.last_index, r[k]->last_index, "entry %zu", i);
            cr_assert_eq(xa.last_seq, r[k]->last_seq, "entry %zu", i);
            cr_assert(json_equal(xa.last, r[k]->last), "entry %zu", i);
        }
    }
    cr_expect_str_eq(str(xa.last, "error"), "unknown_session");
    cr_expect_eq(server_state_command_ack(&a, 1), 3);
    struct fl_buf sa, sb, sc;
    fl_buf_init(&sa);
    fl_buf_init(&sb);
    fl_buf_init(&sc);
    cr_assert_eq(server_state_snapshot(&a, &sa), 0);
    cr_assert_eq(server_state_snapshot(&b, &sb), 0);
    cr_assert_eq(server_state_snapshot(&c, &sc), 0);
    cr_expect_str_eq(fl_buf_cstr(&sa), fl_buf_cstr(&sb));
    cr_expect_str_eq(fl_buf_cstr(&sa), fl_buf_cstr(&sc));
    fl_buf_free(&sa);
    fl_buf_free(&sb);
    fl_buf_free(&sc);
    fl_buf_free(&t);
    json_decref(xa.last);
    json_decref(xb.last);
    json_decref(xc.last);
    server_state_close(&a);
    server_state_close(&b);
    server_state_close(&c);
}

/* Command entries in the leader's form are read by hand (only the op through
 * jansson); every entry must come out as through server_state_apply_json:
 * the same completions and releases, the same state after. */
Test(server_state, command_text_applies_as_the_json_path)
{
    static const char *const entries[] = {
        "{\"t\":\"register\",\"time\":1000,\"timeout\":5000}",
        "{\"t\":\"command\",\"time\":1001,\"session\":1,\"seq\":1,\"op\":{\"f\":\"write\","
        "\"key\":\"a\",\"value\":\"x\"}}",
        /* a retry (answered from the cache), and the next one */
        "{\"t\":\"command\",\"time\":1002,\"session\":1,\"seq\":1,\"op\":{\"f\":\"write\","
        "\"key\":\"a\",\"value\":\"x\"}}",
        "{\"t\":\"command\",\"time\":1003,\"session\":1,\"seq\":2,\"op\":{\"f\":\"read\","
        "\"key\":\"a\"}}",
        /* unknown session; seq 0; op not an object; a duplicate key in the op */
        "{\"t\":\"command\",\"time\":1004,\"session\":99,\"seq\":3,\"op\":{\"f\":\"read\","
        "\"key\":\"a\"}}",
        "{\"t\":\"command\",\"time\":1005,\"session\":1,\"seq\":0,\"op\":{\"f\":\"read\"}}",
        "{\"t\":\"command\",\"time\":1006,\"session\":1,\"seq\":4,\"op\":[1]}",
        "{\"t\":\"command\",\"time\":1007,\"session\":1,\"seq\":5,\"op\":{\"f\":\"read\","
        "\"f\":\"write\"}}",
        /* trailing data after the op; a time of 0; leading zeros; 2^63 */
        "{\"t\":\"command\",\"time\":1008,\"session\":1,\"seq\":6,\"op\":{\"f\":\"read\","
        "\"key\":\"a\"},\"seq\":7}",
        "{\"t\":\"command\",\"time\":0,\"session\":1,\"seq\":8,\"op\":{\"f\":\"write\","
        "\"key\":\"b\",\"value\":\"y\"}}",
        "{\"t\":\"command\",\"time\":01009,\"session\":1,\"seq\":9,\"op\":{\"f\":\"read\","
        "\"key\":\"b\"}}",
        "{\"t\":\"command\",\"time\":1010,\"session\":1,\"seq\":9223372036854775808,\"op\":{"
        "\"f\":\"read\",\"key\":\"b\"}}",
        "{\"t\":\"command\",\"time\":1011,\"session\":1,\"seq\":10,\"op\":{\"f\":\"cas\","
        "\"key\":\"b\",\"from\":\"y\",\"to\":\"z\"}}  ",
        "{\"t\":\"command\",\"time\":1012,\"session\":1,\"seq\":11,\"op\":{\"f\":\"read\","
        "\"key\":\"b\"} }",
        "{\"t\":\"command\",\"time\":1013,\"session\":1,\"seq\":11",
        /* command_ack: trims (12 and 13 take effect, 12's ack trims up to 11; 13's up
         * to 12); at or above seq, on a duplicate, malformed, out of place */
        "{\"t\":\"command\",\"time\":1014,\"session\":1,\"seq\":12,\"command_ack\":11,"
        "\"op\":{\"f\":\"write\",\"key\":\"c\",\"value\":\"1\"}}",
        "{\"t\":\"command\",\"time\":1015,\"session\":1,\"seq\":13,\"command_ack\":12,"
        "\"op\":{\"f\":\"write\",\"key\":\"c\",\"value\":\"2\"}}",
        "{\"t\":\"command\",\"time\":1016,\"session\":1,\"seq\":14,\"command_ack\":14,"
        "\"op\":{\"f\":\"write\",\"key\":\"c\",\"value\":\"3\"}}",
        "{\"t\":\"command\",\"time\":1017,\"session\":1,\"seq\":14,\"command_ack\":13,"
        "\"op\":{\"f\":\"write\",\"key\":\"c\",\"value\":\"3\"}}",
        "{\"t\":\"command\",\"time\":1018,\"session\":1,\"seq\":15,\"command_ack\":-1,"
        "\"op\":{\"f\":\"read\",\"key\":\"c\"}}",
        "{\"t\":\"command\",\"time\":1019,\"session\":1,\"seq\":16,\"command_ack\":013,"
        "\"op\":{\"f\":\"read\",\"key\":\"c\"}}",
        "{\"t\":\"command\",\"time\":1020,\"session\":1,\"seq\":17,\"command_ack\":\"14\","
        "\"op\":{\"f\":\"read\",\"key\":\"c\"}}",
        "{\"t\":\"command\",\"time\":1021,\"session\":1,\"command_ack\":15,\"seq\":18,"
        "\"op\":{\"f\":\"read\",\"key\":\"c\"}}",
        "{\"t\":\"command\",\"time\":1022,\"session\":1,\"seq\":19,\"command_ack\":"
        "9223372036854775808,\"op\":{\"f\":\"read\",\"key\":\"c\"}}",
        "{\"t\":\"command\",\"time\":1023,\"session\":1,\"seq\":20,\"command_ack\":0,"
        "\"op\":{\"f\":\"read\",\"key\":\"c\"}}",
    };
    struct server_state a, b;
    struct rec xa = {0}, xb = {0};
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(server_state_init(&a, "kv", err), 0);
    cr_assert_eq(server_state_init(&b, "kv", err), 0);
    struct server_state_cb ca = cb_of(&xa), cbb = cb_of(&xb);
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        uint64_t index = i + 1;
        int ra = server_state_apply(&a, index, entries[i], strlen(entries[i]), &ca);
        json_t *e = json_loads(entries[i], JSON_REJECT_DUPLICATES, NULL);
        int rb = server_state_apply_json(&b, index, e, &cbb);
        json_decref(e);
        cr_assert_eq(ra, rb, "entry %zu", i);
        cr_assert_eq(xa.n_complete, xb.n_complete, "entry %zu", i);
        cr_assert_eq(xa.n_released, xb.n_released, "entry %zu", i);
        cr_assert_eq(xa.last_index, xb.last_index, "entry %zu", i);
        cr_assert_eq(xa.last_session, xb.last_session, "entry %zu", i);
        cr_assert_eq(xa.last_seq, xb.last_seq, "entry %zu", i);
        cr_assert(json_equal(xa.last, xb.last), "entry %zu: %s vs %s", i,
                  json_dumps(xa.last, JSON_COMPACT), json_dumps(xb.last, JSON_COMPACT));
        cr_assert_eq(a.applied, b.applied, "entry %zu", i);
        cr_assert_eq(a.last_time, b.last_time, "entry %zu", i);
    }
    cr_assert_eq(server_state_next_seq(&a, 1), server_state_next_seq(&b, 1));
    /* seqs 10 and 11 (space after the op) applied, 12 to 18 and 20 */
    cr_assert_eq(server_state_next_seq(&a, 1), 21);
    cr_assert_eq(server_state_command_ack(&a, 1), 15, "the acks of 13 and 18 trimmed");
    cr_assert_eq(server_state_command_ack(&b, 1), 15);
    struct fl_buf sa, sb;
    fl_buf_init(&sa);
    fl_buf_init(&sb);
    cr_assert_eq(server_state_snapshot(&a, &sa), 0);
    cr_assert_eq(server_state_snapshot(&b, &sb), 0);
    cr_assert_eq(sa.len, sb.len);
    cr_assert_eq(memcmp(sa.data, sb.data, sa.len), 0, "the states differ");
    fl_buf_free(&sa);
    fl_buf_free(&sb);
    json_decref(xa.last);
    json_decref(xb.last);
    server_state_close(&a);
    server_state_close(&b);
}
