#!/bin/bash
# UDP health check: --check udp --send ping --expect pong against a responder on each real server that
# answers "pong" to "ping" (and "rsN CLIENT LEN" to anything else). rs1's responder stopped -> rs1
# down (the log says why) and 20 new UDP flows are all answered by rs2; a responder that answers
# something else than "pong" is down too.
. "$(dirname "$0")/lib.sh"

RS1=203.0.113.11:53; RS2=203.0.113.12:53
topo_up 2
for i in 1 2; do rs_py $i pong$i udp 53 udppong rs$i 53; done
[ "$(on lb timeout 3 "$PY" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); s.sendto(b"ping", ("203.0.113.11", 53)); print(s.recv(64).decode().strip())')" = pong ] \
  || fail "the responder on rs1 does not answer pong"
start_rawlb -e ext -i int -n $NAT -u $VIP:53 --check udp --send ping --expect pong \
            --check-interval 0.2 --probe-timeout 0.3 --check-timeout 1 --reentry 2 -r $RS1 -r $RS2
ok_up() { health_line "$1" | grep -qE ' up +[0-9]+(\.[0-9]+)?s +ok *$'; }
wait_for 3 ok_up $RS1 && wait_for 3 ok_up $RS2 || fail "want both real servers 'up Ns ok' at start: $(ctl list --health)"
out=$(udpq $VIP 53 20) || fail "UDP $VIP:53 with both up: not every one of 20 flows got an answer"
say "both up, 20 flows: $(cut -d" " -f1 <<<"$out" | sort | uniq -c | xargs)"
grep -q '^rs1 ' <<<"$out" && grep -q '^rs2 ' <<<"$out" || fail "20 UDP flows with both up all went to one real server"

bg_stop pong1
wait_for 5 closed rs1 udp 53 || fail "the responder on rs1 did not stop"
t=$(wait_state 3.2 $RS1 down) || fail "rs1's responder stopped but rs1 is not down after $t ms: $(health_line $RS1)"
say "rs1 down after $t ms: $(health_line $RS1)"
grep -E "rs $RS1 down: .+" "$LOG" >/dev/null || fail "no log line 'rs $RS1 down: REASON'"
say "log: $(grep -E "rs $RS1 down" "$LOG" | tail -n 1)"
[ "$(health_state $RS2)" = up ] || fail "rs2 should stay up: $(health_line $RS2)"
out=$(udpq $VIP 53 20) || fail "UDP $VIP:53 with rs1 down: not every one of 20 flows got an answer: $(grep -cE 'TIMEOUT|ECONNREFUSED' <<<"$out") failed"
say "rs1 down, 20 flows: $(cut -d" " -f1 <<<"$out" | sort | uniq -c | xargs)"
[ "$(grep -c '^rs2 ' <<<"$out")" = 20 ] || fail "rs1 is down but not all 20 UDP flows were answered by rs2"

# a wrong answer is a failed probe too: rs1 answers, but with its name instead of pong
rs_py 1 echo1 udp 53 udpecho rs1 53
sleep 1.5
st=$(health_state $RS1)
say "rs1 answering 'rs1 ping' instead of pong, 1.5 s later: $(health_line $RS1)"
[ "$st" = down ] || fail "rs1 answers without 'pong' but is '$st', want down"
pass
