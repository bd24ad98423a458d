/* test_hasync_tables: connection sync (ha/hasync.c) between two directors that each have two
 * connection tables (two workers), in one process on a fake clock. The owner function (what
 * flow_worker is to the daemon) puts a flow in the table of its client port's parity, and a
 * persistent flow and its template in the table of the client network's parity (a template has
 * no client port; a template and its flows must have the same owner). A makes its entries in
 * their owner's table as a worker would; what one director sends goes into a FIFO to the other
 * and is delivered by pump(). Covered:
 *   - entries of both of A's tables reach B, each into its owner's table and not the other's, a
 *     persistent flow bound to its template there; deletes reach them there;
 *   - a whole-table transfer covers both tables, the templates of both before any other entry;
 *   - two threads making, changing and removing entries in their own tables at once (hasync's
 *     watcher called from both concurrently, as from two workers): every entry is queued once,
 *     nothing overflows, every DELETE goes out, and B ends with A's tables. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
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

#define CONFIG                                                                                               \
    "-e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 -r 203.0.113.12:80 "               \
    "-t 198.51.100.10:443 -p 300 -M 255.255.255.0 -r 203.0.113.11:443 -r 203.0.113.12:443 "                 \
    "-u 198.51.100.10:53 -r 203.0.113.11:53"

/* Addresses in host order. */
#define VIP 0xc633640au        /* 198.51.100.10 */
#define RS1 0xcb00710bu        /* 203.0.113.11 */
#define CLIENT_NET 0x0a000000u /* 10.0.0.0/8: clients */
#define NET_SHIFT 8            /* the persistent service's /24: client networks */
#define HTTP 80
#define HTTPS 443 /* the persistent service */
#define DNS 53
#define CPORT 40000 /* even: CPORT + table is a client port that table owns */

#define TABLES 2
#define EPOCH_A 11
#define EPOCH_B 22
#define SEED_A 0x1234u
#define SEED_B 0x9876u
#define CAPACITY (1u << 17)   /* entries per table: a thread's SYNs within its half-open share */
#define WIRE_SLOTS 4096       /* datagrams a wire holds: a window and its resend, with room */
#define SYNC_ROUNDS_MAX 10000
#define T_START 10            /* seconds: the tables' clock when a test starts */
#define FEW_CLIENTS 16
#define BULK_CLIENTS 2000
#define THREAD_FLOWS 20000    /* per thread: both threads' together fit the queue */
#define DELETE_EVERY 8        /* the threads' second pass removes every 8th entry, changes the rest */

_Static_assert(TABLES * THREAD_FLOWS < HASYNC_QUEUE, "the threads' entries fit the queue");
_Static_assert(THREAD_FLOWS <= CAPACITY / CONN_HALF_OPEN_SHARE, "a thread's SYNs stay half-open, none evicted");
_Static_assert(TABLES * THREAD_FLOWS / DELETE_EVERY / HA_SYNC_MAX_RECORDS < HASYNC_WINDOW,
               "the threads' DELETE records fit the window");

/* ---- the wire ---- */

struct dgram {
    enum ha_msg_type type;
    size_t len;
    uint8_t payload[HA_PAYLOAD_MAX];
};

struct director {
    uint64_t epoch;
    struct rawlb_config cfg;
    struct service_table svcs;
    struct conn_table tables[TABLES];
    struct hasync sync;
    struct dgram *wire; /* to the peer: a FIFO of WIRE_SLOTS */
    unsigned wire_head, wire_len;
    uint64_t wire_overflowed;
    struct director *peer;
    unsigned tables_done;
    /* In a whole-table transfer on the wire: whether an entry that is no template went by, and
     * the templates that came after one. */
    bool in_bulk, bulk_flow_seen;
    unsigned late_templates;
};

static struct director A, B;
static uint64_t now_ms;
static struct ha_sync decoded; /* 2.6 KB: not on the stack */

