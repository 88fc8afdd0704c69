#!/usr/bin/env python3
"""Writes invalid-kv.jsonl: a 12 s kv history (5 clients, 3 keys) with a
leader isolation from 3.0 s to 4.5 s (no ok completes meanwhile, some
operations time out to info), a kill of n2 from 8.0 s to 9.0 s, and one
stale read at about 7.5 s that makes it non-linearizable. Deterministic."""
import json, random

rng = random.Random(7)
S = 1_000_000_000
ops = []  # (proc, key, f, value, invoke, lin, complete, status)
state = {}
procs = list(range(5))
next_proc = 5
t_proc = {p: 0.05 * p for p in procs}
lanes = {p: p for p in procs}
while True:
    p = min(t_proc, key=t_proc.get)
    t = t_proc[p]
    if t > 11.5:
        break
    key = "k%d" % rng.randrange(3)
    f = rng.choice(["read", "write", "cas"])
    if f == "read":
        v = None
    elif f == "write":
        v = rng.randrange(10)
    else:
        v = [rng.randrange(10), rng.randrange(10)]
    d = rng.uniform(0.005, 0.06)
    status = "ok"
    lin = t + d * 0.5
    done = t + d
    if 3.0 <= t < 4.5 or 3.0 <= done < 4.5:
        if rng.random() < 0.4:
            status = "info"
            done = t + 1.0  # the client's timeout
            lin = None if rng.random() < 0.5 else 4.5 + rng.uniform(0, 0.02)
        else:
            done = 4.5 + rng.uniform(0.001, 0.05)
            lin = done - 0.0005
    ops.append([p, key, f, v, t, lin, done, status])
    if status == "info":
        del t_proc[p]
        t_proc[next_proc] = done
        next_proc += 1
    else:
        t_proc[p] = done + rng.uniform(0.01, 0.05)

# Linearize in lin order to compute results.
for op in sorted([o for o in ops if o[5] is not None], key=lambda o: o[5]):
    p, key, f, v, t, lin, done, status = op
    cur = state.get(key)
    if f == "read":
        op[3] = cur
    elif f == "write":
        state[key] = v
    else:
        if cur == v[0]:
            state[key] = v[1]
        elif status == "ok":
            op[7] = "fail"
# The stale read: an ok read at ~7.5 s returning a value overwritten before it began.
for op in ops:
    if op[2] == "read" and op[4] > 7.5 and op[7] == "ok":
        p, key = op[0], op[1]
        hist = [o for o in ops if o[1] == key and o[2] in ("write",) and o[7] == "ok" and o[6] < op[4]]
        if len(hist) >= 2 and hist[-2][3] != op[3] and hist[-1][3] == op[3]:
            op[3] = hist[-2][3]
            break
else:
    raise SystemExit("no stale read planted")

events = []
for p, key, f, v, t, lin, done, status in ops:
    inv = None if f == "read" else v
    events.append((t, {"process": p, "type": "invoke", "f": f, "key": key, "value": inv}))
    if status == "info":
        events.append((done, {"process": p, "type": "info", "f": f, "key": key, "value": inv}))
    else:
        events.append((done, {"process": p, "type": status, "f": f, "key": key, "value": v}))
nem = [
    (3.0, {"process": "nemesis", "type": "invoke", "f": "isolate-leader", "value": None}),
    (3.0005, {"process": "nemesis", "type": "info", "f": "isolate-leader", "value": {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}}),
    (4.5, {"process": "nemesis", "type": "invoke", "f": "heal", "value": {"fault": "isolate-leader"}}),
    (4.5004, {"process": "nemesis", "type": "info", "f": "heal", "value": {"fault": "isolate-leader", "value": {"n1": ["n2", "n3"]}}}),
    (8.0, {"process": "nemesis", "type": "invoke", "f": "kill-one", "value": None}),
    (8.001, {"process": "nemesis", "type": "info", "f": "kill-one", "value": {"nodes": ["n2"], "signal": "KILL"}}),
    (9.0, {"process": "nemesis", "type": "invoke", "f": "heal", "value": {"fault": "kill-one"}}),
    (9.02, {"process": "nemesis", "type": "info", "f": "heal", "value": {"fault": "kill-one", "value": {"nodes": ["n2"]}}}),
]
events += nem
events.sort(key=lambda e: e[0])
with open("invalid-kv.jsonl", "w") as out:
    for i, (t, e) in enumerate(events):
        e = dict(index=i, time=int(round(t * S)), **e)
        out.write(json.dumps(e, separators=(",", ":")) + "\n")
