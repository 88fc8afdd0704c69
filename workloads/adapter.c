/* adapter.c - what the adapters share: building a node's argv, deciding who leads. */
#include "workloads/adapter.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

int workload_argv_push(char **argv, size_t max, size_t *argc, char *buf, size_t buflen,
                       size_t *used, const char *s)
{
    size_t n = strlen(s) + 1;
    if (*argc + 1 >= max || *used + n > buflen)
        return FL_ELIMIT;
    memcpy(buf + *used, s, n);
    argv[(*argc)++] = buf + *used;
    argv[*argc] = NULL;
    *used += n;
    return 0;
}

/* A node's answer, checked: false when malformed. */
static bool leader_answer(const json_t *a, unsigned n, bool *unknown, int *leader, bool *has_term,
                          int64_t *term)
{
    if (!json_is_object(a))
        return false;
    *unknown = json_is_true(json_object_get(a, "unknown"));
    if (*unknown)
        return true;
    json_t *l = json_object_get(a, "leader"), *t = json_object_get(a, "term");
    if (l == NULL || !(json_is_null(l) || (json_is_integer(l) && json_integer_value(l) >= 0 &&
                                           json_integer_value(l) < (json_int_t)n)))
        return false;
    if (t != NULL && !json_is_null(t) && !(json_is_integer(t) && json_integer_value(t) >= 0))
        return false;
    *leader = json_is_integer(l) ? (int)json_integer_value(l) : -1;
    *has_term = json_is_integer(t);
    *term = *has_term ? (int64_t)json_integer_value(t) : 0;
    return true;
}

void workload_leader_decide(json_t *const *answers, unsigned n, struct workload_leader *out)
{
    memset(out, 0, sizeof *out);
    out->node = -1;
    unsigned unknown = 0, ranked = 0;
    bool best_has_term = false;
    int64_t best_term = 0;
    for (unsigned pass = 0; pass < 2; pass++) {
        /* Pass 0 finds the highest (has_term, term); pass 1 reads that rank's leaders. */
        int named = -1;
        bool disagree = false;
        for (unsigned i = 0; i < n; i++) {
            bool unk = false, has_term = false;
            int leader = -1;
            int64_t term = 0;
            if (answers[i] == NULL ||
                !leader_answer(answers[i], n, &unk, &leader, &has_term, &term))
                continue;
            if (pass == 0) {
                out->answers++;
                if (unk) {
                    unknown++;
                    out->cannot_say++;
                } else if (ranked++ == 0 || has_term > best_has_term ||
                           (has_term == best_has_term && term > best_term)) {
                    best_has_term = has_term;
                    best_term = term;
                }
                continue;
            }
            if (unk || has_term != best_has_term || term != best_term || leader < 0)
                continue;
            if (named >= 0 && named != leader)
                disagree = true;
            named = leader;
        }
        if (pass == 0 && ranked == 0) {
            if (unknown > 0) {
                out->state = WORKLOAD_LEADER_UNKNOWN;
                snprintf(out->why, sizeof out->why, "the system cannot say who leads");
            } else {
                snprintf(out->why, sizeof out->why, "no node answered the leader question");
            }
            return;
        }
        if (pass == 1) {
            out->has_term = best_has_term;
            out->term = best_term;
            if (disagree) {
                out->state = WORKLOAD_LEADER_UNKNOWN;
                if (best_has_term)
                    snprintf(out->why, sizeof out->why,
                             "nodes name different leaders in term %" PRId64, best_term);
                else
                    snprintf(out->why, sizeof out->why,
                             "nodes name different leaders and the system has no term");
            } else if (named < 0) {
                if (best_has_term)
                    snprintf(out->why, sizeof out->why, "no leader in term %" PRId64, best_term);
                else
                    snprintf(out->why, sizeof out->why, "no node knows a leader");
            } else {
                out->state = WORKLOAD_LEADER_KNOWN;
                out->node = named;
            }
        }
    }
}
