/* host: what rawlb needs to know and to set on the box before it forwards: the interfaces'
 * index, MAC, MTU and addresses; kernel forwarding off on its two interfaces (otherwise the
 * kernel forwards the same packets un-NATed); receive offloads that would merge frames off;
 * set-ups its addresses make unworkable refused (setupcheck.h); the privileges it needs
 * (CAP_NET_RAW, CAP_NET_ADMIN) checked first. What it may fix on its own interfaces it fixes and
 * logs; anything else is refused with the command that fixes it. The interfaces are read once
 * at start; afterwards the daemon keeps the MAC and MTU of struct host_if current
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

/* The index of the interface name, or 0 with a message naming the flag that gave it
 * ("-i/--int-if: interface 'x' does not exist"). */
int host_ifindex(const char *flag, const char *name, char *err, size_t errlen);

/* cfg against the kernel's addresses (setupcheck.h: VIPs and real servers that are kernel
 * addresses, a NAT router address outside the internal subnets), read here each time: at start
 * (running NULL: it first checks that -e and -i exist, naming the flag) and at each runtime edit
 * (running: the configuration that runs), so an address added or removed since start counts. */
bool host_check_setup(const struct rawlb_config *cfg, const struct rawlb_config *running, char *err, size_t errlen);

/* With --ha-role the NAT router address moves between the two directors with the master role:
 * it must not be a kernel address (the kernel would answer ARP for it on the backup too). */
bool host_check_nat_floats(const struct rawlb_config *cfg, char *err, size_t errlen);

/* Checks and prepares the host for cfg. False with a message for the operator. */
bool host_prepare(const struct rawlb_config *cfg, struct host_setup *h, char *err, size_t errlen);

#endif
