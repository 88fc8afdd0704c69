/* test_history_write.c - the JSONL writer's text path writes what the jansson path writes,
 * byte for byte, over the shapes a run records and random events of every kind.
 */
#include "common/buf.h"
#include "common/edn.h"
#include "common/error.h"
#include "common/history.h"
#include "common/rng.h"
#include "support/test_support.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Formats ev both ways; returns what the text path returned (1 taken, 0 left to
 * jansson) after asserting that, when taken, its bytes are jansson's. */
static int compare(const struct fl_event *ev)
{
    struct fl_buf fast, slow;
    fl_buf_init(&fast);
    fl_buf_init(&slow);
    fl_buf_append(&fast, "x", 1); /* appends after what is there */
    int rf = fl__history_jsonl_format(&fast, ev);
    int rs = fl__history_jsonl_format_jansson(&slow, ev);
    cr_assert(rf == 0 || rf == 1, "text path: %d", rf);
    cr_assert(rs == 0 || rs == -EIO || rs == FL_ENOMEM, "jansson path: %d", rs);
    if (rf == 1) {
        cr_assert_eq(rs, 0, "text path wrote an event jansson refuses");
        cr_assert_eq(fast.len, slow.len + 1, "lengths differ:\n text:    %s\n jansson: %s",
                     fast.data + 1, slow.data);
        cr_assert(memcmp(fast.data + 1, slow.data, slow.len) == 0,
                  "bytes differ:\n text:    %s\n jansson: %s", fast.data + 1, slow.data);
    } else {
        cr_assert_eq(fast.len, 1, "a refused event left bytes behind");
    }
    fl_buf_free(&fast);
    fl_buf_free(&slow);
    return rf;
}

static json_t *edn(const char *text)
{
    char err[FL_ERRMSG_SIZE];
    json_t *v = NULL;
    cr_assert_eq(fl_edn_parse(text, strlen(text), &v, err), 0, "%s: %s", text, err);
    return v;
}

static json_t *js(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    cr_assert_not_null(v, "%s: %s", text, e.text);
    return v;
}

/* The shapes the runner records (workloads/runner.c): invoke, ok, fail, info of
 * reads, writes, cas, appends, with and without keys, node, consistency, error. */
Test(history_write, run_shapes_take_the_text_path)
{
    const char *values[] = {"null", "0", "-1", "42", "9223372036854775807",
                            "-9223372036854775808", "\"a 100-byte value............\"",
                            "[1,2]", "[[\"append\",3,4],[\"r\",3,null]]", "{\"a\":1,\"b\":[true,false]}",
                            "1.5", "\"\""};
    const char *keys[] = {NULL, "\"r\"", "7", "\"key with \\\"quotes\\\"\""};
    const char *errors[] = {NULL, "\"timeout\"", "\"cas_mismatch\"", "\"not sent\""};
    const char *fs[] = {"read", "write", "cas", "append", "txn", "dequeue"};
    int taken = 0, n = 0;
    for (size_t v = 0; v < sizeof values / sizeof *values; v++)
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
            for (int t = 0; t < 4; t++) {
                struct fl_event ev;
                fl_event_init(&ev);
                ev.index = (int64_t)(v * 100 + k * 10 + (size_t)t);
                ev.time = 1234567890123 + ev.index;
                ev.process = (int64_t)k * 37 - 1 + (t == 3 ? 0 : 1);
                ev.type = (enum fl_event_type)t;
                ev.f = (char *)fs[(v + k) % 6];
                ev.key = keys[k] ? js(keys[k]) : NULL;
                ev.value = js(values[v]);
                ev.node = t == 1 ? (char *)"n2" : NULL;
                ev.consistency = k == 1 ? (char *)"linearizable" : NULL;
                ev.error = errors[(size_t)t] ? js(errors[(size_t)t]) : NULL;
                taken += compare(&ev);
                n++;
                json_decref(ev.key);
                json_decref(ev.value);
                json_decref(ev.error);
            }
    /* every one of these is plain: the text path takes them all */
    cr_assert_eq(taken, n, "text path took %d of %d", taken, n);
}

