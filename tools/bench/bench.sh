#!/bin/bash
# The benchmark: rawlb next to kernel routing, kernel nftables DNAT and HAProxy on one namespace
# topology, in the same run. For each path: wrk keep-alive, wrk "Connection: close", iperf3 TCP and
# iperf3 64-byte UDP, each DUR seconds; the four paths are measured in turn, and the whole round is
# repeated RUNS times (rounds interleave, so slow drift of the machine hits every path alike).
# Then rawlb-replay, the project's own replay tool: 64-byte stamped UDP over RFLOWS flows at top speed
# for RDUR seconds from the client to udp/9000 (balanced over rs1 and rs2 by nft and rawlb, rs1
# itself for kernel routing; HAProxy is TCP only), counted by a `rawlb-replay --sink` on each real
# server's interface: offered pps from the sender's JSON, delivered pps = the sinks' own pps summed
# (each over its first to last frame), loss = 1 - frames the sinks counted / frames offered (each
# sink runs until 2 s after its last frame, so what a balancer had queued still counts). The sinks
# count on an AF_PACKET socket: what reached the real server's link, not what an application read.
# Prints medians and the ratios rawlb/nft and rawlb/haproxy, writes them into BENCHMARKS.md and
# draws docs/bench.png (gnuplot, tools/bench/chart.gp): bars per metric, normalised to nft = 1.
#
# The load and the anchors are adapted from the planning team's reference anchor script (same
# nginx, HAProxy and nft set-ups, same wrk and iperf3 invocations); the topology is its topo.sh,
# copied to tools/bench/topo.sh. What changed: a namespace prefix of our own (TOPO_PREFIX, default
# "bn"; no per-run suffix, as the veth names carry the prefix and must stay within 15 characters:
# a second run at once is refused instead) and a work directory of our own, repetitions and
# medians, the UDP client's offered rate and
# the real server's UDP receive-buffer errors recorded next to the delivered rate, rawlb's own
# counters kept from its log, cleanup on exit.
#
# Everything runs inside the namespaces topo.sh makes (documentation address ranges); nothing is
# sent anywhere else.
# usage: sudo tools/bench/bench.sh [BUILD_DIR]   env: DUR=5 RUNS=3 CONNS=32 MODES="route nft haproxy lb"
#        MD=BENCHMARKS.md (MD= to not write it) PNG=docs/bench.png (PNG= for no chart) TOPO_PREFIX=bn
#        RAWLB_REV=commit of the build, when it is not the checkout's HEAD
#        RDUR=4 RFLOWS=64 (the rawlb-replay test; RDUR=0 leaves it out)
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
B=$here/tools/bench
build=$(cd "${1:-$here/build}" && pwd)
DUR=${DUR:-5}; RUNS=${RUNS:-3}; CONNS=${CONNS:-32}; RDUR=${RDUR:-4}; RFLOWS=${RFLOWS:-64}; RPORT=9000
MODES=${MODES:-route nft haproxy lb}
MD=${MD-$here/BENCHMARKS.md}; PNG=${PNG-$here/docs/bench.png}
export TOPO_PREFIX=${TOPO_PREFIX:-bn}
P=$TOPO_PREFIX; VIP=198.51.100.10; NR=203.0.113.1
W=${WORK:-/tmp/rawlb-bench.$P}
[ "$(id -u)" = 0 ] || { echo "run as root (namespaces)"; exit 2; }
[ -x "$build/rawlb" ] || { echo "no rawlb in $build: build first (cmake -S . -B build && cmake --build build)"; exit 2; }
REPLAY=$build/tools/replay/rawlb-replay
[ "$RDUR" = 0 ] || [ -x "$REPLAY" ] || { echo "no rawlb-replay in $build/tools/replay: build first, or RDUR=0"; exit 2; }
for b in ip nft wrk iperf3 haproxy nginx curl python3; do
  command -v $b >/dev/null || { echo "missing $b (tools/deps.sh)"; exit 2; }
done
[ -z "$PNG" ] || command -v gnuplot >/dev/null || { echo "missing gnuplot (tools/deps.sh), or run with PNG="; exit 2; }
for n in c lb1 rs1 rs2; do
  ip netns list | awk '{print $1}' | grep -qx "$P$n" && { echo "namespace $P$n exists: another run? (TOPO_PREFIX)"; exit 2; }
