/* vipstate: the daemon's VIPs as BGP announcers see them (rawlb-announce, over the control
 * socket's watch verb): which are eligible to be announced, the snapshot a watcher is sent
 * (annproto.h), what the announcers last reported for each, and how rawlb-ctl status shows it.
 * Pure: main.c feeds it the service table and whether this director forwards; control.c carries
 * the lines to and from the watchers.
 *
 * Why a watcher and not a command run by the privileged helper (privhelper.h): the helper dies
 * with rawlb (PR_SET_PDEATHSIG), so a rawlb killed outright would leave nobody to withdraw its
 * routes, and the VIPs would go on drawing traffic into a hole. The announcer runs under the BGP
 * daemon instead (ExaBGP's process API), outlives rawlb, and withdraws everything the moment its
 * control connection breaks.
 *
 * Eligible ("up"): this director forwards (HA master, or no HA) and at least one service on the
 * VIP has a real server in service by health and weight: available (its check passed, or it is
 * not checked) with a weight above 0. The sorry server does not count: it is what a VIP shows
 * when it has nothing to serve. */
#ifndef RAWLB_VIPSTATE_H
#define RAWLB_VIPSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "annproto.h"
#include "service.h"

#define VIPSTATE_MAX RAWLB_MAX_SERVICES /* a VIP per service at most */
#define VIPSTATE_SNAPSHOT_MAX ((VIPSTATE_MAX + 1) * ANNPROTO_LINE_MAX) /* the VIP lines and "end" */
#define VIPSTATE_NOBODY (-1)

enum vipstate_report {
    VIPSTATE_NONE,      /* no announcer has said anything about it */
    VIPSTATE_ANNOUNCED, /* an announcer told its BGP daemon to announce it */
    VIPSTATE_WITHDRAWN, /* ... to withdraw it */
};

struct vipstate_vip {
    uint32_t addr; /* network order */
    bool eligible;
    enum vipstate_report report;
    int reporter; /* the watcher that reported it (control.h's watcher id), VIPSTATE_NOBODY with none */
};

struct vipstate {
    unsigned n;
    struct vipstate_vip vips[VIPSTATE_MAX]; /* in the order of their first service */
};

/* Whether vip may be announced now (the rule above). */
bool vipstate_eligible(const struct service_table *t, uint32_t vip, bool forwarding);
/* The VIPs of t and their eligibility again, each keeping what was reported for it; true when
 * a watcher must be sent a new snapshot (a VIP came, went or changed its eligibility). */
bool vipstate_update(struct vipstate *s, const struct service_table *t, bool forwarding);
/* The snapshot (annproto.h) into buf; returns its length (0 when it does not fit whole). */
size_t vipstate_snapshot(const struct vipstate *s, char *buf, size_t len);
/* A line watcher wrote: a report, recorded for its VIP; a VIP rawlb no longer has is ignored.
 * False when the line is no report. */
bool vipstate_report(struct vipstate *s, int watcher, const char *line);
/* watcher closed: what it reported is void (an announcer withdraws everything when its
 * connection breaks). */
void vipstate_forget(struct vipstate *s, int watcher);
/* The part of rawlb-ctl status: text lines, or (json) the members "announcers" and "vips" of
 * the status object, without braces. n_watchers: announcers connected now. */
void vipstate_render_status(const struct vipstate *s, unsigned n_watchers, bool json, struct textout *o);

#endif
