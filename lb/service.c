/* service: the table of virtual services built from the config, lookups for the fast path, and
 * the weight, availability and resolution changes that schedulers must hear about. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler.h"
#include "service.h"

static uint64_t server_key(uint8_t proto, uint32_t addr, uint16_t port)
{
    return (uint64_t)proto << 48 | (uint64_t)addr << 16 | port;
}

static int by_key(const void *a, const void *b)
{
    const struct server_ref *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    /* Within one key, by service and then server: the first of a service's own is its lowest
     * index, as service_find_rs answers. */
    return x->svc != y->svc ? x->svc - y->svc : x->rs - y->rs;
}

/* The table's servers (service_table's index): every endpoint once, in key order. */
static void index_servers(struct service_table *t)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->n; i++) {
        const struct service *svc = &t->svc[i];
        unsigned count = svc->n_rs + (svc->has_sorry ? 1 : 0);
        for (unsigned j = 0; j < count; j++)
            t->servers[n++] = (struct server_ref){ .key = server_key(svc->proto, svc->rs[j].ep.addr, svc->rs[j].ep.port),
                                                   .svc = (uint8_t)i, .rs = (uint8_t)j };
    }
    qsort(t->servers, n, sizeof t->servers[0], by_key);
    unsigned kept = 0;
    for (unsigned i = 0; i < n; i++) {
        struct server_ref *last = kept ? &t->servers[kept - 1] : NULL;
        if (last && last->key == t->servers[i].key)
            last->shared |= last->svc != t->servers[i].svc;
        else
            t->servers[kept++] = t->servers[i];
    }
    t->n_servers = kept;
}

bool service_table_init(struct service_table *t, const struct rawlb_config *cfg, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    slots_init(&t->slots); /* a fresh table's slots are its indexes */
    for (unsigned i = 0; i < cfg->n_services && i < RAWLB_MAX_SERVICES; i++) {
        const struct service_config *sc = &cfg->services[i];
        struct service *svc = &t->svc[i];
        char ep[ENDPOINT_STRLEN];

        svc->proto = sc->proto;
        svc->vip = sc->vip;
        svc->persist_timeout = sc->persist_timeout;
        svc->persist_mask = sc->persist_mask;
        svc->one_packet = sc->one_packet;
        svc->slot = (uint16_t)slots_take_service(&t->slots);
        svc->n_rs = sc->n_rs < RAWLB_MAX_RS_PER_SERVICE ? sc->n_rs : RAWLB_MAX_RS_PER_SERVICE;
        for (unsigned j = 0; j < svc->n_rs; j++) {
            svc->rs[j].u_threshold = sc->rs[j].u_threshold;
            svc->rs[j].l_threshold = sc->rs[j].l_threshold;
            svc->has_threshold |= sc->rs[j].u_threshold != 0;
            svc->rs[j].ep = sc->rs[j].ep;
            svc->rs[j].weight = svc->rs[j].config_weight = sc->rs[j].weight;
            svc->rs[j].available = svc->rs[j].resolved = true;
            svc->rs[j].slot = (uint16_t)slots_take_server(&t->slots, svc->slot, i, j);
        }
        if (sc->check.has_sorry) {
            struct real_server *sorry = &svc->rs[service_sorry_index(svc)];
            sorry->ep = sc->check.sorry;
            sorry->weight = sorry->config_weight = 1;
            sorry->available = sorry->resolved = true;
            sorry->slot = (uint16_t)slots_take_server(&t->slots, svc->slot, i, service_sorry_index(svc));
            svc->has_sorry = true;
        }
        svc->sched = sched_find(sc->scheduler);
        svc->sched_flags = sc->sched_flags;
        if (!svc->sched) {
            snprintf(err, errlen, "service %s: unknown scheduler '%s' (known: %s)",
                     endpoint_str(sc->vip.addr, sc->vip.port, ep), sc->scheduler, sched_names());
            goto fail;
        }
        if (svc->sched->init && !svc->sched->init(svc)) {
            snprintf(err, errlen, "service %s: scheduler %s: out of memory",
                     endpoint_str(sc->vip.addr, sc->vip.port, ep), svc->sched->name);
            svc->sched = NULL;
            goto fail;
        }
        t->n = i + 1;
    }
    index_servers(t);
    return true;

fail:
    service_table_free(t);
    return false;
}

