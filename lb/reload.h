/* reload: what a reload (rawlb-ctl reload, the systemd unit's ExecReload) may change in a
 * running daemon, given a whole new command line. Everything opened or decided before the
 * privilege drop stays as it started: the interfaces and the NAT router address (-e -i -n), the
 * table's size and its split (--max-conns --workers), the account (--user --ctl-group), the
 * control socket, pid file, metrics socket and state directory (--ctl --pidfile --metrics
 * --state-dir) and every --ha-* flag. The rest, services with their real servers and health
 * checks, and the timeouts (--set), is what the reload applies, as an edit would. */
#ifndef RAWLB_RELOAD_H
#define RAWLB_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* False when given differs from running in a flag only a restart applies, with a message
 * naming every such flag. */
bool reload_check(const struct rawlb_config *running, const struct rawlb_config *given, char *err, size_t errlen);
/* next = running with given's services and timeouts: what a reload, or the HA master's
 * configuration pushed to its backup, replaces. */
void reload_take_services(struct rawlb_config *next, const struct rawlb_config *running,
                          const struct rawlb_config *given);

#endif
