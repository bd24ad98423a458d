/* packet: see packet.h. */
#include "packet.h"

#include <netinet/in.h>
#include <string.h>

bool packet_is_arp(const uint8_t *frame, size_t len)
{
    return len >= ETH_HLEN_ && ntohs(pkt_rd16(frame + ETH_OFF_TYPE)) == ETHERTYPE_ARP;
}

bool arp_parse(const uint8_t *eth, size_t len, struct arp_view *a)
{
    if (len < ETH_HLEN_ + ARP_LEN || !packet_is_arp(eth, len))
        return false;
    const uint8_t *arp = eth + ETH_HLEN_;
    if (ntohs(pkt_rd16(arp)) != ARP_HTYPE_ETHER || ntohs(pkt_rd16(arp + 2)) != ETHERTYPE_IPV4 || arp[4] != ETH_ALEN_ ||
        arp[5] != ARP_PLEN_IPV4)
        return false;
    a->op = ntohs(pkt_rd16(arp + 6));
    a->sha = arp + 8;
    a->spa = pkt_rd32(arp + 14);
    a->tpa = pkt_rd32(arp + 24);
    return true;
}

uint16_t csum_fold32(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

uint32_t csum_partial(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *b = data;
    uint64_t acc = sum;
    for (; len >= 2; b += 2, len -= 2)
        acc += pkt_rd16(b);
    if (len) {
        uint8_t last[2] = { b[0], 0 };
        acc += pkt_rd16(last);
    }
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return csum_fold32((uint32_t)acc);
}

uint16_t csum_buffer(const void *data, size_t len)
{
    return (uint16_t)~csum_fold32(csum_partial(data, len, 0));
}

/* Incremental updates (RFC 1624) are carried as a delta: the sum of ~old + new over every field
 * that changed, in 64 bits, folded once where it is applied. All sums are on 16-bit words in
 * network order, so no byte swapping is needed (RFC 1071), and since 2^16 = 1 modulo 0xffff a
 * 32-bit word adds as its two 16-bit halves would. */
static inline uint64_t delta32(uint32_t from, uint32_t to)
{
    return (uint64_t)(uint32_t)~from + to;
}
static inline uint64_t delta16(uint16_t from, uint16_t to)
{
    return (uint64_t)(uint16_t)~from + to;
}
static inline uint16_t fold64(uint64_t s)
{
    s = (s & 0xffffffffu) + (s >> 32);
    s = (s & 0xffffffffu) + (s >> 32);
    return csum_fold32((uint32_t)s);
}
/* A delta applied to a partial (uncomplemented) sum, and to a checksum: HC' = ~(~HC + delta). */
static inline uint16_t sum_apply(uint16_t sum, uint64_t delta)
{
    return fold64(sum + delta);
}
static inline uint16_t csum_apply(uint16_t check, uint64_t delta)
{
    return (uint16_t)~sum_apply((uint16_t)~check, delta);
}

uint16_t csum_partial_replace4(uint16_t sum, uint32_t from, uint32_t to)
{
    return sum_apply(sum, delta32(from, to));
}

uint16_t csum_replace4(uint16_t check, uint32_t from, uint32_t to)
{
    return csum_apply(check, delta32(from, to));
}

uint16_t csum_replace2(uint16_t check, uint16_t from, uint16_t to)
{
    return csum_apply(check, delta16(from, to));
}

/* Every rewrite below changes fields (each returning its delta) and then applies the deltas'
 * sum once to each checksum it touches. */

/* Whether the packet has ports (TCP or UDP, first fragment). */
static inline bool has_ports(const struct parsed *p)
{
    return p->l4 && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP);
}

static inline uint64_t change_addr(struct parsed *p, size_t off, uint32_t addr)
{
    uint32_t old = pkt_rd32(p->ip + off);
    pkt_wr32(p->ip + off, addr);
    if (off == IP_OFF_SADDR)
        p->saddr = addr;
    else
        p->daddr = addr;
    return delta32(old, addr);
}

