#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets (tests/fuzz) with clang in build-fuzz/ and runs each
# for a while on a scratch copy of its seed corpus. Exits non-zero if any target crashed.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (or FUZZ_SECONDS=N; default 30 per target)
#
# Crash inputs are kept in tests/fuzz/artifacts/<target>/ (ignored by git);
# replay one with build-fuzz/tests/fuzz/<target> <file>. Inputs the run
# discovered stay in build-fuzz/fuzz-corpus/<target>/ for the next run;
# the seed corpus in tests/fuzz/corpus/ is never modified.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-30}}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_jsonl fuzz_edn fuzz_jepsenlog fuzz_frame fuzz_capture fuzz_raft_peer fuzz_txn
                                      fuzz_template fuzz_clientline fuzz_hostfile)
build=$root/build-fuzz

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang not found" >&2
    exit 2
fi

CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFL_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

status=0
for t in "${targets[@]}"; do
    name=${t#fuzz_}
    seeds=$root/tests/fuzz/corpus/$name
    work=$build/fuzz-corpus/$t
    artifacts=$root/tests/fuzz/artifacts/$t
    mkdir -p "$work" "$artifacts"
    [ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
    log=$build/$t.log
    echo "== $t: ${seconds}s on $(ls "$work" | wc -l) inputs (log: $log)"
    if "$build/tests/fuzz/$t" "$work" -max_total_time="$seconds" -max_len=4096 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1; then
        grep -E "^stat::number_of_executed_units|^Done" "$log" || true
    else
        echo "!! $t crashed; input and trace:" >&2
        grep -E "^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)" "$log" >&2 || true
        tail -n 40 "$log" >&2
        status=1
    fi
done
exit $status
