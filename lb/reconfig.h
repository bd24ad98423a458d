/* reconfig: a running configuration replaced by another (rawlb-ctl edits), atomically between
 * two batches, with every worker paused. A new service table is built from the new config;
 * what the old one knew is carried over by address and port (counters, health availability),
 * every connection entry is re-pointed at its service's and real server's new indexes, and the
 * entries whose server is gone are marked so that their clients get an RST from the VIP.
 * No I/O: the daemon then updates filters, neighbours and health checks. */
#ifndef RAWLB_RECONFIG_H
#define RAWLB_RECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "fastpath.h"
#include "service.h"

struct reconfig_result {
    unsigned services_added, services_removed;
    unsigned servers_added, servers_removed;
    uint32_t flows_dropped; /* entries of removed services or real servers */
};

/* Replaces *table (the one every worker's fastpath in fps uses) with one built from next; the
 * workers are paused and their per-packet counters folded in (fastpath_fold_stats). On failure
 * (a scheduler cannot start) nothing changed and err says why. */
bool reconfig_apply(struct service_table *table, struct fastpath *const *fps, unsigned n_fps,
                    const struct rawlb_config *next, struct reconfig_result *res, char *err, size_t errlen);

#endif
