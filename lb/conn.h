/* conn: the connection table. Fixed capacity, entries in one preallocated pool, found in O(1)
 * from both directions through two keyed hash chains per entry (IPVS ip_vs_conn.c; SipHash-1-3
 * with a key from getrandom, siphash.h):
 *   forward  (client side) key: caddr:cport -> vaddr:vport  (packets from clients)
 *   reverse  (server side) key: daddr:dport -> caddr:cport  (replies from real servers)
 * Entries expire through a timing wheel of one-second slots driven by one periodic call
 * (conn_expire_tick); a packet only moves the entry's deadline, the wheel re-files it lazily.
 * TCP states and timeouts follow IPVS's NAT state table with its secure_tcp rows: a client's ACK
 * establishes a flow only after the server's SYN-ACK was seen, so blind ACKs cannot make
 * long-lived entries. Persistence templates (-p) live in the same table, forward-hashed only, as
 * in IPVS.
 * Floods (Hardening): every entry is in one eviction class (enum conn_class), and each class has
 * its own wheel, so the oldest entry of a class is found at the front of its wheel. Half-open
 * entries have a short timeout and at most CONN_HALF_OPEN_SHARE of the table: past that share a
 * new one replaces the oldest. A full table makes room, oldest first, from closed TCP entries
 * (TIME_WAIT, CLOSE: a flood whose blind ACKs the real server reset ends there), then half-open
 * entries, then UDP entries that are not yet a stream, then established entries idle at least
 * CONN_EVICT_IDLE_MIN; a new flow is refused only when none of these exists. An evicted
 * TCP flow's next segment finds no entry and gets the unknown-flow rule's RST. A persistence
 * template stays in the half-open class until a flow it controls is established, and dies a
 * second after its last such flow: a spoofed SYN costs its template nothing lasting.
 *
 * Design shared by the fast path's users (HA, Edges, Performance, Hardening, Scale-out):
 * - One entry budget: at most 96 bytes per tracked connection, buckets included (today 84 + 8).
 *   What later issues add (eviction class, last-seen time, half-open/mid-flow classes) must fit.
 * - One table per worker, nothing shared or locked. Which worker owns a flow is decided in one
 *   place (flow_worker(), with --workers); HA's import of synced entries goes through it too.
 * - Watchers (conn_watch) learn of every entry made, changed and removed: the per-real-server
 *   counters and HA's connection sync are two of them. An entry keeps no pointer to a watcher.
 * - conn_create makes an entry for a new flow in its initial state; conn_import makes one that
 *   already has a state, a remaining lifetime, a template and a client MAC (a synced entry, as
 *   IPVS's sync sets both), so a flow survives a failover as it was.
 * - Anything that leaves the process names services and real servers by address and port,
 *   never by the slots kept here (slots.h: stable across edits, retired when a server goes).
 * - No call of an event loop walks a whole table: expiry (conn_expire_some) and every other walk
 *   (conn_walk_some: the reap of retired slots' entries, the conns listing) go in bounded slices
 *   resumed over ticks; conn_for_each is for offline drivers and tests. */
#ifndef RAWLB_CONN_H
#define RAWLB_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "inline.h"
#include "packet.h"
#include "siphash.h"

#define CONN_NONE UINT32_MAX
#define CONN_WHEEL_SLOTS 1024 /* seconds; a power of two */

enum tcp_state {
    TCP_S_NONE,
    TCP_S_ESTABLISHED,
    TCP_S_SYN_SENT,
    TCP_S_SYN_RECV,
    TCP_S_FIN_WAIT,
    TCP_S_TIME_WAIT,
    TCP_S_CLOSE,
    TCP_S_CLOSE_WAIT,
    TCP_S_LAST_ACK,
    TCP_S_LISTEN,
    TCP_S_SYNACK,
    TCP_S_COUNT,
    /* Not TCP states: the state slot of other kinds of entries. */
    CONN_S_UDP = TCP_S_COUNT, /* a stream: traffic both ways beyond one request and its reply */
    CONN_S_TEMPLATE,
    CONN_S_UDP_NEW,           /* not yet a stream (conntrack's unassured UDP) */
    CONN_S_COUNT
};

