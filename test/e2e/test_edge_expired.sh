#!/bin/bash
# A TCP connection whose entry expired while it was idle (--timeouts 3,0,0) is reset at its next
# segment, as a kernel without the socket would: the client's write after 5 s of silence gets an
# RST from VIP:7000 at once (ECONNRESET, well under a second; before, the segment was dropped and
# the client retransmitted for minutes), rawlb counts the RST and makes no entry for it. A
# connection idle for less than the timeout goes on.
. "$(dirname "$0")/lib.sh"

MX=$LB_INT:9100
TCP_TIMEOUT=3
IDLE=5 # seconds: past the timeout and the once-a-second expiry

topo_up 1
rs_py 1 holdd tcp 7000 holdd rs1 7000
start_rawlb -e ext -i int -n $NAT --metrics $MX --timeouts $TCP_TIMEOUT,0,0 -t $VIP:7000 -r 203.0.113.11:7000

# idle.py SECONDS: one connection to VIP:7000, a line, SECONDS of silence, another line; prints
# "REPLY MS text", "RESET MS" (ECONNRESET, MS after the second write), "TIMEOUT MS" or "EOF MS"
cat > "$W/idle.py" <<EOF
import socket, sys, time
s = socket.create_connection(("$VIP", 7000), timeout=3)
s.sendall(b"first\n")
print("first:", s.recv(100).decode().strip(), flush=True)
time.sleep(float(sys.argv[1]))
s.settimeout(10)
t = time.monotonic()
ms = lambda: int((time.monotonic() - t) * 1000)
try:
    s.sendall(b"second\n")
    data = s.recv(100)
    print(("REPLY %d " % ms()) + data.decode().strip() if data else "EOF %d" % ms(), flush=True)
except ConnectionResetError:
    print("RESET %d" % ms(), flush=True)
except socket.timeout:
    print("TIMEOUT %d" % ms(), flush=True)
EOF
idle() { timeout 30 ip netns exec "${P}c" "$PY" "$W/idle.py" "$1"; }
RST='rawlb_replies_total{kind="rst"}'
entry_of() { ctl -L -n -c | grep -c " $1 "; } # CLIENTIP:PORT: its entries in the table

# Idle for less than the timeout: the connection goes on (the first connect may wait for ARP).
out=$(idle 1) || fail "idle.py 1 failed: $out"
say "idle 1 s: $(tr '\n' ' ' <<<"$out")"
grep -q "^first: rs1 first$" <<<"$out" || fail "no answer to the first line: $out"
grep -qE "^REPLY [0-9]+ rs1 second$" <<<"$out" || fail "a connection idle for 1 s (timeout $TCP_TIMEOUT s) broke: $out"

rst0=$(metric "$RST")
start_capture tcp c eth0 tcp port 7000
bg_start idle c "$PY" "$W/idle.py" $IDLE
wait_for 5 grep -q "^first: rs1 first$" "$W/idle.log" || fail "the idle connection did not start: $(cat "$W/idle.log")"
client=$(ctl -L -n -c | awk '$3 == "ESTABLISHED" { print $4 }')
[ -n "$client" ] || fail "no established entry for the idle connection: $(ctl -L -n -c)"
sleep $((TCP_TIMEOUT + 1))
[ "$(entry_of "$client")" = 0 ] || fail "the entry of $client is still in the table after $((TCP_TIMEOUT + 1)) s idle: $(ctl -L -n -c)"
bg_wait idle 10 || fail "idle.py $IDLE did not finish: $(cat "$W/idle.log")"
stop_captures
out=$(cat "$W/idle.log")
say "idle $IDLE s: $(tr '\n' ' ' <<<"$out")"
pcap tcp -S | tail -n 4
ms=$(sed -nE 's/^RESET ([0-9]+)$/\1/p' <<<"$out")
[ -n "$ms" ] || fail "after $IDLE s idle (entry expired) the client got no reset: $out"
[ $SANITIZED = 1 ] || [ "$ms" -lt 1000 ] || fail "the reset came $ms ms after the client's segment (want < 1000)"
# The RST comes from VIP:7000 with the sequence number the client's segment acknowledged.
data=$(pcap tcp -S "src host $CIP and tcp[tcpflags] & tcp-push != 0" | tail -n 1)
ack=$(sed -nE 's/.* ack ([0-9]+),.*/\1/p' <<<"$data")
[ -n "$ack" ] || fail "no data segment from the client in the capture"
pcap tcp -S | grep -qE "IP $VIP\.7000 > $CIP\.[0-9]+: Flags \[R\], seq $ack, win 0, length 0" ||
  fail "no RST from $VIP:7000 with seq $ack (the client's ack) in the capture"
[ "$(entry_of "$client")" = 0 ] || fail "the reset made an entry for $client: $(ctl -L -n -c)"
for ((i = 0; i < 30; i++)); do rst1=$(metric "$RST"); [ "$rst1" != "$rst0" ] && break; sleep 0.1; done
[ "$rst1" = $((rst0 + 1)) ] || fail "$RST: $rst0 before, $rst1 after the reset (want +1)"
pass
