#!/usr/bin/env python3
"""The client side of tools/soak.sh: a steady, modest mixed load through a VIP until SIGTERM.

  soakload.py VIP HTTP_PORT UDP_PORT OUTDIR [NAME=VALUE...]

Threads, each paced to its own rate (a soak looks for leaks and stuck counters, not for the
top speed, so the rates stay low enough to share two cores with everything else):
  close       HTTP GET / with "Connection: close": a new TCP connection per request
  keepalive   HTTP GET / over KA_CONNS persistent connections (reconnecting after an error)
  udp         one query per datagram, a new source port (a new flow) every UDP_PER_FLOW queries
  download    DOWNLOADS threads fetching DL_PATH over and over, read at DL_RATE bytes/s (so a
              transfer spans many seconds and the HA switches and edits), checked against DL_SHA256
Settings (NAME=VALUE): CLOSE_RATE KA_RATE (requests/s), KA_CONNS, UDP_RATE (queries/s),
UDP_PER_FLOW, DOWNLOADS, DL_PATH, DL_RATE, DL_SHA256, TIMEOUT (s per HTTP request), UDP_TIMEOUT
(s per query: a lost one is a failure, and the next query goes out).

Writes OUTDIR/failures.log, one line per failure, "START_MS END_MS KIND REASON" (wall clock, so
soak.sh can match it to its own event windows), and at SIGTERM OUTDIR/summary.txt, one line per
kind: "KIND OK FAIL". A request cut short by the stop is neither.
"""
import hashlib
import http.client
import os
import signal
import socket
import sys
import threading
import time

DEFAULTS = {
    "CLOSE_RATE": "10", "KA_RATE": "10", "KA_CONNS": "2", "UDP_RATE": "10", "UDP_PER_FLOW": "5",
    "DOWNLOADS": "2", "DL_PATH": "/big.bin", "DL_RATE": "400000", "DL_SHA256": "", "TIMEOUT": "10",
    "UDP_TIMEOUT": "1",
}
CHUNK = 16384          # bytes read at a time from a download, between two pacing sleeps
BODY_PREFIX = b"rs"    # every real server's index page starts with its name (rs1, rs2, ...)
STOP_WAIT = 2          # s the threads get to finish at SIGTERM; one still waiting is not counted

stop = threading.Event()
lock = threading.Lock()
counts = {}
failures = None


def now_ms():
    return int(time.time() * 1000)


def record(kind, ok, start_ms=0, reason=""):
    with lock:
        c = counts.setdefault(kind, [0, 0])
        if ok:
            c[0] += 1
        else:
            c[1] += 1
            failures.write("%d %d %s %s\n" % (start_ms, now_ms(), kind, reason.replace("\n", " ")))
            failures.flush()


def paced(rate):
    """Yields once per 1/rate s until the stop; late turns are not made up in a burst."""
    period, due = 1.0 / rate, time.monotonic()
    while not stop.is_set():
        yield
        due = max(due + period, time.monotonic())
        stop.wait(max(0.0, due - time.monotonic()))


def get_index(conn):
    conn.request("GET", "/")
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200 or not body.startswith(BODY_PREFIX):
        raise ValueError("status %d body %r" % (resp.status, body[:20]))


def close_load(vip, port, rate, timeout):
    for _ in paced(rate):
        t0 = now_ms()
        conn = http.client.HTTPConnection(vip, port, timeout=timeout)
        try:
            conn.putrequest("GET", "/")
            conn.putheader("Connection", "close")
            conn.endheaders()
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200 or not body.startswith(BODY_PREFIX):
                raise ValueError("status %d body %r" % (resp.status, body[:20]))
            record("close", True)
        except Exception as e:  # every failure is counted and logged, none stops the load
            if not stop.is_set():
                record("close", False, t0, repr(e))
        finally:
            conn.close()


