/* test_codec.c - Raft messages to and from JSON (node/io/codec.h): round trips and refused fields.
 */
#include "common/alloc.h"
#include "common/error.h"
#include "node/io/codec.h"
#include "node/io/frame.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static struct raft_buf *buf(const char *s, size_t len)
{
    struct raft_buf *b = raft_buf_new(s, len);
    cr_assert_not_null(b);
    return b;
}

/* Encodes m, prints it as text, parses the text and decodes it into *back. */
static void round_trip(const struct raft_message *m, struct raft_message *back)
{
    char err[FL_ERRMSG_SIZE] = "";
    json_t *j;
    cr_assert_eq(io_codec_encode(m, &j, err), 0, "%s", err);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    json_error_t jerr;
    json_t *j2 = json_loads(text, 0, &jerr);
    cr_assert_not_null(j2);
    int rc = io_codec_decode(j2, back, err);
    cr_assert_eq(rc, 0, "decoding %s: %s", text, err);
    free(text);
    json_decref(j2);
}

static void same_header(const struct raft_message *a, const struct raft_message *b)
{
    cr_assert_eq(a->type, b->type);
    cr_assert_eq(a->from, b->from);
    cr_assert_eq(a->to, b->to);
    cr_assert_eq(a->term, b->term);
}

static void same_buf(const struct raft_buf *a, const struct raft_buf *b)
{
    if (a == NULL) {
        cr_assert_null(b);
        return;
    }
    cr_assert_not_null(b);
    cr_assert_eq(a->len, b->len);
    cr_assert_eq(memcmp(a->data, b->data, a->len), 0);
}

Test(io_codec, round_trips_append_with_every_entry_type)
{
    struct raft_configuration c = {.n = 2, .servers = {{1, RAFT_VOTER}, {9, RAFT_PASSIVE}}};
    struct raft_entry ents[5] = {
        {.term = 3, .type = RAFT_NOOP, .buf = NULL},
        {.term = 3, .type = RAFT_COMMAND, .buf = buf("x", 1)},
        {.term = 4, .type = RAFT_COMMAND, .buf = buf("ab\0\xff\x80", 5)},
        {.term = 4, .type = RAFT_COMMAND, .buf = buf("", 0)},
        {.term = 5, .type = RAFT_CHANGE, .buf = raft_configuration_encode(&c)},
    };
    struct raft_message m = {.type = RAFT_APPEND, .from = 1, .to = 2, .term = 5};
    m.append.prev_index = 10;
    m.append.prev_term = 2;
    m.append.commit = 9;
    m.append.round = 77;
    m.append.leader = 1;
    m.append.n = 5;
    m.append.entries = ents;
    struct raft_message b;
    round_trip(&m, &b);
    same_header(&m, &b);
    cr_assert_eq(b.append.prev_index, 10);
    cr_assert_eq(b.append.prev_term, 2);
    cr_assert_eq(b.append.commit, 9);
    cr_assert_eq(b.append.round, 77);
    cr_assert_eq(b.append.leader, 1);
    cr_assert_eq(b.append.n, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(b.append.entries[i].term, ents[i].term);
        cr_assert_eq(b.append.entries[i].type, ents[i].type);
        same_buf(ents[i].buf, b.append.entries[i].buf);
    }
    raft_message_release(&b);
    cr_assert_null(b.append.entries);
    for (int i = 0; i < 5; i++)
        raft_buf_unref(ents[i].buf);
}

Test(io_codec, round_trips_an_empty_heartbeat_and_gossip_leader)
{
    struct raft_message m = {.type = RAFT_APPEND, .from = 3, .to = 7, .term = 2};
    m.append.leader = 1; /* gossip: relayed by 3 for leader 1 */
    m.append.commit = 4;
    m.append.prev_index = 4;
    m.append.prev_term = 2;
    struct raft_message b;
    round_trip(&m, &b);
    same_header(&m, &b);
    cr_assert_eq(b.append.leader, 1);
    cr_assert_eq(b.append.n, 0);
    cr_assert_null(b.append.entries);
    io_codec_message_free(&b);
}

Test(io_codec, round_trips_append_result)
{
    struct raft_message m = {.type = RAFT_APPEND_RESULT, .from = 2, .to = 1, .term = 5};
    m.append_result.success = true;
    m.append_result.index = 15;
    m.append_result.last_index = 16;
    m.append_result.conflict_term = 3;
    m.append_result.conflict_index = 8;
    m.append_result.round = 77;
    struct raft_message b;
    round_trip(&m, &b);
    same_header(&m, &b);
    cr_assert(b.append_result.success);
    cr_assert_eq(b.append_result.index, 15);
    cr_assert_eq(b.append_result.last_index, 16);
    cr_assert_eq(b.append_result.conflict_term, 3);
    cr_assert_eq(b.append_result.conflict_index, 8);
    cr_assert_eq(b.append_result.round, 77);
    raft_message_release(&b);
}

