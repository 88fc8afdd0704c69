/* client_line.h - one completion line of a client program (workloads/CLIENT_PROTOCOL.md).
 *
 * Untrusted input: any line that is not exactly a completion (a JSON object
 * with a non-negative integer "id" and a boolean "ok"; for a leader answer
 * "leader" a node name "nK" or null and an optional non-negative integer
 * "term", or "unknown": true) is refused with a one-line reason. Lines are bounded by the
 * caller (1 MiB); strings kept here are cut to fixed sizes. */
#ifndef WORKLOAD_CLIENT_LINE_H
#define WORKLOAD_CLIENT_LINE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WORKLOAD_CLIENT_MAX_LINE  (1u << 20)
#define WORKLOAD_CLIENT_ERROR_MAX 1024

enum workload_client_kind {
    WORKLOAD_CLIENT_OK,         /* "ok": true */
    WORKLOAD_CLIENT_DEFINITE,   /* "ok": false, "definite": true */
    WORKLOAD_CLIENT_INDEFINITE, /* "ok": false, definite false or missing */
};

struct workload_client_answer {
    uint64_t id;
    enum workload_client_kind kind;
    json_t *value;  /* "value" (a new reference), or NULL when absent */
    bool has_leader; /* a "leader" field was present */
    bool unknown;    /* "unknown": true (the system cannot say who leads) */
    int leader;      /* its node number K of "nK" (1-based), or 0 for null */
    int64_t term;    /* -1 when absent */
    int node;        /* "node": the node K of "nK" that served the operation, 0 when absent */
    char error[WORKLOAD_CLIENT_ERROR_MAX]; /* "" when absent */
};

/* Parses line (n bytes, no newline). Returns 0 with *a filled (release
 * a->value with json_decref), or FL_EPARSE / FL_ESHAPE with errmsg naming
 * the problem and quoting the start of the line. */
int workload_client_parse(const char *line, size_t n, struct workload_client_answer *a,
                          char *errmsg);

#endif
