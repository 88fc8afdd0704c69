/* alloc.h - allocation entry points with a failure-injection hook for tests.
 *
 * Every allocation in the project goes through these so a test can make the
 * Nth allocation fail and check that the failure is handled, not crashed on.
 * They return NULL on failure like the libc calls; callers must check. */
#ifndef FL_ALLOC_H
#define FL_ALLOC_H

#include <stddef.h>

void *fl_malloc(size_t size);
void *fl_calloc(size_t n, size_t size);
/* Returns NULL (and leaves ptr untouched) on failure or on n*size overflow. */
void *fl_reallocarray(void *ptr, size_t n, size_t size);
void *fl_realloc(void *ptr, size_t size);
char *fl_strdup(const char *s);
char *fl_strndup(const char *s, size_t n);
void fl_free(void *ptr);

/* Test hook: after `n` more successful allocations, every allocation fails
 * until fl_alloc_fail_reset(). n < 0 disables injection. The counter is
 * process-wide and atomic: meant for single-purpose test processes. */
void fl_alloc_fail_after(long n);
void fl_alloc_fail_reset(void);

#endif
