/* ctlrender: the answers to "list" and "conns" (see ctlproto.h), as text and as JSON.
 * "list" follows ipvsadm -L -n (ipvsadm.c print_title / print_service_entry) line for line,
 * --stats and --rate as ipvsadm -L -n --exact; "conns" follows ipvsadm -L -n -c (print_conn).
 * JSON is written by hand: the only strings in it are addresses, names and health results,
 * escaped by textout_json_str. */
#include "ctlproto.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctlproto_int.h"
#include "scheduler.h"
#include "textout.h"

/* ---- JSON ---- */

static void json_addr(struct textout *o, const char *key, uint32_t addr)
{
    char a[ADDR_STRLEN];
    textout_printf(o, "\"%s\":\"%s\"", key, addr_str(addr, a));
}

static void json_stats(struct textout *o, const char *key, const struct rs_stats *s, bool rate)
{
    if (rate)
        textout_printf(o, "\"%s\":{\"cps\":%llu,\"in_pps\":%llu,\"out_pps\":%llu,\"in_bps\":%llu,\"out_bps\":%llu}",
                       key, (unsigned long long)s->conns, (unsigned long long)s->in_pkts,
                       (unsigned long long)s->out_pkts, (unsigned long long)s->in_bytes,
                       (unsigned long long)s->out_bytes);
    else
        textout_printf(o, "\"%s\":{\"conns\":%llu,\"in_pkts\":%llu,\"out_pkts\":%llu,\"in_bytes\":%llu,"
                          "\"out_bytes\":%llu}",
                       key, (unsigned long long)s->conns, (unsigned long long)s->in_pkts,
                       (unsigned long long)s->out_pkts, (unsigned long long)s->in_bytes,
                       (unsigned long long)s->out_bytes);
}

/* ---- list ---- */

static void stats_add(struct rs_stats *sum, const struct rs_stats *s)
{
    sum->conns += s->conns;
    sum->in_pkts += s->in_pkts;
    sum->out_pkts += s->out_pkts;
    sum->in_bytes += s->in_bytes;
    sum->out_bytes += s->out_bytes;
}

/* A service's counters (or rates): the sum over its real servers and its sorry server. */
static struct rs_stats service_sum(const struct service *svc, bool rate)
{
    struct rs_stats sum = {0};
    unsigned n = svc->n_rs < RAWLB_MAX_RS_PER_SERVICE ? svc->n_rs : RAWLB_MAX_RS_PER_SERVICE;
    for (unsigned i = 0; i < n + (svc->has_sorry ? 1u : 0u); i++)
        stats_add(&sum, rate ? &svc->rs[i].rate : &svc->rs[i].stats);
    return sum;
}

/* ipvsadm's print_largenum with --exact: at least 9 columns, one space before a longer number. */
static void out_num(struct textout *o, uint64_t v)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    textout_printf(o, "%*s", n <= 8 ? 9 : n + 1, digits);
}

static void out_stats(struct textout *o, const struct rs_stats *s)
{
    out_num(o, s->conns);
    out_num(o, s->in_pkts);
    out_num(o, s->out_pkts);
    out_num(o, s->in_bytes);
    out_num(o, s->out_bytes);
}

static void render_health(struct textout *o, const struct service *svc, unsigned svc_idx, unsigned rs_idx,
                          const struct ctl_list_opts *opts)
{
    const struct real_server *rs = &svc->rs[rs_idx];
    struct ctl_rs_health h;
    if (!opts->health(opts->health_arg, svc_idx, rs_idx, &h)) {
        /* Not checked: what the schedule makes of it is all there is to say. */
        h = (struct ctl_rs_health){ .state = rs->weight > 0 ? "up" : "quiesced", .last = "not checked" };
        textout_printf(o, " %-12s %-7s %s", h.state, "-", h.last);
        return;
    }
    char since[16];
    snprintf(since, sizeof since, "%us", h.since_s);
    textout_printf(o, " %-12s %-7s %s", h.state, since, h.last);
}

