#!/bin/bash
# Scale-out, end to end (topology in scaleout.sh): a client behind a router running BIRD with an
# ECMP route with L4 hashing to three directors, each running rawlb (-s mh -b mh-port, its own NAT
# router address) and ExaBGP announcing the VIP; four real servers whose default route is ECMP over
# the directors' NAT router addresses.
#   0. BGP: the router's route to the VIP has one next hop per director.
#   1. 200 connections from as many client ports are all answered, and every director carried
#      some of them (rawlb-ctl list --stats of each).
#   Then slow downloads (a small receive window: the data stays on the wire) run through each event,
#   a new set of them for each:
#   a. kill -9 of rawlb alone on a director carrying downloads (its announcer withdraws the route,
#      ExaBGP stays): every download completes intact; rawlb restarts and the director is back.
#   b. a whole director dies (links down, then rawlb and ExaBGP killed, so nothing says goodbye:
#      the router's hold timer and the servers' neighbour timers find out): every download intact.
#   c. a fourth director joins (its rawlb and ExaBGP, and its next hop in the servers' route):
#      no download breaks, and it carries new connections.
#   d. a real server is removed (rawlb-ctl -d on every director): the downloads it served break,
#      every other one completes intact.
# The router's route changes and the downloads' longest stalls are printed as "gap ..." lines.
. "$(dirname "$0")/lib.sh"
. "$E2E/scaleout.sh"
command -v bird >/dev/null && command -v exabgp >/dev/null || fail "needs bird and exabgp (tools/deps.sh)"
[ -x "$BIN/rawlb-announce" ] || fail "no rawlb-announce in $BIN"

CONNS=200; CONNS_PARALLEL=20        # phase 1: connections, and how many at a time
JOIN_CONNS=60                       # new connections after d4 joined, some of which it must carry
DL_COUNT=8; DL_KBPS=150             # per event: downloads of SO_DL_BYTES (3 MiB: about 20 s each)
DL_PRIMED=262144                    # bytes each download has before the event: it is mid-flight
DL_START_WAIT=10                    # seconds for every download to be mid-flight
DL_WAIT=90                          # seconds a set of downloads may take in all (bounded)
BGP_WAIT=30                         # seconds for sessions to come up under load
WITHDRAW_WAIT=10                    # seconds for a route change (the hold time is 3 s)
LIVE=(1 2 3)                        # the directors running now

