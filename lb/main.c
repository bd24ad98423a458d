/* main: the rawlb daemon. Flags into a config, the host checked and prepared, every socket and
 * file opened, the privileged helper forked (privhelper.h), privileges dropped to --user
 * (privdrop.h), the seccomp filter loaded (sandbox.h), then the threads started (metrics, the
 * fast path's workers: worker.h), then the main thread's libev loop: ARP on both
 * interfaces (answers and the neighbour table), a one-second tick for expiry and ARP, the
 * control socket, health checks, HA, the two interfaces' carrier, MTU and MAC followed live,
 * and SIGTERM/SIGINT for a clean stop. Every callback of this loop runs with the workers paused
 * (main_invoke), so what it changes never races a worker. No packet code here. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "arp.h"
#include "capture.h"
#include "clock.h"
#include "config.h"
#include "connsave.h"
#include "control.h"
#include "ctlproto.h"
#include "fastpath.h"
#include "ha.h"
#include "health.h"
#include "host.h"
#include "iflock.h"
#include "linkmon.h"
#include "log.h"
#include "metrics.h"
#include "neigh.h"
#include "privdrop.h"
#include "privhelper.h"
#include "reconfig.h"
#include "reload.h"
#include "sandbox.h"
#include "service.h"
#include "statedir.h"
#include "svcnotify.h"
#include "textout.h"
#include "uplink.h"
#include "vipwatch.h"
#include "worker.h"
#include "xmit.h"

#define EXIT_USAGE 2
#define TICK_SECONDS 1.0
#define FILTER_MAX 4096
#define FILTER_ARP "arp"          /* the main thread's sockets on both interfaces */
#define FILTER_NOTHING "ip and not ip" /* a worker's on ext while no service exists */
#define GARP_COUNT 2
#define MAC_STRLEN 18 /* "xx:xx:xx:xx:xx:xx" */
#define CTL_GROUP_MODE 0660 /* --ctl-group: root and that group */

enum { LINK_EXT, LINK_INT, LINK_COUNT }; /* the daemon's linkmon entries */

struct daemon {
    struct rawlb_config cfg;
    struct service_table services;
    struct neigh_table neigh;
    struct uplink uplink; /* the way to clients for stateless replies (mh behind ECMP) */
    bool uplink_ok;       /* the last route dump worked (a change is logged) */
    ev_io uplink_io;      /* the kernel's route change reports */
    struct host_setup host;
    struct worker_set workers;
    struct fastpath *fps[FLOW_MAX_WORKERS]; /* each worker's, for what walks them all */
    struct conn_table *tables[FLOW_MAX_WORKERS]; /* their connection tables */
    struct capture arp_rx_ext, arp_rx_int; /* ARP is the main thread's (worker.h) */
    struct arp_sender arp_ext, arp_int;
    struct linkmon links; /* ext and int: carrier, MTU and MAC followed live */
    struct control ctl;
    struct vipwatch vips; /* the VIPs' eligibility for BGP announcers watching on ctl */
    struct iflock iflock; /* -e and -i: one daemon per interface and network namespace */
    struct health health;
    struct metrics metrics; /* --metrics: the HTTP thread and its snapshots */
    struct ha ha;           /* --ha-role: heartbeats, role, sync */
    struct privdrop priv;   /* --user, --ctl-group, resolved */
    struct privhelper helper; /* --ha-notify, and the pid file and control socket at the end */
    int state_fd;           /* --state-dir, open (statedir.h) */
    struct ev_loop *loop;
    ev_io arp_ext_io, arp_int_io;
    ev_timer tick;
    ev_signal sigterm, sigint;
    uint64_t rates_ms; /* when the rates were last computed */
    int exit_status;
    int pid_fd;
    bool ready_told; /* READY=1 sent to the service manager (svcnotify.h) */
};

/* Seconds since start, monotonic: the connection tables' clock. */
static uint32_t daemon_now(struct daemon *d)
{
    return workers_now(&d->workers);
}

/* The first worker's fastpath: what has no flow of its own (ARP, the role gate's flag, the
 * configuration shared by all) is read from it. */
static struct fastpath *first_fp(struct daemon *d)
{
    return &d->workers.w[0].fp;
}

static void solicit_cb(void *arg, uint32_t addr)
{
    arp_solicit(arg, addr);
}

/* ARP from either interface: answered (VIPs, the NAT router address) and learnt (real servers)
 * by the fast path's code, here in the main thread, which is the neighbour table's one writer.
 * Answers leave through the first worker's send sockets, idle while the workers are paused. */
static void arp_frames(struct daemon *d, struct capture *rx, bool from_ext)
{
    struct worker *w = &d->workers.w[0];
    int n = capture_read_batch(rx);
    if (n < 0)
        log_warn("receive ARP on %s: %s", from_ext ? d->cfg.ext_if : d->cfg.int_if, strerror(errno));
    uint32_t now = daemon_now(d);
    for (int i = 0; i < n; i++) {
        size_t len = rx->msgs[i].msg_len;
        if (!len)
            continue;
        uint8_t *frame = capture_frame(rx, (unsigned)i);
        enum fp_verdict v = fastpath_handle(&w->fp, from_ext, frame, &len, now);
        if (v != FP_VERDICT_DROP)
            xmit_queue(v == FP_VERDICT_TX_EXT ? &w->tx_ext : &w->tx_int, frame, len);
    }
    xmit_flush(&w->tx_ext);
    xmit_flush(&w->tx_int);
}

static void uplink_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct daemon *d = w->data;
    uplink_take_events(&d->uplink);
}

static void arp_ext_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct daemon *d = w->data;
    arp_frames(d, &d->arp_rx_ext, true);
}

static void arp_int_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct daemon *d = w->data;
    arp_frames(d, &d->arp_rx_int, false);
}

/* Every callback of the main loop (control, timers, health, HA, ARP) runs with the workers
 * paused. */
static void main_invoke(struct ev_loop *loop)
{
    struct daemon *d = ev_userdata(loop);
    workers_pause(&d->workers);
    ev_invoke_pending(loop);
    workers_resume(&d->workers);
}

/* The workers' socket counters, and the main thread's ARP sockets' with them. */
static void daemon_totals(struct daemon *d, struct workers_totals *t)
{
    workers_totals(&d->workers, t);
    capture_update_stats(&d->arp_rx_ext);
    capture_update_stats(&d->arp_rx_int);
    capture_stats_add(&t->rx_ext, &d->arp_rx_ext.stats);
    capture_stats_add(&t->rx_int, &d->arp_rx_int.stats);
}

