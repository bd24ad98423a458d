#!/bin/bash
# rawlb-replay through rawlb: a sink on each real server counts what arrives per flow; the shipped
# capture (tools/replay/mixed.pcap: HTTP and DNS-like UDP from 40 clients), generated stamped UDP
# over 50 flows, generated TCP (SYN, data, FIN) over sources spread by --src-range, and echo
# probes. Every frame the senders sent reaches a real server (sink totals = sent, per flow too),
# each flow's frames all reach one real server, both servers get flows, the stamped UDP shows no
# sequence gap, and the echo probes come back with latency percentiles.
. "$(dirname "$0")/lib.sh"

REPLAY=$BIN/tools/replay/rawlb-replay
CAP=$E2E/../../tools/replay/mixed.pcap
[ -x "$REPLAY" ] || fail "no rawlb-replay in $BIN/tools/replay"
[ -f "$CAP" ] || fail "no capture $CAP"

topo_up 2
start_rawlb -e ext -i int -n $NAT --check none -t $VIP:80 -s rr -r 203.0.113.11:80 -r 203.0.113.12:80 \
            -u $VIP:53 -s rr -r 203.0.113.11:53 -r 203.0.113.12:53

# the sinks count what comes for the services, not the health of anything else
FILTER="ip and (tcp dst port 80 or udp dst port 53) and not src host $LB_INT"
SINKS=()
for i in 1 2; do
  ip netns exec "${P}rs$i" "$REPLAY" --sink eth0 --echo --json --idle 0 --duration 50 --filter "$FILTER" \
    > "$W/sink$i.json" 2> "$W/sink$i.err" &
  PIDS+=($!); SINKS+=($!)
done
for i in 1 2; do wait_for 5 grep -q "sink on" "$W/sink$i.err" || fail "sink on rs$i did not start: $(cat "$W/sink$i.err")"; done

send() { # NAME ARGS...: rawlb-replay from the client, JSON report in $W/NAME.json
  local name=$1 rc; shift
  say "rawlb-replay $*"
  timeout 30 ip netns exec "${P}c" "$REPLAY" -i eth0 --json "$@" > "$W/$name.json" 2> "$W/$name.err"; rc=$?
  [ $rc = 0 ] || fail "rawlb-replay $* exited with $rc: $(cat "$W/$name.err")"
  say "  $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("sent %d frames, %d flows, %.0f pps" % (d["sent"], len(d["flows"]), d["pps"]))' "$W/$name.json")"
}
send pcap -r "$CAP" --to $VIP --speed 4
send pcap2 -r "$CAP" --to $VIP --topspeed --src-range 198.51.100.128/25 --loop 2
send udp --gen udp --flows 50 --size 64 --to $VIP:53 --pps 20000 --duration 1
send tcp --gen tcp --flows 30 --to $VIP:80 --src-range 198.51.100.192/26 --loop 2 --pps 5000
send echo --echo --to $VIP:53 --pps 1000 --duration 1

sleep 0.5
for pid in "${SINKS[@]}"; do kill -TERM "$pid"; done
for pid in "${SINKS[@]}"; do
  wait_for 5 bash -c "! kill -0 $pid" || fail "sink $pid did not stop on SIGTERM"
  wait "$pid" || fail "sink $pid exited with status $?"; forget "$pid"
done

python3 - "$W" <<'PY' || fail "the sinks' counts do not match what was sent (see above)"
import json, sys
w = sys.argv[1]
sent = {}
total_sent = 0
for name in ("pcap", "pcap2", "udp", "tcp", "echo"):
    d = json.load(open(f"{w}/{name}.json"))
    if d["failed"] or d["link_drops"]:
        print(f"{name}: {d['failed']} frames failed to send, {d['link_drops']} dropped by the device"); sys.exit(1)
    total_sent += d["sent"]
    for f in d["flows"]:
        k = (f["proto"], f["src"], f["sport"], f["dport"])
        sent[k] = sent.get(k, 0) + f["packets"]
    if name == "echo":
        lat = d["latency"]
        print(f"echo: {lat['probes']} probes, {lat['echoes']} echoes, p50 {lat['p50_us']} us, p99 {lat['p99_us']} us, p999 {lat['p999_us']} us")
        if lat["probes"] < 500 or lat["echoes"] != lat["probes"] or not 0 < lat["p50_us"] <= lat["p99_us"] <= lat["p999_us"]:
            print("echo: want every probe echoed and 0 < p50 <= p99 <= p999"); sys.exit(1)
got, where, total_got, bad = {}, {}, 0, 0
for i in (1, 2):
    d = json.load(open(f"{w}/sink{i}.json"))
    total_got += d["packets"]
    print(f"rs{i}: {d['packets']} frames, {len(d['flows'])} flows, {d['stamped']} stamped, {d['lost']} lost")
    if d["lost"]:
        print(f"rs{i}: {d['lost']} stamped frames lost (sequence gaps)"); bad = 1
    for f in d["flows"]:
        k = (f["proto"], f["src"], f["sport"], f["dport"])
        got[k] = got.get(k, 0) + f["packets"]
        where.setdefault(k, set()).add(i)
print(f"sent {total_sent} frames in {len(sent)} flows; the sinks got {total_got} in {len(got)} flows")
if total_got != total_sent:
    print(f"sinks got {total_got}, senders sent {total_sent}"); bad = 1
for k, n in sent.items():
    if got.get(k, 0) != n:
        print(f"flow {k}: sent {n}, sinks got {got.get(k, 0)}"); bad = 1
        if bad > 10: break
for k in got:
    if k not in sent:
        print(f"flow {k}: arrived but was never sent"); bad = 1
split = [k for k, s in where.items() if len(s) > 1]
if split:
    print(f"{len(split)} flows reached both real servers, e.g. {split[0]}"); bad = 1
per_rs = [sum(1 for s in where.values() if i in s) for i in (1, 2)]
if min(per_rs) == 0:
    print(f"flows per real server {per_rs}: want both used"); bad = 1
sys.exit(bad)
PY
pass
