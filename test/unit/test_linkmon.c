/* linkmon: carrier, MTU and MAC changes read from rtnetlink bytes (crafted messages, bridge port
 * events, deletion and a new interface of the same name, malformed input), then live on a veth
 * pair in a network namespace of its own: the starting state, the peer going down and up, the
 * MTU and the MAC changed, a lost notification resynchronised, deletion, and the errors of
 * linkmon_open. */
#include <errno.h>
#include <net/if.h> /* before linux/if.h, which then only adds IFF_LOWER_UP and friends */
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linkmon.h"
#include "testing.h"

#define WAIT_SECONDS 2.0 /* a veth's carrier change is announced at once; this bounds a miss */
#define WAIT_TICK 0.05
#define FUZZ_ROUNDS 20000

static unsigned calls;
static struct linkmon_if last;
static unsigned last_changed;

/* Counts every monitor's callbacks in CALLS, and a monitor's own in *ARG when given. */
static void record(void *arg, const struct linkmon_if *lif, unsigned changed)
{
    if (arg)
        (*(unsigned *)arg)++;
    calls++;
    last = *lif;
    last_changed = changed;
}

/* ---- fed bytes ---- */

union msgbuf {
    struct nlmsghdr nh;
    char bytes[4096];
};

/* Appends one link message at OFF and returns the new length. */
static size_t put_link(union msgbuf *b, size_t off, uint16_t type, unsigned char family, int index, unsigned flags,
                       const char *name)
{
    struct nlmsghdr *nh = (struct nlmsghdr *)(b->bytes + off);
    memset(nh, 0, NLMSG_SPACE(sizeof(struct ifinfomsg)) + RTA_SPACE(IF_NAMESIZE));
    nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    nh->nlmsg_type = type;
    struct ifinfomsg *ifi = NLMSG_DATA(nh);
    ifi->ifi_family = family;
    ifi->ifi_index = index;
    ifi->ifi_flags = flags;
    if (name) {
        struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
        rta->rta_type = IFLA_IFNAME;
        rta->rta_len = (unsigned short)RTA_LENGTH(strlen(name) + 1);
        memcpy(RTA_DATA(rta), name, strlen(name) + 1);
        nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
    }
    return off + NLMSG_ALIGN(nh->nlmsg_len);
}

/* Appends an attribute to the message at B + OFF (the last one put) and returns the new end. */
static size_t put_attr(union msgbuf *b, size_t off, unsigned short type, const void *data, size_t len)
{
    struct nlmsghdr *nh = (struct nlmsghdr *)(b->bytes + off);
    struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
    memset(rta, 0, RTA_SPACE(len));
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
    return off + NLMSG_ALIGN(nh->nlmsg_len);
}

/* A link message for wan0 (index 7, carrier) with an IFLA_MTU and an IFLA_ADDRESS of the given
 * sizes (0: left out). */
static void feed_mtu_mac(struct linkmon *m, uint32_t mtu, size_t mtu_len, const uint8_t *mac, size_t mac_len)
{
    union msgbuf b;
    size_t len = put_link(&b, 0, RTM_NEWLINK, AF_UNSPEC, 7, IFF_UP | IFF_LOWER_UP, "wan0");
    if (mtu_len)
        len = put_attr(&b, 0, IFLA_MTU, &mtu, mtu_len);
    if (mac_len)
        len = put_attr(&b, 0, IFLA_ADDRESS, mac, mac_len);
    linkmon_feed(m, b.bytes, len);
}

static void feed_one(struct linkmon *m, uint16_t type, unsigned char family, int index, unsigned flags,
                     const char *name)
{
    union msgbuf b;
    linkmon_feed(m, b.bytes, put_link(&b, 0, type, family, index, flags, name));
}

static void fed_setup(struct linkmon *m)
{
    memset(m, 0, sizeof *m);
    m->fd = -1;
    m->n = 2;
    m->ifs[0] = (struct linkmon_if){ "wan0", 7, false };
    m->ifs[1] = (struct linkmon_if){ "lan0", 9, true };
    m->cb = record;
    calls = 0;
}

