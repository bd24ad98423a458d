/* statusjson: the text of GET /status.json, what the web status page (statuspage.h) shows, rendered
 * from the same metrics_view as /metrics and published in the same once-a-second snapshot
 * (metrics.h), so the page's requests never render anything and keep the endpoint's limits.
 * A pure function, unit-tested like metrics_render.
 *
 * One JSON object:
 *   "list"        rawlb-ctl list --json's object as it is (ctlproto_render_list_json): every service
 *                 and real server with weight, active/inactive, counters, per-second rates and
 *                 health (state, seconds in it, last result) where health describes it
 *   "conn_table"  {"entries", "capacity"}
 *   "interfaces"  per balancing interface: frames rx/tx and the drops before the fast path
 *                 (receive buffer, overload, VLAN) and send failures; null without fast-path stats
 *   "drops"       the fast path's drops by reason (lb/fastpath.h); null without fast-path stats
 *   "announce"    BGP announcement, exactly rawlb-ctl status --json's members (vipstate_render_status,
 *                 from the same vipstate): {"announcers": connected now, "vips": per VIP "eligible"
 *                 up/down, "announcer" connected, "reported" announced/withdrawn/none}; null
 *                 without the VIPs' state
 *   "ha"          role, state, peer and links from the metrics_ha_view; null without --ha-role */
#ifndef RAWLB_STATUSJSON_H
#define RAWLB_STATUSJSON_H

#include <stddef.h>

#include "metrics.h"

#define STATUSJSON_PATH "/status.json"
#define STATUSJSON_CONTENT_TYPE "application/json"

/* Renders v into buf (NUL-terminated when len > 0). Returns the length the whole text needs, as
 * metrics_render does: a result >= len means buf holds an incomplete text, to render again into
 * a larger buffer. len 0 (buf may be NULL) only measures. */
size_t statusjson_render(const struct metrics_view *v, char *buf, size_t len);

#endif
