/* rng.c - xoshiro256** seeded through splitmix64 (Blackman & Vigna). */
#include "common/rng.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void fl_rng_seed(struct fl_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        rng->s[i] = fl_mix64(seed);
    }
}

uint64_t fl_rng_next(struct fl_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t fl_rng_below(struct fl_rng *rng, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Lemire's multiply-shift with rejection: unbiased. */
    uint64_t x = fl_rng_next(rng);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = fl_rng_next(rng);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

int64_t fl_rng_range(struct fl_rng *rng, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)fl_rng_below(rng, (uint64_t)(hi - lo) + 1);
}

double fl_rng_double(struct fl_rng *rng)
{
    return (double)(fl_rng_next(rng) >> 11) * 0x1.0p-53;
}

int fl_rng_chance(struct fl_rng *rng, double p)
{
    return fl_rng_double(rng) < p;
}
