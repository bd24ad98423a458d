/* metrics: see metrics.h. The rendering (pure, unit-tested) comes first, then the HTTP side. */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "clock.h"
#include "ha.h" /* metrics_ha_fill only: rendering reads the plain metrics_ha_view */
#include "log.h"
#include "statusjson.h"
#include "statuspage.h"
#include "textout.h"

/* ---- rendering ---- */

size_t metrics_escape_label(const char *s, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *s; s++) {
        const char *rep = NULL;
        char one[2] = { *s, '\0' };
        switch (*s) {
        case '\\': rep = "\\\\"; break;
        case '"': rep = "\\\""; break;
        case '\n': rep = "\\n"; break;
        default: rep = one; break;
        }
        for (; *rep; rep++, n++)
            if (outlen && n < outlen - 1)
                out[n] = *rep;
    }
    if (outlen)
        out[n < outlen ? n : outlen - 1] = '\0';
    return n;
}

static void family(struct textout *o, const char *name, const char *type, const char *help)
{
    textout_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *proto_label(uint8_t proto)
{
    return proto == IPPROTO_TCP ? "tcp" : "udp";
}

/* The real servers a service exports: its own, and its sorry server (whether in use or not, so
 * its counters are continuous). */
static unsigned rs_count(const struct service *svc)
{
    unsigned n = svc->n_rs < RAWLB_MAX_RS_PER_SERVICE ? svc->n_rs : RAWLB_MAX_RS_PER_SERVICE;
    return n + (svc->has_sorry ? 1 : 0);
}

/* Healthy: its health check says so (up, or up with weight 0: quiesced; the sorry server
 * counts as up), or, where nothing checks it, the schedule has it. */
static bool rs_up(const struct metrics_view *v, unsigned si, unsigned ri)
{
    const struct service *svc = &v->services->svc[si];
    struct ctl_rs_health h;
    if (v->health && v->health(v->health_arg, si, ri, &h) && h.state)
        return strcmp(h.state, "up") == 0 || strcmp(h.state, "quiesced") == 0 || strcmp(h.state, "sorry") == 0;
    if (svc->has_sorry && ri == service_sorry_index(svc))
        return true;
    return svc->rs[ri].available;
}

enum rs_field {
    F_CONNS,
    F_IN_PKTS,
    F_OUT_PKTS,
    F_IN_BYTES,
    F_OUT_BYTES,
    F_ACTIVE,
    F_INACTIVE,
    F_WEIGHT,
    F_UP,
    F_OVERLOADED,
    F_COUNT
};

static const struct field_desc {
    const char *suffix, *type, *what;
} fields[F_COUNT] = {
    [F_CONNS] = { "connections_total", "counter", "Connections scheduled" },
    [F_IN_PKTS] = { "in_packets_total", "counter", "Packets forwarded from clients" },
    [F_OUT_PKTS] = { "out_packets_total", "counter", "Packets forwarded back to clients" },
    [F_IN_BYTES] = { "in_bytes_total", "counter", "IP bytes forwarded from clients" },
    [F_OUT_BYTES] = { "out_bytes_total", "counter", "IP bytes forwarded back to clients" },
    [F_ACTIVE] = { "active_connections", "gauge", "Connections in ESTABLISHED (ActiveConn)" },
    [F_INACTIVE] = { "inactive_connections", "gauge", "Connections in any other state, UDP included (InActConn)" },
    [F_WEIGHT] = { "weight", "gauge", "Weight in effect (0 = quiesced)" },
    [F_UP] = { "up", "gauge", "1 while healthy (health check up, or in the schedule when not checked)" },
    [F_OVERLOADED] = { "overloaded", "gauge", "1 while at its connection limit (-x), until back below -y" },
};

static uint64_t rs_value(const struct metrics_view *v, unsigned si, unsigned ri, enum rs_field f)
{
    const struct real_server *rs = &v->services->svc[si].rs[ri];
    switch (f) {
    case F_CONNS: return rs->stats.conns;
    case F_IN_PKTS: return rs->stats.in_pkts;
    case F_OUT_PKTS: return rs->stats.out_pkts;
    case F_IN_BYTES: return rs->stats.in_bytes;
    case F_OUT_BYTES: return rs->stats.out_bytes;
    case F_ACTIVE: return rs->active;
    case F_INACTIVE: return rs->inactive;
    case F_WEIGHT: return rs->weight > 0 ? (uint64_t)rs->weight : 0;
    case F_UP: return rs_up(v, si, ri) ? 1 : 0;
    case F_OVERLOADED: return service_rs_overloaded(rs) ? 1 : 0;
    case F_COUNT: break;
    }
    return 0;
}

static unsigned n_services(const struct metrics_view *v)
{
    return v->services ? (v->services->n < RAWLB_MAX_SERVICES ? v->services->n : RAWLB_MAX_SERVICES) : 0;
}

static void render_rs_families(struct textout *o, const struct metrics_view *v)
{
    char name[64], help[160], vip[ENDPOINT_STRLEN], rs[ENDPOINT_STRLEN];
    for (unsigned f = 0; f < F_COUNT; f++) {
        snprintf(name, sizeof name, "rawlb_rs_%s", fields[f].suffix);
        snprintf(help, sizeof help, "%s, per real server.", fields[f].what);
        family(o, name, fields[f].type, help);
        for (unsigned si = 0; si < n_services(v); si++) {
            const struct service *svc = &v->services->svc[si];
            endpoint_str(svc->vip.addr, svc->vip.port, vip);
            for (unsigned ri = 0; ri < rs_count(svc); ri++) {
                endpoint_str(svc->rs[ri].ep.addr, svc->rs[ri].ep.port, rs);
                textout_printf(o, "%s{proto=\"%s\",vip=\"%s\",rs=\"%s\"} %llu\n", name, proto_label(svc->proto), vip,
                               rs, (unsigned long long)rs_value(v, si, ri, f));
            }
        }
    }
}

/* Per service: the sums over its real servers (the sorry server included), the count of
 * healthy real servers (the sorry server not included) and whether the sorry server is in use. */
static void render_service_families(struct textout *o, const struct metrics_view *v)
{
    char name[64], help[160], vip[ENDPOINT_STRLEN];
    for (unsigned f = 0; f <= F_INACTIVE; f++) {
        snprintf(name, sizeof name, "rawlb_service_%s", fields[f].suffix);
        snprintf(help, sizeof help, "%s, per virtual service (sum over its real servers).", fields[f].what);
        family(o, name, fields[f].type, help);
        for (unsigned si = 0; si < n_services(v); si++) {
            const struct service *svc = &v->services->svc[si];
            uint64_t sum = 0;
            for (unsigned ri = 0; ri < rs_count(svc); ri++)
                sum += rs_value(v, si, ri, f);
            textout_printf(o, "%s{proto=\"%s\",vip=\"%s\"} %llu\n", name, proto_label(svc->proto),
                           endpoint_str(svc->vip.addr, svc->vip.port, vip), (unsigned long long)sum);
        }
    }
    family(o, "rawlb_service_servers_up", "gauge", "Real servers that are healthy (rawlb_rs_up), per virtual service.");
    for (unsigned si = 0; si < n_services(v); si++) {
        const struct service *svc = &v->services->svc[si];
        unsigned up = 0;
        for (unsigned ri = 0; ri < svc->n_rs && ri < RAWLB_MAX_RS_PER_SERVICE; ri++)
            up += rs_up(v, si, ri) ? 1u : 0u;
        textout_printf(o, "rawlb_service_servers_up{proto=\"%s\",vip=\"%s\"} %u\n", proto_label(svc->proto),
                       endpoint_str(svc->vip.addr, svc->vip.port, vip), up);
    }
    family(o, "rawlb_service_sorry_active", "gauge",
           "1 while the sorry server takes the service's new connections (every real server down).");
    for (unsigned si = 0; si < n_services(v); si++) {
        const struct service *svc = &v->services->svc[si];
        textout_printf(o, "rawlb_service_sorry_active{proto=\"%s\",vip=\"%s\"} %d\n", proto_label(svc->proto),
                       endpoint_str(svc->vip.addr, svc->vip.port, vip), svc->has_sorry && svc->sorry_active ? 1 : 0);
    }
}

static void render_interfaces(struct textout *o, const struct metrics_view *v)
{
    char ext[4 * 16 + 1], in[4 * 16 + 1];
    metrics_escape_label(v->ext_if ? v->ext_if : "ext", ext, sizeof ext);
    metrics_escape_label(v->int_if ? v->int_if : "int", in, sizeof in);
    const struct fastpath_stats *s = v->fp;
    family(o, "rawlb_frames_total", "counter", "Frames received (rx) and sent (tx) by the fast path, per interface.");
    textout_printf(o, "rawlb_frames_total{interface=\"%s\",direction=\"rx\"} %llu\n", ext,
                   (unsigned long long)s->rx_ext);
    textout_printf(o, "rawlb_frames_total{interface=\"%s\",direction=\"tx\"} %llu\n", ext,
                   (unsigned long long)s->tx_ext);
    textout_printf(o, "rawlb_frames_total{interface=\"%s\",direction=\"rx\"} %llu\n", in,
                   (unsigned long long)s->rx_int);
    textout_printf(o, "rawlb_frames_total{interface=\"%s\",direction=\"tx\"} %llu\n", in,
                   (unsigned long long)s->tx_int);
    family(o, "rawlb_receive_buffer_drops_total", "counter",
           "Frames the kernel dropped because rawlb's receive buffer was full, per interface.");
    textout_printf(o, "rawlb_receive_buffer_drops_total{interface=\"%s\"} %llu\n", ext,
                   (unsigned long long)v->rx_kernel_drops_ext);
    textout_printf(o, "rawlb_receive_buffer_drops_total{interface=\"%s\"} %llu\n", in,
                   (unsigned long long)v->rx_kernel_drops_int);
    family(o, "rawlb_overload_drops_total", "counter",
           "Frames dropped in overload for having waited too long in the receive buffer, of no established flow, per interface.");
    textout_printf(o, "rawlb_overload_drops_total{interface=\"%s\"} %llu\n", ext, (unsigned long long)v->rx_too_old_ext);
    textout_printf(o, "rawlb_overload_drops_total{interface=\"%s\"} %llu\n", in, (unsigned long long)v->rx_too_old_int);
    family(o, "rawlb_vlan_drops_total", "counter",
           "Frames that came with an 802.1Q tag (another VLAN's), never balanced nor answered, per interface.");
    textout_printf(o, "rawlb_vlan_drops_total{interface=\"%s\"} %llu\n", ext, (unsigned long long)v->rx_vlan_ext);
    textout_printf(o, "rawlb_vlan_drops_total{interface=\"%s\"} %llu\n", in, (unsigned long long)v->rx_vlan_int);
    family(o, "rawlb_send_failures_total", "counter", "Frames the kernel refused to send, per interface.");
    textout_printf(o, "rawlb_send_failures_total{interface=\"%s\"} %llu\n", ext, (unsigned long long)v->tx_failed_ext);
    textout_printf(o, "rawlb_send_failures_total{interface=\"%s\"} %llu\n", in, (unsigned long long)v->tx_failed_int);
}

static void render_fastpath(struct textout *o, const struct metrics_view *v)
{
    const struct fastpath_stats *s = v->fp;
    family(o, "rawlb_drops_total", "counter", "Frames not forwarded, by reason (lb/fastpath.h).");
    for (unsigned i = 0; i < FP_DROP_COUNT; i++)
        textout_printf(o, "rawlb_drops_total{reason=\"%s\"} %llu\n", fastpath_drop_name((enum fp_drop)i),
                       (unsigned long long)s->drops[i]);
    family(o, "rawlb_replies_total", "counter",
           "Frames the director answered itself, by kind (arp, echo, rst, frag_needed, port_unreach).");
    textout_printf(o, "rawlb_replies_total{kind=\"arp\"} %llu\n", (unsigned long long)s->arp_replies);
    textout_printf(o, "rawlb_replies_total{kind=\"echo\"} %llu\n", (unsigned long long)s->echo_replies);
    textout_printf(o, "rawlb_replies_total{kind=\"rst\"} %llu\n", (unsigned long long)s->resets_sent);
    textout_printf(o, "rawlb_replies_total{kind=\"frag_needed\"} %llu\n", (unsigned long long)s->icmp_too_big_sent);
    textout_printf(o, "rawlb_replies_total{kind=\"port_unreach\"} %llu\n", (unsigned long long)s->icmp_unreach_sent);
    family(o, "rawlb_mid_flow_taken_total", "counter",
           "mh services: TCP segments of a flow without an entry here forwarded to mh's pick (ECMP moved it here).");
    textout_printf(o, "rawlb_mid_flow_taken_total %llu\n", (unsigned long long)s->mid_flow_taken);
    family(o, "rawlb_stateless_replies_total", "counter",
           "mh services: real servers' segments of a flow without an entry here sent on to the client by the "
           "kernel's route (ECMP brought the reply to another director than the request).");
    textout_printf(o, "rawlb_stateless_replies_total %llu\n", (unsigned long long)s->stateless_replies);
    family(o, "rawlb_icmp_translated_total", "counter", "ICMP errors about balanced flows translated and forwarded.");
    textout_printf(o, "rawlb_icmp_translated_total %llu\n", (unsigned long long)s->icmp_translated);
}

/* ---- HA ---- */

const char *metrics_ha_role_name(enum ha_role role)
{
    return role == HA_ROLE_PRIMARY ? "primary" : role == HA_ROLE_BACKUP ? "backup" : "?"; /* as in status */
}

static void one_value(struct textout *o, const char *name, const char *type, const char *help, uint64_t value)
{
    family(o, name, type, help);
    textout_printf(o, "%s %llu\n", name, (unsigned long long)value);
}

/* name{label="value"} n for each pair of a fixed list. */
static void by_label(struct textout *o, const char *name, const char *label, unsigned n, const char *const *values,
                     const uint64_t *counts)
{
    char esc[64];
    for (unsigned i = 0; i < n; i++) {
        metrics_escape_label(values[i], esc, sizeof esc);
        textout_printf(o, "%s{%s=\"%s\"} %llu\n", name, label, esc, (unsigned long long)counts[i]);
    }
}

static void render_ha_links(struct textout *o, const struct metrics_ha_view *h)
{
    char ifs[HA_MAX_LINKS][4 * IF_NAMESIZE + 1], peers[HA_MAX_LINKS][ADDR_STRLEN];
    unsigned n = h->n_links < HA_MAX_LINKS ? h->n_links : HA_MAX_LINKS;
    for (unsigned i = 0; i < n; i++) {
        char name[IF_NAMESIZE + 1];
        snprintf(name, sizeof name, "%.*s", IF_NAMESIZE, h->links[i].ifname);
        metrics_escape_label(name, ifs[i], sizeof ifs[i]);
        addr_str(h->links[i].peer, peers[i]);
    }
    family(o, "rawlb_ha_link_up", "gauge",
           "1 while the peer is heard on this link (within --ha-deadtime), per --ha-if/--ha-peer link.");
    for (unsigned i = 0; i < n; i++)
        textout_printf(o, "rawlb_ha_link_up{interface=\"%s\",peer=\"%s\"} %d\n", ifs[i], peers[i],
                       h->links[i].up ? 1 : 0);
    family(o, "rawlb_ha_link_datagrams_total", "counter",
           "Authentic HA datagrams (heartbeats and sync) taken (rx) and sent (tx), per link.");
    for (unsigned i = 0; i < n; i++) {
        textout_printf(o, "rawlb_ha_link_datagrams_total{interface=\"%s\",peer=\"%s\",direction=\"rx\"} %llu\n",
                       ifs[i], peers[i], (unsigned long long)h->links[i].rx);
        textout_printf(o, "rawlb_ha_link_datagrams_total{interface=\"%s\",peer=\"%s\",direction=\"tx\"} %llu\n",
                       ifs[i], peers[i], (unsigned long long)h->links[i].tx);
    }
    family(o, "rawlb_ha_link_send_failures_total", "counter", "HA datagrams the kernel refused to send, per link.");
    for (unsigned i = 0; i < n; i++)
        textout_printf(o, "rawlb_ha_link_send_failures_total{interface=\"%s\",peer=\"%s\"} %llu\n", ifs[i],
                       peers[i], (unsigned long long)h->links[i].tx_failed);
}

static void render_ha_sync(struct textout *o, const struct metrics_ha_view *h)
{
    const struct hasync_stats *s = &h->sync;
    family(o, "rawlb_ha_sync_datagrams_total", "counter",
           "Connection sync datagrams sent, sent again (not acknowledged in time) and received in order.");
    by_label(o, "rawlb_ha_sync_datagrams_total", "kind", 3, (const char *const[]){ "sent", "resent", "received" },
             (const uint64_t[]){ s->datagrams_sent, s->datagrams_resent, s->datagrams_received });
    family(o, "rawlb_ha_sync_records_total", "counter",
           "Connection sync records sent, and received: applied, naming a service or real server not here "
           "(unknown), or older than the entry here (stale).");
    by_label(o, "rawlb_ha_sync_records_total", "kind", 4,
             (const char *const[]){ "sent", "applied", "unknown", "stale" },
             (const uint64_t[]){ s->records_sent, s->records_applied, s->records_unknown, s->records_stale });
    family(o, "rawlb_ha_sync_tables_total", "counter", "Whole connection tables sent to and received from the peer.");
    by_label(o, "rawlb_ha_sync_tables_total", "kind", 2, (const char *const[]){ "sent", "received" },
             (const uint64_t[]){ s->bulks_sent, s->bulks_received });
    family(o, "rawlb_ha_sync_configs_total", "counter",
           "Whole configurations (services and timeouts) sent to and received from the peer.");
    by_label(o, "rawlb_ha_sync_configs_total", "kind", 2, (const char *const[]){ "sent", "received" },
             (const uint64_t[]){ s->configs_sent, s->configs_received });
    one_value(o, "rawlb_ha_sync_queued", "gauge", "Connection entries waiting to be sent to the peer.", h->sync_queued);
    one_value(o, "rawlb_ha_sync_in_flight", "gauge", "Connection sync datagrams sent and not yet acknowledged.",
              h->sync_in_flight);
    one_value(o, "rawlb_ha_sync_overflows_total", "counter",
              "Times the sync queue or window overflowed (a whole-table transfer followed).", s->overflows);
}

static void render_ha(struct textout *o, const struct metrics_ha_view *h)
{
    char role[16];
    metrics_escape_label(metrics_ha_role_name(h->role), role, sizeof role);
    family(o, "rawlb_ha_info", "gauge",
           "1: this director runs HA (--ha-role), with its role and node id (absent without --ha-role).");
    textout_printf(o, "rawlb_ha_info{role=\"%s\",node=\"%016llx\"} 1\n", role, (unsigned long long)h->node);
    family(o, "rawlb_ha_state", "gauge", "1 for the director's HA state (master forwards), 0 for the others.");
    for (unsigned s = 0; s < HA_STATE_COUNT; s++) {
        char name[16];
        metrics_escape_label(ha_state_name(s), name, sizeof name);
        textout_printf(o, "rawlb_ha_state{state=\"%s\"} %d\n", name, s == (unsigned)h->state ? 1 : 0);
    }
    one_value(o, "rawlb_ha_state_changes_total", "counter", "HA state transitions since start.", h->state_changes);
    one_value(o, "rawlb_ha_epoch", "gauge", "This director's epoch (one more at every start, kept in --state-dir).",
              h->epoch);
    one_value(o, "rawlb_ha_peer_up", "gauge", "1 while the peer is heard (on any link, within --ha-deadtime).",
              h->peer_alive ? 1 : 0);
    family(o, "rawlb_ha_peer_last_heartbeat_seconds", "gauge",
           "Seconds since the peer's last authentic heartbeat (no sample before the first).");
    if (h->peer_heard)
        textout_printf(o, "rawlb_ha_peer_last_heartbeat_seconds %llu.%03u\n",
                       (unsigned long long)(h->peer_age_ms / 1000u), (unsigned)(h->peer_age_ms % 1000u));
    one_value(o, "rawlb_ha_peer_epoch", "gauge", "The peer's epoch in its last heartbeat (0 before the first).",
              h->peer_epoch);
    render_ha_links(o, h);
    one_value(o, "rawlb_ha_config_compared", "gauge",
              "1 once the peer's configuration digests were heard (rawlb_ha_config_match means something).",
              h->peer_heard ? 1 : 0);
    one_value(o, "rawlb_ha_config_match", "gauge",
              "1 while the peer's configuration digests match this director's (0 before they were compared).",
              h->peer_heard && !h->config_differs ? 1 : 0);
    one_value(o, "rawlb_ha_heartbeats_sent_total", "counter", "Heartbeats sent (one per link per --ha-interval).",
              h->heartbeats_sent);
    one_value(o, "rawlb_ha_heartbeats_received_total", "counter", "Authentic, fresh heartbeats taken from the peer.",
              h->heartbeats_received);
    family(o, "rawlb_ha_rejected_total", "counter",
           "HA datagrams not taken, by reason (bad_mac: wrong key or altered; stale: replayed).");
    by_label(o, "rawlb_ha_rejected_total", "reason", 6,
             (const char *const[]){ ha_verdict_name(HA_BAD_LENGTH), ha_verdict_name(HA_BAD_MAGIC),
                                    ha_verdict_name(HA_BAD_MAC), ha_verdict_name(HA_BAD_PAYLOAD),
                                    ha_verdict_name(HA_STALE), "unknown_sender" },
             (const uint64_t[]){ h->rejected[HA_BAD_LENGTH], h->rejected[HA_BAD_MAGIC], h->rejected[HA_BAD_MAC],
                                 h->rejected[HA_BAD_PAYLOAD], h->rejected[HA_STALE], h->unknown_sender });
    render_ha_sync(o, h);
}

static bool same_transition(const struct ha_transition *t, const struct metrics_ha_track *k)
{
    return t->at_ms == k->last_at_ms && t->from == k->last_from && t->to == k->last_to && t->reason == k->last_reason;
}

const struct metrics_ha_view *metrics_ha_fill(struct metrics_ha_view *out, struct metrics_ha_track *track,
                                              const struct ha *ha, uint64_t now_ms)
{
    const struct ha_fsm *f = &ha->fsm;
    memset(out, 0, sizeof *out);
    out->role = ha->hc->role;
    out->state = f->state;
    out->node = ha->node;
    out->epoch = ha->epoch;
    /* The transitions after the newest one counted last time (all kept ones when it is gone). */
    unsigned n = ha->n_history < HA_HISTORY ? ha->n_history : HA_HISTORY, fresh = n;
    for (unsigned i = n; track->seen && i-- > 0;)
        if (same_transition(&ha->history[i], track)) {
            fresh = n - 1 - i;
            break;
        }
    track->changes += fresh;
    if (n) {
        const struct ha_transition *t = &ha->history[n - 1];
        *track = (struct metrics_ha_track){ .changes = track->changes, .seen = true, .last_at_ms = t->at_ms,
                                            .last_from = t->from, .last_to = t->to, .last_reason = t->reason };
    }
    out->state_changes = track->changes;
    out->peer_heard = f->heard;
    out->peer_alive = ha_fsm_peer_alive(f, now_ms);
    out->peer_age_ms = f->heard && now_ms > f->heard_ms ? now_ms - f->heard_ms : 0;
    out->peer_epoch = f->peer_epoch;
    out->config_differs = ha->mismatch[0] != '\0';
    out->n_links = ha->n_links < HA_MAX_LINKS ? ha->n_links : HA_MAX_LINKS;
    for (unsigned i = 0; i < out->n_links; i++) {
        const struct ha_link *l = &ha->links[i];
        struct metrics_ha_link *m = &out->links[i];
        memcpy(m->ifname, l->ifname, sizeof m->ifname);
        m->ifname[sizeof m->ifname - 1] = '\0';
        m->peer = l->peer;
        m->up = l->heard_ms && now_ms - l->heard_ms < ha->hc->deadtime_ms; /* as status says */
        m->rx = l->rx;
        m->tx = l->tx;
        m->tx_failed = l->tx_failed;
    }
    out->heartbeats_sent = ha->stats.heartbeats_sent;
    out->heartbeats_received = ha->stats.heartbeats_received;
    memcpy(out->rejected, ha->stats.rejected, sizeof out->rejected);
    out->unknown_sender = ha->stats.unknown_sender;
    out->sync = ha->sync.stats;
    out->sync_queued = hasync_queued(&ha->sync);
    out->sync_in_flight = hasync_in_flight(&ha->sync);
    return out;
}

static void render_workers(struct textout *o, const struct metrics_view *v)
{
    if (!v->n_workers)
        return;
    family(o, "rawlb_worker_frames_total", "counter",
           "Frames each fast-path worker received on both interfaces (--workers: how flows are spread).");
    for (unsigned i = 0; i < v->n_workers; i++)
        textout_printf(o, "rawlb_worker_frames_total{worker=\"%u\"} %llu\n", i,
                       (unsigned long long)v->workers[i].frames);
    family(o, "rawlb_worker_conn_table_entries", "gauge", "Entries in each worker's connection table.");
    for (unsigned i = 0; i < v->n_workers; i++)
        textout_printf(o, "rawlb_worker_conn_table_entries{worker=\"%u\"} %u\n", i, v->workers[i].conn_entries);
}

/* Per VIP, as rawlb-ctl status shows it: eligible, and what an announcer last reported. */
static void render_vips(struct textout *o, const struct vipstate *s, unsigned announcers)
{
    char a[ADDR_STRLEN];
    family(o, "rawlb_vip_eligible", "gauge",
           "1 while the VIP may be announced over BGP: this director forwards and a service of it has a real server "
           "up.");
    for (unsigned i = 0; i < s->n; i++)
        textout_printf(o, "rawlb_vip_eligible{vip=\"%s\"} %d\n", addr_str(s->vips[i].addr, a), s->vips[i].eligible);
    family(o, "rawlb_vip_announced", "gauge", "1 while an announcer (rawlb-announce) reports the VIP announced.");
    for (unsigned i = 0; i < s->n; i++)
        textout_printf(o, "rawlb_vip_announced{vip=\"%s\"} %d\n", addr_str(s->vips[i].addr, a),
                       s->vips[i].report == VIPSTATE_ANNOUNCED);
    one_value(o, "rawlb_announcers", "gauge", "BGP announcers (rawlb-announce) watching on the control socket.",
              announcers);
}

size_t metrics_render(const struct metrics_view *v, char *buf, size_t len)
{
    struct textout o;
    textout_init(&o, buf, len);
    render_rs_families(&o, v);
    render_service_families(&o, v);
    if (v->fp) {
        render_interfaces(&o, v);
        render_fastpath(&o, v);
    }
    family(&o, "rawlb_conn_table_entries", "gauge", "Entries in the connection table (persistence templates included).");
    textout_printf(&o, "rawlb_conn_table_entries %u\n", v->conn_entries);
    family(&o, "rawlb_conn_table_capacity", "gauge", "Size of the connection table (--max-conns).");
    textout_printf(&o, "rawlb_conn_table_capacity %u\n", v->conn_capacity);
    family(&o, "rawlb_conn_created_total", "counter", "Connection table entries created.");
    textout_printf(&o, "rawlb_conn_created_total %llu\n", (unsigned long long)v->conns_created);
    family(&o, "rawlb_conn_expired_total", "counter", "Connection table entries expired.");
    textout_printf(&o, "rawlb_conn_expired_total %llu\n", (unsigned long long)v->conns_expired);
    family(&o, "rawlb_conn_evicted_total", "counter",
           "Connection table entries evicted to make room for new flows, by class.");
    for (unsigned k = 0; k < CONN_C_EVICTABLE; k++)
        textout_printf(&o, "rawlb_conn_evicted_total{class=\"%s\"} %llu\n", conn_class_name(k),
                       (unsigned long long)v->conns_evicted[k]);
    render_workers(&o, v);
    if (v->vips)
        render_vips(&o, v->vips, v->announcers);
    if (v->ha)
        render_ha(&o, v->ha);
    family(&o, "rawlb_build_info", "gauge", "rawlb's version.");
    textout_printf(&o, "rawlb_build_info{version=\"%s\"} 1\n", RAWLB_VERSION);
    textout_finish(&o);
    return o.need; /* the full length, even when cut */
}

/* ---- snapshots ---- */

struct metrics_snapshot *metrics_snapshot_render(const struct metrics_view *v, size_t *cap_hint)
{
    size_t cap = *cap_hint;
    for (;;) {
        struct metrics_snapshot *s = malloc(sizeof *s + cap);
        if (!s)
            return NULL;
        size_t need = metrics_render(v, s->text, cap);
        size_t room = need < cap ? cap - need - 1 : 0; /* after /metrics' NUL */
        size_t status_need = statusjson_render(v, room ? s->text + need + 1 : NULL, room);
        if (status_need < room) {
            atomic_init(&s->refs, 1u);
            s->len = need;
            s->status_len = status_need;
            return s;
        }
        free(s);
        need += 1 + status_need;
        /* Room to grow (servers added with rawlb-ctl) before rendering twice again. */
        cap = *cap_hint = need + need / 4 + 4096;
    }
}

struct metrics_snapshot *metrics_snapshot_ref(struct metrics_snapshot *s)
{
    atomic_fetch_add_explicit(&s->refs, 1u, memory_order_relaxed);
    return s;
}

void metrics_snapshot_unref(struct metrics_snapshot *s)
{
    /* acq_rel: whoever frees it sees every other holder done with it */
    if (s && atomic_fetch_sub_explicit(&s->refs, 1u, memory_order_acq_rel) == 1u)
        free(s);
}

/* ---- the HTTP side (the metrics thread) ---- */

/* Every connection at once: beyond it libmicrohttpd stops accepting until one closes. */
#define METRICS_MAX_CONNS 64u
/* From one client address: a browser opens up to 6 per host, plus a Prometheus and a curl; so one
 * address cannot take the slots every other scraper needs (70 idle connections from one host
 * made a real scrape time out). Further ones are closed at once. */
#define METRICS_MAX_CONNS_PER_ADDR 8u
/* Every connection is closed this long after it was accepted, busy or idle, however it reads:
 * Prometheus abandons a scrape after 10 s (its default scrape_timeout), so a longer one only holds
 * a slot and a snapshot. It also bounds the snapshots alive at once to one per second of it (a
 * slow scraper keeps the one it started with). libmicrohttpd's own timeout counts from the last
 * byte moved, which a client reading one byte at a time never lets run out. */
#define METRICS_DEADLINE_MS 10000u
/* Connections the kernel queues until libmicrohttpd accepts them: as many as may be open. */
#define METRICS_LISTEN_BACKLOG ((int)METRICS_MAX_CONNS)

/* One open connection (libmicrohttpd's socket context): in m's list, oldest first, until cut. */
struct metrics_conn {
    struct metrics_conn *prev, *next;
    uint64_t deadline_ms; /* monotonic */
    int fd;               /* libmicrohttpd's socket, only shut down here, never closed */
    bool cut;             /* past its deadline and out of the list */
};

static const char not_found[] = "not found: rawlb serves " METRICS_PATH ", " STATUSJSON_PATH " and its status page at /\n";
static const char not_allowed[] = "method not allowed: GET or HEAD\n";
static const char not_yet[] = "no snapshot yet: try again in a second\n";

static enum MHD_Result reply_static(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A file of the status page: compiled in, so it is sent from where it is. */
static enum MHD_Result reply_page_file(struct MHD_Connection *conn, const struct statuspage_file *f)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(*f->len, (void *)f->body, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
    statuspage_add_headers(r);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* libmicrohttpd drops the response (sent, or the connection gone): the scrape's reference goes. */
static void response_done(void *snapshot)
{
    metrics_snapshot_unref(snapshot);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    struct metrics *m = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed);
    const struct statuspage_file *f = statuspage_find(url);
    if (f)
        return reply_page_file(conn, f);
    bool status = strcmp(url, STATUSJSON_PATH) == 0;
    if (!status && strcmp(url, METRICS_PATH) != 0)
        return reply_static(conn, MHD_HTTP_NOT_FOUND, not_found);
    mtx_lock(&m->lock);
    struct metrics_snapshot *s = m->cur ? metrics_snapshot_ref(m->cur) : NULL;
    mtx_unlock(&m->lock);
    if (!s)
        return reply_static(conn, MHD_HTTP_SERVICE_UNAVAILABLE, not_yet);
    /* The body is the shared snapshot itself, no copy: it lives until its last response is done. */
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
        status ? s->status_len : s->len, (void *)(status ? metrics_snapshot_status(s) : s->text), response_done, s);
    if (!r) {
        metrics_snapshot_unref(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, status ? STATUSJSON_CONTENT_TYPE : METRICS_CONTENT_TYPE);
    if (status)
        statuspage_add_headers(r);
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static void conn_unlink(struct metrics *m, struct metrics_conn *c)
{
    *(c->prev ? &c->prev->next : &m->conns_head) = c->next;
    *(c->next ? &c->next->prev : &m->conns_tail) = c->prev;
}

/* Every connection gets its deadline when accepted; all have the same lifetime, so appending
 * keeps the list in deadline order. */
static void conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    struct metrics *m = cls;
    struct metrics_conn *c = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (c && !c->cut)
            conn_unlink(m, c);
        free(c);
        return;
    }
    int fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD)->connect_fd;
    c = malloc(sizeof *c);
    if (!c) { /* no connection without a deadline: this one ends at once */
        shutdown(fd, SHUT_RDWR);
        return;
    }
    *c = (struct metrics_conn){ .prev = m->conns_tail, .deadline_ms = clock_monotonic_ms() + METRICS_DEADLINE_MS,
                                .fd = fd };
    *(m->conns_tail ? &m->conns_tail->next : &m->conns_head) = c;
    m->conns_tail = c;
    *socket_context = c;
}

