/* test_history_jsonl.c - the JSONL history reader: good lines, blank lines, and each kind of error.
 */
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

static void read_all(struct fl_history_reader *r, struct got *g)
{
    g->format = r->format;
    for (;;) {
        struct fl_event ev;
        fl_event_init(&ev);
        int rc = fl_history_reader_next(r, &ev, g->err);
        if (rc != 1) {
            g->rc = rc;
            fl_event_clear(&ev);
            break;
        }
        cr_assert_lt(g->n, MAX_EVENTS);
        g->ev[g->n++] = ev;
    }
    fl_history_reader_close(r);
}

static void read_text(const char *text, struct got *g)
{
    struct fl_history_reader r;
    memset(g, 0, sizeof *g);
    g->rc = fl_history_reader_open(&r, test_tmpfile(text, ".jsonl"), FL_FORMAT_AUTO, g->err);
    if (g->rc == 0)
        read_all(&r, g);
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

/* Asserts the text reads `events` events then fails with `needle`. */
static void fails_after(const char *text, int events, const char *needle)
{
    struct got g;
    read_text(text, &g);
    cr_assert_lt(g.rc, 0, "<%s> was accepted", text);
    cr_assert_eq(g.n, events, "<%s>: %d events before the error", text, g.n);
    cr_assert(strstr(g.err, needle), "<%s>: message \"%s\" lacks \"%s\"", text, g.err, needle);
    cr_assert(strncmp(g.err, "/tmp/fltest-", 12) == 0, "message lacks the path: %s", g.err);
    got_free(&g);
}

#define OK_LINE "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n"

Test(history_jsonl, good_lines)
{
    struct got g;
    read_text("{\"index\":0,\"time\":1234567,\"process\":3,\"type\":\"invoke\",\"f\":\"cas\","
              "\"key\":\"k1\",\"value\":[1,2]}\n"
              "{\"index\":1,\"time\":1290001,\"process\":3,\"type\":\"ok\",\"f\":\"cas\","
              "\"key\":\"k1\",\"value\":[1,2],\"node\":\"n1\",\"consistency\":\"lease\","
              "\"latency\":7,\"session\":{\"s\":1}}\n"
              "{\"index\":2,\"time\":1300000,\"process\":\"nemesis\",\"type\":\"info\","
              "\"f\":\"partition\",\"value\":{\"n1\":[\"n2\",\"n3\"]}}\n"
              "{\"process\":4,\"type\":\"fail\",\"f\":\"write\",\"value\":null,\"error\":\"x\"}\n"
              "{\"process\":5,\"type\":\"invoke\",\"f\":\"read\"}\n",
              &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.format, FL_FORMAT_JSONL);
    cr_assert_eq(g.n, 5);
    cr_assert_eq(g.ev[0].index, 0);
    cr_assert_eq(g.ev[0].time, 1234567);
    cr_assert_eq(g.ev[0].process, 3);
    cr_assert_eq(g.ev[0].type, FL_EVENT_INVOKE);
    cr_assert_str_eq(g.ev[0].f, "cas");
    assert_json(g.ev[0].key, "\"k1\"");
    assert_json(g.ev[0].value, "[1,2]");
    cr_assert_str_eq(g.ev[1].node, "n1");
    cr_assert_str_eq(g.ev[1].consistency, "lease");
    cr_assert_eq(g.ev[1].latency, 7);
    assert_json(g.ev[1].session, "{\"s\":1}");
    cr_assert_eq(g.ev[2].process, FL_PROCESS_NEMESIS);
    assert_json(g.ev[3].value, "null");
    assert_json(g.ev[3].error, "\"x\"");
    cr_assert_null(g.ev[4].value);
    cr_assert_eq(g.ev[4].index, -1);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(g.ev[i].line, (uint64_t)i + 1);
    got_free(&g);
}

Test(history_jsonl, blank_lines_are_skipped_and_counted)
{
    struct got g;
    read_text(OK_LINE "   \t\r\n\n" OK_LINE, &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 2);
    cr_assert_eq(g.ev[0].line, 1);
    cr_assert_eq(g.ev[1].line, 4);
    got_free(&g);
}

/* A first line that is empty comes before any buffer exists (once a NULL
 * write; found by tests/fuzz/fuzz_jsonl on input "\n"). */
Test(history_jsonl, leading_blank_line)
{
    struct got g;
    read_text("\n" OK_LINE, &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.ev[0].line, 2);
    got_free(&g);
}

Test(history_jsonl, empty_file_has_no_events)
{
    struct got g;
    read_text("", &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 0);
}

Test(history_jsonl, bad_json_names_line_and_column)
{
    fails_after(OK_LINE "{\"process\":1,\"type\":\"ok\",\n", 1, "line 2: column");
    fails_after(OK_LINE OK_LINE "not json\n", 2, "line 3: column");
    fails_after(OK_LINE "[1,2]\n", 1, "line 2: expected a JSON object");
    fails_after("{\"process\":1,\"process\":2,\"type\":\"ok\",\"f\":\"r\"}\n", 0, "line 1: column");
}

Test(history_jsonl, unknown_type)
{
    fails_after(OK_LINE "{\"process\":1,\"type\":\"done\",\"f\":\"read\"}\n", 1,
                "line 2: type: expected \"invoke\", \"ok\", \"fail\" or \"info\"");
    fails_after("{\"process\":1,\"type\":3,\"f\":\"read\"}\n", 0, "line 1: type: expected");
}

Test(history_jsonl, missing_and_wrong_fields)
{
    fails_after("{\"process\":1,\"f\":\"read\"}\n", 0, "line 1: type: missing");
    fails_after("{\"type\":\"ok\",\"f\":\"read\"}\n", 0, "line 1: process: missing");
    fails_after("{\"process\":1,\"type\":\"ok\"}\n", 0, "line 1: f: missing");
    fails_after("{\"process\":-1,\"type\":\"ok\",\"f\":\"r\"}\n", 0,
                "line 1: process: expected a non-negative integer, \"nemesis\" or \"node\"");
    fails_after("{\"process\":\"client\",\"type\":\"ok\",\"f\":\"r\"}\n", 0, "process: expected");
    fails_after("{\"process\":1,\"type\":\"ok\",\"f\":\"\"}\n", 0,
                "line 1: f: expected a non-empty");
    /* f ends up in one-line messages: a newline or an escape would break them */
    fails_after("{\"process\":1,\"type\":\"ok\",\"f\":\"a\\nb\"}\n", 0,
                "line 1: f: control characters are not allowed");
    fails_after("{\"process\":1,\"type\":\"ok\",\"f\":\"\\u001b[31m\"}\n", 0,
                "line 1: f: control characters are not allowed");
    fails_after("{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"time\":-2}\n", 0,
                "line 1: time: expected a non-negative integer");
    fails_after("{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"index\":\"3\"}\n", 0,
                "line 1: index: expected");
    fails_after("{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"key\":[1]}\n", 0,
                "line 1: key: expected a string or an integer");
    fails_after("{\"process\":1,\"type\":\"ok\",\"f\":\"r\",\"node\":5}\n", 0,
                "line 1: node: expected a string");
}

Test(history_jsonl, truncated_last_line)
{
    fails_after(OK_LINE OK_LINE "{\"process\":1,\"type\":\"ok\",\"f\":\"read\"}", 2,
                "line 3: truncated (no newline at the end of the last line)");
}

Test(history_jsonl, over_long_line)
{
    size_t big = FL_HISTORY_MAX_LINE + 10;
    char *text = malloc(big + 200);
    strcpy(text, OK_LINE "{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":\"");
    size_t n = strlen(text);
    memset(text + n, 'z', big);
    strcpy(text + n + big, "\"}\n");
    fails_after(text, 1, "line 2: longer than 1048576 bytes");
    free(text);
}

Test(history_jsonl, reader_over_an_open_stream)
{
    static const char text[] = OK_LINE OK_LINE;
    FILE *fp = fmemopen((void *)text, sizeof text - 1, "r");
    cr_assert_not_null(fp);
    struct fl_history_reader r;
    struct got g;
    memset(&g, 0, sizeof g);
    cr_assert_eq(fl_history_reader_open_file(&r, fp, "mem", FL_FORMAT_AUTO, g.err), 0, "%s", g.err);
    read_all(&r, &g); /* closes fp */
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 2);
    got_free(&g);

    static const char bad[] = "{\"process\":1}\n";
    fp = fmemopen((void *)bad, sizeof bad - 1, "r");
    memset(&g, 0, sizeof g);
    cr_assert_eq(fl_history_reader_open_file(&r, fp, "mem", FL_FORMAT_JSONL, g.err), 0);
    read_all(&r, &g);
    cr_assert_lt(g.rc, 0);
    cr_assert_str_eq(g.err, "mem: line 1: type: missing");
}

