/* nodelife.c - config files, hooks and log events of foreign nodes (PROCESS_PROTOCOL.md). */
#include "harness/nodelife.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "harness/hosts.h"
#include "nemesis/topology.h"
#include "workloads/render.h"

#define HOOK_ARGS 34
#define LINE_KEEP 256 /* bytes of a matched line kept in the event */

static const char *const hook_names[] = {"setup", "start", "stop", "teardown"};

int harness_nodelife_init(struct harness_nodelife *l, const struct workload_cluster *cl,
                          const char *const *logs, const char *const *ns, const char *run_id,
                          char *errmsg)
{
    memset(l, 0, sizeof *l);
    l->cl = cl;
    l->logs = logs;
    l->ns = ns;
    l->run_id = run_id;
    l->hooks = cl->options != NULL ? json_object_get(cl->options, "hooks") : NULL;
    json_t *t = json_object_get(l->hooks, "timeout_ms");
    l->timeout_ms = json_is_integer(t) ? (unsigned)json_integer_value(t) : 10000;
    l->pending = json_array();
    if (l->pending == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    json_t *ev = cl->options != NULL ? json_object_get(cl->options, "events") : NULL;
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        if (l->n_events == HARNESS_NODELIFE_MAX_EVENTS)
            break;
        const char *pat = json_string_value(json_object_get(e, "pattern"));
        const char *f = json_string_value(json_object_get(e, "f"));
        if (pat == NULL || f == NULL ||
            regcomp(&l->re[l->n_events], pat, REG_EXTENDED | REG_NOSUB) != 0) {
            harness_nodelife_free(l);
            return fl_errorf(errmsg, FL_ESHAPE, "implementation.options.events[%zu]: bad pattern",
                             i);
        }
        l->f[l->n_events++] = f;
    }
    return 0;
}

void harness_nodelife_free(struct harness_nodelife *l)
{
    for (unsigned k = 0; k < l->n_events; k++)
        regfree(&l->re[k]);
    l->n_events = 0;
    for (unsigned i = 0; i < WORKLOAD_MAX_NODES; i++)
        if (l->start_running[i]) {
            nemesis_process_stop(&l->start_hook[i], 0, NULL);
            l->start_running[i] = false;
        }
    json_decref(l->pending);
    l->pending = NULL;
}

/* ==== Files ==== */

int harness_nodelife_files(const struct workload_cluster *cl, unsigned i, FILE *dry,
                           char *errmsg)
{
    json_t *files = cl->options != NULL ? json_object_get(cl->options, "files") : NULL;
    if (json_array_size(files) == 0)
        return 0;
    int rc = 0;
    if (dry == NULL && (rc = fl_mkdir_p(cl->conf_dir[i])) != 0)
        return fl_errorf(errmsg, rc, "%s: %s", cl->conf_dir[i], strerror(-rc));
    struct fl_buf b;
    fl_buf_init(&b);
    size_t k;
    json_t *f;
    json_array_foreach(files, k, f)
    {
        const char *path = json_string_value(json_object_get(f, "path"));
        const char *text = json_string_value(json_object_get(f, "text"));
        if (path == NULL || text == NULL)
            continue;
        char what[64], full[1024];
        snprintf(what, sizeof what, "files[%zu] (%.32s)", k, path);
        fl_buf_reset(&b);
        if ((rc = workload_render(cl, (int)i, NULL, text, strlen(text), what, &b, 1u << 20,
                                  errmsg)) != 0)
            break;
        snprintf(full, sizeof full, "%s/%s", cl->conf_dir[i], path);
        if (dry != NULL) {
            fprintf(dry, "  file %s (%zu bytes):\n", full, b.len);
            const char *s = fl_buf_cstr(&b);
            while (*s != '\0') {
                const char *nl = strchr(s, '\n');
                size_t n = nl != NULL ? (size_t)(nl - s) : strlen(s);
                fprintf(dry, "    | %.*s\n", (int)n, s);
                s += n + (nl != NULL);
            }
            continue;
        }
        char *slash = strrchr(full, '/');
        if (slash != NULL && slash > full + strlen(cl->conf_dir[i])) {
            *slash = '\0';
            rc = fl_mkdir_p(full);
            *slash = '/';
        }
        FILE *out = rc == 0 ? fopen(full, "w") : NULL;
        if (out == NULL || fwrite(fl_buf_cstr(&b), 1, b.len, out) != b.len) {
            rc = fl_errorf(errmsg, -EIO, "cannot write %s: %s", full, strerror(errno));
            if (out != NULL)
                fclose(out);
            break;
        }
        if (fclose(out) != 0) {
            rc = fl_errorf(errmsg, -EIO, "cannot write %s: %s", full, strerror(errno));
            break;
        }
    }
    fl_buf_free(&b);
    return rc;
}

