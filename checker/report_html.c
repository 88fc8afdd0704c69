/* report_html.c - report.html: one self-contained page (inline CSS, SVG, a little JS). */
#include "checker/report.h"

#include "checker/explain.h"
#include "common/alloc.h"
#include "common/edn.h"
#include "common/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S  1000000000.0
#define NS_PER_MS 1000000.0

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ==== HTML helpers ==== */

void checker_html_escape(struct fl_buf *out, const char *s, size_t max)
{
    size_t i = 0;
    for (; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':
            fl_buf_puts(out, "&amp;");
            break;
        case '<':
            fl_buf_puts(out, "&lt;");
            break;
        case '>':
            fl_buf_puts(out, "&gt;");
            break;
        case '"':
            fl_buf_puts(out, "&quot;");
            break;
        case '\'':
            fl_buf_puts(out, "&#39;");
            break;
        case '/':
            fl_buf_puts(out, "&#47;");
            break;
        case ':':
            fl_buf_puts(out, "&#58;");
            break;
        case '=':
            fl_buf_puts(out, "&#61;");
            break;
        default:
            if (c < 0x20 && c != '\n' && c != '\t')
                fl_buf_puts(out, "?");
            else
                fl_buf_append(out, (const char *)&s[i], 1);
        }
    }
    if (s[i])
        fl_buf_puts(out, "...");
}

static void esc(struct fl_buf *out, const char *s)
{
    checker_html_escape(out, s, (size_t)-1);
}

static void esc_json(struct fl_buf *out, const json_t *v, size_t max)
{
    if (!v) {
        fl_buf_puts(out, "nil");
        return;
    }
    char *s = fl_edn_value_text(v);
    checker_html_escape(out, s ? s : "?", max);
    free(s);
}

static const char *kind_class(const char *k)
{
    if (strncmp(k, "kill", 4) == 0)
        return "fk";
    if (strncmp(k, "pause", 5) == 0)
        return "fp";
    if (strncmp(k, "clock", 5) == 0)
        return "fc";
    if (strncmp(k, "membership", 10) == 0)
        return "fm";
    if (strcmp(k, "loss") == 0 || strcmp(k, "duplicate") == 0 || strcmp(k, "delay") == 0 ||
        strcmp(k, "reorder") == 0)
        return "fd";
    return "fn"; /* partitions and anything else */
}

static const char *status_class(enum fl_event_type t)
{
    return t == FL_EVENT_OK ? "ok" : t == FL_EVENT_FAIL ? "fail" : "info";
}

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#8c564b", "#e377c2", "#17becf", "#bcbd22"};

#define PLOT_LEFT        70
#define PLOT_W           1000
#define FAULT_TOP        34 /* room for fault labels above the lanes */
#define MAX_LANES        200
#define MAX_FAULTS_DRAWN 400
#define MAX_CEX_DRAWN    200   /* concurrent operations outlined */
#define MAX_CEX_TEXT     20000 /* bytes of the counterexample text */

/* Geometry of the time axis shared by the timeline and the latency plot. */
struct axis {
    int64_t t0, span; /* ns, span >= 1 */
    bool positions;   /* no times: event positions instead */
};

static double ax_x(const struct axis *ax, int64_t t)
{
    double x = (double)(t - ax->t0) * PLOT_W / (double)ax->span;
    if (x < 0)
        x = 0;
    if (x > PLOT_W)
        x = PLOT_W;
    return PLOT_LEFT + x;
}

static int64_t op_call(const struct axis *ax, const struct checker_hop *op)
{
    return ax->positions ? op->call : op->call_time;
}

/* End of an operation's bar: its completion, or the end for info. */
static int64_t op_ret(const struct axis *ax, const struct checker_hop *op)
{
    if (op->status == FL_EVENT_INFO || op->ret == CHECKER_POS_NEVER)
        return ax->t0 + ax->span;
    return ax->positions ? op->ret : op->ret_time;
}

/* A round tick step (1, 2 or 5 times a power of ten, at least `min`) giving
 * at most `max_ticks` ticks over `span`. */
static double tick_step(double span, double min, double max_ticks)
{
    double step = 1;
    static const double steps[] = {1, 2, 5};
    for (double mag = 1e-9; mag < 1e12; mag *= 10)
        for (size_t i = 0; i < 3; i++) {
            step = steps[i] * mag;
            if (step >= min && span / step <= max_ticks)
                return step;
        }
    return step;
}

static void time_ticks(struct fl_buf *out, const struct axis *ax, double y_top, double y_bottom)
{
    double span = ax->positions ? (double)ax->span : (double)ax->span / NS_PER_S;
    double step = tick_step(span, 1e-3, 12);
    for (double t = 0; t <= span + 1e-9; t += step) {
        double x = PLOT_LEFT + t / span * PLOT_W;
        fl_buf_printf(out,
                      "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                      "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%g%s</text>\n",
                      x, y_top, x, y_bottom, x, y_bottom + 12, t, ax->positions ? "" : "s");
    }
}

static void fault_shading(struct fl_buf *out, const struct checker_report_analysis *a,
                          const struct axis *ax, double y0, double y1, bool labels)
{
    if (ax->positions)
        return;
    size_t n = a->n_faults < MAX_FAULTS_DRAWN ? a->n_faults : MAX_FAULTS_DRAWN;
    for (size_t i = 0; i < n; i++) {
        const struct checker_report_fault *f = &a->faults[i];
        double x1 = ax_x(ax, f->start), x2 = ax_x(ax, f->end < 0 ? ax->t0 + ax->span : f->end);
        if (x2 - x1 < 1)
            x2 = x1 + 1;
        fl_buf_printf(out,
                      "<rect class=\"fault %s%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"%.1f\"><title>",
                      kind_class(f->kind), f->failed ? " failed" : "", x1, y0, x2 - x1, y1 - y0);
        esc(out, f->kind);
        fl_buf_printf(out, " %.3fs-", (double)(f->start - ax->t0) / NS_PER_S);
        if (f->end >= 0)
            fl_buf_printf(out, "%.3fs", (double)(f->end - ax->t0) / NS_PER_S);
        else
            fl_buf_puts(out, "end (never healed)");
        fl_buf_puts(out, f->failed ? " FAILED: " : ": ");
        esc_json(out, f->value, 300);
        fl_buf_puts(out, "</title></rect>\n");
        if (labels) {
            fl_buf_printf(out, "<text class=\"flabel\" x=\"%.1f\" y=\"%.1f\">", x1 + 2,
                          (double)(12 + (i % 2) * 12));
            checker_html_escape(out, f->kind, 24);
            fl_buf_puts(out, "</text>\n");
        }
    }
}

/* Node events (process "node": a foreign node's log line matched by a
 * scenario pattern, PROCESS_PROTOCOL.md) as dashed marks with the node and
 * the event's name, next to the faults. */
