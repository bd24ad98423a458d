/* host: see host.h. */
#include "host.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "setupcheck.h"

#define SYSCTL_PATH_MAX 128
#define CAP_WORD_BITS 32 /* capget's sets: one 32-bit word per 32 capabilities */

int host_ifindex(const char *flag, const char *name, char *err, size_t errlen)
{
    int ifindex = (int)if_nametoindex(name);
    if (!ifindex)
        snprintf(err, errlen, "%s: interface '%s' does not exist (ip link show)", flag, name);
    return ifindex;
}

static bool if_query(int fd, const char *flag, const char *name, struct host_if *hi, char *err, size_t errlen)
{
    struct ifreq ifr;
    memset(hi, 0, sizeof *hi);
    snprintf(hi->name, sizeof hi->name, "%s", name);
    hi->ifindex = host_ifindex(flag, name, err, errlen);
    if (!hi->ifindex)
        return false;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 || !(ifr.ifr_flags & IFF_UP)) {
        snprintf(err, errlen, "interface '%s' is down: ip link set %s up", name, name);
        return false;
    }
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0 || ifr.ifr_hwaddr.sa_family != 1 /* ARPHRD_ETHER */) {
        snprintf(err, errlen, "interface '%s' is not an Ethernet interface", name);
        return false;
    }
    memcpy(hi->mac, ifr.ifr_hwaddr.sa_data, sizeof hi->mac);
    if (ioctl(fd, SIOCGIFMTU, &ifr) != 0) {
        snprintf(err, errlen, "cannot read the MTU of '%s': %s", name, strerror(errno));
        return false;
    }
    hi->mtu = (unsigned)ifr.ifr_mtu;
    return true;
}

/* Where the kernel holds addr, or NULL. first_on (if given) receives the first IPv4 address
 * of the named interface. */
static const char *kernel_owner(const struct ifaddrs *list, uint32_t addr, char *owner, size_t len)
{
    for (const struct ifaddrs *a = list; a; a = a->ifa_next) {
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET &&
            ((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr.s_addr == addr) {
            snprintf(owner, len, "%s", a->ifa_name);
            return owner;
        }
    }
    return NULL;
}

static uint32_t first_addr(const struct ifaddrs *list, const char *ifname, uint32_t skip)
{
    for (const struct ifaddrs *a = list; a; a = a->ifa_next) {
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && strcmp(a->ifa_name, ifname) == 0) {
            uint32_t addr = ((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr.s_addr;
            if (addr != skip)
                return addr;
        }
    }
    return 0;
}

/* The kernel's IPv4 addresses with their prefixes, into a new array (free it), or NULL. */
static struct kernel_addr *kernel_addrs(const struct ifaddrs *list, size_t *n)
{
    size_t count = 0;
    for (const struct ifaddrs *a = list; a; a = a->ifa_next)
        count += a->ifa_addr && a->ifa_addr->sa_family == AF_INET;
    struct kernel_addr *ka = calloc(count ? count : 1, sizeof *ka);
    if (!ka)
        return NULL;
    *n = 0;
    for (const struct ifaddrs *a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET)
            continue;
        struct kernel_addr *k = &ka[(*n)++];
        k->addr = ((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr.s_addr;
        k->mask = a->ifa_netmask ? ((const struct sockaddr_in *)(const void *)a->ifa_netmask)->sin_addr.s_addr : ~0u;
        snprintf(k->ifname, sizeof k->ifname, "%s", a->ifa_name);
    }
    return ka;
}

bool host_check_setup(const struct rawlb_config *cfg, const struct rawlb_config *running, char *err, size_t errlen)
{
    if (!running && (!host_ifindex("-e/--ext-if", cfg->ext_if, err, errlen) ||
                     !host_ifindex("-i/--int-if", cfg->int_if, err, errlen)))
        return false;
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) != 0) {
        snprintf(err, errlen, "getifaddrs: %s", strerror(errno));
        return false;
    }
    size_t n = 0;
    struct kernel_addr *ka = kernel_addrs(list, &n);
    freeifaddrs(list);
    if (!ka) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    bool ok = setupcheck_kernel(cfg, running, ka, n, err, errlen);
    free(ka);
    return ok;
}

bool host_check_nat_floats(const struct rawlb_config *cfg, char *err, size_t errlen)
{
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) != 0) {
        snprintf(err, errlen, "getifaddrs: %s", strerror(errno));
        return false;
    }
    char owner[IF_NAMESIZE], a[ADDR_STRLEN];
    bool kernel = kernel_owner(list, cfg->nat_ip, owner, sizeof owner) != NULL;
    freeifaddrs(list);
    if (kernel)
        snprintf(err, errlen,
                 "--nat-ip %s is a kernel address on %s: with --ha-role it moves with the master role, and the "
                 "kernel would answer ARP for it on the backup too; give the real servers' gateway an address of "
                 "its own, or remove this one (ip addr del %s/32 dev %s, with its prefix): rawlb answers for it "
                 "while master",
                 addr_str(cfg->nat_ip, a), owner, a, owner);
    return !kernel;
}

/* net.ipv4.conf.IF.forwarding=0: the kernel checks forwarding per input device, so this keeps
 * it out of our two interfaces without touching the rest of the box. */
