/* registry.h - the leftover registry: one JSON file per run under /run/faultline.
 *
 * Every run records what it creates, before creating it, in
 * <dir>/<run>.json: the harness pid and its start time (so a reused pid is
 * not mistaken for a live harness), the namespaces, the pids of started node
 * processes with their start times, and temporary directories. When a
 * harness dies without cleaning up, `faultline clean` (nemesis/clean.h) reads
 * these files and removes what a dead owner left.
 *
 * File format (one object; unknown fields are ignored, bounded sizes):
 *   {"run":"a1b2c3","owner":{"pid":123,"start":456},
 *    "namespaces":["fl-a1b2c3-hub","fl-a1b2c3-n1"],
 *    "processes":[{"pid":200,"start":789}], "tempdirs":["/tmp/faultline-x"]}
 * Updates are atomic (write a temporary file, rename) and serialized between
 * processes with flock on the directory. */
#ifndef NEMESIS_REGISTRY_H
#define NEMESIS_REGISTRY_H

#include "nemesis/topology.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define NEMESIS_REGISTRY_DIR       "/run/faultline"
#define NEMESIS_REGISTRY_MAX_PROCS 64
#define NEMESIS_REGISTRY_MAX_DIRS  8
#define NEMESIS_REGISTRY_PATH_MAX  256

struct nemesis_registry_proc {
    pid_t pid;
    unsigned long long start; /* /proc/<pid>/stat field 22 */
};

struct nemesis_registry {
    char run[8];
    pid_t owner;                    /* the harness */
    unsigned long long owner_start; /* its start time, field 22 of /proc/<pid>/stat */
    unsigned n_ns;
    char ns[NEMESIS_MAX_NODES + 1][NEMESIS_NAME_MAX];
    unsigned n_procs;
    struct nemesis_registry_proc procs[NEMESIS_REGISTRY_MAX_PROCS];
    unsigned n_dirs;
    char dirs[NEMESIS_REGISTRY_MAX_DIRS][NEMESIS_REGISTRY_PATH_MAX];
};

/* Fills *r for topology t, owned by the calling process: run id, owner pid
 * and start time, the hub and node namespace names; no processes or dirs.
 * Returns 0 or a negative errno. */
int nemesis_registry_init(struct nemesis_registry *r, const struct nemesis_topology *t);

/* Writes r to <dir>/<run>.json atomically (dir NULL = NEMESIS_REGISTRY_DIR,
 * created mode 0700 if missing). Returns 0 or a negative errno with errmsg. */
int nemesis_registry_save(const char *dir, const struct nemesis_registry *r, char *errmsg);

/* Writes r to <dir>/<run>.json like nemesis_registry_save, but only when the run has no
 * file yet (checked under the directory's lock): -EEXIST when it has one (another run of
 * that id), so a run recording itself early never takes another run's record. */
int nemesis_registry_create(const char *dir, const struct nemesis_registry *r, char *errmsg);

/* Reads and validates a registry file (untrusted: every field is checked:
 * run id shape, namespace names, positive pids, absolute temp dir paths).
 * Returns 0, -ENOENT, or FL_EPARSE/FL_ESHAPE/FL_ELIMIT with errmsg naming
 * the file and field. */
int nemesis_registry_load(const char *path, struct nemesis_registry *r, char *errmsg);

/* Path of the file for `run` in dir (NULL = default). Returns 0 or -ENAMETOOLONG. */
int nemesis_registry_path(const char *dir, const char *run, char *out, size_t size);

/* Records a started process (pid alive now; its start time is read from
 * /proc) in the run's file, dropping entries whose process is gone. Returns
 * 0, -ENOENT when the run has no file, -ESRCH when pid is not running,
 * FL_ELIMIT when full, or a negative errno; errmsg says which. */
int nemesis_registry_add_process(const char *dir, const char *run, pid_t pid, char *errmsg);

/* Records a temporary directory that clean-up (and nemesis_topology_down)
 * must remove recursively. `path` must be absolute, normalized (no "." or
 * ".." components, no "//"), at least two components deep and shorter than
 * NEMESIS_REGISTRY_PATH_MAX. Returns 0, -ENOENT (no file for the run),
 * -EINVAL (path refused), FL_ELIMIT, or a negative errno. */
int nemesis_registry_add_tempdir(const char *dir, const char *run, const char *path, char *errmsg);

/* mkdtemp(3) for a recorded run: replaces the trailing "XXXXXX" of tmpl with random
 * letters and digits, records the path in the run's file (add_tempdir) and only then
 * creates the directory (mode 0700, never an existing one), so a process killed at any
 * moment leaves no directory its record does not name. A name taken already is dropped
 * from the record and another tried. Returns 0, -ENOENT (no file for the run), -EINVAL
 * (tmpl refused: see add_tempdir; must end in XXXXXX) or a negative errno, errmsg saying
 * which; on failure nothing is created and tmpl's name is not left in the record. */
int nemesis_registry_mkdtemp(const char *dir, const char *run, char *tmpl, char *errmsg);

/* Removes the run's file. Returns 0 or -ENOENT. */
int nemesis_registry_remove(const char *dir, const char *run);

/* Whether the recorded owner is still the same running process (pid exists
 * and has the recorded start time). */
bool nemesis_registry_owner_alive(const struct nemesis_registry *r);

/* Whether a recorded process is still the same running process. */
bool nemesis_registry_proc_alive(const struct nemesis_registry_proc *p);

/* Whether `path` is acceptable as a temp dir to remove (see add_tempdir). Pure. */
bool nemesis_registry_tempdir_ok(const char *path);

#endif
