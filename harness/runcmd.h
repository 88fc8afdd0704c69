/* runcmd.h - the `faultline run` and `faultline replay` commands (harness_run_scenario does
 * one run: run.h). */
#ifndef HARNESS_RUNCMD_H
#define HARNESS_RUNCMD_H

/* Runs the run subcommand (argv[0] is "run"). Returns the exit code: 0 valid,
 * 1 invalid, 2 unknown, 3 usage or environment error (Jepsen's convention). */
int harness_run_main(int argc, char **argv);

/* `faultline replay RESULTS_DIR`: the saved scenario again, same seed. */
int harness_replay_main(int argc, char **argv);

#endif
