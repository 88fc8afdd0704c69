/* shrink.h - `faultline shrink RESULTS_DIR`: a smaller scenario that still fails.
 *
 * Delta debugging (Zeller's ddmin) over the failing run's nemesis schedule
 * (made explicit: harness/schedule.h), then each kept step's parameters
 * (nodes spared, shorter holds, earlier start), then the workload (clients,
 * rate, keys). Runs are not deterministic, so each candidate runs as up to
 * --tries child `faultline run` processes with seeds SEED, SEED+1, ...; it
 * counts as failing when any try is invalid (the remaining tries are skipped).
 * The final scenario runs every try again to give its reproduction rate.
 *
 * Everything goes to RESULTS_DIR/shrink/: cNNN/ (each candidate's scenario
 * and try folders), journal.jsonl (one line per finished candidate, so a
 * second call resumes from it), scenario.json (the smallest failing scenario,
 * loads with `faultline run`), table.txt (what was removed and why, each
 * candidate's verdict), shrink.json (the figures) and report.html (the best
 * failing try's report). */
#ifndef HARNESS_SHRINK_H
#define HARNESS_SHRINK_H

/* Runs the shrink subcommand (argv[0] is "shrink"). Returns 0 when the final
 * scenario reproduces the failure, 1 when no candidate (not even the
 * original) failed, 3 on usage or environment errors. */
int harness_shrink_main(int argc, char **argv);

#endif
