/* test_frame.c - length-prefixed JSON frames (node/io/frame.h): encoding, incremental decoding,
 * refusals. */
#include "common/alloc.h"
#include "common/error.h"
#include "node/io/frame.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static json_t *obj(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    cr_assert_not_null(v, "bad JSON in test: %s", text);
    return v;
}

/* Encodes `text` as a frame; the caller frees *out. */
static size_t encode(const char *text, unsigned char **out)
{
    char err[FL_ERRMSG_SIZE] = "";
    json_t *v = obj(text);
    size_t len = 0;
    cr_assert_eq(io_frame_encode(v, 0, out, &len, err), 0, "%s", err);
    json_decref(v);
    return len;
}

/* Feeds data[0..len) in chunks of `step` bytes and collects the decoded objects in `got`. */
static int feed(struct io_frame_decoder *d, const unsigned char *data, size_t len, size_t step,
                json_t *got, char *err)
{
    for (size_t at = 0; at < len; at += step) {
        const unsigned char *p = data + at;
        size_t n = len - at < step ? len - at : step;
        json_t *o;
        int rc;
        while ((rc = io_frame_decoder_next(d, &p, &n, &o, err)) == 1)
            json_array_append_new(got, o);
        if (rc < 0)
            return rc;
        cr_assert_eq(n, 0, "input left after the decoder returned 0");
    }
    return 0;
}

Test(io_frame, encodes_a_big_endian_length_then_compact_json)
{
    unsigned char *f;
    size_t len = encode("{\"type\": \"hello\", \"from\": 3}", &f);
    const char *want = "{\"type\":\"hello\",\"from\":3}";
    cr_assert_eq(len, 4 + strlen(want));
    cr_assert_eq(f[0], 0);
    cr_assert_eq(f[1], 0);
    cr_assert_eq(f[2], 0);
    cr_assert_eq(f[3], strlen(want));
    cr_assert_eq(memcmp(f + 4, want, strlen(want)), 0);
    fl_free(f);
}

Test(io_frame, encoder_refuses_a_body_over_the_maximum)
{
    char err[FL_ERRMSG_SIZE] = "";
    json_t *v = obj("{\"data\":\"0123456789\"}");
    unsigned char *f = (unsigned char *)1;
    size_t len = 7;
    cr_assert_eq(io_frame_encode(v, 10, &f, &len, err), FL_ELIMIT);
    cr_assert_null(f);
    cr_assert_eq(len, 0);
    cr_assert(strstr(err, "over the maximum of 10"), "%s", err);
    json_decref(v);
}

Test(io_frame, encoder_refuses_a_non_object)
{
    char err[FL_ERRMSG_SIZE] = "";
    json_t *v = json_array();
    unsigned char *f;
    size_t len;
    cr_assert_eq(io_frame_encode(v, 0, &f, &len, err), FL_ESHAPE);
    cr_assert(strstr(err, "not a JSON object"), "%s", err);
    json_decref(v);
}

Test(io_frame, decodes_a_frame_fed_byte_by_byte)
{
    unsigned char *f;
    size_t len = encode("{\"a\":[1,2,{\"b\":\"x\"}]}", &f);
    struct io_frame_decoder d;
    io_frame_decoder_init(&d, 0);
    json_t *got = json_array();
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(feed(&d, f, len, 1, got, err), 0, "%s", err);
    cr_assert_eq(json_array_size(got), 1);
    json_t *want = obj("{\"a\":[1,2,{\"b\":\"x\"}]}");
    cr_assert(json_equal(json_array_get(got, 0), want));
    json_decref(want);
    json_decref(got);
    io_frame_decoder_close(&d);
    fl_free(f);
}

Test(io_frame, decodes_several_frames_in_one_chunk_and_across_chunk_splits)
{
    const char *texts[] = {"{\"n\":1}", "{\"n\":2,\"s\":\"two\"}", "{}", "{\"n\":4}"};
    unsigned char all[256];
    size_t total = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char *f;
        size_t len = encode(texts[i], &f);
        memcpy(all + total, f, len);
        total += len;
        fl_free(f);
    }
    /* Every chunk size from 1 to the whole stream gives the same four objects. */
    for (size_t step = 1; step <= total; step++) {
        struct io_frame_decoder d;
        io_frame_decoder_init(&d, 64);
        json_t *got = json_array();
        char err[FL_ERRMSG_SIZE] = "";
        cr_assert_eq(feed(&d, all, total, step, got, err), 0, "step %zu: %s", step, err);
        cr_assert_eq(json_array_size(got), 4, "step %zu", step);
        for (int i = 0; i < 4; i++) {
            json_t *want = obj(texts[i]);
            cr_assert(json_equal(json_array_get(got, i), want), "step %zu frame %d", step, i);
            json_decref(want);
        }
        json_decref(got);
        io_frame_decoder_close(&d);
    }
}

