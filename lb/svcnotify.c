/* svcnotify: see svcnotify.h. libsystemd's sd_notify opens a datagram socket per message, which
 * the seccomp filter allows for AF_UNIX (sandbox.c). */
#include "svcnotify.h"

#include <stdbool.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "log.h"

static void send_state(const char *state, const char *status)
{
    static bool failed_once;
    int rc = sd_notifyf(0, "%s\nSTATUS=%s", state, status);
    if (rc < 0 && !failed_once) {
        failed_once = true;
        log_warn("cannot tell the service manager %s: %s", state, strerror(-rc));
    }
}

void svcnotify_ready(const char *status)
{
    send_state("READY=1", status);
}

void svcnotify_reloading(void)
{
    send_state("RELOADING=1", "reloading the configuration");
}

void svcnotify_stopping(void)
{
    send_state("STOPPING=1", "stopping: saving the connection table");
}
