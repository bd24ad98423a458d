/* conn: the connection table. Fixed capacity, entries in one preallocated pool, found in O(1)
 * from both directions through two seeded hash chains per entry (IPVS ip_vs_conn.c):
 *   forward  (client side) key: caddr:cport -> vaddr:vport  (packets from clients)
 *   reverse  (server side) key: daddr:dport -> caddr:cport  (replies from real servers)
 * Entries expire through a timing wheel of one-second slots driven by one periodic call
 * (conn_expire_tick); a packet only moves the entry's deadline, the wheel re-files it lazily.
 * TCP states and timeouts follow IPVS's NAT state table. Persistence templates (-p) live in
 * the same table, forward-hashed only, as in IPVS.
 * The table belongs to one worker: nothing here is shared or locked. */
#ifndef RAWLB_CONN_H
#define RAWLB_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

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
    CONN_S_UDP = TCP_S_COUNT,
    CONN_S_TEMPLATE,
    CONN_S_COUNT
};

enum conn_dir { CONN_DIR_IN, CONN_DIR_OUT }; /* IN: from the client, OUT: from the real server */

enum conn_flags {
    CONN_F_TEMPLATE = 1 << 0,    /* persistence template: forward hash only, key port may be 0 */
    CONN_F_ONE_PACKET = 1 << 1,  /* -o: reverse hash only, each datagram scheduled on its own */
    CONN_F_RESET = 1 << 2,       /* dropped by rawlb (real server removed): answer with RST */
    CONN_F_LIVE = 1 << 3,        /* in use (set by conn_create, cleared by delete) */
    CONN_F_DETACHED = 1 << 4,    /* its service or real server was removed: svc/rs mean nothing */
};

struct conn {
    uint32_t caddr, vaddr, daddr; /* client, virtual, destination (real server) */
    uint16_t cport, vport, dport;
    uint8_t proto;
    uint8_t state;
    uint16_t flags;
    uint16_t svc, rs;             /* indexes into the service table */
    uint32_t expires;             /* conn_table.now-based second at which it dies */
    uint32_t filed;               /* the second of the wheel slot it sits in (<= expires) */
    uint32_t template_timeout;    /* templates: the service's persistence timeout */
    uint32_t fwd_next, rev_next;  /* hash chains */
    uint32_t wheel_next, wheel_prev;
    uint32_t template;            /* persistence template controlling this entry, or CONN_NONE */
    uint32_t template_generation; /* the template's generation when it was attached */
    uint32_t controlled;          /* templates: live entries referring to it */
    uint32_t generation;          /* bumped on every reuse of the slot, for weak references */
    uint8_t client_mac[6];        /* next hop the client's frames came from */
};

/* Called when an entry leaves a state or the table, so per-real-server counters follow.
 * old_state is CONN_S_COUNT when the entry is new, new_state is CONN_S_COUNT when it goes. */
typedef void (*conn_state_cb)(void *arg, const struct conn *c, unsigned old_state, unsigned new_state);

struct conn_stats {
    uint64_t created, expired, table_full;
};

struct conn_table {
    struct conn *pool;
    uint32_t capacity;
    uint32_t count;
    uint32_t free_head;    /* entries freed after use */
    uint32_t never_used;   /* entries from here on were never handed out */
    uint32_t *fwd_buckets, *rev_buckets;
    uint32_t bucket_mask;
    uint32_t seed;
    uint32_t wheel[CONN_WHEEL_SLOTS];
    uint32_t now;       /* seconds since the table was made */
    uint32_t timeout[CONN_S_COUNT];
    conn_state_cb state_cb;
    void *state_cb_arg;
    struct conn_stats stats;
};

/* Allocates the pool and buckets (lazily backed by the kernel: untouched entries cost nothing). */
bool conn_table_init(struct conn_table *t, uint32_t capacity, const struct timeouts *to, uint32_t seed);
void conn_table_free(struct conn_table *t);
void conn_set_timeouts(struct conn_table *t, const struct timeouts *to);

struct conn *conn_lookup_in(struct conn_table *t, uint8_t proto, uint32_t caddr, uint16_t cport,
                            uint32_t vaddr, uint16_t vport);
struct conn *conn_lookup_out(struct conn_table *t, uint8_t proto, uint32_t daddr, uint16_t dport,
                             uint32_t caddr, uint16_t cport);
/* Template lookup: caddr is already masked, vport is 0 for all-port persistence. */
struct conn *conn_lookup_template(struct conn_table *t, uint8_t proto, uint32_t caddr, uint32_t vaddr,
                                  uint16_t vport);

/* New entry in its initial state (TCP_S_NONE for TCP, CONN_S_UDP, CONN_S_TEMPLATE per flags),
 * hashed in the directions its flags call for. The caller fills the addresses, ports, proto,
 * flags, svc, rs, template (CONN_NONE or a template's index), template_timeout for templates
 * and client_mac. NULL when the table is full (counted). */
struct conn *conn_create(struct conn_table *t, const struct conn *proto_entry);
void conn_delete(struct conn_table *t, struct conn *c);

/* Advance the TCP state machine for a segment seen in dir with these TCP flags
 * (TH_SYN/TH_FIN/TH_ACK/TH_RST bits as in the header) and refresh the deadline. */
void conn_tcp_update(struct conn_table *t, struct conn *c, enum conn_dir dir, uint8_t tcp_flags);
/* Refresh the deadline of a UDP entry, or of a template (from its template_timeout). */
void conn_touch(struct conn_table *t, struct conn *c);
/* Mark an entry dropped by rawlb: its next client packet is answered with an RST. */
void conn_mark_reset(struct conn_table *t, struct conn *c);

/* Control path: calls fn for every live entry; fn may mark, reset or delete the entry it gets.
 * O(entries ever used): for rare events such as a real server going down. */
void conn_for_each(struct conn_table *t, void (*fn)(void *arg, struct conn_table *t, struct conn *c), void *arg);

/* Advance the clock to now (seconds, monotonic, from the caller's clock) and expire what is due.
 * Returns the number of entries expired. */
uint32_t conn_expire_tick(struct conn_table *t, uint32_t now);

static inline uint32_t conn_index(const struct conn_table *t, const struct conn *c)
{
    return (uint32_t)(c - t->pool);
}

const char *conn_state_name(unsigned state);

#endif