/* What a full table gives up first (conn.h's header): the classes in eviction order, then those
 * never evicted for room. */
enum conn_class {
    CONN_C_CLOSED,      /* TCP TIME_WAIT and CLOSE, entries rawlb dropped: nothing more to carry */
    CONN_C_HALF_OPEN,   /* TCP before the server's SYN-ACK met the client's ACK; unconfirmed templates */
    CONN_C_UDP_NEW,     /* CONN_S_UDP_NEW */
    CONN_C_ESTABLISHED, /* ESTABLISHED and half-closed TCP, UDP streams: only when idle CONN_EVICT_IDLE_MIN */
    CONN_C_TEMPLATE,    /* templates a flow of which was established: never evicted */
    CONN_C_COUNT
};
#define CONN_C_EVICTABLE CONN_C_TEMPLATE /* the classes before it can make room */
/* Half-open entries may take at most 1/CONN_HALF_OPEN_SHARE of the table. */
#define CONN_HALF_OPEN_SHARE 4
/* An established entry is evicted for room only after this long without a packet (IPVS's
 * drop_entry defense leaves established entries younger than a minute alone). */
#define CONN_EVICT_IDLE_MIN 60
/* Entries of a class looked at for one eviction: a class of busy established flows gives up
 * after this many rather than walk the whole table for one new flow. */
#define CONN_EVICT_LOOK_MAX 64

enum conn_dir { CONN_DIR_IN, CONN_DIR_OUT }; /* IN: from the client, OUT: from the real server */

enum conn_flags {
    CONN_F_TEMPLATE = 1 << 0,    /* persistence template: forward hash only, key port may be 0 */
    CONN_F_ONE_PACKET = 1 << 1,  /* -o: reverse hash only, each datagram scheduled on its own */
    CONN_F_RESET = 1 << 2,       /* dropped by rawlb (real server removed): answer with RST */
    CONN_F_LIVE = 1 << 3,        /* in use (set by conn_create, cleared by delete) */
    CONN_F_SYNC_DIRTY = 1 << 5,  /* HA: changed since it was last sent to the peer (queued once) */
    CONN_F_REPLIED = 1 << 6,     /* UDP: the real server has answered */
    CONN_F_CONFIRMED = 1 << 7,   /* template: a flow it controls was established (CONN_C_TEMPLATE) */
};

struct conn {
    uint32_t caddr, vaddr, daddr; /* client, virtual, destination (real server) */
    uint16_t cport, vport, dport;
    uint8_t proto;
    uint8_t state;
    uint16_t flags;
    uint16_t svc, rs;             /* service and server slots (slots.h), not the table's indexes */
    uint8_t wclass;               /* the class (enum conn_class) whose wheel it is filed in */
    uint32_t expires;             /* conn_table.now-based second at which it dies */
    uint32_t filed;               /* the second of the wheel slot it sits in (<= expires) */
    uint32_t template_timeout;    /* templates: the service's persistence timeout */
    uint32_t fwd_next, rev_next;  /* hash chains */
    uint32_t wheel_next, wheel_prev;
    uint32_t template;            /* persistence template controlling this entry, or CONN_NONE */
    uint32_t template_generation; /* the template's generation when it was attached */
    uint32_t controlled;          /* templates: live entries referring to it */
    uint32_t generation;          /* bumped on every reuse of the slot, for weak references */
    uint32_t told_expires;        /* the deadline watchers were last told of (refresh events) */
    uint8_t client_mac[6];        /* next hop the client's frames came from */
};

/* A watcher is told when an entry is made, changes state or goes, so per-real-server counters
 * and HA's sync follow. old_state is CONN_S_COUNT when the entry is new, new_state is
 * CONN_S_COUNT when it goes. old_state == new_state is a refresh: the entry's deadline moved
 * more than half its timeout past the one watchers were last told of (only for watchers that
 * asked for refreshes: the peer's copy of a long-lived flow must not expire before it). The
 * entry may be changed only in its CONN_F_SYNC_DIRTY flag. */
