/* test_conn: the connection table: lookups from both directions, misses on every key field,
 * table full, the IPVS TCP state machine and the state callback's bookkeeping, expiry through
 * the timing wheel (refreshes, earlier deadlines, timeouts beyond one lap, clock jumps),
 * templates, one-packet entries, resets, and a bulk run over a full 100000-entry table; entries
 * imported as another director had them (HA sync) and the refresh events of long-lived flows. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "conn.h"
#include "packet.h"

static const struct timeouts std_to = { .tcp = 900, .tcpfin = 120, .udp = 300 };

/* State callback: live entries per state, and a log of the last transitions. */
struct cb_log {
    long per_state[CONN_S_COUNT];
    long live;
    unsigned n;
    unsigned from[64], to[64];
};

static void log_cb(void *arg, struct conn *c, unsigned old_state, unsigned new_state)
{
    struct cb_log *l = arg;
    (void)c;
    if (old_state != CONN_S_COUNT)
        l->per_state[old_state]--;
    else
        l->live++;
    if (new_state != CONN_S_COUNT)
        l->per_state[new_state]++;
    else
        l->live--;
    if (l->n < 64) {
        l->from[l->n] = old_state;
        l->to[l->n] = new_state;
    }
    l->n++;
}

static bool cb_balanced(const struct cb_log *l)
{
    for (unsigned s = 0; s < CONN_S_COUNT; s++)
        if (l->per_state[s] != 0)
            return false;
    return l->live == 0;
}

static struct conn key(uint8_t proto, uint32_t caddr, uint16_t cport, uint32_t vaddr, uint16_t vport,
                       uint32_t daddr, uint16_t dport)
{
    struct conn c;
    memset(&c, 0, sizeof c);
    c.proto = proto;
    c.caddr = htonl(caddr);
    c.cport = htons(cport);
    c.vaddr = htonl(vaddr);
    c.vport = htons(vport);
    c.daddr = htonl(daddr);
    c.dport = htons(dport);
    c.svc = 1;
    c.rs = 2;
    c.template = CONN_NONE;
    return c;
}

static struct conn tcp_key(unsigned i)
{
    return key(IPPROTO_TCP, 0xc6336401u + i, (uint16_t)(40000 + i), 0xc000020a, 80, 0x0a010005, 8080);
}

static struct conn *find_in(struct conn_table *t, const struct conn *k)
{
    return conn_lookup_in(t, k->proto, k->caddr, k->cport, k->vaddr, k->vport);
}
static struct conn *find_out(struct conn_table *t, const struct conn *k)
{
    return conn_lookup_out(t, k->proto, k->daddr, k->dport, k->caddr, k->cport);
}

/* Tick one second at a time, as the daemon does; returns the entries expired. */
static uint32_t run_to(struct conn_table *t, uint32_t until)
{
    uint32_t n = 0;
    while (t->now != until)
        n += conn_expire_tick(t, t->now + 1);
    return n;
}

/* A client's handshake: NONE -> SYN_RECV -> ESTABLISHED. */
static void establish(struct conn_table *t, struct conn *c)
{
    conn_tcp_update(t, c, CONN_DIR_IN, TH_SYN_);
    conn_tcp_update(t, c, CONN_DIR_OUT, TH_SYN_ | TH_ACK_);
    conn_tcp_update(t, c, CONN_DIR_IN, TH_ACK_);
}

static void test_lookup_both_ways(void)
{
    struct conn_table t;
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 12345, 0 }));
    struct conn k = tcp_key(0);
    struct conn *c = conn_create(&t, &k);
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_EQ_U(c->state, TCP_S_NONE);
    CHECK_EQ_U(t.count, 1);
    CHECK_EQ_U(t.stats.created, 1);
    CHECK(find_in(&t, &k) == c);
    CHECK(find_out(&t, &k) == c);
    CHECK_EQ_U(c->svc, 1);
    CHECK_EQ_U(c->rs, 2);

    /* Any one field different misses, in each direction. */
    CHECK(conn_lookup_in(&t, IPPROTO_UDP, k.caddr, k.cport, k.vaddr, k.vport) == NULL);
    CHECK(conn_lookup_in(&t, k.proto, k.caddr ^ htonl(1), k.cport, k.vaddr, k.vport) == NULL);
    CHECK(conn_lookup_in(&t, k.proto, k.caddr, k.cport ^ htons(1), k.vaddr, k.vport) == NULL);
    CHECK(conn_lookup_in(&t, k.proto, k.caddr, k.cport, k.vaddr ^ htonl(1), k.vport) == NULL);
    CHECK(conn_lookup_in(&t, k.proto, k.caddr, k.cport, k.vaddr, k.vport ^ htons(1)) == NULL);
    CHECK(conn_lookup_in(&t, k.proto, k.vaddr, k.vport, k.caddr, k.cport) == NULL); /* swapped */
    CHECK(conn_lookup_out(&t, IPPROTO_UDP, k.daddr, k.dport, k.caddr, k.cport) == NULL);
    CHECK(conn_lookup_out(&t, k.proto, k.daddr ^ htonl(1), k.dport, k.caddr, k.cport) == NULL);
    CHECK(conn_lookup_out(&t, k.proto, k.daddr, k.dport ^ htons(1), k.caddr, k.cport) == NULL);
    CHECK(conn_lookup_out(&t, k.proto, k.daddr, k.dport, k.caddr ^ htonl(1), k.cport) == NULL);
    CHECK(conn_lookup_out(&t, k.proto, k.daddr, k.dport, k.caddr, k.cport ^ htons(1)) == NULL);
    /* The forward key does not find it from the server side, nor the reverse key from the client's. */
    CHECK(conn_lookup_out(&t, k.proto, k.vaddr, k.vport, k.caddr, k.cport) == NULL);
    CHECK(conn_lookup_in(&t, k.proto, k.caddr, k.cport, k.daddr, k.dport) == NULL);
    CHECK(conn_lookup_template(&t, k.proto, k.caddr, k.vaddr, k.vport) == NULL);

    /* A second entry for the same client and VIP port on another client port. */
    struct conn k2 = k;
    k2.cport = htons(40001);
    struct conn *c2 = conn_create(&t, &k2);
    CHECK(c2 != NULL && c2 != c);
    CHECK(find_in(&t, &k2) == c2);
    CHECK(find_out(&t, &k2) == c2);
    CHECK(find_in(&t, &k) == c);

    uint32_t gen = c->generation;
    conn_delete(&t, c);
    CHECK(find_in(&t, &k) == NULL);
    CHECK(find_out(&t, &k) == NULL);
    CHECK(find_in(&t, &k2) == c2);
    CHECK(find_out(&t, &k2) == c2);
    CHECK_EQ_U(t.count, 1);
    /* The slot is reused with a new generation. */
    struct conn *c3 = conn_create(&t, &k);
    CHECK(c3 == c);
    CHECK(c3 && c3->generation != gen);
    conn_delete(&t, c3);
    conn_delete(&t, c2);
    CHECK_EQ_U(t.count, 0);
    CHECK(find_in(&t, &k2) == NULL);
    CHECK(find_out(&t, &k2) == NULL);
    conn_table_free(&t);
}

