/* xmit: see xmit.h. */
#include "xmit.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 64 superframes of 64 KiB overflowed a 4 MB buffer when measured on a 2-vCPU VM. */
#define XMIT_SNDBUF (32 * 1024 * 1024)
/* A full send buffer or device queue never holds the loop: waiting for it would stall every
 * flow of the worker in both directions (the loop's tail latency is the point of the overload
 * rule on the receive side). The batch is tried once more at once (a burst may have just
 * drained), then what is left is dropped and counted, as a full NIC ring or qdisc would drop it;
 * TCP recovers, UDP was never promised. On veth it does not happen: the peer drops instead. */
#define XMIT_TRIES_WHEN_FULL 2

/* PACKET_QDISC_BYPASS is not set: through rawlb on veth it gained nothing measurable (replay and
 * request rates no better, within a busy box's noise), it hides the forwarded frames from tcpdump
 * on the director, and on a NIC with a full ring it drops where a qdisc would queue. */
bool xmit_open(struct xmit *x, int ifindex, char *err, size_t errlen)
{
    memset(x, 0, sizeof *x);
    x->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (x->fd < 0) {
        snprintf(err, errlen, "packet socket: %s", strerror(errno));
        return false;
    }
    int one = 1, sndbuf = XMIT_SNDBUF;
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = 0, .sll_ifindex = ifindex };
    if (setsockopt(x->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0 ||
        setsockopt(x->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0 ||
        bind(x->fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
        snprintf(err, errlen, "send socket: %s", strerror(errno));
        close(x->fd);
        x->fd = -1;
        return false;
    }
    for (unsigned i = 0; i < XMIT_QUEUE; i++)
        x->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &x->iov[i], .msg_iovlen = 1 };
    return true;
}

void xmit_close(struct xmit *x)
{
    if (x->fd >= 0)
        close(x->fd);
    x->fd = -1;
}

void xmit_stats_add(struct xmit_stats *sum, const struct xmit_stats *s)
{
    sum->sent += s->sent;
    sum->failed += s->failed;
    sum->retried += s->retried;
    sum->flushes += s->flushes;
}

void xmit_queue(struct xmit *x, uint8_t *buf, size_t len)
{
    if (x->queued == XMIT_QUEUE)
        xmit_flush(x);
    x->iov[x->queued] = (struct iovec){ .iov_base = buf, .iov_len = len };
    x->queued++;
}

void xmit_flush(struct xmit *x)
{
    unsigned done = 0, tries = 0;
    if (!x->queued)
        return;
    x->stats.flushes++;
    while (done < x->queued) {
        int n = sendmmsg(x->fd, &x->msgs[done], x->queued - done, MSG_DONTWAIT);
        if (n > 0) {
            done += (unsigned)n;
            x->stats.sent += (uint64_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == ENOBUFS) && ++tries < XMIT_TRIES_WHEN_FULL) {
            x->stats.retried++;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
            x->stats.failed += x->queued - done; /* the link stays full: give the batch up */
            break;
        }
        /* This one frame was refused (e.g. a vnet header the device rejects): skip it. */
        x->stats.failed++;
        done++;
    }
    x->queued = 0;
}
