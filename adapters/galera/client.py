#!/usr/bin/python3
"""A Faultline client program (workloads/CLIENT_PROTOCOL.md) for MariaDB Galera Cluster, through
Debian's python3-pymysql.

Each program talks SQL to one node (worker number mod the node count; the next node after a
failed connect), the way Galera's users spread clients over a multi-master cluster.
Transactions (`f` "txn": Elle's list-append and rw-register) run as one SQL transaction at the
isolation level given (default: MariaDB's default, REPEATABLE READ); kv/register operations
(read, write, cas) each run as one transaction of their own.

    client.py [--isolation repeatable-read|read-committed|serializable] [--sync-wait N]
              [--model M] n1=ADDR:PORT,n2=ADDR:PORT,...

--sync-wait sets the session's wsrep_sync_wait (0: reads served from the node's local state,
Galera's default; 1: a read waits until the node has applied everything the cluster committed
before it, Galera's "causal reads").

Tables (database `jepsen`, created when missing): `lists (k, v)` holds a list-append key as
comma-separated integers; `regs (k, v)` holds a register as JSON text.

What is definite (certainly not committed): an error before COMMIT was sent (the server rolls the
transaction back: lock wait timeouts, deadlocks, a node not in the primary component), a failed
connect, and a COMMIT refused with a deadlock (1213: Galera's certification failure rolls the
transaction back). Anything else during COMMIT (a lost connection, a timeout, 1047 "WSREP has
not yet prepared node") may have committed: indefinite.
"""
import json
import os
import sys

import pymysql

LEVELS = {"repeatable-read": "REPEATABLE READ", "read-committed": "READ COMMITTED",
          "serializable": "SERIALIZABLE"}
SCHEMA = ["CREATE DATABASE IF NOT EXISTS jepsen",
          "CREATE TABLE IF NOT EXISTS jepsen.lists (k VARCHAR(64) PRIMARY KEY, v MEDIUMTEXT NOT NULL)"
          " ENGINE=InnoDB",
          "CREATE TABLE IF NOT EXISTS jepsen.regs (k VARCHAR(64) PRIMARY KEY, v TEXT NOT NULL)"
          " ENGINE=InnoDB"]
ER_LOCK_DEADLOCK = 1213


class Definite(Exception):
    """The operation certainly had no effect."""


class Indefinite(Exception):
    """The operation may have taken effect."""


