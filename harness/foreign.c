/* foreign.c - validating the options of foreign systems (files, processes, hooks, events, client). */
#include "harness/foreign.h"

#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "workloads/adapter.h"
#include "workloads/render.h"

#define ARGV_MAX 32
#define ARG_MAX  4096
#define BIN_MAX  512

static const char *const keys[] = {"client",    "processes",   "files",  "hooks", "events",
                                   "peer_port", "client_port", "upload", NULL};

bool harness_foreign_key(const char *key)
{
    for (size_t i = 0; keys[i] != NULL; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

struct fctx {
    const char *name;
    char *errmsg;
};

static int fail(struct fctx *c, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct fctx *c, int code, const char *field, const char *fmt, ...)
{
    char what[FL_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fl_errorf(c->errmsg, code, "scenario %s: implementation.options.%s: %s", c->name,
                     field, what);
}

static int only(struct fctx *c, json_t *o, const char *field, const char *const *allowed)
{
    const char *k;
    json_t *v;
    if (!json_is_object(o))
        return fail(c, FL_ESHAPE, field, "expected an object");
    json_object_foreach(o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL; i++)
            ok = ok || strcmp(k, allowed[i]) == 0;
        if (!ok)
            return fail(c, FL_ESHAPE, field, "unknown field \"%.64s\"", k);
    }
    return 0;
}

/* A string of 1..max-1 bytes. */
static int text(struct fctx *c, json_t *v, const char *field, size_t max, bool empty_ok)
{
    if (!json_is_string(v))
        return fail(c, FL_ESHAPE, field, "expected a string");
    size_t n = json_string_length(v);
    if ((n == 0 && !empty_ok) || n >= max || strlen(json_string_value(v)) != n)
        return fail(c, FL_ELIMIT, field, "expected 1 to %zu bytes without NUL", max - 1);
    return 0;
}

/* An argv: 1..ARGV_MAX strings (or 0..ARGV_MAX with zero_ok). */
static int argv_field(struct fctx *c, json_t *v, const char *field, bool zero_ok)
{
    if (!json_is_array(v))
        return fail(c, FL_ESHAPE, field, "expected an array of strings");
    if ((!zero_ok && json_array_size(v) == 0) || json_array_size(v) > ARGV_MAX)
        return fail(c, FL_ELIMIT, field, "expected %d to %d strings", zero_ok ? 0 : 1, ARGV_MAX);
    size_t i;
    json_t *a;
    json_array_foreach(v, i, a)
    {
        char f[96];
        snprintf(f, sizeof f, "%s[%zu]", field, i);
        int rc = text(c, a, f, ARG_MAX, true);
        if (rc)
            return rc;
    }
    return 0;
}

/* binary + args of a program (client, processes[i]). */
static int program(struct fctx *c, json_t *o, const char *field, const char *const *allowed)
{
    char f[96];
    int rc = only(c, o, field, allowed);
    if (rc)
        return rc;
    snprintf(f, sizeof f, "%s.binary", field);
    if ((rc = text(c, json_object_get(o, "binary"), f, BIN_MAX, false)))
        return rc;
    json_t *args = json_object_get(o, "args");
    snprintf(f, sizeof f, "%s.args", field);
    return args != NULL ? argv_field(c, args, f, true) : 0;
}

static bool safe_path(const char *p)
{
    if (p[0] == '/' || p[0] == '\0')
        return false;
    for (const char *s = p; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-' || *s == '/'))
            return false;
    return strstr(p, "..") == NULL && strstr(p, "//") == NULL && p[strlen(p) - 1] != '/';
}

/* Reads a template file (at most HARNESS_FOREIGN_FILE_MAX bytes). */
static int read_template(struct fctx *c, const char *field, const char *path, json_t **out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL && errno == ENOENT && path[0] != '/') {
        /* Run from another folder, a scenario's relative paths miss: say where they were read. */
        char cwd[256];
        if (getcwd(cwd, sizeof cwd) == NULL)
            snprintf(cwd, sizeof cwd, "?");
        return fail(c, -ENOENT, field,
                    "template \"%.120s\" not found from %.80s (relative paths are read from "
                    "the working directory)",
                    path, cwd);
    }
    if (f == NULL)
        return fail(c, -errno, field, "template \"%.200s\": %s", path, strerror(errno));
    char *buf = malloc(HARNESS_FOREIGN_FILE_MAX + 1);
    size_t n = buf != NULL ? fread(buf, 1, HARNESS_FOREIGN_FILE_MAX + 1, f) : 0;
    bool err = ferror(f) != 0;
    fclose(f);
    if (buf == NULL)
        return fail(c, FL_ENOMEM, field, "out of memory");
    int rc = 0;
    if (err)
        rc = fail(c, -EIO, field, "template \"%.200s\": read error", path);
    else if (n > HARNESS_FOREIGN_FILE_MAX)
        rc = fail(c, FL_ELIMIT, field, "template \"%.200s\": more than %d bytes", path,
                  HARNESS_FOREIGN_FILE_MAX);
    else if (memchr(buf, '\0', n) != NULL)
        rc = fail(c, FL_ESHAPE, field, "template \"%.200s\": a NUL byte (not text)", path);
    else if ((*out = json_stringn(buf, n)) == NULL)
        rc = fail(c, FL_ESHAPE, field, "template \"%.200s\": not UTF-8 text", path);
    free(buf);
    return rc;
}

static int parse_files(struct fctx *c, json_t *files, json_t *outv)
{
    static const char *const fk[] = {"path", "template", "text", NULL};
    if (!json_is_array(files))
        return fail(c, FL_ESHAPE, "files", "expected an array of {\"path\", \"template\"|\"text\"}");
    if (json_array_size(files) > HARNESS_FOREIGN_MAX_FILES)
        return fail(c, FL_ELIMIT, "files", "more than %d files", HARNESS_FOREIGN_MAX_FILES);
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f)
    {
        char field[64];
        snprintf(field, sizeof field, "files[%zu]", i);
        int rc = only(c, f, field, fk);
        if (rc)
            return rc;
        json_t *path = json_object_get(f, "path"), *tpl = json_object_get(f, "template"),
               *txt = json_object_get(f, "text");
        char sub[80];
        snprintf(sub, sizeof sub, "%s.path", field);
        if ((rc = text(c, path, sub, 128, false)))
            return rc;
        if (!safe_path(json_string_value(path)))
            return fail(c, FL_ESHAPE, sub,
                        "\"%.64s\": expected a relative path of [A-Za-z0-9._-] and '/', no '..'",
                        json_string_value(path));
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(files, j), "path")),
                       json_string_value(path)) == 0)
                return fail(c, FL_ESHAPE, sub, "\"%.64s\" listed twice", json_string_value(path));
        if (tpl == NULL && txt == NULL)
            return fail(c, FL_ESHAPE, field, "needs \"template\" (a file) or \"text\"");
        json_t *o = json_pack("{s:O}", "path", path);
        if (o == NULL)
            return fail(c, FL_ENOMEM, field, "out of memory");
        if (tpl != NULL) {
            snprintf(sub, sizeof sub, "%s.template", field);
            if ((rc = text(c, tpl, sub, 512, false))) {
                json_decref(o);
                return rc;
            }
            json_object_set(o, "template", tpl);
        }
        if (txt != NULL) { /* the text wins: a scenario written by a run carries both */
            snprintf(sub, sizeof sub, "%s.text", field);
            if ((rc = text(c, txt, sub, HARNESS_FOREIGN_FILE_MAX + 1, true))) {
                json_decref(o);
                return rc;
            }
            json_object_set(o, "text", txt);
        } else {
            json_t *t = NULL;
            if ((rc = read_template(c, field, json_string_value(tpl), &t))) {
                json_decref(o);
                return rc;
            }
            json_object_set_new(o, "text", t);
        }
        json_array_append_new(outv, o);
    }
    return 0;
}

