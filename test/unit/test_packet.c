/* test_packet: packet_parse on frames built byte by byte, every error class, and the rewrites
 * (addresses, ports, TTL) checked by recomputing every checksum from scratch with a reference
 * sum (frames.h) (big-endian words, no shared code with packet.c). Also the partial-checksum
 * mode of PACKET_VNET_HDR frames, a hand-verified vector and RFC 1624's example. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "frames.h" /* reference checksum, byte accessors, frame offsets */
#include "packet.h"

/* ---- frame builder ---- */

struct spec {
    uint8_t ihl;      /* 5..15 */
    uint8_t proto;    /* TCP, UDP, ICMP */
    uint8_t ttl;
    uint16_t frag;    /* flags and offset, host order */
    uint32_t saddr, daddr; /* host order */
    uint16_t sport, dport; /* host order */
    uint8_t tcp_flags;
    uint8_t doff;     /* TCP, 5..15 */
    size_t payload;
    bool udp_nocsum;  /* UDP: checksum field 0 */
};

#define FRAME_MAX 512

/* Builds a frame by hand with correct checksums; returns its length. */
static size_t build(uint8_t *f, const struct spec *s)
{
    memset(f, 0, FRAME_MAX);
    static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 }, smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
    memcpy(f, dmac, 6);
    memcpy(f + 6, smac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    size_t hlen = (size_t)s->ihl * 4;
    size_t l4h = s->proto == IPPROTO_TCP ? (size_t)s->doff * 4 : 8;
    size_t l4len = l4h + s->payload;
    ip[0] = (uint8_t)(0x40 | s->ihl);
    ip[1] = 0;
    put16(ip + 2, (uint16_t)(hlen + l4len));
    put16(ip + 4, 0x1c46);
    put16(ip + 6, s->frag);
    ip[8] = s->ttl;
    ip[9] = s->proto;
    put32(ip + 12, s->saddr);
    put32(ip + 16, s->daddr);
    for (size_t i = 20; i < hlen; i++) /* options: NOPs, then end of list */
        ip[i] = i + 1 == hlen ? 0 : 1;
    uint8_t *l4 = ip + hlen;
    if (s->proto == IPPROTO_TCP) {
        put16(l4, s->sport);
        put16(l4 + 2, s->dport);
        put32(l4 + 4, 0x01020304);
        put32(l4 + 8, 0);
        l4[12] = (uint8_t)(s->doff << 4);
        l4[13] = s->tcp_flags;
        put16(l4 + 14, 64240);
        for (size_t i = 20; i < l4h; i++)
            l4[i] = 1; /* NOP */
        if (l4h >= 24) { /* MSS 1460 */
            l4[20] = 2;
            l4[21] = 4;
            put16(l4 + 22, 1460);
        }
    } else if (s->proto == IPPROTO_UDP) {
        put16(l4, s->sport);
        put16(l4 + 2, s->dport);
        put16(l4 + 4, (uint16_t)l4len);
    } else { /* ICMP echo request */
        l4[0] = 8;
        put16(l4 + 4, 0x4242);
        put16(l4 + 6, 7);
    }
    for (size_t i = 0; i < s->payload; i++)
        l4[l4h + i] = (uint8_t)(i * 7 + 3);
    put16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, hlen, 0)));
    size_t co = l4checkoff(s->proto);
    if (s->proto == IPPROTO_ICMP) {
        put16(l4 + co, (uint16_t)~ref_fold(ref_sum(l4, l4len, 0)));
    } else if (!(s->proto == IPPROTO_UDP && s->udp_nocsum)) {
        uint16_t c = (uint16_t)~ref_fold(ref_sum(l4, l4len, pseudo_sum(f)));
        if (s->proto == IPPROTO_UDP && c == 0)
            c = 0xffff;
        put16(l4 + co, c);
    }
    return 14 + hlen + l4len;
}

static struct spec tcp_spec(void)
{
    return (struct spec){ .ihl = 5, .proto = IPPROTO_TCP, .ttl = 64, .saddr = 0x0a000001, .daddr = 0xc000020a,
                          .sport = 40000, .dport = 80, .tcp_flags = TH_SYN_, .doff = 6, .payload = 0 };
}
static struct spec udp_spec(void)
{
    return (struct spec){ .ihl = 5, .proto = IPPROTO_UDP, .ttl = 64, .saddr = 0x0a000001, .daddr = 0xc000020a,
                          .sport = 5353, .dport = 53, .payload = 33 };
}

