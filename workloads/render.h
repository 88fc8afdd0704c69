/* render.h - templates of foreign nodes and client programs, rendered for one cluster.
 *
 * The placeholders of workloads/PROCESS_PROTOCOL.md ({id} {name} {addr}
 * {addr:nK} {peer_port} {port} {client_port} {peers} {n} {data} {dir}
 * {conf} {file:NAME} {if:nK:..} {unless:nK:..}) and of CLIENT_PROTOCOL.md
 * ({nodes} {addrs} {model} {worker}), resolved from a workload_cluster and
 * its implementation options (ports, files). Syntax: common/template.h. */
#ifndef WORKLOAD_RENDER_H
#define WORKLOAD_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "workloads/adapter.h"

#define WORKLOAD_PEER_PORT   7000 /* process and client implementations' defaults */
#define WORKLOAD_CLIENT_PORT 7001

/* options.peer_port / options.client_port of cl, or the default. */
int workload_port(const struct workload_cluster *cl, bool peer);

/* Renders src (len bytes) for node `node` (0-based), or for a client program
 * when node < 0 (then `worker` names it; node-only placeholders such as
 * {addr} are refused). Appends at most max bytes to out. Returns 0 or an
 * FL_E* code with errmsg "WHAT line L col C: problem". */
int workload_render(const struct workload_cluster *cl, int node, const char *worker,
                    const char *src, size_t len, const char *what, struct fl_buf *out, size_t max,
                    char *errmsg);

#endif
