/* clock.c - libfaketime clock faults: per-node timestamp files rewritten atomically at run time. */
#include "nemesis/clock.h"
#include "nemesis/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ==== Files ==== */

static int clock_path(const char *dir, unsigned node, char *out, size_t size, char *errmsg)
{
    if (node >= NEMESIS_MAX_NODES)
        return fl_errorf(errmsg, FL_EUSAGE, "clock: node index %u out of range", node);
    int w = snprintf(out, size, "%s/n%u.faketime", dir, node + 1);
    if (w < 0 || (size_t)w >= size)
        return fl_errorf(errmsg, FL_ELIMIT, "clock: directory path too long: %.64s...", dir);
    return 0;
}

static int write_spec(const char *path, const char *spec, char *errmsg)
{
    char tmp[NEMESIS_CLOCK_ENV_MAX + 8];
    int w = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (w < 0 || (size_t)w >= sizeof tmp)
        return fl_errorf(errmsg, FL_ELIMIT, "clock: path too long: %.64s...", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fl_errorf(errmsg, -errno, "clock: %s: %s", tmp, strerror(errno));
    size_t len = strlen(spec);
    ssize_t n = write(fd, spec, len);
    int e = n == (ssize_t)len ? 0 : (n < 0 ? errno : EIO);
    if (close(fd) < 0 && e == 0)
        e = errno;
    /* rename is atomic: a node reading the file sees the old or the new spec, never half. */
    if (e == 0 && rename(tmp, path) < 0)
        e = errno;
    if (e != 0) {
        unlink(tmp);
        return fl_errorf(errmsg, -e, "clock: %s: %s", path, strerror(e));
    }
    return 0;
}

/* The libfaketime spec for an offset and a rate: "+1.250s x1.000\n". */
static int clock_spec(int64_t offset_ms, double rate, char *spec, size_t cap, char *errmsg)
{
    if (!(rate >= 0.01 && rate <= 100.0))
        return fl_errorf(errmsg, FL_EUSAGE, "clock: rate %g out of range 0.01..100", rate);
    uint64_t mag = offset_ms < 0 ? (uint64_t)(-(offset_ms + 1)) + 1 : (uint64_t)offset_ms;
    int w = snprintf(spec, cap, "%c%llu.%03llus", offset_ms < 0 ? '-' : '+',
                     (unsigned long long)(mag / 1000), (unsigned long long)(mag % 1000));
    /* Always name the rate: libfaketime keeps the last rate it read when a
     * spec has none, so "-1.2s" after "x0.6" would stay slow. */
    snprintf(spec + w, cap - (size_t)w, " x%.3f\n", rate);
    return 0;
}

int nemesis_clock_set(const char *dir, unsigned node, int64_t offset_ms, double rate, char *errmsg)
{
    char path[NEMESIS_CLOCK_ENV_MAX];
    int rc = clock_path(dir, node, path, sizeof path, errmsg);
    if (rc < 0)
        return rc;
    char spec[64];
    if ((rc = clock_spec(offset_ms, rate, spec, sizeof spec, errmsg)) < 0)
        return rc;
    return write_spec(path, spec, errmsg);
}

/* Node i's clock through the context: its file here, or on its host (remote.h). */
int nemesis__clock_set(struct nemesis_ctx *ctx, unsigned i, int64_t offset_ms, double rate,
                         char *errmsg)
{
    if (ctx->remote == NULL)
        return nemesis_clock_set(ctx->clock_dir, i, offset_ms, rate, errmsg);
    char spec[64];
    int rc = clock_spec(offset_ms, rate, spec, sizeof spec, errmsg);
    if (rc == 0) {
        spec[strcspn(spec, "\n")] = '\0';
        rc = nemesis_remote_clock(ctx->remote, i, spec, errmsg);
    }
    return rc;
}

int nemesis_clock_env(unsigned node, const char *dir,
                      char env[NEMESIS_CLOCK_ENV_N][NEMESIS_CLOCK_ENV_MAX], char *errmsg)
{
    char path[NEMESIS_CLOCK_ENV_MAX - 32];
    int rc = clock_path(dir, node, path, sizeof path, errmsg);
    if (rc < 0)
        return rc;
    if (access(NEMESIS_FAKETIME_LIB, R_OK) < 0)
        return fl_errorf(errmsg, -ENOENT, "clock: %s missing (install Debian's libfaketime)",
                         NEMESIS_FAKETIME_LIB);
    if ((rc = write_spec(path, "+0\n", errmsg)) < 0)
        return rc;
    snprintf(env[0], NEMESIS_CLOCK_ENV_MAX, "LD_PRELOAD=%s", NEMESIS_FAKETIME_LIB);
    snprintf(env[1], NEMESIS_CLOCK_ENV_MAX, "FAKETIME_TIMESTAMP_FILE=%s", path);
    snprintf(env[2], NEMESIS_CLOCK_ENV_MAX, "FAKETIME_NO_CACHE=1");
    return 0;
}

int nemesis__clock_reset_all(struct nemesis_ctx *ctx, char *errmsg)
{
    int first = 0;
    for (unsigned i = 0; ctx->remote != NULL && i < ctx->topo->n; i++) {
        char msg[FL_ERRMSG_SIZE];
        int rc = nemesis__clock_set(ctx, i, 0, 1.0, msg);
        if (rc < 0 && first == 0)
            first = fl_errorf(errmsg, rc, "%s", msg);
    }
    if (ctx->remote != NULL)
        return first;
    for (unsigned i = 0; i < ctx->topo->n; i++) {
        char path[NEMESIS_CLOCK_ENV_MAX];
        char msg[FL_ERRMSG_SIZE];
        if (clock_path(ctx->clock_dir, i, path, sizeof path, msg) < 0 || access(path, F_OK) < 0)
            continue;
        int rc = write_spec(path, "+0\n", msg);
        if (rc < 0 && first == 0)
            first = fl_errorf(errmsg, rc, "%s", msg);
    }
    return first;
}

/* ==== Planning (pure) ==== */

static int offsets_value(struct nemesis_fault *f, unsigned n, char *errmsg)
{
    json_t *offs = json_object();
    json_t *v = json_object();
    if (!offs || !v)
        goto err;
    for (unsigned i = 0; i < n; i++) {
        if (!(f->nodes & (1u << i)))
            continue;
        char name[8];
        nemesis__node_name(i, name);
        if (json_object_set_new(offs, name, json_integer(f->clock_offset_ms[i])) < 0)
            goto err;
    }
    if (json_object_set_new(v, "offsets_ms", offs) < 0) {
        offs = NULL;
        goto err;
    }
    f->value = v;
    return 0;
err:
    json_decref(offs);
    json_decref(v);
    return fl_errorf(errmsg, FL_ENOMEM, "out of memory building the fault's value");
}

static int plan_skew(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                     const struct nemesis_fault_opts *opts, struct nemesis_fault *f, char *errmsg)
{
    (void)leader;
    for (unsigned i = 0; i < topo->n; i++) {
        f->nodes |= 1u << i;
        f->clock_offset_ms[i] = fl_rng_range(rng, -opts->skew_ms, opts->skew_ms);
    }
    return offsets_value(f, topo->n, errmsg);
}

static int plan_jump(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                     const struct nemesis_fault_opts *opts, struct nemesis_fault *f, char *errmsg)
{
    (void)leader;
    unsigned node = (unsigned)fl_rng_below(rng, topo->n);
    f->nodes = 1u << node;
    f->clock_offset_ms[node] = fl_rng_chance(rng, 0.5) ? opts->jump_ms : -opts->jump_ms;
    return offsets_value(f, topo->n, errmsg);
}

static int plan_rate(struct fl_rng *rng, const struct nemesis_topology *topo, int leader,
                     const struct nemesis_fault_opts *opts, struct nemesis_fault *f, char *errmsg)
{
    (void)leader;
    unsigned node = (unsigned)fl_rng_below(rng, topo->n);
    f->nodes = 1u << node;
    f->clock_rate = opts->rate;
    char name[8];
    nemesis__node_name(node, name);
    f->value = json_pack("{s:f,s:[s]}", "rate", f->clock_rate, "nodes", name);
    return f->value ? 0 : fl_errorf(errmsg, FL_ENOMEM, "out of memory");
}

/* ==== Apply and heal ==== */

static int need_dir(const struct nemesis_ctx *ctx, char *errmsg)
{
    if (!ctx->clock_dir[0])
        return fl_errorf(errmsg, FL_EUSAGE,
                         "no clock directory: start the nodes with nemesis_clock_env and give "
                         "its directory to nemesis_ctx_init");
    return 0;
}

static int apply_clock(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    int rc = need_dir(ctx, errmsg);
    for (unsigned i = 0; rc == 0 && i < ctx->topo->n; i++)
        if (f->nodes & (1u << i))
            rc = nemesis__clock_set(ctx, i, f->clock_offset_ms[i], f->clock_rate, errmsg);
    return rc;
}

static int heal_clock(struct nemesis_ctx *ctx, const struct nemesis_fault *f, char *errmsg)
{
    int rc = need_dir(ctx, errmsg);
    int first = rc;
    for (unsigned i = 0; rc == 0 && i < ctx->topo->n; i++) {
        if (!(f->nodes & (1u << i)))
            continue;
        char msg[FL_ERRMSG_SIZE];
        int r = nemesis__clock_set(ctx, i, 0, 1.0, msg);
        if (r < 0 && first == 0)
            first = fl_errorf(errmsg, r, "%s", msg);
    }
    return first;
}

const struct nemesis_kind nemesis_clock_skew = {.name = "clock-skew",
                                                .cls = NEMESIS_CLASS_CLOCK,
                                                .plan = plan_skew,
                                                .apply = apply_clock,
                                                .heal = heal_clock};
const struct nemesis_kind nemesis_clock_jump = {.name = "clock-jump",
                                                .cls = NEMESIS_CLASS_CLOCK,
                                                .plan = plan_jump,
                                                .apply = apply_clock,
                                                .heal = heal_clock};
const struct nemesis_kind nemesis_clock_rate = {.name = "clock-rate",
                                                .cls = NEMESIS_CLASS_CLOCK,
                                                .plan = plan_rate,
                                                .apply = apply_clock,
                                                .heal = heal_clock};