/* ---- parsing ---- */

static void test_parse_tcp_options(void)
{
    uint8_t f[FRAME_MAX];
    struct spec s = tcp_spec();
    s.ihl = 6;
    s.doff = 8;
    s.payload = 11;
    s.tcp_flags = TH_SYN_ | TH_ACK_;
    s.frag = IP_DF_;
    size_t len = build(f, &s);
    CHECK(ip_csum_ok(f) && l4_csum_ok(f));
    struct parsed p;
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
    CHECK(p.eth == f);
    CHECK_EQ_U(p.frame_len, len);
    CHECK(p.ip == f + 14);
    CHECK_EQ_U(p.ip_hlen, 24);
    CHECK_EQ_U(p.ip_len, 24 + 32 + 11);
    CHECK_EQ_U(p.proto, IPPROTO_TCP);
    CHECK_EQ_U(p.saddr, htonl(0x0a000001));
    CHECK_EQ_U(p.daddr, htonl(0xc000020a));
    CHECK_EQ_U(p.frag, IP_DF_);
    CHECK(!packet_is_fragment(&p));
    CHECK(p.l4 == f + 14 + 24);
    CHECK_EQ_U(p.l4_len, 32 + 11);
    CHECK_EQ_U(p.sport, htons(40000));
    CHECK_EQ_U(p.dport, htons(80));
    CHECK_EQ_U(p.tcp_flags, TH_SYN_ | TH_ACK_);

    /* Ethernet padding after the datagram: the IP total length rules. */
    CHECK_EQ_U(packet_parse(f, len + 20, &p), PARSE_OK);
    CHECK_EQ_U(p.ip_len, 24 + 32 + 11);
    CHECK_EQ_U(p.frame_len, len + 20);
}

static void test_parse_udp_icmp(void)
{
    uint8_t f[FRAME_MAX];
    struct spec s = udp_spec();
    size_t len = build(f, &s);
    struct parsed p;
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
    CHECK_EQ_U(p.proto, IPPROTO_UDP);
    CHECK_EQ_U(p.sport, htons(5353));
    CHECK_EQ_U(p.dport, htons(53));
    CHECK_EQ_U(p.l4_len, 8 + 33);
    CHECK_EQ_U(p.tcp_flags, 0);
    CHECK(l4_csum_ok(f));

    /* UDP header only, no payload. */
    s.payload = 0;
    len = build(f, &s);
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
    CHECK_EQ_U(p.l4_len, 8);

    s = (struct spec){ .ihl = 5, .proto = IPPROTO_ICMP, .ttl = 64, .saddr = 0x0a000001, .daddr = 0xc000020a,
                       .payload = 56 };
    len = build(f, &s);
    CHECK(l4_csum_ok(f));
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
    CHECK_EQ_U(p.proto, IPPROTO_ICMP);
    CHECK(p.l4 == f + 34);
    CHECK_EQ_U(p.l4_len, 64);
    CHECK_EQ_U(p.sport, 0);
    CHECK_EQ_U(p.dport, 0);
}

static void test_parse_fragments(void)
{
    uint8_t f[FRAME_MAX];
    struct parsed p;
    struct spec s = udp_spec();
    s.frag = IP_MF_; /* first fragment */
    size_t len = build(f, &s);
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
    CHECK(packet_is_fragment(&p));
    CHECK(packet_is_first_fragment(&p));
    CHECK(p.l4 == f + 34);
    CHECK_EQ_U(p.sport, htons(5353));
    CHECK_EQ_U(p.dport, htons(53));

    s.frag = IP_MF_ | 185; /* middle fragment */
    len = build(f, &s);
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
    CHECK(packet_is_fragment(&p));
    CHECK(!packet_is_first_fragment(&p));
    CHECK(p.l4 == NULL);
    CHECK_EQ_U(p.sport, 0);
    CHECK_EQ_U(p.dport, 0);
    CHECK_EQ_U(p.saddr, htonl(0x0a000001));

    s.frag = 370; /* last fragment */
    len = build(f, &s);
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
    CHECK(packet_is_fragment(&p));
    CHECK(p.l4 == NULL);

    /* A non-first TCP fragment of 4 bytes is fine: no header to look at. */
    s = tcp_spec();
    s.frag = 100;
    len = build(f, &s);
    put16(f + 16, 24); /* IP total length 24: 4 bytes of data */
    CHECK_EQ_U(packet_parse(f, 14 + 24, &p), PARSE_OK);
    CHECK(p.l4 == NULL);
    CHECK_EQ_U(p.tcp_flags, 0);
    (void)len;
}

