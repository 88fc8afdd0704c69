/* sequential.c - sequential consistency and session guarantees (see
 * sequential.h for what is checked and why it is exact). */
#include "checker/sequential.h"

#include "checker/explain.h"
#include "common/alloc.h"
#include "common/edn.h"
#include "common/error.h"
#include "common/rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NONE UINT32_MAX       /* no writer known: the key's values are not unique */
#define INIT (UINT32_MAX - 1) /* the initial value's virtual writer, before every write */

#define DEFAULT_CONFIGS ((uint64_t)2000000)
#define MAX_ROUNDS      64 /* graph saturation rounds (each adds orders or stops) */

enum kind { E_PO, E_WR, E_WW, E_RW };

/* One operation in the check; ops[] is in invoke order (a node of the graph). */
struct sop {
    uint32_t hop, proc, pos, key;
    uint16_t f;           /* CHECKER_REG_* */
    bool optional;        /* indeterminate and unobserved (values not unique): may be skipped */
    int64_t a, b;         /* read/write value; cas a -> b */
    uint32_t writer;      /* reads and cas: the op whose value it read, INIT, or NONE */
    uint32_t rank;        /* position in the last topological order (search preference) */
    struct checker_op op; /* the model's form, for the search */
};

struct edge {
    uint32_t from, to, why;
    uint8_t kind;
};

