/* test_sm_release.c - properties every state machine must have, on random
 * logs: replaying only the entries never released yields the same snapshot
 * bytes (Raft §5.3 incremental compaction); the same log gives the same
 * results, events, releases and snapshot on two instances; restoring a
 * snapshot mid-log and going on gives the same end state and releases.
 * FL_SEED=<n> runs one seed. */
#include "sm_test.h"

#include "common/rng.h"

#include <stdio.h>
#include <stdlib.h>

#define LOG_LEN 400
#define SEEDS   40

struct entry {
    uint64_t session;
    json_t *op; /* NULL: the session closes (a server entry, never released) */
};

struct log {
    struct entry e[LOG_LEN + 1]; /* e[i] is log index i */
    size_t n;
};

static json_t *pick(struct fl_rng *rng, const char *const *pool, size_t n)
{
    return json_loads(pool[fl_rng_below(rng, n)], JSON_DECODE_ANY, NULL);
}

#define PICK(rng, pool) pick(rng, pool, sizeof pool / sizeof pool[0])

static const char *const malformed[] = {"{}",
                                        "[]",
                                        "{\"f\":1}",
                                        "{\"f\":\"nope\",\"value\":1}",
                                        "{\"f\":\"add\"}",
                                        "{\"f\":\"enqueue\"}",
                                        "{\"f\":\"write\",\"key\":[]}",
                                        "{\"f\":\"cas\",\"key\":\"a\",\"value\":3}"};
static const char *const values[] = {"null", "0", "1", "2", "\"s\"", "{\"x\":1}", "[1,2]"};

static json_t *gen_kv(struct fl_rng *rng, uint64_t *sessions, uint64_t *session)
{
    static const char *const keys[] = {"\"a\"", "\"b\"", "\"c\"", "1", "2"};
    static const char *const reads[] = {"read", "get"};
    static const char *const writes[] = {"write", "put"};
    *session = fl_rng_chance(rng, 0.3) ? 0 : sessions[fl_rng_below(rng, 3)];
    uint64_t r = fl_rng_below(rng, 100);
    if (r < 4)
        return PICK(rng, malformed);
    json_t *op = json_object();
    json_object_set_new(op, "key", PICK(rng, keys));
    if (r < 25) {
        json_object_set_new(op, "f", json_string(writes[fl_rng_below(rng, 2)]));
        json_object_set_new(op, "value", PICK(rng, values));
    } else if (r < 45) {
        json_object_set_new(op, "f", json_string("cas"));
        json_object_set_new(op, "value", json_pack("[o,o]", PICK(rng, values), PICK(rng, values)));
    } else if (r < 55) {
        json_object_set_new(op, "f", json_string("delete"));
    } else if (r < 65) {
        json_object_set_new(op, "f", json_string(reads[fl_rng_below(rng, 2)]));
    } else if (r < 85) {
        json_object_set_new(op, "f", json_string("watch"));
    } else {
        json_object_set_new(op, "f", json_string("unwatch"));
    }
    return op;
}

static json_t *gen_counter(struct fl_rng *rng)
{
    uint64_t r = fl_rng_below(rng, 100);
    if (r < 4)
        return PICK(rng, malformed);
    if (r < 15)
        return json_pack("{s:s}", "f", "read");
    json_int_t n = fl_rng_range(rng, -5, 5);
    if (r < 20) /* near the edges, to overflow sometimes */
        n = fl_rng_chance(rng, 0.5) ? INT64_MAX - fl_rng_range(rng, 0, 3)
                                    : INT64_MIN + fl_rng_range(rng, 0, 3);
    return json_pack("{s:s,s:I}", "f", "add", "value", n);
}

static json_t *gen_set(struct fl_rng *rng)
{
    uint64_t r = fl_rng_below(rng, 100);
    if (r < 4)
        return PICK(rng, malformed);
    if (r < 12)
        return json_pack("{s:s}", "f", "read");
    json_t *v = fl_rng_chance(rng, 0.5) ? json_integer(fl_rng_range(rng, 0, 40))
                                        : json_pack("[s,i]", "e", (int)fl_rng_below(rng, 20));
    return json_pack("{s:s,s:o}", "f", "add", "value", v);
}

static json_t *gen_queue(struct fl_rng *rng)
{
    uint64_t r = fl_rng_below(rng, 100);
    if (r < 4)
        return PICK(rng, malformed);
    if (r < 12)
        return json_pack("{s:s}", "f", "read");
    if (r < 55)
        return json_pack("{s:s}", "f", "dequeue");
    return json_pack("{s:s,s:o}", "f", "enqueue", "value", PICK(rng, values));
}

/* Transactions over a few keys: list appends, register writes (so appends to
 * a non-list are refused sometimes), reads, malformed micro-ops. */
