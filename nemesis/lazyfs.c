/* lazyfs.c - the undo log behind the disk faults: pre-images of unsynced blocks, unsynced
 * directory changes, and the power loss that puts them back (nemesis/lazyfs.h). */
#include "nemesis/lazyfs.h"

#include "common/alloc.h"
#include "common/error.h"
#include "common/rng.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== Set-up ==== */

int nemesis_lazyfs_init(struct nemesis_lazyfs *l, const char *backing, const char *stash,
                        char *errmsg)
{
    memset(l, 0, sizeof *l);
    l->root = open(backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->root < 0)
        return fl_errorf(errmsg, -errno, "%s: %s", backing, strerror(errno));
    l->stash = open(stash, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->stash < 0) {
        int rc = -errno;
        close(l->root);
        return fl_errorf(errmsg, rc, "%s: %s", stash, strerror(-rc));
    }
    struct stat a, b;
    if (fstat(l->root, &a) != 0 || fstat(l->stash, &b) != 0 || a.st_dev != b.st_dev) {
        close(l->root);
        close(l->stash);
        return fl_errorf(errmsg, -EXDEV, "%s and %s must be on one filesystem", backing, stash);
    }
    l->next_stash = 1;
    return 0;
}

static void file_free(struct nemesis_lazyfs_file *f)
{
    for (size_t i = 0; i < f->n_blocks; i++)
        fl_free(f->blocks[i].data);
    fl_free(f->blocks);
    if (f->fd >= 0)
        close(f->fd);
}

static void entry_free(struct nemesis_lazyfs *l, struct nemesis_lazyfs_entry *e, bool drop_stash);

void nemesis_lazyfs_close(struct nemesis_lazyfs *l)
{
    for (size_t i = 0; i < l->n_files; i++)
        file_free(&l->files[i]);
    fl_free(l->files);
    for (size_t i = 0; i < l->n_entries; i++)
        entry_free(l, &l->entries[i], false);
    fl_free(l->entries);
    if (l->root >= 0)
        close(l->root);
    if (l->stash >= 0)
        close(l->stash);
    memset(l, 0, sizeof *l);
    l->root = l->stash = -1;
}

/* ==== Helpers ==== */

/* Removes path under dirfd, directories recursively. */
static int rmtree_at(int dirfd, const char *path)
{
    if (unlinkat(dirfd, path, 0) == 0)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -errno;
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -ENOMEM;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int r = rmtree_at(fd, e->d_name);
        if (r != 0 && rc == 0)
            rc = r;
    }
    closedir(d);
    if (unlinkat(dirfd, path, AT_REMOVEDIR) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

/* The parent directory of a relative path ("." for a top-level name) into buf. */
static void parent_of(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(buf, size, ".");
    else
        snprintf(buf, size, "%.*s", (int)(slash - path), path);
}

static bool same_dir(const char *path, const char *dir)
{
    char p[4096];
    parent_of(path, p, sizeof p);
    return strcmp(p, dir) == 0;
}

static void stash_name(uint64_t id, char *buf)
{
    snprintf(buf, 32, "s%llu", (unsigned long long)id);
}

static void entry_free(struct nemesis_lazyfs *l, struct nemesis_lazyfs_entry *e, bool drop_stash)
{
    if (drop_stash && e->stash != 0) {
        char name[32];
        stash_name(e->stash, name);
        rmtree_at(l->stash, name);
    }
    fl_free(e->path);
    fl_free(e->path2);
    memset(e, 0, sizeof *e);
}

static int entry_add(struct nemesis_lazyfs *l, enum nemesis_lazyfs_op op, const char *path,
                     const char *path2, uint64_t stash, mode_t mode)
{
    if (l->n_entries >= NEMESIS_LAZYFS_MAX_ENTRIES)
        return -ENOSPC;
    if (l->n_entries == l->cap_entries) {
        size_t cap = l->cap_entries ? l->cap_entries * 2 : 16;
        void *p = fl_reallocarray(l->entries, cap, sizeof *l->entries);
        if (p == NULL)
            return -ENOMEM;
        l->entries = p;
        l->cap_entries = cap;
    }
    struct nemesis_lazyfs_entry *e = &l->entries[l->n_entries];
    memset(e, 0, sizeof *e);
    e->op = op;
    e->path = fl_strdup(path);
    e->path2 = path2 ? fl_strdup(path2) : NULL;
    if (e->path == NULL || (path2 && e->path2 == NULL)) {
        fl_free(e->path);
        fl_free(e->path2);
        return -ENOMEM;
    }
    e->stash = stash;
    e->mode = mode;
    e->pending[0] = true;
    e->pending[1] = path2 != NULL;
    l->n_entries++;
    return 0;
}

static struct nemesis_lazyfs_file *file_find(struct nemesis_lazyfs *l, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < l->n_files; i++)
        if (l->files[i].dev == dev && l->files[i].ino == ino)
            return &l->files[i];
    return NULL;
}

