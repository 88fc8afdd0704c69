/* test_jscan.c - the strict hand-written JSON scanner (node/io/jscan.h): what it takes reads as
 * jansson reads it; everything else is given up. */
#include "node/io/jscan.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_1E18 999999999999999999ull  /* the client requests' bound: 18 digits */
#define MAX_I64  9223372036854775807ull /* the peer codec's and the state's: 2^63-1 */

/* The scanner over exactly the bytes of `text` (no NUL after them: a read
 * past the end is a read out of bounds, which the ASan build catches). */
struct owned {
    struct jscan s;
    char *copy;
};

static struct owned scan(const char *text)
{
    size_t n = strlen(text);
    struct owned o = {.copy = malloc(n ? n : 1)};
    cr_assert_not_null(o.copy);
    memcpy(o.copy, text, n);
    jscan_init(&o.s, o.copy, n);
    return o;
}

/* jscan_u64 over the whole of `text`: 1 with *v, or 0. */
static int u64_of(const char *text, uint64_t max, uint64_t *v)
{
    struct owned o = scan(text);
    int ok = jscan_u64(&o.s, max, v) && o.s.p == o.s.end;
    free(o.copy);
    return ok;
}

/* What jansson makes of a number: 1 with an integer in *v, 0 for a real or a refusal. */
static int jansson_int(const char *text, uint64_t *v)
{
    char doc[128];
    snprintf(doc, sizeof doc, "[%s]", text);
    json_error_t e;
    json_t *a = json_loads(doc, 0, &e);
    json_t *x = json_array_get(a, 0);
    int ok = json_is_integer(x) && json_integer_value(x) >= 0;
    if (ok)
        *v = (uint64_t)json_integer_value(x);
    json_decref(a);
    return ok;
}

