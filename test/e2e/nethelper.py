#!/usr/bin/env python3
"""Small servers and clients for rawlb's end-to-end tests (see lib.sh).

  httpd NAME PORT               HTTP/1.1: GET -> "NAME CLIENTIP:PORT", POST -> "SHA256 LENGTH" of the body
  udpd NAME PORT                UDP responder: each datagram -> "NAME CLIENTIP:PORT LENGTH"
  udpq HOST PORT [FLOWS]        FLOWS connected UDP sockets (one source port each), one query each;
                                prints one line per flow: the reply, ECONNREFUSED or TIMEOUT
  udpecho NAME PORT             UDP echo: each datagram -> "NAME " + the datagram itself
  udpbig HOST PORT SIZE FLOWS   FLOWS connected sockets each send SIZE random bytes (IP fragments them)
                                and expect them echoed whole; one line per flow: "NAME OK", MISMATCH, TIMEOUT
  udpdf HOST PORT SIZE          one datagram of SIZE bytes with DF set on a connected socket; prints
                                "mtu=N emsgsize=0|1 reply=0|1" once the path MTU dropped or after ~4 s
  agent PORT FILE               HAProxy agent-check agent: each connection gets FILE's current content
                                (one line such as "75%", "drain", "up"), then the agent closes it
  udppong NAME PORT             UDP health responder: "ping" -> "pong", anything else as udpd
  holdd NAME PORT               TCP line server that keeps connections open: each line -> "NAME line"
  hold HOST PORT SECONDS [WAIT]  one TCP connection for SECONDS: a line every 0.2 s, prints
                                "MS REPLY" per answer (MS = wall clock in ms), then "DONE N"; ends early
                                with "RESET MS", "TIMEOUT MS" (no answer within WAIT s, default 2),
                                "EOF MS" or "ERROR MS errno" (status 1)
  slowget HOST PORT PATH RATE OUT   HTTP/1.0 GET of PATH read at no more than RATE bytes/s with a
                                small receive buffer (the window stays small, the data is on the
                                wire; curl's --limit-rate overshoots on a loaded box), the body into
                                OUT; prints "port N" (its local port) once connected, then the
                                status code and "stall MS" (the longest wait for data), and fails
                                (status 1, "ERROR ...") on a reset, a stall of 10 s or a body
                                shorter than Content-Length
  manyget HOST PORT COUNT PARALLEL   COUNT HTTP/1.0 GETs of /, each on a new connection (a new
                                source port), PARALLEL at a time; prints "BODY N" per distinct
                                first word of the answers and "failed N"
  getfrom HOST PORT LPORT       HTTP/1.0 GET / from local port LPORT; prints the body. Closes with a
                                reset (SO_LINGER 0), so no TIME_WAIT keeps LPORT from the next call
  notifyd PATH                  a service manager's notification socket ($NOTIFY_SOCKET, sd_notify(3)):
                                binds a datagram socket at PATH that anyone may send to, prints each
                                message as "MS FIELD FIELD..." (its lines joined by spaces)
  udphold HOST PORT SECONDS     one connected UDP socket (one flow) for SECONDS: a query every 0.2 s,
                                prints "MS REPLY", "MS TIMEOUT" or "MS ECONNREFUSED" for each
  udpreplay PCAP HOST PORT      sends the UDP payload of every packet in PCAP (Ethernet, IPv4) to
                                HOST:PORT; prints how many
  vlansyn IFACE DSTMAC VLAN SRC DST PORT COUNT   COUNT TCP SYNs from SRC to DST:PORT sent on IFACE as
                                Ethernet frames to DSTMAC with an 802.1Q tag VLAN (a raw socket: no
                                VLAN device needed), one source port each; prints how many
  synpcap FILE SRC DST PORT COUNT [GROUP]   writes a pcap of COUNT TCP SYNs from SRC (source ports
                                from 1024) to DST:PORT, one flow each, for rawlb-replay to send as a
                                flood; with GROUP, every GROUP SYNs are followed by a blind ACK each
                                (an acknowledgment number the server never sent)
  haforge HOST PORT KEYFILE STATE   one rawlb heartbeat (ha/hamsg.h) saying STATE (master, backup,
                                fault, leaving), sealed with the key in KEYFILE, epoch and sequence
                                far ahead of any real one
"""
import errno
import hashlib
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14  # <linux/in.h>; Python does not export them


