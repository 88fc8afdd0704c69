/* history.c - event helpers, format detection, reader dispatch and writers. */
#include "common/edn.h"
#include "common/history.h"

#include "common/alloc.h"
#include "common/error.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== Events ==== */

void fl_event_init(struct fl_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->index = -1;
    ev->time = -1;
    ev->latency = -1;
}

void fl_event_clear(struct fl_event *ev)
{
    fl_free(ev->f);
    fl_free(ev->node);
    fl_free(ev->consistency);
    json_decref(ev->key);
    json_decref(ev->value);
    json_decref(ev->session);
    json_decref(ev->error);
    fl_event_init(ev);
}

static const char *const type_names[] = {"invoke", "ok", "fail", "info"};

const char *fl_event_type_name(enum fl_event_type type)
{
    return (unsigned)type < 4 ? type_names[type] : "?";
}

int fl_event_type_parse(const char *s, enum fl_event_type *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, type_names[i]) == 0) {
            *out = (enum fl_event_type)i;
            return 0;
        }
    }
    return FL_EPARSE;
}

static const char *const format_names[] = {"auto", "jsonl", "edn", "jepsen-log"};

const char *fl_history_format_name(enum fl_history_format fmt)
{
    return (unsigned)fmt < 4 ? format_names[fmt] : "?";
}

int fl_history_format_parse(const char *s, enum fl_history_format *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, format_names[i]) == 0) {
            *out = (enum fl_history_format)i;
            return 0;
        }
    }
    return FL_EUSAGE;
}

/* Reads an optional non-negative integer field. */
static int opt_int(json_t *obj, const char *name, int64_t *out, char *errmsg)
{
    json_t *v = json_object_get(obj, name);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return fl_errorf(errmsg, FL_ESHAPE, "%s: expected a non-negative integer", name);
    *out = json_integer_value(v);
    return 0;
}

static int opt_str(json_t *obj, const char *name, char **out, char *errmsg)
{
    json_t *v = json_object_get(obj, name);
    const char *s;
    size_t n;
    if (!v || json_is_null(v))
        return 0;
    if (fl_edn_name(v, &s, &n) < 0 || memchr(s, '\0', n))
        return fl_errorf(errmsg, FL_ESHAPE, "%s: expected a string", name);
    if (n > 256)
        return fl_errorf(errmsg, FL_ELIMIT, "%s: longer than 256 bytes", name);
    *out = fl_strndup(s, n);
    if (!*out)
        return fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", name);
    return 0;
}

bool fl__history_name_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int fl_event_from_json(json_t *obj, struct fl_event *ev, char *errmsg)
{
    int rc;
    json_t *v;
    const char *s;
    size_t n;

    if (!json_is_object(obj))
        return fl_errorf(errmsg, FL_ESHAPE, "expected a JSON object");

    v = json_object_get(obj, "type");
    if (!v)
        return fl_errorf(errmsg, FL_ESHAPE, "type: missing");
    char tname[8];
    if (fl_edn_name(v, &s, &n) < 0 || n >= sizeof tname ||
        (memcpy(tname, s, n), tname[n] = '\0', fl_event_type_parse(tname, &ev->type) != 0))
        return fl_errorf(errmsg, FL_ESHAPE,
                         "type: expected \"invoke\", \"ok\", \"fail\" or \"info\"");

    v = json_object_get(obj, "process");
    if (!v)
        return fl_errorf(errmsg, FL_ESHAPE, "process: missing");
    bool named = fl_edn_name(v, &s, &n) == 0;
    if (named && n == 7 && memcmp(s, "nemesis", 7) == 0) {
        ev->process = FL_PROCESS_NEMESIS;
    } else if (named && n == 4 && memcmp(s, "node", 4) == 0) {
        ev->process = FL_PROCESS_NODE;
    } else if (json_is_integer(v) && json_integer_value(v) >= 0) {
        ev->process = json_integer_value(v);
    } else {
        return fl_errorf(errmsg, FL_ESHAPE,
                         "process: expected a non-negative integer, \"nemesis\" or \"node\"");
    }

    v = json_object_get(obj, "f");
    if (!v)
        return fl_errorf(errmsg, FL_ESHAPE, "f: missing");
    if (fl_edn_name(v, &s, &n) < 0 || n == 0 || n > FL_HISTORY_MAX_FSTR)
        return fl_errorf(errmsg, FL_ESHAPE, "f: expected a non-empty string of at most %d bytes",
                         FL_HISTORY_MAX_FSTR);
    if (!fl__history_name_ok(s, n))
        return fl_errorf(errmsg, FL_ESHAPE, "f: control characters are not allowed");
    ev->f = fl_strndup(s, n);
    if (!ev->f)
        return fl_errorf(errmsg, FL_ENOMEM, "f: out of memory");

    if ((rc = opt_int(obj, "index", &ev->index, errmsg)) ||
        (rc = opt_int(obj, "time", &ev->time, errmsg)) ||
        (rc = opt_int(obj, "latency", &ev->latency, errmsg)) ||
        (rc = opt_str(obj, "node", &ev->node, errmsg)) ||
        (rc = opt_str(obj, "consistency", &ev->consistency, errmsg)))
        return rc;

    if ((v = json_object_get(obj, "key")) && !json_is_null(v)) {
        if (!json_is_string(v) && !json_is_integer(v))
            return fl_errorf(errmsg, FL_ESHAPE, "key: expected a string or an integer");
        ev->key = json_incref(v);
    }
    if ((v = json_object_get(obj, "value")))
        ev->value = json_incref(v);
    if ((v = json_object_get(obj, "session")) && !json_is_null(v))
        ev->session = json_incref(v);
    if ((v = json_object_get(obj, "error")) && !json_is_null(v) &&
        !(ev->error = fl_edn_plain(v, 1))) /* shown, never compared: :timed-out as "timed-out" */
        return fl_errorf(errmsg, FL_ENOMEM, "error: out of memory");
    return 0;
}