/* The order of a whole-table transfer's records, as they go out. */
static void watch_bulk(struct director *d, const uint8_t *payload, size_t len)
{
    if (!ha_sync_decode(payload, len, &decoded)) {
        CHECK(!"hasync sends SYNC payloads that decode");
        return;
    }
    if (decoded.body != HA_SYNC_RECORDS)
        return;
    for (unsigned i = 0; i < decoded.count; i++) {
        const struct ha_record *r = &decoded.records[i];
        if (r->kind == HA_REC_BULK_BEGIN || r->kind == HA_REC_BULK_END) {
            d->in_bulk = r->kind == HA_REC_BULK_BEGIN;
            d->bulk_flow_seen = false;
        } else if (d->in_bulk && r->kind == HA_REC_UPSERT) {
            bool tpl = r->flags & HA_REC_F_TEMPLATE;
            d->late_templates += tpl && d->bulk_flow_seen;
            d->bulk_flow_seen |= !tpl;
        }
    }
}

/* hasync's send function (called by the worker threads too, under hasync's lock). */
static bool wire_send(void *arg, enum ha_msg_type type, const uint8_t *payload, size_t len)
{
    struct director *d = arg;
    if (len > HA_PAYLOAD_MAX || d->wire_len == WIRE_SLOTS) {
        d->wire_overflowed++;
        return false;
    }
    if (type == HA_MSG_SYNC)
        watch_bulk(d, payload, len);
    struct dgram *g = &d->wire[(d->wire_head + d->wire_len++) % WIRE_SLOTS];
    g->type = type;
    g->len = len;
    memcpy(g->payload, payload, len);
    return true;
}

/* Both wires until both are quiet. */
static void pump(void)
{
    static struct dgram g;
    while (A.wire_len || B.wire_len) {
        for (struct director *d = &A; d; d = d == &A ? &B : NULL) {
            if (!d->wire_len)
                continue;
            g = d->wire[d->wire_head];
            d->wire_head = (d->wire_head + 1) % WIRE_SLOTS;
            d->wire_len--;
            hasync_receive(&d->peer->sync, d->epoch, g.type, g.payload, g.len, now_ms);
        }
    }
}

/* Flush periods (one at least: a DELETE waits in the datagram being filled) until A has nothing
 * left to send or acknowledge; false if it never gets there. */
static bool sync_until_quiet(void)
{
    for (unsigned i = 0; i < SYNC_ROUNDS_MAX; i++) {
        now_ms += HASYNC_FLUSH_MS;
        hasync_flush(&A.sync, now_ms);
        hasync_flush(&B.sync, now_ms);
        pump();
        if (!hasync_bulk_busy(&A.sync) && !hasync_queued(&A.sync) && !hasync_in_flight(&A.sync))
            return true;
    }
    return false;
}

/* ---- the two directors ---- */

/* The table an entry belongs in: see the top of the file. */
static unsigned owner_of(void *arg, const struct conn *entry)
{
    (void)arg;
    if (ntohs(entry->vport) == HTTPS)
        return (ntohl(entry->caddr) >> NET_SHIFT) % TABLES;
    return ntohs(entry->cport) % TABLES;
}

static void table_done(void *arg)
{
    ((struct director *)arg)->tables_done++;
}

static void director_up(struct director *d, uint64_t epoch, uint32_t seed, struct director *peer)
{
    char err[RAWLB_ERRLEN] = "";
    memset(d, 0, sizeof *d);
    d->epoch = epoch;
    d->peer = peer;
    fpenv_parse(&d->cfg, CONFIG);
    d->wire = calloc(WIRE_SLOTS, sizeof *d->wire);
    bool ok = d->wire && service_table_init(&d->svcs, &d->cfg, err, sizeof err);
    struct conn_table *tables[TABLES];
    for (unsigned i = 0; ok && i < TABLES; i++) {
        tables[i] = &d->tables[i];
        ok = conn_table_init(tables[i], CAPACITY, &d->cfg.timeouts, &(struct siphash_key){ seed, i });
        if (ok)
            conn_expire_tick(tables[i], T_START);
    }
    if (!ok || !hasync_init(&d->sync, tables, TABLES, owner_of, &d->svcs, wire_send, table_done, NULL, d)) {
        fprintf(stderr, "test setup failed: %s\n", err);
        abort();
    }
    d->sync.epoch = epoch;
}

