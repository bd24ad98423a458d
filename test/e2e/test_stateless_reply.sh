#!/bin/bash
# Stateless replies (mh services, several directors behind ECMP): a flow whose requests reach
# the real server through director lb while the server's replies go back through director lb2,
# which never saw the flow's SYN. lb2 rewrites them from its service table (the server's
# address:port names one mh service) and sends them to the next hop of its kernel's route
# toward the client; the exchanges complete, with an entry on lb only.
# Each director answers ARP for its own NAT router address (-n): lb for 203.0.113.1, lb2 for
# 203.0.113.4; the real server's default route is lb2's. lb2's route toward the client goes
# through a gateway, as it does behind a router: here the client's own address stands for it.
source "$(dirname "$0")/lib.sh"

NAT2=203.0.113.4; MX2=127.0.0.1:9102
CLIENT_GW=$LB_EXT ha_topo_up 1    # the client's frames for the VIP all go to lb
on rs1 ip route replace default via $NAT2 || fail "rs1 default route via lb2"
rs_nginx 1
SERVICE=(-t $VIP:80 -s mh -b mh-port -r 203.0.113.11:80 --check none)

start_rawlb -e ext -i int -n $NAT "${SERVICE[@]}"
say "rawlb on lb2 (-n $NAT2)"
ip netns exec "${P}lb2" "$RAWLB" -e ext -i int -n $NAT2 "${SERVICE[@]}" "${WORKERS_ARGS[@]}" --ctl "$W/lb2.sock" \
  --pidfile "$W/lb2.pid" --state-dir "$W/state2" --metrics $MX2 > "$W/lb2.log" 2>&1 &
LB2_PID=$!; PIDS+=($LB2_PID)
wait_for 10 dctl 2 list || fail "rawlb on lb2 did not answer within 10 s"
lb2_metric() { metric_in "$(timeout 10 ip netns exec "${P}lb2" curl -sS -m 5 "http://$MX2/metrics")" "$1"; }

# Before lb2 has a route through a gateway toward the client (only the on-link /24), the replies
# have no next hop there: dropped as no_route. rawlb reads the route added once the kernel
# reports it, and the next request goes through.
wait_for 10 grep -q "real server 203.0.113.11 is at" "$LOG" || fail "lb never learnt rs1's MAC"
http -m 2 -o /dev/null "http://$VIP/" 2>/dev/null && fail "a reply went through lb2 without a route toward the client"
lb2_no_route() { local v; v=$(lb2_metric 'rawlb_drops_total{reason="no_route"}'); [ "$v" != missing ] && [ "$v" -gt 0 ]; }
wait_for 5 lb2_no_route || fail "lb2 did not count the replies it had no route for"
on lb2 ip route add $CIP/32 via $CIP dev ext || fail "lb2's route toward the client"
wait_http "http://$VIP/"
body=$(http "http://$VIP/") || fail "GET / through lb and back through lb2"
[ "$body" = rs1 ] || fail "GET / answered '$body' (want rs1)"
http -o "$W/got.bin" "http://$VIP/big.bin" || fail "GET /big.bin"
cmp -s "$W/got.bin" "$W/big.bin" || fail "/big.bin arrived damaged"
say "a page and 10 MB went to the client through lb2 without an entry there"

# The metrics are a snapshot taken once a second: wait for the one after the download.
lb2_replies_over() { local v; v=$(lb2_metric rawlb_stateless_replies_total); [ "$v" != missing ] && [ "$v" -gt "$1" ]; }
# 10 MB are at least 10485760 / 65536 frames (GSO superframes of up to 64 KiB each)
wait_for 5 lb2_replies_over 160 ||
  fail "lb2 stateless replies: $(lb2_metric rawlb_stateless_replies_total) (want > 160); lb: $(ctl list --stats); lb2: $(dctl 2 list --stats)"
replies=$(lb2_metric rawlb_stateless_replies_total)
[ -z "$(dctl 2 conns | grep -F "$CIP")" ] || fail "lb2 made entries for the flows: $(dctl 2 conns)"
ctl conns | grep -qF "$CIP" || fail "lb has no entry for the client"
out_lb=$(ctl list --stats | awk '$2 ~ /^203\.0\.113\.11:80$/ { print $5 }')
[ "$out_lb" = 0 ] || fail "lb forwarded $out_lb replies (want 0: they go through lb2)"
say "lb2: $replies stateless replies, no entry; lb: the entries, no reply"

# Another scheduler's service takes no stateless reply: its flows' replies are dropped on lb2
dctl 2 -E -t $VIP:80 -s wlc || fail "lb2: -E -s wlc"
ctl -E -t $VIP:80 -s wlc || fail "lb: -E -s wlc"
http -m 3 -o /dev/null "http://$VIP/" 2>/dev/null && fail "a wlc service's reply went through lb2"
nc=$(lb2_metric 'rawlb_drops_total{reason="no_conn"}')
[ "$nc" != missing ] && [ "$nc" -gt 0 ] || fail "lb2 no_conn drops: $nc (want > 0)"
say "with wlc, lb2 drops the replies (no_conn $nc)"

kill -TERM $LB2_PID; wait_for 10 bash -c "! kill -0 $LB2_PID" || fail "lb2 did not stop"
wait $LB2_PID; rc=$?; forget $LB2_PID
[ $rc = 0 ] || fail "rawlb on lb2 exited with status $rc"
grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$W/lb2.log" && fail "sanitizer report in lb2.log"
pass
