/* countercheck.h - Jepsen's counter checker: is every read within bounds?
 *
 * Over the `add` and `read` operations of a history (one key, or all), each
 * ok read must lie between the least and the greatest total it could have
 * observed:
 *   lower = initial + adds certainly applied before the read began (ok adds
 *           completed before its invoke) + every negative add that may have
 *           applied before it completed (ok or info, invoked before its end)
 *   upper = the same with the roles of positive and negative adds swapped.
 * Failed adds never count. Order is the order events were observed (event
 * positions), so missing timestamps do not matter. Sums saturate at the
 * int64 range instead of overflowing. Reads of nil (not observed) are skipped. */
#ifndef CHECKER_COUNTERCHECK_H
#define CHECKER_COUNTERCHECK_H

#include "checker/history.h"
#include "common/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECKER_COUNTER_ALL_KEYS UINT32_MAX /* key_id: ignore keys */

/* A read outside its bounds. */
struct checker_counter_error {
    size_t op;     /* index into checker_history.ops */
    uint64_t line; /* the read's completion line */
    int64_t value, lower, upper;
};

struct checker_counter_result {
    bool valid;                           /* no read out of bounds */
    size_t read_count;                    /* ok reads checked */
    size_t add_count;                     /* ok and info adds */
    struct checker_counter_error *errors; /* owned, in invoke order */
    size_t n_errors;
};

/* Checks key `key_id` (CHECKER_COUNTER_ALL_KEYS for every operation) of `h`
 * (borrowed), the counter starting at `initial`. Fills *r, released with
 * checker_counter_result_free. Returns 0 (whatever the verdict), FL_ESHAPE
 * with errmsg "PATH:LINE: value: problem" for an add or read whose value is
 * not an integer, or FL_ENOMEM; on error *r holds nothing to free. */
int checker_counter_check(const struct checker_history *h, uint32_t key_id, int64_t initial,
                          struct checker_counter_result *r, char *errmsg);
void checker_counter_result_free(struct checker_counter_result *r);

/* Returns a new reference: {"valid", "read_count", "add_count", "errors":
 * [{"op", "line", "value", "lower", "upper"}...]}, or NULL on OOM. */
json_t *checker_counter_result_json(const struct checker_counter_result *r);
/* Appends one human line, e.g. "counter: invalid: 2 of 40 reads out of
 * bounds (first: line 17 read 9, bounds [3, 7])". */
void checker_counter_summary(const struct checker_counter_result *r, struct fl_buf *out);

#endif
