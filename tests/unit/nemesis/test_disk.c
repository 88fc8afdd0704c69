/* test_disk.c - the disk-fault filesystem through a real FUSE mount (`faultline fs`), one test
 * per fault kind: what a file looks like to a program after the fault. Needs root and /dev/fuse. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "nemesis/disk.h"

static char base[64], mnt[96], work[96];
static struct nemesis_disk d;

static bool mounted(void)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    cr_assert_not_null(f);
    char line[4096];
    bool found = false;
    while (fgets(line, sizeof line, f) != NULL)
        found |= strstr(line, mnt) != NULL;
    fclose(f);
    return found;
}

static void setup(void)
{
    snprintf(base, sizeof base, "/tmp/fltest-disk-XXXXXX");
    cr_assert_not_null(mkdtemp(base));
    snprintf(mnt, sizeof mnt, "%s/data", base);
    snprintf(work, sizeof work, "%s/disk", base);
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_disk_mount(&d, FL_BINARY_DIR "/harness/faultline", mnt, work, NULL, NULL,
                                    err),
                 0, "%s", err);
    cr_assert(mounted());
}

static void teardown(void)
{
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_disk_unmount(&d, err), 0, "%s", err);
    cr_assert(!mounted(), "the mount is gone after unmount");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", base);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(nemesis_disk, .init = setup, .fini = teardown, .timeout = 60);

static void put(const char *name, const char *text, bool sync_file, bool sync_dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", mnt, name);
    int fd = open(path, O_CREAT | O_WRONLY | O_APPEND, 0644);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    if (sync_file)
        cr_assert_eq(fdatasync(fd), 0);
    close(fd);
    if (sync_dir) {
        int dfd = open(mnt, O_RDONLY | O_DIRECTORY);
        cr_assert_geq(dfd, 0);
        cr_assert_eq(fsync(dfd), 0);
        close(dfd);
    }
}

/* The file's content as a program sees it through the mount ("" and false when absent). */
static bool get(const char *name, char *buf, size_t size)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", mnt, name);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    return true;
}

static void command(const char *cmd, char *reply, size_t size)
{
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_disk_command(&d, cmd, reply, size, err), 0, "%s", err);
}

Test(nemesis_disk, lose_unsynced_drops_unsynced_writes_and_keeps_synced_ones)
{
    put("log", "synced;", true, true);
    put("log", "unsynced;", false, false);
    char buf[64], reply[512];
    cr_assert(get("log", buf, sizeof buf));
    cr_assert_str_eq(buf, "synced;unsynced;");
    command("lose", reply, sizeof reply);
    cr_assert(get("log", buf, sizeof buf));
    cr_assert_str_eq(buf, "synced;", "after %s", reply);
}

Test(nemesis_disk, lose_unsynced_undoes_a_rename_without_directory_fsync)
{
    put("meta", "v1", true, true);
    put("meta.tmp", "v2", true, false);
    char from[256], to[256], buf[64], reply[512];
    snprintf(from, sizeof from, "%s/meta.tmp", mnt);
    snprintf(to, sizeof to, "%s/meta", mnt);
    cr_assert_eq(rename(from, to), 0);
    cr_assert(get("meta", buf, sizeof buf));
    cr_assert_str_eq(buf, "v2");
    command("lose", reply, sizeof reply);
    cr_assert(get("meta", buf, sizeof buf));
    cr_assert_str_eq(buf, "v1", "the rename was never made durable");
    cr_assert(!get("meta.tmp", buf, sizeof buf), "meta.tmp's create was not durable either");
}

Test(nemesis_disk, torn_write_keeps_part_of_the_last_write)
{
    put("wal", "", true, true);
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    put("wal", big, false, false);
    char reply[512];
    command("torn 3", reply, sizeof reply);
    char path[256];
    snprintf(path, sizeof path, "%s/wal", mnt);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_gt(st.st_size, 0, "%s", reply);
    cr_assert_lt(st.st_size, (off_t)sizeof big - 1, "%s", reply);
    cr_assert_eq(st.st_size % 512, 0, "cut at a sector boundary: %s", reply);
    char buf[5000];
    cr_assert(get("wal", buf, sizeof buf));
    cr_assert_eq(strspn(buf, "x"), (size_t)st.st_size, "the kept part is the write's own prefix");
}

Test(nemesis_disk, fsync_error_fails_fsync_until_healed)
{
    char path[256], reply[512];
    snprintf(path, sizeof path, "%s/f", mnt);
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "a", 1), 1);
    command("fsync-error on", reply, sizeof reply);
    errno = 0;
    cr_assert_eq(fsync(fd), -1);
    cr_assert_eq(errno, EIO);
    command("fsync-error off", reply, sizeof reply);
    cr_assert_eq(fsync(fd), 0);
    close(fd);
}

