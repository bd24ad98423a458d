#!/bin/bash
# Floods cannot lock out new clients. rawlb runs with a small table (--max-conns 16384) while the
# client's namespace floods the VIP from spoofed sources of its subnet (198.51.100.128/25, every
# pass from the next addresses): first SYNs alone, then SYNs each followed by a blind ACK (crafted
# captures sent by rawlb-replay at a fixed rate). Meanwhile the real
# client opens new connections one after another and keeps a line session asking every 0.2 s.
# At least 99% of the new connections must be answered, the session must never stall or be
# reset, no new flow may be refused while something was evictable (drops "table_full" stay 0),
# and the counters must show the evictions: half-open entries beyond their share under SYNs,
# closed entries (the real server resets the blind ACKs) under SYN+ACK, each no more than the
# entries that left the table other than by expiry.
. "$(dirname "$0")/lib.sh"

REPLAY=$BIN/tools/replay/rawlb-replay
[ -x "$REPLAY" ] || fail "no rawlb-replay in $BIN/tools/replay"
MAX_CONNS=16384
SPOOFED=198.51.100.128/25
FLOOD_SECONDS=15
FLOOD_PPS=40000         # per flood: below this box's limit, so what is measured is the table, not overload
[ $SANITIZED = 1 ] && FLOOD_PPS=10000  # the sanitizer build forwards far less; this still floods the table
FLOWS=2000              # ports per pass of a capture (x 128 addresses: 256,000 distinct flows)
ACK_GROUP=100           # SYNs between their blind ACKs: some ACKs come before the server's SYN-ACK, some after
REQUESTS=100            # new connections per flood
MIN_OK=$((REQUESTS * 99 / 100))

topo_up 2
rs_nginx 1; rs_nginx 2
rs_py 1 hold1 tcp 7000 holdd rs1 7000
rs_py 2 hold2 tcp 7000 holdd rs2 7000
MX=$LB_INT:9100
start_rawlb -e ext -i int -n $NAT --max-conns $MAX_CONNS --metrics $MX \
  -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80 -t $VIP:7000 --check none -r 203.0.113.11:7000 -r 203.0.113.12:7000
wait_http "http://$VIP/"

for pcap in syn ack; do
  group=(); [ $pcap = ack ] && group=($ACK_GROUP)
  out=$(on c "$PY" "$E2E/nethelper.py" synpcap "$W/$pcap.pcap" $CIP $VIP 80 $FLOWS "${group[@]}") || fail "synpcap: $out"
done

# flood NAME ARGS...: rawlb-replay from the client in the background, bounded by --duration
flood() {
  local name=$1; shift
  say "flood: rawlb-replay $*"
  bg_start "$name" c "$REPLAY" -i eth0 --json --no-flows --src-range $SPOOFED --pps $FLOOD_PPS \
    --duration $FLOOD_SECONDS "$@"
}
flood_end() { # NAME: waits for the flood to end; FLOOD_SENT is what it sent
  bg_wait "$1" $((FLOOD_SECONDS + 10)) || fail "the $1 flood failed or did not end: $(cat "$W/$1.log")"
  FLOOD_SENT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$W/$1.log") ||
    fail "no report from the $1 flood: $(cat "$W/$1.log")"
}
drops() { # what rawlb dropped so far, for a failure's message
  timeout 10 ip netns exec "${P}rs1" curl -sS -m 5 "http://$MX/metrics" |
    awk '/^rawlb_(drops|overload_drops|rx_kernel_drops)[a-z_]*\{/ && $2 != 0 { printf "%s %s ", $1, $2 }'
}
states() { ctl -L -n -c | awk '$3 ~ /^[A-Z_]+$/ { n[$3]++ } END { for (s in n) printf "%s %d ", s, n[s] }'; }
# new_connections: REQUESTS requests one after another, each on a new connection; prints how many
# were answered by a real server
new_connections() {
  local i ok=0 body
  for ((i = 0; i < REQUESTS; i++)); do
    body=$(http -m 5 -H 'Connection: close' "http://$VIP/" 2>/dev/null) || continue
    case $body in rs1 | rs2) ok=$((ok + 1)) ;; esac
  done
  echo $ok
}
evicted() { metric "rawlb_conn_evicted_total{class=\"$1\"}"; }
evicted_since() { [ "$(evicted "$1")" != "$2" ]; } # CLASS BEFORE

# under_flood NAME CLASS ARGS...: the flood ARGS while the clients work; then the checks
under_flood() {
  local name=$1 class=$2 before ok; shift 2
  before=$(evicted "$class")
  [ "$before" != missing ] || fail "no rawlb_conn_evicted_total{class=\"$class\"} in the metrics"
  bg_start hold c "$PY" "$E2E/nethelper.py" hold $VIP 7000 $FLOOD_SECONDS 5
  flood "$name" "$@"
  # the flood has filled what it fills once entries of its class are being evicted
  wait_for 5 evicted_since "$class" "$before" ||
    fail "$name flood: no $class entry evicted within 5 s (table: $(metric rawlb_conn_table_entries) entries: $(states))"
  ok=$(new_connections)
  kill -0 "${BG[$name]}" 2>/dev/null || fail "$name flood: the requests outlasted the flood: the test did not test"
  flood_end "$name"
  bg_wait hold 10 || fail "$name flood: the line session failed: $(tail -n 3 "$W/hold.log"); drops: $(drops)"
  say "$name flood: $FLOOD_SENT frames sent; $ok of $REQUESTS new connections answered; session: $(tail -n 1 "$W/hold.log");" \
    "evicted ($class): $(($(evicted "$class") - before))"
  [ "$ok" -ge $MIN_OK ] || fail "$name flood: only $ok of $REQUESTS new connections were answered (want >= $MIN_OK)"
  grep -qE '^DONE [0-9]+' "$W/hold.log" && ! grep -qE '^(RESET|TIMEOUT|EOF|ERROR)' "$W/hold.log" ||
    fail "$name flood: the line session stalled or was reset: $(grep -vE '^[0-9]+ ' "$W/hold.log" | head -n 3)"
}

under_flood syn half_open -r "$W/syn.pcap" --to $VIP:80 --loop 1000
under_flood ack closed -r "$W/ack.pcap" --to $VIP:80 --loop 1000

full=$(metric 'rawlb_drops_total{reason="table_full"}')
[ "$full" = 0 ] || fail "$full new flows were refused (table_full) though entries could have been evicted"
# one scrape for all of them: the workers may still be taking the flood's last frames, and counts
# read from snapshots a second apart need not add up
snap=$(metrics_scrape) || exit 1
in_snap() { metric_in "$snap" "$1"; }
created=$(in_snap rawlb_conn_created_total); expired=$(in_snap rawlb_conn_expired_total)
entries=$(in_snap rawlb_conn_table_entries)
all_evicted=0
for class in closed half_open udp_new established; do
  all_evicted=$((all_evicted + $(in_snap "rawlb_conn_evicted_total{class=\"$class\"}")))
done
say "table: $created entries made, $expired expired, $all_evicted evicted, $entries left"
[ "$all_evicted" -le $((created - expired - entries)) ] ||
  fail "$all_evicted evictions counted, but only $((created - expired - entries)) entries left other than by expiry"
pass
