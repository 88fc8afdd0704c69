/* test_leader_decide.c - who leads, from every node's answer (adapter.h, the leader question). */
#include <criterion/criterion.h>
#include <string.h>

#include "workloads/adapter.h"

/* Decides from answers given as JSON texts (NULL: no answer). */
static struct workload_leader decide(unsigned n, const char *const *texts)
{
    json_t *a[WORKLOAD_MAX_NODES] = {0};
    for (unsigned i = 0; i < n; i++)
        a[i] = texts[i] != NULL ? json_loads(texts[i], 0, NULL) : NULL;
    struct workload_leader out;
    workload_leader_decide(a, n, &out);
    for (unsigned i = 0; i < n; i++)
        json_decref(a[i]);
    return out;
}

Test(workload_leader, the_highest_term_wins_over_a_stale_leader)
{
    /* n1 was isolated and still believes it leads in term 3; the others moved to term 4. */
    const char *t[] = {"{\"leader\":0,\"term\":3}", "{\"leader\":2,\"term\":4}",
                       "{\"leader\":2,\"term\":4}"};
    struct workload_leader l = decide(3, t);
    cr_assert_eq(l.state, WORKLOAD_LEADER_KNOWN);
    cr_assert_eq(l.node, 2);
    cr_assert(l.has_term);
    cr_assert_eq(l.term, 4);
    cr_assert_eq(l.answers, 3);
}

Test(workload_leader, a_newer_term_without_a_leader_deposes_the_old_one)
{
    const char *t[] = {"{\"leader\":0,\"term\":3}", "{\"leader\":null,\"term\":5}", NULL};
    struct workload_leader l = decide(3, t);
    cr_assert_eq(l.state, WORKLOAD_LEADER_NONE);
    cr_assert_eq(l.node, -1);
    cr_assert_eq(l.term, 5);
    cr_assert(strstr(l.why, "term 5") != NULL, "%s", l.why);
}

Test(workload_leader, a_follower_that_has_not_heard_yet_does_not_hide_the_leader)
{
    const char *t[] = {"{\"leader\":null,\"term\":6}", "{\"leader\":1,\"term\":6}", NULL};
    struct workload_leader l = decide(3, t);
    cr_assert_eq(l.state, WORKLOAD_LEADER_KNOWN);
    cr_assert_eq(l.node, 1);
}

Test(workload_leader, answers_with_a_term_outrank_answers_without)
{
    const char *t[] = {"{\"leader\":0}", "{\"leader\":1,\"term\":0}", NULL};
    struct workload_leader l = decide(3, t);
    cr_assert_eq(l.state, WORKLOAD_LEADER_KNOWN);
    cr_assert_eq(l.node, 1);
}

Test(workload_leader, without_terms_disagreement_is_unknown_not_a_guess)
{
    /* A Redis-like failover: the isolated ex-master names itself, the others n2. */
    const char *t[] = {"{\"leader\":0}", "{\"leader\":1}", "{\"leader\":1}"};
    struct workload_leader l = decide(3, t);
    cr_assert_eq(l.state, WORKLOAD_LEADER_UNKNOWN);
    cr_assert_eq(l.node, -1);
    cr_assert(strstr(l.why, "different leaders") != NULL, "%s", l.why);
    const char *agree[] = {"{\"leader\":1}", "{\"leader\":1}", NULL};
    l = decide(3, agree);
    cr_assert_eq(l.state, WORKLOAD_LEADER_KNOWN);
    cr_assert_eq(l.node, 1);
    cr_assert_not(l.has_term);
}

Test(workload_leader, a_system_that_cannot_say_is_unknown)
{
    const char *t[] = {"{\"unknown\":true}", "{\"unknown\":true}", NULL};
    struct workload_leader l = decide(3, t);
    cr_assert_eq(l.state, WORKLOAD_LEADER_UNKNOWN);
    cr_assert_eq(l.answers, 2);
    cr_assert_eq(l.cannot_say, 2);
    /* One node that can say is taken over those that cannot. */
    const char *mixed[] = {"{\"unknown\":true}", "{\"leader\":2,\"term\":1}", NULL};
    l = decide(3, mixed);
    cr_assert_eq(l.state, WORKLOAD_LEADER_KNOWN);
    cr_assert_eq(l.node, 2);
}

Test(workload_leader, no_answer_and_malformed_answers_know_nothing)
{
    const char *none[] = {NULL, NULL, NULL};
    struct workload_leader l = decide(3, none);
    cr_assert_eq(l.state, WORKLOAD_LEADER_NONE);
    cr_assert_eq(l.answers, 0);
    const char *bad[] = {"{\"leader\":3,\"term\":9}", "{\"leader\":\"n1\",\"term\":9}",
                         "{\"leader\":0,\"term\":-2}"};
    l = decide(3, bad);
    cr_assert_eq(l.state, WORKLOAD_LEADER_NONE);
    cr_assert_eq(l.answers, 0);
}
