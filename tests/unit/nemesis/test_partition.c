/* test_partition.c - partition kinds: pure plans (shapes, determinism, rendering) and real nft
 * tables in the hub. */
#include "nemesis/partition.h"

#include "fault_fixture.h"

/* ==== Pure planning ==== */

static struct nemesis_topology plan_topo(unsigned n)
{
    struct nemesis_topology t;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, n, errmsg), 0, "%s", errmsg);
    return t;
}

static void plan(const struct nemesis_kind *k, uint64_t seed, const struct nemesis_topology *t,
                 int leader, struct nemesis_fault *f)
{
    struct fl_rng rng;
    struct nemesis_fault_opts o;
    char errmsg[FL_ERRMSG_SIZE];
    fl_rng_seed(&rng, seed);
    nemesis_fault_opts_default(&o);
    cr_assert_eq(nemesis_fault_plan(k, &rng, t, leader, &o, f, errmsg), 0, "%s", errmsg);
}

static unsigned popcount(uint32_t x)
{
    return (unsigned)__builtin_popcount(x);
}

Test(nemesis_partition, isolate_one_cuts_one_node_both_ways)
{
    struct nemesis_topology t = plan_topo(5);
    for (uint64_t seed = 0; seed < 20; seed++) {
        struct nemesis_fault f;
        plan(&nemesis_partition_isolate_one, seed, &t, -1, &f);
        int victim = -1;
        for (unsigned i = 0; i < 5; i++)
            if (popcount(f.drop[i]) == 4)
                victim = (int)i;
        cr_assert_geq(victim, 0);
        for (unsigned i = 0; i < 5; i++)
            if ((int)i != victim)
                cr_assert_eq(f.drop[i], 1u << victim);
        nemesis_fault_clear(&f);
    }
}

Test(nemesis_partition, isolate_leader_waits_for_the_leader_then_isolates_it)
{
    struct nemesis_topology t = plan_topo(3);
    struct nemesis_fault f;
    char errmsg[FL_ERRMSG_SIZE];
    plan(&nemesis_partition_isolate_leader, 1, &t, -1, &f);
    cr_assert(f.needs_leader);
    cr_assert_str_eq(json_string_value(json_object_get(f.value, "isolate")), "leader");
    cr_assert_neq(nemesis_fault_bind_leader(&f, &t, 3, errmsg), 0);
    cr_assert_eq(nemesis_fault_bind_leader(&f, &t, 2, errmsg), 0, "%s", errmsg);
    cr_assert_not(f.needs_leader);
    cr_assert_eq(f.drop[2], 3u);
    cr_assert_eq(f.drop[0], 4u);
    cr_assert_eq(json_array_size(json_object_get(f.value, "n3")), 2);
    nemesis_fault_clear(&f);
}

Test(nemesis_partition, halves_split_into_two_cut_groups)
{
    struct nemesis_topology t = plan_topo(5);
    struct nemesis_fault f;
    plan(&nemesis_partition_halves, 7, &t, -1, &f);
    unsigned small = 0;
    for (unsigned i = 0; i < 5; i++) {
        unsigned c = popcount(f.drop[i]);
        cr_assert(c == 2 || c == 3, "node %u cut from %u", i, c);
        small += c == 3;
        for (unsigned j = 0; j < 5; j++) /* symmetric */
            cr_assert_eq(!!(f.drop[i] & (1u << j)), !!(f.drop[j] & (1u << i)));
    }
    cr_assert_eq(small, 2); /* the minority side (2 nodes) is cut from 3 */
    nemesis_fault_clear(&f);
}

Test(nemesis_partition, majorities_ring_gives_each_node_a_different_majority)
{
    for (unsigned n = 3; n <= 7; n += 2) {
        struct nemesis_topology t = plan_topo(n);
        struct nemesis_fault f;
        plan(&nemesis_partition_majorities_ring, n, &t, -1, &f);
        uint32_t heard[NEMESIS_MAX_NODES];
        for (unsigned dst = 0; dst < n; dst++) {
            heard[dst] = 1u << dst;
            for (unsigned src = 0; src < n; src++)
                if (src != dst && !(f.drop[src] & (1u << dst)))
                    heard[dst] |= 1u << src;
            cr_assert_eq(popcount(heard[dst]), n / 2 + 1, "n=%u node %u", n, dst);
        }
        for (unsigned a = 0; a < n; a++)
            for (unsigned b = a + 1; b < n; b++)
                cr_assert_neq(heard[a], heard[b]);
        nemesis_fault_clear(&f);
    }
}

