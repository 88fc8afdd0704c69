/* compare.c - `faultline compare`: the same scenario and seeds for several implementations. */
#include "common/fs.h"
#include "common/json.h"
#include "harness/compare.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checker/report.h"
#include "common/alloc.h"
#include "common/error.h"
#include "harness/run.h"

/* ==== Implementation specs ==== */

/* Implementations read from files ("process:PATH"), kept for the process's
 * life: a spec is copied by value, so it names its slot. */
static struct harness_scenario *impl_files[HARNESS_COMPARE_MAX_IMPLS * 2];
static size_t n_impl_files;

/* Reads the implementation of PATH (a scenario, or an implementation object)
 * into a new slot; fills out->impl, file and text. */
static int spec_from_file(const char *s, enum harness_impl want, const char *path,
                          struct harness_impl_spec *out, char *errmsg)
{
    if (n_impl_files >= sizeof impl_files / sizeof impl_files[0])
        return fl_errorf(errmsg, FL_EUSAGE, "--impl \"%s\": too many implementation files", s);
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        return fl_errorf(errmsg, FL_EUSAGE, "--impl \"%s\": %s: line %d: %s", s, path, je.line,
                         je.text);
    struct harness_scenario *sc = fl_calloc(1, sizeof *sc);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char name[HARNESS_SCENARIO_NAME_MAX];
    const char *nm = json_string_value(json_object_get(doc, "name"));
    snprintf(name, sizeof name, "%s", nm != NULL ? nm : base);
    size_t nl = strlen(name);
    if (nm == NULL && nl > 5 && strcmp(name + nl - 5, ".json") == 0)
        name[nl - 5] = '\0';
    int rv;
    if (sc == NULL) {
        rv = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    } else if (!json_is_object(doc) || (json_object_get(doc, "implementation") == NULL &&
                                        json_object_get(doc, "impl") == NULL)) {
        rv = fl_errorf(errmsg, FL_EUSAGE,
                       "--impl \"%s\": %s: expected a scenario with \"implementation\" or an "
                       "implementation object with \"impl\"",
                       s, path);
    } else if (json_object_get(doc, "implementation") != NULL) {
        rv = harness_scenario_load(path, sc, errmsg);
    } else {
        json_t *root = json_pack("{s:O}", "implementation", doc);
        rv = root == NULL ? fl_errorf(errmsg, FL_ENOMEM, "out of memory")
                          : harness_scenario_from_json(root, path, sc, errmsg);
        json_decref(root);
    }
    json_decref(doc);
    if (rv == 0 && sc->implementation.impl != want)
        rv = fl_errorf(errmsg, FL_EUSAGE, "--impl \"%s\": %s holds a %s implementation, not %s",
                       s, path, harness_impl_name(sc->implementation.impl),
                       harness_impl_name(want));
    if (rv != 0) {
        fl_free(sc);
        return rv;
    }
    impl_files[n_impl_files++] = sc;
    out->impl = want;
    out->bug = HARNESS_BUG_NONE;
    out->file = (int)n_impl_files;
    snprintf(out->text, sizeof out->text, "%s:%.40s", harness_impl_name(want), name);
    for (char *c = out->text; *c != '\0'; c++)
        if (*c == '/')
            *c = '_'; /* the text names a results directory */
    return 0;
}

int harness_impl_spec_parse(const char *s, struct harness_impl_spec *out, char *errmsg)
{
    memset(out, 0, sizeof *out);
    const char *c0 = strchr(s, ':');
    if (c0 != NULL && strncmp(c0 + 1, "bug=", 4) != 0 && strcmp(c0 + 1, "disk") != 0 &&
        ((c0 - s == 7 && strncmp(s, "process", 7) == 0) ||
         (c0 - s == 6 && strncmp(s, "client", 6) == 0)))
        return spec_from_file(s, s[0] == 'p' ? HARNESS_IMPL_PROCESS : HARNESS_IMPL_CLIENT, c0 + 1,
                              out, errmsg);
    size_t len = strlen(s);
    if (len == 0 || len >= HARNESS_COMPARE_SPEC_MAX)
        return fl_errorf(errmsg, FL_EUSAGE,
                         "--impl: expected NAME or NAME:bug=BUG (1 to %d bytes), got \"%.64s\"",
                         HARNESS_COMPARE_SPEC_MAX - 1, s);
    const char *colon = strchr(s, ':');
    size_t nlen = colon ? (size_t)(colon - s) : len;
    int k;
    for (k = 0; k < HARNESS_IMPL_COUNT; k++) {
        const char *name = harness_impl_name((enum harness_impl)k);
        if (strlen(name) == nlen && strncmp(name, s, nlen) == 0)
            break;
    }
    if (k >= HARNESS_IMPL_COUNT)
        return fl_errorf(
            errmsg, FL_EUSAGE,
            "--impl \"%s\": unknown implementation \"%.*s\" (reference, etcd, process, client)", s,
            (int)nlen, s);
    out->impl = (enum harness_impl)k;
    out->bug = HARNESS_BUG_NONE;
    /* Options after the name, each after a ':': "bug=BUG", "disk". */
    for (const char *opt = colon ? colon + 1 : NULL; opt != NULL;) {
        const char *next = strchr(opt, ':');
        size_t olen = next ? (size_t)(next - opt) : strlen(opt);
        if (olen == 4 && strncmp(opt, "disk", 4) == 0 && !out->disk) {
            out->disk = true;
            opt = next ? next + 1 : NULL;
            continue;
        }
        if (strncmp(opt, "bug=", 4) != 0 || out->bug != HARNESS_BUG_NONE)
            return fl_errorf(errmsg, FL_EUSAGE,
                             "--impl \"%s\": expected \"bug=BUG\" or \"disk\" after ':', got "
                             "\"%.*s\"",
                             s, (int)olen, opt);
        char bug[64];
        snprintf(bug, sizeof bug, "%.*s", (int)(olen - 4 < sizeof bug ? olen - 4 : 0), opt + 4);
        opt = next ? next + 1 : NULL;
        int b;
        for (b = HARNESS_BUG_NONE + 1; b < HARNESS_BUG_COUNT; b++)
            if (strcmp(harness_bug_name((enum harness_bug)b), bug) == 0)
                break;
        if (b >= HARNESS_BUG_COUNT) {
            char names[256] = "";
            size_t n = 0;
            for (int j = HARNESS_BUG_NONE + 1; j < HARNESS_BUG_COUNT && n < sizeof names; j++)
                n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", n ? ", " : "",
                                      harness_bug_name((enum harness_bug)j));
            return fl_errorf(errmsg, FL_EUSAGE, "--impl \"%s\": unknown bug \"%s\" (%s)", s, bug,
                             names);
        }
        if (out->impl != HARNESS_IMPL_REFERENCE)
            return fl_errorf(errmsg, FL_EUSAGE,
                             "--impl \"%s\": planted bugs exist only in the reference "
                             "implementation",
                             s);
        out->bug = (enum harness_bug)b;
    }
    snprintf(out->text, sizeof out->text, "%s%s%s%s", harness_impl_name(out->impl),
             out->bug != HARNESS_BUG_NONE ? ":bug=" : "",
             out->bug != HARNESS_BUG_NONE ? harness_bug_name(out->bug) : "",
             out->disk ? ":disk" : "");
    return 0;
}

