/* test_clean.c - nemesis clean: what a killed harness left (processes, namespaces, veths, temp
 * dirs) is removed; live runs are not. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "nemesis/clean.h"
#include "nemesis/netns.h"
#include "nemesis/process.h"
#include "nemesis/registry.h"
#include "nemesis/topology.h"

/* The "killed" run, a live run, and an unregistered namespace. */
static struct nemesis_topology dead, live;
static struct nemesis_process procs[2];
static char orphan_ns[32], veth_a[16], veth_b[16];
static char tempdir[64];

static int lock_fd = -1;

/* The tests of this file clean the whole machine's leftovers: one at a time,
 * or one test's clean would remove the scene another has just built. */
static void init(void)
{
    lock_fd = open(FL_BINARY_DIR "/fltest-nemesis-clean.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    cr_assert_geq(lock_fd, 0);
    cr_assert_eq(flock(lock_fd, LOCK_EX), 0);
}

static void fini(void)
{
    char em[FL_ERRMSG_SIZE];
    for (int i = 0; i < 2; i++)
        if (procs[i].pid > 0)
            nemesis_process_stop(&procs[i], 0, NULL);
    nemesis_topology_down(&dead);
    nemesis_topology_down(&live);
    if (orphan_ns[0] && nemesis_topology_ns_exists(orphan_ns)) {
        const char *argv[] = {"ip", "netns", "del", orphan_ns, NULL};
        nemesis_netns_exec(NULL, argv, em);
    }
    if (veth_a[0] && if_nametoindex(veth_a) != 0) {
        const char *argv[] = {"ip", "link", "del", veth_a, NULL};
        nemesis_netns_exec(NULL, argv, em);
    }
    if (tempdir[0]) {
        const char *argv[] = {"rm", "-rf", tempdir, NULL};
        nemesis_netns_exec(NULL, argv, em);
    }
    if (dead.run[0])
        nemesis_registry_remove(NULL, dead.run);
    if (lock_fd >= 0)
        close(lock_fd);
}

TestSuite(nemesis_clean, .init = init, .fini = fini);

struct seen {
    const char *mine[3]; /* errors about other runs on this machine are not ours to judge */
    int processes, namespaces, veths, tempdirs, registries, errors;
    char names[8192];
};

static void collect(void *data, const char *kind, const char *name, int err)
{
    struct seen *s = data;
    for (int i = 0; i < 3 && err < 0; i++)
        if (s->mine[i] && strstr(name, s->mine[i]))
            s->errors++;
    if (strcmp(kind, "process") == 0)
        s->processes++;
    else if (strcmp(kind, "namespace") == 0)
        s->namespaces++;
    else if (strcmp(kind, "veth") == 0)
        s->veths++;
    else if (strcmp(kind, "tempdir") == 0)
        s->tempdirs++;
    else if (strcmp(kind, "registry") == 0)
        s->registries++;
    size_t len = strlen(s->names);
    snprintf(s->names + len, sizeof s->names - len, "%s %s\n", kind, name);
}

static pid_t dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    cr_assert_gt(pid, 0);
    waitpid(pid, NULL, 0);
    return pid;
}

/* Builds the scene: run `dead` with a recorded node process, an unrecorded process in
 * its hub, a temp dir, a root-namespace veth pair named after it, and then a registry
 * that says its harness is dead; plus a live run and an unregistered namespace. */
