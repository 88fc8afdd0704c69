#!/usr/bin/env bash
# compare_smoke.sh - `faultline compare` end to end: the reference node and its
# stale-read variant on the same scenario and seed, one short run each.
#
#   compare_smoke.sh FAULTLINE FAULTLINE_NODE SOURCE_DIR
#
# Asserts: exit 0 (the reference run is valid; a planted bug never changes the
# exit code), compare.json and compare.html written, the HTML loads nothing,
# both runs' folders and reports exist, and the table says whether the bug was
# caught. The bug run's verdict is not asserted: 8 s may not trigger it.
set -uo pipefail
fl=$1 node=$2 src=$3
if [[ $(id -u) -ne 0 ]]; then
    echo "compare_smoke: needs root (network namespaces)"
    exit 77
fi
work=$(mktemp -d /tmp/fl-it-compare.XXXXXX)
cleanup() {
    "$fl" clean >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
seed=4343
out=$work/cmp
"$fl" compare "$src/scenarios/bug-stale-read.json" --impl reference --impl reference:bug=stale-read \
    --test-count 1 --time-limit 8 --warmup 2 --heal 3 --seed "$seed" --out "$out" \
    --node-bin "$node" --no-capture >"$work/stdout" 2>"$work/stderr"
code=$?
failed=0
fail() {
    echo "FAILED: $*"
    failed=1
}
cat "$work/stdout"
[[ $code -eq 0 ]] || fail "exit $code, expected 0 (reference valid)"
for f in compare.json compare.html reference/$seed/results.json reference/$seed/report.html \
         "reference:bug=stale-read/$seed/results.json" "reference:bug=stale-read/$seed/report.html"; do
    [[ -s $out/$f ]] || fail "$out/$f missing or empty"
done
grep -q '"exit_code": 0' "$out/compare.json" || fail "compare.json: exit_code is not 0"
grep -q '"spec": "reference:bug=stale-read"' "$out/compare.json" || fail "compare.json: no bug variant"
grep -Eq '"letters": "V"' "$out/compare.json" || fail "compare.json: no valid run"
grep -Eq '^reference +1 1/0/0/0' "$work/stdout" || fail "table: reference is not 1 valid run"
grep -Eq '^planted bug stale-read (caught|NOT caught)' "$work/stdout" || fail "table: no line about the bug"
if grep -Eiq 'https?:|src=|<script|//' "$out/compare.html"; then
    fail "compare.html refers to something outside itself"
fi
grep -q "href=\"./reference/$seed/report.html\"" "$out/compare.html" || fail "compare.html: no link to the reference report"
if [[ $failed -ne 0 ]]; then
    echo "--- stderr"
    tail -40 "$work/stderr"
fi
exit $failed
