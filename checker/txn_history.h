/* txn_history.h - transactional histories (list-append, rw-register) in a compact form.
 *
 * A transaction is an operation with f "txn" whose value is a list of
 * micro-ops, as Jepsen/Elle write them (DESIGN.md "Histories"):
 *   JSONL  {"process":2,"type":"ok","f":"txn","value":[["append","3",12],["r","4",[1,2]]]}
 *   EDN    {:process 2, :type :ok, :f :txn, :value [[:append 3 12] [:r 4 [1 2]]]}
 * Micro-ops are ["append", key, int], ["w", key, int] and ["r", key, read]
 * where the read is nil, an integer (rw-register) or a list of integers
 * (list-append), filled in on ok completions. Keys are strings or integers
 * (the string "3" and the integer 3 are two keys, as in Elle; a string key
 * that reads like an integer is named with its quotes, "3", and in EDN every
 * string key is, beside :x and 3). Nemesis events are
 * skipped; any other client operation is an input error.
 *
 * Invocations are paired with their completions per process: an ok takes the
 * completion's micro-ops (which must match the invocation's writes), fail and
 * info keep the invocation's, and an invocation never completed is info.
 * Keys become dense integer ids and every array is flat, so a million
 * transactions fit in a few hundred MiB and load in about a second: JSONL goes
 * through a small parser of its own (jansson would be several times slower),
 * EDN through common/history_edn.c with a fast path of its own for the maps
 * Jepsen writes (any other form goes to the general EDN reader). */
#ifndef CHECKER_TXN_HISTORY_H
#define CHECKER_TXN_HISTORY_H

#include "common/history.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CHECKER_TXN_NONE     UINT32_MAX
#define CHECKER_TXN_MAX_MOPS 100000    /* micro-ops in one transaction */
#define CHECKER_TXN_MAX_TXNS 50000000u /* transactions in one history */
#define CHECKER_TXN_MAX_LIST ((1u << 28) - 1) /* list values in one event (len's width) */

enum checker_txn_f { CHECKER_TXN_R, CHECKER_TXN_APPEND, CHECKER_TXN_W };
enum checker_txn_type { CHECKER_TXN_OK, CHECKER_TXN_INFO, CHECKER_TXN_FAIL };
/* What a read micro-op holds. */
enum checker_txn_rkind {
    CHECKER_TXN_RUNKNOWN, /* not known (invocation, fail, info) */
    CHECKER_TXN_RNIL,     /* nil */
    CHECKER_TXN_RINT,     /* one integer: value */
    CHECKER_TXN_RLIST,    /* a list: len integers at elems[value] */
};

/* 16 bytes: a million transactions hold a few million of these, and each
 * byte is memory touched for the first time while loading. */
struct checker_txn_mop {
    int64_t value;     /* append/w: the value; r: see rkind */
    uint32_t key;      /* key id */
    uint32_t len : 28; /* RLIST: its length (<= CHECKER_TXN_MAX_LIST) */
    uint32_t f : 2;    /* enum checker_txn_f */
    uint32_t rkind : 2; /* enum checker_txn_rkind */
};

struct checker_txn {
    uint64_t inv_line, end_line; /* source lines; end_line 0 when never completed */
    uint64_t inv_pos, end_pos;   /* event ordinals; end_pos UINT64_MAX unless ok or fail */
    int64_t process;
    int64_t inv_time, end_time; /* ns, -1 when absent */
    uint32_t mop, n_mops;       /* mops[mop .. mop + n_mops) */
    uint8_t type;               /* enum checker_txn_type */
};

struct checker_txn_history {
    struct checker_txn *txns; /* in invocation order */
    size_t n_txns, cap_txns;
    struct checker_txn_mop *mops;
    size_t n_mops, cap_mops;
    int64_t *elems; /* contents of list reads; reads of a key that are prefixes of one
                       another share their values (one offset, each its own len) */
    size_t n_elems, cap_elems;
    char *names; /* key names, NUL-separated */
    size_t names_len, names_cap;
    uint32_t *key_off; /* key id -> offset in names */
    uint32_t n_keys, cap_keys;
    uint32_t *key_slots; /* open addressing: key id + 1, 0 empty */
    size_t n_key_slots;
    uint32_t *ok_order; /* ok transactions in completion order */
    size_t n_ok_order, cap_ok_order;
    uint64_t n_events; /* events read, nemesis included */
    enum fl_history_format format;
    char *path; /* owned copy, for messages */
};

/* Loads `path` ("-": standard input, with `format` given) in JSONL or EDN
 * (autodetected when `format` is FL_FORMAT_AUTO). Returns 0, or a negative
 * code with errmsg "PATH:LINE: field: problem". *h is to be freed with
 * checker_txn_history_free in both cases. */
int checker_txn_history_load(const char *path, enum fl_history_format format,
                             struct checker_txn_history *h, char *errmsg);
/* The same over an open stream, transferred (closed here unless it is
 * stdin); `name` is for messages; autodetection needs a seekable stream. */
int checker_txn_history_load_file(FILE *fp, const char *name, enum fl_history_format format,
                                  struct checker_txn_history *h, char *errmsg);
void checker_txn_history_free(struct checker_txn_history *h);
/* Test hook (process-wide): false makes EDN loading skip its fast path, so
 * tests and the fuzzer can check that both readings agree. */
void checker_txn_history_edn_fast(bool on);

/* Key name of id `key` (borrowed from h). */
static inline const char *checker_txn_key_name(const struct checker_txn_history *h, uint32_t key)
{
    return h->names + h->key_off[key];
}

/* True when the micro-op writes (append or w). */
static inline bool checker_txn_mop_writes(const struct checker_txn_mop *m)
{
    return m->f != CHECKER_TXN_R;
}

#endif