static void test_table_full(void)
{
    struct conn_table t;
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 1, 0 }));
    struct conn *e[8];
    for (unsigned i = 0; i < 8; i++) {
        struct conn k = tcp_key(i);
        e[i] = conn_create(&t, &k);
        CHECK(e[i] != NULL);
        if (e[i])
            establish(&t, e[i]); /* busy established flows: nothing to evict */
    }
    struct conn k8 = tcp_key(8);
    CHECK(conn_create(&t, &k8) == NULL);
    CHECK_EQ_U(t.stats.table_full, 1);
    CHECK_EQ_U(t.count, 8);
    CHECK(find_in(&t, &k8) == NULL);
    if (e[3])
        conn_delete(&t, e[3]);
    struct conn *c = conn_create(&t, &k8);
    CHECK(c != NULL);
    CHECK(find_in(&t, &k8) == c);
    CHECK(find_out(&t, &k8) == c);
    if (c)
        establish(&t, c);
    struct conn k9 = tcp_key(9);
    CHECK(conn_create(&t, &k9) == NULL);
    CHECK_EQ_U(t.stats.table_full, 2);
    CHECK_EQ_U(t.stats.created, 9);
    for (unsigned i = 0; i < 8; i++) {
        if (i == 3)
            continue;
        struct conn k = tcp_key(i);
        CHECK(find_in(&t, &k) == e[i]);
        CHECK(find_out(&t, &k) == e[i]);
    }
    conn_table_free(&t);
}

/* Traffic both ways beyond one exchange: an entry no full table evicts while it is busy. */
static void make_stream(struct conn_table *t, struct conn *c)
{
    if (c->proto == IPPROTO_TCP) {
        establish(t, c);
        return;
    }
    conn_udp_update(t, c, CONN_DIR_IN);
    conn_udp_update(t, c, CONN_DIR_OUT);
    conn_udp_update(t, c, CONN_DIR_IN);
}

static bool log_has(const struct cb_log *l, unsigned i, unsigned from, unsigned to)
{
    return i < l->n && l->from[i] == from && l->to[i] == to;
}

static void test_tcp_states(void)
{
    struct conn_table t;
    struct cb_log log;
    memset(&log, 0, sizeof log);
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 7, 0 }));
    conn_watch(&t, log_cb, &log, false);
    struct conn k = tcp_key(0);
    struct conn *c = conn_create(&t, &k);
    if (!c) {
        CHECK(c != NULL);
        return;
    }
    CHECK(log_has(&log, 0, CONN_S_COUNT, TCP_S_NONE));
    CHECK_EQ_U(log.per_state[TCP_S_NONE], 1);

    conn_tcp_update(&t, c, CONN_DIR_IN, TH_SYN_);
    CHECK_EQ_U(c->state, TCP_S_SYN_RECV);
    CHECK(log_has(&log, 1, TCP_S_NONE, TCP_S_SYN_RECV));
    CHECK_EQ_U(c->expires, 10);
    conn_tcp_update(&t, c, CONN_DIR_IN, TH_SYN_);
    CHECK_EQ_U(c->state, TCP_S_SYN_RECV);
    CHECK_EQ_U(log.n, 2); /* no transition, no call */
    conn_tcp_update(&t, c, CONN_DIR_OUT, TH_SYN_ | TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_SYNACK);
    CHECK(log_has(&log, 2, TCP_S_SYN_RECV, TCP_S_SYNACK));
    conn_tcp_update(&t, c, CONN_DIR_IN, TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_ESTABLISHED);
    CHECK(log_has(&log, 3, TCP_S_SYNACK, TCP_S_ESTABLISHED));
    CHECK_EQ_U(c->expires, 900);
    conn_tcp_update(&t, c, CONN_DIR_OUT, TH_ACK_);
    conn_tcp_update(&t, c, CONN_DIR_IN, 0); /* no flags: no change */
    CHECK_EQ_U(c->state, TCP_S_ESTABLISHED);
    CHECK_EQ_U(log.per_state[TCP_S_ESTABLISHED], 1);
    CHECK_EQ_U(log.n, 4);

    conn_tcp_update(&t, c, CONN_DIR_IN, TH_FIN_ | TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_CLOSE_WAIT);
    CHECK(log_has(&log, 4, TCP_S_ESTABLISHED, TCP_S_CLOSE_WAIT));
    CHECK_EQ_U(c->expires, 60);
    conn_tcp_update(&t, c, CONN_DIR_OUT, TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_CLOSE_WAIT);
    conn_tcp_update(&t, c, CONN_DIR_OUT, TH_FIN_ | TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_TIME_WAIT);
    CHECK(log_has(&log, 5, TCP_S_CLOSE_WAIT, TCP_S_TIME_WAIT));
    CHECK_EQ_U(c->expires, 120);
    conn_tcp_update(&t, c, CONN_DIR_IN, TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_TIME_WAIT);
    conn_tcp_update(&t, c, CONN_DIR_IN, TH_RST_ | TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_CLOSE);
    CHECK(log_has(&log, 6, TCP_S_TIME_WAIT, TCP_S_CLOSE));
    CHECK_EQ_U(c->expires, 10);
    CHECK_EQ_U(log.per_state[TCP_S_CLOSE], 1);
    CHECK_EQ_U(log.live, 1);

    conn_delete(&t, c);
    CHECK(log_has(&log, 7, TCP_S_CLOSE, CONN_S_COUNT));
    CHECK(cb_balanced(&log));

    /* Server closes first: ES -(server FIN)-> FIN_WAIT -(client ACK)-> FIN_WAIT, client FIN -> TIME_WAIT. */
    c = conn_create(&t, &k);
    if (c) {
        establish(&t, c);
        conn_tcp_update(&t, c, CONN_DIR_OUT, TH_FIN_ | TH_ACK_);
        CHECK_EQ_U(c->state, TCP_S_FIN_WAIT);
        CHECK_EQ_U(c->expires, 120);
        conn_tcp_update(&t, c, CONN_DIR_IN, TH_ACK_);
        CHECK_EQ_U(c->state, TCP_S_FIN_WAIT);
        conn_tcp_update(&t, c, CONN_DIR_IN, TH_FIN_ | TH_ACK_);
        CHECK_EQ_U(c->state, TCP_S_TIME_WAIT);
        /* A new SYN on the same tuple from the client starts over. */
        conn_tcp_update(&t, c, CONN_DIR_IN, TH_SYN_);
        CHECK_EQ_U(c->state, TCP_S_SYN_RECV);
        /* The server refuses: RST from the server closes. */
        conn_tcp_update(&t, c, CONN_DIR_OUT, TH_RST_);
        CHECK_EQ_U(c->state, TCP_S_CLOSE);
        conn_delete(&t, c);
    }
    /* RST from the client in SYN_RECV does not close (IPVS: sSR stays). */
    c = conn_create(&t, &k);
    if (c) {
        conn_tcp_update(&t, c, CONN_DIR_IN, TH_SYN_);
        conn_tcp_update(&t, c, CONN_DIR_IN, TH_RST_);
        CHECK_EQ_U(c->state, TCP_S_SYN_RECV);
        establish(&t, c);
        conn_tcp_update(&t, c, CONN_DIR_OUT, TH_RST_);
        CHECK_EQ_U(c->state, TCP_S_CLOSE);
    }
    /* Expiry also reports the exit. */
    CHECK_EQ_U(run_to(&t, 10), 1);
    CHECK_EQ_U(t.count, 0);
    CHECK(cb_balanced(&log));
    CHECK_EQ_U(t.stats.expired, 1);
    conn_table_free(&t);
}

