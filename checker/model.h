/* model.h - the sequential specification a history is checked against.
 *
 * A model is a vtable in its own file (model_register.c, model_set.c, ...).
 * The search never looks inside a state: states are 64-bit handles. Small
 * models encode the state itself in the handle (a register's value); larger
 * ones (set, queue, multi-register) intern their states in a table inside the
 * model instance and hand out table indices, so equal states have equal
 * handles. One model instance serves one key's search on one thread.
 *
 * Values: every JSON value a model sees is reduced to an int64 "atom" by
 * checker_atom(): JSON integers are themselves, null is CHECKER_NIL, anything
 * else (strings, keywords, floats, arrays) is interned in the model's atom
 * table to an id in the reserved range. */
#ifndef CHECKER_MODEL_H
#define CHECKER_MODEL_H

#include "checker/history.h"
#include "common/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define CHECKER_NIL        INT64_MIN
#define CHECKER_ATOM_BASE  (INT64_MIN + 1) /* interned atoms: BASE .. BASE+2^32 */
#define CHECKER_ATOM_LIMIT (INT64_MIN + 1 + (1ll << 32))

/* One operation in search form. Arguments are model-defined. */
struct checker_op {
    uint32_t id;       /* dense per search, assigned by the search */
    uint32_t hop;      /* index into checker_history.ops */
    int64_t call, ret; /* event positions; ret == CHECKER_POS_NEVER if it may never complete */
    uint16_t f;        /* model-defined operation code */
    bool crashed;      /* info: may take effect or not */
    int64_t a, b;      /* arguments */
    const int64_t *xs; /* variable arguments, owned by the model instance */
    uint32_t nxs;
};

/* Options a model instance is created with. */
struct checker_model_config {
    json_t *initial;   /* borrowed; initial value (register) or NULL for the model default */
    bool nil_read_any; /* Knossos: an ok read of nil is always legal */
    bool edn;          /* the history is EDN: a map's keys are keywords or EDN forms
                          (fl_edn_key_value), not strings */
};

struct checker_model;

struct checker_model_ops {
    const char *name;
    const char *summary; /* one line for --help: the operations it accepts */
    size_t impl_size;    /* bytes of per-instance state zeroed before create */
    /* Sets up the instance (intern tables...). Returns 0 or a negative code. */
    int (*create)(struct checker_model *m, char *errmsg);
    void (*destroy)(struct checker_model *m);
    /* Converts a history operation into search form (f, a, b, xs).
     * Returns 0; CHECKER_PREPARE_DROP when the operation cannot constrain the
     * search (a crashed read, say); or FL_ESHAPE with errmsg "field: problem"
     * for an unknown f or a value of the wrong shape. */
    int (*prepare)(struct checker_model *m, const struct checker_hop *hop, struct checker_op *op,
                   char *errmsg);
    uint64_t (*init)(struct checker_model *m);
    /* Applies op in state; returns true with *next set when it is legal. A
     * crashed op's unknown result must be treated as "any". Returns false and
     * sets m->oom on allocation failure (the search then reports unknown). */
    bool (*step)(struct checker_model *m, uint64_t state, const struct checker_op *op,
                 uint64_t *next);
    /* Optional: true when op never changes the state (a read). The search
     * linearizes a legal read-only op at once, never later: postponing a
     * no-op cannot enable anything. NULL: no op is read-only. */
    bool (*read_only)(struct checker_model *m, const struct checker_op *op);
    uint64_t (*hash)(struct checker_model *m, uint64_t state);
    bool (*equal)(struct checker_model *m, uint64_t a, uint64_t b);
    void (*describe_state)(struct checker_model *m, uint64_t state, struct fl_buf *out);
    void (*describe_op)(struct checker_model *m, const struct checker_op *op, struct fl_buf *out);
};

#define CHECKER_PREPARE_DROP 1

struct checker_model {
    const struct checker_model_ops *ops;
    struct checker_model_config config;
    void *impl; /* impl_size bytes, owned */
    bool oom;
    /* Atom table: non-integer values interned per instance. */
    void *atoms;
    size_t mem_bytes; /* bytes held by intern tables, for --max-memory */
};

/* Looks a model up by name ("register", "cas-register", "kv", "counter", "set",
 * "queue", "mutex", "multi-register"); NULL if unknown. */
const struct checker_model_ops *checker_model_find(const char *name);
/* All models, NULL-terminated, for --help. */
const struct checker_model_ops *const *checker_model_all(void);

/* Creates an instance. `config` is copied (initial is borrowed for the
 * instance's lifetime). */
int checker_model_create(struct checker_model *m, const struct checker_model_ops *ops,
                         const struct checker_model_config *config, char *errmsg);
void checker_model_destroy(struct checker_model *m);

/* Reduces a JSON value to an atom (see above). Returns false on OOM. */
bool checker_atom(struct checker_model *m, const json_t *v, int64_t *out);
/* Appends the JSON text of an atom to out ("nil" for CHECKER_NIL). */
void checker_atom_describe(struct checker_model *m, int64_t atom, struct fl_buf *out);
/* The canonical JSON text of an interned atom (owned by the table), or NULL
 * for nil, integers and unknown ids. */
const char *checker_atom_text_of(const struct checker_model *m, int64_t atom);
/* Interns canonical JSON text as checker_atom() would have produced it. */
bool checker_atom_text(struct checker_model *m, const char *text, int64_t *out);

/* Operation codes (checker_op.f) of the register and kv models: a read of
 * a, a write of a, a cas from a to b, an append of a. checker/unique.c
 * decides these without the search when values are unique. */
enum { CHECKER_REG_READ, CHECKER_REG_WRITE, CHECKER_REG_CAS, CHECKER_REG_APPEND };

/* Model vtables, one per file. */
extern const struct checker_model_ops checker_model_register;
extern const struct checker_model_ops checker_model_kv;
extern const struct checker_model_ops checker_model_counter;
extern const struct checker_model_ops checker_model_set;
extern const struct checker_model_ops checker_model_queue;
extern const struct checker_model_ops checker_model_mutex;
extern const struct checker_model_ops checker_model_multi_register;

#endif
