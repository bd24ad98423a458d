/* arp: see arp.h. */
#include "arp.h"

#include <errno.h>
#include <fcntl.h>
#include <libnet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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
    /* libnet's link socket is bound to ETH_P_ALL on every interface: a tap the kernel hands every
     * frame the host receives and a clone of every frame it sends (each one the fast path
     * forwards), only for nobody to read them (with the fanout groups' own, capture.c: some 4% of
     * a worker's samples forwarding small UDP). It only sends, by sendto with the interface's
     * index: a packet socket of protocol 0, which is handed nothing, takes its place under the
     * same descriptor. */
    int quiet = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (quiet < 0 || dup3(quiet, libnet_getfd(s->ln), O_CLOEXEC) < 0) {
        snprintf(err, errlen, "libnet socket on %s: %s", ifname, strerror(errno));
        if (quiet >= 0)
            close(quiet);
        libnet_destroy(s->ln);
        s->ln = NULL;
        return false;
    }
    close(quiet);
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
