/* compare.h - `faultline compare`: one scenario, the same seeds, several implementations side by
 * side.
 *
 * An implementation spec is NAME or NAME:bug=BUG ("reference",
 * "etcd", "reference:bug=stale-read"). For each spec the scenario runs with
 * seeds SEED, SEED+1, ... into DIR/<spec>/<seed>/ (harness_run_scenario);
 * each run's results.json is then read back into a harness_compare_run and
 * the runs of one spec are summarised: verdicts, anomalies (the invalid
 * runs' counterexamples in one line), ok/fail/info, throughput, latency,
 * unavailability and recovery after faults. The comparison is printed as a
 * table and written as DIR/compare.json and DIR/compare.html (one
 * self-contained page: no URL, only relative links to each run's report).
 *
 * The parts below the command are pure (no run, no file but results.json
 * reads), so tests drive them with fixture results.json files. */
#ifndef HARNESS_COMPARE_H
#define HARNESS_COMPARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "harness/scenario.h"

#define HARNESS_COMPARE_MAX_IMPLS   8           /* --impl given at most this often */
#define HARNESS_COMPARE_SPEC_MAX    64          /* bytes of a spec, with the NUL */
#define HARNESS_COMPARE_MAX_RUNS    1000        /* --test-count bound */
#define HARNESS_COMPARE_MAX_FAULTS  256         /* recovery times kept per run */
#define HARNESS_COMPARE_ANOMALY_MAX 256         /* bytes of an anomaly line, with the NUL */
#define HARNESS_COMPARE_RESULTS_MAX (64u << 20) /* bytes of a results.json read back */

/* Run outcome codes, as faultline run's exit codes. */
enum harness_compare_code {
    HARNESS_COMPARE_VALID = 0,
    HARNESS_COMPARE_INVALID = 1,
    HARNESS_COMPARE_UNKNOWN = 2,
    HARNESS_COMPARE_ERROR = 3,
};

/* One implementation to run: which, which planted bug, and its canonical text. */
struct harness_impl_spec {
    enum harness_impl impl;
    enum harness_bug bug;                /* HARNESS_BUG_NONE: none planted */
    bool disk;                           /* ":disk": the disk-fault filesystem under every node */
    char text[HARNESS_COMPARE_SPEC_MAX]; /* "reference", "reference:bug=stale-read",
                                            "process:redis-sentinel" (a file's name) */
    int file; /* 0, or 1 + the slot of an implementation read from a file */
};

/* Parses "NAME", "NAME:bug=BUG", "NAME:disk" or "NAME:bug=BUG:disk" (names of
 * harness_impl_name and harness_bug_name; a bug only with the reference
 * implementation; disk: run with the disk-fault filesystem mounted, for its
 * overhead), or "process:PATH" / "client:PATH" where PATH is a JSON file
 * holding either a scenario (its "implementation" is taken) or an
 * implementation object {"impl": ..., "options": {...}} of that impl; its
 * text is then "IMPL:NAME", NAME the file's "name" or its base name without
 * ".json". A foreign implementation thus joins reference and etcd in one
 * compare table. Returns 0, or FL_EUSAGE / the file's error with errmsg
 * naming what is wrong. */
int harness_impl_spec_parse(const char *s, struct harness_impl_spec *out, char *errmsg);

/* An --impl option of compare or bench: parses `arg` into specs[*n] and counts
 * it. Returns 0, or FL_EUSAGE with errmsg (more than HARNESS_COMPARE_MAX_IMPLS,
 * a bad spec, or one given twice). */
int harness_impl_spec_add(struct harness_impl_spec *specs, size_t *n, const char *arg,
                          char *errmsg);

/* Sets the implementation of `sc` (in place) to `spec`: impl and bug; the
 * whole implementation object for a spec read from a file; and when going
 * to or from process/client, the new impl's default options (a process
 * scenario's binary and args never reach etcd). */
void harness_impl_spec_apply(const struct harness_impl_spec *spec, struct harness_scenario *sc);

/* What one run gave, read back from its results.json. Latencies and rates
 * are NaN when absent (no such operation completed, or no results). */
/* The figures of one run, and of an implementation's runs summed up. NaN: none. */
struct harness_compare_figures {
    uint64_t ok, fail, info;
    double ok_per_s;             /* run: throughput.mean_ok_per_s; summary: mean over runs */
    double write_p50, write_p99; /* ms; run: latency_ms.write; summary: mean over runs */
    double read_p50, read_p99;   /* ms; the same for reads */
    double unavailable_s;        /* run: unavailability.total_s; summary: total over runs */
};

