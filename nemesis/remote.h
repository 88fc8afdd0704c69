/* remote.h - a run's nodes on real hosts, driven only through OpenSSH's ssh client.
 *
 * One ControlMaster connection per host (opened by nemesis_remote_open, closed by
 * nemesis_remote_close) so each command costs one round trip. Everything done on a host is a
 * shell command, so a dry run (`dry` set) prints the same text instead of running it.
 *
 * On each host a run owns, and removes on every exit path (and `faultline clean --hosts`
 * removes after a killed harness):
 *   WORKDIR/fl-RUN/          node binary, cluster key, data dirs nK/, logs nK.log, clock/
 *   processes               started with FAULTLINE_WORKDIR=WORKDIR and FAULTLINE_RUN=RUN in
 *                           their environment (how clean finds them), each a process group
 *   table inet faultline_RUN  the run's network faults, and nothing else: other tables of the
 *                           host are never read or touched
 *   table ip faultline_RUN    duplication only (nft has no `dup` in the inet family)
 *   chain faultline_RUN     iptables' filter table, only on a host whose kernel lacks nft's
 *                           `queue` (as this project's CI kernel): the delay's queue rules, with
 *                           one jump from INPUT; removed with the delay
 *   faultline-delayer       while a delay or reorder fault is on: RUNDIR/faultline-delayer
 *                           bound to NFQUEUE queue_num (harness/delayer_main.c), a process of
 *                           the run like the nodes
 * The table's input chain first accepts the control's ssh connection (source = the control
 * address, destination port = the host's sshd port), so no fault cuts the harness off; faults
 * drop (or queue to the delayer, `bypass`: let through when it is gone) at the receiver, by
 * source address, only addresses of the hosts file. Duplicates are made by the sender (output
 * hook, to hosts-file addresses only), so each copy crosses the wire. */
#ifndef NEMESIS_REMOTE_H
#define NEMESIS_REMOTE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "nemesis/hostfile.h"

/* Prefix of argv elements and env values replaced by the host's run folder (WORKDIR/fl-RUN):
 * adapters build one command line for every host, each host's folder differs. */
#define NEMESIS_REMOTE_DIR "{rundir}"

struct nemesis_remote_host {
    struct nemesis_host h;
    char dir[300];       /* WORKDIR/fl-RUN */
    char control[16];    /* the harness's address as this host sees it */
    unsigned sshd_port;  /* the port the control connection reaches */
    bool master;         /* a ControlMaster runs for it */
    bool opened;         /* the run folder was made: close removes it */
    bool table;          /* the run's nft table may exist */
    pid_t cap_pid;       /* the local ssh streaming the host's tcpdump, 0 when none */
    pid_t delayer_pid;   /* the host's faultline-delayer (process group), 0 when none */
    bool xt_queue;       /* its kernel has no nft `queue` (CONFIG_NFT_QUEUE): the delayer is fed
                            by iptables chain faultline_RUN, jumped to from INPUT, instead */
    char applied[4096];  /* the nft ruleset last loaded (to skip unchanged hosts) */
};

struct nemesis_remote {
    char run[8];
    unsigned n;
    struct nemesis_remote_host hosts[NEMESIS_MAX_NODES];
    char ctl_dir[64]; /* ControlPath sockets (local, mkdtemp) */
    FILE *dry;        /* non-NULL: print commands here, run nothing (borrowed) */
    /* Active network faults (bit j of drop[i]: traffic from node i to node j). */
    uint32_t part_drop[NEMESIS_MAX_NODES];
    uint32_t loss_drop[NEMESIS_MAX_NODES];
    int loss_percent;
    uint32_t dup_drop[NEMESIS_MAX_NODES];   /* duplicated at the sender */
    int dup_percent;
    uint32_t delay_drop[NEMESIS_MAX_NODES]; /* queued to the receiver's delayer */
    uint16_t queue_num;                     /* the delayers' NFQUEUE (from the run id) */
    unsigned delay_gen;                     /* delayer starts so far (names their logs) */
};

/* ==== Set-up and tear-down ==== */

