/* capture: see capture.h. */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Room for bursts while the loop is busy elsewhere (libpcap's default 2 MB dropped under load),
 * but not a standing queue: under sustained overload 64 MB held 1.5-2 s of small frames
 * (BENCHMARKS.md), which is latency, not throughput. 16 MB still holds 250 GSO superframes. */
#define CAPTURE_RCVBUF (16 * 1024 * 1024)

/* The overload rule (capture.h), measured on a busy 2-vCPU box (tools/bench/bench.sh, rawlb only,
 * 2 s tests): the receive timestamps of frames that were not overloaded (a paced sender on a
 * veth) were 97% under 128 us, 99.7% under 1 ms, with stalls up to 4-8 ms. A plain 3 ms age
 * limit dropped TCP segments in such stalls: keep-alive p99 139 ms and close p99 161 ms (RTOs).
 * Only in overload (backlogged for CAPTURE_OVERLOAD_MS): 7.3 and 11.7 ms, while the replay sinks
 * stopped receiving with the 4 s send (4.0 s; 5.7-6.1 s before, the queue's tail). The timestamps
 * cost about 0.1-0.3 us per frame in a microbenchmark, within that box's noise; but while any
 * socket asks for them the kernel stamps every frame the host receives, on every interface: perf
 * of the whole box in bench.sh's UDP test (2026-11-27) put 2.8% of its samples in read_tsc, most
 * under netif_rx's stamping, so they are asked for only around a backlog (CAPTURE_STAMP_HOLD_MS).
 * The age limit in overload, 1 ms rather than 3 (2026-11-27, the same box, quiet, interleaved
 * rounds): the overload test's one-way p99 4.98-5.24 ms instead of 7.08-7.34 ms at about the same
 * delivered rate, and new connections during a top-speed SYN flood answered as often (20 and 18
 * of 20 against 16 and 20); a 5 ms CAPTURE_OVERLOAD_MS instead of 20 changed nothing more.
 * 500 us rather than 1 ms (2026-11-27, the same box, interleaved rounds with nft): p99 4.98, 4.72
 * and 4.72 ms against 5.24, 5.24 and 4.98, replay delivered 87-111 against 97-156 kpps (the
 * rounds' spread): in sustained overload the loop forwards what it can either way, the younger
 * limit only picks younger frames. */

/* Every filter starts with this prefix. First, a socket in a fanout group may be handed the frames
 * this host sends on the interface as well (the group's hook does not honour the socket's own
 * PACKET_IGNORE_OUTGOING; the group's own flag, where the kernel has it, does: see join), and
 * among them is every frame rawlb's send sockets forward: dropped.
 * Second, a frame that came with an 802.1Q tag belongs to another VLAN (to balance on a VLAN the
 * operator names its device): the kernel took the tag out of the frame into metadata before any
 * packet socket sees it, so only the filter can tell. It keeps CAPTURE_VLAN_MARK bytes of such a
 * frame, shorter than any Ethernet header, so capture_read_batch can count it and leave it out
 * at the cost of a compare per frame (PACKET_AUXDATA would add a control message to every one).
 * libpcap's jumps are relative, so its program stays valid behind the prefix. */
static const struct sock_filter prefix[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, CAPTURE_VLAN_MARK), /* 0 on a socket that leaves them uncounted */
};
#define PREFIX_LEN (sizeof prefix / sizeof prefix[0])
#define PREFIX_VLAN_RET (PREFIX_LEN - 1)

/* Compiles filter into *out (the prefix, then libpcap's program); free out->filter after use. */
static bool compile_filter(const char *filter, enum capture_vlan vlan, struct sock_fprog *out, char *err,
                           size_t errlen)
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
    size_t len = PREFIX_LEN + prog.bf_len;
    struct sock_filter *insns = len <= BPF_MAXINSNS ? malloc(len * sizeof *insns) : NULL;
    if (insns) {
        memcpy(insns, prefix, sizeof prefix);
        if (vlan == CAPTURE_VLAN_UNCOUNTED)
            insns[PREFIX_VLAN_RET].k = 0;
        /* libpcap's bpf_insn and the kernel's sock_filter have the same layout. */
        memcpy(insns + PREFIX_LEN, prog.bf_insns, prog.bf_len * sizeof *insns);
    } else {
        snprintf(err, errlen, "filter '%s': %zu instructions, at most %d fit", filter, len, BPF_MAXINSNS);
    }
    pcap_freecode(&prog);
    pcap_close(dead);
    *out = (struct sock_fprog){ .len = (unsigned short)len, .filter = insns };
    return insns != NULL;
}

static bool attach_filter(int fd, const struct sock_fprog *prog, char *err, size_t errlen)
{
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, prog, sizeof *prog) == 0)
        return true;
    snprintf(err, errlen, "SO_ATTACH_FILTER: %s", strerror(errno));
    return false;
}

