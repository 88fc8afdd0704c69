/* test_history_jepsenlog.c - Jepsen text logs (Porcupine's test_data/jepsen style). */
#include "common/alloc.h"
#include "common/error.h"
#include "common/history.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 16

struct got {
    int n;
    int rc;
    char err[FL_ERRMSG_SIZE];
    enum fl_history_format format;
    struct fl_event ev[MAX_EVENTS];
};

static void read_path(const char *path, enum fl_history_format fmt, struct got *g)
{
    struct fl_history_reader r;
    memset(g, 0, sizeof *g);
    g->rc = fl_history_reader_open(&r, path, fmt, g->err);
    if (g->rc < 0)
        return;
    g->format = r.format;
    for (;;) {
        struct fl_event ev;
        fl_event_init(&ev);
        int rc = fl_history_reader_next(&r, &ev, g->err);
        if (rc != 1) {
            g->rc = rc;
            fl_event_clear(&ev);
            break;
        }
        cr_assert_lt(g->n, MAX_EVENTS);
        g->ev[g->n++] = ev;
    }
    fl_history_reader_close(&r);
}

static void read_log(const char *text, struct got *g)
{
    read_path(test_tmpfile(text, ".log"), FL_FORMAT_JEPSEN_LOG, g);
}

static void got_free(struct got *g)
{
    for (int i = 0; i < g->n; i++)
        fl_event_clear(&g->ev[i]);
}

static void assert_json(json_t *v, const char *want)
{
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    cr_assert_not_null(w, "bad JSON in test: %s", want);
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    cr_assert(v && json_equal(v, w), "got %s, want %s", s ? s : "(absent)", want);
    free(s);
    json_decref(w);
}

static void fails(const char *text, const char *needle)
{
    struct got g;
    read_log(text, &g);
    cr_assert_lt(g.rc, 0, "<%s> was accepted", text);
    cr_assert(strstr(g.err, needle), "<%s>: message \"%s\" lacks \"%s\"", text, g.err, needle);
    got_free(&g);
}

/* Lines in the shape of Porcupine's test_data/jepsen/etcd_000.log. */
static const char porcupine_like[] =
    "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n"
    "INFO  jepsen.util - 2\t:invoke\t:write\t4\n"
    "INFO  jepsen.util - 0\t:ok\t:read\tnil\n"
    "INFO  jepsen.util - 2\t:ok\t:write\t4\n"
    "INFO  jepsen.util - 1\t:invoke\t:cas\t[3 0]\n"
    "INFO  jepsen.util - 1\t:fail\t:cas\t[3 0]\n"
    "INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n"
    "INFO  jepsen.util - 4\t:invoke\t:write\t3\n"
    "INFO  jepsen.util - 4\t:info\t:write\t:timed-out\n"
    "INFO  jepsen.util - :nemesis\t:info\t:stop\tfully connected\n";

Test(history_jepsenlog, porcupine_style_lines)
{
    struct got g;
    read_path(test_tmpfile(porcupine_like, ".log"), FL_FORMAT_AUTO, &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.format, FL_FORMAT_JEPSEN_LOG, "detected as %s",
                 fl_history_format_name(g.format));
    cr_assert_eq(g.n, 10);
    cr_assert_eq(g.ev[0].process, 0);
    cr_assert_eq(g.ev[0].type, FL_EVENT_INVOKE);
    cr_assert_str_eq(g.ev[0].f, "read");
    assert_json(g.ev[0].value, "null");
    assert_json(g.ev[1].value, "4");
    cr_assert_eq(g.ev[5].type, FL_EVENT_FAIL);
    assert_json(g.ev[5].value, "[3,0]");
    cr_assert_eq(g.ev[6].process, FL_PROCESS_NEMESIS);
    cr_assert_eq(g.ev[6].type, FL_EVENT_INFO);
    cr_assert_str_eq(g.ev[6].f, "start");
    cr_assert_eq(g.ev[8].line, 9);
    cr_assert_null(g.ev[8].value, ":info with a keyword: the value is unknown");
    assert_json(g.ev[8].error, "\"timed-out\"");
    assert_json(g.ev[9].value, "\"fully connected\"");
    cr_assert_null(g.ev[9].error);
    cr_assert_eq(g.ev[0].time, -1);
    cr_assert_eq(g.ev[0].index, -1);
    got_free(&g);
}

Test(history_jepsenlog, other_lines_are_ignored)
{
    struct got g;
    read_log("INFO  jepsen.core - Running test\n"
             "\n"
             "WARN  jepsen.core - something\twith\ttabs\n"
             "java.lang.Exception: boom\n"
             "\tat clojure.core$eval.invoke(core.clj:1)\n"
             "INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\r\n"
             "INFO  x - ok\n"
             "INFO  jepsen.util - 3\t:ok\t:cas\t[1 4]", /* no final newline */
             &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 2);
    cr_assert_eq(g.ev[0].line, 6);
    assert_json(g.ev[0].value, "[1,4]");
    cr_assert_eq(g.ev[1].line, 8);
    got_free(&g);
}