void harness_impl_spec_apply(const struct harness_impl_spec *spec, struct harness_scenario *sc)
{
    if (spec->file > 0 && (size_t)spec->file <= n_impl_files) {
        memcpy(&sc->implementation, &impl_files[spec->file - 1]->implementation,
               sizeof sc->implementation);
        return;
    }
    bool foreign = spec->impl == HARNESS_IMPL_PROCESS || spec->impl == HARNESS_IMPL_CLIENT ||
                   sc->implementation.impl == HARNESS_IMPL_PROCESS ||
                   sc->implementation.impl == HARNESS_IMPL_CLIENT;
    if (spec->impl != sc->implementation.impl && foreign) {
        /* To or from a foreign program: the new impl's defaults, none of the
         * scenario's options (reference and etcd share their timing options). */
        struct harness_scenario d;
        char err[FL_ERRMSG_SIZE];
        json_t *root = json_pack("{s:{s:s}}", "implementation", "impl",
                                 harness_impl_name(spec->impl));
        if (root != NULL && harness_scenario_from_json(root, "defaults", &d, err) == 0)
            memcpy(&sc->implementation, &d.implementation, sizeof sc->implementation);
        json_decref(root);
    }
    sc->implementation.impl = spec->impl;
    sc->implementation.bug = spec->bug;
}

int harness_impl_spec_add(struct harness_impl_spec *specs, size_t *n, const char *arg, char *errmsg)
{
    if (*n >= HARNESS_COMPARE_MAX_IMPLS)
        return fl_errorf(errmsg, FL_EUSAGE, "--impl: at most %d implementations",
                         HARNESS_COMPARE_MAX_IMPLS);
    int rv = harness_impl_spec_parse(arg, &specs[*n], errmsg);
    if (rv != 0)
        return rv;
    for (size_t k = 0; k < *n; k++)
        if (strcmp(specs[k].text, specs[*n].text) == 0)
            return fl_errorf(errmsg, FL_EUSAGE, "--impl %s given twice", arg);
    (*n)++;
    return 0;
}

/* ==== Reading a run back ==== */

static uint64_t count_of(const json_t *v)
{
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* One line for an invalid run: the linearizability counterexample, or the
 * counter or set checker's finding. */
static void anomaly_line(const json_t *results, char *out, size_t size)
{
    const json_t *cex = json_object_get(results, "counterexample");
    const json_t *checkers = json_object_get(results, "checkers");
    if (json_is_object(cex)) {
        const json_t *op = json_object_get(cex, "op");
        const char *desc = json_string_value(json_object_get(op, "description"));
        char *key = json_object_get(cex, "key")
                        ? json_dumps(json_object_get(cex, "key"), JSON_COMPACT | JSON_ENCODE_ANY)
                        : NULL;
        char states[96] = "";
        const json_t *st = json_object_get(cex, "states_before");
        size_t n = 0;
        for (size_t i = 0; i < json_array_size(st) && n < sizeof states; i++) {
            const char *s = json_string_value(json_array_get(st, i));
            n +=
                (size_t)snprintf(states + n, sizeof states - n, "%s%s", i ? ", " : "", s ? s : "?");
        }
        snprintf(out, size, "key %s: cannot linearize %s; states before: %s", key ? key : "?",
                 desc ? desc : "?", json_array_size(st) ? states : "none");
        free(key); /* jansson's */
        return;
    }
    const json_t *counter = json_object_get(checkers, "counter");
    if (json_is_false(json_object_get(counter, "valid"))) {
        const json_t *errs = json_object_get(counter, "errors");
        const json_t *e = json_array_get(errs, 0);
        snprintf(out, size,
                 "counter: %zu reads out of bounds; first: read %" PRId64 " at line %" PRId64
                 ", bounds [%" PRId64 ", %" PRId64 "]",
                 json_array_size(errs), (int64_t)json_integer_value(json_object_get(e, "value")),
                 (int64_t)json_integer_value(json_object_get(e, "line")),
                 (int64_t)json_integer_value(json_object_get(e, "lower")),
                 (int64_t)json_integer_value(json_object_get(e, "upper")));
        return;
    }
    const json_t *set = json_object_get(checkers, "set");
    if (json_is_false(json_object_get(set, "valid"))) {
        snprintf(out, size, "set: %" PRIu64 " lost, %" PRIu64 " unexpected, %" PRIu64 " duplicated",
                 count_of(json_object_get(set, "lost_count")),
                 count_of(json_object_get(set, "unexpected_count")),
                 count_of(json_object_get(set, "duplicated_count")));
        return;
    }
    snprintf(out, size, "invalid (see the run's report)");
}

/* Replaces control characters (from a history) so a line stays one line. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20)
            *s = ' ';
}

void harness_compare_run_from_json(const json_t *results, struct harness_compare_run *run)
{
    /* Every figure is read below (NaN or 0 when absent). */
    run->anomaly[0] = '\0';
    run->n_faults = run->n_recovered = run->n_failover = 0;
    const char *v = json_string_value(json_object_get(results, "verdict"));
    if (v != NULL && strcmp(v, "valid") == 0)
        run->code = HARNESS_COMPARE_VALID;
    else if (v != NULL && strcmp(v, "invalid") == 0)
        run->code = HARNESS_COMPARE_INVALID;
    else if (v != NULL && strcmp(v, "unknown") == 0)
        run->code = HARNESS_COMPARE_UNKNOWN;
    else {
        run->code = HARNESS_COMPARE_ERROR;
        snprintf(run->anomaly, sizeof run->anomaly, "results.json: no verdict");
    }
    const json_t *counts = json_object_get(results, "counts");
    run->fig.ok = count_of(json_object_get(counts, "ok"));
    run->fig.fail = count_of(json_object_get(counts, "fail"));
    run->fig.info = count_of(json_object_get(counts, "info"));
    run->fig.ok_per_s =
        fl_json_number(json_object_get(json_object_get(results, "throughput"), "mean_ok_per_s"));
    const json_t *lat = json_object_get(results, "latency_ms");
    const json_t *w = json_object_get(lat, "write"), *r = json_object_get(lat, "read");
    run->fig.write_p50 = fl_json_number(json_object_get(w, "p50"));
    run->fig.write_p99 = fl_json_number(json_object_get(w, "p99"));
    run->fig.read_p50 = fl_json_number(json_object_get(r, "p50"));
    run->fig.read_p99 = fl_json_number(json_object_get(r, "p99"));
    run->fig.unavailable_s =
        fl_json_number(json_object_get(json_object_get(results, "unavailability"), "total_s"));
    const json_t *faults = json_object_get(results, "faults");
    for (size_t i = 0; i < json_array_size(faults); i++) {
        const json_t *f = json_array_get(faults, i);
        if (json_is_true(json_object_get(f, "failed")))
            continue; /* never applied: nothing to recover from */
        run->n_faults++;
        double rec = fl_json_number(json_object_get(f, "recovery_s"));
        if (!isnan(rec) && rec >= 0 && run->n_recovered < HARNESS_COMPARE_MAX_FAULTS)
            run->recovery_s[run->n_recovered++] = rec;
        double fo = fl_json_number(json_object_get(f, "failover_s"));
        if (!isnan(fo) && fo >= 0 && run->n_failover < HARNESS_COMPARE_MAX_FAULTS)
            run->failover_s[run->n_failover++] = fo;
    }
    if (run->code == HARNESS_COMPARE_INVALID) {
        anomaly_line(results, run->anomaly, sizeof run->anomaly);
        one_line(run->anomaly);
    }
}

