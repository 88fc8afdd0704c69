/* registry.c - the leftover registry: one JSON file per run under /run/faultline. */
#include "nemesis/registry.h"

#include "common/alloc.h"
#include "common/error.h"
#include "nemesis/internal.h"
#include "nemesis/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define REGISTRY_FILE_MAX (64 * 1024)

static const char *dir_or_default(const char *dir)
{
    return dir ? dir : NEMESIS_REGISTRY_DIR;
}

int nemesis_registry_path(const char *dir, const char *run, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s.json", dir_or_default(dir), run);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

bool nemesis_registry_tempdir_ok(const char *path)
{
    if (!path || path[0] != '/' || strlen(path) >= NEMESIS_REGISTRY_PATH_MAX)
        return false;
    unsigned depth = 0;
    const char *p = path;
    while (*p == '/') {
        const char *start = ++p;
        while (*p && *p != '/')
            p++;
        size_t len = (size_t)(p - start);
        if (len == 0)
            return false; /* "//" or a trailing slash */
        if ((len == 1 && start[0] == '.') || (len == 2 && start[0] == '.' && start[1] == '.'))
            return false;
        for (const char *c = start; c < p; c++)
            if ((unsigned char)*c < 0x20)
                return false;
        depth++;
    }
    return depth >= 2;
}

int nemesis_registry_init(struct nemesis_registry *r, const struct nemesis_topology *t)
{
    memset(r, 0, sizeof *r);
    snprintf(r->run, sizeof r->run, "%s", t->run);
    r->owner = getpid();
    int rc = nemesis__proc_stat(r->owner, &r->owner_start, NULL);
    if (rc < 0)
        return rc;
    snprintf(r->ns[r->n_ns++], NEMESIS_NAME_MAX, "%s", t->hub_ns);
    for (unsigned i = 0; i < t->n && i < NEMESIS_MAX_NODES; i++)
        snprintf(r->ns[r->n_ns++], NEMESIS_NAME_MAX, "%s", t->nodes[i].ns);
    return 0;
}

bool nemesis_registry_proc_alive(const struct nemesis_registry_proc *p)
{
    unsigned long long start;
    char state;
    if (p->pid <= 0 || nemesis__proc_stat(p->pid, &start, &state) < 0)
        return false;
    return start == p->start && state != 'Z' && state != 'X';
}

bool nemesis_registry_owner_alive(const struct nemesis_registry *r)
{
    struct nemesis_registry_proc p = {.pid = r->owner, .start = r->owner_start};
    return nemesis_registry_proc_alive(&p);
}

/* ==== Encoding ==== */

static json_t *encode(const struct nemesis_registry *r)
{
    json_t *o = json_object(), *ns = json_array(), *procs = json_array(), *dirs = json_array();
    if (!o || !ns || !procs || !dirs)
        goto err;
    for (unsigned i = 0; i < r->n_ns; i++)
        if (json_array_append_new(ns, json_string(r->ns[i])) < 0)
            goto err;
    for (unsigned i = 0; i < r->n_procs; i++)
        if (json_array_append_new(procs, json_pack("{s:i,s:I}", "pid", (int)r->procs[i].pid,
                                                   "start", (json_int_t)r->procs[i].start)) < 0)
            goto err;
    for (unsigned i = 0; i < r->n_dirs; i++)
        if (json_array_append_new(dirs, json_string(r->dirs[i])) < 0)
            goto err;
    if (json_object_set_new(o, "run", json_string(r->run)) < 0 ||
        json_object_set_new(
            o, "owner",
            json_pack("{s:i,s:I}", "pid", (int)r->owner, "start", (json_int_t)r->owner_start)) < 0)
        goto err;
    json_object_set_new(o, "namespaces", ns);
    json_object_set_new(o, "processes", procs);
    json_object_set_new(o, "tempdirs", dirs);
    return o;
err:
    json_decref(o);
    json_decref(ns);
    json_decref(procs);
    json_decref(dirs);
    return NULL;
}

int nemesis_registry_save(const char *dir, const struct nemesis_registry *r, char *errmsg)
{
    char path[512], tmp[520];
    int rc;
    dir = dir_or_default(dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return fl_errorf(errmsg, -errno, "registry %s: %s", dir, strerror(errno));
    if (nemesis_registry_path(dir, r->run, path, sizeof path) < 0)
        return fl_errorf(errmsg, -ENAMETOOLONG, "registry %s: path too long", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    json_t *o = encode(r);
    if (!o)
        return fl_errorf(errmsg, FL_ENOMEM, "registry %s: out of memory", path);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return fl_errorf(errmsg, FL_ENOMEM, "registry %s: out of memory", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = fl_errorf(errmsg, -errno, "registry %s: %s", tmp, strerror(errno));
        free(text);
        return rc;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = fl_errorf(errmsg, -errno, "registry %s: write: %s", tmp, strerror(errno));
            free(text);
            close(fd);
            unlink(tmp);
            return rc;
        }
        off += (size_t)w;
    }
    free(text); /* jansson's allocator */
    if (write(fd, "\n", 1) != 1 || close(fd) < 0) {
        unlink(tmp);
        return fl_errorf(errmsg, -EIO, "registry %s: write failed", tmp);
    }
    if (rename(tmp, path) < 0) {
        rc = fl_errorf(errmsg, -errno, "registry %s: rename: %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return 0;
}

/* ==== Decoding (untrusted) ==== */

static int get_pid_start(json_t *v, pid_t *pid, unsigned long long *start)
{
    json_t *p = json_object_get(v, "pid"), *s = json_object_get(v, "start");
    if (!json_is_integer(p) || !json_is_integer(s) || json_integer_value(p) <= 0 ||
        json_integer_value(p) > 0x3fffffff || json_integer_value(s) < 0)
        return -1;
    *pid = (pid_t)json_integer_value(p);
    *start = (unsigned long long)json_integer_value(s);
    return 0;
}

int nemesis_registry_load(const char *path, struct nemesis_registry *r, char *errmsg)
{
    memset(r, 0, sizeof *r);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fl_errorf(errmsg, -errno, "registry %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > REGISTRY_FILE_MAX) {
        close(fd);
        return fl_errorf(errmsg, FL_ELIMIT, "registry %s: not a regular file of at most %d bytes",
                         path, REGISTRY_FILE_MAX);
    }
    json_error_t jerr;
    json_t *o = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
    close(fd);
    if (!o)
        return fl_errorf(errmsg, FL_EPARSE, "registry %s: line %d: %s", path, jerr.line, jerr.text);
    int rc = FL_ESHAPE;
    const char *field = "top level: expected an object";
    if (!json_is_object(o))
        goto err;
    json_t *run = json_object_get(o, "run");
    field = "run: expected a 6-hex-digit run id";
    if (!json_is_string(run) || !nemesis_run_id_ok(json_string_value(run)))
        goto err;
    snprintf(r->run, sizeof r->run, "%s", json_string_value(run));
    field = "owner: expected {\"pid\":N,\"start\":N}";
    if (get_pid_start(json_object_get(o, "owner"), &r->owner, &r->owner_start) < 0)
        goto err;
    size_t i;
    json_t *v, *arr = json_object_get(o, "namespaces");
    field = "namespaces: expected an array of at most 17 fl-<run>-* names";
    if (!json_is_array(arr) || json_array_size(arr) > NEMESIS_MAX_NODES + 1)
        goto err;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || !nemesis_netns_name_ok(s) || strlen(s) >= NEMESIS_NAME_MAX ||
            strncmp(s, "fl-", 3) != 0 || strncmp(s + 3, r->run, 6) != 0 || s[9] != '-')
            goto err;
        snprintf(r->ns[r->n_ns++], NEMESIS_NAME_MAX, "%s", s);
    }
    arr = json_object_get(o, "processes");
    field = "processes: expected an array of at most 64 {\"pid\":N,\"start\":N}";
    if (arr && (!json_is_array(arr) || json_array_size(arr) > NEMESIS_REGISTRY_MAX_PROCS))
        goto err;
    json_array_foreach(arr, i, v)
    {
        if (get_pid_start(v, &r->procs[r->n_procs].pid, &r->procs[r->n_procs].start) < 0)
            goto err;
        r->n_procs++;
    }
    arr = json_object_get(o, "tempdirs");
    field = "tempdirs: expected an array of at most 8 absolute normalized paths";
    if (arr && (!json_is_array(arr) || json_array_size(arr) > NEMESIS_REGISTRY_MAX_DIRS))
        goto err;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || !nemesis_registry_tempdir_ok(s))
            goto err;
        snprintf(r->dirs[r->n_dirs++], NEMESIS_REGISTRY_PATH_MAX, "%s", s);
    }
    json_decref(o);
    return 0;
err:
    json_decref(o);
    memset(r, 0, sizeof *r);
    return fl_errorf(errmsg, rc, "registry %s: %s", path, field);
}

