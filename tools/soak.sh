#!/bin/bash
# Soak (not in CI; run by hand, as root, before a release): two directors in an HA pair under a
# steady mixed load for SOAK_SECONDS while health flaps, runtime edits and HA switches happen on a
# schedule; afterwards every connection count must go back to zero and the memory must be flat.
#
#   client 198.51.100.100 ── lb1 198.51.100.2 / 203.0.113.2 (primary) ──┬── rs1 203.0.113.11  nginx :80, udpd :53
#                        └── lb2 198.51.100.3 / 203.0.113.3 (backup)  ──┤── rs2 203.0.113.12
#   VIP 198.51.100.10 (TCP :80 wlc, UDP :53 rr), NAT router 203.0.113.1 └── rs3 203.0.113.13
#
# Load from the client (tools/soakload.py): HTTP with "Connection: close" and over keep-alive
# connections, UDP queries (a new flow every few), and throttled 10 MB downloads that span the
# events. Events, one every EVENT_EVERY seconds in a fixed cycle, each logged with its time:
# kill -9 of the master (lb1), its return and failback; SIGTERM of the master and its return;
# `ha release` / `ha takeover`; nginx of rs3 stopped until the health check takes it out, then
# started until it is back in; rs2 deleted and added again; weights changed (TCP and UDP); the
# scheduler switched (rr, back to wlc). Edits go to whichever director is master.
# Every SAMPLE_SECONDS: each director's RSS (VmRSS of its rawlb process: one process whatever
# --workers), ActiveConn and InActConn summed over `rawlb-ctl list`, rawlb_conn_table_entries
# from its --metrics, and its HA state (WORK/samples.tsv).
# At the end the load stops and the entries expire (short --timeouts: under a minute or two). Checks:
#   - ActiveConn, InActConn and the table's entries back to 0 on both directors;
#   - RSS of lb2 after the drain within RSS_TOLERANCE_PCT of its first sample after WARMUP_SECONDS
#     (the baseline). lb2 is never killed by the script, so it runs the whole soak: it holds the
#     synced table throughout and forwards while lb1 is away. lb1 is restarted by the HA events:
#     its RSS is reported per run of it, and judged like lb2's only if it was not restarted after
#     the warm-up;
#   - no rawlb died but those the script killed, and both exit 0 at the final SIGTERM;
#   - every event completed (a takeover, a failback, a health transition within its bound);
#   - failed requests: counted per kind of event whose window they fall in (an event's window runs
#     from its start to GRACE_SECONDS after it completed); failures outside every window fail the soak.
# Prints a summary table; exits 1 if a check failed, 2 on a usage error or a failed set-up.
#
# usage: sudo tools/soak.sh [BUILD_DIR]        (BUILD_DIR: where rawlb and rawlb-ctl are; default build)
# env:   SOAK_SECONDS=600 WARMUP_SECONDS=150 EVENT_EVERY=8 SAMPLE_SECONDS=5 RSS_TOLERANCE_PCT=5
#        CLOSE_RATE=10 KA_RATE=10 UDP_RATE=10 DOWNLOADS=2 DL_RATE=400000 (bytes/s each)
#        KEEP=1 keeps the work directory (logs, samples, events, failures)
# Namespaces rlbsoak-PID-*, a work directory /tmp/rlbsoak.XXXXXX; both removed on every exit.
set -uo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
# The warm-up is a cycle of the events (14, one every EVENT_EVERY=8 s) and the next kill -9: RSS is
# memory touched, not allocated, and rawlb's big buffers are backed only as they are first used:
# each capture socket's 64 frame slots of 64 KiB as bigger GSO frames land in them, the HA sync
# window (256 datagrams) and queue (65536 entries) as a master sends through them (the backup's only
# after its takeovers), the connection pool up to its high-water mark. In short runs lb2's RSS rose
# in steps of 0.2-0.8 MB at its first two kill -9 takeovers and not after; so the baseline comes
# after every kind of event has happened once and the master was killed twice.
SOAK_SECONDS=${SOAK_SECONDS:-600}; WARMUP_SECONDS=${WARMUP_SECONDS:-150}
EVENT_EVERY=${EVENT_EVERY:-8}; SAMPLE_SECONDS=${SAMPLE_SECONDS:-5}; RSS_TOLERANCE_PCT=${RSS_TOLERANCE_PCT:-5}
CLOSE_RATE=${CLOSE_RATE:-10}; KA_RATE=${KA_RATE:-10}; UDP_RATE=${UDP_RATE:-10}
DOWNLOADS=${DOWNLOADS:-2}; DL_RATE=${DL_RATE:-400000}
FIRST_EVENT=5          # s into the load before the first event: every load thread has begun
PRINT_EVERY=30         # s between progress lines (every sample goes to samples.tsv)
TICK=0.1               # s between two turns of the main loop and of every wait (samples and
TICKS_PER_S=10         # events are due on whole seconds)
SHOW_LINES=20          # lines of a left-over table or of stray failures shown in the summary
TIMEOUTS=30,10,15      # --timeouts TCP,TCPFIN,UDP: short, so the table drains within the drain bound
DRAIN_MAX=150          # s for every count to reach 0 after the load stopped: CLOSE_WAIT lives
                       # 60 s and SYN_SENT 120 s whatever --timeouts says (lb/conn.c)
