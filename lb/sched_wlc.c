/* sched_wlc: weighted least connections, the default. The schedulable real server with the
 * lowest overhead/weight gets the flow, compared without division or floats:
 * overhead(least) * weight(rs) > overhead(rs) * weight(least) means rs is less loaded.
 * Overheads stay below 2^41 and weights below 2^17, so the products fit in 64 bits.
 * The first of equals wins. (IPVS ip_vs_wlc.c) */
#include "scheduler.h"

static int wlc_schedule(struct service *svc, uint32_t caddr, uint16_t cport)
{
    int least = -1;
    uint64_t loh = 0, lw = 0;

    (void)caddr;
    (void)cport;
    for (unsigned i = 0; i < svc->n_rs; i++) {
        const struct real_server *rs = &svc->rs[i];
        if (!rs_schedulable(rs)) continue;
        uint64_t doh = sched_conn_overhead(rs), dw = (uint64_t)rs->weight;
        if (least < 0 || loh * dw > doh * lw) {
            least = (int)i;
            loh = doh;
            lw = dw;
        }
    }
    return least;
}

const struct sched_ops sched_wlc_ops = {
    .name = "wlc",
    .schedule = wlc_schedule,
};
