/* history.h - history events and streaming readers/writers for every format.
 *
 * A history is a sequence of events (DESIGN.md "Histories"). Readers stream
 * one event at a time so a run's history never has to sit in memory whole;
 * the format is autodetected from the first meaningful bytes:
 *   JSONL            our own format, one JSON object per line
 *   EDN              Jepsen/Knossos: a vector/list of maps or maps one per line
 *   Jepsen log       "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]" text logs
 * EDN values become JSON values that stay as distinct as Clojure's
 * (common/edn.h): nil is null, vectors and lists arrays, maps objects, and
 * keywords, symbols, chars, sets and big integers tagged values that equal
 * no string (:a is not "a"); an event's names (:type :ok, :f :cas) are read
 * as names. Written to JSONL, a tagged value stays tagged ("\u0000:a"), which
 * the JSONL reader takes back (common/jsonl_value.h): :a and ":a" stay two.
 * JSONL numbers are the decimal values they spell (1.0 is 1; jsonl_value.h). */
#ifndef FL_HISTORY_H
#define FL_HISTORY_H

#include "common/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Bounds on untrusted input. */
#define FL_HISTORY_MAX_LINE  (1u << 20)   /* bytes in one JSONL/log line */
#define FL_HISTORY_MAX_DEPTH 64           /* nesting of values */
#define FL_HISTORY_MAX_FSTR  64           /* bytes of an `f` name */

#define FL_PROCESS_NEMESIS (-1)
#define FL_PROCESS_NODE    (-2) /* "node": a foreign node's log line (PROCESS_PROTOCOL.md) */

enum fl_event_type { FL_EVENT_INVOKE, FL_EVENT_OK, FL_EVENT_FAIL, FL_EVENT_INFO };

enum fl_history_format {
    FL_FORMAT_AUTO = 0,
    FL_FORMAT_JSONL,
    FL_FORMAT_EDN,
    FL_FORMAT_JEPSEN_LOG,
};

/* One history event. Every pointer member is owned by the event and released
 * by fl_event_clear(); absent optional fields are NULL or -1. */
struct fl_event {
    uint64_t line;   /* 1-based source line where the event starts */
    int64_t index;   /* "index", -1 when absent */
    int64_t time;    /* "time" in ns, -1 when absent */
    int64_t process; /* client number, or FL_PROCESS_NEMESIS */
    enum fl_event_type type;
    char *f;           /* never NULL once read */
    json_t *key;       /* NULL when absent */
    json_t *value;     /* NULL when absent; json null for nil */
    char *node;        /* optional */
    char *consistency; /* optional */
    json_t *session;   /* optional */
    int64_t latency;   /* optional, -1 when absent */
    json_t *error;     /* optional (Jepsen's :error) */
};

/* Initialises an empty event (all optional fields absent). */
void fl_event_init(struct fl_event *ev);
/* Releases what the event owns and re-initialises it. */
void fl_event_clear(struct fl_event *ev);
/* "invoke", "ok", "fail", "info". */
const char *fl_event_type_name(enum fl_event_type type);
/* Parses a type name; returns 0 or FL_EPARSE. */
int fl_event_type_parse(const char *s, enum fl_event_type *out);
const char *fl_history_format_name(enum fl_history_format fmt);
/* Parses "auto", "jsonl", "edn", "jepsen-log"; returns 0 or FL_EUSAGE. */
int fl_history_format_parse(const char *s, enum fl_history_format *out);

struct fl_history_reader;

/* Per-format backend; implementations live in history_<format>.c. */
struct fl__history_backend {
    /* Returns 1 with *ev filled, 0 at the end, or a negative code with
     * errmsg set to "line N: field: problem" (the reader adds the path). */
    int (*next)(struct fl_history_reader *r, struct fl_event *ev, char *errmsg);
    void (*close)(struct fl_history_reader *r);
};

struct fl_edn_reader;

/* An EDN fast path (fl_history_reader_set_edn_fast): called at each event
 * form, rd->p at its first byte, with at least FL_HISTORY_MAX_LINE bytes or
 * the rest of the file in [rd->p, rd->end). Returns 1 when it took the
 * form (rd->p, rd->line and rd->line_start past it), 0 to leave it to the
 * general reader (rd untouched or restored by the caller), or a negative
 * code with errmsg "line N: ...". */
typedef int (*fl_history_edn_fast_fn)(void *ctx, struct fl_edn_reader *rd, char *errmsg);

struct fl_history_reader {
    char *path;                    /* owned copy, for messages */
    enum fl_history_format format; /* as detected */
    FILE *fp;                      /* owned */
    FILE *under;                   /* owned: the pipe fp replays after detection, or NULL */
    uint64_t line;                 /* current line, maintained by backends */
    const struct fl__history_backend *backend;
    void *impl; /* backend state */
    fl_history_edn_fast_fn edn_fast;
    void *edn_fast_ctx;
};

/* Opens `path` ("-" for stdin) and detects its format unless `format` names
 * one. On error returns a negative code with errmsg "PATH: problem" and leaves
 * nothing to close. */