struct ctx {
    const struct checker_history *h;
    struct checker_model m;
    bool kv;
    uint64_t initial;
    struct sop *ops;
    size_t n;
    uint32_t P, K;
    uint32_t *byproc, *pstart; /* ops by (process, position) */
    int64_t *pid;              /* dense process -> history process number */
    bool *unique;              /* per key */
    /* Writes grouped by (key, process) in process order. */
    uint32_t *wl, *gstart, *gproc, *kg; /* groups of wl; kg[key]..kg[key+1] */
    uint32_t ng;
    struct edge *edges;
    size_t n_edges, cap_edges;
    uint32_t *vc; /* n x P: 1 + the last position of process q that happens before (or is) op */
    uint32_t *out_start, *out_e, *in_start, *in_e; /* CSR over stored edges (edge indices) */
    bool graph;
    size_t max_memory;
    double deadline;
    struct checker_seq_result *res;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *checker_seq_rule_name(enum checker_seq_rule r)
{
    switch (r) {
    case CHECKER_SEQ_MONOTONIC_READS:
        return "monotonic-reads";
    case CHECKER_SEQ_READ_YOUR_WRITES:
        return "read-your-writes";
    case CHECKER_SEQ_NEVER_WRITTEN:
        return "never-written";
    case CHECKER_SEQ_ORDER:
    case CHECKER_SEQ_NO_ORDER:
        return "sequential-consistency";
    default:
        return "none";
    }
}

static bool is_write(const struct sop *o)
{
    return o->f == CHECKER_REG_WRITE || o->f == CHECKER_REG_CAS || o->f == CHECKER_REG_APPEND;
}

static bool is_read(const struct sop *o)
{
    return o->f == CHECKER_REG_READ || o->f == CHECKER_REG_CAS;
}

/* The value a writer leaves. */
static int64_t written(const struct sop *o)
{
    return o->f == CHECKER_REG_CAS ? o->b : o->a;
}

/* ==== (u64 -> u32) map, open addressing ==== */

struct map {
    uint64_t *k;
    uint32_t *v;
    size_t cap;
};

static int map_init(struct map *m, size_t n)
{
    m->cap = 16;
    while (m->cap < n * 2 + 2)
        m->cap *= 2;
    m->k = fl_calloc(m->cap, sizeof *m->k);
    m->v = fl_malloc(m->cap * sizeof *m->v);
    if (!m->k || !m->v)
        return FL_ENOMEM;
    memset(m->v, 0xff, m->cap * sizeof *m->v);
    return 0;
}

static void map_free(struct map *m)
{
    fl_free(m->k);
    fl_free(m->v);
}

/* The slot for key x (v == NONE when empty). */
static size_t map_slot(const struct map *m, uint64_t x)
{
    size_t j = fl_mix64(x) & (m->cap - 1);
    while (m->v[j] != NONE && m->k[j] != x)
        j = (j + 1) & (m->cap - 1);
    return j;
}

static uint64_t kv_key(uint32_t key, int64_t value)
{
    return fl_mix64((uint64_t)value) ^ ((uint64_t)key * 0x9e3779b97f4a7c15ULL);
}

/* ==== Describing operations ==== */

static void value_text(struct ctx *c, int64_t v, struct fl_buf *out)
{
    checker_atom_describe(&c->m, v, out);
}

static unsigned long long line_of(const struct ctx *c, uint32_t i)
{
    const struct checker_hop *hop = &c->h->ops[c->ops[i].hop];
    return hop->status == FL_EVENT_OK ? hop->ret_line : hop->call_line;
}

/* "process 3's read of 5 from "k1" (line 14)" */
static void op_text(struct ctx *c, uint32_t i, struct fl_buf *out)
{
    const struct sop *o = &c->ops[i];
    const struct checker_hop *hop = &c->h->ops[o->hop];
    fl_buf_printf(out, "process %lld's ", (long long)hop->process);
    switch (o->f) {
    case CHECKER_REG_READ:
        fl_buf_puts(out, "read of ");
        value_text(c, o->a, out);
        break;
    case CHECKER_REG_WRITE:
        fl_buf_puts(out, "write of ");
        value_text(c, o->a, out);
        break;
    case CHECKER_REG_CAS:
        fl_buf_puts(out, "cas from ");
        value_text(c, o->a, out);
        fl_buf_puts(out, " to ");
        value_text(c, o->b, out);
        break;
    default:
        fl_buf_puts(out, "append of ");
        value_text(c, o->a, out);
        break;
    }
    if (hop->key) {
        char *k = fl_edn_value_text(hop->key);
        fl_buf_printf(out, " %s %s", o->f == CHECKER_REG_READ ? "from" : "to", k ? k : "?");
        free(k);
    }
    fl_buf_printf(out, " (line %llu)", line_of(c, i));
}

static int add_step(struct ctx *c, uint32_t op, const char *text)
{
    struct checker_seq_result *r = c->res;
    struct checker_seq_step *s = fl_reallocarray(r->steps, r->n_steps + 1, sizeof *s);
    if (!s)
        return FL_ENOMEM;
    r->steps = s;
    s[r->n_steps].op = c->ops[op].hop;
    s[r->n_steps].text = fl_strdup(text);
    if (!s[r->n_steps].text)
        return FL_ENOMEM;
    r->n_steps++;
    return 0;
}

/* The sentence for the order u -> v (edge e, or process order when e is NONE). */
static int edge_step(struct ctx *c, uint32_t u, uint32_t v, uint32_t e)
{
    struct fl_buf b;
    fl_buf_init(&b);
    op_text(c, u, &b);
    uint8_t kind = e == NONE ? E_PO : c->edges[e].kind;
    switch (kind) {
    case E_PO:
        fl_buf_puts(&b, " comes before ");
        op_text(c, v, &b);
        fl_buf_puts(&b, " in the process's own order");
        break;
    case E_WR:
        fl_buf_puts(&b, " wrote the value ");
        op_text(c, v, &b);
        fl_buf_puts(&b, " read");
        break;
    case E_WW:
        fl_buf_puts(&b, " must come before ");
        op_text(c, v, &b);
        fl_buf_puts(&b, ": ");
        op_text(c, c->edges[e].why, &b);
        fl_buf_puts(&b, " comes after the first and still read the second's value");
        break;
    default: /* E_RW */
        fl_buf_puts(&b, " must come before ");
        op_text(c, v, &b);
        fl_buf_puts(&b, ": it read the value of ");
        if (c->edges[e].why == INIT)
            fl_buf_puts(&b, "the initial state, which every write follows");
        else {
            op_text(c, c->edges[e].why, &b);
            fl_buf_puts(&b, ", which comes before the write");
        }
        break;
    }
    int rc = b.len ? add_step(c, u, fl_buf_cstr(&b)) : FL_ENOMEM;
    fl_buf_free(&b);
    return rc;
}

/* ==== Graph: nodes, necessary orders, happens-before clocks ==== */

static int add_edge(struct ctx *c, uint32_t from, uint32_t to, uint8_t kind, uint32_t why)
{
    if (c->n_edges == c->cap_edges) {
        size_t cap = c->cap_edges ? c->cap_edges * 2 : 1024;
        if ((cap * sizeof(struct edge)) > c->max_memory)
            return FL_EBUDGET;
        struct edge *e = fl_reallocarray(c->edges, cap, sizeof *e);
        if (!e)
            return FL_ENOMEM;
        c->edges = e;
        c->cap_edges = cap;
    }
    c->edges[c->n_edges++] = (struct edge){from, to, why, kind};
    return 0;
}

/* True when x happens before y in the current graph (x != y). */
static bool hb(const struct ctx *c, uint32_t x, uint32_t y)
{
    if (x == INIT)
        return y != INIT;
    if (y == INIT || x == y)
        return false;
    return c->vc[(size_t)y * c->P + c->ops[x].proc] > c->ops[x].pos;
}

static int build_csr(struct ctx *c)
{
    fl_free(c->out_start);
    fl_free(c->out_e);
    fl_free(c->in_start);
    fl_free(c->in_e);
    c->out_start = fl_calloc(c->n + 1, sizeof *c->out_start);
    c->in_start = fl_calloc(c->n + 1, sizeof *c->in_start);
    c->out_e = fl_malloc((c->n_edges + 1) * sizeof *c->out_e);
    c->in_e = fl_malloc((c->n_edges + 1) * sizeof *c->in_e);
    if (!c->out_start || !c->in_start || !c->out_e || !c->in_e)
        return FL_ENOMEM;
    for (size_t e = 0; e < c->n_edges; e++) {
        c->out_start[c->edges[e].from + 1]++;
        c->in_start[c->edges[e].to + 1]++;
    }
    for (size_t i = 0; i < c->n; i++) {
        c->out_start[i + 1] += c->out_start[i];
        c->in_start[i + 1] += c->in_start[i];
    }
    uint32_t *fo = fl_malloc((c->n + 1) * sizeof *fo), *fi = fl_malloc((c->n + 1) * sizeof *fi);
    if (!fo || !fi) {
        fl_free(fo);
        fl_free(fi);
        return FL_ENOMEM;
    }
    memcpy(fo, c->out_start, (c->n + 1) * sizeof *fo);
    memcpy(fi, c->in_start, (c->n + 1) * sizeof *fi);
    for (size_t e = 0; e < c->n_edges; e++) {
        c->out_e[fo[c->edges[e].from]++] = (uint32_t)e;
        c->in_e[fi[c->edges[e].to]++] = (uint32_t)e;
    }
    fl_free(fo);
    fl_free(fi);
    return 0;
}

/* The op after/before i in its process, or NONE. */
static uint32_t po_next(const struct ctx *c, uint32_t i)
{
    const struct sop *o = &c->ops[i];
    uint32_t at = c->pstart[o->proc] + o->pos + 1;
    return at < c->pstart[o->proc + 1] ? c->byproc[at] : NONE;
}

static uint32_t po_prev(const struct ctx *c, uint32_t i)
{
    const struct sop *o = &c->ops[i];
    return o->pos ? c->byproc[c->pstart[o->proc] + o->pos - 1] : NONE;
}

/* Min-heap of op indices (invoke order breaks ties: the history's own order). */
static void heap_push(uint32_t *hp, size_t *n, uint32_t x)
{
    size_t i = (*n)++;
    while (i > 0 && hp[(i - 1) / 2] > x) {
        hp[i] = hp[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    hp[i] = x;
}

static uint32_t heap_pop(uint32_t *hp, size_t *n)
{
    uint32_t top = hp[0], x = hp[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < *n && hp[l] < x)
            m = l;
        if (l + 1 < *n && hp[l + 1] < (m == i ? x : hp[l]))
            m = l + 1;
        if (m == i)
            break;
        hp[i] = hp[m];
        i = m;
    }
    if (*n)
        hp[i] = x;
    return top;
}

/* Explains a cycle among the ops left by a failed topological sort: walks
 * back along edges between remaining ops (each has one) until it repeats. */
static int explain_cycle(struct ctx *c, const uint32_t *indeg)
{
    uint32_t *seen = fl_malloc(c->n * sizeof *seen);
    uint32_t *path = fl_malloc((c->n + 1) * sizeof *path), *pe = fl_malloc((c->n + 1) * sizeof *pe);
    int rc = FL_ENOMEM;
    if (!seen || !path || !pe)
        goto out;
    memset(seen, 0xff, c->n * sizeof *seen);
    uint32_t u = NONE;
    for (uint32_t i = 0; i < c->n; i++)
        if (indeg[i]) {
            u = i;
            break;
        }
    size_t len = 0;
    while (seen[u] == NONE) {
        seen[u] = (uint32_t)len;
        path[len] = u;
        /* A predecessor still in the cycle's part of the graph. */
        uint32_t p = po_prev(c, u), via = NONE;
        if (p == NONE || !indeg[p]) {
            p = NONE;
            for (uint32_t k = c->in_start[u]; k < c->in_start[u + 1]; k++) {
                uint32_t e = c->in_e[k];
                if (indeg[c->edges[e].from]) {
                    p = c->edges[e].from;
                    via = e;
                    break;
                }
            }
        }
        pe[len++] = via; /* edge p -> u */
        u = p;
    }
    /* path[j+1] -> path[j] by edge pe[j] (NONE: process order); the cycle is
     * path[from .. len-1], closed by path[from] -> path[len-1]. */
    size_t from = seen[u];
    c->res->rule = CHECKER_SEQ_ORDER;
    snprintf(c->res->reason, sizeof c->res->reason,
             "no order of the operations keeps every process's order and explains every read: "
             "%zu operations must each come before the next, in a cycle",
             len - from);
    for (size_t i = len - 1; i > from; i--)
        if ((rc = edge_step(c, path[i], path[i - 1], pe[i - 1])) < 0)
            goto out;
    if ((rc = edge_step(c, path[from], path[len - 1], pe[len - 1])) < 0)
        goto out;
    rc = 0;
out:
    fl_free(seen);
    fl_free(path);
    fl_free(pe);
    return rc;
}

/* Topological sort (Kahn, invoke order first) and happens-before clocks.
 * Returns 1 when the graph has a cycle (explained into res), 0, or < 0. */
static int topo(struct ctx *c)
{
    int rc = build_csr(c);
    if (rc < 0)
        return rc;
    uint32_t *indeg = fl_calloc(c->n, sizeof *indeg), *hp = fl_malloc(c->n * sizeof *hp);
    if (!indeg || !hp) {
        fl_free(indeg);
        fl_free(hp);
        return FL_ENOMEM;
    }
    for (uint32_t i = 0; i < c->n; i++)
        indeg[i] = (c->ops[i].pos > 0) + (c->in_start[i + 1] - c->in_start[i]);
    size_t nh = 0, done = 0;
    for (uint32_t i = 0; i < c->n; i++)
        if (!indeg[i])
            heap_push(hp, &nh, i);
    memset(c->vc, 0, c->n * (size_t)c->P * sizeof *c->vc);
    while (nh) {
        uint32_t u = heap_pop(hp, &nh);
        uint32_t *vu = c->vc + (size_t)u * c->P;
        vu[c->ops[u].proc] = c->ops[u].pos + 1;
        c->ops[u].rank = (uint32_t)done++;
        uint32_t nx = po_next(c, u);
        for (uint32_t k = c->out_start[u]; k <= c->out_start[u + 1]; k++) {
            uint32_t v = k < c->out_start[u + 1] ? c->edges[c->out_e[k]].to : nx;
            if (v == NONE)
                continue;
            uint32_t *vv = c->vc + (size_t)v * c->P;
            for (uint32_t q = 0; q < c->P; q++)
                if (vu[q] > vv[q])
                    vv[q] = vu[q];
            if (--indeg[v] == 0)
                heap_push(hp, &nh, v);
        }
    }
    fl_free(hp);
    if (done < c->n) {
        rc = explain_cycle(c, indeg);
        fl_free(indeg);
        return rc < 0 ? rc : 1;
    }
    fl_free(indeg);
    return 0;
}

/* Shortest chain of orders from x to y (x happens before y), as steps. */
static int explain_path(struct ctx *c, uint32_t x, uint32_t y)
{
    uint32_t *par = fl_malloc(c->n * sizeof *par), *pe = fl_malloc(c->n * sizeof *pe);
    uint32_t *q = fl_malloc(c->n * sizeof *q);
    int rc = FL_ENOMEM;
    if (!par || !pe || !q)
        goto out;
    memset(par, 0xff, c->n * sizeof *par);
    size_t qh = 0, qt = 0;
    q[qt++] = x;
    par[x] = x;
    while (qh < qt && par[y] == NONE) {
        uint32_t u = q[qh++], nx = po_next(c, u);
        for (uint32_t k = c->out_start[u]; k <= c->out_start[u + 1]; k++) {
            uint32_t v = k < c->out_start[u + 1] ? c->edges[c->out_e[k]].to : nx;
            if (v == NONE || par[v] != NONE)
                continue;
            par[v] = u;
            pe[v] = k < c->out_start[u + 1] ? c->out_e[k] : NONE;
            q[qt++] = v;
        }
    }
    rc = 0;
    if (par[y] == NONE)
        goto out; /* cannot happen: the clocks said x happens before y */
    size_t len = 0;
    for (uint32_t v = y; v != x; v = par[v])
        q[len++] = v;
    uint32_t u = x;
    for (size_t i = len; i-- > 0;) {
        if ((rc = edge_step(c, u, q[i], pe[q[i]])) < 0)
            goto out;
        u = q[i];
    }
out:
    fl_free(par);
    fl_free(pe);
    fl_free(q);
    return rc;
}

/* Session guarantees: each process's read of a key must not return a write
 * older (in happens-before) than what the process saw of that key last (its
 * own write, or the write its previous read returned). Returns 1 on a
 * violation (explained), 0, or < 0. */
static int session_pass(struct ctx *c)
{
    uint32_t *last = fl_malloc((size_t)c->K * sizeof *last),
             *stamp = fl_calloc(c->K, sizeof *stamp);
    int rc = FL_ENOMEM;
    if (!last || !stamp)
        goto out;
    for (uint32_t p = 0; p < c->P; p++) {
        for (uint32_t k = c->pstart[p]; k < c->pstart[p + 1]; k++) {
            uint32_t i = c->byproc[k];
            const struct sop *o = &c->ops[i];
            if (!c->unique[o->key])
                continue;
            if (stamp[o->key] == p + 1 && is_read(o)) {
                uint32_t prev = last[o->key];
                const struct sop *po = &c->ops[prev];
                uint32_t seen = is_write(po) ? prev : po->writer;
                uint32_t w = o->writer;
                if (w != NONE && seen != NONE && w != seen && (w == INIT || hb(c, w, seen))) {
                    bool ryw = is_write(po);
                    struct checker_seq_result *r = c->res;
                    struct fl_buf b;
                    fl_buf_init(&b);
                    fl_buf_printf(&b, "process %lld read ", (long long)c->pid[p]);
                    if (w == INIT)
                        fl_buf_puts(&b, "the initial value ");
                    value_text(c, o->a, &b);
                    fl_buf_printf(&b, " (line %llu) after %s ", line_of(c, i),
                                  ryw ? "writing" : "reading");
                    value_text(c, written(&c->ops[seen]), &b);
                    fl_buf_printf(&b, "%s (line %llu), but ", ryw ? " itself" : "",
                                  line_of(c, prev));
                    if (w == INIT) {
                        fl_buf_puts(&b, "every write follows the initial value");
                    } else {
                        value_text(c, written(&c->ops[seen]), &b);
                        fl_buf_puts(&b, " was written after ");
                        value_text(c, o->a, &b);
                    }
                    if (o->key < c->h->n_keys && c->h->keys[o->key]) {
                        char *ks = fl_edn_value_text(c->h->keys[o->key]);
                        fl_buf_printf(&b, " (key %s)", ks ? ks : "?");
                        free(ks);
                    }
                    snprintf(r->reason, sizeof r->reason, "%s", b.len ? fl_buf_cstr(&b) : "?");
                    fl_buf_free(&b);
                    r->rule = ryw ? CHECKER_SEQ_READ_YOUR_WRITES : CHECKER_SEQ_MONOTONIC_READS;
                    if (!ryw) {
                        fl_buf_init(&b);
                        op_text(c, prev, &b);
                        fl_buf_puts(&b, " read the value of ");
                        op_text(c, seen, &b);
                        rc = b.len ? add_step(c, prev, fl_buf_cstr(&b)) : FL_ENOMEM;
                        fl_buf_free(&b);
                        if (rc < 0)
                            goto out;
                    }
                    if (w != INIT && (rc = explain_path(c, w, seen)) < 0)
                        goto out;
                    fl_buf_init(&b);
                    op_text(c, i, &b);
                    fl_buf_puts(&b, " comes after ");
                    op_text(c, prev, &b);
                    fl_buf_puts(&b, " in the process's own order, yet returned the older value");
                    rc = b.len ? add_step(c, i, fl_buf_cstr(&b)) : FL_ENOMEM;
                    fl_buf_free(&b);
                    if (rc == 0)
                        rc = 1;
                    goto out;
                }
            }
            stamp[o->key] = p + 1;
            last[o->key] = i;
        }
    }
    rc = 0;
out:
    fl_free(last);
    fl_free(stamp);
    return rc;
}

/* The writes of process group g of key k: wl[gstart[g] .. gstart[g+1]). */

/* Adds the orders every sequential execution has (see sequential.h).
 * Returns the number added, 1 << 30 on a violation found directly (a read
 * of the initial value after a write that overwrote it; explained), or < 0. */
static long saturate(struct ctx *c)
{
    long added = 0;
    int rc;
    for (uint32_t r = 0; r < c->n; r++) {
        const struct sop *o = &c->ops[r];
        if (!is_read(o) || o->writer == NONE)
            continue;
        uint32_t w1 = o->writer, k = o->key;
        for (uint32_t g = c->kg[k]; g < c->kg[k + 1]; g++) {
            uint32_t q = c->gproc[g], lo = c->gstart[g], hi = c->gstart[g + 1];
            /* Rule A: the last write of q that happens before r (not r). */
            uint32_t lim = c->vc[(size_t)r * c->P + q]; /* positions < lim */
            if (q == o->proc)
                lim = o->pos;
            uint32_t a = lo, b = hi;
            while (a < b) {
                uint32_t mid = a + (b - a) / 2;
                if (c->ops[c->wl[mid]].pos < lim)
                    a = mid + 1;
                else
                    b = mid;
            }
            if (a > lo) {
                uint32_t w2 = c->wl[a - 1];
                if (w2 != w1) {
                    if (w1 == INIT) {
                        struct checker_seq_result *res = c->res;
                        res->rule = CHECKER_SEQ_ORDER;
                        struct fl_buf t;
                        fl_buf_init(&t);
                        op_text(c, r, &t);
                        fl_buf_puts(&t, " returned the initial value, but ");
                        op_text(c, w2, &t);
                        fl_buf_puts(&t, " comes before it and overwrote that value");
                        snprintf(res->reason, sizeof res->reason, "%s",
                                 t.len ? fl_buf_cstr(&t) : "?");
                        fl_buf_free(&t);
                        if ((rc = explain_path(c, w2, r)) < 0)
                            return rc;
                        return 1L << 30;
                    }
                    if (!hb(c, w2, w1)) {
                        if ((rc = add_edge(c, w2, w1, E_WW, r)) < 0)
                            return rc;
                        added++;
                    }
                }
            }
            /* Rule B: the first write of q that w1 happens before (not r). */
            a = lo;
            b = hi;
            while (a < b) {
                uint32_t mid = a + (b - a) / 2;
                if (!hb(c, w1, c->wl[mid]))
                    a = mid + 1;
                else
                    b = mid;
            }
            if (a < hi && c->wl[a] == r)
                a++;
            if (a < hi) {
                uint32_t w2 = c->wl[a];
                if (w2 != w1 && !hb(c, r, w2)) {
                    if ((rc = add_edge(c, r, w2, E_RW, w1)) < 0)
                        return rc;
                    added++;
                }
            }
        }
    }
    return added;
}

/* ==== Search for the order itself ==== */

struct move {
    uint32_t proc, key;
    uint64_t old;
    bool changed;
};

struct frame {
    size_t mark, cstart, nc, next;
};

struct choice {
    uint32_t op;
    bool skip;
};

struct search {
    struct ctx *c;
    uint32_t *pos;
    uint64_t *val;
    uint64_t hash;
    struct move *log;
    size_t n_log, cap_log;
    struct choice *ch;
    size_t n_ch, cap_ch;
    struct frame *fr;
    size_t n_fr, cap_fr;
    /* Dead configurations: records of P positions and K values. */
    unsigned char *memo;
    uint64_t *memo_hash;
    size_t memo_cap, memo_n, rec;
    size_t bytes;
    uint64_t configs, max_configs;
    size_t best; /* most operations placed, and where (positions) */
    uint32_t *best_pos;
};

static uint64_t hpos(uint32_t p, uint32_t pos)
{
    return fl_mix64(((uint64_t)p << 32) ^ pos ^ 0x1234567ULL);
}

static uint64_t hval(uint32_t k, uint64_t v)
{
    return fl_mix64(v * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)k << 1 | 1));
}