/* Prepares the first `n` hosts of `hf` (copied) for run `run` (6 hex digits). With `dry`,
 * nothing is run: each command is printed to dry. Makes the local ControlPath folder.
 * Returns 0, FL_EUSAGE (more nodes than hosts) or a negative errno. */
int nemesis_remote_init(struct nemesis_remote *r, const struct nemesis_hostfile *hf,
                        const char *run, unsigned n, FILE *dry, char *errmsg);

/* Connects to every host (a ControlMaster each, in parallel), learns the control address
 * from SSH_CONNECTION (unless the hosts file names it), checks nft is there (`need_nft`),
 * and makes the run folder. Refuses a control address that is a host's, or that the safety
 * rules refuse. Returns 0 or a negative code with errmsg naming the host. */
int nemesis_remote_open(struct nemesis_remote *r, bool need_nft, char *errmsg);

/* The local pid of host i's ControlMaster (`ssh -O check`), 0 when none or unknown: the run
 * records it, so `faultline clean` stops the masters of a killed harness. */
pid_t nemesis_remote_master_pid(const struct nemesis_remote *r, unsigned i);

/* Removes everything of the run from every host: the nft table, every process carrying the
 * run's marker, the run folder; then stops the ControlMasters and removes the local folder.
 * Idempotent; tries everything and returns the first error. */
int nemesis_remote_close(struct nemesis_remote *r, char *errmsg);

/* Removes from each host of `hf` what any Faultline run left there: processes carrying
 * FAULTLINE_WORKDIR=<its workdir>, every `inet faultline_XXXXXX` table (no other), FUSE
 * mounts under WORKDIR/fl-*, and the folders WORKDIR/fl-*. Prints one line per host to out.
 * With dry, prints the commands instead. Returns 0 or the first error (still cleaning the rest). */
int nemesis_remote_clean(const struct nemesis_hostfile *hf, FILE *out, FILE *dry, char *errmsg);

/* ==== Commands ==== */

/* Runs shell command `cmd` on host i: stdin from `in` (len bytes, may be NULL), stdout into
 * out (cap bytes, NUL-terminated, may be NULL: discarded). Returns the command's exit status
 * (>= 0; 255 is ssh's own failure) or a negative errno with errmsg. Blocks (timeout 60 s). */
int nemesis_remote_exec(struct nemesis_remote *r, unsigned i, const char *cmd, const char *in,
                        size_t len, char *out, size_t cap, char *errmsg);

/* Copies local file `path` to RUNDIR/name on host i (ssh + cat), mode 0755 when `exec`. */
int nemesis_remote_upload(struct nemesis_remote *r, unsigned i, const char *path,
                          const char *name, bool exec, char *errmsg);

/* Appends RUNDIR/name of host i to local file `path` (created). */
int nemesis_remote_fetch(struct nemesis_remote *r, unsigned i, const char *name, const char *path,
                         char *errmsg);

/* Appends `s` to buf as one single-quoted shell word, replacing every
 * NEMESIS_REMOTE_DIR in it by host i's run folder. Returns false when buf is full. */
bool nemesis_remote_quote(const struct nemesis_remote *r, unsigned i, const char *s, char *buf,
                          size_t cap);

/* ==== Processes ==== */

/* Starts argv on host i in the run folder as a new process group (setsid), stdout and stderr
 * appended to RUNDIR/<log>, with env ("NAME=value", NULL-terminated, may be NULL) and the
 * run's markers. NEMESIS_REMOTE_DIR in arguments and values becomes the folder.
 * *pid receives the group's id on the host (1 in a dry run). */
int nemesis_remote_start(struct nemesis_remote *r, unsigned i, const char *const *argv,
                         const char *const *env, const char *log, pid_t *pid, char *errmsg);

/* Sends sig to process group pid on host i. SIGKILL waits (up to 1 s) until the leader is
 * gone. Returns 0, -ESRCH when nothing was signalled, or a negative code. */
int nemesis_remote_signal(struct nemesis_remote *r, unsigned i, pid_t pid, int sig, char *errmsg);

