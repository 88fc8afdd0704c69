/* run.c - `faultline run`: topology, nodes, workload, nemesis, capture, then check and report.
 *
 * The main thread stays in the root namespace: it builds the topology and
 * tears it down. Everything that talks to the cluster runs on one "run
 * thread" that enters the hub namespace first (DESIGN.md: nothing is sent
 * from the root namespace): the libuv loop with the workload clients, the
 * nemesis timers, the node processes (forked from that thread into their own
 * namespaces, and killed with it if the harness dies) and the capture. On hosts the
 * nemesis steps, ssh round trips, run off the loop on libuv's thread pool ("Steps off the
 * loop"), so the clients go on meanwhile as they do in namespaces. */
#include "common/fs.h"
#include "harness/run.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "common/error.h"
#include "harness/index.h"
#include "harness/compare.h"
#include "harness/hosts.h"
#include "harness/report_cmd.h"
#include "harness/scenario.h"
#include "harness/schedule.h"
#include "nemesis/capture.h"
#include "nemesis/clock.h"
#include "nemesis/disk.h"
#include "nemesis/fault.h"
#include "nemesis/figure37.h"
#include "nemesis/netns.h"
#include "nemesis/process.h"
#include "nemesis/registry.h"
#include "nemesis/schedule.h"
#include "nemesis/topology.h"
#include "harness/nodelife.h"
#include "harness/leadmon.h"
#include "harness/nodes.h"
#include "node/client/client.h"
#include "node/io/auth.h"
#include "workloads/adapter.h"
#include "workloads/runner.h"

#define PATH_SZ 1024
#define MAXN    NEMESIS_MAX_NODES
/* The bound on minimizing an invalid run's counterexample for its report. */
#define MINIMIZE_S 10

enum phase { PH_START, PH_WARMUP, PH_FAULTS, PH_HEAL, PH_STOPPING, PH_FINAL, PH_CLOSING, PH_DONE };

struct run {
    struct harness_scenario sc;
    json_t *sc_json;
    char dir[512], tmp[64], node_bin[PATH_SZ], clock_dir[128], secret[96];
    struct nemesis_topology topo;
    bool recorded; /* the run's record (nemesis/registry.h) is ours to remove */
    const struct workload_adapter *adapter;
    struct workload_cluster cl;
    char data_dirs[MAXN][128], conf_dirs[MAXN][140], logs[MAXN][600], clients_dir[600];
    const char *log_ptrs[MAXN], *ns_ptrs[MAXN];
    unsigned programs;           /* client programs started (numbers them) */
    struct harness_nodelife life; /* files, hooks, log events of process/client nodes */
    bool life_ok;
    uv_timer_t life_timer;
    uv_check_t hist_check; /* flushes the history once per loop iteration */
    char *argv_buf[MAXN];
    char *argv[MAXN][WORKLOAD_ARGV_MAX];
    char env[MAXN][NEMESIS_CLOCK_ENV_N][NEMESIS_CLOCK_ENV_MAX];
    const char *envp[MAXN][NEMESIS_CLOCK_ENV_N + 1];
    struct harness_nodes nodes; /* the node processes and their disks */
    bool use_clock;
    /* The disk-fault filesystem over each node's data directory (nemesis/disk.h). */
    bool use_disk;
    char self_exe[PATH_SZ];
    /* Nodes on hosts over ssh (scenario "hosts"), NULL in namespaces. */
    struct harness_hosts *hosts;
    json_t *host_opts; /* process/client on hosts: the options naming the hosts' copies */
    char follows[MAXN][80];          /* on hosts with events: the nodes' logs streamed here */
    const char *follow_ptrs[MAXN];
    /* The run thread. */
    uv_loop_t loop;
    uv_timer_t phase_timer, nemesis_timer, progress_timer, leader_timer;
    uv_signal_t sigint, sigterm, sighup; /* SIGHUP: the terminal (an ssh session) went away */
    struct workload_history hist;
    FILE *nemesis_log;
    struct workload_runner runner;
    bool runner_ok;
    struct nemesis_ctx nctx;
    bool nctx_ok;
    struct nemesis_plan plan;
    size_t next_step;
    bool step_active;
    /* On hosts a step runs off the loop (see "Steps off the loop"). */
    struct step_job {
        uv_work_t req;
        pthread_mutex_t mu;
        pthread_cond_t cv;
        bool busy; /* queued, its outcome not yet taken in by the loop */
        bool ran;  /* the worker is done (mu) */
        bool heal;
        int rv;
        char err[FL_ERRMSG_SIZE];
    } job;
    uint64_t faults_t0;
    /* CPU over the fault phase (struct harness_run_result): at its start, then the figures. */
    bool cpu0_ok, cpu_ok;
    double cpu0_node, cpu0_self, cpu_node, cpu_self, cpu_window_s;
    uint64_t cpu0_hrtime, cpu0_ok_ops, cpu_ok_ops;
    struct nemesis_capture cap;
    bool capturing;
    struct nemesis_figure37 fig; /* the figure-3-7 fault's steps and probes */
    bool fig_ok;
    struct client mon; /* membership requests (reference) */
    bool mon_ok;
    struct harness_leadmon lm; /* who leads, asked every 300 ms */
    struct workload_leader lead; /* the latest round's decision */
    int leader; /* lead.node: index, -1 when none or unknown */
    enum phase phase;
    uint64_t t0_ms;
    unsigned faults_applied, faults_failed;
    bool aborted;
    bool quiet, tty;
    uint64_t last_ops, last_ops_at;
    int rc;
    char err[FL_ERRMSG_SIZE];
    unsigned open_handles;
};

/* ==== Output ==== */

