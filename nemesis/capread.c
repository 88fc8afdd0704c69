/* capread.c - capture.pcap back to TCP events and decoded reference-protocol frames. */
#include "nemesis/capread.h"

#include <pcap/pcap.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

struct nemesis_capflow {
    uint32_t src, dst;
    uint16_t sport, dport;
    bool seq_known;
    bool framed; /* still decoded as our frames */
    uint32_t next_seq;
    /* Bytes [hole_lo, hole_hi) skipped by a later segment and not seen yet (one span: gaps
     * merged), so that a segment filling them counts as reordered, not only retransmitted. */
    bool has_hole;
    uint32_t hole_lo, hole_hi;
    struct nemesis_peerframe dec;
};

void nemesis_capread_init(struct nemesis_capread *r, size_t max_flows, size_t max_frame,
                          nemesis_capev_cb cb, void *data)
{
    memset(r, 0, sizeof *r);
    r->max_flows = max_flows ? max_flows : NEMESIS_CAPREAD_MAX_FLOWS;
    r->max_frame = max_frame ? max_frame : NEMESIS_PEERFRAME_MAX_DEFAULT;
    r->cb = cb;
    r->data = data;
}

void nemesis_capread_free(struct nemesis_capread *r)
{
    for (size_t i = 0; i < r->n_flows; i++)
        nemesis_peerframe_free(&r->flows[i].dec);
    fl_free(r->flows);
    r->flows = NULL;
    r->n_flows = 0;
}

static void emit(struct nemesis_capread *r, const struct nemesis_capflow *f,
                 enum nemesis_capev_kind k, const struct nemesis_peermsg *m)
{
    struct nemesis_capev ev = {.t_ns = r->cur_t,
                               .kind = k,
                               .src = f->src,
                               .dst = f->dst,
                               .sport = f->sport,
                               .dport = f->dport,
                               .msg = m};
    r->cb(r->data, &ev);
}

static void on_frame(void *data, const struct nemesis_peermsg *m)
{
    struct nemesis_capread *r = data;
    struct nemesis_capflow *f = r->cur;
    if (strcmp(m->type, "?") == 0) {
        /* The first frame of a stream that is not ours (HTTP, gRPC): stop decoding it. */
        if (f->dec.frames == 0 && f->framed) {
            f->framed = false;
            r->st.bad_frames++;
        }
        return;
    }
    r->st.frames++;
    emit(r, f, NEMESIS_CAPEV_MSG, m);
}

