#!/bin/bash
# rawlb demo on a fresh Debian 12 box (run as root from the source tree):
#   installs what is missing, builds, starts a client, a director running rawlb and two nginx real
#   servers in network namespaces (rlbdemo-*), sends 10 requests through the VIP, shows rawlb-ctl list,
#   then cleans everything up.
#
#   client 198.51.100.100 ── director (rawlb: VIP 198.51.100.10, NAT router 203.0.113.1) ── rs1 203.0.113.11
#                                                                                        └─ rs2 203.0.113.12
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)"; exit 1; }

tools/deps.sh

echo "== building"
cmake -S . -B build >/dev/null && cmake --build build -j >/dev/null

P=rlbdemo-; VIP=198.51.100.10; T=""
on() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
cleanup() {
  for n in c lb rs1 rs2 sw; do
    for pid in $(ip netns pids $P$n 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  done
  sleep 0.5
  for n in c lb rs1 rs2 sw; do ip netns del $P$n 2>/dev/null || true; done
  [ -z "$T" ] || rm -rf "$T"
}
cleanup                      # leftovers of an interrupted run
trap cleanup EXIT
T=$(mktemp -d /tmp/rlbdemo.XXXXXX)

echo "== topology (namespaces ${P}*)"
for n in c lb rs1 rs2 sw; do ip netns add $P$n; on $n ip link set lo up; done
on sw ip link add brext type bridge; on sw ip link add brint type bridge
on sw ip link set brext up; on sw ip link set brint up
link() { # ns ifname bridge addr
  ip link add $2 netns $P$1 type veth peer name $1-$2 netns ${P}sw
  on sw ip link set $1-$2 master $3 up; on $1 ip link set $2 up; on $1 ip addr add $4 dev $2
}
link c eth0 brext 198.51.100.100/24; on c ip route add default via $VIP
link lb ext brext 198.51.100.2/24;   link lb int brint 203.0.113.2/24
for i in 1 2; do
  link rs$i eth0 brint 203.0.113.1$i/24; on rs$i ip route add default via 203.0.113.1
  mkdir -p $T/rs$i; echo "hello from rs$i" > $T/rs$i/index.html
  cat > $T/rs$i/nginx.conf <<C
user root; daemon on; pid $T/rs$i/nginx.pid; error_log $T/rs$i/error.log;
events {}
http { access_log off; client_body_temp_path $T/rs$i; server { listen 80; root $T/rs$i; } }
C
  on rs$i nginx -e $T/rs$i/error.log -c $T/rs$i/nginx.conf
done

echo "== starting rawlb in ${P}lb"
CMD="build/rawlb -e ext -i int -n 203.0.113.1 -t $VIP:80 -s wlc -r 203.0.113.11:80:3 -r 203.0.113.12:80:1 --ctl $T/rawlb.sock --pidfile $T/rawlb.pid"
echo "   $CMD"
on lb $CMD 2> $T/rawlb.log &
for i in $(seq 50); do build/rawlb-ctl --ctl $T/rawlb.sock list >/dev/null 2>&1 && break; sleep 0.1; done

echo "== 10 requests from the client to http://$VIP/ (weights 3:1)"
for i in $(seq 10); do
  printf '  %2d: %s\n' $i "$(on c curl -s --connect-timeout 2 -m 5 -H 'Connection: close' http://$VIP/ || echo FAILED)"
done

echo "== replaying the shipped capture (tools/replay/mixed.pcap, HTTP and DNS-like UDP) at 4x speed"
echo "   through the VIP; a sink on each real server counts what arrives (only :80 is a service here)"
SINKS=""
for i in 1 2; do
  ip netns exec ${P}rs$i build/tools/replay/rawlb-replay --sink eth0 --filter "tcp dst port 80" --idle 2 \
    --duration 20 --no-progress > $T/sink$i.txt 2>&1 &
  SINKS="$SINKS $!"
done
sleep 0.5
on c build/tools/replay/rawlb-replay -i eth0 -r tools/replay/mixed.pcap --to $VIP --speed 4 --no-progress 2>&1 | sed 's/^/   /'
wait $SINKS
for i in 1 2; do echo "   rs$i sink:"; sed 's/^/     /' $T/sink$i.txt; done

echo "== rawlb-ctl list"
build/rawlb-ctl --ctl $T/rawlb.sock list || { echo "rawlb log:"; tail $T/rawlb.log; }
echo "== stopping and cleaning up"
