/* test_peerframe.c - captured frames: split reads, summaries, bounds, resynchronisation, and the
 * TCP reader over hand-made packets (retransmission, hole, reset, a stream that is not ours). */
#include "nemesis/capread.h"
#include "nemesis/peerframe.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

struct seen {
    struct nemesis_peermsg m[16];
    size_t n;
};

static void on_msg(void *data, const struct nemesis_peermsg *m)
{
    struct seen *s = data;
    if (s->n < 16)
        s->m[s->n++] = *m;
}

static size_t frame(uint8_t *out, const char *json)
{
    size_t n = strlen(json);
    out[0] = (uint8_t)(n >> 24);
    out[1] = (uint8_t)(n >> 16);
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    memcpy(out + 4, json, n);
    return n + 4;
}

#define APPEND                                                                                     \
    "{\"type\":\"append\",\"from\":1,\"to\":2,\"term\":3,\"prev_index\":12,\"prev_term\":2,"       \
    "\"commit\":11,\"round\":7,\"leader\":1,\"entries\":[{\"term\":3,\"type\":\"noop\"}]}"
#define VOTE_RESULT "{\"type\":\"vote_result\",\"from\":3,\"to\":1,\"term\":4,\"granted\":true}"

Test(nemesis_peerframe, frames_split_anywhere_are_decoded_and_summarised)
{
    uint8_t buf[512];
    size_t n = frame(buf, APPEND);
    n += frame(buf + n, VOTE_RESULT);
    for (size_t cut = 0; cut <= n; cut++) {
        struct nemesis_peerframe d;
        struct seen s = {0};
        nemesis_peerframe_init(&d, 0);
        cr_assert_eq(nemesis_peerframe_feed(&d, buf, cut, on_msg, &s), 0);
        cr_assert_eq(nemesis_peerframe_feed(&d, buf + cut, n - cut, on_msg, &s), 0);
        cr_assert_eq(s.n, 2, "cut at %zu", cut);
        cr_assert_str_eq(s.m[0].type, "append");
        cr_assert(s.m[0].peer);
        cr_assert_eq(s.m[0].from, 1);
        cr_assert_eq(s.m[0].to, 2);
        cr_assert_eq(s.m[0].term, 3);
        cr_assert_str_eq(s.m[0].detail, "prev 12/2 n=1 commit 11 round 7");
        cr_assert_str_eq(s.m[1].detail, "granted");
        nemesis_peerframe_free(&d);
    }
}

Test(nemesis_peerframe, a_bad_length_or_a_hole_resynchronises_on_the_next_frame)
{
    uint8_t buf[512];
    size_t n = 0;
    memcpy(buf, "\xff\xff\xff\xffjunk", 8); /* over the maximum */
    n = 8 + frame(buf + 8, VOTE_RESULT);
    struct nemesis_peerframe d;
    struct seen s = {0};
    nemesis_peerframe_init(&d, 4096);
    cr_assert_eq(nemesis_peerframe_feed(&d, buf, n, on_msg, &s), 0);
    cr_assert_eq(d.bad, 1);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.m[0].type, "vote_result");
    /* Half a frame, a hole, then a whole one. */
    size_t m = frame(buf, APPEND);
    cr_assert_eq(nemesis_peerframe_feed(&d, buf, m / 2, on_msg, &s), 0);
    nemesis_peerframe_hole(&d);
    m = frame(buf, APPEND);
    cr_assert_eq(nemesis_peerframe_feed(&d, buf + 10, m - 10, on_msg, &s), 0);
    cr_assert_eq(nemesis_peerframe_feed(&d, buf, m, on_msg, &s), 0);
    cr_assert_eq(s.n, 2, "only the whole frame after the hole");
    cr_assert_str_eq(s.m[1].type, "append");
    nemesis_peerframe_free(&d);
}

Test(nemesis_peerframe, text_from_the_wire_is_kept_printable)
{
    struct nemesis_peermsg m;
    const char *body = "{\"type\":\"x\\n\\\"y\",\"id\":3,\"key\":\"a\\u0001b\"}";
    nemesis_peerframe_summarise((const uint8_t *)body, strlen(body), &m);
    cr_assert(!m.peer);
    for (const char *p = m.type; *p; p++)
        cr_assert((unsigned char)*p >= 0x20 && *p != '"');
    for (const char *p = m.detail; *p; p++)
        cr_assert((unsigned char)*p >= 0x20 && *p != '"');
    nemesis_peerframe_summarise((const uint8_t *)"[1]", 3, &m);
    cr_assert_str_eq(m.type, "?");
}

/* ==== TCP ==== */

struct evs {
    enum nemesis_capev_kind k[32];
    char type[32][24];
    size_t n;
};

static void on_ev(void *data, const struct nemesis_capev *ev)
{
    struct evs *e = data;
    if (e->n < 32) {
        e->k[e->n] = ev->kind;
        snprintf(e->type[e->n], 24, "%s", ev->msg ? ev->msg->type : "");
        e->n++;
    }
}

/* An Ethernet/IPv4/TCP packet from 198.51.100.1:7000 to .2:40000. */
static size_t packet(uint8_t *p, uint32_t seq, uint8_t flags, const uint8_t *data, size_t n)
{
    memset(p, 0, 54);
    p[12] = 0x08;
    p[14] = 0x45;
    size_t tot = 20 + 20 + n;
    p[16] = (uint8_t)(tot >> 8);
    p[17] = (uint8_t)tot;
    p[23] = 6;
    const uint8_t src[4] = {198, 51, 100, 1}, dst[4] = {198, 51, 100, 2};
    memcpy(p + 26, src, 4);
    memcpy(p + 30, dst, 4);
    uint8_t *t = p + 34;
    t[0] = 7000 >> 8;
    t[1] = 7000 & 255;
    t[2] = 40000 >> 8;
    t[3] = 40000 & 255;
    t[4] = (uint8_t)(seq >> 24);
    t[5] = (uint8_t)(seq >> 16);
    t[6] = (uint8_t)(seq >> 8);
    t[7] = (uint8_t)seq;
    t[12] = 5 << 4;
    t[13] = flags;
    if (n)
        memcpy(p + 54, data, n);
    return 54 + n;
}