static void scene(void)
{
    char run[8], em[FL_ERRMSG_SIZE] = "";
    nemesis_run_id_new(run);
    cr_assert_eq(nemesis_topology_plan(&dead, run, NULL, 2, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&dead, em), 0, "%s", em);
    do
        nemesis_run_id_new(run);
    while (strcmp(run, dead.run) == 0);
    cr_assert_eq(nemesis_topology_plan(&live, run, NULL, 1, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&live, em), 0, "%s", em);

    const char *argv[] = {"sleep", "30", NULL};
    struct nemesis_process_opts o = {
        .ns = dead.nodes[0].ns, .argv = argv, .registry_run = dead.run};
    cr_assert_eq(nemesis_process_start(&procs[0], &o, em), 0, "%s", em);
    struct nemesis_process_opts o2 = {.ns = dead.hub_ns, .argv = argv};
    cr_assert_eq(nemesis_process_start(&procs[1], &o2, em), 0, "%s", em);

    snprintf(tempdir, sizeof tempdir, "/tmp/fltest-clean-%s", dead.run);
    cr_assert_eq(mkdir(tempdir, 0700), 0);
    char sub[96];
    snprintf(sub, sizeof sub, "%s/nested", tempdir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    cr_assert_eq(nemesis_registry_add_tempdir(NULL, dead.run, tempdir, em), 0, "%s", em);

    /* A veth pair left in the root namespace (down, no address: sends nothing). */
    snprintf(veth_a, sizeof veth_a, "fl%sv9", dead.run);
    snprintf(veth_b, sizeof veth_b, "fl%sv8", dead.run);
    const char *add[] = {"ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b, NULL};
    cr_assert_eq(nemesis_netns_exec(NULL, add, em), 0, "%s", em);

    do
        nemesis_run_id_new(run);
    while (strcmp(run, dead.run) == 0 || strcmp(run, live.run) == 0);
    snprintf(orphan_ns, sizeof orphan_ns, "fl-%s-n1", run);
    const char *nsadd[] = {"ip", "netns", "add", orphan_ns, NULL};
    cr_assert_eq(nemesis_netns_exec(NULL, nsadd, em), 0, "%s", em);

    /* "Kill" the harness of run `dead`: its registry now names a pid that is gone. */
    char path[512];
    struct nemesis_registry *r = malloc(sizeof *r);
    cr_assert_not_null(r);
    nemesis_registry_path(NULL, dead.run, path, sizeof path);
    cr_assert_eq(nemesis_registry_load(path, r, em), 0, "%s", em);
    cr_assert_eq(r->n_procs, 1, "the node process was recorded");
    cr_assert_eq(r->n_dirs, 1);
    r->owner = dead_pid();
    cr_assert_eq(nemesis_registry_save(NULL, r, em), 0, "%s", em);
    free(r);
}

static int exit_signal(struct nemesis_process *p)
{
    struct nemesis_exit ex = {0};
    cr_assert_eq(nemesis_process_stop(p, 0, &ex), 0);
    return ex.signal;
}

Test(nemesis_clean, a_dead_harnesss_run_is_removed_entirely)
{
    scene();
    char em[FL_ERRMSG_SIZE] = "", path[512];
    struct seen s = {.mine = {dead.run, orphan_ns + 3, live.run}};
    struct nemesis_clean_opts o = {0};
    nemesis_clean(&o, collect, &s, em);
    cr_assert_eq(s.errors, 0, "%s\n%s", em, s.names);

    for (unsigned i = 0; i < dead.n; i++)
        cr_assert_not(nemesis_topology_ns_exists(dead.nodes[i].ns), "%s", dead.nodes[i].ns);
    cr_assert_not(nemesis_topology_ns_exists(dead.hub_ns));
    cr_assert_not(nemesis_topology_ns_exists(orphan_ns), "unregistered namespace removed");
    cr_assert_eq(if_nametoindex(veth_a), 0, "root veth removed");
    cr_assert_eq(if_nametoindex(veth_b), 0, "its peer went with it");
    cr_assert_neq(access(tempdir, F_OK), 0, "temp dir removed");
    nemesis_registry_path(NULL, dead.run, path, sizeof path);
    cr_assert_neq(access(path, F_OK), 0, "registry file removed");
    cr_assert_eq(exit_signal(&procs[0]), SIGKILL, "recorded node process killed");
    cr_assert_eq(exit_signal(&procs[1]), SIGKILL, "process found inside the hub killed");

    /* The live run is untouched. */
    cr_assert(nemesis_topology_ns_exists(live.hub_ns));
    cr_assert(nemesis_topology_ns_exists(live.nodes[0].ns));
    nemesis_registry_path(NULL, live.run, path, sizeof path);
    cr_assert_eq(access(path, F_OK), 0);

    cr_assert_geq(s.processes, 2, "%s", s.names);
    cr_assert_geq(s.namespaces, 4, "%s", s.names);
    cr_assert_geq(s.veths, 1, "%s", s.names);
    cr_assert_geq(s.tempdirs, 1, "%s", s.names);
    cr_assert_geq(s.registries, 1, "%s", s.names);
    cr_assert(strstr(s.names, dead.hub_ns), "%s", s.names);
    cr_assert_not(strstr(s.names, live.hub_ns), "%s", s.names);
    cr_assert_eq(s.errors, 0, "%s", s.names);
}

Test(nemesis_clean, dry_run_reports_and_touches_nothing)
{
    scene();
    char em[FL_ERRMSG_SIZE] = "", path[512];
    struct seen s = {.mine = {dead.run, orphan_ns + 3, live.run}};
    struct nemesis_clean_opts o = {.dry_run = true};
    nemesis_clean(&o, collect, &s, em);
    cr_assert_eq(s.errors, 0, "%s\n%s", em, s.names);
    cr_assert(strstr(s.names, dead.hub_ns), "%s", s.names);
    cr_assert(strstr(s.names, orphan_ns), "%s", s.names);
    cr_assert(strstr(s.names, veth_a), "%s", s.names);
    cr_assert(strstr(s.names, tempdir), "%s", s.names);
    cr_assert(nemesis_topology_ns_exists(dead.hub_ns));
    cr_assert(nemesis_topology_ns_exists(orphan_ns));
    cr_assert_neq(if_nametoindex(veth_a), 0);
    cr_assert_eq(access(tempdir, F_OK), 0);
    nemesis_registry_path(NULL, dead.run, path, sizeof path);
    cr_assert_eq(access(path, F_OK), 0);
    struct nemesis_exit ex;
    cr_assert_eq(nemesis_process_reap(&procs[0], &ex), 0, "still running");
}

Test(nemesis_clean, a_damaged_registry_file_is_reported_not_trusted)
{
    char run[8], path[512], em[FL_ERRMSG_SIZE] = "";
    nemesis_run_id_new(run);
    snprintf(dead.run, sizeof dead.run, "%s", run); /* fini removes the file */
    nemesis_registry_path(NULL, run, path, sizeof path);
    mkdir(NEMESIS_REGISTRY_DIR, 0700);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "{\"run\":\"%s\",\"owner\":{\"pid\":1,\"start\":0},\"tempdirs\":[\"/\"]}", run);
    fclose(f);
    struct nemesis_registry r;
    cr_assert_eq(nemesis_registry_load(path, &r, em), FL_ESHAPE);
    cr_assert(strstr(em, "namespaces"), "%s", em);
    f = fopen(path, "w");
    fprintf(f,
            "{\"run\":\"%s\",\"owner\":{\"pid\":1,\"start\":0},\"namespaces\":[],"
            "\"tempdirs\":[\"/\"]}",
            run);
    fclose(f);
    cr_assert_eq(nemesis_registry_load(path, &r, em), FL_ESHAPE);
    cr_assert(strstr(em, "tempdirs"), "a root temp dir is refused: %s", em);
    f = fopen(path, "w");
    fprintf(f, "{\"run\":\"%s\",\"namespaces\":[\"fl-%s-hub\"]", run, run);
    fclose(f);
    cr_assert_eq(nemesis_registry_load(path, &r, em), FL_EPARSE);

    struct seen s = {0};
    struct nemesis_clean_opts o = {0};
    nemesis_clean(&o, collect, &s, em);
    cr_assert(strstr(s.names, path), "%s", s.names);
    cr_assert_eq(access(path, F_OK), 0, "without --all, a file it cannot read is kept");
}

Test(nemesis_clean, temp_dir_paths_are_checked)
{
    cr_assert(nemesis_registry_tempdir_ok("/tmp/faultline-x"));
    cr_assert(nemesis_registry_tempdir_ok("/var/tmp/a/b"));
    cr_assert_not(nemesis_registry_tempdir_ok("/"));
    cr_assert_not(nemesis_registry_tempdir_ok("/tmp"));
    cr_assert_not(nemesis_registry_tempdir_ok("tmp/x"));
    cr_assert_not(nemesis_registry_tempdir_ok("/tmp/../etc"));
    cr_assert_not(nemesis_registry_tempdir_ok("/tmp/./x"));
    cr_assert_not(nemesis_registry_tempdir_ok("/tmp//x"));
    cr_assert_not(nemesis_registry_tempdir_ok("/tmp/x/"));
    cr_assert_not(nemesis_registry_tempdir_ok(NULL));
}

Test(nemesis_clean, one_run_by_id_only_that_run_and_never_a_live_one)
{
    scene();
    char em[FL_ERRMSG_SIZE] = "", path[512], probe[32];
    /* A namespace of the dead run its record does not name (as netem's probe is). */
    snprintf(probe, sizeof probe, "fl-%s-probe", dead.run);
    const char *add[] = {"ip", "netns", "add", probe, NULL};
    cr_assert_eq(nemesis_netns_exec(NULL, add, em), 0, "%s", em);

    struct seen s = {.mine = {live.run}};
    struct nemesis_clean_opts o = {.run = live.run};
    cr_assert_eq(nemesis_clean(&o, collect, &s, em), -EBUSY);
    cr_assert(strstr(em, "still running"), "%s", em);
    cr_assert_eq(s.namespaces + s.tempdirs + s.registries + s.processes, 0, "%s", s.names);
    cr_assert(nemesis_topology_ns_exists(live.hub_ns));

    struct seen d = {.mine = {dead.run}};
    o.run = dead.run;
    cr_assert_eq(nemesis_clean(&o, collect, &d, em), 0, "%s\n%s", em, d.names);
    cr_assert_not(nemesis_topology_ns_exists(dead.hub_ns));
    cr_assert_not(nemesis_topology_ns_exists(probe), "%s", d.names);
    cr_assert_neq(access(tempdir, F_OK), 0, "temp dir removed");
    nemesis_registry_path(NULL, dead.run, path, sizeof path);
    cr_assert_neq(access(path, F_OK), 0, "registry file removed");
    cr_assert_eq(if_nametoindex(veth_a), 0, "root veth removed");
    cr_assert(nemesis_topology_ns_exists(orphan_ns), "another run's namespace left alone");
    cr_assert(nemesis_topology_ns_exists(live.nodes[0].ns));

    o.run = "12345G";
    cr_assert_eq(nemesis_clean(&o, NULL, NULL, em), -EINVAL);
}
