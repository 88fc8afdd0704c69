/* runcmd.c - the `faultline run` and `faultline replay` commands: options, the scenario, runs
 * with consecutive seeds (--test-count) and the worst verdict as the exit code. */
#include "harness/runcmd.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "common/fs.h"
#include "harness/compare.h"
#include "harness/hosts.h"
#include "harness/nodelife.h"
#include "harness/run.h"
#include "harness/scenario.h"

#define PATH_SZ 1024

static const char usage[] =
    "usage: faultline run [SCENARIO.json] [options]\n"
    "       faultline replay RESULTS_DIR [options]\n"
    "\n"
    "run: builds a cluster in network namespaces, runs the scenario's workload while\n"
    "its nemesis injects faults, records every operation, checks the history and\n"
    "writes results/<scenario>/<UTC time>/ (results/latest points to it). Without a\n"
    "file, runs the built-in default (3 nodes, kv, partitions and kills, 30 s).\n"
    "replay: runs the scenario of a saved run again, with its seed and schedule.\n"
    "\n"
    "  --seed N            nemesis and workload seed (default: random, written to scenario.json)\n"
    "  --time-limit S      seconds of the fault phase (phases.faults_s)\n"
    "  --warmup S          seconds of warm-up before the faults (phases.warmup_s)\n"
    "  --heal S            quiet seconds after the faults (phases.heal_s)\n"
    "  --nodes N           voting nodes (nodes.count)\n"
    "  --impl SPEC         implementation: NAME (reference, etcd, process, client) or\n"
    "                      process:FILE / client:FILE (see faultline compare --help)\n"
    "  --test-count N      N runs with seeds SEED, SEED+1, ...; a summary at the end; the\n"
    "                      exit code is the worst verdict\n"
    "  --out DIR           results directory (a single run)\n"
    "  --node-bin PATH     the faultline-node binary (default: next to faultline)\n"
    "  --no-capture        no capture.pcap\n"
    "  --disk              mount the disk-fault filesystem under every node even without disk\n"
    "                      faults (it is mounted with them: lose-unsynced, torn-write,\n"
    "                      fsync-error, bitflip, truncate; scenarios/README.md)\n"
    "  --dry-run           print every node's command line, rendered files and hooks and the\n"
    "                      client program's (process, client); build and start nothing; with\n"
    "                      hosts, every command each host would be sent\n"
    "  --hosts FILE        run the nodes on the hosts of FILE over ssh (README: \"Running\n"
    "                      against real machines\"); node i on the file's i-th host\n"
    "  --insecure-host-keys  allow hosts whose host_key_checking is \"off\"\n"
    "  -q, --quiet         no progress lines\n"
    "  -h, --help          this text\n"
    "\n"
    "Fault kinds and their options: scenarios/README.md (nemesis.kinds, nemesis.options).\n"
    "Packet delay: `delay` holds packets delay.ms +- delay.jitter_ms and keeps their order\n"
    "unless delay.reorder_percent (default 0) is set; `reorder` holds them the same way and\n"
    "sends reorder.percent (default 25) ahead of the held ones, out of order.\n"
    "\n"
    "Needs root (namespaces). Exit status: 0 valid, 1 invalid, 2 unknown, 3 usage or\n"
    "environment error. Ctrl-C stops the run and removes everything it made;\n"
    "`faultline clean` removes what a killed run left.\n";

