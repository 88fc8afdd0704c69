/* history.c - pairs a stream of events into operations for the checker. */
#include "checker/history.h"

#include "common/alloc.h"
#include "common/edn.h"
#include "common/error.h"
#include "common/mem.h"
#include "common/rng.h"

#include <string.h>

#define HISTORY_RSS_HEADROOM ((size_t)4 << 20)

/* ==== String intern table (open addressing) ==== */

/* ==== Open-addressing tables of pointers (strings, values) ==== */

/* Keeps a table of `cap` slots (a power of two, NULL = empty) at most half
 * full before one more entry: doubles it (from `first`) and re-places every
 * entry by `hash`. Returns false when out of memory (the table unchanged). */
static bool slots_make_room(void ***slots, size_t *cap, size_t n, size_t first,
                            uint64_t (*hash)(const void *))
{
    if ((n + 1) * 2 <= *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : first;
    void **ns = fl_calloc(ncap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < *cap; i++) {
        if (!(*slots)[i])
            continue;
        size_t j = hash((*slots)[i]) & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = (*slots)[i];
    }
    fl_free(*slots);
    *slots = ns;
    *cap = ncap;
    return true;
}

static uint64_t str_hash(const void *s)
{
    return fl_hash_str(s);
}

struct strtab {
    void **slots; /* char *, owned */
    size_t cap, n;
};

const char *checker_history_intern(struct checker_history *h, const char *s)
{
    struct strtab *t = h->strings;
    if (!t) {
        t = fl_calloc(1, sizeof *t);
        if (!t)
            return NULL;
        h->strings = t;
    }
    if (!slots_make_room(&t->slots, &t->cap, t->n, 64, str_hash))
        return NULL;
    size_t j = fl_hash_str(s) & (t->cap - 1);
    while (t->slots[j]) {
        if (strcmp(t->slots[j], s) == 0)
            return t->slots[j];
        j = (j + 1) & (t->cap - 1);
    }
    char *copy = fl_strdup(s);
    if (!copy)
        return NULL;
    t->slots[j] = copy;
    t->n++;
    return copy;
}

static void strtab_free(struct strtab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        fl_free(t->slots[i]);
    fl_free(t->slots);
    fl_free(t);
}

/* ==== Keys: JSON scalars mapped to dense ids ==== */

struct keytab {
    uint32_t *slots; /* key id + 1, 0 = empty */
    size_t cap;
};

/* A string's hash over all its bytes: a tagged EDN value starts with NUL
 * (common/edn.h), and hashing only up to it would put every keyword in one
 * probe chain. */
static uint64_t hash_string(const json_t *s)
{
    const unsigned char *p = (const unsigned char *)json_string_value(s);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0, n = json_string_length(s); i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return fl_mix64(h);
}

static uint64_t key_hash(const json_t *k)
{
    if (json_is_integer(k))
        return fl_mix64((uint64_t)json_integer_value(k) ^ 0x5bd1e995ULL);
    return hash_string(k);
}

static int key_id(struct checker_history *h, struct keytab *kt, json_t *key, uint32_t *out)
{
    if (h->n_keys + 1 > UINT32_MAX / 2)
        return FL_ELIMIT;
    if ((h->n_keys + 1) * 2 > kt->cap) {
        size_t cap = kt->cap ? kt->cap * 2 : 64;
        uint32_t *slots = fl_calloc(cap, sizeof *slots);
        json_t **keys = fl_reallocarray(h->keys, cap, sizeof *keys);
        if (!slots || !keys) {
            fl_free(slots);
            if (keys)
                h->keys = keys;
            return FL_ENOMEM;
        }
        h->keys = keys;
        for (size_t i = 0; i < kt->cap; i++) {
            if (!kt->slots[i])
                continue;
            size_t j = key_hash(h->keys[kt->slots[i] - 1]) & (cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = kt->slots[i];
        }
        fl_free(kt->slots);
        kt->slots = slots;
        kt->cap = cap;
    }
    size_t j = key_hash(key) & (kt->cap - 1);
    while (kt->slots[j]) {
        if (json_equal(h->keys[kt->slots[j] - 1], key)) {
            *out = kt->slots[j] - 1;
            return 0;
        }
        j = (j + 1) & (kt->cap - 1);
    }
    uint32_t id = (uint32_t)h->n_keys++;
    h->keys[id] = json_incref(key);
    kt->slots[j] = id + 1;
    *out = id;
    return 0;
}

/* ==== Values: equal values shared ==== */

/* Open addressing over values that can be compared cheaply: integers,
 * strings, and arrays of at most 4 of those (a cas's [old new]). With unique
 * values every write's value is held once and every read's value is the
 * written one, instead of one allocation per event. The table holds one
 * reference per entry. */
struct valtab {
    void **slots; /* json_t *, one reference each */
    size_t cap, n;
};

static bool internable(const json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_STRING:
        return true;
    case JSON_ARRAY:
        if (depth > 0 || json_array_size(v) > 4)
            return false;
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (!json_is_null(e) && !internable(e, depth + 1))
                return false;
        }
        return true;
    default:
        return false;
    }
}

