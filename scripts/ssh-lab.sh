#!/usr/bin/env bash
# ssh-lab.sh - a lab of SSH hosts on this machine, for testing Faultline against "real hosts"
# without real machines: N network namespaces, each running OpenSSH's sshd on its own address
# with a host key and a client key made for the lab, and a control namespace to reach them
# from. Nothing is routed from the root namespace: commands that talk to the lab run in the
# control namespace (`ssh-lab.sh exec CMD...`).
#
#   scripts/ssh-lab.sh up N [--subnet A.B.C.0] [--dir DIR] [--name NAME]   make N hosts (1..16)
#   scripts/ssh-lab.sh down [--dir DIR] [--name NAME]     remove everything the lab made
#   scripts/ssh-lab.sh exec [--dir DIR] [--name NAME] CMD...   run CMD in the control namespace
#   scripts/ssh-lab.sh status [--dir DIR] [--name NAME]
#
# Layout (default subnet 203.0.113.0/24, TEST-NET-3; refused when it overlaps any address
# or route of the root namespace): namespace NAME-hub (NAME default fl-lab) holds bridge br0;
# NAME-ctl (.2) is the control side; NAME-hK (.10+K) are the hosts. Each host has its own
# folder DIR/hK (sshd_config, host key, pid file, and a workdir for what runs there), so
# nothing is shared by accident; each host's sshd has a mount namespace of its own (made by
# ip netns exec), where the disk faults' FUSE mounts live (/dev/fuse is the machine's).
# DIR/hosts.json lists the hosts in the form faultline campaign's "runners" and a scenario's
# "hosts" take: name, ssh, addr, port, identity, known_hosts. Labs of different NAMEs (and
# DIRs) run side by side, even on one subnet: no veth end of a lab is in the root namespace.
set -euo pipefail

cmd=${1:-}
[[ -n $cmd ]] && shift
dir=/tmp/fl-ssh-lab
subnet=203.0.113.0
name=fl-lab
n=0
if [[ $cmd == up ]]; then
  n=${1:-}
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 16)) || { echo "ssh-lab: up N: N in [1, 16]" >&2; exit 3; }
  shift
fi
while [[ $# -gt 0 ]]; do
  case $1 in
  --dir) dir=$2; shift 2 ;;
  --subnet) subnet=$2; shift 2 ;;
  --name) name=$2; shift 2 ;;
  *) break ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "ssh-lab: needs root (network namespaces)" >&2; exit 3; }
[[ $subnet =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)\.0$ ]] || { echo "ssh-lab: --subnet: expected A.B.C.0" >&2; exit 3; }
net=${subnet%.0}
# Namespace names NAME-hub, NAME-ctl, NAME-h16 stay short (ip netns, interface names).
[[ $name =~ ^[a-z][a-z0-9-]{0,11}$ ]] || { echo "ssh-lab: --name: [a-z][a-z0-9-], at most 12 characters" >&2; exit 3; }

hosts() { # the host namespaces the lab has now
  ip netns list | awk '{print $1}' | grep -E "^$name-h[0-9]+\$" || true
}

down() {
  for ns in $(hosts) "$name-ctl"; do
    ip netns list | awk '{print $1}' | grep -qx "$ns" || continue
    # Everything running in the host: sshd, sessions, what they started.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  if ip netns list | awk '{print $1}' | grep -qx "$name-hub"; then
    ip netns del "$name-hub"
  fi
  # What the lab's hosts started from their folders (a run's node in a namespace of its own).
  if [[ -d $dir ]]; then
    pkill -9 -f "^$dir/" 2>/dev/null || true
    rm -rf "$dir"
  fi
}

overlaps_root() { # 0 when the lab subnet meets any address or route of the root namespace
  local a
  for a in $(ip -4 -o addr show | awk '{print $4}') $(ip -4 route show | awk '{print $1}'); do
    [[ $a == default ]] && continue
    python3 - "$a" "$subnet/24" <<'EOF' && return 0
import ipaddress, sys
a = ipaddress.ip_network(sys.argv[1], strict=False)
b = ipaddress.ip_network(sys.argv[2])
sys.exit(0 if a.overlaps(b) else 1)
EOF
  done
  return 1
}

