/* test_hasync: connection sync (ha/hasync.c) between two directors in one process, on a fake
 * clock. Director A (master, sending) and director B (backup) each have their own service table
 * (the same services, but B lists services and real servers in another order, so every index
 * differs and records must be resolved by address and port), connection table and hasync. What
 * one sends goes into a FIFO "wire" to the other (which can drop the next N datagrams, drop
 * everything, or deliver its contents newest first); pump() delivers both wires, and what the
 * deliveries answer, until both are quiet. A's entries are made the way the fast path makes them
 * (conn_create, templates first, conn_tcp_update for TCP states).
 * Covered:
 *   - a new entry reaches B after one flush: key, state, remaining lifetime, client MAC,
 *     destination, service and real server by address, and its link to B's template;
 *   - state changes, deletions (explicit, by expiry, by reset) propagate; an entry changed many
 *     times between two flushes is sent once;
 *   - a director that is not sending sends nothing; imports are never echoed back;
 *   - loss (go-back-N resend after HASYNC_RESEND_MS), reordering (nothing applied past a gap),
 *     duplicates (never applied twice);
 *   - a new stream after hasync_peer_restarted, and datagrams of the old one ignored after it;
 *   - whole-table transfer: 5000 entries, BULK_END reported once, the window never exceeded, and
 *     a transfer that fills the window stays "busy" until its BULK_END is acknowledged;
 *   - a master only adds entries it lacks; records naming unknown services or real servers are
 *     counted and not applied;
 *   - queue overflow: counted, and a whole-table transfer still completes the peer's table;
 *   - template records as no director sends them (a client port, the one-packet or persistent
 *     flag): kept as templates are, found and deleted by their key, expiring;
 *   - configuration texts (hasync_send_config): 1 byte, one chunk less a byte, exactly one chunk,
 *     one chunk and a byte, several chunks, and HA_CONFIG_TOTAL_MAX (more chunks than a window):
 *     handed on whole, once, NUL-terminated; any one chunk lost: whole after the resend; a second
 *     text replaces one still being sent; a text goes before the entries queued after it and a
 *     table asked for after it; the peer restarting during a text starts it over in the new
 *     stream; an empty text and one over HA_CONFIG_TOTAL_MAX are refused (and leave a text being
 *     sent alone). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "fpenv.h"
#include "hamsg.h"
#include "hasync.h"
#include "packet.h"
#include "service.h"
#include "testing.h"

/* B: the same services as A, services and real servers listed in another order. */
#define CONFIG_A                                                                                              \
    "-e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 -r 203.0.113.12:80 "                \
    "-t 198.51.100.10:443 -p 300 -M 255.255.255.0 -r 203.0.113.11:443 -r 203.0.113.12:443 "                  \
    "-u 198.51.100.10:53 -o -r 203.0.113.11:53"
#define CONFIG_B                                                                                              \
    "-e ext -i int -n 203.0.113.1 -t 198.51.100.10:443 -p 300 -M 255.255.255.0 -r 203.0.113.12:443 "         \
    "-r 203.0.113.11:443 -u 198.51.100.10:53 -o -r 203.0.113.11:53 "                                          \
    "-t 198.51.100.10:80 -r 203.0.113.12:80 -r 203.0.113.11:80"

/* Addresses in host order. */
#define VIP 0xc633640au        /* 198.51.100.10 */
#define RS1 0xcb00710bu        /* 203.0.113.11 */
#define RS2 0xcb00710cu        /* 203.0.113.12 */
#define RS_UNKNOWN 0xcb007163u /* 203.0.113.99: in no configuration */
#define CLIENT_NET 0x0a000000u /* 10.0.0.0/8: clients */
#define PERSIST_MASK 0xffffff00u
#define HTTP 80
#define HTTPS 443 /* the persistent service */
#define DNS 53    /* the one-packet service */
#define PORT_UNKNOWN 8080
#define CPORT 40000

#define EPOCH_A 11
#define EPOCH_B 22
#define SEED_A 0x1234u
#define SEED_B 0x9876u
#define CAPACITY (1u << 17)  /* entries per table: room for the overflow test */
#define WIRE_SLOTS 2048      /* datagrams a wire holds: a window and its resend, with room */
#define PUMP_ROUNDS_MAX 100000
#define SYNC_ROUNDS_MAX 10000
#define T_START 10           /* seconds: the tables' clock when a test starts */
#define BULK_ENTRIES 5000
#define OVERFLOW_EXTRA 1000  /* entries made beyond a full queue */
#define MANY_CHANGES 20

/* ---- the wire ---- */

struct dgram {
    enum ha_msg_type type;
    size_t len;
    uint8_t payload[HA_PAYLOAD_MAX];
};

struct wire {
    struct dgram *slots; /* a ring of WIRE_SLOTS */
    unsigned head, len;
    unsigned drop_next;  /* drop the next N datagrams sent */
    unsigned pass_first; /* ... after letting this many through */
    bool drop_all;
    bool reverse;        /* the next pump delivers what is queued newest first */
    uint64_t dropped, overflowed;
    struct dgram last_sync; /* a copy of the last SYNC datagram sent, to deliver it again */
};

struct node {
    const char *name;
    uint64_t epoch;
    struct rawlb_config cfg;
    struct service_table svcs;
    struct conn_table conns;
    struct hasync sync;
    struct wire out; /* to the peer */
    struct node *peer;
    unsigned tables_done;
    /* Configuration texts received whole: how many, the last one, and the table's entry count
     * when it arrived (what had been applied before it). */
    unsigned configs_done;
    char *config_text;
    size_t config_len;
    uint32_t conns_at_config;
    /* The window as the wire sees it (not as hasync counts it): the highest datagram number
     * sent and acknowledged in the current stream, and the most ever in flight. */
    uint64_t top_sent, top_acked, max_in_flight;
};

static struct node A, B;
static uint64_t now_ms;
static struct ha_sync decoded; /* 2.6 KB: not on the stack */

static uint64_t number_of(uint64_t stream_seq)
{
    return stream_seq & ((UINT64_C(1) << HASYNC_STREAM_SHIFT) - 1);
}

/* The stream a SYNC datagram belongs to. */
static uint64_t stream_of(const struct dgram *d)
{
    return ha_sync_decode(d->payload, d->len, &decoded) ? decoded.stream_seq >> HASYNC_STREAM_SHIFT : UINT64_MAX;
}

static void wire_push(struct wire *w, const struct dgram *d)
{
    if (w->len == WIRE_SLOTS) {
        w->overflowed++;
        return;
    }
    w->slots[(w->head + w->len++) % WIRE_SLOTS] = *d;
}

static void wire_pop(struct wire *w, struct dgram *d)
{
    *d = w->slots[w->head];
    w->head = (w->head + 1) % WIRE_SLOTS;
    w->len--;
}

static void note_sent(struct node *n, const uint8_t *payload, size_t len)
{
    if (!ha_sync_decode(payload, len, &decoded)) {
        CHECK(!"hasync sends SYNC payloads that decode");
        return;
    }
    uint64_t number = number_of(decoded.stream_seq);
    if (number > n->top_sent)
        n->top_sent = number;
    if (n->top_sent - n->top_acked > n->max_in_flight)
        n->max_in_flight = n->top_sent - n->top_acked;
}

