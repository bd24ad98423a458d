/* bench-floor: the least a packet-socket NAT forwarder can do, run by tools/bench/floor.sh in
 * rawlb's place on bench.sh's topology, so that one run shows how far this box lets any such
 * forwarder go next to kernel forwarding, and how much of the distance is rawlb's own.
 *
 * What it does: one thread, two interfaces, recvmmsg and rawlb's own send side (lb/xmit.h) in
 * batches with the vnet header (GSO superframes and partial checksums pass through), poll()
 * between them. Frames from ext to
 * VIP (any protocol, any port) get their destination rewritten to one real server, frames from
 * int sent by that server their source rewritten to VIP, by rawlb's own parse and rewrite
 * (lb/packet.h: TTL, both checksums); ARP requests for VIP (on ext) and for the NAT router address
 * (on int) are answered as rawlb answers them (lb/reply.h). The real server's and the client's
 * MACs are given.
 * What it does not, and rawlb does: a connection table, scheduling, several real servers,
 * fragments, ICMP, TTL and MTU answers, health, counters, several workers, bounded queueing in
 * overload (its receive buffers make a standing queue instead). Not a balancer: a yardstick.
 * usage: bench-floor EXT INT VIP NAT_ADDR SERVER SERVER_MAC CLIENT_MAC */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "packet.h"
#include "reply.h"
#include "xmit.h"

/* The same sizes rawlb's capture uses, so that buffers are not what differs. */
#define BATCH 64
#define BATCHES_PER_WAKEUP 16
#define FRAME_ROOM (65536 + 128)
#define RCVBUF (16 * 1024 * 1024)

struct side {
    int rx;
    struct xmit tx; /* rawlb's own send side (lb/xmit.h) */
    uint8_t mac[ETH_ALEN];
    uint8_t *buf;
    struct mmsghdr rx_msgs[BATCH];
    struct iovec rx_iov[BATCH];
};

static uint32_t vip, nat_addr, server;
static uint8_t server_mac[ETH_ALEN], client_mac[ETH_ALEN];

static void die(const char *what, const char *name)
{
    fprintf(stderr, "bench-floor: %s %s: %s\n", what, name, strerror(errno));
    exit(1);
}

static void set_int(int fd, int level, int opt, int value, const char *name)
{
    if (setsockopt(fd, level, opt, &value, sizeof value) != 0)
        die("setsockopt on", name);
}

/* The receive socket: ETH_P_ALL, not its own frames, rawlb's buffer size; no filter, no fanout,
 * no timestamps. */
static int receive_socket(int ifindex, const char *name)
{
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0)
        die("socket on", name);
    set_int(fd, SOL_PACKET, PACKET_VNET_HDR, 1, name);
    set_int(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, name);
    set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF, name);
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex };
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0)
        die("bind on", name);
    return fd;
}

static void open_side(struct side *s, const char *name)
{
    int ifindex = (int)if_nametoindex(name);
    if (!ifindex)
        die("no interface", name);
    s->rx = receive_socket(ifindex, name);
    char err[256];
    if (!xmit_open(&s->tx, ifindex, err, sizeof err)) {
        fprintf(stderr, "bench-floor: %s: %s\n", name, err);
        exit(1);
    }
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(s->rx, SIOCGIFHWADDR, &ifr) != 0)
        die("no MAC for", name);
    memcpy(s->mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    s->buf = malloc((size_t)BATCH * FRAME_ROOM);
    if (!s->buf)
        die("out of memory for", name);
    for (unsigned i = 0; i < BATCH; i++) {
        s->rx_iov[i] = (struct iovec){ .iov_base = s->buf + (size_t)i * FRAME_ROOM, .iov_len = FRAME_ROOM };
        s->rx_msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &s->rx_iov[i], .msg_iovlen = 1 };
    }
}

static void forward(struct side *in, struct side *out, bool from_ext)
{
    for (unsigned b = 0; b < BATCHES_PER_WAKEUP; b++) {
        int n = recvmmsg(in->rx, in->rx_msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++) {
            uint8_t *vnet = in->buf + (size_t)i * FRAME_ROOM, *eth = vnet + VNET_HLEN;
            size_t len = in->rx_msgs[i].msg_len;
            struct parsed p;
            struct arp_view a;
            if (len < VNET_HLEN)
                continue;
            switch (packet_parse(eth, len - VNET_HLEN, &p)) {
            case PARSE_OK:
                break;
            case PARSE_NOT_IPV4:
                if (arp_parse(eth, len - VNET_HLEN, &a) && a.op == ARP_OP_REQUEST &&
                    a.tpa == (from_ext ? vip : nat_addr))
                    xmit_queue(&in->tx, vnet, reply_arp(vnet, len, in->mac));
                continue;
            default:
                continue;
            }
            if (!packet_ttl_ok(&p))
                continue;
            bool partial = vnet[offsetof(struct virtio_net_hdr, flags)] & VIRTIO_NET_HDR_F_NEEDS_CSUM;
            if (from_ext && p.daddr == vip) {
                packet_forward_dnat(&p, server, p.dport, partial);
                memcpy(eth, server_mac, ETH_ALEN);
            } else if (!from_ext && p.saddr == server) {
                packet_forward_snat(&p, vip, p.sport, partial);
                memcpy(eth, client_mac, ETH_ALEN);
            } else {
                continue;
            }
            memcpy(eth + ETH_ALEN, out->mac, ETH_ALEN);
            xmit_queue(&out->tx, vnet, len);
        }
        xmit_flush(&out->tx); /* the buffers are read into again next */
        xmit_flush(&in->tx);
        if (n < BATCH)
            return;
    }
}

static bool parse_mac(const char *s, uint8_t *m)
{
    return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == ETH_ALEN;
}

int main(int argc, char **argv)
{
    if (argc != 8 || inet_pton(AF_INET, argv[3], &vip) != 1 || inet_pton(AF_INET, argv[4], &nat_addr) != 1 ||
        inet_pton(AF_INET, argv[5], &server) != 1 || !parse_mac(argv[6], server_mac) ||
        !parse_mac(argv[7], client_mac)) {
        fprintf(stderr, "usage: bench-floor EXT INT VIP NAT_ADDR SERVER SERVER_MAC CLIENT_MAC\n");
        return 2;
    }
    struct side ext, in;
    open_side(&ext, argv[1]);
    open_side(&in, argv[2]);
    struct pollfd pfd[2] = { { .fd = ext.rx, .events = POLLIN }, { .fd = in.rx, .events = POLLIN } };
    for (;;) {
        if (poll(pfd, 2, -1) < 0 && errno != EINTR)
            die("poll on", argv[1]);
        if (pfd[0].revents)
            forward(&ext, &in, true);
        if (pfd[1].revents)
            forward(&in, &ext, false);
    }
}
