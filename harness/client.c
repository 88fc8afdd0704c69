/* client.c - `faultline client`: kv, counter and membership requests to a reference-node cluster
 * (node/client/client.h), for people. */
#include "harness/client.h"

#include "common/alloc.h"
#include "common/error.h"
#include "node/client/client.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define EXIT_OK      0
#define EXIT_FAIL    1
#define EXIT_UNKNOWN 2
#define EXIT_USAGE   3

#define MAX_POS 8

struct cli {
    uv_loop_t loop;
    struct client c;
    struct client_req req;
    uv_signal_t sigint, sigterm;
    bool json;
    const char *cmd;
    const char *key;
    long long count; /* watch: events to print before exiting; 0 = until Ctrl-C */
    long long seen;
    bool watching;
    bool stopping;
    int rc;
};

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: faultline client --cluster ADDR,ADDR... [--timeout-ms N] [--json] COMMAND ...\n"
        "\n"
        "Sends one request to a faultline-node cluster (client addresses, host:port), finding\n"
        "the leader and retrying across leader changes until the deadline (--timeout-ms,\n"
        "default 5000).\n"
        "\n"
        "commands:\n"
        "  put K V            write V (JSON if it parses, else a string) at key K\n"
        "  get K [--consistency linearizable|lease|sequential]   read K (default\n"
        "                     linearizable); prints the value as JSON\n"
        "  cas K OLD NEW      compare-and-set K from OLD to NEW (JSON or strings)\n"
        "  delete K           delete K\n"
        "  watch K [--count N]  print each change of K as a JSON line until Ctrl-C or N events\n"
        "  add N / read       counter clusters: add N, read the counter\n"
        "  members            print the membership as the contacted node sees it\n"
        "  join NODE PEER CLIENT [--role passive|voter]   add a node (default passive)\n"
        "  leave NODE | promote NODE | demote NODE\n"
        "\n"
        "options:\n"
        "  --cluster LIST     comma-separated client addresses (required)\n"
        "  --timeout-ms N     deadline of the request in milliseconds (default 5000)\n"
        "  --json             print the outcome as one JSON object\n"
        "  -h, --help         this help\n"
        "\n"
        "exit status: 0 ok, 1 definite failure (e.g. cas mismatch, bad request), 2 unknown\n"
        "outcome (timeout, connection lost after sending), 3 usage or connection error.\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "faultline client: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see faultline client --help)\n");
    return EXIT_USAGE;
}

/* Parses a decimal integer in [lo, hi]. */
static bool parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* A value from the command line: JSON when it parses, else the string. New reference. */
static json_t *parse_value(const char *s)
{
    json_t *v = json_loads(s, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    return v != NULL ? v : json_string(s);
}

static void print_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s != NULL) {
        printf("%s\n", s);
        free(s);
    }
    fflush(stdout);
}

/* ==== Shutdown ==== */

static void on_client_closed(struct client *c)
{
    struct cli *x = c->data;
    if (!uv_is_closing((uv_handle_t *)&x->sigint))
        uv_close((uv_handle_t *)&x->sigint, NULL);
    if (!uv_is_closing((uv_handle_t *)&x->sigterm))
        uv_close((uv_handle_t *)&x->sigterm, NULL);
}

static void stop(struct cli *x, int rc)
{
    if (x->stopping)
        return;
    x->stopping = true;
    x->rc = rc;
    client_close(&x->c, on_client_closed);
}

static void on_signal(uv_signal_t *s, int signum)
{
    (void)signum;
    struct cli *x = s->data;
    /* Ctrl-C ends a watch normally; during another request the outcome stays unknown */
    stop(x, x->watching ? EXIT_OK : EXIT_UNKNOWN);
    if (!x->watching)
        fprintf(stderr, "faultline client: %s: interrupted, outcome unknown\n", x->cmd);
}

/* ==== Outcomes ==== */

