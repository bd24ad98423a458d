/* arp: see arp.h. */
#include "arp.h"

#include <libnet.h>
#include <linux/filter.h>
#include <stdio.h>
#include <string.h>

#include "service.h"

static const uint8_t broadcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t zero_mac[6];

bool arp_sender_open(struct arp_sender *s, const char *ifname, const uint8_t *mac, uint32_t addr, char *err,
                     size_t errlen)
{
    char lnerr[LIBNET_ERRBUF_SIZE];
    memset(s, 0, sizeof *s);
    s->ln = libnet_init(LIBNET_LINK, ifname, lnerr);
    if (!s->ln) {
        snprintf(err, errlen, "libnet on %s: %s", ifname, lnerr);
        return false;
    }
    /* libnet's link socket is bound to ETH_P_ALL and would be handed a copy of every frame on
     * the interface, which nobody reads: a filter that accepts nothing keeps it empty. */
    struct sock_filter reject_all = BPF_STMT(BPF_RET | BPF_K, 0);
    struct sock_fprog prog = { .len = 1, .filter = &reject_all };
    if (setsockopt(libnet_getfd(s->ln), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
        snprintf(err, errlen, "libnet socket filter on %s: %s", ifname, strerror(errno));
        libnet_destroy(s->ln);
        s->ln = NULL;
        return false;
    }
    memcpy(s->mac, mac, sizeof s->mac);
    s->addr = addr;
    return true;
}

void arp_sender_close(struct arp_sender *s)
{
    if (s->ln)
        libnet_destroy(s->ln);
    s->ln = NULL;
}

static void send_arp(struct arp_sender *s, uint32_t spa, uint32_t tpa)
{
    libnet_clear_packet(s->ln);
    if (libnet_autobuild_arp(ARPOP_REQUEST, s->mac, (uint8_t *)&spa, zero_mac, (uint8_t *)&tpa, s->ln) == -1 ||
        libnet_autobuild_ethernet(broadcast_mac, ETHERTYPE_ARP, s->ln) == -1 || libnet_write(s->ln) == -1)
        s->failed++;
    else
        s->sent++;
}

void arp_solicit(struct arp_sender *s, uint32_t target)
{
    send_arp(s, s->addr, target);
}

void arp_announce(struct arp_sender *s, uint32_t owned)
{
    send_arp(s, owned, owned);
}

void arp_announce_owned(struct arp_sender *ext, struct arp_sender *intf, const struct service_table *t,
                        uint32_t nat_ip, bool with_nat)
{
    for (unsigned i = 0; i < t->n; i++) {
        bool seen = false;
        for (unsigned j = 0; j < i && !seen; j++)
            seen = t->svc[j].vip.addr == t->svc[i].vip.addr;
        if (!seen)
            arp_announce(ext, t->svc[i].vip.addr);
    }
    if (with_nat)
        arp_announce(intf, nat_ip);
}
