/* diskfault.h - disk fault kinds, through the disk-fault filesystem under each node's data
 * directory (disk.h, fsd.h), reached by nemesis_node_ops.disk_command / disk_damage.
 *
 *   lose-unsynced  every node killed, its writes since its last sync dropped (unsynced
 *                  creates/renames undone): a power loss; heal: started again
 *   torn-write     the same, the last unsynced write kept in part (a sector-aligned prefix)
 *   fsync-error    fsync/fdatasync return EIO on one node; heal: they work again, and a node
 *                  that exited meanwhile is started again
 *   bitflip        one node killed, one bit of its newest file flipped; heal: started again
 *   truncate       the same, bytes cut off the end of its newest file */
#ifndef NEMESIS_DISKFAULT_H
#define NEMESIS_DISKFAULT_H

#include "nemesis/fault.h"

extern const struct nemesis_kind nemesis_diskfault_lose_unsynced;
extern const struct nemesis_kind nemesis_diskfault_torn_write;
extern const struct nemesis_kind nemesis_diskfault_fsync_error;
extern const struct nemesis_kind nemesis_diskfault_bitflip;
extern const struct nemesis_kind nemesis_diskfault_truncate;

#endif
