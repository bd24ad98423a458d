#!/bin/bash
# wlc with weights 3:1: 100 closed HTTP connections split about 75/25, rawlb-ctl list shows the
# service and weights, the real server sees the client's own address, keep-alive stays on one server.
. "$(dirname "$0")/lib.sh"

topo_up 2
rs_nginx 1; rs_nginx 2
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -s wlc -r 203.0.113.11:80:3 -r 203.0.113.12:80:1
wait_http http://$VIP/

n1=0; n2=0; bad=0
for ((i = 0; i < 100; i++)); do
  [ $bad -gt 5 ] && break   # bounded: a broken path should not take 100 timeouts
  body=$(http -m 5 -H 'Connection: close' http://$VIP/) || { bad=$((bad + 1)); continue; }
  case $body in rs1) n1=$((n1 + 1)) ;; rs2) n2=$((n2 + 1)) ;; *) bad=$((bad + 1)) ;; esac
done
say "$i requests: rs1=$n1 rs2=$n2 failed=$bad"
[ $bad = 0 ] || fail "$bad of $i requests through $VIP:80 failed"
[ $n1 -ge 65 ] && [ $n1 -le 85 ] || fail "weights 3:1 but rs1 answered $n1 of 100 (want 65..85), rs2 $n2"

list=$(ctl list) || fail "rawlb-ctl list failed: $list"
echo "$list"
grep -qE '^Prot +LocalAddress:Port +Scheduler +Flags' <<<"$list" || fail "list: no ipvsadm header line"
grep -qE '^TCP +198\.51\.100\.10:80 +wlc' <<<"$list" || fail "list: no line 'TCP  $VIP:80 wlc'"
grep -qE -- '-> +203\.0\.113\.11:80 +Masq +3 ' <<<"$list" || fail "list: rs1 not shown as Masq with weight 3"
grep -qE -- '-> +203\.0\.113\.12:80 +Masq +1 ' <<<"$list" || fail "list: rs2 not shown as Masq with weight 1"
conns=$(awk '$2 == "203.0.113.11:80" { print $5 + $6 }' <<<"$list")
[ "${conns:-0}" -gt 0 ] || fail "list: rs1 shows no active or inactive connections right after $n1 connections"

# LVS-NAT keeps the client's address; /whoami answers "rsN CLIENTIP:PORT"
who=$(http http://$VIP/whoami) || fail "GET /whoami failed"
[[ $who == "rs"?" $CIP:"* ]] || fail "the real server saw '$who', want the client's address $CIP"

# keep-alive: 5 requests on one connection (curl reuses it) must all reach the same server
for ((k = 0; k < 6; k++)); do
  out=$(http -w '%{num_connects}\n' http://$VIP/whoami http://$VIP/whoami http://$VIP/whoami \
        http://$VIP/whoami http://$VIP/whoami) || fail "keep-alive run $k failed: $out"
  bodies=$(grep '^rs' <<<"$out" | sort -u)
  connects=$(awk '/^[0-9]+$/ { s += $1 } END { print s + 0 }' <<<"$out")
  [ "$(grep -c '^rs' <<<"$out")" = 5 ] || fail "keep-alive run $k: want 5 answers, got: $out"
  [ "$(wc -l <<<"$bodies")" = 1 ] || fail "keep-alive run $k: one connection reached several servers or ports: $bodies"
  [ "$connects" = 1 ] || fail "keep-alive run $k: curl opened $connects connections, want 1 (test premise)"
done
say "keep-alive: 6 connections of 5 requests each stayed on one server and one client port"
pass
