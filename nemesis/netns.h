/* netns.h - entering named network namespaces and running commands inside them.
 *
 * A named namespace is the file /run/netns/<name> that `ip netns add` (and
 * nemesis_topology_up) bind-mounts. Entering one affects only the calling
 * thread: the harness runs its client threads and the capture in the hub this
 * way, while the main thread stays in the root namespace. */
#ifndef NEMESIS_NETNS_H
#define NEMESIS_NETNS_H

#include <stddef.h>

#define NEMESIS_NETNS_DIR "/run/netns"

/* Moves the CALLING THREAD into the named network namespace (`ns` borrowed).
 * Other threads are unaffected; threads created afterwards by this thread
 * start in `ns`. Returns 0, or a negative errno with errmsg naming the
 * namespace (-ENOENT: no such namespace; -EINVAL: a name that is not a plain
 * file name). */
int nemesis_netns_enter(const char *ns, char *errmsg);

/* Opens /run/netns/<ns> read-only with O_CLOEXEC and returns the descriptor
 * (for setns), or a negative errno with errmsg set. */
int nemesis_netns_open(const char *ns, char *errmsg);

/* Runs argv (argv[0] a path or a name looked up in PATH; no shell) inside the
 * named namespace, or in the caller's namespace when `ns` is NULL, and waits
 * for it. stdin is /dev/null, stdout and stderr are collected (the first
 * bytes of stderr end up in errmsg on failure). Returns the exit status
 * (0..255; 0 = success), 128+N when killed by signal N, or a negative errno
 * when it could not be run; for a non-zero result errmsg says what failed.
 * All arguments are borrowed. */
int nemesis_netns_exec(const char *ns, const char *const *argv, char *errmsg);

/* Like nemesis_netns_exec, and also feeds `input` (input_len bytes, may be
 * NULL) to the command's stdin and stores up to out_size-1 bytes of its
 * stdout, NUL-terminated, in `out` (may be NULL; *out_len, if not NULL,
 * receives the stored length). Output past out_size-1 is read and dropped;
 * *truncated (if not NULL) says whether that happened. */
int nemesis_netns_run(const char *ns, const char *const *argv, const char *input, size_t input_len,
                      char *out, size_t out_size, size_t *out_len, int *truncated, char *errmsg);

/* Whether `name` is acceptable as a namespace name: 1..NAME_MAX-ish bytes of
 * [A-Za-z0-9._-], not "." or "..". Pure. */
int nemesis_netns_name_ok(const char *name);

/* Sends `sig` to every process whose network namespace is `ns` (never the caller).
 * A node is a machine: a daemon that left the node's process group (setsid, as
 * PostgreSQL's backends do) still belongs to it, and a kill or a pause must reach it.
 * Returns how many processes were signalled, or a negative errno (-ENOENT: no such
 * namespace). */
int nemesis_netns_signal(const char *ns, int sig);

#endif
