/* test_topology.c - nemesis topology: planning (pure), subnet checks, and real namespaces up and
 * down. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "nemesis/netns.h"
#include "nemesis/registry.h"
#include "nemesis/topology.h"

/* Every test that brings a topology up puts it here; fini takes it down even
 * when an assertion failed (a crash leaves a registry that `faultline clean`
 * removes). */
static struct nemesis_topology topos[2];

static void fini(void)
{
    for (int i = 0; i < 2; i++)
        nemesis_topology_down(&topos[i]);
}

TestSuite(nemesis_topology, .fini = fini);

static char *netns_list(void)
{
    static char out[16384];
    const char *argv[] = {"ip", "netns", "list", NULL};
    char em[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_netns_run(NULL, argv, NULL, 0, out, sizeof out, NULL, NULL, em), 0, "%s",
                 em);
    return out;
}

/* Whether `ns` appears as a whole word at the start of a line of `ip netns list`. */
static bool listed(const char *list, const char *ns)
{
    size_t n = strlen(ns);
    for (const char *p = list; (p = strstr(p, ns)) != NULL; p += n)
        if ((p == list || p[-1] == '\n') && (p[n] == '\n' || p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static int ping(const char *ns, const char *addr)
{
    const char *argv[] = {"ping", "-c1", "-W1", "-q", addr, NULL};
    char em[FL_ERRMSG_SIZE];
    return nemesis_netns_exec(ns, argv, em);
}

/* ==== Planning (pure) ==== */

Test(nemesis_topology, plan_fills_names_and_addresses_from_the_run_id)
{
    struct nemesis_topology t;
    char em[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 3, em), 0, "%s", em);
    cr_assert_str_eq(t.run, "abc123");
    cr_assert_str_eq(t.hub_ns, "fl-abc123-hub");
    cr_assert_str_eq(t.bridge, "br0");
    cr_assert_str_eq(t.subnet, "198.51.100.0");
    cr_assert_str_eq(t.hub_addr, "198.51.100.254");
    cr_assert_eq(t.n, 3);
    cr_assert_not(t.up);
    cr_assert_str_eq(t.nodes[0].ns, "fl-abc123-n1");
    cr_assert_str_eq(t.nodes[2].ns, "fl-abc123-n3");
    cr_assert_str_eq(t.nodes[0].hub_veth, "flabc123v1");
    cr_assert_str_eq(t.nodes[0].addr, "198.51.100.1");
    cr_assert_str_eq(t.nodes[2].addr, "198.51.100.3");

    cr_assert_eq(nemesis_topology_plan(&t, "0f0f0f", "10.77.3.0", 16, em), 0, "%s", em);
    cr_assert_str_eq(t.nodes[15].ns, "fl-0f0f0f-n16");
    cr_assert_str_eq(t.nodes[15].hub_veth, "fl0f0f0fv16");
    cr_assert_lt(strlen(t.nodes[15].hub_veth), 16, "interface names fit IFNAMSIZ");
    cr_assert_str_eq(t.nodes[15].addr, "10.77.3.16");
    cr_assert_str_eq(t.hub_addr, "10.77.3.254");
}

Test(nemesis_topology, plan_refuses_bad_node_counts_and_run_ids)
{
    struct nemesis_topology t;
    char em[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 0, em), FL_EUSAGE);
    cr_assert(strstr(em, "nodes"), "%s", em);
    cr_assert_eq(nemesis_topology_plan(&t, "abc123", NULL, 17, em), FL_EUSAGE);
    cr_assert_eq(nemesis_topology_plan(&t, "ABC123", NULL, 3, em), FL_EUSAGE);
    cr_assert(strstr(em, "run id"), "%s", em);
    cr_assert_eq(nemesis_topology_plan(&t, "abc12", NULL, 3, em), FL_EUSAGE);
    cr_assert_eq(nemesis_topology_plan(&t, "abc1234", NULL, 3, em), FL_EUSAGE);
    cr_assert_eq(nemesis_topology_plan(&t, "../../x", NULL, 3, em), FL_EUSAGE);
    cr_assert_eq(nemesis_topology_plan(&t, NULL, NULL, 3, em), FL_EUSAGE);
}

Test(nemesis_topology, run_ids_are_six_hex_digits_and_differ)
{
    char a[8], b[8];
    nemesis_run_id_new(a);
    nemesis_run_id_new(b);
    cr_assert(nemesis_run_id_ok(a), "%s", a);
    cr_assert(nemesis_run_id_ok(b), "%s", b);
    cr_assert_str_neq(a, b, "24 random bits twice: a collision is a 1 in 16M event");
}

Test(nemesis_topology, plan_refuses_subnets_that_are_not_a_24_dotted_quad)
{
    static const char *const bad[] = {"198.51.100.0/24", "198.51.100.1", "198.51.100", "1.2.3.4.0",
                                      "256.1.1.0",       "abc",          "",           "01.2.3.0",
                                      " 10.1.2.0",       "10.1.2.0 ",    "10..2.0",    "127.0.0.0",
                                      "224.0.0.0",       "0.1.2.0",      "10.1.2.-0",  "1e1.1.1.0"};
    struct nemesis_topology t;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char em[FL_ERRMSG_SIZE] = "";
        cr_assert_eq(nemesis_topology_plan(&t, "abc123", bad[i], 3, em), FL_EUSAGE, "%s", bad[i]);
        cr_assert(strstr(em, "subnet"), "%s: %s", bad[i], em);
        cr_assert_eq(nemesis_topology_check_subnet(bad[i], em), FL_EUSAGE, "%s", bad[i]);
    }
}

