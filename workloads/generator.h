/* generator.h - operation generators of the workloads: pure, seeded, one op at a time.
 *
 * A generator hands out the next operation for a process as a history-shaped
 * op {"f":..., "key":..., "value":...} (DESIGN.md "Histories"). Models:
 *   register  read / write / cas on one key ("r0"), values 1, 2, 3, ...
 *   kv        read / write / cas over `keys` keys used at once; after
 *             `rotation_ops` operations a key retires and a fresh one takes
 *             its place (Jepsen's independent keys: each key's history stays
 *             small enough to check)
 *   counter   add 1 / read
 *   set       add of unique integers / read
 *   queue     enqueue of unique integers / dequeue
 *   list-append, rw-register
 *             Elle's transactions {"f":"txn","value":[["append","k3",12],
 *             ["r","k4",null]]}: 1..txn_max_ops micro-ops over `keys` keys
 *             (rotated like kv), appends/writes of integers unique in the
 *             run ("w" for rw-register), reads ["r",key,null] filled in by
 *             the adapter on ok
 * Values written are unique per generator, so a read names the write it saw.
 * Final reads (after the faults) cover every key the run touched (for the
 * transactional models: one transaction reading every key). */
#ifndef WORKLOAD_GENERATOR_H
#define WORKLOAD_GENERATOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/rng.h"

#define WORKLOAD_TXN_MAX_OPS 16 /* micro-ops of one generated transaction, at most */

enum workload_model { WORKLOAD_REGISTER = 1, WORKLOAD_KV, WORKLOAD_COUNTER, WORKLOAD_SET,
                      WORKLOAD_QUEUE, WORKLOAD_LIST_APPEND, WORKLOAD_RW_REGISTER };

/* Weights of each operation kind; zero disables one. `read` applies to every
 * model; `write`, `cas` to register/kv; `add` to counter/set; `enqueue`,
 * `dequeue` to queue. */
struct workload_mix {
    unsigned read, write, cas, add, enqueue, dequeue;
};

struct workload_generator_config {
    enum workload_model model;
    unsigned keys;         /* keys in use at once (kv) */
    unsigned rotation_ops; /* operations on a key before it retires (kv); 0: never */
    struct workload_mix mix;
    unsigned value_bytes; /* 0: integer values; else strings of this size (unique prefix) */
    unsigned txn_max_ops; /* micro-ops per transaction, 1..16 (list-append, rw-register) */
    uint64_t seed;
};

struct workload_generator {
    struct workload_generator_config c;
    struct fl_rng rng;
    uint64_t next_value;
    uint64_t *key_ops;   /* operations issued on each active key slot */
    uint64_t *key_id;    /* the key currently in each slot */
    uint64_t next_key;   /* id of the next fresh key */
    uint64_t last_value; /* last value written, for cas guesses */
    uint64_t *key_last;  /* last value written to each active key slot */
};

/* Parses "register", "kv", "counter", "set", "queue", "list-append",
 * "rw-register". Returns 0 or FL_EUSAGE. */
int workload_model_parse(const char *s, enum workload_model *out);
const char *workload_model_name(enum workload_model m);
/* The state machine of the reference node that hosts a model. */
const char *workload_model_sm(enum workload_model m);
/* The checker model name (checker/model.h) of a workload model. */
const char *workload_model_checker(enum workload_model m);

/* Fills defaults for `m`: 4 keys rotated every 200 ops, read/write/cas
 * 2/2/1 (register, kv), read/add 1/4 (counter), add 4, read 1 (set),
 * enqueue/dequeue 1/1 + read 0 (queue), read/write 1/1 and 4 micro-ops
 * (list-append, rw-register: write is append or w). */
void workload_generator_defaults(struct workload_generator_config *c, enum workload_model m);

int workload_generator_init(struct workload_generator *g, const struct workload_generator_config *c);
void workload_generator_close(struct workload_generator *g);

/* The next operation: a new reference to {"f","key"?,"value"?}. NULL only
 * when out of memory. */
json_t *workload_generator_next(struct workload_generator *g);

/* Whether `m` is transactional (list-append, rw-register). */
bool workload_model_is_txn(enum workload_model m);

/* The keys touched so far (kv and transactional models: every key ever
 * handed out; other models: the one key they use, NULL). Fills up to `max`
 * keys and returns the total count. */
uint64_t workload_generator_keys(const struct workload_generator *g, json_t **keys, uint64_t max);

/* The read operation for `key` (final reads; transactional models: a txn
 * reading that one key, so no final read grows with the run past a
 * system's bound on a transaction's size): a new reference. */
json_t *workload_generator_read(const struct workload_generator *g, const json_t *key);

#endif
