/* remote.c - nodes and faults on hosts over OpenSSH (ControlMaster per host; a dry run prints). */
#include "nemesis/remote.h"
#include "nemesis/registry.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"

#define TIMEOUT_MS 60000
#define SCRIPT_CAP 4096

/* ==== ssh ==== */

struct argv_buf {
    const char *v[48];
    size_t n;
    char s[6][320];
};

/* ssh's options for host i, up to and including the destination. `master`: the command that
 * starts the host's ControlMaster (-f -N: it backgrounds once authenticated). */
static void ssh_argv(const struct nemesis_remote *r, unsigned i, bool master, struct argv_buf *a)
{
    const struct nemesis_host *h = &r->hosts[i].h;
    a->n = 0;
#define A(x) (a->v[a->n++] = (x))
    A("ssh");
    A("-o"), A("BatchMode=yes");
    A("-o"), A("ConnectTimeout=10");
    /* A host that goes away is noticed within 15 s, not at TCP's timeout. */
    A("-o"), A("ServerAliveInterval=5");
    A("-o"), A("ServerAliveCountMax=3");
    A("-o"), A("LogLevel=ERROR");
    snprintf(a->s[0], sizeof a->s[0], "ControlPath=%s/%u", r->ctl_dir, i + 1);
    A("-o"), A(a->s[0]);
    if (master) {
        A("-o"), A("ControlMaster=yes");
        /* Outlives a killed harness by 5 idle minutes at most. */
        A("-o"), A("ControlPersist=300");
        A("-f"), A("-N");
    } else {
        A("-o"), A("ControlMaster=no");
    }
    A("-o");
    A(h->hostkeys == NEMESIS_HOSTKEYS_YES          ? "StrictHostKeyChecking=yes"
      : h->hostkeys == NEMESIS_HOSTKEYS_ACCEPT_NEW ? "StrictHostKeyChecking=accept-new"
                                                   : "StrictHostKeyChecking=no");
    if (h->known_hosts[0]) {
        snprintf(a->s[1], sizeof a->s[1], "UserKnownHostsFile=%s", h->known_hosts);
        A("-o"), A(a->s[1]);
    }
    if (h->port) {
        snprintf(a->s[2], sizeof a->s[2], "%u", h->port);
        A("-p"), A(a->s[2]);
    }
    if (h->identity[0]) {
        A("-i"), A(h->identity);
        A("-o"), A("IdentitiesOnly=yes");
    }
    A("--");
    A(h->ssh);
#undef A
}

