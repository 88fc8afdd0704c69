/* fuzz_die.h - DIE(fmt, ...): the fuzzers' way to report a broken invariant (print, then abort so
 * libFuzzer keeps the input). */
#ifndef FL_FUZZ_DIE_H
#define FL_FUZZ_DIE_H

#include <stdio.h>
#include <stdlib.h>

#define DIE(...)                                                                                   \
    do {                                                                                           \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

#endif