def out(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def usage(why):
    sys.stderr.write("client.py: %s\nusage: client.py [--isolation repeatable-read|read-committed|"
                     "serializable] [--sync-wait N] [--model M] n1=ADDR:PORT,...\n" % why)
    sys.exit(3)


def parse_args(argv):
    opts = {"isolation": None, "sync_wait": 0,
            "model": os.environ.get("FAULTLINE_MODEL", "list-append"), "nodes": None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--isolation", "--sync-wait", "--model"):
            if i + 1 >= len(argv):
                usage("%s needs a value" % a)
            val = argv[i + 1]
            if a == "--isolation":
                if val not in LEVELS:
                    usage("unknown isolation %r" % val)
                opts["isolation"] = val
            elif a == "--sync-wait":
                if not val.isdigit() or int(val) > 15:
                    usage("--sync-wait is 0..15, not %r" % val)
                opts["sync_wait"] = int(val)
            else:
                opts["model"] = val
            i += 2
        else:
            opts["nodes"] = a
            i += 1
    if not opts["nodes"]:
        usage("no nodes")
    nodes = []
    for item in opts["nodes"].split(","):
        name, _, addr = item.partition("=")
        host, _, port = addr.rpartition(":")
        if not name or not host or not port.isdigit():
            usage("bad node %r (want nK=ADDR:PORT)" % item)
        nodes.append((name, host, int(port)))
    opts["nodes"] = nodes
    return opts


class Db:
    def __init__(self, opts, first, timeout_s):
        self.opts, self.at, self.timeout_s = opts, first, timeout_s
        self.conn = None

    def name(self):
        return self.opts["nodes"][self.at][0]

    def connect(self):
        """The open connection, or a fresh one; failing here is definite (nothing was sent)."""
        if self.conn is not None and self.conn.open:
            return self.conn
        _, host, port = self.opts["nodes"][self.at]
        try:
            t = self.timeout_s
            conn = pymysql.connect(host=host, port=port, user="root", connect_timeout=t,
                                   read_timeout=t, write_timeout=t, autocommit=True)
            cur = conn.cursor()
            cur.execute("SET SESSION wsrep_sync_wait = %d" % self.opts["sync_wait"])
            if self.opts["isolation"]:
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL " +
                            LEVELS[self.opts["isolation"]])
            for stmt in SCHEMA:
                cur.execute(stmt)
        except pymysql.Error as e:
            name = self.name()
            # The next operation tries the next node (a fresh program after an info does too).
            self.at = (self.at + 1) % len(self.opts["nodes"])
            raise Definite("connect %s: %s" % (name, e)) from e
        self.conn = conn
        return conn

    def drop(self):
        try:
            if self.conn is not None:
                self.conn.close()
        except Exception:
            pass
        self.conn = None


def run_txn(db, body):
    """body(cursor) as one transaction: errors before COMMIT are definite, at COMMIT only a
    deadlock (certification failure) is."""
    conn = db.connect()
    try:
        conn.begin()
        result = body(conn.cursor())
    except pymysql.Error as e:
        try:
            conn.rollback()
        except pymysql.Error:
            db.drop()
        if isinstance(e, pymysql.OperationalError) and e.args and e.args[0] >= 2000:
            db.drop()  # a client-side error (lost connection): the server rolls back
        raise Definite("%s on %s: %s" % (type(e).__name__, db.name(), e)) from e
    if isinstance(result, dict) and not result.get("ok", True):
        conn.rollback()
        return result
    try:
        conn.commit()
    except pymysql.Error as e:
        code = e.args[0] if e.args else None
        if code == ER_LOCK_DEADLOCK:
            raise Definite("COMMIT refused on %s: %s" % (db.name(), e)) from e
        db.drop()
        raise Indefinite("%s during COMMIT on %s: %s" % (type(e).__name__, db.name(), e)) from e
    return result


def list_read(cur, k):
    cur.execute("SELECT v FROM jepsen.lists WHERE k = %s", (k,))
    row = cur.fetchone()
    if row is None or row[0] == "":
        return []
    return [int(x) for x in row[0].split(",")]


def list_append(cur, k, x):
    cur.execute("INSERT INTO jepsen.lists (k, v) VALUES (%s, %s) "
                "ON DUPLICATE KEY UPDATE v = CONCAT(v, ',', VALUES(v))", (k, str(x)))


def reg_read(cur, k):
    cur.execute("SELECT v FROM jepsen.regs WHERE k = %s", (k,))
    row = cur.fetchone()
    return None if row is None else json.loads(row[0])


def reg_write(cur, k, x):
    cur.execute("INSERT INTO jepsen.regs (k, v) VALUES (%s, %s) "
                "ON DUPLICATE KEY UPDATE v = VALUES(v)", (k, json.dumps(x)))


def txn(db, model, mops):
    """Elle's micro-ops as one transaction; returns them with reads filled in."""
    def body(cur):
        done = []
        for f, k, v in mops:
            k = str(k)
            if f == "r":
                done.append([f, k, list_read(cur, k) if model == "list-append" else reg_read(cur, k)])
            elif f == "append":
                list_append(cur, k, v)
                done.append([f, k, v])
            elif f == "w":
                reg_write(cur, k, v)
                done.append([f, k, v])
            else:
                raise Definite("unknown micro-op %r" % f)
        return {"ok": True, "value": done}
    return run_txn(db, body)


def single(db, op):
    """kv/register operations, each its own transaction."""
    k, f = str(op.get("key", "register")), op["f"]

    def body(cur):
        if f == "read":
            return {"ok": True, "value": reg_read(cur, k)}
        if f == "write":
            reg_write(cur, k, op["value"])
            return {"ok": True}
        if f == "cas":
            old, new = op["value"]
            cur.execute("SELECT v FROM jepsen.regs WHERE k = %s FOR UPDATE", (k,))
            row = cur.fetchone()
            now = None if row is None else json.loads(row[0])
            if now != old:
                return {"ok": False, "definite": True,
                        "error": "cas mismatch: expected %s, found %s" % (json.dumps(old),
                                                                         json.dumps(now))}
            reg_write(cur, k, new)
            return {"ok": True}
        return {"ok": False, "definite": True, "error": "unsupported f %r" % f}
    return run_txn(db, body)


STATUS = ("SHOW STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status', "
          "'wsrep_local_state_comment', 'wsrep_cluster_size')")


class Monitor:
    """The leader question. Galera has no leader: every node takes writes. The answer about a
    node is "unknown" (the harness then aims no leader-targeted fault) only while every node is
    in the primary component and synced, so a run starts its workload on a whole cluster, not
    while the others still copy the state (an rsync state transfer blocks the donor's writes);
    otherwise a failure naming the first node that is not. One connection per node, kept."""

    def __init__(self, opts, timeout_s):
        self.opts, self.conns = opts, {}
        # Questions about every node come at once and are answered in turn, 1 s each: a node
        # that accepts but does not answer (a joiner) must not use up the others' time.
        self.t = max(0.1, timeout_s / (2 * len(opts["nodes"])))

    def status(self, name, host, port):
        conn = self.conns.get(name)
        try:
            if conn is None or not conn.open:
                conn = pymysql.connect(host=host, port=port, user="root", connect_timeout=self.t,
                                       read_timeout=self.t, write_timeout=self.t)
                self.conns[name] = conn
            cur = conn.cursor()
            cur.execute(STATUS)
            return dict(cur.fetchall())
        except pymysql.Error as e:
            self.conns.pop(name, None)
            raise Definite("%s: %s" % (name, e)) from e

    def answer(self, node):
        nodes = self.opts["nodes"]
        if node not in [n for n, _, _ in nodes]:
            return {"ok": False, "error": "no node %r" % node}
        # The asked node first: its own failure is the reason given.
        for name, host, port in sorted(nodes, key=lambda x: x[0] != node):
            try:
                st = self.status(name, host, port)
            except Definite as e:
                return {"ok": False, "error": str(e)[:300]}
            if not (st.get("wsrep_ready") == "ON" and st.get("wsrep_cluster_status") == "Primary"
                    and st.get("wsrep_local_state_comment") == "Synced"
                    and st.get("wsrep_cluster_size") == str(len(nodes))):
                return {"ok": False, "error": "%s not synced: %s" % (name, json.dumps(st, sort_keys=True))}
        return {"ok": True, "unknown": True}


def main():
    opts = parse_args(sys.argv[1:])
    timeout = int(os.environ.get("FAULTLINE_OP_TIMEOUT_MS", "2000")) / 1000.0 * 0.8
    worker = int(os.environ.get("FAULTLINE_WORKER", "0"))
    db = Db(opts, worker % len(opts["nodes"]), timeout)
    monitor = Monitor(opts, timeout)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            rid, op = req["id"], req["op"]
        except Exception as e:  # the harness never sends this; say so and go on
            sys.stderr.write("bad request line: %r (%s)\n" % (line[:200], e))
            continue
        node = db.name()  # the node this operation goes to (the history's "node")
        try:
            if op["f"] == "leader":
                node = None
                res = monitor.answer(op.get("node"))
            elif op["f"] == "txn":
                res = txn(db, opts["model"], op["value"])
            else:
                res = single(db, op)
        except Definite as e:
            res = {"ok": False, "definite": True, "error": str(e)[:400]}
        except Indefinite as e:
            res = {"ok": False, "definite": False, "error": str(e)[:400]}
        except Exception as e:  # when in doubt, indefinite
            db.drop()
            res = {"ok": False, "definite": False, "error": "%s: %s" % (type(e).__name__, str(e)[:300])}
        res["id"] = rid
        if node is not None:
            res["node"] = node
        out(res)


if __name__ == "__main__":
    main()
