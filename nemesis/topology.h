/* topology.h - the network of a run: a hub namespace with a bridge, one namespace per node, veth
 * pairs.
 *
 * Names carry the run id so concurrent runs never collide:
 *   hub namespace   "fl-<run>-hub"      bridge "br0" inside it, address <subnet>.254
 *   node namespace  "fl-<run>-n<i>"     its end of the veth is "eth0", address <subnet>.<i>
 *   hub-side veth   "fl<run>v<i>"       (interface names are at most 15 bytes)
 * where <run> is a short run id (6 lowercase hex digits) and i = 1..n.
 * Addresses come from a /24 (198.51.100.0/24 by default) that must not overlap
 * any address or route of the root namespace. Clients, probes and capture run
 * in the hub namespace; nothing is sent from the root namespace.
 *
 * Planning is pure (nemesis_topology_plan fills names and addresses);
 * nemesis_topology_up/down touch the system. */
#ifndef NEMESIS_TOPOLOGY_H
#define NEMESIS_TOPOLOGY_H

#include <stdbool.h>
#include <stdint.h>

#define NEMESIS_MAX_NODES 16
#define NEMESIS_NAME_MAX  32

struct nemesis_node_net {
    char ns[NEMESIS_NAME_MAX];       /* "fl-<run>-n<i>" */
    char hub_veth[NEMESIS_NAME_MAX]; /* "fl<run>v<i>" (in the hub namespace) */
    char addr[16];                   /* dotted quad, e.g. "198.51.100.1" */
};

struct nemesis_topology {
    char run[8];                   /* the run id, 6 hex digits */
    char hub_ns[NEMESIS_NAME_MAX]; /* "fl-<run>-hub" */
    char bridge[NEMESIS_NAME_MAX]; /* "br0" */
    char hub_addr[16];             /* <subnet>.254 */
    char subnet[16];               /* "198.51.100.0" (a /24) */
    unsigned n;
    struct nemesis_node_net nodes[NEMESIS_MAX_NODES];
    bool up; /* the namespaces exist (set by up, cleared by down) */
};

#define NEMESIS_DEFAULT_SUBNET "198.51.100.0"

/* Fills out[0..6] with a fresh run id: 6 lowercase hex digits from
 * getrandom(2), NUL-terminated. */
void nemesis_run_id_new(char out[8]);

/* Whether `run` is a run id: exactly 6 lowercase hex digits. Pure. */
bool nemesis_run_id_ok(const char *run);

/* Plans the topology of `n` nodes (1..NEMESIS_MAX_NODES) for run id `run`
 * (6 lowercase hex digits) in `subnet` (a /24 written "a.b.c.0"; NULL means
 * NEMESIS_DEFAULT_SUBNET): fills every name and address of *t and sets
 * t->up = false. Pure: touches nothing. Returns 0, or FL_EUSAGE with errmsg
 * naming the bad argument (t is then zeroed). Arguments are copied. */
int nemesis_topology_plan(struct nemesis_topology *t, const char *run, const char *subnet,
                          unsigned n, char *errmsg);

/* Refuses a subnet that overlaps any IPv4 address or route of the CALLER's
 * namespace (the root namespace for the harness), read with `ip -j` at call
 * time from every routing table. Routes with prefix length 0 (default
 * routes) are ignored: they overlap everything. Returns 0 when `subnet` (a
 * /24 "a.b.c.0") is free, FL_EUSAGE with a message naming the conflicting
 * address or route (e.g. "subnet 192.0.2.0/24 overlaps address 192.0.2.2/24
 * on eth0 of the root namespace"), or a negative errno when `ip` failed. */
int nemesis_topology_check_subnet(const char *subnet, char *errmsg);

/* Builds the planned topology (the FAULTS.md recipe): first records the run
 * in the leftover registry (nemesis/registry.h, owner = this process; a record
 * this process made before, nemesis_registry_create, keeps its temp dirs and
 * processes; another owner's record of the run id is refused, -EEXIST), then
 * creates the hub namespace with lo up and bridge t->bridge carrying
 * t->hub_addr/24, each node namespace with lo up, a veth pair (hub side
 * enslaved to the bridge, node side "eth0" with the node's address), all
 * links up. Calls nemesis_topology_check_subnet first. Refuses (-EEXIST) if
 * any of the namespace names already exists, touching nothing. On any
 * failure removes what it made (nemesis_topology_down) and returns a negative
 * code with errmsg; on success sets t->up. Must be called from a thread in
 * the root namespace (the overlap check reads the caller's namespace), as
 * root (CAP_SYS_ADMIN + CAP_NET_ADMIN). Measured: ~17 ms for 3 nodes, ~21 ms
 * for 5 (bench_topology), with n+2 `ip -batch` processes. */
int nemesis_topology_up(struct nemesis_topology *t, char *errmsg);

/* Removes everything of the run: SIGKILLs any process still inside one of
 * its namespaces (never the calling process), deletes the namespaces (which
 * destroys the veths, the bridge and any nft/iptables state in them), removes
 * the temporary directories recorded in the registry and then the registry
 * file. Acts only when t->up is set (so a failed up that refused an existing
 * name never removes someone else's namespace); idempotent: clears t->up,
 * what is already gone is skipped. Threads of the caller that
 * entered one of the namespaces keep it alive until they leave or exit.
 * Returns 0, or the first negative errno met (it still tries everything). */
int nemesis_topology_down(struct nemesis_topology *t);

/* Whether the named namespace currently exists (/run/netns/<ns>). */
bool nemesis_topology_ns_exists(const char *ns);

#endif