REQ_TIMEOUT=10         # s the client gives one HTTP request: longer than a kill -9 takeover
UDP_TIMEOUT=1          # s for a UDP answer: a query lost (in a takeover's dead time) is a failure
GRACE_SECONDS=$((REQ_TIMEOUT + 2))  # after an event: a request begun within it may fail this late
HEALTH="--check-interval 1 --check-timeout 3 --reentry 5"  # a flap takes seconds, not minutes
HA_TIMING="--ha-interval 0.5 --ha-deadtime 2"              # as the e2e HA tests
TAKEOVER_MAX=10        # s for a takeover or failback to show in rawlb-ctl status
HEALTH_MAX=15          # s for a health transition (check timeout 3 s, re-entry 5 s, and slack)
START_MAX=10           # s for a daemon's control socket or a server's listener
STOP_MAX=10            # s for a process to exit after SIGTERM
CTL_MAX=5              # s for one rawlb-ctl command or one scrape of /metrics
METRICS_PORT=9109      # each director's --metrics, on its own namespace's loopback
BIG_BYTES=10485760     # the download's size

P=rlbsoak-$$-; ROLES="c lb1 lb2 rs1 rs2 rs3 sw"
VIP=198.51.100.10; CIP=198.51.100.100; NAT=203.0.113.1
HTTP_PORT=80; UDP_PORT=53
PY=$(python3 -c "import sys; print(sys.executable)" 2>/dev/null)
W=""; PIDS=(); T0=0
declare -A D_PID=() NGINX_PID=()

say() { echo "[$(date -u +%T)] $*"; }
die() { echo "soak: $*" >&2; exit 2; }
on() { local n=$1; shift; ip netns exec "$P$n" "$@"; }   # not for background processes
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
rel() { echo $(( ($(now_ms) - T0) / 1000 )); }           # seconds since the load began
forget() { local p keep=(); for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; PIDS=("${keep[@]}"); }

