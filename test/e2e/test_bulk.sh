#!/bin/bash
# 10 MB download (nginx) and 10 MB upload (python sink) through the VIP arrive intact, sha256 compared
# on both sides, with default offloads (TSO/GSO superframes and partial checksums reach rawlb).
. "$(dirname "$0")/lib.sh"

topo_up 2
for i in 1 2; do rs_nginx $i; rs_httpd $i 8080; done
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80 \
            -t $VIP:8080 -r 203.0.113.11:8080 -r 203.0.113.12:8080
wait_http http://$VIP/
want=$(sha256sum < "$W/big.bin" | cut -d' ' -f1)
head -c 10485760 /dev/urandom > "$W/up.bin"
up=$(sha256sum < "$W/up.bin" | cut -d' ' -f1)

for k in 1 2; do   # two rounds: with equal weights both servers serve one
  rm -f "$W/down.bin"
  t0=$(date +%s.%N)
  http -o "$W/down.bin" http://$VIP/big.bin || fail "10 MB download $k failed after $(stat -c %s "$W/down.bin" 2>/dev/null || echo 0) bytes"
  got=$(sha256sum < "$W/down.bin" | cut -d' ' -f1)
  [ "$got" = "$want" ] || fail "10 MB download $k corrupted: $(stat -c %s "$W/down.bin") bytes, sha256 $got, want $want"
  say "download $k intact ($(awk -v a=$t0 -v b=$(date +%s.%N) 'BEGIN { printf "%.2f", b - a }') s)"

  res=$(http -H 'Expect:' --data-binary @"$W/up.bin" http://$VIP:8080/upload) || fail "10 MB upload $k failed: $res"
  [ "$res" = "$up 10485760" ] || fail "10 MB upload $k: the real server got '$res', want '$up 10485760'"
  say "upload $k intact"
done

for n in c rs1 rs2; do
  e=$(on $n nstat -asz TcpInCsumErrors | awk '/TcpInCsumErrors/ {print $2}')
  [ "${e:-0}" = 0 ] || fail "$n counted $e TCP checksum errors (TcpInCsumErrors)"
done
pass