static int grow(void **p, size_t *cap, size_t need, size_t size, struct search *s)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 256;
    while (n < need)
        n *= 2;
    if (s->bytes + (n - *cap) * size > s->c->max_memory)
        return FL_EBUDGET;
    void *q = fl_reallocarray(*p, n, size);
    if (!q)
        return FL_ENOMEM;
    s->bytes += (n - *cap) * size;
    *p = q;
    *cap = n;
    return 0;
}

static int apply(struct search *s, uint32_t op, bool skip)
{
    struct ctx *c = s->c;
    const struct sop *o = &c->ops[op];
    int rc = grow((void **)&s->log, &s->cap_log, s->n_log + 1, sizeof *s->log, s);
    if (rc < 0)
        return rc;
    struct move *mv = &s->log[s->n_log++];
    mv->proc = o->proc;
    mv->key = o->key;
    mv->old = s->val[o->key];
    mv->changed = false;
    s->hash -= hpos(o->proc, s->pos[o->proc]);
    s->pos[o->proc]++;
    s->hash += hpos(o->proc, s->pos[o->proc]);
    if (!skip && is_write(o)) {
        uint64_t next;
        if (!c->m.ops->step(&c->m, s->val[o->key], &o->op, &next))
            return c->m.oom ? FL_ENOMEM : 0; /* callers only apply legal ops */
        if (next != s->val[o->key]) {
            s->hash -= hval(o->key, s->val[o->key]);
            s->val[o->key] = next;
            s->hash += hval(o->key, next);
            mv->changed = true;
        }
    }
    return 0;
}