static inline uint64_t change_port(struct parsed *p, size_t off, uint16_t port)
{
    uint16_t old = pkt_rd16(p->l4 + off);
    pkt_wr16(p->l4 + off, port);
    if (off == L4_OFF_SPORT)
        p->sport = port;
    else
        p->dport = port;
    return delta16(old, port);
}

/* TTL shares a 16-bit word with the protocol byte. The caller checked packet_ttl_ok. */
static inline uint64_t change_ttl(struct parsed *p)
{
    uint16_t old = pkt_rd16(p->ip + IP_OFF_TTL);
    p->ip[IP_OFF_TTL]--;
    return delta16(old, pkt_rd16(p->ip + IP_OFF_TTL));
}

static inline void ip_csum_update(struct parsed *p, uint64_t delta)
{
    pkt_wr16(p->ip + IP_OFF_CHECK, csum_apply(pkt_rd16(p->ip + IP_OFF_CHECK), delta));
}

/* The L4 checksum of TCP and UDP after address changes (pseudo, in the pseudo-header) and port
 * changes (ports). A partial sum the kernel completes (needs_csum) covers the pseudo-header
 * only, not the ports yet. Other protocols have no checksum over addresses (ICMP). */
static inline void l4_csum_update(struct parsed *p, uint64_t pseudo, uint64_t ports, bool needs_csum)
{
    if (!has_ports(p))
        return;
    uint8_t *check = p->l4 + (p->proto == IPPROTO_TCP ? TCP_OFF_CHECK : UDP_OFF_CHECK);
    uint16_t c = pkt_rd16(check);
    if (needs_csum) {
        c = sum_apply(c, pseudo);
    } else if (p->proto == IPPROTO_UDP && c == 0) {
        return; /* no checksum: stays none */
    } else {
        c = csum_apply(c, pseudo + ports);
        if (p->proto == IPPROTO_UDP && c == 0)
            c = 0xffff; /* RFC 768: a computed zero is sent as all ones */
    }
    pkt_wr16(check, c);
}

static inline void set_addr(struct parsed *p, size_t off, uint32_t addr, bool needs_csum)
{
    uint64_t d = change_addr(p, off, addr);
    ip_csum_update(p, d);
    l4_csum_update(p, d, 0, needs_csum);
}

static inline void set_port(struct parsed *p, size_t off, uint16_t port, bool needs_csum)
{
    if (has_ports(p))
        l4_csum_update(p, 0, change_port(p, off, port), needs_csum);
}

/* NAT of a forwarded packet: TTL, one address and (TCP, UDP) its port, each checksum once. */
static inline void forward_nat(struct parsed *p, size_t addr_off, size_t port_off, uint32_t addr, uint16_t port,
                               bool needs_csum)
{
    uint64_t d = change_addr(p, addr_off, addr);
    ip_csum_update(p, d + change_ttl(p));
    l4_csum_update(p, d, has_ports(p) ? change_port(p, port_off, port) : 0, needs_csum);
}

void packet_set_daddr(struct parsed *p, uint32_t addr, bool needs_csum) { set_addr(p, IP_OFF_DADDR, addr, needs_csum); }
void packet_set_saddr(struct parsed *p, uint32_t addr, bool needs_csum) { set_addr(p, IP_OFF_SADDR, addr, needs_csum); }
void packet_set_dport(struct parsed *p, uint16_t port, bool needs_csum) { set_port(p, L4_OFF_DPORT, port, needs_csum); }
void packet_set_sport(struct parsed *p, uint16_t port, bool needs_csum) { set_port(p, L4_OFF_SPORT, port, needs_csum); }

void packet_forward_dnat(struct parsed *p, uint32_t addr, uint16_t port, bool needs_csum)
{
    forward_nat(p, IP_OFF_DADDR, L4_OFF_DPORT, addr, port, needs_csum);
}
void packet_forward_snat(struct parsed *p, uint32_t addr, uint16_t port, bool needs_csum)
{
    forward_nat(p, IP_OFF_SADDR, L4_OFF_SPORT, addr, port, needs_csum);
}

bool packet_dec_ttl(struct parsed *p)
{
    if (!packet_ttl_ok(p))
        return false;
    ip_csum_update(p, change_ttl(p));
    return true;
}
