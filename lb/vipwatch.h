/* vipwatch: the daemon's side of BGP announcement, between the VIPs' state (vipstate.h, pure)
 * and the control socket's watchers (control.h): answers the verb watch with a snapshot, sends
 * every watcher a new one when the eligibility of a VIP changes (vipwatch_check: the daemon calls
 * it on its one-second tick and after each control request, so a change is out within about a
 * second), records what the announcers report, and renders the announcement part of rawlb-ctl
 * status. The announcer itself is tools/rawlb-announce.c; vipstate.h says why it is a watcher
 * rather than a command the privileged helper runs. No system call beyond what control already
 * makes (read and write on its sockets): the seccomp filter (sandbox.c) needs nothing more. */
#ifndef RAWLB_VIPWATCH_H
#define RAWLB_VIPWATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "control.h"
#include "vipstate.h"

struct textout;

struct vipwatch {
    struct control *ctl;
    struct vipstate state;
    char snapshot[VIPSTATE_SNAPSHOT_MAX];
};

/* After control_open: takes over ctl's watch callbacks. */
void vipwatch_init(struct vipwatch *w, struct control *ctl);
/* The VIPs of t again (forwarding: this director is master, or runs without HA); a watcher is
 * sent a snapshot when one changed. */
void vipwatch_check(struct vipwatch *w, const struct service_table *t, bool forwarding);
/* The answer to watch: the snapshot now, and the client kept as a watcher. */
size_t vipwatch_answer(struct vipwatch *w, const struct service_table *t, bool forwarding, char *out, size_t len,
                       struct control_stream *more);
/* rawlb-ctl status's announcement part (vipstate_render_status). */
void vipwatch_render_status(const struct vipwatch *w, bool json, struct textout *o);

#endif
