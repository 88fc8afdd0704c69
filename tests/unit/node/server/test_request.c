/* test_request.c - the hot client request reader (node/server/request.h): what it takes
 * must read exactly as jansson reads it; everything else is given up (0), for jansson. */
#include "node/server/request.h"

#include <criterion/criterion.h>
#include <string.h>

/* Jansson's reading of an accepted body gives the same fields and an equal op. */
static void same_as_jansson(const char *body, const struct server_request *q)
{
    json_error_t e;
    json_t *o = json_loadb(body, strlen(body), JSON_REJECT_DUPLICATES, &e);
    cr_assert(o != NULL, "jansson refuses what the reader took: %s", body);
    const char *type = json_string_value(json_object_get(o, "type"));
    cr_assert_str_eq(type, q->type == SERVER_REQUEST_COMMAND ? "command" : "query");
    cr_assert_eq((uint64_t)json_integer_value(json_object_get(o, "id")), q->id);
    cr_assert_eq((uint64_t)json_integer_value(json_object_get(o, "session")), q->session);
    if (q->type == SERVER_REQUEST_COMMAND) {
        cr_assert_eq((uint64_t)json_integer_value(json_object_get(o, "seq")), q->seq);
        /* absent: 0, as the node's jansson path takes it */
        cr_assert_eq((uint64_t)json_integer_value(json_object_get(o, "command_ack")),
                     q->command_ack);
    } else {
        cr_assert_eq(q->command_ack, 0);
        cr_assert_eq((uint64_t)json_integer_value(json_object_get(o, "index")), q->index);
        cr_assert_eq((uint64_t)json_integer_value(json_object_get(o, "seq_hint")), q->seq_hint);
        const char *cons = json_string_value(json_object_get(o, "consistency"));
        cr_assert_str_eq(q->consistency, cons != NULL ? cons : "linearizable");
    }
    cr_assert(json_equal(json_object_get(o, "op"), q->op), "op differs: %s", body);
    json_decref(o);
}

static int rd(const char *body, struct server_request *q)
{
    return server_request_read((const unsigned char *)body, strlen(body), q);
}

Test(server_request, plain_commands_and_queries_are_read_as_jansson_reads_them)
{
    const char *ok[] = {
        "{\"type\":\"command\",\"id\":5,\"session\":42,\"seq\":18,\"op\":{\"f\":\"write\","
        "\"key\":\"k1\",\"value\":\"abc\"}}",
        "{\"type\":\"command\",\"id\":0,\"session\":1,\"seq\":1,\"op\":{\"f\":\"write\","
        "\"key\":\"k1\",\"value\":999999999999999999}}",
        " { \"op\" : { } , \"seq\" : 3 , \"session\" : 7 , \"id\" : 1 , \"type\" : \"command\" } \n",
        /* the client's command_ack (optional), anywhere, 0 or not */
        "{\"type\":\"command\",\"id\":6,\"session\":42,\"seq\":19,\"command_ack\":18,\"op\":{"
        "\"f\":\"write\",\"key\":\"k1\",\"value\":\"abc\"}}",
        "{\"command_ack\":0,\"type\":\"command\",\"id\":6,\"session\":42,\"seq\":1,\"op\":{}}",
        "{\"type\":\"query\",\"consistency\":\"linearizable\",\"id\":6,\"session\":42,"
        "\"seq_hint\":18,\"index\":97,\"op\":{\"f\":\"read\",\"key\":\"k1\"}}",
        "{\"type\":\"query\",\"id\":6,\"session\":42,\"op\":{\"f\":\"read\",\"key\":\"\"}}",
        "{\"type\":\"query\",\"consistency\":\"sequential\",\"id\":6,\"session\":2,\"index\":0,"
        "\"op\":{\"f\":\"read\"}}",
        "{\"type\":\"query\",\"consistency\":\"lease\",\"id\":6,\"session\":2,\"op\":{\"f\":\"read\"}}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        struct server_request q;
        cr_assert_eq(rd(ok[i], &q), 1, "not read: %s", ok[i]);
        same_as_jansson(ok[i], &q);
        json_decref(q.op);
    }
}

