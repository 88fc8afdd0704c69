/* lazyfs.h - a backing directory that remembers what was not made durable, and can forget it.
 *
 * The state behind the disk faults (lazyfs's idea, done as an undo log): every
 * operation goes through to the backing directory at once, so reads need no
 * cache, and the first change since the last fsync of each 4 KiB block of an
 * existing file saves that block's old content (its pre-image). Forgetting
 * (nemesis_lazyfs_lose, a power loss) puts back every pre-image and the size
 * each file had at its last fsync/fdatasync, and undoes, newest first, the
 * creates, unlinks, mkdirs, rmdirs and renames of directories not fsynced
 * since (an unlinked or replaced file waits in a stash directory on the same
 * filesystem until its directory is fsynced). A torn write keeps a prefix of
 * the last write, cut at a 512-byte sector boundary.
 *
 * nemesis/fsd.c is the FUSE shell over it; the unit tests drive it directly.
 * Paths are relative to the backing root ("a/b", "." for the root). Calls are
 * not thread-safe: the shell holds one lock around them. All functions return
 * 0 (or a byte count) or a negative errno. */
#ifndef NEMESIS_LAZYFS_H
#define NEMESIS_LAZYFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NEMESIS_LAZYFS_BLOCK  4096u
#define NEMESIS_LAZYFS_SECTOR 512u
/* Pre-images kept at most (bytes); past it a block's old content is not
 * saved and the loss is counted as untracked (the fault gets weaker, never wrong). */
#define NEMESIS_LAZYFS_MAX_SAVED (256ull << 20)
#define NEMESIS_LAZYFS_MAX_ENTRIES 100000u

struct nemesis_lazyfs_block {
    uint64_t index;      /* block number in the file */
    unsigned len;        /* bytes of it inside the synced size */
    unsigned char *data; /* owned */
};

/* A file with changes since its last fsync, by backing inode (names may change). */
struct nemesis_lazyfs_file {
    dev_t dev;
    ino_t ino;
    int fd;               /* owned, O_RDWR on the inode: undo works after renames and unlinks */
    uint64_t synced_size; /* the size at the last sync (when first changed after it) */
    struct nemesis_lazyfs_block *blocks; /* owned, sorted by index */
    size_t n_blocks, cap_blocks;
};

enum nemesis_lazyfs_op {
    NEMESIS_LAZYFS_CREATE, /* a file, node or symlink appeared at path */
    NEMESIS_LAZYFS_MKDIR,
    NEMESIS_LAZYFS_UNLINK, /* path moved to the stash */
    NEMESIS_LAZYFS_RMDIR,
    NEMESIS_LAZYFS_RENAME, /* path -> path2; a replaced path2 moved to the stash */
};

/* A directory entry change not yet made durable by an fsync of its directory. */
struct nemesis_lazyfs_entry {
    enum nemesis_lazyfs_op op;
    char *path, *path2; /* owned; path2 only for RENAME */
    uint64_t stash;     /* stash name ("s<N>"), 0 = none */
    mode_t mode;        /* RMDIR: the directory's mode */
    bool pending[2];    /* the parent of path (and of path2) not fsynced yet */
};

/* What a loss did (also the answer of the control channel). */
struct nemesis_lazyfs_stats {
    unsigned files;            /* files put back to their synced size and content */
    uint64_t bytes;            /* pre-image bytes written back */
    unsigned entries;          /* directory changes undone */
    unsigned failed;           /* undo steps that failed (errno counted, not fatal) */
    uint64_t untracked;        /* bytes whose pre-image was over the memory bound */
    uint64_t torn_kept;        /* torn write: bytes of the last write kept */
    uint64_t torn_len;         /* torn write: its length (0 = no unsynced write) */
};

