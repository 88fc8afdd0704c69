/* gen.c - generates register histories valid by construction. */
#include "checker/gen.h"

#include "common/alloc.h"
#include "common/error.h"
#include "common/history.h"
#include "common/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { G_READ, G_WRITE, G_CAS };

struct gop {
    int64_t process;
    int64_t call, lp, ret; /* times; lp = -1: a crashed op that never took effect */
    int key;
    int f;
    int64_t a, b; /* write value / cas old,new */
    int64_t read; /* value read (0 = nil) */
    bool crashed, failed;
};

void checker_gen_defaults(struct checker_gen_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->n_ops = 1000;
    cfg->processes = 5;
    cfg->keys = 1;
    cfg->values = 0;
    cfg->crash_rate = 0.01;
    cfg->read_ratio = 0.5;
    cfg->cas_ratio = 0.25;
    cfg->max_latency_ns = 1000000;
    cfg->max_think_ns = 500000;
}

static int cmp_lp(const void *x, const void *y)
{
    const struct gop *const *a = x, *const *b = y;
    return ((*a)->lp > (*b)->lp) - ((*a)->lp < (*b)->lp);
}

struct gev {
    int64_t time;
    struct gop *op;
    bool invoke;
};

static int cmp_ev(const void *x, const void *y)
{
    const struct gev *a = x, *b = y;
    if (a->time != b->time)
        return (a->time > b->time) - (a->time < b->time);
    /* Completions before invokes at equal times; stable otherwise. */
    if (a->invoke != b->invoke)
        return a->invoke ? 1 : -1;
    return (a->op > b->op) - (a->op < b->op);
}

static json_t *val(int64_t v)
{
    return v == 0 ? json_null() : json_integer(v);
}

static bool ok_write(const struct gop *op, int key)
{
    return op->f == G_WRITE && op->key == key && !op->crashed;
}

/* cfg->stale: from a random start, the first ok read R with ok writes
 * W1, W2 of its key such that W1.ret < W2.call and W2.ret < R.call reads
 * W1's value. ops are in call order, so the scan back from R stops at the
 * first W2 and then at the first W1 before it. */
static int make_stale(const struct checker_gen_config *cfg, struct fl_rng *rng, struct gop *ops,
                      size_t n, char *errmsg)
{
    if (cfg->values > 0)
        return fl_errorf(errmsg, FL_EUNSUPPORTED, "generator: stale reads need unique values");
    size_t start = fl_rng_below(rng, n ? n : 1);
    for (size_t t = 0; t < n; t++) {
        struct gop *r = &ops[(start + t) % n];
        if (r->f != G_READ || r->crashed)
            continue;
        const struct gop *w2 = NULL, *w1 = NULL;
        for (size_t j = (size_t)(r - ops); j-- > 0 && !w1;) {
            const struct gop *o = &ops[j];
            if (!w2 && ok_write(o, r->key) && o->ret < r->call)
                w2 = o;
            else if (w2 && ok_write(o, r->key) && o->ret < w2->call)
                w1 = o;
        }
        if (w1) {
            r->read = w1->a;
            return 0;
        }
    }
    return fl_errorf(errmsg, FL_EUNSUPPORTED,
                     "generator: no read follows two writes in real time (too few operations)");
}

