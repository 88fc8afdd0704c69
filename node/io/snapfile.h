/* snapfile.h - Raft snapshot files: written atomically, the newest valid one loaded, older ones
 * deleted.
 *
 * A snapshot lives in DIR/snap-<index, 20 digits>.snap, little-endian:
 *
 *   offset 0  magic "FLSNAP01"       offset 32 u32 configuration bytes (C)
 *   offset 8  u64 index              offset 36 u32 data bytes (D)
 *   offset 16 u64 term               offset 40 u32 crc32c of bytes 0..39, configuration, data
 *   offset 24 u64 conf_index         offset 44 u32 zero
 *   offset 48 configuration (raft_configuration_encode), then the data
 *
 * A write goes to `snap-<index>.snap.tmp`, is fsynced, renamed into place and
 * the directory fsynced; only then are older snapshots and temp files deleted,
 * so a crash at any point leaves at least one complete snapshot (if one
 * existed) and a torn temp file is never read. Synchronous POSIX calls, no
 * globals: safe from a worker thread. */
#ifndef IO_SNAPFILE_H
#define IO_SNAPFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "node/raft/raft.h"

#define IO_SNAPFILE_HEADER 48

/* A snapshot as stored: what RAFT_START and raft_snapshot_install carry. */
struct io_snapfile {
    uint64_t index, term, conf_index;
    struct raft_configuration conf;
    struct raft_buf *data; /* ownership: see each function */
};

/* What a load skipped, for the node to log. */
struct io_snapfile_report {
    unsigned skipped;                /* snapshot files that failed validation */
    char first_skip[FL_ERRMSG_SIZE]; /* why the newest skipped one was refused */
    unsigned tmp_ignored;            /* *.snap.tmp files (torn writes) ignored */
};

/* Writes `s` (borrowed, data may be NULL for an empty state; only its bytes
 * are read, its reference count is not touched) durably as
 * DIR/snap-<index>.snap, replacing a file of the same index, then deletes the
 * snapshot files of lower index and any temp files. Refuses index or term 0,
 * conf_index > index and a configuration that does not encode with FL_EUSAGE.
 * Returns 0 or a negative code with errmsg (FL_ERRMSG_SIZE bytes); on failure
 * the previous snapshots are untouched. */
int io_snapfile_write(const char *dir, const struct io_snapfile *s, char *errmsg);

/* Loads the newest snapshot in `dir` that validates (magic, sizes, data at
 * most `max_bytes` (0: no limit), CRC, file name matching the index, decodable
 * configuration) into *s with s->data a new reference (never NULL: an empty
 * state loads as a 0-byte buffer). Older valid files are used when newer ones
 * are damaged; *rep (may be NULL) says what was skipped, and the caller must
 * then check that the log still starts at or before s->index + 1. Sets *found (may be
 * NULL) and returns 0 with *s zeroed when there is none. Returns a negative
 * code only for I/O errors on the directory or FL_ENOMEM. */
int io_snapfile_load(const char *dir, uint32_t max_bytes, struct io_snapfile *s, bool *found,
                     struct io_snapfile_report *rep, char *errmsg);

/* Deletes snapshot files with an index below `keep_index` and all temp files,
 * then fsyncs the directory. Returns 0 or a negative errno. */
int io_snapfile_prune(const char *dir, uint64_t keep_index, char *errmsg);

/* Drops the data reference a load gave and zeroes *s. */
void io_snapfile_release(struct io_snapfile *s);

#endif
