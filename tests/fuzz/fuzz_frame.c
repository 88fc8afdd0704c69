/* fuzz_frame.c - libFuzzer target: the frame decoder fed in two chunks, then the Raft message codec
 * on every decoded object, with a re-encode/decode round trip of each accepted message. */
#include "common/error.h"
#include "node/io/codec.h"
#include "node/io/frame.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes `obj` as a message; if accepted, encodes it again and checks that
 * the encoding decodes to an equal JSON object (the codec is canonical). */
static void message(json_t *obj)
{
    char err[FL_ERRMSG_SIZE];
    struct raft_message m;
    if (io_codec_decode(obj, &m, err) < 0) {
        if (strchr(err, '\n') != NULL || err[0] == '\0') {
            fprintf(stderr, "bad error message: <%s>\n", err);
            abort();
        }
        return;
    }
    json_t *again = NULL;
    if (io_codec_encode(&m, &again, err) == 0) {
        struct raft_message m2;
        if (io_codec_decode(again, &m2, err) < 0) {
            fprintf(stderr, "re-encoded message refused: %s\n", err);
            abort();
        }
        json_t *twice = NULL;
        if (io_codec_encode(&m2, &twice, err) == 0 && !json_equal(again, twice)) {
            fprintf(stderr, "encoding is not stable across a round trip\n");
            abort();
        }
        json_decref(twice);
        raft_message_release(&m2);
    }
    json_decref(again);
    raft_message_release(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* The first byte picks where the stream splits, as TCP might split it. */
    size_t split = data[0] % size; /* <= size - 1, the payload's length */
    const unsigned char *chunks[2] = {data + 1, data + 1 + split};
    size_t lens[2] = {split, size - 1 - split};
    struct io_frame_decoder d;
    io_frame_decoder_init(&d, 4096);
    char err[FL_ERRMSG_SIZE];
    for (int c = 0; c < 2; c++) {
        const unsigned char *p = chunks[c];
        size_t n = lens[c];
        json_t *obj;
        int rc;
        while ((rc = io_frame_decoder_next(&d, &p, &n, &obj, err)) == 1) {
            message(obj);
            json_decref(obj);
        }
        if (rc < 0)
            break;
    }
    io_frame_decoder_close(&d);
    return 0;
}
