#!/usr/bin/env bash
# hosts_ssh.sh - a scenario's nodes on hosts over SSH: three hosts of the SSH lab
# (scripts/ssh-lab.sh: namespaces running sshd, each with its own network stack and workdir),
# the harness in the lab's control namespace.
#   1. --dry-run prints each host's commands (start, the nft table with the control's ssh
#      accepted first) and starts nothing;
#   2. the default scenario with the reference node on the hosts gives the verdict the same
#      scenario and seed give in namespaces;
#   3. a partition scenario (the isolated node's log shows it lost its leader: the host's own
#      table cut it off; the hosts' tcpdumps merged into capture.pcap, which `faultline
#      capture` decodes) and a kill scenario on the hosts, valid;
#   4. after each run nothing is left on any host: no process with the run marker, no
#      faultline nft table, no run folder;
#   5. a harness killed mid-run leaves its nodes, table and folder; `faultline clean --hosts`
#      removes them and says so; locally it leaves its temp dir (cluster key), ControlPath
#      folder and ssh ControlMasters, which `faultline clean` removes (the run's record);
#   7. a node on a host sees its clock fault: its log's timestamps follow its faketime file;
#   6. reorder and duplication on the hosts: a faultline-delayer per host held packets (its
#      counters, reported at the heal), duplicates from the sender's table, valid, nothing
#      left (no delayer, no table, no iptables chain).
#   8. disk faults on the hosts: each node's data directory a `faultline fs` mount on its host
#      (dry run says so), power losses through it (valid), the daemons' logs fetched, nothing
#      mounted afterwards; a harness killed mid-run leaves daemons and mounts, which
#      `faultline clean --hosts` removes.
#
#   hosts_ssh.sh FAULTLINE FAULTLINE_NODE SOURCE_DIR [runs|killed]
# runs: 1, 2, 3, 6 and 8's run, where no harness is killed (each test's exit-time `faultline
# clean` is harmless to them, so ctest runs them beside other tests); killed: 5, 7 and 8's
# killed run, which need no other test's `faultline clean` between the kill and their checks
# (ctest RUN_SERIAL). Each part on a lab of its own; both parts when omitted.
# Exit 77 (skipped) without root, sshd, nft or python3.
set -euo pipefail
fl=$(readlink -f "$1")
node=$(readlink -f "$2")
src=$(readlink -f "$3")
part=${4:-all}
[[ $part == all || $part == runs || $part == killed ]] || { echo "hosts_ssh: part runs or killed, not '$part'"; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
[[ -x /usr/sbin/sshd ]] || { echo "sshd missing (openssh-server)"; exit 77; }
command -v nft >/dev/null || { echo "nft missing (nftables)"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }
[[ -x $node ]] || { echo "faultline-node missing"; exit 77; }

tmp=$(mktemp -d /tmp/fl-hosts-test.XXXXXX)
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$src/tests/integration/lab.sh"
lab_up flhs$(($$ % 100000)) # a lab of its own name, so it runs beside other labs

disk=$src/scenarios/disk-lose-unsynced.json

if [[ $part != killed ]]; then # 1, 2, 3, 6, 8: runs to their end
# 1. Dry run.
"$fl" run --hosts "$hosts" --dry-run >"$tmp/dry.out"
grep -q "^h2 (root@203.0.113.12): .* setsid '$lab/h2/work/fl-d0d0d0/faultline-node' '--id' 'n2'" \
  "$tmp/dry.out" || fail "dry run: no start command for n2 on h2"
grep -q "ip saddr CONTROL tcp dport 22 accept" "$tmp/dry.out" || fail "dry run: no control exemption"
grep -q "nft delete table inet faultline_d0d0d0" "$tmp/dry.out" || fail "dry run: no clean-up"
nothing_left "after the dry run"

# A bad hosts file is refused with the line and field.
python3 - "$hosts" "$tmp/bad.json" <<'EOF'
import json, sys
h = json.load(open(sys.argv[1])); h["hosts"][1]["addr"] = "192.0.2.9"
json.dump(h, open(sys.argv[2], "w"), indent=1)
EOF
set +e
"$fl" run --hosts "$tmp/bad.json" --dry-run >/dev/null 2>"$tmp/bad.err"
rc=$?
set -e
[[ $rc -eq 3 ]] || fail "a host in 192.0.2.0/24 accepted (exit $rc)"
grep -q "bad.json line [0-9]*: hosts\[1\].addr" "$tmp/bad.err" || fail "no line/field: $(cat "$tmp/bad.err")"

# 2. The default scenario: namespaces here, then the lab's hosts, same seed.
timeline=(--seed 3 --time-limit 12 --warmup 2 --heal 4 -q)
common=("${timeline[@]}" --no-capture)
set +e
"$fl" run "${common[@]}" --out "$tmp/ns" >"$tmp/ns.out" 2>"$tmp/ns.err"
inlab "$fl" run "${common[@]}" --hosts "$hosts" --node-bin "$node" --out "$tmp/h-default" \
  >"$tmp/h-default.out" 2>"$tmp/h-default.err"
rc=$?
set -e
cat "$tmp/ns.out" "$tmp/h-default.out"
[[ $rc -eq 0 ]] || { cat "$tmp/h-default.err"; fail "default on hosts: exit $rc"; }
v_ns=$(verdict "$tmp/ns.out")
v_h=$(verdict "$tmp/h-default.out")
[[ -n $v_ns && $v_ns == "$v_h" ]] || fail "default: $v_ns in namespaces, $v_h on hosts"
[[ $(faults "$tmp/h-default.out") -ge 1 ]] || fail "default on hosts: no fault applied"
for k in 1 2 3; do
  [[ -s $tmp/h-default/nodes/n$k.log ]] || fail "default on hosts: no log of n$k fetched"
done
nothing_left "after the default scenario"

# 3. A partition and a kill scenario on the hosts.
set +e
inlab "$fl" run "$src/scenarios/partition-one.json" "${timeline[@]}" --hosts "$hosts" \
  --out "$tmp/h-part" >"$tmp/h-part.out" 2>"$tmp/h-part.err"
rc=$?
set -e
cat "$tmp/h-part.out"
[[ $rc -eq 0 ]] || { cat "$tmp/h-part.err"; fail "partition-one on hosts: exit $rc"; }
[[ $(faults "$tmp/h-part.out") -ge 1 ]] || fail "partition-one on hosts: no fault applied"
# Cut off by its host's table, the isolated node stops hearing its leader and pre-votes.
grep -qh '"state":"precandidate"' "$tmp/h-part/nodes/"n*.log ||
  fail "partition-one on hosts: no node lost its leader (the partition did not cut)"
# Each packet once, by its receiver: node-to-node traffic decoded as Raft messages.
"$fl" capture "$tmp/h-part" >"$tmp/capture.out" 2>&1 || fail "faultline capture: $(tail -1 "$tmp/capture.out")"
grep -q "AppendEntries\|append" "$tmp/capture.out" ||
  fail "no Raft message decoded from the hosts' capture: $(head -3 "$tmp/capture.out")"
nothing_left "after partition-one"

set +e
inlab "$fl" run "$src/scenarios/kill.json" "${common[@]}" --nodes 3 --hosts "$hosts" \
  --out "$tmp/h-kill" >"$tmp/h-kill.out" 2>"$tmp/h-kill.err"
rc=$?
set -e
cat "$tmp/h-kill.out"
[[ $rc -eq 0 ]] || { cat "$tmp/h-kill.err"; fail "kill on hosts: exit $rc"; }
[[ $(faults "$tmp/h-kill.out") -ge 1 ]] || fail "kill on hosts: no fault applied"
nothing_left "after kill"

# 6. Reorder (a delayer per host) and duplication, one after the other.
cat >"$tmp/reorder-dup.json" <<'EOF'
{"name": "reorder-dup", "nodes": {"count": 3},
 "nemesis": {"kinds": ["reorder", "duplicate"],
             "schedule": [{"kind": "reorder", "at_ms": 500, "heal_ms": 4500},
                          {"kind": "duplicate", "at_ms": 5000, "heal_ms": 8500}],
             "options": {"delay": {"ms": 30, "jitter_ms": 20}, "reorder": {"percent": 30},
                         "duplicate": {"percent": 30}}},
 "expected": "valid"}
EOF
set +e
inlab "$fl" run "$tmp/reorder-dup.json" --seed 4 --time-limit 10 --warmup 2 --heal 3 -q --no-capture \
  --hosts "$hosts" --out "$tmp/h-reorder" >"$tmp/h-reorder.out" 2>"$tmp/h-reorder.err"
rc=$?
set -e
cat "$tmp/h-reorder.out"
grep "nemesis:" "$tmp/h-reorder.err" || true
[[ $rc -eq 0 ]] || { cat "$tmp/h-reorder.err"; fail "reorder-dup on hosts: exit $rc"; }
[[ $(verdict "$tmp/h-reorder.out") == valid ]] || fail "reorder-dup on hosts: not valid"
held=$(sed -n 's/.*nemesis: healed reorder (\([0-9]*\) of [0-9]* packets held).*/\1/p' "$tmp/h-reorder.err" | head -1)
[[ -n $held && $held -gt 0 ]] || fail "reorder on hosts: the delayers held no packet (${held:-no heal})"
grep -q "nemesis: healed duplicate" "$tmp/h-reorder.err" || fail "reorder-dup on hosts: no duplicate healed"
for k in 1 2 3; do
  left=$(ip netns exec "$name-h$k" iptables -w -S 2>/dev/null | grep faultline || true)
  [[ -z $left ]] || fail "after reorder-dup: h$k keeps iptables rules: $left"
done
nothing_left "after reorder-dup"

# 8. Disk faults on the hosts: a dry run and a run (the killed run below).
"$fl" run "$disk" --nodes 3 --hosts "$hosts" --dry-run >"$tmp/dry-disk.out"
grep -q "^h1 (root@203.0.113.11): .* setsid '$lab/h1/work/fl-d0d0d0/faultline-harness' 'fs' '--detached'" \
  "$tmp/dry-disk.out" || fail "dry run: no disk-fault filesystem started on h1"
grep -q "fs-ctl' '$lab/h1/work/fl-d0d0d0/disk/n1/ctl' 'lose'" "$tmp/dry-disk.out" ||
  fail "dry run: no disk command"
set +e
inlab "$fl" run "$disk" --seed 1 --time-limit 8 --warmup 2 --heal 3 --no-capture --nodes 3 \
  --hosts "$hosts" --out "$tmp/h-disk" >"$tmp/h-disk.out" 2>"$tmp/h-disk.err"
rc=$?
set -e
cat "$tmp/h-disk.out"
[[ $rc -eq 0 ]] || { tail -5 "$tmp/h-disk.err"; fail "disk-lose-unsynced on hosts: exit $rc"; }
[[ $(faults "$tmp/h-disk.out") -ge 1 ]] || fail "disk-lose-unsynced on hosts: no fault applied"
# Each loss answered by the node's daemon on its host, after the node was killed.
grep -q 'nemesis: n3: {"ok":true,"files":' "$tmp/h-disk.err" || fail "no loss answered by n3's daemon"
[[ -f $tmp/h-disk/nodes/fs-n2.log ]] || fail "the daemon log of n2 was not fetched"
nothing_left "after disk-lose-unsynced"
fi

if [[ $part != runs ]]; then # 5, 7, 8: killed harnesses
# 5. A killed harness, then clean --hosts.
# With a clock kind (never drawn before the kill: weight 1 in 1000), so the nodes run under
# libfaketime, as every node of a scenario with clock faults does.
cat >"$tmp/killed.json" <<'EOF'
{"name": "killed", "nodes": {"count": 3},
 "nemesis": {"kinds": {"isolate-one": 999, "clock-skew": 1}}, "expected": "valid"}
EOF
# Stopped (SIGSTOP) while its leftovers are looked at, then killed: a stopped harness is alive,
# so another test's `faultline clean` does not remove them first (this test runs beside others).
run_then_stop "$tmp/h-killed.err" "nemesis: isolate-one" "no fault before the kill" \
  "$tmp/killed.json" --seed 5 --time-limit 60 --warmup 1 --no-capture --hosts "$hosts" \
  --out "$tmp/h-killed"
tables=0
for k in 1 2 3; do
  ip netns exec "$name-h$k" nft list tables | grep -q faultline_ && tables=$((tables + 1))
done
((tables >= 1)) || fail "the killed run left no table (the test would prove nothing)"
ls "$lab"/h1/work/fl-* >/dev/null 2>&1 || fail "the killed run left no folder on h1"
run=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results.*/\1/p' "$tmp/h-killed.err" | head -1)
[[ -n $run ]] || fail "no run id in the killed harness's output"

# 7. The clock a node on a host sees is its faketime file's: with the partition lifted, n1's
# file set 1 h ahead (as the clock faults write it), n2 and n3 killed: n1 logs what follows
# (a pre-vote, or its sessions expiring: the hour passed for it) with its own clock, which
# must read about 1 h ahead.
for k in 1 2 3; do ip netns exec "$name-h$k" nft delete table inet "faultline_$run" 2>/dev/null || true; done
rd1=$lab/h1/work/fl-$run
printf '+3600.000s x1.000\n' >"$rd1/clock/n1.faketime.tmp"
mv -f "$rd1/clock/n1.faketime.tmp" "$rd1/clock/n1.faketime"
lines=$(wc -l <"$rd1/n1.log")
for e in /proc/[0-9]*/environ; do
  if grep -qsz "^FAULTLINE_WORKDIR=$lab/h[23]/work\$" "$e" && grep -qszx "FAULTLINE_RUN=$run" "$e" &&
    [[ $(readlink "${e%environ}exe" 2>/dev/null) == */faultline-node ]]; then
    kill -9 "${e//[^0-9]/}"
  fi
done
next=""
for _ in $(seq 1 100); do
  next=$(tail -n +$((lines + 1)) "$rd1/n1.log" | grep -m1 '"ts_ms":' || true)
  [[ -n $next ]] && break
  sleep 0.1
done
now=$(date +%s%3N)
[[ -n $next ]] || fail "n1 logged nothing after n2 and n3 were killed: $(tail -n 3 "$rd1/n1.log")"
ts=$(sed -n 's/.*"ts_ms":\([0-9]*\).*/\1/p' <<<"$next")
ahead=$((ts - now))
echo "n1's clock on h1: $((ahead / 1000)) s ahead of the control's ($next)"
((ahead > 3540000 && ahead < 3660000)) || fail "n1's clock is $ahead ms off, not about +1 h: libfaketime not in effect"

# Locally: the temp dir with the cluster key, the ControlPath folder, the ControlMasters.
masters() { pgrep -f "ControlPath=/tmp/fl-ssh-$run-" || true; }
ls -d /tmp/fl-"$run"-* /tmp/fl-ssh-"$run"-* >/dev/null 2>&1 ||
  fail "the killed run left no local temp dir (the test would prove nothing)"
[[ -n $(masters) ]] || fail "the killed run left no ControlMaster (the test would prove nothing)"
kill_stopped
"$fl" clean --run "$run" >"$tmp/clean-local.out" 2>&1 || true
for d in /tmp/fl-"$run"-* /tmp/fl-ssh-"$run"-*; do
  [[ ! -e $d ]] || fail "faultline clean left $d: $(cat "$tmp/clean-local.out")"
done
[[ -z $(masters) ]] || fail "faultline clean left the ControlMasters $(masters)"
[[ ! -e /run/faultline/$run.json ]] || fail "faultline clean left the run's record"
inlab "$fl" clean --hosts "$hosts" | tee "$tmp/clean.out"
grep -q "^h1 (root@203.0.113.11): removed 1 processes, [0-9]* nft tables, 0 mounts, 1 folders" \
  "$tmp/clean.out" || fail "clean --hosts did not report what it removed on h1"
nothing_left "after clean --hosts"

# 8. A killed disk run on the hosts, then clean --hosts.
run_then_kill "$tmp/h-dkilled.err" "cluster up" "the disk run did not start" \
  "$disk" --seed 2 --time-limit 60 --warmup 1 --no-capture --nodes 3 --hosts "$hosts" \
  --out "$tmp/h-dkilled"
drun=$(sed -n 's/.*, run \([0-9a-f]\{6\}\), results.*/\1/p' "$tmp/h-dkilled.err" | head -1)
"$fl" clean --run "${drun:-000000}" >/dev/null 2>&1 || true # its local temp dir and ControlMasters
grep -qF "$lab/h1/work/" "/proc/$(cat "$lab/h1/sshd.pid")/mounts" ||
  fail "the killed disk run left no mount on h1 (the test would prove nothing)"
inlab "$fl" clean --hosts "$hosts" | tee "$tmp/clean-disk.out"
grep -q "^h1 (root@203.0.113.11): removed 2 processes, 0 nft tables, 1 mounts, 1 folders" \
  "$tmp/clean-disk.out" || fail "clean --hosts did not remove the node, its daemon and mount on h1"
nothing_left "after clean --hosts of a disk run"
fi
echo "hosts_ssh ($part): ok"