static void say(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    uint64_t ms = r->t0_ms ? uv_now(&r->loop) - r->t0_ms : 0;
    if (r->tty)
        fputs("\r\033[K", stderr); /* over the progress line */
    fprintf(stderr, "[%5.1fs] ", (double)ms / 1000.0);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void fail_run(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail_run(struct run *r, const char *fmt, ...)
{
    if (r->rc != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->rc = -1;
}

/* ==== Nodes ==== */

/* ==== Leader monitor (harness/leadmon.h) ==== */

static void on_leader_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    harness_leadmon_ask(&r->lm);
}

/* ==== Nemesis ==== */

static void record_nemesis(struct run *r, const struct nemesis_fault *f, enum nemesis_phase ph,
                           enum fl_event_type type, const char *error)
{
    json_t *ev = nemesis_fault_event_json(f, ph, type, -1, 0, error);
    if (ev == NULL)
        return;
    workload_history_record_json(&r->hist, ev);
    if (r->nemesis_log != NULL) {
        char *text = json_dumps(ev, JSON_COMPACT);
        if (text != NULL) {
            fprintf(r->nemesis_log, "%s\n", text);
            fflush(r->nemesis_log);
        }
        free(text);
    }
    json_decref(ev);
}

struct member_op {
    struct client_req req;
    struct run *r;
    struct nemesis_fault f;
    enum nemesis_phase ph;
};

static void on_member_done(struct client_req *req)
{
    struct member_op *m = req->data;
    struct run *r = m->r;
    char err[FL_ERRMSG_SIZE];
    if (req->outcome != CLIENT_OK)
        snprintf(err, sizeof err, "%s%s%s", req->error ? req->error : "failed",
                 req->message ? ": " : "", req->message ? req->message : "");
    record_nemesis(r, &m->f, m->ph, FL_EVENT_INFO, req->outcome == CLIENT_OK ? NULL : err);
    say(r, "nemesis: %s %s: %s", m->ph == NEMESIS_PHASE_HEAL ? "heal of" : "membership",
        m->f.kind->name, req->outcome == CLIENT_OK ? "done" : err);
    nemesis_fault_clear(&m->f);
    free(m);
}

/* The cluster's membership call (nemesis_node_ops.membership): requests through the leader,
 * remove (heal: join again as a voter with the same addresses) and promote. The info event is
 * written when the answer comes. */
static int op_membership(void *data, const struct nemesis_fault *f, unsigned i, bool heal,
                         char *errmsg)
{
    struct run *r = ((struct harness_nodes *)data)->owner;
    if (!r->mon_ok)
        return fl_errorf(errmsg, FL_EUSAGE, "no client to send membership changes");
    struct member_op *m = calloc(1, sizeof *m);
    if (m == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    m->r = r;
    m->ph = heal ? NEMESIS_PHASE_HEAL : NEMESIS_PHASE_START;
    nemesis_fault_copy(&m->f, f);
    m->req.data = m;
    m->req.timeout_ms = 5000;
    char name[16], peer[64], client[64];
    snprintf(name, sizeof name, "n%u", i + 1);
    r->adapter->peer_addr(&r->cl, i, peer, sizeof peer);
    r->adapter->client_addr(&r->cl, i, client, sizeof client);
    int rv;
    if (f->action == NEMESIS_ACTION_PROMOTE)
        rv = client_promote(&r->mon, &m->req, name, on_member_done);
    else if (heal)
        rv = client_join(&r->mon, &m->req, name, peer, client, "voter", on_member_done);
    else
        rv = client_leave(&r->mon, &m->req, name, on_member_done);
    if (rv != 0) {
        nemesis_fault_clear(&m->f);
        free(m);
        return fl_errorf(errmsg, rv, "%s: request not sent", name);
    }
    return 0;
}


/* ==== Steps off the loop ====
 *
 * On hosts each step is one or more ssh round trips (a power loss: kill, reap, the disk
 * command; ~2 s for three hosts). Run on the loop, they would stop the clients for that long,
 * so a fault would land on an idle cluster: a kill would find nothing unsynced, where in
 * namespaces it lands while writes flow. So the step runs on libuv's thread pool while the
 * loop goes on; the loop takes in its outcome (history, output, the next step) when it ends.
 * The worker touches only the nemesis ctx and the nodes (harness/nodes.c), which the loop
 * leaves alone meanwhile (the node-life tick waits); membership requests and figure-3-7's
 * probes are the loop's own, so those kinds stay on it. */

static bool step_off_loop(const struct run *r, const struct nemesis_fault *f)
{
    return r->hosts != NULL && f->kind->cls != NEMESIS_CLASS_MEMBERSHIP &&
           f->kind != &nemesis_figure37_kind;
}

static void apply_done(struct run *r, struct nemesis_step *st, int rv, const char *err)
{
    struct nemesis_fault *f = &st->fault;
    if (rv == NEMESIS_PENDING) {
        rv = 0; /* the membership request records its outcome */
    } else {
        record_nemesis(r, f, NEMESIS_PHASE_START, FL_EVENT_INFO, rv != 0 ? err : NULL);
    }
    if (rv == 0) {
        r->faults_applied++;
        char *v = json_dumps(f->value, JSON_COMPACT);
        say(r, "nemesis: %s %s", f->kind->name, v ? v : "");
        free(v);
    } else {
        r->faults_failed++;
        say(r, "nemesis: %s failed: %s", f->kind->name, err);
    }
    r->step_active = rv == 0;
}

static void heal_done(struct run *r, struct nemesis_step *st, int rv, const char *err)
{
    struct nemesis_fault *f = &st->fault;
    if (rv == NEMESIS_PENDING) {
        r->step_active = false;
        return; /* the membership request records its outcome */
    }
    record_nemesis(r, f, NEMESIS_PHASE_HEAL, FL_EVENT_INFO, rv != 0 ? err : NULL);
    if (rv != 0)
        say(r, "nemesis: heal of %s failed: %s", f->kind->name, err);
    else if ((strcmp(f->kind->name, "delay") == 0 || strcmp(f->kind->name, "reorder") == 0) &&
             (r->hosts != NULL || r->nctx.delay_packets > 0)) /* netem counts nothing */
        /* Evidence that the delay happened (a delayer fed nothing would still "heal"). */
        say(r, "nemesis: healed %s (%" PRIu64 " of %" PRIu64 " packets held)", f->kind->name,
            r->nctx.delay_held, r->nctx.delay_packets);
    else
        say(r, "nemesis: healed %s", f->kind->name);
    r->step_active = false;
}

/* The worker: the step's apply or heal, nothing else. */
static void job_work(uv_work_t *req)
{
    struct run *r = req->data;
    struct step_job *j = &r->job;
    struct nemesis_fault *f = &r->plan.steps[r->next_step].fault;
    char err[FL_ERRMSG_SIZE] = "";
    int rv = j->heal ? nemesis_fault_heal(&r->nctx, f, err) : nemesis_fault_apply(&r->nctx, f, err);
    pthread_mutex_lock(&j->mu);
    j->rv = rv;
    memcpy(j->err, err, sizeof err);
    j->ran = true;
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* Takes in the outcome of the step that ran (on the loop): as apply_done/heal_done would have
 * right after a step run in place, then moves to the next step. */
static void job_take(struct run *r)
{
    struct step_job *j = &r->job;
    struct nemesis_step *st = &r->plan.steps[r->next_step];
    j->busy = false;
    if (j->heal) {
        heal_done(r, st, j->rv, j->err);
        r->next_step++;
    } else {
        apply_done(r, st, j->rv, j->err);
        if (!r->step_active)
            r->next_step++; /* failed: nothing to heal */
    }
}

static void nemesis_next(struct run *r);

static void job_after(uv_work_t *req, int status)
{
    struct run *r = req->data;
    (void)status; /* never cancelled: the worker ran */
    if (!r->job.busy)
        return; /* taken in already (job_wait) */
    job_take(r);
    nemesis_next(r);
}

static int job_queue(struct run *r, bool heal)
{
    struct step_job *j = &r->job;
    j->req.data = r;
    j->heal = heal;
    j->ran = false;
    j->rv = 0;
    j->err[0] = '\0';
    int rv = uv_queue_work(&r->loop, &j->req, job_work, job_after);
    j->busy = rv == 0;
    return rv;
}

/* Blocks until the step that runs off the loop is done and takes in its outcome (the fault
 * phase ends, or Ctrl-C: what is healed next must be what it left). */
static void job_wait(struct run *r)
{
    struct step_job *j = &r->job;
    if (!j->busy)
        return;
    pthread_mutex_lock(&j->mu);
    while (!j->ran)
        pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
    job_take(r);
}

/* ==== Steps ==== */

static void apply_step(struct run *r, struct nemesis_step *st)
{
    char err[FL_ERRMSG_SIZE] = "";
    struct nemesis_fault *f = &st->fault;
    int rv = 0;
    if (f->needs_leader) {
        /* Never a guess: an unknown leader is recorded as such, nothing is applied. */
        if (r->lm.leader < 0 && r->lm.lead.state == WORKLOAD_LEADER_UNKNOWN)
            rv = fl_errorf(err, FL_EUSAGE, "leader unknown: %s", r->lm.lead.why);
        else if (r->lm.leader < 0)
            rv = fl_errorf(err, FL_EUSAGE, "no leader known: %s", r->lm.lead.why);
        else
            rv = nemesis_fault_bind_leader(f, &r->topo, r->lm.leader, err);
    }
    record_nemesis(r, f, NEMESIS_PHASE_START, FL_EVENT_INVOKE, NULL);
    if (rv == 0 && step_off_loop(r, f) && job_queue(r, false) == 0)
        return; /* job_after goes on */
    if (rv == 0)
        rv = nemesis_fault_apply(&r->nctx, f, err);
    apply_done(r, st, rv, err);
}

static void heal_step(struct run *r, struct nemesis_step *st)
{
    char err[FL_ERRMSG_SIZE] = "";
    struct nemesis_fault *f = &st->fault;
    record_nemesis(r, f, NEMESIS_PHASE_HEAL, FL_EVENT_INVOKE, NULL);
    if (step_off_loop(r, f) && job_queue(r, true) == 0)
        return; /* job_after goes on */
    heal_done(r, st, nemesis_fault_heal(&r->nctx, f, err), err);
}

static void on_nemesis_timer(uv_timer_t *t);

static void nemesis_next(struct run *r)
{
    if (r->phase != PH_FAULTS || r->next_step >= r->plan.n || r->job.busy)
        return;
    struct nemesis_step *st = &r->plan.steps[r->next_step];
    uint64_t at = r->faults_t0 + (r->step_active ? st->heal_ms : st->offset_ms);
    uint64_t now = uv_now(&r->loop);
    uv_timer_start(&r->nemesis_timer, on_nemesis_timer, at > now ? at - now : 0, 0);
}

static void on_nemesis_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    if (r->phase != PH_FAULTS || r->next_step >= r->plan.n || r->job.busy)
        return;
    struct nemesis_step *st = &r->plan.steps[r->next_step];
    if (!r->step_active) {
        apply_step(r, st);
        if (r->job.busy)
            return;
        if (!r->step_active)
            r->next_step++; /* failed: nothing to heal */
    } else {
        heal_step(r, st);
        if (r->job.busy)
            return;
        r->next_step++;
    }
    nemesis_next(r);
}

/* Heals whatever fault is still active (end of the fault phase, Ctrl-C). */
static void nemesis_stop(struct run *r)
{
    job_wait(r);
    uv_timer_stop(&r->nemesis_timer);
    if (r->step_active && r->next_step < r->plan.n) {
        /* In place, also on hosts: the phase after it starts once it is done. */
        struct nemesis_step *st = &r->plan.steps[r->next_step];
        char err[FL_ERRMSG_SIZE] = "";
        record_nemesis(r, &st->fault, NEMESIS_PHASE_HEAL, FL_EVENT_INVOKE, NULL);
        heal_done(r, st, nemesis_fault_heal(&r->nctx, &st->fault, err), err);
        r->next_step++;
    }
    /* Anything left paused or dead comes back for the quiet phase. */
    char err[FL_ERRMSG_SIZE];
    if (r->nctx_ok && nemesis_ctx_restore_nodes(&r->nctx, err) != 0)
        say(r, "%s", err);
}

/* ==== Phases ==== */

static void on_phase_timer(uv_timer_t *t);

static void phase_in(struct run *r, uint64_t ms)
{
    uv_timer_start(&r->phase_timer, on_phase_timer, ms, 0);
}

static void on_hist_check(uv_check_t *h)
{
    struct run *r = h->data;
    if (workload_history_flush(&r->hist) != 0)
        uv_check_stop(h); /* the next record reports the error */
}

static void on_handle_closed(uv_handle_t *h)
{
    struct run *r = h->data;
    r->open_handles--;
}

static void close_handle(struct run *r, uv_handle_t *h)
{
    if (uv_is_closing(h))
        return;
    r->open_handles++;
    uv_close(h, on_handle_closed);
}

static void on_mon_closed(struct client *c)
{
    struct run *r = c->data;
    r->open_handles--;
}

static void on_fig_closed(void *data)
{
    struct run *r = data;
    r->open_handles--;
}

static void on_lead_closed(void *data)
{
    struct run *r = data;
    r->open_handles--;
}

static void on_runner_closed(void *data)
{
    struct run *r = data;
    r->phase = PH_DONE;
    /* figure-3-7's heal may start nodes again: before they are all stopped. */
    if (r->fig_ok) {
        char err[FL_ERRMSG_SIZE];
        if (nemesis_figure37_end(&r->fig, err) != 0)
            say(r, "%s", err);
        r->open_handles++;
        nemesis_figure37_close(&r->fig, on_fig_closed, r);
        r->fig_ok = false;
    }
    harness_nodes_stop_all(&r->nodes);
    if (r->capturing && r->hosts != NULL) {
        char err[FL_ERRMSG_SIZE], path[PATH_SZ + 32];
        uint64_t packets;
        snprintf(path, sizeof path, "%s/capture.pcap", r->dir);
        if (nemesis_remote_capture_stop(&r->hosts->remote, r->dir, path, &packets, err) != 0)
            say(r, "capture: %s", err);
        else
            say(r, "capture: %" PRIu64 " packets from the hosts' tcpdumps", packets);
        r->capturing = false;
    }
    if (r->capturing) {
        char err[FL_ERRMSG_SIZE];
        struct nemesis_capture_stats cs;
        if (nemesis_capture_stop(&r->cap, &cs, err) != 0)
            say(r, "capture: %s", err);
        else
            say(r, "capture: %" PRIu64 " packets, %" PRIu64 " bytes%s", cs.packets, cs.bytes,
                cs.limit_reached ? " (size limit reached)" : "");
        r->capturing = false;
    }
    close_handle(r, (uv_handle_t *)&r->phase_timer);
    close_handle(r, (uv_handle_t *)&r->nemesis_timer);
    close_handle(r, (uv_handle_t *)&r->progress_timer);
    close_handle(r, (uv_handle_t *)&r->leader_timer);
    close_handle(r, (uv_handle_t *)&r->life_timer);
    close_handle(r, (uv_handle_t *)&r->hist_check);
    close_handle(r, (uv_handle_t *)&r->sigint);
    close_handle(r, (uv_handle_t *)&r->sigterm);
    close_handle(r, (uv_handle_t *)&r->sighup);
    if (r->mon_ok) {
        r->open_handles++;
        client_close(&r->mon, on_mon_closed);
        r->mon_ok = false;
    }
    if (r->lm.client != NULL) {
        r->open_handles++;
        r->adapter->client_close(r->lm.client, on_lead_closed, r);
        r->lm.client = NULL;
    }
}

static void on_final_done(void *data)
{
    struct run *r = data;
    r->phase = PH_CLOSING;
    workload_runner_close(&r->runner, on_runner_closed, r);
}

static void on_stopped(void *data)
{
    struct run *r = data;
    if (r->sc.phases.final_reads && !r->aborted) {
        r->phase = PH_FINAL;
        say(r, "final reads");
        workload_runner_final_reads(&r->runner, on_final_done, r);
    } else {
        on_final_done(r);
    }
}

static void begin_stop(struct run *r)
{
    if (r->phase >= PH_STOPPING)
        return;
    nemesis_stop(r);
    r->phase = PH_STOPPING;
    uv_timer_stop(&r->phase_timer);
    workload_runner_stop(&r->runner, on_stopped, r);
}

/* CPU seconds of this process, every thread (getrusage). */
static double self_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The fault phase's CPU: sampled at its start (end false) and its end. */
static void cpu_sample(struct run *r, bool end)
{
    double node = 0;
    bool ok = harness_nodes_cpu(&r->nodes, &node) == 0;
    double self = self_cpu();
    uint64_t now = uv_hrtime();
    if (!end) {
        r->cpu0_ok = ok;
        r->cpu0_node = node;
        r->cpu0_self = self;
        r->cpu0_hrtime = now;
        r->cpu0_ok_ops = r->hist.ok;
        return;
    }
    r->cpu_ok = ok && r->cpu0_ok;
    r->cpu_node = ok ? node - r->cpu0_node : 0;
    r->cpu_self = self - r->cpu0_self;
    r->cpu_window_s = (double)(now - r->cpu0_hrtime) / 1e9;
    r->cpu_ok_ops = r->hist.ok - r->cpu0_ok_ops;
}

static void on_phase_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    switch (r->phase) {
    case PH_WARMUP:
        /* What the nodes wrote while starting is on disk by now (a kernel's
         * writeback would have put it there): faults forget only what comes after. */
        for (unsigned i = 0; i < r->cl.n && r->use_disk; i++) {
            char reply[128], err[FL_ERRMSG_SIZE];
            if (nemesis_disk_command(&r->nodes.disks[i], "sync", reply, sizeof reply, err) != 0)
                say(r, "disk: %s", err);
        }
        r->phase = PH_FAULTS;
        r->faults_t0 = uv_now(&r->loop);
        cpu_sample(r, false);
        say(r, "faults for %us (%zu planned)", r->sc.phases.faults_s, r->plan.n);
        nemesis_next(r);
        phase_in(r, (uint64_t)r->sc.phases.faults_s * 1000);
        break;
    case PH_FAULTS:
        cpu_sample(r, true);
        nemesis_stop(r);
        r->phase = PH_HEAL;
        say(r, "healed; quiet for %us", r->sc.phases.heal_s);
        phase_in(r, (uint64_t)r->sc.phases.heal_s * 1000);
        break;
    case PH_HEAL:
        say(r, "stopping clients");
        begin_stop(r);
        break;
    default:
        break;
    }
}

/* The live progress line: elapsed/remaining, ops/s, ok/fail/info and the
 * active fault. On a terminal one line is rewritten every second; otherwise
 * a plain line is printed every five seconds. */
static void on_progress(uv_timer_t *t)
{
    struct run *r = t->data;
    static const char *names[] = {"start",    "warm-up",     "faults",  "heal",
                                  "stopping", "final reads", "closing", "done"};
    if (r->quiet)
        return;
    uint64_t now = uv_now(&r->loop), elapsed = now - r->t0_ms;
    uint64_t total =
        1000ull * (r->sc.phases.warmup_s + r->sc.phases.faults_s + r->sc.phases.heal_s);
    uint64_t ops = r->hist.ok + r->hist.fail + r->hist.info;
    double rate = now > r->last_ops_at
                      ? (double)(ops - r->last_ops) * 1000.0 / (double)(now - r->last_ops_at)
                      : 0;
    if (!r->tty && r->last_ops_at != 0 && now - r->last_ops_at < 5000)
        return;
    r->last_ops = ops;
    r->last_ops_at = now;
    char leader[160], fault[64] = "none";
    harness_leadmon_text(&r->lm, leader, sizeof leader);
    if (r->step_active && r->next_step < r->plan.n)
        snprintf(fault, sizeof fault, "%s", r->plan.steps[r->next_step].fault.kind->name);
    fprintf(stderr,
            "%s[%5.1fs] %s, %.0fs left | %.0f ops/s | ok %" PRIu64 " fail %" PRIu64 " info %" PRIu64
            " | fault: %s | leader %s%s",
            r->tty ? "\r\033[K" : "", (double)elapsed / 1000.0, names[r->phase],
            total > elapsed ? (double)(total - elapsed) / 1000.0 : 0.0, rate, r->hist.ok,
            r->hist.fail, r->hist.info, fault, leader, r->tty ? "" : "\n");
    fflush(stderr);
}

/* SIGINT, SIGTERM or SIGHUP met before the run thread's handlers are up (during set-up):
 * noted here, then honoured by the run thread as on_signal, or raised again once the
 * harness has removed what it made, instead of killing it half-way. */
static volatile sig_atomic_t early_signal;

static void on_early_signal(int signum)
{
    early_signal = signum;
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct run *r = h->data;
    if (r->aborted)
        return;
    r->aborted = true;
    say(r, "%s: stopping the run (faults healed, nodes stopped, nothing left behind)",
        signum == SIGINT ? "interrupted" : signum == SIGHUP ? "hung up" : "terminated");
    begin_stop(r);
}

/* ==== The run thread ==== */

static void on_life_timer(uv_timer_t *t)
{
    struct run *r = t->data;
    if (!r->job.busy) /* a step off the loop may be starting a node */
        harness_nodelife_tick(&r->life);
}

static int wait_for_leader(struct run *r, unsigned timeout_ms)
{
    uint64_t until = uv_now(&r->loop) + timeout_ms;
    while (uv_now(&r->loop) < until) {
        on_leader_timer(&r->leader_timer);
        uv_run(&r->loop, UV_RUN_ONCE);
        /* A system that cannot say who leads is not waited for. */
        if (r->lm.leader >= 0 || (r->lm.lead.state == WORKLOAD_LEADER_UNKNOWN && r->lm.lead.answers > 0 &&
                               r->lm.lead.cannot_say == r->lm.lead.answers))
            return 0;
        /* A client program that cannot start will not answer in 30 s either. */
        if (r->lm.lead.answers == 0 &&
            strncmp(r->lm.last_error, WORKLOAD_CLIENT_DEAD, strlen(WORKLOAD_CLIENT_DEAD)) == 0) {
            fail_run(r, "no leader: %.170s; see %.60s/clients", r->lm.last_error, r->dir);
            return -1;
        }
        for (unsigned i = 0; i < r->cl.n; i++) {
            struct nemesis_exit ex;
            if (r->nodes.started[i] && nemesis_process_reap(&r->nodes.procs[i], &ex) == 1) {
                fail_run(r, "node n%u exited during start-up (code %d, signal %d); see %s", i + 1,
                         ex.code, ex.signal, r->logs[i]);
                return -1;
            }
        }
    }
    char why[400];
    harness_leadmon_text(&r->lm, why, sizeof why);
    fail_run(r,
             "no leader within %u s after start (phases.start_timeout_s; leader %s); see the node "
             "logs in %s/nodes%s",
             timeout_ms / 1000, why, r->dir,
             r->lm.lead.answers == 0 && strncmp(r->lm.last_error, "client program", 14) == 0
                 ? " and the client programs' in clients/"
                 : "");
    return -1;
}

static void *run_thread(void *arg)
{
    struct run *r = arg;
    char err[FL_ERRMSG_SIZE];
    /* On hosts the harness talks to them from where it runs (the lab: its control namespace). */
    if (r->hosts == NULL && nemesis_netns_enter(r->topo.hub_ns, err) != 0) {
        fail_run(r, "%s", err);
        return NULL;
    }
    uv_loop_init(&r->loop);
    uv_timer_init(&r->loop, &r->phase_timer);
    uv_timer_init(&r->loop, &r->nemesis_timer);
    uv_timer_init(&r->loop, &r->progress_timer);
    uv_timer_init(&r->loop, &r->leader_timer);
    uv_timer_init(&r->loop, &r->life_timer);
    uv_check_init(&r->loop, &r->hist_check);
    r->hist_check.data = r;
    r->life_timer.data = r;
    if (r->life_ok)
        uv_timer_start(&r->life_timer, on_life_timer, 100, 100);
    uv_signal_init(&r->loop, &r->sigint);
    uv_signal_init(&r->loop, &r->sigterm);
    uv_signal_init(&r->loop, &r->sighup);
    r->phase_timer.data = r->nemesis_timer.data = r->progress_timer.data = r;
    r->leader_timer.data = r->sigint.data = r->sigterm.data = r->sighup.data = r;
    harness_leadmon_init(&r->lm, r->adapter, &r->cl);
    r->t0_ms = uv_now(&r->loop);

    if (r->use_disk && harness_nodes_mount_disks(&r->nodes, err) != 0)
        fail_run(r, "disk-fault filesystem: %s", err);
    if (r->rc == 0 && r->life_ok && harness_nodelife_setup_all(&r->life, r->cl.n, err) != 0)
        fail_run(r, "setup: %s", err);
    for (unsigned i = 0; i < r->cl.n && r->rc == 0; i++)
        if (harness_nodes_start(&r->nodes, i, err) != 0)
            fail_run(r, "start n%u: %s", i + 1, err);
    if (r->rc == 0) {
        char addrs[MAXN][64];
        const char *ptrs[MAXN];
        for (unsigned i = 0; i < r->cl.n; i++) {
            r->adapter->client_addr(&r->cl, i, addrs[i], sizeof addrs[i]);
            ptrs[i] = addrs[i];
        }
        struct client_config cc = {.addrs = ptrs, .n_addrs = r->cl.n, .op_timeout_ms = 1000};
        if (r->adapter->membership) {
            if (client_init(&r->mon, &r->loop, &cc, err) != 0)
                fail_run(r, "membership client: %s", err);
            else {
                r->mon_ok = true;
                r->mon.data = r;
            }
        }
        if (r->rc == 0 &&
            r->adapter->client_open(&r->lm.client, &r->loop, &r->cl, 1000, err) != 0)
            fail_run(r, "leader monitor: %s", err);
    }
    if (r->rc == 0 && wait_for_leader(r, 1000u * r->sc.phases.start_timeout_s) == 0) {
        char who[160];
        harness_leadmon_text(&r->lm, who, sizeof who);
        say(r, "cluster up: %u nodes, leader %s", r->cl.n, who);
    }
    if (r->rc == 0 && r->sc.network.capture.enabled && r->hosts != NULL) {
        /* A tcpdump per host, merged into capture.pcap at the end (remote.h). */
        if (nemesis_remote_capture_start(&r->hosts->remote, r->dir,
                                         r->sc.network.capture.snaplen, err) != 0)
            say(r, "capture: %s", err);
        r->capturing = true;
    }
    if (r->rc == 0 && r->sc.network.capture.enabled && r->hosts == NULL) {
        char path[PATH_SZ + 32];
        snprintf(path, sizeof path, "%s/capture.pcap", r->dir);
        struct nemesis_capture_opts co = {.ns = r->topo.hub_ns,
                                          .dev = r->topo.bridge,
                                          .path = path,
                                          .snaplen = (int)r->sc.network.capture.snaplen,
                                          .max_bytes = r->sc.network.capture.max_bytes};
        if (nemesis_capture_start(&r->cap, &co, err) != 0)
            say(r, "capture not started: %s", err);
        else
            r->capturing = true;
    }
    if (r->rc == 0) {
        char path[PATH_SZ + 32];
        snprintf(path, sizeof path, "%s/history.jsonl", r->dir);
        uint64_t t0 = uv_hrtime();
        if (workload_history_open(&r->hist, path, t0, err) != 0) {
            fail_run(r, "%s", err);
        } else {
            /* One write per loop iteration instead of one per event (two per
             * operation; writing the history was a quarter of the harness's
             * CPU samples in a 256-client bench, its write syscalls most of it). */
            r->hist.w.deferred = true;
            uv_check_start(&r->hist_check, on_hist_check);
        }
        /* The wall-clock time of history time 0, so `faultline capture` can place the
         * capture's packets (wall-clock stamps) on the history's clock. */
        struct timespec wall;
        clock_gettime(CLOCK_REALTIME, &wall);
        snprintf(path, sizeof path, "%s/clock.json", r->dir);
        FILE *cf = fopen(path, "w");
        if (cf) {
            fprintf(cf, "{\"history_t0_unix_ns\": %lld}\n",
                    (long long)wall.tv_sec * 1000000000LL + wall.tv_nsec -
                        (long long)(uv_hrtime() - t0));
            fclose(cf);
        }
        snprintf(path, sizeof path, "%s/nemesis.jsonl", r->dir);
        r->nemesis_log = fopen(path, "w");
        if (r->life_ok && r->hist.w.fp != NULL)
            harness_nodelife_set_history(&r->life, &r->hist);
    }
    if (r->rc == 0) {
        struct workload_runner_config wc = {0};
        enum workload_model m = (enum workload_model)(r->sc.workload.model + 1);
        workload_generator_defaults(&wc.gen, m);
        wc.gen.keys = r->sc.workload.keys;
        wc.gen.rotation_ops = (unsigned)r->sc.workload.key_rotation_ops;
        wc.gen.mix = (struct workload_mix){
            .read = r->sc.workload.mix[HARNESS_OP_READ],
            .write = r->sc.workload.mix[HARNESS_OP_WRITE],
            .cas = r->sc.workload.mix[HARNESS_OP_CAS],
            .add = r->sc.workload.mix[HARNESS_OP_ADD],
            .enqueue = r->sc.workload.mix[HARNESS_OP_ENQUEUE],
            .dequeue = r->sc.workload.mix[HARNESS_OP_DEQUEUE],
        };
        wc.gen.value_bytes = r->sc.workload.value_bytes;
        wc.gen.txn_max_ops = r->sc.workload.txn_max_ops;
        wc.gen.seed = r->sc.nemesis.seed ^ 0x5eedULL;
        wc.concurrency = r->sc.workload.concurrency;
        wc.rate_per_s = r->sc.workload.rate_per_s;
        wc.consistency = (enum workload_consistency)r->sc.workload.read_consistency;
        wc.op_timeout_ms = r->sc.workload.op_timeout_ms;
        if (workload_runner_init(&r->runner, &r->loop, &wc, r->adapter, &r->cl, &r->hist, err) != 0)
            fail_run(r, "%s", err);
        else
            r->runner_ok = true;
    }
    if (r->rc == 0) {
        if ((r->hosts != NULL ? nemesis_ctx_init_remote(&r->nctx, &r->topo, &r->hosts->remote,
                                                        r->use_clock, r->sc.nemesis.seed, err)
                              : nemesis_ctx_init(&r->nctx, &r->topo,
                                                 r->use_clock ? r->clock_dir : NULL,
                                                 r->sc.nemesis.seed, err)) != 0)
            fail_run(r, "nemesis: %s", err);
        else
            r->nctx_ok = true;
        struct nemesis_node_ops o;
        harness_nodes_ops(&r->nodes, &o);
        o.membership = op_membership; /* through the run's membership client */
        nemesis_ctx_set_nodes(&r->nctx, &o);
    }
    if (r->rc == 0 && r->sc.nemesis.weights[HARNESS_FAULT_FIGURE_3_7] > 0) {
        /* Its steps and probes: carried out through the nemesis ctx. */
        char addrs[MAXN][64];
        const char *ptrs[MAXN];
        for (unsigned i = 0; i < r->cl.n; i++) {
            r->adapter->client_addr(&r->cl, i, addrs[i], sizeof addrs[i]);
            ptrs[i] = addrs[i];
        }
        struct nemesis_figure37_ops fo;
        nemesis_figure37_ctx_ops(&r->nctx, &fo);
        r->fig_ok = true; /* nemesis_figure37_close releases even a failed init */
        if (nemesis_figure37_init(&r->fig, &r->loop, ptrs, r->cl.n, &fo, err) != 0)
            fail_run(r, "figure-3-7 probes: %s", err);
        else
            r->nctx.figure37 = &r->fig;
    }
    if (r->rc == 0) {
        uv_signal_start(&r->sigint, on_signal, SIGINT);
        uv_signal_start(&r->sigterm, on_signal, SIGTERM);
        uv_signal_start(&r->sighup, on_signal, SIGHUP);
        if (early_signal != 0) { /* again, to the handlers now up: on_signal on the loop */
            int signum = early_signal;
            early_signal = 0;
            raise(signum);
        }
        uv_timer_start(&r->leader_timer, on_leader_timer, 300, 300);
        r->tty = isatty(STDERR_FILENO) && !r->quiet;
        uv_timer_start(&r->progress_timer, on_progress, 1000, 1000);
        r->phase = PH_WARMUP;
        say(r, "warm-up for %us: %u clients, %s workload", r->sc.phases.warmup_s,
            r->sc.workload.concurrency, harness_model_name(r->sc.workload.model));
        workload_runner_start(&r->runner);
        phase_in(r, (uint64_t)r->sc.phases.warmup_s * 1000);
        uv_run(&r->loop, UV_RUN_DEFAULT);
    } else {
        /* Start-up failed: close what is open. */
        if (r->runner_ok) {
            r->phase = PH_CLOSING;
            workload_runner_close(&r->runner, on_runner_closed, r);
        } else {
            on_runner_closed(r);
        }
        uv_run(&r->loop, UV_RUN_DEFAULT);
    }
    harness_nodes_stop_all(&r->nodes);
    harness_nodes_unmount_disks(&r->nodes);
    if (r->nctx_ok) {
        if (nemesis_ctx_close(&r->nctx, err) != 0)
            say(r, "nemesis clean-up: %s", err);
        r->nctx_ok = false;
    }
    if (r->runner_ok)
        workload_runner_free(&r->runner);
    if (r->hist.w.fp != NULL && workload_history_close(&r->hist, err) != 0)
        fail_run(r, "history: %s", err);
    if (r->nemesis_log != NULL)
        fclose(r->nemesis_log);
    if (uv_loop_close(&r->loop) != 0)
        say(r, "warning: handles left open on the run loop");
    return NULL;
}

/* ==== Set-up on the main thread ==== */

/* The node binary: --node-bin, the scenario's, or next to this executable. */
static void find_node_bin(struct run *r, const char *override)
{
    if (override != NULL) {
        snprintf(r->node_bin, sizeof r->node_bin, "%s", override);
        return;
    }
    if (r->sc.implementation.options.binary[0] != '\0') {
        snprintf(r->node_bin, sizeof r->node_bin, "%s", r->sc.implementation.options.binary);
        return;
    }
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            /* build/<type>/harness/faultline -> build/<type>/node/server/faultline-node */
            snprintf(r->node_bin, sizeof r->node_bin, "%s/../node/server/faultline-node", self);
            if (access(r->node_bin, X_OK) == 0)
                return;
            snprintf(r->node_bin, sizeof r->node_bin, "%s/faultline-node", self);
            if (access(r->node_bin, X_OK) == 0)
                return;
        }
    }
    snprintf(r->node_bin, sizeof r->node_bin, "faultline-node");
}

