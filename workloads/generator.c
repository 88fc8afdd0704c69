/* generator.c - seeded operation generators: register, kv, counter, set, queue and the
 * transactional list-append / rw-register. */
#include "workloads/generator.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

static const char *const names[] = {NULL,  "register",    "kv",         "counter",
                                     "set", "queue",       "list-append", "rw-register"};

int workload_model_parse(const char *s, enum workload_model *out)
{
    for (int m = WORKLOAD_REGISTER; m <= WORKLOAD_RW_REGISTER; m++)
        if (s != NULL && strcmp(s, names[m]) == 0) {
            *out = (enum workload_model)m;
            return 0;
        }
    return FL_EUSAGE;
}

const char *workload_model_name(enum workload_model m)
{
    return m >= WORKLOAD_REGISTER && m <= WORKLOAD_RW_REGISTER ? names[m] : "?";
}

const char *workload_model_sm(enum workload_model m)
{
    switch (m) {
    case WORKLOAD_COUNTER:
        return "counter";
    case WORKLOAD_SET:
        return "set";
    case WORKLOAD_QUEUE:
        return "queue";
    case WORKLOAD_LIST_APPEND:
    case WORKLOAD_RW_REGISTER:
        return "txn";
    default:
        return "kv";
    }
}

const char *workload_model_checker(enum workload_model m)
{
    switch (m) {
    case WORKLOAD_REGISTER:
        return "register";
    case WORKLOAD_KV:
        return "kv";
    case WORKLOAD_COUNTER:
        return "counter";
    case WORKLOAD_SET:
        return "set";
    case WORKLOAD_LIST_APPEND:
    case WORKLOAD_RW_REGISTER:
        return names[m];
    default:
        return "queue";
    }
}

bool workload_model_is_txn(enum workload_model m)
{
    return m == WORKLOAD_LIST_APPEND || m == WORKLOAD_RW_REGISTER;
}

void workload_generator_defaults(struct workload_generator_config *c, enum workload_model m)
{
    memset(c, 0, sizeof *c);
    c->model = m;
    c->keys = m == WORKLOAD_KV || workload_model_is_txn(m) ? 4 : 1;
    c->rotation_ops = m == WORKLOAD_KV ? 200 : 0;
    c->txn_max_ops = 4;
    switch (m) {
    case WORKLOAD_REGISTER:
    case WORKLOAD_KV:
        c->mix = (struct workload_mix){.read = 2, .write = 2, .cas = 1};
        break;
    case WORKLOAD_COUNTER:
        c->mix = (struct workload_mix){.read = 1, .add = 4};
        break;
    case WORKLOAD_SET:
        c->mix = (struct workload_mix){.read = 1, .add = 4};
        break;
    case WORKLOAD_QUEUE:
        c->mix = (struct workload_mix){.enqueue = 1, .dequeue = 1};
        break;
    case WORKLOAD_LIST_APPEND:
    case WORKLOAD_RW_REGISTER:
        c->mix = (struct workload_mix){.read = 1, .write = 1};
        break;
    }
}

int workload_generator_init(struct workload_generator *g, const struct workload_generator_config *c)
{
    memset(g, 0, sizeof *g);
    g->c = *c;
    if (g->c.keys == 0)
        g->c.keys = 1;
    if (g->c.txn_max_ops == 0)
        g->c.txn_max_ops = 1;
    if (g->c.txn_max_ops > WORKLOAD_TXN_MAX_OPS)
        g->c.txn_max_ops = WORKLOAD_TXN_MAX_OPS;
    fl_rng_seed(&g->rng, c->seed);
    g->next_value = 1;
    g->key_ops = fl_calloc(g->c.keys, sizeof *g->key_ops);
    g->key_id = fl_calloc(g->c.keys, sizeof *g->key_id);
    g->key_last = fl_calloc(g->c.keys, sizeof *g->key_last);
    if (g->key_ops == NULL || g->key_id == NULL || g->key_last == NULL) {
        workload_generator_close(g);
        return FL_ENOMEM;
    }
    for (unsigned i = 0; i < g->c.keys; i++)
        g->key_id[i] = g->next_key++;
    return 0;
}