static void render_service(struct textout *o, const struct service *svc, unsigned svc_idx,
                           const struct ctl_list_opts *opts)
{
    char ep[ENDPOINT_STRLEN], mask[ADDR_STRLEN];
    const char *proto = svc->proto == IPPROTO_TCP ? "TCP" : "UDP";
    bool numbers = opts->stats || opts->rate;

    if (numbers || opts->thresholds) {
        char name[48];
        snprintf(name, sizeof name, "%s  %s", proto, endpoint_str(svc->vip.addr, svc->vip.port, ep));
        textout_printf(o, "%-33s", name);
        if (numbers) {
            struct rs_stats sum = service_sum(svc, opts->rate);
            out_stats(o, &sum);
        }
    } else {
        textout_printf(o, "%s  %s %s", proto, endpoint_str(svc->vip.addr, svc->vip.port, ep),
                       svc->sched ? svc->sched->name : "-");
        if (svc->sched_flags) { /* as ipvsadm -L: "mh (mh-fallback,mh-port)" */
            char flags[SCHED_FLAGS_STRLEN];
            textout_printf(o, " (%s)", sched_flags_str(svc->sched_flags, flags));
        }
        if (svc->persist_timeout) {
            textout_printf(o, " persistent %u", svc->persist_timeout);
            if (svc->persist_mask != 0xffffffffu)
                textout_printf(o, " mask %s", addr_str(svc->persist_mask, mask));
        }
        if (svc->one_packet)
            textout_printf(o, " ops");
    }
    textout_printf(o, "\n");
    unsigned n = svc->n_rs < RAWLB_MAX_RS_PER_SERVICE ? svc->n_rs : RAWLB_MAX_RS_PER_SERVICE;
    if (svc->has_sorry && svc->sorry_active)
        n++; /* the sorry server, at index n_rs, while it is in use */
    for (unsigned i = 0; i < n; i++) {
        const struct real_server *rs = &svc->rs[i];
        if (numbers) {
            textout_printf(o, "  -> %-28s", endpoint_str(rs->ep.addr, rs->ep.port, ep));
            out_stats(o, opts->rate ? &rs->rate : &rs->stats);
        } else if (opts->thresholds) {
            textout_printf(o, "  -> %-28s %-10u %-10u %-10u %-10u %-10s", endpoint_str(rs->ep.addr, rs->ep.port, ep),
                           rs->u_threshold, rs->l_threshold, rs->active, rs->inactive,
                           service_rs_overloaded(rs) ? "yes" : "no");
        } else {
            textout_printf(o, "  -> %-28s %-7s %-6d %-10u %-10u", endpoint_str(rs->ep.addr, rs->ep.port, ep), "Masq",
                           rs->weight, rs->active, rs->inactive);
        }
        if (opts->health)
            render_health(o, svc, svc_idx, i, opts);
        textout_printf(o, "\n");
    }
}

static void render_list_text(struct textout *o, const struct service_table *t, uint32_t max_conns,
                             const struct ctl_list_opts *opts)
{
    static const char health_cols[] = "  State        Since   Last";
    textout_printf(o, "rawlb %s (size=%u)\n", RAWLB_VERSION, max_conns);
    if (opts->stats || opts->rate) {
        textout_printf(o, "%s\n",
                       opts->stats ? "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes"
                                   : "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS");
        if (opts->health)
            textout_printf(o, "%-77s%s\n", "  -> RemoteAddress:Port", health_cols);
        else
            textout_printf(o, "  -> RemoteAddress:Port\n");
    } else if (opts->thresholds) {
        textout_printf(o, "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn Overloaded\n");
        if (opts->health)
            textout_printf(o, "%-87s%s\n", "  -> RemoteAddress:Port", health_cols); /* 33 + 5 x 11 - 1 */
        else
            textout_printf(o, "  -> RemoteAddress:Port\n");
    } else {
        textout_printf(o, "Prot LocalAddress:Port Scheduler Flags\n");
        textout_printf(o, "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn%s\n",
                       opts->health ? health_cols : "");
    }
    for (unsigned i = 0; i < t->n && i < RAWLB_MAX_SERVICES; i++)
        render_service(o, &t->svc[i], i, opts);
}

