#!/bin/bash
# High availability, end to end: a primary (lb) and a backup (lb2) director on the same links.
#   1. A slow download (a paced reader: the receive window stays small, the data is on the wire)
#      and a line session go through the primary; the primary is killed with -9: the backup takes
#      over, the download goes on without a reset and arrives intact, and a new connection
#      succeeds within the dead time + 1 s.
#   2. The primary starts again: it asks for the backup's table, takes over once its health
#      checks ran and the table arrived, and the same download and session still go on.
#   3. SIGTERM on the master: the backup takes over at once (gap under 1 s).
#   --ha-notify runs with every new state.
# The gaps (time without answers to a 10 ms ping of the VIP) are printed as "gap ..." lines; the
# timing assertions hold in the plain build only.
. "$(dirname "$0")/lib.sh"

ha_topo_up 2
rs_nginx 1; rs_nginx 2
rs_py 1 hold1 tcp 7000 holdd rs1 7000
rs_py 2 hold2 tcp 7000 holdd rs2 7000
cat > "$W/notify.sh" <<EOF
#!/bin/sh
echo "\$1" >> "$W/notify-\$(basename "\$PWD").log"
EOF
chmod +x "$W/notify.sh"
mkdir -p "$W/n1" "$W/n2"
ARGS="-e ext -i int -n $NAT $HA_TIMING -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80
      -t $VIP:7000 --check none -r 203.0.113.11:7000 -r 203.0.113.12:7000"
# the notify command runs in the helper's working directory: give each director its own
notify() { echo "cd $W/n$1 && $W/notify.sh"; }

start_director 1 primary $ARGS --ha-notify "$(notify 1)"
start_director 2 backup $ARGS --ha-notify "$(notify 2)"
wait_ha 1 master 10 || fail "the primary is not master within 10 s: $(dctl 1 status)"
wait_ha 2 backup 2 || fail "the backup is not backup: $(dctl 2 status)"
wait_http "http://$VIP/"
dctl 1 status | grep -q '^config: match' || fail "the two directors' configurations do not match: $(dctl 1 status)"

# a ping of the VIP every 10 ms for the whole test: its gaps are the times without a master
bg_start ping c ping -D -n -i 0.01 -W 1 $VIP
# the slow download (600 KB/s of 10 MB: about 17 s) and a session with a line every 0.2 s
bg_download dl 600
bg_start hold c "$PY" "$E2E/nethelper.py" hold $VIP 7000 40 8
wait_for 5 grep -q "seq 3" "$W/hold.log" || fail "the line session does not run: $(cat "$W/hold.log")"
sleep 0.5
dctl 2 conns | grep -q ":7000" || fail "the backup has not the session's entry: $(dctl 2 conns)"

# lines of the ping's log so far; the gap of a phase is ping_gap over its lines
mark() { wc -l < "$W/ping.log"; }
phase_gap() { sed -n "$1,$2p" "$W/ping.log" | ping_gap /dev/stdin; }

# 1. kill -9 on the primary
say "kill -9 the primary"
m0=$(mark)
kill_director 1 KILL
t0=$(now_ms)
wait_ha 2 master 5 || fail "the backup did not take over within 5 s: $(dctl 2 status)"
wait_for 5 http -o /dev/null -m 1 "http://$VIP/" || fail "no new connection within 5 s of the takeover"
t_new=$(( $(now_ms) - t0 ))
say "a new connection succeeded ${t_new} ms after kill -9 (dead time 2 s)"
dctl 2 status | grep -q "peer silent for the dead time" || fail "takeover reason missing: $(dctl 2 status)"
sleep 1
gap_kill=$(phase_gap "$m0" "$(mark)")
say "gap kill -9 takeover: ${gap_kill} ms"

# 2. the primary returns and takes over after its checks and the backup's table
say "the primary starts again"
m1=$(mark)
start_director 1 primary $ARGS --ha-notify "$(notify 1)"
wait_ha 1 master 20 || fail "the returning primary did not take over within 20 s: $(dctl 1 status)"
wait_ha 2 backup 3 || fail "the backup did not yield: $(dctl 2 status)"
dctl 1 status | grep -qE 'received [0-9]+ datagrams.* [1-9][0-9]* tables' ||
  fail "the primary took over without the backup's table: $(dctl 1 status)"
sleep 1
gap_failback=$(phase_gap "$m1" "$(mark)")
say "gap failback: ${gap_failback} ms"

# the download and the session go on through the primary
bg_wait dl 60; rc=$?
[ $rc = 0 ] || fail "the download failed (status $rc): $(cat "$W/dl.log")"
grep -q '^200$' "$W/dl.log" || fail "the download's status: $(cat "$W/dl.log")"
cmp -s "$W/dl.bin" "$W/big.bin" || fail "the downloaded file differs from the server's ($(stat -c %s "$W/dl.bin") bytes)"
say "the 10 MB download went through kill -9 and failback intact"
grep -qE '^(RESET|TIMEOUT|EOF|ERROR)' "$W/hold.log" && fail "the line session broke: $(tail -n 3 "$W/hold.log")"

# 3. SIGTERM on the master: the backup takes over at once
say "SIGTERM on the master"
m2=$(mark)
stop_director 1
wait_ha 2 master 3 || fail "the backup did not take over at SIGTERM: $(dctl 2 status)"
dctl 2 status | grep -q "peer leaving" || fail "takeover reason is not the peer leaving: $(dctl 2 status)"
sleep 1
gap_switch=$(phase_gap "$m2" "$(mark)")
say "gap planned switch-over: ${gap_switch} ms"
bg_wait hold 40; rc=$?
[ $rc = 0 ] || fail "the line session broke: $(tail -n 3 "$W/hold.log")"
bg_stop ping

say "gaps (ms without answers; interval 0.5 s, dead time 2 s): kill -9 ${gap_kill}, failback ${gap_failback}, switch-over ${gap_switch}"

# --ha-notify saw each state
grep -qx master "$W/notify-n2.log" || fail "--ha-notify on the backup did not report master: $(cat "$W/notify-n2.log" 2>/dev/null)"
grep -qx backup "$W/notify-n2.log" || fail "--ha-notify on the backup did not report backup"
grep -qx master "$W/notify-n1.log" || fail "--ha-notify on the primary did not report master"

if [ "$SANITIZED" = 0 ]; then
  [ "$t_new" -le 3000 ] || fail "a new connection took ${t_new} ms after kill -9 (want within dead time + 1 s)"
  [ "$gap_switch" -lt 1000 ] || fail "the planned switch-over left ${gap_switch} ms without answers (want < 1 s)"
  [ "$gap_failback" -lt 1000 ] || fail "the failback left ${gap_failback} ms without answers (want < 1 s)"
fi
stop_director 2
say "PASS"
