#!/bin/bash
# The systemd unit, run as systemd runs it (there is no systemd in the test's namespaces): rawlb
# started exactly as packaging/rawlb.service's ExecStart line says, $RAWLB_OPTS read from a
# defaults file as EnvironmentFile= reads it, inside the unit's capability bounding set
# (setpriv) and with a $NOTIFY_SOCKET listening as systemd's does.
#   1. READY=1 arrives once the fast path is up; rawlb runs as the unit's --user with no
#      capability, and its bounding set is the unit's.
#   2. The unit's ExecReload after a server was added to the file: exit 0, RELOADING=1 then
#      READY=1, the server is listed, and a download running across the reload arrives intact.
#   3. ExecReload after --max-conns was changed in the file: exit 1, the log line names the flag,
#      nothing changed.
#   4. SIGTERM: STOPPING=1, exit 0.
. "$(dirname "$0")/lib.sh"

UNIT=$E2E/../../packaging/rawlb.service
[ -f "$UNIT" ] || fail "no unit at $UNIT"
command -v setpriv >/dev/null || fail "missing tool: setpriv (util-linux)"
unit_key() { sed -n "s/^$1=//p" "$UNIT"; }
START=$(unit_key ExecStart); RELOAD=$(unit_key ExecReload); CAPS=$(unit_key CapabilityBoundingSet)
[ "$(unit_key Type)" = notify ] || fail "the unit is not Type=notify"
UNIT_USER=$(sed -nE 's/.*--user ([^ ]+).*/\1/p' <<<"$START")
[ -n "$UNIT_USER" ] || fail "ExecStart has no --user: $START"
# the package makes this system user; on a test host it is made here and removed at the end
if ! id "$UNIT_USER" >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$UNIT_USER" ||
    fail "useradd $UNIT_USER"
  trap 'rc=$?; userdel -f "$UNIT_USER" 2>/dev/null; (exit $rc); cleanup' EXIT # -f: rawlb still runs
fi