typedef void (*conn_state_cb)(void *arg, struct conn *c, unsigned old_state, unsigned new_state);
#define CONN_MAX_WATCHERS 2

struct conn_watcher {
    conn_state_cb cb;
    void *arg;
    bool refreshes;
};

struct conn_stats {
    uint64_t created, expired, table_full;
    uint64_t evicted[CONN_C_EVICTABLE]; /* by the class they were taken from */
};

struct conn_table {
    struct conn *pool;
    uint32_t capacity;
    uint32_t count;
    uint32_t free_head;    /* entries freed after use */
    uint32_t never_used;   /* entries from here on were never handed out */
    uint32_t *fwd_buckets, *rev_buckets;
    uint32_t bucket_mask;
    struct siphash hash_start; /* the chains' hash: SipHash's state under the table's key */
    uint32_t wheel[CONN_C_COUNT][CONN_WHEEL_SLOTS];
    uint32_t class_count[CONN_C_COUNT];
    uint32_t half_open_max;
    uint32_t now;       /* seconds since the table was made */
    uint32_t swept;     /* the last second whose wheel slots were swept whole */
    /* A sweep cut short: slot swept + 1 of class sweep_class's wheel is being swept (its list
     * taken when sweep_taken), sweep_rest is what is left of that list, or CONN_NONE. */
    uint32_t sweep_rest;
    uint8_t sweep_class;
    bool sweep_taken;
    uint32_t timeout[CONN_S_COUNT];
    struct conn_watcher watchers[CONN_MAX_WATCHERS];
    unsigned n_watchers;
    bool refresh_watched;  /* some watcher wants refreshes */
    bool importing;        /* inside conn_import: watchers tell the peer's entries from ours */
    struct conn_stats stats;
};

/* Allocates the pool and buckets (lazily backed by the kernel: untouched entries cost nothing). */
bool conn_table_init(struct conn_table *t, uint32_t capacity, const struct timeouts *to,
                     const struct siphash_key *key);
void conn_table_free(struct conn_table *t);
void conn_set_timeouts(struct conn_table *t, const struct timeouts *to);

/* The bucket of a key a1:p1 -> a2:p2 (forward: client -> VIP, reverse: server -> client). The
 * hashed message is a1 a2 p1 p2 proto as they sit in the entry (addresses and ports in network
 * order), 13 bytes: one SipHash word and a tail. */
#define CONN_KEY_MSG_LEN 13
FAST_INLINE uint32_t conn_bucket(const struct conn_table *t, uint8_t proto, uint32_t a1, uint16_t p1, uint32_t a2,
                                 uint16_t p2)
{
    struct siphash s = siphash_begin(&t->hash_start);
    siphash_word(&s, (uint64_t)a2 << 32 | a1);
    return (uint32_t)siphash_end(&s, (uint64_t)proto << 32 | (uint32_t)p2 << 16 | p1, CONN_KEY_MSG_LEN) &
           t->bucket_mask;
}

/* The lookups of every packet, inline in the fast path. conn_lookup_in_bucket takes the key's
 * bucket (conn_bucket) from a caller that keeps it for conn_create_in_bucket should it miss. */
FAST_INLINE struct conn *conn_lookup_in_bucket(struct conn_table *t, uint32_t bucket, uint8_t proto, uint32_t caddr,
                                               uint16_t cport, uint32_t vaddr, uint16_t vport)
{
    for (uint32_t i = t->fwd_buckets[bucket]; i != CONN_NONE; i = t->pool[i].fwd_next) {
        struct conn *c = &t->pool[i];
        if (c->caddr == caddr && c->cport == cport && c->vaddr == vaddr && c->vport == vport &&
            c->proto == proto && !(c->flags & CONN_F_TEMPLATE))
            return c;
    }
    return NULL;
}
FAST_INLINE struct conn *conn_lookup_in(struct conn_table *t, uint8_t proto, uint32_t caddr, uint16_t cport,
                                        uint32_t vaddr, uint16_t vport)
{
    return conn_lookup_in_bucket(t, conn_bucket(t, proto, caddr, cport, vaddr, vport), proto, caddr, cport, vaddr,
                                 vport);
}
FAST_INLINE struct conn *conn_lookup_out(struct conn_table *t, uint8_t proto, uint32_t daddr, uint16_t dport,
                                         uint32_t caddr, uint16_t cport)
{
    for (uint32_t i = t->rev_buckets[conn_bucket(t, proto, daddr, dport, caddr, cport)]; i != CONN_NONE;
         i = t->pool[i].rev_next) {
        struct conn *c = &t->pool[i];
        if (c->daddr == daddr && c->dport == dport && c->caddr == caddr && c->cport == cport &&
            c->proto == proto)
            return c;
    }
    return NULL;
}
/* Template lookup: caddr is already masked, vport is 0 for all-port persistence. */
struct conn *conn_lookup_template(struct conn_table *t, uint8_t proto, uint32_t caddr, uint32_t vaddr,
                                  uint16_t vport);