/* The record of fd's inode, made (synced size = its size now) when missing. */
static int file_get(struct nemesis_lazyfs *l, int fd, struct nemesis_lazyfs_file **out)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    struct nemesis_lazyfs_file *f = file_find(l, st.st_dev, st.st_ino);
    if (f != NULL) {
        *out = f;
        return 0;
    }
    if (l->n_files == l->cap_files) {
        size_t cap = l->cap_files ? l->cap_files * 2 : 8;
        void *p = fl_reallocarray(l->files, cap, sizeof *l->files);
        if (p == NULL)
            return -ENOMEM;
        l->files = p;
        l->cap_files = cap;
    }
    /* Our own read-write descriptor: the caller's may be write-only or closed before a loss. */
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    int own = open(proc, O_RDWR | O_CLOEXEC);
    if (own < 0)
        return -errno;
    f = &l->files[l->n_files++];
    memset(f, 0, sizeof *f);
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->fd = own;
    f->synced_size = (uint64_t)st.st_size;
    *out = f;
    return 0;
}

/* Saves the pre-images of the blocks of [off, off+len) inside the synced size. */
static int save_range(struct nemesis_lazyfs *l, struct nemesis_lazyfs_file *f, uint64_t off,
                      uint64_t len)
{
    if (len == 0 || off >= f->synced_size)
        return 0;
    uint64_t end = off + len < f->synced_size ? off + len : f->synced_size;
    for (uint64_t b = off / NEMESIS_LAZYFS_BLOCK; b * NEMESIS_LAZYFS_BLOCK < end; b++) {
        /* Binary search for b; insert at lo when absent. */
        size_t lo = 0, hi = f->n_blocks;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (f->blocks[mid].index < b)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < f->n_blocks && f->blocks[lo].index == b)
            continue;
        uint64_t start = b * NEMESIS_LAZYFS_BLOCK;
        unsigned blen = (unsigned)(f->synced_size - start < NEMESIS_LAZYFS_BLOCK
                                       ? f->synced_size - start
                                       : NEMESIS_LAZYFS_BLOCK);
        if (l->saved_bytes + blen > NEMESIS_LAZYFS_MAX_SAVED) {
            l->untracked += blen;
            continue;
        }
        if (f->n_blocks == f->cap_blocks) {
            size_t cap = f->cap_blocks ? f->cap_blocks * 2 : 16;
            void *p = fl_reallocarray(f->blocks, cap, sizeof *f->blocks);
            if (p == NULL)
                return -ENOMEM;
            f->blocks = p;
            f->cap_blocks = cap;
        }
        unsigned char *data = fl_malloc(blen);
        if (data == NULL)
            return -ENOMEM;
        ssize_t n = pread(f->fd, data, blen, (off_t)start);
        if (n < 0) {
            int rc = -errno;
            fl_free(data);
            return rc;
        }
        if ((unsigned)n < blen) /* shorter than recorded: the rest was zeros to us */
            memset(data + n, 0, blen - (size_t)n);
        memmove(&f->blocks[lo + 1], &f->blocks[lo], (f->n_blocks - lo) * sizeof *f->blocks);
        f->blocks[lo] = (struct nemesis_lazyfs_block){.index = b, .len = blen, .data = data};
        f->n_blocks++;
        l->saved_bytes += blen;
    }
    return 0;
}

