/* report.c - analysis of a checked history (faults, unavailability, recovery) and results.json.
 * The page itself is drawn by report_html.c. */
#include "checker/report.h"

#include "checker/explain.h"
#include "common/alloc.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS_PER_S  1000000000.0
#define NS_PER_MS 1000000.0

void checker_report_options_default(struct checker_report_options *o)
{
    o->unavailable_ns = 1000000000LL;
    o->max_timeline_ops = 3000;
    o->max_timeline_rects = 20000;
    o->max_scatter_points = 3000;
}

/* ==== Analysis ==== */

static void span_time(int64_t t, bool *any, int64_t *t0, int64_t *t1)
{
    if (t < 0)
        return;
    if (!*any || t < *t0)
        *t0 = t;
    if (!*any || t > *t1)
        *t1 = t;
    *any = true;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The kind a heal event heals: ours carry {"fault": kind}; Jepsen's
 * "stop-X" heals "start-X"; a bare "stop" (NULL) heals every open fault. */
static bool heal_target(const struct fl_event *ev, const char **kind)
{
    *kind = NULL;
    if (strcmp(ev->f, "heal") == 0) {
        json_t *k = json_is_object(ev->value) ? json_object_get(ev->value, "fault") : NULL;
        if (json_is_string(k))
            *kind = json_string_value(k);
        return true;
    }
    if (strcmp(ev->f, "stop") == 0)
        return true;
    if (strncmp(ev->f, "stop-", 5) == 0) {
        *kind = ev->f + 5; /* matched against "start-X" below */
        return true;
    }
    return false;
}

static bool heals(const struct checker_report_fault *f, const char *kind)
{
    if (!kind)
        return true;
    if (strcmp(f->kind, kind) == 0)
        return true;
    return strncmp(f->kind, "start-", 6) == 0 && strcmp(f->kind + 6, kind) == 0;
}

static bool has_error(json_t *v)
{
    return json_is_object(v) && json_object_get(v, "error") != NULL;
}

int checker_report_analyze(const struct checker_history *h, const struct checker_report_options *o,
                           struct checker_report_analysis *a, char *errmsg)
{
    memset(a, 0, sizeof(*a));
    bool any = false;
    for (size_t i = 0; i < h->n_ops; i++) {
        span_time(h->ops[i].call_time, &any, &a->t0, &a->t1);
        span_time(h->ops[i].ret_time, &any, &a->t0, &a->t1);
    }
    for (size_t i = 0; i < h->n_nemesis_events; i++)
        span_time(h->nemesis[i].time, &any, &a->t0, &a->t1);

    /* Faults: one per fault invoke (or lone info), completed by the next
     * nemesis event when it has the same f (an info; Jepsen logs two infos),
     * closed by a heal, whose own completion moves the end to when it was done. */
    size_t n = h->n_nemesis_events;
    size_t *created = NULL, *closed = NULL; /* per fault: event index + 1 */
    if (n) {
        a->faults = fl_calloc(n, sizeof(*a->faults));
        created = fl_calloc(n, sizeof(*created));
        closed = fl_calloc(n, sizeof(*closed));
        if (!a->faults || !created || !closed) {
            fl_free(created);
            fl_free(closed);
            goto err_oom;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct fl_event *ev = &h->nemesis[i];
        const struct fl_event *prev = i ? &h->nemesis[i - 1] : NULL;
        const char *kind, *prev_kind = NULL;
        if (heal_target(ev, &kind)) {
            bool paired = prev && ev->type != FL_EVENT_INVOKE && heal_target(prev, &prev_kind) &&
                          strcmp(prev->f, ev->f) == 0 &&
                          (kind == prev_kind || (kind && prev_kind && !strcmp(kind, prev_kind)));
            bool closed_any = false;
            for (size_t j = 0; paired && j < a->n_faults; j++)
                if (closed[j] == i) { /* closed by the previous event */
                    a->faults[j].end = ev->time;
                    closed[j] = i + 1;
                    closed_any = true;
                }
            if (closed_any)
                continue;
            for (size_t j = 0; j < a->n_faults; j++) {
                if (closed[j] || !heals(&a->faults[j], kind))
                    continue;
                a->faults[j].end = ev->time;
                closed[j] = i + 1;
                if (strcmp(ev->f, "heal") == 0)
                    break; /* ours heal one fault, the earliest open of its kind */
            }
            continue;
        }
        struct checker_report_fault *last = a->n_faults ? &a->faults[a->n_faults - 1] : NULL;
        if (ev->type != FL_EVENT_INVOKE && last && created[a->n_faults - 1] == i &&
            !closed[a->n_faults - 1] && strcmp(last->kind, ev->f) == 0) {
            last->applied = ev->time;
            if (ev->value && !json_is_null(ev->value))
                last->value = ev->value;
            last->failed = ev->type == FL_EVENT_FAIL || has_error(ev->value);
            continue;
        }
        if (ev->type == FL_EVENT_INVOKE || ev->type == FL_EVENT_INFO) {
            struct checker_report_fault *f = &a->faults[a->n_faults];
            created[a->n_faults++] = i + 1;
            f->kind = ev->f;
            f->value = ev->value;
            f->start = ev->time;
            f->applied = ev->type == FL_EVENT_INVOKE ? -1 : ev->time;
            f->end = -1;
            f->failed = has_error(ev->value);
            f->first_ok = -1;
            f->first_ok_invoked_after = -1;
            continue;
        }
        a->n_other_nemesis++;
    }
    fl_free(created);
    fl_free(closed);

    /* Ok completion times, sorted: windows and recovery. */
    size_t n_ok = 0;
    int64_t *oks = NULL;
    for (size_t i = 0; i < h->n_ops; i++)
        n_ok += h->ops[i].status == FL_EVENT_OK && h->ops[i].ret_time >= 0;
    if (n_ok) {
        oks = fl_reallocarray(NULL, n_ok, sizeof(*oks));
        if (!oks)
            goto err_oom;
        size_t k = 0;
        for (size_t i = 0; i < h->n_ops; i++)
            if (h->ops[i].status == FL_EVENT_OK && h->ops[i].ret_time >= 0)
                oks[k++] = h->ops[i].ret_time;
        qsort(oks, n_ok, sizeof(*oks), cmp_i64);
    }
    for (size_t j = 0; j < a->n_faults; j++) {
        struct checker_report_fault *f = &a->faults[j];
        if (f->end < 0)
            continue;
        size_t lo = 0, hi = n_ok; /* first ok >= end */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (oks[mid] < f->end)
                lo = mid + 1;
            else
                hi = mid;
        }
        f->first_ok = lo < n_ok ? oks[lo] : -1;
    }
    for (size_t j = 0; j < a->n_faults; j++) {
        struct checker_report_fault *f = &a->faults[j];
        int64_t t = f->applied >= 0 ? f->applied : f->start;
        if (t < 0)
            continue;
        for (size_t i = 0; i < h->n_ops; i++) {
            const struct checker_hop *op = &h->ops[i];
            if (op->status == FL_EVENT_OK && op->call_time >= t && op->ret_time >= 0 &&
                (f->first_ok_invoked_after < 0 || op->ret_time < f->first_ok_invoked_after))
                f->first_ok_invoked_after = op->ret_time;
        }
    }
    if (any && o->unavailable_ns > 0) {
        size_t cap = n_ok + 1;
        a->windows = fl_reallocarray(NULL, cap, sizeof(*a->windows));
        if (!a->windows) {
            fl_free(oks);
            goto err_oom;
        }
        int64_t prev = a->t0;
        for (size_t i = 0; i <= n_ok; i++) {
            int64_t t = i < n_ok ? oks[i] : a->t1;
            if (t - prev > o->unavailable_ns) {
                struct checker_report_window *w = &a->windows[a->n_windows++];
                w->start = prev;
                w->end = t;
                w->open = i == n_ok;
            }
            if (t > prev)
                prev = t;
        }
    }
    fl_free(oks);
    return 0;

err_oom:
    checker_report_analysis_free(a);
    return fl_errorf(errmsg, FL_ENOMEM, "report: out of memory");
}

void checker_report_analysis_free(struct checker_report_analysis *a)
{
    fl_free(a->faults);
    fl_free(a->windows);
    memset(a, 0, sizeof(*a));
}

/* ==== Verdict ==== */

const char *checker__report_set_verdict(const struct checker_set_result *r)
{
    return r->valid ? "valid" : r->unknown ? "unknown" : "invalid";
}

const char *checker_report_verdict_reason(const struct checker_report_input *in)
{
    /* Every checker passes a history in which nothing succeeded (a client
     * program that fails every operation, a cluster that never served):
     * that is no evidence the system is correct, and must not pass a gate. */
    if (in->h && in->h->n_ok == 0)
        return "no client operation succeeded (0 ok): nothing was shown";
    return NULL;
}

enum checker_verdict checker_report_verdict(const struct checker_report_input *in)
{
    bool unknown = checker_report_verdict_reason(in) != NULL, ran = false;
    if (in->linear) {
        ran = true;
        if (in->linear->verdict == CHECKER_INVALID)
            return CHECKER_INVALID;
        unknown = unknown || in->linear->verdict == CHECKER_UNKNOWN;
    }
    if (in->sequential) {
        ran = true;
        if (in->sequential->verdict == CHECKER_INVALID)
            return CHECKER_INVALID;
        unknown = unknown || in->sequential->verdict == CHECKER_UNKNOWN;
    }
    if (in->set) {
        ran = true;
        if (!in->set->valid && !in->set->unknown)
            return CHECKER_INVALID;
        unknown = unknown || in->set->unknown;
    }
    if (in->counter) {
        ran = true;
        if (!in->counter->valid)
            return CHECKER_INVALID;
    }
    return unknown || !ran ? CHECKER_UNKNOWN : CHECKER_VALID;
}

/* ==== results.json ==== */

static double sec(const struct checker_report_analysis *a, int64_t t)
{
    return (double)(t - a->t0) / NS_PER_S;
}

static json_t *opt_sec(const struct checker_report_analysis *a, int64_t t)
{
    return t < 0 ? json_null() : json_real(sec(a, t));
}

static json_t *ms_or_null(int64_t ns)
{
    return ns < 0 ? json_null() : json_real((double)ns / NS_PER_MS);
}

/* Adds a new reference under key, tracking failure in *ok. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, key, v) != 0)
        *ok = false;
}

static void push(json_t *arr, json_t *v, bool *ok)
{
    if (!v || json_array_append_new(arr, v) != 0)
        *ok = false;
}

bool checker__report_overlaps(const struct checker_report_fault *f, int64_t start, int64_t end,
                              int64_t t1)
{
    int64_t fend = f->end < 0 ? t1 : f->end;
    return f->start <= end && fend >= start;
}

json_t *checker_report_json(const struct checker_report_input *in,
                            const struct checker_report_analysis *a,
                            const struct checker_report_options *o)
{
    const struct checker_history *h = in->h;
    bool ok = true;
    json_t *root = json_object();
    if (!root)
        return NULL;
    enum checker_verdict v = checker_report_verdict(in);
    put(root, "format", json_integer(1), &ok);
    put(root, "title", json_string(in->title ? in->title : h->path), &ok);
    put(root, "history", json_string(h->path), &ok);
    put(root, "model", in->model ? json_string(in->model) : json_null(), &ok);
    put(root, "verdict", json_string(checker_verdict_name(v)), &ok);
    if (v == CHECKER_UNKNOWN && checker_report_verdict_reason(in))
        put(root, "verdict_reason", json_string(checker_report_verdict_reason(in)), &ok);
    put(root, "expected", in->expected ? json_string(in->expected) : json_null(), &ok);
    put(root, "as_expected",
        in->expected ? json_boolean(strcmp(in->expected, checker_verdict_name(v)) == 0)
                     : json_null(),
        &ok);

    json_t *checkers = json_object();
    put(root, "checkers", checkers, &ok);
    if (checkers && in->linear) {
        json_t *l = checker_explain_json(h, in->linear);
        if (l) {
            json_object_del(l, "counterexample"); /* at the top level instead */
            json_object_set_new(l, "verdict",
                                json_string(checker_verdict_name(in->linear->verdict)));
        }
        put(checkers, "linearizable", l, &ok);
        if (in->linear->verdict == CHECKER_INVALID && in->linear->has_cex) {
            json_t *full = checker_explain_json(h, in->linear);
            json_t *cex = full ? json_object_get(full, "counterexample") : NULL;
            if (cex) {
                json_incref(cex);
                put(root, "counterexample", cex, &ok);
            }
            json_decref(full);
            if (in->minimized)
                put(root, "minimized", checker_minimized_json(h, in->minimized), &ok);
            else if (in->minimize_note)
                put(root, "minimized", json_pack("{s:s}", "not_computed", in->minimize_note), &ok);
        }
    }
    if (checkers && in->sequential)
        put(checkers, "sequential", checker_seq_result_json(h, in->sequential), &ok);
    put(root, "consistency",
        json_string(in->sequential ? "sequential" : in->linear ? "linearizable" : "none"), &ok);
    if (checkers && in->set) {
        json_t *s = checker_set_result_json(in->set);
        if (s)
            json_object_set_new(s, "verdict", json_string(checker__report_set_verdict(in->set)));
        put(checkers, "set", s, &ok);
    }
    if (checkers && in->counter) {
        json_t *c = checker_counter_result_json(in->counter);
        if (c)
            json_object_set_new(c, "verdict",
                                json_string(in->counter->valid ? "valid" : "invalid"));
        put(checkers, "counter", c, &ok);
    }
    if (checkers && in->stats)
        put(checkers, "stats", json_pack("{s:s}", "verdict", "info"), &ok);

    json_t *counts =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "events", (json_int_t)h->n_events, "operations",
                  (json_int_t)h->n_ops, "ok", (json_int_t)h->n_ok, "fail", (json_int_t)h->n_fail,
                  "info", (json_int_t)h->n_info, "nemesis_events", (json_int_t)h->n_nemesis_events);
    put(root, "counts", counts, &ok);
    double span_s = (double)(a->t1 - a->t0) / NS_PER_S;
    if (in->stats && counts) {
        const struct checker_stats *st = in->stats;
        json_t *by_f = json_object(), *lat = json_object(), *buckets = json_array();
        put(counts, "by_f", by_f, &ok);
        put(root, "latency_ms", lat, &ok);
        for (size_t i = 0; by_f && lat && i < st->n_fs; i++) {
            const struct checker_stats_f *f = &st->fs[i];
            put(by_f, f->f,
                json_pack("{s:I, s:I, s:I, s:I}", "count", (json_int_t)f->count, "ok",
                          (json_int_t)f->ok, "fail", (json_int_t)f->fail, "info",
                          (json_int_t)f->info),
                &ok);
            json_t *l = json_object();
            put(lat, f->f, l, &ok);
            if (l) {
                put(l, "count", json_integer((json_int_t)f->lat_count), &ok);
                put(l, "p50", ms_or_null(f->lat_count ? f->p50 : -1), &ok);
                put(l, "p90", ms_or_null(f->lat_count ? f->p90 : -1), &ok);
                put(l, "p99", ms_or_null(f->lat_count ? f->p99 : -1), &ok);
                put(l, "max", ms_or_null(f->lat_count ? f->max : -1), &ok);
            }
        }
        for (size_t i = 0; buckets && i < st->n_buckets; i++)
            push(buckets, json_integer((json_int_t)st->buckets[i]), &ok);
        json_t *tp = json_object();
        put(root, "throughput", tp, &ok);
        if (tp) {
            put(tp, "bucket_s", json_real((double)st->bucket_ns / NS_PER_S), &ok);
            put(tp, "ok_per_s", buckets, &ok);
            put(tp, "mean_ok_per_s", json_real(span_s > 0 ? (double)st->ok / span_s : 0.0), &ok);
        } else {
            json_decref(buckets);
        }
    }

    json_t *faults = json_array();
    put(root, "faults", faults, &ok);
    for (size_t i = 0; faults && i < a->n_faults; i++) {
        const struct checker_report_fault *f = &a->faults[i];
        json_t *fj = json_object();
        push(faults, fj, &ok);
        if (!fj)
            break;
        put(fj, "kind", json_string(f->kind), &ok);
        put(fj, "start_s", opt_sec(a, f->start), &ok);
        put(fj, "applied_s", opt_sec(a, f->applied), &ok);
        put(fj, "end_s", opt_sec(a, f->end), &ok);
        put(fj, "duration_s",
            f->end >= 0 && f->start >= 0 ? json_real((double)(f->end - f->start) / NS_PER_S)
                                         : json_null(),
            &ok);
        put(fj, "failed", json_boolean(f->failed), &ok);
        put(fj, "value", f->value ? json_incref(f->value) : json_null(), &ok);
        put(fj, "recovery_s",
            f->first_ok >= 0 ? json_real((double)(f->first_ok - f->end) / NS_PER_S) : json_null(),
            &ok);
        int64_t t = f->applied >= 0 ? f->applied : f->start;
        put(fj, "failover_s",
            f->first_ok_invoked_after >= 0
                ? json_real((double)(f->first_ok_invoked_after - t) / NS_PER_S)
                : json_null(),
            &ok);
    }

    json_t *un = json_object(), *wins = json_array();
    put(root, "unavailability", un, &ok);
    double total = 0;
    for (size_t i = 0; wins && i < a->n_windows; i++) {
        const struct checker_report_window *w = &a->windows[i];
        json_t *idx = json_array();
        for (size_t j = 0; idx && j < a->n_faults; j++)
            if (checker__report_overlaps(&a->faults[j], w->start, w->end, a->t1))
                push(idx, json_integer((json_int_t)j), &ok);
        double d = (double)(w->end - w->start) / NS_PER_S;
        total += d;
        push(wins,
             json_pack("{s:f, s:f, s:f, s:b, s:o}", "start_s", sec(a, w->start), "end_s",
                       sec(a, w->end), "duration_s", d, "open", w->open, "faults",
                       idx ? idx : json_array()),
             &ok);
    }
    if (un) {
        put(un, "threshold_s", json_real((double)o->unavailable_ns / NS_PER_S), &ok);
        put(un, "total_s", json_real(total), &ok);
        put(un, "windows", wins, &ok);
    } else {
        json_decref(wins);
    }
    if (in->scenario)
        put(root, "scenario", json_incref(in->scenario), &ok);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ==== Files ==== */

int checker_report_write_file(const char *path, const char *data, size_t len, char *errmsg)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return fl_errorf(errmsg, -ENAMETOOLONG, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fl_errorf(errmsg, -errno, "%s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return fl_errorf(errmsg, -e, "%s: %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 && errno != EINVAL) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return fl_errorf(errmsg, -e, "%s: fsync: %s", tmp, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fl_errorf(errmsg, -e, "%s: %s", path, strerror(e));
    }
    return 0;
}
