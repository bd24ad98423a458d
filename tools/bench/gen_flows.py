#!/usr/bin/env python3
"""Writes two pcap files of complete client/server exchanges through a VIP, as rawlb's two
interfaces see them, for tools/rawlb-pcap (python3 stdlib only):
  PREFIX-ext.pcap  what arrives on the external interface (clients -> VIP)
  PREFIX-int.pcap  what arrives on the internal interface (real servers -> clients)
Each TCP flow: SYN, SYN-ACK, ACK, request (PSH/ACK), response, ACK, FIN, FIN, ACK (9 frames, 6 of
them external); with --handshakes only the SYN, SYN-ACK and ACK, so every connection stays
established and tracked (tools/bench/memory.sh). Each UDP flow: one query and its reply. Clients are 192.0.2.1-250, each with
its own source ports, so every flow is new. The replies come from the real server that the
scheduler rr picks (flow i of a service -> its real server i mod n), so run rawlb-pcap with
-s rr and the same real servers in the same order; a reply from the wrong server would show as
drop_no_conn. MACs as rawlb-pcap uses them: ext 02:00:00:00:00:01, int 02:00:00:00:00:02, real
server A.B.C.D at 02:aa:00:00:00:D.
usage: gen_flows.py PREFIX [--tcp N] [--udp N] [--vip A] [--tcp-port P] [--udp-port P]
                          [--rs A,B,...] [--resp-bytes N] [--handshakes]"""
import argparse
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pcapgen import PcapWriter, ipv4_packet  # noqa: E402

EXT_MAC = bytes.fromhex("020000000001")
INT_MAC = bytes.fromhex("020000000002")
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
T0 = 1_700_000_000  # capture timestamps start here


def ipv4(src, dst, proto, l4, ident):
    return ipv4_packet(socket.inet_aton(src), socket.inet_aton(dst), proto, l4, ident)


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags,
                       64240, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def rs_mac(addr):
    return bytes.fromhex("02aa00000000")[:5] + bytes([int(addr.split(".")[3])])


class Pcap(PcapWriter):
    def __init__(self, path):
        super().__init__(path, T0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prefix")
    ap.add_argument("--tcp", type=int, default=1000, help="TCP flows (default 1000)")
    ap.add_argument("--udp", type=int, default=1000, help="UDP flows (default 1000)")
    ap.add_argument("--vip", default="198.51.100.10")
    ap.add_argument("--tcp-port", type=int, default=80)
    ap.add_argument("--udp-port", type=int, default=53)
    ap.add_argument("--rs", default="203.0.113.11,203.0.113.12", help="real servers, in rawlb's order")
    ap.add_argument("--resp-bytes", type=int, default=1000, help="TCP response payload (default 1000)")
    ap.add_argument("--handshakes", action="store_true", help="TCP flows end after the handshake's ACK")
    a = ap.parse_args()
    rss = a.rs.split(",")
    ext, inn = Pcap(a.prefix + "-ext.pcap"), Pcap(a.prefix + "-int.pcap")
    counts = {"ext": 0, "int": 0}
    t = [0]

    def client(i):
        return "192.0.2.%d" % (1 + i % 250), 10000 + i // 250

    def send_ext(cmac, cip, l4proto, l4):
        ext.write(t[0], EXT_MAC + cmac + b"\x08\x00" + ipv4(cip, a.vip, l4proto, l4, t[0]))
        counts["ext"] += 1
        t[0] += 10

    def send_int(rs, cip, l4proto, l4):
        inn.write(t[0], INT_MAC + rs_mac(rs) + b"\x08\x00" + ipv4(rs, cip, l4proto, l4, t[0]))
        counts["int"] += 1
        t[0] += 10

    req = b"GET / HTTP/1.1\r\nHost: 198.51.100.10\r\nUser-Agent: gen_flows\r\nAccept: */*\r\n\r\n"
    resp = (b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % a.resp_bytes) + b"x" * a.resp_bytes
    for i in range(a.tcp):
        cip, cport = client(i)
        cmac = bytes.fromhex("02cc000000") + bytes([1 + i % 250])
        rs = rss[i % len(rss)]
        v, p = a.tcp_port, cport
        cs, ss = 1000 * i + 1, 5000 * i + 7
        send_ext(cmac, cip, 6, tcp(p, v, cs, 0, SYN))
        send_int(rs, cip, 6, tcp(v, p, ss, cs + 1, SYN | ACK))
        send_ext(cmac, cip, 6, tcp(p, v, cs + 1, ss + 1, ACK))
        if a.handshakes:
            continue
        send_ext(cmac, cip, 6, tcp(p, v, cs + 1, ss + 1, PSH | ACK, req))
        send_int(rs, cip, 6, tcp(v, p, ss + 1, cs + 1 + len(req), PSH | ACK, resp))
        send_ext(cmac, cip, 6, tcp(p, v, cs + 1 + len(req), ss + 1 + len(resp), ACK))
        send_ext(cmac, cip, 6, tcp(p, v, cs + 1 + len(req), ss + 1 + len(resp), FIN | ACK))
        send_int(rs, cip, 6, tcp(v, p, ss + 1 + len(resp), cs + 2 + len(req), FIN | ACK))
        send_ext(cmac, cip, 6, tcp(p, v, cs + 2 + len(req), ss + 2 + len(resp), ACK))
    for i in range(a.udp):
        cip, cport = client(a.tcp + i)
        cmac = bytes.fromhex("02cc000000") + bytes([1 + (a.tcp + i) % 250])
        rs = rss[i % len(rss)]
        q = struct.pack("!H", i & 0xFFFF) + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
        send_ext(cmac, cip, 17, udp(cport, a.udp_port, q))
        send_int(rs, cip, 17, udp(a.udp_port, cport, q[:2] + b"\x81\x80" + q[4:] + b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01"))
    ext.close()
    inn.close()
    print("%s-ext.pcap %d frames, %s-int.pcap %d frames" % (a.prefix, counts["ext"], a.prefix, counts["int"]))


if __name__ == "__main__":
    main()
