/* test_lazyfs.c - the disk faults' undo log on a plain directory: what a power loss forgets
 * (unsynced data, creates, renames, unlinks) and what it keeps (what was fsynced). */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "nemesis/lazyfs.h"

static char base[64], backing[96], stash[96];
static struct nemesis_lazyfs l;

static void setup(void)
{
    snprintf(base, sizeof base, "/tmp/fltest-lazyfs-XXXXXX");
    cr_assert_not_null(mkdtemp(base));
    snprintf(backing, sizeof backing, "%s/b", base);
    snprintf(stash, sizeof stash, "%s/s", base);
    cr_assert_eq(mkdir(backing, 0700), 0);
    cr_assert_eq(mkdir(stash, 0700), 0);
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_lazyfs_init(&l, backing, stash, err), 0, "%s", err);
}

static void teardown(void)
{
    nemesis_lazyfs_close(&l);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(nemesis_lazyfs, .init = setup, .fini = teardown);

/* Creates path with `text`, fsyncs it and its directory: durable from here on
 * (when its directory's own entry is). */
static void durable_file(const char *path, const char *text)
{
    char dir[128];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    int fd = nemesis_lazyfs_open(&l, path, O_CREAT | O_WRONLY, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(nemesis_lazyfs_write(&l, fd, text, strlen(text), 0), (ssize_t)strlen(text));
    cr_assert_eq(nemesis_lazyfs_fsync(&l, fd, false), 0);
    close(fd);
    cr_assert_eq(nemesis_lazyfs_fsyncdir(&l, dir), 0);
}

/* The backing file's content ("" when absent: *exists false). */
static void content(const char *path, char *buf, size_t size, bool *exists)
{
    char full[256];
    snprintf(full, sizeof full, "%s/%s", backing, path);
    FILE *f = fopen(full, "r");
    *exists = f != NULL;
    buf[0] = '\0';
    if (f == NULL)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void lose(struct nemesis_lazyfs_stats *st)
{
    nemesis_lazyfs_lose(&l, false, 0, st);
    cr_assert_eq(st->failed, 0, "undo steps failed: %u", st->failed);
}

Test(nemesis_lazyfs, unsynced_write_is_gone_after_a_loss)
{
    durable_file("f", "hello");
    int fd = nemesis_lazyfs_open(&l, "f", O_WRONLY, 0);
    cr_assert_eq(nemesis_lazyfs_write(&l, fd, "J", 1, 0), 1);         /* overwrite */
    cr_assert_eq(nemesis_lazyfs_write(&l, fd, " world", 6, 5), 6);    /* append */
    close(fd);
    char buf[64];
    bool ex;
    content("f", buf, sizeof buf, &ex);
    cr_assert_str_eq(buf, "Jello world"); /* passed through at once */
    struct nemesis_lazyfs_stats st;
    lose(&st);
    content("f", buf, sizeof buf, &ex);
    cr_assert_str_eq(buf, "hello");
    cr_assert_eq(st.files, 1);
}

Test(nemesis_lazyfs, fsynced_write_is_kept_after_a_loss)
{
    durable_file("f", "hello");
    int fd = nemesis_lazyfs_open(&l, "f", O_WRONLY, 0);
    cr_assert_eq(nemesis_lazyfs_write(&l, fd, " world", 6, 5), 6);
    cr_assert_eq(nemesis_lazyfs_fsync(&l, fd, true), 0); /* fdatasync counts */
    close(fd);
    struct nemesis_lazyfs_stats st;
    lose(&st);
    char buf[64];
    bool ex;
    content("f", buf, sizeof buf, &ex);
    cr_assert_str_eq(buf, "hello world");
}

Test(nemesis_lazyfs, truncate_is_undone)
{
    durable_file("f", "hello world");
    cr_assert_eq(nemesis_lazyfs_truncate(&l, "f", 2), 0);
    struct nemesis_lazyfs_stats st;
    lose(&st);
    char buf[64];
    bool ex;
    content("f", buf, sizeof buf, &ex);
    cr_assert_str_eq(buf, "hello world");
}

Test(nemesis_lazyfs, create_without_directory_fsync_is_undone)
{
    int fd = nemesis_lazyfs_open(&l, "new", O_CREAT | O_WRONLY, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(nemesis_lazyfs_write(&l, fd, "x", 1, 0), 1);
    cr_assert_eq(nemesis_lazyfs_fsync(&l, fd, false), 0); /* the file, not its directory */
    close(fd);
    struct nemesis_lazyfs_stats st;
    lose(&st);
    char buf[8];
    bool ex;
    content("new", buf, sizeof buf, &ex);
    cr_assert(!ex, "a create whose directory was not fsynced must be undone");
    cr_assert_eq(st.entries, 1);
}

Test(nemesis_lazyfs, create_with_directory_fsync_is_kept)
{
    cr_assert_eq(nemesis_lazyfs_mkdir(&l, "d", 0755), 0);
    cr_assert_eq(nemesis_lazyfs_fsyncdir(&l, "."), 0);
    int fd = nemesis_lazyfs_open(&l, "d/new", O_CREAT | O_WRONLY, 0644);
    cr_assert_eq(nemesis_lazyfs_write(&l, fd, "x", 1, 0), 1);
    cr_assert_eq(nemesis_lazyfs_fsync(&l, fd, false), 0);
    close(fd);
    cr_assert_eq(nemesis_lazyfs_fsyncdir(&l, "d"), 0);
    struct nemesis_lazyfs_stats st;
    lose(&st);
    char buf[8];
    bool ex;
    content("d/new", buf, sizeof buf, &ex);
    cr_assert(ex);
    cr_assert_str_eq(buf, "x");
}

Test(nemesis_lazyfs, rename_without_directory_fsync_is_undone)
{
    durable_file("meta", "old");
    durable_file("meta.tmp", "new");
    cr_assert_eq(nemesis_lazyfs_rename(&l, "meta.tmp", "meta", 0), 0); /* replaces meta */
    char buf[16];
    bool ex;
    content("meta", buf, sizeof buf, &ex);
    cr_assert_str_eq(buf, "new");
    struct nemesis_lazyfs_stats st;
    lose(&st);
    content("meta", buf, sizeof buf, &ex);
    cr_assert_str_eq(buf, "old");
    content("meta.tmp", buf, sizeof buf, &ex);
    cr_assert_str_eq(buf, "new");
}

Test(nemesis_lazyfs, rename_with_directory_fsync_is_kept)
{
    durable_file("meta", "old");
    durable_file("meta.tmp", "new");
    cr_assert_eq(nemesis_lazyfs_rename(&l, "meta.tmp", "meta", 0), 0);
    cr_assert_eq(nemesis_lazyfs_fsyncdir(&l, "."), 0);
    struct nemesis_lazyfs_stats st;
    lose(&st);
    char buf[16];
    bool ex;
    content("meta", buf, sizeof buf, &ex);
    cr_assert_str_eq(buf, "new");
    content("meta.tmp", buf, sizeof buf, &ex);
    cr_assert(!ex);
}

Test(nemesis_lazyfs, unlink_without_directory_fsync_is_undone)
{
    durable_file("seg", "entries");
    cr_assert_eq(nemesis_lazyfs_unlink(&l, "seg"), 0);
    char buf[16];
    bool ex;
    content("seg", buf, sizeof buf, &ex);
    cr_assert(!ex);
    struct nemesis_lazyfs_stats st;
    lose(&st);
    content("seg", buf, sizeof buf, &ex);
    cr_assert(ex);
    cr_assert_str_eq(buf, "entries");
}

Test(nemesis_lazyfs, torn_write_keeps_a_sector_aligned_prefix)
{
    durable_file("wal", "");
    char data[3000];
    memset(data, 'w', sizeof data);
    int fd = nemesis_lazyfs_open(&l, "wal", O_WRONLY, 0);
    cr_assert_eq(nemesis_lazyfs_write(&l, fd, data, 100, 0), 100);
    cr_assert_eq(nemesis_lazyfs_write(&l, fd, data, sizeof data, 100), (ssize_t)sizeof data);
    close(fd);
    struct nemesis_lazyfs_stats st;
    nemesis_lazyfs_lose(&l, true, 42, &st);
    cr_assert_eq(st.torn_len, sizeof data);
    /* The first write is lost; the last one kept up to a sector boundary inside it. */
    cr_assert_gt(st.torn_kept, 0);
    cr_assert_lt(st.torn_kept, sizeof data);
    cr_assert_eq((100 + st.torn_kept) % NEMESIS_LAZYFS_SECTOR, 0);
    char path[256];
    snprintf(path, sizeof path, "%s/wal", backing);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq((uint64_t)sb.st_size, 100 + st.torn_kept);
    char buf[4096];
    bool ex;
    content("wal", buf, sizeof buf, &ex);
    cr_assert_eq(buf[0], '\0', "the bytes before the torn write were never written");
    cr_assert_eq(buf[100], 'w');
}

Test(nemesis_lazyfs, fsync_error_syncs_nothing)
{
    durable_file("f", "a");
    int fd = nemesis_lazyfs_open(&l, "f", O_WRONLY, 0);
    cr_assert_eq(nemesis_lazyfs_write(&l, fd, "b", 1, 1), 1);
    l.fsync_error = true;
    cr_assert_eq(nemesis_lazyfs_fsync(&l, fd, false), -EIO);
    cr_assert_eq(nemesis_lazyfs_fsyncdir(&l, "."), -EIO);
    l.fsync_error = false;
    close(fd);
    struct nemesis_lazyfs_stats st;
    lose(&st);
    char buf[8];
    bool ex;
    content("f", buf, sizeof buf, &ex);
    cr_assert_str_eq(buf, "a", "a failed fsync made nothing durable");
}

Test(nemesis_lazyfs, mkdir_without_directory_fsync_takes_its_contents)
{
    cr_assert_eq(nemesis_lazyfs_mkdir(&l, "member", 0700), 0);
    durable_file("member/x", "1"); /* x is durable in member, member is not in "." */
    struct nemesis_lazyfs_stats st;
    lose(&st);
    char path[256];
    snprintf(path, sizeof path, "%s/member", backing);
    cr_assert_neq(access(path, F_OK), 0, "member's entry was never made durable");
    cr_assert_eq(nemesis_lazyfs_mkdir(&l, "member", 0700), 0);
    cr_assert_eq(nemesis_lazyfs_fsyncdir(&l, "."), 0);
    durable_file("member/x", "1");
    cr_assert_eq(nemesis_lazyfs_mkdir(&l, "member/wal", 0700), 0);
    lose(&st);
    snprintf(path, sizeof path, "%s/member/x", backing);
    cr_assert_eq(access(path, F_OK), 0, "member and x were made durable");
    snprintf(path, sizeof path, "%s/member/wal", backing);
    cr_assert_neq(access(path, F_OK), 0, "member/wal was not");
}

Test(nemesis_lazyfs, sync_all_makes_everything_durable)
{
    int fd = nemesis_lazyfs_open(&l, "boot", O_CREAT | O_WRONLY, 0644);
    cr_assert_eq(nemesis_lazyfs_write(&l, fd, "id", 2, 0), 2);
    close(fd);
    nemesis_lazyfs_sync_all(&l);
    unsigned files, entries;
    uint64_t bytes;
    nemesis_lazyfs_pending(&l, &files, &bytes, &entries);
    cr_assert_eq(files + entries, 0);
    struct nemesis_lazyfs_stats st;
    lose(&st);
    char buf[8];
    bool ex;
    content("boot", buf, sizeof buf, &ex);
    cr_assert_str_eq(buf, "id");
}
