#!/usr/bin/python3
"""Faultline client program (workloads/CLIENT_PROTOCOL.md) for NATS JetStream KV.

Debian has no NATS client library for Python, so this speaks NATS's text
protocol itself over a plain socket (INFO, CONNECT, PING/PONG, SUB, PUB,
HPUB, MSG, HMSG) and JetStream's JSON API on top of it, as nats.go's KV does.
The bucket is the stream KV_<bucket> over subjects $KV.<bucket>.>, one
message kept per subject (history 1), replicated on every node.

    write   PUB $KV.B.KEY with a reply inbox; JetStream's ack {"stream","seq"}
            comes back once the message is stored on a quorum
    cas     [old, new]: the key's last message (value, its sequence) from the
            stream leader; different from old: a definite mismatch; else HPUB
            with Nats-Expected-Last-Subject-Sequence: SEQ (0 when old is null:
            "absent"); err_code 10071 (wrong last sequence): a definite mismatch
    read    "linearizable": $JS.API.STREAM.MSG.GET.KV_B {"last_by_subj"}
            (answered by whichever server believes it leads the stream);
            "sequential": $JS.API.DIRECT.GET.KV_B (any replica answers)
    leader  $JS.API.STREAM.INFO.KV_B on a connection to the node asked:
            cluster.leader as the answering server sees it (no term: NATS
            does not publish the stream's Raft term)

    client.py [--bucket B] [--replicas R] n1=ADDR:PORT[,n2=ADDR:PORT...]

Each worker connects to one node (worker number modulo the node count) and
moves to the next when its connection fails. The first program to find the
stream missing creates it (creating an identical stream again is accepted).

Outcomes ("when in doubt, indefinite"): a request refused before anything was
sent (no connection) or answered "no responders" (nobody received it), and a
cas whose expected sequence the leader rejected, are definite; a timeout, a
lost connection or any other JetStream error after sending is indefinite.
"""
import base64
import json
import os
import random
import socket
import sys
import time

MAX_LINE = 1 << 20          # the protocol's limit for one line
MAX_ERROR = 512             # bytes of error text kept
MAX_PAYLOAD = 8 << 20       # refuse larger frames from a server (untrusted input)
WRONG_LAST_SEQUENCE = 10071  # JetStream: Nats-Expected-Last-Subject-Sequence did not match
NO_MESSAGE_FOUND = 10037
STREAM_NOT_FOUND = 10059


class Definite(Exception):
    """The operation certainly had no effect."""


class NoResponders(Definite):
    """The server had no subscriber for the request: nobody received it."""


def log(*parts):
    print("nats-client:", *parts, file=sys.stderr, flush=True)


def nodes_from(arg):
    """[("n1", "198.51.100.1", 4222), ...] from "n1=ADDR:PORT,..."."""
    out = []
    for item in arg.split(","):
        name, addr = item.split("=", 1)
        host, port = addr.rsplit(":", 1)
        out.append((name, host, int(port)))
    if not out:
        raise ValueError("no nodes")
    return out


class Conn:
    """One NATS connection: requests with a reply inbox, one at a time."""

    def __init__(self, host, port, timeout, name):
        self.timeout = timeout
        self.buf = b""
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:  # nothing was sent
            raise Definite(f"connect {host}:{port}: {e}")
        self.sock.settimeout(timeout)
        self.inbox = "_INBOX.fl%08x" % random.getrandbits(32)
        self.next = 0
        deadline = time.monotonic() + timeout
        line = self.line(deadline)
        if not line.startswith(b"INFO "):
            raise Definite(f"{host}:{port}: expected INFO, got {line[:80]!r}")
        connect = {"verbose": False, "pedantic": False, "headers": True,
                   "no_responders": True, "protocol": 1, "name": name,
                   "lang": "python-faultline", "version": "0"}
        self.send(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n"
                  + b"SUB " + self.inbox.encode() + b".* 1\r\n")
        while True:
            line = self.line(deadline)
            if line == b"PONG":
                break
            if line.startswith(b"-ERR"):
                raise Definite(f"{host}:{port}: {line.decode(errors='replace')}")
            if line == b"PING":
                self.send(b"PONG\r\n")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by the server")
        self.buf += chunk

    def line(self, deadline):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + 2:]
                return out
            if len(self.buf) > MAX_LINE:
                raise ConnectionError("protocol line over 1 MiB")
            self.fill(deadline)

    def exact(self, n, deadline):
        while len(self.buf) < n + 2:
            self.fill(deadline)
        out, self.buf = self.buf[:n], self.buf[n + 2:]
        return out

    def request(self, subject, payload, headers=None):
        """(status, headers, payload) of the reply to one request."""
        self.next += 1
        reply = f"{self.inbox}.{self.next}"
        if headers:
            h = "NATS/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            hb = h.encode()
            frame = (f"HPUB {subject} {reply} {len(hb)} {len(hb) + len(payload)}\r\n").encode() \
                + hb + payload + b"\r\n"
        else:
            frame = f"PUB {subject} {reply} {len(payload)}\r\n".encode() + payload + b"\r\n"
        self.send(frame)
        deadline = time.monotonic() + self.timeout
        while True:
            line = self.line(deadline)
            if line == b"PING":
                self.send(b"PONG\r\n")
                continue
            if line in (b"PONG", b"+OK") or line.startswith(b"INFO "):
                continue
            if line.startswith(b"-ERR"):
                raise ConnectionError(line.decode(errors="replace"))
            parts = line.split()
            if parts and parts[0] == b"MSG" and len(parts) in (4, 5):
                hlen, total = 0, int(parts[-1])
            elif parts and parts[0] == b"HMSG" and len(parts) in (5, 6):
                hlen, total = int(parts[-2]), int(parts[-1])
            else:
                raise ConnectionError(f"unexpected line {line[:80]!r}")
            if total < hlen or total > MAX_PAYLOAD:
                raise ConnectionError(f"bad frame sizes in {line[:80]!r}")
            body = self.exact(total, deadline)
            if parts[1].decode() != reply:  # a late reply to an earlier request
                continue
            status, hdrs = parse_headers(body[:hlen]) if hlen else (None, {})
            return status, hdrs, body[hlen:]


