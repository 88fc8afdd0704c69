/* test_edn.c - the EDN reader (common/edn.h): conversion, errors, limits, writer round trips. */
#include "common/alloc.h"
#include "common/edn.h"
#include "common/error.h"
#include "common/history.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse_n(const char *s, size_t len)
{
    char err[FL_ERRMSG_SIZE] = "";
    json_t *v = NULL;
    int rc = fl_edn_parse(s, len, &v, err);
    cr_assert_eq(rc, 0, "parsing <%s>: %s", s, err);
    return v;
}

/* Asserts that EDN text `e` reads as the JSON text `j`. */
static void same(const char *e, const char *j)
{
    json_error_t jerr;
    json_t *want = json_loads(j, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    cr_assert_not_null(want, "bad JSON in test: %s: %s", j, jerr.text);
    json_t *got = parse_n(e, strlen(e));
    char *gs = json_dumps(got, JSON_ENCODE_ANY | JSON_SORT_KEYS);
    cr_assert(json_equal(got, want), "<%s> read as %s, want %s", e, gs, j);
    free(gs);
    json_decref(got);
    json_decref(want);
}

/* Asserts that EDN text `e` reads as a value shown (fl_edn_value_text) as `t`. */
static void shown(const char *e, const char *t)
{
    json_t *got = parse_n(e, strlen(e));
    char *gs = fl_edn_value_text(got);
    cr_assert_not_null(gs);
    cr_assert_str_eq(gs, t, "<%s> shown as %s, want %s", e, gs, t);
    free(gs);
    json_decref(got);
}

/* Asserts that EDN texts a and b read as different values (Clojure's = is false). */
static void differ(const char *a, const char *b)
{
    json_t *x = parse_n(a, strlen(a)), *y = parse_n(b, strlen(b));
    cr_assert(!json_equal(x, y), "<%s> and <%s> read as one value", a, b);
    json_decref(x);
    json_decref(y);
}

/* Asserts that EDN texts a and b read as one value (Clojure's = is true). */
static void alike(const char *a, const char *b)
{
    json_t *x = parse_n(a, strlen(a)), *y = parse_n(b, strlen(b));
    cr_assert(json_equal(x, y), "<%s> and <%s> read as different values", a, b);
    json_decref(x);
    json_decref(y);
}

/* Asserts that EDN text `e` fails with `code` and a message containing `needle`. */
static void fails_n(const char *e, size_t len, int code, const char *needle)
{
    char err[FL_ERRMSG_SIZE] = "";
    json_t *v = (json_t *)1;
    int rc = fl_edn_parse(e, len, &v, err);
    cr_assert_eq(rc, code, "<%s>: rc %d (%s), want %d", e, rc, err, code);
    cr_assert_null(v, "<%s>: *out not NULL after an error", e);
    cr_assert(strstr(err, needle), "<%s>: message \"%s\" lacks \"%s\"", e, err, needle);
}

static void fails(const char *e, int code, const char *needle)
{
    fails_n(e, strlen(e), code, needle);
}

/* ==== Scalars ==== */

Test(edn, scalars_map_to_json)
{
    same("nil", "null");
    same("true", "true");
    same("false", "false");
    same("42", "42");
    same("-7", "-7");
    same("+3", "3");
    same("0", "0");
    same("7N", "7");
    same("1.5", "1.5");
    /* an integral float is tagged (a JSON real holds a fraction): 1.0 is not 1 */
    same("-2e3", "\"\\u0000-2000.0\"");
    fails("1.25M", FL_EUNSUPPORTED, "BigDecimal 1.25M is not supported");
    same("1.", "\"\\u00001.0\"");
    same("1.0", "\"\\u00001.0\"");
    same("1e0", "\"\\u00001.0\"");
    same("-0.0", "\"\\u00000.0\"");
    same("6.02E+23", "\"\\u00006.02e+23\"");
    same("0.10000000000000000001", "0.1"); /* one Double in Clojure too */
    same("0.5e0", "0.5");
}

Test(edn, int64_bounds_are_exact)
{
    same("9223372036854775807", "9223372036854775807");
    same("-9223372036854775808", "-9223372036854775808");
}

/* Beyond int64, an integer is a BigInt: a tagged value equal to every
 * spelling of itself (N or not, + or not) and to nothing else. */
Test(edn, big_integers_are_tagged)
{
    same("9223372036854775808", "\"\\u00009223372036854775808N\"");
    shown("-9223372036854775809", "-9223372036854775809N");
    shown("[1 +99999999999999999999N]", "[1 99999999999999999999N]");
    differ("99999999999999999999", "\"99999999999999999999N\"");
    differ("99999999999999999999", "99999999999999999998");
    alike("99999999999999999999", "+99999999999999999999N");
    alike("7N", "7");
    char longest[600];
    memset(longest, '7', 520);
    longest[520] = '\0';
    fails(longest,
          FL_ELIMIT, "integer longer than");
}

/* Keywords, symbols and characters are not strings: (= :a "a"), (= 'a "a")
 * and (= \a "a") are false in Clojure, so a read of "a" after a write of :a
 * is not a read of the written value. They read as tagged strings (a NUL,
 * then their EDN text), shown as EDN prints them. */
Test(edn, keywords_symbols_and_chars_are_not_strings)
{
    same(":cas", "\"\\u0000:cas\"");
    shown(":timed-out", ":timed-out");
    shown(":jepsen.history/op", ":jepsen.history/op");
    shown(":a?b*c!", ":a?b*c!");
    same("foo", "\"\\u0000foo\"");
    shown("a.b/c", "a.b/c");
    shown("/", "/");
    shown("-", "-");
    shown("nil?", "nil?");
    same("\\a", "\"\\u0000\\\\a\"");
    shown("\\newline", "\\newline");
    shown("\\space", "\\space");
    shown("\\u0041", "\\A");
    shown("\\o101", "\\A");
    shown("\\u0001", "\\u0001");
    shown("[\\( \\)]", "[\\( \\)]");
    shown("\\é", "\\é");
    differ(":a", "\"a\"");
    differ(":a", "a");
    differ("a", "\"a\"");
    differ("\\a", "\"a\"");
    differ("\\a", ":a");
    differ(":a", "\":a\"");
    differ("[:a 1]", "[\"a\" 1]");
    same("(:a \"a\")", "[\"\\u0000:a\", \"a\"]");
}

Test(edn, names_of_keywords_symbols_and_strings)
{
    const char *s;
    size_t n;
    json_t *v = parse_n(":read", 5);
    cr_assert_eq(fl_edn_name(v, &s, &n), 0);
    cr_assert_eq(n, 4);
    cr_assert(memcmp(s, "read", 4) == 0);
    json_decref(v);
    v = parse_n("cas", 3);
    cr_assert_eq(fl_edn_name(v, &s, &n), 0);
    cr_assert(n == 3 && memcmp(s, "cas", 3) == 0);
    json_decref(v);
    v = parse_n("\"ok\"", 4);
    cr_assert_eq(fl_edn_name(v, &s, &n), 0);
    cr_assert(n == 2 && memcmp(s, "ok", 2) == 0);
    json_decref(v);
    v = parse_n("\\a", 2);
    cr_assert_eq(fl_edn_name(v, &s, &n), -1);
    json_decref(v);
    v = parse_n("99999999999999999999", 20);
    cr_assert_eq(fl_edn_name(v, &s, &n), -1);
    json_decref(v);
}

Test(edn, strings_and_escapes)
{
    same("\"plain\"", "\"plain\"");
    same("\"a\\nb\\tc\\r\\\"q\\\"\\\\\"", "\"a\\nb\\tc\\r\\\"q\\\"\\\\\"");
    same("\"\\b\\f\"", "\"\\b\\f\"");
    same("\"caf\\u00e9\"", "\"caf\\u00e9\"");
    same("\"\\ud83d\\ude00\"", "\"\\ud83d\\ude00\"");
    same("\"\\101\"", "\"A\"");
    same("\"multi\nline\"", "\"multi\\nline\"");
    same("\"ünï\"", "\"\\u00fcn\\u00ef\"");
}

/* ==== Collections ==== */

Test(edn, collections_map_to_arrays_and_objects)
{
    same("[1 2 3]", "[1,2,3]");
    same("(1 (2) [])", "[1,[2],[]]");
    shown("#{:a}", "#{:a}");
    same("#{:a}", "[\"\\u0000#{\", \"\\u0000:a\"]");
    same("{:a 1, \"b\" [2 nil]}", "{\":a\":1,\"b\":[2,null]}");
    same("{}", "{}");
    shown("[[:read :x nil] [:write :y 2]]", "[[:read :x nil] [:write :y 2]]");
    differ("#{1 2}", "[1 2]"); /* (= #{1 2} [1 2]) is false */
    differ("#{}", "[]");
    alike("[1 2]", "(1 2)");   /* (= [1 2] '(1 2)) is true */
}

/* Clojure prints a hash set in hash order: #{2 1} and #{1 2} are one value,
 * and must read as one array or a register of sets is judged not
 * linearizable when it is (case 0202). */
Test(edn, sets_read_in_one_canonical_order)
{
    shown("#{2 1 -3}", "#{-3 1 2}");
    shown("#{1 2 -3}", "#{-3 1 2}");
    alike("#{2 1 -3}", "#{1 -3 2}");
    alike("#{\"b\" :a 3 {:y 2 :x 1}}", "#{{:x 1 :y 2} 3 :a \"b\"}");
    alike("#{[2 1] #{4 3}}", "#{#{3 4} [2 1]}");
    same("[2 1]", "[2,1]"); /* vectors and lists keep their order */
    fails("#{1 2 1}", FL_EPARSE, "duplicate element");
    alike("#{:a \"a\"}", "#{\"a\" :a}"); /* two elements, not one */
}

/* A map's keys stay as distinct as Clojure's: {:a 1}, {"a" 1}, {1 1}, {"1" 1}
 * and {'a 1} are five maps. */
Test(edn, map_keys_keep_their_kind)
{
    same("{:k 1}", "{\":k\":1}");
    same("{\"k\" 1}", "{\"k\":1}");
    same("{1 :one}", "{\"\\u00011\":\"\\u0000:one\"}");
    shown("{1 :one}", "{1 :one}");
    shown("{nil 1, true 2}", "{nil 1, true 2}");
    shown("{[1   2] 3}", "{[1 2] 3}");
    shown("{[1,\n 2] 3}", "{[1 2] 3}");
    shown("{{:b 2 :a 1} 3}", "{{:a 1, :b 2} 3}");
    shown("{sym 1}", "{sym 1}");
    shown("{\":k\" 1}", "{\":k\" 1}");
    differ("{:a 1}", "{\"a\" 1}");
    differ("{1 1}", "{\"1\" 1}");
    differ("{sym 1}", "{\"sym\" 1}");
    differ("{sym 1}", "{:sym 1}");
    differ("{nil 1}", "{:nil 1}");
    differ("{:k 1}", "{\":k\" 1}");
    same("{:a 1 \"a\" 2}", "{\":a\":1,\"a\":2}");
    const char *three = "{1 1 \"1\" 2 :x 3}";
    json_t *m = parse_n(three, strlen(three));
    cr_assert_eq(json_object_size(m), 3);
    json_decref(m);
}

Test(edn, commas_are_whitespace)
{
    same("[1,2,,3 ,]", "[1,2,3]");
    shown(",,,:x,,", ":x");
}

Test(edn, comments_are_skipped)
{
    same("; leading\n[1 ; one\n 2] ; trailing", "[1,2]");
    same("#!shebang\n5", "5");
}

Test(edn, discard_drops_the_next_form)
{
    same("[1 #_ 2 3]", "[1,3]");
    same("[1 #_ #_ 2 3 4]", "[1,4]");
    same("{:a #_ :b 1}", "{\":a\":1}");
    same("#_ [nested {:x (1 2)}] 9", "9");
    fails("[1 #_]", FL_EPARSE, "#_ with no form");
    fails("#_ [1", FL_EPARSE, "unterminated vector");
}

Test(edn, tagged_literals)
{
    /* an instant, shown as Clojure prints a Date; one instant is one value */
    shown("#inst \"2015-01-01T00:00:00Z\"", "#inst \"2015-01-01T00:00:00.000-00:00\"");
    differ("#inst \"2015-01-01T00:00:00Z\"", "\"2015-01-01T00:00:00Z\"");
    alike("#inst \"2015-01-01T00:00:00Z\"", "#inst \"2015-01-01T00:00:00.000-00:00\"");
    alike("#inst \"2015-01-01T00:00:00Z\"", "#inst \"2015-01-01T01:00:00+01:00\"");
    alike("#inst \"2015-01-01T00:00:00Z\"", "#inst \"2014-12-31T23:30:00-00:30\"");
    alike("#inst \"2015-01-01T00:00:00Z\"", "#inst \"2015\"");
    alike("#inst \"2015-03-01T00:00:00.5Z\"", "#inst \"2015-02-28T23:00:00.5009-01:00\"");
    alike("#inst \"2016-02-29T23:59:60Z\"", "#inst \"2016-03-01\"");
    differ("#inst \"2015-01-01T00:00:00Z\"", "#inst \"2015-01-01T00:00:00.001Z\"");
    differ("#inst \"2015-01-01T00:00:00Z\"", "#inst \"2015-01-01T00:00:00+01:00\"");
    fails("#inst \"2015-02-29\"", FL_EPARSE, "is not a timestamp");
    fails("#inst \"2015-01-01 00:00\"", FL_EPARSE, "is not a timestamp");
    fails("#inst \"2015-01-01T24:00\"", FL_EPARSE, "is not a timestamp");
    fails("#inst \"15-01-01\"", FL_EPARSE, "is not a timestamp");
    fails("#inst \"0000-01-01T00:00:00+00:01\"", FL_EPARSE, "is not a timestamp");
    shown("#uuid \"F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6\"",
          "#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"");
    differ("#uuid \"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"",
           "\"f81d4fae-7dec-11d0-a765-00a0c91e6bf6\"");
    shown("#jepsen.history.Op{:index 0, :type :invoke}", "{:index 0, :type :invoke}");
    fails("#foo 1", FL_EUNSUPPORTED, "tagged literal #foo is not supported");
    fails("#inst 5", FL_EPARSE, "#inst must be followed by a string");
    fails("##Inf", FL_EUNSUPPORTED, "symbolic values");
    fails("#\"re\"", FL_EUNSUPPORTED, "Clojure reader syntax");
    fails("#", FL_EPARSE, "'#' at the end");
}

/* ==== Errors ==== */

Test(edn, errors_name_line_and_column)
{
    fails("[1 2", FL_EPARSE, "line 1: column 5: unterminated vector opened at line 1 column 1");
    fails(
        "[1\n2\n\"x\ny\"\n)", FL_EPARSE,
        "line 5: column 1: expected ']' to close the vector opened at line 1 column 1, found ')'");
    fails("(1 2]", FL_EPARSE, "expected ')' to close the list");
    fails("  )", FL_EPARSE, "line 1: column 3: unexpected ')' with no matching opener");
    fails("{:a 1 :b}", FL_EPARSE,
          "line 1: column 7: map opened at line 1 column 1 has a key "
          "without a value");
    fails("{:a 1 :a 2}", FL_EPARSE, "duplicate map key \":a\"");
    fails("\"abc", FL_EPARSE, "unterminated string starting at line 1 column 1");
    fails("\"ab\\", FL_EPARSE, "unterminated string");
    fails("\"\\q\"", FL_EPARSE, "unsupported escape \\q");
    fails("\"\\u12\"", FL_EPARSE, "four hex digits");
    fails("\"\\ud800x\"", FL_EPARSE, "high surrogate");
    fails("\"\\udc00\"", FL_EPARSE, "lone low surrogate");
    fails("", FL_EPARSE, "line 1: column 1: unexpected end of input");
    fails("  ; only a comment\n", FL_EPARSE, "line 2: column 1: unexpected end of input");
    fails("1 2", FL_EPARSE, "line 1: column 3: unexpected data after the value");
}

Test(edn, clojure_only_syntax_is_rejected)
{
    fails("1/2", FL_EUNSUPPORTED, "ratio 1/2");
    fails("0x10", FL_EUNSUPPORTED, "radix integer");
    fails("2r101", FL_EUNSUPPORTED, "radix integer");
    fails("012", FL_EPARSE, "leading zero");
    fails("@x", FL_EPARSE, "unexpected character '@'");
    fails("::foo", FL_EPARSE, "auto-resolved keywords");
    fails(":", FL_EPARSE, "invalid keyword");
    fails("1e", FL_EPARSE, "invalid number 1e");
    fails("1.5.5", FL_EPARSE, "invalid number");
    fails("1e999", FL_ELIMIT, "out of range");
    fails("\\bogus", FL_EPARSE, "unsupported character literal \\bogus");
    fails("\\", FL_EPARSE, "backslash at the end");
}

Test(edn, nul_characters_are_rejected)
{
    /* As in JSONL (jansson's default): a NUL would cut names such as `f` short. */
    fails("\"a\\u0000b\"", FL_EPARSE, "line 1: column 1: string contains a NUL character");
    fails("\"\\0\"", FL_EPARSE, "NUL");
    fails_n("\"a\0\"", 4, FL_EPARSE, "NUL");
    fails("\\u0000", FL_EPARSE, "character literal is NUL");
    fails("\\o0", FL_EPARSE, "character literal is NUL");
    fails_n("\\\0", 2, FL_EPARSE, "character literal is NUL");
}

Test(edn, invalid_utf8_is_rejected)
{
    fails("\"\xff\"", FL_EPARSE, "not valid UTF-8");
    fails("\"\xc0\x80\"", FL_EPARSE, "not valid UTF-8");     /* overlong NUL */
    fails("\"\xed\xa0\x80\"", FL_EPARSE, "not valid UTF-8"); /* encoded surrogate */
    fails("ab\xfe", FL_EPARSE, "invalid symbol");
    fails_n("[1 \0]", 5, FL_EPARSE, "invalid");
}

Test(edn, nesting_is_bounded)
{
    char buf[2 * (FL_HISTORY_MAX_DEPTH + 1) + 1];
    for (int d = FL_HISTORY_MAX_DEPTH; d <= FL_HISTORY_MAX_DEPTH + 1; d++) {
        memset(buf, '[', (size_t)d);
        memset(buf + d, ']', (size_t)d);
        buf[2 * d] = '\0';
        char err[FL_ERRMSG_SIZE] = "";
        json_t *v = NULL;
        int rc = fl_edn_parse(buf, (size_t)(2 * d), &v, err);
        if (d <= FL_HISTORY_MAX_DEPTH) {
            cr_assert_eq(rc, 0, "depth %d: %s", d, err);
            json_decref(v);
        } else {
            cr_assert_eq(rc, FL_ELIMIT);
            cr_assert(strstr(err, "nested deeper than 64 levels"), "%s", err);
        }
    }
    /* Chains of discards and tags count as nesting too: no unbounded recursion. */
    char deep[4 * 1000 + 2];
    for (int i = 0; i < 1000; i++)
        memcpy(deep + 2 * i, "#_", 2);
    strcpy(deep + 2000, "1");
    fails(deep, FL_ELIMIT, "nested deeper");
}

Test(edn, reader_streams_forms_with_lines)
{
    const char *text = "; header\n{:a 1}\n\n  [2\n 3] :k";
    struct fl_edn_reader rd;
    char err[FL_ERRMSG_SIZE];
    json_t *v;
    fl_edn_reader_init(&rd, text, strlen(text));
    cr_assert_eq(fl_edn_skip(&rd, err), 1);
    cr_assert_eq(rd.line, 2);
    cr_assert_eq(fl_edn_read(&rd, &v, err), 0);
    json_decref(v);
    cr_assert_eq(fl_edn_skip(&rd, err), 1);
    cr_assert_eq(rd.line, 4);
    cr_assert_eq(fl_edn_read(&rd, &v, err), 0);
    json_decref(v);
    cr_assert_eq(rd.line, 5);
    cr_assert_eq(fl_edn_read(&rd, &v, err), 0);
    cr_assert_str_eq(json_string_value(v) + 1, ":k");
    json_decref(v);
    cr_assert_eq(fl_edn_skip(&rd, err), 0);
    cr_assert_eq(fl_edn_read(&rd, &v, err), FL_EPARSE);
}

/* ==== Writer ==== */

static void round_trip(const char *j)
{
    json_t *v = json_loads(j, JSON_DECODE_ANY, NULL);
    cr_assert_not_null(v, "bad JSON in test: %s", j);
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    cr_assert_eq(fl_edn_write_value(fp, v, FL_HISTORY_MAX_DEPTH), 0, "%s", j);
    fclose(fp);
    json_t *back = parse_n(text, len);
    cr_assert(json_equal(v, back), "%s wrote <%s> which reads differently", j, text);
    json_decref(back);
    json_decref(v);
    free(text);
}

/* EDN's own values (keywords, symbols, chars, sets, big integers, maps
 * keyed by anything) are written as EDN that reads back as the same value. */
Test(edn, writer_round_trips_edn_values)
{
    const char *texts[] = {
        "[:a a \\a \"a\" #{1 :b} 99999999999999999999N \\newline \\u0001]",
        "{:a 1, \"a\" 2, 1 3, \"1\" 4, nil 5, sym 6, [1 #{2}] 7, {:x 1} 8, \":a\" 9, \\c 10}",
        "#inst \"2015-01-01T00:00:00Z\"",
        "{#{} #{}}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *v = parse_n(texts[i], strlen(texts[i]));
        char *text = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&text, &len);
        cr_assert_eq(fl_edn_write_value(fp, v, FL_HISTORY_MAX_DEPTH), 0, "%s", texts[i]);
        fclose(fp);
        json_t *back = parse_n(text, len);
        cr_assert(json_equal(v, back), "<%s> wrote <%s> which reads differently", texts[i], text);
        json_decref(back);
        json_decref(v);
        free(text);
    }
}

Test(edn, writer_round_trips_json)
{
    round_trip("null");
    round_trip("[true, false, 0, -1, 9223372036854775807, -9223372036854775808]");
    /* integral reals are not made by the readers (EDN tags them, JSONL makes integers) */
    round_trip("[0.1, 0.5, -0.25, 5e-324, 123456.789, 1.5e-16]");
    round_trip("[\"\", \"a b\", \"q\\\"\\\\\", \"\\n\\t\\r\\b\\f\\u0001\\u007f\", "
               "\"\\u00e9\\ud83d\\ude00\"]");
    round_trip("{\"a\": 1, \"with space\": 2, \"1a\": 3, \"-1\": 4, \"\": 5, \"a/b\": 6, "
               "\"x:y\": 7, \"n1\": [\"n2\", \"n3\"], \"nil\": null}");
    round_trip("[[\"read\", \"x\", null], {\"nested\": {\"deeper\": [[[]]]}}]");
    round_trip("\"#_ ; not a comment\"");
}

Test(edn, writer_output_is_plain_edn)
{
    json_t *v = json_loads("{\"k\": [1, \"s\", null, 2.5], \"not a kw\": true}", 0, NULL);
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    cr_assert_eq(fl_edn_write_value(fp, v, 8), 0);
    fclose(fp);
    cr_assert_str_eq(text, "{\"k\" [1 \"s\" nil 2.5], \"not a kw\" true}");
    free(text);
    json_decref(v);
}

Test(edn, writer_refuses_values_deeper_than_asked)
{
    json_t *v = json_loads("[[[1]]]", 0, NULL);
    FILE *fp = fopen("/dev/null", "w");
    cr_assert_eq(fl_edn_write_value(fp, v, 3), 0);
    cr_assert_eq(fl_edn_write_value(fp, v, 2), FL_ELIMIT);
    fclose(fp);
    json_decref(v);
}

Test(edn, keyword_names)
{
    cr_assert(fl_edn_is_keyword_name("cas", 3));
    cr_assert(fl_edn_is_keyword_name("timed-out", 9));
    cr_assert(fl_edn_is_keyword_name("n1", 2));
    cr_assert(fl_edn_is_keyword_name("-x", 2));
    cr_assert(!fl_edn_is_keyword_name("", 0));
    cr_assert(!fl_edn_is_keyword_name("1a", 2));
    cr_assert(!fl_edn_is_keyword_name("-1", 2));
    cr_assert(!fl_edn_is_keyword_name("a b", 3));
    cr_assert(!fl_edn_is_keyword_name("a/b", 3));
    cr_assert(!fl_edn_is_keyword_name("a:", 2));
    cr_assert(!fl_edn_is_keyword_name("\xc3\xa9", 2));
}

/* ==== Robustness ==== */

Test(edn, allocation_failures_are_reported_not_crashed_on)
{
    const char *text = "[{:a \"long string with \\n escape\" :b [1 2 #{3}]} \\newline "
                       "{[1 2] \"x\"} \"\\u00e9\"]";
    int saw_ok = 0;
    for (long n = 0; n < 200 && !saw_ok; n++) {
        char err[FL_ERRMSG_SIZE] = "";
        json_t *v = NULL;
        fl_alloc_fail_after(n);
        int rc = fl_edn_parse(text, strlen(text), &v, err);
        fl_alloc_fail_reset();
        if (rc == 0) {
            saw_ok = 1;
            json_decref(v);
        } else {
            cr_assert_eq(rc, FL_ENOMEM, "n=%ld: rc %d: %s", n, rc, err);
            cr_assert(strstr(err, "out of memory"), "%s", err);
        }
    }
    cr_assert(saw_ok);
}

/* A cheap deterministic fuzz pass over token soup; the real fuzzer is
 * tests/fuzz/fuzz_edn.c. Only checks: no crash, and result xor message. */
Test(edn, token_soup_never_crashes)
{
    static const char *const toks[] = {
        "[",    "]",
        "(",    ")",
        "{",    "}",
        "#{",   "#_",
        "\"",   "\\",
        ";",    "\n",
        " ",    ",",
        ":a",   "1",
        "-",    "1.5e",
        "nil",  "#inst",
        "#a.B", "\\u",
        "\xff", "\"s\\",
        "::",   "9223372036854775808",
    };
    unsigned long long s = 42;
    char buf[256];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        int ntok = 1 + (int)((s >> 33) % 24);
        for (int t = 0; t < ntok; t++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *tok = toks[(s >> 33) % (sizeof toks / sizeof toks[0])];
            size_t tl = strlen(tok);
            if (len + tl >= sizeof buf)
                break;
            memcpy(buf + len, tok, tl);
            len += tl;
        }
        char err[FL_ERRMSG_SIZE] = "";
        json_t *v = NULL;
        int rc = fl_edn_parse(buf, len, &v, err);
        if (rc == 0) {
            cr_assert_not_null(v);
            json_decref(v);
        } else {
            cr_assert_null(v);
            cr_assert(strncmp(err, "line ", 5) == 0, "message without a position: %s", err);
        }
    }
}
