/* test_log.c - the durable log (node/io/log.h): round trips across segments, group commit,
 * truncation, recovery of torn and corrupt tails, refusals, prefix and incremental compaction. */
#include "common/alloc.h"
#include "common/error.h"
#include "common/rng.h"
#include "node/io/log.h"
#include "tests/unit/node/io/storage_test.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#define PAYLOAD 100
#define REC     (IO_LOG_HEADER + PAYLOAD) /* 132 bytes per record */
#define PER_SEG 8                         /* records per 1024-byte segment: rolls once >= 1024 */

static char dir[64];
static char err[FL_ERRMSG_SIZE];

static void setup(void)
{
    st_mkdtemp(dir);
    err[0] = '\0';
}

static void teardown(void)
{
    st_rmtree(dir);
}

TestSuite(io_log, .init = setup, .fini = teardown);

static const struct io_log_options small = {.segment_bytes = 1024, .max_entry_bytes = 4096};

static uint64_t term_of(uint64_t index)
{
    return 1 + index / 30;
}

static void fill(unsigned char *p, uint64_t index, uint64_t term)
{
    memset(p, 'a' + (int)(index % 26), PAYLOAD);
    snprintf((char *)p, PAYLOAD, "entry %" PRIu64 " term %" PRIu64, index, term);
}

static void open_log(struct io_log *log, struct io_log_recovery *rec)
{
    int rc = io_log_open(log, dir, &small, rec, err);
    cr_assert_eq(rc, 0, "open: %s", err);
}

/* Appends first..last with PAYLOAD-byte commands, term `term` (0: term_of(index)). */
static void append_range(struct io_log *log, uint64_t first, uint64_t last, uint64_t term)
{
    for (uint64_t i = first; i <= last; i++) {
        unsigned char p[PAYLOAD];
        uint64_t t = term ? term : term_of(i);
        fill(p, i, t);
        struct raft_entry e = {.term = t, .type = RAFT_COMMAND, .buf = raft_buf_new(p, PAYLOAD)};
        cr_assert_not_null(e.buf);
        int rc = io_log_append(log, i, &e, 1, err);
        raft_buf_unref(e.buf);
        cr_assert_eq(rc, 0, "append %" PRIu64 ": %s", i, err);
    }
}

/* Loads first..last and checks each entry against what append_range wrote. */
static void check_range(struct io_log *log, uint64_t first, uint64_t last, uint64_t term)
{
    struct raft_entry *es;
    int rc = io_log_load(log, first, last, &es, err);
    cr_assert_eq(rc, 0, "load %" PRIu64 "..%" PRIu64 ": %s", first, last, err);
    for (uint64_t i = first; i <= last; i++) {
        const struct raft_entry *e = &es[i - first];
        uint64_t t = term ? term : term_of(i);
        unsigned char p[PAYLOAD];
        fill(p, i, t);
        cr_assert_eq(e->term, t, "term of %" PRIu64, i);
        cr_assert_eq(e->type, RAFT_COMMAND, "type of %" PRIu64, i);
        cr_assert_not_null(e->buf);
        cr_assert_eq(e->buf->len, PAYLOAD);
        cr_assert_eq(memcmp(e->buf->data, p, PAYLOAD), 0, "payload of %" PRIu64, i);
    }
    io_log_entries_free(es, last - first + 1);
}

static const char *seg_path(uint64_t first)
{
    static char p[128];
    snprintf(p, sizeof p, "%s/seg-%020" PRIu64 ".log", dir, first);
    return p;
}

/* Creates a log holding 1..n, synced and closed. */
static void make_log(uint64_t n)
{
    struct io_log log;
    open_log(&log, NULL);
    append_range(&log, 1, n, 0);
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    io_log_close(&log);
}

Test(io_log, crc32c_matches_the_castagnoli_check_value)
{
    cr_assert_eq(io_log_crc32c(0, "123456789", 9), 0xe3069283u);
    uint32_t part = io_log_crc32c(0, "1234", 4);
    cr_assert_eq(io_log_crc32c(part, "56789", 5), 0xe3069283u);
}

