/* history_edn.c - Jepsen/Knossos EDN histories: the reader backend and the one-map writer.
 *
 * Accepted shapes: a top-level vector or list of maps, or a bare sequence of
 * maps (one per line or spread over lines). The file is read through a
 * window of about 2 MiB that slides forward (an event is at most
 * FL_HISTORY_MAX_LINE bytes, as a JSONL or log line), and the maps are
 * converted one at a time, so memory does not grow with the file. */
#include "common/alloc.h"
#include "common/edn.h"
#include "common/error.h"
#include "common/history.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* Room for one whole event past the read position, and some to spare. */
#define WINDOW ((size_t)2 * FL_HISTORY_MAX_LINE + 65536)

struct edn_hist {
    char *buf; /* WINDOW bytes: [rd.data, rd.end) is what is buffered */
    bool eof;  /* nothing past rd.end */
    struct fl_edn_reader rd;
    char close;         /* ']' or ')' inside a top-level collection, 0 when bare */
    uint64_t open_line; /* where that collection opened */
    int done;
};

/* ==== Reading ==== */

/* Slides the window so that at least FL_HISTORY_MAX_LINE + 2 bytes follow
 * rd.p (or the file ends before): a form that does not end inside the
 * window is longer than an event may be. Keeps the current line's start
 * when it is near, so error columns stay true. */
static int fill(struct fl_history_reader *r, struct edn_hist *h, char *errmsg)
{
    struct fl_edn_reader *rd = &h->rd;
    if (h->eof || (size_t)(rd->end - rd->p) >= FL_HISTORY_MAX_LINE + 2)
        return 0;
    const char *keep = rd->p;
    if (rd->line_start <= rd->p && rd->p - rd->line_start <= 4096)
        keep = rd->line_start;
    size_t shift = (size_t)(keep - h->buf), have = (size_t)(rd->end - keep);
    memmove(h->buf, keep, have);
    rd->p -= shift;
    rd->line_start = rd->line_start >= keep ? rd->line_start - shift : h->buf;
    while (have < WINDOW && !h->eof) {
        size_t n = fread(h->buf + have, 1, WINDOW - have, r->fp);
        have += n;
        if (n == 0) {
            if (ferror(r->fp))
                return fl_errorf(errmsg, -EIO, "line %llu: read error",
                                 (unsigned long long)rd->line);
            h->eof = true;
        }
    }
    rd->data = h->buf;
    rd->end = h->buf + have;
    return 0;
}

/* fl_edn_skip over the stream: whitespace, commas and comments may run past
 * the window (they are consumed and the window slides); a discarded form
 * may not be longer than an event. Returns 1 when a form follows, 0 at the
 * end of the file, or a negative code. */
static int skip(struct fl_history_reader *r, struct edn_hist *h, char *errmsg)
{
    struct fl_edn_reader *rd = &h->rd;
    for (;;) {
        int rc = fill(r, h, errmsg);
        if (rc < 0)
            return rc;
        rc = fl_edn_skip(rd, errmsg);
        if (rc != 0 || h->eof)
            return rc;
        /* The window ended in whitespace or a comment: is it a comment,
         * i.e. does the last (partial) line hold a ';' or '#!'? Then the
         * rest of that line, past the window, is comment too. */
        const char *q = rd->end;
        while (q > rd->data && q[-1] != '\n')
            q--;
        bool comment = false;
        for (const char *c = q; c < rd->end; c++)
            if (*c == ';' || (*c == '#' && c + 1 < rd->end && c[1] == '!'))
                comment = true;
        rd->p = rd->end;
        while (comment) {
            if ((rc = fill(r, h, errmsg)) < 0)
                return rc;
            while (rd->p < rd->end && *rd->p != '\n')
                rd->p++;
            if (rd->p < rd->end || h->eof)
                comment = false;
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
    rc = skip(r, h, errmsg);
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
            rc = skip(r, h, errmsg);
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
    if (r->edn_fast) {
        struct fl_edn_reader save = h->rd;
        rc = r->edn_fast(r->edn_fast_ctx, &h->rd, errmsg);
        r->line = h->rd.line;
        if (rc < 0)
            return rc;
        if (rc > 0) {
            if ((size_t)(h->rd.p - start) > FL_HISTORY_MAX_LINE)
                return fl_errorf(errmsg, FL_ELIMIT, "line %llu: event longer than %u bytes",
                                 (unsigned long long)line, FL_HISTORY_MAX_LINE);
            return 2;
        }
        h->rd = save;
    }
    rc = fl_edn_read(&h->rd, &obj, errmsg);
    r->line = h->rd.line;
    /* An error at the window's end (not the file's) means the form ran into
     * it: more than FL_HISTORY_MAX_LINE + 2 bytes, too long whatever else. */
    bool too_long = rc < 0 ? !h->eof && (h->rd.p >= h->rd.end || strstr(errmsg, "unterminated") ||
                                         strstr(errmsg, "end of input"))
                           : (size_t)(h->rd.p - start) > FL_HISTORY_MAX_LINE;
    if (too_long) {
        /* The same bound as a JSONL or log line: one event, not a bulk value. */
        json_decref(obj);
        return fl_errorf(errmsg, FL_ELIMIT, "line %llu: event longer than %u bytes",
                         (unsigned long long)line, FL_HISTORY_MAX_LINE);
    }
    if (rc < 0)
        return rc;
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
        fl_free(h->buf);
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
    h->buf = fl_malloc(WINDOW);
    if (!h->buf) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        goto err;
    }
    fl_edn_reader_init(&h->rd, h->buf, 0);
    h->rd.op_map = 1; /* each form is an event: {:type :ok ...} has the field "type" */
    rc = skip(r, h, errmsg);
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
    fl_free(h->buf);
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