static void nodes_say(void *data, const char *line)
{
    say(data, "nemesis: %s", line);
}

/* What harness/nodes.h needs of the run, once everything is set up. */
static void set_nodes(struct run *r)
{
    struct harness_nodes *ns = &r->nodes;
    ns->owner = r;
    ns->topo = &r->topo;
    ns->adapter = r->adapter;
    ns->cl = &r->cl;
    ns->loop = &r->loop;
    ns->life = r->life_ok ? &r->life : NULL;
    ns->hosts = r->hosts;
    for (unsigned i = 0; i < r->cl.n; i++) {
        ns->argv[i] = r->argv[i];
        ns->env[i] = r->use_clock ? r->envp[i] : NULL;
        ns->logs[i] = r->logs[i];
        ns->data_dirs[i] = r->data_dirs[i];
    }
    ns->tmp = r->tmp;
    ns->dir = r->dir;
    ns->self_exe = r->self_exe;
    ns->say = nodes_say;
    ns->say_data = r;
}

/* Creates the run's record (nemesis/registry.h), exclusively: a record of another run of
 * this id is refused, never overwritten. On hosts it names no namespace. */
static int record_run(struct run *r, char *errmsg)
{
    struct nemesis_registry *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    int rv = nemesis_registry_init(reg, &r->topo);
    if (rv != 0) {
        fl_errorf(errmsg, rv, "registry: reading own start time: %s", strerror(-rv));
    } else {
        if (r->sc.hosts[0] != '\0')
            reg->n_ns = 0; /* everything runs on the hosts */
        rv = nemesis_registry_create(NULL, reg, errmsg);
    }
    r->recorded = rv == 0;
    free(reg);
    return rv;
}

