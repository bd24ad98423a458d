/* fuzz_hasync: the HA sync receiver (ha/hasync.c hasync_receive), what an authentic peer's SYNC
 * and SYNC_ACK payloads reach, on arbitrary bytes, with state carried from one input to the next
 * as in the daemon: one director's services, its connection table (inside a fast path, so the
 * per-real-server counters watch it too) and its hasync.
 *
 * libFuzzer (clang, -DRAWLB_FUZZ=ON):  fuzz_hasync [-max_total_time=60] [CORPUS_DIR]
 *   (seeds: test/fuzz/corpus/hasync/, written by build/test/test_hasync_fuzz --write-corpus DIR 24;
 *   copy them, libFuzzer adds to its CORPUS_DIR)
 * Standalone (any compiler, -DRAWLB_FUZZ_STANDALONE; test/unit/test_hasync_fuzz.c includes this
 * file that way):  with file arguments, replays them in order; without, feeds a deterministic
 * stream of valid ha_sync encodings (records with keys from a small pool, so that updates and
 * deletes meet existing entries: known and unknown services and real servers, every state,
 * templates, persistent and one-packet entries, lifetimes from 0 to huge; configuration chunks in
 * order and not), acknowledgements of what the director sent, and local events, half of them
 * mutated; --write-corpus DIR N writes the first N (the first FZ_SEEDS are unmutated).
 *
 * Set up once: the services of FZ_ARGS (TCP with a sorry server, TCP persistent /24, UDP
 * one-packet, UDP persistent), a connection table of 256 entries so that "table full" is reached.
 * Input: byte 0 is control, the rest the payload.
 *   bits 0-1  0, 1: a SYNC payload to hasync_receive; 2: a SYNC_ACK payload; 3: a local event
 *             named by the payload's first byte (0: hasync_send_config of a text made from the
 *             payload, up to 512 KB, more chunks than the window; 1: hasync_request_bulk;
 *             2: hasync_peer_restarted)
 *   bits 2-3  the peer's epoch, from FZ_EPOCHS; one above any seen before is a restart of the
 *             peer (hasync_peer_restarted, as a heartbeat of a new epoch does in ha.c); an older
 *             one is delivered all the same (hasync must ignore what it says)
 *   bit 4     this director is master (sending, only adding entries); becoming master asks for a
 *             whole-table transfer
 *   bits 5-6  the clock: none, +20 ms, +250 ms, +37 s (hasync_flush and the table's expiry run)
 *   bit 7     fix-up: a SYNC payload's stream_seq is set to the one the receiver expects next, a
 *             SYNC_ACK's epoch and stream to ours (its number kept within what was sent), so
 *             that the fuzzer gets past the stream checks from any state
 * The payload is an exact-size heap copy (a read past it is a heap overflow under ASan).
 * Invariants after each input:
 *   - the table's count equals the live entries conn_for_each finds;
 *   - every live entry's service and real server index is within the service table, its
 *     protocol, VIP:port and destination are that service's and real server's, its state fits
 *     its kind, and its own key finds it (conn_find);
 *   - an entry bound to a template (the generation matching) is not a template itself and the
 *     template is a live template of the same service; a template's controlled count is the
 *     number of live entries bound to it;
 *   - the per-real-server counters (ActiveConn, InActConn, persistent) count the live entries;
 *   - hasync never has more than HASYNC_WINDOW datagrams unacknowledged: checked on every
 *     datagram it sends, against the acknowledgements given to it (a model), and each new datagram
 *     is the stream's next; whatever it sends decodes; an acknowledgement names the epoch of the
 *     peer it answers;
 *   - a configuration text handed on is NUL-terminated at its length (every byte read). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "fastpath.h"
#include "fpenv.h"
#include "fuzz.h"
#include "hamsg.h"
#include "hasync.h"
#include "neigh.h"
#include "service.h"

#define FZ_ARGS                                                                                          \
    "-e ext -i int -n 203.0.113.1 --max-conns 256 "                                                      \
    "-t 198.51.100.10:80 -r 203.0.113.11:80:3 -r 203.0.113.12:80 --sorry-server 203.0.113.99:80 "        \
    "-t 198.51.100.10:443 -p 60 -M 255.255.255.0 -r 203.0.113.11:443 -r 203.0.113.12:443 "               \
    "-u 198.51.100.10:53 -o -r 203.0.113.11:53 -r 203.0.113.12:53 "                                      \
    "-u 198.51.100.11:5353 -p 30 -r 203.0.113.13:5353"

#define FZ_CAPACITY 256 /* --max-conns */
#define FZ_MAX_SVC 4    /* FZ_ARGS's services */
#define FZ_MAX_RS 3     /* and real servers, a sorry server included */
#define FZ_OWN_EPOCH 42 /* this director's: the peer's acknowledgements name it */
#define FZ_NUMBER_MASK ((UINT64_C(1) << HASYNC_STREAM_SHIFT) - 1)
#define FZ_T0_MS 10000
#define FZ_PUSH_MAX (512u * 1024)