static void note_acked(struct node *n, const struct dgram *d)
{
    struct ha_ack a;
    if (!ha_ack_decode(d->payload, d->len, &a)) {
        CHECK(!"hasync sends SYNC_ACK payloads that decode");
        return;
    }
    uint64_t number = number_of(a.acked);
    if (a.stream_epoch == n->epoch && number > n->top_acked && number <= n->top_sent)
        n->top_acked = number;
}

/* hasync's send function: onto the wire to the peer, unless it drops. */
static bool wire_send(void *arg, enum ha_msg_type type, const uint8_t *payload, size_t len)
{
    struct node *n = arg;
    struct wire *w = &n->out;
    CHECK(len <= HA_PAYLOAD_MAX);
    if (len > HA_PAYLOAD_MAX)
        return false;
    struct dgram d = { .type = type, .len = len };
    memcpy(d.payload, payload, len);
    if (type == HA_MSG_SYNC) {
        note_sent(n, payload, len);
        w->last_sync = d;
    }
    bool drop = w->drop_all;
    if (!drop && w->drop_next) {
        if (w->pass_first) {
            w->pass_first--;
        } else {
            w->drop_next--;
            drop = true;
        }
    }
    if (drop) {
        w->dropped++;
        return true; /* sent, lost on the way */
    }
    wire_push(w, &d);
    return true;
}

static void deliver(struct node *from, const struct dgram *d)
{
    struct node *to = from->peer;
    if (d->type == HA_MSG_SYNC_ACK)
        note_acked(to, d);
    hasync_receive(&to->sync, from->epoch, d->type, d->payload, d->len, now_ms);
}

/* Delivers what is on from's wire now (the answers wait for the next call). */
static void pump_one_way(struct node *from)
{
    static struct dgram batch[WIRE_SLOTS];
    struct wire *w = &from->out;
    unsigned n = w->len;
    for (unsigned i = 0; i < n; i++)
        wire_pop(w, &batch[i]);
    bool reverse = w->reverse;
    w->reverse = false;
    for (unsigned i = 0; i < n; i++)
        deliver(from, &batch[reverse ? n - 1 - i : i]);
}

/* Both wires until both are quiet. */
static void pump(void)
{
    for (unsigned round = 0; A.out.len || B.out.len; round++) {
        if (round == PUMP_ROUNDS_MAX) {
            CHECK(!"the wires become quiet");
            return;
        }
        pump_one_way(&A);
        pump_one_way(&B);
    }
}

/* One flush period: both directors flush, then the wires are pumped. */
static void sync_round(void)
{
    hasync_flush(&A.sync, now_ms);
    hasync_flush(&B.sync, now_ms);
    pump();
}

static bool quiet(const struct node *n)
{
    return !hasync_bulk_busy(&n->sync) && !hasync_queued(&n->sync) && !hasync_in_flight(&n->sync) &&
           !n->sync.config_out; /* no configuration text waiting for room in the window */
}

/* Flush periods until A has nothing left to send or acknowledge; false if it never gets there. */
static bool sync_until_quiet(void)
{
    for (unsigned i = 0; i < SYNC_ROUNDS_MAX; i++) {
        if (quiet(&A) && !A.out.len && !B.out.len)
            return true;
        now_ms += HASYNC_FLUSH_MS;
        sync_round();
        /* A whole-table transfer is over only once its BULK_END is acknowledged. */
        if (!hasync_bulk_busy(&A.sync) && A.sync.stats.bulks_sent)
            CHECK_EQ_U(B.tables_done, A.sync.stats.bulks_sent);
    }
    return false;
}

/* ---- the two directors ---- */

static void table_done(void *arg)
{
    ((struct node *)arg)->tables_done++;
}

static void config_done(void *arg, const char *text, size_t len)
{
    struct node *n = arg;
    CHECK(text[len] == '\0'); /* NUL-terminated (a read past the buffer shows under ASan) */
    n->configs_done++;
    free(n->config_text);
    n->config_text = malloc(len + 1);
    if (n->config_text)
        memcpy(n->config_text, text, len + 1);
    n->config_len = len;
    n->conns_at_config = n->conns.count;
}

/* A director with one connection table (one worker). */
static unsigned only_table(void *arg, const struct conn *entry)
{
    (void)arg;
    (void)entry;
    return 0;
}

static void node_up(struct node *n, const char *name, uint64_t epoch, const char *args, uint32_t seed,
                    struct node *peer)
{
    char err[RAWLB_ERRLEN];
    memset(n, 0, sizeof *n);
    n->name = name;
    n->epoch = epoch;
    n->peer = peer;
    fpenv_parse(&n->cfg, args);
    n->out.slots = calloc(WIRE_SLOTS, sizeof *n->out.slots);
    if (!n->out.slots || !service_table_init(&n->svcs, &n->cfg, err, sizeof err) ||
        !conn_table_init(&n->conns, CAPACITY, &n->cfg.timeouts, &(struct siphash_key){ seed, 0 }) ||
        !hasync_init(&n->sync, (struct conn_table *const[]){ &n->conns }, 1, only_table, &n->svcs, wire_send,
                     table_done, config_done, n)) {
        fprintf(stderr, "test setup (%s) failed: %s\n", name, err);
        abort();
    }
    n->sync.epoch = epoch;
    conn_expire_tick(&n->conns, T_START);
}

static void node_down(struct node *n)
{
    CHECK_EQ_U(n->out.overflowed, 0);
    hasync_free(&n->sync);
    conn_table_free(&n->conns);
    service_table_free(&n->svcs);
    free(n->out.slots);
    free(n->config_text);
}

/* A master that sends, a backup that does not; the clock at T_START. */
static void pair_up(void)
{
    now_ms = (uint64_t)T_START * 1000;
    node_up(&A, "A", EPOCH_A, CONFIG_A, SEED_A, &B);
    node_up(&B, "B", EPOCH_B, CONFIG_B, SEED_B, &A);
    hasync_set_role(&A.sync, true, true);
    hasync_set_role(&B.sync, false, false);
}

static void pair_down(void)
{
    node_down(&A);
    node_down(&B);
}

/* One director's table clock to now_ms. */
static void tick(struct node *n)
{
    conn_expire_tick(&n->conns, (uint32_t)(now_ms / 1000));
}

/* A new stream to the peer, as when the peer restarts; the wire's window watch starts over. */
static void restart_stream(struct node *n)
{
    hasync_peer_restarted(&n->sync);
    n->top_sent = n->top_acked = 0;
}

/* ---- entries made as the fast path makes them ---- */

static uint32_t client(unsigned i)
{
    return CLIENT_NET + i;
}

static void client_mac_of(uint32_t caddr, uint8_t mac[6])
{
    const uint8_t m[6] = { 0x02, 0xcc, (uint8_t)(caddr >> 24), (uint8_t)(caddr >> 16), (uint8_t)(caddr >> 8),
                           (uint8_t)caddr };
    memcpy(mac, m, 6);
}

/* The index of the service proto VIP:vport and of its real server raddr:vport on n. */
static bool indexes_of(struct node *n, uint8_t proto, uint16_t vport, uint32_t raddr, int *svc, int *rs)
{
    *svc = service_find(&n->svcs, proto, htonl(VIP), htons(vport));
    if (*svc < 0)
        return false;
    struct endpoint ep = { .addr = htonl(raddr), .port = htons(vport) };
    *rs = service_find_rs(&n->svcs.svc[*svc], &ep);
    return *rs >= 0;
}

/* The client network's template for service svc on n (made, on rs, if there is none; touched
 * if there is), as the fast path's pick_server. */
