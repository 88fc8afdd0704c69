/* process.c - node processes started by the harness inside a namespace. */
#include "nemesis/process.h"

#include "common/alloc.h"
#include "common/error.h"
#include "nemesis/internal.h"
#include "nemesis/netns.h"
#include "nemesis/registry.h"
#include "nemesis/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { STAGE_SETNS = 1, STAGE_PGID, STAGE_DUP, STAGE_CHDIR, STAGE_PDEATH, STAGE_EXEC };

static const char *stage_name(int st)
{
    static const char *const names[] = {"start", "setns", "setpgid", "dup2",
                                        "chdir", "prctl", "exec"};
    return st >= 1 && st <= STAGE_EXEC ? names[st] : names[0];
}

/* environ plus extra (extra wins for the same name); a new array of borrowed strings. */
static char **merge_env(const char *const *extra)
{
    size_t ne = 0, nx = 0;
    while (environ && environ[ne])
        ne++;
    while (extra && extra[nx])
        nx++;
    char **env = fl_calloc(ne + nx + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < ne; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nlen = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        bool overridden = false;
        for (size_t j = 0; j < nx && !overridden; j++)
            overridden = strncmp(extra[j], environ[i], nlen) == 0 && extra[j][nlen] == '=';
        if (!overridden)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < nx; j++)
        env[k++] = (char *)extra[j];
    env[k] = NULL;
    return env;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

int nemesis_process_start(struct nemesis_process *p, const struct nemesis_process_opts *o,
                          char *errmsg)
{
    char exe[PATH_MAX];
    int nsfd = -1, logfd = -1, nullfd = -1, pfail[2] = {-1, -1}, rc;
    char **env = NULL;

    memset(p, 0, sizeof *p);
    if (!o || !o->argv || !o->argv[0])
        return fl_errorf(errmsg, FL_EUSAGE, "process: empty command");
    if (o->remote != NULL) {
        const char *slash = o->log_path ? strrchr(o->log_path, '/') : NULL;
        rc = nemesis_remote_start(o->remote, o->host, o->argv, o->env,
                                  slash ? slash + 1 : o->log_path ? o->log_path : "node.log",
                                  &p->pid, errmsg);
        if (rc != 0) {
            p->pid = 0;
            return rc;
        }
        p->remote = o->remote;
        p->host = o->host;
        return 0;
    }
    for (size_t j = 0; o->env && o->env[j]; j++)
        if (!strchr(o->env[j], '=') || o->env[j][0] == '=')
            return fl_errorf(errmsg, FL_EUSAGE,
                             "process %.64s: environment entry \"%.64s\" is not NAME=value",
                             o->argv[0], o->env[j]);
    if (o->ns && strlen(o->ns) >= sizeof p->ns)
        return fl_errorf(errmsg, -EINVAL, "process: namespace name too long");
    rc = nemesis__resolve_exec(o->argv[0], exe, sizeof exe);
    if (rc < 0)
        return fl_errorf(errmsg, rc, "process: exec %.64s: %s", o->argv[0],
                         rc == -ENOENT ? "command not found" : fl_strerror(rc));
    if (o->ns) {
        nsfd = nemesis_netns_open(o->ns, errmsg);
        if (nsfd < 0)
            return fl_error_wrap(errmsg, nsfd, "process %.64s", o->argv[0]);
    }
    const char *log = o->log_path ? o->log_path : "/dev/null";
    logfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (logfd < 0) {
        rc = fl_errorf(errmsg, -errno, "process %.64s: log %s: %s", o->argv[0], log,
                       strerror(errno));
        goto err;
    }
    nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (nullfd < 0 || pipe2(pfail, O_CLOEXEC) < 0) {
        rc = fl_errorf(errmsg, -errno, "process %.64s: %s", o->argv[0], strerror(errno));
        goto err;
    }
    env = merge_env(o->env);
    if (!env) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "process %.64s: out of memory", o->argv[0]);
        goto err;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rc = fl_errorf(errmsg, -errno, "process %.64s: fork: %s", o->argv[0], strerror(errno));
        goto err;
    }
    if (pid == 0) {
        /* Child: async-signal-safe calls only. */
        nemesis__child_reset_signals();
        if (setpgid(0, 0) < 0)
            nemesis__child_fail(pfail[1], STAGE_PGID, errno);
        if (o->die_with_parent) {
            if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                nemesis__child_fail(pfail[1], STAGE_PDEATH, errno);
            if (getppid() != parent)
                _exit(127);
        }
        if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
            nemesis__child_fail(pfail[1], STAGE_SETNS, errno);
        if (o->cwd && chdir(o->cwd) < 0)
            nemesis__child_fail(pfail[1], STAGE_CHDIR, errno);
        if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
            nemesis__child_fail(pfail[1], STAGE_DUP, errno);
        execve(exe, (char *const *)o->argv, env);
        nemesis__child_fail(pfail[1], STAGE_EXEC, errno);
    }
    /* Both sides set the group, so signals to it work whichever runs first. */
    setpgid(pid, pid);
    close_fd(&pfail[1]);
    fl_free(env);
    env = NULL;
    int fail[2] = {0, 0};
    ssize_t got;
    do
        got = read(pfail[0], fail, sizeof fail);
    while (got < 0 && errno == EINTR);
    close_fd(&pfail[0]);
    close_fd(&nsfd);
    close_fd(&logfd);
    close_fd(&nullfd);
    if (got != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        int err = got == (ssize_t)sizeof fail ? fail[1] : EIO;
        const char *what = got == (ssize_t)sizeof fail ? stage_name(fail[0]) : "start";
        if (got == (ssize_t)sizeof fail && fail[0] == STAGE_CHDIR)
            return fl_errorf(errmsg, -err, "process %.64s: chdir %.100s: %s", o->argv[0], o->cwd,
                             strerror(err));
        if (got == (ssize_t)sizeof fail && fail[0] == STAGE_SETNS)
            return fl_errorf(errmsg, -err, "process %.64s: setns %s: %s", o->argv[0], o->ns,
                             strerror(err));
        return fl_errorf(errmsg, -err, "process: %s %.64s: %s", what, exe, strerror(err));
    }
    p->pid = pid;
    if (o->ns)
        snprintf(p->ns, sizeof p->ns, "%s", o->ns);
    p->whole_namespace = o->whole_namespace && o->ns;
    nemesis__proc_stat(pid, &p->start, NULL);
    if (o->registry_run) {
        rc = nemesis_registry_add_process(NULL, o->registry_run, pid, errmsg);
        if (rc < 0) {
            fl_error_wrap(errmsg, rc, "process %.64s", o->argv[0]);
            nemesis_process_stop(p, 0, NULL);
            memset(p, 0, sizeof *p);
            return rc;
        }
    }
    return 0;

