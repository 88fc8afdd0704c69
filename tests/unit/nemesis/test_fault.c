/* test_fault.c - the fault interface: the kind registry, options, history events, and ctx close
 * healing everything. */
#include "nemesis/fault.h"

#include "fault_fixture.h"
#include "nemesis/figure37.h"
#include "nemesis/membership.h"
#include "nemesis/procfault.h"
#include "nemesis/packet.h"
#include "nemesis/partition.h"

Test(nemesis_fault, every_kind_is_found_by_its_unique_name_with_the_right_effects)
{
    size_t n;
    const struct nemesis_kind *const *all = nemesis_kinds(&n);
    cr_assert_eq(n, 31); /* 7 partition, 4 packet, 3 clock, 10 process (corrupt-tail,
                            slow-isolate-leader and figure-3-7 too), 2 membership, 5 disk */
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(nemesis_kind_find(all[i]->name), all[i]);
        cr_assert_not_null(all[i]->plan);
        /* Every kind is applied and healed here: "where are faults done?" has one answer. */
        cr_assert_not_null(all[i]->apply, "%s", all[i]->name);
        cr_assert_not_null(all[i]->heal, "%s", all[i]->name);
        for (size_t j = i + 1; j < n; j++)
            cr_assert_str_neq(all[i]->name, all[j]->name);
    }
    cr_assert_null(nemesis_kind_find("netem"));
}

Test(nemesis_fault, figure_3_7_needs_five_nodes_and_keeps_its_delay_when_bound)
{
    struct nemesis_topology t3 = {.n = 3}, t5 = {.n = 5};
    struct nemesis_fault_opts o;
    nemesis_fault_opts_default(&o);
    o.delay_ms = 600;
    o.jitter_ms = 0;
    struct fl_rng rng;
    fl_rng_seed(&rng, 1);
    struct nemesis_fault f;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_fault_plan(&nemesis_figure37_kind, &rng, &t3, -1, &o, &f, errmsg),
                 FL_EUSAGE);
    cr_assert(strstr(errmsg, "5 nodes"), "%s", errmsg);
    cr_assert_eq(nemesis_fault_plan(&nemesis_figure37_kind, &rng, &t5, -1, &o, &f, errmsg),
                 0, "%s", errmsg);
    cr_assert(f.needs_leader);
    cr_assert_eq(nemesis_fault_bind_leader(&f, &t5, 3, errmsg), 0, "%s", errmsg);
    cr_assert_eq(f.nodes, 1u << 3);
    cr_assert_eq(f.action, NEMESIS_ACTION_FIGURE_3_7);
    cr_assert_eq(f.delay_ms, 600);
    nemesis_fault_clear(&f);
}

Test(nemesis_fault, options_out_of_range_are_refused_naming_the_field)
{
    struct nemesis_fault_opts o;
    char errmsg[FL_ERRMSG_SIZE];
    nemesis_fault_opts_default(&o);
    cr_assert_eq(nemesis_fault_opts_check(&o, errmsg), 0);
    o.jitter_ms = o.delay_ms + 1;
    cr_assert_eq(nemesis_fault_opts_check(&o, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "jitter_ms"), "%s", errmsg);
    nemesis_fault_opts_default(&o);
    o.rate = 0;
    cr_assert_eq(nemesis_fault_opts_check(&o, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "rate"), "%s", errmsg);
    nemesis_fault_opts_default(&o);
    o.dup_percent = 101;
    cr_assert_eq(nemesis_fault_opts_check(&o, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "dup_percent"), "%s", errmsg);
}

static json_t *event(const struct nemesis_fault *f, enum nemesis_phase ph, enum fl_event_type t,
                     const char *error)
{
    json_t *ev = nemesis_fault_event_json(f, ph, t, 7, 123456789, error);
    cr_assert_not_null(ev);
    /* Every event is a valid history event for the nemesis process. */
    struct fl_event parsed;
    char errmsg[FL_ERRMSG_SIZE];
    fl_event_init(&parsed);
    cr_assert_eq(fl_event_from_json(ev, &parsed, errmsg), 0, "%s", errmsg);
    cr_assert_eq(parsed.process, FL_PROCESS_NEMESIS);
    cr_assert_eq(parsed.type, t);
    cr_assert_eq(parsed.time, 123456789);
    cr_assert_eq(parsed.index, 7);
    fl_event_clear(&parsed);
    return ev;
}

