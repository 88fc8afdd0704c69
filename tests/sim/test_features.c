/* test_features.c - one targeted scenario per protocol feature of the Raft core, on the simulated cluster. */
#include <criterion/criterion.h>

#include "sim.h"
#include "sweep.h"

/* A quiet cluster: no random faults, no background clients, no drift. */
static struct sim *quiet(unsigned voters, unsigned passive, unsigned spare, unsigned bugs)
{
    struct sim_config c;
    sim_config_default(&c, 42, voters);
    c.passive = passive;
    c.spare = spare;
    c.fault_ms = 0;
    c.op_every = 0;
    c.max_drift = 0;
    c.opt.bugs = bugs;
    struct sim *s = sim_new(&c);
    cr_assert_not_null(s);
    cr_assert_eq(sim_run_for(s, 1000), 0, "%s", sim_error(s));
    cr_assert_neq(sim_leader(s), 0, "no leader after 1 s");
    return s;
}

static uint64_t some_follower(struct sim *s, unsigned n)
{
    uint64_t l = sim_leader(s);
    for (uint64_t id = 1; id <= n; id++)
        if (id != l)
            return id;
    return 0;
}

static void run(struct sim *s, uint64_t ms)
{
    cr_assert_eq(sim_run_for(s, ms), 0, "%s", sim_error(s));
}

static uint64_t term_of(struct sim *s, uint64_t id)
{
    return sim_raft(s, id)->term;
}

/* Writes `n` values at the leader, one every 5 ms. */
static void write_some(struct sim *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        sim_write(s, sim_leader(s));
        run(s, 5);
    }
}

/* Pre-vote (§9.6): a follower cut off for many election timeouts comes back
 * without raising the term or deposing the leader. */
Test(sim_features, prevote_isolated_follower_does_not_disrupt)
{
    struct sim *s = quiet(3, 0, 0, 0);
    uint64_t l = sim_leader(s), f = some_follower(s, 3), term = term_of(s, l);
    sim_isolate(s, f, true);
    run(s, 2000);
    sim_heal(s);
    run(s, 1000);
    cr_expect_eq(sim_leader(s), l, "leader changed from %llu", (unsigned long long)l);
    cr_expect_eq(term_of(s, l), term, "term rose from %llu to %llu", (unsigned long long)term,
                 (unsigned long long)term_of(s, l));
    sim_free(s);
}

/* The same scenario with the planted no-pre-vote bug shows what pre-vote
 * prevents: the returning follower's higher term deposes the leader. */
Test(sim_features, no_prevote_bug_lets_isolated_follower_disrupt)
{
    struct sim *s = quiet(3, 0, 0, RAFT_BUG_NO_PREVOTE);
    uint64_t l = sim_leader(s), f = some_follower(s, 3), term = term_of(s, l);
    sim_isolate(s, f, true);
    run(s, 2000);
    cr_expect_gt(term_of(s, f), term + 3, "isolated follower did not campaign");
    sim_heal(s);
    run(s, 1000);
    cr_expect_gt(term_of(s, l), term, "the old leader's term did not rise");
    sim_free(s);
}

/* Check-quorum: a leader cut off from the majority steps down within two
 * election timeouts, and the majority elects another. */
Test(sim_features, check_quorum_isolated_leader_steps_down)
{
    struct sim *s = quiet(5, 0, 0, 0);
    uint64_t l = sim_leader(s);
    sim_isolate(s, l, true);
    run(s, 500);
    cr_expect_neq(sim_raft(s, l)->state, RAFT_LEADER, "isolated leader still leads");
    uint64_t nl = sim_leader(s);
    cr_expect(nl != 0 && nl != l, "no new leader among the majority");
    sim_free(s);
}

/* Leadership transfer (§3.10): TimeoutNow makes the named follower leader. */
Test(sim_features, transfer_makes_target_leader)
{
    struct sim *s = quiet(5, 0, 0, 0);
    write_some(s, 5);
    uint64_t target = some_follower(s, 5);
    cr_assert_eq(sim_transfer(s, target), 0);
    run(s, 300);
    cr_expect_eq(sim_leader(s), target, "leader is %llu, not %llu",
                 (unsigned long long)sim_leader(s), (unsigned long long)target);
    sim_free(s);
}

/* A removed leader steps down once its removal is committed (§4.2.2) and the
 * rest elect a leader among themselves. */
