#!/usr/bin/env bash
# campaign_ssh.sh - faultline campaign over SSH runners: two hosts of the SSH lab
# (scripts/ssh-lab.sh: namespaces running sshd, each with its own copy of faultline), a
# matrix of 12 runs, and runner h2 killed (every process it runs) after the first runs
# finish. The campaign must finish every run on h1, say h2 was lost, write one summary,
# JUnit and campaign.json, and leave nothing on the surviving runner. Then faultline index
# lists the 12 runs, checked in headless Chromium when it is installed.
#
#   campaign_ssh.sh FAULTLINE FAULTLINE_NODE SOURCE_DIR
# Exit 77 (skipped) without root, sshd or python3.
set -euo pipefail
fl=$(readlink -f "$1")
node=$(readlink -f "$2")
src=$(readlink -f "$3")
[[ $(id -u) -eq 0 ]] || { echo "needs root"; exit 77; }
[[ -x /usr/sbin/sshd ]] || { echo "sshd missing (openssh-server)"; exit 77; }
command -v python3 >/dev/null || { echo "python3 missing"; exit 77; }

lab=$(mktemp -d /tmp/fl-campaign-lab.XXXXXX)
out=$(mktemp -d /tmp/fl-campaign-out.XXXXXX)
labsh="$src/scripts/ssh-lab.sh"
# A lab of its own name (namespaces flcs<pid>-*), so it runs beside other labs.
name=flcs$(($$ % 100000))
cleanup() {
  bash "$labsh" down --dir "$lab/lab" --name "$name" >/dev/null 2>&1 || true
  "$fl" clean >/dev/null 2>&1 || true # the runs the killed runner left
  rm -rf "$lab" "$out"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A lab of this name may be up from an aborted test: down first.
bash "$labsh" down --dir "$lab/lab" --name "$name" >/dev/null 2>&1 || true
bash "$labsh" up 2 --dir "$lab/lab" --name "$name"
for k in 1 2; do
  mkdir -p "$lab/lab/h$k/bin"
  # faultline execs faultline-harness from its own folder for all but check
  cp "$fl" "$(dirname "$fl")/faultline-harness" "$node" "$lab/lab/h$k/bin/"
done
python3 - "$lab/lab/hosts.json" "$lab/matrix.json" "$src" <<'EOF'
import json, sys
hosts = json.load(open(sys.argv[1]))["hosts"]
runners = [{"name": h["name"], "ssh": h["ssh"], "identity": h["identity"],
            "known_hosts": h["known_hosts"], "workdir": h["workdir"],
            "faultline": h["workdir"].rsplit("/", 1)[0] + "/bin/faultline", "jobs": 2} for h in hosts]
src = sys.argv[3]
json.dump({"name": "lab", "scenarios": [src + "/scenarios/partition-one.json", src + "/scenarios/kill.json"],
           "impls": ["reference", "reference:bug=stale-read"], "seeds": {"first": 1, "count": 3},
           "time_limit": 2, "warmup": 1, "heal": 1, "capture": False, "retries": 2,
           "runners": runners}, open(sys.argv[2], "w"))
EOF

# Refused before anything runs: host-key checking off without --insecure-host-keys.
python3 - "$lab/matrix.json" "$lab/insecure.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1])); m["runners"][0]["host_key_checking"] = "off"
json.dump(m, open(sys.argv[2], "w"))
EOF
set +e
"$fl" campaign "$lab/insecure.json" --out "$out/x" 2>"$lab/insecure.err"
rc=$?
set -e
[[ $rc -eq 3 ]] || fail "host_key_checking off accepted (exit $rc)"
grep -q "insecure-host-keys" "$lab/insecure.err" || fail "no word on --insecure-host-keys"

# The campaign, from the lab's control namespace; h2 dies once 3 runs are done.
bash "$labsh" exec --dir "$lab/lab" --name "$name" "$fl" campaign "$lab/matrix.json" --out "$out/c" \
  >"$lab/campaign.out" 2>"$lab/campaign.err" &
cpid=$!
for _ in $(seq 1 600); do
  (($(grep -c '^\[[0-9]*/12\]' "$lab/campaign.err" 2>/dev/null || true) >= 3)) && break
  kill -0 $cpid 2>/dev/null || break
  sleep 0.5
done
echo "killing runner h2"
for pid in $(ip netns pids "$name-h2"); do kill -9 "$pid" 2>/dev/null || true; done
pkill -9 -f "^$lab/lab/h2/" || true
set +e
wait $cpid
rc=$?
set -e
cat "$lab/campaign.err" "$lab/campaign.out"
[[ $rc -eq 0 ]] || fail "campaign exit $rc (the reference runs should all be valid)"
grep -q "runner h2 lost" "$lab/campaign.err" || fail "h2's loss not reported"

python3 - "$out/c/campaign.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
assert c["cells"] == 12, c["cells"]
runs = [r for s in c["scenarios"] for i in s["impls"] for r in i["runs"]]
assert len(runs) == 12, len(runs)
bad = [r for r in runs if r["verdict"] not in ("valid", "invalid", "unknown")]
assert not bad, bad
ref = [r for s in c["scenarios"] for i in s["impls"] if i["spec"] == "reference" for r in i["runs"]]
assert all(r["verdict"] == "valid" for r in ref), ref
rs = {r["name"]: r for r in c["runners"]}
assert rs["h2"]["lost"] and not rs["h1"]["lost"], rs
assert rs["h1"]["runs"] + rs["h2"]["runs"] == 12, rs
assert len(c["retried"]) >= 1, "a run lost with h2 was retried"
print("campaign.json: 12 runs, h2 lost after %d runs, %d retried" % (rs["h2"]["runs"], len(c["retried"])))
EOF
python3 -c "import xml.dom.minidom,sys; d=xml.dom.minidom.parse(sys.argv[1]); assert len(d.getElementsByTagName('testcase'))==4" \
  "$out/c/junit.xml" || fail "junit.xml"
[[ -s $out/c/summary.txt ]] || fail "no summary.txt"

# Nothing left on the surviving runner: no campaign folder, no faultline process.
[[ -z $(ls -A "$lab/lab/h1/work") ]] || fail "left on h1: $(ls -A "$lab/lab/h1/work")"
if pgrep -f "^$lab/lab/h1/bin/" >/dev/null; then fail "a faultline process left on h1"; fi

"$fl" index "$out/c" | grep -q "(12 runs)" || fail "index does not list 12 runs"
chrome=$(command -v chromium || true)
if [[ -n $chrome ]]; then
  rows=$("$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$lab/chrome" --dump-dom "file://$out/c/index.html" 2>/dev/null |
    grep -o '<tr data-scenario' | wc -l)
  [[ $rows -eq 12 ]] || fail "index.html in Chromium: $rows rows"
  "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$lab/chrome" --dump-dom "file://$out/c/index.html" 2>/dev/null |
    grep -q 'id="count">12 of 12 runs' || fail "index.html's filter script did not run"
fi
echo "campaign_ssh: ok"
