/* statusjson: see statusjson.h. */
#include "statusjson.h"

#include <stdio.h>

#include "textout.h"
#include "vipstate.h"

static void json_bool(struct textout *o, const char *key, bool b)
{
    textout_printf(o, "\"%s\":%s", key, b ? "true" : "false");
}

static void render_interface(struct textout *o, const char *name, uint64_t rx, uint64_t tx, uint64_t kernel_drops,
                             uint64_t too_old, uint64_t vlan, uint64_t tx_failed)
{
    textout_printf(o, "{\"name\":");
    textout_json_str(o, name ? name : "");
    textout_printf(o, ",\"rx\":%llu,\"tx\":%llu,\"receive_buffer_drops\":%llu,\"overload_drops\":%llu,"
                      "\"vlan_drops\":%llu,\"send_failures\":%llu}",
                   (unsigned long long)rx, (unsigned long long)tx, (unsigned long long)kernel_drops,
                   (unsigned long long)too_old, (unsigned long long)vlan, (unsigned long long)tx_failed);
}

static void render_fastpath(struct textout *o, const struct metrics_view *v)
{
    const struct fastpath_stats *s = v->fp;
    if (!s) {
        textout_printf(o, ",\"interfaces\":null,\"drops\":null");
        return;
    }
    textout_printf(o, ",\"interfaces\":[");
    render_interface(o, v->ext_if, s->rx_ext, s->tx_ext, v->rx_kernel_drops_ext, v->rx_too_old_ext, v->rx_vlan_ext,
                     v->tx_failed_ext);
    textout_printf(o, ",");
    render_interface(o, v->int_if, s->rx_int, s->tx_int, v->rx_kernel_drops_int, v->rx_too_old_int, v->rx_vlan_int,
                     v->tx_failed_int);
    textout_printf(o, "],\"drops\":{");
    for (unsigned i = 0; i < FP_DROP_COUNT; i++)
        textout_printf(o, "%s\"%s\":%llu", i ? "," : "", fastpath_drop_name((enum fp_drop)i),
                       (unsigned long long)s->drops[i]);
    textout_printf(o, "}");
}

static void render_ha(struct textout *o, const struct metrics_ha_view *h)
{
    if (!h) {
        textout_printf(o, ",\"ha\":null");
        return;
    }
    textout_printf(o, ",\"ha\":{\"role\":\"%s\",\"state\":\"%s\",\"node\":\"%016llx\",\"epoch\":%llu,\"peer\":{",
                   metrics_ha_role_name(h->role), ha_state_name(h->state), (unsigned long long)h->node,
                   (unsigned long long)h->epoch);
    json_bool(o, "heard", h->peer_heard);
    textout_printf(o, ",");
    json_bool(o, "alive", h->peer_alive);
    /* null until heard, as rawlb-ctl status says "not heard yet" */
    if (h->peer_heard)
        textout_printf(o, ",\"last_heartbeat_ms\":%llu,\"epoch\":%llu,\"config_match\":%s}",
                       (unsigned long long)h->peer_age_ms, (unsigned long long)h->peer_epoch,
                       h->config_differs ? "false" : "true");
    else
        textout_printf(o, ",\"last_heartbeat_ms\":null,\"epoch\":null,\"config_match\":null}");
    textout_printf(o, ",\"links\":[");
    unsigned n = h->n_links < HA_MAX_LINKS ? h->n_links : HA_MAX_LINKS;
    for (unsigned i = 0; i < n; i++) {
        char name[IF_NAMESIZE + 1], peer[ADDR_STRLEN];
        snprintf(name, sizeof name, "%.*s", IF_NAMESIZE, h->links[i].ifname);
        textout_printf(o, "%s{\"if\":", i ? "," : "");
        textout_json_str(o, name);
        textout_printf(o, ",\"peer\":\"%s\",", addr_str(h->links[i].peer, peer));
        json_bool(o, "up", h->links[i].up);
        textout_printf(o, "}");
    }
    textout_printf(o, "]}");
}

/* rawlb-ctl status --json's own rendering, so the page and the status can never disagree. */
static void render_announce(struct textout *o, const struct metrics_view *v)
{
    if (!v->vips) {
        textout_printf(o, ",\"announce\":null");
        return;
    }
    textout_printf(o, ",\"announce\":{");
    vipstate_render_status(v->vips, v->announcers, true, o);
    textout_printf(o, "}");
}

size_t statusjson_render(const struct metrics_view *v, char *buf, size_t len)
{
    struct textout o;
    textout_init(&o, buf, len);
    /* health only through v's describer: the JSON says "checked": false for the rest */
    struct ctl_list_opts opts = { .health = v->health, .health_arg = v->health_arg, .json = true };
    textout_printf(&o, "{\"list\":");
    if (v->services)
        ctlproto_render_list_json(&o, v->services, v->conn_capacity, &opts);
    else
        textout_printf(&o, "null");
    textout_printf(&o, ",\"conn_table\":{\"entries\":%u,\"capacity\":%u}", v->conn_entries, v->conn_capacity);
    render_fastpath(&o, v);
    render_announce(&o, v);
    render_ha(&o, v->ha);
    textout_printf(&o, "}\n");
    textout_finish(&o);
    return o.need;
}
