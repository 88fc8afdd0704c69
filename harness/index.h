/* index.h - results/index.html: one self-contained page listing every run in a results store.
 *
 * A results store is a folder (results/ by default) holding run folders at any
 * depth up to HARNESS_INDEX_MAX_DEPTH: results/<scenario>/<time>/, a compare's
 * <dir>/<spec>/<seed>/, a campaign's <dir>/runs/<cell>/... A run folder is one
 * with a results.json. The page lists each run (scenario, implementation, seed,
 * verdict, expected, date, link to its report.html) newest first, with filters
 * (inline script; no URL but relative links), like report.html it is
 * self-contained. `faultline run`, `compare` and `campaign` rewrite it after
 * they finish; `faultline index [DIR]` rewrites it by hand.
 *
 * The scan is bounded (depth, number of runs, bytes read per file) and never
 * follows symbolic links (results/latest is one), so an odd store cannot make
 * it loop or blow up. */
#ifndef HARNESS_INDEX_H
#define HARNESS_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"

#define HARNESS_INDEX_MAX_DEPTH 6
#define HARNESS_INDEX_MAX_RUNS  20000
#define HARNESS_INDEX_FILE_MAX  (64u << 20) /* results.json / scenario.json read at most */

/* One run, as listed. Strings are cut to fit. */
struct harness_index_run {
    char path[512];     /* the run folder, relative to the store */
    char scenario[128]; /* scenario.json name, else results.json title */
    char impl[128];     /* "reference", "reference:bug=stale-read", "etcd", ... */
    char verdict[16];   /* valid, invalid, unknown, or "?" when results.json has none */
    char expected[16];  /* the scenario's expected verdict, or "" */
    char model[32];
    int64_t seed;       /* -1: not recorded */
    time_t when;        /* results.json's modification time */
    int has_report;     /* report.html present */
};

/* Fills *run from a run folder's results.json and scenario.json texts
 * (either may be NULL). Pure: tests drive it with fixture text. */
void harness_index_run_parse(const char *results_json, const char *scenario_json,
                             struct harness_index_run *run);

/* Scans `root` for runs into *runs (a new fl_calloc'd array, *n of them,
 * newest first). Returns 0 or a negative code with errmsg. */
int harness_index_scan(const char *root, struct harness_index_run **runs, size_t *n,
                       char *errmsg);

/* Appends the page for `n` runs to `out` (title names the store). */
void harness_index_html(const struct harness_index_run *runs, size_t n, const char *title,
                        struct fl_buf *out);

/* Scans `root` and writes root/index.html atomically (a temporary file, then
 * rename); *n_runs (when not NULL) gets the number listed. Returns 0 or a
 * negative code with errmsg. */
int harness_index_write(const char *root, size_t *n_runs, char *errmsg);

/* Rewrites the index of the store holding `run_dir`: the results/ folder of the
 * working directory when run_dir is under it, else nothing. Prints a warning
 * on failure; never fails the caller. */
void harness_index_refresh(const char *run_dir);

/* `faultline index [DIR]` (argv[0] is "index"). Returns 0, or 3 on an error. */
int harness_index_main(int argc, char **argv);

#endif