/* Shuts down the sockets past their deadline: libmicrohttpd's next run sees them hung up and
 * closes them (and drops their responses). Returns the milliseconds until the next deadline, or
 * -1 when no connection is open. */
static int cut_expired(struct metrics *m, uint64_t now_ms)
{
    struct metrics_conn *c;
    while ((c = m->conns_head) && c->deadline_ms <= now_ms) {
        shutdown(c->fd, SHUT_RDWR);
        conn_unlink(m, c);
        c->cut = true;
    }
    return c ? (int)(c->deadline_ms - now_ms) : -1;
}

/* libmicrohttpd's messages, at most one a second: a client can cause one per connection (each
 * one refused over a limit, for a start), and must not be able to flood the log. */
#define METRICS_LOG_INTERVAL_MS 1000u

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct metrics *m = cls;
    uint64_t now = clock_monotonic_ms();
    if (now - m->log_ms < METRICS_LOG_INTERVAL_MS) {
        m->log_suppressed++;
        return;
    }
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    if (m->log_suppressed)
        log_warn("--metrics: %s (and %llu more messages not shown since the last one)", msg,
                 (unsigned long long)m->log_suppressed);
    else
        log_warn("--metrics: %s", msg);
    m->log_ms = now;
    m->log_suppressed = 0;
}

