#!/bin/bash
# High availability: heartbeats that must change nothing, and are counted.
#   - a heartbeat saying "leaving" sealed with a wrong key: the backup stays backup;
#   - the primary is killed with -9 while its recorded heartbeats (this run's) and wrong-key
#     "master" heartbeats are replayed to the backup: the backup takes over within the dead time
#     + 1 s all the same;
#   - the primary returns (a new epoch) and takes over; its heartbeats recorded in the previous run
#     are replayed: stale, nothing changes.
. "$(dirname "$0")/lib.sh"

ha_topo_up 2
rs_nginx 1; rs_nginx 2
ARGS="-e ext -i int -n $NAT $HA_TIMING -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80"
start_director 1 primary $ARGS
start_director 2 backup $ARGS
wait_ha 1 master 10 || fail "the primary is not master within 10 s: $(dctl 1 status)"
wait_ha 2 backup 2 || fail "the backup is not backup: $(dctl 2 status)"

# counters from the backup's status --json
hb_count() { dctl 2 status --json | "$PY" -c "import json, sys; print(json.load(sys.stdin)['heartbeats']['$1'])"; }

# the primary's datagrams to the backup, recorded on the backup's link
start_capture run1 lb2 ext udp port 539 and src host $LB_EXT
wait_for 5 bash -c "[ \$(tcpdump -n -r '$W/run1.pcap' 2>/dev/null | wc -l) -ge 4 ]" || fail "no heartbeats recorded"
stop_captures

printf '%s\n' "not-the-shared-secret-at-all" > "$W/wrong.key"; chmod 600 "$W/wrong.key"
forge() { on lb "$PY" "$E2E/nethelper.py" haforge $LB2_EXT 539 "$W/wrong.key" "$1"; }
replay() { on lb "$PY" "$E2E/nethelper.py" udpreplay "$W/$1.pcap" $LB2_EXT 539; }

# 1. a wrong key: "leaving" would make the backup master at once
forge leaving
sleep 1
[ "$(ha_state 2)" = backup ] || fail "a heartbeat with a wrong key changed the backup: $(dctl 2 status)"
[ "$(hb_count bad_mac)" -ge 1 ] || fail "the wrong-key heartbeat was not counted: $(dctl 2 status)"

# 2. kill -9, while this run's heartbeats and wrong-key ones keep coming
stale0=$(hb_count stale)
kill_director 1 KILL
t0=$(now_ms); replayed=0
while [ $(( $(now_ms) - t0 )) -lt 4000 ]; do
  n=$(replay run1) || fail "replay failed"
  replayed=$((replayed + n))
  forge master
  [ "$(ha_state 2)" = master ] && [ -z "${t_master:-}" ] && t_master=$(( $(now_ms) - t0 ))
  sleep 0.25
done
[ "$(ha_state 2)" = master ] || fail "replayed and forged heartbeats kept the backup from taking over: $(dctl 2 status)"
say "the backup took over ${t_master:-?} ms after kill -9 while $replayed recorded datagrams were replayed"
stale1=$(hb_count stale)
[ $((stale1 - stale0)) -eq "$replayed" ] || fail "$replayed replayed datagrams, $((stale1 - stale0)) counted stale"
[ "$(hb_count bad_mac)" -ge 2 ] || fail "forged heartbeats not counted as bad_mac"
if [ "$SANITIZED" = 0 ]; then
  [ "${t_master:-99999}" -le 3000 ] || fail "takeover took ${t_master:-?} ms (want within dead time + 1 s)"
fi

# 3. the primary returns with a new epoch; the previous run's heartbeats are stale
start_director 1 primary $ARGS
wait_ha 1 master 20 || fail "the returning primary did not take over: $(dctl 1 status)"
wait_ha 2 backup 3 || fail "the backup did not yield: $(dctl 2 status)"
stale0=$(hb_count stale)
n=$(replay run1)
sleep 1
[ "$(ha_state 2)" = backup ] && [ "$(ha_state 1)" = master ] || fail "a replay of the previous run changed the roles"
[ $(( $(hb_count stale) - stale0 )) -eq "$n" ] || fail "$n datagrams of the previous run replayed, $(( $(hb_count stale) - stale0 )) counted stale"
dctl 2 status | grep -q "epoch 2" || fail "the backup does not show the primary's new epoch: $(dctl 2 status)"
stop_director 2; stop_director 1
say "PASS"