#define MAX_NODE_EVENTS_DRAWN 300
static void node_marks(struct fl_buf *out, const struct checker_history *h, const struct axis *ax,
                       double y0, double y1)
{
    if (ax->positions)
        return;
    size_t n = h->n_node_events < MAX_NODE_EVENTS_DRAWN ? h->n_node_events : MAX_NODE_EVENTS_DRAWN;
    for (size_t i = 0; i < n; i++) {
        const struct fl_event *ev = &h->node_events[i];
        if (ev->time < 0)
            continue;
        double x = ax_x(ax, ev->time);
        const char *node = ev->node != NULL ? ev->node : "?";
        fl_buf_printf(out,
                      "<line class=\"nodeev\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\">"
                      "<title>",
                      x, y0, x, y1);
        checker_html_escape(out, node, 16);
        fl_buf_puts(out, " ");
        checker_html_escape(out, ev->f, 64);
        fl_buf_printf(out, " at %.3fs: ", (double)(ev->time - ax->t0) / NS_PER_S);
        esc_json(out, ev->value, 300);
        fl_buf_printf(out, "</title></line><text class=\"nlabel\" x=\"%.1f\" y=\"%.1f\">", x + 2,
                      y0 + 8 + (double)(i % 3) * 9);
        checker_html_escape(out, node, 16);
        fl_buf_puts(out, " ");
        checker_html_escape(out, ev->f, 24);
        fl_buf_puts(out, "</text>\n");
    }
}

/* ==== Timeline ==== */

struct lanes {
    int64_t *procs; /* sorted distinct client processes */
    size_t n_procs;
    size_t group; /* processes per lane */
    size_t n;     /* lanes */
    double height;
};

static int lanes_init(struct lanes *l, const struct checker_history *h)
{
    memset(l, 0, sizeof(*l));
    if (h->n_ops == 0)
        return 0;
    l->procs = fl_reallocarray(NULL, h->n_ops, sizeof(*l->procs));
    if (!l->procs)
        return FL_ENOMEM;
    for (size_t i = 0; i < h->n_ops; i++)
        l->procs[i] = h->ops[i].process;
    qsort(l->procs, h->n_ops, sizeof(*l->procs), cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < h->n_ops; i++)
        if (k == 0 || l->procs[k - 1] != l->procs[i])
            l->procs[k++] = l->procs[i];
    l->n_procs = k;
    l->group = (k + MAX_LANES - 1) / MAX_LANES;
    l->n = (k + l->group - 1) / l->group;
    l->height = l->n <= 30 ? 14 : l->n <= 80 ? 7 : 3;
    return 0;
}