static const uint64_t fz_epochs[4] = { 7, 8, 9, UINT64_MAX };
static const uint64_t fz_advance_ms[4] = { 0, HASYNC_FLUSH_MS, HASYNC_RESEND_MS + 50, 37000 };

static struct rawlb_config fz_cfg;
static struct service_table fz_svcs;
static struct neigh_table fz_neigh;
static struct fastpath fz_fp;
static struct hasync fz_sync;
static uint64_t fz_now_ms = FZ_T0_MS;
static bool fz_master;
static uint64_t fz_peer_epoch; /* the newest epoch "heard" (0: none yet) */

/* The sender as the wire sees it: the current stream's highest datagram sent and acknowledged. */
static uint64_t fz_top_sent, fz_top_acked, fz_max_in_flight;
static uint64_t fz_rx_epoch; /* the epoch of the payload being received (acknowledgements name it) */
static uint64_t fz_configs, fz_tables, fz_bound_seen;

static void fz_table_done(void *arg)
{
    (void)arg;
    fz_tables++;
}

static void fz_config_done(void *arg, const char *text, size_t len)
{
    (void)arg;
    FUZZ_ASSERT(len <= HA_CONFIG_TOTAL_MAX);
    FUZZ_ASSERT(text[len] == '\0');
    volatile uint8_t sum = 0; /* every byte read: under ASan a short buffer shows */
    for (size_t i = 0; i < len; i++)
        sum ^= (uint8_t)text[i];
    (void)sum;
    fz_configs++;
}

static void fz_restart_model(void)
{
    fz_top_sent = fz_top_acked = 0;
}

/* hasync's send function: what it sends is checked, then dropped (the peer is the fuzzer). */
static bool fz_send(void *arg, enum ha_msg_type type, const uint8_t *payload, size_t len)
{
    (void)arg;
    FUZZ_ASSERT(len <= HA_PAYLOAD_MAX);
    if (type == HA_MSG_SYNC_ACK) {
        struct ha_ack a;
        FUZZ_ASSERT(ha_ack_decode(payload, len, &a));
        FUZZ_ASSERT(a.stream_epoch == fz_rx_epoch);
        return true;
    }
    FUZZ_ASSERT(type == HA_MSG_SYNC);
    static struct ha_sync m;
    FUZZ_ASSERT(ha_sync_decode(payload, len, &m));
    uint64_t number = m.stream_seq & FZ_NUMBER_MASK;
    FUZZ_ASSERT(m.stream_seq >> HASYNC_STREAM_SHIFT == fz_sync.stream);
    FUZZ_ASSERT(number > fz_top_acked);                   /* never what was acknowledged */
    FUZZ_ASSERT(number - fz_top_acked <= HASYNC_WINDOW);  /* the window */
    FUZZ_ASSERT(number <= fz_top_sent + 1);               /* a new one is the next */
    if (number > fz_top_sent)
        fz_top_sent = number;
    if (fz_top_sent - fz_top_acked > fz_max_in_flight)
        fz_max_in_flight = fz_top_sent - fz_top_acked;
    return true;
}

/* One fast path: every entry is its table's. */
static unsigned fz_owner(void *arg, const struct conn *entry)
{
    (void)arg;
    (void)entry;
    return 0;
}

