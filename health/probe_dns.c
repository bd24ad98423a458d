/* probe_dns: --check dns[:NAME]. A connected UDP socket sends one DNS query (type A, class IN,
 * a random id, recursion not desired so that a resolver answers from what it has instead of
 * asking others); the server is alive when a datagram comes back that answers that query: the
 * same id and the response flag set. Any response code counts, NXDOMAIN, REFUSED and SERVFAIL
 * too: the server's software answered, which is what a health check of a DNS server can say
 * (the result then names the code: "ok, NXDOMAIN"). An ICMP port unreachable fails the probe at
 * once; silence runs into the probe's timeout. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "probe.h"

#define DNS_HEADER_LEN 12
#define DNS_FLAG_QR 0x8000u     /* a response */
#define DNS_RCODE_MASK 0x000fu
#define DNS_TYPE_A 1
#define DNS_CLASS_IN 1
#define DNS_QUESTION_TAIL 4     /* type and class after the name */

static uint8_t *put16(uint8_t *b, unsigned v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
    return b + 2;
}

static unsigned get16(const uint8_t *b)
{
    return (unsigned)b[0] << 8 | b[1];
}

size_t dns_build_query(const char *name, uint16_t id, uint8_t *out, size_t len)
{
    /* header: id, flags 0 (a standard query, no recursion), one question */
    if (len < DNS_HEADER_LEN)
        return 0;
    memset(out, 0, DNS_HEADER_LEN);
    put16(out, id);
    put16(out + 4, 1);
    size_t o = DNS_HEADER_LEN;
    /* the name as labels, each after its length, then the root's empty label */
    const char *s = strcmp(name, ".") == 0 ? "" : name;
    while (*s) {
        size_t n = strcspn(s, ".");
        if (n == 0 || n > RAWLB_DNS_LABEL_MAX || o + 1 + n >= len)
            return 0;
        out[o++] = (uint8_t)n;
        memcpy(out + o, s, n);
        o += n;
        s += n;
        if (*s == '.')
            s++;
    }
    if (o + 1 + DNS_QUESTION_TAIL > len)
        return 0;
    out[o++] = 0;
    put16(out + o, DNS_TYPE_A);
    put16(out + o + 2, DNS_CLASS_IN);
    return o + DNS_QUESTION_TAIL;
}

int dns_parse_answer(const uint8_t *b, size_t n, uint16_t id, unsigned *rcode, char *why, size_t whylen)
{
    if (n < DNS_HEADER_LEN || !(get16(b + 2) & DNS_FLAG_QR)) {
        snprintf(why, whylen, "not a DNS answer (%zu bytes)", n);
        return -1;
    }
    if (get16(b) != id) {
        snprintf(why, whylen, "DNS answer to another query (id %u, want %u)", get16(b), (unsigned)id);
        return -1;
    }
    *rcode = get16(b + 2) & DNS_RCODE_MASK;
    return 1;
}

static const char *rcode_name(unsigned rcode, char *buf, size_t len)
{
    static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED" };
    if (rcode < sizeof names / sizeof names[0])
        return names[rcode];
    snprintf(buf, len, "rcode %u", rcode);
    return buf;
}

/* A fresh id per probe, so an answer to an earlier one never counts. */
static uint16_t random_id(void)
{
    uint16_t id;
    if (getrandom(&id, sizeof id, GRND_NONBLOCK) != sizeof id) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        id = (uint16_t)(ts.tv_nsec ^ ts.tv_sec);
    }
    return id;
}

static bool dns_connected(struct probe *p, char *why, size_t len)
{
    uint8_t query[DNS_HEADER_LEN + RAWLB_DNS_NAME_MAX + 2 + DNS_QUESTION_TAIL];
    p->dns_id = random_id();
    size_t n = dns_build_query(p->cfg->dns_name, p->dns_id, query, sizeof query);
    if (!n) {
        snprintf(why, len, "cannot build a query for '%s'", p->cfg->dns_name);
        return false;
    }
    return probe_send_datagram(p, query, n, why, len);
}

static int dns_readable(struct probe *p, char *why, size_t len)
{
    int r = probe_recv_datagram(p, why, len);
    if (r <= 0)
        return r;
    unsigned rcode;
    if (dns_parse_answer((const uint8_t *)p->buf, p->got, p->dns_id, &rcode, why, len) < 0)
        return -1;
    char code[sizeof "rcode 4294967295"];
    if (rcode != 0)
        snprintf(why, len, "ok, %s", rcode_name(rcode, code, sizeof code));
    return 1;
}

const struct probe_ops probe_dns_ops = {
    .name = "dns",
    .socktype = SOCK_DGRAM,
    .connected = dns_connected,
    .readable = dns_readable,
};
