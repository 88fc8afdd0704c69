/* fs.h - small file-system and command-line helpers shared by the programs. */
#ifndef FL_FS_H
#define FL_FS_H

#include <stddef.h>

/* Creates `dir` and its missing parents (mode 0755), like `mkdir -p`.
 * Returns 0 or a negative errno. */
int fl_mkdir_p(const char *dir);

/* The results folder of a command: `out` when given (created if missing), else
 * "<base>/<UTC time>" (with "-K" added while that folder exists, so two runs in
 * one second get their own), created. Writes it into dir (cap bytes). Returns 0,
 * or -ENAMETOOLONG / a negative errno of mkdir. */
int fl_results_dir(char *dir, size_t cap, const char *out, const char *base);

/* Parses `v` as an unsigned decimal integer in [0, max] into *out. On error
 * prints "PROG: OPT: expected an integer in [0, MAX], got "V"" on stderr and
 * returns -1 (command-line options). */
int fl_parse_uint(const char *prog, const char *opt, const char *v, unsigned long long max,
                  unsigned long long *out);

/* The same with a lower bound: refuses x < min with "[MIN, MAX]" in the message. */
int fl_parse_uint_range(const char *prog, const char *opt, const char *v, unsigned long long min,
                        unsigned long long max, unsigned long long *out);

#endif
