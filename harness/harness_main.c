/* harness_main.c - faultline-harness: every faultline command (main.c execs it for
 * all but check, which it runs itself; see README "Programs"). */
#include "harness/bench.h"
#include "harness/campaign.h"
#include "harness/capture_cmd.h"
#include "harness/check.h"
#include "harness/clean.h"
#include "harness/client.h"
#include "harness/compare.h"
#include "harness/index.h"
#include "harness/report_cmd.h"
#include "harness/run.h"
#include "harness/runcmd.h"
#include "harness/shrink.h"
#include "nemesis/disk.h"
#include "nemesis/fsd.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define FAULTLINE_VERSION "0.1.0"

static void usage(FILE *out)
{
    fprintf(out, "usage: faultline COMMAND [options]\n"
                 "\n"
                 "commands:\n"
                 "  check FILE...   check saved histories for linearizability (exit 0 valid,\n"
                 "                  1 invalid, 2 unknown, 3 error); see faultline check --help\n"
                 "  client ...      send one request to a faultline-node cluster (put, get, cas,\n"
                 "                  watch, members, join...); see faultline client --help\n"
                 "  run [SCENARIO]  run a scenario: cluster in namespaces, workload, nemesis,\n"
                 "                  check and report; see faultline run --help\n"
                 "  replay DIR      run a saved run's scenario again with its seed\n"
                 "  shrink DIR      a smaller scenario that still fails like the run in DIR\n"
                 "                  (fewer faults, clients, keys); see faultline shrink --help\n"
                 "  capture DIR     the run's capture.pcap decoded: Raft messages between the\n"
                 "                  nodes, TCP events; see faultline capture --help\n"
                 "  report DIR      write results.json and report.html (timeline, faults,\n"
                 "                  latency, counterexample) for a results folder or history\n"
                 "  compare SCENARIO --impl SPEC...  the same scenario and seeds for several\n"
                 "                  implementations (reference, etcd, reference:bug=BUG), side\n"
                 "                  by side; see faultline compare --help\n"
                 "  bench --impl SPEC...  fault-free writes/s, linearizable reads/s, p50/p99 at\n"
                 "                  1/16/128 clients, side by side; see faultline bench --help\n"
                 "  campaign MATRIX.json  scenarios x implementations x seeds, several runs at\n"
                 "                  once, here or on runners over ssh; see faultline campaign --help\n"
                 "  index [DIR]     write DIR/index.html (default results/): every run, with filters\n"
                 "  clean           remove what killed runs left behind (namespaces, processes,\n"
                 "                  temp dirs); see faultline clean --help\n"
                 "  fs ...          the disk-fault filesystem of one node (started by run);\n"
                 "                  see faultline fs --help\n"
                 "  fs-ctl ...      its commands and a stopped node's damage on a host (run\n"
                 "                  over ssh by run --hosts); see faultline fs-ctl --help\n"
                 "  version         print the version\n");
}

int main(int argc, char **argv)
{
    /* A peer that goes away mid-write must be an error, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 3;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "check") == 0)
        return harness_check_main(argc - 1, argv + 1);
    if (strcmp(cmd, "client") == 0)
        return harness_client_main(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return harness_report_main(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return harness_run_main(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0)
        return harness_replay_main(argc - 1, argv + 1);
    if (strcmp(cmd, "capture") == 0)
        return harness_capture_main(argc - 1, argv + 1);
    if (strcmp(cmd, "shrink") == 0)
        return harness_shrink_main(argc - 1, argv + 1);
    if (strcmp(cmd, "clean") == 0)
        return harness_clean_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("faultline %s\n", FAULTLINE_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "compare") == 0)
        return harness_compare_main(argc - 1, argv + 1);
    if (strcmp(cmd, "campaign") == 0)
        return harness_campaign_main(argc - 1, argv + 1);
    if (strcmp(cmd, "index") == 0)
        return harness_index_main(argc - 1, argv + 1);
    if (strcmp(cmd, "fs") == 0)
        return nemesis_fsd_main(argc - 1, argv + 1);
    if (strcmp(cmd, "fs-ctl") == 0)
        return nemesis_disk_ctl_main(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return harness_bench_main(argc - 1, argv + 1);
    fprintf(stderr, "faultline: unknown command \"%s\"\n", cmd);
    usage(stderr);
    return 3;
}
