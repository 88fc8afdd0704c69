/* codec.c - Raft peer messages to and from JSON objects, with strict validation of decoded input.
 */
#include "node/io/codec.h"

#include "common/alloc.h"
#include "common/error.h"
#include "node/io/frame.h"
#include "node/io/jscan.h"

#include <inttypes.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ==== Names ==== */

static const char *const type_names[] = {
    [RAFT_APPEND] = "append",
    [RAFT_APPEND_RESULT] = "append_result",
    [RAFT_VOTE] = "vote",
    [RAFT_VOTE_RESULT] = "vote_result",
    [RAFT_SNAPSHOT] = "snapshot",
    [RAFT_SNAPSHOT_RESULT] = "snapshot_result",
    [RAFT_TIMEOUT_NOW] = "timeout_now",
};
#define N_TYPES ((int)(sizeof type_names / sizeof type_names[0]))

static const char *const entry_names[] = {
    [RAFT_COMMAND] = "command",
    [RAFT_NOOP] = "noop",
    [RAFT_CHANGE] = "change",
};
#define N_ENTRY_TYPES ((int)(sizeof entry_names / sizeof entry_names[0]))

static const char *const role_names[] = {
    [RAFT_VOTER] = "voter",
    [RAFT_PASSIVE] = "passive",
    [RAFT_RESERVE] = "reserve",
};
#define N_ROLES ((int)(sizeof role_names / sizeof role_names[0]))

const char *io_codec_type_name(int type)
{
    return type > 0 && type < N_TYPES ? type_names[type] : NULL;
}

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 1; i < n; i++)
        if (names[i] != NULL && strcmp(names[i], s) == 0)
            return i;
    return 0;
}

/* ==== Base64 (RFC 4648, standard alphabet, padded) ==== */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Writes the base64 of data[0..len) to s ((len + 2) / 3 * 4 bytes); returns that count. */
static size_t b64_write(char *s, const unsigned char *data, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        s[o++] = b64[v >> 18 & 63];
        s[o++] = b64[v >> 12 & 63];
        s[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
        s[o++] = i + 2 < len ? b64[v & 63] : '=';
    }
    return o;
}

/* Returns a new JSON string holding the base64 of data[0..len), or NULL. */
static json_t *b64_encode(const unsigned char *data, size_t len)
{
    char *s = fl_malloc((len + 2) / 3 * 4 + 1);
    if (s == NULL)
        return NULL;
    json_t *j = json_stringn(s, b64_write(s, data, len));
    fl_free(s);
    return j;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes canonical base64 text into a new raft_buf in *out; returns 0,
 * FL_ESHAPE for malformed text or FL_ENOMEM. */
static int b64_decode(const char *s, size_t len, struct raft_buf **out)
{
    *out = NULL;
    if (len % 4 != 0)
        return FL_ESHAPE;
    size_t pad = 0;
    if (len > 0 && s[len - 1] == '=')
        pad = len > 1 && s[len - 2] == '=' ? 2 : 1;
    size_t n = len / 4 * 3 - pad;
    if (n > UINT32_MAX)
        return FL_ESHAPE;
    struct raft_buf *b = raft_buf_new(NULL, n);
    if (b == NULL)
        return FL_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int v[4];
        for (int k = 0; k < 4; k++) {
            bool padded = last && k >= 4 - (int)pad;
            v[k] = padded ? (s[i + k] == '=' ? 0 : -1) : b64_value((unsigned char)s[i + k]);
            if (v[k] < 0)
                goto err_bad;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | v[3];
        size_t take = last ? 3 - pad : 3;
        /* Canonical form: the bits a padded group drops must be zero. */
        if (last && pad > 0 && (w & (pad == 2 ? 0xffffu : 0xffu)) != 0)
            goto err_bad;
        unsigned char bytes[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8),
                                  (unsigned char)w};
        memcpy(b->data + o, bytes, take);
        o += take;
    }
    *out = b;
    return 0;
err_bad:
    raft_buf_unref(b);
    return FL_ESHAPE;
}

/* ==== Encoding ==== */

struct enc {
    json_t *obj;
    int rc;
    char *errmsg;
    const char *what;
};

static void enc_set(struct enc *e, const char *key, json_t *v)
{
    if (e->rc != 0) {
        json_decref(v);
        return;
    }
    if (v == NULL || json_object_set_new(e->obj, key, v) != 0)
        e->rc = fl_errorf(e->errmsg, FL_ENOMEM, "%s: out of memory encoding %s", e->what, key);
}

static json_t *u64_json(struct enc *e, const char *key, uint64_t v)
{
    if (v > INT64_MAX) {
        if (e->rc == 0)
            e->rc = fl_errorf(e->errmsg, FL_ELIMIT, "%s: %s: %llu does not fit the wire range",
                              e->what, key, (unsigned long long)v);
        return NULL;
    }
    return json_integer((json_int_t)v);
}

