/* slowisolate.h - slow-isolate-leader: the leader's clock runs at the scenario's
 * clock.rate_min (libfaketime, with an offset that avoids a jump: libfaketime scales the time
 * since the process started), then the leader is cut off from the others. A lease longer
 * than its drift bound allows outlives the leadership. Heal: the partition healed, the clock
 * back to rate 1 where it stands (no jump; the lag accumulates over episodes). */
#ifndef NEMESIS_SLOWISOLATE_H
#define NEMESIS_SLOWISOLATE_H

#include "nemesis/fault.h"

extern const struct nemesis_kind nemesis_slowisolate_leader;

#endif
