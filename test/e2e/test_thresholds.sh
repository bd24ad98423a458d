#!/bin/bash
# Connection limits (-x/--u-threshold, -y/--l-threshold, as ipvsadm's): with rs1 -x 2 and rs2 -x 3,
# long-lived connections through the VIP fill rs1 with exactly 2 and rs2 with 3, whichever worker
# each flow lands on (the counts are summed over workers); the next connection is refused (its SYN
# dropped, counted as server_limit in the metrics) while the established ones go on; list
# --thresholds shows the limits and both servers overloaded, -S prints them after each -r; a
# runtime -e -x 3 lets rs1 take one more; one of rs1's connections closed (--timeouts: its entry
# goes after 1 s) brings it below 3/4 of its -x and it takes new connections again.
. "$(dirname "$0")/lib.sh"

RS1=203.0.113.11:7000; RS2=203.0.113.12:7000; MX=$LB_INT:9100
topo_up 2
for i in 1 2; do rs_py $i data$i tcp 7000 holdd rs$i 7000; done
# --check none: the servers answer from the start; --timeouts: a closed flow's entry (FIN_WAIT,
# TIME_WAIT) leaves the counts after 1 s instead of 120
start_rawlb -e ext -i int -n $NAT --metrics $MX --timeouts 0,1,0 -t $VIP:7000 --check none -r $RS1 -x 2 -r $RS2 -x 3
wait_for 10 listening lb tcp 9100 || fail "no metrics listener on $MX"

# hold_on NAME: a connection through the VIP held open for a minute (bg NAME); sets GOT to rsN,
# the server that answers on it (fails when none answers within 10 s)
hold_on() {
  bg_start "$1" c "$PY" "$E2E/nethelper.py" hold $VIP 7000 60
  wait_for 10 grep -qE "^[0-9]+ rs[12] " "$W/$1.log" || fail "connection $1 got no answer: $(cat "$W/$1.log")"
  GOT=$(awk '$1 ~ /^[0-9]+$/ { print $2; exit }' "$W/$1.log")
}
# thr ADDR:PORT: "Uthreshold Lthreshold ActiveConn InActConn Overloaded" of list --thresholds
thr() { ctl list --thresholds | awk -v k="$1" '$1 == "->" && $2 == k { print $3, $4, $5, $6, $7 }'; }
# refused NAME: a new connection through the VIP is not answered within its 3 s connect timeout
refused() {
  local out
  out=$(timeout 10 ip netns exec "${P}c" "$PY" "$E2E/nethelper.py" hold $VIP 7000 1) &&
    fail "connection $1 was accepted past both limits: $out ($(ctl list --thresholds))"
  grep -q "^ERROR .*connect" <<<"$out" || fail "connection $1: want a connect timeout, got: $out"
}

# ---- fill both servers: rs1 takes exactly 2, rs2 exactly 3 ----
n1=0; n2=0
for k in 1 2 3 4 5; do
  hold_on h$k
  case $GOT in rs1) n1=$((n1 + 1)) ;; rs2) n2=$((n2 + 1)) ;; esac
done
say "5 held connections: rs1=$n1 rs2=$n2; $(ctl list --thresholds | tail -n 2 | tr -s ' ' | paste -sd';')"
[ $n1 = 2 ] && [ $n2 = 3 ] || fail "with -x 2 and -x 3, 5 connections went rs1=$n1 rs2=$n2 (want 2 and 3)"
[ "$(thr $RS1)" = "2 0 2 0 yes" ] || fail "list --thresholds for rs1: '$(thr $RS1)', want '2 0 2 0 yes': $(ctl list --thresholds)"
[ "$(thr $RS2)" = "3 0 3 0 yes" ] || fail "list --thresholds for rs2: '$(thr $RS2)', want '3 0 3 0 yes'"
ctl list --thresholds | grep -q "^Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn Overloaded$" ||
  fail "list --thresholds header: $(ctl list --thresholds | head -n 2)"
ctl -L -n --thresholds | grep -q "Uthreshold" || fail "-L -n --thresholds: $(ctl -L -n --thresholds)"
full=$(metric_after "rawlb_rs_overloaded{proto=\"tcp\",vip=\"$VIP:7000\",rs=\"$RS1\"}" 0)
[ "$full" = 1 ] || fail "rawlb_rs_overloaded of rs1 is $full, want 1"
ctl list --json | python3 -c '
import json, sys
rs = {r["address"]: r for r in json.load(sys.stdin)["services"][0]["real_servers"]}
a, b = rs["203.0.113.11"], rs["203.0.113.12"]
assert (a["u_threshold"], a["l_threshold"], a["overloaded"]) == (2, 0, True), a
assert (b["u_threshold"], b["overloaded"]) == (3, True), b
' || fail "list --json: thresholds or overloaded wrong: $(ctl list --json)"

