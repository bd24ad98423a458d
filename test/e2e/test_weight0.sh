#!/bin/bash
# A real server with weight 0 (quiesced) gets no new connections: all 30 go to the other one.
. "$(dirname "$0")/lib.sh"

topo_up 2
rs_nginx 1; rs_nginx 2
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80:1 -r 203.0.113.12:80:0
ctl list | grep -qE -- '-> +203\.0\.113\.12:80 +Masq +0 ' || fail "rawlb-ctl list does not show rs2 with weight 0: $(ctl list)"
wait_http http://$VIP/

n1=0; n2=0
for ((i = 0; i < 30; i++)); do
  body=$(http -m 5 -H 'Connection: close' http://$VIP/) || fail "request $i failed"
  case $body in rs1) n1=$((n1 + 1)) ;; rs2) n2=$((n2 + 1)) ;; *) fail "unexpected answer '$body'" ;; esac
done
say "30 requests: rs1=$n1 rs2=$n2"
[ $n2 = 0 ] || fail "rs2 has weight 0 but got $n2 of 30 new connections"
[ $n1 = 30 ] || fail "rs1 answered $n1 of 30"
pass
