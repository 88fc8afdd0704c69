/* clean.c - removing what runs left behind: processes, namespaces, veths, temp dirs. */
#include "nemesis/clean.h"
#include "nemesis/disk.h"

#include "common/alloc.h"
#include "common/error.h"
#include "nemesis/internal.h"
#include "nemesis/netns.h"
#include "nemesis/registry.h"
#include "nemesis/topology.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== Shared with topology.c (internal.h) ==== */

static void report(nemesis__report_cb cb, void *data, const char *kind, const char *name, int err)
{
    if (cb)
        cb(data, kind, name, err);
}

struct ns_kill {
    const char *ns;
    int dry_run;
    nemesis__report_cb cb;
    void *data;
    int first;
};

static int kill_one(pid_t pid, void *data)
{
    struct ns_kill *k = data;
    char name[128];
    snprintf(name, sizeof name, "pid %ld in %s", (long)pid, k->ns);
    int rc = 0;
    if (!k->dry_run && kill(pid, SIGKILL) < 0 && errno != ESRCH)
        rc = -errno;
    if (rc < 0 && !k->first)
        k->first = rc;
    report(k->cb, k->data, "process", name, rc);
    return 0;
}

int nemesis__ns_remove(const char *ns, int dry_run, nemesis__report_cb cb, void *data)
{
    char path[128];
    struct stat nst;

    if (!nemesis_netns_name_ok(ns))
        return -EINVAL;
    snprintf(path, sizeof path, "%s/%s", NEMESIS_NETNS_DIR, ns);
    if (lstat(path, &nst) < 0)
        return errno == ENOENT ? 0 : -errno;
    /* When the file is not (or no longer) a mount, there is no namespace to search. */
    struct ns_kill k = {.ns = ns, .dry_run = dry_run, .cb = cb, .data = data};
    nemesis__ns_each_pid(ns, kill_one, &k);
    int first = k.first;
    int rc = 0;
    if (!dry_run) {
        if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
            rc = -errno;
        if (unlink(path) < 0 && errno != ENOENT && rc == 0)
            rc = -errno;
    }
    if (rc < 0 && !first)
        first = rc;
    report(cb, data, "namespace", ns, rc);
    return first;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    return rc < 0 && errno != ENOENT ? -1 : 0;
}

int nemesis__rmtree(const char *path)
{
    /* A disk-fault filesystem left mounted inside (its daemon SIGKILLed) goes first. */
    nemesis_disk_unmount_under(path);
    struct stat st;
    if (lstat(path, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return unlink(path) < 0 ? -errno : 0;
    errno = 0;
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
        return errno ? -errno : -EIO;
    return 0;
}

/* ==== Clean ==== */

#define MAX_RUNS 256

struct seen {
    char run[MAX_RUNS][8];
    bool live[MAX_RUNS]; /* a live owner: leave it alone */
    unsigned n;
};

static int seen_find(const struct seen *s, const char *run)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(s->run[i], run) == 0)
            return (int)i;
    return -1;
}

static void seen_add(struct seen *s, const char *run, bool live)
{
    if (s->n < MAX_RUNS && seen_find(s, run) < 0) {
        snprintf(s->run[s->n], 8, "%s", run);
        s->live[s->n++] = live;
    }
}

struct ctx {
    const struct nemesis_clean_opts *o;
    nemesis_clean_cb cb;
    void *data;
    int first;
    char *errmsg;
};

static void note(struct ctx *c, const char *kind, const char *name, int err)
{
    if (err < 0 && c->first == 0) {
        c->first = err;
        fl_errorf(c->errmsg, err, "clean: %s %s: %s", kind, name, fl_strerror(err));
    }
    report(c->cb, c->data, kind, name, err);
}

/* Whether `run` has a registry file now whose owner is alive. Asked again
 * right before removing something found by name: a run that started after
 * the registry directory was listed wrote its file before creating its
 * namespaces, so this second look sees it. */
static bool live_now(const struct ctx *c, const char *run)
{
    char path[512], em[FL_ERRMSG_SIZE];
    if (c->o->all || nemesis_registry_path(c->o->registry_dir, run, path, sizeof path) < 0)
        return false;
    struct nemesis_registry *r = fl_malloc(sizeof *r);
    if (!r)
        return true; /* when in doubt, leave it */
    bool live = nemesis_registry_load(path, r, em) == 0 && nemesis_registry_owner_alive(r);
    fl_free(r);
    return live;
}

