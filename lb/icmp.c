/* icmp: see icmp.h. */
#include "icmp.h"

#include <netinet/in.h>
#include <string.h>

#define ICMP_HLEN 8
#define ICMP_DEST_UNREACH 3
#define ICMP_SOURCE_QUENCH 4
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETER_PROB 12
#define IP_MIN_HLEN 20
#define QUOTE_PORT_BYTES 4
#define UDP_CHECK_OFF 6
#define UDP_CHECK_END 8
#define TCP_CHECK_OFF 16
#define TCP_CHECK_END 18

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

bool icmp_is_echo_request(const struct parsed *p)
{
    return p->proto == IPPROTO_ICMP && p->l4 && p->l4_len >= ICMP_HLEN && p->l4[0] == ICMP_TYPE_ECHO_REQUEST &&
           p->l4[1] == 0;
}

bool icmp_parse_error(const struct parsed *p, struct icmp_quote *q)
{
    if (p->proto != IPPROTO_ICMP || !p->l4 || p->l4_len < ICMP_HLEN + IP_MIN_HLEN)
        return false;
    uint8_t type = p->l4[0];
    if (type != ICMP_DEST_UNREACH && type != ICMP_SOURCE_QUENCH && type != ICMP_TIME_EXCEEDED &&
        type != ICMP_PARAMETER_PROB)
        return false;
    uint8_t *ip = p->l4 + ICMP_HLEN;
    size_t avail = p->l4_len - ICMP_HLEN;
    size_t hlen = (size_t)(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || hlen < IP_MIN_HLEN || avail < hlen + QUOTE_PORT_BYTES)
        return false;
    uint8_t proto = ip[9];
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
        return false;
    if (ntohs(get16(ip + 6)) & IP_OFFMASK_)
        return false; /* quotes a later fragment: no ports to match */
    q->ip = ip;
    q->ip_hlen = hlen;
    q->avail = avail;
    q->proto = proto;
    q->saddr = get32(ip + 12);
    q->daddr = get32(ip + 16);
    q->sport = get16(ip + hlen);
    q->dport = get16(ip + hlen + 2);
    return true;
}

/* The quoted L4 checksum, when the quote reaches it. */
static uint8_t *quote_l4_check(struct icmp_quote *q)
{
    size_t off = q->proto == IPPROTO_UDP ? UDP_CHECK_OFF : TCP_CHECK_OFF;
    size_t end = q->proto == IPPROTO_UDP ? UDP_CHECK_END : TCP_CHECK_END;
    return q->avail >= q->ip_hlen + end ? q->ip + q->ip_hlen + off : NULL;
}

static void quote_fix_l4(struct icmp_quote *q, bool is_addr, uint32_t from, uint32_t to)
{
    uint8_t *check = quote_l4_check(q);
    if (!check)
        return;
    uint16_t c = get16(check);
    if (q->proto == IPPROTO_UDP && c == 0)
        return;
    c = is_addr ? csum_replace4(c, from, to) : csum_replace2(c, (uint16_t)from, (uint16_t)to);
    put16(check, c);
}

static void quote_set_addr(struct icmp_quote *q, size_t off, uint32_t addr)
{
    uint32_t old = get32(q->ip + off);
    put32(q->ip + off, addr);
    put16(q->ip + 10, csum_replace4(get16(q->ip + 10), old, addr));
    quote_fix_l4(q, true, old, addr);
}

static void quote_set_port(struct icmp_quote *q, size_t off, uint16_t port)
{
    uint16_t old = get16(q->ip + q->ip_hlen + off);
    put16(q->ip + q->ip_hlen + off, port);
    quote_fix_l4(q, false, old, port);
}

void icmp_quote_set_saddr(struct icmp_quote *q, uint32_t addr) { quote_set_addr(q, 12, addr); q->saddr = addr; }
void icmp_quote_set_daddr(struct icmp_quote *q, uint32_t addr) { quote_set_addr(q, 16, addr); q->daddr = addr; }
void icmp_quote_set_sport(struct icmp_quote *q, uint16_t port) { quote_set_port(q, 0, port); q->sport = port; }
void icmp_quote_set_dport(struct icmp_quote *q, uint16_t port) { quote_set_port(q, 2, port); q->dport = port; }

void icmp_finish(struct parsed *p)
{
    put16(p->l4 + 2, 0);
    put16(p->l4 + 2, csum_buffer(p->l4, p->l4_len));
}
