/* meta.h - Raft hard state (current term and vote) kept atomically in DIR/meta.
 *
 * The file is 32 bytes, little-endian: magic "FLMETA01", u64 term, u64 vote,
 * u32 crc32c of bytes 0..23, u32 zero. A save writes DIR/meta.tmp, fsyncs it,
 * renames it over DIR/meta and fsyncs the directory, so after a crash the file
 * holds either the old or the new state, never a mix (Raft Figure 3.1: term
 * and vote must be on stable storage before answering any RPC). Synchronous
 * POSIX calls, no globals: safe to call from a worker thread. */
#ifndef IO_META_H
#define IO_META_H

#include <stdbool.h>
#include <stdint.h>

#define IO_META_BYTES 32

struct io_meta {
    uint64_t term;
    uint64_t vote; /* server id voted for in `term`, 0 for none */
};

/* Reads DIR/meta into *m. A missing file is a fresh server: *m is zeroed,
 * *found (may be NULL) set false, and 0 returned. A file of the wrong size,
 * magic or CRC, or a vote without a term, is refused with FL_EPARSE and an
 * errmsg (FL_ERRMSG_SIZE bytes) naming the file and the field; I/O errors
 * return a negative errno. A leftover meta.tmp is ignored. */
int io_meta_load(const char *dir, struct io_meta *m, bool *found, char *errmsg);

/* Durably replaces DIR/meta with *m (borrowed) as described above. Returns 0
 * or a negative errno with errmsg; on failure the previous state stays. */
int io_meta_save(const char *dir, const struct io_meta *m, char *errmsg);

#endif
