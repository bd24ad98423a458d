/* packet: parsing of Ethernet/IPv4/TCP/UDP/ICMP and ARP frames as they arrive from an AF_PACKET
 * socket with PACKET_VNET_HDR, and the incremental checksum arithmetic of RFC 1624. Pure
 * functions on caller-owned buffers: no I/O, no allocation, no global state (fuzzed and
 * unit-tested). Field offsets are spelled out with names instead of casting to kernel structs, so
 * unaligned frames (after the 10-byte vnet header) are read safely. */
#ifndef RAWLB_PACKET_H
#define RAWLB_PACKET_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

#include "inline.h"

#define ETH_HLEN_ 14
#define ETH_ALEN_ 6
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define VNET_HLEN sizeof(struct virtio_net_hdr)

#define TH_FIN_ 0x01
#define TH_SYN_ 0x02
#define TH_RST_ 0x04
#define TH_ACK_ 0x10

#define IP_DF_ 0x4000
#define IP_MF_ 0x2000
#define IP_OFFMASK_ 0x1fff
#define IP_OFF_TOTLEN 2
#define IP_OFF_ID 4
#define IP_OFF_FRAG 6
#define IP_OFF_TTL 8
#define IP_OFF_PROTO 9
#define IP_OFF_CHECK 10
#define IP_OFF_SADDR 12
#define IP_OFF_DADDR 16
#define IP_MIN_HLEN 20
#define TCP_MIN_HLEN 20
#define TCP_OFF_DOFF 12 /* data offset, in the high nibble */
#define TCP_OFF_FLAGS 13
#define TCP_OFF_CHECK 16
#define UDP_HLEN 8
#define UDP_OFF_CHECK 6
#define L4_OFF_SPORT 0
#define L4_OFF_DPORT 2
#define ETH_OFF_TYPE 12
#define ARP_LEN 28
#define ARP_HTYPE_ETHER 1
#define ARP_PLEN_IPV4 4

/* Why a frame was not parsed; each reason is a drop counter. */
enum parse_result {
    PARSE_OK,
    PARSE_NOT_IPV4,  /* ARP and other ethertypes: the caller decides */
    PARSE_TRUNCATED, /* shorter than its headers say */
    PARSE_BAD_IP,    /* version, header length, total length */
    PARSE_BAD_L4,    /* TCP data offset below 20 or beyond the frame */
};

struct parsed {
    uint8_t *eth;       /* frame start (after the vnet header) */
    size_t frame_len;   /* bytes received */
    uint8_t *ip;        /* IPv4 header */
    size_t ip_hlen;
    size_t ip_len;      /* total length from the header (<= frame space) */
    uint8_t proto;
    uint32_t saddr, daddr; /* network order */
    uint16_t frag;      /* host order: flags and offset */
    uint16_t ip_id;     /* network order */
    uint8_t *l4;        /* NULL for non-first fragments */
    size_t l4_len;      /* bytes of L4 header+payload inside ip_len */
    size_t l4_hlen;     /* TCP: the data offset; UDP: 8; 0 for other protocols */
    uint16_t sport, dport; /* network order; 0 without ports */
    uint8_t tcp_flags;
};



/* An ARP frame, as far as rawlb cares (Ethernet/IPv4 ARP only). */
struct arp_view {
    uint16_t op;          /* host order: 1 request, 2 reply */
    const uint8_t *sha;   /* sender hardware address */
    uint32_t spa, tpa;    /* network order */
};
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

/* Whether a frame of len bytes is ARP by its ethertype (what PARSE_NOT_IPV4 leaves to decide). */
bool packet_is_arp(const uint8_t *frame, size_t len);
/* Parses an Ethernet frame as ARP; false when it is not Ethernet/IPv4 ARP or is too short. */
bool arp_parse(const uint8_t *eth, size_t len, struct arp_view *a);

static inline bool packet_is_fragment(const struct parsed *p)
{
    return (p->frag & (IP_MF_ | IP_OFFMASK_)) != 0;
}
static inline bool packet_is_first_fragment(const struct parsed *p)
{
    return (p->frag & IP_OFFMASK_) == 0;
}

/* Unaligned reads and writes of header fields (network order values). */
static inline uint16_t pkt_rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline uint32_t pkt_rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void pkt_wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, sizeof v); }
static inline void pkt_wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof v); }

/* Parses eth+IPv4+L4 headers of a frame of len bytes. For a GSO superframe the IP total length
 * may be the whole superframe's, which is what we keep. Inline: every frame takes it. */