/* A line shaped like an event (process, then a keyword) with a type that is
 * not one of the four was once ignored as "some other line", which left the
 * invoke in flight and changed the verdict. */
Test(history_jepsenlog, unknown_type_is_an_error_not_ignored)
{
    struct got g;
    read_log("INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\n"
             "INFO  jepsen.util - 3\t:done\t:cas\t[1 4]\n",
             &g);
    cr_assert_lt(g.rc, 0);
    cr_assert(strstr(g.err, "line 2: type: expected :invoke, :ok, :fail or :info, found :done"),
              "%s", g.err);
    got_free(&g);

    read_log("2015-05-21 12:13:14,123{GMT}\tINFO\t[jepsen worker 3] jepsen.util: 3\t:oops\t"
             ":read\tnil\n",
             &g);
    cr_assert_lt(g.rc, 0);
    cr_assert(strstr(g.err, "line 1: type: expected"), "%s", g.err);
    got_free(&g);
}

Test(history_jepsenlog, f_with_control_characters_is_rejected)
{
    struct got g;
    read_log("INFO  jepsen.util - 3\t:invoke\t\"a\\nb\"\tnil\n", &g);
    cr_assert_lt(g.rc, 0);
    cr_assert(strstr(g.err, "line 1: f: expected a keyword or string"), "%s", g.err);
    cr_assert_null(strchr(g.err, '\n'), "one line: %s", g.err);
    got_free(&g);
}

Test(history_jepsenlog, timestamped_prefix_and_error_field)
{
    struct got g;
    read_log("2015-05-21 12:13:14,123{GMT}\tINFO\t[jepsen worker 3] jepsen.util: 3\t:invoke\t"
             ":read\tnil\n"
             "2015-05-21 12:13:14,200{GMT}\tINFO\t[jepsen worker 3] jepsen.util: 3\t:fail\t"
             ":read\tnil\t:not-found\n"
             "2015-05-21 12:13:14,300{GMT}\tINFO\t[jepsen nemesis] jepsen.util: :nemesis\t"
             ":info\t:start\tCut off [:n3 #{:n4 :n5}]\n",
             &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 3);
    cr_assert_eq(g.ev[0].process, 3);
    cr_assert_eq(g.ev[1].type, FL_EVENT_FAIL);
    assert_json(g.ev[1].value, "null");
    assert_json(g.ev[1].error, "\"not-found\"");
    assert_json(g.ev[2].value, "\"Cut off [:n3 #{:n4 :n5}]\"");
    got_free(&g);
}

Test(history_jepsenlog, bad_event_lines_name_line_and_field)
{
    fails("INFO  jepsen.util - 3\t:invoke\t:cas\t[1 4]\nINFO  jepsen.util - 3\t:ok\t:cas\t[1 4\n",
          "log: line 2: value: column 36: unterminated vector opened at line 2 column 32");
    fails("INFO  jepsen.util - 3\t:ok\t:cas\t1 2\n",
          "line 1: value: column 34: more than one form");
    fails("INFO  jepsen.util - 3\t:ok\t[1]\t2\n", "line 1: f: expected a keyword or string");
    fails("INFO  jepsen.util - 3\t:ok\t\"\"\t2\n", "line 1: f: expected");
    fails("INFO  jepsen.util - 3\t:ok\t:a b\t2\n", "line 1: f: column 30: more than one form");
    fails("INFO  jepsen.util - -3\t:ok\t:read\t2\n", "line 1: process: expected a non-negative");
    fails("INFO  jepsen.util - 99999999999999999999\t:ok\t:read\t2\n",
          "line 1: process: does not fit");
    fails("INFO  jepsen.util - 1\t:ok\t:read\t1.5M\n",
          "line 1: value: column 33: BigDecimal 1.5M is not supported");
}

Test(history_jepsenlog, raw_nemesis_values_must_be_text)
{
    fails("INFO  jepsen.util - :nemesis\t:info\t:start\tcut \xff off\n",
          "line 1: value: not valid UTF-8 text");
    fails("INFO  jepsen.util - :nemesis\t:info\t:start\tnil\t[bad \xfe\n",
          "line 1: error: not valid UTF-8 text");
}

/* Issue 14: any line over the bound is an error, as in JSONL (a long line
 * was once skipped unread, so /dev/zero never returned), and so is a NUL. */
