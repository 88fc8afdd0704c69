/* test_history_edn.c - EDN histories: shapes, field conversion, errors, the Knossos corpus, the
 * writer. */
#include "common/alloc.h"
#include "common/error.h"
#include "common/history.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVENTS 16

struct got {
    int n;
    int rc; /* last reader result: 0 at a clean end, or the error */
    char err[FL_ERRMSG_SIZE];
    struct fl_event ev[MAX_EVENTS];
};

/* Reads all of `path` (format given or detected) into g. */
static void read_path(const char *path, enum fl_history_format fmt, struct got *g)
{
    struct fl_history_reader r;
    memset(g, 0, sizeof *g);
    g->rc = fl_history_reader_open(&r, path, fmt, g->err);
    if (g->rc < 0)
        return;
    cr_assert_eq(r.format, FL_FORMAT_EDN, "%s detected as %s", path,
                 fl_history_format_name(r.format));
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

static void read_text(const char *text, struct got *g)
{
    read_path(test_tmpfile(text, ".edn"), FL_FORMAT_AUTO, g);
}

static void got_free(struct got *g)
{
    for (int i = 0; i < g->n; i++)
        fl_event_clear(&g->ev[i]);
}

static void assert_json(json_t *v, const char *want)
{
    json_t *w = json_loads(want, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    cr_assert_not_null(w, "bad JSON in test: %s", want);
    char *s = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    cr_assert(v && json_equal(v, w), "got %s, want %s", s ? s : "(absent)", want);
    free(s);
    json_decref(w);
}

/* Asserts the text fails with a message containing `needle`. */
static void fails(const char *text, const char *needle)
{
    struct got g;
    read_text(text, &g);
    cr_assert_lt(g.rc, 0, "<%s> was accepted", text);
    cr_assert(strstr(g.err, needle), "<%s>: message \"%s\" lacks \"%s\"", text, g.err, needle);
    cr_assert(strncmp(g.err, "/tmp/fltest-", 12) == 0, "message lacks the path: %s", g.err);
    got_free(&g);
}

/* ==== Shapes ==== */

Test(history_edn, vector_of_maps)
{
    struct got g;
    read_text("; comment\n[{:process 4, :type :invoke, :f :write, :value 2}\n"
              " {:process 4, :type :ok, :f :write, :value 2}]\n",
              &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 2);
    cr_assert_eq(g.ev[0].line, 2);
    cr_assert_eq(g.ev[1].line, 3);
    cr_assert_eq(g.ev[1].type, FL_EVENT_OK);
    cr_assert_eq(g.ev[1].process, 4);
    cr_assert_str_eq(g.ev[1].f, "write");
    assert_json(g.ev[1].value, "2");
    got_free(&g);
}

Test(history_edn, list_of_maps)
{
    struct got g;
    read_text("({:type :invoke, :f :read, :value nil, :process 1})", &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 1);
    assert_json(g.ev[0].value, "null");
    got_free(&g);
}

Test(history_edn, bare_maps_one_per_line)
{
    struct got g;
    read_text("{:type :invoke, :f :read, :process 0}\n"
              "{:type :ok, :f :read, :process 0, :value 3}\n"
              "\n"
              "{:type :invoke,\n :f :cas,\n :value [1 2],\n :process 1}\n",
              &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 3);
    cr_assert_eq(g.ev[0].line, 1);
    cr_assert_eq(g.ev[1].line, 2);
    cr_assert_eq(g.ev[2].line, 4);
    cr_assert_null(g.ev[0].value, "absent :value must stay absent");
    assert_json(g.ev[2].value, "[1,2]");
    got_free(&g);
}

Test(history_edn, empty_histories)
{
    struct got g;
    read_path(test_tmpfile("", ".edn"), FL_FORMAT_EDN, &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 0);
    read_text("[]", &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 0);
    read_text("; nothing\n( )\n; at all\n", &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 0);
}

Test(history_edn, jepsen_record_syntax)
{
    struct got g;
    read_text("[#jepsen.history.Op{:index 0, :time 5, :type :invoke, :process 0, :f :read, "
              ":value nil}]",
              &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 1);
    cr_assert_eq(g.ev[0].index, 0);
    cr_assert_eq(g.ev[0].time, 5);
    got_free(&g);
}

/* ==== Fields ==== */

Test(history_edn, fields_convert)
{
    struct got g;
    read_text("[{:type \"fail\", :f \"cas\", :process 7, :time 123, :index 4, :error :not-held,"
              " :key :k1, :node \"n2\", :ignored {:x 1}, :value {:a [1 #{2}]}}\n"
              " {:type :info, :f :start, :process :nemesis, :value \"Cut off [:n3 #{:n4}]\"}\n"
              " {:type :info, :f :kill, :process \"nemesis\"}]",
              &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 3);
    struct fl_event *e = &g.ev[0];
    cr_assert_eq(e->type, FL_EVENT_FAIL);
    cr_assert_str_eq(e->f, "cas");
    cr_assert_eq(e->process, 7);
    cr_assert_eq(e->time, 123);
    cr_assert_eq(e->index, 4);
    assert_json(e->error, "\"not-held\"");
    /* :k1 is a keyword (common/edn.h), not the string "k1"; :error is only shown */
    assert_json(e->key, "\"\\u0000:k1\"");
    cr_assert_str_eq(e->node, "n2");
    assert_json(e->value, "{\":a\":[1,[\"\\u0000#{\",2]]}");
    cr_assert_eq(g.ev[1].process, FL_PROCESS_NEMESIS);
    cr_assert_str_eq(g.ev[1].f, "start");
    assert_json(g.ev[1].value, "\"Cut off [:n3 #{:n4}]\"");
    cr_assert_eq(g.ev[2].process, FL_PROCESS_NEMESIS);
    cr_assert_eq(g.ev[2].time, -1);
    cr_assert_eq(g.ev[2].index, -1);
    got_free(&g);
}

/* ==== Errors ==== */

Test(history_edn, bad_events_name_line_and_field)
{
    fails("[{:type :invoke, :f :read, :process 0}\n 5]", "line 2: expected a map (one event)");
    fails("[{:type :invoke, :f :read, :process 0}\n [1]]", "line 2: expected a map");
    fails("[\n{:f :read, :process 0}]", "edn: line 2: type: missing");
    fails("[{:type :begin, :f :read, :process 0}]", "line 1: type: expected");
    fails("[{:type :ok, :f :read}]", "line 1: process: missing");
    fails("[{:type :ok, :f :read, :process -1}]", "line 1: process: expected a non-negative");
    fails("[{:type :ok, :f :read, :process :client}]", "process: expected");
    fails("[{:type :ok, :f :read, :process 1.5}]", "process: expected");
    fails("[{:type :ok, :process 1}]", "line 1: f: missing");
    fails("[{:type :ok, :f 3, :process 1}]", "f: expected a non-empty string");
    fails("[{:type :ok, :f :r, :process 1, :time -5}]", "time: expected a non-negative integer");
    fails("[{:type :ok, :f :r, :process 1, :index :x}]", "index: expected a non-negative");
    fails("{:type :ok, :f :r, :process 1}\n{:type :ok, :f :r, :process 1", "line 2: column 30: "
                                                                           "unterminated map");
}

Test(history_edn, bad_framing)
{
    fails("[{:type :ok, :f :r, :process 1}\n", "line 2: the history opened at line 1 is not "
                                               "closed (missing ']')");
    fails("[{:type :ok, :f :r, :process 1}] {:type :ok, :f :r, :process 2}",
          "unexpected data after the history's closing ']'");
    fails("({:type :ok, :f :r, :process 1}]", "line 1: expected ')' to close the history opened at "
                                              "line 1, found ']'");
    fails("[{:type :ok, :f :r, :process 99999999999999999999}]",
          "process: expected a non-negative integer");
    fails("[#foo {}]", "tagged literal #foo is not supported");
}

/* ==== The Knossos corpus ==== */

/* Counts events the dumb way: every event map has exactly one ":type " key. */
static long count_type_keys(const char *path)
{
    FILE *fp = fopen(path, "r");
    cr_assert_not_null(fp, "%s", path);
    long n = 0;
    int state = 0, c;
    const char *pat = ":type ";
    while ((c = getc(fp)) != EOF) {
        if (c == pat[state])
            state++;
        else
            state = c == pat[0] ? 1 : 0;
        if (pat[state] == '\0') {
            n++;
            state = 0;
        }
    }
    fclose(fp);
    return n;
}

Test(history_edn, knossos_corpus_parses_with_every_event)
{
    glob_t gl;
    cr_assert_eq(glob(test_source_path("tests/data/knossos/*/*/*.edn"), 0, NULL, &gl), 0);
    cr_assert_eq(gl.gl_pathc, 122, "expected the 122 Knossos files, found %zu", gl.gl_pathc);
    long total = 0;
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        const char *path = gl.gl_pathv[i];
        struct fl_history_reader r;
        char err[FL_ERRMSG_SIZE];
        struct fl_event ev;
        cr_assert_eq(fl_history_reader_open(&r, path, FL_FORMAT_AUTO, err), 0, "%s", err);
        cr_assert_eq(r.format, FL_FORMAT_EDN, "%s", path);
        fl_event_init(&ev);
        long n = 0;
        int rc;
        uint64_t last_line = 0;
        while ((rc = fl_history_reader_next(&r, &ev, err)) == 1) {
            cr_assert_gt(ev.line, last_line, "%s: lines must increase", path);
            last_line = ev.line;
            n++;
        }
        cr_assert_eq(rc, 0, "%s", err);
        cr_assert_eq(n, count_type_keys(path), "%s: %ld events", path, n);
        total += n;
        fl_event_clear(&ev);
        fl_history_reader_close(&r);
    }
    cr_assert_gt(total, 40000);
    globfree(&gl);
}

/* ==== Writer ==== */

Test(history_edn, writer_format)
{
    struct fl_event ev;
    fl_event_init(&ev);
    ev.type = FL_EVENT_OK;
    ev.f = strdup("cas");
    ev.process = 3;
    ev.value = json_pack("[ii]", 1, 2);
    ev.time = 123;
    ev.index = 4;
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    cr_assert_eq(fl__history_edn_write_event(fp, &ev), 0);
    ev.process = FL_PROCESS_NEMESIS;
    free(ev.f);
    ev.f = strdup("not a keyword");
    json_decref(ev.value);
    ev.value = json_null();
    ev.time = ev.index = -1;
    cr_assert_eq(fl__history_edn_write_event(fp, &ev), 0);
    fclose(fp);
    cr_assert_str_eq(text, "{:type :ok, :f :cas, :process 3, :value [1 2], :time 123, :index 4}\n"
                           "{:type :ok, :f \"not a keyword\", :process :nemesis, :value nil}\n");
    free(text);
    fl_event_clear(&ev);
}

/* JSONL -> (reader) -> EDN writer -> EDN reader: the same events. */
Test(history_edn, jsonl_to_edn_round_trip)
{
    const char *jsonl =
        "{\"index\":0,\"time\":1234567,\"process\":3,\"type\":\"invoke\",\"f\":\"cas\",\"key\":"
        "\"k1\","
        "\"value\":[1,2]}\n"
        "{\"index\":1,\"time\":1290001,\"process\":3,\"type\":\"ok\",\"f\":\"cas\",\"key\":\"k1\","
        "\"value\":[1,2],\"node\":\"n1\",\"latency\":55}\n"
        "{\"index\":2,\"time\":1300000,\"process\":\"nemesis\",\"type\":\"info\",\"f\":"
        "\"partition\",\"value\":{\"n1\":[\"n2\",\"n3\"],\"odd key\":null}}\n"
        "{\"process\":4,\"type\":\"info\",\"f\":\"write\",\"value\":null,\"error\":\"timed-out\","
        "\"consistency\":\"lease\",\"session\":{\"id\":7}}\n"
        "{\"process\":5,\"type\":\"fail\",\"f\":\"odd f!\",\"key\":12,\"value\":[0.5,-0.0,1e300,"
        "\"q\\\"\\n\\u0001\\u00e9\",true,{}]}\n"
        "{\"process\":6,\"type\":\"invoke\",\"f\":\"read\"}\n";
    const char *src = test_tmpfile(jsonl, ".jsonl");
    const char *dst = test_tmpfile("", ".edn");
    char err[FL_ERRMSG_SIZE];
    struct fl_history_reader r;
    struct fl_history_writer w;
    struct fl_event ev;
    json_t *want[8];
    int n = 0, rc;

    cr_assert_eq(fl_history_reader_open(&r, src, FL_FORMAT_AUTO, err), 0, "%s", err);
    cr_assert_eq(r.format, FL_FORMAT_JSONL);
    cr_assert_eq(fl_history_writer_open(&w, dst, FL_FORMAT_EDN, err), 0, "%s", err);
    fl_event_init(&ev);
    while ((rc = fl_history_reader_next(&r, &ev, err)) == 1) {
        want[n++] = fl_event_to_json(&ev);
        cr_assert_eq(fl_history_writer_write(&w, &ev, err), 0, "%s", err);
    }
    cr_assert_eq(rc, 0, "%s", err);
    cr_assert_eq(n, 6);
    fl_history_reader_close(&r);
    cr_assert_eq(fl_history_writer_close(&w, err), 0, "%s", err);

    struct got g;
    read_path(dst, FL_FORMAT_AUTO, &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, n);
    for (int i = 0; i < n; i++) {
        json_t *back = fl_event_to_json(&g.ev[i]);
        char *a = json_dumps(want[i], JSON_SORT_KEYS), *b = json_dumps(back, JSON_SORT_KEYS);
        cr_assert(json_equal(want[i], back), "event %d: wrote %s, read back %s", i, a, b);
        cr_assert_eq(g.ev[i].line, (uint64_t)i + 1, "one event per line");
        free(a);
        free(b);
        json_decref(back);
        json_decref(want[i]);
    }
    cr_assert_null(g.ev[5].value, "an absent value stays absent");
    got_free(&g);
    fl_event_clear(&ev);
}

/* Every Knossos file written back out reads as the same events. */
Test(history_edn, knossos_corpus_round_trips)
{
    glob_t gl;
    cr_assert_eq(glob(test_source_path("tests/data/knossos/*/*/*.edn"), 0, NULL, &gl), 0);
    for (size_t i = 0; i < gl.gl_pathc; i += 7) {
        char err[FL_ERRMSG_SIZE];
        struct fl_history_reader r, r2;
        struct fl_history_writer w;
        struct fl_event ev, ev2;
        const char *dst = test_tmpfile("", ".edn");
        int rc;
        cr_assert_eq(fl_history_reader_open(&r, gl.gl_pathv[i], FL_FORMAT_EDN, err), 0);
        cr_assert_eq(fl_history_writer_open(&w, dst, FL_FORMAT_EDN, err), 0);
        fl_event_init(&ev);
        fl_event_init(&ev2);
        while ((rc = fl_history_reader_next(&r, &ev, err)) == 1)
            cr_assert_eq(fl_history_writer_write(&w, &ev, err), 0, "%s", err);
        cr_assert_eq(rc, 0);
        fl_history_reader_close(&r);
        cr_assert_eq(fl_history_writer_close(&w, err), 0);
        cr_assert_eq(fl_history_reader_open(&r, gl.gl_pathv[i], FL_FORMAT_EDN, err), 0);
        cr_assert_eq(fl_history_reader_open(&r2, dst, FL_FORMAT_AUTO, err), 0);
        while ((rc = fl_history_reader_next(&r, &ev, err)) == 1) {
            cr_assert_eq(fl_history_reader_next(&r2, &ev2, err), 1, "%s", err);
            json_t *a = fl_event_to_json(&ev), *b = fl_event_to_json(&ev2);
            cr_assert(json_equal(a, b), "%s line %llu differs", gl.gl_pathv[i],
                      (unsigned long long)ev.line);
            json_decref(a);
            json_decref(b);
        }
        cr_assert_eq(fl_history_reader_next(&r2, &ev2, err), 0);
        fl_history_reader_close(&r);
        fl_history_reader_close(&r2);
        fl_event_clear(&ev);
        fl_event_clear(&ev2);
    }
    globfree(&gl);
}

Test(history_edn, writer_keeps_values_readable)
{
    /* A value nested to the reader's limit (minus the event map) is written;
     * one level more is refused rather than written unreadable. */
    struct fl_event ev;
    fl_event_init(&ev);
    ev.f = strdup("w");
    json_t *v = json_integer(1);
    for (int d = 0; d < FL_HISTORY_MAX_DEPTH - 1; d++) {
        json_t *a = json_array();
        json_array_append_new(a, v);
        v = a;
    }
    ev.value = v;
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    cr_assert_eq(fl__history_edn_write_event(fp, &ev), 0);
    fflush(fp);
    struct got g;
    read_text(text, &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 1);
    got_free(&g);
    json_t *a = json_array();
    json_array_append_new(a, ev.value);
    ev.value = a;
    cr_assert_eq(fl__history_edn_write_event(fp, &ev), FL_ELIMIT);
    fclose(fp);
    free(text);
    fl_event_clear(&ev);
}

Test(history_edn, allocation_failures_are_reported)
{
    const char *path = test_tmpfile("[{:type :ok, :f :cas, :process 1, :value [1 \"two\"]}\n"
                                    " {:type :ok, :f :read, :process 2, :value {[1] 2}}]",
                                    ".edn");
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
            cr_assert_eq(count, 2);
            done = 1;
        } else {
            cr_assert_eq(rc, FL_ENOMEM, "n=%ld: %s", n, err);
        }
    }
    cr_assert(done);
}

