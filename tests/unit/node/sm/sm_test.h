/* sm_test.h - helpers for the state machine tests: an instance with a context
 * that records releases and published events, ops written as JSON text. */
#ifndef FL_SM_TEST_H
#define FL_SM_TEST_H

#include "node/sm/sm.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_RELEASES 100000

struct sm_test {
    struct sm sm;
    struct sm_ctx ctx;
    uint64_t *released; /* in call order */
    size_t nreleased;
    json_t *events; /* [[session, event], ...] in publish order */
    char errmsg[FL_ERRMSG_SIZE];
    struct fl_buf snap;
};

static inline void st__publish(void *data, uint64_t session, json_t *event)
{
    struct sm_test *t = data;
    json_array_append_new(t->events, json_pack("[I,O]", (json_int_t)session, event));
}

static inline void st__release(void *data, uint64_t index)
{
    struct sm_test *t = data;
    cr_assert_lt(t->nreleased, ST_MAX_RELEASES);
    t->released[t->nreleased++] = index;
}

static inline void st_open(struct sm_test *t, const char *name)
{
    memset(t, 0, sizeof *t);
    cr_assert_eq(sm_open(&t->sm, name, t->errmsg), 0, "open %s: %s", name, t->errmsg);
    t->ctx = (struct sm_ctx){.data = t, .publish = st__publish, .release = st__release};
    t->released = calloc(ST_MAX_RELEASES, sizeof *t->released);
    t->events = json_array();
    fl_buf_init(&t->snap);
}

static inline void st_close(struct sm_test *t)
{
    sm_close(&t->sm);
    free(t->released);
    json_decref(t->events);
    fl_buf_free(&t->snap);
}

static inline void st_forget(struct sm_test *t)
{
    t->nreleased = 0;
    json_array_clear(t->events);
}

/* Applies the op written as JSON text at `index`; returns the result (a new
 * reference) after checking apply returned 0. */
static inline json_t *st_apply_json(struct sm_test *t, uint64_t index, uint64_t session,
                                    const json_t *op)
{
    json_t *res = NULL;
    int rc = sm_apply(&t->sm, &t->ctx, index, session, op, &res);
    cr_assert_eq(rc, 0, "apply at %llu: %d", (unsigned long long)index, rc);
    cr_assert(json_is_object(res), "a result object");
    cr_assert(json_is_boolean(json_object_get(res, "ok")), "result has ok");
    return res;
}

static inline json_t *st_apply(struct sm_test *t, uint64_t index, uint64_t session,
                               const char *optext)
{
    json_error_t jerr;
    json_t *op = json_loads(optext, JSON_DECODE_ANY, &jerr);
    cr_assert(op, "test op parses: %s: %s", optext, jerr.text);
    json_t *res = st_apply_json(t, index, session, op);
    json_decref(op);
    return res;
}

/* Canonical text of a JSON value (malloc'd by jansson; free it). */
static inline char *st_text(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* Applies and compares the result's canonical text with `expect`. */
static inline void st_expect(struct sm_test *t, uint64_t index, uint64_t session,
                             const char *optext, const char *expect)
{
    json_t *res = st_apply(t, index, session, optext);
    char *got = st_text(res);
    cr_assert_str_eq(got, expect, "%s -> %s, expected %s", optext, got, expect);
    free(got);
    json_decref(res);
}

/* Applies and checks the result is {"ok":false,"error":error,...}. */
static inline void st_expect_error(struct sm_test *t, uint64_t index, uint64_t session,
                                   const char *optext, const char *error)
{
    json_t *res = st_apply(t, index, session, optext);
    char *got = st_text(res);
    cr_assert(json_is_false(json_object_get(res, "ok")), "%s fails: %s", optext, got);
    cr_assert_str_eq(json_string_value(json_object_get(res, "error")), error, "%s: %s", optext,
                     got);
    free(got);
    json_decref(res);
}

/* Queries (read-only) and compares the canonical text of the result. */
static inline void st_query(struct sm_test *t, const char *optext, const char *expect)
{
    json_t *op = json_loads(optext, 0, NULL);
    json_t *res = NULL;
    cr_assert(sm_is_read_only(&t->sm, op), "%s is read-only", optext);
    cr_assert_eq(sm_query(&t->sm, op, &res), 0);
    char *got = st_text(res);
    cr_assert_str_eq(got, expect, "%s -> %s", optext, got);
    free(got);
    json_decref(res);
    json_decref(op);
}

/* The snapshot bytes (borrowed until the next call). */
static inline const char *st_snapshot(struct sm_test *t)
{
    fl_buf_reset(&t->snap);
    cr_assert_eq(sm_snapshot(&t->sm, &t->snap), 0);
    return fl_buf_cstr(&t->snap);
}

/* A malloc'd copy of the snapshot bytes. */
static inline char *st_snapshot_dup(struct sm_test *t)
{
    return strdup(st_snapshot(t));
}

/* True when `index` was released; counts how often in *times. */
static inline bool st_released(const struct sm_test *t, uint64_t index)
{
    for (size_t i = 0; i < t->nreleased; i++)
        if (t->released[i] == index)
            return true;
    return false;
}

/* The released indices as text "1 2 3" (static buffer). */
static inline const char *st_releases(const struct sm_test *t)
{
    static char buf[4096];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->nreleased && n < sizeof buf - 32; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%llu", i ? " " : "",
                              (unsigned long long)t->released[i]);
    return buf;
}

/* Restore must refuse `bytes` and leave the state (snapshot) unchanged. */
static inline void st_restore_refused(struct sm_test *t, const char *bytes)
{
    char *before = st_snapshot_dup(t);
    memset(t->errmsg, 0, sizeof t->errmsg);
    int rc = sm_restore(&t->sm, bytes, strlen(bytes), t->errmsg);
    cr_assert_lt(rc, 0, "restore refuses %s", bytes);
    cr_assert_neq(rc, FL_ENOMEM);
    cr_assert(strncmp(t->errmsg, "snapshot", 8) == 0, "message names the snapshot: %s", t->errmsg);
    cr_assert_str_eq(st_snapshot(t), before, "state kept after refusing %s (%s)", bytes, t->errmsg);
    free(before);
}

/* Snapshot, restore into a fresh instance, snapshot again: byte-equal. */
static inline void st_round_trip(struct sm_test *t, const char *name)
{
    char *bytes = st_snapshot_dup(t);
    struct sm_test u;
    st_open(&u, name);
    int rc = sm_restore(&u.sm, bytes, strlen(bytes), u.errmsg);
    cr_assert_eq(rc, 0, "restore: %s", u.errmsg);
    cr_assert_str_eq(st_snapshot(&u), bytes);
    st_close(&u);
    free(bytes);
}

#endif
