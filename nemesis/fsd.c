/* fsd.c - `faultline fs`: the FUSE shell over nemesis/lazyfs.h and its control socket. */
#define FUSE_USE_VERSION 31
#include "nemesis/fsd.h"

#include "common/error.h"
#include "nemesis/lazyfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

struct fsd {
    struct nemesis_lazyfs lfs;
    pthread_mutex_t lock; /* around every lazyfs call */
    int listen_fd;
    char backing[4096]; /* the backing root, canonical */
    pthread_t ctl_thread;
    bool ctl_running;
};

static struct fsd *fsd_of(void)
{
    return fuse_get_context()->private_data;
}

/* "/a/b" -> "a/b"; "/" -> ".". */
static const char *rel(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

#define LOCKED(d, expr)                                                                            \
    ({                                                                                             \
        pthread_mutex_lock(&(d)->lock);                                                            \
        __typeof__(expr) _v = (expr);                                                              \
        pthread_mutex_unlock(&(d)->lock);                                                          \
        _v;                                                                                        \
    })

/* ==== FUSE callbacks ==== */

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    /* The kernel must ask us every time: a loss changes files behind its back. */
    cfg->attr_timeout = 0;
    cfg->entry_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->hard_remove = 1;
    cfg->nullpath_ok = 1;
    cfg->use_ino = 1;
    return fuse_get_context()->private_data;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct fsd *d = fsd_of();
    int rc = fi != NULL ? fstat((int)fi->fh, st)
                        : fstatat(d->lfs.root, rel(path), st, AT_SYMLINK_NOFOLLOW);
    return rc == 0 ? 0 : -errno;
}

static int fs_access(const char *path, int mask)
{
    return faccessat(fsd_of()->lfs.root, rel(path), mask, 0) == 0 ? 0 : -errno;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
    ssize_t n = readlinkat(fsd_of()->lfs.root, rel(path), buf, size - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return 0;
}

static int fs_mknod(const char *path, mode_t mode, dev_t rdev)
{
    struct fsd *d = fsd_of();
    return LOCKED(d, nemesis_lazyfs_mknod(&d->lfs, rel(path), mode, rdev));
}

static int fs_mkdir(const char *path, mode_t mode)
{
    struct fsd *d = fsd_of();
    return LOCKED(d, nemesis_lazyfs_mkdir(&d->lfs, rel(path), mode));
}

static int fs_unlink(const char *path)
{
    struct fsd *d = fsd_of();
    return LOCKED(d, nemesis_lazyfs_unlink(&d->lfs, rel(path)));
}

static int fs_rmdir(const char *path)
{
    struct fsd *d = fsd_of();
    return LOCKED(d, nemesis_lazyfs_rmdir(&d->lfs, rel(path)));
}

static int fs_symlink(const char *target, const char *path)
{
    struct fsd *d = fsd_of();
    return LOCKED(d, nemesis_lazyfs_symlink(&d->lfs, target, rel(path)));
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
    struct fsd *d = fsd_of();
    return LOCKED(d, nemesis_lazyfs_rename(&d->lfs, rel(from), rel(to), flags));
}

static int fs_link(const char *from, const char *to)
{
    struct fsd *d = fsd_of();
    return LOCKED(d, nemesis_lazyfs_link(&d->lfs, rel(from), rel(to)));
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    int rc = fi != NULL ? fchmod((int)fi->fh, mode) : fchmodat(fsd_of()->lfs.root, rel(path), mode, 0);
    return rc == 0 ? 0 : -errno;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    int rc = fi != NULL ? fchown((int)fi->fh, uid, gid)
                        : fchownat(fsd_of()->lfs.root, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
    return rc == 0 ? 0 : -errno;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct fsd *d = fsd_of();
    if (fi != NULL)
        return LOCKED(d, nemesis_lazyfs_ftruncate(&d->lfs, (int)fi->fh, size));
    return LOCKED(d, nemesis_lazyfs_truncate(&d->lfs, rel(path), size));
}

static int fs_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    int rc = fi != NULL ? futimens((int)fi->fh, tv)
                        : utimensat(fsd_of()->lfs.root, rel(path), tv, AT_SYMLINK_NOFOLLOW);
    return rc == 0 ? 0 : -errno;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
    struct fsd *d = fsd_of();
    int fd = LOCKED(d, nemesis_lazyfs_open(&d->lfs, rel(path), fi->flags, 0));
    if (fd < 0)
        return fd;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct fsd *d = fsd_of();
    int fd = LOCKED(d, nemesis_lazyfs_open(&d->lfs, rel(path), fi->flags | O_CREAT, mode));
    if (fd < 0)
        return fd;
    fi->fh = (uint64_t)fd;
    return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    (void)path;
    ssize_t n = pread((int)fi->fh, buf, size, off);
    return n < 0 ? -errno : (int)n;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path;
    struct fsd *d = fsd_of();
    ssize_t n = LOCKED(d, nemesis_lazyfs_write(&d->lfs, (int)fi->fh, buf, size, off));
    return (int)n;
}

static int fs_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    return fstatvfs(fsd_of()->lfs.root, st) == 0 ? 0 : -errno;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    close((int)fi->fh);
    return 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    struct fsd *d = fsd_of();
    return LOCKED(d, nemesis_lazyfs_fsync(&d->lfs, (int)fi->fh, datasync != 0));
}

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
    int fd = openat(fsd_of()->lfs.root, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        return -ENOMEM;
    }
    fi->fh = (uint64_t)(uintptr_t)dir;
    return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)path;
    (void)off;
    (void)flags;
    DIR *dir = (DIR *)(uintptr_t)fi->fh;
    rewinddir(dir); /* offset 0 mode: the whole listing each time */
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        struct stat st = {.st_ino = e->d_ino, .st_mode = (mode_t)DTTOIF(e->d_type)};
        if (filler(buf, e->d_name, &st, 0, 0) != 0)
            break;
    }
    return 0;
}

