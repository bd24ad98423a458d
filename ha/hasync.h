/* hasync: connection sync between two directors, as code without sockets or clock of its own
 * (the caller gives milliseconds and a send function), so unit tests run two of them back to back.
 *
 * Several tables: the fast path has one connection table per worker. hasync watches each of
 * them; a queued entry is named by its table and its index there. A whole-table transfer walks
 * every table (the templates of all of them first). A received record is imported into the
 * table of the worker that owns the flow (hasync_owner_fn, the fast path's own choice), and a
 * flow's persistence template is looked up in that same table: the owner of a template owns its
 * flows. One table and an owner that always says 0 is the single-worker daemon.
 *
 * Threads: everything here runs with no worker active (the daemon's main loop pauses them
 * around its callbacks), but the watcher, which each worker calls under its own table's lock,
 * two of them possibly at once: it takes queue_lock around what it shares (the queue, the
 * datagram being filled, the window, and the send function: a DELETE that fills a datagram sends
 * it from the worker), and only when it queues or sends something (an entry already queued costs
 * no lock).
 *
 * Sender: a watcher on the connection tables (conn_watch). Every entry made, changed or
 * refreshed is marked CONN_F_SYNC_DIRTY and queued once by table and index; hasync_flush (every
 * HASYNC_FLUSH_MS, and whenever an acknowledgement frees room) turns the queue into datagrams of
 * up to HA_SYNC_MAX_RECORDS records, reading each entry as it is then: a flow's first packet
 * reaches the peer within one flush period (IPVS syncs only after several packets, so its short
 * and fresh flows are lost at a failover). A removed entry is sent as a DELETE record at once.
 * Records name services and real servers by address and port and carry state and remaining
 * lifetime. Only a master sends what its flows do (a backup's entries come from the peer).
 *
 * Reliability: the datagrams form one ordered stream. stream_seq's high 16 bits name the stream
 * (a new one whenever the peer restarts), its low 48 bits count datagrams from 1. The receiver
 * applies only the next one in order, acknowledges cumulatively, and drops the rest; the
 * sender keeps up to HASYNC_WINDOW unacknowledged datagrams and resends from the oldest after
 * HASYNC_RESEND_MS (go-back-N: losses between two directors on one LAN are rare), waiting twice
 * as long after each round that brought no acknowledgement, up to HASYNC_RESEND_MAX_MS; or at
 * once when HASYNC_DUP_ACKS acknowledgements in a row name the same datagram (the receiver
 * acknowledges every datagram, so those mean one after it was lost: TCP's fast retransmit).
 * When the queue or the window overflows, entries are not lost silently: the overflow is counted
 * and a whole-table transfer follows.
 *
 * Whole-table transfer (bulk): BULK_BEGIN, every live entry of every table (the templates of all
 * tables first, so entries find the template they belong to), BULK_END, paced by the window.
 * Sent when the peer asks for it (a returning node: heartbeat flag WANT_TABLE), after an
 * overflow, and by a master that yields after a split brain. The receiver reports BULK_END (the peer's table is complete).
 *
 * Configuration: the master's configuration text travels in the same stream as CONFIG chunks
 * (hasync_send_config); the receiver puts the chunks together and hands the whole text on.
 *
 * Receiver: applies records with conn_import (state, lifetime, template, client MAC kept). A
 * backup takes every update; a master only adds entries it does not have (its own are newer).
 * A record naming a service or real server this director does not have is counted, not applied
 * (the configurations differ: the heartbeat's digests say where). */
#ifndef RAWLB_HASYNC_H
#define RAWLB_HASYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "hamsg.h"
#include "service.h"

#define HASYNC_QUEUE 65536      /* entries waiting to be sent, of all tables (a power of two) */
#define HASYNC_MAX_TABLES 256   /* connection tables (workers): a queued entry names its table in a byte */
#define HASYNC_WINDOW 256       /* datagrams sent and not yet acknowledged */
#define HASYNC_FLUSH_MS 20      /* queue to datagrams at least this often (<< 100 ms) */
#define HASYNC_RESEND_MS 200    /* an unacknowledged datagram is sent again after this, */
#define HASYNC_RESEND_MAX_MS 5000 /* doubling while nothing is acknowledged (a dead peer) */
#define HASYNC_DUP_ACKS 3       /* acknowledgements of the same datagram that mean a loss after it */
/* The receive buffer a sync socket needs: a whole window in flight (its kernel accounting is about
 * twice the bytes) with room to spare, so a burst is not dropped before it is read. */
#define HASYNC_SOCKET_BUFFER (2u << 20)
#define HASYNC_STREAM_SHIFT 48  /* stream_seq = stream << 48 | datagram number */

/* Sends one SYNC or SYNC_ACK payload to the peer (the caller seals it); false if it could not. */
typedef bool (*hasync_send_fn)(void *arg, enum ha_msg_type type, const uint8_t *payload, size_t len);
/* The index (< the number of tables) of the table an entry belongs in, from its key: the owner
 * of a received entry or template before it is imported. A template and its flows have the
 * same owner. */
