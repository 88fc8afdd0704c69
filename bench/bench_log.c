/* bench_log.c - benchmark of the durable log's group commit: entries/s and fdatasyncs/s when
 * 1, 16 or 128 entries of 100 bytes share one io_log_sync.
 *
 *   bench_bench_log [DIR_PARENT] [SECONDS]   (default: /tmp, 2 s per batch size)
 *
 * Each batch size gets a fresh log in a temporary directory under DIR_PARENT
 * (removed afterwards) and runs append+sync rounds for SECONDS. Also reports
 * reopening (recovery scan) speed for the log written. Figures only. */
#include "common/error.h"
#include "node/io/log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ENTRY_BYTES 100

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rmdir_flat(const char *dir)
{
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            char p[512];
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int run(const char *parent, unsigned batch, double seconds)
{
    char dir[512], err[FL_ERRMSG_SIZE];
    snprintf(dir, sizeof dir, "%s/fl-bench-log-XXXXXX", parent);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    struct io_log log;
    if (io_log_open(&log, dir, NULL, NULL, err) != 0) {
        fprintf(stderr, "%s\n", err);
        rmdir_flat(dir);
        return 1;
    }
    unsigned char payload[ENTRY_BYTES];
    memset(payload, 'x', sizeof payload);
    struct raft_buf *buf = raft_buf_new(payload, sizeof payload);
    struct raft_entry *es = calloc(batch, sizeof *es);
    if (buf == NULL || es == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < batch; i++)
        es[i] = (struct raft_entry){.term = 1, .type = RAFT_COMMAND, .buf = buf};
    uint64_t index = 1, rounds = 0;
    int rc = 0;
    double t0 = now_s(), t;
    do {
        rc = io_log_append(&log, index, es, batch, err);
        if (rc == 0)
            rc = io_log_sync(&log, err);
        if (rc != 0)
            break;
        index += batch;
        rounds++;
        t = now_s() - t0;
    } while (t < seconds);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
    } else {
        printf("batch %4u: %9.0f entries/s  %7.0f fdatasync/s  %6.2f ms/sync  (%llu entries, "
               "%llu syncs, %.1f s)\n",
               batch, (double)(index - 1) / t, (double)log.stats.syncs / t,
               1000.0 * t / (double)rounds, (unsigned long long)(index - 1),
               (unsigned long long)log.stats.syncs, t);
    }
    io_log_close(&log);
    if (rc == 0) {
        struct io_log_recovery rec;
        double r0 = now_s();
        if (io_log_open(&log, dir, NULL, &rec, err) == 0) {
            double rt = now_s() - r0;
            printf("            reopen: %llu entries in %llu segments scanned in %.3f s "
                   "(%.0f entries/s)\n",
                   (unsigned long long)rec.last_index, (unsigned long long)rec.segments, rt,
                   (double)rec.last_index / rt);
            io_log_close(&log);
        } else {
            fprintf(stderr, "%s\n", err);
        }
    }
    raft_buf_unref(buf);
    free(es);
    rmdir_flat(dir);
    return rc != 0;
}

int main(int argc, char **argv)
{
    const char *parent = argc > 1 ? argv[1] : "/tmp";
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    if (seconds <= 0)
        seconds = 2.0;
    printf("durable log group commit, %d-byte entries, fdatasync per io_log_sync, dir %s\n",
           ENTRY_BYTES, parent);
    static const unsigned batches[] = {1, 16, 128};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++)
        if (run(parent, batches[i], seconds) != 0)
            return 1;
    return 0;
}