def httpd(name, port):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, and answers Expect: 100-continue

        def reply(self, text):
            body = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.reply("%s %s:%d\n" % (name, self.client_address[0], self.client_address[1]))

        def do_POST(self):
            left = int(self.headers.get("Content-Length", "0"))
            digest, got = hashlib.sha256(), 0
            while left > 0:
                chunk = self.rfile.read(min(left, 1 << 16))
                if not chunk:
                    break
                digest.update(chunk)
                got += len(chunk)
                left -= len(chunk)
            self.reply("%s %d\n" % (digest.hexdigest(), got))

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()


def udpd(name, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(("%s %s:%d %d\n" % (name, peer[0], peer[1], len(data))).encode(), peer)


def udpecho(name, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(name.encode() + b" " + data, peer)


def udpbig(host, port, size, flows):
    bad = 0
    for _ in range(flows):
        payload = os.urandom(size)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((host, port))
        s.settimeout(1.0)
        result = "TIMEOUT"
        for _ in range(3):
            try:
                s.send(payload)
                name, _, echoed = s.recv(65535).partition(b" ")
                result = name.decode() + " OK" if echoed == payload else "MISMATCH"
                break
            except socket.timeout:
                continue
        s.close()
        bad += not result.endswith(" OK")
        print(result, flush=True)
    return 1 if bad else 0


def udpq(host, port, flows=1):
    bad = 0
    for i in range(flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((host, port))  # only datagrams from host:port are accepted from now on
        s.settimeout(1.0)
        result = "TIMEOUT"
        for _ in range(3):
            try:
                s.send(b"query %d" % i)
                result = s.recv(2048).decode().strip()
                break
            except socket.timeout:
                continue
            except ConnectionRefusedError:
                result = "ECONNREFUSED"
                break
        s.close()
        bad += not result or result in ("TIMEOUT", "ECONNREFUSED")
        print(result, flush=True)
    return 1 if bad else 0


def udpdf(host, port, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    s.connect((host, port))
    s.settimeout(0.5)
    emsgsize = reply = 0
    mtu = s.getsockopt(socket.IPPROTO_IP, IP_MTU)
    for _ in range(8):
        try:
            s.send(b"x" * size)
        except OSError as e:
            if e.errno != errno.EMSGSIZE:
                raise
            emsgsize = 1  # the kernel already knows the smaller path MTU
        try:
            s.recv(2048)
            reply = 1  # the datagram got through: nobody enforced the smaller MTU
        except socket.timeout:
            pass
        except OSError as e:
            if e.errno != errno.EMSGSIZE:
                raise
            emsgsize = 1  # the ICMP error, reported on the connected socket
        mtu = s.getsockopt(socket.IPPROTO_IP, IP_MTU)
        if emsgsize or reply:
            break
    print("mtu=%d emsgsize=%d reply=%d" % (mtu, emsgsize, reply), flush=True)
    return 0


def serve_tcp(port, handle):
    """Listens on port and runs handle(conn) for each connection in a thread of its own."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(64)
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def agent(port, path):
    def answer(c):
        try:
            with open(path, "rb") as f:
                c.sendall(f.read())
            c.shutdown(socket.SHUT_WR)  # FIN after the line; whatever the prober sent is read below
            c.settimeout(1.0)           # so that close() never turns into an RST
            for _ in range(16):
                if not c.recv(4096):
                    break
        except OSError:
            pass
        finally:
            c.close()

    serve_tcp(port, answer)


def udppong(name, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        data, peer = s.recvfrom(65535)
        if data.strip() == b"ping":
            s.sendto(b"pong\n", peer)
        else:
            s.sendto(("%s %s:%d %d\n" % (name, peer[0], peer[1], len(data))).encode(), peer)


def holdd(name, port):
    def serve(c):
        try:
            for line in c.makefile("rb"):
                c.sendall(name.encode() + b" " + line)
        except OSError:
            pass
        finally:
            c.close()

    serve_tcp(port, serve)


def hold(host, port, seconds, wait=2.0):
    ms = lambda: int(time.time() * 1000)
    end = time.monotonic() + seconds
    try:
        s = socket.create_connection((host, port), timeout=3.0)
    except OSError as e:
        print("ERROR %d connect %s" % (ms(), e), flush=True)
        return 1
    s.settimeout(wait)
    n = 0
    while time.monotonic() < end:
        try:
            s.sendall(b"seq %d\n" % n)
            data = s.recv(4096)
        except socket.timeout:
            print("TIMEOUT %d" % ms(), flush=True)
            return 1
        except ConnectionResetError:
            print("RESET %d" % ms(), flush=True)
            return 1
        except OSError as e:
            print("ERROR %d %s" % (ms(), errno.errorcode.get(e.errno, e.errno)), flush=True)
            return 1
        if not data:
            print("EOF %d" % ms(), flush=True)
            return 1
        print("%d %s" % (ms(), data.decode(errors="replace").strip()), flush=True)
        n += 1
        time.sleep(0.2)
    s.close()
    print("DONE %d" % n, flush=True)
    return 0


SLOWGET_RCVBUF = 65536  # bytes: small, so the sender is paced by the window
SLOWGET_CHUNK = 16384
SLOWGET_STALL = 10.0  # seconds without a byte before the download is given up


def slowget(host, port, path, rate, out):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOWGET_RCVBUF)
    s.settimeout(SLOWGET_STALL)
    data = bytearray()
    start = time.monotonic()
    stall, last = 0.0, start
    try:
        s.connect((host, port))
        print("port %d" % s.getsockname()[1], flush=True)
        s.sendall(b"GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path.encode(), host.encode()))
        while True:
            chunk = s.recv(SLOWGET_CHUNK)
            now = time.monotonic()
            stall, last = max(stall, now - last), now
            if not chunk:
                break
            data += chunk
            ahead = start + len(data) / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
    except OSError as e:
        print("ERROR %s after %d bytes" % (errno.errorcode.get(e.errno, e), len(data)), flush=True)
        return 1
    finally:
        s.close()
    head, sep, body = bytes(data).partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    fields = dict(l.split(":", 1) for l in lines[1:] if ":" in l)
    length = fields.get("Content-Length", fields.get("content-length"))
    status = lines[0].split()[1] if len(lines[0].split()) > 1 else "?"
    with open(out, "wb") as f:
        f.write(body)
    print(status, flush=True)
    print("stall %d" % (stall * 1000), flush=True)
    if not sep or length is None or int(length) != len(body):
        print("ERROR body of %d bytes, Content-Length %s" % (len(body), length), flush=True)
        return 1
    return 0


GETFROM_TIMEOUT = 5.0
MANYGET_TIMEOUT = 3.0  # seconds for one connection's whole exchange


def manyget(host, port, count, parallel):
    from concurrent.futures import ThreadPoolExecutor
    from collections import Counter

    def one(_):
        try:
            with socket.create_connection((host, port), timeout=MANYGET_TIMEOUT) as s:
                s.settimeout(MANYGET_TIMEOUT)
                s.sendall(b"GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host.encode())
                data = bytearray()
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            return "failed"
        body = bytes(data).partition(b"\r\n\r\n")[2].decode(errors="replace").split()
        return body[0] if body else "failed"

    with ThreadPoolExecutor(parallel) as pool:
        counts = Counter(pool.map(one, range(count)))
    counts.setdefault("failed", 0)
    for name, n in sorted(counts.items()):
        print("%s %d" % (name, n), flush=True)
    return 0


def getfrom(host, port, lport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.settimeout(GETFROM_TIMEOUT)
    data = bytearray()
    try:
        s.bind(("0.0.0.0", lport))
        s.connect((host, port))
        s.sendall(b"GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host.encode())
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        print("ERROR %s" % errno.errorcode.get(e.errno, e), flush=True)
        return 1
    finally:
        s.close()
    print(bytes(data).partition(b"\r\n\r\n")[2].decode(errors="replace"), flush=True)
    return 0


def notifyd(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o666)  # the daemon sends after dropping root, as to systemd's own socket
    while True:
        msg = s.recv(4096).decode(errors="replace")
        print("%d %s" % (int(time.time() * 1000), " ".join(msg.split("\n"))), flush=True)


def udphold(host, port, seconds):
    ms = lambda: int(time.time() * 1000)
    end = time.monotonic() + seconds
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    s.settimeout(0.5)
    n = 0
    while time.monotonic() < end:
        try:
            s.send(b"query %d" % n)
            result = s.recv(2048).decode(errors="replace").strip()
        except socket.timeout:
            result = "TIMEOUT"
        except ConnectionRefusedError:
            result = "ECONNREFUSED"
        print("%d %s" % (ms(), result), flush=True)
        n += 1
        time.sleep(0.2)
    return 0


def udpreplay(path, host, port):
    with open(path, "rb") as f:
        data = f.read()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    off, n = 24, 0  # pcap global header, then records of a 16-byte header and the frame
    while off + 16 <= len(data):
        caplen = int.from_bytes(data[off + 8:off + 12], "little")
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        ihl = (frame[14] & 0x0F) * 4
        s.sendto(frame[14 + ihl + 8:], (host, port))
        n += 1
    print(n, flush=True)
    return 0


HA_STATES = {"backup": 0, "master": 1, "fault": 2, "leaving": 3}


def haforge(host, port, keyfile, state):
    import hmac
    with open(keyfile, "rb") as f:
        key = f.read()
    key = key[:-1] if key.endswith(b"\n") else key
    payload = bytes([HA_STATES[state], 1]) + (0).to_bytes(2, "big") + (0).to_bytes(2, "big")
    header = (b"RLBH" + bytes([1, 1]) + (0).to_bytes(2, "big") + (0x5EED).to_bytes(8, "big")
              + (1 << 40).to_bytes(8, "big") + (1 << 40).to_bytes(8, "big")
              + len(payload).to_bytes(2, "big") + (0).to_bytes(2, "big"))
    body = header + payload
    mac = hmac.new(key, body, hashlib.sha256).digest()
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(body + mac, (host, port))
    return 0


def inet_csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def vlansyn(iface, dstmac, vlan, src, dst, port, count):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    srcmac = sock.getsockname()[4]
    saddr, daddr = socket.inet_aton(src), socket.inet_aton(dst)
    for i in range(count):
        sport = 40000 + i
        tcp = struct.pack("!HHIIBBHHH", sport, port, 1000 + i, 0, 5 << 4, 0x02, 65535, 0, 0)
        pseudo = saddr + daddr + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", inet_csum(pseudo + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i, 0x4000, 64, socket.IPPROTO_TCP, 0, saddr, daddr)
        ip = ip[:10] + struct.pack("!H", inet_csum(ip)) + ip[12:]
        eth = bytes.fromhex(dstmac.replace(":", "")) + srcmac + struct.pack("!HHH", 0x8100, vlan, 0x0800)
        sock.send(eth + ip + tcp)
        time.sleep(0.05)
    print(count, flush=True)
    return 0


def synpcap(path, src, dst, port, count, group=0):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
    from pcapgen import IPPROTO_TCP, PcapWriter, ipv4_packet

    saddr, daddr = socket.inet_aton(src), socket.inet_aton(dst)
    eth = bytes(12) + struct.pack("!H", 0x0800)  # rawlb-replay sets both MACs
    out = PcapWriter(path, int(time.time()))
    frames = 0

    def segment(i, seq, ack, flags):
        nonlocal frames
        tcp = struct.pack("!HHIIBBHHH", 1024 + i, port, seq, ack, 5 << 4, flags, 65535, 0, 0)
        out.write(frames, eth + ipv4_packet(saddr, daddr, IPPROTO_TCP, tcp, frames))
        frames += 1

    syn, ack = 0x02, 0x10
    for first in range(0, count, group or count):
        last = min(count, first + (group or count))
        for i in range(first, last):
            segment(i, 1000 + i, 0, syn)
        for i in range(first, last if group else first):
            segment(i, 1001 + i, 1, ack)
    out.close()
    print(count, flush=True)
    return 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "httpd":
        return httpd(args[0], int(args[1]))
    if cmd == "udpd":
        return udpd(args[0], int(args[1]))
    if cmd == "udpq":
        return udpq(args[0], int(args[1]), int(args[2]) if len(args) > 2 else 1)
    if cmd == "udpecho":
        return udpecho(args[0], int(args[1]))
    if cmd == "udpbig":
        return udpbig(args[0], int(args[1]), int(args[2]), int(args[3]))
    if cmd == "udpdf":
        return udpdf(args[0], int(args[1]), int(args[2]))
    if cmd == "agent":
        return agent(int(args[0]), args[1])
    if cmd == "udppong":
        return udppong(args[0], int(args[1]))
    if cmd == "holdd":
        return holdd(args[0], int(args[1]))
    if cmd == "hold":
        return hold(args[0], int(args[1]), float(args[2]), *(float(a) for a in args[3:4]))
    if cmd == "slowget":
        return slowget(args[0], int(args[1]), args[2], float(args[3]), args[4])
    if cmd == "manyget":
        return manyget(args[0], int(args[1]), int(args[2]), int(args[3]))
    if cmd == "getfrom":
        return getfrom(args[0], int(args[1]), int(args[2]))
    if cmd == "notifyd":
        return notifyd(args[0])
    if cmd == "udphold":
        return udphold(args[0], int(args[1]), float(args[2]))
    if cmd == "udpreplay":
        return udpreplay(args[0], args[1], int(args[2]))
    if cmd == "vlansyn":
        return vlansyn(args[0], args[1], int(args[2]), args[3], args[4], int(args[5]), int(args[6]))
    if cmd == "synpcap":
        return synpcap(args[0], args[1], args[2], int(args[3]), int(args[4]), *(int(a) for a in args[5:6]))
    if cmd == "haforge":
        return haforge(args[0], int(args[1]), args[2], args[3])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