Test(io_log, round_trip_across_segments_after_reopen)
{
    struct io_log log;
    struct io_log_recovery rec;
    open_log(&log, &rec);
    cr_assert_eq(io_log_first_index(&log), 0);
    cr_assert_eq(io_log_last_index(&log), 0);
    for (uint64_t i = 1; i <= 100; i += 10) {
        append_range(&log, i, i + 9, 0);
        cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    }
    /* A no-op and a configuration change round-trip too. */
    struct raft_configuration c = {.n = 2, .servers = {{1, RAFT_VOTER}, {2, RAFT_PASSIVE}}};
    struct raft_entry extra[2] = {
        {.term = 9, .type = RAFT_NOOP},
        {.term = 9, .type = RAFT_CHANGE, .buf = raft_configuration_encode(&c)}};
    cr_assert_eq(io_log_append(&log, 101, extra, 2, err), 0, "%s", err);
    raft_buf_unref(extra[1].buf);
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    io_log_close(&log);

    cr_assert_geq(st_count(dir, "seg-"), 100 / PER_SEG, "several segments");
    open_log(&log, &rec);
    cr_assert_not(rec.truncated);
    cr_assert_eq(rec.first_index, 1);
    cr_assert_eq(rec.last_index, 102);
    cr_assert_eq(rec.segments, (uint64_t)st_count(dir, "seg-"));
    check_range(&log, 1, 100, 0);
    check_range(&log, 37, 41, 0); /* a range crossing a segment boundary */
    struct raft_entry *es;
    cr_assert_eq(io_log_load(&log, 101, 102, &es, err), 0, "%s", err);
    cr_assert_eq(es[0].type, RAFT_NOOP);
    cr_assert_null(es[0].buf);
    cr_assert_eq(es[1].type, RAFT_CHANGE);
    struct raft_configuration got;
    cr_assert_eq(raft_configuration_decode(es[1].buf, &got), 0);
    cr_assert_eq(got.n, 2);
    cr_assert_eq(got.servers[1].role, RAFT_PASSIVE);
    io_log_entries_free(es, 2);
    io_log_close(&log);
}

Test(io_log, one_fdatasync_per_sync_for_a_batch)
{
    struct io_log log;
    struct io_log_options big = {.segment_bytes = 1 << 20, .max_entry_bytes = 4096};
    cr_assert_eq(io_log_open(&log, dir, &big, NULL, err), 0, "%s", err);
    append_range(&log, 1, 128, 0);
    cr_assert_eq(log.stats.syncs, 0, "appends alone do not sync");
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    cr_assert_eq(log.stats.syncs, 1, "128 entries, one fdatasync");
    cr_assert_eq(log.stats.dir_syncs, 1, "the new segment's directory entry is synced");
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    cr_assert_eq(log.stats.syncs, 1, "nothing pending: no fdatasync");
    io_log_close(&log);
}

/* A sync in three steps (the fdatasync on another thread): records appended
 * between begin and end are not covered; a power loss (drop_unsynced) keeps
 * exactly what begin covered; a truncation during the job keeps end from
 * claiming bytes written after it. */
Test(io_log, a_sync_job_covers_what_was_appended_before_it_began)
{
    struct io_log log;
    struct io_log_options big = {.segment_bytes = 1 << 20, .max_entry_bytes = 4096};
    cr_assert_eq(io_log_open(&log, dir, &big, NULL, err), 0, "%s", err);
    append_range(&log, 1, 10, 0);
    struct io_log_sync_job job;
    cr_assert_eq(io_log_sync_begin(&log, &job, err), 0, "%s", err);
    cr_assert(job.fd >= 0 && job.dirfd >= 0, "data and the new segment's entry to sync");
    uint64_t covered = job.off;
    append_range(&log, 11, 20, 0); /* while the job runs */
    io_log_sync_run(&job);
    cr_assert_eq(io_log_sync_end(&log, &job, err), 0, "%s", err);
    cr_assert_eq(log.synced_off, covered);
    cr_assert_eq(log.stats.syncs, 1);
    cr_assert_eq(log.stats.dir_syncs, 1);
    cr_assert_gt(io_log_drop_unsynced(&log), 0, "records 11-20 were not covered");
    io_log_close(&log);
    cr_assert_eq(io_log_open(&log, dir, &big, NULL, err), 0, "%s", err);
    cr_assert_eq(io_log_last_index(&log), 10, "exactly what the job covered survives");
    check_range(&log, 1, 10, 0);
    /* A truncation while a job is in flight: end leaves synced_off alone. */
    append_range(&log, 11, 20, 0);
    cr_assert_eq(io_log_sync_begin(&log, &job, err), 0, "%s", err);
    cr_assert_eq(io_log_truncate(&log, 15, err), 0, "%s", err);
    uint64_t after_truncate = log.synced_off;
    append_range(&log, 15, 30, 0); /* one segment: synced_off moves only by a sync */
    io_log_sync_run(&job);
    cr_assert_eq(io_log_sync_end(&log, &job, err), 0, "%s", err);
    cr_assert_eq(log.synced_off, after_truncate, "bytes written after the truncation not claimed");
    io_log_close(&log);
}

