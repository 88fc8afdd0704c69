/* fsd.h - `faultline fs`: the FUSE filesystem of the disk faults, one process per node.
 *
 *   faultline fs [--detached] --backing DIR --stash DIR --control SOCKET MOUNTPOINT
 *
 * Mounts MOUNTPOINT as a pass-through of DIR (libfuse3, high-level API, no
 * kernel attribute or entry caching, write-through) whose unsynced state is
 * kept by nemesis/lazyfs.h. Once mounted, it answers one command per
 * connection on the unix socket SOCKET, a line in, one JSON line out:
 *   ping                  {"ok":true}
 *   stats                 {"ok":true,"files":F,"bytes":B,"entries":E,"fsync_errors":N}
 *   lose                  power loss: every unsynced change undone (lazyfs.h);
 *                         {"ok":true,"files":..,"bytes":..,"entries":..,"failed":..,"untracked":..}
 *   torn SEED             the same, the last write kept up to a sector boundary
 *                         (adds "torn_kept" and "torn_len")
 *   fsync-error on|off    fsync/fdatasync/fsyncdir fail with EIO (nothing synced) or work again
 *   sync                  everything counts as durable from now on (the harness sends it when
 *                         the fault phase begins: the nodes' set-up is on disk by then, as a
 *                         kernel's writeback would have put it)
 * Anything else: {"ok":false,"error":"..."}. The node must be stopped during
 * lose and torn (the harness kills it first).
 *
 * The process dies with its parent (PR_SET_PDEATHSIG SIGTERM) and unmounts on
 * SIGTERM, SIGINT and SIGHUP, so a killed harness leaves no working mount and
 * never a hung one (`faultline clean` detaches what a SIGKILLed daemon left). With --detached
 * (on a host, started over ssh: its parent shell exits at once) it does not die with its
 * parent; the run stops it, `faultline clean --hosts` after a killed harness. */
#ifndef NEMESIS_FSD_H
#define NEMESIS_FSD_H

/* The subcommand; returns the exit status (0 after a clean unmount, 3 on a usage error). */
int nemesis_fsd_main(int argc, char **argv);

#endif
