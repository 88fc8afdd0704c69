/* sm.h - the replicated state machines a node hosts (kv, counter, set, queue, txn).
 *
 * The server talks to every state machine through one vtable, struct sm_type,
 * usually via the sm_* wrappers below. Commands, query ops, results and
 * events are jansson objects shaped like the history format (DESIGN.md,
 * "Histories"): an op is {"f": ..., "key": ..., "value": ...} and workloads
 * record results as they come.
 *
 * Results. Every result is an object with "ok":
 *   {"ok":true}                              success without a value
 *   {"ok":true,"value":V}                    a read, a dequeue
 *   {"ok":false,"error":"cas_mismatch"}      a definite failure, no effect
 *   {"ok":false,"error":"empty"}             dequeue of an empty queue
 *   {"ok":false,"error":"overflow","message":M}     counter add past int64
 *   {"ok":false,"error":"bad_request","message":M}  malformed op, e.g.
 *                                            "value: expected an integer"
 *   {"ok":false,"error":"too_large","message":M}    over a bound below
 * A result with "ok":false never changed the state. Malformed ops are answered
 * with a result, never an error code: a committed entry is always applied.
 *
 * Operations (f; any other field is ignored):
 *   kv       read|get {key} -> value or null; write|put {key, value};
 *            cas {key, value:[old,new]} (absent key = null); delete {key};
 *            watch {key}; unwatch {key}. key: a string (<= SM_KEY_MAX bytes)
 *            or an integer. Values: any JSON, compared with json_equal.
 *   counter  add {value: int64} (overflow refused); read -> value
 *   set      add {value: any}; read -> array in a total order: null < false <
 *            true < numbers (by value) < strings (bytewise) < arrays < objects
 *            (by canonical encoding)
 *   queue    enqueue {value: any}; dequeue -> head; read -> array, head first
 *   txn      txn {value: [[f, key, v], ...]}, 1..SM_TXN_OPS_MAX micro-ops with
 *            f "r" (v null), "append" (to a list; an absent key starts one)
 *            or "w"; applied all or nothing at the entry's position, ->
 *            the micro-ops with each read's v filled in (null: absent key),
 *            a txn's reads seeing its own earlier writes. Refused whole:
 *            type_mismatch (append to a non-list), too_large (a list at
 *            SM_TXN_LIST_MAX elements). The list-append and rw-register
 *            workloads (Elle's) use it.
 *
 * Events (kv watches). After a successful write/put, cas or delete of key K
 * (delete of a present key only), every session watching K receives
 * {"key":K,"value":V,"index":I,"f":"write"|"cas"|"delete"} (V null for delete,
 * I the log index of the entry), through ctx->publish, in ascending session
 * order. Replaying a log publishes the same events in the same order.
 *
 * Release rule (incremental compaction, Raft dissertation §5.3, as Copycat).
 * apply() and session_closed() report through ctx->release each applied
 * entry index whose effect on the state is completely superseded, exactly
 * once per index. The guarantee: replaying only the entries never released,
 * in log order with their original indices and sessions, onto an empty state
 * machine yields the same state (byte-equal snapshot) as applying them all.
 * Results and events of the replay may differ; state does not. Session
 * closes need not be replayed either: session_closed() releases the watch
 * entries of the session, so none of its watches survive to be rebuilt.
 *   kv:      a write/put or delete of K releases every entry that built K's
 *            current value (the last write and the successful cas entries
 *            since); a delete also releases itself; a successful cas is kept
 *            (its success depends on the entries before it), so a long cas
 *            chain on one key is only compacted by a write, a delete or a
 *            snapshot. A failed cas, a read, a delete of an absent key, a
 *            duplicate watch, an unwatch (with the watch it ends) and every
 *            refused op release themselves at once. Watch entries are
 *            released by unwatch or when their session closes.
 *   counter: adds are never released (a counter needs a snapshot); reads,
 *            add 0 and refused adds release themselves.
 *   set:     a duplicate add and reads release themselves.
 *   queue:   a dequeue releases the enqueue it removed and itself; reads and
 *            a dequeue of an empty queue release themselves.
 *   txn:     a txn that wrote is never released (one entry builds several
 *            keys, and later appends build on it): snapshots compact it. A
 *            txn that changed nothing (reads only, refused) releases itself.
 *
 * Snapshots are compact canonical JSON (sorted, no whitespace): two instances
 * with the same state produce the same bytes, and restore() then snapshot()
 * reproduces the bytes it was given when they came from snapshot().
 *
 * Threading: one instance is used by one thread at a time. No globals. */
#ifndef NODE_SM_H
#define NODE_SM_H

#include "common/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SM_KEY_MAX     256   /* bytes of a string key */
#define SM_VALUE_MAX   65536 /* bytes of an op's "value", JSON-encoded compactly */
#define SM_WATCHES_MAX 1024  /* kv watches held by one session */
#define SM_TXN_OPS_MAX 64    /* micro-ops in one txn */
#define SM_TXN_LIST_MAX 10000 /* elements of one list-append list */

