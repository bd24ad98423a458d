# Scale-out topology, sourced after lib.sh by test_scaleout.sh and tools/demo-scaleout.sh: several
# rawlb directors behind one ECMP route that a router learns from them over BGP.
#
#   c   client 198.51.100.100/28 ── brcli ── r  router 198.51.100.97/28 (client side)
#                                             198.51.100.17/28 (director side), BIRD 2 (AS 65000),
#                                             ECMP with L4 hashing over every director announcing
#   dN  director N (1..4): ext 198.51.100.(17+N)/28 ── brdir ── r, default via the router
#                          int 203.0.113.(20+N)/24 ── brint ── rs1..rs4 203.0.113.11-14/24
#       rawlb -n 203.0.113.N (its own NAT router address) -t VIP:80 -s mh -b mh-port
#       ExaBGP (AS 65001) announcing VIP/32 with next hop self while its rawlb runs
#   rsI default route: one ECMP route over the NAT router addresses of the live directors
#
# Needs rawlb-announce next to rawlb. Only lib.sh's helpers (on, mkns, link, wait_for, fail, say,
# PIDS, W, P, BIN, PY) are used, so the demo and the test build the same thing. Everything runs in
# this run's namespaces, which lib.sh's cleanup empties and deletes (bird and exabgp included) even
# on failure.
ROLES="$ROLES r d1 d2 d3 d4 rs4"

SO_ROUTER_C=198.51.100.97; SO_ROUTER_D=198.51.100.17
SO_CLIENT_NET=28; SO_DIRECTOR_NET=28      # prefix lengths of the client and director links
SO_ROUTER_AS=65000; SO_DIRECTOR_AS=65001  # private AS numbers; every director shares one AS
SO_MAX_DIRECTORS=4
# BGP timers (seconds): the smallest hold time BGP allows, keepalives at a third of it, and
# connection attempts every second, so a dead director leaves the route within about 3 s and a new
# one enters within a second or two of its announcer's first line.
SO_HOLD=3; SO_KEEPALIVE=1; SO_CONNECT_RETRY=1
# Neighbour timers on the real servers' eth0 (rawlb answers ARP for its -n only while it runs):
# an entry is REACHABLE for 0.5-1.5 s after a confirmation (base_reachable_time_ms, randomised by
# the kernel); used after that, it is probed at once (delay_first_probe_time 0: no DELAY state),
# SO_NEIGH_PROBES unicast probes SO_NEIGH_RETRANS_MS apart, so a director whose rawlb died is
# FAILED about 2 s after its last answer at most, and fib_multipath_use_neigh leaves a FAILED next
# hop out of the ECMP route. The kernel defaults (30 s, 5 s, 3 x 1 s) would keep replies going to a
# dead director for over half a minute. A flow's stall still ends only at its next backed-off
# retransmission after that (0.2, 0.6, 1.4, 3.0, 6.2 s ...), so each second saved here can save a
# whole step. The price is an ARP probe for each live director about once a second while a server
# sends through it.
SO_NEIGH_REACHABLE_MS=1000; SO_NEIGH_DELAY_S=0; SO_NEIGH_RETRANS_MS=200; SO_NEIGH_PROBES=3
# A server's TCP socket keeps its route, and so its next hop, until the route is dropped: a next
# hop whose neighbour failed marks the route expired, and the socket drops it (and looks again,
# finding the FAILED next hop left out) once a segment has gone unanswered for tcp_retries1
# backed-off retransmissions (__dst_negative_advice). The default 3 is about 3 s of backoff; 1 is
# about 0.6 s, so the replies move off a dead director soon after its neighbour entry failed.
SO_TCP_RETRIES1=1

so_ext() { echo "198.51.100.$((17 + $1))"; }   # director N's own address on the router's link
so_int() { echo "203.0.113.$((20 + $1))"; }    # director N's own address on the servers' link
# Director N's NAT router address. Each director has its own, not one shared one: rawlb answers ARP
# for its -n itself and only while it runs, so a director whose rawlb dies stops answering for its
# address, the servers' neighbour entry for it fails and their ECMP default route leaves it out,
# while the other directors' addresses keep answering. One shared address would be answered by
# every director at once (each server would send to whichever MAC it heard last).
so_nat() { echo "203.0.113.$1"; }
so_rs() { echo "203.0.113.1$1"; }
so_sock() { echo "$W/d$1.sock"; }
so_ctl() { local n=$1; shift; timeout 5 "$CTL" --ctl "$(so_sock "$n")" "$@"; }

