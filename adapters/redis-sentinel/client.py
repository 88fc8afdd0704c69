#!/usr/bin/python3
"""Faultline client program (workloads/CLIENT_PROTOCOL.md) for Redis with Sentinel.

Uses Debian's python3-redis the way its users do: redis.sentinel.Sentinel
asks the sentinels which server is the master, and every operation goes to
that master. Values are stored as JSON text so integers and strings come back
as they went in. Models: register and kv (GET/SET, cas as a Lua script),
set (SADD/SMEMBERS), counter (INCRBY/GET), queue (RPUSH/LPOP).

    client.py [--service NAME] [--sentinel-port PORT] n1=ADDR:PORT[,n2=ADDR:PORT...]

Outcomes ("when in doubt, indefinite"): an error before the command was
written to a socket (no master known, connection refused) is definite; an
error reply of Redis (READONLY, NOREPLICAS, LOADING...) is definite, as Redis
executes a command whole or not at all; a timeout, a reset after sending or
any other exception is indefinite. A failed read is harmless (the harness
records every failed read as fail).
"""
import json
import os
import random
import sys

import redis
from redis.sentinel import Sentinel

MAX_LINE = 1 << 20          # the protocol's limit for one line
MAX_ERROR = 512             # bytes of error text kept
CAS = """
local cur = redis.call('GET', KEYS[1])
if (ARGV[3] == '1' and cur == false) or (ARGV[3] == '0' and cur == ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
# Error replies Redis gives instead of executing a command (so it had no effect).
# redis-py strips the code of the replies it has a class for (READONLY,
# LOADING, NOSCRIPT, NOAUTH, NOPERM, EXECABORT, ERR) and keeps it for the others.
DEFINITE_CLASSES = (redis.exceptions.ReadOnlyError, redis.exceptions.BusyLoadingError,
                    redis.exceptions.NoScriptError, redis.exceptions.AuthenticationError,
                    redis.exceptions.NoPermissionError, redis.exceptions.ExecAbortError)
DEFINITE_CODES = ("NOREPLICAS", "MASTERDOWN", "MISCONF", "OOM", "BUSY", "WRONGTYPE",
                  "wrong number of arguments", "unknown command")


class NotSent(Exception):
    """The command never reached a socket: certainly no effect."""


def log(*parts):
    print("redis-client:", *parts, file=sys.stderr, flush=True)


def nodes_from(arg):
    """[("n1", "198.51.100.1", 6379), ...] from "n1=ADDR:PORT,..."."""
    out = []
    for item in arg.split(","):
        name, addr = item.split("=", 1)
        host, port = addr.rsplit(":", 1)
        out.append((name, host, int(port)))
    if not out:
        raise ValueError("no nodes")
    return out


def call(db, *args):
    """One command on the master, telling apart "never sent" from "sent"."""
    pool = db.connection_pool
    try:
        conn = pool.get_connection(args[0])  # asks the sentinels, connects
    except Exception as e:
        raise NotSent(f"{type(e).__name__}: {e}") from e
    try:
        conn.send_command(*args)
        return db.parse_response(conn, args[0])
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def perform(db, model, op):
    f = op.get("f")
    key = str(op.get("key", model))
    if f == "read":
        if model == "set":
            members = call(db, "SMEMBERS", key)
            return {"ok": True, "value": sorted(json.loads(m) for m in members)}
        if model == "counter":
            return {"ok": True, "value": int(call(db, "GET", key) or 0)}
        raw = call(db, "GET", key)
        return {"ok": True, "value": None if raw is None else json.loads(raw)}
    if f == "write":
        call(db, "SET", key, json.dumps(op["value"]))
        return {"ok": True}
    if f == "cas":
        old, new = op["value"]
        done = call(db, "EVAL", CAS, 1, key, json.dumps(old), json.dumps(new),
                    "1" if old is None else "0")
        if done == 1:
            return {"ok": True}
        return {"ok": False, "definite": True, "error": "cas mismatch"}
    if f == "add" and model == "counter":
        call(db, "INCRBY", key, int(op["value"]))
        return {"ok": True}
    if f == "add":
        call(db, "SADD", key, json.dumps(op["value"]))
        return {"ok": True}
    if f == "enqueue":
        call(db, "RPUSH", key, json.dumps(op["value"]))
        return {"ok": True}
    if f == "dequeue":
        raw = call(db, "LPOP", key)
        if raw is None:
            return {"ok": False, "definite": True, "error": "empty"}
        return {"ok": True, "value": json.loads(raw)}
    return {"ok": False, "definite": True, "error": f"unknown f {f!r}"}


def leader(nodes, service, sentinel_port, timeout, asked):
    """Who node `asked` says is master: its sentinel's view, with the config epoch as term."""
    host = [h for n, h, _ in nodes if n == asked]
    if not host:
        return {"ok": False, "definite": True, "error": f"unknown node {asked!r}"}
    s = redis.Redis(host=host[0], port=sentinel_port, socket_timeout=timeout,
                    socket_connect_timeout=timeout)
    try:
        state = s.sentinel_master(service)
    finally:
        s.close()
    term = int(state.get("config-epoch", 0))
    if not state.get("is_master") or state.get("is_sdown") or state.get("is_odown"):
        return {"ok": True, "leader": None, "term": term}
    where = (state["ip"], int(state["port"]))
    name = [n for n, h, p in nodes if (h, p) == where]
    return {"ok": True, "leader": name[0] if name else None, "term": term}