static void test_parse_errors(void)
{
    uint8_t f[FRAME_MAX];
    struct parsed p;
    struct spec s = tcp_spec();
    size_t len = build(f, &s);

    CHECK_EQ_U(packet_parse(f, 0, &p), PARSE_TRUNCATED);
    CHECK_EQ_U(packet_parse(f, 13, &p), PARSE_TRUNCATED);
    CHECK_EQ_U(packet_parse(f, 14, &p), PARSE_TRUNCATED);
    CHECK_EQ_U(packet_parse(f, 14 + 19, &p), PARSE_TRUNCATED);

    uint8_t g[FRAME_MAX];
    memcpy(g, f, sizeof g);
    put16(g + 12, 0x0806);
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_NOT_IPV4);
    put16(g + 12, 0x86dd);
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_NOT_IPV4);
    put16(g + 12, 0x8100); /* VLAN tagged: not ours */
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_NOT_IPV4);
    CHECK_EQ_U(packet_parse(g, 14, &p), PARSE_NOT_IPV4);

    memcpy(g, f, sizeof g);
    g[14] = 0x65; /* version 6 */
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_BAD_IP);
    g[14] = 0x05; /* version 0 */
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_BAD_IP);

    memcpy(g, f, sizeof g);
    g[14] = 0x44; /* ihl 4 */
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_BAD_IP);
    g[14] = 0x40; /* ihl 0 */
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_BAD_IP);

    memcpy(g, f, sizeof g);
    put16(g + 16, (uint16_t)(len - 14 + 1)); /* total length beyond the frame */
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_TRUNCATED);
    put16(g + 16, 0xffff);
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_TRUNCATED);
    /* The same total length parses once the frame is long enough. */
    put16(g + 16, (uint16_t)(len - 14));
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_OK);

    put16(g + 16, 19); /* total length below the header length */
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_BAD_IP);
    put16(g + 16, 0);
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_BAD_IP);
    g[14] = 0x46; /* ihl 6, total 20 */
    put16(g + 16, 20);
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_BAD_IP);

    /* Header length beyond the frame (ihl 15 = 60 bytes, 40 available). */
    memcpy(g, f, sizeof g);
    g[14] = 0x4f;
    put16(g + 16, 60);
    CHECK_EQ_U(packet_parse(g, 14 + 40, &p), PARSE_TRUNCATED);

    /* TCP data offset below 5, and beyond the segment. */
    memcpy(g, f, sizeof g);
    g[14 + 20 + 12] = 4 << 4;
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_BAD_L4);
    g[14 + 20 + 12] = 0;
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_BAD_L4);
    g[14 + 20 + 12] = 7 << 4; /* 28 > 24 bytes of segment */
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_BAD_L4);
    g[14 + 20 + 12] = 15 << 4;
    CHECK_EQ_U(packet_parse(g, len + 100, &p), PARSE_BAD_L4); /* padding does not count */
    g[14 + 20 + 12] = 6 << 4;
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_OK);

    /* TCP segment shorter than a TCP header. */
    memcpy(g, f, sizeof g);
    put16(g + 16, 20 + 19);
    CHECK(packet_parse(g, len, &p) != PARSE_OK);
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_TRUNCATED);

    /* UDP shorter than 8. */
    s = udp_spec();
    len = build(g, &s);
    put16(g + 16, 20 + 7);
    CHECK(packet_parse(g, len, &p) != PARSE_OK);
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_TRUNCATED);
    put16(g + 16, 20 + 8);
    CHECK_EQ_U(packet_parse(g, len, &p), PARSE_OK);
}