/* ==== Subnet overlap with the root namespace ==== */

/* The /24 containing the first global IPv4 address of the root namespace. */
static bool root_subnet(char out[16])
{
    char buf[65536], em[FL_ERRMSG_SIZE];
    const char *argv[] = {"ip", "-4", "-o", "addr", "show", "scope", "global", NULL};
    if (nemesis_netns_run(NULL, argv, NULL, 0, buf, sizeof buf, NULL, NULL, em) != 0)
        return false;
    char *p = strstr(buf, " inet ");
    if (!p)
        return false;
    unsigned a, b, c;
    if (sscanf(p + 6, "%u.%u.%u.", &a, &b, &c) != 3)
        return false;
    snprintf(out, 16, "%u.%u.%u.0", a, b, c);
    return true;
}

Test(nemesis_topology, check_subnet_refuses_the_root_namespaces_own_network)
{
    char sub[16], em[FL_ERRMSG_SIZE] = "";
    cr_assert(root_subnet(sub), "the root namespace has a global IPv4 address");
    cr_assert_eq(nemesis_topology_check_subnet(sub, em), FL_EUSAGE, "%s", sub);
    cr_assert(strstr(em, "overlaps"), "%s", em);
    cr_assert(strstr(em, sub), "names the subnet: %s", em);
    /* The loopback network is an address of the root namespace too. */
    cr_assert_eq(nemesis_topology_check_subnet("127.0.0.0", em), FL_EUSAGE);
}