Test(server_request, anything_else_is_left_to_jansson)
{
    const char *no[] = {
        "",
        "{",
        "{}",
        "[]",
        /* truncated */
        "{\"type\":\"command\",\"id\":5,\"session\":42,\"seq\":18,\"op\":{\"f\":\"write\"}",
        "{\"type\":\"command\",\"id\":5,\"session\":42,\"seq\":18,\"op\":{\"f\":\"wri",
        /* trailing data */
        "{\"type\":\"command\",\"id\":5,\"session\":42,\"seq\":18,\"op\":{}}x",
        "{\"type\":\"command\",\"id\":5,\"session\":42,\"seq\":18,\"op\":{}}{}",
        /* duplicate keys, top level and in the op */
        "{\"type\":\"command\",\"id\":5,\"id\":6,\"session\":42,\"seq\":18,\"op\":{}}",
        "{\"type\":\"command\",\"id\":5,\"session\":42,\"seq\":18,\"op\":{\"f\":\"a\",\"f\":\"b\"}}",
        /* missing fields, zero session or seq */
        "{\"type\":\"command\",\"id\":5,\"session\":42,\"op\":{}}",
        "{\"type\":\"command\",\"session\":42,\"seq\":1,\"op\":{}}",
        "{\"type\":\"command\",\"id\":5,\"seq\":1,\"op\":{}}",
        "{\"type\":\"command\",\"id\":5,\"session\":0,\"seq\":1,\"op\":{}}",
        "{\"type\":\"command\",\"id\":5,\"session\":4,\"seq\":0,\"op\":{}}",
        "{\"type\":\"query\",\"id\":5,\"session\":4}",
        /* wrong types, negative or fractional or huge numbers, leading zeros */
        "{\"type\":\"command\",\"id\":-5,\"session\":42,\"seq\":18,\"op\":{}}",
        "{\"type\":\"command\",\"id\":5.0,\"session\":42,\"seq\":18,\"op\":{}}",
        "{\"type\":\"command\",\"id\":5e3,\"session\":42,\"seq\":18,\"op\":{}}",
        "{\"type\":\"command\",\"id\":05,\"session\":42,\"seq\":18,\"op\":{}}",
        "{\"type\":\"command\",\"id\":\"5\",\"session\":42,\"seq\":18,\"op\":{}}",
        "{\"type\":\"command\",\"id\":9223372036854775807,\"session\":42,\"seq\":18,\"op\":{}}",
        "{\"type\":\"command\",\"id\":99999999999999999999999,\"session\":4,\"seq\":1,\"op\":{}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":[]}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":\"x\"}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{\"v\":[1,2]}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{\"v\":-1}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{\"v\":true}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{\"v\":1.5}}",
        /* escapes, control characters, non-ASCII: jansson decides */
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{\"v\":\"a\\u0000\"}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{\"v\":\"a\\\"\"}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{\"v\":\"a\tb\"}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{\"v\":\"\xc3\xa9\"}}",
        /* other types and fields, fields of the other request type */
        "{\"type\":\"keepalive\",\"id\":1,\"session\":4,\"command_ack\":1,\"event_ack\":0}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{},\"extra\":1}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"seq_hint\":1,\"op\":{}}",
        "{\"type\":\"query\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{}}",
        /* command_ack: on a query, twice, not an unsigned integer below 10^18 */
        "{\"type\":\"query\",\"id\":1,\"session\":4,\"command_ack\":1,\"op\":{}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":3,\"command_ack\":1,"
        "\"command_ack\":2,\"op\":{}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":3,\"command_ack\":-1,\"op\":{}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":3,\"command_ack\":\"2\",\"op\":{}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":3,\"command_ack\":null,\"op\":{}}",
        "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":3,\"command_ack\":"
        "9223372036854775807,\"op\":{}}",
        "{\"type\":\"query\",\"consistency\":\"strong\",\"id\":1,\"session\":4,\"op\":{}}",
        "{\"type\":\"query\",\"consistency\":7,\"id\":1,\"session\":4,\"op\":{}}",
    };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        struct server_request q;
        cr_assert_eq(rd(no[i], &q), 0, "read: %s", no[i]);
        cr_assert_null(q.op);
    }
}

Test(server_request, bounded_fields)
{
    /* More op fields than SERVER_REQUEST_MAX_FIELDS: left to jansson. */
    char body[1024];
    size_t n = (size_t)snprintf(body, sizeof body,
                                "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{");
    for (int i = 0; i <= SERVER_REQUEST_MAX_FIELDS; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s\"k%d\":%d", i ? "," : "", i, i);
    snprintf(body + n, sizeof body - n, "}}");
    struct server_request q;
    cr_assert_eq(rd(body, &q), 0);
    /* A long plain value is read (the size limits are the state machine's). */
    static char big[70000];
    n = (size_t)snprintf(big, sizeof big,
                         "{\"type\":\"command\",\"id\":1,\"session\":4,\"seq\":1,\"op\":{\"v\":\"");
    memset(big + n, 'x', 66000);
    snprintf(big + n + 66000, sizeof big - n - 66000, "\"}}");
    cr_assert_eq(rd(big, &q), 1);
    same_as_jansson(big, &q);
    cr_assert_eq(json_string_length(json_object_get(q.op, "v")), 66000);
    json_decref(q.op);
}
