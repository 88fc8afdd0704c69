/* fs.c - mkdir -p and integer options, shared by faultline and faultline-node. */
#include "common/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int fl_results_dir(char *dir, size_t cap, const char *out, const char *base)
{
    if (out != NULL) {
        if (snprintf(dir, cap, "%s", out) >= (int)cap)
            return -ENAMETOOLONG;
    } else {
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
        for (unsigned k = 0; k < 1000; k++) {
            int w = k == 0 ? snprintf(dir, cap, "%s/%s", base, stamp)
                           : snprintf(dir, cap, "%s/%s-%u", base, stamp, k);
            if (w >= (int)cap)
                return -ENAMETOOLONG;
            if (access(dir, F_OK) != 0)
                break;
        }
    }
    return fl_mkdir_p(dir);
}

int fl_parse_uint_range(const char *prog, const char *opt, const char *v, unsigned long long min,
                        unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno != 0 || *end != '\0' || v[0] == '-' || v[0] == '\0' || x < min || x > max) {
        fprintf(stderr, "%s: %s: expected an integer in [%llu, %llu], got \"%s\"\n", prog, opt, min,
                max, v);
        return -1;
    }
    *out = x;
    return 0;
}

int fl_parse_uint(const char *prog, const char *opt, const char *v, unsigned long long max,
                  unsigned long long *out)
{
    return fl_parse_uint_range(prog, opt, v, 0, max, out);
}
