/* test_adapter_client.c - the client adapter (workloads/CLIENT_PROTOCOL.md) against a real
 * client program: answer lines longer than the adapter's first read buffer arrive whole. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "workloads/adapter.h"

/* A client program: a read of key "k" answers the elements 0..N-1 (N = the key's digits),
 * as a set read of N elements would; key "die" exits at once with a line on stderr (a
 * program that cannot start); the leader question fails with its reason about n1, answers
 * neither leader nor unknown about n2, fails without a reason about n3; other operations
 * are ok. No braces: args are templates. */
static const char *program =
    "import json, sys\n"
    "for line in sys.stdin:\n"
    "    r = json.loads(line)\n"
    "    op = r['op']\n"
    "    if op.get('key') == 'die':\n"
    "        sys.stderr.write('boom: no module named nats\\n')\n"
    "        sys.exit(5)\n"
    "    ans = dict(id=r['id'], ok=True)\n"
    "    if op['f'] == 'leader' and op['node'] == 'n1':\n"
    "        ans = dict(id=r['id'], ok=False, error='n1 not synced: Joining')\n"
    "    if op['f'] == 'leader' and op['node'] == 'n3':\n"
    "        ans = dict(id=r['id'], ok=False)\n"
    "    if op.get('key') in ('on-n2', 'on-n9'):\n"
    "        ans['node'] = op['key'][3:]\n"
    "    if op['f'] == 'read':\n"
    "        ans['value'] = list(range(int(op['key'])))\n"
    "    sys.stdout.write(json.dumps(ans) + '\\n')\n"
    "    sys.stdout.flush()\n";

static uv_loop_t loop;
static void *client;
static struct workload_cluster cl;
static char logdir[64];

static void env_start(void)
{
    snprintf(logdir, sizeof logdir, "/tmp/fltest-client-XXXXXX");
    cr_assert_not_null(mkdtemp(logdir));
    uv_loop_init(&loop);
    memset(&cl, 0, sizeof cl);
    cl.n = 3; /* three nodes to ask the leader question about */
    for (unsigned i = 0; i < cl.n; i++) {
        cl.addr[i] = "127.0.0.1";
        cl.data_dir[i] = "/tmp/unused";
    }
    cl.log_dir = logdir;
    cl.model = WORKLOAD_SET;
    cl.options = json_pack("{s:{s:s,s:[s,s]}}", "client", "binary", "/usr/bin/python3", "args",
                           "-c", program);
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(workload_adapter_client.client_open(&client, &loop, &cl, 10000, err), 0, "%s",
                 err);
}

static void on_closed(void *data)
{
    *(bool *)data = true;
}

static void env_stop(void)
{
    bool closed = false;
    workload_adapter_client.client_close(client, on_closed, &closed);
    while (!closed)
        uv_run(&loop, UV_RUN_ONCE);
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    json_decref(cl.options);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", logdir);
    cr_assert_eq(system(cmd), 0);
}

static char last_error[256];

static void on_done(struct workload_call *call)
{
    snprintf(last_error, sizeof last_error, "%s", call->error != NULL ? call->error : "");
    *(bool *)call->data = true;
}

/* A set read answered with n elements: its outcome, and the number of elements seen. */
static enum workload_outcome read_key(const char *key, size_t *seen)
{
    bool done = false;
    struct workload_call call = {.timeout_ms = 10000, .cb = on_done, .data = &done};
    call.op = json_pack("{s:s,s:s}", "f", "read", "key", key);
    cr_assert_eq(workload_adapter_client.invoke(client, &call), 0);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    json_decref(call.op);
    *seen = json_array_size(call.value);
    json_decref(call.value);
    return call.outcome;
}

static enum workload_outcome read_n(unsigned n, size_t *seen)
{
    char key[16];
    snprintf(key, sizeof key, "%u", n);
    return read_key(key, seen);
}

/* Lines of the client's log (logdir/w*.log) containing `what`. */
static int log_lines_with(const char *what)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cat %s/w*.log | grep -c -F '%s'", logdir, what);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    int n = -1;
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

TestSuite(workload_adapter_client, .init = env_start, .fini = env_stop, .timeout = 60);

/* 5,000 elements make a 29 KB line, 60,000 a 400 KB one: more than the adapter's first
 * 16 KiB buffer, read in pieces. They were refused as "longer than 1 MiB" whenever a read
 * filled the buffer exactly (the final read of a Redis run of 3,000 adds came out unknown). */
Test(workload_adapter_client, answers_over_the_first_buffer_arrive_whole)
{
    unsigned sizes[] = {10, 3000, 5000, 60000, 100000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t seen = 0;
        cr_assert_eq(read_n(sizes[i], &seen), WORKLOAD_OK, "%u elements: %s", sizes[i],
                     last_error);
        cr_assert_eq(seen, sizes[i]);
    }
}

/* A line over the protocol's 1 MiB (200,000 elements: 1.4 MB) fails the read, and the
 * restarted program answers the next one. */