Test(sim_features, removed_leader_steps_down)
{
    struct sim *s = quiet(3, 0, 1, 0);
    uint64_t l = sim_leader(s);
    /* Grow to 4 voters first so 3 remain after the removal. */
    cr_assert_eq(sim_change(s, 4, RAFT_VOTER), 0);
    run(s, 500);
    cr_assert_eq(sim_change(s, l, RAFT_REMOVED), 0);
    run(s, 1000);
    uint64_t nl = sim_leader(s);
    cr_expect(nl != 0 && nl != l, "no leader after removing %llu", (unsigned long long)l);
    cr_expect_eq(raft_role_of(raft_configuration(sim_raft(s, nl)), l), RAFT_REMOVED,
                 "removed server still in the configuration");
    sim_free(s);
}

struct appends {
    uint64_t to, from_leader, from_followers;
    struct sim *s;
};

static bool count_appends(struct sim *s, const struct raft_message *m, void *data)
{
    struct appends *a = data;
    if (m->type == RAFT_APPEND && m->to == a->to && m->append.n > 0) {
        if (m->from == sim_leader(s))
            a->from_leader++;
        else
            a->from_followers++;
    }
    return false;
}

/* Passive members (Copycat) receive the committed log by gossip from
 * followers, not from the leader; promoted, they vote. */
Test(sim_features, passive_member_gets_log_by_gossip_and_is_promoted)
{
    struct sim *s = quiet(3, 1, 0, 0);
    struct appends a = {.to = 4, .s = s};
    sim_set_filter(s, count_appends, &a);
    write_some(s, 40);
    run(s, 500);
    uint64_t l = sim_leader(s);
    cr_expect_eq(raft_last_index(sim_raft(s, 4)), raft_commit_index(sim_raft(s, l)),
                 "passive member at %llu, commit %llu",
                 (unsigned long long)raft_last_index(sim_raft(s, 4)),
                 (unsigned long long)raft_commit_index(sim_raft(s, l)));
    cr_expect_gt(a.from_followers, 0);
    cr_expect_eq(a.from_leader, 0, "the leader sent %llu appends with entries",
                 (unsigned long long)a.from_leader);
    cr_assert_eq(sim_change(s, 4, RAFT_VOTER), 0);
    run(s, 300);
    cr_expect_eq(raft_role_of(raft_configuration(sim_raft(s, sim_leader(s))), 4), RAFT_VOTER);
    sim_free(s);
}

/* Snapshots (§5.1): a follower down while the leader compacted its log
 * comes back and is brought up to date by a chunked InstallSnapshot. */
Test(sim_features, restarted_follower_installs_snapshot)
{
    struct sim *s = quiet(3, 0, 0, 0);
    uint64_t f = some_follower(s, 3);
    sim_crash(s, f);
    write_some(s, 150);
    uint64_t l = sim_leader(s);
    cr_assert_gt(sim_raft(s, l)->snap_index, 0, "leader took no snapshot");
    sim_restart(s, f);
    run(s, 1000);
    cr_expect_gt(sim_raft(s, f)->snap_index, 0, "follower installed no snapshot");
    cr_expect_eq(raft_last_index(sim_raft(s, f)), raft_last_index(sim_raft(s, l)));
    cr_expect_gt(sim_stats(s)->installs, 0);
    sim_free(s);
}

/* Lease reads (§6.4.1) are answered by a leader holding the lease, and the
 * lease ends when the leader is cut off: a read then waits for a quorum. */
Test(sim_features, lease_reads_answered_and_checked)
{
    struct sim *s = quiet(3, 0, 0, 0);
    write_some(s, 5);
    run(s, 100);
    cr_assert_eq(sim_read(s, sim_leader(s), RAFT_READ_LEASE), 0);
    cr_assert_eq(sim_read(s, sim_leader(s), RAFT_READ_INDEX), 0);
    run(s, 100);
    const struct sim_read *reads;
    cr_expect_eq(sim_reads(s, &reads), 2, "both reads answered");
    cr_expect_eq(sim_check_reads(s), 0, "%s", sim_error(s));
    sim_free(s);
}

/* The failover fix (RAFT_PEER_DOWN, issue 15): when the leader's process
 * dies its connections close; followers told so campaign within a quarter
 * of an election timeout instead of a whole one. And told so of a leader
 * that is alive (a connection dropped for another reason), they do not
 * unseat it: pre-vote asks the others, who still hear from it. */
/* Crashes the leader of a quiet 3-node cluster (seed `seed`) and returns the
 * ms until another node leads (2000: none), telling the followers or not. */