/* ---- rewrites ---- */

/* The NAT of a client packet and of its reply, checked by full recomputation. */
static void rewrite_and_verify(const struct spec *s, bool with_ttl)
{
    uint8_t f[FRAME_MAX];
    size_t len = build(f, s);
    bool nocsum = s->proto == IPPROTO_UDP && s->udp_nocsum;
    struct parsed p;
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);

    packet_set_daddr(&p, htonl(0x0a010005), false);
    CHECK(ip_csum_ok(f));
    CHECK(nocsum || l4_csum_ok(f));
    packet_set_dport(&p, htons(8080), false);
    CHECK(nocsum || l4_csum_ok(f));
    if (with_ttl) {
        CHECK(packet_dec_ttl(&p));
        CHECK_EQ_U(f[14 + 8], s->ttl - 1);
    }
    CHECK(ip_csum_ok(f));
    CHECK(nocsum || l4_csum_ok(f));
    CHECK_EQ_U(p.daddr, htonl(0x0a010005));
    CHECK_EQ_U(p.dport, htons(8080));
    CHECK(memcmp(f + 14 + 16, "\x0a\x01\x00\x05", 4) == 0);
    CHECK_EQ_U(get16(l4of(f) + 2), 8080);

    packet_set_saddr(&p, htonl(0xc0a80101), false);
    packet_set_sport(&p, htons(1), false);
    CHECK(ip_csum_ok(f));
    CHECK(nocsum || l4_csum_ok(f));
    CHECK_EQ_U(p.saddr, htonl(0xc0a80101));
    CHECK_EQ_U(p.sport, htons(1));
    CHECK(memcmp(f + 14 + 12, "\xc0\xa8\x01\x01", 4) == 0);
    CHECK_EQ_U(get16(l4of(f)), 1);
    if (nocsum)
        CHECK_EQ_U(l4_check(f), 0);
    else if (s->proto == IPPROTO_UDP)
        CHECK(l4_check(f) != 0);

    /* The parse of the rewritten frame agrees with the struct. */
    struct parsed q;
    CHECK_EQ_U(packet_parse(f, len, &q), PARSE_OK);
    CHECK_EQ_U(q.saddr, p.saddr);
    CHECK_EQ_U(q.daddr, p.daddr);
    CHECK_EQ_U(q.sport, p.sport);
    CHECK_EQ_U(q.dport, p.dport);
}

static void test_rewrites(void)
{
    struct spec s = tcp_spec();
    rewrite_and_verify(&s, true);
    s.ihl = 6;
    s.doff = 10;
    s.payload = 101; /* odd */
    s.tcp_flags = TH_ACK_;
    rewrite_and_verify(&s, true);
    s.ttl = 255;
    rewrite_and_verify(&s, true);
    s = udp_spec();
    rewrite_and_verify(&s, true);
    s.ihl = 6;
    s.payload = 0;
    rewrite_and_verify(&s, false);
    s.udp_nocsum = true;
    rewrite_and_verify(&s, true);
    s.payload = 77;
    rewrite_and_verify(&s, true);
}

/* ICMP: no pseudo-header, no ports: its checksum and bytes stay as they are. */
static void test_rewrite_icmp(void)
{
    uint8_t f[FRAME_MAX], g[FRAME_MAX];
    struct spec s = { .ihl = 5, .proto = IPPROTO_ICMP, .ttl = 9, .saddr = 0x0a000001, .daddr = 0xc000020a,
                      .payload = 31 };
    size_t len = build(f, &s);
    struct parsed p;
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
    memcpy(g, f, sizeof g);
    packet_set_dport(&p, htons(99), false);
    packet_set_sport(&p, htons(99), true);
    CHECK(memcmp(f, g, len) == 0);
    packet_set_daddr(&p, htonl(0x0a010005), false);
    packet_set_saddr(&p, htonl(0x0a010006), true);
    CHECK(packet_dec_ttl(&p));
    CHECK(ip_csum_ok(f));
    CHECK(l4_csum_ok(f));
    CHECK(memcmp(l4of(f), l4of(g), 8 + 31) == 0);
}

