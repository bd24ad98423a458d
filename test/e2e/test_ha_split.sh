#!/bin/bash
# High availability: exactly one master.
#   1. Both directors started with --ha-role primary: one master (the higher node id), the other
#      backup, and it stays so.
#   2. A partition (the backup drops heartbeats with nft): both become master; lifted, the backup
#      yields within two heartbeat intervals and sends its table to the primary.
#   3. The master's internal link loses carrier (cut on the switch side): it says fault and the
#      backup takes over at once; carrier back, the primary takes over again.
#   4. rawlb-ctl ha takeover on the backup and ha release on it; ha release on the primary, which
#      then does not pre-empt, and ha takeover back.
#   5. Heartbeats on two links (--ha-if ext and int): one link's heartbeats dropped is no split
#      brain; both dropped is.
. "$(dirname "$0")/lib.sh"
command -v nft >/dev/null || fail "missing tool: nft (see tools/deps.sh)"

ha_topo_up 2
rs_nginx 1; rs_nginx 2
ARGS="-e ext -i int -n $NAT $HA_TIMING -t $VIP:80 -r 203.0.113.11:80 -r 203.0.113.12:80"
INTERVAL_MS=500
masters() { local n=0; [ "$(ha_state 1)" = master ] && n=$((n + 1)); [ "$(ha_state 2)" = master ] && n=$((n + 1)); echo $n; }

# 1. two primaries
start_director 1 primary $ARGS
start_director 2 primary $ARGS
wait_for 10 bash -c "[ \"\$(timeout 5 '$CTL' --ctl '$W/lb1.sock' status | head -1 | grep -c master)\$(timeout 5 '$CTL' --ctl '$W/lb2.sock' status | head -1 | grep -c master)\" != 00 ]" ||
  fail "no master within 10 s of starting two primaries"
sleep 1
for i in 1 2 3 4 5 6; do
  [ "$(masters)" = 1 ] || fail "two primaries: $(masters) masters (want 1): $(ha_state 1) / $(ha_state 2)"
  sleep 0.5
done
say "two primaries: one master ($(ha_state 1) / $(ha_state 2))"
stop_director 1; stop_director 2
rm -rf "$W/state1" "$W/state2"

# 2. partition and heal
start_director 1 primary $ARGS
start_director 2 backup $ARGS
wait_ha 1 master 10 || fail "the primary is not master: $(dctl 1 status)"
wait_ha 2 backup 2 || fail "the backup is not backup: $(dctl 2 status)"
wait_http "http://$VIP/"
on lb2 nft -f - <<NFT || fail "nft"
table inet rlbt_partition {
  chain in { type filter hook input priority 0; udp dport 539 drop; }
}
NFT
wait_ha 2 master 5 || fail "the partitioned backup did not become master: $(dctl 2 status)"
[ "$(ha_state 1)" = master ] || fail "the primary did not stay master during the partition"
say "partition: both master"
# an edit on the partitioned backup (master now): the primary's configuration wins after the heal
dctl 2 -a -t $VIP:80 -r 203.0.113.13:80 || fail "an edit on the partitioned backup was refused"
bulks0=$(dctl 2 status --json | "$PY" -c "import json, sys; print(json.load(sys.stdin)['sync']['tables_sent'])")
on lb2 nft delete table inet rlbt_partition
t0=$(now_ms)
for ((i = 0; i < 200; i++)); do [ "$(masters)" = 1 ] && break; sleep 0.02; done
t_one=$(( $(now_ms) - t0 ))
[ "$(ha_state 1)" = master ] && [ "$(ha_state 2)" = backup ] || fail "after the partition: $(ha_state 1) / $(ha_state 2) (want master / backup)"
say "partition lifted: one master after ${t_one} ms"
wait_for 5 bash -c "timeout 5 '$CTL' --ctl '$W/lb2.sock' status --json | '$PY' -c \"import json, sys; sys.exit(json.load(sys.stdin)['sync']['tables_sent'] <= $bulks0)\"" ||
  fail "the backup did not send its table after yielding: $(dctl 2 status)"
if [ "$SANITIZED" = 0 ]; then
  [ "$t_one" -le $((2 * INTERVAL_MS)) ] || fail "one master only ${t_one} ms after the partition was lifted (want within two intervals)"
