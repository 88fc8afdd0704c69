/* hosts.c - the glue between `faultline run` and nodes on hosts over ssh (nemesis/remote.h). */
#include "harness/hosts.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "harness/foreign.h"
#include "nemesis/registry.h"
#include "workloads/render.h"
#include "harness/nodelife.h"
#include "harness/nodes.h"
#include "nemesis/disk.h"

/* Host-key checking off is a choice made twice: in the file and on the command line. */
static int hostkeys_check(const struct nemesis_hostfile *hf, bool insecure, char *errmsg)
{
    for (unsigned i = 0; i < hf->n && !insecure; i++)
        if (hf->hosts[i].hostkeys == NEMESIS_HOSTKEYS_OFF)
            return fl_errorf(errmsg, FL_EUSAGE,
                             "%s line %u: hosts[%u].host_key_checking is \"off\": refused "
                             "without --insecure-host-keys",
                             hf->path, hf->hosts[i].line, i);
    return 0;
}

int harness_hosts_prepare(struct harness_hosts *h, const struct harness_scenario *sc,
                          const char *run, unsigned n, struct nemesis_topology *topo,
                          bool insecure_host_keys, FILE *dry, char *errmsg)
{
    memset(h, 0, sizeof *h);
    int rv = nemesis_hostfile_load(sc->hosts, &h->hf, errmsg);
    if (rv != 0)
        return rv;
    if ((rv = hostkeys_check(&h->hf, insecure_host_keys, errmsg)) != 0)
        return rv;
    if (n > h->hf.n)
        return fl_errorf(errmsg, FL_EUSAGE,
                         "%s: %u hosts for %u nodes (node i runs on hosts[i-1]: one host each)",
                         sc->hosts, h->hf.n, n);
    if ((rv = nemesis_remote_init(&h->remote, &h->hf, run, n, dry, errmsg)) != 0)
        return rv;
    for (unsigned i = 0; i < n && i < topo->n; i++)
        snprintf(topo->nodes[i].addr, sizeof topo->nodes[i].addr, "%s", h->hf.hosts[i].addr);
    return 0;
}

void harness_hosts_paths(struct harness_hosts *h, const struct harness_scenario *sc,
                         struct workload_cluster *cl)
{
    for (unsigned i = 0; i < cl->n; i++) {
        snprintf(h->data_dirs[i], sizeof h->data_dirs[i], "%s/n%u", NEMESIS_REMOTE_DIR, i + 1);
        cl->data_dir[i] = h->data_dirs[i];
        snprintf(h->conf_dirs[i], sizeof h->conf_dirs[i], "%s/n%u.conf", NEMESIS_REMOTE_DIR,
                 i + 1);
        cl->conf_dir[i] = h->conf_dirs[i];
    }
    snprintf(h->node_bin, sizeof h->node_bin, "%s/faultline-node", NEMESIS_REMOTE_DIR);
    snprintf(h->secret, sizeof h->secret, "%s/cluster.key", NEMESIS_REMOTE_DIR);
    /* A binary the scenario names is the host's own; otherwise ours, uploaded. */
    if (sc->implementation.impl == HARNESS_IMPL_REFERENCE &&
        !sc->implementation.options.binary[0])
        cl->node_bin = h->node_bin;
    cl->secret_file = h->secret;
}

int harness_hosts_open(struct harness_hosts *h, bool need_nft, const char *node_bin,
                       const char *secret, bool clock, const char *self_exe, char *errmsg)
{
    struct nemesis_remote *r = &h->remote;
    h->opened = true;
    int rv = nemesis_remote_open(r, need_nft, errmsg);
    for (unsigned i = 0; i < r->n && rv == 0; i++) {
        if (node_bin != NULL)
            rv = nemesis_remote_upload(r, i, node_bin, "faultline-node", true, errmsg);
        if (rv == 0 && self_exe != NULL)
            rv = nemesis_remote_upload(r, i, self_exe, NEMESIS_DISK_REMOTE_EXE, true, errmsg);
        if (rv == 0 && secret != NULL)
            rv = nemesis_remote_upload(r, i, secret, "cluster.key", false, errmsg);
        if (rv == 0 && clock)
            rv = nemesis_remote_clock(r, i, "+0", errmsg);
    }
    return rv;
}

