#!/bin/bash
# IPv4 fragments: 4000-byte UDP datagrams (fragmented by the client's stack, MTU 1500) reach the real
# server whole, so every fragment went to the server of its first fragment; the echoed datagram,
# fragmented by the real server, comes back whole from the VIP. Several flows use both servers.
. "$(dirname "$0")/lib.sh"

topo_up 2
rs_udpd 1 7 udpecho; rs_udpd 2 7 udpecho
start_rawlb -e ext -i int -n $NAT -u $VIP:7 -s rr -r 203.0.113.11:7 -r 203.0.113.12:7

reasm() { on "$1" nstat -az IpReasmOKs | awk '/IpReasmOKs/{print $2}'; }
before_c=$(reasm c); before_rs=$(( $(reasm rs1) + $(reasm rs2) ))
out=$(timeout 30 ip netns exec "${P}c" "$PY" "$E2E/nethelper.py" udpbig $VIP 7 4000 10); rc=$?
say "10 flows of 4000 bytes: $(sort <<<"$out" | uniq -c | xargs)"
[ $rc = 0 ] || fail "not every fragmented datagram came back whole: $(grep -vc ' OK$' <<<"$out") of 10 failed"
grep -q '^rs1 OK' <<<"$out" && grep -q '^rs2 OK' <<<"$out" || fail "rr over 10 flows did not use both real servers"
rs_reasm=$(( $(reasm rs1) + $(reasm rs2) - before_rs )); c_reasm=$(( $(reasm c) - before_c ))
say "reassembled: $rs_reasm on the real servers, $c_reasm on the client"
[ "$rs_reasm" -ge 10 ] || fail "the real servers reassembled $rs_reasm datagrams, want 10: were they fragmented at all?"
[ "$c_reasm" -ge 10 ] || fail "the client reassembled $c_reasm datagrams, want 10"
stop_rawlb
grep -q "frag_unknown" "$LOG" && fail "rawlb dropped fragments it could not place: $(grep frag_unknown "$LOG")"
say "PASS"