int harness_compare_run_load(const char *path, struct harness_compare_run *run, char *errmsg)
{
    struct stat st;
    int rv = 0;
    json_error_t jerr;
    json_t *root = NULL;
    if (stat(path, &st) != 0)
        rv = fl_errorf(errmsg, -errno, "%s: %s", path, strerror(errno));
    else if ((uint64_t)st.st_size > HARNESS_COMPARE_RESULTS_MAX)
        rv = fl_errorf(errmsg, FL_ELIMIT, "%s: larger than %u bytes", path,
                       HARNESS_COMPARE_RESULTS_MAX);
    else if ((root = json_load_file(path, 0, &jerr)) == NULL)
        rv = fl_errorf(errmsg, FL_EPARSE, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    else if (!json_is_object(root))
        rv = fl_errorf(errmsg, FL_ESHAPE, "%s: expected a JSON object", path);
    if (rv != 0) {
        json_decref(root);
        harness_compare_run_from_json(NULL, run);
        run->code = HARNESS_COMPARE_ERROR;
        snprintf(run->anomaly, sizeof run->anomaly, "%s", errmsg);
        return rv;
    }
    harness_compare_run_from_json(root, run);
    json_decref(root);
    return 0;
}

/* ==== Summaries ==== */

int harness_compare_worse(int a, int b)
{
    static const int rank[] = {0, 2, 1, 3}; /* valid, invalid, unknown, error */
    if (a < 0 || a > 3)
        a = 3;
    if (b < 0 || b > 3)
        b = 3;
    return rank[b] > rank[a] ? b : a;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median and maximum of every run's failover times (fault -> first ok op invoked after it). */
static void failover_summary(const struct harness_compare_run *runs, size_t n,
                             struct harness_compare_summary *s)
{
    size_t k = 0;
    s->failover_median_s = s->failover_max_s = NAN;
    for (size_t i = 0; i < n; i++)
        k += runs[i].n_failover;
    s->failovers = (unsigned)k;
    double *all = k > 0 ? fl_calloc(k, sizeof *all) : NULL;
    if (all == NULL)
        return;
    k = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned j = 0; j < runs[i].n_failover; j++)
            all[k++] = runs[i].failover_s[j];
    qsort(all, k, sizeof *all, cmp_double);
    s->failover_median_s = k % 2 ? all[k / 2] : (all[k / 2 - 1] + all[k / 2]) / 2;
    s->failover_max_s = all[k - 1];
    fl_free(all);
}

/* Mean of the non-NaN values of a field over the runs; NaN when none. */
static double mean_of(const struct harness_compare_run *runs, size_t n, size_t offset)
{
    double sum = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        double v = *(const double *)((const char *)&runs[i] + offset);
        if (!isnan(v)) {
            sum += v;
            k++;
        }
    }
    return k ? sum / (double)k : NAN;
}

void harness_compare_summarize(const struct harness_compare_run *runs, size_t n,
                               struct harness_compare_summary *s)
{
    memset(s, 0, sizeof *s);
    s->worst = HARNESS_COMPARE_VALID;
    s->fig.unavailable_s = NAN;
    size_t n_rec = 0;
    for (size_t i = 0; i < n; i++) {
        const struct harness_compare_run *r = &runs[i];
        int code = r->code >= 0 && r->code <= 3 ? r->code : HARNESS_COMPARE_ERROR;
        s->runs++;
        s->verdicts[code]++;
        if (i < HARNESS_COMPARE_MAX_RUNS)
            s->letters[i] = "VIUE"[code];
        s->worst = harness_compare_worse(s->worst, code);
        s->fig.ok += r->fig.ok;
        s->fig.fail += r->fig.fail;
        s->fig.info += r->fig.info;
        if (!isnan(r->fig.unavailable_s))
            s->fig.unavailable_s =
                (isnan(s->fig.unavailable_s) ? 0 : s->fig.unavailable_s) + r->fig.unavailable_s;
        s->faults += r->n_faults;
        n_rec += r->n_recovered;
    }
#define MEAN(field) mean_of(runs, n, offsetof(struct harness_compare_run, fig.field))
    s->fig.ok_per_s = MEAN(ok_per_s);
    s->fig.write_p50 = MEAN(write_p50);
    s->fig.write_p99 = MEAN(write_p99);
    s->fig.read_p50 = MEAN(read_p50);
    s->fig.read_p99 = MEAN(read_p99);
    s->unavailable_s_mean = MEAN(unavailable_s);
#undef MEAN
    s->recovered = (unsigned)n_rec;
    s->recovery_median_s = s->recovery_max_s = NAN;
    failover_summary(runs, n, s);
    if (n_rec == 0)
        return;
    double *all = fl_calloc(n_rec, sizeof *all);
    if (all == NULL) {
        /* The maximum needs no copy; the median is left unknown. */
        for (size_t i = 0; i < n; i++)
            for (unsigned j = 0; j < runs[i].n_recovered; j++)
                if (isnan(s->recovery_max_s) || runs[i].recovery_s[j] > s->recovery_max_s)
                    s->recovery_max_s = runs[i].recovery_s[j];
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned j = 0; j < runs[i].n_recovered; j++)
            all[k++] = runs[i].recovery_s[j];
    qsort(all, k, sizeof *all, cmp_double);
    s->recovery_median_s = k % 2 ? all[k / 2] : (all[k / 2 - 1] + all[k / 2]) / 2;
    s->recovery_max_s = all[k - 1];
    fl_free(all);
}

