/* fuzz_common.h - shared body of the history-reader fuzzers: read every event, then round-trip it
 * through EDN, and write it as a JSONL line both ways (text path, jansson path). */
#ifndef FL_FUZZ_COMMON_H
#define FL_FUZZ_COMMON_H

#include "common/error.h"
#include "common/history.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes `ev` with the EDN writer, reads it back with the EDN reader and
 * aborts unless the JSON forms are equal. Events the writer refuses (values
 * nested too deep to read back) are skipped. */
static void fuzz_edn_round_trip(const struct fl_event *ev)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return;
    int wrc = fl__history_edn_write_event(out, ev);
    fclose(out);
    if (wrc == 0) {
        FILE *in = fmemopen(text, len, "r");
        struct fl_history_reader r;
        char err[FL_ERRMSG_SIZE];
        struct fl_event back;
        fl_event_init(&back);
        if (in && fl_history_reader_open_file(&r, in, "round-trip", FL_FORMAT_EDN, err) == 0) {
            int rc = fl_history_reader_next(&r, &back, err);
            if (rc != 1) {
                fprintf(stderr, "EDN round trip: wrote <%s>, reading it back: %s\n", text,
                        rc < 0 ? err : "no event");
                abort();
            }
            json_t *a = fl_event_to_json(ev), *b = fl_event_to_json(&back);
            if (a && b && !json_equal(a, b)) {
                fprintf(stderr, "EDN round trip: wrote <%s>, read back a different event\n", text);
                abort();
            }
            json_decref(a);
            json_decref(b);
            fl_event_clear(&back);
            fl_history_reader_close(&r);
        } else if (in) {
            fclose(in);
        }
    }
    free(text);
}

/* Formats `ev` as a JSONL line by the writer's text path and by the jansson path
 * and aborts when the text path took it and wrote other bytes. */
static void fuzz_jsonl_write_same(const struct fl_event *ev)
{
    struct fl_buf fast, slow;
    fl_buf_init(&fast);
    fl_buf_init(&slow);
    int rf = fl__history_jsonl_format(&fast, ev);
    int rs = fl__history_jsonl_format_jansson(&slow, ev);
    if (rf == 1 && (rs != 0 || fast.len != slow.len || memcmp(fast.data, slow.data, fast.len))) {
        fprintf(stderr, "JSONL writer: text path <%s>, jansson path (%d) <%s>\n", fast.data, rs,
                slow.data ? slow.data : "");
        abort();
    }
    fl_buf_free(&fast);
    fl_buf_free(&slow);
}

/* Writes `ev` as a JSONL line (the jansson path, which every tagged event takes),
 * reads it back with the JSONL reader and aborts unless the JSON forms are
 * equal: an EDN history exported to JSONL keeps its values (common/jsonl_value.h). */
static void fuzz_jsonl_round_trip(const struct fl_event *ev)
{
    struct fl_buf line;
    fl_buf_init(&line);
    if (fl__history_jsonl_format_jansson(&line, ev) == 0 && line.len > 0) {
        FILE *in = fmemopen(line.data, line.len, "r");
        struct fl_history_reader r;
        char err[FL_ERRMSG_SIZE];
        struct fl_event back;
        fl_event_init(&back);
        if (in && fl_history_reader_open_file(&r, in, "round-trip", FL_FORMAT_JSONL, err) == 0) {
            int rc = fl_history_reader_next(&r, &back, err);
            /* a line over the reader's bound is refused, not misread */
            if (rc != 1 && !(rc < 0 && line.len > FL_HISTORY_MAX_LINE)) {
                fprintf(stderr, "JSONL round trip: wrote <%s>, reading it back: %s\n", line.data,
                        rc < 0 ? err : "no event");
                abort();
            }
            json_t *a = fl_event_to_json(ev), *b = rc == 1 ? fl_event_to_json(&back) : NULL;
            if (a && b && !json_equal(a, b)) {
                fprintf(stderr, "JSONL round trip: wrote <%s>, read back a different event\n",
                        line.data);
                abort();
            }
            json_decref(a);
            json_decref(b);
            fl_event_clear(&back);
            fl_history_reader_close(&r);
        } else if (in) {
            fclose(in);
        }
    }
    fl_buf_free(&line);
}

/* Runs the reader for `format` over data[0..size) until the end or an error. */
static int fuzz_history(const uint8_t *data, size_t size, enum fl_history_format format)
{
    if (size == 0)
        return 0; /* fmemopen refuses empty buffers */
    FILE *fp = fmemopen((void *)data, size, "r");
    if (!fp)
        return 0;
    struct fl_history_reader r;
    char err[FL_ERRMSG_SIZE];
    if (fl_history_reader_open_file(&r, fp, "fuzz", format, err) < 0) {
        fclose(fp);
        return 0;
    }
    struct fl_event ev;
    fl_event_init(&ev);
    int rc;
    while ((rc = fl_history_reader_next(&r, &ev, err)) == 1)
    {
        fuzz_edn_round_trip(&ev);
        fuzz_jsonl_write_same(&ev);
        fuzz_jsonl_round_trip(&ev);
    }
    if (rc < 0 && strncmp(err, "fuzz: ", 6) != 0) {
        fprintf(stderr, "error message without the path: %s\n", err);
        abort();
    }
    for (const char *c = err; rc < 0 && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            fprintf(stderr, "error message not on one line: <%s>\n", err);
            abort();
        }
    fl_event_clear(&ev);
    fl_history_reader_close(&r);
    return 0;
}

#endif
