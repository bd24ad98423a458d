#!/bin/bash
# --metrics: Prometheus text at http://ADDR:PORT/metrics, fetched from a real server's namespace
# (the monitoring side of the director). Every line parses (name{labels} value, HELP and TYPE for
# each family), 20 HTTP connections show up in rawlb_rs_connections_total split as the clients
# saw them, rawlb_rs_active/inactive_connections equal rawlb-ctl list's ActiveConn/InActConn, the
# per-server counters equal rawlb-ctl list --stats's Conns InPkts OutPkts InBytes OutBytes,
# 404 elsewhere; a port in use is a start-up error naming --metrics and the address.
. "$(dirname "$0")/lib.sh"

MX=$LB_INT:9100

topo_up 2
rs_nginx 1; rs_nginx 2

# scrape [PATH]: the body from rs1; fails the test if the fetch fails
scrape() { timeout 10 ip netns exec "${P}rs1" curl -sS -m 5 "http://$MX${1:-/metrics}"; }

# Bad value: exit 2 naming the flag.
out=$(ip netns exec "${P}lb" "$RAWLB" -e ext -i int -n $NAT --metrics $LB_INT:0 -t $VIP:80 -r 203.0.113.11:80 2>&1)
rc=$?
[ $rc = 2 ] && grep -q -- "--metrics" <<<"$out" || fail "--metrics $LB_INT:0: want exit 2 naming --metrics, got $rc: $out"

# Port in use: a start-up error naming --metrics and the address.
bg_start holder lb "$PY" -c "import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('$LB_INT', 9100)); s.listen(); time.sleep(60)"
wait_for 5 listening lb tcp 9100 || fail "could not occupy $MX: $(cat "$W/holder.log")"
out=$(timeout 20 ip netns exec "${P}lb" "$RAWLB" -e ext -i int -n $NAT --metrics $MX -t $VIP:80 -r 203.0.113.11:80 \
      --ctl "$W/busy.sock" --pidfile "$W/busy.pid" 2>&1)
rc=$?
say "with $MX in use: exit $rc: $(grep -- --metrics <<<"$out")"
[ $rc = 1 ] || fail "--metrics on a port in use: want exit 1, got $rc: $out"
grep -qE -- "error: --metrics $MX: .*(in use|Address already)" <<<"$out" || fail "port in use: message does not name --metrics $MX: $out"
bg_stop holder
wait_for 5 closed lb tcp 9100 || fail "$MX still held"

start_rawlb -e ext -i int -n $NAT --metrics $MX -t $VIP:80 -s wlc -r 203.0.113.11:80:3 -r 203.0.113.12:80:1
grep -q "metrics on http://$MX/metrics" "$LOG" || fail "no 'metrics on http://$MX/metrics' in the log"
wait_http http://$VIP/

# The endpoint itself: 200 with the text format's content type, 404 elsewhere, 405 for POST.
hdr=$(timeout 10 ip netns exec "${P}rs1" curl -sS -m 5 -o /dev/null -w '%{http_code} %{content_type}' "http://$MX/metrics") ||
  fail "GET http://$MX/metrics from rs1 failed"