void harness_compare_free(struct harness_compare *c)
{
    for (size_t i = 0; i < c->n_impls; i++) {
        fl_free(c->impls[i].runs);
        c->impls[i].runs = NULL;
        c->impls[i].n_runs = 0;
    }
}

int harness_compare_exit_code(const struct harness_compare *c)
{
    int worst = HARNESS_COMPARE_VALID;
    for (size_t i = 0; i < c->n_impls; i++)
        if (c->impls[i].spec.bug == HARNESS_BUG_NONE)
            for (size_t j = 0; j < c->impls[i].n_runs; j++)
                worst = harness_compare_worse(worst, c->impls[i].runs[j].code);
    return worst;
}

bool harness_compare_bug_caught(const struct harness_compare_impl *i)
{
    if (i->spec.bug == HARNESS_BUG_NONE)
        return false;
    for (size_t j = 0; j < i->n_runs; j++)
        if (i->runs[j].code == HARNESS_COMPARE_INVALID)
            return true;
    return false;
}

/* ==== The table ==== */

static const char *code_name(int code)
{
    static const char *names[] = {"valid", "invalid", "unknown", "error"};
    return code >= 0 && code <= 3 ? names[code] : "error";
}

/* A figure or "-" when unknown, into buf. */
static const char *fig(char *buf, size_t size, const char *fmt, double v)
{
    if (isnan(v))
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, fmt, v);
    return buf;
}

void harness_compare_table(const struct harness_compare *c, struct fl_buf *out)
{
    fl_buf_printf(out,
                  "compare: scenario %s, %u run%s per implementation, seeds %" PRIu64 "..%" PRIu64
                  ", %u s of faults\n",
                  c->scenario, c->count, c->count == 1 ? "" : "s", c->seed,
                  c->seed + (c->count ? c->count - 1 : 0), c->faults_s);
    fl_buf_printf(out, "%-28s %4s %-16s %20s %8s %15s %15s %9s %15s\n", "implementation", "runs",
                  "verdicts V/I/U/E", "ok/fail/info", "ok/s", "write p50/p99", "read p50/p99",
                  "unavail", "recover med/max");
    for (size_t i = 0; i < c->n_impls; i++) {
        const struct harness_compare_impl *im = &c->impls[i];
        const struct harness_compare_summary *s = &im->sum;
        char v[32], cnt[64], tp[24], w[40], r[40], un[24], rec[40], a[16], b[16];
        snprintf(v, sizeof v, "%u/%u/%u/%u", s->verdicts[0], s->verdicts[1], s->verdicts[2],
                 s->verdicts[3]);
        snprintf(cnt, sizeof cnt, "%" PRIu64 "/%" PRIu64 "/%" PRIu64, s->fig.ok, s->fig.fail,
                 s->fig.info);
        fig(tp, sizeof tp, "%.1f", s->fig.ok_per_s);
        snprintf(w, sizeof w, "%s/%s", fig(a, sizeof a, "%.1f", s->fig.write_p50),
                 fig(b, sizeof b, "%.1f", s->fig.write_p99));
        snprintf(r, sizeof r, "%s/%s", fig(a, sizeof a, "%.1f", s->fig.read_p50),
                 fig(b, sizeof b, "%.1f", s->fig.read_p99));
        if (isnan(s->fig.unavailable_s))
            snprintf(un, sizeof un, "-");
        else
            snprintf(un, sizeof un, "%.1fs", s->fig.unavailable_s);
        if (s->faults == 0)
            snprintf(rec, sizeof rec, "no faults");
        else
            snprintf(rec, sizeof rec, "%s/%s%s", fig(a, sizeof a, "%.2fs", s->recovery_median_s),
                     fig(b, sizeof b, "%.2fs", s->recovery_max_s),
                     s->recovered < s->faults ? "*" : "");
        fl_buf_printf(out, "%-28s %4u %-16s %20s %8s %15s %15s %9s %15s\n", im->spec.text, s->runs,
                      v, cnt, tp, w, r, un, rec);
        fl_buf_printf(out, "%-28s      seeds: %s\n", "", s->letters);
        if (s->failovers > 0)
            fl_buf_printf(out, "%-28s      from fault to first ok op (median/max of %u): %s/%s\n",
                          "", s->failovers, fig(a, sizeof a, "%.3fs", s->failover_median_s),
                          fig(b, sizeof b, "%.3fs", s->failover_max_s));
    }
    fl_buf_puts(out,
                "  latencies in ms (mean over runs of each run's percentile); unavail: total "
                "time with no ok operation (windows >= 1 s); recover: time from a fault's heal "
                "to the first ok operation");
    bool star = false;
    for (size_t i = 0; i < c->n_impls; i++)
        star = star || c->impls[i].sum.recovered < c->impls[i].sum.faults;
    fl_buf_puts(out, star ? "; * some faults never recovered before the run ended\n" : "\n");
    for (size_t i = 0; i < c->n_impls; i++) {
        const struct harness_compare_impl *im = &c->impls[i];
        for (size_t j = 0; j < im->n_runs; j++) {
            const struct harness_compare_run *rn = &im->runs[j];
            if (rn->code != HARNESS_COMPARE_INVALID && rn->code != HARNESS_COMPARE_ERROR)
                continue;
            fl_buf_printf(out, "%s %s seed %" PRIu64 ": %s\n", im->spec.text,
                          rn->code == HARNESS_COMPARE_INVALID ? "anomaly" : "error", rn->seed,
                          rn->anomaly[0] ? rn->anomaly : code_name(rn->code));
        }
    }
    for (size_t i = 0; i < c->n_impls; i++) {
        const struct harness_compare_impl *im = &c->impls[i];
        if (im->spec.bug == HARNESS_BUG_NONE)
            continue;
        if (harness_compare_bug_caught(im))
            fl_buf_printf(out, "planted bug %s caught: %u of %u runs invalid\n",
                          harness_bug_name(im->spec.bug), im->sum.verdicts[1], im->sum.runs);
        else
            fl_buf_printf(out, "planted bug %s NOT caught: no invalid run in %u (%s)\n",
                          harness_bug_name(im->spec.bug), im->sum.runs, im->sum.letters);
    }
}

