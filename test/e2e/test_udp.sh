#!/bin/bash
# UDP through VIP:53 on connected client sockets (a reply is accepted only from VIP:53, so an answer
# proves the source was rewritten), spread over both real servers; and an ICMP port unreachable from
# a real server reaches the client translated back to the VIP (ECONNREFUSED on the connected socket).
. "$(dirname "$0")/lib.sh"

topo_up 2
rs_udpd 1 53; rs_udpd 2 53
start_rawlb -e ext -i int -n $NAT -u $VIP:53 -r 203.0.113.11:53 -r 203.0.113.12:53 \
            -u $VIP:5353 -r 203.0.113.11:5353 -r 203.0.113.12:5353

out=$(udpq $VIP 53 20); rc=$?
say "20 flows: $(cut -d" " -f1 <<<"$out" | sort | uniq -c | xargs)"
[ $rc = 0 ] || fail "UDP $VIP:53: not every one of 20 flows got an answer: $(grep -cE 'TIMEOUT|ECONNREFUSED' <<<"$out") failed"
grep -qv "^rs[12] $CIP:" <<<"$out" && fail "a real server saw another source than the client $CIP: $(grep -v "^rs[12] $CIP:" <<<"$out" | head -1)"
grep -q '^rs1 ' <<<"$out" && grep -q '^rs2 ' <<<"$out" || fail "20 UDP flows with equal weights all went to one real server"

# nothing listens on :5353 on the real servers: their port unreachable must come back from the VIP
start_capture icmp c eth0 icmp
out=$(udpq $VIP 5353 1)
stop_captures
say "UDP $VIP:5353 (no listener): $out"
pcap icmp
[ "$out" = ECONNREFUSED ] || fail "UDP to $VIP:5353 with no listener behind it: want ECONNREFUSED, got '$out'"
pcap icmp "src host $VIP and icmp[icmptype] == 3 and icmp[icmpcode] == 3" | grep -q . \
  || fail "no ICMP port unreachable from $VIP reached the client"
pcap icmp "not src host $VIP" | grep -q . && fail "ICMP from another address than the VIP reached the client: $(pcap icmp "not src host $VIP" | head -1)"
pass