/* New entry in its initial state (TCP_S_NONE for TCP, CONN_S_UDP, CONN_S_TEMPLATE per flags),
 * hashed in the directions its flags call for. The caller fills the addresses, ports, proto,
 * flags, svc, rs, template (CONN_NONE or a template's index), template_timeout for templates
 * and client_mac. NULL when the table is full (counted). */
struct conn *conn_create(struct conn_table *t, const struct conn *proto_entry);
/* conn_create for a flow entry whose forward bucket the caller has from its conn_lookup_in_bucket
 * of the same key, so the key is hashed once for both (a one-packet entry, hashed only in
 * reverse, ignores it). Not for templates. */
struct conn *conn_create_in_bucket(struct conn_table *t, const struct conn *proto_entry, uint32_t fwd_bucket);
/* An entry as another director had it (HA sync): like conn_create but entry->state is kept,
 * the entry dies in lifetime seconds unless refreshed, and its template index, template_timeout
 * and client_mac are taken as given. An entry with the same key is replaced. NULL when the table
 * is full (counted). Watchers see t->importing set while they are told. */
struct conn *conn_import(struct conn_table *t, const struct conn *entry, uint32_t lifetime);
/* The entry with entry's key, in the direction entries of its kind are hashed by (templates and
 * flows by their client side, one-packet entries by their server side), or NULL. */
struct conn *conn_find(struct conn_table *t, const struct conn *entry);
/* Adds a watcher (at most CONN_MAX_WATCHERS; false when full). */
bool conn_watch(struct conn_table *t, conn_state_cb cb, void *arg, bool refreshes);
/* Seconds until the entry expires at the table's now (0 if due). */
uint32_t conn_lifetime(const struct conn_table *t, const struct conn *c);
void conn_delete(struct conn_table *t, struct conn *c);

/* ---- the per-packet updates, inline; their rare parts stay in conn.c ---- */

/* An entry rawlb dropped lives on just long enough to answer the client's next segment. */
#define CONN_TIMEOUT_RESET 10
/* The segment kinds of IPVS's NAT state table, conn_tcp_transitions[dir][kind][state]. */
enum conn_seg { CONN_SEG_SYN, CONN_SEG_FIN, CONN_SEG_ACK, CONN_SEG_RST, CONN_SEG_KINDS };
extern const uint8_t conn_tcp_transitions[2][CONN_SEG_KINDS][TCP_S_COUNT];
/* For the inline updates only: the entry goes to another state (its watchers are told); its
 * deadline moves earlier than the wheel slot it sits in, or watchers want refreshes. */
void conn_change_state(struct conn_table *t, struct conn *c, unsigned state);
void conn_move_deadline(struct conn_table *t, struct conn *c, uint32_t expires, uint32_t timeout);

FAST_INLINE uint32_t conn_timeout_of(const struct conn_table *t, const struct conn *c)
{
    if (c->flags & CONN_F_RESET)
        return CONN_TIMEOUT_RESET;
    if (c->state == CONN_S_TEMPLATE)
        return c->template_timeout;
    return t->timeout[c->state];
}

/* A later deadline only moves the number: the wheel re-files the entry when its slot comes
 * round (conn_expire_tick). */
