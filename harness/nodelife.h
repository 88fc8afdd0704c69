/* nodelife.h - a foreign node's life around its processes: config files, hooks, log events.
 *
 * For the "process" and "client" implementations (PROCESS_PROTOCOL.md):
 * renders options.files into each node's config directory before its first
 * start; runs the hooks (setup once before the first start, start after each
 * start in the background, stop before the final stop, teardown after it) in
 * the node's namespace with their output in the node's log; tails each
 * node's log and turns lines matching options.events into history events
 * (process "node"). run.c calls it at those points and keeps no state of
 * its own for them. With nodes on hosts (`hosts` set after init) the hooks
 * run on the node's host over ssh (harness/hosts.h), in its data folder. */
#ifndef HARNESS_NODELIFE_H
#define HARNESS_NODELIFE_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <uv.h>

#include "harness/scenario.h"
#include "nemesis/process.h"
#include "workloads/adapter.h"
#include "workloads/runner.h"

#define HARNESS_NODELIFE_MAX_EVENTS 16
#define HARNESS_NODELIFE_PENDING    256 /* events kept before the history opens */

struct harness_hosts;

struct harness_nodelife {
    const struct workload_cluster *cl; /* borrowed */
    struct harness_hosts *hosts;       /* nodes on hosts: hooks run there (borrowed), or NULL */
    const char *const *logs;           /* node i's log path (borrowed) */
    const char *const *tails;          /* where node i's lines are read for events, when not
                                          its log (on hosts: the followed copy), or NULL */
    const char *const *ns;             /* node i's namespace (borrowed) */
    const char *run_id;
    json_t *hooks; /* borrowed from cl->options, or NULL */
    unsigned timeout_ms;
    regex_t re[HARNESS_NODELIFE_MAX_EVENTS];
    const char *f[HARNESS_NODELIFE_MAX_EVENTS];
    unsigned n_events;
    bool setup_done[WORKLOAD_MAX_NODES];
    struct nemesis_process start_hook[WORKLOAD_MAX_NODES];
    bool start_running[WORKLOAD_MAX_NODES];
    off_t offset[WORKLOAD_MAX_NODES]; /* of each log, read so far */
    char partial[WORKLOAD_MAX_NODES][512];
    size_t partial_len[WORKLOAD_MAX_NODES];
    struct workload_history *hist; /* NULL until the history is open */
    json_t *pending;               /* events before then */
    unsigned long events, dropped;
};

/* Reads hooks and events from cl->options. Returns 0 or an FL_E* code. */
int harness_nodelife_init(struct harness_nodelife *l, const struct workload_cluster *cl,
                          const char *const *logs, const char *const *ns, const char *run_id,
                          char *errmsg);
void harness_nodelife_free(struct harness_nodelife *l);

/* Renders options.files for node i into cl->conf_dir[i] (created), or, when
 * dry is not NULL, prints them there instead. Returns 0 or an FL_E* code. */
int harness_nodelife_files(const struct workload_cluster *cl, unsigned i, FILE *dry,
                           char *errmsg);

/* Prints node i's hooks as rendered (dry run). */
void harness_nodelife_print_hooks(const struct workload_cluster *cl, unsigned i, FILE *out);

/* The setup hooks of nodes 0..n-1 not yet set up, all at once (in turn on hosts), each
 * waited for up to the hooks' timeout: a system whose per-node setup is slow (a database's
 * initialization) starts n times sooner. Returns 0 or an error naming the first node whose
 * hook failed (the others are then stopped). */
int harness_nodelife_setup_all(struct harness_nodelife *l, unsigned n, char *errmsg);
/* Before each start of node i: the setup hook the first time (waited for).
 * Returns 0 or an error naming the hook. */
int harness_nodelife_before_start(struct harness_nodelife *l, unsigned i, char *errmsg);
/* After each start of node i: the start hook, in the background. */
void harness_nodelife_started(struct harness_nodelife *l, unsigned i);
/* The stop hook (before the final stop) and the teardown hook (after). */
void harness_nodelife_stop(struct harness_nodelife *l, unsigned i);
void harness_nodelife_teardown(struct harness_nodelife *l, unsigned i);

/* Called on a timer: reaps finished start hooks, reads new log lines and
 * records matching events (kept until the history is set). */
void harness_nodelife_tick(struct harness_nodelife *l);
/* The history is open: pending events go to it (at time 0), later ones at once. */
void harness_nodelife_set_history(struct harness_nodelife *l, struct workload_history *h);

/* `faultline run --dry-run`: plans the addresses and prints, for every node,
 * its command line, rendered files and hooks, then the client program's
 * command line and environment; builds and starts nothing. Returns 0 or an
 * FL_E* code with errmsg (a template error names field, line, column). */
int harness_nodelife_dry_run(const struct harness_scenario *s, FILE *out, char *errmsg);

/* Matches one log line of node i against the patterns; returns the event's
 * f or NULL. (Exposed for tests.) */
const char *harness_nodelife_match(const struct harness_nodelife *l, const char *line);

#endif
