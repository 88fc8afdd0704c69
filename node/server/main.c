/* main.c - faultline-node: command line and config file of the reference Raft server. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "node/raft/raft.h"
#include "node/server/server.h"
#include "node/server/state.h"
#include "node/sm/sm.h"

static const char usage[] =
    "usage: faultline-node --id nK --peer-listen HOST:PORT --client-listen HOST:PORT\n"
    "                      --data DIR [--peers n2=HOST:PORT[/HOST:CPORT],...] [options]\n"
    "       faultline-node --config FILE.json\n"
    "\n"
    "The reference Raft server of Faultline (node/PROTOCOL.md has the wire protocol).\n"
    "\n"
    "  --id nK                    this node's name; its Raft id is K\n"
    "  --peer-listen HOST:PORT    address for Raft traffic from the other nodes\n"
    "  --client-listen HOST:PORT  address for clients\n"
    "  --peers LIST               the other initial members: n2=HOST:PORT (client port = port+1)\n"
    "                             or n2=HOST:PORT/HOST:CPORT, comma-separated\n"
    "  --passive-peers LIST       names among --peers (or this node) that start as passive "
    "members\n"
    "  --join                     start with no configuration and wait to be added (faultline\n"
    "                             client join); give --peers too: they are whom it answers\n"
    "  --data DIR                 log, hard state and snapshots (created if missing)\n"
    "  --sm NAME                  state machine: kv (default), counter, set, queue, txn\n"
    "  --secret-file FILE         the cluster's secret key, shared by every node (required):\n"
    "                             16 to 1024 bytes, e.g. `openssl rand -hex 32 > FILE`; peers\n"
    "                             prove membership with it (node/PROTOCOL.md, Connections)\n"
    "  --cluster TOKEN            checked in the peer hello (default \"faultline\")\n"
    "  --election-timeout-ms N    default 300\n"
    "  --heartbeat-ms N           default 50\n"
    "  --lease-drift F            clock drift bound of leader leases, 0..0.9 (default 0.1)\n"
    "  --snapshot-threshold N     entries applied between snapshots (default 4096, 0 never)\n"
    "  --max-sessions N           open client sessions before a registration evicts the one\n"
    "                             idle the longest, 1..4096 (default 1024)\n"
    "  --request-timeout-ms N     a client request not answered by then gets \"timeout\" (5000)\n"
    "  --segment-bytes N          log segment size (default 8 MiB)\n"
    "  --max-batch N              entries per AppendEntries, 1..4096 (default 64)\n"
    "  --bug NAME                 plant a bug (repeatable): stale-read, lease-no-drift,\n"
    "                             commit-old-term, no-prevote, vote-not-persisted, no-dedup,\n"
    "                             ack-before-fsync, txn-early-reads, sequential-unordered\n"
    "  --quiet                    no JSON event lines on stderr\n"
    "  --test-lose-unsynced       test hook: on SIGUSR1, drop log bytes not yet fsynced and exit\n"
    "                             137, as a power loss would (the harness's crash faults)\n"
    "  --config FILE.json         the same settings as a JSON object, keys as the long options\n"
    "                             with '_' for '-' (e.g. "
    "{\"id\":\"n1\",\"peer_listen\":...,\"bug\":[...]})\n"
    "  -h, --help                 this text\n"
    "\n"
    "Stops cleanly on SIGTERM or SIGINT. Exit status: 0 after a clean stop, 1 on a storage or\n"
    "runtime error, 2 on a usage error.\n";

struct bug {
    const char *name;
    unsigned raft, server;
};

static const struct bug bugs[] = {
    {"stale-read", RAFT_BUG_LOCAL_READS, 0},
    {"lease-no-drift", RAFT_BUG_LEASE_NO_DRIFT, 0},
    {"commit-old-term", RAFT_BUG_COMMIT_OLD_TERM, 0},
    {"no-prevote", RAFT_BUG_NO_PREVOTE, 0},
    {"vote-not-persisted", RAFT_BUG_VOTE_NOT_PERSISTED, 0},
    {"no-dedup", 0, SERVER_BUG_NO_DEDUP},
    {"ack-before-fsync", 0, SERVER_BUG_ACK_BEFORE_FSYNC},
    {"txn-early-reads", 0, SERVER_BUG_TXN_EARLY_READS},
    {"sequential-unordered", 0, SERVER_BUG_SEQUENTIAL_UNORDERED},
};

static int die_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "faultline-node: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see faultline-node --help)\n");
    return 2;
}

static int set_uint(const char *opt, const char *v, unsigned long min, unsigned long max,
                    unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (errno != 0 || *end != '\0' || v[0] == '-' || x < min || x > max) {
        fprintf(stderr, "faultline-node: %s: expected an integer in [%lu, %lu], got \"%s\"\n", opt,
                min, max, v);
        return 2;
    }
    *out = x;
    return 0;
}

/* Applies one setting by its long option name; used by argv and --config. */
static int apply(struct server_options *o, const char *name, const char *v, char **passive)
{
    char err[FL_ERRMSG_SIZE];
    unsigned long x;
    int rv;
    if (strcmp(name, "id") == 0) {
        o->id = server_parse_name(v);
        if (o->id == 0)
            return die_usage("--id: expected a node name like n1, got \"%s\"", v);
    } else if (strcmp(name, "peer-listen") == 0 || strcmp(name, "client-listen") == 0) {
        char *dst = name[0] == 'p' ? o->peer_listen : o->client_listen;
        if (strlen(v) >= SERVER_ADDR_MAX || strchr(v, ':') == NULL)
            return die_usage("expected HOST:PORT, got \"%s\"", v);
        snprintf(dst, SERVER_ADDR_MAX, "%s", v);
    } else if (strcmp(name, "peers") == 0) {
        if (server_parse_peers(o, v, err) != 0)
            return die_usage("%s", err);
    } else if (strcmp(name, "passive-peers") == 0) {
        *passive = strdup(v);
    } else if (strcmp(name, "data") == 0) {
        if (strlen(v) >= SERVER_PATH_MAX || v[0] == '\0')
            return die_usage("--data: bad directory \"%s\"", v);
        snprintf(o->data_dir, sizeof o->data_dir, "%s", v);
    } else if (strcmp(name, "sm") == 0) {
        if (sm_type_find(v) == NULL)
            return die_usage("--sm: unknown state machine \"%s\" (kv, counter, set, queue, txn)", v);
        snprintf(o->sm, sizeof o->sm, "%s", v);
    } else if (strcmp(name, "secret-file") == 0) {
        if (strlen(v) >= sizeof o->secret_file || v[0] == '\0')
            return die_usage("--secret-file: bad path \"%s\"", v);
        snprintf(o->secret_file, sizeof o->secret_file, "%s", v);
    } else if (strcmp(name, "cluster") == 0) {
        if (strlen(v) >= sizeof o->cluster || v[0] == '\0')
            return die_usage("--cluster: 1 to 64 bytes, got \"%s\"", v);
        snprintf(o->cluster, sizeof o->cluster, "%s", v);
    } else if (strcmp(name, "election-timeout-ms") == 0) {
        if ((rv = set_uint("--election-timeout-ms", v, 10, 60000, &x)) != 0)
            return rv;
        o->election_timeout_ms = (unsigned)x;
    } else if (strcmp(name, "heartbeat-ms") == 0) {
        if ((rv = set_uint("--heartbeat-ms", v, 1, 60000, &x)) != 0)
            return rv;
        o->heartbeat_ms = (unsigned)x;
    } else if (strcmp(name, "snapshot-threshold") == 0) {
        if ((rv = set_uint("--snapshot-threshold", v, 0, 100000000, &x)) != 0)
            return rv;
        o->snapshot_threshold = x;
    } else if (strcmp(name, "max-batch") == 0) {
        if ((rv = set_uint("--max-batch", v, 1, 4096, &x)) != 0)
            return rv;
        o->max_batch = (unsigned)x;
    } else if (strcmp(name, "segment-bytes") == 0) {
        if ((rv = set_uint("--segment-bytes", v, 4096, 1ul << 30, &x)) != 0)
            return rv;
        o->segment_bytes = x;
    } else if (strcmp(name, "max-sessions") == 0) {
        if ((rv = set_uint("--max-sessions", v, 1, SERVER_SESSIONS_MAX, &x)) != 0)
            return rv;
        o->max_sessions = (unsigned)x;
    } else if (strcmp(name, "request-timeout-ms") == 0) {
        if ((rv = set_uint("--request-timeout-ms", v, 10, 600000, &x)) != 0)
            return rv;
        o->request_timeout_ms = (unsigned)x;
    } else if (strcmp(name, "lease-drift") == 0) {
        char *end;
        double d = strtod(v, &end);
        if (*end != '\0' || !(d >= 0 && d <= 0.9))
            return die_usage("--lease-drift: expected a number in [0, 0.9], got \"%s\"", v);
        o->lease_drift = d;
    } else if (strcmp(name, "bug") == 0) {
        size_t i;
        for (i = 0; i < sizeof bugs / sizeof bugs[0]; i++)
            if (strcmp(bugs[i].name, v) == 0)
                break;
        if (i == sizeof bugs / sizeof bugs[0])
            return die_usage("--bug: unknown bug \"%s\"", v);
        o->raft_bugs |= bugs[i].raft;
        o->server_bugs |= bugs[i].server;
    } else {
        return die_usage("unknown setting \"%s\"", name);
    }
    return 0;
}