Test(io_codec, round_trips_vote_including_pre_vote_and_transfer)
{
    for (int k = 0; k < 4; k++) {
        struct raft_message m = {.type = RAFT_VOTE, .from = 1, .to = 3, .term = 8};
        m.vote.last_index = 100;
        m.vote.last_term = 7;
        m.vote.pre = k & 1;
        m.vote.transfer = k & 2;
        struct raft_message b;
        round_trip(&m, &b);
        same_header(&m, &b);
        cr_assert_eq(b.vote.last_index, 100);
        cr_assert_eq(b.vote.last_term, 7);
        cr_assert_eq(b.vote.pre, m.vote.pre);
        cr_assert_eq(b.vote.transfer, m.vote.transfer);
        raft_message_release(&b);
    }
}

Test(io_codec, round_trips_vote_result)
{
    struct raft_message m = {.type = RAFT_VOTE_RESULT, .from = 3, .to = 1, .term = 8};
    m.vote_result.granted = true;
    m.vote_result.pre = true;
    struct raft_message b;
    round_trip(&m, &b);
    same_header(&m, &b);
    cr_assert(b.vote_result.granted);
    cr_assert(b.vote_result.pre);
    raft_message_release(&b);
}

Test(io_codec, round_trips_snapshot_with_configuration_and_chunk)
{
    struct raft_message m = {.type = RAFT_SNAPSHOT, .from = 1, .to = 4, .term = 9};
    m.snapshot.index = 500;
    m.snapshot.term = 8;
    m.snapshot.conf_index = 450;
    m.snapshot.offset = 4096;
    m.snapshot.round = 12;
    m.snapshot.done = true;
    m.snapshot.conf.n = RAFT_MAX_SERVERS;
    for (unsigned i = 0; i < RAFT_MAX_SERVERS; i++) {
        m.snapshot.conf.servers[i].id = 100 + i;
        m.snapshot.conf.servers[i].role = RAFT_VOTER + (int)(i % 3);
    }
    m.snapshot.chunk = buf("\x01\x02\x03 snapshot bytes", 18);
    struct raft_message b;
    round_trip(&m, &b);
    same_header(&m, &b);
    cr_assert_eq(b.snapshot.index, 500);
    cr_assert_eq(b.snapshot.term, 8);
    cr_assert_eq(b.snapshot.conf_index, 450);
    cr_assert_eq(b.snapshot.offset, 4096);
    cr_assert_eq(b.snapshot.round, 12);
    cr_assert(b.snapshot.done);
    cr_assert_eq(memcmp(&b.snapshot.conf, &m.snapshot.conf, sizeof m.snapshot.conf), 0);
    same_buf(m.snapshot.chunk, b.snapshot.chunk);
    raft_message_release(&b);
    cr_assert_null(b.snapshot.chunk);
    raft_message_release(&m);
}

Test(io_codec, round_trips_snapshot_without_chunk)
{
    struct raft_message m = {.type = RAFT_SNAPSHOT, .from = 1, .to = 4, .term = 9};
    m.snapshot.index = 5;
    m.snapshot.term = 1;
    struct raft_message b;
    round_trip(&m, &b);
    cr_assert_null(b.snapshot.chunk);
    cr_assert_eq(b.snapshot.conf.n, 0);
    raft_message_release(&b);
}

Test(io_codec, round_trips_snapshot_result_and_timeout_now)
{
    struct raft_message m = {.type = RAFT_SNAPSHOT_RESULT, .from = 4, .to = 1, .term = 9};
    m.snapshot_result.index = 500;
    m.snapshot_result.next_offset = 8192;
    m.snapshot_result.round = 12;
    m.snapshot_result.done = true;
    struct raft_message b;
    round_trip(&m, &b);
    same_header(&m, &b);
    cr_assert_eq(b.snapshot_result.index, 500);
    cr_assert_eq(b.snapshot_result.next_offset, 8192);
    cr_assert_eq(b.snapshot_result.round, 12);
    cr_assert(b.snapshot_result.done);
    raft_message_release(&b);

    struct raft_message t = {.type = RAFT_TIMEOUT_NOW, .from = 1, .to = 2, .term = 9};
    round_trip(&t, &b);
    same_header(&t, &b);
    raft_message_release(&b);
}

Test(io_codec, encodes_the_documented_field_names)
{
    struct raft_message m = {.type = RAFT_VOTE, .from = 1, .to = 2, .term = 3};
    m.vote.last_index = 4;
    m.vote.last_term = 2;
    m.vote.pre = true;
    char err[FL_ERRMSG_SIZE];
    json_t *j;
    cr_assert_eq(io_codec_encode(&m, &j, err), 0);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_str_eq(text, "{\"from\":1,\"last_index\":4,\"last_term\":2,\"pre\":true,\"term\":3,"
                           "\"to\":2,\"transfer\":false,\"type\":\"vote\"}");
    free(text);
    json_decref(j);
}

Test(io_codec, encoder_refuses_values_outside_the_wire_range)
{
    char err[FL_ERRMSG_SIZE] = "";
    json_t *j = (json_t *)1;
    struct raft_message m = {.type = RAFT_VOTE, .from = 1, .to = 2, .term = UINT64_MAX};
    cr_assert_eq(io_codec_encode(&m, &j, err), FL_ELIMIT);
    cr_assert_null(j);
    cr_assert(strstr(err, "vote: term"), "%s", err);
    m.type = 99;
    cr_assert_eq(io_codec_encode(&m, &j, err), FL_ESHAPE);
    cr_assert(strstr(err, "unknown type"), "%s", err);
}

