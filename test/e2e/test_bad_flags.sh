#!/bin/bash
# Flag validation (exit 2, the message names the value; --user and --ctl-group name someone who
# exists), rawlb-ctl without a daemon, --help, and a clean SIGTERM (exit 0, ctl socket and pid
# file removed: by the privileged helper, the daemon itself runs as nobody by then).
. "$(dirname "$0")/lib.sh"

topo_up 1   # rawlb runs in the director namespace so a wrongly accepted flag set cannot touch the host

# expect_bad WORD ARGS...: rawlb ARGS must exit 2 and mention WORD
expect_bad() {
  local word=$1 out rc; shift
  out=$(timeout 5 ip netns exec ${P}lb "$RAWLB" "$@" --ctl "$W/bad.sock" --pidfile "$W/bad.pid" 2>&1); rc=$?
  [ $rc = 2 ] || fail "rawlb $*: exit $rc, want 2 (output: $out)"
  grep -qF -- "$word" <<<"$out" || fail "rawlb $*: the message does not name '$word': $out"
  say "ok: exit 2 for '$word': $(head -1 <<<"$out")"
}
base="-e ext -i int -n $NAT"
expect_bad 99999          $base -t $VIP:99999 -r 203.0.113.11:80
expect_bad 99999          $base -t $VIP:80 -r 203.0.113.11:99999
expect_bad 67108865       $base -t $VIP:80 -r 203.0.113.11:80 -x 67108865
expect_bad "--l-threshold: 60 is above the --u-threshold 50" $base -y 60 -t $VIP:80 -x 50 -r 203.0.113.11:80
expect_bad nosuch         $base -t $VIP:80 -s nosuch -r 203.0.113.11:80
expect_bad $VIP:80        $base -t $VIP:80 -r 203.0.113.11:80 -t $VIP:80 -r 203.0.113.12:80
expect_bad --no-such-flag $base --no-such-flag -t $VIP:80 -r 203.0.113.11:80
expect_bad 203.0.113.300  $base -t $VIP:80 -r 203.0.113.300:80
# --user and --ctl-group name someone on this host (looked up before anything is opened)
expect_bad "--user: no user 'rawlb-no-such-user'" $base -t $VIP:80 -r 203.0.113.11:80 --user rawlb-no-such-user
expect_bad "--ctl-group: no group 'rawlb-no-such-group'" $base -t $VIP:80 -r 203.0.113.11:80 \
           --ctl-group rawlb-no-such-group
