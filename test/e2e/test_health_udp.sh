#!/bin/bash
# UDP health check: --check udp --send ping --expect pong against a responder on each real server that
# answers "pong" to "ping" (and "rsN CLIENT LEN" to anything else). The responder of the server that
# holds one long-lived client flow (one connected socket) is stopped -> that server goes down (the log
# says why), 20 new UDP flows are all answered by the other one, the long-lived flow moves to the
# other one too, and no TCP segment (an RST) is ever sent to the UDP client. A responder that answers
# something else than "pong" is down as well.
. "$(dirname "$0")/lib.sh"

topo_up 2
for i in 1 2; do rs_py $i pong$i udp 53 udppong rs$i 53; done
[ "$(on lb timeout 3 "$PY" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); s.sendto(b"ping", ("203.0.113.11", 53)); print(s.recv(64).decode().strip())')" = pong ] \
  || fail "the responder on rs1 does not answer pong"
start_rawlb -e ext -i int -n $NAT -u $VIP:53 --check udp --send ping --expect pong \
            --check-interval 0.2 --probe-timeout 0.3 --check-timeout 1 --reentry 2 -r 203.0.113.11:53 -r 203.0.113.12:53
ok_up() { health_line "$1" | grep -qE ' up +[0-9]+(\.[0-9]+)?s +ok *$'; }
wait_for 3 ok_up 203.0.113.11:53 && wait_for 3 ok_up 203.0.113.12:53 || fail "want both real servers 'up Ns ok' at start: $(ctl list --health)"
out=$(udpq $VIP 53 20) || fail "UDP $VIP:53 with both up: not every one of 20 flows got an answer"
say "both up, 20 flows: $(cut -d" " -f1 <<<"$out" | sort | uniq -c | xargs)"
grep -q '^rs1 ' <<<"$out" && grep -q '^rs2 ' <<<"$out" || fail "20 UDP flows with both up all went to one real server"

# the server that holds a long-lived flow dies
start_capture udp c eth0 host $VIP
bg_start flow c "$PY" "$E2E/nethelper.py" udphold $VIP 53 8
wait_for 5 grep -qE '^[0-9]+ rs[12] ' "$W/flow.log" || fail "no answer on a long-lived UDP flow: $(cat "$W/flow.log")"
I=$(awk 'NR == 1 { sub("rs", "", $2); print $2 }' "$W/flow.log"); O=$((3 - I)); RS=203.0.113.1$I:53
say "long-lived flow on rs$I; stopping rs$I's responder"
bg_stop pong$I
wait_for 5 closed rs$I udp 53 || fail "the responder on rs$I did not stop"
t=$(wait_state 3.2 $RS down) || fail "rs$I's responder stopped but rs$I is not down after $t ms: $(health_line $RS)"
tdown=$(now_ms)
say "rs$I down after $t ms: $(health_line $RS)"
grep -E "rs $RS (of [A-Z]+ [0-9.:]+ )?down: .+" "$LOG" >/dev/null || fail "no log line 'rs $RS down: REASON'"
say "log: $(grep -E "rs $RS (of [A-Z]+ [0-9.:]+ )?down" "$LOG" | tail -n 1)"
[ "$(health_state 203.0.113.1$O:53)" = up ] || fail "rs$O should stay up: $(health_line 203.0.113.1$O:53)"
out=$(udpq $VIP 53 20) || fail "UDP $VIP:53 with rs$I down: not every one of 20 flows got an answer: $(grep -cE 'TIMEOUT|ECONNREFUSED' <<<"$out") failed"
say "rs$I down, 20 flows: $(cut -d" " -f1 <<<"$out" | sort | uniq -c | xargs)"
[ "$(grep -c "^rs$O " <<<"$out")" = 20 ] || fail "rs$I is down but not all 20 new UDP flows were answered by rs$O"
bg_wait flow 12 || fail "the long-lived UDP flow's client did not finish"
stop_captures
late=$(awk -v t=$((tdown + 1000)) '$1 > t' "$W/flow.log")
say "long-lived flow, answers from 1 s after rs$I was seen down: $(awk '{ print $2 }' <<<"$late" | sort | uniq -c | xargs)"
[ "$(grep -c " rs$O " <<<"$late")" -ge 3 ] && ! grep -vq " rs$O " <<<"$late" \
  || fail "the long-lived flow of the dead rs$I did not move to rs$O: $(tail -n 5 "$W/flow.log" | xargs)"
pcap udp "tcp" | grep -q . && fail "TCP sent to the UDP client: $(pcap udp tcp | head -n 2)"

# a wrong answer is a failed probe too: rs$I answers, but with its name instead of pong
rs_py $I echo$I udp 53 udpecho rs$I 53
sleep 1.5
st=$(health_state $RS)
say "rs$I answering 'rs$I ping' instead of pong, 1.5 s later: $(health_line $RS)"
[ "$st" = down ] || fail "rs$I answers without 'pong' but is '$st', want down"
pass
