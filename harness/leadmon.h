/* leadmon.h - a run's leader monitor: every node is asked who leads each round (adapter.h, the
 * leader question); the answer with the highest term decides (workload_leader_decide). */
#ifndef HARNESS_LEADMON_H
#define HARNESS_LEADMON_H

#include <jansson.h>
#include <stddef.h>

#include "nemesis/topology.h"
#include "workloads/adapter.h"

/* Caller-allocated; the caller opens `client` (the adapter's, client_open) and closes it. */
struct harness_leadmon {
    const struct workload_adapter *adapter; /* borrowed */
    struct workload_cluster *cl;            /* borrowed: n */
    void *client;                           /* the adapter's client asking who leads, or NULL */
    struct workload_call call[NEMESIS_MAX_NODES]; /* one question per node per round */
    json_t *answer[NEMESIS_MAX_NODES];
    unsigned pending;            /* questions of the round still out */
    struct workload_leader lead; /* the latest round's decision */
    int leader;                  /* lead.node: index, -1 when none or unknown */
    char last_error[256];        /* the latest failed question's error ("" if none) */
};

/* Nothing asked yet: leader -1, why "not asked yet". */
void harness_leadmon_init(struct harness_leadmon *m, const struct workload_adapter *adapter,
                          struct workload_cluster *cl);
/* Starts a round unless one is still out (or there is no client); the answers update
 * m->lead and m->leader when the last one comes. */
void harness_leadmon_ask(struct harness_leadmon *m);
/* The leader as the progress line and the history name it: "n2 (term 3)", "unknown (why)". */
void harness_leadmon_text(const struct harness_leadmon *m, char *out, size_t len);

#endif