expect_bad "--user: empty name" $base -t $VIP:80 -r 203.0.113.11:80 --user ""
# high availability: pairs, the key file, and a NAT router address that cannot float
printf '%s\n' "0123456789abcdef0123" > "$W/ha.key"; chmod 600 "$W/ha.key"
printf '%s\n' "0123456789abcdef0123" > "$W/open.key"; chmod 644 "$W/open.key"
ha="--ha-role primary --ha-peer 198.51.100.3 --state-dir $W/state"
expect_bad --ha-key       $base -t $VIP:80 -r 203.0.113.11:80 $ha --ha-key "$W/open.key"
expect_bad --ha-key       $base -t $VIP:80 -r 203.0.113.11:80 $ha
mkfifo -m 600 "$W/fifo.key" # refused at once, not waited on for a writer
expect_bad "not a regular file" $base -t $VIP:80 -r 203.0.113.11:80 $ha --ha-key "$W/fifo.key"
expect_bad --ha-if        $base -t $VIP:80 -r 203.0.113.11:80 $ha --ha-key "$W/ha.key" --ha-if ext --ha-if int
expect_bad --ha-peer      $base -t $VIP:80 -r 203.0.113.11:80 --ha-peer 198.51.100.3
expect_bad --ha-deadtime  $base -t $VIP:80 -r 203.0.113.11:80 $ha --ha-key "$W/ha.key" --ha-interval 6
expect_bad "--nat-ip $LB_INT" -e ext -i int -n $LB_INT -t $VIP:80 -r 203.0.113.11:80 $ha --ha-key "$W/ha.key"
# numbers that are no numbers, interfaces named twice or missing (the message names the flag)
expect_bad "--agent-port: 'abc' is not a number" $base -t $VIP:80 -r 203.0.113.11:80 --agent-port abc
expect_bad "--max-conns: '1k' is not a number" $base --max-conns 1k -t $VIP:80 -r 203.0.113.11:80
expect_bad "-e/--ext-if: given twice ('ext' and 'int')" -e ext -e int -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80
expect_bad "-i/--int-if: interface 'nosuch0' does not exist" -e ext -i nosuch0 -n $NAT -t $VIP:80 -r 203.0.113.11:80
# set-ups that cannot work (README, "What rawlb refuses"): exit 2, saying why
expect_bad "the VIP of TCP $NAT:80 is the NAT router address" $base -t $NAT:80 -r 203.0.113.11:80
expect_bad "203.0.113.11 is both a VIP" $base -t $VIP:80 -r 203.0.113.11:80 -t 203.0.113.11:80 -r 203.0.113.12:80
expect_bad "real server 127.0.0.1:80 of TCP $VIP:80 is a loopback address" $base -t $VIP:80 -r 127.0.0.1:80
expect_bad "real server $LB_INT:80 of TCP $VIP:80 is a kernel address on int" $base -t $VIP:80 -r $LB_INT:80
expect_bad "real server $LB_EXT:80 of TCP $VIP:80 is a kernel address on ext" $base -t $VIP:80 -r $LB_EXT:80
expect_bad "-n/--nat-ip 10.9.8.7 is outside every subnet of the internal interface int (203.0.113.0/24)" \
  -e ext -i int -n 10.9.8.7 -t $VIP:80 -r 203.0.113.11:80
expect_bad "-n/--nat-ip $LB_EXT is a kernel address on the external interface ext" \
  -e ext -i int -n $LB_EXT -t $VIP:80 -r 203.0.113.11:80
expect_bad "VIP $LB_EXT is a kernel address on ext" $base -t $LB_EXT:80 -r 203.0.113.11:80
# the classic LVS set-up, the NAT router address the internal interface's own, is no mistake
out=$(timeout 3 ip netns exec ${P}lb "$RAWLB" -e ext -i int -n $LB_INT -t $VIP:80 -r 203.0.113.11:80 \
      --ctl "$W/classic.sock" --pidfile "$W/classic.pid" --state-dir "$W/classic" 2>&1); rc=$?
[ $rc = 124 ] || fail "rawlb -n $LB_INT (a kernel address on int) did not start: exit $rc: $out"
say "ok: -n $LB_INT, the internal interface's own address, starts"
# a start without the privileges says which it needs, before anything fails for want of them
out=$(timeout 5 ip netns exec ${P}lb setpriv --reuid nobody --regid nogroup --clear-groups "$RAWLB" $base \
      -t $VIP:80 -r 203.0.113.11:80 --ctl "$W/bad.sock" --pidfile "$W/bad.pid" --state-dir "$W/nobody" 2>&1); rc=$?
[ $rc = 1 ] && grep -qF "run as root (or with CAP_NET_RAW and CAP_NET_ADMIN)" <<<"$out" ||
  fail "rawlb as nobody: exit $rc, want 1 and 'run as root (or with CAP_NET_RAW and CAP_NET_ADMIN)': $out"
say "ok: rawlb as nobody: $out"
# rawlb-replay names a missing or unreadable capture before the interface (here missing too)
REPLAY=$BIN/tools/replay/rawlb-replay
for cap in "$W/none.pcap|No such file or directory" "$W|Is a directory"; do
  out=$(timeout 5 "$REPLAY" -i nosuch0 -r "${cap%%|*}" --to $VIP 2>&1); rc=$?
  [ $rc = 2 ] && grep -qF -- "-r: cannot read the capture file '${cap%%|*}': ${cap#*|}" <<<"$out" ||
    fail "rawlb-replay -r ${cap%%|*}: exit $rc, want 2 naming the file: $out"
  say "ok: $out"
