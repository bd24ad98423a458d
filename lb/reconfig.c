/* reconfig: see reconfig.h. */
#include "reconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_FOUND (-1)

/* Where an old server went in the new service: a real server by address and port, the sorry
 * server onto the new sorry server when both name the same one, else NOT_FOUND. */
static int find_in(const struct service *o, unsigned j, const struct service *n)
{
    if (j == o->n_rs) /* o's sorry server */
        return n->has_sorry && endpoint_equal(&o->rs[j].ep, &n->rs[n->n_rs].ep) ? (int)n->n_rs : NOT_FOUND;
    int r = service_find_rs(n, &o->rs[j].ep);
    return r >= 0 && (unsigned)r < n->n_rs ? r : NOT_FOUND;
}

/* A server that stays keeps its slot (its entries go on), its counters and what health decided;
 * its weight is the new config's. */
static void carry_server(struct service_table *next, const struct real_server *o, unsigned s, unsigned r)
{
    struct real_server *n = &next->svc[s].rs[r];
    n->slot = o->slot;
    slots_bind(&next->slots, next->svc[s].slot, o->slot, s, r);
    n->stats = o->stats;
    n->rate = o->rate;
    n->rate_base = o->rate_base;
    n->active = o->active;
    n->inactive = o->inactive;
    n->persistent = o->persistent;
    /* A server full at its -x limit stays full until it is back below its -y (or 3/4 of -x): an
     * edit elsewhere must not let it fill up to -x again. Without a limit now, it is not full. */
    n->overloaded = o->overloaded && n->u_threshold;
    if (r < next->svc[s].n_rs) {
        n->available = o->available;
        n->pending = o->pending;
    }
}

/* What leaves: its slot is retired, so its entries are answered as dropped from now on. */
static void retire_server(struct service_table *next, unsigned svc_slot, const struct real_server *o,
                          struct reconfig_result *res)
{
    slots_retire(&next->slots, svc_slot, o->slot);
    res->flows_dropped += o->active + o->inactive;
}

/* The old table's services and servers into the new one's slots, by address and port. */
static void carry_over(const struct service_table *old, struct service_table *next, bool *kept,
                       struct reconfig_result *res)
{
    for (unsigned i = 0; i < old->n; i++) {
        const struct service *o = &old->svc[i];
        int s = service_find(next, o->proto, o->vip.addr, o->vip.port);
        unsigned n_old = o->n_rs + (o->has_sorry ? 1u : 0u);
        if (s == NOT_FOUND) {
            res->services_removed++;
            res->servers_removed += o->n_rs;
            for (unsigned j = 0; j < n_old; j++)
                retire_server(next, o->slot, &o->rs[j], res);
            slots_release_service(&next->slots, o->slot);
            continue;
        }
        struct service *n = &next->svc[s];
        n->slot = o->slot;
        n->stats = o->stats;
        for (unsigned j = 0; j < n_old; j++) {
            int r = find_in(o, j, n);
            if (r == NOT_FOUND) {
                res->servers_removed += j < o->n_rs;
                retire_server(next, o->slot, &o->rs[j], res);
                continue;
            }
            kept[s * (RAWLB_MAX_RS_PER_SERVICE + 1) + (unsigned)r] = true;
            carry_server(next, &o->rs[j], (unsigned)s, (unsigned)r);
        }
    }
}

/* Services and servers that are new take free slots. False when a service has none left (its
 * spare slots all hold tombstones: entries of servers removed or dropped moments ago). */
static bool take_new_slots(const struct service_table *old, struct service_table *next, const bool *kept,
                           struct reconfig_result *res, char *err, size_t errlen)
{
    for (unsigned s = 0; s < next->n; s++) {
        struct service *n = &next->svc[s];
        bool is_new = service_find(old, n->proto, n->vip.addr, n->vip.port) == NOT_FOUND;
        if (is_new) {
            int slot = slots_take_service(&next->slots);
            if (slot < 0)
                goto full;
            n->slot = (uint16_t)slot;
            res->services_added++;
        }
        for (unsigned r = 0; r < n->n_rs + (n->has_sorry ? 1u : 0u); r++) {
            if (!is_new && kept[s * (RAWLB_MAX_RS_PER_SERVICE + 1) + r])
                continue;
            int slot = slots_take_server(&next->slots, n->slot, s, r);
            if (slot < 0)
                goto full;
            n->rs[r].slot = (uint16_t)slot;
            res->servers_added += r < n->n_rs;
        }
    }
    return true;
full:
    snprintf(err, errlen, "no free slot for a new service or real server: connections of ones removed or dropped "
                          "moments ago still use them; try again in %d s", CONN_TIMEOUT_RESET);
    return false;
}

bool reconfig_apply(struct service_table *table, const struct rawlb_config *next, struct reconfig_result *res,
                    char *err, size_t errlen)
{
    struct service_table *fresh = malloc(sizeof *fresh);
    bool *kept = calloc(RAWLB_MAX_SERVICES * (RAWLB_MAX_RS_PER_SERVICE + 1), sizeof *kept);
    bool ok = false;
    memset(res, 0, sizeof *res);
    if (!fresh || !kept) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!service_table_init(fresh, next, err, errlen))
        goto out;
    fresh->slots = table->slots; /* the entries' names outlive the table */
    carry_over(table, fresh, kept, res);
    if (!take_new_slots(table, fresh, kept, res, err, errlen)) {
        service_table_free(fresh);
        goto out;
    }
    for (unsigned s = 0; s < fresh->n; s++)
        service_refresh(&fresh->svc[s]);
    service_table_free(table);
    *table = *fresh;
    ok = true;
out:
    free(fresh);
    free(kept);
    return ok;
}