/* ==== Hooks ==== */

/* Renders hook `name` of node i into argv (strings in bufs). Returns the
 * argument count (0: no such hook) or an FL_E* code. */
static int hook_argv(const struct workload_cluster *cl, unsigned i, const char *name,
                     char **argv, char *errmsg)
{
    json_t *h = cl->options != NULL ? json_object_get(json_object_get(cl->options, "hooks"), name)
                                    : NULL;
    size_t n = json_array_size(h);
    if (n == 0)
        return 0;
    if (n > HOOK_ARGS - 1)
        return fl_errorf(errmsg, FL_ELIMIT, "hooks.%s: too many arguments", name);
    struct fl_buf b;
    fl_buf_init(&b);
    int rc = 0;
    size_t k;
    for (k = 0; k < n && rc == 0; k++) {
        const char *t = json_string_value(json_array_get(h, k));
        char what[48];
        snprintf(what, sizeof what, "hooks.%s[%zu]", name, k);
        fl_buf_reset(&b);
        rc = t == NULL ? fl_errorf(errmsg, FL_ESHAPE, "%s: not a string", what)
                       : workload_render(cl, (int)i, NULL, t, strlen(t), what, &b, 4096, errmsg);
        if (rc == 0 && (argv[k] = strdup(fl_buf_cstr(&b))) == NULL)
            rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    }
    argv[k] = NULL;
    fl_buf_free(&b);
    if (rc != 0) {
        for (size_t j = 0; j < k; j++)
            free(argv[j]);
        argv[0] = NULL;
        return rc;
    }
    return (int)n;
}

static void free_argv(char **argv)
{
    for (size_t j = 0; argv[j] != NULL; j++)
        free(argv[j]);
}

void harness_nodelife_print_hooks(const struct workload_cluster *cl, unsigned i, FILE *out)
{
    for (size_t h = 0; h < 4; h++) {
        char *argv[HOOK_ARGS] = {0}, err[FL_ERRMSG_SIZE];
        int n = hook_argv(cl, i, hook_names[h], argv, err);
        if (n < 0) {
            fprintf(out, "  hook %s: %s\n", hook_names[h], err);
            continue;
        }
        if (n == 0)
            continue;
        fprintf(out, "  hook %s:", hook_names[h]);
        for (int k = 0; k < n; k++)
            fprintf(out, " [%s]", argv[k]);
        fputc('\n', out);
        free_argv(argv);
    }
}

/* Starts hook `name` of node i. Returns 1 started, 0 none, or an error. */
static int hook_start(struct harness_nodelife *l, unsigned i, const char *name,
                      struct nemesis_process *p, char *errmsg)
{
    char *argv[HOOK_ARGS] = {0};
    int n = hook_argv(l->cl, i, name, argv, errmsg);
    if (n <= 0)
        return n;
    FILE *log = fopen(l->logs[i], "a");
    if (log != NULL) {
        fprintf(log, "faultline: hook %s: %s ...\n", name, argv[0]);
        fclose(log);
    }
    struct nemesis_process_opts o = {.ns = l->ns[i],
                                     .argv = (const char *const *)argv,
                                     .log_path = l->logs[i],
                                     .cwd = l->cl->data_dir[i],
                                     .registry_run = l->run_id,
                                     .die_with_parent = true};
    int rc = nemesis_process_start(p, &o, errmsg);
    free_argv(argv);
    return rc == 0 ? 1 : rc;
}

