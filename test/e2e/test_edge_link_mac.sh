#!/bin/bash
# The director's interfaces change under a running rawlb, which follows and logs each change:
# - a new MAC on int, then on ext, while a client keeps making requests: none fails; rawlb
#   announces the NAT router address and the VIP with the new MACs (the real server's and the
#   client's ARP caches move to them), sends from them, and the internal capture filter matches
#   frames to the new MAC (the real server's replies go there once it has the announcement);
# - carrier lost and back on int (its switch port down and up);
# - ext deleted, then created again: rawlb says a restart is needed, keeps running, stops cleanly.
. "$(dirname "$0")/lib.sh"

INT_MAC=02:00:5e:00:22:01; EXT_MAC=02:00:5e:00:22:02

topo_up 1
rs_nginx 1
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80
wait_http http://$VIP/
old_int=$(mac_of lb int); old_ext=$(mac_of lb ext)

# neigh_is NS ADDR MAC: NS's ARP cache has ADDR at MAC
neigh_is() { on "$1" ip neigh show "$2" | grep -qi "lladdr $3"; }

start_capture from_vip c eth0 "tcp and src host $VIP"
start_capture arp_rs rs1 eth0 arp
bg_start req c bash -c "end=\$((SECONDS + 6)); ok=0; bad=0
  while [ \$SECONDS -lt \$end ]; do
    out=\$(curl -sS -m 3 -H 'Connection: close' http://$VIP/ 2>&1)
    if [ \"\$out\" = rs1 ]; then ok=\$((ok + 1)); else bad=\$((bad + 1)); echo \"failed: \$out\"; fi
    sleep 0.05
  done; echo \"ok=\$ok bad=\$bad\""
sleep 1
on lb ip link set int address $INT_MAC || fail "int address"
wait_for 5 neigh_is rs1 $NAT $INT_MAC || fail "rs1 still has $NAT at $(on rs1 ip neigh show $NAT)"
say "int: $old_int -> $INT_MAC; rs1 has the NAT router address at the new MAC"
sleep 1
on lb ip link set ext address $EXT_MAC || fail "ext address"
wait_for 5 neigh_is c $VIP $EXT_MAC || fail "the client still has $VIP at $(on c ip neigh show $VIP)"
say "ext: $old_ext -> $EXT_MAC; the client has the VIP at the new MAC"
bg_wait req 30 || fail "the request loop failed: $(cat "$W/req.log")"
out=$(tail -n 1 "$W/req.log")
say "requests through both changes: $out"
[[ $out == *bad=0 ]] || fail "requests failed: $(cat "$W/req.log")"
http -o /dev/null http://$VIP/ || fail "no answer through the VIP after both changes"
stop_captures
last_src=$(pcap from_vip -e | tail -n 1 | awk '{ print $2 }')
[ "$last_src" = $EXT_MAC ] || fail "rawlb's last frame to the client came from $last_src, not $EXT_MAC"
pcap arp_rs -e "ether src $INT_MAC" | grep -q "who-has $NAT tell $NAT" ||
  fail "no gratuitous ARP for $NAT from $INT_MAC on the internal link: $(pcap arp_rs -e | tail -n 4)"
grep -q "int: MAC changed from $old_int to $INT_MAC" "$LOG" || fail "the log does not say that the MAC of int changed"
grep -q "ext: MAC changed from $old_ext to $EXT_MAC" "$LOG" || fail "the log does not say that the MAC of ext changed"

# ---- carrier ----
on sw ip link set lb-int down
wait_for 5 grep -q "int lost carrier" "$LOG" || fail "the log does not say that int lost carrier"
on sw ip link set lb-int up
wait_for 5 grep -q "int has carrier again" "$LOG" || fail "the log does not say that int has carrier again"
wait_http http://$VIP/
say "int lost carrier and got it back, logged; requests pass again"

# ---- deleted and created again: a restart is needed, said once each ----
on lb ip link del ext || fail "ip link del ext"
wait_for 5 grep -q "ext was deleted: .*restart rawlb once it exists again" "$LOG" || fail "the log does not say that ext was deleted"
link lb ext lb-ext brext $LB_EXT/24
wait_for 5 grep -q "ext exists again, but .*restart rawlb" "$LOG" || fail "the log does not say that ext must be taken up by a restart"
on lb ip link set ext mtu 1400
sleep 1
[ "$(grep -c "ext exists again" "$LOG")" = 1 ] || fail "the restart message was repeated: $(grep -c "ext exists again" "$LOG") times"
grep -q "ext: MTU changed" "$LOG" && fail "rawlb took the MTU of the new ext, whose frames it does not see"
[ "$(grep -c "receive on ext" "$LOG")" -le 1 ] || fail "receive errors on the deleted ext logged again and again"
say "ext deleted and created again: a restart is asked for"
pass