/* What apply() and session_closed() may call back into. Either callback may be
 * NULL (ignored). Both are called synchronously, before the call returns, and
 * must not call back into the same state machine. */
struct sm_ctx {
    void *data;
    /* Delivers `event` to `session`. The event is borrowed and shared by every
     * session told of the same change: incref it to keep it, never modify it. */
    void (*publish)(void *data, uint64_t session, json_t *event);
    /* Reports that log entry `index` is no longer needed (see the rule above).
     * After a restore, indices the snapshot already covers may be reported
     * (a restored chain or watch): the server ignores what it no longer has. */
    void (*release)(void *data, uint64_t index);
};

/* One kind of state machine. `st` is the instance made by create(). */
struct sm_type {
    const char *name;    /* "kv", "counter", "set", "queue", "txn" */
    const char *summary; /* one line: the operations it accepts */
    /* Makes an empty instance in *st. Returns 0 or FL_ENOMEM. */
    int (*create)(void **st);
    /* Frees the instance and everything it holds. NULL is a no-op. */
    void (*destroy)(void *st);
    /* True when `op` (borrowed) is a read that the server may serve as a query
     * instead of a log command. False for anything malformed. */
    bool (*is_read_only)(const json_t *op);
    /* Applies committed entry `index` (>= 1, <= INT64_MAX, increasing) issued
     * by `session` (0: none). `op` is borrowed; the state keeps deep copies of
     * what it needs. On 0, *result is a new reference (see "Results"). On
     * FL_ENOMEM, *result is NULL and the state is unchanged: the server must
     * retry the entry or stop, never skip it. Deterministic. */
    int (*apply)(void *st, const struct sm_ctx *ctx, uint64_t index, uint64_t session,
                 const json_t *op, json_t **result);
    /* Answers a read-only op without changing anything. On 0, *result is a new
     * reference (a malformed read gets a bad_request result). Returns
     * FL_EUSAGE when !is_read_only(op) (nothing is set), FL_ENOMEM. */
    int (*query)(void *st, const json_t *op, json_t **result);
    /* Appends the canonical encoding of the state to `out`. Returns 0 or
     * FL_ENOMEM (out may then hold a partial encoding). */
    int (*snapshot)(void *st, struct fl_buf *out);
    /* Replaces the state with the one encoded in bytes[0..len) (borrowed,
     * untrusted). On error the live state is untouched and errmsg
     * (FL_ERRMSG_SIZE) says what is wrong, e.g. "snapshot: keys[2]: duplicate
     * key"; returns FL_EPARSE, FL_ESHAPE, FL_ELIMIT or FL_ENOMEM. */
    int (*restore)(void *st, const char *bytes, size_t len, char *errmsg);
    /* Forgets what `session` held (kv: its watches, releasing their entries in
     * ascending index order). Never fails, never allocates. NULL for a state
     * machine that holds nothing per session. */
    void (*session_closed)(void *st, const struct sm_ctx *ctx, uint64_t session);
};

extern const struct sm_type sm_kv;
extern const struct sm_type sm_counter;
extern const struct sm_type sm_set;
extern const struct sm_type sm_queue;
extern const struct sm_type sm_txn;

/* Looks a state machine type up by name; NULL if unknown. */
const struct sm_type *sm_type_find(const char *name);
/* All types, NULL-terminated (for --help). */
const struct sm_type *const *sm_type_all(void);

/* ==== Instance handle: the server's usual entry points ==== */

struct sm {
    const struct sm_type *type;
    void *st;
};

/* Creates an empty instance of type `name`. Returns 0, FL_EUSAGE (unknown
 * name, errmsg names it and the known types) or FL_ENOMEM. */
int sm_open(struct sm *sm, const char *name, char *errmsg);
/* Frees the instance; the handle may be opened again. */
void sm_close(struct sm *sm);

/* Wrappers over the vtable; same contracts as the members of struct sm_type. */
bool sm_is_read_only(const struct sm *sm, const json_t *op);
int sm_apply(struct sm *sm, const struct sm_ctx *ctx, uint64_t index, uint64_t session,
             const json_t *op, json_t **result);
int sm_query(struct sm *sm, const json_t *op, json_t **result);
int sm_snapshot(struct sm *sm, struct fl_buf *out);
int sm_restore(struct sm *sm, const char *bytes, size_t len, char *errmsg);
void sm_session_closed(struct sm *sm, const struct sm_ctx *ctx, uint64_t session);

/* The result a txn op would get if it were applied now, without applying it
 * (the planted bug txn-early-reads serves reads from it). Same results as
 * apply(); returns FL_EUSAGE when sm is not a txn state machine, FL_ENOMEM. */
int sm_txn_preview(struct sm *sm, const json_t *op, json_t **result);

#endif
