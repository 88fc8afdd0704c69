#!/usr/bin/env bash
# deps.sh - installs the Debian packages Faultline needs, only those missing.
# Sourced by test.sh and demo.sh; runs `apt-get update` at most once.
set -euo pipefail

FL_PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libuv1-dev libjansson-dev libpcap-dev libcriterion-dev
  # runs: namespaces, nemesis, capture, clocks, the etcd adapter, report rendering
  iproute2 nftables libnftables-dev iptables libnetfilter-queue-dev libmnl-dev
  tcpdump libfaketime faketime iputils-ping procps psmisc
  libcurl4-openssl-dev etcd-server etcd-client chromium tshark
  # the SSH lab (scripts/ssh-lab.sh) and campaigns over ssh runners
  openssh-server openssh-client python3
  # peer authentication (HMAC-SHA256 from OpenSSL) in the reference node
  libssl-dev
  # the client implementation's example and test (workloads/examples, Debian's python3-redis)
  redis-server python3-redis
  # the ready adapters (adapters/): Redis with Sentinel, ZooKeeper, their Python client libraries
  redis-sentinel zookeeper python3-kazoo
  # PostgreSQL 15 under transactions (adapters/postgresql) through psycopg2
  postgresql python3-psycopg2
  # NATS JetStream KV (adapters/nats; its client program speaks NATS's protocol itself)
  nats-server
  # disk faults: the FUSE filesystem under each node (`faultline fs`)
  fuse3 libfuse3-dev
  # MariaDB Galera Cluster (adapters/galera): the server, the Galera library, rsync for its
  # state transfers, python3-pymysql for the client program
  mariadb-server galera-4 rsync python3-pymysql
)

fl_install_deps() {
  local missing=()
  for p in "${FL_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  echo "== installing: ${missing[*]}"
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fl_stop_package_services
}

# Debian starts the services of some packages at install. Runs start their own nodes in
# namespaces (each with its own data folder), so none of them is left running in the root
# namespace; stopped and disabled only when they were just installed.
fl_stop_package_services() {
  local sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  if [[ " ${missing[*]} " == *" mariadb-server "* ]]; then
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
      $sudo systemctl disable --now mariadb >/dev/null 2>&1 || true
    else
      $sudo service mariadb stop >/dev/null 2>&1 || true
      $sudo systemctl disable mariadb >/dev/null 2>&1 || true
    fi
  fi
}