# the bounding set for setpriv: "-all,+net_raw,..."
BOUND=-all; for c in $CAPS; do c=${c#CAP_}; BOUND+=",+${c,,}"; done
# the kernel's capability numbers of the bounding set, as /proc/PID/status shows CapBnd
want_bnd=0
for c in $CAPS; do
  n=$(grep -oE "#define $c +[0-9]+" /usr/include/linux/capability.h | awk '{ print $3 }')
  [ -n "$n" ] || fail "unknown capability $c in the unit"
  want_bnd=$((want_bnd | (1 << n)))
done

# unit_argv LINE: UNIT_ARGV = the command an Exec line runs: its words, with $RAWLB_OPTS split at
# spaces (as systemd splits an unbraced variable) and /usr/sbin/ standing for the build
# directory, run in the director's namespace under the unit's bounding set with $NOTIFY_SOCKET
unit_argv() {
  local w
  UNIT_ARGV=(ip netns exec "${P}lb" env NOTIFY_SOCKET="$NOTIFY" setpriv --bounding-set "$BOUND" --)
  for w in $1; do
    case $w in
      '$RAWLB_OPTS') UNIT_ARGV+=($RAWLB_OPTS) ;;
      /usr/sbin/*) UNIT_ARGV+=("$BIN/${w#/usr/sbin/}") ;;
      *) UNIT_ARGV+=("$w") ;;
    esac
  done
}
# write_defaults OPTS...: the defaults file, and RAWLB_OPTS as EnvironmentFile= gives it
write_defaults() { printf 'RAWLB_OPTS="%s"\n' "$*" > "$W/default"; . "$W/default"; }

topo_up 2
rs_nginx 1; rs_nginx 2
chmod 0711 "$W" # the notification socket is reached after the drop to $UNIT_USER
NOTIFY=$W/notify.sock
bg_start notify lb "$PY" "$E2E/nethelper.py" notifyd "$NOTIFY"
wait_for 5 test -S "$NOTIFY" || fail "the notification socket did not appear: $(cat "$W/notify.log")"
notified() { grep -c -- "$1" "$W/notify.log"; }

BASE="-e ext -i int -n $NAT ${WORKERS_ARGS[*]} --ctl $SOCK --pidfile $PIDFILE --state-dir $W/state -t $VIP:80"
write_defaults "$BASE -r 203.0.113.11:80"
say "ExecStart=$START with RAWLB_OPTS=\"$RAWLB_OPTS\""
unit_argv "$START"
"${UNIT_ARGV[@]}" > "$LOG" 2>&1 &
RAWLB_PID=$!; PIDS+=($RAWLB_PID)

# 1. READY=1, then the daemon's credentials
wait_for 10 grep -q "READY=1" "$W/notify.log" || fail "no READY=1 within 10 s: $(cat "$W/notify.log"; tail -5 "$LOG")"
grep -q "READY=1 STATUS=balancing 1 service(s) on ext" "$W/notify.log" || fail "READY=1 without its status: $(cat "$W/notify.log")"
grep -q "balancing 1 service(s)" "$LOG" || fail "READY=1 came before the daemon said it balances"
wait_http "http://$VIP/"
st=/proc/$RAWLB_PID/status # ip netns exec, env and setpriv each exec the next: the pid is rawlb's
[ "$(awk '$1 == "Uid:" { print $2 }' "$st")" = "$(id -u "$UNIT_USER")" ] || fail "rawlb does not run as $UNIT_USER: $(grep Uid: "$st")"
[ "$(awk '$1 == "CapEff:" { print $2 }' "$st")" = 0000000000000000 ] || fail "CapEff $(awk '$1 == "CapEff:" { print $2 }' "$st")"
bnd=$((16#$(awk '$1 == "CapBnd:" { print $2 }' "$st")))
[ "$bnd" = "$want_bnd" ] || fail "CapBnd $(printf %x $bnd), want the unit's $(printf %x $want_bnd)"
say "READY=1 sent; rawlb runs as $UNIT_USER, no capability, bounding set $CAPS"

# 2. a reload that adds a server, while a download runs
bg_download dl 1500
wait_for 5 bash -c "timeout 5 '$CTL' --ctl '$SOCK' -L -n -c | grep -q ESTABLISHED" || fail "the download did not start: $(cat "$W/dl.log")"
write_defaults "$BASE -r 203.0.113.11:80 -r 203.0.113.12:80"
unit_argv "$RELOAD"
out=$("${UNIT_ARGV[@]}" 2>&1) || fail "ExecReload failed: $out"
ctl list | grep -q "203.0.113.12:80" || fail "the reloaded server is not listed: $(ctl list)"
[ "$(notified RELOADING=1)" = 1 ] && [ "$(notified READY=1)" = 2 ] ||
  fail "want RELOADING=1 then READY=1 again: $(cat "$W/notify.log")"
grep -q "configuration reloaded" "$LOG" || fail "no 'configuration reloaded' line"
bg_wait dl 30 || fail "the download across the reload failed: $(cat "$W/dl.log")"
cmp -s "$W/dl.bin" "$W/big.bin" || fail "the download across the reload differs ($(stat -c %s "$W/dl.bin") bytes)"
say "ExecReload added a server; the download running across it arrived intact"

# 3. a reload that changes what only a restart applies
before=$(ctl save)
write_defaults "$BASE -r 203.0.113.12:80 --max-conns 100000"
unit_argv "$RELOAD"
out=$("${UNIT_ARGV[@]}" 2>&1); rc=$?
[ $rc = 1 ] || fail "ExecReload with --max-conns changed exits $rc (want 1): $out"
grep -q "reload refused: --max-conns differs from the running daemon's, and only a restart applies it" "$LOG" ||
  fail "the log does not name --max-conns: $(grep reload "$LOG")"
[ "$(ctl save)" = "$before" ] || fail "a refused reload changed the configuration: $(ctl save)"
say "a reload changing --max-conns refused: $out"

# 4. SIGTERM
stop_rawlb
grep -q "STOPPING=1" "$W/notify.log" || fail "no STOPPING=1: $(cat "$W/notify.log")"
pass
