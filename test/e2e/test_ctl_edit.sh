#!/bin/bash
# Runtime edits in ipvsadm's syntax, no restart: a weight change (wrr 1:1 -> 3:1) and a drain
# (weight 0) change where new connections go while a long download from the drained server goes
# on intact; -a adds a third real server that gets traffic once its first probe passed; -A/-D add
# and remove a service (left without real servers in between, as ipvsadm allows);
# list --stats counts the requests made, -Z zeroes them, --json parses; -L -n -c shows the flows;
# -S fed back to a new rawlb gives the same list.
. "$(dirname "$0")/lib.sh"

RS1=203.0.113.11:80; RS2=203.0.113.12:80; RS3=203.0.113.13:80
topo_up 3
rs_nginx 1; rs_nginx 2; rs_nginx 3
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -s wrr -r $RS1:1 -r $RS2:1
wait_http http://$VIP/
pid0=$RAWLB_PID

# split N: N closed requests through the VIP; prints "rs1 rs2 rs3" counts
split() {
  local n1=0 n2=0 n3=0 i body
  for ((i = 0; i < $1; i++)); do
    body=$(http -m 5 -H 'Connection: close' http://$VIP/) || fail "request $i failed"
    case $body in rs1) n1=$((n1 + 1)) ;; rs2) n2=$((n2 + 1)) ;; rs3) n3=$((n3 + 1)) ;; *) fail "unexpected answer '$body'" ;; esac
  done
  echo "$n1 $n2 $n3"
}
# stat_of ADDR:PORT FIELD: a number of a real server's or a service's line of list --stats
# (both read "-> ADDR:PORT" or "TCP VIP:PORT", then field 3 = Conns ... 7 = OutBytes)
stat_of() { ctl list --stats | awk -v k="$1" -v f="$2" '$2 == k { print $f }'; }

# ---- counters: -Z, then list --stats counts exactly the requests made; --json parses ----
ctl -Z || fail "rawlb-ctl -Z failed"
read -r a b c <<<"$(split 20)"
[ $((a + b)) = 20 ] || fail "20 requests: rs1=$a rs2=$b"
s1=$(stat_of $RS1 3); s2=$(stat_of $RS2 3); sv=$(stat_of $VIP:80 3)
say "20 requests: rs1=$a rs2=$b; list --stats Conns: rs1=$s1 rs2=$s2 service=$sv"
[ "$s1" = "$a" ] && [ "$s2" = "$b" ] || fail "list --stats Conns rs1=$s1 rs2=$s2, want $a $b: $(ctl list --stats)"
[ "$sv" = 20 ] || fail "list --stats: the service line shows $sv connections, want 20: $(ctl list --stats)"
inp=$(stat_of $RS1 4); inb=$(stat_of $RS1 6)
[ "${inp:-0}" -ge $((a * 4)) ] && [ "${inb:-0}" -gt 0 ] || fail "list --stats: rs1 InPkts $inp InBytes $inb for $a connections"
ctl -L -n --rate | grep -q "CPS    InPPS   OutPPS    InBPS   OutBPS" || fail "-L -n --rate: no rate header: $(ctl -L -n --rate)"
ctl list --json > "$W/list.json" || fail "list --json failed"
python3 -m json.tool "$W/list.json" > /dev/null || fail "list --json is not JSON: $(cat "$W/list.json")"
python3 - "$W/list.json" $a $b <<'EOF' || fail "list --json content: $(cat "$W/list.json")"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["services"][0]
assert s["proto"] == "TCP" and s["port"] == 80 and s["scheduler"] == "wrr", s
assert s["stats"]["conns"] == 20, s["stats"]
rs = {r["address"]: r for r in s["real_servers"]}
assert rs["203.0.113.11"]["stats"]["conns"] == int(sys.argv[2]) and rs["203.0.113.12"]["stats"]["conns"] == int(sys.argv[3])
assert all("state" in r["health"] for r in s["real_servers"]), s["real_servers"]
EOF
ctl -Z || fail "rawlb-ctl -Z failed"
z=$(ctl list --stats | awk '$1 == "->" || $1 == "TCP" { s += $3 + $4 + $5 + $6 + $7 } END { print s + 0 }')
[ "$z" = 0 ] || fail "after -Z list --stats still counts $z: $(ctl list --stats)"
say "ok: -Z zeroed the counters; --json parses; --rate has its header"

