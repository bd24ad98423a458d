/* sender: sends the templates (a capture or generated) on an AF_PACKET socket, a batch per
 * sendmmsg, paced by the capture's timing (--speed), --pps, --mbps or not at all (--topspeed).
 * Per send, a frame is copied into the batch, its source moved into --src-range (a flow's frames
 * keep one source within a pass; each pass of --loop shifts every flow to new addresses), and a
 * generated UDP frame stamped with its flow, sequence (per 5-tuple, from 0) and send time.
 * Echo mode: one flow of stamped probes from a kernel UDP socket's port, whose echoes come back
 * to that socket: round-trip times from the stamp. */
#include "replay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SEND_SNDBUF (8 * 1024 * 1024)
#define SEND_WAIT_MS 10
#define SEND_WAIT_TRIES 50        /* a link full for half a second gives the batch up */
#define SEND_SLACK_NS 100000u     /* frames due this soon go in the current batch */
#define SEND_SLEEP_MAX_NS 100000000u
#define ECHO_DRAIN_NS 1000000000u /* after the last probe, wait this long for echoes */
#define LAT_SAMPLES_MAX (1u << 22)
#define ECHO_BATCH 64

struct sender {
    const struct opts *o;
    struct send_result *r;
    int fd, echo_fd;
    unsigned batch, queued;
    uint8_t *buf;
    struct mmsghdr msgs[REPLAY_BATCH_MAX];
    struct iovec iov[REPLAY_BATCH_MAX];
    uint64_t start, next_progress, last_pkts, last_bytes, deadline;
};

static void flush(struct sender *s)
{
    unsigned done = 0, waits = 0;
    while (done < s->queued) {
        int n = sendmmsg(s->fd, &s->msgs[done], s->queued - done, MSG_DONTWAIT);
        if (n > 0) {
            for (unsigned i = done; i < done + (unsigned)n; i++)
                s->r->bytes += s->iov[i].iov_len;
            done += (unsigned)n;
            s->r->sent += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == ENOBUFS) {
            /* the device dropped this frame (a veth's peer backlog was full): it was offered, as
             * a TX ring counts it; go on with the rest rather than wait */
            s->r->bytes += s->iov[done].iov_len;
            s->r->link_drops++;
            done++;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR) && waits < SEND_WAIT_TRIES && !replay_stop) {
            struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
            poll(&pfd, 1, SEND_WAIT_MS);
            waits++;
            s->r->retried++;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            s->r->failed += s->queued - done;
            break;
        }
        s->r->failed++; /* this frame was refused: skip it, not the rest */
        done++;
    }
    s->queued = 0;
}

static void echo_drain(struct sender *s)
{
    uint8_t b[ECHO_BATCH][256];
    struct iovec iov[ECHO_BATCH];
    struct mmsghdr m[ECHO_BATCH];
    for (int rounds = 0; rounds < 64; rounds++) {
        for (int i = 0; i < ECHO_BATCH; i++) {
            iov[i] = (struct iovec){ .iov_base = b[i], .iov_len = sizeof b[i] };
            m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
        }
        int n = recvmmsg(s->echo_fd, m, ECHO_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return;
        uint64_t now = now_ns();
        struct latency *l = &s->r->lat;
        for (int i = 0; i < n; i++) {
            struct stamp st;
            if (!stamp_read(b[i], m[i].msg_len, &st) || st.ts_ns > now) {
                l->bad++;
                continue;
            }
            l->received++;
            if (l->n < l->cap)
                l->rtt_ns[l->n++] = now - st.ts_ns;
        }
    }
}

static void progress(struct sender *s, uint64_t now)
{
    if (!s->o->progress || now < s->next_progress)
        return;
    double dt = (double)(now - s->next_progress + 1000000000u) / 1e9;
    report_progress("offered", s->r->sent + s->r->link_drops, s->r->bytes, s->last_pkts, s->last_bytes, dt);
    s->last_pkts = s->r->sent + s->r->link_drops;
    s->last_bytes = s->r->bytes;
    s->next_progress = now + 1000000000u;
}

/* When the template's frame is due, in ns on the monotonic clock; 0 = now. */
static uint64_t due(const struct sender *s, const struct trace *tr, uint64_t iter, const struct tmpl *t, uint64_t nsent)
{
    const struct opts *o = s->o;
    if (o->topspeed)
        return 0;
    if (o->pps > 0)
        return s->start + (uint64_t)((double)nsent * 1e9 / o->pps);
    if (o->mbps > 0)
        return s->start + (uint64_t)((double)s->r->bytes * 8e3 / o->mbps);
    return s->start + (uint64_t)((double)(iter * tr->span_ns + t->ts_ns) / o->speed);
}

/* Sleeps until t (in slices, so a signal or the deadline ends it); false when it is time to stop. */
static bool wait_until(struct sender *s, uint64_t t)
{
    for (int i = 0; i < 1000000; i++) {
        uint64_t now = now_ns();
        if (replay_stop || (s->deadline && now >= s->deadline))
            return false;
        if (now >= t)
            return true;
        progress(s, now);
        uint64_t d = t - now;
        if (d > SEND_SLEEP_MAX_NS)
            d = SEND_SLEEP_MAX_NS;
        struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)d };
        if (s->echo_fd >= 0) { /* wake for an echo at once: its time is taken when it is read */
            struct pollfd pfd = { .fd = s->echo_fd, .events = POLLIN };
            if (ppoll(&pfd, 1, &ts, NULL) > 0)
                echo_drain(s);
        } else {
            nanosleep(&ts, NULL);
        }
    }
    return false;
}

