/* capture and xmit live on a veth pair in a network namespace of its own (skipped without root):
 * two capture sockets in one fanout group split the frames by a field the group's program reads,
 * the program and the filter can be replaced, the frames an xmit socket sends on the same
 * interface never come back to the group, and a socket of another interface cannot join; frames
 * that waited are forwarded after a stall, dropped (too_old) in overload; receive timestamps are
 * asked for only around a backlog. */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "frames.h"
#include "testing.h"
#include "xmit.h"

#define FILTER "udp dst portrange 1000-1099"
#define PORT_IN 1000  /* frames sent from A to B (the group's side) */
#define PORT_OUT 1050 /* frames B's own xmit socket sends: the group must never see them */
#define N_IN 20
#define N_OUT 10
/* veth delivers in the sender's softirq, before sendmmsg returns: this bounds a miss, and is how
 * long the test waits for frames that must not come. */
#define SETTLE_MS 200

static uint8_t frames[N_IN + N_OUT][128];

/* Queues count UDP frames with destination ports from port on x and sends them. */
static void send_udp(struct xmit *x, uint16_t port, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        struct frame_spec s = { .dmac = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, .smac = { 2, 0, 0, 0, 0, 1 },
                                .saddr = 0x0a000001, .daddr = 0x0a000002, .proto = IPPROTO_UDP,
                                .sport = 5000, .dport = (uint16_t)(port + i), .payload = 18 };
        xmit_queue(x, frames[i], frame_build(frames[i], &s));
    }
    xmit_flush(x);
    CHECK_EQ_U(x->stats.failed, 0);
}

/* The UDP destination port of a received frame (vnet header, Ethernet, 20-byte IPv4 header). */
static uint16_t dport(struct capture *c, unsigned i)
{
    return get16(capture_frame(c, i) + FRAME_VNET_LEN + 14 + 20 + 2);
}

struct seen {
    unsigned count, even, odd, out;
    unsigned stale; /* frames reported stale (overload): not in count */
};

/* Reads every frame c gets within SETTLE_MS of the last one. */
static struct seen drain(struct capture *c)
{
    struct seen s = { 0 };
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    while (poll(&pfd, 1, SETTLE_MS) == 1) {
        int n = capture_read_batch(c);
        CHECK(n >= 0);
        for (int i = 0; i < n; i++) {
            if (c->stale[i]) { /* a reader that finds no established flow: dropped */
                s.stale++;
                capture_drop_stale(c, (unsigned)i);
                continue;
            }
            if (!c->msgs[i].msg_len)
                continue;
            uint16_t p = dport(c, (unsigned)i);
            s.count++;
            s.out += p >= PORT_OUT;
            s.even += p < PORT_OUT && p % 2 == 0;
            s.odd += p < PORT_OUT && p % 2 == 1;
        }
    }
    return s;
}

/* ldh [22] (the UDP destination port behind a 20-byte IPv4 header); and #1; ret a */
static struct sock_filter by_port_parity[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 22),
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 1),
    BPF_STMT(BPF_RET | BPF_A, 0),
};
static struct sock_filter all_to_1[] = { BPF_STMT(BPF_RET | BPF_K, 1) };

