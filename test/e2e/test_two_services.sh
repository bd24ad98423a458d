#!/bin/bash
# Three services at once: TCP VIP:80 (nginx), TCP on a second VIP 198.51.100.11:8080 (python httpd)
# and UDP VIP:53; each answers, over both real servers, with the client's own address seen behind.
. "$(dirname "$0")/lib.sh"

VIP2=198.51.100.11
topo_up 2
for i in 1 2; do rs_nginx $i; rs_httpd $i 8080; rs_udpd $i 53; done
start_rawlb -e ext -i int -n $NAT \
  -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80 \
  -t $VIP2:8080 -r 203.0.113.11:8080 -r 203.0.113.12:8080 \
  -u $VIP:53 -r 203.0.113.11:53 -r 203.0.113.12:53

list=$(ctl list) || fail "rawlb-ctl list failed: $list"
echo "$list"
for svc in "TCP +198\.51\.100\.10:80 " "TCP +198\.51\.100\.11:8080 " "UDP +198\.51\.100\.10:53 "; do
  grep -qE "^$svc" <<<"$list" || fail "rawlb-ctl list does not show the service '$svc'"
done

check_tcp() { # URL: 20 closed connections, all answered, both servers seen, client address kept
  local url=$1 out="" body i
  wait_http "$url"
  for ((i = 0; i < 20; i++)); do
    body=$(http -m 5 -H 'Connection: close' "$url") || fail "request $i to $url failed"
    out+="${out:+$'\n'}$body"
  done
  grep -q '^rs1' <<<"$out" && grep -q '^rs2' <<<"$out" || fail "$url: 20 connections did not reach both servers: $(sort <<<"$out" | uniq -c)"
  say "$url: $(cut -d' ' -f1 <<<"$out" | sort | uniq -c | xargs)"
}
check_tcp http://$VIP/
check_tcp http://$VIP2:8080/
body=$(http http://$VIP2:8080/) && [[ $body == "rs"?" $CIP:"* ]] || fail "$VIP2:8080: the real server saw '$body', want $CIP"

out=$(udpq $VIP 53 10) || fail "UDP $VIP:53: not all of 10 flows answered: $out"
grep -q '^rs1 ' <<<"$out" && grep -q '^rs2 ' <<<"$out" || fail "10 UDP flows all went to one real server"
say "udp $VIP:53: $(cut -d' ' -f1 <<<"$out" | sort | uniq -c | xargs)"

# the services do not leak into each other: VIP2 has no port 80, VIP no port 8080
http -m 3 -o /dev/null http://$VIP2/ 2>/dev/null && fail "$VIP2:80 answered but is no service"
http -m 3 -o /dev/null http://$VIP:8080/ 2>/dev/null && fail "$VIP:8080 answered but is no service"
pass
