/* request.c - the hot client requests read without jansson (request.h). */
#include "node/server/request.h"

#include "node/io/jscan.h"

#include <string.h>

/* Ids, sessions, seqs and the op's integers: below 10^18 (< 2^63), at most 18 digits. */
#define U_MAX 999999999999999999ull

/* The op: {"name": string or uint, ...}, each name once, at most MAX_FIELDS. */
static json_t *op_object(struct jscan *s)
{
    const char *names[SERVER_REQUEST_MAX_FIELDS];
    size_t lens[SERVER_REQUEST_MAX_FIELDS];
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    struct jscan_obj obj = {0};
    const char *k, *str;
    size_t kn, sn;
    int rc;
    while ((rc = jscan_key(s, &obj, &k, &kn)) == 0) {
        if (obj.n > SERVER_REQUEST_MAX_FIELDS)
            goto fail;
        for (size_t i = 0; i + 1 < obj.n; i++)
            if (lens[i] == kn && memcmp(names[i], k, kn) == 0)
                goto fail; /* a duplicate: jansson refuses it */
        names[obj.n - 1] = k;
        lens[obj.n - 1] = kn;
        json_t *v = NULL;
        uint64_t u;
        if (jscan_str(s, &str, &sn))
            v = json_stringn_nocheck(str, sn);
        else if (jscan_u64(s, U_MAX, &u))
            v = json_integer((json_int_t)u);
        else
            goto fail;
        if (v == NULL || json_object_setn_new_nocheck(o, k, kn, v) != 0)
            goto fail;
    }
    if (rc == JSCAN_END)
        return o;
fail:
    json_decref(o);
    return NULL;
}

int server_request_read(const unsigned char *body, size_t len, struct server_request *q)
{
    memset(q, 0, sizeof *q);
    struct jscan r;
    jscan_init(&r, body, len);
    enum { F_TYPE, F_ID, F_SESSION, F_SEQ, F_ACK, F_HINT, F_INDEX, F_CONS, F_OP, F_N };
    static const char *const names[F_N] = {"type",     "id",    "session",     "seq", "command_ack",
                                           "seq_hint", "index", "consistency", "op"};
    struct jscan_obj obj = {0};
    int f;
    /* An extra field or a duplicate gives up: jansson's to judge. */
    while ((f = jscan_field(&r, &obj, names, F_N)) >= 0) {
        const char *s;
        size_t sn;
        bool ok = true;
        switch (f) {
        case F_TYPE:
            ok = jscan_str(&r, &s, &sn);
            if (ok && jscan_is(s, sn, "command"))
                q->type = SERVER_REQUEST_COMMAND;
            else if (ok && jscan_is(s, sn, "query"))
                q->type = SERVER_REQUEST_QUERY;
            else
                ok = false;
            break;
        case F_ID:
            ok = jscan_u64(&r, U_MAX, &q->id);
            break;
        case F_SESSION:
            ok = jscan_u64(&r, U_MAX, &q->session) && q->session != 0;
            break;
        case F_SEQ:
            ok = jscan_u64(&r, U_MAX, &q->seq) && q->seq != 0;
            break;
        case F_ACK:
            ok = jscan_u64(&r, U_MAX, &q->command_ack);
            break;
        case F_HINT:
            ok = jscan_u64(&r, U_MAX, &q->seq_hint);
            break;
        case F_INDEX:
            ok = jscan_u64(&r, U_MAX, &q->index);
            break;
        case F_CONS:
            ok = jscan_str(&r, &s, &sn);
            q->consistency = !ok                               ? NULL
                             : jscan_is(s, sn, "linearizable") ? "linearizable"
                             : jscan_is(s, sn, "lease")        ? "lease"
                             : jscan_is(s, sn, "sequential")   ? "sequential"
                                                               : NULL;
            ok = q->consistency != NULL;
            break;
        case F_OP:
            ok = (q->op = op_object(&r)) != NULL;
            break;
        }
        if (!ok)
            goto fail;
    }
    const uint32_t need = 1u << F_TYPE | 1u << F_ID | 1u << F_SESSION | 1u << F_OP;
    const uint32_t command_only = 1u << F_SEQ | 1u << F_ACK;
    const uint32_t query_only = 1u << F_HINT | 1u << F_INDEX | 1u << F_CONS;
    if (f != JSCAN_END || !jscan_done(&r) || (obj.seen & need) != need)
        goto fail;
    if (q->type == SERVER_REQUEST_COMMAND && (!jscan_seen(&obj, F_SEQ) || (obj.seen & query_only)))
        goto fail;
    if (q->type == SERVER_REQUEST_QUERY && (obj.seen & command_only))
        goto fail;
    if (q->type == SERVER_REQUEST_QUERY && q->consistency == NULL)
        q->consistency = "linearizable"; /* absent: as handle_request's default */
    return 1;
fail:
    json_decref(q->op);
    memset(q, 0, sizeof *q);
    return 0;
}