static void fz_setup(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    static const struct fpenv env = { &fz_cfg, &fz_svcs, &fz_neigh, &fz_fp };
    struct fpenv_opts o = { .ext_mtu = 1500, .int_mtu = 1500, .seed = 0x5eed1234u, .learnt_at = FZ_T0_MS / 1000 };
    fpenv_up(&env, FZ_ARGS, &o);
    fastpath_tick(&fz_fp, FZ_T0_MS / 1000);
    if (!hasync_init(&fz_sync, (struct conn_table *const[]){ &fz_fp.conns }, 1, fz_owner, &fz_svcs, fz_send,
                     fz_table_done, fz_config_done, NULL)) {
        fprintf(stderr, "fuzz_hasync setup: hasync_init failed\n");
        abort();
    }
    fz_sync.epoch = FZ_OWN_EPOCH;
    FUZZ_ASSERT(fz_fp.conns.capacity == FZ_CAPACITY && fz_svcs.n <= FZ_MAX_SVC);
    for (unsigned i = 0; i < fz_svcs.n; i++)
        FUZZ_ASSERT(fz_svcs.svc[i].n_rs + (fz_svcs.svc[i].has_sorry ? 1u : 0u) <= FZ_MAX_RS);
    hasync_set_role(&fz_sync, false, false);
}

/* ---- invariants ---- */

struct fz_walk {
    uint32_t live;
    uint32_t bound[FZ_CAPACITY];             /* per template index: live entries bound to it */
    uint32_t counts[FZ_MAX_SVC][FZ_MAX_RS][3]; /* active, inactive, persistent */
};
static struct fz_walk fz_w;

/* b has a's key, as conn_find looks for it: a template by client (network) and VIP:port, a
 * one-packet entry by its reply side, the rest by their client side. */
static bool fz_same_key(const struct conn *a, const struct conn *b)
{
    if (a->proto != b->proto || a->caddr != b->caddr)
        return false;
    if (a->flags & CONN_F_TEMPLATE)
        return b->vaddr == a->vaddr && b->vport == a->vport;
    if (a->cport != b->cport)
        return false;
    if (a->flags & CONN_F_ONE_PACKET)
        return b->daddr == a->daddr && b->dport == a->dport;
    return b->vaddr == a->vaddr && b->vport == a->vport;
}

static void fz_visit(void *arg, struct conn_table *t, struct conn *c)
{
    struct fz_walk *w = arg;
    w->live++;
    FUZZ_ASSERT(c->flags & CONN_F_LIVE);
    FUZZ_ASSERT(c->svc < fz_svcs.n);
    const struct service *sv = &fz_svcs.svc[c->svc];
    FUZZ_ASSERT(c->rs < sv->n_rs + (sv->has_sorry ? 1u : 0u));
    const struct real_server *rs = &sv->rs[c->rs];
    FUZZ_ASSERT(c->proto == sv->proto && c->vaddr == sv->vip.addr && c->vport == sv->vip.port);
    FUZZ_ASSERT(c->daddr == rs->ep.addr && c->dport == rs->ep.port);
    bool tpl = c->flags & CONN_F_TEMPLATE;
    if (tpl)
        FUZZ_ASSERT(c->state == CONN_S_TEMPLATE);
    else if (c->proto == IPPROTO_TCP)
        FUZZ_ASSERT(c->state < TCP_S_COUNT);
    else
        FUZZ_ASSERT(c->state == CONN_S_UDP || c->state == CONN_S_UDP_NEW);
    /* Reachable by its own key (a DELETE record can find it; it is not leaked until it expires). */
    struct conn *found = conn_find(t, c);
    FUZZ_ASSERT(found && fz_same_key(c, found));
    if (tpl)
        FUZZ_ASSERT(found == c); /* one template per key */
    if (c->template != CONN_NONE) {
        FUZZ_ASSERT(c->template < t->never_used);
        const struct conn *p = &t->pool[c->template];
        if (p->generation == c->template_generation) {
            FUZZ_ASSERT(!tpl); /* a template controlling a template (or itself) never expires */
            FUZZ_ASSERT((p->flags & CONN_F_LIVE) && (p->flags & CONN_F_TEMPLATE));
            FUZZ_ASSERT(p->svc == c->svc);
            w->bound[c->template]++;
            fz_bound_seen++;
        }
    }
    unsigned k = tpl ? 2 : c->state == TCP_S_ESTABLISHED ? 0 : 1;
    w->counts[c->svc][c->rs][k]++;
}

