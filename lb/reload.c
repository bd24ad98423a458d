/* reload: see reload.h. */
#include "reload.h"

#include <stdio.h>
#include <string.h>

#include "textout.h"

bool reload_check(const struct rawlb_config *running, const struct rawlb_config *given, char *err, size_t errlen)
{
    const struct {
        const char *flag;
        bool same;
    } fixed[] = {
        { "-e", strcmp(running->ext_if, given->ext_if) == 0 },
        { "-i", strcmp(running->int_if, given->int_if) == 0 },
        { "-n", running->nat_ip == given->nat_ip },
        { "--max-conns", running->max_conns == given->max_conns },
        { "--workers", running->workers == given->workers },
        { "--user", strcmp(running->user, given->user) == 0 },
        { "--ctl", strcmp(running->ctl_path, given->ctl_path) == 0 },
        { "--ctl-group", strcmp(running->ctl_group, given->ctl_group) == 0 },
        { "--pidfile", strcmp(running->pidfile, given->pidfile) == 0 },
        { "--metrics", running->metrics == given->metrics &&
                           (!running->metrics || endpoint_equal(&running->metrics_ep, &given->metrics_ep)) },
        { "--state-dir", strcmp(running->ha.state_dir, given->ha.state_dir) == 0 },
        { "--ha-*", haconfig_same(&running->ha, &given->ha) },
    };
    struct textout o;
    textout_init(&o, err, errlen);
    unsigned changed = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (!fixed[i].same)
            textout_printf(&o, "%s%s", changed++ ? ", " : "", fixed[i].flag);
    if (!changed)
        return true;
    textout_printf(&o, " differ%s from the running daemon's, and only a restart applies %s: nothing was changed",
                   changed == 1 ? "s" : "", changed == 1 ? "it" : "them");
    textout_finish(&o);
    return false;
}

void reload_take_services(struct rawlb_config *next, const struct rawlb_config *running,
                          const struct rawlb_config *given)
{
    if (next != running)
        *next = *running;
    next->timeouts = given->timeouts;
    next->n_services = given->n_services;
    memcpy(next->services, given->services, sizeof next->services[0] * given->n_services);
}
