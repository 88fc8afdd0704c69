/* campaign.c - `faultline campaign`: a matrix of runs, here or on SSH runners (campaign.h). */
#include "harness/campaign.h"

#include "checker/report.h"
#include "common/alloc.h"
#include "common/error.h"
#include "common/name.h"
#include "common/fs.h"
#include "harness/compare.h"
#include "harness/index.h"
#include "harness/scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Exit codes of a cell's child process beyond compare's own 0..3. */
#define CELL_RUNNER_LOST 100 /* ssh could not reach the runner (ssh exit 255) */
#define CELL_SETUP_ERROR 101 /* could not start: fork, exec, log file */

/* ==== The matrix ==== */

static int get_str(const json_t *o, const char *key, const char *field, char *out, size_t cap,
                   bool required, char *errmsg)
{
    const json_t *v = json_object_get(o, key);
    if (!v) {
        if (required)
            return fl_errorf(errmsg, FL_ESHAPE, "%s: missing", field);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fl_errorf(errmsg, FL_ESHAPE, "%s: expected a non-empty string", field);
    if (json_string_length(v) >= cap)
        return fl_errorf(errmsg, FL_ELIMIT, "%s: longer than %zu bytes", field, cap - 1);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fl_errorf(errmsg, FL_ESHAPE, "%s: contains a NUL byte", field);
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

static int get_uint(const json_t *o, const char *key, const char *field, long long lo,
                    long long hi, long long *out, char *errmsg)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fl_errorf(errmsg, FL_ESHAPE, "%s: expected an integer in [%lld, %lld]", field, lo,
                         hi);
    *out = json_integer_value(v);
    return 0;
}

static int runner_from_json(const json_t *o, size_t i, struct harness_campaign_runner *r,
                            char *errmsg)
{
    char f[64];
    int rv;
    if (!json_is_object(o))
        return fl_errorf(errmsg, FL_ESHAPE, "runners[%zu]: expected an object", i);
    static const char *const known[] = {"name",     "ssh",       "port", "identity", "known_hosts",
                                        "host_key_checking", "faultline", "workdir", "jobs"};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            ok = ok || strcmp(key, known[k]) == 0;
        if (!ok)
            return fl_errorf(errmsg, FL_ESHAPE, "runners[%zu].%s: unknown field", i, key);
    }
    snprintf(r->name, sizeof r->name, "r%zu", i + 1);
#define F(k) (snprintf(f, sizeof f, "runners[%zu].%s", i, k), f)
    if ((rv = get_str(o, "name", F("name"), r->name, sizeof r->name, false, errmsg)) != 0)
        return rv;
    if (!fl_name_ok(r->name, true))
        return fl_errorf(errmsg, FL_ESHAPE, "%s: expected [A-Za-z0-9._-]+, not . or ..", F("name"));
    if ((rv = get_str(o, "ssh", F("ssh"), r->ssh, sizeof r->ssh, true, errmsg)) != 0)
        return rv;
    /* ssh reads a leading '-' as an option: a destination never starts with one. */
    if (r->ssh[0] == '-' || strpbrk(r->ssh, " \t\n'\"\\;`$"))
        return fl_errorf(errmsg, FL_ESHAPE, "%s: expected [user@]host", F("ssh"));
    long long port = 0, jobs = 1;
    if ((rv = get_uint(o, "port", F("port"), 1, 65535, &port, errmsg)) != 0 ||
        (rv = get_uint(o, "jobs", F("jobs"), 1, HARNESS_CAMPAIGN_MAX_JOBS, &jobs, errmsg)) != 0)
        return rv;
    r->port = (unsigned)port;
    r->jobs = (unsigned)jobs;
    if ((rv = get_str(o, "identity", F("identity"), r->identity, sizeof r->identity, false,
                      errmsg)) != 0 ||
        (rv = get_str(o, "known_hosts", F("known_hosts"), r->known_hosts, sizeof r->known_hosts,
                      false, errmsg)) != 0)
        return rv;
    snprintf(r->faultline, sizeof r->faultline, "faultline");
    snprintf(r->workdir, sizeof r->workdir, "/tmp/faultline-campaign");
    if ((rv = get_str(o, "faultline", F("faultline"), r->faultline, sizeof r->faultline, false,
                      errmsg)) != 0 ||
        (rv = get_str(o, "workdir", F("workdir"), r->workdir, sizeof r->workdir, false, errmsg)) !=
            0)
        return rv;
    if (r->workdir[0] != '/' || strstr(r->workdir, "..") || strcmp(r->workdir, "/") == 0)
        return fl_errorf(errmsg, FL_ESHAPE, "%s: expected an absolute folder other than / (no ..)",
                         F("workdir"));
    char hk[16] = "yes";
    if ((rv = get_str(o, "host_key_checking", F("host_key_checking"), hk, sizeof hk, false,
                      errmsg)) != 0)
        return rv;
    if (strcmp(hk, "yes") == 0)
        r->hostkeys = HARNESS_CAMPAIGN_HOSTKEYS_YES;
    else if (strcmp(hk, "accept-new") == 0)
        r->hostkeys = HARNESS_CAMPAIGN_HOSTKEYS_ACCEPT_NEW;
    else if (strcmp(hk, "off") == 0)
        r->hostkeys = HARNESS_CAMPAIGN_HOSTKEYS_OFF;
    else
        return fl_errorf(errmsg, FL_ESHAPE, "%s: expected \"yes\", \"accept-new\" or \"off\"",
                         F("host_key_checking"));
#undef F
    return 0;
}