static void fz_check(void)
{
    struct conn_table *t = &fz_fp.conns;
    memset(&fz_w, 0, sizeof fz_w);
    FUZZ_ASSERT(t->never_used <= FZ_CAPACITY);
    conn_for_each(t, fz_visit, &fz_w);
    FUZZ_ASSERT(fz_w.live == t->count);
    for (uint32_t i = 0; i < t->never_used; i++) {
        const struct conn *c = &t->pool[i];
        if ((c->flags & CONN_F_LIVE) && (c->flags & CONN_F_TEMPLATE))
            FUZZ_ASSERT(c->controlled == fz_w.bound[i]);
    }
    for (unsigned s = 0; s < fz_svcs.n; s++) {
        const struct service *sv = &fz_svcs.svc[s];
        for (unsigned r = 0; r < sv->n_rs + (sv->has_sorry ? 1u : 0u); r++) {
            FUZZ_ASSERT(sv->rs[r].active == fz_w.counts[s][r][0]);
            FUZZ_ASSERT(sv->rs[r].inactive == fz_w.counts[s][r][1]);
            FUZZ_ASSERT(sv->rs[r].persistent == fz_w.counts[s][r][2]);
        }
    }
    FUZZ_ASSERT(hasync_in_flight(&fz_sync) == fz_top_sent - fz_top_acked);
    FUZZ_ASSERT(hasync_in_flight(&fz_sync) <= HASYNC_WINDOW);
    FUZZ_ASSERT(hasync_queued(&fz_sync) <= HASYNC_QUEUE);
}

/* ---- the target ---- */

