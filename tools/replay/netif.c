/* netif: what rawlb-replay needs to know about an interface, and ARP for the target's MAC.
 * The request is built and sent with libnet; the reply is caught on an own AF_PACKET socket
 * bound to ETH_P_ARP (opened before the request goes out, so a quick reply is not missed). */
#include "replay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define ARP_TRIES 3
#define ARP_WAIT_MS 1000

bool netif_lookup(struct netif *nif, const char *name, char *err, size_t errlen)
{
    memset(nif, 0, sizeof *nif);
    nif->name = name;
    if (strlen(name) >= IFNAMSIZ || !(nif->ifindex = (int)if_nametoindex(name))) {
        snprintf(err, errlen, "no interface %s", name);
        return false;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return false;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
        snprintf(err, errlen, "MAC of %s: %s", name, strerror(errno));
        close(fd);
        return false;
    }
    memcpy(nif->mac, ifr.ifr_hwaddr.sa_data, 6);
    if (ioctl(fd, SIOCGIFADDR, &ifr) == 0)
        nif->addr = ((struct sockaddr_in *)(void *)&ifr.ifr_addr)->sin_addr.s_addr;
    if (ioctl(fd, SIOCGIFNETMASK, &ifr) == 0)
        nif->mask = ((struct sockaddr_in *)(void *)&ifr.ifr_netmask)->sin_addr.s_addr;
    close(fd);
    return true;
}

static bool arp_send(const struct netif *nif, uint32_t addr, char *err, size_t errlen)
{
    char lerr[LIBNET_ERRBUF_SIZE];
    libnet_t *l = libnet_init(LIBNET_LINK, nif->name, lerr);
    if (!l) {
        snprintf(err, errlen, "libnet_init on %s: %s", nif->name, lerr);
        return false;
    }
    static const uint8_t zero[6], bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t mac[6];
    memcpy(mac, nif->mac, 6);
    uint32_t spa = nif->addr, tpa = addr;
    bool ok = libnet_autobuild_arp(ARPOP_REQUEST, mac, (uint8_t *)&spa, (uint8_t *)zero, (uint8_t *)&tpa, l) != -1 &&
              libnet_autobuild_ethernet(bcast, ETHERTYPE_ARP, l) != -1 && libnet_write(l) != -1;
    if (!ok)
        snprintf(err, errlen, "ARP request on %s: %s", nif->name, libnet_geterror(l));
    libnet_destroy(l);
    return ok;
}

uint32_t netif_next_hop(const struct netif *nif, uint32_t addr)
{
    FILE *f = fopen("/proc/net/route", "r");
    char line[256], name[IFNAMSIZ + 1];
    unsigned dst, gw, flags, mask, best_mask = 0;
    uint32_t hop = addr;
    bool found = false;
    if (!f)
        return addr;
    for (int i = 0; i < 100000 && fgets(line, sizeof line, f); i++) {
        /* Iface Destination Gateway Flags RefCnt Use Metric Mask ...: hex in network order */
        if (sscanf(line, "%16s %x %x %x %*d %*d %*d %x", name, &dst, &gw, &flags, &mask) != 5)
            continue;
        if (strcmp(name, nif->name) || !(flags & 1) || (addr & mask) != dst)
            continue;
        if (!found || ntohl(mask) > ntohl(best_mask)) {
            found = true;
            best_mask = mask;
            hop = (flags & 2) ? gw : addr; /* RTF_GATEWAY */
        }
    }
    fclose(f);
    return hop;
}

bool netif_arp(const struct netif *nif, uint32_t addr, uint8_t mac[6], char *err, size_t errlen)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
    if (fd < 0) {
        snprintf(err, errlen, "ARP socket: %s", strerror(errno));
        return false;
    }
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_ifindex = nif->ifindex };
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
        snprintf(err, errlen, "bind ARP socket: %s", strerror(errno));
        close(fd);
        return false;
    }
    for (int t = 0; t < ARP_TRIES && !replay_stop; t++) {
        if (!arp_send(nif, addr, err, errlen))
            break;
        uint64_t end = now_ns() + (uint64_t)ARP_WAIT_MS * 1000000u;
        for (int polls = 0; polls < 1000; polls++) {
            uint64_t now = now_ns();
            if (now >= end)
                break;
            struct pollfd pfd = { .fd = fd, .events = POLLIN };
            if (poll(&pfd, 1, (int)((end - now) / 1000000u) + 1) <= 0)
                continue;
            uint8_t b[128];
            ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
            /* Ethernet + ARP for IPv4 over Ethernet: opcode at 20, sender MAC at 22, IP at 28 */
            if (n < 42 || b[12] != 0x08 || b[13] != 0x06 || b[20] != 0 || b[21] != 2)
                continue;
            if (memcmp(b + 28, &addr, 4) != 0)
                continue;
            memcpy(mac, b + 22, 6);
            close(fd);
            return true;
        }
        char a[INET_ADDRSTRLEN];
        snprintf(err, errlen, "no ARP answer from %s on %s", inet_ntop(AF_INET, &addr, a, sizeof a), nif->name);
    }
    close(fd);
    return false;
}
