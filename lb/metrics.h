/* metrics: --metrics ADDR:PORT, the daemon's counters in Prometheus text format (version 0.0.4)
 * at GET /metrics, served by libmicrohttpd from its own thread; the same server also serves the
 * web status page (statuspage.h: its files) and its data, /status.json (statusjson.h).
 * That thread never reads the fast path's live structures: once a second the event loop renders
 * the texts of a snapshot (metrics_render and statusjson_render, pure functions) into a new
 * immutable, refcounted metrics_snapshot and swaps it in under a mutex (metrics_publish). A scrape
 * (of either text) takes a reference and sends the snapshot's text itself, no copy: however many
 * scrape at once, each second's snapshot exists once, freed when the last response sending it is
 * done. So a scrape shows the state of the last tick, at most about a second old.
 * Limits (metrics.c): connections in all and per client address, and an absolute lifetime per
 * connection whatever it does, which also bounds the snapshots alive at once. Listening beyond
 * loopback is allowed and logged.
 *
 * HA (--ha-role): the rawlb_ha_* families show what rawlb-ctl status (text and --json,
 * ha_render_status) and the log say, from the same fields of struct ha: role and node
 * (rawlb_ha_info), state (rawlb_ha_state: 1 for the current one, 0 for the others, named as
 * in the log), transitions, epochs, the peer, every link, the configuration comparison,
 * heartbeats, rejected datagrams and connection sync. The loop copies them into a
 * metrics_ha_view of plain values (metrics_ha_fill), so rendering stays pure.
 * Without --ha-role there is no rawlb_ha_* family at all: such a director always forwards (as
 * rawlb-ctl status says, "always master"), and an absent rawlb_ha_info is how a query tells.
 *
 * BGP announcement (vipstate.h): rawlb_vip_eligible and rawlb_vip_announced per VIP and
 * rawlb_announcers, as rawlb-ctl status shows them. */
#ifndef RAWLB_METRICS_H
#define RAWLB_METRICS_H

#include <net/if.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <threads.h> /* C11 mtx_t: <pthread.h> would pull in <sched.h>, which lb/sched.h shadows */

#include "addr.h"
#include "ctlproto.h"
#include "fastpath.h"
#include "haconfig.h"
#include "hamsg.h"
#include "hasync.h"
#include "service.h"
#include "vipstate.h"

#define METRICS_PATH "/metrics" /* also served: /status.json and the web page (statuspage.h) */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One --ha-if/--ha-peer link, as rawlb-ctl status shows it. */
struct metrics_ha_link {
    char ifname[IF_NAMESIZE];
    uint32_t peer; /* network order */
    bool up;       /* the peer heard on it within the dead time */
    uint64_t rx, tx, tx_failed; /* authentic datagrams taken (heartbeats and sync), sent, not sent */
};

/* HA as one snapshot shows it: plain values (no event-loop types), filled by metrics_ha_fill. */
struct metrics_ha_view {
    enum ha_role role;
    enum ha_state state;
    uint64_t node, epoch;
    uint64_t state_changes; /* transitions since start */
    bool peer_heard;        /* ever: else the peer fields and the configuration comparison are empty */
    bool peer_alive;        /* heard within the dead time */
    uint64_t peer_age_ms;   /* since its last heartbeat (when heard) */
    uint64_t peer_epoch;
    bool config_differs;    /* the heartbeat's digests say the configurations differ */
    unsigned n_links;
    struct metrics_ha_link links[HA_MAX_LINKS];
    uint64_t heartbeats_sent, heartbeats_received;
    uint64_t rejected[HA_STALE + 1]; /* by enum ha_verdict (HA_OK unused) */
    uint64_t unknown_sender;
    struct hasync_stats sync;
    uint32_t sync_queued, sync_in_flight;
};

/* One fast-path worker (--workers): how the fanout spreads the flows. */
struct metrics_worker_view {
    uint64_t frames;       /* received on both interfaces */
    uint32_t conn_entries; /* its table's entries */
};

/* Everything one snapshot shows, read by metrics_render only. */
struct metrics_view {
    const struct service_table *services;
    const struct fastpath_stats *fp;
    ctl_health_fn health; /* may be NULL: then rawlb_rs_up follows the schedule (available) */
    void *health_arg;
    const char *ext_if, *int_if;
    uint32_t conn_entries, conn_capacity;
    uint64_t conns_created, conns_expired;
    uint64_t conns_evicted[CONN_C_EVICTABLE]; /* by class (conn.h) */
    uint64_t rx_kernel_drops_ext, rx_kernel_drops_int; /* receive buffer overruns */
    uint64_t rx_too_old_ext, rx_too_old_int;           /* dropped unread in overload (capture.h) */
    uint64_t rx_vlan_ext, rx_vlan_int;                 /* frames of other VLANs, left out (capture.h) */
    uint64_t tx_failed_ext, tx_failed_int;             /* sendmmsg failures */
    const struct metrics_ha_view *ha;                  /* NULL without --ha-role: no rawlb_ha_* */
    unsigned n_workers;
    const struct metrics_worker_view *workers;         /* n_workers of them */
    const struct vipstate *vips;                       /* BGP announcement (vipstate.h); NULL: no rawlb_vip_* */
    unsigned announcers;                               /* announcers watching now */
};