FAST_INLINE void conn_set_deadline(struct conn_table *t, struct conn *c, uint32_t timeout)
{
    uint32_t expires = t->now + timeout;
    if ((int32_t)(expires - c->filed) < 0 || t->refresh_watched)
        conn_move_deadline(t, c, expires, timeout);
    else
        c->expires = expires;
}

/* Advance the TCP state machine for a segment seen in dir with these TCP flags
 * (TH_SYN/TH_FIN/TH_ACK/TH_RST bits as in the header) and refresh the deadline. */
FAST_INLINE void conn_tcp_update(struct conn_table *t, struct conn *c, enum conn_dir dir, uint8_t tcp_flags)
{
    int seg;
    if (tcp_flags & TH_RST_)
        seg = CONN_SEG_RST;
    else if (tcp_flags & TH_SYN_)
        seg = CONN_SEG_SYN;
    else if (tcp_flags & TH_FIN_)
        seg = CONN_SEG_FIN;
    else if (tcp_flags & TH_ACK_)
        seg = CONN_SEG_ACK;
    else
        seg = -1;
    if (seg >= 0 && c->state < TCP_S_COUNT) {
        unsigned next = conn_tcp_transitions[dir][seg][c->state];
        if (next != c->state)
            conn_change_state(t, c, next);
    }
    conn_set_deadline(t, c, conn_timeout_of(t, c));
}

/* Refresh the deadline of a UDP entry, or of a template (from its template_timeout). */
FAST_INLINE void conn_touch(struct conn_table *t, struct conn *c)
{
    conn_set_deadline(t, c, conn_timeout_of(t, c));
}
/* A UDP datagram in dir: an entry becomes a stream (CONN_S_UDP) at its first packet after the
 * server's first answer, as conntrack assures UDP; then its deadline is refreshed. */
FAST_INLINE void conn_udp_update(struct conn_table *t, struct conn *c, enum conn_dir dir)
{
    if (c->state == CONN_S_UDP_NEW) {
        if (c->flags & CONN_F_REPLIED)
            conn_change_state(t, c, CONN_S_UDP);
        else if (dir == CONN_DIR_OUT)
            c->flags |= CONN_F_REPLIED;
    }
    conn_touch(t, c);
}
/* Mark an entry dropped by rawlb: its next client packet is answered with an RST. */
void conn_mark_reset(struct conn_table *t, struct conn *c);

typedef void (*conn_visit_fn)(void *arg, struct conn_table *t, struct conn *c);
/* Calls fn for every live entry; fn may mark, reset or delete the entry it gets. O(entries ever
 * used) in one call: for offline drivers and tests. What runs in the loop uses conn_walk_some. */
void conn_for_each(struct conn_table *t, conn_visit_fn fn, void *arg);
/* The same walk in bounded slices, resumed across calls and ticks: *cursor is the pool index to
 * go on from (0 to begin); the next budget pool slots are looked at and fn is called for the live
 * ones among them. True once the cursor has passed every slot ever used (the walk is done).
 * The table may change between two calls: the pool never moves, so resuming is always safe, but
 * an entry made behind the cursor meanwhile is not visited, and one deleted and made again ahead
 * of it is visited under its new key (a listing spread over ticks may miss an entry or show a
 * flow twice). */
bool conn_walk_some(struct conn_table *t, uint32_t *cursor, uint32_t budget, conn_visit_fn fn, void *arg);

/* Advance the clock to now (seconds, monotonic, from the caller's clock) and expire what is due,
 * looking at no more than budget entries: a flood's million entries all due in one second are
 * expired over several calls instead of in one long one (*done false: call again soon; entries
 * past their deadline meanwhile still forward). Returns the number of entries expired. */
uint32_t conn_expire_some(struct conn_table *t, uint32_t now, uint32_t budget, bool *done);
/* The same without a budget (offline drivers, tests). */
uint32_t conn_expire_tick(struct conn_table *t, uint32_t now);

static inline uint32_t conn_index(const struct conn_table *t, const struct conn *c)
{
    return (uint32_t)(c - t->pool);
}

const char *conn_state_name(unsigned state);
/* "closed", "half_open", "udp_new", "established", "template". */
const char *conn_class_name(unsigned cls);

#endif
