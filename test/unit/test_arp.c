/* arp live on a veth pair in a network namespace of its own (skipped without root): a request and
 * a gratuitous ARP leave as Ethernet/IPv4 ARP with the sender's MAC and addresses, and the
 * sender's socket is handed no frame, neither what arrives on the interface nor what it sends. */
#include <errno.h>
#include <libnet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "arp.h"
#include "capture.h"
#include "frames.h"
#include "packet.h"
#include "testing.h"
#include "xmit.h"

#define OWN htonl(0xcb007101u)    /* 203.0.113.1: the address requests are sent from */
#define TARGET htonl(0xcb00710bu) /* 203.0.113.11: whose MAC a request asks for */
#define OWNED htonl(0xc6336401u)  /* 198.51.100.1: an address announced */
#define SETTLE_MS 200 /* veth delivers before the send returns: this bounds a miss */

static const uint8_t own_mac[6] = { 2, 0, 0, 0, 0, 0x11 };

/* The next ARP frame rx gets within SETTLE_MS, parsed; false when none came. */
static bool next_arp(struct capture *rx, struct arp_view *a)
{
    struct pollfd pfd = { .fd = rx->fd, .events = POLLIN };
    if (poll(&pfd, 1, SETTLE_MS) != 1 || capture_read_batch(rx) != 1)
        return false;
    uint8_t *frame = capture_frame(rx, 0) + FRAME_VNET_LEN;
    return arp_parse(frame, rx->msgs[0].msg_len - FRAME_VNET_LEN, a);
}

/* Whether fd has a frame queued (it must never have one). */
static bool has_frame(int fd)
{
    uint8_t scratch[64];
    return recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) >= 0 || errno != EAGAIN;
}

static void test_live(void)
{
    if (!enter_private_netns())
        return;
    if (!veth_pair_up("arA", "arB")) {
        CHECK(!"veth pair");
        return;
    }
    char err[256] = "";
    struct arp_sender s;
    struct capture rx;
    struct xmit tx;
    if (!arp_sender_open(&s, "arA", own_mac, OWN, err, sizeof err) ||
        !capture_open(&rx, (int)if_nametoindex("arB"), "arp", CAPTURE_VLAN_COUNTED, err, sizeof err) ||
        !xmit_open(&tx, (int)if_nametoindex("arB"), err, sizeof err)) {
        fprintf(stderr, "open: %s\n", err);
        CHECK(!"open");
        return;
    }
    int fd = libnet_getfd((libnet_t *)s.ln);

    struct arp_view a;
    arp_solicit(&s, TARGET);
    CHECK(next_arp(&rx, &a));
    CHECK_EQ_U(a.op, ARP_OP_REQUEST);
    CHECK(a.spa == OWN && a.tpa == TARGET);
    CHECK(memcmp(a.sha, own_mac, sizeof own_mac) == 0);

    arp_announce(&s, OWNED);
    CHECK(next_arp(&rx, &a));
    CHECK(a.spa == OWNED && a.tpa == OWNED); /* gratuitous */
    CHECK(memcmp(a.sha, own_mac, sizeof own_mac) == 0);
    CHECK_EQ_U(s.sent, 2);
    CHECK_EQ_U(s.failed, 0);

    /* A frame arriving on the interface, and the two it sent: none for the sender's socket. */
    uint8_t frame[128];
    struct frame_spec f = { .dmac = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, .smac = { 2, 0, 0, 0, 0, 0x22 },
                            .saddr = 0xcb00710bu, .daddr = 0xcb007101u, .proto = IPPROTO_UDP, .sport = 5000, .dport = 5001,
                            .payload = 18 };
    xmit_queue(&tx, frame, frame_build(frame, &f));
    xmit_flush(&tx);
    CHECK_EQ_U(tx.stats.sent, 1);
    CHECK(!has_frame(fd));
    /* Not by a filter that drops them, but because the kernel hands it none: protocol 0. */
    struct sockaddr_ll sll;
    socklen_t len = sizeof sll;
    CHECK(getsockname(fd, (struct sockaddr *)&sll, &len) == 0);
    CHECK_EQ_U(sll.sll_protocol, 0);

    arp_sender_close(&s);
    capture_close(&rx);
    xmit_close(&tx);
}

int main(void)
{
    test_live();
    CHECK_DONE();
}
