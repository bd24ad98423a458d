/* setupcheck: set-ups that cannot work, refused with why: at start (rawlb exits 2) and at runtime
 * edits (rawlb-ctl -A -E -a -e, the same words). What each would do:
 *  - a VIP that is the NAT router address or a real server's address: rawlb could not tell a
 *    client's packet from a real server's reply, nor its ARP answers from theirs;
 *  - a real server (or sorry server) that is a VIP, a loopback address or an address of the
 *    director itself (a kernel address, or the NAT router address): its packets would come back
 *    to rawlb or stay in the kernel, never reaching a server;
 *  - a NAT router address outside every internal subnet (the prefixes of the internal
 *    interface's kernel addresses): the real servers cannot have it as their gateway, and rawlb
 *    could not learn their MACs from it; or equal to a kernel address on the external interface:
 *    the kernel answers for it on the clients' side.
 * A VIP that is a kernel address is refused here too (the kernel would answer its clients with
 * RSTs). Pure: the kernel's addresses are given (host.c reads them), so unit tests pass any. */
#ifndef RAWLB_SETUPCHECK_H
#define RAWLB_SETUPCHECK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* One IPv4 address the kernel holds, with its prefix (network order) and interface. */
struct kernel_addr {
    uint32_t addr, mask;
    char ifname[IF_NAMESIZE];
};

/* What the configuration alone says: nothing from the kernel. config_parse and edit_apply run it. */
bool setupcheck_config(const struct rawlb_config *cfg, char *err, size_t errlen);

/* cfg against the kernel's addresses. running is the configuration that runs, NULL at start:
 * at an edit only VIPs and real servers it does not have yet are checked (an address the kernel
 * gained since then must not block every later edit), and the NAT router address not at all
 * (-n cannot change at runtime). */
bool setupcheck_kernel(const struct rawlb_config *cfg, const struct rawlb_config *running,
                       const struct kernel_addr *ka, size_t n_ka, char *err, size_t errlen);

#endif
