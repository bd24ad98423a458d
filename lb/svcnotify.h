/* svcnotify: what the service manager hears from rawlb (systemd's Type=notify, sd_notify(3)):
 * READY=1 once the fast path forwards (an HA director once its role is decided), RELOADING=1 and
 * READY=1 again around a reload (rawlb-ctl reload, the unit's ExecReload), STOPPING=1 at SIGTERM,
 * each with a STATUS= line for `systemctl status`. Nothing is sent when no service manager
 * started rawlb ($NOTIFY_SOCKET unset). A datagram that cannot be sent is logged once: the
 * service manager's view is all that depends on it. */
#ifndef RAWLB_SVCNOTIFY_H
#define RAWLB_SVCNOTIFY_H

void svcnotify_ready(const char *status);
void svcnotify_reloading(void);
void svcnotify_stopping(void);

#endif