so_topo_up 4
so_nginx
so_rs_route "${LIVE[@]}"
so_bird_up
for n in "${LIVE[@]}"; do so_director_start "$n"; done
ms=$(so_wait_nexthops $BGP_WAIT ${#LIVE[@]}) ||
  fail "the router's route to $VIP has $(so_nexthops) next hops after ${BGP_WAIT} s, want ${#LIVE[@]}: $(so_birdc show protocols)"
say "BGP: ${#LIVE[@]} next hops ${ms} ms after the last director started"

# ---- 1. 200 connections spread over every director ----
for n in "${LIVE[@]}"; do so_ctl "$n" zero >/dev/null || fail "rawlb-ctl zero on d$n"; done
out=$(timeout 120 ip netns exec "${P}c" "$PY" "$E2E/nethelper.py" manyget "$VIP" 80 $CONNS $CONNS_PARALLEL) ||
  fail "manyget: $out"
failed=$(awk '$1 == "failed" { print $2 }' <<<"$out")
say "$CONNS connections: $(tr '\n' ' ' <<<"$out")"
[ "$failed" = 0 ] || fail_later "$failed of $CONNS connections through the VIP were not answered"
for n in "${LIVE[@]}"; do
  c=$(so_conns "$n")
  say "d$n carried $c connections"
  [[ "$c" =~ ^[0-9]+$ ]] && [ "$c" -gt 0 ] || fail_later "d$n carried no connection ($c)"
done

# ---- the downloads ----
declare -A DL_SERVER=()              # download -> real server (rsI) serving it
dl_port() { sed -n 's/^port //p' "$W/$1.log" 2>/dev/null; }
# dl_bytes NAME: bytes the client's socket of download NAME has received (0 before it connected)
dl_bytes() {
  local port; port=$(dl_port "$1")
  [ -n "$port" ] || { echo 0; return; }
  on c ss -Htni "sport = :$port" | grep -o 'bytes_received:[0-9]*' | head -n 1 | cut -d: -f2 | grep . || echo 0
}
# dl_primed NAME: download NAME is mid-flight, or has ended (it is judged by dl_check)
dl_primed() { ! kill -0 "${BG[$1]}" 2>/dev/null || [ "$(dl_bytes "$1")" -ge $DL_PRIMED ]; }
dls_primed() { local d; for d in "$@"; do dl_primed "$d" || return 1; done; }
# dl_start SET: DL_COUNT downloads dlSET1..dlSETn at DL_KBPS; returns once each is mid-flight (the ones
# that are not after DL_START_WAIT s are reported; dl_check judges them)
dl_start() {
  local set=dl$1 i names=()
  for ((i = 1; i <= DL_COUNT; i++)); do
    bg_start "$set$i" c "$PY" "$E2E/nethelper.py" slowget "$VIP" 80 /dl.bin $((DL_KBPS * 1024)) "$W/$set$i.bin"
    names+=("$set$i")
  done
  wait_for $DL_START_WAIT dls_primed "${names[@]}" || {
    for i in "${names[@]}"; do dl_primed "$i" || say "download $i has not started: $(tr '\n' ' ' < "$W/$i.log")"; done
  }
  for i in "${names[@]}"; do kill -0 "${BG[$i]}" 2>/dev/null || say "download $i ended before the event: $(tr '\n' ' ' < "$W/$i.log")"; done
  dl_locate "${names[@]}"
}
# dl_locate NAME...: which real server serves each download (its established sockets' peers)
dl_locate() {
  local d i port
  for d in "$@"; do
    port=$(dl_port "$d"); DL_SERVER[$d]=none
    [ -n "$port" ] || continue
    for ((i = 1; i <= SO_NRS; i++)); do
      on rs$i ss -Htn state established "( sport = :80 and dport = :$port )" | grep -q . && DL_SERVER[$d]=rs$i
    done
  done
}
# dl_director NAME: the live directors with an entry for download NAME
dl_director() {
  local port n out=""; port=$(dl_port "$1")
  for n in "${LIVE[@]}"; do so_ctl "$n" conns --client "$CIP" 2>/dev/null | grep -q ":$port " && out+="d$n "; done
  echo "${out:-none}"
}
# dl_check SET [BROKEN_SERVER]: waits for every download of SET (DL_WAIT s in all); each must
# complete with 200 and the server's bytes, except those served by BROKEN_SERVER, which must not
# complete (their server was taken away mid-flight). Sets MAX_STALL (ms, of the intact ones).
dl_check() {
  local set=dl$1 broken=${2:-} i d rc end stall ok=0 bad=0
  end=$(($(date +%s) + DL_WAIT)); MAX_STALL=0
  for ((i = 1; i <= DL_COUNT; i++)); do
    d=$set$i
    bg_wait "$d" $((end - $(date +%s) > 0 ? end - $(date +%s) : 1)); rc=$?
    [ $rc = 124 ] && bg_stop "$d"
    if [ -n "$broken" ] && [ "${DL_SERVER[$d]}" = "$broken" ]; then
      if [ $rc = 0 ]; then fail_later "($1) download $d from the removed $broken completed"
      else say "($1) download $d from the removed $broken broke, as it should: $(tr '\n' ' ' < "$W/$d.log")"; fi
      continue
    fi
    if [ $rc = 0 ] && grep -qx 200 "$W/$d.log" && cmp -s "$W/$d.bin" "$W/dl.bin"; then
      ok=$((ok + 1))
      stall=$(sed -n 's/^stall //p' "$W/$d.log")
      [ "${stall:-0}" -gt "$MAX_STALL" ] && MAX_STALL=$stall
    else
      bad=$((bad + 1))
      fail_later "($1) download $d (${DL_SERVER[$d]}) did not complete intact (status $rc): $(tr '\n' ' ' < "$W/$d.log")"
    fi
  done
  say "($1) $ok downloads intact, $bad broken; longest stall of an intact one ${MAX_STALL} ms"
}
# dl_where SET: each download of SET with its real server and the directors holding its entry
dl_where() {
  local i d s=""
  for ((i = 1; i <= DL_COUNT; i++)); do d=dl$1$i; s+="$d:${DL_SERVER[$d]}/$(dl_director "$d") "; done
  echo "$s"
}
# without N: director N leaves LIVE
without() {
  local x out=()
  for x in "${LIVE[@]}"; do [ "$x" = "$1" ] || out+=("$x"); done
  LIVE=("${out[@]}")
}
# a director with an entry for one of SET's downloads (the first live one without)
carrier() {
  local i n
  for ((i = 1; i <= DL_COUNT; i++)); do
    for n in $(dl_director "dl$1$i"); do [ "$n" != none ] && { echo "${n#d}"; return; }; done
  done
  echo "${LIVE[0]}"
}

# ---- a. kill -9 of rawlb alone on one director ----
dl_start a
say "(a) downloads: $(dl_where a)"
d=$(carrier a)
say "(a) kill -9 of rawlb on d$d"
t0=$(now_ms)
so_rawlb_kill "$d" KILL
if so_wait_nexthops $WITHDRAW_WAIT $((${#LIVE[@]} - 1)) >/dev/null; then
  GAP_A_ROUTE=$(($(now_ms) - t0))
  say "gap (a): the router left d$d out $GAP_A_ROUTE ms after its rawlb was killed"
else
  fail_later "(a) the router's route still has $(so_nexthops) next hops ${WITHDRAW_WAIT} s after rawlb on d$d" \
    "was killed (rawlb-announce did not withdraw: $(tail -n 3 "$W/exabgp-d$d.log" | tr '\n' ' '))"
fi
dl_check a
GAP_A=$MAX_STALL
say "(a) rawlb on d$d starts again"
so_rawlb_start "$d"
ms=$(so_wait_nexthops $BGP_WAIT ${#LIVE[@]}) || fail_later "(a) d$d did not come back into the route after its rawlb restarted"
say "(a) d$d back in the route ${ms} ms after rawlb started"

# ---- b. a whole director dies ----
dl_start b
say "(b) downloads: $(dl_where b)"
d=$(carrier b)
say "(b) director d$d dies: links down, rawlb and ExaBGP killed"
t0=$(now_ms)
on d$d ip link set ext down; on d$d ip link set int down
so_rawlb_kill "$d" KILL; so_exabgp_kill "$d"
without "$d"
if so_wait_nexthops $WITHDRAW_WAIT ${#LIVE[@]} >/dev/null; then
  GAP_B_ROUTE=$(($(now_ms) - t0))
  say "gap (b): the router left d$d out $GAP_B_ROUTE ms after it died (hold time ${SO_HOLD} s)"
else
  fail_later "(b) the router's route still has $(so_nexthops) next hops ${WITHDRAW_WAIT} s after d$d died"
fi
dl_check b
GAP_B=$MAX_STALL

# ---- c. a fourth director joins ----
dl_start c
say "(c) downloads: $(dl_where c)"
say "(c) d4 joins"
t0=$(now_ms)
so_director_start 4
LIVE+=(4)
if so_wait_nexthops $BGP_WAIT ${#LIVE[@]} >/dev/null; then
  GAP_C_ROUTE=$(($(now_ms) - t0))
  say "gap (c): d4 in the router's route $GAP_C_ROUTE ms after it started"
else
  fail_later "(c) the router's route has $(so_nexthops) next hops ${BGP_WAIT} s after d4 started, want ${#LIVE[@]}"
fi
# the servers take d4's -n once it is announced: by then its rawlb has learnt the router's MAC,
# which it needs for the replies (changed at once, the replies it got first were dropped as
# no_gateway_mac and their flows stalled for a second)
so_rs_route "${LIVE[@]}"
so_ctl 4 zero >/dev/null
out=$(timeout 60 ip netns exec "${P}c" "$PY" "$E2E/nethelper.py" manyget "$VIP" 80 $JOIN_CONNS $CONNS_PARALLEL)
c=$(so_conns 4)
say "(c) $JOIN_CONNS new connections: $(tr '\n' ' ' <<<"$out"); d4 carried $c"
[[ "$c" =~ ^[0-9]+$ ]] && [ "$c" -gt 0 ] || fail_later "(c) d4 carried none of $JOIN_CONNS new connections ($c)"
dl_check c
GAP_C=$MAX_STALL

# ---- d. a real server is removed ----
dl_start d
say "(d) downloads: $(dl_where d)"
# the server with the most downloads, so that its flows breaking is seen
victim=$(for ((i = 1; i <= DL_COUNT; i++)); do echo "${DL_SERVER[dld$i]}"; done |
  grep '^rs' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
[ -n "$victim" ] || fail "(d) no download is served by any real server: $(dl_where d)"
say "(d) removing $victim ($(so_rs "${victim#rs}")) on every director: ${LIVE[*]}"
for n in "${LIVE[@]}"; do
  so_ctl "$n" -d -t "$VIP:80" -r "$(so_rs "${victim#rs}"):80" || fail_later "(d) rawlb-ctl -d on d$n failed"
done
dl_check d "$victim"
GAP_D=$MAX_STALL

say "gaps: longest stall of an intact download (the router's route changed after):" \
  "(a) rawlb killed ${GAP_A} ms (${GAP_A_ROUTE:-?} ms), (b) director died ${GAP_B} ms (${GAP_B_ROUTE:-?} ms)," \
  "(c) d4 joined ${GAP_C} ms (${GAP_C_ROUTE:-?} ms), (d) server removed ${GAP_D} ms"
for n in "${LIVE[@]}"; do
  say "d$n carried $(so_conns "$n") connections in all"
done
for n in "${LIVE[@]}"; do
  so_rawlb_kill "$n" TERM
  [ "$SO_RC" = 0 ] || fail_later "rawlb on d$n exited with status $SO_RC after SIGTERM"
done
for n in 1 2 3 4; do
  ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$W/d$n.log" 2>/dev/null || fail_later "sanitizer report in d$n.log"
done
pass_unless_failed
