/* reply: see reply.h. */
#include "reply.h"

#include <netinet/in.h>
#include <string.h>

#define ICMP_ECHO_REPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define TCP_HLEN 20
#define DEFAULT_TTL 64
#define ETH_GROUP_BIT 0x01 /* I/G bit of the first address octet: broadcast or multicast */
/* Sources that name no single host (RFC 1122 3.2.1.3), as prefix and mask in host order. */
#define NET_ZERO 0x00000000u
#define NET_LOOPBACK 0x7f000000u
#define MASK_8 0xff000000u
#define NET_MULTICAST_AND_E 0xe0000000u /* 224/4 multicast and 240/4 class E with the broadcast */
#define MASK_3 0xe0000000u

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Frames we make ourselves carry complete checksums and no segmentation request. */
static uint8_t *clear_vnet(uint8_t *buf)
{
    memset(buf, 0, VNET_HLEN);
    return buf + VNET_HLEN;
}

static void eth_reply(uint8_t *eth, const uint8_t *our_mac)
{
    memcpy(eth, eth + ETH_ALEN_, ETH_ALEN_); /* back to whoever sent it */
    memcpy(eth + ETH_ALEN_, our_mac, ETH_ALEN_);
}

size_t reply_arp(uint8_t *buf, size_t len, const uint8_t *our_mac)
{
    uint8_t *eth = clear_vnet(buf);
    uint8_t *arp = eth + ETH_HLEN_;
    uint8_t target_ip[4];
    memcpy(target_ip, arp + 24, 4);
    eth_reply(eth, our_mac);
    put16(arp + 6, htons(ARP_OP_REPLY));
    memcpy(arp + 18, arp + 8, ETH_ALEN_ + 4); /* target := requester */
    memcpy(arp + 8, our_mac, ETH_ALEN_);
    memcpy(arp + 14, target_ip, 4);
    return len;
}

static void ip_finish(uint8_t *ip, size_t total, uint8_t proto, uint32_t saddr, uint32_t daddr)
{
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, htons((uint16_t)total));
    put16(ip + 4, 0);
    put16(ip + 6, htons(IP_DF_));
    ip[8] = DEFAULT_TTL;
    ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, saddr);
    put32(ip + 16, daddr);
    put16(ip + 10, csum_buffer(ip, REPLY_IP_HLEN));
}

size_t reply_echo(uint8_t *buf, const struct parsed *p, const uint8_t *our_mac)
{
    /* Keep the request's payload; drop any IP options (they would need processing). */
    uint8_t *eth = clear_vnet(buf);
    uint8_t *ip = eth + ETH_HLEN_;
    size_t icmp_len = p->l4_len;
    eth_reply(eth, our_mac);
    memmove(ip + REPLY_IP_HLEN, p->l4, icmp_len);
    uint8_t *icmp = ip + REPLY_IP_HLEN;
    icmp[0] = ICMP_ECHO_REPLY;
    put16(icmp + 2, 0);
    put16(icmp + 2, csum_buffer(icmp, icmp_len));
    ip_finish(ip, REPLY_IP_HLEN + icmp_len, IPPROTO_ICMP, p->daddr, p->saddr);
    return VNET_HLEN + ETH_HLEN_ + REPLY_IP_HLEN + icmp_len;
}

