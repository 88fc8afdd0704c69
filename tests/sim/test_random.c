/* test_random.c - randomized runs of 3, 5 and 7 voters with every fault; safety after every step, linearizable reads, liveness after heal. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <time.h>

#include "sim.h"
#include "sweep.h"

/* Seeds are <voters> * 10^9 + k so each size has its own space; FL_SEED
 * replays a seed of any size (the size is decoded from it). */
static void sweep(unsigned voters, uint64_t n)
{
    uint64_t one;
    struct sim_stats st = {0};
    char why[512];
    if (sim_replay_seed(&one)) {
        if (one / 1000000000ULL != voters)
            return;
        n = 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint64_t k = 0; k < n; k++) {
        uint64_t seed = n == 1 && sim_replay_seed(&one) ? one : voters * 1000000000ULL + k;
        struct sim_config c;
        if (getenv("FL_SIM_TRACE") != NULL)
            fprintf(stderr, "seed %llu\n", (unsigned long long)seed);
        sim_config_default(&c, seed, voters);
        if (getenv("FL_SIM_BUGS"))
            c.opt.bugs = (unsigned)strtoul(getenv("FL_SIM_BUGS"), NULL, 0);
        if (sim_run_seed(&c, why, sizeof why, &st) != 0) {
            fprintf(stderr, "FAILED: FL_SEED=%llu: %s\n", (unsigned long long)seed, why);
            cr_assert_fail("seed %llu: %s", (unsigned long long)seed, why);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr,
            "sim %u voters: %llu seeds in %.1fs: %llu steps, %llu leaders, %llu crashes, "
            "%llu changes, %llu snapshots, %llu installs, %llu transfers, %llu writes acked, "
            "%llu reads checked, %llu entries committed\n",
            voters, (unsigned long long)n, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
            (unsigned long long)st.steps, (unsigned long long)st.leaders,
            (unsigned long long)st.crashes, (unsigned long long)st.changes,
            (unsigned long long)st.snapshots, (unsigned long long)st.installs,
            (unsigned long long)st.transfers, (unsigned long long)st.writes_acked,
            (unsigned long long)st.reads_ok, (unsigned long long)st.committed);
    fprintf(stderr,
            "sim %u voters: runs with a membership change %llu/%llu, with a snapshot %llu/%llu, "
            "with 3+ leaders %llu/%llu\n",
            voters, (unsigned long long)st.runs_with_change, (unsigned long long)st.runs,
            (unsigned long long)st.runs_with_snapshot, (unsigned long long)st.runs,
            (unsigned long long)st.runs_with_3_leaders, (unsigned long long)st.runs);
}

/* The sweep is split 40/35/25 between sizes: bigger clusters cost more per seed. */
Test(sim_random, three_voters, .timeout = 0)
{
    sweep(3, sim_sweep_seeds() * 40 / 100);
}

Test(sim_random, five_voters, .timeout = 0)
{
    sweep(5, sim_sweep_seeds() * 35 / 100);
}

Test(sim_random, seven_voters, .timeout = 0)
{
    sweep(7, sim_sweep_seeds() - sim_sweep_seeds() * 40 / 100 - sim_sweep_seeds() * 35 / 100);
}