static uint64_t failover_ms(uint64_t seed, bool tell)
{
    struct sim_config c;
    sim_config_default(&c, seed, 3);
    c.fault_ms = 0;
    c.op_every = 0;
    c.max_drift = 0;
    struct sim *s = sim_new(&c);
    cr_assert_not_null(s);
    run(s, 1000);
    uint64_t l = sim_leader(s);
    cr_assert_neq(l, 0);
    sim_crash(s, l);
    for (uint64_t id = 1; id <= 3; id++)
        if (tell && id != l)
            sim_peer_down(s, id, l);
    uint64_t t = 0, nl = 0;
    while (t < 2000 && (nl == 0 || nl == l)) {
        run(s, 1);
        t++;
        nl = sim_leader(s);
    }
    sim_free(s);
    return t;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

Test(sim_features, peer_down_speeds_up_failover)
{
    /* Election timeout 100 ms (sim_config_default), randomized; medians
     * over 15 seeds, the same seeds with and without the notice. */
    uint64_t with[15], without[15];
    for (unsigned i = 0; i < 15; i++) {
        with[i] = failover_ms(500 + i, true);
        without[i] = failover_ms(500 + i, false);
        cr_assert_lt(with[i], 2000, "seed %u: no new leader", 500 + i);
        cr_assert_lt(without[i], 2000, "seed %u: no new leader", 500 + i);
    }
    qsort(with, 15, sizeof with[0], cmp_u64);
    qsort(without, 15, sizeof without[0], cmp_u64);
    cr_log_info("failover median over 15 seeds: %llu ms told of the closed connection, %llu ms not",
                (unsigned long long)with[7], (unsigned long long)without[7]);
    cr_expect_geq(without[7], 100, "not told: a new leader only after an election timeout");
    cr_expect_lt(with[7] * 4, without[7] * 3,
                 "told of the closed connection: median %llu ms, not told: %llu ms",
                 (unsigned long long)with[7], (unsigned long long)without[7]);
}

Test(sim_features, peer_down_of_a_live_leader_changes_nothing)
{
    struct sim *s = quiet(3, 0, 0, 0);
    write_some(s, 3);
    run(s, 200);
    uint64_t l = sim_leader(s), term = term_of(s, l);
    for (uint64_t id = 1; id <= 3; id++)
        if (id != l)
            sim_peer_down(s, id, l);
    write_some(s, 3);
    run(s, 1000);
    cr_expect_eq(sim_leader(s), l, "a live leader was unseated");
    cr_expect_eq(term_of(s, l), term, "the term moved");
    sim_free(s);
}

/* Reads that arrive together (the server's loop iteration) share one
 * heartbeat round: a batch of 5 ReadIndex reads sends one message per
 * follower where 5 single reads send 5, and every read is answered and
 * linearizable. */
Test(sim_features, batched_reads_share_one_round)
{
    struct sim *s = quiet(3, 0, 0, 0);
    write_some(s, 5);
    run(s, 100);
    uint64_t before = sim_stats(s)->messages;
    cr_assert_eq(sim_read_batch(s, sim_leader(s), RAFT_READ_INDEX, 5), 0);
    cr_expect_eq(sim_stats(s)->messages - before, 2, "one heartbeat per follower for 5 reads");
    run(s, 100);
    before = sim_stats(s)->messages;
    for (int i = 0; i < 5; i++)
        cr_assert_eq(sim_read(s, sim_leader(s), RAFT_READ_INDEX), 0);
    cr_expect_eq(sim_stats(s)->messages - before, 10, "single reads: a round each");
    run(s, 100);
    const struct sim_read *reads;
    cr_expect_eq(sim_reads(s, &reads), 10, "every read answered");
    cr_expect_eq(sim_check_reads(s), 0, "%s", sim_error(s));
    sim_free(s);
}

/* The sweep's oracle catches a planted bug: with reads served locally (no
 * ReadIndex, no lease) some seed returns a stale value. */
Test(sim_features, local_reads_bug_is_caught_by_the_sweep)
{
    unsigned found = 0;
    char why[512];
    for (uint64_t k = 0; k < 200 && found == 0; k++) {
        struct sim_config c;
        sim_config_default(&c, 3000000000ULL + k, 3);
        c.opt.bugs = RAFT_BUG_LOCAL_READS;
        if (sim_run_seed(&c, why, sizeof why, NULL) != 0)
            found++;
    }
    cr_expect_gt(found, 0, "no stale read in 200 seeds with RAFT_BUG_LOCAL_READS");
}