/* The temp dir's template: $TMPDIR/fl-<run>-XXXXXX when TMPDIR is an absolute, normalized
 * path short enough for the sockets under it (sun_path is 108 bytes), else /tmp. */
static int tmp_template(char *out, size_t size, const char *run, char *errmsg)
{
    const char *t = getenv("TMPDIR");
    size_t len = t != NULL ? strlen(t) : 0;
    while (len > 1 && t[len - 1] == '/')
        len--;
    int w = -1;
    if (len > 0 && len <= 40)
        w = snprintf(out, size, "%.*s/fl-%s-XXXXXX", (int)len, t, run);
    if (w < 0 || (size_t)w >= size || !nemesis_registry_tempdir_ok(out)) {
        if (len > 0)
            fprintf(stderr, "faultline run: warning: TMPDIR \"%.60s\" is not an absolute, "
                            "normalized path of at most 40 bytes: /tmp instead\n", t);
        w = snprintf(out, size, "/tmp/fl-%s-XXXXXX", run);
    }
    return w > 0 && (size_t)w < size ? 0 : fl_errorf(errmsg, -ENAMETOOLONG, "temp dir: too long");
}

static int plan_nemesis(struct run *r, char *errmsg)
{
    return harness_schedule_plan(&r->sc, &r->topo, &r->plan, errmsg);
}