Test(nemesis_fault, events_are_an_invoke_then_an_info_saying_what_was_done)
{
    struct nemesis_topology t;
    struct nemesis_fault_opts o;
    struct nemesis_fault f;
    struct fl_rng rng;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 3, errmsg), 0);
    nemesis_fault_opts_default(&o);
    fl_rng_seed(&rng, 1);
    cr_assert_eq(nemesis_fault_plan(&nemesis_partition_halves, &rng, &t, -1, &o, &f, errmsg), 0);

    json_t *inv = event(&f, NEMESIS_PHASE_START, FL_EVENT_INVOKE, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(inv, "process")), "nemesis");
    cr_assert_str_eq(json_string_value(json_object_get(inv, "type")), "invoke");
    cr_assert_str_eq(json_string_value(json_object_get(inv, "f")), "halves");
    cr_assert(json_equal(json_object_get(inv, "value"), f.value));
    json_t *info = event(&f, NEMESIS_PHASE_START, FL_EVENT_INFO, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(info, "type")), "info");
    cr_assert(json_equal(json_object_get(info, "value"), f.value));

    json_t *heal = event(&f, NEMESIS_PHASE_HEAL, FL_EVENT_INFO, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(heal, "f")), "heal");
    json_t *hv = json_object_get(heal, "value");
    cr_assert_str_eq(json_string_value(json_object_get(hv, "fault")), "halves");
    cr_assert(json_equal(json_object_get(hv, "value"), f.value));

    json_t *failed = event(&f, NEMESIS_PHASE_START, FL_EVENT_INFO, "nft: boom");
    json_t *fv = json_object_get(failed, "value");
    cr_assert_str_eq(json_string_value(json_object_get(fv, "error")), "nft: boom");
    cr_assert(json_equal(json_object_get(fv, "planned"), f.value));
    /* The invoke never carries the error. */
    json_t *inv2 = event(&f, NEMESIS_PHASE_START, FL_EVENT_INVOKE, "ignored");
    cr_assert(json_equal(json_object_get(inv2, "value"), f.value));

    json_t *noindex =
        nemesis_fault_event_json(&f, NEMESIS_PHASE_START, FL_EVENT_INVOKE, -1, 0, NULL);
    cr_assert_null(json_object_get(noindex, "index"));
    json_decref(noindex);
    json_decref(inv);
    json_decref(info);
    json_decref(heal);
    json_decref(failed);
    json_decref(inv2);
    nemesis_fault_clear(&f);
}

/* A node backend that only records what it was asked (bit i of each mask: node i). */
struct fake_nodes {
    uint32_t up, killed, started, paused, continued, member, member_heal;
};

static bool fk_running(void *d, unsigned i)
{
    return ((struct fake_nodes *)d)->up & (1u << i);
}

static int fk_kill(void *d, unsigned i, char *errmsg)
{
    (void)errmsg;
    struct fake_nodes *k = d;
    k->up &= ~(1u << i);
    k->killed |= 1u << i;
    return 0;
}

static int fk_start(void *d, unsigned i, char *errmsg)
{
    (void)errmsg;
    struct fake_nodes *k = d;
    k->up |= 1u << i;
    k->started |= 1u << i;
    return 0;
}

static int fk_pause(void *d, unsigned i, bool on, char *errmsg)
{
    (void)errmsg;
    struct fake_nodes *k = d;
    if (on)
        k->paused |= 1u << i;
    else
        k->continued |= 1u << i;
    return 0;
}

static int fk_member(void *d, const struct nemesis_fault *f, unsigned i, bool heal, char *errmsg)
{
    (void)f;
    (void)errmsg;
    struct fake_nodes *k = d;
    if (heal)
        k->member_heal |= 1u << i;
    else
        k->member |= 1u << i;
    return 0;
}