/* The metrics thread: libmicrohttpd's event loop, run here rather than in its own thread so that
 * between two runs the deadlines are enforced (libmicrohttpd has no absolute one). Connections
 * are only touched in this thread, so the list needs no lock. */
static int metrics_thread(void *arg)
{
    struct metrics *m = arg;
    struct pollfd p[2] = { { .fd = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd, .events = POLLIN },
                           { .fd = m->wake_fd, .events = POLLIN } };
    for (;;) {
        MHD_run(m->mhd);
        int wait_ms = cut_expired(m, clock_monotonic_ms());
        MHD_UNSIGNED_LONG_LONG mhd_ms;
        if (MHD_get_timeout(m->mhd, &mhd_ms) == MHD_YES && (wait_ms < 0 || mhd_ms < (MHD_UNSIGNED_LONG_LONG)wait_ms))
            wait_ms = mhd_ms < METRICS_DEADLINE_MS ? (int)mhd_ms : (int)METRICS_DEADLINE_MS; /* an int */
        if (poll(p, 2, wait_ms) < 0 && errno != EINTR) {
            log_err("--metrics: poll: %s; the metrics endpoint stops", strerror(errno));
            return 1;
        }
        if (p[1].revents) /* metrics_stop */
            return 0;
    }
}

static bool is_loopback(uint32_t addr)
{
    return (ntohl(addr) >> 24) == 127u;
}

