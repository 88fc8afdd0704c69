/* shrink.c - `faultline shrink`: delta debugging of a failing run's scenario, by rerunning it. */
#include "harness/shrink.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fs.h"
#include "common/rng.h"
#include "harness/scenario.h"
#include "harness/schedule.h"

#define MAX_TRIES   50
#define MAX_JOBS    16
#define MAX_CACHE   4096
#define MAX_JOURNAL (4u << 20) /* bytes of journal.jsonl read back */
#define PATH_SZ     1024
#define MIN_HOLD_MS 250 /* shorter holds are below what a fault needs to take */
#define CHANGE_SZ   240

struct outcome {
    int id;
    unsigned runs, fails, errors;
    bool full;                /* every try ran (no stop at the first failure) */
    char first_fail[PATH_SZ]; /* the first failing try's folder ("" if none) */
};

struct cached {
    uint64_t key;
    struct outcome o;
};

struct row {
    struct outcome o;
    char change[CHANGE_SZ];
    const char *outcome; /* static */
};

struct shrink {
    char src[PATH_SZ]; /* the failing run's folder */
    char dir[PATH_SZ]; /* its shrink/ folder */
    char self[PATH_SZ];
    const char *node_bin;
    unsigned tries, jobs;
    double budget_s, t0;
    bool quiet, tty;
    struct cached *cache;
    size_t n_cache;
    int next_id;
    struct row *rows;
    size_t n_rows, cap_rows;
    unsigned launched; /* tries started by this call */
    double run_s_sum;  /* wall time of finished tries, for the estimate */
    unsigned run_s_n;
    /* Progress. */
    const char *stage;
    char change[CHANGE_SZ];
    unsigned best_steps, orig_steps;
    unsigned last_state;
    double last_print;
    double target_rate; /* the result must fail at least this share of its tries */
    /* Every kept candidate in order (the original first): the confirmation walks back along
     * it when the smallest one fails too rarely. */
    struct harness_scenario *chain;
    int *chain_id; /* the candidate each was kept as */
    size_t n_chain, cap_chain;
    struct outcome smallest; /* the confirmation of the last kept candidate */
    unsigned smallest_faults;
};