FAST_INLINE enum parse_result packet_parse(uint8_t *frame, size_t len, struct parsed *p)
{
    *p = (struct parsed){ .eth = frame, .frame_len = len };
    if (len < ETH_HLEN_)
        return PARSE_TRUNCATED;
    if (ntohs(pkt_rd16(frame + ETH_OFF_TYPE)) != ETHERTYPE_IPV4)
        return PARSE_NOT_IPV4;
    uint8_t *ip = frame + ETH_HLEN_;
    size_t room = len - ETH_HLEN_;
    if (room < IP_MIN_HLEN)
        return PARSE_TRUNCATED;
    if ((ip[0] >> 4) != 4)
        return PARSE_BAD_IP;
    size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
    size_t tot = ntohs(pkt_rd16(ip + IP_OFF_TOTLEN));
    if (hlen < IP_MIN_HLEN || tot < hlen)
        return PARSE_BAD_IP;
    if (tot > room) /* and so the header, no longer than tot */
        return PARSE_TRUNCATED;
    p->ip = ip;
    p->ip_hlen = hlen;
    p->ip_len = tot;
    p->proto = ip[IP_OFF_PROTO];
    p->saddr = pkt_rd32(ip + IP_OFF_SADDR);
    p->daddr = pkt_rd32(ip + IP_OFF_DADDR);
    p->frag = ntohs(pkt_rd16(ip + IP_OFF_FRAG));
    p->ip_id = pkt_rd16(ip + IP_OFF_ID);
    if (!packet_is_first_fragment(p))
        return PARSE_OK; /* no L4 header in this one */
    uint8_t *l4 = ip + hlen;
    size_t l4_len = tot - hlen;
    switch (p->proto) {
    case IPPROTO_TCP: {
        if (l4_len < TCP_MIN_HLEN)
            return PARSE_TRUNCATED;
        size_t doff = (size_t)(l4[TCP_OFF_DOFF] >> 4) * 4;
        if (doff < TCP_MIN_HLEN || doff > l4_len)
            return PARSE_BAD_L4;
        p->tcp_flags = l4[TCP_OFF_FLAGS];
        p->l4_hlen = doff;
        break;
    }
    case IPPROTO_UDP:
        if (l4_len < UDP_HLEN)
            return PARSE_TRUNCATED;
        p->l4_hlen = UDP_HLEN;
        break;
    default:
        p->l4 = l4;
        p->l4_len = l4_len;
        return PARSE_OK;
    }
    p->l4 = l4;
    p->l4_len = l4_len;
    p->sport = pkt_rd16(l4 + L4_OFF_SPORT);
    p->dport = pkt_rd16(l4 + L4_OFF_DPORT);
    return PARSE_OK;
}

/* One's complement arithmetic on 16-bit words, values kept folded. */
uint16_t csum_fold32(uint32_t sum);
uint32_t csum_partial(const void *data, size_t len, uint32_t sum);
/* Full checksum of a buffer (complemented), e.g. for ICMP and IP headers we build. */
uint16_t csum_buffer(const void *data, size_t len);

/* RFC 1624 eqn. 3 on a complemented checksum field: HC' = ~(~HC + ~m + m'). */
uint16_t csum_replace4(uint16_t check, uint32_t from, uint32_t to);
uint16_t csum_replace2(uint16_t check, uint16_t from, uint16_t to);
/* The same change on a field that holds an uncomplemented partial sum (pseudo-header sum of a
 * frame the kernel will finish: VIRTIO_NET_HDR_F_NEEDS_CSUM). */
uint16_t csum_partial_replace4(uint16_t sum, uint32_t from, uint32_t to);

/* Rewrites of a parsed packet in place; all checksums updated incrementally.
 * needs_csum: the L4 checksum field is a partial sum the kernel completes on send. */
void packet_set_daddr(struct parsed *p, uint32_t addr, bool needs_csum);
void packet_set_saddr(struct parsed *p, uint32_t addr, bool needs_csum);
void packet_set_dport(struct parsed *p, uint16_t port, bool needs_csum);
void packet_set_sport(struct parsed *p, uint16_t port, bool needs_csum);
/* TTL minus one; returns false (and changes nothing) when the packet must not be forwarded. */
bool packet_dec_ttl(struct parsed *p);
/* Whether the packet may be forwarded: a TTL that stays above zero after the hop. */
static inline bool packet_ttl_ok(const struct parsed *p)
{
    return p->ip[IP_OFF_TTL] > 1;
}

/* ---- the rewrites' checksum arithmetic, inline for the forwarding path ---- */

/* Incremental updates (RFC 1624) are carried as a delta: the sum of ~old + new over every field
 * that changed, in 64 bits, folded once where it is applied. All sums are on 16-bit words in
 * network order, so no byte swapping is needed (RFC 1071), and since 2^16 = 1 modulo 0xffff a
 * 32-bit word adds as its two 16-bit halves would. */
