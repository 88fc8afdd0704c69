/* corrupt.h - corrupt-tail: SIGKILL one node and damage the tail of its newest log segment
 * (the reference node's data/log/seg-*), as a torn or corrupted last write would: 1..64 bytes
 * cut off its end, or its last byte flipped, in turn. The node's recovery must cut the bad
 * tail and say so in its log. Heal: start it again. */
#ifndef NEMESIS_CORRUPT_H
#define NEMESIS_CORRUPT_H

#include <stddef.h>
#include <stdint.h>

#include "nemesis/fault.h"

extern const struct nemesis_kind nemesis_corrupt_tail;

/* Damages the tail of the newest segment under `data_dir`/log: the `count`-th corrupt-tail of
 * the run (from 0) cuts 1..64 bytes off its end when even (how many from `seed`), flips its
 * last byte when odd. What was done goes into `what`. Returns 0 (also when there is no
 * segment: what says so) or a negative errno. */
int nemesis_corrupt_damage_tail(const char *data_dir, unsigned count, uint64_t seed, char *what,
                                size_t len);

#endif
