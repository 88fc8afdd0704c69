#!/usr/bin/env bash
# client_cli.sh - `faultline client` against 3 real faultline-node processes on 127.0.0.1:
# put/get (every consistency level)/cas/delete/watch/members, join/promote/demote/leave of a
# 4th node, exit statuses, and a write after the leader is killed. Usage: client_cli.sh FAULTLINE FAULTLINE_NODE
# Nodes are killed and the temporary directory removed on any exit.
set -u
FL=${1:?usage: client_cli.sh FAULTLINE FAULTLINE_NODE}
NODE=${2:?usage: client_cli.sh FAULTLINE FAULTLINE_NODE}

TMP=$(mktemp -d /tmp/fl-client-cli.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "FAIL: $*" >&2
    for f in "$TMP"/n*.err; do echo "--- $f (tail)" >&2; tail -8 "$f" >&2; done
    exit 1
}

# A free range of 8 ports (peer, client for each of 4 nodes) below the ephemeral range
# (32768+ on Linux, where outgoing connections would take them): pick, check nobody listens.
port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
BASE=0
for try in $(seq 1 50); do
    b=$((20000 + (RANDOM % 1200) * 10))
    ok=1
    for i in 0 1 2 3 4 5 6 7; do port_free $((b + i)) || ok=0; done
    if [ $ok = 1 ]; then BASE=$b; break; fi
done
[ $BASE != 0 ] || fail "no free port range found"

peer() { echo "127.0.0.1:$((BASE + 2 * ($1 - 1)))"; }
cli() { echo "127.0.0.1:$((BASE + 2 * ($1 - 1) + 1))"; }
CLUSTER="$(cli 1),$(cli 2),$(cli 3)"

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/cluster.key"
start_node() {
    local k=$1 peers=""
    for j in 1 2 3; do
        [ $j = $k ] && continue
        peers="${peers:+$peers,}n$j=$(peer $j)/$(cli $j)"
    done
    "$NODE" --id "n$k" --peer-listen "$(peer $k)" --client-listen "$(cli $k)" --peers "$peers" \
        --secret-file "$TMP/cluster.key" --data "$TMP/n$k" 2>"$TMP/n$k.err" &
    PIDS[$k]=$!
}
for k in 1 2 3; do start_node $k; done

# Every client run is bounded (a hang is a failure with a message, not a stuck test).
c() { timeout -k 5 60 "$FL" client --cluster "$CLUSTER" --timeout-ms 10000 "$@"; }

# Wait for a leader (the members reply names it), without a fixed sleep budget per try.
leader=""
for try in $(seq 1 100); do
    out=$(c --timeout-ms 1000 members 2>/dev/null) && leader=$(echo "$out" | awk 'NR==1 && $2 != "(none)" {print $2}')
    [ -n "$leader" ] && break
    sleep 0.2
done
[ -n "$leader" ] || fail "no leader elected"
echo "leader: $leader"

expect() { # expect STATUS EXPECTED_STDOUT -- command...
    local want=$1 wout=$2
    shift 3
    local out rc
    out=$(c "$@" 2>"$TMP/stderr")
    rc=$?
    [ "$rc" = "$want" ] || fail "faultline client $*: exit $rc, expected $want ($(cat "$TMP/stderr"))"
    if [ -n "$wout" ] && [ "$out" != "$wout" ]; then
        fail "faultline client $*: printed '$out', expected '$wout'"
    fi
    if [ "$rc" != 0 ] && [ "$(wc -l <"$TMP/stderr")" != 1 ]; then
        fail "faultline client $*: expected one line on stderr, got: $(cat "$TMP/stderr")"
    fi
}

expect 0 ok -- put k1 v1
expect 0 '"v1"' -- get k1
expect 0 '"v1"' -- get k1 --consistency lease
expect 0 '"v1"' -- get k1 --consistency sequential
expect 0 ok -- cas k1 v1 v2
expect 1 '' -- cas k1 v1 v3
grep -q cas_mismatch "$TMP/stderr" || fail "cas mismatch not named: $(cat "$TMP/stderr")"
expect 0 '"v2"' -- get k1
expect 0 ok -- put k2 '{"a":[1,2]}'
expect 0 '{"a":[1,2]}' -- get k2
out=$(c --json get k2) || fail "get --json k2"
echo "$out" | grep -q '"outcome":"ok"' || fail "get --json: $out"
echo "$out" | grep -q '"value":{"a":\[1,2\]}' || fail "get --json value: $out"
expect 0 ok -- delete k2
expect 0 null -- get k2
expect 3 '' -- frobnicate
expect 3 '' -- get k1 --consistency strong

out=$(c members) || fail "members"
[ "$(echo "$out" | grep -c voter)" = 3 ] || fail "members: expected 3 voters: $out"
out=$(c --json members) || fail "members --json"
echo "$out" | grep -q '"members"' || fail "members --json: $out"

# watch: prints the change as a JSON line; writes are repeated until the watch has seen one
c watch k3 --count 1 >"$TMP/watch.out" 2>"$TMP/watch.err" &
wpid=$!
for i in $(seq 1 100); do
    kill -0 $wpid 2>/dev/null || break
    c put k3 "$i" >/dev/null 2>&1
    sleep 0.1
done
if kill -0 $wpid 2>/dev/null; then
    kill $wpid
    fail "watch saw no event after 100 writes ($(cat "$TMP/watch.err"))"
fi
wait $wpid || fail "watch exited $? ($(cat "$TMP/watch.err"))"
grep -q '"key":"k3"' "$TMP/watch.out" || fail "watch printed: $(cat "$TMP/watch.out")"

# membership: a 4th node started empty joins as passive, is promoted, demoted and leaves
"$NODE" --id n4 --peer-listen "$(peer 4)" --client-listen "$(cli 4)" --join --data "$TMP/n4" \
    --secret-file "$TMP/cluster.key" \
    2>"$TMP/n4.err" &
PIDS[4]=$!
expect 0 ok -- join n4 "$(peer 4)" "$(cli 4)" --role passive
expect 1 '' -- join n4 "$(peer 4)" "$(cli 4)"
out=$(c members) || fail "members after join"
echo "$out" | grep -q '^n4 *passive' || fail "n4 not passive after join: $out"
for try in $(seq 1 20); do # refused (busy) until n4 has caught up
    c --timeout-ms 5000 promote n4 >/dev/null 2>>"$TMP/promote.err" && break
    sleep 0.2
done
out=$(c members) || fail "members after promote"
echo "$out" | grep -q '^n4 *voter' || fail "n4 not a voter after promote: $out ($(cat "$TMP/promote.err"))"
expect 0 ok -- demote n4
expect 0 ok -- leave n4
out=$(c members) || fail "members after leave"
echo "$out" | grep -q '^n4' && fail "n4 still a member after leave: $out"

# kill -9 the leader: the client finds the new one and the write still succeeds
k=${leader#n}
kill -9 "${PIDS[$k]}"
wait "${PIDS[$k]}" 2>/dev/null
unset "PIDS[$k]"
expect 0 ok -- --timeout-ms 20000 put k1 after-failover
expect 0 '"after-failover"' -- get k1

echo "client_cli: ok"