static void report_json(struct cli *x, struct client_req *r)
{
    json_t *o =
        json_pack("{s:s,s:s}", "command", x->cmd, "outcome", client_outcome_name(r->outcome));
    if (o == NULL)
        return;
    if (r->error != NULL)
        json_object_set_new(o, "error", json_string(r->error));
    if (r->message != NULL)
        json_object_set_new(o, "message", json_string(r->message));
    if (r->index != 0)
        json_object_set_new(o, "index", json_integer((json_int_t)r->index));
    if (r->result != NULL) {
        json_t *v = json_object_get(r->result, "value");
        if (strcmp(x->cmd, "members") == 0) {
            json_t *copy = json_copy((json_t *)r->result); /* without the envelope */
            json_object_del(copy, "type");
            json_object_del(copy, "id");
            json_object_del(copy, "ok");
            json_object_set_new(o, "reply", copy);
        } else if (v != NULL)
            json_object_set(o, "value", v);
    }
    print_json(o);
    json_decref(o);
}

static void print_members(const json_t *reply)
{
    json_t *leader = json_object_get(reply, "leader");
    json_t *term = json_object_get(reply, "term");
    printf("leader %s term %lld\n", json_is_string(leader) ? json_string_value(leader) : "(none)",
           json_is_integer(term) ? (long long)json_integer_value(term) : -1LL);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(reply, "members"), i, m)
    {
        const char *id = json_string_value(json_object_get(m, "id"));
        const char *role = json_string_value(json_object_get(m, "role"));
        const char *peer = json_string_value(json_object_get(m, "peer"));
        const char *cl = json_string_value(json_object_get(m, "client"));
        printf("%-6s %-8s peer %-22s client %s\n", id ? id : "?", role ? role : "?",
               peer ? peer : "?", cl ? cl : "?");
    }
    fflush(stdout);
}

static int exit_for(struct cli *x, struct client_req *r)
{
    if (r->outcome == CLIENT_OK)
        return EXIT_OK;
    if (r->outcome == CLIENT_UNKNOWN) {
        fprintf(stderr, "faultline client: %s: outcome unknown: %s%s%s\n", x->cmd, r->error,
                r->message ? ": " : "", r->message ? r->message : "");
        return EXIT_UNKNOWN;
    }
    /* a deadline with no attempt possibly accepted: the cluster was not reached */
    if (r->error != NULL && strcmp(r->error, "timeout") == 0) {
        const char *why = client_last_error(&x->c);
        fprintf(stderr, "faultline client: %s: could not reach a leader before the deadline%s%s\n",
                x->cmd, why ? ": " : "", why ? why : "");
        return EXIT_USAGE;
    }
    fprintf(stderr, "faultline client: %s: failed: %s%s%s\n", x->cmd, r->error,
            r->message ? ": " : "", r->message ? r->message : "");
    return EXIT_FAIL;
}

static void on_done(struct client_req *r)
{
    struct cli *x = r->data;
    if (x->json)
        report_json(x, r);
    int rc = exit_for(x, r);
    if (rc == EXIT_OK && !x->json) {
        if (strcmp(x->cmd, "members") == 0) {
            print_members(r->result);
        } else if (strcmp(x->cmd, "get") == 0 || strcmp(x->cmd, "read") == 0) {
            json_t *v = r->result != NULL ? json_object_get(r->result, "value") : NULL;
            json_t *null = json_null();
            print_json(v != NULL ? v : null);
            json_decref(null);
        } else if (strcmp(x->cmd, "watch") != 0) {
            printf("ok\n");
            fflush(stdout);
        }
    }
    if (rc == EXIT_OK && strcmp(x->cmd, "watch") == 0 && !x->stopping) {
        x->watching = true; /* now print events until Ctrl-C or --count */
        if (x->count == 0 || x->seen < x->count)
            return;
    }
    stop(x, rc);
}

static void on_event(struct client *c, uint64_t event_index, uint64_t index, const json_t *event,
                     void *data)
{
    (void)c;
    (void)index;
    (void)event_index;
    struct cli *x = data;
    if (x->stopping || strcmp(x->cmd, "watch") != 0)
        return;
    if (event == NULL) {
        fprintf(stderr, "faultline client: watch %s: the session was lost; the watch ended\n",
                x->key);
        stop(x, EXIT_UNKNOWN);
        return;
    }
    print_json(event);
    x->seen++;
    if (x->watching && x->count != 0 && x->seen >= x->count)
        stop(x, EXIT_OK);
}

/* ==== Command line ==== */

