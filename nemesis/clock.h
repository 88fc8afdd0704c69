/* clock.h - clock faults (skew, jump, rate) for dynamically linked C nodes through libfaketime.
 *
 * A node is started with the variables of nemesis_clock_env: libfaketime is
 * preloaded and re-reads, at every clock call (FAKETIME_NO_CACHE=1), the
 * node's file DIR/n<i+1>.faketime, which holds "+0" when healthy. A fault
 * rewrites the file atomically (temporary file + rename):
 *   clock-skew  every node offset uniformly in [-skew_ms, +skew_ms]: "+0.137s"
 *   clock-jump  one node jumps by +-jump_ms: "-60.000s"
 *   clock-rate  one node's clock runs at `rate`: "+0 x2.000" (libfaketime
 *               scales the time elapsed since the process started, so the
 *               change of rate also moves the clock at once)
 * Heal writes "+0" again. CLOCK_MONOTONIC is faked too (libuv timers see it).
 * No effect on static binaries or Go programs (etcd): refuse clock faults
 * for those implementations in the scenario validation.
 * value: {"offsets_ms":{"n1":137,...}} or {"rate":2.0,"nodes":["n2"]}. */
#ifndef NEMESIS_CLOCK_H
#define NEMESIS_CLOCK_H

#include <stdint.h>

#include "nemesis/fault.h"

#define NEMESIS_FAKETIME_LIB  "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
#define NEMESIS_CLOCK_ENV_N   3
#define NEMESIS_CLOCK_ENV_MAX 320

extern const struct nemesis_kind nemesis_clock_skew;
extern const struct nemesis_kind nemesis_clock_jump;
extern const struct nemesis_kind nemesis_clock_rate;

/* Prepares node `node`'s clock file in `dir` (borrowed; must exist), holding
 * "+0", and fills env with the NEMESIS_CLOCK_ENV_N "NAME=value" strings the
 * process starter must add to the node's environment:
 *   LD_PRELOAD=<libfaketime>, FAKETIME_TIMESTAMP_FILE=<dir>/n<i+1>.faketime,
 *   FAKETIME_NO_CACHE=1.
 * Returns 0, -ENOENT when libfaketime is not installed, FL_EUSAGE/FL_ELIMIT
 * (bad node, path too long) or a negative errno with errmsg. */
int nemesis_clock_env(unsigned node, const char *dir,
                      char env[NEMESIS_CLOCK_ENV_N][NEMESIS_CLOCK_ENV_MAX], char *errmsg);

/* Sets node `node`'s fake clock: offset_ms from the real time, running at
 * `rate` (1.0 = normal). Atomic (write temporary file, rename). */
int nemesis_clock_set(const char *dir, unsigned node, int64_t offset_ms, double rate, char *errmsg);

/* Internal: nemesis_clock_set of node i through the context: its file here (ctx->clock_dir),
 * or its file on its host (ctx->remote). */
int nemesis__clock_set(struct nemesis_ctx *ctx, unsigned i, int64_t offset_ms, double rate,
                       char *errmsg);

/* Internal: writes "+0" into every node's clock file that exists (ctx close). */
int nemesis__clock_reset_all(struct nemesis_ctx *ctx, char *errmsg);

#endif