done
rm -rf "$W"; mkdir -p "$W"
LB_CMD="$build/rawlb -e ext -i int -n $NR -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80 \
 -t $VIP:5201 -r 203.0.113.11:5201 -u $VIP:5201 -r 203.0.113.11:5201 \
 -u $VIP:$RPORT -s rr -r 203.0.113.11:$RPORT -r 203.0.113.12:$RPORT --ctl $W/rawlb.sock --pidfile $W/rawlb.pid"
ns() { ip netns exec "$@"; }
log() { echo "[$(date +%T)] $*" >&2; }

start_rs() {
  for i in 1 2; do
    d=$W/rs$i; mkdir -p $d/html; head -c 1000 /dev/zero | tr '\0' x > $d/html/index.html; echo " rs$i" >> $d/html/index.html
    cat > $d/nginx.conf <<C
worker_processes 1; pid $d/nginx.pid; error_log $d/error.log; daemon on;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp; uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
  server { listen 80 reuseport backlog=4096; root $d/html; } }
C
    ns ${P}rs$i nginx -c $d/nginx.conf
    ns ${P}rs$i iperf3 -s -D -I $d/iperf3.pid
  done
  for i in 1 2; do ns ${P}rs$i sysctl -qw net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=4096; done
  ns ${P}c sysctl -qw net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
}
stop_rs() {
  for i in 1 2; do kill $(cat $W/rs$i/nginx.pid 2>/dev/null) 2>/dev/null; done
  for i in 1 2; do kill $(cat $W/rs$i/iperf3.pid 2>/dev/null) 2>/dev/null; done; true
}
alive() { [ -r /proc/$1/status ] && ! grep -q '^State:.*Z' /proc/$1/status 2>/dev/null; }  # a zombie is gone
stop_pid() { # pid: TERM, bounded wait, KILL
  kill "$1" 2>/dev/null
  for _ in $(seq 1 50); do alive "$1" || { wait "$1" 2>/dev/null; return 0; }; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null; wait "$1" 2>/dev/null; true
}
lb_reset() {
  ns ${P}lb1 nft flush ruleset 2>/dev/null
  ns ${P}lb1 ip addr del $VIP/24 dev ext 2>/dev/null; ns ${P}lb1 ip addr del $NR/24 dev int 2>/dev/null
  ns ${P}lb1 sysctl -qw net.ipv4.ip_forward=0 2>/dev/null
  [ -f $W/haproxy.pid ] && stop_pid $(cat $W/haproxy.pid); rm -f $W/haproxy.pid
  [ -f $W/lb.pid ] && stop_pid $(cat $W/lb.pid); rm -f $W/lb.pid; true
}
cleanup() {
  lb_reset; stop_rs
  for n in c lb1 rs1 rs2; do   # anything left in our own namespaces was started here
    for pid in $(ip netns pids $P$n 2>/dev/null); do kill -KILL $pid 2>/dev/null; done
  done
  "$B/topo.sh" down
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup_mode() { # mode run -> TARGET
  lb_reset
  case $1 in
  route) ns ${P}lb1 ip addr add $VIP/24 dev ext; ns ${P}lb1 ip addr add $NR/24 dev int
         ns ${P}lb1 sysctl -qw net.ipv4.ip_forward=1; TARGET=203.0.113.11 ;;
  nft)   ns ${P}lb1 ip addr add $VIP/24 dev ext; ns ${P}lb1 ip addr add $NR/24 dev int
         ns ${P}lb1 sysctl -qw net.ipv4.ip_forward=1
         ns ${P}lb1 nft -f - <<N
table ip lb {
  chain pre {
    type nat hook prerouting priority dstnat;
    ip daddr $VIP tcp dport 80 dnat to numgen inc mod 2 map { 0 : 203.0.113.11, 1 : 203.0.113.12 }
    ip daddr $VIP tcp dport 5201 dnat to 203.0.113.11
    ip daddr $VIP udp dport 5201 dnat to 203.0.113.11
    ip daddr $VIP udp dport $RPORT dnat to numgen inc mod 2 map { 0 : 203.0.113.11, 1 : 203.0.113.12 }
  }
}
N
         TARGET=$VIP ;;
  haproxy) ns ${P}lb1 ip addr add $VIP/24 dev ext; ns ${P}lb1 ip addr add $NR/24 dev int
         cat > $W/haproxy.cfg <<C
global
  maxconn 8000
  pidfile $W/haproxy.pid
  daemon
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen web
  bind $VIP:80
  balance leastconn
  server rs1 203.0.113.11:80
  server rs2 203.0.113.12:80
listen iperf
  bind $VIP:5201
  balance leastconn
  server rs1 203.0.113.11:5201