/* ==== Refused input ==== */

static const char *const valid[] = {
    "{\"type\":\"append\",\"from\":1,\"to\":2,\"term\":5,\"prev_index\":10,\"prev_term\":2,"
    "\"commit\":9,\"round\":1,\"leader\":1,\"entries\":[{\"term\":5,\"type\":\"command\","
    "\"data\":\"eA==\"},{\"term\":5,\"type\":\"noop\"}]}",
    "{\"type\":\"append_result\",\"from\":2,\"to\":1,\"term\":5,\"success\":false,\"index\":3,"
    "\"last_index\":4,\"conflict_term\":0,\"conflict_index\":0,\"round\":1}",
    "{\"type\":\"vote\",\"from\":1,\"to\":2,\"term\":5,\"last_index\":3,\"last_term\":2,"
    "\"pre\":false,\"transfer\":false}",
    "{\"type\":\"vote_result\",\"from\":2,\"to\":1,\"term\":5,\"granted\":true,\"pre\":false}",
    "{\"type\":\"snapshot\",\"from\":1,\"to\":2,\"term\":5,\"index\":9,\"snap_term\":4,"
    "\"conf_index\":2,\"offset\":0,\"round\":1,\"done\":false,\"conf\":[{\"id\":1,\"role\":"
    "\"voter\"}],\"data\":\"AAEC\"}",
    "{\"type\":\"snapshot_result\",\"from\":2,\"to\":1,\"term\":5,\"index\":9,"
    "\"next_offset\":3,\"round\":1,\"done\":false}",
    "{\"type\":\"timeout_now\",\"from\":1,\"to\":2,\"term\":5}",
};

/* Decodes `text` and expects FL_ESHAPE/FL_ELIMIT `code` with `needle` in the message. */
static void refused_json(json_t *j, int code, const char *needle)
{
    char err[FL_ERRMSG_SIZE] = "";
    struct raft_message m;
    memset(&m, 0xab, sizeof m);
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc = io_codec_decode(j, &m, err);
    cr_assert_eq(rc, code, "%s: rc %d (%s), want %d", text, rc, err, code);
    cr_assert(strstr(err, needle), "%s: message \"%s\" lacks \"%s\"", text, err, needle);
    cr_assert_eq(m.type, 0, "message not zeroed after an error");
    /* The same text as a frame body: the hand-written reader leaves it to
     * jansson, which refuses it the same way. */
    char err2[FL_ERRMSG_SIZE] = "";
    cr_assert_eq(io_codec_decode_fast((const unsigned char *)text, strlen(text), &m), 0, "%s",
                 text);
    cr_assert_eq(m.type, 0);
    rc = io_codec_decode_body((const unsigned char *)text, strlen(text), &m, err2);
    if (json_is_object(j)) {
        cr_assert_eq(rc, code, "%s: %s", text, err2);
        cr_assert_str_eq(err2, err);
    } else {
        cr_assert_eq(rc, FL_ESHAPE, "%s: %s", text, err2); /* refused by the frame layer */
    }
    free(text);
}

/* Takes valid[k], sets `key` (a path "a" or "a.0.b") to the JSON `value` (NULL: delete). */
static void refused_edit(int k, const char *path, const char *value, int code, const char *needle)
{
    json_t *j = json_loads(valid[k], 0, NULL);
    cr_assert_not_null(j);
    json_t *parent = j;
    char p[64];
    snprintf(p, sizeof p, "%s", path);
    char *save, *key = strtok_r(p, ".", &save), *next;
    while ((next = strtok_r(NULL, ".", &save)) != NULL) {
        parent = json_is_array(parent) ? json_array_get(parent, (size_t)atoi(key))
                                       : json_object_get(parent, key);
        cr_assert_not_null(parent, "bad path %s", path);
        key = next;
    }
    if (value == NULL) {
        json_object_del(parent, key);
    } else {
        json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
        cr_assert_not_null(v, "bad value %s", value);
        if (json_is_array(parent))
            json_array_set_new(parent, (size_t)atoi(key), v);
        else
            json_object_set_new(parent, key, v);
    }
    refused_json(j, code, needle);
    json_decref(j);
}

Test(io_codec, every_valid_sample_decodes)
{
    for (size_t k = 0; k < sizeof valid / sizeof valid[0]; k++) {
        json_t *j = json_loads(valid[k], 0, NULL);
        cr_assert_not_null(j);
        char err[FL_ERRMSG_SIZE] = "";
        struct raft_message m;
        cr_assert_eq(io_codec_decode(j, &m, err), 0, "%s: %s", valid[k], err);
        raft_message_release(&m);
        json_decref(j);
    }
}

Test(io_codec, refuses_a_missing_or_unknown_type)
{
    refused_edit(6, "type", NULL, FL_ESHAPE, "message: type: missing");
    refused_edit(6, "type", "\"install\"", FL_ESHAPE, "message: type: unknown type \"install\"");
    refused_edit(6, "type", "7", FL_ESHAPE, "message: type: expected a string");
    json_t *arr = json_array();
    refused_json(arr, FL_ESHAPE, "message: expected an object");
    json_decref(arr);
}