static uint32_t template_for(struct node *n, int svc, int rs, uint32_t caddr)
{
    const struct service *sv = &n->svcs.svc[svc];
    uint32_t net = htonl(caddr) & sv->persist_mask;
    struct conn *t = conn_lookup_template(&n->conns, sv->proto, net, sv->vip.addr, sv->vip.port);
    if (t) {
        conn_touch(&n->conns, t);
        return conn_index(&n->conns, t);
    }
    struct conn e = { .caddr = net, .vaddr = sv->vip.addr, .vport = sv->vip.port, .daddr = sv->rs[rs].ep.addr,
                      .dport = sv->rs[rs].ep.port, .proto = sv->proto, .flags = CONN_F_TEMPLATE,
                      .svc = (uint16_t)svc, .rs = (uint16_t)rs, .template = CONN_NONE,
                      .template_timeout = sv->persist_timeout };
    t = conn_create(&n->conns, &e);
    CHECK(t != NULL);
    return t ? conn_index(&n->conns, t) : CONN_NONE;
}

/* A new flow caddr:cport -> VIP:vport on real server raddr (port vport), in its initial state. */
static struct conn *new_flow(struct node *n, uint8_t proto, uint32_t caddr, uint16_t cport, uint16_t vport,
                             uint32_t raddr)
{
    int svc, rs;
    if (!indexes_of(n, proto, vport, raddr, &svc, &rs)) {
        CHECK(!"the test's flows name configured services and real servers");
        return NULL;
    }
    const struct service *sv = &n->svcs.svc[svc];
    uint32_t tpl = sv->persist_timeout ? template_for(n, svc, rs, caddr) : CONN_NONE;
    if (tpl != CONN_NONE)
        rs = n->conns.pool[tpl].rs; /* persistence: the template names the server */
    struct conn e = { .caddr = htonl(caddr), .cport = htons(cport), .vaddr = sv->vip.addr, .vport = sv->vip.port,
                      .daddr = sv->rs[rs].ep.addr, .dport = sv->rs[rs].ep.port, .proto = proto,
                      .flags = sv->one_packet ? CONN_F_ONE_PACKET : 0, .svc = (uint16_t)svc, .rs = (uint16_t)rs,
                      .template = tpl };
    client_mac_of(caddr, e.client_mac);
    struct conn *c = conn_create(&n->conns, &e);
    CHECK(c != NULL);
    return c;
}

/* A flow on indexes 0/0 but with the addresses given, which may be in no configuration. */
static struct conn *raw_flow(struct node *n, uint32_t caddr, uint16_t vport, uint32_t raddr)
{
    struct conn e = { .caddr = htonl(caddr), .cport = htons(CPORT), .vaddr = htonl(VIP), .vport = htons(vport),
                      .daddr = htonl(raddr), .dport = htons(vport), .proto = IPPROTO_TCP, .template = CONN_NONE };
    struct conn *c = conn_create(&n->conns, &e);
    CHECK(c != NULL);
    return c;
}

/* The three-way handshake through the entry: SYN_RECV, then ESTABLISHED. */
static void establish(struct node *n, struct conn *c)
{
    conn_tcp_update(&n->conns, c, CONN_DIR_IN, TH_SYN_);
    conn_tcp_update(&n->conns, c, CONN_DIR_OUT, TH_SYN_ | TH_ACK_);
    conn_tcp_update(&n->conns, c, CONN_DIR_IN, TH_ACK_);
}

static struct conn *established(struct node *n, uint32_t caddr, uint16_t cport, uint16_t vport, uint32_t raddr)
{
    struct conn *c = new_flow(n, IPPROTO_TCP, caddr, cport, vport, raddr);
    if (c)
        establish(n, c);
    return c;
}

/* ---- comparing the two tables ---- */

/* The flags that say how an entry is found (and that a copy must share). */
#define KIND_FLAGS (CONN_F_TEMPLATE | CONN_F_ONE_PACKET)

/* n's entry with c's key (c from the other director), or NULL. */
static struct conn *copy_of(struct node *n, const struct conn *c)
{
    struct conn key = { .caddr = c->caddr, .cport = c->cport, .vaddr = c->vaddr, .vport = c->vport,
                        .daddr = c->daddr, .dport = c->dport, .proto = c->proto,
                        .flags = (uint16_t)(c->flags & KIND_FLAGS) };
    return conn_find(&n->conns, &key);
}

static uint32_t lifetime_gap(const struct node *an, const struct conn *a, const struct node *bn,
                             const struct conn *b)
{
    uint32_t la = conn_lifetime(&an->conns, a), lb = conn_lifetime(&bn->conns, b);
    return la > lb ? la - lb : lb - la;
}

static bool same_service(const struct node *an, const struct conn *a, const struct node *bn, const struct conn *b)
{
    if (b->svc >= bn->svcs.n)
        return false;
    const struct service *sa = &an->svcs.svc[a->svc], *sb = &bn->svcs.svc[b->svc];
    return sa->proto == sb->proto && sa->vip.addr == sb->vip.addr &&
           sa->vip.port == sb->vip.port && b->rs < sb->n_rs && sa->rs[a->rs].ep.addr == sb->rs[b->rs].ep.addr &&
           sa->rs[a->rs].ep.port == sb->rs[b->rs].ep.port;
}

/* b's template is bn's live template for the same client network, service and server. */
static bool same_template(const struct node *an, const struct conn *a, const struct node *bn, const struct conn *b)
{
    if (a->template == CONN_NONE)
        return b->template == CONN_NONE;
    if (b->template == CONN_NONE || b->template >= bn->conns.capacity)
        return false;
    const struct conn *ta = &an->conns.pool[a->template], *tb = &bn->conns.pool[b->template];
    return (tb->flags & CONN_F_LIVE) && (tb->flags & CONN_F_TEMPLATE) && tb->generation == b->template_generation &&
           tb->caddr == ta->caddr && tb->vaddr == ta->vaddr && tb->vport == ta->vport && tb->daddr == ta->daddr &&
           tb->dport == ta->dport;
}

/* b is a's copy: state, lifetime within a second, client MAC, destination, service and real
 * server by address, template. */
static bool same_entry(const struct node *an, const struct conn *a, const struct node *bn, const struct conn *b)
{
    return b && b->state == a->state && lifetime_gap(an, a, bn, b) <= 1 &&
           !memcmp(b->client_mac, a->client_mac, sizeof a->client_mac) && b->daddr == a->daddr &&
           b->dport == a->dport && (b->flags & KIND_FLAGS) == (a->flags & KIND_FLAGS) && same_service(an, a, bn, b) && same_template(an, a, bn, b);
}

/* Entries of an missing from bn or different there. */
static unsigned mismatches(struct node *an, struct node *bn)
{
    unsigned bad = 0;
    for (uint32_t i = 0; i < an->conns.never_used; i++) {
        const struct conn *a = &an->conns.pool[i];
        if ((a->flags & CONN_F_LIVE) && !same_entry(an, a, bn, copy_of(bn, a)))
            bad++;
    }
    return bad;
}

/* B holds exactly A's entries. */
static void check_same_tables(void)
{
    CHECK_EQ_U(mismatches(&A, &B), 0);
    CHECK_EQ_U(B.conns.count, A.conns.count);
}

/* ---- tests ---- */

