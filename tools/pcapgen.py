"""pcapgen: what the project's frame generators share (tools/replay/make-capture.py,
tools/bench/gen_flows.py): the Internet checksum, an IPv4 packet with correct IP and TCP/UDP
checksums, and a classic pcap file writer (microseconds, Ethernet). Standard library only."""
import struct

PCAP_MAGIC_US = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535
IPPROTO_TCP, IPPROTO_UDP = 6, 17


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_packet(src, dst, proto, l4, ident):
    """IPv4 header (DF, TTL 64) + l4, with the header checksum and the TCP/UDP checksum filled in.
    src and dst are 4-byte addresses; l4 has its checksum field zero."""
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident & 0xFFFF, 0x4000, 64, proto, 0, src, dst)
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
    off = 16 if proto == IPPROTO_TCP else 6
    c = csum(pseudo + l4)
    if proto == IPPROTO_UDP and c == 0:
        c = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    return hdr + l4[:off] + struct.pack("!H", c) + l4[off + 2:]


class PcapWriter:
    """Frames with timestamps in microseconds after t0 (seconds since the epoch)."""

    def __init__(self, path, t0):
        self.t0 = t0
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))

    def write(self, t_us, frame):
        self.f.write(struct.pack("<IIII", self.t0 + t_us // 1_000_000, t_us % 1_000_000, len(frame), len(frame)) + frame)

    def close(self):
        self.f.close()
