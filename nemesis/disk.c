/* disk.c - starting, commanding and stopping the per-node disk-fault filesystems (nemesis/disk.h). */
#include "nemesis/disk.h"

#include "common/error.h"
#include "common/fs.h"
#include "common/rng.h"
#include "nemesis/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int talk(const char *ctl, const char *cmd, char *reply, size_t size)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(ctl) >= sizeof a.sun_path)
        return -ENAMETOOLONG;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", ctl);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int rc = 0;
    char line[160];
    int n = snprintf(line, sizeof line, "%s\n", cmd);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || write(fd, line, (size_t)n) != n) {
        rc = -errno;
        goto out;
    }
    size_t got = 0;
    while (got < size - 1) {
        ssize_t k = read(fd, reply + got, size - 1 - got);
        if (k < 0) {
            rc = -errno;
            goto out;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    reply[got] = '\0';
    char *nl = strchr(reply, '\n');
    if (nl == NULL)
        rc = -EPROTO; /* no whole line: cut short or too long */
    else
        *nl = '\0';
out:
    close(fd);
    return rc;
}

int nemesis_disk_command(const struct nemesis_disk *d, const char *cmd, char *reply, size_t size,
                         char *errmsg)
{
    if (!d->mounted)
        return fl_errorf(errmsg, -ENOTCONN, "%s: no disk-fault filesystem mounted", d->mnt);
    int rc = talk(d->ctl, cmd, reply, size);
    if (rc != 0)
        return fl_errorf(errmsg, rc, "%s: %s: %s", d->ctl, cmd, strerror(-rc));
    if (strncmp(reply, "{\"ok\":true", 10) != 0)
        return fl_errorf(errmsg, FL_EPARSE, "%s: %s: %s", d->ctl, cmd, reply);
    return 0;
}

int nemesis_disk_mount(struct nemesis_disk *d, const char *exe, const char *mnt, const char *work,
                       const char *registry_run, const char *log_path, char *errmsg)
{
    memset(d, 0, sizeof *d);
    if ((size_t)snprintf(d->mnt, sizeof d->mnt, "%s", mnt) >= sizeof d->mnt ||
        (size_t)snprintf(d->backing, sizeof d->backing, "%s/backing", work) >= sizeof d->backing ||
        (size_t)snprintf(d->stash, sizeof d->stash, "%s/stash", work) >= sizeof d->stash ||
        (size_t)snprintf(d->ctl, sizeof d->ctl, "%s/ctl", work) >= sizeof d->ctl)
        return fl_errorf(errmsg, -ENAMETOOLONG, "%s: path too long", work);
    int rc;
    if ((rc = fl_mkdir_p(d->mnt)) != 0 || (rc = fl_mkdir_p(d->backing)) != 0 ||
        (rc = fl_mkdir_p(d->stash)) != 0)
        return fl_errorf(errmsg, rc, "%s: %s", work, strerror(-rc));
    chmod(d->backing, 0700); /* etcd wants its data directory private */
    const char *argv[] = {exe, "fs", "--backing", d->backing, "--stash", d->stash,
                          "--control", d->ctl, d->mnt, NULL};
    struct nemesis_process_opts o = {.argv = argv, .log_path = log_path, .registry_run = registry_run};
    if ((rc = nemesis_process_start(&d->proc, &o, errmsg)) != 0)
        return rc;
    d->mounted = true;
    char reply[128];
    for (int k = 0; k < 500; k++) {
        if (talk(d->ctl, "ping", reply, sizeof reply) == 0)
            return 0;
        struct nemesis_exit ex;
        if (nemesis_process_reap(&d->proc, &ex) == 1) {
            d->mounted = false;
            nemesis_disk_unmount_under(d->mnt);
            return fl_errorf(errmsg, -EIO, "faultline fs for %s exited (code %d, signal %d)%s%s",
                             d->mnt, ex.code, ex.signal, log_path ? "; see " : "",
                             log_path ? log_path : "");
        }
        nemesis__sleep_ms(10);
    }
    nemesis_disk_unmount(d, errmsg);
    return fl_errorf(errmsg, -ETIMEDOUT, "faultline fs for %s did not answer within 5 s", d->mnt);
}

int nemesis_disk_unmount(struct nemesis_disk *d, char *errmsg)
{
    if (!d->mounted)
        return 0;
    d->mounted = false;
    struct nemesis_exit ex;
    nemesis_process_stop(&d->proc, 3000, &ex); /* SIGTERM: the daemon unmounts */
    int n = nemesis_disk_unmount_under(d->mnt);
    if (n < 0)
        return fl_errorf(errmsg, n, "unmount %s: %s", d->mnt, strerror(-n));
    return 0;
}

/* ==== Damage ==== */

/* The newest regular file under dir (recursively) into best/best_t. */
static void newest(const char *dir, char *best, size_t size, struct timespec *best_t, int depth)
{
    DIR *dd = depth < 8 ? opendir(dir) : NULL;
    if (dd == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1024];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path)
            continue;
        struct stat st;
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            newest(path, best, size, best_t, depth + 1);
        } else if (S_ISREG(st.st_mode) && st.st_size > 0 &&
                   (st.st_mtim.tv_sec > best_t->tv_sec ||
                    (st.st_mtim.tv_sec == best_t->tv_sec && st.st_mtim.tv_nsec > best_t->tv_nsec))) {
            *best_t = st.st_mtim;
            snprintf(best, size, "%s", path);
        }
    }
    closedir(dd);
}

