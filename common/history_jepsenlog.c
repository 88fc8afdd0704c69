/* history_jepsenlog.c - Jepsen text logs (early etcd tests; Porcupine's test_data/jepsen).
 *
 * An event line has tab-separated fields
 *     <anything> PROCESS \t :TYPE \t :F [\t VALUE [\t ERROR]]
 * e.g. "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]", or, in logs that
 * padded the fields with spaces instead ("INFO  jepsen.util - 1   :invoke
 * :write  3", Porcupine's etcd_100..102), PROCESS :TYPE :F VALUE separated by
 * spaces on a line without a tab (VALUE is the rest). PROCESS is the last
 * word of the field before the type (an integer or :nemesis), TYPE one of
 * :invoke :ok :fail :info. VALUE and ERROR are EDN. Every other line (test
 * set-up chatter, stack traces) is ignored. Early Jepsen printed values with
 * `str`, not `pr-str`, so a nemesis value that is not one EDN form (e.g.
 * "Cut off [:n3 #{:n4}]") is kept as its raw text; a client value must be
 * EDN. An :info completion of a client whose value is a keyword
 * (":timed-out") carries no value: the keyword becomes ev->error. */
#include "common/alloc.h"
#include "common/edn.h"
#include "common/error.h"
#include "common/history.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define MAX_FIELDS 16

struct jlog {
    char *buf;
    size_t cap;
};

struct field {
    const char *s;
    size_t len;
};

/* ==== Lines ==== */

/* Reads one line (without its newline and a trailing '\r') into j->buf.
 * Returns 0, 1 at the end, or a negative code: a line longer than
 * FL_HISTORY_MAX_LINE (as in JSONL; an endless line or /dev/zero must end)
 * or a NUL byte (a text log has none; binary data is not a history). */
static int read_line(struct fl_history_reader *r, struct jlog *j, size_t *len, char *errmsg)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(r->fp)) != EOF && c != '\n') {
        if (c == '\0')
            return fl_errorf(errmsg, FL_EPARSE, "line %llu: column %zu: a NUL byte (not a text log)",
                             (unsigned long long)r->line + 1, n + 1);
        if (n >= FL_HISTORY_MAX_LINE)
            return fl_errorf(errmsg, FL_ELIMIT, "line %llu: longer than %u bytes",
                             (unsigned long long)r->line + 1, FL_HISTORY_MAX_LINE);
        if (n + 2 > j->cap) {
            size_t cap = j->cap ? j->cap * 2 : 4096;
            if (cap > FL_HISTORY_MAX_LINE + 2)
                cap = FL_HISTORY_MAX_LINE + 2;
            char *p = fl_realloc(j->buf, cap);
            if (!p)
                return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
            j->buf = p;
            j->cap = cap;
        }
        j->buf[n++] = (char)c;
    }
    if (ferror(r->fp))
        return fl_errorf(errmsg, -EIO, "line %llu: read error", (unsigned long long)r->line + 1);
    if (c == EOF && n == 0)
        return 1;
    r->line++;
    if (n > 0 && j->buf[n - 1] == '\r')
        n--;
    if (j->cap == 0) { /* an empty line before any allocation */
        *len = 0;
        return 0;
    }
    j->buf[n] = '\0';
    *len = n;
    return 0;
}

/* Splits at tabs; returns the number of fields (the last takes the rest). */
static size_t split(const char *s, size_t len, struct field *f)
{
    size_t n = 0;
    const char *p = s, *e = s + len;
    while (n < MAX_FIELDS - 1) {
        const char *t = memchr(p, '\t', (size_t)(e - p));
        if (!t)
            break;
        f[n].s = p;
        f[n].len = (size_t)(t - p);
        n++;
        p = t + 1;
    }
    f[n].s = p;
    f[n].len = (size_t)(e - p);
    return n + 1;
}

