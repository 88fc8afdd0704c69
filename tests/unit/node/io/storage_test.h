/* storage_test.h - helpers for the durable-storage tests (log, meta, snapfile): a
 * temporary directory per test, its size in bytes, and byte surgery on files. */
#ifndef FL_STORAGE_TEST_H
#define FL_STORAGE_TEST_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates a fresh directory under /tmp; the path is written into `out` (64 bytes). */
static inline void st_mkdtemp(char *out)
{
    snprintf(out, 64, "/tmp/fl-storage-XXXXXX");
    cr_assert_not_null(mkdtemp(out), "mkdtemp");
}

static inline int st_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes a directory tree. */
static inline void st_rmtree(const char *dir)
{
    nftw(dir, st_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Sum of the sizes of the regular files in `dir`. */
static inline uint64_t st_dir_bytes(const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "opendir %s", dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char p[512];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

/* Number of entries in `dir` whose name starts with `prefix`. */
static inline int st_count(const char *dir, const char *prefix)
{
    int n = 0;
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "opendir %s", dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

static inline uint64_t st_file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "stat %s", path);
    return (uint64_t)st.st_size;
}

/* XORs the byte at `off` of `path` with `mask`. */
static inline void st_flip(const char *path, uint64_t off, unsigned char mask)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0, "open %s", path);
    unsigned char b;
    cr_assert_eq(pread(fd, &b, 1, (off_t)off), 1);
    b ^= mask;
    cr_assert_eq(pwrite(fd, &b, 1, (off_t)off), 1);
    close(fd);
}

/* Overwrites 4 bytes at `off` with `v`, little-endian. */
static inline void st_put32(const char *path, uint64_t off, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0, "open %s", path);
    cr_assert_eq(pwrite(fd, b, 4, (off_t)off), 4);
    close(fd);
}

static inline void st_truncate(const char *path, uint64_t size)
{
    cr_assert_eq(truncate(path, (off_t)size), 0, "truncate %s", path);
}

static inline void st_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0, "create %s", path);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

#endif
