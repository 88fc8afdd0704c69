/* test_support.c - temporary files and source paths for unit tests. */
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TMP 256
static char tmp_paths[MAX_TMP][64];
static int n_tmp;

static void cleanup(void)
{
    for (int i = 0; i < n_tmp; i++)
        unlink(tmp_paths[i]);
}

const char *test_tmpfile(const char *text, const char *suffix)
{
    return test_tmpfile_n(text, strlen(text), suffix);
}

const char *test_tmpfile_n(const char *text, size_t len, const char *suffix)
{
    if (n_tmp == 0)
        atexit(cleanup);
    if (n_tmp >= MAX_TMP)
        abort();
    char *p = tmp_paths[n_tmp];
    snprintf(p, 64, "/tmp/fltest-XXXXXX%s", suffix ? suffix : "");
    int fd = mkstemps(p, suffix ? (int)strlen(suffix) : 0);
    if (fd < 0)
        abort();
    if (write(fd, text, len) != (ssize_t)len)
        abort();
    close(fd);
    n_tmp++;
    return p;
}

const char *test_source_path(const char *rel)
{
    static char buf[4][4096];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 4096, "%s/%s", FL_SOURCE_DIR, rel);
    return p;
}