bool metrics_open(struct metrics *m, const struct endpoint *ep, char *err, size_t errlen)
{
    char where[ENDPOINT_STRLEN];
    endpoint_str(ep->addr, ep->port, where);
    memset(m, 0, sizeof *m);
    m->wake_fd = -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "--metrics %s: socket: %s", where, strerror(errno));
        return false;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = ep->addr, .sin_port = ep->port };
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, METRICS_LISTEN_BACKLOG) != 0) {
        snprintf(err, errlen, "--metrics %s: cannot listen there: %s", where, strerror(errno));
        close(fd);
        return false;
    }
    m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->wake_fd < 0 || mtx_init(&m->lock, mtx_plain) != thrd_success) {
        snprintf(err, errlen, "--metrics %s: cannot make an eventfd or a mutex", where);
        if (m->wake_fd >= 0)
            close(m->wake_fd);
        close(fd);
        return false;
    }
    m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, m, MHD_OPTION_EXTERNAL_LOGGER,
                              mhd_log, m, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
                              METRICS_MAX_CONNS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, METRICS_MAX_CONNS_PER_ADDR,
                              MHD_OPTION_NOTIFY_CONNECTION, conn_notify, m, MHD_OPTION_END);
    if (!m->mhd) {
        snprintf(err, errlen, "--metrics %s: the HTTP server (libmicrohttpd) did not start", where);
        if (fcntl(fd, F_GETFD) >= 0)
            close(fd);
        close(m->wake_fd);
        mtx_destroy(&m->lock);
        return false;
    }
    /* Allowed (a Prometheus elsewhere must reach it), but it shows every service and real server
     * address to whoever can connect: say so, once. */
    if (!is_loopback(ep->addr))
        log_warn("--metrics %s: reachable beyond loopback%s: anyone who can connect reads every service and real "
                 "server address (limit it with a firewall, or use 127.0.0.1)",
                 where, ep->addr == htonl(INADDR_ANY) ? " (on every address)" : "");
    return true;
}

