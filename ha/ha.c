/* ha: see ha.h. */
#include "ha.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ctlproto.h"
#include "log.h"
#include "textout.h"

#define IDENTITY_FILE "ha-identity"
#define IDENTITY_MAX 256
#define SECTION_TEXT_MAX 65536 /* one service with 64 real servers and its checks */
#define LEAVING_REPEAT 3       /* "leaving" heartbeats at SIGTERM: one may be lost */
#define REQUEST_SPACING 2      /* heartbeat intervals before a repeated table request is served */
#define MS_PER_S 1000

static uint64_t now_ms(void)
{
    return clock_monotonic_ms();
}

/* ---- identity: node id and epochs in --state-dir ---- */

static bool write_identity(struct ha *ha, char *err, size_t errlen)
{
    static const char tmp[] = IDENTITY_FILE ".new";
    int dir = ha->env.state_dir_fd;
    char text[IDENTITY_MAX];
    int n = snprintf(text, sizeof text, "node %016" PRIx64 "\nepoch %" PRIu64 "\npeer-epoch %" PRIu64 "\n", ha->node,
                     ha->epoch, ha->peer_epoch_saved);
    unlinkat(dir, tmp, 0); /* one left by a crash may belong to another user (an earlier run as root) */
    int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    /* rename: a crash leaves the old epoch or the new one, never half a file. */
    if (!ok || renameat(dir, tmp, dir, IDENTITY_FILE) != 0) {
        snprintf(err, errlen, "--state-dir: cannot write '%s/" IDENTITY_FILE "': %s", ha->hc->state_dir,
                 strerror(errno));
        return false;
    }
    return true;
}

/* The node id made once per state directory, and an epoch one above the last run's: a
 * heartbeat recorded in any earlier run is stale for the peer. */
static bool load_identity(struct ha *ha, char *err, size_t errlen)
{
    char text[IDENTITY_MAX] = "";
    int fd = openat(ha->env.state_dir_fd, IDENTITY_FILE, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, text, sizeof text - 1);
        text[n > 0 ? n : 0] = '\0';
        close(fd);
        if (sscanf(text, "node %" SCNx64 "\nepoch %" SCNu64 "\npeer-epoch %" SCNu64, &ha->node, &ha->epoch,
                   &ha->peer_epoch_saved) != 3) {
            snprintf(err, errlen,
                     "--state-dir: '%s/" IDENTITY_FILE "' is not what rawlb wrote (remove it to start afresh)",
                     ha->hc->state_dir);
            return false;
        }
    } else if (errno != ENOENT) {
        snprintf(err, errlen, "--state-dir: cannot read '%s/" IDENTITY_FILE "': %s", ha->hc->state_dir,
                 strerror(errno));
        return false;
    }
    while (!ha->node)
        randombytes_buf(&ha->node, sizeof ha->node);
    ha->epoch++;
    return write_identity(ha, err, errlen);
}

/* ---- sending ---- */

static bool send_on(struct ha *ha, struct ha_link *l, enum ha_msg_type type, const uint8_t *payload, size_t plen)
{
    uint8_t dgram[HA_DATAGRAM_MAX];
    struct ha_header h = { .type = (uint8_t)type, .node = ha->node, .epoch = ha->epoch, .seq = ++ha->seq };
    size_t len = ha_msg_seal(&ha->hc->key, &h, payload, plen, dgram, sizeof dgram);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(ha->hc->port), .sin_addr.s_addr = l->peer };
    if (len && sendto(l->fd, dgram, len, 0, (const struct sockaddr *)&to, sizeof to) == (ssize_t)len) {
        l->tx++;
        return true;
    }
    l->tx_failed++;
    return false;
}

/* Sync goes over the first link the peer was heard on lately (the first one otherwise). */
static struct ha_link *sync_link(struct ha *ha)
{
    uint64_t now = now_ms();
    for (unsigned i = 0; i < ha->n_links; i++)
        if (ha->links[i].heard_ms && now - ha->links[i].heard_ms < ha->hc->deadtime_ms)
            return &ha->links[i];
    return &ha->links[0];
}

static bool sync_send(void *arg, enum ha_msg_type type, const uint8_t *payload, size_t len)
{
    struct ha *ha = arg;
    return send_on(ha, sync_link(ha), type, payload, len);
}

static unsigned sync_owner(void *arg, const struct conn *entry)
{
    struct ha *ha = arg;
    return ha->env.flow_owner(ha->env.arg, entry);
}