static void director_down(struct director *d)
{
    CHECK_EQ_U(d->wire_overflowed, 0);
    hasync_free(&d->sync);
    for (unsigned i = 0; i < TABLES; i++)
        conn_table_free(&d->tables[i]);
    service_table_free(&d->svcs);
    free(d->wire);
}

/* A master that sends, a backup that does not; the clock at T_START. */
static void pair_up(void)
{
    now_ms = (uint64_t)T_START * 1000;
    director_up(&A, EPOCH_A, SEED_A, &B);
    director_up(&B, EPOCH_B, SEED_B, &A);
    hasync_set_role(&A.sync, true, true);
    hasync_set_role(&B.sync, false, false);
}

static void pair_down(void)
{
    director_down(&A);
    director_down(&B);
}

/* ---- entries made as a worker makes them ---- */

static uint32_t client(unsigned i)
{
    return CLIENT_NET + i;
}

/* The entry of a new flow caddr:cport -> VIP:vport on RS1, in its initial state, without its
 * template; false if the service is not A's. */
static bool flow_entry(uint8_t proto, uint32_t caddr, uint16_t cport, uint16_t vport, struct conn *e)
{
    int svc = service_find(&A.svcs, proto, htonl(VIP), htons(vport));
    if (svc < 0)
        return false;
    const struct service *sv = &A.svcs.svc[svc];
    *e = (struct conn){ .caddr = htonl(caddr), .cport = htons(cport), .vaddr = sv->vip.addr, .vport = sv->vip.port,
                        .daddr = sv->rs[0].ep.addr, .dport = sv->rs[0].ep.port, .proto = proto,
                        .svc = (uint16_t)svc, .rs = 0, .template = CONN_NONE };
    return true;
}

/* e's template in t (made if there is none), as the fast path's pick_server. */
static uint32_t template_for(struct conn_table *t, const struct conn *e)
{
    const struct service *sv = &A.svcs.svc[e->svc];
    uint32_t net = e->caddr & sv->persist_mask;
    struct conn *tpl = conn_lookup_template(t, e->proto, net, e->vaddr, e->vport);
    if (!tpl) {
        struct conn te = { .caddr = net, .vaddr = e->vaddr, .vport = e->vport, .daddr = e->daddr, .dport = e->dport,
                           .proto = e->proto, .flags = CONN_F_TEMPLATE, .svc = e->svc, .rs = e->rs,
                           .template = CONN_NONE, .template_timeout = sv->persist_timeout };
        tpl = conn_create(t, &te);
    }
    CHECK(tpl != NULL);
    return tpl ? conn_index(t, tpl) : CONN_NONE;
}

/* A new flow in its owner's table of A (with its template, in the same table). */
static struct conn *new_flow(uint8_t proto, uint32_t caddr, uint16_t cport, uint16_t vport)
{
    struct conn e;
    if (!flow_entry(proto, caddr, cport, vport, &e)) {
        CHECK(!"the test's flows name configured services");
        return NULL;
    }
    struct conn_table *t = &A.tables[owner_of(NULL, &e)];
    if (A.svcs.svc[e.svc].persist_timeout)
        e.template = template_for(t, &e);
    struct conn *c = conn_create(t, &e);
    CHECK(c != NULL);
    return c;
}

static void establish(struct conn_table *t, struct conn *c)
{
    conn_tcp_update(t, c, CONN_DIR_IN, TH_SYN_);
    conn_tcp_update(t, c, CONN_DIR_OUT, TH_SYN_ | TH_ACK_);
    conn_tcp_update(t, c, CONN_DIR_IN, TH_ACK_);
}

