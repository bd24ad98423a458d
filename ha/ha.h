/* ha: the daemon's high availability (piranha's pulse, keepalived's VRRP + IPVS sync daemon):
 * one UDP socket per --ha-if/--ha-peer pair, heartbeats every --ha-interval on each, the node id
 * and epochs kept in --state-dir, the role state machine (hafsm.c) fed by heartbeats, a timer,
 * the link monitor (--ha-track) and the operator (rawlb-ctl ha takeover|release), and what a
 * transition does: the fast path's role gate and grace period, gratuitous ARP for every owned
 * address (a burst, then refreshed while master), --ha-notify through the privileged helper,
 * and connection sync (hasync.c) over the same sockets.
 * main.c opens it, hands it control verbs and SIGTERM, and closes it; nothing of the takeover
 * sequence lives there. */
#ifndef RAWLB_HA_H
#define RAWLB_HA_H

#include <ev.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arp.h"
#include "fastpath.h"
#include "haconfig.h"
#include "hafsm.h"
#include "hamsg.h"
#include "hasync.h"
#include "linkmon.h"
#include "privhelper.h"

#define HA_HISTORY 16       /* transitions kept for status */
#define HA_GARP_BURST 3     /* gratuitous ARP per address at a takeover */
#define HA_GARP_REFRESH_S 5 /* and again this often while master */
#define HA_TICK_MS HASYNC_FLUSH_MS

/* What the daemon lends HA. */
struct ha_env {
    const struct rawlb_config *cfg; /* the running configuration (digests; edits replace it) */
    /* One per worker, each with its role gate and connection table (the array is kept: it lives
     * as long as HA). */
    struct fastpath *const *fps;
    unsigned n_fps;
    /* The index (< n_fps) of the worker that owns an entry: a synced entry or template before
     * it is imported goes into that worker's table. */
    unsigned (*flow_owner)(void *arg, const struct conn *entry);
    struct service_table *services;
    struct arp_sender *arp_ext, *arp_int;
    bool nat_ip_ours;               /* false when the kernel owns the NAT router address */
    uint32_t (*now_s)(void *arg);   /* the fast path's clock (grace period) */
    bool (*health_ready)(void *arg); /* first round of health probes done */
    /* The master's configuration (its services and timeouts, as a rawlb command line without
     * per-host flags) to run here; false with a message when it cannot be. */
    bool (*apply_config)(void *arg, const char *text, char *err, size_t errlen);
    int state_dir_fd;            /* --state-dir, open (statedir.h): the node id and epochs */
    struct privhelper *helper;   /* runs --ha-notify (started by the daemon before the drop) */
    void *arg;
};

struct ha_link {
    struct ha *owner;
    char ifname[IF_NAMESIZE];
    uint32_t peer; /* network order */
    int fd;
    ev_io io;
    uint64_t heard_ms; /* last authentic heartbeat, 0 = never */
    uint64_t rx, tx, tx_failed;
};

struct ha_transition {
    uint64_t at_ms; /* wall clock, for people */
    uint8_t from, to;
    const char *reason;
};

struct ha_stats {
    uint64_t heartbeats_sent, heartbeats_received, garp_sent;
    uint64_t rejected[HA_STALE + 1]; /* by enum ha_verdict (HA_OK unused) */
    uint64_t unknown_sender;
};

struct ha {
    struct ha_env env;
    const struct ha_config *hc;
    struct ev_loop *loop;
    struct ha_fsm fsm;
    struct hasync sync;
    unsigned n_links;
    struct ha_link links[HA_MAX_LINKS];
    uint64_t node, epoch, seq;
    uint64_t peer_epoch_saved; /* the highest peer epoch kept in --state-dir */
    struct ha_replay replay;
    struct linkmon linkmon;
    ev_timer heartbeat_timer, tick_timer, garp_timer;
    uint64_t master_since_ms;
    struct ha_heartbeat own, peer; /* sections: ours, and the peer's last */
    char mismatch[256];            /* sections that differ, "" when they match */
    /* what the configuration last pushed to the peer was for: its epoch, our edits, a mismatch */
    uint64_t config_generation, pushed_epoch, pushed_generation;
    char pushed_mismatch[256];
    bool pushed_to_master; /* the peer was master then, and ignored it */
    unsigned n_history;
    struct ha_transition history[HA_HISTORY];
    struct ha_stats stats;
};

/* Reads or makes the node id and a new epoch in --state-dir, opens the heartbeat sockets and
 * the link monitor. Starts as backup behind the role gate.
 * False with a message. */
bool ha_open(struct ha *ha, struct ev_loop *loop, const struct ha_env *env, char *err, size_t errlen);
/* Timers on: heartbeats, the state machine, sync. After the rest of the daemon is up. */
void ha_start(struct ha *ha);
/* SIGTERM: what is queued for the peer goes out, and the peer hears "leaving" at once. */
void ha_leave(struct ha *ha);
void ha_close(struct ha *ha);
/* How a --ha-notify command ended (the privileged helper's report): logged unless it exited 0. */
void ha_notify_done(const char *command, int status);

bool ha_is_master(const struct ha *ha);
/* This director's role is decided: it is master, fault or leaving, or a backup that has heard
 * its peer say master (a starting director listens as backup for one dead time first). */
bool ha_role_decided(const struct ha *ha);
/* The configuration changed (an edit): digests again. */
void ha_config_changed(struct ha *ha);
/* rawlb-ctl ha takeover / ha release: the answer for the operator in msg; false if refused. */
bool ha_takeover(struct ha *ha, char *msg, size_t len);
bool ha_release(struct ha *ha, char *msg, size_t len);
/* The peer's address on the first link (for "edit on the master" answers). */
uint32_t ha_peer_addr(const struct ha *ha);
struct textout;
/* HA's part of rawlb-ctl status into o: text lines, or (json) the members of the status object
 * without its braces (the daemon adds the announcement state after them: vipstate.h). */
void ha_render_status(const struct ha *ha, bool json, struct textout *o);

#endif
