/* sched_lc: least connections. The schedulable real server with the lowest
 * sched_conn_overhead() (active*256 + inactive) gets the flow; the first of equals wins.
 * Weights only matter as 0 = quiesced. (IPVS ip_vs_lc.c) */
#include "scheduler.h"

static int lc_schedule(struct service *svc, uint32_t caddr, uint16_t cport)
{
    int least = -1;
    uint64_t loh = 0;

    (void)caddr;
    (void)cport;
    for (unsigned i = 0; i < svc->n_rs; i++) {
        const struct real_server *rs = &svc->rs[i];
        if (!rs_schedulable(rs)) continue;
        uint64_t doh = sched_conn_overhead(rs);
        if (least < 0 || doh < loh) {
            least = (int)i;
            loh = doh;
        }
    }
    return least;
}

const struct sched_ops sched_lc_ops = {
    .name = "lc",
    .schedule = lc_schedule,
};