static void chain_push(struct shrink *sh, const struct harness_scenario *c, int id)
{
    if (sh->n_chain == sh->cap_chain) {
        size_t cap = sh->cap_chain ? sh->cap_chain * 2 : 16;
        struct harness_scenario *nc = realloc(sh->chain, cap * sizeof *nc);
        if (nc)
            sh->chain = nc;
        int *ni = nc ? realloc(sh->chain_id, cap * sizeof *ni) : NULL;
        if (!ni)
            return; /* the walk back is shorter, nothing worse */
        sh->chain_id = ni;
        sh->cap_chain = cap;
    }
    sh->chain_id[sh->n_chain] = id;
    sh->chain[sh->n_chain++] = *c;
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double elapsed(const struct shrink *sh)
{
    return now_s() - sh->t0;
}

/* ==== Progress and records ==== */

static void progress(struct shrink *sh, int id, unsigned running, unsigned runs, unsigned fails)
{
    if (sh->quiet)
        return;
    char line[400];
    snprintf(line, sizeof line,
             "shrink: %s | c%03d %.60s | tries %u done, %u failed, %u running | faults %u -> %u | "
             "%.0f/%.0f s",
             sh->stage, id, sh->change, runs, fails, running, sh->orig_steps, sh->best_steps,
             elapsed(sh), sh->budget_s);
    if (sh->tty) {
        fprintf(stderr, "\r\033[K%.*s", 160, line);
    } else {
        /* Not a terminal: a line when something changed, or every 30 s. */
        unsigned state = (unsigned)id << 16 ^ running << 12 ^ runs << 6 ^ fails;
        if (state == sh->last_state && elapsed(sh) - sh->last_print < 30)
            return;
        sh->last_state = state;
        sh->last_print = elapsed(sh);
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
}

static void progress_end(struct shrink *sh)
{
    if (!sh->quiet && sh->tty)
        fputc('\n', stderr);
}

static uint64_t scenario_key(const struct harness_scenario *c)
{
    json_t *j = harness_scenario_to_json(c);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    uint64_t h = s ? fl_hash_str(s) : 0;
    free(s);
    json_decref(j);
    return h;
}

/* The journal's verdict on a scenario. The search's own verdict (tries stopped at the first
 * failure) and a confirmation (every try) are kept apart, so a confirmation does not change
 * the path a resumed search takes; `full` asks for a confirmation, otherwise the search's
 * verdict is preferred. */
static struct outcome *cache_find(struct shrink *sh, uint64_t key, bool full)
{
    struct outcome *any = NULL;
    for (size_t i = 0; i < sh->n_cache; i++) {
        if (sh->cache[i].key != key)
            continue;
        if (sh->cache[i].o.full == full)
            return &sh->cache[i].o;
        any = &sh->cache[i].o;
    }
    return full ? NULL : any;
}

static void cache_put(struct shrink *sh, uint64_t key, const struct outcome *o)
{
    for (size_t i = 0; i < sh->n_cache; i++)
        if (sh->cache[i].key == key && sh->cache[i].o.full == o->full) {
            sh->cache[i].o = *o;
            return;
        }
    if (sh->n_cache == MAX_CACHE)
        return;
    sh->cache[sh->n_cache].key = key;
    sh->cache[sh->n_cache++].o = *o;
}

static int add_row(struct shrink *sh, const struct outcome *o, const char *change,
                   const char *outcome)
{
    if (sh->n_rows == sh->cap_rows) {
        size_t cap = sh->cap_rows ? sh->cap_rows * 2 : 32;
        struct row *nr = realloc(sh->rows, cap * sizeof *nr);
        if (!nr)
            return -ENOMEM;
        sh->rows = nr;
        sh->cap_rows = cap;
    }
    struct row *r = &sh->rows[sh->n_rows++];
    r->o = *o;
    snprintf(r->change, sizeof r->change, "%s", change);
    r->outcome = outcome;
    return 0;
}

/* Reads journal.jsonl back (a second call resumes). A malformed line, such as
 * one cut short by a kill, is named and skipped: its candidate runs again. */
static void journal_load(struct shrink *sh)
{
    char path[PATH_SZ + 16];
    snprintf(path, sizeof path, "%s/journal.jsonl", sh->dir);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return;
    char *line = NULL;
    size_t cap = 0, total = 0;
    ssize_t len;
    unsigned lineno = 0;
    while ((len = getline(&line, &cap, fp)) > 0 && total < MAX_JOURNAL) {
        total += (size_t)len;
        lineno++;
        json_error_t jerr;
        json_t *j = json_loadb(line, (size_t)len, 0, &jerr);
        json_int_t id = 0, runs = 0, fails = 0, errs = 0;
        const char *key = NULL, *ff = "";
        int full = 0;
        if (!j ||
            json_unpack(j, "{s:I, s:s, s:I, s:I, s:I, s:b, s?s}", "id", &id, "key", &key, "runs",
                        &runs, "failed", &fails, "errors", &errs, "full", &full, "first_fail",
                        &ff) != 0 ||
            id < 1 || id > 1000000 || runs < 0 || runs > MAX_TRIES || fails < 0 || fails > runs ||
            errs < 0 || errs > runs) {
            fprintf(stderr, "faultline shrink: %s:%u: malformed record skipped\n", path, lineno);
            json_decref(j);
            continue;
        }
        struct outcome o = {.id = (int)id,
                            .runs = (unsigned)runs,
                            .fails = (unsigned)fails,
                            .errors = (unsigned)errs,
                            .full = full};
        snprintf(o.first_fail, sizeof o.first_fail, "%s", ff);
        cache_put(sh, strtoull(key, NULL, 16), &o);
        if ((int)id >= sh->next_id)
            sh->next_id = (int)id + 1;
        json_decref(j);
    }
    free(line);
    fclose(fp);
}

static void journal_append(struct shrink *sh, uint64_t key, const struct outcome *o,
                           const char *change)
{
    char path[PATH_SZ + 16], hex[24];
    snprintf(path, sizeof path, "%s/journal.jsonl", sh->dir);
    snprintf(hex, sizeof hex, "%016" PRIx64, key);
    json_t *j = json_pack("{s:i, s:s, s:s, s:i, s:i, s:i, s:b, s:s}", "id", o->id, "key", hex,
                          "change", change, "runs", (int)o->runs, "failed", (int)o->fails, "errors",
                          (int)o->errors, "full", o->full, "first_fail", o->first_fail);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    FILE *fp = s ? fopen(path, "a") : NULL;
    if (fp) {
        fprintf(fp, "%s\n", s);
        fclose(fp);
    } else {
        fprintf(stderr, "faultline shrink: warning: cannot append to %s\n", path);
    }
    free(s);
    json_decref(j);
}

/* ==== Running candidates ==== */

static int write_scenario(const struct harness_scenario *c, const char *path)
{
    json_t *j = harness_scenario_to_json(c);
    int rv = j && json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 ? 0 : -EIO;
    json_decref(j);
    return rv;
}

struct child {
    pid_t pid;
    unsigned k;
    double started;
};

static pid_t launch(struct shrink *sh, const char *scen, const char *tdir, uint64_t seed,
                    const char *log)
{
    char seed_s[32];
    snprintf(seed_s, sizeof seed_s, "%" PRIu64, seed);
    const char *argv[12] = {"faultline", "run", scen, "--out", tdir, "-q", "--seed", seed_s};
    int argc = 8;
    if (sh->node_bin) {
        argv[argc++] = "--node-bin";
        argv[argc++] = sh->node_bin;
    }
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    int nul = open("/dev/null", O_RDONLY);
    if (nul >= 0)
        dup2(nul, 0);
    execv(sh->self, (char *const *)argv);
    _exit(127);
}

/* The search stops early enough for the confirmation (--tries runs, --jobs at a time) to
 * end within the budget too; its length is estimated from the runs so far. */
static bool over_budget(const struct shrink *sh)
{
    double avg = sh->run_s_n ? sh->run_s_sum / sh->run_s_n : 0;
    double reserve = avg * (double)((sh->tries + sh->jobs - 1) / sh->jobs);
    return elapsed(sh) + reserve >= sh->budget_s;
}

/* A verdict the journal already has (an early-stopped one is enough during the search). */
static bool known(struct shrink *sh, const struct harness_scenario *c)
{
    const struct outcome *hit = cache_find(sh, scenario_key(c), false);
    return hit && (hit->fails > 0 || hit->runs >= sh->tries);
}

/* Runs candidate `c` (or takes its verdict from the journal): up to sh->tries
 * tries, sh->jobs at a time; unless `full`, no new try starts once one has
 * failed. Returns 0 with *o filled, 1 when the budget or an interrupt left it
 * without a verdict (nothing recorded), or a negative errno. */
static int evaluate(struct shrink *sh, const struct harness_scenario *c, const char *change,
                    bool full, struct outcome *o)
{
    uint64_t key = scenario_key(c);
    struct outcome *hit = cache_find(sh, key, full);
    snprintf(sh->change, sizeof sh->change, "%s", change);
    if (hit &&
        (full ? hit->full && hit->runs >= sh->tries : hit->fails > 0 || hit->runs >= sh->tries)) {
        *o = *hit;
        return 0;
    }
    memset(o, 0, sizeof *o);
    o->full = full;
    char cdir[PATH_SZ + 16];
    do
        snprintf(cdir, sizeof cdir, "%s/c%03d", sh->dir, sh->next_id++);
    while (access(cdir, F_OK) == 0);
    o->id = sh->next_id - 1;
    int rv = fl_mkdir_p(cdir);
    char scen[PATH_SZ + 32];
    snprintf(scen, sizeof scen, "%s/scenario.json", cdir);
    if (rv != 0 || (rv = write_scenario(c, scen)) != 0) {
        fprintf(stderr, "faultline shrink: cannot write %s: %s\n", scen, strerror(-rv));
        return rv;
    }
    struct child ch[MAX_JOBS];
    unsigned n_run = 0, next = 0;
    uint64_t seed0 = c->nemesis.seed;
    for (;;) {
        while (n_run < sh->jobs && next < sh->tries && (full || o->fails == 0) && !interrupted &&
               (full || !over_budget(sh))) {
            char tdir[PATH_SZ + 48], log[PATH_SZ + 48];
            snprintf(tdir, sizeof tdir, "%s/t%u", cdir, next + 1);
            snprintf(log, sizeof log, "%s/t%u.log", cdir, next + 1);
            uint64_t seed = (seed0 + next) % (HARNESS_SCENARIO_SEED_MAX + 1);
            pid_t pid = launch(sh, scen, tdir, seed, log);
            if (pid < 0) {
                fprintf(stderr, "faultline shrink: fork: %s\n", strerror(errno));
                break;
            }
            ch[n_run++] = (struct child){pid, next, now_s()};
            next++;
            sh->launched++;
        }
        if (n_run == 0)
            break;
        progress(sh, o->id, n_run, o->runs, o->fails);
        /* Our children only: poll each, so runs of other tools are never reaped. */
        bool reaped = false;
        for (unsigned i = 0; i < n_run; i++) {
            int st;
            pid_t w = waitpid(ch[i].pid, &st, WNOHANG);
            if (w == 0 || (w < 0 && errno == EINTR))
                continue;
            int code = w > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 3;
            o->runs++;
            sh->run_s_sum += now_s() - ch[i].started;
            sh->run_s_n++;
            if (code == 1) {
                o->fails++;
                if (!o->first_fail[0])
                    snprintf(o->first_fail, sizeof o->first_fail, "%s/t%u", cdir, ch[i].k + 1);
            } else if (code != 0 && code != 2) {
                o->errors++;
            }
            ch[i--] = ch[--n_run];
            reaped = true;
        }
        if (!reaped)
            usleep(250000);
    }
    progress(sh, o->id, 0, o->runs, o->fails);
    bool complete = o->fails > 0 || o->runs >= sh->tries;
    if (!complete || (full && o->runs < sh->tries))
        return 1;
    if (o->errors == o->runs) {
        char log[PATH_SZ + 48];
        snprintf(log, sizeof log, "%s/t1.log", cdir);
        progress_end(sh);
        fprintf(stderr, "faultline shrink: every try of c%03d failed to run; see %s\n", o->id, log);
        return -EIO;
    }
    journal_append(sh, key, o, change);
    cache_put(sh, key, o);
    return 0;
}

/* ==== Candidates ==== */

/* The fault phase ends 1 s after the last heal: shorter runs, same faults. */
static void fit_phase(struct harness_scenario *c)
{
    if (c->nemesis.n_steps == 0)
        return;
    uint32_t last = c->nemesis.steps[c->nemesis.n_steps - 1].heal_ms;
    unsigned s = (unsigned)((last + 999) / 1000) + 1;
    if (s < c->phases.faults_s)
        c->phases.faults_s = s;
}

/* Only the kinds of the remaining steps stay in nemesis.kinds, so a scenario
 * without clock steps does not set up clock files, and the kinds' rules still
 * apply to every step. */
static void fit_kinds(struct harness_scenario *c)
{
    unsigned used[HARNESS_FAULT_COUNT] = {0};
    for (unsigned i = 0; i < c->nemesis.n_steps; i++)
        used[c->nemesis.steps[i].kind] = 1;
    for (int k = 0; k < HARNESS_FAULT_COUNT; k++)
        c->nemesis.weights[k] = used[k] ? (c->nemesis.weights[k] ? c->nemesis.weights[k] : 1) : 0;
}

static int step_list(const struct harness_scenario *c, const unsigned *idx, size_t n, char *out,
                     size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len + 40 < cap; i++) {
        const struct harness_step *st = &c->nemesis.steps[idx[i]];
        len += (size_t)snprintf(out + len, cap - len, "%s%s@%.1fs", i ? ", " : "",
                                harness_fault_name(st->kind), st->at_ms / 1000.0);
    }
    if (len + 40 >= cap && n > 0)
        snprintf(out + len, cap - len, ", ...");
    return 0;
}

/* Tries `cand` as the next best; keeps it when it still fails. Returns 1 kept,
 * 0 rejected, 2 out of budget (search over), negative on errors. */
static int attempt(struct shrink *sh, struct harness_scenario *best, struct harness_scenario *cand,
                   const char *change)
{
    char err[FL_ERRMSG_SIZE];
    fit_kinds(cand);
    fit_phase(cand);
    if (harness_scenario_validate(cand, cand->name, err) != 0) {
        struct outcome o = {0};
        add_row(sh, &o, change, "skipped: not a valid scenario");
        return 0;
    }
    if ((interrupted || over_budget(sh)) && !known(sh, cand))
        return 2;
    struct outcome o;
    int rv = evaluate(sh, cand, change, false, &o);
    if (rv < 0)
        return rv;
    if (rv == 1)
        return 2;
    bool fails = o.fails > 0;
    add_row(sh, &o, change, fails ? "kept: still fails" : "rejected: no try failed");
    if (fails) {
        *best = *cand;
        sh->best_steps = best->nemesis.n_steps;
        chain_push(sh, best, o.id);
    }
    return fails ? 1 : 0;
}

/* Zeller's ddmin over the steps of *best (1-minimal: no single step can go). */
static int shrink_steps(struct shrink *sh, struct harness_scenario *best)
{
    unsigned gran = 2;
    while (best->nemesis.n_steps >= 2) {
        unsigned n = best->nemesis.n_steps;
        if (gran > n)
            gran = n;
        bool reduced = false;
        /* Subsets first, then complements (ddmin). */
        for (int pass = 0; pass < 2 && !reduced; pass++) {
            for (unsigned ch = 0; ch < gran && !reduced; ch++) {
                unsigned lo = n * ch / gran, hi = n * (ch + 1) / gran;
                if (pass == 1 && gran == 2)
                    break; /* with two chunks the complements are the subsets */
                struct harness_scenario cand = *best;
                unsigned gone[HARNESS_SCENARIO_MAX_STEPS], n_gone = 0;
                cand.nemesis.n_steps = 0;
                for (unsigned i = 0; i < n; i++) {
                    bool in = i >= lo && i < hi;
                    if (in == (pass == 0))
                        cand.nemesis.steps[cand.nemesis.n_steps++] = best->nemesis.steps[i];
                    else
                        gone[n_gone++] = i;
                }
                char list[160], change[CHANGE_SZ];
                step_list(best, gone, n_gone, list, sizeof list);
                snprintf(change, sizeof change, "remove %u of %u steps: %s", n_gone, n, list);
                int rv = attempt(sh, best, &cand, change);
                if (rv < 0 || rv == 2)
                    return rv;
                if (rv == 1) {
                    reduced = true;
                    gran = pass == 0 ? 2 : (gran > 2 ? gran - 1 : 2);
                }
            }
        }
        if (!reduced) {
            if (gran >= n)
                break;
            gran = gran * 2 < n ? gran * 2 : n;
        }
    }
    if (best->nemesis.n_steps == 1) {
        struct harness_scenario cand = *best;
        cand.nemesis.n_steps = 0;
        unsigned zero = 0;
        char list[160], change[CHANGE_SZ];
        step_list(best, &zero, 1, list, sizeof list);
        snprintf(change, sizeof change, "remove the last step (%s): no faults at all", list);
        int rv = attempt(sh, best, &cand, change);
        if (rv < 0 || rv == 2)
            return rv;
    }
    return 0;
}

/* Which nodes a step's fault touches, when planning knows them (not leader kinds). */
static uint32_t step_nodes(const struct harness_scenario *c, unsigned i)
{
    struct harness_scenario one = *c;
    one.nemesis.steps[0] = c->nemesis.steps[i];
    one.nemesis.n_steps = 1;
    struct nemesis_topology topo;
    struct nemesis_plan plan;
    char err[FL_ERRMSG_SIZE];
    unsigned n = c->nodes.count + c->nodes.passive;
    if (nemesis_topology_plan(&topo, "000000", c->network.subnet, n, err) != 0 ||
        harness_schedule_plan(&one, &topo, &plan, err) != 0)
        return 0;
    uint32_t m = 0;
    if (plan.n == 1 && !plan.steps[0].fault.needs_leader) {
        const struct nemesis_fault *f = &plan.steps[0].fault;
        m = f->nodes;
        for (unsigned a = 0; a < n; a++)
            if (f->drop[a])
                m |= f->drop[a] | 1u << a;
    }
    nemesis_plan_clear(&plan);
    return m;
}

/* Per step: spare nodes, halve the hold; then start the faults earlier. */
static int shrink_params(struct shrink *sh, struct harness_scenario *best)
{
    for (unsigned i = 0; i < best->nemesis.n_steps; i++) {
        uint32_t m = step_nodes(best, i);
        for (unsigned k = 0; k < HARNESS_SCENARIO_MAX_NODES && __builtin_popcount(m) > 1; k++) {
            if (!(m & (1u << k)))
                continue;
            struct harness_scenario cand = *best;
            cand.nemesis.steps[i].spare |= 1u << k;
            char change[CHANGE_SZ];
            snprintf(change, sizeof change, "step %u (%s): leave n%u out", i + 1,
                     harness_fault_name(best->nemesis.steps[i].kind), k + 1);
            int rv = attempt(sh, best, &cand, change);
            if (rv < 0 || rv == 2)
                return rv;
            if (rv == 1)
                m = step_nodes(best, i);
        }
        for (;;) {
            struct harness_step *st = &best->nemesis.steps[i];
            uint32_t hold = st->heal_ms - st->at_ms;
            if (hold / 2 < MIN_HOLD_MS)
                break;
            struct harness_scenario cand = *best;
            cand.nemesis.steps[i].heal_ms = st->at_ms + hold / 2;
            char change[CHANGE_SZ];
            snprintf(change, sizeof change, "step %u (%s): hold %u ms instead of %u", i + 1,
                     harness_fault_name(st->kind), hold / 2, hold);
            int rv = attempt(sh, best, &cand, change);
            if (rv < 0 || rv == 2)
                return rv;
            if (rv == 0)
                break;
        }
    }
    /* A shorter fault phase: everything earlier by half the first start. */
    while (best->nemesis.n_steps > 0 && best->nemesis.steps[0].at_ms >= 1000) {
        uint32_t d = best->nemesis.steps[0].at_ms / 2;
        struct harness_scenario cand = *best;
        for (unsigned i = 0; i < cand.nemesis.n_steps; i++) {
            cand.nemesis.steps[i].at_ms -= d;
            cand.nemesis.steps[i].heal_ms -= d;
        }
        cand.phases.faults_s = best->phases.faults_s; /* fit_phase shortens it */
        char change[CHANGE_SZ];
        snprintf(change, sizeof change, "faults %.1f s earlier (first at %.1f s)", d / 1000.0,
                 (best->nemesis.steps[0].at_ms - d) / 1000.0);
        int rv = attempt(sh, best, &cand, change);
        if (rv < 0 || rv == 2)
            return rv;
        if (rv == 0)
            break;
    }
    return 0;
}

/* Fewer clients, a lower rate, fewer keys: halve each while the run still fails. */
static int shrink_workload(struct shrink *sh, struct harness_scenario *best)
{
    static const char *const what[] = {"clients", "rate", "keys"};
    static const unsigned floor_v[] = {1, 10, 1};
    for (int d = 0; d < 3; d++) {
        for (;;) {
            unsigned *v = d == 0   ? &best->workload.concurrency
                          : d == 1 ? &best->workload.rate_per_s
                                   : &best->workload.keys;
            unsigned cur = *v;
            if (cur == 0 || cur / 2 < floor_v[d])
                break;
            struct harness_scenario cand = *best;
            unsigned *cv = d == 0   ? &cand.workload.concurrency
                           : d == 1 ? &cand.workload.rate_per_s
                                    : &cand.workload.keys;
            *cv = cur / 2;
            char change[CHANGE_SZ];
            snprintf(change, sizeof change, "%s %u instead of %u", what[d], cur / 2, cur);
            int rv = attempt(sh, best, &cand, change);
            if (rv < 0 || rv == 2)
                return rv;
            if (rv == 0)
                break;
        }
    }
    return 0;
}

/* ==== Output ==== */

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    if (!in)
        return -errno;
    FILE *out = fopen(to, "wb");
    if (!out) {
        int e = errno;
        fclose(in);
        return -e;
    }
    char buf[65536];
    size_t n;
    int rv = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            rv = -EIO;
    fclose(in);
    if (fclose(out) != 0)
        rv = -EIO;
    return rv;
}

