/* uplink: the kernel's routes toward clients and their gateways' MACs (uplink.h). */
#include "uplink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"

#define IPV4_BITS 32
/* The kernel answers a dump at once; the bound only guards the loop against a wedged socket. */
#define UPLINK_DUMP_TIMEOUT_US 200000
#define UPLINK_DUMP_BUF 32768 /* one recv of a dump: the kernel fills up to a page or two per message batch */

static uint32_t prefix_mask(uint8_t len)
{
    return len == 0 ? 0 : htonl(~0u << (IPV4_BITS - len));
}

/* The gateway of a multipath route's first next hop through ifindex; false when none goes there. */
static bool multipath_gateway(const struct rtattr *mp, int ifindex, uint32_t *gateway)
{
    int left = (int)RTA_PAYLOAD(mp);
    for (const struct rtnexthop *nh = RTA_DATA(mp); left >= (int)sizeof *nh && nh->rtnh_len >= sizeof *nh &&
                                                     nh->rtnh_len <= left;
         left -= (int)RTNH_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh)) {
        if (nh->rtnh_ifindex != ifindex)
            continue;
        *gateway = 0;
        int alen = nh->rtnh_len - (int)sizeof *nh;
        for (const struct rtattr *a = RTNH_DATA(nh); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
            if (a->rta_type == RTA_GATEWAY && RTA_PAYLOAD(a) == sizeof(uint32_t))
                memcpy(gateway, RTA_DATA(a), sizeof *gateway);
        return true;
    }
    return false;
}

/* One RTM_NEWROUTE: *r filled when it is a main-table IPv4 unicast route through ifindex. */
static bool route_through(const struct nlmsghdr *nh, int ifindex, struct uplink_route *r)
{
    if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
        return false;
    const struct rtmsg *rtm = NLMSG_DATA(nh);
    if (rtm->rtm_family != AF_INET || rtm->rtm_type != RTN_UNICAST || rtm->rtm_dst_len > IPV4_BITS)
        return false;
    uint32_t table = rtm->rtm_table, dst = 0, gateway = 0;
    bool through = false;
    int alen = (int)RTM_PAYLOAD(nh);
    for (const struct rtattr *a = RTM_RTA(rtm); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        const void *v = RTA_DATA(a);
        size_t vlen = RTA_PAYLOAD(a);
        if (a->rta_type == RTA_TABLE && vlen == sizeof table)
            memcpy(&table, v, sizeof table);
        else if (a->rta_type == RTA_DST && vlen == sizeof dst)
            memcpy(&dst, v, sizeof dst);
        else if (a->rta_type == RTA_GATEWAY && vlen == sizeof gateway)
            memcpy(&gateway, v, sizeof gateway);
        else if (a->rta_type == RTA_OIF && vlen == sizeof(int)) {
            int oif;
            memcpy(&oif, v, sizeof oif);
            through = through || oif == ifindex;
        } else if (a->rta_type == RTA_MULTIPATH)
            through = through || multipath_gateway(a, ifindex, &gateway);
    }
    if (table != RT_TABLE_MAIN || !through)
        return false;
    r->len = rtm->rtm_dst_len;
    r->mask = prefix_mask(r->len);
    r->net = dst & r->mask;
    r->gateway = gateway;
    return true;
}

bool uplink_parse_dump(const void *buf, size_t len, int ifindex, struct uplink_route *routes, unsigned max,
                       unsigned *n, bool *truncated, bool *done)
{
    int left = (int)len;
    for (const struct nlmsghdr *nh = buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
        if (nh->nlmsg_type == NLMSG_DONE) {
            *done = true;
            return true;
        }
        if (nh->nlmsg_type == NLMSG_ERROR)
            return false;
        struct uplink_route r;
        if (nh->nlmsg_type != RTM_NEWROUTE || !route_through(nh, ifindex, &r))
            continue;
        if (*n < max)
            routes[(*n)++] = r;
        else
            *truncated = true;
    }
    return true;
}

