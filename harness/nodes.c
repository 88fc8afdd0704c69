/* nodes.c - a run's node processes, their disks, and the nemesis node ops over them. */
#include "harness/nodes.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "harness/hosts.h"
#include "harness/nodelife.h"

#define PATH_SZ 1024

/* ==== Processes ==== */

int harness_nodes_start(struct harness_nodes *r, unsigned i, char *errmsg)
{
    if (r->life != NULL && harness_nodelife_before_start(r->life, i, errmsg) != 0)
        return -1;
    struct nemesis_process_opts o = {
        .ns = r->topo->nodes[i].ns,
        .argv = (const char *const *)r->argv[i],
        .env = r->env[i],
        .log_path = r->logs[i],
        .registry_run = r->topo->run,
        .die_with_parent = true,
        .whole_namespace = true,
    };
    if (r->hosts != NULL)
        o = (struct nemesis_process_opts){.argv = o.argv,
                                          .env = o.env,
                                          .log_path = o.log_path,
                                          .remote = &r->hosts->remote,
                                          .host = i};
    int rv = nemesis_process_start(&r->procs[i], &o, errmsg);
    if (rv == 0 && r->life != NULL)
        harness_nodelife_started(r->life, i);
    if (rv == 0) {
        r->started_ms[i] = uv_now(r->loop);
        r->started[i] = true;
    }
    return rv;
}

void harness_nodes_stop_all(struct harness_nodes *r)
{
    for (unsigned i = 0; i < r->cl->n; i++) {
        if (!r->started[i])
            continue;
        struct nemesis_exit ex;
        if (r->life != NULL)
            harness_nodelife_stop(r->life, i);
        nemesis_process_stop(&r->procs[i], 3000, &ex);
        r->started[i] = false;
        if (r->life != NULL)
            harness_nodelife_teardown(r->life, i);
    }
}

/* Mounts the disk-fault filesystem over every node's data directory. */
int harness_nodes_mount_disks(struct harness_nodes *r, char *errmsg)
{
    for (unsigned i = 0; i < r->cl->n && r->hosts != NULL; i++) {
        int rv = nemesis_disk_mount_remote(&r->disks[i], &r->hosts->remote, i, i + 1, errmsg);
        if (rv != 0)
            return rv;
    }
    for (unsigned i = 0; i < r->cl->n && r->hosts == NULL; i++) {
        char work[PATH_SZ], log[PATH_SZ + 16];
        snprintf(work, sizeof work, "%s/disk/n%u", r->tmp, i + 1);
        snprintf(log, sizeof log, "%s/nodes/fs-n%u.log", r->dir, i + 1);
        int rv = nemesis_disk_mount(&r->disks[i], r->self_exe, r->data_dirs[i], work, r->topo->run,
                                    log, errmsg);
        if (rv != 0)
            return rv;
    }
    return 0;
}

/* Unmounts them (the nodes are stopped first). */
void harness_nodes_unmount_disks(struct harness_nodes *r)
{
    for (unsigned i = 0; i < r->cl->n; i++) {
        char err[FL_ERRMSG_SIZE];
        bool remote = r->disks[i].mounted && r->disks[i].remote != NULL;
        if (nemesis_disk_unmount(&r->disks[i], err) != 0)
            fprintf(stderr, "faultline run: %s\n", err);
        /* The daemon's log, next to the node's, as in namespaces. */
        char name[32], log[PATH_SZ + 16];
        snprintf(name, sizeof name, "fs-n%u.log", i + 1);
        snprintf(log, sizeof log, "%s/nodes/fs-n%u.log", r->dir, i + 1);
        if (remote && nemesis_remote_fetch(&r->hosts->remote, i, name, log, err) != 0)
            fprintf(stderr, "faultline run: n%u: %s\n", i + 1, err);
    }
}

int harness_nodes_kill(struct harness_nodes *r, unsigned i)
{
    struct nemesis_exit ex;
    if (r->cl->lose_unsynced) {
        /* The node's test hook drops its unsynced log bytes and
         * exits, as a power loss would; SIGKILL if it cannot. */
        nemesis_process_signal(&r->procs[i], SIGCONT);
        nemesis_process_signal(&r->procs[i], SIGUSR1);
        for (int k = 0; k < 300 && nemesis_process_reap(&r->procs[i], &ex) == 0; k++)
            usleep(1000);
    }
    int rv = nemesis_process_signal(&r->procs[i], SIGKILL);
    if (rv == -ESRCH)
        rv = 0;
    for (int k = 0; k < 200 && nemesis_process_reap(&r->procs[i], &ex) == 0; k++)
        usleep(1000);
    r->started[i] = false;
    return rv;
}