/* The JSONL writer's text path (history_jsonl_write.c) writes these fields by hand in
 * this order: a field added here goes there too (test_history_write compares them). */
json_t *fl_event_to_json(const struct fl_event *ev)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int bad = 0;
    if (ev->index >= 0)
        bad |= json_object_set_new(o, "index", json_integer(ev->index));
    if (ev->time >= 0)
        bad |= json_object_set_new(o, "time", json_integer(ev->time));
    bad |= json_object_set_new(o, "process",
                               ev->process == FL_PROCESS_NEMESIS ? json_string("nemesis")
                               : ev->process == FL_PROCESS_NODE  ? json_string("node")
                                                                 : json_integer(ev->process));
    bad |= json_object_set_new(o, "type", json_string(fl_event_type_name(ev->type)));
    bad |= json_object_set_new(o, "f", json_string(ev->f ? ev->f : ""));
    if (ev->key)
        bad |= json_object_set(o, "key", ev->key);
    if (ev->value)
        bad |= json_object_set(o, "value", ev->value);
    if (ev->node)
        bad |= json_object_set_new(o, "node", json_string(ev->node));
    if (ev->consistency)
        bad |= json_object_set_new(o, "consistency", json_string(ev->consistency));
    if (ev->session)
        bad |= json_object_set(o, "session", ev->session);
    if (ev->latency >= 0)
        bad |= json_object_set_new(o, "latency", json_integer(ev->latency));
    if (ev->error)
        bad |= json_object_set(o, "error", ev->error);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ==== Readers ==== */

/* ==== Peeking at a stream that may not seek ==== */

/* A stream that reads the peeked bytes, then the rest of `under`. */
struct replay {
    FILE *under;
    bool own; /* close `under` with the replay (never stdin) */
    size_t n, off;
    char head[];
};

static ssize_t replay_read(void *cookie, char *buf, size_t size)
{
    struct replay *p = cookie;
    if (p->off < p->n) {
        size_t k = p->n - p->off < size ? p->n - p->off : size;
        memcpy(buf, p->head + p->off, k);
        p->off += k;
        return (ssize_t)k;
    }
    size_t k = fread(buf, 1, size, p->under);
    return k == 0 && ferror(p->under) ? -1 : (ssize_t)k;
}

static int replay_close(void *cookie)
{
    struct replay *p = cookie;
    int rc = 0;
    if (p->own && p->under != stdin)
        rc = fclose(p->under);
    fl_free(p);
    return rc;
}

int fl_history_peek(FILE **fpp, char *head, size_t cap, size_t *len, bool own, const char *name,
                    char *errmsg)
{
    FILE *fp = *fpp;
    size_t n = fread(head, 1, cap, fp);
    *len = n;
    if (ferror(fp))
        return fl_errorf(errmsg, -EIO, "%s: read failed", name);
    if (fseek(fp, 0, SEEK_SET) == 0)
        return 0;
    if (errno != ESPIPE)
        return fl_errorf(errmsg, -errno, "%s: cannot rewind: %s", name, strerror(errno));
    /* A pipe or FIFO: what was read cannot be read again, so it is replayed. */
    struct replay *p = fl_malloc(sizeof *p + n);
    if (!p)
        return fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", name);
    *p = (struct replay){.under = fp, .own = own, .n = n};
    memcpy(p->head, head, n);
    FILE *r = fopencookie(p, "r", (cookie_io_functions_t){.read = replay_read,
                                                          .close = replay_close});
    if (!r) {
        int e = errno;
        fl_free(p);
        return fl_errorf(errmsg, -e, "%s: %s", name, strerror(e));
    }
    *fpp = r;
    return 0;
}