int harness_campaign_matrix_from_json(const json_t *root, struct harness_campaign_matrix *m,
                                      char *errmsg)
{
    int rv;
    memset(m, 0, sizeof *m);
    m->time_limit = m->warmup = m->heal = -1;
    m->capture = true;
    m->jobs = 1;
    m->retries = 2;
    snprintf(m->name, sizeof m->name, "campaign");
    if (!json_is_object(root))
        return fl_errorf(errmsg, FL_ESHAPE, "expected a JSON object");
    static const char *const known[] = {"name", "scenarios", "impls",   "seeds",  "time_limit",
                                        "warmup", "heal",    "capture", "jobs",   "retries",
                                        "runners"};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)root, key, v) {
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            ok = ok || strcmp(key, known[k]) == 0;
        if (!ok)
            return fl_errorf(errmsg, FL_ESHAPE, "%s: unknown field", key);
    }
    if ((rv = get_str(root, "name", "name", m->name, sizeof m->name, false, errmsg)) != 0)
        return rv;
    if (!fl_name_ok(m->name, true))
        return fl_errorf(errmsg, FL_ESHAPE, "name: expected [A-Za-z0-9._-]+, not . or ..");

    const json_t *a = json_object_get(root, "scenarios");
    if (!json_is_array(a) || json_array_size(a) == 0)
        return fl_errorf(errmsg, FL_ESHAPE, "scenarios: expected a non-empty array of files");
    if (json_array_size(a) > HARNESS_CAMPAIGN_MAX_SCENARIOS)
        return fl_errorf(errmsg, FL_ELIMIT, "scenarios: more than %d",
                         HARNESS_CAMPAIGN_MAX_SCENARIOS);
    for (size_t i = 0; i < json_array_size(a); i++) {
        char f[32];
        snprintf(f, sizeof f, "scenarios[%zu]", i);
        json_t *w = json_pack("{sO}", "s", json_array_get(a, i));
        rv = get_str(w, "s", f, m->scenarios[i], sizeof m->scenarios[i], true, errmsg);
        json_decref(w);
        if (rv != 0)
            return rv;
        m->n_scenarios++;
    }

    a = json_object_get(root, "impls");
    if (!json_is_array(a) || json_array_size(a) == 0)
        return fl_errorf(errmsg, FL_ESHAPE, "impls: expected a non-empty array of specs");
    if (json_array_size(a) > HARNESS_CAMPAIGN_MAX_IMPLS)
        return fl_errorf(errmsg, FL_ELIMIT, "impls: more than %d", HARNESS_CAMPAIGN_MAX_IMPLS);
    for (size_t i = 0; i < json_array_size(a); i++) {
        const json_t *s = json_array_get(a, i);
        if (!json_is_string(s) || json_string_length(s) == 0 ||
            json_string_length(s) >= sizeof m->impls[i] ||
            strlen(json_string_value(s)) != json_string_length(s))
            return fl_errorf(errmsg, FL_ESHAPE, "impls[%zu]: expected a spec such as \"reference\"",
                             i);
        snprintf(m->impls[i], sizeof m->impls[i], "%s", json_string_value(s));
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->impls[k], m->impls[i]) == 0)
                return fl_errorf(errmsg, FL_ESHAPE, "impls[%zu]: \"%s\" given twice", i,
                                 m->impls[i]);
        m->n_impls++;
    }

    a = json_object_get(root, "seeds");
    if (json_is_array(a)) {
        if (json_array_size(a) == 0 || json_array_size(a) > HARNESS_CAMPAIGN_MAX_SEEDS)
            return fl_errorf(errmsg, FL_ELIMIT, "seeds: expected 1 to %d seeds",
                             HARNESS_CAMPAIGN_MAX_SEEDS);
        for (size_t i = 0; i < json_array_size(a); i++) {
            const json_t *s = json_array_get(a, i);
            if (!json_is_integer(s) || json_integer_value(s) < 0 ||
                (uint64_t)json_integer_value(s) > HARNESS_SCENARIO_SEED_MAX - 1)
                return fl_errorf(errmsg, FL_ESHAPE, "seeds[%zu]: expected an integer in [0, %llu]",
                                 i, (unsigned long long)HARNESS_SCENARIO_SEED_MAX - 1);
            m->seeds[i] = (uint64_t)json_integer_value(s);
            for (size_t k = 0; k < i; k++)
                if (m->seeds[k] == m->seeds[i])
                    return fl_errorf(errmsg, FL_ESHAPE, "seeds[%zu]: %" PRIu64 " given twice", i,
                                     m->seeds[i]);
            m->n_seeds++;
        }
    } else if (json_is_object(a)) {
        long long first = 1, count = 0;
        if ((rv = get_uint(a, "first", "seeds.first", 0,
                           (long long)(HARNESS_SCENARIO_SEED_MAX - HARNESS_CAMPAIGN_MAX_SEEDS - 1),
                           &first, errmsg)) != 0 ||
            (rv = get_uint(a, "count", "seeds.count", 1, HARNESS_CAMPAIGN_MAX_SEEDS, &count,
                           errmsg)) != 0)
            return rv;
        if (count == 0)
            return fl_errorf(errmsg, FL_ESHAPE, "seeds.count: missing");
        for (long long i = 0; i < count; i++)
            m->seeds[m->n_seeds++] = (uint64_t)(first + i);
    } else {
        return fl_errorf(errmsg, FL_ESHAPE,
                         "seeds: expected a list of seeds or {\"first\": N, \"count\": K}");
    }

    long long t = -1, w = -1, h = -1, jobs = 1, retries = 2;
    if ((rv = get_uint(root, "time_limit", "time_limit", 1, 86400, &t, errmsg)) != 0 ||
        (rv = get_uint(root, "warmup", "warmup", 0, 3600, &w, errmsg)) != 0 ||
        (rv = get_uint(root, "heal", "heal", 0, 3600, &h, errmsg)) != 0 ||
        (rv = get_uint(root, "jobs", "jobs", 1, HARNESS_CAMPAIGN_MAX_JOBS, &jobs, errmsg)) != 0 ||
        (rv = get_uint(root, "retries", "retries", 0, 10, &retries, errmsg)) != 0)
        return rv;
    m->time_limit = (int)t;
    m->warmup = (int)w;
    m->heal = (int)h;
    m->jobs = (unsigned)jobs;
    m->retries = (unsigned)retries;
    const json_t *cap = json_object_get(root, "capture");
    if (cap && !json_is_boolean(cap))
        return fl_errorf(errmsg, FL_ESHAPE, "capture: expected true or false");
    if (cap)
        m->capture = json_is_true(cap);

    a = json_object_get(root, "runners");
    if (a) {
        if (!json_is_array(a) || json_array_size(a) == 0)
            return fl_errorf(errmsg, FL_ESHAPE, "runners: expected a non-empty array");
        if (json_array_size(a) > HARNESS_CAMPAIGN_MAX_RUNNERS)
            return fl_errorf(errmsg, FL_ELIMIT, "runners: more than %d",
                             HARNESS_CAMPAIGN_MAX_RUNNERS);
        for (size_t i = 0; i < json_array_size(a); i++) {
            if ((rv = runner_from_json(json_array_get(a, i), i, &m->runners[i], errmsg)) != 0)
                return rv;
            for (size_t k = 0; k < i; k++)
                if (strcmp(m->runners[k].name, m->runners[i].name) == 0)
                    return fl_errorf(errmsg, FL_ESHAPE, "runners[%zu].name: \"%s\" given twice",
                                     i, m->runners[i].name);
            m->n_runners++;
        }
    }
    return 0;
}

