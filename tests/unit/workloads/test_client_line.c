/* test_client_line.c - a client program's completion lines (CLIENT_PROTOCOL.md): what is
 * accepted, and that anything else is refused with a reason. */
#include "workloads/client_line.h"

#include <criterion/criterion.h>
#include <string.h>

#include "common/error.h"

static int parse(const char *s, struct workload_client_answer *a, char *err)
{
    return workload_client_parse(s, strlen(s), a, err);
}

Test(client_line, completions)
{
    struct workload_client_answer a;
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(parse("{\"id\":7,\"ok\":true}", &a, err), 0, "%s", err);
    cr_assert_eq(a.id, 7);
    cr_assert_eq(a.kind, WORKLOAD_CLIENT_OK);
    cr_assert_null(a.value);
    cr_assert_eq(parse("{\"id\":8,\"ok\":true,\"value\":null}", &a, err), 0);
    cr_assert(json_is_null(a.value));
    json_decref(a.value);
    cr_assert_eq(parse("{\"id\":9,\"ok\":false,\"definite\":true,\"error\":\"cas mismatch\"}", &a,
                       err),
                 0);
    cr_assert_eq(a.kind, WORKLOAD_CLIENT_DEFINITE);
    cr_assert_str_eq(a.error, "cas mismatch");
    cr_assert_eq(parse("{\"id\":10,\"ok\":false}", &a, err), 0);
    cr_assert_eq(a.kind, WORKLOAD_CLIENT_INDEFINITE, "when in doubt, indefinite");
    cr_assert_eq(parse("{\"id\":11,\"ok\":true,\"leader\":\"n2\",\"term\":17}", &a, err), 0);
    cr_assert(a.has_leader);
    cr_assert_eq(a.leader, 2);
    cr_assert_eq(a.term, 17);
    cr_assert_eq(parse("{\"id\":12,\"ok\":true,\"leader\":null}", &a, err), 0);
    cr_assert(a.has_leader);
    cr_assert_eq(a.leader, 0);
    cr_assert_eq(a.term, -1);
    cr_assert_not(a.unknown);
    cr_assert_eq(parse("{\"id\":13,\"ok\":true,\"unknown\":true}", &a, err), 0);
    cr_assert(a.unknown);
    cr_assert_not(a.has_leader);
    cr_assert_eq(a.node, 0, "no node given");
    cr_assert_eq(parse("{\"id\":14,\"ok\":false,\"node\":\"n12\"}", &a, err), 0);
    cr_assert_eq(a.node, 12);
    cr_assert_eq(parse("{\"id\":15,\"ok\":true,\"node\":null}", &a, err), 0);
    cr_assert_eq(a.node, 0);
}

Test(client_line, malformed_lines_are_refused_with_a_reason)
{
    struct workload_client_answer a;
    char err[FL_ERRMSG_SIZE];
    static const struct {
        const char *line, *reason;
    } bad[] = {
        {"Traceback (most recent call last):", "not JSON"},
        {"[1,2]", "not a JSON object"},
        {"{\"ok\":true}", "id:"},
        {"{\"id\":-1,\"ok\":true}", "id:"},
        {"{\"id\":\"7\",\"ok\":true}", "id:"},
        {"{\"id\":7}", "ok:"},
        {"{\"id\":7,\"ok\":1}", "ok:"},
        {"{\"id\":7,\"ok\":false,\"definite\":\"yes\"}", "definite:"},
        {"{\"id\":7,\"ok\":false,\"error\":3}", "error:"},
        {"{\"id\":7,\"ok\":true,\"leader\":\"node2\"}", "leader:"},
        {"{\"id\":7,\"ok\":true,\"leader\":\"n0\"}", "leader:"},
        {"{\"id\":7,\"ok\":true,\"leader\":\"n2\",\"term\":-3}", "term:"},
        {"{\"id\":7,\"id\":8,\"ok\":true}", "not JSON"},
        {"{\"id\":7,\"ok\":true,\"unknown\":1}", "unknown:"},
        {"{\"id\":7,\"ok\":true,\"node\":\"n0\"}", "node:"},
        {"{\"id\":7,\"ok\":true,\"node\":\"n65\"}", "node:"},
        {"{\"id\":7,\"ok\":true,\"node\":\"n2x\"}", "node:"},
        {"{\"id\":7,\"ok\":true,\"node\":2}", "node:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i].line, &a, err);
        cr_assert_neq(rc, 0, "accepted %s", bad[i].line);
        cr_assert(strstr(err, bad[i].reason) != NULL, "%s: %s", bad[i].line, err);
    }
}
