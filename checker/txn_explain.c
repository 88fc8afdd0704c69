/* txn_explain.c - anomalies told in words, JSON and SVG. */
#include "checker/txn_explain.h"

#include "checker/report.h"
#include "checker/txn_cycle.h"
#include "common/alloc.h"
#include "common/error.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define NONE CHECKER_TXN_NONE

/* ==== Reasons ==== */

/* Does read micro-op r (list) hold the write w? */
static bool read_holds(const struct checker_txn_history *h, const struct checker_txn_infer *inf,
                       uint32_t r, uint32_t w)
{
    const struct checker_txn_mop *m = &h->mops[r];
    if (m->rkind != CHECKER_TXN_RLIST)
        return false;
    for (uint32_t e = 0; e < m->len; e++)
        if (inf->elem_w[(size_t)m->value + e] == w)
            return true;
    return false;
}

static void edge_why(const struct checker_txn_history *h, const struct checker_txn_infer *inf,
                     uint32_t a, uint32_t b, uint8_t type, uint32_t *wa, uint32_t *wb)
{
    const struct checker_txn *ta = &h->txns[a], *tb = &h->txns[b];
    bool la = inf->workload == CHECKER_TXN_LIST_APPEND;
    *wa = *wb = NONE;
    for (uint32_t i = ta->mop; i < ta->mop + ta->n_mops; i++)
        for (uint32_t j = tb->mop; j < tb->mop + tb->n_mops; j++) {
            const struct checker_txn_mop *x = &h->mops[i], *y = &h->mops[j];
            if (x->key != y->key)
                continue;
            bool ok = false;
            switch (type) {
            case CHECKER_TXN_WW:
                ok = x->f != CHECKER_TXN_R && y->f != CHECKER_TXN_R && inf->vpos[i] != NONE &&
                     (inf->vpos[j] == NONE ? true : inf->vpos[i] < inf->vpos[j]);
                break;
            case CHECKER_TXN_WR:
                ok = x->f != CHECKER_TXN_R && y->f == CHECKER_TXN_R && inf->read_w[j] == i;
                break;
            case CHECKER_TXN_RW:
                ok = x->f == CHECKER_TXN_R &&
                     (inf->mop_flags[i] & (CHECKER_TXN_EXT | CHECKER_TXN_FIRSTR)) &&
                     !(inf->mop_flags[i] & CHECKER_TXN_BADINT) && y->f != CHECKER_TXN_R &&
                     x->rkind != CHECKER_TXN_RUNKNOWN &&
                     (la ? !read_holds(h, inf, i, j) : x->rkind == CHECKER_TXN_RNIL);
                break;
            default:
                return;
            }
            if (ok) {
                *wa = i;
                *wb = j;
                return;
            }
        }
}

int checker_txn_explain_why(const struct checker_txn_history *h,
                            const struct checker_txn_infer *inf, struct checker_txn_anomaly *a)
{
    if (a->kind >= CHECKER_TXN_N_CYCLE_KINDS || !a->n)
        return 0;
    fl_free(a->why);
    a->why = fl_malloc(2 * (size_t)a->n * sizeof *a->why);
    if (!a->why)
        return FL_ENOMEM;
    for (uint32_t i = 0; i < a->n; i++)
        edge_why(h, inf, a->txns[i], a->txns[(i + 1) % a->n], a->types[i], &a->why[2 * i],
                 &a->why[2 * i + 1]);
    return 0;
}

/* ==== Words ==== */

static void put_key(const struct checker_txn_history *h, uint32_t k, struct fl_buf *out)
{
    const char *s = checker_txn_key_name(h, k);
    fl_buf_puts(out, "key ");
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            fl_buf_puts(out, "?");
        else
            fl_buf_append(out, s, 1);
}

