/* icmp: ICMP errors that quote a datagram of a balanced flow (port unreachable, fragmentation
 * needed, time exceeded...). The quoted header is rewritten like the flow's own packets, so the
 * sender's stack recognises it (path-MTU discovery through the VIP); the ICMP checksum is then
 * computed afresh over the whole message. */
#ifndef RAWLB_ICMP_H
#define RAWLB_ICMP_H

#include <stdbool.h>
#include <stdint.h>

#include "packet.h"

#define ICMP_TYPE_ECHO_REQUEST 8

/* The datagram an ICMP error quotes: its IP header and the first 8 bytes after it. */
struct icmp_quote {
    uint8_t *ip;
    size_t ip_hlen;
    size_t avail;   /* bytes of the quote present in the frame, from ip */
    uint8_t proto;
    uint32_t saddr, daddr;
    uint16_t sport, dport; /* network order */
};

/* True when p is an ICMP error quoting a TCP or UDP datagram with its ports. */
bool icmp_parse_error(const struct parsed *p, struct icmp_quote *q);
bool icmp_is_echo_request(const struct parsed *p);

void icmp_quote_set_saddr(struct icmp_quote *q, uint32_t addr);
void icmp_quote_set_daddr(struct icmp_quote *q, uint32_t addr);
void icmp_quote_set_sport(struct icmp_quote *q, uint16_t port);
void icmp_quote_set_dport(struct icmp_quote *q, uint16_t port);
/* After the rewrites: fresh ICMP checksum over the message. */
void icmp_finish(struct parsed *p);

#endif
