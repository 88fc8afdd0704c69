/* fuzz_client_request.c - libFuzzer target: the hand-written reader of hot client requests
 * (node/server/request.h) against jansson, which it stands in for.
 *
 * Input: one client frame body. Whatever the reader accepts, jansson (io_frame_parse_body,
 * the node's own path) must accept too, with the same type, id, session, seq and
 * command_ack (0 when absent) or seq_hint, index and consistency and an equal op (so the
 * fast path never widens or changes what a node takes); given up, the reader leaves no op
 * behind. */
#include "node/io/frame.h"
#include "node/server/request.h"
#include "fuzz_die.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t uint_or(const json_t *o, const char *k, uint64_t dflt)
{
    json_t *v = json_object_get(o, k);
    if (v == NULL)
        return dflt;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        DIE("%s: not an unsigned integer for jansson", k);
    return (uint64_t)json_integer_value(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct server_request q;
    if (server_request_read(data, size, &q) != 1) {
        if (q.op != NULL)
            DIE("given up with an op left");
        return 0;
    }
    char err[256];
    json_t *o;
    if (io_frame_parse_body(data, size, &o, err) != 1)
        DIE("the reader took what jansson refuses: %s", err);
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *want = q.type == SERVER_REQUEST_COMMAND ? "command" : "query";
    if (type == NULL || strcmp(type, want) != 0)
        DIE("type differs");
    if (uint_or(o, "id", UINT64_MAX) != q.id || uint_or(o, "session", 0) != q.session ||
        q.session == 0)
        DIE("id or session differs");
    if (q.type == SERVER_REQUEST_COMMAND && (uint_or(o, "seq", 0) != q.seq || q.seq == 0))
        DIE("seq differs");
    if (q.type == SERVER_REQUEST_COMMAND && uint_or(o, "command_ack", 0) != q.command_ack)
        DIE("command_ack differs");
    if (q.type == SERVER_REQUEST_QUERY &&
        (json_object_get(o, "command_ack") != NULL || q.command_ack != 0))
        DIE("a query with command_ack taken");
    if (q.type == SERVER_REQUEST_QUERY) {
        const char *cons = json_string_value(json_object_get(o, "consistency"));
        if (uint_or(o, "index", 0) != q.index || uint_or(o, "seq_hint", 0) != q.seq_hint ||
            strcmp(cons != NULL ? cons : "linearizable", q.consistency) != 0)
            DIE("query fields differ");
    }
    json_t *op = json_object_get(o, "op");
    if (!json_is_object(op) || !json_equal(op, q.op))
        DIE("op differs");
    json_decref(o);
    json_decref(q.op);
    return 0;
}
