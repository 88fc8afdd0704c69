/* toy_kv.c - a one-node key-value store that speaks the `process` client protocol
 * (workloads/PROCESS_PROTOCOL.md), for the adapter's end-to-end test.
 *
 *   toy_kv --listen ADDR:PORT [--data DIR]
 *
 * Without --data it keeps everything in memory, so a crash forgets acknowledged writes (the
 * test expects `invalid` under kill faults); with --data every change is appended to DIR/kv.log
 * and fdatasync'ed before the answer, and replayed at start (the test expects `valid`).
 * Single-threaded poll() loop; lines over 1 MiB close the connection. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS      64
#define LINE_MAX_BYTES (1u << 20)

struct conn {
    int fd;
    char *buf;
    size_t len, cap;
};

static json_t *state; /* key -> value */
static int log_fd = -1;

static int persist(const char *key, json_t *value)
{
    if (log_fd < 0)
        return 0;
    json_t *rec = json_pack("{s:s,s:O}", "k", key, "v", value);
    char *line = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (line == NULL)
        return -1;
    size_t n = strlen(line);
    line[n] = '\n'; /* json_dumps leaves room for the NUL: overwrite it, write n + 1 bytes */
    ssize_t w = write(log_fd, line, n + 1);
    free(line);
    return w == (ssize_t)(n + 1) && fdatasync(log_fd) == 0 ? 0 : -1;
}

static void replay(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/kv.log", dir);
    FILE *f = fopen(path, "r");
    off_t good = 0; /* end of the last complete line */
    if (f != NULL) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
            json_t *rec = json_loads(line, 0, NULL);
            const char *k = json_string_value(json_object_get(rec, "k"));
            if (k != NULL)
                json_object_set(state, k, json_object_get(rec, "v"));
            json_decref(rec);
            good += n;
        }
        free(line);
        fclose(f);
    }
    log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    /* A torn last line was never acknowledged: cut it, or the next record would join it. */
    if (log_fd >= 0 && ftruncate(log_fd, good) != 0)
        log_fd = -1;
    if (log_fd < 0) {
        fprintf(stderr, "toy_kv: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static json_t *handle(json_t *req)
{
    json_t *id = json_object_get(req, "id");
    if (json_object_get(req, "leader") != NULL)
        return json_pack("{s:O,s:s}", "id", id, "leader", "n1");
    json_t *op = json_object_get(req, "op");
    const char *f = json_string_value(json_object_get(op, "f"));
    const char *key = json_string_value(json_object_get(op, "key"));
    if (key == NULL)
        key = "register";
    json_t *value = json_object_get(op, "value");
    json_t *cur = json_object_get(state, key);
    if (f != NULL && strcmp(f, "read") == 0)
        return json_pack("{s:O,s:b,s:O}", "id", id, "ok", 1, "value", cur ? cur : json_null());
    if (f != NULL && strcmp(f, "write") == 0 && value != NULL) {
        if (persist(key, value) != 0)
            return json_pack("{s:O,s:b,s:b,s:s}", "id", id, "ok", 0, "definite", 0, "error", "io");
        json_object_set(state, key, value);
        return json_pack("{s:O,s:b}", "id", id, "ok", 1);
    }
    if (f != NULL && strcmp(f, "cas") == 0 && json_array_size(value) == 2) {
        json_t *old = json_array_get(value, 0), *neu = json_array_get(value, 1);
        bool match = json_is_null(old) ? cur == NULL : cur != NULL && json_equal(cur, old);
        if (!match)
            return json_pack("{s:O,s:b,s:b,s:s}", "id", id, "ok", 0, "definite", 1, "error",
                             "cas mismatch");
        if (persist(key, neu) != 0)
            return json_pack("{s:O,s:b,s:b,s:s}", "id", id, "ok", 0, "definite", 0, "error", "io");
        json_object_set(state, key, neu);
        return json_pack("{s:O,s:b}", "id", id, "ok", 1);
    }
    return json_pack("{s:O,s:b,s:b,s:s}", "id", id ? id : json_null(), "ok", 0, "definite", 1,
                     "error", "unsupported");
}

/* Answers every complete line in c's buffer; returns -1 to close the connection. */
static int serve_lines(struct conn *c)
{
    size_t start = 0;
    for (char *nl; (nl = memchr(c->buf + start, '\n', c->len - start)) != NULL;) {
        size_t n = (size_t)(nl - (c->buf + start));
        json_t *req = json_loadb(c->buf + start, n, 0, NULL);
        start += n + 1;
        if (req == NULL)
            return -1;
        json_t *ans = handle(req);
        json_decref(req);
        char *out = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
        json_decref(ans);
        if (out == NULL)
            return -1;
        size_t len = strlen(out);
        out[len] = '\n';
        /* Blocking socket: a slow client stalls the loop (fine for a test); a gone one errors. */
        ssize_t w = send(c->fd, out, len + 1, MSG_NOSIGNAL);
        free(out);
        if (w != (ssize_t)(len + 1))
            return -1;
    }
    memmove(c->buf, c->buf + start, c->len - start);
    c->len -= start;
    return c->len < LINE_MAX_BYTES ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *listen_at = NULL, *data = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--listen") == 0)
            listen_at = argv[i + 1];
        else if (strcmp(argv[i], "--data") == 0)
            data = argv[i + 1];
    }
    char host[64];
    const char *colon = listen_at ? strrchr(listen_at, ':') : NULL;
    if (colon == NULL || (size_t)(colon - listen_at) >= sizeof host) {
        fprintf(stderr, "usage: toy_kv --listen ADDR:PORT [--data DIR]\n");
        return 2;
    }
    memcpy(host, listen_at, (size_t)(colon - listen_at));
    host[colon - listen_at] = '\0';
    signal(SIGPIPE, SIG_IGN);
    state = json_object();
    if (data != NULL)
        replay(data);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 64) != 0) {
        fprintf(stderr, "toy_kv: listen on %s: %s\n", listen_at, strerror(errno));
        return 1;
    }
    struct conn conns[MAX_CONNS];
    size_t n = 0;
    for (;;) {
        struct pollfd pfd[MAX_CONNS + 1];
        pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (size_t i = 0; i < n; i++)
            pfd[i + 1] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        if (poll(pfd, n + 1, -1) < 0 && errno != EINTR)
            return 1;
        for (size_t i = n; i-- > 0;) {
            if (!(pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            struct conn *c = &conns[i];
            if (c->cap - c->len < 65536) {
                c->cap = c->cap ? c->cap * 2 : 65536;
                c->buf = realloc(c->buf, c->cap);
            }
            ssize_t r = c->buf ? read(c->fd, c->buf + c->len, c->cap - c->len) : -1;
            if (r > 0)
                c->len += (size_t)r;
            if (r <= 0 || serve_lines(c) != 0) {
                close(c->fd);
                free(c->buf);
                conns[i] = conns[--n];
            }
        }
        if ((pfd[0].revents & POLLIN) && n < MAX_CONNS) {
            int fd = accept(lfd, NULL, NULL);
            if (fd >= 0)
                conns[n++] = (struct conn){.fd = fd};
        }
    }
}
