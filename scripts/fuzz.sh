#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets (tests/fuzz) with clang in build-fuzz/ and runs each
# for a while on a scratch copy of its seed corpus. Exits non-zero if any target crashed.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (or FUZZ_SECONDS=N; default 30 per target)
#   FUZZ_JOBS=N: targets run N at a time (default: the number of CPUs)
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
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_jsonl fuzz_edn fuzz_jepsenlog fuzz_frame fuzz_capture fuzz_raft_peer fuzz_peer_body fuzz_client_request fuzz_txn
                                      fuzz_template fuzz_clientline fuzz_hostfile)
build=$root/build-fuzz

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang not found" >&2
    exit 2
fi

# ccache when installed (as scripts/test.sh; FL_CCACHE=0 builds without it).
launcher=()
if [[ ${FL_CCACHE:-1} != 0 ]] && command -v ccache >/dev/null; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFL_FUZZ=ON "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

# One target: its own corpus copy, log and artifacts; prints its summary when done.
fuzz_one() {
    local t=$1 name=${1#fuzz_}
    local seeds=$root/tests/fuzz/corpus/$name work=$build/fuzz-corpus/$1
    local artifacts=$root/tests/fuzz/artifacts/$1 log=$build/$1.log
    mkdir -p "$work" "$artifacts"
    [ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
    local inputs
    inputs=$(ls "$work" | wc -l)
    if "$build/tests/fuzz/$t" "$work" -max_total_time="$seconds" -max_len=4096 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1; then
        # One write per target, so that targets running side by side do not interleave.
        printf '== %s: %ss on %s inputs (log: %s)\n%s\n' "$t" "$seconds" "$inputs" "$log" \
            "$(grep -E "^stat::number_of_executed_units|^Done" "$log" || true)"
    else
        printf '!! %s crashed; input and trace:\n%s\n%s\n' "$t" \
            "$(grep -E "^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)" "$log" || true)" \
            "$(tail -n 40 "$log")" >&2
        return 1
    fi
}

# The targets run FUZZ_JOBS at a time (default: the number of CPUs): each libFuzzer run is
# one process on one core for its SECONDS, so running them side by side keeps every
# target's time and cuts the wall time.
jobs=${FUZZ_JOBS:-$(nproc)}
status=0
running=0
for t in "${targets[@]}"; do
    if ((running >= jobs)); then
        wait -n || status=1
        running=$((running - 1))
    fi
    fuzz_one "$t" &
    running=$((running + 1))
done
while ((running > 0)); do
    wait -n || status=1
    running=$((running - 1))
done
exit $status