/* One heartbeat on every link: the peer is dead only when silent on all of them. */
static void send_heartbeats(struct ha *ha)
{
    ha->own.state = (uint8_t)ha->fsm.state;
    ha->own.role = (uint8_t)ha->hc->role;
    ha->own.flags = ha_fsm_flags(&ha->fsm, now_ms());
    uint8_t payload[HA_PAYLOAD_MAX];
    size_t len = ha_heartbeat_encode(&ha->own, payload, sizeof payload);
    for (unsigned i = 0; len && i < ha->n_links; i++)
        if (send_on(ha, &ha->links[i], HA_MSG_HEARTBEAT, payload, len))
            ha->stats.heartbeats_sent++;
}

/* ---- configuration digests ---- */

static void digest_section(const struct rawlb_config *cfg, int svc, struct ha_section *s)
{
    static char text[SECTION_TEXT_MAX];
    size_t len = ctlproto_render_section(cfg, svc, true, text, sizeof text);
    uint8_t full[crypto_generichash_BYTES_MIN];
    crypto_generichash(full, sizeof full, (const unsigned char *)text, len, NULL, 0);
    memcpy(s->digest, full, sizeof s->digest);
}

void ha_config_changed(struct ha *ha)
{
    const struct rawlb_config *cfg = ha->env.cfg;
    ha->config_generation++;
    struct ha_heartbeat *hb = &ha->own;
    hb->n_sections = 0;
    struct ha_section *g = &hb->sections[hb->n_sections++];
    memset(g, 0, sizeof *g);
    g->kind = HA_SECTION_GLOBALS;
    digest_section(cfg, -1, g);
    for (unsigned i = 0; i < cfg->n_services && hb->n_sections < HA_MAX_SECTIONS; i++) {
        struct ha_section *s = &hb->sections[hb->n_sections++];
        s->kind = HA_SECTION_SERVICE;
        s->proto = cfg->services[i].proto;
        s->addr = cfg->services[i].vip.addr;
        s->port = ntohs(cfg->services[i].vip.port);
        digest_section(cfg, (int)i, s);
    }
}

static const struct ha_section *find_section(const struct ha_heartbeat *hb, const struct ha_section *want)
{
    for (unsigned i = 0; i < hb->n_sections; i++) {
        const struct ha_section *s = &hb->sections[i];
        if (s->kind == want->kind && s->proto == want->proto && s->addr == want->addr && s->port == want->port)
            return s;
    }
    return NULL;
}

static void section_name(const struct ha_section *s, char *buf, size_t len)
{
    char ep[ENDPOINT_STRLEN];
    if (s->kind == HA_SECTION_GLOBALS)
        snprintf(buf, len, "globals");
    else
        snprintf(buf, len, "service %s %s", s->proto == IPPROTO_TCP ? "TCP" : "UDP",
                 endpoint_str(s->addr, htons(s->port), ep));
}

/* "globals; service TCP 198.51.100.10:80 (only here)"... into ha->mismatch; logged on change. */
static void compare_sections(struct ha *ha)
{
    char now[sizeof ha->mismatch] = "", name[64];
    struct textout o;
    textout_init(&o, now, sizeof now);
    for (unsigned i = 0; i < ha->own.n_sections; i++) {
        const struct ha_section *mine = &ha->own.sections[i], *theirs = find_section(&ha->peer, mine);
        if (theirs && memcmp(mine->digest, theirs->digest, HA_DIGEST_LEN) == 0)
            continue;
        section_name(mine, name, sizeof name);
        textout_printf(&o, "%s%s%s", o.pos ? "; " : "", name, theirs ? "" : " (only here)");
    }
    for (unsigned i = 0; i < ha->peer.n_sections; i++)
        if (!find_section(&ha->own, &ha->peer.sections[i])) {
            section_name(&ha->peer.sections[i], name, sizeof name);
            textout_printf(&o, "%s%s (only on the peer)", o.pos ? "; " : "", name);
        }
    if (strcmp(now, ha->mismatch) == 0)
        return;
    if (now[0])
        log_warn("HA: configuration differs from the peer's: %s (rawlb-ctl -S on both shows it)", now);
    else
        log_info("HA: configuration matches the peer's (%u sections)", ha->own.n_sections);
    snprintf(ha->mismatch, sizeof ha->mismatch, "%s", now);
}

/* The master's services and timeouts for the peer: at its every new epoch, after every edit
 * here, and when the digests say the two differ. */
