/* host: what rawlb needs to know and to set on the box before it forwards: the interfaces'
 * index, MAC, MTU and addresses; kernel forwarding off on its two interfaces (otherwise the
 * kernel forwards the same packets un-NATed); receive offloads that would merge frames off;
 * VIPs not kernel addresses (the kernel would answer with RSTs). What it may fix on its own
 * interfaces it fixes and logs; anything else is refused with the command that fixes it.
 * Read once at start; afterwards the daemon keeps the MAC and MTU of struct host_if current
 * from its link monitor (main.c, linkmon.h). */
#ifndef RAWLB_HOST_H
#define RAWLB_HOST_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct host_if {
    char name[IF_NAMESIZE];
    int ifindex; /* 0 once deleted while rawlb runs: its sockets are gone, a restart binds anew */
    uint8_t mac[6];
    unsigned mtu;
    uint32_t addr; /* the first IPv4 address the kernel has on it, 0 if none */
};

struct host_setup {
    struct host_if ext, intf;
    uint32_t arp_source;    /* the director's own address on the internal link */
    bool nat_ip_is_kernel;  /* the kernel owns the NAT router address and answers ARP for it */
};

/* A VIP must not be a kernel address (the kernel would answer its clients with RSTs): false
 * with the command that fixes it. Used at start and for services added at runtime. */
bool host_check_vip(uint32_t vip, char *err, size_t errlen);

/* With --ha-role the NAT router address moves between the two directors with the master role:
 * it must not be a kernel address (the kernel would answer ARP for it on the backup too). */
bool host_check_nat_floats(const struct rawlb_config *cfg, char *err, size_t errlen);

/* Checks and prepares the host for cfg. False with a message for the operator. */
bool host_prepare(const struct rawlb_config *cfg, struct host_setup *h, char *err, size_t errlen);

#endif
