/* kv.c - key-value registers with watches: read/get, write/put, cas, delete,
 * watch, unwatch. Each key remembers the entries that built its current value
 * (its "chain": the last write and the successful cas entries since), which a
 * later write or delete releases (sm.h, "Release rule"). */
#include "node/sm/impl.h"

#include "common/alloc.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

struct watch {
    uint64_t session;
    uint64_t index; /* the watch entry */
};

struct key {
    char *text; /* canonical encoding of the key: the table key */
    size_t tlen;
    json_t *key;   /* private deep copy of the key as the op spelled it */
    json_t *value; /* private deep copy; NULL when absent */
    uint64_t *chain;
    size_t nchain, capchain;
    struct watch *watches; /* sorted by session */
    size_t nwatch, capwatch;
};

struct held {
    struct key *key;
    uint64_t index;
};

struct session {
    uint64_t id;       /* the table key (8 bytes) */
    struct held *held; /* unordered */
    size_t n, cap;
};

struct kv {
    struct sm__table keys;     /* text -> struct key */
    struct sm__table sessions; /* id -> struct session */
};

/* ==== Lifetime ==== */

static void kv_init(struct kv *kv)
{
    sm__table_init(&kv->keys);
    sm__table_init(&kv->sessions);
}

static int create(void **st)
{
    struct kv *kv = fl_calloc(1, sizeof *kv);
    if (!kv)
        return FL_ENOMEM;
    kv_init(kv);
    *st = kv;
    return 0;
}

static void key_free(struct key *k)
{
    fl_free(k->text);
    json_decref(k->key);
    json_decref(k->value);
    fl_free(k->chain);
    fl_free(k->watches);
    fl_free(k);
}

static void clear(struct kv *kv)
{
    for (size_t i = 0; i < kv->keys.cap; i++)
        if (kv->keys.slots[i].item)
            key_free(kv->keys.slots[i].item);
    for (size_t i = 0; i < kv->sessions.cap; i++) {
        struct session *s = kv->sessions.slots[i].item;
        if (s) {
            fl_free(s->held);
            fl_free(s);
        }
    }
    sm__table_free(&kv->keys);
    sm__table_free(&kv->sessions);
}

static void destroy(void *st)
{
    if (!st)
        return;
    clear(st);
    fl_free(st);
}

/* ==== Keys, watches, sessions ==== */

/* Checks a key's shape: NULL when usable, else a message naming the field;
 * *large tells a size problem from a shape problem. */
static const char *key_problem(const json_t *k, bool *large)
{
    *large = false;
    if (!k)
        return "key: missing";
    if (json_is_integer(k))
        return NULL;
    if (!json_is_string(k))
        return "key: expected a string or an integer";
    if (json_string_length(k) > SM_KEY_MAX) {
        *large = true;
        return "key: longer than 256 bytes";
    }
    return NULL;
}

/* Finds key k (already checked); creates an absent entry when `create`.
 * Returns NULL when absent (not creating) or on OOM (*oom set). */
static struct key *lookup(struct kv *kv, const json_t *k, bool create, bool *oom)
{
    size_t tlen;
    char *text = sm__encode(k, &tlen);
    if (!text) {
        *oom = true;
        return NULL;
    }
    struct key *e = sm__table_get(&kv->keys, text, tlen);
    if (e || !create) {
        fl_free(text);
        return e;
    }
    e = fl_calloc(1, sizeof *e);
    if (!e || !sm__table_reserve(&kv->keys, 1) || !(e->key = json_deep_copy(k))) {
        fl_free(e);
        fl_free(text);
        *oom = true;
        return NULL;
    }
    e->text = text;
    e->tlen = tlen;
    sm__table_put(&kv->keys, e->text, e->tlen, e);
    return e;
}

/* Frees an entry that holds nothing any more. */
static void maybe_drop(struct kv *kv, struct key *k)
{
    if (k && !k->value && k->nwatch == 0) {
        sm__table_del(&kv->keys, k->text, k->tlen);
        key_free(k);
    }
}

