/* fuzz_capture.c - libFuzzer target: captured packets and frame streams from untrusted bytes.
 * The input is cut into packets (a 2-byte length each) fed to the TCP reader with every link
 * type, and fed whole to the frame decoder in two chunks with a hole between them. */
#include "nemesis/capread.h"
#include "nemesis/peerframe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_ev(void *d, const struct nemesis_capev *ev)
{
    size_t *n = d;
    (*n)++;
    if (ev->kind == NEMESIS_CAPEV_MSG &&
        (!ev->msg || strlen(ev->msg->type) >= sizeof ev->msg->type)) {
        fprintf(stderr, "message event without a bounded type\n");
        abort();
    }
}

static void on_msg(void *d, const struct nemesis_peermsg *m)
{
    size_t *n = d;
    (*n)++;
    for (const char *p = m->detail; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"') {
            fprintf(stderr, "unprintable detail\n");
            abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int dlts[] = {NEMESIS_CAPREAD_DLT_EN10MB, NEMESIS_CAPREAD_DLT_RAW,
                               NEMESIS_CAPREAD_DLT_LINUX_SLL};
    size_t events = 0;
    for (size_t k = 0; k < 3; k++) {
        struct nemesis_capread r;
        nemesis_capread_init(&r, 8, 4096, on_ev, &events);
        size_t i = 0;
        while (i + 2 <= size) {
            size_t len = (size_t)data[i] << 8 | data[i + 1];
            i += 2;
            if (len > size - i)
                len = size - i;
            /* A private copy: the reader must not read past caplen. */
            uint8_t *pkt = malloc(len ? len : 1);
            if (!pkt)
                break;
            memcpy(pkt, data + i, len);
            nemesis_capread_packet(&r, (int64_t)i, pkt, len, len + (data[0] & 7), dlts[k]);
            free(pkt);
            i += len;
        }
        nemesis_capread_free(&r);
    }
    struct nemesis_peerframe d;
    size_t msgs = 0;
    nemesis_peerframe_init(&d, 1024);
    size_t cut = size ? data[0] % (size + 1) : 0;
    nemesis_peerframe_feed(&d, data, cut, on_msg, &msgs);
    nemesis_peerframe_hole(&d);
    nemesis_peerframe_feed(&d, data + cut, size - cut, on_msg, &msgs);
    nemesis_peerframe_feed(&d, data, size, on_msg, &msgs);
    nemesis_peerframe_free(&d);
    return 0;
}
