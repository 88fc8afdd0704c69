/* test_history.c - pairing events into operations by process: what each
 * operation records, and each inconsistency rejected with file, line and field. */
#include "checker/history.h"
#include "common/alloc.h"
#include "common/error.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <string.h>

static int load(struct checker_history *h, const char *text, char *errmsg)
{
    return checker_history_load(h, test_tmpfile(text, ".jsonl"), FL_FORMAT_JSONL, errmsg);
}

static void rejects(const char *text, const char *want)
{
    struct checker_history h;
    char errmsg[FL_ERRMSG_SIZE] = "";
    int rc = load(&h, text, errmsg);
    cr_assert_eq(rc, FL_EHISTORY, "rc %d (%s)", rc, errmsg);
    cr_assert(strstr(errmsg, want), "message \"%s\" lacks \"%s\"", errmsg, want);
    cr_assert_null(strchr(errmsg, '\n'), "one line: %s", errmsg);
    checker_history_free(&h);
}

Test(checker_history, pairs_by_process_and_keeps_lines_and_values)
{
    struct checker_history h;
    char errmsg[FL_ERRMSG_SIZE] = "";
    int rc = load(&h,
                  "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1,\"time\":10}\n"
                  "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                  "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"partition\"}\n"
                  "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n"
                  "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1,\"time\":20}\n"
                  "{\"process\":2,\"type\":\"invoke\",\"f\":\"cas\",\"value\":[1,2]}\n"
                  "{\"process\":2,\"type\":\"fail\",\"f\":\"cas\",\"value\":[1,2]}\n"
                  "{\"process\":3,\"type\":\"invoke\",\"f\":\"write\",\"value\":3}\n"
                  "{\"process\":3,\"type\":\"info\",\"f\":\"write\",\"value\":3}\n"
                  "{\"process\":4,\"type\":\"invoke\",\"f\":\"write\",\"value\":4}\n",
                  errmsg);
    cr_assert_eq(rc, 0, "%s", errmsg);
    cr_assert_eq(h.n_ops, 5);
    cr_assert_eq(h.n_events, 10);
    cr_assert_eq(h.n_nemesis, 1, "nemesis events are kept apart");
    cr_assert_eq(h.n_ok, 2);
    cr_assert_eq(h.n_fail, 1);
    cr_assert_eq(h.n_info, 2, "one info and one never completed");

    const struct checker_hop *w = &h.ops[0], *r = &h.ops[1];
    cr_assert_str_eq(w->f, "write");
    cr_assert_eq(w->status, FL_EVENT_OK);
    cr_assert_eq(w->call_line, 1);
    cr_assert_eq(w->ret_line, 5);
    cr_assert_eq(w->call_time, 10);
    cr_assert_eq(w->ret_time, 20);
    cr_assert(w->call < r->call && r->ret < w->ret, "positions in observation order");
    cr_assert(json_is_null(r->invoke_value));
    cr_assert_eq(json_integer_value(r->value), 1, "the ok's value replaces the invoke's");

    cr_assert_eq(h.ops[2].status, FL_EVENT_FAIL);
    cr_assert_eq(h.ops[3].status, FL_EVENT_INFO);
    cr_assert_eq(h.ops[3].ret, CHECKER_POS_NEVER, "an info may take effect any time later");
    cr_assert_eq(h.ops[4].status, FL_EVENT_INFO, "never completed counts as info");
    cr_assert_eq(h.ops[4].ret, CHECKER_POS_NEVER);
    checker_history_free(&h);
}

Test(checker_history, process_is_free_again_after_info)
{
    struct checker_history h;
    char errmsg[FL_ERRMSG_SIZE] = "";
    int rc = load(&h,
                  "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
                  "{\"process\":0,\"type\":\"info\",\"f\":\"write\",\"value\":1}\n"
                  "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"value\":null}\n"
                  "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n",
                  errmsg);
    cr_assert_eq(rc, 0, "%s", errmsg);
    cr_assert_eq(h.n_ops, 2);
    checker_history_free(&h);
}

Test(checker_history, keys_get_dense_ids)
{
    struct checker_history h;
    char errmsg[FL_ERRMSG_SIZE] = "";
    int rc = load(&h,
                  "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"b\"}\n"
                  "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"a\"}\n"
                  "{\"process\":2,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"b\"}\n"
                  "{\"process\":3,\"type\":\"invoke\",\"f\":\"read\",\"key\":7}\n",
                  errmsg);
    cr_assert_eq(rc, 0, "%s", errmsg);
    cr_assert_eq(h.n_keys, 4, "slot 0 (no key) and three keys");
    cr_assert_eq(h.ops[0].key_id, h.ops[2].key_id);
    cr_assert_neq(h.ops[0].key_id, h.ops[1].key_id);
    cr_assert_neq(h.ops[3].key_id, 0);
    cr_assert_neq(h.ops[3].key_id, h.ops[0].key_id, "7 and \"b\" differ");
    checker_history_free(&h);
}

Test(checker_history, completion_with_no_invoke)
{
    rejects("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n"
            "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n"
            "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n",
            ": line 3: type: ok of read on process 0 with no invoke in flight");
    rejects("{\"process\":5,\"type\":\"fail\",\"f\":\"cas\",\"value\":[1,2]}\n",
            ": line 1: type: fail of cas on process 5 with no invoke in flight");
}

Test(checker_history, two_operations_in_flight_on_one_process)
{
    rejects("{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
            "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n"
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n",
            ": line 3: process: process 0 invoked read while its write from line 1 is still in "
            "flight");
}

Test(checker_history, completion_must_match_its_invoke)
{
    rejects("{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n"
            "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n",
            ": line 2: f: completion read does not match invoke write on line 1");
    rejects("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"a\"}\n"
            "{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"key\":\"b\",\"value\":1}\n",
            ": line 2: key: completion key differs from the invoke's on line 1");
}

Test(checker_history, reader_errors_pass_through_with_the_path)
{
    struct checker_history h;
    char errmsg[FL_ERRMSG_SIZE] = "";
    int rc = load(&h,
                  "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n"
                  "{\"process\":0,\"type\":\"done\",\"f\":\"read\"}\n",
                  errmsg);
    cr_assert_lt(rc, 0);
    cr_assert(strstr(errmsg, ".jsonl: line 2: type: expected"), "%s", errmsg);
    checker_history_free(&h);
}

Test(checker_history, allocation_failures_are_reported_not_crashed)
{
    const char *path =
        test_tmpfile("{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1,"
                     "\"key\":\"a\",\"node\":\"n1\"}\n"
                     "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"kill\"}\n"
                     "{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
                     "{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"key\":\"b\"}\n",
                     ".jsonl");
    int rc = FL_ENOMEM;
    long n;
    for (n = 0; rc != 0 && n < 1000; n++) {
        struct checker_history h;
        char errmsg[FL_ERRMSG_SIZE] = "";
        fl_alloc_fail_after(n);
        rc = checker_history_load(&h, path, FL_FORMAT_JSONL, errmsg);
        fl_alloc_fail_reset();
        cr_assert(rc == 0 || rc == FL_ENOMEM, "n=%ld rc=%d %s", n, rc, errmsg);
        if (rc == 0)
            cr_assert_eq(h.n_ops, 2);
        checker_history_free(&h);
    }
    cr_assert_eq(rc, 0);
    cr_assert_gt(n, 3, "the sweep went through several allocations");
}
