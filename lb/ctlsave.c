/* ctlsave: the running configuration as a rawlb command line (the answer to "save", -S) and
 * its sections, which both directors of an HA pair render and compare (see ctlproto.h). */
#include "ctlproto.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "scheduler.h"
#include "textout.h"

/* Milliseconds as the seconds config.c reads: "2", "0.5", "1.25". */
static void out_seconds(struct textout *o, const char *flag, uint32_t ms)
{
    char frac[8];
    snprintf(frac, sizeof frac, ".%03u", ms % 1000);
    size_t n = strlen(frac);
    while (n > 1 && frac[n - 1] == '0')
        frac[--n] = '\0';
    textout_printf(o, " %s %u%s", flag, ms / 1000, n > 1 ? frac : "");
}

static void save_check(struct textout *o, const struct service_config *sc)
{
    const struct check_config *c = &sc->check;
    enum check_kind auto_kind = sc->proto == IPPROTO_TCP ? CHECK_TCP : CHECK_NONE;
    char ep[ENDPOINT_STRLEN];

    if (c->kind != auto_kind && c->kind != CHECK_AUTO) {
        switch (c->kind) {
        case CHECK_HTTP:
            if (strcmp(c->http_path, "/") == 0) {
                textout_printf(o, " --check http");
            } else {
                char arg[RAWLB_CHECK_STRLEN + 8];
                snprintf(arg, sizeof arg, "http:%s", c->http_path);
                textout_printf(o, " --check");
                textout_word(o, arg);
            }
            break;
        case CHECK_TCP:
            textout_printf(o, " --check tcp");
            break;
        case CHECK_UDP:
            textout_printf(o, " --check udp");
            break;
        case CHECK_DNS:
            if (strcmp(c->dns_name, RAWLB_DEFAULT_DNS_NAME) == 0) {
                textout_printf(o, " --check dns");
            } else {
                char arg[RAWLB_DNS_NAME_MAX + 8];
                snprintf(arg, sizeof arg, "dns:%s", c->dns_name);
                textout_printf(o, " --check");
                textout_word(o, arg);
            }
            break;
        default:
            textout_printf(o, " --check none");
            break;
        }
    }
    if (c->kind == CHECK_HTTP && c->expect_status != RAWLB_DEFAULT_EXPECT_STATUS)
        textout_printf(o, " --expect-status %d", c->expect_status);
    /* Escaped as config.c reads them, so NULs and backslashes come back byte for byte. */
    char text[RAWLB_CHECK_ESCAPED_LEN];
    if (c->expect.len) {
        textout_printf(o, " --expect");
        textout_word(o, config_escape_bytes(&c->expect, text));
    }
    if (c->send.len) {
        textout_printf(o, " --send");
        textout_word(o, config_escape_bytes(&c->send, text));
    }
    if (c->port)
        textout_printf(o, " --check-port %u", c->port);
    if (c->interval_ms != RAWLB_DEFAULT_CHECK_INTERVAL_MS)
        out_seconds(o, "--check-interval", c->interval_ms);
    if (c->probe_timeout_ms != RAWLB_DEFAULT_PROBE_TIMEOUT_MS)
        out_seconds(o, "--probe-timeout", c->probe_timeout_ms);
    if (c->dead_after_ms != RAWLB_DEFAULT_CHECK_TIMEOUT_MS)
        out_seconds(o, "--check-timeout", c->dead_after_ms);
    if (c->reentry_ms != RAWLB_DEFAULT_REENTRY_MS)
        out_seconds(o, "--reentry", c->reentry_ms);
    if (c->quiesce)
        textout_printf(o, " --quiesce");
    if (c->has_sorry)
        textout_printf(o, " --sorry-server %s", endpoint_str(c->sorry.addr, c->sorry.port, ep));
    if (c->agent_port)
        textout_printf(o, " --agent-port %u", c->agent_port);
}

/* --state-dir, where it is not the default: HA's node id and epochs, and the table a restart keeps. */
static void save_state_dir(struct textout *o, const struct ha_config *h)
{
    if (strcmp(h->state_dir, HA_DEFAULT_STATE_DIR) != 0) {
        textout_printf(o, " --state-dir");
        textout_word(o, h->state_dir);
    }
}

/* --ha-* flags that both directors share (in the globals' digest) or that are this host's. */
static void save_ha(struct textout *o, const struct ha_config *h, bool per_host)
{
    char a[ADDR_STRLEN];
    if (!h->enabled) {
        if (per_host)
            save_state_dir(o, h); /* without HA it holds the table a restart keeps */
        return;
    }
    if (per_host) {
        textout_printf(o, " --ha-role %s", h->role == HA_ROLE_PRIMARY ? "primary" : "backup");
        for (unsigned i = 0; i < h->n_peers; i++) {
            if (h->n_ifs) {
                textout_printf(o, " --ha-if");
                textout_word(o, h->ifs[i]);
            }
            textout_printf(o, " --ha-peer %s", addr_str(h->peers[i], a));
        }
        textout_printf(o, " --ha-key");
        textout_word(o, h->key_file);
        if (h->notify[0]) {
            textout_printf(o, " --ha-notify");
            textout_word(o, h->notify);
        }
        save_state_dir(o, h);
        return;
    }
    if (h->port != HA_DEFAULT_PORT)
        textout_printf(o, " --ha-port %u", h->port);
    if (h->interval_ms != HA_DEFAULT_INTERVAL_MS)
        textout_printf(o, " --ha-interval %g", h->interval_ms / 1000.0);
    if (h->deadtime_ms != HA_DEFAULT_DEADTIME_MS)
        textout_printf(o, " --ha-deadtime %g", h->deadtime_ms / 1000.0);
    for (unsigned i = 0; i < h->n_track; i++) {
        textout_printf(o, " --ha-track");
        textout_word(o, h->track[i]);
    }
}

