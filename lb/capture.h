/* capture: the receive side of one interface. An own AF_PACKET socket with PACKET_VNET_HDR
 * (libpcap cannot hand over GSO metadata, nor the checksum status), filtered in the kernel by
 * a BPF program that libpcap compiles, read in batches with one recvmmsg per batch into buffers
 * allocated once at start. */
#ifndef RAWLB_CAPTURE_H
#define RAWLB_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define CAPTURE_BATCH 64
/* A vnet header plus the largest GSO superframe (64 KiB of IP plus Ethernet). */
#define CAPTURE_FRAME_ROOM (65536 + 128)
/* Compile filters with a snaplen that cannot cut a maximal GSO frame (FASTPATH.md). */
#define CAPTURE_SNAPLEN 262144

struct capture_stats {
    uint64_t batches, frames, truncated;
    uint64_t kernel_drops; /* frames the socket's buffer had no room for (PACKET_STATISTICS) */
};

struct capture {
    int fd;
    int ifindex;
    uint8_t *buf; /* CAPTURE_BATCH frames of CAPTURE_FRAME_ROOM bytes */
    struct mmsghdr msgs[CAPTURE_BATCH];
    struct iovec iov[CAPTURE_BATCH];
    struct capture_stats stats;
};

/* Opens the socket on ifindex with the filter (pcap syntax) attached before it is bound, so
 * no unfiltered frame is ever queued. False with a message. */
bool capture_open(struct capture *c, int ifindex, const char *filter, char *err, size_t errlen);
/* Replaces the filter (e.g. after a service was added). */
bool capture_set_filter(struct capture *c, const char *filter, char *err, size_t errlen);
void capture_close(struct capture *c);
/* Adds the kernel's drop count since the last call to c->stats.kernel_drops. */
void capture_update_stats(struct capture *c);

/* Reads up to CAPTURE_BATCH frames without blocking. Returns the count (0 when none), or -1 on
 * error (errno). Frame i is capture_frame(c, i) with length c->msgs[i].msg_len; frames cut
 * short by the buffer are reported with length 0 and counted. */
int capture_read_batch(struct capture *c);
static inline uint8_t *capture_frame(struct capture *c, unsigned i)
{
    return c->buf + (size_t)i * CAPTURE_FRAME_ROOM;
}

#endif
