#!/usr/bin/env bash
# process_adapter.sh - the `process` implementation end to end: toy_kv (a one-node store that
# speaks workloads/PROCESS_PROTOCOL.md) started by `faultline run` in a namespace from a
# scenario's command template, driven through the JSON-lines protocol, killed and restarted.
#
#   process_adapter.sh FAULTLINE TOY_KV
#
# Asserts: with --data (every write fdatasync'ed before the answer, replayed at start) the run
# is valid; in memory only, the same seed is invalid (kill -9 forgets acknowledged writes);
# both runs recorded kills and ok operations, and nothing is left behind.
set -uo pipefail
fl=$1 toy=$2
if [[ $(id -u) -ne 0 ]]; then
    echo "process_adapter: needs root (network namespaces)"
    exit 77
fi
work=$(mktemp -d /tmp/fl-it-process.XXXXXX)
cleanup() {
    "$fl" clean >/dev/null 2>&1 || true
    [[ -n ${FL_KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
failed=0
fail() {
    echo "FAILED: $*"
    failed=1
}

# scenario NAME ARGS_JSON: a one-node kv cluster of toy_kv under kill-one faults.
scenario() {
    cat >"$work/$1.json" <<JSON
{
  "name": "$1",
  "implementation": {"impl": "process",
                     "options": {"binary": "$toy", "args": $2, "dynamic": true}},
  "nodes": {"count": 1},
  "workload": {"model": "kv", "keys": 3, "concurrency": 4, "rate_per_s": 200, "op_timeout_ms": 1000},
  "nemesis": {"kinds": ["kill-one"], "interval_ms": 2000, "duration_ms": 500, "jitter_ms": 0},
  "phases": {"faults_s": 8}
}
JSON
}
scenario toy-durable '["--listen", "{addr}:{client_port}", "--data", "{data}"]'
scenario toy-memory '["--listen", "{addr}:{client_port}"]'

for sc in toy-durable toy-memory; do
    "$fl" run "$work/$sc.json" --seed 5151 --warmup 2 --heal 2 --no-capture --out "$work/$sc" -q \
        >"$work/$sc.log" 2>&1
    code=$?
    verdict=$(grep -Eo "^$sc: (valid|invalid|unknown)" "$work/$sc.log" | tail -1)
    echo "== $sc: exit $code: $verdict"
    run=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results in.*/\1/p' "$work/$sc.log" | head -1)
    grep -q '"f":"kill-one"' "$work/$sc/history.jsonl" 2>/dev/null || fail "$sc: no kill in the history"
    grep -q '"type":"ok"' "$work/$sc/history.jsonl" 2>/dev/null || fail "$sc: no ok operation"
    if [[ -n $run ]] && ip netns list | grep -q "fl-$run-"; then
        fail "$sc: namespaces of run $run left behind"
    fi
    [[ -n $run ]] && pgrep -f "fl-$run" >/dev/null && fail "$sc: processes of run $run left behind"
    case $sc in
    toy-durable) [[ $verdict == "$sc: valid" ]] || fail "$sc: expected valid" ;;
    toy-memory) [[ $verdict == "$sc: invalid" ]] || fail "$sc: expected invalid (a crash forgets acknowledged writes)" ;;
    esac
    if [[ $failed -ne 0 ]]; then
        tail -20 "$work/$sc.log" | sed 's/^/   | /'
    fi
done
exit $failed
