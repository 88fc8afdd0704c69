#!/usr/bin/python3
"""Faultline client program (workloads/CLIENT_PROTOCOL.md) for ZooKeeper, through python3-kazoo.

Each worker opens one ZooKeeper session (kazoo picks a server of the
ensemble at random and moves to another when it loses it). Keys are znodes
/fl/KEY whose data is the value's JSON text. Models: register and kv.

    write      set(/fl/KEY), or create it when it does not exist yet
    cas        get(/fl/KEY) -> (value, version); when value == old:
               set(/fl/KEY, new, version) (fails if anything wrote in between);
               old null: create(/fl/KEY, new), which fails if it exists
    read       "linearizable": sync(/fl/KEY) then get (ZooKeeper's recipe);
               "sequential" (and "lease"): a plain get, served by whichever
               server the session is on, possibly behind the leader
    leader     the `srvr` four-letter word of the node asked: "Mode: leader"
               names the node, with the epoch of its zxid (zxid >> 32) as term;
               a follower cannot say whom it follows: unknown; a server
               looking for a leader knows none: null

    client.py n1=ADDR:PORT[,n2=ADDR:PORT...]

Outcomes ("when in doubt, indefinite"): not connected when the operation
comes (nothing is queued), or an answer of the server that rules the
operation out (BadVersion, NoNode, NodeExists) is definite; a connection loss,
session expiry, timeout or anything else after the request was queued is
indefinite. A failed read is harmless.
"""
import json
import os
import socket
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError
from kazoo.retry import KazooRetry

MAX_LINE = 1 << 20          # the protocol's limit for one line
MAX_ERROR = 512             # bytes of error text kept
ROOT = "/fl"


class Definite(Exception):
    """The operation certainly had no effect."""


def log(*parts):
    print("zookeeper-client:", *parts, file=sys.stderr, flush=True)


def nodes_from(arg):
    """[("n1", "198.51.100.1", 2181), ...] from "n1=ADDR:PORT,..."."""
    out = []
    for item in arg.split(","):
        name, addr = item.split("=", 1)
        host, port = addr.rsplit(":", 1)
        out.append((name, host, int(port)))
    if not out:
        raise ValueError("no nodes")
    return out


class Store:
    def __init__(self, nodes, op_timeout):
        self.timeout = max(0.05, op_timeout * 0.7)
        hosts = ",".join(f"{h}:{p}" for _, h, p in nodes)
        # Reconnect quickly: the default backoff grows to a minute.
        retry = KazooRetry(max_tries=-1, delay=0.05, backoff=1.5, max_delay=0.5)
        self.zk = KazooClient(hosts=hosts, timeout=4.0, connection_retry=retry,
                              logger=None)
        # Wait a little for the first session; later operations find out
        # with require_connected.
        self.zk.start_async().wait(self.timeout)

    def wait(self, result):
        return result.get(timeout=self.timeout)

    def require_connected(self):
        # kazoo queues requests while it reconnects; we would rather not send
        # at all than send at an unknown later time.
        if not self.zk.connected:
            raise Definite("not connected to any server (nothing sent)")

    def read(self, path, linearizable):
        self.require_connected()
        if linearizable:
            self.wait(self.zk.sync_async(path))
        try:
            data, _ = self.wait(self.zk.get_async(path))
        except NoNodeError:
            return None
        return json.loads(data)

    def write(self, path, value):
        self.require_connected()
        data = json.dumps(value).encode()
        try:
            self.wait(self.zk.set_async(path, data))
            return
        except NoNodeError:
            pass
        try:
            self.zk.ensure_path_async(ROOT).get(timeout=self.timeout)
            self.wait(self.zk.create_async(path, data))
            return
        except NodeExistsError:  # created meanwhile by another client: overwrite it
            pass
        self.wait(self.zk.set_async(path, data))

    def cas(self, path, old, new):
        self.require_connected()
        data = json.dumps(new).encode()
        if old is None:
            try:
                self.zk.ensure_path_async(ROOT).get(timeout=self.timeout)
                self.wait(self.zk.create_async(path, data))
            except NodeExistsError:
                raise Definite("cas mismatch: exists")
            return
        try:
            cur, stat = self.wait(self.zk.get_async(path))
        except NoNodeError:
            raise Definite("cas mismatch: absent")
        if json.loads(cur) != old:
            raise Definite("cas mismatch")
        try:
            self.wait(self.zk.set_async(path, data, version=stat.version))
        except BadVersionError:
            raise Definite("cas mismatch: version moved")


