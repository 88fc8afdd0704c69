/* stats.h - history statistics: latency percentiles and counts per f, and
 * throughput of ok completions over time.
 *
 * Latencies are ret_time - call_time of ok operations with both times known,
 * in nanoseconds; percentiles are exact (nearest rank over the sorted
 * latencies). Throughput counts ok completions per time bucket, bucket i
 * covering [i * bucket_ns, (i + 1) * bucket_ns) of the run's clock. Buckets
 * are 1 s unless the run is so long that more than CHECKER_STATS_MAX_BUCKETS
 * would be needed; then the width doubles until they fit. */
#ifndef CHECKER_STATS_H
#define CHECKER_STATS_H

#include "checker/history.h"
#include "common/buf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define CHECKER_STATS_MAX_BUCKETS 100000
#define CHECKER_STATS_BUCKET_NS   1000000000LL

/* Statistics of one operation name. Latencies are -1 when lat_count is 0. */
struct checker_stats_f {
    char *f;                      /* owned */
    size_t count, ok, fail, info; /* info includes operations never completed */
    size_t lat_count;
    int64_t p50, p90, p99, max; /* ns */
};

struct checker_stats {
    struct checker_stats_f *fs; /* owned, sorted by f */
    size_t n_fs;
    size_t count, ok, fail, info; /* all operations */
    int64_t bucket_ns;            /* width of a throughput bucket */
    size_t *buckets;              /* owned: ok completions per bucket */
    size_t n_buckets;
};

/* Computes the statistics of `h` (borrowed) into *s, released with
 * checker_stats_free. Returns 0 or FL_ENOMEM (then *s holds nothing). */
int checker_stats_compute(const struct checker_history *h, struct checker_stats *s, char *errmsg);
void checker_stats_free(struct checker_stats *s);

/* Returns a new reference or NULL on OOM: {"count", "ok", "fail", "info",
 * "by_f": {F: {"count", "ok", "fail", "info", "latency_ms": {"count", "p50",
 * "p90", "p99", "max"}}}, "throughput": {"bucket_s", "ok_per_s": [...]}}.
 * Latency figures are milliseconds (reals), null when there are none. */
json_t *checker_stats_json(const struct checker_stats *s);
/* Appends a plain text table, one row per f, then a throughput line. */
void checker_stats_table(const struct checker_stats *s, struct fl_buf *out);

#endif
