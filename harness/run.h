/* run.h - `faultline run`: a cluster in namespaces under a nemesis, recorded, checked, reported. */
#ifndef HARNESS_RUN_H
#define HARNESS_RUN_H

/* Runs the run subcommand (argv[0] is "run"). Returns the exit code: 0 valid,
 * 1 invalid, 2 unknown, 3 usage or environment error (Jepsen's convention). */
int harness_run_main(int argc, char **argv);

#endif
