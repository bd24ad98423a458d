#!/bin/bash
# HTTP health checks. rs1 answers 500 on /health, rs2 200: with --check http:/health rs1 goes down with
# last result "status 500" and all traffic goes to rs2. Then --check http:/status --expect healthy,
# where both answer 200 but only rs2's body holds "healthy": rs1 is taken out again.
. "$(dirname "$0")/lib.sh"

RS1=203.0.113.11:80; RS2=203.0.113.12:80
H="--check-interval 0.2 --probe-timeout 0.5 --check-timeout 1 --reentry 2"
topo_up 2
rs_nginx 1; rs_nginx 2
rs_nginx_add 1 'location = /health { return 500 "broken\n"; }' 'location = /status { default_type text/plain; return 200 "maintenance\n"; }'
rs_nginx_add 2 'location = /health { default_type text/plain; return 200 "healthy\n"; }' 'location = /status { default_type text/plain; return 200 "healthy\n"; }'
[ "$(on lb curl -s -o /dev/null -w '%{http_code}' -m 3 http://203.0.113.11/health)" = 500 ] || fail "rs1's /health does not answer 500"
[ "$(on lb curl -s -m 3 http://203.0.113.12/health)" = healthy ] || fail "rs2's /health does not answer 'healthy'"

# --check http:/health, default --expect-status 200
probes() { grep -c "^$LB_INT .*\"GET $2 " "$W/rs$1/access.log"; } # I PATH: GETs from the director
p1=$(probes 1 /health); p2=$(probes 2 /health)
start_rawlb -e ext -i int -n $NAT -t $VIP:80 --check http:/health $H -r $RS1 -r $RS2
wait_http http://$VIP/
t=$(wait_state 3.2 $RS1 down) || fail "rs1 answers 500 on /health but is not down after $t ms: $(health_line $RS1)"
say "rs1 down after $t ms: $(health_line $RS1)"
[ "$(health_last $RS1)" = "status 500" ] || fail "last result of rs1: want 'status 500', got '$(health_last $RS1)'"
grep -E "rs $RS1 (of [A-Z]+ [0-9.:]+ )?down: .*500" "$LOG" >/dev/null || fail "no log line 'rs $RS1 down: ...500...'"
say "log: $(grep -E "rs $RS1 (of [A-Z]+ [0-9.:]+ )?down" "$LOG" | tail -n 1)"
[ "$(health_state $RS2)" = up ] && [ "$(health_last $RS2)" = ok ] || fail "rs2 answers 200 on /health but is not 'up ... ok': $(health_line $RS2)"
[ "$(probes 1 /health)" -gt "$p1" ] && [ "$(probes 2 /health)" -gt "$p2" ] \
  || fail "no new GET /health from the director's address $LB_INT in the real servers' access logs"
count_http 20 http://$VIP/
say "20 requests: rs1=$N1 rs2=$N2"
[ $N2 = 20 ] || fail "rs1 is down (status 500) but rs2 answered only $N2 of 20 (rs1=$N1)"
sleep 0.5
[ "$(health_state $RS1)" = down ] || fail "rs1 keeps answering 500 but left down: $(health_line $RS1)"
stop_rawlb

# --check http:/status --expect healthy: rs1's 200 says "maintenance"
start_rawlb -e ext -i int -n $NAT -t $VIP:80 --check http:/status --expect healthy $H -r $RS1 -r $RS2
wait_http http://$VIP/
t=$(wait_state 3.2 $RS1 down) || fail "rs1's /status lacks 'healthy' but rs1 is not down after $t ms: $(health_line $RS1)"
say "--expect healthy: rs1 down after $t ms: $(health_line $RS1)"
last=$(health_last $RS1)
[ -n "$last" ] && [ "$last" != ok ] && [ "$last" != "status 200" ] || fail "last result of rs1 should say the string is missing, got '$last'"
[ "$(health_state $RS2)" = up ] && [ "$(health_last $RS2)" = ok ] || fail "rs2's /status holds 'healthy' but rs2 is not 'up ... ok': $(health_line $RS2)"
count_http 20 http://$VIP/
say "20 requests: rs1=$N1 rs2=$N2"
[ $N2 = 20 ] || fail "rs1 is down (--expect) but rs2 answered only $N2 of 20 (rs1=$N1)"
pass