static void log_line(struct harness_nodelife *l, unsigned i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void log_line(struct harness_nodelife *l, unsigned i, const char *fmt, ...)
{
    FILE *log = fopen(l->logs[i], "a");
    if (log == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("faultline: ", log);
    vfprintf(log, fmt, ap);
    fputc('\n', log);
    va_end(ap);
    fclose(log);
}

/* Runs hook `name` of node i and waits up to timeout_ms. Returns 0 (ran and
 * exited 0, or no such hook) or an error. */
static int hook_run_host(struct harness_nodelife *l, unsigned i, const char *name,
                         char *errmsg)
{
    char *argv[HOOK_ARGS] = {0};
    int n = hook_argv(l->cl, i, name, argv, errmsg);
    if (n <= 0)
        return n;
    log_line(l, i, "hook %s: %s ... (on the host, its output in the host's part below)", name,
             argv[0]);
    char msg[FL_ERRMSG_SIZE];
    int rc = harness_hosts_hook(l->hosts, i, argv, false, l->timeout_ms, msg);
    free_argv(argv);
    if (rc < 0)
        return fl_errorf(errmsg, rc, "node n%u: hook %s: %s", i + 1, name, msg);
    log_line(l, i, "hook %s: exit %d%s", name, rc, rc == 124 ? " (timed out, killed)" : "");
    if (rc == 124)
        return fl_errorf(errmsg, -ETIMEDOUT, "node n%u: hook %s did not exit within %u ms",
                         i + 1, name, l->timeout_ms);
    if (rc != 0)
        return fl_errorf(errmsg, -ECHILD, "node n%u: hook %s failed (exit %d); see %s", i + 1,
                         name, rc, l->logs[i]);
    return 0;
}

static int hook_run(struct harness_nodelife *l, unsigned i, const char *name, char *errmsg)
{
    if (l->hosts != NULL)
        return hook_run_host(l, i, name, errmsg);
    struct nemesis_process p;
    memset(&p, 0, sizeof p);
    int rc = hook_start(l, i, name, &p, errmsg);
    if (rc <= 0)
        return rc;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct nemesis_exit ex = {0};
    for (;;) {
        if (nemesis_process_reap(&p, &ex) != 0)
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= (long)l->timeout_ms) {
            nemesis_process_stop(&p, 0, &ex);
            log_line(l, i, "hook %s: no exit within %u ms, killed", name, l->timeout_ms);
            return fl_errorf(errmsg, -ETIMEDOUT, "node n%u: hook %s did not exit within %u ms",
                             i + 1, name, l->timeout_ms);
        }
        usleep(10000);
    }
    log_line(l, i, "hook %s: exit %d%s", name, ex.code, ex.signal ? " (signal)" : "");
    if (!ex.exited || ex.code != 0)
        return fl_errorf(errmsg, -ECHILD, "node n%u: hook %s failed (exit %d, signal %d); see %s",
                         i + 1, name, ex.code, ex.signal, l->logs[i]);
    return 0;
}

int harness_nodelife_setup_all(struct harness_nodelife *l, unsigned n, char *errmsg)
{
    if (n > WORKLOAD_MAX_NODES)
        n = WORKLOAD_MAX_NODES;
    if (l->hosts != NULL) { /* one ssh round trip each, in turn */
        for (unsigned i = 0; i < n; i++)
            if (harness_nodelife_before_start(l, i, errmsg) != 0)
                return -1;
        return 0;
    }
    struct nemesis_process p[WORKLOAD_MAX_NODES];
    bool running[WORKLOAD_MAX_NODES] = {0};
    unsigned left = 0;
    int rc = 0;
    memset(p, 0, sizeof p);
    for (unsigned i = 0; i < n && rc == 0; i++) {
        if (l->setup_done[i])
            continue;
        l->setup_done[i] = true;
        int s = hook_start(l, i, "setup", &p[i], errmsg);
        if (s < 0)
            rc = s;
        running[i] = s == 1;
        left += s == 1;
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (left > 0) {
        for (unsigned i = 0; i < n; i++) {
            struct nemesis_exit ex = {0};
            if (!running[i] || nemesis_process_reap(&p[i], &ex) == 0)
                continue;
            running[i] = false;
            left--;
            log_line(l, i, "hook setup: exit %d%s", ex.code, ex.signal ? " (signal)" : "");
            if (rc == 0 && (!ex.exited || ex.code != 0))
                rc = fl_errorf(errmsg, -ECHILD,
                               "node n%u: hook setup failed (exit %d, signal %d); see %s", i + 1,
                               ex.code, ex.signal, l->logs[i]);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (left > 0 && (rc != 0 || ms >= (long)l->timeout_ms)) {
            /* One failed (the run stops) or the time is up: the others are not waited for. */
            for (unsigned i = 0; i < n; i++) {
                struct nemesis_exit ex;
                if (!running[i])
                    continue;
                nemesis_process_stop(&p[i], 0, &ex);
                running[i] = false;
                log_line(l, i, rc != 0 ? "hook setup: stopped (another node's setup failed)"
                                       : "hook setup: no exit within %u ms, killed",
                         l->timeout_ms);
                if (rc == 0)
                    rc = fl_errorf(errmsg, -ETIMEDOUT,
                                   "node n%u: hook setup did not exit within %u ms", i + 1,
                                   l->timeout_ms);
            }
            left = 0;
        }
        if (left > 0)
            usleep(10000);
    }
    return rc;
}

int harness_nodelife_before_start(struct harness_nodelife *l, unsigned i, char *errmsg)
{
    if (i >= WORKLOAD_MAX_NODES || l->setup_done[i])
        return 0;
    l->setup_done[i] = true;
    return hook_run(l, i, "setup", errmsg);
}

void harness_nodelife_started(struct harness_nodelife *l, unsigned i)
{
    if (i >= WORKLOAD_MAX_NODES)
        return;
    char err[FL_ERRMSG_SIZE];
    if (l->hosts != NULL) {
        /* Not followed: each look would be an ssh round trip; it logs its own exit there. */
        char *argv[HOOK_ARGS] = {0};
        int n = hook_argv(l->cl, i, "start", argv, err);
        if (n > 0 && harness_hosts_hook(l->hosts, i, argv, true, 0, err) != 0)
            n = -1;
        if (n > 0)
            log_line(l, i, "hook start: %s ... (on the host)", argv[0]);
        if (n < 0)
            log_line(l, i, "hook start: %s", err);
        free_argv(argv);
        return;
    }
    if (l->start_running[i]) { /* the previous one still runs: this start replaces it */
        nemesis_process_stop(&l->start_hook[i], 0, NULL);
        l->start_running[i] = false;
    }
    int rc = hook_start(l, i, "start", &l->start_hook[i], err);
    if (rc == 1)
        l->start_running[i] = true;
    else if (rc < 0)
        log_line(l, i, "hook start: %s", err);
}

void harness_nodelife_stop(struct harness_nodelife *l, unsigned i)
{
    char err[FL_ERRMSG_SIZE];
    if (hook_run(l, i, "stop", err) != 0)
        fprintf(stderr, "faultline run: %s\n", err);
}

void harness_nodelife_teardown(struct harness_nodelife *l, unsigned i)
{
    char err[FL_ERRMSG_SIZE];
    if (l->start_running[i]) {
        nemesis_process_stop(&l->start_hook[i], 0, NULL);
        l->start_running[i] = false;
    }
    if (hook_run(l, i, "teardown", err) != 0)
        fprintf(stderr, "faultline run: %s\n", err);
}

/* ==== Events ==== */

const char *harness_nodelife_match(const struct harness_nodelife *l, const char *line)
{
    for (unsigned k = 0; k < l->n_events; k++)
        if (regexec(&l->re[k], line, 0, NULL, 0) == 0)
            return l->f[k];
    return NULL;
}

static void record(struct harness_nodelife *l, unsigned i, const char *f, const char *line)
{
    char node[16], text[LINE_KEEP + 1];
    snprintf(node, sizeof node, "n%u", i + 1);
    /* Only printable ASCII and UTF-8 continuation: a log line is untrusted. */
    size_t k = 0;
    for (size_t j = 0; line[j] != '\0' && k < LINE_KEEP; j++) {
        unsigned char c = (unsigned char)line[j];
        text[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    text[k] = '\0';
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s}", "process", "node", "type", "info", "f", f,
                           "node", node, "value", text);
    if (ev == NULL)
        return;
    l->events++;
    if (l->hist != NULL)
        workload_history_record_json(l->hist, ev);
    else if (json_array_size(l->pending) < HARNESS_NODELIFE_PENDING)
        json_array_append(l->pending, ev);
    else
        l->dropped++;
    json_decref(ev);
}

/* Reads what node i's log gained since the last tick. */
static void tail(struct harness_nodelife *l, unsigned i)
{
    int fd = open(l->tails != NULL ? l->tails[i] : l->logs[i], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[8192];
    for (int rounds = 0; rounds < 64; rounds++) { /* at most 512 KiB a tick per node */
        ssize_t n = pread(fd, buf, sizeof buf, l->offset[i]);
        if (n <= 0)
            break;
        l->offset[i] += n;
        for (ssize_t j = 0; j < n; j++) {
            char c = buf[j];
            if (c != '\n') {
                if (l->partial_len[i] < sizeof l->partial[i] - 1)
                    l->partial[i][l->partial_len[i]++] = c;
                continue;
            }
            l->partial[i][l->partial_len[i]] = '\0';
            const char *f = harness_nodelife_match(l, l->partial[i]);
            if (f != NULL)
                record(l, i, f, l->partial[i]);
            l->partial_len[i] = 0;
        }
    }
    close(fd);
}

void harness_nodelife_tick(struct harness_nodelife *l)
{
    for (unsigned i = 0; i < l->cl->n && i < WORKLOAD_MAX_NODES; i++) {
        if (l->start_running[i]) {
            struct nemesis_exit ex;
            if (nemesis_process_reap(&l->start_hook[i], &ex) != 0) {
                l->start_running[i] = false;
                log_line(l, i, "hook start: exit %d%s", ex.code, ex.signal ? " (signal)" : "");
            }
        }
        if (l->n_events > 0)
            tail(l, i);
    }
}

void harness_nodelife_set_history(struct harness_nodelife *l, struct workload_history *h)
{
    l->hist = h;
    size_t k;
    json_t *ev;
    json_array_foreach(l->pending, k, ev)
    workload_history_record_json(h, ev);
    json_array_clear(l->pending);
}

/* ==== Dry run ==== */

static void print_argv(FILE *out, const char *label, char *const *argv)
{
    fprintf(out, "  %s:", label);
    for (size_t k = 0; argv[k] != NULL; k++)
        fprintf(out, " [%s]", argv[k]);
    fputc('\n', out);
}

int harness_nodelife_dry_run(const struct harness_scenario *s, FILE *out, char *errmsg)
{
    const struct workload_adapter *a = workload_adapter_find(harness_impl_name(s->implementation.impl));
    if (a == NULL)
        return fl_errorf(errmsg, FL_EUNSUPPORTED, "implementation \"%s\" cannot be run",
                         harness_impl_name(s->implementation.impl));
    char run_id[8];
    nemesis_run_id_new(run_id);
    unsigned n = s->nodes.count + s->nodes.passive;
    struct nemesis_topology topo;
    int rc = nemesis_topology_plan(&topo, run_id, s->network.subnet, n, errmsg);
    if (rc != 0)
        return rc;
    json_t *opts = harness_scenario_impl_options(s);
    if (opts == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    json_object_set_new(opts, "dynamic", json_boolean(s->implementation.options.dynamic));
    struct workload_cluster cl = {0};
    char data[WORKLOAD_MAX_NODES][64], conf[WORKLOAD_MAX_NODES][72];
    cl.n = n;
    cl.options = opts;
    cl.model = (enum workload_model)(s->workload.model + 1);
    /* As the run sets them (harness/run.c), so the command lines printed are the ones run. */
    cl.election_timeout_ms = s->implementation.options.election_timeout_ms;
    char secret[64];
    snprintf(secret, sizeof secret, "/tmp/fl-%s/cluster.key", run_id);
    cl.secret_file = secret;
    cl.node_bin = s->implementation.options.binary[0] ? s->implementation.options.binary
                                                      : "faultline-node";
    for (unsigned i = 0; i < n; i++) {
        snprintf(data[i], sizeof data[i], "/tmp/fl-%s/n%u", run_id, i + 1);
        snprintf(conf[i], sizeof conf[i], "/tmp/fl-%s/n%u.conf", run_id, i + 1);
        cl.addr[i] = topo.nodes[i].addr;
        cl.data_dir[i] = data[i];
        cl.conf_dir[i] = conf[i];
        cl.passive[i] = i >= s->nodes.count;
    }
    fprintf(out, "dry run of scenario %s (%s implementation, %u nodes; run id %s, not started)\n",
            s->name, a->name, n, run_id);
    char *buf = malloc(65536);
    if (buf == NULL) {
        json_decref(opts);
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    }
    for (unsigned i = 0; i < n && rc == 0; i++) {
        char *argv[WORKLOAD_ARGV_MAX], addr[64];
        a->client_addr(&cl, i, addr, sizeof addr);
        fprintf(out, "node n%u: namespace %s, address %s, client %s, data %s\n", i + 1,
                topo.nodes[i].ns, topo.nodes[i].addr, addr, data[i]);
        if ((rc = a->node_argv(&cl, i, argv, WORKLOAD_ARGV_MAX, buf, 65536, errmsg)) != 0)
            break;
        print_argv(out, "command", argv);
        rc = harness_nodelife_files(&cl, i, out, errmsg);
        harness_nodelife_print_hooks(&cl, i, out);
    }
    json_t *prog = json_object_get(opts, "client");
    if (rc == 0 && prog != NULL) {
        json_t *args = json_object_get(prog, "args");
        fprintf(out, "client program (one per worker; shown for worker 0):\n  command: [%s]",
                json_string_value(json_object_get(prog, "binary")));
        struct fl_buf b;
        fl_buf_init(&b);
        for (size_t k = 0; k < json_array_size(args) && rc == 0; k++) {
            const char *t = json_string_value(json_array_get(args, k));
            fl_buf_reset(&b);
            if (t != NULL && (rc = workload_render(&cl, -1, "0", t, strlen(t), "client.args", &b,
                                                   65536, errmsg)) == 0)
                fprintf(out, " [%s]", fl_buf_cstr(&b));
        }
        fl_buf_free(&b);
        fputc('\n', out);
        fprintf(out, "  environment: FAULTLINE_NODES=[");
        for (unsigned i = 0; i < n; i++)
            fprintf(out, "%s{\"name\":\"n%u\",\"addr\":\"%s\",\"client_port\":%d,\"peer_port\":%d}",
                    i ? "," : "", i + 1, cl.addr[i], workload_port(&cl, false),
                    workload_port(&cl, true));
        fprintf(out, "] FAULTLINE_MODEL=%s FAULTLINE_WORKER=0 FAULTLINE_OP_TIMEOUT_MS=%u\n",
                workload_model_name(cl.model), s->workload.op_timeout_ms);
    }
    json_t *ev = json_object_get(opts, "events");
    for (size_t k = 0; rc == 0 && k < json_array_size(ev); k++)
        fprintf(out, "event %s: node log lines matching /%s/\n",
                json_string_value(json_object_get(json_array_get(ev, k), "f")),
                json_string_value(json_object_get(json_array_get(ev, k), "pattern")));
    free(buf);
    json_decref(opts);
    return rc;
}
