#!/usr/bin/env python3
"""Writes mixed.pcap: real-looking mixed traffic for rawlb-replay's demo and tests, made here
(python3 standard library only) so that the capture can be regenerated and reviewed.

  HTTP/1.1 over TCP to 198.51.100.10:80: handshake, a GET, the answer in one to four segments,
  the client's ACKs, FIN from both sides; some connections carry two requests (keep-alive).
  DNS-like UDP to 198.51.100.10:53: an A query for a name, the answer.
Clients are 198.51.100.20 to .59 with ephemeral ports; the conversations overlap in time over
about two seconds. Both directions are written (as a capture on the client's link would hold
them); rawlb-replay replays the clients' side.

usage: make-capture.py [OUT] (default: mixed.pcap next to this script)
"""
import os
import random
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import PcapWriter, ipv4_packet  # noqa: E402

SERVER = "198.51.100.10"
SERVER_MAC = bytes.fromhex("020000000010")
GW_MAC = bytes.fromhex("02000000000a")  # what the clients send to (the VIP's owner)
SEED = 20261125
HTTP_CONNS = 40
DNS_QUERIES = 80


def ip_bytes(a):
    return bytes(int(x) for x in a.split("."))


class Host:
    def __init__(self, addr, mac):
        self.addr, self.mac, self.ip_id = addr, mac, random.randrange(65536)


def frame(src, dst, proto, l4):
    src.ip_id = (src.ip_id + 1) & 0xFFFF
    return dst.mac + src.mac + b"\x08\x00" + ipv4_packet(ip_bytes(src.addr), ip_bytes(dst.addr), proto, l4, src.ip_id)


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", opts=b""):
    hlen = 20 + len(opts)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (hlen // 4) << 4,
                      flags, 64240, 0, 0)
    return frame(src, dst, 6, hdr + opts + payload)


def udp(src, dst, sport, dport, payload):
    return frame(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)


SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
PATHS = ["/", "/index.html", "/api/v1/items?page=2", "/static/app.js", "/img/logo.png", "/health"]
NAMES = ["www.example.com", "api.example.net", "cdn.example.org", "mail.example.com", "example.org"]


def http_conv(t, cli, srv, sport, out):
    """One HTTP connection starting at time t; appends (time, frame) to out."""
    rtt = random.uniform(0.0002, 0.002)
    cs, ss = random.randrange(1 << 32), random.randrange(1 << 32)
    mss = b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + struct.pack("!II", random.randrange(1 << 32), 0) + b"\x01\x03\x03\x07"
    out.append((t, tcp(cli, srv, sport, 80, cs, 0, SYN, opts=mss)))
    t += rtt / 2
    out.append((t, tcp(srv, cli, 80, sport, ss, cs + 1, SYN | ACK, opts=mss)))
    t += rtt / 2
    cs += 1
    ss += 1
    out.append((t, tcp(cli, srv, sport, 80, cs, ss, ACK)))
    for _ in range(random.choice([1, 1, 2])):
        req = ("GET %s HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
               % random.choice(PATHS)).encode()
        out.append((t, tcp(cli, srv, sport, 80, cs, ss, PSH | ACK, req)))
        cs += len(req)
        t += rtt / 2
        body = bytes(random.choice(b"abcdefghijklmnopqrstuvwxyz\n") for _ in range(random.randrange(100, 3000)))
        resp = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        for i in range(0, len(resp), 1448):
            seg = resp[i:i + 1448]
            out.append((t, tcp(srv, cli, 80, sport, ss, cs, PSH | ACK if i + 1448 >= len(resp) else ACK, seg)))
            ss += len(seg)
            t += 0.00002
        t += rtt / 2
        out.append((t, tcp(cli, srv, sport, 80, cs, ss, ACK)))
        t += random.uniform(0.001, 0.05)
    out.append((t, tcp(cli, srv, sport, 80, cs, ss, FIN | ACK)))
    t += rtt / 2
    out.append((t, tcp(srv, cli, 80, sport, ss, cs + 1, FIN | ACK)))
    t += rtt / 2
    out.append((t, tcp(cli, srv, sport, 80, cs + 1, ss + 1, ACK)))


def dns_name(n):
    return b"".join(bytes([len(p)]) + p.encode() for p in n.split(".")) + b"\0"


def dns_conv(t, cli, srv, sport, out):
    qid = random.randrange(65536)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + dns_name(random.choice(NAMES)) + struct.pack("!HH", 1, 1)
    out.append((t, udp(cli, srv, sport, 53, q)))
    a = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q[12:] + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) \
        + ip_bytes("203.0.113.%d" % random.randrange(1, 250))
    out.append((t + random.uniform(0.0002, 0.001), udp(srv, cli, 53, sport, a)))


def main():
    random.seed(SEED)
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "mixed.pcap")
    srv = Host(SERVER, SERVER_MAC)
    clients = [Host("198.51.100.%d" % i, bytes.fromhex("0200000001%02x" % i)) for i in range(20, 60)]
    pkts = []
    used = set()
    for _ in range(HTTP_CONNS):
        cli = random.choice(clients)
        sport = random.randrange(32768, 61000)
        while (cli.addr, sport) in used:
            sport = random.randrange(32768, 61000)
        used.add((cli.addr, sport))
        http_conv(random.uniform(0, 2.0), cli, srv, sport, pkts)
    for _ in range(DNS_QUERIES):
        cli = random.choice(clients)
        sport = random.randrange(32768, 61000)
        while (cli.addr, sport) in used:
            sport = random.randrange(32768, 61000)
        used.add((cli.addr, sport))
        dns_conv(random.uniform(0, 2.0), cli, srv, sport, pkts)
    pkts.sort(key=lambda p: p[0])
    t0 = 1764028800  # 2025-11-25 00:00:00 UTC
    out = PcapWriter(out_path, t0)
    for t, fr in pkts:
        out.write(int(round(t * 1e6)), fr)
    out.close()
    print("%s: %d frames, %d bytes" % (out_path, len(pkts), os.path.getsize(out_path)))


if __name__ == "__main__":
    main()