/* Position of session's watch in k->watches, or where it would go. */
static size_t watch_pos(const struct key *k, uint64_t session, bool *found)
{
    size_t lo = 0, hi = k->nwatch;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k->watches[mid].session < session)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < k->nwatch && k->watches[lo].session == session;
    return lo;
}

static struct session *session_get(struct kv *kv, uint64_t id)
{
    return sm__table_get(&kv->sessions, &id, sizeof id);
}

/* Finds or creates session id's record with room for one more watch. */
static struct session *session_reserve(struct kv *kv, uint64_t id)
{
    struct session *s = session_get(kv, id);
    if (!s) {
        s = fl_calloc(1, sizeof *s);
        if (!s || !sm__table_reserve(&kv->sessions, 1)) {
            fl_free(s);
            return NULL;
        }
        s->id = id;
        sm__table_put(&kv->sessions, &s->id, sizeof s->id, s);
    }
    return sm__grow(&s->held, &s->cap, s->n + 1, sizeof *s->held) ? s : NULL;
}

static void session_drop_if_empty(struct kv *kv, struct session *s)
{
    if (s && s->n == 0) {
        sm__table_del(&kv->sessions, &s->id, sizeof s->id);
        fl_free(s->held);
        fl_free(s);
    }
}

/* Adds a watch; room in k->watches and s->held must be reserved. */
static void watch_add(struct key *k, struct session *s, uint64_t index)
{
    bool found;
    size_t pos = watch_pos(k, s->id, &found);
    memmove(&k->watches[pos + 1], &k->watches[pos], (k->nwatch - pos) * sizeof *k->watches);
    k->watches[pos] = (struct watch){s->id, index};
    k->nwatch++;
    s->held[s->n++] = (struct held){k, index};
}

/* Removes session's watch from k (present at pos); not from the session. */
static uint64_t watch_remove(struct key *k, size_t pos)
{
    uint64_t index = k->watches[pos].index;
    memmove(&k->watches[pos], &k->watches[pos + 1], (k->nwatch - pos - 1) * sizeof *k->watches);
    k->nwatch--;
    return index;
}

/* Publishes {"key","value","index","f"} to k's watchers, in session order.
 * `event` is built before the state changes so publishing cannot fail. */
static json_t *event_new(const struct key *k, const json_t *value, uint64_t index, const char *f)
{
    if (k->nwatch == 0)
        return json_null(); /* nobody to tell: a non-NULL placeholder */
    return json_pack("{s:O,s:o,s:I,s:s}", "key", k->key, "value",
                     value ? json_deep_copy(value) : json_null(), "index", (json_int_t)index, "f",
                     f);
}

static void event_publish(const struct sm_ctx *ctx, const struct key *k, json_t *event)
{
    for (size_t i = 0; i < k->nwatch && !json_is_null(event); i++)
        sm__publish(ctx, k->watches[i].session, event);
    json_decref(event);
}

static void release_chain(const struct sm_ctx *ctx, struct key *k)
{
    for (size_t i = 0; i < k->nchain; i++)
        sm__release(ctx, k->chain[i]);
    k->nchain = 0;
}

/* ==== Operations ==== */

enum { OP_READ, OP_WRITE, OP_CAS, OP_DELETE, OP_WATCH, OP_UNWATCH, OP_UNKNOWN };

static int op_code(const char *f)
{
    static const struct {
        const char *name;
        int code;
    } names[] = {{"read", OP_READ},   {"get", OP_READ},       {"write", OP_WRITE},
                 {"put", OP_WRITE},   {"cas", OP_CAS},        {"delete", OP_DELETE},
                 {"watch", OP_WATCH}, {"unwatch", OP_UNWATCH}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(f, names[i].name) == 0)
            return names[i].code;
    return OP_UNKNOWN;
}