# ---- a long download, then a weight change and a drain of the server it runs on ----
want=$(sha256sum < "$W/big.bin" | cut -d' ' -f1)
bg_download dl 600
wait_for 5 bash -c "timeout 5 '$CTL' --ctl '$SOCK' -L -n -c | grep -q ESTABLISHED" || fail "no ESTABLISHED entry in -L -n -c: $(ctl -L -n -c)"
conns=$(ctl -L -n -c)
grep -q "^pro expire state       source             virtual            destination" <<<"$conns" || fail "-L -n -c header: $conns"
DL=$(awk '$3 == "ESTABLISHED" && $5 == "'$VIP':80" { print $6 }' <<<"$conns" | head -n 1)
case $DL in $RS1) KEEP=$RS2 ;; $RS2) KEEP=$RS1 ;; *) fail "the download's entry names no real server: $conns" ;; esac
ctl conns --client $CIP --json | python3 -m json.tool > /dev/null || fail "conns --json is not JSON"
say "the download runs on $DL ($(grep ESTABLISHED <<<"$conns" | head -n 1))"

ctl -e -t $VIP:80 -r $KEEP -w 3 -m || fail "-e -w 3 failed"
read -r a b c <<<"$(split 40)"
[ "$KEEP" = $RS1 ] && { nk=$a; nd=$b; } || { nk=$b; nd=$a; }
say "weight 3:1 (wrr): $KEEP got $nk, $DL got $nd of 40"
[ $nk -ge 29 ] && [ $nk -le 31 ] || fail "after -e -w 3, $KEEP got $nk of 40 new connections (want 30)"

ctl -e -t $VIP:80 -r $DL -w 0 || fail "-e -w 0 (drain) failed"
ctl list | grep -qE -- "-> +${DL//./\\.} +Masq +0 " || fail "list does not show $DL with weight 0: $(ctl list)"
read -r a b c <<<"$(split 20)"
[ "$KEEP" = $RS1 ] && { nk=$a; nd=$b; } || { nk=$b; nd=$a; }
say "drained $DL: $KEEP got $nk, $DL got $nd of 20"
[ $nd = 0 ] && [ $nk = 20 ] || fail "after draining $DL it got $nd of 20 new connections"

# ---- -a: a third real server gets traffic ----
ctl -a -t $VIP:80 -r $RS3 -w 3 -m || fail "-a of rs3 failed"
# an added server is used from its first passing probe on, which goes out at once
t=$(wait_state 3 $RS3 up) || fail "the added rs3 is not up $t ms after -a: $(health_line $RS3)"
read -r a b c <<<"$(split 24)"
say "with rs3 added (weight 3, $KEEP weight 3, $DL 0): rs1=$a rs2=$b rs3=$c"
[ $c -ge 10 ] || fail "the added real server rs3 got $c of 24 new connections"
[ "$KEEP" = $RS1 ] && nd=$b || nd=$a
[ $nd = 0 ] || fail "the drained $DL got $nd connections"

# ---- refusals: the daemon's words, exit 1; bad input stopped locally, exit 2 ----
out=$(ctl -a -t $VIP:80 -r $RS3 2>&1); rc=$?
[ $rc = 1 ] && grep -q "already a real server" <<<"$out" || fail "-a of an existing server: exit $rc: $out"
out=$(ctl -E -t $VIP:81 -s rr 2>&1); rc=$?
[ $rc = 1 ] && grep -q "no service TCP $VIP:81" <<<"$out" || fail "-E of a missing service: exit $rc: $out"
# set-ups that cannot work are refused at runtime as at start (README, "What rawlb refuses")
for bad in "-a -t $VIP:80 -r 127.0.0.1:80|--add-server: real server 127.0.0.1:80 of TCP $VIP:80 is a loopback address" \
           "-a -t $VIP:80 -r $LB_INT:80|real server $LB_INT:80 of TCP $VIP:80 is a kernel address on int" \
           "-a -t $VIP:80 -r $NAT|--add-server: real server $NAT:80 of TCP $VIP:80 is the NAT router address" \
           "-A -u $NAT:53|--add-service: the VIP of UDP $NAT:53 is the NAT router address" \
           "-A -t 203.0.113.12:80|--add-service: 203.0.113.12 is both a VIP (of TCP 203.0.113.12:80)"; do
  out=$(ctl ${bad%%|*} 2>&1); rc=$?
  [ $rc = 1 ] && grep -qF -- "${bad#*|}" <<<"$out" || fail "ctl ${bad%%|*}: exit $rc, want 1 and '${bad#*|}': $out"
  say "ok: ctl ${bad%%|*} refused: $out"
