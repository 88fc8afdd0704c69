/* check.h - `faultline check`: verdicts for saved histories. */
#ifndef HARNESS_CHECK_H
#define HARNESS_CHECK_H

/* Runs the check subcommand (argv[0] is "check"). Returns the process exit
 * code: 0 all valid, 1 some invalid, 2 some unknown (none invalid), 3 usage
 * or input error. */
int harness_check_main(int argc, char **argv);

#endif
