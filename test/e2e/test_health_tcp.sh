#!/bin/bash
# TCP health check (interval 0.2 s, check-timeout 1 s, reentry 2 s): nginx on rs1 stopped -> within
# timeout+interval rs1 is down in list --health, the log says why, and 20 new requests all succeed on
# rs2; nginx started again -> rs1 is re-entering (no new connection goes there) and after the re-entry
# time it is up and gets traffic again, with no restart of rawlb.
. "$(dirname "$0")/lib.sh"

RS1=203.0.113.11:80; RS2=203.0.113.12:80
topo_up 2
rs_nginx 1; rs_nginx 2
start_rawlb -e ext -i int -n $NAT -t $VIP:80 --check tcp --check-interval 0.2 --check-timeout 1 --reentry 2 \
            -r $RS1 -r $RS2
wait_http http://$VIP/
up_ok() { health_line "$1" | grep -qE ' up +[0-9]+(\.[0-9]+)?s +ok *$'; }
wait_for 3 up_ok $RS1 && wait_for 3 up_ok $RS2 \
  || fail "list --health: want both real servers 'up Ns ok' after InActConn at start, got: $(ctl list --health)"
count_http 10 http://$VIP/
say "both up, 10 requests: rs1=$N1 rs2=$N2"
[ $N1 -gt 0 ] && [ $N2 -gt 0 ] || fail "with both up, 10 requests did not reach both (rs1=$N1 rs2=$N2)"

# down
t0=$(now_ms)
rs_stop 1
wait_state 3.2 $RS1 down >/dev/null || fail "rs1 not down $(($(now_ms) - t0)) ms after its nginx stopped (want <= 1.2 s + 2 s margin): $(health_line $RS1)"
t=$(($(now_ms) - t0))
say "rs1 down after $t ms: $(health_line $RS1)"
[ "$t" -ge 700 ] || fail "rs1 declared down $t ms after its nginx stopped, before --check-timeout 1 s could pass"
last=$(health_last $RS1)
[ -n "$last" ] && [ "$last" != ok ] || fail "list --health: last result of the down rs1 is '$last', want the failure"
grep -E "rs $RS1 (of [A-Z]+ [0-9.:]+ )?down: .+" "$LOG" >/dev/null || fail "no log line 'rs $RS1 down: REASON'"
say "log: $(grep -E "rs $RS1 (of [A-Z]+ [0-9.:]+ )?down" "$LOG" | tail -n 1)"
[ "$(health_state $RS2)" = up ] || fail "rs2 should stay up: $(health_line $RS2)"
h1=$(rs_hits 1)
count_http 20 http://$VIP/
say "rs1 down, 20 requests: rs1=$N1 rs2=$N2"
[ $N2 = 20 ] || fail "rs1 is down but only $N2 of 20 requests were answered by rs2 (rs1=$N1)"

# back: re-entering first, then up after --reentry 2 s
rs_start 1
t0=$(now_ms)
t=$(wait_state 2 $RS1 re-entering) || fail "rs1 not re-entering within 2 s of nginx starting again: $(health_line $RS1)"
say "rs1 re-entering after $t ms: $(health_line $RS1)"
count_http 10 http://$VIP/
st=$(health_state $RS1)
say "during re-entry, 10 requests: rs1=$N1 rs2=$N2 (state after: $st)"
[ "$st" = re-entering ] || fail "rs1 left re-entering ($st) less than $(($(now_ms) - t0)) ms after nginx restarted: the 10 requests prove nothing (reentry 2 s)"
[ $N1 = 0 ] && [ "$(rs_hits 1)" = "$h1" ] || fail "rs1 got $N1 of 10 new connections while re-entering"
t=$(wait_state 4.5 $RS1 up) || fail "rs1 not up within reentry 2 s + 2.5 s margin after re-entering: $(health_line $RS1)"
up_after=$(($(now_ms) - t0))
say "rs1 up ${up_after} ms after nginx restarted: $(health_line $RS1)"
[ $up_after -ge 1800 ] || fail "rs1 up again $up_after ms after nginx restarted, before --reentry 2 s"
grep -E "rs $RS1 (of [A-Z]+ [0-9.:]+ )?(up|re-entering)" "$LOG" >/dev/null || fail "no log line for rs1's way back up"
count_http 20 http://$VIP/
say "rs1 back, 20 requests: rs1=$N1 rs2=$N2"
[ $N1 -gt 0 ] || fail "rs1 is up again but got none of 20 new connections"
[ $(($(rs_hits 1) - h1)) = $N1 ] || fail "rs1's access log shows $(($(rs_hits 1) - h1)) new requests, the client counted $N1"
pass