up() {
  if overlaps_root; then
    echo "ssh-lab: $subnet/24 overlaps an address or route of the root namespace; choose --subnet" >&2
    exit 3
  fi
  if [[ -n $(hosts) ]]; then
    echo "ssh-lab: a lab is up already (ssh-lab.sh down first)" >&2
    exit 3
  fi
  command -v sshd >/dev/null || [[ -x /usr/sbin/sshd ]] || { echo "ssh-lab: sshd missing (openssh-server)" >&2; exit 3; }
  trap 'echo "ssh-lab: failed; removing what was made" >&2; down' ERR
  mkdir -p "$dir"
  chmod 700 "$dir"
  mkdir -p /run/sshd # sshd's privilege separation folder
  ssh-keygen -q -t ed25519 -N '' -C fl-lab -f "$dir/id_ed25519"
  : >"$dir/known_hosts"

  local hub=$name-hub
  ip netns add "$hub"
  ip -n "$hub" link add br0 type bridge
  ip -n "$hub" link set br0 up
  ip -n "$hub" link set lo up
  attach() { # ns, address
    local ns=$1 addr=$2 v=${1#"$name"-}
    ip netns add "$ns"
    # Both ends made in their namespaces: no name in the root namespace to clash with
    # another lab's.
    ip link add "lab$v" netns "$hub" type veth peer name eth0 netns "$ns"
    ip -n "$hub" link set "lab$v" master br0 up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  }
  attach "$name-ctl" "$net.2"
  local json='{"hosts": ['
  for k in $(seq 1 "$n"); do
    local ns=$name-h$k addr=$net.$((10 + k)) h=$dir/h$k
    attach "$ns" "$addr"
    mkdir -p "$h/work" "$h/home"
    ssh-keygen -q -t ed25519 -N '' -C "$name-h$k" -f "$h/ssh_host_ed25519_key"
    cp "$dir/id_ed25519.pub" "$h/authorized_keys"
    cat >"$h/sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey $h/ssh_host_ed25519_key
PidFile $h/sshd.pid
AuthorizedKeysFile $h/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 64
MaxStartups 64:30:128
AcceptEnv LANG LC_*
# The host's own home: the machine's /root dotfiles (pyenv, prompts) stay out of the lab.
SetEnv HOME=$h/home
Subsystem sftp internal-sftp
EOF
    ip netns exec "$ns" /usr/sbin/sshd -f "$h/sshd_config"
    echo "$addr $(cut -d' ' -f1,2 "$h/ssh_host_ed25519_key.pub")" >>"$dir/known_hosts"
    ((k > 1)) && json+=', '
    json+="{\"name\": \"h$k\", \"ssh\": \"root@$addr\", \"addr\": \"$addr\", \"port\": 22, "
    json+="\"identity\": \"$dir/id_ed25519\", \"known_hosts\": \"$dir/known_hosts\", "
    json+="\"workdir\": \"$h/work\"}"
  done
  json+=']}'
  echo "$json" >"$dir/hosts.json"
  # Every sshd answers before we say the lab is up.
  for k in $(seq 1 "$n"); do
    local ok=0
    for _ in $(seq 1 50); do
      if ip netns exec "$name-ctl" ssh -o BatchMode=yes -o ConnectTimeout=2 -i "$dir/id_ed25519" \
        -o IdentitiesOnly=yes -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes \
        "root@$net.$((10 + k))" true 2>/dev/null; then
        ok=1
        break
      fi
      sleep 0.1
    done
    ((ok)) || { echo "ssh-lab: h$k does not answer ssh" >&2; false; }
  done
  trap - ERR
  echo "ssh-lab: $n hosts up ($net.11..$net.$((10 + n))); hosts file $dir/hosts.json"
}

case $cmd in
up) up ;;
down) down; echo "ssh-lab: down" ;;
exec)
  [[ $# -gt 0 ]] || { echo "ssh-lab: exec CMD..." >&2; exit 3; }
  exec ip netns exec "$name-ctl" "$@" ;;
status)
  for ns in $(hosts); do
    k=${ns#"$name"-h}
    if [[ -f $dir/h$k/sshd.pid ]] && kill -0 "$(cat "$dir/h$k/sshd.pid")" 2>/dev/null; then
      echo "h$k: sshd up"
    else
      echo "h$k: sshd down"
    fi
  done ;;
*) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; [[ $cmd == -h || $cmd == --help ]] || exit 3 ;;
esac
