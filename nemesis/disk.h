/* disk.h - the harness side of the disk faults: one `faultline fs` mount per node, and its commands.
 *
 * Each node's data directory is a FUSE mount (nemesis/fsd.h) over a backing
 * directory, so what the node wrote but did not fsync can be forgotten, for
 * any implementation: lose-unsynced and torn-write (the node is killed, its
 * unsynced writes undone, then it starts again), fsync-error (EIO from every
 * fsync for a while), bitflip and truncate (a file of a stopped node damaged
 * in the backing directory, under the filesystem). The daemon is a separate
 * process: a crashed harness leaves no hung mount (it dies with its parent and
 * unmounts; `faultline clean` detaches what a SIGKILLed one left). */
#ifndef NEMESIS_DISK_H
#define NEMESIS_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nemesis/process.h"

struct nemesis_remote;

#define NEMESIS_DISK_PATH_MAX 256

struct nemesis_disk {
    char mnt[NEMESIS_DISK_PATH_MAX];     /* the node's data directory (the mount point) */
    char backing[NEMESIS_DISK_PATH_MAX]; /* where the bytes are */
    char stash[NEMESIS_DISK_PATH_MAX];   /* unlinked files waiting for a directory fsync */
    char ctl[NEMESIS_DISK_PATH_MAX];     /* the daemon's control socket */
    struct nemesis_process proc;
    bool mounted;
    /* On a host (nemesis_disk_mount_remote): the paths above are NEMESIS_REMOTE_DIR-relative
     * and every step is a command through the host's ssh connection; NULL: this machine. */
    struct nemesis_remote *remote;
    unsigned host;
};

/* Mounts `mnt` (created if missing) over `work`/backing, with `work`/stash and
 * `work`/ctl, by starting `exe fs ...` (exe: the faultline binary; borrowed),
 * its output appended to `log_path` (may be NULL), its pid recorded in the
 * registry of `registry_run` (may be NULL). Waits until the daemon answers
 * (at most 5 s). Returns 0 or a negative code with errmsg; nothing is left
 * mounted or running on error. */
int nemesis_disk_mount(struct nemesis_disk *d, const char *exe, const char *mnt, const char *work,
                       const char *registry_run, const char *log_path, char *errmsg);

/* The same on host `host` of `r` for node `node` (1-based): mounts RUNDIR/n<node> over
 * RUNDIR/disk/n<node>/{backing,stash,ctl} by starting the uploaded RUNDIR/faultline-harness
 * (NEMESIS_DISK_REMOTE_EXE: faultline's commands but check) `fs --detached` there, its
 * output in RUNDIR/fs-n<node>.log. Refuses, naming the host, when the host has no /dev/fuse
 * or no fusermount3 (fuse3). Commands, damage and unmount then go over ssh, through
 * `fs-ctl` of the same program on the host. */
#define NEMESIS_DISK_REMOTE_EXE "faultline-harness"
int nemesis_disk_mount_remote(struct nemesis_disk *d, struct nemesis_remote *r, unsigned host,
                              unsigned node, char *errmsg);

/* Sends one command line (fsd.h) and reads the JSON answer into reply
 * (NUL-terminated, newline cut). Returns 0 when the answer says "ok":true,
 * else a negative code with errmsg (the answer or the socket error). */
int nemesis_disk_command(const struct nemesis_disk *d, const char *cmd, char *reply, size_t size,
                         char *errmsg);

/* Stops the daemon (SIGTERM: it unmounts) and makes sure the mount is gone
 * (a lazy unmount otherwise). Idempotent. Returns 0 or a negative errno. */
int nemesis_disk_unmount(struct nemesis_disk *d, char *errmsg);

/* Damages the newest regular file under the backing directory of a stopped node:
 * flip one bit at a random offset (`flip`), or cut 1..4096 bytes off its end.
 * `seed` chooses; `what` (len bytes) says what was done, for the history.
 * Returns 0 (also when there is no file: what says so) or a negative errno. */
int nemesis_disk_damage(const struct nemesis_disk *d, bool flip, uint64_t seed, char *what,
                        size_t len);

/* `faultline fs-ctl`, the host side of a remote disk (exit status 0, 1 when the answer or the
 * damage failed, 3 on a usage error):
 *   faultline fs-ctl [--wait MS] SOCKET LINE   one command, the JSON answer on stdout; with
 *                                              --wait, retries the connection up to MS ms
 *   faultline fs-ctl --damage flip|cut SEED BACKING   nemesis_disk_damage, what on stdout
 *   faultline fs-ctl --corrupt-tail COUNT SEED DATA   nemesis_corrupt_damage_tail */
int nemesis_disk_ctl_main(int argc, char **argv);

/* Lazily unmounts every mount at or under `path` (deepest first), as listed by
 * /proc/self/mountinfo. Returns the number unmounted or a negative errno. */
int nemesis_disk_unmount_under(const char *path);

#endif
