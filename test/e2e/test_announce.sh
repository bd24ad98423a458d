#!/bin/bash
# BGP announcement of the VIP (rawlb-announce run by ExaBGP): ExaBGP on the director (ns lb,
# 198.51.100.2, AS 64513) peers with BIRD 2 on the client's side (ns c, 198.51.100.100, AS 64512),
# hold time 3 s. rawlb-announce starts before rawlb and finds it once it runs. Checked at BIRD:
# the VIP's /32 is there while rawlb runs with its one real server up (TCP health check), and
# rawlb-ctl status, status --json and /metrics say it is announced; it goes when the server's
# check fails and comes back when it passes; it goes within a short bound when rawlb is killed
# with SIGKILL (the gap printed) while the BGP session stays up; it comes back when rawlb starts
# again, and goes when rawlb stops cleanly.
. "$(dirname "$0")/lib.sh"

ANNOUNCE=$BIN/rawlb-announce
[ -x "$ANNOUNCE" ] || fail "no rawlb-announce binary in $BIN"
for tool in exabgp bird birdc; do command -v $tool >/dev/null || fail "missing tool: $tool (tools/deps.sh installs it)"; done
RS1=203.0.113.11:80
MX=$LB_INT:9100
LB_AS=64513; PEER_AS=64512
HOLD_S=3
KILL_BOUND_MS=2000  # rawlb SIGKILLed -> the route gone at BIRD (the announcer sees EOF at once)
[ $SANITIZED = 1 ] && KILL_BOUND_MS=5000
BIRD_SOCK=$W/bird.ctl

topo_up 1
rs_nginx 1

# ---- BIRD on the client's side: takes every route, exports none
cat > "$W/bird.conf" <<EOF
router id $CIP;
log "$W/bird.log" all;
protocol device { }
protocol bgp director {
  local $CIP as $PEER_AS;
  neighbor $LB_EXT as $LB_AS;
  hold time $HOLD_S;
  keepalive time 1;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 { import all; export none; };
}
EOF
ip netns exec "${P}c" bird -c "$W/bird.conf" -s "$BIRD_SOCK" -P "$W/bird.pid" -f > "$W/bird.out" 2>&1 &
PIDS+=($!)
wait_for 5 birdc -s "$BIRD_SOCK" show status || fail "BIRD did not start: $(cat "$W/bird.out" "$W/bird.log" 2>/dev/null)"

# ---- ExaBGP on the director, running rawlb-announce
cat > "$W/exabgp.env" <<EOF
[exabgp.daemon]
daemonize = false
user = 'root'
drop = false
pid = ''
[exabgp.log]
destination = 'stdout'
level = INFO
[exabgp.api]
ack = true
cli = false
respawn = true
EOF
cat > "$W/exabgp.conf" <<EOF
process announce-rawlb {
  run $ANNOUNCE --ctl $SOCK;
  encoder text;
}
neighbor $CIP {
  router-id $LB_EXT;
  local-address $LB_EXT;
  local-as $LB_AS;
  peer-as $PEER_AS;
  hold-time $HOLD_S;
  family { ipv4 unicast; }
  api { processes [ announce-rawlb ]; }
}
EOF
ip netns exec "${P}lb" exabgp --env "$W/exabgp.env" "$W/exabgp.conf" > "$W/exabgp.log" 2>&1 &
EXABGP_PID=$!; PIDS+=($EXABGP_PID)

established() { birdc -s "$BIRD_SOCK" show protocols director | grep -q Established; }
route_there() { birdc -s "$BIRD_SOCK" show route "$VIP/32" | grep -q "^$VIP/32"; }
route_gone() { ! route_there; }
wait_for 30 established || fail "no BGP session between ExaBGP and BIRD: $(birdc -s "$BIRD_SOCK" show protocols director; tail -n 20 "$W/exabgp.log")"
say "BGP session established"
route_gone || fail "the VIP is announced before rawlb runs: $(birdc -s "$BIRD_SOCK" show route)"

# vip_status: the VIP's line of rawlb-ctl status
vip_status() { ctl status | grep "^vip $VIP:"; }
# ms_until SECONDS CMD...: the milliseconds until CMD succeeds (checked every 50 ms); fails after SECONDS
ms_until() {
  local t0 end; t0=$(now_ms); end=$((t0 + $1 * 1000)); shift
  while ! "$@" >/dev/null 2>&1; do [ "$(now_ms)" -lt "$end" ] || return 1; sleep 0.05; done
  echo $(($(now_ms) - t0))
}

# ---- rawlb with a healthy server: announced
start_rawlb -e ext -i int -n $NAT --metrics $MX -t $VIP:80 --check tcp --check-interval 0.2 --check-timeout 1 \
  --reentry 0 -r $RS1
