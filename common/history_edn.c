/* history_edn.c - Jepsen/Knossos EDN histories: the reader backend and the one-map writer.
 *
 * Accepted shapes: a top-level vector or list of maps, or a bare sequence of
 * maps (one per line or spread over lines). The file is loaded whole (at most
 * FL_HISTORY_MAX_FILE bytes) and the maps are converted one at a time, so
 * only one event's JSON exists at once. */
#include "common/alloc.h"
#include "common/edn.h"
#include "common/error.h"
#include "common/history.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

struct edn_hist {
    char *data; /* the whole file */
    size_t len;
    struct fl_edn_reader rd;
    char close;         /* ']' or ')' inside a top-level collection, 0 when bare */
    uint64_t open_line; /* where that collection opened */
    int done;
};

/* ==== Reading ==== */

/* Loads the rest of r->fp into h->data. */
static int load(struct fl_history_reader *r, struct edn_hist *h, char *errmsg)
{
    size_t cap = 0;
    for (;;) {
        if (h->len == cap) {
            if (cap >= FL_HISTORY_MAX_FILE) {
                if (fread(h->data + h->len, 1, 1, r->fp) == 0 && !ferror(r->fp))
                    return 0;
                return fl_errorf(errmsg, FL_ELIMIT, "larger than %llu bytes",
                                 (unsigned long long)FL_HISTORY_MAX_FILE);
            }
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > FL_HISTORY_MAX_FILE)
                ncap = FL_HISTORY_MAX_FILE;
            /* One spare byte lets us tell "exactly the limit" from "over it". */
            char *p = fl_realloc(h->data, ncap + 1);
            if (!p)
                return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
            h->data = p;
            cap = ncap;
        }
        size_t n = fread(h->data + h->len, 1, cap - h->len, r->fp);
        h->len += n;
        if (n == 0) {
            if (ferror(r->fp))
                return fl_errorf(errmsg, -EIO, "read error");
            return 0;
        }
    }
}

static int edn_next(struct fl_history_reader *r, struct fl_event *ev, char *errmsg)
{
    struct edn_hist *h = r->impl;
    json_t *obj = NULL;
    int rc;

    if (h->done)
        return 0;
    rc = fl_edn_skip(&h->rd, errmsg);
    r->line = h->rd.line;
    if (rc < 0)
        return rc;
    if (h->close) {
        if (rc == 0)
            return fl_errorf(
                errmsg, FL_EPARSE,
                "line %llu: the history opened at line %llu is not closed (missing '%c')",
                (unsigned long long)h->rd.line, (unsigned long long)h->open_line, h->close);
        if (*h->rd.p == h->close) {
            h->rd.p++;
            h->done = 1;
            rc = fl_edn_skip(&h->rd, errmsg);
            r->line = h->rd.line;
            if (rc < 0)
                return rc;
            if (rc > 0)
                return fl_errorf(errmsg, FL_EPARSE,
                                 "line %llu: unexpected data after the history's closing '%c'",
                                 (unsigned long long)h->rd.line, h->close);
            return 0;
        }
        if (*h->rd.p == ')' || *h->rd.p == ']' || *h->rd.p == '}')
            return fl_errorf(errmsg, FL_EPARSE,
                             "line %llu: expected '%c' to close the history opened at line %llu, "
                             "found '%c'",
                             (unsigned long long)h->rd.line, h->close,
                             (unsigned long long)h->open_line, *h->rd.p);
    } else if (rc == 0) {
        h->done = 1;
        return 0;
    }

    uint64_t line = h->rd.line;
    const char *start = h->rd.p;
    ev->line = line;
    rc = fl_edn_read(&h->rd, &obj, errmsg);
    r->line = h->rd.line;
    if (rc < 0)
        return rc;
    if ((size_t)(h->rd.p - start) > FL_HISTORY_MAX_LINE) {
        /* The same bound as a JSONL or log line: one event, not a bulk value. */
        json_decref(obj);
        return fl_errorf(errmsg, FL_ELIMIT, "line %llu: event longer than %u bytes",
                         (unsigned long long)line, FL_HISTORY_MAX_LINE);
    }
    if (!json_is_object(obj)) {
        const char *what = json_is_array(obj) ? "a collection" : "a scalar";
        json_decref(obj);
        return fl_errorf(errmsg, FL_ESHAPE, "line %llu: expected a map (one event), found %s",
                         (unsigned long long)line, what);
    }
    rc = fl_event_from_json(obj, ev, errmsg);
    json_decref(obj);
    if (rc < 0)
        return fl_error_wrap(errmsg, rc, "line %llu", (unsigned long long)line);
    return 1;
}

