/* connrec: see connrec.h. */
#include "connrec.h"

#include <netinet/in.h>
#include <string.h>

void connrec_of(const struct conn_table *t, const struct conn *c, uint8_t kind, struct ha_record *r)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->proto = c->proto;
    r->state = c->state;
    r->flags = (uint8_t)(((c->flags & CONN_F_TEMPLATE) ? HA_REC_F_TEMPLATE : 0) |
                         ((c->flags & CONN_F_ONE_PACKET) ? HA_REC_F_ONE_PACKET : 0) |
                         (c->template != CONN_NONE ? HA_REC_F_PERSIST : 0));
    r->caddr = c->caddr;
    r->vaddr = c->vaddr;
    r->daddr = c->daddr;
    r->cport = ntohs(c->cport);
    r->vport = ntohs(c->vport);
    r->dport = ntohs(c->dport);
    memcpy(r->client_mac, c->client_mac, sizeof r->client_mac);
    r->lifetime = kind == HA_REC_UPSERT ? conn_lifetime(t, c) : 0;
}

static bool state_fits(const struct ha_record *r)
{
    if (r->flags & HA_REC_F_TEMPLATE)
        return r->state == CONN_S_TEMPLATE;
    if (r->proto == IPPROTO_TCP)
        return r->state < TCP_S_COUNT;
    return r->proto == IPPROTO_UDP && (r->state == CONN_S_UDP || r->state == CONN_S_UDP_NEW);
}

bool connrec_entry(const struct service_table *services, connrec_table_fn table_of, void *arg,
                   const struct ha_record *r, struct conn *e, struct conn_table **t)
{
    int svc = service_find(services, r->proto, r->vaddr, htons(r->vport));
    if (svc < 0 || !state_fits(r))
        return false;
    const struct service *sv = &services->svc[svc];
    struct endpoint ep = { .addr = r->daddr, .port = htons(r->dport) };
    int rs = service_find_rs(sv, &ep);
    if (rs < 0)
        return false;
    memset(e, 0, sizeof *e);
    e->caddr = r->caddr;
    e->vaddr = r->vaddr;
    e->daddr = r->daddr;
    bool is_template = r->flags & HA_REC_F_TEMPLATE;
    e->cport = is_template ? 0 : htons(r->cport); /* a template's key has no client port: lookups use 0 */
    e->vport = htons(r->vport);
    e->dport = htons(r->dport);
    e->proto = r->proto;
    e->state = r->state;
    /* A template is never one-packet (it would be in neither hash: never found, never deleted). */
    e->flags = (uint16_t)(is_template ? CONN_F_TEMPLATE : (r->flags & HA_REC_F_ONE_PACKET) ? CONN_F_ONE_PACKET : 0);
    e->svc = sv->slot;
    e->rs = sv->rs[rs].slot;
    e->template = CONN_NONE;
    e->template_timeout = sv->persist_timeout;
    memcpy(e->client_mac, r->client_mac, sizeof e->client_mac);
    *t = table_of(arg, e);
    /* Only a connection is controlled by a template (one bound to a template, or to itself, would
     * keep it from ever expiring). */
    if ((r->flags & HA_REC_F_PERSIST) && !is_template && sv->persist_timeout) {
        struct conn *tpl = conn_lookup_template(*t, r->proto, r->caddr & sv->persist_mask, r->vaddr, e->vport);
        if (tpl && tpl->svc == sv->slot)
            e->template = conn_index(*t, tpl);
    }
    return true;
}