def answer(req_id, ans):
    ans["id"] = req_id
    line = json.dumps(ans)
    if len(line) >= MAX_LINE:  # only a read can be this large: a failed read is harmless
        line = json.dumps({"id": req_id, "ok": False, "definite": True,
                           "error": f"answer of {len(line)} bytes over the 1 MiB line limit"})
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv):
    service, sentinel_port, rest = "fl", 26379, []
    i = 1
    while i < len(argv):
        if argv[i] == "--service" and i + 1 < len(argv):
            service, i = argv[i + 1], i + 2
        elif argv[i] == "--sentinel-port" and i + 1 < len(argv):
            sentinel_port, i = int(argv[i + 1]), i + 2
        else:
            rest.append(argv[i])
            i += 1
    if len(rest) != 1:
        log("usage: client.py [--service NAME] [--sentinel-port PORT] n1=ADDR:PORT,...")
        return 2
    nodes = nodes_from(rest[0])
    model = os.environ.get("FAULTLINE_MODEL", "kv")
    op_timeout = int(os.environ.get("FAULTLINE_OP_TIMEOUT_MS", "1000")) / 1000.0
    timeout = max(0.05, op_timeout * 0.7)
    sentinel_timeout = max(0.05, min(0.25, op_timeout / 8))
    # Each worker asks the sentinels in its own order, as independent clients would.
    sentinels = [(h, sentinel_port) for _, h, _ in nodes]
    random.shuffle(sentinels)
    manager = Sentinel(sentinels, min_other_sentinels=1,
                       sentinel_kwargs={"socket_timeout": sentinel_timeout,
                                        "socket_connect_timeout": sentinel_timeout})
    db = manager.master_for(service, socket_timeout=timeout, socket_connect_timeout=timeout)

    for line in sys.stdin:
        try:
            req = json.loads(line)
            req_id, op = req["id"], req["op"]
            if not isinstance(req_id, int) or not isinstance(op, dict):
                raise ValueError("id or op of the wrong type")
        except Exception as e:
            log(f"malformed request line ignored ({type(e).__name__}: {e}): {line[:200]!r}")
            continue
        harmless = op.get("f") in ("read", "leader")
        try:
            if op.get("f") == "leader":
                ans = leader(nodes, service, sentinel_port, sentinel_timeout, op.get("node"))
            else:
                ans = perform(db, model, op)
        except NotSent as e:
            ans = {"ok": False, "definite": True, "error": "not sent: " + str(e)}
        except redis.exceptions.ResponseError as e:
            refused = isinstance(e, DEFINITE_CLASSES) or str(e).startswith(DEFINITE_CODES)
            ans = {"ok": False, "definite": harmless or refused,
                   "error": f"{type(e).__name__}: {e}"}
        except redis.exceptions.ConnectionError as e:
            # redis-py turns a READONLY reply of a demoted master into this error.
            demoted = "previous master is now a slave" in str(e)
            ans = {"ok": False, "definite": harmless or demoted,
                   "error": f"{type(e).__name__}: {e}"}
        except Exception as e:  # timeouts and everything else: in doubt
            ans = {"ok": False, "definite": harmless, "error": f"{type(e).__name__}: {e}"}
        if "error" in ans:
            ans["error"] = ans["error"][:MAX_ERROR]
        answer(req_id, ans)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(0)
