#!/usr/bin/env bash
# run_lifecycle.sh - `faultline run` leaves nothing behind however it ends, and refuses
# zero counts with one clear line (issue 15):
#   1. --time-limit 0, --nodes 0, --test-count 0: exit 3, one line naming the option and [1, MAX];
#   2. a run refused for its subnet (it overlaps an address of the root namespace: a dummy
#      interface this script adds and removes) leaves no temp dir;
#   3. SIGHUP during the run (an ssh session closing) stops it like SIGINT: no temp dir,
#      namespace or node process of the run is left.
#
#   run_lifecycle.sh FAULTLINE FAULTLINE_NODE
set -uo pipefail
fl=$1 node=$2
work=$(mktemp -d /tmp/fl-it-life.XXXXXX)
dummy=fltest$$
cleanup() {
    ip link del "$dummy" 2>/dev/null || true
    "$fl" clean >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "run_lifecycle: FAILED: $*" >&2
    exit 1
}

# 1. Zero counts.
for opt in --time-limit --nodes --test-count; do
    "$fl" run "$opt" 0 >"$work/out" 2>"$work/err"
    code=$?
    [[ $code -eq 3 ]] || fail "$opt 0: exit $code, expected 3"
    [[ $(wc -l <"$work/err") -eq 1 ]] || fail "$opt 0: expected one line, got: $(cat "$work/err")"
    grep -q -- "$opt: expected an integer in \[1, " "$work/err" || fail "$opt 0: $(cat "$work/err")"
    echo "ok: $opt 0: $(cat "$work/err")"
done

if [[ $(id -u) -ne 0 ]]; then
    echo "run_lifecycle: the rest needs root (network namespaces)"
    exit 77
fi

leftovers() { # run id -> what of it is left, empty when nothing
    local id=$1
    ls -d /tmp/fl-"$id"* 2>/dev/null
    ip netns list 2>/dev/null | grep -- "fl-$id" || true
    pgrep -af "fl-$id" | grep -v pgrep || true
}

# 2. A subnet overlapping a root-namespace address is refused before anything runs.
ip link add "$dummy" type veth peer name "${dummy}p" && ip addr add 203.0.113.1/24 dev "$dummy" ||
    fail "cannot add the dummy interface"
cat >"$work/subnet.json" <<'JSON'
{"name":"lifecycle-subnet","network":{"subnet":"203.0.113.0"},"phases":{"warmup_s":1,"faults_s":2,"heal_s":1}}
JSON
"$fl" run "$work/subnet.json" --node-bin "$node" --out "$work/subnet" -q >"$work/subnet.log" 2>&1
code=$?
ip link del "$dummy"
[[ $code -ne 0 ]] || fail "the overlapping subnet was not refused"
grep -q "overlaps" "$work/subnet.log" || fail "refusal does not say why: $(cat "$work/subnet.log")"
id=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results in.*/\1/p' "$work/subnet.log" | head -1)
if [[ -n $id ]]; then
    left=$(leftovers "$id")
    [[ -z $left ]] || fail "refused run $id left: $left"
fi
echo "ok: subnet refused (run ${id:-before planning}), nothing left"

# 3. SIGHUP mid-run.
"$fl" run --time-limit 30 --warmup 1 --heal 1 --nodes 3 --node-bin "$node" --out "$work/hup" \
    >"$work/hup.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    grep -q "warm-up for" "$work/hup.log" && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
grep -q "warm-up for" "$work/hup.log" || fail "the run never started: $(tail -5 "$work/hup.log")"
id=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results in.*/\1/p' "$work/hup.log" | head -1)
[[ -n $id ]] || fail "no run id in: $(head -5 "$work/hup.log")"
ls -d /tmp/fl-"$id"-* >/dev/null 2>&1 || fail "run $id has no temp dir while running"
sleep 1
kill -HUP $pid
wait $pid
code=$?
[[ $code -ne 129 ]] || fail "SIGHUP killed the harness (exit 129) instead of stopping the run"
grep -q "hung up: stopping the run" "$work/hup.log" || fail "no stop message: $(tail -5 "$work/hup.log")"
left=$(leftovers "$id")
[[ -z $left ]] || fail "after SIGHUP run $id left: $left"
echo "ok: SIGHUP stopped run $id (exit $code), nothing left"
