/* test_adapter_etcd.c - etcd adapter: command lines, and a client against a real one-member etcd.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workloads/adapter.h"

static const char *arg_after(char **argv, const char *flag)
{
    for (int i = 0; argv[i] != NULL; i++)
        if (strcmp(argv[i], flag) == 0)
            return argv[i + 1];
    return NULL;
}

static bool has_arg(char **argv, const char *a)
{
    for (int i = 0; argv[i] != NULL; i++)
        if (strcmp(argv[i], a) == 0)
            return true;
    return false;
}

static void three(struct workload_cluster *cl)
{
    memset(cl, 0, sizeof *cl);
    cl->n = 3;
    cl->addr[0] = "198.51.100.1";
    cl->addr[1] = "198.51.100.2";
    cl->addr[2] = "198.51.100.3";
    cl->data_dir[0] = "/tmp/d/n1";
    cl->data_dir[1] = "/tmp/d/n2";
    cl->data_dir[2] = "/tmp/d/n3";
    cl->model = WORKLOAD_KV;
}

Test(workload_adapter_etcd, argv_names_the_member_and_lists_every_peer)
{
    struct workload_cluster cl;
    three(&cl);
    char *argv[WORKLOAD_ARGV_MAX], buf[8192], err[256];
    cr_assert_eq(
        workload_adapter_etcd.node_argv(&cl, 1, argv, WORKLOAD_ARGV_MAX, buf, sizeof buf, err), 0,
        "%s", err);
    cr_assert_str_eq(argv[0], "etcd");
    cr_assert_str_eq(arg_after(argv, "--name"), "n2");
    cr_assert_str_eq(arg_after(argv, "--data-dir"), "/tmp/d/n2");
    cr_assert_str_eq(arg_after(argv, "--listen-client-urls"), "http://198.51.100.2:2379");
    cr_assert_str_eq(arg_after(argv, "--advertise-client-urls"), "http://198.51.100.2:2379");
    cr_assert_str_eq(arg_after(argv, "--listen-peer-urls"), "http://198.51.100.2:2380");
    cr_assert_str_eq(arg_after(argv, "--initial-advertise-peer-urls"), "http://198.51.100.2:2380");
    cr_assert_str_eq(arg_after(argv, "--initial-cluster"),
                     "n1=http://198.51.100.1:2380,n2=http://198.51.100.2:2380,"
                     "n3=http://198.51.100.3:2380");
    cr_assert_str_eq(arg_after(argv, "--initial-cluster-state"), "new");
    cr_assert_not_null(arg_after(argv, "--initial-cluster-token"));
    /* etcd's own defaults when the scenario gives no election timeout. */
    cr_assert_str_eq(arg_after(argv, "--election-timeout"), "1000");
    cr_assert_str_eq(arg_after(argv, "--heartbeat-interval"), "100");
    cr_assert_not(has_arg(argv, "--pre-vote=true"));
}

Test(workload_adapter_etcd, argv_takes_timeouts_binary_and_extra_args_from_the_options)
{
    struct workload_cluster cl;
    three(&cl);
    cl.election_timeout_ms = 500;
    cl.options = json_pack("{s:s,s:i,s:[s]}", "binary", "/opt/etcd", "heartbeat_ms", 50, "args",
                           "--pre-vote=true");
    char *argv[WORKLOAD_ARGV_MAX], buf[8192], err[256];
    cr_assert_eq(
        workload_adapter_etcd.node_argv(&cl, 0, argv, WORKLOAD_ARGV_MAX, buf, sizeof buf, err), 0,
        "%s", err);
    cr_assert_str_eq(argv[0], "/opt/etcd");
    cr_assert_str_eq(arg_after(argv, "--election-timeout"), "500");
    cr_assert_str_eq(arg_after(argv, "--heartbeat-interval"), "50");
    int last = 0;
    while (argv[last + 1] != NULL)
        last++;
    cr_assert_str_eq(argv[last], "--pre-vote=true");
    json_decref(cl.options);
}