bool metrics_start(struct metrics *m, char *err, size_t errlen)
{
    /* The metrics thread takes no signal: SIGTERM and SIGINT are the event loop's. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m->running = thrd_create(&m->thread, metrics_thread, m) == thrd_success;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!m->running)
        snprintf(err, errlen, "--metrics: cannot start its thread");
    return m->running;
}

void metrics_publish(struct metrics *m, const struct metrics_view *v)
{
    if (!m->mhd)
        return;
    struct metrics_snapshot *s = metrics_snapshot_render(v, &m->render_cap);
    if (!s) {
        log_warn("--metrics: no memory for a %zu-byte snapshot; serving the previous one", m->render_cap);
        return;
    }
    mtx_lock(&m->lock);
    struct metrics_snapshot *old = m->cur;
    m->cur = s;
    mtx_unlock(&m->lock);
    metrics_snapshot_unref(old); /* freed here unless a scrape still sends it */
}

void metrics_stop(struct metrics *m)
{
    if (!m->mhd)
        return;
    uint64_t one = 1;
    if (m->running && write(m->wake_fd, &one, sizeof one) != sizeof one)
        log_warn("--metrics: cannot wake its thread: %s", strerror(errno));
    if (m->running)
        thrd_join(m->thread, NULL);
    m->running = false;
    MHD_stop_daemon(m->mhd); /* closes every connection (dropping their snapshots) and the listening socket */
    m->mhd = NULL;
    close(m->wake_fd);
    m->wake_fd = -1;
    mtx_destroy(&m->lock);
    metrics_snapshot_unref(m->cur);
    m->cur = NULL;
}
