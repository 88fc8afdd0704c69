/* adapter_client.c - the "client" implementation: a client program of the user's, JSON lines on stdin/stdout.
 *
 * Nodes are started as for "process" (adapter_process.c). Each client of
 * the harness (one per workload process, one for the leader question) is one
 * client program (CLIENT_PROTOCOL.md), spawned in the caller's network
 * namespace (the hub) with its stderr in <log_dir>/wK.log. Operations are
 * written as lines on its stdin and matched to completion lines on its
 * stdout by id. A timeout, a malformed line, an exit: the operation ends
 * (reads: fail; others: unknown unless never written), the program is
 * killed and a new one is started for the next operation; one line on
 * stderr says why (timeouts only in the program's log: they are routine
 * under faults). The leader question (adapter.h) goes to the program as an
 * operation {"f": "leader", "node": "nK"}. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "workloads/adapter.h"
#include "workloads/client_line.h"
#include "workloads/render.h"

extern char **environ;

#define CC_ARGS_MAX  34
#define CC_ENV_EXTRA 5
#define CC_GRACE_MS  2000
#define CC_START_MS  5000 /* a new program's start-up (an interpreter, imports) is not the op's time */

struct cc_client;

struct cc_call {
    struct workload_call *call;
    uint64_t id;
    uint64_t deadline;
    bool is_read, is_leader, sent;
    unsigned node;   /* the node a leader question is about */
    char *error;     /* a failed leader question's text (call->error until its callback returns) */
    struct cc_call *next;
};

struct cc_prog {
    uv_process_t proc;
    uv_pipe_t in, out;
    struct cc_client *c;
    char *buf;
    size_t len, cap;
    unsigned handles; /* of proc, in, out not yet closed */
    bool exited, killed, eof;
    int64_t status;
    int signal;
    uint64_t kill_at; /* closing: SIGKILL after the grace time */
    uint64_t started; /* uv_now at spawn */
    unsigned answers; /* well-formed lines it wrote */
    struct cc_prog *next;
};

struct cc_write {
    uv_write_t req;
    char *data;
};

struct cc_client {
    uv_loop_t *loop;
    uv_timer_t timer;
    const struct workload_cluster *cl;
    unsigned n;
    char label[24], log_path[600];
    char error[WORKLOAD_CLIENT_ERROR_MAX]; /* the last failure's text: call->error points here
                                              until the client's next completion */
    char *argv[CC_ARGS_MAX + 2];
    char **env;
    struct cc_prog *prog;  /* current, or NULL */
    struct cc_prog *dying; /* killed or exited, handles closing */
    struct cc_call *pending, *done;
    uint64_t next_id;
    unsigned mute_exits; /* programs in a row that ended without answering anything */
    bool closing, timer_closing, timer_closed;
    void (*close_cb)(void *data);
    void *close_data;
};

static char *dup_text(const char *s);
/* The names a completion's "node" maps to (call->node points here). */
static const char *const node_names[WORKLOAD_MAX_NODES] = {
    "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11", "n12", "n13", "n14", "n15",
    "n16"};
static void say(struct cc_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One line on stderr and in the program's log. */
static void say(struct cc_client *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "client program %s: %s; see %s\n", c->label, msg, c->log_path);
    FILE *f = fopen(c->log_path, "a");
    if (f != NULL) {
        fprintf(f, "faultline: %s\n", msg);
        fclose(f);
    }
}

static void note(struct cc_client *c, const char *msg)
{
    FILE *f = fopen(c->log_path, "a");
    if (f != NULL) {
        fprintf(f, "faultline: %s\n", msg);
        fclose(f);
    }
}

/* The last line the program wrote on stderr (its log, Faultline's own lines skipped),
 * control characters as '?', cut to fit: why a program that never answers dies. */