static struct conn *new_established(struct conn_table *t, unsigned i)
{
    struct conn k = tcp_key(i);
    struct conn *c = conn_create(t, &k);
    CHECK(c != NULL);
    if (c)
        establish(t, c);
    return c;
}

static bool alive(struct conn_table *t, unsigned i)
{
    struct conn k = tcp_key(i);
    return find_in(t, &k) != NULL && find_out(t, &k) != NULL;
}

static void test_expiry(void)
{
    struct conn_table t;

    /* ESTABLISHED, 900 s: alive at 899, gone at 900. */
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 3, 0 }));
    new_established(&t, 0);
    CHECK_EQ_U(run_to(&t, 899), 0);
    CHECK(alive(&t, 0));
    CHECK_EQ_U(run_to(&t, 900), 1);
    CHECK(!alive(&t, 0));
    CHECK_EQ_U(t.count, 0);
    conn_table_free(&t);

    /* The same with one tick jumping 899 -> 901. */
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 3, 0 }));
    new_established(&t, 0);
    CHECK_EQ_U(conn_expire_tick(&t, 899), 0);
    CHECK(alive(&t, 0));
    CHECK_EQ_U(conn_expire_tick(&t, 901), 1);
    CHECK(!alive(&t, 0));
    conn_table_free(&t);

    /* A packet at 500 moves the deadline to 1400. */
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 3, 0 }));
    struct conn *c = new_established(&t, 0);
    run_to(&t, 500);
    conn_tcp_update(&t, c, CONN_DIR_OUT, TH_ACK_);
    CHECK_EQ_U(c->expires, 1400);
    CHECK_EQ_U(run_to(&t, 1399), 0);
    CHECK(alive(&t, 0));
    CHECK_EQ_U(run_to(&t, 1400), 1);
    CHECK(!alive(&t, 0));
    conn_table_free(&t);

    /* An earlier deadline: filed for 900 (then 1000), CLOSE at 200 expires at 210. */
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 3, 0 }));
    c = new_established(&t, 0);
    run_to(&t, 100);
    conn_tcp_update(&t, c, CONN_DIR_IN, TH_ACK_);
    run_to(&t, 200);
    conn_tcp_update(&t, c, CONN_DIR_IN, TH_RST_);
    CHECK_EQ_U(c->state, TCP_S_CLOSE);
    CHECK_EQ_U(run_to(&t, 209), 0);
    CHECK(alive(&t, 0));
    CHECK_EQ_U(run_to(&t, 210), 1);
    CHECK(!alive(&t, 0));
    conn_table_free(&t);

    /* Timeouts longer than the wheel (1024 slots). */
    struct timeouts long_to = { .tcp = 3000, .tcpfin = 120, .udp = 2500 };
    CHECK(conn_table_init(&t, 8, &long_to, &(struct siphash_key){ 3, 0 }));
    new_established(&t, 0);
    struct conn ku = key(IPPROTO_UDP, 0x0a000009, 53, 0xc000020a, 53, 0x0a010005, 53);
    struct conn *u = conn_create(&t, &ku);
    CHECK(u != NULL);
    if (u)
        make_stream(&t, u);
    CHECK_EQ_U(run_to(&t, 2499), 0);
    CHECK(find_in(&t, &ku) != NULL);
    CHECK_EQ_U(run_to(&t, 2500), 1);
    CHECK(find_in(&t, &ku) == NULL);
    CHECK_EQ_U(run_to(&t, 2999), 0);
    CHECK(alive(&t, 0));
    CHECK_EQ_U(run_to(&t, 3000), 1);
    CHECK(!alive(&t, 0));
    conn_table_free(&t);

    /* UDP streams: their own timeout, refreshed by conn_touch. */
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 3, 0 }));
    c = conn_create(&t, &ku);
    if (c)
        make_stream(&t, c);
    CHECK(c && c->state == CONN_S_UDP);
    CHECK(c && c->expires == 300);
    run_to(&t, 100);
    if (c)
        conn_touch(&t, c);
    CHECK(c && c->expires == 400);
    CHECK_EQ_U(run_to(&t, 399), 0);
    CHECK(find_out(&t, &ku) != NULL);
    CHECK_EQ_U(run_to(&t, 400), 1);
    CHECK(find_out(&t, &ku) == NULL);
    conn_table_free(&t);

    /* A clock jump of 5000 s expires everything due and keeps the rest. */
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 3, 0 }));
    new_established(&t, 0);
    c = new_established(&t, 1);
    if (c)
        conn_tcp_update(&t, c, CONN_DIR_IN, TH_FIN_);
    CHECK(conn_create(&t, &ku) != NULL);
    struct conn kt = key(IPPROTO_TCP, 0x0a000000, 0, 0xc000020a, 80, 0x0a010005, 8080);
    kt.flags = CONN_F_TEMPLATE;
    kt.template_timeout = 8000;
    CHECK(conn_create(&t, &kt) != NULL);
    new_established(&t, 2);
    run_to(&t, 10);
    CHECK_EQ_U(conn_expire_tick(&t, 5010), 4);
    CHECK_EQ_U(t.count, 1);
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr, kt.vaddr, kt.vport) != NULL);
    CHECK_EQ_U(run_to(&t, 7999), 0);
    CHECK_EQ_U(run_to(&t, 8000), 1);
    CHECK_EQ_U(t.count, 0);
    /* The wheel works on after the jump. */
    c = new_established(&t, 3);
    CHECK_EQ_U(run_to(&t, 8899), 0);
    CHECK_EQ_U(run_to(&t, 8900), 1);
    conn_table_free(&t);
}

