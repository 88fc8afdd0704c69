#!/usr/bin/env bash
# demo.sh - installs what is missing, builds, and shows the checker at work.
#
# `faultline run` (clusters in namespaces under a nemesis) is not built yet;
# until it is, the demo checks bundled histories: a Jepsen/Knossos history
# from RethinkDB that is not linearizable, one of our own synthetic JSONL
# histories (valid by construction), and the same history with one read
# corrupted. It prints each verdict and, for invalid ones, the counterexample.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/deps.sh
fl_install_deps

build=$root/build/release
echo "== building (Release) in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target faultline bench_gen_history >/dev/null
fl=$build/harness/faultline
out=$root/results/demo
mkdir -p "$out"

echo
echo "== 1. A Knossos corpus history (RethinkDB, 129 operations): expected invalid"
"$fl" check tests/data/knossos/cas-register/bad/rethink-fail-smaller.edn || true

echo
echo "== 2. A synthetic 20,000-operation history, 16 clients, 8 keys, 1% crashed: valid by construction"
"$build/bench/bench_gen_history" "$out/history.jsonl" --ops 20000 --procs 16 --keys 8 --crash 0.01 --seed 1
"$fl" check "$out/history.jsonl" || true

echo
echo "== 3. The same kind of history with one read corrupted (it returns a value it could not have seen): expected invalid"
"$build/bench/bench_gen_history" "$out/history-mutated.jsonl" --ops 2000 --procs 8 --crash 0.01 --seed 2 --mutate
set +e
"$fl" check "$out/history-mutated.jsonl"
verdict=$?
set -e
"$fl" check --json "$out/history-mutated.jsonl" > "$out/result.json" || true
"$fl" check -q --export-edn "$out/history-mutated.edn" "$out/history-mutated.jsonl" >/dev/null || true

echo
echo "== verdict of the last check: exit $verdict (0 valid, 1 invalid, 2 unknown, 3 error)"
echo "== results: $out/result.json (JSON verdict and counterexample), $out/history-mutated.edn (for Knossos)"
echo "== faultline run (real clusters under a nemesis) is not built yet: see README.md"
