#!/usr/bin/env bash
# disk_abort.sh - aborting a run that has the disk-fault filesystem mounted leaves no mount:
# SIGINT (the harness heals, stops the nodes, unmounts), and SIGKILL of the harness
# followed by `faultline clean` (the daemons die with it and unmount; clean detaches the rest).
#
#   disk_abort.sh FAULTLINE FAULTLINE_NODE SOURCE_DIR
set -uo pipefail
fl=$1 node=$2 src=$3
work=$(mktemp -d /tmp/fl-it-disk.XXXXXX)
pid=""
cleanup() {
    [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
    "$fl" clean >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
if [[ $(id -u) -ne 0 ]]; then
    echo "disk_abort: needs root (namespaces, FUSE)"
    exit 77
fi
[[ -e /dev/fuse ]] || { echo "disk_abort: no /dev/fuse"; exit 77; }

# Mounts of one run: fuse.faultline under its temp dir, /tmp/fl-RUN-XXXXXX/ (mkdtemp).
mounts_of() {
    awk -v a="/tmp/fl-$1-" -v b="/tmp/fl-$1/" \
        '$3 == "fuse.faultline" && (index($2, a) == 1 || index($2, b) == 1)' /proc/mounts | wc -l
}

# Starts a run in the background; sets pid and run (its id) once its 3 mounts are up.
start_run() {
    local log=$work/$1.log
    "$fl" run "$src/scenarios/disk-lose-unsynced.json" --seed 7 --time-limit 60 --warmup 2 --heal 2 \
        --out "$work/$1" --node-bin "$node" --no-capture -q >"$log" 2>&1 &
    pid=$!
    run=""
    for _ in $(seq 300); do
        run=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results.*/\1/p' "$log" | head -1)
        [[ -n $run && $(mounts_of "$run") -eq 3 ]] && return 0
        sleep 0.1
    done
    echo "FAIL: $1: the run did not mount 3 disk filesystems within 30 s"; cat "$log"
    return 1
}

failed=0
# 1. SIGINT: the run stops itself and unmounts.
if start_run sigint; then
    sleep 3
    kill -INT "$pid"
    wait "$pid"
    pid=""
    n=$(mounts_of "$run")
    if ((n != 0)); then echo "FAIL: SIGINT left $n mounts of run $run"; failed=1
    else echo "ok: SIGINT left no mount"; fi
else failed=1; fi

# 2. SIGKILL of the harness, then faultline clean.
if start_run sigkill; then
    sleep 3
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    pid=""
    "$fl" clean >"$work/clean.log" 2>&1
    code=$?
    n=$(mounts_of "$run")
    if ((n != 0 || code != 0)); then
        echo "FAIL: SIGKILL + clean (exit $code) left $n mounts of run $run"; cat "$work/clean.log"; failed=1
    elif compgen -G "/tmp/fl-$run-*" >/dev/null || [[ -e /tmp/fl-$run ]]; then
        echo "FAIL: /tmp/fl-$run-* is still there after clean"; failed=1
    else echo "ok: SIGKILL + clean left no mount and no temp dir"; fi
else failed=1; fi
exit $failed