# wait_for SECONDS CMD...: 0 as soon as CMD succeeds, 1 when the time is up
wait_for() {
  local t=$1 i; shift
  for ((i = 0; i < t * TICKS_PER_S; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep $TICK; done
  return 1
}
# gone PID: exited (a zombie not yet reaped counts as gone)
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# stop_pid PID: SIGTERM, a bounded wait, then SIGKILL; reaps it; returns its exit status
stop_pid() {
  local rc
  kill -TERM "$1" 2>/dev/null
  wait_for $STOP_MAX gone "$1" || kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null; rc=$?; forget "$1"; return $rc
}

cleanup() {
  local rc=$? pid r
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait_for $STOP_MAX gone "$pid" || kill -KILL "$pid" 2>/dev/null; done
  for r in $ROLES; do
    [ -e "/run/netns/$P$r" ] || continue
    for pid in $(ip netns pids "$P$r" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$P$r" 2>/dev/null
  done
  if [ -n "$W" ]; then
    if [ "${KEEP:-0}" = 1 ]; then echo "soak: work directory kept: $W"; else rm -rf "$W"; fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ $# -le 1 ] || { echo "usage: $0 [BUILD_DIR]" >&2; exit 2; }
BIN=$(cd "${1:-$HERE/build}" 2>/dev/null && pwd) || die "no build directory ${1:-$HERE/build}"
RAWLB=$BIN/rawlb; CTL=$BIN/rawlb-ctl
[ -x "$RAWLB" ] && [ -x "$CTL" ] || die "no rawlb or rawlb-ctl in $BIN (cmake --build first)"
[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
for tool in ip nginx curl python3 ss awk sha256sum timeout od; do command -v $tool >/dev/null || die "missing $tool (tools/deps.sh)"; done
for v in SOAK_SECONDS WARMUP_SECONDS EVENT_EVERY SAMPLE_SECONDS RSS_TOLERANCE_PCT; do
  [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "$v='${!v}': a positive whole number of seconds"
done
[ "$WARMUP_SECONDS" -lt "$SOAK_SECONDS" ] || die "WARMUP_SECONDS ($WARMUP_SECONDS) must be less than SOAK_SECONDS ($SOAK_SECONDS)"
W=$(mktemp -d /tmp/rlbsoak.XXXXXX) || die "mktemp"

# ---- topology ----
mkns() { ip netns add "$P$1" || die "ip netns add $P$1"; on "$1" ip link set lo up; }
link() { # NS IFNAME PEERNAME BRIDGE ADDR/LEN: a veth from NS to a bridge in ns sw
  ip link add "$2" netns "$P$1" type veth peer name "$3" netns "${P}sw" || die "veth $1/$2"
  on sw ip link set "$3" master "$4" up && on "$1" ip link set "$2" up &&
    on "$1" ip addr add "$5" dev "$2" || die "link $1/$2"
}
mkns sw
on sw ip link add brext type bridge && on sw ip link add brint type bridge || die "bridges"
on sw ip link set brext up; on sw ip link set brint up
for f in iptables ip6tables arptables; do on sw sysctl -qw net.bridge.bridge-nf-call-$f=0 2>/dev/null; done
mkns c; link c eth0 c-eth0 brext $CIP/24; on c ip route add default via $VIP || die "client route"
for n in 1 2; do
  mkns lb$n; link lb$n ext lb$n-ext brext 198.51.100.$((n + 1))/24; link lb$n int lb$n-int brint 203.0.113.$((n + 1))/24
done
for i in 1 2 3; do
  mkns rs$i; link rs$i eth0 rs$i-eth0 brint 203.0.113.1$i/24
  on rs$i ip route add default via $NAT || die "rs$i route"
done

# ---- real servers: nginx on :80 (index "rsN", /big.bin), the UDP responder on :53 ----
listening() { local f=-Hltn; [ "$2" = udp ] && f=-Hlun; [ -n "$(on "$1" ss $f "sport = :$3")" ]; }
head -c $BIG_BYTES /dev/urandom > "$W/big.bin"
BIG_SHA=$(sha256sum "$W/big.bin" | awk '{ print $1 }')
nginx_start() { # I: nginx of rsI in the foreground of its own process (the pid kept is nginx's)
  local i=$1 d=$W/rs$1
  rm -f "$d/nginx.pid"
  ip netns exec "${P}rs$i" nginx -e "$d/error.log" -c "$d/nginx.conf" &
  NGINX_PID[$i]=$!; PIDS+=($!)
  wait_for $START_MAX listening rs$i tcp $HTTP_PORT
}
nginx_stop() { # I: SIGTERM (nginx's fast shutdown: open connections are closed), port closed
  stop_pid "${NGINX_PID[$1]}"; unset "NGINX_PID[$1]"
  wait_for $START_MAX bash -c "! ip netns exec ${P}rs$1 ss -Hltn 'sport = :$HTTP_PORT' | grep -q ."
}
for i in 1 2 3; do
  d=$W/rs$i; mkdir -p "$d/html" "$d/tmp"
  echo "rs$i" > "$d/html/index.html"; ln "$W/big.bin" "$d/html/big.bin"
  cat > "$d/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $d/tmp;
  default_type application/octet-stream;
  server { listen $HTTP_PORT; root $d/html; }
}
EOF
  nginx_start $i || die "nginx on rs$i did not start: $(cat "$d/error.log")"
  ip netns exec "${P}rs$i" "$PY" "$HERE/test/e2e/nethelper.py" udpd rs$i $UDP_PORT > "$W/udpd$i.log" 2>&1 &
  PIDS+=($!)
  wait_for $START_MAX listening rs$i udp $UDP_PORT || die "udpd on rs$i did not start: $(cat "$W/udpd$i.log")"
done

# ---- the two directors ----
printf 'rawlb-soak-%s\n' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$W/ha.key"
chmod 600 "$W/ha.key"
ARGS=(-e ext -i int -n $NAT --timeouts $TIMEOUTS $HA_TIMING $HEALTH
      -t $VIP:$HTTP_PORT -s wlc -r 203.0.113.11:$HTTP_PORT -r 203.0.113.12:$HTTP_PORT -r 203.0.113.13:$HTTP_PORT
      -u $VIP:$UDP_PORT -s rr -r 203.0.113.11:$UDP_PORT -r 203.0.113.12:$UDP_PORT -r 203.0.113.13:$UDP_PORT)
dctl() { local n=$1; shift; timeout $CTL_MAX "$CTL" --ctl "$W/lb$n.sock" "$@"; }
ha_state() { dctl "$1" status 2>/dev/null | sed -nE '1s/^HA: [a-z]+, ([a-z]+) .*/\1/p'; }
is_state() { [ "$(ha_state "$1")" = "$2" ]; }
declare -A RUNS=()   # director -> its runs so far (lb1 is restarted by the HA events)
start_director() { # N ROLE: rawlb in ns lbN, appending to lbN.log; waits for its control socket
  local n=$1 role=$2 peer pid
  [ "$n" = 1 ] && peer=198.51.100.3 || peer=198.51.100.2
  ip netns exec "${P}lb$n" "$RAWLB" "${ARGS[@]}" --ha-role "$role" --ha-peer $peer --ha-key "$W/ha.key" \
    --state-dir "$W/state$n" --ctl "$W/lb$n.sock" --pidfile "$W/lb$n.pid" --metrics 127.0.0.1:$METRICS_PORT \
    >> "$W/lb$n.log" 2>&1 &
  pid=$!; PIDS+=($pid); D_PID[$n]=$pid; RUNS[$n]=$((${RUNS[$n]:-0} + 1))
  echo "$pid $n ${RUNS[$n]}" >> "$W/runs.txt"
  wait_for $START_MAX dctl "$n" status
}
say "namespaces ${P}*, work directory $W"
say "rawlb ${ARGS[*]} --ha-role primary|backup ..."
start_director 1 primary || die "lb1 did not start: $(tail -n 5 "$W/lb1.log")"
start_director 2 backup || die "lb2 did not start: $(tail -n 5 "$W/lb2.log")"
wait_for $TAKEOVER_MAX is_state 1 master || die "lb1 is not master: $(dctl 1 status)"
wait_for $TAKEOVER_MAX is_state 2 backup || die "lb2 is not backup: $(dctl 2 status)"
wait_for $TAKEOVER_MAX on c curl -sf -m $CTL_MAX -o /dev/null http://$VIP/ || die "no answer from http://$VIP/"

# ---- sampling ----
# sample: one line per director to samples.tsv: t pid state rss_kb active inactive entries
# (fields "-" when the director is not running or does not answer)
metric_sum() { # N NAME: NAME summed over its label sets in director N's /metrics
  on lb$1 curl -s -m $CTL_MAX "http://127.0.0.1:$METRICS_PORT/metrics" |
    awk -v name="$2" '{ k = $1; sub(/\{.*/, "", k) } k == name { s += $2; f = 1 } END { if (f) print s; else print "-" }'
}
declare -A LAST=()
sample() {
  local n pid rss st counts ent t line
  t=$(rel)
  for n in 1 2; do
    pid=${D_PID[$n]:-}
    if [ -z "$pid" ] || gone "$pid"; then
      line="$t lb$n - down - - - -"
    else
      rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$pid/status 2>/dev/null)
      st=$(ha_state $n)
      counts=$(dctl $n list 2>/dev/null | awk '/^ +->/ && $5 ~ /^[0-9]+$/ { a += $5; i += $6; f = 1 } END { if (f) print a, i; else print "- -" }')
      ent=$(metric_sum $n rawlb_conn_table_entries)
      line="$t lb$n $pid ${st:--} ${rss:--} $counts $ent"
    fi
    echo "$line" >> "$W/samples.tsv"
    LAST[$n]=$line
  done
}
show() { # the last sample of each director, on one line
  say "t=$(rel)s $(for n in 1 2; do set -- ${LAST[$n]}; printf '| %s %s rss %s kB act %s inact %s entries %s ' $2 $4 $5 $6 $7 $8; done)"
}

# ---- events ----
# Each logs "START_MS END_MS KIND OK|FAILED WHAT" to events.log; KIND ha, flap or edit (the
# window its failed requests are counted in).
DEATHS=()        # rawlb runs that ended without the script asking
EVENT_FAILS=()
event() { # KIND WHAT CMD...: runs CMD, logs it with its window
  local kind=$1 what=$2 t0 ok=OK; shift 2
  t0=$(now_ms)
  "$@" || { ok=FAILED; EVENT_FAILS+=("t=$(rel)s $what"); }
  echo "$t0 $(now_ms) $kind $ok $what" >> "$W/events.log"
  say "event: $what: $ok"
}
master() { if is_state 2 master && ! is_state 1 master; then echo 2; else echo 1; fi; }
edit() { dctl "$(master)" "$@" > /dev/null; }
lb1_stop() { # SIGNAL: the master lb1 goes (after SIGTERM with status 0); lb2 must take over
  local pid=${D_PID[1]:-} rc ok=0
  [ -n "$pid" ] && is_state 1 master || return 1
  kill "-$1" "$pid"
  wait_for $STOP_MAX gone "$pid" || { say "lb1 still runs $STOP_MAX s after SIG$1: SIGKILL"; kill -KILL "$pid"; ok=1; }
  wait "$pid" 2>/dev/null; rc=$?; forget "$pid"; unset "D_PID[1]"
  [ "$1" != TERM ] || [ $rc = 0 ] || { say "lb1 exited with status $rc after SIGTERM (want 0)"; ok=1; }
  wait_for $TAKEOVER_MAX is_state 2 master && return $ok
}
lb1_return() { # lb1 starts again and takes the master role back (failback)
  [ -z "${D_PID[1]:-}" ] || return 1
  start_director 1 primary && wait_for $TAKEOVER_MAX is_state 1 master && wait_for $TAKEOVER_MAX is_state 2 backup
}
health_of() { # N ADDR:PORT: its State in list --health
  dctl "$1" list --health | awk -v rs="$2" '$1 == "->" && $2 == rs { print $7; exit }'
}
health_is() { [ "$(health_of "$(master)" "$1")" = "$2" ]; }
flap_down() { nginx_stop 3 && wait_for $HEALTH_MAX health_is 203.0.113.13:$HTTP_PORT down; }
flap_up() { nginx_start 3 && wait_for $HEALTH_MAX health_is 203.0.113.13:$HTTP_PORT up; }
released() { dctl 1 ha release > /dev/null && wait_for $TAKEOVER_MAX is_state 2 master; }
takeover() { dctl 1 ha takeover > /dev/null && wait_for $TAKEOVER_MAX is_state 1 master && wait_for $TAKEOVER_MAX is_state 2 backup; }
T_SVC="-t $VIP:$HTTP_PORT"; U_SVC="-u $VIP:$UDP_PORT"
run_event() { # I: the I-th event of the cycle
  case $1 in
  0) event ha "kill -9 of the master lb1" lb1_stop KILL ;;
  1) event ha "lb1 back (failback)" lb1_return ;;
  2) event edit "weight of rs1 3" edit -e $T_SVC -r 203.0.113.11:$HTTP_PORT -w 3 ;;
  3) event flap "rs3's nginx stopped until rs3 is down" flap_down ;;
  4) event flap "rs3's nginx started until rs3 is up" flap_up ;;
  5) event edit "rs2 deleted" edit -d $T_SVC -r 203.0.113.12:$HTTP_PORT ;;
  6) event edit "rs2 added back" edit -a $T_SVC -r 203.0.113.12:$HTTP_PORT -w 1 ;;
  7) event edit "scheduler rr" edit -E $T_SVC -s rr ;;
  8) event ha "SIGTERM of the master lb1" lb1_stop TERM ;;
  9) event ha "lb1 back (failback)" lb1_return ;;
  10) event edit "UDP weight of rs2 2, TCP weight of rs1 1" eval "edit -e $U_SVC -r 203.0.113.12:$UDP_PORT -w 2 && edit -e $T_SVC -r 203.0.113.11:$HTTP_PORT -w 1" ;;
  11) event ha "ha release on lb1" released ;;
  12) event ha "ha takeover on lb1" takeover ;;
  13) event edit "scheduler wlc, UDP weight of rs2 1" eval "edit -E $T_SVC -s wlc && edit -e $U_SVC -r 203.0.113.12:$UDP_PORT -w 1" ;;
  esac
}
EVENTS_IN_CYCLE=14
# check_alive: a director that is gone without the script asking is a death; lb1 is started again
# (the soak goes on), lb2 is not (the RSS check would be void)
check_alive() {
  local n pid rc
  for n in 1 2; do
    pid=${D_PID[$n]:-}
    [ -n "$pid" ] && gone "$pid" || continue
    wait "$pid" 2>/dev/null; rc=$?; forget "$pid"; unset "D_PID[$n]"
    DEATHS+=("lb$n (pid $pid) exited with status $rc at t=$(rel)s")
    say "lb$n (pid $pid) DIED with status $rc: $(tail -n 3 "$W/lb$n.log" | tr '\n' ' ')"
    [ "$n" = 1 ] && { start_director 1 primary || say "lb1 did not start again"; }
  done
}