static json_t *figures(const struct harness_scenario *c)
{
    return json_pack("{s:i, s:i, s:i, s:i, s:i}", "faults", (int)c->nemesis.n_steps, "faults_s",
                     (int)c->phases.faults_s, "clients", (int)c->workload.concurrency, "rate",
                     (int)c->workload.rate_per_s, "keys", (int)c->workload.keys);
}

static void write_outputs(struct shrink *sh, const struct harness_scenario *orig,
                          const struct harness_scenario *best, const struct outcome *confirm,
                          bool complete)
{
    char path[PATH_SZ + 32];
    struct harness_scenario fin = *best;
    size_t len = strlen(fin.name);
    if (len + 7 < sizeof fin.name && (len < 7 || strcmp(fin.name + len - 7, "-shrunk") != 0))
        strcat(fin.name, "-shrunk");
    fin.expected = HARNESS_EXPECT_INVALID;
    snprintf(path, sizeof path, "%s/scenario.json", sh->dir);
    if (write_scenario(&fin, path) != 0)
        fprintf(stderr, "faultline shrink: warning: cannot write %s\n", path);

    snprintf(path, sizeof path, "%s/table.txt", sh->dir);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fprintf(fp,
                "shrink of %s (seed %" PRIu64 "): each candidate ran up to %u tries (seeds SEED, "
                "SEED+1, ...), stopping at the first failure\n\n",
                sh->src, orig->nemesis.seed, sh->tries);
        fprintf(fp, "%-5s %-8s %-7s %-45s %s\n", "cand", "verdict", "failed", "outcome", "change");
        for (size_t i = 0; i < sh->n_rows; i++) {
            const struct row *r = &sh->rows[i];
            char id[12], fr[16];
            snprintf(id, sizeof id, r->o.id ? "c%03d" : "-", r->o.id);
            snprintf(fr, sizeof fr, "%u/%u", r->o.fails, r->o.runs);
            fprintf(fp, "%-5s %-8s %-7s %-45s %s\n", id,
                    r->o.runs == 0 ? "-"
                    : r->o.fails   ? "fails"
                                   : "passes",
                    fr, r->outcome, r->change);
        }
        fprintf(fp, "\nbefore: %u faults, fault phase %u s, %u clients, rate %u/s, %u keys\n",
                orig->nemesis.n_steps, orig->phases.faults_s, orig->workload.concurrency,
                orig->workload.rate_per_s, orig->workload.keys);
        fprintf(fp, "after:  %u faults, fault phase %u s, %u clients, rate %u/s, %u keys\n",
                best->nemesis.n_steps, best->phases.faults_s, best->workload.concurrency,
                best->workload.rate_per_s, best->workload.keys);
        if (confirm && confirm->runs)
            fprintf(fp, "reproduction: %u of %u tries failed (%.0f%%), c%03d\n", confirm->fails,
                    confirm->runs, 100.0 * confirm->fails / confirm->runs, confirm->id);
        if (sh->smallest.runs && sh->smallest.id != (confirm ? confirm->id : 0))
            fprintf(fp,
                    "the smallest scenario that failed in the search (%u faults) failed %u of %u "
                    "tries when confirmed (c%03d)\n",
                    sh->smallest_faults, sh->smallest.fails, sh->smallest.runs, sh->smallest.id);
        if (!complete)
            fprintf(fp, "search stopped early (budget or interrupt); run shrink again to go on\n");
        fclose(fp);
    }

    const char *best_run = confirm && confirm->first_fail[0] ? confirm->first_fail : "";
    for (size_t i = sh->n_rows; !best_run[0] && i-- > 0;)
        if (sh->rows[i].o.fails > 0)
            best_run = sh->rows[i].o.first_fail;
    if (best_run[0]) {
        char from[PATH_SZ + 32];
        snprintf(from, sizeof from, "%s/report.html", best_run);
        snprintf(path, sizeof path, "%s/report.html", sh->dir);
        if (copy_file(from, path) != 0)
            fprintf(stderr, "faultline shrink: warning: cannot copy %s\n", from);
    }
    json_t *j = json_pack(
        "{s:s, s:I, s:o, s:o, s:i, s:i, s:i, s:b, s:s, s:f, s:i, s:i}", "source", sh->src, "seed",
        (json_int_t)orig->nemesis.seed, "before", figures(orig), "after", figures(best), "tries",
        (int)sh->tries, "confirm_runs", confirm ? (int)confirm->runs : 0, "confirm_failed",
        confirm ? (int)confirm->fails : 0, "complete", complete, "best_run", best_run, "elapsed_s",
        elapsed(sh), "candidates", (int)sh->n_rows, "runs", (int)sh->launched);
    if (j)
        json_object_set_new(j, "smallest",
                            json_pack("{s:i, s:i, s:i}", "faults", (int)sh->smallest_faults, "runs",
                                      (int)sh->smallest.runs, "failed", (int)sh->smallest.fails));
    snprintf(path, sizeof path, "%s/shrink.json", sh->dir);
    if (!j || json_dump_file(j, path, JSON_INDENT(2)) != 0)
        fprintf(stderr, "faultline shrink: warning: cannot write %s\n", path);
    json_decref(j);
}