static bool open_socket(struct sender *s, const struct netif *nif, char *err, size_t errlen)
{
    s->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        snprintf(err, errlen, "packet socket: %s", strerror(errno));
        return false;
    }
    int sndbuf = SEND_SNDBUF, one = 1;
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = 0, .sll_ifindex = nif->ifindex };
    if (setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) != 0 ||
        (s->o->qdisc_bypass && setsockopt(s->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0) ||
        bind(s->fd, (struct sockaddr *)&sll, sizeof sll) != 0) {
        snprintf(err, errlen, "send socket on %s: %s", nif->name, strerror(errno));
        return false;
    }
    return true;
}

static bool open_echo(struct sender *s, const struct netif *nif, uint16_t *port, char *err, size_t errlen)
{
    s->echo_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = nif->addr };
    socklen_t len = sizeof sin;
    int rcvbuf = 4 * 1024 * 1024;
    if (s->echo_fd < 0 || bind(s->echo_fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(s->echo_fd, (struct sockaddr *)&sin, &len) != 0) {
        snprintf(err, errlen, "echo socket on %s: %s", nif->name, strerror(errno));
        return false;
    }
    setsockopt(s->echo_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
    *port = ntohs(sin.sin_port);
    s->r->lat.cap = LAT_SAMPLES_MAX;
    if (!(s->r->lat.rtt_ns = malloc(LAT_SAMPLES_MAX * sizeof *s->r->lat.rtt_ns))) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    return true;
}

/* Copies template t into the next batch slot, rewritten for this pass; false: no flow slot. */
static void queue_frame(struct sender *s, const struct trace *tr, const struct tmpl *t, uint64_t iter)
{
    const struct opts *o = s->o;
    uint8_t *f = s->buf + (size_t)s->queued * REPLAY_FRAME_MAX;
    memcpy(f, t->data, t->len);
    if (o->src_range && t->h.l3) {
        uint64_t idx = (t->src_idx + iter * tr->nsrc) % o->src_size;
        frame_set_src(f, &t->h, htonl(o->src_base + (uint32_t)idx));
    }
    struct flow_key k;
    uint64_t seq = 0;
    if (t->h.l3) {
        flow_key_of(f, &t->h, &k);
        struct flow *fl = flowtab_get(&s->r->flows, &k);
        if (fl) {
            seq = fl->pkts;
            fl->pkts++;
            fl->bytes += t->len;
        }
    }
    if (t->stamp) {
        struct stamp st = { .flow = t->flow, .seq = (uint32_t)seq, .ts_ns = now_ns() };
        stamp_write(f + t->h.payload, &st);
        if (s->echo_fd >= 0)
            s->r->lat.sent++;
    }
    s->iov[s->queued].iov_len = t->len;
    s->queued++;
}

static int run(struct sender *s, const struct trace *tr)
{
    const struct opts *o = s->o;
    uint64_t nsent = 0;
    s->start = now_ns();
    s->next_progress = s->start + 1000000000u;
    s->deadline = o->duration > 0 ? s->start + (uint64_t)(o->duration * 1e9) : 0;
    bool stop = false;
    uint64_t iter;
    for (iter = 0; iter < o->loops && !stop; iter++) {
        for (size_t i = 0; i < tr->n; i++) {
            const struct tmpl *t = &tr->t[i];
            uint64_t when = due(s, tr, iter, t, nsent);
            uint64_t now = now_ns();
            if (when > now + SEND_SLACK_NS) {
                flush(s);
                if (!wait_until(s, when)) {
                    stop = true;
                    break;
                }
            }
            queue_frame(s, tr, t, iter);
            nsent++;
            if (s->queued == s->batch) {
                flush(s);
                if (s->echo_fd >= 0)
                    echo_drain(s);
                now = now_ns();
                progress(s, now);
                if (replay_stop || (s->deadline && now >= s->deadline)) {
                    stop = true;
                    break;
                }
            }
        }
        if (!stop)
            s->r->loops_done++;
    }
    flush(s);
    s->r->elapsed_s = (double)(now_ns() - s->start) / 1e9;
    if (s->echo_fd >= 0) { /* the last echoes are still on their way */
        uint64_t end = now_ns() + ECHO_DRAIN_NS;
        for (int i = 0; i < 1000 && s->r->lat.received < s->r->lat.sent && now_ns() < end && !replay_stop; i++) {
            struct pollfd pfd = { .fd = s->echo_fd, .events = POLLIN };
            poll(&pfd, 1, 10);
            echo_drain(s);
        }
    }
    if (o->progress)
        fputc('\n', stdout);
    return REPLAY_EXIT_OK;
}

int sender_run(const struct opts *o, struct send_result *r)
{
    char err[256] = "";
    struct netif nif;
    struct sender *s = calloc(1, sizeof *s);
    int rc = REPLAY_EXIT_FAIL;
    memset(r, 0, sizeof *r);
    r->echo = o->echo;
    if (!s) {
        fprintf(stderr, "rawlb-replay: out of memory\n");
        return rc;
    }
    s->o = o;
    s->r = r;
    s->fd = s->echo_fd = -1;
    s->batch = o->batch;
    struct target tg = { .dst_addr = o->to_addr, .dst_port = o->to_port };
    uint16_t echo_port = 0;
    if (!netif_lookup(&nif, o->ifname, err, sizeof err))
        goto out;
    memcpy(tg.src_mac, nif.mac, 6);
    tg.src_addr = nif.addr;
    if (!nif.addr && !o->src_range && !o->file) {
        snprintf(err, sizeof err, "%s has no IPv4 address: give --src-range", nif.name);
        goto out;
    }
    if (o->to_mac_set)
        memcpy(tg.dst_mac, o->to_mac, 6);
    else if (!netif_arp(&nif, netif_next_hop(&nif, o->to_addr), tg.dst_mac, err, sizeof err))
        goto out;
    if (o->echo && !open_echo(s, &nif, &echo_port, err, sizeof err))
        goto out;
    if (o->file ? !trace_load(&r->trace, o->file, &tg, err, sizeof err)
                : !gen_build(&r->trace, o, &tg, echo_port, err, sizeof err))
        goto out;
    uint64_t passes = o->src_range ? o->src_size / (r->trace.nsrc ? r->trace.nsrc : 1) + 1 : 1;
    if (passes > o->loops)
        passes = o->loops;
    uint64_t max_flows = (uint64_t)r->trace.nflows * passes + 16;
    if (!flowtab_init(&r->flows, max_flows > REPLAY_FLOWS_MAX ? REPLAY_FLOWS_MAX : (uint32_t)max_flows) ||
        !(s->buf = malloc((size_t)s->batch * REPLAY_FRAME_MAX))) {
        snprintf(err, sizeof err, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < s->batch; i++) {
        s->iov[i].iov_base = s->buf + (size_t)i * REPLAY_FRAME_MAX;
        s->msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &s->iov[i], .msg_iovlen = 1 };
    }
    if (!open_socket(s, &nif, err, sizeof err))
        goto out;
    rc = run(s, &r->trace);
out:
    if (rc != REPLAY_EXIT_OK)
        fprintf(stderr, "rawlb-replay: %s\n", err);
    if (s->fd >= 0)
        close(s->fd);
    if (s->echo_fd >= 0)
        close(s->echo_fd);
    free(s->buf);
    free(s);
    return rc;
}