Test(history_jepsenlog, long_lines_and_nul_bytes_are_errors)
{
    size_t big = FL_HISTORY_MAX_LINE + 100;
    char *text = malloc(big + 200);
    strcpy(text, "INFO  jepsen.core - ");
    size_t n = strlen(text);
    memset(text + n, 'x', big);
    n += big;
    strcpy(text + n, "\nINFO  jepsen.util - 1\t:invoke\t:read\tnil\n");
    fails(text, "line 1: longer than 1048576 bytes");
    strcpy(text, "INFO  jepsen.util - 1\t:ok\t:read\t\"");
    n = strlen(text);
    memset(text + n, 'y', big);
    n += big;
    strcpy(text + n, "\"\n");
    fails(text, "line 1: longer than 1048576 bytes");
    free(text);
    /* A NUL among the type field once read as "found :ok". */
    char nul[] = "INFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:o?\t:read\t1\n";
    *strchr(nul, '?') = '\0';
    const char *path = test_tmpfile_n(nul, sizeof nul - 1, ".log");
    struct fl_history_reader r;
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct fl_event ev;
    cr_assert_eq(fl_history_reader_open(&r, path, FL_FORMAT_JEPSEN_LOG, errmsg), 0, "%s", errmsg);
    fl_event_init(&ev);
    cr_assert_eq(fl_history_reader_next(&r, &ev, errmsg), 1, "%s", errmsg);
    int rc = fl_history_reader_next(&r, &ev, errmsg);
    cr_assert_lt(rc, 0);
    cr_assert(strstr(errmsg, "line 2: column 25: a NUL byte (not a text log)"), "%s", errmsg);
    fl_event_clear(&ev);
    fl_history_reader_close(&r);
}

/* Issue 14: a line with a type field between tabs is an event line; a bad
 * process there is reported, not the event silently skipped. */
Test(history_jepsenlog, bad_process_on_an_event_line_is_an_error)
{
    fails("INFO  x - notaprocess\t:ok\t:read\t1\n",
          "line 1: process: expected an integer or :nemesis before the type, found \"notaprocess\"");
    fails("3.5\t:invoke\t:read\tnil\n", "line 1: process: expected an integer or :nemesis");
}

Test(history_jepsenlog, allocation_failures_are_reported)
{
    const char *path = test_tmpfile(porcupine_like, ".log");
    int done = 0;
    for (long n = 0; n < 200 && !done; n++) {
        char err[FL_ERRMSG_SIZE] = "";
        struct fl_history_reader r;
        struct fl_event ev;
        int rc, count = 0;
        fl_event_init(&ev);
        fl_alloc_fail_after(n);
        rc = fl_history_reader_open(&r, path, FL_FORMAT_JEPSEN_LOG, err);
        if (rc == 0) {
            while ((rc = fl_history_reader_next(&r, &ev, err)) == 1)
                count++;
            fl_history_reader_close(&r);
        }
        fl_alloc_fail_reset();
        fl_event_clear(&ev);
        if (rc == 0) {
            cr_assert_eq(count, 10);
            done = 1;
        } else {
            cr_assert_eq(rc, FL_ENOMEM, "n=%ld: %s", n, err);
        }
    }
    cr_assert(done);
}

/* Porcupine's etcd_100..102 pad the fields with spaces instead of tabs. */
Test(history_jepsenlog, space_aligned_fields)
{
    struct got g;
    read_path(test_tmpfile("INFO  jepsen.util - 1   :invoke :write  3\n"
                           "INFO  jepsen.util - 4   :invoke :cas    [1 2]\n"
                           "INFO  jepsen.core - Run complete, writing :ok results\n"
                           "INFO  jepsen.util - 1   :ok     :write  3\n"
                           "INFO  jepsen.util - 4   :fail   :cas    [1 2]\n"
                           "INFO  jepsen.util - 17  :invoke :read   nil\n"
                           "INFO  jepsen.util - 17  :fail   :read   :timed-out\n"
                           "INFO  jepsen.util - 10  :info   :cas    :timed-out\n",
                           ".log"),
              FL_FORMAT_AUTO, &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 7);
    cr_assert_eq(g.ev[0].process, 1);
    cr_assert_eq(g.ev[0].type, FL_EVENT_INVOKE);
    cr_assert_str_eq(g.ev[0].f, "write");
    assert_json(g.ev[0].value, "3");
    cr_assert_eq(g.ev[1].process, 4);
    assert_json(g.ev[1].value, "[1, 2]");
    cr_assert_eq(g.ev[3].type, FL_EVENT_FAIL);
    cr_assert_eq(g.ev[4].process, 17);
    assert_json(g.ev[4].value, "null");
    cr_assert_eq(g.ev[6].type, FL_EVENT_INFO);
    cr_assert_null(g.ev[6].value);
    assert_json(g.ev[6].error, "\"timed-out\"");
    got_free(&g);
}
