/* sink: the receiving side. Reads what arrives on an interface (an AF_PACKET socket with a BPF
 * filter, default "ip", its own frames ignored) in batches with recvmmsg, counts per flow
 * (5-tuple) and per sender, and for frames stamped by rawlb-replay follows each flow's sequence:
 * a gap is a loss, a sequence below the highest seen a duplicate or reordering. With --echo a
 * stamped UDP frame goes back where it came from: MACs, addresses and ports swapped (the
 * checksums stay valid) and sent in a batch. Stops at --duration, after --idle seconds without
 * a frame once one came, or on SIGINT/SIGTERM. With --one-way, each stamped frame's receive time
 * minus its stamp goes into a latency histogram. */
#include "replay.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SINK_BATCH 64
#define SINK_RCVBUF (64 * 1024 * 1024)
#define SINK_POLL_MS 50
#define SINK_FLOWS 262144
#define SINK_SENDERS 65536

struct sink {
    const struct opts *o;
    struct sink_result *r;
    int fd;
    uint8_t buf[SINK_BATCH][REPLAY_FRAME_MAX + 64];
    struct iovec iov[SINK_BATCH];
    struct mmsghdr msgs[SINK_BATCH];
    struct iovec eiov[SINK_BATCH];
    struct mmsghdr emsgs[SINK_BATCH];
    unsigned equeued;
};

static bool attach_filter(int fd, const char *filter, char *err, size_t errlen)
{
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    struct bpf_program prog;
    if (!dead)
        return snprintf(err, errlen, "pcap_open_dead failed"), false;
    if (pcap_compile(dead, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "--filter: bad value '%s': %s", filter, pcap_geterr(dead));
        pcap_close(dead);
        return false;
    }
    struct sock_fprog fp = { .len = (unsigned short)prog.bf_len, .filter = (struct sock_filter *)prog.bf_insns };
    int rc = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp);
    if (rc != 0)
        snprintf(err, errlen, "SO_ATTACH_FILTER: %s", strerror(errno));
    pcap_freecode(&prog);
    pcap_close(dead);
    return rc == 0;
}

