/* scenario_read.h - what the scenario_*.c files share (internal to harness/scenario*.c): JSON
 * field readers whose errors name the scenario and the field path ("scenario NAME:
 * nemesis.options.delay.ms: expected 1..60000, got 0"), and the fault name table. */
#ifndef HARNESS_SCENARIO_READ_H
#define HARNESS_SCENARIO_READ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/scenario.h"

/* Where messages go: the scenario's name and the caller's errmsg. */
struct harness__sc {
    const char *name; /* for messages */
    char *errmsg;
};

/* Each reader reads obj[key] when present (absent: *out untouched, 0), checks its type and
 * bounds, and returns 0 or FL_ESHAPE / FL_ELIMIT with errmsg "scenario NAME: path.key: ...". */
int harness__fail(struct harness__sc *c, int code, const char *path, const char *key,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int harness__only_keys(struct harness__sc *c, json_t *obj, const char *path,
                       const char *const *allowed);
int harness__get_object(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                        json_t **out);
int harness__get_u64(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                     uint64_t min, uint64_t max, uint64_t *out);
int harness__get_uint(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                      unsigned min, unsigned max, unsigned *out);
int harness__get_double(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                        double min, double max, double *out);
int harness__get_bool(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                      bool *out);
int harness__check_text(struct harness__sc *c, json_t *v, const char *path, const char *key,
                        size_t cap);
int harness__get_text(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                      char *out, size_t cap);
int harness__get_enum(struct harness__sc *c, json_t *obj, const char *path, const char *key,
                      const char *const *names, int n, bool null_ok, int null_value, int *out);

/* The JSON type of v as a word for messages ("a string", "null", ...). */
const char *harness__type_name(const json_t *v);

/* The fault kind names, indexed by enum harness_fault (HARNESS_FAULT_COUNT of them). */
const char *const *harness__fault_names(void);

#endif
