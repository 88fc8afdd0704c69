/* stats.c - per-f latency percentiles and counts, throughput over time. */
#include "checker/stats.h"

#include "common/alloc.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>

static int cmp_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

static int cmp_f(const void *pa, const void *pb)
{
    const struct checker_stats_f *a = pa, *b = pb;
    return strcmp(a->f, b->f);
}

/* Nearest rank: the smallest latency with at least pct% of them at or below. */
static int64_t percentile(const int64_t *sorted, size_t n, unsigned pct)
{
    size_t rank = (pct * n + 99) / 100;
    return sorted[rank ? rank - 1 : 0];
}

static bool latency_of(const struct checker_hop *op, int64_t *out)
{
    if (op->status != FL_EVENT_OK || op->call_time < 0 || op->ret_time < op->call_time)
        return false;
    *out = op->ret_time - op->call_time;
    return true;
}

int checker_stats_compute(const struct checker_history *h, struct checker_stats *s, char *errmsg)
{
    const char **names = NULL; /* interned in the history: pointers compare */
    int64_t *lat = NULL;
    size_t *slot = NULL;
    memset(s, 0, sizeof *s);
    s->bucket_ns = CHECKER_STATS_BUCKET_NS;
    /* Distinct f names; a history has few, so a linear scan is enough. */
    slot = fl_reallocarray(NULL, h->n_ops ? h->n_ops : 1, sizeof *slot);
    lat = fl_reallocarray(NULL, h->n_ops ? h->n_ops : 1, sizeof *lat);
    if (!slot || !lat)
        goto oom;
    size_t cap = 0;
    int64_t last = -1;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct checker_hop *op = &h->ops[i];
        size_t k = 0;
        while (k < s->n_fs && names[k] != op->f && strcmp(names[k], op->f) != 0)
            k++;
        if (k == s->n_fs) {
            if (s->n_fs == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                const char **nn = fl_reallocarray(names, ncap, sizeof *nn);
                if (!nn)
                    goto oom;
                names = nn;
                struct checker_stats_f *nf = fl_reallocarray(s->fs, ncap, sizeof *nf);
                if (!nf)
                    goto oom;
                s->fs = nf;
                cap = ncap;
            }
            names[k] = op->f;
            memset(&s->fs[k], 0, sizeof s->fs[k]);
            s->fs[k].f = fl_strdup(op->f);
            s->n_fs++;
            if (!s->fs[k].f)
                goto oom;
        }
        slot[i] = k;
        struct checker_stats_f *sf = &s->fs[k];
        sf->count++;
        if (op->status == FL_EVENT_OK)
            sf->ok++;
        else if (op->status == FL_EVENT_FAIL)
            sf->fail++;
        else
            sf->info++;
        if (op->status == FL_EVENT_OK && op->ret_time > last)
            last = op->ret_time;
    }
    /* Latencies, f by f, sorted in one scratch array. */
    for (size_t k = 0; k < s->n_fs; k++) {
        struct checker_stats_f *sf = &s->fs[k];
        size_t n = 0;
        for (size_t i = 0; i < h->n_ops; i++)
            if (slot[i] == k && latency_of(&h->ops[i], &lat[n]))
                n++;
        sf->lat_count = n;
        sf->p50 = sf->p90 = sf->p99 = sf->max = -1;
        if (n == 0)
            continue;
        qsort(lat, n, sizeof *lat, cmp_i64);
        sf->p50 = percentile(lat, n, 50);
        sf->p90 = percentile(lat, n, 90);
        sf->p99 = percentile(lat, n, 99);
        sf->max = lat[n - 1];
    }
    for (size_t k = 0; k < s->n_fs; k++) {
        s->count += s->fs[k].count;
        s->ok += s->fs[k].ok;
        s->fail += s->fs[k].fail;
        s->info += s->fs[k].info;
    }
    if (s->n_fs > 1)
        qsort(s->fs, s->n_fs, sizeof *s->fs, cmp_f);
    /* Throughput of ok completions. */
    if (last >= 0) {
        while ((uint64_t)(last / s->bucket_ns) + 1 > CHECKER_STATS_MAX_BUCKETS)
            s->bucket_ns *= 2;
        s->n_buckets = (size_t)(last / s->bucket_ns) + 1;
        s->buckets = fl_calloc(s->n_buckets, sizeof *s->buckets);
        if (!s->buckets)
            goto oom;
        for (size_t i = 0; i < h->n_ops; i++) {
            const struct checker_hop *op = &h->ops[i];
            if (op->status == FL_EVENT_OK && op->ret_time >= 0)
                s->buckets[op->ret_time / s->bucket_ns]++;
        }
    }
    fl_free(names);
    fl_free(lat);
    fl_free(slot);
    return 0;