static int run_or_replay(int argc, char **argv, bool replay)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, 's'},
        {"time-limit", required_argument, NULL, 't'},
        {"nodes", required_argument, NULL, 'N'},
        {"impl", required_argument, NULL, 'i'},
        {"test-count", required_argument, NULL, 'c'},
        {"warmup", required_argument, NULL, 'W'},
        {"heal", required_argument, NULL, 'H'},
        {"out", required_argument, NULL, 'o'},
        {"node-bin", required_argument, NULL, 'b'},
        {"no-capture", no_argument, NULL, 'n'},
        {"disk", no_argument, NULL, 'D'},
        {"dry-run", no_argument, NULL, 'Y'},
        {"hosts", required_argument, NULL, 'O'},
        {"insecure-host-keys", no_argument, NULL, 'K'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *prog = replay ? "faultline replay" : "faultline run";
    char err[FL_ERRMSG_SIZE];
    const char *seed = NULL, *limit = NULL, *nodes = NULL, *impl = NULL, *count = NULL;
    const char *warmup = NULL, *heal = NULL, *hosts = NULL;
    struct harness_run_opts o = {0};
    bool no_capture = false, dry = false;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            seed = optarg;
            break;
        case 't':
            limit = optarg;
            break;
        case 'N':
            nodes = optarg;
            break;
        case 'i':
            impl = optarg;
            break;
        case 'c':
            count = optarg;
            break;
        case 'W':
            warmup = optarg;
            break;
        case 'H':
            heal = optarg;
            break;
        case 'o':
            o.out_dir = optarg;
            break;
        case 'b':
            o.node_bin = optarg;
            break;
        case 'n':
            no_capture = true;
            break;
        case 'D':
            o.disk = true;
            break;
        case 'Y':
            dry = true;
            break;
        case 'O':
            hosts = optarg;
            break;
        case 'K':
            o.insecure_host_keys = true;
            break;
        case 'q':
            o.quiet = true;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fprintf(stderr, "%s: unknown or incomplete option \"%s\" (see --help)\n", prog,
                    argv[optind - 1]);
            return 3;
        }
    }
    struct harness_scenario sc;
    int rv = 0;
    if (replay) {
        if (optind + 1 != argc) {
            fprintf(stderr, "%s: expected one results folder (see --help)\n", prog);
            return 3;
        }
        char path[PATH_SZ];
        snprintf(path, sizeof path, "%s/scenario.json", argv[optind]);
        rv = harness_scenario_load(path, &sc, err);
        if (rv == 0 && !sc.nemesis.seed_set) {
            fprintf(stderr, "%s: %s has no seed\n", prog, path);
            return 3;
        }
    } else if (optind + 1 < argc) {
        fprintf(stderr, "%s: one scenario file at most (see --help)\n", prog);
        return 3;
    } else if (optind < argc) {
        rv = harness_scenario_load(argv[optind], &sc, err);
    } else {
        harness_scenario_default(&sc);
    }
    if (rv != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 3;
    }
    unsigned long long v, runs = 1;
    if (seed != NULL) {
        if (fl_parse_uint("faultline run", "--seed", seed, HARNESS_SCENARIO_SEED_MAX, &v) != 0)
            return 3;
        sc.nemesis.seed = v;
        sc.nemesis.seed_set = true;
    }
    if (limit != NULL) {
        if (fl_parse_uint_range("faultline run", "--time-limit", limit, 1, 86400, &v) != 0)
            return 3;
        sc.phases.faults_s = (unsigned)v;
    }
    if (warmup != NULL) {
        if (fl_parse_uint("faultline run", "--warmup", warmup, 3600, &v) != 0)
            return 3;
        sc.phases.warmup_s = (unsigned)v;
    }
    if (heal != NULL) {
        if (fl_parse_uint("faultline run", "--heal", heal, 3600, &v) != 0)
            return 3;
        sc.phases.heal_s = (unsigned)v;
    }
    if (nodes != NULL) {
        if (fl_parse_uint_range("faultline run", "--nodes", nodes, 1, HARNESS_SCENARIO_MAX_NODES,
                                &v) != 0)
            return 3;
        sc.nodes.count = (unsigned)v;
    }
    if (impl != NULL) {
        /* As compare: another impl's own options, or a foreign one from a file. */
        struct harness_impl_spec spec;
        if (harness_impl_spec_parse(impl, &spec, err) != 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            return 3;
        }
        harness_impl_spec_apply(&spec, &sc);
    }
    if (count != NULL &&
        fl_parse_uint_range("faultline run", "--test-count", count, 1, 100000, &runs) != 0)
        return 3;
    if (no_capture)
        sc.network.capture.enabled = false;
    if (hosts != NULL) {
        if (strlen(hosts) >= sizeof sc.hosts) {
            fprintf(stderr, "%s: --hosts: path too long\n", prog);
            return 3;
        }
        snprintf(sc.hosts, sizeof sc.hosts, "%s", hosts);
    }
    if (harness_scenario_validate(&sc, sc.name, err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 3;
    }
    if (dry) { /* everything rendered, nothing built */
        if ((sc.hosts[0] ? harness_hosts_dry_run(&sc, o.insecure_host_keys, stdout, err)
                         : harness_nodelife_dry_run(&sc, stdout, err)) == 0)
            return 0;
        fprintf(stderr, "%s: %s\n", prog, err);
        return 3;
    }
    if (runs > 1 && o.out_dir != NULL) {
        fprintf(stderr, "%s: --out names one folder; it cannot take --test-count\n", prog);
        return 3;
    }
    if (geteuid() != 0 && !sc.hosts[0]) {
        fprintf(stderr, "%s: needs root (network namespaces); try sudo\n", prog);
        return 3;
    }
    if (!sc.nemesis.seed_set) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sc.nemesis.seed = ((uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 20) %
                          (HARNESS_SCENARIO_SEED_MAX - 100000);
        sc.nemesis.seed_set = true;
    }
    int worst = 0;
    unsigned counts[4] = {0};
    uint64_t base = sc.nemesis.seed;
    for (unsigned long long i = 0; i < runs; i++) {
        struct harness_run_result res;
        sc.nemesis.seed = base + i;
        if (runs > 1)
            fprintf(stderr, "== run %llu of %llu (seed %" PRIu64 ")\n", i + 1, runs,
                    sc.nemesis.seed);
        int code;
        if (harness_run_scenario(&sc, &o, &res, err) != 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            code = 3;
        } else {
            code = res.aborted ? 3 : (int)res.verdict;
        }
        counts[code]++;
        /* Worst: error > invalid > unknown > valid. */
        static const int rank[] = {0, 2, 1, 3};
        if (rank[code] > rank[worst])
            worst = code;
        if (res.aborted || code == 3)
            break;
    }
    if (runs > 1)
        printf("summary: %u valid, %u invalid, %u unknown, %u errors (%llu runs)\n", counts[0],
               counts[1], counts[2], counts[3], runs);
    return worst;
}

int harness_run_main(int argc, char **argv)
{
    return run_or_replay(argc, argv, false);
}

int harness_replay_main(int argc, char **argv)
{
    return run_or_replay(argc, argv, true);
}
