/* test_bugs.c - targeted fault sequences that expose the planted bugs the sweep misses. */
#include <criterion/criterion.h>
#include <string.h>

#include "sim.h"

/* Each scenario is a function of the bug flags, so that the test with the
 * bug and the test without it run the very same sequence of faults: with the
 * bug the sim must report a violation, without it every check must pass. */

/* ==== Helpers ==== */

/* A quiet cluster of `voters` (no random faults, clients, drift, passive or
 * spare servers) with the sweep's options and seed 42. Every scenario below
 * also passes on seeds 1..150: nothing depends on a lucky draw. */
static void quiet_config(struct sim_config *c, unsigned voters, unsigned bugs)
{
    sim_config_default(c, 42, voters);
    c->passive = 0;
    c->spare = 0;
    c->fault_ms = 0;
    c->op_every = 0;
    c->max_drift = 0;
    c->opt.bugs = bugs;
}

/* Starts the cluster of `c` and runs it until a leader is elected. */
static struct sim *start(const struct sim_config *c)
{
    struct sim *s = sim_new(c);
    cr_assert_not_null(s);
    cr_assert_eq(sim_run_for(s, 1000), 0, "%s", sim_error(s));
    cr_assert_neq(sim_leader(s), 0, "no leader after 1 s");
    return s;
}

static void run(struct sim *s, uint64_t ms)
{
    cr_assert_eq(sim_run_for(s, ms), 0, "%s", sim_error(s));
}

static bool leads(struct sim *s, uint64_t id)
{
    struct raft *r = sim_raft(s, id);
    return r != NULL && r->state == RAFT_LEADER;
}

/* Runs 1 ms at a time until `id` leads (or `ms` passed); returns whether it
 * does. A failed invariant ends the wait early (the caller checks). */
static bool wait_leader(struct sim *s, uint64_t id, uint64_t ms)
{
    for (uint64_t t = 0; t < ms && !leads(s, id); t++)
        if (sim_run_for(s, 1) != 0)
            return false;
    return leads(s, id);
}

/* What a scenario ends with: whether the sim failed, and why. */
struct outcome {
    bool failed;
    char why[512];
};

static void outcome_set(struct outcome *o, struct sim *s, int rv)
{
    o->failed = rv != 0;
    snprintf(o->why, sizeof o->why, "%s", rv != 0 ? sim_error(s) : "");
}

/* After a scenario without the bug: heal, restart everyone, elect a leader,
 * commit a fresh write everywhere and check every read. */
static int settle(struct sim *s, unsigned n)
{
    sim_heal(s);
    sim_set_filter(s, NULL, NULL);
    for (uint64_t id = 1; id <= n; id++)
        sim_restart(s, id);
    if (sim_run_for(s, 1000) != 0)
        return -1;
    uint64_t l = sim_leader(s);
    cr_assert_neq(l, 0, "no leader after healing");
    uint64_t v = sim_write(s, l);
    cr_assert_neq(v, 0);
    if (sim_run_for(s, 500) != 0)
        return -1;
    for (uint64_t id = 1; id <= n; id++)
        cr_assert_eq(sim_state_value(s, id), v, "node %llu did not apply the fresh write",
                     (unsigned long long)id);
    return sim_check_reads(s);
}

/* ==== RAFT_BUG_COMMIT_OLD_TERM: Figure 3.7 ==== */

/* Who may do what in the Figure 3.7 sequence (a message filter). */
struct fig37 {
    uint64_t campaigner; /* only its (pre-)vote requests are delivered; 0: anyone's */
    uint64_t mute;       /* its AppendEntries are dropped; 0: none */
    uint64_t leader;     /* its AppendEntries that would make a follower store */
    uint64_t old_term;   /* ... an entry of a term above this are dropped */
};

static bool fig37_filter(struct sim *s, const struct raft_message *m, void *data)
{
    const struct fig37 *f = data;
    if (m->type == RAFT_VOTE && f->campaigner != 0 && m->from != f->campaigner)
        return true;
    if (m->type != RAFT_APPEND)
        return false;
    if (m->from == f->mute)
        return true;
    if (m->from != f->leader)
        return false;
    /* Drop only what the receiver would accept: a probe it must reject (it
     * lacks prev) still gets through, so the leader learns to send the
     * old-term entry first, alone (max_batch = 1). */
    struct raft *to = sim_raft(s, m->to);
    if (to == NULL || raft_term_at(to, m->append.prev_index) != m->append.prev_term)
        return false;
    for (unsigned i = 0; i < m->append.n; i++)
        if (m->append.entries[i].term > f->old_term)
            return true;
    return false;
}

