/* snapfile.c - Raft snapshot files: atomic write, newest-valid load, pruning (format in
 * snapfile.h). */
#include "node/io/snapfile.h"

#include "common/alloc.h"
#include "node/io/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_LEN 30 /* "snap-" + 20 digits + ".snap" */
#define CONF_MAX (8u * (1 + 2 * RAFT_MAX_SERVERS))

static const unsigned char magic[8] = {'F', 'L', 'S', 'N', 'A', 'P', '0', '1'};

/* ==== Names ==== */

static void snap_name(char *out, size_t size, uint64_t index)
{
    snprintf(out, size, "snap-%020" PRIu64 ".snap", index);
}

/* Parses "snap-<20 digits>.snap"; *tmp is set for the same name + ".tmp". */
static bool snap_parse(const char *name, uint64_t *index, bool *tmp)
{
    size_t len = strlen(name);
    *tmp = len == NAME_LEN + 4 && strcmp(name + NAME_LEN, ".tmp") == 0;
    if ((len != NAME_LEN && !*tmp) || strncmp(name, "snap-", 5) != 0 ||
        strncmp(name + 25, ".snap", 5) != 0)
        return false;
    uint64_t v = 0;
    for (int i = 5; i < 25; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *index = v;
    return v != 0;
}

static int open_dir(const char *dir, bool create, char *errmsg)
{
    if (create && mkdir(dir, 0755) < 0 && errno != EEXIST) {
        int rc = -errno;
        return fl_errorf(errmsg, rc, "snapshot %s: mkdir: %s", dir, fl_strerror(rc));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int rc = -errno;
        return fl_errorf(errmsg, rc, "snapshot %s: open directory: %s", dir, fl_strerror(rc));
    }
    return dfd;
}

/* ==== Pruning ==== */

static int prune(int dfd, const char *dir, uint64_t keep_index, char *errmsg)
{
    int fd2 = dup(dfd);
    if (fd2 < 0) {
        int rc = -errno;
        return fl_errorf(errmsg, rc, "snapshot %s: dup: %s", dir, fl_strerror(rc));
    }
    DIR *d = fdopendir(fd2);
    if (d == NULL) {
        int rc = -errno;
        close(fd2);
        return fl_errorf(errmsg, rc, "snapshot %s: opendir: %s", dir, fl_strerror(rc));
    }
    int rc = 0;
    bool removed = false;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t index;
        bool tmp;
        if (!snap_parse(de->d_name, &index, &tmp) || (!tmp && index >= keep_index))
            continue;
        if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT) {
            rc = -errno;
            fl_errorf(errmsg, rc, "snapshot %s/%s: unlink: %s", dir, de->d_name, fl_strerror(rc));
            break;
        }
        removed = true;
    }
    closedir(d);
    if (rc == 0 && removed && fsync(dfd) < 0) {
        rc = -errno;
        fl_errorf(errmsg, rc, "snapshot %s: fsync directory: %s", dir, fl_strerror(rc));
    }
    return rc;
}

int io_snapfile_prune(const char *dir, uint64_t keep_index, char *errmsg)
{
    int dfd = open_dir(dir, false, errmsg);
    if (dfd < 0)
        return dfd;
    int rc = prune(dfd, dir, keep_index, errmsg);
    close(dfd);
    return rc;
}

/* ==== Write ==== */