/* ==== Command ==== */

static const char usage[] =
    "usage: faultline shrink RESULTS_DIR [options]\n"
    "\n"
    "Searches for a smaller scenario that still fails like the run in RESULTS_DIR:\n"
    "fewer faults (delta debugging over the schedule's steps), then fewer nodes per\n"
    "fault, shorter holds, an earlier start (a shorter fault phase), then fewer\n"
    "clients, a lower rate, fewer keys. Each candidate is run up to --tries times as\n"
    "`faultline run` with seeds SEED, SEED+1, ...; it fails when any try is invalid.\n"
    "The result runs --tries times again for its reproduction rate (see\n"
    "--target-rate). Writes\n"
    "RESULTS_DIR/shrink/: scenario.json (loads with `faultline run`), table.txt,\n"
    "shrink.json, report.html, journal.jsonl; a second call resumes from it.\n"
    "\n"
    "  --tries K       runs per candidate (default 5, at most 50)\n"
    "  --budget S      wall-time limit in seconds (default 3600); the search stops\n"
    "                  and the best so far is written\n"
    "  --jobs J        tries at once (default 1, at most 16)\n"
    "  --target-rate P the result must fail in P percent of its tries (default 60):\n"
    "                  when the smallest failing scenario fails less often, those kept\n"
    "                  on the way are confirmed in turn, and the first that does is the\n"
    "                  result (else the one with the best rate)\n"
    "  --node-bin PATH the faultline-node binary for the runs\n"
    "  -q, --quiet     no progress line\n"
    "  -h, --help      this text\n"
    "\n"
    "Needs root (the runs use namespaces). Exit status: 0 the final scenario fails,\n"
    "1 the original did not fail again in --tries tries, 3 usage or environment error.\n";

