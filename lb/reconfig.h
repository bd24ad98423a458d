/* reconfig: a running configuration replaced by another (rawlb-ctl edits), atomically between
 * two batches, with every worker paused. A new service table is built from the new config;
 * what the old one knew is carried over by address and port (counters, health availability,
 * and the slots its servers' connection entries name: slots.h), and the slots of removed
 * servers are retired, so that their clients get an RST from the VIP. Only the service table is
 * touched, never a connection table: the fast path answers an entry of a retired slot as dropped
 * when it meets one, and each worker's reap walk marks the rest over the next ticks.
 * No I/O: the daemon then updates filters, neighbours and health checks. */
#ifndef RAWLB_RECONFIG_H
#define RAWLB_RECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "conn.h"
#include "service.h"

struct reconfig_result {
    unsigned services_added, services_removed;
    unsigned servers_added, servers_removed;
    uint32_t flows_dropped; /* connections (ActiveConn + InActConn) of removed services or real servers */
};

/* Replaces *table (the one every worker's fastpath uses) with one built from next; the workers
 * are paused and their per-packet counters folded in (fastpath_fold_stats). On failure (a
 * scheduler cannot start, or a service has no free slot left) nothing changed and err says why. */
bool reconfig_apply(struct service_table *table, const struct rawlb_config *next, struct reconfig_result *res,
                    char *err, size_t errlen);

#endif