/* ==== Streaming: the file goes through a ~2 MiB window ==== */

/* Builds "[" + pad + events + "]" where pad is `n_pad` bytes of `fill`
 * (after `lead`), so that the events sit past the first window. */
static char *padded(const char *lead, char fill, size_t n_pad, const char *events)
{
    size_t ll = strlen(lead), le = strlen(events);
    char *s = malloc(1 + ll + n_pad + le + 3);
    cr_assert(s);
    s[0] = '[';
    memcpy(s + 1, lead, ll);
    memset(s + 1 + ll, fill, n_pad);
    memcpy(s + 1 + ll + n_pad, events, le);
    strcpy(s + 1 + ll + n_pad + le, "]\n");
    return s;
}

/* A comment and a run of whitespace longer than the window are skipped
 * whole: an event-like text inside the comment is not read, the events
 * after them are, with their true line numbers. */
Test(history_edn, long_comment_and_whitespace_cross_the_window)
{
    char *text = padded("; {:type :invoke, :f :read, :process 9} ", 'x', 5u << 20,
                        "\n  \n{:type :invoke, :f :write, :process 1, :value 3}\n");
    size_t len = strlen(text);
    char *ws = padded("", ' ', 5u << 20, "{:type :ok, :f :write, :process 1, :value 3}\n");
    char *both = malloc(len + strlen(ws) + 1);
    cr_assert(both);
    memcpy(both, text, len - 2); /* without "]\n" */
    strcpy(both + len - 2, ws + 1);
    struct got g;
    read_text(both, &g);
    cr_assert_eq(g.rc, 0, "%s", g.err);
    cr_assert_eq(g.n, 2);
    cr_assert_eq(g.ev[0].process, 1);
    cr_assert_eq(g.ev[0].line, 3);
    cr_assert_eq(g.ev[1].type, FL_EVENT_OK);
    cr_assert_eq(g.ev[1].line, 4);
    got_free(&g);
    free(text);
    free(ws);
    free(both);
}

/* An event longer than FL_HISTORY_MAX_LINE is refused as such, also when it
 * starts deep in a large file; a syntax error early in a large file is
 * reported as itself, not as a length. */
Test(history_edn, event_over_the_line_cap_and_early_errors_in_large_files)
{
    char *text = padded("{:type :invoke, :f :write, :process 1, :value \"", 'y', 3u << 20,
                        "\"}\n");
    struct got g;
    read_text(text, &g);
    cr_assert_eq(g.rc, FL_ELIMIT, "%s", g.err);
    cr_assert(strstr(g.err, "line 1: event longer than"), "%s", g.err);
    got_free(&g);
    free(text);
    text = padded("{:type :invoke, :f :write, :process 1, :value #foo 1}\n", ' ', 3u << 20,
                  "{:type :ok, :f :write, :process 1, :value 3}\n");
    read_text(text, &g);
    cr_assert(g.rc < 0 && g.rc != FL_ELIMIT, "%s", g.err);
    cr_assert(strstr(g.err, "line 1: column 48: tagged literal"), "%s", g.err);
    got_free(&g);
    free(text);
}
