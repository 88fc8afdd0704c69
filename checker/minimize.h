/* minimize.h - the smallest set of operations of an invalid history that is
 * still not linearizable, by delta debugging (Zeller & Hildebrandt's ddmin)
 * over operations. Each candidate keeps its operations' intervals (call and
 * return positions) and is decided by the linearizability check; the search
 * starts from the operations of the key the check found invalid (a subset of
 * one key that is not linearizable makes the history not linearizable).
 * Operations a candidate leaves out are not deleted but made indeterminate
 * (invoked, never known to complete), so a candidate is invalid only when its
 * operations are, whatever the others did: a read is never blamed on a write
 * that was merely left out. With a budget, one candidate may take at most a
 * tenth of it: one undecided is taken as "not shown invalid" and the search
 * goes on (the result then may not be minimal). */
#ifndef CHECKER_MINIMIZE_H
#define CHECKER_MINIMIZE_H

#include "checker/history.h"
#include "checker/linear.h"
#include "checker/model.h"

#include <stdbool.h>
#include <stddef.h>

struct checker_minimized {
    size_t *ops; /* indices into h->ops, in invoke order; owned */
    size_t n_ops;
    size_t n_start;    /* operations the search started from (the invalid key's) */
    size_t candidates; /* candidate sets checked */
    size_t undecided;  /* candidates not decided within their share of the budget */
    bool out_of_time;  /* the budget ran out before the search ended */
    bool complete;     /* false: the budget ran out or a candidate was undecided;
                        * a smaller set may exist */
    double seconds;    /* time the search took */
    double budget_s;   /* the budget it had; 0: none */
};

/* Minimizes the invalid `res` of `h`. timeout_s <= 0: no budget. Returns 0
 * (out filled; free with checker_minimized_free) or a negative code. */
int checker_minimize(const struct checker_history *h, const struct checker_model_ops *model,
                     const struct checker_model_config *config, const struct checker_result *res,
                     enum checker_procedure procedure, double timeout_s,
                     struct checker_minimized *out, char *errmsg);
void checker_minimized_free(struct checker_minimized *m);

#endif
