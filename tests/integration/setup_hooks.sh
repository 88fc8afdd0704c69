#!/usr/bin/env bash
# setup_hooks.sh - the nodes' setup hooks (workloads/PROCESS_PROTOCOL.md "Lifecycle hooks") run
# at once, not one node after the other: three nodes whose setup takes 2 s each start their
# setups before any ends (Galera's per-node mariadb-install-db took 10-14 s each at load 11,
# in turn: 30-40 s before the last node could start). A setup that fails stops the run (exit 3)
# naming its node, and nothing is left behind either way. No system is needed: the nodes are
# `sleep`, the client program a toy that answers every operation ok, naming n1 as the node
# that served it: the run then says that n2 and n3 served no ok operation.
#
#   setup_hooks.sh FAULTLINE
set -uo pipefail
fl=$1
source "$(dirname "$0")/lib.sh"
it_begin setup_hooks
cat >"$work/toy.py" <<'PY'
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    ans = {"id": r["id"], "ok": True}
    if r["op"]["f"] == "leader":
        ans["unknown"] = True
    elif r["op"]["f"] == "read":
        ans["value"] = None
    if r["op"]["f"] != "leader":
        ans["node"] = "n1"  # every operation on n1: the run says n2 and n3 served none
    sys.stdout.write(json.dumps(ans) + "\n")
    sys.stdout.flush()
PY
# scenario NAME SETUP_SHELL_TEXT
scenario() {
    cat >"$work/$1.json" <<JSON
{"name": "$1", "nodes": {"count": 3},
 "implementation": {"impl": "client", "options": {
   "binary": "/bin/sleep", "args": ["600"],
   "hooks": {"setup": ["/bin/sh", "-c", "$2"], "timeout_ms": 20000},
   "client": {"binary": "/usr/bin/python3", "args": ["$work/toy.py"]}}},
 "workload": {"model": "kv", "mix": {"write": 1}, "concurrency": 2, "rate_per_s": 20},
 "nemesis": {"kinds": []},
 "phases": {"warmup_s": 0, "faults_s": 1, "heal_s": 0, "final_reads": false}}
JSON
}
scenario setup-ok "echo start {name} >> $work/order.txt; sleep 2; echo end {name} >> $work/order.txt"
scenario setup-bad "sleep 1; [ {name} != n2 ] || exit 4; sleep 5; echo done {name} >> $work/bad.txt"

uptime
"$fl" run "$work/setup-ok.json" --seed 1 --no-capture --out "$work/ok" -q >"$work/ok.log" 2>&1
code=$?
echo "== setup-ok: exit $code; order: $(tr '\n' ' ' <"$work/order.txt" 2>/dev/null)"
[[ $code -eq 0 ]] || fail "setup-ok: exit $code, expected 0 (valid): $(tail -3 "$work/ok.log")"
[[ $(head -3 "$work/order.txt" 2>/dev/null | grep -c '^start') -eq 3 ]] ||
    fail "setup-ok: a setup ended before every node's setup had started (in turn, not at once)"
[[ $(grep -c '^end' "$work/order.txt" 2>/dev/null) -eq 3 ]] || fail "setup-ok: not every setup ended"
grep -Eq "^ok operations per node \(as the client program named them\): n1 [1-9][0-9]*, n2 0, n3 0; none on n2, n3: this run tested the others only$" "$work/ok.log" ||
    fail "setup-ok: no line naming the nodes that served nothing: $(grep -m1 'per node' "$work/ok.log")"
grep -q '"type":"ok".*"node":"n1"' "$work/ok/history.jsonl" || fail "setup-ok: no ok operation with node n1 in the history"
for n in 1 2 3; do
    grep -q "faultline: hook setup: exit 0" "$work/ok/nodes/n$n.log" ||
        fail "setup-ok: n$n's log does not say its setup exited 0"
done

"$fl" run "$work/setup-bad.json" --seed 1 --no-capture --out "$work/bad" -q >"$work/bad.log" 2>&1
code=$?
echo "== setup-bad: exit $code: $(grep -m1 'hook setup failed' "$work/bad.log")"
[[ $code -eq 3 ]] || fail "setup-bad: exit $code, expected 3"
grep -q "node n2: hook setup failed (exit 4" "$work/bad.log" || fail "setup-bad: n2 not named: $(tail -3 "$work/bad.log")"
[[ ! -s $work/bad.txt ]] || fail "setup-bad: the other nodes' setups were waited for after n2 failed"
grep -q "hook setup: stopped (another node's setup failed)" "$work/bad/nodes/n1.log" ||
    fail "setup-bad: n1's log does not say its setup was stopped"

for r in ok bad; do
    run=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results in.*/\1/p' "$work/$r.log" | head -1)
    [[ -n $run ]] || { fail "$r: no run id in its output"; continue; }
    ip netns list | grep -q "fl-$run-" && fail "$r: namespaces of run $run left behind"
    pgrep -f "fl-$run" >/dev/null && fail "$r: processes of run $run left behind"
    ls -d /tmp/fl-"$run"* >/dev/null 2>&1 && fail "$r: run folder /tmp/fl-$run* left behind"
done
pgrep -f "$work/toy.py" >/dev/null && fail "client programs left behind"
exit $failed