Test(io_codec, refuses_bad_header_fields)
{
    refused_edit(2, "from", NULL, FL_ESHAPE, "vote: from: missing");
    refused_edit(2, "from", "0", FL_ESHAPE, "vote: from: zero");
    refused_edit(2, "to", "0", FL_ESHAPE, "vote: to: zero");
    refused_edit(2, "to", "\"n2\"", FL_ESHAPE, "vote: to: expected an integer");
    refused_edit(2, "term", "-1", FL_ESHAPE, "vote: term: negative");
    refused_edit(2, "term", "1.5", FL_ESHAPE, "vote: term: expected an integer");
}

Test(io_codec, refuses_bad_append_fields)
{
    refused_edit(0, "prev_index", "null", FL_ESHAPE, "append: prev_index: expected an integer");
    refused_edit(0, "prev_term", NULL, FL_ESHAPE, "append: prev_term: missing");
    refused_edit(0, "commit", "-3", FL_ESHAPE, "append: commit: negative");
    refused_edit(0, "round", "true", FL_ESHAPE, "append: round: expected an integer");
    refused_edit(0, "leader", "0", FL_ESHAPE, "append: leader: zero");
    refused_edit(0, "entries", NULL, FL_ESHAPE, "append: entries: missing");
    refused_edit(0, "entries", "{}", FL_ESHAPE, "append: entries: expected an array");
    refused_edit(0, "entries.1", "[]", FL_ESHAPE, "append: entries[1]: expected an object");
    refused_edit(0, "entries.0.term", "0", FL_ESHAPE, "append: entries[0]: term: zero");
    refused_edit(0, "entries.0.term", NULL, FL_ESHAPE, "append: entries[0]: term: missing");
    refused_edit(0, "entries.1.type", "\"nop\"", FL_ESHAPE,
                 "append: entries[1]: type: unknown value \"nop\"");
    refused_edit(0, "entries.0.data", NULL, FL_ESHAPE, "append: entries[0]: data: missing");
    refused_edit(0, "entries.0.data", "12", FL_ESHAPE,
                 "append: entries[0]: data: expected a base64 string");
    refused_edit(0, "entries.0.data", "\"eA=\"", FL_ESHAPE,
                 "append: entries[0]: data: invalid base64");
    refused_edit(0, "entries.0.data", "\"e*==\"", FL_ESHAPE, "invalid base64");
    refused_edit(0, "entries.0.data", "\"eB==\"", FL_ESHAPE, "invalid base64"); /* non-canonical */
    refused_edit(0, "entries.0.data", "\"=AAA\"", FL_ESHAPE, "invalid base64");
    refused_edit(0, "entries.0.type", "\"change\"", FL_ESHAPE,
                 "append: entries[0]: data: not an encoded configuration");
}

Test(io_codec, refuses_too_many_entries)
{
    json_t *j = json_loads(valid[0], 0, NULL);
    json_t *a = json_array();
    for (int i = 0; i <= IO_CODEC_MAX_ENTRIES; i++)
        json_array_append_new(a, json_pack("{s:i,s:s}", "term", 1, "type", "noop"));
    json_object_set_new(j, "entries", a);
    refused_json(j, FL_ELIMIT, "append: entries: 8193 over the maximum of 8192");
    json_decref(j);
}

Test(io_codec, refuses_bad_result_and_vote_fields)
{
    refused_edit(1, "success", "1", FL_ESHAPE, "append_result: success: expected true or false");
    refused_edit(1, "index", NULL, FL_ESHAPE, "append_result: index: missing");
    refused_edit(1, "last_index", "-1", FL_ESHAPE, "append_result: last_index: negative");
    refused_edit(1, "conflict_term", "\"x\"", FL_ESHAPE, "append_result: conflict_term");
    refused_edit(1, "conflict_index", NULL, FL_ESHAPE, "append_result: conflict_index: missing");
    refused_edit(1, "round", NULL, FL_ESHAPE, "append_result: round: missing");
    refused_edit(2, "last_index", NULL, FL_ESHAPE, "vote: last_index: missing");
    refused_edit(2, "last_term", "{}", FL_ESHAPE, "vote: last_term: expected an integer");
    refused_edit(2, "pre", "\"no\"", FL_ESHAPE, "vote: pre: expected true or false");
    refused_edit(2, "transfer", NULL, FL_ESHAPE, "vote: transfer: missing");
    refused_edit(3, "granted", "null", FL_ESHAPE, "vote_result: granted: expected true or false");
    refused_edit(3, "pre", NULL, FL_ESHAPE, "vote_result: pre: missing");
    refused_edit(5, "index", NULL, FL_ESHAPE, "snapshot_result: index: missing");
    refused_edit(5, "next_offset", "-2", FL_ESHAPE, "snapshot_result: next_offset: negative");
    refused_edit(5, "round", "2.0", FL_ESHAPE, "snapshot_result: round: expected an integer");
    refused_edit(5, "done", "0", FL_ESHAPE, "snapshot_result: done: expected true or false");
}