static void test_new_entry(void)
{
    pair_up();
    struct conn *web = established(&A, client(1), CPORT, HTTP, RS2);
    struct conn *tls = established(&A, client(1), CPORT + 1, HTTPS, RS2);
    struct conn *dns = new_flow(&A, IPPROTO_UDP, client(1), CPORT + 2, DNS, RS1);
    if (!web || !tls || !dns)
        goto out;
    CHECK(tls->template != CONN_NONE);
    CHECK_EQ_U(A.conns.count, 4); /* with the template */
    /* Time passes before the flush: the lifetime sent is what is left, not the timeout. */
    now_ms += 5000;
    tick(&A);
    tick(&B);
    CHECK(conn_lifetime(&A.conns, web) < A.cfg.timeouts.tcp);

    hasync_flush(&A.sync, now_ms);
    CHECK_EQ_U(A.sync.stats.datagrams_sent, 1);
    CHECK_EQ_U(A.sync.stats.records_sent, 4);
    pump();
    CHECK_EQ_U(B.sync.stats.records_applied, 4);
    CHECK_EQ_U(B.conns.count, 4);
    CHECK_EQ_U(hasync_in_flight(&A.sync), 0); /* acknowledged */

    struct conn *b = copy_of(&B, tls);
    CHECK(b != NULL);
    if (b) {
        CHECK_EQ_U(b->state, TCP_S_ESTABLISHED);
        CHECK(lifetime_gap(&A, tls, &B, b) <= 1);
        CHECK(!memcmp(b->client_mac, tls->client_mac, 6));
        CHECK_EQ_U(ntohl(b->daddr), RS2);
        CHECK_EQ_U(ntohs(b->dport), HTTPS);
        /* The indexes differ: B found its own service and real server by address and port. */
        CHECK(b->svc != tls->svc && b->rs != tls->rs);
        CHECK_EQ_U(ntohs(B.svcs.svc[b->svc].vip.port), HTTPS);
        CHECK_EQ_U(ntohl(B.svcs.svc[b->svc].rs[b->rs].ep.addr), RS2);
        CHECK(b->template != CONN_NONE);
        if (b->template != CONN_NONE) {
            const struct conn *t = &B.conns.pool[b->template];
            CHECK(t->flags & CONN_F_TEMPLATE);
            CHECK_EQ_U(ntohl(t->caddr), client(1) & PERSIST_MASK);
            CHECK_EQ_U(t->controlled, 1);
        }
    }
    b = copy_of(&B, web);
    CHECK(b && b->state == TCP_S_ESTABLISHED && b->template == CONN_NONE && same_service(&A, web, &B, b));
    b = copy_of(&B, dns); /* one-packet: found by its reply key */
    CHECK(b && (b->flags & CONN_F_ONE_PACKET) && b->state == CONN_S_UDP_NEW && same_service(&A, dns, &B, b));
    check_same_tables();
out:
    pair_down();
}

static void test_changes_and_deletions(void)
{
    pair_up();
    struct conn *c = established(&A, client(2), CPORT, HTTP, RS1);
    struct conn *dns = new_flow(&A, IPPROTO_UDP, client(3), CPORT, DNS, RS1);
    struct conn *doomed = established(&A, client(4), CPORT, HTTP, RS2);
    if (!c || !dns || !doomed)
        goto out;
    sync_round();
    check_same_tables();

    /* Many changes between two flushes: one record, the entry as it is at the flush. */
    uint64_t sent = A.sync.stats.records_sent;
    for (unsigned i = 0; i < MANY_CHANGES; i++)
        conn_tcp_update(&A.conns, c, CONN_DIR_IN, TH_ACK_);
    conn_tcp_update(&A.conns, c, CONN_DIR_OUT, TH_FIN_);
    CHECK_EQ_U(c->state, TCP_S_FIN_WAIT);
    conn_tcp_update(&A.conns, c, CONN_DIR_IN, TH_ACK_);
    sync_round();
    CHECK_EQ_U(A.sync.stats.records_sent - sent, 1);
    struct conn *b = copy_of(&B, c);
    CHECK(b && b->state == TCP_S_FIN_WAIT);
    check_same_tables();

    /* Deleted. */
    sent = A.sync.stats.records_sent;
    struct conn gone = *c;
    conn_delete(&A.conns, c);
    sync_round();
    CHECK_EQ_U(A.sync.stats.records_sent - sent, 1);
    CHECK(copy_of(&B, &gone) == NULL);

    /* Reset by rawlb (its real server removed): gone from the peer too. */
    gone = *doomed;
    conn_mark_reset(&A.conns, doomed);
    sync_round();
    CHECK(copy_of(&B, &gone) == NULL);

    /* Expired on A (B's clock stands still, so B could not have expired it itself). */
    gone = *dns;
    now_ms += ((uint64_t)A.cfg.timeouts.udp + 1) * 1000;
    tick(&A);
    CHECK(copy_of(&A, &gone) == NULL);
    sync_round();
    CHECK(copy_of(&B, &gone) == NULL);
    CHECK_EQ_U(B.conns.count, 0);
out:
    pair_down();
}

static void test_no_echo(void)
{
    pair_up();
    /* B is not sending: its own entries stay its own. */
    CHECK(new_flow(&B, IPPROTO_TCP, client(5), CPORT, HTTP, RS1) != NULL);
    hasync_flush(&B.sync, now_ms);
    CHECK_EQ_U(B.out.len, 0);
    CHECK_EQ_U(B.sync.stats.records_sent, 0);
    CHECK_EQ_U(A.conns.count, 0);

    /* Both masters, both sending (a split brain): what each imports, it does not send back. */
    hasync_set_role(&B.sync, true, true);
    struct conn *a = established(&A, client(6), CPORT, HTTP, RS1);
    struct conn *b = established(&B, client(7), CPORT, HTTP, RS2);
    if (!a || !b)
        goto out;
    sync_round();
    CHECK(copy_of(&B, a) != NULL);
    CHECK(copy_of(&A, b) != NULL);
    uint64_t sent_a = A.sync.stats.records_sent, sent_b = B.sync.stats.records_sent;
    CHECK_EQ_U(sent_a, 1);
    CHECK_EQ_U(sent_b, 1);
    for (unsigned i = 0; i < 3; i++) {
        now_ms += HASYNC_FLUSH_MS;
        sync_round();
    }
    CHECK_EQ_U(A.sync.stats.records_sent, sent_a);
    CHECK_EQ_U(B.sync.stats.records_sent, sent_b);
    CHECK_EQ_U(A.sync.stats.datagrams_sent, 1);
    CHECK_EQ_U(B.sync.stats.datagrams_sent, 1);
out:
    pair_down();
}

/* count established flows on the port-80 service, from clients first_client on. */
static void make_flows(struct node *n, unsigned count, unsigned first_client)
{
    for (unsigned i = 0; i < count; i++)
        CHECK(established(n, client(first_client + i), CPORT, HTTP, i % 2 ? RS1 : RS2) != NULL);
}

/* B follows A's stream (its first datagram taken): later losses are gaps inside the stream. */
static void start_stream(void)
{
    make_flows(&A, 1, 0);
    sync_round();
    CHECK_EQ_U(B.conns.count, 1);
    CHECK_EQ_U(A.sync.stats.datagrams_sent, 1);
}

