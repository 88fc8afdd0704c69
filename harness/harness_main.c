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
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define FAULTLINE_VERSION "0.1.0"

/* ==== Commands ==== */

static int version_main(int argc, char **argv);
static int help_main(int argc, char **argv);

/* The one list of commands: main dispatches through it and --help prints it,
 * so the two cannot disagree. A row without help is an alias, not listed. */
static const struct command {
    const char *name;
    const char *args;                   /* shown after the name in the list */
    int (*main)(int argc, char **argv); /* argv[0] is the command's name */
    const char *help;                   /* one line, wrapped when printed */
} commands[] = {
    {"check", "FILE...", harness_check_main,
     "check saved histories for linearizability (exit 0 valid, 1 invalid, 2 unknown, 3 error); "
     "see faultline check --help"},
    {"client", "...", harness_client_main,
     "send one request to a faultline-node cluster (put, get, cas, watch, members, join...); "
     "see faultline client --help"},
    {"run", "[SCENARIO]", harness_run_main,
     "run a scenario: cluster in namespaces, workload, nemesis, check and report; "
     "see faultline run --help"},
    {"replay", "DIR", harness_replay_main, "run a saved run's scenario again with its seed"},
    {"shrink", "DIR", harness_shrink_main,
     "a smaller scenario that still fails like the run in DIR (fewer faults, clients, keys); "
     "see faultline shrink --help"},
    {"capture", "DIR", harness_capture_main,
     "the run's capture.pcap decoded: Raft messages between the nodes, TCP events; "
     "see faultline capture --help"},
    {"report", "DIR", harness_report_main,
     "write results.json and report.html (timeline, faults, latency, counterexample) for a "
     "results folder or history"},
    {"compare", "SCENARIO --impl SPEC...", harness_compare_main,
     "the same scenario and seeds for several implementations (reference, etcd, "
     "reference:bug=BUG), side by side; see faultline compare --help"},
    {"bench", "--impl SPEC...", harness_bench_main,
     "fault-free writes/s, linearizable reads/s, p50/p99 at 1/16/128 clients, side by side; "
     "see faultline bench --help"},
    {"campaign", "MATRIX.json", harness_campaign_main,
     "scenarios x implementations x seeds, several runs at once, here or on runners over ssh; "
     "see faultline campaign --help"},
    {"index", "[DIR]", harness_index_main,
     "write DIR/index.html (default results/): every run, with filters"},
    {"clean", "", harness_clean_main,
     "remove what killed runs left behind (namespaces, processes, temp dirs); "
     "see faultline clean --help"},
    {"fs", "...", nemesis_fsd_main,
     "the disk-fault filesystem of one node (started by run); see faultline fs --help"},
    {"fs-ctl", "...", nemesis_disk_ctl_main,
     "its commands and a stopped node's damage on a host (run over ssh by run --hosts); "
     "see faultline fs-ctl --help"},
    {"version", "", version_main, "print the version"},
    {"help", "", help_main, "this list"},
    {"--version", "", version_main, NULL},
    {"--help", "", help_main, NULL},
    {"-h", "", help_main, NULL},
};

/* Prints `text` from column `at` on, its words wrapped before column 80 onto
 * lines that start at column `col`. */
static void print_wrapped(FILE *out, const char *text, int at, int col)
{
    bool first = true;
    while (*text) {
        int len = (int)strcspn(text, " ");
        if (!first && at + 1 + len > 79) {
            fprintf(out, "\n%*s", col, "");
            at = col;
        } else if (!first) {
            fputc(' ', out);
            at++;
        }
        fprintf(out, "%.*s", len, text);
        at += len;
        text += len;
        first = false;
        while (*text == ' ')
            text++;
    }
    fputc('\n', out);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: faultline COMMAND [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++) {
        const struct command *c = &commands[i];
        if (!c->help)
            continue;
        char label[64];
        snprintf(label, sizeof label, "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
        /* A label longer than its column pushes the help along the line. */
        int at = fprintf(out, "  %-14s  ", label);
        print_wrapped(out, c->help, at, 18);
    }
}

static int version_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("faultline %s\n", FAULTLINE_VERSION);
    return 0;
}

static int help_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    /* A peer that goes away mid-write must be an error, not a silent death. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 3;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "faultline: unknown command \"%s\"\n", argv[1]);
    usage(stderr);
    return 3;
}