static bool open_socket(struct sink *s, const struct netif *nif, char *err, size_t errlen)
{
    int one = 1, rcvbuf = SINK_RCVBUF;
    s->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return snprintf(err, errlen, "packet socket: %s", strerror(errno)), false;
    if (setsockopt(s->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0 ||
        setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        return snprintf(err, errlen, "sink socket options: %s", strerror(errno)), false;
    if (!attach_filter(s->fd, s->o->filter ? s->o->filter : "ip", err, errlen))
        return false;
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = nif->ifindex };
    if (bind(s->fd, (struct sockaddr *)&sll, sizeof sll) != 0)
        return snprintf(err, errlen, "bind on %s: %s", nif->name, strerror(errno)), false;
    /* frames queued before the filter was attached may be anything: drop them */
    uint8_t junk[64];
    for (int i = 0; i < 100000 && recv(s->fd, junk, sizeof junk, MSG_DONTWAIT) >= 0; i++)
        ;
    return true;
}

static void echo_queue(struct sink *s, uint8_t *f, size_t len, const struct hdrs *h)
{
    uint8_t t[6];
    memcpy(t, f, 6); memcpy(f, f + 6, 6); memcpy(f + 6, t, 6);
    uint8_t *ip = f + h->l3, a[4];
    memcpy(a, ip + 12, 4); memcpy(ip + 12, ip + 16, 4); memcpy(ip + 16, a, 4);
    uint8_t *l4 = f + h->l4, p[2];
    memcpy(p, l4, 2); memcpy(l4, l4 + 2, 2); memcpy(l4 + 2, p, 2);
    s->eiov[s->equeued] = (struct iovec){ .iov_base = f, .iov_len = len };
    s->emsgs[s->equeued].msg_hdr = (struct msghdr){ .msg_iov = &s->eiov[s->equeued], .msg_iovlen = 1 };
    s->equeued++;
}

static void echo_flush(struct sink *s)
{
    unsigned done = 0;
    for (int tries = 0; done < s->equeued && tries < 100; tries++) {
        int n = sendmmsg(s->fd, &s->emsgs[done], s->equeued - done, MSG_DONTWAIT);
        if (n > 0) {
            done += (unsigned)n;
            s->r->echoed += (uint64_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
            struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
            poll(&pfd, 1, 1);
        } else {
            s->r->echo_failed++;
            done++;
        }
    }
    s->r->echo_failed += s->equeued - done;
    s->equeued = 0;
}

/* now: when the batch holding the frame was read (after the socket's queue, not at the wire) */
static void account(struct sink *s, uint8_t *f, size_t len, uint64_t now)
{
    struct sink_result *r = s->r;
    struct hdrs h;
    r->pkts++;
    r->bytes += len;
    if (!frame_parse(f, len, &h))
        return;
    struct flow_key k;
    flow_key_of(f, &h, &k);
    struct flow *fl = flowtab_get(&r->flows, &k);
    struct flow_key sk = { .saddr = k.saddr };
    struct flow *sn = flowtab_get(&r->senders, &sk);
    if (sn) {
        sn->pkts++;
        sn->bytes += len;
    }
    if (!fl)
        return;
    fl->pkts++;
    fl->bytes += len;
    struct stamp st;
    if (h.proto != 17 || !h.l4 || h.fragment || !stamp_read(f + h.payload, h.l3 + h.ip_len - h.payload, &st))
        return;
    fl->stamped++;
    r->stamped++;
    if (s->o->one_way) {
        if (st.ts_ns > now)
            r->one_way.future++;
        else
            lathist_add(&r->one_way, now - st.ts_ns);
    }
    if (st.seq >= fl->next_seq)
        fl->next_seq = (uint64_t)st.seq + 1;
    else
        fl->dups++;
    if (s->o->echo)
        echo_queue(s, f, len, &h);
}

static void finish(struct sink_result *r)
{
    struct flowtab *ft = &r->flows;
    r->lost = 0;
    for (uint32_t i = 0; i <= ft->mask; i++) {
        struct flow *f = &ft->slots[i];
        if (f->used && f->stamped && f->next_seq > f->stamped - f->dups)
            r->lost += f->next_seq - (f->stamped - f->dups);
    }
}

static int run(struct sink *s)
{
    const struct opts *o = s->o;
    uint64_t start = now_ns(), first = 0, last = 0, next_progress = start + 1000000000u;
    uint64_t deadline = start + (uint64_t)(o->duration * 1e9), lp = 0, lb = 0;
    uint64_t idle = (uint64_t)(o->idle * 1e9);
    for (int i = 0; i < SINK_BATCH; i++) {
        s->iov[i] = (struct iovec){ .iov_base = s->buf[i], .iov_len = sizeof s->buf[i] };
        s->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &s->iov[i], .msg_iovlen = 1 };
    }
    while (!replay_stop) {
        uint64_t now = now_ns();
        if (now >= deadline || (first && idle && now - last >= idle))
            break;
        if (o->progress && now >= next_progress) {
            report_progress("received", s->r->pkts, s->r->bytes, lp, lb, 1.0);
            lp = s->r->pkts;
            lb = s->r->bytes;
            next_progress = now + 1000000000u;
        }
        int n = recvmmsg(s->fd, s->msgs, SINK_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) {
            struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
            poll(&pfd, 1, SINK_POLL_MS);
            continue;
        }
        now = now_ns();
        if (!first)
            first = now;
        last = now;
        for (int i = 0; i < n; i++)
            account(s, s->buf[i], s->msgs[i].msg_len, now);
        if (s->equeued)
            echo_flush(s);
    }
    struct tpacket_stats st;
    socklen_t len = sizeof st;
    if (getsockopt(s->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
        s->r->kernel_drops = st.tp_drops;
    s->r->elapsed_s = first ? (double)(last - first) / 1e9 : 0;
    finish(s->r);
    if (o->progress)
        fputc('\n', stdout);
    return REPLAY_EXIT_OK;
}

int sink_run(const struct opts *o, struct sink_result *r)
{
    char err[256] = "";
    struct netif nif;
    int rc = REPLAY_EXIT_FAIL;
    memset(r, 0, sizeof *r);
    struct sink *s = calloc(1, sizeof *s);
    if (!s || !flowtab_init(&r->flows, SINK_FLOWS) || !flowtab_init(&r->senders, SINK_SENDERS)) {
        fprintf(stderr, "rawlb-replay: out of memory\n");
        free(s);
        return rc;
    }
    s->o = o;
    s->r = r;
    s->fd = -1;
    if (netif_lookup(&nif, o->sink_if, err, sizeof err) && open_socket(s, &nif, err, sizeof err)) {
        fprintf(stderr, "rawlb-replay: sink on %s%s\n", nif.name, o->echo ? ", echoing stamped UDP" : "");
        rc = run(s);
    }
    if (rc != REPLAY_EXIT_OK)
        fprintf(stderr, "rawlb-replay: %s\n", err);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
    return rc;
}