static void put_read(const struct checker_txn_history *h, const struct checker_txn_mop *m,
                     struct fl_buf *out)
{
    switch (m->rkind) {
    case CHECKER_TXN_RNIL:
        fl_buf_puts(out, "nil");
        break;
    case CHECKER_TXN_RINT:
        fl_buf_printf(out, "%" PRId64, m->value);
        break;
    case CHECKER_TXN_RLIST: {
        const int64_t *e = h->elems + m->value;
        fl_buf_puts(out, "[");
        for (uint32_t i = 0; i < m->len; i++) {
            if (m->len > 8 && i == 2) {
                fl_buf_printf(out, " ...%u more...", m->len - 6);
                i = m->len - 4;
                continue;
            }
            fl_buf_printf(out, "%s%" PRId64, i ? " " : "", e[i]);
        }
        fl_buf_puts(out, "]");
        break;
    }
    default:
        fl_buf_puts(out, "(unknown)");
    }
}

static void put_txn(const struct checker_txn_history *h, uint32_t t, struct fl_buf *out)
{
    const struct checker_txn *tx = &h->txns[t];
    fl_buf_printf(out, "T%u (process %" PRId64 ", %s, line %" PRIu64 ")", t, tx->process,
                  tx->type == CHECKER_TXN_OK     ? "ok"
                  : tx->type == CHECKER_TXN_FAIL ? "fail"
                                                 : "info",
                  tx->end_line ? tx->end_line : tx->inv_line);
}

static const char *edge_name(uint8_t t)
{
    switch (t) {
    case CHECKER_TXN_WW:
        return "ww";
    case CHECKER_TXN_WR:
        return "wr";
    case CHECKER_TXN_RW:
        return "rw";
    case CHECKER_TXN_PROCESS:
        return "process";
    case CHECKER_TXN_REALTIME:
        return "realtime";
    default:
        return "?";
    }
}

static const char *verb(const struct checker_txn_mop *m)
{
    return m->f == CHECKER_TXN_APPEND ? "appended" : "wrote";
}

void checker_txn_step_text(const struct checker_txn_history *h, const struct checker_txn_anomaly *a,
                           uint32_t i, struct fl_buf *out)
{
    uint32_t x = a->txns[i], y = a->txns[(i + 1) % a->n];
    uint32_t wa = a->why ? a->why[2 * i] : NONE, wb = a->why ? a->why[2 * i + 1] : NONE;
    const struct checker_txn_mop *ma = wa != NONE ? &h->mops[wa] : NULL;
    const struct checker_txn_mop *mb = wb != NONE ? &h->mops[wb] : NULL;
    switch (a->types[i]) {
    case CHECKER_TXN_WW:
        if (ma && mb) {
            fl_buf_printf(out, "T%u %s %" PRId64 " to ", x, verb(ma), ma->value);
            put_key(h, ma->key, out);
            fl_buf_printf(out, " and T%u %s %" PRId64 " after it (the reads of the key order them)",
                          y, verb(mb), mb->value);
        } else
            fl_buf_printf(out, "T%u wrote a version that T%u's write followed", x, y);
        break;
    case CHECKER_TXN_WR:
        if (ma && mb) {
            fl_buf_printf(out, "T%u read ", y);
            put_key(h, mb->key, out);
            fl_buf_puts(out, " as ");
            put_read(h, mb, out);
            if (mb->rkind == CHECKER_TXN_RLIST)
                fl_buf_printf(out, ", which ends with %" PRId64 ", %s by T%u", ma->value, verb(ma),
                              x);
            else
                fl_buf_printf(out, ", which T%u wrote", x);
        } else
            fl_buf_printf(out, "T%u read a value T%u wrote", y, x);
        break;
    case CHECKER_TXN_RW:
        if (ma && mb) {
            fl_buf_printf(out, "T%u read ", x);
            put_key(h, ma->key, out);
            fl_buf_puts(out, " as ");
            put_read(h, ma, out);
            fl_buf_printf(out, " without %" PRId64 ", which T%u %s later", mb->value, y, verb(mb));
        } else
            fl_buf_printf(out, "T%u read a version that T%u overwrote", x, y);
        break;
    case CHECKER_TXN_PROCESS:
        fl_buf_printf(out, "T%u came after T%u on process %" PRId64, y, x, h->txns[y].process);
        break;
    case CHECKER_TXN_REALTIME:
        fl_buf_printf(out,
                      "T%u completed (line %" PRIu64 ") before T%u was invoked (line %" PRIu64 ")",
                      x, h->txns[x].end_line, y, h->txns[y].inv_line);
        break;
    }
    fl_buf_printf(out, ": T%u -%s-> T%u", x, edge_name(a->types[i]), y);
}