def parse_headers(raw):
    """("503", {"Nats-Sequence": "5"}) from b"NATS/1.0 503\\r\\nK: V\\r\\n\\r\\n"."""
    lines = raw.decode(errors="replace").split("\r\n")
    first = lines[0].split(None, 2)
    status = first[1] if len(first) > 1 else None
    hdrs = {}
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            hdrs[k.strip()] = v.strip()
    return status, hdrs


class Store:
    def __init__(self, nodes, first, bucket, replicas, op_timeout, worker):
        self.nodes = nodes
        self.at = first % len(nodes)
        self.bucket = bucket
        self.stream = "KV_" + bucket
        self.replicas = replicas
        self.timeout = max(0.05, op_timeout * 0.7)
        self.worker = worker
        self.conn = None
        self.conns = {}            # the leader question's connection per node
        self.have_stream = False

    def connection(self):
        """The worker's connection; a failed connect moves to the next node."""
        if self.conn is not None:
            return self.conn
        errors = []
        for i in range(len(self.nodes)):
            name, host, port = self.nodes[(self.at + i) % len(self.nodes)]
            try:
                self.conn = Conn(host, port, self.timeout, f"faultline-w{self.worker}")
                self.at = (self.at + i) % len(self.nodes)
                return self.conn
            except Exception as e:
                errors.append(f"{name}: {e}")
        raise Definite("no node accepted a connection (nothing sent): " + "; ".join(errors))

    def drop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
            self.at = (self.at + 1) % len(self.nodes)

    def api(self, subject, body, conn=None):
        """A JetStream API request; the decoded JSON answer."""
        c = conn or self.connection()
        status, _, payload = c.request(subject, json.dumps(body).encode())
        if status == "503":
            raise NoResponders(f"no responders for {subject} (nobody received it)")
        return json.loads(payload)

    def ensure_stream(self):
        if self.have_stream:
            return
        info = self.api("$JS.API.STREAM.INFO." + self.stream, {})
        err = info.get("error")
        if err and err.get("err_code") == STREAM_NOT_FOUND:
            cfg = {"name": self.stream, "subjects": [f"$KV.{self.bucket}.>"],
                   "retention": "limits", "max_consumers": -1, "max_msgs": -1,
                   "max_bytes": -1, "max_age": 0, "max_msgs_per_subject": 1,
                   "max_msg_size": -1, "discard": "new", "storage": "file",
                   "num_replicas": self.replicas, "duplicate_window": 120000000000,
                   "allow_rollup_hdrs": True, "deny_delete": True, "deny_purge": False,
                   "allow_direct": True, "mirror_direct": False}
            info = self.api("$JS.API.STREAM.CREATE." + self.stream, cfg)
            err = info.get("error")
            if err:
                raise Definite(f"stream {self.stream} create: {err.get('description')}")
            log(f"created stream {self.stream} with {self.replicas} replicas")
        elif err:
            raise Definite(f"stream {self.stream} info: {err.get('description')}")
        self.have_stream = True

    def subject(self, key):
        return f"$KV.{self.bucket}.{key}"

    def last(self, key, direct):
        """(value, sequence) of the key's last message, (None, 0) when absent."""
        subj = self.subject(key)
        if direct:
            status, hdrs, payload = self.connection().request(
                "$JS.API.DIRECT.GET." + self.stream, json.dumps({"last_by_subj": subj}).encode())
            if status == "404":
                return None, 0
            if status == "503":
                raise NoResponders("no responders for direct get")
            if status is not None and status != "200":
                raise Definite(f"direct get: status {status} {hdrs}")
            return json.loads(payload), int(hdrs.get("Nats-Sequence", "0"))
        ans = self.api("$JS.API.STREAM.MSG.GET." + self.stream, {"last_by_subj": subj})
        err = ans.get("error")
        if err:
            if err.get("err_code") == NO_MESSAGE_FOUND:
                return None, 0
            raise Definite(f"msg get: {err.get('description')} (err_code {err.get('err_code')})")
        msg = ans["message"]
        return json.loads(base64.b64decode(msg.get("data", ""))), int(msg["seq"])

    def publish(self, key, value, expect_seq=None):
        headers = None
        if expect_seq is not None:
            headers = {"Nats-Expected-Last-Subject-Sequence": str(expect_seq)}
        status, _, payload = self.connection().request(
            self.subject(key), json.dumps(value).encode(), headers)
        if status == "503":
            raise NoResponders("no responders: no stream took the message")
        ack = json.loads(payload)
        err = ack.get("error")
        if err:
            if expect_seq is not None and err.get("err_code") == WRONG_LAST_SEQUENCE:
                raise Definite(f"cas mismatch: {err.get('description')}")
            # Anything else may come after the leader proposed it: in doubt.
            raise RuntimeError(f"publish: {err.get('description')} (err_code {err.get('err_code')})")
        if "seq" not in ack:
            raise RuntimeError(f"publish: ack without seq: {payload[:200]!r}")

    def leader(self, asked):
        where = [(h, p) for n, h, p in self.nodes if n == asked]
        if not where:
            return {"ok": False, "error": f"unknown node {asked!r}"}
        c = self.conns.get(asked)
        try:
            if c is None:
                c = self.conns[asked] = Conn(where[0][0], where[0][1], self.timeout, "faultline-leader")
            ans = self.api("$JS.API.STREAM.INFO." + self.stream, {}, conn=c)
        except Exception:
            if asked in self.conns:
                self.conns.pop(asked).close()
            raise
        err = ans.get("error")
        if err and err.get("err_code") == STREAM_NOT_FOUND:
            self.ensure_stream()  # the stream has no leader until it exists
            return {"ok": True, "leader": None}
        if err:
            return {"ok": False, "error": f"stream info: {err.get('description')}"}
        lead = (ans.get("cluster") or {}).get("leader")
        names = [n for n, _, _ in self.nodes]
        return {"ok": True, "leader": lead if lead in names else None}


