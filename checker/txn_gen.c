/* txn_gen.c - a simulated strict-serializable store writing list-append / rw-register histories. */
#include "checker/txn_gen.h"

#include "common/alloc.h"
#include "common/error.h"
#include "common/rng.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

void checker_txn_gen_defaults(struct checker_txn_gen_config *c)
{
    *c = (struct checker_txn_gen_config){.workload = CHECKER_TXN_LIST_APPEND,
                                         .n_txns = 1000,
                                         .processes = 10,
                                         .active_keys = 10,
                                         .max_writes_per_key = 32,
                                         .min_ops = 1,
                                         .max_ops = 4,
                                         .read_ratio = 0.5,
                                         .crash = 0.0,
                                         .seed = 1};
}

struct gop {
    uint8_t f; /* enum checker_txn_f */
    uint64_t key;
    int64_t value; /* write: value; read: filled at completion */
};

struct gtxn {
    struct gop ops[16];
    int n;
    int64_t *reads[16]; /* list-append read contents (owned) */
    uint32_t rlen[16];
    bool rnil[16];
};

struct gkey {
    int64_t *list; /* list-append: the values; rw-register: list[0] when len */
    uint32_t len, cap;
    int64_t next; /* next value */
    int writes;
};

struct sim {
    const struct checker_txn_gen_config *c;
    struct fl_rng rng;
    struct gkey *keys; /* by key id */
    uint64_t n_keys, cap_keys;
    uint64_t *active; /* active_keys key ids */
    uint64_t index;
};

static int key_new(struct sim *s, uint64_t *id)
{
    if (s->n_keys == s->cap_keys) {
        uint64_t c = s->cap_keys ? s->cap_keys * 2 : 64;
        struct gkey *k = fl_reallocarray(s->keys, c, sizeof *k);
        if (!k)
            return -ENOMEM;
        s->keys = k;
        s->cap_keys = c;
    }
    memset(&s->keys[s->n_keys], 0, sizeof s->keys[0]);
    s->keys[s->n_keys].next = 1;
    *id = s->n_keys++;
    return 0;
}

static void put_ops(struct sim *s, FILE *out, const struct gtxn *t, bool filled)
{
    bool la = s->c->workload == CHECKER_TXN_LIST_APPEND;
    fputc('[', out);
    for (int i = 0; i < t->n; i++) {
        const struct gop *o = &t->ops[i];
        if (i)
            fputc(',', out);
        if (o->f != CHECKER_TXN_R) {
            fprintf(out, "[\"%s\",\"%" PRIu64 "\",%" PRId64 "]", la ? "append" : "w", o->key,
                    o->value);
            continue;
        }
        fprintf(out, "[\"r\",\"%" PRIu64 "\",", o->key);
        if (!filled || t->rnil[i])
            fputs("null", out);
        else if (la) {
            fputc('[', out);
            for (uint32_t e = 0; e < t->rlen[i]; e++)
                fprintf(out, e ? ",%" PRId64 : "%" PRId64, t->reads[i][e]);
            fputc(']', out);
        } else
            fprintf(out, "%" PRId64, o->value);
        fputc(']', out);
    }
    fputc(']', out);
}

static void event(struct sim *s, FILE *out, int64_t process, const char *type, const struct gtxn *t,
                  bool filled)
{
    fprintf(out,
            "{\"index\":%" PRIu64 ",\"time\":%" PRIu64 ",\"process\":%" PRId64
            ",\"type\":\"%s\",\"f\":\"txn\",\"value\":",
            s->index, s->index * 1000, process, type);
    s->index++;
    put_ops(s, out, t, filled);
    fputs("}\n", out);
}

/* Applies t atomically (reads see the state, then its own writes). */
static int apply(struct sim *s, struct gtxn *t, bool stale_first_read)
{
    bool la = s->c->workload == CHECKER_TXN_LIST_APPEND;
    for (int i = 0; i < t->n; i++) {
        struct gop *o = &t->ops[i];
        struct gkey *k = &s->keys[o->key];
        if (o->f == CHECKER_TXN_R) {
            uint32_t len = k->len;
            if (stale_first_read && len > 0) {
                len--; /* the plant: miss the latest write */
                stale_first_read = false;
            }
            t->rnil[i] = len == 0;
            if (la) {
                fl_free(t->reads[i]);
                t->reads[i] = fl_malloc((len ? len : 1) * sizeof(int64_t));
                if (!t->reads[i])
                    return -ENOMEM;
                if (len)
                    memcpy(t->reads[i], k->list, len * sizeof(int64_t));
                t->rlen[i] = len;
            } else if (len)
                o->value = k->list[len - 1];
            continue;
        }
        if (k->len == k->cap) {
            uint32_t c = k->cap ? k->cap * 2 : 8;
            int64_t *l = fl_reallocarray(k->list, c, sizeof *l);
            if (!l)
                return -ENOMEM;
            k->list = l;
            k->cap = c;
        }
        k->list[k->len++] = o->value;
    }
    return 0;
}