static void enc_u64(struct enc *e, const char *key, uint64_t v)
{
    json_t *j = u64_json(e, key, v);
    if (j != NULL || e->rc == 0)
        enc_set(e, key, j);
}

static void enc_bool(struct enc *e, const char *key, bool v)
{
    enc_set(e, key, json_boolean(v));
}

static void enc_data(struct enc *e, const char *key, const struct raft_buf *b)
{
    if (b != NULL)
        enc_set(e, key, b64_encode(b->data, b->len));
}

static json_t *enc_entries(struct enc *e, const struct raft_message *m)
{
    json_t *a = json_array();
    if (a == NULL)
        return NULL;
    for (unsigned i = 0; i < m->append.n && e->rc == 0; i++) {
        const struct raft_entry *ent = &m->append.entries[i];
        if (ent->type <= 0 || ent->type >= N_ENTRY_TYPES) {
            e->rc = fl_errorf(e->errmsg, FL_ESHAPE, "append: entries[%u].type: unknown (%d)", i,
                              ent->type);
            break;
        }
        struct enc sub = {json_object(), 0, e->errmsg, "append: entry"};
        if (sub.obj == NULL) {
            e->rc = fl_errorf(e->errmsg, FL_ENOMEM, "append: out of memory");
            break;
        }
        enc_u64(&sub, "term", ent->term);
        enc_set(&sub, "type", json_string(entry_names[ent->type]));
        enc_data(&sub, "data", ent->buf);
        if (sub.rc == 0 && json_array_append_new(a, sub.obj) != 0)
            sub.rc = fl_errorf(e->errmsg, FL_ENOMEM, "append: out of memory");
        else if (sub.rc != 0)
            json_decref(sub.obj);
        e->rc = sub.rc;
    }
    return a;
}

static json_t *enc_conf(struct enc *e, const struct raft_configuration *c)
{
    json_t *a = json_array();
    if (a == NULL)
        return NULL;
    for (unsigned i = 0; i < c->n && i < RAFT_MAX_SERVERS && e->rc == 0; i++) {
        int role = c->servers[i].role;
        if (role <= 0 || role >= N_ROLES) {
            e->rc =
                fl_errorf(e->errmsg, FL_ESHAPE, "snapshot: conf[%u].role: unknown (%d)", i, role);
            break;
        }
        struct enc sub = {json_object(), 0, e->errmsg, "snapshot: conf"};
        if (sub.obj == NULL) {
            e->rc = fl_errorf(e->errmsg, FL_ENOMEM, "snapshot: out of memory");
            break;
        }
        enc_u64(&sub, "id", c->servers[i].id);
        enc_set(&sub, "role", json_string(role_names[role]));
        if (sub.rc == 0 && json_array_append_new(a, sub.obj) != 0)
            sub.rc = fl_errorf(e->errmsg, FL_ENOMEM, "snapshot: out of memory");
        else if (sub.rc != 0)
            json_decref(sub.obj);
        e->rc = sub.rc;
    }
    return a;
}

int io_codec_encode(const struct raft_message *m, json_t **out, char *errmsg)
{
    *out = NULL;
    const char *name = io_codec_type_name(m->type);
    if (name == NULL)
        return fl_errorf(errmsg, FL_ESHAPE, "message: unknown type %d", m->type);
    struct enc e = {json_object(), 0, errmsg, name};
    if (e.obj == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "%s: out of memory", name);
    enc_set(&e, "type", json_string(name));
    enc_u64(&e, "from", m->from);
    enc_u64(&e, "to", m->to);
    enc_u64(&e, "term", m->term);
    switch (m->type) {
    case RAFT_APPEND:
        if (m->append.n > IO_CODEC_MAX_ENTRIES && e.rc == 0)
            e.rc = fl_errorf(errmsg, FL_ELIMIT, "append: %u entries over the maximum of %u",
                             m->append.n, IO_CODEC_MAX_ENTRIES);
        enc_u64(&e, "prev_index", m->append.prev_index);
        enc_u64(&e, "prev_term", m->append.prev_term);
        enc_u64(&e, "commit", m->append.commit);
        enc_u64(&e, "round", m->append.round);
        enc_u64(&e, "leader", m->append.leader);
        if (e.rc == 0)
            enc_set(&e, "entries", enc_entries(&e, m));
        break;
    case RAFT_APPEND_RESULT:
        enc_bool(&e, "success", m->append_result.success);
        enc_u64(&e, "index", m->append_result.index);
        enc_u64(&e, "last_index", m->append_result.last_index);
        enc_u64(&e, "conflict_term", m->append_result.conflict_term);
        enc_u64(&e, "conflict_index", m->append_result.conflict_index);
        enc_u64(&e, "round", m->append_result.round);
        break;
    case RAFT_VOTE:
        enc_u64(&e, "last_index", m->vote.last_index);
        enc_u64(&e, "last_term", m->vote.last_term);
        enc_bool(&e, "pre", m->vote.pre);
        enc_bool(&e, "transfer", m->vote.transfer);
        break;
    case RAFT_VOTE_RESULT:
        enc_bool(&e, "granted", m->vote_result.granted);
        enc_bool(&e, "pre", m->vote_result.pre);
        break;
    case RAFT_SNAPSHOT:
        if (m->snapshot.conf.n > RAFT_MAX_SERVERS && e.rc == 0)
            e.rc = fl_errorf(errmsg, FL_ELIMIT, "snapshot: conf: %u servers over the maximum",
                             m->snapshot.conf.n);
        enc_u64(&e, "index", m->snapshot.index);
        enc_u64(&e, "snap_term", m->snapshot.term);
        enc_u64(&e, "conf_index", m->snapshot.conf_index);
        enc_u64(&e, "offset", m->snapshot.offset);
        enc_u64(&e, "round", m->snapshot.round);
        enc_bool(&e, "done", m->snapshot.done);
        if (e.rc == 0)
            enc_set(&e, "conf", enc_conf(&e, &m->snapshot.conf));
        enc_data(&e, "data", m->snapshot.chunk);
        break;
    case RAFT_SNAPSHOT_RESULT:
        enc_u64(&e, "index", m->snapshot_result.index);
        enc_u64(&e, "next_offset", m->snapshot_result.next_offset);
        enc_u64(&e, "round", m->snapshot_result.round);
        enc_bool(&e, "done", m->snapshot_result.done);
        break;
    case RAFT_TIMEOUT_NOW:
        break;
    }
    if (e.rc != 0) {
        json_decref(e.obj);
        return e.rc;
    }
    *out = e.obj;
    return 0;
}