static void test_templates(void)
{
    struct conn_table t;
    struct cb_log log;
    memset(&log, 0, sizeof log);
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 99, 0 }));
    conn_watch(&t, log_cb, &log, false);
    /* Persistence by client /24, all ports of the VIP (vport 0). */
    struct conn kt = key(IPPROTO_TCP, 0xc6336400, 0, 0xc000020a, 0, 0x0a010005, 0);
    kt.flags = CONN_F_TEMPLATE;
    kt.template_timeout = 100;
    struct conn *tpl = conn_create(&t, &kt);
    if (!tpl) {
        CHECK(tpl != NULL);
        return;
    }
    CHECK_EQ_U(tpl->state, CONN_S_TEMPLATE);
    CHECK_EQ_U(tpl->expires, 100);
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr, kt.vaddr, 0) == tpl);
    CHECK(conn_lookup_template(&t, IPPROTO_UDP, kt.caddr, kt.vaddr, 0) == NULL);
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr, kt.vaddr, htons(80)) == NULL);
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr ^ htonl(1), kt.vaddr, 0) == NULL);
    CHECK(conn_lookup_in(&t, kt.proto, kt.caddr, kt.cport, kt.vaddr, kt.vport) == NULL);
    CHECK(conn_lookup_out(&t, kt.proto, kt.daddr, kt.dport, kt.caddr, kt.cport) == NULL);

    /* A connection controlled by it. */
    struct conn k = tcp_key(0);
    k.template = conn_index(&t, tpl);
    struct conn *c = conn_create(&t, &k);
    CHECK_EQ_U(tpl->controlled, 1);
    CHECK(c && c->template == conn_index(&t, tpl));
    CHECK(find_in(&t, &k) == c); /* a normal entry is not mistaken for a template */
    CHECK(conn_lookup_template(&t, k.proto, k.caddr, k.vaddr, k.vport) == NULL);
    if (c)
        establish(&t, c); /* expires at 900 */

    /* The template outlives its deadline while it controls a connection. */
    CHECK_EQ_U(run_to(&t, 899), 0);
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr, kt.vaddr, 0) == tpl);
    CHECK_EQ_U(run_to(&t, 900), 1); /* the connection */
    CHECK(find_in(&t, &k) == NULL);
    CHECK_EQ_U(tpl->controlled, 0);
    /* ...and lives template_timeout after the last one went. */
    CHECK_EQ_U(run_to(&t, 999), 0);
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr, kt.vaddr, 0) == tpl);
    CHECK_EQ_U(run_to(&t, 1000), 1);
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr, kt.vaddr, 0) == NULL);
    CHECK_EQ_U(t.count, 0);
    CHECK(cb_balanced(&log));
    conn_table_free(&t);
}

/* The last controlled connection goes between two of the template's checks (deleted at 150,
 * the template last re-armed at 100): the template should still live until 150 + 100. */
static void test_template_after_last_controlled(void)
{
    struct conn_table t;
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 99, 0 }));
    struct conn kt = key(IPPROTO_TCP, 0xc6336400, 0, 0xc000020a, 80, 0x0a010005, 8080);
    kt.flags = CONN_F_TEMPLATE;
    kt.template_timeout = 100;
    struct conn *tpl = conn_create(&t, &kt);
    struct conn k = tcp_key(0);
    k.template = tpl ? conn_index(&t, tpl) : CONN_NONE;
    struct conn *c = conn_create(&t, &k);
    if (!tpl || !c) {
        CHECK(tpl && c);
        return;
    }
    establish(&t, c);
    run_to(&t, 150);
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr, kt.vaddr, kt.vport) == tpl);
    conn_delete(&t, c);
    CHECK_EQ_U(tpl->controlled, 0);
    CHECK_EQ_U(run_to(&t, 249), 0);
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr, kt.vaddr, kt.vport) == tpl);
    CHECK_EQ_U(run_to(&t, 250), 1);
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr, kt.vaddr, kt.vport) == NULL);
    conn_table_free(&t);
}

