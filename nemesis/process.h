/* process.h - node processes started by the harness inside a namespace.
 *
 * The harness is the parent: it forks, the child enters the node's network
 * namespace, becomes the leader of a new process group, sends stdout and
 * stderr to a log file, adds environment variables (the clock fault's
 * LD_PRELOAD / FAKETIME*), and execs argv (no shell). Signals go to the
 * whole group, so whatever a node forks is paused and killed with it; a node's
 * process (whole_namespace) takes every process of its namespace along. */
#ifndef NEMESIS_PROCESS_H
#define NEMESIS_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "nemesis/topology.h"

struct nemesis_remote;

struct nemesis_process_opts {
    const char *ns;           /* network namespace name; NULL = the caller's */
    const char *const *argv;  /* argv[0]: a path, or a name looked up in PATH */
    const char *const *env;   /* extra "NAME=value" strings, NULL-terminated; may be NULL.
                                 They override inherited variables of the same name. */
    const char *log_path;     /* stdout+stderr, appended (created 0644); NULL = /dev/null */
    const char *cwd;          /* working directory; NULL = the caller's */
    const char *registry_run; /* run id: record the pid in its registry file; NULL = no */
    bool die_with_parent;     /* PR_SET_PDEATHSIG SIGKILL: the node dies when the
                                 starting THREAD exits; set only from a long-lived thread */
    bool whole_namespace;     /* the process is a node: signals also reach every process
                                 of namespace `ns` (a daemon that left the group by setsid,
                                 as PostgreSQL's backends do, is still the node) */
    /* Remote (nemesis/remote.h): when set, the process runs on host `host` of `remote`
     * (borrowed, must outlive the process) over ssh; `ns`, `cwd`, `registry_run` and
     * `die_with_parent` do not apply, log_path names a file in the host's run folder
     * (fetched by the caller), and every call below becomes an ssh command. */
    struct nemesis_remote *remote;
    unsigned host;
};

struct nemesis_process {
    pid_t pid;                /* also the process group id; 0 when not started */
    unsigned long long start; /* /proc/<pid>/stat start time */
    char ns[NEMESIS_NAME_MAX];
    bool exited; /* reaped */
    int status;  /* raw waitpid status once exited */
    bool whole_namespace; /* from the options */
    struct nemesis_remote *remote; /* from the options; pid is then the host's */
    unsigned host;
};

/* How a process ended. */
struct nemesis_exit {
    bool exited; /* false: still running */
    int code;    /* exit code when it exited normally, else -1 */
    int signal;  /* terminating signal, else 0 */
};

/* Starts the process described by o (all strings copied or used before
 * return; borrowed only for the call). Returns once the child has exec'd:
 * 0 with *p filled, or a negative errno with errmsg naming the failed step
 * ("exec ./faultline-node: No such file or directory", "setns fl-..-n1:
 * ..."), in which case no process is left. Must not race with another
 * thread's waitpid(-1). */
int nemesis_process_start(struct nemesis_process *p, const struct nemesis_process_opts *o,
                          char *errmsg);

/* Sends sig to the process group (SIGSTOP, SIGCONT, SIGTERM, SIGKILL...), and with
 * whole_namespace to every other process of its namespace too. Returns 0, -ESRCH
 * when nothing was signalled (reaped, the group empty), or a negative errno. */
int nemesis_process_signal(struct nemesis_process *p, int sig);

/* Non-blocking reap. Returns 1 and fills *ex (may be NULL) when the process
 * has exited (now or before), 0 when it is still running (stopped counts as
 * running), or a negative errno. */
int nemesis_process_reap(struct nemesis_process *p, struct nemesis_exit *ex);

/* Stops the process: SIGTERM to its group (and SIGCONT, so a paused node
 * can act on it), waits up to grace_ms for it to exit, then SIGKILLs the
 * group and reaps. Always leaves the process reaped and its group killed.
 * Returns 0 with *ex (may be NULL), or a negative errno. Idempotent. */
int nemesis_process_stop(struct nemesis_process *p, unsigned grace_ms, struct nemesis_exit *ex);

/* The exit of a reaped process (from p->status); ex->exited false if not reaped. */
void nemesis_process_exit_info(const struct nemesis_process *p, struct nemesis_exit *ex);

#endif