/* ==== Encoding straight into a frame ==== */

/* Appends are most of the traffic (a batch of entries per follower per
 * loop iteration): they are written as text into the frame, the same bytes
 * io_frame_encode(io_codec_encode(m)) gives (tests/unit/node/io/test_codec.c
 * compares them), without a JSON tree per entry. */
struct tbuf {
    unsigned char *b;
    size_t len, cap;
    bool oom;
};

static bool tb_reserve(struct tbuf *t, size_t n)
{
    if (t->oom)
        return false;
    if (t->len + n <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + n)
        cap *= 2;
    unsigned char *b = fl_realloc(t->b, cap);
    if (b == NULL) {
        t->oom = true;
        return false;
    }
    t->b = b;
    t->cap = cap;
    return true;
}

static void tb_put(struct tbuf *t, const char *s, size_t n)
{
    if (tb_reserve(t, n)) {
        memcpy(t->b + t->len, s, n);
        t->len += n;
    }
}

/* Appends the decimal digits of v (snprintf's format parsing cost more than
 * the rest of an entry's encoding). */
static void tb_dec(struct tbuf *t, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[sizeof tmp - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    tb_put(t, tmp + sizeof tmp - n, n);
}

static void tb_u64(struct tbuf *t, const char *key, uint64_t v)
{
    size_t k = strlen(key);
    if (tb_reserve(t, k + 4)) {
        t->b[t->len++] = ',';
        t->b[t->len++] = '"';
        memcpy(t->b + t->len, key, k);
        t->len += k;
        t->b[t->len++] = '"';
        t->b[t->len++] = ':';
    }
    tb_dec(t, v);
}

static void tb_b64(struct tbuf *t, const unsigned char *data, size_t len)
{
    if (tb_reserve(t, (len + 2) / 3 * 4))
        t->len += b64_write((char *)t->b + t->len, data, len);
}

/* Hands the frame over (header filled in), or frees it and says why not. */
static int tb_finish(struct tbuf *t, size_t max, unsigned char **out, size_t *out_len,
                     char *errmsg)
{
    if (t->oom) {
        fl_free(t->b);
        return fl_errorf(errmsg, FL_ENOMEM, "frame: out of memory");
    }
    if (t->len - IO_FRAME_HEADER > max) {
        fl_free(t->b);
        return fl_errorf(errmsg, FL_ELIMIT, "frame: body over the maximum of %zu bytes", max);
    }
    io_frame_put_header(t->b, (uint32_t)(t->len - IO_FRAME_HEADER));
    *out = t->b;
    *out_len = t->len;
    return 0;
}

static int encode_append_frame(const struct raft_message *m, size_t max, unsigned char **out,
                               size_t *out_len, char *errmsg)
{
    uint64_t nums[] = {m->from,           m->to,            m->term,
                       m->append.prev_index, m->append.prev_term, m->append.commit,
                       m->append.round,      m->append.leader};
    unsigned n_entries = m->append.n;
    const struct raft_entry *entries = m->append.entries;
    static const char *const names[] = {"from",      "to",     "term",  "prev_index",
                                        "prev_term", "commit", "round", "leader"};
    for (unsigned i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (nums[i] > INT64_MAX)
            return fl_errorf(errmsg, FL_ELIMIT, "append: %s: %llu does not fit the wire range",
                             names[i], (unsigned long long)nums[i]);
    if (n_entries > IO_CODEC_MAX_ENTRIES)
        return fl_errorf(errmsg, FL_ELIMIT, "append: %u entries over the maximum of %u",
                         n_entries, IO_CODEC_MAX_ENTRIES);
    for (unsigned i = 0; i < n_entries; i++) {
        const struct raft_entry *ent = &entries[i];
        if (ent->type <= 0 || ent->type >= N_ENTRY_TYPES)
            return fl_errorf(errmsg, FL_ESHAPE, "append: entries[%u].type: unknown (%d)", i,
                             ent->type);
        if (ent->term > INT64_MAX)
            return fl_errorf(errmsg, FL_ELIMIT,
                             "append: entry: term: %llu does not fit the wire range",
                             (unsigned long long)ent->term);
    }
    struct tbuf t = {0};
    tb_put(&t, "\0\0\0\0{\"type\":\"append\"", IO_FRAME_HEADER + 16);
    for (unsigned i = 0; i < sizeof nums / sizeof nums[0]; i++)
        tb_u64(&t, names[i], nums[i]);
    tb_put(&t, ",\"entries\":[", 12);
    for (unsigned i = 0; i < n_entries; i++) {
        const struct raft_entry *ent = &entries[i];
        tb_put(&t, &",{\"term\":"[i == 0], i == 0 ? 8 : 9);
        tb_dec(&t, ent->term);
        tb_put(&t, ",\"type\":\"", 9);
        tb_put(&t, entry_names[ent->type], strlen(entry_names[ent->type]));
        tb_put(&t, "\"", 1);
        if (ent->buf != NULL) {
            tb_put(&t, ",\"data\":\"", 9);
            tb_b64(&t, ent->buf->data, ent->buf->len);
            tb_put(&t, "\"", 1);
        }
        tb_put(&t, "}", 1);
        if (t.len - IO_FRAME_HEADER > max)
            break;
    }
    tb_put(&t, "]}", 2);
    return tb_finish(&t, max, out, out_len, errmsg);
}

/* The follower's answer to every append, written directly like an append. */
static int encode_append_result_frame(const struct raft_message *m, size_t max,
                                      unsigned char **out, size_t *out_len, char *errmsg)
{
    bool success = m->append_result.success;
    uint64_t nums[] = {m->from,
                       m->to,
                       m->term,
                       m->append_result.index,
                       m->append_result.last_index,
                       m->append_result.conflict_term,
                       m->append_result.conflict_index,
                       m->append_result.round};
    static const char *const names[] = {"from",          "to",           "term",
                                        "index",         "last_index",   "conflict_term",
                                        "conflict_index", "round"};
    for (unsigned i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (nums[i] > INT64_MAX)
            return fl_errorf(errmsg, FL_ELIMIT,
                             "append_result: %s: %llu does not fit the wire range", names[i],
                             (unsigned long long)nums[i]);
    struct tbuf t = {0};
    tb_put(&t, "\0\0\0\0{\"type\":\"append_result\"", IO_FRAME_HEADER + 23);
    for (unsigned i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        tb_u64(&t, names[i], nums[i]);
        if (i == 2)
            tb_put(&t, success ? ",\"success\":true" : ",\"success\":false",
                   success ? 15 : 16);
    }
    tb_put(&t, "}", 1);
    return tb_finish(&t, max, out, out_len, errmsg);
}

int io_codec_encode_frame(const struct raft_message *m, size_t max, unsigned char **out,
                          size_t *out_len, char *errmsg)
{
    *out = NULL;
    *out_len = 0;
    size_t lim = max == 0 ? IO_FRAME_MAX_DEFAULT : max > UINT32_MAX ? UINT32_MAX : max;
    if (m->type == RAFT_APPEND)
        return encode_append_frame(m, lim, out, out_len, errmsg);
    if (m->type == RAFT_APPEND_RESULT)
        return encode_append_result_frame(m, lim, out, out_len, errmsg);
    json_t *obj;
    int rc = io_codec_encode(m, &obj, errmsg);
    if (rc < 0)
        return rc;
    rc = io_frame_encode(obj, max, out, out_len, errmsg);
    json_decref(obj);
    return rc;
}

/* ==== Decoding ==== */

/* Reads the required non-negative integer `key` of `o` into *v. */
static int get_u64(const json_t *o, const char *what, const char *key, uint64_t *v, char *errmsg)
{
    json_t *j = json_object_get(o, key);
    if (j == NULL)
        return fl_errorf(errmsg, FL_ESHAPE, "%s: %s: missing", what, key);
    if (!json_is_integer(j))
        return fl_errorf(errmsg, FL_ESHAPE, "%s: %s: expected an integer", what, key);
    json_int_t x = json_integer_value(j);
    if (x < 0)
        return fl_errorf(errmsg, FL_ESHAPE, "%s: %s: negative", what, key);
    *v = (uint64_t)x;
    return 0;
}

static int get_bool(const json_t *o, const char *what, const char *key, bool *v, char *errmsg)
{
    json_t *j = json_object_get(o, key);
    if (j == NULL)
        return fl_errorf(errmsg, FL_ESHAPE, "%s: %s: missing", what, key);
    if (!json_is_boolean(j))
        return fl_errorf(errmsg, FL_ESHAPE, "%s: %s: expected true or false", what, key);
    *v = json_is_true(j);
    return 0;
}

/* Reads the optional base64 string `key` into a new buffer (NULL when absent). */
static int get_data(const json_t *o, const char *what, const char *key, struct raft_buf **b,
                    char *errmsg)
{
    *b = NULL;
    json_t *j = json_object_get(o, key);
    if (j == NULL)
        return 0;
    if (!json_is_string(j))
        return fl_errorf(errmsg, FL_ESHAPE, "%s: %s: expected a base64 string", what, key);
    int rc = b64_decode(json_string_value(j), json_string_length(j), b);
    if (rc == FL_ENOMEM)
        return fl_errorf(errmsg, rc, "%s: %s: out of memory", what, key);
    if (rc < 0)
        return fl_errorf(errmsg, rc, "%s: %s: invalid base64", what, key);
    return 0;
}

/* Reads the required string `key` and maps it through names[1..n); 0 if unknown. */
static int get_name(const json_t *o, const char *what, const char *key, const char *const *names,
                    int n, int *v, char *errmsg)
{
    json_t *j = json_object_get(o, key);
    if (j == NULL)
        return fl_errorf(errmsg, FL_ESHAPE, "%s: %s: missing", what, key);
    if (!json_is_string(j))
        return fl_errorf(errmsg, FL_ESHAPE, "%s: %s: expected a string", what, key);
    *v = lookup(names, n, json_string_value(j));
    if (*v == 0)
        return fl_errorf(errmsg, FL_ESHAPE, "%s: %s: unknown value \"%.40s\"", what, key,
                         json_string_value(j));
    return 0;
}

static int dec_entries(const json_t *o, struct raft_message *m, char *errmsg)
{
    json_t *a = json_object_get(o, "entries");
    if (a == NULL)
        return fl_errorf(errmsg, FL_ESHAPE, "append: entries: missing");
    if (!json_is_array(a))
        return fl_errorf(errmsg, FL_ESHAPE, "append: entries: expected an array");
    size_t n = json_array_size(a);
    if (n > IO_CODEC_MAX_ENTRIES)
        return fl_errorf(errmsg, FL_ELIMIT, "append: entries: %zu over the maximum of %u", n,
                         IO_CODEC_MAX_ENTRIES);
    if (n == 0)
        return 0;
    m->append.entries = fl_calloc(n, sizeof *m->append.entries);
    if (m->append.entries == NULL)
        return fl_errorf(errmsg, FL_ENOMEM, "append: entries: out of memory");
    m->append.n = (unsigned)n; /* every slot is zeroed, so release is safe from here */
    for (size_t i = 0; i < n; i++) {
        struct raft_entry *ent = &m->append.entries[i];
        json_t *jo = json_array_get(a, i);
        char what[48];
        snprintf(what, sizeof what, "append: entries[%zu]", i);
        if (!json_is_object(jo))
            return fl_errorf(errmsg, FL_ESHAPE, "%s: expected an object", what);
        int rc;
        if ((rc = get_u64(jo, what, "term", &ent->term, errmsg)) < 0 ||
            (rc = get_name(jo, what, "type", entry_names, N_ENTRY_TYPES, &ent->type, errmsg)) < 0 ||
            (rc = get_data(jo, what, "data", &ent->buf, errmsg)) < 0)
            return rc;
        if (ent->term == 0)
            return fl_errorf(errmsg, FL_ESHAPE, "%s: term: zero", what);
        if (ent->type != RAFT_NOOP && ent->buf == NULL)
            return fl_errorf(errmsg, FL_ESHAPE, "%s: data: missing", what);
        struct raft_configuration c;
        if (ent->type == RAFT_CHANGE && raft_configuration_decode(ent->buf, &c) != 0)
            return fl_errorf(errmsg, FL_ESHAPE, "%s: data: not an encoded configuration", what);
    }
    return 0;
}

static int dec_conf(const json_t *o, struct raft_configuration *c, char *errmsg)
{
    json_t *a = json_object_get(o, "conf");
    if (a == NULL)
        return fl_errorf(errmsg, FL_ESHAPE, "snapshot: conf: missing");
    if (!json_is_array(a))
        return fl_errorf(errmsg, FL_ESHAPE, "snapshot: conf: expected an array");
    size_t n = json_array_size(a);
    if (n > RAFT_MAX_SERVERS)
        return fl_errorf(errmsg, FL_ELIMIT, "snapshot: conf: %zu servers over the maximum of %d", n,
                         RAFT_MAX_SERVERS);
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < n; i++) {
        json_t *jo = json_array_get(a, i);
        char what[48];
        snprintf(what, sizeof what, "snapshot: conf[%zu]", i);
        if (!json_is_object(jo))
            return fl_errorf(errmsg, FL_ESHAPE, "%s: expected an object", what);
        int rc;
        struct raft_server *s = &c->servers[i];
        if ((rc = get_u64(jo, what, "id", &s->id, errmsg)) < 0 ||
            (rc = get_name(jo, what, "role", role_names, N_ROLES, &s->role, errmsg)) < 0)
            return rc;
        if (s->id == 0)
            return fl_errorf(errmsg, FL_ESHAPE, "%s: id: zero", what);
        for (size_t k = 0; k < i; k++)
            if (c->servers[k].id == s->id)
                return fl_errorf(errmsg, FL_ESHAPE, "%s: id: %llu listed twice", what,
                                 (unsigned long long)s->id);
    }
    c->n = (unsigned)n;
    return 0;
}

static int dec_body(const json_t *o, struct raft_message *m, const char *w, char *errmsg)
{
    int rc = 0;
    switch (m->type) {
    case RAFT_APPEND:
        if ((rc = get_u64(o, w, "prev_index", &m->append.prev_index, errmsg)) < 0 ||
            (rc = get_u64(o, w, "prev_term", &m->append.prev_term, errmsg)) < 0 ||
            (rc = get_u64(o, w, "commit", &m->append.commit, errmsg)) < 0 ||
            (rc = get_u64(o, w, "round", &m->append.round, errmsg)) < 0 ||
            (rc = get_u64(o, w, "leader", &m->append.leader, errmsg)) < 0)
            return rc;
        if (m->append.leader == 0)
            return fl_errorf(errmsg, FL_ESHAPE, "%s: leader: zero", w);
        return dec_entries(o, m, errmsg);
    case RAFT_APPEND_RESULT:
        if ((rc = get_bool(o, w, "success", &m->append_result.success, errmsg)) < 0 ||
            (rc = get_u64(o, w, "index", &m->append_result.index, errmsg)) < 0 ||
            (rc = get_u64(o, w, "last_index", &m->append_result.last_index, errmsg)) < 0 ||
            (rc = get_u64(o, w, "conflict_term", &m->append_result.conflict_term, errmsg)) < 0 ||
            (rc = get_u64(o, w, "conflict_index", &m->append_result.conflict_index, errmsg)) < 0 ||
            (rc = get_u64(o, w, "round", &m->append_result.round, errmsg)) < 0)
            return rc;
        return 0;
    case RAFT_VOTE:
        if ((rc = get_u64(o, w, "last_index", &m->vote.last_index, errmsg)) < 0 ||
            (rc = get_u64(o, w, "last_term", &m->vote.last_term, errmsg)) < 0 ||
            (rc = get_bool(o, w, "pre", &m->vote.pre, errmsg)) < 0 ||
            (rc = get_bool(o, w, "transfer", &m->vote.transfer, errmsg)) < 0)
            return rc;
        return 0;
    case RAFT_VOTE_RESULT:
        if ((rc = get_bool(o, w, "granted", &m->vote_result.granted, errmsg)) < 0 ||
            (rc = get_bool(o, w, "pre", &m->vote_result.pre, errmsg)) < 0)
            return rc;
        return 0;
    case RAFT_SNAPSHOT:
        if ((rc = get_u64(o, w, "index", &m->snapshot.index, errmsg)) < 0 ||
            (rc = get_u64(o, w, "snap_term", &m->snapshot.term, errmsg)) < 0 ||
            (rc = get_u64(o, w, "conf_index", &m->snapshot.conf_index, errmsg)) < 0 ||
            (rc = get_u64(o, w, "offset", &m->snapshot.offset, errmsg)) < 0 ||
            (rc = get_u64(o, w, "round", &m->snapshot.round, errmsg)) < 0 ||
            (rc = get_bool(o, w, "done", &m->snapshot.done, errmsg)) < 0 ||
            (rc = dec_conf(o, &m->snapshot.conf, errmsg)) < 0)
            return rc;
        if (m->snapshot.index == 0)
            return fl_errorf(errmsg, FL_ESHAPE, "%s: index: zero", w);
        if (m->snapshot.conf_index > m->snapshot.index)
            return fl_errorf(errmsg, FL_ESHAPE, "%s: conf_index: beyond the snapshot index", w);
        return get_data(o, w, "data", &m->snapshot.chunk, errmsg);
    case RAFT_SNAPSHOT_RESULT:
        if ((rc = get_u64(o, w, "index", &m->snapshot_result.index, errmsg)) < 0 ||
            (rc = get_u64(o, w, "next_offset", &m->snapshot_result.next_offset, errmsg)) < 0 ||
            (rc = get_u64(o, w, "round", &m->snapshot_result.round, errmsg)) < 0 ||
            (rc = get_bool(o, w, "done", &m->snapshot_result.done, errmsg)) < 0)
            return rc;
        return 0;
    case RAFT_TIMEOUT_NOW:
        return 0;
    }
    return fl_errorf(errmsg, FL_ESHAPE, "%s: unknown type", w);
}

int io_codec_decode(const json_t *obj, struct raft_message *m, char *errmsg)
{
    memset(m, 0, sizeof *m);
    if (!json_is_object(obj))
        return fl_errorf(errmsg, FL_ESHAPE, "message: expected an object");
    json_t *t = json_object_get(obj, "type");
    if (t == NULL)
        return fl_errorf(errmsg, FL_ESHAPE, "message: type: missing");
    if (!json_is_string(t))
        return fl_errorf(errmsg, FL_ESHAPE, "message: type: expected a string");
    int type = lookup(type_names, N_TYPES, json_string_value(t));
    if (type == 0)
        return fl_errorf(errmsg, FL_ESHAPE, "message: type: unknown type \"%.40s\"",
                         json_string_value(t));
    m->type = type;
    const char *w = type_names[type];
    int rc;
    if ((rc = get_u64(obj, w, "from", &m->from, errmsg)) < 0 ||
        (rc = get_u64(obj, w, "to", &m->to, errmsg)) < 0 ||
        (rc = get_u64(obj, w, "term", &m->term, errmsg)) < 0)
        goto err_release;
    if (m->from == 0) {
        rc = fl_errorf(errmsg, FL_ESHAPE, "%s: from: zero", w);
        goto err_release;
    }
    if (m->to == 0) {
        rc = fl_errorf(errmsg, FL_ESHAPE, "%s: to: zero", w);
        goto err_release;
    }
    if ((rc = dec_body(obj, m, w, errmsg)) < 0)
        goto err_release;
    return 0;
err_release:
    raft_message_release(m);
    memset(m, 0, sizeof *m);
    return rc;
}

void io_codec_message_free(struct raft_message *m)
{
    raft_message_release(m);
}

/* ==== Decoding frame bodies: a hand-written path for the hot messages ==== */

/* The follower decodes an append per batch and the leader an append_result
 * per follower and batch; through jansson that was a tree of objects and a
 * base64 string per entry, then the copy into raft buffers (17% of a
 * follower's CPU at 128 clients). This reader handles exactly the shape our
 * encoders write for those two types: one object, keys and strings of
 * printable ASCII without escapes, integers 0..2^63-1 without sign, fraction
 * or exponent, every required key once and no other key. It refuses
 * nothing: on anything outside that subset (or out of memory) it gives up
 * and the body takes the jansson path (io_frame_parse_body, io_codec_decode),
 * which accepts and refuses as before. So this path changes what is decoded
 * only in speed: tests/fuzz/fuzz_peer_body.c checks that whatever it accepts,
 * the jansson path accepts as the same message. The tokens and the key loop
 * are node/io/jscan.h's, shared with the client and state readers. */

/* One entry object: {"term":T,"type":"...","data":"base64"} in any order. */
static bool rd_entry(struct jscan *s, struct raft_entry *ent)
{
    enum { E_TERM, E_TYPE, E_DATA, N_E };
    static const char *const names[N_E] = {"term", "type", "data"};
    struct jscan_obj o = {0};
    int key;
    while ((key = jscan_field(s, &o, names, N_E)) >= 0) {
        const char *str;
        size_t n;
        if (key == E_TERM) {
            if (!jscan_u64(s, INT64_MAX, &ent->term) || ent->term == 0)
                return false;
        } else if (key == E_TYPE) {
            if (!jscan_str(s, &str, &n))
                return false;
            for (int i = 1; i < N_ENTRY_TYPES && ent->type == 0; i++)
                if (jscan_is(str, n, entry_names[i]))
                    ent->type = i;
            if (ent->type == 0)
                return false;
        } else {
            /* Base64 has no quote or escape: the string ends at the next quote
             * and b64_decode checks every character. */
            if (!jscan_ch(s, '"'))
                return false;
            const unsigned char *q = memchr(s->p, '"', (size_t)(s->end - s->p));
            if (q == NULL || b64_decode((const char *)s->p, (size_t)(q - s->p), &ent->buf) != 0)
                return false;
            s->p = q + 1;
        }
    }
    if (key != JSCAN_END || !jscan_seen(&o, E_TERM) || !jscan_seen(&o, E_TYPE) ||
        (ent->type != RAFT_NOOP && ent->buf == NULL))
        return false;
    struct raft_configuration c;
    return ent->type != RAFT_CHANGE || raft_configuration_decode(ent->buf, &c) == 0;
}

/* The entries array into m->append (entries, n): the array grows by doubling,
 * so a batch costs a few allocations plus one buffer per entry. */
static bool rd_entries(struct jscan *s, struct raft_message *m)
{
    if (!jscan_ch(s, '['))
        return false;
    if (jscan_ch(s, ']'))
        return true;
    unsigned cap = 0;
    do {
        if (m->append.n == IO_CODEC_MAX_ENTRIES)
            return false;
        if (m->append.n == cap) {
            unsigned ncap = cap ? cap * 2 : 16;
            struct raft_entry *e =
                fl_reallocarray(m->append.entries, ncap, sizeof *m->append.entries);
            if (e == NULL)
                return false;
            m->append.entries = e;
            cap = ncap;
        }
        struct raft_entry *ent = &m->append.entries[m->append.n++];
        memset(ent, 0, sizeof *ent); /* counted first, so a failure releases it */
        if (!rd_entry(s, ent))
            return false;
    } while (jscan_ch(s, ','));
    return jscan_ch(s, ']');
}

enum {
    K_TYPE, K_FROM, K_TO, K_TERM,
    K_PREV_INDEX, K_PREV_TERM, K_COMMIT, K_ROUND, K_LEADER, K_ENTRIES,
    K_SUCCESS, K_INDEX, K_LAST_INDEX, K_CONFLICT_TERM, K_CONFLICT_INDEX,
    N_KEYS
};
static const char *const key_names[N_KEYS] = {
    "type", "from", "to", "term",
    "prev_index", "prev_term", "commit", "round", "leader", "entries",
    "success", "index", "last_index", "conflict_term", "conflict_index",
};
#define KB(k) (1u << (k))
#define KEYS_COMMON (KB(K_TYPE) | KB(K_FROM) | KB(K_TO) | KB(K_TERM))
#define KEYS_APPEND                                                                               \
    (KEYS_COMMON | KB(K_PREV_INDEX) | KB(K_PREV_TERM) | KB(K_COMMIT) | KB(K_ROUND) |              \
     KB(K_LEADER) | KB(K_ENTRIES))
#define KEYS_APPEND_RESULT                                                                        \
    (KEYS_COMMON | KB(K_SUCCESS) | KB(K_INDEX) | KB(K_LAST_INDEX) | KB(K_CONFLICT_TERM) |         \
     KB(K_CONFLICT_INDEX) | KB(K_ROUND))

static bool rd_message(struct jscan *s, struct raft_message *m)
{
    uint64_t v[N_KEYS] = {0};
    struct jscan_obj o = {0};
    bool success = false;
    int key;
    while ((key = jscan_field(s, &o, key_names, N_KEYS)) >= 0) {
        bool ok;
        if (key == K_TYPE) {
            const char *str;
            size_t n;
            ok = jscan_str(s, &str, &n);
            m->type = !ok                                 ? 0
                      : jscan_is(str, n, "append")        ? RAFT_APPEND
                      : jscan_is(str, n, "append_result") ? RAFT_APPEND_RESULT
                                                          : 0;
            ok = m->type != 0;
        } else if (key == K_ENTRIES) {
            ok = rd_entries(s, m);
        } else if (key == K_SUCCESS) {
            ok = jscan_bool(s, &success);
        } else {
            ok = jscan_u64(s, INT64_MAX, &v[key]);
        }
        if (!ok)
            return false;
    }
    if (key != JSCAN_END || !jscan_done(s))
        return false;
    if (o.seen != (m->type == RAFT_APPEND ? KEYS_APPEND : KEYS_APPEND_RESULT))
        return false;
    if (v[K_FROM] == 0 || v[K_TO] == 0)
        return false;
    m->from = v[K_FROM];
    m->to = v[K_TO];
    m->term = v[K_TERM];
    if (m->type == RAFT_APPEND) {
        if (v[K_LEADER] == 0)
            return false;
        m->append.prev_index = v[K_PREV_INDEX];
        m->append.prev_term = v[K_PREV_TERM];
        m->append.commit = v[K_COMMIT];
        m->append.round = v[K_ROUND];
        m->append.leader = v[K_LEADER];
    } else {
        m->append_result.success = success;
        m->append_result.index = v[K_INDEX];
        m->append_result.last_index = v[K_LAST_INDEX];
        m->append_result.conflict_term = v[K_CONFLICT_TERM];
        m->append_result.conflict_index = v[K_CONFLICT_INDEX];
        m->append_result.round = v[K_ROUND];
    }
    return true;
}

int io_codec_decode_fast(const unsigned char *body, size_t len, struct raft_message *m)
{
    memset(m, 0, sizeof *m);
    struct jscan s;
    jscan_init(&s, body, len);
    if (rd_message(&s, m))
        return 1;
    /* Given up: only entries (read into m->append, whatever the type) are owned. */
    m->type = RAFT_APPEND;
    raft_message_release(m);
    memset(m, 0, sizeof *m);
    return 0;
}

int io_codec_decode_body(const unsigned char *body, size_t len, struct raft_message *m,
                         char *errmsg)
{
    if (io_codec_decode_fast(body, len, m) == 1)
        return 0;
    json_t *obj;
    int rc = io_frame_parse_body(body, len, &obj, errmsg);
    if (rc < 0)
        return rc;
    rc = io_codec_decode(obj, m, errmsg);
    json_decref(obj);
    return rc;
}
