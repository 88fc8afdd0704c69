/* disk.c - starting, commanding and stopping the per-node disk-fault filesystems (nemesis/disk.h). */
#include "nemesis/disk.h"

#include "common/error.h"
#include "common/fs.h"
#include "common/rng.h"
#include "nemesis/corrupt.h"
#include "nemesis/internal.h"
#include "nemesis/remote.h"

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

/* ==== On a host ==== */

/* `shell` (may be "") then the words, each quoted for host i (NEMESIS_REMOTE_DIR expanded). */
static bool remote_words(const struct nemesis_disk *d, char *buf, size_t cap, const char *shell,
                         const char *const *words)
{
    if ((size_t)snprintf(buf, cap, "%s", shell) >= cap)
        return false;
    for (size_t k = 0; words[k] != NULL; k++) {
        size_t len = strlen(buf);
        if (len + 2 >= cap)
            return false;
        if (k > 0)
            buf[len++] = ' ', buf[len] = '\0';
        if (!nemesis_remote_quote(d->remote, d->host, words[k], buf, cap))
            return false;
    }
    return true;
}

/* Runs `faultline fs-ctl ARGS...` on the host, its stdout into out. Returns its exit status
 * (>= 0) or a negative code with errmsg. */
static int remote_ctl(const struct nemesis_disk *d, const char *const *args, char *out,
                      size_t cap, char *errmsg)
{
    const char *words[12] = {NEMESIS_REMOTE_DIR "/" NEMESIS_DISK_REMOTE_EXE, "fs-ctl"};
    size_t n = 2;
    for (size_t k = 0; args[k] != NULL && n + 1 < sizeof words / sizeof *words; k++)
        words[n++] = args[k];
    words[n] = NULL;
    char cmd[2048];
    if (!remote_words(d, cmd, sizeof cmd, "", words))
        return fl_errorf(errmsg, FL_ELIMIT, "%s: fs-ctl command too long", d->mnt);
    return nemesis_remote_exec(d->remote, d->host, cmd, NULL, 0, out, cap, errmsg);
}

int nemesis_disk_mount_remote(struct nemesis_disk *d, struct nemesis_remote *r, unsigned host,
                              unsigned node, char *errmsg)
{
    memset(d, 0, sizeof *d);
    d->remote = r;
    d->host = host;
    snprintf(d->mnt, sizeof d->mnt, NEMESIS_REMOTE_DIR "/n%u", node);
    snprintf(d->backing, sizeof d->backing, NEMESIS_REMOTE_DIR "/disk/n%u/backing", node);
    snprintf(d->stash, sizeof d->stash, NEMESIS_REMOTE_DIR "/disk/n%u/stash", node);
    snprintf(d->ctl, sizeof d->ctl, NEMESIS_REMOTE_DIR "/disk/n%u/ctl", node);
    const char *name = r->hosts[host].h.name;
    struct sockaddr_un sa;
    if (strlen(r->hosts[host].dir) + strlen(d->ctl) - strlen(NEMESIS_REMOTE_DIR) >=
        sizeof sa.sun_path)
        return fl_errorf(errmsg, FL_EUSAGE,
                         "%s: workdir %s is too long for the disk-fault filesystem's control "
                         "socket (a unix socket path: under %zu bytes)",
                         name, r->hosts[host].h.workdir, sizeof sa.sun_path - 24);
    /* What the host needs, said before anything is started; the folders, etcd's private. */
    const char *dirs[] = {d->mnt, d->backing, d->stash, NULL};
    char cmd[2048];
    if (!remote_words(d, cmd, sizeof cmd,
                      "[ -c /dev/fuse ] || { echo 'no /dev/fuse (the fuse kernel module: modprobe "
                      "fuse)' >&2; exit 3; }; command -v fusermount3 >/dev/null || { echo "
                      "'fusermount3 is missing (Debian: fuse3)' >&2; exit 3; }; mkdir -p ",
                      dirs) ||
        strlen(cmd) + 16 >= sizeof cmd)
        return fl_errorf(errmsg, FL_ELIMIT, "%s: mount command too long", name);
    strcat(cmd, " && chmod 700 ");
    const char *back[] = {d->backing, NULL};
    char tail[600];
    if (!remote_words(d, tail, sizeof tail, "", back) || strlen(cmd) + strlen(tail) >= sizeof cmd)
        return fl_errorf(errmsg, FL_ELIMIT, "%s: mount command too long", name);
    strcat(cmd, tail);
    char msg[FL_ERRMSG_SIZE];
    int rv = nemesis_remote_exec(r, host, cmd, NULL, 0, NULL, 0, msg);
    if (rv != 0)
        return fl_errorf(errmsg, rv < 0 ? rv : FL_EUNSUPPORTED,
                         "%s: the disk-fault filesystem cannot run there: %s", name, msg);
    const char *argv[] = {NEMESIS_REMOTE_DIR "/" NEMESIS_DISK_REMOTE_EXE,
                          "fs",
                          "--detached",
                          "--backing",
                          d->backing,
                          "--stash",
                          d->stash,
                          "--control",
                          d->ctl,
                          d->mnt,
                          NULL};
    char log[32];
    snprintf(log, sizeof log, "fs-n%u.log", node);
    struct nemesis_process_opts o = {.argv = argv, .log_path = log, .remote = r, .host = host};
    if ((rv = nemesis_process_start(&d->proc, &o, errmsg)) != 0)
        return rv;
    d->mounted = true;
    /* One round trip: fs-ctl retries on the host until the daemon answers. */
    const char *ping[] = {"--wait", "5000", d->ctl, "ping", NULL};
    char reply[256];
    rv = remote_ctl(d, ping, reply, sizeof reply, msg);
    if (rv != 0) {
        char err[FL_ERRMSG_SIZE];
        nemesis_disk_unmount(d, err);
        return fl_errorf(errmsg, rv < 0 ? rv : -ETIMEDOUT,
                         "%s: faultline fs for n%u did not answer within 5 s (see its "
                         "fs-n%u.log): %s",
                         name, node, node, msg);
    }
    return 0;
}