Test(io_codec, refuses_bad_snapshot_fields)
{
    refused_edit(4, "index", "0", FL_ESHAPE, "snapshot: index: zero");
    refused_edit(4, "snap_term", NULL, FL_ESHAPE, "snapshot: snap_term: missing");
    refused_edit(4, "conf_index", "10", FL_ESHAPE, "snapshot: conf_index: beyond the snapshot");
    refused_edit(4, "offset", "-1", FL_ESHAPE, "snapshot: offset: negative");
    refused_edit(4, "round", NULL, FL_ESHAPE, "snapshot: round: missing");
    refused_edit(4, "done", "1", FL_ESHAPE, "snapshot: done: expected true or false");
    refused_edit(4, "conf", NULL, FL_ESHAPE, "snapshot: conf: missing");
    refused_edit(4, "conf", "{}", FL_ESHAPE, "snapshot: conf: expected an array");
    refused_edit(4, "conf.0", "1", FL_ESHAPE, "snapshot: conf[0]: expected an object");
    refused_edit(4, "conf.0.id", "0", FL_ESHAPE, "snapshot: conf[0]: id: zero");
    refused_edit(4, "conf.0.role", "\"removed\"", FL_ESHAPE,
                 "snapshot: conf[0]: role: unknown value \"removed\"");
    refused_edit(4, "conf.0.role", NULL, FL_ESHAPE, "snapshot: conf[0]: role: missing");
    refused_edit(4, "data", "\"AAE\"", FL_ESHAPE, "snapshot: data: invalid base64");
    refused_edit(4, "conf", "[{\"id\":1,\"role\":\"voter\"},{\"id\":1,\"role\":\"passive\"}]",
                 FL_ESHAPE, "snapshot: conf[1]: id: 1 listed twice");

    json_t *j = json_loads(valid[4], 0, NULL);
    json_t *a = json_array();
    for (int i = 0; i <= RAFT_MAX_SERVERS; i++)
        json_array_append_new(a, json_pack("{s:i,s:s}", "id", i + 1, "role", "voter"));
    json_object_set_new(j, "conf", a);
    refused_json(j, FL_ELIMIT, "snapshot: conf: 17 servers over the maximum of 16");
    json_decref(j);
}

Test(io_codec, decode_survives_allocation_failure)
{
    json_t *j = json_loads(valid[0], 0, NULL);
    for (long n = 0; n < 6; n++) {
        char err[FL_ERRMSG_SIZE] = "";
        struct raft_message m;
        fl_alloc_fail_after(n);
        int rc = io_codec_decode(j, &m, err);
        fl_alloc_fail_reset();
        cr_assert(rc == 0 || rc == FL_ENOMEM, "after %ld: rc %d: %s", n, rc, err);
        raft_message_release(&m);
    }
    json_decref(j);
}

/* io_codec_encode_frame writes appends as text: the very bytes of the tree
 * encoder (io_codec_encode, then io_frame_encode), for empty, command, noop,
 * change and binary entries; other types go through the tree. */
static void same_frame(const struct raft_message *m)
{
    char err[FL_ERRMSG_SIZE] = "";
    json_t *j;
    cr_assert_eq(io_codec_encode(m, &j, err), 0, "%s", err);
    unsigned char *a, *b;
    size_t na, nb;
    cr_assert_eq(io_frame_encode(j, 0, &a, &na, err), 0, "%s", err);
    json_decref(j);
    cr_assert_eq(io_codec_encode_frame(m, 0, &b, &nb, err), 0, "%s", err);
    cr_assert_eq(na, nb, "%.*s\nvs\n%.*s", (int)na - 4, a + 4, (int)nb - 4, b + 4);
    cr_assert_eq(memcmp(a, b, na), 0, "%.*s\nvs\n%.*s", (int)na - 4, a + 4, (int)nb - 4, b + 4);
    fl_free(a);
    fl_free(b);
}

