# Sourced by every test/e2e/test_*.sh: usage  bash test/e2e/test_X.sh BUILD_DIR  (the dir holding rawlb).
#
# Topology (like tools/bench/topo.sh, namespaces rlbt-TAG-PID-*, TAG from the script's name):
#   c   client 198.51.100.100/24 eth0, default via the VIP (CLIENT_GW overrides)  ─┐ brext (in ns sw)
#   lb  director: ext 198.51.100.2/24 ─────────────────────────────────────────────┘
#                 int 203.0.113.2/24 ──────────────────────────────────────────────┐ brint (in ns sw)
#   rsN real servers 203.0.113.1N/24 eth0, default via the NAT router 203.0.113.1 ─┘
# Offloads stay at their defaults everywhere: rawlb must work with TSO/GSO/checksum offload on.
# Everything a test starts is killed and its namespaces and temp dir removed on exit, even on
# failure (KEEP=1 keeps the temp dir with the logs).
set -uo pipefail

E2E=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TAG=$(basename "$0" .sh); TAG=${TAG#test_}
P=rlbt-$TAG-$$-                       # namespace prefix of this test run (two runs never collide)
ROLES="c lb lb2 rs1 rs2 rs3 sw"       # every namespace a test may create
VIP=198.51.100.10; CIP=198.51.100.100; LB_EXT=198.51.100.2; LB_INT=203.0.113.2; NAT=203.0.113.1
PY=$(python3 -c "import sys; print(sys.executable)" 2>/dev/null)  # the real binary, not a shim
PIDS=()                               # processes to stop on exit
W=""

say() { echo "[$TAG] $*"; }

fail() {
  echo "FAIL [$TAG]: $*" >&2
  local log
  for log in "$W"/rawlb.log "$W"/lb1.log "$W"/lb2.log; do
    [ -n "$W" ] && [ -s "$log" ] || continue
    echo "--- $(basename "$log") (last 30 lines) ---" >&2; tail -n 30 "$log" >&2
  done
  exit 1
}

# run a command in one of this test's namespaces: on c curl ...
# (not for background processes: "on ... &" forks a subshell and $! would not be the process;
#  start those with ip netns exec directly, which execs the command)
on() { local n=$1; shift; ip netns exec "$P$n" "$@"; }

# wait_for SECONDS CMD...: 0 as soon as CMD succeeds, 1 when the time is up
wait_for() {
  local t=$1 i; shift
  for ((i = 0; i < t * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

topo_down() {
  local r pid
  for r in $ROLES; do
    [ -e "/run/netns/$P$r" ] || continue
    for pid in $(ip netns pids "$P$r" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$P$r" 2>/dev/null
  done
  return 0
}

cleanup() {
  local rc=$? pid i
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for ((i = 0; i < 20; i++)); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  topo_down
  if [ -n "$W" ]; then
    if [ "${KEEP:-0}" = 1 ]; then echo "[$TAG] logs kept in $W"; else rm -rf "$W"; fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR (the directory holding rawlb and rawlb-ctl)" >&2; exit 2; }
BIN=$(cd "$1" 2>/dev/null && pwd) || fail "no build directory $1"
RAWLB=$BIN/rawlb; CTL=$BIN/rawlb-ctl
[ -x "$RAWLB" ] || fail "no rawlb binary in $BIN"
[ -x "$CTL" ] || fail "no rawlb-ctl binary in $BIN"
# RAWLB_WORKERS=N runs every balancer the helpers start with --workers N (CI runs the suite with
# the default, one worker per core, and again with 1); unset, rawlb picks its default.
WORKERS_ARGS=(); [ -z "${RAWLB_WORKERS:-}" ] || WORKERS_ARGS=(--workers "$RAWLB_WORKERS")
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces)"
for tool in ip curl nginx tcpdump ping arping timeout sha256sum ss nstat python3; do
  command -v "$tool" >/dev/null || fail "missing tool: $tool (see .ci/run for the packages)"
done
W=$(mktemp -d "/tmp/rlbt-$TAG.XXXXXX") || fail "mktemp"
# Timing assertions hold in the plain build only; a sanitizer build checks that the same things work.
SANITIZED=0; grep -q '^RAWLB_SANITIZE:BOOL=ON' "$BIN/CMakeCache.txt" 2>/dev/null && SANITIZED=1
SOCK=$W/rawlb.sock; PIDFILE=$W/rawlb.pid; LOG=$W/rawlb.log
export NSTAT_HISTORY=$W/nstat.history

# forget PID: a reaped process is no longer ours to signal (its id may be reused)
forget() { local p keep=(); for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; PIDS=("${keep[@]}"); }

mkns() { ip netns add "$P$1" || fail "ip netns add $P$1"; on "$1" ip link set lo up; }

# link NS IFNAME PEERNAME BRIDGE ADDR/LEN: a veth from NS to a bridge in ns sw
link() {
  ip link add "$2" netns "$P$1" type veth peer name "$3" netns "${P}sw" || fail "veth $1/$2"
  on sw ip link set "$3" master "$4" up || fail "bridge port $3"
  on "$1" ip link set "$2" up
  on "$1" ip addr add "$5" dev "$2" || fail "address $5 on $1/$2"
}

# topo_up [NRS]: build the topology with NRS real servers (default 2). Env CLIENT_GW: client's default gw.
topo_up() {
  local nrs=${1:-2} i
  topo_down
  mkns sw
  on sw ip link add brext type bridge && on sw ip link add brint type bridge || fail "bridges"
  on sw ip link set brext up; on sw ip link set brint up
  for f in iptables ip6tables arptables; do on sw sysctl -qw net.bridge.bridge-nf-call-$f=0 2>/dev/null; done
  mkns c;  link c eth0 c-eth0 brext $CIP/24
  on c ip route add default via "${CLIENT_GW:-$VIP}" || fail "client default route"
  mkns lb; link lb ext lb-ext brext $LB_EXT/24; link lb int lb-int brint $LB_INT/24
  for ((i = 1; i <= nrs; i++)); do
    mkns rs$i; link rs$i eth0 rs$i-eth0 brint 203.0.113.1$i/24
    on rs$i ip route add default via $NAT || fail "default route of rs$i"
  done
}

mac_of() { on "$1" cat "/sys/class/net/$2/address"; }

listening() { # NS tcp|udp PORT
  local f=-Hltn; [ "$2" = udp ] && f=-Hlun
  [ -n "$(on "$1" ss $f "sport = :$3")" ]
}

# rs_nginx I [PORT]: nginx on rsI: / = "rsI", /whoami = "rsI CLIENTIP:PORT", /big.bin = $W/big.bin (10 MB)
rs_nginx() {
  local i=$1 port=${2:-80} d=$W/rs$1
  mkdir -p "$d/html" "$d/tmp"
  echo "rs$i" > "$d/html/index.html"
  [ -f "$W/big.bin" ] || head -c 10485760 /dev/urandom > "$W/big.bin"
  ln -f "$W/big.bin" "$d/html/big.bin"
  cat > "$d/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 1024; }
http {
  access_log $d/access.log;
  client_body_temp_path $d/tmp;
  default_type application/octet-stream;
  server {
    listen $port;
    root $d/html;
    location = /whoami { default_type text/plain; return 200 "rs$i \$remote_addr:\$remote_port\n"; }
  }
}
EOF
  ip netns exec "${P}rs$i" nginx -e "$d/error.log" -c "$d/nginx.conf" &
  PIDS+=($!)
  wait_for 5 listening rs$i tcp $port || fail "nginx on rs$i did not start: $(cat "$d/error.log")"
}

# rs_httpd I PORT: python HTTP server on rsI (GET -> name and client, POST -> sha256 of the body)
rs_httpd() {
  ip netns exec "${P}rs$1" "$PY" "$E2E/nethelper.py" httpd rs$1 "$2" > "$W/httpd-rs$1-$2.log" 2>&1 &
  PIDS+=($!)
  wait_for 5 listening rs$1 tcp "$2" || fail "httpd on rs$1:$2 did not start: $(cat "$W/httpd-rs$1-$2.log")"
}

# rs_udpd I PORT [udpecho]: UDP responder on rsI ("rsI CLIENTIP:PORT LENGTH", or the datagram echoed)
rs_udpd() {
  ip netns exec "${P}rs$1" "$PY" "$E2E/nethelper.py" "${3:-udpd}" rs$1 "$2" > "$W/udpd-rs$1-$2.log" 2>&1 &
  PIDS+=($!)
  wait_for 5 listening rs$1 udp "$2" || fail "udpd on rs$1:$2 did not start: $(cat "$W/udpd-rs$1-$2.log")"
}

# client-side helpers, each bounded in time
http() { timeout 70 ip netns exec "${P}c" curl -sS --connect-timeout 3 -m 60 "$@"; }
udpq() { timeout 20 ip netns exec "${P}c" "$PY" "$E2E/nethelper.py" udpq "$@"; }
ctl()  { timeout 5 "$CTL" --ctl "$SOCK" "$@"; }
# metric NAME{LABELS}: its value in rawlb's /metrics at $MX (the test's --metrics), scraped from
# rs1 (the director's monitoring side); "missing" when it is not there
metric() { local out; out=$(metrics_scrape) || exit 1; metric_in "$out" "$1"; }
# metrics_scrape: the whole /metrics text (one snapshot: counts read from it add up)
metrics_scrape() {
  timeout 10 ip netns exec "${P}rs1" curl -sS -m 5 "http://$MX/metrics" || fail "GET http://$MX/metrics failed"
}
# metric_in TEXT NAME{LABELS}: its value in a scrape, "missing" when it is not there
metric_in() { awk -v m="$2" '$1 == m { print $2; found = 1 } END { if (!found) print "missing" }' <<<"$1"; }
# metric_at NAME{LABELS} WANT: its value once the snapshot shows WANT (what it shows after 3 s
# otherwise): a count that grows in steps reaches the snapshot over several seconds
metric_at() {
  local v i
  for ((i = 0; i < 30; i++)); do
    v=$(metric "$1"); [ "$v" = "$2" ] && break; sleep 0.1
  done
  echo "$v"
}
# metric_after NAME{LABELS} BEFORE: its value once the once-a-second snapshot shows a change from
# BEFORE (BEFORE after 3 s without one)
metric_after() {
  local v i
  for ((i = 0; i < 30; i++)); do
    v=$(metric "$1"); [ "$v" != "$2" ] && break; sleep 0.1
  done
  echo "$v"
}

# start_rawlb ARGS...: rawlb in ns lb with its own --ctl/--pidfile/--state-dir (the table a stop saves
# stays this test's), logging to $LOG; waits for the ctl socket
start_rawlb() {
  local i rc
  say "rawlb $*"
  ip netns exec "${P}lb" "$RAWLB" "$@" "${WORKERS_ARGS[@]}" --ctl "$SOCK" --pidfile "$PIDFILE" --state-dir "$W/state" \
    > "$LOG" 2>&1 &
  RAWLB_PID=$!
  PIDS+=($RAWLB_PID)
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 $RAWLB_PID 2>/dev/null; then
      wait $RAWLB_PID; rc=$?; forget $RAWLB_PID; fail "rawlb exited with status $rc during start-up"
    fi
    ctl list >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "rawlb-ctl --ctl $SOCK list did not answer within 10 s"
}

# wait_http URL: the first request through rawlb may wait for ARP; allow it 10 s
wait_http() { wait_for 10 http -o /dev/null "$1" || fail "no answer from $1 within 10 s"; }

# stop_rawlb: SIGTERM; fails if rawlb died earlier, did not exit 0, or a sanitizer complained
stop_rawlb() {
  local rc
  [ -n "${RAWLB_PID:-}" ] || return 0
  kill -0 $RAWLB_PID 2>/dev/null || { wait $RAWLB_PID; rc=$?; forget $RAWLB_PID; fail "rawlb died during the test (status $rc)"; }
  kill -TERM $RAWLB_PID
  wait_for 10 bash -c "! kill -0 $RAWLB_PID" || fail "rawlb did not exit within 10 s of SIGTERM"
  wait $RAWLB_PID; rc=$?
  forget $RAWLB_PID; RAWLB_PID=""
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG"; then fail "sanitizer report in the rawlb log"; fi
  [ $rc = 0 ] || fail "rawlb exited with status $rc after SIGTERM (want 0)"
}

pass() { stop_rawlb; say "PASS"; exit 0; }

# start_capture NAME NS IF [FILTER...]: tcpdump to $W/NAME.pcap until stop_captures
CAPS=()
start_capture() {
  local name=$1 n=$2 dev=$3; shift 3
  ip netns exec "$P$n" tcpdump -i "$dev" -n -U --immediate-mode -Z root -w "$W/$name.pcap" "$@" 2> "$W/$name.err" &
  PIDS+=($!); CAPS+=($!)
  wait_for 5 grep -q "listening on" "$W/$name.err" || fail "tcpdump on $n/$dev: $(cat "$W/$name.err")"
}
stop_captures() {
  local pid
  sleep 0.5
  # SIGTERM, not SIGINT: background jobs of a script start with SIGINT ignored
  for pid in "${CAPS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${CAPS[@]}"; do
    wait_for 5 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null; forget "$pid"
  done
  CAPS=()
}
# pcap NAME FILTER...: print the matching packets of a finished capture
pcap() { local name=$1; shift; tcpdump -n -r "$W/$name.pcap" "$@" 2>/dev/null; }

# ---- health checks (test_health_*.sh) ----
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
closed() { ! listening "$@"; } # NS tcp|udp PORT: nothing listens there

# rs_start I [PORT]: start nginx on rsI (again) with the configuration rs_nginx wrote
declare -A RS_NGINX_PID=()
rs_start() {
  local i=$1 port=${2:-80} d=$W/rs$1
  [ -f "$d/nginx.conf" ] || fail "rs_start $i: no nginx configuration (rs_nginx first)"
  rm -f "$d/nginx.pid"
  ip netns exec "${P}rs$i" nginx -e "$d/error.log" -c "$d/nginx.conf" &
  PIDS+=($!); RS_NGINX_PID[$i]=$!
  wait_for 5 listening rs$i tcp "$port" || fail "nginx on rs$i did not start again: $(tail -n 3 "$d/error.log")"
}

# rs_stop I [PORT]: stop the nginx of rsI (SIGTERM to its master) and wait until PORT (80) is closed
rs_stop() {
  local i=$1 port=${2:-80} d=$W/rs$1 pid
  pid=${RS_NGINX_PID[$i]:-}
  if [ -z "$pid" ]; then
    wait_for 5 test -s "$d/nginx.pid" || fail "rs_stop $i: no pid file of nginx on rs$i"
    pid=$(cat "$d/nginx.pid")
  fi
  kill -TERM "$pid" 2>/dev/null
  wait_for 5 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null; forget "$pid"; unset "RS_NGINX_PID[$i]"
  wait_for 5 closed rs$i tcp "$port" || fail "rs$i:$port still listening after its nginx stopped"
}

# rs_nginx_add I DIRECTIVE...: add lines to the server block rs_nginx wrote for rsI (before its
# /whoami location) and restart that nginx if it runs, e.g. rs_nginx_add 1 'location = /health { return 500; }'
rs_nginx_add() {
  local i=$1 d=$W/rs$1 line; shift
  for line in "$@"; do
    awk -v add="    $line" '/location = \/whoami/ { print add } { print }' "$d/nginx.conf" > "$d/nginx.conf.new" &&
      mv "$d/nginx.conf.new" "$d/nginx.conf" || fail "rs_nginx_add $i"
  done
  if [ -s "$d/nginx.pid" ] || [ -n "${RS_NGINX_PID[$i]:-}" ]; then rs_stop "$i"; rs_start "$i"; fi
}

# rs_hits I: requests from the client ($CIP) in rsI's nginx access log (health probes come from $LB_INT)
rs_hits() { local n; n=$(grep -c "^$CIP " "$W/rs$1/access.log" 2>/dev/null); echo "${n:-0}"; }

# bg_start NAME NS CMD...: a background process in ns NS that bg_stop NAME ends; output to $W/NAME.log
declare -A BG=()
bg_start() {
  local name=$1 n=$2; shift 2
  ip netns exec "$P$n" "$@" > "$W/$name.log" 2>&1 &
  PIDS+=($!); BG[$name]=$!
}
bg_stop() {
  local pid=${BG[$1]:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  wait_for 5 bash -c "! kill -0 $pid" || kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null; forget "$pid"; unset "BG[$1]"
}
# bg_download NAME KBPS: GET http://$VIP/big.bin from the client at no more than KBPS KiB/s as
# bg NAME, the body into $W/NAME.bin, the status code into $W/NAME.log (nethelper.py slowget:
# curl's --limit-rate runs several times too fast on a loaded box)
bg_download() { bg_start "$1" c "$PY" "$E2E/nethelper.py" slowget "$VIP" 80 /big.bin $(($2 * 1024)) "$W/$1.bin"; }
# bg_wait NAME SECONDS: wait for NAME to exit by itself; returns its status (124 if still running)
bg_wait() {
  local pid=${BG[$1]:-} rc
  [ -n "$pid" ] || return 0
  wait_for "$2" bash -c "! kill -0 $pid" || return 124
  wait "$pid"; rc=$?; forget "$pid"; unset "BG[$1]"
  return $rc
}
# rs_py I NAME tcp|udp PORT MODE ARGS...: nethelper.py MODE ARGS on rsI as bg NAME, once PORT listens
rs_py() {
  local i=$1 name=$2 proto=$3 port=$4; shift 4
  bg_start "$name" rs$i "$PY" "$E2E/nethelper.py" "$@"
  wait_for 5 listening rs$i "$proto" "$port" || fail "$name ($*) on rs$i did not start: $(cat "$W/$name.log")"
}

# health_line ADDR:PORT: that real server's line in list --health:
#   -> ADDR:PORT Masq Weight ActiveConn InActConn State Since Last...
health_line() { ctl list --health | grep -E -- "-> +${1//./\\.} " | head -n 1; }
health_state() { health_line "$1" | awk '{ print $7 }'; }
health_weight() { health_line "$1" | awk '{ print $4 }'; }
health_last() { health_line "$1" | awk '{ s = $9; for (i = 10; i <= NF; i++) s = s " " $i; print s }'; }

# wait_state SECONDS ADDR:PORT STATE: 0 as soon as list --health shows STATE for ADDR:PORT, 1 after
# SECONDS (decimals allowed); prints the milliseconds it took
wait_state() {
  local t0 end n
  t0=$(now_ms); end=$((t0 + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')))
  for ((n = 0; n < 1000; n++)); do
    [ "$(health_state "$2")" = "$3" ] && { echo $(($(now_ms) - t0)); return 0; }
    [ "$(now_ms)" -lt "$end" ] || break
    sleep 0.05
  done
  echo $(($(now_ms) - t0)); return 1
}
# wait_weight SECONDS ADDR:PORT WEIGHT: the same for the Weight column of list
wait_weight() {
  local t0 end n
  t0=$(now_ms); end=$((t0 + $(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')))
  for ((n = 0; n < 1000; n++)); do
    [ "$(ctl list | grep -E -- "-> +${2//./\\.} " | awk '{ print $4 }')" = "$3" ] && { echo $(($(now_ms) - t0)); return 0; }
    [ "$(now_ms)" -lt "$end" ] || break
    sleep 0.05
  done
  echo $(($(now_ms) - t0)); return 1
}

# count_http N URL: N new connections (Connection: close), each must succeed; sets N1 N2 N3 (answers
# starting with rs1, rs2, rs3) and fails the test on an error or another answer
count_http() {
  local n=$1 url=$2 i body
  N1=0; N2=0; N3=0
  for ((i = 0; i < n; i++)); do
    body=$(http -m 5 -H 'Connection: close' "$url") || fail "request $((i + 1)) of $n to $url failed"
    case $body in
      rs1 | rs1\ *) N1=$((N1 + 1)) ;; rs2 | rs2\ *) N2=$((N2 + 1)) ;; rs3 | rs3\ *) N3=$((N3 + 1)) ;;
      *) fail "request $((i + 1)) of $n to $url: unexpected answer '$body'" ;;
    esac
  done
}

# fail_later MSG: a failed check that does not stop the test (the checks after it still run);
# pass_unless_failed: fails with every such message, or passes
LATER=()
fail_later() { echo "FAIL (the test goes on) [$TAG]: $*" >&2; LATER+=("$*"); }
pass_unless_failed() {
  [ ${#LATER[@]} = 0 ] || fail "${#LATER[@]} check(s) failed: $(printf '%s; ' "${LATER[@]}")"
  pass
}

# ---- high availability (test_ha_*.sh): two directors, lb (lb1) and lb2 ----
# Director N (1 or 2): namespace lb or lb2, ext 198.51.100.N+1, int 203.0.113.N+1, its own --ctl,
# --pidfile, log $W/lbN.log and --state-dir $W/stateN; both share the key $W/ha.key.
LB2_EXT=198.51.100.3; LB2_INT=203.0.113.3
HA_TIMING="--ha-interval 0.5 --ha-deadtime 2"   # the tests' heartbeat timing (defaults: 2 and 5 s)
declare -A D_PID=()

dns() { [ "$1" = 1 ] && echo lb || echo lb2; }
dpeer() { [ "$1" = 1 ] && echo $LB2_EXT || echo $LB_EXT; }
dctl() { local n=$1; shift; timeout 5 "$CTL" --ctl "$W/lb$n.sock" "$@"; }

# ha_topo_up [NRS]: the topology of topo_up plus director lb2, and the shared key
ha_topo_up() {
  topo_up "${1:-2}"
  mkns lb2; link lb2 ext lb2-ext brext $LB2_EXT/24; link lb2 int lb2-int brint $LB2_INT/24
  printf '%s\n' "rawlb-e2e-shared-secret-$$" > "$W/ha.key"; chmod 600 "$W/ha.key"
}

# start_director N ROLE ARGS...: rawlb on director N with --ha-role ROLE and the peer; waits for its ctl
start_director() {
  local n=$1 role=$2 i rc pid; shift 2
  say "director $n ($role): rawlb $*"
  ip netns exec "${P}$(dns "$n")" "$RAWLB" "$@" "${WORKERS_ARGS[@]}" --ha-role "$role" --ha-peer "$(dpeer "$n")" --ha-key "$W/ha.key" \
    --state-dir "$W/state$n" --ctl "$W/lb$n.sock" --pidfile "$W/lb$n.pid" >> "$W/lb$n.log" 2>&1 &
  pid=$!; PIDS+=($pid); D_PID[$n]=$pid
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"; rc=$?; forget "$pid"; fail "director $n exited with status $rc during start-up"
    fi
    dctl "$n" status >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "director $n: rawlb-ctl status did not answer within 10 s"
}

# ha_shared N: rawlb-ctl -S of director N without the flags that may differ between the two
ha_shared() { dctl "$1" save | sed -E 's/ --(ctl|pidfile|user|ctl-group|metrics|workers|ha-role|ha-peer|ha-if|ha-key|ha-notify|state-dir) [^ ]+//g'; }
ha_same_config() { [ -n "$(ha_shared 1)" ] && [ "$(ha_shared 1)" = "$(ha_shared 2)" ]; }

# ha_state N: master, backup, fault or leaving (empty when the director does not answer)
ha_state() { dctl "$1" status 2>/dev/null | sed -nE '1s/^HA: [a-z]+, ([a-z]+) .*/\1/p'; }
# wait_ha N STATE SECONDS
wait_ha() { wait_for "$3" bash -c "[ \"\$(timeout 5 '$CTL' --ctl '$W/lb$1.sock' status 2>/dev/null | sed -nE '1s/^HA: [a-z]+, ([a-z]+) .*/\\1/p')\" = $2 ]"; }

# kill_director N SIGNAL: the signal, then wait until it is gone (status not checked: -9)
kill_director() {
  local pid=${D_PID[$1]}
  kill "-$2" "$pid" 2>/dev/null
  wait_for 10 bash -c "! kill -0 $pid" || fail "director $1 did not exit after SIG$2"
  { wait "$pid"; } 2>/dev/null; D_RC=$?; forget "$pid"; unset "D_PID[$1]"
}

# stop_director N: SIGTERM, exit 0 and no sanitizer report wanted
stop_director() {
  [ -n "${D_PID[$1]:-}" ] || return 0
  kill_director "$1" TERM
  [ "$D_RC" = 0 ] || fail "director $1 exited with status $D_RC after SIGTERM (want 0)"
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$W/lb$1.log"; then fail "sanitizer report in lb$1.log"; fi
}

# ping_gap FILE: the longest time between two answers in ping -D output, in ms (less the interval
# of 10 ms the tests ping at): the time the VIP went without a master
ping_gap() {
  awk '/icmp_seq=/ { t = substr($1, 2, length($1) - 2) * 1000; if (have && t - last > worst) worst = t - last;
                     last = t; have = 1 }
       END { g = worst - 10; printf "%.0f\n", (g > 0 ? g : 0) }' "$1"
}