void workload_generator_close(struct workload_generator *g)
{
    fl_free(g->key_ops);
    fl_free(g->key_id);
    fl_free(g->key_last);
    g->key_ops = g->key_id = g->key_last = NULL;
}

static json_t *key_json(uint64_t id)
{
    char k[32];
    snprintf(k, sizeof k, "k%llu", (unsigned long long)id);
    return json_string(k);
}

/* Picks an operation kind by weight among those `model` allows. */
static const char *pick(struct workload_generator *g)
{
    const struct workload_mix *m = &g->c.mix;
    struct choice {
        const char *f;
        unsigned w;
    } k[6] = {{"read", 0}};
    unsigned n = 0, total = 0;
    switch (g->c.model) {
    case WORKLOAD_REGISTER:
    case WORKLOAD_KV:
    case WORKLOAD_LIST_APPEND:
    case WORKLOAD_RW_REGISTER:
        k[n++] = (struct choice){"read", m->read};
        k[n++] = (struct choice){"write", m->write};
        k[n++] = (struct choice){"cas", m->cas};
        break;
    case WORKLOAD_COUNTER:
    case WORKLOAD_SET:
        k[n++] = (struct choice){"read", m->read};
        k[n++] = (struct choice){"add", m->add};
        break;
    case WORKLOAD_QUEUE:
        k[n++] = (struct choice){"enqueue", m->enqueue};
        k[n++] = (struct choice){"dequeue", m->dequeue};
        k[n++] = (struct choice){"read", m->read};
        break;
    }
    for (unsigned i = 0; i < n; i++)
        total += k[i].w;
    if (total == 0)
        return k[0].f;
    uint64_t x = fl_rng_below(&g->rng, total);
    for (unsigned i = 0; i < n; i++) {
        if (x < k[i].w)
            return k[i].f;
        x -= k[i].w;
    }
    return k[n - 1].f;
}

/* Value number v: the integer itself, or a string of exactly value_bytes
 * characters starting with the number (unique, so a read still names the
 * write it saw). Counter and set values stay integers (the scenario refuses
 * value_bytes for them). NULL only when out of memory. */
static json_t *value_json(const struct workload_generator *g, uint64_t v)
{
    if (g->c.value_bytes == 0 || g->c.model == WORKLOAD_COUNTER || g->c.model == WORKLOAD_SET)
        return json_integer((json_int_t)v);
    char num[24];
    size_t k = (size_t)snprintf(num, sizeof num, "%llu-", (unsigned long long)v);
    size_t n = g->c.value_bytes > k ? g->c.value_bytes : k;
    char small[512]; /* most values: no allocation besides jansson's own */
    char *buf = n < sizeof small ? small : fl_malloc(n + 1);
    if (buf == NULL)
        return NULL;
    memcpy(buf, num, k);
    for (size_t i = k; i < n; i++)
        buf[i] = (char)('a' + (v + i) % 26);
    buf[n] = '\0';
    json_t *out = json_stringn(buf, n);
    if (buf != small)
        fl_free(buf);
    return out;
}

/* The key slot of the next operation (kv, transactions): a random one,
 * retired for a fresh key after rotation_ops operations. */
static unsigned next_slot(struct workload_generator *g)
{
    unsigned slot = (unsigned)fl_rng_below(&g->rng, g->c.keys);
    if (g->c.rotation_ops > 0 && g->key_ops[slot] >= g->c.rotation_ops) {
        g->key_id[slot] = g->next_key++;
        g->key_ops[slot] = 0;
        g->key_last[slot] = 0;
    }
    g->key_ops[slot]++;
    return slot;
}