Test(workload_adapter_etcd, argv_too_long_for_the_buffer_is_refused)
{
    struct workload_cluster cl;
    three(&cl);
    char *argv[WORKLOAD_ARGV_MAX], buf[64], err[256];
    cr_assert_neq(
        workload_adapter_etcd.node_argv(&cl, 0, argv, WORKLOAD_ARGV_MAX, buf, sizeof buf, err), 0);
    cr_assert(strstr(err, "too long") != NULL, "%s", err);
}

Test(workload_adapter_etcd, models_other_than_register_and_kv_are_refused)
{
    struct workload_cluster cl;
    three(&cl);
    cl.model = WORKLOAD_COUNTER;
    uv_loop_t loop;
    uv_loop_init(&loop);
    void *client = NULL;
    char err[256];
    cr_assert_neq(workload_adapter_etcd.client_open(&client, &loop, &cl, 1000, err), 0);
    cr_assert(strstr(err, "counter") != NULL, "%s", err);
    cr_assert_null(client);
    uv_loop_close(&loop);
}

Test(workload_adapter_etcd, the_adapter_table_finds_etcd_and_process)
{
    cr_assert_eq(workload_adapter_find("etcd"), &workload_adapter_etcd);
    cr_assert_eq(workload_adapter_find("process"), &workload_adapter_process);
    cr_assert_null(workload_adapter_find("zookeeper"));
    cr_assert_not(workload_adapter_clock_faults(&workload_adapter_etcd, NULL));
    cr_assert_not(workload_adapter_etcd.membership);
}

/* ==== A real single-member etcd on 127.0.0.1 ==== */

struct live {
    char dir[128];
    pid_t pid;
    uv_loop_t loop;
    void *client;
    struct workload_cluster cl;
    char data[160];
    bool closed;
};

static struct live L;

