/* delayer_main.c - faultline-delayer: the NFQUEUE delayer (nemesis/delayer.h) as a program of
 * its own, for delay and reordering on hosts (nemesis/remote.h).
 *
 *   faultline-delayer --queue N --delay MS [--jitter MS] [--reorder PCT] [--seed S]
 *
 * Binds NFQUEUE N in its own network namespace, prints "ready queue N" once bound (the
 * harness waits for that line, so rules queueing to N never find nobody listening), holds
 * every queued packet for its delay, and on SIGTERM or SIGINT releases what it holds, prints
 * "stopped packets P held H immediate I" and exits 0. Linked without the harness's libraries:
 * a host needs libnetfilter-queue1 only. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "nemesis/delayer.h"

static int usage(const char *why)
{
    fprintf(stderr,
            "faultline-delayer: %s\nusage: faultline-delayer --queue N --delay MS [--jitter MS] "
            "[--reorder PCT] [--seed S]\n",
            why);
    return 2;
}

/* One decimal argument in [lo, hi]. */
static bool number(const char *s, unsigned long long lo, unsigned long long hi,
                   unsigned long long *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    unsigned long long queue = 0, delay = 0, jitter = 0, reorder = 0, seed = 1;
    bool have_queue = false, have_delay = false;
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok;
        if (strcmp(argv[i], "--queue") == 0)
            ok = have_queue = number(v, 0, 65535, &queue);
        else if (strcmp(argv[i], "--delay") == 0)
            ok = have_delay = number(v, 0, 60000, &delay);
        else if (strcmp(argv[i], "--jitter") == 0)
            ok = number(v, 0, 60000, &jitter);
        else if (strcmp(argv[i], "--reorder") == 0)
            ok = number(v, 0, 100, &reorder);
        else if (strcmp(argv[i], "--seed") == 0)
            ok = number(v, 0, ULLONG_MAX, &seed);
        else
            return usage("unknown option");
        if (!ok) {
            char why[96];
            snprintf(why, sizeof why, "%s: expected a number in range", argv[i]);
            return usage(why);
        }
    }
    if (!have_queue || !have_delay)
        return usage("--queue and --delay are required");
    if (jitter > delay)
        return usage("--jitter above --delay");
    /* Blocked before the thread starts, so it inherits the mask and only sigwait sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct nemesis_delayer_opts o = {.ns = NULL,
                                     .queue_num = (uint16_t)queue,
                                     .delay_ms = (uint32_t)delay,
                                     .jitter_ms = (uint32_t)jitter,
                                     .reorder_percent = (int)reorder,
                                     .seed = seed};
    struct nemesis_delayer *d;
    char errmsg[FL_ERRMSG_SIZE];
    if (nemesis_delayer_start(&d, &o, errmsg) != 0) {
        fprintf(stderr, "faultline-delayer: %s\n", errmsg);
        return 1;
    }
    printf("ready queue %llu\n", queue);
    fflush(stdout);
    int sig;
    while (sigwait(&set, &sig) != 0)
        ;
    struct nemesis_delayer_stats st;
    nemesis_delayer_stop(d, &st);
    printf("stopped packets %" PRIu64 " held %" PRIu64 " immediate %" PRIu64 "\n", st.packets,
           st.held, st.immediate);
    return 0;
}