oom:
    fl_free(names);
    fl_free(lat);
    fl_free(slot);
    checker_stats_free(s);
    return fl_errorf(errmsg, FL_ENOMEM, "stats: out of memory");
}

void checker_stats_free(struct checker_stats *s)
{
    for (size_t k = 0; k < s->n_fs; k++)
        fl_free(s->fs[k].f);
    fl_free(s->fs);
    fl_free(s->buckets);
    memset(s, 0, sizeof *s);
}

static json_t *ms(int64_t ns)
{
    return ns < 0 ? json_null() : json_real((double)ns / 1e6);
}

json_t *checker_stats_json(const struct checker_stats *s)
{
    json_t *by_f = json_object(), *rates = json_array();
    if (!by_f || !rates)
        goto oom;
    for (size_t k = 0; k < s->n_fs; k++) {
        const struct checker_stats_f *sf = &s->fs[k];
        json_t *o =
            json_pack("{sI sI sI sI s{sI so so so so}}", "count", (json_int_t)sf->count, "ok",
                      (json_int_t)sf->ok, "fail", (json_int_t)sf->fail, "info",
                      (json_int_t)sf->info, "latency_ms", "count", (json_int_t)sf->lat_count, "p50",
                      ms(sf->p50), "p90", ms(sf->p90), "p99", ms(sf->p99), "max", ms(sf->max));
        if (!o || json_object_set_new(by_f, sf->f, o) < 0)
            goto oom;
    }
    double width_s = (double)s->bucket_ns / 1e9;
    for (size_t i = 0; i < s->n_buckets; i++)
        if (json_array_append_new(rates, json_real((double)s->buckets[i] / width_s)) < 0)
            goto oom;
    return json_pack("{sI sI sI sI so s{sf so}}", "count", (json_int_t)s->count, "ok",
                     (json_int_t)s->ok, "fail", (json_int_t)s->fail, "info", (json_int_t)s->info,
                     "by_f", by_f, "throughput", "bucket_s", width_s, "ok_per_s", rates);
oom:
    json_decref(by_f);
    json_decref(rates);
    return NULL;
}

static void cell_ms(struct fl_buf *out, int64_t ns)
{
    if (ns < 0)
        fl_buf_printf(out, " %9s", "-");
    else
        fl_buf_printf(out, " %9.3f", (double)ns / 1e6);
}

void checker_stats_table(const struct checker_stats *s, struct fl_buf *out)
{
    fl_buf_printf(out, "%-16s %7s %7s %7s %7s %9s %9s %9s %9s\n", "f", "count", "ok", "fail",
                  "info", "p50 ms", "p90 ms", "p99 ms", "max ms");
    for (size_t k = 0; k < s->n_fs; k++) {
        const struct checker_stats_f *sf = &s->fs[k];
        fl_buf_printf(out, "%-16s %7zu %7zu %7zu %7zu", sf->f, sf->count, sf->ok, sf->fail,
                      sf->info);
        cell_ms(out, sf->p50);
        cell_ms(out, sf->p90);
        cell_ms(out, sf->p99);
        cell_ms(out, sf->max);
        fl_buf_puts(out, "\n");
    }
    fl_buf_printf(out, "%-16s %7zu %7zu %7zu %7zu\n", "all", s->count, s->ok, s->fail, s->info);
    size_t peak = 0, total = 0;
    for (size_t i = 0; i < s->n_buckets; i++) {
        total += s->buckets[i];
        if (s->buckets[i] > peak)
            peak = s->buckets[i];
    }
    double width_s = (double)s->bucket_ns / 1e9;
    fl_buf_printf(out, "throughput: %zu buckets of %g s, mean %.1f ok/s, peak %.1f ok/s\n",
                  s->n_buckets, width_s,
                  s->n_buckets ? (double)total / ((double)s->n_buckets * width_s) : 0.0,
                  (double)peak / width_s);
}
