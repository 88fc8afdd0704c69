/* test_nodefaults.c - the node fault kinds that act on files and disks (corrupt-tail, the disk
 * kinds), against a recording node backend: what each asks of the nodes, and what it does to a
 * node's log. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nemesis/corrupt.h"
#include "nemesis/diskfault.h"
#include "nemesis/fault.h"

struct rec {
    uint32_t up, killed, started;
    char data_dir[64];
    char cmds[8][32]; /* disk commands in order, "n<i>:<cmd>" */
    unsigned n_cmds;
    uint32_t exited; /* nodes that report having exited by themselves */
};

static bool r_running(void *d, unsigned i)
{
    return ((struct rec *)d)->up & (1u << i);
}

static int r_kill(void *d, unsigned i, char *errmsg)
{
    (void)errmsg;
    struct rec *r = d;
    r->up &= ~(1u << i);
    r->killed |= 1u << i;
    return 0;
}

static int r_start(void *d, unsigned i, char *errmsg)
{
    (void)errmsg;
    struct rec *r = d;
    r->up |= 1u << i;
    r->started |= 1u << i;
    return 0;
}

static const char *r_data_dir(void *d, unsigned i)
{
    (void)i;
    return ((struct rec *)d)->data_dir;
}

static int r_disk(void *d, unsigned i, const char *cmd, char *reply, size_t size, char *errmsg)
{
    (void)errmsg;
    struct rec *r = d;
    if (r->n_cmds < 8)
        snprintf(r->cmds[r->n_cmds++], sizeof r->cmds[0], "n%u:%s", i + 1, cmd);
    snprintf(reply, size, "{\"ok\":true}");
    return 0;
}

static int r_damage(void *d, unsigned i, bool flip, uint64_t seed, char *what, size_t len)
{
    (void)seed;
    struct rec *r = d;
    if (r->n_cmds < 8)
        snprintf(r->cmds[r->n_cmds++], sizeof r->cmds[0], "n%u:%s", i + 1, flip ? "flip" : "cut");
    snprintf(what, len, "done");
    return 0;
}

static int r_exited(void *d, unsigned i, int *code, int *sig)
{
    struct rec *r = d;
    if (!(r->exited & (1u << i)) || !(r->up & (1u << i)))
        return 0;
    r->up &= ~(1u << i);
    *code = 1;
    *sig = 0;
    return 1;
}

static struct nemesis_topology topo;
static struct nemesis_ctx ctx;
static struct rec rec;

static void setup(void)
{
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&topo, "abc123", NULL, 3, errmsg), 0);
    memset(&ctx, 0, sizeof ctx);
    memset(&rec, 0, sizeof rec);
    ctx.topo = &topo;
    ctx.seed = 7;
    rec.up = 7;
    snprintf(rec.data_dir, sizeof rec.data_dir, "/tmp/fl-test-nodefaults-XXXXXX");
    cr_assert_not_null(mkdtemp(rec.data_dir));
    struct nemesis_node_ops ops = {.data = &rec,
                                   .running = r_running,
                                   .kill = r_kill,
                                   .start = r_start,
                                   .exited = r_exited,
                                   .data_dir = r_data_dir,
                                   .disk_command = r_disk,
                                   .disk_damage = r_damage};
    nemesis_ctx_set_nodes(&ctx, &ops);
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", rec.data_dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(nemesis_nodefaults, .init = setup, .fini = teardown);

Test(nemesis_nodefaults, corrupt_tail_kills_the_node_cuts_then_flips_its_newest_segment)
{
    char errmsg[FL_ERRMSG_SIZE], path[128], old[128];
    snprintf(path, sizeof path, "%s/log", rec.data_dir);
    cr_assert_eq(mkdir(path, 0755), 0);
    snprintf(old, sizeof old, "%s/log/seg-0001", rec.data_dir);
    snprintf(path, sizeof path, "%s/log/seg-0002", rec.data_dir);
    unsigned char buf[200];
    memset(buf, 0x11, sizeof buf);
    for (int k = 0; k < 2; k++) {
        FILE *fp = fopen(k ? path : old, "w");
        cr_assert_not_null(fp);
        cr_assert_eq(fwrite(buf, 1, sizeof buf, fp), sizeof buf);
        fclose(fp);
    }
    struct nemesis_fault f = {
        .kind = &nemesis_corrupt_tail, .nodes = 2, .action = NEMESIS_ACTION_CORRUPT};
    cr_assert_eq(nemesis_fault_apply(&ctx, &f, errmsg), 0, "%s", errmsg);
    cr_assert_eq(rec.killed, 2u);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(st.st_size >= 200 - 64 && st.st_size < 200, "size %lld", (long long)st.st_size);
    off_t cut = st.st_size;
    cr_assert_eq(stat(old, &st), 0);
    cr_assert_eq(st.st_size, 200); /* only the newest segment */
    cr_assert_eq(nemesis_fault_heal(&ctx, &f, errmsg), 0, "%s", errmsg);
    cr_assert_eq(rec.started, 2u);
    /* The second time, the last byte is flipped. */
    cr_assert_eq(nemesis_fault_apply(&ctx, &f, errmsg), 0, "%s", errmsg);
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    unsigned char last = 0;
    cr_assert_eq(fstat(fd, &st), 0);
    cr_assert_eq(st.st_size, cut);
    cr_assert_eq(pread(fd, &last, 1, st.st_size - 1), 1);
    close(fd);
    cr_assert_eq(last, 0x11 ^ 0xff);
    /* A node that is not running is left alone. */
    rec.killed = 0;
    cr_assert_eq(nemesis_fault_apply(&ctx, &f, errmsg), 0, "%s", errmsg);
    cr_assert_eq(rec.killed, 0u);
}