/* A transaction of 1..txn_max_ops micro-ops: [f, key, value] with f "r"
 * (value null), "append" (list-append) or "w" (rw-register) of a value no
 * other micro-op of the run writes. */
static json_t *txn_next(struct workload_generator *g)
{
    json_t *op = json_pack("{s:s}", "f", "txn"), *mops = json_array();
    if (op == NULL || mops == NULL) {
        json_decref(op);
        json_decref(mops);
        return NULL;
    }
    json_object_set_new(op, "value", mops);
    unsigned n = 1 + (unsigned)fl_rng_below(&g->rng, g->c.txn_max_ops);
    for (unsigned i = 0; i < n; i++) {
        bool rd = strcmp(pick(g), "read") == 0;
        unsigned slot = next_slot(g);
        json_t *m = json_array();
        if (m == NULL || json_array_append_new(mops, m) != 0) {
            json_decref(op);
            return NULL;
        }
        json_array_append_new(m, json_string(rd ? "r" : g->c.model == WORKLOAD_LIST_APPEND ? "append"
                                                                                          : "w"));
        json_array_append_new(m, key_json(g->key_id[slot]));
        json_array_append_new(m, rd ? json_null() : json_integer((json_int_t)g->next_value++));
        if (json_array_size(m) != 3) {
            json_decref(op);
            return NULL;
        }
    }
    return op;
}

json_t *workload_generator_next(struct workload_generator *g)
{
    if (workload_model_is_txn(g->c.model))
        return txn_next(g);
    const char *f = pick(g);
    json_t *op = json_pack("{s:s}", "f", f);
    if (op == NULL)
        return NULL;
    unsigned slot = 0;
    if (g->c.model == WORKLOAD_KV) {
        slot = next_slot(g);
        json_object_set_new(op, "key", key_json(g->key_id[slot]));
    }
    if (strcmp(f, "write") == 0 || strcmp(f, "enqueue") == 0 ||
        (strcmp(f, "add") == 0 && g->c.model == WORKLOAD_SET)) {
        g->last_value = g->next_value;
        g->key_last[slot] = g->next_value;
        json_object_set_new(op, "value", value_json(g, g->next_value++));
    } else if (strcmp(f, "add") == 0) {
        json_object_set_new(op, "value", json_integer(1));
    } else if (strcmp(f, "cas") == 0) {
        /* Expect the key's last written value most of the time (it may
         * have moved on under concurrency: some succeed, some fail). */
        uint64_t last = g->key_last[slot];
        json_int_t old = fl_rng_chance(&g->rng, 0.8) && last > 0 ? (json_int_t)last
                         : last > 1                                ? (json_int_t)(last - 1)
                                                                   : 0;
        g->key_last[slot] = g->next_value;
        json_t *pair = json_array();
        json_array_append_new(pair, old > 0 ? value_json(g, (uint64_t)old) : json_integer(0));
        json_array_append_new(pair, value_json(g, g->next_value++));
        json_object_set_new(op, "value", pair);
    }
    return op;
}

uint64_t workload_generator_keys(const struct workload_generator *g, json_t **keys, uint64_t max)
{
    if (g->c.model != WORKLOAD_KV && !workload_model_is_txn(g->c.model)) {
        if (max > 0)
            keys[0] = NULL;
        return 1;
    }
    for (uint64_t i = 0; i < g->next_key && i < max; i++)
        keys[i] = key_json(i);
    return g->next_key;
}

json_t *workload_generator_read(const struct workload_generator *g, const json_t *key)
{
    if (workload_model_is_txn(g->c.model))
        return key != NULL ? json_pack("{s:s, s:[[s, O, n]]}", "f", "txn", "value", "r", key) : NULL;
    json_t *op = json_pack("{s:s}", "f", "read");
    if (op != NULL && key != NULL && g->c.model == WORKLOAD_KV)
        json_object_set(op, "key", (json_t *)key);
    return op;
}
