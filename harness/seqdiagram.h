/* seqdiagram.h - the report's message sequence diagram: the messages between the nodes around
 * the operation that cannot be linearized, from the run's capture.pcap (harness/capture_cmd.h).
 *
 * One lane per node, one arrow per message labelled with its type, term and indexes (TCP
 * events for traffic that is not the reference protocol: SYN, FIN, RST, retransmissions),
 * fault intervals shaded, the operation's invoke and completion marked, and checkboxes that
 * hide message types (heartbeats apart from appends that carry entries). Inline SVG and a few
 * lines of JS, nothing loaded; every text from the capture is escaped. */
#ifndef HARNESS_SEQDIAGRAM_H
#define HARNESS_SEQDIAGRAM_H

#include <stdint.h>

#include "checker/report.h"
#include "common/buf.h"

#define HARNESS_SEQDIAGRAM_MAX_ARROWS 800 /* drawn; a busier window is narrowed around the op */

/* Appends the section for results folder `dir` (its capture.pcap, clock.json, scenario.json):
 * the window from 1.5 s before `op_call` to 0.5 s after `op_ret` (ns of history time; op_ret
 * < 0: an operation that never completed, 1 s after op_call), faults of `a` shaded. Without a
 * capture, or when it cannot be read, the section says why. Returns 0 or FL_ENOMEM. */
int harness_seqdiagram_html(const char *dir, int64_t op_call, int64_t op_ret,
                            const struct checker_report_analysis *a, struct fl_buf *out);

#endif