done
out=$(ctl -L -n -c -t 198.51.100.99:80 2>&1); rc=$?
[ $rc = 1 ] && grep -qF "error: conns: no service TCP 198.51.100.99:80" <<<"$out" || fail "-L -n -c of a missing service: exit $rc: $out"
out=$(ctl -A -t 198.51.100.99:80 -p 2>&1); rc=$?
[ $rc = 2 ] && grep -qF "option '-p' needs a value" <<<"$out" || fail "-A -p without seconds: exit $rc: $out"
out=$(ctl -a -t $VIP:80 -r 203.0.113.14:80 -w 70000 2>&1); rc=$?
[ $rc = 2 ] && grep -q "70000" <<<"$out" || fail "-w 70000: exit $rc: $out"
out=$(ctl -a -t $VIP:80 -r 203.0.113.14:80 -g 2>&1); rc=$?
[ $rc = 2 ] && grep -q "NAT only" <<<"$out" || fail "-g: exit $rc: $out"

# ---- -A / -D a service ----
ctl -A -t $VIP:8080 -s rr || fail "-A failed"
ctl -a -t $VIP:8080 -r $RS3 || fail "-a to the new service failed"
wait_for 5 http -m 2 -o /dev/null http://$VIP:8080/ || fail "no answer from the added service $VIP:8080: $(ctl list)"
[ "$(http -m 5 http://$VIP:8080/)" = rs3 ] || fail "the added service does not reach rs3"
# its last real server deleted: the service stays, with none (as in ipvsadm)
ctl -d -t $VIP:8080 -r $RS3 || fail "-d of the last real server failed"
ctl list | grep -A1 "^TCP  $VIP:8080 rr" | grep -q -- "->" && fail "-d: the service still lists a real server: $(ctl list)"
http -m 2 --connect-timeout 2 -o /dev/null http://$VIP:8080/ 2>/dev/null && fail "a service without real servers answers"
out=$(ctl -S 2>&1); rc=$?
# -S prints a command line rawlb takes though the service is empty: reloaded as it is, it is taken
[ $rc = 0 ] && grep -qE -- "-t $VIP:8080 -s [a-z]+( |\$)" <<<"$out" && ! grep -q -- "-r [0-9.]*:8080" <<<"$out" ||
  fail "-S with an empty service: exit $rc: $out"
eval "set -- $out"; shift
ctl reload "$@" || fail "the -S line of a service without servers was not taken back: $out"
kill -0 $RAWLB_PID || fail "rawlb died with a service left without real servers"
ctl -D -t $VIP:8080 || fail "-D failed"
ctl list | grep -q ":8080" && fail "-D: list still shows the service: $(ctl list)"
http -m 2 --connect-timeout 2 -o /dev/null http://$VIP:8080/ 2>/dev/null && fail "the deleted service still answers"
say "ok: -A, -a to it, traffic, -d of its last server, -D"

# ---- the download survived every edit ----
bg_wait dl 40 || fail "the download from the drained $DL did not finish: $(cat "$W/dl.log")"
got=$(sha256sum < "$W/dl.bin" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "the download across the edits is corrupted ($(stat -c %s "$W/dl.bin") bytes)"
[ "$RAWLB_PID" = "$pid0" ] && kill -0 $RAWLB_PID || fail "rawlb is not the process that started"
say "ok: the 10 MB download from $DL went on intact through the edits, same rawlb process"

# ---- watch --count ----
w=$(ctl watch --stats --count 2) || fail "watch failed"
[ "$(grep -c "Prot LocalAddress:Port               Conns" <<<"$w")" = 2 ] || fail "watch --count 2: $w"

# ---- -S fed back to a new rawlb gives the same list ----
saved=$(ctl -S) || fail "-S failed"
say "saved: $saved"
shape() { ctl list | awk '$1 == "->" { print $1, $2, $3, $4; next } { print }'; }
before=$(shape)
stop_rawlb
eval "args=($saved)"
[ "${args[0]}" = rawlb ] || fail "-S does not start with rawlb: $saved"
start_rawlb "${args[@]:1}"
after=$(shape)
[ "$after" = "$before" ] || fail "rawlb started from -S lists differently:
$after
--- want
$before"
say "ok: the saved line gives the same list"
pass
