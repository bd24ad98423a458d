/* frame: header offsets of Ethernet/IPv4 frames, checksums and the payload stamp. */
#include "replay.h"

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#define ETH_HLEN 14
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool frame_parse(const uint8_t *f, size_t len, struct hdrs *h)
{
    memset(h, 0, sizeof *h);
    if (len < ETH_HLEN + 20 || rd16(f + 12) != 0x0800)
        return false;
    const uint8_t *ip = f + ETH_HLEN;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || len < ETH_HLEN + ihl)
        return false;
    h->l3 = ETH_HLEN;
    h->ip_len = rd16(ip + 2);
    if (h->ip_len < ihl || ETH_HLEN + h->ip_len > len)
        return false;
    h->proto = ip[9];
    uint16_t frag = rd16(ip + 6);
    h->fragment = (frag & 0x3fff) != 0;
    if (frag & 0x1fff) /* a later fragment: no L4 header */
        return true;
    size_t l4 = ETH_HLEN + ihl, end = ETH_HLEN + h->ip_len;
    if (h->proto == IPPROTO_TCP_) {
        if (end < l4 + 20 || (size_t)(f[l4 + 12] >> 4) * 4 < 20 || l4 + (size_t)(f[l4 + 12] >> 4) * 4 > end)
            return false;
        h->l4 = l4;
        h->payload = l4 + (size_t)(f[l4 + 12] >> 4) * 4;
    } else if (h->proto == IPPROTO_UDP_) {
        if (end < l4 + 8)
            return false;
        h->l4 = l4;
        h->payload = l4 + 8;
    } else {
        h->l4 = l4;
        h->payload = l4;
    }
    return true;
}

uint32_t csum_add(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *p = data;
    for (; len > 1; len -= 2, p += 2)
        sum += (uint32_t)(p[0] << 8 | p[1]);
    if (len)
        sum += (uint32_t)p[0] << 8;
    return sum;
}

uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* RFC 1624 eqn. 3, on host-order values: HC' = ~(~HC + ~m + m'). */
uint16_t csum_replace2(uint16_t check, uint16_t from, uint16_t to)
{
    uint32_t sum = (uint16_t)~check + (uint16_t)~from + (uint32_t)to;
    return (uint16_t)~csum_fold(sum);
}

uint16_t csum_replace4(uint16_t check, uint32_t from, uint32_t to)
{
    check = csum_replace2(check, (uint16_t)(from >> 16), (uint16_t)(to >> 16));
    return csum_replace2(check, (uint16_t)from, (uint16_t)to);
}

static bool has_l4_csum(const struct hdrs *h)
{
    return h->l4 && (h->proto == IPPROTO_TCP_ || h->proto == IPPROTO_UDP_);
}

static size_t l4_csum_off(const struct hdrs *h)
{
    return h->l4 + (h->proto == IPPROTO_TCP_ ? 16 : 6);
}

void frame_fix_csums(uint8_t *f, const struct hdrs *h)
{
    uint8_t *ip = f + h->l3;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    wr16(ip + 10, 0);
    wr16(ip + 10, (uint16_t)~csum_fold(csum_add(ip, ihl, 0)));
    if (!has_l4_csum(h) || h->fragment)
        return;
    size_t l4len = h->l3 + h->ip_len - h->l4;
    size_t off = l4_csum_off(h);
    if (h->proto == IPPROTO_UDP_ && rd16(f + off) == 0)
        return; /* no checksum stays no checksum */
    wr16(f + off, 0);
    uint32_t sum = csum_add(ip + 12, 8, 0) + h->proto + (uint32_t)l4len;
    uint16_t c = (uint16_t)~csum_fold(csum_add(f + h->l4, l4len, sum));
    if (h->proto == IPPROTO_UDP_ && c == 0)
        c = 0xffff;
    wr16(f + off, c);
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void set_addr(uint8_t *f, const struct hdrs *h, size_t field, uint32_t addr_n)
{
    uint8_t *ip = f + h->l3;
    uint32_t from = rd32(ip + field), to = ntohl(addr_n);
    if (from == to)
        return;
    memcpy(ip + field, &addr_n, 4);
    wr16(ip + 10, csum_replace4(rd16(ip + 10), from, to));
    if (has_l4_csum(h)) {
        size_t off = l4_csum_off(h);
        if (!(h->proto == IPPROTO_UDP_ && rd16(f + off) == 0))
            wr16(f + off, csum_replace4(rd16(f + off), from, to));
    }
}

void frame_set_src(uint8_t *f, const struct hdrs *h, uint32_t addr)
{
    set_addr(f, h, 12, addr);
}

void frame_set_dst(uint8_t *f, const struct hdrs *h, uint32_t addr, uint16_t port)
{
    set_addr(f, h, 16, addr);
    if (!port || !h->l4 || !has_l4_csum(h))
        return;
    uint16_t from = rd16(f + h->l4 + 2), to = ntohs(port);
    wr16(f + h->l4 + 2, to);
    size_t off = l4_csum_off(h);
    if (!(h->proto == IPPROTO_UDP_ && rd16(f + off) == 0))
        wr16(f + off, csum_replace2(rd16(f + off), from, to));
}

static void wr32(uint8_t *p, uint32_t v) { uint32_t n = htonl(v); memcpy(p, &n, 4); }

void stamp_write(uint8_t *p, const struct stamp *s)
{
    wr32(p, STAMP_MAGIC);
    wr32(p + 4, s->flow);
    wr32(p + 8, s->seq);
    wr32(p + 12, (uint32_t)(s->ts_ns >> 32));
    wr32(p + 16, (uint32_t)s->ts_ns);
}

bool stamp_read(const uint8_t *p, size_t len, struct stamp *s)
{
    if (len < STAMP_LEN || rd32(p) != STAMP_MAGIC)
        return false;
    s->flow = rd32(p + 4);
    s->seq = rd32(p + 8);
    s->ts_ns = (uint64_t)rd32(p + 12) << 32 | rd32(p + 16);
    return true;
}
