/* unique.h - a near-linear decision procedure for registers whose written
 * values are unique (Gibbons & Korach, "Testing shared memories", SIAM J.
 * Comput. 1997, extended to cas and to indeterminate operations).
 *
 * When every write and every cas of a key writes a value no other operation
 * of that key writes, and none writes the initial value, each read knows the
 * write it read from and the search is not needed. checker_unique_check
 * says valid or invalid in O(n log n), or that the key does not qualify
 * (the caller then runs the WGL search). */
#ifndef CHECKER_UNIQUE_H
#define CHECKER_UNIQUE_H

#include "checker/model.h"

#include <stddef.h>
#include <stdint.h>

enum checker_unique_outcome {
    CHECKER_UNIQUE_VALID,
    CHECKER_UNIQUE_INVALID,
    CHECKER_UNIQUE_INELIGIBLE, /* a value written twice, an append, ...: use the search */
};

/* Why a key is invalid, in terms of its operations (indices into the ops
 * array; SIZE_MAX when a slot is unused, e.g. the initial value's writer). */
struct checker_unique_why {
    size_t op;    /* the operation that cannot be linearized */
    size_t other; /* the operation it conflicts with, or SIZE_MAX */
    const char *rule; /* one phrase naming the violated rule (static) */
};

/* Decides one key. `ops` are the key's operations in search form as the
 * register or kv model prepared them (f one of CHECKER_REG_*), completed and
 * indeterminate ones (crashed, ret == CHECKER_POS_NEVER); fail operations
 * and unobserved reads are not in it. `initial` is the register's initial
 * value (atom). Returns 0 with *out set (and *why for invalid), or FL_ENOMEM.
 * Memory: O(n) words, allocated and released here. */
int checker_unique_check(const struct checker_op *ops, size_t n, int64_t initial,
                         enum checker_unique_outcome *out, struct checker_unique_why *why);

#endif