static struct nemesis_capflow *flow_get(struct nemesis_capread *r, uint32_t src, uint32_t dst,
                                        uint16_t sport, uint16_t dport)
{
    if (r->last < r->n_flows) {
        struct nemesis_capflow *f = &r->flows[r->last];
        if (f->src == src && f->dst == dst && f->sport == sport && f->dport == dport)
            return f;
    }
    for (size_t i = r->n_flows; i-- > 0;) {
        struct nemesis_capflow *f = &r->flows[i];
        if (f->src == src && f->dst == dst && f->sport == sport && f->dport == dport) {
            r->last = i;
            return f;
        }
    }
    if (r->n_flows == r->max_flows) {
        r->st.flows_dropped++;
        return NULL;
    }
    if (!r->flows) {
        r->flows = fl_calloc(r->max_flows, sizeof *r->flows);
        if (!r->flows)
            return NULL;
    }
    struct nemesis_capflow *f = &r->flows[r->n_flows];
    memset(f, 0, sizeof *f);
    f->src = src;
    f->dst = dst;
    f->sport = sport;
    f->dport = dport;
    f->framed = true;
    nemesis_peerframe_init(&f->dec, r->max_frame);
    r->last = r->n_flows++;
    r->st.flows++;
    return f;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int feed(struct nemesis_capread *r, struct nemesis_capflow *f, const uint8_t *p, size_t n)
{
    if (!f->framed || n == 0)
        return 0;
    r->cur = f;
    int rv = nemesis_peerframe_feed(&f->dec, p, n, on_frame, r);
    if (f->dec.frames == 0 && f->dec.bad > 0 && f->framed) {
        /* It did not start with a length we accept (HTTP, gRPC): not ours, stop decoding. */
        f->framed = false;
        r->st.bad_frames++;
    }
    return rv;
}

int nemesis_capread_packet(struct nemesis_capread *r, int64_t t_ns, const uint8_t *pkt,
                           size_t caplen, size_t wirelen, int linktype)
{
    r->st.packets++;
    r->cur_t = t_ns;
    size_t off;
    uint16_t proto;
    if (linktype == NEMESIS_CAPREAD_DLT_EN10MB) {
        if (caplen < 14)
            return 0;
        proto = (uint16_t)(pkt[12] << 8 | pkt[13]);
        off = 14;
        if (proto == 0x8100 && caplen >= 18) {
            proto = (uint16_t)(pkt[16] << 8 | pkt[17]);
            off = 18;
        }
    } else if (linktype == NEMESIS_CAPREAD_DLT_LINUX_SLL) {
        if (caplen < 16)
            return 0;
        proto = (uint16_t)(pkt[14] << 8 | pkt[15]);
        off = 16;
    } else if (linktype == NEMESIS_CAPREAD_DLT_RAW) {
        proto = 0x0800;
        off = 0;
    } else {
        return 0;
    }
    if (proto != 0x0800 || caplen < off + 20)
        return 0;
    const uint8_t *ip = pkt + off;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    size_t tot = (size_t)(ip[2] << 8 | ip[3]);
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 6 || tot < ihl)
        return 0;
    if ((ip[6] & 0x3f) || ip[7]) /* fragments (MF or an offset): not followed */
        return 0;
    size_t have = caplen - off; /* captured bytes of the IP packet */
    if (have < ihl + 20)
        return 0;
    const uint8_t *tcp = ip + ihl;
    size_t thl = (size_t)(tcp[12] >> 4) * 4;
    if (thl < 20 || tot < ihl + thl || have < ihl + thl)
        return 0;
    r->st.tcp++;
    uint32_t src = be32(ip + 12), dst = be32(ip + 16);
    uint16_t sport = (uint16_t)(tcp[0] << 8 | tcp[1]), dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
    uint32_t seq = be32(tcp + 4);
    uint8_t flags = tcp[13];
    struct nemesis_capflow *f = flow_get(r, src, dst, sport, dport);
    if (!f)
        return r->flows ? 0 : FL_ENOMEM;
    size_t plen = tot - ihl - thl;  /* payload on the wire */
    size_t pcap = have - ihl - thl; /* payload captured */
    if (pcap > plen)
        pcap = plen; /* Ethernet padding */
    (void)wirelen;
    const uint8_t *payload = tcp + thl;
    int rv = 0;
    if (flags & 0x04) { /* RST */
        r->st.resets++;
        emit(r, f, NEMESIS_CAPEV_RST, NULL);
    }
    if (flags & 0x02) { /* SYN */
        if (!(flags & 0x10))
            emit(r, f, NEMESIS_CAPEV_SYN, NULL);
        f->seq_known = true;
        f->next_seq = seq + 1;
        f->has_hole = false;
        nemesis_peerframe_free(&f->dec);
        nemesis_peerframe_init(&f->dec, r->max_frame);
        f->framed = true;
        seq++;
    }
    if (plen > 0) {
        if (!f->seq_known) {
            /* Joined mid-stream: look for a frame start. */
            f->seq_known = true;
            f->next_seq = seq;
            nemesis_peerframe_hole(&f->dec);
        }
        int32_t d = (int32_t)(seq - f->next_seq);
        uint32_t end = seq + (uint32_t)plen;
        if (d < 0 && f->has_hole && (int32_t)(end - f->hole_lo) > 0 &&
            (int32_t)(seq - f->hole_hi) < 0) {
            r->st.reordered++; /* it fills bytes a later segment skipped */
            if ((int32_t)(seq - f->hole_lo) <= 0)
                f->hole_lo = end; /* filled from the front (a middle part leaves the span) */
            if ((int32_t)(f->hole_lo - f->hole_hi) >= 0)
                f->has_hole = false;
        }
        if (d < 0) {
            r->st.retrans++;
            emit(r, f, NEMESIS_CAPEV_RETRANS, NULL);
            if ((int64_t)plen + d > 0 && (size_t)(-d) < pcap) {
                rv = feed(r, f, payload + (size_t)(-d), pcap - (size_t)(-d));
                f->next_seq = seq + (uint32_t)plen;
            }
        } else {
            if (d > 0) {
                r->st.holes++;
                if (!f->has_hole)
                    f->hole_lo = f->next_seq;
                f->has_hole = true;
                f->hole_hi = seq;
                emit(r, f, NEMESIS_CAPEV_HOLE, NULL);
                nemesis_peerframe_hole(&f->dec);
            }
            rv = feed(r, f, payload, pcap);
            f->next_seq = seq + (uint32_t)plen;
        }
        if (rv == 0 && pcap < plen) { /* cut by the snap length */
            r->st.holes++;
            nemesis_peerframe_hole(&f->dec);
        }
    }
    if (flags & 0x01) { /* FIN */
        emit(r, f, NEMESIS_CAPEV_FIN, NULL);
        f->next_seq++;
    }
    return rv;
}

int nemesis_capread_file(const char *path, size_t max_frame, nemesis_capev_cb cb, void *data,
                         struct nemesis_capread_stats *stats, char *errmsg)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    memset(stats, 0, sizeof *stats);
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
    if (!p)
        return fl_errorf(errmsg, FL_EPARSE, "%s: %s", path, perr);
    int dlt = pcap_datalink(p);
    if (dlt != NEMESIS_CAPREAD_DLT_EN10MB && dlt != NEMESIS_CAPREAD_DLT_RAW &&
        dlt != NEMESIS_CAPREAD_DLT_LINUX_SLL) {
        pcap_close(p);
        return fl_errorf(errmsg, FL_EUNSUPPORTED,
                         "%s: link type %d is not Ethernet, raw IP or "
                         "Linux cooked",
                         path, dlt);
    }
    struct nemesis_capread r;
    nemesis_capread_init(&r, 0, max_frame, cb, data);
    struct pcap_pkthdr *h;
    const u_char *pkt;
    int rc, rv = 0;
    while ((rc = pcap_next_ex(p, &h, &pkt)) == 1) {
        int64_t t = (int64_t)h->ts.tv_sec * 1000000000 + (int64_t)h->ts.tv_usec;
        if ((rv = nemesis_capread_packet(&r, t, pkt, h->caplen, h->len, dlt)) != 0) {
            fl_errorf(errmsg, rv, "%s: out of memory", path);
            break;
        }
    }
    /* A capture cut short by a killed run ends in a partial record: keep what came before. */
    (void)rc;
    *stats = r.st;
    nemesis_capread_free(&r);
    pcap_close(p);
    return rv;
}
