/* reply: frames the director answers with itself, each built in place of the frame that caused
 * it, with full checksums and an empty vnet header: ARP replies for the addresses it owns, ICMP
 * echo replies from a VIP, TCP RSTs from VIP:port (flows it dropped, segments of no flow, ports
 * without a service), ICMP port unreachable for UDP to a port without a service, and ICMP
 * fragmentation-needed for DF packets too big for the egress link. None is longer than what it
 * answers but an ICMP error about a short datagram: up to REPLY_ICMP_ERROR_MAX bytes. */
#ifndef RAWLB_REPLY_H
#define RAWLB_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "packet.h"

#define REPLY_IP_HLEN 20     /* the IP header of what we send: no options */
#define REPLY_ICMP_HLEN 8
#define REPLY_IP_MAX_HLEN 60 /* a quoted header may carry options */
#define REPLY_QUOTE_L4_BYTES 8 /* RFC 792: the IP header plus 64 bits of the datagram */
/* The longest ICMP error we build, vnet header first: what the buffer must hold. */
#define REPLY_ICMP_ERROR_MAX \
    (VNET_HLEN + ETH_HLEN_ + REPLY_IP_HLEN + REPLY_ICMP_HLEN + REPLY_IP_MAX_HLEN + REPLY_QUOTE_L4_BYTES)

/* Each takes the whole buffer (vnet header first) and returns the new length of it. */
size_t reply_arp(uint8_t *buf, size_t len, const uint8_t *our_mac);
size_t reply_echo(uint8_t *buf, const struct parsed *p, const uint8_t *our_mac);
/* RST from the destination of p (a client's segment to VIP:port) back to its source, numbered
 * as RFC 793 says for a segment of no connection. */
size_t reply_tcp_rst(uint8_t *buf, const struct parsed *p, const uint8_t *our_mac);
/* ICMP 3/4 from src to the sender of p, quoting p's IP header and 8 bytes (p not yet rewritten). */
size_t reply_frag_needed(uint8_t *buf, const struct parsed *p, uint32_t src, unsigned mtu, const uint8_t *our_mac);
/* ICMP 3/3 from the destination of p (a datagram to VIP:port) to its sender, quoting the same. */
size_t reply_port_unreach(uint8_t *buf, const struct parsed *p, const uint8_t *our_mac);

/* Whether p may be answered with an RST or an ICMP error at all (RFC 1122 3.2.2, which the
 * kernel applies to its RSTs too): a first fragment or a whole datagram, neither ICMP nor an
 * RST segment, sent to us alone (no link-layer broadcast or multicast) from an address that
 * names one host (not 0/8, 127/8, multicast, class E or the broadcast address). */
bool reply_allowed(const struct parsed *p);

#endif