static uint64_t value_hash(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER:
        return fl_mix64((uint64_t)json_integer_value(v) ^ 0x9e3779b97f4a7c15ULL);
    case JSON_STRING:
        return hash_string(v) ^ 0x51;
    case JSON_ARRAY: {
        uint64_t x = 0xa5a5 + json_array_size(v);
        for (size_t i = 0; i < json_array_size(v); i++)
            x = fl_mix64(x ^ value_hash(json_array_get(v, i)));
        return x;
    }
    default:
        return 7;
    }
}

static uint64_t value_hash_slot(const void *v)
{
    return value_hash(v);
}

/* Returns a new reference to a value equal to `v` (borrowed): the shared one
 * when `v` can be interned, else `v` itself; NULL when out of memory. */
static json_t *intern_value(struct checker_history *h, json_t *v)
{
    if (json_is_null(v) || json_is_true(v) || json_is_false(v) || !internable(v, 0))
        return json_incref(v); /* singletons, or kept as read */
    struct valtab *t = h->values;
    if (!t) {
        t = fl_calloc(1, sizeof *t);
        if (!t)
            return NULL;
        h->values = t;
    }
    if (!slots_make_room(&t->slots, &t->cap, t->n, 64, value_hash_slot))
        return NULL;
    size_t j = value_hash(v) & (t->cap - 1);
    while (t->slots[j]) {
        if (json_equal(t->slots[j], v))
            return json_incref(t->slots[j]);
        j = (j + 1) & (t->cap - 1);
    }
    t->slots[j] = json_incref(v);
    t->n++;
    return json_incref(v);
}

static void valtab_free(struct valtab *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        json_decref(t->slots[i]);
    fl_free(t->slots);
    fl_free(t);
}

/* ==== Pairing ==== */

/* Open operation per process: index into ops, or -1. Processes are dense
 * small integers in practice but untrusted, so this is a hash map. */
struct proctab {
    int64_t *procs;
    int64_t *open;
    size_t cap, n;
};

static int64_t *proc_slot(struct proctab *p, int64_t process)
{
    if ((p->n + 1) * 2 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        int64_t *procs = fl_malloc(cap * sizeof *procs);
        int64_t *open = fl_malloc(cap * sizeof *open);
        if (!procs || !open) {
            fl_free(procs);
            fl_free(open);
            return NULL;
        }
        for (size_t i = 0; i < cap; i++)
            procs[i] = -1;
        for (size_t i = 0; i < p->cap; i++) {
            if (p->procs[i] < 0)
                continue;
            size_t j = fl_mix64((uint64_t)p->procs[i]) & (cap - 1);
            while (procs[j] >= 0)
                j = (j + 1) & (cap - 1);
            procs[j] = p->procs[i];
            open[j] = p->open[i];
        }
        fl_free(p->procs);
        fl_free(p->open);
        p->procs = procs;
        p->open = open;
        p->cap = cap;
    }
    size_t j = fl_mix64((uint64_t)process) & (p->cap - 1);
    while (p->procs[j] >= 0) {
        if (p->procs[j] == process)
            return &p->open[j];
        j = (j + 1) & (p->cap - 1);
    }
    p->procs[j] = process;
    p->open[j] = -1;
    p->n++;
    return &p->open[j];
}

