#!/usr/bin/env bash
# faultline_programs.sh FAULTLINE - the split of the faultline program (README
# "Programs"): `faultline check` runs in faultline itself, which maps none of
# the harness's libraries (libcurl, nftables, pcap, fuse, libuv), while every
# other command is exec'd in faultline-harness next to it with the same
# arguments; without faultline-harness, check still works and the others say
# what is missing.
set -uo pipefail
bin=$(readlink -f "$1")
dir=$(dirname "$bin")
fail() { echo "FAIL: $*"; exit 1; }
heavy_libs='libcurl|libnftables|libpcap|libfuse|libuv|libnl'

# The thin program: check_program_libs.sh checks its NEEDED entries; this
# checks what a running `faultline check` has mapped (catches dlopen too).
libs=$(bash "$(dirname "$0")/check_program_libs.sh" "$bin" check) || fail "faultline's libraries: $libs"
tmp=$(mktemp -d /tmp/fl-programs-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# A FIFO as the history: check blocks opening it while we read its maps.
mkfifo "$tmp/h.jsonl"
"$bin" check "$tmp/h.jsonl" >"$tmp/out" 2>&1 &
pid=$!
# Read the maps once it is blocked opening the FIFO (past exec, the loader and
# main's start), not after a guessed delay that a loaded machine can outrun.
for _ in $(seq 600); do
  [[ $(cat /proc/$pid/wchan 2>/dev/null) == wait_for_partner ]] && break
  sleep 0.05
done
[[ $(cat /proc/$pid/wchan 2>/dev/null) == wait_for_partner ]] ||
  fail "faultline check never blocked opening the FIFO (wchan: $(cat /proc/$pid/wchan 2>/dev/null))"
cp /proc/$pid/maps "$tmp/maps" || fail "no /proc/$pid/maps"
printf '%s\n' '{"process":0,"type":"invoke","f":"write","value":1}' \
  '{"process":0,"type":"ok","f":"write","value":1}' >"$tmp/h.jsonl"
wait $pid; code=$? # a FIFO is read once: detection replays what it peeked
[[ $code -eq 0 ]] && grep -q "h.jsonl: valid" "$tmp/out" || fail "check of a FIFO: exit $code $(cat "$tmp/out")"
# --export-edn reads the history again: a pipe is refused before it is read.
"$bin" check --export-edn "$tmp/out.edn" <(echo '{}') >/dev/null 2>"$tmp/err"; code=$?
[[ $code -eq 3 ]] && grep -q "export-edn: .* is not a regular file" "$tmp/err" \
  || fail "--export-edn of a pipe: exit $code $(cat "$tmp/err")"
"$bin" check --export-jsonl "$tmp/out.jsonl" <(echo '{}') >/dev/null 2>"$tmp/err"; code=$?
[[ $code -eq 3 ]] && grep -q "export-jsonl: .* is not a regular file" "$tmp/err" \
  || fail "--export-jsonl of a pipe: exit $code $(cat "$tmp/err")"
if grep -E "$heavy_libs" "$tmp/maps"; then fail "faultline check mapped a harness library"; fi
grep -q "$(basename "$bin")" "$tmp/maps" || fail "the maps read were not faultline's: $(head -3 "$tmp/maps")"

# The heavy program is the one with the harness's libraries (else this test
# proves nothing about the split) and answers every other command.
[[ -x $dir/faultline-harness ]] || fail "no faultline-harness next to $bin"
readelf -d "$dir/faultline-harness" | grep -qE "NEEDED.*($heavy_libs)" \
  || fail "faultline-harness needs none of $heavy_libs: is the split still needed?"
"$bin" version | grep -q "^faultline " || fail "faultline version: $("$bin" version 2>&1)"
"$bin" --help | grep -q "campaign MATRIX.json" || fail "faultline --help"
# --help's list is the dispatch table: every command listed answers its own
# --help (none is "unknown"), and the list fits 80 columns.
listed=$("$bin" --help | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p')
[[ $(wc -w <<<"$listed") -ge 15 ]] || fail "faultline --help lists: $listed"
for c in $listed; do
  timeout 20 "$bin" "$c" --help >/dev/null 2>"$tmp/err" </dev/null; code=$?
  [[ $code -eq 0 ]] && ! grep -q "unknown command" "$tmp/err" || fail "faultline $c --help: exit $code $(cat "$tmp/err")"
done
"$bin" --help | awk 'length > 79 { print "too wide: " $0; bad = 1 } END { exit bad }' || fail "faultline --help"
"$bin" client --help >/dev/null 2>&1; code=$?
[[ $code -eq 0 ]] || fail "faultline client --help: exit $code"
"$bin" no-such-command >/dev/null 2>"$tmp/err"; code=$?
[[ $code -eq 3 ]] && grep -q 'unknown command "no-such-command"' "$tmp/err" || fail "unknown command: exit $code $(cat "$tmp/err")"
"$bin" >/dev/null 2>&1; code=$?
[[ $code -eq 3 ]] || fail "no command: exit $code"

# Alone (installed without faultline-harness): check works, the rest say so.
cp "$bin" "$tmp/faultline"
printf '%s\n' '{"process":0,"type":"invoke","f":"write","value":1}' \
  '{"process":0,"type":"ok","f":"write","value":1}' >"$tmp/one.jsonl"
"$tmp/faultline" check -q "$tmp/one.jsonl" || fail "check without faultline-harness: exit $?"
"$tmp/faultline" run --help >/dev/null 2>"$tmp/err"; code=$?
[[ $code -eq 3 ]] && grep -q "$tmp/faultline-harness: No such file" "$tmp/err" \
  || fail "run without faultline-harness: exit $code $(cat "$tmp/err")"
echo "ok"