static bool word_is_process(const char *w, size_t n)
{
    if (n == 8 && memcmp(w, ":nemesis", 8) == 0)
        return true;
    for (size_t k = 0; k < n; k++)
        if (w[k] < '0' || w[k] > '9')
            return false;
    return n > 0;
}

/* The space-aligned form, for a line without a tab: the first word that is
 * an event type, after a word that is a process (digits or :nemesis), then
 * the f, then the rest. Returns the number of fields (3 or 4), or 0 when the
 * line has no such words (log chatter stays ignored). */
static size_t split_aligned(const char *s, size_t len, struct field *f)
{
    static const char *const names[] = {":invoke", ":ok", ":fail", ":info"};
    const char *p = s, *e = s + len, *prev = NULL;
    size_t prev_len = 0;
    for (;;) {
        while (p < e && (*p == ' ' || *p == '\r'))
            p++;
        const char *w = p;
        while (p < e && *p != ' ' && *p != '\r')
            p++;
        size_t wl = (size_t)(p - w);
        if (wl == 0)
            return 0;
        bool is_type = false;
        for (int t = 0; t < 4 && !is_type; t++)
            is_type = wl == strlen(names[t]) && memcmp(w, names[t], wl) == 0;
        if (is_type && prev && word_is_process(prev, prev_len)) {
            f[0].s = s;
            f[0].len = (size_t)(w - s);
            f[1].s = w;
            f[1].len = wl;
            while (p < e && *p == ' ')
                p++;
            const char *fw = p;
            while (p < e && *p != ' ')
                p++;
            if (p == fw)
                return 0;
            f[2].s = fw;
            f[2].len = (size_t)(p - fw);
            while (p < e && *p == ' ')
                p++;
            if (p == e)
                return 3;
            f[3].s = p;
            f[3].len = (size_t)(e - p);
            return 4;
        }
        prev = w;
        prev_len = wl;
    }
}

static void trim(struct field *f)
{
    while (f->len > 0 && (f->s[0] == ' ' || f->s[0] == '\r'))
        f->s++, f->len--;
    while (f->len > 0 && (f->s[f->len - 1] == ' ' || f->s[f->len - 1] == '\r'))
        f->len--;
}

static bool field_is(const struct field *f, const char *s)
{
    return f->len == strlen(s) && memcmp(f->s, s, f->len) == 0;
}

/* Index of the first field (after the first) naming an event type, or 0. */
static size_t type_field(const struct field *f, size_t n, enum fl_event_type *type)
{
    static const char *const names[] = {":invoke", ":ok", ":fail", ":info"};
    for (size_t k = 1; k + 1 < n; k++)
        for (int t = 0; t < 4; t++)
            if (field_is(&f[k], names[t])) {
                *type = (enum fl_event_type)t;
                return k;
            }
    return 0;
}

/* ==== Events ==== */

/* Turns the EDN reader's "line N: column C: x" into "line N: FIELD: column C: x". */
static int retag(struct fl_history_reader *r, int rc, const char *field, char *errmsg)
{
    char prefix[32], rest[FL_ERRMSG_SIZE];
    int n = snprintf(prefix, sizeof prefix, "line %llu: ", (unsigned long long)r->line);
    const char *tail = strncmp(errmsg, prefix, (size_t)n) == 0 ? errmsg + n : errmsg;
    snprintf(rest, sizeof rest, "%s", tail);
    return fl_errorf(errmsg, rc, "line %llu: %s: %s", (unsigned long long)r->line, field, rest);
}

/* Parses field `f` of the line at `line` as one EDN form. */
static int parse_field(struct fl_history_reader *r, const char *line, const struct field *f,
                       json_t **out, char *errmsg)
{
    struct fl_edn_reader rd;
    fl_edn_reader_init(&rd, f->s, f->len);
    rd.line = r->line;
    rd.line_start = line;
    int rc = fl_edn_read(&rd, out, errmsg);
    if (rc < 0)
        return rc;
    if ((rc = fl_edn_skip(&rd, errmsg)) != 0) {
        json_decref(*out);
        *out = NULL;
        if (rc > 0)
            rc = fl_errorf(errmsg, FL_EPARSE, "line %llu: column %llu: more than one form",
                           (unsigned long long)r->line, (unsigned long long)(rd.p - line) + 1);
    }
    return rc;
}

