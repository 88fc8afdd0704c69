# lab.sh - the SSH lab the hosts tests share (scripts/ssh-lab.sh). Source it after setting
# $fl (faultline), $src (the source tree), $tmp (the test's temp dir) and fail().
#
#   lab_up NAME     makes a lab of 3 hosts named NAME in $tmp/lab (an aborted one of that name
#                   first removed); at exit the lab goes down, `faultline clean` runs and $tmp
#                   is removed (kept with FL_KEEP=1). Sets $name, $lab, $hosts.
#   inlab CMD...    runs CMD in the lab's control namespace
#   run_then_kill ERR PATTERN WHY ARGS...
#                   starts `faultline run ARGS...` in the control namespace, its stderr to ERR,
#                   waits (60 s at most) for a line of ERR matching PATTERN, else fails with
#                   WHY, then kills the harness with SIGKILL
#   run_then_stop ERR PATTERN WHY ARGS...
#                   the same with SIGSTOP: the harness is alive, so no other test's exit-time
#                   `faultline clean` takes its run while this one looks at it;
#                   kill_stopped then SIGKILLs it
#   nothing_left WHAT
#                   fails unless no host keeps a faultline nft table, anything in its workdir
#                   or a mount there, and no process carries a workdir marker of the lab
#   verdict FILE, faults FILE
#                   the verdict and the fault count of a run's stderr
labsh=$src/scripts/ssh-lab.sh

lab_up() {
  name=$1 lab=$tmp/lab hosts=$tmp/lab/hosts.json
  trap lab_down EXIT
  bash "$labsh" down --dir "$lab" --name "$name" >/dev/null 2>&1 || true
  bash "$labsh" up 3 --dir "$lab" --name "$name" >/dev/null
}

lab_down() {
  bash "$labsh" down --dir "$lab" --name "$name" >/dev/null 2>&1 || true
  "$fl" clean >/dev/null 2>&1 || true # what a failed run left in namespaces
  [[ -n ${FL_KEEP:-} ]] || rm -rf "$tmp"
}

inlab() { bash "$labsh" exec --dir "$lab" --name "$name" "$@"; }

# Signals the faultline in the control namespace (faultline execs faultline-harness, same pid,
# for every command but check), not inlab's shell, which is only its parent.
run_then_signal() { # SIG ERR PATTERN WHY ARGS...
  local sig=$1 err=$2 pattern=$3 why=$4 p
  shift 4
  inlab "$fl" run "$@" >/dev/null 2>"$err" &
  hpid=$!
  for _ in $(seq 1 300); do
    grep -q "$pattern" "$err" 2>/dev/null && break
    kill -0 $hpid 2>/dev/null || break
    sleep 0.2
  done
  grep -q "$pattern" "$err" || { cat "$err"; fail "$why"; }
  harness_pids=()
  for p in $(ip netns pids "$name-ctl"); do
    case $(readlink "/proc/$p/exe" 2>/dev/null) in
    "$fl" | "${fl%/*}/faultline-harness") harness_pids+=("$p"); kill -"$sig" "$p" ;;
    esac
  done
}
run_then_kill() { run_then_signal KILL "$@"; wait $hpid 2>/dev/null || true; }
run_then_stop() { run_then_signal STOP "$@"; }
kill_stopped() {
  local p
  for p in "${harness_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait $hpid 2>/dev/null || true
}

nothing_left() {
  local what=$1 k e left
  for k in 1 2 3; do
    left=$(ip netns exec "$name-h$k" nft list tables | grep faultline || true)
    [[ -z $left ]] || fail "$what: h$k keeps nft table(s): $left"
    left=$(ls -A "$lab/h$k/work")
    [[ -z $left ]] || fail "$what: h$k keeps $left in its workdir"
    # The host's mounts (its sshd's mount namespace): no disk-fault filesystem left.
    left=$(grep -F "$lab/h$k/work/" "/proc/$(cat "$lab/h$k/sshd.pid")/mounts" || true)
    [[ -z $left ]] || fail "$what: h$k keeps a mount: $left"
  done
  for e in /proc/[0-9]*/environ; do
    if grep -qszF "FAULTLINE_WORKDIR=$lab/" "$e"; then
      fail "$what: process ${e//[^0-9]/} still runs: $(tr '\0' ' ' <"${e%environ}cmdline")"
    fi
  done
}

verdict() { sed -n 's/^[^:]*: \(valid\|invalid\|unknown\) (seed.*/\1/p' "$1" | head -1; }
faults() { sed -n 's/.* info, \([0-9]*\) faults).*/\1/p' "$1" | head -1; }
