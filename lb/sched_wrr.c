/* sched_wrr: weighted round robin as IPVS does it. The servers are walked in order; a server is
 * taken when its weight reaches the current weight cw, and every time the walk wraps cw steps
 * down by di, the gcd of the weights, from mw = max weight - (di - 1) towards 1, then starts
 * again at mw. Weights 4:3:2 give A A B A B C A B C. Only schedulable servers count towards
 * di and mw, so update() must run after every change of weight, availability or overload (-x:
 * service_schedule calls it when one changes, so a server at its limit never costs a walk of
 * every weight level).
 * (IPVS ip_vs_wrr.c) */
#include <stdlib.h>

#include "scheduler.h"

struct wrr_state {
    int cl; /* index of the last server chosen, -1 = before the first */
    int cw; /* current weight */
    int mw; /* max weight - (di - 1); 0 when nothing is schedulable */
    int di; /* gcd of the schedulable weights, 1 when there are none */
};

/* Recomputes di and mw from the schedulable servers and restarts the walk from the first. */
static void wrr_recompute(struct wrr_state *s, const struct service *svc)
{
    int g = 0, max = 0;

    for (unsigned i = 0; i < svc->n_rs; i++) {
        const struct real_server *rs = &svc->rs[i];
        if (!rs_schedulable(rs)) continue;
        g = g ? (int)sched_gcd((uint64_t)rs->weight, (uint64_t)g) : rs->weight;
        if (rs->weight > max) max = rs->weight;
    }
    s->cl = -1;
    s->di = g ? g : 1;
    s->mw = max ? max - (s->di - 1) : 0;
}

static bool wrr_init(struct service *svc)
{
    struct wrr_state *s = malloc(sizeof(*s));
    if (!s) return false;
    wrr_recompute(s, svc);
    s->cw = s->mw;
    svc->sched_data = s;
    return true;
}

static void wrr_update(struct service *svc)
{
    struct wrr_state *s = svc->sched_data;

    wrr_recompute(s, svc);
    /* Keep the place in the weight cycle where it still makes sense, on a step of the new di. */
    if (s->cw > s->mw || s->cw <= 0)
        s->cw = s->mw;
    else if (s->di > 1)
        s->cw = (s->cw / s->di) * s->di + 1;
}

static int wrr_schedule(struct service *svc, uint32_t caddr, uint16_t cport)
{
    struct wrr_state *s = svc->sched_data;
    int n = (int)svc->n_rs;

    (void)caddr;
    (void)cport;
    if (s->mw <= 0 || n == 0) return -1;
    /* cw reaches 1 within mw/di + 1 wraps and every schedulable weight is >= 1, so a walk this
     * long finds a server unless update() was skipped after a change; then give up rather than
     * spin. */
    long limit = (long)n * (s->mw / s->di + 2);
    int i = s->cl;
    for (long step = 0; step < limit; step++) {
        if (++i >= n) {
            i = 0;
            s->cw -= s->di;
            if (s->cw <= 0) s->cw = s->mw;
        }
        const struct real_server *rs = &svc->rs[i];
        if (rs_schedulable(rs) && rs->weight >= s->cw) {
            s->cl = i;
            return i;
        }
    }
    return -1;
}

const struct sched_ops sched_wrr_ops = {
    .name = "wrr",
    .init = wrr_init,
    .done = sched_free_data,
    .update = wrr_update,
    .schedule = wrr_schedule,
};