void service_table_free(struct service_table *t)
{
    for (unsigned i = 0; i < t->n; i++) {
        struct service *svc = &t->svc[i];
        if (svc->sched && svc->sched->done) svc->sched->done(svc);
        svc->sched = NULL;
        svc->sched_data = NULL;
    }
    t->n = 0;
}

int service_find(const struct service_table *t, uint8_t proto, uint32_t vip, uint16_t vport)
{
    for (unsigned i = 0; i < t->n; i++) {
        const struct service *svc = &t->svc[i];
        if (svc->proto == proto && svc->vip.addr == vip && svc->vip.port == vport) return (int)i;
    }
    return -1;
}

int service_find_rs(const struct service *svc, const struct endpoint *ep)
{
    unsigned n = svc->n_rs + (svc->has_sorry ? 1 : 0);
    for (unsigned i = 0; i < n; i++)
        if (svc->rs[i].ep.addr == ep->addr && svc->rs[i].ep.port == ep->port)
            return (int)i;
    return -1;
}

int service_find_by_server(const struct service_table *t, uint8_t proto, uint32_t addr, uint16_t port, unsigned *rs)
{
    uint64_t key = server_key(proto, addr, port);
    unsigned lo = 0, hi = t->n_servers;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (t->servers[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t->n_servers || t->servers[lo].key != key || t->servers[lo].shared)
        return -1;
    *rs = t->servers[lo].rs;
    return t->servers[lo].svc;
}

bool service_is_vip(const struct service_table *t, uint32_t addr)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->svc[i].vip.addr == addr) return true;
    return false;
}

static void service_changed(struct service *svc)
{
    if (svc->sched && svc->sched->update) svc->sched->update(svc);
}

void service_set_weight(struct service *svc, unsigned rs_index, int weight)
{
    if (rs_index >= svc->n_rs || svc->rs[rs_index].weight == weight) return;
    svc->rs[rs_index].weight = weight;
    service_changed(svc);
}

void service_table_resolve(struct service_table *t, uint32_t addr, bool (*known)(void *arg, uint32_t addr),
                           void *arg)
{
    for (unsigned i = 0; i < t->n; i++) {
        struct service *svc = &t->svc[i];
        bool changed = false;
        for (unsigned j = 0; j < svc->n_rs; j++) {
            if (addr && svc->rs[j].ep.addr != addr) continue;
            bool resolved = known(arg, svc->rs[j].ep.addr);
            changed = changed || svc->rs[j].resolved != resolved;
            svc->rs[j].resolved = resolved;
        }
        if (changed) service_changed(svc);
    }
}

void service_refresh(struct service *svc)
{
    bool any = false;
    for (unsigned i = 0; i < svc->n_rs && !any; i++)
        any = svc->rs[i].available;
    svc->sorry_active = svc->has_sorry && !any;
    service_changed(svc);
}

void service_set_available(struct service *svc, unsigned rs_index, bool available)
{
    if (rs_index >= svc->n_rs || svc->rs[rs_index].available == available) return;
    svc->rs[rs_index].available = available;
    service_refresh(svc);
}

void service_set_pending(struct service *svc, unsigned rs_index, bool pending)
{
    if (rs_index >= svc->n_rs || svc->rs[rs_index].pending == pending) return;
    svc->rs[rs_index].pending = pending;
    service_changed(svc);
}

bool service_drop_flows(struct service_table *t, unsigned svc, unsigned rs, uint32_t *flows)
{
    struct service *s = &t->svc[svc];
    struct real_server *r = &s->rs[rs];
    int fresh = slots_take_server(&t->slots, s->slot, svc, rs);
    if (fresh < 0)
        return false;
    slots_retire(&t->slots, s->slot, r->slot);
    r->slot = (uint16_t)fresh;
    *flows = r->active + r->inactive;
    r->active = r->inactive = r->persistent = 0; /* those entries count nowhere now */
    return true;
}