Test(nemesis_fault, node_faults_go_through_the_node_ops_and_come_back)
{
    struct nemesis_topology t;
    struct nemesis_ctx ctx;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 3, errmsg), 0);
    memset(&ctx, 0, sizeof ctx);
    ctx.topo = &t;
    struct fake_nodes k = {.up = 7};
    /* No backend yet: refused, naming what is missing. */
    struct nemesis_fault kill = {.kind = &nemesis_procfault_kill_one, .nodes = 2};
    cr_assert_eq(nemesis_fault_apply(&ctx, &kill, errmsg), 0, "%s", errmsg); /* nothing runs */
    struct nemesis_node_ops ops = {.data = &k, .running = fk_running};
    nemesis_ctx_set_nodes(&ctx, &ops);
    cr_assert_lt(nemesis_fault_apply(&ctx, &kill, errmsg), 0);
    cr_assert(strstr(errmsg, "kill a node"), "%s", errmsg);
    ops = (struct nemesis_node_ops){.data = &k,
                                    .running = fk_running,
                                    .kill = fk_kill,
                                    .start = fk_start,
                                    .pause = fk_pause,
                                    .membership = fk_member};
    nemesis_ctx_set_nodes(&ctx, &ops);
    ctx.killed = 0;
    k.up = 7;
    /* kill-one on n2: killed, then started again by the heal. */
    cr_assert_eq(nemesis_fault_apply(&ctx, &kill, errmsg), 0, "%s", errmsg);
    cr_assert_eq(k.killed, 2u);
    cr_assert_eq(ctx.killed, 2u);
    cr_assert_eq(nemesis_fault_heal(&ctx, &kill, errmsg), 0, "%s", errmsg);
    cr_assert_eq(k.started, 2u);
    cr_assert_eq(k.up, 7u);
    cr_assert_eq(ctx.killed, 0u);
    /* A node that is not running is not killed, nor started by the heal. */
    k.up = 5;
    k.killed = k.started = 0;
    cr_assert_eq(nemesis_fault_apply(&ctx, &kill, errmsg), 0, "%s", errmsg);
    cr_assert_eq(nemesis_fault_heal(&ctx, &kill, errmsg), 0, "%s", errmsg);
    cr_assert_eq(k.killed | k.started, 0u);
    /* pause-minority on n1 and n3, left paused: restore continues them; a kill left is
     * restarted. */
    k.up = 7;
    struct nemesis_fault pause = {.kind = &nemesis_procfault_pause_minority, .nodes = 5};
    cr_assert_eq(nemesis_fault_apply(&ctx, &pause, errmsg), 0, "%s", errmsg);
    cr_assert_eq(k.paused, 5u);
    cr_assert_eq(nemesis_fault_apply(&ctx, &kill, errmsg), 0, "%s", errmsg);
    cr_assert_eq(nemesis_ctx_restore_nodes(&ctx, errmsg), 0, "%s", errmsg);
    cr_assert_eq(k.continued, 5u);
    cr_assert_eq(k.started, 2u);
    cr_assert_eq(ctx.killed | ctx.paused, 0u);
    /* Membership: sent, the outcome is the caller's to record; a promote has no heal. */
    struct nemesis_fault rm = {
        .kind = &nemesis_membership_remove_add, .nodes = 4, .action = NEMESIS_ACTION_REMOVE};
    cr_assert_eq(nemesis_fault_apply(&ctx, &rm, errmsg), NEMESIS_PENDING, "%s", errmsg);
    cr_assert_eq(nemesis_fault_heal(&ctx, &rm, errmsg), NEMESIS_PENDING, "%s", errmsg);
    cr_assert_eq(k.member, 4u);
    cr_assert_eq(k.member_heal, 4u);
    struct nemesis_fault pr = {
        .kind = &nemesis_membership_promote, .nodes = 1, .action = NEMESIS_ACTION_PROMOTE};
    cr_assert_eq(nemesis_fault_apply(&ctx, &pr, errmsg), NEMESIS_PENDING, "%s", errmsg);
    cr_assert_eq(nemesis_fault_heal(&ctx, &pr, errmsg), 0, "%s", errmsg);
    cr_assert_eq(k.member_heal, 4u);
    /* Every successful apply counted (seeds the disk kinds). */
    cr_assert_eq(ctx.applied, 7u); /* the refused one is not */
}

Test(nemesis_fault, an_unbound_leader_is_not_applied)
{
    struct nemesis_topology t;
    struct nemesis_ctx ctx;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 3, errmsg), 0);
    memset(&ctx, 0, sizeof ctx);
    ctx.topo = &t;
    struct nemesis_fault iso = {.kind = &nemesis_partition_isolate_leader, .needs_leader = true};
    cr_assert_eq(nemesis_fault_apply(&ctx, &iso, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "leader"), "%s", errmsg);
    struct nemesis_fault kl = {.kind = &nemesis_procfault_kill_leader, .needs_leader = true};
    cr_assert_eq(nemesis_fault_apply(&ctx, &kl, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "leader"), "%s", errmsg);
}