/* ==== compare.json ==== */

/* Sets key to a new value; clears *ok when either is missing. */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
    if (o == NULL || v == NULL || json_object_set_new(o, key, v) != 0)
        *ok = false;
}

/* The figures both a run and a summary carry, under the same names. */
static void put_figures(json_t *o, const struct harness_compare_figures *f, bool *ok)
{
    put(o, "ok", json_integer((json_int_t)f->ok), ok);
    put(o, "fail", json_integer((json_int_t)f->fail), ok);
    put(o, "info", json_integer((json_int_t)f->info), ok);
    put(o, "ok_per_s", fl_json_real(f->ok_per_s), ok);
    put(o, "write_p50_ms", fl_json_real(f->write_p50), ok);
    put(o, "write_p99_ms", fl_json_real(f->write_p99), ok);
    put(o, "read_p50_ms", fl_json_real(f->read_p50), ok);
    put(o, "read_p99_ms", fl_json_real(f->read_p99), ok);
    put(o, "unavailable_s", fl_json_real(f->unavailable_s), ok);
}

static json_t *run_json(const struct harness_compare_run *r, bool *ok)
{
    json_t *o = json_object();
    json_t *rec = json_array();
    if (o == NULL || rec == NULL) {
        json_decref(o);
        json_decref(rec);
        *ok = false;
        return NULL;
    }
    char report[600];
    snprintf(report, sizeof report, "%s/report.html", r->dir);
    put(o, "seed", json_integer((json_int_t)r->seed), ok);
    put(o, "verdict", json_string(code_name(r->code)), ok);
    put(o, "dir", json_string(r->dir), ok);
    put(o, "report", json_string(report), ok);
    put(o, "anomaly", r->anomaly[0] ? json_string(r->anomaly) : json_null(), ok);
    put_figures(o, &r->fig, ok);
    put(o, "faults", json_integer(r->n_faults), ok);
    for (unsigned i = 0; i < r->n_recovered; i++)
        if (json_array_append_new(rec, json_real(r->recovery_s[i])) != 0)
            *ok = false;
    put(o, "recovery_s", rec, ok);
    return o;
}

static json_t *summary_json(const struct harness_compare_summary *s, bool *ok)
{
    json_t *o = json_object();
    put(o, "runs", json_integer(s->runs), ok);
    put(o, "valid", json_integer(s->verdicts[0]), ok);
    put(o, "invalid", json_integer(s->verdicts[1]), ok);
    put(o, "unknown", json_integer(s->verdicts[2]), ok);
    put(o, "error", json_integer(s->verdicts[3]), ok);
    put(o, "letters", json_string(s->letters), ok);
    put(o, "worst", json_string(code_name(s->worst)), ok);
    put_figures(o, &s->fig, ok);
    put(o, "unavailable_s_mean", fl_json_real(s->unavailable_s_mean), ok);
    put(o, "faults", json_integer(s->faults), ok);
    put(o, "recovered", json_integer(s->recovered), ok);
    put(o, "recovery_median_s", fl_json_real(s->recovery_median_s), ok);
    put(o, "recovery_max_s", fl_json_real(s->recovery_max_s), ok);
    put(o, "failover_median_s", fl_json_real(s->failover_median_s), ok);
    put(o, "failover_max_s", fl_json_real(s->failover_max_s), ok);
    if (o == NULL)
        *ok = false;
    return o;
}

json_t *harness_compare_json(const struct harness_compare *c)
{
    bool ok = true;
    json_t *root = json_object();
    json_t *impls = json_array();
    put(root, "format", json_integer(1), &ok);
    put(root, "scenario", json_string(c->scenario), &ok);
    put(root, "dir", json_string(c->dir), &ok);
    put(root, "seed", json_integer((json_int_t)c->seed), &ok);
    put(root, "runs_per_impl", json_integer(c->count), &ok);
    put(root, "faults_s", json_integer(c->faults_s), &ok);
    put(root, "exit_code", json_integer(harness_compare_exit_code(c)), &ok);
    for (size_t i = 0; impls != NULL && i < c->n_impls; i++) {
        const struct harness_compare_impl *im = &c->impls[i];
        json_t *o = json_object(), *runs = json_array();
        const char *bug = harness_bug_name(im->spec.bug);
        put(o, "spec", json_string(im->spec.text), &ok);
        put(o, "impl", json_string(harness_impl_name(im->spec.impl)), &ok);
        put(o, "bug", bug ? json_string(bug) : json_null(), &ok);
        put(o, "bug_caught", bug ? json_boolean(harness_compare_bug_caught(im)) : json_null(), &ok);
        put(o, "summary", summary_json(&im->sum, &ok), &ok);
        for (size_t j = 0; runs != NULL && j < im->n_runs; j++) {
            json_t *r = run_json(&im->runs[j], &ok);
            if (r == NULL || json_array_append_new(runs, r) != 0)
                ok = false;
        }
        put(o, "runs", runs, &ok);
        if (o == NULL || json_array_append_new(impls, o) != 0)
            ok = false;
    }
    put(root, "impls", impls, &ok);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* ==== compare.html ==== */

/* The style of report.html (checker/report_html.c), for the parts used here. */
static const char page_css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;max-width:1200px}"
    "h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:22px 0 6px}"
    ".verdict{display:inline-block;padding:3px 10px;border-radius:4px;color:#fff;font-weight:bold}"
    ".v-valid{background:#2e7d32}.v-invalid{background:#c62828}.v-unknown{background:#ef6c00}"
    ".v-error{background:#607d8b}"
    ".s{display:inline-block;min-width:1.4em;text-align:center;border-radius:3px;color:#fff;"
    "margin:1px;font-size:12px;text-decoration:none}"
    "table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}table.side "
    "td{white-space:nowrap}"
    ".note{color:#555;font-size:13px;margin:4px 0}.caught{color:#2e7d32}.missed{color:#c62828;"
    "font-weight:bold}";