static void test_fed_changes(void)
{
    struct linkmon m;
    fed_setup(&m);
    CHECK(linkmon_first_down(&m) == &m.ifs[0]);
    feed_one(&m, RTM_NEWLINK, AF_UNSPEC, 7, IFF_UP | IFF_RUNNING | IFF_LOWER_UP, "wan0");
    CHECK_EQ_U(calls, 1);
    CHECK(last.up && last.ifindex == 7 && strcmp(last.name, "wan0") == 0);
    CHECK_EQ_U(last_changed, LINKMON_CARRIER);
    CHECK(linkmon_first_down(&m) == NULL);
    feed_one(&m, RTM_NEWLINK, AF_UNSPEC, 7, IFF_UP | IFF_LOWER_UP, "wan0"); /* same carrier */
    feed_one(&m, RTM_NEWLINK, AF_UNSPEC, 8, IFF_UP, "other");               /* not watched */
    CHECK_EQ_U(calls, 1);
    feed_one(&m, RTM_NEWLINK, AF_UNSPEC, 7, IFF_UP, NULL); /* admin up, no carrier */
    CHECK_EQ_U(calls, 2);
    CHECK(!last.up && last.ifindex == 7);
    CHECK(linkmon_first_down(&m) == &m.ifs[0]);
}

static void test_fed_mtu_mac(void)
{
    struct linkmon m;
    static const uint8_t mac_a[LINKMON_MAC_LEN] = { 2, 0, 0, 0, 0, 0xa }, mac_b[LINKMON_MAC_LEN] = { 2, 0, 0, 0, 0, 0xb };
    static const uint8_t zero[LINKMON_MAC_LEN];
    fed_setup(&m);
    /* The first message with both: carrier, MTU and MAC in one call. */
    feed_mtu_mac(&m, 1500, sizeof(uint32_t), mac_a, sizeof mac_a);
    CHECK_EQ_U(calls, 1);
    CHECK_EQ_U(last_changed, LINKMON_CARRIER | LINKMON_MTU | LINKMON_MAC);
    CHECK_EQ_U(m.ifs[0].mtu, 1500);
    CHECK(memcmp(m.ifs[0].mac, mac_a, sizeof mac_a) == 0);
    /* The same again, and a message that carries neither: nothing changed. */
    feed_mtu_mac(&m, 1500, sizeof(uint32_t), mac_a, sizeof mac_a);
    feed_mtu_mac(&m, 0, 0, NULL, 0);
    CHECK_EQ_U(calls, 1);
    CHECK_EQ_U(m.ifs[0].mtu, 1500);
    CHECK(memcmp(m.ifs[0].mac, mac_a, sizeof mac_a) == 0);
    /* Each on its own. */
    feed_mtu_mac(&m, 1280, sizeof(uint32_t), mac_a, sizeof mac_a);
    CHECK_EQ_U(calls, 2);
    CHECK_EQ_U(last_changed, LINKMON_MTU);
    CHECK_EQ_U(last.mtu, 1280);
    feed_mtu_mac(&m, 1280, sizeof(uint32_t), mac_b, sizeof mac_b);
    CHECK_EQ_U(calls, 3);
    CHECK_EQ_U(last_changed, LINKMON_MAC);
    CHECK(memcmp(last.mac, mac_b, sizeof mac_b) == 0);
    /* An attribute of the wrong size is not taken: a 2-byte MTU, a 4-byte (tunnel) address. */
    feed_mtu_mac(&m, 9000, sizeof(uint16_t), mac_a, 4);
    CHECK_EQ_U(calls, 3);
    CHECK_EQ_U(m.ifs[0].mtu, 1280);
    CHECK(memcmp(m.ifs[0].mac, mac_b, sizeof mac_b) == 0);
    /* Deleted: the index and the carrier go, MTU and MAC stay as last known. */
    feed_one(&m, RTM_DELLINK, AF_UNSPEC, 7, 0, "wan0");
    CHECK_EQ_U(calls, 4);
    CHECK_EQ_U(last_changed, LINKMON_INDEX | LINKMON_CARRIER);
    CHECK(last.ifindex == 0 && last.mtu == 1280 && memcmp(last.mac, mac_b, sizeof mac_b) == 0);
    /* lan0 never carried an address: none is made up. */
    CHECK(memcmp(m.ifs[1].mac, zero, sizeof zero) == 0 && m.ifs[1].mtu == 0);
}