/* Every byte below 0x80 alone and in runs, in a value, a key, f, node and the error. */
Test(history_write, every_ascii_byte_escaped_as_jansson_does)
{
    for (int c = 0; c < 0x80; c++) {
        char s[8] = {'a', (char)c, 'b', (char)c, (char)c, '/', 'z', 0};
        json_t *v = json_stringn(s, 7);
        cr_assert_not_null(v);
        struct fl_event ev;
        fl_event_init(&ev);
        ev.process = c;
        ev.type = FL_EVENT_OK;
        ev.f = c == 0 ? (char *)"read" : s; /* a C string stops at NUL */
        ev.node = ev.f;
        ev.consistency = (char *)"sequential";
        ev.key = v;
        ev.value = v;
        ev.error = v;
        ev.session = v;
        ev.latency = c;
        cr_assert_eq(compare(&ev), 1, "byte 0x%02x", c);
        json_decref(v);
    }
}

/* Names and values past ASCII, EDN tags, sets and map keys EDN keeps apart: the text
 * path gives them to jansson (whole event or value) and the bytes stay the same. */
Test(history_write, unicode_tags_and_odd_values_same_bytes)
{
    const char *jsons[] = {"\"h\\u00e9llo\"", "\"\\u2028\\u2029\"", "\"\\ud83d\\ude00 emoji\"",
                           "\"\\u0000 nul\"", "\"nul \\u0000\"", "[\"\\u00e9\",{\"\\u00e9\":\"x\"}]", "1e300",
                           "-0.0", "3.141592653589793", "{\"\":{\"\":[]}}", "[]", "{}",
                           "[[[[[[[[1]]]]]]]]", "\"\\u007f\\u0080\\u07ff\\u0800\\uffff\""};
    for (size_t i = 0; i < sizeof jsons / sizeof *jsons; i++) {
        struct fl_event ev;
        fl_event_init(&ev);
        ev.index = 0;
        ev.process = 1;
        ev.f = (char *)"write";
        ev.value = js(jsons[i]);
        /* a string starting with NUL reads as an EDN tag (common/edn.h) */
        cr_assert_eq(compare(&ev), fl_edn_has_tags(ev.value) ? 0 : 1, "%s", jsons[i]);
        json_decref(ev.value);
    }
    const char *edns[] = {":a", "[:a \"a\"]", "#{1 2 3}", "\\c", "{:a 1}", "{1 1}",
                          "{\"a\" :b}", "#inst \"2020-01-01T00:00:00Z\"", "123456789012345678901234567890N",
                          "foo/bar", "[1 [2 #{:x}]]"};
    for (size_t i = 0; i < sizeof edns / sizeof *edns; i++) {
        struct fl_event ev;
        fl_event_init(&ev);
        ev.process = FL_PROCESS_NEMESIS;
        ev.type = FL_EVENT_INFO;
        ev.f = (char *)"start";
        ev.value = edn(edns[i]);
        ev.key = edn(edns[i]);
        int took = compare(&ev);
        cr_assert_eq(took, fl_edn_has_tags(ev.value) ? 0 : 1, "%s", edns[i]);
        json_decref(ev.value);
        json_decref(ev.key);
    }
    /* names past ASCII: the jansson path */
    struct fl_event ev;
    fl_event_init(&ev);
    ev.process = FL_PROCESS_NODE;
    ev.f = (char *)"\xc3\xa9t\xc3\xa9";
    cr_assert_eq(compare(&ev), 0);
    ev.f = (char *)"ok";
    ev.node = (char *)"n\xe2\x82\xac";
    cr_assert_eq(compare(&ev), 0);
    ev.node = NULL;
    ev.consistency = (char *)"\xff"; /* not UTF-8: both refuse it, the writer says so */
    cr_assert_eq(compare(&ev), 0);
}

/* Random values of every kind; random ASCII-or-not bytes in names. */
static json_t *random_value(struct fl_rng *rng, int depth)
{
    static const char *pieces[] = {"a", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f", "\x7f",
                                   "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", " ", "0"};
    switch (fl_rng_below(rng, depth < 4 ? 9 : 6)) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(fl_rng_chance(rng, 0.5));
    case 2: {
        int64_t edge[] = {0, 1, -1, INT64_MAX, INT64_MIN, 1000000007, -99};
        return json_integer(fl_rng_chance(rng, 0.5) ? (json_int_t)fl_rng_next(rng)
                                                    : edge[fl_rng_below(rng, 7)]);
    }
    case 3:
        return json_real(fl_rng_double(rng) * 1e6 - 5e5);
    case 4:
    case 5: {
        char s[256];
        size_t n = 0, want = fl_rng_below(rng, 24);
        for (size_t i = 0; i < want; i++) {
            const char *p = pieces[fl_rng_below(rng, sizeof pieces / sizeof *pieces)];
            size_t l = strlen(p);
            memcpy(s + n, p, l);
            n += l;
        }
        if (fl_rng_chance(rng, 0.05))
            s[n++] = '\0';
        return json_stringn(s, n);
    }
    case 6:
    case 7: {
        json_t *a = json_array();
        for (uint64_t i = fl_rng_below(rng, 4); i > 0; i--)
            json_array_append_new(a, random_value(rng, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint64_t i = fl_rng_below(rng, 4); i > 0; i--) {
            char k[8];
            snprintf(k, sizeof k, "k%c", (char)('a' + fl_rng_below(rng, 5)));
            json_object_set_new(o, k, random_value(rng, depth + 1));
        }
        return o;
    }
    }
}

