#!/bin/bash
# Copied from the planning team's reference topology so the benchmark needs nothing outside
# the repository; unchanged but for this note. TOPO_PREFIX names the namespaces (tools/bench/bench.sh
# uses its own prefix so that it never touches namespaces of tests running at the same time).
# Lab topology in network namespaces (documentation address ranges, nothing leaves the namespaces).
#   client 198.51.100.100 --[br ext]-- lb1 198.51.100.2 / lb2 198.51.100.3 (HA=1)   VIP 198.51.100.10
#   lb1 203.0.113.2 / lb2 203.0.113.3 --[br int]-- rs1 .11 rs2 .12 rs3 .13   NAT router 203.0.113.1
# usage: topo.sh up [nrs] | down ; HA=1 adds director lb2; OFFLOAD=off disables tso/gso/gro/tx-csum on every veth
# (OFFLOAD=off is for experiments only: real hosts, containers and VMs keep offloads on)
set -e
P=${TOPO_PREFIX:-t}
ns() { ip netns exec "$@"; }
down() {
  for n in c lb1 lb2 rs1 rs2 rs3 sw; do ip netns del ${P}$n 2>/dev/null || true; done
}
up() {
  local nrs=${1:-2}
  down
  ip netns add ${P}sw
  ns ${P}sw ip link add brext type bridge; ns ${P}sw ip link add brint type bridge
  ns ${P}sw ip link set brext up; ns ${P}sw ip link set brint up
  ns ${P}sw ip link set lo up
  # bridge netfilter is loaded in these VMs and costs ~20%: keep bridged frames out of iptables/arptables
  for f in iptables ip6tables arptables; do ns ${P}sw sysctl -qw net.bridge.bridge-nf-call-$f=0 2>/dev/null || true; done
  link() { # ns ifname bridge addr
    ip netns list | grep -qw "$1" || { ip netns add $1; ns $1 ip link set lo up; }
    ip link add $2 netns $1 type veth peer name ${1}-$2 netns ${P}sw
    ns ${P}sw ip link set ${1}-$2 master $3 up
    ns $1 ip link set $2 up
    [ -n "$4" ] && ns $1 ip addr add $4 dev $2
    if [ "$OFFLOAD" = off ]; then
      ns $1 ethtool -K $2 tso off gso off gro off tx off >/dev/null 2>&1 || true
      ns ${P}sw ethtool -K ${1}-$2 tso off gso off gro off tx off >/dev/null 2>&1 || true
    fi
  }
  link ${P}c eth0 brext 198.51.100.100/24
  ns ${P}c ip route add default via 198.51.100.10
  link ${P}lb1 ext brext 198.51.100.2/24
  link ${P}lb1 int brint 203.0.113.2/24
  if [ "${HA:-0}" = 1 ]; then     # a second director for HA tests and demos
    link ${P}lb2 ext brext 198.51.100.3/24
    link ${P}lb2 int brint 203.0.113.3/24
  fi
  for i in $(seq 1 $nrs); do
    link ${P}rs$i eth0 brint 203.0.113.1$i/24
    ns ${P}rs$i ip route add default via 203.0.113.1
  done
}
"$@"
