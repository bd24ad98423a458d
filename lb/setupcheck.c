/* setupcheck: see setupcheck.h. Messages name the flag, the address and why; the same text is
 * the daemon's exit message and an edit's error. */
#include "setupcheck.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "textout.h"

#define LOOPBACK_SHIFT 24 /* 127.0.0.0/8: the first octet */
#define SVC_NAMELEN 64
#define WHO_LEN 128

/* "TCP 198.51.100.10:80", for messages. */
static const char *svc_name(const struct service_config *sc, char *buf, size_t len)
{
    char ep[ENDPOINT_STRLEN];
    snprintf(buf, len, "%s %s", sc->proto == IPPROTO_TCP ? "TCP" : "UDP", endpoint_str(sc->vip.addr, sc->vip.port, ep));
    return buf;
}

/* The servers packets are sent to: the real servers, then the sorry server if there is one. */
static unsigned n_targets(const struct service_config *sc)
{
    return sc->n_rs + (sc->check.has_sorry ? 1 : 0);
}

static const struct endpoint *target(const struct service_config *sc, unsigned i)
{
    return i < sc->n_rs ? &sc->rs[i].ep : &sc->check.sorry;
}

/* "real server 203.0.113.11:80 of TCP 198.51.100.10:80" (or "sorry server ..."). */
static const char *target_name(const struct service_config *sc, unsigned i, char *buf, size_t len)
{
    char ep[ENDPOINT_STRLEN], svc[SVC_NAMELEN];
    const struct endpoint *t = target(sc, i);
    snprintf(buf, len, "%s %s of %s", i < sc->n_rs ? "real server" : "sorry server", endpoint_str(t->addr, t->port, ep),
             svc_name(sc, svc, sizeof svc));
    return buf;
}

/* A service whose VIP is addr, or NULL. */
static const struct service_config *vip_owner(const struct rawlb_config *cfg, uint32_t addr)
{
    for (unsigned i = 0; i < cfg->n_services; i++)
        if (cfg->services[i].vip.addr == addr)
            return &cfg->services[i];
    return NULL;
}

static bool is_loopback(uint32_t addr)
{
    return ntohl(addr) >> LOOPBACK_SHIFT == IN_LOOPBACKNET;
}

static bool target_ok(const struct rawlb_config *cfg, const struct service_config *sc, unsigned i, char *err,
                      size_t errlen)
{
    char who[WHO_LEN], svc[SVC_NAMELEN], a[ADDR_STRLEN];
    uint32_t addr = target(sc, i)->addr;
    const struct service_config *v = vip_owner(cfg, addr);
    if (v)
        return textout_error(err, errlen,
                    "%s is both a VIP (of %s) and the address of %s: rawlb would take what it sends to the "
                    "server for clients' packets and balance them again; a real server needs an address of its "
                    "own on the internal side, a VIP one on the external side",
                    addr_str(addr, a), svc_name(v, svc, sizeof svc), target_name(sc, i, who, sizeof who));
    if (is_loopback(addr))
        return textout_error(err, errlen,
                    "%s is a loopback address: rawlb sends to real servers over the internal interface, where "
                    "no one answers for %s",
                    target_name(sc, i, who, sizeof who), addr_str(addr, a));
    if (addr == cfg->nat_ip)
        return textout_error(err, errlen,
                    "%s is the NAT router address (-n/--nat-ip %s), the director's own: its packets would "
                    "come back to rawlb, not reach a server",
                    target_name(sc, i, who, sizeof who), addr_str(addr, a));
    return true;
}

bool setupcheck_config(const struct rawlb_config *cfg, char *err, size_t errlen)
{
    char svc[SVC_NAMELEN], a[ADDR_STRLEN];
    for (unsigned s = 0; s < cfg->n_services; s++) {
        const struct service_config *sc = &cfg->services[s];
        if (sc->vip.addr == cfg->nat_ip)
            return textout_error(err, errlen,
                        "the VIP of %s is the NAT router address (-n/--nat-ip %s): the real servers' replies "
                        "and the clients' packets would come to the same address; give them two",
                        svc_name(sc, svc, sizeof svc), addr_str(cfg->nat_ip, a));
        for (unsigned i = 0; i < n_targets(sc); i++)
            if (!target_ok(cfg, sc, i, err, errlen))
                return false;
    }
    return true;
}