/* The sentence for an anomaly found without a cycle. */
static void other_text(const struct checker_txn_history *h, const struct checker_txn_anomaly *a,
                       struct fl_buf *out)
{
    const struct checker_txn_mop *m = a->mop != NONE ? &h->mops[a->mop] : NULL;
    const struct checker_txn_mop *m2 = a->mop2 != NONE ? &h->mops[a->mop2] : NULL;
    uint32_t t = a->txns[0];
    switch (a->kind) {
    case CHECKER_TXN_G1A:
    case CHECKER_TXN_G1B:
    case CHECKER_TXN_GARBAGE:
    case CHECKER_TXN_DUPLICATE:
    case CHECKER_TXN_INTERNAL:
        fl_buf_printf(out, "T%u read ", t);
        put_key(h, m->key, out);
        fl_buf_puts(out, " as ");
        put_read(h, m, out);
        if (a->kind == CHECKER_TXN_G1A)
            fl_buf_printf(out, ": %" PRId64 " was written by T%u, which failed", a->value,
                          a->txns[1]);
        else if (a->kind == CHECKER_TXN_G1B)
            fl_buf_printf(out,
                          ": %" PRId64 " is an intermediate write of T%u, which wrote the key "
                          "again later",
                          a->value, a->txns[1]);
        else if (a->kind == CHECKER_TXN_GARBAGE)
            fl_buf_printf(out, ": no transaction ever wrote %" PRId64 " to it", a->value);
        else if (a->kind == CHECKER_TXN_DUPLICATE)
            fl_buf_printf(out, ": %" PRId64 " appears twice, but was appended once", a->value);
        else
            fl_buf_puts(out, ": not what its own earlier micro-ops on the key leave");
        break;
    case CHECKER_TXN_INCOMPATIBLE:
        fl_buf_printf(out, "T%u read ", t);
        put_key(h, m->key, out);
        fl_buf_puts(out, " as ");
        put_read(h, m, out);
        fl_buf_printf(out, " and T%u read it as ", a->txns[1]);
        put_read(h, m2, out);
        fl_buf_puts(out, ": neither is a prefix of the other, no single order explains both");
        break;
    case CHECKER_TXN_LOST_UPDATE:
        fl_buf_printf(out, "T%u and T%u both read ", t, a->txns[1]);
        put_key(h, m->key, out);
        fl_buf_puts(out, " as ");
        put_read(h, m, out);
        fl_buf_puts(out, " and both wrote it: one update is lost");
        break;
    }
}

static void model_list(uint32_t models, struct fl_buf *out)
{
    bool first = true;
    for (int m = 0; m < CHECKER_TXN_N_MODELS; m++)
        if (models & (1u << m)) {
            fl_buf_printf(out, "%s%s", first ? "" : ", ",
                          checker_txn_consistency_name((enum checker_txn_consistency)m));
            first = false;
        }
    if (first)
        fl_buf_puts(out, "none");
}