static void render_rs_json(struct textout *o, const struct service *svc, unsigned svc_idx, unsigned i,
                           const struct ctl_list_opts *opts)
{
    const struct real_server *rs = &svc->rs[i];
    bool sorry = svc->has_sorry && i == svc->n_rs;
    textout_printf(o, "{");
    json_addr(o, "address", rs->ep.addr);
    textout_printf(o, ",\"port\":%u,\"forward\":\"Masq\",\"weight\":%d,\"config_weight\":%d,\"available\":%s,"
                  "\"active\":%u,\"inactive\":%u,\"persistent\":%u,\"u_threshold\":%u,\"l_threshold\":%u,"
                  "\"overloaded\":%s,\"sorry\":%s",
                   (unsigned)ntohs(rs->ep.port), rs->weight, rs->config_weight, rs->available ? "true" : "false",
                   rs->active, rs->inactive, rs->persistent, rs->u_threshold, rs->l_threshold,
                   service_rs_overloaded(rs) ? "true" : "false", sorry ? "true" : "false");
    if (sorry)
        textout_printf(o, ",\"in_use\":%s", svc->sorry_active ? "true" : "false");
    textout_printf(o, ",");
    json_stats(o, "stats", &rs->stats, false);
    textout_printf(o, ",");
    json_stats(o, "rate", &rs->rate, true);
    if (opts->health && (!sorry || svc->sorry_active)) {
        struct ctl_rs_health h;
        if (opts->health(opts->health_arg, svc_idx, i, &h)) {
            textout_printf(o, ",\"health\":{\"checked\":true,\"state\":");
            textout_json_str(o, h.state);
            textout_printf(o, ",\"since\":%u,\"last\":", h.since_s);
            textout_json_str(o, h.last);
            textout_printf(o, "}");
        } else {
            textout_printf(o,
                           ",\"health\":{\"checked\":false,\"state\":\"%s\",\"since\":null,\"last\":\"not checked\"}",
                           rs->weight > 0 ? "up" : "quiesced");
        }
    }
    textout_printf(o, "}");
}

void ctlproto_render_list_json(struct textout *o, const struct service_table *t, uint32_t max_conns,
                               const struct ctl_list_opts *opts)
{
    textout_printf(o, "{\"version\":\"%s\",\"size\":%u,\"services\":[", RAWLB_VERSION, max_conns);
    for (unsigned s = 0; s < t->n && s < RAWLB_MAX_SERVICES; s++) {
        const struct service *svc = &t->svc[s];
        char mask[ADDR_STRLEN];
        textout_printf(o, "%s{\"proto\":\"%s\",", s ? "," : "", svc->proto == IPPROTO_TCP ? "TCP" : "UDP");
        json_addr(o, "address", svc->vip.addr);
        textout_printf(o, ",\"port\":%u,\"scheduler\":", (unsigned)ntohs(svc->vip.port));
        textout_json_str(o, svc->sched ? svc->sched->name : "-");
        char flags[SCHED_FLAGS_STRLEN];
        textout_printf(o, ",\"sched_flags\":"); /* -b's spelling, "" for none */
        textout_json_str(o, sched_flags_str(svc->sched_flags, flags));
        textout_printf(o, ",\"persistent\":%u,\"netmask\":\"%s\",\"ops\":%s,", svc->persist_timeout,
                       addr_str(svc->persist_mask, mask), svc->one_packet ? "true" : "false");
        struct rs_stats sum = service_sum(svc, false), rate = service_sum(svc, true);
        json_stats(o, "stats", &sum, false);
        textout_printf(o, ",");
        json_stats(o, "rate", &rate, true);
        textout_printf(o, ",\"real_servers\":[");
        unsigned n = svc->n_rs < RAWLB_MAX_RS_PER_SERVICE ? svc->n_rs : RAWLB_MAX_RS_PER_SERVICE;
        for (unsigned i = 0; i < n + (svc->has_sorry ? 1u : 0u); i++) {
            textout_printf(o, "%s", i ? "," : "");
            render_rs_json(o, svc, s, i, opts);
        }
        textout_printf(o, "]}");
    }
    textout_printf(o, "]}");
}

