/* campaign.h - `faultline campaign MATRIX.json`: scenarios x implementations x seeds, N runs at
 * once, locally or on runner machines reached by SSH, gathered into one results store.
 *
 * The matrix (a JSON object; every field checked, errors name the field):
 *   {"name": "nightly",                                  optional, [A-Za-z0-9._-]+
 *    "scenarios": ["scenarios/partition-leader.json"],   1..64 scenario files
 *    "impls": ["reference", "etcd", "reference:bug=stale-read"],   1..8 compare specs
 *    "seeds": [1, 2, 3] | {"first": 1, "count": 3},      1..1000 seeds
 *    "time_limit": 20, "warmup": 2, "heal": 3,           optional, seconds (compare's options)
 *    "capture": false,                                   optional (default true)
 *    "jobs": 2,                                          runs at once on the local machine
 *    "retries": 2,                                       times a cell is tried again elsewhere
 *                                                        after its runner was lost (default 2)
 *    "runners": [{"name": "r1", "ssh": "root@203.0.113.11", "port": 22,
 *                 "identity": "/path/id_ed25519", "known_hosts": "/path/known_hosts",
 *                 "host_key_checking": "yes" | "accept-new" | "off",
 *                 "faultline": "/opt/faultline/bin/faultline", "workdir": "/tmp/fl-campaign",
 *                 "jobs": 1}]}                           optional; without it, runs are local
 *
 * Each cell (scenario, implementation, seed) is one `faultline compare SCENARIO --impl SPEC
 * --seed S --test-count 1` — in a child process here, or over `ssh` on a runner (OpenSSH with
 * ControlMaster sharing; the scenario is copied in, the run folder copied back with tar over
 * the same connection, the remote folder removed). No shared file system is assumed.
 * A runner whose ssh fails (exit 255) and does not answer a probe is marked lost; its cells
 * go back to the queue for the other runners (at most `retries` times each), and the summary
 * says so. Host-key checking off is refused unless --insecure-host-keys is given.
 *
 * Results: DIR/cells/<scenario>.<spec>.<seed>/ (compare's folder, the run in <spec>/<seed>/),
 * DIR/campaign.json, DIR/summary.txt (compare's table per scenario), DIR/<scenario>.html
 * (compare's page per scenario), DIR/junit.xml, and results/index.html rewritten.
 *
 * The matrix parser and the outputs are pure over data, for tests. */
#ifndef HARNESS_CAMPAIGN_H
#define HARNESS_CAMPAIGN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

#define HARNESS_CAMPAIGN_MAX_SCENARIOS 64
#define HARNESS_CAMPAIGN_MAX_IMPLS     8
#define HARNESS_CAMPAIGN_MAX_SEEDS     1000
#define HARNESS_CAMPAIGN_MAX_RUNNERS   16
#define HARNESS_CAMPAIGN_MAX_JOBS      64   /* runs at once per runner */
#define HARNESS_CAMPAIGN_FILE_MAX      (1u << 20)
#define HARNESS_CAMPAIGN_STR_MAX       256

enum harness_campaign_hostkeys {
    HARNESS_CAMPAIGN_HOSTKEYS_YES, /* StrictHostKeyChecking=yes: the key must be known */
    HARNESS_CAMPAIGN_HOSTKEYS_ACCEPT_NEW,
    HARNESS_CAMPAIGN_HOSTKEYS_OFF, /* refused unless asked for */
};

struct harness_campaign_runner {
    char name[64];
    char ssh[HARNESS_CAMPAIGN_STR_MAX]; /* [user@]host */
    unsigned port;                      /* 0: ssh's default */
    char identity[HARNESS_CAMPAIGN_STR_MAX];
    char known_hosts[HARNESS_CAMPAIGN_STR_MAX];
    enum harness_campaign_hostkeys hostkeys;
    char faultline[HARNESS_CAMPAIGN_STR_MAX]; /* the runner's faultline */
    char workdir[HARNESS_CAMPAIGN_STR_MAX];
    unsigned jobs;
};

struct harness_campaign_matrix {
    char name[64];
    char scenarios[HARNESS_CAMPAIGN_MAX_SCENARIOS][HARNESS_CAMPAIGN_STR_MAX];
    size_t n_scenarios;
    char impls[HARNESS_CAMPAIGN_MAX_IMPLS][64];
    size_t n_impls;
    uint64_t seeds[HARNESS_CAMPAIGN_MAX_SEEDS];
    size_t n_seeds;
    int time_limit, warmup, heal; /* -1: the scenario's own */
    bool capture;
    unsigned jobs;    /* local runs at once */
    unsigned retries; /* extra tries of a cell whose runner was lost */
    struct harness_campaign_runner runners[HARNESS_CAMPAIGN_MAX_RUNNERS];
    size_t n_runners; /* 0: local */
};

/* Fills *m from `root` (borrowed). Scenario paths are kept as given. Returns 0
 * or FL_ESHAPE/FL_ELIMIT with errmsg naming the field ("runners[1].port: ..."). */
int harness_campaign_matrix_from_json(const json_t *root, struct harness_campaign_matrix *m,
                                      char *errmsg);

/* Reads `path` (at most HARNESS_CAMPAIGN_FILE_MAX bytes) into *m; errors name the file. */
int harness_campaign_matrix_load(const char *path, struct harness_campaign_matrix *m,
                                 char *errmsg);

/* Appends `s` to `out` quoted for a POSIX shell ('...' with ' as '\''): how
 * arguments cross ssh, whose remote side hands one string to a shell. */
void harness_campaign_shell_quote(struct fl_buf *out, const char *s);

/* Runs the campaign subcommand (argv[0] is "campaign"). Exit: the worst verdict
 * of the implementations without a planted bug (as compare), 3 on a usage or
 * environment error or when a cell could not be run anywhere. */
int harness_campaign_main(int argc, char **argv);

#endif