static void last_words(const struct cc_client *c, char *out, size_t len)
{
    char tail[2048];
    out[0] = '\0';
    FILE *f = fopen(c->log_path, "r");
    if (f == NULL)
        return;
    size_t n = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > 0 && fseek(f, size > (long)sizeof tail - 1 ? size - (long)sizeof tail + 1 : 0,
                              SEEK_SET) == 0)
            n = fread(tail, 1, sizeof tail - 1, f);
    }
    fclose(f);
    tail[n] = '\0';
    char *end = tail + n;
    while (end > tail) {
        while (end > tail && (end[-1] == '\n' || end[-1] == '\r'))
            *--end = '\0';
        char *line = end;
        while (line > tail && line[-1] != '\n')
            line--;
        if (line < end && strncmp(line, "faultline: ", 11) != 0) {
            size_t k = 0;
            for (const char *q = line; *q != '\0' && k + 1 < len; q++)
                out[k++] = (unsigned char)*q < 0x20 || *q == 0x7f ? '?' : *q;
            out[k] = '\0';
            return;
        }
        end = line;
    }
}

/* ==== Completing calls ==== */

static void to_done(struct cc_client *c, struct cc_call *p)
{
    p->next = c->done;
    c->done = p;
}

/* Runs the callbacks of completed calls (not while closing: close_step does). */
static void run_done(struct cc_client *c, bool closing)
{
    while ((closing || !c->closing) && c->done != NULL) {
        struct cc_call *p = c->done;
        c->done = p->next;
        struct workload_call *call = p->call;
        call->impl = NULL;
        call->cb(call);
        fl_free(p->error);
        fl_free(p);
    }
}

/* p ends without an answer: reads and unsent calls fail, others are unknown. */
static void fail_call(struct cc_client *c, struct cc_call *p, const char *error)
{
    p->call->outcome = p->is_read || !p->sent ? WORKLOAD_FAIL : WORKLOAD_UNKNOWN;
    p->call->error = error;
    p->call->value = NULL;
    to_done(c, p);
}

/* ==== Programs ==== */

static void close_step(struct cc_client *c);
static void arm_timer(struct cc_client *c);
static void on_timer_closed(uv_handle_t *h);

static void on_prog_handle_closed(uv_handle_t *h)
{
    struct cc_prog *g = h->data;
    if (--g->handles > 0)
        return;
    struct cc_client *c = g->c;
    for (struct cc_prog **pp = &c->dying; *pp != NULL; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    fl_free(g->buf);
    fl_free(g);
    close_step(c);
}

static void close_pipes(struct cc_prog *g)
{
    if (!uv_is_closing((uv_handle_t *)&g->in))
        uv_close((uv_handle_t *)&g->in, on_prog_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&g->out))
        uv_close((uv_handle_t *)&g->out, on_prog_handle_closed);
}

/* The current program is done with (killed, exited, or closing): its calls
 * end with `error`, it moves to the dying list, SIGKILL unless `gently`
 * (stdin closed, SIGKILL after the grace time). */
static void drop_prog(struct cc_client *c, const char *error, bool gently)
{
    struct cc_prog *g = c->prog;
    if (g == NULL)
        return;
    c->prog = NULL;
    while (c->pending != NULL) {
        struct cc_call *p = c->pending;
        c->pending = p->next;
        fail_call(c, p, error);
    }
    g->next = c->dying;
    c->dying = g;
    if (!g->exited) {
        if (gently) {
            g->kill_at = uv_now(c->loop) + CC_GRACE_MS;
        } else {
            uv_process_kill(&g->proc, SIGKILL);
            g->killed = true;
        }
    }
    close_pipes(g);
    arm_timer(c);
}

/* The current program exited and its stdout is read to the end: its last
 * answers are in, the rest of its calls end. */
static void prog_ended(struct cc_client *c, struct cc_prog *g)
{
    if (c->prog != g)
        return;
    if (c->closing) {
        drop_prog(c, "client program exited", false);
        return;
    }
    char how[48], words[200] = "";
    if (g->signal != 0)
        snprintf(how, sizeof how, "killed by signal %d", g->signal);
    else
        snprintf(how, sizeof how, "exited with status %lld", (long long)g->status);
    if (g->answers > 0) {
        say(c, "%s; a new one starts for the next operation", how);
        drop_prog(c, "client program exited", false);
        return;
    }
    /* Ended without a single answer (a wrong path, a missing library, a crash at start):
     * say so with its last words, and once a few in a row, say it again only at 4, 8,
     * 16... (one line per restart buried the cause under hundreds of lines). */
    c->mute_exits++;
    last_words(c, words, sizeof words);
    char words_q[240] = "";
    if (words[0] != '\0')
        snprintf(words_q, sizeof words_q, " (its stderr: \"%s\")", words);
    unsigned k = c->mute_exits;
    if (k < 3)
        say(c, "%s before answering anything%s; a new one starts for the next operation", how,
            words_q);
    else if ((k & (k - 1)) == 0 || k == 3)
        say(c, "%s before answering anything, %u times in a row%s; new ones keep starting "
               "(this line again at %u)",
            how, k, words_q, k == 3 ? 4 : 2 * k);
    else
        note(c, how);
    if (k >= WORKLOAD_CLIENT_DEAD_AFTER) /* short: it ends up in one-line run errors */
        snprintf(c->error, sizeof c->error, WORKLOAD_CLIENT_DEAD " (%u times in a row, %s): %.90s",
                 k, how, words);
    else
        snprintf(c->error, sizeof c->error, "client program %s before answering anything%s", how,
                 words_q);
    drop_prog(c, c->error, false);
}

