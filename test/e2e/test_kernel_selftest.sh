#!/bin/bash
# The Linux kernel's IPVS NAT selftest scenario (tools/testing/selftests/netfilter/ipvs.sh, test_nat):
# the client routes the VIP via the director's own ext address (not via the VIP), the NAT router
# address is a kernel address on the director's int (the kernel answers ARP for it, not rawlb), and
# the real server's gateway is that address. A request and a file transfer through rawlb succeed.
. "$(dirname "$0")/lib.sh"

CLIENT_GW=$LB_EXT topo_up 1
on c ip route add $VIP/32 via $LB_EXT || fail "client route to $VIP via $LB_EXT"  # as the selftest does
on lb ip addr add $NAT/24 dev int || fail "adding $NAT to the director's int"
rs_nginx 1
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -s rr -r 203.0.113.11:80

body=$(http --retry 3 --retry-connrefused -m 10 http://$VIP/) || fail "GET http://$VIP/ via $LB_EXT failed"
[ "$body" = rs1 ] || fail "GET http://$VIP/ answered '$body', want rs1"
http -o "$W/down.bin" http://$VIP/big.bin || fail "10 MB download via $LB_EXT failed"
[ "$(sha256sum < "$W/down.bin")" = "$(sha256sum < "$W/big.bin")" ] || fail "10 MB download via $LB_EXT corrupted"
neigh=$(on c ip neigh show $LB_EXT); grep -q "lladdr $(mac_of lb ext)" <<<"$neigh" || fail "client neighbour entry for $LB_EXT is '$neigh', want the director's ext MAC $(mac_of lb ext)"
on c ip neigh show $VIP | grep -q lladdr && fail "the client resolved $VIP itself: the scenario wants it routed via $LB_EXT"
say "GET and 10 MB transfer via the director's own address succeeded"
pass