static bool is_read_only(const json_t *op)
{
    const json_t *f = json_is_object(op) ? json_object_get(op, "f") : NULL;
    return json_is_string(f) && op_code(json_string_value(f)) == OP_READ;
}

static json_t *do_read(struct kv *kv, const json_t *k, bool *oom)
{
    struct key *e = lookup(kv, k, false, oom);
    if (*oom)
        return NULL;
    return sm__ok_value(e && e->value ? json_deep_copy(e->value) : json_null());
}

/* Sets k to a copy of v at `index`: a write (chain restarts) or a matched
 * cas (chain grows). Returns the result or NULL on OOM (nothing changed). */
static json_t *do_set(struct kv *kv, const struct sm_ctx *ctx, uint64_t index, const json_t *k,
                      const json_t *v, bool is_cas)
{
    bool oom = false;
    json_t *copy = json_deep_copy(v);
    struct key *e = copy ? lookup(kv, k, true, &oom) : NULL;
    json_t *event = NULL, *res = NULL;
    if (!e || !sm__grow(&e->chain, &e->capchain, is_cas ? e->nchain + 1 : 1, sizeof *e->chain) ||
        !(event = event_new(e, copy, index, is_cas ? "cas" : "write")) || !(res = sm__ok())) {
        json_decref(copy);
        json_decref(event);
        maybe_drop(kv, e);
        return NULL;
    }
    if (!is_cas)
        release_chain(ctx, e);
    e->chain[e->nchain++] = index;
    json_decref(e->value);
    e->value = copy;
    event_publish(ctx, e, event);
    return res;
}

/* Returns the result; *keep when the entry stays live. NULL on OOM. */
static json_t *dispatch(struct kv *kv, const struct sm_ctx *ctx, uint64_t index, uint64_t session,
                        const json_t *op, bool *keep)
{
    bool oom = false, large;
    json_t *res = NULL;
    const char *f = sm__op_f(op, &res, &oom);
    if (!f)
        return res;
    int code = op_code(f);
    if (code == OP_UNKNOWN)
        return sm__failf("bad_request",
                         "f: \"%.64s\" is not a kv operation (read, get, write, put, cas, "
                         "delete, watch, unwatch)",
                         f);
    if ((code == OP_WATCH || code == OP_UNWATCH) && session == 0)
        return sm__failf("bad_request", "session: %s needs a session", f);
    const json_t *k = json_object_get(op, "key");
    const char *problem = key_problem(k, &large);
    if (problem)
        return sm__failf(large ? "too_large" : "bad_request", "%s", problem);
    const json_t *v = NULL;
    if (code == OP_WRITE || code == OP_CAS) {
        v = sm__op_value(op, &res, &oom);
        if (!v)
            return res;
    }
    switch (code) {
    case OP_READ:
        return do_read(kv, k, &oom);
    case OP_WRITE:
        *keep = true;
        return do_set(kv, ctx, index, k, v, false);
    case OP_CAS: {
        if (!json_is_array(v) || json_array_size(v) != 2)
            return sm__failf("bad_request", "value: cas expects [old, new]");
        struct key *e = lookup(kv, k, false, &oom);
        if (oom)
            return NULL;
        const json_t *cur = e && e->value ? e->value : json_null();
        if (!json_equal(cur, json_array_get(v, 0)))
            return sm__fail("cas_mismatch");
        *keep = true;
        return do_set(kv, ctx, index, k, json_array_get(v, 1), true);
    }
    case OP_DELETE: {
        struct key *e = lookup(kv, k, false, &oom);
        if (oom)
            return NULL;
        if (!e || !e->value)
            return sm__ok();
        json_t *event = event_new(e, NULL, index, "delete");
        if (!event || !(res = sm__ok())) {
            json_decref(event);
            return NULL;
        }
        release_chain(ctx, e);
        json_decref(e->value);
        e->value = NULL;
        event_publish(ctx, e, event);
        maybe_drop(kv, e);
        return res;
    }
    case OP_WATCH: {
        struct session *s = session_get(kv, session);
        struct key *e = lookup(kv, k, false, &oom);
        bool found = false;
        if (oom)
            return NULL;
        if (e)
            watch_pos(e, session, &found);
        if (found)
            return sm__ok(); /* already watching: the first watch entry stays */
        if (s && s->n >= SM_WATCHES_MAX)
            return sm__failf("too_large", "watch: session %llu holds %d watches, limit %d",
                             (unsigned long long)session, SM_WATCHES_MAX, SM_WATCHES_MAX);
        e = lookup(kv, k, true, &oom);
        if (!e || !sm__grow(&e->watches, &e->capwatch, e->nwatch + 1, sizeof *e->watches) ||
            !(s = session_reserve(kv, session)) || !(res = sm__ok())) {
            session_drop_if_empty(kv, s ? s : session_get(kv, session));
            maybe_drop(kv, e);
            return NULL;
        }
        watch_add(e, s, index);
        *keep = true;
        return res;
    }
    case OP_UNWATCH: {
        struct session *s = session_get(kv, session);
        struct key *e = lookup(kv, k, false, &oom);
        bool found = false;
        if (oom)
            return NULL;
        size_t pos = e ? watch_pos(e, session, &found) : 0;
        if (!found)
            return sm__ok();
        if (!(res = sm__ok()))
            return NULL;
        sm__release(ctx, watch_remove(e, pos));
        for (size_t i = 0; i < s->n; i++) {
            if (s->held[i].key == e) {
                s->held[i] = s->held[--s->n];
                break;
            }
        }
        session_drop_if_empty(kv, s);
        maybe_drop(kv, e);
        return res;
    }
    default:
        return NULL;
    }
}