static void on_exit_cb(uv_process_t *proc, int64_t status, int sig)
{
    struct cc_prog *g = proc->data;
    struct cc_client *c = g->c;
    g->exited = true;
    g->status = status;
    g->signal = sig;
    if (g->eof) /* else on_read's end of file finishes it */
        prog_ended(c, g);
    uv_close((uv_handle_t *)proc, on_prog_handle_closed);
    run_done(c, false);
}

/* A protocol error of the current program: restart it. */
static void prog_broken(struct cc_client *c, const char *why)
{
    say(c, "%s; restarted", why);
    drop_prog(c, "client program: malformed answer", false);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct cc_prog *g = h->data;
    if (g->cap - g->len < 4096) {
        size_t cap = g->cap ? g->cap * 2 : 16384;
        if (cap > WORKLOAD_CLIENT_MAX_LINE + 65536)
            cap = WORKLOAD_CLIENT_MAX_LINE + 65536;
        char *p = cap > g->cap ? fl_realloc(g->buf, cap) : NULL;
        if (p != NULL) {
            g->buf = p;
            g->cap = cap;
        }
    }
    *buf = uv_buf_init(g->buf + g->len, (unsigned)(g->cap - g->len));
}

/* One completion line of the current program. */
static void handle_line(struct cc_client *c, const char *line, size_t n)
{
    struct workload_client_answer a;
    char err[FL_ERRMSG_SIZE], why[FL_ERRMSG_SIZE + 32];
    if (workload_client_parse(line, n, &a, err) != 0) {
        snprintf(why, sizeof why, "malformed line on stdout: %s", err);
        prog_broken(c, why);
        return;
    }
    c->prog->answers++;
    c->mute_exits = 0;
    struct cc_call *p = NULL, **pp;
    for (pp = &c->pending; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->id == a.id) {
            p = *pp;
            *pp = p->next;
            break;
        }
    if (p == NULL) {
        json_decref(a.value);
        snprintf(why, sizeof why, "an answer with id %llu, which no operation in flight has",
                 (unsigned long long)a.id);
        prog_broken(c, why);
        return;
    }
    if (a.node > (int)c->n) { /* put back: the restart ends it as any other in flight */
        json_decref(a.value);
        p->next = c->pending;
        c->pending = p;
        snprintf(why, sizeof why, "answer %llu: node n%d served it, but the cluster has %u nodes",
                 (unsigned long long)a.id, a.node, c->n);
        prog_broken(c, why);
        return;
    }
    if (p->is_leader) { /* adapter.h: {"leader": L, "term": T} or {"unknown": true} */
        struct workload_call *call = p->call;
        call->value = NULL;
        call->error = NULL;
        call->outcome = WORKLOAD_OK;
        if (a.kind == WORKLOAD_CLIENT_OK && a.unknown)
            call->value = json_pack("{s:b}", "unknown", 1);
        else if (a.kind == WORKLOAD_CLIENT_OK && a.has_leader && a.leader <= (int)c->n) {
            call->value = json_pack("{s:o}", "leader",
                                    a.leader > 0 ? json_integer(a.leader - 1) : json_null());
            if (call->value != NULL && a.term >= 0)
                json_object_set_new(call->value, "term", json_integer(a.term));
        } else {
            /* The program's words say why (a node not ready, refused...): the run's
             * "no leader" message and progress line show them. */
            char msg[WORKLOAD_CLIENT_ERROR_MAX + 96];
            snprintf(msg, sizeof msg, "client program, asked about n%u: %s", p->node + 1,
                     a.kind == WORKLOAD_CLIENT_OK
                         ? "no \"leader\" or \"unknown\" in the answer"
                     : a.error[0] != '\0' ? a.error
                                          : "leader question failed (no \"error\" given)");
            call->outcome = WORKLOAD_FAIL;
            p->error = dup_text(msg);
            call->error = p->error != NULL ? p->error : "client program: leader question failed";
        }
        json_decref(a.value);
        to_done(c, p);
        return;
    }
    struct workload_call *call = p->call;
    call->value = NULL;
    call->error = NULL;
    call->node = a.node > 0 ? node_names[a.node - 1] : NULL;
    if (a.kind == WORKLOAD_CLIENT_OK) {
        call->outcome = WORKLOAD_OK;
        if (p->is_read || a.value != NULL)
            call->value = a.value != NULL ? a.value : json_null();
        a.value = NULL;
    } else {
        call->outcome = a.kind == WORKLOAD_CLIENT_DEFINITE || p->is_read ? WORKLOAD_FAIL
                                                                        : WORKLOAD_UNKNOWN;
        /* The program's words, valid until this client's next completion (one
         * operation in flight per worker), and in its log. */
        snprintf(c->error, sizeof c->error, "%s",
                 a.error[0] != '\0'                     ? a.error
                 : a.kind == WORKLOAD_CLIENT_DEFINITE ? "client program: failed"
                                                      : "client program: indefinite failure");
        call->error = c->error;
        snprintf(why, sizeof why, "op %llu: %.200s", (unsigned long long)a.id, c->error);
        note(c, why);
    }
    json_decref(a.value);
    to_done(c, p);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct cc_prog *g = s->data;
    struct cc_client *c = g->c;
    if (c->prog != g)
        return;
    if (nread < 0) {
        /* The end (or a read error): the exit status, when it comes, says why; a
         * program that lives on without stdout ends at its operation's timeout. */
        g->eof = true;
        uv_read_stop(s);
        if (g->exited)
            prog_ended(c, g);
        run_done(c, false);
        return;
    }
    g->len += (size_t)nread;
    size_t start = 0;
    for (size_t i = 0; i < g->len && c->prog == g; i++)
        if (g->buf[i] == '\n') {
            handle_line(c, g->buf + start, i - start);
            start = i + 1;
        }
    if (c->prog == g) {
        memmove(g->buf, g->buf + start, g->len - start);
        g->len -= start;
        /* Only the length decides: on_alloc grows the buffer up to the limit, so a
         * read that fills it exactly is not yet a line too long (a set read of a
         * few thousand elements, over the first 16 KiB, was refused that way). */
        if (g->len > WORKLOAD_CLIENT_MAX_LINE)
            prog_broken(c, "a line on stdout longer than 1 MiB");
    }
    arm_timer(c);
    run_done(c, false);
}