/* The raw text of a field as a JSON string (new reference), or NULL when it
 * is not UTF-8 or holds a NUL (which EDN and JSONL input never carry). */
static json_t *raw_string(const struct field *f)
{
    if (memchr(f->s, '\0', f->len))
        return NULL;
    return json_stringn(f->s, f->len);
}

static int parse_process(struct fl_history_reader *r, struct field pf, struct fl_event *ev,
                         char *errmsg)
{
    trim(&pf);
    size_t i = pf.len;
    while (i > 0 && pf.s[i - 1] != ' ' && pf.s[i - 1] != '\t')
        i--;
    const char *t = pf.s + i;
    size_t len = pf.len - i;
    if (len == 8 && memcmp(t, ":nemesis", 8) == 0) {
        ev->process = FL_PROCESS_NEMESIS;
        return 1;
    }
    size_t d = (len > 0 && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
    if (d == len)
        return 0;
    for (size_t k = d; k < len; k++)
        if (t[k] < '0' || t[k] > '9')
            return 0; /* not a process: not an event line */
    if (t[0] == '-')
        return fl_errorf(errmsg, FL_ESHAPE,
                         "line %llu: process: expected a non-negative integer or :nemesis",
                         (unsigned long long)r->line);
    int64_t v = 0;
    for (size_t k = d; k < len; k++) {
        if (v > (INT64_MAX - (t[k] - '0')) / 10)
            return fl_errorf(errmsg, FL_ELIMIT, "line %llu: process: does not fit in 64 bits",
                             (unsigned long long)r->line);
        v = v * 10 + (t[k] - '0');
    }
    ev->process = v;
    return 1;
}

/* Turns one line into an event: 1 done, 0 not an event line, or an error. */
static int parse_line(struct fl_history_reader *r, const char *line, size_t len,
                      struct fl_event *ev, char *errmsg)
{
    struct field f[MAX_FIELDS];
    size_t n = split(line, len, f);
    if (n == 1) {
        size_t m = split_aligned(line, len, f);
        if (m > 0)
            n = m;
    }
    enum fl_event_type type;
    size_t k = type_field(f, n, &type);
    json_t *v = NULL;
    int rc;

    if (k == 0) {
        /* "... - 3<TAB>:done<TAB>:cas..." is an event line with a bad type,
         * not some other log line: say so rather than drop the event. */
        for (size_t i = 1; i + 1 < n; i++) {
            struct field tf = f[i];
            trim(&tf);
            if (tf.len < 2 || tf.s[0] != ':' || (rc = parse_process(r, f[i - 1], ev, errmsg)) == 0)
                continue;
            if (rc < 0)
                return rc;
            size_t shown = 0; /* printable ASCII only, at most 32 bytes */
            while (shown < tf.len && shown < 32 && tf.s[shown] > ' ' && tf.s[shown] < 127)
                shown++;
            return fl_errorf(errmsg, FL_ESHAPE,
                             "line %llu: type: expected :invoke, :ok, :fail or :info, found %.*s",
                             (unsigned long long)r->line, (int)shown, tf.s);
        }
        return 0;
    }
    if ((rc = parse_process(r, f[k - 1], ev, errmsg)) < 0)
        return rc;
    if (rc == 0) {
        /* A type field between tabs makes this an event line: its process
         * must be there, not the line skipped (an event lost). */
        struct field pf = f[k - 1];
        trim(&pf);
        size_t i = pf.len;
        while (i > 0 && pf.s[i - 1] != ' ')
            i--;
        size_t shown = 0;
        while (i + shown < pf.len && shown < 32 && pf.s[i + shown] > ' ' && pf.s[i + shown] < 127)
            shown++;
        return fl_errorf(errmsg, FL_ESHAPE,
                         "line %llu: process: expected an integer or :nemesis before the type, "
                         "found \"%.*s\"",
                         (unsigned long long)r->line, (int)shown, pf.s + i);
    }
    ev->type = type;
    ev->line = r->line;

    struct field ff = f[k + 1];
    trim(&ff);
    rc = parse_field(r, line, &ff, &v, errmsg);
    if (rc < 0)
        return retag(r, rc, "f", errmsg);
    const char *fs;
    size_t fn;
    if (fl_edn_name(v, &fs, &fn) < 0 || fn == 0 || fn > FL_HISTORY_MAX_FSTR ||
        !fl__history_name_ok(fs, fn)) {
        json_decref(v);
        return fl_errorf(
            errmsg, FL_ESHAPE,
            "line %llu: f: expected a keyword or string of 1 to %d bytes, no control characters",
            (unsigned long long)r->line, FL_HISTORY_MAX_FSTR);
    }
    ev->f = fl_strndup(fs, fn);
    json_decref(v);
    v = NULL;
    if (!ev->f)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");

    bool nemesis = ev->process == FL_PROCESS_NEMESIS;
    if (k + 2 < n) {
        struct field vf = f[k + 2];
        trim(&vf);
        rc = parse_field(r, line, &vf, &ev->value, errmsg);
        if (rc < 0 && nemesis) {
            ev->value = raw_string(&vf);
            if (!ev->value)
                return fl_errorf(errmsg, FL_EPARSE, "line %llu: value: not valid UTF-8 text",
                                 (unsigned long long)r->line);
        } else if (rc < 0) {
            return retag(r, rc, "value", errmsg);
        }
        if (type == FL_EVENT_INFO && !nemesis && vf.len > 1 && vf.s[0] == ':' &&
            json_is_string(ev->value)) {
            ev->error = fl_edn_plain(ev->value, 1); /* :timed-out and friends: outcome unknown */
            json_decref(ev->value);
            ev->value = NULL;
            if (!ev->error)
                return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        }
    }
    if (k + 3 < n && !ev->error) {
        struct field ef = f[k + 3];
        trim(&ef);
        if (ef.len > 0 && parse_field(r, line, &ef, &ev->error, errmsg) == 0) {
            json_t *plain = fl_edn_plain(ev->error, 1);
            json_decref(ev->error);
            if (!(ev->error = plain))
                return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        } else if (ef.len > 0) {
            ev->error = raw_string(&ef);
            if (!ev->error)
                return fl_errorf(errmsg, FL_EPARSE, "line %llu: error: not valid UTF-8 text",
                                 (unsigned long long)r->line);
        }
        if (ev->error && json_is_null(ev->error)) {
            json_decref(ev->error);
            ev->error = NULL;
        }
    }
    return 1;
}

static int jlog_next(struct fl_history_reader *r, struct fl_event *ev, char *errmsg)
{
    struct jlog *j = r->impl;
    for (;;) {
        size_t len = 0;
        int rc = read_line(r, j, &len, errmsg);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return rc;
        if (len == 0)
            continue;
        rc = parse_line(r, j->buf, len, ev, errmsg);
        if (rc < 0)
            return rc;
        if (rc > 0)
            return 1;
        fl_event_clear(ev);
    }
}

static void jlog_close(struct fl_history_reader *r)
{
    struct jlog *j = r->impl;
    if (j) {
        fl_free(j->buf);
        fl_free(j);
    }
    r->impl = NULL;
}

static const struct fl__history_backend jlog_backend = {jlog_next, jlog_close};

int fl__history_jepsenlog_open(struct fl_history_reader *r, char *errmsg)
{
    struct jlog *j = fl_calloc(1, sizeof *j);
    if (!j)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    r->impl = j;
    r->backend = &jlog_backend;
    return 0;
}