static int push_op(struct checker_history *h, size_t *cap)
{
    if (h->n_ops >= CHECKER_MAX_OPS)
        return FL_ELIMIT;
    if (h->n_ops == *cap) {
        /* 64 first: a small history touches a few pages, not 120 KiB's. */
        size_t ncap = *cap ? *cap * 2 : 64;
        struct checker_hop *ops = fl_reallocarray(h->ops, ncap, sizeof *ops);
        if (!ops)
            return FL_ENOMEM;
        h->ops = ops;
        *cap = ncap;
    }
    return 0;
}

static int keep_nemesis(struct checker_history *h, struct fl_event *ev, size_t *cap)
{
    if (h->n_nemesis_events == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct fl_event *n = fl_reallocarray(h->nemesis, ncap, sizeof *n);
        if (!n)
            return FL_ENOMEM;
        h->nemesis = n;
        *cap = ncap;
    }
    h->nemesis[h->n_nemesis_events++] = *ev; /* takes ownership */
    fl_event_init(ev);
    return 0;
}

static int keep_node_event(struct checker_history *h, struct fl_event *ev, size_t *cap)
{
    if (h->n_node_events == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct fl_event *n = fl_reallocarray(h->node_events, ncap, sizeof *n);
        if (!n)
            return FL_ENOMEM;
        h->node_events = n;
        *cap = ncap;
    }
    h->node_events[h->n_node_events++] = *ev; /* takes ownership */
    fl_event_init(ev);
    return 0;
}