static json_t *gen_txn(struct fl_rng *rng)
{
    static const char *const keys[] = {"\"a\"", "\"b\"", "\"c\"", "1"};
    static const char *const bad[] = {"[\"x\",\"a\",1]", "[\"r\",[],null]", "[\"w\",\"a\"]",
                                      "[\"append\",\"a\",null]"};
    uint64_t r = fl_rng_below(rng, 100);
    if (r < 4)
        return PICK(rng, malformed);
    json_t *mops = json_array();
    size_t n = 1 + fl_rng_below(rng, 4);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = fl_rng_below(rng, 100);
        if (r < 8 && i == n - 1)
            json_array_append_new(mops, PICK(rng, bad));
        else if (k < 40)
            json_array_append_new(mops, json_pack("[s,o,n]", "r", PICK(rng, keys)));
        else if (k < 85)
            json_array_append_new(mops, json_pack("[s,o,I]", "append", PICK(rng, keys),
                                                  (json_int_t)fl_rng_below(rng, 1000)));
        else
            json_array_append_new(mops, json_pack("[s,o,o]", "w", PICK(rng, keys),
                                                  pick(rng, values + 1, 6) /* not null */));
    }
    return json_pack("{s:s,s:o}", "f", "txn", "value", mops);
}

static void gen_log(struct log *log, const char *type, uint64_t seed)
{
    struct fl_rng rng;
    fl_rng_seed(&rng, seed);
    uint64_t sessions[3] = {1, 2, 3}, next_session = 4;
    log->n = LOG_LEN;
    for (size_t i = 1; i <= LOG_LEN; i++) {
        struct entry *e = &log->e[i];
        e->session = 0;
        if (strcmp(type, "kv") == 0 && fl_rng_chance(&rng, 0.03)) {
            size_t which = fl_rng_below(&rng, 3);
            e->session = sessions[which];
            e->op = NULL; /* the session closes; a fresh one takes its place */
            sessions[which] = next_session++;
            continue;
        }
        if (strcmp(type, "kv") == 0)
            e->op = gen_kv(&rng, sessions, &e->session);
        else if (strcmp(type, "counter") == 0)
            e->op = gen_counter(&rng);
        else if (strcmp(type, "set") == 0)
            e->op = gen_set(&rng);
        else if (strcmp(type, "txn") == 0)
            e->op = gen_txn(&rng);
        else
            e->op = gen_queue(&rng);
        cr_assert(e->op);
    }
}

static void free_log(struct log *log)
{
    for (size_t i = 1; i <= log->n; i++)
        json_decref(log->e[i].op);
}

/* Applies entries [from, to] and appends each result's text to `results`. */
static void run(struct sm_test *t, const struct log *log, size_t from, size_t to, const bool *skip,
                struct fl_buf *results)
{
    for (size_t i = from; i <= to; i++) {
        const struct entry *e = &log->e[i];
        if (skip && skip[i])
            continue;
        if (!e->op) {
            sm_session_closed(&t->sm, &t->ctx, e->session);
            continue;
        }
        json_t *res = st_apply_json(t, i, e->session, e->op);
        if (results) {
            char *text = st_text(res);
            fl_buf_printf(results, "%zu %s\n", i, text);
            free(text);
        }
        json_decref(res);
    }
}

