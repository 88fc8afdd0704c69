/* run.h - `faultline run`: a cluster in namespaces under a nemesis, recorded, checked, reported. */
#ifndef HARNESS_RUN_H
#define HARNESS_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "checker/linear.h"
#include "harness/scenario.h"

struct harness_run_opts {
    const char *out_dir;  /* NULL: results/<name>/<UTC time> and results/latest */
    const char *node_bin; /* NULL: next to the faultline binary */
    bool quiet;           /* no progress lines */
    bool disk;            /* the disk-fault filesystem under every node even without disk
                             faults (bench: its overhead) */
    bool insecure_host_keys; /* hosts: allow host_key_checking "off" */
};

struct harness_run_result {
    char dir[512];
    enum checker_verdict verdict;
    bool aborted; /* interrupted (Ctrl-C, SIGTERM) */
    uint64_t ok, fail, info;
    unsigned faults;
    /* CPU over the fault phase (bench: the measured window): of the node processes
     * (utime+stime of each node's pid, its threads included; local nodes only) and of
     * the harness itself (getrusage, every thread). cpu_ok false when a node could not be
     * read (on hosts, a node restarted or gone) or the phase did not end. */
    bool cpu_ok;
    double window_s, node_cpu_s, harness_cpu_s;
    uint64_t window_ok; /* ok operations completed in that window */
};

/* Runs one scenario whose seed is set: topology up, nodes, workload, nemesis,
 * capture, then the check and the report (results.json, report.html) in the
 * results folder. Returns 0 with *res filled for any verdict, or -1 with
 * errmsg (FL_ERRMSG_SIZE) when the run could not be carried out. Always
 * removes what it made (namespaces, processes, temporary directories). */
int harness_run_scenario(const struct harness_scenario *sc, const struct harness_run_opts *o,
                         struct harness_run_result *res, char *errmsg);

#endif
