/* peer_codec.c - CPU per entry of the peer codec (node/io/codec.h) on the bench's append traffic.
 *
 *   bench_peer_codec [--batches N] [--batch B]
 *
 * Encodes an append of B (default 32) command entries shaped like
 * `faultline bench`'s writes (the leader's command entry text with a
 * 100-byte value), then decodes it N times (default 20000) as a follower
 * does, through jansson (io_frame_parse_body + io_codec_decode, the path
 * before the hand-written reader) and through io_codec_decode_body; and
 * encodes the follower's append_result through jansson and through
 * io_codec_encode_frame. Prints thread CPU microseconds per entry (per
 * message for the result), so figures hold on a loaded machine. */
#include "bench/bench_util.h"
#include "common/alloc.h"
#include "common/error.h"
#include "node/io/codec.h"
#include "node/io/frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_peer_codec: %s: %s\n", what, err);
    exit(1);
}

int main(int argc, char **argv)
{
    unsigned long n = bench_arg(argc, argv, "bench_peer_codec", "--batches", 20000, 100000000);
    unsigned long b =
        bench_arg(argc, argv, "bench_peer_codec", "--batch", 32, IO_CODEC_MAX_ENTRIES);
    char err[FL_ERRMSG_SIZE];
    struct raft_entry *ents = fl_calloc(b, sizeof *ents);
    if (ents == NULL)
        die("entries", "out of memory");
    for (unsigned long i = 0; i < b; i++) {
        char e[512], v[101];
        for (int k = 0; k < 100; k++)
            v[k] = (char)('a' + (i + (unsigned long)k) % 26);
        v[100] = '\0';
        int len = snprintf(e, sizeof e,
                           "{\"t\":\"command\",\"time\":1765130000000,\"session\":%lu,\"seq\":%lu,"
                           "\"op\":{\"f\":\"write\",\"key\":\"k%lu\",\"value\":\"%s\"}}",
                           1000 + i % 128, 5000 + i, i % 5, v);
        ents[i] = (struct raft_entry){.term = 3, .type = RAFT_COMMAND,
                                      .buf = raft_buf_new(e, (size_t)len)};
    }
    struct raft_message m = {.type = RAFT_APPEND, .from = 1, .to = 2, .term = 3};
    m.append.prev_index = 123456;
    m.append.prev_term = 3;
    m.append.commit = 123400;
    m.append.round = 77;
    m.append.leader = 1;
    m.append.n = (unsigned)b;
    m.append.entries = ents;
    unsigned char *frame;
    size_t flen;
    if (io_codec_encode_frame(&m, 0, &frame, &flen, err) != 0)
        die("encode", err);
    const unsigned char *body = frame + IO_FRAME_HEADER;
    size_t blen = flen - IO_FRAME_HEADER;

    double t0 = bench_cpu_s();
    for (unsigned long i = 0; i < n; i++) {
        json_t *obj;
        struct raft_message d;
        if (io_frame_parse_body(body, blen, &obj, err) < 0 || io_codec_decode(obj, &d, err) < 0)
            die("jansson decode", err);
        json_decref(obj);
        raft_message_release(&d);
    }
    double t1 = bench_cpu_s();
    for (unsigned long i = 0; i < n; i++) {
        struct raft_message d;
        if (io_codec_decode_body(body, blen, &d, err) < 0)
            die("decode_body", err);
        raft_message_release(&d);
    }
    double t2 = bench_cpu_s();

    struct raft_message r = {.type = RAFT_APPEND_RESULT, .from = 2, .to = 1, .term = 3};
    r.append_result.success = true;
    r.append_result.index = r.append_result.last_index = 123456 + b;
    r.append_result.round = 77;
    for (unsigned long i = 0; i < n; i++) {
        json_t *obj;
        unsigned char *out;
        size_t olen;
        if (io_codec_encode(&r, &obj, err) != 0 || io_frame_encode(obj, 0, &out, &olen, err) != 0)
            die("jansson encode", err);
        json_decref(obj);
        fl_free(out);
    }
    double t3 = bench_cpu_s();
    for (unsigned long i = 0; i < n; i++) {
        unsigned char *out;
        size_t olen;
        if (io_codec_encode_frame(&r, 0, &out, &olen, err) != 0)
            die("encode_frame", err);
        fl_free(out);
    }
    double t4 = bench_cpu_s();
    printf("append of %lu entries (%zu bytes), %lu times; thread CPU:\n", b, blen, n);
    printf("  decode, jansson          %6.3f us/entry\n", (t1 - t0) * 1e6 / (double)(n * b));
    printf("  decode, io_codec_decode_body %6.3f us/entry\n", (t2 - t1) * 1e6 / (double)(n * b));
    printf("  append_result encode, jansson %6.3f us/message\n", (t3 - t2) * 1e6 / (double)n);
    printf("  append_result encode, io_codec_encode_frame %6.3f us/message\n",
           (t4 - t3) * 1e6 / (double)n);
    fl_free(frame);
    for (unsigned long i = 0; i < b; i++)
        raft_buf_unref(ents[i].buf);
    fl_free(ents);
    return 0;
}
