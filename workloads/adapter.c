/* adapter.c - what the adapters share: building a node's argv. */
#include "workloads/adapter.h"

#include <string.h>

#include "common/error.h"

int workload_argv_push(char **argv, size_t max, size_t *argc, char *buf, size_t buflen,
                       size_t *used, const char *s)
{
    size_t n = strlen(s) + 1;
    if (*argc + 1 >= max || *used + n > buflen)
        return FL_ELIMIT;
    memcpy(buf + *used, s, n);
    argv[(*argc)++] = buf + *used;
    argv[*argc] = NULL;
    *used += n;
    return 0;
}
