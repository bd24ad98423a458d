#!/bin/bash
# --workers 2: the fanout spreads one client's TCP connections over both workers by port, each
# connection works both ways (its replies reach the worker holding its entry), and the counters
# and connection list cover both workers' tables:
#   1. 40 connections (Connection: close) from one client all answered; both workers received
#      frames (rawlb_worker_frames_total); -c lists the entries of both tables; the real servers'
#      counters add up over the workers (rr: 20 each);
#   2. UDP is keyed by the client's address alone (its later fragments carry no ports): 20 queries
#      from 20 source ports of one client all reach one worker, and all are answered;
#   3. a persistent service added at runtime (-A -p): the fanout program changes to key every flow
#      by client network, so 20 connections of one client stay on one real server (its template
#      and the connections meet in one worker's table) and reach one worker only.
. "$(dirname "$0")/lib.sh"

MX=$LB_INT:9100
CONNS=40
QUERIES=20

WORKERS_ARGS=() # this test is about two workers, whatever RAWLB_WORKERS asks of the others

topo_up 2
for i in 1 2; do rs_httpd $i 80; rs_httpd $i 81; rs_udpd $i 53; done
start_rawlb -e ext -i int -n $NAT --metrics $MX --workers 2 -t $VIP:80 -s rr -r 203.0.113.11:80 -r 203.0.113.12:80 \
            -u $VIP:53 -s rr -r 203.0.113.11:53 -r 203.0.113.12:53
grep -q "2 worker(s)" "$LOG" || fail "rawlb does not say it runs 2 workers: $(head -3 "$LOG")"
wait_http http://$VIP/
ctl -Z >/dev/null

frames() { metric "rawlb_worker_frames_total{worker=\"$1\"}"; }
# settled_frames: "W0 W1" once a snapshot shows the counts of the one before it. The metrics are a
# snapshot taken once a second, and a part must start from counts that hold every frame of the
# part before (the last segments of its closing connections come after its last curl returned:
# on a busy host, a second later).
SNAPSHOT_GAP=1.2 # seconds: more than the once-a-second snapshot's period
settled_frames() {
  local before now i
  now="$(frames 0) $(frames 1)"
  for ((i = 0; i < 10; i++)); do
    before=$now; sleep $SNAPSHOT_GAP; now="$(frames 0) $(frames 1)"
    [ "$before" = "$now" ] && { echo "$now"; return 0; }
  done
  fail "the per-worker frame counts did not settle within 12 s"
}
w0=$(frames 0); w1=$(frames 1)
[ "$w0" != missing ] && [ "$w1" != missing ] || fail "no per-worker frame counters in /metrics"

# 1. TCP spread over both workers
n1=0; n2=0
for ((i = 0; i < CONNS; i++)); do
  body=$(http -m 5 -H 'Connection: close' http://$VIP/) || fail "connection $i failed"
  case $body in rs1\ *) n1=$((n1 + 1)) ;; rs2\ *) n2=$((n2 + 1)) ;; *) fail "unexpected answer '$body'" ;; esac
done
say "$CONNS connections: rs1=$n1 rs2=$n2"
[ $n1 = $((CONNS / 2)) ] && [ $n2 = $((CONNS / 2)) ] || fail "rr over both workers: want $((CONNS / 2)) each, got rs1=$n1 rs2=$n2"
d0=$(( $(metric_after "rawlb_worker_frames_total{worker=\"0\"}" "$w0") - w0 )); d1=$(( $(frames 1) - w1 ))
say "frames received: worker 0 +$d0, worker 1 +$d1"
[ $d0 -gt 0 ] && [ $d1 -gt 0 ] || fail "one client's connections did not reach both workers (+$d0, +$d1)"
listed=$(ctl -L -n -c | grep -c " $CIP:[0-9]* *$VIP:80 ")
say "-c lists $listed entries of $VIP:80"
[ "$listed" -ge $CONNS ] || fail "-c lists $listed entries of the $CONNS connections (both workers' tables?)"
conns=$(ctl -L -n --stats | awk -v v="203.0.113.11:80" '$1 == "->" && $2 == v { print $3; exit }')
[ "${conns:-0}" = $((CONNS / 2)) ] || fail "--stats: rs1 made ${conns:-none} connections, want $((CONNS / 2)) (counters summed over workers)"

# 2. UDP: one client address, one worker
counts=$(settled_frames) || exit 1; read -r w0 w1 <<<"$counts"
out=$(udpq $VIP 53 $QUERIES) || fail "udpq: $out"
answered=$(grep -c "^rs[12]" <<<"$out")
[ "$answered" = $QUERIES ] || fail "$answered of $QUERIES UDP queries answered: $out"
d0=$(( $(metric_after "rawlb_worker_frames_total{worker=\"0\"}" "$w0") - w0 )); d1=$(( $(frames 1) - w1 ))
say "$QUERIES UDP queries from $QUERIES ports: worker 0 +$d0, worker 1 +$d1 frames"
[ $d0 = 0 ] || [ $d1 = 0 ] || fail "one client's UDP flows were spread over both workers (+$d0, +$d1)"

# 3. persistence over workers
ctl -A -t $VIP:81 -p 60 && ctl -a -t $VIP:81 -r 203.0.113.11:81 -m && ctl -a -t $VIP:81 -r 203.0.113.12:81 -m ||
  fail "adding the persistent service failed"
grep -q "persistence changed how flows are spread over the workers" "$LOG" || fail "no log line about the new fanout key"
counts=$(settled_frames) || exit 1; read -r w0 w1 <<<"$counts"
p1=0; p2=0
for ((i = 0; i < 20; i++)); do
  body=$(http -m 5 -H 'Connection: close' http://$VIP:81/) || fail "connection $i to :81 failed"
  case $body in rs1\ *) p1=$((p1 + 1)) ;; rs2\ *) p2=$((p2 + 1)) ;; *) fail "unexpected answer '$body'" ;; esac
done
say "persistent :81: rs1=$p1 rs2=$p2"
[ $p1 = 0 ] || [ $p2 = 0 ] || fail "persistence with 2 workers: one client's connections were spread (rs1=$p1 rs2=$p2)"
d0=$(( $(metric_after "rawlb_worker_frames_total{worker=\"0\"}" "$w0") - w0 )); d1=$(( $(frames 1) - w1 ))
say "frames received: worker 0 +$d0, worker 1 +$d1"
[ $d0 = 0 ] || [ $d1 = 0 ] || fail "with a persistent service one client's connections still reached both workers (+$d0, +$d1)"
pass