def keepalive_load(vip, port, rate, timeout):
    conn = http.client.HTTPConnection(vip, port, timeout=timeout)
    for _ in paced(rate):
        t0 = now_ms()
        try:
            get_index(conn)
            record("keepalive", True)
        except Exception as e:
            if not stop.is_set():
                record("keepalive", False, t0, repr(e))
            conn.close()  # the next request opens a new connection
    conn.close()


def udp_load(vip, port, rate, per_flow, timeout):
    s, n = None, 0
    for _ in paced(rate):
        if n % per_flow == 0:
            if s:
                s.close()
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect((vip, port))
            s.settimeout(timeout)
        t0 = now_ms()
        try:
            s.send(b"soak %d" % n)
            if not s.recv(2048).startswith(BODY_PREFIX):
                raise ValueError("unexpected reply")
            record("udp", True)
        except Exception as e:
            if not stop.is_set():
                record("udp", False, t0, repr(e))
            s.close()
            s, n = None, -1  # a fresh flow at the next turn (a refused socket stays refused)
        n += 1
    if s:
        s.close()


def download_load(vip, port, path, rate, sha256, timeout):
    while not stop.is_set():
        t0 = now_ms()
        conn = http.client.HTTPConnection(vip, port, timeout=timeout)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            if resp.status != 200:
                raise ValueError("status %d" % resp.status)
            want = int(resp.getheader("Content-Length", "-1"))
            digest, got, start = hashlib.sha256(), 0, time.monotonic()
            while not stop.is_set():
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                got += len(chunk)
                ahead = got / rate - (time.monotonic() - start)
                if ahead > 0:
                    stop.wait(ahead)
            if stop.is_set():
                break
            if got != want or (sha256 and digest.hexdigest() != sha256):
                raise ValueError("%d of %d bytes, sha256 %s" % (got, want, "ok" if digest.hexdigest() == sha256 else "differs"))
            record("download", True)
        except Exception as e:
            if not stop.is_set():
                record("download", False, t0, repr(e))
                stop.wait(1)  # not a tight loop while the VIP has no master
        finally:
            conn.close()


def main(argv):
    global failures
    if len(argv) < 5:
        sys.exit(__doc__)
    vip, http_port, udp_port, out = argv[1], int(argv[2]), int(argv[3]), argv[4]
    cfg = dict(DEFAULTS)
    for a in argv[5:]:
        k, _, v = a.partition("=")
        if k not in cfg:
            sys.exit("unknown setting %s (%s)" % (k, " ".join(sorted(cfg))))
        cfg[k] = v
    timeout = float(cfg["TIMEOUT"])
    failures = open(os.path.join(out, "failures.log"), "a")
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=close_load, args=(vip, http_port, float(cfg["CLOSE_RATE"]), timeout))]
    ka_conns = int(cfg["KA_CONNS"])
    for _ in range(ka_conns):
        threads.append(threading.Thread(target=keepalive_load,
                                        args=(vip, http_port, float(cfg["KA_RATE"]) / ka_conns, timeout)))
    threads.append(threading.Thread(target=udp_load, args=(vip, udp_port, float(cfg["UDP_RATE"]),
                                                           int(cfg["UDP_PER_FLOW"]), float(cfg["UDP_TIMEOUT"]))))
    for _ in range(int(cfg["DOWNLOADS"])):
        threads.append(threading.Thread(target=download_load, args=(vip, http_port, cfg["DL_PATH"],
                                                                    float(cfg["DL_RATE"]), cfg["DL_SHA256"], timeout)))
    for t in threads:
        t.daemon = True
        t.start()
    while not stop.is_set():
        stop.wait(1)
    deadline = time.monotonic() + STOP_WAIT
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    with lock, open(os.path.join(out, "summary.txt"), "w") as f:
        for kind in ("close", "keepalive", "udp", "download"):
            ok, fail = counts.get(kind, [0, 0])
            f.write("%s %d %d\n" % (kind, ok, fail))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