/* A non-first fragment: only the IP header changes. */
static void test_rewrite_fragment(void)
{
    uint8_t f[FRAME_MAX], g[FRAME_MAX];
    struct spec s = tcp_spec();
    s.frag = 185;
    s.payload = 40;
    size_t len = build(f, &s);
    struct parsed p;
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
    memcpy(g, f, sizeof g);
    packet_set_daddr(&p, htonl(0x0a010005), false);
    packet_set_dport(&p, htons(8080), false);
    packet_set_saddr(&p, htonl(0x0a010006), true);
    CHECK(packet_dec_ttl(&p));
    CHECK(ip_csum_ok(f));
    CHECK(memcmp(f + 34, g + 34, len - 34) == 0);
    CHECK(memcmp(f + 14 + 16, "\x0a\x01\x00\x05", 4) == 0);
}

static void test_dec_ttl_refuses(void)
{
    uint8_t f[FRAME_MAX], g[FRAME_MAX];
    for (unsigned ttl = 0; ttl <= 2; ttl++) {
        struct spec s = tcp_spec();
        s.ttl = (uint8_t)ttl;
        size_t len = build(f, &s);
        memcpy(g, f, sizeof g);
        struct parsed p;
        CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
        if (ttl < 2) {
            CHECK(!packet_dec_ttl(&p));
            CHECK(memcmp(f, g, len) == 0);
        } else {
            CHECK(packet_dec_ttl(&p));
            CHECK_EQ_U(f[14 + 8], 1);
            CHECK(ip_csum_ok(f));
        }
    }
}

/* UDP: a checksum that comes out 0 must be sent as 0xffff (0 means "none", RFC 768).
 * Choose a payload word so that the rewritten datagram's sum is exactly -0. */
static void udp_zero_case(bool via_port)
{
    uint8_t f[FRAME_MAX];
    struct spec s = udp_spec();
    s.payload = 2;
    uint32_t new_daddr = 0x0a010005;
    uint16_t new_dport = 8080;
    /* The rewritten datagram with payload 0 and checksum 0: find the word that makes it sum to 0xffff. */
    struct spec after = s;
    if (via_port)
        after.dport = new_dport;
    else
        after.daddr = new_daddr;
    build(f, &after);
    put16(l4of(f) + 8, 0);
    put16(l4of(f) + 6, 0);
    uint16_t rest = ref_fold(ref_sum(l4of(f), l4lenof(f), pseudo_sum(f)));
    uint16_t word = (uint16_t)(0xffff - rest);

    /* The original datagram with that payload word and its proper checksum. */
    size_t len = build(f, &s);
    put16(l4of(f) + 8, word);
    put16(l4of(f) + 6, 0);
    uint16_t c = (uint16_t)~ref_fold(ref_sum(l4of(f), l4lenof(f), pseudo_sum(f)));
    CHECK(c != 0);
    put16(l4of(f) + 6, c);
    CHECK(l4_csum_ok(f));

    struct parsed p;
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);
    if (via_port)
        packet_set_dport(&p, htons(new_dport), false);
    else
        packet_set_daddr(&p, htonl(new_daddr), false);
    /* Computed from scratch the checksum is 0 here (sum of the rest is -0): */
    uint8_t g[FRAME_MAX];
    memcpy(g, f, sizeof g);
    put16(l4of(g) + 6, 0);
    CHECK_EQ_U((uint16_t)~ref_fold(ref_sum(l4of(g), l4lenof(g), pseudo_sum(g))), 0);
    CHECK_EQ_U(l4_check(f), 0xffff);
    CHECK(l4_csum_ok(f));
}

/* PACKET_VNET_HDR with VIRTIO_NET_HDR_F_NEEDS_CSUM: the field holds the folded, uncomplemented
 * pseudo-header sum; after a rewrite it must be the pseudo-header sum of the new addresses. */