# ---- the soak ----
: > "$W/events.log"; : > "$W/samples.tsv"
ip netns exec "${P}c" "$PY" "$HERE/tools/soakload.py" $VIP $HTTP_PORT $UDP_PORT "$W" CLOSE_RATE=$CLOSE_RATE \
  KA_RATE=$KA_RATE UDP_RATE=$UDP_RATE DOWNLOADS=$DOWNLOADS DL_RATE=$DL_RATE DL_SHA256=$BIG_SHA TIMEOUT=$REQ_TIMEOUT UDP_TIMEOUT=$UDP_TIMEOUT \
  > "$W/load.log" 2>&1 &
LOAD_PID=$!; PIDS+=($LOAD_PID)
T0=$(now_ms)
say "load for $SOAK_SECONDS s (warm-up $WARMUP_SECONDS s): HTTP close $CLOSE_RATE/s, keep-alive $KA_RATE/s, UDP $UDP_RATE/s, $DOWNLOADS downloads at $DL_RATE B/s; an event every $EVENT_EVERY s"
END_MS=$((T0 + SOAK_SECONDS * 1000)); next_sample=0; next_event=$FIRST_EVENT; next_print=0; ev=0
declare -A BASE=()
for ((iter = 0; iter < (SOAK_SECONDS + DRAIN_MAX) * TICKS_PER_S; iter++)); do   # bounded: the events' waits only make turns fewer
  [ "$(now_ms)" -lt $END_MS ] || break
  gone $LOAD_PID && { say "the load generator stopped: $(tail -n 3 "$W/load.log")"; break; }
  check_alive
  t=$(rel)
  if [ "$t" -ge $next_sample ]; then
    sample; next_sample=$((t + SAMPLE_SECONDS))
    if [ "$t" -ge "$WARMUP_SECONDS" ] && [ -z "${BASE[2]:-}" ]; then
      for n in 1 2; do BASE[$n]=${LAST[$n]}; done
      say "baseline (first sample after the $WARMUP_SECONDS s warm-up): lb1 ${BASE[1]#* lb1 }, lb2 ${BASE[2]#* lb2 }"
    fi
    [ "$t" -lt $next_print ] || { show; next_print=$((t + PRINT_EVERY)); }
  fi
  if [ "$t" -ge $next_event ]; then
    run_event $((ev % EVENTS_IN_CYCLE)); ev=$((ev + 1)); next_event=$(($(rel) + EVENT_EVERY))
  fi
  sleep $TICK
