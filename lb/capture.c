/* capture: see capture.h. */
#include "capture.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for bursts while the loop is busy elsewhere (libpcap's default 2 MB dropped under load),
 * but not a standing queue: under sustained overload 64 MB held 1.5-2 s of small frames
 * (BENCHMARKS.md), which is latency, not throughput. 16 MB still holds 250 GSO superframes. */
#define CAPTURE_RCVBUF (16 * 1024 * 1024)

bool capture_set_filter(struct capture *c, const char *filter, char *err, size_t errlen)
{
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, CAPTURE_SNAPLEN);
    if (!dead) {
        snprintf(err, errlen, "pcap_open_dead failed");
        return false;
    }
    struct bpf_program prog;
    if (pcap_compile(dead, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "cannot compile filter '%s': %s", filter, pcap_geterr(dead));
        pcap_close(dead);
        return false;
    }
    /* libpcap's bpf_insn and the kernel's sock_filter have the same layout. */
    struct sock_fprog fprog = { .len = (unsigned short)prog.bf_len, .filter = (struct sock_filter *)prog.bf_insns };
    int rc = setsockopt(c->fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog);
    int saved = errno;
    pcap_freecode(&prog);
    pcap_close(dead);
    if (rc != 0) {
        snprintf(err, errlen, "SO_ATTACH_FILTER: %s", strerror(saved));
        return false;
    }
    return true;
}

static bool set_int(int fd, int level, int opt, int value, const char *name, char *err, size_t errlen)
{
    if (setsockopt(fd, level, opt, &value, sizeof value) == 0)
        return true;
    snprintf(err, errlen, "%s: %s", name, strerror(errno));
    return false;
}

bool capture_open(struct capture *c, int ifindex, const char *filter, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->ifindex = ifindex;
    /* Protocol 0: nothing is queued before the filter is in place and the socket bound. */
    c->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(err, errlen, "packet socket: %s", strerror(errno));
        return false;
    }
    if (!set_int(c->fd, SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR", err, errlen) ||
        !set_int(c->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING", err, errlen) ||
        !set_int(c->fd, SOL_SOCKET, SO_RCVBUFFORCE, CAPTURE_RCVBUF, "SO_RCVBUFFORCE", err, errlen) ||
        !capture_set_filter(c, filter, err, errlen))
        goto fail;
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex };
    if (bind(c->fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
        snprintf(err, errlen, "bind packet socket: %s", strerror(errno));
        goto fail;
    }
    c->buf = malloc((size_t)CAPTURE_BATCH * CAPTURE_FRAME_ROOM);
    if (!c->buf) {
        snprintf(err, errlen, "out of memory for capture buffers");
        goto fail;
    }
    for (unsigned i = 0; i < CAPTURE_BATCH; i++) {
        c->iov[i] = (struct iovec){ .iov_base = capture_frame(c, i), .iov_len = CAPTURE_FRAME_ROOM };
        c->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &c->iov[i], .msg_iovlen = 1 };
    }
    return true;
fail:
    close(c->fd);
    c->fd = -1;
    return false;
}

void capture_update_stats(struct capture *c)
{
    struct tpacket_stats st;
    socklen_t len = sizeof st;
    /* Reading the statistics resets them in the kernel: accumulate. */
    if (c->fd >= 0 && getsockopt(c->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
        c->stats.kernel_drops += st.tp_drops;
}

void capture_close(struct capture *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}

int capture_read_batch(struct capture *c)
{
    for (unsigned i = 0; i < CAPTURE_BATCH; i++)
        c->msgs[i].msg_hdr.msg_flags = 0;
    int n = recvmmsg(c->fd, c->msgs, CAPTURE_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    c->stats.batches++;
    c->stats.frames += (uint64_t)n;
    for (int i = 0; i < n; i++) {
        if (c->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
            c->msgs[i].msg_len = 0; /* a cut superframe must never be forwarded */
            c->stats.truncated++;
        }
    }
    return n;
}
