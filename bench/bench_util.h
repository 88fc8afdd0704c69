/* bench_util.h - what the bench programs share: the thread CPU clock and their numeric options.
 *
 * Header only: every bench/<name>.c is a program of its own (bench/CMakeLists.txt). */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* This thread's CPU time in seconds: figures that hold on a loaded machine. */
static inline double bench_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The value of option `name` ("--batch N") in argv, 1..max, or `def` when
 * absent. Anything else exits 2 with a line naming `prog` and the option. */
static inline unsigned long bench_arg(int argc, char **argv, const char *prog, const char *name,
                                      unsigned long def, unsigned long max)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) {
            const char *s = argv[i + 1];
            char *end;
            unsigned long v = s[0] >= '0' && s[0] <= '9' ? strtoul(s, &end, 10) : 0;
            if (v == 0 || *end != '\0' || v > max) {
                fprintf(stderr, "%s: %s: expected 1..%lu\n", prog, name, max);
                exit(2);
            }
            return v;
        }
    return def;
}

#endif