static int remote_unmount(struct nemesis_disk *d, char *errmsg)
{
    struct nemesis_exit ex;
    nemesis_process_stop(&d->proc, 3000, &ex); /* SIGTERM: the daemon unmounts */
    /* A daemon that did not: lazily, so nothing hangs on it. */
    const char *mnt[] = {d->mnt, NULL};
    char m[600], cmd[1500];
    if (!remote_words(d, m, sizeof m, "", mnt))
        return fl_errorf(errmsg, FL_ELIMIT, "%s: path too long", d->mnt);
    snprintf(cmd, sizeof cmd,
             "m=%s; awk -v m=\"$m\" '$2 == m {f = 1} END {exit !f}' /proc/mounts || exit 0; "
             "fusermount3 -uz \"$m\" 2>/dev/null || umount -l \"$m\"",
             m);
    int rv = nemesis_remote_exec(d->remote, d->host, cmd, NULL, 0, NULL, 0, errmsg);
    return rv == 0 ? 0 : rv < 0 ? rv : FL_EUSAGE;
}

/* ==== Commands ==== */

int nemesis_disk_command(const struct nemesis_disk *d, const char *cmd, char *reply, size_t size,
                         char *errmsg)
{
    if (!d->mounted)
        return fl_errorf(errmsg, -ENOTCONN, "%s: no disk-fault filesystem mounted", d->mnt);
    if (d->remote != NULL) {
        const char *args[] = {d->ctl, cmd, NULL};
        char msg[FL_ERRMSG_SIZE];
        int rv = remote_ctl(d, args, reply, size, msg);
        reply[strcspn(reply, "\n")] = '\0';
        if (rv < 0)
            return fl_errorf(errmsg, rv, "%s: %s: %s", d->remote->hosts[d->host].h.name, cmd, msg);
        if (d->remote->dry != NULL) /* printed, not run: no answer */
            return 0;
        if (rv != 0 || strncmp(reply, "{\"ok\":true", 10) != 0)
            return fl_errorf(errmsg, FL_EPARSE, "%s: %s: %s", d->remote->hosts[d->host].h.name,
                             cmd, reply[0] ? reply : msg);
        return 0;
    }
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
    if (d->remote != NULL)
        return remote_unmount(d, errmsg);
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

/* The damage on the host: fs-ctl --damage there, its line into what. */
static int remote_damage(const struct nemesis_disk *d, bool flip, uint64_t seed, char *what,
                         size_t len)
{
    char s[24], msg[FL_ERRMSG_SIZE];
    snprintf(s, sizeof s, "%llu", (unsigned long long)seed);
    const char *args[] = {"--damage", flip ? "flip" : "cut", s, d->backing, NULL};
    int rv = remote_ctl(d, args, what, len, msg);
    what[strcspn(what, "\n")] = '\0';
    if (rv != 0) {
        snprintf(what, len, "%s", msg);
        return rv < 0 ? rv : -EIO;
    }
    return 0;
}

int nemesis_disk_damage(const struct nemesis_disk *d, bool flip, uint64_t seed, char *what,
                        size_t len)
{
    if (d->remote != NULL)
        return remote_damage(d, flip, seed, what, len);
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

/* ==== faultline fs-ctl (the host side) ==== */

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return -1;
    *v = x;
    return 0;
}

int nemesis_disk_ctl_main(int argc, char **argv)
{
    static const char usage[] =
        "usage: faultline fs-ctl [--wait MS] SOCKET LINE\n"
        "       faultline fs-ctl --damage flip|cut SEED BACKING\n"
        "       faultline fs-ctl --corrupt-tail COUNT SEED DATA\n"
        "The host side of the disk faults on hosts (run over ssh by `faultline run --hosts`):\n"
        "one command to a `faultline fs` control socket (its JSON answer on stdout), or a\n"
        "stopped node's files damaged (what was done on stdout).\n";
    char what[512];
    uint64_t a, b;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "--damage") == 0) {
        bool flip = strcmp(argv[2], "flip") == 0;
        struct nemesis_disk d = {0};
        if ((!flip && strcmp(argv[2], "cut") != 0) || parse_u64(argv[3], &a) != 0 ||
            (size_t)snprintf(d.backing, sizeof d.backing, "%s", argv[4]) >= sizeof d.backing) {
            fprintf(stderr, "faultline fs-ctl: --damage flip|cut SEED BACKING (see --help)\n");
            return 3;
        }
        int rc = nemesis_disk_damage(&d, flip, a, what, sizeof what);
        if (rc != 0) {
            fprintf(stderr, "faultline fs-ctl: %s: %s\n", argv[4], strerror(-rc));
            return 1;
        }
        printf("%s\n", what);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "--corrupt-tail") == 0) {
        if (parse_u64(argv[2], &a) != 0 || a > UINT32_MAX || parse_u64(argv[3], &b) != 0) {
            fprintf(stderr, "faultline fs-ctl: --corrupt-tail COUNT SEED DATA (see --help)\n");
            return 3;
        }
        int rc = nemesis_corrupt_damage_tail(argv[4], (unsigned)a, b, what, sizeof what);
        if (rc != 0) {
            fprintf(stderr, "faultline fs-ctl: %s: %s\n", argv[4], strerror(-rc));
            return 1;
        }
        printf("%s\n", what);
        return 0;
    }
    uint64_t wait_ms = 0;
    int k = 1;
    if (argc >= 3 && strcmp(argv[1], "--wait") == 0) {
        if (parse_u64(argv[2], &wait_ms) != 0 || wait_ms > 60000) {
            fprintf(stderr, "faultline fs-ctl: --wait: milliseconds up to 60000\n");
            return 3;
        }
        k = 3;
    }
    if (argc - k != 2 || strlen(argv[k + 1]) > 120 || strchr(argv[k + 1], '\n') != NULL) {
        fprintf(stderr, "faultline fs-ctl: needs SOCKET and one command line of at most 120 "
                        "bytes (see --help)\n");
        return 3;
    }
    char reply[1024];
    int rc;
    for (uint64_t t = 0;; t += 10) {
        rc = talk(argv[k], argv[k + 1], reply, sizeof reply);
        /* Before the daemon listens the socket is missing or refuses. */
        if (rc == 0 || t >= wait_ms || (rc != -ENOENT && rc != -ECONNREFUSED))
            break;
        nemesis__sleep_ms(10);
    }
    if (rc != 0) {
        fprintf(stderr, "faultline fs-ctl: %s: %s\n", argv[k], strerror(-rc));
        return 1;
    }
    printf("%s\n", reply);
    return strncmp(reply, "{\"ok\":true", 10) == 0 ? 0 : 1;
}