Test(workload_adapter_client, a_line_over_1_mib_fails_the_read_and_the_program_restarts)
{
    size_t seen = 0;
    cr_assert_neq(read_n(200000, &seen), WORKLOAD_OK);
    cr_assert(strstr(last_error, "malformed") != NULL, "%s", last_error);
    cr_assert_eq(read_n(7, &seen), WORKLOAD_OK, "%s", last_error);
    cr_assert_eq(seen, 7);
}

/* A program that dies before answering anything (a wrong path, a missing library) is
 * named with its exit status and its last stderr line, in the operation's error and on
 * stderr; in a row, the stderr line comes again only at 3, 4, 8... (a wrong client path
 * printed 125 identical lines in 30 s, then blamed the node logs). An answer resets the
 * count. */
Test(workload_adapter_client, a_program_dying_before_any_answer_is_named_with_its_last_words)
{
    size_t seen = 0;
    for (int i = 1; i <= 5; i++) {
        cr_assert_eq(read_key("die", &seen), WORKLOAD_FAIL);
        cr_assert(strstr(last_error, "exited with status 5 before answering anything (its "
                                     "stderr: \"boom: no module named nats\")") != NULL,
                  "%d: %s", i, last_error);
    }
    cr_assert_eq(log_lines_with("before answering anything (its stderr"), 2);
    cr_assert_eq(log_lines_with("3 times in a row"), 1);
    cr_assert_eq(log_lines_with("4 times in a row"), 1);
    cr_assert_eq(log_lines_with("5 times in a row"), 0);
    /* From the 8th in a row the error says the program keeps dying (the run stops on it). */
    for (int i = 6; i <= 8; i++)
        cr_assert_eq(read_key("die", &seen), WORKLOAD_FAIL);
    cr_assert_str_eq(last_error, WORKLOAD_CLIENT_DEAD " (8 times in a row, exited with status 5): "
                                 "boom: no module named nats");
    cr_assert_eq(log_lines_with("8 times in a row"), 1);
    cr_assert_eq(read_n(3, &seen), WORKLOAD_OK, "%s", last_error);
    cr_assert_eq(seen, 3);
    /* That program had answered: its exit is an ordinary one. */
    cr_assert_eq(read_key("die", &seen), WORKLOAD_FAIL);
    cr_assert(strstr(last_error, "before answering") == NULL, "%s", last_error);
    cr_assert_eq(read_key("die", &seen), WORKLOAD_FAIL);
    cr_assert(strstr(last_error, "before answering anything (its") != NULL, "%s", last_error);
    cr_assert_eq(log_lines_with("before answering anything (its stderr"), 3);
}

static enum workload_outcome ask_leader(unsigned node)
{
    bool done = false;
    struct workload_call call = {.timeout_ms = 10000, .cb = on_done, .data = &done};
    cr_assert_eq(workload_adapter_client.leader(client, node, &call), 0);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    json_decref(call.value);
    return call.outcome;
}

/* A failed leader question carries the program's reason and the node it was about: it was
 * "client program: leader question failed" whatever the program said (a Galera node still
 * joining showed as that in the run's progress line and "no leader" message). */
Test(workload_adapter_client, a_failed_leader_question_keeps_the_programs_reason)
{
    cr_assert_eq(ask_leader(0), WORKLOAD_FAIL);
    cr_assert_str_eq(last_error, "client program, asked about n1: n1 not synced: Joining");
    cr_assert_eq(ask_leader(1), WORKLOAD_FAIL);
    cr_assert_str_eq(last_error,
                     "client program, asked about n2: no \"leader\" or \"unknown\" in the answer");
    cr_assert_eq(ask_leader(2), WORKLOAD_FAIL);
    cr_assert_str_eq(last_error,
                     "client program, asked about n3: leader question failed (no \"error\" given)");
}

/* A completion naming the node that served it: the call carries the name (the history's
 * "node"); a node the cluster does not have is a protocol error, the operation unknown. */
Test(workload_adapter_client, a_completion_names_the_node_that_served_it)
{
    bool done = false;
    struct workload_call call = {.timeout_ms = 10000, .cb = on_done, .data = &done};
    call.op = json_pack("{s:s,s:s,s:i}", "f", "add", "key", "on-n2", "value", 1);
    cr_assert_eq(workload_adapter_client.invoke(client, &call), 0);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(call.outcome, WORKLOAD_OK);
    cr_assert_str_eq(call.node, "n2");
    json_decref(call.op);
    done = false;
    call = (struct workload_call){.timeout_ms = 10000, .cb = on_done, .data = &done};
    call.op = json_pack("{s:s,s:s,s:i}", "f", "add", "key", "on-n9", "value", 2);
    cr_assert_eq(workload_adapter_client.invoke(client, &call), 0);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    cr_assert_eq(call.outcome, WORKLOAD_UNKNOWN);
    cr_assert_eq(log_lines_with("node n9 served it, but the cluster has 3 nodes"), 1);
    json_decref(call.op);
    size_t seen;
    cr_assert_eq(read_n(3, &seen), WORKLOAD_OK, "a fresh program answers");
}
