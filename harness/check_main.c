/* check_main.c - faultline-check: `faultline check` as a program of its own.
 *
 * It links the checker and nothing of the harness, as faultline itself
 * (main.c) does (faultline-harness loads ~50 shared libraries before main:
 * libcurl, nftables, pcap, fuse, ...). Same options, output and exit codes
 * as `faultline check`: `faultline-check FILE...` (README "Programs"). */
#include "harness/check.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error, as in faultline */
    /* `faultline-check check FILE` is accepted too, so a script can swap the
     * two programs by name alone. */
    if (argc > 1 && strcmp(argv[1], "check") == 0)
        return harness_check_main(argc - 1, argv + 1);
    return harness_check_main(argc, argv);
}