static void push_config(struct ha *ha)
{
    if (!ha->mismatch[0])
        ha->pushed_mismatch[0] = '\0'; /* the same difference again later is worth a push */
    if (ha->fsm.state != HA_STATE_MASTER || !ha_fsm_peer_alive(&ha->fsm, now_ms()))
        return;
    bool fresh = ha->pushed_epoch != ha->fsm.peer_epoch || ha->pushed_generation != ha->config_generation;
    /* A peer that was master when it got the last push ignored it (a healed split brain). */
    bool differs = ha->mismatch[0] && (strcmp(ha->mismatch, ha->pushed_mismatch) != 0 ||
                                       (ha->pushed_to_master && ha->fsm.peer_state != HA_STATE_MASTER));
    if (!fresh && !differs)
        return;
    static char text[HA_CONFIG_TOTAL_MAX];
    const struct rawlb_config *cfg = ha->env.cfg;
    size_t len = ctlproto_render_section(cfg, -1, false, text, sizeof text);
    for (unsigned i = 0; len && i < cfg->n_services; i++) {
        size_t n = ctlproto_render_section(cfg, (int)i, false, text + len, sizeof text - len);
        len = n ? len + n : 0;
    }
    if (!len || !hasync_send_config(&ha->sync, text, len)) {
        log_warn("HA: the configuration could not be sent to the peer (%s)", len ? "out of memory" : "too long");
        return;
    }
    ha->pushed_epoch = ha->fsm.peer_epoch;
    ha->pushed_generation = ha->config_generation;
    snprintf(ha->pushed_mismatch, sizeof ha->pushed_mismatch, "%s", ha->mismatch);
    ha->pushed_to_master = ha->fsm.peer_state == HA_STATE_MASTER;
    log_info("HA: configuration sent to the peer (%zu bytes, %u services)", len, cfg->n_services);
}

static void config_received(void *arg, const char *text, size_t len)
{
    struct ha *ha = arg;
    char err[RAWLB_ERRLEN * 2];
    if (ha->fsm.state == HA_STATE_MASTER) {
        log_warn("HA: a configuration from the peer ignored: this director is master");
        return;
    }
    if (!ha->env.apply_config(ha->env.arg, text, err, sizeof err)) {
        log_err("HA: the master's configuration (%zu bytes) cannot run here: %s", len, err);
        return;
    }
    log_info("HA: the master's configuration runs here now (%zu bytes)", len);
}

/* ---- transitions ---- */

void ha_notify_done(const char *command, int status)
{
    if (status != 0)
        log_warn("HA: --ha-notify '%s' ended with status %d", command, status);
}

static void garp(struct ha *ha, unsigned times)
{
    for (unsigned i = 0; i < times; i++)
        arp_announce_owned(ha->env.arp_ext, ha->env.arp_int, ha->env.services, ha->env.cfg->nat_ip,
                           ha->env.nat_ip_ours);
    ha->stats.garp_sent += times;
}

static void remember(struct ha *ha, unsigned from)
{
    if (ha->n_history == HA_HISTORY)
        memmove(ha->history, ha->history + 1, sizeof ha->history[0] * (HA_HISTORY - 1));
    else
        ha->n_history++;
    ha->history[ha->n_history - 1] =
        (struct ha_transition){ .at_ms = clock_wall_ms(), .from = (uint8_t)from, .to = (uint8_t)ha->fsm.state,
                                .reason = ha->fsm.reason };
}

/* The role gate of every worker's fast path. */
static void set_role(struct ha *ha, bool master, uint32_t grace_until)
{
    for (unsigned i = 0; i < ha->env.n_fps; i++)
        fastpath_set_role(ha->env.fps[i], master, grace_until);
}

/* Connection entries of all workers. */
static uint32_t entries(const struct ha *ha)
{
    uint32_t count = 0;
    for (unsigned i = 0; i < ha->env.n_fps; i++)
        count += ha->env.fps[i]->conns.count;
    return count;
}