static void edn_close(struct fl_history_reader *r)
{
    struct edn_hist *h = r->impl;
    if (h) {
        fl_free(h->data);
        fl_free(h);
    }
    r->impl = NULL;
}

static const struct fl__history_backend edn_backend = {edn_next, edn_close};

int fl__history_edn_open(struct fl_history_reader *r, char *errmsg)
{
    int rc;
    struct edn_hist *h = fl_calloc(1, sizeof *h);
    if (!h)
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    if ((rc = load(r, h, errmsg)) < 0)
        goto err;
    fl_edn_reader_init(&h->rd, h->data ? h->data : "", h->len);
    rc = fl_edn_skip(&h->rd, errmsg);
    if (rc < 0)
        goto err;
    if (rc > 0 && (*h->rd.p == '[' || *h->rd.p == '(')) {
        h->close = *h->rd.p == '[' ? ']' : ')';
        h->open_line = h->rd.line;
        h->rd.p++;
    }
    r->line = h->rd.line;
    r->impl = h;
    r->backend = &edn_backend;
    return 0;

err:
    fl_free(h->data);
    fl_free(h);
    return rc;
}

/* ==== Writing ==== */

/* Writes a name as a keyword when it reads back the same, else a string. */
static int write_name(FILE *fp, const char *s)
{
    size_t len = strlen(s);
    if (fl_edn_is_keyword_name(s, len))
        return fprintf(fp, ":%s", s) < 0 ? -EIO : 0;
    json_t *str = json_stringn(s, len);
    if (!str)
        return FL_ENOMEM;
    int rc = fl_edn_write_value(fp, str, 0);
    json_decref(str);
    return rc;
}

/* Writes ", :name " then the value; the event map is one level, so values
 * may nest FL_HISTORY_MAX_DEPTH - 1 deep and still read back. */
static int write_field(FILE *fp, const char *name, const json_t *v)
{
    if (fprintf(fp, ", :%s ", name) < 0)
        return -EIO;
    return fl_edn_write_value(fp, v, FL_HISTORY_MAX_DEPTH - 1);
}

int fl__history_edn_write_event(FILE *fp, const struct fl_event *ev)
{
    int rc;
    if (!ev->f)
        return FL_ESHAPE;
    if (fprintf(fp, "{:type :%s, :f ", fl_event_type_name(ev->type)) < 0)
        return -EIO;
    if ((rc = write_name(fp, ev->f)) < 0)
        return rc;
    if (ev->process == FL_PROCESS_NEMESIS || ev->process == FL_PROCESS_NODE)
        rc = fputs(", :process :nemesis", fp) < 0 ? -EIO : 0; /* Jepsen has no node events */
    else
        rc = fprintf(fp, ", :process %" PRId64, ev->process) < 0 ? -EIO : 0;
    if (rc < 0)
        return rc;
    if (ev->key && (rc = write_field(fp, "key", ev->key)) < 0)
        return rc;
    if (ev->value && (rc = write_field(fp, "value", ev->value)) < 0)
        return rc;
    if (ev->time >= 0 && fprintf(fp, ", :time %" PRId64, ev->time) < 0)
        return -EIO;
    if (ev->index >= 0 && fprintf(fp, ", :index %" PRId64, ev->index) < 0)
        return -EIO;
    if (ev->error && (rc = write_field(fp, "error", ev->error)) < 0)
        return rc;
    if (ev->node) {
        if (fputs(", :node ", fp) < 0)
            return -EIO;
        json_t *s = json_string(ev->node);
        if (!s)
            return FL_ENOMEM;
        rc = fl_edn_write_value(fp, s, 0);
        json_decref(s);
        if (rc < 0)
            return rc;
    }
    if (ev->consistency) {
        if (fputs(", :consistency ", fp) < 0 || write_name(fp, ev->consistency) < 0)
            return -EIO;
    }
    if (ev->session && (rc = write_field(fp, "session", ev->session)) < 0)
        return rc;
    if (ev->latency >= 0 && fprintf(fp, ", :latency %" PRId64, ev->latency) < 0)
        return -EIO;
    return fputs("}\n", fp) < 0 ? -EIO : 0;
}