int harness_campaign_matrix_load(const char *path, struct harness_campaign_matrix *m,
                                 char *errmsg)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fl_errorf(errmsg, -errno, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > HARNESS_CAMPAIGN_FILE_MAX)
        return fl_errorf(errmsg, FL_ELIMIT, "%s: not a regular file of at most %u bytes", path,
                         HARNESS_CAMPAIGN_FILE_MAX);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return fl_errorf(errmsg, FL_EPARSE, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                         jerr.text);
    int rv = harness_campaign_matrix_from_json(root, m, errmsg);
    json_decref(root);
    if (rv != 0)
        fl_error_wrap(errmsg, rv, "%s", path);
    return rv;
}

void harness_campaign_shell_quote(struct fl_buf *out, const char *s)
{
    fl_buf_puts(out, "'");
    for (; *s; s++) {
        if (*s == '\'')
            fl_buf_puts(out, "'\\''");
        else
            fl_buf_append(out, s, 1);
    }
    fl_buf_puts(out, "'");
}

/* ==== A campaign in progress ==== */

enum cell_state { CELL_PENDING, CELL_RUNNING, CELL_DONE };

struct cell {
    unsigned sc, im;
    uint64_t seed;
    enum cell_state state;
    unsigned tries;
    int runner; /* index into runners (n_runners: local) while running or when done */
    int lost_on; /* the runner it was last lost with, or -1 */
    pid_t pid;
    char name[200]; /* cells/<name>/ */
    struct timespec started;
    double seconds;
    struct harness_compare_run run; /* once done */
};

struct runner_state {
    bool lost;
    unsigned running, done, lost_cells;
};

struct campaign {
    struct harness_campaign_matrix m;
    char scenario_names[HARNESS_CAMPAIGN_MAX_SCENARIOS][HARNESS_SCENARIO_NAME_MAX];
    char dir[512];       /* DIR */
    char self[PATH_MAX]; /* this faultline */
    char cmdir[64];      /* ControlPath sockets */
    char remote_id[64];  /* <workdir>/<remote_id>/ on runners */
    bool insecure_host_keys, dry_run, quiet;
    struct cell *cells;
    size_t n_cells;
    struct runner_state rs[HARNESS_CAMPAIGN_MAX_RUNNERS + 1]; /* [n_runners]: local */
    json_t *retried; /* [{"cell", "runner", "try"}] */
};

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    g_stop = sig;
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The compare arguments of a cell, after "compare" (scenario path given). */
static size_t compare_args(const struct campaign *C, const struct cell *c, const char *scenario,
                           const char *out, char bufs[6][32], const char **argv)
{
    size_t n = 0;
    argv[n++] = "compare";
    argv[n++] = scenario;
    argv[n++] = "--impl";
    argv[n++] = C->m.impls[c->im];
    snprintf(bufs[0], 32, "%" PRIu64, c->seed);
    argv[n++] = "--seed";
    argv[n++] = bufs[0];
    argv[n++] = "--test-count";
    argv[n++] = "1";
    argv[n++] = "--out";
    argv[n++] = out;
    if (C->m.time_limit >= 0) {
        snprintf(bufs[1], 32, "%d", C->m.time_limit);
        argv[n++] = "--time-limit";
        argv[n++] = bufs[1];
    }
    if (C->m.warmup >= 0) {
        snprintf(bufs[2], 32, "%d", C->m.warmup);
        argv[n++] = "--warmup";
        argv[n++] = bufs[2];
    }
    if (C->m.heal >= 0) {
        snprintf(bufs[3], 32, "%d", C->m.heal);
        argv[n++] = "--heal";
        argv[n++] = bufs[3];
    }
    if (!C->m.capture)
        argv[n++] = "--no-capture";
    argv[n] = NULL;
    return n;
}

/* The ssh command for runner r, up to and including the destination; argv[*n] next. */
static void ssh_base(const struct campaign *C, size_t ri, const char **argv, size_t *n,
                     char bufs[4][300])
{
    const struct harness_campaign_runner *r = &C->m.runners[ri];
    size_t k = 0;
    argv[k++] = "ssh";
    argv[k++] = "-o";
    argv[k++] = "BatchMode=yes";
    argv[k++] = "-o";
    argv[k++] = "ConnectTimeout=10";
    /* A runner that dies mid-run is noticed within 15 s, not at TCP's timeout. */
    argv[k++] = "-o";
    argv[k++] = "ServerAliveInterval=5";
    argv[k++] = "-o";
    argv[k++] = "ServerAliveCountMax=3";
    argv[k++] = "-o";
    argv[k++] = "ControlMaster=auto";
    snprintf(bufs[0], 300, "ControlPath=%s/%zu", C->cmdir, ri);
    argv[k++] = "-o";
    argv[k++] = bufs[0];
    argv[k++] = "-o";
    argv[k++] = "ControlPersist=120";
    argv[k++] = "-o";
    argv[k++] = r->hostkeys == HARNESS_CAMPAIGN_HOSTKEYS_YES          ? "StrictHostKeyChecking=yes"
                : r->hostkeys == HARNESS_CAMPAIGN_HOSTKEYS_ACCEPT_NEW ? "StrictHostKeyChecking=accept-new"
                                                                      : "StrictHostKeyChecking=no";
    if (r->known_hosts[0]) {
        snprintf(bufs[1], 300, "UserKnownHostsFile=%s", r->known_hosts);
        argv[k++] = "-o";
        argv[k++] = bufs[1];
    }
    if (r->port) {
        snprintf(bufs[2], 300, "%u", r->port);
        argv[k++] = "-p";
        argv[k++] = bufs[2];
    }
    if (r->identity[0]) {
        argv[k++] = "-i";
        argv[k++] = r->identity;
        argv[k++] = "-o";
        argv[k++] = "IdentitiesOnly=yes";
    }
    argv[k++] = "--";
    argv[k++] = r->ssh;
    *n = k;
}

/* Runs argv (stdin/stdout as given, -1: inherit; stderr to errfd when >= 0) and waits.
 * Returns the exit status, 128+signal, or -1 when it could not start. */