static int submit(struct cli *x, const char **pos, int npos, const char *consistency,
                  const char *role)
{
    const char *cmd = x->cmd;
    struct client_req *r = &x->req;
    json_t *op = NULL;
    int rc;
#define NEED(n)                                                                                    \
    do {                                                                                           \
        if (npos != (n))                                                                           \
            return usage_error("%s: wrong number of arguments", cmd);                              \
    } while (0)
    if (strcmp(cmd, "put") == 0) {
        NEED(3);
        op = json_pack("{s:s,s:s,s:o}", "f", "write", "key", pos[1], "value", parse_value(pos[2]));
        rc = op ? client_command(&x->c, r, op, on_done) : FL_ENOMEM;
    } else if (strcmp(cmd, "get") == 0) {
        NEED(2);
        enum client_consistency k = CLIENT_LINEARIZABLE;
        if (consistency != NULL && client_consistency_parse(consistency, &k) < 0)
            return usage_error("--consistency: \"%s\" is not linearizable, lease or sequential",
                               consistency);
        op = json_pack("{s:s,s:s}", "f", "read", "key", pos[1]);
        rc = op ? client_query(&x->c, r, op, k, on_done) : FL_ENOMEM;
    } else if (strcmp(cmd, "cas") == 0) {
        NEED(4);
        op = json_pack("{s:s,s:s,s:[o,o]}", "f", "cas", "key", pos[1], "value", parse_value(pos[2]),
                       parse_value(pos[3]));
        rc = op ? client_command(&x->c, r, op, on_done) : FL_ENOMEM;
    } else if (strcmp(cmd, "delete") == 0) {
        NEED(2);
        op = json_pack("{s:s,s:s}", "f", "delete", "key", pos[1]);
        rc = op ? client_command(&x->c, r, op, on_done) : FL_ENOMEM;
    } else if (strcmp(cmd, "watch") == 0) {
        NEED(2);
        x->key = pos[1];
        op = json_pack("{s:s,s:s}", "f", "watch", "key", pos[1]);
        r->timeout_ms = 0;
        rc = op ? client_command(&x->c, r, op, on_done) : FL_ENOMEM;
    } else if (strcmp(cmd, "add") == 0) {
        NEED(2);
        long long n;
        if (!parse_ll(pos[1], INT64_MIN, INT64_MAX, &n))
            return usage_error("add: \"%s\" is not an integer", pos[1]);
        op = json_pack("{s:s,s:I}", "f", "add", "value", (json_int_t)n);
        rc = op ? client_command(&x->c, r, op, on_done) : FL_ENOMEM;
    } else if (strcmp(cmd, "read") == 0) {
        NEED(1);
        enum client_consistency k = CLIENT_LINEARIZABLE;
        if (consistency != NULL && client_consistency_parse(consistency, &k) < 0)
            return usage_error("--consistency: \"%s\" is not linearizable, lease or sequential",
                               consistency);
        op = json_pack("{s:s}", "f", "read");
        rc = op ? client_query(&x->c, r, op, k, on_done) : FL_ENOMEM;
    } else if (strcmp(cmd, "members") == 0) {
        NEED(1);
        rc = client_members(&x->c, r, on_done);
    } else if (strcmp(cmd, "join") == 0) {
        NEED(4);
        const char *rl = role != NULL ? role : "passive";
        if (strcmp(rl, "passive") != 0 && strcmp(rl, "voter") != 0)
            return usage_error("--role: \"%s\" is not passive or voter", rl);
        rc = client_join(&x->c, r, pos[1], pos[2], pos[3], rl, on_done);
    } else if (strcmp(cmd, "leave") == 0) {
        NEED(2);
        rc = client_leave(&x->c, r, pos[1], on_done);
    } else if (strcmp(cmd, "promote") == 0) {
        NEED(2);
        rc = client_promote(&x->c, r, pos[1], on_done);
    } else if (strcmp(cmd, "demote") == 0) {
        NEED(2);
        rc = client_demote(&x->c, r, pos[1], on_done);
    } else {
        return usage_error("unknown command \"%s\"", cmd);
    }
#undef NEED
    json_decref(op);
    if (rc == FL_ELIMIT) {
        fprintf(stderr, "faultline client: %s: a key over 256 bytes or a value over 64 KiB\n", cmd);
        return EXIT_FAIL;
    }
    if (rc < 0)
        return usage_error("%s: invalid arguments", cmd);
    return 0;
}

