/* sweep.h - seed sweeps for sim tests: FL_SIM_SEEDS scales them, FL_SEED=N replays one run. */
#ifndef SIM_SWEEP_H
#define SIM_SWEEP_H

#include <stdint.h>
#include <stdlib.h>

/* CI default: 10,000 randomized seeds across 3, 5 and 7 nodes in the Release
 * build (about 20 s); the ASan+UBSan build runs 3,000 (about 40 s) to keep the
 * whole CI run short. */
#if defined(__SANITIZE_ADDRESS__)
#define SIM_DEFAULT_SEEDS 3000 /* ~10x slower per step; the Release build runs the 10,000 */
#else
#define SIM_DEFAULT_SEEDS 10000
#endif

/* Total seeds of the randomized sweep (all sizes together). */
static inline uint64_t sim_sweep_seeds(void)
{
    const char *e = getenv("FL_SIM_SEEDS");
    if (e != NULL && *e != '\0')
        return strtoull(e, NULL, 10);
    return SIM_DEFAULT_SEEDS;
}

/* Returns 1 and sets *seed when FL_SEED asks to replay one run. */
static inline int sim_replay_seed(uint64_t *seed)
{
    const char *e = getenv("FL_SEED");
    if (e == NULL || *e == '\0')
        return 0;
    *seed = strtoull(e, NULL, 10);
    return 1;
}

#endif
