/* sched_sh: source hashing. A table of 256 buckets maps a hash of the client address to a real
 * server, so a client keeps its server for as long as the table stands. (IPVS ip_vs_sh.c)
 *
 * Differences from IPVS, on purpose:
 * - the buckets are shared out in proportion to the weights (largest remainder, every weighted
 *   server at least one bucket) and interleaved with a smooth weighted round robin; IPVS hands
 *   out `weight` consecutive buckets per server in turn, which is proportional only while the
 *   weights are small next to 256;
 * - the hash is a full 32-bit mixer and the bucket comes from its top bits; IPVS multiplies by
 *   2654435761 and keeps the low 8 bits, which depend only on the low 8 bits of the address;
 * - the table is built from weights alone. A server held out by health keeps its buckets and
 *   its clients fall back to the next bucket whose server is schedulable (IPVS's sh-fallback),
 *   so a health flap moves only that server's clients. A weight change rebuilds the table. */
#include <stdlib.h>

#include "hash.h"
#include "scheduler.h"

#define SH_TAB_BITS 8
#define SH_TAB_SIZE (1u << SH_TAB_BITS)

struct sh_state {
    unsigned n_filled;              /* SH_TAB_SIZE, or 0 when no server has a weight */
    uint8_t bucket[SH_TAB_SIZE];    /* index into svc->rs */
};

_Static_assert(RAWLB_MAX_RS_PER_SERVICE <= 256, "bucket holds a uint8_t index");
_Static_assert(RAWLB_MAX_RS_PER_SERVICE <= SH_TAB_SIZE, "every weighted server gets a bucket");

static void sh_build(struct sh_state *s, const struct service *svc)
{
    unsigned quota[RAWLB_MAX_RS_PER_SERVICE] = {0};
    uint64_t rem[RAWLB_MAX_RS_PER_SERVICE] = {0};
    uint64_t total = 0;
    unsigned n = svc->n_rs, given = 0;

    for (unsigned i = 0; i < n; i++)
        if (svc->rs[i].weight > 0) total += (uint64_t)svc->rs[i].weight;
    s->n_filled = 0;
    if (total == 0) return;

    /* Largest remainder: floor shares first, then one more each to the biggest remainders. */
    for (unsigned i = 0; i < n; i++) {
        if (svc->rs[i].weight <= 0) continue;
        uint64_t w = (uint64_t)svc->rs[i].weight * SH_TAB_SIZE;
        quota[i] = (unsigned)(w / total);
        rem[i] = w % total;
        given += quota[i];
    }
    while (given < SH_TAB_SIZE) {
        unsigned best = n;
        for (unsigned i = 0; i < n; i++)
            if (svc->rs[i].weight > 0 && (best == n || rem[i] > rem[best])) best = i;
        quota[best]++;
        rem[best] = 0;
        given++;
    }
    /* Every weighted server gets a bucket, taken from the largest share (n <= 64 < 256 keeps
     * that share above 1). */
    for (unsigned i = 0; i < n; i++) {
        if (svc->rs[i].weight <= 0 || quota[i] > 0) continue;
        unsigned big = 0;
        for (unsigned j = 1; j < n; j++)
            if (quota[j] > quota[big]) big = j;
        quota[big]--;
        quota[i] = 1;
    }

    /* Smooth weighted round robin over the quotas: after SH_TAB_SIZE steps each server has
     * exactly its quota, spread out rather than in runs. */
    int64_t cur[RAWLB_MAX_RS_PER_SERVICE] = {0};
    for (unsigned b = 0; b < SH_TAB_SIZE; b++) {
        unsigned best = n;
        for (unsigned i = 0; i < n; i++) {
            if (!quota[i]) continue;
            cur[i] += quota[i];
            if (best == n || cur[i] > cur[best]) best = i;
        }
        cur[best] -= SH_TAB_SIZE;
        s->bucket[b] = (uint8_t)best;
    }
    s->n_filled = SH_TAB_SIZE;
}

static bool sh_init(struct service *svc)
{
    struct sh_state *s = malloc(sizeof(*s));
    if (!s) return false;
    sh_build(s, svc);
    svc->sched_data = s;
    return true;
}

static void sh_update(struct service *svc)
{
    sh_build(svc->sched_data, svc);
}

static int sh_schedule(struct service *svc, uint32_t caddr, uint16_t cport)
{
    const struct sh_state *s = svc->sched_data;
    (void)cport; /* rawlb's sh hashes the address alone (no sh-port) */

    if (!s->n_filled) return -1;
    unsigned b = hash_mix32(caddr) >> (32 - SH_TAB_BITS);
    for (unsigned k = 0; k < SH_TAB_SIZE; k++) {
        unsigned i = s->bucket[(b + k) & (SH_TAB_SIZE - 1)];
        if (i < svc->n_rs && rs_schedulable(&svc->rs[i])) return (int)i;
    }
    return -1;
}

const struct sched_ops sched_sh_ops = {
    .name = "sh",
    .init = sh_init,
    .done = sched_free_data,
    .update = sh_update,
    .schedule = sh_schedule,
};
