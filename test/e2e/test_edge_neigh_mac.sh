#!/bin/bash
# A real server changes its MAC without a gratuitous ARP while a client keeps opening new
# connections: frames keep going to its old MAC and nothing comes back, so rawlb asks for its
# MAC again after two such seconds and the service is back within about 3 s (before: only when
# the entry was next refreshed, up to 30 s later). --check none: health does not take the
# server out meanwhile. The MAC is changed between two requests, with nothing in flight: a reply
# the server still had to send would make it ask for its gateway, and that ARP alone would
# teach rawlb the new MAC.
. "$(dirname "$0")/lib.sh"

NEW_MAC=02:00:5e:00:11:11
BACK_MS=4000 # NEIGH_UNANSWERED (2) ticks of 1 s after the last answered second, plus a retry

topo_up 1
rs_nginx 1
start_rawlb -e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80 --check none
wait_http http://$VIP/
old_mac=$(mac_of rs1 eth0)

# Requests one after the other (0.3 s to answer, else the next is tried); after CHANGE_AFTER s
# and a pause with nothing in flight the server's MAC changes; prints how long after that the
# first request was answered, and how many failed before the change.
cat > "$W/gap.py" <<'EOF'
import socket, subprocess, sys, time
host, port, change_after, until = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
change_cmd = sys.argv[5:]
QUIET = 0.3  # lets the last exchange finish (FIN, ACK) before the MAC changes

def request():
    try:
        with socket.create_connection((host, port), timeout=0.3) as s:
            s.settimeout(0.3)
            s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        return data.endswith(b"rs1\n")
    except OSError:
        return False

start = time.monotonic()
before_failed, changed_at, back_at, after = 0, None, None, 0
while time.monotonic() - start < until:
    if changed_at is None and time.monotonic() - start >= change_after:
        time.sleep(QUIET)
        subprocess.run(change_cmd, check=True)
        changed_at = time.monotonic()
    ok = request()
    if changed_at is None:
        before_failed += not ok
    elif ok:
        back_at = back_at or time.monotonic()
        after += 1
        if after >= 10:
            break
if back_at is None:
    print(f"back_ms=never before_failed={before_failed}")
else:
    print(f"back_ms={(back_at - changed_at) * 1000:.0f} before_failed={before_failed}")
EOF

bg_start gap c "$PY" "$W/gap.py" $VIP 80 2 40 ip netns exec "${P}rs1" ip link set eth0 address $NEW_MAC
bg_wait gap 60 || fail "the request loop failed: $(cat "$W/gap.log")"
out=$(grep back_ms= "$W/gap.log")
say "rs1 changed its MAC from $old_mac to $NEW_MAC without telling: $out"
back=$(sed -nE 's/.*back_ms=([0-9]+|never).*/\1/p' <<<"$out")
[ "$(sed -nE 's/.*before_failed=([0-9]+).*/\1/p' <<<"$out")" = 0 ] || fail "requests failed before the change: $out"
[ -n "$back" ] && [ "$back" != never ] || fail "the service did not come back within 40 s: $out"
grep -q "real server 203.0.113.11 moved from $old_mac to $NEW_MAC" "$LOG" || fail "the log does not say that rs1 moved to $NEW_MAC"
if [ $SANITIZED = 0 ]; then
  [ "$back" -lt $BACK_MS ] || fail "the service came back $back ms after the MAC change (want < $BACK_MS)"
fi
pass