static uint64_t per_second(uint64_t now, uint64_t then, uint64_t elapsed_ms)
{
    return now > then ? (now - then) * 1000u / elapsed_ms : 0;
}

void service_update_rates(struct service_table *t, uint64_t elapsed_ms)
{
    if (!elapsed_ms)
        return;
    for (unsigned i = 0; i < t->n; i++) {
        struct service *svc = &t->svc[i];
        for (unsigned j = 0; j <= svc->n_rs && j < RAWLB_MAX_RS_PER_SERVICE + 1; j++) {
            struct real_server *rs = &svc->rs[j];
            rs->rate = (struct rs_stats){
                .conns = per_second(rs->stats.conns, rs->rate_base.conns, elapsed_ms),
                .in_pkts = per_second(rs->stats.in_pkts, rs->rate_base.in_pkts, elapsed_ms),
                .out_pkts = per_second(rs->stats.out_pkts, rs->rate_base.out_pkts, elapsed_ms),
                .in_bytes = per_second(rs->stats.in_bytes, rs->rate_base.in_bytes, elapsed_ms),
                .out_bytes = per_second(rs->stats.out_bytes, rs->rate_base.out_bytes, elapsed_ms),
            };
            rs->rate_base = rs->stats;
        }
    }
}

void service_zero_stats(struct service_table *t)
{
    for (unsigned i = 0; i < t->n; i++) {
        struct service *svc = &t->svc[i];
        memset(&svc->stats, 0, sizeof svc->stats);
        for (unsigned j = 0; j < RAWLB_MAX_RS_PER_SERVICE + 1; j++) {
            memset(&svc->rs[j].stats, 0, sizeof svc->rs[j].stats);
            memset(&svc->rs[j].rate, 0, sizeof svc->rs[j].rate);
            memset(&svc->rs[j].rate_base, 0, sizeof svc->rs[j].rate_base);
        }
    }
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* IPVS's overload rule (ip_vs_conn.c), decided from the counts every worker moves. */
#define OVERLOAD_LEAVE_NUM 3 /* without -y a server leaves overload below 3/4 of its -x */
#define OVERLOAD_LEAVE_DEN 4

bool service_rs_overloaded(const struct real_server *rs)
{
    if (!rs->u_threshold)
        return false;
    uint64_t total = (uint64_t)__atomic_load_n(&rs->active, __ATOMIC_RELAXED) +
                     __atomic_load_n(&rs->inactive, __ATOMIC_RELAXED);
    if (total >= rs->u_threshold)
        return true;
    bool below = rs->l_threshold ? total < rs->l_threshold
                                 : total * OVERLOAD_LEAVE_DEN < (uint64_t)rs->u_threshold * OVERLOAD_LEAVE_NUM;
    return rs->overloaded && !below;
}

/* Every server's overload brought up to date, the scheduler told when one changed (under the
 * service's lock: no other worker picks meanwhile, and the control path runs only while the
 * workers are paused). True when a server in the schedule is overloaded. */
static bool service_update_overload(struct service *svc)
{
    bool any = false, changed = false;
    for (unsigned i = 0; i < svc->n_rs; i++) {
        struct real_server *rs = &svc->rs[i];
        bool overloaded = service_rs_overloaded(rs);
        changed |= overloaded != rs->overloaded;
        rs->overloaded = overloaded;
        any |= overloaded && rs_in_schedule(rs);
    }
    if (changed)
        service_changed(svc);
    return any;
}

int service_schedule(struct service *svc, uint32_t caddr, uint16_t cport)
{
    while (__atomic_test_and_set(&svc->sched_busy, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&svc->sched_busy, __ATOMIC_RELAXED))
            cpu_relax();
    bool limited = svc->has_threshold && service_update_overload(svc);
    int rs = svc->sched->schedule(svc, caddr, cport);
    __atomic_clear(&svc->sched_busy, __ATOMIC_RELEASE);
    return rs < 0 && limited ? SERVICE_SCHED_LIMIT : rs;
}