/* Flows of every kind from n clients, on both parities of client port and client network. */
static void make_flows(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint16_t cport = (uint16_t)(CPORT + i % TABLES);
        struct conn *web = new_flow(IPPROTO_TCP, client(i), cport, HTTP);
        struct conn *persistent = new_flow(IPPROTO_TCP, client(i << NET_SHIFT | i % 2), cport, HTTPS);
        new_flow(IPPROTO_UDP, client(i), cport, DNS);
        if (web)
            establish(&A.tables[owner_of(NULL, web)], web);
        if (persistent)
            establish(&A.tables[owner_of(NULL, persistent)], persistent);
    }
}

/* ---- comparing the two directors ---- */

/* The entry with a's key in t, or NULL. */
static struct conn *find_copy(struct conn_table *t, const struct conn *a)
{
    struct conn key = { .caddr = a->caddr, .cport = a->cport, .vaddr = a->vaddr, .vport = a->vport,
                        .daddr = a->daddr, .dport = a->dport, .proto = a->proto,
                        .flags = (uint16_t)(a->flags & (CONN_F_TEMPLATE | CONN_F_ONE_PACKET)) };
    return conn_find(t, &key);
}

/* b (in bt) is bound to the copy of a's template (in at), or both to none. */
static bool same_template(const struct conn_table *at, const struct conn *a, const struct conn_table *bt,
                          const struct conn *b)
{
    if (a->template == CONN_NONE)
        return b->template == CONN_NONE;
    if (b->template == CONN_NONE)
        return false;
    const struct conn *ta = &at->pool[a->template], *tb = &bt->pool[b->template];
    return (tb->flags & (CONN_F_LIVE | CONN_F_TEMPLATE)) == (CONN_F_LIVE | CONN_F_TEMPLATE) &&
           tb->generation == b->template_generation && tb->caddr == ta->caddr && tb->vport == ta->vport;
}

/* A's entries of table k missing from B's table k, different there, or also in B's other table. */
static unsigned mismatches(unsigned k)
{
    unsigned bad = 0;
    struct conn_table *at = &A.tables[k], *bt = &B.tables[k];
    for (uint32_t i = 0; i < at->never_used; i++) {
        const struct conn *a = &at->pool[i];
        if (!(a->flags & CONN_F_LIVE))
            continue;
        const struct conn *b = find_copy(bt, a);
        bad += !b || b->state != a->state || b->daddr != a->daddr || !same_template(at, a, bt, b) ||
               find_copy(&B.tables[(k + 1) % TABLES], a) != NULL;
    }
    return bad;
}

/* B holds exactly A's entries, table by table; both tables have some. */
static void check_same_tables(void)
{
    for (unsigned k = 0; k < TABLES; k++) {
        CHECK(A.tables[k].count > 0);
        CHECK_EQ_U(mismatches(k), 0);
        CHECK_EQ_U(B.tables[k].count, A.tables[k].count);
    }
    CHECK_EQ_U(B.sync.stats.records_unknown, 0);
}

/* ---- tests ---- */

static void test_sync_and_delete(void)
{
    pair_up();
    make_flows(FEW_CLIENTS);
    CHECK(sync_until_quiet());
    check_same_tables();
    /* One flow of each table goes (with its template, if it was the last one's flow). */
    for (unsigned k = 0; k < TABLES; k++) {
        struct conn_table *t = &A.tables[k];
        for (uint32_t i = 0; i < t->never_used; i++)
            if ((t->pool[i].flags & (CONN_F_LIVE | CONN_F_TEMPLATE)) == CONN_F_LIVE) {
                conn_delete(t, &t->pool[i]);
                break;
            }
    }
    CHECK(sync_until_quiet());
    check_same_tables();
    pair_down();
}