Test(io_log, unsynced_records_are_readable_before_sync)
{
    struct io_log log;
    open_log(&log, NULL);
    append_range(&log, 1, 3, 0);
    check_range(&log, 1, 3, 0);
    io_log_close(&log);
}

Test(io_log, truncate_in_the_middle_of_a_segment_then_append)
{
    make_log(50);
    struct io_log log;
    open_log(&log, NULL);
    cr_assert_eq(io_log_truncate(&log, 23, err), 0, "%s", err); /* segment 17..24 */
    cr_assert_eq(io_log_last_index(&log), 22);
    cr_assert_eq(st_count(dir, "seg-"), 3, "segments after 17..24 deleted");
    append_range(&log, 23, 30, 7);
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    io_log_close(&log);

    struct io_log_recovery rec;
    open_log(&log, &rec);
    cr_assert_not(rec.truncated);
    cr_assert_eq(io_log_last_index(&log), 30);
    check_range(&log, 1, 22, 0);
    check_range(&log, 23, 30, 7);
    io_log_close(&log);
}

Test(io_log, truncate_across_segments_then_append)
{
    make_log(60);
    int before = st_count(dir, "seg-");
    struct io_log log;
    open_log(&log, NULL);
    cr_assert_eq(io_log_truncate(&log, 9, err), 0, "%s", err); /* exactly a segment start */
    cr_assert_eq(io_log_last_index(&log), 8);
    cr_assert_eq(st_count(dir, "seg-"), 1);
    cr_assert_lt(1, before);
    append_range(&log, 9, 20, 5);
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    cr_assert_eq(io_log_truncate(&log, 3, err), 0, "%s", err);
    append_range(&log, 3, 4, 6);
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    io_log_close(&log);

    open_log(&log, NULL);
    cr_assert_eq(io_log_first_index(&log), 1);
    cr_assert_eq(io_log_last_index(&log), 4);
    check_range(&log, 1, 2, 0);
    check_range(&log, 3, 4, 6);
    io_log_close(&log);
}

Test(io_log, truncate_everything_then_start_at_any_index)
{
    make_log(20);
    struct io_log log;
    open_log(&log, NULL);
    cr_assert_eq(io_log_truncate(&log, 1, err), 0, "%s", err);
    cr_assert_eq(io_log_last_index(&log), 0);
    cr_assert_eq(st_count(dir, "seg-"), 0);
    append_range(&log, 500, 505, 0);
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    io_log_close(&log);
    open_log(&log, NULL);
    cr_assert_eq(io_log_first_index(&log), 500);
    check_range(&log, 500, 505, 0);
    io_log_close(&log);
}

Test(io_log, torn_tail_is_cut_and_reported)
{
    make_log(20); /* last segment 17..20 */
    const char *p = seg_path(17);
    uint64_t size = st_file_size(p);
    cr_assert_eq(size, 4 * REC);
    st_truncate(p, size - 10); /* record 20 loses its last 10 bytes */

    struct io_log log;
    struct io_log_recovery rec;
    open_log(&log, &rec);
    cr_assert(rec.truncated);
    cr_assert_eq(rec.from_index, 20);
    cr_assert_eq(rec.offset, 3 * REC);
    cr_assert_eq(rec.bytes_dropped, REC - 10);
    cr_assert_str_eq(rec.segment, "seg-00000000000000000017.log");
    cr_assert(strstr(rec.reason, "torn record") != NULL, "reason: %s", rec.reason);
    cr_assert_eq(io_log_last_index(&log), 19);
    cr_assert_eq(st_file_size(p), 3 * REC, "the tail is cut on disk");
    check_range(&log, 1, 19, 0);
    append_range(&log, 20, 21, 0);
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    io_log_close(&log);

    open_log(&log, &rec);
    cr_assert_not(rec.truncated, "nothing left to cut");
    check_range(&log, 1, 21, 0);
    io_log_close(&log);
}

