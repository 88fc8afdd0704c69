/* test_render.c - templates of foreign nodes and client programs: placeholders, conditionals,
 * and errors that name the source, line, column and placeholder. */
#include "workloads/render.h"

#include <criterion/criterion.h>
#include <string.h>

#include "common/error.h"
#include "common/template.h"

static struct workload_cluster cl;
static json_t *opts;

static void setup(void)
{
    memset(&cl, 0, sizeof cl);
    static const char *addr[] = {"198.51.100.1", "198.51.100.2", "198.51.100.3"};
    static const char *data[] = {"/tmp/fl-x/n1", "/tmp/fl-x/n2", "/tmp/fl-x/n3"};
    static const char *conf[] = {"/tmp/fl-x/n1.conf", "/tmp/fl-x/n2.conf", "/tmp/fl-x/n3.conf"};
    cl.n = 3;
    for (int i = 0; i < 3; i++) {
        cl.addr[i] = addr[i];
        cl.data_dir[i] = data[i];
        cl.conf_dir[i] = conf[i];
    }
    cl.model = WORKLOAD_KV;
    opts = json_pack("{s:i,s:i,s:[{s:s,s:s}]}", "peer_port", 26379, "client_port", 6379, "files",
                     "path", "redis.conf", "text", "x");
    cl.options = opts;
}

static void teardown(void)
{
    json_decref(opts);
}

/* Renders src for node (or the client when node < 0); returns the code, text in out. */
static int render(int node, const char *src, char *out, size_t len, char *err)
{
    struct fl_buf b;
    fl_buf_init(&b);
    int rc = workload_render(&cl, node, node < 0 ? "4" : NULL, src, strlen(src), "redis.conf.tmpl",
                             &b, 4096, err);
    snprintf(out, len, "%s", rc == 0 ? fl_buf_cstr(&b) : "");
    fl_buf_free(&b);
    return rc;
}

TestSuite(render, .init = setup, .fini = teardown);