/* An fsync that failed with EIO made nothing durable: a power loss afterwards forgets the
 * write, even though the errors were switched off before it. */
Test(nemesis_disk, a_write_whose_fsync_failed_is_gone_after_a_loss)
{
    put("log", "durable;", true, true);
    char path[256], buf[64], reply[512];
    snprintf(path, sizeof path, "%s/log", mnt);
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "failed;", 7), 7);
    command("fsync-error on", reply, sizeof reply);
    cr_assert_eq(fdatasync(fd), -1);
    command("fsync-error off", reply, sizeof reply);
    close(fd);
    cr_assert(get("log", buf, sizeof buf));
    cr_assert_str_eq(buf, "durable;failed;");
    command("lose", reply, sizeof reply);
    cr_assert(get("log", buf, sizeof buf));
    cr_assert_str_eq(buf, "durable;", "after %s", reply);
}

Test(nemesis_disk, bitflip_changes_one_bit_of_the_newest_file)
{
    put("a", "0000000000", true, true);
    char buf[64], what[256];
    cr_assert_eq(nemesis_disk_damage(&d, true, 5, what, sizeof what), 0);
    cr_assert(get("a", buf, sizeof buf));
    int diff = 0;
    for (int i = 0; i < 10; i++)
        diff += __builtin_popcount((unsigned)(buf[i] ^ '0'));
    cr_assert_eq(diff, 1, "%s: %s", what, buf);
}

Test(nemesis_disk, truncate_cuts_the_newest_file)
{
    put("a", "0123456789", true, true);
    char buf[64], what[256];
    cr_assert_eq(nemesis_disk_damage(&d, false, 5, what, sizeof what), 0);
    cr_assert(get("a", buf, sizeof buf));
    cr_assert_lt(strlen(buf), 10, "%s", what);
    cr_assert_eq(strncmp(buf, "0123456789", strlen(buf)), 0);
}

/* `faultline fs-ctl`, what a host runs for a disk on it (nemesis_disk_mount_remote): one
 * command per call, the answer's "ok" as the exit status; damage of the backing directory. */
static int ctl(char *a1, char *a2, char *a3, char *a4)
{
    char *argv[] = {"fs-ctl", a1, a2, a3, a4, NULL};
    int argc = 1;
    while (argv[argc] != NULL)
        argc++;
    return nemesis_disk_ctl_main(argc, argv);
}

Test(nemesis_disk, fs_ctl_commands_the_daemon_and_damages_a_stopped_disk)
{
    cr_assert_eq(ctl(d.ctl, "ping", NULL, NULL), 0);
    cr_assert_eq(ctl("--wait", "200", d.ctl, "ping"), 0);
    cr_assert_eq(ctl(d.ctl, "no-such-command", NULL, NULL), 1, "a refused command fails");
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none", base);
    cr_assert_eq(ctl("--wait", "50", missing, "ping"), 1, "no daemon: fails after the wait");
    cr_assert_eq(ctl("--wait", "x", d.ctl, "ping"), 3);
    cr_assert_eq(ctl("--damage", "melt", "1", d.backing), 3);
    cr_assert_eq(ctl("--corrupt-tail", "-1", "1", mnt), 3);
    /* An unsynced write is lost through fs-ctl as through nemesis_disk_command. */
    put("a", "0123456789", true, true);
    put("a", "abc", false, false);
    cr_assert_eq(ctl(d.ctl, "lose", NULL, NULL), 0);
    char buf[64];
    cr_assert(get("a", buf, sizeof buf));
    cr_assert_str_eq(buf, "0123456789");
    cr_assert_eq(ctl("--damage", "cut", "5", d.backing), 0);
    cr_assert(get("a", buf, sizeof buf));
    cr_assert_lt(strlen(buf), 10);
    /* corrupt-tail: the newest log segment loses 1..64 bytes (count 0 cuts). */
    char dir[300], seg[320];
    snprintf(dir, sizeof dir, "%s/log", d.backing);
    cr_assert_eq(mkdir(dir, 0755), 0);
    snprintf(seg, sizeof seg, "%s/seg-00000000000000000001.log", dir);
    FILE *f = fopen(seg, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 100; i++)
        fputc('x', f);
    fclose(f);
    cr_assert_eq(ctl("--corrupt-tail", "0", "7", d.backing), 0);
    struct stat st;
    cr_assert_eq(stat(seg, &st), 0);
    cr_assert(st.st_size < 100 && st.st_size >= 36, "size %lld", (long long)st.st_size);
}