/* ==== Readers ==== */

/* Peeks at the first meaningful bytes: '{"' is JSONL, '[', '(' or '{:' is
 * EDN, a line containing "jepsen" with a tab-separated :invoke/:ok is a log. */
static enum fl_history_format detect(const char *head, size_t n)
{
    size_t i = 0;
    for (;;) {
        while (i < n && (isspace((unsigned char)head[i]) || head[i] == ','))
            i++;
        if (i < n && head[i] == ';') { /* EDN comment line */
            while (i < n && head[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    enum fl_history_format fmt = FL_FORMAT_JSONL;
    if (i < n) {
        char c = head[i];
        if (c == '[' || c == '(' || c == '#')
            fmt = FL_FORMAT_EDN;
        else if (c == '{') {
            size_t j = i + 1;
            while (j < n && isspace((unsigned char)head[j]))
                j++;
            fmt = (j < n && head[j] == ':') ? FL_FORMAT_EDN : FL_FORMAT_JSONL;
        } else if (strstr(head + i, "\t:invoke") || strstr(head + i, "\t:ok") ||
                   strstr(head + i, "jepsen"))
            fmt = FL_FORMAT_JEPSEN_LOG;
    }
    return fmt;
}

int fl_history_reader_open(struct fl_history_reader *r, const char *path,
                           enum fl_history_format format, char *errmsg)
{
    int rc;
    memset(r, 0, sizeof *r);
    r->path = fl_strdup(path);
    if (!r->path)
        return fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", path);
    if (strcmp(path, "-") == 0) {
        r->fp = stdin;
        if (format == FL_FORMAT_AUTO) {
            rc = fl_errorf(errmsg, FL_EUSAGE, "-: give --format when reading standard input");
            goto err_path;
        }
    } else {
        struct stat st;
        r->fp = fopen(path, "r");
        if (!r->fp) {
            rc = fl_errorf(errmsg, -errno, "%s: %s", path, strerror(errno));
            goto err_path;
        }
        if (fstat(fileno(r->fp), &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = fl_errorf(errmsg, -EISDIR, "%s: is a directory", path);
            goto err_file;
        }
    }
    /* The stream is ours from here: open_file takes it over on success. */
    FILE *fp = r->fp;
    fl_free(r->path);
    r->path = NULL;
    rc = fl_history_reader_open_file(r, fp, path, format, errmsg);
    if (rc < 0 && fp != stdin)
        fclose(fp);
    return rc;

err_file:
    if (r->fp && r->fp != stdin)
        fclose(r->fp);
err_path:
    fl_free(r->path);
    memset(r, 0, sizeof *r);
    return rc;
}

int fl_history_reader_next(struct fl_history_reader *r, struct fl_event *ev, char *errmsg)
{
    fl_event_clear(ev);
    int rc = r->backend->next(r, ev, errmsg);
    if (rc < 0) {
        fl_event_clear(ev);
        fl_error_wrap(errmsg, rc, "%s", r->path);
    }
    return rc;
}

void fl_history_reader_set_edn_fast(struct fl_history_reader *r, fl_history_edn_fast_fn fn,
                                    void *ctx)
{
    r->edn_fast = fn;
    r->edn_fast_ctx = ctx;
}

void fl_history_reader_close(struct fl_history_reader *r)
{
    if (r->backend && r->backend->close)
        r->backend->close(r);
    if (r->fp && r->fp != stdin)
        fclose(r->fp);
    if (r->under && r->under != stdin)
        fclose(r->under);
    fl_free(r->path);
    memset(r, 0, sizeof *r);
}

/* ==== Writers ==== */

int fl_history_writer_open(struct fl_history_writer *w, const char *path,
                           enum fl_history_format format, char *errmsg)
{
    memset(w, 0, sizeof *w);
    if (format != FL_FORMAT_JSONL && format != FL_FORMAT_EDN)
        return fl_errorf(errmsg, FL_EUSAGE, "%s: can only write jsonl or edn", path);
    w->path = fl_strdup(path);
    if (!w->path)
        return fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", path);
    w->fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!w->fp) {
        int e = errno;
        fl_free(w->path);
        w->path = NULL;
        return fl_errorf(errmsg, -e, "%s: %s", path, strerror(e));
    }
    w->format = format;
    /* A run writes ~200 bytes per event: stdio's 4 KiB buffer meant a write(2) every
     * ~20 events between the run's per-iteration flushes. Same bytes, fewer syscalls. */
    if (w->fp != stdout)
        setvbuf(w->fp, NULL, _IOFBF, 1u << 16);
    if (format == FL_FORMAT_EDN)
        fputs("[", w->fp);
    return 0;
}

int fl_history_writer_write(struct fl_history_writer *w, const struct fl_event *ev, char *errmsg)
{
    if (w->format == FL_FORMAT_EDN) {
        if (w->count > 0)
            fputs(" ", w->fp);
        if (fl__history_edn_write_event(w->fp, ev) < 0)
            return fl_errorf(errmsg, -EIO, "%s: write failed", w->path);
    } else {
        struct fl_buf *b = &w->line;
        fl_buf_reset(b);
        int rc = fl__history_jsonl_format(b, ev);
        if (rc == 0)
            rc = fl__history_jsonl_format_jansson(b, ev);
        if (rc == FL_ENOMEM) {
            fl_buf_free(b);
            return fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", w->path);
        }
        if (rc < 0 || fwrite(b->data, 1, b->len, w->fp) != b->len)
            return fl_errorf(errmsg, -EIO, "%s: write failed", w->path);
        if (!w->deferred && fflush(w->fp) != 0)
            return fl_errorf(errmsg, -errno, "%s: %s", w->path, strerror(errno));
    }
    w->count++;
    return 0;
}

int fl_history_writer_flush(struct fl_history_writer *w, char *errmsg)
{
    if (w->fp != NULL && fflush(w->fp) != 0)
        return fl_errorf(errmsg, -errno, "%s: %s", w->path, strerror(errno));
    return 0;
}

int fl_history_writer_close(struct fl_history_writer *w, char *errmsg)
{
    int rc = 0;
    if (!w->fp)
        return 0;
    if (w->format == FL_FORMAT_EDN)
        fputs("]\n", w->fp);
    if (fflush(w->fp) != 0)
        rc = fl_errorf(errmsg, -errno, "%s: %s", w->path, strerror(errno));
    if (w->fp != stdout) {
        struct stat st;
        if (rc == 0 && fstat(fileno(w->fp), &st) == 0 && S_ISREG(st.st_mode) &&
            fsync(fileno(w->fp)) != 0)
            rc = fl_errorf(errmsg, -errno, "%s: fsync: %s", w->path, strerror(errno));
        if (fclose(w->fp) != 0 && rc == 0)
            rc = fl_errorf(errmsg, -errno, "%s: %s", w->path, strerror(errno));
    }
    fl_buf_free(&w->line);
    fl_free(w->path);
    memset(w, 0, sizeof *w);
    return rc;
}

/* ==== Readers over open streams ==== */

int fl_history_reader_open_file(struct fl_history_reader *r, FILE *fp, const char *name,
                                enum fl_history_format format, char *errmsg)
{
    int rc;
    memset(r, 0, sizeof *r);
    r->path = fl_strdup(name);
    if (!r->path)
        return fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", name);
    r->fp = fp;
    if (format == FL_FORMAT_AUTO) {
        char head[4096];
        size_t n;
        if ((rc = fl_history_peek(&r->fp, head, sizeof head - 1, &n, false, name, errmsg)) < 0)
            goto err;
        if (r->fp != fp)
            r->under = fp;
        head[n] = '\0';
        format = detect(head, n);
    }
    r->format = format;
    switch (format) {
    case FL_FORMAT_JSONL:
        rc = fl__history_jsonl_open(r, errmsg);
        break;
    case FL_FORMAT_EDN:
        rc = fl__history_edn_open(r, errmsg);
        break;
    case FL_FORMAT_JEPSEN_LOG:
        rc = fl__history_jepsenlog_open(r, errmsg);
        break;
    default:
        rc = fl_errorf(errmsg, FL_EUSAGE, "unknown format");
    }
    if (rc < 0) {
        fl_error_wrap(errmsg, rc, "%s", name);
        goto err;
    }
    return 0;

err:
    if (r->under) /* the replay only: the caller keeps fp */
        fclose(r->fp);
    fl_free(r->path);
    memset(r, 0, sizeof *r);
    return rc;
}
