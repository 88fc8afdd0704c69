/* setcheck.h - Jepsen's set checker: were acknowledged adds kept?
 *
 * Over the `add` and `read` operations of a history (one key, or all), it
 * compares the adds with the final read, the ok read that completed last:
 *   lost        an element whose add was acknowledged (ok) but is missing
 *   unexpected  an element read that no add ever attempted
 *   duplicated  an element appearing twice in one ok read (any read)
 *   recovered   an element whose add was indeterminate (info) that is present
 *   never read  an element whose add was acknowledged but completed only
 *               after the final read began, and that the final read lacks:
 *               no read was bound to see it (Jepsen's "never-read"). Not
 *               lost: when the real final reads all failed, the last ok read
 *               may be from the middle of the run.
 * Elements are compared by their canonical JSON text. As in Jepsen, an
 * element whose add failed is "attempted": reading it is not unexpected.
 * The verdict is invalid when anything is lost, unexpected or duplicated;
 * otherwise unknown when no read succeeded or some element was never read;
 * otherwise valid. */
#ifndef CHECKER_SETCHECK_H
#define CHECKER_SETCHECK_H

#include "checker/history.h"
#include "common/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECKER_SET_ALL_KEYS UINT32_MAX /* key_id: ignore keys, one set for the history */

struct checker_set_result {
    bool valid;   /* nothing wrong and nothing unknown */
    bool unknown; /* nothing wrong, but no final read or elements never read */
    bool has_final_read;
    size_t final_read_op;      /* index into checker_history.ops */
    size_t read_count;         /* ok reads seen */
    size_t attempt_count;      /* distinct elements with an add invoked (ok, info or fail) */
    size_t acknowledged_count; /* distinct elements with an ok add */
    size_t ok_count;           /* attempted elements present in the final read */
    size_t lost_count, unexpected_count, duplicated_count, recovered_count, never_read_count;
    /* Owned JSON arrays of the elements in each class, integers first in
     * numeric order, then the others by their JSON text. */
    json_t *lost, *unexpected, *duplicated, *recovered, *never_read;
};

/* Checks the adds and reads of key `key_id` (CHECKER_SET_ALL_KEYS for every
 * operation) of `h` (borrowed). Fills *r, which the caller releases with
 * checker_set_result_free. Returns 0 (whatever the verdict), FL_ESHAPE with
 * errmsg "PATH:LINE: value: problem" for a read whose value is not an array,
 * or FL_ENOMEM. On error *r holds nothing to free. */
int checker_set_check(const struct checker_history *h, uint32_t key_id,
                      struct checker_set_result *r, char *errmsg);
void checker_set_result_free(struct checker_set_result *r);

/* Returns a new reference: the result as a JSON object ("valid" is true, false
 * or "unknown"; "never_read" and its count), or NULL on allocation failure. */
json_t *checker_set_result_json(const struct checker_set_result *r);
/* Appends one human line, e.g. "set: invalid: 10 attempted, 9 acknowledged,
 * 8 ok, 1 lost [3], 0 unexpected, 0 duplicated, 0 recovered, 0 never read". */
void checker_set_summary(const struct checker_set_result *r, struct fl_buf *out);

#endif