/* This director forwards: it runs without HA, or is HA's master. */
static bool daemon_forwards(struct daemon *d)
{
    return !d->cfg.ha.enabled || ha_is_master(&d->ha);
}

/* --metrics: a snapshot for the HTTP thread, rendered here in the loop (metrics.h). */
static void publish_metrics(struct daemon *d)
{
    if (!d->cfg.metrics)
        return;
    struct fastpath_stats fs;
    struct workers_totals t;
    struct metrics_worker_view per_worker[FLOW_MAX_WORKERS];
    workers_sum_stats(&d->workers, &fs);
    daemon_totals(d, &t);
    for (unsigned i = 0; i < d->workers.n; i++)
        per_worker[i] = (struct metrics_worker_view){
            .frames = d->fps[i]->stats.rx_ext + d->fps[i]->stats.rx_int, .conn_entries = d->fps[i]->conns.count,
        };
    struct metrics_view v = {
        .services = &d->services, .fp = &fs, .health = health_describe, .health_arg = &d->health,
        .ext_if = d->cfg.ext_if, .int_if = d->cfg.int_if, .conn_entries = t.conn_entries,
        .conn_capacity = t.conn_capacity, .conns_created = t.conns_created, .conns_expired = t.conns_expired,
        .rx_kernel_drops_ext = t.rx_ext.kernel_drops, .rx_kernel_drops_int = t.rx_int.kernel_drops,
        .rx_too_old_ext = t.rx_ext.too_old, .rx_too_old_int = t.rx_int.too_old, .rx_vlan_ext = t.rx_ext.vlan_tagged,
        .rx_vlan_int = t.rx_int.vlan_tagged, .n_workers = d->workers.n,
        .workers = per_worker, .tx_failed_ext = t.tx_ext.failed, .tx_failed_int = t.tx_int.failed,
        .vips = &d->vips.state, .announcers = control_watchers(&d->ctl),
    };
    memcpy(v.conns_evicted, t.conns_evicted, sizeof v.conns_evicted);
    struct metrics_ha_view ha;
    if (d->cfg.ha.enabled)
        v.ha = metrics_ha_fill(&ha, &d->metrics.ha_track, &d->ha, clock_monotonic_ms());
    metrics_publish(&d->metrics, &v);
}

/* Which real servers were sent frames since the last tick and which sent some back, from their
 * counters' growth over the rate interval: the neighbour table asks at once for the MAC of one
 * that keeps getting frames and says nothing (it may have changed its MAC without telling). */
static void note_server_traffic(struct daemon *d)
{
    for (unsigned i = 0; i < d->services.n; i++) {
        const struct service *svc = &d->services.svc[i];
        for (unsigned j = 0; j < svc->n_rs + (svc->has_sorry ? 1 : 0); j++) {
            const struct real_server *rs = &svc->rs[j];
            neigh_note_traffic(&d->neigh, rs->ep.addr, rs->stats.in_pkts != rs->rate_base.in_pkts,
                               rs->stats.out_pkts != rs->rate_base.out_pkts);
        }
    }
}

/* READY=1 for the service manager once the fast path forwards, and with HA once this
 * director's role is decided (a backup that has heard its master, or any other state): a
 * start that waits for it is then over. Called once the workers run: right after they
 * start, then from the tick. */
static void tell_ready(struct daemon *d)
{
    if (d->ready_told || (d->cfg.ha.enabled && !ha_role_decided(&d->ha)))
        return;
    d->ready_told = true;
    char status[RAWLB_ERRLEN];
    snprintf(status, sizeof status, "balancing %u service(s) on %s%s%s", d->services.n, d->cfg.ext_if,
             d->cfg.ha.enabled ? ", HA " : "", d->cfg.ha.enabled ? ha_state_name(d->ha.fsm.state) : "");
    svcnotify_ready(status);
}

/* The routes toward clients and their gateways' MACs, for stateless replies (uplink.h). */
static void refresh_uplink(struct daemon *d, uint32_t now)
{
    bool ok = uplink_refresh(&d->uplink);
    if (ok && !d->uplink_ok)
        log_info("route dump works again: stateless replies follow the kernel's routes");
    else if (!ok && d->uplink_ok)
        log_warn("route dump failed: stateless replies follow the routes last read");
    d->uplink_ok = ok;
    neigh_age(&d->uplink.gateways, now);
    neigh_for_each_wanted(&d->uplink.gateways, now, solicit_cb, &d->arp_ext);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct daemon *d = w->data;
    uint32_t now = daemon_now(d);
    workers_fold_stats(&d->workers);
    note_server_traffic(d); /* before the rates start their next interval */
    uint64_t ms = clock_monotonic_ms();
    service_update_rates(&d->services, ms - d->rates_ms);
    d->rates_ms = ms;
    neigh_age(&d->neigh, now); /* asks for servers that went silent; the workers expire their tables */
    neigh_for_each_wanted(&d->neigh, now, solicit_cb, &d->arp_int);
    refresh_uplink(d, now);
    vipwatch_check(&d->vips, &d->services, daemon_forwards(d)); /* health and HA changes since the last tick */
    publish_metrics(d);
    tell_ready(d);
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    struct daemon *d = w->data;
    log_info("signal %d: stopping", w->signum);
    svcnotify_stopping();
    if (d->cfg.ha.enabled)
        ha_leave(&d->ha); /* the peer takes over now, not after the dead time */
    ev_break(loop, EVBREAK_ALL);
}

static bool daemon_reconfigure(struct daemon *d, const struct rawlb_config *next, char *err, size_t errlen);

/* rawlb-ctl -c: the tables are listed in parts of CTL_CONNS_PART_SLOTS pool slots, one per turn
 * of the loop as the client reads (control.h), within the answer's usual limit. */
static size_t conns_part(void *state, char *out, size_t len, bool *done)
{
    return ctlproto_conns_part(state, CTL_CONNS_PART_SLOTS, out, len, done);
}

static size_t conns_listing(struct daemon *d, const struct ctl_request *req, char *out, size_t len,
                            struct control_stream *more)
{
    size_t refused = ctlproto_conns_refuse(&d->services, &req->filter, out, len);
    if (refused)
        return refused;
    struct ctl_conns_listing *l = malloc(sizeof *l);
    bool done;
    if (!l)
        return ctlproto_render_error("conns: out of memory", out, len);
    ctlproto_conns_begin(l, &d->services, d->tables, d->workers.n, daemon_now(d), &req->filter, req->json, len);
    size_t n = conns_part(l, out, len < CONTROL_PART_MAX ? len : CONTROL_PART_MAX, &done);
    if (done)
        free(l);
    else
        *more = (struct control_stream){ .next = conns_part, .done = free, .state = l };
    return n;
}

