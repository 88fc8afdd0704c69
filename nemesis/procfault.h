/* procfault.h - process fault kinds: pause and kill, through struct nemesis_node_ops.
 *
 *   pause-one, pause-leader, pause-minority   SIGSTOP the targets; heal: SIGCONT
 *   kill-one, kill-leader, kill-minority,     SIGKILL the targets (with the scenario's
 *   kill-all                                  kill_lose_unfsynced, the node's power-loss
 *                                             hook first); heal: start them again
 * Only running nodes are acted on; what is still paused or killed at the end of
 * the fault phase comes back with nemesis_ctx_restore_nodes. */
#ifndef NEMESIS_PROCFAULT_H
#define NEMESIS_PROCFAULT_H

#include "nemesis/fault.h"

extern const struct nemesis_kind nemesis_procfault_pause_one;
extern const struct nemesis_kind nemesis_procfault_pause_leader;
extern const struct nemesis_kind nemesis_procfault_pause_minority;
extern const struct nemesis_kind nemesis_procfault_kill_one;
extern const struct nemesis_kind nemesis_procfault_kill_leader;
extern const struct nemesis_kind nemesis_procfault_kill_minority;
extern const struct nemesis_kind nemesis_procfault_kill_all;

#endif
