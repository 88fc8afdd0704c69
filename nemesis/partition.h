/* partition.h - network partitions as one nft table `table bridge nemesis` in the hub, rewritten
 * atomically.
 *
 * Kinds: isolate-one, isolate-leader, halves, majorities-ring, bridge,
 * one-way, random. The value of a partition is its directed drop matrix,
 * {"n1":["n2","n3"], ...}: traffic from the key to each listed node is
 * dropped in the hub's bridge forward hook (never at the sender). The same
 * table also carries the loss rules of packet.h, so both can be active. */
#ifndef NEMESIS_PARTITION_H
#define NEMESIS_PARTITION_H

#include <stddef.h>

#include "nemesis/fault.h"

extern const struct nemesis_kind nemesis_partition_isolate_one;
extern const struct nemesis_kind nemesis_partition_isolate_leader;
extern const struct nemesis_kind nemesis_partition_halves;
extern const struct nemesis_kind nemesis_partition_majorities_ring;
extern const struct nemesis_kind nemesis_partition_bridge;
extern const struct nemesis_kind nemesis_partition_one_way;
extern const struct nemesis_kind nemesis_partition_random;

/* Renders the nft script that replaces `table bridge nemesis` with the
 * partition and loss state of `ctx` (pure; an empty state deletes the table).
 * Writes at most `cap` bytes into buf; returns 0 or FL_ELIMIT. */
int nemesis_partition_render(const struct nemesis_ctx *ctx, char *buf, size_t cap, char *errmsg);

#endif
