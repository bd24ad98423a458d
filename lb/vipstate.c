/* vipstate: see vipstate.h. */
#include "vipstate.h"

#include <string.h>

#include "textout.h"

bool vipstate_eligible(const struct service_table *t, uint32_t vip, bool forwarding)
{
    if (!forwarding)
        return false;
    for (unsigned i = 0; i < t->n; i++) {
        const struct service *svc = &t->svc[i];
        if (svc->vip.addr != vip)
            continue;
        for (unsigned j = 0; j < svc->n_rs && j < RAWLB_MAX_RS_PER_SERVICE; j++)
            if (svc->rs[j].available && svc->rs[j].weight > 0)
                return true;
    }
    return false;
}

/* The index of addr in s, or -1. */
static int index_of(const struct vipstate *s, uint32_t addr)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->vips[i].addr == addr)
            return (int)i;
    return -1;
}

bool vipstate_update(struct vipstate *s, const struct service_table *t, bool forwarding)
{
    struct vipstate next = { 0 };
    for (unsigned i = 0; i < t->n && i < RAWLB_MAX_SERVICES; i++) {
        uint32_t addr = t->svc[i].vip.addr;
        if (index_of(&next, addr) >= 0)
            continue;
        int k = index_of(s, addr);
        const struct vipstate_vip *was = k >= 0 ? &s->vips[k] : NULL;
        next.vips[next.n++] = (struct vipstate_vip){
            .addr = addr,
            .eligible = vipstate_eligible(t, addr, forwarding),
            .report = was ? was->report : VIPSTATE_NONE,
            .reporter = was ? was->reporter : VIPSTATE_NOBODY,
        };
    }
    bool changed = next.n != s->n;
    for (unsigned i = 0; i < next.n && !changed; i++)
        changed = next.vips[i].addr != s->vips[i].addr || next.vips[i].eligible != s->vips[i].eligible;
    *s = next;
    return changed;
}

size_t vipstate_snapshot(const struct vipstate *s, char *buf, size_t len)
{
    struct textout o;
    textout_init(&o, buf, len);
    for (unsigned i = 0; i < s->n; i++)
        annproto_render_vip(&o, s->vips[i].addr, s->vips[i].eligible);
    annproto_render_end(&o);
    return o.truncated ? 0 : textout_finish(&o);
}

bool vipstate_report(struct vipstate *s, int watcher, const char *line)
{
    uint32_t addr;
    bool announced;
    if (!annproto_parse_report(line, &addr, &announced))
        return false;
    int k = index_of(s, addr);
    if (k >= 0) {
        s->vips[k].report = announced ? VIPSTATE_ANNOUNCED : VIPSTATE_WITHDRAWN;
        s->vips[k].reporter = watcher;
    }
    return true;
}

void vipstate_forget(struct vipstate *s, int watcher)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->vips[i].reporter == watcher) {
            s->vips[i].report = VIPSTATE_NONE;
            s->vips[i].reporter = VIPSTATE_NOBODY;
        }
}

/* "announced", "withdrawn" or "none", as status says it. */
static const char *report_name(enum vipstate_report r)
{
    return r == VIPSTATE_ANNOUNCED ? "announced" : r == VIPSTATE_WITHDRAWN ? "withdrawn" : "none";
}

void vipstate_render_status(const struct vipstate *s, unsigned n_watchers, bool json, struct textout *o)
{
    char a[ADDR_STRLEN];
    if (json)
        textout_printf(o, "\"announcers\":%u,\"vips\":[", n_watchers);
    else
        textout_printf(o, "announcers: %u connected\n", n_watchers);
    for (unsigned i = 0; i < s->n; i++) {
        const struct vipstate_vip *v = &s->vips[i];
        const char *eligible = v->eligible ? "up" : "down", *said = report_name(v->report);
        if (json)
            textout_printf(o, "%s{\"vip\":\"%s\",\"eligible\":\"%s\",\"announcer\":%s,\"reported\":\"%s\"}",
                           i ? "," : "", addr_str(v->addr, a), eligible, n_watchers ? "true" : "false", said);
        else
            textout_printf(o, "vip %s: eligible %s, announcer connected %s, reported %s\n", addr_str(v->addr, a),
                           eligible, n_watchers ? "yes" : "no", said);
    }
    if (json)
        textout_printf(o, "]");
}