Test(codec, direct_append_frame_equals_tree_encoding)
{
    unsigned char bin[256];
    for (unsigned i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7 + 3);
    struct raft_entry ents[6] = {
        {.term = 3, .type = RAFT_COMMAND, .buf = buf("{\"t\":\"command\",\"op\":{\"k\":\"\\u00e9\"}}", strlen("{\"t\":\"command\",\"op\":{\"k\":\"\\u00e9\"}}"))},
        {.term = 3, .type = RAFT_NOOP, .buf = NULL},
        {.term = 4, .type = RAFT_COMMAND, .buf = buf("", 0)},
        {.term = 4, .type = RAFT_COMMAND, .buf = buf((const char *)bin, 1)},
        {.term = 5, .type = RAFT_COMMAND, .buf = buf((const char *)bin, 2)},
        {.term = (uint64_t)INT64_MAX, .type = RAFT_COMMAND, .buf = buf((const char *)bin, sizeof bin)},
    };
    struct raft_message m = {.type = RAFT_APPEND, .from = 1, .to = 2, .term = 9};
    m.append.prev_index = 41;
    m.append.prev_term = 3;
    m.append.commit = 40;
    m.append.round = 77;
    m.append.leader = 1;
    same_frame(&m); /* a heartbeat: no entries */
    for (unsigned n = 1; n <= 6; n++) {
        m.append.n = n;
        m.append.entries = ents;
        same_frame(&m);
    }
    m.term = (uint64_t)INT64_MAX;
    m.append.commit = 0;
    same_frame(&m);
    /* Refused as the tree encoder refuses: a term over the wire range, an
     * unknown entry type, a body over the maximum. */
    char err[FL_ERRMSG_SIZE] = "";
    unsigned char *out;
    size_t len;
    m.term = (uint64_t)INT64_MAX + 1;
    cr_assert_eq(io_codec_encode_frame(&m, 0, &out, &len, err), FL_ELIMIT);
    cr_assert_null(out);
    cr_assert(strstr(err, "term"), "%s", err);
    m.term = 9;
    ents[2].type = 99;
    cr_assert_eq(io_codec_encode_frame(&m, 0, &out, &len, err), FL_ESHAPE);
    cr_assert(strstr(err, "entries[2].type"), "%s", err);
    ents[2].type = RAFT_COMMAND;
    cr_assert_eq(io_codec_encode_frame(&m, 100, &out, &len, err), FL_ELIMIT);
    cr_assert_null(out);
    cr_assert(strstr(err, "maximum of 100"), "%s", err);
    /* Other types: the tree encoder's frame. */
    struct raft_message v = {.type = RAFT_VOTE, .from = 2, .to = 1, .term = 5};
    v.vote.last_index = 10;
    v.vote.last_term = 4;
    same_frame(&v);
    for (unsigned i = 0; i < 6; i++)
        raft_buf_unref(ents[i].buf);
}

/* ==== Frame bodies: the hand-written reader (io_codec_decode_fast) ==== */

static void same_message(const struct raft_message *a, const struct raft_message *b)
{
    same_header(a, b);
    if (a->type == RAFT_APPEND) {
        cr_assert_eq(a->append.prev_index, b->append.prev_index);
        cr_assert_eq(a->append.prev_term, b->append.prev_term);
        cr_assert_eq(a->append.commit, b->append.commit);
        cr_assert_eq(a->append.round, b->append.round);
        cr_assert_eq(a->append.leader, b->append.leader);
        cr_assert_eq(a->append.n, b->append.n);
        for (unsigned i = 0; i < a->append.n; i++) {
            cr_assert_eq(a->append.entries[i].term, b->append.entries[i].term);
            cr_assert_eq(a->append.entries[i].type, b->append.entries[i].type);
            same_buf(a->append.entries[i].buf, b->append.entries[i].buf);
        }
    } else if (a->type == RAFT_APPEND_RESULT) {
        cr_assert_eq(a->append_result.success, b->append_result.success);
        cr_assert_eq(a->append_result.index, b->append_result.index);
        cr_assert_eq(a->append_result.last_index, b->append_result.last_index);
        cr_assert_eq(a->append_result.conflict_term, b->append_result.conflict_term);
        cr_assert_eq(a->append_result.conflict_index, b->append_result.conflict_index);
        cr_assert_eq(a->append_result.round, b->append_result.round);
    }
}

/* `text` is taken by the hand-written reader, to the message jansson reads. */
static void fast_accepts(const char *text)
{
    char err[FL_ERRMSG_SIZE] = "";
    struct raft_message fast, slow;
    size_t n = strlen(text);
    cr_assert_eq(io_codec_decode_fast((const unsigned char *)text, n, &fast), 1, "%s", text);
    json_t *j = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
    cr_assert_not_null(j, "%s", text);
    cr_assert_eq(io_codec_decode(j, &slow, err), 0, "%s: %s", text, err);
    json_decref(j);
    same_message(&fast, &slow);
    raft_message_release(&fast);
    raft_message_release(&slow);
}

/* `text` is left to jansson (fast 0), and the body path returns `code`
 * (0: accepted) with `needle` in its message. */
static void fast_declines(const char *text, size_t n, int code, const char *needle)
{
    char err[FL_ERRMSG_SIZE] = "";
    struct raft_message m;
    memset(&m, 0xab, sizeof m);
    cr_assert_eq(io_codec_decode_fast((const unsigned char *)text, n, &m), 0, "%.*s", (int)n,
                 text);
    cr_assert_eq(m.type, 0, "message not zeroed");
    int rc = io_codec_decode_body((const unsigned char *)text, n, &m, err);
    cr_assert_eq(rc, code, "%.*s: rc %d (%s), want %d", (int)n, text, rc, err, code);
    if (rc == 0)
        raft_message_release(&m);
    else
        cr_assert(strstr(err, needle), "%.*s: message \"%s\" lacks \"%s\"", (int)n, text, err,
                  needle);
}

