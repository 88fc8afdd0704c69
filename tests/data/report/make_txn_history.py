#!/usr/bin/env python3
"""Writes txn-faults.jsonl: a 4 s list-append history (4 clients, keys 1-3) with a
partition ("halves") from 1.0 s to 2.0 s (no transaction commits meanwhile, some
time out to info) and a kill of n2 from 3.0 s to 3.4 s, plus one read skew at
about 2.5 s on keys 8 and 9: T_w appends to both, a later T_r sees its append
to 8 but not the one to 9 (G-single: T_r -rw-> T_w -wr-> T_r). Deterministic."""
import json, random

rng = random.Random(11)
S = 1_000_000_000
txns = []  # [proc, mops, invoke, lin, complete, status]
val = 0
t_proc = {p: 0.02 * p for p in range(4)}
next_proc = 4
while True:
    p = min(t_proc, key=t_proc.get)
    t = t_proc[p]
    if t > 3.9:
        break
    mops = []
    for _ in range(rng.randint(1, 3)):
        k = rng.randint(1, 3)
        if rng.random() < 0.5:
            val += 1
            mops.append(["append", k, val])
        else:
            mops.append(["r", k, None])
    d = rng.uniform(0.005, 0.03)
    status, lin, done = "ok", t + d / 2, t + d
    if 1.0 <= done and t < 2.0:  # the partition: wait it out, or time out
        if rng.random() < 0.4:
            status, lin, done = "info", None, t + 0.5
        else:
            done = 2.0 + rng.uniform(0.003, 0.02)
            lin = done - 0.001
    txns.append([p, mops, t, lin, done, status])
    if status == "info":
        del t_proc[p]
        t_proc[next_proc] = done
        next_proc += 1
    else:
        t_proc[p] = done + rng.uniform(0.01, 0.04)

# Serial execution in lin order gives every read.
state = {}
for tx in sorted([x for x in txns if x[3] is not None], key=lambda x: x[3]):
    for m in tx[1]:
        if m[0] == "append":
            state.setdefault(m[1], []).append(m[2])
        else:
            m[2] = list(state.get(m[1], []))

# The read skew, on processes of its own.
val += 1
txns.append([100, [["append", 8, val], ["append", 9, val + 1]], 2.40, 2.41, 2.42, "ok"])
txns.append([101, [["r", 8, [val]], ["r", 9, []]], 2.50, 2.51, 2.52, "ok"])

events = []
for p, mops, t, lin, done, status in txns:
    inv = [[f, k, None if f == "r" else v] for f, k, v in mops]
    events.append((t, {"process": p, "type": "invoke", "f": "txn", "value": inv}))
    events.append((done, {"process": p, "type": status, "f": "txn",
                          "value": inv if status == "info" else mops}))
def nem(t, typ, f, v):
    events.append((t, {"process": "nemesis", "type": typ, "f": f, "value": v}))
nem(1.0, "invoke", "halves", None)
nem(1.001, "info", "halves", {"n1": ["n3"], "n2": ["n3"]})
nem(2.0, "invoke", "heal", {"fault": "halves"})
nem(2.002, "info", "heal", {"fault": "halves"})
nem(3.0, "invoke", "kill-one", None)
nem(3.001, "info", "kill-one", {"node": "n2"})
nem(3.4, "invoke", "heal", {"fault": "kill-one"})
nem(3.402, "info", "heal", {"fault": "kill-one"})
events.sort(key=lambda e: e[0])
with open("txn-faults.jsonl", "w") as f:
    for t, ev in events:
        ev["time"] = int(round(t * S))
        f.write(json.dumps(ev, separators=(",", ":")) + "\n")