static void esc(struct fl_buf *out, const char *s)
{
    checker_html_escape(out, s, (size_t)-1);
}

/* Appends a relative link target for `path` (our own folder names): each
 * byte outside [A-Za-z0-9._/-] percent-encoded, and "./" first so a spec
 * like "reference:bug=x" is never read as a URL scheme. */
static void href(struct fl_buf *out, const char *path)
{
    fl_buf_puts(out, "./");
    for (; *path; path++) {
        unsigned char ch = (unsigned char)*path;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '_' || ch == '-' || (ch == '/' && path[1] != '/'))
            fl_buf_append(out, path, 1);
        else
            fl_buf_printf(out, "%%%02X", ch);
    }
}

static void cell(struct fl_buf *out, const char *fmt, double v)
{
    fl_buf_puts(out, "<td>");
    if (isnan(v))
        fl_buf_puts(out, "-");
    else
        fl_buf_printf(out, fmt, v);
    fl_buf_puts(out, "</td>");
}

int harness_compare_html(const struct harness_compare *c, struct fl_buf *out)
{
    int worst = harness_compare_exit_code(c);
    fl_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    fl_buf_puts(out, "compare ");
    esc(out, c->scenario);
    fl_buf_printf(out, "</title>\n<style>%s</style>\n</head><body>\n<h1>Compare: ", page_css);
    esc(out, c->scenario);
    fl_buf_printf(out, " <span class=\"verdict v-%s\">%s</span></h1>\n", code_name(worst),
                  code_name(worst));
    fl_buf_printf(out,
                  "<p class=\"note\">%u run%s per implementation, seeds %" PRIu64 " to %" PRIu64
                  ", %u s of faults each. The verdict above is the worst over implementations "
                  "without a planted bug.</p>\n",
                  c->count, c->count == 1 ? "" : "s", c->seed,
                  c->seed + (c->count ? c->count - 1 : 0), c->faults_s);
    fl_buf_puts(
        out, "<h2>Side by side</h2>\n<table class=\"side\"><tr><th class=\"l\">implementation</th>"
             "<th>runs</th><th>valid</th><th>invalid</th><th>unknown</th><th>error</th>"
             "<th>ok</th><th>fail</th><th>info</th><th>ok/s</th><th>write p50 ms</th>"
             "<th>write p99 ms</th><th>read p50 ms</th><th>read p99 ms</th>"
             "<th>unavailable s</th><th>faults</th><th>recovery median s</th>"
             "<th>recovery max s</th></tr>\n");
    for (size_t i = 0; i < c->n_impls; i++) {
        const struct harness_compare_summary *s = &c->impls[i].sum;
        fl_buf_puts(out, "<tr><td class=\"l\">");
        esc(out, c->impls[i].spec.text);
        fl_buf_printf(out,
                      "</td><td>%u</td><td>%u</td><td>%u</td><td>%u</td><td>%u</td>"
                      "<td>%" PRIu64 "</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td>",
                      s->runs, s->verdicts[0], s->verdicts[1], s->verdicts[2], s->verdicts[3],
                      s->fig.ok, s->fig.fail, s->fig.info);
        cell(out, "%.1f", s->fig.ok_per_s);
        cell(out, "%.2f", s->fig.write_p50);
        cell(out, "%.2f", s->fig.write_p99);
        cell(out, "%.2f", s->fig.read_p50);
        cell(out, "%.2f", s->fig.read_p99);
        cell(out, "%.1f", s->fig.unavailable_s);
        fl_buf_printf(out, "<td>%u (%u recovered)</td>", s->faults, s->recovered);
        cell(out, "%.2f", s->recovery_median_s);
        cell(out, "%.2f", s->recovery_max_s);
        fl_buf_puts(out, "</tr>\n");
    }
    fl_buf_puts(out, "</table>\n<p class=\"note\">Latencies: mean over runs of each run's "
                     "percentile. Unavailable: total time with no ok operation (windows of 1 s or "
                     "more). Recovery: from a fault's heal to the first ok operation.</p>\n");
    fl_buf_puts(out, "<h2>Runs</h2>\n<table><tr><th class=\"l\">implementation</th>"
                     "<th class=\"l\">runs (seed: verdict, linked to its report)</th></tr>\n");
    for (size_t i = 0; i < c->n_impls; i++) {
        const struct harness_compare_impl *im = &c->impls[i];
        fl_buf_puts(out, "<tr><td class=\"l\">");
        esc(out, im->spec.text);
        fl_buf_puts(out, "</td><td class=\"l\">");
        for (size_t j = 0; j < im->n_runs; j++) {
            const struct harness_compare_run *r = &im->runs[j];
            char report[600];
            snprintf(report, sizeof report, "%s/report.html", r->dir);
            fl_buf_printf(out, "<a class=\"s v-%s\" title=\"seed %" PRIu64 ": %s\" href=\"",
                          code_name(r->code), r->seed, code_name(r->code));
            href(out, report);
            fl_buf_printf(out, "\">%" PRIu64 "</a>", r->seed);
        }
        fl_buf_puts(out, "</td></tr>\n");
    }
    fl_buf_puts(out, "</table>\n");
    bool any = false;
    for (size_t i = 0; i < c->n_impls; i++)
        for (size_t j = 0; j < c->impls[i].n_runs; j++) {
            const struct harness_compare_run *r = &c->impls[i].runs[j];
            if (r->code != HARNESS_COMPARE_INVALID && r->code != HARNESS_COMPARE_ERROR)
                continue;
            if (!any)
                fl_buf_puts(out, "<h2>Anomalies and errors</h2>\n<table><tr><th class=\"l\">"
                                 "implementation</th><th>seed</th><th class=\"l\">verdict</th>"
                                 "<th class=\"l\">what</th></tr>\n");
            any = true;
            fl_buf_puts(out, "<tr><td class=\"l\">");
            esc(out, c->impls[i].spec.text);
            fl_buf_printf(out, "</td><td>%" PRIu64 "</td><td class=\"l\">%s</td><td class=\"l\">",
                          r->seed, code_name(r->code));
            esc(out, r->anomaly);
            fl_buf_puts(out, "</td></tr>\n");
        }
    if (any)
        fl_buf_puts(out, "</table>\n");
    for (size_t i = 0; i < c->n_impls; i++) {
        const struct harness_compare_impl *im = &c->impls[i];
        if (im->spec.bug == HARNESS_BUG_NONE)
            continue;
        bool caught = harness_compare_bug_caught(im);
        fl_buf_printf(out, "<p class=\"%s\">Planted bug %s %s", caught ? "caught" : "missed",
                      harness_bug_name(im->spec.bug), caught ? "caught" : "NOT caught");
        fl_buf_printf(out, ": %u of %u runs invalid.</p>\n", im->sum.verdicts[1], im->sum.runs);
    }
    fl_buf_puts(out, "<p class=\"note\">Written by faultline compare. This page is "
                     "self-contained: it loads nothing.</p>\n</body></html>\n");
    return out->oom ? FL_ENOMEM : 0;
}

