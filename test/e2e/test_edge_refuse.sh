#!/bin/bash
# A VIP port without a service refuses at once, as a kernel without a listener does:
#   1. curl to VIP:8080 (only :80 has a service) fails with "Connection refused" (exit 7) well
#      under a second, the client sees an RST from VIP:8080 acknowledging its SYN, and rawlb's
#      RST counter (rawlb_replies_total{kind="rst"}) grows by one;
#   2. a UDP query to VIP:5300 gets ECONNREFUSED at once: an ICMP port unreachable from the VIP
#      that quotes the datagram (the client capture shows it);
#   3. a flood of 5000 datagrams to VIP:5301 is answered only within the reply budget (1000 per
#      second): the rest are counted as rate_limited; meanwhile :80 is served as ever, and a
#      second later the next query is refused at once again.
. "$(dirname "$0")/lib.sh"

MX=$LB_INT:9100
FLOOD=5000
REPLY_RATE=1000 # FP_REPLY_RATE (lb/fastpath.h)

topo_up 1
rs_nginx 1
start_rawlb -e ext -i int -n $NAT --metrics $MX -t $VIP:80 -r 203.0.113.11:80
wait_http http://$VIP/

RST='rawlb_replies_total{kind="rst"}'
LIMITED='rawlb_drops_total{reason="rate_limited"}'

# 1. TCP to a port without a service
start_capture tcp c eth0 tcp port 8080
rst0=$(metric "$RST")
t0=$(now_ms)
out=$(http -v -o /dev/null http://$VIP:8080/ 2>&1); rc=$?
ms=$(($(now_ms) - t0))
stop_captures
say "curl http://$VIP:8080/: exit $rc after $ms ms: $(grep -E '^\* connect to' <<<"$out")"
[ $rc = 7 ] || fail "curl http://$VIP:8080/: want exit 7 (could not connect), got $rc: $out"
grep -q "port 8080 failed: Connection refused" <<<"$out" || fail "curl http://$VIP:8080/: want 'Connection refused', got: $out"
[ $SANITIZED = 1 ] || [ $ms -lt 1000 ] || fail "curl http://$VIP:8080/ took $ms ms to be refused (want < 1000)"
pkts=$(pcap tcp)
echo "$pkts"
syn=$(pcap tcp "src host $CIP and tcp[tcpflags] == tcp-syn" | head -n 1)
[ -n "$syn" ] || fail "no SYN to $VIP:8080 in the client capture"
isn=$(sed -nE 's/.* seq ([0-9]+),.*/\1/p' <<<"$syn")
grep -qE "IP $VIP\.8080 > $CIP\.[0-9]+: Flags \[R\.\], seq 0, ack $((isn + 1)), win 0, length 0" <<<"$pkts" ||
  fail "no RST+ACK from $VIP:8080 acknowledging the SYN (seq $isn) in the client capture"
rst1=$(metric_after "$RST" "$rst0")
[ "$rst1" = $((rst0 + 1)) ] || fail "$RST: $rst0 before, $rst1 after one refused connection (want +1)"

# 2. UDP to a port without a service
start_capture udp c eth0 icmp or udp port 5300
t0=$(now_ms)
out=$(udpq $VIP 5300)
ms=$(($(now_ms) - t0))
stop_captures
say "UDP query to $VIP:5300: '$out' after $ms ms"
[ "$out" = ECONNREFUSED ] || fail "UDP to $VIP:5300 (no service): want ECONNREFUSED, got '$out'"
[ $SANITIZED = 1 ] || [ $ms -lt 900 ] || fail "UDP to $VIP:5300 took $ms ms to be refused (want < 900: no retry)"
pkts=$(pcap udp -v)
echo "$pkts"
# The ICMP error comes from the VIP and quotes the query (IP header + UDP header: 28 bytes).
icmp=$(grep -A 2 -E "^ +$VIP > $CIP: ICMP $VIP udp port 5300 unreachable, length 36$" <<<"$pkts")
[ -n "$icmp" ] || fail "no ICMP port unreachable from $VIP about port 5300 (quoting 28 bytes) in the client capture"
grep -qE "proto UDP \(17\), length 35\)$" <<<"$icmp" && grep -qE "^ +$CIP\.[0-9]+ > $VIP\.5300: UDP, length 7$" <<<"$icmp" ||
  fail "the ICMP error does not quote the query ($CIP > $VIP.5300, UDP length 7): $icmp"

# the same with a real resolver client: dig is told the port is refused, it does not time out
if command -v dig >/dev/null; then
  t0=$(now_ms)
  out=$(timeout 10 ip netns exec "${P}c" dig +tries=1 +time=3 @$VIP -p 5300 example.test 2>&1)
  ms=$(($(now_ms) - t0))
  grep -qi "refused" <<<"$out" || fail "dig @$VIP -p 5300 was not refused: $out"
  [ $SANITIZED = 1 ] || [ $ms -lt 2000 ] || fail "dig @$VIP -p 5300 took $ms ms (want a refusal, not a timeout)"
  say "dig @$VIP -p 5300: refused after $ms ms"
else
  fail "missing tool: dig (tools/deps.sh installs dnsutils)"
fi

# 3. a flood: answered within the budget, the rest refused and counted
lim0=$(metric "$LIMITED")
cat > "$W/flood.py" <<EOF
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t = time.monotonic()
for i in range($FLOOD):
    s.sendto(b"x", ("$VIP", 5301))
print("%.3f" % (time.monotonic() - t))
EOF
secs=$(timeout 60 ip netns exec "${P}c" "$PY" "$W/flood.py") || fail "the flood did not run"
sleep 1.1 # every datagram processed and in the next snapshot
lim1=$(metric_after "$LIMITED" "$lim0")
limited=$((lim1 - lim0))
# Each clock second the flood's processing touches answers at most REPLY_RATE: it spans
# ceil(secs) + 1 of them, one more for the director's lag behind the client.
spans=$(awk -v s="$secs" 'BEGIN { printf "%d", (s == int(s) ? s : int(s) + 1) + 2 }')
want=$((FLOOD - REPLY_RATE * spans))
say "$FLOOD datagrams to $VIP:5301 in $secs s: $limited refused by the reply budget (want >= $want)"
[ $limited -gt 0 ] && [ $limited -ge $want ] || fail "$LIMITED grew by $limited during the flood, want >= max(1, $want)"
[ "$(http http://$VIP/)" = rs1 ] || fail "http://$VIP/ not served right after the flood"
sleep 1.1 # the next second refills the bucket
[ "$(udpq $VIP 5300)" = ECONNREFUSED ] || fail "UDP to $VIP:5300 a second after the flood: not refused"
pass
