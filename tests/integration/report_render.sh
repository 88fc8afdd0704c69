#!/bin/bash
# report_render.sh - renders the report.html of a bundled invalid history in headless
# Chromium and checks the DOM has the timeline, the counterexample marker, the minimal
# counterexample (faultline report --minimize) drawn, that the page's script ran and
# that the console shows no message (no script error); then the same for a
# transactional run's page (fault timeline with the anomaly's transactions marked).
# Usage: report_render.sh FAULTLINE SOURCE_DIR
# Exit 77 (skipped) only when chromium is not installed (scripts/deps.sh installs it).
set -u
FAULTLINE=$1
SRC=$2
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
    echo "SKIP: $CHROMIUM is not installed (scripts/deps.sh installs chromium); report not rendered"
    exit 77
fi
WORK=$(mktemp -d /tmp/fl-report-render.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}

# A results folder: the bundled invalid history and the scenario it stands for.
mkdir -p "$WORK/run" "$WORK/profile"
cp "$SRC/tests/data/report/invalid-kv.jsonl" "$WORK/run/history.jsonl"
cp "$SRC/scenarios/bug-stale-read.json" "$WORK/run/scenario.json"
# --minimize within 5 s: this 251-operation key does not shrink to 1-minimal in that
# time here, so the page must say what the bound kept.
"$FAULTLINE" report "$WORK/run" --minimize --timeout 5 >"$WORK/report.out" 2>&1
rc=$?
cat "$WORK/report.out"
[ $rc -eq 1 ] || fail "faultline report exited $rc, expected 1 (invalid)"
[ -s "$WORK/run/report.html" ] || fail "no report.html"
grep -q '"verdict": "invalid"' "$WORK/run/results.json" || fail "results.json: verdict is not invalid"
grep -q '"counterexample"' "$WORK/run/results.json" || fail "results.json: no counterexample"
grep -q '"minimized"' "$WORK/run/results.json" || fail "results.json: no minimized counterexample"
if grep -Eq 'https?://|src=' "$WORK/run/report.html"; then
    fail "report.html refers to something outside itself"
fi

# Render it: no network, a throwaway profile.
FLAGS=(--headless --no-sandbox --disable-gpu --disable-background-networking
       --disable-component-update --disable-sync --no-first-run
       --user-data-dir="$WORK/profile" --enable-logging=stderr --v=0)
# render PAGE DOM ERR: the DOM after the page's script ran; fails on a console message
# (a script error, a blocked load is logged as ":CONSOLE").
render() {
    timeout 120 "$CHROMIUM" "${FLAGS[@]}" --dump-dom "file://$1" >"$2" 2>"$3"
    local rc=$?
    if [ $rc -ne 0 ]; then
        tail -20 "$3"
        fail "chromium --dump-dom $1 exited $rc"
    fi
    if grep -q ':CONSOLE' "$3"; then
        grep ':CONSOLE' "$3" | head -5
        fail "$1 logged to the console"
    fi
}
render "$WORK/run/report.html" "$WORK/dom.html" "$WORK/chromium.err"
grep -q '<svg id="timeline"' "$WORK/dom.html" || fail "rendered DOM has no timeline SVG"
grep -q 'id="cex-marker"' "$WORK/dom.html" || fail "rendered DOM has no counterexample marker"
grep -q 'id="cex-op"' "$WORK/dom.html" || fail "rendered DOM does not outline the counterexample operation"
grep -q 'id="counterexample"' "$WORK/dom.html" || fail "rendered DOM has no counterexample explanation"
grep -q 'class="fault ' "$WORK/dom.html" || fail "rendered DOM has no fault interval"
grep -q 'data-ready="1"' "$WORK/dom.html" || fail "the page's script did not run (data-ready missing)"
grep -q '<svg id="minimized-timeline"' "$WORK/dom.html" || fail "rendered DOM does not draw the minimal counterexample"
grep -q 'class="op [a-z]* min-op' "$WORK/dom.html" || fail "rendered DOM has no kept operation"
grep -q 'id="minimized-ops"' "$WORK/dom.html" || fail "rendered DOM does not list the kept operations"
grep -Eq 'leaving out any one of these|id="minimized-bound"' "$WORK/dom.html" ||
    fail "the page does not say whether the minimal counterexample is complete"

timeout 120 "$CHROMIUM" "${FLAGS[@]}" --window-size=1300,1600 \
    --screenshot="$WORK/report.png" "file://$WORK/run/report.html" >/dev/null 2>>"$WORK/chromium.err"
[ -s "$WORK/report.png" ] || fail "chromium wrote no screenshot"
echo "ok: report.html rendered ($(wc -c <"$WORK/run/report.html") bytes, DOM $(wc -c <"$WORK/dom.html") bytes)"

# A transactional run (tests/data/report/make_txn_history.py: list-append, a partition and
# a kill, a read skew at 2.4-2.52 s): the same timeline, faults shaded, the anomaly's
# transactions marked.
mkdir -p "$WORK/txn"
cp "$SRC/tests/data/report/txn-faults.jsonl" "$WORK/txn/history.jsonl"
cp "$SRC/scenarios/bug-txn-early-reads.json" "$WORK/txn/scenario.json"
"$FAULTLINE" report "$WORK/txn" >"$WORK/txn.out" 2>&1
rc=$?
cat "$WORK/txn.out"
[ $rc -eq 1 ] || fail "faultline report (txn) exited $rc, expected 1 (invalid)"
grep -q '"verdict": "invalid"' "$WORK/txn/results.json" || fail "txn results.json: verdict is not invalid"
if grep -Eq 'https?://|src=' "$WORK/txn/report.html"; then
    fail "txn report.html refers to something outside itself"
fi
render "$WORK/txn/report.html" "$WORK/txn-dom.html" "$WORK/chromium-txn.err"
grep -q '<svg id="timeline"' "$WORK/txn-dom.html" || fail "txn DOM has no timeline SVG"
grep -q '<title>halves 1.000s-2.002s' "$WORK/txn-dom.html" || fail "txn DOM does not shade the partition"
grep -q '<title>kill-one 3.000s-3.402s' "$WORK/txn-dom.html" || fail "txn DOM does not shade the kill"
grep -q '<g class="anomaly-marker"><title>G-single T' "$WORK/txn-dom.html" ||
    fail "txn DOM does not mark the G-single's transactions"
grep -q 'class="op ok anomaly-op"' "$WORK/txn-dom.html" || fail "txn DOM does not outline them"
grep -q '<h2>G-single</h2>' "$WORK/txn-dom.html" || fail "txn DOM does not explain the anomaly"
grep -q 'data-ready="1"' "$WORK/txn-dom.html" || fail "the txn page's script did not run"
echo "ok: txn report.html rendered ($(wc -c <"$WORK/txn/report.html") bytes, DOM $(wc -c <"$WORK/txn-dom.html") bytes)"
