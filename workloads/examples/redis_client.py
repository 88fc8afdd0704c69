#!/usr/bin/python3
"""A Faultline client program (workloads/CLIENT_PROTOCOL.md) for Redis, through python3-redis.

Reads one operation per line on stdin, performs it on the first node of the
cluster, writes one completion per line on stdout. Values are stored as JSON
text so integers and strings come back as they went in. Every model:
register and kv (GET/SET, cas as a Lua script), counter (INCRBY/GET),
set (SADD/SMEMBERS), queue (RPUSH/LPOP).

    redis_client.py n1=ADDR:PORT[,n2=ADDR:PORT...]
"""
import json
import os
import sys

import redis

CAS = """
local cur = redis.call('GET', KEYS[1])
if (ARGV[3] == '1' and cur == false) or (ARGV[3] == '0' and cur == ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


def nodes_from(arg):
    """{"n1": ("198.51.100.1", 6379), ...} from "n1=ADDR:PORT,..."."""
    out = {}
    for item in arg.split(","):
        name, addr = item.split("=", 1)
        host, port = addr.rsplit(":", 1)
        out[name] = (host, int(port))
    return out


def main():
    nodes = nodes_from(sys.argv[1])
    timeout = int(os.environ.get("FAULTLINE_OP_TIMEOUT_MS", "1000")) / 1000.0 * 0.8
    conns = {name: redis.Redis(host=h, port=p, socket_timeout=timeout,
                               socket_connect_timeout=timeout)
             for name, (h, p) in nodes.items()}
    db = conns[min(nodes)]  # one node: every operation goes to n1
    cas = db.register_script(CAS)

    def perform(op):
        f, key = op["f"], op.get("key", "register")
        if f == "read":
            model = os.environ.get("FAULTLINE_MODEL")
            if model == "set":
                return {"ok": True, "value": sorted(json.loads(m) for m in db.smembers(key))}
            if model == "counter":
                return {"ok": True, "value": int(db.get(key) or 0)}
            raw = db.get(key)
            return {"ok": True, "value": None if raw is None else json.loads(raw)}
        if f == "write":
            db.set(key, json.dumps(op["value"]))
            return {"ok": True}
        if f == "cas":
            old, new = op["value"]
            done = cas(keys=[key], args=[json.dumps(old), json.dumps(new),
                                         "1" if old is None else "0"])
            if done == 1:
                return {"ok": True}
            return {"ok": False, "definite": True, "error": "cas mismatch"}
        if f == "add" and os.environ.get("FAULTLINE_MODEL") == "counter":
            db.incrby(key, op["value"])
            return {"ok": True}
        if f == "add":
            db.sadd(key, json.dumps(op["value"]))
            return {"ok": True}
        if f == "enqueue":
            db.rpush(key, json.dumps(op["value"]))
            return {"ok": True}
        if f == "dequeue":
            raw = db.lpop(key)
            if raw is None:
                return {"ok": False, "definite": True, "error": "empty"}
            return {"ok": True, "value": json.loads(raw)}
        if f == "leader":  # who leads, as the asked node sees it (ROLE)
            role = conns[op["node"]].execute_command("ROLE")
            if role[0] == b"master":
                return {"ok": True, "leader": op["node"]}
            host, port = role[1].decode(), int(role[2])
            leader = [n for n, a in nodes.items() if a == (host, port)]
            return {"ok": True, "leader": leader[0] if leader else None}
        return {"ok": False, "definite": True, "error": "unknown f " + f}

    for line in sys.stdin:
        req = json.loads(line)
        try:
            ans = perform(req["op"])
        except redis.exceptions.ConnectionError as e:
            # Refused while connecting: nothing was sent. Anything else: in doubt.
            sent = not str(e).startswith("Error") or "connecting" not in str(e)
            ans = {"ok": False, "definite": not sent, "error": type(e).__name__ + ": " + str(e)}
        except redis.exceptions.ResponseError as e:
            # The server refused the command (READONLY, LOADING, MISCONF...): not applied.
            ans = {"ok": False, "definite": True, "error": "ResponseError: " + str(e)}
        except redis.exceptions.RedisError as e:  # timeouts and the rest: when in doubt, indefinite
            ans = {"ok": False, "definite": False, "error": type(e).__name__ + ": " + str(e)}
        ans["id"] = req["id"]
        sys.stdout.write(json.dumps(ans) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
