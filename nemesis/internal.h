/* internal.h - helpers shared by the nemesis modules (not a public interface). */
#ifndef NEMESIS_INTERNAL_H
#define NEMESIS_INTERNAL_H

#include <stddef.h>
#include <sys/types.h>

/* Resolves a program name the way execvp would (a name with a '/' is taken
 * as is), BEFORE fork, so the child only calls async-signal-safe functions.
 * Returns 0 or -ENOENT / -ENAMETOOLONG. */
int nemesis__resolve_exec(const char *name, char *out, size_t size);

/* In a freshly forked child: unblocks every signal and restores default
 * dispositions, so a node does not inherit the harness's signal set-up
 * (an ignored SIGPIPE or SIGTERM survives exec). Async-signal-safe. */
void nemesis__child_reset_signals(void);

/* In a child after a failure before exec: writes `err` (a positive errno) and
 * the stage number to fd, then _exit(127). */
void nemesis__child_fail(int fd, int stage, int err) __attribute__((noreturn));

/* Reads the start time (field 22 of /proc/<pid>/stat, clock ticks since boot)
 * and the one-letter state. Returns 0 or a negative errno (-ESRCH when gone). */
int nemesis__proc_stat(pid_t pid, unsigned long long *start, char *state);

/* Sleeps `ms` milliseconds (restarting after signals). */
void nemesis__sleep_ms(unsigned ms);

/* Kills (SIGKILL) every process whose network namespace is the named one
 * (never the calling process), then deletes the name (umount + unlink, as
 * `ip netns del`). With dry_run, only reports. cb (may be NULL) is told each
 * thing removed: kind "process" or "namespace", a name, and 0 or a negative
 * errno. Returns 0 (also when the namespace does not exist) or the first error. */
typedef void (*nemesis__report_cb)(void *data, const char *kind, const char *name, int err);
int nemesis__ns_remove(const char *ns, int dry_run, nemesis__report_cb cb, void *data);

/* Calls cb(pid, data) for every process whose network namespace is the named one
 * (stat of /proc/PID/ns/net against the bind mount; never the calling process); stops
 * early when cb returns non-zero. Returns 0, or -ENOENT when the namespace is not there. */
int nemesis__ns_each_pid(const char *ns, int (*cb)(pid_t pid, void *data), void *data);

/* Removes a directory tree without following symlinks. Returns 0, -ENOENT,
 * or the first error. */
int nemesis__rmtree(const char *path);

#endif