static void check_type(const char *type, uint64_t seed)
{
    struct log *log = calloc(1, sizeof *log);
    gen_log(log, type, seed);
    struct sm_test a, b, c;
    st_open(&a, type);
    st_open(&b, type);
    struct fl_buf ra, rb;
    fl_buf_init(&ra);
    fl_buf_init(&rb);

    /* Apply everything, checking each release as it comes. */
    bool released[LOG_LEN + 1] = {0};
    for (size_t i = 1; i <= log->n; i++) {
        size_t before = a.nreleased;
        run(&a, log, i, i, NULL, &ra);
        for (size_t j = before; j < a.nreleased; j++) {
            uint64_t r = a.released[j];
            cr_assert(r >= 1 && r <= i, "%s seed %llu: entry %zu released %llu, not applied yet",
                      type, (unsigned long long)seed, i, (unsigned long long)r);
            cr_assert_not(released[r], "%s seed %llu: %llu released twice", type,
                          (unsigned long long)seed, (unsigned long long)r);
            cr_assert(log->e[r].op, "%s seed %llu: %llu is a session close, not ours", type,
                      (unsigned long long)seed, (unsigned long long)r);
            released[r] = true;
        }
    }
    char *final = st_snapshot_dup(&a);

    /* Determinism: a second instance agrees on everything observable. */
    run(&b, log, 1, log->n, NULL, &rb);
    cr_assert_str_eq(fl_buf_cstr(&rb), fl_buf_cstr(&ra), "%s seed %llu: results", type,
                     (unsigned long long)seed);
    cr_assert_str_eq(st_snapshot(&b), final);
    cr_assert_eq(b.nreleased, a.nreleased);
    cr_assert_eq(memcmp(b.released, a.released, a.nreleased * sizeof *a.released), 0);
    cr_assert(json_equal(a.events, b.events), "%s seed %llu: events", type,
              (unsigned long long)seed);
    st_close(&b);

    /* Compaction: only the live entries (and no session closes) on a fresh one. */
    bool skip[LOG_LEN + 1];
    size_t live = 0;
    for (size_t i = 1; i <= log->n; i++) {
        skip[i] = released[i] || !log->e[i].op;
        live += !skip[i];
    }
    st_open(&c, type);
    run(&c, log, 1, log->n, skip, NULL);
    cr_assert_str_eq(st_snapshot(&c), final,
                     "%s seed %llu: replaying the %zu live entries of %zu differs", type,
                     (unsigned long long)seed, live, log->n);
    st_close(&c);
    if (strcmp(type, "counter") != 0 && strcmp(type, "set") != 0 && strcmp(type, "txn") != 0)
        cr_assert_lt(live, log->n / 2, "%s seed %llu: compaction frees most entries (%zu live)",
                     type, (unsigned long long)seed, live);

    /* Snapshot mid-log, restore, go on: same end state, same later releases. */
    size_t mid = log->n / 2;
    struct sm_test d, e;
    st_open(&d, type);
    st_open(&e, type);
    run(&d, log, 1, mid, NULL, NULL);
    char *half = st_snapshot_dup(&d);
    cr_assert_eq(sm_restore(&e.sm, half, strlen(half), e.errmsg), 0, "%s", e.errmsg);
    d.nreleased = 0;
    run(&d, log, mid + 1, log->n, NULL, NULL);
    run(&e, log, mid + 1, log->n, NULL, NULL);
    cr_assert_str_eq(st_snapshot(&e), final, "%s seed %llu: after restore", type,
                     (unsigned long long)seed);
    cr_assert_eq(e.nreleased, d.nreleased);
    cr_assert_eq(memcmp(e.released, d.released, d.nreleased * sizeof *d.released), 0);
    free(half);
    st_close(&d);
    st_close(&e);

    free(final);
    fl_buf_free(&ra);
    fl_buf_free(&rb);
    st_close(&a);
    free_log(log);
    free(log);
}

static void check_seeds(const char *type)
{
    const char *env = getenv("FL_SEED");
    if (env) {
        check_type(type, strtoull(env, NULL, 10));
        return;
    }
    for (uint64_t seed = 1; seed <= SEEDS; seed++)
        check_type(type, seed);
}

Test(node_sm, kv_live_entries_replay_to_the_same_state)
{
    check_seeds("kv");
}

Test(node_sm, counter_live_entries_replay_to_the_same_state)
{
    check_seeds("counter");
}

Test(node_sm, set_live_entries_replay_to_the_same_state)
{
    check_seeds("set");
}

Test(node_sm, queue_live_entries_replay_to_the_same_state)
{
    check_seeds("queue");
}

Test(node_sm, txn_live_entries_replay_to_the_same_state)
{
    check_seeds("txn");
}

Test(node_sm, types_are_found_by_name_and_unknown_names_refused)
{
    static const char *const names[] = {"kv", "counter", "set", "queue", "txn"};
    for (size_t i = 0; i < 5; i++) {
        const struct sm_type *type = sm_type_find(names[i]);
        cr_assert(type);
        cr_assert_str_eq(type->name, names[i]);
        cr_assert_eq(sm_type_all()[i], type);
    }
    cr_assert_null(sm_type_all()[5]);
    cr_assert_null(sm_type_find("register"));
    cr_assert_null(sm_type_find(NULL));
    struct sm sm;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(sm_open(&sm, "register", errmsg), FL_EUSAGE);
    cr_assert_str_eq(errmsg, "state machine \"register\" is unknown (kv, counter, set, queue, txn)");
    sm_close(&sm);
}

Test(node_sm, open_under_allocation_failure_fails_cleanly)
{
    static const char *const names[] = {"kv", "counter", "set", "queue"};
    for (size_t i = 0; i < 4; i++) {
        struct sm sm;
        char errmsg[FL_ERRMSG_SIZE];
        fl_alloc_fail_after(0);
        int rc = sm_open(&sm, names[i], errmsg);
        fl_alloc_fail_reset();
        cr_assert_eq(rc, FL_ENOMEM, "%s", names[i]);
        cr_assert_null(sm.type);
        sm_close(&sm);
    }
}