static int longer_prefix_first(const void *a, const void *b)
{
    const struct uplink_route *x = a, *y = b;
    return (int)y->len - (int)x->len;
}

void uplink_sort(struct uplink_route *routes, unsigned n)
{
    qsort(routes, n, sizeof *routes, longer_prefix_first);
}

static bool dump_routes(struct uplink *u, struct uplink_route *routes, unsigned *n, bool *truncated)
{
    static uint32_t seq;
    struct {
        struct nlmsghdr nh;
        struct rtmsg rtm;
    } req = {
        .nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)), .nlmsg_type = RTM_GETROUTE,
                .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = ++seq },
        .rtm = { .rtm_family = AF_INET },
    };
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(u->nl_fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
        return false;
    static union {
        struct nlmsghdr nh; /* aligns the bytes for the NLMSG_* macros */
        char bytes[UPLINK_DUMP_BUF];
    } buf;
    *n = 0;
    *truncated = false;
    for (bool done = false; !done;) {
        ssize_t got = recv(u->nl_fd, buf.bytes, sizeof buf.bytes, 0);
        if (got <= 0 || !uplink_parse_dump(buf.bytes, (size_t)got, u->ifindex, routes, UPLINK_MAX_ROUTES, n,
                                           truncated, &done))
            return false;
    }
    return true;
}

static bool gateway_in_use(void *arg, uint32_t addr)
{
    const struct uplink *u = arg;
    for (unsigned i = 0; i < u->n; i++)
        if (u->routes[i].gateway == addr)
            return true;
    return false;
}

bool uplink_refresh(struct uplink *u)
{
    if (!u->stale)
        return true;
    struct uplink_route routes[UPLINK_MAX_ROUTES];
    unsigned n;
    bool truncated;
    if (!dump_routes(u, routes, &n, &truncated))
        return false;
    u->stale = false;
    uplink_sort(routes, n);
    if (truncated && !u->truncated)
        log_warn("more than %d routes leave through the external interface: replies without an entry follow "
                 "the %d longest",
                 UPLINK_MAX_ROUTES, UPLINK_MAX_ROUTES);
    u->truncated = truncated;
    memcpy(u->routes, routes, n * sizeof *routes);
    u->n = n;
    for (unsigned i = 0; i < n; i++)
        if (routes[i].gateway && !neigh_add(&u->gateways, routes[i].gateway))
            log_warn("no room for another gateway in the external neighbour table");
    neigh_retire_unused(&u->gateways, gateway_in_use, u);
    return true;
}

void uplink_take_events(struct uplink *u)
{
    static char drain[UPLINK_DUMP_BUF];
    ssize_t got;
    /* What changed does not matter: the next tick reads the whole set. An overrun (ENOBUFS)
     * lost reports, so it marks the routes stale too. */
    while ((got = recv(u->events_fd, drain, sizeof drain, 0)) > 0 || (got < 0 && errno == ENOBUFS))
        u->stale = true;
}

bool uplink_open(struct uplink *u, int ifindex, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->ifindex = ifindex;
    u->stale = true;
    neigh_init(&u->gateways);
    u->nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    u->events_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    struct timeval timeout = { .tv_usec = UPLINK_DUMP_TIMEOUT_US };
    struct sockaddr_nl changes = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_ROUTE };
    if (u->nl_fd < 0 || setsockopt(u->nl_fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) < 0 ||
        u->events_fd < 0 || bind(u->events_fd, (struct sockaddr *)&changes, sizeof changes) < 0 ||
        !uplink_refresh(u)) {
        snprintf(err, errlen, "netlink route dump (the routes toward clients): %s", strerror(errno));
        uplink_close(u);
        return false;
    }
    return true;
}

void uplink_close(struct uplink *u)
{
    if (u->nl_fd >= 0)
        close(u->nl_fd);
    if (u->events_fd >= 0)
        close(u->events_fd);
    u->nl_fd = u->events_fd = -1;
}
