#!/usr/bin/env bash
# hosts_foreign.sh - a `process` implementation (toy_kv, tests/integration/toy_kv.c: a system
# Faultline knows only through PROCESS_PROTOCOL.md) with its nodes on three hosts of the SSH lab
# (scripts/ssh-lab.sh), the harness in the lab's control namespace.
#   1. --dry-run: options.upload's binary copied into each host's bin/, the node started from
#      that copy, options.files rendered with the host's paths and written there;
#   2. durable toy_kv (--data {data}: every write fdatasync'ed) under kill-leader and
#      isolate-one: valid on the hosts as in namespaces (same seed); the setup hook ran on the
#      host in the node's data folder and read its rendered file, the start hook saw the node
#      run from the uploaded copy (its output, streamed from the host, is a node event in the
#      history), the teardown hook's output reached nodes/n1.log;
#   3. in-memory toy_kv, same faults: invalid on the hosts as in namespaces (a kill forgets
#      acknowledged writes);
#   4. a setup hook failing on one host stops the run before the workload, naming the node;
#   5. after every run nothing is left on any host (processes, nft tables, folders);
#   6. a harness killed mid-run leaves its nodes and log followers; `faultline clean` and
#      `faultline clean --hosts` remove them.
# The cluster: toy_kv is one store, so n1 serves and n2, n3 listen on their hosts' loopback
# only (clients find n1; the partitions cut real hosts all the same).
#
#   hosts_foreign.sh FAULTLINE TOY_KV SOURCE_DIR
# Exit 77 (skipped) without root, sshd or nft.
set -euo pipefail
fl=$(readlink -f "$1")
toy=$(readlink -f "$2")
src=$(readlink -f "$3")
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
[[ -x /usr/sbin/sshd ]] || { echo "sshd missing (openssh-server)"; exit 77; }
command -v nft >/dev/null || { echo "nft missing (nftables)"; exit 77; }

tmp=$(mktemp -d /tmp/fl-hosts-foreign.XXXXXX)
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$src/tests/integration/lab.sh"
lab_up fl-labfgn

# The toy under a copy of its own (the hosts get it uploaded, whatever its path here).
mkdir -p "$tmp/build"
cp "$toy" "$tmp/build/toy_kv"
# scenario NAME DATA_ARGS_JSON SETUP_HOOK_JSON
scenario() {
  cat >"$tmp/$1.json" <<JSON
{
  "name": "$1",
  "implementation": {"impl": "process", "options": {
    "binary": "$tmp/build/toy_kv", "upload": ["$tmp/build/toy_kv", "$tmp/build/setup.sh"],
    "args": ["--listen", "{if:n1:{addr}}{unless:n1:127.0.0.1}:{client_port}"$2],
    "files": [{"path": "id/me.txt", "text": "I am {name} at {addr}, data {data}\n"}],
    "hooks": {"setup": $3,
              "start": ["/bin/sh", "-c", "sleep 0.3; pgrep -af '/bin/toy_kv --listen' || echo no toy_kv from bin/"],
              "teardown": ["/bin/sh", "-c", "echo teardown of {name}; cat setup.txt"]},
    "events": [{"pattern": "/bin/toy_kv --listen", "f": "toy-seen"}],
    "dynamic": true}},
  "nodes": {"count": 3},
  "workload": {"model": "kv", "keys": 3, "concurrency": 4, "rate_per_s": 200, "op_timeout_ms": 1000},
  "nemesis": {"kinds": ["kill-leader", "isolate-one"], "interval_ms": 1500, "duration_ms": 600, "jitter_ms": 0},
  "phases": {"faults_s": 6}
}
JSON
}
# The setup hook: a script of this machine, uploaded, named by its local path (an argument).
printf '%s\n' 'cat "$1" > setup.txt; echo "setup of $2 in $PWD"' >"$tmp/build/setup.sh"
setup="[\"/bin/sh\", \"$tmp/build/setup.sh\", \"{file:id/me.txt}\", \"{name}\"]"
scenario toy-durable ', "--data", "{data}"' "$setup"
scenario toy-memory '' "$setup"
scenario toy-badsetup ', "--data", "{data}"' '["/bin/sh", "-c", "echo setup of {name}; [ {id} != 2 ]"]'

