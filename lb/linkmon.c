/* linkmon: see linkmon.h. */
#include "linkmon.h"

#include <errno.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"

/* Large enough for any one link message (the kernel sizes a notification without VF details at a
 * few KB); a bigger one arrives truncated and is treated like a lost message. */
#define LINKMON_BUF 32768
/* Room for bursts of link events (a bond or a switch flapping many ports) before the kernel
 * drops messages and we have to ask again. */
#define LINKMON_RCVBUF (1 << 20)
/* Reads per wakeup, so that a flood of link events cannot starve the fast path. */
#define LINKMON_READS_PER_WAKEUP 16
/* Stale messages discarded after an overflow before asking the kernel again. */
#define LINKMON_DRAIN_MAX 1024
/* The kernel answers a RTM_GETLINK at once; the bound only guards against a wedged socket. */
#define LINKMON_QUERY_TIMEOUT_MS 1000

union linkmon_buf {
    struct nlmsghdr nh; /* aligns the bytes for the NLMSG_* macros */
    char bytes[LINKMON_BUF];
};

/* What a link message says besides its flags; each field only when the message carries it
 * (a crafted or filtered message may lack any of them). */
struct link_attrs {
    bool named, has_mtu, has_mac;
    char name[IF_NAMESIZE];
    unsigned mtu;
    uint8_t mac[LINKMON_MAC_LEN];
};

static void link_attrs(const struct nlmsghdr *nh, const struct ifinfomsg *ifi, struct link_attrs *a)
{
    memset(a, 0, sizeof *a);
    int len = (int)IFLA_PAYLOAD(nh);
    for (const struct rtattr *rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        size_t size = RTA_PAYLOAD(rta);
        if (rta->rta_type == IFLA_IFNAME) {
            size_t n = strnlen(RTA_DATA(rta), size);
            a->named = n < size && n < IF_NAMESIZE; /* a name without its NUL names nothing */
            if (a->named)
                memcpy(a->name, RTA_DATA(rta), n + 1);
        } else if (rta->rta_type == IFLA_MTU && size == sizeof(uint32_t)) {
            uint32_t mtu;
            memcpy(&mtu, RTA_DATA(rta), sizeof mtu);
            a->mtu = mtu;
            a->has_mtu = true;
        } else if (rta->rta_type == IFLA_ADDRESS && size == LINKMON_MAC_LEN) {
            memcpy(a->mac, RTA_DATA(rta), LINKMON_MAC_LEN);
            a->has_mac = true;
        }
    }
}

/* One interface's new state (a NULL a: deleted, nothing but the index and carrier is known);
 * the callback hears what changed. */
static void lif_set(struct linkmon *m, struct linkmon_if *lif, int ifindex, bool up, const struct link_attrs *a)
{
    unsigned changed = (lif->ifindex != ifindex ? LINKMON_INDEX : 0) | (lif->up != up ? LINKMON_CARRIER : 0);
    lif->ifindex = ifindex;
    lif->up = up;
    if (a && a->has_mtu && a->mtu != lif->mtu) {
        lif->mtu = a->mtu;
        changed |= LINKMON_MTU;
    }
    if (a && a->has_mac && memcmp(a->mac, lif->mac, sizeof lif->mac) != 0) {
        memcpy(lif->mac, a->mac, sizeof lif->mac);
        changed |= LINKMON_MAC;
    }
    if (changed && m->cb)
        m->cb(m->cb_arg, lif, changed);
}

/* Interfaces are followed by index, so a rename does not lose them; once deleted (index 0), a
 * new interface of the watched name takes its place, as when a driver is reloaded. */
static void link_msg(struct linkmon *m, const struct nlmsghdr *nh)
{
    if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return;
    const struct ifinfomsg *ifi = NLMSG_DATA(nh);
    /* The bridge reports port changes (RTM_DELLINK when a port leaves the bridge) in the same
     * group with family AF_BRIDGE: the device itself is unaffected. */
    if (ifi->ifi_family != AF_UNSPEC || ifi->ifi_index <= 0)
        return;
    bool gone = nh->nlmsg_type == RTM_DELLINK;
    bool up = !gone && (ifi->ifi_flags & IFF_LOWER_UP);
    struct link_attrs a;
    link_attrs(nh, ifi, &a);
    for (unsigned i = 0; i < m->n; i++) {
        struct linkmon_if *lif = &m->ifs[i];
        if (lif->ifindex == ifi->ifi_index)
            lif_set(m, lif, gone ? 0 : ifi->ifi_index, up, gone ? NULL : &a);
        else if (lif->ifindex == 0 && !gone && a.named && strcmp(a.name, lif->name) == 0)
            lif_set(m, lif, ifi->ifi_index, up, &a);
    }
}