/* What a new state means for the rest of the daemon. */
static void apply_state(struct ha *ha, unsigned from)
{
    bool master = ha->fsm.state == HA_STATE_MASTER;
    uint64_t now = now_ms();
    log_info("HA: %s -> %s: %s", ha_state_name(from), ha_state_name(ha->fsm.state), ha->fsm.reason);
    remember(ha, from);
    uint32_t grace_until = master ? ha->env.now_s(ha->env.arg) + ha->hc->deadtime_ms / MS_PER_S + 1 : 0;
    set_role(ha, master, grace_until);
    hasync_set_role(&ha->sync, master, master);
    if (master) {
        ha->master_since_ms = now;
        garp(ha, HA_GARP_BURST);
        ev_timer_again(ha->loop, &ha->garp_timer);
    } else {
        ev_timer_stop(ha->loop, &ha->garp_timer);
        /* Yielding to a master that never received our table (a healed split brain): it gets
         * it now, so the flows opened here go on there. */
        if (from == HA_STATE_MASTER && ha->fsm.peer_state == HA_STATE_MASTER &&
            ha->sync.bulk_acked_ms < ha->master_since_ms)
            hasync_request_bulk(&ha->sync);
    }
    if (ha->hc->notify[0]) {
        const char *arg = ha_state_name(ha->fsm.state);
        if (!privhelper_run(ha->env.helper, ha->hc->notify, &arg, 1))
            log_warn("HA: --ha-notify '%s %s' could not be started (helper gone)", ha->hc->notify, arg);
    }
    send_heartbeats(ha); /* the peer learns at once, not at the next interval */
    hasync_flush(&ha->sync, now);
}

static void evaluate(struct ha *ha)
{
    unsigned from = ha->fsm.state;
    if (!ha->fsm.health_ready && ha->env.health_ready(ha->env.arg))
        ha_fsm_set_health_ready(&ha->fsm);
    if (ha_fsm_step(&ha->fsm, now_ms()))
        apply_state(ha, from);
    push_config(ha);
}

/* ---- receiving ---- */

static void peer_epoch_seen(struct ha *ha, uint64_t epoch)
{
    if (epoch == ha->fsm.peer_epoch)
        return;
    /* A new run of the peer (or the first we hear of): a fresh sync stream for it. */
    hasync_peer_restarted(&ha->sync);
    if (epoch > ha->peer_epoch_saved) {
        char err[RAWLB_ERRLEN];
        ha->peer_epoch_saved = epoch;
        if (!write_identity(ha, err, sizeof err))
            log_warn("HA: %s", err);
    }
}

/* Both master (a healed partition): the flows the peer opened meanwhile reach us before its
 * table does; until the peer has yielded and its table can have arrived, their segments are
 * dropped silently rather than reset (the grace period of a takeover). */
static void split_brain_grace(struct ha *ha)
{
    uint32_t until = ha->env.now_s(ha->env.arg) + ha->hc->deadtime_ms / MS_PER_S + 1;
    for (unsigned i = 0; i < ha->env.n_fps; i++)
        if ((int32_t)(until - ha->env.fps[i]->grace_until) > 0)
            fastpath_set_role(ha->env.fps[i], true, until);
}

static void take_heartbeat(struct ha *ha, const struct ha_header *h, const uint8_t *payload, size_t plen)
{
    static struct ha_heartbeat hb;
    if (!ha_heartbeat_decode(payload, plen, &hb)) {
        ha->stats.rejected[HA_BAD_PAYLOAD]++;
        return;
    }
    ha->stats.heartbeats_received++;
    peer_epoch_seen(ha, h->epoch);
    if (ha->fsm.state == HA_STATE_MASTER && hb.state == HA_STATE_MASTER)
        split_brain_grace(ha);
    ha_fsm_heard(&ha->fsm, now_ms(), h->node, h->epoch, &hb);
    ha->peer = hb;
    compare_sections(ha);
    push_config(ha); /* before a table it may ask for: the peer runs our services before it takes over */
    uint64_t now = now_ms();
    bool asked_again = now - ha->sync.bulk_acked_ms > (uint64_t)REQUEST_SPACING * ha->hc->interval_ms;
    if ((hb.flags & HA_HB_WANT_TABLE) && ha->fsm.state == HA_STATE_MASTER && !hasync_bulk_busy(&ha->sync) &&
        asked_again) {
        log_info("HA: the peer asks for the connection table: sending %u entries", entries(ha));
        hasync_request_bulk(&ha->sync);
        hasync_flush(&ha->sync, now);
    }
    evaluate(ha);
}

static void take_datagram(struct ha *ha, struct ha_link *l, const uint8_t *buf, size_t len)
{
    struct ha_header h;
    const uint8_t *payload;
    size_t plen;
    enum ha_verdict v = ha_msg_accept(&ha->hc->key, &ha->replay, ha->node, buf, len, &h, &payload, &plen);
    if (v != HA_OK) {
        ha->stats.rejected[v]++;
        return;
    }
    l->rx++;
    if (h.type == HA_MSG_HEARTBEAT) {
        l->heard_ms = now_ms();
        take_heartbeat(ha, &h, payload, plen);
    } else if (h.epoch == ha->fsm.peer_epoch) {
        hasync_receive(&ha->sync, h.epoch, (enum ha_msg_type)h.type, payload, plen, now_ms());
    }
}

