/* test_reorder.c - reordering seen where it matters: a TCP stream from n1 to n2 through the
 * delay and reorder faults, captured on n2's own veth (after the hub's delayer) and read back
 * with capread, which counts the segments that arrived after later bytes of their stream. A
 * plain delay (no jitter) keeps the order; the reorder kind does not. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault_fixture.h"
#include "nemesis/capread.h"
#include "nemesis/capture.h"
#include "nemesis/packet.h"

#define PORT     9555
#define SEGMENTS 150

struct peer {
    const char *ns, *addr;
    int listen_fd; /* server: made before the client starts */
    long bytes;
    int rc;
};

/* In n2: accept one connection, read it to the end. */
static void *server(void *arg)
{
    struct peer *p = arg;
    int c = accept(p->listen_fd, NULL, NULL);
    if (c < 0) {
        p->rc = -1;
        return NULL;
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0)
        p->bytes += n;
    close(c);
    return NULL;
}

static void *listener(void *arg)
{
    struct peer *p = arg;
    char errmsg[FL_ERRMSG_SIZE];
    p->listen_fd = -1;
    if (nemesis_netns_enter(p->ns, errmsg) != 0)
        return NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, p->addr, &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1) == 0)
        p->listen_fd = fd;
    else
        close(fd);
    return NULL;
}

/* In n1: SEGMENTS writes of 200 bytes, 2 ms apart, each its own segment (no Nagle). */
static void *client(void *arg)
{
    struct peer *p = arg;
    char errmsg[FL_ERRMSG_SIZE];
    p->rc = -1;
    if (nemesis_netns_enter(p->ns, errmsg) != 0)
        return NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    inet_pton(AF_INET, p->addr, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return NULL;
    }
    char buf[200];
    memset(buf, 'r', sizeof buf);
    for (int i = 0; i < SEGMENTS; i++) {
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            break;
        usleep(2000);
    }
    close(fd);
    p->rc = 0;
    return NULL;
}

static void ignore(void *data, const struct nemesis_capev *ev)
{
    (void)data;
    (void)ev;
}

/* Sends the stream through `kind` planned with `o`; returns the reordered segments counted at
 * n2's veth. */
static uint64_t stream_through(const struct nemesis_kind *kind, const struct nemesis_fault_opts *o,
                               const char *pcap)
{
    struct fl_rng rng;
    struct nemesis_fault f;
    fl_rng_seed(&rng, 3);
    cr_assert_eq(nemesis_fault_plan(kind, &rng, &fx.topo, -1, o, &f, fx.errmsg), 0, "%s",
                 fx.errmsg);
    struct nemesis_capture cap;
    struct nemesis_capture_opts co = {.ns = fx.topo.nodes[1].ns, .dev = "eth0", .path = pcap};
    cr_assert_eq(nemesis_capture_start(&cap, &co, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(nemesis_fault_apply(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);

    struct peer srv = {.ns = fx.topo.nodes[1].ns, .addr = fx.topo.nodes[1].addr};
    struct peer cli = {.ns = fx.topo.nodes[0].ns, .addr = fx.topo.nodes[1].addr};
    pthread_t ts, tc;
    pthread_create(&ts, NULL, listener, &srv);
    pthread_join(ts, NULL);
    cr_assert_geq(srv.listen_fd, 0, "listen in n2");
    pthread_create(&ts, NULL, server, &srv);
    pthread_create(&tc, NULL, client, &cli);
    pthread_join(tc, NULL);
    pthread_join(ts, NULL);
    close(srv.listen_fd);
    cr_assert_eq(cli.rc, 0, "the client connected and sent");
    cr_assert_eq(srv.bytes, SEGMENTS * 200L, "every byte arrived");

    cr_assert_eq(nemesis_fault_heal(&fx.ctx, &f, fx.errmsg), 0, "%s", fx.errmsg);
    struct nemesis_capture_stats cs;
    cr_assert_eq(nemesis_capture_stop(&cap, &cs, fx.errmsg), 0, "%s", fx.errmsg);
    struct nemesis_capread_stats st;
    cr_assert_eq(nemesis_capread_file(pcap, 0, ignore, NULL, &st, fx.errmsg), 0, "%s", fx.errmsg);
    printf("%s: %llu packets at n2's veth, %llu TCP, %llu holes, %llu reordered, %llu "
           "retransmitted; delayer: %llu held of %llu\n",
           kind->name, (unsigned long long)cs.packets, (unsigned long long)st.tcp,
           (unsigned long long)st.holes, (unsigned long long)st.reordered,
           (unsigned long long)st.retrans, (unsigned long long)fx.ctx.delay_held,
           (unsigned long long)fx.ctx.delay_packets);
    cr_assert_gt(st.tcp, SEGMENTS, "the stream was captured");
    nemesis_fault_clear(&f);
    return st.reordered;
}

static void setup2(void)
{
    fx_up(2, NULL);
}

Test(nemesis_reorder, reorder_reorders_at_the_receiver_and_a_plain_delay_does_not, .init = setup2,
     .fini = fx_down, .timeout = 60)
{
    char pcap[] = "/tmp/fl-test-reorder-XXXXXX";
    int fd = mkstemp(pcap);
    cr_assert_geq(fd, 0);
    close(fd);
    struct nemesis_fault_opts o;
    nemesis_fault_opts_default(&o);
    o.delay_ms = 20;
    o.jitter_ms = 0; /* jitter alone reorders too: without it only the reorder share does */
    uint64_t plain = stream_through(&nemesis_packet_delay, &o, pcap);
    uint64_t reordered = stream_through(&nemesis_packet_reorder, &o, pcap);
    unlink(pcap);
    cr_assert_eq(plain, 0, "a plain delay keeps the order (delay.reorder_percent 0 by default)");
    cr_assert_gt(reordered, 0, "reorder (reorder.percent %d) sends packets ahead",
                 o.reorder_percent);
}
