#!/bin/bash
# A frame of another VLAN is not balanced: the client sends TCP SYNs to the VIP's MAC with an
# 802.1Q tag (VLAN 100: a raw socket, as the test kernel may have no VLAN devices). The kernel
# moves the tag into metadata before rawlb's sockets see the frames, so they look like any SYN
# to the VIP; rawlb must leave them out and count them: the real server sees none of them, rawlb's
# metrics and its log at stop count them, and untagged clients are served as before.
. "$(dirname "$0")/lib.sh"

VLAN_ID=100
SYNS=5

topo_up 1
rs_nginx 1
MX=$LB_INT:9100
start_rawlb -e ext -i int -n $NAT --metrics $MX -t $VIP:80 -r 203.0.113.11:80
wait_http "http://$VIP/"

start_capture syn rs1 eth0 "tcp[tcpflags] & tcp-syn != 0 and tcp src portrange 40000-40099"
start_capture tagged lb ext "vlan $VLAN_ID and tcp"
sent=$(on c "$PY" "$E2E/nethelper.py" vlansyn eth0 "$(mac_of lb ext)" $VLAN_ID $CIP $VIP 80 $SYNS) ||
  fail "vlansyn: $sent"
[ "$(http -m 5 "http://$VIP/")" = rs1 ] || fail "an untagged client is not served"
stop_captures
tagged=$(pcap tagged | wc -l)
say "$sent tagged SYNs sent, $tagged reached the director, $(pcap syn | wc -l) reached the real server"
[ "$tagged" = $SYNS ] || fail "$tagged of $SYNS tagged SYNs reached the director: the test did not test"
[ "$(pcap syn | wc -l)" = 0 ] || fail "the real server saw the tagged SYNs: $(pcap syn | head -3)"
shown=$(metric_at 'rawlb_vlan_drops_total{interface="ext"}' $SYNS)
[ "$shown" = $SYNS ] || fail "rawlb_vlan_drops_total{interface=\"ext\"} is $shown, want $SYNS"
stop_rawlb
counted=$(sed -nE "s/.*other VLANs' frames: ext ([0-9]+) .*/\1/p" "$LOG")
say "rawlb counted ${counted:-none} frames of other VLANs on ext"
[ "${counted:-0}" = $SYNS ] || fail "rawlb counted ${counted:-no} tagged frames, want $SYNS"
pass