/* Edits and reloads are made on the HA master: a backup runs the master's configuration. True,
 * with why in err, when this director is not master. */
static bool refused_on_backup(struct daemon *d, char *err, size_t errlen)
{
    if (daemon_forwards(d))
        return false;
    char a[ADDR_STRLEN];
    snprintf(err, errlen, "this director is %s: edits and reloads are made on the master (the peer, %s), whose "
             "configuration it follows", ha_state_name(d->ha.fsm.state), addr_str(ha_peer_addr(&d->ha), a));
    return true;
}

static bool apply_services(struct daemon *d, const struct rawlb_config *given, char *err, size_t errlen);

/* rawlb-ctl reload: a whole command line; only what a running daemon can change may differ. */
static bool daemon_reload(struct daemon *d, const char *line, char *err, size_t errlen)
{
    static struct rawlb_config given; /* large: not on the stack */
    return config_parse_line(&given, line, err, errlen) == CONFIG_OK && reload_check(&d->cfg, &given, err, errlen) &&
           apply_services(d, &given, err, errlen);
}

/* rawlb-ctl status: HA's part, then the VIPs' announcement (vipwatch.h); with json, one object. */
static size_t status_answer(struct daemon *d, bool json, char *out, size_t len)
{
    struct textout o;
    textout_init(&o, out, len);
    if (json)
        textout_printf(&o, "{");
    if (d->cfg.ha.enabled)
        ha_render_status(&d->ha, json, &o);
    else
        textout_printf(&o, json ? "\"ha\":false,\"state\":\"master\"" : "HA: off (no --ha-role): this director is always master\n");
    if (json)
        textout_printf(&o, ",");
    vipwatch_render_status(&d->vips, json, &o);
    if (json)
        textout_printf(&o, "}\n");
    return textout_finish(&o);
}

static size_t control_request(void *arg, const char *request, char *out, size_t len, struct control_stream *more)
{
    struct daemon *d = arg;
    static struct ctl_request req;
    static struct rawlb_config next; /* an edit's result: large, and the loop is single-threaded */
    char err[RAWLB_ERRLEN * 2];
    workers_fold_stats(&d->workers); /* what is listed, zeroed or carried over by an edit */
    if (!ctlproto_parse_request(request, &req, err, sizeof err))
        return ctlproto_render_error(err, out, len);
    switch (req.verb) {
    case CTL_LIST:
        if (req.health || req.list.json) {
            req.list.health = health_describe;
            req.list.health_arg = &d->health;
        }
        return ctlproto_render_list(&d->services, d->cfg.max_conns, &req.list, out, len);
    case CTL_CONNS:
        return conns_listing(d, &req, out, len, more);
    case CTL_ZERO:
        service_zero_stats(&d->services);
        log_info("rawlb-ctl: counters zeroed");
        break;
    case CTL_SAVE:
        return ctlproto_render_save(&d->cfg, out, len);
    case CTL_STATUS:
        return status_answer(d, req.json, out, len);
    case CTL_WATCH:
        return vipwatch_answer(&d->vips, &d->services, daemon_forwards(d), out, len, more);
    case CTL_HA_TAKEOVER:
    case CTL_HA_RELEASE:
        if (!d->cfg.ha.enabled)
            return ctlproto_render_error("ha: this director runs without --ha-role", out, len);
        if (!(req.verb == CTL_HA_TAKEOVER ? ha_takeover : ha_release)(&d->ha, err, sizeof err))
            return ctlproto_render_error(err, out, len);
        snprintf(out, len, "%s", err);
        return strlen(out);
    case CTL_RELOAD: {
        svcnotify_reloading();
        bool reloaded = !refused_on_backup(d, err, sizeof err) && daemon_reload(d, req.reload_line, err, sizeof err);
        svcnotify_ready(reloaded ? "configuration reloaded" : "reload refused: the configuration is unchanged");
        if (!reloaded) {
            log_err("reload refused: %s", err);
            return ctlproto_render_error(err, out, len);
        }
        log_info("configuration reloaded: %s", req.reload_line);
        break;
    }
    case CTL_EDIT:
        if (refused_on_backup(d, err, sizeof err)) {
            log_info("rawlb-ctl: %s refused: %s", request, err);
            return ctlproto_render_error(err, out, len);
        }
        next = d->cfg;
        if (!edit_apply(&next, &req.edit, err, sizeof err) || !daemon_reconfigure(d, &next, err, sizeof err)) {
            log_info("rawlb-ctl: %s refused: %s", request, err);
            return ctlproto_render_error(err, out, len);
        }
        log_info("rawlb-ctl: %s", request);
        break;
    }
    vipwatch_check(&d->vips, &d->services, daemon_forwards(d)); /* an edit or reload may have changed a VIP */
    snprintf(out, len, "%s", CTL_ANSWER_OK);
    return strlen(out);
}

/* The workers' filter on ext: IPv4 to any VIP (nothing once every service is deleted). */
static void ext_filter(const struct daemon *d, char *buf, size_t len)
{
    static const char open_vips[] = "ip and (";
    const char *sep = open_vips;
    size_t off = 0;
    char a[ADDR_STRLEN];
    for (unsigned i = 0; i < d->services.n; i++) {
        uint32_t vip = d->services.svc[i].vip.addr;
        bool seen = false;
        for (unsigned j = 0; j < i; j++)
            seen = seen || d->services.svc[j].vip.addr == vip;
        if (!seen && off < len) {
            off += (size_t)snprintf(buf + off, len - off, "%sdst host %s", sep, addr_str(vip, a));
            sep = " or ";
        }
    }
    if (sep == open_vips)
        snprintf(buf, len, "%s", FILTER_NOTHING);
    else if (off < len)
        snprintf(buf + off, len - off, ")");
}

