/* addr: parsing and printing of the values both rawlb and rawlb-ctl accept on their command
 * lines (IPv4 addresses, ports, ADDR:PORT[:WEIGHT], netmasks, bounded integers).
 * One implementation so the daemon and the control tool refuse the same inputs with the same
 * words. All functions are pure; errors are written into a caller's buffer, never printed. */
#ifndef RAWLB_ADDR_H
#define RAWLB_ADDR_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RAWLB_WEIGHT_MAX 65535
#define RAWLB_ERRLEN 256

/* Addresses and ports are kept in network byte order everywhere in rawlb. */
struct endpoint {
    uint32_t addr;
    uint16_t port;
};

static inline bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
    return a->addr == b->addr && a->port == b->port;
}

/* A host address a service or real server may use: not 0.0.0.0, not broadcast, not multicast. */
bool addr_parse_host(const char *s, uint32_t *addr, char *err, size_t errlen);
/* "ADDR:PORT" */
bool addr_parse_endpoint(const char *s, struct endpoint *ep, char *err, size_t errlen);
/* "ADDR:PORT[:WEIGHT]"; weight defaults to 1. */
bool addr_parse_real_server(const char *s, struct endpoint *ep, int *weight, char *err, size_t errlen);
/* Dotted netmask ("255.255.255.0") or prefix length ("24" or "/24"); must be contiguous. */
bool addr_parse_netmask(const char *s, uint32_t *mask, char *err, size_t errlen);
/* Decimal integer in [min, max], nothing else in the string. */
bool addr_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* Why addr_parse_uint refused s, for messages: "out of range" when s is all digits, else
 * "not a number" ("abc", "1k", "-1" and "" are no numbers, whatever the range). */
const char *addr_uint_problem(const char *s);

/* "a.b.c.d:port" into buf (at least ENDPOINT_STRLEN bytes). Returns buf. */
#define ENDPOINT_STRLEN 24
/* Seconds with up to 3 decimals ("2", "0.5", "1.25") into milliseconds; false if not that shape. */
bool addr_parse_seconds_ms(const char *s, uint64_t *ms);
/* An interface name the kernel would take (dev_valid_name), copied into dst. */
bool addr_parse_ifname(const char *s, char dst[IF_NAMESIZE], char *err, size_t errlen);
char *endpoint_str(uint32_t addr, uint16_t port, char *buf);
#define ADDR_STRLEN 16
char *addr_str(uint32_t addr, char *buf);

#endif