done
[ -n "${BASE[2]:-}" ] || { sample; for n in 1 2; do BASE[$n]=${LAST[$n]}; done; }
say "stopping the load after $(rel) s ($ev events)"
stop_pid $LOAD_PID
# lb1 away at the end (a kill in the last event): it comes back so that both directors are checked
[ -n "${D_PID[1]:-}" ] || event ha "lb1 back (failback)" lb1_return

# ---- drain: every count to zero ----
zero() { set -- ${LAST[$1]}; [ "$5" != - ] && [ "$6" = 0 ] && [ "$7" = 0 ] && [ "$8" = 0 ]; }
DRAIN_T0=$(now_ms); drained=""; next_print=0
for ((iter = 0; iter < DRAIN_MAX; iter++)); do   # a sample a second at most
  check_alive; sample
  if zero 1 && zero 2; then drained=$((($(now_ms) - DRAIN_T0) / 1000)); break; fi
  [ "$(rel)" -lt $next_print ] || { show; next_print=$(($(rel) + PRINT_EVERY)); }
  [ $(( ($(now_ms) - DRAIN_T0) / 1000 )) -lt $DRAIN_MAX ] || break
  sleep 1
done
show
for n in 1 2; do zero $n || { echo "--- lb$n: rawlb-ctl -L -n -c (first $SHOW_LINES) ---"; dctl $n conns | head -n $SHOW_LINES; }; done