/* ==== The command ==== */

static const char usage[] =
    "usage: faultline compare SCENARIO.json --impl SPEC [--impl SPEC]... [options]\n"
    "\n"
    "Runs the scenario once per seed for each implementation, with the same seeds\n"
    "(SEED, SEED+1, ...), each run into DIR/<spec>/<seed>/, then prints a table side\n"
    "by side: verdicts, anomalies, ok/fail/info, throughput, p50/p99 latency of\n"
    "writes and reads, unavailability and recovery after faults. Writes\n"
    "DIR/compare.json and DIR/compare.html (links to every run's report.html).\n"
    "\n"
    "  --impl SPEC         NAME or NAME:bug=BUG, e.g. reference, etcd,\n"
    "                      reference:bug=stale-read; or process:FILE / client:FILE, a\n"
    "                      foreign implementation from FILE: a scenario (its\n"
    "                      \"implementation\" is taken) or an implementation object\n"
    "                      {\"impl\": ..., \"options\": ...}; shown as process:NAME\n"
    "                      (up to 8). Each must accept the scenario, as in run.\n"
    "  --test-count N      runs per implementation (default 1)\n"
    "  --time-limit S      seconds of the fault phase (phases.faults_s)\n"
    "  --warmup S          seconds of warm-up (phases.warmup_s)\n"
    "  --heal S            seconds of the quiet phase after the faults (phases.heal_s)\n"
    "  --seed N            first seed (default: random)\n"
    "  --out DIR           default results/compare/<scenario>/<UTC time>\n"
    "  --node-bin PATH     the faultline-node binary (default: next to faultline)\n"
    "  --no-capture        no capture.pcap\n"
    "  -v, --verbose       the runs' progress lines\n"
    "  -h, --help          this text\n"
    "\n"
    "Needs root (namespaces). Exit status: the worst verdict over the runs of the\n"
    "implementations WITHOUT a planted bug: 0 valid, 1 invalid, 2 unknown, 3 an\n"
    "error (a run that could not be carried out, or a usage error). A planted-bug\n"
    "variant never changes the exit status; the table says whether it was caught.\n";

/* Writes compare.json and compare.html into c->dir. Returns 0 or -1 (said). */
static int write_outputs(const struct harness_compare *c)
{
    char path[700], err[FL_ERRMSG_SIZE];
    int rv = 0;
    json_t *j = harness_compare_json(c);
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(j);
    snprintf(path, sizeof path, "%s/compare.json", c->dir);
    if (text == NULL) {
        fprintf(stderr, "faultline compare: out of memory writing %s\n", path);
        rv = -1;
    } else if (checker_report_write_file(path, text, strlen(text), err) != 0) {
        fprintf(stderr, "faultline compare: %s\n", err);
        rv = -1;
    }
    free(text); /* jansson's */
    struct fl_buf b;
    fl_buf_init(&b);
    snprintf(path, sizeof path, "%s/compare.html", c->dir);
    if (harness_compare_html(c, &b) != 0) {
        fprintf(stderr, "faultline compare: out of memory writing %s\n", path);
        rv = -1;
    } else if (checker_report_write_file(path, b.data, b.len, err) != 0) {
        fprintf(stderr, "faultline compare: %s\n", err);
        rv = -1;
    }
    fl_buf_free(&b);
    return rv;
}

