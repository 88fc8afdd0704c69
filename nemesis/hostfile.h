/* hostfile.h - the hosts file: which machines a run's nodes go to, and how ssh reaches them.
 *
 *   {"hosts": [{"name": "h1", "ssh": "root@203.0.113.11", "addr": "203.0.113.11",
 *               "port": 22, "identity": "/path/id_ed25519", "known_hosts": "/path/known_hosts",
 *               "host_key_checking": "yes", "workdir": "/tmp/faultline-hosts",
 *               "control": "203.0.113.2"}, ...]}
 *
 * name, ssh and addr are required; node i of a run goes to hosts[i]. `addr` is the address
 * the nodes listen on and each other's rules name; `control` (optional) is the harness's
 * address as the host sees it, whose ssh connection the host's rules never cut (by default
 * what the host's sshd reports in SSH_CONNECTION). `host_key_checking` "off" must be asked
 * for by name. Safety: addresses are IPv4, distinct, never in 192.0.2.0/24 (the root
 * namespace's network on the development machines), never loopback or unspecified.
 * scripts/ssh-lab.sh writes this format. Parsing is pure. */
#ifndef NEMESIS_HOSTFILE_H
#define NEMESIS_HOSTFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "nemesis/topology.h"

#define NEMESIS_HOSTFILE_MAX_BYTES (1u << 20)

enum nemesis_hostkeys {
    NEMESIS_HOSTKEYS_YES = 0,   /* StrictHostKeyChecking=yes (the default) */
    NEMESIS_HOSTKEYS_ACCEPT_NEW, /* accept-new: first contact records the key */
    NEMESIS_HOSTKEYS_OFF,        /* no checking: only when the file says "off" */
};

struct nemesis_host {
    char name[32];        /* [A-Za-z0-9_-]+ */
    char ssh[128];        /* [user@]host, never starting with '-' */
    char addr[16];        /* dotted quad */
    unsigned port;        /* ssh port, 0 = ssh's default */
    char identity[256];   /* "" = ssh's default */
    char known_hosts[256];
    enum nemesis_hostkeys hostkeys;
    char workdir[256];    /* absolute, not "/", no ".."; default /tmp/faultline-hosts */
    char control[16];     /* "" = learned from SSH_CONNECTION */
    unsigned line;        /* where the host's object starts in the file (1-based) */
};

struct nemesis_hostfile {
    char path[256]; /* for messages */
    unsigned n;
    struct nemesis_host hosts[NEMESIS_MAX_NODES];
};

/* Parses `len` bytes of `text` (need not be NUL-terminated; at most
 * NEMESIS_HOSTFILE_MAX_BYTES) named `path` (copied, for messages) into *out.
 * Returns 0, or FL_EPARSE / FL_ESHAPE / FL_ELIMIT with errmsg naming the file,
 * the line and the field: "hosts.json line 3: hosts[1].addr: expected an IPv4 address". */
int nemesis_hostfile_parse(const char *text, size_t len, const char *path,
                           struct nemesis_hostfile *out, char *errmsg);

/* Reads and parses file `path`. Returns as nemesis_hostfile_parse, or a
 * negative errno when the file cannot be read. */
int nemesis_hostfile_load(const char *path, struct nemesis_hostfile *out, char *errmsg);

/* Whether dotted quad `addr` may be a host's or control address: not
 * 192.0.2.0/24, not 0.0.0.0/8, not 127.0.0.0/8, not multicast or broadcast. Pure. */
bool nemesis_hostfile_addr_allowed(const char *addr);

#endif