static char *mac_str(const uint8_t *m, char buf[MAC_STRLEN])
{
    snprintf(buf, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return buf;
}

/* The workers' filter on int: IPv4 sent to our MAC that is not for the kernel's own addresses
 * (health checks and anything else the box itself talks stay the kernel's). */
static void int_filter(const struct daemon *d, char *buf, size_t len)
{
    char a[ADDR_STRLEN], mac[MAC_STRLEN];
    size_t off = (size_t)snprintf(buf, len, "ip and ether dst %s", mac_str(d->host.intf.mac, mac));
    uint32_t own[2] = { d->host.arp_source, d->host.intf.addr };
    for (unsigned i = 0; i < 2 && off < len; i++)
        if (own[i] && (i == 0 || own[i] != own[0]))
            off += (size_t)snprintf(buf + off, len - off, " and not dst host %s", addr_str(own[i], a));
    if (d->host.nat_ip_is_kernel && off < len)
        snprintf(buf + off, len - off, " and not dst host %s", addr_str(d->cfg.nat_ip, a));
}

/* Tell the links who owns the VIPs and the NAT router address now. */
static void announce(struct daemon *d)
{
    for (unsigned n = 0; n < GARP_COUNT; n++)
        arp_announce_owned(&d->arp_ext, &d->arp_int, &d->services, d->cfg.nat_ip, !d->host.nat_ip_is_kernel);
}

/* rawlb's sockets are bound to the interfaces it started with: a deleted one is gone for good,
 * and one created again under its name is another interface. */
static void link_lost(struct host_if *hi, const struct linkmon_if *lif, unsigned changed)
{
    if (hi->ifindex) {
        log_err("%s %s: rawlb can no longer receive or send there; restart rawlb%s", hi->name,
                lif->ifindex ? "was replaced by a new interface of that name" : "was deleted",
                lif->ifindex ? "" : " once it exists again");
        hi->ifindex = 0;
    } else if (lif->ifindex && (changed & LINKMON_INDEX)) {
        log_err("%s exists again, but rawlb's sockets were bound to the deleted one: restart rawlb", hi->name);
    }
}

static void carrier_changed(struct daemon *d, const struct linkmon_if *lif)
{
    if (!lif->up) {
        log_warn("%s lost carrier: what rawlb sends there is lost until it returns", lif->name);
        return;
    }
    log_info("%s has carrier again", lif->name);
    if (first_fp(d)->master)
        announce(d); /* switches and neighbours may have forgotten us meanwhile */
}

static void mtu_changed(struct daemon *d, struct host_if *hi, bool ext, unsigned mtu)
{
    log_info("%s: MTU changed from %u to %u: packets forwarded there are checked against it (too big with DF: "
             "ICMP fragmentation-needed to their sender)",
             hi->name, hi->mtu, mtu);
    hi->mtu = mtu;
    for (unsigned i = 0; i < d->workers.n; i++)
        *(ext ? &d->fps[i]->cfg.ext_mtu : &d->fps[i]->cfg.int_mtu) = mtu;
}

/* Frames, ARP answers and requests leave with the new MAC; on int the capture filter matches
 * frames to it. The VIPs and a floating NAT router address are announced again, so clients and
 * real servers stop sending to the old one (the kernel's own addresses are the kernel's). */
static void mac_changed(struct daemon *d, struct host_if *hi, bool ext, const uint8_t *mac)
{
    char was[MAC_STRLEN], now[MAC_STRLEN];
    log_warn("%s: MAC changed from %s to %s: rawlb sends from the new one%s", hi->name, mac_str(hi->mac, was),
             mac_str(mac, now), first_fp(d)->master ? " and announces its addresses with it" : "");
    memcpy(hi->mac, mac, sizeof hi->mac);
    for (unsigned i = 0; i < d->workers.n; i++)
        memcpy(ext ? d->fps[i]->cfg.ext_mac : d->fps[i]->cfg.int_mac, mac, sizeof hi->mac);
    memcpy(ext ? d->arp_ext.mac : d->arp_int.mac, mac, sizeof hi->mac);
    if (!ext) {
        char filter[FILTER_MAX], err[RAWLB_ERRLEN];
        int_filter(d, filter, sizeof filter);
        if (!workers_set_filters(&d->workers, NULL, filter, err, sizeof err))
            log_err("%s: the capture filter could not follow the new MAC: %s", hi->name, err);
    }
    if (first_fp(d)->master)
        announce(d);
}

static bool mac_is_zero(const uint8_t *mac)
{
    static const uint8_t zero[LINKMON_MAC_LEN];
    return memcmp(mac, zero, sizeof zero) == 0;
}

/* A balancing interface changed (linkmon), or was just read by the monitor (changed 0: whatever
 * moved since host_prepare is taken over). What rawlb sends follows at once: the MTU the fast
 * path checks forwarded packets against, and the source MAC of everything it sends. */
static void link_changed(void *arg, const struct linkmon_if *lif, unsigned changed)
{
    struct daemon *d = arg;
    bool ext = lif == &d->links.ifs[LINK_EXT];
    struct host_if *hi = ext ? &d->host.ext : &d->host.intf;
    if (lif->ifindex != hi->ifindex) {
        link_lost(hi, lif, changed);
        return;
    }
    if (changed & LINKMON_CARRIER)
        carrier_changed(d, lif);
    /* An MTU of 0 or a zero MAC: no message carried one yet (linkmon.h). */
    if (lif->mtu && lif->mtu != hi->mtu)
        mtu_changed(d, hi, ext, lif->mtu);
    if (!mac_is_zero(lif->mac) && memcmp(lif->mac, hi->mac, sizeof hi->mac) != 0)
        mac_changed(d, hi, ext, lif->mac);
}

static bool pidfile_open(struct daemon *d, char *err, size_t errlen)
{
    d->pid_fd = -1;
    if (!d->cfg.pidfile[0])
        return true;
    /* rawlb runs as root: a symlink planted under the name (in a directory others can write to)
     * would have it truncate and write any file, so none is followed, and anything but a regular
     * file is refused (O_NONBLOCK: opening a FIFO or a device does not wait). */
    int fd = open(d->cfg.pidfile, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "--pidfile: cannot open '%s': %s%s", d->cfg.pidfile, strerror(errno),
                 errno == ELOOP ? " (a symbolic link: refused, give the file itself)" : "");
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "--pidfile: '%s' is not a regular file: refused", d->cfg.pidfile);
        close(fd);
        return false;
    }
    /* A lock, not the file's existence, says a daemon runs: a killed one leaves no obstacle. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char held[32] = "";
        ssize_t n = read(fd, held, sizeof held - 1);
        held[n > 0 ? n : 0] = '\0';
        held[strcspn(held, "\n")] = '\0';
        snprintf(err, errlen, "--pidfile: '%s' is held by a running rawlb (pid %s)", d->cfg.pidfile, held);
        close(fd);
        return false;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n) {
        snprintf(err, errlen, "--pidfile: cannot write '%s': %s", d->cfg.pidfile, strerror(errno));
        close(fd);
        return false;
    }
    d->pid_fd = fd;
    return true;
}

static void pidfile_close(struct daemon *d)
{
    if (d->pid_fd < 0)
        return;
    /* After a drop to --user this fails (root's directory): the helper removes it then. */
    unlink(d->cfg.pidfile);
    close(d->pid_fd);
}

