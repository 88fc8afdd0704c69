#!/usr/bin/python3
"""A Faultline client program (workloads/CLIENT_PROTOCOL.md) for PostgreSQL, through psycopg2.

Transactions (`f` "txn", Elle's list-append and rw-register) run as one SQL
transaction at the isolation level given on the command line; the kv/register
models (read, write, cas) run as single statements, for smoke runs.

    client.py --isolation serializable|repeatable-read|read-committed [--model M] n1=ADDR:PORT

Tables: `lists (k text primary key, v text)` holds a list-append key as
comma-separated integers (an append is `UPDATE ... SET v = v || ',' || x`
through INSERT ... ON CONFLICT DO UPDATE); `regs (k text primary key, v text)`
holds registers as JSON text.

What is definite (the transaction certainly did not commit): an error raised
before COMMIT was sent (serialization failures, deadlocks, constraint errors:
PostgreSQL rolled the transaction back), a failed connect. What is not: any
error during COMMIT other than a serialization failure reported by the server
(a lost connection there may or may not have committed), a timeout.
"""
import json
import os
import sys

import psycopg2
import psycopg2.extensions

LEVELS = {
    "serializable": psycopg2.extensions.ISOLATION_LEVEL_SERIALIZABLE,
    "repeatable-read": psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ,
    "read-committed": psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED,
}
SCHEMA = ("CREATE TABLE IF NOT EXISTS lists (k text PRIMARY KEY, v text NOT NULL);"
          "CREATE TABLE IF NOT EXISTS regs (k text PRIMARY KEY, v text NOT NULL)")


class Indefinite(Exception):
    """The operation may have taken effect."""


def out(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def parse_args(argv):
    iso, model, nodes = "serializable", os.environ.get("FAULTLINE_MODEL", "list-append"), None
    i = 0
    while i < len(argv):
        if argv[i] == "--isolation":
            iso = argv[i + 1]
            i += 2
        elif argv[i] == "--model":
            model = argv[i + 1]
            i += 2
        else:
            nodes = argv[i]
            i += 1
    if iso not in LEVELS or not nodes:
        sys.stderr.write("usage: client.py --isolation serializable|repeatable-read|"
                         "read-committed [--model M] n1=ADDR:PORT\n")
        sys.exit(3)
    name, addr = nodes.split(",")[0].split("=", 1)
    host, port = addr.rsplit(":", 1)
    return iso, model, host, int(port)


class Db:
    def __init__(self, host, port, iso, timeout_s):
        self.host, self.port, self.iso, self.timeout_s = host, port, iso, timeout_s
        self.conn = None

    def connect(self):
        """A fresh connection; any failure here is definite (nothing was sent)."""
        if self.conn is not None and not self.conn.closed:
            return self.conn
        self.conn = psycopg2.connect(
            host=self.host, port=self.port, user="postgres", dbname="postgres",
            connect_timeout=max(1, int(self.timeout_s)),
            options="-c statement_timeout=%d -c lock_timeout=%d" % (
                int(self.timeout_s * 1000), int(self.timeout_s * 1000)))
        self.conn.set_session(isolation_level=LEVELS[self.iso], autocommit=False)
        cur = self.conn.cursor()
        try:
            cur.execute(SCHEMA)
            self.conn.commit()
        except psycopg2.Error:
            # Two programs creating the tables at once: one wins, the other sees them next time.
            self.conn.rollback()
        return self.conn

    def drop(self):
        try:
            if self.conn is not None:
                self.conn.close()
        except Exception:
            pass
        self.conn = None


def list_read(cur, k):
    cur.execute("SELECT v FROM lists WHERE k = %s", (k,))
    row = cur.fetchone()
    if row is None or row[0] == "":
        return []
    return [int(x) for x in row[0].split(",")]


def list_append(cur, k, x):
    cur.execute("INSERT INTO lists (k, v) VALUES (%s, %s) "
                "ON CONFLICT (k) DO UPDATE SET v = lists.v || ',' || EXCLUDED.v", (k, str(x)))


def reg_read(cur, k):
    cur.execute("SELECT v FROM regs WHERE k = %s", (k,))
    row = cur.fetchone()
    return None if row is None else json.loads(row[0])


def reg_write(cur, k, x):
    cur.execute("INSERT INTO regs (k, v) VALUES (%s, %s) "
                "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v", (k, json.dumps(x)))


class Definite(Exception):
    """The operation certainly had no effect."""


def run_txn(db, body):
    """Runs body(cursor) as one transaction. Errors before COMMIT was sent are definite: the
    server rolls back a transaction whose statement failed or whose connection went away. At
    COMMIT only a refusal by the server (SQLSTATE class 40: serialization failure, deadlock)
    is definite; anything else there may have committed."""
    try:
        conn = db.connect()
    except psycopg2.Error as e:
        db.drop()
        raise Definite("connect: %s" % str(e).strip()[:300]) from e
    try:
        result = body(conn.cursor())
    except psycopg2.Error as e:
        try:
            conn.rollback()
        except psycopg2.Error:
            db.drop()
        if isinstance(e, psycopg2.OperationalError):
            db.drop()
        raise Definite("%s %s: %s" % (type(e).__name__, e.pgcode,
                                      (e.pgerror or str(e)).strip()[:300])) from e
    if isinstance(result, dict) and not result.get("ok", True):
        conn.rollback()
        return result
    try:
        conn.commit()
    except psycopg2.Error as e:
        if e.pgcode and e.pgcode.startswith("40"):
            raise Definite("COMMIT refused: %s %s" % (e.pgcode, (e.pgerror or "").strip()[:300])) from e
        db.drop()
        raise Indefinite("%s during COMMIT: %s" % (type(e).__name__, str(e).strip()[:300])) from e
    return result


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
                raise ValueError("unknown micro-op %r" % f)
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
            cur.execute("SELECT v FROM regs WHERE k = %s FOR UPDATE", (k,))
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


def leader(op):
    # One node: it leads whenever it is asked; PostgreSQL has no term to give.
    return {"ok": True, "leader": op.get("node")}


def main():
    iso, model, host, port = parse_args(sys.argv[1:])
    timeout = int(os.environ.get("FAULTLINE_OP_TIMEOUT_MS", "2000")) / 1000.0 * 0.8
    db = Db(host, port, iso, timeout)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            rid, op = req["id"], req["op"]
        except Exception as e:  # the harness never sends this; say so and go on
            sys.stderr.write("bad request line: %r (%s)\n" % (line[:200], e))
            continue
        try:
            if op["f"] == "leader":
                res = leader(op)
            elif op["f"] == "txn":
                res = txn(db, model, op["value"])
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
        out(res)


if __name__ == "__main__":
    main()