static size_t lane_of(const struct lanes *l, int64_t p)
{
    size_t lo = 0, hi = l->n_procs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->procs[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo / l->group;
}

static bool has_time(const struct axis *ax, const struct checker_hop *op)
{
    return op_call(ax, op) >= 0;
}

/* The tooltip text of operation `i`: process, f, key, value, outcome, latency, lines. */
static void op_title(struct fl_buf *out, const struct checker_history *h, const struct axis *ax,
                     size_t i)
{
    const struct checker_hop *op = &h->ops[i];
    fl_buf_printf(out, "process %lld ", (long long)op->process);
    checker_html_escape(out, op->f, 32);
    if (op->key) {
        fl_buf_puts(out, " key ");
        esc_json(out, op->key, 40);
    }
    fl_buf_puts(out, " ");
    esc_json(out, op->value, 80);
    fl_buf_printf(out, " %s", status_class(op->status));
    if (op->error) {
        fl_buf_puts(out, " (error: ");
        if (json_is_string(op->error) && !fl_edn_is_tagged(op->error))
            checker_html_escape(out, json_string_value(op->error), 160);
        else
            esc_json(out, op->error, 160);
        fl_buf_puts(out, ")");
    }
    if (!ax->positions && op->ret_time >= 0 && op->call_time >= 0)
        fl_buf_printf(out, " in %.3f ms", (double)(op->ret_time - op->call_time) / NS_PER_MS);
    fl_buf_printf(out, " (lines %llu-", (unsigned long long)op->call_line);
    if (op->status != FL_EVENT_INFO)
        fl_buf_printf(out, "%llu)", (unsigned long long)op->ret_line);
    else
        fl_buf_puts(out, "never completed)");
}

/* One operation drawn as its own bar, with a tooltip. */
static void op_bar(struct fl_buf *out, const struct checker_history *h, const struct lanes *l,
                   const struct axis *ax, size_t i, const char *extra_class, const char *id)
{
    const struct checker_hop *op = &h->ops[i];
    double y = FAULT_TOP + (double)lane_of(l, op->process) * l->height;
    double x1 = ax_x(ax, op_call(ax, op)), x2 = ax_x(ax, op_ret(ax, op));
    if (x2 - x1 < 1)
        x2 = x1 + 1;
    fl_buf_printf(out, "<rect class=\"op %s%s%s\"", status_class(op->status),
                  extra_class ? " " : "", extra_class ? extra_class : "");
    if (id)
        fl_buf_printf(out, " id=\"%s\"", id);
    fl_buf_printf(out, " x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>", x1, y + 1,
                  x2 - x1, l->height > 3 ? l->height - 2 : l->height);
    op_title(out, h, ax, i);
    fl_buf_puts(out, "</title></rect>\n");
}

/* Downsampled timeline: per lane and pixel column, the worst status seen
 * (info over fail over ok), runs of equal columns merged into one bar. The
 * column count halves until the bars fit the budget. Returns the bars drawn,
 * or (size_t)-1 on OOM. */
static size_t draw_columns(struct fl_buf *out, const struct checker_history *h,
                           const struct lanes *l, const struct axis *ax, size_t max_rects,
                           size_t *cols_used)
{
    size_t cols = PLOT_W;
    uint8_t *cell = NULL;
    for (;;) {
        fl_free(cell);
        cell = fl_calloc(l->n * cols, 1);
        if (!cell)
            return (size_t)-1;
        for (size_t i = 0; i < h->n_ops; i++) {
            const struct checker_hop *op = &h->ops[i];
            if (!has_time(ax, op))
                continue;
            size_t lane = lane_of(l, op->process);
            double c1 = (double)(op_call(ax, op) - ax->t0) * (double)cols / (double)ax->span;
            /* Info bars stop after one column: lanes are shared here. */
            double c2 = op->status == FL_EVENT_INFO
                            ? c1 + 1
                            : (double)(op_ret(ax, op) - ax->t0) * (double)cols / (double)ax->span;
            size_t a = c1 < 0 ? 0 : c1 >= (double)cols ? cols - 1 : (size_t)c1;
            size_t b = c2 < 0 ? 0 : c2 >= (double)cols ? cols - 1 : (size_t)c2;
            uint8_t bit = op->status == FL_EVENT_OK ? 1 : op->status == FL_EVENT_FAIL ? 2 : 4;
            for (size_t c = a; c <= b; c++)
                cell[lane * cols + c] |= bit;
        }
        size_t runs = 0;
        for (size_t lane = 0; lane < l->n; lane++)
            for (size_t c = 0; c < cols; c++) {
                uint8_t v = cell[lane * cols + c];
                if (v && (c == 0 || cell[lane * cols + c - 1] != v))
                    runs++;
            }
        if (runs <= max_rects || cols <= 50)
            break;
        cols /= 2;
    }
    size_t drawn = 0;
    double cw = (double)PLOT_W / (double)cols;
    for (size_t lane = 0; lane < l->n; lane++) {
        size_t c = 0;
        while (c < cols) {
            uint8_t v = cell[lane * cols + c];
            size_t e = c + 1;
            while (e < cols && cell[lane * cols + e] == v)
                e++;
            if (v) {
                const char *cls = v & 4 ? "info" : v & 2 ? "fail" : "ok";
                fl_buf_printf(out,
                              "<rect class=\"op %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                              "height=\"%.1f\"/>\n",
                              cls, PLOT_LEFT + (double)c * cw,
                              FAULT_TOP + (double)lane * l->height + 1, (double)(e - c) * cw,
                              l->height > 3 ? l->height - 2 : l->height);
                drawn++;
            }
            c = e;
        }
    }
    fl_free(cell);
    *cols_used = cols;
    return drawn;
}

static bool in_cex(const struct checker_result *r, size_t i)
{
    if (!r || r->verdict != CHECKER_INVALID || !r->has_cex)
        return false;
    if (r->cex.op == i)
        return true;
    for (size_t k = 0; k < r->cex.n_concurrent; k++)
        if (r->cex.concurrent[k] == i)
            return true;
    return false;
}

/* Operations another checker marks (a transactional anomaly's transactions):
 * outlined on top with their label, where they sit in time; a label that
 * would run into the previous one of its row moves right. */
static int draw_marks(struct fl_buf *out, const struct checker_history *h, const struct lanes *l,
                      const struct axis *ax, const struct checker_report_mark *marks,
                      size_t n_marks)
{
    if (!n_marks)
        return 0;
    double lanes_h = (double)l->n * l->height;
    double *free_x = fl_calloc(l->n, sizeof *free_x);
    if (!free_x)
        return FL_ENOMEM;
    size_t drawn = 0;
    for (size_t k = 0; k < n_marks && drawn < MAX_CEX_DRAWN; k++) {
        const struct checker_report_mark *m = &marks[k];
        if (m->op >= h->n_ops || !has_time(ax, &h->ops[m->op]))
            continue;
        drawn++;
        op_bar(out, h, l, ax, m->op, "anomaly-op", NULL);
        const struct checker_hop *op = &h->ops[m->op];
        size_t lane = lane_of(l, op->process);
        double x = ax_x(ax, op_call(ax, op));
        double y = FAULT_TOP + (double)lane * l->height + l->height / 2;
        double lx = x + 6 > free_x[lane] ? x + 6 : free_x[lane];
        fl_buf_puts(out, "<g class=\"anomaly-marker\"><title>");
        checker_html_escape(out, m->what ? m->what : "", 40);
        fl_buf_puts(out, " ");
        checker_html_escape(out, m->label, sizeof m->label);
        fl_buf_printf(out,
                      "</title><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>"
                      "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\"/><text x=\"%.1f\" y=\"%.1f\">",
                      x, FAULT_TOP, x, FAULT_TOP + lanes_h, x, y, lx, y + 4);
        checker_html_escape(out, m->label, sizeof m->label);
        fl_buf_puts(out, "</text></g>\n");
        free_x[lane] = lx + 7.0 * (double)strnlen(m->label, sizeof m->label) + 4;
    }
    fl_free(free_x);
    return 0;
}

static int timeline(struct fl_buf *out, const struct checker_history *h,
                    const struct checker_result *r, const struct checker_report_mark *marks,
                    size_t n_marks, const struct checker_report_analysis *a,
                    const struct checker_report_options *o, const struct axis *ax)
{
    struct lanes l;
    if (lanes_init(&l, h) != 0)
        return FL_ENOMEM;
    double lanes_h = (double)l.n * l.height;
    double height = FAULT_TOP + lanes_h + 40;
    fl_buf_puts(out, "<h2 id=\"timeline-title\">Timeline</h2>\n<p class=\"note\">");
    fl_buf_printf(out, "One row per client process (%zu processes", l.n_procs);
    if (l.group > 1)
        fl_buf_printf(out, ", %zu per row", l.group);
    fl_buf_puts(out, "); bars run from invoke to completion: <span class=\"k ok\">ok</span> "
                     "<span class=\"k fail\">fail</span> <span class=\"k info\">info</span> "
                     "(info bars run to the end: the operation may take effect any time). "
                     "Shaded bands are faults; the red strip under the axis marks "
                     "unavailability. Hover for details.");
    if (n_marks)
        fl_buf_puts(out, " Outlined operations with a label are the transactions of the "
                         "anomalies below.");
    if (ax->positions)
        fl_buf_puts(out, " This history has no times: the axis is the order of events.");
    bool sampled = h->n_ops > o->max_timeline_ops;
    fl_buf_puts(out, "</p>\n");
    struct fl_buf body;
    fl_buf_init(&body);
    size_t cols = 0, drawn = 0;
    if (sampled) {
        drawn = draw_columns(&body, h, &l, ax, o->max_timeline_rects, &cols);
        if (drawn == (size_t)-1) {
            fl_buf_free(&body);
            fl_free(l.procs);
            return FL_ENOMEM;
        }
        fl_buf_printf(out,
                      "<p class=\"note sampled\" id=\"downsampled\">Downsampled: %zu operations "
                      "are too many to draw one by one (limit %zu), so each row shows %zu time "
                      "columns colored by the worst outcome in them, %zu bars in all; "
                      "counterexample and anomaly operations are still drawn individually. "
                      "results.json "
                      "and history.jsonl have every operation.</p>\n",
                      h->n_ops, o->max_timeline_ops, cols, drawn);
    } else {
        for (size_t i = 0; i < h->n_ops; i++)
            if (has_time(ax, &h->ops[i]) && !in_cex(r, i))
                op_bar(&body, h, &l, ax, i, NULL, NULL);
    }
    fl_buf_printf(out,
                  "<svg id=\"timeline\" class=\"plot\" viewBox=\"0 0 %d %.0f\" width=\"%d\" "
                  "height=\"%.0f\" role=\"img\" aria-label=\"timeline of operations\">\n",
                  PLOT_LEFT + PLOT_W + 10, height, PLOT_LEFT + PLOT_W + 10, height);
    time_ticks(out, ax, FAULT_TOP, FAULT_TOP + lanes_h + 2);
    fault_shading(out, a, ax, 0, FAULT_TOP + lanes_h, true);
    node_marks(out, h, ax, 0, FAULT_TOP + lanes_h);
    /* Row labels, at most ~40 of them. */
    size_t every = l.n / 40 + 1;
    for (size_t lane = 0; lane < l.n; lane += every) {
        fl_buf_printf(out, "<text class=\"lane\" x=\"%d\" y=\"%.1f\">p%lld</text>\n", PLOT_LEFT - 4,
                      FAULT_TOP + (double)lane * l.height + l.height - 2,
                      (long long)l.procs[lane * l.group]);
    }
    fl_buf_append(out, body.data ? body.data : "", body.len);
    if (body.oom)
        out->oom = true;
    fl_buf_free(&body);
    if (draw_marks(out, h, &l, ax, marks, n_marks) != 0) {
        fl_free(l.procs);
        return FL_ENOMEM;
    }
    /* The counterexample on top. */
    if (r && r->verdict == CHECKER_INVALID && r->has_cex && r->cex.op < h->n_ops &&
        has_time(ax, &h->ops[r->cex.op])) {
        for (size_t k = 0; k < r->cex.n_concurrent && k < MAX_CEX_DRAWN; k++) {
            size_t i = r->cex.concurrent[k];
            if (i < h->n_ops && i != r->cex.op && has_time(ax, &h->ops[i]))
                op_bar(out, h, &l, ax, i, "cex-concurrent", NULL);
        }
        op_bar(out, h, &l, ax, r->cex.op, "cex-op", "cex-op");
        const struct checker_hop *op = &h->ops[r->cex.op];
        double x = ax_x(ax, op_call(ax, op));
        double y = FAULT_TOP + (double)lane_of(&l, op->process) * l.height;
        fl_buf_printf(out,
                      "<g id=\"cex-marker\" class=\"cex-marker\"><line x1=\"%.1f\" y1=\"%d\" "
                      "x2=\"%.1f\" y2=\"%.1f\"/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\">counterexample</text></g>\n",
                      x, FAULT_TOP, x, FAULT_TOP + lanes_h, x, y + l.height / 2, x + 7,
                      y + l.height / 2 + 4);
    }
    /* Unavailability strip. */
    if (!ax->positions)
        for (size_t i = 0; i < a->n_windows; i++) {
            double x1 = ax_x(ax, a->windows[i].start), x2 = ax_x(ax, a->windows[i].end);
            fl_buf_printf(out,
                          "<rect class=\"unavail\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"5\"><title>no ok operation for %.3f s</title></rect>\n",
                          x1, FAULT_TOP + lanes_h + 16, x2 - x1 < 1 ? 1 : x2 - x1,
                          (double)(a->windows[i].end - a->windows[i].start) / NS_PER_S);
        }
    fl_buf_puts(out, "</svg>\n");
    fl_free(l.procs);
    return 0;
}

/* ==== Latency plot ==== */

static void latency_plot(struct fl_buf *out, const struct checker_history *h,
                         const struct checker_report_analysis *a,
                         const struct checker_report_options *o, const struct axis *ax)
{
    if (ax->positions)
        return;
    size_t n = 0;
    int64_t lo = INT64_MAX, hi = 0;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct checker_hop *op = &h->ops[i];
        if (op->status != FL_EVENT_OK || op->call_time < 0 || op->ret_time < op->call_time)
            continue;
        int64_t d = op->ret_time - op->call_time;
        if (d < 1000)
            d = 1000; /* 1 us floor for the log scale */
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        n++;
    }
    fl_buf_puts(out, "<h2>Latency over time</h2>\n");
    if (n == 0) {
        fl_buf_puts(out, "<p class=\"note\">No ok operation with times.</p>\n");
        return;
    }
    size_t stride = (n + o->max_scatter_points - 1) / o->max_scatter_points;
    if (stride < 1)
        stride = 1;
    double llo = floor(log10((double)lo / NS_PER_MS)), lhi = ceil(log10((double)hi / NS_PER_MS));
    if (lhi <= llo)
        lhi = llo + 1;
    const double H = 220, top = 10;
    fl_buf_printf(out,
                  "<p class=\"note\">Latency of ok operations (log scale) by invoke time, "
                  "colored by operation; %zu points",
                  (n + stride - 1) / stride);
    if (stride > 1)
        fl_buf_printf(out, " (<span id=\"scatter-sampled\">sampled: every %zu-th of %zu</span>)",
                      stride, n);
    fl_buf_puts(out, ".</p>\n");
    fl_buf_printf(out,
                  "<svg id=\"latency\" class=\"plot\" viewBox=\"0 0 %d %.0f\" width=\"%d\" "
                  "height=\"%.0f\" role=\"img\" aria-label=\"latency over time\">\n",
                  PLOT_LEFT + PLOT_W + 10, H + top + 30, PLOT_LEFT + PLOT_W + 10, H + top + 30);
    fault_shading(out, a, ax, top, top + H, false);
    time_ticks(out, ax, top, top + H);
    for (double e = llo; e <= lhi + 1e-9; e += 1) {
        double y = top + H - (e - llo) / (lhi - llo) * H;
        fl_buf_printf(out,
                      "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                      "<text class=\"lane\" x=\"%d\" y=\"%.1f\">%g ms</text>\n",
                      PLOT_LEFT, y, PLOT_LEFT + PLOT_W, y, PLOT_LEFT - 4, y + 4, pow(10, e));
    }
    /* Distinct f names get palette colors in order of appearance. */
    const char *fs[8] = {0};
    size_t nf = 0, seen = 0;
    for (size_t i = 0; i < h->n_ops; i++) {
        const struct checker_hop *op = &h->ops[i];
        if (op->status != FL_EVENT_OK || op->call_time < 0 || op->ret_time < op->call_time)
            continue;
        if (seen++ % stride)
            continue;
        size_t c = 0;
        while (c < nf && fs[c] != op->f)
            c++;
        if (c == nf && nf < 8)
            fs[nf++] = op->f;
        if (c >= 8)
            c = 7;
        int64_t d = op->ret_time - op->call_time;
        double ms = (double)(d < 1000 ? 1000 : d) / NS_PER_MS;
        double y = top + H - (log10(ms) - llo) / (lhi - llo) * H;
        fl_buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.8\" fill=\"%s\"/>\n",
                      ax_x(ax, op->call_time), y, palette[c]);
    }
    fl_buf_puts(out, "</svg>\n<p class=\"legend\">");
    for (size_t c = 0; c < nf; c++) {
        fl_buf_printf(out, "<span style=\"color:%s\">&#9679; ", palette[c]);
        checker_html_escape(out, fs[c], 32);
        fl_buf_puts(out, "</span> ");
    }
    fl_buf_puts(out, "</p>\n");
}