static void link_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct ha_link *l = w->data;
    struct ha *ha = l->owner;
    uint8_t buf[HA_DATAGRAM_MAX + 1]; /* one more: a longer datagram shows as too long */
    for (;;) {
        struct sockaddr_in from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(l->fd, buf, sizeof buf, MSG_TRUNC, (struct sockaddr *)&from, &fromlen);
        if (n < 0)
            return; /* EAGAIN: all read */
        if (from.sin_addr.s_addr != l->peer) {
            ha->stats.unknown_sender++;
            continue;
        }
        take_datagram(ha, l, buf, (size_t)n > sizeof buf ? sizeof buf : (size_t)n);
    }
}

/* ---- timers and inputs ---- */

static void heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    send_heartbeats(w->data);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct ha *ha = w->data;
    evaluate(ha);
    hasync_flush(&ha->sync, now_ms());
}

static void garp_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    garp(w->data, 1);
}

/* Only carrier counts here: the daemon follows MTU and MAC changes of its own links (main.c). */
static void link_changed(void *arg, const struct linkmon_if *lif, unsigned changed)
{
    struct ha *ha = arg;
    if (!(changed & LINKMON_CARRIER))
        return;
    log_info("HA: tracked link %s %s carrier", lif->name, lif->up ? "has" : "lost");
    ha_fsm_set_fault(&ha->fsm, linkmon_first_down(&ha->linkmon) != NULL);
    evaluate(ha);
}

static void table_received(void *arg)
{
    struct ha *ha = arg;
    log_info("HA: the peer's connection table arrived (%u entries here now)", entries(ha));
    ha_fsm_table_received(&ha->fsm);
    evaluate(ha);
}

/* ---- set-up ---- */

static bool open_link(struct ha *ha, struct ha_link *l, char *err, size_t errlen)
{
    l->owner = ha;
    if (!if_nametoindex(l->ifname)) {
        snprintf(err, errlen, "%s: interface '%s' does not exist (ip link show)", ha->hc->n_ifs ? "--ha-if" : "--ext-if",
                 l->ifname);
        return false;
    }
    l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(ha->hc->port) };
    /* Bound to its interface, so each heartbeat leaves by its own link and the same port can
     * serve every link. */
    int buffer = HASYNC_SOCKET_BUFFER;
    if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_BINDTODEVICE, l->ifname, (socklen_t)strlen(l->ifname)) != 0 ||
        (setsockopt(l->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0 &&
         setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer) != 0) ||
        bind(l->fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        snprintf(err, errlen, "--ha-port %u on %s: %s", ha->hc->port, l->ifname, strerror(errno));
        return false;
    }
    ev_io_init(&l->io, link_cb, l->fd, EV_READ);
    l->io.data = l;
    ev_io_start(ha->loop, &l->io);
    return true;
}