static int run_wait(const char *const *argv, int in, int out, int errfd)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (in >= 0)
            dup2(in, 0);
        if (out >= 0)
            dup2(out, 1);
        if (errfd >= 0)
            dup2(errfd, 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One remote command (a shell string) on runner ri. */
static int ssh_run(const struct campaign *C, size_t ri, const char *cmd, int in, int out, int errfd)
{
    const char *argv[48];
    char bufs[4][300];
    size_t n;
    ssh_base(C, ri, argv, &n, bufs);
    argv[n++] = cmd;
    argv[n] = NULL;
    return run_wait(argv, in, out, errfd);
}

/* The remote folder of cell c on runner ri, and the shell command that runs its compare
 * there (appended to cmd). The same text runs and is printed by --dry-run. */
static void remote_compare_cmd(const struct campaign *C, const struct cell *c, size_t ri,
                               const char *remote, struct fl_buf *cmd)
{
    char scen[700], out[700], bufs[6][32];
    snprintf(scen, sizeof scen, "%s/scenario.json", remote);
    snprintf(out, sizeof out, "%s/out", remote);
    const char *args[26];
    size_t n = compare_args(C, c, scen, out, bufs, args);
    harness_campaign_shell_quote(cmd, C->m.runners[ri].faultline);
    for (size_t i = 0; i < n; i++) {
        fl_buf_puts(cmd, " ");
        harness_campaign_shell_quote(cmd, args[i]);
    }
}

/* The child process of a cell on runner ri: copy the scenario in, run compare, copy the
 * folder back, remove it there. Exits 0 when compare ran (whatever its verdict),
 * CELL_RUNNER_LOST when ssh could not reach the runner. */
static void remote_cell(const struct campaign *C, const struct cell *c, size_t ri,
                        const char *celldir, int log)
{
    const struct harness_campaign_runner *r = &C->m.runners[ri];
    struct fl_buf rdir, cmd;
    fl_buf_init(&rdir);
    fl_buf_init(&cmd);
    fl_buf_printf(&rdir, "%s/%s/%s", r->workdir, C->remote_id, c->name);
    const char *remote = fl_buf_cstr(&rdir);

    int in = open(C->m.scenarios[c->sc], O_RDONLY | O_CLOEXEC);
    if (in < 0)
        _exit(CELL_SETUP_ERROR);
    fl_buf_puts(&cmd, "mkdir -p ");
    harness_campaign_shell_quote(&cmd, remote);
    fl_buf_puts(&cmd, " && cat > ");
    harness_campaign_shell_quote(&cmd, remote);
    fl_buf_puts(&cmd, "/scenario.json");
    int rv = ssh_run(C, ri, fl_buf_cstr(&cmd), in, log, log);
    close(in);
    if (rv == 255)
        _exit(CELL_RUNNER_LOST);
    if (rv != 0)
        _exit(CELL_SETUP_ERROR);

    char out[600];
    snprintf(out, sizeof out, "%s/out", remote);
    fl_buf_reset(&cmd);
    remote_compare_cmd(C, c, ri, remote, &cmd);
    rv = ssh_run(C, ri, fl_buf_cstr(&cmd), -1, log, log);
    if (rv == 255)
        _exit(CELL_RUNNER_LOST);

    /* The run folder comes back as a tar stream over the same connection. */
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        _exit(CELL_SETUP_ERROR);
    fl_buf_reset(&cmd);
    fl_buf_puts(&cmd, "tar -C ");
    harness_campaign_shell_quote(&cmd, out);
    fl_buf_puts(&cmd, " -cf - .");
    const char *tar[] = {"tar", "-xf", "-", "-C", celldir, "--no-same-owner", NULL};
    pid_t tp = fork();
    if (tp == 0) {
        dup2(p[0], 0);
        dup2(log, 1);
        dup2(log, 2);
        execvp(tar[0], (char *const *)tar);
        _exit(127);
    }
    close(p[0]);
    rv = ssh_run(C, ri, fl_buf_cstr(&cmd), -1, p[1], log);
    close(p[1]);
    int st = 0;
    if (tp > 0)
        while (waitpid(tp, &st, 0) < 0 && errno == EINTR)
            ;
    if (rv == 255)
        _exit(CELL_RUNNER_LOST);
    fl_buf_reset(&cmd);
    fl_buf_puts(&cmd, "rm -rf ");
    harness_campaign_shell_quote(&cmd, remote);
    ssh_run(C, ri, fl_buf_cstr(&cmd), -1, log, log);
    fl_buf_free(&rdir);
    fl_buf_free(&cmd);
    _exit(tp > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : CELL_SETUP_ERROR);
}

static int start_cell(struct campaign *C, struct cell *c, size_t ri)
{
    char celldir[800];
    snprintf(celldir, sizeof celldir, "%s/cells/%s", C->dir, c->name);
    if (fl_mkdir_p(celldir) != 0)
        return -1;
    char logp[900];
    snprintf(logp, sizeof logp, "%s/campaign.log", celldir);
    int log = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0)
        return -1;
    clock_gettime(CLOCK_MONOTONIC, &c->started);
    pid_t pid = fork();
    if (pid < 0) {
        close(log);
        return -1;
    }
    if (pid == 0) {
        /* Its own process group: the campaign forwards Ctrl-C, and kills stragglers whole. */
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        if (ri < C->m.n_runners)
            remote_cell(C, c, ri, celldir, log);
        char bufs[6][32];
        const char *args[26];
        args[0] = C->self;
        compare_args(C, c, C->m.scenarios[c->sc], celldir, bufs, args + 1);
        dup2(log, 1);
        dup2(log, 2);
        execv(C->self, (char *const *)args);
        _exit(CELL_SETUP_ERROR);
    }
    setpgid(pid, pid);
    close(log);
    c->pid = pid;
    c->state = CELL_RUNNING;
    c->runner = (int)ri;
    c->tries++;
    C->rs[ri].running++;
    return 0;
}

static const char *runner_name(const struct campaign *C, int ri)
{
    return (size_t)ri < C->m.n_runners ? C->m.runners[ri].name : "local";
}

