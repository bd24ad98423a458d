/* uplink: the way out to a client when rawlb has no entry to take it from. That is a stateless
 * reply (fastpath.h): a real server's answer for an mh service reaching a director that did not
 * carry the flow's request. With several directors behind the network's ECMP it is the common
 * case, not the exception: a real server's return path picks a director by its own hash of the
 * flow, independently of the router in front that picked the director for the request.
 *
 * It holds a copy of the kernel's IPv4 unicast routes of the main table that leave through the
 * external interface, read at start and again at the next tick after the kernel reports a
 * change of its IPv4 routes (RTMGRP_IPV4_ROUTE: a second of staleness after a change is the
 * whole cost, and a box whose routes do not change is never asked twice), and the MAC
 * addresses of their gateways in a
 * neighbour table of their own, learnt from ARP on the external link and asked for through it.
 * Only the gateways are registered in that table, so no host on the link can grow it.
 * A route without a gateway (clients on the external link itself) gives no next hop: behind
 * ECMP the clients are beyond the router by construction, and answering on-link clients would
 * take a neighbour entry per client. Such replies are dropped and counted (no_route).
 *
 * The main thread is the one writer (refresh, ARP), with the workers paused; the workers only
 * read (uplink_next_hop). */
#ifndef RAWLB_UPLINK_H
#define RAWLB_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inline.h"
#include "neigh.h"

#define UPLINK_MAX_ROUTES 64 /* routes out of the external interface kept; more are left out (logged) */

struct uplink_route {
    uint32_t net, mask; /* network order */
    uint32_t gateway;   /* network order; 0: on-link */
    uint8_t len;        /* prefix length */
};

struct uplink {
    int nl_fd;     /* netlink socket for the route dumps: opened before privileges drop; -1 when closed */
    int events_fd; /* netlink socket told of route changes (non-blocking); -1 when closed */
    bool stale;    /* a change was reported (or a dump failed): uplink_refresh re-reads */
    int ifindex; /* the external interface */
    unsigned n;
    struct uplink_route routes[UPLINK_MAX_ROUTES]; /* longest prefix first */
    bool truncated;                                /* the last dump had more than UPLINK_MAX_ROUTES */
    struct neigh_table gateways;
};

/* Fast path: where a frame to dst goes: the gateway's MAC, or NULL: *routed false when no route
 * with a gateway leaves through the external interface, true when there is one and its MAC is
 * not known yet (it is then asked for at the next tick). Inline: the fast path's library has no
 * sockets, and a scan of a few routes is all there is to it. */
FAST_INLINE const uint8_t *uplink_next_hop(struct uplink *u, uint32_t dst, bool *routed)
{
    for (unsigned i = 0; i < u->n; i++) {
        const struct uplink_route *r = &u->routes[i];
        if ((dst & r->mask) != r->net)
            continue;
        *routed = r->gateway != 0;
        return r->gateway ? neigh_lookup(&u->gateways, r->gateway) : NULL;
    }
    *routed = false;
    return NULL;
}

/* Parses one buffer of an RTM_GETROUTE dump answer into routes (at most max, *n counts those
 * taken so far): IPv4 unicast routes of the main table through ifindex (for a multipath route,
 * its first next hop through ifindex). *done at the dump's end; false on a netlink error
 * message. Sorting and the gateways are uplink_refresh's. */
bool uplink_parse_dump(const void *buf, size_t len, int ifindex, struct uplink_route *routes, unsigned max,
                       unsigned *n, bool *truncated, bool *done);
/* Orders routes longest prefix first, as uplink_next_hop takes the first match. */
void uplink_sort(struct uplink_route *routes, unsigned n);

/* Opens the netlink sockets and reads the routes once. False with a message. */
bool uplink_open(struct uplink *u, int ifindex, char *err, size_t errlen);
/* events_fd became readable: takes the kernel's change reports (marks the routes stale). */
void uplink_take_events(struct uplink *u);
/* The tick: when the routes are stale, re-reads them; the gateways of the new set are
 * registered, those no route uses any more retired. False when the dump failed (the old routes
 * stay, and the next tick tries again). */
bool uplink_refresh(struct uplink *u);
void uplink_close(struct uplink *u);

#endif