static void test_loss(void)
{
    enum { DATAGRAMS = 4, DROPPED = 3 };
    pair_up();
    start_stream();
    make_flows(&A, (DATAGRAMS - 1) * HA_SYNC_MAX_RECORDS + 1, 100);
    A.out.drop_next = DROPPED;
    hasync_flush(&A.sync, now_ms);
    CHECK_EQ_U(A.sync.stats.datagrams_sent, 1 + DATAGRAMS);
    CHECK_EQ_U(A.out.dropped, DROPPED);
    pump();
    /* The last datagram arrived past a gap: not applied. */
    CHECK_EQ_U(B.sync.stats.out_of_order, DATAGRAMS - DROPPED);
    CHECK_EQ_U(B.conns.count, 1);
    CHECK_EQ_U(hasync_in_flight(&A.sync), DATAGRAMS);

    /* Nothing is resent before HASYNC_RESEND_MS. */
    now_ms += HASYNC_RESEND_MS - 1;
    sync_round();
    CHECK_EQ_U(A.sync.stats.datagrams_resent, 0);
    CHECK_EQ_U(B.conns.count, 1);
    now_ms += 1;
    sync_round();
    CHECK_EQ_U(A.sync.stats.datagrams_resent, DATAGRAMS);
    CHECK_EQ_U(hasync_in_flight(&A.sync), 0);
    check_same_tables();

    /* Everything lost for a while (acknowledgements too): all of it arrives in the end. */
    A.out.drop_all = B.out.drop_all = true;
    make_flows(&A, HA_SYNC_MAX_RECORDS, 1000);
    for (unsigned i = 0; i < 3; i++) {
        now_ms += HASYNC_RESEND_MS;
        sync_round();
    }
    CHECK_EQ_U(B.conns.count, A.conns.count - HA_SYNC_MAX_RECORDS);
    A.out.drop_all = B.out.drop_all = false;
    CHECK(sync_until_quiet());
    check_same_tables();
    CHECK(A.top_sent - A.top_acked == 0 && A.max_in_flight <= HASYNC_WINDOW);
    pair_down();
}

static void test_reorder(void)
{
    enum { DATAGRAMS = 3 };
    pair_up();
    start_stream();
    make_flows(&A, (DATAGRAMS - 1) * HA_SYNC_MAX_RECORDS + 1, 100);
    A.out.reverse = true;
    hasync_flush(&A.sync, now_ms);
    CHECK_EQ_U(A.out.len, DATAGRAMS);
    pump();
    /* Newest first: the first datagram applied, the two after it dropped as out of order. */
    CHECK_EQ_U(B.sync.stats.out_of_order, DATAGRAMS - 1);
    CHECK_EQ_U(B.conns.count, 1 + HA_SYNC_MAX_RECORDS);
    CHECK_EQ_U(hasync_in_flight(&A.sync), DATAGRAMS - 1);
    now_ms += HASYNC_RESEND_MS;
    sync_round();
    CHECK_EQ_U(A.sync.stats.datagrams_resent, DATAGRAMS - 1);
    check_same_tables();
    pair_down();
}

static void test_duplicates(void)
{
    pair_up();
    struct conn *c = established(&A, client(8), CPORT, HTTP, RS1);
    if (!c)
        goto out;
    struct conn gone = *c;
    hasync_flush(&A.sync, now_ms);
    struct dgram upsert = A.out.last_sync;
    pump();
    CHECK(copy_of(&B, &gone) != NULL);
    conn_delete(&A.conns, c);
    hasync_flush(&A.sync, now_ms);
    struct dgram del = A.out.last_sync;
    pump();
    CHECK(copy_of(&B, &gone) == NULL);
    uint64_t applied = B.sync.stats.records_applied;
    CHECK_EQ_U(applied, 2);

    /* Both again, in order: the entry does not come back, nothing is applied twice. */
    wire_push(&A.out, &upsert);
    wire_push(&A.out, &del);
    pump();
    CHECK(copy_of(&B, &gone) == NULL);
    CHECK_EQ_U(B.sync.stats.records_applied, applied);
    CHECK_EQ_U(B.sync.stats.datagrams_received, 4);
    CHECK_EQ_U(hasync_in_flight(&A.sync), 0);
out:
    pair_down();
}

static void test_new_stream(void)
{
    pair_up();
    /* Stream 1: datagram 1 makes p, datagram 2 makes q, datagram 3 deletes both. */
    struct conn *p = established(&A, client(9), CPORT, HTTP, RS1);
    hasync_flush(&A.sync, now_ms);
    struct dgram old_first = A.out.last_sync;
    pump();
    struct conn *q = established(&A, client(10), CPORT, HTTP, RS2);
    hasync_flush(&A.sync, now_ms);
    struct dgram old_second = A.out.last_sync;
    pump();
    if (!p || !q)
        goto out;
    struct conn p_key = *p, q_key = *q;
    CHECK_EQ_U(B.conns.count, 2);
    conn_delete(&A.conns, p);
    conn_delete(&A.conns, q);
    sync_round();
    CHECK_EQ_U(B.conns.count, 0);
    CHECK_EQ_U(A.sync.stats.datagrams_sent, 3);

    /* The peer restarted: stream 2, numbered from 1 again, which B takes. */
    restart_stream(&A);
    CHECK_EQ_U(hasync_in_flight(&A.sync), 0);
    struct conn *r = established(&A, client(11), CPORT, HTTP, RS1);
    hasync_flush(&A.sync, now_ms);
    CHECK(ha_sync_decode(A.out.last_sync.payload, A.out.last_sync.len, &decoded));
    CHECK_EQ_U(number_of(decoded.stream_seq), 1);
    CHECK(decoded.stream_seq >> HASYNC_STREAM_SHIFT != stream_of(&old_first));
    pump();
    CHECK(r && copy_of(&B, r) != NULL);
    CHECK_EQ_U(hasync_in_flight(&A.sync), 0);

    /* Stream 1's datagrams arrive late (a slow link, a resend): none is applied. */
    uint64_t applied = B.sync.stats.records_applied;
    wire_push(&A.out, &old_second);
    pump();
    CHECK(copy_of(&B, &q_key) == NULL);
    wire_push(&A.out, &old_first);
    pump();
    CHECK(copy_of(&B, &p_key) == NULL);
    CHECK_EQ_U(B.sync.stats.records_applied, applied);

    /* ... and stream 2 goes on. */
    struct conn *s = established(&A, client(12), CPORT, HTTP, RS2);
    sync_round();
    CHECK(s && copy_of(&B, s) != NULL);
    CHECK_EQ_U(hasync_in_flight(&A.sync), 0);
    check_same_tables();
out:
    pair_down();
}

static void test_master_policy(void)
{
    pair_up();
    struct conn *c = established(&A, client(13), CPORT, HTTP, RS1);
    if (!c)
        goto out;
    sync_round();
    struct conn *b = copy_of(&B, c);
    CHECK(b && b->state == TCP_S_ESTABLISHED);
    if (!b)
        goto out;
    uint32_t expires = b->expires;

    /* B is master now: what it has is newer than what A says of it; what it lacks it adds. */
    hasync_set_role(&B.sync, false, true);
    now_ms += 2000;
    tick(&A);
    tick(&B);
    conn_tcp_update(&A.conns, c, CONN_DIR_OUT, TH_FIN_);
    struct conn *fresh = established(&A, client(14), CPORT, HTTP, RS2);
    sync_round();
    CHECK_EQ_U(b->state, TCP_S_ESTABLISHED);
    CHECK_EQ_U(b->expires, expires);
    CHECK_EQ_U(B.sync.stats.records_stale, 1);
    CHECK(fresh && same_entry(&A, fresh, &B, copy_of(&B, fresh)));
    /* Nor does it delete its own. */
    struct conn key = *c;
    conn_delete(&A.conns, c);
    sync_round();
    CHECK(copy_of(&B, &key) == b);
out:
    pair_down();
}