done
# --pidfile never follows a symlink (rawlb would truncate its target) nor takes a non-file
printf 'victim\n' > "$W/victim"; ln -s "$W/victim" "$W/link.pid"; mkfifo "$W/fifo.pid"
for pf in link.pid fifo.pid; do
  out=$(timeout 5 ip netns exec ${P}lb "$RAWLB" $base -t $VIP:80 -r 203.0.113.11:80 --ctl "$W/bad.sock" \
        --pidfile "$W/$pf" 2>&1); rc=$?
  [ $rc = 1 ] || fail "--pidfile $pf: exit $rc, want 1 (output: $out)"
  want="not a regular file"; [ $pf = link.pid ] && want="a symbolic link: refused"
  grep -qF -- "--pidfile: " <<<"$out" && grep -qF -- "$want" <<<"$out" || fail "--pidfile $pf: no '$want' in: $out"
  say "ok: --pidfile $pf refused, exit 1: $(grep -F -- --pidfile <<<"$out")"
done
[ "$(cat "$W/victim")" = victim ] || fail "--pidfile through a symlink changed its target: '$(cat "$W/victim")'"
[ -L "$W/link.pid" ] && [ -p "$W/fifo.pid" ] || fail "a refused --pidfile was removed or replaced"
[ -e "$W/bad.sock" ] && fail "a refused start left its ctl socket behind"
[ -e "$W/bad.pid" ] && fail "a refused start left its pid file behind"

out=$(timeout 5 "$RAWLB" --help 2>&1); rc=$?
[ $rc = 0 ] || fail "rawlb --help exits $rc, want 0"
grep -q -- --tcp-service <<<"$out" || fail "rawlb --help does not mention --tcp-service"

out=$(timeout 5 "$CTL" --ctl "$W/none.sock" list 2>&1); rc=$?
[ $rc != 0 ] || fail "rawlb-ctl list with no daemon exits 0"
[ -n "$out" ] || fail "rawlb-ctl list with no daemon prints no message"
say "ok: rawlb-ctl list with no daemon: exit $rc: $out"

bash -c 'echo $$' > "$PIDFILE"   # a stale pid file (its process is gone) must not block the start
start_rawlb $base -t $VIP:80 -r 203.0.113.11:80
[ -S "$SOCK" ] || fail "no ctl socket at $SOCK while rawlb runs"
[ "$(cat "$PIDFILE" 2>/dev/null)" = "$RAWLB_PID" ] || fail "pid file says '$(cat "$PIDFILE" 2>/dev/null)', rawlb is $RAWLB_PID"
# a second instance with the same pid file must refuse to start, not steal it (run in a namespace
# of its own, lb2, so that the interface lock below does not refuse it first)
mkns lb2; link lb2 ext lb2-ext brext 198.51.100.3/24; link lb2 int lb2-int brint 203.0.113.3/24
out=$(timeout 5 ip netns exec ${P}lb2 "$RAWLB" $base -t $VIP:80 -r 203.0.113.11:80 --ctl "$W/second.sock" \
      --pidfile "$PIDFILE" --state-dir "$W/state2" 2>&1); rc=$?
[ $rc = 1 ] && grep -qF "is held by a running rawlb (pid $RAWLB_PID)" <<<"$out" ||
  fail "a second rawlb with the same pid file did not refuse (exit $rc): $out"
[ "$(cat "$PIDFILE" 2>/dev/null)" = "$RAWLB_PID" ] || fail "a refused second instance changed the pid file"
# one daemon per interface and network namespace, whatever its --ctl and --pidfile: exit 1 (the
# host's state is in the way, as with a held pid file), naming the interface and the holder
for ifs in "-e ext -i int -n $NAT -t $VIP:80 -r 203.0.113.11:80" "-e int -i ext -n 198.51.100.1 -t 203.0.113.10:80 -r 198.51.100.11:80"; do
  out=$(timeout 5 ip netns exec ${P}lb "$RAWLB" $ifs --ctl "$W/second.sock" \
        --pidfile "$W/second.pid" 2>&1); rc=$?
  [ $rc = 1 ] || fail "a second rawlb (${ifs:0:13}) on the interfaces of a running one: exit $rc, want 1 ($out)"
  grep -qF -- "-e/--ext-if: interface '${ifs:3:3}' is in use by another rawlb (pid $RAWLB_PID) in this network namespace" \
    <<<"$out" || fail "a second rawlb ($ifs): no message naming the interface and pid $RAWLB_PID: $out"
  [ -e "$W/second.sock" ] || [ -e "$W/second.pid" ] && fail "a second rawlb ($ifs) left its socket or pid file"
  say "ok: a second rawlb ${ifs:0:13} is refused: $out"
