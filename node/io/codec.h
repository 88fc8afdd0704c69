/* codec.h - Raft peer messages (node/raft/raft.h) to and from JSON objects for frames.
 *
 * One JSON object per struct raft_message; the fields of every type are
 * documented in node/PROTOCOL.md. Byte payloads (entry data, snapshot chunks)
 * travel as base64 strings. Integers are JSON integers in 0..2^63-1 (server
 * ids are the numeric raft ids). Decoding is for untrusted input: every field
 * is checked (type, range, entry count, configuration size and roles) and an
 * error names the field, e.g. "append: entries[2].type: unknown entry type".
 * The hot messages (append, append_result) are encoded straight to frame
 * bytes and read back from frame bytes without a JSON tree
 * (io_codec_encode_frame, io_codec_decode_body). */
#ifndef IO_CODEC_H
#define IO_CODEC_H

#include "node/raft/raft.h"

#include <jansson.h>

#define IO_CODEC_MAX_ENTRIES 8192 /* entries accepted in one append message */

/* Encodes `m` (borrowed) into a new JSON object stored in *out. Returns 0,
 * FL_ELIMIT when an integer does not fit the wire range (> 2^63-1) or an
 * entry count is over IO_CODEC_MAX_ENTRIES, FL_ESHAPE for an unknown type,
 * or FL_ENOMEM; errmsg (FL_ERRMSG_SIZE bytes) then says why and *out is NULL. */
int io_codec_encode(const struct raft_message *m, json_t **out, char *errmsg);

/* Encodes `m` (borrowed) as one frame (node/io/frame.h): the bytes of
 * io_frame_encode(io_codec_encode(m)), appends written directly. Returns 0
 * with a new fl_malloc'd buffer in *out, or the codes of those two (FL_ELIMIT
 * also for a body over `max`, 0 = IO_FRAME_MAX_DEFAULT) with errmsg set. */
int io_codec_encode_frame(const struct raft_message *m, size_t max, unsigned char **out,
                          size_t *out_len, char *errmsg);
/* Decodes `obj` (borrowed) into *m. On success returns 0 and *m owns new
 * references to its buffers and its entry array, released with
 * raft_message_release() (node/raft/raft.h) or io_codec_message_free().
 * On failure returns FL_ESHAPE (a field missing, of the wrong type or out of
 * range; an unknown message type), FL_ELIMIT (too many entries or servers)
 * or FL_ENOMEM, with a message naming the field in errmsg; *m then owns
 * nothing (it is zeroed). */
int io_codec_decode(const json_t *obj, struct raft_message *m, char *errmsg);

/* Decodes one frame body (node/io/frame.h io_frame_decoder_next_raw) into
 * *m: an append or append_result in the shape our encoder writes through a
 * hand-written reader (no JSON tree), anything else through jansson
 * (io_frame_parse_body, then io_codec_decode). Accepts and refuses exactly
 * what those two do; returns 0 (m owns its buffers, as io_codec_decode) or
 * their negative codes with errmsg set. */
int io_codec_decode_body(const unsigned char *body, size_t len, struct raft_message *m,
                         char *errmsg);

/* The hand-written reader alone: 1 with *m decoded, or 0 (*m zeroed, owns
 * nothing) for a body it leaves to jansson. Never refuses: every body it
 * accepts decodes to the same message through jansson (tests/fuzz checks). */
int io_codec_decode_fast(const unsigned char *body, size_t len, struct raft_message *m);

/* Releases what a decoded (or copied) message owns; same as raft_message_release. */
void io_codec_message_free(struct raft_message *m);

/* Returns the wire name of a message type ("append", ...) or NULL if unknown. */
const char *io_codec_type_name(int type);

#endif