/* The kernel address equal to addr, or NULL. */
static const struct kernel_addr *kernel_find(const struct kernel_addr *ka, size_t n, uint32_t addr)
{
    for (size_t i = 0; i < n; i++)
        if (ka[i].addr == addr)
            return &ka[i];
    return NULL;
}

static bool has_vip(const struct rawlb_config *cfg, uint32_t addr)
{
    return cfg && vip_owner(cfg, addr);
}

static bool has_target(const struct rawlb_config *cfg, uint32_t addr)
{
    for (unsigned s = 0; cfg && s < cfg->n_services; s++)
        for (unsigned i = 0; i < n_targets(&cfg->services[s]); i++)
            if (target(&cfg->services[s], i)->addr == addr)
                return true;
    return false;
}

static bool services_vs_kernel(const struct rawlb_config *cfg, const struct rawlb_config *running,
                               const struct kernel_addr *ka, size_t n_ka, char *err, size_t errlen)
{
    char who[WHO_LEN], a[ADDR_STRLEN];
    for (unsigned s = 0; s < cfg->n_services; s++) {
        const struct service_config *sc = &cfg->services[s];
        const struct kernel_addr *k = kernel_find(ka, n_ka, sc->vip.addr);
        if (k && !has_vip(running, sc->vip.addr))
            return textout_error(err, errlen,
                        "VIP %s is a kernel address on %s: the kernel would answer its clients with RSTs; rawlb "
                        "owns the VIP itself: ip addr del %s/32 dev %s (use the prefix it was added with)",
                        addr_str(sc->vip.addr, a), k->ifname, a, k->ifname);
        for (unsigned i = 0; i < n_targets(sc); i++) {
            uint32_t addr = target(sc, i)->addr;
            k = kernel_find(ka, n_ka, addr);
            if (k && !has_target(running, addr))
                return textout_error(err, errlen,
                            "%s is a kernel address on %s, the director's own: its packets would stay in this "
                            "host, not reach a server",
                            target_name(sc, i, who, sizeof who), k->ifname);
        }
    }
    return true;
}

static bool nat_vs_kernel(const struct rawlb_config *cfg, const struct kernel_addr *ka, size_t n_ka, char *err,
                          size_t errlen)
{
    char a[ADDR_STRLEN], net[ADDR_STRLEN];
    bool inside = false;
    char subnets[RAWLB_ERRLEN] = "";
    size_t used = 0;
    for (size_t i = 0; i < n_ka; i++) {
        if (strcmp(ka[i].ifname, cfg->ext_if) == 0 && ka[i].addr == cfg->nat_ip)
            return textout_error(err, errlen,
                        "-n/--nat-ip %s is a kernel address on the external interface %s: the kernel answers for "
                        "it on the clients' side; the NAT router address belongs on the internal side (-i %s)",
                        addr_str(cfg->nat_ip, a), cfg->ext_if, cfg->int_if);
        if (strcmp(ka[i].ifname, cfg->int_if) != 0)
            continue;
        inside |= (ka[i].addr & ka[i].mask) == (cfg->nat_ip & ka[i].mask);
        if (used < sizeof subnets) {
            int w = snprintf(subnets + used, sizeof subnets - used, "%s%s/%d", used ? ", " : "",
                             addr_str(ka[i].addr & ka[i].mask, net), __builtin_popcount(ka[i].mask));
            used += w > 0 ? (size_t)w : 0;
        }
    }
    if (!inside)
        return textout_error(err, errlen,
                    "-n/--nat-ip %s is outside every subnet of the internal interface %s (%s): the real servers "
                    "cannot reach it as their gateway; give it an address in one, or add its subnet to %s",
                    addr_str(cfg->nat_ip, a), cfg->int_if, used ? subnets : "it has no IPv4 address", cfg->int_if);
    return true;
}

bool setupcheck_kernel(const struct rawlb_config *cfg, const struct rawlb_config *running,
                       const struct kernel_addr *ka, size_t n_ka, char *err, size_t errlen)
{
    if (!running && !nat_vs_kernel(cfg, ka, n_ka, err, errlen))
        return false;
    return services_vs_kernel(cfg, running, ka, n_ka, err, errlen);
}