static int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    closedir((DIR *)(uintptr_t)fi->fh);
    return 0;
}

static int fs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)datasync;
    struct fsd *d = fsd_of();
    char buf[4096];
    if (path == NULL) {
        /* nullpath_ok: the path comes from the open directory, relative to the backing root. */
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", dirfd((DIR *)(uintptr_t)fi->fh));
        ssize_t n = readlink(proc, buf, sizeof buf - 1);
        size_t rl = strlen(d->backing);
        if (n < 0)
            return -errno;
        buf[n] = '\0';
        if (strncmp(buf, d->backing, rl) != 0 || (buf[rl] != '\0' && buf[rl] != '/'))
            return -ENOENT; /* removed, or moved to the stash */
        path = buf + rl;
    }
    return LOCKED(d, nemesis_lazyfs_fsyncdir(&d->lfs, rel(path)));
}

static const struct fuse_operations ops = {
    .init = fs_init,
    .getattr = fs_getattr,
    .access = fs_access,
    .readlink = fs_readlink,
    .mknod = fs_mknod,
    .mkdir = fs_mkdir,
    .unlink = fs_unlink,
    .rmdir = fs_rmdir,
    .symlink = fs_symlink,
    .rename = fs_rename,
    .link = fs_link,
    .chmod = fs_chmod,
    .chown = fs_chown,
    .truncate = fs_truncate,
    .utimens = fs_utimens,
    .open = fs_open,
    .create = fs_create,
    .read = fs_read,
    .write = fs_write,
    .statfs = fs_statfs,
    .release = fs_release,
    .fsync = fs_fsync,
    .opendir = fs_opendir,
    .readdir = fs_readdir,
    .releasedir = fs_releasedir,
    .fsyncdir = fs_fsyncdir,
};

/* ==== Control socket ==== */