static int apply(void *st, const struct sm_ctx *ctx, uint64_t index, uint64_t session,
                 const json_t *op, json_t **result)
{
    bool keep = false;
    json_t *res = dispatch(st, ctx, index, session, op, &keep);
    if (!res)
        return FL_ENOMEM;
    if (!keep)
        sm__release(ctx, index);
    *result = res;
    return 0;
}

static int query(void *st, const json_t *op, json_t **result)
{
    if (!is_read_only(op))
        return FL_EUSAGE;
    bool keep = false;
    *result = dispatch(st, NULL, 0, 0, op, &keep);
    return *result ? 0 : FL_ENOMEM;
}

static int held_cmp(const void *pa, const void *pb)
{
    const struct held *a = pa, *b = pb;
    return a->index < b->index ? -1 : a->index > b->index;
}

static void session_closed(void *st, const struct sm_ctx *ctx, uint64_t session)
{
    struct kv *kv = st;
    struct session *s = session_get(kv, session);
    if (!s)
        return;
    if (s->n > 1)
        qsort(s->held, s->n, sizeof *s->held, held_cmp);
    for (size_t i = 0; i < s->n; i++) {
        struct key *e = s->held[i].key;
        bool found;
        size_t pos = watch_pos(e, session, &found);
        sm__release(ctx, watch_remove(e, pos));
        maybe_drop(kv, e);
    }
    s->n = 0;
    session_drop_if_empty(kv, s);
}

/* ==== Snapshots ==== */

static int key_cmp(const void *pa, const void *pb)
{
    const struct key *a = *(struct key *const *)pa, *b = *(struct key *const *)pb;
    size_t n = a->tlen < b->tlen ? a->tlen : b->tlen;
    int c = memcmp(a->text, b->text, n);
    return c ? c : (a->tlen < b->tlen ? -1 : a->tlen > b->tlen);
}

static int watch_cmp(const void *pa, const void *pb)
{
    const struct held *a = pa, *b = pb;
    uint64_t sa = a->key->watches[a->index].session, sb = b->key->watches[b->index].session;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    return key_cmp(&a->key, &b->key);
}

