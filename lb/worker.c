/* worker: see worker.h. */
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

/* Batches one readable event may take before the loop looks at the other interface. */
#define BATCHES_PER_WAKEUP 16
#define EXPIRE_INTERVAL_S 1.0
#define EXPIRE_AGAIN_S 0.001 /* between two slices while a sweep or a reap walk is behind */

uint32_t workers_now(const struct worker_set *s)
{
    return (uint32_t)((clock_monotonic_ms() - s->started_ms) / 1000u);
}

static void run_batches(struct worker *w, struct capture *rx, bool from_ext)
{
    uint32_t now = workers_now(w->set);
    for (unsigned b = 0; b < BATCHES_PER_WAKEUP; b++) {
        int n = capture_read_batch(rx);
        /* Each worker's socket reports a failing link once: one line per interface will do
         * until the next frame arrives. */
        bool *failing = &w->set->rx_failing[from_ext];
        if (n < 0 && !__atomic_exchange_n(failing, true, __ATOMIC_RELAXED))
            log_warn("receive on %s: %s", from_ext ? w->set->io.ext_name : w->set->io.int_name, strerror(errno));
        if (n <= 0)
            break;
        if (__atomic_load_n(failing, __ATOMIC_RELAXED))
            __atomic_store_n(failing, false, __ATOMIC_RELAXED);
        for (int i = 0; i < n; i++) {
            size_t len = rx->msgs[i].msg_len;
            if (!len)
                continue;
            uint8_t *frame = capture_frame(rx, (unsigned)i);
            if (rx->stale[i] && !fastpath_of_stream(&w->fp, from_ext, frame, len, now)) {
                capture_drop_stale(rx, (unsigned)i);
                continue;
            }
            switch (fastpath_handle(&w->fp, from_ext, frame, &len, now)) {
            case FP_VERDICT_TX_EXT:
                xmit_queue(&w->tx_ext, frame, len);
                break;
            case FP_VERDICT_TX_INT:
                xmit_queue(&w->tx_int, frame, len);
                break;
            case FP_VERDICT_DROP:
                break;
            }
        }
        /* The capture buffers are reused by the next read: send what refers to them first. */
        xmit_flush(&w->tx_ext);
        xmit_flush(&w->tx_int);
        if (n < CAPTURE_BATCH)
            break;
    }
}

static void ext_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct worker *w = io->data;
    run_batches(w, &w->rx_ext, true);
}

static void int_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    (void)revents;
    struct worker *w = io->data;
    run_batches(w, &w->rx_int, false);
}

static void expire_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct worker *w = t->data;
    bool expired, reaped;
    conn_expire_some(&w->fp.conns, workers_now(w->set), WORKER_EXPIRE_BUDGET, &expired);
    fastpath_reap_some(&w->fp, WORKER_REAP_BUDGET, &reaped);
    capture_tick(&w->rx_ext);
    capture_tick(&w->rx_int);
    t->repeat = expired && reaped ? EXPIRE_INTERVAL_S : EXPIRE_AGAIN_S;
    ev_timer_again(loop, t);
}

static void stop_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)a;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

/* Every callback of a worker's loop runs with the gate held shared: the main thread's pauses
 * fall between two wakeups. */
static void worker_invoke(struct ev_loop *loop)
{
    struct worker *w = ev_userdata(loop);
    pthread_rwlock_rdlock(&w->set->gate);
    ev_invoke_pending(loop);
    pthread_rwlock_unlock(&w->set->gate);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    ev_run(w->loop, 0);
    return NULL;
}

