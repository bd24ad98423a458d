#!/bin/bash
# A ping of the VIP too large for one frame (ping -s 3000: three fragments each) gets no answer
# at all, never a truncated echo of its first fragment: rawlb drops every fragment and counts
# them as icmp_fragment (the stop log's "dropped (icmp_fragment): 6"). An ordinary ping of the
# VIP is answered before and after.
. "$(dirname "$0")/lib.sh"

COUNT=2
FRAGS_EACH=3 # 3008 bytes of ICMP in 1480-byte pieces at MTU 1500

topo_up 1
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80

ping_vip() { timeout 20 ip netns exec "${P}c" ping -n -c "$1" -i 0.3 -W 2 "${@:2}" $VIP 2>&1; }

out=$(ping_vip 3) || fail "ping $VIP: $(tail -n 2 <<<"$out")"
grep -q "3 received" <<<"$out" || fail "ping $VIP: not 3 replies: $(tail -n 2 <<<"$out")"

start_capture icmp c eth0 icmp
out=$(ping_vip $COUNT -s 3000); rc=$?
stop_captures
say "ping -s 3000: exit $rc, $(grep -E 'packets transmitted' <<<"$out")"
grep -q "$COUNT packets transmitted, 0 received" <<<"$out" || fail "ping -s 3000 $VIP: want $COUNT sent and no reply: $out"
frags=$(pcap icmp "src host $CIP and dst host $VIP and ip[6:2] & 0x3fff != 0" | wc -l)
[ "$frags" = $((COUNT * FRAGS_EACH)) ] || fail "the client sent $frags fragments, want $((COUNT * FRAGS_EACH)) (capture broken?)"
replies=$(pcap icmp "src host $VIP")
[ -z "$replies" ] || fail "the VIP answered (part of) a fragmented ping:"$'\n'"$replies"

out=$(ping_vip 3) || fail "ping $VIP after the large ones: $(tail -n 2 <<<"$out")"
grep -q "3 received" <<<"$out" || fail "ping $VIP after the large ones: not 3 replies"

stop_rawlb
grep -E "dropped \(icmp_fragment\)" "$LOG" || fail "no 'dropped (icmp_fragment)' in the stop log"
grep -qx "rawlb: info: dropped (icmp_fragment): $((COUNT * FRAGS_EACH))" "$LOG" ||
  fail "want 'dropped (icmp_fragment): $((COUNT * FRAGS_EACH))' in the stop log"
pass
