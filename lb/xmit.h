/* xmit: the send side of one interface: an AF_PACKET socket bound with protocol 0 (it receives
 * nothing) and PACKET_VNET_HDR, so the kernel segments GSO superframes and completes partial
 * checksums on the way out. Frames are queued by pointer (they stay in the capture buffers) and
 * sent with one sendmmsg per flush. */
#ifndef RAWLB_XMIT_H
#define RAWLB_XMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* Frames from both interfaces' batches may be queued on one sender before a flush. */
#define XMIT_QUEUE (2 * 64)

struct xmit_stats {
    uint64_t sent, failed, retried, flushes;
};

struct xmit {
    int fd;
    unsigned queued;
    struct mmsghdr msgs[XMIT_QUEUE];
    struct iovec iov[XMIT_QUEUE];
    struct xmit_stats stats;
};

bool xmit_open(struct xmit *x, int ifindex, char *err, size_t errlen);
void xmit_close(struct xmit *x);
/* Queues a frame (vnet header first); flushes first when the queue is full. The buffer must
 * stay untouched until the next flush. */
void xmit_queue(struct xmit *x, uint8_t *buf, size_t len);
/* sum += s, field by field (one sender per interface and worker thread). */
void xmit_stats_add(struct xmit_stats *sum, const struct xmit_stats *s);
/* Sends everything queued, never waiting: a frame the kernel refuses is counted and skipped,
 * never the rest; when the socket or device is full, what is left after one more try is
 * dropped and counted as failed (retried counts those tries). */
void xmit_flush(struct xmit *x);

#endif