# ---- checks and summary ----
FAILED=0
row() { printf '%-62s %-34s %s\n' "$1" "$2" "$3"; [ "$3" != FAIL ] || FAILED=1; }
echo
echo "== soak summary: $SOAK_SECONDS s of load, $ev events, warm-up $WARMUP_SECONDS s (rawlb $("$RAWLB" -V 2>&1 | head -n 1))"
row "check" "measured" "result"
for n in 1 2; do
  set -- ${LAST[$n]}
  row "lb$n ActiveConn / InActConn / table entries after the drain" "$6 / $7 / $8" "$(zero $n && echo ok || echo FAIL)"
done
row "time for every count to reach 0 after the load stopped" "${drained:-over $DRAIN_MAX} s" "$([ -n "$drained" ] && echo ok || echo FAIL)"
rss_row() { # N WHAT: RSS from the baseline sample to the last one, judged
  local n=$1 what=$2 b e pct
  set -- ${BASE[$n]}; b=$5; set -- ${LAST[$n]}; e=$5
  [ "$b" != - ] && [ "$e" != - ] || { row "RSS lb$n $what" "no sample" FAIL; return; }
  pct=$(awk -v b="$b" -v e="$e" 'BEGIN { printf "%+.1f", (e - b) * 100 / b }')
  row "RSS lb$n $what" "$(awk -v b="$b" -v e="$e" 'BEGIN { printf "%.1f -> %.1f MB", b / 1024, e / 1024 }') ($pct%)" \
    "$(awk -v p="$pct" -v t="$RSS_TOLERANCE_PCT" 'BEGIN { print (p <= t && p >= -t) ? "ok" : "FAIL" }')"
}
rss_row 2 "(ran throughout; baseline: first sample after warm-up)"
set -- ${BASE[1]}; base_pid1=$3; set -- ${LAST[1]}
if [ "$base_pid1" = "$3" ]; then
  rss_row 1 "(not restarted after warm-up; same baseline)"
