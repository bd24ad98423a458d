#!/bin/bash
# --metrics under hostile or careless scrapers, with the issue's big snapshot (64 services of 64
# real servers, about 3 MB of text):
#  (d) --metrics 0.0.0.0:PORT is allowed, and the log says it is reachable beyond loopback;
#  (a) 70 idle connections from one address: only 8 stay open (the rest are closed at once), a
#      scrape from another address still answers within 3 s, and one from the same address does
#      once they are closed;
#  (b) a scraper that never reads and one that reads 1 KB every 0.5 s (libmicrohttpd's idle
#      timeout never fires on it) are both cut 10 s after they connected;
#  (c) 32 scrapers that never read (4 addresses x 8) hold one shared snapshot, not a copy each:
#      rawlb's VmRSS grows by less than 4 snapshots (a copy each: 32 snapshots, about 96 MB).
. "$(dirname "$0")/lib.sh"

PORT=9100
MX=$LB_INT:$PORT
PER_ADDR=8       # metrics.c's METRICS_MAX_CONNS_PER_ADDR
DEADLINE=10      # metrics.c's METRICS_DEADLINE_MS, in seconds
SLACK=2          # seconds allowed past the deadline (a tick, scheduling)
EXTRA=(203.0.113.21 203.0.113.22 203.0.113.23 203.0.113.24) # rs1's further scraper addresses

topo_up 2
for a in "${EXTRA[@]}"; do on rs1 ip addr add $a/24 dev eth0 || fail "address $a on rs1"; done

# scrapers.py MODE N SRC: N connections from SRC to $MX that stay until the process is killed.
#   idle: send nothing; after 1 s print how many the server has not closed
#   slow: send a GET with a 4 KB receive buffer and never read; print "sent"
#   trickle: the same, then read 1 KB every 0.5 s, forever
cat > "$W/scrapers.py" <<EOF
import errno, socket, sys, time
mode, n, src = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(('$LB_INT', $PORT))
    if mode != 'idle':
        s.sendall(b'GET /metrics HTTP/1.1\r\nHost: lb\r\n\r\n')
    socks.append(s)
if mode == 'idle':
    time.sleep(1)
    open_ = 0
    for s in socks:
        s.setblocking(False)
        try:
            open_ += s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b''
        except BlockingIOError:
            open_ += 1
        except OSError:
            pass
    print(open_, flush=True)
else:
    print('sent', flush=True)
while True:
    if mode == 'trickle':
        for s in socks:
            try:
                s.recv(1024)
            except OSError:
                pass
    time.sleep(0.5)
EOF