fi
wait_for 5 ha_same_config || fail "after the heal the configurations differ:\n  lb1: $(ha_shared 1)\n  lb2: $(ha_shared 2)"
dctl 2 list | grep -q "203.0.113.13:80" && fail "the backup kept the edit made while partitioned: $(dctl 2 list)"
say "the primary's configuration replaced the one edited on the backup during the partition"

# 3. the master's internal link loses carrier
t0=$(now_ms)
on sw ip link set lb-int down
wait_ha 2 master 3 || fail "the backup did not take over when the master's link went down: $(dctl 2 status)"
t_fault=$(( $(now_ms) - t0 ))
[ "$(ha_state 1)" = fault ] || fail "the primary without carrier is $(ha_state 1), not fault"
dctl 1 status | grep -q "tracked link lost carrier" || fail "no fault reason: $(dctl 1 status)"
dctl 2 status | grep -q "peer in fault" || fail "the backup's reason is not the peer's fault: $(dctl 2 status)"
say "carrier lost on the master's internal link: the backup took over after ${t_fault} ms"
if [ "$SANITIZED" = 0 ]; then
  [ "$t_fault" -le "$INTERVAL_MS" ] || fail "takeover at carrier loss took ${t_fault} ms (want at once: under one interval)"
fi
wait_http "http://$VIP/"
on sw ip link set lb-int up
wait_ha 1 master 20 || fail "the primary did not take over again once its link was back: $(dctl 1 status)"
wait_ha 2 backup 3 || fail "the backup did not yield: $(dctl 2 status)"
wait_http "http://$VIP/"

# 4. on purpose
dctl 2 ha takeover | grep -q "this director is master" || fail "ha takeover on the backup: $(dctl 2 status)"
wait_ha 1 backup 2 || fail "the primary did not yield to an operator's takeover: $(dctl 1 status)"
dctl 1 status | grep -q "peer operator takeover" || fail "the primary's reason: $(dctl 1 status)"
wait_http "http://$VIP/"
dctl 2 ha release | grep -q "the peer takes over" || fail "ha release on the backup: $(dctl 2 status)"
wait_ha 1 master 3 || fail "the primary did not take over at the backup's release: $(dctl 1 status)"
wait_ha 2 backup 2 || fail "the released backup did not yield: $(dctl 2 status)"
dctl 1 ha release >/dev/null || fail "ha release on the primary"
wait_ha 2 master 3 || fail "the backup did not take over at the primary's release: $(dctl 2 status)"
sleep 2
[ "$(ha_state 1)" = backup ] || fail "a released primary pre-empted: $(dctl 1 status)"
dctl 1 ha takeover >/dev/null || fail "ha takeover on the primary"
wait_ha 1 master 2 || fail "the primary did not take over on ha takeover: $(dctl 1 status)"
wait_ha 2 backup 2 || fail "the backup did not yield to ha takeover"
say "ha takeover and ha release switch either way; a released primary does not pre-empt"
stop_director 2; stop_director 1

# 5. two links: one lost is no split brain
rm -rf "$W/state1" "$W/state2"
start_director 1 primary $ARGS --ha-if int --ha-peer $LB2_INT --ha-if ext
start_director 2 backup $ARGS --ha-if int --ha-peer $LB_INT --ha-if ext
wait_ha 1 master 10 || fail "two links: the primary is not master: $(dctl 1 status)"
wait_ha 2 backup 2 || fail "two links: the backup is not backup"
dctl 2 status | grep -c "^link .*: up" | grep -qx 2 || fail "two links: not both up: $(dctl 2 status)"
on lb2 nft -f - <<NFT || fail "nft"
table inet rlbt_partition {
  chain in { type filter hook input priority 0; iifname "ext" udp dport 539 drop; }
}
NFT
sleep 3
[ "$(ha_state 2)" = backup ] || fail "one link's heartbeats lost made the backup master: $(dctl 2 status)"
dctl 2 status | grep -q "^link ext -> $LB_EXT: down" || fail "the lost link is not shown down: $(dctl 2 status)"
on lb2 nft delete table inet rlbt_partition
on lb2 nft -f - <<NFT || fail "nft"
table inet rlbt_partition {
  chain in { type filter hook input priority 0; udp dport 539 drop; }
}
NFT
wait_ha 2 master 4 || fail "both links' heartbeats lost, the backup did not take over: $(dctl 2 status)"
on lb2 nft delete table inet rlbt_partition
wait_ha 2 backup 3 || fail "the backup did not yield after the links came back"
say "two links: one lost changes nothing, both lost is a takeover"
stop_director 2; stop_director 1
say "PASS"