/* A fresh transaction; with `rmw_key` set, a read then a write of that key. */
static int make_txn(struct sim *s, struct gtxn *t, const uint64_t *rmw_key)
{
    const struct checker_txn_gen_config *c = s->c;
    int span = c->max_ops - c->min_ops + 1;
    t->n = c->min_ops + (int)fl_rng_below(&s->rng, (uint64_t)(span > 0 ? span : 1));
    if (t->n > 16)
        t->n = 16;
    if (rmw_key && t->n < 2)
        t->n = 2;
    for (int i = 0; i < t->n; i++) {
        struct gop *o = &t->ops[i];
        int slot = (int)fl_rng_below(&s->rng, (uint64_t)c->active_keys);
        o->key = rmw_key && i < 2 ? *rmw_key : s->active[slot];
        bool read = rmw_key && i < 2 ? i == 0 : fl_rng_double(&s->rng) < c->read_ratio;
        t->rnil[i] = false;
        t->rlen[i] = 0;
        if (read) {
            o->f = CHECKER_TXN_R;
            o->value = 0;
            continue;
        }
        o->f = c->workload == CHECKER_TXN_LIST_APPEND ? CHECKER_TXN_APPEND : CHECKER_TXN_W;
        struct gkey *k = &s->keys[o->key];
        o->value = k->next++;
        if (++k->writes >= c->max_writes_per_key && !(rmw_key && i < 2)) {
            /* retire it: later transactions use a fresh key */
            for (int a = 0; a < c->active_keys; a++)
                if (s->active[a] == o->key) {
                    uint64_t id;
                    if (key_new(s, &id) < 0)
                        return -ENOMEM;
                    s->active[a] = id;
                }
        }
    }
    return 0;
}

