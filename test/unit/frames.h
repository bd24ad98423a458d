/* frames: what the unit tests share to build frames by hand and check them afterwards.
 * The reference checksum is the plain RFC 1071 definition over big-endian words, written here
 * with no code shared with packet.c, so a test never checks rawlb's arithmetic with itself.
 * The frame helpers take f = the Ethernet header (IPv4 at f + 14); frame_build() also writes
 * the 10-byte virtio_net_hdr that precedes every frame rawlb receives.
 * Values in struct frame_spec are in host order. */
#ifndef RAWLB_TEST_FRAMES_H
#define RAWLB_TEST_FRAMES_H

#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- reference checksum ---- */

static inline uint64_t ref_sum(const uint8_t *b, size_t n, uint64_t acc)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        acc += (uint64_t)((b[i] << 8) | b[i + 1]);
    if (i < n)
        acc += (uint64_t)(b[i] << 8);
    return acc;
}

static inline uint16_t ref_fold(uint64_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

static inline uint16_t get16(const uint8_t *b) { return (uint16_t)((b[0] << 8) | b[1]); }
static inline uint32_t get32(const uint8_t *b) { return ((uint32_t)get16(b) << 16) | get16(b + 2); }
static inline void put16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}
static inline void put32(uint8_t *b, uint32_t v)
{
    put16(b, (uint16_t)(v >> 16));
    put16(b + 2, (uint16_t)v);
}

/* ---- offsets read straight from the bytes of a frame (not from struct parsed) ---- */

static inline uint8_t *ipof(uint8_t *f) { return f + 14; }
static inline size_t ihlof(const uint8_t *f) { return (size_t)(f[14] & 0x0f) * 4; }
static inline size_t totof(const uint8_t *f) { return get16(f + 16); }
static inline uint8_t *l4of(uint8_t *f) { return f + 14 + ihlof(f); }
static inline size_t l4lenof(const uint8_t *f) { return totof(f) - ihlof(f); }
static inline size_t l4checkoff(uint8_t proto)
{
    return proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
}

/* Pseudo-header sum (saddr, daddr, proto, L4 length), unfolded. */
static inline uint64_t pseudo_sum(const uint8_t *f)
{
    uint64_t s = ref_sum(f + 14 + 12, 8, 0); /* saddr, daddr */
    s += f[14 + 9];                           /* zero, proto */
    s += l4lenof(f);
    return s;
}

static inline bool ip_csum_ok(uint8_t *f) { return ref_fold(ref_sum(ipof(f), ihlof(f), 0)) == 0xffff; }

/* The L4 checksum over pseudo-header and segment, including the checksum field, sums to -0. */
static inline bool l4_csum_ok(uint8_t *f)
{
    uint8_t proto = f[14 + 9];
    uint64_t s = proto == IPPROTO_ICMP ? 0 : pseudo_sum(f);
    return ref_fold(ref_sum(l4of(f), l4lenof(f), s)) == 0xffff;
}

static inline uint16_t l4_check(uint8_t *f) { return get16(l4of(f) + l4checkoff(f[14 + 9])); }

/* ---- building whole frames: vnet header, Ethernet, IPv4, TCP/UDP/ICMP ---- */

#define FRAME_VNET_LEN sizeof(struct virtio_net_hdr)

struct frame_spec {
    uint8_t smac[6], dmac[6];
    uint32_t saddr, daddr;
    uint8_t proto;
    uint8_t ttl;              /* 0 means 64 */
    uint16_t ip_id;
    uint16_t frag;            /* flags and offset */
    uint16_t sport, dport;    /* TCP, UDP */
    uint8_t tcp_flags;
    uint32_t seq, ack;
    uint8_t icmp_type, icmp_code;
    uint32_t icmp_rest;       /* the second word of the ICMP header (id/seq, next-hop MTU) */
    const uint8_t *data;      /* payload bytes; NULL: a pattern */
    size_t payload;           /* payload length */
    bool no_l4_header;        /* a later fragment: the payload follows the IP header directly */
    uint16_t udp_len;         /* 0: from the payload (a first fragment states the whole datagram) */
    bool udp_nocsum;
    bool partial_csum;        /* TCP/UDP: field holds the folded pseudo-header sum, NEEDS_CSUM set */
    struct virtio_net_hdr vnet; /* copied as is (partial_csum adds its flags and offsets) */
};

