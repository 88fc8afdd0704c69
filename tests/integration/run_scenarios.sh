#!/usr/bin/env bash
# run_scenarios.sh - `faultline run` on real 3-node clusters in namespaces, one
# scenario per fault family; each must be valid and leave nothing behind.
#
#   run_scenarios.sh FAULTLINE FAULTLINE_NODE SOURCE_DIR SECONDS SCENARIO...
#
# Each run uses a fixed seed (so a failure replays with `faultline replay`),
# writes into a temporary results folder, and after it the script checks that
# no namespace, process or temporary directory of that run is left.
set -uo pipefail
fl=$1 node=$2 src=$3 secs=$4
shift 4
work=$(mktemp -d /tmp/fl-it-runs.XXXXXX)
cleanup() {
    "$fl" clean >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
if [[ $(id -u) -ne 0 ]]; then
    echo "run_scenarios: needs root (network namespaces)"
    exit 77
fi
failed=0
seed=4242
for sc in "$@"; do
    out=$work/$sc
    log=$work/$sc.log
    "$fl" run "$src/scenarios/$sc.json" --seed "$seed" --time-limit "$secs" --warmup 2 --heal 4 --nodes 3 --out "$out" \
        --node-bin "$node" -q >"$log" 2>&1
    code=$?
    run=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results in.*/\1/p' "$log" | head -1)
    verdict=$(grep -E "^[a-z0-9-]+: (valid|invalid|unknown)" "$log" | tail -1)
    echo "== $sc (seed $seed, run ${run:-?}): exit $code: $verdict"
    if [[ $code -ne 0 ]]; then
        echo "   FAILED: expected valid (exit 0)"
        tail -30 "$log" | sed 's/^/   | /'
        # The counterexample, and the run kept for a post-mortem.
        "$fl" check "$out" 2>&1 | head -60 | sed 's/^/   | /'
        keep=${FL_KEEP_FAILED:-$(pwd)/failed-runs}
        mkdir -p "$keep" && cp -r "$out" "$keep/" && echo "   kept in $keep/$sc"
        failed=1
    fi
    for f in scenario.json history.jsonl nemesis.jsonl results.json report.html capture.pcap \
             nodes/n1.log; do
        if [[ ! -s $out/$f ]]; then
            echo "   FAILED: $out/$f missing or empty"
            failed=1
        fi
    done
    if ! grep -q '"process":"nemesis"' "$out/history.jsonl" 2>/dev/null; then
        echo "   FAILED: no nemesis event in the history (no fault was applied)"
        failed=1
    fi
    if [[ -n $run ]]; then
        if ip netns list | grep -q "fl-$run-"; then
            echo "   FAILED: namespaces of run $run left behind: $(ip netns list | grep "fl-$run-" | tr '\n' ' ')"
            failed=1
        fi
        # The run's temp dir is /tmp/fl-RUN-XXXXXX (mkdtemp).
        if compgen -G "/tmp/fl-$run-*" >/dev/null || [[ -e /tmp/fl-$run ]]; then
            echo "   FAILED: /tmp/fl-$run-* left behind"
            failed=1
        fi
        if pgrep -f -- "--data /tmp/fl-$run-" >/dev/null || pgrep -f -- "--data /tmp/fl-$run/" >/dev/null; then
            echo "   FAILED: node processes of run $run still running"
            failed=1
        fi
        if [[ -e /run/faultline/$run.json ]]; then
            echo "   FAILED: registry /run/faultline/$run.json left behind"
            failed=1
        fi
    else
        echo "   FAILED: no run id in the output"
        failed=1
    fi
    seed=$((seed + 1))
done
exit $failed
