/* test_buf.c - the text buffer, its decimal writer and the one UTF-8 encoder (fl_utf8_encode). */
#include "common/buf.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Each length boundary, against the bytes RFC 3629 gives. */
Test(buf, utf8_encode_boundaries)
{
    static const struct {
        uint32_t cp;
        const char *want;
    } cases[] = {
        {0x24, "\x24"},          {0x7f, "\x7f"},          {0x80, "\xc2\x80"},
        {0x7ff, "\xdf\xbf"},     {0x800, "\xe0\xa0\x80"}, {0x20ac, "\xe2\x82\xac"},
        {0xffff, "\xef\xbf\xbf"}, {0x10000, "\xf0\x90\x80\x80"}, {0x10ffff, "\xf4\x8f\xbf\xbf"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[4];
        size_t n = fl_utf8_encode(cases[i].cp, out);
        cr_assert_eq(n, strlen(cases[i].want), "U+%X: %zu bytes", cases[i].cp, n);
        cr_assert_eq(memcmp(out, cases[i].want, n), 0, "U+%X: bytes", cases[i].cp);
    }
}

Test(buf, put_u64_as_printf)
{
    const uint64_t cases[] = {
        0, 1, 9, 10, 99, 100, 4096, 999999999999999999ULL, 1000000000000000000ULL,
        9223372036854775807ULL, UINT64_MAX,
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fl_buf b;
        char want[32];
        fl_buf_init(&b);
        fl_buf_puts(&b, "x");
        fl_buf_put_u64(&b, cases[i]);
        snprintf(want, sizeof want, "x%" PRIu64, cases[i]);
        cr_assert_str_eq(fl_buf_cstr(&b), want);
        cr_assert_eq(b.len, strlen(want));
        fl_buf_free(&b);
    }
}

Test(buf, appends_and_reset)
{
    struct fl_buf b;
    fl_buf_init(&b);
    fl_buf_puts(&b, "ab");
    fl_buf_printf(&b, "%d", 12);
    cr_assert_str_eq(fl_buf_cstr(&b), "ab12");
    fl_buf_reset(&b);
    cr_assert_str_eq(fl_buf_cstr(&b), "");
    fl_buf_free(&b);
}