/* Renders the exposition text into buf (always NUL-terminated when len > 0). Returns the length
 * the whole text needs, like snprintf: a result >= len means buf holds only the lines that fit
 * whole. Families appear in a fixed order, each with its # HELP and # TYPE lines. */
size_t metrics_render(const struct metrics_view *v, char *buf, size_t len);

/* Writes s into out (outlen bytes) as a label value: backslash, double quote and newline
 * escaped as the text format wants. Returns the escaped length (like snprintf). */
size_t metrics_escape_label(const char *s, char *out, size_t outlen);

/* What metrics_ha_fill remembers between snapshots to count transitions: struct ha keeps only
 * the last HA_HISTORY of them, so the count grows by the entries after the last one seen. */
struct metrics_ha_track {
    uint64_t changes;
    bool seen; /* last_* hold the newest transition counted */
    uint64_t last_at_ms;
    uint8_t last_from, last_to;
    const char *last_reason;
};

/* "primary" or "backup", as rawlb-ctl status names the role (/status.json too). */
const char *metrics_ha_role_name(enum ha_role role);

struct ha;
/* Event loop: copies ha's status into out (as ha_render_status reads it, now_ms on the
 * monotonic clock) and returns out. Transitions are counted through track (more than
 * HA_HISTORY between two calls are counted as HA_HISTORY). */
const struct metrics_ha_view *metrics_ha_fill(struct metrics_ha_view *out, struct metrics_ha_track *track,
                                              const struct ha *ha, uint64_t now_ms);

/* One published snapshot: never written after metrics_snapshot_render returns it. It holds both
 * texts the server renders, /metrics and /status.json (statusjson.h), from the same view. */
struct metrics_snapshot {
    atomic_uint refs; /* the metrics struct's (while current) and one per response sending it */
    size_t len;        /* /metrics: text[0..len), then a NUL */
    size_t status_len; /* /status.json: status_len bytes from text + len + 1, then a NUL */
    char text[];
};

/* The /status.json text of s. */
static inline const char *metrics_snapshot_status(const struct metrics_snapshot *s)
{
    return s->text + s->len + 1;
}

/* Renders v into a new snapshot holding one reference (the caller's). *cap_hint is the size to
 * try first; when the text needs more it grows (with room to spare) and the render is redone.
 * NULL when out of memory. */
struct metrics_snapshot *metrics_snapshot_render(const struct metrics_view *v, size_t *cap_hint);
/* One more reference (any thread); returns s. */
struct metrics_snapshot *metrics_snapshot_ref(struct metrics_snapshot *s);
/* Drops one (any thread); the last frees s. NULL is ignored. */
void metrics_snapshot_unref(struct metrics_snapshot *s);

struct MHD_Daemon;
struct metrics_conn;

struct metrics {
    struct MHD_Daemon *mhd;
    thrd_t thread;                /* runs libmicrohttpd and closes connections past their deadline */
    bool running;                 /* the thread was started */
    int wake_fd;                  /* eventfd: metrics_stop wakes the thread to end it */
    mtx_t lock;                   /* guards cur (the pointer: a snapshot's refs are atomic) */
    struct metrics_snapshot *cur; /* the published snapshot, or NULL before the first */
    size_t render_cap;            /* the event loop's: the size to render the next snapshot into */
    struct metrics_conn *conns_head, *conns_tail; /* the thread's: open connections, oldest first */
    uint64_t log_ms, log_suppressed; /* the thread's: libmicrohttpd's last message logged, and since */
    struct metrics_ha_track ha_track; /* the event loop's, for metrics_ha_fill */
};

/* Binds ADDR:PORT and makes the HTTP server, no thread yet (the daemon opens it before it
 * drops its privileges, and starts threads after). False with a message naming --metrics and
 * the address (e.g. the port is in use). */
bool metrics_open(struct metrics *m, const struct endpoint *ep, char *err, size_t errlen);
/* Starts the HTTP thread of an open m. False with a message. */
bool metrics_start(struct metrics *m, char *err, size_t errlen);
/* Event loop: render v and make it what the next scrape sees. */
void metrics_publish(struct metrics *m, const struct metrics_view *v);
/* Stops the thread, closes the connections and the socket, drops the snapshot. Safe on a
 * never-opened struct that was zeroed (and on one whose open or start failed). */
void metrics_stop(struct metrics *m);

#endif