static void partial_case(uint8_t proto)
{
    uint8_t f[FRAME_MAX];
    struct spec s = proto == IPPROTO_TCP ? tcp_spec() : udp_spec();
    s.payload = 21;
    size_t len = build(f, &s);
    put16(l4of(f) + l4checkoff(proto), ref_fold(pseudo_sum(f)));
    struct parsed p;
    CHECK_EQ_U(packet_parse(f, len, &p), PARSE_OK);

    packet_set_daddr(&p, htonl(0x0a010005), true);
    packet_set_dport(&p, htons(8080), true);
    CHECK(ip_csum_ok(f));
    CHECK_EQ_U(l4_check(f), ref_fold(pseudo_sum(f)));
    CHECK(memcmp(f + 14 + 16, "\x0a\x01\x00\x05", 4) == 0);
    CHECK_EQ_U(get16(l4of(f) + 2), 8080);

    packet_set_saddr(&p, htonl(0xc0a80101), true);
    packet_set_sport(&p, htons(1), true);
    CHECK(packet_dec_ttl(&p));
    CHECK(ip_csum_ok(f));
    CHECK_EQ_U(l4_check(f), ref_fold(pseudo_sum(f)));

    /* What the kernel then does: complete the sum over the segment; the result must verify. */
    put16(l4of(f) + l4checkoff(proto), (uint16_t)~ref_fold(ref_sum(l4of(f), l4lenof(f), 0)));
    CHECK(l4_csum_ok(f));
}

static void test_partial_csum(void)
{
    partial_case(IPPROTO_TCP);
    partial_case(IPPROTO_UDP);
}

/* Hand-checked vector: 10.0.0.1:40000 -> 192.0.2.10:80 SYN with MSS 1460, NATed to
 * 10.1.0.5:8080 with TTL 64 -> 63. IP check 0x527b -> 0x0b80, TCP check 0x3094 -> 0xc958. */
static void test_known_vector(void)
{
    static const uint8_t in[] = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
        0x45, 0x00, 0x00, 0x2c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x52, 0x7b, 0x0a, 0x00,
        0x00, 0x01, 0xc0, 0x00, 0x02, 0x0a, 0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04,
        0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0xfa, 0xf0, 0x30, 0x94, 0x00, 0x00, 0x02, 0x04,
        0x05, 0xb4,
    };
    static const uint8_t out[] = {
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
        0x45, 0x00, 0x00, 0x2c, 0x1c, 0x46, 0x40, 0x00, 0x3f, 0x06, 0x0b, 0x80, 0x0a, 0x00,
        0x00, 0x01, 0x0a, 0x01, 0x00, 0x05, 0x9c, 0x40, 0x1f, 0x90, 0x01, 0x02, 0x03, 0x04,
        0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0xfa, 0xf0, 0xc9, 0x58, 0x00, 0x00, 0x02, 0x04,
        0x05, 0xb4,
    };
    uint8_t f[sizeof in];
    memcpy(f, in, sizeof f);
    CHECK(ip_csum_ok(f));
    CHECK(l4_csum_ok(f));
    /* Our builder makes the same bytes. */
    uint8_t b[FRAME_MAX];
    struct spec s = tcp_spec();
    s.frag = IP_DF_;
    CHECK_EQ_U(build(b, &s), sizeof in);
    CHECK(memcmp(b, in, sizeof in) == 0);

    struct parsed p;
    CHECK_EQ_U(packet_parse(f, sizeof f, &p), PARSE_OK);
    packet_set_daddr(&p, htonl(0x0a010005), false);
    packet_set_dport(&p, htons(8080), false);
    CHECK(packet_dec_ttl(&p));
    CHECK(memcmp(f, out, sizeof out) == 0);
    CHECK_EQ_U(get16(f + 24), 0x0b80);
    CHECK_EQ_U(get16(f + 50), 0xc958);

    /* And back: the reply direction restores the original bytes, TTL aside. */
    packet_set_daddr(&p, htonl(0xc000020a), false);
    packet_set_dport(&p, htons(80), false);
    CHECK(ip_csum_ok(f));
    CHECK(l4_csum_ok(f));
    CHECK_EQ_U(get16(f + 50), 0x3094);

    /* The classic IPv4 header example: checksum 0xb861. */
    static const uint8_t hdr[] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
    uint16_t c = csum_buffer(hdr, sizeof hdr);
    CHECK_EQ_U(get16((const uint8_t *)&c), 0xb861);
    CHECK_EQ_U((uint16_t)~ref_fold(ref_sum(hdr, sizeof hdr, 0)), 0xb861);
}