int checker_history_read(struct checker_history *h, struct fl_history_reader *r, char *errmsg)
{
    struct proctab procs = {0};
    struct keytab keys = {0};
    struct fl_event ev;
    size_t cap = 0, nem_cap = 0, node_cap = 0;
    int rc;
    const char *path = r->path;

    fl_event_init(&ev);
    /* Slot 0 stands for "no key". */
    h->keys = fl_calloc(1, sizeof *h->keys);
    if (!h->keys)
        return fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", path);
    h->n_keys = 1;
    h->format = r->format;

    while ((rc = fl_history_reader_next(r, &ev, errmsg)) == 1) {
        /* Every 1024 events: one read of /proc/self/statm (~2 us, ~2 ns per
         * event); reading stops 4 MiB short of the bound, room for the events
         * between two looks (~128 KiB; ~1 MiB under ASan, whose redzones made
         * 8192 events grow past the 4 MiB). */
        if (h->max_rss && (h->n_events & 1023) == 0) {
            size_t rss = fl_mem_rss();
            if (rss + HISTORY_RSS_HEADROOM > h->max_rss) {
                /* Both terms of the comparison: the resident size alone may
                 * still be under the bound. */
                rc = fl_errorf(errmsg, FL_EBUDGET,
                               "%s: line %llu: the history needs more memory than --max-memory "
                               "%zu MiB (%.1f MiB resident after %zu operations, plus %zu MiB "
                               "kept to read the next 1024 events: %.1f MiB)",
                               path, (unsigned long long)ev.line, h->max_rss >> 20,
                               (double)rss / (1 << 20), h->n_ops, HISTORY_RSS_HEADROOM >> 20,
                               (double)(rss + HISTORY_RSS_HEADROOM) / (1 << 20));
                goto out;
            }
        }
        int64_t pos = (int64_t)h->n_events++;
        if (ev.process == FL_PROCESS_NODE) {
            if ((rc = keep_node_event(h, &ev, &node_cap)) < 0) {
                fl_errorf(errmsg, rc, "%s: out of memory", path);
                goto out;
            }
            continue;
        }
        if (ev.process == FL_PROCESS_NEMESIS) {
            h->n_nemesis++;
            if ((rc = keep_nemesis(h, &ev, &nem_cap)) < 0) {
                fl_errorf(errmsg, rc, "%s: out of memory", path);
                goto out;
            }
            continue;
        }
        int64_t *open = proc_slot(&procs, ev.process);
        if (!open) {
            rc = fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", path);
            goto out;
        }
        if (ev.type == FL_EVENT_INVOKE) {
            if (*open >= 0) {
                rc = fl_errorf(
                    errmsg, FL_EHISTORY,
                    "%s: line %llu: process: process %lld invoked %s while its %s from line "
                    "%llu is still in flight",
                    path, (unsigned long long)ev.line, (long long)ev.process, ev.f, h->ops[*open].f,
                    (unsigned long long)h->ops[*open].call_line);
                goto out;
            }
            if ((rc = push_op(h, &cap)) < 0) {
                fl_errorf(errmsg, rc, "%s: line %llu: too many operations (limit %u)", path,
                          (unsigned long long)ev.line, CHECKER_MAX_OPS);
                goto out;
            }
            struct checker_hop *op = &h->ops[h->n_ops];
            memset(op, 0, sizeof *op);
            op->process = ev.process;
            op->status = FL_EVENT_INFO; /* until completed */
            op->f = checker_history_intern(h, ev.f);
            op->node = ev.node ? checker_history_intern(h, ev.node) : NULL;
            op->consistency = ev.consistency ? checker_history_intern(h, ev.consistency) : NULL;
            op->call = pos;
            op->ret = CHECKER_POS_NEVER;
            op->call_time = ev.time;
            op->ret_time = -1;
            op->call_line = ev.line;
            op->invoke_value = ev.value ? intern_value(h, ev.value) : json_null();
            op->value = json_incref(op->invoke_value);
            if (ev.key) {
                /* The key table's value, shared by every op of the key. */
                if ((rc = key_id(h, &keys, ev.key, &op->key_id)) < 0) {
                    json_decref(op->value);
                    json_decref(op->invoke_value);
                    fl_errorf(errmsg, rc, "%s: line %llu: key: too many keys", path,
                              (unsigned long long)ev.line);
                    goto out;
                }
                op->key = json_incref(h->keys[op->key_id]);
            }
            if (!op->f || !op->invoke_value || (ev.node && !op->node) ||
                (ev.consistency && !op->consistency)) {
                json_decref(op->key);
                json_decref(op->value);
                json_decref(op->invoke_value);
                rc = fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", path);
                goto out;
            }
            *open = (int64_t)h->n_ops++;
            continue;
        }
        /* A completion. */
        if (*open < 0) {
            rc = fl_errorf(errmsg, FL_EHISTORY,
                           "%s: line %llu: type: %s of %s on process %lld with no invoke in flight",
                           path, (unsigned long long)ev.line, fl_event_type_name(ev.type), ev.f,
                           (long long)ev.process);
            goto out;
        }
        struct checker_hop *op = &h->ops[*open];
        if (strcmp(op->f, ev.f) != 0) {
            rc = fl_errorf(errmsg, FL_EHISTORY,
                           "%s: line %llu: f: completion %s does not match invoke %s on line %llu",
                           path, (unsigned long long)ev.line, ev.f, op->f,
                           (unsigned long long)op->call_line);
            goto out;
        }
        if (ev.key && op->key && !json_equal(ev.key, op->key)) {
            rc = fl_errorf(
                errmsg, FL_EHISTORY,
                "%s: line %llu: key: completion key differs from the invoke's on line %llu", path,
                (unsigned long long)ev.line, (unsigned long long)op->call_line);
            goto out;
        }
        op->status = ev.type;
        op->ret_line = ev.line;
        if (ev.error && ev.type != FL_EVENT_OK)
            op->error = json_incref(ev.error); /* a cas mismatch told from a refused connection */
        if (ev.type == FL_EVENT_INFO) {
            h->n_info++; /* may still take effect: stays open-ended */
        } else {
            op->ret = pos;
            op->ret_time = ev.time;
            if (ev.type == FL_EVENT_OK) {
                h->n_ok++;
                op->value_unknown = !ev.value;
                if (ev.value) {
                    json_t *v = intern_value(h, ev.value);
                    if (!v) {
                        rc = fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", path);
                        goto out;
                    }
                    json_decref(op->value);
                    op->value = v;
                }
            } else {
                h->n_fail++;
            }
        }
        *open = -1;
    }
    if (rc < 0)
        goto out;
    if (h->n_events == 0) {
        /* Plain text, a Jepsen log without one event line, an empty file:
         * calling that `valid` would pass a test that recorded nothing. */
        rc = fl_errorf(errmsg, FL_EHISTORY, "%s: no history event in the file (%s format)", path,
                       fl_history_format_name(r->format));
        goto out;
    }
    rc = 0;
    /* Operations never completed are indeterminate, like info. */
    for (size_t i = 0; i < procs.cap; i++)
        if (procs.procs[i] >= 0 && procs.open[i] >= 0)
            h->n_info++;
out:
    fl_event_clear(&ev);
    fl_free(procs.procs);
    fl_free(procs.open);
    fl_free(keys.slots);
    return rc;
}