int io_snapfile_write(const char *dir, const struct io_snapfile *s, char *errmsg)
{
    if (s->index == 0 || s->term == 0 || s->conf_index > s->index)
        return fl_errorf(errmsg, FL_EUSAGE,
                         "snapshot %s: index %" PRIu64 " term %" PRIu64 " conf_index %" PRIu64
                         ": index and term must be >= 1 and conf_index <= index",
                         dir, s->index, s->term, s->conf_index);
    if (s->conf.n > RAFT_MAX_SERVERS)
        return fl_errorf(errmsg, FL_EUSAGE, "snapshot %s: configuration of %u servers", dir,
                         s->conf.n);
    struct raft_buf *conf = raft_configuration_encode(&s->conf);
    if (conf == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "snapshot %s: out of memory", dir);
    uint32_t dlen = s->data ? s->data->len : 0;
    unsigned char h[IO_SNAPFILE_HEADER] = {0};
    memcpy(h, magic, sizeof magic);
    io_log__put64(h + 8, s->index);
    io_log__put64(h + 16, s->term);
    io_log__put64(h + 24, s->conf_index);
    io_log__put32(h + 32, conf->len);
    io_log__put32(h + 36, dlen);
    uint32_t crc = io_log_crc32c(0, h, 40);
    crc = io_log_crc32c(crc, conf->data, conf->len);
    if (dlen > 0)
        crc = io_log_crc32c(crc, s->data->data, dlen);
    io_log__put32(h + 40, crc);

    char name[48], tmp[56];
    snap_name(name, sizeof name, s->index);
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    const char *step = "create";
    int rc = 0;
    int dfd = open_dir(dir, true, errmsg);
    if (dfd < 0) {
        raft_buf_unref(conf);
        return dfd;
    }
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    step = "write";
    rc = io_log__pwrite_all(fd, h, sizeof h, 0);
    if (rc == 0)
        rc = io_log__pwrite_all(fd, conf->data, conf->len, sizeof h);
    if (rc == 0 && dlen > 0)
        rc = io_log__pwrite_all(fd, s->data->data, dlen, sizeof h + conf->len);
    if (rc == 0 && fdatasync(fd) < 0) {
        rc = -errno;
        step = "fdatasync";
    }
    close(fd);
    if (rc == 0 && renameat(dfd, tmp, dfd, name) < 0) {
        rc = -errno;
        step = "rename";
    }
    if (rc == 0 && fsync(dfd) < 0) {
        rc = -errno;
        step = "fsync directory";
    }
    if (rc < 0)
        unlinkat(dfd, tmp, 0);
out:
    raft_buf_unref(conf);
    if (rc < 0) {
        close(dfd);
        return fl_errorf(errmsg, rc, "snapshot %s/%s: %s: %s", dir, tmp, step, fl_strerror(rc));
    }
    /* The new snapshot is durable: older ones are no longer needed. */
    rc = prune(dfd, dir, s->index, errmsg);
    close(dfd);
    return rc;
}

/* ==== Load ==== */

/* Reads and validates one snapshot file; FL_EPARSE/FL_ELIMIT with the reason. */
static int load_one(int dfd, const char *dir, uint64_t index, uint32_t max_bytes,
                    struct io_snapfile *s, char *errmsg)
{
    char name[48];
    snap_name(name, sizeof name, index);
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        return fl_errorf(errmsg, rc, "snapshot %s/%s: open: %s", dir, name, fl_strerror(rc));
    }
    int rc;
    struct raft_buf *conf = NULL, *data = NULL;
    unsigned char h[IO_SNAPFILE_HEADER];
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        fl_errorf(errmsg, rc, "snapshot %s/%s: stat: %s", dir, name, fl_strerror(rc));
        goto out;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < IO_SNAPFILE_HEADER) {
        rc = fl_errorf(errmsg, FL_EPARSE,
                       "snapshot %s/%s: %" PRIu64 " bytes, shorter than the %d-byte header", dir,
                       name, size, IO_SNAPFILE_HEADER);
        goto out;
    }
    rc = io_log__pread_all(fd, h, sizeof h, 0);
    if (rc < 0) {
        fl_errorf(errmsg, rc, "snapshot %s/%s: read: %s", dir, name, fl_strerror(rc));
        goto out;
    }
    uint32_t clen = io_log__get32(h + 32), dlen = io_log__get32(h + 36);
    rc = FL_EPARSE;
    if (memcmp(h, magic, sizeof magic) != 0) {
        fl_errorf(errmsg, rc, "snapshot %s/%s: bad magic", dir, name);
        goto out;
    }
    if (clen > CONF_MAX) {
        rc = fl_errorf(errmsg, FL_ELIMIT,
                       "snapshot %s/%s: configuration length %" PRIu32 " exceeds %u", dir, name,
                       clen, CONF_MAX);
        goto out;
    }
    if (dlen > max_bytes) {
        rc = fl_errorf(errmsg, FL_ELIMIT,
                       "snapshot %s/%s: data length %" PRIu32 " exceeds max_bytes %" PRIu32, dir,
                       name, dlen, max_bytes);
        goto out;
    }
    if (size != (uint64_t)IO_SNAPFILE_HEADER + clen + dlen) {
        fl_errorf(errmsg, rc,
                  "snapshot %s/%s: file is %" PRIu64 " bytes but the header says %" PRIu64, dir,
                  name, size, (uint64_t)IO_SNAPFILE_HEADER + clen + dlen);
        goto out;
    }
    conf = raft_buf_new(NULL, clen);
    data = raft_buf_new(NULL, dlen);
    if (conf == NULL || data == NULL) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "snapshot %s/%s: no memory for %" PRIu32 " bytes", dir,
                       name, dlen);
        goto out;
    }
    rc = io_log__pread_all(fd, conf->data, clen, IO_SNAPFILE_HEADER);
    if (rc == 0)
        rc = io_log__pread_all(fd, data->data, dlen, (uint64_t)IO_SNAPFILE_HEADER + clen);
    if (rc < 0) {
        fl_errorf(errmsg, rc, "snapshot %s/%s: read: %s", dir, name, fl_strerror(rc));
        goto out;
    }
    uint32_t crc = io_log_crc32c(0, h, 40);
    crc = io_log_crc32c(crc, conf->data, clen);
    crc = io_log_crc32c(crc, data->data, dlen);
    rc = FL_EPARSE;
    if (crc != io_log__get32(h + 40) || io_log__get32(h + 44) != 0) {
        fl_errorf(errmsg, rc,
                  "snapshot %s/%s: crc mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
                  dir, name, io_log__get32(h + 40), crc);
        goto out;
    }
    s->index = io_log__get64(h + 8);
    s->term = io_log__get64(h + 16);
    s->conf_index = io_log__get64(h + 24);
    if (s->index != index || s->term == 0 || s->conf_index > s->index) {
        fl_errorf(errmsg, rc,
                  "snapshot %s/%s: index %" PRIu64 " term %" PRIu64 " conf_index %" PRIu64
                  " do not fit the file name",
                  dir, name, s->index, s->term, s->conf_index);
        goto out;
    }
    if (raft_configuration_decode(conf, &s->conf) != 0) {
        fl_errorf(errmsg, rc, "snapshot %s/%s: configuration does not decode", dir, name);
        goto out;
    }
    s->data = data;
    data = NULL;
    rc = 0;