static bool etcd_on_path(void)
{
    return system("command -v etcd >/dev/null 2>&1") == 0;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static void on_done(struct workload_call *call)
{
    *(bool *)call->data = true;
}

/* Runs one call to completion on the loop. */
static void run_call(struct workload_call *call, int (*fn)(void *, struct workload_call *))
{
    bool done = false;
    call->data = &done;
    call->cb = on_done;
    call->value = NULL;
    cr_assert_eq(fn(L.client, call), 0);
    cr_assert_not(done, "the callback ran synchronously");
    while (!done)
        uv_run(&L.loop, UV_RUN_ONCE);
}

/* The leader question, asked of node 0. */
static int leader_of_n1(void *client, struct workload_call *call)
{
    return workload_adapter_etcd.leader(client, 0, call);
}

static void live_start(void)
{
    memset(&L, 0, sizeof L);
    L.pid = -1;
    if (!etcd_on_path())
        return; /* each test skips */
    snprintf(L.dir, sizeof L.dir, "/tmp/fl-test-etcd-XXXXXX");
    cr_assert_not_null(mkdtemp(L.dir));
    snprintf(L.data, sizeof L.data, "%s/n1", L.dir);
    L.cl.n = 1;
    L.cl.addr[0] = "127.0.0.1";
    L.cl.data_dir[0] = L.data;
    L.cl.model = WORKLOAD_KV;
    L.cl.election_timeout_ms = 200;
    L.cl.options = json_pack("{s:i,s:i,s:i}", "client_port", free_port(), "peer_port", free_port(),
                             "heartbeat_ms", 20);
    uv_loop_init(&L.loop);
    char *argv[WORKLOAD_ARGV_MAX], buf[8192], err[256], log[200];
    cr_assert_eq(
        workload_adapter_etcd.node_argv(&L.cl, 0, argv, WORKLOAD_ARGV_MAX, buf, sizeof buf, err), 0,
        "%s", err);
    snprintf(log, sizeof log, "%s/etcd.log", L.dir);
    L.pid = fork();
    cr_assert_geq(L.pid, 0);
    if (L.pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    cr_assert_eq(workload_adapter_etcd.client_open(&L.client, &L.loop, &L.cl, 1000, err), 0, "%s",
                 err);
    /* Ready once it names a leader (itself); bounded by attempts, not time. */
    for (int attempt = 0; attempt < 300; attempt++) {
        struct workload_call call = {.timeout_ms = 500};
        run_call(&call, leader_of_n1);
        json_t *l = json_object_get(call.value, "leader"), *t = json_object_get(call.value, "term");
        bool ready = json_is_integer(l) && json_integer_value(l) == 0;
        /* etcd names its raft term with the leader (adapter.h, the leader question). */
        cr_assert(!ready || (json_is_integer(t) && json_integer_value(t) >= 1));
        json_decref(call.value);
        if (ready)
            return;
        usleep(100 * 1000);
    }
    cr_assert_fail("etcd did not elect itself; see %s", log);
}

static void on_closed(void *data)
{
    *(bool *)data = true;
}

static void live_stop(void)
{
    if (L.dir[0] == '\0')
        return;
    if (L.client != NULL) {
        L.closed = false;
        workload_adapter_etcd.client_close(L.client, on_closed, &L.closed);
        while (!L.closed)
            uv_run(&L.loop, UV_RUN_ONCE);
        L.client = NULL;
    }
    uv_run(&L.loop, UV_RUN_NOWAIT);
    uv_loop_close(&L.loop);
    if (L.pid > 0) {
        kill(L.pid, SIGKILL);
        waitpid(L.pid, NULL, 0);
    }
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", L.dir);
    if (L.dir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", L.dir);
    json_decref(L.cl.options);
}

static json_t *op(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    cr_assert_not_null(j, "%s", text);
    return j;
}

/* One operation; returns the outcome and (reads) the value seen. */
static enum workload_outcome do_op(const char *text, enum workload_consistency cons, json_t **value)
{
    struct workload_call call = {.timeout_ms = 5000, .consistency = cons};
    call.op = op(text);
    run_call(&call, workload_adapter_etcd.invoke);
    json_decref(call.op);
    if (value != NULL)
        *value = call.value;
    else
        json_decref(call.value);
    cr_assert_str_eq(call.node, "n1");
    return call.outcome;
}

TestSuite(workload_adapter_etcd_live, .init = live_start, .fini = live_stop);

Test(workload_adapter_etcd_live, put_then_read_returns_the_value_written)
{
    if (!etcd_on_path())
        cr_skip_test("etcd not installed");
    json_t *v = NULL;
    cr_assert_eq(
        do_op("{\"f\":\"write\",\"key\":\"k1\",\"value\":42}", WORKLOAD_LINEARIZABLE, NULL),
        WORKLOAD_OK);
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"k1\"}", WORKLOAD_LINEARIZABLE, &v), WORKLOAD_OK);
    cr_assert(json_is_integer(v) && json_integer_value(v) == 42);
    json_decref(v);
    /* Serializable (sequential) reads of a single member see it too. */
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"k1\"}", WORKLOAD_SEQUENTIAL, &v), WORKLOAD_OK);
    cr_assert(json_is_integer(v) && json_integer_value(v) == 42);
    json_decref(v);
}

Test(workload_adapter_etcd_live, read_of_a_missing_key_is_null)
{
    if (!etcd_on_path())
        cr_skip_test("etcd not installed");
    json_t *v = NULL;
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"nothing-here\"}", WORKLOAD_LINEARIZABLE, &v),
                 WORKLOAD_OK);
    cr_assert(json_is_null(v));
    json_decref(v);
}