static int load_config(struct server_options *o, const char *path, char **passive)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL || !json_is_object(root)) {
        fprintf(stderr, "faultline-node: %s:%d: %s\n", path, root ? 1 : jerr.line,
                root ? "expected a JSON object" : jerr.text);
        json_decref(root);
        return 2;
    }
    const char *key;
    json_t *v;
    int rv = 0;
    json_object_foreach(root, key, v)
    {
        char name[64], buf[64];
        snprintf(name, sizeof name, "%s", key);
        for (char *p = name; *p; p++)
            if (*p == '_')
                *p = '-';
        if (strcmp(name, "join") == 0 || strcmp(name, "quiet") == 0) {
            if (!json_is_boolean(v)) {
                fprintf(stderr, "faultline-node: %s: %s: expected true or false\n", path, key);
                rv = 2;
                break;
            }
            if (name[0] == 'j')
                o->join = json_is_true(v);
            else
                o->quiet = json_is_true(v);
            continue;
        }
        if (strcmp(name, "bug") == 0 && json_is_array(v)) {
            size_t i;
            json_t *b;
            json_array_foreach(v, i, b)
            {
                if (!json_is_string(b) || (rv = apply(o, "bug", json_string_value(b), passive)))
                    break;
            }
            if (rv != 0)
                break;
            continue;
        }
        const char *s = NULL;
        if (json_is_string(v))
            s = json_string_value(v);
        else if (json_is_integer(v) || json_is_real(v)) {
            if (json_is_integer(v))
                snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
            else
                snprintf(buf, sizeof buf, "%g", json_real_value(v));
            s = buf;
        }
        if (s == NULL) {
            fprintf(stderr, "faultline-node: %s: %s: expected a string or a number\n", path, key);
            rv = 2;
            break;
        }
        if ((rv = apply(o, name, s, passive)) != 0) {
            fprintf(stderr, "faultline-node: in %s, key \"%s\"\n", path, key);
            break;
        }
    }
    json_decref(root);
    return rv;
}