bool ha_open(struct ha *ha, struct ev_loop *loop, const struct ha_env *env, char *err, size_t errlen)
{
    memset(ha, 0, sizeof *ha);
    ha->env = *env;
    ha->hc = &env->cfg->ha;
    ha->loop = loop;
    for (unsigned i = 0; i < HA_MAX_LINKS; i++)
        ha->links[i].fd = -1;
    ha->linkmon.fd = -1;
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium could not start");
        return false;
    }
    if (!load_identity(ha, err, errlen))
        return false;
    ha->replay.epoch = ha->peer_epoch_saved; /* the peer's earlier runs are over */
    ha->n_links = ha->hc->n_peers;
    for (unsigned i = 0; i < ha->n_links; i++) {
        struct ha_link *l = &ha->links[i];
        snprintf(l->ifname, sizeof l->ifname, "%s", ha->hc->n_ifs ? ha->hc->ifs[i] : env->cfg->ext_if);
        l->peer = ha->hc->peers[i];
        if (!open_link(ha, l, err, errlen))
            return false;
    }
    const char *tracked[HA_MAX_TRACK + 2];
    unsigned n_tracked = haconfig_tracked(ha->hc, env->cfg->ext_if, env->cfg->int_if, tracked);
    if (!linkmon_open(&ha->linkmon, loop, tracked, n_tracked, link_changed, ha, err, errlen))
        return false;
    if (env->n_fps > HASYNC_MAX_TABLES) {
        snprintf(err, errlen, "--workers %u: HA syncs at most %u connection tables", env->n_fps, HASYNC_MAX_TABLES);
        return false;
    }
    struct conn_table *tables[HASYNC_MAX_TABLES];
    for (unsigned i = 0; i < env->n_fps; i++)
        tables[i] = &env->fps[i]->conns;
    if (!hasync_init(&ha->sync, tables, env->n_fps, sync_owner, env->services, sync_send, table_received,
                     config_received, ha)) {
        snprintf(err, errlen, "not enough memory for the connection sync");
        return false;
    }
    ha->sync.epoch = ha->epoch;
    struct ha_fsm_config fc = { .role = ha->hc->role, .node = ha->node, .deadtime_ms = ha->hc->deadtime_ms,
                                .table_wait_ms = ha->hc->deadtime_ms * 2 };
    ha_fsm_init(&ha->fsm, &fc, now_ms());
    ha_fsm_set_fault(&ha->fsm, linkmon_first_down(&ha->linkmon) != NULL);
    set_role(ha, false, 0);
    ha_config_changed(ha);
    ev_timer_init(&ha->heartbeat_timer, heartbeat_cb, 0.0, ha->hc->interval_ms / (double)MS_PER_S);
    ev_timer_init(&ha->tick_timer, tick_cb, 0.0, HA_TICK_MS / (double)MS_PER_S);
    ev_timer_init(&ha->garp_timer, garp_cb, HA_GARP_REFRESH_S, HA_GARP_REFRESH_S);
    ha->heartbeat_timer.data = ha->tick_timer.data = ha->garp_timer.data = ha;
    log_info("HA: %s, node %016" PRIx64 " epoch %" PRIu64 ", %u link(s) to the peer, listening for it for %.1f s",
             ha->hc->role == HA_ROLE_PRIMARY ? "primary" : "backup", ha->node, ha->epoch, ha->n_links,
             ha->hc->deadtime_ms / (double)MS_PER_S);
    return true;
}

void ha_start(struct ha *ha)
{
    ev_timer_start(ha->loop, &ha->heartbeat_timer);
    ev_timer_start(ha->loop, &ha->tick_timer);
}

void ha_leave(struct ha *ha)
{
    hasync_flush(&ha->sync, now_ms());
    unsigned from = ha->fsm.state;
    ha_fsm_leave(&ha->fsm);
    if (ha_fsm_step(&ha->fsm, now_ms()))
        apply_state(ha, from);
    for (unsigned i = 1; i < LEAVING_REPEAT; i++)
        send_heartbeats(ha);
}

void ha_close(struct ha *ha)
{
    if (ha->loop) {
        ev_timer_stop(ha->loop, &ha->heartbeat_timer);
        ev_timer_stop(ha->loop, &ha->tick_timer);
        ev_timer_stop(ha->loop, &ha->garp_timer);
    }
    for (unsigned i = 0; i < HA_MAX_LINKS; i++) {
        if (ha->links[i].fd < 0)
            continue;
        ev_io_stop(ha->loop, &ha->links[i].io);
        close(ha->links[i].fd);
        ha->links[i].fd = -1;
    }
    linkmon_close(&ha->linkmon);
    hasync_free(&ha->sync);
}

bool ha_is_master(const struct ha *ha)
{
    return ha->fsm.state == HA_STATE_MASTER;
}

uint32_t ha_peer_addr(const struct ha *ha)
{
    return ha->n_links ? ha->links[0].peer : 0;
}

bool ha_role_decided(const struct ha *ha)
{
    return ha->fsm.state != HA_STATE_BACKUP || (ha->fsm.heard && ha->fsm.peer_state == HA_STATE_MASTER);
}

bool ha_takeover(struct ha *ha, char *msg, size_t len)
{
    const struct linkmon_if *down = linkmon_first_down(&ha->linkmon);
    if (down) {
        snprintf(msg, len, "ha takeover: refused: tracked link %s has no carrier", down->name);
        return false;
    }
    log_info("HA: rawlb-ctl ha takeover");
    ha_fsm_takeover(&ha->fsm);
    evaluate(ha);
    snprintf(msg, len, "ha takeover: this director is %s\n", ha_state_name(ha->fsm.state));
    return true;
}

bool ha_release(struct ha *ha, char *msg, size_t len)
{
    log_info("HA: rawlb-ctl ha release");
    ha_fsm_release(&ha->fsm);
    evaluate(ha);
    if (ha->fsm.state == HA_STATE_MASTER && !ha_fsm_peer_alive(&ha->fsm, now_ms()))
        snprintf(msg, len, "ha release: the peer is not heard: still master\n");
    else if (ha->fsm.state == HA_STATE_MASTER)
        snprintf(msg, len, "ha release: the peer takes over once it is ready (its health checks and this "
                           "director's connection table); master until then\n");
    else
        snprintf(msg, len, "ha release: this director is %s; the peer takes over\n", ha_state_name(ha->fsm.state));
    return true;
}

