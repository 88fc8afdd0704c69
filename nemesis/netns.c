/* netns.c - entering named network namespaces and running commands inside them. */
#include "nemesis/netns.h"

#include "common/error.h"
#include "nemesis/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <pthread.h>
#include <unistd.h>

/* ==== Shared helpers (internal.h) ==== */

int nemesis__resolve_exec(const char *name, char *out, size_t size)
{
    if (!name || !name[0])
        return -ENOENT;
    if (strchr(name, '/')) {
        if (strlen(name) >= size)
            return -ENAMETOOLONG;
        strcpy(out, name);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path || !path[0])
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        if (len > 0) {
            int n = snprintf(out, size, "%.*s/%s", (int)len, path, name);
            if (n > 0 && (size_t)n < size && access(out, X_OK) == 0)
                return 0;
        }
        path += len;
        if (*path == ':')
            path++;
    }
    return -ENOENT;
}

void nemesis__child_reset_signals(void)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL);
}

void nemesis__child_fail(int fd, int stage, int err)
{
    int msg[2] = {stage, err};
    if (fd >= 0) {
        ssize_t w = write(fd, msg, sizeof msg);
        (void)w;
    }
    _exit(127);
}

int nemesis__proc_stat(pid_t pid, unsigned long long *start, char *state)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -ESRCH : -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int err = errno;
    close(fd);
    if (n <= 0)
        return n < 0 ? -err : -ESRCH;
    buf[n] = '\0';
    /* The command name may contain spaces and parentheses: fields start after the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -EIO;
    p += 2;
    if (state)
        *state = *p;
    /* p is at field 3 (state); the start time is field 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -EIO;
        p++;
    }
    if (start)
        *start = strtoull(p, NULL, 10);
    return 0;
}

void nemesis__sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* ==== Namespaces ==== */

int nemesis_netns_name_ok(const char *name)
{
    if (!name || !name[0] || strlen(name) > 64 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

int nemesis_netns_open(const char *ns, char *errmsg)
{
    char path[128];
    if (!nemesis_netns_name_ok(ns))
        return fl_errorf(errmsg, -EINVAL, "network namespace name \"%.64s\": not a plain name",
                         ns ? ns : "(null)");
    snprintf(path, sizeof path, "%s/%s", NEMESIS_NETNS_DIR, ns);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return fl_errorf(errmsg, -err, "network namespace %s: %s", ns, strerror(err));
    }
    return fd;
}

int nemesis_netns_enter(const char *ns, char *errmsg)
{
    int fd = nemesis_netns_open(ns, errmsg);
    if (fd < 0)
        return fd;
    int rc = setns(fd, CLONE_NEWNET);
    int err = errno;
    close(fd);
    if (rc < 0)
        return fl_errorf(errmsg, -err, "setns into network namespace %s: %s", ns, strerror(err));
    return 0;
}

/* ==== Running commands ==== */

enum { STAGE_SETNS = 1, STAGE_DUP, STAGE_EXEC };

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* Drives the three pipes until the child closes stdout and stderr. */
static void pump(int in_fd, const char *input, size_t input_len, int out_fd, char *out,
                 size_t out_size, size_t *out_len, int *truncated, int err_fd, char *errbuf,
                 size_t err_size)
{
    size_t in_off = 0, o_len = 0, e_len = 0;
    if (in_fd >= 0 && input_len == 0)
        close_fd(&in_fd);
    while (out_fd >= 0 || err_fd >= 0) {
        struct pollfd p[3];
        int n = 0, i_in = -1, i_out = -1, i_err = -1;
        if (in_fd >= 0) {
            p[n] = (struct pollfd){.fd = in_fd, .events = POLLOUT};
            i_in = n++;
        }
        if (out_fd >= 0) {
            p[n] = (struct pollfd){.fd = out_fd, .events = POLLIN};
            i_out = n++;
        }
        if (err_fd >= 0) {
            p[n] = (struct pollfd){.fd = err_fd, .events = POLLIN};
            i_err = n++;
        }
        if (poll(p, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (i_in >= 0 && p[i_in].revents) {
            ssize_t w = write(in_fd, input + in_off, input_len - in_off);
            if (w < 0 && errno != EINTR && errno != EAGAIN)
                close_fd(&in_fd);
            else if (w > 0 && (in_off += (size_t)w) == input_len)
                close_fd(&in_fd);
        }
        char buf[4096];
        if (i_out >= 0 && p[i_out].revents) {
            ssize_t r = read(out_fd, buf, sizeof buf);
            if (r <= 0 && !(r < 0 && errno == EINTR)) {
                close_fd(&out_fd);
            } else if (r > 0) {
                size_t room = out_size > 0 ? out_size - 1 - o_len : 0;
                size_t take = (size_t)r < room ? (size_t)r : room;
                if (out && take)
                    memcpy(out + o_len, buf, take);
                o_len += take;
                if (take < (size_t)r && truncated)
                    *truncated = 1;
            }
        }
        if (i_err >= 0 && p[i_err].revents) {
            ssize_t r = read(err_fd, buf, sizeof buf);
            if (r <= 0 && !(r < 0 && errno == EINTR)) {
                close_fd(&err_fd);
            } else if (r > 0) {
                size_t room = err_size - 1 - e_len;
                size_t take = (size_t)r < room ? (size_t)r : room;
                memcpy(errbuf + e_len, buf, take);
                e_len += take;
            }
        }
    }
    close_fd(&in_fd);
    if (out && out_size > 0)
        out[o_len] = '\0';
    if (out_len)
        *out_len = o_len;
    errbuf[e_len] = '\0';
    /* One line: the last non-empty line of stderr is usually the reason. */
    while (e_len > 0 && (errbuf[e_len - 1] == '\n' || errbuf[e_len - 1] == ' '))
        errbuf[--e_len] = '\0';
}

int nemesis_netns_run(const char *ns, const char *const *argv, const char *input, size_t input_len,
                      char *out, size_t out_size, size_t *out_len, int *truncated, char *errmsg)
{
    char exe[PATH_MAX], errbuf[200];
    int nsfd = -1, rc;
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1}, pfail[2] = {-1, -1};

    if (out_len)
        *out_len = 0;
    if (truncated)
        *truncated = 0;
    if (out && out_size > 0)
        out[0] = '\0';
    if (!argv || !argv[0])
        return fl_errorf(errmsg, FL_EUSAGE, "run: empty command");
    rc = nemesis__resolve_exec(argv[0], exe, sizeof exe);
    if (rc < 0)
        return fl_errorf(errmsg, rc, "%.64s: command not found", argv[0]);
    if (ns) {
        nsfd = nemesis_netns_open(ns, errmsg);
        if (nsfd < 0)
            return nsfd;
    }
    if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0 ||
        pipe2(pfail, O_CLOEXEC) < 0) {
        rc = fl_errorf(errmsg, -errno, "%.64s: pipe: %s", argv[0], strerror(errno));
        goto err_pipes;
    }
    pid_t pid = fork();
    if (pid < 0) {
        rc = fl_errorf(errmsg, -errno, "%.64s: fork: %s", argv[0], strerror(errno));
        goto err_pipes;
    }
    if (pid == 0) {
        nemesis__child_reset_signals();
        if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) < 0)
            nemesis__child_fail(pfail[1], STAGE_SETNS, errno);
        if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 || dup2(perr[1], 2) < 0)
            nemesis__child_fail(pfail[1], STAGE_DUP, errno);
        execv(exe, (char *const *)argv);
        nemesis__child_fail(pfail[1], STAGE_EXEC, errno);
    }
    close_fd(&nsfd);
    close_fd(&pin[0]);
    close_fd(&pout[1]);
    close_fd(&perr[1]);
    close_fd(&pfail[1]);
    /* A failed write to a command that exited early must not kill the harness. */
    int fl = fcntl(pin[1], F_GETFL);
    fcntl(pin[1], F_SETFL, fl | O_NONBLOCK);
    sigset_t pipe_set, old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    pump(pin[1], input, input ? input_len : 0, pout[0], out, out_size, out_len, truncated, perr[0],
         errbuf, sizeof errbuf);
    pin[1] = -1; /* closed by pump */
    /* Discard a SIGPIPE we may have caused before restoring the mask. */
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
        ;
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);

    int fail[2] = {0, 0};
    ssize_t got;
    do
        got = read(pfail[0], fail, sizeof fail);
    while (got < 0 && errno == EINTR);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close_fd(&pout[0]);
    close_fd(&perr[0]);
    close_fd(&pfail[0]);
    if (got == (ssize_t)sizeof fail) {
        static const char *const stage[] = {"", "setns", "dup2", "exec"};
        int st = fail[0] >= 1 && fail[0] <= 3 ? fail[0] : 0;
        return fl_errorf(errmsg, -fail[1], "%.64s: %s: %s", argv[0], stage[st], strerror(fail[1]));
    }
    if (WIFEXITED(status))
        rc = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        rc = 128 + WTERMSIG(status);
    else
        rc = 255;
    if (rc != 0) {
        if (errbuf[0])
            fl_errorf(errmsg, 0, "%.64s%s%.32s: exit %d: %s", argv[0], ns ? " in " : "",
                      ns ? ns : "", rc, errbuf);
        else
            fl_errorf(errmsg, 0, "%.64s%s%.32s: exit %d", argv[0], ns ? " in " : "", ns ? ns : "",
                      rc);
    }
    return rc;