static void undo_to(struct search *s, size_t mark)
{
    while (s->n_log > mark) {
        struct move *mv = &s->log[--s->n_log];
        s->hash -= hpos(mv->proc, s->pos[mv->proc]);
        s->pos[mv->proc]--;
        s->hash += hpos(mv->proc, s->pos[mv->proc]);
        if (mv->changed) {
            s->hash -= hval(mv->key, s->val[mv->key]);
            s->val[mv->key] = mv->old;
            s->hash += hval(mv->key, mv->old);
        }
    }
}

static uint32_t next_op(const struct search *s, uint32_t p)
{
    const struct ctx *c = s->c;
    uint32_t at = c->pstart[p] + s->pos[p];
    return at < c->pstart[p + 1] ? c->byproc[at] : NONE;
}

/* Takes every legal read at once (postponing a read never helps). Returns
 * the number of processes left with operations, or < 0. */
static long closure(struct search *s)
{
    struct ctx *c = s->c;
    bool progress = true;
    long left = 0;
    while (progress) {
        progress = false;
        left = 0;
        for (uint32_t p = 0; p < c->P; p++) {
            uint32_t i;
            while ((i = next_op(s, p)) != NONE && c->ops[i].f == CHECKER_REG_READ) {
                uint64_t nx;
                if (!c->m.ops->step(&c->m, s->val[c->ops[i].key], &c->ops[i].op, &nx)) {
                    if (c->m.oom)
                        return FL_ENOMEM;
                    break;
                }
                int rc = apply(s, i, false);
                if (rc < 0)
                    return rc;
                progress = true;
            }
            if (i != NONE)
                left++;
        }
    }
    if ((size_t)s->n_log > s->best) {
        s->best = s->n_log;
        memcpy(s->best_pos, s->pos, c->P * sizeof *s->pos);
    }
    return left;
}

