/* hosts.h - a run's nodes on the hosts of a hosts file (scenario "hosts", `run --hosts FILE`):
 * what `faultline run` needs besides nemesis/remote.h — the hosts' folders as the adapters'
 * paths, the node binary and the cluster key uploaded, the clock files, the logs fetched at
 * the end — plus `run --dry-run` with hosts and `faultline clean --hosts FILE`. */
#ifndef HARNESS_HOSTS_H
#define HARNESS_HOSTS_H

#include <stdbool.h>
#include <stdio.h>

#include "harness/scenario.h"
#include "nemesis/clock.h"
#include "nemesis/remote.h"
#include "nemesis/topology.h"
#include "workloads/adapter.h"

struct harness_hosts {
    struct nemesis_hostfile hf;
    struct nemesis_remote remote;
    bool opened;
    bool registered; /* the run has a leftover record (nemesis/registry.h): set by the caller */
    char data_dirs[NEMESIS_MAX_NODES][32]; /* NEMESIS_REMOTE_DIR "/nK" */
    char conf_dirs[NEMESIS_MAX_NODES][40]; /* NEMESIS_REMOTE_DIR "/nK.conf" (process, client) */
    pid_t follow_pid[NEMESIS_MAX_NODES];   /* local ssh streaming node i's log (events), or 0 */
    char node_bin[64];                     /* NEMESIS_REMOTE_DIR "/faultline-node" */
    char secret[64];                       /* NEMESIS_REMOTE_DIR "/cluster.key" */
};

/* Loads sc->hosts, checks it has a host per node (n) and that no host turns host-key
 * checking off unless `insecure_host_keys`, prepares the remote side for run
 * `run` (dry: print commands there instead of running them) and gives every node of `topo`
 * its host's address. Returns 0 or a negative code with errmsg naming the file, line and
 * field. */
int harness_hosts_prepare(struct harness_hosts *h, const struct harness_scenario *sc,
                          const char *run, unsigned n, struct nemesis_topology *topo,
                          bool insecure_host_keys, FILE *dry, char *errmsg);

/* Points the cluster's paths at the hosts' run folders: data and config dirs, the reference node's
 * binary (uploaded by open) unless the scenario names one, the cluster key. */
void harness_hosts_paths(struct harness_hosts *h, const struct harness_scenario *sc,
                         struct workload_cluster *cl);

/* Connects (ControlMaster per host), makes the run folders, uploads `node_bin` (local; the
 * reference node, NULL for others), `secret` (local, may be NULL) and `self_exe` (the
 * faultline binary, for disk faults and corrupt-tail: `faultline fs` and `fs-ctl` on the
 * host; NULL when none), and with `clock` writes every node's faketime file "+0". Returns 0
 * or a negative code with errmsg. */
int harness_hosts_open(struct harness_hosts *h, bool need_nft, const char *node_bin,
                       const char *secret, bool clock, const char *self_exe, char *errmsg);

/* Uploads faultline-delayer (next to this executable) to every host: delay and reorder faults
 * start it there. Returns 0 or a negative code with errmsg. */
int harness_hosts_upload_delayer(struct harness_hosts *h, char *errmsg);

/* ==== Process and client implementations ==== */

/* The implementation options `opts` (borrowed) as the hosts run them: a new reference, a copy
 * in which every binary and argument (args, processes[].binary/args, hooks) equal to a path of
 * options.upload names the host's copy, NEMESIS_REMOTE_DIR "/bin/NAME" (in arguments, which are
 * templates, written "{" NEMESIS_REMOTE_DIR "/bin/NAME": "{{" renders as a brace). NULL when
 * out of memory. */
json_t *harness_hosts_foreign_options(json_t *opts);

/* Prepares every host for a process/client node (after harness_hosts_open): the folders
 * bin/, nK/ (the node's {data}, empty) and nK.conf/ (its {conf}), options.upload's files copied
 * into bin/ (executable when the local file is), and options.files rendered for each node
 * with the hosts' paths and written into its nK.conf/. Returns 0 or a negative code with
 * errmsg naming the host and the file. */
int harness_hosts_foreign_setup(struct harness_hosts *h, const struct workload_cluster *cl,
                                char *errmsg);

/* Runs hook argv (rendered, NEMESIS_REMOTE_DIR in it becomes the folder) for node i on its
 * host, in the node's data folder, output appended to the node's log there, with the run's
 * markers. Waited for (at most timeout_ms, capped at 55 s by the ssh command's own limit):
 * returns its exit status (124: timed out and killed), or a negative code with errmsg. With
 * `background`, started and not waited for (0 when started; its exit status goes to the
 * node's log). */
int harness_hosts_hook(struct harness_hosts *h, unsigned i, char *const *argv, bool background,
                       unsigned timeout_ms, char *errmsg);

/* Streams each node's log on its host into local file paths[i] while the run lasts, so
 * options.events can match its lines as they come (harness/nodelife.h). Returns 0 or a
 * negative code with errmsg; stopped by harness_hosts_finish. */
int harness_hosts_follow_logs(struct harness_hosts *h, const char *const *paths, char *errmsg);

/* Adds the hosts' ControlMasters (local ssh processes, ControlPersist) to the record, once
 * open. */
void harness_hosts_register_masters(struct harness_hosts *h);

/* The libfaketime variables for node i on its host (see nemesis_clock_env). */
void harness_hosts_clock_env(unsigned i, char env[NEMESIS_CLOCK_ENV_N][NEMESIS_CLOCK_ENV_MAX]);

/* Appends each host's node log to logs[i] (local), then removes everything of the run from
 * the hosts (nemesis_remote_close). Idempotent. Returns 0 or the first error. */
int harness_hosts_finish(struct harness_hosts *h, const char *const *logs, char *errmsg);

/* `run --dry-run` of a scenario with hosts: for each host, every command the run would send
 * (connect, folders, uploads, each node's start with its rendered command line, an example
 * partition's nft table, the clean-up). Nothing is run. */
int harness_hosts_dry_run(const struct harness_scenario *sc, bool insecure_host_keys, FILE *out,
                          char *errmsg);

/* `faultline clean --hosts FILE [--dry-run] [--insecure-host-keys]`: exit code. */
int harness_hosts_clean_main(const char *file, bool dry, bool insecure_host_keys);

#endif