static void test_fed_bridge_and_delete(void)
{
    struct linkmon m;
    fed_setup(&m);
    /* lan0 leaving a bridge: the bridge says RTM_DELLINK for the port, the device lives on. */
    feed_one(&m, RTM_DELLINK, AF_BRIDGE, 9, 0, "lan0");
    feed_one(&m, RTM_NEWLINK, AF_BRIDGE, 9, 0, "lan0");
    CHECK_EQ_U(calls, 0);
    CHECK(m.ifs[1].up && m.ifs[1].ifindex == 9);
    /* Deleted: down, and the slot now waits for a new lan0. */
    feed_one(&m, RTM_DELLINK, AF_UNSPEC, 9, 0, "lan0");
    CHECK_EQ_U(calls, 1);
    CHECK_EQ_U(last_changed, LINKMON_INDEX | LINKMON_CARRIER);
    CHECK(!m.ifs[1].up && m.ifs[1].ifindex == 0);
    feed_one(&m, RTM_NEWLINK, AF_UNSPEC, 0, IFF_LOWER_UP, "lan0"); /* index 0 is nobody */
    feed_one(&m, RTM_NEWLINK, AF_UNSPEC, 12, IFF_LOWER_UP, "lan1");
    CHECK_EQ_U(calls, 1);
    feed_one(&m, RTM_NEWLINK, AF_UNSPEC, 12, IFF_UP | IFF_LOWER_UP, "lan0");
    CHECK_EQ_U(calls, 2);
    CHECK_EQ_U(last_changed, LINKMON_INDEX | LINKMON_CARRIER);
    CHECK(m.ifs[1].up && m.ifs[1].ifindex == 12);
    /* wan0 still exists under index 7: a second wan0 (another namespace's leftovers, a race
     * with a rename) does not replace it. */
    feed_one(&m, RTM_NEWLINK, AF_UNSPEC, 13, IFF_LOWER_UP, "wan0");
    CHECK_EQ_U(calls, 2);
    CHECK(m.ifs[0].ifindex == 7 && !m.ifs[0].up);
    /* Deleted and created again while without carrier: the index alone changed. */
    feed_one(&m, RTM_DELLINK, AF_UNSPEC, 7, 0, "wan0");
    CHECK_EQ_U(calls, 3);
    CHECK_EQ_U(last_changed, LINKMON_INDEX);
    feed_one(&m, RTM_NEWLINK, AF_UNSPEC, 14, IFF_UP, "wan0");
    CHECK_EQ_U(calls, 4);
    CHECK_EQ_U(last_changed, LINKMON_INDEX);
    CHECK(m.ifs[0].ifindex == 14);
}

