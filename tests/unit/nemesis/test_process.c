/* test_process.c - nemesis processes: started in a node namespace, signalled as a group, reaped,
 * stopped. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "nemesis/netns.h"
#include "nemesis/process.h"
#include "nemesis/topology.h"

static struct nemesis_topology topo;
static struct nemesis_process procs[2];
static char logpath[64];

static void init(void)
{
    char run[8], em[FL_ERRMSG_SIZE] = "";
    nemesis_run_id_new(run);
    cr_assert_eq(nemesis_topology_plan(&topo, run, NULL, 1, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&topo, em), 0, "%s", em);
    snprintf(logpath, sizeof logpath, "/tmp/fltest-proc-%s.log", run);
}

/* Runs after failures too: no process, namespace or log outlives the test. */
static void fini(void)
{
    for (int i = 0; i < 2; i++)
        if (procs[i].pid > 0)
            nemesis_process_stop(&procs[i], 0, NULL);
    nemesis_topology_down(&topo);
    if (logpath[0])
        unlink(logpath);
}

TestSuite(nemesis_process, .init = init, .fini = fini);

static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return '?';
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : '?';
}

/* Polls until pid's state is one of `states` (bounded: 10 s, not a timing assertion). */
static bool wait_state(pid_t pid, const char *states)
{
    for (int i = 0; i < 2000; i++) {
        if (strchr(states, proc_state(pid)))
            return true;
        usleep(5000);
    }
    return false;
}