Test(nemesis_capread, tcp_streams_retransmissions_holes_and_resets)
{
    struct evs e = {0};
    struct nemesis_capread r;
    nemesis_capread_init(&r, 4, 0, on_ev, &e);
    uint8_t pkt[600], f1[300], f2[300];
    size_t n1 = frame(f1, APPEND), n2 = frame(f2, VOTE_RESULT);
    size_t n = packet(pkt, 99, 0x02, NULL, 0); /* SYN */
    cr_assert_eq(nemesis_capread_packet(&r, 1, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB), 0);
    n = packet(pkt, 100, 0x18, f1, 20);
    nemesis_capread_packet(&r, 2, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    nemesis_capread_packet(&r, 3, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB); /* again */
    n = packet(pkt, 120, 0x18, f1 + 20, n1 - 20);
    nemesis_capread_packet(&r, 4, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    /* 50 bytes never captured, then a frame. */
    n = packet(pkt, 100 + (uint32_t)n1 + 50, 0x18, f2, n2);
    nemesis_capread_packet(&r, 5, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    n = packet(pkt, 0, 0x04, NULL, 0);
    nemesis_capread_packet(&r, 6, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    /* Truncated headers are ignored, not read past. */
    nemesis_capread_packet(&r, 7, pkt, 40, 60, NEMESIS_CAPREAD_DLT_EN10MB);
    cr_assert_eq(e.n, 6);
    cr_assert_eq(e.k[0], NEMESIS_CAPEV_SYN);
    cr_assert_eq(e.k[1], NEMESIS_CAPEV_RETRANS);
    cr_assert_eq(e.k[2], NEMESIS_CAPEV_MSG);
    cr_assert_str_eq(e.type[2], "append");
    cr_assert_eq(e.k[3], NEMESIS_CAPEV_HOLE);
    cr_assert_eq(e.k[4], NEMESIS_CAPEV_MSG);
    cr_assert_str_eq(e.type[4], "vote_result");
    cr_assert_eq(e.k[5], NEMESIS_CAPEV_RST);
    cr_assert_eq(r.st.retrans, 1);
    nemesis_capread_free(&r);
}

Test(nemesis_capread, a_stream_that_is_not_ours_shows_tcp_only)
{
    struct evs e = {0};
    struct nemesis_capread r;
    nemesis_capread_init(&r, 4, 0, on_ev, &e);
    uint8_t pkt[600];
    const char *http = "POST /raft HTTP/1.1\r\nHost: x\r\n\r\n{\"type\":\"append\"}";
    size_t n = packet(pkt, 1, 0x02, NULL, 0);
    nemesis_capread_packet(&r, 1, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    n = packet(pkt, 2, 0x18, (const uint8_t *)http, strlen(http));
    nemesis_capread_packet(&r, 2, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    n = packet(pkt, 2 + (uint32_t)strlen(http), 0x11, NULL, 0);
    nemesis_capread_packet(&r, 3, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    cr_assert_eq(e.n, 2);
    cr_assert_eq(e.k[0], NEMESIS_CAPEV_SYN);
    cr_assert_eq(e.k[1], NEMESIS_CAPEV_FIN);
    cr_assert_eq(r.st.frames, 0);
    cr_assert_eq(r.st.bad_frames, 1, "the stream is counted as not ours");
    nemesis_capread_free(&r);
}

/* A segment that brings bytes a later one skipped arrived out of order: counted as reordered;
 * bytes seen already are a retransmission only. */
Test(nemesis_capread, reordered_segments_are_told_from_retransmissions)
{
    struct evs e = {0};
    struct nemesis_capread r;
    nemesis_capread_init(&r, 4, 0, on_ev, &e);
    uint8_t pkt[600], d[100];
    memset(d, 'x', sizeof d);
    size_t n = packet(pkt, 0, 0x02, NULL, 0); /* SYN: data from 1 */
    nemesis_capread_packet(&r, 1, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    n = packet(pkt, 1, 0x18, d, 100); /* 1..100 */
    nemesis_capread_packet(&r, 2, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    n = packet(pkt, 201, 0x18, d, 100); /* 201..300 first: 101..200 skipped */
    nemesis_capread_packet(&r, 3, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    n = packet(pkt, 301, 0x18, d, 100); /* in order after it */
    nemesis_capread_packet(&r, 4, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    cr_assert_eq(r.st.reordered, 0);
    n = packet(pkt, 101, 0x18, d, 100); /* the skipped one arrives */
    nemesis_capread_packet(&r, 5, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    cr_assert_eq(r.st.reordered, 1);
    n = packet(pkt, 101, 0x18, d, 100); /* the same bytes again: a retransmission */
    nemesis_capread_packet(&r, 6, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    n = packet(pkt, 1, 0x18, d, 100);
    nemesis_capread_packet(&r, 7, pkt, n, n, NEMESIS_CAPREAD_DLT_EN10MB);
    cr_assert_eq(r.st.reordered, 1);
    cr_assert_eq(r.st.retrans, 3);
    cr_assert_eq(r.st.holes, 1);
    nemesis_capread_free(&r);
}
