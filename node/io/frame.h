/* frame.h - length-prefixed JSON frames: a 4-byte big-endian length, then one JSON object.
 *
 * The wire format shared by peers and clients (DESIGN.md "Wire formats",
 * node/PROTOCOL.md). The encoder turns a json_t object into one frame; the
 * decoder is incremental: feed it byte chunks as TCP delivers them and take
 * zero or more complete objects out. Any frame whose length is zero or over
 * the configured maximum, or whose body is not a JSON object, is an error
 * with a one-line message; the caller then closes the connection. The decoder
 * buffers at most one frame body (<= max bytes). */
#ifndef IO_FRAME_H
#define IO_FRAME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IO_FRAME_HEADER      4          /* bytes of the big-endian length prefix */
#define IO_FRAME_MAX_DEFAULT (1u << 20) /* 1 MiB of JSON body */

/* Encodes `obj` (borrowed; must be a JSON object) as one frame, compact JSON.
 * On success stores a new fl_malloc'd buffer of header + body in *out (the
 * caller frees it with fl_free) and its total length in *out_len, and returns
 * 0. Refuses a body longer than `max` bytes with FL_ELIMIT, a non-object with
 * FL_ESHAPE, and returns FL_ENOMEM on allocation failure; errmsg
 * (FL_ERRMSG_SIZE bytes) then says why and *out is NULL. */
int io_frame_encode(const json_t *obj, size_t max, unsigned char **out, size_t *out_len,
                    char *errmsg);

/* An incremental decoder. Caller allocates; every field is private. */
struct io_frame_decoder {
    size_t max;                         /* largest body accepted */
    unsigned char hdr[IO_FRAME_HEADER]; /* header bytes gathered so far */
    unsigned hdr_n;
    unsigned char *body; /* body being gathered (fl_malloc'd, kept for the next), or NULL */
    size_t body_cap;     /* bytes allocated at body */
    size_t body_len;     /* length announced by the header */
    size_t body_n;       /* bytes gathered */
    bool failed;         /* an error was returned: further input is refused */
};

/* Initialises `d` to accept bodies of 1..max bytes (0 = IO_FRAME_MAX_DEFAULT). */
void io_frame_decoder_init(struct io_frame_decoder *d, size_t max);

/* Releases any partial frame `d` holds. `d` may be initialised again. */
void io_frame_decoder_close(struct io_frame_decoder *d);

/* Consumes bytes from *buf (*len of them), advancing *buf and decreasing *len,
 * until one frame completes or the input runs out. Returns 1 with a new
 * reference to the frame's object in *out (input may remain: call again),
 * 0 when all input was consumed without completing a frame (a partial frame
 * is kept for the next call), or a negative code with a one-line message in
 * errmsg (FL_ELIMIT: length zero or over max; FL_EPARSE: invalid JSON;
 * FL_ESHAPE: not an object; FL_ENOMEM). After an error the decoder refuses
 * all further input (the connection is to be closed). *out is NULL unless 1
 * is returned. Typical use:
 *
 *     while ((rc = io_frame_decoder_next(&d, &p, &n, &obj, err)) == 1) { use(obj);
 * json_decref(obj); }
 */
int io_frame_decoder_next(struct io_frame_decoder *d, const unsigned char **buf, size_t *len,
                          json_t **out, char *errmsg);

/* As io_frame_decoder_next, but returns the frame's body unparsed: 1 with
 * *body, *body_len set (borrowed: the bytes live in *buf's input or in `d`,
 * valid until the next call on `d` or until that input is released), 0 or
 * a negative code as io_frame_decoder_next (only its length errors: nothing
 * is parsed). The caller parses the body (io_frame_parse_body, or the peer
 * codec's io_codec_decode_body) and closes the connection on its errors. */
int io_frame_decoder_next_raw(struct io_frame_decoder *d, const unsigned char **buf,
                              size_t *len, const unsigned char **body, size_t *body_len,
                              char *errmsg);

/* Parses one frame body as io_frame_decoder_next does: returns 1 with a new
 * object in *out, or FL_EPARSE (invalid JSON, duplicate key...) / FL_ESHAPE
 * (not an object) with errmsg set and *out NULL. */
int io_frame_parse_body(const unsigned char *body, size_t len, json_t **out, char *errmsg);

/* Writes the 4-byte big-endian `len` to hdr. */
void io_frame_put_header(unsigned char hdr[IO_FRAME_HEADER], uint32_t len);

#endif