/* Whether any process of group pgid is alive (zombies awaiting their reaper do not count). */
static bool group_has_live_member(pid_t pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    bool live = false;
    while (d && (e = readdir(d)) != NULL && !live) {
        char path[300], buf[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        char state;
        int ppid, pgrp;
        if (p && sscanf(p + 2, "%c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
            state != 'Z' && state != 'X')
            live = true;
    }
    if (d)
        closedir(d);
    return live;
}

static bool log_contains(const char *needle)
{
    for (int i = 0; i < 2000; i++) {
        char buf[4096] = "";
        FILE *f = fopen(logpath, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            buf[n] = '\0';
            fclose(f);
        }
        if (strstr(buf, needle))
            return true;
        usleep(5000);
    }
    return false;
}

static void start(struct nemesis_process *p, const char *const *argv, const char *const *env)
{
    char em[FL_ERRMSG_SIZE] = "";
    struct nemesis_process_opts o = {
        .ns = topo.nodes[0].ns, .argv = argv, .env = env, .log_path = logpath};
    cr_assert_eq(nemesis_process_start(p, &o, em), 0, "%s", em);
    cr_assert_gt(p->pid, 0);
}

Test(nemesis_process, a_started_process_runs_inside_the_node_namespace_in_its_own_group)
{
    const char *argv[] = {"sleep", "30", NULL};
    start(&procs[0], argv, NULL);
    char out[4096], em[FL_ERRMSG_SIZE], want[32];
    const char *pids[] = {"ip", "netns", "pids", topo.nodes[0].ns, NULL};
    cr_assert_eq(nemesis_netns_run(NULL, pids, NULL, 0, out, sizeof out, NULL, NULL, em), 0, "%s",
                 em);
    snprintf(want, sizeof want, "%d\n", (int)procs[0].pid);
    cr_assert(strstr(out, want), "pid %d not in `ip netns pids`: %s", (int)procs[0].pid, out);
    cr_assert_eq(getpgid(procs[0].pid), procs[0].pid, "leads its own process group");
    cr_assert_eq(nemesis_process_reap(&procs[0], NULL), 0, "still running");
    struct nemesis_exit ex;
    cr_assert_eq(nemesis_process_stop(&procs[0], 2000, &ex), 0);
    cr_assert(ex.exited);
    cr_assert_eq(ex.signal, SIGTERM, "a cooperative process ends on SIGTERM");
}

Test(nemesis_process, sigstop_and_sigcont_pause_and_resume_it)
{
    const char *argv[] = {"sleep", "30", NULL};
    start(&procs[0], argv, NULL);
    cr_assert_eq(nemesis_process_signal(&procs[0], SIGSTOP), 0);
    cr_assert(wait_state(procs[0].pid, "T"), "stopped: state %c", proc_state(procs[0].pid));
    cr_assert_eq(nemesis_process_reap(&procs[0], NULL), 0, "a stopped process is not exited");
    cr_assert_eq(nemesis_process_signal(&procs[0], SIGCONT), 0);
    cr_assert(wait_state(procs[0].pid, "SR"), "resumed: state %c", proc_state(procs[0].pid));
}

Test(nemesis_process, kill_then_reap_reports_the_signal)
{
    const char *argv[] = {"sleep", "30", NULL};
    start(&procs[0], argv, NULL);
    cr_assert_eq(nemesis_process_signal(&procs[0], SIGKILL), 0);
    struct nemesis_exit ex = {0};
    int rc = 0;
    for (int i = 0; i < 2000 && (rc = nemesis_process_reap(&procs[0], &ex)) == 0; i++)
        usleep(5000);
    cr_assert_eq(rc, 1);
    cr_assert(ex.exited);
    cr_assert_eq(ex.signal, SIGKILL);
    cr_assert_eq(ex.code, -1);
    cr_assert_eq(nemesis_process_reap(&procs[0], &ex), 1, "reaping again repeats the result");
    cr_assert_eq(ex.signal, SIGKILL);
    cr_assert_eq(nemesis_process_signal(&procs[0], SIGKILL), -ESRCH, "nothing left to signal");
}

Test(nemesis_process, stop_escalates_to_sigkill_when_sigterm_is_ignored)
{
    const char *argv[] = {"sh", "-c", "trap '' TERM; echo ready; sleep 30", NULL};
    start(&procs[0], argv, NULL);
    cr_assert(log_contains("ready"), "the trap is set before we signal");
    struct nemesis_exit ex;
    cr_assert_eq(nemesis_process_stop(&procs[0], 100, &ex), 0);
    cr_assert(ex.exited);
    cr_assert_eq(ex.signal, SIGKILL);
    /* The group went with it: the shell's sleep child is gone too. */
    bool live = true;
    for (int i = 0; i < 2000 && (live = group_has_live_member(procs[0].pid)); i++)
        usleep(5000); /* SIGKILL is delivered asynchronously */
    cr_assert_not(live);
    cr_assert_eq(nemesis_process_stop(&procs[0], 100, &ex), 0, "stop twice is fine");
}

Test(nemesis_process, stop_ends_a_paused_process)
{
    const char *argv[] = {"sleep", "30", NULL};
    start(&procs[0], argv, NULL);
    cr_assert_eq(nemesis_process_signal(&procs[0], SIGSTOP), 0);
    cr_assert(wait_state(procs[0].pid, "T"));
    struct nemesis_exit ex;
    cr_assert_eq(nemesis_process_stop(&procs[0], 2000, &ex), 0);
    cr_assert(ex.exited);
    cr_assert_eq(ex.signal, SIGTERM, "SIGCONT follows SIGTERM, so the paused node acts on it");
}

Test(nemesis_process, the_log_file_receives_stdout_stderr_and_the_extra_environment)
{
    const char *argv[] = {"sh", "-c",
                          "echo to-out; echo to-err >&2; echo \"v=$FL_TEST_VAR\"; exit 7", NULL};
    const char *env[] = {"FL_TEST_VAR=hello", "PATH=/usr/bin:/bin", NULL};
    start(&procs[0], argv, env);
    struct nemesis_exit ex = {0};
    int rc = 0;
    for (int i = 0; i < 2000 && (rc = nemesis_process_reap(&procs[0], &ex)) == 0; i++)
        usleep(5000);
    cr_assert_eq(rc, 1);
    cr_assert_eq(ex.code, 7);
    cr_assert_eq(ex.signal, 0);
    cr_assert(log_contains("to-out\n"));
    cr_assert(log_contains("to-err\n"));
    cr_assert(log_contains("v=hello\n"));
}

Test(nemesis_process, start_reports_a_missing_command_or_namespace_and_leaves_nothing)
{
    char em[FL_ERRMSG_SIZE] = "";
    const char *missing[] = {"/nonexistent/faultline-node", NULL};
    struct nemesis_process_opts o = {.ns = topo.nodes[0].ns, .argv = missing};
    cr_assert_eq(nemesis_process_start(&procs[0], &o, em), -ENOENT);
    cr_assert(strstr(em, "/nonexistent/faultline-node"), "%s", em);
    cr_assert_eq(procs[0].pid, 0);

    const char *argv[] = {"sleep", "1", NULL};
    struct nemesis_process_opts o2 = {.ns = "fl-000000-nope", .argv = argv};
    cr_assert_eq(nemesis_process_start(&procs[0], &o2, em), -ENOENT);
    cr_assert(strstr(em, "fl-000000-nope"), "%s", em);

    struct nemesis_process_opts o3 = {.ns = "../../etc/passwd", .argv = argv};
    cr_assert_eq(nemesis_process_start(&procs[0], &o3, em), -EINVAL);

    const char *bad_env[] = {"NOEQUALS", NULL};
    struct nemesis_process_opts o4 = {.argv = argv, .env = bad_env};
    cr_assert_eq(nemesis_process_start(&procs[0], &o4, em), FL_EUSAGE);
    cr_assert(strstr(em, "NOEQUALS"), "%s", em);

    struct nemesis_process_opts o5 = {.argv = argv, .cwd = "/nonexistent-dir"};
    cr_assert_eq(nemesis_process_start(&procs[0], &o5, em), -ENOENT);
    cr_assert(strstr(em, "chdir"), "%s", em);
}

/* ==== netns_enter / netns_exec ==== */

struct enter_arg {
    const char *ns;
    int rc;
    ino_t ino;
    char em[FL_ERRMSG_SIZE];
};

static void *enter_thread(void *p)
{
    struct enter_arg *a = p;
    a->rc = nemesis_netns_enter(a->ns, a->em);
    struct stat st;
    if (stat("/proc/thread-self/ns/net", &st) == 0)
        a->ino = st.st_ino;
    return NULL;
}

Test(nemesis_process, netns_enter_moves_only_the_calling_thread)
{
    struct stat before, after, want;
    cr_assert_eq(stat("/proc/thread-self/ns/net", &before), 0);
    char path[128];
    snprintf(path, sizeof path, "/run/netns/%s", topo.hub_ns);
    cr_assert_eq(stat(path, &want), 0);
    struct enter_arg a = {.ns = topo.hub_ns};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, enter_thread, &a), 0);
    pthread_join(th, NULL);
    cr_assert_eq(a.rc, 0, "%s", a.em);
    cr_assert_eq(a.ino, want.st_ino, "the thread is in the hub");
    cr_assert_eq(stat("/proc/thread-self/ns/net", &after), 0);
    cr_assert_eq(after.st_ino, before.st_ino, "the calling test thread did not move");
    cr_assert_neq(before.st_ino, want.st_ino);

    char em[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(nemesis_netns_enter("fl-000000-nope", em), -ENOENT);
    cr_assert(strstr(em, "fl-000000-nope"), "%s", em);
}

Test(nemesis_process, netns_exec_returns_the_exit_status_and_runs_inside)
{
    char em[FL_ERRMSG_SIZE] = "";
    const char *exit3[] = {"sh", "-c", "echo oops >&2; exit 3", NULL};
    cr_assert_eq(nemesis_netns_exec(topo.nodes[0].ns, exit3, em), 3);
    cr_assert(strstr(em, "oops"), "stderr in the message: %s", em);
    const char *none[] = {"no-such-command-xyz", NULL};
    cr_assert_eq(nemesis_netns_exec(topo.nodes[0].ns, none, em), -ENOENT);
    /* Inside the node, eth0 carries the node's address. */
    char out[4096], want[32];
    const char *show[] = {"ip", "-4", "-o", "addr", "show", "dev", "eth0", NULL};
    cr_assert_eq(
        nemesis_netns_run(topo.nodes[0].ns, show, NULL, 0, out, sizeof out, NULL, NULL, em), 0,
        "%s", em);
    snprintf(want, sizeof want, "inet %s/24", topo.nodes[0].addr);
    cr_assert(strstr(out, want), "%s", out);
    /* stdin is fed, output beyond the buffer is dropped and flagged. */
    const char *cat[] = {"cat", NULL};
    size_t len = 0;
    int trunc = 0;
    char small[8];
    cr_assert_eq(
        nemesis_netns_run(NULL, cat, "0123456789abcdef", 16, small, sizeof small, &len, &trunc, em),
        0, "%s", em);
    cr_assert_str_eq(small, "0123456");
    cr_assert_eq(len, 7);
    cr_assert(trunc);
}

/* A node whose daemon leaves the group by setsid (PostgreSQL's backends do): the daemon's
 * pid, once it has written it. */
static pid_t start_with_daemon(struct nemesis_process *p, bool whole_namespace, char *pidfile,
                               size_t len)
{
    snprintf(pidfile, len, "%s.daemon", logpath);
    char script[512];
    snprintf(script, sizeof script,
             "setsid sh -c 'echo $$ > %s.tmp && mv %s.tmp %s; exec sleep 30' & sleep 30", pidfile,
             pidfile, pidfile);
    const char *argv[] = {"sh", "-c", script, NULL};
    char em[FL_ERRMSG_SIZE] = "";
    struct nemesis_process_opts o = {.ns = topo.nodes[0].ns, .argv = argv, .log_path = logpath,
                                     .whole_namespace = whole_namespace};
    cr_assert_eq(nemesis_process_start(p, &o, em), 0, "%s", em);
    long pid = 0;
    for (int i = 0; i < 2000 && pid <= 0; i++) {
        FILE *f = fopen(pidfile, "r");
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid <= 0)
            usleep(5000);
    }
    cr_assert_gt(pid, 0, "the daemon started");
    cr_assert_neq(getpgid((pid_t)pid), p->pid, "the daemon left the node's group");
    return (pid_t)pid;
}