static void test_one_packet_and_reset(void)
{
    struct conn_table t;
    struct cb_log log;
    memset(&log, 0, sizeof log);
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 5, 0 }));
    conn_watch(&t, log_cb, &log, false);
    struct conn ko = key(IPPROTO_UDP, 0x0a000009, 5353, 0xc000020a, 53, 0x0a010005, 53);
    ko.flags = CONN_F_ONE_PACKET;
    struct conn *o = conn_create(&t, &ko);
    CHECK(o != NULL);
    CHECK(find_out(&t, &ko) == o);
    CHECK(find_in(&t, &ko) == NULL);
    if (o)
        conn_delete(&t, o);
    CHECK(find_out(&t, &ko) == NULL);

    struct conn *c = new_established(&t, 0);
    if (!c)
        return;
    run_to(&t, 50);
    conn_mark_reset(&t, c);
    CHECK(c->flags & CONN_F_RESET);
    CHECK(alive(&t, 0));
    CHECK_EQ_U(c->state, TCP_S_CLOSE);
    CHECK(c->expires <= 60);
    CHECK_EQ_U(run_to(&t, 55), 0);
    CHECK(alive(&t, 0));
    struct conn k = tcp_key(0);
    CHECK(find_in(&t, &k) && (find_in(&t, &k)->flags & CONN_F_RESET));
    CHECK(run_to(&t, 60) == 1);
    CHECK(!alive(&t, 0));

    /* A reset UDP entry too. */
    struct conn ku = key(IPPROTO_UDP, 0x0a000009, 5353, 0xc000020a, 53, 0x0a010005, 53);
    struct conn *u = conn_create(&t, &ku);
    if (u) {
        conn_mark_reset(&t, u);
        CHECK(find_in(&t, &ku) == u);
        CHECK(u->expires <= t.now + 10);
        run_to(&t, t.now + 10);
        CHECK(find_in(&t, &ku) == NULL);
    }
    CHECK_EQ_U(t.count, 0);
    CHECK(cb_balanced(&log));
    conn_table_free(&t);
}

/* ---- bulk ---- */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

#define BULK 100000u

/* A random tuple whose client address is unique to i (an odd multiplier is a bijection). */
static struct conn bulk_key(unsigned i)
{
    static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
    struct conn c = key(protos[rnd() & 1], i * 0x9e3779b1u, (uint16_t)rnd(), 0xc0000200u + rnd() % 16,
                        (uint16_t)rnd(), 0x0a010000u + rnd() % 64, (uint16_t)rnd());
    c.svc = (uint16_t)(i % 7);
    c.rs = (uint16_t)(i % 13);
    return c;
}

static void test_bulk(void)
{
    struct conn_table t;
    struct cb_log log;
    memset(&log, 0, sizeof log);
    CHECK(conn_table_init(&t, BULK, &std_to, &(struct siphash_key){ 0xdeadbeef, 0 }));
    conn_watch(&t, log_cb, &log, false);
    struct conn *keys = calloc(BULK, sizeof *keys);
    struct conn **ent = calloc(BULK, sizeof *ent);
    if (!keys || !ent) {
        CHECK(false);
        return;
    }
    unsigned miss = 0, wrong = 0;
    for (unsigned i = 0; i < BULK; i++) {
        keys[i] = bulk_key(i);
        ent[i] = conn_create(&t, &keys[i]);
        miss += ent[i] == NULL;
        if (ent[i])
            make_stream(&t, ent[i]);
    }
    CHECK_EQ_U(miss, 0);
    CHECK_EQ_U(t.count, BULK);
    for (unsigned i = 0; i < BULK; i++) {
        wrong += find_in(&t, &keys[i]) != ent[i];
        wrong += find_out(&t, &keys[i]) != ent[i];
    }
    CHECK_EQ_U(wrong, 0);
    struct conn extra = bulk_key(BULK);
    CHECK(conn_create(&t, &extra) == NULL);
    CHECK_EQ_U(t.stats.table_full, 1);

    for (unsigned i = 0; i < BULK; i += 2)
        conn_delete(&t, ent[i]);
    CHECK_EQ_U(t.count, BULK / 2);
    wrong = 0;
    for (unsigned i = 0; i < BULK; i++) {
        struct conn *want = i % 2 ? ent[i] : NULL;
        wrong += find_in(&t, &keys[i]) != want;
        wrong += find_out(&t, &keys[i]) != want;
    }
    CHECK_EQ_U(wrong, 0);

    miss = 0;
    for (unsigned i = 0; i < BULK; i += 2) {
        keys[i] = bulk_key(i); /* same client address, new ports and servers */
        ent[i] = conn_create(&t, &keys[i]);
        miss += ent[i] == NULL;
        if (ent[i])
            make_stream(&t, ent[i]);
    }
    CHECK_EQ_U(miss, 0);
    CHECK_EQ_U(t.count, BULK);
    CHECK(conn_create(&t, &extra) == NULL);
    CHECK_EQ_U(t.stats.table_full, 2);
    wrong = 0;
    for (unsigned i = 0; i < BULK; i++) {
        wrong += find_in(&t, &keys[i]) != ent[i];
        wrong += find_out(&t, &keys[i]) != ent[i];
        wrong += ent[i] && (ent[i]->svc != keys[i].svc || ent[i]->rs != keys[i].rs);
    }
    CHECK_EQ_U(wrong, 0);
    CHECK_EQ_U(log.live, BULK);

    /* Everything expires (UDP streams after 300 s, established TCP after 900 s). */
    CHECK_EQ_U(run_to(&t, 300) + run_to(&t, 900), BULK);
    CHECK_EQ_U(t.count, 0);
    CHECK(cb_balanced(&log));
    wrong = 0;
    for (unsigned i = 0; i < BULK; i++)
        wrong += find_in(&t, &keys[i]) != NULL || find_out(&t, &keys[i]) != NULL;
    CHECK_EQ_U(wrong, 0);
    free(keys);
    free(ent);
    conn_table_free(&t);
}