static void test_fed_several_and_malformed(void)
{
    struct linkmon m;
    fed_setup(&m);
    union msgbuf b;
    size_t len = put_link(&b, 0, RTM_NEWLINK, AF_UNSPEC, 7, IFF_LOWER_UP, "wan0");
    len = put_link(&b, len, RTM_NEWLINK, AF_UNSPEC, 9, 0, "lan0");
    linkmon_feed(&m, b.bytes, len);
    CHECK_EQ_U(calls, 2);
    CHECK(m.ifs[0].up && !m.ifs[1].up);

    /* The second message cut short by the buffer: the first counts, the second is not read. */
    fed_setup(&m);
    len = put_link(&b, 0, RTM_NEWLINK, AF_UNSPEC, 7, IFF_LOWER_UP, "wan0");
    size_t second = len;
    len = put_link(&b, len, RTM_DELLINK, AF_UNSPEC, 9, 0, NULL);
    linkmon_feed(&m, b.bytes, len - 1);
    CHECK_EQ_U(calls, 1);
    CHECK(m.ifs[1].up);
    /* A message too short for its ifinfomsg, and one whose length runs past the buffer. */
    fed_setup(&m);
    put_link(&b, 0, RTM_DELLINK, AF_UNSPEC, 9, 0, NULL);
    b.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)) - 1;
    linkmon_feed(&m, b.bytes, NLMSG_ALIGN(b.nh.nlmsg_len));
    b.nh.nlmsg_len = 4000;
    linkmon_feed(&m, b.bytes, second);
    CHECK_EQ_U(calls, 0);
    /* An unaligned final length: NLMSG_NEXT must end the walk, not wrap around. */
    put_link(&b, 0, RTM_DELLINK, AF_UNSPEC, 9, 0, NULL);
    b.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)) + 1;
    linkmon_feed(&m, b.bytes, b.nh.nlmsg_len);
    CHECK_EQ_U(calls, 1);
    /* A name without its terminating NUL cannot adopt a deleted interface. */
    fed_setup(&m);
    m.ifs[1].ifindex = 0;
    len = put_link(&b, 0, RTM_NEWLINK, AF_UNSPEC, 12, IFF_LOWER_UP, "lan0");
    struct rtattr *rta = (struct rtattr *)(b.bytes + NLMSG_SPACE(sizeof(struct ifinfomsg)));
    rta->rta_len = (unsigned short)RTA_LENGTH(strlen("lan0"));
    linkmon_feed(&m, b.bytes, len);
    CHECK(m.ifs[1].ifindex == 0);
}

/* Random bytes, and valid messages with random bytes in them: nothing may read out of bounds
 * (run under the sanitizers). */
static void test_fed_fuzz(void)
{
    struct linkmon m;
    union msgbuf b;
    srand(1);
    for (unsigned round = 0; round < FUZZ_ROUNDS; round++) {
        fed_setup(&m);
        m.ifs[0].ifindex = 0;
        size_t len = (size_t)rand() % 256;
        if (round % 2) {
            len = put_link(&b, 0, RTM_NEWLINK, AF_UNSPEC, 7, IFF_LOWER_UP, "wan0");
            b.bytes[(size_t)rand() % len] = (char)rand();
            b.bytes[(size_t)rand() % len] = (char)rand();
        } else {
            for (size_t i = 0; i < len; i++)
                b.bytes[i] = (char)rand();
        }
        linkmon_feed(&m, b.bytes, len);
    }
    CHECK(1);
}

/* ---- a live veth pair ---- */

static struct ev_loop *loop;

static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
}

/* Runs the loop until done(m) holds or WAIT_SECONDS have passed; returns done(m). */
static bool wait_until(bool (*done)(const struct linkmon *m), const struct linkmon *m)
{
    ev_timer tick;
    ev_timer_init(&tick, tick_cb, WAIT_TICK, WAIT_TICK);
    ev_timer_start(loop, &tick);
    ev_now_update(loop);
    ev_tstamp deadline = ev_now(loop) + WAIT_SECONDS;
    while (!done(m) && ev_now(loop) < deadline)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &tick);
    return done(m);
}

static bool all_up(const struct linkmon *m)
{
    return linkmon_first_down(m) == NULL;
}

static bool first_down(const struct linkmon *m)
{
    return !m->ifs[0].up;
}

/* Every interface has carrier (UP), or the first has lost it. */
static bool wait_carrier(const struct linkmon *m, bool up)
{
    return wait_until(up ? all_up : first_down, m);
}

static unsigned want_mtu;
static uint8_t want_mac[LINKMON_MAC_LEN];

static bool mtu_is_wanted(const struct linkmon *m)
{
    return m->ifs[0].mtu == want_mtu;
}