# rawlb's connections on PORT (its own sockets, listener excluded)
held() { on lb ss -Htanp "( sport = :$PORT )" | grep -v LISTEN | grep -c '"rawlb"'; }
none_held() { [ "$(held)" = 0 ]; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' /proc/$RAWLB_PID/status; }
scrape_from() { # NS [SRC]: GET /metrics within 3 s, prints the body's size
  timeout 10 ip netns exec "$P$1" curl -sS -m 3 ${2:+--interface $2} -o /dev/null -w '%{size_download}' "http://$MX/metrics"
}

args=(--check none)
for ((s = 0; s < 64; s++)); do
  args+=(-t $VIP:$((1000 + s)))
  for ((r = 0; r < 64; r++)); do args+=(-r 203.0.113.1$((1 + r % 2)):$((2000 + r))); done
done
say "rawlb --metrics 0.0.0.0:$PORT --check none, 64 services of 64 real servers"
start_rawlb -e ext -i int -n $NAT --metrics 0.0.0.0:$PORT "${args[@]}" >/dev/null # not its 4096 -r

# (d) the log line for 0.0.0.0
wait_for 5 grep -q "metrics on http://0.0.0.0:$PORT/metrics" "$LOG" || fail "no 'metrics on' line in the log"
line=$(grep -- "--metrics 0.0.0.0:$PORT: reachable beyond loopback" "$LOG") ||
  fail_later "--metrics 0.0.0.0:$PORT: no 'reachable beyond loopback' warning in the log"
say "(d) $line"

size=$(scrape_from rs2) || fail "the first scrape failed"
say "snapshot: $size bytes"
[ "$size" -gt 2000000 ] || fail "snapshot of $size bytes: want the 64x64 one (about 3 MB)"

# (a) 70 idle connections from rs1: PER_ADDR stay; other addresses still get their scrape
bg_start idle rs1 "$PY" "$W/scrapers.py" idle 70 203.0.113.11
wait_for 10 test -s "$W/idle.log" || fail "idle connections: $(cat "$W/idle.log")"
n=$(head -n 1 "$W/idle.log")
say "(a) 70 idle connections from 203.0.113.11: $n left open"
[ "$n" = $PER_ADDR ] || fail_later "70 idle connections from one address: $n left open, want $PER_ADDR"
t0=$(now_ms)
size=$(scrape_from rs2) || fail_later "a scrape from rs2 failed while rs1 holds idle connections"
say "(a) scrape from rs2 meanwhile: $size bytes in $(($(now_ms) - t0)) ms"
size=$(scrape_from rs1 203.0.113.21) || fail_later "a scrape from rs1's other address failed meanwhile"
bg_stop idle
wait_for 5 none_held || fail "rawlb still holds $(held) connection(s) after the idle ones closed"
size=$(scrape_from rs1) || fail_later "a scrape from rs1 failed after its idle connections closed"
say "(a) scrape from rs1 after closing them: $size bytes"

# (b) never reading, and reading a trickle: both cut at the deadline
t0=$(now_ms)
bg_start slow rs2 "$PY" "$W/scrapers.py" slow 1 203.0.113.12
bg_start trickle rs1 "$PY" "$W/scrapers.py" trickle 1 203.0.113.11
wait_for 5 grep -q sent "$W/slow.log" && wait_for 5 grep -q sent "$W/trickle.log" || fail "slow scrapers did not start"
sleep 5
n=$(held)
say "(b) after 5 s rawlb holds $n slow scraper connection(s)"
[ "$n" = 2 ] || fail "after 5 s rawlb holds $n connection(s), want both slow scrapers (the snapshot outlasts their buffers)"
while [ "$(held)" != 0 ] && [ $(($(now_ms) - t0)) -lt $(((DEADLINE + SLACK + 3) * 1000)) ]; do sleep 0.1; done
took=$(($(now_ms) - t0)); n=$(held)
say "(b) $n left after $took ms (deadline ${DEADLINE} s)"
[ "$n" = 0 ] || fail_later "slow scrapers still connected $took ms after they started (deadline $DEADLINE s)"
[ "$SANITIZED" = 1 ] || [ $took -le $(((DEADLINE + SLACK) * 1000)) ] ||
  fail_later "slow scrapers cut after $took ms, want at most $((DEADLINE + SLACK)) s"
[ $took -ge $(((DEADLINE - 1) * 1000)) ] || fail_later "slow scrapers cut after $took ms, before the $DEADLINE s deadline"
bg_stop slow; bg_stop trickle

# (c) 32 slow scrapers from 4 addresses: one snapshot between them, not 32 copies
for i in 1 2 3; do scrape_from rs2 >/dev/null || fail "warm-up scrape failed"; done
sleep 1.5
before=$(rss_kb)
for a in "${EXTRA[@]}"; do bg_start "rss$a" rs1 "$PY" "$W/scrapers.py" slow $PER_ADDR $a; done
for a in "${EXTRA[@]}"; do wait_for 5 grep -q sent "$W/rss$a.log" || fail "scrapers from $a: $(cat "$W/rss$a.log")"; done
sleep 2.5 # two more snapshots published while they hold theirs
n=$(held); after=$(rss_kb)
grow=$(((after - before) / 1024)); limit=$((4 * size / 1048576))
say "(c) $n slow scrapers held: VmRSS $((before / 1024)) -> $((after / 1024)) MB (+$grow MB; a snapshot is $((size / 1048576)) MB)"
[ "$n" = 32 ] || fail_later "rawlb holds $n of the 32 slow scrapers, want 32"
if [ "$SANITIZED" = 1 ]; then
  say "(c) not bounded in a sanitizer build (freed memory is quarantined)"
else
  [ $grow -lt $limit ] || fail_later "VmRSS grew by $grow MB with 32 slow scrapers, want less than $limit MB (4 snapshots)"
fi
for a in "${EXTRA[@]}"; do bg_stop "rss$a"; done
size=$(scrape_from rs2) || fail_later "a scrape after the slow scrapers failed"

pass_unless_failed