struct job {
    unsigned host;
    pid_t pid;
    int out, err; /* read ends, -1 when closed */
    char *obuf;
    size_t ocap, olen;
    char ebuf[400];
    size_t elen;
    int status;
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Starts ssh for host i with `cmd` (NULL: the master). stdin: `in` (a pipe; len < 64 KiB) or
 * in_fd (>= 0) or /dev/null; stdout: out_fd (>= 0), or captured into obuf. In a dry run
 * prints the command and starts nothing (j->pid = 0). */
static int job_start(struct nemesis_remote *r, unsigned i, const char *cmd, const char *in,
                     size_t len, int in_fd, int out_fd, char *obuf, size_t ocap, struct job *j,
                     char *errmsg)
{
    memset(j, 0, sizeof *j);
    j->host = i;
    j->out = j->err = -1;
    j->obuf = obuf;
    j->ocap = ocap;
    if (obuf && ocap)
        obuf[0] = '\0';
    if (r->dry) {
        if (cmd)
            fprintf(r->dry, "%s (%s): %s\n", r->hosts[i].h.name, r->hosts[i].h.ssh, cmd);
        if (in && len)
            fprintf(r->dry, "    with stdin:\n%.*s%s", (int)len, in,
                    len && in[len - 1] == '\n' ? "" : "\n");
        return 0;
    }
    if (len >= 65536)
        return fl_errorf(errmsg, FL_ELIMIT, "%s: command input over 64 KiB", r->hosts[i].h.name);
    struct argv_buf a;
    ssh_argv(r, i, cmd == NULL, &a);
    if (cmd)
        a.v[a.n++] = cmd;
    a.v[a.n] = NULL;
    int inp[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
    char errpath[128] = "";
    int errfile = -1;
    if ((in && pipe2(inp, O_CLOEXEC) < 0) || (out_fd < 0 && pipe2(outp, O_CLOEXEC) < 0))
        goto fail;
    if (cmd == NULL) {
        /* The master keeps stderr open once it backgrounds: a file, not a pipe. */
        snprintf(errpath, sizeof errpath, "%s/%u.err", r->ctl_dir, i + 1);
        errfile = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (errfile < 0)
            goto fail;
    } else if (pipe2(errp, O_CLOEXEC) < 0) {
        goto fail;
    }
    if (in && len && write(inp[1], in, len) != (ssize_t)len)
        goto fail;
    close_fd(&inp[1]);
    j->pid = fork();
    if (j->pid < 0)
        goto fail;
    if (j->pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(in ? inp[0] : in_fd >= 0 ? in_fd : devnull, 0);
        dup2(out_fd >= 0 ? out_fd : outp[1] >= 0 ? outp[1] : devnull, 1);
        dup2(errfile >= 0 ? errfile : errp[1], 2);
        /* ssh must not see the harness's signals (Ctrl-C heals first, then closes). */
        setpgid(0, 0);
        execvp(a.v[0], (char *const *)a.v);
        _exit(127);
    }
    close_fd(&inp[0]);
    close_fd(&outp[1]);
    close_fd(&errp[1]);
    if (errfile >= 0)
        close(errfile);
    j->out = outp[0];
    j->err = errp[0];
    return 0;
fail: {
    int e = errno ? errno : EIO;
    close_fd(&inp[0]), close_fd(&inp[1]), close_fd(&outp[0]), close_fd(&outp[1]);
    close_fd(&errp[0]), close_fd(&errp[1]);
    if (errfile >= 0)
        close(errfile);
    return fl_errorf(errmsg, -e, "%s: ssh: %s", r->hosts[i].h.name, strerror(e));
}
}

/* job_start with stdout into the local file `path`, opened O_WRONLY | O_CREAT | `flags`
 * (O_APPEND or O_TRUNC); the file is the job's, closed here. A dry run opens nothing. */
static int job_start_to_file(struct nemesis_remote *r, unsigned i, const char *cmd,
                             const char *path, int flags, struct job *j, char *errmsg)
{
    int fd = r->dry ? -1 : open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
    if (!r->dry && fd < 0)
        return fl_errorf(errmsg, -errno, "%s: %s", path, strerror(errno));
    int rv = job_start(r, i, cmd, NULL, 0, -1, fd, NULL, 0, j, errmsg);
    if (fd >= 0)
        close(fd);
    return rv;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads the job's output until both pipes close, then reaps ssh. Returns the exit status
 * (255: ssh failed to reach the host) or a negative errno; errmsg names the host and carries
 * the command's stderr when the status is not 0. */
static int job_wait(struct nemesis_remote *r, struct job *j, char *errmsg)
{
    if (r->dry)
        return 0;
    uint64_t until = now_ms() + TIMEOUT_MS;
    bool killed = false;
    while (j->out >= 0 || j->err >= 0) {
        struct pollfd p[2] = {{.fd = j->out, .events = POLLIN}, {.fd = j->err, .events = POLLIN}};
        uint64_t now = now_ms();
        int rv = poll(p, 2, now < until ? (int)(until - now) : 0);
        if (rv < 0 && errno == EINTR)
            continue;
        if (rv <= 0) {
            kill(j->pid, SIGKILL);
            killed = true;
            close_fd(&j->out);
            close_fd(&j->err);
            break;
        }
        char tmp[4096];
        if (p[0].revents) {
            ssize_t n = read(j->out, tmp, sizeof tmp);
            if (n <= 0) {
                close_fd(&j->out);
            } else if (j->obuf && j->ocap > 1) {
                size_t k = (size_t)n < j->ocap - 1 - j->olen ? (size_t)n : j->ocap - 1 - j->olen;
                memcpy(j->obuf + j->olen, tmp, k);
                j->olen += k;
                j->obuf[j->olen] = '\0';
            }
        }
        if (p[1].revents) {
            ssize_t n = read(j->err, tmp, sizeof tmp);
            if (n <= 0) {
                close_fd(&j->err);
            } else {
                size_t k = (size_t)n < sizeof j->ebuf - 1 - j->elen ? (size_t)n
                                                                     : sizeof j->ebuf - 1 - j->elen;
                memcpy(j->ebuf + j->elen, tmp, k);
                j->elen += k;
            }
        }
    }
    int st;
    while (waitpid(j->pid, &st, 0) < 0)
        if (errno != EINTR)
            return fl_errorf(errmsg, -errno, "%s: waitpid: %s", r->hosts[j->host].h.name,
                             strerror(errno));
    j->ebuf[j->elen] = '\0';
    while (j->elen > 0 && (j->ebuf[j->elen - 1] == '\n' || j->ebuf[j->elen - 1] == '\r'))
        j->ebuf[--j->elen] = '\0';
    if (killed)
        return fl_errorf(errmsg, -ETIMEDOUT, "%s: ssh: no answer within %d s",
                         r->hosts[j->host].h.name, TIMEOUT_MS / 1000);
    j->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (j->status != 0)
        fl_errorf(errmsg, FL_EUSAGE, "%s: %s (exit %d)", r->hosts[j->host].h.name,
                  j->elen ? j->ebuf : "command failed", j->status);
    return j->status;
}

int nemesis_remote_exec(struct nemesis_remote *r, unsigned i, const char *cmd, const char *in,
                        size_t len, char *out, size_t cap, char *errmsg)
{
    struct job j;
    int rv = job_start(r, i, cmd, in, len, -1, -1, out, cap, &j, errmsg);
    return rv < 0 ? rv : job_wait(r, &j, errmsg);
}

/* Runs cmds[i] (NULL: skip) on every host at once; returns the first failure as a negative
 * code (an exit status s > 0 becomes FL_EUSAGE) with errmsg. */
static int exec_all(struct nemesis_remote *r, char *const *cmds, char outs[][256], char *errmsg)
{
    struct job jobs[NEMESIS_MAX_NODES];
    bool started[NEMESIS_MAX_NODES] = {0};
    int first = 0;
    char msg[FL_ERRMSG_SIZE];
    for (unsigned i = 0; i < r->n; i++) {
        if (cmds[i] == NULL)
            continue;
        int rv = job_start(r, i, cmds[i], NULL, 0, -1, -1, outs ? outs[i] : NULL,
                           outs ? 256 : 0, &jobs[i], msg);
        if (rv < 0 && first == 0)
            first = fl_errorf(errmsg, rv, "%s", msg);
        started[i] = rv == 0;
    }
    for (unsigned i = 0; i < r->n; i++) {
        if (!started[i])
            continue;
        int rv = job_wait(r, &jobs[i], msg);
        if (rv != 0 && first == 0)
            first = fl_errorf(errmsg, rv < 0 ? rv : FL_EUSAGE, "%s", msg);
    }
    return first;
}

/* ==== Quoting ==== */

bool nemesis_remote_quote(const struct nemesis_remote *r, unsigned i, const char *s, char *buf,
                          size_t cap)
{
    size_t len = strlen(buf);
    const char *dir = r->hosts[i].dir;
    size_t dl = strlen(NEMESIS_REMOTE_DIR), fl = strlen(dir);
    if (len + 1 >= cap)
        return false;
    buf[len++] = '\'';
    /* Anywhere in the word, not only in front: templates of foreign systems write
     * "--data={data}" or a /bin/sh script naming several paths. dir never holds a quote
     * (hostfile.c's path rules). */
    while (*s) {
        const char *piece = *s == '\'' ? "'\\''" : s;
        size_t pl = *s == '\'' ? 4 : 1, adv = 1;
        if (strncmp(s, NEMESIS_REMOTE_DIR, dl) == 0) {
            piece = dir;
            pl = fl;
            adv = dl;
        }
        if (len + pl + 2 >= cap)
            return false;
        memcpy(buf + len, piece, pl);
        len += pl;
        s += adv;
    }
    buf[len++] = '\'';
    buf[len] = '\0';
    return true;
}

static bool put(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool put(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    return w >= 0 && (size_t)w < cap - len;
}

/* ==== Set-up and tear-down ==== */

int nemesis_remote_init(struct nemesis_remote *r, const struct nemesis_hostfile *hf,
                        const char *run, unsigned n, FILE *dry, char *errmsg)
{
    memset(r, 0, sizeof *r);
    if (n == 0 || n > hf->n)
        return fl_errorf(errmsg, FL_EUSAGE, "%u nodes but %u hosts in %s", n, hf->n, hf->path);
    snprintf(r->run, sizeof r->run, "%s", run);
    r->n = n;
    /* One queue per run (from its id), so two runs on one host do not meet in the kernel. */
    r->queue_num = (uint16_t)(0x4000 + strtoul(run, NULL, 16) % 0x4000);
    r->dry = dry;
    for (unsigned i = 0; i < n; i++) {
        r->hosts[i].h = hf->hosts[i];
        snprintf(r->hosts[i].dir, sizeof r->hosts[i].dir, "%s/fl-%s", hf->hosts[i].workdir, run);
        snprintf(r->hosts[i].control, sizeof r->hosts[i].control, "%s",
                 hf->hosts[i].control[0] ? hf->hosts[i].control : "CONTROL");
        r->hosts[i].sshd_port = hf->hosts[i].port ? hf->hosts[i].port : 22;
    }
    if (dry) {
        snprintf(r->ctl_dir, sizeof r->ctl_dir, "/tmp/fl-ssh-%s-XXXXXX", run);
    } else {
        /* Named in the run's record before it is made, when the run has one (a `faultline
         * run`), so a harness killed at any moment leaves nothing clean does not find. */
        snprintf(r->ctl_dir, sizeof r->ctl_dir, "/tmp/fl-ssh-%s-XXXXXX", run);
        char em[FL_ERRMSG_SIZE];
        int rc = nemesis_registry_mkdtemp(NULL, run, r->ctl_dir, em);
        if (rc == -ENOENT) {
            snprintf(r->ctl_dir, sizeof r->ctl_dir, "/tmp/fl-ssh-%s-XXXXXX", run);
            rc = mkdtemp(r->ctl_dir) == NULL ? fl_errorf(em, -errno, "%s", strerror(errno)) : 0;
        }
        if (rc != 0) {
            r->ctl_dir[0] = '\0';
            return fl_errorf(errmsg, rc, "ControlPath folder: %s", em);
        }
    }
    char err[FL_ERRMSG_SIZE];
    for (unsigned i = 0; i < n; i++)
        nemesis_remote_render(r, i, r->hosts[i].applied, sizeof r->hosts[i].applied, err);
    return 0;
}

int nemesis_remote_open(struct nemesis_remote *r, bool need_nft, char *errmsg)
{
    struct job jobs[NEMESIS_MAX_NODES];
    int rv = 0;
    /* The masters, in parallel. */
    for (unsigned i = 0; i < r->n && rv == 0; i++)
        if ((rv = job_start(r, i, NULL, NULL, 0, -1, -1, NULL, 0, &jobs[i], errmsg)) == 0)
            r->hosts[i].master = true;
    for (unsigned i = 0; i < r->n; i++) {
        if (!r->hosts[i].master || r->dry)
            continue;
        char msg[FL_ERRMSG_SIZE];
        int st = job_wait(r, &jobs[i], msg);
        if (st != 0) {
            r->hosts[i].master = false;
            char path[128], text[300] = "";
            snprintf(path, sizeof path, "%s/%u.err", r->ctl_dir, i + 1);
            FILE *f = fopen(path, "r");
            if (f) {
                size_t k = fread(text, 1, sizeof text - 1, f);
                text[k] = '\0';
                fclose(f);
                text[strcspn(text, "\r\n")] = '\0';
            }
            if (rv == 0)
                rv = fl_errorf(errmsg, FL_EUSAGE, "%s (%s): ssh cannot connect: %s",
                               r->hosts[i].h.name, r->hosts[i].h.ssh, text[0] ? text : msg);
        }
    }
    if (rv != 0)
        return rv;
    char *cmds[NEMESIS_MAX_NODES] = {0};
    char bufs[NEMESIS_MAX_NODES][800];
    char outs[NEMESIS_MAX_NODES][256];
    for (unsigned i = 0; i < r->n; i++) {
        bufs[i][0] = '\0';
        put(bufs[i], sizeof bufs[i], "echo \"$SSH_CONNECTION\"; ");
        if (need_nft)
            put(bufs[i], sizeof bufs[i],
                "command -v nft >/dev/null || { echo 'nft is missing (Debian: nftables)' >&2; "
                "exit 3; }; ");
        put(bufs[i], sizeof bufs[i], "mkdir -p -m 700 ");
        nemesis_remote_quote(r, i, NEMESIS_REMOTE_DIR, bufs[i], sizeof bufs[i]);
        put(bufs[i], sizeof bufs[i], " && mkdir -p ");
        nemesis_remote_quote(r, i, NEMESIS_REMOTE_DIR "/clock", bufs[i], sizeof bufs[i]);
        cmds[i] = bufs[i];
        r->hosts[i].opened = true;
    }
    if ((rv = exec_all(r, cmds, outs, errmsg)) != 0)
        return rv;
    if (r->dry)
        return 0;
    for (unsigned i = 0; i < r->n; i++) {
        /* SSH_CONNECTION: client address, client port, server address, server port. */
        char c[64] = "", s[64] = "";
        unsigned cport = 0, sport = 0;
        if (sscanf(outs[i], "%63s %u %63s %u", c, &cport, s, &sport) != 4 || sport == 0 ||
            sport > 65535)
            return fl_errorf(errmsg, FL_EUSAGE, "%s: no SSH_CONNECTION from the host's sshd",
                             r->hosts[i].h.name);
        r->hosts[i].sshd_port = sport;
        if (!r->hosts[i].h.control[0])
            snprintf(r->hosts[i].control, sizeof r->hosts[i].control, "%s", c);
        if (!nemesis_hostfile_addr_allowed(r->hosts[i].control))
            return fl_errorf(errmsg, FL_EUSAGE,
                             "%s: the control address \"%s\" is refused (IPv4 only, not "
                             "192.0.2.0/24, loopback or unspecified); name it with \"control\"",
                             r->hosts[i].h.name, r->hosts[i].control);
        for (unsigned j = 0; j < r->n; j++)
            if (strcmp(r->hosts[i].control, r->hosts[j].h.addr) == 0)
                return fl_errorf(errmsg, FL_EUSAGE,
                                 "%s: the control address %s is %s's: the harness must run on "
                                 "another machine than the nodes",
                                 r->hosts[i].h.name, r->hosts[i].control, r->hosts[j].h.name);
    }
    return 0;
}

/* Removes the run's iptables chain (remote.h, xt_queue) and, when the run made iptables'
 * filter table (RUNDIR/xt-filter) and it holds nothing else, the table. */
static void put_xt_remove(const struct nemesis_remote *r, unsigned i, char *buf, size_t cap)
{
    put(buf, cap,
        "iptables -w -D INPUT -j faultline_%s 2>/dev/null; iptables -w -F faultline_%s "
        "2>/dev/null; iptables -w -X faultline_%s 2>/dev/null; [ -e ",
        r->run, r->run, r->run);
    nemesis_remote_quote(r, i, NEMESIS_REMOTE_DIR "/xt-filter", buf, cap);
    put(buf, cap, " ] && [ \"$(iptables -w -S 2>/dev/null | grep -vc '^-P ')\" = 0 ] && "
                  "nft delete table ip filter 2>/dev/null; rm -f ");
    nemesis_remote_quote(r, i, NEMESIS_REMOTE_DIR "/xt-filter", buf, cap);
    put(buf, cap, "; ");
}

/* The shell loop that SIGKILLs every process whose environment holds `marker` (and `marker2`
 * when not NULL): how a run's processes are found again without a pid file. */
static void put_kill_marked(struct nemesis_remote *r, unsigned i, char *buf, size_t cap,
                            const char *marker, const char *marker2)
{
    put(buf, cap, "k=0; for e in /proc/[0-9]*/environ; do p=${e#/proc/}; p=${p%%/environ}; "
                  "[ \"$p\" = $$ ] && continue; grep -qszx ");
    nemesis_remote_quote(r, i, marker, buf, cap);
    put(buf, cap, " \"$e\" || continue; ");
    if (marker2) {
        put(buf, cap, "grep -qszx ");
        nemesis_remote_quote(r, i, marker2, buf, cap);
        put(buf, cap, " \"$e\" || continue; ");
    }
    put(buf, cap, "kill -9 \"$p\" 2>/dev/null && k=$((k+1)); done; ");
}

/* Runs `ssh OPTIONS -O op -- dest` for host i (the master's control command); with `out`,
 * its stderr and stdout (where ssh reports) go there. Returns the exit status or -1. */
static int control_op(const struct nemesis_remote *r, unsigned i, const char *op, char *out,
                      size_t cap)
{
    struct argv_buf a;
    ssh_argv(r, i, false, &a);
    /* ssh_argv ends with "--" and the destination. */
    const char *v[52];
    size_t k = 0;
    for (size_t x = 0; x + 2 < a.n; x++)
        v[k++] = a.v[x];
    v[k++] = "-O", v[k++] = op, v[k++] = "--", v[k++] = r->hosts[i].h.ssh;
    v[k] = NULL;
    int p[2] = {-1, -1};
    if (out && pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(p[1] >= 0 ? p[1] : devnull, 1);
        dup2(p[1] >= 0 ? p[1] : devnull, 2);
        execvp(v[0], (char *const *)v);
        _exit(127);
    }
    if (p[1] >= 0)
        close(p[1]);
    size_t len = 0;
    if (out && cap)
        out[0] = '\0';
    if (pid > 0 && p[0] >= 0) {
        ssize_t n;
        char tmp[256];
        while ((n = read(p[0], tmp, sizeof tmp)) != 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                break;
            size_t c = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
            memcpy(out + len, tmp, c);
            len += c;
            out[len] = '\0';
        }
    }
    if (p[0] >= 0)
        close(p[0]);
    int st = 0;
    if (pid > 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t nemesis_remote_master_pid(const struct nemesis_remote *r, unsigned i)
{
    if (r->dry || !r->hosts[i].master)
        return 0;
    char out[256];
    if (control_op(r, i, "check", out, sizeof out) != 0)
        return 0;
    /* "Master running (pid=1234)" */
    const char *p = strstr(out, "(pid=");
    long v = p ? strtol(p + 5, NULL, 10) : 0;
    return v > 1 ? (pid_t)v : 0;
}

int nemesis_remote_close(struct nemesis_remote *r, char *errmsg)
{
    char *cmds[NEMESIS_MAX_NODES] = {0};
    char bufs[NEMESIS_MAX_NODES][4600];
    int first = 0;
    for (unsigned i = 0; i < r->n; i++) {
        struct nemesis_remote_host *h = &r->hosts[i];
        if (!h->opened && !h->table)
            continue;
        char m1[300], m2[64];
        snprintf(m1, sizeof m1, "FAULTLINE_WORKDIR=%s", h->h.workdir);
        snprintf(m2, sizeof m2, "FAULTLINE_RUN=%s", r->run);
        bufs[i][0] = '\0';
        if (h->xt_queue)
            put_xt_remove(r, i, bufs[i], sizeof bufs[i]);
        put(bufs[i], sizeof bufs[i],
            "nft delete table inet faultline_%s 2>/dev/null; "
            "nft delete table ip faultline_%s 2>/dev/null; ",
            r->run, r->run);
        put_kill_marked(r, i, bufs[i], sizeof bufs[i], m1, m2);
        /* A disk-fault filesystem whose daemon was just killed: detached, so rm does not go
         * through it (or stop at it). */
        put(bufs[i], sizeof bufs[i], "d=");
        nemesis_remote_quote(r, i, NEMESIS_REMOTE_DIR, bufs[i], sizeof bufs[i]);
        put(bufs[i], sizeof bufs[i],
            "; for mp in $(awk -v w=\"$d/\" 'index($2, w) == 1 {print $2}' /proc/mounts); do "
            "fusermount3 -uz \"$mp\" 2>/dev/null || umount -l \"$mp\"; done; rm -rf \"$d\"");
        cmds[i] = bufs[i];
    }
    first = exec_all(r, cmds, NULL, errmsg);
    for (unsigned i = 0; i < r->n; i++) {
        r->hosts[i].opened = r->hosts[i].table = false;
        r->hosts[i].delayer_pid = 0; /* killed with the run's other processes */
        r->hosts[i].xt_queue = false;
        if (!r->hosts[i].master)
            continue;
        r->hosts[i].master = false;
        if (r->dry)
            continue;
        control_op(r, i, "exit", NULL, 0);
    }
    if (!r->dry && r->ctl_dir[0]) {
        for (unsigned i = 0; i < r->n; i++) {
            char p[128];
            snprintf(p, sizeof p, "%s/%u.err", r->ctl_dir, i + 1);
            unlink(p);
            snprintf(p, sizeof p, "%s/%u", r->ctl_dir, i + 1);
            unlink(p);
        }
        rmdir(r->ctl_dir);
        r->ctl_dir[0] = '\0';
    }
    return first;
}

int nemesis_remote_clean(const struct nemesis_hostfile *hf, FILE *out, FILE *dry, char *errmsg)
{
    struct nemesis_remote r;
    int first = nemesis_remote_init(&r, hf, "000000", hf->n, dry, errmsg);
    if (first != 0)
        return first;
    char *cmds[NEMESIS_MAX_NODES] = {0};
    char bufs[NEMESIS_MAX_NODES][4096];
    char outs[NEMESIS_MAX_NODES][256];
    for (unsigned i = 0; i < r.n; i++) {
        const struct nemesis_host *h = &r.hosts[i].h;
        char m[300], q[300] = "";
        snprintf(m, sizeof m, "FAULTLINE_WORKDIR=%s", h->workdir);
        nemesis_remote_quote(&r, i, h->workdir, q, sizeof q);
        bufs[i][0] = '\0';
        put_kill_marked(&r, i, bufs[i], sizeof bufs[i], m, NULL);
        /* Only tables named as a run's: inet or ip, faultline_ and 6 hex digits. */
        put(bufs[i], sizeof bufs[i],
            "t=0; for ft in $(nft list tables 2>/dev/null | "
            "sed -n 's/^table \\(inet\\|ip\\) \\(faultline_[0-9a-f]\\{6\\}\\)$/\\1:\\2/p'); do "
            "nft delete table \"${ft%%%%:*}\" \"${ft#*:}\" && t=$((t+1)); done; "
            "if command -v iptables >/dev/null; then for c in $(iptables -w -S 2>/dev/null | "
            "sed -n 's/^-N \\(faultline_[0-9a-f]\\{6\\}\\)$/\\1/p'); do "
            "iptables -w -D INPUT -j \"$c\" 2>/dev/null; iptables -w -F \"$c\"; "
            "iptables -w -X \"$c\" && t=$((t+1)); done; "
            /* iptables' filter table, when a run made it for the chain and it is empty now. */
            "for x in %s/fl-*/xt-filter; do [ -e \"$x\" ] || continue; "
            "[ \"$(iptables -w -S 2>/dev/null | grep -vc '^-P ')\" = 0 ] && "
            "nft delete table ip filter 2>/dev/null; break; done; fi; "
            "m=0; for mp in $(awk -v w=%s/fl- 'index($2, w) == 1 {print $2}' /proc/mounts); do "
            "{ fusermount3 -uz \"$mp\" 2>/dev/null || umount -l \"$mp\"; } && m=$((m+1)); done; "
            "d=0; for x in %s/fl-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]; do "
            "[ -e \"$x\" ] || continue; rm -rf \"$x\" && d=$((d+1)); done; "
            "echo \"$k processes, $t nft tables, $m mounts, $d folders\"",
            q, q, q);
        cmds[i] = bufs[i];
    }
    for (unsigned i = 0; i < r.n; i++)
        r.hosts[i].master = false; /* no master: one connection per host is enough */
    first = exec_all(&r, cmds, outs, errmsg);
    if (!dry && out)
        for (unsigned i = 0; i < r.n; i++) {
            outs[i][strcspn(outs[i], "\n")] = '\0';
            fprintf(out, "%s (%s): removed %s\n", r.hosts[i].h.name, r.hosts[i].h.ssh,
                    outs[i][0] ? outs[i] : "nothing (no answer)");
        }
    char err[FL_ERRMSG_SIZE];
    nemesis_remote_close(&r, err);
    return first;
}

/* ==== Files ==== */

int nemesis_remote_upload(struct nemesis_remote *r, unsigned i, const char *path,
                          const char *name, bool exec, char *errmsg)
{
    char cmd[1200] = "cat > ";
    char dest[400];
    snprintf(dest, sizeof dest, NEMESIS_REMOTE_DIR "/%s", name);
    nemesis_remote_quote(r, i, dest, cmd, sizeof cmd);
    if (exec) {
        put(cmd, sizeof cmd, " && chmod 755 ");
        nemesis_remote_quote(r, i, dest, cmd, sizeof cmd);
    }
    int fd = r->dry ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    if (!r->dry && fd < 0)
        return fl_errorf(errmsg, -errno, "%s: %s", path, strerror(errno));
    struct job j;
    int rv = job_start(r, i, cmd, NULL, 0, fd, -1, NULL, 0, &j, errmsg);
    if (r->dry)
        fprintf(r->dry, "    with stdin: %s\n", path);
    if (fd >= 0)
        close(fd);
    return rv < 0 ? rv : job_wait(r, &j, errmsg) != 0 ? FL_EUSAGE : 0;
}

int nemesis_remote_fetch(struct nemesis_remote *r, unsigned i, const char *name, const char *path,
                         char *errmsg)
{
    char cmd[600] = "cat ";
    char src[400];
    snprintf(src, sizeof src, NEMESIS_REMOTE_DIR "/%s", name);
    nemesis_remote_quote(r, i, src, cmd, sizeof cmd);
    struct job j;
    int rv = job_start_to_file(r, i, cmd, path, O_APPEND, &j, errmsg);
    return rv < 0 ? rv : job_wait(r, &j, errmsg) != 0 ? FL_EUSAGE : 0;
}

/* ==== Processes ==== */

int nemesis_remote_start(struct nemesis_remote *r, unsigned i, const char *const *argv,
                         const char *const *env, const char *log, pid_t *pid, char *errmsg)
{
    struct nemesis_remote_host *h = &r->hosts[i];
    char *cmd = malloc(16384);
    if (cmd == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    cmd[0] = '\0';
    bool ok = put(cmd, 16384, "cd ");
    ok = ok && nemesis_remote_quote(r, i, NEMESIS_REMOTE_DIR, cmd, 16384);
    /* `cd || exit; VARS setsid ARGV & echo $!`: with `cd && ... &` the background job would
     * be a subshell holding the session's output open until the node exits. */
    ok = ok && put(cmd, 16384, " || exit 1; FAULTLINE_WORKDIR=");
    ok = ok && nemesis_remote_quote(r, i, h->h.workdir, cmd, 16384);
    ok = ok && put(cmd, 16384, " FAULTLINE_RUN=%s", r->run);
    for (size_t k = 0; ok && env && env[k]; k++) {
        const char *eq = strchr(env[k], '=');
        if (eq == NULL || eq == env[k])
            continue;
        /* NAME is [A-Za-z_][A-Za-z0-9_]* (the clock's and the adapters' own). */
        ok = put(cmd, 16384, " %.*s=", (int)(eq - env[k]), env[k]) &&
             nemesis_remote_quote(r, i, eq + 1, cmd, 16384);
    }
    ok = ok && put(cmd, 16384, " setsid");
    for (size_t k = 0; ok && argv[k]; k++)
        ok = put(cmd, 16384, " ") && nemesis_remote_quote(r, i, argv[k], cmd, 16384);
    char lp[400];
    snprintf(lp, sizeof lp, NEMESIS_REMOTE_DIR "/%s", log);
    ok = ok && put(cmd, 16384, " >>") && nemesis_remote_quote(r, i, lp, cmd, 16384);
    /* Not a group leader in a non-interactive shell, so setsid execs without forking: $! is
     * the node, its group and its session. */
    ok = ok && put(cmd, 16384, " 2>&1 </dev/null & echo $!");
    if (!ok) {
        free(cmd);
        return fl_errorf(errmsg, FL_ELIMIT, "%s: command line too long", h->h.name);
    }
    char out[64];
    int rv = nemesis_remote_exec(r, i, cmd, NULL, 0, out, sizeof out, errmsg);
    free(cmd);
    if (rv != 0)
        return rv < 0 ? rv : FL_EUSAGE;
    if (r->dry) {
        *pid = 1;
        return 0;
    }
    long v = strtol(out, NULL, 10);
    if (v <= 1)
        return fl_errorf(errmsg, FL_EUSAGE, "%s: no process id from the start command",
                         h->h.name);
    *pid = (pid_t)v;
    return 0;
}

/* `gone P` as a shell function: true when /proc/P is absent or a zombie. */
#define GONE_FN                                                                                    \
    "gone() { [ ! -d /proc/$1 ] || grep -qs '^State:[[:space:]]*Z' /proc/$1/status; }; "

int nemesis_remote_signal(struct nemesis_remote *r, unsigned i, pid_t pid, int sig, char *errmsg)
{
    char cmd[400];
    if (sig == SIGKILL)
        snprintf(cmd, sizeof cmd,
                 GONE_FN "kill -KILL -- -%d 2>/dev/null || exit 3; "
                         "for k in $(seq 50); do gone %d && exit 0; sleep 0.02; done; exit 0",
                 (int)pid, (int)pid);
    else
        snprintf(cmd, sizeof cmd, "kill -%d -- -%d 2>/dev/null || exit 3", sig, (int)pid);
    char msg[FL_ERRMSG_SIZE];
    int rv = nemesis_remote_exec(r, i, cmd, NULL, 0, NULL, 0, msg);
    if (rv == 3)
        return -ESRCH;
    if (rv != 0)
        return fl_errorf(errmsg, rv < 0 ? rv : FL_EUSAGE, "%s", msg);
    return 0;
}

/* Reads from fd until a line "armed" came or the deadline passed; false on EOF or timeout. */
static bool wait_armed(int fd, uint64_t until)
{
    char buf[64];
    size_t len = 0;
    for (;;) {
        uint64_t now = now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rv = poll(&p, 1, now < until ? (int)(until - now) : 0);
        if (rv < 0 && errno == EINTR)
            continue;
        if (rv <= 0)
            return false;
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return false;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "armed\n") != NULL)
            return true;
        if (len == sizeof buf - 1)
            return false;
    }
}

int nemesis_remote_kill_set(struct nemesis_remote *r, const pid_t *pids, uint32_t hosts,
                            char *errmsg)
{
    /* Armed first, then fired at once: each host's shell waits on its stdin for one line,
     * and the lines reach the hosts within a one-way trip of each other. Sessions started one
     * after another would land up to a round trip apart (hundreds of ms on a loaded machine),
     * long enough for the last nodes to sync what the first lost: a power loss of several
     * hosts is one moment. A harness that dies while they are armed kills nothing (EOF). */
    struct job jobs[NEMESIS_MAX_NODES];
    int in[NEMESIS_MAX_NODES], out[NEMESIS_MAX_NODES];
    bool started[NEMESIS_MAX_NODES] = {0};
    int first = 0;
    char msg[FL_ERRMSG_SIZE];
    for (unsigned i = 0; i < r->n; i++) {
        in[i] = out[i] = -1;
        if (!(hosts & (1u << i)) || pids[i] <= 0)
            continue;
        char cmd[400];
        snprintf(cmd, sizeof cmd,
                 GONE_FN "echo armed; read go || exit 0; kill -KILL -- -%d 2>/dev/null || exit 0; "
                         "for k in $(seq 50); do gone %d && exit 0; sleep 0.02; done; exit 0",
                 (int)pids[i], (int)pids[i]);
        int ip[2] = {-1, -1}, op[2] = {-1, -1};
        if (!r->dry && (pipe2(ip, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0)) {
            if (first == 0)
                first = fl_errorf(errmsg, -errno, "%s: pipe: %s", r->hosts[i].h.name,
                                  strerror(errno));
            close_fd(&ip[0]), close_fd(&ip[1]), close_fd(&op[0]), close_fd(&op[1]);
            continue;
        }
        int rv = job_start(r, i, cmd, NULL, 0, ip[0], op[1], NULL, 0, &jobs[i], msg);
        close_fd(&ip[0]);
        close_fd(&op[1]);
        if (rv != 0) {
            if (first == 0)
                first = fl_errorf(errmsg, rv, "%s", msg);
            close_fd(&ip[1]), close_fd(&op[0]);
            continue;
        }
        in[i] = ip[1];
        out[i] = op[0];
        started[i] = true;
    }
    if (r->dry) {
        fprintf(r->dry, "    (each waits for one line on its stdin; the lines go to every host "
                        "at once)\n");
        return first;
    }
    uint64_t until = now_ms() + TIMEOUT_MS;
    for (unsigned i = 0; i < r->n; i++)
        if (started[i] && !wait_armed(out[i], until) && first == 0)
            first = fl_errorf(errmsg, FL_EUSAGE, "%s: the kill was not armed", r->hosts[i].h.name);
    /* Fired even when one host was not armed in time: the others' power loss still happens,
     * and a late host kills when the line gets there. */
    for (unsigned i = 0; i < r->n; i++)
        if (in[i] >= 0 && write(in[i], "go\n", 3) != 3 && first == 0)
            first = fl_errorf(errmsg, -EIO, "%s: the kill was not fired", r->hosts[i].h.name);
    for (unsigned i = 0; i < r->n; i++)
        close_fd(&in[i]);
    for (unsigned i = 0; i < r->n; i++) {
        if (!started[i])
            continue;
        int rv = job_wait(r, &jobs[i], msg);
        if (rv != 0 && first == 0)
            first = fl_errorf(errmsg, rv < 0 ? rv : FL_EUSAGE, "%s", msg);
        close_fd(&out[i]);
    }
    return first;
}

int nemesis_remote_gone(struct nemesis_remote *r, unsigned i, pid_t pid, char *errmsg)
{
    if (r->dry)
        return 0;
    char cmd[200];
    snprintf(cmd, sizeof cmd, GONE_FN "gone %d && exit 7; exit 0", (int)pid);
    int rv = nemesis_remote_exec(r, i, cmd, NULL, 0, NULL, 0, errmsg);
    return rv == 7 ? 1 : rv == 0 ? 0 : rv < 0 ? rv : FL_EUSAGE;
}

int nemesis_remote_stop(struct nemesis_remote *r, unsigned i, pid_t pid, unsigned grace_ms,
                        char *errmsg)
{
    char cmd[500];
    snprintf(cmd, sizeof cmd,
             GONE_FN "kill -TERM -- -%d 2>/dev/null; kill -CONT -- -%d 2>/dev/null; "
                     "for k in $(seq %u); do gone %d && break; sleep 0.05; done; "
                     "kill -KILL -- -%d 2>/dev/null; exit 0",
             (int)pid, (int)pid, grace_ms / 50 + 1, (int)pid, (int)pid);
    int rv = nemesis_remote_exec(r, i, cmd, NULL, 0, NULL, 0, errmsg);
    return rv == 0 ? 0 : rv < 0 ? rv : FL_EUSAGE;
}

/* ==== Faults ==== */

static bool put_sources(const struct nemesis_remote *r, unsigned j, const uint32_t *m, char *buf,
                        size_t cap, bool *any)
{
    *any = false;
    bool ok = true;
    for (unsigned i = 0; i < r->n && ok; i++) {
        if (!(m[i] & (1u << j)) || i == j)
            continue;
        ok = put(buf, cap, "%s%s", *any ? ", " : "", r->hosts[i].h.addr);
        *any = true;
    }
    return ok;
}

/* The addresses of the hosts j that i's packets go to (bit j of m[i]). */
static bool put_dests(const struct nemesis_remote *r, unsigned i, const uint32_t *m, char *buf,
                      size_t cap, bool *any)
{
    *any = false;
    bool ok = true;
    for (unsigned j = 0; j < r->n && ok; j++) {
        if (!(m[i] & (1u << j)) || i == j)
            continue;
        ok = put(buf, cap, "%s%s", *any ? ", " : "", r->hosts[j].h.addr);
        *any = true;
    }
    return ok;
}

int nemesis_remote_render(const struct nemesis_remote *r, unsigned j, char *buf, size_t cap,
                          char *errmsg)
{
    buf[0] = '\0';
    /* add+delete: the delete succeeds when the table is absent, and the whole script is one
     * nft transaction, so the host goes from the old rules to the new at once. */
    bool ok = put(buf, cap,
                  "add table inet faultline_%s\ndelete table inet faultline_%s\n"
                  "add table ip faultline_%s\ndelete table ip faultline_%s\n",
                  r->run, r->run, r->run, r->run);
    char part[1024] = "", loss[1024] = "", delay[1024] = "", dup[1024] = "";
    bool any_part = false, any_loss = false, any_delay = false, any_dup = false;
    ok = ok && put_sources(r, j, r->part_drop, part, sizeof part, &any_part);
    ok = ok && put_sources(r, j, r->loss_drop, loss, sizeof loss, &any_loss);
    ok = ok && put_sources(r, j, r->delay_drop, delay, sizeof delay, &any_delay);
    ok = ok && put_dests(r, j, r->dup_drop, dup, sizeof dup, &any_dup);
    any_loss = any_loss && r->loss_percent > 0;
    any_dup = any_dup && r->dup_percent > 0;
    any_delay = any_delay && !r->hosts[j].xt_queue;
    if (ok && (any_part || any_loss || any_delay)) {
        const struct nemesis_remote_host *h = &r->hosts[j];
        ok = put(buf, cap,
                 "table inet faultline_%s {\n  chain input {\n"
                 "    type filter hook input priority -10; policy accept;\n"
                 "    ip saddr %s tcp dport %u accept\n",
                 r->run, h->control, h->sshd_port);
        if (any_part)
            ok = ok && put(buf, cap, "    ip saddr { %s } drop\n", part);
        if (any_loss)
            ok = ok && put(buf, cap, "    ip saddr { %s } numgen random mod 100 < %d drop\n",
                           loss, r->loss_percent);
        /* Last: what the rules above drop is never held. `bypass`: accepted when no delayer
         * listens (one killed), not dropped. */
        if (any_delay)
            ok = ok && put(buf, cap, "    ip saddr { %s } queue num %u bypass\n", delay,
                           r->queue_num);
        ok = ok && put(buf, cap, "  }\n}\n");
    }
    if (ok && any_dup) {
        /* The copy is routed to the same destination; nf_dup marks it, so it is not
         * duplicated again on its own way out. */
        if (r->dup_percent < 100)
            ok = put(buf, cap,
                     "table ip faultline_%s {\n  chain output {\n"
                     "    type filter hook output priority -10; policy accept;\n"
                     "    ip daddr { %s } numgen random mod 100 < %d dup to ip daddr\n  }\n}\n",
                     r->run, dup, r->dup_percent);
        else
            ok = put(buf, cap,
                     "table ip faultline_%s {\n  chain output {\n"
                     "    type filter hook output priority -10; policy accept;\n"
                     "    ip daddr { %s } dup to ip daddr\n  }\n}\n",
                     r->run, dup);
    }
    return ok ? 0 : fl_errorf(errmsg, FL_ELIMIT, "nft script longer than %zu bytes", cap);
}

int nemesis_remote_net_sync(struct nemesis_remote *r, char *errmsg)
{
    struct job jobs[NEMESIS_MAX_NODES];
    bool started[NEMESIS_MAX_NODES] = {0};
    char scripts[NEMESIS_MAX_NODES][SCRIPT_CAP];
    int first = 0;
    char msg[FL_ERRMSG_SIZE];
    for (unsigned i = 0; i < r->n; i++) {
        int rv = nemesis_remote_render(r, i, scripts[i], SCRIPT_CAP, msg);
        if (rv == 0 && strcmp(scripts[i], r->hosts[i].applied) == 0)
            continue;
        if (rv == 0)
            rv = job_start(r, i, "nft -f -", scripts[i], strlen(scripts[i]), -1, -1, NULL, 0,
                           &jobs[i], msg);
        if (rv != 0 && first == 0)
            first = fl_errorf(errmsg, rv, "%s", msg);
        started[i] = rv == 0;
        r->hosts[i].table = true;
    }
    for (unsigned i = 0; i < r->n; i++) {
        if (!started[i])
            continue;
        int rv = job_wait(r, &jobs[i], msg);
        if (rv == 0)
            snprintf(r->hosts[i].applied, sizeof r->hosts[i].applied, "%s", scripts[i]);
        else if (first == 0)
            first = fl_errorf(errmsg, rv < 0 ? rv : FL_EUSAGE, "nft: %s", msg);
    }
    return first;
}

int nemesis_remote_dup(struct nemesis_remote *r, const uint32_t *drop, int percent,
                       char *errmsg)
{
    uint32_t saved[NEMESIS_MAX_NODES];
    int saved_pct = r->dup_percent;
    memcpy(saved, r->dup_drop, sizeof saved);
    memcpy(r->dup_drop, drop, sizeof r->dup_drop);
    r->dup_percent = percent;
    int rv = nemesis_remote_net_sync(r, errmsg);
    if (rv != 0) {
        memcpy(r->dup_drop, saved, sizeof saved);
        r->dup_percent = saved_pct;
    }
    return rv;
}

/* SIGTERM to each delayer (it releases what it holds and prints its counters), SIGKILL after
 * 2 s; outs[i] gets the log's last line, or "exited" first when it was gone already. */
static int delayers_stop(struct nemesis_remote *r, char outs[][256], char *errmsg)
{
    char *cmds[NEMESIS_MAX_NODES] = {0};
    char bufs[NEMESIS_MAX_NODES][3072];
    for (unsigned i = 0; i < r->n; i++) {
        pid_t p = r->hosts[i].delayer_pid;
        if (p == 0)
            continue;
        char log[64];
        snprintf(log, sizeof log, NEMESIS_REMOTE_DIR "/delayer%u.log", r->delay_gen);
        bufs[i][0] = '\0';
        /* Its queue rules first, so nothing new is queued (nft's went with the net sync). */
        if (r->hosts[i].xt_queue)
            put_xt_remove(r, i, bufs[i], sizeof bufs[i]);
        r->hosts[i].xt_queue = false;
        put(bufs[i], sizeof bufs[i],
            GONE_FN "gone %d && echo exited; kill -TERM -- -%d 2>/dev/null; "
                    "for k in $(seq 100); do gone %d && break; sleep 0.02; done; "
                    "kill -KILL -- -%d 2>/dev/null; tail -n 1 ",
            (int)p, (int)p, (int)p, (int)p);
        nemesis_remote_quote(r, i, log, bufs[i], sizeof bufs[i]);
        cmds[i] = bufs[i];
        outs[i][0] = '\0';
    }
    int rv = exec_all(r, cmds, outs, errmsg);
    for (unsigned i = 0; i < r->n; i++)
        r->hosts[i].delayer_pid = 0;
    return rv;
}

int nemesis_remote_delay_start(struct nemesis_remote *r, const uint32_t *drop, uint32_t delay_ms,
                               uint32_t jitter_ms, int reorder_percent, uint64_t seed,
                               char *errmsg)
{
    for (unsigned j = 0; j < r->n; j++)
        if (r->hosts[j].delayer_pid != 0)
            return fl_errorf(errmsg, FL_EUSAGE, "a delay fault is already active");
    r->delay_gen++;
    char log[32], q[16], d[16], jt[16], ro[16], sd[24];
    snprintf(log, sizeof log, "delayer%u.log", r->delay_gen);
    snprintf(q, sizeof q, "%u", r->queue_num);
    snprintf(d, sizeof d, "%u", delay_ms);
    snprintf(jt, sizeof jt, "%u", jitter_ms);
    snprintf(ro, sizeof ro, "%d", reorder_percent);
    char *cmds[NEMESIS_MAX_NODES] = {0};
    char bufs[NEMESIS_MAX_NODES][3072];
    int rv = 0;
    for (unsigned j = 0; j < r->n && rv == 0; j++) {
        bool in = false;
        for (unsigned i = 0; i < r->n; i++)
            in |= i != j && (drop[i] & (1u << j));
        if (!in)
            continue;
        /* Each host its own stream of choices, all from the run's seed. */
        snprintf(sd, sizeof sd, "%llu", (unsigned long long)(seed + 7919u * (j + 1)));
        const char *argv[] = {NEMESIS_REMOTE_DIR "/faultline-delayer",
                              "--queue", q, "--delay", d, "--jitter", jt, "--reorder", ro,
                              "--seed", sd, NULL};
        pid_t pid;
        if ((rv = nemesis_remote_start(r, j, argv, NULL, log, &pid, errmsg)) != 0)
            break;
        r->hosts[j].delayer_pid = pid;
        /* Up to 5 s for "ready" (the queue bound); its log as the error otherwise. Then
         * whether the kernel has nft's queue (a check, nothing loaded); if not, iptables'
         * NFQUEUE in a chain of the run's (prints "xt"). */
        char lp[64], srcs[600] = "";
        bool any;
        snprintf(lp, sizeof lp, NEMESIS_REMOTE_DIR "/%s", log);
        put_sources(r, j, drop, srcs, sizeof srcs, &any);
        for (char *c = srcs; *c; c++)
            if (*c == ' ')
                memmove(c, c + 1, strlen(c)); /* "a, b" -> "a,b" for iptables -s */
        bufs[j][0] = '\0';
        bool ok = put(bufs[j], sizeof bufs[j],
                      GONE_FN "ok=; for k in $(seq 250); do grep -qs '^ready' ");
        ok = ok && nemesis_remote_quote(r, j, lp, bufs[j], sizeof bufs[j]);
        ok = ok && put(bufs[j], sizeof bufs[j],
                       " && { ok=1; break; }; gone %d && break; sleep 0.02; done; "
                       "[ -n \"$ok\" ] || { echo 'faultline-delayer did not start:' >&2; "
                       "tail -n 3 ",
                       (int)pid);
        ok = ok && nemesis_remote_quote(r, j, lp, bufs[j], sizeof bufs[j]);
        ok = ok && put(bufs[j], sizeof bufs[j],
                       " >&2; exit 4; }; if printf 'table inet faultline_%s {\\n chain probe "
                       "{\\n  type filter hook input priority 0;\\n  queue num %u bypass\\n "
                       "}\\n}\\n' | nft -c -f - >/dev/null 2>&1; then echo nft; else "
                       "command -v iptables >/dev/null || { echo 'no nft queue in the kernel, "
                       "and no iptables' >&2; exit 5; }; echo xt; "
                       "nft list table ip filter >/dev/null 2>&1 || : >",
                       r->run, r->queue_num);
        ok = ok && nemesis_remote_quote(r, j, NEMESIS_REMOTE_DIR "/xt-filter", bufs[j],
                                        sizeof bufs[j]);
        ok = ok && put(bufs[j], sizeof bufs[j],
                       "; iptables -w -N faultline_%s && iptables -w -A faultline_%s -s %s -j "
                       "NFQUEUE --queue-num %u --queue-bypass && iptables -w -I INPUT -j "
                       "faultline_%s || exit 6; fi",
                       r->run, r->run, srcs, r->queue_num, r->run);
        if (!ok) {
            rv = fl_errorf(errmsg, FL_ELIMIT, "%s: delayer command too long", r->hosts[j].h.name);
            break;
        }
        cmds[j] = bufs[j];
    }
    char outs[NEMESIS_MAX_NODES][256];
    if (rv == 0)
        rv = exec_all(r, cmds, outs, errmsg);
    for (unsigned j = 0; j < r->n && !r->dry; j++)
        r->hosts[j].xt_queue = cmds[j] != NULL && strncmp(outs[j], "xt", 2) == 0;
    if (rv == 0) {
        memcpy(r->delay_drop, drop, sizeof r->delay_drop);
        rv = nemesis_remote_net_sync(r, errmsg);
    }
    if (rv != 0) {
        char msg[FL_ERRMSG_SIZE];
        memset(r->delay_drop, 0, sizeof r->delay_drop);
        nemesis_remote_net_sync(r, msg);
        delayers_stop(r, outs, msg);
    }
    return rv;
}

int nemesis_remote_delay_stop(struct nemesis_remote *r, uint64_t *packets, uint64_t *held,
                              char *errmsg)
{
    char msg[FL_ERRMSG_SIZE];
    /* Rules first, so nothing new is queued; then each delayer lets go of what it holds. */
    memset(r->delay_drop, 0, sizeof r->delay_drop);
    int first = nemesis_remote_net_sync(r, msg);
    if (first != 0)
        fl_errorf(errmsg, first, "%s", msg);
    bool had[NEMESIS_MAX_NODES];
    for (unsigned i = 0; i < r->n; i++)
        had[i] = r->hosts[i].delayer_pid != 0;
    char outs[NEMESIS_MAX_NODES][256];
    int rv = delayers_stop(r, outs, msg);
    if (rv != 0 && first == 0)
        first = fl_errorf(errmsg, rv, "%s", msg);
    for (unsigned i = 0; i < r->n && !r->dry; i++) {
        if (!had[i])
            continue;
        unsigned long long p = 0, h = 0;
        const char *s = strstr(outs[i], "stopped packets ");
        if (strncmp(outs[i], "exited", 6) == 0 || s == NULL ||
            sscanf(s, "stopped packets %llu held %llu", &p, &h) != 2) {
            /* The fault was off from its death on (bypass): the run must say so. */
            outs[i][strcspn(outs[i], "\n")] = '\0';
            if (first == 0)
                first = fl_errorf(errmsg, FL_EUSAGE,
                                  "%s: faultline-delayer was not running at the heal (%s)",
                                  r->hosts[i].h.name, outs[i][0] ? outs[i] : "no output");
            continue;
        }
        *packets += p;
        *held += h;
    }
    return first;
}

int nemesis_remote_clock(struct nemesis_remote *r, unsigned i, const char *spec, char *errmsg)
{
    char cmd[1200] = "printf '%s\\n' ", file[64], tmp[64];
    snprintf(file, sizeof file, NEMESIS_REMOTE_DIR "/clock/n%u.faketime", i + 1);
    snprintf(tmp, sizeof tmp, NEMESIS_REMOTE_DIR "/clock/n%u.faketime.tmp", i + 1);
    bool ok = nemesis_remote_quote(r, i, spec, cmd, sizeof cmd) && put(cmd, sizeof cmd, " > ") &&
              nemesis_remote_quote(r, i, tmp, cmd, sizeof cmd) &&
              put(cmd, sizeof cmd, " && mv -f ") &&
              nemesis_remote_quote(r, i, tmp, cmd, sizeof cmd) && put(cmd, sizeof cmd, " ") &&
              nemesis_remote_quote(r, i, file, cmd, sizeof cmd);
    if (!ok)
        return fl_errorf(errmsg, FL_ELIMIT, "clock command too long");
    int rv = nemesis_remote_exec(r, i, cmd, NULL, 0, NULL, 0, errmsg);
    return rv == 0 ? 0 : rv < 0 ? rv : FL_EUSAGE;
}

/* ==== Capture ==== */

int nemesis_remote_follow(struct nemesis_remote *r, unsigned i, const char *name,
                          const char *path, pid_t *pid, char *errmsg)
{
    struct nemesis_remote_host *h = &r->hosts[i];
    char cmd[1200] = "FAULTLINE_WORKDIR=", src[400];
    *pid = 0;
    nemesis_remote_quote(r, i, h->h.workdir, cmd, sizeof cmd);
    /* -F: the log may not exist yet (the node starts later) and is followed by name. */
    put(cmd, sizeof cmd, " FAULTLINE_RUN=%s exec tail -n +1 -F ", r->run);
    snprintf(src, sizeof src, NEMESIS_REMOTE_DIR "/%s", name);
    if (!nemesis_remote_quote(r, i, src, cmd, sizeof cmd) ||
        !put(cmd, sizeof cmd, " 2>/dev/null"))
        return fl_errorf(errmsg, FL_ELIMIT, "%s: command too long", h->h.name);
    struct job j;
    int rv = job_start_to_file(r, i, cmd, path, O_TRUNC, &j, errmsg);
    if (rv != 0)
        return rv;
    close_fd(&j.err); /* not waited for: it runs until the caller stops it */
    *pid = j.pid;
    return 0;
}

int nemesis_remote_capture_start(struct nemesis_remote *r, const char *dir, unsigned snaplen,
                                 char *errmsg)
{
    int first = 0;
    for (unsigned i = 0; i < r->n; i++) {
        struct nemesis_remote_host *h = &r->hosts[i];
        char cmd[1200] = "", path[600];
        put(cmd, sizeof cmd,
            "i=$(ip -o -4 addr show | awk -v a=%s '{split($4, p, \"/\"); if (p[1] == a) print $2}' "
            "| head -1); [ -n \"$i\" ] || { echo 'no interface holds %s' >&2; exit 3; }; "
            "command -v tcpdump >/dev/null || { echo 'tcpdump is missing' >&2; exit 3; }; "
            "FAULTLINE_WORKDIR=",
            h->h.addr, h->h.addr);
        nemesis_remote_quote(r, i, h->h.workdir, cmd, sizeof cmd);
        put(cmd, sizeof cmd,
            " FAULTLINE_RUN=%s FAULTLINE_CAPTURE=1 exec tcpdump -i \"$i\" -Q in -U -s %u -w - "
            "'not (tcp port %u and host %s)' 2>/dev/null",
            r->run, snaplen ? snaplen : 262144, h->sshd_port, h->control);
        snprintf(path, sizeof path, "%s/capture-%s.pcap", dir, h->h.name);
        struct job j;
        char msg[FL_ERRMSG_SIZE];
        int rv = job_start_to_file(r, i, cmd, path, O_TRUNC, &j, msg);
        if (rv != 0) {
            if (first == 0)
                first = fl_errorf(errmsg, rv, "%s", msg);
            continue;
        }
        /* Not waited for: the stream runs until stop. Its stderr pipe is dropped. */
        close_fd(&j.err);
        h->cap_pid = j.pid;
    }
    return first;
}

/* Merges the pcap files in time order into out. */
static int merge(char paths[][600], unsigned n, const char *out, uint64_t *packets, char *errmsg)
{
    pcap_t *in[NEMESIS_MAX_NODES] = {0};
    struct pcap_pkthdr *hdr[NEMESIS_MAX_NODES];
    const u_char *data[NEMESIS_MAX_NODES];
    bool more[NEMESIS_MAX_NODES] = {0};
    char eb[PCAP_ERRBUF_SIZE];
    int link = -1, snap = 0, rv = 0;
    for (unsigned i = 0; i < n; i++) {
        in[i] = pcap_open_offline(paths[i], eb);
        if (in[i] == NULL)
            continue; /* an empty stream (the host never captured): nothing of it */
        if (link < 0) {
            link = pcap_datalink(in[i]);
            snap = pcap_snapshot(in[i]);
        } else if (pcap_datalink(in[i]) != link) {
            rv = fl_errorf(errmsg, FL_EUSAGE, "%s: link type %d, the others %d", paths[i],
                           pcap_datalink(in[i]), link);
            goto out;
        }
        more[i] = pcap_next_ex(in[i], &hdr[i], &data[i]) == 1;
    }
    pcap_t *dead = pcap_open_dead(link < 0 ? DLT_EN10MB : link, snap ? snap : 262144);
    pcap_dumper_t *d = dead ? pcap_dump_open(dead, out) : NULL;
    if (d == NULL) {
        rv = fl_errorf(errmsg, -EIO, "%s: %s", out, dead ? pcap_geterr(dead) : "pcap");
        if (dead)
            pcap_close(dead);
        goto out;
    }
    for (;;) {
        int best = -1;
        for (unsigned i = 0; i < n; i++)
            if (more[i] && (best < 0 || timercmp(&hdr[i]->ts, &hdr[best]->ts, <)))
                best = (int)i;
        if (best < 0)
            break;
        pcap_dump((u_char *)d, hdr[best], data[best]);
        (*packets)++;
        more[best] = pcap_next_ex(in[best], &hdr[best], &data[best]) == 1;
    }
    pcap_dump_close(d);
    pcap_close(dead);
out:
    for (unsigned i = 0; i < n; i++)
        if (in[i])
            pcap_close(in[i]);
    return rv;
}

int nemesis_remote_capture_stop(struct nemesis_remote *r, const char *dir, const char *out,
                                uint64_t *packets, char *errmsg)
{
    *packets = 0;
    char *cmds[NEMESIS_MAX_NODES] = {0};
    char bufs[NEMESIS_MAX_NODES][800];
    for (unsigned i = 0; i < r->n; i++) {
        if (!r->hosts[i].cap_pid && !r->dry)
            continue;
        bufs[i][0] = '\0';
        put(bufs[i], sizeof bufs[i],
            "for e in /proc/[0-9]*/environ; do p=${e#/proc/}; p=${p%%/environ}; "
            "grep -qszx FAULTLINE_CAPTURE=1 \"$e\" && grep -qszx FAULTLINE_RUN=%s \"$e\" && "
            "kill -INT \"$p\" 2>/dev/null; done; true",
            r->run);
        cmds[i] = bufs[i];
    }
    char msg[FL_ERRMSG_SIZE];
    int first = exec_all(r, cmds, NULL, msg);
    if (first != 0)
        fl_errorf(errmsg, first, "%s", msg);
    if (r->dry)
        return first;
    char paths[NEMESIS_MAX_NODES][600];
    for (unsigned i = 0; i < r->n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/capture-%s.pcap", dir, r->hosts[i].h.name);
        pid_t pid = r->hosts[i].cap_pid;
        if (!pid)
            continue;
        /* The stream ends with tcpdump; give it 5 s, then cut it. */
        int st;
        for (int k = 0; k < 500 && waitpid(pid, &st, WNOHANG) == 0; k++)
            usleep(10000);
        if (waitpid(pid, &st, WNOHANG) == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
        r->hosts[i].cap_pid = 0;
    }
    int rv = merge(paths, r->n, out, packets, msg);
    if (rv != 0 && first == 0)
        first = fl_errorf(errmsg, rv, "%s", msg);
    for (unsigned i = 0; i < r->n; i++)
        unlink(paths[i]);
    return first;
}
