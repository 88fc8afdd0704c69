#!/usr/bin/env bash
# run_killed.sh - a harness stopped at any moment leaves nothing `faultline clean --run ID`
# does not remove. Runs of the default scenario are stopped at varied moments, the very
# early ones included: as soon as the run's temp dir or its cluster key appears (the window
# where a harness once left /tmp/fl-<run>-XXXXXX holding cluster.key that no record named),
# once its record exists, and after fixed delays; with SIGKILL, and with SIGTERM, SIGHUP and
# SIGINT (which, met during set-up, stop the run once it can stop cleanly). Then each run of
# a killed harness (found by its dir in the private TMPDIR, or by its record's owner pid) is
# cleaned with `faultline clean --run ID`, and nothing of those runs may remain: no
# $TMPDIR/fl-* dir, no record, no namespace. The temp dirs are in a private TMPDIR, so other
# tests' runs do not interfere, and only this script's runs are cleaned.
#
#   run_killed.sh FAULTLINE FAULTLINE_NODE
set -uo pipefail
fl=$1 node=$2
source "$(dirname "$0")/lib.sh"
it_begin run_killed
it_end() { # only this script's runs: never a plain `faultline clean` (see CMakeLists.txt)
    for id in $(own_runs); do "$fl" clean --run "$id" >/dev/null 2>&1; done
    [[ -n ${FL_KEEP:-} ]] || rm -rf "$work"
}
export TMPDIR=$work/tmp
mkdir -p "$TMPDIR"
pids=()

# Run ids of this script's runs: temp dirs in TMPDIR, and records owned by a harness it started
# (jansson writes {"run":"ID","owner":{"pid":N,... in that order).
own_runs() {
    {
        for d in "$TMPDIR"/fl-*; do
            [[ -e $d ]] && basename "$d" | sed -n 's/^fl-\([0-9a-f]\{6\}\)-.*/\1/p'
        done
        for pid in "${pids[@]}"; do
            grep -ls "\"owner\":{\"pid\":$pid," /run/faultline/*.json |
                sed -n 's|.*/\([0-9a-f]\{6\}\)\.json$|\1|p'
        done
    } | sort -u
}

# A record (/run/faultline/*.json) owned by pid $1.
has_record() { grep -lqs "\"owner\":{\"pid\":$1," /run/faultline/*.json; }

# start SIG WHEN: a run, stopped with SIG when WHEN is met: "dir" (a temp dir in TMPDIR),
# "key" (a cluster key there), "record" (a record owned by the harness), or seconds.
n=0
start() {
    local sig=$1 when=$2 log=$work/run-$n.log pid
    "$fl" run --time-limit 20 --warmup 1 --heal 1 --nodes 3 --node-bin "$node" --no-capture -q \
        --out "$work/out-$n" >"$log" 2>&1 &
    pid=$!
    pids+=("$pid")
    case $when in
    dir | key | record)
        for _ in $(seq 1 20000); do
            case $when in
            dir) compgen -G "$TMPDIR/fl-*" >/dev/null && break ;;
            key) compgen -G "$TMPDIR/fl-*/cluster.key" >/dev/null && break ;;
            record) has_record "$pid" && break ;;
            esac
            kill -0 "$pid" 2>/dev/null || break
        done ;;
    *) sleep "$when" ;;
    esac
    [[ $when != record ]] || has_record "$pid" || fail "SIG$sig: never saw harness $pid's record"
    kill -"$sig" "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    local code=$?
    echo "SIG$sig at $when: exit $code, $(compgen -G "$TMPDIR/fl-*" | wc -l) temp dir(s) before clean"
    # Once the temp dir or record exists, the handlers are up: the run stops, not the signal.
    if [[ $sig != KILL && $when =~ ^(dir|key|record)$ && $code -gt 128 ]]; then
        fail "SIG$sig at $when killed the harness (exit $code): $(tail -2 "$log")"
    fi
    n=$((n + 1))
    # One run's dir at a time in TMPDIR: the next run's "dir"/"key" moments must be its own.
    for id in $(own_runs); do "$fl" clean --run "$id" >>"$work/clean.log" 2>&1 || fail "clean --run $id: $(tail -1 "$work/clean.log")"; done
}

for when in dir key record dir key record 0 0.05 0.1 0.2 0.4 0.8; do start KILL "$when"; done
start TERM dir; start TERM record; start HUP key; start HUP 0.3; start INT dir; start INT record

# Nothing of those runs left.
left=$(compgen -G "$TMPDIR/*")
[[ -z $left ]] && echo "ok: no temp dir left" || fail "temp dirs left: $left"
for pid in "${pids[@]}"; do
    has_record "$pid" && fail "a record of harness $pid is left: $(grep -ls "\"owner\":{\"pid\":$pid," /run/faultline/*.json)"
done
for log in "$work"/run-*.log; do
    id=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results in.*/\1/p' "$log" | head -1)
    [[ -n $id ]] || continue
    ip netns list 2>/dev/null | grep -q -- "fl-$id-" && fail "run $id: namespaces left: $(ip netns list 2>/dev/null | grep -- "fl-$id-")"
    compgen -G "/tmp/fl-$id-*" >/dev/null && fail "run $id: a temp dir outside TMPDIR"
    grep -q "Assertion\|AddressSanitizer\|runtime error" "$log" && fail "run $id: $(grep -m1 "Assertion\|Sanitizer\|runtime error" "$log")"
done
# A stop met during set-up ends the run cleanly (exit 3, "stopping the run"), never by the signal.
grep -l "stopping the run" "$work"/run-*.log >/dev/null || fail "no run said it was stopping"

# clean --run refuses a live run's harness, touching nothing.
"$fl" run --time-limit 30 --warmup 1 --heal 1 --nodes 3 --node-bin "$node" --no-capture -q \
    --out "$work/live" >"$work/live.log" 2>&1 &
pid=$!
pids+=("$pid")
for _ in $(seq 1 300); do
    grep -q "warm-up for" "$work/live.log" && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
id=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results in.*/\1/p' "$work/live.log" | head -1)
if [[ -n $id ]]; then
    "$fl" clean --run "$id" >"$work/refused.out" 2>&1
    code=$?
    [[ $code -eq 3 ]] || fail "clean --run of a live run: exit $code"
    grep -q "still running" "$work/refused.out" || fail "clean --run of a live run: $(cat "$work/refused.out")"
    compgen -G "$TMPDIR/fl-$id-*" >/dev/null || fail "clean --run removed a live run's temp dir"
    ip netns list 2>/dev/null | grep -q -- "fl-$id-hub" || fail "clean --run removed a live run's namespace"
    echo "ok: clean --run $id refused while its harness runs"
else
    fail "the live run did not start: $(tail -3 "$work/live.log")"
fi
kill -INT $pid
wait $pid
compgen -G "$TMPDIR/fl-*" >/dev/null && fail "SIGINT left a temp dir: $(compgen -G "$TMPDIR/fl-*")"
"$fl" clean --run "${id:-000000}" | grep -q "nothing of run" || fail "clean --run after SIGINT found something"
"$fl" clean --run 12345G >/dev/null 2>&1 && fail "clean --run accepted a malformed id"
exit $failed