/* Runs one scenario (seed set) into o->out_dir (or results/<name>/<time>):
 * topology up, the run thread, topology down, check and report. Returns 0
 * with res filled (any verdict) or -1 with errmsg (environment error). */
int harness_run_scenario(const struct harness_scenario *sc, const struct harness_run_opts *o,
                         struct harness_run_result *res, char *errmsg)
{
    memset(res, 0, sizeof *res);
    struct run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    char err[FL_ERRMSG_SIZE];
    int rv = 0;
    r->sc = *sc;
    r->quiet = o->quiet;
    r->adapter = workload_adapter_find(harness_impl_name(sc->implementation.impl));
    if (r->adapter == NULL) {
        free(r);
        return fl_errorf(errmsg, FL_EUNSUPPORTED,
                         "implementation \"%s\" is not supported by faultline run yet",
                         harness_impl_name(sc->implementation.impl));
    }
    find_node_bin(r, o->node_bin);

    /* Results directory. */
    char base[300];
    snprintf(base, sizeof base, "results/%s", r->sc.name);
    if ((rv = fl_results_dir(r->dir, sizeof r->dir, o->out_dir, base)) != 0) {
        fl_errorf(errmsg, rv, "results folder %s: %s", o->out_dir ? o->out_dir : base,
                  strerror(-rv));
        free(r);
        return -1;
    }
    char nodes_dir[520];
    snprintf(nodes_dir, sizeof nodes_dir, "%s/nodes", r->dir);
    if ((rv = fl_mkdir_p(nodes_dir)) != 0) {
        fl_errorf(errmsg, rv, "%s: %s", nodes_dir, strerror(-rv));
        free(r);
        return -1;
    }
    snprintf(res->dir, sizeof res->dir, "%s", r->dir);
    if (o->out_dir == NULL) {
        unlink("results/latest");
        const char *rel = r->dir + strlen("results/");
        if (symlink(rel, "results/latest") != 0)
            fprintf(stderr, "faultline run: warning: results/latest: %s\n", strerror(errno));
    }
    r->sc_json = harness_scenario_to_json(&r->sc);
    {
        char path[PATH_SZ + 32];
        snprintf(path, sizeof path, "%s/scenario.json", r->dir);
        if (r->sc_json == NULL ||
            json_dump_file(r->sc_json, path, JSON_INDENT(2) | JSON_SORT_KEYS) != 0)
            fprintf(stderr, "faultline run: warning: could not write %s\n", path);
    }

