/* clean.h - removing what runs left behind: processes, namespaces, veths, temp dirs.
 *
 * Used by `faultline clean`. A run is a leftover when its registry file
 * (nemesis/registry.h) names an owner that is no longer running, or when a
 * fl-<run>-* namespace or fl<run>v<i> link exists with no registry file at
 * all (nemesis_topology_up writes the file before creating anything, so
 * that only happens after a crash or by hand). Runs of a live harness are
 * left alone unless `all` is set. Deleting a namespace also removes its
 * veths, bridge and nft/iptables state. */
#ifndef NEMESIS_CLEAN_H
#define NEMESIS_CLEAN_H

#include <stdbool.h>

struct nemesis_clean_opts {
    bool all;                 /* also runs whose harness is alive (stops them!) */
    bool dry_run;             /* report what would be removed, touch nothing */
    const char *registry_dir; /* NULL = NEMESIS_REGISTRY_DIR; borrowed */
    const char *run;          /* only this run (6 hex digits), NULL = every run; borrowed */
};

/* Told about each thing removed (or, with dry_run, that would be): kind is
 * "process", "namespace", "veth", "tempdir" or "registry"; name describes
 * it (borrowed for the call); err is 0 or the negative errno of a failed
 * removal. Called synchronously from nemesis_clean. */
typedef void (*nemesis_clean_cb)(void *data, const char *kind, const char *name, int err);

/* Removes leftovers as described above (with opts->run, only that run's: its record, its
 * fl-<run>-* namespaces and fl<run>v* links; -EBUSY with errmsg naming the harness when its
 * owner is alive and `all` is not set, touching nothing; -EINVAL for a malformed id), in
 * this order per run: recorded
 * processes (SIGKILL to their process group) and any process inside the
 * run's namespaces, the namespaces, root-namespace links fl<run>v*, recorded
 * temp dirs, the registry file. cb may be NULL. Returns 0 when everything
 * found was removed (or nothing was found), else the first negative errno
 * met (it still tries the rest) with errmsg naming it. Needs root. */
int nemesis_clean(const struct nemesis_clean_opts *opts, nemesis_clean_cb cb, void *data,
                  char *errmsg);

#endif
