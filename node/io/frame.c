/* frame.c - length-prefixed JSON frames: encoder and incremental, bounded decoder. */
#include "node/io/frame.h"

#include "common/alloc.h"
#include "common/error.h"

#include <string.h>

void io_frame_put_header(unsigned char hdr[IO_FRAME_HEADER], uint32_t len)
{
    hdr[0] = (unsigned char)(len >> 24);
    hdr[1] = (unsigned char)(len >> 16);
    hdr[2] = (unsigned char)(len >> 8);
    hdr[3] = (unsigned char)len;
}

static size_t clamp_max(size_t max)
{
    if (max == 0)
        return IO_FRAME_MAX_DEFAULT;
    return max > UINT32_MAX ? UINT32_MAX : max;
}

/* The body is dumped once, straight after the header's room, into a buffer
 * that doubles (dumping once to measure and once to write cost two encodes). */
struct dump_ctx {
    unsigned char *b;
    size_t len, cap, max;
    int rc;
};

static int dump_cb(const char *s, size_t n, void *data)
{
    struct dump_ctx *d = data;
    if (d->len - IO_FRAME_HEADER + n > d->max) {
        d->rc = FL_ELIMIT;
        return -1;
    }
    if (d->len + n > d->cap) {
        size_t cap = d->cap;
        while (cap < d->len + n)
            cap *= 2;
        unsigned char *b = fl_realloc(d->b, cap);
        if (b == NULL) {
            d->rc = FL_ENOMEM;
            return -1;
        }
        d->b = b;
        d->cap = cap;
    }
    memcpy(d->b + d->len, s, n);
    d->len += n;
    return 0;
}

int io_frame_encode(const json_t *obj, size_t max, unsigned char **out, size_t *out_len,
                    char *errmsg)
{
    *out = NULL;
    *out_len = 0;
    max = clamp_max(max);
    if (!json_is_object(obj))
        return fl_errorf(errmsg, FL_ESHAPE, "frame: not a JSON object");
    struct dump_ctx d = {.b = fl_malloc(256), .len = IO_FRAME_HEADER, .cap = 256, .max = max};
    if (d.b == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "frame: out of memory");
    if (json_dump_callback(obj, dump_cb, &d, JSON_COMPACT) != 0 || d.len == IO_FRAME_HEADER) {
        fl_free(d.b);
        if (d.rc == FL_ELIMIT)
            return fl_errorf(errmsg, FL_ELIMIT, "frame: body over the maximum of %zu bytes", max);
        return fl_errorf(errmsg, FL_ENOMEM, "frame: cannot encode the object");
    }
    io_frame_put_header(d.b, (uint32_t)(d.len - IO_FRAME_HEADER));
    *out = d.b;
    *out_len = d.len;
    return 0;
}

void io_frame_decoder_init(struct io_frame_decoder *d, size_t max)
{
    memset(d, 0, sizeof *d);
    d->max = clamp_max(max);
}

void io_frame_decoder_close(struct io_frame_decoder *d)
{
    fl_free(d->body);
    d->body = NULL;
    d->body_cap = 0;
    d->hdr_n = 0;
    d->body_n = 0;
    d->body_len = 0;
}

/* Parses one complete body; returns 1 with the object or a negative code. */
static int parse_body(struct io_frame_decoder *d, const unsigned char *body, size_t len,
                      json_t **out, char *errmsg)
{
    int rc = io_frame_parse_body(body, len, out, errmsg);
    if (rc < 0)
        d->failed = true;
    return rc;
}

int io_frame_parse_body(const unsigned char *body, size_t len, json_t **out, char *errmsg)
{
    *out = NULL;
    json_error_t jerr;
    json_t *v = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL)
        return fl_errorf(errmsg, FL_EPARSE, "frame: invalid JSON at byte %d: %s", jerr.position,
                         jerr.text);
    if (!json_is_object(v)) {
        json_decref(v);
        return fl_errorf(errmsg, FL_ESHAPE, "frame: body is not a JSON object");
    }
    *out = v;
    return 1;
}

/* The body buffer is kept between frames (one allocation per connection, not
 * per frame) unless it grew past this. */
#define KEEP_BODY_CAP (64u << 10)

int io_frame_decoder_next_raw(struct io_frame_decoder *d, const unsigned char **buf,
                              size_t *len, const unsigned char **body, size_t *body_len,
                              char *errmsg)
{
    *body = NULL;
    *body_len = 0;
    if (d->failed)
        return fl_errorf(errmsg, FL_EUSAGE, "frame: decoder already failed");
    if (d->body != NULL && d->body_cap > KEEP_BODY_CAP && d->hdr_n < IO_FRAME_HEADER) {
        /* A large body returned by the previous call (not one being gathered). */
        fl_free(d->body);
        d->body = NULL;
        d->body_cap = 0;
    }
    while (*len > 0) {
        if (d->hdr_n < IO_FRAME_HEADER) {
            /* Fast path: a whole frame in the input is returned in place, no copy. */
            if (d->hdr_n == 0 && *len >= IO_FRAME_HEADER) {
                const unsigned char *p = *buf;
                size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
                if (n > 0 && n <= d->max && *len - IO_FRAME_HEADER >= n) {
                    *buf += IO_FRAME_HEADER + n;
                    *len -= IO_FRAME_HEADER + n;
                    *body = p + IO_FRAME_HEADER;
                    *body_len = n;
                    return 1;
                }
            }
            d->hdr[d->hdr_n++] = **buf;
            (*buf)++;
            (*len)--;
            if (d->hdr_n < IO_FRAME_HEADER)
                continue;
            d->body_len = (size_t)d->hdr[0] << 24 | (size_t)d->hdr[1] << 16 |
                          (size_t)d->hdr[2] << 8 | d->hdr[3];
            if (d->body_len == 0) {
                d->failed = true;
                return fl_errorf(errmsg, FL_ELIMIT, "frame: zero length");
            }
            if (d->body_len > d->max) {
                d->failed = true;
                return fl_errorf(errmsg, FL_ELIMIT, "frame: length %zu over the maximum of %zu",
                                 d->body_len, d->max);
            }
            d->body_n = 0;
            continue;
        }
        /* Gathering a body across chunks. */
        if (d->body_cap < d->body_len) {
            fl_free(d->body);
            d->body_cap = 0;
            d->body = fl_malloc(d->body_len);
            if (d->body == NULL) {
                d->failed = true;
                return fl_errorf(errmsg, FL_ENOMEM, "frame: out of memory for %zu bytes",
                                 d->body_len);
            }
            d->body_cap = d->body_len;
        }
        size_t take = d->body_len - d->body_n;
        if (take > *len)
            take = *len;
        memcpy(d->body + d->body_n, *buf, take);
        d->body_n += take;
        *buf += take;
        *len -= take;
        if (d->body_n == d->body_len) {
            *body = d->body;
            *body_len = d->body_len;
            d->hdr_n = 0;
            d->body_n = 0;
            d->body_len = 0;
            return 1;
        }
    }
    return 0;
}

int io_frame_decoder_next(struct io_frame_decoder *d, const unsigned char **buf, size_t *len,
                          json_t **out, char *errmsg)
{
    *out = NULL;
    const unsigned char *body;
    size_t n;
    int rc = io_frame_decoder_next_raw(d, buf, len, &body, &n, errmsg);
    if (rc != 1)
        return rc;
    return parse_body(d, body, n, out, errmsg);
}