size_t ctlproto_render_list(const struct service_table *t, uint32_t max_conns, const struct ctl_list_opts *opts,
                            char *buf, size_t len)
{
    static const struct ctl_list_opts none;
    if (len < 2) { /* no room for even a newline */
        if (len) buf[0] = '\0';
        return 0;
    }
    if (!opts)
        opts = &none;
    struct textout o;
    textout_init(&o, buf, len);
    if (opts->json) {
        ctlproto_render_list_json(&o, t, max_conns, opts);
        textout_printf(&o, "\n");
        if (o.truncated) {
            char msg[96];
            snprintf(msg, sizeof msg, "list --json: the answer is larger than %zu bytes", len);
            return ctlproto_render_error(msg, buf, len);
        }
        return o.pos;
    }
    render_list_text(&o, t, max_conns, opts);
    return ctlproto_answer_finish(&o);
}

/* ---- conns ---- */

static bool conn_matches(struct service_table *t, const struct conn *c, const struct ctl_conn_filter *f)
{
    bool template = c->flags & CONN_F_TEMPLATE;
    if (f->by_service &&
        (c->proto != f->proto || c->vaddr != f->vip.addr || (c->vport != f->vip.port && !(template && c->vport == 0))))
        return false;
    if (f->by_client) {
        uint32_t mask = 0xffffffffu;
        const struct rs_slot *slot = service_slot_of(t, c->svc, c->rs);
        if (template && slots_live(slot))
            mask = t->svc[slot->svc].persist_mask;
        if ((f->client & mask) != c->caddr)
            return false;
    }
    return true;
}

static void render_conn(struct textout *o, const struct conn *c, uint32_t now, bool json, bool first)
{
    bool template = c->flags & CONN_F_TEMPLATE;
    const char *proto = c->proto == IPPROTO_TCP ? "TCP" : c->proto == IPPROTO_UDP ? "UDP" : "IP";
    const char *state = template ? "NONE" : conn_state_name(c->state);
    uint32_t left = c->expires > now ? c->expires - now : 0;
    char src[ENDPOINT_STRLEN], vip[ENDPOINT_STRLEN], dst[ENDPOINT_STRLEN];

    endpoint_str(c->caddr, c->cport, src);
    endpoint_str(c->vaddr, c->vport, vip);
    endpoint_str(c->daddr, c->dport, dst);
    if (!json) {
        textout_printf(o, "%-3s %02u:%02u  %-11s %-18s %-18s %-18s\n", proto, left / 60, left % 60, state, src, vip,
                       dst);
        return;
    }
    textout_printf(o, "%s{\"proto\":\"%s\",\"expire\":%u,\"state\":\"%s\",\"template\":%s,\"source\":{",
                   first ? "" : ",", proto, left, state, template ? "true" : "false");
    json_addr(o, "address", c->caddr);
    textout_printf(o, ",\"port\":%u},\"virtual\":{", (unsigned)ntohs(c->cport));
    json_addr(o, "address", c->vaddr);
    textout_printf(o, ",\"port\":%u},\"destination\":{", (unsigned)ntohs(c->vport));
    json_addr(o, "address", c->daddr);
    textout_printf(o, ",\"port\":%u}}", (unsigned)ntohs(c->dport));
}

#define CONNS_HEAD_MAX 128  /* the header, in the first part */
#define CONNS_TAIL_ROOM 128 /* kept for the closing line */

void ctlproto_conns_begin(struct ctl_conns_listing *l, struct service_table *t, struct conn_table *const *tables,
                          unsigned n_tables, uint32_t now, const struct ctl_conn_filter *f, bool json, size_t limit)
{
    *l = (struct ctl_conns_listing){
        .services = t, .tables = tables, .n_tables = n_tables, .now = now, .json = json, .limit = limit,
    };
    if (f)
        l->filter = *f;
}

/* One part being rendered: where the text goes, and why it may stop early. */
struct conns_part {
    struct ctl_conns_listing *l;
    struct textout *o;
    bool to_limit;  /* the room left is the answer's limit's, not the part's */
    uint32_t stop;  /* the entry that did not fit in the part, to start the next part with */
};

