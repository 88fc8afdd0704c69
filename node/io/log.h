/* log.h - the durable Raft log: CRC-checked records in segment files, group commit, recovery.
 *
 * A log lives in one directory as segment files `seg-<first index, 20 digits>.log`,
 * each a run of records with consecutive indexes:
 *
 *   offset 0  u32 magic "FLR1"     offset 16 u64 term
 *   offset 4  u32 payload length   offset 24 u32 type (enum raft_entry_type)
 *   offset 8  u64 index            offset 28 u32 crc32c of bytes 0..27 and the payload
 *   offset 32 payload
 *
 * (all little-endian). Appends are buffered; io_log_sync makes everything
 * appended since the previous sync durable with one fdatasync (group commit)
 * plus a directory fsync when segment files were created. Recovery (io_log_open)
 * verifies every record: a torn or corrupt tail of the last segment is cut off
 * and reported; damage anywhere else, or a bad record followed by good ones,
 * is refused with a message naming the file and offset, because cutting there
 * could drop entries that were acknowledged.
 *
 * Compaction: io_log_compact_prefix deletes segments covered by a snapshot;
 * io_log_release + io_log_compact_incremental (Copycat style) rewrite closed
 * segments, turning released entries into tombstones that keep index and term
 * (type RAFT_NOOP, no payload) so log matching still holds.
 *
 * The code is synchronous POSIX file I/O, meant to run on a worker thread: no
 * globals, no libuv; one struct io_log must not be used by two threads at once.
 * After an I/O error on a write path the log refuses further writes (the page
 * cache can no longer be trusted, see "fsyncgate"): close and reopen it. */
#ifndef IO_LOG_H
#define IO_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/raft/raft.h"

#define IO_LOG_HEADER                  32         /* bytes of a record header */
#define IO_LOG_SEGMENT_BYTES_DEFAULT   (8u << 20) /* roll over past 8 MiB */
#define IO_LOG_MAX_ENTRY_BYTES_DEFAULT (4u << 20) /* 4 MiB payload */

struct io_log_options {
    uint64_t segment_bytes;   /* start a new segment once the active one reaches this; 0: default */
    uint32_t max_entry_bytes; /* largest payload accepted on append and on load; 0: default */
};

/* What recovery did, for the node to log as a JSON event. */
struct io_log_recovery {
    bool truncated;         /* a torn or corrupt tail was cut off */
    uint64_t from_index;    /* first index dropped (the index the bad record should have had) */
    char segment[64];       /* file name of the segment cut */
    uint64_t offset;        /* byte offset of the cut in that file */
    uint64_t bytes_dropped; /* bytes removed from the end of the file */
    char reason[128];       /* why the first dropped record was rejected */
    unsigned tmp_removed;   /* leftover *.tmp files of an interrupted compaction removed */
    uint64_t first_index;   /* log bounds after recovery (0, 0 when empty) */
    uint64_t last_index;
    uint64_t segments; /* segment files in use */
};

/* One record in memory (private). */
struct io_log__rec {
    uint64_t off;  /* byte offset of the header in its segment */
    uint64_t term; /* kept in memory for io_log_term_at and the append check */
    uint32_t len;  /* payload bytes */
    uint8_t type;  /* enum raft_entry_type */
    bool released; /* the state machine no longer needs the payload */
};

/* One segment file (private). */
struct io_log__seg {
    uint64_t first; /* index of its first record (also in the file name) */
    uint64_t n;     /* records */
    uint64_t size;  /* bytes of records, including those still buffered */
    struct io_log__rec *recs;
    uint64_t cap;
};

/* Statistics, readable by the caller. */
struct io_log_stats {
    uint64_t appended; /* records appended since open */
    uint64_t syncs;    /* fdatasync calls on segment files */
    uint64_t dir_syncs;
    uint64_t writes; /* write system calls for appends */
};