Test(io_frame, keeps_a_partial_frame_until_the_rest_arrives)
{
    unsigned char *f;
    size_t len = encode("{\"k\":\"v\"}", &f);
    struct io_frame_decoder d;
    io_frame_decoder_init(&d, 0);
    const unsigned char *p = f;
    size_t n = len - 1;
    json_t *o;
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(io_frame_decoder_next(&d, &p, &n, &o, err), 0);
    cr_assert_null(o);
    n = 1;
    cr_assert_eq(io_frame_decoder_next(&d, &p, &n, &o, err), 1, "%s", err);
    cr_assert_str_eq(json_string_value(json_object_get(o, "k")), "v");
    json_decref(o);
    io_frame_decoder_close(&d);
    fl_free(f);
}

/* Feeds raw bytes to a decoder with maximum `max` and expects `code` and `needle`. */
static void refused(const unsigned char *data, size_t len, size_t max, int code, const char *needle)
{
    for (size_t step = 1; step <= len; step += len - 1 > 0 ? len - 1 : 1) {
        struct io_frame_decoder d;
        io_frame_decoder_init(&d, max);
        json_t *got = json_array();
        char err[FL_ERRMSG_SIZE] = "";
        int rc = feed(&d, data, len, step, got, err);
        cr_assert_eq(rc, code, "step %zu: rc %d (%s), want %d", step, rc, err, code);
        cr_assert(strstr(err, needle), "step %zu: message \"%s\" lacks \"%s\"", step, err, needle);
        cr_assert_null(strchr(err, '\n'), "message is not one line: %s", err);
        /* Once failed, the decoder takes nothing more. */
        const unsigned char *p = data;
        size_t n = len;
        json_t *o;
        cr_assert_lt(io_frame_decoder_next(&d, &p, &n, &o, err), 0);
        json_decref(got);
        io_frame_decoder_close(&d);
        if (len == 1)
            break;
    }
}

Test(io_frame, refuses_a_length_over_the_maximum_before_buffering_it)
{
    const unsigned char big[] = {0x7f, 0xff, 0xff, 0xff, '{'};
    refused(big, sizeof big, 0, FL_ELIMIT, "length 2147483647 over the maximum of 1048576");
    const unsigned char just[] = {0, 0, 0, 17, '{'};
    refused(just, sizeof just, 16, FL_ELIMIT, "over the maximum of 16");
}

Test(io_frame, refuses_a_zero_length)
{
    const unsigned char zero[] = {0, 0, 0, 0, 0, 0, 0, 2, '{', '}'};
    refused(zero, sizeof zero, 0, FL_ELIMIT, "zero length");
}

Test(io_frame, refuses_invalid_json)
{
    const unsigned char bad[] = {0, 0, 0, 5, '{', '"', 'a', '"', ':'};
    refused(bad, sizeof bad, 0, FL_EPARSE, "invalid JSON");
    const unsigned char trailing[] = {0, 0, 0, 4, '{', '}', '{', '}'};
    refused(trailing, sizeof trailing, 0, FL_EPARSE, "invalid JSON");
    const unsigned char dup[] = "\0\0\0\x0d{\"a\":1,\"a\":2}";
    refused(dup, sizeof dup - 1, 0, FL_EPARSE, "invalid JSON");
    const unsigned char nul[] = "\0\0\0\x0e{\"a\":\"\\u0000\"}";
    refused(nul, sizeof nul - 1, 0, FL_EPARSE, "invalid JSON");
}

Test(io_frame, refuses_a_body_that_is_not_an_object)
{
    const unsigned char arr[] = {0, 0, 0, 3, '[', '1', ']'};
    refused(arr, sizeof arr, 0, FL_ESHAPE, "not a JSON object");
}

Test(io_frame, survives_allocation_failure)
{
    unsigned char *f;
    size_t len = encode("{\"k\":\"a value long enough to copy\"}", &f);
    for (long n = 0; n < 4; n++) {
        struct io_frame_decoder d;
        io_frame_decoder_init(&d, 0);
        json_t *got = json_array();
        char err[FL_ERRMSG_SIZE] = "";
        fl_alloc_fail_after(n);
        int rc = feed(&d, f, len, 3, got, err);
        fl_alloc_fail_reset();
        cr_assert(rc == 0 || rc == FL_ENOMEM, "rc %d: %s", rc, err);
        cr_assert_eq(json_array_size(got), rc == 0 ? 1u : 0u);
        json_decref(got);
        io_frame_decoder_close(&d);
    }
    fl_free(f);
}

