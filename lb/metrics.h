/* metrics: --metrics ADDR:PORT, the daemon's counters in Prometheus text format (version 0.0.4)
 * at GET /metrics, served by libmicrohttpd from its own thread.
 * That thread never reads the fast path's live structures: once a second the event loop renders
 * a text snapshot (metrics_render, a pure function) into a spare buffer and swaps it in under a
 * mutex (metrics_publish); a request copies the current snapshot under the same mutex. So a
 * scrape shows the state of the last tick, at most about a second old.
 * HA does not exist yet: rawlb_ha_role says master. */
#ifndef RAWLB_METRICS_H
#define RAWLB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <threads.h> /* C11 mtx_t: <pthread.h> would pull in <sched.h>, which lb/sched.h shadows */

#include "addr.h"
#include "ctlproto.h"
#include "fastpath.h"
#include "service.h"

#define METRICS_PATH "/metrics"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Everything one snapshot shows, read by metrics_render only. */
struct metrics_view {
    const struct service_table *services;
    const struct fastpath_stats *fp;
    ctl_health_fn health; /* may be NULL: then rawlb_rs_up follows the schedule (available) */
    void *health_arg;
    const char *ext_if, *int_if;
    uint32_t conn_entries, conn_capacity;
    uint64_t conns_created, conns_expired;
    uint64_t rx_kernel_drops_ext, rx_kernel_drops_int; /* receive buffer overruns */
    uint64_t tx_failed_ext, tx_failed_int;             /* sendmmsg failures */
    const char *ha_role;                               /* NULL = "master" */
};

/* Renders the exposition text into buf (always NUL-terminated when len > 0). Returns the length
 * the whole text needs, like snprintf: a result >= len means buf holds only the lines that fit
 * whole. Families appear in a fixed order, each with its # HELP and # TYPE lines. */
size_t metrics_render(const struct metrics_view *v, char *buf, size_t len);

/* Writes s into out (outlen bytes) as a label value: backslash, double quote and newline
 * escaped as the text format wants. Returns the escaped length (like snprintf). */
size_t metrics_escape_label(const char *s, char *out, size_t outlen);

struct MHD_Daemon;

struct metrics {
    struct MHD_Daemon *mhd;
    int fd;               /* the listening socket, ours (MHD only uses it) */
    mtx_t lock;           /* guards cur, cur_len, cur_cap, scrapes */
    char *cur;            /* the published snapshot, or NULL before the first */
    size_t cur_len, cur_cap;
    char *spare; /* rendered into by the event loop, then swapped with cur */
    size_t spare_cap;
    uint64_t scrapes; /* under lock */
};

/* Binds ADDR:PORT and starts the HTTP thread. False with a message naming --metrics and the
 * address (e.g. the port is in use). */
bool metrics_start(struct metrics *m, const struct endpoint *ep, char *err, size_t errlen);
/* Event loop: render v and make it what the next scrape sees. */
void metrics_publish(struct metrics *m, const struct metrics_view *v);
/* Stops the thread, closes the socket, frees the buffers. Safe on a never-started struct that
 * was zeroed (and on one whose start failed). */
void metrics_stop(struct metrics *m);

#endif