/* ==== Page ==== */

static const char page_css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;max-width:1200px}"
    "h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:22px 0 6px}"
    ".verdict{display:inline-block;padding:3px 10px;border-radius:4px;color:#fff;font-weight:bold}"
    ".v-valid{background:#2e7d32}.v-invalid{background:#c62828}.v-unknown{background:#ef6c00}"
    ".v-info{background:#607d8b}"
    "table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}"
    ".note{color:#555;font-size:13px;margin:4px 0}.sampled{color:#8a4b00}"
    "svg.plot{display:block;max-width:100%;height:auto;border:1px solid #ddd;background:#fff}"
    ".op.ok{fill:#66bb6a}.op.fail{fill:#ef5350}.op.info{fill:#ffb74d}"
    ".k{padding:0 5px;border-radius:3px}.k.ok{background:#66bb6a}.k.fail{background:#ef5350}"
    ".k.info{background:#ffb74d}"
    ".fault{opacity:.16}.fn{fill:#1565c0}.fk{fill:#6a1b9a}.fp{fill:#00838f}.fd{fill:#ef6c00}"
    ".fc{fill:#2e7d32}.fm{fill:#5d4037}.fault.failed{opacity:.06}"
    ".nodeev{stroke:#c62828;stroke-width:1;stroke-dasharray:3 2}.nlabel{font-size:9px;fill:#c62828}"
    ".flabel{font-size:10px;fill:#333}.tick,.lane{font-size:10px;fill:#666}"
    ".oplabel{font-size:11px;fill:#222}"
    ".tick{text-anchor:middle}.lane{text-anchor:end}.grid{stroke:#eee}"
    ".cex-op{stroke:#b71c1c;stroke-width:3}.cex-concurrent{stroke:#b71c1c;stroke-width:1;"
    "stroke-dasharray:3 2}.cex-marker line{stroke:#b71c1c;stroke-dasharray:4 3}"
    ".cex-marker circle{fill:none;stroke:#b71c1c;stroke-width:2}"
    ".cex-marker text{fill:#b71c1c;font-size:11px;font-weight:bold}"
    ".anomaly-op{stroke:#6a1b9a;stroke-width:3}.anomaly-marker line{stroke:#6a1b9a;"
    "stroke-dasharray:2 3}.anomaly-marker circle{fill:none;stroke:#6a1b9a;stroke-width:2}"
    ".anomaly-marker text{fill:#6a1b9a;font-size:11px;font-weight:bold}"
    ".unavail{fill:#c62828}pre{background:#fafafa;border:1px solid #eee;padding:8px;"
    "overflow:auto;max-height:400px}.hide-ok .op.ok{display:none}";