/* next_raw returns each body unparsed, whole or gathered across chunks, and
 * the gathering buffer is reused from one frame to the next. */
Test(io_frame, raw_returns_bodies_across_every_split)
{
    const char *texts[3] = {"{\"a\":1}", "not json at all", "{\"bb\":[true,false,null]}"};
    unsigned char stream[128];
    size_t len = 0;
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(texts[i]);
        io_frame_put_header(stream + len, (uint32_t)n);
        memcpy(stream + len + IO_FRAME_HEADER, texts[i], n);
        len += IO_FRAME_HEADER + n;
    }
    for (size_t step = 1; step <= len; step++) {
        struct io_frame_decoder d;
        io_frame_decoder_init(&d, 64);
        char err[FL_ERRMSG_SIZE] = "";
        int got = 0;
        for (size_t at = 0; at < len; at += step) {
            const unsigned char *p = stream + at, *body;
            size_t n = len - at < step ? len - at : step, blen;
            int rc;
            while ((rc = io_frame_decoder_next_raw(&d, &p, &n, &body, &blen, err)) == 1) {
                cr_assert_lt(got, 3);
                cr_assert_eq(blen, strlen(texts[got]), "step %zu frame %d", step, got);
                cr_assert_eq(memcmp(body, texts[got], blen), 0, "step %zu frame %d", step, got);
                got++;
            }
            cr_assert_eq(rc, 0, "step %zu: %s", step, err);
            cr_assert_eq(n, 0);
        }
        cr_assert_eq(got, 3, "step %zu", step);
        cr_assert_leq(d.body_cap, 64);
        io_frame_decoder_close(&d);
    }
}

Test(io_frame, raw_refuses_lengths_but_not_bodies)
{
    struct io_frame_decoder d;
    io_frame_decoder_init(&d, 8);
    unsigned char big[IO_FRAME_HEADER];
    io_frame_put_header(big, 9);
    const unsigned char *p = big, *body;
    size_t n = sizeof big, blen;
    char err[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(io_frame_decoder_next_raw(&d, &p, &n, &body, &blen, err), FL_ELIMIT);
    cr_assert(strstr(err, "length 9 over the maximum of 8"), "%s", err);
    cr_assert_null(body);
    cr_assert_eq(io_frame_decoder_next_raw(&d, &p, &n, &body, &blen, err), FL_EUSAGE);
    io_frame_decoder_close(&d);
    json_t *o;
    cr_assert_eq(io_frame_parse_body((const unsigned char *)"[1]", 3, &o, err), FL_ESHAPE);
    cr_assert_null(o);
    cr_assert_eq(io_frame_parse_body((const unsigned char *)"{\"a\":1,\"a\":2}", 13, &o, err),
                 FL_EPARSE);
    cr_assert(strstr(err, "duplicate"), "%s", err);
}

/* A body over the kept buffer size, gathered across many reads, comes back
 * whole (the large buffer is released only once it has been returned). */
Test(io_frame, raw_gathers_a_large_body_across_reads)
{
    size_t n = 300000, len = IO_FRAME_HEADER + n;
    unsigned char *stream = fl_malloc(2 * len);
    for (int f = 0; f < 2; f++) {
        unsigned char *at = stream + (size_t)f * len;
        io_frame_put_header(at, (uint32_t)n);
        for (size_t i = 0; i < n; i++)
            at[IO_FRAME_HEADER + i] = (unsigned char)('a' + (i * 7 + (size_t)f) % 26);
    }
    struct io_frame_decoder d;
    io_frame_decoder_init(&d, 0);
    char err[FL_ERRMSG_SIZE] = "";
    int got = 0;
    for (size_t at = 0; at < 2 * len; at += 1000) {
        const unsigned char *p = stream + at, *body;
        size_t left = 2 * len - at < 1000 ? 2 * len - at : 1000, blen;
        int rc;
        while ((rc = io_frame_decoder_next_raw(&d, &p, &left, &body, &blen, err)) == 1) {
            cr_assert_eq(blen, n);
            cr_assert_eq(memcmp(body, stream + (size_t)got * len + IO_FRAME_HEADER, n), 0,
                         "frame %d corrupted", got);
            got++;
        }
        cr_assert_eq(rc, 0, "%s", err);
    }
    cr_assert_eq(got, 2);
    io_frame_decoder_close(&d);
    fl_free(stream);
}