/* The options before the first service; per_host adds the ones that may differ between two
 * directors (--ctl, --pidfile, --user, --ctl-group, --metrics, --workers, --ha-role, --ha-peer,
 * --ha-if, --ha-key, --ha-notify, --state-dir). */
static void save_globals(struct textout *o, const struct rawlb_config *cfg, bool per_host, bool with_ha)
{
    char a[ADDR_STRLEN];
    textout_printf(o, "rawlb -e");
    textout_word(o, cfg->ext_if);
    textout_printf(o, " -i");
    textout_word(o, cfg->int_if);
    textout_printf(o, " -n %s", addr_str(cfg->nat_ip, a));
    if (cfg->timeouts.tcp != RAWLB_DEFAULT_TCP_TIMEOUT || cfg->timeouts.tcpfin != RAWLB_DEFAULT_TCPFIN_TIMEOUT ||
        cfg->timeouts.udp != RAWLB_DEFAULT_UDP_TIMEOUT)
        textout_printf(o, " --timeouts %u,%u,%u", cfg->timeouts.tcp, cfg->timeouts.tcpfin, cfg->timeouts.udp);
    if (cfg->max_conns != RAWLB_DEFAULT_MAX_CONNS)
        textout_printf(o, " --max-conns %u", cfg->max_conns);
    if (with_ha)
        save_ha(o, &cfg->ha, false);
    if (!per_host)
        return;
    if (strcmp(cfg->ctl_path, RAWLB_DEFAULT_CTL) != 0) {
        textout_printf(o, " --ctl");
        textout_word(o, cfg->ctl_path);
    }
    if (cfg->pidfile[0]) {
        textout_printf(o, " --pidfile");
        textout_word(o, cfg->pidfile);
    }
    if (cfg->user[0]) {
        textout_printf(o, " --user");
        textout_word(o, cfg->user);
    }
    if (cfg->ctl_group[0]) {
        textout_printf(o, " --ctl-group");
        textout_word(o, cfg->ctl_group);
    }
    if (cfg->metrics)
        textout_printf(o, " --metrics %s:%u", cfg->metrics_ep.addr ? addr_str(cfg->metrics_ep.addr, a) : "0.0.0.0",
                       (unsigned)ntohs(cfg->metrics_ep.port));
    if (cfg->workers != config_default_workers())
        textout_printf(o, " --workers %u", cfg->workers);
    save_ha(o, &cfg->ha, true);
}

static void save_service(struct textout *o, const struct service_config *sc)
{
    char a[ADDR_STRLEN], ep[ENDPOINT_STRLEN];
    textout_printf(o, " %s %s -s", sc->proto == IPPROTO_TCP ? "-t" : "-u",
                   endpoint_str(sc->vip.addr, sc->vip.port, ep));
    textout_word(o, sc->scheduler);
    if (sc->sched_flags) { /* after its -s, which would clear it (config.c) */
        char flags[SCHED_FLAGS_STRLEN];
        textout_printf(o, " -b %s", sched_flags_str(sc->sched_flags, flags));
    }
    if (sc->persist_timeout) {
        textout_printf(o, " -p %u", sc->persist_timeout);
        if (sc->persist_mask != 0xffffffffu)
            textout_printf(o, " -M %s", addr_str(sc->persist_mask, a));
    }
    if (sc->one_packet)
        textout_printf(o, " -o");
    save_check(o, sc);
    for (unsigned j = 0; j < sc->n_rs; j++) {
        const struct rs_config *rs = &sc->rs[j];
        textout_printf(o, " -r %s:%d", endpoint_str(rs->ep.addr, rs->ep.port, ep), rs->weight);
        /* After its -r, so they are this server's alone (config.c's placement rule). */
        if (rs->u_threshold)
            textout_printf(o, " -x %u", rs->u_threshold);
        if (rs->l_threshold)
            textout_printf(o, " -y %u", rs->l_threshold);
    }
}

size_t ctlproto_render_save(const struct rawlb_config *cfg, char *buf, size_t len)
{
    if (len < 2) {
        if (len) buf[0] = '\0';
        return 0;
    }
    struct textout o;
    textout_init(&o, buf, len);
    save_globals(&o, cfg, true, true);
    for (unsigned i = 0; i < cfg->n_services; i++)
        save_service(&o, &cfg->services[i]);
    textout_printf(&o, "\n");
    if (o.truncated)
        return ctlproto_render_error("save: the command line does not fit in the answer", buf, len);
    return o.pos;
}

size_t ctlproto_render_section(const struct rawlb_config *cfg, int svc, bool with_ha, char *buf, size_t len)
{
    struct textout o;
    textout_init(&o, buf, len);
    if (svc < 0)
        save_globals(&o, cfg, false, with_ha);
    else if ((unsigned)svc < cfg->n_services)
        save_service(&o, &cfg->services[svc]);
    return o.truncated ? 0 : o.pos;
}
