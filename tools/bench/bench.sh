#!/bin/bash
# The benchmark, the judge of the Performance targets: rawlb next to kernel routing, kernel
# nftables DNAT and HAProxy (mode tcp) on one namespace topology, in the same run. For each path:
# wrk keep-alive and "Connection: close" (--latency: p99), iperf3 one TCP stream and iperf3 64-byte
# UDP, each DUR seconds; then rawlb-replay at top speed: 64-byte stamped UDP over RFLOWS flows for
# RDUR seconds from the client to udp/9000 (balanced over rs1 and rs2 by nft and rawlb, rs1 itself
# for kernel routing; HAProxy is TCP only), counted by a `rawlb-replay --sink --one-way` on each real
# server's interface: offered pps from the sender's JSON, delivered pps = the sinks' own pps summed
# (each over its first to last frame), one-way latency of every stamped frame that arrived (the
# sinks' histograms added), loss = 1 - frames the sinks counted / frames offered (each sink runs
# until 2 s after its last frame, so what a balancer had queued still counts). Through rawlb that
# test is the overload one. Every frame lost past the client's link is looked for where it can be
# dropped, from counters read before and after the test: the kernel's drop counters of every
# interface of the path (`ip -s -s -j link` in each namespace), the host's backlog drops
# (/proc/net/softnet_stat), rawlb's own (Prometheus --metrics) and the sinks'.
# The paths are measured in turn and the whole round is repeated RUNS times (rounds interleave, so
# slow drift of the machine hits every path alike). Around every test the CPU time of every task in
# the director's and the real servers' namespaces (utime+stime from /proc/PID/task/TID/stat), of the
# load tool itself (the shell's `times`) and the machine's softirq time are taken.
# rawlb runs at its default --workers (mode lb: the targets' figures) and, when its --help offers
# --workers, again with each count of LB_WORKERS (modes lbwN).
#
# Prints one table row per round and path, the per-column medians with the ratios rawlb/nft and
# rawlb/haproxy, and the targets with a verdict computed from those medians (tools/bench/summary.py);
# writes them into BENCHMARKS.md and the medians and targets into README.md (between markers, through
# md_section.sh), appends a dated row to BENCHMARKS.md's History, and draws docs/bench.png (gnuplot,
# tools/bench/chart.gp): bars per metric, normalised to nft = 1. Ratios within one run, never
# absolute figures across runs.
#
# nginx, wrk, iperf3, nft and HAProxy are set up and invoked as in the planning team's reference
# anchors script, so the two agree; the topology is its topo.sh, copied to tools/bench/topo.sh
# (default offloads on every veth, bridge netfilter off). What is ours: a namespace prefix
# (TOPO_PREFIX, default "bn"; no per-run suffix, as the veth names carry the prefix and must stay
# within 15 characters, so at most 7: a second run with the same prefix is refused instead), a work
# directory, rounds and medians, the nft rule for udp/9000, rawlb-replay, CPU use, cleanup on exit.
#
# Everything runs inside the namespaces topo.sh makes (documentation address ranges); nothing is
# sent anywhere else.
# usage: sudo tools/bench/bench.sh [BUILD_DIR]   env: DUR=5 RUNS=3 CONNS=32 MODES="route nft haproxy lb"
#        LB_WORKERS="1 2" (modes lbw1 lbw2 added to the default MODES when rawlb has --workers;
#        LB_WORKERS= for none) RDUR=4 RFLOWS=64 (the rawlb-replay test; RDUR=0 leaves it out)
#        MD=BENCHMARKS.md README=README.md PNG=docs/bench.png (empty: not written) HISTORY=1 (0: no
#        History row) TOPO_PREFIX=bn WORK=/tmp/rawlb-bench.PREFIX RAWLB_REV=commit of the build,
#        when it is not the checkout's HEAD; PERF=1: rawlb's threads sampled by `perf record -e
#        cpu-clock` over each of its tests, the hottest symbols (kernel and rawlb) in WORK/profile.txt;
#        FORWARDER=floor: mode lb runs bench-floor, the yardstick of tools/bench/floor.sh, not rawlb
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
B=$here/tools/bench
build=$(cd "${1:-$here/build}" && pwd)
DUR=${DUR:-5}; RUNS=${RUNS:-3}; CONNS=${CONNS:-32}; RDUR=${RDUR:-4}; RFLOWS=${RFLOWS:-64}; RPORT=9000
PERF=${PERF:-0}; PERF_TOP=25 # symbols listed per test
SINK_IDLE=2          # s a sink waits after its last frame: what a balancer still had queued counts
METRICS=127.0.0.1:9109   # rawlb's Prometheus endpoint, inside the director's namespace only
SETTLE=2   # s before the replay test: the previous test's queues drain, rawlb's metrics (published
           # once a second) catch up, so the counters read before it are its own start