/* Kills the nodes of `set` at once: on hosts one parallel round of ssh commands (each kill a
 * round trip otherwise), then each reaped; in namespaces (or with the power-loss hook) one
 * by one, as each is immediate there. */
static int kill_set(struct harness_nodes *r, uint32_t set, char *errmsg)
{
    if (r->hosts != NULL && !r->cl->lose_unsynced) {
        pid_t pids[NEMESIS_MAX_NODES] = {0};
        for (unsigned i = 0; i < r->cl->n; i++)
            if ((set & (1u << i)) && r->started[i])
                pids[i] = r->procs[i].pid;
        int rv = nemesis_remote_kill_set(&r->hosts->remote, pids, set, errmsg);
        if (rv != 0)
            return rv;
        /* Each group was seen gone (the host's init reaps it): no second and third round
         * trip per node to signal and reap it again. */
        for (unsigned i = 0; i < r->cl->n; i++) {
            if (pids[i] <= 0)
                continue;
            r->procs[i].exited = true;
            r->procs[i].status = SIGKILL; /* WIFSIGNALED, as a local kill's */
            r->started[i] = false;
        }
    }
    for (unsigned i = 0; i < r->cl->n; i++) {
        if (!(set & (1u << i)) || !r->started[i])
            continue;
        int rv = harness_nodes_kill(r, i);
        if (rv != 0)
            return fl_errorf(errmsg, rv, "n%u: %s", i + 1, strerror(-rv));
    }
    return 0;
}

struct start_arg {
    struct harness_nodes *r;
    unsigned i;
    int rv;
    char err[FL_ERRMSG_SIZE];
};

static void *start_thread(void *p)
{
    struct start_arg *a = p;
    a->rv = harness_nodes_start(a->r, a->i, a->err);
    return NULL;
}

/* Starts the nodes of `set` at once: on hosts one thread per node, each its own ssh round
 * trip (they touch only their node's slots); in namespaces, or with lifecycle hooks (whose
 * files the starts share), one by one. */
static int start_set(struct harness_nodes *r, uint32_t set, char *errmsg)
{
    struct start_arg a[NEMESIS_MAX_NODES];
    pthread_t th[NEMESIS_MAX_NODES];
    bool threaded[NEMESIS_MAX_NODES] = {0};
    for (unsigned i = 0; i < r->cl->n; i++) {
        if (!(set & (1u << i)))
            continue;
        a[i] = (struct start_arg){.r = r, .i = i};
        threaded[i] = r->hosts != NULL && r->life == NULL &&
                      pthread_create(&th[i], NULL, start_thread, &a[i]) == 0;
        if (!threaded[i])
            start_thread(&a[i]);
    }
    int first = 0;
    for (unsigned i = 0; i < r->cl->n; i++) {
        if (!(set & (1u << i)))
            continue;
        if (threaded[i])
            pthread_join(th[i], NULL);
        if (a[i].rv != 0 && first == 0)
            first = fl_errorf(errmsg, a[i].rv, "n%u: %s", i + 1, a[i].err);
    }
    return first;
}

/* ==== The nodes as the nemesis sees them ==== */

static int op_start_set(void *data, uint32_t set, char *errmsg)
{
    return start_set(data, set, errmsg);
}

static int op_kill_set(void *data, uint32_t set, char *errmsg)
{
    return kill_set(data, set, errmsg);
}

static bool op_running(void *data, unsigned i)
{
    struct harness_nodes *r = data;
    return r->started[i];
}

static int op_kill(void *data, unsigned i, char *errmsg)
{
    int rv = harness_nodes_kill(data, i);
    return rv != 0 ? fl_errorf(errmsg, rv, "n%u: %s", i + 1, strerror(-rv)) : 0;
}

static int op_start(void *data, unsigned i, char *errmsg)
{
    return harness_nodes_start(data, i, errmsg);
}

static int op_pause(void *data, unsigned i, bool on, char *errmsg)
{
    struct harness_nodes *r = data;
    int rv = nemesis_process_signal(&r->procs[i], on ? SIGSTOP : SIGCONT);
    return rv != 0 ? fl_errorf(errmsg, rv, "n%u: %s", i + 1, strerror(-rv)) : 0;
}

static int op_exited(void *data, unsigned i, int *code, int *sig)
{
    struct harness_nodes *r = data;
    struct nemesis_exit ex;
    if (!r->started[i] || nemesis_process_reap(&r->procs[i], &ex) != 1)
        return 0;
    r->started[i] = false;
    *code = ex.code;
    *sig = ex.signal;
    return 1;
}

static uint64_t op_uptime_ms(void *data, unsigned i)
{
    struct harness_nodes *r = data;
    return uv_now(r->loop) - r->started_ms[i];
}

static const char *op_data_dir(void *data, unsigned i)
{
    struct harness_nodes *r = data;
    return r->data_dirs[i];
}