static void answer(struct fsd *d, const char *line, char *out, size_t size)
{
    struct nemesis_lazyfs_stats s;
    unsigned long long seed;
    if (strcmp(line, "ping") == 0) {
        snprintf(out, size, "{\"ok\":true}");
    } else if (strcmp(line, "stats") == 0) {
        unsigned files, entries;
        uint64_t bytes;
        pthread_mutex_lock(&d->lock);
        nemesis_lazyfs_pending(&d->lfs, &files, &bytes, &entries);
        uint64_t errs = d->lfs.fsync_errors;
        pthread_mutex_unlock(&d->lock);
        snprintf(out, size,
                 "{\"ok\":true,\"files\":%u,\"bytes\":%" PRIu64 ",\"entries\":%u,"
                 "\"fsync_errors\":%" PRIu64 "}",
                 files, bytes, entries, errs);
    } else if (strcmp(line, "lose") == 0 ||
               (sscanf(line, "torn %llu", &seed) == 1 && strncmp(line, "torn ", 5) == 0)) {
        bool torn = line[0] == 't';
        pthread_mutex_lock(&d->lock);
        nemesis_lazyfs_lose(&d->lfs, torn, torn ? seed : 0, &s);
        pthread_mutex_unlock(&d->lock);
        snprintf(out, size,
                 "{\"ok\":true,\"files\":%u,\"bytes\":%" PRIu64 ",\"entries\":%u,\"failed\":%u,"
                 "\"untracked\":%" PRIu64 ",\"torn_kept\":%" PRIu64 ",\"torn_len\":%" PRIu64 "}",
                 s.files, s.bytes, s.entries, s.failed, s.untracked, s.torn_kept, s.torn_len);
    } else if (strcmp(line, "sync") == 0) {
        pthread_mutex_lock(&d->lock);
        nemesis_lazyfs_sync_all(&d->lfs);
        pthread_mutex_unlock(&d->lock);
        snprintf(out, size, "{\"ok\":true}");
    } else if (strcmp(line, "fsync-error on") == 0 || strcmp(line, "fsync-error off") == 0) {
        pthread_mutex_lock(&d->lock);
        d->lfs.fsync_error = strcmp(line, "fsync-error on") == 0;
        pthread_mutex_unlock(&d->lock);
        snprintf(out, size, "{\"ok\":true}");
    } else {
        snprintf(out, size, "{\"ok\":false,\"error\":\"unknown command\"}");
    }
}

static void *ctl_main(void *arg)
{
    struct fsd *d = arg;
    for (;;) {
        int c = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL; /* the listening socket was shut down */
        }
        struct timeval tv = {.tv_sec = 5};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char line[128];
        size_t n = 0;
        while (n < sizeof line - 1) {
            ssize_t k = read(c, line + n, 1);
            if (k <= 0 || line[n] == '\n')
                break;
            n++;
        }
        line[n] = '\0';
        char out[512];
        answer(d, line, out, sizeof out);
        size_t len = strlen(out);
        out[len++] = '\n';
        if (write(c, out, len) < 0) {
            /* the harness went away: nothing to tell */
        }
        close(c);
    }
}

static int ctl_listen(struct fsd *d, const char *path, char *errmsg)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        return fl_errorf(errmsg, -ENAMETOOLONG, "--control %s: path too long", path);
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    unlink(path);
    d->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (d->listen_fd < 0 || bind(d->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(d->listen_fd, 8) != 0)
        return fl_errorf(errmsg, -errno, "--control %s: %s", path, strerror(errno));
    if (pthread_create(&d->ctl_thread, NULL, ctl_main, d) != 0)
        return fl_errorf(errmsg, -EAGAIN, "cannot start the control thread");
    d->ctl_running = true;
    return 0;
}

/* ==== Main ==== */