void checker_txn_explain_text(const struct checker_txn_history *h,
                              const struct checker_txn_result *res, struct fl_buf *out)
{
    if (res->ruled_out) {
        fl_buf_puts(out, "  rules out: ");
        model_list(res->ruled_out, out);
        fl_buf_puts(out, "\n  weakest violated: ");
        model_list(res->weakest, out);
        fl_buf_puts(out, "\n");
    }
    if (res->proven) {
        fl_buf_puts(out, "  proven: ");
        model_list(res->proven, out);
        fl_buf_puts(out, "\n");
    }
    for (int k = 0; k < CHECKER_TXN_N_ANOMALIES; k++) {
        const struct checker_txn_anomaly *a = &res->found.example[k];
        if (!res->found.count[k] || !a->n)
            continue;
        fl_buf_printf(out, "  %s (%" PRIu64 " found), shortest:\n",
                      checker_txn_anomaly_name((enum checker_txn_anomaly_kind)k),
                      res->found.count[k]);
        for (uint32_t i = 0; i < a->n; i++) {
            fl_buf_puts(out, "    ");
            put_txn(h, a->txns[i], out);
            fl_buf_puts(out, "\n");
        }
        if (k < CHECKER_TXN_N_CYCLE_KINDS)
            for (uint32_t i = 0; i < a->n; i++) {
                fl_buf_printf(out, "    %u. ", i + 1);
                checker_txn_step_text(h, a, i, out);
                fl_buf_puts(out, "\n");
            }
        else {
            fl_buf_puts(out, "    ");
            other_text(h, a, out);
            fl_buf_puts(out, "\n");
        }
    }
}

/* ==== JSON ==== */

static json_t *models_json(uint32_t models)
{
    json_t *a = json_array();
    for (int m = 0; m < CHECKER_TXN_N_MODELS; m++)
        if (models & (1u << m))
            json_array_append_new(
                a, json_string(checker_txn_consistency_name((enum checker_txn_consistency)m)));
    return a;
}

static json_t *txn_json(const struct checker_txn_history *h, uint32_t t)
{
    const struct checker_txn *tx = &h->txns[t];
    return json_pack("{s:I, s:I, s:s, s:I, s:I}", "txn", (json_int_t)t, "process",
                     (json_int_t)tx->process, "type",
                     tx->type == CHECKER_TXN_OK     ? "ok"
                     : tx->type == CHECKER_TXN_FAIL ? "fail"
                                                    : "info",
                     "invoke_line", (json_int_t)tx->inv_line, "complete_line",
                     (json_int_t)tx->end_line);
}

json_t *checker_txn_result_json(const struct checker_txn_history *h,
                                const struct checker_txn_result *res)
{
    json_t *o = json_object();
    json_object_set_new(o, "verdict", json_string(checker_verdict_name(res->verdict)));
    json_object_set_new(o, "model", json_string(checker_txn_workload_name(res->workload)));
    json_object_set_new(o, "consistency",
                        json_string(checker_txn_consistency_name(res->consistency)));
    if (res->reason[0])
        json_object_set_new(o, "reason", json_string(res->reason));
    json_object_set_new(o, "txns", json_integer((json_int_t)res->n_txns));
    json_object_set_new(o, "ok", json_integer((json_int_t)res->n_ok));
    json_object_set_new(o, "info", json_integer((json_int_t)res->n_info));
    json_object_set_new(o, "fail", json_integer((json_int_t)res->n_fail));
    json_object_set_new(o, "keys", json_integer((json_int_t)res->n_keys));
    json_object_set_new(o, "edges", json_integer((json_int_t)res->n_edges));
    json_object_set_new(o, "orders_complete", json_boolean(res->orders_complete));
    json_object_set_new(o, "search_complete", json_boolean(res->search_complete));
    json_object_set_new(o, "ruled_out", models_json(res->ruled_out));
    json_object_set_new(o, "weakest_violated", models_json(res->weakest));
    json_object_set_new(o, "proven", models_json(res->proven));
    json_object_set_new(o, "time", json_real(res->seconds));
    json_t *an = json_array();
    for (int k = 0; k < CHECKER_TXN_N_ANOMALIES; k++) {
        const struct checker_txn_anomaly *a = &res->found.example[k];
        if (!res->found.count[k] || !a->n)
            continue;
        json_t *x = json_object();
        json_object_set_new(
            x, "type", json_string(checker_txn_anomaly_name((enum checker_txn_anomaly_kind)k)));
        json_object_set_new(x, "count", json_integer((json_int_t)res->found.count[k]));
        json_t *txns = json_array();
        for (uint32_t i = 0; i < a->n; i++)
            json_array_append_new(txns, txn_json(h, a->txns[i]));
        json_object_set_new(x, "txns", txns);
        struct fl_buf b;
        fl_buf_init(&b);
        if (k < CHECKER_TXN_N_CYCLE_KINDS) {
            json_t *steps = json_array();
            for (uint32_t i = 0; i < a->n; i++) {
                fl_buf_reset(&b);
                checker_txn_step_text(h, a, i, &b);
                json_t *st = json_pack("{s:I, s:I, s:s, s:s}", "from", (json_int_t)a->txns[i], "to",
                                       (json_int_t)a->txns[(i + 1) % a->n], "type",
                                       edge_name(a->types[i]), "text", fl_buf_cstr(&b));
                uint32_t w = a->why ? a->why[2 * i] : NONE;
                if (st && w != NONE)
                    json_object_set_new(st, "key",
                                        json_string(checker_txn_key_name(h, h->mops[w].key)));
                json_array_append_new(steps, st);
            }
            json_object_set_new(x, "steps", steps);
        } else {
            other_text(h, a, &b);
            json_object_set_new(x, "text", json_string(fl_buf_cstr(&b)));
            if (a->mop != NONE)
                json_object_set_new(x, "key",
                                    json_string(checker_txn_key_name(h, h->mops[a->mop].key)));
        }
        fl_buf_free(&b);
        json_array_append_new(an, x);
    }
    json_object_set_new(o, "anomalies", an);
    return o;
}