/* ---- status ---- */

static double age_s(uint64_t then_ms, uint64_t now)
{
    return then_ms ? (double)(now - then_ms) / MS_PER_S : -1.0;
}

static const char *role_name(unsigned role)
{
    return role == HA_ROLE_PRIMARY ? "primary" : role == HA_ROLE_BACKUP ? "backup" : "?";
}

static void status_text(const struct ha *ha, struct textout *o)
{
    uint64_t now = now_ms();
    const struct ha_fsm *f = &ha->fsm;
    const struct hasync_stats *s = &ha->sync.stats;
    char a[ADDR_STRLEN];
    textout_printf(o, "HA: %s, %s for %.1f s (%s)\n", role_name(ha->hc->role), ha_state_name(f->state),
                   age_s(f->changed_ms, now), f->reason);
    textout_printf(o, "node %016" PRIx64 " epoch %" PRIu64 "\n", ha->node, ha->epoch);
    if (f->heard)
        textout_printf(o, "peer: node %016" PRIx64 " epoch %" PRIu64 ", %s %s, %s, last heartbeat %.1f s ago\n",
                       f->peer_node, f->peer_epoch, role_name(f->peer_role), ha_state_name(f->peer_state),
                       ha_fsm_peer_alive(f, now) ? "alive" : "dead", age_s(f->heard_ms, now));
    else
        textout_printf(o, "peer: not heard yet\n");
    for (unsigned i = 0; i < ha->n_links; i++) {
        const struct ha_link *l = &ha->links[i];
        bool up = l->heard_ms && now - l->heard_ms < ha->hc->deadtime_ms;
        textout_printf(o, "link %s -> %s: %s", l->ifname, addr_str(l->peer, a), up ? "up" : "down");
        if (l->heard_ms)
            textout_printf(o, ", heard %.1f s ago", age_s(l->heard_ms, now));
        textout_printf(o, ", rx %" PRIu64 " tx %" PRIu64 " failed %" PRIu64 "\n", l->rx, l->tx, l->tx_failed);
    }
    textout_printf(o, "config: %s%s\n", !f->heard ? "not compared yet" : ha->mismatch[0] ? "differs: " : "match",
                   f->heard ? ha->mismatch : "");
    textout_printf(o,
                   "sync: sent %" PRIu64 " datagrams (%" PRIu64 " resent) %" PRIu64 " records, %" PRIu64
                   " tables; received %" PRIu64 " datagrams, %" PRIu64 " records applied, %" PRIu64
                   " unknown, %" PRIu64 " tables; queued %u, in flight %u, overflows %" PRIu64
                   "; configurations sent %" PRIu64 " received %" PRIu64 "\n",
                   s->datagrams_sent, s->datagrams_resent, s->records_sent, s->bulks_sent, s->datagrams_received,
                   s->records_applied, s->records_unknown, s->bulks_received, hasync_queued(&ha->sync),
                   hasync_in_flight(&ha->sync), s->overflows, s->configs_sent, s->configs_received);
    textout_printf(o, "heartbeats: sent %" PRIu64 " received %" PRIu64 "; bad: length %" PRIu64 " magic %" PRIu64
                      " mac %" PRIu64 " payload %" PRIu64 " stale %" PRIu64 ", unknown sender %" PRIu64 "\n",
                   ha->stats.heartbeats_sent, ha->stats.heartbeats_received, ha->stats.rejected[HA_BAD_LENGTH],
                   ha->stats.rejected[HA_BAD_MAGIC], ha->stats.rejected[HA_BAD_MAC],
                   ha->stats.rejected[HA_BAD_PAYLOAD], ha->stats.rejected[HA_STALE], ha->stats.unknown_sender);
    textout_printf(o, "transitions:\n");
    for (unsigned i = 0; i < ha->n_history; i++) {
        const struct ha_transition *t = &ha->history[i];
        time_t secs = (time_t)(t->at_ms / MS_PER_S);
        struct tm tm;
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&secs, &tm));
        textout_printf(o, "  %s.%03u %s -> %s: %s\n", when, (unsigned)(t->at_ms % MS_PER_S), ha_state_name(t->from),
                       ha_state_name(t->to), t->reason);
    }
}