/* ==== Locked updates ==== */

static int lock_dir(const char *dir, char *errmsg)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fl_errorf(errmsg, -errno, "registry %s: %s", dir, strerror(errno));
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int err = errno;
            close(fd);
            return fl_errorf(errmsg, -err, "registry %s: flock: %s", dir, strerror(err));
        }
    }
    return fd;
}

enum { ADD_PROC, ADD_DIR, DROP_DIR };

static int update(const char *dir, const char *run, int what, pid_t pid, const char *tempdir,
                  char *errmsg)
{
    char path[512];
    struct nemesis_registry *r = NULL;
    dir = dir_or_default(dir);
    if (!nemesis_run_id_ok(run))
        return fl_errorf(errmsg, -EINVAL, "registry: run id \"%.16s\" is not 6 hex digits",
                         run ? run : "(null)");
    if (nemesis_registry_path(dir, run, path, sizeof path) < 0)
        return fl_errorf(errmsg, -ENAMETOOLONG, "registry %s: path too long", dir);
    int lock = lock_dir(dir, errmsg);
    if (lock < 0)
        return lock;
    int rc;
    /* The struct is a few KiB: keep it off small thread stacks. */
    r = fl_malloc(sizeof *r);
    if (!r) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "registry %s: out of memory", path);
        goto out;
    }
    rc = nemesis_registry_load(path, r, errmsg);
    if (rc < 0)
        goto out;
    if (what == ADD_PROC) {
        struct nemesis_registry_proc p = {.pid = pid};
        rc = nemesis__proc_stat(pid, &p.start, NULL);
        if (rc < 0) {
            fl_errorf(errmsg, rc, "registry %s: process %d is not running", path, (int)pid);
            goto out;
        }
        unsigned k = 0;
        for (unsigned i = 0; i < r->n_procs; i++)
            if (nemesis_registry_proc_alive(&r->procs[i]) && r->procs[i].pid != pid)
                r->procs[k++] = r->procs[i];
        r->n_procs = k;
        if (r->n_procs == NEMESIS_REGISTRY_MAX_PROCS) {
            rc = fl_errorf(errmsg, FL_ELIMIT, "registry %s: more than %d live processes", path,
                           NEMESIS_REGISTRY_MAX_PROCS);
            goto out;
        }
        r->procs[r->n_procs++] = p;
    } else if (what == DROP_DIR) {
        unsigned k = 0;
        for (unsigned i = 0; i < r->n_dirs; i++)
            if (strcmp(r->dirs[i], tempdir) != 0)
                memmove(r->dirs[k++], r->dirs[i], NEMESIS_REGISTRY_PATH_MAX);
        if (k == r->n_dirs)
            goto out; /* not recorded */
        r->n_dirs = k;
    } else {
        if (!nemesis_registry_tempdir_ok(tempdir)) {
            rc = fl_errorf(errmsg, -EINVAL,
                           "registry: temp dir \"%.100s\" refused: it must be absolute, "
                           "normalized and at least two levels deep",
                           tempdir ? tempdir : "(null)");
            goto out;
        }
        for (unsigned i = 0; i < r->n_dirs; i++)
            if (strcmp(r->dirs[i], tempdir) == 0)
                goto out; /* already recorded */
        if (r->n_dirs == NEMESIS_REGISTRY_MAX_DIRS) {
            rc = fl_errorf(errmsg, FL_ELIMIT, "registry %s: more than %d temp dirs", path,
                           NEMESIS_REGISTRY_MAX_DIRS);
            goto out;
        }
        snprintf(r->dirs[r->n_dirs++], NEMESIS_REGISTRY_PATH_MAX, "%s", tempdir);
    }
    rc = nemesis_registry_save(dir, r, errmsg);