bool capture_set_filter(struct capture *c, const char *filter, char *err, size_t errlen)
{
    struct sock_fprog prog;
    if (!compile_filter(filter, c->vlan, &prog, err, errlen))
        return false;
    bool ok = attach_filter(c->fd, &prog, err, errlen);
    free(prog.filter);
    return ok;
}

static bool set_int(int fd, int level, int opt, int value, const char *name, char *err, size_t errlen)
{
    if (setsockopt(fd, level, opt, &value, sizeof value) == 0)
        return true;
    snprintf(err, errlen, "%s: %s", name, strerror(errno));
    return false;
}

/* A bound receive socket on ifindex with prog attached before the bind, so no unfiltered frame is
 * ever queued. -1 with a message. */
static int open_socket(int ifindex, const struct sock_fprog *prog, char *err, size_t errlen)
{
    /* Protocol 0: nothing is queued before the filter is in place and the socket bound. */
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "packet socket: %s", strerror(errno));
        return -1;
    }
    if (!set_int(fd, SOL_PACKET, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR", err, errlen) ||
        !set_int(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING", err, errlen) ||
        !set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, CAPTURE_RCVBUF, "SO_RCVBUFFORCE", err, errlen) ||
        !attach_filter(fd, prog, err, errlen))
        goto fail;
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex };
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
        snprintf(err, errlen, "bind packet socket: %s", strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

bool capture_open(struct capture *c, int ifindex, const char *filter, enum capture_vlan vlan, char *err,
                  size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->ifindex = ifindex;
    c->fd = -1;
    c->vlan = vlan;
    struct sock_fprog prog;
    if (!compile_filter(filter, vlan, &prog, err, errlen))
        return false;
    c->fd = open_socket(ifindex, &prog, err, errlen);
    free(prog.filter);
    if (c->fd < 0)
        return false;
    c->buf = malloc((size_t)CAPTURE_BATCH * CAPTURE_FRAME_ROOM);
    if (!c->buf) {
        snprintf(err, errlen, "out of memory for capture buffers");
        capture_close(c);
        return false;
    }
    for (unsigned i = 0; i < CAPTURE_BATCH; i++) {
        c->iov[i] = (struct iovec){ .iov_base = capture_frame(c, i), .iov_len = CAPTURE_FRAME_ROOM };
        c->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &c->iov[i], .msg_iovlen = 1, .msg_control = &c->ctrl[i] };
    }
    return true;
}

/* A second socket like c's: same interface, same filter (read back from the kernel). */
static int reopen(const struct capture *c, char *err, size_t errlen)
{
    socklen_t n = 0; /* SO_GET_FILTER counts instructions, not bytes */
    if (getsockopt(c->fd, SOL_SOCKET, SO_GET_FILTER, NULL, &n) != 0) {
        snprintf(err, errlen, "SO_GET_FILTER: %s", strerror(errno));
        return -1;
    }
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = calloc(n, sizeof(struct sock_filter)) };
    int fd = -1;
    if (!prog.filter)
        snprintf(err, errlen, "out of memory for a filter");
    else if (getsockopt(c->fd, SOL_SOCKET, SO_GET_FILTER, prog.filter, &n) != 0)
        snprintf(err, errlen, "SO_GET_FILTER: %s", strerror(errno));
    else
        fd = open_socket(c->ifindex, &prog, err, errlen);
    free(prog.filter);
    return fd;
}

/* Linux 6.2's flag, missing from older headers; older kernels ignore the bit (the filter's prefix
 * then drops those frames instead). */
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif

/* The group ignores what this host sends on the interface: without it every frame rawlb forwards
 * is cloned for the group and run through both programs only to be dropped by the filter's
 * prefix. With libnet's tap gone too (arp.c), the clone is not made at all: some 4% of a worker's
 * samples forwarding small UDP were that clone and its deliveries (perf, bench.sh's UDP test). */
static bool join(int fd, uint16_t id, int flags, char *err, size_t errlen)
{
    flags |= PACKET_FANOUT_CBPF | PACKET_FANOUT_FLAG_IGNORE_OUTGOING;
    return set_int(fd, SOL_PACKET, PACKET_FANOUT, id | flags << 16, "PACKET_FANOUT", err, errlen);
}

/* Joins fd to a new group; its id (the low 16 bits of PACKET_FANOUT's value), or -1. */
static int join_new_group(int fd, char *err, size_t errlen)
{
    int val;
    socklen_t len = sizeof val;
    if (!join(fd, 0, PACKET_FANOUT_FLAG_UNIQUEID, err, errlen))
        return -1;
    if (getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &val, &len) != 0) {
        snprintf(err, errlen, "getsockopt PACKET_FANOUT: %s", strerror(errno));
        return -1;
    }
    return val & UINT16_MAX;
}

