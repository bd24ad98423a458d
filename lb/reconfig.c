/* reconfig: see reconfig.h. */
#include "reconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOT_FOUND (-1)

/* Where each old (service, real server) went in the new table: indexes, or NOT_FOUND. */
struct index_map {
    int svc[RAWLB_MAX_SERVICES];
    int rs[RAWLB_MAX_SERVICES][RAWLB_MAX_RS_PER_SERVICE + 1];
};

/* A real server (not the sorry server) of svc by address and port. */
static int find_rs(const struct service *svc, const struct endpoint *ep)
{
    int i = service_find_rs(svc, ep);
    return i >= 0 && (unsigned)i < svc->n_rs ? i : NOT_FOUND;
}

/* Counts and what health decided follow a server by its address; its weight is the new
 * config's. The sorry server maps onto the new sorry slot when both have one. */
static void carry_over(const struct service_table *old, struct service_table *next, struct index_map *map,
                       struct reconfig_result *res)
{
    for (unsigned i = 0; i < old->n; i++) {
        const struct service *o = &old->svc[i];
        int s = service_find(next, o->proto, o->vip.addr, o->vip.port);
        map->svc[i] = s;
        for (unsigned j = 0; j <= RAWLB_MAX_RS_PER_SERVICE; j++)
            map->rs[i][j] = NOT_FOUND;
        if (s == NOT_FOUND) {
            res->services_removed++;
            res->servers_removed += o->n_rs;
            continue;
        }
        struct service *n = &next->svc[s];
        n->stats = o->stats;
        for (unsigned j = 0; j < o->n_rs; j++) {
            int r = find_rs(n, &o->rs[j].ep);
            map->rs[i][j] = r;
            if (r == NOT_FOUND) {
                res->servers_removed++;
                continue;
            }
            n->rs[r].stats = o->rs[j].stats;
            n->rs[r].rate = o->rs[j].rate;
            n->rs[r].rate_base = o->rs[j].rate_base;
            n->rs[r].available = o->rs[j].available;
        }
        if (o->has_sorry && n->has_sorry && o->rs[o->n_rs].ep.addr == n->rs[n->n_rs].ep.addr &&
            o->rs[o->n_rs].ep.port == n->rs[n->n_rs].ep.port) {
            map->rs[i][o->n_rs] = (int)n->n_rs;
            n->rs[n->n_rs].stats = o->rs[o->n_rs].stats;
            n->rs[n->n_rs].rate = o->rs[o->n_rs].rate;
            n->rs[n->n_rs].rate_base = o->rs[o->n_rs].rate_base;
        }
    }
    for (unsigned s = 0; s < next->n; s++) {
        const struct service *n = &next->svc[s];
        if (service_find(old, n->proto, n->vip.addr, n->vip.port) == NOT_FOUND) {
            res->services_added++;
            res->servers_added += n->n_rs;
            continue;
        }
        const struct service *o = &old->svc[service_find(old, n->proto, n->vip.addr, n->vip.port)];
        for (unsigned j = 0; j < n->n_rs; j++)
            if (find_rs(o, &n->rs[j].ep) == NOT_FOUND)
                res->servers_added++;
    }
}

struct remap {
    const struct index_map *map;
    uint32_t dropped;
};

/* Entries follow their server to its new index; those of a removed one are reset and detached
 * (their indexes point at nothing any more, so nothing counts them). */
static void remap_entry(void *arg, struct conn_table *t, struct conn *c)
{
    struct remap *r = arg;
    if (c->flags & CONN_F_DETACHED)
        return;
    int s = r->map->svc[c->svc];
    int rs = s == NOT_FOUND ? NOT_FOUND : r->map->rs[c->svc][c->rs];
    if (rs != NOT_FOUND) {
        c->svc = (uint16_t)s;
        c->rs = (uint16_t)rs;
        return;
    }
    if (c->flags & CONN_F_TEMPLATE) {
        if (!c->controlled) {
            conn_delete(t, c);
            return;
        }
    } else if (!(c->flags & CONN_F_RESET)) {
        conn_mark_reset(t, c);
        r->dropped++;
    }
    c->flags |= CONN_F_DETACHED;
}

/* ActiveConn/InActConn/persistent from the entries themselves, after they moved. */
static void count_entry(void *arg, struct conn_table *t, struct conn *c)
{
    (void)t;
    struct service_table *table = arg;
    if (!(c->flags & CONN_F_DETACHED))
        (*fastpath_counter_for(&table->svc[c->svc].rs[c->rs], c->state))++;
}

bool reconfig_apply(struct service_table *table, struct fastpath *const *fps, unsigned n_fps,
                    const struct rawlb_config *next, struct reconfig_result *res, char *err, size_t errlen)
{
    struct service_table *fresh = malloc(sizeof *fresh);
    struct service_table *retired = malloc(sizeof *retired);
    struct index_map *map = malloc(sizeof *map);
    bool ok = false;
    memset(res, 0, sizeof *res);
    if (!fresh || !retired || !map) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!service_table_init(fresh, next, err, errlen))
        goto out;
    carry_over(table, fresh, map, res);
    /* Entries are re-pointed while the old table still stands: a reset's state change is
     * counted against the server it belonged to, which is then thrown away. */
    struct remap r = { .map = map };
    for (unsigned i = 0; i < n_fps; i++)
        conn_for_each(&fps[i]->conns, remap_entry, &r);
    res->flows_dropped = r.dropped;
    *retired = *table;
    *table = *fresh;
    for (unsigned i = 0; i < n_fps; i++)
        conn_for_each(&fps[i]->conns, count_entry, table);
    for (unsigned s = 0; s < table->n; s++)
        service_refresh(&table->svc[s]);
    service_table_free(retired);
    ok = true;
out:
    free(fresh);
    free(retired);
    free(map);
    return ok;
}
