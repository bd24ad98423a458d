#!/bin/bash
# The VIP answers ping and ARP (with the director's ext MAC); the NAT router answers ARP on int.
. "$(dirname "$0")/lib.sh"

topo_up 1
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80
ext_mac=$(mac_of lb ext); int_mac=$(mac_of lb int)

out=$(timeout 20 ip netns exec ${P}c ping -c 3 -i 0.3 -W 2 $VIP 2>&1); rc=$?
echo "$out" | tail -3
[ $rc = 0 ] || fail "ping -c 3 $VIP from the client: exit $rc"
grep -q '3 received' <<<"$out" || fail "ping $VIP: not 3 replies"
grep -q "bytes from $VIP:" <<<"$out" || fail "ping replies do not come from $VIP"

neigh=$(on c ip neigh show $VIP dev eth0)
say "client: $neigh (director ext is $ext_mac)"
grep -q "lladdr $ext_mac" <<<"$neigh" || fail "client's neighbour entry for $VIP is '$neigh', want lladdr $ext_mac"

out=$(timeout 10 ip netns exec ${P}c arping -c 2 -w 5 -I eth0 $VIP 2>&1)
grep -qi "reply from $VIP \[$ext_mac\]" <<<"$out" || fail "arping $VIP from the client: $out"
out=$(timeout 10 ip netns exec ${P}rs1 arping -c 2 -w 5 -I eth0 $NAT 2>&1)
grep -qi "reply from $NAT \[$int_mac\]" <<<"$out" || fail "arping $NAT (NAT router) from rs1 (want $int_mac): $out"
pass