int nemesis_disk_damage(const struct nemesis_disk *d, bool flip, uint64_t seed, char *what,
                        size_t len)
{
    char path[1024] = "";
    struct timespec t = {0};
    newest(d->backing, path, sizeof path, &t, 0);
    if (path[0] == '\0') {
        snprintf(what, len, "no file to damage");
        return 0;
    }
    const char *name = path + strlen(d->backing) + 1;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    struct fl_rng rng;
    fl_rng_seed(&rng, seed);
    int rc = 0;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        snprintf(what, len, "%s is empty", name);
    } else if (flip) {
        off_t at = (off_t)fl_rng_below(&rng, (uint64_t)st.st_size);
        unsigned bit = (unsigned)fl_rng_below(&rng, 8);
        unsigned char b;
        if (pread(fd, &b, 1, at) != 1) {
            rc = -EIO;
        } else {
            b ^= (unsigned char)(1u << bit);
            rc = pwrite(fd, &b, 1, at) == 1 ? 0 : -EIO;
        }
        snprintf(what, len, "flipped bit %u of byte %lld of %s (%lld bytes)", bit, (long long)at,
                 name, (long long)st.st_size);
    } else {
        off_t cut = 1 + (off_t)fl_rng_below(&rng, 4096);
        if (cut > st.st_size)
            cut = st.st_size;
        rc = ftruncate(fd, st.st_size - cut) == 0 ? 0 : -errno;
        snprintf(what, len, "cut %lld bytes off %s (%lld bytes)", (long long)cut, name,
                 (long long)st.st_size);
    }
    close(fd);
    return rc;
}

/* ==== Unmounting ==== */

/* Undoes mountinfo's octal escapes (\040 for a space...) in place. */
static void unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

int nemesis_disk_unmount_under(const char *path)
{
    size_t plen = strlen(path);
    while (plen > 1 && path[plen - 1] == '/')
        plen--;
    int done = 0;
    /* Deepest first: every round unmounts the longest match, until none is left. */
    for (int round = 0; round < 64; round++) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (f == NULL)
            return -errno;
        char line[4096], best[1024] = "";
        while (fgets(line, sizeof line, f) != NULL) {
            char mp[1024];
            /* id parent major:minor root mountpoint ... */
            if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1)
                continue;
            unescape(mp);
            if (strncmp(mp, path, plen) == 0 && (mp[plen] == '\0' || mp[plen] == '/') &&
                strlen(mp) > strlen(best))
                snprintf(best, sizeof best, "%s", mp);
        }
        fclose(f);
        if (best[0] == '\0')
            return done;
        if (umount2(best, MNT_DETACH) != 0)
            return -errno;
        done++;
    }
    return done;
}
