/* alloc.c - checked allocation wrappers with an injectable failure point. */
#include "common/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The one process-wide mutable: a test hook, never set by production code. */
static atomic_long fail_countdown = -1;

static int should_fail(void)
{
    long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (n < 0)
        return 0;
    if (n == 0)
        return 1;
    atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed);
    return 0;
}

void *fl_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *fl_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *fl_reallocarray(void *ptr, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    return fl_realloc(ptr, n * size);
}

void *fl_realloc(void *ptr, size_t size)
{
    if (should_fail())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

char *fl_strndup(const char *s, size_t n)
{
    char *p = fl_malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *fl_strdup(const char *s)
{
    return fl_strndup(s, strlen(s));
}

void fl_free(void *ptr)
{
    free(ptr);
}

void fl_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

void fl_alloc_fail_reset(void)
{
    atomic_store(&fail_countdown, -1);
}
