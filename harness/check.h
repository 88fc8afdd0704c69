/* check.h - `faultline check`: verdicts for saved histories. */
#ifndef HARNESS_CHECK_H
#define HARNESS_CHECK_H

#include <jansson.h>
#include <stdbool.h>

/* Runs the check subcommand (argv[0] is "check"). Returns the process exit
 * code: 0 all valid, 1 some invalid, 2 some unknown (none invalid), 3 usage
 * or input error. */
int harness_check_main(int argc, char **argv);

/* A file that could not be checked: its --json line (when json; with
 * "consistency" when not NULL) and the one-line message on stderr. */
void harness_check_print_error(const char *path, const char *consistency, const char *errmsg,
                               bool json);

/* Prints O as one compact JSON line on stdout and releases it (NULL: nothing). */
void harness_check_print_json(json_t *o);

#endif
