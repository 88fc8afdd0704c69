#!/usr/bin/env bash
# demo.sh - installs what is missing, builds, runs the default scenario (3 nodes,
# kv, partitions and kills, 30 s of faults) in network namespaces, then prints
# the verdict and where the report is.
#
#   scripts/demo.sh              the default scenario
#   scripts/demo.sh SCENARIO     another scenario file (e.g. scenarios/bug-stale-read.json)
#   FL_DEMO_SECONDS=10 scripts/demo.sh   a shorter fault phase
#
# Needs root (network namespaces). Everything the run makes is removed at the
# end, also on Ctrl-C; `faultline clean` removes what a killed run left.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [[ $(id -u) -ne 0 ]]; then
    echo "demo.sh: needs root for network namespaces; run it with sudo" >&2
    exit 3
fi
source scripts/deps.sh
fl_install_deps

build=$root/build/release
echo "== building (Release) in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target faultline faultline-node >/dev/null
fl=$build/harness/faultline

args=()
[[ $# -gt 0 ]] && args+=("$1")
[[ -n ${FL_DEMO_SECONDS:-} ]] && args+=(--time-limit "$FL_DEMO_SECONDS")
echo "== faultline run ${args[*]:-(default scenario)}"
set +e
"$fl" run "${args[@]}"
code=$?
set -e
echo
case $code in
0) verdict="valid: the history is linearizable" ;;
1) verdict="INVALID: the history is not linearizable (the report shows the counterexample)" ;;
2) verdict="unknown: the checker ran out of budget" ;;
*) verdict="error: the run could not be carried out (see the messages above)" ;;
esac
echo "== verdict: $verdict (exit $code)"
if [[ -e $root/results/latest/report.html ]]; then
    echo "== report:  $root/results/latest/report.html"
    echo "== results: $root/results/latest/ (history.jsonl, results.json, capture.pcap, nodes/*.log)"
fi
exit $code
