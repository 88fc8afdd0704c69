#!/usr/bin/env bash
# adapter_smoke.sh - a ready adapter (adapters/NAME) end to end without faults: its
# smoke.json run by `faultline run` from the source tree (templates and the client
# program are named relative to it), 5 s of operations through the system's own
# client library.
#
#   adapter_smoke.sh FAULTLINE SOURCE_DIR NAME
#
# Skips (77) only when one of the Debian packages of adapters/NAME/packages is not
# installed (scripts/test.sh installs them: scripts/deps.sh). Asserts: the verdict is valid, the history has ok
# writes (or adds, cas) and ok reads, and nothing is left behind.
set -uo pipefail
fl=$1 src=$2 name=$3
if [[ $(id -u) -ne 0 ]]; then
    echo "adapter_smoke: needs root (network namespaces)"
    exit 77
fi
[[ -f $src/adapters/$name/packages ]] || { echo "adapter_smoke: no $src/adapters/$name/packages"; exit 1; }
for p in $(cat "$src/adapters/$name/packages"); do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        echo "adapter_smoke: $name: package $p is not installed (scripts/deps.sh installs it); skipped"
        exit 77
    fi
done
work=$(mktemp -d /tmp/fl-it-adapter.XXXXXX)
cleanup() {
    "$fl" clean >/dev/null 2>&1 || true
    [[ -n ${FL_KEEP:-} ]] || rm -rf "$work"
}
trap cleanup EXIT
failed=0
fail() {
    echo "FAILED: $name: $*"
    failed=1
}

cd "$src" || exit 1
sc=adapters/$name/smoke.json
"$fl" run "$sc" --seed 1 --no-capture --out "$work/run" -q >"$work/run.log" 2>&1
code=$?
echo "== $name: exit $code: $(grep -Eo ': (valid|invalid|unknown)' "$work/run.log" | tail -1)"
h=$work/run/history.jsonl
[[ $code -eq 0 ]] || fail "expected valid (exit 0), got exit $code"
# Transactions (list-append, rw-register) count as writes with an append/w
# micro-op, as reads with a read filled in.
okw=$(grep -cE '"type":"ok","f":"(write|add|cas)"|"type":"ok","f":"txn".*\["(append|w)",' "$h" 2>/dev/null)
okr=$(grep -cE '"type":"ok","f":"read"|"type":"ok","f":"txn".*\["r","[^"]*",[^n]' "$h" 2>/dev/null)
echo "   ok writes/adds/cas: ${okw:-0}, ok reads: ${okr:-0}"
((${okw:-0} >= 50)) || fail "fewer than 50 ok writes (${okw:-0}) in 5 s"
((${okr:-0} >= 1)) || fail "no ok read"
run=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results in.*/\1/p' "$work/run.log" | head -1)
if [[ -n $run ]] && ip netns list | grep -q "fl-$run-"; then
    fail "namespaces of run $run left behind"
fi
[[ -n $run ]] && pgrep -f "fl-$run" >/dev/null && fail "processes of run $run left behind"
if [[ $failed -ne 0 ]]; then
    tail -20 "$work/run.log" | sed 's/^/   | /'
    for f in "$work"/run/clients/*.log "$work"/run/nodes/n1.log; do
        [[ -s $f ]] && { echo "   -- $f"; tail -5 "$f" | sed 's/^/   | /'; }
    done
fi
exit $failed