static bool open_io(struct daemon *d, const struct fastpath_config *fc, char *err, size_t errlen)
{
    char ext[FILTER_MAX], in[FILTER_MAX];
    ext_filter(d, ext, sizeof ext);
    int_filter(d, in, sizeof in);
    struct worker_io_config io = {
        .ext_ifindex = d->host.ext.ifindex, .int_ifindex = d->host.intf.ifindex, .ext_name = d->cfg.ext_if,
        .int_name = d->cfg.int_if, .ext_filter = ext, .int_filter = in,
    };
    if (!workers_open(&d->workers, d->cfg.workers, fc, &d->services, &d->neigh, &io, clock_monotonic_ms(), err,
                      errlen))
        return false;
    if (!uplink_open(&d->uplink, d->host.ext.ifindex, err, errlen))
        return false;
    d->uplink_ok = true;
    for (unsigned i = 0; i < d->workers.n; i++) {
        d->fps[i] = &d->workers.w[i].fp;
        d->fps[i]->uplink = &d->uplink;
        d->tables[i] = &d->fps[i]->conns;
    }
    if (!capture_open(&d->arp_rx_ext, d->host.ext.ifindex, FILTER_ARP, CAPTURE_VLAN_UNCOUNTED, err, errlen) ||
        !capture_open(&d->arp_rx_int, d->host.intf.ifindex, FILTER_ARP, CAPTURE_VLAN_UNCOUNTED, err, errlen) ||
        !arp_sender_open(&d->arp_ext, d->cfg.ext_if, d->host.ext.mac, d->host.ext.addr, err, errlen) ||
        !arp_sender_open(&d->arp_int, d->cfg.int_if, d->host.intf.mac, d->host.arp_source, err, errlen))
        return false;
    const char *links[LINK_COUNT] = { [LINK_EXT] = d->cfg.ext_if, [LINK_INT] = d->cfg.int_if };
    if (!linkmon_open(&d->links, d->loop, links, LINK_COUNT, link_changed, d, err, errlen))
        return false;
    for (unsigned i = 0; i < LINK_COUNT; i++)
        link_changed(d, &d->links.ifs[i], 0);
    if (!control_open(&d->ctl, d->loop, d->cfg.ctl_path, control_request, d, err, errlen))
        return false;
    vipwatch_init(&d->vips, &d->ctl);
    return true;
}

/* What an operator wants to know when the daemon stops: where frames went, why some were not
 * forwarded. */
static void log_counters(struct daemon *d)
{
    struct fastpath_stats fs;
    struct workers_totals t;
    const struct fastpath_stats *s = &fs;
    workers_sum_stats(&d->workers, &fs);
    daemon_totals(d, &t);
    log_info("frames: ext rx %llu tx %llu, int rx %llu tx %llu; receive buffer drops: ext %llu int %llu; "
             "overload drops: ext %llu int %llu; other VLANs' frames: ext %llu int %llu; send failures: ext %llu "
             "int %llu",
             (unsigned long long)s->rx_ext, (unsigned long long)s->tx_ext, (unsigned long long)s->rx_int,
             (unsigned long long)s->tx_int, (unsigned long long)t.rx_ext.kernel_drops,
             (unsigned long long)t.rx_int.kernel_drops, (unsigned long long)t.rx_ext.too_old,
             (unsigned long long)t.rx_int.too_old, (unsigned long long)t.rx_ext.vlan_tagged,
             (unsigned long long)t.rx_int.vlan_tagged, (unsigned long long)t.tx_ext.failed,
             (unsigned long long)t.tx_int.failed);
    log_info("connections: %llu created, %llu expired, %u in the table",
             (unsigned long long)t.conns_created, (unsigned long long)t.conns_expired, t.conn_entries);
    for (unsigned k = 0; k < CONN_C_EVICTABLE; k++)
        if (t.conns_evicted[k])
            log_info("evicted (%s): %llu", conn_class_name(k), (unsigned long long)t.conns_evicted[k]);
    for (unsigned i = 0; i < FP_DROP_COUNT; i++)
        if (s->drops[i])
            log_info("dropped (%s): %llu", fastpath_drop_name(i), (unsigned long long)s->drops[i]);
}

static void close_io(struct daemon *d)
{
    iflock_release(&d->iflock);
    control_close(&d->ctl);
    linkmon_close(&d->links);
    arp_sender_close(&d->arp_int);
    arp_sender_close(&d->arp_ext);
    capture_close(&d->arp_rx_int);
    capture_close(&d->arp_rx_ext);
    uplink_close(&d->uplink);
    workers_close(&d->workers);
}

/* Health declared a real server dead, without --quiesce: its clients reconnect elsewhere. Only
 * the service table changes here; the workers reap the entries in their own slices (worker.h). */
static void drop_flows_cb(void *arg, unsigned svc, unsigned rs)
{
    struct daemon *d = arg;
    char ep[ENDPOINT_STRLEN];
    const struct endpoint *e = &d->services.svc[svc].rs[rs].ep;
    uint32_t n;
    if (!service_drop_flows(&d->services, svc, rs, &n)) {
        log_warn("rs %s: its connections are kept, as with --quiesce: no free slot to drop them (those of servers "
                 "dropped or removed moments ago still hold every spare one)",
                 endpoint_str(e->addr, e->port, ep));
        return;
    }
    if (n)
        log_info("rs %s: %u connection(s) dropped, %s", endpoint_str(e->addr, e->port, ep), n,
                 d->services.svc[svc].proto == IPPROTO_TCP ? "their clients get an RST from the VIP"
                                                          : "their next datagrams are scheduled afresh");
}

static void neigh_add_servers(struct daemon *d)
{
    char a[ADDR_STRLEN];
    for (unsigned i = 0; i < d->services.n; i++) {
        const struct service *svc = &d->services.svc[i];
        for (unsigned j = 0; j < svc->n_rs + (svc->has_sorry ? 1 : 0); j++)
            if (!neigh_add(&d->neigh, svc->rs[j].ep.addr))
                log_err("neighbour table full: %s will never be resolved (restart rawlb to clear it)",
                        addr_str(svc->rs[j].ep.addr, a));
    }
}

static bool server_known(void *arg, uint32_t addr)
{
    return neigh_known(arg, addr);
}