def perform(store, model, op, consistency):
    if model not in ("register", "kv"):
        raise Definite(f"model {model!r} not supported by this adapter (register, kv)")
    f = op.get("f")
    key = op.get("key", "register")
    if f == "leader":
        return store.leader(op.get("node"))
    store.ensure_stream()
    if f == "read":
        value, _ = store.last(key, consistency != "linearizable")
        return {"ok": True, "value": value}
    if f == "write":
        store.publish(key, op["value"])
        return {"ok": True}
    if f == "cas":
        old, new = op["value"]
        if old is None:
            store.publish(key, new, 0)
            return {"ok": True}
        cur, seq = store.last(key, False)
        if seq == 0 or cur != old:
            raise Definite("cas mismatch: found %s" % json.dumps(cur))
        store.publish(key, new, seq)
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
    args = argv[1:]
    bucket, replicas = "fl", 3
    while len(args) > 1 and args[0].startswith("--"):
        if args[0] == "--bucket":
            bucket = args[1]
        elif args[0] == "--replicas":
            replicas = int(args[1])
        else:
            break
        args = args[2:]
    if len(args) != 1 or not bucket.replace("-", "").replace("_", "").isalnum():
        log("usage: client.py [--bucket B] [--replicas R] n1=ADDR:PORT,...")
        return 2
    nodes = nodes_from(args[0])
    model = os.environ.get("FAULTLINE_MODEL", "kv")
    op_timeout = int(os.environ.get("FAULTLINE_OP_TIMEOUT_MS", "1000")) / 1000.0
    worker = int(os.environ.get("FAULTLINE_WORKER", "0"))
    store = Store(nodes, worker, bucket, replicas, op_timeout, worker)
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
            ans = perform(store, model, op, req.get("consistency", "linearizable"))
        except Definite as e:
            ans = {"ok": False, "definite": True, "error": str(e)}
        except Exception as e:  # timeouts, lost connections, the rest: in doubt
            if op.get("f") != "leader":
                store.drop()
            ans = {"ok": False, "definite": harmless, "error": f"{type(e).__name__}: {e}"}
        answer(req_id, ans)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(1)
    except BrokenPipeError:
        sys.exit(0)