static bool mac_is_wanted(const struct linkmon *m)
{
    return memcmp(m->ifs[0].mac, want_mac, sizeof want_mac) == 0;
}

static void set_rcvbuf(int fd, int bytes)
{
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) == 0);
}

/* The MAC the kernel gives IFNAME (asked by ioctl: sysfs shows the namespace it was mounted in). */
static bool kernel_mac(const char *ifname, uint8_t mac[LINKMON_MAC_LEN])
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && ioctl(fd, SIOCGIFHWADDR, &ifr) == 0;
    if (fd >= 0)
        close(fd);
    if (ok)
        memcpy(mac, ifr.ifr_hwaddr.sa_data, LINKMON_MAC_LEN);
    return ok;
}

/* A new MTU, then a new MAC: one callback each, saying what changed, with the new value. */
static void test_live_mtu_mac(struct linkmon *m)
{
    uint8_t mac[LINKMON_MAC_LEN];
    CHECK(kernel_mac("lmA", mac) && memcmp(m->ifs[0].mac, mac, sizeof mac) == 0);
    CHECK_EQ_U(m->ifs[0].mtu, 1500); /* a veth's default */
    calls = 0;
    want_mtu = 1400;
    CHECK(setup_cmd("ip link set lmA mtu 1400"));
    CHECK(wait_until(mtu_is_wanted, m));
    CHECK_EQ_U(calls, 1);
    CHECK_EQ_U(last_changed, LINKMON_MTU);
    static const uint8_t new_mac[LINKMON_MAC_LEN] = { 0x02, 0x00, 0x5e, 0x00, 0x00, 0x42 };
    memcpy(want_mac, new_mac, sizeof want_mac);
    CHECK(setup_cmd("ip link set lmA address 02:00:5e:00:00:42"));
    CHECK(wait_until(mac_is_wanted, m));
    CHECK_EQ_U(calls, 2);
    CHECK_EQ_U(last_changed, LINKMON_MAC);
    CHECK(m->ifs[0].up && m->ifs[0].mtu == 1400);
}

static void test_live_peer(struct linkmon *m)
{
    calls = 0;
    CHECK(setup_cmd("ip link set lmB down"));
    CHECK(wait_carrier(m, false));
    CHECK_EQ_U(calls, 1);
    CHECK(linkmon_first_down(m) == &m->ifs[0]);
    CHECK(setup_cmd("ip link set lmB up"));
    CHECK(wait_carrier(m, true));
    CHECK_EQ_U(calls, 2);
    CHECK(last.up && linkmon_first_down(m) == NULL);
}

static void run_for(double seconds)
{
    ev_timer stop;
    ev_timer_init(&stop, tick_cb, seconds, 0.0);
    ev_timer_start(loop, &stop);
    while (ev_is_active(&stop))
        ev_run(loop, EVRUN_ONCE);
}

/* A receive buffer too small for the burst: the kernel drops notifications and says ENOBUFS.
 * Linkmon asks for the present instead: one callback, not three. */
static void test_live_overflow(struct linkmon *m)
{
    set_rcvbuf(m->fd, 1);
    calls = 0;
    CHECK(setup_cmd("ip link set lmB down && ip link set lmB up && ip link set lmB down"));
    CHECK(wait_carrier(m, false));
    CHECK_EQ_U(calls, 1);
    set_rcvbuf(m->fd, 1 << 20);
    CHECK(setup_cmd("ip link set lmB up"));
    CHECK(wait_carrier(m, true));
}

/* What stays queued after an overflow is older than what was lost: lmB's "down" is kept, its
 * "up" dropped. Replayed after asking the kernel, the stale "down" would stick. */
