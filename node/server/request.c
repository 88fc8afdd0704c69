/* request.c - the hot client requests read without jansson (request.h). */
#include "node/server/request.h"

#include <string.h>

struct rd {
    const unsigned char *p, *end;
};

static void ws(struct rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

static bool lit(struct rd *r, char ch)
{
    ws(r);
    if (r->p >= r->end || *r->p != (unsigned char)ch)
        return false;
    r->p++;
    return true;
}

/* A string of printable ASCII without escapes: its bytes in [*s, *s + *n). */
static bool str(struct rd *r, const char **s, size_t *n)
{
    if (!lit(r, '"'))
        return false;
    const unsigned char *b = r->p;
    while (r->p < r->end && *r->p != '"') {
        if (*r->p < 0x20 || *r->p > 0x7e || *r->p == '\\')
            return false;
        r->p++;
    }
    if (r->p >= r->end)
        return false;
    *s = (const char *)b;
    *n = (size_t)(r->p - b);
    r->p++;
    return true;
}

/* An unsigned integer of at most 18 digits (below 10^18 < 2^63), no leading zero,
 * not followed by a fraction or an exponent (jansson would make it a real). */
static bool uint_(struct rd *r, uint64_t *v)
{
    ws(r);
    const unsigned char *b = r->p;
    uint64_t x = 0;
    while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && r->p - b < 19)
        x = x * 10 + (uint64_t)(*r->p++ - '0');
    size_t n = (size_t)(r->p - b);
    if (n == 0 || n > 18 || (n > 1 && *b == '0'))
        return false;
    if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E' ||
                          (*r->p >= '0' && *r->p <= '9')))
        return false;
    *v = x;
    return true;
}

static bool key_is(const char *k, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(k, want, n) == 0;
}

/* The op: {"name": string or uint, ...}, each name once, at most MAX_FIELDS. */
static json_t *op_object(struct rd *r)
{
    const char *names[SERVER_REQUEST_MAX_FIELDS];
    size_t lens[SERVER_REQUEST_MAX_FIELDS], n = 0;
    if (!lit(r, '{'))
        return NULL;
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        const char *k, *s;
        size_t kn, sn;
        if (n == SERVER_REQUEST_MAX_FIELDS || !str(r, &k, &kn) || !lit(r, ':'))
            goto fail;
        for (size_t i = 0; i < n; i++)
            if (lens[i] == kn && memcmp(names[i], k, kn) == 0)
                goto fail; /* a duplicate: jansson refuses it */
        names[n] = k;
        lens[n++] = kn;
        ws(r);
        json_t *v = NULL;
        uint64_t u;
        if (r->p < r->end && *r->p == '"') {
            if (!str(r, &s, &sn))
                goto fail;
            v = json_stringn_nocheck(s, sn);
        } else if (uint_(r, &u)) {
            v = json_integer((json_int_t)u);
        } else {
            goto fail;
        }
        if (v == NULL || json_object_setn_new_nocheck(o, k, kn, v) != 0)
            goto fail;
        if (lit(r, '}'))
            return o;
        if (!lit(r, ','))
            goto fail;
    }
fail:
    json_decref(o);
    return NULL;
}

int server_request_read(const unsigned char *body, size_t len, struct server_request *q)
{
    memset(q, 0, sizeof *q);
    struct rd r = {body, body + len};
    enum { F_TYPE, F_ID, F_SESSION, F_SEQ, F_ACK, F_HINT, F_INDEX, F_CONS, F_OP, F_N };
    bool seen[F_N] = {false};
    if (!lit(&r, '{'))
        return 0;
    for (unsigned n = 0;; n++) {
        const char *k, *s;
        size_t kn, sn;
        if (n == SERVER_REQUEST_MAX_FIELDS || !str(&r, &k, &kn) || !lit(&r, ':'))
            goto fail;
        int f = key_is(k, kn, "type")          ? F_TYPE
                : key_is(k, kn, "id")          ? F_ID
                : key_is(k, kn, "session")     ? F_SESSION
                : key_is(k, kn, "seq")         ? F_SEQ
                : key_is(k, kn, "command_ack") ? F_ACK
                : key_is(k, kn, "seq_hint")    ? F_HINT
                : key_is(k, kn, "index")       ? F_INDEX
                : key_is(k, kn, "consistency") ? F_CONS
                : key_is(k, kn, "op")          ? F_OP
                                               : -1;
        if (f < 0 || seen[f])
            goto fail; /* an extra field or a duplicate: jansson's to judge */
        seen[f] = true;
        bool ok = true;
        switch (f) {
        case F_TYPE:
            ok = str(&r, &s, &sn);
            if (ok && key_is(s, sn, "command"))
                q->type = SERVER_REQUEST_COMMAND;
            else if (ok && key_is(s, sn, "query"))
                q->type = SERVER_REQUEST_QUERY;
            else
                ok = false;
            break;
        case F_ID:
            ok = uint_(&r, &q->id);
            break;
        case F_SESSION:
            ok = uint_(&r, &q->session) && q->session != 0;
            break;
        case F_SEQ:
            ok = uint_(&r, &q->seq) && q->seq != 0;
            break;
        case F_ACK:
            ok = uint_(&r, &q->command_ack);
            break;
        case F_HINT:
            ok = uint_(&r, &q->seq_hint);
            break;
        case F_INDEX:
            ok = uint_(&r, &q->index);
            break;
        case F_CONS:
            ok = str(&r, &s, &sn);
            q->consistency = !ok                             ? NULL
                             : key_is(s, sn, "linearizable") ? "linearizable"
                             : key_is(s, sn, "lease")        ? "lease"
                             : key_is(s, sn, "sequential")   ? "sequential"
                                                             : NULL;
            ok = q->consistency != NULL;
            break;
        case F_OP:
            ok = (q->op = op_object(&r)) != NULL;
            break;
        }
        if (!ok)
            goto fail;
        if (lit(&r, '}'))
            break;
        if (!lit(&r, ','))
            goto fail;
    }
    ws(&r);
    if (r.p != r.end || !seen[F_TYPE] || !seen[F_ID] || !seen[F_SESSION] || !seen[F_OP])
        goto fail;
    if (q->type == SERVER_REQUEST_COMMAND && (!seen[F_SEQ] || seen[F_HINT] || seen[F_INDEX] ||
                                              seen[F_CONS]))
        goto fail;
    if (q->type == SERVER_REQUEST_QUERY && (seen[F_SEQ] || seen[F_ACK]))
        goto fail;
    if (q->type == SERVER_REQUEST_QUERY && q->consistency == NULL)
        q->consistency = "linearizable"; /* absent: as handle_request's default */
    return 1;
fail:
    json_decref(q->op);
    memset(q, 0, sizeof *q);
    return 0;
}
