/* seqdiagram.c - the messages around the counterexample as an inline SVG sequence diagram. */
#include "harness/seqdiagram.h"

#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "harness/capture_cmd.h"

#define LANE_W   180
#define LEFT     110
#define ROW_H    16
#define TOP      40
#define NS_PER_S 1e9

/* A class name for an event: letters and '_' only; heartbeats apart from appends. */
static void type_class(const struct harness_capmsg *m, char *out, size_t cap)
{
    const char *t = harness_capture_kind(m);
    if (m->kind == NEMESIS_CAPEV_MSG && strcmp(t, "append") == 0 &&
        strstr(m->msg.detail, " n=0 ") != NULL)
        t = "heartbeat";
    size_t j = 0;
    for (size_t i = 0; t[i] && j + 1 < cap; i++) {
        char c = t[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
            out[j++] = c;
    }
    out[j] = '\0';
    if (j == 0)
        snprintf(out, cap, "other");
}

struct typecount {
    char name[24];
    size_t n;
};

static void count_type(struct typecount *tc, size_t *n_tc, size_t cap, const char *name)
{
    for (size_t i = 0; i < *n_tc; i++)
        if (strcmp(tc[i].name, name) == 0) {
            tc[i].n++;
            return;
        }
    if (*n_tc < cap) {
        snprintf(tc[*n_tc].name, sizeof tc[*n_tc].name, "%s", name);
        tc[(*n_tc)++].n = 1;
    }
}

static const char diagram_js[] =
    "(function(){var s=document.getElementById('msgdiagram');if(!s)return;"
    "document.querySelectorAll('#msgfilter input').forEach(function(b){"
    "b.addEventListener('change',function(){var t=b.getAttribute('data-t');"
    "s.querySelectorAll('.t-'+t).forEach(function(e){e.style.display=b.checked?'':'none';});});});"
    "s.setAttribute('data-ready','1');})();";

static const char diagram_css[] =
    "<style>#msgdiagram{display:block;max-width:100%;height:auto;border:1px solid #ddd;"
    "background:#fff}#msgdiagram .lane-line{stroke:#999;stroke-width:1}"
    "#msgdiagram .lane-name{font:bold 12px sans-serif;text-anchor:middle}"
    "#msgdiagram .m line{stroke:#1565c0;stroke-width:1.2}#msgdiagram .m polygon{fill:#1565c0}"
    "#msgdiagram .m text{font:9px monospace;fill:#222}#msgdiagram .tt{font:9px monospace;"
    "fill:#777;text-anchor:end}#msgdiagram .t-heartbeat line{stroke:#90a4ae}"
    "#msgdiagram .t-heartbeat polygon{fill:#90a4ae}#msgdiagram .t-vote line,"
    "#msgdiagram .t-vote_result line{stroke:#6a1b9a}#msgdiagram .t-vote polygon,"
    "#msgdiagram .t-vote_result polygon{fill:#6a1b9a}#msgdiagram .t-RST line{stroke:#c62828}"
    "#msgdiagram .t-RST polygon{fill:#c62828}#msgdiagram .t-retransmit line{stroke:#ef6c00;"
    "stroke-dasharray:3 2}#msgdiagram .t-SYN line,#msgdiagram .t-FIN line{stroke-dasharray:2 2}"
    "#msgdiagram .t-hole line{stroke:#bbb;stroke-dasharray:1 3}"
    "#msgdiagram .fband{fill:#1565c0;opacity:.10}#msgdiagram .flab{font:10px sans-serif;"
    "fill:#1565c0}#msgdiagram .opmark line{stroke:#b71c1c;stroke-dasharray:5 3;stroke-width:1.5}"
    "#msgdiagram .opmark text{fill:#b71c1c;font:bold 10px sans-serif}"
    "#msgfilter label{margin-right:10px;font-size:12px}</style>\n";

static double lane_x(int lane)
{
    return LEFT + LANE_W / 2.0 + lane * (double)LANE_W;
}

int harness_seqdiagram_html(const char *dir, int64_t op_call, int64_t op_ret,
                            const struct checker_report_analysis *a, struct fl_buf *out)
{
    fl_buf_puts(out, "<h2 id=\"messages\">Messages around the counterexample</h2>\n");
    char path[4200];
    snprintf(path, sizeof path, "%s/capture.pcap", dir);
    if (access(path, R_OK) != 0) {
        fl_buf_puts(out, "<p class=\"note\">No capture.pcap in this run's folder: no messages to "
                         "show.</p>\n");
        return out->oom ? FL_ENOMEM : 0;
    }
    int64_t from = op_call - (int64_t)(1.5 * NS_PER_S);
    int64_t to = (op_ret >= 0 ? op_ret : op_call + (int64_t)NS_PER_S) + (int64_t)(0.5 * NS_PER_S);
    struct harness_capture c;
    harness_capture_init(&c, 50000);
    c.from = from;
    c.to = to;
    char err[FL_ERRMSG_SIZE];
    if (harness_capture_load(&c, dir, err) != 0) {
        fl_buf_puts(out, "<p class=\"note\">The capture could not be read: ");
        checker_html_escape(out, err, 300);
        fl_buf_puts(out, "</p>\n");
        harness_capture_free(&c);
        return out->oom ? FL_ENOMEM : 0;
    }
    /* A busy window: the arrows nearest the operation's invoke. */
    size_t lo = 0, hi = c.n;
    if (c.n > HARNESS_SEQDIAGRAM_MAX_ARROWS) {
        size_t at = 0;
        while (at < c.n && c.v[at].t < op_call)
            at++;
        lo = at > HARNESS_SEQDIAGRAM_MAX_ARROWS * 2 / 3 ? at - HARNESS_SEQDIAGRAM_MAX_ARROWS * 2 / 3
                                                        : 0;
        hi = lo + HARNESS_SEQDIAGRAM_MAX_ARROWS;
        if (hi > c.n) {
            hi = c.n;
            lo = hi - HARNESS_SEQDIAGRAM_MAX_ARROWS;
        }
    }
    unsigned lanes = c.nodes > 0 && c.nodes <= 16 ? c.nodes : 3;
    size_t rows = hi - lo;
    double t_lo = rows ? (double)c.v[lo].t / NS_PER_S : (double)from / NS_PER_S;
    double t_hi = rows ? (double)c.v[hi - 1].t / NS_PER_S : (double)to / NS_PER_S;
    fl_buf_printf(out,
                  "<p>%zu of the %zu messages and TCP events between the nodes from %.3f s to "
                  "%.3f s (the operation was invoked at %.3f s%s), decoded from capture.pcap"
                  "%s; %s. Time runs down; faults are shaded; the red lines mark the "
                  "operation's invoke and completion. <code>faultline capture DIR --from S --to S"
                  "</code> prints them as text.</p>\n",
                  rows, c.n + c.dropped, t_lo, t_hi, (double)op_call / NS_PER_S,
                  op_ret >= 0 ? "" : ", never completed",
                  c.t0_exact ? ""
                             : " (no clock.json: times aligned on the first packet, approximate)",
                  c.st.frames ? "reference-protocol frames shown as Raft messages (type, term, "
                                "indexes)"
                              : "no reference-protocol frames: TCP connections, resets and "
                                "retransmissions shown");
    fl_buf_puts(out, diagram_css);
    /* Filters, by type. */
    struct typecount tc[32];
    size_t n_tc = 0;
    for (size_t i = lo; i < hi; i++) {
        char cls[24];
        type_class(&c.v[i], cls, sizeof cls);
        count_type(tc, &n_tc, 32, cls);
    }
    fl_buf_puts(out, "<p id=\"msgfilter\">show: ");
    for (size_t i = 0; i < n_tc; i++)
        fl_buf_printf(out,
                      "<label><input type=\"checkbox\" data-t=\"%s\" checked> %s (%zu)</label>",
                      tc[i].name, tc[i].name, tc[i].n);
    fl_buf_puts(out, "</p>\n");
    double w = LEFT + lanes * (double)LANE_W + 20, h = TOP + (double)(rows + 2) * ROW_H + 10;
    fl_buf_printf(out,
                  "<svg id=\"msgdiagram\" data-messages=\"%zu\" width=\"%.0f\" height=\"%.0f\" "
                  "viewBox=\"0 0 %.0f %.0f\">\n",
                  rows, w, h, w, h);
    /* Fault bands: the rows whose time is inside a fault interval. */
    for (size_t f = 0; a && f < a->n_faults; f++) {
        const struct checker_report_fault *ft = &a->faults[f];
        int64_t fs = ft->applied >= 0 ? ft->applied : ft->start;
        int64_t fe = ft->end >= 0 ? ft->end : INT64_MAX;
        size_t r0 = SIZE_MAX, r1 = 0;
        for (size_t i = lo; i < hi; i++)
            if (c.v[i].t >= fs && c.v[i].t <= fe) {
                if (r0 == SIZE_MAX)
                    r0 = i - lo;
                r1 = i - lo;
            }
        if (r0 == SIZE_MAX)
            continue;
        double y0 = TOP + (double)r0 * ROW_H, y1 = TOP + (double)(r1 + 1) * ROW_H;
        fl_buf_printf(out,
                      "<g class=\"fault-band\"><rect class=\"fband\" x=\"0\" y=\"%.1f\" "
                      "width=\"%.0f\" height=\"%.1f\"/><text class=\"flab\" x=\"4\" y=\"%.1f\">",
                      y0, w, y1 - y0, y0 + 11);
        checker_html_escape(out, ft->kind ? ft->kind : "fault", 40);
        fl_buf_puts(out, "</text></g>\n");
    }
    for (unsigned l = 0; l < lanes; l++) {
        fl_buf_printf(out,
                      "<text class=\"lane-name\" x=\"%.1f\" y=\"%d\">n%u</text><line "
                      "class=\"lane-line\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                      lane_x((int)l), TOP - 14, l + 1, lane_x((int)l), TOP - 8, lane_x((int)l),
                      h - 6);
    }
    bool call_drawn = false, ret_drawn = op_ret < 0;
    for (size_t i = lo; i < hi; i++) {
        const struct harness_capmsg *m = &c.v[i];
        double y = TOP + (double)(i - lo) * ROW_H + ROW_H / 2.0;
        if (!call_drawn && m->t >= op_call) {
            fl_buf_printf(
                out,
                "<g class=\"opmark\" id=\"msg-op-call\"><line x1=\"0\" y1=\"%.1f\" "
                "x2=\"%.0f\" y2=\"%.1f\"/><text x=\"%d\" y=\"%.1f\">op invoked</text></g>\n",
                y - ROW_H / 2.0, w, y - ROW_H / 2.0, LEFT + 4, y - ROW_H / 2.0 - 2);
            call_drawn = true;
        }
        if (!ret_drawn && m->t >= op_ret) {
            fl_buf_printf(out,
                          "<g class=\"opmark\" id=\"msg-op-ret\"><line x1=\"0\" y1=\"%.1f\" "
                          "x2=\"%.0f\" y2=\"%.1f\"/><text x=\"%.0f\" y=\"%.1f\">op completed</text>"
                          "</g>\n",
                          y - ROW_H / 2.0, w, y - ROW_H / 2.0, w - 90, y - ROW_H / 2.0 - 2);
            ret_drawn = true;
        }
        int s = m->src >= 0 && (unsigned)m->src < lanes ? m->src : -1;
        int d = m->dst >= 0 && (unsigned)m->dst < lanes ? m->dst : -1;
        if (s < 0 || d < 0 || s == d)
            continue; /* not between two lanes (client traffic is not kept anyway) */
        char cls[24];
        type_class(m, cls, sizeof cls);
        double x1 = lane_x(s), x2 = lane_x(d), sgn = x2 > x1 ? 1 : -1;
        fl_buf_printf(out, "<g class=\"m t-%s\"><title>%.6f s n%d &#8594; n%d ", cls,
                      (double)m->t / NS_PER_S, s + 1, d + 1);
        checker_html_escape(out, harness_capture_kind(m), 24);
        if (m->kind == NEMESIS_CAPEV_MSG) {
            fl_buf_printf(out, " term %llu ", (unsigned long long)m->msg.term);
            checker_html_escape(out, m->msg.detail, 160);
        } else {
            fl_buf_printf(out, " (ports %u -> %u)", m->sport, m->dport);
        }
        fl_buf_printf(out,
                      "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                      "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\"/>",
                      x1, y, x2 - sgn * 6, y, x2, y, x2 - sgn * 7, y - 3.5, x2 - sgn * 7, y + 3.5);
        double lx = (x1 < x2 ? x1 : x2) + 6;
        fl_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\">", lx, y - 2.5);
        checker_html_escape(out, harness_capture_kind(m), 24);
        if (m->kind == NEMESIS_CAPEV_MSG) {
            fl_buf_printf(out, " t%llu ", (unsigned long long)m->msg.term);
            checker_html_escape(out, m->msg.detail, 44);
        }
        fl_buf_printf(out, "</text><text class=\"tt\" x=\"%d\" y=\"%.1f\">%.3f</text></g>\n",
                      LEFT - 6, y + 3, (double)m->t / NS_PER_S);
    }
    fl_buf_printf(out, "</svg>\n<script>%s</script>\n", diagram_js);
    harness_capture_free(&c);
    return out->oom ? FL_ENOMEM : 0;
}