static void test_live_overflow_stale(void)
{
    struct linkmon m;
    char err[256];
    const char *names[] = { "lmB" };
    unsigned mine = 0;
    CHECK(linkmon_open(&m, loop, names, 1, record, &mine, err, sizeof err));
    CHECK(m.ifs[0].up);
    set_rcvbuf(m.fd, 1);
    CHECK(setup_cmd("ip link set lmB down && ip link set lmB up"));
    run_for(WAIT_SECONDS / 4);
    CHECK(m.ifs[0].up);
    CHECK_EQ_U(mine, 0);
    linkmon_close(&m);
}

static void test_live_recreated(struct linkmon *m)
{
    int old = m->ifs[0].ifindex;
    CHECK(setup_cmd("ip link del lmA"));
    CHECK(wait_carrier(m, false));
    CHECK(m->ifs[0].ifindex == 0);
    CHECK(veth_pair_up("lmA", "lmB"));
    CHECK(wait_carrier(m, true));
    CHECK(m->ifs[0].ifindex == (int)if_nametoindex("lmA") && m->ifs[0].ifindex != old);
}

static void test_live_open_errors(void)
{
    struct linkmon m;
    char err[256] = "";
    const char *names[] = { "lmA", "nosuch0" };
    CHECK(!linkmon_open(&m, loop, names, 2, record, NULL, err, sizeof err));
    CHECK(strstr(err, "nosuch0") != NULL);
    CHECK(m.fd == -1);
    linkmon_close(&m); /* harmless after a failed open */
    const char *many[LINKMON_MAX + 1];
    for (unsigned i = 0; i <= LINKMON_MAX; i++)
        many[i] = "lmA";
    CHECK(!linkmon_open(&m, loop, many, LINKMON_MAX + 1, record, NULL, err, sizeof err));
    const char *longname[] = { "a-name-longer-than-ifnamsiz" };
    CHECK(!linkmon_open(&m, loop, longname, 1, record, NULL, err, sizeof err));
    CHECK(strstr(err, longname[0]) != NULL);
}

/* Opened while the peer is down: down from the start, without a callback. */
static void test_live_open_down(void)
{
    struct linkmon m;
    char err[256];
    const char *names[] = { "lmB", "lmA" };
    CHECK(setup_cmd("ip link set lmB down"));
    calls = 0;
    CHECK(linkmon_open(&m, loop, names, 2, record, NULL, err, sizeof err));
    CHECK(!m.ifs[0].up && !m.ifs[1].up); /* lmB is down, and lmA without carrier */
    CHECK(linkmon_first_down(&m) == &m.ifs[0]);
    CHECK(setup_cmd("ip link set lmB up"));
    CHECK(wait_carrier(&m, true));
    CHECK(m.ifs[1].up);
    CHECK_EQ_U(calls, 2);
    linkmon_close(&m);
    linkmon_close(&m);
}

static void test_live(void)
{
    if (!enter_private_netns())
        return;
    loop = ev_loop_new(EVFLAG_AUTO);
    if (!veth_pair_up("lmA", "lmB")) {
        CHECK(!"veth pair");
        return;
    }
    struct linkmon m;
    char err[256] = "";
    const char *names[] = { "lmA" };
    calls = 0;
    if (!linkmon_open(&m, loop, names, 1, record, NULL, err, sizeof err)) {
        fprintf(stderr, "linkmon_open: %s\n", err);
        CHECK(!"linkmon_open");
        return;
    }
    CHECK(m.ifs[0].up && m.ifs[0].ifindex == (int)if_nametoindex("lmA"));
    CHECK(linkmon_first_down(&m) == NULL);
    CHECK_EQ_U(calls, 0);
    test_live_mtu_mac(&m);
    test_live_peer(&m);
    test_live_overflow(&m);
    test_live_overflow_stale();
    test_live_recreated(&m);
    linkmon_close(&m);
    CHECK(m.fd == -1);
    test_live_open_errors();
    test_live_open_down();
    ev_loop_destroy(loop);
}

int main(void)
{
    test_fed_changes();
    test_fed_mtu_mac();
    test_fed_bridge_and_delete();
    test_fed_several_and_malformed();
    test_fed_fuzz();
    test_live();
    CHECK_DONE();
}