static bool open_worker(struct worker_set *s, struct worker *w, const char *ext_filter, const char *int_filter,
                        char *err, size_t errlen)
{
    const struct worker_io_config *io = &s->io;
    if (!capture_open(&w->rx_ext, io->ext_ifindex, ext_filter, CAPTURE_VLAN_COUNTED, err, errlen) ||
        !capture_open(&w->rx_int, io->int_ifindex, int_filter, CAPTURE_VLAN_COUNTED, err, errlen) ||
        !xmit_open(&w->tx_ext, io->ext_ifindex, err, errlen) || !xmit_open(&w->tx_int, io->int_ifindex, err, errlen))
        return false;
    w->loop = ev_loop_new(EVFLAG_AUTO);
    if (!w->loop) {
        snprintf(err, errlen, "worker %u: cannot make an event loop", w->id);
        return false;
    }
    ev_set_userdata(w->loop, w);
    ev_set_invoke_pending_cb(w->loop, worker_invoke);
    ev_io_init(&w->ext_io, ext_cb, w->rx_ext.fd, EV_READ);
    ev_io_init(&w->int_io, int_cb, w->rx_int.fd, EV_READ);
    ev_async_init(&w->stop, stop_cb);
    ev_timer_init(&w->expire, expire_cb, EXPIRE_INTERVAL_S, EXPIRE_INTERVAL_S);
    w->ext_io.data = w->int_io.data = w->expire.data = w;
    ev_io_start(w->loop, &w->ext_io);
    ev_io_start(w->loop, &w->int_io);
    ev_timer_start(w->loop, &w->expire);
    ev_async_start(w->loop, &w->stop);
    return true;
}

/* The fanout programs of both interfaces from the current map. */
static bool join_groups(struct worker_set *s, char *err, size_t errlen)
{
    struct sock_filter ext[FLOW_PROG_MAX], in[FLOW_PROG_MAX];
    struct sock_fprog ext_prog = { .len = (unsigned short)flow_fanout_prog(&s->map, true, ext), .filter = ext };
    struct sock_fprog int_prog = { .len = (unsigned short)flow_fanout_prog(&s->map, false, in), .filter = in };
    uint16_t ext_group = 0, int_group = 0;
    for (unsigned i = 0; i < s->n; i++)
        if (!capture_join_fanout(&s->w[i].rx_ext, &ext_group, i == 0 ? &ext_prog : NULL, err, errlen) ||
            !capture_join_fanout(&s->w[i].rx_int, &int_group, i == 0 ? &int_prog : NULL, err, errlen))
            return false;
    return true;
}

bool workers_open(struct worker_set *s, unsigned n, const struct fastpath_config *fc, struct service_table *services,
                  struct neigh_table *neigh, const struct worker_io_config *io, uint64_t started_ms, char *err,
                  size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->io = *io;
    s->io.ext_filter = s->io.int_filter = NULL; /* the caller's buffers: used here only */
    s->started_ms = started_ms;
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->gate, &attr);
    pthread_rwlockattr_destroy(&attr);
    s->w = calloc(n, sizeof *s->w);
    if (!s->w) {
        snprintf(err, errlen, "out of memory for %u workers", n);
        return false;
    }
    s->n = n;
    for (unsigned i = 0; i < n; i++) /* what a failed start closes must not be descriptor 0 */
        s->w[i].rx_ext.fd = s->w[i].rx_int.fd = s->w[i].tx_ext.fd = s->w[i].tx_int.fd = -1;
    flow_map_init(&s->map, n, services);
    struct fastpath_config share = *fc;
    share.max_conns = fc->max_conns / n + (fc->max_conns % n != 0); /* --max-conns is the total */
    for (unsigned i = 0; i < n; i++) {
        struct worker *w = &s->w[i];
        w->set = s;
        w->id = i;
        if (!fastpath_init(&w->fp, &share, services, neigh)) {
            snprintf(err, errlen, "--max-conns %u: not enough memory for the connection tables", fc->max_conns);
            return false;
        }
        if (!open_worker(s, w, io->ext_filter, io->int_filter, err, errlen))
            return false;
    }
    return n == 1 || join_groups(s, err, errlen);
}

