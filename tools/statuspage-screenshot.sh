#!/bin/bash
# Makes docs/status.png, README's picture of the web status page: the e2e topology (test/e2e/lib.sh:
# a client, rawlb, two nginx real servers at weights 3:1), HTTP requests at a varying rate, and
# headless Chromium looking at http://ADDR:PORT/ in real time; halfway rs2's nginx stops, so the
# page shows it down with its reason and the charts show the traffic move to rs1.
#   usage (root, from the source tree): tools/statuspage-screenshot.sh BUILD_DIR [OUT.png] [WIDTHxHEIGHT]
# (the viewport; the picture is the whole page, taller when it needs to be; 390x844 shows a phone's).
# Chromium is driven over its DevTools pipe (--remote-debugging-pipe) rather than --screenshot,
# whose virtual time runs the page's one-second refreshes back to back: the charts would show
# about a second of traffic.
. "$(cd "$(dirname "$0")" && pwd)/../test/e2e/lib.sh"

OUT=$(realpath -m "${2:-docs/status.png}")
SIZE=${3:-1100x440}
MX=$LB_INT:9100
WATCH_S=${WATCH_S:-40} # the page's history in the picture
command -v chromium >/dev/null || fail "missing tool: chromium (tools/deps.sh installs it)"

topo_up 2
rs_nginx 1; rs_nginx 2
start_rawlb -e ext -i int -n $NAT --metrics $MX -t $VIP:80 -s wlc -r 203.0.113.11:80:3 -r 203.0.113.12:80:1 \
  --check-interval 1 --check-timeout 2
wait_http http://$VIP/
# 5 to 50 requests a second, changing every few seconds; bounded by the watch time
bg_start traffic c bash -c "end=\$((SECONDS + $WATCH_S + 10)); while [ \$SECONDS -lt \$end ]; do
  pause=0.0\$((2 + RANDOM % 18)); for ((i = 0; i < 40; i++)); do curl -s -o /dev/null -m 2 http://$VIP/; sleep \$pause; done; done"

mkdir -p "$W/chromium"
ip netns exec "${P}rs1" env HOME="$W/chromium" timeout $((WATCH_S + 30)) "$PY" - "http://$MX/" "$OUT" "$SIZE" \
  "$WATCH_S" "$W/chromium" > "$W/shot.log" 2>&1 <<'EOF' &
# DevTools protocol over the pipe: JSON messages ended by NUL, Chromium reads fd 3 and writes fd 4.
import base64, json, os, subprocess, sys, time
url, out, size, watch_s, profile = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
to_chrome, from_us = os.pipe()
to_us, from_chrome = os.pipe()
def fds():  # copies first: the pipes may themselves be fds 3 and 4, and a dup2 onto itself stays close-on-exec
    r, w = os.dup(to_chrome), os.dup(from_chrome)
    os.dup2(r, 3)
    os.dup2(w, 4)
chrome = subprocess.Popen(['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                           '--no-first-run', '--hide-scrollbars', f'--user-data-dir={profile}',
                           '--remote-debugging-pipe'],
                          preexec_fn=fds, close_fds=False, stderr=subprocess.DEVNULL)
os.close(to_chrome); os.close(from_chrome)
pending, next_id = b'', 0
def call(method, session=None, **params):
    global pending, next_id
    next_id += 1
    msg = {'id': next_id, 'method': method, 'params': params}
    if session:
        msg['sessionId'] = session
    os.write(from_us, json.dumps(msg).encode() + b'\0')
    while True:  # events come in between: skip them until our answer
        while b'\0' not in pending:
            chunk = os.read(to_us, 1 << 16)
            assert chunk, 'chromium closed the pipe'
            pending += chunk
        raw, pending = pending.split(b'\0', 1)
        answer = json.loads(raw)
        if answer.get('id') == next_id:
            assert 'error' not in answer, answer['error']
            return answer['result']
target = call('Target.createTarget', url=url)['targetId']
session = call('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
width, height = (int(n) for n in size.split('x'))
# The page's own viewport (--window-size counts the window's frame too); a phone's width makes the
# phone layout.
call('Emulation.setDeviceMetricsOverride', session, width=width, height=height, deviceScaleFactor=1, mobile=False)
time.sleep(watch_s)
# All of the page, however long: its content's height, at least the viewport's.
content = call('Page.getLayoutMetrics', session)['cssContentSize']
clip = {'x': 0, 'y': 0, 'width': width, 'height': max(height, content['height']), 'scale': 1}
shot = call('Page.captureScreenshot', session, format='png', clip=clip, captureBeyondViewport=True)['data']
open(out, 'wb').write(base64.b64decode(shot))
call('Browser.close')
chrome.wait(timeout=10)
print(f'{out}: {width}x{clip["height"]:.0f}, {watch_s:.0f} s of history')
EOF
SHOT=$!; PIDS+=($SHOT)
sleep $((WATCH_S / 2))
rs_stop 2
say "rs2's nginx stopped: $(health_line 203.0.113.12:80)"
wait $SHOT || fail "screenshot: $(tail -n 5 "$W/shot.log")"
forget $SHOT
bg_stop traffic
say "$(cat "$W/shot.log")"
pass