static void record(const struct search *s, unsigned char *out)
{
    memcpy(out, s->pos, s->c->P * sizeof *s->pos);
    memcpy(out + s->c->P * sizeof *s->pos, s->val, s->c->K * sizeof *s->val);
}

static bool memo_has(const struct search *s)
{
    if (!s->memo_cap)
        return false;
    unsigned char buf[4096];
    unsigned char *rec = s->rec <= sizeof buf ? buf : fl_malloc(s->rec);
    if (!rec)
        return false;
    record(s, rec);
    bool found = false;
    for (size_t j = s->hash & (s->memo_cap - 1); s->memo_hash[j]; j = (j + 1) & (s->memo_cap - 1))
        if (s->memo_hash[j] == (s->hash | 1) && memcmp(s->memo + j * s->rec, rec, s->rec) == 0) {
            found = true;
            break;
        }
    if (rec != buf)
        fl_free(rec);
    return found;
}

static int memo_put(struct search *s)
{
    if ((s->memo_n + 1) * 2 > s->memo_cap) {
        size_t cap = s->memo_cap ? s->memo_cap * 2 : 1024;
        size_t bytes = cap * (s->rec + sizeof(uint64_t));
        if (s->bytes + bytes > s->c->max_memory)
            return FL_EBUDGET;
        unsigned char *m = fl_malloc(cap * s->rec);
        uint64_t *mh = fl_calloc(cap, sizeof *mh);
        if (!m || !mh) {
            fl_free(m);
            fl_free(mh);
            return FL_ENOMEM;
        }
        for (size_t i = 0; i < s->memo_cap; i++) {
            if (!s->memo_hash[i])
                continue;
            size_t j = s->memo_hash[i] & (cap - 1);
            while (mh[j])
                j = (j + 1) & (cap - 1);
            mh[j] = s->memo_hash[i];
            memcpy(m + j * s->rec, s->memo + i * s->rec, s->rec);
        }
        s->bytes += bytes - s->memo_cap * (s->rec + sizeof(uint64_t));
        fl_free(s->memo);
        fl_free(s->memo_hash);
        s->memo = m;
        s->memo_hash = mh;
        s->memo_cap = cap;
    }
    size_t j = s->hash & (s->memo_cap - 1);
    while (s->memo_hash[j])
        j = (j + 1) & (s->memo_cap - 1);
    s->memo_hash[j] = s->hash | 1;
    record(s, s->memo + j * s->rec);
    s->memo_n++;
    return 0;
}

/* True when every stored order into op i comes from an op already placed. */
static bool ready(const struct search *s, uint32_t i)
{
    const struct ctx *c = s->c;
    if (!c->graph)
        return true;
    for (uint32_t k = c->in_start[i]; k < c->in_start[i + 1]; k++) {
        uint32_t u = c->edges[c->in_e[k]].from;
        if (s->pos[c->ops[u].proc] <= c->ops[u].pos)
            return false;
    }
    return true;
}

static int cmp_choice(const void *a, const void *b, void *arg)
{
    const struct ctx *c = arg;
    const struct choice *x = a, *y = b;
    uint32_t rx = c->ops[x->op].rank, ry = c->ops[y->op].rank;
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return (int)y->skip - (int)x->skip; /* skipping an unobserved write first */
}

/* Pushes the choices at the current configuration: each process's next
 * write or cas that is ready and legal, and skipping an optional one. */
static int push_choices(struct search *s, size_t *nc)
{
    struct ctx *c = s->c;
    size_t start = s->n_ch;
    for (uint32_t p = 0; p < c->P; p++) {
        uint32_t i = next_op(s, p);
        if (i == NONE)
            continue;
        const struct sop *o = &c->ops[i];
        int rc;
        if (o->optional) {
            if ((rc = grow((void **)&s->ch, &s->cap_ch, s->n_ch + 1, sizeof *s->ch, s)) < 0)
                return rc;
            s->ch[s->n_ch++] = (struct choice){i, true};
        }
        if (o->f == CHECKER_REG_READ || !ready(s, i))
            continue;
        uint64_t nx;
        if (!c->m.ops->step(&c->m, s->val[o->key], &o->op, &nx)) {
            if (c->m.oom)
                return FL_ENOMEM;
            continue;
        }
        if ((rc = grow((void **)&s->ch, &s->cap_ch, s->n_ch + 1, sizeof *s->ch, s)) < 0)
            return rc;
        s->ch[s->n_ch++] = (struct choice){i, false};
    }
    *nc = s->n_ch - start;
    if (*nc > 1)
        qsort_r(s->ch + start, *nc, sizeof *s->ch, cmp_choice, c);
    return 0;
}

/* 1: an order was found; 0: none exists; < 0: FL_EBUDGET (configs, time or
 * memory) or FL_ENOMEM. */
static int search_run(struct search *s)
{
    struct ctx *c = s->c;
    long left = closure(s);
    if (left < 0)
        return (int)left;
    if (left == 0)
        return 1;
    size_t nc;
    int rc = push_choices(s, &nc);
    if (rc < 0)
        return rc;
    if ((rc = grow((void **)&s->fr, &s->cap_fr, 1, sizeof *s->fr, s)) < 0)
        return rc;
    s->fr[s->n_fr++] = (struct frame){s->n_log, s->n_ch - nc, nc, 0};
    s->configs = 1;
    while (s->n_fr) {
        struct frame *f = &s->fr[s->n_fr - 1];
        undo_to(s, f->mark);
        if (f->next == f->nc) {
            if ((rc = memo_put(s)) < 0)
                return rc;
            s->n_ch = f->cstart;
            s->n_fr--;
            continue;
        }
        struct choice ch = s->ch[f->cstart + f->next++];
        if (++s->configs > s->max_configs)
            return FL_EBUDGET;
        if ((s->configs & 1023) == 0 && c->deadline > 0 && now_s() > c->deadline)
            return FL_EBUDGET;
        if ((rc = apply(s, ch.op, ch.skip)) < 0)
            return rc;
        if ((left = closure(s)) < 0)
            return (int)left;
        if (left == 0)
            return 1;
        if (memo_has(s))
            continue;
        if ((rc = push_choices(s, &nc)) < 0)
            return rc;
        if (nc == 0) {
            if ((rc = memo_put(s)) < 0)
                return rc;
            continue;
        }
        if ((rc = grow((void **)&s->fr, &s->cap_fr, s->n_fr + 1, sizeof *s->fr, s)) < 0)
            return rc;
        s->fr[s->n_fr++] = (struct frame){s->n_log, s->n_ch - nc, nc, 0};
    }
    return 0;
}

