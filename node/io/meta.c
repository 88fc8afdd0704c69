/* meta.c - Raft hard state (term, vote) written atomically and loaded with validation. */
#include "node/io/meta.h"

#include "common/error.h"
#include "node/io/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const unsigned char magic[8] = {'F', 'L', 'M', 'E', 'T', 'A', '0', '1'};

int io_meta_load(const char *dir, struct io_meta *m, bool *found, char *errmsg)
{
    char path[4096];
    unsigned char b[IO_META_BYTES + 1];
    memset(m, 0, sizeof *m);
    if (found != NULL)
        *found = false;
    snprintf(path, sizeof path, "%s/meta", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        int rc = -errno;
        return fl_errorf(errmsg, rc, "meta %s: open: %s", path, fl_strerror(rc));
    }
    ssize_t n;
    size_t got = 0;
    while (got < sizeof b && (n = read(fd, b + got, sizeof b - got)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int rc = -errno;
            close(fd);
            return fl_errorf(errmsg, rc, "meta %s: read: %s", path, fl_strerror(rc));
        }
        got += (size_t)n;
    }
    close(fd);
    if (got > IO_META_BYTES)
        return fl_errorf(errmsg, FL_EPARSE, "meta %s: longer than %d bytes", path, IO_META_BYTES);
    if (got < IO_META_BYTES)
        return fl_errorf(errmsg, FL_EPARSE, "meta %s: %zu bytes where %d were expected", path, got,
                         IO_META_BYTES);
    if (memcmp(b, magic, sizeof magic) != 0)
        return fl_errorf(errmsg, FL_EPARSE, "meta %s: bad magic (not a faultline meta file)", path);
    uint32_t crc = io_log_crc32c(0, b, 24);
    if (crc != io_log__get32(b + 24) || io_log__get32(b + 28) != 0)
        return fl_errorf(errmsg, FL_EPARSE,
                         "meta %s: crc mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32
                         "): the hard state is corrupt",
                         path, io_log__get32(b + 24), crc);
    uint64_t term = io_log__get64(b + 8), vote = io_log__get64(b + 16);
    if (term == 0 && vote != 0)
        return fl_errorf(errmsg, FL_EPARSE, "meta %s: vote %" PRIu64 " in term 0", path, vote);
    m->term = term;
    m->vote = vote;
    if (found != NULL)
        *found = true;
    return 0;
}

int io_meta_save(const char *dir, const struct io_meta *m, char *errmsg)
{
    unsigned char b[IO_META_BYTES] = {0};
    memcpy(b, magic, sizeof magic);
    io_log__put64(b + 8, m->term);
    io_log__put64(b + 16, m->vote);
    io_log__put32(b + 24, io_log_crc32c(0, b, 24));

    int rc = 0;
    const char *step = "open";
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        rc = -errno;
        return fl_errorf(errmsg, rc, "meta %s: open directory: %s", dir, fl_strerror(rc));
    }
    int fd = openat(dfd, "meta.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        step = "create meta.tmp";
        goto out;
    }
    rc = io_log__pwrite_all(fd, b, sizeof b, 0);
    step = "write meta.tmp";
    if (rc == 0 && fsync(fd) < 0) {
        rc = -errno;
        step = "fsync meta.tmp";
    }
    close(fd);
    if (rc == 0 && renameat(dfd, "meta.tmp", dfd, "meta") < 0) {
        rc = -errno;
        step = "rename meta.tmp to meta";
    }
    if (rc == 0 && fsync(dfd) < 0) {
        rc = -errno;
        step = "fsync directory";
    }
out:
    close(dfd);
    if (rc < 0)
        return fl_errorf(errmsg, rc, "meta %s: %s: %s", dir, step, fl_strerror(rc));
    return 0;
}