/* Only servers whose MAC is known are scheduled (rs_schedulable): those at addr, or all (0). */
static void resolve_servers(struct daemon *d, uint32_t addr)
{
    service_table_resolve(&d->services, addr, server_known, &d->neigh);
}

/* The neighbour table learnt, moved or forgot a real server's MAC (neigh.h): once per change,
 * from the fast path's ARP handling or the tick. */
static void neigh_changed(void *arg, uint32_t addr, const uint8_t *old_mac, const uint8_t *new_mac)
{
    struct daemon *d = arg;
    char a[ADDR_STRLEN], was[MAC_STRLEN], now[MAC_STRLEN];
    if (!old_mac)
        log_info("real server %s is at %s: new connections may go to it", addr_str(addr, a), mac_str(new_mac, now));
    else if (!new_mac)
        log_warn("real server %s did not answer ARP for %d s: its MAC %s is forgotten, no new connections go to it "
                 "until it answers",
                 addr_str(addr, a), NEIGH_STALE, mac_str(old_mac, was));
    else
        log_info("real server %s moved from %s to %s", addr_str(addr, a), mac_str(old_mac, was), mac_str(new_mac, now));
    if (!old_mac || !new_mac)
        resolve_servers(d, addr);
}

static bool server_in_use(void *arg, uint32_t addr)
{
    const struct service_table *t = arg;
    for (unsigned i = 0; i < t->n; i++)
        for (unsigned j = 0; j < t->svc[i].n_rs + (t->svc[i].has_sorry ? 1 : 0); j++)
            if (t->svc[i].rs[j].ep.addr == addr)
                return true;
    return false;
}

/* A runtime edit (rawlb-ctl): the new configuration replaces the running one between two
 * batches; flows of servers still there go on, those of removed ones are reset. */
static bool daemon_reconfigure(struct daemon *d, const struct rawlb_config *next, char *err, size_t errlen)
{
    uint32_t old_vips[RAWLB_MAX_SERVICES];
    unsigned n_old = d->services.n, n_saved;
    for (unsigned i = 0; i < n_old; i++)
        old_vips[i] = d->services.svc[i].vip.addr;
    if (!host_check_setup(next, &d->cfg, err, errlen))
        return false;
    struct health_saved *saved = health_save(&d->health, &n_saved);
    if (!saved && n_saved) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    struct reconfig_result r;
    if (!reconfig_apply(&d->services, next, &r, err, errlen)) {
        free(saved);
        return false;
    }
    d->cfg = *next;
    neigh_add_servers(d);
    neigh_retire_unused(&d->neigh, server_in_use, &d->services);
    resolve_servers(d, 0);
    /* A new server is asked for now, not at the next tick: it gets no connections before it answers. */
    neigh_for_each_wanted(&d->neigh, daemon_now(d), solicit_cb, &d->arp_int);
    char filter[FILTER_MAX], ferr[RAWLB_ERRLEN];
    ext_filter(d, filter, sizeof filter);
    if (!workers_set_filters(&d->workers, filter, NULL, ferr, sizeof ferr))
        log_err("after the edit, the capture filter could not be replaced: %s", ferr);
    if (!workers_set_map(&d->workers, &d->services, ferr, sizeof ferr))
        log_err("after the edit, the fanout program could not be replaced: %s", ferr);
    if (!health_restart(&d->health, saved, n_saved))
        log_err("after the edit, health checks could not restart: out of memory");
    free(saved);
    for (unsigned i = 0; i < d->services.n; i++) {
        bool known = false;
        for (unsigned j = 0; j < n_old && !known; j++)
            known = old_vips[j] == d->services.svc[i].vip.addr;
        if (!known && first_fp(d)->master)
            arp_announce(&d->arp_ext, d->services.svc[i].vip.addr);
    }
    if (d->cfg.ha.enabled)
        ha_config_changed(&d->ha);
    log_info("configuration changed: services +%u -%u, real servers +%u -%u, %u flow(s) of removed servers reset",
             r.services_added, r.services_removed, r.servers_added, r.servers_removed, r.flows_dropped);
    return true;
}

static uint32_t ha_now_s(void *arg)
{
    return daemon_now(arg);
}

static bool ha_health_ready(void *arg)
{
    return health_first_round_done(&((struct daemon *)arg)->health);
}

/* The table of the worker that owns an entry (a restored one). */
static struct conn_table *owner_table(void *arg, const struct conn *entry)
{
    struct daemon *d = arg;
    return &d->fps[workers_owner_of(&d->workers, entry)]->conns;
}

static void table_path(const struct daemon *d, char *path, size_t len)
{
    snprintf(path, len, "%s/" CONNSAVE_FILE, d->cfg.ha.state_dir);
}

/* A planned restart keeps established flows (connsave.h). With HA the peer's table is the one
 * that counts: it comes by the connection sync, and a saved one is never read. */
static void save_table(struct daemon *d)
{
    char path[sizeof d->cfg.ha.state_dir + sizeof CONNSAVE_FILE + 1], err[RAWLB_ERRLEN * 2];
    uint32_t n;
    bool reaped;
    if (d->cfg.ha.enabled)
        return;
    for (unsigned i = 0; i < d->workers.n; i++) /* the workers have stopped: no slices needed */
        fastpath_reap_some(d->fps[i], UINT32_MAX, &reaped);
    table_path(d, path, sizeof path);
    if (!connsave_write(d->state_fd, d->cfg.ha.state_dir, d->tables, d->workers.n, clock_wall_ms(), &n, err,
                        sizeof err))
        log_warn("connections not saved for the next start: %s", err);
    else
        log_info("%u connection(s) saved to %s for the next start", n, path);
}

static void restore_table(struct daemon *d)
{
    char path[sizeof d->cfg.ha.state_dir + sizeof CONNSAVE_FILE + 1], err[RAWLB_ERRLEN * 2];
    struct connsave_result r;
    bool found;
    table_path(d, path, sizeof path);
    if (d->cfg.ha.enabled) {
        if (unlinkat(d->state_fd, CONNSAVE_FILE, 0) == 0)
            log_info("%s not restored: with HA the peer's table is synced instead", path);
        return;
    }
    if (!connsave_restore(d->state_fd, d->cfg.ha.state_dir, &d->services, owner_table, d, clock_wall_ms(), &found,
                          &r, err, sizeof err))
        log_warn("saved connections: %s", err);
    else if (found)
        log_info("%u connection(s) restored from %s, saved %.1f s ago (%u expired meanwhile, %u of services or "
                 "servers no longer configured, %u refused)",
                 r.restored, path, (double)(clock_wall_ms() - r.saved_ms) / 1000.0, r.expired, r.unknown, r.refused);
}