static void test_unknown(void)
{
    pair_up();
    struct conn *no_service = raw_flow(&A, client(15), PORT_UNKNOWN, RS1);
    struct conn *no_server = raw_flow(&A, client(16), HTTP, RS_UNKNOWN);
    struct conn *known = established(&A, client(17), CPORT, HTTP, RS1);
    if (!no_service || !no_server || !known)
        goto out;
    struct conn keys[2] = { *no_service, *no_server };
    sync_round();
    CHECK_EQ_U(B.sync.stats.records_unknown, 2);
    CHECK_EQ_U(B.sync.stats.records_applied, 1);
    CHECK_EQ_U(B.conns.count, 1);
    CHECK(copy_of(&B, &keys[0]) == NULL);
    CHECK(copy_of(&B, &keys[1]) == NULL);
    CHECK(same_entry(&A, known, &B, copy_of(&B, known)));
    /* Their deletions are unknown there too; the stream goes on. */
    conn_delete(&A.conns, no_service);
    conn_delete(&A.conns, no_server);
    sync_round();
    CHECK_EQ_U(B.sync.stats.records_unknown, 4);
    CHECK_EQ_U(hasync_in_flight(&A.sync), 0);
    check_same_tables();
out:
    pair_down();
}

/* n's table up to count entries (call it while n is not sending): established flows on the
 * port-80 service, persistent flows on 443 (established, or SYN_RECV) with two clients per
 * template, one-packet UDP entries. */
static void fill(struct node *n, uint32_t count)
{
    for (unsigned i = 0; n->conns.count < count; i++) {
        uint32_t caddr = client(i * 64); /* i = 4k..4k+3 in one /24: kinds 1 and 3 share its template */
        unsigned kind = n->conns.count + 2 > count ? 0 : i % 4;
        struct conn *c;
        switch (kind) {
        case 0:
            c = established(n, caddr, CPORT, HTTP, i % 2 ? RS1 : RS2);
            break;
        case 1:
            c = established(n, caddr, CPORT, HTTPS, i % 2 ? RS1 : RS2);
            break;
        case 2:
            c = new_flow(n, IPPROTO_UDP, caddr, CPORT, DNS, RS1);
            break;
        default:
            c = new_flow(n, IPPROTO_TCP, caddr, CPORT, HTTPS, RS1);
            if (c)
                conn_tcp_update(&n->conns, c, CONN_DIR_IN, TH_SYN_); /* SYN_RECV */
            break;
        }
        if (!c)
            return;
    }
}

static unsigned templates_of(const struct node *n)
{
    unsigned count = 0;
    for (uint32_t i = 0; i < n->conns.never_used; i++)
        count += (n->conns.pool[i].flags & (CONN_F_LIVE | CONN_F_TEMPLATE)) == (CONN_F_LIVE | CONN_F_TEMPLATE);
    return count;
}

static void test_bulk(void)
{
    pair_up();
    hasync_set_role(&A.sync, false, true);
    fill(&A, BULK_ENTRIES);
    hasync_set_role(&A.sync, true, true);
    CHECK_EQ_U(A.conns.count, BULK_ENTRIES);
    CHECK(templates_of(&A) > BULK_ENTRIES / 10);
    CHECK(templates_of(&A) < BULK_ENTRIES / 4); /* some shared */
    CHECK_EQ_U(hasync_queued(&A.sync), 0);

    hasync_request_bulk(&A.sync);
    CHECK(hasync_bulk_busy(&A.sync));
    hasync_flush(&A.sync, now_ms);
    pump_one_way(&A);
    CHECK_EQ_U(B.tables_done, 1);
    CHECK(hasync_bulk_busy(&A.sync)); /* B has it all, A does not know yet */
    CHECK(sync_until_quiet());
    CHECK(!hasync_bulk_busy(&A.sync));
    CHECK_EQ_U(B.tables_done, 1);
    CHECK_EQ_U(A.sync.stats.bulks_sent, 1);
    CHECK_EQ_U(B.sync.stats.bulks_received, 1);
    CHECK_EQ_U(B.sync.stats.records_unknown, 0);
    CHECK(A.max_in_flight <= HASYNC_WINDOW);
    check_same_tables();
    pair_down();
}

/* A whole table that needs exactly a full window and one more datagram for its BULK_END: with
 * the acknowledgements held back, the window fills and stops there, and the transfer is busy
 * until BULK_END itself is acknowledged. */
static void test_bulk_window(void)
{
    const uint32_t entries = HASYNC_WINDOW * HA_SYNC_MAX_RECORDS - 1; /* + BULK_BEGIN = a full window */
    pair_up();
    hasync_set_role(&A.sync, false, true);
    fill(&A, entries);
    hasync_set_role(&A.sync, true, true);
    CHECK_EQ_U(A.conns.count, entries);

    hasync_request_bulk(&A.sync);
    for (unsigned i = 0; i < 3; i++) { /* flush periods, shorter than a resend */
        hasync_flush(&A.sync, now_ms);
        pump_one_way(&A);
        now_ms += HASYNC_FLUSH_MS;
    }
    CHECK_EQ_U(A.sync.stats.datagrams_sent, HASYNC_WINDOW);
    CHECK_EQ_U(hasync_in_flight(&A.sync), HASYNC_WINDOW);
    CHECK_EQ_U(A.max_in_flight, HASYNC_WINDOW);
    CHECK_EQ_U(B.tables_done, 0);
    CHECK(hasync_bulk_busy(&A.sync)); /* BULK_END not even sent */

    CHECK(sync_until_quiet());
    CHECK_EQ_U(B.tables_done, 1);
    CHECK_EQ_U(A.sync.stats.bulks_sent, 1);
    CHECK_EQ_U(A.max_in_flight, HASYNC_WINDOW);
    CHECK_EQ_U(A.sync.stats.datagrams_resent, 0);
    check_same_tables();
    pair_down();
}

static void test_overflow(void)
{
    const uint32_t entries = HASYNC_QUEUE + OVERFLOW_EXTRA;
    pair_up();
    for (uint32_t i = 0; i < entries; i++)
        if (!new_flow(&A, IPPROTO_UDP, client(i), CPORT, DNS, RS1))
            break;
    CHECK_EQ_U(A.conns.count, entries);
    CHECK_EQ_U(hasync_queued(&A.sync), HASYNC_QUEUE);
    CHECK_EQ_U(A.sync.stats.overflows, OVERFLOW_EXTRA);
    CHECK(hasync_bulk_busy(&A.sync));
    CHECK(sync_until_quiet());
    CHECK_EQ_U(B.tables_done, 1);
    CHECK_EQ_U(A.sync.stats.bulks_sent, 1);
    CHECK_EQ_U(A.max_in_flight, HASYNC_WINDOW); /* reached, never passed */
    check_same_tables();
    pair_down();
}

/* ---- the configuration text (hasync_send_config) ---- */

#define TEXT_LONG 5000 /* several chunks */

static unsigned chunks_of(size_t len)
{
    return (unsigned)((len + HA_CONFIG_CHUNK_MAX - 1) / HA_CONFIG_CHUNK_MAX);
}