/* ==== SVG ==== */

void checker_txn_cycle_svg(const struct checker_txn_history *h, const struct checker_txn_anomaly *a,
                           struct fl_buf *out)
{
    (void)h;
    uint32_t n = a->n;
    if (!n || a->kind >= CHECKER_TXN_N_CYCLE_KINDS)
        return;
    uint32_t shown = n > 16 ? 16 : n;
    double size = 200 + 12.0 * shown, r = size / 2 - 40, cx = size / 2, cy = size / 2;
    fl_buf_printf(
        out,
        "<svg class=\"cycle\" width=\"%.0f\" height=\"%.0f\" "
        "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"11\">"
        "<defs><marker id=\"a%d\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
        "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" "
        "fill=\"#444\"/></marker></defs>",
        size, size, size, size, a->kind);
    double px[16], py[16];
    for (uint32_t i = 0; i < shown; i++) {
        double ang = -M_PI / 2 + 2 * M_PI * i / shown;
        px[i] = cx + r * cos(ang);
        py[i] = cy + r * sin(ang);
    }
    for (uint32_t i = 0; i < shown; i++) {
        uint32_t j = (i + 1) % shown;
        double dx = px[j] - px[i], dy = py[j] - py[i], d = sqrt(dx * dx + dy * dy);
        if (d < 1)
            d = 1;
        double x1 = px[i] + dx / d * 18, y1 = py[i] + dy / d * 18;
        double x2 = px[j] - dx / d * 18, y2 = py[j] - dy / d * 18;
        const char *color = a->types[i] == CHECKER_TXN_RW   ? "#c0392b"
                            : a->types[i] == CHECKER_TXN_WR ? "#2471a3"
                            : a->types[i] == CHECKER_TXN_WW ? "#1e8449"
                                                            : "#7d3c98";
        fl_buf_printf(out,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                      "stroke-width=\"1.6\" marker-end=\"url(#a%d)\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"middle\">%s</text>",
                      x1, y1, x2, y2, color, a->kind, (x1 + x2) / 2 + dy / d * 10,
                      (y1 + y2) / 2 - dx / d * 10, color,
                      i == shown - 1 && shown < n ? "..." : edge_name(a->types[i]));
    }
    for (uint32_t i = 0; i < shown; i++)
        fl_buf_printf(out,
                      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"16\" fill=\"#fff\" stroke=\"#333\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">T%u</text>",
                      px[i], py[i], px[i], py[i] + 4, a->txns[i]);
    fl_buf_puts(out, "</svg>");
}

/* ==== HTML ==== */

/* Transaction t of h as operation t of the register reading of the same file
 * (both keep client operations in invocation order), when they agree. */
