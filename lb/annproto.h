/* annproto: the lines of a watch connection on the control socket (ctlproto.h's "watch"), the
 * one place both ends (the daemon, vipstate.h, and rawlb-announce, tools/announcer.h) take
 * their format from. After "watch\n" the daemon writes snapshots, each one line per VIP then
 * "end":
 *   vip 198.51.100.10 up      this director forwards and a service of the VIP has a server up
 *   vip 198.51.100.11 down
 *   end
 * a full one at once and another whenever one changes; an error line ("error: ...", as any
 * control answer) instead when the daemon refuses the watch. The announcer writes back what it
 * told its BGP daemon, one line per VIP: "announced ADDR" or "withdrawn ADDR". */
#ifndef RAWLB_ANNPROTO_H
#define RAWLB_ANNPROTO_H

#include <stdbool.h>
#include <stdint.h>

struct textout;

#define ANNPROTO_LINE_MAX 128 /* longer lines are not of this protocol */

enum annproto_kind {
    ANNPROTO_VIP,   /* vip ADDR up|down */
    ANNPROTO_END,   /* end: the snapshot is whole */
    ANNPROTO_ERROR, /* error: ... (the daemon refused) */
};

/* One snapshot line (without its newline): the daemon's side. */
void annproto_render_vip(struct textout *o, uint32_t addr, bool up);
void annproto_render_end(struct textout *o);
/* A line the daemon wrote (without its newline) into *kind (and *addr, *up for a VIP line);
 * false when it is none of the three. */
bool annproto_parse_snapshot_line(const char *line, enum annproto_kind *kind, uint32_t *addr, bool *up);

/* The announcer's report, "announced ADDR\n" or "withdrawn ADDR\n", into buf (at least
 * ANNPROTO_LINE_MAX bytes); returns its length. */
int annproto_render_report(uint32_t addr, bool announced, char *buf, unsigned len);
/* A report line (without its newline); false when it is not one. */
bool annproto_parse_report(const char *line, uint32_t *addr, bool *announced);

#endif
