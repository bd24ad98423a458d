#!/bin/bash
# A dead real server's established flows. Each real server runs a line server on :7000 that keeps
# connections open and a separate health listener on :8080 (--check-port 8080); stopping the health
# listener kills the server for rawlb while its data server keeps running.
#   default: the client's next segment on its long-lived connection gets an RST from the VIP (it fails
#            fast, not by a timeout), and its new connection goes to the other server;
#   --quiesce: the established connection keeps working after the server is declared dead; new ones
#            go to the other server.
. "$(dirname "$0")/lib.sh"

H="--check tcp --check-port 8080 --check-interval 0.2 --check-timeout 1 --reentry 2"
topo_up 2
for i in 1 2; do
  rs_py $i data$i tcp 7000 holdd rs$i 7000
  rs_py $i hc$i tcp 8080 holdd hc$i 8080
done
start_lb() { start_rawlb -e ext -i int -n $NAT -t $VIP:7000 $H "$@" -r 203.0.113.11:7000 -r 203.0.113.12:7000
       wait_state 3 203.0.113.11:7000 up >/dev/null && wait_state 3 203.0.113.12:7000 up >/dev/null \
         || fail "both real servers should be up at start: $(ctl list --health)"; }
replied() { grep -qE '^[0-9]+ rs[12] ' "$W/$1.log"; }
# hold_on NAME SECONDS: a long-lived connection through the VIP; sets I to the real server holding it
hold_on() {
  bg_start "$1" c "$PY" "$E2E/nethelper.py" hold $VIP 7000 "$2"
  wait_for 10 replied "$1" || fail "no answer on a connection to $VIP:7000: $(cat "$W/$1.log")"
  I=$(awk 'NR == 1 { sub("rs", "", $2); print $2 }' "$W/$1.log")
}
# other_gets_new I: a new connection goes to the other real server
other_gets_new() {
  local out
  out=$(timeout 10 ip netns exec ${P}c "$PY" "$E2E/nethelper.py" hold $VIP 7000 0.5) || fail "a new connection after rs$1 died failed: $out"
  [ "$(awk 'NR == 1 { print $2 }' <<<"$out")" = rs$((3 - $1)) ] || fail "rs$1 is dead, but a new connection went to: $(head -n 1 <<<"$out")"
}

# --- default: flows of the dead server are reset
start_lb
hold_on hold1 20
say "long-lived connection on rs$I: $(head -n 1 "$W/hold1.log")"
start_capture reset c eth0 tcp port 7000
bg_stop hc$I
t=$(wait_state 3.2 203.0.113.1$I:7000 down) || fail "rs$I not down $t ms after its health listener stopped: $(health_line 203.0.113.1$I:7000)"
tdown=$(now_ms)
say "rs$I down after $t ms: $(health_line 203.0.113.1$I:7000)"
bg_wait hold1 4; rc=$?
last=$(tail -n 1 "$W/hold1.log")
stop_captures
say "the long-lived connection ended with: $last (status $rc)"
[ $rc != 124 ] || fail "the connection to the dead rs$I still works 4 s after rs$I was declared dead (want an RST): $(tail -n 2 "$W/hold1.log")"
case $last in
  RESET\ *) ;;
  TIMEOUT\ *) fail "the connection to the dead rs$I timed out instead of getting an RST from the VIP" ;;
  *) fail "the connection to the dead rs$I ended with '$last', want RESET" ;;
esac
took=$((${last#RESET } - tdown))
say "reset $took ms after rs$I was seen down"
[ $took -lt 3000 ] || fail "the reset came $took ms after rs$I was seen down, want < 3 s"
pcap reset "src host $VIP and tcp[tcpflags] & tcp-rst != 0"
pcap reset "src host $VIP and src port 7000 and dst host $CIP and tcp[tcpflags] & tcp-rst != 0" | grep -q . \
  || fail "no RST from $VIP:7000 in the client's capture"
kill -0 "${BG[data$I]}" 2>/dev/null || fail "rs$I's data server died: the RST must come from rawlb, not from it"
other_gets_new $I
stop_rawlb

# --- --quiesce: flows of the dead server keep working
rs_py $I hc$I tcp 8080 holdd hc$I 8080
start_lb --quiesce
hold_on hold2 6
say "--quiesce: long-lived connection on rs$I: $(head -n 1 "$W/hold2.log")"
bg_stop hc$I
t=$(wait_state 3.2 203.0.113.1$I:7000 down) || fail "--quiesce: rs$I not down $t ms after its health listener stopped: $(health_line 203.0.113.1$I:7000)"
tdown=$(now_ms)
say "rs$I down after $t ms: $(health_line 203.0.113.1$I:7000)"
other_gets_new $I
bg_wait hold2 10; rc=$?
last=$(tail -n 1 "$W/hold2.log")
after=$(awk -v t=$tdown '$1 ~ /^[0-9]+$/ && $1 > t' "$W/hold2.log" | wc -l)
say "--quiesce: the connection ended with '$last' (status $rc), $after answers after rs$I was seen down"
[ $rc = 0 ] && [ "${last%% *}" = DONE ] || fail "--quiesce: the established connection to the dead rs$I broke: $(tail -n 2 "$W/hold2.log")"
[ $after -ge 5 ] || fail "--quiesce: only $after answers on the connection after rs$I was seen down (want >= 5)"
awk '$1 ~ /^[0-9]+$/ { print $2 }' "$W/hold2.log" | grep -qv "^rs$I\$" && fail "--quiesce: answers from another server than rs$I on one connection"
pass