int fl_history_reader_open(struct fl_history_reader *r, const char *path,
                           enum fl_history_format format, char *errmsg);
/* Reads the next event into *ev (which must be initialised; it is cleared
 * first). Returns 1, 0 at the end, or a negative code with errmsg
 * "PATH:LINE: field: problem". After an error the reader must be closed. */
int fl_history_reader_next(struct fl_history_reader *r, struct fl_event *ev, char *errmsg);
/* EDN readers only: `fn` sees each event form first and may take it (a
 * reader of one event shape that builds no JSON); fl_history_reader_next
 * then returns 2 and leaves *ev empty. The fast path must accept only
 * forms the general reader would accept alike, leaving it every other. */
void fl_history_reader_set_edn_fast(struct fl_history_reader *r, fl_history_edn_fast_fn fn,
                                    void *ctx);
void fl_history_reader_close(struct fl_history_reader *r);

/* Validates and converts one parsed JSON object into an event (shared by the
 * JSONL reader and by anything receiving events as JSON). `obj` is borrowed;
 * values are copied by reference. Returns 0 or FL_EPARSE/FL_ESHAPE with
 * errmsg "field: problem". */
int fl_event_from_json(json_t *obj, struct fl_event *ev, char *errmsg);
/* Returns a new reference: the event as a DESIGN.md JSONL object. */
json_t *fl_event_to_json(const struct fl_event *ev);

/* ==== Writers ==== */

struct fl_history_writer {
    FILE *fp;   /* owned */
    char *path; /* owned copy */
    enum fl_history_format format;
    uint64_t count;
    bool deferred; /* JSONL lines flushed by fl_history_writer_flush, not per write */
    struct fl_buf line; /* JSONL: the line being written (kept for the next) */
};

/* Creates (truncates) `path` ("-" for stdout) to write JSONL or EDN. */
int fl_history_writer_open(struct fl_history_writer *w, const char *path,
                           enum fl_history_format format, char *errmsg);
/* Appends one event (borrowed). JSONL lines are flushed to the OS per call so
 * a crashed harness leaves every written line behind; with w->deferred set,
 * the caller flushes instead (the run: once per loop iteration). */
int fl_history_writer_write(struct fl_history_writer *w, const struct fl_event *ev, char *errmsg);
/* Hands what was written so far to the OS. Returns 0 or a negative errno with errmsg. */
int fl_history_writer_flush(struct fl_history_writer *w, char *errmsg);
/* Finishes the file (closing bracket for EDN), fsyncs when it is a regular
 * file, closes it. Returns 0 or a negative errno with errmsg. */
int fl_history_writer_close(struct fl_history_writer *w, char *errmsg);

/* Backend entry points (internal, one file each). They take over r->fp. */
int fl__history_jsonl_open(struct fl_history_reader *r, char *errmsg);
int fl__history_edn_open(struct fl_history_reader *r, char *errmsg);
int fl__history_jepsenlog_open(struct fl_history_reader *r, char *errmsg);
/* True when the `len` bytes of an `f` name hold no control character
 * (names end up in one-line error messages and on terminals). */
bool fl__history_name_ok(const char *s, size_t len);
/* Appends one event as its JSONL line (newline included) to b, as text: returns 1,
 * 0 when the event is not of the plain shapes the text path writes (b as it was;
 * the caller takes fl__history_jsonl_format_jansson), or FL_ENOMEM (b->oom set).
 * Byte for byte what the jansson path writes (history_jsonl_write.c). */
int fl__history_jsonl_format(struct fl_buf *b, const struct fl_event *ev);
/* The same through a jansson object (fl_event_to_json, EDN tags as their EDN text):
 * returns 0, FL_ENOMEM, or -EIO when jansson refuses a value. */
int fl__history_jsonl_format_jansson(struct fl_buf *b, const struct fl_event *ev);
/* Writes one event as an EDN map followed by a newline. */
int fl__history_edn_write_event(FILE *fp, const struct fl_event *ev);

/* Like fl_history_reader_open, over an already open stream: `name` (copied)
 * is used in messages, the format is detected unless `format` names one
 * (on a pipe, by fl_history_peek). `fp` is transferred to the reader on
 * success and closed by fl_history_reader_close; on error the caller keeps it.
 * Meant for fuzzers and in-memory tests (fmemopen). */
int fl_history_reader_open_file(struct fl_history_reader *r, FILE *fp, const char *name,
                                enum fl_history_format format, char *errmsg);

/* Reads up to `cap` bytes of *fpp into `head` (*len of them) and puts the
 * stream back at its start: by seeking, or when it cannot seek (a pipe, a
 * FIFO, `<(cat h.jsonl)`) by replacing *fpp with a new stream that reads those
 * bytes and then the rest of the old one, which it closes when closed if `own`
 * (never stdin). So a history is read once and needs no more than `cap` bytes
 * besides what its reader keeps. Returns 0 or a negative errno with errmsg
 * "NAME: problem" (*fpp unchanged). */
int fl_history_peek(FILE **fpp, char *head, size_t cap, size_t *len, bool own, const char *name,
                    char *errmsg);

#endif