/* ==== Process and client implementations ==== */

/* Replaces a string of array `a` equal to an upload path by the host's copy; `tmpl`: the
 * array's strings are templates (arguments, hooks), where "{{" is a literal brace. */
static int swap_uploads(json_t *a, json_t *up, bool tmpl)
{
    size_t k, j;
    json_t *v, *u;
    json_array_foreach(a, k, v)
    {
        json_array_foreach(up, j, u)
        {
            const char *name = harness_foreign_upload_name(json_string_value(u));
            if (!json_is_string(v) || name == NULL || !json_equal(v, u))
                continue;
            char path[64 + 256];
            snprintf(path, sizeof path, "%s" NEMESIS_REMOTE_DIR "/bin/%s", tmpl ? "{" : "",
                     name);
            if (json_array_set_new(a, k, json_string(path)) != 0)
                return -1;
            break;
        }
    }
    return 0;
}

json_t *harness_hosts_foreign_options(json_t *opts)
{
    json_t *o = json_deep_copy(opts);
    json_t *up = json_object_get(o, "upload");
    if (o == NULL || json_array_size(up) == 0)
        return o;
    /* The binaries as one-element arrays, so one rule swaps them all. */
    int rc = 0;
    json_t *procs = json_object_get(o, "processes"), *hooks = json_object_get(o, "hooks");
    for (size_t p = 0; p <= json_array_size(procs) && rc == 0; p++) {
        json_t *owner = p == 0 ? o : json_array_get(procs, p - 1);
        json_t *bin = json_pack("[O]", json_object_get(owner, "binary"));
        if (json_object_get(owner, "binary") != NULL && bin != NULL) {
            rc = swap_uploads(bin, up, false); /* a binary is not a template */
            json_object_set(owner, "binary", json_array_get(bin, 0));
        }
        json_decref(bin);
        if (rc == 0)
            rc = swap_uploads(json_object_get(owner, "args"), up, true);
    }
    static const char *const hk[] = {"setup", "start", "stop", "teardown"};
    for (size_t k = 0; k < 4 && rc == 0; k++)
        rc = swap_uploads(json_object_get(hooks, hk[k]), up, true);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Appends s to b with every NEMESIS_REMOTE_DIR replaced by dir: a rendered file's {data},
 * {conf} and {file:..} name the host's folders. */
static void put_with_dir(struct fl_buf *b, const char *s, const char *dir)
{
    size_t dl = strlen(NEMESIS_REMOTE_DIR);
    for (const char *at; (at = strstr(s, NEMESIS_REMOTE_DIR)) != NULL; s = at + dl) {
        fl_buf_append(b, s, (size_t)(at - s));
        fl_buf_puts(b, dir);
    }
    fl_buf_puts(b, s);
}

/* Renders options.files for node i and writes them into its host's nK.conf/. */
static int put_files(struct harness_hosts *h, const struct workload_cluster *cl, unsigned i,
                     char *errmsg)
{
    struct nemesis_remote *r = &h->remote;
    json_t *files = json_object_get(cl->options, "files");
    struct fl_buf text, host;
    fl_buf_init(&text);
    fl_buf_init(&host);
    int rv = 0;
    for (size_t k = 0; k < json_array_size(files) && rv == 0; k++) {
        json_t *f = json_array_get(files, k);
        const char *path = json_string_value(json_object_get(f, "path"));
        const char *t = json_string_value(json_object_get(f, "text"));
        if (path == NULL || t == NULL)
            continue;
        char what[64], msg[FL_ERRMSG_SIZE], dest[400], cmd[1200] = "";
        snprintf(what, sizeof what, "files[%zu] (%.32s)", k, path);
        fl_buf_reset(&text);
        fl_buf_reset(&host);
        if ((rv = workload_render(cl, (int)i, NULL, t, strlen(t), what, &text, 1u << 20, msg)) !=
            0) {
            fl_errorf(errmsg, rv, "%s", msg);
            break;
        }
        put_with_dir(&host, fl_buf_cstr(&text), r->hosts[i].dir);
        if (host.oom) {
            rv = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
            break;
        }
        /* path is relative, [A-Za-z0-9._-/] without ".." (foreign.c): its folders made here. */
        snprintf(dest, sizeof dest, "%s/%s", cl->conf_dir[i], path);
        char *slash = strrchr(dest, '/');
        *slash = '\0';
        strcat(cmd, "mkdir -p ");
        nemesis_remote_quote(r, i, dest, cmd, sizeof cmd);
        *slash = '/';
        strcat(cmd, " && cat > ");
        if (!nemesis_remote_quote(r, i, dest, cmd, sizeof cmd)) {
            rv = fl_errorf(errmsg, FL_ELIMIT, "%s: %s: path too long", r->hosts[i].h.name, what);
            break;
        }
        rv = nemesis_remote_exec(r, i, cmd, fl_buf_cstr(&host), host.len, NULL, 0, msg);
        if (rv != 0)
            rv = fl_errorf(errmsg, rv < 0 ? rv : FL_EUSAGE, "%s: n%u's %s: %s",
                           r->hosts[i].h.name, i + 1, what, msg);
    }
    fl_buf_free(&text);
    fl_buf_free(&host);
    return rv;
}

int harness_hosts_foreign_setup(struct harness_hosts *h, const struct workload_cluster *cl,
                                char *errmsg)
{
    struct nemesis_remote *r = &h->remote;
    json_t *up = json_object_get(cl->options, "upload");
    char msg[FL_ERRMSG_SIZE];
    for (size_t k = 0; k < json_array_size(up) && r->dry == NULL; k++) {
        const char *p = json_string_value(json_array_get(up, k));
        if (p == NULL || access(p, R_OK) != 0)
            return fl_errorf(errmsg, FL_EUSAGE,
                             "implementation.options.upload[%zu]: %s: %s (a local file, copied "
                             "to every host)",
                             k, p ? p : "?", strerror(errno));
    }
    for (unsigned i = 0; i < r->n && i < cl->n; i++) {
        char cmd[1200] = "mkdir -p ";
        nemesis_remote_quote(r, i, NEMESIS_REMOTE_DIR "/bin", cmd, sizeof cmd);
        strcat(cmd, " ");
        nemesis_remote_quote(r, i, cl->data_dir[i], cmd, sizeof cmd);
        strcat(cmd, " ");
        nemesis_remote_quote(r, i, cl->conf_dir[i], cmd, sizeof cmd);
        int rv = nemesis_remote_exec(r, i, cmd, NULL, 0, NULL, 0, msg);
        if (rv != 0)
            return fl_errorf(errmsg, rv < 0 ? rv : FL_EUSAGE, "%s: %s", r->hosts[i].h.name, msg);
        for (size_t k = 0; k < json_array_size(up); k++) {
            const char *p = json_string_value(json_array_get(up, k));
            const char *name = harness_foreign_upload_name(p);
            char dest[300];
            snprintf(dest, sizeof dest, "bin/%s", name);
            if ((rv = nemesis_remote_upload(r, i, p, dest, r->dry != NULL || access(p, X_OK) == 0,
                                            msg)) != 0)
                return fl_errorf(errmsg, rv, "%s: upload %s: %s", r->hosts[i].h.name, p, msg);
        }
        if ((rv = put_files(h, cl, i, errmsg)) != 0)
            return rv;
    }
    return 0;
}

int harness_hosts_hook(struct harness_hosts *h, unsigned i, char *const *argv, bool background,
                       unsigned timeout_ms, char *errmsg)
{
    struct nemesis_remote *r = &h->remote;
    char data[32], log[32];
    snprintf(data, sizeof data, NEMESIS_REMOTE_DIR "/n%u", i + 1);
    snprintf(log, sizeof log, "n%u.log", i + 1);
    if (background) {
        /* A process of the run (its markers, its group): its exit status into the log. */
        const char *av[40] = {"/bin/sh", "-c",
                              "cd \"$1\" || exit 1; shift; \"$@\"; "
                              "echo \"faultline: hook start: exit $?\"",
                              "fl-hook-start", data};
        size_t n = 5;
        for (size_t k = 0; argv[k] != NULL && n < 39; k++)
            av[n++] = argv[k];
        av[n] = NULL;
        pid_t pid;
        return nemesis_remote_start(r, i, av, NULL, log, &pid, errmsg);
    }
    char *cmd = malloc(16384);
    if (cmd == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    unsigned secs = (timeout_ms + 999) / 1000;
    secs = secs > 55 ? 55 : secs < 1 ? 1 : secs;
    snprintf(cmd, 16384, "cd ");
    bool ok = nemesis_remote_quote(r, i, data, cmd, 16384);
    size_t len = strlen(cmd);
    snprintf(cmd + len, 16384 - len, " || exit 1; FAULTLINE_WORKDIR=");
    ok = ok && nemesis_remote_quote(r, i, r->hosts[i].h.workdir, cmd, 16384);
    len = strlen(cmd);
    snprintf(cmd + len, 16384 - len, " FAULTLINE_RUN=%s timeout -k 1 %u", r->run, secs);
    for (size_t k = 0; ok && argv[k] != NULL; k++)
        ok = (strlen(cmd) + 2 < 16384 && strcat(cmd, " ")) &&
             nemesis_remote_quote(r, i, argv[k], cmd, 16384);
    char lp[48];
    snprintf(lp, sizeof lp, NEMESIS_REMOTE_DIR "/%s", log);
    ok = ok && strlen(cmd) + 4 < 16384 && strcat(cmd, " >>") &&
         nemesis_remote_quote(r, i, lp, cmd, 16384);
    ok = ok && strlen(cmd) + 20 < 16384 && strcat(cmd, " 2>&1 </dev/null");
    int rv = ok ? nemesis_remote_exec(r, i, cmd, NULL, 0, NULL, 0, errmsg)
                : fl_errorf(errmsg, FL_ELIMIT, "%s: hook command too long", r->hosts[i].h.name);
    free(cmd);
    return rv;
}

int harness_hosts_follow_logs(struct harness_hosts *h, const char *const *paths, char *errmsg)
{
    for (unsigned i = 0; i < h->remote.n; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%u.log", i + 1);
        int rv = nemesis_remote_follow(&h->remote, i, name, paths[i], &h->follow_pid[i], errmsg);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static void follow_stop(struct harness_hosts *h)
{
    for (unsigned i = 0; i < NEMESIS_MAX_NODES; i++) {
        if (h->follow_pid[i] <= 0)
            continue;
        kill(h->follow_pid[i], SIGTERM);
        waitpid(h->follow_pid[i], NULL, 0);
        h->follow_pid[i] = 0;
    }
}

void harness_hosts_register_masters(struct harness_hosts *h)
{
    char err[FL_ERRMSG_SIZE];
    for (unsigned i = 0; h->registered && i < h->remote.n; i++) {
        pid_t pid = nemesis_remote_master_pid(&h->remote, i);
        if (pid > 0 && nemesis_registry_add_process(NULL, h->remote.run, pid, err) != 0)
            fprintf(stderr, "faultline run: warning: %s\n", err);
    }
}

int harness_hosts_upload_delayer(struct harness_hosts *h, char *errmsg)
{
    char path[600] = "faultline-delayer (next to faultline)";
    if (h->remote.dry == NULL) {
        char self[512];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        char *slash = n > 0 ? (self[n] = '\0', strrchr(self, '/')) : NULL;
        if (slash == NULL)
            return fl_errorf(errmsg, -EIO, "faultline-delayer: cannot read /proc/self/exe");
        *slash = '\0';
        snprintf(path, sizeof path, "%s/faultline-delayer", self);
        if (access(path, X_OK) != 0)
            return fl_errorf(errmsg, FL_EUSAGE,
                             "%s: missing (delay and reorder on hosts run it there)", path);
    }
    int rv = 0;
    for (unsigned i = 0; i < h->remote.n && rv == 0; i++)
        rv = nemesis_remote_upload(&h->remote, i, path, "faultline-delayer", true, errmsg);
    return rv;
}

void harness_hosts_clock_env(unsigned i, char env[NEMESIS_CLOCK_ENV_N][NEMESIS_CLOCK_ENV_MAX])
{
    snprintf(env[0], NEMESIS_CLOCK_ENV_MAX, "LD_PRELOAD=%s", NEMESIS_FAKETIME_LIB);
    snprintf(env[1], NEMESIS_CLOCK_ENV_MAX, "FAKETIME_TIMESTAMP_FILE=%s/clock/n%u.faketime",
             NEMESIS_REMOTE_DIR, i + 1);
    snprintf(env[2], NEMESIS_CLOCK_ENV_MAX, "FAKETIME_NO_CACHE=1");
}

int harness_hosts_finish(struct harness_hosts *h, const char *const *logs, char *errmsg)
{
    if (!h->opened) {
        /* Never opened: its ControlPath folder is empty. */
        if (h->remote.dry == NULL && h->remote.ctl_dir[0])
            rmdir(h->remote.ctl_dir);
        h->remote.ctl_dir[0] = '\0';
        return 0;
    }
    int first = 0;
    char msg[FL_ERRMSG_SIZE];
    follow_stop(h);
    for (unsigned i = 0; logs != NULL && i < h->remote.n; i++) {
        if (!h->remote.hosts[i].opened)
            continue;
        char name[16];
        snprintf(name, sizeof name, "n%u.log", i + 1);
        int rv = nemesis_remote_fetch(&h->remote, i, name, logs[i], msg);
        /* A node never started has no log: not an error of the run. */
        if (rv != 0 && first == 0 && strstr(msg, "No such file") == NULL)
            first = fl_errorf(errmsg, rv, "log of n%u: %s", i + 1, msg);
    }
    int rv = nemesis_remote_close(&h->remote, msg);
    if (rv != 0 && first == 0)
        first = fl_errorf(errmsg, rv, "%s", msg);
    h->opened = false;
    return first;
}

/* ==== Dry run ==== */

int harness_hosts_dry_run(const struct harness_scenario *sc, bool insecure_host_keys, FILE *out,
                          char *errmsg)
{
    struct harness_hosts *h = calloc(1, sizeof *h);
    char *buf = malloc(8192);
    json_t *scj = harness_scenario_to_json(sc), *host_opts = NULL;
    int rv = 0;
    if (h == NULL || buf == NULL || scj == NULL) {
        rv = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    const struct workload_adapter *a =
        workload_adapter_find(harness_impl_name(sc->implementation.impl));
    if (a == NULL) {
        rv = fl_errorf(errmsg, FL_EUNSUPPORTED, "no adapter for %s",
                       harness_impl_name(sc->implementation.impl));
        goto out;
    }
    unsigned n = sc->nodes.count + sc->nodes.passive;
    struct nemesis_topology topo;
    char run[8] = "d0d0d0"; /* what a run's id looks like: a dry run has none */
    if ((rv = nemesis_topology_plan(&topo, run, sc->network.subnet, n, errmsg)) != 0 ||
        (rv = harness_hosts_prepare(h, sc, run, n, &topo, insecure_host_keys, out, errmsg)) != 0)
        goto out;
    struct workload_cluster cl = {0};
    cl.n = n;
    for (unsigned i = 0; i < n; i++) {
        cl.addr[i] = topo.nodes[i].addr;
        cl.passive[i] = i >= sc->nodes.count;
    }
    cl.model = (enum workload_model)(sc->workload.model + 1);
    cl.election_timeout_ms = sc->implementation.options.election_timeout_ms;
    cl.bug = harness_bug_name(sc->implementation.bug);
    cl.lose_unsynced = sc->nemesis.options.kill_lose_unfsynced;
    cl.options = json_object_get(json_object_get(scj, "implementation"), "options");
    harness_hosts_paths(h, sc, &cl);
    bool foreign = harness_scenario_is_foreign(sc);
    if (foreign && (host_opts = harness_hosts_foreign_options(cl.options)) == NULL) {
        rv = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    if (foreign)
        cl.options = host_opts;
    bool clock = sc->nemesis.weights[HARNESS_FAULT_CLOCK_SKEW] ||
                 sc->nemesis.weights[HARNESS_FAULT_CLOCK_JUMP] ||
                 sc->nemesis.weights[HARNESS_FAULT_CLOCK_RATE] ||
                 sc->nemesis.weights[HARNESS_FAULT_SLOW_ISOLATE_LEADER];
    bool ref = cl.node_bin == h->node_bin;
    bool disk = sc->nemesis.weights[HARNESS_FAULT_LOSE_UNSYNCED] ||
                sc->nemesis.weights[HARNESS_FAULT_TORN_WRITE] ||
                sc->nemesis.weights[HARNESS_FAULT_FSYNC_ERROR] ||
                sc->nemesis.weights[HARNESS_FAULT_BITFLIP] ||
                sc->nemesis.weights[HARNESS_FAULT_TRUNCATE];
    bool self = disk || sc->nemesis.weights[HARNESS_FAULT_CORRUPT_TAIL];
    fprintf(out,
            "# %s: %u nodes on the hosts of %s, run id %s in this dry run (a random one when it "
            "runs); CONTROL is the harness's address as each host's sshd reports it\n",
            sc->name, n, sc->hosts, run);
    fprintf(out, "# connect: one ControlMaster per host, then every command through it\n");
    if ((rv = harness_hosts_open(h, true, ref ? "faultline-node (next to faultline)" : NULL,
                                 "cluster.key (made for the run)", clock,
                                 self ? "faultline-harness (this binary)" : NULL, errmsg)) != 0)
        goto out;
    bool delay = sc->nemesis.weights[HARNESS_FAULT_DELAY] ||
                 sc->nemesis.weights[HARNESS_FAULT_REORDER];
    if (delay && (rv = harness_hosts_upload_delayer(h, errmsg)) != 0)
        goto out;
    if (foreign) {
        fprintf(out, "# the system's folders, options.upload's files (bin/) and each node's "
                     "rendered options.files:\n");
        if ((rv = harness_hosts_foreign_setup(h, &cl, errmsg)) != 0)
            goto out;
    }
    struct nemesis_disk disks[NEMESIS_MAX_NODES];
    if (disk) {
        fprintf(out, "# disk faults: the disk-fault filesystem (faultline fs) over each node's "
                     "data directory, before the nodes start:\n");
        for (unsigned i = 0; i < n; i++)
            if ((rv = nemesis_disk_mount_remote(&disks[i], &h->remote, i, i + 1, errmsg)) != 0)
                goto out;
    }
    fprintf(out, "# start (and start again after a kill); pause/resume/kill: kill -STOP/-CONT/-KILL "
                 "-- -PID on the host\n");
    for (unsigned i = 0; i < n; i++) {
        char *argv[WORKLOAD_ARGV_MAX];
        if ((rv = a->node_argv(&cl, i, argv, WORKLOAD_ARGV_MAX, buf, 8192, errmsg)) != 0)
            goto out;
        char env[NEMESIS_CLOCK_ENV_N][NEMESIS_CLOCK_ENV_MAX];
        const char *envp[NEMESIS_CLOCK_ENV_N + 1] = {0};
        if (clock) {
            harness_hosts_clock_env(i, env);
            for (int k = 0; k < NEMESIS_CLOCK_ENV_N; k++)
                envp[k] = env[k];
        }
        char log[16];
        snprintf(log, sizeof log, "n%u.log", i + 1);
        pid_t pid;
        if ((rv = nemesis_remote_start(&h->remote, i, (const char *const *)argv, envp, log, &pid,
                                       errmsg)) != 0)
            goto out;
        if (foreign) /* as rendered; each runs on the host in nK/ (harness_hosts_hook) */
            harness_nodelife_print_hooks(&cl, i, out);
    }
    fprintf(out, "# network faults: each host's own table, replaced in one transaction; e.g. "
                 "isolate-one n1:\n");
    for (unsigned j = 1; j < n; j++) {
        h->remote.part_drop[0] |= 1u << j;
        h->remote.part_drop[j] |= 1u;
    }
    if ((rv = nemesis_remote_net_sync(&h->remote, errmsg)) != 0)
        goto out;
    if (delay) {
        fprintf(out, "# delay and reorder: a faultline-delayer on each host, its queue fed by "
                     "the host's table, e.g. 50+-10 ms with 20%% sent ahead, then healed:\n");
        uint32_t all[NEMESIS_MAX_NODES] = {0};
        for (unsigned i = 0; i < n; i++)
            all[i] = ((1u << n) - 1) & ~(1u << i);
        memset(h->remote.part_drop, 0, sizeof h->remote.part_drop);
        uint64_t packets = 0, held = 0;
        if ((rv = nemesis_remote_delay_start(&h->remote, all, 50, 10, 20, sc->nemesis.seed,
                                             errmsg)) != 0 ||
            (rv = nemesis_remote_delay_stop(&h->remote, &packets, &held, errmsg)) != 0)
            goto out;
    }
    if (clock) {
        fprintf(out, "# clock faults: the node's libfaketime file, e.g. n1 60 s ahead:\n");
        if ((rv = nemesis_remote_clock(&h->remote, 0, "+60.000s x1.000", errmsg)) != 0)
            goto out;
    }
    if (disk) {
        char reply[64];
        fprintf(out, "# a disk fault: a command to the node's filesystem, e.g. n1's unsynced "
                     "writes lost (the node killed first):\n");
        if ((rv = nemesis_disk_command(&disks[0], "lose", reply, sizeof reply, errmsg)) != 0)
            goto out;
    }
    if (sc->nemesis.weights[HARNESS_FAULT_CORRUPT_TAIL]) {
        char what[64];
        fprintf(out, "# corrupt-tail: the stopped node's newest log segment damaged, e.g. n1:\n");
        struct harness_nodes ns = {.hosts = h, .cl = &cl};
        struct nemesis_node_ops ops;
        harness_nodes_ops(&ns, &ops);
        if ((rv = ops.damage_tail(&ns, 0, 0, sc->nemesis.seed, what, sizeof what)) != 0)
            goto out;
    }
    if (sc->network.capture.enabled) {
        fprintf(out, "# capture: a tcpdump per host streamed back, stopped and merged into "
                     "capture.pcap at the end:\n");
        uint64_t packets;
        if ((rv = nemesis_remote_capture_start(&h->remote, "RESULTS", sc->network.capture.snaplen,
                                               errmsg)) != 0 ||
            (rv = nemesis_remote_capture_stop(&h->remote, "RESULTS", "RESULTS/capture.pcap",
                                              &packets, errmsg)) != 0)
            goto out;
    }
    fprintf(out, "# at the end (and on Ctrl-C): the nodes stopped, the disk-fault filesystems "
                 "unmounted, logs fetched, then everything of the run removed\n");
    for (unsigned i = 0; disk && i < n; i++) {
        char msg[FL_ERRMSG_SIZE];
        nemesis_disk_unmount(&disks[i], msg);
    }
    const char *logs[NEMESIS_MAX_NODES];
    char names[NEMESIS_MAX_NODES][32];
    for (unsigned i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "RESULTS/nodes/n%u.log", i + 1);
        logs[i] = names[i];
    }
    rv = harness_hosts_finish(h, logs, errmsg);
out:
    json_decref(host_opts);
    json_decref(scj);
    free(buf);
    free(h);
    return rv;
}

/* ==== clean --hosts ==== */

int harness_hosts_clean_main(const char *file, bool dry, bool insecure_host_keys)
{
    struct nemesis_hostfile *hf = calloc(1, sizeof *hf);
    char err[FL_ERRMSG_SIZE];
    if (hf == NULL) {
        fprintf(stderr, "faultline clean: out of memory\n");
        return 3;
    }
    int rv = nemesis_hostfile_load(file, hf, err);
    if (rv == 0)
        rv = hostkeys_check(hf, insecure_host_keys, err);
    if (rv == 0)
        rv = nemesis_remote_clean(hf, stdout, dry ? stdout : NULL, err);
    free(hf);
    if (rv != 0) {
        fprintf(stderr, "faultline clean: %s\n", err);
        return 3;
    }
    return 0;
}