typedef unsigned (*hasync_owner_fn)(void *arg, const struct conn *entry);
/* The peer's whole table has arrived (BULK_END applied). */
typedef void (*hasync_table_fn)(void *arg);
/* The peer's whole configuration text has arrived (text[len] is a NUL). */
typedef void (*hasync_config_fn)(void *arg, const char *text, size_t len);

struct hasync_stats {
    uint64_t datagrams_sent, datagrams_resent, fast_resends, records_sent, bulks_sent;
    uint64_t datagrams_received, records_applied, records_unknown, records_stale;
    uint64_t out_of_order, acks_sent, acks_received, overflows, bulks_received;
    uint64_t configs_sent, configs_received;
};

struct hasync_slot {
    uint64_t seq, sent_ms;
    uint16_t len;
    uint8_t payload[HA_PAYLOAD_MAX];
};

/* One watched table; the watcher's argument, so that it knows the table of the entry it is told of. */
struct hasync_table {
    struct hasync *sync;
    struct conn_table *conns;
};

struct hasync {
    struct hasync_table tables[HASYNC_MAX_TABLES];
    unsigned n_tables; /* 0 before hasync_init and after hasync_free */
    hasync_owner_fn owner;
    struct service_table *services;
    hasync_send_fn send;
    hasync_table_fn table_done;
    hasync_config_fn config_done;
    void *arg;
    uint64_t epoch; /* ours: the peer's acknowledgements name it */
    bool sending;   /* master: our flows go to the peer */
    bool master;  /* received records only add entries */
    uint64_t now_ms;
    /* sender */
    pthread_mutex_t queue_lock; /* the watchers of several workers (see Threads above) */
    uint32_t *queue_idx, *queue_gen; /* an entry's index in its table, its generation then */
    uint8_t *queue_table;            /* and its table */
    uint32_t queue_head, queue_len;
    struct ha_sync out;   /* the datagram being filled */
    struct hasync_slot *window;
    uint64_t stream;      /* high bits of our stream_seq */
    uint64_t next_number; /* the next datagram's number in the stream */
    uint64_t acked;       /* the highest number acknowledged */
    uint64_t resend_ms;   /* the wait before the next resend round */
    unsigned dup_acks;    /* acknowledgements of s->acked again since it advanced */
    bool bulk_wanted, bulk_running;
    unsigned bulk_pass;   /* 0: templates, 1: the rest */
    unsigned bulk_table;  /* the table the pass is in */
    uint32_t bulk_pos;    /* and the index there */
    uint64_t bulk_end_number; /* the datagram holding BULK_END until it is acknowledged, else 0 */
    uint64_t bulk_acked_ms;   /* when the last whole table was acknowledged */
    char *config_out;         /* a configuration being sent, or NULL */
    size_t config_out_len, config_out_off;
    /* receiver */
    uint64_t in_epoch, in_stream, in_next; /* the peer's stream and the number it must send next */
    char *config_in;                       /* the peer's configuration being put together */
    size_t config_in_total, config_in_got;
    struct hasync_stats stats;
};

/* Watches the n_tables tables (conn_watch; 1 to HASYNC_MAX_TABLES) and allocates the queue and
 * window; owner (with arg, as the other callbacks) names the table a received entry goes into.
 * False when memory is short or n_tables is out of range. */
bool hasync_init(struct hasync *s, struct conn_table *const *tables, unsigned n_tables, hasync_owner_fn owner,
                 struct service_table *services, hasync_send_fn send, hasync_table_fn table_done,
                 hasync_config_fn config_done, void *arg);
void hasync_free(struct hasync *s);

/* Role: whether our flows are sent, whether received records may replace ours. */
void hasync_set_role(struct hasync *s, bool sending, bool master);
/* The peer restarted (a new epoch in its heartbeat): a new stream starts, and what was in flight
 * is dropped (the peer asks for the whole table). */
void hasync_peer_restarted(struct hasync *s);
/* Send the whole table (again) from the start. */
void hasync_request_bulk(struct hasync *s);
/* Send this configuration text (copied; one being sent is replaced). False when memory is short
 * or it is longer than HA_CONFIG_TOTAL_MAX. */
bool hasync_send_config(struct hasync *s, const char *text, size_t len);

/* Timer and after acknowledgements: queue to datagrams, bulk progress, resends. */
void hasync_flush(struct hasync *s, uint64_t now_ms);
/* An authentic, fresh SYNC or SYNC_ACK payload from the peer of epoch peer_epoch. */
void hasync_receive(struct hasync *s, uint64_t peer_epoch, enum ha_msg_type type, const uint8_t *payload,
                    size_t len, uint64_t now_ms);

/* A whole-table transfer is wanted, running or not yet acknowledged. */
static inline bool hasync_bulk_busy(const struct hasync *s)
{
    return s->bulk_wanted || s->bulk_running || s->bulk_end_number;
}

/* Datagrams sent and not yet acknowledged, entries waiting in the queue. */
uint32_t hasync_in_flight(const struct hasync *s);
static inline uint32_t hasync_queued(const struct hasync *s)
{
    return s->queue_len;
}

#endif