static const char usage[] =
    "usage: faultline fs [--detached] --backing DIR --stash DIR --control SOCKET MOUNTPOINT\n"
    "\n"
    "The disk-fault filesystem (started by `faultline run`, one per node): mounts\n"
    "MOUNTPOINT as a pass-through of DIR that remembers what was not fsynced and\n"
    "forgets it on command (lose, torn SEED, fsync-error on|off, stats, ping: one\n"
    "line per connection on the unix socket SOCKET). STASH keeps unlinked files\n"
    "until their directory is fsynced (same filesystem as DIR). Unmounts on\n"
    "SIGTERM/SIGINT/SIGHUP and when its parent dies (not with --detached: started\n"
    "on a host over ssh, its parent is a shell that exits at once).\n";

int nemesis_fsd_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"backing", required_argument, NULL, 'b'},
                                             {"stash", required_argument, NULL, 's'},
                                             {"control", required_argument, NULL, 'c'},
                                             {"detached", no_argument, NULL, 'd'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *backing = NULL, *stash = NULL, *control = NULL;
    bool detached = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b':
            backing = optarg;
            break;
        case 's':
            stash = optarg;
            break;
        case 'c':
            control = optarg;
            break;
        case 'd':
            detached = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "faultline fs: unknown or incomplete option \"%s\" (see --help)\n",
                    argv[optind - 1]);
            return 3;
        }
    }
    if (backing == NULL || stash == NULL || control == NULL || optind + 1 != argc) {
        fprintf(stderr, "faultline fs: needs --backing, --stash, --control and one mount point "
                        "(see --help)\n");
        return 3;
    }
    const char *mnt = argv[optind];
    /* Die with the harness: SIGTERM unmounts (fuse_set_signal_handlers). On a host
     * (--detached) the parent is the ssh session's shell, gone at once: the run stops it, and
     * `faultline clean --hosts` after a killed harness. */
    if (!detached) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() == 1)
            return 3;
    }
    static struct fsd d;
    char err[FL_ERRMSG_SIZE];
    pthread_mutex_init(&d.lock, NULL);
    d.listen_fd = -1;
    if (realpath(backing, d.backing) == NULL) {
        fprintf(stderr, "faultline fs: %s: %s\n", backing, strerror(errno));
        return 3;
    }
    if (nemesis_lazyfs_init(&d.lfs, backing, stash, err) != 0) {
        fprintf(stderr, "faultline fs: %s\n", err);
        return 3;
    }
    char *fargv[] = {argv[0], "-o", "fsname=faultline,subtype=faultline", NULL};
    struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
    struct fuse *f = fuse_new(&args, &ops, sizeof ops, &d);
    int rc = 3;
    if (f == NULL) {
        fprintf(stderr, "faultline fs: fuse_new failed\n");
        goto out_lfs;
    }
    if (fuse_mount(f, mnt) != 0) {
        fprintf(stderr, "faultline fs: cannot mount %s\n", mnt);
        goto out_fuse;
    }
    if (fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
        fprintf(stderr, "faultline fs: cannot set signal handlers\n");
        goto out_unmount;
    }
    signal(SIGPIPE, SIG_IGN);
    /* The control socket appears once the mount is there: "ping" answered = ready. */
    if (ctl_listen(&d, control, err) != 0) {
        fprintf(stderr, "faultline fs: %s\n", err);
        goto out_signals;
    }
    rc = fuse_loop_mt(f, 0) == 0 ? 0 : 1;
    shutdown(d.listen_fd, SHUT_RDWR);
    pthread_join(d.ctl_thread, NULL);
    unlink(control);
out_signals:
    if (d.listen_fd >= 0)
        close(d.listen_fd);
    fuse_remove_signal_handlers(fuse_get_session(f));
out_unmount:
    fuse_unmount(f);
out_fuse:
    fuse_destroy(f);
out_lfs:
    nemesis_lazyfs_close(&d.lfs);
    fuse_opt_free_args(&args);
    return rc;
}
