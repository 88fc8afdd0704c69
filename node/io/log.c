/* log.c - the durable Raft log: segment files of CRC-checked records, group commit, recovery,
 * truncation and compaction (format and contracts in log.h). */
#include "node/io/log.h"

#include "common/alloc.h"
#include "common/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC        0x31524c46u /* "FLR1" little-endian */
#define FLUSH_BYTES  (1u << 20)  /* write the append buffer once it holds this much */
#define SEG_NAME_LEN 28          /* "seg-" + 20 digits + ".log" */

/* ==== CRC-32C ==== */

static const uint32_t crc_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
    0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b, 0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
    0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
    0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a, 0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
    0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
    0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a, 0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
    0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
    0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927, 0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
    0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
    0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859, 0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
    0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
    0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c, 0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
    0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
    0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c, 0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
    0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
    0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d, 0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
    0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
    0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff, 0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
    0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
    0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee, 0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
    0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
    0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e, 0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p,
                                                         size_t n)
{
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n-- > 0)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t io_log_crc32c(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc_hw(crc, p, n);
#endif
    while (n-- > 0)
        crc = crc_table[(crc ^ *p++) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* ==== Helpers ==== */

void io_log__put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void io_log__put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

uint32_t io_log__get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t io_log__get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void seg_name(char *out, size_t size, uint64_t first)
{
    snprintf(out, size, "seg-%020" PRIu64 ".log", first);
}

/* Parses "seg-<20 digits>.log" strictly; returns false for any other name. */
static bool seg_parse(const char *name, uint64_t *first)
{
    if (strlen(name) != SEG_NAME_LEN || strncmp(name, "seg-", 4) != 0 ||
        strcmp(name + 24, ".log") != 0)
        return false;
    uint64_t v = 0;
    for (int i = 4; i < 24; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v == 0)
        return false;
    *first = v;
    return true;
}

int io_log__pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Reads exactly n bytes; -EIO if the file is shorter. */
int io_log__pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            return -EIO;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

struct hdr {
    uint32_t len, type;
    uint64_t index, term;
};

/* Checks the record at p (avail bytes to the end of the file). `want` is the
 * index it must carry (0: any). Returns 0, FL_ELIMIT for an oversized length,
 * or FL_EPARSE, with the reason in `reason` (128 bytes). */
static int rec_check(const unsigned char *p, uint64_t avail, uint32_t max, uint64_t want,
                     struct hdr *h, char *reason)
{
    if (avail < IO_LOG_HEADER) {
        snprintf(reason, 128, "torn header (%" PRIu64 " of %d bytes)", avail, IO_LOG_HEADER);
        return FL_EPARSE;
    }
    uint32_t magic = io_log__get32(p);
    if (magic != MAGIC) {
        snprintf(reason, 128, "bad magic 0x%08" PRIx32, magic);
        return FL_EPARSE;
    }
    h->len = io_log__get32(p + 4);
    if (h->len > max) {
        snprintf(reason, 128, "length %" PRIu32 " exceeds max_entry_bytes %" PRIu32, h->len, max);
        return FL_ELIMIT;
    }
    if ((uint64_t)IO_LOG_HEADER + h->len > avail) {
        snprintf(reason, 128,
                 "torn record (length %" PRIu32 ", %" PRIu64 " bytes follow the header)", h->len,
                 avail - IO_LOG_HEADER);
        return FL_EPARSE;
    }
    uint32_t crc = io_log_crc32c(0, p, 28);
    crc = io_log_crc32c(crc, p + IO_LOG_HEADER, h->len);
    if (crc != io_log__get32(p + 28)) {
        snprintf(reason, 128, "crc mismatch (stored 0x%08" PRIx32 ", computed 0x%08" PRIx32 ")",
                 io_log__get32(p + 28), crc);
        return FL_EPARSE;
    }
    h->index = io_log__get64(p + 8);
    h->term = io_log__get64(p + 16);
    h->type = io_log__get32(p + 24);
    if (want != 0 && h->index != want) {
        snprintf(reason, 128, "index %" PRIu64 " where %" PRIu64 " was expected", h->index, want);
        return FL_EPARSE;
    }
    if (h->type < RAFT_COMMAND || h->type > RAFT_CHANGE) {
        snprintf(reason, 128, "unknown entry type %" PRIu32, h->type);
        return FL_EPARSE;
    }
    if (h->term == 0) {
        snprintf(reason, 128, "term 0");
        return FL_EPARSE;
    }
    return 0;
}

/* Encodes a record header for a payload already in place at hdr+32. */
static void rec_encode(unsigned char *hdr, uint64_t index, uint64_t term, uint32_t type,
                       const void *payload, uint32_t len)
{
    io_log__put32(hdr, MAGIC);
    io_log__put32(hdr + 4, len);
    io_log__put64(hdr + 8, index);
    io_log__put64(hdr + 16, term);
    io_log__put32(hdr + 24, type);
    uint32_t crc = io_log_crc32c(0, hdr, 28);
    io_log__put32(hdr + 28, io_log_crc32c(crc, payload, len));
}

static int seg_push_rec(struct io_log__seg *s, const struct io_log__rec *r)
{
    if (s->n == s->cap) {
        uint64_t cap = s->cap ? s->cap * 2 : 64;
        struct io_log__rec *recs = fl_reallocarray(s->recs, cap, sizeof *recs);
        if (recs == NULL)
            return FL_ENOMEM;
        s->recs = recs;
        s->cap = cap;
    }
    s->recs[s->n++] = *r;
    return 0;
}

static uint64_t seg_last(const struct io_log__seg *s)
{
    return s->first + s->n - 1;
}

/* Index of the segment holding `index` (which must be stored). */
static size_t seg_find(const struct io_log *log, uint64_t index)
{
    size_t lo = 0, hi = log->n_segs - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (log->segs[mid].first <= index)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static int seg_cmp(const void *a, const void *b)
{
    const struct io_log__seg *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int refuse_failed(const struct io_log *log, char *errmsg)
{
    return fl_errorf(errmsg, log->failed,
                     "log %s: an earlier write failed (%s); reopen the log to recover", log->dir,
                     fl_strerror(log->failed));
}

/* Writes the append buffer to the active segment (no sync). */
static int flush(struct io_log *log, char *errmsg)
{
    if (log->failed)
        return refuse_failed(log, errmsg);
    if (log->wlen == 0)
        return 0;
    int rc = io_log__pwrite_all(log->fd, log->wbuf, log->wlen, log->wbuf_off);
    if (rc < 0) {
        log->failed = rc;
        char name[64];
        seg_name(name, sizeof name, log->segs[log->n_segs - 1].first);
        return fl_errorf(errmsg, rc, "log %s/%s: write at offset %" PRIu64 ": %s", log->dir, name,
                         log->wbuf_off, fl_strerror(rc));
    }
    log->wbuf_off += log->wlen;
    log->wlen = 0;
    log->data_dirty = true;
    log->stats.writes++;
    return 0;
}

static int sync_dir(struct io_log *log, char *errmsg)
{
    if (fsync(log->dirfd) < 0) {
        int rc = -errno;
        log->failed = rc;
        return fl_errorf(errmsg, rc, "log %s: fsync of the directory: %s", log->dir,
                         fl_strerror(rc));
    }
    log->dir_dirty = false;
    log->stats.dir_syncs++;
    return 0;
}

static int sync_fd(struct io_log *log, int fd, uint64_t first, char *errmsg)
{
    if (fdatasync(fd) < 0) {
        int rc = -errno;
        char name[64];
        seg_name(name, sizeof name, first);
        log->failed = rc;
        return fl_errorf(errmsg, rc, "log %s/%s: fdatasync: %s", log->dir, name, fl_strerror(rc));
    }
    log->stats.syncs++;
    return 0;
}

static int open_seg(struct io_log *log, uint64_t first, int flags, char *errmsg)
{
    char name[64];
    seg_name(name, sizeof name, first);
    int fd = openat(log->dirfd, name, flags | O_CLOEXEC, 0644);
    if (fd < 0) {
        int rc = -errno;
        return fl_errorf(errmsg, rc, "log %s/%s: open: %s", log->dir, name, fl_strerror(rc));
    }
    return fd;
}

/* Removes the file of segment i and its memory; the caller fixes up the array. */
static int unlink_seg(struct io_log *log, size_t i, char *errmsg)
{
    char name[64];
    seg_name(name, sizeof name, log->segs[i].first);
    if (i == log->n_segs - 1 && log->fd >= 0) {
        close(log->fd);
        log->fd = -1;
        log->gen++;
        log->wlen = 0;
        log->wbuf_off = 0;
        log->data_dirty = false;
    }
    fl_free(log->segs[i].recs);
    log->segs[i].recs = NULL;
    if (unlinkat(log->dirfd, name, 0) < 0 && errno != ENOENT) {
        int rc = -errno;
        log->failed = rc;
        return fl_errorf(errmsg, rc, "log %s/%s: unlink: %s", log->dir, name, fl_strerror(rc));
    }
    log->dir_dirty = true;
    return 0;
}

/* ==== Recovery ==== */

/* Looks for a valid record starting after `from` in buf[0..size). */
static bool valid_record_after(const unsigned char *buf, uint64_t size, uint64_t from, uint32_t max,
                               uint64_t *at)
{
    static const unsigned char magic[4] = {0x46, 0x4c, 0x52, 0x31};
    uint64_t q = from;
    while (q + IO_LOG_HEADER <= size) {
        const unsigned char *m = memmem(buf + q, size - q, magic, 4);
        if (m == NULL)
            return false;
        q = (uint64_t)(m - buf);
        struct hdr h;
        char reason[128];
        if (q + IO_LOG_HEADER <= size && rec_check(buf + q, size - q, max, 0, &h, reason) == 0) {
            *at = q;
            return true;
        }
        q++;
    }
    return false;
}

/* Scans segment i: fills its records; cuts a bad tail if it is the last one. */
static int scan_seg(struct io_log *log, size_t i, uint64_t *prev_term, struct io_log_recovery *rec,
                    char *errmsg)
{
    struct io_log__seg *s = &log->segs[i];
    bool last = i == log->n_segs - 1;
    char name[64];
    seg_name(name, sizeof name, s->first);
    if (i > 0) {
        const struct io_log__seg *p = &log->segs[i - 1];
        if (s->first != p->first + p->n)
            return fl_errorf(errmsg, FL_EPARSE,
                             "log %s/%s: starts at index %" PRIu64 " but the previous segment "
                             "ends at %" PRIu64 " (missing or overlapping segment)",
                             log->dir, name, s->first, p->first + p->n - 1);
    }
    int fd = open_seg(log, s->first, last ? O_RDWR : O_RDONLY, errmsg);
    if (fd < 0)
        return fd;
    int rc;
    unsigned char *buf = NULL;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = fl_errorf(errmsg, -errno, "log %s/%s: stat: %s", log->dir, name, strerror(errno));
        goto out;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0 && !last) {
        rc = fl_errorf(errmsg, FL_EPARSE, "log %s/%s: empty segment before the last one", log->dir,
                       name);
        goto out;
    }
    if (size > 0) {
        buf = fl_malloc(size);
        if (buf == NULL) {
            rc = fl_errorf(errmsg, FL_ENOMEM, "log %s/%s: no memory to read %" PRIu64 " bytes",
                           log->dir, name, size);
            goto out;
        }
        rc = io_log__pread_all(fd, buf, size, 0);
        if (rc < 0) {
            fl_errorf(errmsg, rc, "log %s/%s: read: %s", log->dir, name, fl_strerror(rc));
            goto out;
        }
    }
    uint64_t off = 0, idx = s->first;
    char reason[128] = "";
    int bad = 0;
    while (off < size) {
        struct hdr h;
        bad = rec_check(buf + off, size - off, log->opt.max_entry_bytes, idx, &h, reason);
        if (bad == 0 && h.term < *prev_term) {
            snprintf(reason, sizeof reason, "term %" PRIu64 " after term %" PRIu64, h.term,
                     *prev_term);
            bad = FL_EPARSE;
        }
        if (bad != 0)
            break;
        struct io_log__rec r = {.off = off, .term = h.term, .len = h.len, .type = (uint8_t)h.type};
        rc = seg_push_rec(s, &r);
        if (rc < 0) {
            fl_errorf(errmsg, rc, "log %s/%s: no memory for the record index", log->dir, name);
            goto out;
        }
        *prev_term = h.term;
        off += IO_LOG_HEADER + h.len;
        idx++;
    }
    if (bad != 0) {
        uint64_t at;
        struct hdr h;
        char ignored[128];
        if (bad == FL_ELIMIT &&
            rec_check(buf + off, size - off, UINT32_MAX, idx, &h, ignored) == 0) {
            /* An intact record written under a larger limit: never cut it. */
            rc = fl_errorf(errmsg, bad,
                           "log %s/%s offset %" PRIu64 ": record %" PRIu64
                           ": %s (the record is intact: raise max_entry_bytes)",
                           log->dir, name, off, idx, reason);
            goto out;
        }
        if (!last) {
            rc = fl_errorf(errmsg, bad,
                           "log %s/%s offset %" PRIu64 ": record %" PRIu64 ": %s (not the last "
                           "segment: refusing to truncate acknowledged entries)",
                           log->dir, name, off, idx, reason);
            goto out;
        }
        if (valid_record_after(buf, size, off + 1, log->opt.max_entry_bytes, &at)) {
            rc = fl_errorf(errmsg, bad,
                           "log %s/%s offset %" PRIu64 ": record %" PRIu64 ": %s (a valid record "
                           "follows at offset %" PRIu64 ": not a torn tail, refusing to truncate)",
                           log->dir, name, off, idx, reason, at);
            goto out;
        }
        if (ftruncate(fd, (off_t)off) < 0 || fdatasync(fd) < 0) {
            rc = fl_errorf(errmsg, -errno,
                           "log %s/%s: cutting the torn tail at offset %" PRIu64 ": %s", log->dir,
                           name, off, strerror(errno));
            goto out;
        }
        if (rec != NULL) {
            rec->truncated = true;
            rec->from_index = idx;
            snprintf(rec->segment, sizeof rec->segment, "%s", name);
            rec->offset = off;
            rec->bytes_dropped = size - off;
            snprintf(rec->reason, sizeof rec->reason, "%s", reason);
        }
    }
    s->size = off;
    rc = 0;
out:
    fl_free(buf);
    close(fd);
    return rc;
}

static int list_dir(struct io_log *log, struct io_log_recovery *rec, char *errmsg)
{
    int dfd = dup(log->dirfd);
    if (dfd < 0)
        return fl_errorf(errmsg, -errno, "log %s: dup: %s", log->dir, strerror(errno));
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return fl_errorf(errmsg, -errno, "log %s: opendir: %s", log->dir, strerror(errno));
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t first;
        size_t len = strlen(de->d_name);
        if (len == SEG_NAME_LEN + 4 && strncmp(de->d_name, "seg-", 4) == 0 &&
            strcmp(de->d_name + SEG_NAME_LEN, ".tmp") == 0) {
            /* Left by an interrupted incremental compaction; the segment itself is intact. */
            if (unlinkat(log->dirfd, de->d_name, 0) < 0) {
                rc = fl_errorf(errmsg, -errno, "log %s/%s: unlink: %s", log->dir, de->d_name,
                               strerror(errno));
                break;
            }
            log->dir_dirty = true;
            if (rec != NULL)
                rec->tmp_removed++;
            continue;
        }
        if (!seg_parse(de->d_name, &first))
            continue;
        if (log->n_segs == log->cap_segs) {
            size_t cap = log->cap_segs ? log->cap_segs * 2 : 16;
            struct io_log__seg *segs = fl_reallocarray(log->segs, cap, sizeof *segs);
            if (segs == NULL) {
                rc = fl_errorf(errmsg, FL_ENOMEM, "log %s: no memory for segments", log->dir);
                break;
            }
            log->segs = segs;
            log->cap_segs = cap;
        }
        memset(&log->segs[log->n_segs], 0, sizeof *log->segs);
        log->segs[log->n_segs++].first = first;
    }
    closedir(d);
    if (rc == 0 && log->n_segs > 1)
        qsort(log->segs, log->n_segs, sizeof *log->segs, seg_cmp);
    return rc;
}

int io_log_open(struct io_log *log, const char *dir, const struct io_log_options *opt,
                struct io_log_recovery *rec, char *errmsg)
{
    int rc;
    memset(log, 0, sizeof *log);
    log->fd = -1;
    log->dirfd = -1;
    if (opt != NULL)
        log->opt = *opt;
    if (log->opt.segment_bytes == 0)
        log->opt.segment_bytes = IO_LOG_SEGMENT_BYTES_DEFAULT;
    if (log->opt.max_entry_bytes == 0)
        log->opt.max_entry_bytes = IO_LOG_MAX_ENTRY_BYTES_DEFAULT;
    if (rec != NULL)
        memset(rec, 0, sizeof *rec);
    log->dir = fl_strdup(dir);
    if (log->dir == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "log %s: out of memory", dir);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        rc = fl_errorf(errmsg, -errno, "log %s: mkdir: %s", dir, strerror(errno));
        goto err;
    }
    log->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (log->dirfd < 0) {
        rc = fl_errorf(errmsg, -errno, "log %s: open: %s", dir, strerror(errno));
        goto err;
    }
    rc = list_dir(log, rec, errmsg);
    if (rc < 0)
        goto err;
    uint64_t prev_term = 0;
    for (size_t i = 0; i < log->n_segs; i++) {
        rc = scan_seg(log, i, &prev_term, rec, errmsg);
        if (rc < 0)
            goto err;
    }
    if (log->dir_dirty) {
        rc = sync_dir(log, errmsg);
        if (rc < 0)
            goto err;
    }
    if (log->n_segs > 0) {
        struct io_log__seg *s = &log->segs[log->n_segs - 1];
        log->fd = open_seg(log, s->first, O_RDWR, errmsg);
        if (log->fd < 0) {
            rc = log->fd;
            goto err;
        }
        log->wbuf_off = s->size;
        log->synced_off = s->size;
    }
    if (rec != NULL) {
        rec->first_index = io_log_first_index(log);
        rec->last_index = io_log_last_index(log);
        rec->segments = log->n_segs;
    }
    return 0;
err:
    io_log_close(log);
    return rc;
}

void io_log_close(struct io_log *log)
{
    char errmsg[FL_ERRMSG_SIZE];
    if (log->fd >= 0) {
        (void)flush(log, errmsg);
        close(log->fd);
    }
    if (log->dirfd >= 0)
        close(log->dirfd);
    for (size_t i = 0; i < log->n_segs; i++)
        fl_free(log->segs[i].recs);
    fl_free(log->segs);
    fl_free(log->wbuf);
    fl_free(log->dir);
    memset(log, 0, sizeof *log);
    log->fd = -1;
    log->dirfd = -1;
}

/* ==== Bounds ==== */

uint64_t io_log_first_index(const struct io_log *log)
{
    /* Only the last segment may be empty, so an empty first segment means an empty log. */
    if (log->n_segs == 0 || log->segs[0].n == 0)
        return 0;
    return log->segs[0].first;
}

uint64_t io_log_last_index(const struct io_log *log)
{
    if (log->n_segs == 0 || log->segs[0].n == 0)
        return 0;
    const struct io_log__seg *s = &log->segs[log->n_segs - 1];
    return s->first + s->n - 1;
}

uint64_t io_log_term_at(const struct io_log *log, uint64_t index)
{
    uint64_t lo = io_log_first_index(log), hi = io_log_last_index(log);
    if (lo == 0 || index < lo || index > hi)
        return 0;
    const struct io_log__seg *s = &log->segs[seg_find(log, index)];
    return s->recs[index - s->first].term;
}

uint64_t io_log_bytes(const struct io_log *log)
{
    uint64_t total = 0;
    for (size_t i = 0; i < log->n_segs; i++)
        total += log->segs[i].size;
    return total;
}

/* ==== Append and sync ==== */

/* Makes sure the active segment can take a record with `index`, rolling over
 * to a new segment file when it is full. */
static int ensure_active(struct io_log *log, uint64_t index, char *errmsg)
{
    int rc;
    if (log->n_segs > 0) {
        struct io_log__seg *s = &log->segs[log->n_segs - 1];
        if (s->n == 0) {
            if (s->first == index)
                return 0;
            /* An empty log restarting at another index (after a snapshot). The
             * removal is made durable now so that the empty file cannot reappear
             * in front of the new segment after a crash. */
            rc = unlink_seg(log, log->n_segs - 1, errmsg);
            log->n_segs--;
            if (rc == 0)
                rc = sync_dir(log, errmsg);
            if (rc < 0)
                return rc;
        } else if (s->size < log->opt.segment_bytes) {
            return 0;
        } else {
            rc = flush(log, errmsg);
            if (rc == 0 && log->data_dirty)
                rc = sync_fd(log, log->fd, s->first, errmsg);
            if (rc < 0)
                return rc;
            close(log->fd);
            log->fd = -1;
            log->data_dirty = false;
        }
    }
    if (log->n_segs == log->cap_segs) {
        size_t cap = log->cap_segs ? log->cap_segs * 2 : 16;
        struct io_log__seg *segs = fl_reallocarray(log->segs, cap, sizeof *segs);
        if (segs == NULL)
            return fl_errorf(errmsg, FL_ENOMEM, "log %s: no memory for segments", log->dir);
        log->segs = segs;
        log->cap_segs = cap;
    }
    int fd = open_seg(log, index, O_RDWR | O_CREAT | O_EXCL, errmsg);
    if (fd < 0) {
        log->failed = fd;
        return fd;
    }
    memset(&log->segs[log->n_segs], 0, sizeof *log->segs);
    log->segs[log->n_segs++].first = index;
    log->fd = fd;
    log->gen++;
    log->wbuf_off = 0;
    log->synced_off = 0;
    log->wlen = 0;
    log->dir_dirty = true;
    return 0;
}

int io_log_append(struct io_log *log, uint64_t index, const struct raft_entry *entries, unsigned n,
                  char *errmsg)
{
    if (log->failed)
        return refuse_failed(log, errmsg);
    if (n == 0)
        return 0;
    uint64_t last = io_log_last_index(log);
    if (index == 0 || (last != 0 && index != last + 1))
        return fl_errorf(errmsg, FL_EUSAGE,
                         "log %s: append at index %" PRIu64 " but the log ends at %" PRIu64,
                         log->dir, index, last);
    uint64_t prev = io_log_term_at(log, last);
    for (unsigned i = 0; i < n; i++) {
        uint32_t len = entries[i].buf ? entries[i].buf->len : 0;
        if (entries[i].term < prev)
            return fl_errorf(errmsg, FL_EUSAGE,
                             "log %s: entry %" PRIu64 ": term %" PRIu64
                             " is lower than the term %" PRIu64 " before it",
                             log->dir, index + i, entries[i].term, prev);
        prev = entries[i].term;
        if (entries[i].type < RAFT_COMMAND || entries[i].type > RAFT_CHANGE)
            return fl_errorf(errmsg, FL_EUSAGE, "log %s: entry %" PRIu64 ": unknown type %d",
                             log->dir, index + i, entries[i].type);
        if (entries[i].term == 0)
            return fl_errorf(errmsg, FL_EUSAGE, "log %s: entry %" PRIu64 ": term 0", log->dir,
                             index + i);
        if (len > log->opt.max_entry_bytes)
            return fl_errorf(errmsg, FL_ELIMIT,
                             "log %s: entry %" PRIu64 ": %" PRIu32
                             " bytes exceeds max_entry_bytes %" PRIu32,
                             log->dir, index + i, len, log->opt.max_entry_bytes);
    }
    for (unsigned i = 0; i < n; i++) {
        const struct raft_entry *e = &entries[i];
        uint32_t len = e->buf ? e->buf->len : 0;
        int rc = ensure_active(log, index + i, errmsg);
        if (rc < 0)
            return rc;
        struct io_log__seg *s = &log->segs[log->n_segs - 1];
        size_t need = log->wlen + IO_LOG_HEADER + len;
        if (need > log->wcap) {
            size_t cap = log->wcap ? log->wcap : 4096;
            while (cap < need)
                cap *= 2;
            unsigned char *w = fl_realloc(log->wbuf, cap);
            if (w == NULL)
                return fl_errorf(errmsg, FL_ENOMEM, "log %s: no memory for the append buffer",
                                 log->dir);
            log->wbuf = w;
            log->wcap = cap;
        }
        struct io_log__rec r = {
            .off = s->size, .term = e->term, .len = len, .type = (uint8_t)e->type};
        rc = seg_push_rec(s, &r);
        if (rc < 0)
            return fl_errorf(errmsg, rc, "log %s: no memory for the record index", log->dir);
        unsigned char *p = log->wbuf + log->wlen;
        if (len > 0)
            memcpy(p + IO_LOG_HEADER, e->buf->data, len);
        rec_encode(p, index + i, e->term, (uint32_t)e->type, p + IO_LOG_HEADER, len);
        log->wlen += IO_LOG_HEADER + len;
        s->size += IO_LOG_HEADER + len;
        log->stats.appended++;
        if (log->wlen >= FLUSH_BYTES) {
            rc = flush(log, errmsg);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int io_log_write(struct io_log *log, char *errmsg)
{
    int rc = flush(log, errmsg);
    return rc < 0 ? rc : 0;
}

int io_log_sync(struct io_log *log, char *errmsg)
{
    int rc = flush(log, errmsg);
    if (rc < 0)
        return rc;
    if (log->data_dirty && log->fd >= 0) {
        rc = sync_fd(log, log->fd, log->segs[log->n_segs - 1].first, errmsg);
        if (rc < 0)
            return rc;
        log->data_dirty = false;
    }
    log->synced_off = log->wbuf_off;
    if (log->dir_dirty)
        return sync_dir(log, errmsg);
    return 0;
}

int io_log_sync_begin(struct io_log *log, struct io_log_sync_job *job, char *errmsg)
{
    job->fd = job->dirfd = -1;
    job->rc = 0;
    int rc = flush(log, errmsg);
    if (rc < 0)
        return rc;
    job->off = log->wbuf_off;
    job->gen = log->gen;
    if (log->data_dirty && log->fd >= 0) {
        job->fd = fcntl(log->fd, F_DUPFD_CLOEXEC, 0);
        if (job->fd < 0) {
            rc = -errno;
            log->failed = rc;
            return fl_errorf(errmsg, rc, "log %s: dup: %s", log->dir, fl_strerror(rc));
        }
        log->data_dirty = false;
    }
    if (log->dir_dirty) {
        job->dirfd = fcntl(log->dirfd, F_DUPFD_CLOEXEC, 0);
        if (job->dirfd < 0) {
            rc = -errno;
            log->failed = rc;
            if (job->fd >= 0)
                close(job->fd);
            job->fd = -1;
            return fl_errorf(errmsg, rc, "log %s: dup: %s", log->dir, fl_strerror(rc));
        }
        log->dir_dirty = false;
    }
    return 0;
}

void io_log_sync_run(struct io_log_sync_job *job)
{
    job->rc = 0;
    if (job->fd >= 0 && fdatasync(job->fd) < 0)
        job->rc = -errno;
    if (job->rc == 0 && job->dirfd >= 0 && fsync(job->dirfd) < 0)
        job->rc = -errno;
}

int io_log_sync_end(struct io_log *log, struct io_log_sync_job *job, char *errmsg)
{
    bool data = job->fd >= 0, dir = job->dirfd >= 0;
    if (data)
        close(job->fd);
    if (dir)
        close(job->dirfd);
    job->fd = job->dirfd = -1;
    if (job->rc < 0) {
        log->failed = job->rc;
        return fl_errorf(errmsg, job->rc, "log %s: %s: %s", log->dir,
                         data ? "fdatasync" : "fsync of the directory", fl_strerror(job->rc));
    }
    log->stats.syncs += data;
    log->stats.dir_syncs += dir;
    /* Only the same file at the same size or longer is durable up to off. */
    if (job->gen == log->gen && job->off > log->synced_off && job->off <= log->wbuf_off)
        log->synced_off = job->off;
    return 0;
}

/* ==== Truncation and loading ==== */

int io_log_truncate(struct io_log *log, uint64_t from, char *errmsg)
{
    if (log->failed)
        return refuse_failed(log, errmsg);
    uint64_t last = io_log_last_index(log);
    if (last == 0 || from > last)
        return 0;
    int rc = flush(log, errmsg);
    if (rc < 0)
        return rc;
    while (log->n_segs > 0 && log->segs[log->n_segs - 1].first >= from) {
        rc = unlink_seg(log, log->n_segs - 1, errmsg);
        log->n_segs--;
        if (rc < 0)
            return rc;
    }
    /* Deletions first and durable: a deleted later segment reappearing after a
     * crash behind a shortened one would leave a gap that recovery refuses. */
    if (log->dir_dirty) {
        rc = sync_dir(log, errmsg);
        if (rc < 0)
            return rc;
    }
    if (log->n_segs > 0) {
        struct io_log__seg *s = &log->segs[log->n_segs - 1];
        if (log->fd < 0) {
            /* The older segment becomes active; it was synced when it rolled over. */
            log->fd = open_seg(log, s->first, O_RDWR, errmsg);
            if (log->fd < 0) {
                log->failed = log->fd;
                return log->fd;
            }
            log->wbuf_off = s->size;
            log->synced_off = s->size;
            log->data_dirty = false;
            log->gen++;
        }
        uint64_t k = from - s->first;
        if (k < s->n) {
            uint64_t size = s->recs[k].off;
            if (ftruncate(log->fd, (off_t)size) < 0) {
                rc = -errno;
                log->failed = rc;
                return fl_errorf(errmsg, rc, "log %s: truncating at index %" PRIu64 ": %s",
                                 log->dir, from, fl_strerror(rc));
            }
            rc = sync_fd(log, log->fd, s->first, errmsg);
            if (rc < 0)
                return rc;
            log->data_dirty = false;
            log->gen++;
            s->n = k;
            s->size = size;
            log->wbuf_off = size;
            if (log->synced_off > size)
                log->synced_off = size;
        }
    }
    return 0;
}

void io_log_entries_free(struct raft_entry *entries, uint64_t n)
{
    if (entries == NULL)
        return;
    for (uint64_t i = 0; i < n; i++)
        raft_buf_unref(entries[i].buf);
    fl_free(entries);
}

/* Loads records k0..k1 of segment si into out[]. */
static int load_seg(struct io_log *log, size_t si, uint64_t k0, uint64_t k1, struct raft_entry *out,
                    char *errmsg)
{
    struct io_log__seg *s = &log->segs[si];
    char name[64];
    seg_name(name, sizeof name, s->first);
    uint64_t start = s->recs[k0].off;
    uint64_t end = s->recs[k1].off + IO_LOG_HEADER + s->recs[k1].len;
    bool own = !(si == log->n_segs - 1 && log->fd >= 0);
    int fd = own ? open_seg(log, s->first, O_RDONLY, errmsg) : log->fd;
    if (fd < 0)
        return fd;
    int rc = 0;
    unsigned char *buf = fl_malloc(end - start);
    if (buf == NULL) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "log %s/%s: no memory to read %" PRIu64 " bytes",
                       log->dir, name, end - start);
        goto out;
    }
    rc = io_log__pread_all(fd, buf, end - start, start);
    if (rc < 0) {
        fl_errorf(errmsg, rc, "log %s/%s: read at offset %" PRIu64 ": %s", log->dir, name, start,
                  rc == -EIO ? "file shorter than expected" : fl_strerror(rc));
        goto out;
    }
    for (uint64_t k = k0; k <= k1; k++) {
        const struct io_log__rec *r = &s->recs[k];
        struct hdr h;
        char reason[128];
        const unsigned char *p = buf + (r->off - start);
        rc = rec_check(p, end - r->off, log->opt.max_entry_bytes, s->first + k, &h, reason);
        if (rc == 0 && h.len != r->len) {
            snprintf(reason, sizeof reason, "length changed since the log was opened");
            rc = FL_EPARSE;
        }
        if (rc < 0) {
            fl_errorf(errmsg, rc, "log %s/%s offset %" PRIu64 ": record %" PRIu64 ": %s", log->dir,
                      name, r->off, s->first + k, reason);
            goto out;
        }
        struct raft_entry *e = &out[k - k0];
        e->term = h.term;
        e->type = (int)h.type;
        e->buf = NULL;
        if (h.len > 0 || h.type != RAFT_NOOP) {
            e->buf = raft_buf_new(p + IO_LOG_HEADER, h.len);
            if (e->buf == NULL) {
                rc = fl_errorf(errmsg, FL_ENOMEM, "log %s: no memory for entry %" PRIu64, log->dir,
                               s->first + k);
                goto out;
            }
        }
    }
out:
    fl_free(buf);
    if (own)
        close(fd);
    return rc;
}

int io_log_load(struct io_log *log, uint64_t first, uint64_t last, struct raft_entry **out,
                char *errmsg)
{
    *out = NULL;
    uint64_t lo = io_log_first_index(log), hi = io_log_last_index(log);
    if (lo == 0 || first < lo || last > hi || first > last)
        return fl_errorf(errmsg, FL_EUSAGE,
                         "log %s: load %" PRIu64 "..%" PRIu64 " outside the log %" PRIu64
                         "..%" PRIu64,
                         log->dir, first, last, lo, hi);
    int rc = flush(log, errmsg);
    if (rc < 0)
        return rc;
    uint64_t n = last - first + 1;
    struct raft_entry *entries = fl_calloc(n, sizeof *entries);
    if (entries == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "log %s: no memory for %" PRIu64 " entries", log->dir,
                         n);
    uint64_t idx = first;
    for (size_t si = seg_find(log, first); idx <= last; si++) {
        const struct io_log__seg *s = &log->segs[si];
        uint64_t top = seg_last(s) < last ? seg_last(s) : last;
        rc = load_seg(log, si, idx - s->first, top - s->first, entries + (idx - first), errmsg);
        if (rc < 0) {
            io_log_entries_free(entries, n);
            return rc;
        }
        idx = top + 1;
    }
    *out = entries;
    return 0;
}

/* ==== Compaction ==== */

int io_log_compact_prefix(struct io_log *log, uint64_t index, char *errmsg)
{
    if (log->failed)
        return refuse_failed(log, errmsg);
    size_t k = 0;
    int rc = 0;
    while (k < log->n_segs && log->segs[k].n > 0 && seg_last(&log->segs[k]) <= index) {
        rc = unlink_seg(log, k, errmsg);
        k++;
        if (rc < 0)
            break;
    }
    if (k > 0) {
        memmove(log->segs, log->segs + k, (log->n_segs - k) * sizeof *log->segs);
        log->n_segs -= k;
    }
    if (rc == 0 && log->dir_dirty)
        rc = sync_dir(log, errmsg);
    return rc;
}

void io_log_release(struct io_log *log, uint64_t index)
{
    uint64_t lo = io_log_first_index(log), hi = io_log_last_index(log);
    if (lo == 0 || index < lo || index > hi)
        return;
    struct io_log__seg *s = &log->segs[seg_find(log, index)];
    struct io_log__rec *r = &s->recs[index - s->first];
    if (r->type != RAFT_CHANGE)
        r->released = true;
}

static bool tombstone_candidate(const struct io_log__rec *r)
{
    return r->released && r->len > 0 && r->type != RAFT_CHANGE;
}

/* Rewrites segment si with its released records turned into tombstones. */
static int rewrite_seg(struct io_log *log, size_t si, struct io_log_compaction *out, char *errmsg)
{
    struct io_log__seg *s = &log->segs[si];
    char name[64], tmp[72];
    seg_name(name, sizeof name, s->first);
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    unsigned char *src = NULL, *dst = NULL;
    uint64_t *offs = NULL;
    int tfd = -1, rc;
    int fd = open_seg(log, s->first, O_RDONLY, errmsg);
    if (fd < 0)
        return fd;
    src = fl_malloc(s->size ? s->size : 1);
    dst = fl_malloc(s->size ? s->size : 1);
    offs = fl_reallocarray(NULL, s->n, sizeof *offs);
    if (src == NULL || dst == NULL || offs == NULL) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "log %s/%s: no memory to compact", log->dir, name);
        goto out;
    }
    rc = io_log__pread_all(fd, src, s->size, 0);
    if (rc < 0) {
        fl_errorf(errmsg, rc, "log %s/%s: read: %s", log->dir, name, fl_strerror(rc));
        goto out;
    }
    uint64_t w = 0, tombs = 0;
    for (uint64_t k = 0; k < s->n; k++) {
        const struct io_log__rec *r = &s->recs[k];
        struct hdr h;
        char reason[128];
        rc = rec_check(src + r->off, s->size - r->off, log->opt.max_entry_bytes, s->first + k, &h,
                       reason);
        if (rc < 0) {
            fl_errorf(errmsg, rc, "log %s/%s offset %" PRIu64 ": record %" PRIu64 ": %s", log->dir,
                      name, r->off, s->first + k, reason);
            goto out;
        }
        offs[k] = w;
        if (tombstone_candidate(r)) {
            rec_encode(dst + w, h.index, h.term, RAFT_NOOP, NULL, 0);
            w += IO_LOG_HEADER;
            tombs++;
        } else {
            memcpy(dst + w, src + r->off, IO_LOG_HEADER + h.len);
            w += IO_LOG_HEADER + h.len;
        }
    }
    tfd = openat(log->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (tfd < 0) {
        rc = fl_errorf(errmsg, -errno, "log %s/%s: create: %s", log->dir, tmp, strerror(errno));
        goto out;
    }
    rc = io_log__pwrite_all(tfd, dst, w, 0);
    if (rc == 0 && fdatasync(tfd) < 0)
        rc = -errno;
    if (rc == 0 && renameat(log->dirfd, tmp, log->dirfd, name) < 0)
        rc = -errno;
    if (rc < 0) {
        fl_errorf(errmsg, rc, "log %s/%s: writing the compacted segment: %s", log->dir, tmp,
                  fl_strerror(rc));
        unlinkat(log->dirfd, tmp, 0);
        goto out;
    }
    /* The rename happened: memory follows the new file before the directory sync. */
    if (out != NULL) {
        out->segments_rewritten++;
        out->tombstones += tombs;
        out->bytes_before += s->size;
        out->bytes_after += w;
    }
    for (uint64_t k = 0; k < s->n; k++) {
        struct io_log__rec *r = &s->recs[k];
        if (tombstone_candidate(r)) {
            r->len = 0;
            r->type = RAFT_NOOP;
        }
        r->released = false;
        r->off = offs[k];
    }
    s->size = w;
    rc = sync_dir(log, errmsg);
out:
    if (tfd >= 0)
        close(tfd);
    close(fd);
    fl_free(src);
    fl_free(dst);
    fl_free(offs);
    return rc;
}

int io_log_compact_incremental(struct io_log *log, double threshold, struct io_log_compaction *out,
                               char *errmsg)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (log->failed)
        return refuse_failed(log, errmsg);
    for (size_t i = 0; i + 1 < log->n_segs; i++) {
        const struct io_log__seg *s = &log->segs[i];
        uint64_t count = 0;
        for (uint64_t k = 0; k < s->n; k++)
            count += tombstone_candidate(&s->recs[k]);
        if (count == 0 || (double)count / (double)s->n <= threshold)
            continue;
        int rc = rewrite_seg(log, i, out, errmsg);
        if (rc < 0)
            return rc;
    }
    return 0;
}

uint64_t io_log_drop_unsynced(struct io_log *log)
{
    uint64_t dropped = log->wlen;
    log->wlen = 0;
    if (log->fd >= 0 && log->wbuf_off > log->synced_off) {
        dropped += log->wbuf_off - log->synced_off;
        if (ftruncate(log->fd, (off_t)log->synced_off) == 0)
            log->wbuf_off = log->synced_off;
        log->gen++;
    }
    log->data_dirty = false;
    return dropped;
}