Test(nemesis_partition, bridge_leaves_one_node_talking_to_both_sides)
{
    struct nemesis_topology t = plan_topo(5);
    struct nemesis_fault f;
    plan(&nemesis_partition_bridge, 3, &t, -1, &f);
    unsigned free_nodes = 0;
    for (unsigned i = 0; i < 5; i++) {
        if (f.drop[i] == 0) {
            free_nodes++;
            for (unsigned j = 0; j < 5; j++)
                cr_assert_eq(f.drop[j] & (1u << i), 0);
        } else {
            cr_assert_eq(popcount(f.drop[i]), 2);
        }
    }
    cr_assert_eq(free_nodes, 1);
    nemesis_fault_clear(&f);
}

Test(nemesis_partition, one_way_blocks_a_single_direction)
{
    struct nemesis_topology t = plan_topo(3);
    bool saw_out = false, saw_in = false;
    for (uint64_t seed = 0; seed < 32; seed++) {
        struct nemesis_fault f;
        plan(&nemesis_partition_one_way, seed, &t, -1, &f);
        for (unsigned i = 0; i < 3; i++)
            for (unsigned j = 0; j < 3; j++)
                if (f.drop[i] & (1u << j))
                    cr_assert_eq(f.drop[j] & (1u << i), 0, "edge %u<->%u cut both ways", i, j);
        for (unsigned i = 0; i < 3; i++) {
            saw_out |= popcount(f.drop[i]) == 2;
            saw_in |= popcount(f.drop[i]) == 1;
        }
        nemesis_fault_clear(&f);
    }
    cr_assert(saw_out && saw_in);
}

Test(nemesis_partition, random_cuts_at_least_one_link_and_is_seeded)
{
    struct nemesis_topology t = plan_topo(5);
    for (uint64_t seed = 0; seed < 20; seed++) {
        struct nemesis_fault a, b;
        plan(&nemesis_partition_random, seed, &t, -1, &a);
        plan(&nemesis_partition_random, seed, &t, -1, &b);
        cr_assert_arr_eq(a.drop, b.drop, sizeof a.drop);
        cr_assert(json_equal(a.value, b.value));
        uint32_t any = 0;
        for (unsigned i = 0; i < 5; i++)
            any |= a.drop[i];
        cr_assert_neq(any, 0);
        nemesis_fault_clear(&a);
        nemesis_fault_clear(&b);
    }
}

Test(nemesis_partition, too_few_nodes_is_a_usage_error_naming_the_kind)
{
    struct nemesis_topology t = plan_topo(2);
    struct fl_rng rng;
    struct nemesis_fault_opts o;
    struct nemesis_fault f;
    char errmsg[FL_ERRMSG_SIZE];
    fl_rng_seed(&rng, 1);
    nemesis_fault_opts_default(&o);
    cr_assert_eq(
        nemesis_fault_plan(&nemesis_partition_majorities_ring, &rng, &t, -1, &o, &f, errmsg),
        FL_EUSAGE);
    cr_assert(strstr(errmsg, "majorities-ring") && strstr(errmsg, "3 nodes"), "%s", errmsg);
    cr_assert_null(f.value);
}

Test(nemesis_partition, render_writes_one_table_with_a_rule_per_source)
{
    struct nemesis_topology t = plan_topo(3);
    struct nemesis_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.topo = &t;
    char buf[4096], errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_partition_render(&ctx, buf, sizeof buf, errmsg), 0);
    cr_assert_str_eq(buf, "add table bridge nemesis\ndelete table bridge nemesis\n");
    ctx.part_drop[0] = 6;
    ctx.part_drop[1] = 1;
    ctx.loss_drop[2] = 1;
    ctx.loss_percent = 30;
    cr_assert_eq(nemesis_partition_render(&ctx, buf, sizeof buf, errmsg), 0);
    cr_assert(strstr(buf, "ip saddr 198.51.100.1 ip daddr { 198.51.100.2, 198.51.100.3 } drop\n"),
              "%s", buf);
    cr_assert(strstr(buf, "ip saddr 198.51.100.2 ip daddr { 198.51.100.1 } drop\n"), "%s", buf);
    cr_assert(strstr(buf, "ip saddr 198.51.100.3 ip daddr { 198.51.100.1 } numgen random mod 100 "
                          "< 30 drop\n"),
              "%s", buf);
    cr_assert(strstr(buf, "chain fw {"));
    cr_assert_eq(nemesis_partition_render(&ctx, buf, 64, errmsg), FL_ELIMIT);
}