bool workers_start(struct worker_set *s, char *err, size_t errlen)
{
    /* Signals are the main thread's: its loop handles SIGTERM and SIGINT. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < s->n; i++) {
        int rc = pthread_create(&s->w[i].thread, NULL, worker_main, &s->w[i]);
        if (rc != 0) {
            snprintf(err, errlen, "worker %u: cannot start a thread: %s", i, strerror(rc));
            break;
        }
        s->w[i].started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return s->n == 0 || s->w[s->n - 1].started;
}

void workers_stop(struct worker_set *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        struct worker *w = &s->w[i];
        if (w->started) {
            ev_async_send(w->loop, &w->stop);
            pthread_join(w->thread, NULL);
            w->started = false;
        }
    }
}

void workers_close(struct worker_set *s)
{
    if (!s->w)
        return;
    workers_stop(s);
    for (unsigned i = 0; i < s->n; i++) {
        struct worker *w = &s->w[i];
        if (w->loop)
            ev_loop_destroy(w->loop);
        xmit_close(&w->tx_int);
        xmit_close(&w->tx_ext);
        capture_close(&w->rx_int);
        capture_close(&w->rx_ext);
        fastpath_free(&w->fp);
    }
    free(s->w);
    s->w = NULL;
    s->n = 0;
    pthread_rwlock_destroy(&s->gate);
}

void workers_pause(struct worker_set *s)
{
    pthread_rwlock_wrlock(&s->gate);
}

void workers_fold_stats(struct worker_set *s)
{
    for (unsigned i = 0; i < s->n; i++)
        fastpath_fold_stats(&s->w[i].fp);
}

void workers_resume(struct worker_set *s)
{
    pthread_rwlock_unlock(&s->gate);
}

bool workers_set_filters(struct worker_set *s, const char *ext_filter, const char *int_filter, char *err,
                         size_t errlen)
{
    for (unsigned i = 0; i < s->n; i++)
        if ((ext_filter && !capture_set_filter(&s->w[i].rx_ext, ext_filter, err, errlen)) ||
            (int_filter && !capture_set_filter(&s->w[i].rx_int, int_filter, err, errlen)))
            return false;
    return true;
}

bool workers_set_map(struct worker_set *s, const struct service_table *services, char *err, size_t errlen)
{
    struct flow_map next;
    flow_map_init(&next, s->n, services);
    if (flow_map_equal(&next, &s->map))
        return true;
    s->map = next;
    if (s->n == 1)
        return true;
    log_warn("persistence changed how flows are spread over the workers: flows that move to another worker lose "
             "their entries");
    struct sock_filter ext[FLOW_PROG_MAX], in[FLOW_PROG_MAX];
    struct sock_fprog ext_prog = { .len = (unsigned short)flow_fanout_prog(&s->map, true, ext), .filter = ext };
    struct sock_fprog int_prog = { .len = (unsigned short)flow_fanout_prog(&s->map, false, in), .filter = in };
    return capture_set_fanout_prog(&s->w[0].rx_ext, &ext_prog, err, errlen) &&
           capture_set_fanout_prog(&s->w[0].rx_int, &int_prog, err, errlen);
}

unsigned workers_owner_of(const struct worker_set *s, const struct conn *c)
{
    return flow_worker_of_entry(&s->map, c);
}

void workers_sum_stats(const struct worker_set *s, struct fastpath_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < s->n; i++)
        fastpath_stats_add(out, &s->w[i].fp.stats);
}

void workers_totals(struct worker_set *s, struct workers_totals *t)
{
    memset(t, 0, sizeof *t);
    for (unsigned i = 0; i < s->n; i++) {
        struct worker *w = &s->w[i];
        capture_update_stats(&w->rx_ext);
        capture_update_stats(&w->rx_int);
        t->conns_created += w->fp.conns.stats.created;
        t->conns_expired += w->fp.conns.stats.expired;
        for (unsigned k = 0; k < CONN_C_EVICTABLE; k++)
            t->conns_evicted[k] += w->fp.conns.stats.evicted[k];
        t->conn_entries += w->fp.conns.count;
        t->conn_capacity += w->fp.conns.capacity;
        capture_stats_add(&t->rx_ext, &w->rx_ext.stats);
        capture_stats_add(&t->rx_int, &w->rx_int.stats);
        xmit_stats_add(&t->tx_ext, &w->tx_ext.stats);
        xmit_stats_add(&t->tx_int, &w->tx_int.stats);
    }
}