/* {"keys":[[key,value,[chain]]...],"sm":"kv","watches":[[session,key,index]...]}
 * with keys in canonical-text order and watches by (session, key). */
static json_t *snapshot_json(const struct kv *kv)
{
    struct key **v = fl_reallocarray(NULL, kv->keys.len + 1, sizeof *v);
    json_t *keys = json_array(), *watches = json_array(), *root = NULL;
    struct held *w = NULL;
    size_t n = 0, nw = 0, capw = 0;
    if (!v || !keys || !watches)
        goto out;
    for (size_t i = 0; i < kv->keys.cap; i++)
        if (kv->keys.slots[i].item)
            v[n++] = kv->keys.slots[i].item;
    qsort(v, n, sizeof *v, key_cmp);
    for (size_t i = 0; i < n; i++) {
        if (!v[i]->value)
            continue;
        json_t *chain = json_array();
        for (size_t j = 0; chain && j < v[i]->nchain; j++)
            if (json_array_append_new(chain, json_integer((json_int_t)v[i]->chain[j])) < 0)
                goto out_chain;
        if (json_array_append_new(keys, json_pack("[O,O,o]", v[i]->key, v[i]->value, chain)) < 0)
            goto out;
        continue;
    out_chain:
        json_decref(chain);
        goto out;
    }
    /* Watches: (key, position in key->watches) pairs sorted by (session, key). */
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < v[i]->nwatch; j++) {
            if (!sm__grow(&w, &capw, nw + 1, sizeof *w))
                goto out;
            w[nw++] = (struct held){v[i], j};
        }
    }
    if (nw > 1)
        qsort(w, nw, sizeof *w, watch_cmp);
    for (size_t i = 0; i < nw; i++) {
        const struct watch *x = &w[i].key->watches[w[i].index];
        if (json_array_append_new(watches, json_pack("[I,O,I]", (json_int_t)x->session,
                                                     w[i].key->key, (json_int_t)x->index)) < 0)
            goto out;
    }
    root = json_pack("{s:s,s:O,s:O}", "sm", "kv", "keys", keys, "watches", watches);
out:
    fl_free(v);
    fl_free(w);
    json_decref(keys);
    json_decref(watches);
    return root;
}

static int snapshot(void *st, struct fl_buf *out)
{
    json_t *root = snapshot_json(st);
    bool ok = root && sm__dump(root, out);
    json_decref(root);
    return ok ? 0 : FL_ENOMEM;
}

static int restore_keys(struct kv *kv, const json_t *keys, char *errmsg)
{
    bool oom = false, large;
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *x = json_array_get(keys, i), *chain = json_array_get(x, 2);
        if (!json_is_array(x) || json_array_size(x) != 3 || !json_is_array(chain) ||
            json_array_size(chain) == 0)
            return fl_errorf(errmsg, FL_ESHAPE,
                             "snapshot: keys[%zu]: expected [key, value, [index...]]", i);
        const char *problem = key_problem(json_array_get(x, 0), &large);
        if (problem)
            return fl_errorf(errmsg, large ? FL_ELIMIT : FL_ESHAPE, "snapshot: keys[%zu]: %s", i,
                             problem);
        size_t vsize = sm__encoded_size(json_array_get(x, 1));
        if (vsize > SM_VALUE_MAX && vsize != SIZE_MAX)
            return fl_errorf(errmsg, FL_ELIMIT, "snapshot: keys[%zu]: value: %zu bytes, limit %d",
                             i, vsize, SM_VALUE_MAX);
        size_t before = kv->keys.len;
        struct key *e = lookup(kv, json_array_get(x, 0), true, &oom);
        if (!e)
            return fl_errorf(errmsg, FL_ENOMEM, "snapshot: out of memory");
        if (kv->keys.len == before)
            return fl_errorf(errmsg, FL_ESHAPE, "snapshot: keys[%zu]: duplicate key", i);
        size_t n = json_array_size(chain);
        if (!sm__grow(&e->chain, &e->capchain, n, sizeof *e->chain) ||
            !(e->value = json_deep_copy(json_array_get(x, 1)))) {
            maybe_drop(kv, e);
            return fl_errorf(errmsg, FL_ENOMEM, "snapshot: out of memory");
        }
        for (size_t j = 0; j < n; j++) {
            uint64_t idx;
            if (!sm__index(json_array_get(chain, j), &idx) || (j > 0 && idx <= e->chain[j - 1]))
                return fl_errorf(errmsg, FL_ESHAPE,
                                 "snapshot: keys[%zu]: indices: expected increasing integers >= 1",
                                 i);
            e->chain[e->nchain++] = idx;
        }
    }
    return 0;
}

