/* bench-floor: the least a packet-socket NAT forwarder can do, run by tools/bench/floor.sh in
 * rawlb's place on bench.sh's topology, so that one run shows how far this box lets any such
 * forwarder go next to kernel forwarding, and how much of the distance is rawlb's own.
 *
 * What it does: one thread, two interfaces, recvmmsg and sendmmsg in batches with the vnet header
 * (GSO superframes and partial checksums pass through), poll() between them. Frames from ext to
 * VIP (any protocol, any port) get their destination rewritten to one real server, frames from
 * int sent by that server their source rewritten to VIP; TTL and the IPv4 and TCP/UDP checksums
 * updated incrementally (a partial sum the kernel completes only by the addresses' change). ARP
 * requests for VIP (on ext) and for the NAT router address (on int) are answered in place. The
 * real server's and the client's MACs are given.
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

/* The same sizes rawlb's capture and xmit use, so that buffers are not what differs. */
#define BATCH 64
#define BATCHES_PER_WAKEUP 16
#define FRAME_ROOM (65536 + 128)
#define RCVBUF (16 * 1024 * 1024)
#define SNDBUF (32 * 1024 * 1024)
#define VNET_LEN sizeof(struct virtio_net_hdr)
#define ETH_LEN 14
#define MIN_FRAME (VNET_LEN + ETH_LEN + 20)
#define ARP_REQUEST 1
#define ARP_REPLY 2

struct side {
    const char *name;
    int rx, tx;
    uint8_t mac[ETH_ALEN];
    uint8_t *buf;
    struct mmsghdr rx_msgs[BATCH], tx_msgs[BATCH];
    struct iovec rx_iov[BATCH], tx_iov[BATCH];
    unsigned queued;
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

/* A receive socket (ETH_P_ALL, not its own frames) or a send socket (protocol 0: handed nothing). */
static int packet_socket(int ifindex, bool receive, const char *name)
{
    int proto = receive ? htons(ETH_P_ALL) : 0;
    int fd = socket(AF_PACKET, SOCK_RAW, proto);
    if (fd < 0)
        die("socket on", name);
    set_int(fd, SOL_PACKET, PACKET_VNET_HDR, 1, name);
    if (receive) {
        set_int(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, name);
        set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF, name);
    } else {
        set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, SNDBUF, name);
    }
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = (uint16_t)proto, .sll_ifindex = ifindex };
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0)
        die("bind on", name);
    return fd;
}

static void open_side(struct side *s, const char *name)
{
    int ifindex = (int)if_nametoindex(name);
    if (!ifindex)
        die("no interface", name);
    s->name = name;
    s->rx = packet_socket(ifindex, true, name);
    s->tx = packet_socket(ifindex, false, name);
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
        s->tx_msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &s->tx_iov[i], .msg_iovlen = 1 };
    }
}

static void queue(struct side *s, uint8_t *frame, size_t len)
{
    s->tx_iov[s->queued++] = (struct iovec){ .iov_base = frame, .iov_len = len };
}

/* What the link refuses is dropped, as rawlb does after one more try. */
static void flush(struct side *s)
{
    unsigned done = 0;
    while (done < s->queued) {
        int n = sendmmsg(s->tx, s->tx_msgs + done, s->queued - done, MSG_DONTWAIT);
        if (n <= 0)
            break;
        done += (unsigned)n;
    }
    s->queued = 0;
}

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, sizeof v); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, sizeof v); return v; }
static void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, sizeof v); }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof v); }

/* RFC 1624 with the changes' sum carried in 64 bits and folded once. */
static uint16_t fold(uint64_t s)
{
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* One address (IPv4 header offset 12: source, 16: destination) to `to`, TTL minus one, and both
 * checksums. */
static void nat(const uint8_t *vnet, uint8_t *ip, size_t off, uint32_t to)
{
    uint32_t from = rd32(ip + off);
    wr32(ip + off, to);
    uint64_t addr = (uint64_t)(uint32_t)~from + to;
    uint16_t ttl_word = rd16(ip + 8);
    ip[8]--;
    uint64_t ttl = (uint64_t)(uint16_t)~ttl_word + rd16(ip + 8);
    wr16(ip + 10, (uint16_t)~fold((uint16_t)~rd16(ip + 10) + addr + ttl));
    if (ntohs(rd16(ip + 6)) & 0x1fff)
        return; /* a later fragment: no L4 header */
    uint8_t *l4 = ip + (ip[0] & 0x0f) * 4;
    uint8_t *check = ip[9] == IPPROTO_TCP ? l4 + 16 : ip[9] == IPPROTO_UDP ? l4 + 6 : NULL;
    if (!check)
        return;
    uint16_t c = rd16(check);
    if (vnet[offsetof(struct virtio_net_hdr, flags)] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        wr16(check, fold(c + addr));
        return;
    }
    if (ip[9] == IPPROTO_UDP && c == 0)
        return;
    c = (uint16_t)~fold((uint16_t)~c + addr);
    wr16(check, ip[9] == IPPROTO_UDP && c == 0 ? 0xffff : c);
}

/* An ARP request for `ours`, turned into the answer in place; false when it is not one. */
static bool answer_arp(const struct side *s, uint8_t *vnet, uint8_t *eth, uint32_t ours)
{
    uint8_t *a = eth + ETH_LEN;
    if (ntohs(rd16(a + 6)) != ARP_REQUEST || rd32(a + 24) != ours)
        return false;
    memset(vnet, 0, VNET_LEN);
    memcpy(eth, eth + ETH_ALEN, ETH_ALEN);
    memcpy(eth + ETH_ALEN, s->mac, ETH_ALEN);
    wr16(a + 6, htons(ARP_REPLY));
    memcpy(a + 18, a + 8, ETH_ALEN + 4); /* the asker becomes the target */
    memcpy(a + 8, s->mac, ETH_ALEN);
    wr32(a + 14, ours);
    return true;
}

static void forward(struct side *in, struct side *out, bool from_ext)
{
    for (unsigned b = 0; b < BATCHES_PER_WAKEUP; b++) {
        int n = recvmmsg(in->rx, in->rx_msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++) {
            uint8_t *vnet = in->buf + (size_t)i * FRAME_ROOM, *eth = vnet + VNET_LEN, *ip = eth + ETH_LEN;
            size_t len = in->rx_msgs[i].msg_len;
            if (len < MIN_FRAME)
                continue;
            uint16_t type = ntohs(rd16(eth + 12));
            if (type == ETH_P_ARP) {
                if (answer_arp(in, vnet, eth, from_ext ? vip : nat_addr))
                    queue(in, vnet, len);
                continue;
            }
            if (type != ETH_P_IP || ip[8] <= 1)
                continue;
            if (from_ext && rd32(ip + 16) == vip) {
                nat(vnet, ip, 16, server);
                memcpy(eth, server_mac, ETH_ALEN);
            } else if (!from_ext && rd32(ip + 12) == server) {
                nat(vnet, ip, 12, vip);
                memcpy(eth, client_mac, ETH_ALEN);
            } else {
                continue;
            }
            memcpy(eth + ETH_ALEN, out->mac, ETH_ALEN);
            queue(out, vnet, len);
        }
        flush(out); /* the buffers are read into again next */
        flush(in);
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