Test(io_codec_fast, takes_what_the_frame_encoder_writes)
{
    struct raft_configuration c = {.n = 2, .servers = {{1, RAFT_VOTER}, {9, RAFT_PASSIVE}}};
    struct raft_entry ents[4] = {
        {.term = 3, .type = RAFT_NOOP, .buf = NULL},
        {.term = 3, .type = RAFT_COMMAND, .buf = buf("x", 1)},
        {.term = 4, .type = RAFT_COMMAND, .buf = buf("", 0)},
        {.term = INT64_MAX, .type = RAFT_CHANGE, .buf = raft_configuration_encode(&c)},
    };
    struct raft_message ms[3] = {
        {.type = RAFT_APPEND, .from = 1, .to = 2, .term = INT64_MAX,
         .append = {.prev_index = INT64_MAX, .prev_term = 0, .commit = 7, .round = 99,
                    .leader = 1, .n = 4, .entries = ents}},
        {.type = RAFT_APPEND_RESULT, .from = 2, .to = 1, .term = 5,
         .append_result = {.success = true, .index = 12, .last_index = 12, .round = 31}},
        {.type = RAFT_APPEND_RESULT, .from = INT64_MAX, .to = 1, .term = 0,
         .append_result = {.success = false, .index = 0, .last_index = INT64_MAX,
                           .conflict_term = 3, .conflict_index = 1, .round = 0}},
    };
    for (int k = 0; k < 3; k++) {
        char err[FL_ERRMSG_SIZE] = "";
        unsigned char *bytes;
        size_t len;
        cr_assert_eq(io_codec_encode_frame(&ms[k], 0, &bytes, &len, err), 0, "%s", err);
        struct raft_message fast;
        cr_assert_eq(io_codec_decode_fast(bytes + 4, len - 4, &fast), 1, "%.*s", (int)len - 4,
                     bytes + 4);
        same_message(&ms[k], &fast);
        raft_message_release(&fast);
        char *text = strndup((const char *)bytes + 4, len - 4);
        fast_accepts(text);
        free(text);
        fl_free(bytes);
    }
    for (int i = 0; i < 4; i++)
        raft_buf_unref(ents[i].buf);
}

Test(io_codec_fast, takes_any_key_order_and_whitespace)
{
    fast_accepts(valid[0]);
    fast_accepts(valid[1]);
    fast_accepts(" {\"entries\" : [ ] ,\"leader\":3,\"round\":0,\"commit\":0,\"prev_term\":0,"
                 "\"prev_index\":0,\"term\":9223372036854775807,\"to\":2,\"from\":1,"
                 "\"type\":\"append\"}\r\n\t");
    fast_accepts("{\"round\":1,\"conflict_index\":0,\"conflict_term\":0,\"last_index\":4,"
                 "\"index\":3,\"success\":true,\"term\":5,\"to\":1,\"from\":2,"
                 "\"type\":\"append_result\"}");
    fast_accepts("{\"type\":\"append\",\"from\":1,\"to\":2,\"term\":5,\"prev_index\":1,"
                 "\"prev_term\":1,\"commit\":1,\"round\":1,\"leader\":1,\"entries\":[{\"data\":"
                 "\"eHl6\",\"type\":\"command\",\"term\":5},{\"type\":\"noop\",\"term\":1,"
                 "\"data\":\"\"}]}");
}

/* Prefix and suffix of valid[0] around an entries array. */
#define APPEND_HEAD                                                                                \
    "{\"type\":\"append\",\"from\":1,\"to\":2,\"term\":5,\"prev_index\":10,\"prev_term\":2,"      \
    "\"commit\":9,\"round\":1,\"leader\":1,\"entries\":"
#define RESULT_HEAD "{\"type\":\"append_result\",\"from\":2,\"to\":1,\"success\":false,"

static void declines(const char *text, int code, const char *needle)
{
    fast_declines(text, strlen(text), code, needle);
}

Test(io_codec_fast, every_truncation_is_refused)
{
    for (int k = 0; k < 2; k++)
        for (size_t n = 0; n < strlen(valid[k]); n++) {
            char err[FL_ERRMSG_SIZE] = "";
            struct raft_message m;
            cr_assert_eq(io_codec_decode_fast((const unsigned char *)valid[k], n, &m), 0);
            cr_assert_lt(io_codec_decode_body((const unsigned char *)valid[k], n, &m, err), 0,
                         "prefix %zu of %s accepted", n, valid[k]);
        }
}

Test(io_codec_fast, leaves_duplicate_keys_to_jansson_which_refuses_them)
{
    declines(APPEND_HEAD "[],\"term\":6}", FL_EPARSE, "duplicate object key");
    declines(APPEND_HEAD "[{\"term\":5,\"type\":\"noop\",\"term\":5}]}", FL_EPARSE,
             "duplicate object key");
    declines(APPEND_HEAD "[{\"term\":5,\"type\":\"command\",\"data\":\"\",\"data\":\"eA==\"}]}",
             FL_EPARSE, "duplicate object key");
    declines(RESULT_HEAD "\"term\":5,\"index\":3,\"last_index\":4,\"conflict_term\":0,"
                         "\"conflict_index\":0,\"round\":1,\"success\":true}",
             FL_EPARSE, "duplicate object key");
}