# 1. Dry run.
"$fl" run "$tmp/toy-durable.json" --hosts "$hosts" --dry-run >"$tmp/dry.out"
grep -q "^h2 (root@[0-9.]*): cat > '$lab/h2/work/fl-d0d0d0/bin/toy_kv' && chmod 755" "$tmp/dry.out" ||
  fail "dry run: toy_kv not uploaded to h2's bin/"
grep -q "hook setup: \[/bin/sh\] \[{rundir}/bin/setup.sh\] \[{rundir}/n2.conf/id/me.txt\] \[n2\]" "$tmp/dry.out" ||
  fail "dry run: n2's setup hook does not name the host's copy of setup.sh"
grep -q "setsid '$lab/h2/work/fl-d0d0d0/bin/toy_kv' '--listen' '127.0.0.1:7001' '--data' '$lab/h2/work/fl-d0d0d0/n2'" \
  "$tmp/dry.out" || fail "dry run: n2 not started from the uploaded copy"
grep -q "^I am n3 at [0-9.]*, data $lab/h3/work/fl-d0d0d0/n3$" "$tmp/dry.out" ||
  fail "dry run: n3's file not rendered with its host's paths"
nothing_left "after the dry run"

# 2, 3. Namespaces, then the hosts, same seed.
common=(--seed 7 --warmup 2 --heal 2 --no-capture -q)
for sc in toy-durable toy-memory; do
  set +e
  "$fl" run "$tmp/$sc.json" "${common[@]}" --out "$tmp/ns-$sc" >"$tmp/ns-$sc.out" 2>"$tmp/ns-$sc.err"
  inlab "$fl" run "$tmp/$sc.json" "${common[@]}" --hosts "$hosts" --out "$tmp/h-$sc" \
    >"$tmp/h-$sc.out" 2>"$tmp/h-$sc.err"
  rc=$?
  set -e
  cat "$tmp/ns-$sc.out" "$tmp/h-$sc.out"
  [[ $rc -le 1 ]] || { cat "$tmp/h-$sc.err"; fail "$sc on hosts: exit $rc"; }
  v_ns=$(verdict "$tmp/ns-$sc.out")
  v_h=$(verdict "$tmp/h-$sc.out")
  # The memory store's loss shows only when a kill lands on writes nobody read back since:
  # on one seed a side can come out valid (seen in scripts/test.sh, 22:20 UTC). Up to two
  # more seeds for a valid side, as the matrix gives its invalid entries (the verdict of
  # each side must still be invalid, which is what the store deserves).
  for seed in 8 9; do
    [[ $sc == toy-memory && ($v_ns == valid || $v_h == valid) ]] || break
    set +e
    [[ $v_ns == valid ]] && "$fl" run "$tmp/$sc.json" "${common[@]:2}" --seed "$seed" \
      --out "$tmp/ns-$sc-$seed" >"$tmp/ns-$sc.out" 2>"$tmp/ns-$sc.err"
    [[ $v_h == valid ]] && inlab "$fl" run "$tmp/$sc.json" "${common[@]:2}" --seed "$seed" \
      --hosts "$hosts" --out "$tmp/h-$sc-$seed" >"$tmp/h-$sc.out" 2>"$tmp/h-$sc.err"
    set -e
    v_ns=$(verdict "$tmp/ns-$sc.out")
    v_h=$(verdict "$tmp/h-$sc.out")
  done
  [[ -n $v_ns && $v_ns == "$v_h" ]] || fail "$sc: $v_ns in namespaces, $v_h on hosts"
  [[ $(faults "$tmp/h-$sc.out") -ge 2 ]] || fail "$sc on hosts: fewer than 2 faults applied"
  grep -q '"f":"kill-leader"' "$tmp/h-$sc/history.jsonl" || fail "$sc on hosts: no kill"
  grep -q '"f":"isolate-one"' "$tmp/h-$sc/history.jsonl" || fail "$sc on hosts: no partition"
  nothing_left "after $sc"