static const char page_js[] =
    "var t=document.getElementById('toggle-ok');"
    "if(t)t.addEventListener('change',function(e){"
    "document.getElementById('timeline').classList.toggle('hide-ok',e.target.checked);});"
    "document.body.setAttribute('data-ready','1');";

static void verdict_badge(struct fl_buf *out, const char *v)
{
    fl_buf_printf(out, "<span class=\"verdict v-%s\">%s</span>", v, v);
}

static void summary_tables(struct fl_buf *out, const struct checker_report_input *in)
{
    const struct checker_history *h = in->h;
    fl_buf_puts(out, "<h2>Checkers</h2>\n<table><tr><th class=\"l\">checker</th>"
                     "<th class=\"l\">verdict</th><th class=\"l\">details</th></tr>\n");
    if (in->linear) {
        fl_buf_puts(out, "<tr><td class=\"l\">linearizable</td><td class=\"l\">");
        verdict_badge(out, checker_verdict_name(in->linear->verdict));
        fl_buf_printf(out, "</td><td class=\"l\">%zu operations, %zu keys, %zu indeterminate",
                      in->linear->n_ops, in->linear->n_keys, in->linear->n_crashed);
        if (in->linear->reason[0]) {
            fl_buf_puts(out, "; ");
            esc(out, in->linear->reason);
        }
        fl_buf_puts(out, "</td></tr>\n");
    }
    if (in->sequential) {
        const struct checker_seq_result *q = in->sequential;
        fl_buf_puts(out, "<tr><td class=\"l\">sequential consistency and session guarantees "
                         "(sequential reads)</td><td class=\"l\">");
        verdict_badge(out, checker_verdict_name(q->verdict));
        fl_buf_printf(out, "</td><td class=\"l\">%zu operations, %zu sessions, %zu keys",
                      q->n_ops, q->n_processes, q->n_keys);
        if (q->verdict == CHECKER_INVALID) {
            fl_buf_printf(out, "; %s: ", checker_seq_rule_name(q->rule));
            esc(out, q->reason);
            fl_buf_puts(out, "<ol>");
            for (size_t i = 0; i < q->n_steps; i++) {
                fl_buf_puts(out, "<li>");
                esc(out, q->steps[i].text);
                fl_buf_puts(out, "</li>");
            }
            fl_buf_puts(out, "</ol>");
        } else if (q->reason[0]) {
            fl_buf_puts(out, "; ");
            esc(out, q->reason);
        }
        fl_buf_puts(out, "</td></tr>\n");
    }
    if (in->set) {
        struct fl_buf s;
        fl_buf_init(&s);
        checker_set_summary(in->set, &s);
        fl_buf_puts(out, "<tr><td class=\"l\">set</td><td class=\"l\">");
        verdict_badge(out, checker__report_set_verdict(in->set));
        fl_buf_puts(out, "</td><td class=\"l\">");
        esc(out, fl_buf_cstr(&s));
        fl_buf_puts(out, "</td></tr>\n");
        fl_buf_free(&s);
    }
    if (in->counter) {
        struct fl_buf s;
        fl_buf_init(&s);
        checker_counter_summary(in->counter, &s);
        fl_buf_puts(out, "<tr><td class=\"l\">counter</td><td class=\"l\">");
        verdict_badge(out, in->counter->valid ? "valid" : "invalid");
        fl_buf_puts(out, "</td><td class=\"l\">");
        esc(out, fl_buf_cstr(&s));
        fl_buf_puts(out, "</td></tr>\n");
        fl_buf_free(&s);
    }
    fl_buf_puts(out, "</table>\n");

    fl_buf_printf(out,
                  "<h2>Operations</h2>\n<p class=\"note\">%zu events, %zu operations: %zu ok, "
                  "%zu fail, %zu info; %zu nemesis events.</p>\n",
                  h->n_events, h->n_ops, h->n_ok, h->n_fail, h->n_info, h->n_nemesis_events);
    if (!in->stats)
        return;
    const struct checker_stats *st = in->stats;
    fl_buf_puts(out, "<table id=\"counts\"><tr><th class=\"l\">f</th><th>count</th><th>ok</th>"
                     "<th>fail</th><th>info</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th>"
                     "<th>max ms</th></tr>\n");
    for (size_t i = 0; i < st->n_fs; i++) {
        const struct checker_stats_f *f = &st->fs[i];
        fl_buf_puts(out, "<tr><td class=\"l\">");
        checker_html_escape(out, f->f, 64);
        fl_buf_printf(out, "</td><td>%zu</td><td>%zu</td><td>%zu</td><td>%zu</td>", f->count, f->ok,
                      f->fail, f->info);
        if (f->lat_count)
            fl_buf_printf(out, "<td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td>",
                          (double)f->p50 / NS_PER_MS, (double)f->p90 / NS_PER_MS,
                          (double)f->p99 / NS_PER_MS, (double)f->max / NS_PER_MS);
        else
            fl_buf_puts(out, "<td>-</td><td>-</td><td>-</td><td>-</td>");
        fl_buf_puts(out, "</tr>\n");
    }
    fl_buf_puts(out, "</table>\n");
}