/* ==== Real namespaces ==== */

static void setup3(void)
{
    fx_up(3, NULL);
}

static bool hub_has_table(void)
{
    static char out[4096];
    const char *argv[] = {"nft", "list", "tables", NULL};
    cr_assert_eq(fx_run(fx.topo.hub_ns, argv, out, sizeof out), 0);
    return strstr(out, "table bridge nemesis") != NULL;
}

Test(nemesis_partition, isolate_one_stops_pings_and_heal_restores_them, .init = setup3,
     .fini = fx_down, .timeout = 60)
{
    static char out[8192];
    struct nemesis_fault f;
    plan(&nemesis_partition_isolate_one, 5, &fx.topo, -1, &f);
    unsigned v = 0;
    while (popcount(f.drop[v]) != 2)
        v++;
    unsigned a = (v + 1) % 3, b = (v + 2) % 3;
    cr_assert_eq(fx_ping(v, a, 2, "0.2", out, sizeof out), 0, "before: %s", out);

    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    double apply_ms = fx.ctx.last_apply_ms;
    cr_assert(hub_has_table());
    cr_assert_neq(fx_ping(v, a, 3, "0.2", out, sizeof out), 0, "isolated node got a reply: %s",
                  out);
    cr_assert_eq(fx_received(out), 0);
    cr_assert_neq(fx_ping(b, v, 3, "0.2", out, sizeof out), 0, "%s", out);
    cr_assert_eq(fx_ping(a, b, 2, "0.2", out, sizeof out), 0, "majority cut: %s", out);

    cr_assert_eq(nemesis_fault_heal(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    double heal_ms = fx.ctx.last_heal_ms;
    cr_assert_not(hub_has_table());
    cr_assert_eq(fx_ping(v, a, 2, "0.2", out, sizeof out), 0, "after heal: %s", out);
    printf("isolate-one: apply %.3f ms, heal %.3f ms (libnftables in-process)\n", apply_ms,
           heal_ms);
    nemesis_fault_clear(&f);
}

/* A one-way cut from `src` to `dst`: dst's ICMP counter shows whether echo
 * requests arrived even when no reply makes it back. */
static void one_way_case(unsigned src, unsigned dst, bool cut_forward)
{
    static char out[8192];
    struct nemesis_fault f = {.kind = &nemesis_partition_one_way};
    if (cut_forward)
        f.drop[src] = 1u << dst;
    else
        f.drop[dst] = 1u << src;
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    long before = fx_snmp(fx.topo.nodes[dst].ns, "Icmp", "InEchos");
    cr_assert_geq(before, 0);
    cr_assert_neq(fx_ping(src, dst, 3, "0.2", out, sizeof out), 0, "%s", out);
    long after = fx_snmp(fx.topo.nodes[dst].ns, "Icmp", "InEchos");
    if (cut_forward)
        cr_assert_eq(after, before, "requests crossed a cut link");
    else
        cr_assert_geq(after - before, 3, "requests should arrive, only replies are cut");
    cr_assert_eq(nemesis_fault_heal(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(fx_ping(src, dst, 1, "0.2", out, sizeof out), 0, "after heal: %s", out);
}

Test(nemesis_partition, one_way_cut_drops_only_its_direction, .init = setup3, .fini = fx_down,
     .timeout = 60)
{
    one_way_case(0, 1, true);
    one_way_case(0, 1, false);
}

Test(nemesis_partition, every_kind_applies_and_heals, .init = setup3, .fini = fx_down,
     .timeout = 60)
{
    const struct nemesis_kind *kinds[] = {
        &nemesis_partition_isolate_one, &nemesis_partition_isolate_leader,
        &nemesis_partition_halves,      &nemesis_partition_majorities_ring,
        &nemesis_partition_bridge,      &nemesis_partition_one_way,
        &nemesis_partition_random,
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        struct nemesis_fault f;
        plan(kinds[k], k, &fx.topo, 1, &f);
        cr_assert_eq(nemesis_fault_apply(&fx.ctx, &f, fx.errmsg), 0, "%s: %s", kinds[k]->name,
                     fx.errmsg);
        cr_assert(hub_has_table());
        double apply_ms = fx.ctx.last_apply_ms;
        cr_assert_eq(nemesis_fault_heal(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
        cr_assert_not(hub_has_table());
        printf("%-16s apply %.3f ms, heal %.3f ms\n", kinds[k]->name, apply_ms,
               fx.ctx.last_heal_ms);
        nemesis_fault_clear(&f);
    }
}
