/* test_snapfile.c - snapshot files (node/io/snapfile.h): round trip, newest wins, pruning, torn
 * temp files and damaged files skipped. */
#include "common/alloc.h"
#include "common/error.h"
#include "node/io/snapfile.h"
#include "tests/unit/node/io/storage_test.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

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

TestSuite(io_snapfile, .init = setup, .fini = teardown);

static const char *snap_path(uint64_t index)
{
    static char p[160];
    snprintf(p, sizeof p, "%s/snap-%020" PRIu64 ".snap", dir, index);
    return p;
}

/* Writes a snapshot at `index` whose data is the text "state@<index>". */
static void write_snap(uint64_t index, uint64_t term)
{
    char text[64];
    snprintf(text, sizeof text, "state@%" PRIu64, index);
    struct io_snapfile s = {
        .index = index,
        .term = term,
        .conf_index = index / 2,
        .conf = {.n = 3, .servers = {{1, RAFT_VOTER}, {2, RAFT_VOTER}, {3, RAFT_PASSIVE}}},
        .data = raft_buf_new(text, strlen(text))};
    cr_assert_not_null(s.data);
    int rc = io_snapfile_write(dir, &s, err);
    raft_buf_unref(s.data);
    cr_assert_eq(rc, 0, "write %" PRIu64 ": %s", index, err);
}

static void assert_snap(const struct io_snapfile *s, uint64_t index, uint64_t term)
{
    char text[64];
    snprintf(text, sizeof text, "state@%" PRIu64, index);
    cr_assert_eq(s->index, index);
    cr_assert_eq(s->term, term);
    cr_assert_eq(s->conf_index, index / 2);
    cr_assert_eq(s->conf.n, 3);
    cr_assert_eq(s->conf.servers[2].id, 3);
    cr_assert_eq(s->conf.servers[2].role, RAFT_PASSIVE);
    cr_assert_not_null(s->data);
    cr_assert_eq(s->data->len, strlen(text));
    cr_assert_eq(memcmp(s->data->data, text, strlen(text)), 0);
}

Test(io_snapfile, none_is_not_an_error)
{
    struct io_snapfile s;
    bool found = true;
    cr_assert_eq(io_snapfile_load(dir, 0, &s, &found, NULL, err), 0, "%s", err);
    cr_assert_not(found);
    cr_assert_null(s.data);
}

Test(io_snapfile, write_then_load_round_trips)
{
    write_snap(40, 3);
    struct io_snapfile s;
    bool found;
    struct io_snapfile_report rep;
    cr_assert_eq(io_snapfile_load(dir, 0, &s, &found, &rep, err), 0, "%s", err);
    cr_assert(found);
    cr_assert_eq(rep.skipped, 0);
    assert_snap(&s, 40, 3);
    io_snapfile_release(&s);
}

Test(io_snapfile, empty_data_round_trips)
{
    struct io_snapfile w = {.index = 1, .term = 1, .conf = {.n = 1, .servers = {{1, RAFT_VOTER}}}};
    cr_assert_eq(io_snapfile_write(dir, &w, err), 0, "%s", err);
    struct io_snapfile s;
    cr_assert_eq(io_snapfile_load(dir, 0, &s, NULL, NULL, err), 0, "%s", err);
    cr_assert_not_null(s.data);
    cr_assert_eq(s.data->len, 0);
    io_snapfile_release(&s);
}

Test(io_snapfile, newest_wins_and_older_ones_are_deleted)
{
    write_snap(10, 1);
    write_snap(25, 2);
    cr_assert_eq(st_count(dir, "snap-"), 1, "the older snapshot was deleted");
    write_snap(60, 4);
    cr_assert_eq(st_count(dir, "snap-"), 1);
    struct io_snapfile s;
    cr_assert_eq(io_snapfile_load(dir, 0, &s, NULL, NULL, err), 0, "%s", err);
    assert_snap(&s, 60, 4);
    io_snapfile_release(&s);
}

Test(io_snapfile, torn_temp_file_is_ignored_and_pruned)
{
    write_snap(10, 1);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", snap_path(20));
    st_write_file(tmp, "FLSNAP01 torn", 13); /* a write interrupted before its rename */
    struct io_snapfile s;
    struct io_snapfile_report rep;
    cr_assert_eq(io_snapfile_load(dir, 0, &s, NULL, &rep, err), 0, "%s", err);
    assert_snap(&s, 10, 1);
    cr_assert_eq(rep.tmp_ignored, 1);
    cr_assert_eq(rep.skipped, 0);
    io_snapfile_release(&s);
    write_snap(30, 2);
    cr_assert_neq(access(tmp, F_OK), 0, "the next write removes the torn temp file");
}