static unsigned op_client_port(void *data, unsigned i)
{
    struct harness_nodes *r = data;
    char addr[64];
    r->adapter->client_addr(r->cl, i, addr, sizeof addr);
    const char *colon = strrchr(addr, ':');
    unsigned long port = colon != NULL ? strtoul(colon + 1, NULL, 10) : 0;
    return port <= 65535 ? (unsigned)port : 0;
}

static int op_disk_command(void *data, unsigned i, const char *cmd, char *reply, size_t size,
                           char *errmsg)
{
    struct harness_nodes *r = data;
    if (!r->disks[i].mounted)
        return fl_errorf(errmsg, FL_EUSAGE, "n%u: no disk-fault filesystem", i + 1);
    return nemesis_disk_command(&r->disks[i], cmd, reply, size, errmsg);
}

static int op_disk_damage(void *data, unsigned i, bool flip, uint64_t seed, char *what, size_t len)
{
    struct harness_nodes *r = data;
    return nemesis_disk_damage(&r->disks[i], flip, seed, what, len);
}

/* corrupt-tail of a node on a host: its files are there (the uploaded faultline-harness does
 * it). */
static int op_damage_tail(void *data, unsigned i, unsigned count, uint64_t seed, char *what,
                          size_t len)
{
    struct harness_nodes *r = data;
    char cmd[1024] = "", msg[FL_ERRMSG_SIZE];
    snprintf(cmd, sizeof cmd, "%s ", "exec");
    bool ok = nemesis_remote_quote(&r->hosts->remote, i,
                                   NEMESIS_REMOTE_DIR "/" NEMESIS_DISK_REMOTE_EXE, cmd, sizeof cmd);
    size_t n = strlen(cmd);
    snprintf(cmd + n, sizeof cmd - n, " fs-ctl --corrupt-tail %u %llu ", count,
             (unsigned long long)seed);
    ok = ok && nemesis_remote_quote(&r->hosts->remote, i, r->cl->data_dir[i], cmd, sizeof cmd);
    int rv = ok ? nemesis_remote_exec(&r->hosts->remote, i, cmd, NULL, 0, what, len, msg)
                : fl_errorf(msg, FL_ELIMIT, "command too long");
    what[strcspn(what, "\n")] = '\0';
    if (rv != 0) {
        fprintf(stderr, "faultline run: n%u: corrupt-tail: %s\n", i + 1, msg);
        return rv < 0 ? rv : -EIO;
    }
    return 0;
}

static void op_say(void *data, const char *line)
{
    struct harness_nodes *r = data;
    if (r->say != NULL)
        r->say(r->say_data, line);
}

/* ==== CPU ==== */

/* utime+stime in clock ticks of a process whose start time is `start` (a reused pid is
 * refused). Returns 0 or -1. */
static int proc_ticks(pid_t pid, unsigned long long start, unsigned long long *ticks)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    if (p == NULL)
        return -1;
    p++;
    /* After the name: field 3 (state) onwards; utime is field 14, stime 15, starttime 22. */
    unsigned long long f[23] = {0};
    for (int i = 3; i <= 22; i++) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            return -1;
        char *end;
        f[i] = i == 3 ? 0 : strtoull(p, &end, 10);
        if (i == 3)
            end = (char *)p + 1;
        if (end == p)
            return -1;
        p = end;
    }
    if (start != 0 && f[22] != start)
        return -1;
    *ticks = f[14] + f[15];
    return 0;
}

int harness_nodes_cpu(const struct harness_nodes *r, double *seconds)
{
    long hz = sysconf(_SC_CLK_TCK);
    if (r->hosts != NULL || hz <= 0)
        return -1;
    unsigned long long sum = 0;
    for (unsigned i = 0; i < r->cl->n; i++) {
        unsigned long long t;
        if (!r->started[i] || r->procs[i].exited || r->procs[i].pid <= 0 ||
            proc_ticks(r->procs[i].pid, r->procs[i].start, &t) != 0)
            return -1;
        sum += t;
    }
    *seconds = (double)sum / (double)hz;
    return 0;
}

void harness_nodes_ops(struct harness_nodes *r, struct nemesis_node_ops *ops)
{
    *ops = (struct nemesis_node_ops){
        .data = r,
        .running = op_running,
        .kill = op_kill,
        .kill_set = op_kill_set,
        .start = op_start,
        .start_set = op_start_set,
        .pause = op_pause,
        .exited = op_exited,
        .uptime_ms = op_uptime_ms,
        .data_dir = op_data_dir,
        .client_port = op_client_port,
        .disk_command = op_disk_command,
        .disk_damage = op_disk_damage,
        .say = op_say,
    };
    if (r->hosts != NULL)
        ops->damage_tail = op_damage_tail;
}