struct harness_compare_run {
    uint64_t seed;
    int code;      /* enum harness_compare_code */
    char dir[512]; /* the run's results folder, relative to the comparison folder */
    char anomaly[HARNESS_COMPARE_ANOMALY_MAX]; /* invalid: one line; error: the error; else "" */
    struct harness_compare_figures fig;
    unsigned n_faults;    /* faults[] */
    unsigned n_recovered; /* of them, with recovery_s (kept: the first MAX_FAULTS) */
    double recovery_s[HARNESS_COMPARE_MAX_FAULTS];
    unsigned n_failover; /* faults with failover_s (fault to the first ok op invoked after it) */
    double failover_s[HARNESS_COMPARE_MAX_FAULTS];
};

/* Fills *run (all but seed and dir) from a results.json object `results`
 * (borrowed). Fields that are absent or of the wrong type count as absent;
 * a verdict other than valid/invalid/unknown is an error code. Never fails. */
void harness_compare_run_from_json(const json_t *results, struct harness_compare_run *run);

/* Reads `path` (at most HARNESS_COMPARE_RESULTS_MAX bytes) into *run as
 * harness_compare_run_from_json. Returns 0, or a negative code with errmsg
 * (then run->code is HARNESS_COMPARE_ERROR and run->anomaly says why). */
int harness_compare_run_load(const char *path, struct harness_compare_run *run, char *errmsg);

/* The runs of one implementation, summarised. NaN where no run had the figure. */
struct harness_compare_summary {
    unsigned runs;
    unsigned verdicts[4];                       /* by enum harness_compare_code */
    char letters[HARNESS_COMPARE_MAX_RUNS + 1]; /* one per run in seed order: V I U E */
    struct harness_compare_figures fig;
    double unavailable_s_mean; /* per run */
    unsigned faults;           /* over runs */
    unsigned recovered;        /* faults with a recovery time */
    double recovery_median_s, recovery_max_s;
    unsigned failovers;                       /* faults with a failover time */
    double failover_median_s, failover_max_s; /* fault applied -> first ok op invoked after it */
    int worst;                                /* worst code: error > invalid > unknown > valid */
};

/* Summarises `n` runs (borrowed). */
void harness_compare_summarize(const struct harness_compare_run *runs, size_t n,
                               struct harness_compare_summary *s);

/* The worse of two codes: error > invalid > unknown > valid. */
int harness_compare_worse(int a, int b);

/* One implementation's runs in a comparison. */
struct harness_compare_impl {
    struct harness_impl_spec spec;
    struct harness_compare_run *runs; /* owned (fl_calloc), n_runs of them */
    size_t n_runs;
    struct harness_compare_summary sum;
};

/* A whole comparison: what was run, and what each implementation gave. */
struct harness_compare {
    char scenario[HARNESS_SCENARIO_NAME_MAX];
    char dir[512];  /* DIR */
    uint64_t seed;  /* first seed */
    unsigned count; /* runs per implementation */
    unsigned faults_s;
    struct harness_compare_impl impls[HARNESS_COMPARE_MAX_IMPLS];
    size_t n_impls;
};

/* Frees what the implementations own (their runs); *c keeps the rest. */
void harness_compare_free(struct harness_compare *c);

/* The exit code: the worst code over the runs of implementations without a
 * planted bug (0 valid, 1 invalid, 2 unknown, 3 error); 0 when every
 * implementation has a planted bug. */
int harness_compare_exit_code(const struct harness_compare *c);

/* True when the planted-bug implementation `i` was caught: at least one of
 * its runs invalid. False too for implementations without a bug. */
bool harness_compare_bug_caught(const struct harness_compare_impl *i);

/* Appends the table for people (fixed-width text) to `out`, then the
 * anomalies and, for each planted bug with no invalid run, a line saying it
 * was NOT caught. */
void harness_compare_table(const struct harness_compare *c, struct fl_buf *out);

/* Returns a new reference: compare.json, or NULL on OOM:
 *   {"format": 1, "scenario", "dir", "seed", "runs_per_impl", "faults_s",
 *    "exit_code", "impls": [{"spec", "impl", "bug", "bug_caught",
 *      "summary": {"runs", "valid", "invalid", "unknown", "error", "letters",
 *                  "ok", "fail", "info", "ok_per_s", "write_p50_ms", ...,
 *                  "unavailable_s", "unavailable_s_mean", "faults", "recovered",
 *                  "recovery_median_s", "recovery_max_s", "worst"},
 *      "runs": [{"seed", "verdict", "dir", "report", "anomaly", "ok", ...,
 *                "recovery_s": [...]}]}]}
 * NaN figures are written as null. */
json_t *harness_compare_json(const struct harness_compare *c);

/* Appends compare.html to `out`: one self-contained page (inline CSS, no
 * script, no URL; links only to ./<spec>/<seed>/report.html). Returns 0 or
 * FL_ENOMEM. */
int harness_compare_html(const struct harness_compare *c, struct fl_buf *out);

/* Runs the compare subcommand (argv[0] is "compare"). Returns the exit code
 * of harness_compare_exit_code, or 3 on a usage or environment error. */
int harness_compare_main(int argc, char **argv);

#endif