Test(io_log, torn_header_is_cut)
{
    make_log(20);
    st_truncate(seg_path(17), 3 * REC + 5);
    struct io_log log;
    struct io_log_recovery rec;
    open_log(&log, &rec);
    cr_assert(rec.truncated);
    cr_assert_eq(rec.from_index, 20);
    cr_assert(strstr(rec.reason, "torn header") != NULL, "reason: %s", rec.reason);
    io_log_close(&log);
}

Test(io_log, flipped_byte_in_the_last_record_is_cut)
{
    make_log(20);
    st_flip(seg_path(17), 3 * REC + IO_LOG_HEADER + 50, 0x40);
    struct io_log log;
    struct io_log_recovery rec;
    open_log(&log, &rec);
    cr_assert(rec.truncated);
    cr_assert_eq(rec.from_index, 20);
    cr_assert(strstr(rec.reason, "crc mismatch") != NULL, "reason: %s", rec.reason);
    cr_assert_eq(io_log_last_index(&log), 19);
    check_range(&log, 1, 19, 0);
    io_log_close(&log);
}

Test(io_log, flipped_byte_in_an_old_segment_is_refused)
{
    make_log(20);
    st_flip(seg_path(1), 2 * REC + IO_LOG_HEADER + 7, 0x01); /* record 3 */
    struct io_log log;
    int rc = io_log_open(&log, dir, &small, NULL, err);
    cr_assert_eq(rc, FL_EPARSE, "rc %d: %s", rc, err);
    cr_assert(strstr(err, "seg-00000000000000000001.log offset 264") != NULL, "%s", err);
    cr_assert(strstr(err, "record 3") != NULL, "%s", err);
    cr_assert(strstr(err, "crc mismatch") != NULL, "%s", err);
    /* Refusing must not have modified anything. */
    cr_assert_eq(st_file_size(seg_path(1)), PER_SEG * REC);
}

Test(io_log, corrupt_record_followed_by_good_ones_in_the_last_segment_is_refused)
{
    make_log(20);
    st_flip(seg_path(17), REC + 40, 0x10); /* record 18 of 17..20 */
    struct io_log log;
    int rc = io_log_open(&log, dir, &small, NULL, err);
    cr_assert_eq(rc, FL_EPARSE, "%s", err);
    cr_assert(strstr(err, "offset 132") != NULL, "%s", err);
    cr_assert(strstr(err, "valid record follows at offset 264") != NULL, "%s", err);
    cr_assert_eq(st_file_size(seg_path(17)), 4 * REC);
}

Test(io_log, oversized_length_field_is_refused_with_file_and_offset)
{
    make_log(20);
    st_put32(seg_path(1), REC + 4, 0x7fffffffu); /* length of record 2 */
    struct io_log log;
    int rc = io_log_open(&log, dir, &small, NULL, err);
    cr_assert_eq(rc, FL_ELIMIT, "%s", err);
    cr_assert(strstr(err, "seg-00000000000000000001.log offset 132") != NULL, "%s", err);
    cr_assert(strstr(err, "length 2147483647 exceeds max_entry_bytes 4096") != NULL, "%s", err);
}

Test(io_log, gap_between_segments_is_refused)
{
    make_log(30);
    cr_assert_eq(unlink(seg_path(9)), 0);
    struct io_log log;
    int rc = io_log_open(&log, dir, &small, NULL, err);
    cr_assert_eq(rc, FL_EPARSE, "%s", err);
    cr_assert(strstr(err, "seg-00000000000000000017.log: starts at index 17") != NULL, "%s", err);
}

Test(io_log, append_refuses_an_oversized_entry)
{
    struct io_log log;
    struct io_log_options o = {.segment_bytes = 1024, .max_entry_bytes = 64};
    cr_assert_eq(io_log_open(&log, dir, &o, NULL, err), 0, "%s", err);
    unsigned char p[65] = {0};
    struct raft_entry e[2] = {{.term = 1, .type = RAFT_COMMAND, .buf = raft_buf_new(p, 10)},
                              {.term = 1, .type = RAFT_COMMAND, .buf = raft_buf_new(p, 65)}};
    int rc = io_log_append(&log, 1, e, 2, err);
    cr_assert_eq(rc, FL_ELIMIT);
    cr_assert(strstr(err, "entry 2: 65 bytes exceeds max_entry_bytes 64") != NULL, "%s", err);
    cr_assert_eq(io_log_last_index(&log), 0, "nothing of the batch was taken");
    raft_buf_unref(e[0].buf);
    raft_buf_unref(e[1].buf);
    io_log_close(&log);
}

