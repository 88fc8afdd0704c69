#!/usr/bin/env bash
# check_program_libs.sh FAULTLINE_CHECK - the check program's direct shared
# libraries are the checker's only (libc, libm, jansson; the sanitizers' own
# in that build): none of what makes faultline slow to start (README
# "Programs"). Also: it answers --help and checks a one-operation history.
#   check_program_libs.sh PROGRAM [check]   (faultline needs the word check)
set -uo pipefail
bin=$1
cmd=("${@:2}")
fail() { echo "FAIL: $*"; exit 1; }
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
if [[ -z "$needed" ]]; then
  # Linked -static (the Release build): then it has no dynamic section at all.
  readelf -d "$bin" | grep -q "no dynamic section" || fail "readelf found no NEEDED entry in $bin"
  needed="(static)"
fi
while read -r lib; do
  case "$lib" in
    libc.so.*|libm.so.*|libjansson.so.*|ld-linux*|libasan.so.*|libubsan.so.*|libgcc_s.so.*|libstdc++.so.*|libpthread.so.*|libdl.so.*|librt.so.*) ;;
    "(static)") ;;
    *) fail "$bin needs $lib (the check program must link only what checking needs)" ;;
  esac
done <<<"$needed"
"$bin" "${cmd[@]}" --help | grep -q "exit: 0 valid" || fail "--help"
tmp=$(mktemp /tmp/fl-checkprog-XXXXXX.jsonl)
trap 'rm -f "$tmp"' EXIT
printf '%s\n' '{"process":0,"type":"invoke","f":"write","value":1}' \
  '{"process":0,"type":"ok","f":"write","value":1}' \
  '{"process":1,"type":"invoke","f":"read","value":null}' \
  '{"process":1,"type":"ok","f":"read","value":2}' >"$tmp"
out=$("$bin" "${cmd[@]}" "$tmp"); code=$?
[[ $code -eq 1 ]] || fail "a read of a value never written: exit $code, expected 1 ($out)"
grep -q "invalid" <<<"$out" || fail "no verdict line: $out"
echo "ok: $(tr '\n' ' ' <<<"$needed")"