out:
    fl_free(r);
    close(lock);
    return rc;
}

int nemesis_registry_add_process(const char *dir, const char *run, pid_t pid, char *errmsg)
{
    return update(dir, run, ADD_PROC, pid, NULL, errmsg);
}

int nemesis_registry_add_tempdir(const char *dir, const char *run, const char *path, char *errmsg)
{
    return update(dir, run, ADD_DIR, 0, path, errmsg);
}

int nemesis_registry_create(const char *dir, const struct nemesis_registry *r, char *errmsg)
{
    char path[512];
    const char *d = dir_or_default(dir);
    if (!nemesis_run_id_ok(r->run))
        return fl_errorf(errmsg, -EINVAL, "registry: run id \"%.16s\" is not 6 hex digits",
                         r->run);
    if (nemesis_registry_path(d, r->run, path, sizeof path) < 0)
        return fl_errorf(errmsg, -ENAMETOOLONG, "registry %s: path too long", d);
    if (mkdir(d, 0700) < 0 && errno != EEXIST)
        return fl_errorf(errmsg, -errno, "registry %s: %s", d, strerror(errno));
    int lock = lock_dir(d, errmsg);
    if (lock < 0)
        return lock;
    struct stat st;
    int rc = lstat(path, &st) == 0 ? fl_errorf(errmsg, -EEXIST,
                                               "registry %s: run %s is recorded already "
                                               "(another run of that id)",
                                               path, r->run)
                                   : nemesis_registry_save(d, r, errmsg);
    close(lock);
    return rc;
}