Test(io_log, append_refuses_a_gap)
{
    make_log(5);
    struct io_log log;
    open_log(&log, NULL);
    struct raft_entry e = {.term = 1, .type = RAFT_NOOP};
    cr_assert_eq(io_log_append(&log, 7, &e, 1, err), FL_EUSAGE);
    cr_assert(strstr(err, "append at index 7 but the log ends at 5") != NULL, "%s", err);
    cr_assert_eq(io_log_append(&log, 6, &e, 1, err), 0, "%s", err);
    io_log_close(&log);
}

Test(io_log, load_outside_the_log_is_refused)
{
    make_log(5);
    struct io_log log;
    open_log(&log, NULL);
    struct raft_entry *es;
    cr_assert_eq(io_log_load(&log, 4, 6, &es, err), FL_EUSAGE);
    cr_assert_null(es);
    io_log_close(&log);
}

Test(io_log, load_detects_damage_after_open)
{
    make_log(20);
    struct io_log log;
    open_log(&log, NULL);
    st_flip(seg_path(9), 2 * REC + IO_LOG_HEADER, 0x02); /* record 11 */
    struct raft_entry *es;
    int rc = io_log_load(&log, 1, 20, &es, err);
    cr_assert_eq(rc, FL_EPARSE, "%s", err);
    cr_assert(strstr(err, "seg-00000000000000000009.log offset 264: record 11") != NULL, "%s", err);
    io_log_close(&log);
}

Test(io_log, leftover_compaction_temp_file_is_removed)
{
    make_log(20);
    char p[128];
    snprintf(p, sizeof p, "%s/seg-00000000000000000001.log.tmp", dir);
    st_write_file(p, "junk", 4);
    struct io_log log;
    struct io_log_recovery rec;
    open_log(&log, &rec);
    cr_assert_eq(rec.tmp_removed, 1);
    cr_assert_neq(access(p, F_OK), 0);
    check_range(&log, 1, 20, 0);
    io_log_close(&log);
}

Test(io_log, compact_prefix_deletes_covered_segments_and_shrinks_the_directory)
{
    make_log(100);
    uint64_t before = st_dir_bytes(dir);
    struct io_log log;
    open_log(&log, NULL);
    cr_assert_eq(io_log_compact_prefix(&log, 60, err), 0, "%s", err);
    /* Segments 1..8 .. 49..56 go; 57..64 holds 61 and stays. */
    cr_assert_eq(io_log_first_index(&log), 57);
    cr_assert_eq(io_log_last_index(&log), 100);
    uint64_t after = st_dir_bytes(dir);
    cr_assert_lt(after, before, "directory shrank: %" PRIu64 " -> %" PRIu64, before, after);
    cr_assert_eq(after, 44 * REC);
    check_range(&log, 61, 100, 0);
    append_range(&log, 101, 102, 0);
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    io_log_close(&log);

    open_log(&log, NULL);
    cr_assert_eq(io_log_first_index(&log), 57);
    check_range(&log, 57, 102, 0);
    cr_assert_eq(io_log_compact_prefix(&log, 200, err), 0, "%s", err);
    cr_assert_eq(io_log_last_index(&log), 0, "everything covered: empty");
    cr_assert_eq(st_dir_bytes(dir), 0);
    append_range(&log, 201, 202, 0);
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    io_log_close(&log);
}