static void setup3(void)
{
    fx_up(3, NULL);
}

Test(nemesis_fault, ctx_close_heals_every_active_network_fault, .init = setup3, .fini = fx_down,
     .timeout = 60)
{
    static char out[16384];
    struct nemesis_fault part = {.kind = &nemesis_partition_isolate_one};
    part.drop[0] = 6;
    part.drop[1] = part.drop[2] = 1;
    struct nemesis_fault loss = {.kind = &nemesis_packet_loss, .percent = 10};
    loss.drop[1] = 4;
    struct nemesis_fault dup = {.kind = &nemesis_packet_duplicate, .percent = 10};
    dup.drop[1] = 4;
    struct nemesis_fault delay = {.kind = &nemesis_packet_delay, .delay_ms = 5};
    delay.drop[2] = 2;
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &part, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &loss, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &dup, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &delay, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &delay, fx.errmsg), FL_EUSAGE, "one delay at a time");

    const char *nft[] = {"nft", "list", "tables", NULL};
    const char *ipt[] = {"iptables", "-w", "-S", "FORWARD", NULL};
    cr_assert_eq(fx_run(fx.topo.hub_ns, nft, out, sizeof out), 0);
    cr_assert(strstr(out, "bridge nemesis") && strstr(out, "netdev nemesis_dup"), "%s", out);
    cr_assert_eq(nemesis_ctx_close(&fx.ctx, fx.errmsg), 0, "%s", fx.errmsg);
    fx.ctx_ok = false;
    cr_assert_eq(fx_run(fx.topo.hub_ns, nft, out, sizeof out), 0);
    cr_assert_null(strstr(out, "nemesis"), "left behind: %s", out);
    cr_assert_eq(fx_run(fx.topo.hub_ns, ipt, out, sizeof out), 0);
    cr_assert_null(strstr(out, "NFQUEUE"), "left behind: %s", out);
    cr_assert_eq(fx_ping(0, 1, 2, "0.1", out, sizeof out), 0, "%s", out);
}

Test(nemesis_fault, ctx_init_refuses_a_hub_that_is_not_ours)
{
    struct nemesis_topology t;
    struct nemesis_ctx ctx;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 3, errmsg), 0);
    snprintf(t.hub_ns, sizeof t.hub_ns, "prod-hub");
    cr_assert_eq(nemesis_ctx_init(&ctx, &t, NULL, 1, errmsg), FL_EUSAGE);
    cr_assert(strstr(errmsg, "prod-hub"), "%s", errmsg);
}

/* Connects from node `from` to node `to`'s TCP port 7001, where nothing listens: 1 when refused
 * (the SYN arrived and got a reset), 124 when the 3 s bound ran out (the SYN was dropped). */
static int connect_status(unsigned from, unsigned to)
{
    static char out[1024];
    char cmd[128];
    snprintf(cmd, sizeof cmd, "exec 3<>/dev/tcp/%s/7001", fx.topo.nodes[to].addr);
    const char *argv[] = {"timeout", "3", "bash", "-c", cmd, NULL};
    return fx_run(fx.topo.nodes[from].ns, argv, out, sizeof out);
}

Test(nemesis_fault, port_block_drops_syns_at_the_node_and_unblock_restores_resets,
     .init = setup3, .fini = fx_down, .timeout = 60)
{
    cr_assert_eq(connect_status(0, 1), 1, "before: the port should refuse at once");
    cr_assert_eq(nemesis_port_block(&fx.topo, 1, 7001, true, fx.errmsg), 0, "%s", fx.errmsg);
    /* Blocking twice is the same as once. */
    cr_assert_eq(nemesis_port_block(&fx.topo, 1, 7001, true, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(connect_status(0, 1), 124, "blocked: the SYN should get no answer");
    cr_assert_eq(connect_status(1, 0), 1, "the block is on node 1's input only");
    cr_assert_eq(nemesis_port_block(&fx.topo, 1, 7001, false, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(nemesis_port_block(&fx.topo, 1, 7001, false, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(connect_status(0, 1), 1, "unblocked: refused at once again");
    cr_assert_eq(nemesis_port_block(&fx.topo, 9, 7001, true, fx.errmsg), FL_EUSAGE);
}
