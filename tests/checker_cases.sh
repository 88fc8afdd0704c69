#!/usr/bin/env bash
# checker_cases.sh FAULTLINE DIR - runs `faultline check` on every case in DIR.
# Each case is NNNN-name.<ext> (a file, or a results folder NNNN-name.d) with NNNN-name.expect:
#   exit N            the expected exit code (0 valid, 1 invalid, 2 unknown, 3 error)
#   args ...          extra arguments (optional)
#   contains TEXT     a line of output (stdout+stderr) must contain TEXT (repeatable)
# With a third argument `fifo`, each history is given as a FIFO of the same
# name (a pipe cannot seek: format detection and reading must take it once).
set -uo pipefail
bin=$1 dir=$2 mode=${3:-file}
fail=0 n=0
tmp=$(mktemp -d /tmp/fl-cases-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for expect in "$dir"/*.expect; do
  base=${expect%.expect}
  input=$(ls -d "$base".* | grep -v '\.expect$' | head -1)
  want_exit=$(awk '$1=="exit"{print $2}' "$expect")
  args=$(sed -n 's/^args //p' "$expect")
  if [[ $mode == fifo && -f $input ]]; then # (a results folder stays one)
    fifo=$tmp/$(basename "$input")
    mkfifo "$fifo"
    cat "$input" >"$fifo" &
    writer=$!
    # shellcheck disable=SC2086
    out=$("$bin" check $args "$fifo" 2>&1)
    code=$?
    kill "$writer" 2>/dev/null # when check refused its arguments before opening the FIFO
    wait "$writer" 2>/dev/null
    rm -f "$fifo"
  else
    # shellcheck disable=SC2086
    out=$("$bin" check $args "$input" 2>&1)
    code=$?
  fi
  n=$((n + 1))
  if [[ "$code" != "$want_exit" ]]; then
    echo "FAIL $(basename "$input"): exit $code, expected $want_exit"; echo "$out" | head -20
    fail=$((fail + 1)); continue
  fi
  lacks=0 # a case fails once, however many of its lines are missing
  while IFS= read -r text; do
    if ! grep -qF -- "$text" <<<"$out"; then
      echo "FAIL $(basename "$input"): output lacks: $text"
      lacks=$((lacks + 1))
    fi
  done < <(sed -n 's/^contains //p' "$expect")
  if ((lacks)); then
    echo "$out" | head -20
    fail=$((fail + 1))
  fi
done
echo "$((n - fail))/$n checker cases passed ($mode)"
[[ $fail -eq 0 && $n -gt 0 ]]