Test(nemesis_nodefaults, lose_unsynced_kills_every_node_drops_then_starts_them)
{
    char errmsg[FL_ERRMSG_SIZE];
    struct nemesis_fault f = {.kind = &nemesis_diskfault_lose_unsynced,
                              .nodes = 7,
                              .action = NEMESIS_ACTION_LOSE_UNSYNCED};
    rec.up = 5; /* n2 had exited: still marked, and started by the heal */
    cr_assert_eq(nemesis_fault_apply(&ctx, &f, errmsg), 0, "%s", errmsg);
    cr_assert_eq(rec.killed, 5u);
    cr_assert_eq(rec.up, 0u);
    cr_assert_eq(rec.n_cmds, 3);
    cr_assert_str_eq(rec.cmds[0], "n1:lose");
    cr_assert_str_eq(rec.cmds[2], "n3:lose");
    cr_assert_eq(nemesis_fault_heal(&ctx, &f, errmsg), 0, "%s", errmsg);
    cr_assert_eq(rec.started, 7u);
    cr_assert_eq(ctx.killed, 0u);
}

Test(nemesis_nodefaults, torn_bitflip_truncate_name_their_command)
{
    char errmsg[FL_ERRMSG_SIZE];
    struct nemesis_fault torn = {
        .kind = &nemesis_diskfault_torn_write, .nodes = 1, .action = NEMESIS_ACTION_TORN_WRITE};
    struct nemesis_fault flip = {
        .kind = &nemesis_diskfault_bitflip, .nodes = 2, .action = NEMESIS_ACTION_BITFLIP};
    struct nemesis_fault cut = {
        .kind = &nemesis_diskfault_truncate, .nodes = 4, .action = NEMESIS_ACTION_TRUNCATE};
    cr_assert_eq(nemesis_fault_apply(&ctx, &torn, errmsg), 0, "%s", errmsg);
    cr_assert_eq(nemesis_fault_apply(&ctx, &flip, errmsg), 0, "%s", errmsg);
    cr_assert_eq(nemesis_fault_apply(&ctx, &cut, errmsg), 0, "%s", errmsg);
    cr_assert_eq(strncmp(rec.cmds[0], "n1:torn ", 8), 0, "%s", rec.cmds[0]);
    cr_assert_str_eq(rec.cmds[1], "n2:flip");
    cr_assert_str_eq(rec.cmds[2], "n3:cut");
    cr_assert_eq(rec.killed, 7u);
}

Test(nemesis_nodefaults, fsync_error_switches_eio_and_restarts_a_node_that_exited)
{
    char errmsg[FL_ERRMSG_SIZE];
    struct nemesis_fault f = {
        .kind = &nemesis_diskfault_fsync_error, .nodes = 2, .action = NEMESIS_ACTION_FSYNC_ERROR};
    cr_assert_eq(nemesis_fault_apply(&ctx, &f, errmsg), 0, "%s", errmsg);
    cr_assert_eq(rec.killed, 0u); /* the node keeps running */
    rec.exited = 2;
    cr_assert_eq(nemesis_fault_heal(&ctx, &f, errmsg), 0, "%s", errmsg);
    cr_assert_str_eq(rec.cmds[0], "n2:fsync-error on");
    cr_assert_str_eq(rec.cmds[1], "n2:fsync-error off");
    cr_assert_eq(rec.started, 2u);
    cr_assert_eq(rec.up, 7u);
}

Test(nemesis_nodefaults, disk_kinds_without_a_filesystem_are_refused)
{
    char errmsg[FL_ERRMSG_SIZE];
    struct nemesis_node_ops ops = {.data = &rec, .running = r_running, .kill = r_kill};
    nemesis_ctx_set_nodes(&ctx, &ops);
    struct nemesis_fault f = {.kind = &nemesis_diskfault_lose_unsynced,
                              .nodes = 7,
                              .action = NEMESIS_ACTION_LOSE_UNSYNCED};
    cr_assert_lt(nemesis_fault_apply(&ctx, &f, errmsg), 0);
    cr_assert(strstr(errmsg, "disk-fault filesystem"), "%s", errmsg);
    cr_assert_eq(rec.killed, 0u);
}