int nemesis_registry_mkdtemp(const char *dir, const char *run, char *tmpl, char *errmsg)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t len = tmpl ? strlen(tmpl) : 0;
    if (len < 6 || strcmp(tmpl + len - 6, "XXXXXX") != 0)
        return fl_errorf(errmsg, -EINVAL, "registry: temp dir template \"%.100s\" does not end "
                                          "in XXXXXX", tmpl ? tmpl : "(null)");
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned char b[6];
        size_t got = 0;
        while (got < sizeof b) {
            ssize_t n = getrandom(b + got, sizeof b - got, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return fl_errorf(errmsg, -EIO, "registry: temp dir name: no random bytes");
            got += (size_t)n;
        }
        for (size_t i = 0; i < 6; i++)
            tmpl[len - 6 + i] = chars[b[i] % (sizeof chars - 1)];
        int rc = update(dir, run, ADD_DIR, 0, tmpl, errmsg);
        if (rc < 0)
            return rc;
        if (mkdir(tmpl, 0700) == 0)
            return 0;
        int e = errno;
        char em[FL_ERRMSG_SIZE];
        update(dir, run, DROP_DIR, 0, tmpl, em); /* not ours: never remove it */
        if (e != EEXIST)
            return fl_errorf(errmsg, -e, "temp dir %s: %s", tmpl, strerror(e));
    }
    return fl_errorf(errmsg, -EEXIST, "temp dir %s: 100 names taken", tmpl);
}

int nemesis_registry_remove(const char *dir, const char *run)
{
    char path[512];
    if (!nemesis_run_id_ok(run) || nemesis_registry_path(dir, run, path, sizeof path) < 0)
        return -EINVAL;
    return unlink(path) < 0 ? -errno : 0;
}