static int mark_passive(struct server_options *o, const char *list)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *n = strtok_r(buf, ",", &save); n != NULL; n = strtok_r(NULL, ",", &save)) {
        uint64_t id = server_parse_name(n);
        bool found = id == o->id;
        if (found)
            o->passive = true;
        for (unsigned i = 0; i < o->n_peers; i++)
            if (o->peers[i].id == id) {
                o->peers[i].passive = true;
                found = true;
            }
        if (!found)
            return die_usage("--passive-peers: \"%s\" is not this node or one of --peers", n);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct server_options o;
    server_options_default(&o);
    char *passive = NULL;
    static const struct option longopts[] = {
        {"id", required_argument, NULL, 0},
        {"peer-listen", required_argument, NULL, 0},
        {"client-listen", required_argument, NULL, 0},
        {"peers", required_argument, NULL, 0},
        {"passive-peers", required_argument, NULL, 0},
        {"data", required_argument, NULL, 0},
        {"sm", required_argument, NULL, 0},
        {"cluster", required_argument, NULL, 0},
        {"secret-file", required_argument, NULL, 0},
        {"max-sessions", required_argument, NULL, 0},
        {"election-timeout-ms", required_argument, NULL, 0},
        {"heartbeat-ms", required_argument, NULL, 0},
        {"lease-drift", required_argument, NULL, 0},
        {"snapshot-threshold", required_argument, NULL, 0},
        {"request-timeout-ms", required_argument, NULL, 0},
        {"segment-bytes", required_argument, NULL, 0},
        {"max-batch", required_argument, NULL, 0},
        {"bug", required_argument, NULL, 0},
        {"join", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"test-lose-unsynced", no_argument, NULL, 'L'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int idx, c, rv = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            free(passive);
            return 0;
        } else if (c == 'j') {
            o.join = true;
        } else if (c == 'q') {
            o.quiet = true;
        } else if (c == 'L') {
            o.test_lose_unsynced = true;
        } else if (c == 'c') {
            rv = load_config(&o, optarg, &passive);
        } else if (c == 0) {
            rv = apply(&o, longopts[idx].name, optarg, &passive);
        } else {
            rv = die_usage("unknown or incomplete option \"%s\"", argv[optind - 1]);
        }
        if (rv != 0) {
            free(passive);
            return rv;
        }
    }
    if (optind < argc) {
        free(passive);
        return die_usage("unexpected argument \"%s\"", argv[optind]);
    }
    if (passive != NULL) {
        rv = mark_passive(&o, passive);
        free(passive);
        if (rv != 0)
            return rv;
    }
    if (o.id == 0)
        return die_usage("%s", "--id is required");
    if (o.peer_listen[0] == '\0' || o.client_listen[0] == '\0')
        return die_usage("%s", "--peer-listen and --client-listen are required");
    if (o.data_dir[0] == '\0')
        return die_usage("%s", "--data is required");
    if (o.secret_file[0] == '\0')
        return die_usage("%s", "--secret-file is required (the cluster's shared key)");
    for (unsigned i = 0; i < o.n_peers; i++)
        if (o.peers[i].id == o.id)
            return die_usage("--peers: lists this node (%s) itself", "--id");
    char err[FL_ERRMSG_SIZE] = "";
    rv = server_run(&o, err);
    if (rv != 0) {
        fprintf(stderr, "faultline-node: n%llu: %s\n", (unsigned long long)o.id, err);
        return 1;
    }
    return 0;
}
