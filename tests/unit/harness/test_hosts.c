/* test_hosts.c - process and client implementations on hosts: the options as the hosts run
 * them (options.upload's files named by the hosts' copies) and what a scenario may say. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "harness/foreign.h"
#include "harness/hosts.h"
#include "harness/scenario.h"
#include "workloads/render.h"

static json_t *opts(const char *text)
{
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    cr_assert_not_null(o, "%s", e.text);
    return o;
}

static const char *str(json_t *o, const char *path0, size_t k)
{
    json_t *v = json_object_get(o, path0);
    return json_string_value(json_is_array(v) ? json_array_get(v, k) : v);
}

/* Every binary and argument naming an uploaded file gets the host's copy; the rest (the
 * hosts' own programs, arguments merely containing the path) is left alone. */
Test(harness_hosts, uploads_are_named_by_the_hosts_copies)
{
    json_t *o = opts("{\"binary\": \"/src/build/mykv\", \"upload\": [\"/src/build/mykv\", "
                     "\"tools/helper.py\"],"
                     " \"args\": [\"--x\", \"tools/helper.py\", \"--y=tools/helper.py\"],"
                     " \"hooks\": {\"setup\": [\"/usr/bin/python3\", \"tools/helper.py\"]}}");
    json_t *h = harness_hosts_foreign_options(o);
    cr_assert_not_null(h);
    cr_assert_str_eq(str(h, "binary", 0), NEMESIS_REMOTE_DIR "/bin/mykv");
    cr_assert_str_eq(str(h, "args", 0), "--x");
    /* Arguments are templates: "{{" renders as "{", so the rendered argument is the folder. */
    cr_assert_str_eq(str(h, "args", 1), "{" NEMESIS_REMOTE_DIR "/bin/helper.py");
    cr_assert_str_eq(str(h, "args", 2), "--y=tools/helper.py", "only whole arguments");
    json_t *setup = json_object_get(json_object_get(h, "hooks"), "setup");
    cr_assert_str_eq(json_string_value(json_array_get(setup, 0)), "/usr/bin/python3");
    cr_assert_str_eq(json_string_value(json_array_get(setup, 1)),
                     "{" NEMESIS_REMOTE_DIR "/bin/helper.py");
    /* Rendered as the node's argument, it names the host's folder (remote.h substitutes it). */
    struct workload_cluster cl = {.n = 1, .addr = {"203.0.113.11"}, .options = h};
    struct fl_buf b;
    fl_buf_init(&b);
    char err[FL_ERRMSG_SIZE];
    const char *a1 = str(h, "args", 1);
    cr_assert_eq(workload_render(&cl, 0, NULL, a1, strlen(a1), "args[1]", &b, 4096, err), 0, "%s",
                 err);
    cr_assert_str_eq(fl_buf_cstr(&b), NEMESIS_REMOTE_DIR "/bin/helper.py");
    fl_buf_free(&b);
    cr_assert_str_eq(str(o, "binary", 0), "/src/build/mykv", "the scenario's own options kept");
    json_decref(h);
    json_decref(o);

    o = opts("{\"processes\": [{\"binary\": \"/usr/bin/redis-server\", \"args\": [\"a\"]},"
             " {\"binary\": \"./sidecar\", \"args\": []}], \"upload\": [\"./sidecar\"]}");
    h = harness_hosts_foreign_options(o);
    json_t *p = json_object_get(h, "processes");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 0), "binary")),
                     "/usr/bin/redis-server", "the host's own program");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 1), "binary")),
                     NEMESIS_REMOTE_DIR "/bin/sidecar");
    json_decref(h);
    json_decref(o);
}

static void load(const char *text, int want, const char *msg)
{
    struct harness_scenario *s = calloc(1, sizeof *s);
    char errmsg[FL_ERRMSG_SIZE] = "";
    json_t *root = opts(text);
    int rc = harness_scenario_from_json(root, "t", s, errmsg);
    json_decref(root);
    if (want == 0)
        cr_assert_eq(rc, 0, "%s: %s", text, errmsg);
    else
        cr_assert_neq(rc, 0, "%s accepted", text);
    if (msg != NULL)
        cr_assert_not_null(strstr(errmsg, msg), "%s", errmsg);
    free(s);
}

/* process and client nodes run on hosts; upload is checked when the scenario is read. */
Test(harness_hosts, foreign_scenarios_on_hosts)
{
    load("{\"hosts\": \"h.json\", \"implementation\": {\"impl\": \"process\", \"options\": "
         "{\"binary\": \"/x/kv\", \"upload\": [\"/x/kv\"]}}}",
         0, NULL);
    load("{\"hosts\": \"h.json\", \"implementation\": {\"impl\": \"client\", \"options\": "
         "{\"binary\": \"/usr/bin/java\", \"client\": {\"binary\": \"/x\"}}}}",
         0, NULL);
    load("{\"implementation\": {\"impl\": \"process\", \"options\": {\"binary\": \"/x/kv\", "
         "\"upload\": [\"/x/kv\", \"/y/kv\"]}}}",
         -1, "implementation.options.upload[1]: \"/y/kv\": a second file named kv");
    load("{\"implementation\": {\"impl\": \"process\", \"options\": {\"binary\": \"/x/kv\", "
         "\"upload\": [\"/x/\"]}}}",
         -1, "implementation.options.upload[0]");
    load("{\"implementation\": {\"impl\": \"process\", \"options\": {\"binary\": \"/x/kv\", "
         "\"upload\": []}}}",
         -1, "implementation.options.upload: expected 1 to 16 paths");
    load("{\"implementation\": {\"impl\": \"process\", \"options\": {\"binary\": \"/x/kv\", "
         "\"upload\": [\"/x/k v\"]}}}",
         -1, "[A-Za-z0-9._-]");
    load("{\"implementation\": {\"impl\": \"etcd\", \"options\": {\"upload\": [\"/x/kv\"]}}}", -1,
         "upload");
}