static bool gone(pid_t pid)
{
    for (int i = 0; i < 2000; i++) {
        char st = proc_state(pid);
        if (st == '?' || st == 'Z')
            return true;
        usleep(5000);
    }
    return false;
}

Test(nemesis_process, a_node_pause_and_kill_reach_a_daemon_that_left_its_group)
{
    char pidfile[128];
    pid_t daemon = start_with_daemon(&procs[0], true, pidfile, sizeof pidfile);
    cr_assert_eq(nemesis_process_signal(&procs[0], SIGSTOP), 0);
    cr_assert(wait_state(daemon, "T"), "the daemon is paused with the node: %c",
              proc_state(daemon));
    cr_assert_eq(nemesis_process_signal(&procs[0], SIGCONT), 0);
    cr_assert(wait_state(daemon, "SR"), "and resumed with it");
    cr_assert_eq(nemesis_process_signal(&procs[0], SIGKILL), 0);
    cr_assert(gone(daemon), "the daemon dies with the node (a kill is a power loss)");
    unlink(pidfile);
}

/* Without whole_namespace (a hook, not a node) the group alone is signalled: the daemon
 * outlives it. This is what a node kill used to do, and why it missed such daemons. */
Test(nemesis_process, a_group_signal_alone_misses_the_daemon)
{
    char pidfile[128];
    pid_t daemon = start_with_daemon(&procs[0], false, pidfile, sizeof pidfile);
    cr_assert_eq(nemesis_process_signal(&procs[0], SIGKILL), 0);
    usleep(100000);
    cr_assert_not(strchr("?Z", proc_state(daemon)), "the daemon is still there");
    kill(daemon, SIGKILL);
    cr_assert(gone(daemon));
    unlink(pidfile);
}