/* The worker that owns a synced entry or template. */
static unsigned ha_flow_owner(void *arg, const struct conn *entry)
{
    return workers_owner_of(&((struct daemon *)arg)->workers, entry);
}

/* The master's configuration (HA): its services and timeouts replace ours; what only a restart
 * can change must already be the same. */
static bool apply_peer_config(void *arg, const char *text, char *err, size_t errlen)
{
    struct daemon *d = arg;
    static struct rawlb_config parsed; /* large: not on the stack */
    if (config_parse_line(&parsed, text, err, errlen) != CONFIG_OK)
        return false;
    if (strcmp(parsed.ext_if, d->cfg.ext_if) != 0 || strcmp(parsed.int_if, d->cfg.int_if) != 0 ||
        parsed.nat_ip != d->cfg.nat_ip || parsed.max_conns != d->cfg.max_conns) {
        snprintf(err, errlen, "-e, -i, -n or --max-conns differ from this director's (a restart with the same flags "
                              "is needed)");
        return false;
    }
    workers_fold_stats(&d->workers); /* the edit renumbers the table the counters go into */
    return apply_services(d, &parsed, err, errlen);
}

/* given's services and timeouts replace the running ones (a reload, the master's configuration). */
static bool apply_services(struct daemon *d, const struct rawlb_config *given, char *err, size_t errlen)
{
    static struct rawlb_config next; /* large: not on the stack */
    reload_take_services(&next, &d->cfg, given);
    if (!daemon_reconfigure(d, &next, err, errlen))
        return false;
    for (unsigned i = 0; i < d->workers.n; i++)
        conn_set_timeouts(&d->fps[i]->conns, &d->cfg.timeouts);
    return true;
}

static bool open_ha(struct daemon *d, char *err, size_t errlen)
{
    struct ha_env env = {
        .cfg = &d->cfg, .fps = d->fps, .n_fps = d->workers.n, .flow_owner = ha_flow_owner, .services = &d->services,
        .arp_ext = &d->arp_ext, .arp_int = &d->arp_int,
        .nat_ip_ours = !d->host.nat_ip_is_kernel, .now_s = ha_now_s, .health_ready = ha_health_ready,
        .apply_config = apply_peer_config, .arg = d, .state_dir_fd = d->state_fd, .helper = &d->helper,
    };
    return ha_open(&d->ha, d->loop, &env, err, errlen);
}

/* The helper's report on a command it ran: only --ha-notify runs any. */
static void helper_done(void *arg, const char *command, int status)
{
    (void)arg;
    ha_notify_done(command, status);
}

/* --ctl-group: the control socket becomes root:GROUP mode 0660, made before the drop. Neither
 * call follows a symbolic link put in the socket's place meanwhile. */
static bool ctl_share(struct daemon *d, char *err, size_t errlen)
{
    if (!d->priv.has_ctl_group)
        return true;
    if (lchown(d->cfg.ctl_path, (uid_t)-1, d->priv.ctl_gid) == 0 &&
        fchmodat(AT_FDCWD, d->cfg.ctl_path, CTL_GROUP_MODE, AT_SYMLINK_NOFOLLOW) == 0)
        return true;
    snprintf(err, errlen, "--ctl-group %s: cannot give '%s' to it: %s", d->cfg.ctl_group, d->cfg.ctl_path,
             strerror(errno));
    return false;
}

/* The loop's own watchers: started before the drop, since libev makes its signal pipe then. */
static void watchers_start(struct daemon *d)
{
    ev_io_init(&d->arp_ext_io, arp_ext_cb, d->arp_rx_ext.fd, EV_READ);
    ev_io_init(&d->uplink_io, uplink_cb, d->uplink.events_fd, EV_READ);
    d->uplink_io.data = d;
    ev_io_start(d->loop, &d->uplink_io);
    ev_io_init(&d->arp_int_io, arp_int_cb, d->arp_rx_int.fd, EV_READ);
    ev_timer_init(&d->tick, tick_cb, TICK_SECONDS, TICK_SECONDS);
    ev_signal_init(&d->sigterm, stop_cb, SIGTERM);
    ev_signal_init(&d->sigint, stop_cb, SIGINT);
    d->arp_ext_io.data = d->arp_int_io.data = d->tick.data = d->sigterm.data = d->sigint.data = d;
    ev_io_start(d->loop, &d->arp_ext_io);
    ev_io_start(d->loop, &d->arp_int_io);
    ev_timer_start(d->loop, &d->tick);
    ev_signal_start(d->loop, &d->sigterm);
    ev_signal_start(d->loop, &d->sigint);
}

/* The start-up order's last steps before any thread: the helper forked (it keeps the
 * privileges), the process itself dropped to --user, the seccomp filter loaded. */
static bool confine(struct daemon *d, char *err, size_t errlen)
{
    const char *files[PRIVHELPER_FILES_MAX];
    unsigned n_files = 0;
    files[n_files++] = d->cfg.ctl_path;
    if (d->cfg.pidfile[0])
        files[n_files++] = d->cfg.pidfile;
    if (!privhelper_start(&d->helper, d->loop, files, n_files, helper_done, d, err, errlen) ||
        !privdrop_apply(&d->priv, err, errlen) || !sandbox_load(err, errlen))
        return false;
    if (d->priv.keep_root)
        log_warn("--user root: rawlb keeps root's privileges (the seccomp filter still applies)");
    else if (!d->priv.change_user)
        log_info("not started as root: rawlb runs as the invoking user%s%s", d->cfg.user[0] ? ", --user ignored: " : "",
                 d->cfg.user);
    log_info("running as %s (uid %u gid %u), no_new_privs, seccomp filter (%s)%s", d->priv.user, (unsigned)d->priv.uid,
             (unsigned)d->priv.gid, sandbox_mode(), d->priv.keep_root ? "" : ", no capabilities");
    return true;
}

