/* uplink: which of the kernel's routes a dump answer gives rawlb for stateless replies, in which
 * order they are matched, and where a client's frame then goes. */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "testing.h"
#include "uplink.h"

#define EXT_IF 3
#define OTHER_IF 7
#define IP4(a, b, c, d) htonl(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static union {
    struct nlmsghdr nh;
    char bytes[8192];
} dump;
static size_t dump_len;

static void put_attr(struct nlmsghdr *nh, unsigned short type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static struct nlmsghdr *add_route(unsigned char table, unsigned char type, uint32_t dst, unsigned char len)
{
    struct nlmsghdr *nh = (struct nlmsghdr *)(dump.bytes + dump_len);
    memset(nh, 0, NLMSG_SPACE(sizeof(struct rtmsg)));
    nh->nlmsg_type = RTM_NEWROUTE;
    nh->nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    struct rtmsg *rtm = NLMSG_DATA(nh);
    rtm->rtm_family = AF_INET;
    rtm->rtm_table = table;
    rtm->rtm_type = type;
    rtm->rtm_dst_len = len;
    if (len)
        put_attr(nh, RTA_DST, &dst, sizeof dst);
    return nh;
}

static void end_route(struct nlmsghdr *nh)
{
    dump_len += NLMSG_ALIGN(nh->nlmsg_len);
}

static void route(unsigned char table, unsigned char type, uint32_t dst, unsigned char len, int oif, uint32_t gw)
{
    struct nlmsghdr *nh = add_route(table, type, dst, len);
    put_attr(nh, RTA_OIF, &oif, sizeof oif);
    if (gw)
        put_attr(nh, RTA_GATEWAY, &gw, sizeof gw);
    end_route(nh);
}

/* A multipath route: one next hop through OTHER_IF, then one through EXT_IF via gw. */
static void multipath_route(uint32_t dst, unsigned char len, uint32_t gw_other, uint32_t gw)
{
    struct nlmsghdr *nh = add_route(RT_TABLE_MAIN, RTN_UNICAST, dst, len);
    char hops[2 * (sizeof(struct rtnexthop) + RTA_SPACE(sizeof(uint32_t)))];
    memset(hops, 0, sizeof hops);
    const int ifs[2] = { OTHER_IF, EXT_IF };
    const uint32_t gws[2] = { gw_other, gw };
    size_t off = 0;
    for (int i = 0; i < 2; i++) {
        struct rtnexthop *hop = (struct rtnexthop *)(hops + off);
        hop->rtnh_ifindex = ifs[i];
        hop->rtnh_len = (unsigned short)(sizeof *hop + RTA_SPACE(sizeof(uint32_t)));
        struct rtattr *a = RTNH_DATA(hop);
        a->rta_type = RTA_GATEWAY;
        a->rta_len = RTA_LENGTH(sizeof(uint32_t));
        memcpy(RTA_DATA(a), &gws[i], sizeof(uint32_t));
        off += RTNH_ALIGN(hop->rtnh_len);
    }
    put_attr(nh, RTA_MULTIPATH, hops, off);
    end_route(nh);
}

static void done_msg(void)
{
    struct nlmsghdr *nh = (struct nlmsghdr *)(dump.bytes + dump_len);
    memset(nh, 0, NLMSG_SPACE(sizeof(int)));
    nh->nlmsg_type = NLMSG_DONE;
    nh->nlmsg_len = NLMSG_LENGTH(sizeof(int));
    dump_len += NLMSG_ALIGN(nh->nlmsg_len);
}

static void test_parse(void)
{
    const uint32_t gw = IP4(198, 51, 100, 1), gw2 = IP4(198, 51, 100, 254), other_gw = IP4(10, 0, 0, 1);
    dump_len = 0;
    route(RT_TABLE_MAIN, RTN_UNICAST, 0, 0, EXT_IF, gw);                        /* default via gw: kept */
    route(RT_TABLE_MAIN, RTN_UNICAST, IP4(198, 51, 100, 0), 24, EXT_IF, 0);     /* on-link: kept */
    route(RT_TABLE_MAIN, RTN_UNICAST, IP4(10, 1, 0, 0), 16, OTHER_IF, other_gw); /* other interface */
    route(RT_TABLE_LOCAL, RTN_LOCAL, IP4(198, 51, 100, 2), 32, EXT_IF, 0);      /* local table */
    route(RT_TABLE_MAIN, RTN_BLACKHOLE, IP4(192, 0, 2, 0), 24, EXT_IF, 0);      /* not unicast */
    multipath_route(IP4(203, 0, 113, 128), 25, other_gw, gw2);                  /* ECMP: its ext hop */
    done_msg();

    struct uplink_route routes[UPLINK_MAX_ROUTES];
    unsigned n = 0;
    bool truncated = false, done = false;
    CHECK(uplink_parse_dump(dump.bytes, dump_len, EXT_IF, routes, UPLINK_MAX_ROUTES, &n, &truncated, &done));
    CHECK(done);
    CHECK(!truncated);
    CHECK_EQ_U(n, 3);
    uplink_sort(routes, n);
    CHECK_EQ_U(routes[0].len, 25);
    CHECK_EQ_U(routes[0].net, IP4(203, 0, 113, 128));
    CHECK_EQ_U(routes[0].gateway, gw2);
    CHECK_EQ_U(routes[1].len, 24);
    CHECK_EQ_U(routes[1].gateway, 0);
    CHECK_EQ_U(routes[2].len, 0);
    CHECK_EQ_U(routes[2].mask, 0);
    CHECK_EQ_U(routes[2].gateway, gw);

    /* room for two: the third is left out and said so */
    n = 0;
    done = false;
    CHECK(uplink_parse_dump(dump.bytes, dump_len, EXT_IF, routes, 2, &n, &truncated, &done));
    CHECK_EQ_U(n, 2);
    CHECK(truncated);

    /* an error message ends the dump as a failure */
    struct nlmsghdr *err = (struct nlmsghdr *)dump.bytes;
    err->nlmsg_type = NLMSG_ERROR;
    n = 0;
    CHECK(!uplink_parse_dump(dump.bytes, dump_len, EXT_IF, routes, UPLINK_MAX_ROUTES, &n, &truncated, &done));
}

/* Longest prefix first; a gateway's MAC only once learnt; an on-link route gives none. */
static void test_next_hop(void)
{
    static struct uplink u;
    static const uint8_t gw_mac[6] = { 0x02, 0x9a, 0, 0, 0, 1 };
    const uint32_t gw = IP4(198, 51, 100, 1), near_gw = IP4(198, 51, 100, 2);
    neigh_init(&u.gateways);
    u.routes[0] = (struct uplink_route){ .net = 0, .mask = 0, .gateway = gw, .len = 0 };
    u.routes[1] = (struct uplink_route){ .net = IP4(192, 0, 2, 0), .mask = IP4(255, 255, 255, 0), .gateway = near_gw,
                                         .len = 24 };
    u.routes[2] = (struct uplink_route){ .net = IP4(198, 51, 100, 0), .mask = IP4(255, 255, 255, 0), .len = 24 };
    u.n = 3;
    uplink_sort(u.routes, u.n);
    CHECK(neigh_add(&u.gateways, gw));
    CHECK(neigh_add(&u.gateways, near_gw));
    bool routed = false;
    CHECK(uplink_next_hop(&u, IP4(203, 0, 113, 9), &routed) == NULL);
    CHECK(routed);
    neigh_learn(&u.gateways, gw, gw_mac, 1);
    const uint8_t *mac = uplink_next_hop(&u, IP4(203, 0, 113, 9), &routed);
    CHECK(mac && memcmp(mac, gw_mac, 6) == 0);
    /* 192.0.2.0/24 goes to its own gateway, not yet learnt */
    CHECK(uplink_next_hop(&u, IP4(192, 0, 2, 7), &routed) == NULL);
    CHECK(routed);
    CHECK(uplink_next_hop(&u, IP4(198, 51, 100, 77), &routed) == NULL);
    CHECK(!routed);
    u.n = 0;
    CHECK(uplink_next_hop(&u, IP4(203, 0, 113, 9), &routed) == NULL);
    CHECK(!routed);
}

int main(void)
{
    test_parse();
    test_next_hop();
    CHECK_DONE();
}