static int parse_events(struct fctx *c, json_t *ev)
{
    static const char *const ek[] = {"pattern", "f", NULL};
    if (!json_is_array(ev))
        return fail(c, FL_ESHAPE, "events", "expected an array of {\"pattern\", \"f\"}");
    if (json_array_size(ev) > HARNESS_FOREIGN_MAX_EVENTS)
        return fail(c, FL_ELIMIT, "events", "more than %d patterns", HARNESS_FOREIGN_MAX_EVENTS);
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        char field[64], sub[80];
        snprintf(field, sizeof field, "events[%zu]", i);
        int rc = only(c, e, field, ek);
        if (rc)
            return rc;
        snprintf(sub, sizeof sub, "%s.pattern", field);
        if ((rc = text(c, json_object_get(e, "pattern"), sub, 256, false)))
            return rc;
        regex_t re;
        int rr = regcomp(&re, json_string_value(json_object_get(e, "pattern")),
                         REG_EXTENDED | REG_NOSUB);
        if (rr != 0) {
            char m[128];
            regerror(rr, NULL, m, sizeof m);
            return fail(c, FL_ESHAPE, sub, "not a POSIX extended regular expression: %s", m);
        }
        regfree(&re);
        snprintf(sub, sizeof sub, "%s.f", field);
        json_t *f = json_object_get(e, "f");
        if ((rc = text(c, f, sub, 41, false)))
            return rc;
        for (const char *s = json_string_value(f); *s != '\0'; s++)
            if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
                  *s == '+'))
                return fail(c, FL_ESHAPE, sub, "expected [a-z0-9_+-], got \"%.40s\"",
                            json_string_value(f));
    }
    return 0;
}

