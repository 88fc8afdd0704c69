/* history_jsonl.c - the JSONL history reader (DESIGN.md "Histories"). */
#include "common/alloc.h"
#include "common/error.h"
#include "common/history.h"
#include "common/jsonl_value.h"

#include <errno.h>
#include <string.h>

struct jsonl {
    char *buf;
    size_t cap;
    struct fl_jsonl_reals *reals; /* fractions seen (common/jsonl_value.h) */
};

/* Reads one line into j->buf without its newline. Returns its length, -1 at
 * the end, or a negative code for an over-long line or a missing final
 * newline (a truncated file). NUL bytes are kept (the JSON parser rejects
 * them with their column); fgets would cut the line there and silently lose
 * the rest of the file when a line starts with one. getc_unlocked: the
 * stream belongs to this reader alone. */
static int read_line(struct fl_history_reader *r, struct jsonl *j, size_t *len, char *errmsg)
{
    size_t n = 0;
    int c;
    while ((c = getc_unlocked(r->fp)) != EOF && c != '\n') {
        if (j->cap - n < 2) {
            if (j->cap >= FL_HISTORY_MAX_LINE)
                return fl_errorf(errmsg, FL_ELIMIT, "line %llu: longer than %u bytes",
                                 (unsigned long long)r->line + 1, FL_HISTORY_MAX_LINE);
            size_t cap = j->cap ? j->cap * 2 : 4096;
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
        return 1; /* end */
    r->line++;
    if (c == EOF)
        return fl_errorf(errmsg, FL_EPARSE,
                         "line %llu: truncated (no newline at the end of the last line)",
                         (unsigned long long)r->line);
    if (j->buf)
        j->buf[n] = '\0';
    *len = n;
    return 0;
}

static int jsonl_next(struct fl_history_reader *r, struct fl_event *ev, char *errmsg)
{
    struct jsonl *j = r->impl;
    for (;;) {
        size_t len = 0;
        int rc = read_line(r, j, &len, errmsg);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return rc;
        size_t i = 0;
        while (i < len && (j->buf[i] == ' ' || j->buf[i] == '\t' || j->buf[i] == '\r'))
            i++;
        if (i == len)
            continue; /* blank line */
        json_t *obj;
        if ((rc = fl_jsonl_parse(j->buf, len, 0, j->reals, r->line, &obj, errmsg)) < 0)
            return fl_error_wrap(errmsg, rc, "line %llu", (unsigned long long)r->line);
        ev->line = r->line;
        rc = fl_event_from_json(obj, ev, errmsg);
        json_decref(obj);
        if (rc < 0)
            return fl_error_wrap(errmsg, rc, "line %llu", (unsigned long long)r->line);
        return 1;
    }
}

static void jsonl_close(struct fl_history_reader *r)
{
    struct jsonl *j = r->impl;
    if (j) {
        fl_free(j->buf);
        fl_jsonl_reals_free(j->reals);
        fl_free(j);
    }
    r->impl = NULL;
}

static const struct fl__history_backend jsonl_backend = {jsonl_next, jsonl_close};

int fl__history_jsonl_open(struct fl_history_reader *r, char *errmsg)
{
    struct jsonl *j = fl_calloc(1, sizeof *j);
    if (!j || !(j->reals = fl_jsonl_reals_new())) {
        fl_free(j);
        return fl_errorf(errmsg, FL_ENOMEM, "out of memory");
    }
    r->impl = j;
    r->backend = &jsonl_backend;
    return 0;
}