err:
    close_fd(&nsfd);
    close_fd(&logfd);
    close_fd(&nullfd);
    close_fd(&pfail[0]);
    close_fd(&pfail[1]);
    fl_free(env);
    return rc;
}

int nemesis_process_signal(struct nemesis_process *p, int sig)
{
    if (p->pid <= 0)
        return -ESRCH;
    if (p->remote != NULL) {
        char err[FL_ERRMSG_SIZE];
        return p->exited ? -ESRCH : nemesis_remote_signal(p->remote, p->host, p->pid, sig, err);
    }
    int rv = 0;
    if (kill(-p->pid, sig) != 0) {
        rv = -errno;
        if (errno == ESRCH && !p->exited && kill(p->pid, sig) == 0)
            rv = 0; /* the leader left its group (setpgid by the node itself) */
    }
    /* Whatever left the group by setsid is still the node. */
    if (p->whole_namespace && p->ns[0] && nemesis_netns_signal(p->ns, sig) > 0)
        rv = 0;
    return rv;
}

void nemesis_process_exit_info(const struct nemesis_process *p, struct nemesis_exit *ex)
{
    ex->exited = p->exited;
    ex->code = p->exited && WIFEXITED(p->status) ? WEXITSTATUS(p->status) : -1;
    ex->signal = p->exited && WIFSIGNALED(p->status) ? WTERMSIG(p->status) : 0;
}

int nemesis_process_reap(struct nemesis_process *p, struct nemesis_exit *ex)
{
    if (p->pid <= 0)
        return -ESRCH;
    if (p->remote != NULL && !p->exited) {
        /* The host's init reaps it: no status, only that it is gone. */
        char err[FL_ERRMSG_SIZE];
        int rv = nemesis_remote_gone(p->remote, p->host, p->pid, err);
        if (rv < 0)
            return rv;
        p->exited = rv == 1;
        p->status = 0x7f00; /* WIFEXITED, code 127: "unknown" */
        if (ex)
            nemesis_process_exit_info(p, ex);
        return p->exited ? 1 : 0;
    }
    if (!p->exited) {
        int status;
        pid_t r;
        do
            r = waitpid(p->pid, &status, WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r < 0)
            return -errno;
        if (r == 0) {
            if (ex)
                nemesis_process_exit_info(p, ex);
            return 0;
        }
        p->exited = true;
        p->status = status;
    }
    if (ex)
        nemesis_process_exit_info(p, ex);
    return 1;
}

int nemesis_process_stop(struct nemesis_process *p, unsigned grace_ms, struct nemesis_exit *ex)
{
    if (p->pid <= 0)
        return -ESRCH;
    if (p->remote != NULL) {
        char err[FL_ERRMSG_SIZE];
        int rv = p->exited ? 0 : nemesis_remote_stop(p->remote, p->host, p->pid, grace_ms, err);
        p->exited = true;
        p->status = 0x7f00;
        if (ex)
            nemesis_process_exit_info(p, ex);
        return rv;
    }
    if (!p->exited) {
        nemesis_process_signal(p, SIGTERM);
        nemesis_process_signal(p, SIGCONT);
        unsigned waited = 0;
        for (;;) {
            int rc = nemesis_process_reap(p, NULL);
            if (rc != 0)
                break;
            if (waited >= grace_ms)
                break;
            unsigned step = grace_ms - waited < 5 ? grace_ms - waited : 5;
            nemesis__sleep_ms(step);
            waited += step;
        }
    }
    /* Whatever is left of the group (or the node's namespace) goes, then the leader is
     * reaped for sure. */
    nemesis_process_signal(p, SIGKILL);
    if (!p->exited) {
        kill(p->pid, SIGKILL);
        int status;
        pid_t r;
        do
            r = waitpid(p->pid, &status, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0)
            return -errno;
        p->exited = true;
        p->status = status;
    }
    if (ex)
        nemesis_process_exit_info(p, ex);
    return 0;
}