static void fz_put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t fz_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The acknowledgement as hasync should take it (the model's side of take_ack). */
static void fz_model_ack(const uint8_t *p, size_t len)
{
    struct ha_ack a;
    if (!ha_ack_decode(p, len, &a) || a.stream_epoch != FZ_OWN_EPOCH ||
        a.acked >> HASYNC_STREAM_SHIFT != fz_sync.stream)
        return;
    uint64_t number = a.acked & FZ_NUMBER_MASK;
    if (number > fz_top_acked && number <= fz_top_sent)
        fz_top_acked = number;
}

/* A local event: a configuration pushed, a table asked for, a new stream. */
static void fz_local(const uint8_t *p, size_t len)
{
    if (!len)
        return;
    switch (p[0] % 3) {
    case 0: {
        size_t want = len < 4 ? len : 1 + ((size_t)p[1] << 8 | p[2]) * (1 + p[3] % 8);
        if (want > FZ_PUSH_MAX)
            want = FZ_PUSH_MAX;
        char *text = malloc(want);
        FUZZ_ASSERT(text);
        for (size_t i = 0; i < want; i++)
            text[i] = (char)p[i % len];
        FUZZ_ASSERT(hasync_send_config(&fz_sync, text, want) == (want > 0));
        free(text);
        break;
    }
    case 1:
        hasync_request_bulk(&fz_sync);
        break;
    default:
        hasync_peer_restarted(&fz_sync);
        fz_restart_model();
        break;
    }
    hasync_flush(&fz_sync, fz_now_ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_setup();
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    unsigned what = ctl & 3;
    uint64_t epoch = fz_epochs[(ctl >> 2) & 3];
    bool master = (ctl & 0x10) != 0, fix = (ctl & 0x80) != 0;
    size_t len = size - 1;
    uint8_t *p = malloc(len ? len : 1);
    FUZZ_ASSERT(p);
    if (len)
        memcpy(p, data + 1, len);

    if (master != fz_master) {
        fz_master = master;
        hasync_set_role(&fz_sync, master, master);
        if (master)
            hasync_request_bulk(&fz_sync);
    }
    uint64_t adv = fz_advance_ms[(ctl >> 5) & 3];
    if (adv) {
        fz_now_ms += adv;
        fastpath_tick(&fz_fp, (uint32_t)(fz_now_ms / 1000));
        hasync_flush(&fz_sync, fz_now_ms);
    }
    if (epoch > fz_peer_epoch) { /* a heartbeat of the peer's new run */
        fz_peer_epoch = epoch;
        hasync_peer_restarted(&fz_sync);
        fz_restart_model();
    }
    fz_rx_epoch = epoch;
    if (what <= 1) {
        if (fix && len >= 8) {
            uint64_t stream = fz_sync.in_stream, number = fz_sync.in_next;
            if (epoch != fz_sync.in_epoch || !number) {
                stream = (stream + 1) & 0xffff;
                number = 1;
            }
            fz_put64(p, stream << HASYNC_STREAM_SHIFT | number);
        }
        hasync_receive(&fz_sync, epoch, HA_MSG_SYNC, p, len, fz_now_ms);
    } else if (what == 2) {
        if (fix && len >= HA_ACK_LEN) {
            fz_put64(p, FZ_OWN_EPOCH);
            uint64_t number = (fz_get64(p + 8) & FZ_NUMBER_MASK) % (fz_top_sent + 2);
            fz_put64(p + 8, fz_sync.stream << HASYNC_STREAM_SHIFT | number);
        }
        fz_model_ack(p, len); /* before: what hasync sends on at once is checked against it */
        hasync_receive(&fz_sync, epoch, HA_MSG_SYNC_ACK, p, len, fz_now_ms);
    } else {
        fz_local(p, len);
    }
    fz_rx_epoch = 0;
    fz_check();
    free(p);
    return 0;
}

#ifdef RAWLB_FUZZ_STANDALONE
/* ---- the standalone driver: a deterministic stream of payloads, valid and mutated ---- */

#define FZ_INPUT_MAX (1 + HA_PAYLOAD_MAX + 64)
#define FZ_SEEDS 24 /* the first inputs: unmutated, every kind in turn */

#define FZ_IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* Services as records name them (in host order here), the ones of FZ_ARGS and two that are not. */
struct fz_svc {
    uint8_t proto;
    uint32_t vaddr;
    uint16_t vport;
    uint32_t mask; /* persistence netmask, 0: not persistent */
    bool one_packet;
    uint8_t n_rs;
    uint32_t rs[3];
};
static const struct fz_svc fz_pool[] = {
    { IPPROTO_TCP, FZ_IP4(198, 51, 100, 10), 80, 0, false, 3,
      { FZ_IP4(203, 0, 113, 11), FZ_IP4(203, 0, 113, 12), FZ_IP4(203, 0, 113, 99) } },
    { IPPROTO_TCP, FZ_IP4(198, 51, 100, 10), 443, FZ_IP4(255, 255, 255, 0), false, 2,
      { FZ_IP4(203, 0, 113, 11), FZ_IP4(203, 0, 113, 12) } },
    { IPPROTO_UDP, FZ_IP4(198, 51, 100, 10), 53, 0, true, 2, { FZ_IP4(203, 0, 113, 11), FZ_IP4(203, 0, 113, 12) } },
    { IPPROTO_UDP, FZ_IP4(198, 51, 100, 11), 5353, FZ_IP4(255, 255, 255, 255), false, 1, { FZ_IP4(203, 0, 113, 13) } },
    /* not here: another port, another VIP */
    { IPPROTO_TCP, FZ_IP4(198, 51, 100, 10), 8080, 0, false, 1, { FZ_IP4(203, 0, 113, 11) } },
    { IPPROTO_UDP, FZ_IP4(198, 51, 100, 12), 53, 0, false, 1, { FZ_IP4(203, 0, 113, 11) } },
};
#define FZ_POOL_KNOWN 4
#define FZ_CLIENTS 40 /* 10.0.{0,1,2}.x: with 4 ports, more flows than the table holds */

static uint64_t fz_rnd64(void)
{
    return (uint64_t)fz_rnd() << 32 | fz_rnd();
}

static void fz_record(struct ha_record *r)
{
    memset(r, 0, sizeof *r);
    unsigned k = fz_rnd() % 100;
    r->kind = k < 68 ? HA_REC_UPSERT : k < 93 ? HA_REC_DELETE : k < 96 ? HA_REC_BULK_BEGIN : HA_REC_BULK_END;
    if (r->kind == HA_REC_BULK_BEGIN || r->kind == HA_REC_BULK_END)
        return;
    const struct fz_svc *sv = &fz_pool[fz_rnd() % 10 ? fz_rnd() % FZ_POOL_KNOWN : fz_rnd() % 6];
    r->proto = fz_rnd() % 20 ? sv->proto : (uint8_t)(sv->proto == IPPROTO_TCP ? IPPROTO_UDP : IPPROTO_TCP);
    r->vaddr = htonl(sv->vaddr);
    r->vport = sv->vport;
    r->daddr = htonl(fz_rnd() % 10 ? sv->rs[fz_rnd() % sv->n_rs] : FZ_IP4(203, 0, 113, 200));
    r->dport = fz_rnd() % 20 ? sv->vport : 9999;
    unsigned client = fz_rnd() % FZ_CLIENTS;
    uint32_t caddr = FZ_IP4(10, 0, client % 3, 1 + client / 3);
    r->caddr = htonl(caddr);
    for (unsigned i = 0; i < 6; i++)
        r->client_mac[i] = (uint8_t)fz_rnd();
    if (fz_rnd() % 100 < (sv->mask ? 20u : 3u)) { /* a template */
        r->flags = HA_REC_F_TEMPLATE;
        r->caddr = htonl(caddr & (sv->mask ? sv->mask : 0xffffffffu));
        r->state = fz_rnd() % 20 ? CONN_S_TEMPLATE : (uint8_t)(fz_rnd() % 16);
    } else {
        r->cport = (uint16_t)(40000 + fz_rnd() % 4);
        if (sv->one_packet && fz_rnd() % 10)
            r->flags |= HA_REC_F_ONE_PACKET;
        if (sv->mask && fz_rnd() % 10)
            r->flags |= HA_REC_F_PERSIST;
        if (r->proto == IPPROTO_TCP)
            r->state = fz_rnd() % 2 ? TCP_S_ESTABLISHED : (uint8_t)(fz_rnd() % TCP_S_COUNT);
        else
            r->state = fz_rnd() % 2 ? CONN_S_UDP : CONN_S_UDP_NEW;
        if (fz_rnd() % 20 == 0)
            r->state = (uint8_t)(fz_rnd() % 16);
    }
    if (fz_rnd() % 30 == 0)
        r->flags = (uint8_t)fz_rnd();
    unsigned l = fz_rnd() % 100;
    r->lifetime = l < 5 ? 0 : l < 85 ? 1 + fz_rnd() % 120 : l < 95 ? 120 + fz_rnd() % 2000 : fz_rnd();
}

/* The configuration text the peer is sending: its length and how far it got. */
static uint32_t fz_text_total, fz_text_off;

static void fz_chunk(struct ha_sync *s)
{
    if (fz_text_off >= fz_text_total || fz_rnd() % 20 == 0) {
        fz_text_total = fz_rnd() % 4 ? 1 + fz_rnd() % 6000 : 1 + fz_rnd() % 40000;
        fz_text_off = 0;
    }
    s->body = HA_SYNC_CONFIG;
    uint32_t left = fz_text_total - fz_text_off;
    s->count = (uint16_t)(left < HA_CONFIG_CHUNK_MAX ? left : HA_CONFIG_CHUNK_MAX);
    if (fz_rnd() % 10 == 0)
        s->count = (uint16_t)(fz_rnd() % (s->count + 1u));
    s->config_total = fz_text_total;
    s->config_offset = fz_text_off;
    if (fz_rnd() % 20 == 0) /* a chunk out of place */
        s->config_offset = fz_rnd() % (fz_text_total - s->count + 1);
    for (unsigned i = 0; i < s->count; i++)
        s->config[i] = (char)(' ' + fz_rnd() % 95);
    fz_text_off = s->config_offset + s->count;
}

/* A SYNC payload: the stream_seq the receiver expects next, mostly. */
static size_t fz_sync_payload(uint8_t *out, uint64_t epoch)
{
    static struct ha_sync s;
    memset(&s, 0, sizeof s);
    uint64_t stream = fz_sync.in_stream, number = fz_sync.in_next;
    if (epoch != fz_sync.in_epoch || !number) {
        stream = (stream + 1) & 0xffff;
        number = 1;
    }
    unsigned k = fz_rnd() % 20;
    if (k == 0)
        number = number > 1 ? number - 1 : 1; /* a duplicate */
    else if (k == 1)
        number += 1 + fz_rnd() % 3; /* past a gap */
    else if (k == 2)
        number = 1; /* a stream's start, again */
    else if (k == 3)
        stream = (stream + fz_rnd() % 3) & 0xffff; /* another stream */
    s.stream_seq = stream << HASYNC_STREAM_SHIFT | (number & FZ_NUMBER_MASK);
    if (fz_rnd() % 7 == 0) {
        fz_chunk(&s);
    } else {
        s.body = HA_SYNC_RECORDS;
        s.count = (uint16_t)(fz_rnd() % 8 ? 1 + fz_rnd() % 8 : fz_rnd() % (HA_SYNC_MAX_RECORDS + 1));
        for (unsigned i = 0; i < s.count; i++)
            fz_record(&s.records[i]);
    }
    size_t n = ha_sync_encode(&s, out, HA_PAYLOAD_MAX);
    FUZZ_ASSERT(n > 0);
    return n;
}

/* A SYNC_ACK payload: mostly of something sent and not yet acknowledged. */
static size_t fz_ack_payload(uint8_t *out)
{
    struct ha_ack a = { .stream_epoch = fz_rnd() % 20 ? FZ_OWN_EPOCH : fz_rnd64() };
    uint64_t number = fz_top_acked + fz_rnd() % (fz_top_sent - fz_top_acked + 2);
    uint64_t stream = fz_rnd() % 20 ? fz_sync.stream : fz_rnd() % 4;
    a.acked = fz_rnd() % 50 ? stream << HASYNC_STREAM_SHIFT | number : fz_rnd64();
    size_t n = ha_ack_encode(&a, out, HA_ACK_LEN);
    FUZZ_ASSERT(n == HA_ACK_LEN);
    return n;
}

/* A local event's payload: mostly a configuration push (sometimes longer than a window). */
static size_t fz_local_payload(uint8_t *out)
{
    unsigned k = fz_rnd() % 8;
    out[0] = (uint8_t)(k < 5 ? 0 : k < 7 ? 1 : 2);
    unsigned words = fz_rnd() % 8 ? fz_rnd() % 40 : fz_rnd() % 65536;
    out[1] = (uint8_t)(words >> 8);
    out[2] = (uint8_t)words;
    out[3] = (uint8_t)fz_rnd();
    size_t n = 4 + fz_rnd() % 60;
    for (size_t i = 4; i < n; i++)
        out[i] = (uint8_t)(' ' + fz_rnd() % 95);
    return n;
}

/* The generator's view of the peer: its epoch (an index into fz_epochs) and our role. */
static unsigned fz_gen_epoch;
static bool fz_gen_master;

static size_t fz_build(uint8_t *d, unsigned kind)
{
    if (fz_rnd() % 400 == 0 && fz_gen_epoch < 3)
        fz_gen_epoch++; /* the peer restarts */
    if (fz_rnd() % 500 == 0)
        fz_gen_master = !fz_gen_master;
    unsigned e = fz_rnd() % 50 ? fz_gen_epoch : fz_rnd() % 4;
    unsigned what = kind < 2 ? kind : kind == 2 ? 2 : 3;
    unsigned c = fz_rnd() % 100;
    unsigned clock = c < 80 ? 0 : c < 92 ? 1 : c < 97 ? 2 : 3;
    bool fix = fz_rnd() % 10 < 3;
    d[0] = (uint8_t)(what | e << 2 | (fz_gen_master ? 0x10 : 0) | clock << 5 | (fix ? 0x80 : 0));
    size_t n;
    if (what <= 1)
        n = fz_sync_payload(d + 1, fz_epochs[e]);
    else if (what == 2)
        n = fz_ack_payload(d + 1);
    else
        n = fz_local_payload(d + 1);
    return 1 + n;
}

/* A few random edits: bits, bytes, a record's kind, state or flags, the count, the config
 * offsets, truncation, extension, the control byte. */
static size_t fz_mutate(uint8_t *d, size_t len)
{
    unsigned n = 1 + fz_rnd() % 3;
    for (unsigned k = 0; k < n; k++) {
        switch (fz_rnd() % 8) {
        case 0:
            if (len > 1)
                d[1 + fz_rnd() % (len - 1)] ^= (uint8_t)(1u << fz_rnd() % 8);
            break;
        case 1:
            if (len > 1)
                d[1 + fz_rnd() % (len - 1)] = (uint8_t)fz_rnd();
            break;
        case 2: /* a record's kind, proto, state or flags */
            if (len > 1 + HA_SYNC_FIXED + HA_RECORD_LEN) {
                size_t r = (len - 1 - HA_SYNC_FIXED) / HA_RECORD_LEN;
                d[1 + HA_SYNC_FIXED + (fz_rnd() % r) * HA_RECORD_LEN + fz_rnd() % 4] = (uint8_t)fz_rnd();
            }
            break;
        case 3: /* the count's low byte */
            if (len > 12)
                d[12] = (uint8_t)fz_rnd();
            break;
        case 4: /* config total or offset */
            if (len > 1 + HA_SYNC_FIXED + 8)
                d[1 + HA_SYNC_FIXED + fz_rnd() % 8] = (uint8_t)fz_rnd();
            break;
        case 5:
            len = 1 + fz_rnd() % len;
            break;
        case 6: {
            size_t add = 1 + fz_rnd() % 40;
            for (size_t i = 0; i < add && len < FZ_INPUT_MAX; i++)
                d[len++] = (uint8_t)fz_rnd();
            break;
        }
        default:
            d[0] ^= (uint8_t)(1u << fz_rnd() % 8);
            break;
        }
    }
    return len;
}

static unsigned fz_count;

static size_t fz_next(uint8_t *d)
{
    memset(d, 0, FZ_INPUT_MAX);
    unsigned i = fz_count++;
    if (i < FZ_SEEDS) {
        static const unsigned kinds[] = { 0, 0, 1, 2, 0, 3, 1, 2 };
        return fz_build(d, kinds[i % 8]);
    }
    unsigned k = fz_rnd() % 100;
    size_t len = fz_build(d, k < 75 ? k % 2 : k < 92 ? 2 : 3);
    return fz_rnd() % 2 ? fz_mutate(d, len) : len;
}

static uint8_t fz_in[FZ_INPUT_MAX];

/* A seed: the stream's next input, run so that the ones after it follow the state it made. */
static size_t fz_next_run(uint8_t *d)
{
    size_t len = fz_next(d);
    LLVMFuzzerTestOneInput(d, len);
    return len;
}

#ifndef FZ_ITERATIONS
#define FZ_ITERATIONS 150000u
#endif

int main(int argc, char **argv)
{
    int status = fz_standalone_args(argc, argv, fz_next_run, fz_in);
    if (status >= 0)
        return status;
    for (unsigned i = 0; i < FZ_ITERATIONS; i++) {
        size_t len = fz_next(fz_in);
        LLVMFuzzerTestOneInput(fz_in, len);
    }
    const struct hasync_stats *s = &fz_sync.stats;
    const struct conn_stats *cs = &fz_fp.conns.stats;
    printf("%u inputs: %llu datagrams received (%llu out of order), %llu records applied, %llu unknown, %llu stale; "
           "%llu configs handed on, %llu tables; table: %u live, %llu made, %llu expired, %llu full, %llu evicted; bound to "
           "templates %llu times\n",
           FZ_ITERATIONS, (unsigned long long)s->datagrams_received, (unsigned long long)s->out_of_order,
           (unsigned long long)s->records_applied, (unsigned long long)s->records_unknown,
           (unsigned long long)s->records_stale, (unsigned long long)fz_configs, (unsigned long long)fz_tables,
           fz_fp.conns.count, (unsigned long long)cs->created, (unsigned long long)cs->expired,
           (unsigned long long)cs->table_full, (unsigned long long)cs->evicted[CONN_C_HALF_OPEN],
           (unsigned long long)fz_bound_seen);
    printf("  sent: %llu datagrams, %llu resent, %llu records, %llu bulks, %llu configs; %llu acks received; "
           "most in flight %llu\n",
           (unsigned long long)s->datagrams_sent, (unsigned long long)s->datagrams_resent,
           (unsigned long long)s->records_sent, (unsigned long long)s->bulks_sent, (unsigned long long)s->configs_sent,
           (unsigned long long)s->acks_received, (unsigned long long)fz_max_in_flight);
    /* The stream must reach the receiver's outcomes broadly (and the sender's window), or it tests
     * little beyond the first checks. */
    bool broad = s->records_applied > FZ_ITERATIONS / 4 && s->records_unknown && s->records_stale &&
                 s->out_of_order && fz_configs && fz_tables && cs->evicted[CONN_C_HALF_OPEN] && cs->expired && fz_bound_seen &&
                 s->datagrams_resent && s->bulks_sent && s->configs_sent && fz_max_in_flight == HASYNC_WINDOW;
    if (!broad)
        fprintf(stderr, "the input stream reaches too little of hasync\n");
    hasync_free(&fz_sync);
    fpenv_down(&(struct fpenv){ &fz_cfg, &fz_svcs, &fz_neigh, &fz_fp });
    return broad ? 0 : 1;
}
#endif
