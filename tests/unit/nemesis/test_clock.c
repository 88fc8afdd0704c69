/* test_clock.c - libfaketime clock faults: the files, the environment, and a real process whose
 * clock moves. */
#include "nemesis/clock.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/rng.h"
#include "nemesis/topology.h"

static char dir[64];

static void mkdir_tmp(void)
{
    snprintf(dir, sizeof dir, "/tmp/fl-clock-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void rm_tmp(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (strncmp(dir, "/tmp/fl-clock-", 14) == 0)
        cr_assert_eq(system(cmd), 0);
}

static void read_file(const char *path, char *buf, size_t size)
{
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "%s", path);
    size_t n = fread(buf, 1, size - 1, fp);
    buf[n] = '\0';
    fclose(fp);
}

Test(nemesis_clock, env_names_libfaketime_and_a_healthy_file, .init = mkdir_tmp, .fini = rm_tmp)
{
    char env[NEMESIS_CLOCK_ENV_N][NEMESIS_CLOCK_ENV_MAX], errmsg[FL_ERRMSG_SIZE], buf[64];
    cr_assert_eq(nemesis_clock_env(1, dir, env, errmsg), 0, "%s", errmsg);
    cr_assert_str_eq(env[0], "LD_PRELOAD=" NEMESIS_FAKETIME_LIB);
    char want[128];
    snprintf(want, sizeof want, "FAKETIME_TIMESTAMP_FILE=%s/n2.faketime", dir);
    cr_assert_str_eq(env[1], want);
    cr_assert_str_eq(env[2], "FAKETIME_NO_CACHE=1");
    read_file(env[1] + strlen("FAKETIME_TIMESTAMP_FILE="), buf, sizeof buf);
    cr_assert_str_eq(buf, "+0\n");
    cr_assert_eq(nemesis_clock_set(dir, 1, -1500, 1.0, errmsg), 0, "%s", errmsg);
    read_file(env[1] + strlen("FAKETIME_TIMESTAMP_FILE="), buf, sizeof buf);
    cr_assert_str_eq(buf, "-1.500s x1.000\n");
    cr_assert_eq(nemesis_clock_set(dir, 1, 60000, 2.0, errmsg), 0, "%s", errmsg);
    read_file(env[1] + strlen("FAKETIME_TIMESTAMP_FILE="), buf, sizeof buf);
    cr_assert_str_eq(buf, "+60.000s x2.000\n");
    cr_assert_eq(nemesis_clock_set(dir, 99, 0, 1.0, errmsg), FL_EUSAGE);
    cr_assert_eq(nemesis_clock_set(dir, 1, 0, 0.0, errmsg), FL_EUSAGE);
    cr_assert_lt(nemesis_clock_env(0, "/nonexistent/dir", env, errmsg), 0);
}

Test(nemesis_clock, plans_are_seeded_and_within_the_options)
{
    struct nemesis_topology t;
    struct nemesis_fault_opts o;
    struct nemesis_fault f;
    struct fl_rng rng;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 5, errmsg), 0);
    nemesis_fault_opts_default(&o);
    o.skew_ms = 300;
    fl_rng_seed(&rng, 4);
    cr_assert_eq(nemesis_fault_plan(&nemesis_clock_skew, &rng, &t, -1, &o, &f, errmsg), 0);
    cr_assert_eq(f.nodes, 31u);
    for (unsigned i = 0; i < 5; i++)
        cr_assert(f.clock_offset_ms[i] >= -300 && f.clock_offset_ms[i] <= 300);
    cr_assert_eq(json_object_size(json_object_get(f.value, "offsets_ms")), 5);
    nemesis_fault_clear(&f);
    cr_assert_eq(nemesis_fault_plan(&nemesis_clock_jump, &rng, &t, -1, &o, &f, errmsg), 0);
    cr_assert_eq(__builtin_popcount(f.nodes), 1);
    unsigned n = (unsigned)__builtin_ctz(f.nodes);
    cr_assert(f.clock_offset_ms[n] == 60000 || f.clock_offset_ms[n] == -60000);
    nemesis_fault_clear(&f);
    cr_assert_eq(nemesis_fault_plan(&nemesis_clock_rate, &rng, &t, -1, &o, &f, errmsg), 0);
    cr_assert_eq(f.clock_rate, 2.0);
    nemesis_fault_clear(&f);
}

/* Starts perl (dynamically linked, Essential in Debian) faked by the env of
 * node 0: it prints time() each time it reads a line on stdin. (bash's
 * $EPOCHSECONDS does not follow the file at run time, so it is not used.) */
