/* test_meta.c - Raft hard state files (node/io/meta.h): round trip, atomic replace, refusals. */
#include "common/error.h"
#include "node/io/meta.h"
#include "tests/unit/node/io/storage_test.h"

#include <criterion/criterion.h>
#include <string.h>

static char dir[64];
static char path[128];
static char err[FL_ERRMSG_SIZE];

static void setup(void)
{
    st_mkdtemp(dir);
    snprintf(path, sizeof path, "%s/meta", dir);
    err[0] = '\0';
}

static void teardown(void)
{
    st_rmtree(dir);
}

TestSuite(io_meta, .init = setup, .fini = teardown);

Test(io_meta, missing_file_is_a_fresh_server)
{
    struct io_meta m = {.term = 9, .vote = 9};
    bool found = true;
    cr_assert_eq(io_meta_load(dir, &m, &found, err), 0, "%s", err);
    cr_assert_not(found);
    cr_assert_eq(m.term, 0);
    cr_assert_eq(m.vote, 0);
}

Test(io_meta, save_then_load_round_trips)
{
    struct io_meta m = {.term = 7, .vote = 3}, got;
    bool found;
    cr_assert_eq(io_meta_save(dir, &m, err), 0, "%s", err);
    cr_assert_eq(st_file_size(path), IO_META_BYTES);
    cr_assert_eq(io_meta_load(dir, &got, &found, err), 0, "%s", err);
    cr_assert(found);
    cr_assert_eq(got.term, 7);
    cr_assert_eq(got.vote, 3);
}

Test(io_meta, save_replaces_atomically_and_leaves_no_temp_file)
{
    struct io_meta a = {.term = 1, .vote = 1}, b = {.term = 2, .vote = 0}, got;
    cr_assert_eq(io_meta_save(dir, &a, err), 0, "%s", err);
    cr_assert_eq(io_meta_save(dir, &b, err), 0, "%s", err);
    cr_assert_eq(st_count(dir, "meta.tmp"), 0);
    cr_assert_eq(io_meta_load(dir, &got, NULL, err), 0, "%s", err);
    cr_assert_eq(got.term, 2);
    cr_assert_eq(got.vote, 0);
}

Test(io_meta, torn_temp_file_is_ignored)
{
    struct io_meta a = {.term = 5, .vote = 2}, got;
    cr_assert_eq(io_meta_save(dir, &a, err), 0, "%s", err);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s/meta.tmp", dir);
    st_write_file(tmp, "FLMETA01\x09", 9); /* a save interrupted before its rename */
    cr_assert_eq(io_meta_load(dir, &got, NULL, err), 0, "%s", err);
    cr_assert_eq(got.term, 5);
    cr_assert_eq(got.vote, 2);
    struct io_meta b = {.term = 6, .vote = 1};
    cr_assert_eq(io_meta_save(dir, &b, err), 0, "%s", err);
    cr_assert_eq(io_meta_load(dir, &got, NULL, err), 0, "%s", err);
    cr_assert_eq(got.term, 6);
}

Test(io_meta, flipped_byte_is_detected)
{
    struct io_meta a = {.term = 5, .vote = 2}, got;
    cr_assert_eq(io_meta_save(dir, &a, err), 0, "%s", err);
    st_flip(path, 9, 0x04); /* inside the term */
    int rc = io_meta_load(dir, &got, NULL, err);
    cr_assert_eq(rc, FL_EPARSE);
    cr_assert(strstr(err, "crc mismatch") != NULL, "%s", err);
    cr_assert(strstr(err, path) != NULL, "message names the file: %s", err);
    cr_assert_eq(got.term, 0, "nothing half-loaded");
}

Test(io_meta, short_file_is_refused)
{
    struct io_meta a = {.term = 5, .vote = 2}, got;
    cr_assert_eq(io_meta_save(dir, &a, err), 0, "%s", err);
    st_truncate(path, 20);
    cr_assert_eq(io_meta_load(dir, &got, NULL, err), FL_EPARSE);
    cr_assert(strstr(err, "20 bytes where 32 were expected") != NULL, "%s", err);
}

Test(io_meta, wrong_magic_is_refused)
{
    st_write_file(path, "0123456789abcdef0123456789abcdef", 32);
    struct io_meta got;
    cr_assert_eq(io_meta_load(dir, &got, NULL, err), FL_EPARSE);
    cr_assert(strstr(err, "bad magic") != NULL, "%s", err);
}

Test(io_meta, save_into_a_missing_directory_fails_cleanly)
{
    char missing[128];
    snprintf(missing, sizeof missing, "%s/nope", dir);
    struct io_meta a = {.term = 1, .vote = 1};
    int rc = io_meta_save(missing, &a, err);
    cr_assert_lt(rc, 0);
    cr_assert(strstr(err, missing) != NULL, "%s", err);
}
