/* history_jsonl_write.c - one event as a JSONL line: written as text for the plain shapes a
 * run records, through a jansson object for everything else.
 *
 * The run writes two lines per operation; building a json_t object per event
 * and dumping it was a fifth of the harness's CPU at 128 clients. The text
 * path writes the same bytes as the jansson path (fl__history_jsonl_format_jansson:
 * the object of fl_event_to_json dumped with JSON_COMPACT | JSON_PRESERVE_ORDER),
 * field by field in that order; what it does not write itself it leaves to jansson
 * (containers and reals through json_dump_callback, whole events holding EDN tags,
 * kept as "\u0000:a", or a non-ASCII name through the jansson path). test_history_write compares the two
 * paths byte for byte and fuzz_jsonl/fuzz_edn/fuzz_jepsenlog over every event read. */
#include "common/edn.h"
#include "common/error.h"
#include "common/history.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* ==== The jansson path (the reference) ==== */

static int buf_dump_cb(const char *text, size_t n, void *data)
{
    fl_buf_append(data, text, n);
    return 0;
}

int fl__history_jsonl_format_jansson(struct fl_buf *b, const struct fl_event *ev)
{
    /* JSON has no keywords: EDN's tagged values go out as they are held,
     * "\u0000:a" (common/jsonl_value.h), which the JSONL reader takes back as
     * :a, apart from the string ":a" (their EDN text merged the two) */
    json_t *o = fl_event_to_json(ev);
    if (!o)
        return FL_ENOMEM;
    int rc = json_dump_callback(o, buf_dump_cb, b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (rc != 0)
        return -EIO;
    fl_buf_append(b, "\n", 1);
    return b->oom ? FL_ENOMEM : 0;
}

/* ==== The text path ==== */

/* Appends s[0..n) as a JSON string as jansson dumps it (no JSON_ENSURE_ASCII, no
 * JSON_ESCAPE_SLASH): '"', '\\' and control characters escaped, \u00XX in upper
 * case for those without a short form. ASCII only: returns false at a byte past
 * 0x7F (the caller leaves the value to jansson, which also checks the UTF-8). */
static bool put_ascii_string(struct fl_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    fl_buf_append(b, "\"", 1);
    size_t run = 0; /* start of the bytes not yet appended */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            return false;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        fl_buf_append(b, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            len = 6;
        }
        fl_buf_append(b, esc, len);
    }
    fl_buf_append(b, s + run, n - run);
    fl_buf_append(b, "\"", 1);
    return true;
}

/* Appends v as "%" PRId64 (jansson's JSON_INTEGER_FORMAT for a long long). */
static void put_int(struct fl_buf *b, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[--i] = '-';
    fl_buf_append(b, tmp + i, sizeof tmp - i);
}

/* Appends a value holding no EDN tag: scalars here, the rest (and strings past
 * ASCII) as jansson dumps them nested in the event (same flags). */
static bool put_value(struct fl_buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        fl_buf_append(b, "null", 4);
        return true;
    case JSON_TRUE:
        fl_buf_append(b, "true", 4);
        return true;
    case JSON_FALSE:
        fl_buf_append(b, "false", 5);
        return true;
    case JSON_INTEGER:
        put_int(b, (int64_t)json_integer_value(v));
        return true;
    case JSON_STRING: {
        size_t at = b->len;
        if (put_ascii_string(b, json_string_value(v), json_string_length(v)))
            return true;
        b->len = at;
        break;
    }
    default:
        break;
    }
    return json_dump_callback(v, buf_dump_cb, b,
                              JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) == 0;
}

/* A "name" field of the event (f, node, consistency). */
static bool put_field_str(struct fl_buf *b, const char *name, const char *s)
{
    fl_buf_puts(b, name);
    return put_ascii_string(b, s, strlen(s));
}

static bool put_field_value(struct fl_buf *b, const char *name, const json_t *v)
{
    fl_buf_puts(b, name);
    return put_value(b, v);
}

int fl__history_jsonl_format(struct fl_buf *b, const struct fl_event *ev)
{
    const json_t *vals[4] = {ev->key, ev->value, ev->session, ev->error};
    for (int i = 0; i < 4; i++)
        if (vals[i] != NULL && fl_edn_has_tags(vals[i]))
            return 0; /* tagged values ("\u0000:a"): the jansson path */
    size_t at = b->len;
    bool ok = true;
    fl_buf_append(b, "{", 1);
    const char *sep = "";
    if (ev->index >= 0) {
        fl_buf_puts(b, "\"index\":");
        put_int(b, ev->index);
        sep = ",";
    }
    if (ev->time >= 0) {
        fl_buf_puts(b, sep);
        fl_buf_puts(b, "\"time\":");
        put_int(b, ev->time);
        sep = ",";
    }
    fl_buf_puts(b, sep);
    fl_buf_puts(b, "\"process\":");
    if (ev->process == FL_PROCESS_NEMESIS)
        fl_buf_puts(b, "\"nemesis\"");
    else if (ev->process == FL_PROCESS_NODE)
        fl_buf_puts(b, "\"node\"");
    else
        put_int(b, ev->process);
    fl_buf_puts(b, ",\"type\":\"");
    fl_buf_puts(b, fl_event_type_name(ev->type));
    fl_buf_puts(b, "\"");
    ok = ok && put_field_str(b, ",\"f\":", ev->f ? ev->f : "");
    if (ok && ev->key)
        ok = put_field_value(b, ",\"key\":", ev->key);
    if (ok && ev->value)
        ok = put_field_value(b, ",\"value\":", ev->value);
    if (ok && ev->node)
        ok = put_field_str(b, ",\"node\":", ev->node);
    if (ok && ev->consistency)
        ok = put_field_str(b, ",\"consistency\":", ev->consistency);
    if (ok && ev->session)
        ok = put_field_value(b, ",\"session\":", ev->session);
    if (ok && ev->latency >= 0) {
        fl_buf_puts(b, ",\"latency\":");
        put_int(b, ev->latency);
    }
    if (ok && ev->error)
        ok = put_field_value(b, ",\"error\":", ev->error);
    fl_buf_append(b, "}\n", 2);
    if (b->oom)
        return FL_ENOMEM;
    if (!ok) {
        b->len = at; /* a name past ASCII or a value jansson refused: the jansson path */
        return 0;
    }
    return 1;
}