Test(io_log, incremental_compaction_turns_released_entries_into_tombstones)
{
    struct io_log log;
    open_log(&log, NULL);
    append_range(&log, 1, 40, 0);
    struct raft_configuration c = {.n = 1, .servers = {{1, RAFT_VOTER}}};
    struct raft_entry ch = {
        .term = term_of(41), .type = RAFT_CHANGE, .buf = raft_configuration_encode(&c)};
    cr_assert_eq(io_log_append(&log, 41, &ch, 1, err), 0, "%s", err);
    raft_buf_unref(ch.buf);
    append_range(&log, 42, 60, 0);
    cr_assert_eq(io_log_sync(&log, err), 0, "%s", err);
    uint64_t before = st_dir_bytes(dir);

    /* Release the odd entries of 1..48 and the configuration entry 41 (never tombstoned). */
    for (uint64_t i = 1; i <= 48; i += 2)
        io_log_release(&log, i);
    io_log_release(&log, 41);
    /* Segments 1..8 to 33..40 have 4 of 8 released, 41..48 only 3 (43, 45, 47): all over 0.3. */
    struct io_log_compaction out;
    cr_assert_eq(io_log_compact_incremental(&log, 0.3, &out, err), 0, "%s", err);
    cr_assert_eq(out.segments_rewritten, 6, "segments 1..48 rewritten");
    cr_assert_eq(out.tombstones, 23, "24 odd entries minus the configuration");
    cr_assert_lt(out.bytes_after, out.bytes_before);
    uint64_t after = st_dir_bytes(dir);
    cr_assert_eq(after, before - 23 * PAYLOAD, "directory shrank by the dropped payloads");
    cr_assert_eq(st_count(dir, "seg-"), 8, "no temp file left");
    io_log_close(&log);

    open_log(&log, NULL);
    struct raft_entry *es;
    cr_assert_eq(io_log_load(&log, 1, 60, &es, err), 0, "%s", err);
    for (uint64_t i = 1; i <= 60; i++) {
        const struct raft_entry *e = &es[i - 1];
        cr_assert_eq(e->term, term_of(i), "term of %" PRIu64, i);
        if (i == 41) {
            cr_assert_eq(e->type, RAFT_CHANGE);
        } else if (i % 2 == 1 && i <= 48) {
            cr_assert_eq(e->type, RAFT_NOOP, "tombstone %" PRIu64, i);
            cr_assert_null(e->buf);
        } else {
            cr_assert_eq(e->type, RAFT_COMMAND, "kept %" PRIu64, i);
            cr_assert_eq(e->buf->len, PAYLOAD);
        }
    }
    io_log_entries_free(es, 60);
    check_range(&log, 2, 2, 0);
    /* Nothing released any more: a second pass rewrites nothing. */
    cr_assert_eq(io_log_compact_incremental(&log, 0.0, &out, err), 0, "%s", err);
    cr_assert_eq(out.segments_rewritten, 0);
    io_log_close(&log);
}

Test(io_log, incremental_compaction_skips_the_active_segment_and_low_shares)
{
    make_log(20); /* segments 1..8, 9..16, active 17..20 */
    struct io_log log;
    open_log(&log, NULL);
    io_log_release(&log, 3);  /* 1 of 8 in segment 1..8 */
    io_log_release(&log, 18); /* active segment */
    struct io_log_compaction out;
    cr_assert_eq(io_log_compact_incremental(&log, 0.2, &out, err), 0, "%s", err);
    cr_assert_eq(out.segments_rewritten, 0);
    cr_assert_eq(io_log_compact_incremental(&log, 0.1, &out, err), 0, "%s", err);
    cr_assert_eq(out.segments_rewritten, 1);
    cr_assert_eq(out.tombstones, 1);
    io_log_close(&log);
}

Test(io_log, term_at_reads_terms_from_memory)
{
    make_log(70);
    struct io_log log;
    open_log(&log, NULL);
    cr_assert_eq(io_log_term_at(&log, 1), term_of(1));
    cr_assert_eq(io_log_term_at(&log, 45), term_of(45));
    cr_assert_eq(io_log_term_at(&log, 70), term_of(70));
    cr_assert_eq(io_log_term_at(&log, 71), 0);
    cr_assert_eq(io_log_term_at(&log, 0), 0);
    io_log_close(&log);
}

Test(io_log, append_refuses_a_decreasing_term)
{
    make_log(40); /* entry 40 has term 2 */
    struct io_log log;
    open_log(&log, NULL);
    struct raft_entry e = {.term = 1, .type = RAFT_NOOP};
    cr_assert_eq(io_log_append(&log, 41, &e, 1, err), FL_EUSAGE);
    cr_assert(strstr(err, "entry 41: term 1 is lower than the term 2 before it") != NULL, "%s",
              err);
    e.term = 2;
    cr_assert_eq(io_log_append(&log, 41, &e, 1, err), 0, "%s", err);
    io_log_close(&log);
}