static int parse_hooks(struct fctx *c, json_t *h)
{
    static const char *const hk[] = {"setup", "start", "stop", "teardown", "timeout_ms", NULL};
    int rc = only(c, h, "hooks", hk);
    if (rc)
        return rc;
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_object_get(h, hk[i]);
        char f[32];
        snprintf(f, sizeof f, "hooks.%s", hk[i]);
        if (v != NULL && (rc = argv_field(c, v, f, false)))
            return rc;
    }
    json_t *t = json_object_get(h, "timeout_ms");
    if (t != NULL && (!json_is_integer(t) || json_integer_value(t) < 100 ||
                      json_integer_value(t) > 600000))
        return fail(c, FL_ELIMIT, "hooks.timeout_ms", "expected an integer from 100 to 600000");
    return 0;
}

/* options.upload: local files copied to each host's run folder (bin/BASENAME) when the nodes
 * run on hosts; a binary or argument naming one of them gets the host's copy there. */
static int parse_upload(struct fctx *c, json_t *up)
{
    if (!json_is_array(up) || json_array_size(up) == 0 ||
        json_array_size(up) > HARNESS_FOREIGN_MAX_UPLOADS)
        return fail(c, FL_ESHAPE, "upload", "expected 1 to %d paths of local files",
                    HARNESS_FOREIGN_MAX_UPLOADS);
    size_t i;
    json_t *v;
    json_array_foreach(up, i, v)
    {
        char f[32];
        snprintf(f, sizeof f, "upload[%zu]", i);
        int rc = text(c, v, f, BIN_MAX, false);
        if (rc)
            return rc;
        const char *base = harness_foreign_upload_name(json_string_value(v));
        if (base == NULL)
            return fail(c, FL_ESHAPE, f,
                        "\"%.64s\": expected a file path whose last part is [A-Za-z0-9._-]",
                        json_string_value(v));
        for (size_t j = 0; j < i; j++)
            if (strcmp(harness_foreign_upload_name(json_string_value(json_array_get(up, j))),
                       base) == 0)
                return fail(c, FL_ESHAPE, f, "\"%.64s\": a second file named %s (each lands in "
                                             "the host's bin/ under its own name)",
                            json_string_value(v), base);
    }
    return 0;
}