else
  # each run of lb1: its first and last RSS sample
  awk '$2 == "lb1" && $3 != "-" { if (!($3 in f)) { f[$3] = $5; o[++k] = $3 } l[$3] = $5 }
       END { for (i = 1; i <= k; i++) s = s sprintf("%s%.1f->%.1f", i > 1 ? ", " : "", f[o[i]] / 1024, l[o[i]] / 1024); print s }' \
    "$W/samples.tsv" > "$W/lb1-runs.txt"
  row "RSS lb1, MB, first -> last sample of each run sampled" "${RUNS[1]} runs: $(cat "$W/lb1-runs.txt")" \
    "reported (restarted after warm-up: not judged)"
fi
row "rawlb exits the script did not cause" "${#DEATHS[@]}" "$([ ${#DEATHS[@]} = 0 ] && echo ok || echo FAIL)"
for d in "${DEATHS[@]}"; do echo "    $d"; done
row "events that did not complete within their bound" "${#EVENT_FAILS[@]} of $(wc -l < "$W/events.log")" "$([ ${#EVENT_FAILS[@]} = 0 ] && echo ok || echo FAIL)"
for e in "${EVENT_FAILS[@]}"; do echo "    $e"; done
row "HA configurations after the edits" "$(dctl 1 status | grep -m1 '^config:')" "$(dctl 1 status | grep -q '^config: match' && echo ok || echo FAIL)"
# the load: per kind ok/failed, and each failure put in the window of an event, or none
touch "$W/failures.log" "$W/summary.txt"
while read -r kind ok fail; do
  row "load: $kind (ok / failed)" "$ok / $fail" "$([ "$ok" -gt 0 ] && echo reported || echo FAIL)"