/* A log. Caller allocates; fields are private except `stats`. */
struct io_log {
    char *dir;
    int dirfd;
    struct io_log_options opt;
    struct io_log__seg *segs; /* ascending, contiguous; the last one is active */
    size_t n_segs, cap_segs;
    int fd;              /* active segment, -1 when there is none */
    unsigned char *wbuf; /* encoded records not yet written to the active segment */
    size_t wlen, wcap;
    uint64_t wbuf_off; /* file offset where wbuf starts */
    bool data_dirty;   /* written to the active segment but not yet fdatasynced */
    bool dir_dirty;    /* segment files created since the last directory fsync */
    uint64_t synced_off; /* bytes of the active segment known to be durable */
    uint64_t gen;        /* changes whenever the active segment's file or size is replaced */
    int failed;        /* first write-path I/O error; nonzero refuses writes */
    struct io_log_stats stats;
};

/* Returns the CRC-32C (Castagnoli) of `n` bytes continuing from `crc` (start
 * with 0). Uses the SSE4.2 instruction when the CPU has it. */
uint32_t io_log_crc32c(uint32_t crc, const void *data, size_t n);

/* Opens (creating it if missing, one level) the log in `dir` (copied) with
 * options `opt` (copied; NULL for defaults) and recovers it: every record's
 * magic, length, index, type and CRC are checked; a torn or corrupt tail of the
 * last segment is cut off (durably) and described in `*rec` (may be NULL);
 * leftover compaction temp files are removed. Returns 0, or a negative code
 * with errmsg (FL_ERRMSG_SIZE bytes) naming the file and byte offset: FL_EPARSE
 * for a corrupt record that is not a tail (or a gap between segments),
 * FL_ELIMIT for a length field over max_entry_bytes that is not a tail, a
 * negative errno for I/O, FL_ENOMEM. On failure nothing needs closing. */
int io_log_open(struct io_log *log, const char *dir, const struct io_log_options *opt,
                struct io_log_recovery *rec, char *errmsg);

/* Flushes buffered records (no sync) and releases everything. Unsynced records
 * may or may not survive a crash after this; call io_log_sync first. */
void io_log_close(struct io_log *log);

/* Index of the first and last stored record; both 0 when the log is empty. */
uint64_t io_log_first_index(const struct io_log *log);
uint64_t io_log_last_index(const struct io_log *log);

/* Term of the stored record `index` (from memory, no I/O); 0 when not stored. */
uint64_t io_log_term_at(const struct io_log *log, uint64_t index);

/* Appends `n` entries (borrowed; their payload bytes are copied, no reference
 * is kept) as indexes index..index+n-1. `index` must be last_index+1, or any
 * index >= 1 when the log is empty (after a snapshot install or compaction).
 * Records are buffered, not durable until io_log_sync. All entries are checked
 * before any is taken: FL_ELIMIT for a payload over max_entry_bytes, FL_EUSAGE
 * for a wrong index or type, term 0, or a term lower than the one before it
 * (Raft log terms never decrease; recovery would refuse such a log). On
 * FL_ENOMEM or an I/O error a prefix of the batch may have been taken:
 * io_log_last_index says how far. Rolling over to a new segment
 * fdatasyncs the old one. Returns 0 or a negative code with errmsg. */
int io_log_append(struct io_log *log, uint64_t index, const struct raft_entry *entries, unsigned n,
                  char *errmsg);

/* Makes every record appended so far durable: writes the buffer, one
 * fdatasync of the active segment, and a directory fsync if segment files were
 * created since the last sync. Cheap when nothing is pending. Returns 0 or a
 * negative errno; after a failure the log refuses further writes. */
int io_log_sync(struct io_log *log, char *errmsg);

/* io_log_sync in three steps, so the fdatasync can run on another thread
 * while the caller goes on appending (group commit off the event loop):
 * begin (caller's thread) writes the buffer and takes duplicates of the
 * descriptors to sync; run (any thread, touches nothing but the job) syncs
 * them; end (caller's thread, exactly once per begun job) closes them and
 * records the outcome. Everything appended before begin is durable once end
 * returns 0; a failed job fails the log as io_log_sync does. */
