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

uint16_t csum_partial_replace4(uint16_t sum, uint32_t from, uint32_t to)
{
    return csum_sum_apply(sum, csum_delta32(from, to));
}

uint16_t csum_replace4(uint16_t check, uint32_t from, uint32_t to)
{
    return csum_apply(check, csum_delta32(from, to));
}

uint16_t csum_replace2(uint16_t check, uint16_t from, uint16_t to)
{
    return csum_apply(check, csum_delta16(from, to));
}

static inline void set_addr(struct parsed *p, size_t off, uint32_t addr, bool needs_csum)
{
    uint64_t d = pkt_change_addr(p, off, addr);
    pkt_ip_csum_update(p, d);
    pkt_l4_csum_update(p, d, 0, needs_csum);
}

static inline void set_port(struct parsed *p, size_t off, uint16_t port, bool needs_csum)
{
    if (packet_has_ports(p))
        pkt_l4_csum_update(p, 0, pkt_change_port(p, off, port), needs_csum);
}

void packet_set_daddr(struct parsed *p, uint32_t addr, bool needs_csum) { set_addr(p, IP_OFF_DADDR, addr, needs_csum); }
void packet_set_saddr(struct parsed *p, uint32_t addr, bool needs_csum) { set_addr(p, IP_OFF_SADDR, addr, needs_csum); }
void packet_set_dport(struct parsed *p, uint16_t port, bool needs_csum) { set_port(p, L4_OFF_DPORT, port, needs_csum); }
void packet_set_sport(struct parsed *p, uint16_t port, bool needs_csum) { set_port(p, L4_OFF_SPORT, port, needs_csum); }

bool packet_dec_ttl(struct parsed *p)
{
    if (!packet_ttl_ok(p))
        return false;
    pkt_ip_csum_update(p, pkt_change_ttl(p));
    return true;
}