size_t reply_tcp_rst(uint8_t *buf, const struct parsed *p, const uint8_t *our_mac)
{
    const uint8_t *in = p->l4;
    uint32_t in_seq = ntohl(get32(in + 4)), in_ack = ntohl(get32(in + 8));
    uint32_t seg_len = (uint32_t)(p->l4_len - p->l4_hlen) + ((p->tcp_flags & TH_SYN_) ? 1 : 0) +
                       ((p->tcp_flags & TH_FIN_) ? 1 : 0);
    uint16_t sport = p->dport, dport = p->sport;
    uint32_t saddr = p->daddr, daddr = p->saddr;
    uint32_t seq, ack;
    uint8_t flags;
    /* RFC 793 reset generation: take the sequence number from the ACK if there is one. */
    if (p->tcp_flags & TH_ACK_) {
        seq = in_ack;
        ack = 0;
        flags = TH_RST_;
    } else {
        seq = 0;
        ack = in_seq + seg_len;
        flags = TH_RST_ | TH_ACK_;
    }
    uint8_t *eth = clear_vnet(buf);
    uint8_t *ip = eth + ETH_HLEN_;
    uint8_t *tcp = ip + REPLY_IP_HLEN;
    eth_reply(eth, our_mac);
    memset(tcp, 0, TCP_HLEN);
    put16(tcp, sport);
    put16(tcp + 2, dport);
    put32(tcp + 4, htonl(seq));
    put32(tcp + 8, htonl(ack));
    tcp[12] = (TCP_HLEN / 4) << 4;
    tcp[13] = flags;
    uint8_t pseudo[12];
    put32(pseudo, saddr);
    put32(pseudo + 4, daddr);
    pseudo[8] = 0;
    pseudo[9] = IPPROTO_TCP;
    put16(pseudo + 10, htons(TCP_HLEN));
    put16(tcp + 16, (uint16_t)~csum_fold32(csum_partial(tcp, TCP_HLEN, csum_partial(pseudo, sizeof pseudo, 0))));
    ip_finish(ip, REPLY_IP_HLEN + TCP_HLEN, IPPROTO_TCP, saddr, daddr);
    return VNET_HLEN + ETH_HLEN_ + REPLY_IP_HLEN + TCP_HLEN;
}

/* An ICMP error (type, code, second header word rest) from src to the sender of p, quoting p's
 * IP header and the first 8 bytes after it. */
static size_t icmp_error(uint8_t *buf, const struct parsed *p, uint32_t src, uint8_t type, uint8_t code,
                         uint32_t rest, const uint8_t *our_mac)
{
    size_t quote = p->ip_hlen + REPLY_QUOTE_L4_BYTES;
    if (quote > p->ip_len)
        quote = p->ip_len;
    uint32_t dst = p->saddr;
    uint8_t *eth = clear_vnet(buf);
    uint8_t *ip = eth + ETH_HLEN_;
    uint8_t *icmp = ip + REPLY_IP_HLEN;
    eth_reply(eth, our_mac);
    /* The quote moves forward by the new headers' size: memmove copes with the overlap. */
    memmove(icmp + REPLY_ICMP_HLEN, p->ip, quote);
    icmp[0] = type;
    icmp[1] = code;
    put16(icmp + 2, 0);
    put32(icmp + 4, htonl(rest));
    put16(icmp + 2, csum_buffer(icmp, REPLY_ICMP_HLEN + quote));
    ip_finish(ip, REPLY_IP_HLEN + REPLY_ICMP_HLEN + quote, IPPROTO_ICMP, src, dst);
    return VNET_HLEN + ETH_HLEN_ + REPLY_IP_HLEN + REPLY_ICMP_HLEN + quote;
}

size_t reply_frag_needed(uint8_t *buf, const struct parsed *p, uint32_t src, unsigned mtu, const uint8_t *our_mac)
{
    /* RFC 1191: the next-hop MTU in the low half of the second word. */
    return icmp_error(buf, p, src, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, (uint16_t)mtu, our_mac);
}

size_t reply_port_unreach(uint8_t *buf, const struct parsed *p, const uint8_t *our_mac)
{
    return icmp_error(buf, p, p->daddr, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, our_mac);
}

static bool names_one_host(uint32_t addr)
{
    uint32_t a = ntohl(addr);
    return (a & MASK_8) != NET_ZERO && (a & MASK_8) != NET_LOOPBACK && (a & MASK_3) != NET_MULTICAST_AND_E;
}

bool reply_allowed(const struct parsed *p)
{
    if (!p->l4 || p->proto == IPPROTO_ICMP || (p->proto == IPPROTO_TCP && (p->tcp_flags & TH_RST_)))
        return false;
    return !(p->eth[0] & ETH_GROUP_BIT) && names_one_host(p->saddr);
}