/* Explains an exhausted search: where the deepest partial order got stuck. */
static int explain_stuck(struct ctx *c, const struct search *s)
{
    c->res->rule = CHECKER_SEQ_NO_ORDER;
    snprintf(c->res->reason, sizeof c->res->reason,
             "no order of the operations keeps every process's order and explains every read "
             "(exhaustive search: %llu configurations); the longest partial order places %zu of "
             "%zu operations",
             (unsigned long long)s->configs, s->best, c->n);
    size_t shown = 0;
    for (uint32_t p = 0; p < c->P && shown < 8; p++) {
        uint32_t at = c->pstart[p] + s->best_pos[p];
        if (at >= c->pstart[p + 1])
            continue;
        uint32_t i = c->byproc[at];
        struct fl_buf b;
        fl_buf_init(&b);
        op_text(c, i, &b);
        fl_buf_puts(&b, " cannot be placed next in that partial order");
        int rc = b.len ? add_step(c, i, fl_buf_cstr(&b)) : FL_ENOMEM;
        fl_buf_free(&b);
        if (rc < 0)
            return rc;
        shown++;
    }
    return 0;
}

static void search_free(struct search *s)
{
    fl_free(s->pos);
    fl_free(s->val);
    fl_free(s->log);
    fl_free(s->ch);
    fl_free(s->fr);
    fl_free(s->memo);
    fl_free(s->memo_hash);
    fl_free(s->best_pos);
}

/* ==== Setup ==== */

static int cmp_wl(const void *a, const void *b, void *arg)
{
    const struct sop *ops = arg;
    const struct sop *x = &ops[*(const uint32_t *)a], *y = &ops[*(const uint32_t *)b];
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->proc != y->proc)
        return x->proc < y->proc ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The slot of key's writer of v in m (v == NONE: none yet). */
static size_t writer_slot(const struct ctx *c, const struct map *m, uint32_t key, int64_t v)
{
    size_t j = fl_mix64(kv_key(key, v)) & (m->cap - 1);
    while (m->v[j] != NONE) {
        const struct sop *x = &c->ops[m->v[j]];
        if (x->key == key && written(x) == v)
            break;
        j = (j + 1) & (m->cap - 1);
    }
    return j;
}

/* Collects the operations: model form, dense processes, writers when the
 * key's written values are unique. Returns 1 when a read returns a value
 * nobody wrote (explained), 0, or < 0. */
static int setup(struct ctx *c, char *errmsg)
{
    const struct checker_history *h = c->h;
    struct map procs = {0}, writers = {0};
    int rc;
    c->K = (uint32_t)(h->n_keys ? h->n_keys : 1);
    c->ops = fl_calloc(h->n_ops + 1, sizeof *c->ops);
    c->unique = fl_calloc(c->K, sizeof *c->unique);
    bool *observed = fl_calloc(h->n_ops + 1, sizeof *observed);
    if (!c->ops || !c->unique || !observed) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    /* Prepare every operation that may have happened. */
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct checker_hop *hop = &h->ops[i];
        if (hop->status == FL_EVENT_FAIL)
            continue;
        struct sop *o = &c->ops[c->n];
        memset(o, 0, sizeof *o);
        o->op.hop = (uint32_t)i;
        o->op.crashed = hop->status == FL_EVENT_INFO;
        o->op.call = hop->call;
        o->op.ret = o->op.crashed ? CHECKER_POS_NEVER : hop->ret;
        char msg[FL_ERRMSG_SIZE] = "";
        rc = c->m.ops->prepare(&c->m, hop, &o->op, msg);
        if (rc == CHECKER_PREPARE_DROP)
            continue;
        if (rc < 0) {
            rc = fl_errorf(
                errmsg, rc, "%s: line %llu: %s", h->path,
                (unsigned long long)(hop->status == FL_EVENT_OK ? hop->ret_line : hop->call_line),
                msg);
            goto out;
        }
        o->hop = (uint32_t)i;
        o->key = hop->key_id < c->K ? hop->key_id : 0;
        o->f = o->op.f;
        o->a = o->op.a;
        o->b = o->op.b;
        o->optional = o->op.crashed;
        o->writer = NONE;
        c->n++;
    }
    /* Unique written values per key: no value written twice or equal to the
     * initial value, no append. */
    if ((rc = map_init(&writers, c->n)) < 0 || (rc = map_init(&procs, c->n)) < 0) {
        rc = fl_errorf(errmsg, rc, "out of memory");
        goto out;
    }
    for (uint32_t k = 0; k < c->K; k++)
        c->unique[k] = true;
    for (uint32_t i = 0; i < c->n; i++) {
        struct sop *o = &c->ops[i];
        if (o->f == CHECKER_REG_APPEND) {
            c->unique[o->key] = false;
            continue;
        }
        if (!is_write(o))
            continue;
        int64_t v = written(o);
        if ((uint64_t)v == c->initial) {
            c->unique[o->key] = false;
            continue;
        }
        size_t j = writer_slot(c, &writers, o->key, v);
        if (writers.v[j] != NONE) {
            c->unique[o->key] = false;
            continue;
        }
        writers.k[j] = kv_key(o->key, v);
        writers.v[j] = i;
    }
    /* Writers of reads; an unobserved indeterminate write of a unique key
     * constrains nothing and is left out, an observed one happened. */
    for (uint32_t i = 0; i < c->n; i++) {
        struct sop *o = &c->ops[i];
        if (!is_read(o) || !c->unique[o->key])
            continue;
        if ((uint64_t)o->a == c->initial) {
            o->writer = INIT;
            continue;
        }
        uint32_t w = writers.v[writer_slot(c, &writers, o->key, o->a)];
        if (w == i)
            w = NONE; /* a cas cannot read the value only it writes */
        if (w == NONE) {
            if (o->op.crashed)
                continue; /* an indeterminate cas of a value nobody wrote: no effect */
            c->res->rule = CHECKER_SEQ_NEVER_WRITTEN;
            struct fl_buf b;
            fl_buf_init(&b);
            op_text(c, i, &b);
            fl_buf_puts(&b, " returned a value no operation wrote");
            snprintf(c->res->reason, sizeof c->res->reason, "%s", b.len ? fl_buf_cstr(&b) : "?");
            fl_buf_free(&b);
            /* Steps need byproc etc.; the step is the read alone. */
            struct checker_seq_step *st = fl_calloc(1, sizeof *st);
            if (!st) {
                rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
                goto out;
            }
            st->op = o->hop;
            st->text = fl_strdup(c->res->reason);
            c->res->steps = st;
            c->res->n_steps = 1;
            rc = 1;
            goto out;
        }
        o->writer = w;
        observed[w] = true;
    }
    /* Drop unobserved indeterminate operations of unique keys, and
     * indeterminate cas operations whose read part found no writer. */
    size_t n = 0;
    uint32_t *newid = fl_malloc((c->n + 1) * sizeof *newid);
    if (!newid) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < c->n; i++) {
        struct sop *o = &c->ops[i];
        bool keep = true;
        if (o->op.crashed && c->unique[o->key]) {
            keep = observed[i] && !(o->f == CHECKER_REG_CAS && o->writer == NONE);
            o->optional = false;
        }
        newid[i] = keep ? (uint32_t)n : NONE;
        if (keep)
            c->ops[n++] = *o;
    }
    for (size_t i = 0; i < n; i++)
        if (c->ops[i].writer != NONE && c->ops[i].writer != INIT)
            c->ops[i].writer = newid[c->ops[i].writer];
    fl_free(newid);
    c->n = n;
    if (c->n >= NONE - 2) {
        rc = fl_errorf(errmsg, FL_ELIMIT, "%s: too many operations", h->path);
        goto out;
    }
    /* Dense processes and positions. */
    map_free(&procs);
    if ((rc = map_init(&procs, c->n)) < 0) {
        rc = fl_errorf(errmsg, rc, "out of memory");
        goto out;
    }
    c->pid = fl_malloc((c->n + 1) * sizeof *c->pid);
    uint32_t *count = fl_calloc(c->n + 2, sizeof *count);
    if (!c->pid || !count) {
        fl_free(count);
        rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < c->n; i++) {
        int64_t p = h->ops[c->ops[i].hop].process;
        size_t j = map_slot(&procs, (uint64_t)p);
        if (procs.v[j] == NONE) {
            procs.k[j] = (uint64_t)p;
            procs.v[j] = c->P;
            c->pid[c->P++] = p;
        }
        c->ops[i].proc = procs.v[j];
        c->ops[i].pos = count[procs.v[j]]++;
    }
    c->pstart = fl_calloc(c->P + 1, sizeof *c->pstart);
    c->byproc = fl_malloc((c->n + 1) * sizeof *c->byproc);
    if (!c->pstart || !c->byproc) {
        fl_free(count);
        rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t p = 0; p < c->P; p++)
        c->pstart[p + 1] = c->pstart[p] + count[p];
    fl_free(count);
    for (uint32_t i = 0; i < c->n; i++)
        c->byproc[c->pstart[c->ops[i].proc] + c->ops[i].pos] = i;
    rc = 0;
