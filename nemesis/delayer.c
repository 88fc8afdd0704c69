/* delayer.c - the NFQUEUE delayer thread: a min-heap of held packet ids released by their verdict
 * time. */
#include "nemesis/delayer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/rng.h"
#include "nemesis/netns.h"

#define HEAP_MAX  65536 /* packets held at once; more are released at once */
#define QUEUE_MAX 8192  /* kernel queue length */
#define RCVBUF    (4u << 20)

struct held {
    uint64_t release_ns;
    uint32_t id;
};

struct nemesis_delayer {
    struct nemesis_delayer_opts opts;
    char ns[64];
    pthread_t thread;
    int stop_fd;  /* eventfd: stop now */
    int ready_fd; /* eventfd: the thread reports start-up (1 = bound, 2 = failed) */
    char errmsg[FL_ERRMSG_SIZE];
    int rc;
    struct fl_rng rng;
    struct nfq_q_handle *qh;
    struct held *heap;
    size_t n, cap;
    struct nemesis_delayer_stats stats;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ==== Heap ==== */

static bool heap_push(struct nemesis_delayer *d, struct held h)
{
    if (d->n == d->cap) {
        if (d->cap == HEAP_MAX)
            return false;
        size_t ncap = d->cap ? d->cap * 2 : 256;
        struct held *nh = fl_reallocarray(d->heap, ncap, sizeof *nh);
        if (!nh)
            return false;
        d->heap = nh;
        d->cap = ncap;
    }
    size_t i = d->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (d->heap[p].release_ns <= h.release_ns)
            break;
        d->heap[i] = d->heap[p];
        i = p;
    }
    d->heap[i] = h;
    return true;
}

static struct held heap_pop(struct nemesis_delayer *d)
{
    struct held top = d->heap[0];
    struct held last = d->heap[--d->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= d->n)
            break;
        if (c + 1 < d->n && d->heap[c + 1].release_ns < d->heap[c].release_ns)
            c++;
        if (last.release_ns <= d->heap[c].release_ns)
            break;
        d->heap[i] = d->heap[c];
        i = c;
    }
    if (d->n > 0)
        d->heap[i] = last;
    return top;
}

/* ==== Thread ==== */

static void accept_id(struct nemesis_delayer *d, uint32_t id)
{
    nfq_set_verdict(d->qh, id, NF_ACCEPT, 0, NULL);
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
                     void *data)
{
    (void)qh;
    (void)msg;
    struct nemesis_delayer *d = data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph)
        return 0;
    uint32_t id = ntohl(ph->packet_id);
    d->stats.packets++;
    if (d->opts.reorder_percent > 0 && fl_rng_chance(&d->rng, d->opts.reorder_percent / 100.0)) {
        d->stats.immediate++;
        accept_id(d, id);
        return 0;
    }
    int64_t ms = (int64_t)d->opts.delay_ms +
                 fl_rng_range(&d->rng, -(int64_t)d->opts.jitter_ms, (int64_t)d->opts.jitter_ms);
    if (ms < 0)
        ms = 0;
    struct held h = {.release_ns = now_ns() + (uint64_t)ms * 1000000u, .id = id};
    if (!heap_push(d, h)) {
        d->stats.immediate++;
        accept_id(d, id);
        return 0;
    }
    d->stats.held++;
    return 0;
}

static void report_ready(struct nemesis_delayer *d, uint64_t v)
{
    ssize_t w = write(d->ready_fd, &v, sizeof v);
    (void)w;
}