Test(io_log, oversized_length_in_the_last_record_is_a_torn_tail)
{
    make_log(20);
    st_put32(seg_path(17), 3 * REC + 4, 0x7fffffffu); /* record 20 */
    struct io_log log;
    struct io_log_recovery rec;
    open_log(&log, &rec);
    cr_assert(rec.truncated);
    cr_assert_eq(rec.from_index, 20);
    cr_assert(strstr(rec.reason, "exceeds max_entry_bytes") != NULL, "%s", rec.reason);
    io_log_close(&log);
}

Test(io_log, intact_record_over_a_lowered_limit_is_refused_not_cut)
{
    make_log(20);
    struct io_log log;
    struct io_log_options o = {.segment_bytes = 1024, .max_entry_bytes = 50};
    int rc = io_log_open(&log, dir, &o, NULL, err);
    cr_assert_eq(rc, FL_ELIMIT, "%s", err);
    cr_assert(strstr(err, "raise max_entry_bytes") != NULL, "%s", err);
    cr_assert_eq(st_file_size(seg_path(17)), 4 * REC, "the last segment was not cut");
}

/* Opens, loads, appends and compacts with the nth allocation failing; returns
 * true when everything succeeded (no injected failure was reached). */
static bool run_with_failure(long n)
{
    struct io_log log;
    bool ok = false;
    fl_alloc_fail_after(n);
    if (io_log_open(&log, dir, &small, NULL, err) == 0) {
        struct raft_entry *es;
        int rc = io_log_load(&log, 1, 20, &es, err);
        if (rc == 0) {
            cr_assert_eq(es[19].term, term_of(20));
            io_log_entries_free(es, 20);
        } else {
            cr_assert_eq(rc, FL_ENOMEM, "%s", err);
        }
        uint64_t next = io_log_last_index(&log) + 1;
        struct raft_entry e = {.term = term_of(next), .type = RAFT_NOOP};
        int rc2 = io_log_append(&log, next, &e, 1, err);
        if (rc2 == 0)
            rc2 = io_log_sync(&log, err);
        io_log_release(&log, 2);
        io_log_release(&log, 4);
        int rc3 = io_log_compact_incremental(&log, 0.1, NULL, err);
        ok = rc == 0 && rc2 == 0 && rc3 == 0;
        io_log_close(&log);
    }
    fl_alloc_fail_reset();
    return ok;
}

Test(io_log, allocation_failures_are_reported_not_crashed)
{
    make_log(20);
    long n = 0;
    while (!run_with_failure(n))
        n++;
    cr_assert_gt(n, 3, "the sweep reached several allocations (%ld)", n);
    struct io_log log;
    open_log(&log, NULL);
    cr_assert_geq(io_log_last_index(&log), 20);
    check_range(&log, 5, 20, 0);
    io_log_close(&log);
}

/* ==== Damage and crash properties ==== */

struct saved_file {
    char name[256];
    unsigned char *data;
    size_t len;
};

/* Reads every file of `dir` into memory (at most 8). */
static int save_dir(struct saved_file *files)
{
    int n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        cr_assert_lt(n, 8);
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct saved_file *f = &files[n++];
        snprintf(f->name, sizeof f->name, "%s", de->d_name);
        f->len = st_file_size(p);
        f->data = malloc(f->len);
        FILE *fp = fopen(p, "rb");
        cr_assert(fp && fread(f->data, 1, f->len, fp) == f->len);
        fclose(fp);
    }
    closedir(d);
    return n;
}

static void restore_dir(const struct saved_file *files, int n)
{
    st_rmtree(dir);
    cr_assert_eq(mkdir(dir, 0755), 0);
    for (int i = 0; i < n; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, files[i].name);
        st_write_file(p, files[i].data, files[i].len);
    }
}