/* Watcher that records whether it was told inside conn_import and counts refreshes. */
struct import_log {
    struct conn_table *t;
    unsigned imported, ours, refreshes, gone;
};

static void import_cb(void *arg, struct conn *c, unsigned old_state, unsigned new_state)
{
    struct import_log *l = arg;
    (void)c;
    if (old_state == new_state)
        l->refreshes++;
    else if (new_state == CONN_S_COUNT)
        l->gone++;
    else if (old_state == CONN_S_COUNT)
        *(l->t->importing ? &l->imported : &l->ours) += 1;
}

static void test_import(void)
{
    struct conn_table t;
    struct cb_log log;
    memset(&log, 0, sizeof log);
    CHECK(conn_table_init(&t, 16, &std_to, &(struct siphash_key){ 7, 0 }));
    struct import_log il = { .t = &t };
    CHECK(conn_watch(&t, log_cb, &log, false));
    CHECK(conn_watch(&t, import_cb, &il, true));
    CHECK(!conn_watch(&t, import_cb, &il, true)); /* CONN_MAX_WATCHERS */
    run_to(&t, 10);

    /* A template and an ESTABLISHED entry it controls, as the peer had them. */
    struct conn kt = key(IPPROTO_TCP, 0xc6336400u, 0, 0xc000020a, 80, 0x0a010005, 8080);
    kt.flags = CONN_F_TEMPLATE;
    kt.state = CONN_S_TEMPLATE;
    kt.template_timeout = 300;
    struct conn *tpl = conn_import(&t, &kt, 250);
    struct conn k = tcp_key(0);
    k.state = TCP_S_ESTABLISHED;
    memcpy(k.client_mac, "\x02\x00\x00\x00\x00\x07", 6);
    k.template = tpl ? conn_index(&t, tpl) : CONN_NONE;
    struct conn *c = conn_import(&t, &k, 500);
    if (!tpl || !c) {
        CHECK(tpl && c);
        return;
    }
    CHECK_EQ_U(c->state, TCP_S_ESTABLISHED); /* kept, not reset to NONE */
    CHECK_EQ_U(c->expires, 510);             /* its remaining lifetime, not the state's timeout */
    CHECK_EQ_U(conn_lifetime(&t, c), 500);
    CHECK(memcmp(c->client_mac, k.client_mac, 6) == 0);
    CHECK_EQ_U(tpl->controlled, 1);
    CHECK_EQ_U(tpl->expires, 260);
    CHECK_EQ_U(log.per_state[TCP_S_ESTABLISHED], 1);
    CHECK_EQ_U(il.imported, 2);
    CHECK_EQ_U(il.ours, 0);
    CHECK(find_out(&t, &k) == c);

    /* The same flow again, further on: updated in place, links kept. */
    k.state = TCP_S_FIN_WAIT;
    CHECK(conn_import(&t, &k, 100) == c);
    CHECK_EQ_U(c->state, TCP_S_FIN_WAIT);
    CHECK_EQ_U(c->expires, 110);
    CHECK_EQ_U(tpl->controlled, 1);
    CHECK_EQ_U(log.per_state[TCP_S_ESTABLISHED], 0);
    CHECK_EQ_U(log.per_state[TCP_S_FIN_WAIT], 1);
    CHECK_EQ_U(t.count, 2);

    /* The peer moved it to another real server: replaced. */
    k.rs = 3;
    k.daddr = htonl(0x0a010006);
    struct conn *moved = conn_import(&t, &k, 100);
    CHECK(moved != NULL && moved->rs == 3);
    CHECK_EQ_U(t.count, 2);
    CHECK_EQ_U(il.gone, 1);
    CHECK(find_in(&t, &k) == moved);

    /* A flow of our own: told as ours. */
    struct conn k1 = tcp_key(1);
    struct conn *own = conn_create(&t, &k1);
    CHECK_EQ_U(il.ours, 1);
    if (!own) {
        CHECK(own != NULL);
        return;
    }
    /* Refreshes: only once the deadline moved more than half the timeout past the last told. */
    establish(&t, own);
    unsigned before = il.refreshes;
    run_to(&t, 300);
    conn_tcp_update(&t, own, CONN_DIR_IN, TH_ACK_);
    CHECK_EQ_U(il.refreshes, before); /* 290 s on: less than 450 */
    run_to(&t, 500);
    conn_tcp_update(&t, own, CONN_DIR_IN, TH_ACK_);
    CHECK_EQ_U(il.refreshes, before + 1);
    conn_tcp_update(&t, own, CONN_DIR_IN, TH_ACK_);
    CHECK_EQ_U(il.refreshes, before + 1); /* told: the next is 450 s away again */
    CHECK_EQ_U(log.per_state[TCP_S_ESTABLISHED], 1); /* refreshes do not count as transitions */
    conn_table_free(&t);
}

/* A flood's entries all due in one second are expired in slices of a budget; entries deleted
 * or moved to an earlier deadline while a sweep is cut short (the head of what is left among
 * them) neither break it nor are counted twice; entries refreshed meanwhile live on. */
#define SLICED 5000
#define SLICE 1000
static void test_expiry_in_slices(void)
{
    struct conn_table t;
    struct cb_log l;
    memset(&l, 0, sizeof l);
    CHECK(conn_table_init(&t, SLICED, &std_to, &(struct siphash_key){ 9, 0 }));
    conn_watch(&t, log_cb, &l, false);
    for (unsigned i = 0; i < SLICED; i++)
        new_established(&t, i);
    run_to(&t, 899);
    CHECK_EQ_U(t.count, SLICED);
    bool done = true;
    CHECK_EQ_U(conn_expire_some(&t, 900, SLICE, &done), SLICE);
    CHECK(!done);
    CHECK(t.sweep_rest != CONN_NONE);
    /* What is left: its head deleted, another deleted, one refreshed by a packet. */
    conn_delete(&t, &t.pool[t.sweep_rest]);
    struct conn *later = &t.pool[t.pool[t.sweep_rest].wheel_next];
    conn_delete(&t, later);
    struct conn *refreshed = &t.pool[t.sweep_rest];
    uint32_t refreshed_idx = t.sweep_rest;
    conn_touch(&t, refreshed);
    uint32_t expired = SLICE, calls = 1;
    while (!done && calls < SLICED) {
        expired += conn_expire_some(&t, 900, SLICE, &done);
        calls++;
    }
    CHECK(done);
    CHECK_EQ_U(calls, (SLICED + SLICE - 1) / SLICE);
    CHECK_EQ_U(expired, SLICED - 3);
    CHECK_EQ_U(t.count, 1);
    CHECK(t.pool[refreshed_idx].flags & CONN_F_LIVE);
    CHECK_EQ_U(t.sweep_rest, CONN_NONE);
    CHECK_EQ_U(run_to(&t, 900 + 900), 1);
    CHECK_EQ_U(t.count, 0);
    CHECK(cb_balanced(&l));
    conn_table_free(&t);
}

