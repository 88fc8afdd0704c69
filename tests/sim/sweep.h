/* sweep.h - seed sweeps for sim tests: FL_SIM_SEEDS scales them, FL_SEED=N replays one run. */
#ifndef SIM_SWEEP_H
#define SIM_SWEEP_H

#include <stdint.h>
#include <stdlib.h>

/* CI default: 10,000 randomized seeds across 3, 5 and 7 nodes, in both the
 * Release build (about 10 s) and the ASan+UBSan build (about a minute). */
#define SIM_DEFAULT_SEEDS 10000

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
