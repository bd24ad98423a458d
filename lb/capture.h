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
#include <linux/filter.h>
#include <sys/uio.h>
#include <time.h>

#define CAPTURE_BATCH 64
/* A vnet header plus the largest GSO superframe (64 KiB of IP plus Ethernet). */
#define CAPTURE_FRAME_ROOM (65536 + 128)
/* Compile filters with a snaplen that cannot cut a maximal GSO frame: libpcap's filters return
 * the snaplen as the length to keep, and a cut superframe could not be forwarded. */
#define CAPTURE_SNAPLEN 262144
/* Overload: under sustained overload the socket's queue fills up to CAPTURE_RCVBUF, seconds of
 * delay for every frame forwarded. Once the socket has stayed backlogged (every read a full batch)
 * for CAPTURE_OVERLOAD_MS, frames that waited longer than CAPTURE_MAX_AGE_US (from the kernel's
 * receive timestamp to the read) are stale: the reader drops them unless they belong to an
 * established flow (capture_drop_stale), which is cheap and spares the flows already carried, so
 * the loop catches up with fresh ones and a flood of new flows (spoofed SYNs) sheds itself first;
 * this lasts until CAPTURE_OVERLOAD_MS pass without a stale frame. A short stall
 * (the loop descheduled for a few ms on a busy host) leaves old frames too but drains before
 * CAPTURE_OVERLOAD_MS: those are forwarded late rather than dropped, as a dropped TCP segment
 * costs a retransmission timeout (measurements in capture.c). */
#define CAPTURE_MAX_AGE_US 500
#define CAPTURE_OVERLOAD_MS 20
/* The receive timestamps the rule reads are asked for only from the first full batch until
 * CAPTURE_STAMP_HOLD_MS pass without one: while any socket asks, the kernel stamps every frame
 * the host receives, on every interface (2% of a 2-vCPU box's time under load, measured: see
 * capture.c). The hold keeps a load that comes and goes from switching it on and off. */
#define CAPTURE_STAMP_HOLD_MS 1000
/* What the filter keeps of a frame that came with a VLAN tag (capture.c): a length no frame has. */
#define CAPTURE_VLAN_MARK 1

struct capture_stats {
    uint64_t batches, frames, truncated;
    uint64_t too_old;      /* frames dropped in overload: stale, and of no established flow */
    uint64_t vlan_tagged;  /* frames that came with an 802.1Q tag: another VLAN's, left out */
    uint64_t kernel_drops; /* frames the socket's buffer had no room for (PACKET_STATISTICS) */
};

/* Per message: room for the receive timestamp (SCM_TIMESTAMPNS). */
union capture_cmsg {
    struct cmsghdr align;
    uint8_t buf[CMSG_SPACE(sizeof(struct timespec))];
};

/* Frames that came with a VLAN tag are never handed over; which sockets count them: each frame
 * reaches one socket of a fanout group (the workers': counted) but every other socket on the
 * interface as well (the main thread's ARP sockets: not counted again). */
enum capture_vlan { CAPTURE_VLAN_COUNTED, CAPTURE_VLAN_UNCOUNTED };

struct capture {
    int fd;
    int ifindex;
    enum capture_vlan vlan;
    uint8_t *buf; /* CAPTURE_BATCH frames of CAPTURE_FRAME_ROOM bytes */
    struct mmsghdr msgs[CAPTURE_BATCH];
    struct iovec iov[CAPTURE_BATCH];
    union capture_cmsg ctrl[CAPTURE_BATCH];
    bool stale[CAPTURE_BATCH]; /* of the last read: waited over CAPTURE_MAX_AGE_US in overload */
    int64_t backlog_since_ns; /* the first of the current run of full batches; 0: none */
    int64_t overload_until_ns;
    bool stamping;            /* receive timestamps asked for (SO_TIMESTAMPNS) */
    int64_t last_full_ns;     /* the last full batch read */
    struct capture_stats stats;
};

/* Opens the socket on ifindex with the filter (pcap syntax) attached before it is bound, so
 * no unfiltered frame is ever queued. False with a message. */
bool capture_open(struct capture *c, int ifindex, const char *filter, enum capture_vlan vlan, char *err,
                  size_t errlen);
/* Replaces the filter (e.g. after a service was added). Every filter drops the frames this host
 * sends on the interface, which a socket in a fanout group would otherwise receive. */
bool capture_set_filter(struct capture *c, const char *filter, char *err, size_t errlen);

/* Spreading one interface's frames over several sockets (one per worker thread): the sockets join
 * one PACKET_FANOUT group of type PACKET_FANOUT_CBPF, whose classic BPF program returns the index
 * of the socket that gets the frame: sockets are numbered in the order they joined, and the
 * result is taken modulo the number of members (while some have not joined yet, theirs go to
 * others). The program sees the frame from its IP header, not from the Ethernet header (offset 0
 * is the IPv4 version byte). Without a program every frame goes to socket 0. When a member
 * closes, the last one to join takes its index.
 *
 * The first socket of a group passes *group_id == 0: the kernel makes a group with an id unique
 * in the network namespace, which is stored into *group_id (never 0); the next sockets of the
 * same interface pass that id. All must be open on the same interface. prog, if not NULL,
 * replaces the group's program (it is one per group, whichever member sets it); NULL keeps it.
 * Frames queued before the join are discarded (the group had them as well). */
bool capture_join_fanout(struct capture *c, uint16_t *group_id, const struct sock_fprog *prog, char *err,
                         size_t errlen);
/* Replaces the program of c's group (for every member) at once, e.g. after reconfiguration. */
bool capture_set_fanout_prog(struct capture *c, const struct sock_fprog *prog, char *err, size_t errlen);
void capture_close(struct capture *c);
/* Adds the kernel's drop count since the last call to c->stats.kernel_drops. */
void capture_update_stats(struct capture *c);
/* sum += s, field by field (several captures on one interface, one per worker thread). */
void capture_stats_add(struct capture_stats *sum, const struct capture_stats *s);

/* Reads up to CAPTURE_BATCH frames without blocking. Returns the count (0 when none), or -1 on
 * error (errno). Frame i is capture_frame(c, i) with length c->msgs[i].msg_len; frames cut
 * short by the buffer and frames of another VLAN are reported with length 0 and counted
 * (truncated, vlan_tagged); c->stale[i] says frame i is stale (overload). */
int capture_read_batch(struct capture *c);
/* For the socket's reader about once a second: stops asking for receive timestamps once
 * CAPTURE_STAMP_HOLD_MS have passed without a full batch, though no frame came since. */
void capture_tick(struct capture *c);
/* The reader's verdict on stale frame i: dropped (counted as too_old; its length becomes 0). */
static inline void capture_drop_stale(struct capture *c, unsigned i)
{
    c->msgs[i].msg_len = 0;
    c->stats.too_old++;
}
static inline uint8_t *capture_frame(struct capture *c, unsigned i)
{
    return c->buf + (size_t)i * CAPTURE_FRAME_ROOM;
}

#endif
