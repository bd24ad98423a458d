/* sched_rr: round robin. Each new flow goes to the next schedulable real server after the one
 * chosen last; quiesced and unavailable servers are stepped over. (IPVS ip_vs_rr.c) */
#include <stdlib.h>

#include "scheduler.h"

struct rr_state {
    int last; /* index chosen last, -1 before the first pick */
};

static bool rr_init(struct service *svc)
{
    struct rr_state *s = malloc(sizeof(*s));
    if (!s) return false;
    s->last = -1;
    svc->sched_data = s;
    return true;
}

static int rr_schedule(struct service *svc, uint32_t caddr, uint16_t cport)
{
    struct rr_state *s = svc->sched_data;
    int n = (int)svc->n_rs;

    (void)caddr;
    (void)cport;
    for (int k = 1; k <= n; k++) {
        int i = (s->last + k) % n;
        if (rs_schedulable(&svc->rs[i])) {
            s->last = i;
            return i;
        }
    }
    return -1;
}

const struct sched_ops sched_rr_ops = {
    .name = "rr",
    .init = rr_init,
    .done = sched_free_data,
    .schedule = rr_schedule,
};