static void list_entry(void *arg, struct conn_table *t, struct conn *c)
{
    struct conns_part *p = arg;
    struct ctl_conns_listing *l = p->l;
    if (p->stop != CONN_NONE || !conn_matches(l->services, c, &l->filter))
        return;
    if (l->left_out) {
        l->left_out++;
        return;
    }
    size_t mark = p->o->pos;
    render_conn(p->o, c, l->now, l->json, l->shown == 0);
    if (!p->o->truncated) {
        l->shown++;
        return;
    }
    textout_rewind(p->o, mark);
    if (p->to_limit)
        l->left_out++; /* the answer is full: from here on, matching entries are only counted */
    else
        p->stop = conn_index(t, c);
}

size_t ctlproto_conns_part(struct ctl_conns_listing *l, uint32_t budget, char *buf, size_t len, bool *done)
{
    struct textout o;
    textout_init(&o, buf, len);
    if (!l->started) {
        l->started = true;
        if (l->json)
            textout_printf(&o, "{\"conns\":[");
        else
            textout_printf(&o, "IPVS connection entries\n"
                               "pro expire state       source             virtual            destination\n");
    }
    /* Entries fill the part up to its closing line's room, or the answer up to its limit's. */
    size_t part_room = len - CONNS_TAIL_ROOM, limit_room = l->limit - CONNS_TAIL_ROOM - l->sent;
    struct conns_part p = { .l = l, .o = &o, .to_limit = limit_room <= part_room, .stop = CONN_NONE };
    o.len = p.to_limit ? limit_room : part_room;
    while (l->table < l->n_tables && budget) {
        uint32_t from = l->cursor;
        bool end = conn_walk_some(l->tables[l->table], &l->cursor, budget, list_entry, &p);
        if (p.stop != CONN_NONE) {
            l->cursor = p.stop;
            break;
        }
        budget -= l->cursor - from;
        if (!end)
            break;
        l->table++;
        l->cursor = 0;
    }
    o.len = len;
    *done = l->table == l->n_tables;
    if (*done && l->json)
        textout_printf(&o, "],\"shown\":%llu,\"left_out\":%llu}\n", (unsigned long long)l->shown,
                       (unsigned long long)l->left_out);
    else if (*done && l->left_out)
        textout_printf(&o, "... %llu more entries left out: the answer is limited to %zu bytes (filter with "
                           "--service or --client)\n",
                       (unsigned long long)l->left_out, l->limit);
    l->sent += o.pos;
    return o.pos;
}

size_t ctlproto_conns_refuse(const struct service_table *t, const struct ctl_conn_filter *f, char *buf, size_t len)
{
    if (!f || !f->by_service || service_find(t, f->proto, f->vip.addr, f->vip.port) >= 0)
        return 0;
    char msg[RAWLB_ERRLEN], ep[ENDPOINT_STRLEN];
    snprintf(msg, sizeof msg, "conns: no service %s %s (rawlb-ctl list shows them)",
             f->proto == IPPROTO_TCP ? "TCP" : "UDP", endpoint_str(f->vip.addr, f->vip.port, ep));
    return ctlproto_render_error(msg, buf, len);
}

size_t ctlproto_render_conns(struct service_table *t, struct conn_table *const *tables, unsigned n_tables,
                             uint32_t now, const struct ctl_conn_filter *f, bool json, char *buf, size_t len)
{
    struct ctl_conns_listing l;
    bool done = false;
    size_t n = 0;
    if (len < 2) {
        if (len) buf[0] = '\0';
        return 0;
    }
    if (len <= CONNS_HEAD_MAX + CONNS_TAIL_ROOM)
        return ctlproto_render_error("conns: no room for the answer", buf, len);
    if ((n = ctlproto_conns_refuse(t, f, buf, len)))
        return n;
    ctlproto_conns_begin(&l, t, tables, n_tables, now, f, json, len);
    while (!done)
        n += ctlproto_conns_part(&l, UINT32_MAX, buf + n, len - n, &done);
    return n;
}
