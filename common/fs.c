/* fs.c - mkdir -p and integer options, shared by faultline and faultline-node. */
#include "common/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int fl_mkdir_p(const char *dir)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int fl_parse_uint(const char *prog, const char *opt, const char *v, unsigned long long max,
                  unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || v[0] == '-' || v[0] == '\0' || x > max) {
        fprintf(stderr, "%s: %s: expected an integer in [0, %llu], got \"%s\"\n", prog, opt, max,
                v);
        return -1;
    }
    *out = x;
    return 0;
}