static void file_drop(struct nemesis_lazyfs *l, struct nemesis_lazyfs_file *f)
{
    for (size_t i = 0; i < f->n_blocks; i++)
        l->saved_bytes -= f->blocks[i].len;
    if (l->last_valid && l->last_dev == f->dev && l->last_ino == f->ino)
        l->last_valid = false;
    file_free(f);
    size_t i = (size_t)(f - l->files);
    l->files[i] = l->files[--l->n_files];
}

static bool exists_at(int dirfd, const char *path)
{
    struct stat st;
    return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool dir_empty(int dirfd, const char *path)
{
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* Moves path into the stash; *id receives its stash number. */
static int to_stash(struct nemesis_lazyfs *l, const char *path, uint64_t *id)
{
    char name[32];
    *id = l->next_stash++;
    stash_name(*id, name);
    return renameat(l->root, path, l->stash, name) == 0 ? 0 : -errno;
}

static int from_stash(struct nemesis_lazyfs *l, uint64_t id, const char *path)
{
    char name[32];
    stash_name(id, name);
    return renameat(l->stash, name, l->root, path) == 0 ? 0 : -errno;
}

/* ==== Operations ==== */

int nemesis_lazyfs_open(struct nemesis_lazyfs *l, const char *path, int flags, mode_t mode)
{
    bool created = false;
    if (flags & O_CREAT)
        created = !exists_at(l->root, path);
    int fd = openat(l->root, path, (flags & ~(O_APPEND | O_TRUNC)) | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (created)
        rc = entry_add(l, NEMESIS_LAZYFS_CREATE, path, NULL, 0, 0);
    if (rc == 0 && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
        rc = nemesis_lazyfs_ftruncate(l, fd, 0);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

ssize_t nemesis_lazyfs_write(struct nemesis_lazyfs *l, int fd, const void *buf, size_t len,
                             off_t off)
{
    struct nemesis_lazyfs_file *f;
    int rc = file_get(l, fd, &f);
    if (rc == 0)
        rc = save_range(l, f, (uint64_t)off, len);
    if (rc != 0)
        return rc;
    ssize_t n = pwrite(fd, buf, len, off);
    if (n < 0)
        return -errno;
    if (n > 0) {
        l->last_valid = true;
        l->last_dev = f->dev;
        l->last_ino = f->ino;
        l->last_off = (uint64_t)off;
        l->last_len = (uint64_t)n;
    }
    return n;
}

int nemesis_lazyfs_ftruncate(struct nemesis_lazyfs *l, int fd, off_t size)
{
    struct nemesis_lazyfs_file *f;
    int rc = file_get(l, fd, &f);
    if (rc == 0 && (uint64_t)size < f->synced_size)
        rc = save_range(l, f, (uint64_t)size, f->synced_size - (uint64_t)size);
    if (rc != 0)
        return rc;
    return ftruncate(fd, size) == 0 ? 0 : -errno;
}

int nemesis_lazyfs_truncate(struct nemesis_lazyfs *l, const char *path, off_t size)
{
    int fd = openat(l->root, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = nemesis_lazyfs_ftruncate(l, fd, size);
    close(fd);
    return rc;
}

int nemesis_lazyfs_fsync(struct nemesis_lazyfs *l, int fd, bool datasync)
{
    if (l->fsync_error) {
        l->fsync_errors++;
        return -EIO;
    }
    if ((datasync ? fdatasync(fd) : fsync(fd)) != 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    struct nemesis_lazyfs_file *f = file_find(l, st.st_dev, st.st_ino);
    if (f != NULL)
        file_drop(l, f);
    return 0;
}

int nemesis_lazyfs_fsyncdir(struct nemesis_lazyfs *l, const char *path)
{
    if (l->fsync_error) {
        l->fsync_errors++;
        return -EIO;
    }
    int fd = openat(l->root, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    if (rc != 0)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < l->n_entries; i++) {
        struct nemesis_lazyfs_entry *e = &l->entries[i];
        if (e->pending[0] && same_dir(e->path, path))
            e->pending[0] = false;
        if (e->pending[1] && same_dir(e->path2, path))
            e->pending[1] = false;
        if (!e->pending[0] && !e->pending[1])
            entry_free(l, e, true);
        else
            l->entries[k++] = *e;
    }
    l->n_entries = k;
    return 0;
}

int nemesis_lazyfs_mknod(struct nemesis_lazyfs *l, const char *path, mode_t mode, dev_t rdev)
{
    if (mknodat(l->root, path, mode, rdev) != 0)
        return -errno;
    return entry_add(l, NEMESIS_LAZYFS_CREATE, path, NULL, 0, 0);
}

int nemesis_lazyfs_mkdir(struct nemesis_lazyfs *l, const char *path, mode_t mode)
{
    if (mkdirat(l->root, path, mode) != 0)
        return -errno;
    return entry_add(l, NEMESIS_LAZYFS_MKDIR, path, NULL, 0, 0);
}

int nemesis_lazyfs_symlink(struct nemesis_lazyfs *l, const char *target, const char *path)
{
    if (symlinkat(target, l->root, path) != 0)
        return -errno;
    return entry_add(l, NEMESIS_LAZYFS_CREATE, path, NULL, 0, 0);
}

int nemesis_lazyfs_link(struct nemesis_lazyfs *l, const char *from, const char *to)
{
    if (linkat(l->root, from, l->root, to, 0) != 0)
        return -errno;
    return entry_add(l, NEMESIS_LAZYFS_CREATE, to, NULL, 0, 0);
}

int nemesis_lazyfs_unlink(struct nemesis_lazyfs *l, const char *path)
{
    struct stat st;
    if (fstatat(l->root, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    uint64_t id;
    int rc = to_stash(l, path, &id);
    if (rc == 0 && (rc = entry_add(l, NEMESIS_LAZYFS_UNLINK, path, NULL, id, 0)) != 0) {
        char name[32];
        stash_name(id, name);
        unlinkat(l->stash, name, 0); /* not recorded: at least unlinked */
    }
    return rc;
}

int nemesis_lazyfs_rmdir(struct nemesis_lazyfs *l, const char *path)
{
    struct stat st;
    if (fstatat(l->root, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    if (unlinkat(l->root, path, AT_REMOVEDIR) != 0)
        return -errno;
    return entry_add(l, NEMESIS_LAZYFS_RMDIR, path, NULL, 0, st.st_mode & 07777);
}

int nemesis_lazyfs_rename(struct nemesis_lazyfs *l, const char *from, const char *to,
                          unsigned flags)
{
    if (flags & ~1u) /* RENAME_NOREPLACE is 1; RENAME_EXCHANGE and others are not supported */
        return -EINVAL;
    struct stat src, dst;
    if (fstatat(l->root, from, &src, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    bool replace = fstatat(l->root, to, &dst, AT_SYMLINK_NOFOLLOW) == 0;
    if (replace && (flags & 1u))
        return -EEXIST;
    if (replace && src.st_dev == dst.st_dev && src.st_ino == dst.st_ino)
        return 0; /* rename(2): hard links to one file, nothing happens */
    if (replace && S_ISDIR(dst.st_mode) != S_ISDIR(src.st_mode))
        return S_ISDIR(dst.st_mode) ? -EISDIR : -ENOTDIR;
    uint64_t id = 0;
    int rc;
    if (replace && S_ISDIR(dst.st_mode) && !dir_empty(l->root, to))
        return -ENOTEMPTY; /* rename(2) replaces only an empty directory */
    if (replace && (rc = to_stash(l, to, &id)) != 0)
        return rc;
    if (renameat(l->root, from, l->root, to) != 0) {
        rc = -errno;
        if (id != 0)
            from_stash(l, id, to);
        return rc;
    }
    return entry_add(l, NEMESIS_LAZYFS_RENAME, from, to, id, 0);
}

/* ==== Faults ==== */

static int undo_entry(struct nemesis_lazyfs *l, const struct nemesis_lazyfs_entry *e)
{
    switch (e->op) {
    case NEMESIS_LAZYFS_CREATE:
        return unlinkat(l->root, e->path, 0) == 0 ? 0 : -errno;
    case NEMESIS_LAZYFS_MKDIR:
        return rmtree_at(l->root, e->path);
    case NEMESIS_LAZYFS_UNLINK:
        return from_stash(l, e->stash, e->path);
    case NEMESIS_LAZYFS_RMDIR:
        return mkdirat(l->root, e->path, e->mode) == 0 ? 0 : -errno;
    case NEMESIS_LAZYFS_RENAME: {
        int rc = renameat(l->root, e->path2, l->root, e->path) == 0 ? 0 : -errno;
        if (rc == 0 && e->stash != 0)
            rc = from_stash(l, e->stash, e->path2);
        return rc;
    }
    }
    return -EINVAL;
}

void nemesis_lazyfs_lose(struct nemesis_lazyfs *l, bool torn, uint64_t seed,
                         struct nemesis_lazyfs_stats *out)
{
    memset(out, 0, sizeof *out);
    out->untracked = l->untracked;
    /* The torn write's kept prefix, read before anything is put back. */
    unsigned char *prefix = NULL;
    uint64_t keep = 0;
    int torn_fd = -1;
    struct nemesis_lazyfs_file *tf =
        torn && l->last_valid ? file_find(l, l->last_dev, l->last_ino) : NULL;
    if (tf != NULL) {
        out->torn_len = l->last_len;
        uint64_t first = l->last_off / NEMESIS_LAZYFS_SECTOR + 1;
        uint64_t last = (l->last_off + l->last_len - 1) / NEMESIS_LAZYFS_SECTOR;
        if (first <= last) {
            struct fl_rng rng;
            fl_rng_seed(&rng, seed);
            uint64_t cut = (first + fl_rng_below(&rng, last - first + 1)) * NEMESIS_LAZYFS_SECTOR;
            keep = cut - l->last_off;
            prefix = fl_malloc(keep);
            if (prefix == NULL || pread(tf->fd, prefix, keep, (off_t)l->last_off) != (ssize_t)keep)
                keep = 0;
        }
        torn_fd = dup(tf->fd);
    }
    /* Directory changes, newest first. */
    for (size_t i = l->n_entries; i-- > 0;) {
        if (undo_entry(l, &l->entries[i]) != 0)
            out->failed++;
        else
            out->entries++;
        entry_free(l, &l->entries[i], false);
    }
    l->n_entries = 0;
    /* File contents: the synced size, then the saved blocks. */
    for (size_t i = 0; i < l->n_files; i++) {
        struct nemesis_lazyfs_file *f = &l->files[i];
        if (ftruncate(f->fd, (off_t)f->synced_size) != 0)
            out->failed++;
        for (size_t b = 0; b < f->n_blocks; b++) {
            const struct nemesis_lazyfs_block *k = &f->blocks[b];
            if (pwrite(f->fd, k->data, k->len, (off_t)(k->index * NEMESIS_LAZYFS_BLOCK)) !=
                (ssize_t)k->len)
                out->failed++;
            else
                out->bytes += k->len;
        }
        out->files++;
        file_free(f);
    }
    l->n_files = 0;
    l->saved_bytes = 0;
    l->untracked = 0;
    if (torn_fd >= 0) {
        if (keep > 0 && pwrite(torn_fd, prefix, keep, (off_t)l->last_off) == (ssize_t)keep)
            out->torn_kept = keep;
        close(torn_fd);
    }
    fl_free(prefix);
    l->last_valid = false;
    /* Whatever waits in the stash is no longer needed. */
    int fd = dup(l->stash);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL && fd >= 0)
        close(fd);
    if (d != NULL)
        rewinddir(d); /* the offset is shared with l->stash */
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            rmtree_at(l->stash, e->d_name);
    if (d != NULL)
        closedir(d);
}

void nemesis_lazyfs_sync_all(struct nemesis_lazyfs *l)
{
    for (size_t i = 0; i < l->n_entries; i++)
        entry_free(l, &l->entries[i], true);
    l->n_entries = 0;
    while (l->n_files > 0)
        file_drop(l, &l->files[l->n_files - 1]);
    l->untracked = 0;
}

void nemesis_lazyfs_pending(const struct nemesis_lazyfs *l, unsigned *files, uint64_t *bytes,
                            unsigned *entries)
{
    *files = (unsigned)l->n_files;
    *bytes = l->saved_bytes;
    *entries = (unsigned)l->n_entries;
}