out:
    fl_free(observed);
    map_free(&procs);
    map_free(&writers);
    return rc;
}

/* Groups the writes of unique keys by (key, process). */
static int setup_groups(struct ctx *c)
{
    size_t nw = 0;
    for (uint32_t i = 0; i < c->n; i++)
        nw += is_write(&c->ops[i]) && c->unique[c->ops[i].key];
    c->wl = fl_malloc((nw + 1) * sizeof *c->wl);
    c->gstart = fl_malloc((nw + 2) * sizeof *c->gstart);
    c->gproc = fl_malloc((nw + 1) * sizeof *c->gproc);
    c->kg = fl_calloc(c->K + 1, sizeof *c->kg);
    if (!c->wl || !c->gstart || !c->gproc || !c->kg)
        return FL_ENOMEM;
    nw = 0;
    for (uint32_t i = 0; i < c->n; i++)
        if (is_write(&c->ops[i]) && c->unique[c->ops[i].key])
            c->wl[nw++] = i;
    if (nw > 1)
        qsort_r(c->wl, nw, sizeof *c->wl, cmp_wl, c->ops);
    c->ng = 0;
    uint32_t k = 0;
    for (size_t j = 0; j < nw; j++) {
        const struct sop *o = &c->ops[c->wl[j]];
        if (j == 0 || o->key != c->ops[c->wl[j - 1]].key || o->proc != c->ops[c->wl[j - 1]].proc) {
            while (k <= o->key)
                c->kg[k++] = c->ng;
            c->gstart[c->ng] = (uint32_t)j;
            c->gproc[c->ng++] = o->proc;
        }
    }
    c->gstart[c->ng] = (uint32_t)nw;
    while (k <= c->K)
        c->kg[k++] = c->ng;
    return 0;
}

static void ctx_free(struct ctx *c)
{
    fl_free(c->ops);
    fl_free(c->byproc);
    fl_free(c->pstart);
    fl_free(c->pid);
    fl_free(c->unique);
    fl_free(c->wl);
    fl_free(c->gstart);
    fl_free(c->gproc);
    fl_free(c->kg);
    fl_free(c->edges);
    fl_free(c->vc);
    fl_free(c->out_start);
    fl_free(c->out_e);
    fl_free(c->in_start);
    fl_free(c->in_e);
}

/* Builds the graph and saturates it. Returns 1 on a violation (explained),
 * 0 when acyclic (c->graph set), 2 when skipped for memory, or < 0. */
static int graph_phase(struct ctx *c)
{
    size_t need = (size_t)c->n * c->P * sizeof *c->vc;
    if (c->P && need / c->P != (size_t)c->n * sizeof *c->vc)
        return 2;
    if (need > c->max_memory / 2)
        return 2;
    c->vc = fl_malloc(need + sizeof *c->vc);
    if (!c->vc)
        return 2;
    int rc;
    if ((rc = setup_groups(c)) < 0)
        return rc;
    for (uint32_t i = 0; i < c->n; i++) {
        const struct sop *o = &c->ops[i];
        if (is_read(o) && o->writer != NONE && o->writer != INIT)
            if ((rc = add_edge(c, o->writer, i, E_WR, NONE)) < 0)
                return rc == FL_EBUDGET ? 2 : rc;
    }
    for (int round = 0; round < MAX_ROUNDS; round++) {
        if ((rc = topo(c)) != 0)
            return rc;
        if ((rc = session_pass(c)) != 0)
            return rc;
        long added = saturate(c);
        if (added == FL_EBUDGET)
            break; /* the orders so far are sound; the search decides */
        if (added < 0)
            return (int)added;
        if (added == 1L << 30)
            return 1;
        if (added == 0)
            break;
        if (c->deadline > 0 && now_s() > c->deadline)
            return FL_EBUDGET;
    }
    /* The last round's edges: sort again for the ranks and the CSR. */
    if ((rc = topo(c)) != 0)
        return rc;
    c->graph = true;
    c->res->n_edges = c->n_edges;
    return 0;
}