/* SIGKILL to process group pids[i] on every host i of the bit set `hosts`, all at once (a
 * power loss of several hosts): each host's command is armed first (a shell waiting for one
 * line on its stdin), then every line is written at once, so the kills land within a one-way
 * trip of each other rather than a round trip apart; each then waits (up to 1 s) until its
 * leader is gone. A group already gone is not an error; a harness that dies while they are
 * armed kills nothing (EOF). */
int nemesis_remote_kill_set(struct nemesis_remote *r, const pid_t *pids, uint32_t hosts,
                            char *errmsg);

/* 1 when process pid on host i is gone (or a zombie), 0 when it runs, < 0 on error. */
int nemesis_remote_gone(struct nemesis_remote *r, unsigned i, pid_t pid, char *errmsg);

/* SIGTERM (and SIGCONT) to the group, up to grace_ms, then SIGKILL. */
int nemesis_remote_stop(struct nemesis_remote *r, unsigned i, pid_t pid, unsigned grace_ms,
                        char *errmsg);

/* ==== Faults ==== */

/* Renders host i's nft ruleset for the active faults (pure): a transaction that replaces
 * table inet faultline_RUN (control exemption first, then drops by source address, then the
 * delayer's queue) and table ip faultline_RUN (duplication), or only deletes them when no
 * fault touches the host. */
int nemesis_remote_render(const struct nemesis_remote *r, unsigned i, char *buf, size_t cap,
                          char *errmsg);

/* Loads every host's ruleset that changed (in parallel). Returns 0 or the first error. */
int nemesis_remote_net_sync(struct nemesis_remote *r, char *errmsg);

/* Sets the duplication (bit j of drop[i]: copies of i's packets to j, `percent` of them) and
 * loads the changed rulesets. Returns 0 or the first error (the old state kept). */
int nemesis_remote_dup(struct nemesis_remote *r, const uint32_t *drop, int percent,
                       char *errmsg);

/* Starts a faultline-delayer on every host receiving a link of `drop` (uploaded by the
 * harness as RUNDIR/faultline-delayer), waits until each has bound its queue, then queues
 * those links to it. Returns 0 or a negative code with errmsg; on failure nothing is left
 * running. */
int nemesis_remote_delay_start(struct nemesis_remote *r, const uint32_t *drop, uint32_t delay_ms,
                               uint32_t jitter_ms, int reorder_percent, uint64_t seed,
                               char *errmsg);

/* Unqueues every link first, then stops the delayers (each releases what it holds) and adds
 * their counters to *packets and *held. A delayer found dead before its stop is an error
 * (the fault was silently off from then on). Idempotent. */
int nemesis_remote_delay_stop(struct nemesis_remote *r, uint64_t *packets, uint64_t *held,
                              char *errmsg);

/* Streams host i's RUNDIR/name (from its first line; followed by name, so it may appear
 * later) into local file `path` (truncated) until the caller SIGTERMs and reaps *pid, the local
 * ssh. The host's `tail` carries the run's markers: close kills it. */
int nemesis_remote_follow(struct nemesis_remote *r, unsigned i, const char *name,
                          const char *path, pid_t *pid, char *errmsg);

/* ==== Capture ==== */

/* Starts tcpdump on every host (the interface holding the host's address, packets coming in
 * only, so each packet is captured once, by its receiver; the control's ssh port left out),
 * streamed over ssh into local files `dir`/capture-<host>.pcap. Returns 0 or the first
 * error (the hosts started keep capturing: stop them with nemesis_remote_capture_stop). */
int nemesis_remote_capture_start(struct nemesis_remote *r, const char *dir, unsigned snaplen,
                                 char *errmsg);

/* Stops the hosts' tcpdumps (SIGINT: they flush), waits for the streams, and merges the
 * per-host files in time order into `out` (then removes them). *packets receives the
 * number merged. Returns 0 or a negative code with errmsg. */
int nemesis_remote_capture_stop(struct nemesis_remote *r, const char *dir, const char *out,
                                uint64_t *packets, char *errmsg);

/* Writes libfaketime spec `spec` into host i's RUNDIR/clock/n<i+1>.faketime (atomically:
 * temporary file, mv). */
int nemesis_remote_clock(struct nemesis_remote *r, unsigned i, const char *spec, char *errmsg);

#endif