FAST_INLINE uint64_t csum_delta32(uint32_t from, uint32_t to)
{
    return (uint64_t)(uint32_t)~from + to;
}
FAST_INLINE uint64_t csum_delta16(uint16_t from, uint16_t to)
{
    return (uint64_t)(uint16_t)~from + to;
}
/* Folds a sum of at most eight 32-bit terms (below 2^35): three folds bring it into 16 bits. */
FAST_INLINE uint16_t csum_fold64(uint64_t s)
{
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}
/* A delta applied to a partial (uncomplemented) sum, and to a checksum: HC' = ~(~HC + delta). */
FAST_INLINE uint16_t csum_sum_apply(uint16_t sum, uint64_t delta)
{
    return csum_fold64(sum + delta);
}
FAST_INLINE uint16_t csum_apply(uint16_t check, uint64_t delta)
{
    return (uint16_t)~csum_sum_apply((uint16_t)~check, delta);
}

/* Every rewrite changes fields (each returning its delta) and then applies the deltas' sum
 * once to each checksum it touches. */

/* Whether the packet has ports (TCP or UDP, first fragment). */
FAST_INLINE bool packet_has_ports(const struct parsed *p)
{
    return p->l4_hlen != 0; /* packet_parse sets it for exactly those */
}

FAST_INLINE uint64_t pkt_change_addr(struct parsed *p, size_t off, uint32_t addr)
{
    uint32_t old = pkt_rd32(p->ip + off);
    pkt_wr32(p->ip + off, addr);
    if (off == IP_OFF_SADDR)
        p->saddr = addr;
    else
        p->daddr = addr;
    return csum_delta32(old, addr);
}

FAST_INLINE uint64_t pkt_change_port(struct parsed *p, size_t off, uint16_t port)
{
    uint16_t old = pkt_rd16(p->l4 + off);
    pkt_wr16(p->l4 + off, port);
    if (off == L4_OFF_SPORT)
        p->sport = port;
    else
        p->dport = port;
    return csum_delta16(old, port);
}

/* TTL shares a 16-bit word with the protocol byte. The caller checked packet_ttl_ok. */
FAST_INLINE uint64_t pkt_change_ttl(struct parsed *p)
{
    uint16_t old = pkt_rd16(p->ip + IP_OFF_TTL);
    p->ip[IP_OFF_TTL]--;
    return csum_delta16(old, pkt_rd16(p->ip + IP_OFF_TTL));
}

FAST_INLINE void pkt_ip_csum_update(struct parsed *p, uint64_t delta)
{
    pkt_wr16(p->ip + IP_OFF_CHECK, csum_apply(pkt_rd16(p->ip + IP_OFF_CHECK), delta));
}

/* The L4 checksum of TCP and UDP after address changes (pseudo, in the pseudo-header) and port
 * changes (ports). A partial sum the kernel completes (needs_csum) covers the pseudo-header
 * only, not the ports yet. Other protocols have no checksum over addresses (ICMP). */
FAST_INLINE void pkt_l4_csum_update(struct parsed *p, uint64_t pseudo, uint64_t ports, bool needs_csum)
{
    if (!packet_has_ports(p))
        return;
    uint8_t *check = p->l4 + (p->proto == IPPROTO_TCP ? TCP_OFF_CHECK : UDP_OFF_CHECK);
    uint16_t c = pkt_rd16(check);
    if (needs_csum) {
        c = csum_sum_apply(c, pseudo);
    } else if (p->proto == IPPROTO_UDP && c == 0) {
        return; /* no checksum: stays none */
    } else {
        c = csum_apply(c, pseudo + ports);
        if (p->proto == IPPROTO_UDP && c == 0)
            c = 0xffff; /* RFC 768: a computed zero is sent as all ones */
    }
    pkt_wr16(check, c);
}

/* NAT of a forwarded packet: TTL, one address and (TCP, UDP) its port, each checksum once. */
FAST_INLINE void pkt_forward_nat(struct parsed *p, size_t addr_off, size_t port_off, uint32_t addr, uint16_t port,
                                 bool needs_csum)
{
    uint64_t d = pkt_change_addr(p, addr_off, addr);
    pkt_ip_csum_update(p, d + pkt_change_ttl(p));
    pkt_l4_csum_update(p, d, packet_has_ports(p) ? pkt_change_port(p, port_off, port) : 0, needs_csum);
}

/* The forwarding rewrite of NAT in one pass, after packet_ttl_ok: TTL minus one and the
 * destination (dnat) or source (snat) address and, for TCP and UDP, port replaced; the IP and
 * the L4 checksum are each updated once for all of it (the same result as packet_set_daddr,
 * packet_set_dport and packet_dec_ttl one after the other). */
FAST_INLINE void packet_forward_dnat(struct parsed *p, uint32_t addr, uint16_t port, bool needs_csum)
{
    pkt_forward_nat(p, IP_OFF_DADDR, L4_OFF_DPORT, addr, port, needs_csum);
}
FAST_INLINE void packet_forward_snat(struct parsed *p, uint32_t addr, uint16_t port, bool needs_csum)
{
    pkt_forward_nat(p, IP_OFF_SADDR, L4_OFF_SPORT, addr, port, needs_csum);
}

#endif