out:
    raft_buf_unref(conf);
    raft_buf_unref(data);
    close(fd);
    if (rc < 0)
        memset(s, 0, sizeof *s);
    return rc;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x > y ? -1 : x < y;
}

int io_snapfile_load(const char *dir, uint32_t max_bytes, struct io_snapfile *s, bool *found,
                     struct io_snapfile_report *rep, char *errmsg)
{
    memset(s, 0, sizeof *s);
    if (max_bytes == 0)
        max_bytes = UINT32_MAX;
    if (found != NULL)
        *found = false;
    if (rep != NULL)
        memset(rep, 0, sizeof *rep);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        if (errno == ENOENT)
            return 0;
        int rc = -errno;
        return fl_errorf(errmsg, rc, "snapshot %s: open directory: %s", dir, fl_strerror(rc));
    }
    int fd2 = dup(dfd);
    DIR *d = fd2 < 0 ? NULL : fdopendir(fd2);
    if (d == NULL) {
        int rc = -errno;
        if (fd2 >= 0)
            close(fd2);
        close(dfd);
        return fl_errorf(errmsg, rc, "snapshot %s: opendir: %s", dir, fl_strerror(rc));
    }
    uint64_t *idx = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t index;
        bool tmp;
        if (!snap_parse(de->d_name, &index, &tmp))
            continue;
        if (tmp) {
            if (rep != NULL)
                rep->tmp_ignored++;
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            uint64_t *p = fl_reallocarray(idx, cap, sizeof *idx);
            if (p == NULL) {
                rc = fl_errorf(errmsg, FL_ENOMEM, "snapshot %s: out of memory", dir);
                break;
            }
            idx = p;
        }
        idx[n++] = index;
    }
    closedir(d);
    if (rc == 0 && n > 1)
        qsort(idx, n, sizeof *idx, cmp_desc);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char why[FL_ERRMSG_SIZE];
        int r = load_one(dfd, dir, idx[i], max_bytes, s, why);
        if (r == 0) {
            if (found != NULL)
                *found = true;
            break;
        }
        if (r == FL_ENOMEM) {
            rc = fl_errorf(errmsg, r, "%s", why);
            break;
        }
        if (rep != NULL) {
            if (rep->skipped == 0)
                snprintf(rep->first_skip, sizeof rep->first_skip, "%s", why);
            rep->skipped++;
        }
    }
    fl_free(idx);
    close(dfd);
    return rc;
}

void io_snapfile_release(struct io_snapfile *s)
{
    raft_buf_unref(s->data);
    memset(s, 0, sizeof *s);
}
