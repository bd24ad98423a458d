#!/bin/bash
# The web status page of --metrics: GET / (HTML), /statuspage.js and /statuspage.css come from the
# binary with a Content-Security-Policy allowing only the server itself and nosniff, and reference
# nothing outside it; /status.json is valid JSON (application/json) naming both real servers, rs2
# down (its nginx stopped) with the health check's reason, rs1 up with packets per second while
# traffic flows. Headless Chromium (Debian's, run in rs1's namespace, the monitoring side) loads
# the page while traffic flows, and the DOM its script built shows each real server's address,
# state and reason, a rate for rs1 and a chart each, and no HA section (no --ha-role); nothing in
# the page's console (no script error, nothing the CSP blocked). rawlb-announce watches rawlb (its
# ExaBGP replaced by a FIFO nobody writes to, its routes going to a file): /status.json's
# "announce" and the page's BGP badge and header say the VIP is announced by one announcer.
. "$(dirname "$0")/lib.sh"

command -v chromium >/dev/null || fail "missing tool: chromium (tools/deps.sh installs it)"

MX=$LB_INT:9100
ANNOUNCE=$BIN/rawlb-announce
[ -x "$ANNOUNCE" ] || fail "no rawlb-announce binary in $BIN"
TRAFFIC_S=60          # the client's requests last longer than anything below needs
CHROMIUM_BUDGET_MS=5000 # virtual time the page runs for: several refreshes of /status.json

topo_up 2
rs_nginx 1; rs_nginx 2

# get PATH [CURL ARGS...]: from rs1; fails the test if the fetch fails
get() { local path=$1; shift; timeout 10 ip netns exec "${P}rs1" curl -sS -m 5 "$@" "http://$MX$path"; }

start_rawlb -e ext -i int -n $NAT --metrics $MX -t $VIP:80 -s wlc -r 203.0.113.11:80:3 -r 203.0.113.12:80:1 \
  --check-interval 1 --check-timeout 2
wait_http http://$VIP/
rs_stop 2
wait_state 15 203.0.113.12:80 down >/dev/null || fail "rs2 not down in list --health after its nginx stopped"
say "rs2 down: $(health_line 203.0.113.12:80)"

# An announcer, as ExaBGP would run it: its stdin a FIFO this shell holds open (at EOF it would
# stop), what it tells ExaBGP into its log.
mkfifo "$W/exabgp.in" || fail "mkfifo"
exec 7<>"$W/exabgp.in"
bg_start announce lb bash -c "exec '$ANNOUNCE' --ctl '$SOCK' < '$W/exabgp.in'"
wait_for 5 bash -c "timeout 5 '$CTL' --ctl '$SOCK' status | grep -q '^vip $VIP: eligible up, announcer connected yes, reported announced$'" ||
  fail "the announcer did not report the VIP announced: $(ctl status; cat "$W/announce.log")"