/* Fills c->run from the cell's folder: compare.json names the run's folder. */
static void load_cell(struct campaign *C, struct cell *c, int exit_code)
{
    char path[1200], err[FL_ERRMSG_SIZE];
    memset(&c->run, 0, sizeof c->run);
    c->run.seed = c->seed;
    snprintf(path, sizeof path, "%s/cells/%s/compare.json", C->dir, c->name);
    json_t *cmp = json_load_file(path, 0, NULL);
    const char *rel = json_string_value(
        json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(cmp, "impls"),
                                                                      0),
                                                       "runs"),
                                       0),
                        "dir"));
    if (rel && !strstr(rel, "..") && rel[0] != '/') {
        snprintf(path, sizeof path, "%s/cells/%s/%s/results.json", C->dir, c->name, rel);
        if (harness_compare_run_load(path, &c->run, err) != 0)
            snprintf(c->run.anomaly, sizeof c->run.anomaly, "%s", err);
        snprintf(c->run.dir, sizeof c->run.dir, "cells/%s/%s", c->name, rel);
    } else {
        harness_compare_run_from_json(NULL, &c->run);
        c->run.code = HARNESS_COMPARE_ERROR;
        snprintf(c->run.anomaly, sizeof c->run.anomaly,
                 exit_code == CELL_RUNNER_LOST ? "runner lost, no tries left"
                                               : "no results (exit %d; see cells/%s/campaign.log)",
                 exit_code, c->name);
        snprintf(c->run.dir, sizeof c->run.dir, "cells/%s", c->name);
    }
    c->run.seed = c->seed;
    json_decref(cmp);
}

static const char *code_name(int code)
{
    static const char *const n[] = {"valid", "invalid", "unknown", "error"};
    return code >= 0 && code <= 3 ? n[code] : "error";
}

/* A cell's child ended with `status`. */
static void cell_ended(struct campaign *C, struct cell *c, int status, size_t *done)
{
    int ri = c->runner;
    C->rs[ri].running--;
    c->seconds = since(&c->started);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code == CELL_RUNNER_LOST && !g_stop) {
        /* ssh failed: is the runner gone, or was it one dropped connection? */
        int probe = ssh_run(C, (size_t)ri, "true", -1, -1, -1);
        if (probe != 0 && !C->rs[ri].lost) {
            C->rs[ri].lost = true;
            fprintf(stderr, "campaign: runner %s lost (ssh exit %d); its runs go elsewhere\n",
                    runner_name(C, ri), probe);
        }
        C->rs[ri].lost_cells++;
        json_array_append_new(C->retried, json_pack("{sssssi}", "cell", c->name, "runner",
                                                     runner_name(C, ri), "try", (int)c->tries));
        if (c->tries <= C->m.retries) {
            c->state = CELL_PENDING;
            c->lost_on = ri;
            fprintf(stderr, "campaign: %s goes back to the queue (try %u was on %s)\n", c->name,
                    c->tries, runner_name(C, ri));
            return;
        }
    }
    c->state = CELL_DONE;
    C->rs[ri].done++;
    load_cell(C, c, code);
    (*done)++;
    fprintf(stderr, "[%zu/%zu] %s %s seed %" PRIu64 ": %s (%s, %.1f s)%s%s\n", *done, C->n_cells,
            C->scenario_names[c->sc], C->m.impls[c->im], c->seed, code_name(c->run.code),
            runner_name(C, ri), c->seconds, c->run.anomaly[0] ? " - " : "", c->run.anomaly);
}

static long free_runner(struct campaign *C, const struct cell *c)
{
    size_t nr = C->m.n_runners;
    long best = -1;
    for (size_t ri = 0; ri <= nr; ri++) {
        if (nr > 0 && ri == nr)
            break; /* runners given: nothing runs locally */
        if (nr == 0 && ri != nr)
            continue;
        const struct runner_state *s = &C->rs[ri];
        unsigned slots = ri < nr ? C->m.runners[ri].jobs : C->m.jobs;
        if (s->lost || s->running >= slots)
            continue;
        /* Prefer another runner than the one the cell was lost with. */
        if (best < 0 || (best == c->lost_on && (long)ri != c->lost_on))
            best = (long)ri;
    }
    return best;
}

static bool any_runner_alive(const struct campaign *C)
{
    if (C->m.n_runners == 0)
        return true;
    for (size_t ri = 0; ri < C->m.n_runners; ri++)
        if (!C->rs[ri].lost)
            return true;
    return false;
}

static void execute(struct campaign *C)
{
    size_t done = 0, running = 0;
    while (done < C->n_cells) {
        if (!g_stop && any_runner_alive(C)) {
            for (size_t i = 0; i < C->n_cells; i++) {
                struct cell *c = &C->cells[i];
                if (c->state != CELL_PENDING)
                    continue;
                long ri = free_runner(C, c);
                if (ri < 0)
                    continue;
                if (start_cell(C, c, (size_t)ri) != 0) {
                    fprintf(stderr, "campaign: %s: could not start: %s\n", c->name,
                            strerror(errno));
                    c->state = CELL_DONE;
                    harness_compare_run_from_json(NULL, &c->run);
                    c->run.code = HARNESS_COMPARE_ERROR;
                    c->run.seed = c->seed;
                    snprintf(c->run.anomaly, sizeof c->run.anomaly, "could not start");
                    done++;
                    continue;
                }
                running++;
                if (!C->quiet)
                    fprintf(stderr, "campaign: start %s on %s (try %u)\n", c->name,
                            runner_name(C, (int)ri), c->tries);
            }
        }
        if (running == 0)
            break; /* stopped, or no runner left for what is pending */
        int st;
        pid_t pid = waitpid(-1, &st, 0);
        if (pid < 0) {
            if (errno == EINTR && g_stop) {
                for (size_t i = 0; i < C->n_cells; i++)
                    if (C->cells[i].state == CELL_RUNNING)
                        kill(-C->cells[i].pid, SIGTERM);
            } else if (errno == ECHILD) {
                break;
            }
            continue;
        }
        for (size_t i = 0; i < C->n_cells; i++) {
            struct cell *c = &C->cells[i];
            if (c->state == CELL_RUNNING && c->pid == pid) {
                running--;
                cell_ended(C, c, st, &done);
                break;
            }
        }
    }
    /* What never ran (stopped, or every runner lost) is an error in the summary. */
    for (size_t i = 0; i < C->n_cells; i++) {
        struct cell *c = &C->cells[i];
        if (c->state == CELL_DONE)
            continue;
        harness_compare_run_from_json(NULL, &c->run);
        c->run.code = HARNESS_COMPARE_ERROR;
        c->run.seed = c->seed;
        snprintf(c->run.anomaly, sizeof c->run.anomaly, "%s",
                 g_stop ? "interrupted" : "not run: no runner left");
        snprintf(c->run.dir, sizeof c->run.dir, "cells/%s", c->name);
        c->state = CELL_DONE;
    }
}

