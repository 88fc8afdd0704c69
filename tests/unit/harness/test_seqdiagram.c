/* test_seqdiagram.c - the report's message diagram from a hand-made capture: arrows between the
 * right lanes, the window, and text from the wire escaped (a frame's type cannot open a tag). */
#include "harness/seqdiagram.h"

#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t packet(uint8_t *p, uint8_t src, uint8_t dst, uint32_t seq, uint8_t flags,
                     const char *json)
{
    size_t n = json ? strlen(json) + 4 : 0;
    memset(p, 0, 54);
    p[12] = 0x08;
    p[14] = 0x45;
    size_t tot = 40 + n;
    p[16] = (uint8_t)(tot >> 8);
    p[17] = (uint8_t)tot;
    p[23] = 6;
    const uint8_t s[4] = {198, 51, 100, src}, d[4] = {198, 51, 100, dst};
    memcpy(p + 26, s, 4);
    memcpy(p + 30, d, 4);
    p[34] = 40000 >> 8;
    p[35] = 40000 & 255;
    p[36] = 7000 >> 8;
    p[37] = 7000 & 255;
    p[38] = (uint8_t)(seq >> 24);
    p[39] = (uint8_t)(seq >> 16);
    p[40] = (uint8_t)(seq >> 8);
    p[41] = (uint8_t)seq;
    p[46] = 5 << 4;
    p[47] = flags;
    if (json) {
        size_t j = strlen(json);
        p[54] = (uint8_t)(j >> 24);
        p[55] = (uint8_t)(j >> 16);
        p[56] = (uint8_t)(j >> 8);
        p[57] = (uint8_t)j;
        memcpy(p + 58, json, j);
    }
    return 54 + n;
}

static void dump(pcap_dumper_t *d, int64_t t_ms, const uint8_t *p, size_t n)
{
    struct pcap_pkthdr h = {.caplen = (bpf_u_int32)n, .len = (bpf_u_int32)n};
    h.ts.tv_sec = 1000 + t_ms / 1000;
    h.ts.tv_usec = (t_ms % 1000) * 1000;
    pcap_dump((u_char *)d, &h, p);
}

Test(harness_seqdiagram, arrows_between_lanes_and_escaped_text)
{
    char dir[] = "/tmp/fl-test-seqdiag.XXXXXX";
    cr_assert(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/capture.pcap", dir);
    pcap_t *pd = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d = pcap_dump_open(pd, path);
    cr_assert(d);
    uint8_t p[600];
    size_t n = packet(p, 1, 2, 1, 0x02, NULL); /* SYN n1 -> n2 at t=0.1 s */
    dump(d, 100, p, n);
    n = packet(p, 1, 2, 2, 0x18,
               "{\"type\":\"append\",\"from\":1,\"to\":2,\"term\":7,\"prev_index\":4,"
               "\"prev_term\":6,\"commit\":4,\"round\":9,\"entries\":[{\"term\":7}]}");
    dump(d, 1200, p, n);
    uint32_t seq = 2 + (uint32_t)(n - 54);
    n = packet(p, 1, 2, seq, 0x18,
               "{\"type\":\"<script>x</script>\",\"from\":1,\"to\":2,"
               "\"key\":\"<img src=http://a/b>\"}");
    dump(d, 1300, p, n);
    seq += (uint32_t)(n - 54);
    n = packet(p, 1, 2, seq, 0x18, "{\"type\":\"append\",\"from\":1,\"to\":2,\"term\":8}");
    dump(d, 9000, p, n); /* outside the window */
    pcap_dump_close(d);
    pcap_close(pd);
    snprintf(path, sizeof path, "%s/clock.json", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fprintf(f, "{\"history_t0_unix_ns\": 1000000000000}\n");
    fclose(f);

    struct fl_buf out;
    fl_buf_init(&out);
    cr_assert_eq(harness_seqdiagram_html(dir, 1250000000LL, 1400000000LL, NULL, &out), 0);
    const char *html = fl_buf_cstr(&out);
    cr_assert(strstr(html, "<svg id=\"msgdiagram\" data-messages=\"3\""), "%s", html);
    cr_assert(strstr(html, "class=\"m t-append\""), "an append arrow");
    cr_assert(strstr(html, "class=\"m t-SYN\""), "the SYN");
    cr_assert(strstr(html, "t7 prev 4&#47;6 n=1") || strstr(html, "t7 prev 4&#47;6 n&#61;1"),
              "term and indexes on the arrow: %s", html);
    cr_assert(!strstr(html, "t8"), "the message after the window is left out");
    cr_assert(!strstr(html, "<script>x"), "a frame's type does not open a tag");
    cr_assert(!strstr(html, "src="), "nothing from the wire forms an attribute");
    cr_assert(!strstr(html, "http:"), "nor a URL");
    cr_assert(strstr(html, "id=\"msg-op-call\""), "the operation's invoke is marked");
    fl_buf_free(&out);

    /* No capture: the section says so. */
    unlink(path);
    snprintf(path, sizeof path, "%s/capture.pcap", dir);
    unlink(path);
    fl_buf_init(&out);
    cr_assert_eq(harness_seqdiagram_html(dir, 0, 1, NULL, &out), 0);
    cr_assert(strstr(fl_buf_cstr(&out), "No capture.pcap"));
    fl_buf_free(&out);
    rmdir(dir);
}