struct nemesis_lazyfs {
    int root;  /* owned dirfd of the backing directory */
    int stash; /* owned dirfd of the stash directory (same filesystem) */
    uint64_t next_stash;
    struct nemesis_lazyfs_file *files; /* owned */
    size_t n_files, cap_files;
    struct nemesis_lazyfs_entry *entries; /* owned, oldest first */
    size_t n_entries, cap_entries;
    uint64_t saved_bytes, untracked;
    bool fsync_error; /* fsync/fdatasync/fsyncdir fail with EIO and sync nothing */
    uint64_t fsync_errors;
    /* The newest unsynced write, for the torn write. */
    bool last_valid;
    dev_t last_dev;
    ino_t last_ino;
    uint64_t last_off, last_len;
};

/* Opens the backing and stash directories (both must exist, on one filesystem;
 * the stash should be empty). Returns 0 or a negative errno with errmsg. */
int nemesis_lazyfs_init(struct nemesis_lazyfs *l, const char *backing, const char *stash,
                        char *errmsg);
/* Releases everything (what is unsynced stays as it is in the backing directory). */
void nemesis_lazyfs_close(struct nemesis_lazyfs *l);

/* ==== Operations (as the filesystem receives them) ==== */

/* Opens path with open(2) flags (O_APPEND dropped: writes come with their offset;
 * O_TRUNC done as nemesis_lazyfs_ftruncate). A file that did not exist is recorded
 * as created. Returns the backing fd (the caller closes it) or a negative errno. */
int nemesis_lazyfs_open(struct nemesis_lazyfs *l, const char *path, int flags, mode_t mode);
/* pwrite through fd after saving pre-images. Returns bytes written or a negative errno. */
ssize_t nemesis_lazyfs_write(struct nemesis_lazyfs *l, int fd, const void *buf, size_t len,
                             off_t off);
int nemesis_lazyfs_ftruncate(struct nemesis_lazyfs *l, int fd, off_t size);
int nemesis_lazyfs_truncate(struct nemesis_lazyfs *l, const char *path, off_t size);
/* fsync/fdatasync of fd: its data is durable from now on (unless fsync_error). */
int nemesis_lazyfs_fsync(struct nemesis_lazyfs *l, int fd, bool datasync);
/* fsync of directory path: its entry changes are durable from now on (unless fsync_error). */
int nemesis_lazyfs_fsyncdir(struct nemesis_lazyfs *l, const char *path);
int nemesis_lazyfs_mknod(struct nemesis_lazyfs *l, const char *path, mode_t mode, dev_t rdev);
int nemesis_lazyfs_mkdir(struct nemesis_lazyfs *l, const char *path, mode_t mode);
int nemesis_lazyfs_symlink(struct nemesis_lazyfs *l, const char *target, const char *path);
int nemesis_lazyfs_link(struct nemesis_lazyfs *l, const char *from, const char *to);
int nemesis_lazyfs_unlink(struct nemesis_lazyfs *l, const char *path);
int nemesis_lazyfs_rmdir(struct nemesis_lazyfs *l, const char *path);
/* flags: 0 or RENAME_NOREPLACE (RENAME_EXCHANGE is refused with -EINVAL). */
int nemesis_lazyfs_rename(struct nemesis_lazyfs *l, const char *from, const char *to,
                          unsigned flags);

/* ==== Faults ==== */

/* A power loss: every unsynced change undone as described at the top. With
 * `torn`, the last unsynced write keeps a prefix ending at a sector boundary
 * inside it chosen by `seed` (nothing when the write lies within one sector).
 * Everything counts as synced afterwards. Never fails: failed steps are
 * counted in out->failed. */
void nemesis_lazyfs_lose(struct nemesis_lazyfs *l, bool torn, uint64_t seed,
                         struct nemesis_lazyfs_stats *out);
/* Everything counts as durable from now on (a `sync` of the whole filesystem). */
void nemesis_lazyfs_sync_all(struct nemesis_lazyfs *l);
/* What is unsynced now: files, pre-image bytes, entries. */
void nemesis_lazyfs_pending(const struct nemesis_lazyfs *l, unsigned *files, uint64_t *bytes,
                            unsigned *entries);

#endif
