#!/bin/bash
# The director's kernel stays out of the data path: with forwarding switched on beforehand (as on a
# router), rawlb turns it off on ext and int; during 20 requests no TCP RST and no ICMP reach the
# client, and the director's kernel sends no RST, ICMP or redirect on either side.
. "$(dirname "$0")/lib.sh"

topo_up 2
rs_nginx 1; rs_nginx 2
on lb sysctl -qw net.ipv4.conf.ext.forwarding=1 net.ipv4.conf.int.forwarding=1
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80
for dev in ext int; do
  v=$(on lb sysctl -n net.ipv4.conf.$dev.forwarding)
  [ "$v" = 0 ] || fail "net.ipv4.conf.$dev.forwarding is $v in the director after rawlb started (want 0)"
done
wait_http http://$VIP/

start_capture client c eth0 ip
start_capture lbext sw lb-ext ip
start_capture lbint sw lb-int ip
ok=0
for ((i = 0; i < 20; i++)); do
  [ $((i - ok)) -gt 5 ] && break   # bounded
  body=$(http -m 5 -H 'Connection: close' http://$VIP/) && [[ $body == rs[12] ]] && ok=$((ok + 1))
done
stop_captures
say "$ok of 20 requests answered"
[ $ok = 20 ] || fail "only $ok of 20 requests through $VIP:80 succeeded"

syns=$(pcap client "tcp[tcpflags] == tcp-syn and dst host $VIP" | wc -l)
[ "$syns" -ge 20 ] || fail "the client capture saw $syns SYNs to $VIP, want >= 20 (capture broken?)"
rst=$(pcap client 'tcp[tcpflags] & tcp-rst != 0')
[ -z "$rst" ] || fail "TCP RST reached the client:"$'\n'"$rst"
icmp=$(pcap client icmp)
[ -z "$icmp" ] || fail "ICMP reached the client:"$'\n'"$icmp"
for cap in lbext lbint; do
  noise=$(pcap $cap "(src host $LB_EXT or src host $LB_INT) and (icmp or tcp[tcpflags] & tcp-rst != 0)")
  [ -z "$noise" ] || fail "the director's kernel sent RST/ICMP ($cap):"$'\n'"$noise"
done
pass