/* Figure 3.7 of Ongaro's dissertation with five servers, p[1..5] standing for
 * S1..S5 (b = the last index every server holds):
 *  (a) S1 leads term t1 and replicates a write at b+1 to S2 only, then crashes;
 *  (b) S5 is elected in t2 by S3, S4 and itself, appends its no-op at b+1,
 *      sends nothing and crashes;
 *  (c) S1 restarts and is elected in t3; it replicates its term-t1 entry b+1
 *      to S3 and S4, but its t3 no-op reaches no one. The t1 entry is now on
 *      a majority: the bug commits it by counting, the correct rule does not.
 *      S1 crashes;
 *  (d) S5 restarts and is elected in t4 by S2, S3, S4 (its last term t2 beats
 *      their t1), and overwrites b+1 with its t2 entry. */
static void figure_3_7(unsigned bugs, struct outcome *o)
{
    struct sim_config c;
    quiet_config(&c, 5, bugs);
    c.opt.max_batch = 1;
    struct sim *s = start(&c);
    uint64_t p[6];
    p[1] = sim_leader(s);
    for (uint64_t id = 1, k = 2; id <= 5; id++)
        if (id != p[1])
            p[k++] = id;
    const uint64_t b = raft_last_index(sim_raft(s, p[1]));
    const uint64_t t1 = sim_raft(s, p[1])->term;
    struct fig37 f = {0};
    sim_set_filter(s, fig37_filter, &f);

    /* (a) */
    for (int k = 3; k <= 5; k++)
        sim_cut(s, p[1], p[k], true);
    cr_assert_neq(sim_write(s, p[1]), 0);
    run(s, 20);
    cr_assert_eq(raft_term_at(sim_raft(s, p[2]), b + 1), t1, "S2 lacks the t1 write");
    cr_assert_eq(raft_last_index(sim_raft(s, p[3])), b, "S3 got the t1 write");
    sim_crash(s, p[1]);
    sim_heal(s);

    /* (b) */
    f.campaigner = p[5];
    f.mute = p[5];
    cr_assert(wait_leader(s, p[5], 2000), "S5 not elected: %s", sim_error(s));
    const uint64_t t2 = sim_raft(s, p[5])->term;
    cr_assert_eq(raft_term_at(sim_raft(s, p[5]), b + 1), t2);
    sim_crash(s, p[5]);

    /* (c) */
    f.campaigner = p[1];
    f.leader = p[1]; /* S5's appends still in flight stay muted */
    f.old_term = t2;
    sim_restart(s, p[1]);
    cr_assert(wait_leader(s, p[1], 2000), "S1 not re-elected: %s", sim_error(s));
    const uint64_t t3 = sim_raft(s, p[1])->term;
    cr_assert_gt(t3, t2);
    for (uint64_t t = 0; t < 500; t++) {
        if (raft_term_at(sim_raft(s, p[3]), b + 1) == t1 &&
            raft_term_at(sim_raft(s, p[4]), b + 1) == t1)
            break;
        run(s, 1);
    }
    cr_assert_eq(raft_term_at(sim_raft(s, p[3]), b + 1), t1, "S3 lacks the t1 entry");
    cr_assert_eq(raft_term_at(sim_raft(s, p[4]), b + 1), t1, "S4 lacks the t1 entry");
    run(s, 10); /* their acknowledgements reach S1 */
    cr_assert_eq(raft_last_index(sim_raft(s, p[3])), b + 1, "S3 got the t3 no-op");
    uint64_t commit = raft_commit_index(sim_raft(s, p[1]));
    if (bugs & RAFT_BUG_COMMIT_OLD_TERM)
        cr_assert_eq(commit, b + 1, "S1 did not commit the old-term entry by counting");
    else
        cr_assert_leq(commit, b, "S1 committed an old-term entry by counting");
    sim_crash(s, p[1]);

    /* (d) */
    f.campaigner = p[5];
    f.mute = 0; /* S1's appends still in flight stay filtered */
    sim_restart(s, p[5]);
    bool elected = wait_leader(s, p[5], 2000);
    int rv = sim_error(s)[0] != '\0' ? -1 : 0; /* its election may break an invariant */
    if (rv == 0) {
        cr_assert(elected, "S5 not elected in (d)");
        rv = sim_run_for(s, 200);
    }
    if (rv == 0) {
        cr_assert_gt(sim_raft(s, p[5])->term, t3);
        rv = settle(s, 5);
    }
    outcome_set(o, s, rv);
    sim_free(s);
}

Test(sim_bugs, commit_old_term_figure_3_7_overwrites_a_committed_entry)
{
    struct outcome o;
    figure_3_7(RAFT_BUG_COMMIT_OLD_TERM, &o);
    cr_assert(o.failed, "Figure 3.7 with the bug went undetected");
    cr_expect(strstr(o.why, "leader completeness") != NULL ||
                  strstr(o.why, "state machine safety") != NULL,
              "unexpected failure: %s", o.why);
}

