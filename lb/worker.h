/* worker: the fast path's threads (--workers N). Each worker owns a struct fastpath (its own
 * connection table, fragment map, reply budget and counters), one capture and one send socket
 * per interface, and an event loop of its own on a thread of its own. With several workers the
 * capture sockets of an interface form one PACKET_FANOUT group whose program (flowworker.h)
 * hands every flow to the worker that owns it, in both directions.
 *
 * Each worker also expires its own table, and reaps the entries of servers removed or dropped
 * (fastpath_reap_some), in bounded slices (worker.c).
 * The main thread owns everything else (control, health, HA, timers, ARP) and is the only one
 * that changes shared state: the service table, the neighbour table, a worker's fastpath from
 * outside. It does so only between workers_pause and workers_resume, which wait for every
 * worker to finish the wakeup it is in and hold them all until resumed (a writer-preferring
 * read-write lock: workers take it shared around each wakeup's frames, the main thread
 * exclusively around each of its own callbacks, and a waiting main thread is not starved by
 * workers that go straight back to their frames). Workers write shared state only in the two
 * places made for it: the real servers' connection counters (atomics, read by the schedulers)
 * and the schedulers' own state (each service's scheduler lock). */
#ifndef RAWLB_WORKER_H
#define RAWLB_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "capture.h"
#include "fastpath.h"
#include "flowworker.h"
#include "xmit.h"

/* Expiry: each worker sweeps its own table once a second, in slices of WORKER_EXPIRE_BUDGET
 * entries a millisecond apart while a sweep is behind, so a flood of entries due in one second
 * never holds the worker's frames (or the other workers') for long; the reap walk
 * (fastpath_reap_some: entries of servers removed or dropped) goes in the same slices,
 * WORKER_REAP_BUDGET pool slots each, most of them a flag and a slot to look at. Measured with
 * 1,048,576 entries in one table (tools/walk-bench.c, BENCHMARKS.md "Walks"): a reap slice takes
 * about half a millisecond and an expiry slice about two (8,192 entries took four once the
 * eviction classes came), where one sweep or one drop held the loop for all of it. */
#define WORKER_EXPIRE_BUDGET 4096
#define WORKER_REAP_BUDGET 32768

struct worker {
    struct worker_set *set;
    unsigned id;
    struct fastpath fp;
    struct capture rx_ext, rx_int;
    struct xmit tx_ext, tx_int;
    struct ev_loop *loop;
    ev_io ext_io, int_io;
    ev_timer expire; /* its table's expiry and reaping, in slices */
    ev_async stop;
    pthread_t thread;
    bool started;
};

struct worker_io_config {
    int ext_ifindex, int_ifindex;
    const char *ext_name, *int_name; /* for log lines */
    const char *ext_filter, *int_filter; /* at start only */
};

struct worker_set {
    unsigned n;
    struct worker *w;
    struct flow_map map;
    pthread_rwlock_t gate;
    uint64_t started_ms; /* the fast path's clock: seconds since then */
    struct worker_io_config io;
    bool rx_failing[2]; /* [from_ext]: a receive error was logged, no frame read since */
};

/* Makes n workers with their fastpaths (the total connection budget split evenly), their
 * sockets and, with n > 1, the fanout groups. False with a message. */
bool workers_open(struct worker_set *s, unsigned n, const struct fastpath_config *fc, struct service_table *services,
                  struct neigh_table *neigh, const struct worker_io_config *io, uint64_t started_ms, char *err,
                  size_t errlen);
/* Threads on. */
bool workers_start(struct worker_set *s, char *err, size_t errlen);
/* Threads off (each finishes its wakeup); the counters stay readable. */
void workers_stop(struct worker_set *s);
/* Stopped if they were not, then sockets and tables freed. */
void workers_close(struct worker_set *s);

void workers_pause(struct worker_set *s);
void workers_resume(struct worker_set *s);
/* Paused: the workers' per-packet counters added into the service table, before it is read
 * (tick, control) or renumbered (edits). Not on every pause: a table of thousands of servers
 * would be walked for every health probe's callback. */
void workers_fold_stats(struct worker_set *s);

/* Main thread, paused: the capture filters after an edit; the fanout programs when the
 * services' persistence changed what a flow is keyed on. */
bool workers_set_filters(struct worker_set *s, const char *ext_filter, const char *int_filter, char *err,
                         size_t errlen);
bool workers_set_map(struct worker_set *s, const struct service_table *services, char *err, size_t errlen);

/* The worker owning a synced entry or template (HA). */
unsigned workers_owner_of(const struct worker_set *s, const struct conn *c);

/* Sums, for what is shown (paused). */
void workers_sum_stats(const struct worker_set *s, struct fastpath_stats *out);
struct workers_totals {
    uint64_t conns_created, conns_expired;
    uint64_t conns_evicted[CONN_C_EVICTABLE]; /* by class (conn.h) */
    uint32_t conn_entries, conn_capacity;
    struct capture_stats rx_ext, rx_int;
    struct xmit_stats tx_ext, tx_int;
};
void workers_totals(struct worker_set *s, struct workers_totals *t);

/* The fast path's clock. */
uint32_t workers_now(const struct worker_set *s);

#endif