static void fault_tables(struct fl_buf *out, const struct checker_report_analysis *a,
                         const struct checker_report_options *o)
{
    fl_buf_printf(out, "<h2>Faults</h2>\n");
    if (a->n_faults == 0) {
        fl_buf_puts(out, "<p class=\"note\">No fault in this history.</p>\n");
    } else {
        fl_buf_puts(out, "<table id=\"faults\"><tr><th class=\"l\">fault</th><th>start s</th>"
                         "<th>healed s</th><th>held s</th><th>first ok after heal s</th>"
                         "<th class=\"l\">what was done</th></tr>\n");
        size_t n = a->n_faults < MAX_FAULTS_DRAWN ? a->n_faults : MAX_FAULTS_DRAWN;
        for (size_t i = 0; i < n; i++) {
            const struct checker_report_fault *f = &a->faults[i];
            fl_buf_puts(out, "<tr><td class=\"l\">");
            checker_html_escape(out, f->kind, 40);
            if (f->failed)
                fl_buf_puts(out, " (failed)");
            fl_buf_printf(out, "</td><td>%.3f</td>", (double)(f->start - a->t0) / NS_PER_S);
            if (f->end >= 0)
                fl_buf_printf(out, "<td>%.3f</td><td>%.3f</td>",
                              (double)(f->end - a->t0) / NS_PER_S,
                              (double)(f->end - f->start) / NS_PER_S);
            else
                fl_buf_puts(out, "<td>never</td><td>-</td>");
            if (f->first_ok >= 0)
                fl_buf_printf(out, "<td>%.3f</td>", (double)(f->first_ok - f->end) / NS_PER_S);
            else
                fl_buf_puts(out, "<td>-</td>");
            fl_buf_puts(out, "<td class=\"l\">");
            esc_json(out, f->value, 160);
            fl_buf_puts(out, "</td></tr>\n");
        }
        fl_buf_puts(out, "</table>\n");
        if (n < a->n_faults)
            fl_buf_printf(out,
                          "<p class=\"note sampled\">Only the first %zu of %zu faults are "
                          "listed and drawn; results.json has all of them.</p>\n",
                          n, a->n_faults);
    }
    fl_buf_printf(out,
                  "<h2>Unavailability</h2>\n<p class=\"note\">Stretches longer than %.3f s "
                  "in which no operation completed ok.</p>\n",
                  (double)o->unavailable_ns / NS_PER_S);
    if (a->n_windows == 0) {
        fl_buf_puts(out, "<p>None.</p>\n");
        return;
    }
    fl_buf_puts(out, "<table id=\"windows\"><tr><th>from s</th><th>to s</th><th>length s</th>"
                     "<th class=\"l\">faults active</th></tr>\n");
    size_t n = a->n_windows < 200 ? a->n_windows : 200;
    for (size_t i = 0; i < n; i++) {
        const struct checker_report_window *w = &a->windows[i];
        fl_buf_printf(out, "<tr><td>%.3f</td><td>%.3f%s</td><td>%.3f</td><td class=\"l\">",
                      (double)(w->start - a->t0) / NS_PER_S, (double)(w->end - a->t0) / NS_PER_S,
                      w->open ? " (end)" : "", (double)(w->end - w->start) / NS_PER_S);
        size_t shown = 0;
        for (size_t j = 0; j < a->n_faults && shown < 10; j++)
            if (checker__report_overlaps(&a->faults[j], w->start, w->end, a->t1)) {
                fl_buf_puts(out, shown++ ? ", " : "");
                checker_html_escape(out, a->faults[j].kind, 40);
            }
        fl_buf_puts(out, shown ? "</td></tr>\n" : "none</td></tr>\n");
    }
    fl_buf_puts(out, "</table>\n");
}

static void counterexample(struct fl_buf *out, const struct checker_report_input *in,
                           const struct checker_report_analysis *a)
{
    const struct checker_result *r = in->linear;
    if (!r || r->verdict != CHECKER_INVALID || !r->has_cex)
        return;
    const struct checker_history *h = in->h;
    const struct checker_counterexample *c = &r->cex;
    fl_buf_puts(out, "<h2 id=\"counterexample\">Counterexample</h2>\n<p>");
    if (c->op < h->n_ops) {
        const struct checker_hop *op = &h->ops[c->op];
        fl_buf_puts(out, "The history is not linearizable. The operation <b>");
        checker_html_escape(out, c->op_desc ? c->op_desc : op->f, 200);
        if (c->key_id && c->key_id < h->n_keys && h->keys[c->key_id]) {
            fl_buf_puts(out, "</b> on key <b>");
            esc_json(out, h->keys[c->key_id], 60);
        }
        fl_buf_puts(out, "</b>");
        if (op->call_time >= 0)
            fl_buf_printf(out, ", invoked at %.3f s,", (double)(op->call_time - a->t0) / NS_PER_S);
        fl_buf_printf(out,
                      " cannot take effect at any point of its interval: in every state the "
                      "longest linearizable prefix (%zu operations) can leave (",
                      c->n_prefix);
        for (size_t i = 0; i < c->n_states && i < 8; i++) {
            fl_buf_puts(out, i ? ", " : "");
            checker_html_escape(out, c->states[i], 80);
        }
        if (c->n_states > 8)
            fl_buf_puts(out, ", ...");
        fl_buf_printf(out,
                      "), it would return something else, and no order of the operations "
                      "concurrent with it (%zu) makes it fit. It is outlined in red "
                      "on the timeline (marker \"counterexample\"), the concurrent operations "
                      "dashed.</p>\n",
                      c->n_concurrent);
    }
    struct fl_buf t;
    fl_buf_init(&t);
    checker_explain_text(h, r, 10, &t);
    fl_buf_puts(out, "<pre id=\"cex-text\">");
    checker_html_escape(out, fl_buf_cstr(&t), MAX_CEX_TEXT); /* bounded: "..." when cut */
    fl_buf_puts(out, "</pre>\n");
    fl_buf_free(&t);
}

/* ==== Minimal counterexample ==== */

#define MAX_MIN_DRAWN 200 /* operations of the minimal counterexample drawn and listed */
#define MIN_LANE_H    30  /* a row: the operation's label above its bar */
#define MIN_TOP       8

/* Ticks of a zoomed axis, labeled in time from `origin` (the history's start). */
static void zoom_ticks(struct fl_buf *out, const struct axis *ax, int64_t origin, double y_top,
                       double y_bottom)
{
    double unit = ax->positions ? 1 : NS_PER_S;
    double from = (double)(ax->t0 - origin) / unit, span = (double)ax->span / unit;
    double step = tick_step(span, ax->positions ? 1 : 1e-6, 10);
    int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    for (double k = ceil(from / step - 1e-9); k * step <= from + span + 1e-12; k++) {
        double x = PLOT_LEFT + (k * step - from) / span * PLOT_W;
        fl_buf_printf(out,
                      "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                      "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">%.*f%s</text>\n",
                      x, y_top, x, y_bottom, x, y_bottom + 12, decimals, k * step,
                      ax->positions ? "" : "s");
    }
}

/* The seconds of `t` from the start of the history, or "-". */
static void secs_cell(struct fl_buf *out, const struct checker_report_analysis *a, int64_t t)
{
    if (t < 0)
        fl_buf_puts(out, "<td>-</td>");
    else
        fl_buf_printf(out, "<td>%.6f</td>", (double)(t - a->t0) / NS_PER_S);
}

/* The operations ddmin kept (minimize.h), drawn alone on their own real
 * intervals (the axis zoomed to them), explained in words and listed. For an
 * invalid history without them, a line saying why. */