/* Reads `len` bytes (which may hold NUL) through a memory stream. */
static void read_bytes(const char *bytes, size_t len, struct got *g)
{
    FILE *fp = fmemopen((void *)bytes, len, "r");
    cr_assert_not_null(fp);
    struct fl_history_reader r;
    memset(g, 0, sizeof *g);
    cr_assert_eq(fl_history_reader_open_file(&r, fp, "mem", FL_FORMAT_JSONL, g->err), 0);
    read_all(&r, g);
}

/* A NUL byte once ended the line (fgets) and, at the start of a line, the
 * whole file: the events after it were silently dropped. */
Test(history_jsonl, nul_bytes_are_an_error_not_the_end)
{
    static const char lead[] = OK_LINE "\0\1\n" OK_LINE;
    struct got g;
    read_bytes(lead, sizeof lead - 1, &g);
    cr_assert_lt(g.rc, 0, "a line starting with NUL is rejected");
    cr_assert_eq(g.n, 1);
    cr_assert(strstr(g.err, "mem: line 2: column"), "%s", g.err);
    got_free(&g);

    static const char mid[] = "{\"process\":1,\0\"type\":\"ok\"}\n" OK_LINE;
    read_bytes(mid, sizeof mid - 1, &g);
    cr_assert_lt(g.rc, 0, "a NUL inside a line is rejected");
    cr_assert_eq(g.n, 0);
    cr_assert(strstr(g.err, "mem: line 1: column"), "%s", g.err);
    got_free(&g);
}

Test(history_jsonl, allocation_failures_are_reported)
{
    const char *path = test_tmpfile(OK_LINE OK_LINE OK_LINE, ".jsonl");
    int done = 0;
    for (long n = 0; n < 100 && !done; n++) {
        char err[FL_ERRMSG_SIZE] = "";
        struct fl_history_reader r;
        struct fl_event ev;
        int rc, count = 0;
        fl_event_init(&ev);
        fl_alloc_fail_after(n);
        rc = fl_history_reader_open(&r, path, FL_FORMAT_AUTO, err);
        if (rc == 0) {
            while ((rc = fl_history_reader_next(&r, &ev, err)) == 1)
                count++;
            fl_history_reader_close(&r);
        }
        fl_alloc_fail_reset();
        fl_event_clear(&ev);
        if (rc == 0) {
            cr_assert_eq(count, 3);
            done = 1;
        } else {
            cr_assert_eq(rc, FL_ENOMEM, "n=%ld: %s", n, err);
        }
    }
    cr_assert(done);
}
