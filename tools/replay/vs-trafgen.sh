#!/bin/bash
# rawlb-replay next to netsniff-ng's trafgen: both offer 64-byte UDP frames (Ethernet header to the
# end of the payload, no FCS) at top speed for SECONDS on the same veth, one after the other, ROUNDS
# times, into a namespace where rawlb-replay --sink counts what arrives (sender on CPU 0, sink on
# the last CPU; the veth's receive path runs on the sender's CPU). Prints each run's offered pps
# (the sender's own count over its sending time) and delivered pps (the sink's count over the same
# time), and the ratios rawlb-replay/trafgen of the medians (runs are noisy on a busy 2-CPU box:
# use ROUNDS 5 or more). trafgen runs on one CPU (--cpus 1) with its default TX ring and qdisc
# bypass; rawlb-replay is run both plain (sendmmsg through the qdisc layer) and --qdisc-bypass.
# It needs netsniff-ng (apt-get install --no-install-recommends netsniff-ng: its recommended
# ntpsec would replace systemd-timesyncd).
# usage: sudo tools/replay/vs-trafgen.sh [BUILD_DIR] [SECONDS] [ROUNDS]    (needs netsniff-ng)
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$here/build}" && pwd) || exit 2
secs=${2:-3}; rounds=${3:-2}
REPLAY=$build/tools/replay/rawlb-replay
[ -x "$REPLAY" ] || { echo "no $REPLAY: build first" >&2; exit 2; }
command -v trafgen >/dev/null || { echo "no trafgen: apt-get install --no-install-recommends netsniff-ng" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
case $secs$rounds in *[!0-9]*) echo "SECONDS and ROUNDS are whole numbers" >&2; exit 2 ;; esac
[ "$secs" -ge 1 ] && [ "$secs" -le 60 ] && [ "$rounds" -ge 1 ] && [ "$rounds" -le 10 ] ||
  { echo "SECONDS 1..60, ROUNDS 1..10" >&2; exit 2; }

# the senders on one CPU, the sink on another (the last), so runs do not depend on where the
# scheduler puts them; on one CPU both share it
SEND_CPU=0; SINK_CPU=$(($(nproc) - 1))
A=rlbvt-a; B=rlbvt-b; W=$(mktemp -d /tmp/rlbvt.XXXXXX)
cleanup() {
  local n p
  for n in $A $B; do
    for p in $(ip netns pids $n 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del $n 2>/dev/null
  done
  [ "${KEEP:-0}" = 1 ] && echo "kept $W" || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup; W=$(mktemp -d /tmp/rlbvt.XXXXXX)
ip netns add $A && ip netns add $B || exit 1
ip link add eth0 netns $A type veth peer name eth0 netns $B || exit 1
ip -n $A link set eth0 up; ip -n $B link set eth0 up; ip -n $A link set lo up; ip -n $B link set lo up
ip -n $A addr add 198.51.100.1/24 dev eth0
# B keeps no address: what arrives is counted by the sink and dropped by B's kernel early
MAC_A=$(ip netns exec $A cat /sys/class/net/eth0/address); MAC_B=$(ip netns exec $B cat /sys/class/net/eth0/address)

cat > "$W/udp64.cfg" <<CFG
{
  eth(da=$MAC_B, sa=$MAC_A),
  ipv4(saddr=198.51.100.1, daddr=198.51.100.2, ttl=64, df),
  udp(sp=10000, dp=9),
  fill(0x00, 22)
}
CFG

sink_start() {
  ip netns exec $B taskset -c "$SINK_CPU" "$REPLAY" --sink eth0 --json --no-flows --idle 1 --duration $((secs + 20)) \
    --filter "udp dst port 9" > "$W/sink.json" 2> "$W/sink.err" &
  SINK=$!
  for ((i = 0; i < 50; i++)); do grep -q "sink on" "$W/sink.err" && return 0; sleep 0.1; done
  echo "sink did not start: $(cat "$W/sink.err")" >&2; exit 1
}
sink_pps() { # ELAPSED: delivered pps over the sender's window (once the sink ended)
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f" % (d["packets"] / float(sys.argv[2])))' "$W/sink.json" "$1"
}

run_replay() { # extra flags...
  sink_start
  ip netns exec $A taskset -c "$SEND_CPU" "$REPLAY" -i eth0 --to 198.51.100.2:9 --to-mac "$MAC_B" --gen udp --size 64 --topspeed \
    --duration "$secs" --json --no-flows "$@" > "$W/send.json" 2> "$W/send.err" || { cat "$W/send.err" >&2; exit 1; }
  local offered elapsed
  offered=$(python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["pps"])' "$W/send.json")
  elapsed=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["elapsed_s"])' "$W/send.json")
  wait $SINK
  echo "$offered $(sink_pps "$elapsed")"
}

run_trafgen() {
  sink_start
  local t0 t1 n
  t0=$(date +%s%N)
  ip netns exec $A timeout -s INT "$secs" taskset -c "$SEND_CPU" trafgen -o eth0 -c "$W/udp64.cfg" --cpus 1 > "$W/tg.out" 2>&1
  t1=$(date +%s%N)
  n=$(tr '\r' '\n' < "$W/tg.out" | grep -E 'packets outgoing' | awk '{ s += $1 } END { print s + 0 }')
  local elapsed; elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
  wait $SINK
  echo "$(awk -v n="$n" -v e="$elapsed" 'BEGIN { printf "%.0f", n / e }') $(sink_pps "$elapsed")"
}

printf "%-28s %14s %14s\n" "sender (64 B UDP, ${secs} s)" "offered pps" "delivered pps"
declare -A OFF=() DEL=()
for ((r = 1; r <= rounds; r++)); do
  for who in replay replay-bypass trafgen; do
    case $who in
      replay) out=$(run_replay) ;;
      replay-bypass) out=$(run_replay --qdisc-bypass) ;;
      trafgen) out=$(run_trafgen) ;;
    esac
    read -r o d <<<"$out"
    [ -n "$d" ] || { echo "$who: no result" >&2; exit 1; }
    printf "%-28s %14s %14s\n" "$who (round $r)" "$o" "$d"
    OFF[$who]="${OFF[$who]:-} $o"; DEL[$who]="${DEL[$who]:-} $d"
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { printf "%.0f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
to=$(median "${OFF[trafgen]}"); td=$(median "${DEL[trafgen]}")
for who in replay replay-bypass; do
  o=$(median "${OFF[$who]}"); d=$(median "${DEL[$who]}")
  echo "rawlb-replay${who#replay} / trafgen: offered $o / $to = $(ratio "$o" "$to"), delivered $d / $td = $(ratio "$d" "$td")"
done
