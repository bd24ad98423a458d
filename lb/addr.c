/* addr: the values rawlb and rawlb-ctl accept on their command lines. Pure functions; every
 * refusal is written into the caller's buffer and names the value as it was typed. */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADDR_INPUT_MAX 64 /* longer than any ADDR:PORT:WEIGHT we accept */

bool addr_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    if (!s || *s < '0' || *s > '9') /* strtoul would take spaces, '+' and '-' */
        return false;
    errno = 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

const char *addr_uint_problem(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s) ? "out of range" : "not a number";
}

bool addr_parse_host(const char *s, uint32_t *addr, char *err, size_t errlen)
{
    struct in_addr in;
    if (*s == '\0') {
        snprintf(err, errlen, "empty address");
        return false;
    }
    if (inet_pton(AF_INET, s, &in) != 1) {
        snprintf(err, errlen, "'%s' is not an IPv4 address (want a.b.c.d)", s);
        return false;
    }
    uint32_t h = ntohl(in.s_addr);
    if (h == 0 || h == 0xffffffffu || (h >> 28) == 0xe) {
        snprintf(err, errlen, "'%s' is not a usable host address", s);
        return false;
    }
    *addr = in.s_addr;
    return true;
}

/* Splits a copy of s at its first ':' into the address and the rest. */
static bool split_addr(const char *s, char *copy, size_t copylen, char **rest, const char *want,
                       char *err, size_t errlen)
{
    if (strlen(s) >= copylen) {
        snprintf(err, errlen, "'%.40s...' is too long for %s", s, want);
        return false;
    }
    strcpy(copy, s);
    char *colon = strchr(copy, ':');
    if (!colon) {
        snprintf(err, errlen, "'%s' is not %s", s, want);
        return false;
    }
    *colon = '\0';
    *rest = colon + 1;
    return true;
}

static bool parse_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
    unsigned long v;
    if (*s == '\0') {
        snprintf(err, errlen, "empty port (want 1..65535)");
        return false;
    }
    if (strspn(s, "0123456789") != strlen(s)) {
        snprintf(err, errlen, "port '%s' is not a number 1..65535", s);
        return false;
    }
    if (!addr_parse_uint(s, 1, 65535, &v)) {
        snprintf(err, errlen, "port '%s' is %s 1..65535", s, addr_uint_problem(s));
        return false;
    }
    *port = htons((uint16_t)v);
    return true;
}

bool addr_parse_endpoint(const char *s, struct endpoint *ep, char *err, size_t errlen)
{
    char copy[ADDR_INPUT_MAX];
    char *port;
    struct endpoint e;
    /* Padding too: configurations are compared whole (memcmp), so no stack bytes may ride along. */
    memset(&e, 0, sizeof e);
    if (!split_addr(s, copy, sizeof(copy), &port, "ADDR:PORT", err, errlen))
        return false;
    if (strchr(port, ':')) {
        snprintf(err, errlen, "'%s' is not ADDR:PORT", s);
        return false;
    }
    if (!addr_parse_host(copy, &e.addr, err, errlen) || !parse_port(port, &e.port, err, errlen))
        return false;
    *ep = e;
    return true;
}

bool addr_parse_real_server(const char *s, struct endpoint *ep, int *weight, char *err, size_t errlen)
{
    char copy[ADDR_INPUT_MAX];
    char *port;
    struct endpoint e;
    unsigned long w = 1;
    memset(&e, 0, sizeof e); /* padding too, as in addr_parse_endpoint */
    if (!split_addr(s, copy, sizeof(copy), &port, "ADDR:PORT[:WEIGHT]", err, errlen))
        return false;
    char *ws = strchr(port, ':');
    if (ws) {
        *ws++ = '\0';
        if (strchr(ws, ':')) {
            snprintf(err, errlen, "'%s' is not ADDR:PORT[:WEIGHT]", s);
            return false;
        }
    }
    if (!addr_parse_host(copy, &e.addr, err, errlen) || !parse_port(port, &e.port, err, errlen))
        return false;
    if (ws && !addr_parse_uint(ws, 0, RAWLB_WEIGHT_MAX, &w)) {
        snprintf(err, errlen, "weight '%s' is %s 0..%d", ws,
                 addr_uint_problem(ws),
                 RAWLB_WEIGHT_MAX);
        return false;
    }
    *ep = e;
    *weight = (int)w;
    return true;
}

bool addr_parse_netmask(const char *s, uint32_t *mask, char *err, size_t errlen)
{
    uint32_t h;
    if (strchr(s, '.')) {
        struct in_addr in;
        if (inet_pton(AF_INET, s, &in) != 1) {
            snprintf(err, errlen, "netmask '%s' is not a.b.c.d or a prefix length 0..32", s);
            return false;
        }
        h = ntohl(in.s_addr);
        if (h & (~h >> 1)) { /* a one after a zero somewhere: not contiguous */
            snprintf(err, errlen, "netmask '%s' is not contiguous", s);
            return false;
        }
    } else {
        unsigned long bits;
        if (!addr_parse_uint(s[0] == '/' ? s + 1 : s, 0, 32, &bits)) {
            snprintf(err, errlen, "netmask '%s' is not a.b.c.d or a prefix length 0..32", s);
            return false;
        }
        h = bits ? 0xffffffffu << (32 - bits) : 0;
    }
    *mask = htonl(h);
    return true;
}

char *addr_str(uint32_t addr, char *buf)
{
    struct in_addr in = {.s_addr = addr};
    if (!inet_ntop(AF_INET, &in, buf, ADDR_STRLEN))
        strcpy(buf, "?");
    return buf;
}

char *endpoint_str(uint32_t addr, uint16_t port, char *buf)
{
    char a[ADDR_STRLEN];
    snprintf(buf, ENDPOINT_STRLEN, "%s:%u", addr_str(addr, a), (unsigned)ntohs(port));
    return buf;
}

/* Seconds with up to 3 decimals ("2", "0.5", "1.25") into milliseconds; false if not that shape. */
bool addr_parse_seconds_ms(const char *s, uint64_t *ms)
{
    size_t whole = strspn(s, "0123456789");
    uint64_t v = 0;
    if (whole == 0)
        return false;
    for (size_t i = 0; i < whole; i++) /* more than 10^12 s: kept out of range, not wrapped */
        v = v < 1000000000000ull ? v * 10 + (uint64_t)(s[i] - '0') : v;
    v *= 1000;
    if (s[whole] == '.') {
        const char *frac = s + whole + 1;
        size_t n = strspn(frac, "0123456789");
        if (n == 0 || n > 3 || frac[n] != '\0')
            return false;
        uint64_t f = 0;
        for (size_t i = 0; i < 3; i++)
            f = f * 10 + (uint64_t)(i < n ? frac[i] - '0' : 0);
        v += f;
    } else if (s[whole] != '\0') {
        return false;
    }
    *ms = v;
    return true;
}

bool addr_parse_ifname(const char *s, char dst[IF_NAMESIZE], char *err, size_t errlen)
{
    if (*s == '\0') {
        snprintf(err, errlen, "empty interface name");
        return false;
    }
    if (strlen(s) >= IF_NAMESIZE) {
        snprintf(err, errlen, "interface name '%s' is too long (at most %d characters)", s, IF_NAMESIZE - 1);
        return false;
    }
    /* What the kernel refuses too (dev_valid_name). */
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strpbrk(s, "/: \t\n")) {
        snprintf(err, errlen, "'%s' is not a valid interface name", s);
        return false;
    }
    strcpy(dst, s);
    return true;
}
