#!/bin/bash
# MTUs lowered while rawlb runs, during a 10 MB download and a run of 2 MB uploads through the VIP:
# first the internal side (the director's int, the real server and their bridge ports) to 1280,
# then the external side (the director's ext, the client and their bridge ports) to 1200. rawlb
# follows each change at once (and logs it): an upload segment too big for int gets ICMP
# fragmentation-needed from the VIP, a download segment too big for ext gets it from the NAT
# router address, path-MTU discovery through the VIP shrinks the segments, and everything
# arrives intact with no send failure (before, rawlb kept the start-up MTU and sent frames the
# kernel refused, or the server never learnt a smaller path MTU).
. "$(dirname "$0")/lib.sh"

INT_MTU=1280; EXT_MTU=1200
UPLOAD_BYTES=2097152; UPLOADS=3

topo_up 1
rs_nginx 1; rs_httpd 1 8080
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80 -t $VIP:8080 -r 203.0.113.11:8080
wait_http http://$VIP/
want=$(sha256sum < "$W/big.bin" | cut -d' ' -f1)
head -c $UPLOAD_BYTES /dev/urandom > "$W/up.bin"
up=$(sha256sum < "$W/up.bin" | cut -d' ' -f1)

# (bg_download's small receive buffer keeps the download on the wire at its pace)
start_capture icmp_c c eth0 icmp
start_capture icmp_rs rs1 eth0 icmp
bg_download dl 2000
bg_start up c bash -c "for i in \$(seq $UPLOADS); do
  curl -sS --limit-rate 1000k -m 60 -H 'Expect:' --data-binary @'$W/up.bin' http://$VIP:8080/upload; echo; done"
sleep 1.5
for cmd in "rs1 ip link set eth0 mtu $INT_MTU" "sw ip link set rs1-eth0 mtu $INT_MTU" \
           "sw ip link set lb-int mtu $INT_MTU" "lb ip link set int mtu $INT_MTU"; do
  on $cmd || fail "$cmd"
done
say "internal side at MTU $INT_MTU"
sleep 1.5
for cmd in "c ip link set eth0 mtu $EXT_MTU" "sw ip link set c-eth0 mtu $EXT_MTU" \
           "sw ip link set lb-ext mtu $EXT_MTU" "lb ip link set ext mtu $EXT_MTU"; do
  on $cmd || fail "$cmd"
done
say "external side at MTU $EXT_MTU"

bg_wait dl 60 || fail "the 10 MB download failed: $(cat "$W/dl.log")"
got=$(sha256sum < "$W/dl.bin" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the download arrived corrupted or short: $(stat -c %s "$W/dl.bin") bytes"
bg_wait up 120 || fail "the uploads failed: $(cat "$W/up.log")"
n=$(grep -c "^$up $UPLOAD_BYTES\$" "$W/up.log")
[ "$n" = $UPLOADS ] || fail "$n of $UPLOADS uploads arrived intact: $(cat "$W/up.log")"
say "10 MB download and $UPLOADS uploads of $UPLOAD_BYTES bytes intact"
stop_captures

grep -q "int: MTU changed from 1500 to $INT_MTU" "$LOG" || fail "the log does not say that the MTU of int changed"
grep -q "ext: MTU changed from 1500 to $EXT_MTU" "$LOG" || fail "the log does not say that the MTU of ext changed"
pcap icmp_c -v "src host $VIP and icmp[icmptype] == 3 and icmp[icmpcode] == 4" | grep -q "mtu $INT_MTU" ||
  fail "the client got no fragmentation-needed (mtu $INT_MTU) from $VIP: $(pcap icmp_c -v | head -n 6)"
pcap icmp_rs -v "src host $NAT and icmp[icmptype] == 3 and icmp[icmpcode] == 4" | grep -q "mtu $EXT_MTU" ||
  fail "the real server got no fragmentation-needed (mtu $EXT_MTU) from $NAT: $(pcap icmp_rs -v | head -n 6)"
stop_rawlb
failures=$(sed -nE 's/.*send failures: ext ([0-9]+) int ([0-9]+).*/\1 \2/p' "$LOG")
[ "$failures" = "0 0" ] || fail "send failures (ext int): ${failures:-none logged}"
say "PASS"
