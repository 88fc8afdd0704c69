/* request.h - a strict, bounded reader for the hot client requests (command, query).
 *
 * The client port's frames are read by jansson (node/io/frame.h) except the two
 * requests every client operation sends: `command` and `query` (node/PROTOCOL.md
 * "Commands", "Queries"). This reader takes only their plain form (the documented
 * fields, each once; ids below 10^18; an op whose values are ASCII strings
 * without escapes or unsigned integers) and gives up on anything else, which then
 * goes through jansson as before: what is accepted, refused and answered stays
 * the same, and every refusal's message still comes from the jansson path. */
#ifndef NODE_SERVER_REQUEST_H
#define NODE_SERVER_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fields past this many in a request or its op: given up (jansson reads it). */
#define SERVER_REQUEST_MAX_FIELDS 16

enum server_request_type { SERVER_REQUEST_COMMAND = 1, SERVER_REQUEST_QUERY };

struct server_request {
    enum server_request_type type;
    uint64_t id, session;
    uint64_t seq;                /* command: >= 1 */
    uint64_t command_ack;        /* command: 0 when absent */
    uint64_t seq_hint, index;    /* query: 0 when absent */
    const char *consistency;     /* query: "linearizable", "lease", "sequential" (static) */
    json_t *op;                  /* new reference: the op object, as jansson would build it */
};

/* Reads frame body `body` (len bytes, borrowed). Returns 1 with *q filled (the
 * caller releases q->op), or 0 when the body is not a plain command or query
 * (or allocation failed): *q is then zeroed and the caller parses the body with
 * jansson. A command needs type, id, session >= 1, seq >= 1 and op, and optionally
 * command_ack; a query type,
 * id, session >= 1, op, and optionally consistency, seq_hint and index. */
int server_request_read(const unsigned char *body, size_t len, struct server_request *q);

#endif