int checker_gen_write(const struct checker_gen_config *cfg, const char *path, char *errmsg)
{
    struct fl_rng rng;
    struct gop *ops = NULL, **by_lp = NULL;
    struct gev *evs = NULL;
    int64_t *clock = NULL, *pid = NULL, *reg = NULL, *last = NULL;
    int64_t next_value = 0; /* unique values: the last one handed out */
    int rc = 0;
    size_t n = cfg->n_ops;
    int P = cfg->processes > 0 ? cfg->processes : 1;
    int K = cfg->keys > 0 ? cfg->keys : 1;

    fl_rng_seed(&rng, cfg->seed);
    ops = fl_calloc(n + 1, sizeof *ops);
    by_lp = fl_calloc(n + 1, sizeof *by_lp);
    evs = fl_calloc(2 * n + 1, sizeof *evs);
    clock = fl_calloc((size_t)P, sizeof *clock);
    pid = fl_calloc((size_t)P, sizeof *pid);
    reg = fl_calloc((size_t)K, sizeof *reg);
    last = fl_calloc((size_t)K, sizeof *last);
    if (!ops || !by_lp || !evs || !clock || !pid || !reg || !last) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "generator: out of memory");
        goto out;
    }
    for (int p = 0; p < P; p++) {
        pid[p] = p;
        clock[p] = fl_rng_range(&rng, 0, cfg->max_think_ns);
    }
    /* Intervals: always extend the process that is furthest behind, so the
     * processes stay concurrent. */
    for (size_t i = 0; i < n; i++) {
        int p = 0;
        for (int q = 1; q < P; q++)
            if (clock[q] < clock[p])
                p = q;
        struct gop *op = &ops[i];
        op->process = pid[p];
        op->call = clock[p] + 1;
        op->ret =
            op->call + fl_rng_range(&rng, 1, cfg->max_latency_ns > 0 ? cfg->max_latency_ns : 1);
        op->lp = fl_rng_range(&rng, op->call, op->ret);
        op->key = (int)fl_rng_below(&rng, (uint64_t)K);
        double r = fl_rng_double(&rng);
        int V = cfg->values > 0 ? cfg->values : 1;
        if (r < cfg->read_ratio) {
            op->f = G_READ;
        } else if (cfg->values <= 0) {
            /* Unique values: each write a new one; a cas expects the value
             * last written to its key (in invocation order, so it often
             * matches) or, one time in five, an older one or nil. */
            op->f = r < cfg->read_ratio + cfg->cas_ratio ? G_CAS : G_WRITE;
            int64_t *a = op->f == G_CAS ? &op->a : NULL;
            if (a) {
                *a = last[op->key];
                if (fl_rng_chance(&rng, 0.2))
                    *a = (int64_t)fl_rng_below(&rng, (uint64_t)next_value + 1);
            }
            int64_t v = ++next_value;
            if (op->f == G_CAS)
                op->b = v;
            else
                op->a = v;
            last[op->key] = v;
        } else if (r < cfg->read_ratio + cfg->cas_ratio) {
            op->f = G_CAS;
            op->a = fl_rng_range(&rng, 1, V);
            op->b = fl_rng_range(&rng, 1, V);
        } else {
            op->f = G_WRITE;
            op->a = fl_rng_range(&rng, 1, V);
        }
        if (fl_rng_chance(&rng, cfg->crash_rate)) {
            op->crashed = true;
            if (fl_rng_chance(&rng, 0.5))
                op->lp = -1; /* never took effect */
            pid[p] += P;     /* the client continues as a new process */
        }
        clock[p] = op->ret + fl_rng_range(&rng, 0, cfg->max_think_ns);
        by_lp[i] = op;
    }
    qsort(by_lp, n, sizeof *by_lp, cmp_lp);
    for (size_t i = 0; i < n; i++) {
        struct gop *op = by_lp[i];
        if (op->lp < 0)
            continue;
        int64_t *v = &reg[op->key];
        switch (op->f) {
        case G_READ:
            op->read = *v;
            break;
        case G_WRITE:
            *v = op->a;
            break;
        default:
            if (*v == op->a)
                *v = op->b;
            else
                op->failed = !op->crashed; /* a crashed mismatching cas just did nothing */
        }
    }
    if (cfg->mutate) {
        /* Change one ok read (from the middle) to a different value. */
        size_t start = fl_rng_below(&rng, n ? n : 1);
        for (size_t j = 0; j < n; j++) {
            struct gop *op = &ops[(start + j) % n];
            if (op->f == G_READ && !op->crashed) {
                /* Unique values: any other value handed out, nil, or one
                 * never written. */
                int64_t V = cfg->values > 0 ? cfg->values : next_value + 1;
                op->read = (op->read + 1 + (int64_t)fl_rng_below(&rng, (uint64_t)V)) % (V + 1);
                break;
            }
        }
    }
    if (cfg->stale && (rc = make_stale(cfg, &rng, ops, n, errmsg)) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        evs[2 * i] = (struct gev){ops[i].call, &ops[i], true};
        evs[2 * i + 1] = (struct gev){ops[i].ret, &ops[i], false};
    }
    qsort(evs, 2 * n, sizeof *evs, cmp_ev);

    struct fl_history_writer w;
    if ((rc = fl_history_writer_open(&w, path, FL_FORMAT_JSONL, errmsg)) < 0)
        goto out;
    static const char *const fnames[] = {"read", "write", "cas"};
    for (size_t i = 0; i < 2 * n && rc == 0; i++) {
        struct gop *op = evs[i].op;
        struct fl_event ev;
        char keybuf[32];
        fl_event_init(&ev);
        ev.index = (int64_t)i;
        ev.time = evs[i].time;
        ev.process = op->process;
        ev.f = (char *)fnames[op->f];
        if (K > 1) {
            snprintf(keybuf, sizeof keybuf, "k%d", op->key);
            ev.key = json_string(keybuf);
        }
        if (evs[i].invoke) {
            ev.type = FL_EVENT_INVOKE;
        } else if (op->crashed) {
            ev.type = FL_EVENT_INFO;
        } else {
            ev.type = op->failed ? FL_EVENT_FAIL : FL_EVENT_OK;
        }
        if (op->f == G_READ)
            ev.value = (evs[i].invoke || op->crashed) ? json_null() : val(op->read);
        else if (op->f == G_WRITE)
            ev.value = json_integer(op->a);
        else
            ev.value = json_pack("[oo]", val(op->a), val(op->b)); /* 0 is nil */
        if (!ev.value || (K > 1 && !ev.key))
            rc = fl_errorf(errmsg, FL_ENOMEM, "generator: out of memory");
        else
            rc = fl_history_writer_write(&w, &ev, errmsg);
        ev.f = NULL; /* borrowed from fnames */
        fl_event_clear(&ev);
    }
    int rc2 = fl_history_writer_close(&w, rc < 0 ? NULL : errmsg);
    if (rc == 0)
        rc = rc2;
out:
    fl_free(ops);
    fl_free(by_lp);
    fl_free(evs);
    fl_free(clock);
    fl_free(pid);
    fl_free(reg);
    fl_free(last);
    return rc;
}