struct faked {
    pid_t pid;
    FILE *in, *out;
};

static void faked_start(struct faked *p, char env[NEMESIS_CLOCK_ENV_N][NEMESIS_CLOCK_ENV_MAX])
{
    int to[2], from[2];
    cr_assert_eq(pipe(to), 0);
    cr_assert_eq(pipe(from), 0);
    p->pid = fork();
    cr_assert_geq(p->pid, 0);
    if (p->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        char *envp[] = {env[0], env[1], env[2], "PATH=/usr/bin:/bin", NULL};
        char *argv[] = {"/usr/bin/perl", "-e", "$| = 1; while (<STDIN>) { print time(), \"\\n\" }",
                        NULL};
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    p->in = fdopen(to[1], "w");
    p->out = fdopen(from[0], "r");
}

static long faked_now(struct faked *p)
{
    char line[64];
    fputs("x\n", p->in);
    fflush(p->in);
    cr_assert_not_null(fgets(line, sizeof line, p->out));
    return atol(line);
}

static void faked_stop(struct faked *p)
{
    fclose(p->in);
    fclose(p->out);
    int st;
    waitpid(p->pid, &st, 0);
}

Test(nemesis_clock, rewriting_the_file_moves_a_running_process_clock, .init = mkdir_tmp,
     .fini = rm_tmp, .timeout = 30)
{
    char env[NEMESIS_CLOCK_ENV_N][NEMESIS_CLOCK_ENV_MAX], errmsg[FL_ERRMSG_SIZE];
    struct nemesis_topology t;
    struct nemesis_ctx ctx;
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 1, errmsg), 0);
    cr_assert_eq(nemesis_clock_env(0, dir, env, errmsg), 0, "%s", errmsg);
    struct faked p;
    faked_start(&p, env);
    long real = (long)time(NULL);
    long before = faked_now(&p);
    cr_assert(labs(before - real) <= 2, "healthy clock off by %ld s", before - real);

    /* The fault through the kind's apply/heal (no netns needed for clocks). */
    memset(&ctx, 0, sizeof ctx);
    ctx.topo = &t;
    snprintf(ctx.clock_dir, sizeof ctx.clock_dir, "%s", dir);
    struct nemesis_fault f = {.kind = &nemesis_clock_jump, .nodes = 1, .clock_rate = 1.0};
    f.clock_offset_ms[0] = 3600 * 1000;
    cr_assert_eq(nemesis_fault_apply(&ctx, &f, errmsg), 0, "%s", errmsg);
    long jumped = faked_now(&p) - (long)time(NULL);
    printf("clock-jump +3600 s: the running process is %ld s ahead (apply %.3f ms)\n", jumped,
           ctx.last_apply_ms);
    cr_assert(jumped >= 3598 && jumped <= 3602, "jumped %ld s", jumped);

    f.clock_offset_ms[0] = -86400 * 1000;
    cr_assert_eq(nemesis_fault_apply(&ctx, &f, errmsg), 0, "%s", errmsg);
    long back = faked_now(&p) - (long)time(NULL);
    cr_assert(back >= -86402 && back <= -86398, "back %ld s", back);

    cr_assert_eq(nemesis_fault_heal(&ctx, &f, errmsg), 0, "%s", errmsg);
    long healed = faked_now(&p) - (long)time(NULL);
    cr_assert(labs(healed) <= 2, "healed clock off by %ld s", healed);
    faked_stop(&p);

    /* And `date` started with the variables shows the offset too. */
    cr_assert_eq(nemesis_clock_set(dir, 0, -7200 * 1000, 1.0, errmsg), 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "env '%s' '%s' '%s' date +%%s", env[0], env[1], env[2]);
    FILE *fp = popen(cmd, "r");
    cr_assert_not_null(fp);
    long d = 0;
    cr_assert_eq(fscanf(fp, "%ld", &d), 1);
    pclose(fp);
    long off = d - (long)time(NULL);
    cr_assert(off >= -7202 && off <= -7198, "date is off by %ld s", off);
}

Test(nemesis_clock, clock_faults_without_a_directory_are_refused)
{
    struct nemesis_topology t;
    struct nemesis_ctx ctx;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 1, errmsg), 0);
    memset(&ctx, 0, sizeof ctx);
    ctx.topo = &t;
    struct nemesis_fault f = {.kind = &nemesis_clock_skew, .nodes = 1, .clock_rate = 1.0};
    cr_assert_eq(nemesis_fault_apply(&ctx, &f, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "clock directory") || strstr(errmsg, "nemesis_clock_env"), "%s",
              errmsg);
}