static bool same_op(const struct checker_txn_history *h, const struct checker_history *reg,
                    uint32_t t)
{
    return t < h->n_txns && t < reg->n_ops && reg->ops[t].process == h->txns[t].process &&
           reg->ops[t].call_time == h->txns[t].inv_time;
}

/* Each anomaly example's transactions as timeline marks ("G-single T3"). */
static int anomaly_marks(const struct checker_txn_history *h, const struct checker_txn_result *res,
                         const struct checker_history *reg, struct checker_report_mark **out,
                         size_t *n_out)
{
    size_t n = 0;
    *out = NULL;
    *n_out = 0;
    if (reg->n_ops != h->n_txns)
        return 0;
    for (int k = 0; k < CHECKER_TXN_N_ANOMALIES; k++)
        if (res->found.count[k])
            n += res->found.example[k].n;
    if (!n)
        return 0;
    struct checker_report_mark *m = fl_calloc(n, sizeof *m);
    if (!m)
        return FL_ENOMEM;
    size_t j = 0;
    for (int k = 0; k < CHECKER_TXN_N_ANOMALIES; k++) {
        const struct checker_txn_anomaly *a = &res->found.example[k];
        for (uint32_t i = 0; res->found.count[k] && i < a->n; i++) {
            bool dup = false; /* one mark a transaction: the first kind names it */
            for (size_t d = 0; d < j && !dup; d++)
                dup = m[d].op == a->txns[i];
            if (dup || !same_op(h, reg, a->txns[i]))
                continue;
            m[j].op = a->txns[i];
            snprintf(m[j].label, sizeof m[j].label, "T%u", a->txns[i]);
            m[j].what = checker_txn_anomaly_name((enum checker_txn_anomaly_kind)k);
            j++;
        }
    }
    *out = m;
    *n_out = j;
    return 0;
}

static const char txn_css[] = "li{margin:.2em 0}.anomaly{border-top:1px solid #ccc;margin-top:1em}";