MD=${MD-$here/BENCHMARKS.md}; README=${README-$here/README.md}; PNG=${PNG-$here/docs/bench.png}
HISTORY=${HISTORY:-1}
export TOPO_PREFIX=${TOPO_PREFIX:-bn}
P=$TOPO_PREFIX; VIP=198.51.100.10; NR=203.0.113.1
W=${WORK:-/tmp/rawlb-bench.$P}
[ "$(id -u)" = 0 ] || { echo "run as root (namespaces)"; exit 2; }
[ ${#P} -le 7 ] || { echo "TOPO_PREFIX '$P': at most 7 characters (veth names)"; exit 2; }
[ -x "$build/rawlb" ] || { echo "no rawlb in $build: build first (cmake -S . -B build && cmake --build build)"; exit 2; }
REPLAY=$build/tools/replay/rawlb-replay
[ "$RDUR" = 0 ] || [ -x "$REPLAY" ] || { echo "no rawlb-replay in $build/tools/replay: build first, or RDUR=0"; exit 2; }
for b in ip nft wrk iperf3 haproxy nginx curl python3; do
  command -v $b >/dev/null || { echo "missing $b (tools/deps.sh)"; exit 2; }
done
[ -z "$PNG" ] || command -v gnuplot >/dev/null || { echo "missing gnuplot (tools/deps.sh), or run with PNG="; exit 2; }
# --workers: asked for by the Performance issue, not in every build yet
if "$build/rawlb" --help 2>&1 | grep -q -- '--workers'; then HAS_WORKERS=1; else HAS_WORKERS=0; fi
if [ $HAS_WORKERS = 1 ]; then LB_WORKERS=${LB_WORKERS-1 2}; else LB_WORKERS=${LB_WORKERS-}; fi
if [ -z "${MODES:-}" ]; then
  MODES="route nft haproxy lb"; for n in $LB_WORKERS; do MODES="$MODES lbw$n"; done
fi
for m in $MODES; do
  case $m in
  route|nft|haproxy|lb) ;;
  lbw[1-9]|lbw[1-9][0-9]) [ $HAS_WORKERS = 1 ] || { echo "mode $m: this rawlb has no --workers"; exit 2; } ;;
  *) echo "unknown mode $m (route nft haproxy lb lbwN)"; exit 2 ;;
  esac
done
for n in c lb1 rs1 rs2; do
  ip netns list | awk '{print $1}' | grep -qx "$P$n" && { echo "namespace $P$n exists: another run? (TOPO_PREFIX)"; exit 2; }
done
rm -rf "$W"; mkdir -p "$W"
LB_CMD="$build/rawlb -e ext -i int -n $NR -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80 \
 -t $VIP:5201 -r 203.0.113.11:5201 -u $VIP:5201 -r 203.0.113.11:5201 \
 -u $VIP:$RPORT -s rr -r 203.0.113.11:$RPORT -r 203.0.113.12:$RPORT --ctl $W/rawlb.sock --pidfile $W/rawlb.pid \
 --state-dir $W/state --metrics $METRICS"
