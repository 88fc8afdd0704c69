/* test_capture.c - nemesis capture: the hub bridge into a pcap file that tcpdump reads, bounded in
 * size. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "nemesis/capture.h"
#include "nemesis/netns.h"
#include "nemesis/topology.h"

static struct nemesis_topology topo;
static struct nemesis_capture cap;
static char pcap_path[64];

static void init(void)
{
    char run[8], em[FL_ERRMSG_SIZE] = "";
    nemesis_run_id_new(run);
    cr_assert_eq(nemesis_topology_plan(&topo, run, NULL, 2, em), 0, "%s", em);
    cr_assert_eq(nemesis_topology_up(&topo, em), 0, "%s", em);
    snprintf(pcap_path, sizeof pcap_path, "/tmp/fltest-cap-%s.pcap", run);
}

static void fini(void)
{
    nemesis_capture_stop(&cap, NULL, NULL);
    nemesis_topology_down(&topo);
    if (pcap_path[0])
        unlink(pcap_path);
}

TestSuite(nemesis_capture, .init = init, .fini = fini);

static void ping_node(const char *count, const char *size)
{
    const char *argv[] = {
        "ping", "-q", "-c", count, "-i", "0.01", "-s", size, "-W", "1", topo.nodes[0].addr, NULL};
    char em[FL_ERRMSG_SIZE];
    cr_assert_eq(nemesis_netns_exec(topo.hub_ns, argv, em), 0, "%s", em);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

Test(nemesis_capture, pings_across_the_bridge_land_in_a_file_tcpdump_reads)
{
    char em[FL_ERRMSG_SIZE] = "";
    struct nemesis_capture_opts o = {.ns = topo.hub_ns, .dev = topo.bridge, .path = pcap_path};
    cr_assert_eq(nemesis_capture_start(&cap, &o, em), 0, "%s", em);
    cr_assert_eq(file_size(pcap_path), 24, "the header is on disk as soon as start returns");
    ping_node("3", "56");
    /* node 1 -> node 2 crosses the bridge between two ports. */
    const char *argv[] = {"ping", "-q", "-c", "2", "-i", "0.01", "-W", "1", topo.nodes[1].addr,
                          NULL};
    cr_assert_eq(nemesis_netns_exec(topo.nodes[0].ns, argv, em), 0, "%s", em);
    struct nemesis_capture_stats st;
    cr_assert_eq(nemesis_capture_stop(&cap, &st, em), 0, "%s", em);
    cr_assert_geq(st.packets, 10, "3+2 requests and 3+2 replies, got %llu",
                  (unsigned long long)st.packets);
    cr_assert_not(st.limit_reached);
    cr_assert_eq((long)st.bytes, file_size(pcap_path), "bytes counts the whole file");

    char out[65536];
    const char *tcpdump[] = {"tcpdump", "-n", "-r", pcap_path, "icmp", NULL};
    cr_assert_eq(nemesis_netns_run(NULL, tcpdump, NULL, 0, out, sizeof out, NULL, NULL, em), 0,
                 "%s", em);
    char want[96];
    snprintf(want, sizeof want, "%s > %s: ICMP echo request", topo.hub_addr, topo.nodes[0].addr);
    cr_assert(strstr(out, want), "missing \"%s\" in:\n%s", want, out);
    snprintf(want, sizeof want, "%s > %s: ICMP echo reply", topo.nodes[0].addr, topo.hub_addr);
    cr_assert(strstr(out, want), "missing \"%s\" in:\n%s", want, out);
    snprintf(want, sizeof want, "%s > %s: ICMP echo request", topo.nodes[0].addr,
             topo.nodes[1].addr);
    cr_assert(strstr(out, want), "node-to-node traffic seen on the bridge:\n%s", out);
    /* Each frame once on br0: exactly 5 requests (duplicates would double them). */
    int requests = 0;
    for (const char *p = out; (p = strstr(p, "echo request")) != NULL; p++)
        requests++;
    cr_assert_eq(requests, 5, "%s", out);

    struct nemesis_capture_stats again;
    cr_assert_eq(nemesis_capture_stop(&cap, &again, em), 0, "stop twice is fine");
    cr_assert_eq(again.packets, st.packets);
}

Test(nemesis_capture, the_file_never_exceeds_the_byte_limit)
{
    char em[FL_ERRMSG_SIZE] = "";
    struct nemesis_capture_opts o = {.ns = topo.hub_ns,
                                     .dev = topo.bridge,
                                     .path = pcap_path,
                                     .snaplen = 128,
                                     .max_bytes = 1000};
    cr_assert_eq(nemesis_capture_start(&cap, &o, em), 0, "%s", em);
    ping_node("20", "400");
    struct nemesis_capture_stats st;
    cr_assert_eq(nemesis_capture_stop(&cap, &st, em), 0, "%s", em);
    cr_assert(st.limit_reached);
    cr_assert_leq(file_size(pcap_path), 1000);
    cr_assert_eq((long)st.bytes, file_size(pcap_path));
    /* Frames are cut at snaplen (16 + 128 bytes on file at most), and the capture ended
     * because the next one did not fit: the file is within one record of the bound. */
    cr_assert_gt(st.bytes, 1000 - (16 + 128), "%llu", (unsigned long long)st.bytes);
    cr_assert_geq(st.packets, 6);
    const char *tcpdump[] = {"tcpdump", "-n", "-r", pcap_path, NULL};
    char out[16384];
    cr_assert_eq(nemesis_netns_run(NULL, tcpdump, NULL, 0, out, sizeof out, NULL, NULL, em), 0,
                 "a truncated capture is still a valid file: %s", em);
}

Test(nemesis_capture, start_reports_a_missing_device_or_namespace)
{
    char em[FL_ERRMSG_SIZE] = "";
    struct nemesis_capture_opts o = {.ns = topo.hub_ns, .dev = "nosuchdev0", .path = pcap_path};
    cr_assert_lt(nemesis_capture_start(&cap, &o, em), 0);
    cr_assert(strstr(em, "nosuchdev0"), "%s", em);
    struct nemesis_capture_opts o2 = {.ns = "fl-000000-nope", .dev = "br0", .path = pcap_path};
    cr_assert_lt(nemesis_capture_start(&cap, &o2, em), 0);
    cr_assert(strstr(em, "fl-000000-nope"), "%s", em);
    struct nemesis_capture_opts o3 = {
        .ns = topo.hub_ns, .dev = "br0", .path = pcap_path, .max_bytes = 10};
    cr_assert_eq(nemesis_capture_start(&cap, &o3, em), FL_EUSAGE);
    cr_assert(strstr(em, "max_bytes"), "%s", em);
}