static int minimized_section(struct fl_buf *out, const struct checker_report_input *in,
                             const struct checker_report_analysis *a, const struct axis *main_ax)
{
    const struct checker_result *r = in->linear;
    if (!r || r->verdict != CHECKER_INVALID || !r->has_cex)
        return 0;
    const struct checker_history *h = in->h;
    const struct checker_minimized *m = in->minimized;
    fl_buf_puts(out, "<h2 id=\"minimized\">Minimal counterexample</h2>\n");
    if (!m) {
        fl_buf_puts(out, "<p class=\"note\" id=\"minimized-none\">Not computed: ");
        esc(out, in->minimize_note
                     ? in->minimize_note
                     : "minimization was not asked for (faultline report --minimize)");
        fl_buf_puts(out, ".</p>\n");
        return 0;
    }
    /* The kept operations that exist, at most MAX_MIN_DRAWN of them. */
    size_t n = 0;
    size_t *idx = fl_reallocarray(NULL, m->n_ops ? m->n_ops : 1, sizeof *idx);
    struct lanes l;
    memset(&l, 0, sizeof l);
    l.procs = fl_reallocarray(NULL, m->n_ops ? m->n_ops : 1, sizeof *l.procs);
    double *free_x = fl_calloc(m->n_ops ? m->n_ops : 1, sizeof *free_x); /* per row */
    if (!idx || !l.procs || !free_x) {
        fl_free(idx);
        fl_free(l.procs);
        fl_free(free_x);
        return FL_ENOMEM;
    }
    for (size_t i = 0; i < m->n_ops && n < MAX_MIN_DRAWN; i++)
        if (m->ops[i] < h->n_ops)
            idx[n++] = m->ops[i];
    bool cex_kept = false;
    for (size_t i = 0; i < n; i++)
        cex_kept |= idx[i] == r->cex.op;

    /* In words. */
    bool has_key = r->cex.key_id && r->cex.key_id < h->n_keys && h->keys[r->cex.key_id];
    fl_buf_puts(out, "<p id=\"minimized-text\">");
    if (m->n_ops == 1) {
        fl_buf_puts(out, "This one operation alone is already not linearizable: even if every "
                         "other operation on ");
    } else {
        fl_buf_printf(out,
                      "These %zu operations alone are already not linearizable: there is no "
                      "order of them, each taking effect at one instant between its invocation "
                      "and its completion, in which every one returns what it returned. Every "
                      "other operation on ",
                      m->n_ops);
    }
    if (has_key) {
        fl_buf_puts(out, "key <b>");
        esc_json(out, h->keys[r->cex.key_id], 60);
        fl_buf_puts(out, "</b>");
    } else {
        fl_buf_puts(out, "the object");
    }
    if (m->n_ops == 1)
        fl_buf_puts(out, " took effect whenever it suits (or never), it could not have returned "
                         "what it returned.");
    else
        fl_buf_puts(out, " was treated as if it may have taken effect at any moment after its "
                         "invocation, or never, so none of them is needed for the anomaly.");
    fl_buf_printf(out, " They were found among the %zu operations on ", m->n_start);
    fl_buf_puts(out, has_key ? "that key" : "it");
    fl_buf_puts(out, " by removing operations as long as the rest stayed not linearizable");
    if (m->complete)
        fl_buf_printf(out,
                      "; leaving out any one of these makes the rest linearizable (%zu candidate "
                      "sets checked in %.2f s).",
                      m->candidates, m->seconds);
    else if (m->out_of_time)
        fl_buf_printf(out,
                      ". <b id=\"minimized-bound\">The search stopped at its time bound of %g s"
                      "</b> after %zu candidate sets: this set is still not linearizable, but a "
                      "smaller one may exist (faultline report --minimize --timeout S on the "
                      "results folder gives it more time).",
                      m->budget_s, m->candidates);
    else
        fl_buf_printf(out,
                      ". <b id=\"minimized-bound\">%zu of the %zu candidate sets could not be "
                      "decided</b> within their share of the time bound (a tenth of %g s): this "
                      "set is still not linearizable, but a smaller one may exist.",
                      m->undecided, m->candidates, m->budget_s);
    if (cex_kept)
        fl_buf_puts(out, " The operation outlined in red is the one the check stopped at.");
    if (n < m->n_ops)
        fl_buf_printf(out,
                      " <span class=\"sampled\">Only the first %zu of the %zu are drawn and "
                      "listed; results.json has all of them.</span>",
                      n, m->n_ops);
    fl_buf_puts(out, "</p>\n");

    /* The axis: the kept operations' span, padded, never before the history. */
    struct axis zx = {0, 1, main_ax->positions};
    int64_t origin = main_ax->positions ? 0 : a->t0, lo = INT64_MAX, hi = INT64_MIN;
    for (size_t k = 0; k < n; k++) {
        const struct checker_hop *op = &h->ops[idx[k]];
        int64_t c = op_call(&zx, op);
        if (c < 0)
            continue;
        lo = c < lo ? c : lo;
        hi = c > hi ? c : hi;
        if (op->status != FL_EVENT_INFO && op->ret != CHECKER_POS_NEVER) {
            int64_t e = zx.positions ? (int64_t)op->ret : op->ret_time;
            hi = e > hi ? e : hi;
        }
    }
    if (lo <= hi) {
        int64_t pad = (hi - lo) / 10 + (zx.positions ? 1 : 1000);
        zx.t0 = lo - pad < origin ? origin : lo - pad;
        zx.span = hi + pad - zx.t0;
        l.n_procs = 0;
        for (size_t k = 0; k < n; k++)
            l.procs[l.n_procs++] = h->ops[idx[k]].process;
        qsort(l.procs, l.n_procs, sizeof *l.procs, cmp_i64);
        size_t u = 0;
        for (size_t k = 0; k < l.n_procs; k++)
            if (u == 0 || l.procs[u - 1] != l.procs[k])
                l.procs[u++] = l.procs[k];
        l.n_procs = u;
        l.group = 1;
        l.n = u;
        l.height = MIN_LANE_H;
        double lanes_h = (double)l.n * MIN_LANE_H, height = MIN_TOP + lanes_h + 24;
        fl_buf_printf(out,
                      "<svg id=\"minimized-timeline\" class=\"plot\" viewBox=\"0 0 %d %.0f\" "
                      "width=\"%d\" height=\"%.0f\" role=\"img\" aria-label=\"minimal "
                      "counterexample\">\n",
                      PLOT_LEFT + PLOT_W + 10, height, PLOT_LEFT + PLOT_W + 10, height);
        zoom_ticks(out, &zx, origin, MIN_TOP, MIN_TOP + lanes_h + 2);
        for (size_t lane = 0; lane < l.n; lane++)
            fl_buf_printf(out, "<text class=\"lane\" x=\"%d\" y=\"%.1f\">p%lld</text>\n",
                          PLOT_LEFT - 4, MIN_TOP + (double)lane * MIN_LANE_H + MIN_LANE_H - 6,
                          (long long)l.procs[lane]);
        for (size_t k = 0; k < n; k++) {
            size_t i = idx[k];
            const struct checker_hop *op = &h->ops[i];
            if (!has_time(&zx, op))
                continue;
            double y = MIN_TOP + (double)lane_of(&l, op->process) * MIN_LANE_H;
            double x1 = ax_x(&zx, op_call(&zx, op)), x2 = ax_x(&zx, op_ret(&zx, op));
            if (x2 - x1 < 2)
                x2 = x1 + 2;
            fl_buf_printf(out,
                          "<rect class=\"op %s min-op%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                          "height=\"14\"><title>",
                          status_class(op->status), i == r->cex.op ? " cex-op" : "", x1, y + 13,
                          x2 - x1);
            op_title(out, h, &zx, i);
            fl_buf_puts(out, "</title></rect>\n");
            /* The label above the bar, unless it would run into the previous
             * label of its row (the tooltip and the table still say it). */
            struct fl_buf lab;
            fl_buf_init(&lab);
            checker_html_escape(&lab, op->f, 24);
            fl_buf_puts(&lab, " ");
            esc_json(&lab, op->value, 40);
            if (op->status != FL_EVENT_OK)
                fl_buf_printf(&lab, " (%s)", status_class(op->status));
            double w = 6.2 * (double)lab.len, lx = x1;
            if (lx + w > PLOT_LEFT + PLOT_W + 8)
                lx = PLOT_LEFT + PLOT_W + 8 - w;
            size_t lane = lane_of(&l, op->process);
            if (!lab.oom && lx >= free_x[lane]) {
                fl_buf_printf(out, "<text class=\"oplabel\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", lx,
                              y + 10, fl_buf_cstr(&lab));
                free_x[lane] = lx + w + 6;
            }
            fl_buf_free(&lab);
        }
        fl_buf_puts(out, "</svg>\n");
    }
    fl_buf_puts(out, "<table id=\"minimized-ops\"><tr><th class=\"l\">process</th>"
                     "<th class=\"l\">operation</th><th class=\"l\">outcome</th>"
                     "<th>invoked s</th><th>completed s</th><th>lines</th></tr>\n");
    for (size_t k = 0; k < n; k++) {
        const struct checker_hop *op = &h->ops[idx[k]];
        fl_buf_printf(out, "<tr><td class=\"l\">%lld</td><td class=\"l\">", (long long)op->process);
        checker_html_escape(out, op->f, 32);
        fl_buf_puts(out, " ");
        esc_json(out, op->value, 80);
        fl_buf_printf(out, "</td><td class=\"l\"><span class=\"k %s\">%s</span></td>",
                      status_class(op->status), status_class(op->status));
        secs_cell(out, a, op->call_time);
        secs_cell(out, a, op->status == FL_EVENT_INFO ? -1 : op->ret_time);
        fl_buf_printf(out, "<td>%llu-", (unsigned long long)op->call_line);
        if (op->status != FL_EVENT_INFO)
            fl_buf_printf(out, "%llu</td></tr>\n", (unsigned long long)op->ret_line);
        else
            fl_buf_puts(out, "never</td></tr>\n");
    }
    fl_buf_puts(out, "</table>\n");
    fl_free(idx);
    fl_free(l.procs);
    fl_free(free_x);
    return 0;
}

