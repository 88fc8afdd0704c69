/* fuzz_peer_body.c - libFuzzer target: the hand-written peer frame reader (io_codec_decode_fast)
 * against the jansson path it stands in for.
 *
 * Input: one frame body. Whatever the hand-written reader accepts, jansson
 * (io_frame_parse_body + io_codec_decode) must accept as the same message
 * (so the fast path never widens what a node takes); io_codec_decode_body
 * must agree with the jansson path on accepting; an accepted message must
 * encode again (io_codec_encode_frame) to a body the reader takes back to
 * the same message. */
#include "common/alloc.h"
#include "common/error.h"
#include "node/io/codec.h"
#include "node/io/frame.h"
#include "fuzz_die.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_buf(const struct raft_buf *a, const struct raft_buf *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static bool same(const struct raft_message *a, const struct raft_message *b)
{
    if (a->type != b->type || a->from != b->from || a->to != b->to || a->term != b->term)
        return false;
    if (a->type == RAFT_APPEND_RESULT)
        return a->append_result.success == b->append_result.success &&
               a->append_result.index == b->append_result.index &&
               a->append_result.last_index == b->append_result.last_index &&
               a->append_result.conflict_term == b->append_result.conflict_term &&
               a->append_result.conflict_index == b->append_result.conflict_index &&
               a->append_result.round == b->append_result.round;
    if (a->type != RAFT_APPEND || a->append.prev_index != b->append.prev_index ||
        a->append.prev_term != b->append.prev_term || a->append.commit != b->append.commit ||
        a->append.round != b->append.round || a->append.leader != b->append.leader ||
        a->append.n != b->append.n)
        return false;
    for (unsigned i = 0; i < a->append.n; i++)
        if (a->append.entries[i].term != b->append.entries[i].term ||
            a->append.entries[i].type != b->append.entries[i].type ||
            !same_buf(a->append.entries[i].buf, b->append.entries[i].buf))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[FL_ERRMSG_SIZE];
    struct raft_message fast, slow, body;
    json_t *obj = NULL;
    int jrc = io_frame_parse_body(data, size, &obj, err);
    if (jrc == 1) {
        jrc = io_codec_decode(obj, &slow, err);
        json_decref(obj);
    }
    int brc = io_codec_decode_body(data, size, &body, err);
    if ((brc == 0) != (jrc == 0))
        DIE("io_codec_decode_body %s what jansson %s", brc == 0 ? "accepts" : "refuses",
            jrc == 0 ? "accepts" : "refuses");
    if (brc == 0 && !same(&body, &slow) && (body.type == RAFT_APPEND ||
                                           body.type == RAFT_APPEND_RESULT))
        DIE("io_codec_decode_body and jansson decode different messages");
    if (io_codec_decode_fast(data, size, &fast) == 1) {
        if (jrc != 0)
            DIE("the hand-written reader accepts a body jansson refuses: %s", err);
        if (!same(&fast, &slow))
            DIE("the hand-written reader and jansson decode different messages");
        unsigned char *bytes;
        size_t len;
        if (io_codec_encode_frame(&fast, 0, &bytes, &len, err) == 0) {
            struct raft_message again;
            if (io_codec_decode_fast(bytes + IO_FRAME_HEADER, len - IO_FRAME_HEADER, &again) != 1)
                DIE("our own encoding is not taken back by the hand-written reader");
            if (!same(&again, &fast))
                DIE("re-encoding changed the message");
            raft_message_release(&again);
            fl_free(bytes);
        }
        raft_message_release(&fast);
    }
    if (jrc == 0)
        raft_message_release(&slow);
    if (brc == 0)
        raft_message_release(&body);
    return 0;
}