static void *delayer_thread(void *arg)
{
    struct nemesis_delayer *d = arg;
    struct nfq_handle *h = NULL;
    if (d->ns[0] && (d->rc = nemesis_netns_enter(d->ns, d->errmsg)) < 0)
        goto err_report;
    h = nfq_open();
    if (!h) {
        d->rc = fl_errorf(d->errmsg, -errno, "delayer: nfq_open: %s", strerror(errno));
        goto err_report;
    }
    d->qh = nfq_create_queue(h, d->opts.queue_num, on_packet, d);
    if (!d->qh) {
        d->rc = fl_errorf(d->errmsg, -EBUSY, "delayer: cannot bind NFQUEUE %u (taken?)",
                          d->opts.queue_num);
        goto err_close;
    }
    if (nfq_set_mode(d->qh, NFQNL_COPY_META, 0) < 0) {
        d->rc = fl_errorf(d->errmsg, -EIO, "delayer: nfq_set_mode failed");
        goto err_queue;
    }
    nfq_set_queue_maxlen(d->qh, QUEUE_MAX);
    /* When the kernel queue is full, let packets through rather than drop them:
     * the fault is delay, not loss. */
    nfq_set_queue_flags(d->qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
    nfnl_rcvbufsiz(nfq_nfnlh(h), RCVBUF);
    int fd = nfq_fd(h);
    report_ready(d, 1);

    char buf[4096] __attribute__((aligned));
    for (;;) {
        int timeout = -1;
        uint64_t now = now_ns();
        while (d->n > 0 && d->heap[0].release_ns <= now)
            accept_id(d, heap_pop(d).id);
        if (d->n > 0)
            timeout = (int)((d->heap[0].release_ns - now + 999999) / 1000000);
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = d->stop_fd, .events = POLLIN}};
        int r = poll(p, 2, timeout);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0 && (p[1].revents & POLLIN))
            break;
        if (r > 0 && (p[0].revents & POLLIN)) {
            for (;;) {
                ssize_t len = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (len < 0)
                    break; /* EAGAIN, or ENOBUFS after an overflow (fail-open covers it) */
                nfq_handle_packet(h, buf, (int)len);
            }
        }
    }
    while (d->n > 0)
        accept_id(d, heap_pop(d).id);
    nfq_destroy_queue(d->qh);
    nfq_close(h);
    return NULL;

err_queue:
    nfq_destroy_queue(d->qh);
err_close:
    nfq_close(h);
err_report:
    report_ready(d, 2);
    return NULL;
}

int nemesis_delayer_start(struct nemesis_delayer **out, const struct nemesis_delayer_opts *opts,
                          char *errmsg)
{
    *out = NULL;
    /* NULL: the caller's own namespace (faultline-delayer on a host). */
    if (opts->ns && (strncmp(opts->ns, "fl-", 3) != 0 || strlen(opts->ns) >= 64))
        return fl_errorf(errmsg, FL_EUSAGE, "delayer: namespace %s is not one of ours (fl-*)",
                         opts->ns);
    if (opts->jitter_ms > opts->delay_ms || opts->reorder_percent < 0 ||
        opts->reorder_percent > 100)
        return fl_errorf(errmsg, FL_EUSAGE, "delayer: jitter above delay or reorder not 0..100");
    struct nemesis_delayer *d = fl_calloc(1, sizeof *d);
    if (!d)
        return fl_errorf(errmsg, FL_ENOMEM, "delayer: out of memory");
    int rc;
    d->opts = *opts;
    snprintf(d->ns, sizeof d->ns, "%s", opts->ns ? opts->ns : "");
    d->opts.ns = d->ns;
    fl_rng_seed(&d->rng, opts->seed);
    d->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (d->stop_fd < 0) {
        rc = fl_errorf(errmsg, -errno, "delayer: eventfd: %s", strerror(errno));
        goto err_free;
    }
    d->ready_fd = eventfd(0, EFD_CLOEXEC);
    if (d->ready_fd < 0) {
        rc = fl_errorf(errmsg, -errno, "delayer: eventfd: %s", strerror(errno));
        goto err_stop_fd;
    }
    int prc = pthread_create(&d->thread, NULL, delayer_thread, d);
    if (prc != 0) {
        rc = fl_errorf(errmsg, -prc, "delayer: thread: %s", strerror(prc));
        goto err_ready_fd;
    }
    uint64_t v = 0;
    while (read(d->ready_fd, &v, sizeof v) < 0 && errno == EINTR)
        ;
    if (v != 1) {
        pthread_join(d->thread, NULL);
        rc = d->rc < 0 ? d->rc : -EIO;
        fl_errorf(errmsg, rc, "%s", d->errmsg);
        goto err_ready_fd;
    }
    *out = d;
    return 0;
err_ready_fd:
    close(d->ready_fd);
err_stop_fd:
    close(d->stop_fd);
err_free:
    fl_free(d);
    return rc;
}

void nemesis_delayer_stop(struct nemesis_delayer *d, struct nemesis_delayer_stats *stats)
{
    if (!d)
        return;
    uint64_t one = 1;
    ssize_t w = write(d->stop_fd, &one, sizeof one);
    (void)w;
    pthread_join(d->thread, NULL);
    if (stats)
        *stats = d->stats;
    close(d->stop_fd);
    close(d->ready_fd);
    fl_free(d->heap);
    fl_free(d);
}
