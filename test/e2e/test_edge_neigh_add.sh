#!/bin/bash
# A real server added at runtime (rawlb-ctl -a) while 50 clients open new connections in a loop:
# rawlb asks for its MAC at once and schedules it only once it is known, so no connection waits
# for a SYN retransmission (1 s: before, wlc sent every new connection to the new, empty server
# while its MAC was unknown and the SYNs were lost until the next one-second tick asked for it),
# none fails, and the new server gets its share. --check none: a server waiting for its first
# passing probe is not scheduled either, and that probe's ARP would teach rawlb the MAC.
. "$(dirname "$0")/lib.sh"

CLIENTS=50; SECONDS_RUN=6; EDIT_AFTER=2
SLOW_MS=500 # well below the 1 s of a SYN retransmission

topo_up 3
for i in 1 2 3; do rs_nginx $i; done
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80 --check none
wait_http http://$VIP/

# CLIENTS threads, each a loop of new connections (HTTP/1.0: the server closes) for SECONDS_RUN s;
# prints how many succeeded, failed, the slowest (connect to last byte) and the answers by server.
cat > "$W/load.py" <<'EOF'
import socket, sys, threading, time
host, port, clients, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
end = time.monotonic() + seconds
lock = threading.Lock()
ok, failed, slowest, by_server = 0, [], 0.0, {}

def one():
    t0 = time.monotonic()
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return time.monotonic() - t0, data.split(b"\r\n\r\n", 1)[-1].strip().decode()

def loop():
    global ok, slowest
    while time.monotonic() < end:
        try:
            took, who = one()
        except OSError as e:
            with lock:
                failed.append(repr(e))
            continue
        with lock:
            ok += 1
            slowest = max(slowest, took)
            by_server[who] = by_server.get(who, 0) + 1

threads = [threading.Thread(target=loop) for _ in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"ok={ok} failed={len(failed)} slowest_ms={slowest * 1000:.0f} "
      + " ".join(f"{k}={v}" for k, v in sorted(by_server.items())))
for f in failed[:5]:
    print("failure:", f)
EOF

bg_start load c "$PY" "$W/load.py" $VIP 80 $CLIENTS $SECONDS_RUN
sleep $EDIT_AFTER
ctl -a -t $VIP:80 -r 203.0.113.13:80 || fail "rawlb-ctl -a of 203.0.113.13:80 failed"
bg_wait load $((SECONDS_RUN + 30)) || fail "the client loop failed: $(cat "$W/load.log")"
out=$(head -n 1 "$W/load.log")
say "$CLIENTS clients for $SECONDS_RUN s, 203.0.113.13 added after $EDIT_AFTER s: $out"

ok=$(sed -nE 's/.*ok=([0-9]+).*/\1/p' <<<"$out")
failed=$(sed -nE 's/.*failed=([0-9]+).*/\1/p' <<<"$out")
slowest=$(sed -nE 's/.*slowest_ms=([0-9]+).*/\1/p' <<<"$out")
rs3=$(sed -nE 's/.*rs3=([0-9]+).*/\1/p' <<<"$out")
[ "${ok:-0}" -gt 0 ] || fail "no request succeeded: $(cat "$W/load.log")"
[ "$failed" = 0 ] || fail "$failed request(s) failed: $(cat "$W/load.log")"
[ "${rs3:-0}" -gt 0 ] || fail "the added server answered none of $ok requests"
if [ $SANITIZED = 0 ]; then
  [ "$slowest" -lt $SLOW_MS ] || fail "the slowest connection took $slowest ms (want < $SLOW_MS: no SYN retransmission)"
fi
grep -q "real server 203.0.113.13 is at" "$LOG" || fail "the log does not say when 203.0.113.13 was resolved"
pass