Test(sim_bugs, commit_old_term_figure_3_7_safe_without_bug)
{
    struct outcome o;
    figure_3_7(0, &o);
    cr_assert(!o.failed, "%s", o.why);
}

/* ==== RAFT_BUG_VOTE_NOT_PERSISTED: a vote forgotten in a crash ==== */

/* Watches for the first real vote granted in a term above `after`; from then
 * on drops AppendEntries to the voter, so its log stays as old as the
 * candidates' (the new leader's no-op would otherwise make it refuse). */
struct grant {
    uint64_t after;
    uint64_t voter, candidate, term;
};

static bool grant_filter(struct sim *s, const struct raft_message *m, void *data)
{
    (void)s;
    struct grant *g = data;
    if (g->voter == 0 && m->type == RAFT_VOTE_RESULT && !m->vote_result.pre &&
        m->vote_result.granted && m->term > g->after) {
        g->voter = m->from;
        g->candidate = m->to;
        g->term = m->term;
    }
    return g->voter != 0 && m->type == RAFT_APPEND && m->to == g->voter;
}

/* Three voters X (the first leader), Y and Z, without pre-vote so that a
 * restarted server campaigns straight in the next term:
 *  1. X hands leadership to Y (TimeoutNow) and crashes at once; Y campaigns
 *     in term t+1 and Z grants it its vote: Y leads t+1. Z crashes as soon
 *     as its grant has reached Y;
 *  2. X and Z restart, both cut off from Y, Z with a clock at 0.4 so that X's
 *     election timer fires first. Z is in term t+1 with the vote it persisted
 *     (none with the bug); X, still in term t, campaigns in t+1 and asks Z,
 *     whose log is as up to date as its own.
 * Correct: Z remembers voting for Y and refuses; X wins a later term. With the
 * bug Z grants again and X also leads t+1 (Election Safety). */
static void forgotten_vote(unsigned bugs, struct outcome *o, uint64_t *vote_after_restart)
{
    struct sim_config c;
    quiet_config(&c, 3, bugs);
    c.opt.pre_vote = false;
    struct sim *s = start(&c);
    const uint64_t x = sim_leader(s), t = sim_raft(s, x)->term;
    const uint64_t y = x == 1 ? 2 : 1, z = 6 - x - y;
    struct grant g = {.after = t};
    sim_set_filter(s, grant_filter, &g);

    /* 1 */
    cr_assert_eq(sim_transfer(s, y), 0);
    sim_crash(s, x);
    for (uint64_t ms = 0; ms < 500 && g.voter == 0; ms++)
        run(s, 1);
    cr_assert_eq(g.voter, z, "Z granted no vote");
    cr_assert_eq(g.candidate, y);
    cr_assert_eq(g.term, t + 1);
    sim_crash(s, z);
    cr_assert(leads(s, y), "Y does not lead");
    cr_assert_eq(sim_raft(s, y)->term, t + 1);
    sim_set_filter(s, NULL, NULL);

    /* 2 */
    sim_cut(s, x, y, true);
    sim_cut(s, y, z, true);
    sim_set_rate(s, z, 0.4);
    sim_restart(s, z);
    sim_restart(s, x);
    cr_assert_eq(sim_raft(s, z)->term, t + 1);
    *vote_after_restart = sim_raft(s, z)->vote;
    int rv = sim_run_for(s, 400);
    if (rv == 0) {
        cr_assert_gt(sim_raft(s, x)->term, t + 1, "X did not campaign");
        rv = settle(s, 3);
    }
    outcome_set(o, s, rv);
    sim_free(s);
}

Test(sim_bugs, vote_not_persisted_gives_two_leaders_in_one_term)
{
    struct outcome o;
    uint64_t vote;
    forgotten_vote(RAFT_BUG_VOTE_NOT_PERSISTED, &o, &vote);
    cr_expect_eq(vote, 0, "the vote was persisted despite the bug");
    cr_assert(o.failed, "the forgotten vote went undetected");
    cr_expect(strstr(o.why, "election safety") != NULL, "unexpected failure: %s", o.why);
}

Test(sim_bugs, vote_persisted_one_leader_per_term)
{
    struct outcome o;
    uint64_t vote;
    forgotten_vote(0, &o, &vote);
    cr_expect_neq(vote, 0, "the restarted voter forgot its vote");
    cr_assert(!o.failed, "%s", o.why);
}

/* ==== RAFT_BUG_LEASE_NO_DRIFT: a slow leader's lease ==== */