# The page's files: 200, their content types, the security headers, nothing from elsewhere.
for f in /:text/html /statuspage.js:text/javascript /statuspage.css:text/css; do
  path=${f%%:*}; type=${f#*:}
  get "$path" -D "$W/headers.txt" -o "$W/file.txt" || fail "GET $path failed"
  tr -d '\r' < "$W/headers.txt" > "$W/h.txt"
  head -n 1 "$W/h.txt" | grep -q ' 200' || fail "GET $path: $(head -n 1 "$W/h.txt")"
  grep -qi "^content-type: $type; charset=utf-8$" "$W/h.txt" || fail "GET $path: content type not $type: $(cat "$W/h.txt")"
  grep -qi "^content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';" "$W/h.txt" ||
    fail "GET $path: no CSP limited to 'self': $(cat "$W/h.txt")"
  grep -qi '^x-content-type-options: nosniff$' "$W/h.txt" || fail "GET $path: no X-Content-Type-Options: nosniff"
  grep -qE '(src|href)="(https?:)?//|@import|url\(' "$W/file.txt" && fail "GET $path refers to something outside the box"
  grep -q '<script>\|onclick=\|onload=' "$W/file.txt" && fail "GET $path has inline script (the CSP forbids it)"
done
get / -o "$W/index.html" || fail "GET / failed"
grep -q '<meta name="viewport" content="width=device-width' "$W/index.html" || fail "GET /: no viewport for phones"
code=$(get /nothing -o /dev/null -w '%{http_code}') || fail "GET /nothing failed"
[ "$code" = 404 ] || fail "GET /nothing answered $code, want 404"
code=$(get /status.json -o /dev/null -w '%{http_code}' -X POST) || fail "POST /status.json failed"
[ "$code" = 405 ] || fail "POST /status.json answered $code, want 405 (the page is read-only)"

# Traffic through the VIP while the page is looked at: a request every 50 ms, bounded.
bg_start traffic c bash -c "end=\$((SECONDS + $TRAFFIC_S)); while [ \$SECONDS -lt \$end ]; do
  curl -s -o /dev/null -m 2 http://$VIP/; sleep 0.05; done"
sleep 2.5 # two snapshots with the traffic's rates

# /status.json: valid JSON with its content type; both servers, rs2 down with its reason, rs1 up
# with packets per second.
hdr=$(get /status.json -o "$W/status.json" -w '%{http_code} %{content_type}') || fail "GET /status.json failed"
[ "$hdr" = "200 application/json" ] || fail "GET /status.json: got '$hdr'"
"$PY" -m json.tool "$W/status.json" > /dev/null || fail "/status.json is not valid JSON: $(head -c 400 "$W/status.json")"
res=$("$PY" - "$W/status.json" "$VIP" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
vip = sys.argv[2]
svc = s['list']['services']
assert len(svc) == 1 and svc[0]['proto'] == 'TCP' and svc[0]['port'] == 80, svc
rs = {f"{r['address']}:{r['port']}": r for r in svc[0]['real_servers']}
assert set(rs) == {'203.0.113.11:80', '203.0.113.12:80'}, list(rs)
one, two = rs['203.0.113.11:80'], rs['203.0.113.12:80']
assert one['weight'] == 3 and two['weight'] == 1, (one['weight'], two['weight'])
assert one['health']['state'] == 'up' and one['health']['checked'], one['health']
assert two['health']['state'] == 'down' and 'refused' in two['health']['last'], two['health']
assert one['rate']['in_pps'] > 0 and one['rate']['out_pps'] > 0, one['rate']
assert one['active'] + one['inactive'] > 0, one
assert s['conn_table']['capacity'] == 1048576, s['conn_table']
assert 'no_service' in s['drops'] and [i['name'] for i in s['interfaces']] == ['ext', 'int'], s['interfaces']
assert s['ha'] is None, s['ha']
assert s['announce'] == {'announcers': 1, 'vips': [{'vip': vip, 'eligible': 'up', 'announcer': True,
                                                    'reported': 'announced'}]}, s['announce']
print(f"{vip} announced; rs1 {one['health']['state']} {one['rate']['in_pps']}/{one['rate']['out_pps']} pps, "
      f"rs2 {two['health']['state']} ({two['health']['last']}, {two['health']['since']} s)")
EOF
) || fail "/status.json: $res"
say "/status.json: $res"

# The page in a browser: Chromium runs its script for a few seconds of virtual time (each refresh
# fetches /status.json for real) and prints the DOM it built.
mkdir -p "$W/chromium"
timeout 60 ip netns exec "${P}rs1" env HOME="$W/chromium" chromium --headless --no-sandbox --disable-gpu \
  --disable-dev-shm-usage --no-first-run --user-data-dir="$W/chromium" --virtual-time-budget=$CHROMIUM_BUDGET_MS \
  --enable-logging=stderr --log-level=0 \
  --dump-dom "http://$MX/" > "$W/dom.html" 2> "$W/chromium.log" || fail "chromium failed: $(tail -n 5 "$W/chromium.log")"
# The page writes nothing to its console: a line there is a script error or something the CSP blocked.
grep -q ':CONSOLE' "$W/chromium.log" && fail "the page's console: $(grep ':CONSOLE' "$W/chromium.log" | head -n 3)"
res=$("$PY" - "$W/dom.html" "$VIP" <<'EOF'
import sys
from html.parser import HTMLParser

class Rows(HTMLParser):
    """Each <tr data-server=...>: its cells' text by class (state, last, pps, ...); each BGP badge
    (<span data-vip=...>): its text; the header's #updated and #summary."""
    def __init__(self):
        super().__init__()
        self.rows, self.row, self.cell, self.updated = {}, None, None, ''
        self.in_updated = False
        self.bgp, self.vip = {}, None
        self.summary, self.in_summary = '', False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'tr' and 'data-server' in a:
            self.row = self.rows.setdefault(a['data-server'], {})
        elif tag == 'td' and self.row is not None:
            self.cell = a.get('class', '').split()
            for c in self.cell:
                self.row.setdefault(c, '')
        self.in_updated = a.get('id') == 'updated'
        self.in_summary = a.get('id') == 'summary'
        if 'data-vip' in a:
            self.vip = a['data-vip']
            self.bgp[self.vip] = ''
    def handle_endtag(self, tag):
        if tag == 'td':
            self.cell = None
        elif tag == 'tr':
            self.row = None
        self.in_updated = self.in_summary = False
        self.vip = None
    def handle_data(self, data):
        if self.in_updated:
            self.updated += data
        if self.in_summary:
            self.summary += data
        if self.vip is not None:
            self.bgp[self.vip] += data
        if self.row is not None and self.cell:
            for c in self.cell:
                self.row[c] += data

p = Rows()
p.feed(open(sys.argv[1]).read())
assert p.updated.startswith('updated '), f'the page did not render an answer: #updated says {p.updated!r}'
assert set(p.rows) == {'203.0.113.11:80', '203.0.113.12:80'}, f'real servers in the DOM: {list(p.rows)}'
one, two = p.rows['203.0.113.11:80'], p.rows['203.0.113.12:80']
assert one['state'] == 'up', one
assert two['state'] == 'down' and 'refused' in two['last'], two
assert one['weight'] == '3' and two['weight'] == '1', (one['weight'], two['weight'])
pin, pout = (float(x.rstrip('kMG')) for x in one['pps'].split(' / '))
assert pin > 0 and pout > 0, f"rs1's packets/s: {one['pps']!r}"
assert two['since'] not in ('', '–'), two
assert p.bgp == {sys.argv[2]: 'BGP announced'}, f'BGP badges: {p.bgp}'
assert p.summary.endswith(' · 1 BGP announcer'), f'#summary says {p.summary!r}'
print(f"{sys.argv[2]} {p.bgp[sys.argv[2]]!r}, {p.summary.split(' · ')[-1]}; rs1 {one['state']} weight {one['weight']} pps {one['pps']}; rs2 {two['state']} since {two['since']}: {two['last']}")
EOF
) || { KEEP=1; fail "the page's DOM: $res (DOM kept in $W/dom.html)"; }
say "DOM: $res"
grep -q '<section id="ha" hidden=""' "$W/dom.html" || fail "the HA section is shown without --ha-role"
grep -q '<svg class="spark"' "$W/dom.html" || fail "no chart (svg.spark) in the DOM"
grep -q '<polyline' "$W/dom.html" || fail "the charts have no line after several refreshes"
bg_stop traffic
bg_stop announce
grep -qx "announce route $VIP/32 next-hop self" "$W/announce.log" ||
  fail "the announcer did not tell its ExaBGP to announce $VIP: $(cat "$W/announce.log")"
pass