/* A text of len bytes that starts as -S's does and differs with seed and at every position (so
 * chunks put together in the wrong place or from two texts show). */
static char *make_text(size_t len, unsigned seed)
{
    char *t = malloc(len + 1);
    if (!t)
        abort();
    for (size_t i = 0; i < len; i++)
        t[i] = i % 16 == 15 ? ' ' : (char)('a' + (i / 16 * 7 + i + seed) % 26);
    memcpy(t, "rawlb -e ext", len < 12 ? len : 12);
    t[len] = '\0';
    return t;
}

/* B has received text (len bytes) whole, as its count-th text. */
static void check_received(unsigned count, const char *text, size_t len)
{
    CHECK_EQ_U(B.configs_done, count);
    CHECK_EQ_U(B.sync.stats.configs_received, count);
    CHECK_EQ_U(B.config_len, len);
    CHECK(B.config_text && B.config_len == len && memcmp(B.config_text, text, len) == 0);
}

/* A text fills up to the window: the window has room for `room` datagrams, the rest of it is
 * taken by record datagrams B has applied but whose acknowledgements are lost. */
static void fill_window_but(unsigned room)
{
    B.out.drop_all = true;
    make_flows(&A, (HASYNC_WINDOW - room) * HA_SYNC_MAX_RECORDS, 100);
    hasync_flush(&A.sync, now_ms);
    pump();
    CHECK_EQ_U(hasync_in_flight(&A.sync), HASYNC_WINDOW - room);
}

static void test_config_whole(void)
{
    const size_t lens[] = { 1, HA_CONFIG_CHUNK_MAX - 1, HA_CONFIG_CHUNK_MAX, HA_CONFIG_CHUNK_MAX + 1, TEXT_LONG };
    pair_up();
    for (unsigned i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char *text = make_text(lens[i], i);
        uint64_t sent = A.sync.stats.datagrams_sent;
        CHECK(hasync_send_config(&A.sync, text, lens[i]));
        memset(text, 'X', lens[i]); /* copied: the caller's buffer may change at once */
        free(text);
        text = make_text(lens[i], i);
        sync_round();
        CHECK_EQ_U(A.sync.stats.datagrams_sent - sent, chunks_of(lens[i]));
        CHECK_EQ_U(A.sync.stats.configs_sent, i + 1);
        check_received(i + 1, text, lens[i]);
        /* Once: more flush periods, resend time included, bring nothing more. */
        now_ms += HASYNC_RESEND_MS;
        CHECK(sync_until_quiet());
        check_received(i + 1, text, lens[i]);
        CHECK_EQ_U(A.sync.stats.datagrams_resent, 0);
        free(text);
    }
    CHECK_EQ_U(B.sync.stats.records_unknown, 0);
    pair_down();
}

static void test_config_loss(void)
{
    const unsigned n = chunks_of(TEXT_LONG);
    CHECK(n >= 3);
    for (unsigned lost = 0; lost < n; lost++) {
        pair_up();
        start_stream();
        char *text = make_text(TEXT_LONG, lost);
        CHECK(hasync_send_config(&A.sync, text, TEXT_LONG));
        A.out.pass_first = lost;
        A.out.drop_next = 1;
        hasync_flush(&A.sync, now_ms);
        CHECK_EQ_U(A.out.dropped, 1);
        pump_one_way(&A);
        CHECK_EQ_U(B.configs_done, 0); /* a chunk missing: nothing handed on */
        CHECK_EQ_U(B.sync.stats.out_of_order, n - 1 - lost);
        /* Enough chunks after the lost one: their repeated acknowledgements resend at once. */
        bool fast = n - 1 - lost >= HASYNC_DUP_ACKS;
        pump();
        CHECK_EQ_U(A.sync.stats.fast_resends, fast ? 1 : 0);
        CHECK_EQ_U(B.configs_done, fast ? 1 : 0);
        if (!fast) {
            now_ms += HASYNC_RESEND_MS;
            CHECK(sync_until_quiet());
        }
        CHECK_EQ_U(A.sync.stats.datagrams_resent, n - lost);
        check_received(1, text, TEXT_LONG);
        CHECK_EQ_U(A.sync.stats.configs_sent, 1);
        free(text);
        pair_down();
    }
}

static void test_config_replaced(void)
{
    pair_up();
    start_stream();
    char *first = make_text(TEXT_LONG, 1), *second = make_text(TEXT_LONG - 1500, 2);
    fill_window_but(2);
    /* The first text: two of its chunks go (and arrive), the window is full. */
    CHECK(hasync_send_config(&A.sync, first, TEXT_LONG));
    hasync_flush(&A.sync, now_ms);
    pump();
    CHECK_EQ_U(hasync_in_flight(&A.sync), HASYNC_WINDOW);
    CHECK_EQ_U(B.configs_done, 0);
    /* The second replaces it: it starts from its beginning once the window has room. */
    CHECK(hasync_send_config(&A.sync, second, TEXT_LONG - 1500));
    B.out.drop_all = false;
    now_ms += HASYNC_RESEND_MS;
    CHECK(sync_until_quiet());
    check_received(1, second, TEXT_LONG - 1500);
    CHECK_EQ_U(A.sync.stats.configs_sent, 1);
    CHECK(A.max_in_flight <= HASYNC_WINDOW);
    free(first);
    free(second);
    pair_down();
}

/* A push goes into the stream before the records queued after it (and before a table asked for
 * after it): the peer runs the services before it takes their entries. */
static void test_config_before_records(void)
{
    pair_up();
    start_stream();
    char *text = make_text(TEXT_LONG, 3);
    CHECK(hasync_send_config(&A.sync, text, TEXT_LONG));
    make_flows(&A, 3, 100);
    sync_round();
    check_received(1, text, TEXT_LONG);
    CHECK_EQ_U(B.conns_at_config, 1); /* only start_stream's entry before it */
    CHECK_EQ_U(B.conns.count, 4);

    CHECK(hasync_send_config(&A.sync, text, TEXT_LONG));
    make_flows(&A, HA_SYNC_MAX_RECORDS + 5, 200); /* more than one datagram's worth */
    hasync_request_bulk(&A.sync);
    CHECK(sync_until_quiet());
    check_received(2, text, TEXT_LONG);
    CHECK_EQ_U(B.conns_at_config, 4);
    CHECK_EQ_U(B.tables_done, 1);
    check_same_tables();
    free(text);
    pair_down();
}

/* The peer restarts while a text is on its way: the text starts over in the new stream. */
static void test_config_restart(void)
{
    pair_up();
    start_stream();
    char *text = make_text(TEXT_LONG, 4);
    fill_window_but(2);
    CHECK(hasync_send_config(&A.sync, text, TEXT_LONG));
    hasync_flush(&A.sync, now_ms);
    pump();
    CHECK_EQ_U(B.configs_done, 0);
    B.out.drop_all = false;
    restart_stream(&A);
    hasync_flush(&A.sync, now_ms);
    /* The new stream's first datagram is the text's first chunk. */
    CHECK_EQ_U(A.out.len, chunks_of(TEXT_LONG));
    if (A.out.len) {
        const struct dgram *d = &A.out.slots[A.out.head];
        CHECK(d->type == HA_MSG_SYNC && ha_sync_decode(d->payload, d->len, &decoded));
        CHECK_EQ_U(number_of(decoded.stream_seq), 1);
        CHECK(decoded.body == HA_SYNC_CONFIG && decoded.config_offset == 0 && decoded.config_total == TEXT_LONG);
    }
    pump();
    check_received(1, text, TEXT_LONG);
    CHECK(sync_until_quiet());
    check_received(1, text, TEXT_LONG);
    CHECK_EQ_U(A.sync.stats.configs_sent, 1);
    free(text);
    pair_down();
}