err_pipes:
    for (int i = 0; i < 2; i++) {
        close_fd(&pin[i]);
        close_fd(&pout[i]);
        close_fd(&perr[i]);
        close_fd(&pfail[i]);
    }
    close_fd(&nsfd);
    return rc;
}

int nemesis_netns_exec(const char *ns, const char *const *argv, char *errmsg)
{
    return nemesis_netns_run(ns, argv, NULL, 0, NULL, 0, NULL, NULL, errmsg);
}

/* ==== Processes of a namespace ==== */

int nemesis__ns_each_pid(const char *ns, int (*cb)(pid_t pid, void *data), void *data)
{
    char path[128];
    struct stat nst;
    if (!nemesis_netns_name_ok(ns))
        return -EINVAL;
    snprintf(path, sizeof path, "%s/%s", NEMESIS_NETNS_DIR, ns);
    /* stat follows the bind mount to the nsfs inode that /proc/<pid>/ns/net also shows. */
    if (stat(path, &nst) < 0)
        return -errno;
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    struct dirent *e;
    pid_t self = getpid();
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self)
            continue;
        char p[64];
        struct stat pst;
        snprintf(p, sizeof p, "/proc/%ld/ns/net", pid);
        if (stat(p, &pst) < 0 || pst.st_dev != nst.st_dev || pst.st_ino != nst.st_ino)
            continue;
        if (cb((pid_t)pid, data) != 0)
            break;
    }
    closedir(d);
    return 0;
}

struct signal_all {
    int sig;
    int count;
};

static int signal_one(pid_t pid, void *data)
{
    struct signal_all *a = data;
    if (kill(pid, a->sig) == 0)
        a->count++;
    return 0;
}

int nemesis_netns_signal(const char *ns, int sig)
{
    struct signal_all a = {.sig = sig};
    int rc = nemesis__ns_each_pid(ns, signal_one, &a);
    return rc < 0 ? rc : a.count;
}