bool capture_join_fanout(struct capture *c, uint16_t *group_id, const struct sock_fprog *prog, char *err,
                         size_t errlen)
{
    if (*group_id) {
        if (!join(c->fd, *group_id, 0, err, errlen))
            return false;
    } else {
        int id = join_new_group(c->fd, err, errlen);
        if (id == 0) {
            /* The kernel's counter is global and starts at 0, but 0 tells the next socket to make
             * a group of its own: a second socket joins a new group while this one still holds
             * id 0, and then takes this one's place (closing it, which dissolves group 0). */
            int fd = reopen(c, err, errlen);
            if (fd < 0)
                return false;
            id = join_new_group(fd, err, errlen);
            if (id > 0 && dup3(fd, c->fd, O_CLOEXEC) < 0) {
                snprintf(err, errlen, "dup3: %s", strerror(errno));
                id = -1;
            }
            close(fd);
        }
        if (id < 0)
            return false;
        *group_id = (uint16_t)id;
    }
    /* Frames queued before the join came through the socket's own hook, which the group's now
     * replaces: the group had them as well (or they came before it existed, as if before start). */
    uint8_t scratch[64];
    while (recv(c->fd, scratch, sizeof scratch, MSG_DONTWAIT | MSG_TRUNC) >= 0)
        ;
    return !prog || capture_set_fanout_prog(c, prog, err, errlen);
}

bool capture_set_fanout_prog(struct capture *c, const struct sock_fprog *prog, char *err, size_t errlen)
{
    if (setsockopt(c->fd, SOL_PACKET, PACKET_FANOUT_DATA, prog, sizeof *prog) == 0)
        return true;
    snprintf(err, errlen, "PACKET_FANOUT_DATA: %s", strerror(errno));
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

void capture_stats_add(struct capture_stats *sum, const struct capture_stats *s)
{
    sum->batches += s->batches;
    sum->frames += s->frames;
    sum->truncated += s->truncated;
    sum->too_old += s->too_old;
    sum->vlan_tagged += s->vlan_tagged;
    sum->kernel_drops += s->kernel_drops;
}

#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL
#define NS_PER_US 1000LL

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* When the kernel received the frame (CLOCK_REALTIME, ns), or INT64_MAX if it did not say. */
static int64_t received_ns(struct msghdr *m)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(cm), sizeof ts);
            return ts.tv_sec * NS_PER_S + ts.tv_nsec;
        }
    }
    return INT64_MAX;
}

/* Receive timestamps from the first full batch until CAPTURE_STAMP_HOLD_MS without one
 * (capture.h). Frames queued before they were asked for come stamped with the time they are
 * read, so they pass as fresh. */
static void follow_backlog(struct capture *c, bool full, int64_t now)
{
    if (full)
        c->last_full_ns = now;
    bool wanted = now - c->last_full_ns < CAPTURE_STAMP_HOLD_MS * NS_PER_MS || now < c->overload_until_ns;
    if (wanted == c->stamping)
        return;
    int on = wanted;
    if (setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0)
        c->stamping = wanted;
}

void capture_tick(struct capture *c)
{
    follow_backlog(c, false, clock_ns(CLOCK_MONOTONIC));
}

int capture_read_batch(struct capture *c)
{
    for (unsigned i = 0; i < CAPTURE_BATCH; i++) {
        c->msgs[i].msg_hdr.msg_flags = 0;
        c->msgs[i].msg_hdr.msg_controllen = sizeof c->ctrl[i];
    }
    int n = recvmmsg(c->fd, c->msgs, CAPTURE_BATCH, MSG_DONTWAIT, NULL);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    c->stats.batches++;
    c->stats.frames += (uint64_t)n;
    /* The state below is kept on the monotonic clock; the kernel stamps frames with the
     * real-time one, so a step of that clock can only misjudge the frames queued at that moment. */
    int64_t now = clock_ns(CLOCK_MONOTONIC);
    if (n < CAPTURE_BATCH)
        c->backlog_since_ns = 0; /* caught up */
    else if (!c->backlog_since_ns)
        c->backlog_since_ns = now;
    follow_backlog(c, n == CAPTURE_BATCH, now);
    bool overload = now < c->overload_until_ns ||
                    (c->backlog_since_ns && now - c->backlog_since_ns >= CAPTURE_OVERLOAD_MS * NS_PER_MS);
    int64_t oldest = overload ? clock_ns(CLOCK_REALTIME) - CAPTURE_MAX_AGE_US * NS_PER_US : 0;
    for (int i = 0; i < n; i++) {
        c->stale[i] = false;
        if (c->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
            c->msgs[i].msg_len = 0; /* a cut superframe must never be forwarded */
            c->stats.truncated++;
        } else if (c->msgs[i].msg_len == sizeof(struct virtio_net_hdr) + CAPTURE_VLAN_MARK) {
            c->msgs[i].msg_len = 0; /* what the filter kept of a tagged frame */
            c->stats.vlan_tagged++;
        } else if (overload && received_ns(&c->msgs[i].msg_hdr) < oldest) {
            c->stale[i] = true;
            c->overload_until_ns = now + CAPTURE_OVERLOAD_MS * NS_PER_MS;
        }
    }
    return n;
}