/* RFC 1624 section 4: HC 0xdd2f, a field changes 0x5555 -> 0x3285: eqn. 3 gives 0x0000. */
static void test_rfc1624(void)
{
    CHECK_EQ_U(csum_replace2(htons(0xdd2f), htons(0x5555), htons(0x3285)), 0x0000);
    /* And the reverse change gives back the original. */
    CHECK_EQ_U(ntohs(csum_replace2(htons(0x0000), htons(0x3285), htons(0x5555))), 0xdd2f);
    /* csum_replace4 is two replace2 steps. */
    uint16_t a = csum_replace4(htons(0x1234), htonl(0x0a000001), htonl(0xc0a80001));
    uint16_t b = csum_replace2(csum_replace2(htons(0x1234), htons(0x0a00), htons(0xc0a8)), htons(0x0001), htons(0x0001));
    CHECK_EQ_U(ntohs(a) == 0xffff ? 0 : ntohs(a), ntohs(b) == 0xffff ? 0 : ntohs(b));
}

/* ---- randomized property test ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void test_random_rewrites(void)
{
    static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP };
    unsigned bad_ip = 0, bad_l4 = 0, udp_zero = 0, bad_partial = 0, bad_parse = 0;
    for (unsigned iter = 0; iter < 50000; iter++) {
        uint8_t f[FRAME_MAX];
        struct spec s = {
            .ihl = (uint8_t)(5 + rnd() % 11), .proto = protos[rnd() % 3], .ttl = (uint8_t)(2 + rnd() % 254),
            .saddr = rnd(), .daddr = rnd(), .sport = (uint16_t)rnd(), .dport = (uint16_t)rnd(),
            .tcp_flags = (uint8_t)rnd(), .doff = (uint8_t)(5 + rnd() % 11), .payload = rnd() % 200,
            .udp_nocsum = rnd() % 8 == 0,
        };
        size_t len = build(f, &s);
        bool partial = s.proto != IPPROTO_ICMP && rnd() % 4 == 0;
        if (partial)
            put16(l4of(f) + l4checkoff(s.proto), ref_fold(pseudo_sum(f)));
        bool nocsum = !partial && s.proto == IPPROTO_UDP && s.udp_nocsum;
        struct parsed p;
        if (packet_parse(f, len, &p) != PARSE_OK) {
            bad_parse++;
            continue;
        }
        unsigned ops = rnd();
        for (unsigned k = 0; k < 5; k++) {
            if (!(ops & (1u << k)))
                continue;
            switch (k) {
            case 0: packet_set_daddr(&p, rnd(), partial); break;
            case 1: packet_set_dport(&p, (uint16_t)rnd(), partial); break;
            case 2: packet_set_saddr(&p, rnd(), partial); break;
            case 3: packet_set_sport(&p, (uint16_t)rnd(), partial); break;
            case 4: packet_dec_ttl(&p); break;
            }
        }
        bad_ip += !ip_csum_ok(f);
        if (partial) {
            bad_partial += l4_check(f) != ref_fold(pseudo_sum(f));
        } else if (nocsum) {
            bad_l4 += l4_check(f) != 0;
        } else {
            bad_l4 += !l4_csum_ok(f);
            udp_zero += s.proto == IPPROTO_UDP && l4_check(f) == 0;
        }
    }
    CHECK_EQ_U(bad_parse, 0);
    CHECK_EQ_U(bad_ip, 0);
    CHECK_EQ_U(bad_l4, 0);
    CHECK_EQ_U(udp_zero, 0);
    CHECK_EQ_U(bad_partial, 0);
}

int main(void)
{
    test_parse_tcp_options();
    test_parse_udp_icmp();
    test_parse_fragments();
    test_parse_errors();
    test_rewrites();
    test_rewrite_icmp();
    test_rewrite_fragment();
    test_dec_ttl_refuses();
    udp_zero_case(true);
    udp_zero_case(false);
    test_partial_csum();
    test_known_vector();
    test_rfc1624();
    test_random_rewrites();
    CHECK_DONE();
}