/* Starts a program as the current one. Returns 0 or a negative errno. */
static int prog_start(struct cc_client *c, char *errmsg)
{
    struct cc_prog *g = fl_calloc(1, sizeof *g);
    if (g == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    g->c = c;
    uv_pipe_init(c->loop, &g->in, 0);
    uv_pipe_init(c->loop, &g->out, 0);
    g->in.data = g->out.data = g->proc.data = g;
    g->handles = 2;
    int fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&g->in},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&g->out},
        {.flags = fd >= 0 ? UV_INHERIT_FD : UV_IGNORE, .data.fd = fd},
    };
    uv_process_options_t o = {.exit_cb = on_exit_cb,
                              .file = c->argv[0],
                              .args = c->argv,
                              .env = c->env,
                              .stdio_count = 3,
                              .stdio = stdio,
                              .flags = UV_PROCESS_DETACHED};
    int rv = uv_spawn(c->loop, &g->proc, &o);
    if (fd >= 0)
        close(fd);
    if (rv != 0) {
        g->exited = true;
        g->next = c->dying;
        c->dying = g;
        g->handles = 3;
        uv_close((uv_handle_t *)&g->proc, on_prog_handle_closed);
        close_pipes(g);
        return fl_errorf(errmsg, rv, "cannot start %s: %s", c->argv[0], uv_strerror(rv));
    }
    g->handles = 3;
    g->started = uv_now(c->loop);
    uv_read_start((uv_stream_t *)&g->out, on_alloc, on_read);
    c->prog = g;
    return 0;
}