Test(nemesis_topology, check_subnet_accepts_the_default_test_net)
{
    char em[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(nemesis_topology_check_subnet(NEMESIS_DEFAULT_SUBNET, em), 0, "%s", em);
}

Test(nemesis_topology, up_refuses_an_overlapping_subnet_and_creates_nothing)
{
    char sub[16], run[8], em[FL_ERRMSG_SIZE] = "";
    cr_assert(root_subnet(sub));
    nemesis_run_id_new(run);
    cr_assert_eq(nemesis_topology_plan(&topos[0], run, sub, 2, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&topos[0], em), FL_EUSAGE);
    cr_assert(strstr(em, "overlaps"), "%s", em);
    cr_assert_not(topos[0].up);
    cr_assert_not(nemesis_topology_ns_exists(topos[0].hub_ns));
    char path[512];
    nemesis_registry_path(NULL, run, path, sizeof path);
    cr_assert_neq(access(path, F_OK), 0, "no registry file for a refused run");
}

/* ==== Real namespaces ==== */

static void up_ping_down(unsigned n)
{
    struct nemesis_topology *t = &topos[0];
    char run[8], em[FL_ERRMSG_SIZE] = "", path[512];
    nemesis_run_id_new(run);
    cr_assert_eq(nemesis_topology_plan(t, run, NULL, n, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(t, em), 0, "%s", em);
    cr_assert(t->up);

    char *list = netns_list();
    cr_assert(listed(list, t->hub_ns), "%s missing from:\n%s", t->hub_ns, list);
    for (unsigned i = 0; i < n; i++)
        cr_assert(listed(list, t->nodes[i].ns), "%s missing", t->nodes[i].ns);
    nemesis_registry_path(NULL, run, path, sizeof path);
    cr_assert_eq(access(path, F_OK), 0, "the run is registered in %s", path);

    for (unsigned i = 0; i < n; i++)
        cr_assert_eq(ping(t->hub_ns, t->nodes[i].addr), 0, "hub -> %s", t->nodes[i].addr);
    /* Node to node, both directions around the ring. */
    for (unsigned i = 0; i < n; i++)
        cr_assert_eq(ping(t->nodes[i].ns, t->nodes[(i + 1) % n].addr), 0, "%s -> %s",
                     t->nodes[i].ns, t->nodes[(i + 1) % n].addr);
    cr_assert_eq(ping(t->nodes[0].ns, t->hub_addr), 0, "node -> hub");

    cr_assert_eq(nemesis_topology_down(t), 0);
    cr_assert_not(t->up);
    list = netns_list();
    cr_assert_not(listed(list, t->hub_ns), "%s left behind", t->hub_ns);
    for (unsigned i = 0; i < n; i++)
        cr_assert_not(listed(list, t->nodes[i].ns), "%s left behind", t->nodes[i].ns);
    cr_assert_neq(access(path, F_OK), 0, "registry file removed");
    cr_assert_eq(nemesis_topology_down(t), 0, "down twice is fine");
}

Test(nemesis_topology, three_nodes_come_up_reach_each_other_and_go_away)
{
    up_ping_down(3);
}

Test(nemesis_topology, five_nodes_come_up_reach_each_other_and_go_away)
{
    up_ping_down(5);
}

Test(nemesis_topology, two_runs_coexist_without_touching_each_other)
{
    char ra[8], rb[8], em[FL_ERRMSG_SIZE] = "";
    nemesis_run_id_new(ra);
    do
        nemesis_run_id_new(rb);
    while (strcmp(ra, rb) == 0);
    cr_assert_eq(nemesis_topology_plan(&topos[0], ra, NULL, 3, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_plan(&topos[1], rb, NULL, 2, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&topos[0], em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&topos[1], em), 0, "%s", em);
    /* Same addresses, separate namespaces: each hub reaches its own nodes. */
    cr_assert_eq(ping(topos[0].hub_ns, topos[0].nodes[2].addr), 0);
    cr_assert_eq(ping(topos[1].hub_ns, topos[1].nodes[1].addr), 0);
    cr_assert_neq(ping(topos[1].hub_ns, topos[0].nodes[2].addr), 0,
                  "run B has no third node: .3 is unreachable from its hub");
    cr_assert_eq(nemesis_topology_down(&topos[1]), 0);
    cr_assert(nemesis_topology_ns_exists(topos[0].hub_ns), "A survives B's teardown");
    cr_assert_eq(ping(topos[0].hub_ns, topos[0].nodes[0].addr), 0);
    cr_assert_eq(nemesis_topology_down(&topos[0]), 0);
    cr_assert_not(nemesis_topology_ns_exists(topos[0].hub_ns));
}

Test(nemesis_topology, up_refuses_a_run_id_in_use_and_leaves_the_other_run_alone)
{
    char run[8], em[FL_ERRMSG_SIZE] = "";
    nemesis_run_id_new(run);
    cr_assert_eq(nemesis_topology_plan(&topos[0], run, NULL, 2, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_plan(&topos[1], run, NULL, 2, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&topos[0], em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&topos[1], em), -EEXIST);
    cr_assert(strstr(em, "already exists"), "%s", em);
    cr_assert_not(topos[1].up);
    cr_assert_eq(nemesis_topology_down(&topos[1]), 0, "down of a refused topology is a no-op");
    cr_assert(nemesis_topology_ns_exists(topos[0].hub_ns));
    cr_assert(nemesis_topology_ns_exists(topos[0].nodes[1].ns));
    cr_assert_eq(ping(topos[0].hub_ns, topos[0].nodes[1].addr), 0);
}

Test(nemesis_topology, down_kills_processes_left_inside_and_removes_recorded_temp_dirs)
{
    char run[8], em[FL_ERRMSG_SIZE] = "";
    nemesis_run_id_new(run);
    cr_assert_eq(nemesis_topology_plan(&topos[0], run, NULL, 1, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&topos[0], em), 0, "%s", em);
    char dir[] = "/tmp/fltest-topo-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char file[64];
    snprintf(file, sizeof file, "%s/data", dir);
    FILE *f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs("x", f);
    fclose(f);
    cr_assert_eq(nemesis_registry_add_tempdir(NULL, run, dir, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_down(&topos[0]), 0);
    cr_assert_neq(access(dir, F_OK), 0, "temp dir removed");
}

Test(nemesis_topology, a_failure_half_way_removes_what_was_made)
{
    char run[8], em[FL_ERRMSG_SIZE] = "", path[512];
    nemesis_run_id_new(run);
    cr_assert_eq(nemesis_topology_plan(&topos[0], run, NULL, 3, em), 0, "%s", em);
    /* The third node's address is refused by `ip` after everything else exists. */
    snprintf(topos[0].nodes[2].addr, sizeof topos[0].nodes[2].addr, "198.51.100.999");
    cr_assert_lt(nemesis_topology_up(&topos[0], em), 0);
    cr_assert(strstr(em, run), "names the run: %s", em);
    cr_assert_not(topos[0].up);
    char *list = netns_list();
    cr_assert_not(listed(list, topos[0].hub_ns), "%s", list);
    for (unsigned i = 0; i < 3; i++)
        cr_assert_not(listed(list, topos[0].nodes[i].ns), "%s", list);
    nemesis_registry_path(NULL, run, path, sizeof path);
    cr_assert_neq(access(path, F_OK), 0, "registry file removed");
}

Test(nemesis_topology, up_keeps_the_callers_own_record_and_refuses_another_owners)
{
    char run[8], em[FL_ERRMSG_SIZE] = "", path[512];
    nemesis_run_id_new(run);
    cr_assert_eq(nemesis_topology_plan(&topos[0], run, NULL, 1, em), 0, "%s", em);
    /* Recorded before up, as faultline run does: its temp dir named first. */
    struct nemesis_registry reg;
    cr_assert_eq(nemesis_registry_init(&reg, &topos[0]), 0);
    cr_assert_eq(nemesis_registry_create(NULL, &reg, em), 0, "%s", em);
    char dir[] = "/tmp/fltest-topo-XXXXXX";
    cr_assert_eq(nemesis_registry_mkdtemp(NULL, run, dir, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&topos[0], em), 0, "%s", em);
    nemesis_registry_path(NULL, run, path, sizeof path);
    cr_assert_eq(nemesis_registry_load(path, &reg, em), 0, "%s", em);
    cr_assert_eq(reg.n_dirs, 1, "up kept the temp dir in the record");
    cr_assert_eq(reg.n_ns, 2, "and added the namespaces");
    cr_assert_eq(nemesis_topology_down(&topos[0]), 0);
    cr_assert_neq(access(dir, F_OK), 0, "temp dir removed with the run");

    /* Another harness's record of this id: refused, not overwritten. */
    reg.owner = 1;
    reg.n_dirs = 0;
    cr_assert_eq(nemesis_registry_create(NULL, &reg, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&topos[0], em), -EEXIST);
    cr_assert(strstr(em, "another run"), "%s", em);
    cr_assert_not(topos[0].up);
    cr_assert_eq(nemesis_registry_load(path, &reg, em), 0, "%s", em);
    cr_assert_eq(reg.owner, 1, "the other record stands");
    nemesis_registry_remove(NULL, run);
}