struct io_log_sync_job {
    int fd, dirfd;     /* duplicates to fdatasync / fsync, -1: nothing to do */
    uint64_t off, gen; /* the active segment's size at begin, and its generation */
    int rc;            /* run's outcome: 0 or a negative errno */
};
int io_log_sync_begin(struct io_log *log, struct io_log_sync_job *job, char *errmsg);
void io_log_sync_run(struct io_log_sync_job *job);
int io_log_sync_end(struct io_log *log, struct io_log_sync_job *job, char *errmsg);
/* Writes what io_log_append buffered to the active segment without a sync
 * (the ack-before-fsync planted bug: in the OS's cache, lost by a power loss
 * but not by a crash). Returns 0 or a negative code with errmsg. */
int io_log_write(struct io_log *log, char *errmsg);

/* Deletes the records from index `from` on (all of them when from <= first),
 * durably before returning (deleted files and the shortened segment are
 * synced), so an old tail can never reappear behind newer records. Indexes past
 * the end are a no-op. Returns 0 or a negative code. */
int io_log_truncate(struct io_log *log, uint64_t from, char *errmsg);

/* Reads records first..last (inclusive, within the stored bounds) from disk,
 * re-checking length and CRC, into a new fl_malloc'd array of raft_entry
 * stored in *out; each entry holds a new raft_buf reference (NULL for RAFT_NOOP
 * and for tombstones, which load as RAFT_NOOP with their original term). Free
 * with io_log_entries_free(*out, last - first + 1). Returns 0, FL_EUSAGE for a
 * range outside the log, FL_EPARSE/FL_ELIMIT naming file and offset for a
 * record damaged since open, a negative errno, or FL_ENOMEM. */
int io_log_load(struct io_log *log, uint64_t first, uint64_t last, struct raft_entry **out,
                char *errmsg);

/* Drops the references held by `n` loaded entries and frees the array. */
void io_log_entries_free(struct raft_entry *entries, uint64_t n);

/* Deletes every segment whose records all have indexes <= `index` (covered by
 * a snapshot at `index`), oldest first, and fsyncs the directory. Records
 * after `index` are kept, so the log may still start before index+1. Returns
 * 0 or a negative code. */
int io_log_compact_prefix(struct io_log *log, uint64_t index, char *errmsg);

/* Records that the state machine no longer needs committed entry `index` (its
 * effect is superseded). Only remembered in memory until the next
 * io_log_compact_incremental: a crash forgets releases, which only means less
 * compaction. Indexes outside the log are ignored. RAFT_CHANGE entries are
 * never tombstoned. */
void io_log_release(struct io_log *log, uint64_t index);

/* What one incremental compaction did. */
struct io_log_compaction {
    unsigned segments_rewritten;
    uint64_t tombstones;                /* records whose payload was dropped */
    uint64_t bytes_before, bytes_after; /* sizes of the rewritten segments */
};

/* Rewrites each closed segment (not the active one) in which the share of
 * released records that still carry a payload is over `threshold` (0..1):
 * those records become tombstones (same index and term, type RAFT_NOOP, no
 * payload). Each rewrite goes to `seg-<first>.log.tmp`, is fdatasynced and
 * renamed over the segment, then the directory is fsynced, so a crash leaves
 * either the old or the new segment. Fills *out (may be NULL). Returns 0 or a
 * negative code. */
int io_log_compact_incremental(struct io_log *log, double threshold, struct io_log_compaction *out,
                               char *errmsg);

/* Total bytes of the segment files (including buffered records). */
uint64_t io_log_bytes(const struct io_log *log);

/* Test hook for crash faults: drops what a power loss would lose, the bytes
 * of the active segment written since the last io_log_sync (buffered ones
 * too), by truncating the file to its last synced size. The log must be
 * closed (or the process exit) right after. Returns the bytes dropped. */
uint64_t io_log_drop_unsynced(struct io_log *log);

/* ==== Internal, shared with meta.c and snapfile.c ==== */

/* Writes/reads exactly n bytes at `off`, retrying on EINTR; 0 or a negative
 * errno (-EIO when the file ends early). */
int io_log__pwrite_all(int fd, const void *buf, size_t n, uint64_t off);
int io_log__pread_all(int fd, void *buf, size_t n, uint64_t off);
void io_log__put32(unsigned char *p, uint32_t v);
void io_log__put64(unsigned char *p, uint64_t v);
uint32_t io_log__get32(const unsigned char *p);
uint64_t io_log__get64(const unsigned char *p);

#endif