C
         ns ${P}lb1 haproxy -f $W/haproxy.cfg; sleep 0.5; TARGET=$VIP ;;
  lb) # not through the ns function: $! must be rawlb itself (ip netns exec and sh both exec)
      ip netns exec ${P}lb1 sh -c "exec $LB_CMD" > $W/lb.$2.log 2>&1 & echo $! > $W/lb.pid
      TARGET=$VIP ;;
  *) echo "unknown mode $1"; exit 2 ;;
  esac
  for _ in $(seq 1 50); do ns ${P}c curl -s -m 1 -o /dev/null http://$TARGET/ && return 0; sleep 0.2; done
  log "$1: http://$TARGET/ does not answer"; return 1
}
udp_rcvbuf_errors() { ns "$1" awk '/^Udp:/{ if(!h){for(i=1;i<=NF;i++) n[i]=$i; h=1} else {for(i=1;i<=NF;i++) if(n[i]=="RcvbufErrors") print $i} }' /proc/net/snmp; }
run_replay() { # mode run: rawlb-replay from the client into a sink on each real server
  local m=$1 r=$2 out=$W/$1.$2 i pids=""
  for i in 1 2; do
    rm -f $out.sink$i.json $out.sink$i.err
    ip netns exec ${P}rs$i "$REPLAY" --sink eth0 --json --idle 2 --duration $((RDUR + 60)) \
      --filter "udp dst port $RPORT" > $out.sink$i.json 2> $out.sink$i.err &
    pids="$pids $!"
  done
  for i in 1 2; do
    for _ in $(seq 1 50); do grep -q "sink on" $out.sink$i.err 2>/dev/null && break; sleep 0.1; done
  done
  ns ${P}c timeout $((RDUR + 15)) "$REPLAY" -i eth0 --gen udp --size 64 --flows $RFLOWS --topspeed \
    --duration $RDUR --to $TARGET:$RPORT --json > $out.replay 2> $out.replay.err
  # A sink stops 2 s after its last frame, so what a balancer still had queued is counted. One that
  # got nothing (rs2 under kernel routing) never does: 3 s after another one stopped, or at the
  # bound, SIGTERM (the sink prints its report then).
  local t=0 gone=-1 live
  while [ $t -lt $(((RDUR + 60) * 10)) ]; do
    live=0; for i in $pids; do alive $i && live=$((live + 1)); done
    [ $live = 0 ] && break
    [ $gone -lt 0 ] && [ $live -lt 2 ] && gone=$t
    [ $gone -ge 0 ] && [ $((t - gone)) -ge 30 ] && break
    sleep 0.1; t=$((t + 1))
  done
  for i in $pids; do stop_pid $i; done
}
run_load() { # mode run: appends "run mode metric value" lines to $W/results.tsv
  local m=$1 r=$2 out=$W/$1.$2 e0 e1
  ns ${P}c wrk -t2 -c$CONNS -d${DUR}s --latency http://$TARGET/ > $out.ka 2>&1
  ns ${P}c wrk -t2 -c$CONNS -d${DUR}s --latency -H "Connection: close" http://$TARGET/ > $out.close 2>&1
  ns ${P}c timeout $((DUR + 10)) iperf3 -c $TARGET -t $DUR -J > $out.tcp 2>&1
  if [ $m != haproxy ]; then
    e0=$(udp_rcvbuf_errors ${P}rs1)
    ns ${P}c timeout $((DUR + 10)) iperf3 -c $TARGET -u -l 64 -b 0 -t $DUR -J > $out.udp 2>&1
    e1=$(udp_rcvbuf_errors ${P}rs1)
    echo "$r $m udp_rs_rcvbuf_errors $((e1 - e0))" >> $W/results.tsv
    [ "$RDUR" = 0 ] || run_replay $m $r
  fi
  python3 - "$m" "$r" "$out" "$DUR" >> $W/results.tsv <<'PY'
import json, re, sys
m, r, out, dur = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
def emit(k, v):
    print(r, m, k, v)
def wrk(kind):
    t = open("%s.%s" % (out, kind)).read()
    x = re.search(r"Requests/sec:\s+([\d.]+)", t)
    emit(kind + "_rps", x.group(1) if x else "NA")
    x = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)", t, re.M)
    emit(kind + "_p99_ms", "%.2f" % (float(x.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[x.group(2)]) if x else "NA")
    errs = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", t))
    x = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    emit(kind + "_errors", errs + (int(x.group(1)) if x else 0))
wrk("ka"); wrk("close")
try:
    d = json.load(open(out + ".tcp"))
    emit("tcp_gbit", "%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    emit("tcp_gbit", "NA")
if m != "haproxy":
    try:
        s = json.load(open(out + ".udp"))["end"]["sum"]
        emit("udp_offered_kpps", "%.1f" % (s["packets"] / s["seconds"] / 1e3))
        emit("udp_delivered_kpps", "%.1f" % (s["packets"] * (1 - s["lost_percent"] / 100) / s["seconds"] / 1e3))
        emit("udp_loss_pct", "%.1f" % s["lost_percent"])
    except Exception:
        for k in ("udp_offered_kpps", "udp_delivered_kpps", "udp_loss_pct"):
            emit(k, "NA")
    try:
        s = json.load(open(out + ".replay"))
        sinks = [json.load(open("%s.sink%d.json" % (out, i))) for i in (1, 2)]
        got = sum(k["packets"] for k in sinks)
        emit("replay_offered_kpps", "%.1f" % (s["offered"] / s["elapsed_s"] / 1e3))
        emit("replay_delivered_kpps", "%.1f" % (sum(k["pps"] for k in sinks) / 1e3))
        emit("replay_sink_s", "%.2f" % max(k["elapsed_s"] for k in sinks))   # first to last frame
        emit("replay_loss_pct", "%.1f" % (100.0 * (1 - got / s["offered"]) if s["offered"] else 0))
        emit("replay_link_drops", s["link_drops"])           # the client's own veth refused them
        emit("replay_sink_drops", sum(k["kernel_drops"] for k in sinks))   # the sinks' sockets
        emit("replay_seq_lost", sum(k["lost"] for k in sinks))   # gaps in the stamps' sequences
        emit("replay_rs_share", "/".join(str(k["packets"]) for k in sinks))
    except Exception:
        for k in ("replay_offered_kpps", "replay_delivered_kpps", "replay_loss_pct"):
            emit(k, "NA")
PY
  log "$m run $r: $(awk -v r=$r -v m=$m '$1==r && $2==m {printf "%s=%s ", $3, $4}' $W/results.tsv)"
}

log "topology (namespaces ${P}*), real servers; DUR=$DUR RUNS=$RUNS CONNS=$CONNS modes: $MODES"
"$B/topo.sh" up 2 >/dev/null || { echo "topo.sh up failed"; exit 1; }
start_rs
: > $W/results.tsv
load0=$(cut -d' ' -f1 /proc/loadavg)
loads=""
for r in $(seq 1 $RUNS); do
  loads="$loads $(cut -d' ' -f1 /proc/loadavg)"   # others' work on the machine shows here too
  for m in $MODES; do
    setup_mode $m $r || { echo "$r $m setup_failed 1" >> $W/results.tsv; continue; }
    run_load $m $r
    if [ $m = lb ]; then   # rawlb logs its counters when it stops: keep them next to the numbers
      stop_pid $(cat $W/lb.pid); rm -f $W/lb.pid
      grep -E 'frames:|dropped' $W/lb.$r.log | sed "s/^/run $r: /" >> $W/rawlb-counters.txt
    fi
  done
done
lb_reset
load1=$(cut -d' ' -f1 /proc/loadavg)
meta="$(date -u +%F), $(nproc) vCPU ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), kernel $(uname -r), \
1-minute load average $load0 before, at the start of each round:$loads, $load1 after; DUR=${DUR}s per test, $CONNS connections, rawlb-replay ${RDUR}s over $RFLOWS flows, medians of $RUNS runs; \
rawlb ${RAWLB_REV:-$(git -C "$here" rev-parse --short HEAD)} ($(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)); \
$(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v | head -1 | awk '{print $1, $2, $3}'), nftables $(nft -v | awk '{print $2}'), \
wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), iperf3 $(iperf3 -v | head -1 | awk '{print $2}')"
cp $W/results.tsv $W/results.keep.tsv
python3 "$B/summary.py" "$W/results.tsv" "$W/chart.dat" "$meta" "$W/rawlb-counters.txt" > $W/summary.md || exit 1
cat $W/summary.md
if [ -n "$PNG" ]; then
  mkdir -p "$(dirname "$PNG")"
  gnuplot -e "datafile='$W/chart.dat'; outfile='$PNG'; runs=$RUNS" "$B/chart.gp" && log "chart: $PNG"
fi
[ -z "$MD" ] || { "$B/md_section.sh" "$MD" bench < $W/summary.md; log "table written to $MD"; }
log "raw output in $W"