void linkmon_feed(struct linkmon *m, const void *buf, size_t len)
{
    /* Signed, so that NLMSG_NEXT past a final unaligned message ends the walk instead of
     * wrapping around. */
    int left = len > INT_MAX ? INT_MAX : (int)len;
    for (const struct nlmsghdr *nh = buf; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left))
        if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK)
            link_msg(m, nh);
}

/* A datagram from the kernel (a local process could send to our port id too); -1 with errno,
 * ENOBUFS also when the message was truncated, since either way something was lost. */
static ssize_t nl_recv(int fd, union linkmon_buf *buf)
{
    struct sockaddr_nl from;
    struct iovec iov = { .iov_base = buf->bytes, .iov_len = sizeof buf->bytes };
    struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
    for (;;) {
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n < 0)
            return -1;
        if (msg.msg_flags & MSG_TRUNC) {
            errno = ENOBUFS;
            return -1;
        }
        if (msg.msg_namelen == sizeof from && from.nl_pid == 0)
            return n;
        msg.msg_namelen = sizeof from;
    }
}

static int nl_socket(unsigned groups, int type, char *err, size_t errlen)
{
    int fd = socket(AF_NETLINK, type | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) {
        snprintf(err, errlen, "netlink socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "netlink bind: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* A blocking socket of its own for questions, so that answers do not mix with the
 * notifications queued on the monitoring socket. */
static int query_socket(char *err, size_t errlen)
{
    int fd = nl_socket(0, SOCK_RAW, err, errlen);
    struct timeval tv = { .tv_sec = LINKMON_QUERY_TIMEOUT_MS / 1000,
                          .tv_usec = (LINKMON_QUERY_TIMEOUT_MS % 1000) * 1000 };
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
        snprintf(err, errlen, "netlink timeout: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

struct link_request {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
    char attrs[RTA_SPACE(IF_NAMESIZE)];
};

/* By index while the interface exists, by name once it was deleted. */
static size_t request_build(struct link_request *req, const struct linkmon_if *lif, uint32_t seq)
{
    memset(req, 0, sizeof *req);
    req->nh.nlmsg_len = NLMSG_LENGTH(sizeof req->ifi);
    req->nh.nlmsg_type = RTM_GETLINK;
    req->nh.nlmsg_flags = NLM_F_REQUEST;
    req->nh.nlmsg_seq = seq;
    req->ifi.ifi_family = AF_UNSPEC;
    req->ifi.ifi_index = lif->ifindex;
    if (lif->ifindex == 0) {
        struct rtattr *rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->nh.nlmsg_len));
        size_t n = strlen(lif->name) + 1;
        rta->rta_type = IFLA_IFNAME;
        rta->rta_len = (unsigned short)RTA_LENGTH(n);
        memcpy(RTA_DATA(rta), lif->name, n);
        req->nh.nlmsg_len = NLMSG_ALIGN(req->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
    }
    return req->nh.nlmsg_len;
}

/* The answer to request SEQ: the link (applied), or ENODEV (the interface is gone). */
static bool query_answer(struct linkmon *m, struct linkmon_if *lif, const struct nlmsghdr *nh, int len, uint32_t seq,
                         int *error)
{
    for (; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
        if (nh->nlmsg_seq != seq)
            continue;
        if (nh->nlmsg_type == RTM_NEWLINK) {
            linkmon_feed(m, nh, nh->nlmsg_len);
            return true;
        }
        if (nh->nlmsg_type != NLMSG_ERROR || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
            continue;
        *error = -((const struct nlmsgerr *)NLMSG_DATA(nh))->error;
        if (*error == ENODEV)
            lif_set(m, lif, 0, false, NULL);
        return true;
    }
    return false;
}

static bool query_one(struct linkmon *m, int fd, struct linkmon_if *lif, uint32_t seq, char *err, size_t errlen)
{
    struct link_request req;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    size_t len = request_build(&req, lif, seq);
    if (sendto(fd, &req, len, 0, (struct sockaddr *)&kernel, sizeof kernel) != (ssize_t)len) {
        snprintf(err, errlen, "netlink request for %s: %s", lif->name, strerror(errno));
        return false;
    }
    union linkmon_buf buf;
    int error = 0;
    for (;;) {
        ssize_t n = nl_recv(fd, &buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "netlink answer for %s: %s", lif->name, strerror(errno));
            return false;
        }
        if (query_answer(m, lif, &buf.nh, (int)n, seq, &error))
            break;
    }
    if (error && error != ENODEV) {
        snprintf(err, errlen, "netlink answer for %s: %s", lif->name, strerror(error));
        return false;
    }
    return true;
}

/* Asks the kernel for every watched interface; a deleted one is looked for again by name. */
static bool linkmon_resync(struct linkmon *m, char *err, size_t errlen)
{
    int fd = query_socket(err, errlen);
    if (fd < 0)
        return false;
    uint32_t seq = 0;
    bool ok = true;
    for (unsigned i = 0; ok && i < m->n; i++) {
        struct linkmon_if *lif = &m->ifs[i];
        if (lif->ifindex != 0)
            ok = query_one(m, fd, lif, ++seq, err, errlen);
        if (ok && lif->ifindex == 0)
            ok = query_one(m, fd, lif, ++seq, err, errlen);
    }
    close(fd);
    return ok;
}

/* The kernel dropped notifications. What is still queued predates the lost ones and would only
 * replay stale states, so it is discarded before asking for the present. */
static void linkmon_overflow(struct linkmon *m)
{
    union linkmon_buf buf;
    for (unsigned i = 0; i < LINKMON_DRAIN_MAX; i++)
        if (nl_recv(m->fd, &buf) < 0 && errno != ENOBUFS && errno != EINTR)
            break;
    char err[256];
    if (!linkmon_resync(m, err, sizeof err))
        log_warn("linkmon: link events were lost and the links could not be read again: %s", err);
}

static void linkmon_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct linkmon *m = w->data;
    union linkmon_buf buf;
    for (unsigned i = 0; i < LINKMON_READS_PER_WAKEUP && m->fd >= 0; i++) {
        ssize_t n = nl_recv(m->fd, &buf);
        if (n < 0 && errno == ENOBUFS) {
            linkmon_overflow(m);
            continue;
        }
        if (n < 0)
            return; /* EAGAIN: all read (anything else is tried again on the next wakeup) */
        linkmon_feed(m, buf.bytes, (size_t)n);
    }
}

static bool linkmon_names(struct linkmon *m, const char *const *names, unsigned n, char *err, size_t errlen)
{
    if (n > LINKMON_MAX) {
        snprintf(err, errlen, "at most %d interfaces can be tracked, not %u", LINKMON_MAX, n);
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        struct linkmon_if *lif = &m->ifs[i];
        if (strlen(names[i]) >= sizeof lif->name) {
            snprintf(err, errlen, "interface name '%s' is too long", names[i]);
            return false;
        }
        unsigned idx = if_nametoindex(names[i]);
        if (idx == 0) {
            snprintf(err, errlen, "interface '%s' does not exist", names[i]);
            return false;
        }
        snprintf(lif->name, sizeof lif->name, "%s", names[i]);
        lif->ifindex = (int)idx;
    }
    m->n = n;
    return true;
}

bool linkmon_open(struct linkmon *m, struct ev_loop *loop, const char *const *names, unsigned n, linkmon_cb cb,
                  void *arg, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->fd = -1;
    m->loop = loop;
    if (!linkmon_names(m, names, n, err, errlen))
        return false;
    /* Subscribed before the carriers are read, so that no change falls between the two. */
    m->fd = nl_socket(RTMGRP_LINK, SOCK_RAW | SOCK_NONBLOCK, err, errlen);
    if (m->fd < 0)
        return false;
    int rcvbuf = LINKMON_RCVBUF;
    (void)setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf); /* the default works too */
    if (!linkmon_resync(m, err, errlen)) { /* no callback yet: this is the starting state */
        linkmon_close(m);
        return false;
    }
    m->cb = cb;
    m->cb_arg = arg;
    ev_io_init(&m->io, linkmon_read_cb, m->fd, EV_READ);
    /* Ahead of the packet sockets when both are ready in one loop iteration: frames read after
     * an MTU or MAC change are then handled with the new values. */
    ev_set_priority(&m->io, EV_MAXPRI);
    m->io.data = m;
    ev_io_start(loop, &m->io);
    return true;
}

void linkmon_close(struct linkmon *m)
{
    if (m->fd < 0)
        return;
    ev_io_stop(m->loop, &m->io);
    close(m->fd);
    m->fd = -1;
}

const struct linkmon_if *linkmon_first_down(const struct linkmon *m)
{
    for (unsigned i = 0; i < m->n; i++)
        if (!m->ifs[i].up)
            return &m->ifs[i];
    return NULL;
}
