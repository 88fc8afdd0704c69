#!/usr/bin/env bash
# process_leader.sh - leader tracking through the process protocol (issue 11): the harness
# asks every node who leads and takes the answer with the highest term; a system that
# cannot say is never guessed at.
#
#   process_leader.sh FAULTLINE PY_STORE
#
# Three py_store.py nodes (independent stores: the verdict is not asserted here):
#   stale:   n1 and n2 still name n1 in term 1, n3 names itself in term 4 -> every
#            kill-leader/pause-leader hits n3 (trusting one node, or a majority, hits n1);
#   unknown: every node answers {"unknown": true} -> the run starts at once and each
#            leader-targeted fault is recorded with "leader unknown", nothing killed.
set -uo pipefail
fl=$1 store=$2
source "$(dirname "$0")/lib.sh"
it_begin process_leader

# scenario NAME LEADERS_JSON: 3 py_store nodes answering the leader question from the list.
scenario() {
    python3 - "$work/$1.json" "$1" "$store" "$2" <<'PY'
import json, sys
path, name, store, leaders = sys.argv[1:]
# "{{" is a literal "{" in an argument template (PROCESS_PROTOCOL.md).
tmpl = leaders.replace("{", "{{")
json.dump({"name": name,
           "implementation": {"impl": "process", "options": {
               "binary": "python3",
               "args": [store, "--listen", "{addr}:{client_port}", "--id", "{id}",
                        "--leaders", tmpl]}},
           "nodes": {"count": 3},
           "workload": {"model": "kv", "keys": 2, "concurrency": 2, "rate_per_s": 20},
           "nemesis": {"kinds": ["kill-leader", "pause-leader"], "interval_ms": 1500,
                       "duration_ms": 400, "jitter_ms": 0},
           "phases": {"faults_s": 7}}, open(path, "w"))
PY
}
scenario stale '[{"leader":"n1","term":1},{"leader":"n1","term":1},{"leader":"n3","term":4}]'
scenario unknown '[{"unknown":true},{"unknown":true},{"unknown":true}]'

for sc in stale unknown; do
    "$fl" run "$work/$sc.json" --seed 11 --warmup 1 --heal 1 --no-capture --out "$work/$sc" -q \
        >"$work/$sc.log" 2>&1
    code=$?
    echo "== $sc: exit $code"
    h=$work/$sc/history.jsonl
    [[ -s $h ]] || { fail "$sc: no history"; tail -5 "$work/$sc.log"; continue; }
    # The nemesis events of leader-targeted faults (start phase only, not heals).
    python3 - "$h" "$sc" <<'PY' || failed=1
import json, sys
path, sc = sys.argv[1:]
starts, infos = [], []
for line in open(path):
    e = json.loads(line)
    if e.get("process") != "nemesis" or e.get("f") not in ("kill-leader", "pause-leader"):
        continue
    (starts if e["type"] == "invoke" else infos).append(e)
ok = True
def bad(msg):
    global ok
    print("FAILED: %s: %s" % (sc, msg))
    ok = False
if len(infos) < 2:
    bad("expected at least 2 leader-targeted faults, saw %d" % len(infos))
for e in infos:
    nodes = e.get("value", {}).get("nodes")
    e["error"] = e.get("error") or e.get("value", {}).get("error")
    if sc == "stale":
        if e.get("error") or nodes != ["n3"]:
            bad("fault aimed at %s (error %s), expected n3 (term 4)" % (nodes, e.get("error")))
    elif "leader unknown" not in (e.get("error") or ""):
        bad("fault recorded without 'leader unknown': %s" % json.dumps(e))
print("%s: %d leader-targeted faults checked" % (sc, len(infos)))
sys.exit(0 if ok else 1)
PY
    if [[ $sc == unknown ]] && grep -q "nemesis: kill" "$work/$sc.log"; then
        fail "unknown: a node was killed although no leader was known"
    fi
    [[ $failed -ne 0 ]] && tail -12 "$work/$sc.log" | sed 's/^/   | /'
done
exit $failed
