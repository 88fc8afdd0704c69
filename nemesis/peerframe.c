/* peerframe.c - reference-protocol frames from captured TCP streams: bounded, resynchronising. */
#include "nemesis/peerframe.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

static const char *const peer_types[] = {
    "challenge",   "hello",    "append",          "append_result", "vote",
    "vote_result", "snapshot", "snapshot_result", "timeout_now",   NULL};

void nemesis_peerframe_init(struct nemesis_peerframe *d, size_t max_frame)
{
    memset(d, 0, sizeof *d);
    d->max_frame = max_frame ? max_frame : NEMESIS_PEERFRAME_MAX_DEFAULT;
}

void nemesis_peerframe_free(struct nemesis_peerframe *d)
{
    fl_free(d->body);
    d->body = NULL;
}

void nemesis_peerframe_hole(struct nemesis_peerframe *d)
{
    d->holes++;
    d->hlen = d->need = d->have = 0;
    d->resync = true;
    d->nscan = 0;
}

static uint64_t uint_field(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (uint64_t)json_integer_value(v) : 0;
}

static int bool_field(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_true(v) ? 1 : json_is_false(v) ? 0 : -1;
}

void nemesis_peerframe_summarise(const uint8_t *body, size_t len, struct nemesis_peermsg *m)
{
    memset(m, 0, sizeof *m);
    json_error_t jerr;
    json_t *o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(o)) {
        snprintf(m->type, sizeof m->type, "?");
        snprintf(m->detail, sizeof m->detail, "not a JSON object (%zu bytes)", len);
        json_decref(o);
        return;
    }
    json_t *t = json_object_get(o, "type");
    const char *type = json_is_string(t) ? json_string_value(t) : "?";
    snprintf(m->type, sizeof m->type, "%s", type);
    for (char *p = m->type; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
            *p = '?';
    for (size_t i = 0; peer_types[i]; i++)
        m->peer = m->peer || strcmp(type, peer_types[i]) == 0;
    m->from = uint_field(o, "from");
    m->to = uint_field(o, "to");
    m->term = uint_field(o, "term");
    char *d = m->detail;
    size_t cap = sizeof m->detail;
    if (strcmp(type, "append") == 0) {
        json_t *e = json_object_get(o, "entries");
        size_t n = json_is_array(e) ? json_array_size(e) : 0;
        snprintf(d, cap, "prev %llu/%llu n=%zu commit %llu round %llu",
                 (unsigned long long)uint_field(o, "prev_index"),
                 (unsigned long long)uint_field(o, "prev_term"), n,
                 (unsigned long long)uint_field(o, "commit"),
                 (unsigned long long)uint_field(o, "round"));
    } else if (strcmp(type, "append_result") == 0) {
        int ok = bool_field(o, "success");
        snprintf(d, cap, "%s index %llu last %llu round %llu", ok == 1 ? "ok" : "REJECT",
                 (unsigned long long)uint_field(o, "index"),
                 (unsigned long long)uint_field(o, "last_index"),
                 (unsigned long long)uint_field(o, "round"));
    } else if (strcmp(type, "vote") == 0) {
        snprintf(d, cap, "%slast %llu/%llu%s", bool_field(o, "pre") == 1 ? "pre " : "",
                 (unsigned long long)uint_field(o, "last_index"),
                 (unsigned long long)uint_field(o, "last_term"),
                 bool_field(o, "transfer") == 1 ? " transfer" : "");
    } else if (strcmp(type, "vote_result") == 0) {
        snprintf(d, cap, "%s%s", bool_field(o, "pre") == 1 ? "pre " : "",
                 bool_field(o, "granted") == 1 ? "granted" : "refused");
    } else if (strcmp(type, "snapshot") == 0) {
        snprintf(
            d, cap, "index %llu/%llu offset %llu%s", (unsigned long long)uint_field(o, "index"),
            (unsigned long long)uint_field(o, "snap_term"),
            (unsigned long long)uint_field(o, "offset"), bool_field(o, "done") == 1 ? " done" : "");
    } else if (strcmp(type, "snapshot_result") == 0) {
        snprintf(d, cap, "index %llu next %llu%s", (unsigned long long)uint_field(o, "index"),
                 (unsigned long long)uint_field(o, "next_offset"),
                 bool_field(o, "done") == 1 ? " done" : "");
    } else if (strcmp(type, "hello") == 0) {
        json_t *c = json_object_get(o, "cluster");
        snprintf(d, cap, "cluster %.64s", json_is_string(c) ? json_string_value(c) : "?");
    } else if (!m->peer) {
        /* Client protocol: the request or reply id, and the key when there is one. */
        json_t *k = json_object_get(o, "key");
        json_t *e = json_object_get(o, "error");
        snprintf(d, cap, "id %llu%s%.48s%s%.32s", (unsigned long long)uint_field(o, "id"),
                 json_is_string(k) ? " key " : "", json_is_string(k) ? json_string_value(k) : "",
                 json_is_string(e) ? " error " : "", json_is_string(e) ? json_string_value(e) : "");
    }
    for (char *p = d; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
            *p = '?';
    json_decref(o);
}

/* A frame start while resynchronising: a length in 2..max, then '{' '"'. */
static bool plausible(const struct nemesis_peerframe *d, const uint8_t *b)
{
    uint32_t len = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return len >= 2 && len <= d->max_frame && b[4] == '{';
}

int nemesis_peerframe_feed(struct nemesis_peerframe *d, const uint8_t *p, size_t n,
                           nemesis_peerframe_cb cb, void *data)
{
    size_t i = 0;
    while (i < n) {
        if (d->resync) {
            /* Slide a 5-byte window; at a plausible start, hand its 4 header bytes over. */
            if (d->nscan == 5) {
                memmove(d->scan, d->scan + 1, 4);
                d->nscan = 4;
            }
            d->scan[d->nscan++] = p[i++];
            if (d->nscan == 5 && plausible(d, d->scan)) {
                d->resync = false;
                memcpy(d->hdr, d->scan, 4);
                d->hlen = 4;
                d->need = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
                          (uint32_t)d->hdr[2] << 8 | d->hdr[3];
                d->have = 0;
                if (!d->body && !(d->body = fl_malloc(d->max_frame)))
                    return FL_ENOMEM;
                d->body[d->have++] = d->scan[4];
                d->nscan = 0;
            }
            continue;
        }
        if (d->hlen < 4) {
            d->hdr[d->hlen++] = p[i++];
            if (d->hlen < 4)
                continue;
            uint32_t len = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
                           (uint32_t)d->hdr[2] << 8 | d->hdr[3];
            if (len == 0 || len > d->max_frame) {
                d->bad++;
                d->hlen = 0;
                d->resync = true;
                d->nscan = 0;
                continue;
            }
            if (!d->body && !(d->body = fl_malloc(d->max_frame)))
                return FL_ENOMEM;
            d->need = len;
            d->have = 0;
        }
        size_t take = n - i < d->need - d->have ? n - i : d->need - d->have;
        memcpy(d->body + d->have, p + i, take);
        d->have += take;
        i += take;
        if (d->have == d->need) {
            struct nemesis_peermsg m;
            nemesis_peerframe_summarise(d->body, d->need, &m);
            d->hlen = d->need = d->have = 0;
            if (strcmp(m.type, "?") == 0) {
                d->bad++;
                d->resync = true; /* a false start, or not this protocol */
                d->nscan = 0;
            } else {
                d->frames++;
            }
            cb(data, &m);
        }
    }
    return 0;
}