/* Root-namespace links named fl<run>v<digits>. */
static bool veth_run(const char *ifname, char run[8])
{
    if (strncmp(ifname, "fl", 2) != 0 || strlen(ifname) < 10 || ifname[8] != 'v')
        return false;
    memcpy(run, ifname + 2, 6);
    run[6] = '\0';
    if (!nemesis_run_id_ok(run))
        return false;
    for (const char *p = ifname + 9; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

static void remove_veths(struct ctx *c, const char *only_run, const struct seen *s)
{
    struct if_nameindex *ifs = if_nameindex();
    if (!ifs)
        return;
    for (struct if_nameindex *i = ifs; i->if_index != 0; i++) {
        char run[8];
        if (!veth_run(i->if_name, run))
            continue;
        if (only_run ? strcmp(run, only_run) != 0 : (seen_find(s, run) >= 0 || live_now(c, run)))
            continue;
        /* Deleting one end of a veth pair deletes its peer: skip what went that way. */
        if (!c->o->dry_run && if_nametoindex(i->if_name) == 0)
            continue;
        int rc = 0;
        if (!c->o->dry_run) {
            const char *argv[] = {"ip", "link", "del", i->if_name, NULL};
            char em[FL_ERRMSG_SIZE];
            rc = nemesis_netns_exec(NULL, argv, em);
            if (rc > 0)
                rc = -EIO;
        }
        note(c, "veth", i->if_name, rc);
    }
    if_freenameindex(ifs);
}

/* Namespaces fl-<run>-* of run `only` but those rec names (done already), or of every run
 * neither in s nor live now. */
static void remove_namespaces(struct ctx *c, const char *only, const struct nemesis_registry *rec,
                              const struct seen *s)
{
    DIR *d = opendir(NEMESIS_NETNS_DIR);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char run[8];
        if (strncmp(e->d_name, "fl-", 3) != 0 || strlen(e->d_name) < 11 || e->d_name[9] != '-')
            continue;
        memcpy(run, e->d_name + 3, 6);
        run[6] = '\0';
        if (!nemesis_run_id_ok(run))
            continue;
        if (only ? strcmp(run, only) != 0 : (seen_find(s, run) >= 0 || live_now(c, run)))
            continue; /* live, or handled (or reported, in a dry run) with its file above */
        bool recorded = false;
        for (unsigned i = 0; rec != NULL && i < rec->n_ns; i++)
            recorded |= strcmp(rec->ns[i], e->d_name) == 0;
        if (recorded)
            continue;
        int rc = nemesis__ns_remove(e->d_name, c->o->dry_run, c->cb, c->data);
        if (rc < 0 && c->first == 0) {
            c->first = rc;
            fl_errorf(c->errmsg, rc, "clean: namespace %s: %s", e->d_name, fl_strerror(rc));
        }
    }
    if (d)
        closedir(d);
}

static void clean_run(struct ctx *c, const struct nemesis_registry *r, const char *file)
{
    char name[NEMESIS_REGISTRY_PATH_MAX + 32];
    for (unsigned i = 0; i < r->n_procs; i++) {
        if (!nemesis_registry_proc_alive(&r->procs[i]) || r->procs[i].pid == getpid())
            continue;
        snprintf(name, sizeof name, "pid %d of run %s", (int)r->procs[i].pid, r->run);
        int rc = 0;
        if (!c->o->dry_run) {
            /* Its process group first (node commands may fork), then the pid itself. */
            kill(-r->procs[i].pid, SIGKILL);
            if (kill(r->procs[i].pid, SIGKILL) < 0 && errno != ESRCH)
                rc = -errno;
        }
        note(c, "process", name, rc);
    }
    for (unsigned i = 0; i < r->n_ns; i++) {
        int rc = nemesis__ns_remove(r->ns[i], c->o->dry_run, c->cb, c->data);
        if (rc < 0 && c->first == 0) {
            c->first = rc;
            fl_errorf(c->errmsg, rc, "clean: namespace %s: %s", r->ns[i], fl_strerror(rc));
        }
    }
    /* Not recorded, e.g. the scratch namespace of the netem probe (nemesis/fault.c): the
     * run's by its name, since its owner is gone. */
    remove_namespaces(c, r->run, r, NULL);
    remove_veths(c, r->run, NULL);
    for (unsigned i = 0; i < r->n_dirs; i++) {
        struct stat st;
        if (lstat(r->dirs[i], &st) < 0)
            continue;
        int rc = c->o->dry_run ? 0 : nemesis__rmtree(r->dirs[i]);
        note(c, "tempdir", r->dirs[i], rc == -ENOENT ? 0 : rc);
    }
    int rc = c->o->dry_run || unlink(file) == 0 || errno == ENOENT ? 0 : -errno;
    note(c, "registry", file, rc);
}

/* One run (opts->run): its record when it has one (refused while its owner lives), else
 * what carries its id in a name. */
static int clean_one(struct ctx *c, const char *dir, struct nemesis_registry *r)
{
    const char *run = c->o->run;
    char file[512], em[FL_ERRMSG_SIZE];
    if (!nemesis_run_id_ok(run))
        return fl_errorf(c->errmsg, -EINVAL, "run \"%.16s\": expected a run id of 6 "
                                             "lowercase hex digits (as `faultline run` prints)",
                         run);
    if (nemesis_registry_path(dir, run, file, sizeof file) < 0)
        return fl_errorf(c->errmsg, -ENAMETOOLONG, "clean: registry %s: path too long", dir);
    int rc = nemesis_registry_load(file, r, em);
    if (rc == 0 && !c->o->all && nemesis_registry_owner_alive(r))
        return fl_errorf(c->errmsg, -EBUSY,
                         "run %s: its harness (pid %d) is still running; stop it "
                         "(SIGINT cleans up) and try again",
                         run, (int)r->owner);
    if (rc == 0) {
        clean_run(c, r, file);
        return c->first;
    }
    if (rc != -ENOENT) {
        if (!c->o->dry_run && c->o->all)
            unlink(file);
        note(c, "registry", file, c->o->all ? 0 : FL_EPARSE);
    }
    /* What a run without a (readable) record left: found by name. */
    remove_namespaces(c, run, NULL, NULL);
    remove_veths(c, run, NULL);
    return c->first;
}

int nemesis_clean(const struct nemesis_clean_opts *opts, nemesis_clean_cb cb, void *data,
                  char *errmsg)
{
    struct nemesis_clean_opts defaults = {0};
    struct ctx c = {.o = opts ? opts : &defaults, .cb = cb, .data = data, .errmsg = errmsg};
    const char *dir = c.o->registry_dir ? c.o->registry_dir : NEMESIS_REGISTRY_DIR;
    struct seen *s = fl_calloc(1, sizeof *s);
    struct nemesis_registry *r = fl_malloc(sizeof *r);
    if (!s || !r) {
        fl_free(s);
        fl_free(r);
        return fl_errorf(errmsg, FL_ENOMEM, "clean: out of memory");
    }
    if (errmsg)
        errmsg[0] = '\0';

    if (c.o->run != NULL) {
        int rc = clean_one(&c, dir, r);
        fl_free(s);
        fl_free(r);
        return rc;
    }

    /* 1. Runs with a registry file. */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char run[8], file[512], em[FL_ERRMSG_SIZE];
        if (len != 11 || strcmp(e->d_name + 6, ".json") != 0)
            continue;
        memcpy(run, e->d_name, 6);
        run[6] = '\0';
        if (!nemesis_run_id_ok(run))
            continue;
        snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
        if (nemesis_registry_load(file, r, em) < 0) {
            /* Unreadable: its namespaces are still found by name below. */
            if (!c.o->dry_run && c.o->all)
                unlink(file);
            note(&c, "registry", file, c.o->all ? 0 : FL_EPARSE);
            continue;
        }
        bool live = !c.o->all && nemesis_registry_owner_alive(r);
        seen_add(s, run, live);
        if (!live)
            clean_run(&c, r, file);
    }
    if (d)
        closedir(d);

    /* 2. Namespaces fl-<run>-* of runs without a (readable) registry file. */
    remove_namespaces(&c, NULL, NULL, s);

    /* 3. Root-namespace links fl<run>v<i> of no live run. */
    {
        /* Build the set of live runs only: remove_veths skips runs in it. */
        struct seen *live = fl_calloc(1, sizeof *live);
        if (live) {
            for (unsigned i = 0; i < s->n; i++)
                if (s->live[i])
                    seen_add(live, s->run[i], true);
            remove_veths(&c, NULL, live);
            fl_free(live);
        }
    }
    fl_free(s);
    fl_free(r);
    return c.first;
}