static void test_live(void)
{
    if (!enter_private_netns())
        return;
    if (!veth_pair_up("cpA", "cpB")) {
        CHECK(!"veth pair");
        return;
    }
    int a = (int)if_nametoindex("cpA"), b = (int)if_nametoindex("cpB");
    char err[256] = "";
    struct capture rx0, rx1, rx_a, stray;
    struct xmit tx_a, tx_b;
    enum capture_vlan v = CAPTURE_VLAN_COUNTED;
    bool ok = capture_open(&rx0, b, FILTER, v, err, sizeof err) && capture_open(&rx1, b, FILTER, v, err, sizeof err) &&
              capture_open(&rx_a, a, FILTER, v, err, sizeof err) && capture_open(&stray, a, FILTER, v, err, sizeof err) &&
              xmit_open(&tx_a, a, err, sizeof err) && xmit_open(&tx_b, b, err, sizeof err);
    if (!ok) {
        fprintf(stderr, "open: %s\n", err);
        CHECK(!"open");
        return;
    }

    uint16_t group = 0;
    struct sock_fprog parity = { .len = 3, .filter = by_port_parity };
    CHECK(capture_join_fanout(&rx0, &group, &parity, err, sizeof err));
    CHECK(group != 0); /* 0 would make the next socket found a group of its own */
    uint16_t joined = group;
    CHECK(capture_join_fanout(&rx1, &joined, NULL, err, sizeof err));
    CHECK_EQ_U(joined, group);
    /* A socket of another interface cannot join: the group is the interface's. */
    CHECK(!capture_join_fanout(&stray, &joined, NULL, err, sizeof err));

    send_udp(&tx_a, PORT_IN, N_IN);
    send_udp(&tx_b, PORT_OUT, N_OUT);
    struct seen s0 = drain(&rx0), s1 = drain(&rx1), sa = drain(&rx_a);
    CHECK_EQ_U(s0.count, N_IN / 2);
    CHECK_EQ_U(s0.even, N_IN / 2);
    CHECK_EQ_U(s1.count, N_IN / 2);
    CHECK_EQ_U(s1.odd, N_IN / 2);
    CHECK_EQ_U(sa.count, N_OUT); /* B's frames did leave, and A's own ones stayed out of rx_a */
    CHECK_EQ_U(sa.out, N_OUT);

    /* A new program for the whole group, set through either member, and a new filter (which
     * must keep dropping what B sends). */
    struct sock_fprog one = { .len = 1, .filter = all_to_1 };
    CHECK(capture_set_fanout_prog(&rx0, &one, err, sizeof err));
    CHECK(capture_set_filter(&rx0, FILTER, err, sizeof err));
    CHECK(capture_set_filter(&rx1, FILTER, err, sizeof err));
    send_udp(&tx_a, PORT_IN, N_IN);
    send_udp(&tx_b, PORT_OUT, N_OUT);
    s0 = drain(&rx0);
    s1 = drain(&rx1);
    CHECK_EQ_U(s0.count, 0);
    CHECK_EQ_U(s1.count, N_IN);
    CHECK_EQ_U(s1.out, 0);
    CHECK_EQ_U(drain(&rx_a).out, N_OUT);

    /* A stall: frames older than CAPTURE_MAX_AGE_US, but the socket was not backlogged for
     * CAPTURE_OVERLOAD_MS: forwarded late, not dropped. */
    struct timespec stall = { .tv_nsec = CAPTURE_MAX_AGE_US * 1000L + CAPTURE_OVERLOAD_MS * 1000000L };
    send_udp(&tx_b, PORT_OUT, N_OUT);
    nanosleep(&stall, NULL);
    CHECK_EQ_U(drain(&rx_a).out, N_OUT);
    CHECK_EQ_U(rx_a.stats.too_old, 0);
    /* Receive timestamps are asked for from the first full batch read on, not before. */
    CHECK(!rx_a.stamping);
    unsigned queued = 0;
    for (; queued < CAPTURE_BATCH; queued += N_OUT)
        send_udp(&tx_b, PORT_OUT, N_OUT);
    CHECK_EQ_U(drain(&rx_a).out, queued);
    CHECK(rx_a.stamping);
    /* In overload (as if the socket had stayed backlogged): the old frames are reported stale
     * (the reader drops them, counted, when they are of no established flow), fresh ones not. */
    send_udp(&tx_b, PORT_OUT, N_OUT);
    nanosleep(&stall, NULL);
    send_udp(&tx_b, PORT_OUT, N_OUT / 2);
    rx_a.overload_until_ns = INT64_MAX;
    sa = drain(&rx_a);
    CHECK_EQ_U(sa.out, N_OUT / 2);
    CHECK_EQ_U(sa.stale, N_OUT);
    CHECK_EQ_U(rx_a.stats.too_old, N_OUT);
    capture_stats_add(&rx0.stats, &rx_a.stats);
    CHECK_EQ_U(rx0.stats.too_old, N_OUT);
    /* Out of overload, no longer once CAPTURE_STAMP_HOLD_MS passed without a full batch. */
    rx_a.overload_until_ns = 0;
    capture_tick(&rx_a);
    CHECK(rx_a.stamping);
    struct timespec hold = { .tv_sec = CAPTURE_STAMP_HOLD_MS / 1000, .tv_nsec = (CAPTURE_STAMP_HOLD_MS % 1000) * 1000000L };
    nanosleep(&hold, NULL);
    capture_tick(&rx_a);
    CHECK(!rx_a.stamping);

    capture_close(&rx0);
    capture_close(&rx1);
    capture_close(&rx_a);
    capture_close(&stray);
    xmit_close(&tx_a);
    xmit_close(&tx_b);
}

int main(void)
{
    test_live();
    CHECK_DONE();
}
