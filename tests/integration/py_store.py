#!/usr/bin/env python3
"""py_store.py - a correct one-node in-memory store speaking workloads/PROCESS_PROTOCOL.md.

The kind of server a new user writes in an afternoon (issue 11): kv/register
(read, write, cas), set (add, read), counter (add, read). Every answer is
exact, so any `invalid` verdict on it is Faultline's fault.

  py_store.py --listen ADDR:PORT [--model kv|set|counter] [--id N] [--leaders JSON_LIST]
              [--refuse-reads-after S [--refuse-for D]]

--leaders: node K (--id K) answers the leader question with the K-th object
of the list (the "id" is added); default {"leader": "n1"}.
--refuse-reads-after: S seconds after the first request (set it to the end of
the workload, so Faultline's final reads fall after it), reads are refused (a
definite failure) for D seconds (default: for good) - for the final-read tests.
"""
import argparse
import asyncio
import json
import time

p = argparse.ArgumentParser()
p.add_argument("--listen", required=True)
p.add_argument("--model", choices=["kv", "set", "counter"], default="kv")
p.add_argument("--id", type=int, default=1)
p.add_argument("--leaders", default=None)
p.add_argument("--refuse-reads-after", type=float, default=None)
p.add_argument("--refuse-for", type=float, default=float("inf"))
args = p.parse_args()
host, port = args.listen.rsplit(":", 1)
leaders = json.loads(args.leaders) if args.leaders else None
first_request = None
kv, sets, counters = {}, {}, {}


def refused():
    if args.refuse_reads_after is None:
        return False
    t = time.monotonic() - first_request
    return args.refuse_reads_after <= t < args.refuse_reads_after + args.refuse_for


def answer(req):
    global first_request
    rid = req.get("id")
    if "leader" in req:
        a = dict(leaders[args.id - 1]) if leaders else {"leader": "n1"}
        a["id"] = rid
        return a
    op = req["op"]
    f, key, value = op["f"], op.get("key", "r"), op.get("value")
    if first_request is None:
        first_request = time.monotonic()
    if f == "read" and refused():
        return {"id": rid, "ok": False, "definite": True, "error": "reads refused"}
    if args.model == "set" and f == "add":
        sets.setdefault(key, set()).add(value)
        return {"id": rid, "ok": True}
    if args.model == "set" and f == "read":
        return {"id": rid, "ok": True, "value": sorted(sets.get(key, ()))}
    if args.model == "counter" and f == "add":
        counters[key] = counters.get(key, 0) + value
        return {"id": rid, "ok": True}
    if args.model == "counter" and f == "read":
        return {"id": rid, "ok": True, "value": counters.get(key, 0)}
    if f == "read":
        return {"id": rid, "ok": True, "value": kv.get(key)}
    if f == "write":
        kv[key] = value
        return {"id": rid, "ok": True}
    if f == "cas":
        old, new = value
        if kv.get(key) != old:
            return {"id": rid, "ok": False, "definite": True,
                    "error": "cas mismatch: expected %s, found %s" % (json.dumps(old)[:40],
                                                                      json.dumps(kv.get(key))[:40])}
        kv[key] = new
        return {"id": rid, "ok": True}
    return {"id": rid, "ok": False, "definite": True, "error": "unsupported op " + str(f)}


async def serve(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            writer.write(json.dumps(answer(json.loads(line))).encode() + b"\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(serve, host, int(port), limit=1 << 21)
    async with server:
        await server.serve_forever()

asyncio.run(main())