const char *harness_foreign_upload_name(const char *path)
{
    const char *slash = strrchr(path, '/'), *b = slash != NULL ? slash + 1 : path;
    if (b[0] == '\0' || strcmp(b, ".") == 0 || strcmp(b, "..") == 0)
        return NULL;
    for (const char *s = b; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return NULL;
    return b;
}

int harness_foreign_parse(json_t *opts, const char *name, bool client_impl, char *out,
                          size_t outlen, char *errmsg)
{
    static const char *const pk[] = {"binary", "args", NULL};
    static const char *const prk[] = {"name", "binary", "args", NULL};
    struct fctx cx = {name, errmsg}, *c = &cx;
    int rc = 0;
    json_t *res = json_object();
    if (res == NULL)
        return fail(c, FL_ENOMEM, "client", "out of memory");
    out[0] = '\0';
    json_t *v;
    for (int p = 0; p < 2; p++) {
        const char *k = p ? "client_port" : "peer_port";
        if ((v = json_object_get(opts, k)) == NULL)
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
            rc = fail(c, FL_ELIMIT, k, "expected a port from 1 to 65535");
        else
            json_object_set(res, k, v);
        if (rc)
            goto out;
    }
    if ((v = json_object_get(opts, "client")) != NULL || client_impl) {
        if (!client_impl) {
            rc = fail(c, FL_ESHAPE, "client", "only the client implementation has a client program");
            goto out;
        }
        if (v == NULL) {
            rc = fail(c, FL_ESHAPE, "client",
                      "required for the client implementation: {\"binary\", \"args\"} of the "
                      "client program (workloads/CLIENT_PROTOCOL.md)");
            goto out;
        }
        if ((rc = program(c, v, "client", pk)))
            goto out;
        json_object_set(res, "client", v);
    }
    if ((v = json_object_get(opts, "processes")) != NULL) {
        const char *b = json_string_value(json_object_get(opts, "binary"));
        if (b != NULL && b[0] != '\0') {
            rc = fail(c, FL_ESHAPE, "processes", "give binary/args (one process) or processes, "
                                                 "not both");
            goto out;
        }
        if (!json_is_array(v) || json_array_size(v) == 0 ||
            json_array_size(v) > HARNESS_FOREIGN_MAX_PROCS) {
            rc = fail(c, FL_ESHAPE, "processes", "expected 1 to %d {\"name\", \"binary\", \"args\"}",
                      HARNESS_FOREIGN_MAX_PROCS);
            goto out;
        }
        size_t i;
        json_t *p;
        json_array_foreach(v, i, p)
        {
            char field[48];
            snprintf(field, sizeof field, "processes[%zu]", i);
            if ((rc = program(c, p, field, prk)))
                goto out;
            json_t *nm = json_object_get(p, "name");
            if (nm != NULL) {
                char sub[64];
                snprintf(sub, sizeof sub, "%s.name", field);
                if ((rc = text(c, nm, sub, 33, false)))
                    goto out;
            }
        }
        json_object_set(res, "processes", v);
    }
    if ((v = json_object_get(opts, "files")) != NULL) {
        json_t *files = json_array();
        if ((rc = parse_files(c, v, files))) {
            json_decref(files);
            goto out;
        }
        json_object_set_new(res, "files", files);
    }
    if ((v = json_object_get(opts, "hooks")) != NULL) {
        if ((rc = parse_hooks(c, v)))
            goto out;
        json_object_set(res, "hooks", v);
    }
    if ((v = json_object_get(opts, "events")) != NULL) {
        if ((rc = parse_events(c, v)))
            goto out;
        json_object_set(res, "events", v);
    }
    if ((v = json_object_get(opts, "upload")) != NULL) {
        if ((rc = parse_upload(c, v)))
            goto out;
        json_object_set(res, "upload", v);
    }
    if (json_object_size(res) > 0) {
        char *t = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
        if (t == NULL)
            rc = fail(c, FL_ENOMEM, "files", "out of memory");
        else if (strlen(t) >= outlen)
            rc = fail(c, FL_ELIMIT, "files",
                      "files, processes, hooks, events, upload and client together exceed %zu "
                      "bytes",
                      outlen - 1);
        else
            memcpy(out, t, strlen(t) + 1);
        free(t);
    }
out:
    json_decref(res);
    return rc;
}

/* Renders one argv array for node i (or the client program when i < 0). */
static int check_argv(struct fctx *c, const struct workload_cluster *cl, int i, json_t *args,
                      const char *field)
{
    struct fl_buf b;
    fl_buf_init(&b);
    int rc = 0;
    for (size_t k = 0; k < json_array_size(args) && rc == 0; k++) {
        const char *t = json_string_value(json_array_get(args, k));
        char what[96], err[FL_ERRMSG_SIZE];
        snprintf(what, sizeof what, "%s[%zu]", field, k);
        fl_buf_reset(&b);
        if (t != NULL && (rc = workload_render(cl, i, "0", t, strlen(t), what, &b, ARG_MAX, err)))
            fl_errorf(c->errmsg, rc, "scenario %s: implementation.options.%s", c->name, err);
    }
    fl_buf_free(&b);
    return rc;
}

int harness_foreign_check(json_t *opts, const char *name, unsigned n, bool client_impl,
                          char *errmsg)
{
    struct fctx cx = {name, errmsg}, *c = &cx;
    struct workload_cluster cl = {0};
    char addr[WORKLOAD_MAX_NODES][20], data[WORKLOAD_MAX_NODES][40], conf[WORKLOAD_MAX_NODES][48];
    cl.n = n < WORKLOAD_MAX_NODES ? n : WORKLOAD_MAX_NODES;
    cl.options = opts;
    cl.model = WORKLOAD_KV;
    for (unsigned i = 0; i < cl.n; i++) {
        snprintf(addr[i], sizeof addr[i], "198.51.100.%u", i + 1);
        snprintf(data[i], sizeof data[i], "/tmp/fl-000000/n%u", i + 1);
        snprintf(conf[i], sizeof conf[i], "/tmp/fl-000000/n%u.conf", i + 1);
        cl.addr[i] = addr[i];
        cl.data_dir[i] = data[i];
        cl.conf_dir[i] = conf[i];
    }
    int rc = 0;
    json_t *procs = json_object_get(opts, "processes"), *hooks = json_object_get(opts, "hooks");
    json_t *files = json_object_get(opts, "files");
    static const char *const hk[] = {"setup", "start", "stop", "teardown"};
    for (unsigned i = 0; i < cl.n && rc == 0; i++) {
        rc = check_argv(c, &cl, (int)i, json_object_get(opts, "args"), "args");
        for (size_t p = 0; p < json_array_size(procs) && rc == 0; p++) {
            char f[48];
            snprintf(f, sizeof f, "processes[%zu].args", p);
            rc = check_argv(c, &cl, (int)i, json_object_get(json_array_get(procs, p), "args"), f);
        }
        for (size_t h = 0; h < 4 && rc == 0; h++) {
            char f[32];
            snprintf(f, sizeof f, "hooks.%s", hk[h]);
            rc = check_argv(c, &cl, (int)i, json_object_get(hooks, hk[h]), f);
        }
        for (size_t k = 0; k < json_array_size(files) && rc == 0; k++) {
            json_t *f = json_array_get(files, k);
            const char *t = json_string_value(json_object_get(f, "text"));
            const char *src = json_string_value(json_object_get(f, "template"));
            char what[600], err[FL_ERRMSG_SIZE];
            snprintf(what, sizeof what, "files[%zu] (%.200s)", k,
                     src ? src : json_string_value(json_object_get(f, "path")));
            struct fl_buf b;
            fl_buf_init(&b);
            if (t != NULL && (rc = workload_render(&cl, (int)i, NULL, t, strlen(t), what, &b,
                                                   4 * HARNESS_FOREIGN_FILE_MAX, err)))
                fl_errorf(errmsg, rc, "scenario %s: implementation.options.%s", name, err);
            fl_buf_free(&b);
        }
    }
    if (rc == 0 && client_impl)
        rc = check_argv(c, &cl, -1, json_object_get(json_object_get(opts, "client"), "args"),
                        "client.args");
    return rc;
}