static void test_config_limits(void)
{
    pair_up();
    char *big = make_text(HA_CONFIG_TOTAL_MAX + 1, 5);
    char *text = make_text(TEXT_LONG, 6);
    /* Refused: empty, longer than HA_CONFIG_TOTAL_MAX; nothing goes out. */
    CHECK(!hasync_send_config(&A.sync, text, 0));
    CHECK(!hasync_send_config(&A.sync, big, HA_CONFIG_TOTAL_MAX + 1));
    sync_round();
    CHECK_EQ_U(A.sync.stats.datagrams_sent, 0);
    /* ... and a refusal leaves a text being sent alone. */
    CHECK(hasync_send_config(&A.sync, text, TEXT_LONG));
    CHECK(!hasync_send_config(&A.sync, big, HA_CONFIG_TOTAL_MAX + 1));
    CHECK(!hasync_send_config(&A.sync, big, 0));
    sync_round();
    check_received(1, text, TEXT_LONG);
    /* The longest: more chunks than a window holds, it arrives whole in window-sized steps. */
    CHECK(chunks_of(HA_CONFIG_TOTAL_MAX) > HASYNC_WINDOW);
    CHECK(hasync_send_config(&A.sync, big, HA_CONFIG_TOTAL_MAX));
    CHECK(sync_until_quiet());
    check_received(2, big, HA_CONFIG_TOTAL_MAX);
    CHECK_EQ_U(A.max_in_flight, HASYNC_WINDOW);
    CHECK_EQ_U(A.sync.stats.datagrams_resent, 0);
    free(big);
    free(text);
    pair_down();
}

/* ---- records no director sends, from an authentic peer all the same ---- */

static uint64_t injected; /* datagrams put into B's stream from A's epoch */

/* One records datagram of A's epoch, the next in its stream, straight into B. */
static void inject(const struct ha_record *records, unsigned count)
{
    static struct ha_sync m;
    static uint8_t payload[HA_PAYLOAD_MAX];
    memset(&m, 0, sizeof m);
    m.stream_seq = UINT64_C(1) << HASYNC_STREAM_SHIFT | ++injected;
    m.body = HA_SYNC_RECORDS;
    m.count = (uint16_t)count;
    memcpy(m.records, records, sizeof *records * count);
    size_t len = ha_sync_encode(&m, payload, sizeof payload);
    CHECK(len > 0);
    hasync_receive(&B.sync, EPOCH_A, HA_MSG_SYNC, payload, len, now_ms);
}

/* A template record of the persistent service for client's network, on real server raddr. */
static struct ha_record template_record(uint32_t caddr, uint8_t extra_flags, uint16_t cport, uint32_t raddr)
{
    struct ha_record r = { .kind = HA_REC_UPSERT, .proto = IPPROTO_TCP, .state = CONN_S_TEMPLATE,
                           .flags = (uint8_t)(HA_REC_F_TEMPLATE | extra_flags), .caddr = htonl(caddr & PERSIST_MASK),
                           .vaddr = htonl(VIP), .daddr = htonl(raddr), .cport = cport, .vport = HTTPS,
                           .dport = HTTPS, .lifetime = 100 };
    return r;
}

/* The template for caddr as the record says, then moved to the other real server (replaced:
 * the new entry takes the slot the old one left). */
static void inject_template(uint32_t caddr, uint8_t extra_flags, uint16_t cport)
{
    struct ha_record r = template_record(caddr, extra_flags, cport, RS1);
    inject(&r, 1);
    r = template_record(caddr, extra_flags, cport, RS2);
    inject(&r, 1);
}

static struct conn *b_template(uint32_t caddr)
{
    return conn_lookup_template(&B.conns, IPPROTO_TCP, htonl(caddr & PERSIST_MASK), htonl(VIP), htons(HTTPS));
}

/* Templates as the fast path keeps them, whatever the record says: found by client network and
 * VIP:port (a client port in the record is no part of the key), never one-packet (it would be in
 * neither hash), never bound to a template (one bound to itself would never expire). Each such
 * record made an entry that no lookup and no DELETE record could reach until it expired. */
static void test_odd_templates(void)
{
    pair_up();
    injected = 0;
    const uint8_t odd[] = { 0, HA_REC_F_ONE_PACKET, HA_REC_F_PERSIST, HA_REC_F_ONE_PACKET | HA_REC_F_PERSIST };
    const uint16_t cports[] = { CPORT, 0, 0, CPORT };
    for (unsigned i = 0; i < sizeof odd; i++) {
        uint32_t caddr = client(0x100 * (i + 1));
        inject_template(caddr, odd[i], cports[i]);
        struct conn *t = b_template(caddr);
        CHECK(t != NULL);
        CHECK_EQ_U(B.conns.count, i + 1); /* replaced, not a second one */
        if (!t)
            continue;
        CHECK_EQ_U(ntohl(t->daddr), RS2);
        CHECK_EQ_U(t->flags & (CONN_F_TEMPLATE | CONN_F_ONE_PACKET), CONN_F_TEMPLATE);
        CHECK_EQ_U(t->cport, 0);
        CHECK(t->template == CONN_NONE);
        CHECK_EQ_U(t->controlled, 0);
    }
    /* A connection record binds to its template; the DELETE of each template reaches it. */
    struct ha_record flow = { .kind = HA_REC_UPSERT, .proto = IPPROTO_TCP, .state = TCP_S_ESTABLISHED,
                              .flags = HA_REC_F_PERSIST, .caddr = htonl(client(0x100)), .vaddr = htonl(VIP),
                              .daddr = htonl(RS1), .cport = CPORT, .vport = HTTPS, .dport = HTTPS, .lifetime = 50 };
    inject(&flow, 1);
    struct conn *t = b_template(client(0x100));
    CHECK(t && t->controlled == 1);
    flow.kind = HA_REC_DELETE;
    inject(&flow, 1);
    CHECK(t && t->controlled == 0);
    for (unsigned i = 0; i < sizeof odd; i++) {
        struct ha_record r = template_record(client(0x100 * (i + 1)), odd[i], 0, RS2);
        r.kind = HA_REC_DELETE;
        inject(&r, 1);
        CHECK(b_template(client(0x100 * (i + 1))) == NULL);
    }
    CHECK_EQ_U(B.conns.count, 0);
    /* And one left alone expires at its lifetime. */
    inject_template(client(0x500), HA_REC_F_PERSIST, 0);
    CHECK_EQ_U(B.conns.count, 1);
    now_ms += 102 * 1000ull;
    tick(&B);
    CHECK_EQ_U(B.conns.count, 0);
    CHECK_EQ_U(B.sync.stats.records_unknown, 0);
    pair_down();
}

int main(void)
{
    test_new_entry();
    test_changes_and_deletions();
    test_no_echo();
    test_loss();
    test_reorder();
    test_duplicates();
    test_new_stream();
    test_master_policy();
    test_unknown();
    test_bulk();
    test_bulk_window();
    test_overflow();
    test_config_whole();
    test_config_loss();
    test_config_replaced();
    test_config_before_records();
    test_config_restart();
    test_config_limits();
    test_odd_templates();
    CHECK_DONE();
}
