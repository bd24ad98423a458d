/* packet: see packet.h. Field offsets are spelled out with names below instead of casting
 * to kernel structs, so unaligned frames (after the 10-byte vnet header) are read safely. */
#include "packet.h"

#include <netinet/in.h>
#include <string.h>

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

static inline uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, sizeof v); }
static inline void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof v); }

enum parse_result packet_parse(uint8_t *frame, size_t len, struct parsed *p)
{
    memset(p, 0, sizeof *p);
    p->eth = frame;
    p->frame_len = len;
    if (len < ETH_HLEN_)
        return PARSE_TRUNCATED;
    if (ntohs(rd16(frame + ETH_OFF_TYPE)) != ETHERTYPE_IPV4)
        return PARSE_NOT_IPV4;
    uint8_t *ip = frame + ETH_HLEN_;
    size_t room = len - ETH_HLEN_;
    if (room < IP_MIN_HLEN)
        return PARSE_TRUNCATED;
    if ((ip[0] >> 4) != 4)
        return PARSE_BAD_IP;
    size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
    size_t tot = ntohs(rd16(ip + IP_OFF_TOTLEN));
    if (hlen < IP_MIN_HLEN || tot < hlen)
        return PARSE_BAD_IP;
    if (hlen > room || tot > room)
        return PARSE_TRUNCATED;
    p->ip = ip;
    p->ip_hlen = hlen;
    p->ip_len = tot;
    p->proto = ip[IP_OFF_PROTO];
    p->saddr = rd32(ip + IP_OFF_SADDR);
    p->daddr = rd32(ip + IP_OFF_DADDR);
    p->frag = ntohs(rd16(ip + IP_OFF_FRAG));
    p->ip_id = rd16(ip + IP_OFF_ID);
    if (!packet_is_first_fragment(p))
        return PARSE_OK; /* no L4 header in this one */
    uint8_t *l4 = ip + hlen;
    size_t l4_len = tot - hlen;
    switch (p->proto) {
    case IPPROTO_TCP: {
        if (l4_len < TCP_MIN_HLEN)
            return PARSE_TRUNCATED;
        size_t doff = (size_t)(l4[12] >> 4) * 4;
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
    p->sport = rd16(l4 + L4_OFF_SPORT);
    p->dport = rd16(l4 + L4_OFF_DPORT);
    return PARSE_OK;
}

bool packet_is_arp(const uint8_t *frame, size_t len)
{
    return len >= ETH_HLEN_ && ntohs(rd16(frame + ETH_OFF_TYPE)) == ETHERTYPE_ARP;
}

bool arp_parse(const uint8_t *eth, size_t len, struct arp_view *a)
{
    if (len < ETH_HLEN_ + ARP_LEN || !packet_is_arp(eth, len))
        return false;
    const uint8_t *arp = eth + ETH_HLEN_;
    if (ntohs(rd16(arp)) != ARP_HTYPE_ETHER || ntohs(rd16(arp + 2)) != ETHERTYPE_IPV4 || arp[4] != ETH_ALEN_ ||
        arp[5] != ARP_PLEN_IPV4)
        return false;
    a->op = ntohs(rd16(arp + 6));
    a->sha = arp + 8;
    a->spa = rd32(arp + 14);
    a->tpa = rd32(arp + 24);
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
        acc += rd16(b);
    if (len) {
        uint8_t last[2] = { b[0], 0 };
        acc += rd16(last);
    }
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return csum_fold32((uint32_t)acc);
}

uint16_t csum_buffer(const void *data, size_t len)
{
    return (uint16_t)~csum_fold32(csum_partial(data, len, 0));
}

/* All sums are on 16-bit words in network order, so no byte swapping is needed (RFC 1071). */
uint16_t csum_partial_replace4(uint16_t sum, uint32_t from, uint32_t to)
{
    uint32_t s = sum;
    s += (uint16_t)~(from & 0xffff);
    s += (uint16_t)~(from >> 16);
    s += to & 0xffff;
    s += to >> 16;
    return csum_fold32(s);
}

uint16_t csum_replace4(uint16_t check, uint32_t from, uint32_t to)
{
    return (uint16_t)~csum_partial_replace4((uint16_t)~check, from, to);
}

uint16_t csum_replace2(uint16_t check, uint16_t from, uint16_t to)
{
    uint32_t s = (uint16_t)~check;
    s += (uint16_t)~from;
    s += to;
    return (uint16_t)~csum_fold32(s);
}

/* Where the L4 checksum of this packet is, or NULL (non-first fragment, other protocol). */
static uint8_t *l4_check_field(const struct parsed *p)
{
    if (!p->l4)
        return NULL;
    if (p->proto == IPPROTO_TCP)
        return p->l4 + TCP_OFF_CHECK;
    if (p->proto == IPPROTO_UDP)
        return p->l4 + UDP_OFF_CHECK;
    return NULL;
}

/* An address change touches the IP header checksum and, through the pseudo-header, the L4 one. */
static void set_addr(struct parsed *p, size_t off, uint32_t addr, bool needs_csum)
{
    uint32_t old = rd32(p->ip + off);
    wr32(p->ip + off, addr);
    wr16(p->ip + IP_OFF_CHECK, csum_replace4(rd16(p->ip + IP_OFF_CHECK), old, addr));
    uint8_t *check = l4_check_field(p);
    if (check) {
        uint16_t c = rd16(check);
        if (needs_csum)
            c = csum_partial_replace4(c, old, addr);
        else if (p->proto == IPPROTO_UDP && c == 0)
            ; /* no checksum: stays none */
        else {
            c = csum_replace4(c, old, addr);
            if (p->proto == IPPROTO_UDP && c == 0)
                c = 0xffff; /* RFC 768: a computed zero is sent as all ones */
        }
        wr16(check, c);
    }
    if (off == IP_OFF_SADDR)
        p->saddr = addr;
    else
        p->daddr = addr;
}

/* Ports are outside the pseudo-header: a partial sum does not cover them yet. */
static void set_port(struct parsed *p, size_t off, uint16_t port, bool needs_csum)
{
    if (!p->l4 || (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
        return;
    uint16_t old = rd16(p->l4 + off);
    wr16(p->l4 + off, port);
    uint8_t *check = l4_check_field(p);
    if (!needs_csum) {
        uint16_t c = rd16(check);
        if (!(p->proto == IPPROTO_UDP && c == 0)) {
            c = csum_replace2(c, old, port);
            if (p->proto == IPPROTO_UDP && c == 0)
                c = 0xffff;
            wr16(check, c);
        }
    }
    if (off == L4_OFF_SPORT)
        p->sport = port;
    else
        p->dport = port;
}

void packet_set_daddr(struct parsed *p, uint32_t addr, bool needs_csum) { set_addr(p, IP_OFF_DADDR, addr, needs_csum); }
void packet_set_saddr(struct parsed *p, uint32_t addr, bool needs_csum) { set_addr(p, IP_OFF_SADDR, addr, needs_csum); }
void packet_set_dport(struct parsed *p, uint16_t port, bool needs_csum) { set_port(p, L4_OFF_DPORT, port, needs_csum); }
void packet_set_sport(struct parsed *p, uint16_t port, bool needs_csum) { set_port(p, L4_OFF_SPORT, port, needs_csum); }

bool packet_dec_ttl(struct parsed *p)
{
    uint8_t ttl = p->ip[IP_OFF_TTL];
    if (ttl <= 1)
        return false;
    /* TTL shares a 16-bit word with the protocol byte. */
    uint16_t old = rd16(p->ip + IP_OFF_TTL);
    p->ip[IP_OFF_TTL] = (uint8_t)(ttl - 1);
    wr16(p->ip + IP_OFF_CHECK, csum_replace2(rd16(p->ip + IP_OFF_CHECK), old, rd16(p->ip + IP_OFF_TTL)));
    return true;
}
