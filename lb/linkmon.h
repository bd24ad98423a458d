/* linkmon: the carrier, MTU and MAC address of the interfaces rawlb depends on, followed live
 * through rtnetlink (RTMGRP_LINK) in the event loop. The one link-monitor code of the daemon,
 * opened once per user with the interfaces that user follows: the daemon follows its two
 * balancing interfaces (MTU and MAC into what it sends, main.c), HA's --ha-track gives up the
 * master role when a tracked link loses carrier (ha.c). Carrier is IFF_LOWER_UP: a veth whose
 * peer (the switch side) is down, or a NIC without a cable, is down even while the interface
 * itself is administratively up. */
#ifndef RAWLB_LINKMON_H
#define RAWLB_LINKMON_H

#include <ev.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINKMON_MAX 8
#define LINKMON_MAC_LEN 6 /* Ethernet; other link-layer addresses are not followed */

struct linkmon_if {
    char name[IF_NAMESIZE];
    int ifindex; /* 0 once deleted: a new interface of this name is then followed instead */
    bool up;     /* has carrier */
    unsigned mtu;                 /* 0 until a message carried it */
    uint8_t mac[LINKMON_MAC_LEN]; /* all zero until a message carried an Ethernet address */
};

/* What changed, as the callback's bit mask. */
#define LINKMON_CARRIER 1u
#define LINKMON_MTU 2u
#define LINKMON_MAC 4u
#define LINKMON_INDEX 8u /* deleted (ifindex 0), or a new interface of the name adopted */

/* Called from the loop when a watched interface changes: CHANGED says what, lif holds the new
 * state. */
typedef void (*linkmon_cb)(void *arg, const struct linkmon_if *lif, unsigned changed);

struct linkmon {
    int fd; /* -1 when closed */
    struct ev_loop *loop;
    ev_io io;
    unsigned n;
    struct linkmon_if ifs[LINKMON_MAX];
    linkmon_cb cb;
    void *cb_arg;
};

/* Opens the netlink socket, resolves each name (false with a message naming an interface that
 * does not exist) and reads every interface once, so linkmon_first_down and the MTUs and MACs
 * are right at once (no callback for this starting state). */
bool linkmon_open(struct linkmon *m, struct ev_loop *loop, const char *const *names, unsigned n, linkmon_cb cb,
                  void *arg, char *err, size_t errlen);
void linkmon_close(struct linkmon *m);
/* Applies a buffer of rtnetlink messages as read from the socket (4-byte aligned) to the watched
 * interfaces, calling the callback for each change. No I/O: the unit test feeds it bytes. */
void linkmon_feed(struct linkmon *m, const void *buf, size_t len);
/* The first watched interface without carrier, or NULL when all have it. */
const struct linkmon_if *linkmon_first_down(const struct linkmon *m);

#endif