Test(history_write, random_events_same_bytes)
{
    struct fl_rng rng;
    fl_rng_seed(&rng, 15);
    const char *names[] = {"read", "write", "cas", "a\"b", "tab\there", "\xc3\xa9", "", "n1"};
    int taken = 0;
    for (int i = 0; i < 20000; i++) {
        struct fl_event ev;
        fl_event_init(&ev);
        ev.index = fl_rng_chance(&rng, 0.8) ? (int64_t)fl_rng_below(&rng, 1u << 30) : -1;
        ev.time = fl_rng_chance(&rng, 0.8) ? (int64_t)(fl_rng_next(&rng) >> 1) : -1;
        ev.process = fl_rng_range(&rng, -3, 300);
        ev.type = (enum fl_event_type)fl_rng_below(&rng, 4);
        ev.f = fl_rng_chance(&rng, 0.05) ? NULL : (char *)names[fl_rng_below(&rng, 8)];
        ev.key = fl_rng_chance(&rng, 0.6) ? random_value(&rng, 2) : NULL;
        ev.value = fl_rng_chance(&rng, 0.9) ? random_value(&rng, 0) : NULL;
        ev.node = fl_rng_chance(&rng, 0.3) ? (char *)names[fl_rng_below(&rng, 8)] : NULL;
        ev.consistency = fl_rng_chance(&rng, 0.3) ? (char *)"lease" : NULL;
        ev.session = fl_rng_chance(&rng, 0.1) ? random_value(&rng, 3) : NULL;
        ev.latency = fl_rng_chance(&rng, 0.2) ? (int64_t)fl_rng_below(&rng, 1000000) : -1;
        ev.error = fl_rng_chance(&rng, 0.2) ? random_value(&rng, 3) : NULL;
        taken += compare(&ev);
        json_decref(ev.key);
        json_decref(ev.value);
        json_decref(ev.session);
        json_decref(ev.error);
    }
    /* most random events are plain enough for the text path */
    cr_assert_gt(taken, 10000, "text path took only %d of 20000", taken);
}

/* Through the writer: a file of events written and read back equals the events. */
Test(history_write, writer_file_reads_back)
{
    const char *path = test_tmpfile("", ".jsonl");
    struct fl_history_writer w;
    char err[FL_ERRMSG_SIZE];
    cr_assert_eq(fl_history_writer_open(&w, path, FL_FORMAT_JSONL, err), 0, "%s", err);
    w.deferred = true;
    struct fl_buf want;
    fl_buf_init(&want);
    for (int i = 0; i < 50; i++) {
        struct fl_event ev;
        fl_event_init(&ev);
        ev.index = i;
        ev.time = i * 1000;
        ev.process = i % 3 == 0 ? FL_PROCESS_NEMESIS : i;
        ev.type = (enum fl_event_type)(i % 4);
        ev.f = (char *)(i % 3 == 0 ? "start" : "write");
        ev.value = i % 5 == 0 ? edn(":tagged") : json_integer(i);
        cr_assert_eq(fl_history_writer_write(&w, &ev, err), 0, "%s", err);
        cr_assert_eq(fl__history_jsonl_format_jansson(&want, &ev), 0);
        json_decref(ev.value);
    }
    cr_assert_eq(fl_history_writer_close(&w, err), 0, "%s", err);
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp);
    char *got = calloc(1, want.len + 2);
    size_t n = fread(got, 1, want.len + 1, fp);
    fclose(fp);
    cr_assert_eq(n, want.len);
    cr_assert(memcmp(got, want.data, n) == 0);
    /* a keyword stays a keyword (common/jsonl_value.h), not the string ":tagged" */
    cr_assert_not_null(strstr(got, "\"value\":\"\\u0000:tagged\""));
    free(got);
    fl_buf_free(&want);
}