Test(workload_adapter_etcd_live, cas_succeeds_on_the_expected_value_and_fails_definitely_otherwise)
{
    if (!etcd_on_path())
        cr_skip_test("etcd not installed");
    json_t *v = NULL;
    cr_assert_eq(do_op("{\"f\":\"write\",\"value\":1}", WORKLOAD_LINEARIZABLE, NULL), WORKLOAD_OK);
    cr_assert_eq(do_op("{\"f\":\"cas\",\"value\":[1,2]}", WORKLOAD_LINEARIZABLE, NULL),
                 WORKLOAD_OK);
    cr_assert_eq(do_op("{\"f\":\"cas\",\"value\":[1,3]}", WORKLOAD_LINEARIZABLE, NULL),
                 WORKLOAD_FAIL);
    /* The register model's key is "r": a read without key sees 2. */
    cr_assert_eq(do_op("{\"f\":\"read\"}", WORKLOAD_LEASE, &v), WORKLOAD_OK);
    cr_assert(json_is_integer(v) && json_integer_value(v) == 2);
    json_decref(v);
    /* cas from null only on an absent key; a cas against 0 on an absent key fails. */
    cr_assert_eq(
        do_op("{\"f\":\"cas\",\"key\":\"k9\",\"value\":[0,5]}", WORKLOAD_LINEARIZABLE, NULL),
        WORKLOAD_FAIL);
    cr_assert_eq(
        do_op("{\"f\":\"cas\",\"key\":\"k9\",\"value\":[null,5]}", WORKLOAD_LINEARIZABLE, NULL),
        WORKLOAD_OK);
    cr_assert_eq(
        do_op("{\"f\":\"cas\",\"key\":\"k9\",\"value\":[null,6]}", WORKLOAD_LINEARIZABLE, NULL),
        WORKLOAD_FAIL);
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"k9\"}", WORKLOAD_LINEARIZABLE, &v), WORKLOAD_OK);
    cr_assert(json_is_integer(v) && json_integer_value(v) == 5);
    json_decref(v);
}

Test(workload_adapter_etcd_live, string_values_round_trip_as_json_text)
{
    if (!etcd_on_path())
        cr_skip_test("etcd not installed");
    json_t *v = NULL;
    cr_assert_eq(
        do_op("{\"f\":\"write\",\"key\":\"s\",\"value\":\"7-abc\"}", WORKLOAD_LINEARIZABLE, NULL),
        WORKLOAD_OK);
    cr_assert_eq(do_op("{\"f\":\"cas\",\"key\":\"s\",\"value\":[\"7-abc\",\"8-abcd\"]}",
                       WORKLOAD_LINEARIZABLE, NULL),
                 WORKLOAD_OK);
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"s\"}", WORKLOAD_LINEARIZABLE, &v), WORKLOAD_OK);
    cr_assert(json_is_string(v) && strcmp(json_string_value(v), "8-abcd") == 0);
    json_decref(v);
}

Test(workload_adapter_etcd_live, a_killed_member_fails_reads_and_writes_that_never_left)
{
    if (!etcd_on_path())
        cr_skip_test("etcd not installed");
    cr_assert_eq(do_op("{\"f\":\"write\",\"key\":\"k1\",\"value\":1}", WORKLOAD_LINEARIZABLE, NULL),
                 WORKLOAD_OK);
    kill(L.pid, SIGKILL);
    waitpid(L.pid, NULL, 0);
    L.pid = -1;
    cr_assert_eq(do_op("{\"f\":\"read\",\"key\":\"k1\"}", WORKLOAD_LINEARIZABLE, NULL),
                 WORKLOAD_FAIL);
    /* Nothing listens: the body never left, so the write certainly failed. */
    cr_assert_eq(do_op("{\"f\":\"write\",\"key\":\"k1\",\"value\":2}", WORKLOAD_LINEARIZABLE, NULL),
                 WORKLOAD_FAIL);
}

struct close_order {
    bool call_done, closed_after_call;
};

static void order_call(struct workload_call *call)
{
    ((struct close_order *)call->data)->call_done = true;
}

static void order_closed(void *data)
{
    struct close_order *o = data;
    o->closed_after_call = o->call_done;
    L.closed = true;
}

Test(workload_adapter_etcd_live, close_completes_calls_in_flight_before_its_callback)
{
    if (!etcd_on_path())
        cr_skip_test("etcd not installed");
    struct close_order o = {0};
    struct workload_call call = {.timeout_ms = 5000, .cb = order_call, .data = &o};
    call.op = op("{\"f\":\"write\",\"key\":\"k1\",\"value\":5}");
    cr_assert_eq(workload_adapter_etcd.invoke(L.client, &call), 0);
    L.closed = false;
    workload_adapter_etcd.client_close(L.client, order_closed, &o);
    L.client = NULL;
    cr_assert_not(o.call_done, "not synchronously");
    while (!L.closed)
        uv_run(&L.loop, UV_RUN_ONCE);
    cr_assert(o.closed_after_call);
    cr_assert_neq(call.outcome, WORKLOAD_OK);
    json_decref(call.op);
    json_decref(call.value);
}