/* ==== Outputs ==== */

/* The cells of scenario s as compare's structure (runs borrowed into fresh arrays). */
static struct harness_compare *scenario_compare(const struct campaign *C, unsigned s)
{
    struct harness_compare *cmp = fl_calloc(1, sizeof *cmp);
    if (!cmp)
        return NULL;
    snprintf(cmp->scenario, sizeof cmp->scenario, "%s", C->scenario_names[s]);
    snprintf(cmp->dir, sizeof cmp->dir, "%s", C->dir);
    cmp->seed = C->m.seeds[0];
    cmp->count = (unsigned)C->m.n_seeds;
    cmp->faults_s = C->m.time_limit > 0 ? (unsigned)C->m.time_limit : 0;
    for (size_t i = 0; i < C->m.n_impls; i++) {
        struct harness_compare_impl *im = &cmp->impls[cmp->n_impls];
        char err[FL_ERRMSG_SIZE];
        if (harness_impl_spec_parse(C->m.impls[i], &im->spec, err) != 0)
            snprintf(im->spec.text, sizeof im->spec.text, "%s", C->m.impls[i]);
        im->runs = fl_calloc(C->m.n_seeds, sizeof *im->runs);
        if (!im->runs)
            break;
        cmp->n_impls++;
        for (size_t k = 0; k < C->n_cells; k++) {
            const struct cell *c = &C->cells[k];
            if (c->sc == s && c->im == i)
                im->runs[im->n_runs++] = c->run;
        }
        harness_compare_summarize(im->runs, im->n_runs, &im->sum);
    }
    return cmp;
}

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    return ok ? 0 : -EIO;
}

static void xml(struct fl_buf *out, const char *s)
{
    checker_html_escape(out, s, 1024);
}

