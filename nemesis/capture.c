/* capture.c - libpcap capture of the hub bridge into a bounded pcap file. */
#include "nemesis/capture.h"

#include "nemesis/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PCAP_FILE_HEADER   24
#define PCAP_RECORD_HEADER 16

struct loop {
    struct nemesis_capture *c;
    pcap_t *p;
    pcap_dumper_t *d;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct loop *l = (struct loop *)user;
    struct nemesis_capture *c = l->c;
    uint64_t len = PCAP_RECORD_HEADER + (uint64_t)h->caplen;
    if (c->stats.bytes + len > c->o.max_bytes) {
        c->stats.limit_reached = true;
        pcap_breakloop(l->p);
        return;
    }
    pcap_dump((u_char *)l->d, h, bytes);
    c->stats.bytes += len;
    c->stats.packets++;
}

static void signal_started(struct nemesis_capture *c)
{
    pthread_mutex_lock(&c->mu);
    c->started = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void *capture_thread(void *arg)
{
    struct nemesis_capture *c = arg;
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    struct loop l = {.c = c};
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    if (c->o.ns && (c->rc = nemesis_netns_enter(c->o.ns, c->errmsg)) < 0)
        goto out_started;
    l.p = pcap_create(c->o.dev, errbuf);
    if (!l.p) {
        c->rc = fl_errorf(c->errmsg, -ENODEV, "capture %s: %s", c->o.dev, errbuf);
        goto out_started;
    }
    pcap_set_snaplen(l.p, c->o.snaplen);
    /* A bridge passes forwarded frames up to its own device only when promiscuous. */
    pcap_set_promisc(l.p, 1);
    pcap_set_immediate_mode(l.p, 1);
    pcap_set_timeout(l.p, 100);
    int rc = pcap_activate(l.p);
    if (rc < 0) {
        c->rc = fl_errorf(c->errmsg,
                          rc == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV
                          : rc == PCAP_ERROR_PERM_DENIED  ? -EPERM
                                                          : -EIO,
                          "capture %s%s%s: %s", c->o.dev, c->o.ns ? " in " : "",
                          c->o.ns ? c->o.ns : "", pcap_geterr(l.p));
        goto out_pcap;
    }
    if (pcap_setnonblock(l.p, 1, errbuf) < 0) {
        c->rc = fl_errorf(c->errmsg, -EIO, "capture %s: %s", c->o.dev, errbuf);
        goto out_pcap;
    }
    int fd = pcap_get_selectable_fd(l.p);
    if (fd < 0) {
        c->rc = fl_errorf(c->errmsg, -EIO, "capture %s: no selectable descriptor", c->o.dev);
        goto out_pcap;
    }
    l.d = pcap_dump_open(l.p, c->o.path);
    if (!l.d) {
        c->rc = fl_errorf(c->errmsg, -EIO, "capture %s: %s", c->o.path, pcap_geterr(l.p));
        goto out_pcap;
    }
    /* The header on disk now: a capture killed from here on is still a valid file. */
    if (pcap_dump_flush(l.d) < 0) {
        c->rc = fl_errorf(c->errmsg, -EIO, "capture %s: write failed", c->o.path);
        goto out_dump;
    }
    c->stats.bytes = PCAP_FILE_HEADER;
    signal_started(c);

    uint64_t last_flush = now_ms();
    bool stop = false;
    while (!stop && !c->stats.limit_reached) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = c->wake[0], .events = POLLIN}};
        int n = poll(p, 2, (int)c->o.flush_ms);
        if (n < 0 && errno != EINTR) {
            c->rc = fl_errorf(c->errmsg, -errno, "capture %s: poll: %s", c->o.dev, strerror(errno));
            break;
        }
        if (n > 0 && p[1].revents)
            stop = true; /* drain what is queued, then leave */
        for (;;) {
            int got = pcap_dispatch(l.p, -1, on_packet, (u_char *)&l);
            if (got == PCAP_ERROR) {
                c->rc = fl_errorf(c->errmsg, -EIO, "capture %s: %s", c->o.dev, pcap_geterr(l.p));
                stop = true;
            }
            if (got <= 0 || c->stats.limit_reached)
                break;
        }
        uint64_t t = now_ms();
        if (t - last_flush >= c->o.flush_ms) {
            if (pcap_dump_flush(l.d) < 0 && c->rc == 0) {
                c->rc = fl_errorf(c->errmsg, -EIO, "capture %s: write failed", c->o.path);
                stop = true;
            }
            last_flush = t;
        }
    }
    struct pcap_stat ps;
    if (pcap_stats(l.p, &ps) == 0)
        c->stats.dropped = ps.ps_drop;