static void test_bulk(void)
{
    pair_up();
    hasync_set_role(&A.sync, false, true);
    make_flows(BULK_CLIENTS);
    hasync_set_role(&A.sync, true, true);
    CHECK_EQ_U(hasync_queued(&A.sync), 0);
    hasync_request_bulk(&A.sync);
    CHECK(sync_until_quiet());
    CHECK_EQ_U(B.tables_done, 1);
    CHECK_EQ_U(A.late_templates, 0);
    check_same_tables();
    pair_down();
}

/* ---- two workers at once ---- */

struct worker {
    unsigned table;
    bool second_pass; /* false: make THREAD_FLOWS flows; true: remove or change them */
    pthread_barrier_t *start;
    struct conn *made[THREAD_FLOWS];
};

/* What a worker does to its table, each step telling hasync's watcher. */
static void *worker_run(void *arg)
{
    struct worker *w = arg;
    struct conn_table *t = &A.tables[w->table];
    pthread_barrier_wait(w->start);
    for (unsigned i = 0; i < THREAD_FLOWS; i++) {
        if (!w->second_pass) {
            struct conn e;
            flow_entry(IPPROTO_TCP, client(i), (uint16_t)(CPORT + w->table), HTTP, &e);
            w->made[i] = conn_create(t, &e);
            if (w->made[i])
                conn_tcp_update(t, w->made[i], CONN_DIR_IN, TH_SYN_);
        } else if (w->made[i] && i % DELETE_EVERY == 0) {
            conn_delete(t, w->made[i]);
        } else if (w->made[i]) {
            conn_tcp_update(t, w->made[i], CONN_DIR_OUT, TH_SYN_ | TH_ACK_);
            conn_tcp_update(t, w->made[i], CONN_DIR_IN, TH_ACK_);
        }
    }
    return NULL;
}

/* Both workers through one pass at once. */
static void run_workers(struct worker *w, bool second_pass)
{
    pthread_barrier_t start;
    pthread_t threads[TABLES];
    pthread_barrier_init(&start, NULL, TABLES);
    for (unsigned k = 0; k < TABLES; k++) {
        w[k].table = k;
        w[k].second_pass = second_pass;
        w[k].start = &start;
        if (pthread_create(&threads[k], NULL, worker_run, &w[k]) != 0) {
            fprintf(stderr, "test setup failed: pthread_create\n");
            abort();
        }
    }
    for (unsigned k = 0; k < TABLES; k++)
        pthread_join(threads[k], NULL);
    pthread_barrier_destroy(&start);
}

static void test_concurrent_watchers(void)
{
    static struct worker w[TABLES];
    pair_up();
    run_workers(w, false);
    for (unsigned k = 0; k < TABLES; k++)
        CHECK_EQ_U(A.tables[k].count, THREAD_FLOWS);
    CHECK_EQ_U(hasync_queued(&A.sync), TABLES * THREAD_FLOWS); /* each once, none lost */
    CHECK_EQ_U(A.sync.stats.overflows, 0);
    CHECK(sync_until_quiet());
    check_same_tables();

    uint64_t records_before = A.sync.stats.records_sent;
    run_workers(w, true);
    const unsigned deleted = THREAD_FLOWS / DELETE_EVERY;
    for (unsigned k = 0; k < TABLES; k++)
        CHECK_EQ_U(A.tables[k].count, THREAD_FLOWS - deleted);
    CHECK_EQ_U(hasync_queued(&A.sync), TABLES * (THREAD_FLOWS - deleted));
    CHECK_EQ_U(A.sync.stats.overflows, 0);
    CHECK(sync_until_quiet());
    CHECK_EQ_U(A.sync.stats.records_sent - records_before, TABLES * THREAD_FLOWS); /* DELETEs and changes */
    check_same_tables();
    pair_down();
}

int main(void)
{
    test_sync_and_delete();
    test_bulk();
    test_concurrent_watchers();
    CHECK_DONE();
}