static bool setup(struct daemon *d, char *err, size_t errlen)
{
    static const char *const lock_flags[] = {"-e/--ext-if", "-i/--int-if"};
    const char *const lock_names[] = {d->cfg.ext_if, d->cfg.int_if};
    /* First: a second daemon must not touch interfaces another one runs on. */
    if (!iflock_take(&d->iflock, lock_flags, lock_names, IFLOCK_MAX, err, errlen))
        return false;
    if (!service_table_init(&d->services, &d->cfg, err, errlen) || !host_prepare(&d->cfg, &d->host, err, errlen))
        return false;
    neigh_init(&d->neigh);
    neigh_add_servers(d);
    resolve_servers(d, 0); /* none is known yet: each is scheduled once it answers ARP */
    neigh_watch(&d->neigh, neigh_changed, d);
    struct fastpath_config fc = {
        .nat_ip = d->cfg.nat_ip, .answer_arp_nat = !d->host.nat_ip_is_kernel, .ext_mtu = d->host.ext.mtu,
        .int_mtu = d->host.intf.mtu, .max_conns = d->cfg.max_conns, .timeouts = d->cfg.timeouts,
    };
    memcpy(fc.ext_mac, d->host.ext.mac, sizeof fc.ext_mac);
    memcpy(fc.int_mac, d->host.intf.mac, sizeof fc.int_mac);
    /* Keys nobody outside can guess, or flows could be aimed at one hash chain. */
    if (getrandom(&fc.conn_key, sizeof fc.conn_key, 0) != sizeof fc.conn_key ||
        getrandom(&fc.frag_key, sizeof fc.frag_key, 0) != sizeof fc.frag_key) {
        snprintf(err, errlen, "getrandom: %s", strerror(errno));
        return false;
    }
    d->loop = ev_default_loop(EVFLAG_AUTO);
    ev_set_userdata(d->loop, d);
    ev_set_invoke_pending_cb(d->loop, main_invoke);
    iflock_watch(&d->iflock, d->loop);
    if (!pidfile_open(d, err, errlen) || !open_io(d, &fc, err, errlen) || !ctl_share(d, err, errlen))
        return false;
    d->state_fd = statedir_open(d->cfg.ha.state_dir, d->priv.uid, d->priv.gid, err, errlen);
    if (d->state_fd < 0)
        return false;
    restore_table(d); /* before the workers take their first frame */
    if (!health_start(&d->health, d->loop, &d->services, &d->cfg, d->host.arp_source, drop_flows_cb, d, solicit_cb,
                      &d->arp_int)) {
        snprintf(err, errlen, "not enough memory for the health checks");
        return false;
    }
    if (d->cfg.ha.enabled && !open_ha(d, err, errlen))
        return false;
    if (d->cfg.metrics && !metrics_open(&d->metrics, &d->cfg.metrics_ep, err, errlen))
        return false;
    watchers_start(d);
    return confine(d, err, errlen);
}

/* After the drop and the filter, which every thread inherits. */
static bool threads_start(struct daemon *d, char *err, size_t errlen)
{
    return (!d->cfg.metrics || metrics_start(&d->metrics, err, errlen)) && workers_start(&d->workers, err, errlen);
}

/* What rawlb starts with but edits usually make (rawlb-ctl -S of such a daemon): said once. */
static void warn_empty(const struct daemon *d)
{
    char ep[ENDPOINT_STRLEN];
    if (d->cfg.n_services == 0)
        log_warn("no services: nothing is balanced until one is added (rawlb-ctl -A, then -a)");
    for (unsigned i = 0; i < d->cfg.n_services; i++) {
        const struct service_config *sc = &d->cfg.services[i];
        if (sc->n_rs == 0)
            log_warn("service %s %s has no real servers: its clients are refused until one is added (rawlb-ctl -a)",
                     sc->proto == IPPROTO_TCP ? "TCP" : "UDP", endpoint_str(sc->vip.addr, sc->vip.port, ep));
    }
}

int main(int argc, char **argv)
{
    static struct daemon d; /* large (the config holds every service): not on the stack */
    char err[RAWLB_ERRLEN * 2];
    switch (config_parse(&d.cfg, argc, argv, err, sizeof err)) {
    case CONFIG_EXIT_OK:
        return EXIT_SUCCESS;
    case CONFIG_ERROR:
        fprintf(stderr, "rawlb: %s\nTry 'rawlb --help' for more information.\n", err);
        return EXIT_USAGE;
    case CONFIG_OK:
        break;
    }
    if ((d.cfg.ha.enabled && !host_check_nat_floats(&d.cfg, err, sizeof err)) ||
        !privdrop_resolve(&d.priv, d.cfg.user, d.cfg.ctl_group, err, sizeof err)) {
        fprintf(stderr, "rawlb: %s\n", err);
        return EXIT_USAGE;
    }
    if (!host_check_setup(&d.cfg, NULL, err, sizeof err)) { /* a set-up that cannot work: like a bad flag */
        fprintf(stderr, "rawlb: %s\n", err);
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    d.exit_status = EXIT_SUCCESS;
    d.pid_fd = d.state_fd = -1;
    d.helper.fd = -1;
    d.ctl.fd = d.links.fd = -1;
    d.arp_rx_ext.fd = d.arp_rx_int.fd = -1;
    d.uplink.nl_fd = d.uplink.events_fd = -1;
    if (!setup(&d, err, sizeof err)) {
        log_err("%s", err);
        close_io(&d);
        pidfile_close(&d);
        privhelper_stop(&d.helper);
        return EXIT_FAILURE;
    }
    d.rates_ms = clock_monotonic_ms();
    if (d.cfg.ha.enabled)
        ha_start(&d.ha); /* it announces the addresses when it becomes master */
    else
        announce(&d);
    neigh_for_each_wanted(&d.neigh, 0, solicit_cb, &d.arp_int);
    log_info("balancing %u service(s) on %s, real servers on %s, NAT router %s; %u worker(s); control on %s",
             d.services.n, d.cfg.ext_if, d.cfg.int_if, addr_str(d.cfg.nat_ip, err), d.workers.n, d.cfg.ctl_path);
    warn_empty(&d);
    if (d.cfg.metrics) {
        publish_metrics(&d);
        char ep[ENDPOINT_STRLEN];
        log_info("metrics on http://%s" METRICS_PATH, endpoint_str(d.cfg.metrics_ep.addr, d.cfg.metrics_ep.port, ep));
    }
    if (!threads_start(&d, err, sizeof err)) {
        log_err("%s", err);
        d.exit_status = EXIT_FAILURE;
    } else {
        tell_ready(&d);
        ev_run(d.loop, 0);
    }
    workers_stop(&d.workers);
    metrics_stop(&d.metrics);
    log_counters(&d);
    if (d.exit_status == EXIT_SUCCESS)
        save_table(&d);
    health_stop(&d.health);
    if (d.cfg.ha.enabled)
        ha_close(&d.ha);
    close_io(&d);
    service_table_free(&d.services);
    pidfile_close(&d);
    close(d.state_fd);
    privhelper_stop(&d.helper); /* the helper removes the pid file and the control socket */
    log_info("stopped");
    return d.exit_status;
}