/* The time axis: the history's times, or event positions when an operation has none. */
static struct axis axis_of(const struct checker_history *h, const struct checker_report_analysis *a)
{
    struct axis ax = {a->t0, a->t1 - a->t0, false};
    for (size_t i = 0; i < h->n_ops; i++)
        if (h->ops[i].call_time < 0)
            ax.positions = true;
    if (ax.positions) {
        ax.t0 = 0;
        ax.span = (int64_t)h->n_events;
    }
    if (ax.span < 1)
        ax.span = 1;
    return ax;
}

void checker_report_page_begin(struct fl_buf *out, const char *title, const char *verdict,
                               const char *extra_css)
{
    fl_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width\">\n<title>Faultline: ");
    checker_html_escape(out, title, 120);
    fl_buf_printf(out, " (%s)</title>\n<style>%s%s</style>\n</head><body>\n", verdict, page_css,
                  extra_css ? extra_css : "");
    fl_buf_puts(out, "<h1>");
    checker_html_escape(out, title, 120);
    fl_buf_puts(out, " ");
    verdict_badge(out, verdict);
    fl_buf_puts(out, "</h1>\n");
}

int checker_report_page_end(struct fl_buf *out)
{
    fl_buf_printf(out,
                  "<p class=\"note\">Written by faultline report. This page is self-contained: "
                  "it loads nothing.</p>\n<script>%s</script>\n</body></html>\n",
                  page_js);
    return out->oom ? FL_ENOMEM : 0;
}

/* The "hide ok" switch and the timeline, with the counterexample of `r` and the marks. */
static int timeline_section(struct fl_buf *out, const struct checker_history *h,
                            const struct checker_result *r, const struct checker_report_mark *marks,
                            size_t n_marks, const struct checker_report_analysis *a,
                            const struct checker_report_options *o, const struct axis *ax)
{
    fl_buf_puts(out, "<p class=\"note\"><label><input type=\"checkbox\" id=\"toggle-ok\"> hide ok "
                     "operations</label></p>\n");
    return timeline(out, h, r, marks, n_marks, a, o, ax);
}

int checker_report_timeline_html(const struct checker_history *h,
                                 const struct checker_report_analysis *a,
                                 const struct checker_report_options *o,
                                 const struct checker_report_mark *marks, size_t n_marks,
                                 struct fl_buf *out)
{
    struct axis ax = axis_of(h, a);
    return timeline_section(out, h, NULL, marks, n_marks, a, o, &ax);
}

void checker_report_faults_html(const struct checker_history *h,
                                const struct checker_report_analysis *a,
                                const struct checker_report_options *o, struct fl_buf *out)
{
    struct axis ax = axis_of(h, a);
    latency_plot(out, h, a, o, &ax);
    fault_tables(out, a, o);
}

int checker_report_html(const struct checker_report_input *in,
                        const struct checker_report_analysis *a,
                        const struct checker_report_options *o, struct fl_buf *out)
{
    const struct checker_history *h = in->h;
    const char *v = checker_verdict_name(checker_report_verdict(in));
    const char *title = in->title ? in->title : h->path;
    struct axis ax = axis_of(h, a);

    checker_report_page_begin(out, title, v, NULL);
    fl_buf_puts(out, "<p class=\"note\">History ");
    checker_html_escape(out, h->path, 200);
    if (in->model) {
        fl_buf_puts(out, ", model ");
        checker_html_escape(out, in->model, 40);
    }
    fl_buf_printf(out, ", %.3f s.", (double)(a->t1 - a->t0) / NS_PER_S);
    if (in->expected)
        fl_buf_printf(out, " Expected verdict: <b>%s</b> (%s).",
                      strcmp(in->expected, "valid") == 0     ? "valid"
                      : strcmp(in->expected, "invalid") == 0 ? "invalid"
                                                             : "unknown",
                      strcmp(in->expected, v) == 0 ? "as expected" : "NOT as expected");
    fl_buf_printf(out, " %zu ok, %zu fail, %zu info; %zu faults; %zu unavailability windows.</p>\n",
                  h->n_ok, h->n_fail, h->n_info, a->n_faults, a->n_windows);
    if (checker_report_verdict_reason(in)) {
        fl_buf_puts(out, "<p class=\"note\">Verdict unknown: ");
        checker_html_escape(out, checker_report_verdict_reason(in), 200);
        fl_buf_puts(out, ".</p>\n");
    }
    summary_tables(out, in);
    int rc = timeline_section(out, h, in->linear, NULL, 0, a, o, &ax);
    if (rc)
        return rc;
    counterexample(out, in, a);
    if ((rc = minimized_section(out, in, a, &ax)) != 0)
        return rc;
    if (in->extra_html)
        fl_buf_puts(out, in->extra_html);
    latency_plot(out, h, a, o, &ax);
    fault_tables(out, a, o);
    return checker_report_page_end(out);
}
