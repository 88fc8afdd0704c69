/* corrupt.c - corrupt-tail: a damaged last write of the reference node's log. */
#include "nemesis/corrupt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nemesis/nodefault.h"

int nemesis_corrupt_damage_tail(const char *data_dir, unsigned count, uint64_t seed, char *what,
                                size_t len)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/log", data_dir);
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    char newest[64] = "";
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, "seg-", 4) == 0 && strlen(e->d_name) < sizeof newest &&
            strcmp(e->d_name, newest) > 0 && strstr(e->d_name, ".tmp") == NULL)
            snprintf(newest, sizeof newest, "%s", e->d_name);
    closedir(d);
    if (newest[0] == '\0') {
        snprintf(what, len, "no log segment yet");
        return 0;
    }
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, newest);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rv = 0;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        snprintf(what, len, "%s is empty", newest);
    } else if (count % 2 == 0) {
        off_t cut = 1 + (off_t)((seed + count + 1) % 64);
        if (cut > st.st_size)
            cut = st.st_size;
        rv = ftruncate(fd, st.st_size - cut) == 0 ? 0 : -errno;
        snprintf(what, len, "cut %lld bytes off %s (%lld bytes)", (long long)cut, newest,
                 (long long)st.st_size);
    } else {
        unsigned char b;
        if (pread(fd, &b, 1, st.st_size - 1) == 1) {
            b ^= 0xff;
            rv = pwrite(fd, &b, 1, st.st_size - 1) == 1 ? 0 : -EIO;
        }
        snprintf(what, len, "flipped the last byte of %s (%lld bytes)", newest,
                 (long long)st.st_size);
    }
    close(fd);
    return rv;
}

static int corrupt_apply(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        if (!(f->nodes & (1u << i)) || !nemesis__node_running(ctx, i))
            continue;
        const char *dir =
            ctx->node_ops.data_dir != NULL ? ctx->node_ops.data_dir(ctx->node_ops.data, i) : NULL;
        if (dir == NULL && ctx->node_ops.damage_tail == NULL)
            return fl_errorf(errmsg, FL_EUNSUPPORTED, "n%u: no data directory to corrupt", i + 1);
        int rv = nemesis__node_kill(ctx, i, errmsg);
        char what[200];
        unsigned count = ctx->corrupt_count++;
        int crv = ctx->node_ops.damage_tail != NULL
                      ? ctx->node_ops.damage_tail(ctx->node_ops.data, i, count, ctx->seed, what,
                                                  sizeof what)
                      : nemesis_corrupt_damage_tail(dir, count, ctx->seed, what, sizeof what);
        if (crv != 0)
            rv = fl_errorf(errmsg, crv, "n%u: corrupt tail: %s", i + 1, strerror(-crv));
        else
            nemesis__say(ctx, "n%u: %s", i + 1, what);
        if (rv != 0)
            return rv;
    }
    return 0;
}

NEMESIS_NODE_KIND(nemesis_corrupt_tail, "corrupt-tail", NEMESIS_CLASS_PROCESS, NEMESIS_TARGET_ONE,
                  NEMESIS_ACTION_CORRUPT, corrupt_apply, nemesis__node_start_killed);
