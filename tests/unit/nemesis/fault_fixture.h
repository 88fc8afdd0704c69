/* fault_fixture.h - a real topology (hub + node namespaces) and a nemesis_ctx for the fault tests.
 *
 * Each test builds its own run (a fresh random run id, so parallel tests never
 * collide) and tears it down in .fini, which Criterion runs after a failed
 * assertion too. Probes run inside node namespaces: nothing is sent from the
 * root namespace. */
#ifndef FAULT_FIXTURE_H
#define FAULT_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nemesis/fault.h"
#include "nemesis/netns.h"
#include "nemesis/topology.h"

struct fault_fixture {
    struct nemesis_topology topo;
    struct nemesis_ctx ctx;
    bool ctx_ok;
    char errmsg[FL_ERRMSG_SIZE];
};

static struct fault_fixture fx;

static inline void fx_up(unsigned n, const char *clock_dir)
{
    char run[8];
    memset(&fx, 0, sizeof fx);
    nemesis_run_id_new(run);
    cr_assert_eq(nemesis_topology_plan(&fx.topo, run, NULL, n, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(nemesis_topology_up(&fx.topo, fx.errmsg), 0, "%s", fx.errmsg);
    cr_assert_eq(nemesis_ctx_init(&fx.ctx, &fx.topo, clock_dir, 42, fx.errmsg), 0, "%s", fx.errmsg);
    fx.ctx_ok = true;
}

static inline void fx_down(void)
{
    char errmsg[FL_ERRMSG_SIZE];
    if (fx.ctx_ok && nemesis_ctx_close(&fx.ctx, errmsg) < 0)
        fprintf(stderr, "ctx close: %s\n", errmsg);
    fx.ctx_ok = false;
    nemesis_topology_down(&fx.topo);
}

/* Runs argv in namespace ns; returns its exit status, output in out. */
static inline int fx_run(const char *ns, const char *const *argv, char *out, size_t size)
{
    char errmsg[FL_ERRMSG_SIZE];
    return nemesis_netns_run(ns, argv, NULL, 0, out, size, NULL, NULL, errmsg);
}

/* Pings node `to` from node `from` (0-based) `count` times, `interval` apart;
 * returns ping's exit status (0 = some reply), output in out. Without -w,
 * ping sends exactly `count` requests and waits 1 s for the last reply. */
static inline int fx_ping(unsigned from, unsigned to, int count, const char *interval, char *out,
                          size_t size)
{
    char c[16];
    snprintf(c, sizeof c, "%d", count);
    const char *argv[] = {"ping", "-n", "-c", c, "-i", interval, "-W", "1", fx.topo.nodes[to].addr,
                          NULL};
    return fx_run(fx.topo.nodes[from].ns, argv, out, size);
}

/* N of "N received" in ping's summary, or -1. */
static inline int fx_received(const char *out)
{
    const char *q = strstr(out, "transmitted, ");
    return q ? atoi(q + strlen("transmitted, ")) : -1;
}

/* A counter of /proc/net/snmp (e.g. "Icmp", "InEchos") as seen in namespace ns, or -1. */
static inline long fx_snmp(const char *ns, const char *proto, const char *field)
{
    static char out[8192];
    const char *argv[] = {"cat", "/proc/net/snmp", NULL};
    if (fx_run(ns, argv, out, sizeof out) != 0)
        return -1;
    /* Two lines per protocol: "Icmp: names..." then "Icmp: values...". */
    size_t plen = strlen(proto);
    char *line = out;
    while (line && *line) {
        char *next = strchr(line, '\n');
        if (strncmp(line, proto, plen) == 0 && line[plen] == ':' && next) {
            char *vals = next + 1;
            int col = -1, k = 0;
            for (char *t = line + plen + 1; *t && *t != '\n';) {
                while (*t == ' ')
                    t++;
                size_t fl = strlen(field);
                if (strncmp(t, field, fl) == 0 && (t[fl] == ' ' || t[fl] == '\n')) {
                    col = k;
                    break;
                }
                while (*t && *t != ' ' && *t != '\n')
                    t++;
                k++;
            }
            if (col < 0)
                return -1;
            char *v = vals + plen + 1;
            for (int i = 0; i <= col; i++) {
                long x = strtol(v, &v, 10);
                if (i == col)
                    return x;
            }
        }
        line = next ? next + 1 : NULL;
    }
    return -1;
}

#endif