/* One rw-register txn through a client opened for that model (the suite's is kv). */
static enum workload_outcome do_txn(const char *text, json_t **value, const char **error)
{
    struct workload_cluster cl = L.cl;
    cl.model = WORKLOAD_RW_REGISTER;
    void *kv = L.client, *rw = NULL;
    char err[256];
    cr_assert_eq(workload_adapter_etcd.client_open(&rw, &L.loop, &cl, 1000, err), 0, "%s", err);
    L.client = rw;
    struct workload_call call = {.timeout_ms = 5000};
    call.op = op(text);
    run_call(&call, workload_adapter_etcd.invoke);
    json_decref(call.op);
    *value = call.value;
    if (error != NULL)
        *error = call.error;
    bool closed = false;
    workload_adapter_etcd.client_close(rw, on_closed, &closed);
    while (!closed)
        uv_run(&L.loop, UV_RUN_ONCE);
    L.client = kv;
    return call.outcome;
}

static void expect_txn(const char *text, const char *want)
{
    json_t *v = NULL;
    cr_assert_eq(do_txn(text, &v, NULL), WORKLOAD_OK, "%s", text);
    char *got = json_dumps(v, JSON_COMPACT);
    cr_assert_str_eq(got, want, "%s -> %s", text, got);
    free(got);
    json_decref(v);
}

/* rw-register transactions are one etcd txn: reads see the txn's own earlier
 * writes and what earlier txns wrote; two puts of one key are refused by etcd
 * before anything is applied (a definite failure). */
Test(workload_adapter_etcd_live, rw_register_txns_read_in_order_and_duplicate_puts_fail)
{
    if (!etcd_on_path())
        cr_skip_test("etcd not installed");
    expect_txn("{\"f\":\"txn\",\"value\":[[\"r\",\"t1\",null],[\"w\",\"t1\",1],[\"r\",\"t1\",null],"
               "[\"w\",\"t2\",2]]}",
               "[[\"r\",\"t1\",null],[\"w\",\"t1\",1],[\"r\",\"t1\",1],[\"w\",\"t2\",2]]");
    expect_txn("{\"f\":\"txn\",\"value\":[[\"r\",\"t2\",null],[\"r\",\"t1\",null]]}",
               "[[\"r\",\"t2\",2],[\"r\",\"t1\",1]]");
    json_t *v = NULL;
    const char *error = NULL;
    cr_assert_eq(do_txn("{\"f\":\"txn\",\"value\":[[\"w\",\"t1\",3],[\"w\",\"t1\",4]]}", &v, &error),
                 WORKLOAD_FAIL);
    cr_assert_null(v);
    cr_assert_str_eq(error, "etcd: duplicate key given in txn request");
    expect_txn("{\"f\":\"txn\",\"value\":[[\"r\",\"t1\",null]]}", "[[\"r\",\"t1\",1]]");
    /* A txn is for the rw-register model only; list-append micro-ops are refused. */
    struct workload_cluster cl = L.cl;
    cl.model = WORKLOAD_RW_REGISTER;
    void *rw = NULL;
    char err[256];
    cr_assert_eq(workload_adapter_etcd.client_open(&rw, &L.loop, &cl, 1000, err), 0, "%s", err);
    struct workload_call call = {.timeout_ms = 5000};
    call.op = op("{\"f\":\"txn\",\"value\":[[\"append\",\"t1\",5]]}");
    cr_assert_neq(workload_adapter_etcd.invoke(rw, &call), 0);
    json_decref(call.op);
    call.op = op("{\"f\":\"txn\",\"value\":[[\"r\",\"t1\",null]]}");
    cr_assert_neq(workload_adapter_etcd.invoke(L.client, &call), 0, "a kv client took a txn");
    json_decref(call.op);
    bool closed = false;
    workload_adapter_etcd.client_close(rw, on_closed, &closed);
    while (!closed)
        uv_run(&L.loop, UV_RUN_ONCE);
}