Test(jscan, integers_taken_are_jansson_integers_and_the_rest_is_given_up)
{
    const struct {
        const char *text;
        uint64_t max;
        int ok;
    } cases[] = {
        {"0", MAX_I64, 1},
        {"7", MAX_I64, 1},
        {"1234567890", MAX_I64, 1},
        {"9223372036854775807", MAX_I64, 1},  /* 2^63-1: the bound itself */
        {"9223372036854775808", MAX_I64, 0},  /* one past it */
        {"18446744073709551615", MAX_I64, 0}, /* 2^64-1 */
        {"18446744073709551616", MAX_I64, 0}, /* would wrap in 64 bits */
        {"99999999999999999999999", MAX_I64, 0},
        {"999999999999999999", MAX_1E18, 1},  /* 18 digits */
        {"1000000000000000000", MAX_1E18, 0}, /* 10^18: 19 digits */
        {"1000000000000000000", MAX_I64, 1},
        {"5", 5, 1},
        {"6", 5, 0},
        {"50", 5, 0},
        {"00", MAX_I64, 0}, /* leading zeros: jansson refuses them */
        {"01", MAX_I64, 0},
        {"0000000000000000001", MAX_1E18, 0},
        {"-0", MAX_I64, 0}, /* signs: jansson reads -0 as 0, but it is not our form */
        {"-1", MAX_I64, 0},
        {"+1", MAX_I64, 0},
        {"1.0", MAX_I64, 0}, /* fraction and exponent: jansson makes a real */
        {"1e3", MAX_I64, 0},
        {"1E3", MAX_I64, 0},
        {"0e0", MAX_I64, 0},
        {"1.", MAX_I64, 0},
        {"", MAX_I64, 0},   /* truncated: no digit */
        {" 1", MAX_I64, 0}, /* at the cursor: whitespace is the key loop's */
        {"\"1\"", MAX_I64, 0},
        {"true", MAX_I64, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t v = 42, j;
        int ok = u64_of(cases[i].text, cases[i].max, &v);
        cr_assert_eq(ok, cases[i].ok, "%s (max %llu): %s", cases[i].text,
                     (unsigned long long)cases[i].max, ok ? "taken" : "given up");
        if (ok) {
            cr_assert(jansson_int(cases[i].text, &j), "taken, but not an integer for jansson: %s",
                      cases[i].text);
            cr_assert_eq(v, j, "%s read as %llu", cases[i].text, (unsigned long long)v);
        }
    }
}

Test(jscan, an_integer_stops_at_its_last_digit)
{
    struct owned o = scan("123,4");
    uint64_t v;
    cr_assert(jscan_u64(&o.s, MAX_I64, &v));
    cr_assert_eq(v, 123);
    cr_assert(jscan_ch(&o.s, ','));
    cr_assert(jscan_u64(&o.s, MAX_I64, &v));
    cr_assert_eq(v, 4);
    cr_assert(jscan_done(&o.s));
    free(o.copy);
}

/* jscan_str over the whole of `text`. */
static int str_of(const char *text, const char **s, size_t *n)
{
    struct owned o = scan(text);
    int ok = jscan_str(&o.s, s, n) && o.s.p == o.s.end;
    free(o.copy);
    return ok;
}

Test(jscan, strings_are_printable_ascii_without_escapes)
{
    const char *s;
    size_t n;
    struct owned o = scan("\"append_result\"");
    cr_assert(jscan_str(&o.s, &s, &n));
    cr_assert(jscan_is(s, n, "append_result"));
    cr_assert(!jscan_is(s, n, "append"));
    cr_assert(!jscan_is(s, n, "append_result_"));
    cr_assert_eq(o.s.p, o.s.end);
    free(o.copy);
    cr_assert(str_of("\"\"", &s, &n));
    cr_assert_eq(n, 0);
    cr_assert(str_of("\" ~!#$%&'()*+,-./:;<=>?@[]^_`{|}\"", &s, &n));
    const char *no[] = {
        "\"a\\\"b\"", /* escapes: jansson's to decode */
        "\"a\\nb\"",    "\"\\u0041\"",
        "\"\\\\\"",     "\"tab\there\"",   /* control bytes */
        "\"nl\nhere\"", "\"caf\xc3\xa9\"", /* non-ASCII */
        "\"del\x7f\"",  "\"open",          /* truncated */
        "\"",           "",
        "abc",    /* not a string */
        " \"a\"", /* at the cursor: no whitespace */
    };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        cr_assert(!str_of(no[i], &s, &n), "taken: %s", no[i]);
}

Test(jscan, booleans_literals_and_characters)
{
    bool b = false;
    struct owned o = scan("true false nul");
    cr_assert(jscan_bool(&o.s, &b));
    cr_assert(b);
    jscan_ws(&o.s);
    cr_assert(jscan_bool(&o.s, &b));
    cr_assert(!b);
    jscan_ws(&o.s);
    cr_assert(!jscan_bool(&o.s, &b), "null (truncated) is no boolean");
    free(o.copy);
    o = scan("tru");
    cr_assert(!jscan_bool(&o.s, &b), "truncated true");
    free(o.copy);

    o = scan("{\"t\":\"command\",\"time\": 5");
    cr_assert(jscan_lit(&o.s, "{\"t\":\"command\",\"time\":"));
    cr_assert(!jscan_lit(&o.s, "5"), "a literal takes no whitespace");
    cr_assert(!jscan_lit(&o.s, " 5 and more"), "a literal past the end");
    cr_assert(jscan_lit(&o.s, " 5"));
    cr_assert_eq(o.s.p, o.s.end);
    free(o.copy);

    o = scan(" \t\r\n: ");
    cr_assert(!jscan_ch(&o.s, ','));
    cr_assert(jscan_ch(&o.s, ':'));
    cr_assert(!jscan_ch(&o.s, ':'), "the end");
    cr_assert(jscan_done(&o.s));
    free(o.copy);
    o = scan(" x");
    cr_assert(!jscan_done(&o.s));
    free(o.copy);
}

enum { F_TYPE, F_ID, F_OP, N_F };
static const char *const names[N_F] = {"type", "id", "op"};

/* Reads `text` as an object of names[] keys with integer values; returns the
 * keys' indexes in order in got[] (at most 8) and their count, or -1 when
 * given up. */
static int fields(const char *text, int *got, uint64_t *vals)
{
    struct owned o = scan(text);
    struct jscan_obj obj = {0};
    int key, n = 0;
    while ((key = jscan_field(&o.s, &obj, names, N_F)) >= 0) {
        if (n == 8 || !jscan_u64(&o.s, MAX_I64, &vals[n]))
            break;
        got[n++] = key;
    }
    bool done = key == JSCAN_END && jscan_done(&o.s);
    free(o.copy);
    if (!done)
        return -1;
    cr_assert_eq((int)obj.n, n);
    return n;
}

Test(jscan, objects_are_read_key_by_key_with_whitespace_anywhere_between_tokens)
{
    int got[8];
    uint64_t v[8];
    cr_assert_eq(fields("{\"type\":1,\"id\":2,\"op\":3}", got, v), 3);
    cr_assert(got[0] == F_TYPE && got[1] == F_ID && got[2] == F_OP);
    cr_assert(v[0] == 1 && v[1] == 2 && v[2] == 3);
    cr_assert_eq(fields(" \n{ \"op\" :\t7 ,\r\n\"type\" : 8 } \n", got, v), 2);
    cr_assert(got[0] == F_OP && got[1] == F_TYPE && v[0] == 7 && v[1] == 8);
    cr_assert_eq(fields("{}", got, v), 0, "an empty object: its caller's to judge");
    cr_assert_eq(fields(" { } ", got, v), 0);
}

Test(jscan, duplicate_unknown_and_malformed_keys_are_given_up)
{
    int got[8];
    uint64_t v[8];
    const char *no[] = {
        "{\"id\":1,\"id\":1}", /* duplicates: jansson (JSON_REJECT_DUPLICATES) refuses them */
        "{\"type\":1,\"id\":2,\"type\":3}",
        "{\"name\":1}", /* not in the table */
        "{\"ids\":1}",
        "{\"i\":1}",
        "{\"\":1}",
        "{\"i\\u0064\":1}", /* an escaped key, even one that decodes to a name */
        "{\"id\":1,}",      /* trailing comma */
        "{,\"id\":1}",
        "{\"id\":1 \"op\":2}", /* missing comma */
        "{\"id\" 1}",          /* missing colon */
        "{id:1}",
        "[\"id\",1]",  /* not an object */
        "{\"id\":1}}", /* trailing data */
        "{\"id\":1} x",
    };
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        cr_assert_eq(fields(no[i], got, v), -1, "taken: %s", no[i]);
}

Test(jscan, every_truncation_of_an_object_is_given_up)
{
    const char *full = " { \"type\" : 1 , \"id\" : 22 , \"op\" : 333 } ";
    int got[8];
    uint64_t v[8];
    cr_assert_eq(fields(full, got, v), 3);
    char cut[64];
    /* Up to the closing brace every prefix is short of the object (a prefix
     * ending inside a number reads a smaller one but never finds the brace). */
    size_t brace = (size_t)(strrchr(full, '}') - full);
    for (size_t n = 0; n <= brace; n++) {
        memcpy(cut, full, n);
        cut[n] = '\0';
        cr_assert_eq(fields(cut, got, v), -1, "taken: %s", cut);
    }
}

Test(jscan, jscan_key_returns_any_plain_key_and_counts_them)
{
    struct owned o = scan("{\"a b\":1,\"a b\":2}");
    struct jscan_obj obj = {0};
    const char *k;
    size_t kn;
    uint64_t v;
    cr_assert_eq(jscan_key(&o.s, &obj, &k, &kn), 0);
    cr_assert(jscan_is(k, kn, "a b"));
    cr_assert(jscan_u64(&o.s, MAX_I64, &v));
    cr_assert_eq(jscan_key(&o.s, &obj, &k, &kn), 0, "repeats are the caller's to find");
    cr_assert(jscan_is(k, kn, "a b"));
    cr_assert(jscan_u64(&o.s, MAX_I64, &v));
    cr_assert_eq(v, 2);
    cr_assert_eq(jscan_key(&o.s, &obj, &k, &kn), JSCAN_END);
    cr_assert_eq(obj.n, 2);
    free(o.copy);
}