static void status_json(const struct ha *ha, struct textout *o)
{
    uint64_t now = now_ms();
    const struct ha_fsm *f = &ha->fsm;
    const struct hasync_stats *s = &ha->sync.stats;
    char a[ADDR_STRLEN];
    textout_printf(o,
                   "\"ha\":true,\"role\":\"%s\",\"state\":\"%s\",\"since_s\":%.1f,\"reason\":\"%s\","
                   "\"node\":\"%016" PRIx64 "\",\"epoch\":%" PRIu64 ",",
                   role_name(ha->hc->role), ha_state_name(f->state), age_s(f->changed_ms, now), f->reason, ha->node,
                   ha->epoch);
    textout_printf(o,
                   "\"peer\":{\"heard\":%s,\"alive\":%s,\"node\":\"%016" PRIx64 "\",\"epoch\":%" PRIu64
                   ",\"role\":\"%s\",\"state\":\"%s\",\"last_heartbeat_s\":%.1f},",
                   f->heard ? "true" : "false", ha_fsm_peer_alive(f, now) ? "true" : "false", f->peer_node,
                   f->peer_epoch, role_name(f->peer_role), f->heard ? ha_state_name(f->peer_state) : "",
                   age_s(f->heard_ms, now));
    textout_printf(o, "\"links\":[");
    for (unsigned i = 0; i < ha->n_links; i++) {
        const struct ha_link *l = &ha->links[i];
        textout_printf(o, "%s{\"if\":", i ? "," : "");
        textout_json_str(o, l->ifname);
        textout_printf(o,
                       ",\"peer\":\"%s\",\"up\":%s,\"heard_s\":%.1f,\"rx\":%" PRIu64 ",\"tx\":%" PRIu64
                       ",\"tx_failed\":%" PRIu64 "}",
                       addr_str(l->peer, a),
                       l->heard_ms && now - l->heard_ms < ha->hc->deadtime_ms ? "true" : "false",
                       age_s(l->heard_ms, now), l->rx, l->tx, l->tx_failed);
    }
    textout_printf(o, "],\"config_match\":%s,\"config_differs\":\"%s\",",
                   f->heard && !ha->mismatch[0] ? "true" : "false", ha->mismatch);
    textout_printf(o,
                   "\"sync\":{\"datagrams_sent\":%" PRIu64 ",\"datagrams_resent\":%" PRIu64 ",\"records_sent\":%" PRIu64
                   ",\"tables_sent\":%" PRIu64 ",\"datagrams_received\":%" PRIu64 ",\"records_applied\":%" PRIu64
                   ",\"records_unknown\":%" PRIu64 ",\"tables_received\":%" PRIu64
                   ",\"queued\":%u,\"in_flight\":%u,\"overflows\":%" PRIu64 ",\"configs_sent\":%" PRIu64
                   ",\"configs_received\":%" PRIu64 "},",
                   s->datagrams_sent, s->datagrams_resent, s->records_sent, s->bulks_sent, s->datagrams_received,
                   s->records_applied, s->records_unknown, s->bulks_received, hasync_queued(&ha->sync),
                   hasync_in_flight(&ha->sync), s->overflows, s->configs_sent, s->configs_received);
    textout_printf(o,
                   "\"heartbeats\":{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"bad_length\":%" PRIu64
                   ",\"bad_magic\":%" PRIu64 ",\"bad_mac\":%" PRIu64 ",\"bad_payload\":%" PRIu64 ",\"stale\":%" PRIu64
                   ",\"unknown_sender\":%" PRIu64 "},",
                   ha->stats.heartbeats_sent, ha->stats.heartbeats_received, ha->stats.rejected[HA_BAD_LENGTH],
                   ha->stats.rejected[HA_BAD_MAGIC], ha->stats.rejected[HA_BAD_MAC], ha->stats.rejected[HA_BAD_PAYLOAD],
                   ha->stats.rejected[HA_STALE], ha->stats.unknown_sender);
    textout_printf(o, "\"transitions\":[");
    for (unsigned i = 0; i < ha->n_history; i++) {
        const struct ha_transition *t = &ha->history[i];
        textout_printf(o, "%s{\"at_ms\":%" PRIu64 ",\"from\":\"%s\",\"to\":\"%s\",\"reason\":\"%s\"}", i ? "," : "",
                       t->at_ms, ha_state_name(t->from), ha_state_name(t->to), t->reason);
    }
    textout_printf(o, "]");
}

void ha_render_status(const struct ha *ha, bool json, struct textout *o)
{
    if (json)
        status_json(ha, o);
    else
        status_text(ha, o);
}