done < "$W/summary.txt"
[ -s "$W/summary.txt" ] || row "load: the client's summary" "missing (see load.log)" FAIL
# (windows overlap by the grace: a failure goes to the latest event whose window holds it)
awk -v g=$((GRACE_SECONDS * 1000)) '
  NR == FNR { s[NR] = $1; e[NR] = $2 + g; k[NR] = $3; n = NR; next }
  { w = "none"; for (i = 1; i <= n; i++) if ($1 <= e[i] && $2 >= s[i]) w = k[i]; c[w]++; if (w == "none") print > "/dev/stderr" }
  END { printf "ha %d flap %d edit %d none %d\n", c["ha"], c["flap"], c["edit"], c["none"] }' \
  "$W/events.log" "$W/failures.log" 2> "$W/stray.txt" > "$W/windows.txt"
read -r _ f_ha _ f_flap _ f_edit _ f_none < "$W/windows.txt"
row "failed requests in HA / flap / edit windows" "$f_ha / $f_flap / $f_edit" reported
row "failed requests outside every event's window" "$f_none" "$([ "$f_none" = 0 ] && echo ok || echo FAIL)"
head -n $SHOW_LINES "$W/stray.txt" | sed "s/^/    outside (start_ms end_ms kind reason): /"
# both directors stop cleanly
for n in 1 2; do
  pid=${D_PID[$n]:-}
  [ -n "$pid" ] || { row "lb$n exit status at SIGTERM" "not running" FAIL; continue; }
  stop_pid "$pid"; rc=$?; unset "D_PID[$n]"
  row "lb$n exit status at SIGTERM" "$rc" "$([ $rc = 0 ] && echo ok || echo FAIL)"
done
echo "(events: $W/events.log, samples: $W/samples.tsv, failures: $W/failures.log; KEEP=1 keeps them)"
[ $FAILED = 0 ] && say "soak PASSED" || say "soak FAILED"
exit $FAILED