int harness_compare_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"impl", required_argument, NULL, 'i'},
        {"test-count", required_argument, NULL, 'c'},
        {"time-limit", required_argument, NULL, 't'},
        {"warmup", required_argument, NULL, 'w'},
        {"heal", required_argument, NULL, 'H'},
        {"seed", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"node-bin", required_argument, NULL, 'b'},
        {"no-capture", no_argument, NULL, 'n'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *prog = "faultline compare";
    char err[FL_ERRMSG_SIZE];
    struct harness_compare *c = fl_calloc(1, sizeof *c);
    if (c == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 3;
    }
    const char *count = NULL, *limit = NULL, *warmup = NULL, *heal = NULL, *seed = NULL;
    const char *out = NULL, *node_bin = NULL;
    struct harness_impl_spec specs[HARNESS_COMPARE_MAX_IMPLS];
    size_t n_specs = 0;
    bool no_capture = false, verbose = false;
    int rc = 3, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        switch (opt) {
        case 'i':
            if (harness_impl_spec_add(specs, &n_specs, optarg, err) != 0) {
                fprintf(stderr, "%s: %s\n", prog, err);
                goto out;
            }
            break;
        case 'c':
            count = optarg;
            break;
        case 't':
            limit = optarg;
            break;
        case 'w':
            warmup = optarg;
            break;
        case 'H':
            heal = optarg;
            break;
        case 's':
            seed = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'b':
            node_bin = optarg;
            break;
        case 'n':
            no_capture = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            fputs(usage, stdout);
            rc = 0;
            goto out;
        default:
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", prog,
                    argv[optind - 1]);
            goto out;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "%s: expected one scenario file (see --help)\n", prog);
        goto out;
    }
    for (size_t i = 0; i < n_specs; i++)
        c->impls[i].spec = specs[i];
    c->n_impls = n_specs;
    if (c->n_impls == 0) {
        fprintf(stderr, "%s: give at least one --impl (see --help)\n", prog);
        goto out;
    }
    struct harness_scenario sc;
    if (harness_scenario_load(argv[optind], &sc, err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto out;
    }
    unsigned long long v, runs = 1;
    if (count != NULL && (fl_parse_uint("faultline compare", "--test-count", count,
                                        HARNESS_COMPARE_MAX_RUNS, &runs) != 0 ||
                          runs == 0)) {
        if (runs == 0)
            fprintf(stderr, "%s: --test-count: at least 1\n", prog);
        goto out;
    }
    if (limit != NULL) {
        if (fl_parse_uint("faultline compare", "--time-limit", limit, 86400, &v) != 0)
            goto out;
        if (v == 0) {
            fprintf(stderr, "%s: --time-limit: at least 1 second\n", prog);
            goto out;
        }
        sc.phases.faults_s = (unsigned)v;
    }
    if (warmup != NULL) {
        if (fl_parse_uint("faultline compare", "--warmup", warmup, 3600, &v) != 0)
            goto out;
        sc.phases.warmup_s = (unsigned)v;
    }
    if (heal != NULL) {
        if (fl_parse_uint("faultline compare", "--heal", heal, 3600, &v) != 0)
            goto out;
        sc.phases.heal_s = (unsigned)v;
    }
    if (seed != NULL) {
        if (fl_parse_uint("faultline compare", "--seed", seed,
                          HARNESS_SCENARIO_SEED_MAX - HARNESS_COMPARE_MAX_RUNS, &v) != 0)
            goto out;
        sc.nemesis.seed = v;
    } else if (sc.nemesis.seed_set) {
        if (sc.nemesis.seed > HARNESS_SCENARIO_SEED_MAX - HARNESS_COMPARE_MAX_RUNS)
            sc.nemesis.seed = 0;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sc.nemesis.seed = ((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 20) %
                          (HARNESS_SCENARIO_SEED_MAX - HARNESS_COMPARE_MAX_RUNS);
    }
    sc.nemesis.seed_set = true;
    if (no_capture)
        sc.network.capture.enabled = false;
    /* Every implementation must accept the scenario before anything runs. */
    for (size_t i = 0; i < c->n_impls; i++) {
        struct harness_scenario t = sc;
        harness_impl_spec_apply(&c->impls[i].spec, &t);
        if (harness_scenario_validate(&t, t.name, err) != 0) {
            fprintf(stderr, "%s: --impl %s: %s\n", prog, c->impls[i].spec.text, err);
            goto out;
        }
        c->impls[i].runs = fl_calloc((size_t)runs, sizeof *c->impls[i].runs);
        if (c->impls[i].runs == NULL) {
            fprintf(stderr, "%s: out of memory\n", prog);
            goto out;
        }
    }
    if (geteuid() != 0) {
        fprintf(stderr, "%s: needs root (network namespaces); try sudo\n", prog);
        goto out;
    }
    snprintf(c->scenario, sizeof c->scenario, "%s", sc.name);
    c->seed = sc.nemesis.seed;
    c->count = (unsigned)runs;
    c->faults_s = sc.phases.faults_s;
    char base[300];
    snprintf(base, sizeof base, "results/compare/%s", sc.name);
    int mrv = fl_results_dir(c->dir, sizeof c->dir, out, base);
    if (mrv != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, out ? out : base, strerror(-mrv));
        goto out;
    }
    fprintf(stderr,
            "%s: scenario %s, %zu implementation%s x %u run%s, seeds %" PRIu64 "..%" PRIu64
            ", results in %s\n",
            prog, sc.name, c->n_impls, c->n_impls == 1 ? "" : "s", c->count,
            c->count == 1 ? "" : "s", c->seed, c->seed + c->count - 1, c->dir);
    struct harness_run_opts o = {.node_bin = node_bin, .quiet = !verbose};
    bool aborted = false;
    unsigned done = 0, total = (unsigned)(c->n_impls * runs);
    /* Seed-major order: a cut-short comparison still has every
     * implementation on the first seeds. */
    for (unsigned k = 0; k < c->count && !aborted; k++) {
        for (size_t i = 0; i < c->n_impls && !aborted; i++) {
            struct harness_compare_impl *im = &c->impls[i];
            struct harness_compare_run *r = &im->runs[im->n_runs];
            struct harness_scenario t = sc;
            harness_impl_spec_apply(&im->spec, &t);
            t.nemesis.seed = c->seed + k;
            /* The scenario's expectation holds for its own bug (or lack of
             * one); without a bug a run should be valid; another bug's
             * outcome is not known in advance. */
            if (im->spec.bug != sc.implementation.bug)
                t.expected =
                    im->spec.bug == HARNESS_BUG_NONE ? HARNESS_EXPECT_VALID : HARNESS_EXPECT_NONE;
            r->seed = t.nemesis.seed;
            snprintf(r->dir, sizeof r->dir, "%s/%" PRIu64, im->spec.text, r->seed);
            char rundir[900];
            snprintf(rundir, sizeof rundir, "%s/%s", c->dir, r->dir);
            o.out_dir = rundir;
            o.disk = im->spec.disk;
            done++;
            fprintf(stderr, "== [%u/%u] %s, seed %" PRIu64 "\n", done, total, im->spec.text,
                    r->seed);
            struct harness_run_result res;
            im->n_runs++;
            if (harness_run_scenario(&t, &o, &res, err) != 0) {
                harness_compare_run_from_json(NULL, r);
                r->code = HARNESS_COMPARE_ERROR;
                snprintf(r->anomaly, sizeof r->anomaly, "%s", err);
                fprintf(stderr, "%s: %s, seed %" PRIu64 ": %s\n", prog, im->spec.text, r->seed,
                        err);
                continue;
            }
            if (res.aborted) {
                aborted = true;
                harness_compare_run_from_json(NULL, r);
                r->code = HARNESS_COMPARE_ERROR;
                snprintf(r->anomaly, sizeof r->anomaly, "interrupted");
                break;
            }
            char path[1000];
            snprintf(path, sizeof path, "%s/results.json", rundir);
            if (harness_compare_run_load(path, r, err) != 0)
                fprintf(stderr, "%s: %s\n", prog, err);
        }
    }
    for (size_t i = 0; i < c->n_impls; i++)
        harness_compare_summarize(c->impls[i].runs, c->impls[i].n_runs, &c->impls[i].sum);
    struct fl_buf table;
    fl_buf_init(&table);
    harness_compare_table(c, &table);
    fputs(fl_buf_cstr(&table), stdout);
    fl_buf_free(&table);
    int wrv = write_outputs(c);
    printf("compare: %s/compare.json, %s/compare.html\n", c->dir, c->dir);
    fflush(stdout);
    rc = harness_compare_exit_code(c);
    if (aborted || wrv != 0)
        rc = 3;
out:
    harness_compare_free(c);
    fl_free(c);
    return rc;
}