[ "$hdr" = "200 text/plain; version=0.0.4; charset=utf-8" ] || fail "GET /metrics: got '$hdr'"
code=$(timeout 10 ip netns exec "${P}rs1" curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://$MX/index.html") ||
  fail "GET /index.html failed"
[ "$code" = 404 ] || fail "GET /index.html answered $code, want 404 (the status page is at /: test_webui)"
code=$(timeout 10 ip netns exec "${P}rs1" curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://$MX/metricsx") || fail "GET /metricsx failed"
[ "$code" = 404 ] || fail "GET /metricsx answered $code, want 404"
code=$(timeout 10 ip netns exec "${P}rs1" curl -sS -m 5 -o /dev/null -w '%{http_code}' -X POST "http://$MX/metrics") || fail "POST failed"
[ "$code" = 405 ] || fail "POST /metrics answered $code, want 405"

# check.py MODE FILES...: parse the text format strictly; "sum FAMILY [LABEL=VALUE]" prints a sum;
# "list METRICS LIST" compares rawlb_rs_*_connections with rawlb-ctl list's columns
cat > "$W/check.py" <<'EOF'
import re, sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')

def parse(path):
    help_, type_, samples, order = {}, {}, [], []
    for n, line in enumerate(open(path).read().split('\n'), 1):
        if line == '':
            continue
        if line.startswith('# HELP '):
            name, _, text = line[7:].partition(' ')
            assert name not in help_, f'line {n}: second HELP for {name}'
            assert text, f'line {n}: HELP without text'
            help_[name] = text
            order.append(name)
            continue
        if line.startswith('# TYPE '):
            name, _, kind = line[7:].partition(' ')
            assert kind in ('counter', 'gauge'), f'line {n}: type {kind!r}'
            assert name in help_ and name not in type_, f'line {n}: TYPE for {name} not right after its HELP'
            assert (kind == 'counter') == name.endswith('_total'), f'line {n}: {name} is a {kind}'
            type_[name] = kind
            continue
        assert not line.startswith('#'), f'line {n}: stray comment {line!r}'
        m = SAMPLE.match(line)
        assert m, f'line {n}: not name{{labels}} value: {line!r}'
        name, labels, value = m.group(1), m.group(3), m.group(4)
        assert name == order[-1], f'line {n}: {name} outside its own family block ({order[-1]})'
        assert name in type_, f'line {n}: {name} has no TYPE'
        lab, pos = {}, 0
        while labels and pos < len(labels):
            lm = LABEL.match(labels, pos)
            assert lm, f'line {n}: bad labels {labels!r}'
            lab[lm.group(1)] = lm.group(2)
            pos = lm.end()
        v = float(value)
        assert v >= 0 and (v == int(v) or name.endswith('_seconds')), f'line {n}: value {value}'
        samples.append((name, lab, v if name.endswith('_seconds') else int(v)))
    for name in order:
        assert name in type_, f'{name}: HELP without TYPE'
    return samples, type_

def get(samples, name, **want):
    return [v for (n, lab, v) in samples if n == name and all(lab.get(k) == w for k, w in want.items())]

mode = sys.argv[1]
samples, types = parse(sys.argv[2])
if mode == 'parse':
    need = ['rawlb_rs_connections_total', 'rawlb_rs_in_packets_total', 'rawlb_rs_out_packets_total',
            'rawlb_rs_in_bytes_total', 'rawlb_rs_out_bytes_total', 'rawlb_rs_active_connections',
            'rawlb_rs_inactive_connections', 'rawlb_rs_weight', 'rawlb_rs_up', 'rawlb_service_connections_total',
            'rawlb_frames_total', 'rawlb_drops_total', 'rawlb_conn_table_entries',
            'rawlb_conn_table_capacity']
    missing = [f for f in need if f not in types]
    assert not missing, f'families missing: {missing}'
    # without --ha-role: no HA family at all (rawlb_ha_info absent = HA off, always forwarding)
    ha = [f for f in types if f.startswith('rawlb_ha_')]
    assert not ha, f'HA families without --ha-role: {ha}'
    print(f'{len(samples)} samples in {len(types)} families')
elif mode == 'sum':
    want = dict(a.split('=', 1) for a in sys.argv[4:])
    print(sum(get(samples, sys.argv[3], **want)))
elif mode == 'list':
    # rawlb-ctl list: "  -> ADDR:PORT Masq Weight ActiveConn InActConn" under "TCP  VIP:PORT sched"
    bad, svc = [], None
    for line in open(sys.argv[3]):
        f = line.split()
        if f and f[0] in ('TCP', 'UDP'):
            svc = (f[0].lower(), f[1])
        elif f and f[0] == '->' and svc and f[1] != 'RemoteAddress:Port':
            lab = dict(proto=svc[0], vip=svc[1], rs=f[1])
            for name, col in (('rawlb_rs_weight', 3), ('rawlb_rs_active_connections', 4),
                              ('rawlb_rs_inactive_connections', 5)):
                got = get(samples, name, **lab)
                if got != [int(f[col])]:
                    bad.append(f'{name}{lab}: metrics {got}, list {f[col]}')
    print('\n'.join(bad) if bad else 'match')
    sys.exit(1 if bad else 0)
elif mode == 'stats':
    # rawlb-ctl list --stats: "  -> ADDR:PORT Conns InPkts OutPkts InBytes OutBytes" under "TCP  VIP:PORT"
    bad, svc, seen = [], None, 0
    for line in open(sys.argv[3]):
        f = line.split()
        if f and f[0] in ('TCP', 'UDP'):
            svc = (f[0].lower(), f[1])
        elif f and f[0] == '->' and svc and f[1] != 'RemoteAddress:Port':
            lab = dict(proto=svc[0], vip=svc[1], rs=f[1])
            seen += 1
            for name, col in (('rawlb_rs_connections_total', 2), ('rawlb_rs_in_packets_total', 3),
                              ('rawlb_rs_out_packets_total', 4), ('rawlb_rs_in_bytes_total', 5),
                              ('rawlb_rs_out_bytes_total', 6)):
                got = get(samples, name, **lab)
                if got != [int(f[col])]:
                    bad.append(f'{name}{lab}: metrics {got}, list --stats {f[col]}')
    if not seen:
        bad.append('no real server line in list --stats')
    print('\n'.join(bad) if bad else 'match')
    sys.exit(1 if bad else 0)
EOF

sleep 1.5 # a snapshot taken after wait_http's connection: the baseline
scrape > "$W/m0.txt" || fail "scrape failed"
res=$("$PY" "$W/check.py" parse "$W/m0.txt" 2>&1) || { cat "$W/m0.txt" >&2; fail "/metrics does not parse: $res"; }
say "/metrics parses: $res"
base=$("$PY" "$W/check.py" sum "$W/m0.txt" rawlb_rs_connections_total) || fail "sum"
base1=$("$PY" "$W/check.py" sum "$W/m0.txt" rawlb_rs_connections_total rs=203.0.113.11:80) || fail "sum"

count_http 20 http://$VIP/
say "20 connections: rs1=$N1 rs2=$N2"
sleep 1.5 # the next snapshot (one per second) has them

# Per real server: ActiveConn/InActConn as rawlb-ctl list shows them right after the snapshot. The
# snapshot may be up to a second older than list, so a moved value gets a few more tries.
ok=0
for ((try = 0; try < 5; try++)); do
  scrape > "$W/m1.txt" || fail "scrape failed"
  ctl list > "$W/list.txt" || fail "rawlb-ctl list failed"
  res=$("$PY" "$W/check.py" list "$W/m1.txt" "$W/list.txt" 2>&1) && { ok=1; break; }
  say "try $try: $res"
  sleep 1.1
done
cat "$W/list.txt"
grep -E '^rawlb_rs_(connections_total|active_connections|inactive_connections|up)' "$W/m1.txt"
[ $ok = 1 ] || fail "rawlb_rs_*_connections do not match rawlb-ctl list: $res"
res=$("$PY" "$W/check.py" parse "$W/m1.txt" 2>&1) || fail "/metrics does not parse after traffic: $res"

# The counters: every real server's Conns InPkts OutPkts InBytes OutBytes as rawlb-ctl list --stats
# shows them. No traffic flows now, so after one more snapshot both must agree exactly.
ok=0
for ((try = 0; try < 5; try++)); do
  sleep 1.1
  scrape > "$W/m2.txt" || fail "scrape failed"
  ctl list --stats > "$W/stats.txt" || fail "rawlb-ctl list --stats failed"
  res=$("$PY" "$W/check.py" stats "$W/m2.txt" "$W/stats.txt" 2>&1) && { ok=1; break; }
  say "try $try: $res"
done
cat "$W/stats.txt"
[ $ok = 1 ] || fail "/metrics counters do not match rawlb-ctl list --stats: $res"

total=$("$PY" "$W/check.py" sum "$W/m1.txt" rawlb_rs_connections_total) || fail "sum"
rs1=$("$PY" "$W/check.py" sum "$W/m1.txt" rawlb_rs_connections_total rs=203.0.113.11:80) || fail "sum"
svc=$("$PY" "$W/check.py" sum "$W/m1.txt" rawlb_service_connections_total proto=tcp vip=$VIP:80) || fail "sum"
say "rawlb_rs_connections_total: $base -> $total (rs1 $base1 -> $rs1), service $svc"
[ $((total - base)) = 20 ] || fail "rawlb_rs_connections_total grew by $((total - base)), want 20"
[ $((rs1 - base1)) = "$N1" ] || fail "rs1's rawlb_rs_connections_total grew by $((rs1 - base1)), but rs1 answered $N1"
[ "$svc" = "$total" ] || fail "rawlb_service_connections_total $svc is not the sum over its servers $total"

inp=$("$PY" "$W/check.py" sum "$W/m1.txt" rawlb_rs_in_packets_total) || fail "sum"
outp=$("$PY" "$W/check.py" sum "$W/m1.txt" rawlb_rs_out_packets_total) || fail "sum"
inb=$("$PY" "$W/check.py" sum "$W/m1.txt" rawlb_rs_in_bytes_total) || fail "sum"
rx=$("$PY" "$W/check.py" sum "$W/m1.txt" rawlb_frames_total interface=ext direction=rx) || fail "sum"
up=$("$PY" "$W/check.py" sum "$W/m1.txt" rawlb_rs_up) || fail "sum"
cap=$("$PY" "$W/check.py" sum "$W/m1.txt" rawlb_conn_table_capacity) || fail "sum"
say "in packets $inp, out packets $outp, in bytes $inb, ext rx frames $rx, servers up $up, capacity $cap"
# each connection: at least SYN, ACK, request, FIN both ways; every client packet was an ext frame
[ "$inp" -ge 80 ] && [ "$outp" -ge 80 ] || fail "packet counters too small for 21 connections: in $inp out $outp"
[ "$inb" -ge $((inp * 40)) ] || fail "in bytes $inb below 40 per packet ($inp packets)"
[ "$rx" -ge "$inp" ] || fail "ext rx frames $rx below the packets forwarded from clients $inp"
[ "$up" = 2 ] || fail "rawlb_rs_up sums to $up, want 2 (both servers healthy)"
[ "$cap" = 1048576 ] || fail "rawlb_conn_table_capacity $cap, want the default 1048576"

# A server whose nginx stops goes down in its health check: rawlb_rs_up follows within a tick.
rs_stop 2
wait_state 15 203.0.113.12:80 down >/dev/null || fail "rs2 not down in list --health"
sleep 1.5
scrape > "$W/m2.txt" || fail "scrape failed"
up2=$("$PY" "$W/check.py" sum "$W/m2.txt" rawlb_rs_up rs=203.0.113.12:80) || fail "sum"
sup=$("$PY" "$W/check.py" sum "$W/m2.txt" rawlb_service_servers_up) || fail "sum"
[ "$up2" = 0 ] && [ "$sup" = 1 ] || fail "rs2 down: rawlb_rs_up $up2 (want 0), rawlb_service_servers_up $sup (want 1)"
say "rs2 down: rawlb_rs_up 0, rawlb_service_servers_up 1"
pass