    /* From here on a stop signal is noted (early_signal), not deadly, until the run
     * thread's handlers take over; the callers' own handlers come back at the end. */
    static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction early = {.sa_handler = on_early_signal, .sa_flags = SA_RESTART}, old[3];
    sigemptyset(&early.sa_mask);
    early_signal = 0;
    for (int k = 0; k < 3; k++)
        sigaction(stop_signals[k], &early, &old[k]);
    /* Topology and node command lines. */
    char run_id[8];
    nemesis_run_id_new(run_id);
    unsigned n = r->sc.nodes.count + r->sc.nodes.passive;
    if ((rv = nemesis_topology_plan(&r->topo, run_id, r->sc.network.subnet, n, err)) != 0 ||
        (rv = plan_nemesis(r, err)) != 0) {
        fl_errorf(errmsg, rv, "%s", err);
        rv = -1;
        goto out;
    }
    /* The run's record before anything of it exists: each temp dir is named there before
     * it is made, so a harness killed at any moment leaves nothing `faultline clean` (or
     * `faultline clean --run ID`) does not find. */
    if ((rv = record_run(r, err)) != 0) {
        fl_errorf(errmsg, rv, "%s", err);
        rv = -1;
        goto out;
    }
    if (r->sc.hosts[0] != '\0') {
        /* The nodes get the hosts' addresses; everything else is planned as in namespaces. */
        if ((r->hosts = calloc(1, sizeof *r->hosts)) == NULL)
            rv = fl_errorf(err, FL_ENOMEM, "out of memory");
        else
            rv = harness_hosts_prepare(r->hosts, &r->sc, run_id, n, &r->topo,
                                       o->insecure_host_keys, NULL, err);
        if (r->hosts != NULL)
            r->hosts->registered = true; /* its ControlMasters go to the record too */
        if (rv != 0) {
            fl_errorf(errmsg, rv, "%s", err);
            rv = -1;
            goto out;
        }
    }
    /* Not a guessable name (we run as root): mkdtemp's, recorded first. Removed at `out`
     * too, so a run refused later (e.g. for its subnet) leaves nothing. */
    if ((rv = tmp_template(r->tmp, sizeof r->tmp, run_id, err)) != 0 ||
        (rv = nemesis_registry_mkdtemp(NULL, run_id, r->tmp, err)) != 0) {
        fl_errorf(errmsg, rv, "%s", err);
        r->tmp[0] = '\0';
        rv = -1;
        goto out;
    }
    /* The cluster's secret: reference peers prove membership with it. */
    snprintf(r->secret, sizeof r->secret, "%s/cluster.key", r->tmp);
    if ((rv = io_auth_key_create(r->secret, err)) != 0) {
        fl_errorf(errmsg, rv, "%s", err);
        rv = -1;
        goto out;
    }
    r->cl.secret_file = r->secret;
    r->cl.n = n;
    r->cl.node_bin = r->node_bin;
    r->cl.model = (enum workload_model)(r->sc.workload.model + 1);
    r->cl.election_timeout_ms = r->sc.implementation.options.election_timeout_ms;
    r->cl.bug = harness_bug_name(r->sc.implementation.bug);
    r->cl.lose_unsynced = r->sc.nemesis.options.kill_lose_unfsynced;
    /* The implementation options as the adapters read them (etcd, process). */
    r->cl.options = json_object_get(json_object_get(r->sc_json, "implementation"), "options");
    r->use_clock = r->sc.nemesis.weights[HARNESS_FAULT_CLOCK_SKEW] ||
                   r->sc.nemesis.weights[HARNESS_FAULT_CLOCK_JUMP] ||
                   r->sc.nemesis.weights[HARNESS_FAULT_CLOCK_RATE] ||
                   r->sc.nemesis.weights[HARNESS_FAULT_SLOW_ISOLATE_LEADER];
    r->use_disk = o->disk || r->sc.nemesis.weights[HARNESS_FAULT_LOSE_UNSYNCED] ||
                  r->sc.nemesis.weights[HARNESS_FAULT_TORN_WRITE] ||
                  r->sc.nemesis.weights[HARNESS_FAULT_FSYNC_ERROR] ||
                  r->sc.nemesis.weights[HARNESS_FAULT_BITFLIP] ||
                  r->sc.nemesis.weights[HARNESS_FAULT_TRUNCATE];
    /* Not its path: a rebuilt binary (replaced while a campaign runs) must not break the
     * next run's mounts; the forked child execs the same inode. */
    snprintf(r->self_exe, sizeof r->self_exe, "/proc/self/exe");
    snprintf(r->clock_dir, sizeof r->clock_dir, "%s/clock", r->tmp);
    if (r->use_clock)
        fl_mkdir_p(r->clock_dir);
    bool foreign = r->sc.implementation.impl == HARNESS_IMPL_PROCESS ||
                   r->sc.implementation.impl == HARNESS_IMPL_CLIENT;
    for (unsigned i = 0; i < n; i++) {
        r->cl.addr[i] = r->topo.nodes[i].addr;
        r->cl.passive[i] = i >= r->sc.nodes.count;
        snprintf(r->data_dirs[i], sizeof r->data_dirs[i], "%s/n%u", r->tmp, i + 1);
        r->cl.data_dir[i] = r->data_dirs[i];
        snprintf(r->logs[i], sizeof r->logs[i], "%s/n%u.log", nodes_dir, i + 1);
        snprintf(r->conf_dirs[i], sizeof r->conf_dirs[i], "%s/n%u.conf", r->tmp, i + 1);
        r->cl.conf_dir[i] = r->conf_dirs[i];
        r->log_ptrs[i] = r->logs[i];
        r->ns_ptrs[i] = r->topo.nodes[i].ns;
        /* PROCESS_PROTOCOL.md promises `{data}` exists (the reference node and etcd make
         * their own), and the rendered files in `{conf}`; the disk-fault filesystem mounts
         * over the data directory. */
        int mrc = (foreign || r->use_disk) && rv == 0 ? fl_mkdir_p(r->data_dirs[i]) : 0;
        if (mrc != 0)
            rv = fl_errorf(err, mrc, "cannot create %s: %s", r->data_dirs[i], strerror(-mrc));
    }
    /* A node's files may name any node's address ({addr:nK}): rendered once every
     * address is known (rendering inside the loop above met NULL for later nodes). */
    for (unsigned i = 0; i < n && foreign && r->hosts == NULL && rv == 0; i++)
        rv = harness_nodelife_files(&r->cl, i, NULL, err);
    /* On hosts, uploaded files are named by the hosts' copies; the files are rendered with the
     * hosts' paths and written there once the hosts are open (harness_hosts_foreign_setup). */
    if (foreign && r->hosts != NULL && rv == 0) {
        if ((r->host_opts = harness_hosts_foreign_options(r->cl.options)) == NULL)
            rv = fl_errorf(err, FL_ENOMEM, "out of memory");
        else
            r->cl.options = r->host_opts;
    }
    if (foreign && rv == 0) {
        snprintf(r->clients_dir, sizeof r->clients_dir, "%s/clients", r->dir);
        r->cl.log_dir = r->clients_dir;
        r->cl.programs = &r->programs;
        if (r->sc.implementation.impl == HARNESS_IMPL_CLIENT && (rv = fl_mkdir_p(r->clients_dir)))
            rv = fl_errorf(err, rv, "cannot create %s: %s", r->clients_dir, strerror(-rv));
        else if ((rv = harness_nodelife_init(&r->life, &r->cl, r->log_ptrs, r->ns_ptrs,
                                             r->topo.run, err)) == 0)
            r->life_ok = true;
        r->life.hosts = r->hosts;
        /* On hosts, events are read from each node's log streamed from its host. */
        for (unsigned i = 0; i < n && r->hosts != NULL && r->life.n_events > 0; i++) {
            snprintf(r->follows[i], sizeof r->follows[i], "%s/n%u.follow", r->tmp, i + 1);
            r->follow_ptrs[i] = r->follows[i];
            r->life.tails = r->follow_ptrs;
        }
    }
    if (r->hosts != NULL)
        harness_hosts_paths(r->hosts, &r->sc, &r->cl);
    for (unsigned i = 0; i < n && rv == 0; i++) {
        r->argv_buf[i] = malloc(8192);
        if (r->argv_buf[i] == NULL)
            rv = fl_errorf(err, FL_ENOMEM, "out of memory");
        else
            rv = r->adapter->node_argv(&r->cl, i, r->argv[i], WORKLOAD_ARGV_MAX, r->argv_buf[i],
                                       8192, err);
        if (rv == 0 && r->use_clock) {
            if (r->hosts != NULL)
                harness_hosts_clock_env(i, r->env[i]);
            else
                rv = nemesis_clock_env(i, r->clock_dir, r->env[i], err);
            for (int k = 0; k < NEMESIS_CLOCK_ENV_N; k++)
                r->envp[i][k] = r->env[i][k];
            r->envp[i][NEMESIS_CLOCK_ENV_N] = NULL;
        }
    }
    if (rv != 0) {
        fl_errorf(errmsg, rv, "%s", err);
        rv = -1;
        goto out;
    }
    fprintf(stderr, "faultline run: scenario %s, seed %" PRIu64 ", run %s, results in %s\n",
            r->sc.name, r->sc.nemesis.seed, run_id, r->dir);
    if (r->hosts != NULL) {
        bool net = false;
        for (int k = HARNESS_FAULT_ISOLATE_ONE; k <= HARNESS_FAULT_RANDOM_PARTITION; k++)
            net |= r->sc.nemesis.weights[k] > 0;
        bool delay = r->sc.nemesis.weights[HARNESS_FAULT_DELAY] > 0 ||
                     r->sc.nemesis.weights[HARNESS_FAULT_REORDER] > 0 ||
                     r->sc.nemesis.explicit_schedule;
        net |= r->sc.nemesis.weights[HARNESS_FAULT_LOSS] > 0 ||
               r->sc.nemesis.weights[HARNESS_FAULT_DUPLICATE] > 0 || delay;
        bool self = r->use_disk || r->sc.nemesis.weights[HARNESS_FAULT_CORRUPT_TAIL] > 0;
        if ((rv = harness_hosts_open(r->hosts, net,
                                     r->cl.node_bin == r->hosts->node_bin ? r->node_bin : NULL,
                                     r->secret, r->use_clock, self ? r->self_exe : NULL,
                                     err)) != 0 ||
            (delay && (rv = harness_hosts_upload_delayer(r->hosts, err)) != 0) ||
            (foreign && (rv = harness_hosts_foreign_setup(r->hosts, &r->cl, err)) != 0) ||
            (r->life.tails != NULL &&
             (rv = harness_hosts_follow_logs(r->hosts, r->follow_ptrs, err)) != 0)) {
            fl_errorf(errmsg, rv, "hosts: %s", err);
            harness_hosts_register_masters(r->hosts);
            rv = -1;
            goto out;
        }
        harness_hosts_register_masters(r->hosts);
    } else if ((rv = nemesis_topology_up(&r->topo, err)) != 0) {
        fl_errorf(errmsg, rv, "topology: %s", err);
        rv = -1;
        goto out;
    }
    /* SIGINT and SIGTERM reach the run thread's loop (uv_signal handlers are
     * process-wide): it heals, stops the nodes and comes back here. */
    set_nodes(r);
    pthread_mutex_init(&r->job.mu, NULL);
    pthread_cond_init(&r->job.cv, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, run_thread, r) != 0) {
        pthread_mutex_destroy(&r->job.mu);
        pthread_cond_destroy(&r->job.cv);
        nemesis_topology_down(&r->topo);
        rv = fl_errorf(errmsg, -EAGAIN, "cannot start the run thread");
        goto out;
    }
    pthread_join(th, NULL);
    pthread_mutex_destroy(&r->job.mu);
    pthread_cond_destroy(&r->job.cv);
    if (r->hosts != NULL) {
        if (harness_hosts_finish(r->hosts, r->log_ptrs, err) != 0)
            fprintf(stderr, "faultline run: warning: hosts: %s; run `faultline clean --hosts %s`\n",
                    err, r->sc.hosts);
    } else if (nemesis_topology_down(&r->topo) != 0)
        fprintf(stderr, "faultline run: warning: clean-up incomplete; run `faultline clean`\n");
    /* Data dirs are removed with the namespaces (registry); make sure. */
    {
        const char *rm[] = {"rm", "-rf", r->tmp, NULL};
        nemesis_netns_exec(NULL, rm, err);
    }
    res->aborted = r->aborted;
    res->ok = r->hist.ok;
    res->fail = r->hist.fail;
    res->info = r->hist.info;
    res->faults = r->faults_applied;
    res->cpu_ok = r->cpu_ok;
    res->window_s = r->cpu_window_s;
    res->node_cpu_s = r->cpu_node;
    res->harness_cpu_s = r->cpu_self;
    res->window_ok = r->cpu_ok_ops;
    if (r->rc != 0) {
        rv = fl_errorf(errmsg, -1, "%s", r->err);
        goto out;
    }
    {
        /* Check, write results.json and report.html. */
        char hist[PATH_SZ + 32], json[PATH_SZ + 32], html[PATH_SZ + 32];
        snprintf(hist, sizeof hist, "%s/history.jsonl", r->dir);
        snprintf(json, sizeof json, "%s/results.json", r->dir);
        snprintf(html, sizeof html, "%s/report.html", r->dir);
        struct harness_report_request rq = {.history = hist,
                                            .scenario = &r->sc,
                                            .json_out = json,
                                            .html_out = html,
                                            .timeout_s = 300,
                                            /* only when invalid; the page says when it
                                             * hit the bound */
                                            .minimize = true,
                                            .minimize_s = MINIMIZE_S};
        enum checker_verdict verdict;
        /* Sequential reads checked as linearizable (etcd, process, client: their sessions
         * promise nothing we know of) are said so, with how to check what they promise. */
        bool seq_as_lin = r->sc.workload.read_consistency == HARNESS_READ_SEQUENTIAL &&
                          !harness_scenario_checks_sequential(&r->sc) &&
                          (r->sc.workload.model == HARNESS_MODEL_REGISTER ||
                           r->sc.workload.model == HARNESS_MODEL_KV);
        fprintf(stderr, "faultline run: checking %s%s%s\n", hist,
                harness_scenario_checks_sequential(&r->sc)
                    ? " for sequential consistency (the scenario's reads are sequential)"
                    : "",
                seq_as_lin ? " for linearizability, although the reads are sequential (`faultline "
                             "check --consistency sequential HISTORY` checks what they promise)"
                           : "");
        if (harness_report_generate(&rq, &verdict, err) != 0) {
            rv = fl_errorf(errmsg, -1, "%s", err);
            goto out;
        }
        res->verdict = verdict;
        const char *exp = harness_expect_name(r->sc.expected);
        printf("%s: %s (seed %" PRIu64 ", %" PRIu64 " ok, %" PRIu64 " fail, %" PRIu64
               " info, %u faults)%s%s%s\n",
               r->sc.name, checker_verdict_name(verdict), r->sc.nemesis.seed, r->hist.ok,
               r->hist.fail, r->hist.info, r->faults_applied, exp ? "; expected " : "",
               exp ? exp : "",
               exp ? (strcmp(exp, checker_verdict_name(verdict)) == 0 ? " (as expected)"
                                                                      : " (NOT as expected)")
                   : "");
        if (r->sc.implementation.impl == HARNESS_IMPL_CLIENT && r->hist.named > 0) {
            /* A node that never served an ok operation is not tested by this run (a
             * Galera node that never joined left a "valid" run of one node). */
            char none[128] = "";
            size_t len = 0;
            printf("ok operations per node (as the client program named them):");
            for (unsigned i = 0; i < r->cl.n && i < WORKLOAD_MAX_NODES; i++) {
                printf("%s n%u %" PRIu64, i ? "," : "", i + 1, r->hist.ok_node[i]);
                if (r->hist.ok_node[i] == 0 && len + 8 < sizeof none)
                    len += (size_t)snprintf(none + len, sizeof none - len, "%sn%u",
                                            len ? ", " : "", i + 1);
            }
            printf("%s%s%s\n", len ? "; none on " : "", none,
                   len ? ": this run tested the others only" : "");
        }
        printf("report: %s\n", html);
        fflush(stdout);
        harness_index_refresh(r->dir);
        rv = 0;
    }
out:
    if (r->hosts != NULL) {
        if (harness_hosts_finish(r->hosts, NULL, err) != 0)
            fprintf(stderr, "faultline run: warning: hosts: %s\n", err);
    }
    nemesis_topology_down(&r->topo); /* already down on every path; idempotent */
    if (r->tmp[0] != '\0') {
        const char *rm[] = {"rm", "-rf", r->tmp, NULL};
        nemesis_netns_exec(NULL, rm, err);
    }
    free(r->hosts);
    if (r->recorded)
        nemesis_registry_remove(NULL, r->topo.run); /* last: what it names is gone now */
    if (r->life_ok)
        harness_nodelife_free(&r->life);
    json_decref(r->host_opts);
    for (unsigned i = 0; i < MAXN; i++)
        free(r->argv_buf[i]);
    nemesis_plan_clear(&r->plan);
    json_decref(r->sc_json);
    free(r);
    for (int k = 0; k < 3; k++)
        sigaction(stop_signals[k], &old[k], NULL);
    if (early_signal != 0)
        raise(early_signal); /* not honoured by a run: as if it came now */
    return rv;
}