int harness_client_main(int argc, char **argv)
{
    const char *cluster = NULL, *consistency = NULL, *role = NULL;
    long long timeout = 5000, count = 0;
    bool json = false, opts_done = false;
    const char *pos[MAX_POS];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_next = i + 1 < argc;
        if (!opts_done && a[0] == '-' && a[1] == '-' && a[2] == '\0') {
            opts_done = true;
        } else if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            usage(stdout);
            return EXIT_OK;
        } else if (!opts_done && strcmp(a, "--json") == 0) {
            json = true;
        } else if (!opts_done && strncmp(a, "--", 2) == 0 &&
                   (strcmp(a, "--cluster") == 0 || strcmp(a, "--timeout-ms") == 0 ||
                    strcmp(a, "--consistency") == 0 || strcmp(a, "--count") == 0 ||
                    strcmp(a, "--role") == 0)) {
            if (!has_next)
                return usage_error("%s needs a value", a);
            const char *v = argv[++i];
            if (strcmp(a, "--cluster") == 0)
                cluster = v;
            else if (strcmp(a, "--consistency") == 0)
                consistency = v;
            else if (strcmp(a, "--role") == 0)
                role = v;
            else if (strcmp(a, "--timeout-ms") == 0 && !parse_ll(v, 1, 86400000, &timeout))
                return usage_error("--timeout-ms: \"%s\" is not a number of milliseconds "
                                   "(1..86400000)",
                                   v);
            else if (strcmp(a, "--count") == 0 && !parse_ll(v, 1, 1000000000, &count))
                return usage_error("--count: \"%s\" is not a positive number", v);
        } else if (!opts_done && a[0] == '-' && a[1] == '-') {
            return usage_error("unknown option \"%s\"", a);
        } else {
            if (npos == MAX_POS)
                return usage_error("too many arguments starting at \"%s\"", a);
            pos[npos++] = a;
        }
    }
    if (npos == 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (cluster == NULL)
        return usage_error("%s: --cluster ADDR,... is required", pos[0]);

    /* split the cluster list */
    char buf[CLIENT_ADDRS_MAX * CLIENT_ADDR_MAX];
    if (strlen(cluster) >= sizeof buf)
        return usage_error("--cluster: list too long (%s)", "at most 16 addresses");
    snprintf(buf, sizeof buf, "%s", cluster);
    const char *addrs[CLIENT_ADDRS_MAX];
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        if (n == CLIENT_ADDRS_MAX)
            return usage_error("--cluster: more than 16 addresses (%s)", cluster);
        addrs[n++] = t;
    }

    struct cli *x = fl_calloc(1, sizeof *x);
    if (x == NULL) {
        fprintf(stderr, "faultline client: out of memory\n");
        return EXIT_USAGE;
    }
    x->json = json;
    x->cmd = pos[0];
    x->count = count;
    int rc = uv_loop_init(&x->loop);
    if (rc < 0) {
        fprintf(stderr, "faultline client: event loop: %s\n", uv_strerror(rc));
        fl_free(x);
        return EXIT_USAGE;
    }
    struct client_config cfg = {
        .addrs = addrs,
        .n_addrs = n,
        .op_timeout_ms = (uint64_t)timeout,
        .on_event = on_event,
        .event_data = x,
    };
    char err[FL_ERRMSG_SIZE];
    rc = client_init(&x->c, &x->loop, &cfg, err);
    if (rc < 0) {
        fprintf(stderr, "faultline client: %s\n", err);
        uv_run(&x->loop, UV_RUN_DEFAULT);
        uv_loop_close(&x->loop);
        fl_free(x);
        return EXIT_USAGE;
    }
    x->c.data = x;
    x->req.data = x;
    uv_signal_init(&x->loop, &x->sigint);
    uv_signal_init(&x->loop, &x->sigterm);
    x->sigint.data = x->sigterm.data = x;
    uv_signal_start(&x->sigint, on_signal, SIGINT);
    uv_signal_start(&x->sigterm, on_signal, SIGTERM);
    /* a watch has no deadline once it is set up; its setup does */
    rc = submit(x, pos, npos, consistency, role);
    if (rc != 0) {
        x->stopping = true;
        client_close(&x->c, on_client_closed);
    }
    uv_run(&x->loop, UV_RUN_DEFAULT);
    uv_loop_close(&x->loop);
    int out = rc != 0 ? rc : x->rc;
    fl_free(x);
    return out;
}