int checker_txn_gen_write(const struct checker_txn_gen_config *c, FILE *out)
{
    struct sim s = {.c = c};
    int plant = 0;
    if (c->plant) {
        if (strcmp(c->plant, "G-single") == 0)
            plant = 1;
        else if (strcmp(c->plant, "G1c") == 0)
            plant = 2;
        else if (strcmp(c->plant, "G1a") == 0)
            plant = 3;
        else
            return FL_EUSAGE;
    }
    int np = c->processes > 0 ? c->processes : 1;
    struct gtxn *inflight = fl_calloc((size_t)np, sizeof *inflight);
    int64_t *pid = fl_calloc((size_t)np, sizeof *pid);
    bool *busy = fl_calloc((size_t)np, 1);
    s.active = fl_calloc((size_t)(c->active_keys > 0 ? c->active_keys : 1), sizeof *s.active);
    int rc = 0;
    if (!inflight || !pid || !busy || !s.active) {
        rc = -ENOMEM;
        goto out;
    }
    fl_rng_seed(&s.rng, c->seed);
    for (int i = 0; i < c->active_keys; i++)
        if ((rc = key_new(&s, &s.active[i])) < 0)
            goto out;
    for (int p = 0; p < np; p++)
        pid[p] = p;
    int64_t next_pid = np;
    uint64_t invoked = 0, done = 0, plant_at = c->n_txns / 2;
    bool planted = false;
    while (done < c->n_txns) {
        int p = (int)fl_rng_below(&s.rng, (uint64_t)np);
        struct gtxn *t = &inflight[p];
        if (!busy[p]) {
            if (invoked >= c->n_txns)
                continue;
            if ((rc = make_txn(&s, t, NULL)) < 0)
                goto out;
            event(&s, out, pid[p], "invoke", t, false);
            busy[p] = true;
            invoked++;
            continue;
        }
        busy[p] = false;
        done++;
        if (plant && !planted && done >= plant_at) {
            planted = true;
            if (plant == 1) {
                /* read a key missing its latest write, then write it */
                uint64_t key = s.active[0];
                if (s.keys[key].len == 0) {
                    planted = false;
                } else {
                    struct gtxn x = {0};
                    if ((rc = make_txn(&s, &x, &key)) < 0)
                        goto out;
                    int64_t id = next_pid++;
                    event(&s, out, id, "invoke", &x, false);
                    if ((rc = apply(&s, &x, true)) < 0)
                        goto out;
                    event(&s, out, id, "ok", &x, true);
                    for (int i = 0; i < x.n; i++)
                        fl_free(x.reads[i]);
                }
            } else if (plant == 2 || plant == 3) {
                /* T1 appends to key a; T2 reads a (seeing T1's write while T1
                 * runs) and appends to b; T1 then reads b seeing T2's write:
                 * wr both ways (G1c). With G1a, T1 fails instead. */
                uint64_t ka = s.active[0], kb = s.active[1 % c->active_keys];
                struct gtxn t1 = {0}, t2 = {0};
                bool la = c->workload == CHECKER_TXN_LIST_APPEND;
                uint8_t wf = la ? CHECKER_TXN_APPEND : CHECKER_TXN_W;
                t1.n = plant == 2 ? 2 : 1;
                t1.ops[0] = (struct gop){wf, ka, s.keys[ka].next++};
                t1.ops[1] = (struct gop){CHECKER_TXN_R, kb, 0};
                t2.n = 2;
                t2.ops[0] = (struct gop){CHECKER_TXN_R, ka, 0};
                t2.ops[1] = (struct gop){wf, kb, s.keys[kb].next++};
                int64_t p1 = next_pid++, p2 = next_pid++;
                event(&s, out, p1, "invoke", &t1, false);
                event(&s, out, p2, "invoke", &t2, false);
                struct gtxn w1 = t1;
                w1.n = 1; /* T1's write becomes visible early */
                if ((rc = apply(&s, &w1, false)) < 0 || (rc = apply(&s, &t2, false)) < 0)
                    goto out;
                event(&s, out, p2, "ok", &t2, true);
                if (plant == 2) {
                    struct gtxn r1 = t1;
                    r1.n = 2;
                    struct gtxn only_read = {0};
                    only_read.n = 1;
                    only_read.ops[0] = r1.ops[1];
                    if ((rc = apply(&s, &only_read, false)) < 0)
                        goto out;
                    t1.rnil[1] = only_read.rnil[0];
                    t1.reads[1] = only_read.reads[0];
                    t1.rlen[1] = only_read.rlen[0];
                    t1.ops[1].value = only_read.ops[0].value;
                    event(&s, out, p1, "ok", &t1, true);
                } else
                    event(&s, out, p1, "fail", &t1, false);
                for (int i = 0; i < 16; i++) {
                    fl_free(t1.reads[i]);
                    fl_free(t2.reads[i]);
                }
            }
        }
        if (c->crash > 0 && fl_rng_double(&s.rng) < c->crash) {
            if (fl_rng_chance(&s.rng, 0.5) && (rc = apply(&s, t, false)) < 0)
                goto out;
            event(&s, out, pid[p], "info", t, false);
            pid[p] = next_pid++;
        } else {
            if ((rc = apply(&s, t, false)) < 0)
                goto out;
            event(&s, out, pid[p], "ok", t, true);
        }
        for (int i = 0; i < t->n; i++) {
            fl_free(t->reads[i]);
            t->reads[i] = NULL;
        }
    }
    /* final reads of every key still active */
    for (int a = 0; a < c->active_keys; a++) {
        struct gtxn t = {.n = 1};
        t.ops[0] = (struct gop){CHECKER_TXN_R, s.active[a], 0};
        int64_t id = next_pid++;
        event(&s, out, id, "invoke", &t, false);
        if ((rc = apply(&s, &t, false)) < 0)
            goto out;
        event(&s, out, id, "ok", &t, true);
        fl_free(t.reads[0]);
    }
    if (fflush(out) != 0 || ferror(out))
        rc = -EIO;
out:
    if (inflight)
        for (int p = 0; p < np; p++)
            for (int i = 0; i < 16; i++)
                fl_free(inflight[p].reads[i]);
    fl_free(inflight);
    fl_free(pid);
    fl_free(busy);
    fl_free(s.active);
    if (s.keys)
        for (uint64_t k = 0; k < s.n_keys; k++)
            fl_free(s.keys[k].list);
    fl_free(s.keys);
    return rc;
}
