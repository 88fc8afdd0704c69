/* clean.h - `faultline clean`: remove what killed runs left behind. */
#ifndef HARNESS_CLEAN_H
#define HARNESS_CLEAN_H

/* Runs the clean subcommand (argv[0] is "clean"): `faultline clean [--all]
 * [--dry-run] [--help]`. Prints one line per thing removed (or that would
 * be). Returns the process exit code: 0 when everything found was removed
 * (or nothing was found), 3 on a usage error, without root, or when
 * something could not be removed. */
int harness_clean_main(int argc, char **argv);

#endif