Test(io_log, random_damage_is_cut_or_refused_never_misread)
{
    make_log(30); /* segments 1..8, 9..16, 17..24, 25..30 */
    struct saved_file files[8];
    int n = save_dir(files);
    cr_assert_eq(n, 4);
    struct fl_rng rng;
    fl_rng_seed(&rng, 20261130);
    int opened = 0, refused = 0;
    for (int iter = 0; iter < 150; iter++) {
        restore_dir(files, n);
        const struct saved_file *f = &files[fl_rng_below(&rng, (uint64_t)n)];
        char p[512];
        snprintf(p, sizeof p, "%s/%s", dir, f->name);
        uint64_t at = fl_rng_below(&rng, f->len);
        switch (fl_rng_below(&rng, 4)) {
        case 0:
            st_flip(p, at, (unsigned char)(1u << fl_rng_below(&rng, 8)));
            break;
        case 1:
            st_truncate(p, at);
            break;
        case 2: /* a run of zeros, as a lost sector would leave */
            for (uint64_t k = at; k < at + 64 && k < f->len; k++)
                st_flip(p, k, 0xff);
            break;
        default: { /* garbage appended */
            unsigned char junk[40];
            for (size_t k = 0; k < sizeof junk; k++)
                junk[k] = (unsigned char)fl_rng_next(&rng);
            FILE *fp = fopen(p, "ab");
            cr_assert(fp && fwrite(junk, 1, sizeof junk, fp) == sizeof junk);
            fclose(fp);
        }
        }
        struct io_log log;
        int rc = io_log_open(&log, dir, &small, NULL, err);
        if (rc == 0) {
            /* Whatever survived is exactly what was written. */
            opened++;
            uint64_t last = io_log_last_index(&log);
            cr_assert_leq(last, 30);
            if (last > 0) {
                cr_assert_eq(io_log_first_index(&log), 1);
                check_range(&log, 1, last, 0);
            }
            io_log_close(&log);
        } else {
            refused++;
            cr_assert(rc == FL_EPARSE || rc == FL_ELIMIT, "iteration %d: rc %d: %s", iter, rc, err);
            cr_assert(strstr(err, "seg-") != NULL, "names the file: %s", err);
        }
    }
    cr_assert_gt(opened, 0);
    cr_assert_gt(refused, 0);
    for (int i = 0; i < n; i++)
        free(files[i].data);
}

/* Child of the kill test: appends and syncs forever, reporting each durable
 * last index on `fd`; compacts the prefix now and then. Never returns. */
static void writer(int fd, uint64_t seed)
{
    struct io_log log;
    char e[FL_ERRMSG_SIZE];
    if (io_log_open(&log, dir, &small, NULL, e) != 0)
        _exit(3);
    struct fl_rng rng;
    fl_rng_seed(&rng, seed);
    for (;;) {
        uint64_t next = io_log_last_index(&log) + 1;
        unsigned batch = 1 + (unsigned)fl_rng_below(&rng, 20);
        for (unsigned i = 0; i < batch; i++) {
            unsigned char p[PAYLOAD];
            fill(p, next + i, term_of(next + i));
            struct raft_entry en = {
                .term = term_of(next + i), .type = RAFT_COMMAND, .buf = raft_buf_new(p, PAYLOAD)};
            int rc = io_log_append(&log, next + i, &en, 1, e);
            raft_buf_unref(en.buf);
            if (rc != 0)
                _exit(4);
        }
        if (io_log_sync(&log, e) != 0)
            _exit(5);
        uint64_t last = next + batch - 1;
        if (write(fd, &last, sizeof last) != sizeof last)
            _exit(6);
        if (fl_rng_chance(&rng, 0.1) && last > 40 && io_log_compact_prefix(&log, last - 40, e))
            _exit(7);
    }
}

Test(io_log, acknowledged_entries_survive_kill_9_at_any_moment)
{
    struct fl_rng rng;
    fl_rng_seed(&rng, 7);
    uint64_t acked = 0;
    for (int round = 0; round < 10; round++) {
        int pfd[2];
        cr_assert_eq(pipe(pfd), 0);
        pid_t pid = fork();
        cr_assert_geq(pid, 0);
        if (pid == 0) {
            close(pfd[0]);
            writer(pfd[1], (uint64_t)round);
        }
        close(pfd[1]);
        usleep((useconds_t)fl_rng_below(&rng, 40000));
        kill(pid, SIGKILL);
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status), "the writer failed on its own (exit %d)",
                  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        uint64_t v;
        while (read(pfd[0], &v, sizeof v) == sizeof v)
            acked = v > acked ? v : acked;
        close(pfd[0]);

        struct io_log log;
        struct io_log_recovery rec;
        open_log(&log, &rec);
        uint64_t first = io_log_first_index(&log), last = io_log_last_index(&log);
        cr_assert_geq(last, acked, "round %d: acknowledged %" PRIu64 ", recovered %" PRIu64, round,
                      acked, last);
        if (last > 0)
            check_range(&log, first, last, 0);
        io_log_close(&log);
    }
}
