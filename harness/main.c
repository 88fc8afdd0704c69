/* main.c - faultline: `check` here, every other command in faultline-harness.
 *
 * This program links the checker and nothing of the harness (statically in
 * the Release build), so `faultline check` starts without the dynamic loader
 * mapping libcurl, nftables, pcap, fuse, libuv, ... (~25 ms of CPU a call).
 * The other commands live in faultline-harness, found next to this program
 * (/proc/self/exe) and exec'd with the same arguments: same pid, same argv,
 * so process records, /proc/PID/cmdline and messages are as before. */
#include "harness/check.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HARNESS_PROGRAM "faultline-harness"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "check") == 0) {
        signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error, as in faultline-harness */
        return harness_check_main(argc - 1, argv + 1);
    }
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - sizeof HARNESS_PROGRAM - 1);
    if (n <= 0 || (size_t)n >= sizeof path - sizeof HARNESS_PROGRAM - 1) {
        fprintf(stderr, "faultline: /proc/self/exe: %s\n",
                n < 0 ? strerror(errno) : "path too long");
        return 3;
    }
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash == NULL) {
        fprintf(stderr, "faultline: /proc/self/exe is not a path: %s\n", path);
        return 3;
    }
    memcpy(slash + 1, HARNESS_PROGRAM, sizeof HARNESS_PROGRAM);
    execv(path, argv);
    fprintf(stderr,
            "faultline: %s: %s (every command but check runs in " HARNESS_PROGRAM
            ", installed next to faultline)\n",
            path, strerror(errno));
    return 3;
}
