/* clean.c - `faultline clean`: remove what killed runs left behind (nemesis/clean.h). */
#include "harness/clean.h"

#include "common/error.h"
#include "harness/hosts.h"
#include "nemesis/clean.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: faultline clean [--all | --run ID] [--dry-run]\n"
                 "       faultline clean --hosts FILE [--dry-run]\n"
                 "\n"
                 "Removes what runs whose harness is no longer running left behind: processes\n"
                 "in their namespaces, the fl-<run>-* namespaces (with their veths, bridge and\n"
                 "nft/iptables rules), fl<run>v* links, recorded temporary directories, and the\n"
                 "run records in /run/faultline. Runs of a live harness are left alone.\n"
                 "\n"
                 "  --all       also remove the runs of live harnesses (stops them)\n"
                 "  --run ID    only run ID (6 hex digits, as `faultline run` prints: \"run ID,\n"
                 "              results in ...\"); refused, touching nothing, while its harness\n"
                 "              runs\n"
                 "  --hosts FILE  on each host of FILE (over ssh) instead: every process a run\n"
                 "              started (FAULTLINE_WORKDIR=its workdir in the environment), every\n"
                 "              inet faultline_XXXXXX nft table (no other table), FUSE mounts and\n"
                 "              folders WORKDIR/fl-XXXXXX; whether a run is live or not\n"
                 "  --insecure-host-keys  allow hosts whose host_key_checking is \"off\"\n"
                 "  -n, --dry-run  print what would be removed, remove nothing\n"
                 "  -h, --help  this help\n"
                 "\n"
                 "Exit 0 when everything found was removed (or nothing was found), 3 on a usage\n"
                 "error, without root, or when something could not be removed.\n");
}

struct tally {
    bool dry_run;
    unsigned done, failed;
};

static void on_item(void *data, const char *kind, const char *name, int err)
{
    struct tally *t = data;
    if (err < 0) {
        t->failed++;
        printf("could not remove %s %s: %s\n", kind, name, fl_strerror(err));
    } else {
        t->done++;
        printf("%s %s %s\n", t->dry_run ? "would remove" : "removed", kind, name);
    }
}

int harness_clean_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"all", no_argument, NULL, 'a'},
                                             {"dry-run", no_argument, NULL, 'n'},
                                             {"hosts", required_argument, NULL, 'H'},
                                             {"run", required_argument, NULL, 'r'},
                                             {"insecure-host-keys", no_argument, NULL, 'K'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    struct nemesis_clean_opts o = {0};
    const char *hosts = NULL;
    bool insecure = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "nh", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            o.all = true;
            break;
        case 'n':
            o.dry_run = true;
            break;
        case 'H':
            hosts = optarg;
            break;
        case 'r':
            o.run = optarg;
            break;
        case 'K':
            insecure = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            if (optopt)
                fprintf(stderr, "faultline clean: unknown option -%c\n", optopt);
            else
                fprintf(stderr, "faultline clean: unknown option %s\n", argv[optind - 1]);
            usage(stderr);
            return 3;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "faultline clean: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 3;
    }
    if (o.run != NULL && o.all) {
        fprintf(stderr, "faultline clean: --run and --all do not go together\n");
        return 3;
    }
    if (hosts != NULL) {
        if (o.all || o.run != NULL) {
            fprintf(stderr, "faultline clean: --hosts goes with neither --all nor --run\n");
            return 3;
        }
        return harness_hosts_clean_main(hosts, o.dry_run, insecure);
    }
    if (geteuid() != 0 && !o.dry_run) {
        fprintf(stderr, "faultline clean: needs root (it removes network namespaces); "
                        "--dry-run shows what would go\n");
        return 3;
    }
    struct tally t = {.dry_run = o.dry_run};
    char errmsg[FL_ERRMSG_SIZE] = "";
    int rc = nemesis_clean(&o, on_item, &t, errmsg);
    fflush(stdout);
    if (t.done == 0 && t.failed == 0 && rc == 0)
        printf(o.run ? "nothing of run %s to clean\n" : "nothing to clean\n", o.run);
    if (rc < 0 || t.failed > 0) {
        fprintf(stderr, "faultline clean: %s\n", errmsg[0] ? errmsg : "some removals failed");
        return 3;
    }
    return 0;
}
