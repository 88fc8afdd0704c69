/* history.h - a history paired into operations, the checker's input.
 *
 * Events are paired by process: an invoke opens an operation, the next ok,
 * fail or info of that process completes it. `fail` operations certainly did
 * not happen; `info` and never-completed operations may take effect at any
 * point after their invoke, or never (Knossos semantics). An ok completion's
 * value replaces the invoke's (the read value is only known at completion);
 * an ok completion with no value keeps the invoke's (a write's) but marks it
 * value_unknown: a read that returned nothing did not read the invoke's value
 * (Knossos takes nil, "unknown"), so models drop such reads.
 * Nemesis events are kept apart: they never enter the search. */
#ifndef CHECKER_HISTORY_H
#define CHECKER_HISTORY_H

#include "common/history.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECKER_POS_NEVER INT64_MAX  /* ret position of an operation that never completed */
#define CHECKER_MAX_OPS   (1u << 26) /* operations in one history */

/* One operation. Strings and JSON values are owned by the history: each
 * pointer member holds a reference, and equal keys and equal scalar values
 * (and short arrays of scalars, such as a cas's [old new]) share one JSON
 * value, so a read costs no allocation for the value it returns. */
struct checker_hop {
    int64_t process;
    enum fl_event_type status;   /* FL_EVENT_OK, FL_EVENT_FAIL or FL_EVENT_INFO */
    uint32_t key_id;             /* dense key number; 0 when there are no keys */
    const char *f;               /* interned in the history */
    json_t *key;                 /* NULL for histories without keys */
    json_t *value;               /* effective value (see above); never NULL (json null) */
    json_t *invoke_value;        /* the invoke's value; never NULL */
    int64_t call, ret;           /* event positions (0-based order of observation) */
    int64_t call_time, ret_time; /* ns; -1 when unknown; ret_time -1 for info */
    uint64_t call_line, ret_line;
    const char *node;        /* interned, optional */
    const char *consistency; /* interned, optional */
    json_t *error;           /* the completion's error text (a fail or info), or NULL */
    bool value_unknown;      /* ok with no value: what a read returned is not known */
};

struct checker_history {
    char *path; /* owned; for messages */
    enum fl_history_format format;
    struct checker_hop *ops; /* in invoke order */
    size_t n_ops;
    json_t **keys; /* key_id -> key (owned references); keys[0] is NULL */
    size_t n_keys; /* including the unkeyed slot 0 */
    size_t n_events, n_nemesis;
    size_t n_ok, n_fail, n_info;
    /* Nemesis events, kept for reports: (time, f, value) in order. */
    struct fl_event *nemesis;
    size_t n_nemesis_events;
    /* Node events (process "node": a foreign node's log line), for reports. */
    struct fl_event *node_events;
    size_t n_node_events;
    void *strings; /* intern table */
    void *values;  /* interned JSON values */
    /* Reading stops once the process's resident memory passes max_rss bytes
     * (0: no bound); the history is then emptied and marked truncated, and
     * loading fails with FL_EBUDGET (a verdict of `unknown`, not an error).
     * So it is, with FL_EUNDECIDED, for a JSONL history holding two numbers
     * whose equality cannot be decided (common/jsonl_value.h). */
    size_t max_rss;
    bool truncated;
};

/* Reads and pairs a whole history file. Rejects (FL_EHISTORY with errmsg
 * "PATH: line N: field: problem"): a completion with no invoke, a second invoke while
 * one is in flight on the same process, a completion whose f differs from its
 * invoke's. */
int checker_history_load(struct checker_history *h, const char *path, enum fl_history_format format,
                         char *errmsg);
/* As checker_history_load, stopping with FL_EBUDGET (h->truncated set, the
 * operations released, errmsg "PATH: line N: ...") once the resident memory
 * of the process exceeds max_rss bytes (0: no bound). The caller frees h in
 * every case. */
int checker_history_load_capped(struct checker_history *h, const char *path,
                                enum fl_history_format format, size_t max_rss, char *errmsg);
/* Pairs events from an open reader (borrowed), within h->max_rss. */
int checker_history_read(struct checker_history *h, struct fl_history_reader *r, char *errmsg);
void checker_history_free(struct checker_history *h);

/* Interns a string in the history; returns a borrowed pointer or NULL on OOM. */
const char *checker_history_intern(struct checker_history *h, const char *s);

#endif
