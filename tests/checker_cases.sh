#!/usr/bin/env bash
# checker_cases.sh FAULTLINE DIR - runs `faultline check` on every case in DIR.
# Each case is NNNN-name.<ext> (a file, or a results folder NNNN-name.d) with NNNN-name.expect:
#   exit N            the expected exit code (0 valid, 1 invalid, 2 unknown, 3 error)
#   args ...          extra arguments (optional)
#   contains TEXT     a line of output (stdout+stderr) must contain TEXT (repeatable)
set -uo pipefail
bin=$1 dir=$2
fail=0 n=0
for expect in "$dir"/*.expect; do
  base=${expect%.expect}
  input=$(ls -d "$base".* | grep -v '\.expect$' | head -1)
  want_exit=$(awk '$1=="exit"{print $2}' "$expect")
  args=$(sed -n 's/^args //p' "$expect")
  # shellcheck disable=SC2086
  out=$("$bin" check $args "$input" 2>&1)
  code=$?
  n=$((n + 1))
  if [[ "$code" != "$want_exit" ]]; then
    echo "FAIL $(basename "$input"): exit $code, expected $want_exit"; echo "$out" | head -20
    fail=$((fail + 1)); continue
  fi
  while IFS= read -r text; do
    if ! grep -qF -- "$text" <<<"$out"; then
      echo "FAIL $(basename "$input"): output lacks: $text"; echo "$out" | head -20
      fail=$((fail + 1))
    fi
  done < <(sed -n 's/^contains //p' "$expect")
done
echo "$((n - fail))/$n checker cases passed"
[[ $fail -eq 0 && $n -gt 0 ]]
