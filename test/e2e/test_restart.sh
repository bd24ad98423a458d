#!/bin/bash
# A planned restart keeps established flows: a slow 10 MB download and a line session run through
# the VIP while rawlb gets SIGTERM and is started again with the same flags (what a service
# manager's restart does). The first rawlb saves its table in --state-dir, the second restores it
# before it forwards a frame and removes the file (start_rawlb gives both --state-dir $W/state); the download arrives intact, the session goes on
# without a reset.
. "$(dirname "$0")/lib.sh"

topo_up 2
rs_nginx 1; rs_nginx 2
rs_py 1 hold1 tcp 7000 holdd rs1 7000
rs_py 2 hold2 tcp 7000 holdd rs2 7000
SAVED=$W/state/conntable
ARGS=(-e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80
      -t $VIP:7000 --check none -r 203.0.113.11:7000 -r 203.0.113.12:7000)
start_rawlb "${ARGS[@]}"
wait_http "http://$VIP/"

# the download (1.5 MB/s of 10 MB: about 7 s) and a session with a line every 0.2 s
bg_download dl 1500
bg_start hold c "$PY" "$E2E/nethelper.py" hold $VIP 7000 12 8
wait_for 5 grep -q "seq 3" "$W/hold.log" || fail "the line session does not run: $(cat "$W/hold.log")"
# both flows ESTABLISHED in rawlb's table (a loaded box may start the download after the session)
two_established() { [ "$(ctl -L -n -c | grep -c ESTABLISHED)" -ge 2 ]; }
wait_for 5 two_established ||
  fail "want the download and the session ESTABLISHED before the restart: $(ctl -L -n -c)
download ($(kill -0 "${BG[dl]}" 2>/dev/null && echo running || echo ended), $(stat -c %s "$W/dl.bin" 2>/dev/null) bytes): $(cat "$W/dl.log")
session: $(head -3 "$W/hold.log")"
established=$(ctl -L -n -c | grep -c ESTABLISHED)

say "SIGTERM, and the same flags again"
stop_rawlb
cp "$LOG" "$W/first.log"
grep -qE "[0-9]+ connection\(s\) saved to $SAVED" "$W/first.log" || fail "no 'saved' line: $(tail -5 "$W/first.log")"
[ -s "$SAVED" ] || fail "no saved table at $SAVED"
start_rawlb "${ARGS[@]}"
line=$(grep -E "connection\(s\) restored from $SAVED" "$LOG") || fail "no 'restored' line: $(cat "$LOG")"
say "$line"
restored=$(sed -E 's/.* ([0-9]+) connection\(s\) restored.*/\1/' <<<"$line")
[ "$restored" -ge "$established" ] || fail "restored $restored entries, $established were established"
[ ! -e "$SAVED" ] || fail "the saved table was not removed once read"

bg_wait dl 30; rc=$?
[ $rc = 0 ] || fail "the download failed (status $rc): $(cat "$W/dl.log")"
grep -q '^200$' "$W/dl.log" || fail "the download's status: $(cat "$W/dl.log")"
cmp -s "$W/dl.bin" "$W/big.bin" || fail "the downloaded file differs from the server's ($(stat -c %s "$W/dl.bin") bytes)"
bg_wait hold 20; rc=$?
[ $rc = 0 ] && grep -q "^DONE" "$W/hold.log" || fail "the line session broke (status $rc): $(tail -3 "$W/hold.log")"
say "the 10 MB download and the line session went through the restart intact"
pass
