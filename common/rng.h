/* rng.h - seeded, reproducible pseudo-random numbers (xoshiro256**).
 *
 * Every random choice in Faultline (nemesis plans, generators, Raft timeouts
 * in the simulator) draws from an explicit fl_rng so a seed replays a run. */
#ifndef FL_RNG_H
#define FL_RNG_H

#include <stdint.h>

struct fl_rng {
    uint64_t s[4];
};

/* Seeds the generator; any seed, including 0, is valid. */
void fl_rng_seed(struct fl_rng *rng, uint64_t seed);
uint64_t fl_rng_next(struct fl_rng *rng);
/* Uniform in [0, n); n == 0 returns 0. */
uint64_t fl_rng_below(struct fl_rng *rng, uint64_t n);
/* Uniform in [lo, hi] (inclusive). */
int64_t fl_rng_range(struct fl_rng *rng, int64_t lo, int64_t hi);
/* Uniform in [0, 1). */
double fl_rng_double(struct fl_rng *rng);
/* True with probability p. */
int fl_rng_chance(struct fl_rng *rng, double p);

/* A strong 64-bit mix (splitmix64 finaliser), used for hashing too. */
static inline uint64_t fl_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* FNV-1a over a NUL-terminated string, finished with fl_mix64: the one string
 * hash of the project's intern tables. */
static inline uint64_t fl_hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return fl_mix64(h);
}

#endif
