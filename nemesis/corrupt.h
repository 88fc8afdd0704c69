/* corrupt.h - corrupt-tail: SIGKILL one node and damage the tail of its newest log segment
 * (the reference node's data/log/seg-*), as a torn or corrupted last write would: 1..64 bytes
 * cut off its end, or its last byte flipped, in turn. The node's recovery must cut the bad
 * tail and say so in its log. Heal: start it again. */
#ifndef NEMESIS_CORRUPT_H
#define NEMESIS_CORRUPT_H

#include "nemesis/fault.h"

extern const struct nemesis_kind nemesis_corrupt_tail;

#endif
