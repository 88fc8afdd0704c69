/* test_packet.c - packet faults: loss and duplication as nft rules in the hub, seen by ping inside
 * the nodes. */
#include "nemesis/packet.h"

#include "fault_fixture.h"

static void setup2(void)
{
    fx_up(2, NULL);
}

static void plan(const struct nemesis_kind *k, const struct nemesis_topology *t,
                 struct nemesis_fault *f)
{
    struct fl_rng rng;
    struct nemesis_fault_opts o;
    char errmsg[FL_ERRMSG_SIZE];
    fl_rng_seed(&rng, 3);
    nemesis_fault_opts_default(&o);
    o.loss_percent = 35;
    cr_assert_eq(nemesis_fault_plan(k, &rng, t, -1, &o, f, errmsg), 0, "%s", errmsg);
}

Test(nemesis_packet, plans_cover_every_link_and_say_the_percentage)
{
    struct nemesis_topology t;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 3, errmsg), 0);
    struct nemesis_fault f;
    plan(&nemesis_packet_loss, &t, &f);
    cr_assert_eq(f.percent, 35);
    for (unsigned i = 0; i < 3; i++)
        cr_assert_eq(f.drop[i], 7u & ~(1u << i));
    cr_assert_eq(json_integer_value(json_object_get(f.value, "percent")), 35);
    cr_assert_eq(json_array_size(json_object_get(json_object_get(f.value, "links"), "n2")), 2);
    nemesis_fault_clear(&f);
    plan(&nemesis_packet_reorder, &t, &f);
    cr_assert_eq(f.delay_ms, 50);
    cr_assert_eq(f.jitter_ms, 10);
    cr_assert_eq(f.percent, 25);
    cr_assert_eq(json_integer_value(json_object_get(f.value, "reorder_percent")), 25);
    nemesis_fault_clear(&f);
}

/* Regression: plan_delay hard-coded 0, so delay.reorder_percent of a scenario never reordered;
 * then delay and reorder shared one option whose default (25) made a plain delay reorder. */
Test(nemesis_packet, delay_keeps_its_reorder_percent)
{
    struct nemesis_topology t;
    char errmsg[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 3, errmsg), 0);
    struct nemesis_fault_opts o;
    nemesis_fault_opts_default(&o);
    cr_assert_eq(o.delay_reorder_percent, 0); /* a plain delay keeps the order by default */
    o.delay_reorder_percent = 10;
    o.reorder_percent = 40; /* the reorder kind's, not the delay's */
    struct fl_rng rng;
    fl_rng_seed(&rng, 1);
    struct nemesis_fault f;
    cr_assert_eq(nemesis_fault_plan(&nemesis_packet_delay, &rng, &t, -1, &o, &f, errmsg), 0);
    cr_assert_eq(f.percent, 10);
    cr_assert_eq(json_integer_value(json_object_get(f.value, "reorder_percent")), 10);
    nemesis_fault_clear(&f);
    o.delay_reorder_percent = 0;
    cr_assert_eq(nemesis_fault_plan(&nemesis_packet_delay, &rng, &t, -1, &o, &f, errmsg), 0);
    cr_assert_eq(f.percent, 0);
    nemesis_fault_clear(&f);
    cr_assert_eq(nemesis_fault_plan(&nemesis_packet_reorder, &rng, &t, -1, &o, &f, errmsg), 0);
    cr_assert_eq(f.percent, 40);
    nemesis_fault_clear(&f);
}

Test(nemesis_packet, loss_of_half_drops_roughly_half_the_pings, .init = setup2, .fini = fx_down,
     .timeout = 60)
{
    static char out[65536];
    /* One direction only (requests 1 -> 2), so each ping is lost with p = 0.5. */
    struct nemesis_fault f = {.kind = &nemesis_packet_loss, .percent = 50};
    f.drop[0] = 1u << 1;
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    printf("loss: apply %.3f ms\n", fx.ctx.last_apply_ms);
    fx_ping(0, 1, 200, "0.01", out, sizeof out);
    int got = fx_received(out);
    printf("loss 50%%: %d of 200 pings answered\n", got);
    cr_assert(got >= 40 && got <= 160, "%d of 200 received: %s", got, strstr(out, "---"));
    cr_assert_eq(nemesis_fault_heal(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    fx_ping(0, 1, 20, "0.01", out, sizeof out);
    cr_assert_eq(fx_received(out), 20, "after heal: %s", out);
}

Test(nemesis_packet, loss_and_a_partition_share_the_table_and_heal_separately, .init = setup2,
     .fini = fx_down, .timeout = 60)
{
    static char out[16384];
    struct nemesis_fault loss = {.kind = &nemesis_packet_loss, .percent = 100};
    loss.drop[0] = 1u << 1;
    struct nemesis_fault part = {.kind = nemesis_kind_find("one-way")};
    part.drop[1] = 1u << 0;
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &loss, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &part, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(nemesis_fault_heal(&fx.ctx, &part, fx.errmsg), 0, "%s", fx.errmsg);
    /* The loss (100% from 1 to 2) is still there. */
    cr_assert_neq(fx_ping(0, 1, 3, "0.1", out, sizeof out), 0, "%s", out);
    cr_assert_eq(nemesis_fault_heal(&fx.ctx, &loss, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(fx_ping(0, 1, 2, "0.1", out, sizeof out), 0, "%s", out);
}

Test(nemesis_packet, duplication_makes_ping_see_dup_replies, .init = setup2, .fini = fx_down,
     .timeout = 60)
{
    static char out[65536];
    struct nemesis_fault f;
    struct fl_rng rng;
    struct nemesis_fault_opts o;
    fl_rng_seed(&rng, 1);
    nemesis_fault_opts_default(&o);
    o.dup_percent = 50;
    cr_assert_eq(
        nemesis_fault_plan(&nemesis_packet_duplicate, &rng, &fx.topo, -1, &o, &f, fx.errmsg), 0,
        "%s", fx.errmsg);
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    printf("duplicate: apply %.3f ms\n", fx.ctx.last_apply_ms);
    fx_ping(0, 1, 40, "0.01", out, sizeof out);
    cr_assert(strstr(out, "DUP!"), "no duplicate: %s", out);
    cr_assert(strstr(out, "duplicates"), "%s", out);
    cr_assert_eq(nemesis_fault_heal(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    fx_ping(0, 1, 20, "0.01", out, sizeof out);
    cr_assert_null(strstr(out, "DUP!"), "duplicates after heal: %s", out);
    nemesis_fault_clear(&f);
}