out_dump:
    if (pcap_dump_flush(l.d) < 0 && c->rc == 0)
        c->rc = fl_errorf(c->errmsg, -EIO, "capture %s: write failed", c->o.path);
    pcap_dump_close(l.d);
out_pcap:
    pcap_close(l.p);
out_started:
    if (!c->started)
        signal_started(c);
    return NULL;
}

int nemesis_capture_start(struct nemesis_capture *c, const struct nemesis_capture_opts *o,
                          char *errmsg)
{
    memset(c, 0, sizeof *c);
    c->wake[0] = c->wake[1] = -1;
    if (!o || !o->dev || !o->path)
        return fl_errorf(errmsg, FL_EUSAGE, "capture: device and path are required");
    if (strlen(o->dev) >= sizeof c->dev || strlen(o->path) >= sizeof c->path ||
        (o->ns && strlen(o->ns) >= sizeof c->ns))
        return fl_errorf(errmsg, FL_EUSAGE, "capture: name too long");
    int snaplen = o->snaplen ? o->snaplen : NEMESIS_CAPTURE_SNAPLEN_DEFAULT;
    if (snaplen < 64 || snaplen > 262144)
        return fl_errorf(errmsg, FL_EUSAGE, "capture: snaplen %d out of range 64..262144",
                         o->snaplen);
    uint64_t max = o->max_bytes ? o->max_bytes : NEMESIS_CAPTURE_MAX_BYTES_DEFAULT;
    if (max < PCAP_FILE_HEADER)
        return fl_errorf(errmsg, FL_EUSAGE, "capture: max_bytes %llu is below the %d-byte header",
                         (unsigned long long)max, PCAP_FILE_HEADER);
    snprintf(c->dev, sizeof c->dev, "%s", o->dev);
    snprintf(c->path, sizeof c->path, "%s", o->path);
    if (o->ns)
        snprintf(c->ns, sizeof c->ns, "%s", o->ns);
    c->o = (struct nemesis_capture_opts){
        .ns = o->ns ? c->ns : NULL,
        .dev = c->dev,
        .path = c->path,
        .snaplen = snaplen,
        .max_bytes = max,
        .flush_ms = o->flush_ms ? o->flush_ms : NEMESIS_CAPTURE_FLUSH_MS_DEFAULT};
    if (pipe2(c->wake, O_CLOEXEC) < 0)
        return fl_errorf(errmsg, -errno, "capture: pipe: %s", strerror(errno));
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    int rc = pthread_create(&c->thread, NULL, capture_thread, c);
    if (rc != 0) {
        rc = fl_errorf(errmsg, -rc, "capture: thread: %s", strerror(rc));
        goto err;
    }
    pthread_mutex_lock(&c->mu);
    while (!c->started)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    if (c->rc < 0) {
        pthread_join(c->thread, NULL);
        rc = c->rc;
        if (errmsg)
            snprintf(errmsg, FL_ERRMSG_SIZE, "%s", c->errmsg);
        goto err;
    }
    c->running = true;
    return 0;
err:
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    close(c->wake[0]);
    close(c->wake[1]);
    c->wake[0] = c->wake[1] = -1;
    return rc;
}

int nemesis_capture_stop(struct nemesis_capture *c, struct nemesis_capture_stats *stats,
                         char *errmsg)
{
    if (c->running) {
        ssize_t w;
        do
            w = write(c->wake[1], "x", 1);
        while (w < 0 && errno == EINTR);
        pthread_join(c->thread, NULL);
        c->running = false;
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        close(c->wake[0]);
        close(c->wake[1]);
        c->wake[0] = c->wake[1] = -1;
    }
    if (stats)
        *stats = c->stats;
    if (c->rc < 0 && errmsg)
        snprintf(errmsg, FL_ERRMSG_SIZE, "%s", c->errmsg);
    return c->rc;
}