/* ---- floods ---- */

static struct conn udp_key(unsigned i)
{
    return key(IPPROTO_UDP, 0xc6336401u + i, (uint16_t)(50000 + i), 0xc000020a, 53, 0x0a010005, 53);
}
static bool udp_alive(struct conn_table *t, unsigned i)
{
    struct conn k = udp_key(i);
    return find_in(t, &k) != NULL;
}
static struct conn *new_tcp(struct conn_table *t, unsigned i, uint8_t first_flags)
{
    struct conn k = tcp_key(i);
    struct conn *c = conn_create(t, &k);
    if (c)
        conn_tcp_update(t, c, CONN_DIR_IN, first_flags);
    return c;
}

/* secure_tcp: blind ACKs and FINs leave a half-open entry half-open (10 s); the server's SYN-ACK
 * makes the client's ACK establish. UDP is new until traffic goes both ways beyond one exchange. */
static void test_half_open_states(void)
{
    struct conn_table t;
    CHECK(conn_table_init(&t, 16, &std_to, &(struct siphash_key){ 5, 0 }));
    struct conn *c = new_tcp(&t, 0, TH_SYN_);
    if (!c) {
        CHECK(c != NULL);
        return;
    }
    conn_tcp_update(&t, c, CONN_DIR_IN, TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_SYN_RECV);
    conn_tcp_update(&t, c, CONN_DIR_IN, TH_FIN_ | TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_SYN_RECV);
    CHECK_EQ_U(conn_lifetime(&t, c), 10);
    CHECK_EQ_U(c->wclass, CONN_C_HALF_OPEN);
    conn_tcp_update(&t, c, CONN_DIR_OUT, TH_SYN_ | TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_SYNACK);
    CHECK_EQ_U(conn_lifetime(&t, c), 10);
    conn_tcp_update(&t, c, CONN_DIR_IN, TH_SYN_); /* a retransmitted SYN */
    CHECK_EQ_U(c->state, TCP_S_SYNACK);
    conn_tcp_update(&t, c, CONN_DIR_IN, TH_ACK_);
    CHECK_EQ_U(c->state, TCP_S_ESTABLISHED);
    CHECK_EQ_U(c->wclass, CONN_C_ESTABLISHED);
    CHECK_EQ_U(t.class_count[CONN_C_HALF_OPEN], 0);
    CHECK_EQ_U(t.class_count[CONN_C_ESTABLISHED], 1);

    struct conn k = udp_key(0);
    struct conn *u = conn_create(&t, &k);
    if (!u) {
        CHECK(u != NULL);
        return;
    }
    CHECK_EQ_U(u->state, CONN_S_UDP_NEW);
    CHECK_EQ_U(conn_lifetime(&t, u), 30);
    conn_udp_update(&t, u, CONN_DIR_IN);
    conn_udp_update(&t, u, CONN_DIR_IN); /* requests alone */
    CHECK_EQ_U(u->state, CONN_S_UDP_NEW);
    conn_udp_update(&t, u, CONN_DIR_OUT); /* one answer */
    CHECK_EQ_U(u->state, CONN_S_UDP_NEW);
    CHECK_EQ_U(u->wclass, CONN_C_UDP_NEW);
    conn_udp_update(&t, u, CONN_DIR_IN); /* and more: a stream */
    CHECK_EQ_U(u->state, CONN_S_UDP);
    CHECK_EQ_U(u->wclass, CONN_C_ESTABLISHED);
    CHECK_EQ_U(conn_lifetime(&t, u), 300);
    conn_table_free(&t);
}

/* Past their share (16 / 4), a new half-open entry replaces the oldest half-open one. */
static void test_half_open_share(void)
{
    struct conn_table t;
    struct cb_log log;
    memset(&log, 0, sizeof log);
    CHECK(conn_table_init(&t, 16, &std_to, &(struct siphash_key){ 6, 0 }));
    conn_watch(&t, log_cb, &log, false);
    for (unsigned i = 1; i <= 6; i++) {
        run_to(&t, i);
        CHECK(new_tcp(&t, i, TH_SYN_) != NULL);
    }
    CHECK_EQ_U(t.class_count[CONN_C_HALF_OPEN], 4);
    CHECK_EQ_U(t.count, 4);
    CHECK_EQ_U(t.stats.evicted[CONN_C_HALF_OPEN], 2);
    CHECK(!alive(&t, 1) && !alive(&t, 2) && alive(&t, 3) && alive(&t, 6));
    CHECK_EQ_U(log.live, 4);
    /* The same second: the first made goes first. */
    CHECK(new_tcp(&t, 7, TH_SYN_) && new_tcp(&t, 8, TH_SYN_));
    CHECK(!alive(&t, 3) && !alive(&t, 4) && alive(&t, 5) && alive(&t, 8));
    CHECK_EQ_U(run_to(&t, 6 + 10), 4);
    CHECK(cb_balanced(&log));
    conn_table_free(&t);
}

/* A full table makes room from closed, then half-open, then new UDP, then established entries
 * idle a minute; before that minute a new flow is refused. */