static void on_written(uv_write_t *req, int status)
{
    struct cc_write *w = (struct cc_write *)req;
    fl_free(w->data);
    fl_free(w);
    (void)status; /* a program that cannot take its input shows as an exit or a timeout */
}

/* ==== Timer: deadlines, and the grace time of programs at close ==== */

static void on_timer(uv_timer_t *t)
{
    struct cc_client *c = t->data;
    uint64_t now = uv_now(c->loop);
    bool expired = false;
    for (struct cc_call *p = c->pending; p != NULL; p = p->next)
        expired = expired || p->deadline <= now;
    if (expired) {
        /* The program may be stuck in a blocking call: a new one for the next operation. */
        note(c, "an operation timed out; the program is killed and a new one starts");
        drop_prog(c, "client program: timed out", false);
    }
    for (struct cc_prog *g = c->dying; g != NULL; g = g->next)
        if (!g->exited && !g->killed && g->kill_at != 0 && g->kill_at <= now) {
            uv_process_kill(&g->proc, SIGKILL);
            g->killed = true;
        }
    arm_timer(c);
    run_done(c, false);
}

static void arm_timer(struct cc_client *c)
{
    if (c->timer_closing)
        return;
    if (c->done != NULL && !c->closing) {
        uv_timer_start(&c->timer, on_timer, 0, 0);
        return;
    }
    uint64_t now = uv_now(c->loop), next = UINT64_MAX;
    for (struct cc_call *p = c->pending; p != NULL; p = p->next)
        if (p->deadline < next)
            next = p->deadline;
    for (struct cc_prog *g = c->dying; g != NULL; g = g->next)
        if (!g->exited && !g->killed && g->kill_at != 0 && g->kill_at < next)
            next = g->kill_at;
    if (next == UINT64_MAX)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, next > now ? next - now : 0, 0);
}

/* ==== The adapter ==== */

static void free_client(struct cc_client *c)
{
    for (size_t i = 0; i < CC_ARGS_MAX + 2; i++)
        fl_free(c->argv[i]);
    if (c->env != NULL)
        for (size_t i = 0; c->env[i] != NULL; i++)
            fl_free(c->env[i]);
    fl_free(c->env);
    fl_free(c);
}

static char *dup_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = fl_malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* The environment: the harness's, then FAULTLINE_* (CLIENT_PROTOCOL.md). */
static int build_env(struct cc_client *c, const struct workload_cluster *cl, const char *worker,
                     uint64_t op_timeout_ms)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    c->env = fl_calloc(n + CC_ENV_EXTRA + 1, sizeof *c->env);
    if (c->env == NULL)
        return FL_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "FAULTLINE_", 10) != 0 && (c->env[k] = dup_text(environ[i])))
            k++;
    json_t *nodes = json_array();
    for (unsigned i = 0; i < cl->n; i++) {
        char name[16];
        snprintf(name, sizeof name, "n%u", i + 1);
        json_array_append_new(nodes, json_pack("{s:s,s:s,s:i,s:i}", "name", name, "addr",
                                               cl->addr[i], "client_port", workload_port(cl, false),
                                               "peer_port", workload_port(cl, true)));
    }
    char *text = json_dumps(nodes, JSON_COMPACT);
    json_decref(nodes);
    struct fl_buf b;
    fl_buf_init(&b);
    const char *vals[4][2] = {{"FAULTLINE_NODES", text ? text : "[]"},
                              {"FAULTLINE_MODEL", workload_model_name(cl->model)},
                              {"FAULTLINE_WORKER", worker},
                              {"FAULTLINE_OP_TIMEOUT_MS", NULL}};
    char ms[32];
    snprintf(ms, sizeof ms, "%llu", (unsigned long long)op_timeout_ms);
    vals[3][1] = ms;
    for (int i = 0; i < 4; i++) {
        fl_buf_reset(&b);
        fl_buf_printf(&b, "%s=%s", vals[i][0], vals[i][1]);
        if (!b.oom && (c->env[k] = dup_text(fl_buf_cstr(&b))) != NULL)
            k++;
    }
    free(text);
    fl_buf_free(&b);
    return 0;
}