int harness_shrink_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"tries", required_argument, NULL, 't'},
        {"budget", required_argument, NULL, 'B'},
        {"jobs", required_argument, NULL, 'j'},
        {"node-bin", required_argument, NULL, 'b'},
        {"target-rate", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct shrink sh = {.tries = 5, .jobs = 1, .budget_s = 3600, .next_id = 1, .target_rate = 0.6};
    unsigned long long v;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
        switch (c) {
        case 't':
            if (fl_parse_uint("faultline shrink", "--tries", optarg, MAX_TRIES, &v) != 0 || !v)
                return 3;
            sh.tries = (unsigned)v;
            break;
        case 'B':
            if (fl_parse_uint("faultline shrink", "--budget", optarg, 7 * 86400, &v) != 0 || !v)
                return 3;
            sh.budget_s = (double)v;
            break;
        case 'j':
            if (fl_parse_uint("faultline shrink", "--jobs", optarg, MAX_JOBS, &v) != 0 || !v)
                return 3;
            sh.jobs = (unsigned)v;
            break;
        case 'b':
            sh.node_bin = optarg;
            break;
        case 'r':
            if (fl_parse_uint("faultline shrink", "--target-rate", optarg, 100, &v) != 0)
                return 3;
            sh.target_rate = (double)v / 100.0;
            break;
        case 'q':
            sh.quiet = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "faultline shrink: unknown or incomplete option \"%s\" (see --help)\n",
                    argv[optind - 1]);
            return 3;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "faultline shrink: expected one results folder (see --help)\n");
        return 3;
    }
    char err[FL_ERRMSG_SIZE], path[PATH_SZ + 32];
    snprintf(sh.src, sizeof sh.src, "%s", argv[optind]);
    snprintf(path, sizeof path, "%s/scenario.json", sh.src);
    struct harness_scenario orig;
    if (harness_scenario_load(path, &orig, err) != 0) {
        fprintf(stderr, "faultline shrink: %s\n", err);
        return 3;
    }
    if (!orig.nemesis.seed_set) {
        fprintf(stderr, "faultline shrink: %s has no seed\n", path);
        return 3;
    }
    if (harness_schedule_make_explicit(&orig, err) != 0) {
        fprintf(stderr, "faultline shrink: %s: %s\n", path, err);
        return 3;
    }
    if (geteuid() != 0) {
        fprintf(stderr, "faultline shrink: needs root (the runs use namespaces); try sudo\n");
        return 3;
    }
    ssize_t n = readlink("/proc/self/exe", sh.self, sizeof sh.self - 1);
    if (n <= 0) {
        fprintf(stderr, "faultline shrink: cannot find its own binary: %s\n", strerror(errno));
        return 3;
    }
    sh.self[n] = '\0';
    snprintf(sh.dir, sizeof sh.dir, "%s/shrink", sh.src);
    int rv = fl_mkdir_p(sh.dir);
    sh.cache = calloc(MAX_CACHE, sizeof *sh.cache);
    if (rv != 0 || !sh.cache) {
        fprintf(stderr, "faultline shrink: %s: %s\n", sh.dir, rv ? strerror(-rv) : "no memory");
        free(sh.cache);
        return 3;
    }
    journal_load(&sh);
    sh.tty = isatty(2);
    sh.t0 = now_s();
    sh.orig_steps = sh.best_steps = orig.nemesis.n_steps;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    orig.expected = HARNESS_EXPECT_INVALID;
    fprintf(stderr,
            "faultline shrink: %s: %u faults in %u s, %u clients, rate %u/s, %u keys; %u tries "
            "per candidate, %u at once, budget %.0f s\n",
            sh.src, orig.nemesis.n_steps, orig.phases.faults_s, orig.workload.concurrency,
            orig.workload.rate_per_s, orig.workload.keys, sh.tries, sh.jobs, sh.budget_s);

    struct harness_scenario best = orig;
    struct outcome base, confirm = {0};
    bool complete = false, have_confirm = false;
    int code = 3;
    sh.stage = "original";
    char change[CHANGE_SZ];
    snprintf(change, sizeof change, "the original, schedule made explicit (%u faults)",
             orig.nemesis.n_steps);
    rv = evaluate(&sh, &orig, change, false, &base);
    if (rv < 0)
        goto out;
    if (rv == 1) {
        progress_end(&sh);
        fprintf(stderr, "faultline shrink: stopped before the original ran (budget or signal)\n");
        goto out;
    }
    add_row(&sh, &base, change, base.fails ? "baseline: fails" : "baseline: no failure");
    if (base.fails == 0) {
        progress_end(&sh);
        fprintf(stderr,
                "faultline shrink: the original scenario did not fail in %u tries; nothing to "
                "shrink (more --tries?)\n",
                sh.tries);
        write_outputs(&sh, &orig, &best, NULL, true);
        code = 1;
        goto out;
    }
    chain_push(&sh, &orig, base.id);
    sh.stage = "steps";
    rv = shrink_steps(&sh, &best);
    if (rv == 0) {
        sh.stage = "parameters";
        rv = shrink_params(&sh, &best);
    }
    if (rv == 0) {
        sh.stage = "workload";
        rv = shrink_workload(&sh, &best);
    }
    if (rv < 0)
        goto out;
    complete = rv == 0 && !interrupted;
    if (!interrupted) {
        /* The smallest failing scenario was kept on a single failing try; the result must
         * fail at least --target-rate of its tries. Walk back along the kept candidates
         * (larger, each failed once) until one does; otherwise the best rate seen. */
        sh.stage = "confirm";
        struct outcome top = {0};
        size_t top_i = SIZE_MAX;
        for (size_t i = sh.n_chain; i-- > 0 && !interrupted;) {
            const struct harness_scenario *k = &sh.chain[i];
            const struct outcome *hit = cache_find(&sh, scenario_key(k), true);
            bool cached = hit && hit->full && hit->runs >= sh.tries;
            if (top_i != SIZE_MAX && !cached && elapsed(&sh) > sh.budget_s)
                break; /* out of budget: one confirmation is enough */
            snprintf(change, sizeof change,
                     "confirm c%03d: %u faults in %u s, %u clients, rate %u/s, %u keys; %u tries",
                     sh.chain_id[i], k->nemesis.n_steps, k->phases.faults_s,
                     k->workload.concurrency, k->workload.rate_per_s, k->workload.keys, sh.tries);
            struct outcome o;
            rv = evaluate(&sh, &sh.chain[i], change, true, &o);
            if (rv < 0)
                goto out;
            if (rv == 1)
                break;
            bool enough = o.fails >= sh.target_rate * o.runs;
            add_row(&sh, &o, change, enough ? "confirmed: the result" : "confirmation: too rare");
            if (i == sh.n_chain - 1) {
                sh.smallest = o;
                sh.smallest_faults = sh.chain[i].nemesis.n_steps;
            }
            if (top_i == SIZE_MAX || o.fails * top.runs > top.fails * o.runs) {
                top = o;
                top_i = i;
            }
            if (enough)
                break;
        }
        if (top_i != SIZE_MAX) {
            best = sh.chain[top_i];
            confirm = top;
            have_confirm = true;
        }
        rv = 0;
    }
    progress_end(&sh);
    write_outputs(&sh, &orig, &best, have_confirm ? &confirm : NULL, complete);
    printf("%s: faults %u -> %u, fault phase %u s -> %u s, clients %u -> %u, rate %u -> %u, "
           "keys %u -> %u\n",
           orig.name, orig.nemesis.n_steps, best.nemesis.n_steps, orig.phases.faults_s,
           best.phases.faults_s, orig.workload.concurrency, best.workload.concurrency,
           orig.workload.rate_per_s, best.workload.rate_per_s, orig.workload.keys,
           best.workload.keys);
    if (have_confirm)
        printf("reproduction: %u of %u tries failed (%.0f%%)\n", confirm.fails, confirm.runs,
               100.0 * confirm.fails / confirm.runs);
    if (sh.smallest.runs && sh.smallest.id != confirm.id)
        printf("the smallest scenario that failed in the search (%u faults) failed %u of %u "
               "tries when confirmed, under the target of %.0f%%\n",
               sh.smallest_faults, sh.smallest.fails, sh.smallest.runs, 100 * sh.target_rate);
    printf("%s%s in %.0f s, %zu candidates, %u runs: %s/scenario.json, %s/table.txt\n",
           complete ? "done" : "stopped early (budget or signal; run again to resume)", "",
           elapsed(&sh), sh.n_rows, sh.launched, sh.dir, sh.dir);
    code = !have_confirm || confirm.fails > 0 ? 0 : 1;
out:
    progress_end(&sh);
    free(sh.cache);
    free(sh.rows);
    free(sh.chain);
    free(sh.chain_id);
    return code;
}