int checker_seq_check(const struct checker_history *h, const struct checker_model_ops *model,
                      const struct checker_model_config *config,
                      const struct checker_seq_limits *limits, struct checker_seq_result *res,
                      char *errmsg)
{
    memset(res, 0, sizeof *res);
    double t0 = now_s();
    if (model != &checker_model_register && model != &checker_model_kv)
        return fl_errorf(errmsg, FL_EUNSUPPORTED,
                         "--consistency sequential: checked for the register and kv models, not %s",
                         model->name);
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.h = h;
    c.res = res;
    c.max_memory = limits && limits->max_memory ? limits->max_memory : checker_default_max_memory();
    c.deadline = limits && limits->timeout_s > 0 ? t0 + limits->timeout_s : 0;
    char msg[FL_ERRMSG_SIZE] = "";
    int rc = checker_model_create(&c.m, model, config, msg);
    if (rc < 0)
        return fl_errorf(errmsg, rc, "%s: model %s: %s", h->path, model->name, msg);
    c.kv = model == &checker_model_kv;
    c.initial = c.m.ops->init(&c.m);
    struct search s;
    memset(&s, 0, sizeof s);
    res->procedure = "graph";
    rc = setup(&c, errmsg);
    res->n_ops = c.n;
    res->n_processes = c.P;
    if (c.unique) {
        bool *has = fl_calloc(c.K, sizeof *has);
        for (uint32_t i = 0; has && i < c.n; i++)
            has[c.ops[i].key] = true;
        for (uint32_t k = 0; has && k < c.K; k++) {
            res->n_keys += has[k];
            res->n_unique_keys += has[k] && c.unique[k];
        }
        fl_free(has);
    }
    if (rc < 0)
        goto out;
    if (rc == 1) {
        res->verdict = CHECKER_INVALID;
        rc = 0;
        goto out;
    }
    rc = graph_phase(&c);
    if (rc == 1) {
        res->verdict = CHECKER_INVALID;
        rc = 0;
        goto out;
    }
    if (rc == FL_EBUDGET) {
        res->verdict = CHECKER_UNKNOWN;
        snprintf(res->reason, sizeof res->reason,
                 "the time budget (--timeout %.1f s) ran out "
                 "while ordering the operations",
                 limits->timeout_s);
        rc = 0;
        goto out;
    }
    if (rc < 0) {
        fl_errorf(errmsg, rc, "%s: sequential check: %s", h->path, fl_strerror(rc));
        goto out;
    }
    if (rc == 2) {
        /* Skipped for memory: the search alone, without explanations. */
        c.graph = false;
        res->procedure = "search";
        for (uint32_t i = 0; i < c.n; i++)
            c.ops[i].rank = i;
    } else {
        res->procedure = "graph+search";
    }
    /* Search for the order itself. */
    s.c = &c;
    s.rec = c.P * sizeof *s.pos + c.K * sizeof *s.val;
    s.max_configs = limits && limits->max_configs ? limits->max_configs : DEFAULT_CONFIGS;
    s.pos = fl_calloc(c.P + 1, sizeof *s.pos);
    s.best_pos = fl_calloc(c.P + 1, sizeof *s.best_pos);
    s.val = fl_malloc(c.K * sizeof *s.val);
    if (!s.pos || !s.val || !s.best_pos) {
        rc = fl_errorf(errmsg, FL_ENOMEM, "out of memory");
        goto out;
    }
    for (uint32_t p = 0; p < c.P; p++)
        s.hash += hpos(p, 0);
    for (uint32_t k = 0; k < c.K; k++) {
        s.val[k] = c.initial;
        s.hash += hval(k, c.initial);
    }
    rc = search_run(&s);
    res->configs = s.configs;
    if (rc == 1) {
        res->verdict = CHECKER_VALID;
        rc = 0;
    } else if (rc == 0) {
        res->verdict = CHECKER_INVALID;
        rc = explain_stuck(&c, &s);
        if (rc < 0)
            fl_errorf(errmsg, rc, "out of memory");
    } else if (rc == FL_EBUDGET) {
        res->verdict = CHECKER_UNKNOWN;
        if (c.deadline > 0 && now_s() > c.deadline)
            snprintf(res->reason, sizeof res->reason,
                     "the time budget (--timeout %.1f s) ran out in the search for a sequential "
                     "order (%llu configurations)",
                     limits->timeout_s, (unsigned long long)s.configs);
        else if (s.configs > s.max_configs)
            snprintf(res->reason, sizeof res->reason,
                     "the search for a sequential order reached its budget of %llu "
                     "configurations without deciding (sequential consistency is NP-complete)",
                     (unsigned long long)s.max_configs);
        else
            snprintf(res->reason, sizeof res->reason,
                     "the search for a sequential order reached its memory budget (%zu MiB)",
                     c.max_memory >> 20);
        rc = 0;
    } else {
        fl_errorf(errmsg, rc, "out of memory");
    }
out:
    search_free(&s);
    ctx_free(&c);
    checker_model_destroy(&c.m);
    res->seconds = now_s() - t0;
    if (rc < 0)
        checker_seq_result_free(res);
    return rc;
}

void checker_seq_result_free(struct checker_seq_result *res)
{
    for (size_t i = 0; i < res->n_steps; i++)
        fl_free(res->steps[i].text);
    fl_free(res->steps);
    res->steps = NULL;
    res->n_steps = 0;
}

/* ==== Output ==== */

void checker_seq_explain_text(const struct checker_seq_result *res, struct fl_buf *out)
{
    if (res->verdict != CHECKER_INVALID)
        return;
    fl_buf_printf(out, "  %s: %s\n", checker_seq_rule_name(res->rule), res->reason);
    for (size_t i = 0; i < res->n_steps; i++)
        fl_buf_printf(out, "    %zu. %s\n", i + 1, res->steps[i].text);
}

const char *checker_seq_result_procedure(const struct checker_seq_result *res)
{
    if (res->refused)
        return "none";
    return res->procedure ? res->procedure : "graph";
}

json_t *checker_seq_result_json(const struct checker_history *h,
                                const struct checker_seq_result *res)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:f}", "file", h->path, "consistency",
        "sequential", "verdict", checker_verdict_name(res->verdict), "operations",
        (json_int_t)res->n_ops, "processes", (json_int_t)res->n_processes, "keys",
        (json_int_t)res->n_keys, "keys_unique_values", (json_int_t)res->n_unique_keys,
        "orders_added", (json_int_t)res->n_edges, "configurations", (json_int_t)res->configs,
        "procedure", checker_seq_result_procedure(res), "seconds", res->seconds);
    if (!o)
        return NULL;
    if (res->reason[0])
        json_object_set_new(o, "reason", json_string(res->reason));
    if (res->refused)
        json_object_set_new(o, "refused", json_string(res->refused));
    if (res->verdict == CHECKER_INVALID) {
        json_object_set_new(o, "rule", json_string(checker_seq_rule_name(res->rule)));
        json_t *steps = json_array();
        for (size_t i = 0; steps && i < res->n_steps; i++)
            json_array_append_new(steps, checker_hop_json(h, res->steps[i].op, res->steps[i].text));
        if (steps)
            json_object_set_new(o, "steps", steps);
    }
    return o;
}