# so_topo_up NRS: switch, client, router and NRS real servers (directors come with so_director_up)
so_topo_up() {
  local nrs=$1 i
  topo_down
  mkns sw
  for br in brcli brdir brint; do
    on sw ip link add $br type bridge && on sw ip link set $br up || fail "bridge $br"
  done
  for f in iptables ip6tables arptables; do on sw sysctl -qw net.bridge.bridge-nf-call-$f=0 2>/dev/null; done
  mkns c; link c eth0 c-eth0 brcli $CIP/$SO_CLIENT_NET
  on c ip route add default via $SO_ROUTER_C || fail "client default route"
  mkns r; link r eth0 r-eth0 brcli $SO_ROUTER_C/$SO_CLIENT_NET; link r eth1 r-eth1 brdir $SO_ROUTER_D/$SO_DIRECTOR_NET
  on r sysctl -qw net.ipv4.ip_forward=1 || fail "ip_forward in the router"
  # policy 1 hashes addresses and ports: the client's connections spread over the directors
  on r sysctl -qw net.ipv4.fib_multipath_hash_policy=1 || fail "L4 multipath hashing in the router"
  for ((i = 1; i <= nrs; i++)); do
    mkns rs$i; link rs$i eth0 rs$i-eth0 brint "$(so_rs $i)/24"
    on rs$i sysctl -qw net.ipv4.fib_multipath_use_neigh=1 net.ipv4.fib_multipath_hash_policy=1 \
      net.ipv4.tcp_retries1=$SO_TCP_RETRIES1 \
      net.ipv4.neigh.eth0.base_reachable_time_ms=$SO_NEIGH_REACHABLE_MS \
      net.ipv4.neigh.eth0.delay_first_probe_time=$SO_NEIGH_DELAY_S \
      net.ipv4.neigh.eth0.retrans_time_ms=$SO_NEIGH_RETRANS_MS \
      net.ipv4.neigh.eth0.ucast_solicit=$SO_NEIGH_PROBES net.ipv4.neigh.eth0.mcast_solicit=$SO_NEIGH_PROBES >/dev/null ||
      fail "sysctls of rs$i"
  done
  SO_NRS=$nrs
}

# so_rs_route N...: every real server's default route: one ECMP route over directors N...' -n
so_rs_route() {
  local hops=() n i
  for n in "$@"; do hops+=(nexthop via "$(so_nat "$n")"); done
  for ((i = 1; i <= SO_NRS; i++)); do
    on rs$i ip route replace default "${hops[@]}" || fail "default route of rs$i via $*"
  done
}

# so_director_up N: namespace dN with its two links and a default route via the router
so_director_up() {
  local n=$1
  mkns d$n
  link d$n ext d$n-ext brdir "$(so_ext "$n")/$SO_DIRECTOR_NET"
  link d$n int d$n-int brint "$(so_int "$n")/24"
  on d$n ip route add default via $SO_ROUTER_D || fail "default route of d$n"
}

# so_bird_up [N]: BIRD in the router with a BGP session to each of directors 1..N (default
# SO_MAX_DIRECTORS; the sessions of absent ones stay down until they come) and the kernel protocol
# merging equal routes into one ECMP route
so_bird_up() {
  local n max=${1:-$SO_MAX_DIRECTORS}
  {
    echo "log \"$W/bird.log\" all;"
    echo "router id $SO_ROUTER_D;"
    echo "protocol device { }"
    # merge paths: equal best routes from several directors become one multipath kernel route
    echo "protocol kernel { ipv4 { import none; export all; }; merge paths on; }"
    echo "template bgp director {"
    echo "  local $SO_ROUTER_D as $SO_ROUTER_AS;"
    echo "  hold time $SO_HOLD; keepalive time $SO_KEEPALIVE;"
    echo "  connect retry time $SO_CONNECT_RETRY; connect delay time $SO_CONNECT_RETRY;"
    # after a session error BIRD waits before it tries again (default 60 s): a director that
    # comes back is taken within a second or two
    echo "  error wait time $SO_CONNECT_RETRY, $((SO_CONNECT_RETRY * 5));"
    echo "  ipv4 { import all; export none; };"
    echo "}"
    for ((n = 1; n <= max; n++)); do
      echo "protocol bgp d$n from director { neighbor $(so_ext "$n") as $SO_DIRECTOR_AS; }"
    done
  } > "$W/bird.conf"
  ip netns exec "${P}r" bird -c "$W/bird.conf" -s "$W/bird.ctl" -P "$W/bird.pid" -f > "$W/bird.out" 2>&1 &
  PIDS+=($!); SO_BIRD_PID=$!
  wait_for 10 so_birdc show status || fail "bird did not start: $(cat "$W/bird.out")"
}
so_birdc() { timeout 5 birdc -s "$W/bird.ctl" "$@"; }

# so_nexthops: how many next hops the router's kernel route to the VIP has (0: no route)
so_nexthops() {
  local out
  out=$(on r ip route show "$VIP/32" 2>/dev/null)
  if [ -z "$out" ]; then echo 0
  elif grep -q nexthop <<<"$out"; then grep -c nexthop <<<"$out"
  else echo 1; fi
}
# so_wait_nexthops SECONDS N: 0 once the router's route has N next hops; prints the ms it took
so_wait_nexthops() {
  local t0 end
  t0=$(now_ms); end=$((t0 + $1 * 1000))
  while [ "$(now_ms)" -lt "$end" ]; do
    [ "$(so_nexthops)" = "$2" ] && { echo $(($(now_ms) - t0)); return 0; }
    sleep 0.05
  done
  echo $(($(now_ms) - t0)); return 1
}

