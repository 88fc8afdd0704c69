/* test_delayer.c - the NFQUEUE delayer: delay fault adds to ping RTT; heal removes the rules and
 * stops the thread. */
#include "nemesis/delayer.h"

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault_fixture.h"
#include "nemesis/packet.h"

static void setup2(void)
{
    fx_up(2, NULL);
}

/* "rtt min/avg/max/mdev = a/b/c/d ms": the average, or -1. */
static double avg_rtt(const char *out)
{
    const char *p = strstr(out, "rtt min/avg/max/mdev = ");
    if (!p)
        return -1;
    p = strchr(p + strlen("rtt min/avg/max/mdev = "), '/');
    return p ? atof(p + 1) : -1;
}

static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static bool hub_has_nfqueue_rules(void)
{
    static char out[16384];
    const char *argv[] = {"iptables", "-w", "-S", "FORWARD", NULL};
    cr_assert_eq(fx_run(fx.topo.hub_ns, argv, out, sizeof out), 0);
    return strstr(out, "NFQUEUE") != NULL;
}

Test(nemesis_delayer, delay_adds_to_ping_rtt_and_heal_removes_rules_and_thread, .init = setup2,
     .fini = fx_down, .timeout = 60)
{
    static char out[16384];
    cr_assert_not(fx.ctx.netem, "this kernel has netem: the delayer is not what is tested");
    printf("netem: %s (delay goes through the NFQUEUE delayer)\n",
           fx.ctx.netem ? "available" : "missing");
    fx_ping(0, 1, 10, "0.05", out, sizeof out);
    double base = avg_rtt(out);
    cr_assert_geq(base, 0, "%s", out);

    struct fl_rng rng;
    struct nemesis_fault_opts o;
    struct nemesis_fault f;
    fl_rng_seed(&rng, 2);
    nemesis_fault_opts_default(&o);
    o.delay_ms = 40;
    o.jitter_ms = 5;
    cr_assert_eq(o.delay_reorder_percent, 0, "a plain delay holds every packet by default");
    cr_assert_eq(nemesis_fault_plan(&nemesis_packet_delay, &rng, &fx.topo, -1, &o, &f, fx.errmsg),
                 0, "%s", fx.errmsg);
    int threads = thread_count();
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    printf("delay: apply %.3f ms\n", fx.ctx.last_apply_ms);
    cr_assert_eq(thread_count(), threads + 1, "the delayer thread runs");
    cr_assert(hub_has_nfqueue_rules());
    fx_ping(0, 1, 10, "0.05", out, sizeof out);
    double delayed = avg_rtt(out);
    printf("delay 40+-5 ms each way: RTT %.3f ms before, %.3f ms with the fault\n", base, delayed);
    cr_assert_eq(fx_received(out), 10, "delay must not lose packets: %s", out);
    /* Both directions are delayed: at least 2 x (40 - 5) ms. Lower bound only. */
    cr_assert_geq(delayed, 70.0, "%s", out);

    cr_assert_eq(nemesis_fault_heal(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    printf("delay: heal %.3f ms, %llu packets seen, %llu held\n", fx.ctx.last_heal_ms,
           (unsigned long long)fx.ctx.delay_packets, (unsigned long long)fx.ctx.delay_held);
    cr_assert_geq(fx.ctx.delay_held, 20);
    cr_assert_eq(thread_count(), threads, "the delayer thread is gone");
    cr_assert_not(hub_has_nfqueue_rules());
    cr_assert_null(fx.ctx.delayer);
    fx_ping(0, 1, 5, "0.05", out, sizeof out);
    cr_assert_lt(avg_rtt(out), 70.0, "%s", out);
    nemesis_fault_clear(&f);
}

Test(nemesis_delayer, reordering_releases_some_packets_at_once, .init = setup2, .fini = fx_down,
     .timeout = 60)
{
    static char out[65536];
    struct nemesis_fault f = {.kind = &nemesis_packet_reorder, .delay_ms = 30, .percent = 50};
    f.drop[0] = 1u << 1;
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    fx_ping(0, 1, 40, "0.01", out, sizeof out);
    cr_assert_eq(fx_received(out), 40, "%s", out);
    /* Some replies come back fast (released at once), some after the delay. */
    const char *mm = strstr(out, "rtt min/avg/max/mdev = ");
    cr_assert_not_null(mm, "%s", out);
    double mn = atof(mm + strlen("rtt min/avg/max/mdev = "));
    double mx = atof(strchr(strchr(mm + 23, '/') + 1, '/') + 1);
    cr_assert_lt(mn, 20.0, "%s", mm);
    cr_assert_geq(mx, 30.0, "%s", mm);
    cr_assert_eq(nemesis_fault_heal(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_gt(fx.ctx.delay_held, 0);
    cr_assert_lt(fx.ctx.delay_held, fx.ctx.delay_packets);
}

Test(nemesis_delayer, a_taken_queue_is_an_error_and_stop_releases_held_packets, .init = setup2,
     .fini = fx_down, .timeout = 60)
{
    struct nemesis_delayer *a, *b;
    struct nemesis_delayer_opts o = {
        .ns = fx.topo.hub_ns, .queue_num = 99, .delay_ms = 10000, .seed = 1};
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_delayer_start(&a, &o, errmsg), 0, "%s", errmsg);
    cr_assert_lt(nemesis_delayer_start(&b, &o, errmsg), 0);
    cr_assert(strstr(errmsg, "99"), "%s", errmsg);
    cr_assert_null(b);
    /* A packet held for 10 s is released at stop: ping gets its reply at once. */
    static char out[8192];
    char rules[256];
    snprintf(rules, sizeof rules,
             "*filter\n-A FORWARD -s %s/32 -j NFQUEUE --queue-num 99 --queue-bypass\nCOMMIT\n",
             fx.topo.nodes[0].addr);
    const char *restore[] = {"iptables-restore", "--noflush", "-w", NULL};
    cr_assert_eq(nemesis_netns_run(fx.topo.hub_ns, restore, rules, strlen(rules), NULL, 0, NULL,
                                   NULL, errmsg),
                 0, "%s", errmsg);
    const char *ping[] = {"ping", "-n", "-c", "1", "-W", "5", fx.topo.nodes[1].addr, NULL};
    char ping_out[4096];
    pid_t pid = fork();
    if (pid == 0) {
        int st = fx_run(fx.topo.nodes[0].ns, ping, ping_out, sizeof ping_out);
        _exit(st == 0 ? 0 : 1);
    }
    usleep(500000);
    struct nemesis_delayer_stats st;
    nemesis_delayer_stop(a, &st);
    int status;
    waitpid(pid, &status, 0);
    cr_assert_eq(st.held, 1);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the held request was not released");
    (void)out;
}