int checker_txn_report_html(const struct checker_txn_history *h,
                            const struct checker_txn_result *res, const char *title,
                            const struct checker_txn_report_timeline *tl, struct fl_buf *out)
{
    struct fl_buf t;
    fl_buf_init(&t);
    checker_report_page_begin(out, title, checker_verdict_name(res->verdict), txn_css);
    fl_buf_printf(out, "<p><b>%s</b> for %s (%s)", checker_verdict_name(res->verdict),
                  checker_txn_consistency_name(res->consistency),
                  checker_txn_workload_name(res->workload));
    if (res->reason[0]) {
        fl_buf_puts(out, ": ");
        checker_html_escape(out, res->reason, 400);
    }
    fl_buf_printf(out,
                  "</p><p>%zu transactions (ok %zu, info %zu, fail %zu), %zu keys, %zu edges</p>",
                  res->n_txns, res->n_ok, res->n_info, res->n_fail, res->n_keys, res->n_edges);
    fl_buf_reset(&t);
    model_list(res->ruled_out, &t);
    fl_buf_puts(out, "<p>Rules out: ");
    checker_html_escape(out, fl_buf_cstr(&t), 400);
    fl_buf_reset(&t);
    model_list(res->weakest, &t);
    fl_buf_puts(out, "; weakest violated: ");
    checker_html_escape(out, fl_buf_cstr(&t), 400);
    fl_buf_reset(&t);
    model_list(res->proven, &t);
    fl_buf_puts(out, ". Proven: ");
    checker_html_escape(out, fl_buf_cstr(&t), 400);
    fl_buf_puts(out, ".</p>\n");
    const struct checker_history *reg = tl ? tl->h : NULL;
    if (reg) {
        struct checker_report_mark *marks;
        size_t n_marks;
        int rc = anomaly_marks(h, res, reg, &marks, &n_marks);
        if (rc == 0)
            rc = checker_report_timeline_html(reg, tl->a, tl->o, marks, n_marks, out);
        fl_free(marks);
        if (rc) {
            fl_buf_free(&t);
            out->oom = true;
            return FL_ENOMEM;
        }
    } else {
        fl_buf_puts(out, "<p class=\"note\" id=\"no-timeline\">No timeline: ");
        checker_html_escape(out, tl && tl->note ? tl->note : "not asked for", 400);
        fl_buf_puts(out, ".</p>\n");
    }
    for (int k = 0; k < CHECKER_TXN_N_ANOMALIES; k++) {
        const struct checker_txn_anomaly *a = &res->found.example[k];
        if (!res->found.count[k] || !a->n)
            continue;
        fl_buf_printf(
            out, "<div class=\"anomaly\"><h2>%s</h2><p>%" PRIu64 " found; the shortest:</p>",
            checker_txn_anomaly_name((enum checker_txn_anomaly_kind)k), res->found.count[k]);
        if (k < CHECKER_TXN_N_CYCLE_KINDS) {
            checker_txn_cycle_svg(h, a, out);
            fl_buf_puts(out, "<ol>");
            for (uint32_t i = 0; i < a->n; i++) {
                fl_buf_reset(&t);
                checker_txn_step_text(h, a, i, &t);
                fl_buf_puts(out, "<li>");
                checker_html_escape(out, fl_buf_cstr(&t), 2000);
                fl_buf_puts(out, "</li>");
            }
            fl_buf_puts(out, "</ol>");
        } else {
            fl_buf_reset(&t);
            other_text(h, a, &t);
            fl_buf_puts(out, "<p>");
            checker_html_escape(out, fl_buf_cstr(&t), 2000);
            fl_buf_puts(out, "</p>");
        }
        fl_buf_puts(out, "<ul>");
        for (uint32_t i = 0; i < a->n; i++) {
            fl_buf_reset(&t);
            put_txn(h, a->txns[i], &t);
            fl_buf_puts(out, "<li>");
            checker_html_escape(out, fl_buf_cstr(&t), 400);
            const struct checker_txn *tx = &h->txns[a->txns[i]];
            if (reg && same_op(h, reg, a->txns[i]) && tx->inv_time >= 0)
                fl_buf_printf(out, ", invoked at %.3f s (marked on the timeline)",
                              (double)(tx->inv_time - tl->a->t0) / 1e9);
            fl_buf_puts(out, "</li>");
        }
        fl_buf_puts(out, "</ul></div>\n");
    }
    if (reg)
        checker_report_faults_html(reg, tl->a, tl->o, out);
    fl_buf_free(&t);
    return checker_report_page_end(out);
}

int checker_txn_report_page(const struct checker_txn_history *h,
                            const struct checker_txn_result *res, const char *title,
                            size_t max_txns, struct fl_buf *out)
{
    char why[160];
    char errmsg[FL_ERRMSG_SIZE] = "";
    struct checker_history reg;
    struct checker_report_analysis an;
    struct checker_report_options o;
    memset(&reg, 0, sizeof reg);
    memset(&an, 0, sizeof an);
    checker_report_options_default(&o);
    struct checker_txn_report_timeline tl = {.o = &o};
    int rc = 0;
    if (!max_txns)
        max_txns = CHECKER_TXN_REPORT_MAX_TXNS;
    if (!h->path || strcmp(h->path, "-") == 0) {
        tl.note = "the history was read from standard input, which cannot be read twice";
    } else if (h->n_txns > max_txns) {
        snprintf(why, sizeof why,
                 "%zu transactions, over the %zu it is drawn for (reading them again as "
                 "report.html does costs about 60 times the check's memory)",
                 h->n_txns, max_txns);
        tl.note = why;
    } else if ((rc = checker_history_load_capped(&reg, h->path, h->format,
                                                 checker_default_max_memory(), errmsg)) < 0 ||
               (rc = checker_report_analyze(&reg, &o, &an, errmsg)) < 0) {
        if (rc == FL_ENOMEM)
            goto out;
        tl.note = errmsg; /* a budget: the page says so, the verdict stands */
        rc = 0;
    } else {
        tl.h = &reg;
        tl.a = &an;
    }
    rc = checker_txn_report_html(h, res, title, &tl, out);
out:
    checker_report_analysis_free(&an);
    checker_history_free(&reg);
    return rc;
}
