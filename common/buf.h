/* buf.h - a growable text buffer for building messages, reports and JSON text.
 *
 * Appends never fail loudly: on allocation failure the buffer is marked
 * `oom` and further appends are ignored, so callers check once at the end. */
#ifndef FL_BUF_H
#define FL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fl_buf {
    char *data; /* NUL-terminated when len > 0 or after fl_buf_cstr */
    size_t len;
    size_t cap;
    bool oom;
};

void fl_buf_init(struct fl_buf *b);
void fl_buf_free(struct fl_buf *b);
void fl_buf_reset(struct fl_buf *b);
void fl_buf_append(struct fl_buf *b, const char *s, size_t n);
void fl_buf_puts(struct fl_buf *b, const char *s);
void fl_buf_printf(struct fl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `v` in decimal (as "%" PRIu64, without printf: hot JSON writers). */
void fl_buf_put_u64(struct fl_buf *b, uint64_t v);
/* Writes code point cp (a valid scalar value, below 0x110000) as UTF-8 into out;
 * returns the number of bytes (1 to 4). The one encoder for every reader that
 * decodes \u escapes (EDN, JSON text). */
size_t fl_utf8_encode(uint32_t cp, char out[4]);

/* Returns the contents as a C string ("" when empty); borrowed. */
const char *fl_buf_cstr(struct fl_buf *b);

#endif