/* Writes vnet header + frame into buf with correct checksums; returns the total length. */
static inline size_t frame_build(uint8_t *buf, const struct frame_spec *s)
{
    struct virtio_net_hdr vh = s->vnet;
    uint8_t *f = buf + FRAME_VNET_LEN;
    memcpy(f, s->dmac, 6);
    memcpy(f + 6, s->smac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    size_t l4h = s->no_l4_header ? 0 : s->proto == IPPROTO_TCP ? 20 : 8;
    size_t l4len = l4h + s->payload;
    memset(ip, 0, 20 + l4h);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + l4len));
    put16(ip + 4, s->ip_id);
    put16(ip + 6, s->frag);
    ip[8] = s->ttl ? s->ttl : 64;
    ip[9] = s->proto;
    put32(ip + 12, s->saddr);
    put32(ip + 16, s->daddr);
    uint8_t *l4 = ip + 20;
    if (s->data)
        memcpy(l4 + l4h, s->data, s->payload);
    else
        for (size_t i = 0; i < s->payload; i++)
            l4[l4h + i] = (uint8_t)(i * 7 + 3);
    put16(ip + 10, (uint16_t)~ref_fold(ref_sum(ip, 20, 0)));
    if (!s->no_l4_header) {
        size_t co = l4checkoff(s->proto);
        if (s->proto == IPPROTO_TCP) {
            put16(l4, s->sport);
            put16(l4 + 2, s->dport);
            put32(l4 + 4, s->seq);
            put32(l4 + 8, s->ack);
            l4[12] = 5 << 4;
            l4[13] = s->tcp_flags;
            put16(l4 + 14, 64240);
        } else if (s->proto == IPPROTO_UDP) {
            put16(l4, s->sport);
            put16(l4 + 2, s->dport);
            put16(l4 + 4, s->udp_len ? s->udp_len : (uint16_t)l4len);
        } else {
            l4[0] = s->icmp_type;
            l4[1] = s->icmp_code;
            put32(l4 + 4, s->icmp_rest);
        }
        if (s->proto == IPPROTO_ICMP) {
            put16(l4 + co, (uint16_t)~ref_fold(ref_sum(l4, l4len, 0)));
        } else if (s->partial_csum) {
            put16(l4 + co, ref_fold(pseudo_sum(f)));
            vh.flags |= VIRTIO_NET_HDR_F_NEEDS_CSUM;
            vh.csum_start = 14 + 20;
            vh.csum_offset = (uint16_t)co;
        } else if (!(s->proto == IPPROTO_UDP && s->udp_nocsum)) {
            uint16_t c = (uint16_t)~ref_fold(ref_sum(l4, l4len, pseudo_sum(f)));
            if (s->proto == IPPROTO_UDP && c == 0)
                c = 0xffff;
            put16(l4 + co, c);
        }
    }
    memcpy(buf, &vh, sizeof vh);
    return FRAME_VNET_LEN + 14 + 20 + l4len;
}

/* An Ethernet/IPv4 ARP frame (padded to 60 bytes as on the wire) after an empty vnet header. */
static inline size_t frame_build_arp(uint8_t *buf, uint16_t op, const uint8_t *smac, const uint8_t *dmac,
                                     const uint8_t *sha, uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
    memset(buf, 0, FRAME_VNET_LEN + 60);
    uint8_t *f = buf + FRAME_VNET_LEN;
    memcpy(f, dmac, 6);
    memcpy(f + 6, smac, 6);
    put16(f + 12, 0x0806);
    uint8_t *a = f + 14;
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, sha, 6);
    put32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    put32(a + 24, tpa);
    return FRAME_VNET_LEN + 60;
}

#endif