int checker_history_load_capped(struct checker_history *h, const char *path,
                                enum fl_history_format format, size_t max_rss, char *errmsg)
{
    struct fl_history_reader r;
    memset(h, 0, sizeof *h);
    h->path = fl_strdup(path);
    if (!h->path)
        return fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", path);
    h->max_rss = max_rss;
    int rc = fl_history_reader_open(&r, path, format, errmsg);
    if (rc < 0) {
        fl_free(h->path);
        h->path = NULL;
        return rc;
    }
    rc = checker_history_read(h, &r, errmsg);
    fl_history_reader_close(&r);
    if (rc < 0) {
        /* Over the memory bound, or holding numbers whose equality cannot be
         * decided (common/jsonl_value.h), the history is released but keeps
         * its name and says why it is empty: a verdict of `unknown`. */
        char *keep = rc == FL_EBUDGET || rc == FL_EUNDECIDED ? h->path : NULL;
        if (keep)
            h->path = NULL;
        checker_history_free(h);
        h->path = keep;
        h->truncated = keep != NULL;
        h->max_rss = max_rss;
    }
    return rc;
}

int checker_history_load(struct checker_history *h, const char *path, enum fl_history_format format,
                         char *errmsg)
{
    return checker_history_load_capped(h, path, format, 0, errmsg);
}

void checker_history_free(struct checker_history *h)
{
    for (size_t i = 0; i < h->n_ops; i++) {
        json_decref(h->ops[i].key);
        json_decref(h->ops[i].value);
        json_decref(h->ops[i].invoke_value);
        json_decref(h->ops[i].error);
    }
    fl_free(h->ops);
    for (size_t i = 0; i < h->n_keys; i++)
        json_decref(h->keys ? h->keys[i] : NULL);
    fl_free(h->keys);
    for (size_t i = 0; i < h->n_nemesis_events; i++)
        fl_event_clear(&h->nemesis[i]);
    fl_free(h->nemesis);
    for (size_t i = 0; i < h->n_node_events; i++)
        fl_event_clear(&h->node_events[i]);
    fl_free(h->node_events);
    strtab_free(h->strings);
    valtab_free(h->values);
    fl_free(h->path);
    memset(h, 0, sizeof *h);
}
