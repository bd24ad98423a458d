#!/bin/bash
# High availability: the two directors cannot silently drift apart in configuration.
#   1. The backup (READY=1 to a service manager once it heard the master) starts with a configuration that differs (one more real server): both report
#      the section that differs, the master sends its configuration, and they match.
#   2. Edits on the master (a real server added, a weight changed, a UDP service added, a server
#      removed) appear on the backup: rawlb-ctl -S prints the same on both but for per-host flags.
#   3. An edit or a reload on the backup is refused and names the master.
#   4. The backup, master after a kill -9, takes an edit; the primary returns (a new epoch) and is
#      sent the configuration before it takes over.
. "$(dirname "$0")/lib.sh"

ha_topo_up 3
rs_nginx 1; rs_nginx 2; rs_nginx 3
ARGS="-e ext -i int -n $NAT $HA_TIMING -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80"
start_director 1 primary $ARGS
wait_ha 1 master 10 || fail "the primary is not master: $(dctl 1 status)"
# the backup tells a service manager it is ready once its role is decided: once it heard the master
chmod 0711 "$W" # the notification socket is reached after the drop to --user
bg_start notify lb2 "$PY" "$E2E/nethelper.py" notifyd "$W/notify.sock"
wait_for 5 test -S "$W/notify.sock" || fail "the notification socket did not appear: $(cat "$W/notify.log")"
NOTIFY_SOCKET=$W/notify.sock start_director 2 backup $ARGS -r 203.0.113.13:80
wait_ha 2 backup 5 || fail "the backup is not backup: $(dctl 2 status)"
wait_for 5 grep -q "READY=1 STATUS=balancing 1 service(s) on ext, HA backup" "$W/notify.log" ||
  fail "the backup did not say READY=1 as backup: $(cat "$W/notify.log")"

wait_same() { wait_for 5 ha_same_config || fail "$1: the configurations differ:\n  lb1: $(ha_shared 1)\n  lb2: $(ha_shared 2)"; }

# 1. the difference is reported by section, then mended by the master's configuration
wait_for 5 grep -q "configuration differs from the peer's: service TCP $VIP:80" "$W/lb2.log" ||
  fail "the backup did not report the differing section: $(grep HA: "$W/lb2.log")"
grep -q "configuration differs from the peer's: service TCP $VIP:80" "$W/lb1.log" ||
  fail "the master did not report the differing section"
wait_same "after the master's push"
wait_for 5 bash -c "timeout 5 '$CTL' --ctl '$W/lb2.sock' status | grep -q '^config: match'" || fail "status does not say match: $(dctl 2 status)"
dctl 2 list | grep -q "203.0.113.13:80" && fail "the backup still has the server the master lacks"
say "a differing start mended: $(ha_shared 2)"

# 2. edits on the master reach the backup
dctl 1 -a -t $VIP:80 -r 203.0.113.13:80 -w 2 || fail "edit -a on the master"
wait_same "after -a"
dctl 1 -e -t $VIP:80 -r 203.0.113.11:80 -w 5 -x 40 -y 30 || fail "edit -e on the master"
wait_same "after -e"
dctl 1 -A -u $VIP:53 -s rr || fail "edit -A on the master"
dctl 1 -a -u $VIP:53 -r 203.0.113.12:53 || fail "edit -a (UDP) on the master"
wait_same "after -A"
dctl 1 -d -t $VIP:80 -r 203.0.113.12:80 || fail "edit -d on the master"
wait_same "after -d"
dctl 2 list | grep -E -- "-> +203\.0\.113\.11:80 +Masq +5 " >/dev/null || fail "the weight did not reach the backup: $(dctl 2 list)"
dctl 2 list --thresholds | grep -E -- "-> +203\.0\.113\.11:80 +40 +30 " >/dev/null ||
  fail "the connection limits did not reach the backup: $(dctl 2 list --thresholds)"
say "four edits on the master reached the backup"

# 3. the backup refuses edits
out=$(dctl 2 -e -t $VIP:80 -r 203.0.113.11:80 -w 9 2>&1); rc=$?
[ $rc = 1 ] || fail "an edit on the backup exits $rc (want 1): $out"
grep -q "edits and reloads are made on the master" <<<"$out" && grep -q "$LB_EXT" <<<"$out" || fail "the refusal does not name the master: $out"
# and a reload (the systemd unit's ExecReload): the master's configuration rules
out=$(dctl 2 reload $ARGS -r 203.0.113.14:80 "${WORKERS_ARGS[@]}" --ha-role backup --ha-peer $LB_EXT --ha-key "$W/ha.key" \
      --state-dir "$W/state2" --ctl "$W/lb2.sock" --pidfile "$W/lb2.pid" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "edits and reloads are made on the master" <<<"$out" || fail "a reload on the backup: exit $rc: $out"
grep -q "reload refused: this director is backup" "$W/lb2.log" || fail "the backup's log does not say the reload was refused"
dctl 2 list | grep -q "203.0.113.14:80" && fail "the refused reload changed the backup"

# 4. a new epoch of the primary is sent the configuration
kill_director 1 KILL
wait_ha 2 master 5 || fail "the backup did not take over"
dctl 2 -e -t $VIP:80 -r 203.0.113.13:80 -w 7 || fail "edit on the new master"
start_director 1 primary $ARGS
wait_ha 1 master 20 || fail "the primary did not take over again: $(dctl 1 status)"
wait_same "the returning primary"
dctl 1 list | grep -E -- "-> +203\.0\.113\.13:80 +Masq +7 " >/dev/null || fail "the returning primary lacks the edit made while it was away: $(dctl 1 list)"
stop_director 2; stop_director 1
say "PASS"