# so_rawlb_args N: director N's rawlb flags (every director the same service and servers: mh picks
# alike everywhere; only -n differs)
so_rawlb_args() {
  local i args="-e ext -i int -n $(so_nat "$1") -t $VIP:80 -s mh -b mh-port"
  for ((i = 1; i <= SO_NRS; i++)); do args+=" -r $(so_rs $i):80"; done
  echo "$args"
}

# so_rawlb_start N: rawlb on director N, its own control socket, pid file, state dir and log
declare -A SO_RAWLB=()
so_rawlb_start() {
  local n=$1 i rc pid
  # shellcheck disable=SC2046
  ip netns exec "${P}d$n" "$RAWLB" $(so_rawlb_args "$n") "${WORKERS_ARGS[@]}" --ctl "$(so_sock "$n")" \
    --pidfile "$W/d$n.pid" --state-dir "$W/state$n" >> "$W/d$n.log" 2>&1 &
  pid=$!; PIDS+=($pid); SO_RAWLB[$n]=$pid
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"; rc=$?; forget "$pid"
      fail "rawlb on d$n exited with status $rc: $(tail -n 5 "$W/d$n.log")"
    fi
    so_ctl "$n" list >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "rawlb on d$n: no control socket within 10 s"
}
# so_rawlb_kill N SIGNAL: the signal to director N's rawlb, then wait until it is gone
so_rawlb_kill() {
  local pid=${SO_RAWLB[$1]:-}
  [ -n "$pid" ] || return 0
  # stderr off while it dies: bash reports a job killed by a signal ("Killed") when it reaps it
  { kill "-$2" "$pid"; wait_for 10 bash -c "! kill -0 $pid"; } 2>/dev/null ||
    fail "rawlb on d$1 did not exit after SIG$2"
  { wait "$pid"; } 2>/dev/null; SO_RC=$?; forget "$pid"; unset "SO_RAWLB[$1]"
}

# The program ExaBGP runs to announce the VIP: rawlb-announce, watching director N's rawlb (it
# withdraws the VIP the moment rawlb dies, and announces it again once rawlb is back)
so_announcer() { echo "$BIN/rawlb-announce --ctl $(so_sock "$1")"; }

# so_exabgp_start N: ExaBGP on director N, one session to the router, running so_announcer
declare -A SO_EXABGP=()
so_exabgp_start() {
  local n=$1 pid
  cat > "$W/exabgp-d$n.conf" <<EOF
process announce-rawlb {
  run $(so_announcer "$n");
  encoder text;
}
neighbor $SO_ROUTER_D {
  router-id $(so_ext "$n");
  local-address $(so_ext "$n");
  local-as $SO_DIRECTOR_AS;
  peer-as $SO_ROUTER_AS;
  hold-time $SO_HOLD;
  family { ipv4 unicast; }
  api { processes [ announce-rawlb ]; }
}
EOF
  # settings by environment (what `exabgp --fe` lists): stay root (the announcer reaches rawlb's
  # root-only control socket), stay in the foreground, no named pipes for exabgpcli
  ip netns exec "${P}d$n" env exabgp.daemon.user=root exabgp.daemon.drop=false exabgp.daemon.daemonize=false \
    exabgp.api.cli=false exabgp.log.destination=stdout exabgp "$W/exabgp-d$n.conf" >> "$W/exabgp-d$n.log" 2>&1 &
  pid=$!; PIDS+=($pid); SO_EXABGP[$n]=$pid
}
so_exabgp_kill() {
  local pid=${SO_EXABGP[$1]:-}
  [ -n "$pid" ] || return 0
  # stderr off while it dies, as in so_rawlb_kill
  { kill -KILL "$pid"; wait_for 10 bash -c "! kill -0 $pid"; } 2>/dev/null ||
    fail "exabgp on d$1 did not exit after SIGKILL"
  { wait "$pid"; } 2>/dev/null; forget "$pid"; unset "SO_EXABGP[$1]"
}

# so_director_start N: namespace, rawlb and ExaBGP of director N
so_director_start() { so_director_up "$1"; so_rawlb_start "$1"; so_exabgp_start "$1"; }

# so_conns N: the Conns column of the VIP's service in director N's list --stats
so_conns() {
  so_ctl "$1" list --stats |
    awk -v s="$VIP:80" '$1 == "TCP" && $2 == s { print $3; found = 1 } END { if (!found) print "none" }'
}

# so_nginx: nginx on every real server (lib.sh's rs_nginx: / answers "rsI") with /dl.bin, a file of
# SO_DL_BYTES for the slow downloads
SO_DL_BYTES=$((3 * 1024 * 1024))
so_nginx() {
  local i
  head -c $SO_DL_BYTES /dev/urandom > "$W/dl.bin"
  for ((i = 1; i <= SO_NRS; i++)); do rs_nginx $i; ln -f "$W/dl.bin" "$W/rs$i/html/dl.bin"; done
}