done
# ...but a director in another namespace (lb2) with the same interface names starts, as in the HA tests
ip netns exec ${P}lb2 "$RAWLB" -e ext -i int -n $NAT -t 198.51.100.20:80 -r 203.0.113.11:80 --ctl "$W/other.sock" \
  --pidfile "$W/other.pid" --state-dir "$W/state2" > "$W/other.log" 2>&1 &
other=$!; PIDS+=($other)
wait_for 10 "$CTL" --ctl "$W/other.sock" list || fail "rawlb in another namespace on ext/int did not start: $(cat "$W/other.log")"
kill -TERM $other; wait $other || fail "rawlb in the other namespace: exit $? after SIGTERM"
say "ok: a rawlb in another namespace on interfaces of the same names runs"

# a control request longer than 64 KiB is refused whole, not cut (and the daemon goes on); the
# answer ends in an orderly close (end of file), not a reset, though the daemon read only part of it
ctl_raw() { # BYTES: a request of that many bytes ("list" and spaces, then a newline); prints the answer
  "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
n = int(sys.argv[2])
try:
    s.sendall(b"list" + b" " * (n - 5) + b"\n")
except OSError:
    pass  # the daemon answered and closed before taking it all
answer = b""
try:
    while chunk := s.recv(65536):
        answer += chunk
except ConnectionResetError:
    answer += b"\nRESET"
print(answer.decode(errors="replace"), end="")' "$SOCK" "$1"
}
out=$(ctl_raw 70000)
grep -q "^error: request longer than 65535 bytes" <<<"$out" || fail "a 70000-byte request: '${out:0:200}'"
grep -q RESET <<<"$out" && fail "a 70000-byte request: the answer ended in a reset, not end of file"
out=$(ctl_raw 60000)
grep -q "^TCP  $VIP:80" <<<"$out" || fail "a 60000-byte request was not taken: '${out:0:200}'"
grep -q RESET <<<"$out" && fail "a 60000-byte request: the answer ended in a reset, not end of file"
say "ok: a 70000-byte control request is refused, a 60000-byte one taken, both closed without a reset"

# a daemon serving its most control clients refuses one more with its message, not a reset (its
# request, unread, used to make the close a reset: rawlb-ctl said "Connection reset by peer")
"$PY" -c '
import socket, subprocess, sys, time
idle = []
for _ in range(int(sys.argv[3])):   # each holds a slot for its 2 s to send a request
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); idle.append(s)
time.sleep(0.2)
for _ in range(10):
    r = subprocess.run([sys.argv[2], "--ctl", sys.argv[1], "list"], capture_output=True, text=True)
    print(r.returncode, r.stderr.strip())' "$SOCK" "$CTL" 8 > "$W/busy.out"
grep -v "^1 .*: error: too many control clients, try again$" "$W/busy.out" &&
  fail "rawlb-ctl against a daemon with every slot taken: $(sort "$W/busy.out" | uniq -c)"
say "ok: rawlb-ctl with every control slot taken: 10 x '$(head -1 "$W/busy.out")'"

stop_rawlb   # fails unless exit status 0
[ -e "$SOCK" ] && fail "rawlb left its ctl socket $SOCK after SIGTERM"
[ -e "$PIDFILE" ] && fail "rawlb left its pid file $PIDFILE after SIGTERM"
say "ok: SIGTERM -> exit 0, socket and pid file removed"
pass
