/* runner.h - concurrent workload processes on a libuv loop, every event streamed to the history.
 *
 * `concurrency` processes each keep one operation in flight against the
 * cluster through an adapter. Each event (invoke, then ok / fail / info) is
 * appended at once to the history file (DESIGN.md "Histories") with the
 * harness's monotonic time since the run started: nothing of the run's
 * traffic is held in memory. A process whose operation ends unknown (info)
 * retires with its client, and a fresh process number takes its place, as in
 * Jepsen. An optional rate limit spreads operations evenly over time. */
#ifndef WORKLOAD_RUNNER_H
#define WORKLOAD_RUNNER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "common/history.h"
#include "workloads/adapter.h"
#include "workloads/generator.h"

/* The history file of a run, shared by workload processes and the nemesis. */
struct workload_history {
    struct fl_history_writer w;
    uint64_t t0_ns; /* uv_hrtime() at the start of the run */
    int64_t next_index;
    int failed; /* first write error, then every record is refused */
    char errmsg[256];
    uint64_t ok, fail, info, invoke;
    /* Completions that named the node serving them ("nK"), and the ok ones per node. */
    uint64_t named, ok_node[WORKLOAD_MAX_NODES];
};

int workload_history_open(struct workload_history *h, const char *path, uint64_t t0_ns,
                          char *errmsg);
/* Hands the events recorded so far to the OS (with h->w.deferred, the run
 * calls it once per loop iteration: one write for many events). Returns 0 or
 * the first write error (kept in h->errmsg). */
int workload_history_flush(struct workload_history *h);
/* Appends one event: process (FL_PROCESS_NEMESIS for the nemesis), type, f,
 * key and value (borrowed, may be NULL), node, consistency and error (the
 * adapter's text of a fail/info, cut at 200 bytes; may be NULL). Returns 0 or the
 * first write error (kept in h->errmsg). */
int workload_history_record(struct workload_history *h, int64_t process, enum fl_event_type type,
                            const char *f, const json_t *key, const json_t *value,
                            const char *node, const char *consistency, const char *error);
/* Appends an event given as a JSON object (borrowed; "index" and "time" are
 * set here), e.g. a nemesis event. Returns 0 or the first write error. */
int workload_history_record_json(struct workload_history *h, json_t *obj);
int workload_history_close(struct workload_history *h, char *errmsg);

struct workload_runner_config {
    struct workload_generator_config gen;
    unsigned concurrency;
    double rate_per_s; /* all processes together; 0: as fast as they go */
    enum workload_consistency consistency;
    uint64_t op_timeout_ms;
    /* Final reads: a read that fails or ends unknown is tried again (after
     * WORKLOAD_FINAL_RETRY_MS) until it is ok or this long has passed since
     * the final reads began; 0: the larger of 10 s and 3 op timeouts. */
    uint64_t final_budget_ms;
};

#define WORKLOAD_FINAL_RETRY_MS 100

struct workload_slot;

struct workload_runner {
    uv_loop_t *loop;
    struct workload_runner_config c;
    const struct workload_adapter *adapter;
    const struct workload_cluster *cluster; /* borrowed for the runner's life */
    struct workload_history *history;       /* borrowed */
    struct workload_generator gen;
    struct workload_slot *slots;
    int64_t next_process;
    bool running;   /* issuing new operations */
    unsigned in_flight;
    unsigned open_clients;
    void (*idle_cb)(void *data); /* stop/final reads/close completion */
    void *idle_data;
    int phase; /* internal */
    json_t **final_keys;
    uint64_t n_final, final_next, final_done;
    uint64_t final_deadline; /* uv_now() ms: no retries after it */
    char errmsg[256];
    /* Slots whose next operation starts at once: issued by `ready_check` after the
     * loop's callbacks (no timer per operation). */
    uv_check_t ready_check;
    struct workload_slot **ready;
    unsigned n_ready;
};

int workload_runner_init(struct workload_runner *r, uv_loop_t *loop,
                         const struct workload_runner_config *c,
                         const struct workload_adapter *adapter,
                         const struct workload_cluster *cluster, struct workload_history *history,
                         char *errmsg);
/* Starts the processes. */
void workload_runner_start(struct workload_runner *r);
/* Stops issuing operations; cb(data) once every operation in flight ended. */
void workload_runner_stop(struct workload_runner *r, void (*cb)(void *data), void *data);
/* Reads every key the run touched, linearizably, retrying each read that
 * fails (same process) or ends unknown (from a fresh process) until it is ok
 * or the final-read budget is spent; cb(data) when all are done. A key whose
 * every final read failed has no final read: the checkers treat what was
 * acknowledged after the last ok read as never read, not lost. */
void workload_runner_final_reads(struct workload_runner *r, void (*cb)(void *data), void *data);
/* Closes every client; cb(data) when all are closed. Then free with _free. */
void workload_runner_close(struct workload_runner *r, void (*cb)(void *data), void *data);
void workload_runner_free(struct workload_runner *r);

#endif