Test(render, node_placeholders)
{
    char out[1024], err[FL_ERRMSG_SIZE];
    cr_assert_eq(render(1, "{id} {name} {addr}:{client_port} {peer_port} {port} {n}", out,
                        sizeof out, err),
                 0, "%s", err);
    cr_assert_str_eq(out, "2 n2 198.51.100.2:6379 26379 26379 3");
    cr_assert_eq(render(2, "{addr:n1} {data} {dir} {conf} {file:redis.conf}", out, sizeof out, err),
                 0, "%s", err);
    cr_assert_str_eq(out,
                     "198.51.100.1 /tmp/fl-x/n3 /tmp/fl-x/n3 /tmp/fl-x/n3.conf "
                     "/tmp/fl-x/n3.conf/redis.conf");
    cr_assert_eq(render(0, "{peers}", out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, "n1=198.51.100.1:26379,n2=198.51.100.2:26379,n3=198.51.100.3:26379");
    cr_assert_eq(render(0, "a {{b} }c", out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, "a {b} }c");
}

Test(render, conditionals_per_node)
{
    char out[1024], err[FL_ERRMSG_SIZE];
    const char *t = "port {client_port}\n{unless:n1:replicaof {addr:n1} {client_port}\n}end";
    cr_assert_eq(render(0, t, out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, "port 6379\nend");
    cr_assert_eq(render(1, t, out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, "port 6379\nreplicaof 198.51.100.1 6379\nend");
    cr_assert_eq(render(2, "{if:n3:{if:n3:deep}}", out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, "deep");
}

Test(render, client_placeholders)
{
    char out[1024], err[FL_ERRMSG_SIZE];
    cr_assert_eq(render(-1, "{nodes} {addrs} {worker} {model}", out, sizeof out, err), 0, "%s",
                 err);
    cr_assert_str_eq(out,
                     "n1=198.51.100.1:6379,n2=198.51.100.2:6379,n3=198.51.100.3:6379 "
                     "198.51.100.1:6379,198.51.100.2:6379,198.51.100.3:6379 4 kv");
    cr_assert_neq(render(-1, "{addr}", out, sizeof out, err), 0);
    cr_assert(strstr(err, "{addr}") != NULL, "%s", err);
    cr_assert_neq(render(0, "{worker}", out, sizeof out, err), 0);
}

/* Errors name the source, the line and column, and the placeholder. */
Test(render, errors_name_file_line_column_placeholder)
{
    char out[64], err[FL_ERRMSG_SIZE];
    cr_assert_eq(render(0, "bind {addr}\nport {adr}\n", out, sizeof out, err), FL_ESHAPE);
    cr_assert(strstr(err, "redis.conf.tmpl line 2 col 6: {adr}: unknown placeholder") == err,
              "%s", err);
    cr_assert_eq(render(0, "x\n\n  {addr:n7}", out, sizeof out, err), FL_ESHAPE);
    cr_assert(strstr(err, "line 3 col 3: {addr:n7}: no node \"n7\" (nodes are n1..n3)") != NULL,
              "%s", err);
    cr_assert_eq(render(0, "{file:nope.conf}", out, sizeof out, err), FL_ESHAPE);
    cr_assert(strstr(err, "no file \"nope.conf\"") != NULL, "%s", err);
    cr_assert_eq(render(0, "a {addr", out, sizeof out, err), FL_EPARSE);
    cr_assert(strstr(err, "line 1 col 3: malformed placeholder") != NULL, "%s", err);
    /* A config whose own syntax has braces (NATS, nginx): the first lone one is named with
     * its line and column, and the count of the others, so all are doubled in one edit. */
    cr_assert_eq(render(0, "jetstream {\n  dir: {data}\n}\ncluster {\n routes: [{{x}]\n}\n{ ",
                        out, sizeof out, err),
                 FL_EPARSE);
    cr_assert(strstr(err, "line 1 col 11: a lone \"{\" (followed by a line end) does not start a "
                          "placeholder: write \"{{\" for a literal brace; 2 more such braces "
                          "after it") != NULL,
              "%s", err);
    cr_assert_eq(render(0, "a { b", out, sizeof out, err), FL_EPARSE);
    cr_assert(strstr(err, "col 3: a lone \"{\" (followed by a blank)") != NULL, "%s", err);
    cr_assert(strstr(err, "more such") == NULL, "%s", err);
    cr_assert_eq(render(0, "jetstream {{\n  dir: \"x\"\n}\n", out, sizeof out, err), 0, "%s", err);
    cr_assert_str_eq(out, "jetstream {\n  dir: \"x\"\n}\n");
    cr_assert_eq(render(0, "{if:n1:open", out, sizeof out, err), FL_EPARSE);
    cr_assert(strstr(err, "conditional not closed") != NULL, "%s", err);
    cr_assert_eq(render(0, "{if:n1}", out, sizeof out, err), FL_EPARSE);
    cr_assert_eq(render(0, "{ADDR}", out, sizeof out, err), FL_EPARSE);
    /* An error in a branch not taken is still an error (found whatever node renders). */
    cr_assert_eq(render(1, "{if:n1:{bogus}}", out, sizeof out, err), FL_ESHAPE);
    cr_assert(strstr(err, "{bogus}") != NULL, "%s", err);
    cr_assert_eq(render(0, "{if:n1:{if:n1:{if:n1:{if:n1:x}}}}", out, sizeof out, err),
                 FL_ELIMIT);
}

Test(render, output_is_bounded)
{
    struct fl_buf b;
    fl_buf_init(&b);
    char err[FL_ERRMSG_SIZE];
    const char *t = "{peers}{peers}{peers}";
    cr_assert_eq(workload_render(&cl, 0, NULL, t, strlen(t), "args[0]", &b, 100, err), FL_ELIMIT);
    cr_assert(strstr(err, "args[0] line 1 col") == err, "%s", err);
    fl_buf_free(&b);
}

Test(render, process_argv_of_several_processes_is_one_quoted_group)
{
    json_t *o = json_pack("{s:[{s:s,s:s,s:[s,s]},{s:s,s:s,s:[s]}]}", "processes", "name", "redis",
                          "binary", "/usr/bin/redis-server", "args", "--port", "{client_port}",
                          "name", "sentinel", "binary", "/usr/bin/redis-sentinel", "args",
                          "it's {name}");
    cl.options = o;
    char *argv[WORKLOAD_ARGV_MAX], buf[4096], err[FL_ERRMSG_SIZE];
    cr_assert_eq(workload_process_node_argv(&cl, 1, argv, WORKLOAD_ARGV_MAX, buf, sizeof buf, err),
                 0, "%s", err);
    cr_assert_str_eq(argv[0], "/bin/sh");
    cr_assert_str_eq(argv[1], "-c");
    cr_assert_str_eq(argv[2], "'/usr/bin/redis-server' '--port' '7001' &\n"
                              "'/usr/bin/redis-sentinel' 'it'\\''s n2' &\nwait\n");
    cr_assert_str_eq(argv[3], "fl-node-n2");
    cr_assert_null(argv[4]);
    json_decref(o);
    cl.options = opts;
}
