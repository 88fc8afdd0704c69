/* nodefault.h - process and membership fault kinds: planned here, applied by the run orchestration.
 *
 * Kinds: pause-one, pause-leader, pause-minority (SIGSTOP, heal SIGCONT);
 * kill-one, kill-leader, kill-minority, kill-all (SIGKILL, heal: start again);
 * membership-remove-add (remove, heal: add back); membership-promote (promote a
 * passive member, no heal). A planned fault names its targets in fault->nodes
 * (bit i = node i) and what to do in fault->action; its value is
 * {"action":"pause","nodes":["n2"]} ("nodes":"leader" until the leader is bound).
 * These kinds have no apply/heal function: nemesis_fault_apply refuses them. */
#ifndef NEMESIS_NODEFAULT_H
#define NEMESIS_NODEFAULT_H

#include "nemesis/fault.h"

extern const struct nemesis_kind nemesis_nodefault_pause_one;
extern const struct nemesis_kind nemesis_nodefault_pause_leader;
extern const struct nemesis_kind nemesis_nodefault_pause_minority;
extern const struct nemesis_kind nemesis_nodefault_kill_one;
extern const struct nemesis_kind nemesis_nodefault_kill_leader;
extern const struct nemesis_kind nemesis_nodefault_kill_minority;
extern const struct nemesis_kind nemesis_nodefault_kill_all;
extern const struct nemesis_kind nemesis_nodefault_membership_remove_add;
extern const struct nemesis_kind nemesis_nodefault_membership_promote;
extern const struct nemesis_kind nemesis_nodefault_corrupt_tail;
extern const struct nemesis_kind nemesis_nodefault_slow_isolate_leader;
extern const struct nemesis_kind nemesis_nodefault_figure_3_7;
/* Disk faults (nemesis/disk.h): lose-unsynced and torn-write hit every node at
 * once (a power loss); fsync-error, bitflip and truncate one node. */
extern const struct nemesis_kind nemesis_nodefault_lose_unsynced;
extern const struct nemesis_kind nemesis_nodefault_torn_write;
extern const struct nemesis_kind nemesis_nodefault_fsync_error;
extern const struct nemesis_kind nemesis_nodefault_bitflip;
extern const struct nemesis_kind nemesis_nodefault_truncate;

/* "pause", "kill", "remove", "promote" or "none". */
const char *nemesis_action_name(enum nemesis_action action);

#endif
