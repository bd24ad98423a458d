#!/bin/bash
# The internal side has MTU 1200: a 1400-byte UDP datagram with DF from the client cannot be
# forwarded, and rawlb answers with ICMP fragmentation-needed (next-hop MTU 1200) from the VIP, so the
# client's connected socket learns path MTU 1200. Small datagrams still pass.
. "$(dirname "$0")/lib.sh"

topo_up 2
for i in 1 2; do
  on rs$i ip link set eth0 mtu 1200; on sw ip link set rs$i-eth0 mtu 1200
done
on lb ip link set int mtu 1200; on sw ip link set lb-int mtu 1200
rs_udpd 1 53; rs_udpd 2 53
start_rawlb -e ext -i int -n $NAT -u $VIP:53 -r 203.0.113.11:53 -r 203.0.113.12:53

out=$(udpq $VIP 53 1) || fail "a small UDP datagram to $VIP:53 got no answer: $out"
say "small datagram: $out"

start_capture icmp c eth0 icmp
out=$(timeout 20 ip netns exec ${P}c "$PY" "$E2E/nethelper.py" udpdf $VIP 53 1400) || fail "udpdf: $out"
stop_captures
say "1400-byte datagram with DF: $out"
pcap icmp -v
[[ $out == *reply=1* ]] && fail "a 1400-byte datagram with DF crossed the 1200-byte MTU side (got an answer)"
[[ $out == mtu=1200\ * ]] || fail "the client's socket did not learn path MTU 1200 for $VIP ($out)"
pcap icmp "src host $VIP and icmp[icmptype] == 3 and icmp[icmpcode] == 4" | grep -q . \
  || fail "no ICMP fragmentation-needed from $VIP reached the client"
pass
