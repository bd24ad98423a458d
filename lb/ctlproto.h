/* ctlproto: what travels over the control socket between rawlb-ctl and the daemon.
 * A request is one text line ("list\n"); the daemon answers with text and closes. Rendering
 * lives here, apart from the socket code, so it is unit-tested and shared by every transport. */
#ifndef RAWLB_CTLPROTO_H
#define RAWLB_CTLPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "service.h"

#define CTL_REQUEST_MAX 512
#define CTL_REQ_LIST "list"

/* The table in ipvsadm -L -n layout. Returns the length written (truncated output still ends
 * with a newline), like snprintf it never overruns buf. */
size_t ctlproto_render_list(const struct service_table *t, uint32_t max_conns, char *buf, size_t len);

#endif