#define LEASE_LEADER_RATE 0.5  /* the leader's clock runs at half speed */
#define LEASE_DRIFT_BOUND 0.55 /* covers it: 100 ms x 0.45 local = 90 ms real */

/* What the lease scenario saw when the old leader was asked to read. */
struct lease_seen {
    bool old_leads;        /* the old leader still believed it led */
    int read_rv;           /* what RAFT_READ returned */
    unsigned reads_served; /* reads answered by then */
};

/* Five voters with 1 ms links; the leader's clock runs at 0.5. Right after the
 * leader renewed its lease it is cut off from everyone; the other four elect a
 * leader (no earlier than an election timeout, 100 ms, after they last heard
 * the old one) which commits a write; then the old leader gets a lease read.
 * With the bug its lease is 100 ms of its slow clock, 200 ms of real time,
 * still running: it answers with the value before the write (a stale read).
 * With a drift bound of 0.55 its lease ended after 90 ms, before any
 * follower would vote: the read falls back to ReadIndex and is never
 * answered from the minority side. */
static void slow_leader_lease(unsigned bugs, double bound, struct outcome *o,
                              struct lease_seen *seen)
{
    struct sim_config c;
    quiet_config(&c, 5, bugs);
    c.lat_min = c.lat_max = 1;
    c.opt.drift_bound = bound;
    struct sim *s = start(&c);
    const uint64_t l = sim_leader(s);
    sim_set_rate(s, l, LEASE_LEADER_RATE);
    cr_assert_neq(sim_write(s, l), 0);
    run(s, 100);

    /* Cut the leader off right after a renewal. */
    struct raft *lr = sim_raft(s, l);
    uint64_t until = lr->lease_until;
    for (uint64_t ms = 0; ms < 200 && lr->lease_until == until; ms++)
        run(s, 1);
    cr_assert_gt(lr->lease_until, until, "the lease was not renewed");
    sim_isolate(s, l, true);

    /* The majority elects a leader and commits a write. */
    uint64_t nl = 0, v = 0;
    for (uint64_t ms = 0; ms < 1000; ms++) {
        run(s, 1);
        if (nl == 0 && sim_leader(s) != l && sim_leader(s) != 0) {
            nl = sim_leader(s);
            v = sim_write(s, nl);
            cr_assert_neq(v, 0);
        }
        if (nl != 0 && sim_state_value(s, nl) == v)
            break;
    }
    cr_assert(nl != 0 && sim_state_value(s, nl) == v, "the majority committed no write");

    const struct sim_read *reads;
    seen->old_leads = leads(s, l);
    seen->read_rv = sim_read(s, l, RAFT_READ_LEASE);
    seen->reads_served = sim_reads(s, &reads);
    int rv = sim_check_reads(s);
    if (rv == 0)
        rv = settle(s, 5);
    outcome_set(o, s, rv);
    sim_free(s);
}

Test(sim_bugs, lease_no_drift_slow_leader_serves_stale_read)
{
    struct outcome o;
    struct lease_seen seen;
    slow_leader_lease(RAFT_BUG_LEASE_NO_DRIFT, LEASE_DRIFT_BOUND, &o, &seen);
    cr_expect(seen.old_leads, "the old leader had stepped down");
    cr_expect_eq(seen.read_rv, 0);
    cr_expect_eq(seen.reads_served, 1, "the old leader did not answer from its lease");
    cr_assert(o.failed, "the stale lease read went undetected");
    cr_expect(strstr(o.why, "linearizability") != NULL, "unexpected failure: %s", o.why);
}

Test(sim_bugs, lease_with_drift_bound_expires_before_new_leader)
{
    struct outcome o;
    struct lease_seen seen;
    slow_leader_lease(0, LEASE_DRIFT_BOUND, &o, &seen);
    cr_expect(seen.old_leads, "the old leader had stepped down (the lease was not tested)");
    cr_expect_eq(seen.read_rv, 0, "the read was refused");
    cr_expect_eq(seen.reads_served, 0, "the old leader answered a read after losing its lease");
    cr_assert(!o.failed, "%s", o.why);
}

/* Without the bug but with a drift bound (0.1) smaller than the real drift
 * (the leader's clock at half speed), the lease outlives the leadership: a
 * lease is only as safe as its drift bound. */
Test(sim_bugs, lease_with_drift_beyond_its_bound_serves_stale_read)
{
    struct outcome o;
    struct lease_seen seen;
    slow_leader_lease(0, 0.1, &o, &seen);
    cr_expect(seen.old_leads, "the old leader had stepped down");
    cr_expect_eq(seen.reads_served, 1, "the old leader did not answer from its lease");
    cr_assert(o.failed, "the stale lease read went undetected");
    cr_expect(strstr(o.why, "linearizability") != NULL, "unexpected failure: %s", o.why);
}