if [ "${FORWARDER:-rawlb}" = floor ]; then # mode lb runs the yardstick instead (tools/bench/floor.sh)
  [ -x "$build/bench-floor" ] || { echo "no bench-floor in $build: build first"; exit 2; }
  # the MACs it sends to, read when it starts (sh -c in the director's namespace expands them)
  LB_CMD="$build/bench-floor ext int $VIP $NR 203.0.113.11 \$(ip netns exec ${P}rs1 cat /sys/class/net/eth0/address)\
 \$(ip netns exec ${P}c cat /sys/class/net/eth0/address)"
fi
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
  lb|lbw*) # not through the ns function: $! must be rawlb itself (ip netns exec and sh both exec)
      local flags=""; [ $1 = lb ] || flags="--workers ${1#lbw}"
      ip netns exec ${P}lb1 sh -c "exec $LB_CMD $flags" > $W/$1.$2.log 2>&1 & echo $! > $W/lb.pid
      TARGET=$VIP ;;
  esac
  for _ in $(seq 1 50); do ns ${P}c curl -s -m 1 -o /dev/null http://$TARGET/ && return 0; sleep 0.2; done
  log "$1: http://$TARGET/ does not answer"; return 1
}
is_lb() { case $1 in lb|lbw*) return 0 ;; esac; return 1; }
udp_rcvbuf_errors() { ns "$1" awk '/^Udp:/{ if(!h){for(i=1;i<=NF;i++) n[i]=$i; h=1} else {for(i=1;i<=NF;i++) if(n[i]=="RcvbufErrors") print $i} }' /proc/net/snmp; }
snap() { # label: the time, /proc/stat's cpu line, and per task of our director's and real servers'
         # namespaces "P label ns tid comm utime+stime" (ticks; the comm's spaces made _)
  echo "T $1 $(date +%s.%N)"
  echo "S $1 $(head -1 /proc/stat)"
  local n pid
  for n in lb1 rs1 rs2; do
    for pid in $(ip netns pids $P$n 2>/dev/null); do
      cat /proc/$pid/task/*/stat 2>/dev/null | awk -v l=$1 -v n=$n '{
        c = $0; sub(/^[0-9]+ \(/, "", c); sub(/\) [A-Za-z] .*/, "", c); gsub(/[ \t]/, "_", c)
        r = $0; sub(/.*\) /, "", r); split(r, f, " "); print "P", l, n, $1, c, f[12] + f[13] }'
    done
  done
}
measure() { # cpufile cmd...: runs cmd between two snaps; cpufile.client gets its own CPU (`times`)
  local f=$1; shift
  snap 0 > $f
  ( "$@"; times > $f.client )
  snap 1 >> $f
}
metrics() { is_lb $1 && ns ${P}lb1 curl -s -m 2 http://$METRICS/metrics; true; }
profiled() { # mode out test cmd...: cmd, with PERF=1 and a rawlb mode while perf samples rawlb's threads
  local m=$1 f=$2.$3.perf t=$3; shift 3
  if [ "$PERF" != 1 ] || ! is_lb $m; then "$@"; return; fi
  perf record -q -e cpu-clock -p "$(cat $W/lb.pid)" -o "$f" -- sleep "$DUR" > /dev/null 2>&1 & local pp=$!
  "$@"; wait $pp
  { echo "== $m $t: rawlb's samples by symbol (self)"
    perf report -i "$f" --stdio --no-children --sort dso,sym -q 2>/dev/null | grep -v '^$' | head -$PERF_TOP; } >> $W/profile.txt
}
links() { # every interface's counters in each namespace of the path ("L ns json": the kernel's own
          # drops on each hop), then /proc/net/softnet_stat ("N" lines: per CPU, its second column
          # the frames a full backlog dropped). softnet_stat is per host, not per namespace: read in
          # the director's, it still holds every namespace's backlog drops and the host's own.
  local n
  for n in c sw lb1 rs1 rs2; do echo "L $n $(ns $P$n ip -s -s -j link show)"; done
  ns ${P}lb1 sed 's/^/N /' /proc/net/softnet_stat
}
run_replay() { # mode run: rawlb-replay from the client into a sink on each real server
  local m=$1 r=$2 out=$W/$1.$2 i pids=""
  for i in 1 2; do
    rm -f $out.sink$i.json $out.sink$i.err
    ip netns exec ${P}rs$i "$REPLAY" --sink eth0 --json --no-flows --one-way --idle $SINK_IDLE \
      --duration $((RDUR + 60)) --filter "udp dst port $RPORT" > $out.sink$i.json 2> $out.sink$i.err &
    pids="$pids $!"
  done
  for i in 1 2; do
    for _ in $(seq 1 50); do grep -q "sink on" $out.sink$i.err 2>/dev/null && break; sleep 0.1; done
  done
  sleep $SETTLE
  metrics $m > $out.metrics0
  links > $out.links0
  snap 0 > $out.replay.cpu
  ( ns ${P}c timeout $((RDUR + 15)) "$REPLAY" -i eth0 --gen udp --size 64 --flows $RFLOWS --topspeed \
      --duration $RDUR --to $TARGET:$RPORT --json > $out.replay 2> $out.replay.err
    times > $out.replay.cpu.client )
  # A sink stops SINK_IDLE s after its last frame, so what a balancer still had queued is counted.
  # One that got nothing (rs2 under kernel routing) never does: 3 s after another one stopped, or
  # at the bound, SIGTERM (the sink prints its report then).
  local t=0 gone=-1 live
  while [ $t -lt $(((RDUR + 60) * 10)) ]; do
    live=0; for i in $pids; do alive $i && live=$((live + 1)); done
    [ $live = 0 ] && break
    [ $gone -lt 0 ] && [ $live -lt 2 ] && gone=$t
    [ $gone -ge 0 ] && [ $((t - gone)) -ge 30 ] && break
    sleep 0.1; t=$((t + 1))
  done
  for i in $pids; do stop_pid $i; done
  snap 1 >> $out.replay.cpu
  links > $out.links1
  metrics $m > $out.metrics1
}
run_load() { # mode run: appends "run mode metric value" lines to $W/results.tsv
  local m=$1 r=$2 out=$W/$1.$2 e0 e1 tests="ka close tcp"
  profiled $m $out ka measure $out.ka.cpu ns ${P}c wrk -t2 -c$CONNS -d${DUR}s --latency http://$TARGET/ > $out.ka 2>&1
  profiled $m $out close measure $out.close.cpu ns ${P}c wrk -t2 -c$CONNS -d${DUR}s --latency -H "Connection: close" \
    http://$TARGET/ > $out.close 2>&1
  profiled $m $out tcp measure $out.tcp.cpu ns ${P}c timeout $((DUR + 10)) iperf3 -c $TARGET -t $DUR -J > $out.tcp 2>&1
  if [ $m != haproxy ]; then
    e0=$(udp_rcvbuf_errors ${P}rs1)
    profiled $m $out udp measure $out.udp.cpu ns ${P}c timeout $((DUR + 10)) iperf3 -c $TARGET -u -l 64 -b 0 -t $DUR -J \
      > $out.udp 2>&1
    e1=$(udp_rcvbuf_errors ${P}rs1)
    echo "$r $m udp_rs_rcvbuf_errors $((e1 - e0))" >> $W/results.tsv
    tests="$tests udp"
    [ "$RDUR" = 0 ] || { run_replay $m $r; tests="$tests replay"; }
  fi
  python3 - "$m" "$r" "$out" "$tests" >> $W/results.tsv <<'PY'
import json, os, re, sys
m, r, out, tests = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
HZ = os.sysconf("SC_CLK_TCK")
def emit(k, v):
    print(r, m, k, v)
def wrk(kind):
    t = open("%s.%s" % (out, kind)).read()
    x = re.search(r"Requests/sec:\s+([\d.]+)", t)
    emit(kind + "_rps", x.group(1) if x else "NA")
    x = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)", t, re.M)
    emit(kind + "_p99_ms", "%.3f" % (float(x.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[x.group(2)]) if x else "NA")
    errs = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", t))
    x = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    emit(kind + "_errors", errs + (int(x.group(1)) if x else 0))
def cpu(test, span=None):
    # % of one core over the test (span: over the time frames flowed instead, for a test whose
    # readings also hold idle waits): the director's tasks (each task of 1% or more by name), the
    # real servers' side, the load tool; the machine's softirq and its whole busy time over the
    # readings' own interval (others' work in the waits would count against a shorter span)
    try:
        snaps = {"0": {}, "1": {}}
        wall, stat = {}, {}
        for line in open("%s.%s.cpu" % (out, test)):
            f = line.split()
            if f[0] == "T":
                wall[f[1]] = float(f[2])
            elif f[0] == "S":
                stat[f[1]] = [int(x) for x in f[3:]]
            elif f[0] == "P":
                snaps[f[1]][(f[2], f[3])] = (f[4], int(f[5]))
        wall_dt = wall["1"] - wall["0"]
        dt = span or wall_dt
        pct = lambda ticks: 100.0 * ticks / HZ / dt
        machine = lambda ticks: 100.0 * ticks / HZ / wall_dt
        lb, lb_tasks, rs = 0.0, [], 0.0
        for key, (comm, t1) in sorted(snaps["1"].items(), key=lambda kv: int(kv[0][1])):
            d = pct(t1 - snaps["0"].get(key, (comm, 0))[1])
            if key[0] == "lb1":
                lb += d
                if d >= 1:
                    lb_tasks.append("%s:%.0f" % (comm, d))
            else:
                rs += d
        t = open("%s.%s.cpu.client" % (out, test)).read().split()
        secs = lambda x: (lambda mm, ss: 60 * float(mm) + float(ss))(*re.match(r"([\d.]+)m([\d.]+)s", x).groups())
        client = 100.0 * (secs(t[2]) + secs(t[3])) / dt   # the second line: the children's user, sys
        s0, s1 = stat["0"], stat["1"]   # user nice system idle iowait irq softirq steal ...
        emit(test + "_cpu_lb", "%.0f" % lb)
        emit(test + "_cpu_lb_tasks", ",".join(lb_tasks) or "-")
        emit(test + "_cpu_rs", "%.0f" % rs)
        emit(test + "_cpu_client", "%.0f" % client)
        emit(test + "_cpu_softirq", "%.0f" % machine(s1[6] - s0[6]))
        emit(test + "_cpu_busy", "%.0f" % machine(sum(s1) - sum(s0) - (s1[3] + s1[4]) + (s0[3] + s0[4])))
    except Exception as e:
        emit(test + "_cpu_lb", "NA")
def counters(path):
    # every "rawlb_..." sample: name with its labels -> value
    c = {}
    try:
        for line in open(path):
            x = re.match(r"(rawlb_\w+)(\{[^}]*\})?\s+([\d.eE+]+)$", line.strip())
            if x:
                c[x.group(1) + (x.group(2) or "")] = float(x.group(3))
    except OSError:
        pass
    return c
def links(path):
    # (namespace, interface, counter) -> value for the kernel's drop counters of every interface,
    # and the host's backlog drops (softnet_stat's second column, hex, summed over the CPUs)
    c, backlog = {}, 0
    for line in open(path):
        f = line.split(" ", 2)
        if f[0] == "L":
            for i in json.loads(f[2]):
                rx, tx = i["stats64"]["rx"], i["stats64"]["tx"]
                c[(f[1], i["ifname"], "rx_dropped")] = rx["dropped"]
                c[(f[1], i["ifname"], "rx_missed")] = rx.get("missed_errors", 0)
                c[(f[1], i["ifname"], "tx_dropped")] = tx["dropped"]
        elif f[0] == "N":
            backlog += int(line.split()[2], 16)
    return c, backlog
def replay_span():
    # from the first frame sent to the last one a sink got (the sinks' readings end SINK_IDLE later)
    try:
        s = json.load(open(out + ".replay"))
        return max([s["elapsed_s"]] + [json.load(open("%s.sink%d.json" % (out, i)))["elapsed_s"] for i in (1, 2)])
    except Exception:
        return None
wrk("ka"); wrk("close")
for test in tests:
    cpu(test, replay_span() if test == "replay" else None)
try:
    d = json.load(open(out + ".tcp"))
    emit("tcp_gbit", "%.2f" % (d["end"]["sum_received"]["bits_per_second"] / 1e9))
except Exception:
    emit("tcp_gbit", "NA")
if "udp" in tests:
    try:
        s = json.load(open(out + ".udp"))["end"]["sum"]
        emit("udp_offered_kpps", "%.1f" % (s["packets"] / s["seconds"] / 1e3))
        emit("udp_delivered_kpps", "%.1f" % (s["packets"] * (1 - s["lost_percent"] / 100) / s["seconds"] / 1e3))
        emit("udp_loss_pct", "%.1f" % s["lost_percent"])
    except Exception:
        for k in ("udp_offered_kpps", "udp_delivered_kpps", "udp_loss_pct"):
            emit(k, "NA")
if "replay" in tests:
    try:
        s = json.load(open(out + ".replay"))
        sinks = [json.load(open("%s.sink%d.json" % (out, i))) for i in (1, 2)]
        got = sum(k["packets"] for k in sinks)
        emit("replay_offered", s["offered"])
        emit("replay_offered_kpps", "%.1f" % (s["offered"] / s["elapsed_s"] / 1e3))
        emit("replay_delivered_kpps", "%.1f" % (sum(k["pps"] for k in sinks) / 1e3))
        emit("replay_sink_s", "%.2f" % max(k["elapsed_s"] for k in sinks))   # first to last frame
        emit("replay_loss_pct", "%.1f" % (100.0 * (1 - got / s["offered"]) if s["offered"] else 0))
        emit("replay_link_drops", s["link_drops"])           # the client's own veth refused them
        emit("replay_sink_drops", sum(k["kernel_drops"] for k in sinks))   # the sinks' sockets
        emit("replay_seq_lost", sum(k["lost"] for k in sinks))   # gaps in the stamps' sequences
        emit("replay_rs_share", "/".join(str(k["packets"]) for k in sinks))
        # frames lost past the client's link: what the path (balancer, real server's link) lost
        emit("replay_lost", s["offered"] - s["link_drops"] - got)
        hist = {}
        for k in sinks:
            for low, n in k["one_way"]["hist"]:
                hist[low] = hist.get(low, 0) + n
        # nearest rank over the added buckets, reported as the bucket's upper edge like the sinks do
        upper = lambda low: low if low < 16 else low + (1 << (low.bit_length() - 5)) - 1
        total, top = sum(hist.values()), max(k["one_way"]["max_us"] for k in sinks) * 1e3
        for q, name in ((0.5, "p50"), (0.99, "p99")):
            rank, seen = int(q * (total - 1) + 0.5) + 1, 0
            for low in sorted(hist):
                seen += hist[low]
                if seen >= rank:
                    emit("replay_%s_ms" % name, "%.3f" % (min(upper(low), top) / 1e6))
                    break
        emit("replay_max_ms", "%.3f" % (max(k["one_way"]["max_us"] for k in sinks) / 1e3))
    except Exception:
        for k in ("replay_offered_kpps", "replay_delivered_kpps", "replay_loss_pct"):
            emit(k, "NA")
    # Where the frames past the client's link were dropped, from the counters read before and after
    # the test: the kernel's per interface (every hop of the path is a veth pair: a full backlog on
    # the receiving side counts into its rx_dropped and the sending side's tx_dropped alike) and rawlb's.
    try:
        (l0, b0), (l1, b1) = links(out + ".links0"), links(out + ".links1")
        d = {k: v - l0.get(k, 0) for k, v in l1.items()}
        emit("replay_ext_drops", d[("lb1", "ext", "rx_dropped")] + d[("lb1", "ext", "rx_missed")])
        emit("replay_int_tx_dropped", d[("lb1", "int", "tx_dropped")])
        emit("replay_rs_drops", sum(d[("rs%d" % i, "eth0", k)] for i in (1, 2) for k in ("rx_dropped", "rx_missed")))
        emit("replay_host_backlog_drops", b1 - b0)
        emit("replay_if_drops", ",".join("%s/%s:%s=%d" % (k[0], k[1], k[2], v) for k, v in sorted(d.items()) if v) or "-")
    except Exception:
        for k in ("replay_ext_drops", "replay_int_tx_dropped", "replay_rs_drops", "replay_host_backlog_drops"):
            emit(k, "NA")
    c0, c1 = counters(out + ".metrics0"), counters(out + ".metrics1")
    if c1:
        delta = {k: c1[k] - c0.get(k, 0) for k in c1}
        family = lambda name: {k: v for k, v in delta.items() if k == name or k.startswith(name + "{")}
        emit("replay_lb_ring_drops", "%d" % sum(family("rawlb_receive_buffer_drops_total").values()))
        # rawlb_overload_drops_total is newer than some builds: absent, it is not a zero
        overload = family("rawlb_overload_drops_total")
        emit("replay_lb_overload_drops", "%d" % sum(overload.values()) if overload else "NA")
        fastpath = family("rawlb_drops_total")
        emit("replay_lb_fastpath_drops", "%d" % sum(fastpath.values()))
        emit("replay_lb_drop_reasons", ",".join("%s=%d" % (re.sub(r'.*reason="(\w+)".*', r"\1", k), v)
                                                for k, v in sorted(fastpath.items()) if v) or "-")
        emit("replay_lb_send_failures", "%d" % sum(family("rawlb_send_failures_total").values()))
PY
  log "$m run $r: $(awk -v r=$r -v m=$m '$1==r && $2==m && $3 !~ /cpu/ {printf "%s=%s ", $3, $4}' $W/results.tsv)"
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
    if is_lb $m; then   # rawlb logs its counters when it stops: keep them next to the numbers
      stop_pid $(cat $W/lb.pid); rm -f $W/lb.pid
      grep -E 'frames:|dropped|connections:' $W/$m.$r.log | sed "s/^/round $r, $m: /" >> $W/rawlb-counters.txt
    fi
  done
done
lb_reset
load1=$(cut -d' ' -f1 /proc/loadavg)
rev=${RAWLB_REV:-$(git -C "$here" rev-parse --short HEAD)}
meta="$(date -u +%F), $(nproc) vCPU ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), kernel $(uname -r), \
1-minute load average $load0 before, at the start of each round:$loads, $load1 after; DUR=${DUR}s per test, $CONNS connections, rawlb-replay ${RDUR}s over $RFLOWS flows, $RUNS interleaved rounds; \
rawlb $rev ($(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)); \
$(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v | head -1 | awk '{print $1, $2, $3}'), nftables $(nft -v | awk '{print $2}'), \
wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), iperf3 $(iperf3 -v | head -1 | awk '{print $2}')"
cp $W/results.tsv $W/results.keep.tsv
python3 "$B/summary.py" --results "$W/results.tsv" --chart "$W/chart.dat" --meta "$meta" \
  --counters "$W/rawlb-counters.txt" --readme "$W/readme.md" --history-row "$W/history.md" \
  --date "$(date -u +%F)" --rev "$rev" --load "$load0" > $W/summary.md || exit 1
cat $W/summary.md
if [ -n "$PNG" ]; then
  mkdir -p "$(dirname "$PNG")"
  gnuplot -e "datafile='$W/chart.dat'; outfile='$PNG'; runs=$RUNS" "$B/chart.gp" && log "chart: $PNG"
fi
[ -z "$MD" ] || { "$B/md_section.sh" "$MD" bench < $W/summary.md; log "tables written to $MD"; }
[ -z "$README" ] || { "$B/md_section.sh" "$README" bench < $W/readme.md; log "medians and targets written to $README"; }
if [ -n "$MD" ] && [ "$HISTORY" = 1 ]; then   # History: the rows already there, then this run's
  sed -n '/<!-- history:begin -->/,/<!-- history:end -->/p' "$MD" | sed '1d;$d' > $W/history.all
  if [ -s $W/history.all ]; then tail -n 1 $W/history.md >> $W/history.all; else cp $W/history.md $W/history.all; fi
  "$B/md_section.sh" "$MD" history < $W/history.all && log "History row appended to $MD"
fi
log "raw output in $W"
