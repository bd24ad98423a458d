/* arp: ARP frames rawlb originates, built and sent with libnet: requests that learn the real
 * servers' MACs (always from the director's own interface address: a request "from" the
 * floating NAT router address would repoint the real servers' gateway: they learn the sender's
 * MAC for it, as the kernel does from any ARP request) and
 * gratuitous ARP announcing the addresses it owns. Answers to requests are made by the fast
 * path in place of the request (reply.c). */
#ifndef RAWLB_ARP_H
#define RAWLB_ARP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct libnet_context;
struct service_table;

struct arp_sender {
    struct libnet_context *ln;
    uint8_t mac[6];
    uint32_t addr; /* sender protocol address for requests */
    uint64_t sent, failed;
};

bool arp_sender_open(struct arp_sender *s, const char *ifname, const uint8_t *mac, uint32_t addr, char *err,
                     size_t errlen);
void arp_sender_close(struct arp_sender *s);
/* Who has target? Tell addr. */
void arp_solicit(struct arp_sender *s, uint32_t target);
/* Gratuitous ARP for an address we now answer for. */
void arp_announce(struct arp_sender *s, uint32_t owned);
/* Gratuitous ARP for everything a master director owns: each distinct VIP of t on ext, and the
 * NAT router address on intf when with_nat (not when the kernel owns it and answers for it).
 * At start without HA, at every takeover and periodically while master (ha.c). */
void arp_announce_owned(struct arp_sender *ext, struct arp_sender *intf, const struct service_table *t,
                        uint32_t nat_ip, bool with_nat);

#endif