static int cc_client_open(void **out, uv_loop_t *loop, const struct workload_cluster *cl,
                          uint64_t op_timeout_ms, char *errmsg)
{
    json_t *prog = cl->options != NULL ? json_object_get(cl->options, "client") : NULL;
    const char *bin = json_string_value(json_object_get(prog, "binary"));
    json_t *args = json_object_get(prog, "args");
    if (bin == NULL || bin[0] == '\0')
        return fl_errorf(errmsg, FL_EUSAGE,
                         "client implementation: implementation.options.client.binary is "
                         "required");
    if (json_array_size(args) > CC_ARGS_MAX)
        return fl_errorf(errmsg, FL_ELIMIT, "client implementation: more than %d client.args",
                         CC_ARGS_MAX);
    struct cc_client *c = fl_calloc(1, sizeof *c);
    if (c == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    unsigned number = cl->programs != NULL ? (*cl->programs)++ : 0;
    char worker[16];
    snprintf(worker, sizeof worker, "%u", number);
    snprintf(c->label, sizeof c->label, "w%u", number);
    snprintf(c->log_path, sizeof c->log_path, "%s/w%u.log", cl->log_dir ? cl->log_dir : "/tmp",
             number);
    c->loop = loop;
    c->cl = cl;
    c->n = cl->n;
    c->next_id = 1;
    int rv = (c->argv[0] = dup_text(bin)) ? 0 : FL_ENOMEM;
    struct fl_buf b;
    fl_buf_init(&b);
    for (size_t i = 0; i < json_array_size(args) && rv == 0; i++) {
        const char *t = json_string_value(json_array_get(args, i));
        char what[48];
        snprintf(what, sizeof what, "implementation.options.client.args[%zu]", i);
        fl_buf_reset(&b);
        rv = t == NULL ? fl_errorf(errmsg, FL_ESHAPE, "%s: expected a string", what)
                       : workload_render(cl, -1, worker, t, strlen(t), what, &b, 65536, errmsg);
        if (rv == 0 && (c->argv[i + 1] = dup_text(fl_buf_cstr(&b))) == NULL)
            rv = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    }
    fl_buf_free(&b);
    if (rv == 0 && build_env(c, cl, worker, op_timeout_ms) != 0)
        rv = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    if (rv != 0) {
        free_client(c);
        return rv;
    }
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    if ((rv = prog_start(c, errmsg)) != 0) {
        char e2[FL_ERRMSG_SIZE];
        snprintf(e2, sizeof e2, "%s", errmsg);
        fl_errorf(errmsg, rv, "client program %s: %s", c->label, e2);
        /* Nothing in flight: close what exists, then free. */
        c->closing = true; /* freed once the failed program's handles are closed */
        close_step(c);
        return rv;
    }
    *out = c;
    return 0;
}

/* Queues and writes one request line. */
static int submit(struct cc_client *c, struct cc_call *p, json_t *msg)
{
    char *text = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (text == NULL)
        return FL_ENOMEM;
    size_t n = strlen(text);
    if (n + 1 > WORKLOAD_CLIENT_MAX_LINE) {
        free(text);
        return FL_ELIMIT;
    }
    p->next = c->pending;
    c->pending = p;
    char err[FL_ERRMSG_SIZE];
    if (c->prog == NULL && prog_start(c, err) != 0) {
        say(c, "%s", err);
        c->pending = p->next;
        free(text);
        fail_call(c, p, "client program: cannot start");
        arm_timer(c);
        return 0;
    }
    uint64_t now = uv_now(c->loop), ready = c->prog->started + CC_START_MS;
    if (ready > now)
        p->deadline += ready - now;
    struct cc_write *w = fl_calloc(1, sizeof *w);
    char *line = fl_malloc(n + 1);
    if (w == NULL || line == NULL) {
        fl_free(w);
        fl_free(line);
        free(text);
        c->pending = p->next;
        return FL_ENOMEM;
    }
    memcpy(line, text, n);
    line[n] = '\n';
    free(text);
    w->data = line;
    uv_buf_t b = uv_buf_init(line, (unsigned)(n + 1));
    p->sent = true;
    if (uv_write(&w->req, (uv_stream_t *)&c->prog->in, &b, 1, on_written) != 0) {
        fl_free(line);
        fl_free(w);
        p->sent = false;
        say(c, "cannot write to its stdin; restarted");
        drop_prog(c, "client program: stdin closed", false);
    }
    arm_timer(c);
    return 0;
}

static int cc_invoke(void *client, struct workload_call *call)
{
    struct cc_client *c = client;
    const char *f = json_string_value(json_object_get(call->op, "f"));
    if (f == NULL || c->closing)
        return f == NULL ? FL_ESHAPE : FL_EUSAGE;
    struct cc_call *p = fl_calloc(1, sizeof *p);
    if (p == NULL)
        return FL_ENOMEM;
    p->call = call;
    p->id = c->next_id++;
    p->is_read = strcmp(f, "read") == 0;
    p->deadline = uv_now(c->loop) + (call->timeout_ms > 0 ? call->timeout_ms : 1000);
    call->impl = p;
    const char *cons = call->consistency == WORKLOAD_LEASE        ? "lease"
                       : call->consistency == WORKLOAD_SEQUENTIAL ? "sequential"
                                                                  : "linearizable";
    json_t *msg =
        json_pack("{s:I,s:O,s:s}", "id", (json_int_t)p->id, "op", call->op, "consistency", cons);
    int rv = submit(c, p, msg);
    if (rv != 0) {
        call->impl = NULL;
        fl_free(p);
    }
    return rv;
}

static int cc_leader(void *client, unsigned node, struct workload_call *call)
{
    struct cc_client *c = client;
    if (c->closing || node >= c->n)
        return FL_EUSAGE;
    struct cc_call *p = fl_calloc(1, sizeof *p);
    if (p == NULL)
        return FL_ENOMEM;
    p->call = call;
    p->is_leader = true;
    p->node = node;
    p->id = c->next_id++;
    /* The harness asks every node at once and a program answers in turn: the
     * last in the queue waits for the others. */
    p->deadline = uv_now(c->loop) + (call->timeout_ms > 0 ? call->timeout_ms : 1000) * c->n;
    call->impl = p;
    char name[16];
    snprintf(name, sizeof name, "n%u", node + 1);
    json_t *msg =
        json_pack("{s:I,s:{s:s,s:s}}", "id", (json_int_t)p->id, "op", "f", "leader", "node", name);
    int rv = submit(c, p, msg);
    if (rv != 0) {
        call->impl = NULL;
        fl_free(p);
    }
    return rv;
}

/* Once closing and every program is gone: the timer closes, then the
 * remaining callbacks run and the close callback (none for a failed open). */
static void close_step(struct cc_client *c)
{
    if (!c->closing || c->prog != NULL || c->dying != NULL)
        return;
    if (!c->timer_closing) {
        c->timer_closing = true;
        uv_timer_stop(&c->timer);
        uv_close((uv_handle_t *)&c->timer, on_timer_closed);
        return;
    }
    if (!c->timer_closed)
        return;
    run_done(c, true);
    void (*cb)(void *) = c->close_cb;
    void *data = c->close_data;
    free_client(c);
    if (cb != NULL)
        cb(data);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct cc_client *c = h->data;
    c->timer_closed = true;
    close_step(c);
}

/* Closing: in-flight calls end, stdin closes (a well-behaved program exits
 * on EOF), SIGKILL after the grace time. */
static void cc_client_close(void *client, void (*cb)(void *data), void *data)
{
    struct cc_client *c = client;
    c->closing = true;
    c->close_cb = cb;
    c->close_data = data;
    drop_prog(c, "client program: client closed", true);
    arm_timer(c);
    close_step(c);
}

const struct workload_adapter workload_adapter_client = {
    .name = "client",
    .node_argv = workload_process_node_argv,
    .client_addr = workload_process_client_addr,
    .peer_addr = workload_process_peer_addr,
    .client_open = cc_client_open,
    .invoke = cc_invoke,
    .leader = cc_leader,
    .client_close = cc_client_close,
    .clock_faults = false, /* options.dynamic decides, as for "process" */
    .membership = false,
};