def four_letter(host, port, word, timeout):
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(word.encode())
        out = b""
        while len(out) < 65536:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    return out.decode(errors="replace")


def leader(nodes, asked, timeout):
    where = [(h, p) for n, h, p in nodes if n == asked]
    if not where:
        return {"ok": False, "definite": True, "error": f"unknown node {asked!r}"}
    text = four_letter(where[0][0], where[0][1], "srvr", timeout)
    mode = zxid = None
    for line in text.splitlines():
        if line.startswith("Mode:"):
            mode = line.split(":", 1)[1].strip()
        elif line.startswith("Zxid:"):
            zxid = int(line.split(":", 1)[1].strip(), 16)
    if mode in ("leader", "standalone") and zxid is not None:
        return {"ok": True, "leader": asked, "term": zxid >> 32}
    if mode in ("follower", "observer"):  # it follows someone, but srvr does not say whom
        return {"ok": True, "unknown": True}
    return {"ok": True, "leader": None}  # looking for a leader: "not currently serving requests"


def perform(store, model, op, consistency):
    if model not in ("register", "kv"):
        raise Definite(f"model {model!r} not supported by this adapter (register, kv)")
    f = op.get("f")
    path = f"{ROOT}/{op.get('key', 'register')}"
    if f == "read":
        value = store.read(path, consistency == "linearizable")
        return {"ok": True, "value": value}
    if f == "write":
        store.write(path, op["value"])
        return {"ok": True}
    if f == "cas":
        old, new = op["value"]
        store.cas(path, old, new)
        return {"ok": True}
    raise Definite(f"unknown f {f!r}")


def answer(req_id, ans):
    ans["id"] = req_id
    if "error" in ans:
        ans["error"] = ans["error"][:MAX_ERROR]
    line = json.dumps(ans)
    if len(line) >= MAX_LINE:  # only a read can be this large: a failed read is harmless
        line = json.dumps({"id": req_id, "ok": False, "definite": True,
                           "error": f"answer of {len(line)} bytes over the 1 MiB line limit"})
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv):
    if len(argv) != 2:
        log("usage: client.py n1=ADDR:PORT,...")
        return 2
    nodes = nodes_from(argv[1])
    model = os.environ.get("FAULTLINE_MODEL", "kv")
    op_timeout = int(os.environ.get("FAULTLINE_OP_TIMEOUT_MS", "1000")) / 1000.0
    probe_timeout = max(0.05, min(0.25, op_timeout / 8))
    store = None
    for line in sys.stdin:
        try:
            req = json.loads(line)
            req_id, op = req["id"], req["op"]
            if not isinstance(req_id, int) or not isinstance(op, dict):
                raise ValueError("id or op of the wrong type")
        except Exception as e:
            log(f"malformed request line ignored ({type(e).__name__}: {e}): {line[:200]!r}")
            continue
        f = op.get("f")
        harmless = f in ("read", "leader")
        try:
            if f == "leader":
                ans = leader(nodes, op.get("node"), probe_timeout)
            else:
                if store is None:  # the leader monitor never opens a session
                    store = Store(nodes, op_timeout)
                ans = perform(store, model, op, req.get("consistency", "linearizable"))
        except Definite as e:
            ans = {"ok": False, "definite": True, "error": str(e)}
        except Exception as e:  # connection loss, session expiry, timeouts, the rest
            ans = {"ok": False, "definite": harmless, "error": f"{type(e).__name__}: {e}"}
        answer(req_id, ans)
    if store is not None:
        try:
            store.zk.stop()
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(0)