# ---- both at their limit: refused and counted; the held ones go on ----
before=$(metric 'rawlb_drops_total{reason="server_limit"}')
[ "$before" != missing ] || fail "no rawlb_drops_total{reason=\"server_limit\"} in the metrics"
no_server=$(metric 'rawlb_drops_total{reason="no_server"}') # the first SYNs may have come before the MACs
refused r1
after=$(metric_after 'rawlb_drops_total{reason="server_limit"}' "$before")
say "a 6th connection: refused; server_limit drops $before -> $after"
[ "$after" != missing ] && [ "$after" -gt "$before" ] || fail "server_limit drops $before -> $after after a refused connection"
[ "$(metric 'rawlb_drops_total{reason="no_server"}')" = "$no_server" ] || fail "the refusal was counted as no_server too"
# every held connection answers a line each 0.2 s: each must go on past the refusal
answers() { grep -cE "^[0-9]+ rs[12] " "$W/$1.log"; }
declare -A seen=()
for k in 1 2 3 4 5; do seen[$k]=$(answers h$k); done
grew() { local k; for k in 1 2 3 4 5; do [ "$(answers h$k)" -gt "${seen[$k]}" ] || return 1; done; }
wait_for 10 grew || fail "a held connection stopped answering after the refusal: $(for k in 1 2 3 4 5; do tail -n 1 "$W/h$k.log"; done)"

# ---- -S prints each server's limit after its -r ----
saved=$(ctl -S) || fail "-S failed"
grep -q -- "-r $RS1:1 -x 2 -r $RS2:1 -x 3" <<<"$saved" || fail "-S does not print the limits after each -r: $saved"

# ---- runtime edits: the pair checked, -x raised lets rs1 take one more ----
out=$(ctl -e -t $VIP:7000 -r $RS1 -x 3 -y 4 2>&1); rc=$?
[ $rc = 2 ] && grep -q -- "--l-threshold: 4 is above the --u-threshold 3" <<<"$out" || fail "-e -x 3 -y 4: exit $rc: $out"
out=$(ctl -e -t $VIP:7000 -r $RS1 -y 3 2>&1); rc=$?
[ $rc = 1 ] && grep -q -- "--l-threshold: 3 is above the --u-threshold 2" <<<"$out" || fail "-e -y 3 over -x 2: exit $rc: $out"
out=$(ctl -E -t $VIP:7000 -x 3 2>&1); rc=$?
[ $rc = 2 ] && grep -q -- "--u-threshold: only with -a or -e" <<<"$out" || fail "-E -x: exit $rc: $out"
ctl -e -t $VIP:7000 -r $RS1 -x 3 || fail "-e -x 3 failed"
ctl -S | grep -q -- "-r $RS1:1 -x 3 -r $RS2:1 -x 3" || fail "-S after -e -x 3: $(ctl -S)"
hold_on h6
say "after -e -x 3 on rs1, a new connection went to $GOT"
[ "$GOT" = rs1 ] || fail "after -e -x 3 on rs1 a new connection went to $GOT: $(ctl list --thresholds)"
refused r2

# ---- one of rs1's connections closed: below 3/4 of -x 3, rs1 takes new ones again ----
for k in 1 2 3 4 5 6; do
  [ "$(awk '$1 ~ /^[0-9]+$/ { print $2; exit }' "$W/h$k.log")" = rs1 ] && { bg_stop h$k; break; }
done
# its entry lingers in FIN_WAIT/TIME_WAIT for the 1 s of --timeouts
rs1_at_2() { [ "$(thr $RS1 | awk '{ print $3 + $4 }')" = 2 ]; }
wait_for 10 rs1_at_2 || fail "rs1 does not count 2 connections 10 s after one of its 3 closed: $(ctl list --thresholds)"
hold_on h7
say "rs1 down to 2 of -x 3 (below 3/4): a new connection went to $GOT"
[ "$GOT" = rs1 ] || fail "rs1 below 3/4 of its -x did not take the new connection (it went to $GOT): $(ctl list --thresholds)"
pass