done
[[ $(verdict "$tmp/h-toy-durable.out") == valid ]] || fail "toy-durable: expected valid"
[[ $(verdict "$tmp/h-toy-memory.out") == invalid ]] ||
  fail "toy-memory: expected invalid (a kill forgets acknowledged writes)"
log=$tmp/h-toy-durable/nodes/n1.log
grep -q "^setup of n1 in $lab/h1/work/fl-[0-9a-f]*/n1$" "$log" ||
  fail "the setup hook did not run in n1's data folder on h1: $(head -5 "$log")"
grep -q "^I am n1 at [0-9.]*, data $lab/h1/work/fl-[0-9a-f]*/n1$" "$log" ||
  fail "the teardown hook did not show n1's rendered file"
grep -q "$lab/h1/work/fl-[0-9a-f]*/bin/toy_kv --listen" "$log" ||
  fail "the start hook did not see n1 run from h1's copy: $(grep -A2 'hook start' "$log" | head -5)"
[[ $(grep -c "^faultline: hook start: exit 0" "$log") -ge 2 ]] ||
  fail "no start hook after the restart of n1 (kill-leader)"
# Node events from the hosts' logs, streamed while the run lasts (not only fetched at the end).
grep -q '"process":"node","type":"info","f":"toy-seen".*"node":"n1"' "$tmp/h-toy-durable/history.jsonl" ||
  grep -q '"f":"toy-seen"' "$tmp/h-toy-durable/history.jsonl" ||
  fail "no node event from the hosts' logs in the history"

# 4. A setup hook failing on h2.
set +e
inlab "$fl" run "$tmp/toy-badsetup.json" "${common[@]}" --hosts "$hosts" --out "$tmp/h-bad" \
  >"$tmp/h-bad.out" 2>"$tmp/h-bad.err"
rc=$?
set -e
[[ $rc -eq 3 ]] || fail "a failing setup hook: exit $rc, expected 3"
grep -q "node n2: hook setup failed (exit 1)" "$tmp/h-bad.err" || fail "no message: $(tail -3 "$tmp/h-bad.err")"
grep -q "^setup of n2$" "$tmp/h-bad/nodes/n2.log" || fail "n2's log (the hook's output) not fetched"
nothing_left "after the failing setup hook"
# 6. A harness killed mid-run: its nodes, start hooks and log followers (tail -F, for the
# events) stay on the hosts, its ssh processes here; `faultline clean` and `faultline clean
# --hosts` remove them all.
run_then_kill "$tmp/h-killed.err" "nemesis: " "no fault before the kill" \
  "$tmp/toy-durable.json" --seed 9 --time-limit 60 --warmup 1 --no-capture --hosts "$hosts" \
  --out "$tmp/h-killed"
run=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results.*/\1/p' "$tmp/h-killed.err" | head -1)
[[ -n $run ]] || fail "no run id in the killed harness's output"
left=0
for e in /proc/[0-9]*/environ; do
  grep -qszx "FAULTLINE_RUN=$run" "$e" && grep -qsF "tail" "${e%environ}cmdline" && left=$((left + 1))
done
((left >= 3)) || fail "the killed run left $left log followers on the hosts (the test would prove nothing)"
"$fl" clean >/dev/null 2>&1 || true
[[ -z $(pgrep -f "ControlPath=/tmp/fl-ssh-$run-" || true) ]] || fail "faultline clean left ssh processes of run $run"
inlab "$fl" clean --hosts "$hosts" >"$tmp/clean.out"
nothing_left "after clean --hosts"
echo "hosts_foreign: ok"
