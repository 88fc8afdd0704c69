#!/bin/bash
# report_render.sh - renders the report.html of a bundled invalid history in headless
# Chromium and checks the DOM has the timeline, the counterexample marker, the minimal
# counterexample (faultline report --minimize) drawn, that the page's script ran and
# that the console shows no message (no script error). Usage: report_render.sh FAULTLINE
# SOURCE_DIR
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
timeout 120 "$CHROMIUM" "${FLAGS[@]}" --dump-dom "file://$WORK/run/report.html" \
    >"$WORK/dom.html" 2>"$WORK/chromium.err"
rc=$?
if [ $rc -ne 0 ]; then
    tail -20 "$WORK/chromium.err"
    fail "chromium --dump-dom exited $rc"
fi
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
# Console messages (a script error, a blocked load) are logged as ":CONSOLE".
if grep -q ':CONSOLE' "$WORK/chromium.err"; then
    grep ':CONSOLE' "$WORK/chromium.err" | head -5
    fail "the page logged to the console"
fi

timeout 120 "$CHROMIUM" "${FLAGS[@]}" --window-size=1300,1600 \
    --screenshot="$WORK/report.png" "file://$WORK/run/report.html" >/dev/null 2>>"$WORK/chromium.err"
[ -s "$WORK/report.png" ] || fail "chromium wrote no screenshot"
echo "ok: report.html rendered ($(wc -c <"$WORK/run/report.html") bytes, DOM $(wc -c <"$WORK/dom.html") bytes)"
