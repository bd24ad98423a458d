#!/bin/bash
# A real server enters service only after its first passing probe. While wrk opens new connections
# (Connection: close) to a service of rs1 and rs2, rawlb-ctl -a adds rs3, where nothing listens: it is
# 'pending' in list --health and not one request fails (nothing is sent to it); nginx started there
# -> it is up after its first passing probe and takes connections.
# The sorry server waits for the first round: the service whose servers are up from the start never
# logs a switch to its sorry server; a service whose only server refuses at start gets the sorry
# server as soon as that server's first probe failed, and the server is down after its
# --check-timeout, never having passed a probe.
. "$(dirname "$0")/lib.sh"

command -v wrk >/dev/null || fail "missing tool: wrk"
RS1=203.0.113.11:80; RS2=203.0.113.12:80; RS3=203.0.113.13:80; SORRY=203.0.113.11:8080; NONE=203.0.113.12:81
topo_up 3
rs_nginx 1; rs_nginx 2; rs_nginx 3; rs_stop 3   # rs3: its nginx ready to start, nothing listening yet
rs_httpd 1 8080                                  # the sorry server: answers "rs1 CLIENT:PORT"
closed rs3 tcp 80 && closed rs2 tcp 81 || fail "something listens on rs3:80 or rs2:81"
start_rawlb -e ext -i int -n $NAT --check-interval 0.2 --reentry 0 --sorry-server $SORRY \
            -t $VIP:80 --check-timeout 30 -r $RS1 -r $RS2 \
            -t $VIP:81 --check-timeout 2 -r $NONE
t0=$(now_ms)
wait_http http://$VIP/
up_ok() { health_line "$1" | grep -qE ' up +[0-9]+s +ok *$'; }
wait_for 3 up_ok $RS1 && wait_for 3 up_ok $RS2 || fail "want rs1 and rs2 'up Ns ok' after start: $(ctl list --health)"

# ---- the sorry server and the first round ----
sorry_log() { grep -E "TCP $VIP:$1: every real server is down, new connections go to the sorry server" "$LOG"; }
wait_for 3 sorry_log 81 || fail "the only server of $VIP:81 refuses, but its sorry server was not taken into use: $(ctl list --health)"
say "log: $(sorry_log 81)"
body=$(http -m 5 http://$VIP:81/) || fail "$VIP:81 (its sorry server in use) does not answer"
[ "${body%% *}" = rs1 ] || fail "$VIP:81: want the sorry server's answer 'rs1 ...', got '$body'"
[ "$(health_state $NONE)" = pending ] || fail "rs2:81 refused its first probes: want it 'pending' before --check-timeout 2 s, got: $(health_line $NONE)"
say "rs2:81 after its first probes: $(health_line $NONE)"
t=$(wait_state 4 $NONE down) || fail "rs2:81 never passed a probe but is not down $t ms later: $(health_line $NONE)"
after=$(($(now_ms) - t0))
say "rs2:81 down ${after} ms after the start: $(health_line $NONE)"
[ $SANITIZED = 1 ] || [ $after -ge 1800 ] || fail "rs2:81 down $after ms after the start, before its --check-timeout 2 s"
grep -qE "rs $NONE of TCP $VIP:81 down: connect refused \(never passed a probe: [0-9]+ failed in [0-9.]+ s\)" "$LOG" \
  || fail "no log line 'rs $NONE of TCP $VIP:81 down: connect refused (never passed a probe ...)'"
sorry_log 80 && fail "$VIP:80's servers were up at their first probe, but its sorry server was taken into use: $(sorry_log 80)"

# ---- rs3 added while wrk runs: nothing goes to it ----
bg_start wrk c wrk -t 2 -c 8 -d 6s -H 'Connection: close' http://$VIP/
sleep 1.5
ctl -a -t $VIP:80 -r $RS3 -m || fail "rawlb-ctl -a of rs3 failed"
sleep 0.5
st=$(health_line $RS3)
say "rs3 added during the load, 0.5 s later: $st"
[ "$(health_state $RS3)" = pending ] || fail "rs3 has nothing listening: want it 'pending', got: $st"
[ "$(health_last $RS3)" = "connect refused" ] || fail "rs3's last result: want 'connect refused', got: $st"
bg_wait wrk 20 || fail "wrk did not finish: $(cat "$W/wrk.log")"
say "wrk: $(grep -E 'requests in|Socket errors|Non-2xx' "$W/wrk.log" | xargs)"
n=$(awk '/requests in/ { print $1 }' "$W/wrk.log")
[ "${n:-0}" -ge 500 ] || fail "wrk made only ${n:-0} requests: $(cat "$W/wrk.log")"
grep -qE 'Socket errors|Non-2xx' "$W/wrk.log" && fail "requests failed while rs3 was pending: $(cat "$W/wrk.log")"
conns3=$(ctl list --stats | awk -v k=$RS3 '$2 == k { print $3 }')
[ "$conns3" = 0 ] || fail "the pending rs3 was given $conns3 connections: $(ctl list --stats)"
[ "$(health_state $RS3)" = pending ] || fail "rs3 left pending with nothing listening: $(health_line $RS3)"

# ---- nginx on rs3: in service after its first passing probe ----
rs_start 3
t=$(wait_state 2 $RS3 up) || fail "nginx runs on rs3 but rs3 is not up $t ms later: $(health_line $RS3)"
say "rs3 up $t ms after nginx started: $(health_line $RS3)"
grep -qE "rs $RS3 of TCP $VIP:80 up: in service after its first passing probe \(ok\)" "$LOG" \
  || fail "no log line 'rs $RS3 ... up: in service after its first passing probe (ok)'"
count_http 30 http://$VIP/
say "rs3 up, 30 requests: rs1=$N1 rs2=$N2 rs3=$N3"
[ $N3 -ge 5 ] || fail "rs3 is up but got $N3 of 30 new connections"
pass