Test(io_codec_fast, leaves_extreme_and_malformed_numbers_to_jansson)
{
    /* 2^63 - 1 is taken (above); 2^63 and more do not fit jansson's integers. */
    declines(RESULT_HEAD "\"term\":9223372036854775808,\"index\":3,\"last_index\":4,"
                         "\"conflict_term\":0,\"conflict_index\":0,\"round\":1}",
             FL_EPARSE, "frame: invalid JSON");
    declines(RESULT_HEAD "\"term\":99999999999999999999999,\"index\":3,\"last_index\":4,"
                         "\"conflict_term\":0,\"conflict_index\":0,\"round\":1}",
             FL_EPARSE, "frame: invalid JSON");
    declines(RESULT_HEAD "\"term\":-1,\"index\":3,\"last_index\":4,\"conflict_term\":0,"
                         "\"conflict_index\":0,\"round\":1}",
             FL_ESHAPE, "append_result: term: negative");
    declines(RESULT_HEAD "\"term\":-0,\"index\":3,\"last_index\":4,\"conflict_term\":0,"
                         "\"conflict_index\":0,\"round\":1}",
             0, NULL);
    declines(RESULT_HEAD "\"term\":5.0,\"index\":3,\"last_index\":4,\"conflict_term\":0,"
                         "\"conflict_index\":0,\"round\":1}",
             FL_ESHAPE, "append_result: term: expected an integer");
    declines(RESULT_HEAD "\"term\":5e0,\"index\":3,\"last_index\":4,\"conflict_term\":0,"
                         "\"conflict_index\":0,\"round\":1}",
             FL_ESHAPE, "append_result: term: expected an integer");
    declines(RESULT_HEAD "\"term\":05,\"index\":3,\"last_index\":4,\"conflict_term\":0,"
                         "\"conflict_index\":0,\"round\":1}",
             FL_EPARSE, "frame: invalid JSON");
    declines(APPEND_HEAD "[{\"term\":0,\"type\":\"noop\"}]}", FL_ESHAPE,
             "append: entries[0]: term: zero");
    declines(APPEND_HEAD "[{\"term\":9223372036854775808,\"type\":\"noop\"}]}", FL_EPARSE,
             "frame: invalid JSON");
}

Test(io_codec_fast, leaves_other_shapes_to_jansson)
{
    /* Accepted through jansson as before: an unknown extra key, an escape, another type. */
    declines(APPEND_HEAD "[],\"extra\":[1,{\"a\":null}]}", 0, NULL);
    declines(APPEND_HEAD "[{\"term\":5,\"type\":\"no\\u006fp\"}]}", 0, NULL);
    declines(APPEND_HEAD "[{\"term\":5,\"type\":\"noop\",\"note\":1}]}", 0, NULL);
    declines(valid[2], 0, NULL);
    declines(valid[4], 0, NULL);
    /* Refused through jansson: the errors of io_codec_decode and frames. */
    declines(APPEND_HEAD "[{\"term\":5,\"type\":\"command\"}]}", FL_ESHAPE,
             "append: entries[0]: data: missing");
    declines(APPEND_HEAD "[{\"term\":5,\"type\":\"command\",\"data\":\"eB==\"}]}", FL_ESHAPE,
             "invalid base64");
    declines(APPEND_HEAD "[{\"term\":5,\"type\":\"change\",\"data\":\"eA==\"}]}", FL_ESHAPE,
             "not an encoded configuration");
    declines(APPEND_HEAD "[{\"term\":5,\"type\":\"nop\"}]}", FL_ESHAPE, "unknown value \"nop\"");
    declines(APPEND_HEAD "[]} x", FL_EPARSE, "frame: invalid JSON");
    declines(APPEND_HEAD "[],}", FL_EPARSE, "frame: invalid JSON");
    declines(APPEND_HEAD "[{}]}", FL_ESHAPE, "append: entries[0]: term: missing");
    declines("[]", FL_ESHAPE, "frame: body is not a JSON object");
    declines("{}", FL_ESHAPE, "message: type: missing");
    fast_declines(APPEND_HEAD "[]}\0", sizeof APPEND_HEAD + 3, FL_EPARSE, "frame: invalid JSON");
    declines("{\"type\":\"append\",\"from\":0,\"to\":2,\"term\":5,\"prev_index\":10,"
             "\"prev_term\":2,\"commit\":9,\"round\":1,\"leader\":1,\"entries\":[]}",
             FL_ESHAPE, "append: from: zero");
    declines("{\"type\":\"append\",\"from\":1,\"to\":2,\"term\":5,\"prev_index\":10,"
             "\"prev_term\":2,\"commit\":9,\"round\":1,\"leader\":0,\"entries\":[]}",
             FL_ESHAPE, "append: leader: zero");
}

Test(io_codec_fast, refuses_a_huge_entry_count)
{
    size_t cap = sizeof APPEND_HEAD + (IO_CODEC_MAX_ENTRIES + 1) * 27 + 8;
    char *text = fl_malloc(cap);
    size_t n = (size_t)snprintf(text, cap, "%s[", APPEND_HEAD);
    for (int i = 0; i <= IO_CODEC_MAX_ENTRIES; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s{\"term\":1,\"type\":\"noop\"}", i ? "," : "");
    n += (size_t)snprintf(text + n, cap - n, "]}");
    fast_declines(text, n, FL_ELIMIT, "append: entries: 8193 over the maximum of 8192");
    /* One fewer is taken. */
    char *cut = strstr(text, ",{\"term\":1,\"type\":\"noop\"}]}");
    cr_assert_not_null(cut);
    strcpy(cut, "]}");
    fast_accepts(text);
    fl_free(text);
}