t=$(ms_until 10 route_there) || fail "the VIP is not at BIRD 10 s after rawlb started: $(birdc -s "$BIRD_SOCK" show route; tail -n 20 "$W/exabgp.log")"
say "announced $t ms after rawlb answered: $(birdc -s "$BIRD_SOCK" show route "$VIP/32" | grep "^$VIP")"
wait_http http://$VIP/
wait_for 3 bash -c "timeout 5 '$CTL' --ctl '$SOCK' status | grep -q '^vip $VIP: eligible up, announcer connected yes, reported announced$'" ||
  fail "status: want the VIP eligible, announcer connected, reported announced: $(ctl status)"
ctl status | grep -q '^announcers: 1 connected$' || fail "status: want one announcer connected: $(ctl status)"
ctl status --json > "$W/status.json" || fail "status --json failed"
"$PY" - "$W/status.json" "$VIP" <<'EOF' || fail "status --json: $(cat "$W/status.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ha"] is False and d["announcers"] == 1, d
v = [v for v in d["vips"] if v["vip"] == sys.argv[2]]
assert v == [{"vip": sys.argv[2], "eligible": "up", "announcer": True, "reported": "announced"}], d["vips"]
EOF
[ "$(metric_at "rawlb_vip_eligible{vip=\"$VIP\"}" 1)" = 1 ] || fail "metrics: rawlb_vip_eligible is not 1"
[ "$(metric_at "rawlb_vip_announced{vip=\"$VIP\"}" 1)" = 1 ] || fail "metrics: rawlb_vip_announced is not 1"
[ "$(metric_at rawlb_announcers 1)" = 1 ] || fail "metrics: rawlb_announcers is not 1"
say "ok: status and metrics show the VIP announced: $(vip_status)"

# ---- the only real server fails its check: withdrawn; back: announced again
rs_stop 1
t=$(ms_until 8 route_gone) || fail "the VIP is still at BIRD 8 s after its only server stopped: $(vip_status)"
say "withdrawn $t ms after rs1 stopped (check timeout 1 s, then at most a 1 s tick)"
wait_for 3 bash -c "timeout 5 '$CTL' --ctl '$SOCK' status | grep -q '^vip $VIP: eligible down, announcer connected yes, reported withdrawn$'" ||
  fail "status: want the VIP not eligible and reported withdrawn: $(ctl status)"
[ "$(metric_at "rawlb_vip_eligible{vip=\"$VIP\"}" 0)" = 0 ] || fail "metrics: rawlb_vip_eligible is not 0 with rs1 down"
[ "$(metric_at "rawlb_vip_announced{vip=\"$VIP\"}" 0)" = 0 ] || fail "metrics: rawlb_vip_announced is not 0 with rs1 down"
rs_start 1
t=$(ms_until 8 route_there) || fail "the VIP is not back at BIRD 8 s after rs1 started again: $(vip_status)"
say "announced again $t ms after rs1 started"

# ---- rawlb killed outright: withdrawn at once; the BGP session stays
kill -KILL $RAWLB_PID
t0=$(now_ms)
wait $RAWLB_PID 2>/dev/null; forget $RAWLB_PID; RAWLB_PID=""
gap=0
while route_there; do
  gap=$(($(now_ms) - t0))
  [ $gap -le 10000 ] || fail "the VIP is still at BIRD 10 s after rawlb was killed"
  sleep 0.02
done
gap=$(($(now_ms) - t0))
say "rawlb SIGKILLed: the route was gone at BIRD after $gap ms (bound $KILL_BOUND_MS ms)"
[ $gap -le $KILL_BOUND_MS ] || fail "the route went $gap ms after rawlb was killed, want <= $KILL_BOUND_MS ms"
established || fail "the BGP session did not outlive rawlb: $(birdc -s "$BIRD_SOCK" show protocols director)"
grep -q "connection to rawlb at $SOCK lost" "$W/exabgp.log" || fail "rawlb-announce did not log the lost connection: $(tail -n 20 "$W/exabgp.log")"

# ---- rawlb back: announced again (the announcer retries every second)
start_rawlb -e ext -i int -n $NAT --metrics $MX -t $VIP:80 --check tcp --check-interval 0.2 --check-timeout 1 \
  --reentry 0 -r $RS1
t=$(ms_until 10 route_there) || fail "the VIP is not back at BIRD 10 s after rawlb restarted: $(tail -n 20 "$W/exabgp.log")"
say "announced again $t ms after rawlb restarted"
wait_http http://$VIP/

# ---- a clean stop withdraws too
stop_rawlb
t=$(ms_until 5 route_gone) || fail "the VIP is still at BIRD 5 s after rawlb stopped"
say "withdrawn $t ms after rawlb stopped cleanly"
kill -0 $EXABGP_PID 2>/dev/null || fail "ExaBGP died during the test: $(tail -n 20 "$W/exabgp.log")"
say "PASS"
