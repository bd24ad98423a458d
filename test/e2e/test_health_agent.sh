#!/bin/bash
# Dynamic weights from an HAProxy agent-check agent on each real server (--agent-port 9999, weights 2:2,
# wrr so the split is exact): rs1's agent says drain -> list shows weight 0 for rs1 and 30 new
# connections all go to rs2; 50% -> weight 1 and 60 connections split about 1:2 (rs1 12..28);
# 100% -> weight 2 again and an even split.
. "$(dirname "$0")/lib.sh"

RS1=203.0.113.11:80; RS2=203.0.113.12:80
topo_up 2
rs_nginx 1; rs_nginx 2
agent_says() { echo "$2" > "$W/agent-rs$1.new" && mv "$W/agent-rs$1.new" "$W/agent-rs$1"; } # I LINE
for i in 1 2; do agent_says $i up; rs_py $i agent$i tcp 9999 agent 9999 "$W/agent-rs$i"; done
[ "$(on lb timeout 3 "$PY" -c 'import socket; print(socket.create_connection(("203.0.113.11", 9999), 2).recv(64).decode().strip())')" = up ] \
  || fail "the agent on rs1 does not answer 'up'"
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -s wrr --check none --agent-port 9999 --check-interval 0.2 \
            -r $RS1:2 -r $RS2:2
wait_http http://$VIP/
wait_weight 3 $RS1 2 >/dev/null && wait_weight 3 $RS2 2 >/dev/null || fail "agents say up: want weight 2 for both, got: $(ctl list)"

since() { health_line "$1" | awk '{ sub("s$", "", $8); printf "%d", $8 }'; } # ADDR:PORT: Since in whole seconds
sleep 2 # so that a Since column counting from rawlb's start (not from the new state) shows
agent_says 1 drain
t=$(wait_weight 3 $RS1 0) || fail "rs1's agent says drain but list shows no weight 0 for rs1 after $t ms: $(ctl list)"
say "drain: rs1 weight 0 after $t ms: $(health_line $RS1)"
[ "$(health_weight $RS2)" = 2 ] || fail "rs2's weight changed: $(health_line $RS2)"
[ "$(health_state $RS1)" = quiesced ] || fail "drain: list --health should show rs1 quiesced (up, weight 0): $(health_line $RS1)"
[ "$(since $RS1)" -le 1 ] || fail_later "drain: rs1 just became quiesced but its Since column says otherwise: $(health_line $RS1)"
count_http 30 http://$VIP/
say "drain, 30 requests: rs1=$N1 rs2=$N2"
[ $N2 = 30 ] || fail "rs1 is drained but got $N1 of 30 new connections"

agent_says 1 50%
t=$(wait_weight 3 $RS1 1) || fail "rs1's agent says 50% of weight 2 but list shows no weight 1 for rs1 after $t ms: $(ctl list)"
say "50%: rs1 weight 1 after $t ms: $(health_line $RS1)"
[ "$(health_state $RS1)" = up ] || fail "50%: rs1 should be up again: $(health_line $RS1)"
count_http 60 http://$VIP/
say "50%, 60 requests: rs1=$N1 rs2=$N2"
[ $N1 -ge 12 ] && [ $N1 -le 28 ] || fail "weights 1:2 over 60 connections: want rs1 between 12 and 28, got rs1=$N1 rs2=$N2"

agent_says 1 100%
t=$(wait_weight 3 $RS1 2) || fail "rs1's agent says 100% but list shows no weight 2 for rs1 after $t ms: $(ctl list)"
say "100%: rs1 weight 2 after $t ms"
count_http 20 http://$VIP/
say "100%, 20 requests: rs1=$N1 rs2=$N2"
[ $N1 -ge 6 ] && [ $N1 -le 14 ] || fail "weights 2:2 over 20 connections: want rs1 between 6 and 14, got rs1=$N1 rs2=$N2"

agent_says 1 down
t=$(wait_state 3 $RS1 down) || fail "rs1's agent says down but rs1 is not down after $t ms: $(health_line $RS1)"
say "down after $t ms: $(health_line $RS1)"
[ "$(since $RS1)" -le 1 ] || fail_later "rs1 went down $t ms ago (agent says down) but its Since column says otherwise: $(health_line $RS1)"
grep -E "rs $RS1 .*down" "$LOG" >/dev/null || fail "no log line for rs1 going down on its agent's word"
say "log: $(grep -E "rs $RS1 .*down" "$LOG" | tail -n 1)"
count_http 10 http://$VIP/
[ $N2 = 10 ] || fail "rs1's agent says down but rs1 got $N1 of 10 new connections"
pass_unless_failed