static int write_outputs(struct campaign *C, int *exit_code)
{
    struct fl_buf summary, junit, page;
    fl_buf_init(&summary);
    fl_buf_init(&junit);
    fl_buf_init(&page);
    json_t *scen = json_array();
    int worst = 0, rv = 0;
    unsigned tests = 0, failures = 0;
    struct fl_buf suites;
    fl_buf_init(&suites);
    for (unsigned s = 0; s < C->m.n_scenarios; s++) {
        struct harness_compare *cmp = scenario_compare(C, s);
        if (!cmp) {
            rv = FL_ENOMEM;
            break;
        }
        harness_compare_table(cmp, &summary);
        fl_buf_puts(&summary, "\n");
        json_array_append_new(scen, harness_compare_json(cmp));
        worst = harness_compare_worse(worst, harness_compare_exit_code(cmp));
        fl_buf_reset(&page);
        if (harness_compare_html(cmp, &page) == 0) {
            char path[700];
            snprintf(path, sizeof path, "%s/%s.html", C->dir, cmp->scenario);
            if (write_file(path, fl_buf_cstr(&page), page.len) != 0)
                rv = -EIO;
        }
        unsigned sfail = 0;
        struct fl_buf cases;
        fl_buf_init(&cases);
        for (size_t i = 0; i < cmp->n_impls; i++) {
            const struct harness_compare_impl *im = &cmp->impls[i];
            bool bug = im->spec.bug != HARNESS_BUG_NONE;
            bool failed = bug ? !harness_compare_bug_caught(im) : im->sum.worst != 0;
            tests++;
            fl_buf_puts(&cases, "    <testcase classname=\"");
            xml(&cases, cmp->scenario);
            fl_buf_puts(&cases, "\" name=\"");
            xml(&cases, im->spec.text);
            fl_buf_puts(&cases, "\">");
            if (failed) {
                sfail++;
                fl_buf_puts(&cases, "<failure message=\"");
                char msg[400];
                snprintf(msg, sizeof msg,
                         bug ? "planted bug not caught: seeds %s (V valid, I invalid, U unknown, "
                               "E error)"
                             : "not valid on every seed: %s (V valid, I invalid, U unknown, E "
                               "error)",
                         im->sum.letters);
                xml(&cases, msg);
                fl_buf_puts(&cases, "\"/>");
            }
            fl_buf_puts(&cases, "</testcase>\n");
        }
        failures += sfail;
        fl_buf_puts(&suites, "  <testsuite name=\"");
        xml(&suites, cmp->scenario);
        fl_buf_printf(&suites, "\" tests=\"%zu\" failures=\"%u\">\n", cmp->n_impls, sfail);
        fl_buf_append(&suites, cases.data ? cases.data : "", cases.len);
        fl_buf_puts(&suites, "  </testsuite>\n");
        fl_buf_free(&cases);
        harness_compare_free(cmp);
        fl_free(cmp);
    }
    fl_buf_puts(&junit, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"");
    xml(&junit, C->m.name);
    fl_buf_printf(&junit, "\" tests=\"%u\" failures=\"%u\">\n", tests, failures);
    fl_buf_append(&junit, suites.data ? suites.data : "", suites.len);
    fl_buf_puts(&junit, "</testsuites>\n");

    unsigned not_run = 0;
    for (size_t i = 0; i < C->n_cells; i++)
        if (C->cells[i].run.code == HARNESS_COMPARE_ERROR)
            not_run++;
    json_t *runners = json_array();
    for (size_t ri = 0; ri <= C->m.n_runners; ri++) {
        if (ri == C->m.n_runners && C->m.n_runners > 0)
            break;
        json_array_append_new(runners,
                              json_pack("{sssIsIsb}", "name", runner_name(C, (int)ri), "runs",
                                        (json_int_t)C->rs[ri].done, "lost_runs",
                                        (json_int_t)C->rs[ri].lost_cells, "lost",
                                        C->rs[ri].lost));
        fl_buf_printf(&summary, "runner %s: %u runs%s%s\n", runner_name(C, (int)ri),
                      C->rs[ri].done, C->rs[ri].lost ? ", LOST" : "",
                      C->rs[ri].lost_cells ? " (runs moved elsewhere after ssh failed)" : "");
    }
    if (json_array_size(C->retried) > 0)
        fl_buf_printf(&summary, "%zu tries were lost with their runner and run again\n",
                      json_array_size(C->retried));
    if (not_run > 0)
        worst = 3;
    *exit_code = worst;
    json_t *root = json_pack("{sisssssIsOsOsOsi}", "format", 1, "name", C->m.name, "dir", C->dir,
                             "cells", (json_int_t)C->n_cells, "runners", runners, "retried",
                             C->retried, "scenarios", scen, "exit_code", worst);
    json_decref(runners);
    json_decref(scen);
    char path[700];
    if (root) {
        snprintf(path, sizeof path, "%s/campaign.json", C->dir);
        if (json_dump_file(root, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
            rv = -EIO;
        json_decref(root);
    } else {
        rv = FL_ENOMEM;
    }
    fputs(fl_buf_cstr(&summary), stdout);
    snprintf(path, sizeof path, "%s/summary.txt", C->dir);
    if (write_file(path, fl_buf_cstr(&summary), summary.len) != 0)
        rv = -EIO;
    snprintf(path, sizeof path, "%s/junit.xml", C->dir);
    if (write_file(path, fl_buf_cstr(&junit), junit.len) != 0)
        rv = -EIO;
    if (summary.oom || junit.oom || suites.oom)
        rv = FL_ENOMEM;
    fl_buf_free(&summary);
    fl_buf_free(&junit);
    fl_buf_free(&page);
    fl_buf_free(&suites);
    return rv;
}

/* ==== The command ==== */

static const char usage[] =
    "usage: faultline campaign MATRIX.json [options]\n"
    "\n"
    "Runs every scenario x implementation x seed of MATRIX.json (each cell one\n"
    "`faultline compare SCENARIO --impl SPEC --seed S --test-count 1`), several at\n"
    "once, here or on runner machines over ssh, and gathers them into one folder:\n"
    "cells/ (each run), campaign.json, summary.txt (compare's table per scenario),\n"
    "<scenario>.html, junit.xml; results/index.html lists every run. The matrix format\n"
    "is in README.md (\"Campaigns\") and harness/campaign.h.\n"
    "\n"
    "  --jobs N              local runs at once (overrides the matrix's jobs)\n"
    "  --out DIR             the campaign folder (default results/campaign/<UTC time>)\n"
    "  --dry-run             print each command that would run, run nothing\n"
    "  --insecure-host-keys  allow runners with host_key_checking \"off\"\n"
    "  -q, --quiet           no start lines, only each finished run\n"
    "  -h, --help            this text\n"
    "\n"
    "Runners: each is reached with ssh (BatchMode, ControlMaster sharing, its own\n"
    "identity and known_hosts); nothing but ssh and tar is assumed on the runner\n"
    "besides its faultline. A runner that stops answering is marked lost and its\n"
    "runs are retried on the others (matrix \"retries\", default 2).\n"
    "\n"
    "Exit: the worst verdict of the implementations without a planted bug (0 valid,\n"
    "1 invalid, 2 unknown), 3 on a usage or environment error or when a run could\n"
    "not be done anywhere.\n";

static void print_cmd(const char *prefix, const char *const *argv)
{
    struct fl_buf b;
    fl_buf_init(&b);
    for (size_t i = 0; argv[i]; i++) {
        if (i)
            fl_buf_puts(&b, " ");
        harness_campaign_shell_quote(&b, argv[i]);
    }
    printf("%s%s\n", prefix, fl_buf_cstr(&b));
    fl_buf_free(&b);
}

static void dry_run(const struct campaign *C)
{
    for (size_t i = 0; i < C->n_cells; i++) {
        const struct cell *c = &C->cells[i];
        char celldir[800], bufs[6][32];
        snprintf(celldir, sizeof celldir, "%s/cells/%s", C->dir, c->name);
        const char *args[26];
        if (C->m.n_runners == 0) {
            args[0] = C->self;
            compare_args(C, c, C->m.scenarios[c->sc], celldir, bufs, args + 1);
            print_cmd("local: ", args);
            continue;
        }
        size_t ri = i % C->m.n_runners;
        const struct harness_campaign_runner *r = &C->m.runners[ri];
        char remote[600];
        snprintf(remote, sizeof remote, "%s/%s/%s", r->workdir, C->remote_id, c->name);
        struct fl_buf cmd;
        fl_buf_init(&cmd);
        remote_compare_cmd(C, c, ri, remote, &cmd);
        const char *argv[48];
        char sb[4][300];
        size_t k;
        ssh_base(C, ri, argv, &k, sb);
        printf("%s (first free runner; %s shown): copy %s in, then\n", c->name, r->name,
               C->m.scenarios[c->sc]);
        argv[k++] = fl_buf_cstr(&cmd);
        argv[k] = NULL;
        print_cmd("  ", argv);
        printf("  then tar the run folder back into %s and remove %s there\n", celldir, remote);
        fl_buf_free(&cmd);
    }
}

int harness_campaign_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"jobs", required_argument, NULL, 'j'},     {"out", required_argument, NULL, 'o'},
        {"dry-run", no_argument, NULL, 'n'},        {"insecure-host-keys", no_argument, NULL, 'k'},
        {"quiet", no_argument, NULL, 'q'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *prog = "faultline campaign", *out = NULL, *jobs = NULL;
    char err[FL_ERRMSG_SIZE];
    int opt, rc = 3;
    struct campaign *C = fl_calloc(1, sizeof *C);
    if (!C) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 3;
    }
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "hqn", longopts, NULL)) != -1) {
        switch (opt) {
        case 'j':
            jobs = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'n':
            C->dry_run = true;
            break;
        case 'k':
            C->insecure_host_keys = true;
            break;
        case 'q':
            C->quiet = true;
            break;
        case 'h':
            fputs(usage, stdout);
            rc = 0;
            goto done;
        default:
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", prog,
                    argv[optind - 1]);
            goto done;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "%s: expected one matrix file (see --help)\n", prog);
        goto done;
    }
    if (harness_campaign_matrix_load(argv[optind], &C->m, err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (jobs) {
        unsigned long long v;
        if (fl_parse_uint(prog, "--jobs", jobs, HARNESS_CAMPAIGN_MAX_JOBS, &v) != 0)
            goto done;
        if (v == 0) {
            fprintf(stderr, "%s: --jobs: at least 1\n", prog);
            goto done;
        }
        C->m.jobs = (unsigned)v;
    }
    for (size_t ri = 0; ri < C->m.n_runners; ri++)
        if (C->m.runners[ri].hostkeys == HARNESS_CAMPAIGN_HOSTKEYS_OFF && !C->insecure_host_keys) {
            fprintf(stderr,
                    "%s: runners[%zu] (%s): host_key_checking \"off\" needs --insecure-host-keys\n",
                    prog, ri, C->m.runners[ri].name);
            goto done;
        }
    /* Every scenario must load and accept every implementation before anything runs. */
    for (size_t s = 0; s < C->m.n_scenarios; s++) {
        struct harness_scenario sc;
        if (harness_scenario_load(C->m.scenarios[s], &sc, err) != 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            goto done;
        }
        snprintf(C->scenario_names[s], sizeof C->scenario_names[s], "%s", sc.name);
        for (size_t k = 0; k < s; k++)
            if (strcmp(C->scenario_names[k], sc.name) == 0) {
                fprintf(stderr, "%s: scenarios[%zu]: a scenario named \"%s\" is already listed\n",
                        prog, s, sc.name);
                goto done;
            }
        for (size_t i = 0; i < C->m.n_impls; i++) {
            struct harness_impl_spec spec;
            struct harness_scenario t = sc;
            if (harness_impl_spec_parse(C->m.impls[i], &spec, err) != 0) {
                fprintf(stderr, "%s: impls[%zu]: %s\n", prog, i, err);
                goto done;
            }
            harness_impl_spec_apply(&spec, &t);
            if (harness_scenario_validate(&t, t.name, err) != 0) {
                fprintf(stderr, "%s: %s with %s: %s\n", prog, C->m.scenarios[s], C->m.impls[i],
                        err);
                goto done;
            }
        }
    }
    C->n_cells = C->m.n_scenarios * C->m.n_impls * C->m.n_seeds;
    C->cells = fl_calloc(C->n_cells, sizeof *C->cells);
    C->retried = json_array();
    if (!C->cells || !C->retried) {
        fprintf(stderr, "%s: out of memory\n", prog);
        goto done;
    }
    /* Seed-major, then scenario, then implementation: a cut-short campaign has every
     * implementation on the first seeds. */
    size_t k = 0;
    for (size_t seed = 0; seed < C->m.n_seeds; seed++)
        for (unsigned s = 0; s < C->m.n_scenarios; s++)
            for (unsigned i = 0; i < C->m.n_impls; i++) {
                struct cell *c = &C->cells[k++];
                c->sc = s;
                c->im = i;
                c->seed = C->m.seeds[seed];
                c->lost_on = -1;
                char spec[64];
                snprintf(spec, sizeof spec, "%s", C->m.impls[i]);
                for (char *p = spec; *p; p++)
                    if (*p == '/' || *p == ' ')
                        *p = '_';
                snprintf(c->name, sizeof c->name, "%s.%s.%" PRIu64, C->scenario_names[s], spec,
                         c->seed);
            }
    ssize_t len = readlink("/proc/self/exe", C->self, sizeof C->self - 1);
    if (len <= 0) {
        fprintf(stderr, "%s: /proc/self/exe: %s\n", prog, strerror(errno));
        goto done;
    }
    C->self[len] = '\0';
    snprintf(C->remote_id, sizeof C->remote_id, "c%ld-%ld", (long)time(NULL), (long)getpid());
    if (C->dry_run) {
        snprintf(C->dir, sizeof C->dir, "%s", out ? out : "results/campaign/<UTC time>");
        snprintf(C->cmdir, sizeof C->cmdir, "/tmp/fl-cm-XXXXXX");
        dry_run(C);
        rc = 0;
        goto done;
    }
    if (C->m.n_runners == 0 && geteuid() != 0) {
        fprintf(stderr, "%s: needs root for local runs (network namespaces); try sudo\n", prog);
        goto done;
    }
    char base[128];
    snprintf(base, sizeof base, "results/campaign/%s", C->m.name);
    int mrv = fl_results_dir(C->dir, sizeof C->dir, out, base);
    if (mrv != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, out ? out : base, strerror(-mrv));
        goto done;
    }
    snprintf(C->cmdir, sizeof C->cmdir, "/tmp/fl-cm-XXXXXX");
    if (C->m.n_runners > 0 && mkdtemp(C->cmdir) == NULL) {
        fprintf(stderr, "%s: %s: %s\n", prog, C->cmdir, strerror(errno));
        goto done;
    }
    fprintf(stderr, "%s: %zu runs (%zu scenarios x %zu implementations x %zu seeds) on %s%s; "
                    "results in %s\n",
            prog, C->n_cells, C->m.n_scenarios, C->m.n_impls, C->m.n_seeds,
            C->m.n_runners ? "runners" : "this machine", C->m.n_runners ? "" : " (local)", C->dir);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term, old_hup;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    execute(C);
    int code = 3;
    if (write_outputs(C, &code) != 0)
        fprintf(stderr, "%s: could not write every output in %s\n", prog, C->dir);
    else
        printf("campaign: %s/campaign.json, summary.txt, junit.xml\n", C->dir);
    rc = g_stop ? 3 : code;
    /* The runners' connections and the campaign's folders on them go away. */
    for (size_t ri = 0; ri < C->m.n_runners; ri++) {
        if (C->rs[ri].lost)
            continue;
        struct fl_buf cmd;
        fl_buf_init(&cmd);
        fl_buf_puts(&cmd, "rm -rf ");
        char d[600];
        snprintf(d, sizeof d, "%s/%s", C->m.runners[ri].workdir, C->remote_id);
        harness_campaign_shell_quote(&cmd, d);
        ssh_run(C, ri, fl_buf_cstr(&cmd), -1, -1, -1);
        fl_buf_free(&cmd);
        const char *av[48];
        char sb[4][300];
        size_t n;
        ssh_base(C, ri, av, &n, sb);
        /* -O exit before the destination: ssh_base ends with "--" dest. */
        av[n - 2] = "-O";
        av[n - 1] = "exit";
        av[n++] = C->m.runners[ri].ssh;
        av[n] = NULL;
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        run_wait(av, -1, devnull, devnull);
        if (devnull >= 0)
            close(devnull);
    }
    if (C->m.n_runners > 0) {
        for (size_t ri = 0; ri < C->m.n_runners; ri++) {
            char p[128];
            snprintf(p, sizeof p, "%s/%zu", C->cmdir, ri);
            unlink(p);
        }
        rmdir(C->cmdir);
    }
    harness_index_refresh(C->dir);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
done:
    if (C->retried)
        json_decref(C->retried);
    fl_free(C->cells);
    fl_free(C);
    return rc;
}