static int restore_watches(struct kv *kv, const json_t *watches, char *errmsg)
{
    bool oom = false, large;
    for (size_t i = 0; i < json_array_size(watches); i++) {
        const json_t *x = json_array_get(watches, i);
        uint64_t sid, idx;
        if (!json_is_array(x) || json_array_size(x) != 3 ||
            !sm__index(json_array_get(x, 0), &sid) || !sm__index(json_array_get(x, 2), &idx))
            return fl_errorf(errmsg, FL_ESHAPE,
                             "snapshot: watches[%zu]: expected [session, key, index]", i);
        const char *problem = key_problem(json_array_get(x, 1), &large);
        if (problem)
            return fl_errorf(errmsg, large ? FL_ELIMIT : FL_ESHAPE, "snapshot: watches[%zu]: %s", i,
                             problem);
        struct session *s = session_get(kv, sid);
        if (s && s->n >= SM_WATCHES_MAX)
            return fl_errorf(errmsg, FL_ELIMIT,
                             "snapshot: watches[%zu]: session %llu: over %d watches", i,
                             (unsigned long long)sid, SM_WATCHES_MAX);
        struct key *e = lookup(kv, json_array_get(x, 1), true, &oom);
        bool found;
        if (e && (watch_pos(e, sid, &found), found))
            return fl_errorf(errmsg, FL_ESHAPE, "snapshot: watches[%zu]: duplicate watch", i);
        if (!e || !sm__grow(&e->watches, &e->capwatch, e->nwatch + 1, sizeof *e->watches) ||
            !(s = session_reserve(kv, sid))) {
            session_drop_if_empty(kv, session_get(kv, sid));
            maybe_drop(kv, e);
            return fl_errorf(errmsg, FL_ENOMEM, "snapshot: out of memory");
        }
        watch_add(e, s, idx);
    }
    return 0;
}

static int restore(void *st, const char *bytes, size_t len, char *errmsg)
{
    int rc = 0;
    json_t *root = sm__snapshot_parse(bytes, len, "kv", errmsg, &rc);
    if (!root)
        return rc;
    struct kv fresh;
    kv_init(&fresh);
    const json_t *keys = json_object_get(root, "keys"), *watches = json_object_get(root, "watches");
    if (!json_is_array(keys) || !json_is_array(watches) || json_object_size(root) != 3) {
        rc = fl_errorf(errmsg, FL_ESHAPE, "snapshot: expected {sm, keys: [...], watches: [...]}");
        goto out;
    }
    if ((rc = restore_keys(&fresh, keys, errmsg)) < 0 ||
        (rc = restore_watches(&fresh, watches, errmsg)) < 0)
        goto out;
    clear(st);
    *(struct kv *)st = fresh;
    kv_init(&fresh);
out:
    clear(&fresh);
    json_decref(root);
    return rc;
}

const struct sm_type sm_kv = {
    .name = "kv",
    .summary = "read|get {key}, write|put {key,value}, cas {key,value:[old,new]}, delete {key}, "
               "watch {key}, unwatch {key}",
    .create = create,
    .destroy = destroy,
    .is_read_only = is_read_only,
    .apply = apply,
    .query = query,
    .snapshot = snapshot,
    .restore = restore,
    .session_closed = session_closed,
};