static void test_evict_order(void)
{
    struct conn_table t;
    struct cb_log log;
    memset(&log, 0, sizeof log);
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 7, 0 }));
    conn_watch(&t, log_cb, &log, false);
    new_established(&t, 0);
    new_established(&t, 1);
    for (unsigned i = 2; i <= 3; i++) {
        struct conn *c = new_established(&t, i);
        if (c)
            conn_tcp_update(&t, c, CONN_DIR_IN, TH_RST_);
    }
    struct conn k = udp_key(0);
    CHECK(conn_create(&t, &k) != NULL);
    k = udp_key(1);
    struct conn *u = conn_create(&t, &k);
    if (u)
        make_stream(&t, u);
    CHECK(new_tcp(&t, 4, TH_SYN_) != NULL);
    new_established(&t, 5);
    CHECK_EQ_U(t.count, 8);
    CHECK_EQ_U(t.class_count[CONN_C_CLOSED], 2);

    run_to(&t, 1);
    new_established(&t, 6);
    CHECK(!alive(&t, 2) && alive(&t, 3) && t.stats.evicted[CONN_C_CLOSED] == 1);
    new_established(&t, 7);
    CHECK(!alive(&t, 3) && t.stats.evicted[CONN_C_CLOSED] == 2);
    new_established(&t, 8);
    CHECK(!alive(&t, 4) && t.stats.evicted[CONN_C_HALF_OPEN] == 1);
    new_established(&t, 9);
    CHECK(!udp_alive(&t, 0) && t.stats.evicted[CONN_C_UDP_NEW] == 1);
    struct conn k10 = tcp_key(10);
    CHECK(conn_create(&t, &k10) == NULL);
    CHECK_EQ_U(t.stats.table_full, 1);
    CHECK_EQ_U(t.stats.evicted[CONN_C_ESTABLISHED], 0);

    run_to(&t, 1 + CONN_EVICT_IDLE_MIN);
    CHECK(new_tcp(&t, 10, TH_SYN_) != NULL);
    CHECK_EQ_U(t.stats.evicted[CONN_C_ESTABLISHED], 1);
    CHECK(!udp_alive(&t, 1)); /* the established entry nearest its deadline: the UDP stream's */
    CHECK_EQ_U(t.count, 8);
    CHECK(alive(&t, 0) && alive(&t, 5) && alive(&t, 9));
    CHECK_EQ_U(log.live, 8);
    conn_table_free(&t);
}

/* A template is half-open until a flow it controls is established: a SYN's template dies a
 * second after its flow; an established flow's lives its timeout. The template a new flow is
 * about to use is never taken to make room for it. */
static void test_flood_templates(void)
{
    struct conn_table t;
    struct cb_log log;
    memset(&log, 0, sizeof log);
    CHECK(conn_table_init(&t, 4, &std_to, &(struct siphash_key){ 8, 0 }));
    conn_watch(&t, log_cb, &log, false);
    struct conn kt = key(IPPROTO_TCP, 0xc6336400, 0, 0xc000020a, 80, 0x0a010005, 8080);
    kt.flags = CONN_F_TEMPLATE;
    kt.template_timeout = 100;
    struct conn *tpl = conn_create(&t, &kt);
    if (!tpl) {
        CHECK(tpl != NULL);
        return;
    }
    CHECK_EQ_U(tpl->wclass, CONN_C_HALF_OPEN);
    struct conn k = tcp_key(0);
    k.template = conn_index(&t, tpl);
    struct conn *c = conn_create(&t, &k); /* the half-open share (1) is the template, kept */
    CHECK(c && c->template == conn_index(&t, tpl) && tpl->controlled == 1);
    if (c)
        conn_tcp_update(&t, c, CONN_DIR_IN, TH_SYN_);
    CHECK_EQ_U(run_to(&t, 10), 1); /* the SYN's entry */
    CHECK(conn_lookup_template(&t, kt.proto, kt.caddr, kt.vaddr, kt.vport) == tpl);
    CHECK_EQ_U(run_to(&t, 11), 1); /* its template, a second later */
    CHECK_EQ_U(t.count, 0);

    tpl = conn_create(&t, &kt);
    k.template = tpl ? conn_index(&t, tpl) : CONN_NONE;
    c = tpl ? conn_create(&t, &k) : NULL;
    if (!c) {
        CHECK(c != NULL);
        return;
    }
    establish(&t, c);
    CHECK(tpl->flags & CONN_F_CONFIRMED);
    CHECK_EQ_U(tpl->wclass, CONN_C_TEMPLATE);
    conn_delete(&t, c);
    CHECK_EQ_U(run_to(&t, 11 + 99), 0);
    CHECK_EQ_U(run_to(&t, 11 + 100), 1);
    CHECK(cb_balanced(&log));
    conn_table_free(&t);
}

/* The tail of a list a sweep cut short goes (deleted by a packet): the sweep still ends well. */
static void test_sweep_tail_removed(void)
{
    struct conn_table t;
    CHECK(conn_table_init(&t, 8, &std_to, &(struct siphash_key){ 10, 0 }));
    struct conn *last = NULL;
    for (unsigned i = 0; i < 4; i++)
        last = new_established(&t, i);
    run_to(&t, 899);
    bool done;
    CHECK_EQ_U(conn_expire_some(&t, 900, 1, &done), 1);
    CHECK(!done && last);
    if (last)
        conn_delete(&t, last);
    CHECK_EQ_U(conn_expire_some(&t, 900, 8, &done), 2);
    CHECK(done);
    CHECK_EQ_U(t.count, 0);
    new_established(&t, 9); /* the slot lists are whole again */
    CHECK_EQ_U(run_to(&t, 900 + 900), 1);
    conn_table_free(&t);
}

int main(void)
{
    test_lookup_both_ways();
    test_table_full();
    test_tcp_states();
    test_expiry();
    test_expiry_in_slices();
    test_templates();
    test_template_after_last_controlled();
    test_one_packet_and_reset();
    test_bulk();
    test_import();
    test_half_open_states();
    test_half_open_share();
    test_evict_order();
    test_flood_templates();
    test_sweep_tail_removed();
    CHECK_DONE();
}
