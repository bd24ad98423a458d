/* reply: frames the director answers with itself, each built in place of the frame that caused
 * it (never longer than it), with full checksums and an empty vnet header:
 * ARP replies for the addresses it owns, ICMP echo replies from a VIP, TCP RSTs for flows it
 * dropped, and ICMP fragmentation-needed for DF packets too big for the egress link. */
#ifndef RAWLB_REPLY_H
#define RAWLB_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

/* An ARP frame, as far as rawlb cares (Ethernet/IPv4 ARP only). */
struct arp_view {
    uint16_t op;          /* host order: 1 request, 2 reply */
    const uint8_t *sha;   /* sender hardware address */
    uint32_t spa, tpa;    /* network order */
};
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

/* Parses an Ethernet frame as ARP; false when it is not Ethernet/IPv4 ARP or is too short. */
bool arp_parse(const uint8_t *eth, size_t len, struct arp_view *a);

/* Each takes the whole buffer (vnet header first) and returns the new length of it. */
size_t reply_arp(uint8_t *buf, size_t len, const uint8_t *our_mac);
size_t reply_echo(uint8_t *buf, const struct parsed *p, const uint8_t *our_mac);
/* RST from the destination of p (a client's segment to VIP:port) back to its source. */
size_t reply_tcp_rst(uint8_t *buf, const struct parsed *p, const uint8_t *our_mac);
/* ICMP 3/4 from src to the sender of p, quoting p's IP header and 8 bytes (p not yet rewritten). */
size_t reply_frag_needed(uint8_t *buf, const struct parsed *p, uint32_t src, unsigned mtu, const uint8_t *our_mac);

#endif