static bool forwarding_off(const char *ifname, char *err, size_t errlen)
{
    char path[SYSCTL_PATH_MAX];
    snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/forwarding", ifname);
    FILE *f = fopen(path, "r+");
    int value = -1;
    if (f && fscanf(f, "%d", &value) == 1 && value == 0) {
        fclose(f);
        return true;
    }
    if (f) {
        rewind(f);
        bool ok = fputs("0\n", f) >= 0;
        ok = (fclose(f) == 0) && ok;
        if (ok) {
            log_info("set net.ipv4.conf.%s.forwarding=0 (was %d): the kernel must not forward what rawlb balances",
                     ifname, value);
            return true;
        }
    }
    snprintf(err, errlen, "cannot turn kernel forwarding off on %s (%s): sysctl -w net.ipv4.conf.%s.forwarding=0",
             ifname, strerror(errno), ifname);
    return false;
}

/* Receive coalescing would hand us merged frames whose checksums the kernel already consumed
 * (a path never tested with rawlb), so it goes off on our own interfaces. */
static void receive_offloads_off(int fd, const char *ifname)
{
    struct ifreq ifr;
    struct ethtool_value ev = { .cmd = ETHTOOL_GGRO };
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    ifr.ifr_data = (char *)&ev;
    if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && ev.data) {
        ev = (struct ethtool_value){ .cmd = ETHTOOL_SGRO, .data = 0 };
        if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
            log_info("turned generic-receive-offload off on %s", ifname);
        else
            log_warn("cannot turn GRO off on %s (%s): ethtool -K %s gro off", ifname, strerror(errno), ifname);
    }
    ev = (struct ethtool_value){ .cmd = ETHTOOL_GFLAGS };
    if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && (ev.data & ETH_FLAG_LRO)) {
        ev.cmd = ETHTOOL_SFLAGS;
        ev.data &= ~(uint32_t)ETH_FLAG_LRO;
        if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
            log_info("turned large-receive-offload off on %s", ifname);
        else
            log_warn("cannot turn LRO off on %s (%s): ethtool -K %s lro off", ifname, strerror(errno), ifname);
    }
}

/* Packet sockets need CAP_NET_RAW; sysctls, offloads and the netlink sockets CAP_NET_ADMIN.
 * Checked first, so a start without them says so instead of failing at the first sysctl. */
static bool privileged(char *err, size_t errlen)
{
    static const struct {
        int cap;
        const char *name;
    } need[] = {{CAP_NET_RAW, "CAP_NET_RAW"}, {CAP_NET_ADMIN, "CAP_NET_ADMIN"}};
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &hdr, data) != 0)
        return true; /* cannot tell: the operations themselves will say */
    char missing[64] = "";
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!(data[need[i].cap / CAP_WORD_BITS].effective & (1u << (need[i].cap % CAP_WORD_BITS))))
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", missing[0] ? ", " : "",
                     need[i].name);
    if (!missing[0])
        return true;
    snprintf(err, errlen, "run as root (or with CAP_NET_RAW and CAP_NET_ADMIN): this process lacks %s", missing);
    return false;
}

bool host_prepare(const struct rawlb_config *cfg, struct host_setup *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    if (!privileged(err, errlen))
        return false;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return false;
    }
    struct ifaddrs *list = NULL;
    bool ok = false;
    if (getifaddrs(&list) != 0) {
        snprintf(err, errlen, "getifaddrs: %s", strerror(errno));
        goto out;
    }
    if (!if_query(fd, "-e/--ext-if", cfg->ext_if, &h->ext, err, errlen) ||
        !if_query(fd, "-i/--int-if", cfg->int_if, &h->intf, err, errlen))
        goto out;
    char owner[IF_NAMESIZE], vip[ADDR_STRLEN];
    h->nat_ip_is_kernel = kernel_owner(list, cfg->nat_ip, owner, sizeof owner) != NULL;
    if (h->nat_ip_is_kernel)
        log_info("NAT router address %s is a kernel address on %s: the kernel answers ARP for it",
                 addr_str(cfg->nat_ip, vip), owner);
    h->ext.addr = first_addr(list, cfg->ext_if, 0);
    h->intf.addr = first_addr(list, cfg->int_if, 0);
    /* Learn the real servers' MACs from our own address, never from the floating NAT address. */
    h->arp_source = first_addr(list, cfg->int_if, h->nat_ip_is_kernel ? 0 : cfg->nat_ip);
    if (!h->arp_source) {
        snprintf(err, errlen,
                 "%s has no IPv4 address: rawlb asks the real servers' MACs from its own address there, "
                 "e.g. ip addr add 203.0.113.2/24 dev %s",
                 cfg->int_if, cfg->int_if);
        goto out;
    }
    if (!forwarding_off(cfg->ext_if, err, errlen) || !forwarding_off(cfg->int_if, err, errlen))
        goto out;
    receive_offloads_off(fd, cfg->ext_if);
    receive_offloads_off(fd, cfg->int_if);
    ok = true;
out:
    if (list)
        freeifaddrs(list);
    close(fd);
    return ok;
}
