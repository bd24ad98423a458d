/* ctlproto: what travels over the control socket between rawlb-ctl and the daemon.
 * A request is one text line ("list\n"); the daemon answers with text and closes. Rendering
 * lives here, apart from the socket code, so it is unit-tested and shared by every transport. */
#ifndef RAWLB_CTLPROTO_H
#define RAWLB_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service.h"

#define CTL_REQUEST_MAX 512
#define CTL_REQ_LIST "list"
#define CTL_REQ_LIST_HEALTH "list --health"

/* What list --health adds to a real server's line, from the daemon's health checking. */
struct ctl_rs_health {
    const char *state; /* up, down, re-entering, quiesced, sorry */
    uint32_t since_s;  /* in that state */
    const char *last;  /* the last probe's result */
};
/* Fills h for a real server (rs may be the sorry server's index); false when it is not checked. */
typedef bool (*ctl_health_fn)(void *arg, unsigned svc, unsigned rs, struct ctl_rs_health *h);

/* The table in ipvsadm -L -n layout; with health (non-NULL) the State, Since and Last columns
 * are added. The sorry server is listed while it is in use. Returns the length written
 * (truncated output still ends with a newline), like snprintf it never overruns buf. */
size_t ctlproto_render_list(const struct service_table *t, uint32_t max_conns, ctl_health_fn health, void *arg,
                            char *buf, size_t len);

#endif
