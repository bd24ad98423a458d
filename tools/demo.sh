#!/bin/bash
# rawlb demo on a fresh Debian 12 box (run as root from the source tree):
#   installs what is missing, builds, starts a client, a director running rawlb and two nginx real
#   servers in network namespaces (rlbdemo-PID-*), sends 10 requests through the VIP, shows rawlb-ctl list,
#   then cleans everything up.
#   --ha: two directors instead (a primary and a backup), and a failover live: a download and a ping
#   of the VIP run while the primary is killed with -9, comes back, and is stopped with SIGTERM.
#
#   client 198.51.100.100 ── director (rawlb: VIP 198.51.100.10, NAT router 203.0.113.1) ── rs1 203.0.113.11
#                         └─ (--ha) backup director 198.51.100.3 / 203.0.113.3            └─ rs2 203.0.113.12
set -euo pipefail
HA=0
case "${1:-}" in
  "") ;;
  --ha) HA=1 ;;
  *) echo "usage: tools/demo.sh [--ha]" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)"; exit 1; }

tools/deps.sh

echo "== building"
cmake -S . -B build >/dev/null && cmake --build build -j >/dev/null

P=rlbdemo-$$-; VIP=198.51.100.10; T=""
on() { local n=$1; shift; ip netns exec "$P$n" "$@"; }
NODES="c lb lb2 rs1 rs2 sw"
cleanup() {
  for n in $NODES; do
    for pid in $(ip netns pids $P$n 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  done
  sleep 0.5
  for n in $NODES; do ip netns del $P$n 2>/dev/null || true; done
  [ -z "$T" ] || rm -rf "$T"
}
trap cleanup EXIT
T=$(mktemp -d /tmp/rlbdemo.XXXXXX)

# --ha: a primary in lb and a backup in lb2, the same flags but role and peer; a failover live.
demo_ha() {
  printf 'rawlb-demo-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" > $T/ha.key
  chmod 600 $T/ha.key
  SVC="-e ext -i int -n 203.0.113.1 -t $VIP:80 -s wlc -r 203.0.113.11:80 -r 203.0.113.12:80 --ha-key $T/ha.key"
  ctl() { build/rawlb-ctl --ctl $T/$1.sock "${@:2}"; }
  start() { # ns role peer
    on $1 build/rawlb $SVC --ha-role $2 --ha-peer $3 --state-dir $T/state-$1 --ctl $T/$1.sock \
      --pidfile $T/$1.pid 2>> $T/$1.log &
    for i in $(seq 50); do ctl $1 status >/dev/null 2>&1 && break; sleep 0.1; done
  }
  state() { ctl $1 status 2>/dev/null | head -1; }
  wait_state() { for i in $(seq 100); do state $1 | grep -q ", $2 " && return 0; sleep 0.1; done; return 1; }
  mark() { wc -l < $T/ping.log; }
  gap() { # the longest time without an answer to the 10 ms ping since line $1 of its log, in ms
    tail -n +"$1" $T/ping.log |
      awk '/icmp_seq=/ { t = substr($1, 2, length($1) - 2) * 1000; if (n++ && t - l > w) w = t - l; l = t }
           END { printf "%.0f", (w > 10 ? w - 10 : 0) }'
  }
  echo "== starting the primary (lb) and the backup (lb2): heartbeats every 2 s, dead after 5 s"
  echo "   build/rawlb $SVC --ha-role primary|backup --ha-peer PEER ..."
  start lb primary 198.51.100.3; start lb2 backup 198.51.100.2
  wait_state lb master; wait_state lb2 backup
  echo "   lb:  $(state lb)"; echo "   lb2: $(state lb2)"
  echo "== a ping of the VIP every 10 ms and a download of 8 MB at 400 KB/s run through the primary"
  on c ping -D -n -i 0.01 $VIP > $T/ping.log 2>&1 &
  on c curl -s --limit-rate 400k -o $T/dl.bin http://$VIP/big.bin &
  DL=$!
  sleep 3
  echo "== kill -9 the primary"
  m=$(mark)
  kill -9 "$(cat $T/lb.pid)"
  wait_state lb2 master
  echo "   lb2: $(state lb2)"
  sleep 0.5
  echo "   time without answers (dead time 5 s after the last heartbeat): $(gap "$m") ms"
  sleep 2
  echo "== the primary comes back: it takes the backup's table and then its addresses back"
  m=$(mark)
  start lb primary 198.51.100.3
  wait_state lb master; wait_state lb2 backup
  echo "   lb:  $(state lb)"; echo "   lb2: $(state lb2)"
  sleep 1
  echo "   longest time without answers during the failback: $(gap "$m") ms"
  if wait $DL && { cmp -s $T/dl.bin $T/rs1/big.bin || cmp -s $T/dl.bin $T/rs2/big.bin; }; then
    echo "== the download went on through both switches: 8 MB, identical to the server's file"
  else
    echo "== the download FAILED (see $T)"
  fi
  echo "== SIGTERM on the primary: a planned switch-over"
  m=$(mark)
  kill -TERM "$(cat $T/lb.pid)"
  wait_state lb2 master
  sleep 1
  echo "   lb2: $(state lb2)"
  echo "   longest time without answers: $(gap "$m") ms"
  echo "== rawlb-ctl status on lb2"
  ctl lb2 status | sed 's/^/   /'
  echo "== stopping and cleaning up"
}

echo "== topology (namespaces ${P}*)"
for n in c lb rs1 rs2 sw; do ip netns add $P$n; on $n ip link set lo up; done
[ $HA = 0 ] || { ip netns add ${P}lb2; on lb2 ip link set lo up; }
on sw ip link add brext type bridge; on sw ip link add brint type bridge
on sw ip link set brext up; on sw ip link set brint up
link() { # ns ifname bridge addr
  ip link add $2 netns $P$1 type veth peer name $1-$2 netns ${P}sw
  on sw ip link set $1-$2 master $3 up; on $1 ip link set $2 up; on $1 ip addr add $4 dev $2
}
link c eth0 brext 198.51.100.100/24; on c ip route add default via $VIP
link lb ext brext 198.51.100.2/24;   link lb int brint 203.0.113.2/24
[ $HA = 0 ] || { link lb2 ext brext 198.51.100.3/24; link lb2 int brint 203.0.113.3/24; }
for i in 1 2; do
  link rs$i eth0 brint 203.0.113.1$i/24; on rs$i ip route add default via 203.0.113.1
  mkdir -p $T/rs$i; echo "hello from rs$i" > $T/rs$i/index.html
  [ $HA = 0 ] || head -c 8388608 /dev/urandom > $T/rs$i/big.bin
  cat > $T/rs$i/nginx.conf <<C
user root; daemon on; pid $T/rs$i/nginx.pid; error_log $T/rs$i/error.log;
events {}
http { access_log off; client_body_temp_path $T/rs$i; server { listen 80; root $T/rs$i; } }
C
  on rs$i nginx -e $T/rs$i/error.log -c $T/rs$i/nginx.conf
done

[ $HA = 0 ] || { demo_ha; exit 0; }

echo "== starting rawlb in ${P}lb"
CMD="build/rawlb -e ext -i int -n 203.0.113.1 -t $VIP:80 -s wlc -r 203.0.113.11:80:3 -r 203.0.113.12:80:1 --ctl $T/rawlb.sock --pidfile $T/rawlb.pid --state-dir $T/state"
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