Test(io_snapfile, damaged_newest_falls_back_to_an_older_valid_one)
{
    write_snap(10, 1);
    /* Simulate a crash between the rename of 20 and the pruning of 10, then damage 20. */
    char keep[160];
    snprintf(keep, sizeof keep, "%s.keep", snap_path(10));
    cr_assert_eq(link(snap_path(10), keep), 0);
    write_snap(20, 2);
    cr_assert_eq(rename(keep, snap_path(10)), 0);
    st_flip(snap_path(20), IO_SNAPFILE_HEADER + 30, 0x20); /* inside the data */
    struct io_snapfile s;
    struct io_snapfile_report rep;
    bool found;
    cr_assert_eq(io_snapfile_load(dir, 0, &s, &found, &rep, err), 0, "%s", err);
    cr_assert(found);
    assert_snap(&s, 10, 1);
    cr_assert_eq(rep.skipped, 1);
    cr_assert(strstr(rep.first_skip, "snap-00000000000000000020.snap: crc mismatch") != NULL, "%s",
              rep.first_skip);
    io_snapfile_release(&s);
}

Test(io_snapfile, truncated_file_is_skipped)
{
    write_snap(10, 1);
    st_truncate(snap_path(10), st_file_size(snap_path(10)) - 3);
    struct io_snapfile s;
    struct io_snapfile_report rep;
    bool found;
    cr_assert_eq(io_snapfile_load(dir, 0, &s, &found, &rep, err), 0, "%s", err);
    cr_assert_not(found);
    cr_assert_eq(rep.skipped, 1);
    cr_assert(strstr(rep.first_skip, "but the header says") != NULL, "%s", rep.first_skip);
}

Test(io_snapfile, data_over_the_limit_is_refused)
{
    write_snap(10, 1); /* "state@10": 8 bytes */
    struct io_snapfile s;
    struct io_snapfile_report rep;
    bool found;
    cr_assert_eq(io_snapfile_load(dir, 4, &s, &found, &rep, err), 0, "%s", err);
    cr_assert_not(found);
    cr_assert(strstr(rep.first_skip, "data length 8 exceeds max_bytes 4") != NULL, "%s",
              rep.first_skip);
}

Test(io_snapfile, bad_arguments_are_refused)
{
    struct io_snapfile w = {.index = 5, .term = 1, .conf_index = 6};
    cr_assert_eq(io_snapfile_write(dir, &w, err), FL_EUSAGE);
    cr_assert(strstr(err, "conf_index <= index") != NULL, "%s", err);
    cr_assert_eq(st_count(dir, "snap-"), 0);
}

Test(io_snapfile, prune_keeps_the_given_index_and_newer)
{
    write_snap(10, 1);
    char keep[160];
    snprintf(keep, sizeof keep, "%s.keep", snap_path(10));
    cr_assert_eq(link(snap_path(10), keep), 0);
    write_snap(20, 2);
    cr_assert_eq(rename(keep, snap_path(10)), 0);
    cr_assert_eq(st_count(dir, "snap-"), 2);
    cr_assert_eq(io_snapfile_prune(dir, 20, err), 0, "%s", err);
    cr_assert_eq(st_count(dir, "snap-"), 1);
    cr_assert_eq(access(snap_path(20), F_OK), 0);
}

Test(io_snapfile, allocation_failures_are_reported_not_crashed)
{
    write_snap(10, 1);
    long n = 0;
    for (;; n++) {
        struct io_snapfile s;
        fl_alloc_fail_after(n);
        int rc = io_snapfile_load(dir, 0, &s, NULL, NULL, err);
        fl_alloc_fail_reset();
        if (rc == 0) {
            assert_snap(&s, 10, 1);
            io_snapfile_release(&s);
            break;
        }
        cr_assert_eq(rc, FL_ENOMEM, "%s", err);
        cr_assert_null(s.data);
    }
    cr_assert_gt(n, 0);
    struct io_snapfile w = {.index = 11, .term = 1, .conf = {.n = 1, .servers = {{1, RAFT_VOTER}}}};
    fl_alloc_fail_after(0);
    int rc = io_snapfile_write(dir, &w, err);
    fl_alloc_fail_reset();
    cr_assert_eq(rc, FL_ENOMEM, "%s", err);
    cr_assert_eq(st_count(dir, "snap-"), 1, "the old snapshot is untouched");
}
