/* test_reconfig: reconfig_apply() end to end through the fast path. Flows are opened with built
 * frames (frames.h) against a table made from one command line, the table is replaced by one
 * made from an edited command line, and the same flows are driven on: kept servers keep their
 * flows and counters, removed ones have their clients reset, a removed service's datagrams find
 * nothing, persistence survives, new services take flows, and a reconfig that fails changes
 * nothing. An edit touches no connection entry (the entries of removed servers name retired
 * slots, answered as dropped when met, marked by the reap walk). After every step the
 * ActiveConn/InActConn/persistent counters of the live table are checked against a recount of
 * the entries of live slots, and every slot's count of entries naming it against the entries;
 * run under ASan/UBSan (-DRAWLB_SANITIZE=ON) this also shows that no stale index is used. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "testing.h"
#include "config.h"
#include "conn.h"
#include "fastpath.h"
#include "fpenv.h"
#include "frames.h"
#include "neigh.h"
#include "packet.h"
#include "reconfig.h"
#include "service.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define VIP IP4(198, 51, 100, 10)
#define NAT IP4(203, 0, 113, 1)
#define RS11 IP4(203, 0, 113, 11)
#define RS12 IP4(203, 0, 113, 12)
#define RS13 IP4(203, 0, 113, 13)
#define CLIENT IP4(192, 0, 2, 7)
#define CLIENT2 IP4(192, 0, 2, 8)
#define CLIENT3 IP4(192, 0, 2, 9)

#define COMMON "-e ext -i int -n 203.0.113.1 "
/* A: 0 TCP :80 (.11, .12), 1 TCP :443 -p 300 (.11), 2 UDP :53 (.12). */
#define ARGS_A                                                   \
    COMMON "-t 198.51.100.10:80 -r 203.0.113.11:80 -r 203.0.113.12:80 " \
           "-t 198.51.100.10:443 -p 300 -r 203.0.113.11:443 "         \
           "-u 198.51.100.10:53 -r 203.0.113.12:53"
/* B, the edit: :8080 added (first, so every kept service moves to another index), :80 loses .12
 * and gains .13 (listed first, so .11 moves too) and .11's weight becomes 3, :53 removed. */
#define ARGS_B                                                         \
    COMMON "-t 198.51.100.10:8080 -r 203.0.113.13:8080 -r 203.0.113.11:8080 " \
           "-t 198.51.100.10:80 -r 203.0.113.13:80 -r 203.0.113.11:80:3 "     \
           "-t 198.51.100.10:443 -p 300 -r 203.0.113.11:443"
/* C: as B, but :443's only server is replaced (.11 -> .13) while a persistent client is on it. */
#define ARGS_C                                                         \
    COMMON "-t 198.51.100.10:8080 -r 203.0.113.13:8080 -r 203.0.113.11:8080 " \
           "-t 198.51.100.10:80 -r 203.0.113.13:80 -r 203.0.113.11:80:3 "     \
           "-t 198.51.100.10:443 -p 300 -r 203.0.113.13:443"

#define NOW 100

static struct rawlb_config cfg_a, cfg_b;
static struct service_table svcs;
static struct neigh_table neigh;
static struct fastpath fp;
static const struct fpenv env = { &cfg_a, &svcs, &neigh, &fp };
static uint8_t buf[70000];
#define F (buf + FRAME_VNET_LEN)

static void learn(uint32_t host_addr) { fpenv_learn(&neigh, host_addr, 0); }

/* The table of A with .11 and .12 learnt; B parsed, ready to be applied. */
static void env_up(void)
{
    struct fpenv_opts o = { .max_conns = 1024, .ext_mtu = 1500, .int_mtu = 1500, .seed = 0x12345678u };
    fpenv_up(&env, ARGS_A, &o);
    fpenv_parse(&cfg_b, ARGS_B);
}

/* ---- frames ---- */

static size_t out_len;
static enum fp_verdict run(bool from_ext, const struct frame_spec *s)
{
    out_len = frame_build(buf, s);
    return fastpath_handle(&fp, from_ext, buf, &out_len, NOW);
}

static uint32_t o_saddr(void) { return get32(F + 14 + 12); }
static uint32_t o_daddr(void) { return get32(F + 14 + 16); }
static uint16_t o_sport(void) { return get16(l4of(F)); }
static uint16_t o_dport(void) { return get16(l4of(F) + 2); }
static bool mac_is(const uint8_t *at, const uint8_t *mac) { return memcmp(at, mac, 6) == 0; }
static bool o_dmac_is_rs(uint32_t raddr)
{
    uint8_t m[6];
    fpenv_rs_mac(raddr, m);
    return mac_is(F, m);
}

struct flow {
    uint8_t proto;
    uint32_t caddr, vaddr;
    uint16_t cport, vport;
    uint32_t raddr; /* host order, once scheduled */
    uint16_t rport;
};

static enum fp_verdict from_client(struct flow *fl, uint8_t flags, size_t payload)
{
    struct frame_spec s = fpenv_client_spec(fl->proto, fl->caddr, fl->cport, fl->vaddr, fl->vport);
    s.frag = IP_DF_;
    s.payload = payload;
    s.tcp_flags = flags;
    s.seq = 1000;
    s.ack = (flags & TH_ACK_) ? 5000 : 0;
    enum fp_verdict v = run(true, &s);
    if (v == FP_VERDICT_TX_INT && (fl->proto == IPPROTO_UDP || (flags & TH_SYN_))) {
        fl->raddr = o_daddr();
        fl->rport = o_dport();
    }
    return v;
}

static enum fp_verdict from_server(const struct flow *fl, uint8_t flags, size_t payload)
{
    struct frame_spec s = fpenv_server_spec(fl->proto, fl->raddr, fl->rport, fl->caddr, fl->cport);
    s.frag = IP_DF_;
    s.payload = payload;
    s.tcp_flags = flags;
    s.seq = 5000;
    s.ack = 1001;
    return run(false, &s);
}

static void check_to_server(const struct flow *fl)
{
    CHECK(o_dmac_is_rs(fl->raddr));
    CHECK(mac_is(F + 6, INT_MAC));
    CHECK_EQ_U(o_saddr(), fl->caddr);
    CHECK_EQ_U(o_sport(), fl->cport);
    CHECK_EQ_U(o_daddr(), fl->raddr);
    CHECK_EQ_U(o_dport(), fl->rport);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
}

static void check_to_client(const struct flow *fl)
{
    CHECK(mac_is(F, CLIENT_MAC));
    CHECK(mac_is(F + 6, EXT_MAC));
    CHECK_EQ_U(o_saddr(), fl->vaddr);
    CHECK_EQ_U(o_sport(), fl->vport);
    CHECK_EQ_U(o_daddr(), fl->caddr);
    CHECK_EQ_U(o_dport(), fl->cport);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
}

static bool tcp_establish(struct flow *fl)
{
    return from_client(fl, TH_SYN_, 0) == FP_VERDICT_TX_INT && from_server(fl, TH_SYN_ | TH_ACK_, 0) == FP_VERDICT_TX_EXT &&
           from_client(fl, TH_ACK_, 0) == FP_VERDICT_TX_INT;
}

static struct conn *flow_conn(const struct flow *fl)
{
    return conn_lookup_in(&fp.conns, fl->proto, htonl(fl->caddr), htons(fl->cport), htonl(fl->vaddr),
                          htons(fl->vport));
}

/* ---- the table as the entries see it ---- */

static int svc_of(uint8_t proto, uint16_t vport)
{
    return service_find(&svcs, proto, htonl(VIP), htons(vport));
}

static struct real_server *rs_by_addr(uint8_t proto, uint16_t vport, uint32_t raddr, uint16_t rport)
{
    int s = svc_of(proto, vport);
    if (s < 0)
        return NULL;
    struct service *svc = &svcs.svc[s];
    for (unsigned j = 0; j < svc->n_rs; j++)
        if (svc->rs[j].ep.addr == htonl(raddr) && svc->rs[j].ep.port == htons(rport))
            return &svc->rs[j];
    return NULL;
}

static const struct rs_slot *slot_of(const struct conn *c)
{
    return service_slot_of(&svcs, c->svc, c->rs);
}

struct recount {
    uint32_t n[RAWLB_MAX_SERVICES][RAWLB_MAX_RS_PER_SERVICE + 1][3];
    uint32_t refs[SLOT_SERVICES][SLOT_SERVERS];
    unsigned bad_index, bad_retired;
};

static void recount_entry(void *arg, struct conn_table *t, struct conn *c)
{
    (void)t;
    struct recount *r = arg;
    if (c->svc >= SLOT_SERVICES || c->rs >= SLOT_SERVERS) {
        r->bad_index++;
        return;
    }
    r->refs[c->svc][c->rs]++;
    const struct rs_slot *slot = slot_of(c);
    if (!slots_live(slot)) {
        /* Once the reap walk is through, entries of retired slots are reset connections or
         * templates, never live traffic. */
        bool reaped = !fp.reaping && fp.reaped == svcs.slots.retired;
        if (reaped && !(c->flags & (CONN_F_RESET | CONN_F_TEMPLATE)))
            r->bad_retired++;
        return;
    }
    unsigned s = (unsigned)slot->svc, j = (unsigned)slot->rs;
    if (s >= svcs.n || j > svcs.svc[s].n_rs || (j == svcs.svc[s].n_rs && !svcs.svc[s].has_sorry) ||
        svcs.svc[s].slot != c->svc || svcs.svc[s].rs[j].slot != c->rs) {
        r->bad_index++;
        return;
    }
    /* Its slot names the server it is NATed to. */
    const struct service *svc = &svcs.svc[s];
    if (svc->proto != c->proto || svc->vip.addr != c->vaddr || (!(c->flags & CONN_F_TEMPLATE) && svc->vip.port != c->vport) ||
        svc->rs[j].ep.addr != c->daddr || svc->rs[j].ep.port != c->dport) {
        r->bad_index++;
        return;
    }
    unsigned k = c->state == CONN_S_TEMPLATE ? 2 : c->state == TCP_S_ESTABLISHED ? 0 : 1;
    r->n[s][j][k]++;
}

/* Every counter of the live table equals what the entries of live slots say, every slot's
 * count of entries naming it is right, and no live entry points outside the table. Returns the
 * number of mismatches (each one reported). */
static unsigned check_counters_line(int line)
{
    static struct recount r;
    memset(&r, 0, sizeof r);
    conn_for_each(&fp.conns, recount_entry, &r);
    unsigned bad = r.bad_index + r.bad_retired;
    if (r.bad_index || r.bad_retired)
        fprintf(stderr, "line %d: %u entries with slots outside the table or naming another server, %u entries of "
                        "retired slots neither reset nor templates after the reap walk\n",
                line, r.bad_index, r.bad_retired);
    for (unsigned s = 0; s < SLOT_SERVICES; s++)
        for (unsigned j = 0; j < SLOT_SERVERS; j++)
            if (svcs.slots.svc[s].rs[j].refs != r.refs[s][j]) {
                fprintf(stderr, "line %d: slot %u:%u: %u entries counted, %u found\n", line, s, j,
                        svcs.slots.svc[s].rs[j].refs, r.refs[s][j]);
                bad++;
            }
    for (unsigned s = 0; s < svcs.n; s++)
        for (unsigned j = 0; j <= svcs.svc[s].n_rs; j++) {
            const struct real_server *rs = &svcs.svc[s].rs[j];
            if (rs->active != r.n[s][j][0] || rs->inactive != r.n[s][j][1] || rs->persistent != r.n[s][j][2]) {
                fprintf(stderr,
                        "line %d: svc %u rs %u: active/inactive/persistent %u/%u/%u, entries say %u/%u/%u\n",
                        line, s, j, rs->active, rs->inactive, rs->persistent, r.n[s][j][0], r.n[s][j][1],
                        r.n[s][j][2]);
                bad++;
            }
        }
    return bad;
}
#define CHECK_COUNTERS() CHECK_EQ_U(check_counters_line(__LINE__), 0)

/* ---- the test ---- */

#define N_HTTP 8

static void test_reconfig(void)
{
    env_up();
    char err[256];

    /* Config A: flows to every service. Even-numbered :80 flows complete their handshakes (and
     * carry data), odd ones stay at SYN. */
    struct flow http[N_HTTP];
    for (unsigned i = 0; i < N_HTTP; i++) {
        http[i] = (struct flow){ .proto = IPPROTO_TCP, .caddr = CLIENT, .cport = (uint16_t)(40000 + i), .vaddr = VIP,
                                 .vport = 80 };
        if (i % 2 == 0) {
            CHECK(tcp_establish(&http[i]));
            CHECK_EQ_U(from_client(&http[i], TH_ACK_ | 0x08, 100), FP_VERDICT_TX_INT);
            CHECK_EQ_U(from_server(&http[i], TH_ACK_ | 0x08, 200), FP_VERDICT_TX_EXT);
        } else {
            CHECK_EQ_U(from_client(&http[i], TH_SYN_, 0), FP_VERDICT_TX_INT);
        }
        CHECK(http[i].raddr == RS11 || http[i].raddr == RS12);
        CHECK_EQ_U(http[i].rport, 80);
    }
    struct real_server *a11 = rs_by_addr(IPPROTO_TCP, 80, RS11, 80), *a12 = rs_by_addr(IPPROTO_TCP, 80, RS12, 80);
    CHECK(a11 && a12);
    if (!a11 || !a12)
        return;
    /* Both servers hold established and half-open flows. */
    CHECK(a11->active > 0 && a11->inactive > 0);
    CHECK(a12->active > 0 && a12->inactive > 0);
    unsigned on11 = 0, on12 = 0;
    for (unsigned i = 0; i < N_HTTP; i++)
        http[i].raddr == RS11 ? on11++ : on12++;
    CHECK_EQ_U(a11->active + a11->inactive, on11);
    CHECK_EQ_U(a12->active + a12->inactive, on12);

    struct flow tls = { .proto = IPPROTO_TCP, .caddr = CLIENT2, .cport = 50000, .vaddr = VIP, .vport = 443 };
    CHECK(tcp_establish(&tls));
    CHECK_EQ_U(tls.raddr, RS11);
    CHECK_EQ_U(tls.rport, 443);
    struct real_server *a443 = rs_by_addr(IPPROTO_TCP, 443, RS11, 443);
    CHECK(a443 && a443->persistent == 1 && a443->active == 1);

    struct flow dns = { .proto = IPPROTO_UDP, .caddr = CLIENT3, .cport = 5353, .vaddr = VIP, .vport = 53 };
    CHECK_EQ_U(from_client(&dns, 0, 30), FP_VERDICT_TX_INT);
    CHECK_EQ_U(dns.raddr, RS12);
    CHECK_EQ_U(dns.rport, 53);
    CHECK_EQ_U(from_server(&dns, 0, 60), FP_VERDICT_TX_EXT);
    check_to_client(&dns);
    CHECK_COUNTERS();

    /* What .11:80 and its service showed before the edit (the daemon folds the workers'
     * per-packet counters in before any edit). */
    fastpath_fold_stats(&fp);
    const uint32_t was_active = a11->active, was_inactive = a11->inactive;
    const struct rs_stats was_stats = a11->stats;
    const struct rs_stats was_svc_stats = svcs.svc[svc_of(IPPROTO_TCP, 80)].stats;
    const struct rs_stats was_443_stats = a443 ? a443->stats : (struct rs_stats){ 0 };
    CHECK(was_stats.in_pkts > 0);
    const uint32_t entries_before = fp.conns.count;

    /* ---- a reconfig that fails: scheduler unknown in the last service, so earlier ones were
     * made and must be undone. Nothing changes. ---- */
    {
        static struct rawlb_config bad;
        static struct service_table table_copy;
        static struct conn pool_copy[1024];
        bad = cfg_b;
        snprintf(bad.services[bad.n_services - 1].scheduler, sizeof bad.services[0].scheduler, "bogus");
        table_copy = svcs;
        memcpy(pool_copy, fp.conns.pool, sizeof pool_copy);
        struct reconfig_result res;
        memset(&res, 0xa5, sizeof res);
        err[0] = 0;
        CHECK(!reconfig_apply(&svcs, &bad, &res, err, sizeof err));
        CHECK(strstr(err, "bogus") != NULL);
        CHECK(memcmp(&table_copy, &svcs, sizeof svcs) == 0);
        CHECK(memcmp(pool_copy, fp.conns.pool, sizeof pool_copy) == 0);
        CHECK_EQ_U(fp.conns.count, entries_before);
        CHECK(fp.services == &svcs);
        /* Flows go on as before, to the same servers. */
        for (unsigned i = 0; i < N_HTTP; i += 2) {
            CHECK_EQ_U(from_client(&http[i], TH_ACK_ | 0x08, 10), FP_VERDICT_TX_INT);
            check_to_server(&http[i]);
        }
        CHECK_EQ_U(from_client(&dns, 0, 30), FP_VERDICT_TX_INT);
        check_to_server(&dns);
        CHECK_COUNTERS();
    }
    const struct rs_stats mid_stats = a11->stats;
    const struct rs_stats mid_svc_stats = svcs.svc[svc_of(IPPROTO_TCP, 80)].stats;
    (void)was_stats;
    (void)was_svc_stats;

    /* ---- the edit: the service table only, not one entry ---- */
    learn(RS13);
    static struct conn pool_before[1024];
    memcpy(pool_before, fp.conns.pool, sizeof pool_before);
    const uint16_t slot12 = rs_by_addr(IPPROTO_TCP, 80, RS12, 80)->slot;
    struct reconfig_result res;
    err[0] = 0;
    CHECK(reconfig_apply(&svcs, &cfg_b, &res, err, sizeof err));
    CHECK(memcmp(pool_before, fp.conns.pool, sizeof pool_before) == 0);
    if (err[0])
        fprintf(stderr, "reconfig_apply: %s\n", err);
    CHECK_EQ_U(res.services_added, 1);
    CHECK_EQ_U(res.services_removed, 1);
    CHECK_EQ_U(res.servers_added, 3);   /* .13:80, and :8080's .13 and .11 */
    CHECK_EQ_U(res.servers_removed, 2); /* .12:80, and :53's .12 */
    CHECK_EQ_U(res.flows_dropped, on12 + 1); /* .12:80's flows and the :53 flow */
    CHECK(fp.services == &svcs);
    CHECK_EQ_U(svcs.n, 3);
    CHECK_EQ_U(svc_of(IPPROTO_TCP, 8080), 0);
    CHECK_EQ_U(svc_of(IPPROTO_TCP, 80), 1);
    CHECK_EQ_U(svc_of(IPPROTO_TCP, 443), 2);
    CHECK_EQ_U(svc_of(IPPROTO_UDP, 53), -1);
    CHECK(rs_by_addr(IPPROTO_TCP, 80, RS12, 80) == NULL);
    CHECK_COUNTERS();

    struct real_server *b11 = rs_by_addr(IPPROTO_TCP, 80, RS11, 80), *b13 = rs_by_addr(IPPROTO_TCP, 80, RS13, 80);
    CHECK(b11 && b13);
    if (!b11 || !b13)
        return;
    CHECK(b11 == &svcs.svc[1].rs[1]);
    CHECK_EQ_U(b11->weight, 3);
    CHECK_EQ_U(b11->config_weight, 3);
    CHECK_EQ_U(b11->active, was_active);
    CHECK_EQ_U(b11->inactive, was_inactive);
    CHECK(memcmp(&b11->stats, &mid_stats, sizeof mid_stats) == 0);
    CHECK_EQ_U(b11->stats.in_pkts, mid_stats.in_pkts);
    CHECK(memcmp(&svcs.svc[1].stats, &mid_svc_stats, sizeof mid_svc_stats) == 0);
    CHECK_EQ_U(b13->active + b13->inactive + b13->persistent, 0);
    CHECK_EQ_U(b13->stats.in_pkts, 0);
    struct real_server *b443 = rs_by_addr(IPPROTO_TCP, 443, RS11, 443);
    CHECK(b443 && b443->persistent == 1 && b443->active == 1);
    CHECK(b443 && memcmp(&b443->stats, &was_443_stats, sizeof was_443_stats) == 0);

    /* Flows on .11:80 go on: next segment forwarded to .11 with its MAC, replies translated. */
    uint64_t in_pkts = b11->stats.in_pkts;
    for (unsigned i = 0; i < N_HTTP; i++) {
        if (http[i].raddr != RS11)
            continue;
        struct conn *c = flow_conn(&http[i]);
        CHECK(c && !(c->flags & CONN_F_RESET) && slot_of(c)->svc == 1 && slot_of(c)->rs == 1);
        if (i % 2 == 0) {
            CHECK_EQ_U(from_client(&http[i], TH_ACK_ | 0x08, 50), FP_VERDICT_TX_INT);
            check_to_server(&http[i]);
            CHECK_EQ_U(from_server(&http[i], TH_ACK_ | 0x08, 70), FP_VERDICT_TX_EXT);
            check_to_client(&http[i]);
        } else {
            /* The half-open ones complete now, against the new table. */
            CHECK_EQ_U(from_server(&http[i], TH_SYN_ | TH_ACK_, 0), FP_VERDICT_TX_EXT);
            check_to_client(&http[i]);
            CHECK_EQ_U(from_client(&http[i], TH_ACK_, 0), FP_VERDICT_TX_INT);
            check_to_server(&http[i]);
        }
        in_pkts++;
    }
    fastpath_fold_stats(&fp);
    CHECK_EQ_U(b11->stats.in_pkts, in_pkts);
    CHECK_EQ_U(b11->active, on11);
    CHECK_EQ_U(b11->inactive, 0);
    CHECK_COUNTERS();

    /* Flows that were on .12:80: their slot is retired, so they are dropped when met: its replies
     * find nothing; the client's next ACK gets an RST from VIP:80; a new SYN on the same tuple is
     * scheduled afresh. */
    unsigned reset_done = 0, syn_done = 0, left = 0;
    uint64_t resets = fp.stats.resets_sent;
    for (unsigned i = 0; i < N_HTTP; i++) {
        if (http[i].raddr != RS12)
            continue;
        struct conn *c = flow_conn(&http[i]);
        CHECK(c && !slots_live(slot_of(c)) && !(c->flags & CONN_F_RESET));
        uint64_t no_conn = fp.stats.drops[FP_DROP_NO_CONN];
        CHECK_EQ_U(from_server(&http[i], TH_ACK_ | 0x08, 70), FP_VERDICT_DROP);
        CHECK(c->flags & CONN_F_RESET); /* marked when met */
        CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_CONN], no_conn + 1);
        CHECK_COUNTERS();
        if (reset_done == 0) {
            struct frame_spec s = { .saddr = CLIENT, .daddr = VIP, .proto = IPPROTO_TCP, .sport = http[i].cport,
                                    .dport = 80, .tcp_flags = TH_ACK_ | 0x08, .seq = 123456, .ack = 987654,
                                    .payload = 100, .frag = IP_DF_ };
            memcpy(s.smac, CLIENT_MAC, 6);
            memcpy(s.dmac, EXT_MAC, 6);
            CHECK_EQ_U(run(true, &s), FP_VERDICT_TX_EXT);
            CHECK(mac_is(F, CLIENT_MAC));
            CHECK(mac_is(F + 6, EXT_MAC));
            CHECK_EQ_U(o_saddr(), VIP);
            CHECK_EQ_U(o_sport(), 80);
            CHECK_EQ_U(o_daddr(), CLIENT);
            CHECK_EQ_U(o_dport(), http[i].cport);
            CHECK(l4of(F)[13] & TH_RST_);
            CHECK_EQ_U(get32(l4of(F) + 4), 987654);
            CHECK(ip_csum_ok(F));
            CHECK(l4_csum_ok(F));
            CHECK_EQ_U(fp.stats.resets_sent, resets + 1);
            CHECK(flow_conn(&http[i]) == NULL);
            reset_done++;
        } else if (syn_done == 0) {
            CHECK_EQ_U(from_client(&http[i], TH_SYN_, 0), FP_VERDICT_TX_INT);
            CHECK(http[i].raddr == RS11 || http[i].raddr == RS13);
            CHECK_EQ_U(http[i].rport, 80);
            check_to_server(&http[i]);
            c = flow_conn(&http[i]);
            CHECK(c && !(c->flags & CONN_F_RESET) && c->state == TCP_S_SYN_RECV);
            CHECK(c && slot_of(c)->svc == 1 && slot_of(c)->rs == (http[i].raddr == RS11 ? 1 : 0));
            CHECK_EQ_U(from_server(&http[i], TH_SYN_ | TH_ACK_, 0), FP_VERDICT_TX_EXT);
            check_to_client(&http[i]);
            syn_done++;
        } else {
            left++; /* left to expire */
        }
        CHECK_COUNTERS();
    }
    CHECK_EQ_U(reset_done, 1);
    CHECK_EQ_U(syn_done, 1);
    CHECK(left >= 1);
    CHECK_EQ_U(fp.stats.resets_sent, resets + 1);

    /* The removed :53 service: a reply from .12:53 finds nothing, the client's next datagram
     * finds no service and gets an ICMP port unreachable from the VIP, as the one after it. */
    {
        struct conn *c = flow_conn(&dns);
        CHECK(c && !slots_live(slot_of(c)));
        uint64_t no_conn = fp.stats.drops[FP_DROP_NO_CONN], unreach = fp.stats.icmp_unreach_sent;
        CHECK_EQ_U(from_server(&dns, 0, 60), FP_VERDICT_DROP);
        CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_CONN], no_conn + 1);
        CHECK_EQ_U(from_client(&dns, 0, 30), FP_VERDICT_TX_EXT);
        CHECK_EQ_U(F[14 + 9], IPPROTO_ICMP);
        CHECK_EQ_U(o_saddr(), VIP);
        CHECK_EQ_U(l4of(F)[0], 3); /* destination unreachable */
        CHECK_EQ_U(l4of(F)[1], 3); /* port */
        CHECK_EQ_U(fp.stats.icmp_unreach_sent, unreach + 1);
        CHECK(flow_conn(&dns) == NULL);
        CHECK_EQ_U(from_client(&dns, 0, 30), FP_VERDICT_TX_EXT);
        CHECK_EQ_U(fp.stats.icmp_unreach_sent, unreach + 2);
        CHECK(flow_conn(&dns) == NULL);
        CHECK_COUNTERS();
    }

    /* Persistence of :443 survives: the same client's new connection goes to the same server
     * through the same template. */
    {
        struct conn *first = flow_conn(&tls);
        CHECK(first && slot_of(first)->svc == 2 && slot_of(first)->rs == 0 && first->template != CONN_NONE);
        CHECK_EQ_U(from_client(&tls, TH_ACK_ | 0x08, 20), FP_VERDICT_TX_INT);
        check_to_server(&tls);
        struct flow tls2 = { .proto = IPPROTO_TCP, .caddr = CLIENT2, .cport = 50001, .vaddr = VIP, .vport = 443 };
        uint64_t created = fp.conns.stats.created;
        CHECK(tcp_establish(&tls2));
        CHECK_EQ_U(tls2.raddr, RS11);
        CHECK_EQ_U(tls2.rport, 443);
        CHECK_EQ_U(fp.conns.stats.created, created + 1); /* the entry, no new template */
        struct conn *second = flow_conn(&tls2);
        CHECK(first && second && second->template == first->template);
        CHECK(b443 && b443->persistent == 1 && b443->active == 2);
        CHECK_COUNTERS();
    }

    /* The new :8080 service takes new flows. */
    {
        struct flow alt[2];
        for (unsigned i = 0; i < 2; i++) {
            alt[i] = (struct flow){ .proto = IPPROTO_TCP, .caddr = CLIENT3, .cport = (uint16_t)(60000 + i),
                                    .vaddr = VIP, .vport = 8080 };
            CHECK(tcp_establish(&alt[i]));
            CHECK(alt[i].raddr == RS11 || alt[i].raddr == RS13);
            CHECK_EQ_U(alt[i].rport, 8080);
            check_to_server(&alt[i]);
        }
        CHECK(alt[0].raddr != alt[1].raddr); /* wlc, equal weights: one each */
        CHECK_EQ_U(svcs.svc[0].rs[0].active + svcs.svc[0].rs[1].active, 2);
        CHECK_COUNTERS();
    }

    /* New :80 flows: wlc over .13 (weight 1) and .11 (weight 3). */
    for (unsigned i = 0; i < 4; i++) {
        struct flow f = { .proto = IPPROTO_TCP, .caddr = CLIENT3, .cport = (uint16_t)(61000 + i), .vaddr = VIP,
                          .vport = 80 };
        CHECK_EQ_U(from_client(&f, TH_SYN_, 0), FP_VERDICT_TX_INT);
        CHECK(f.raddr == RS11 || f.raddr == RS13);
        check_to_server(&f);
    }
    CHECK_COUNTERS();

    /* ---- a second edit back to A while entries of retired slots remain: .12:80 and :53 come
     * back empty, .12:80 in another slot (its old one is still named); the old entries stay out
     * of their counters. ---- */
    {
        learn(RS12);
        CHECK(reconfig_apply(&svcs, &cfg_a, &res, err, sizeof err));
        CHECK_EQ_U(res.services_added, 1);
        CHECK_EQ_U(res.services_removed, 1);
        CHECK_COUNTERS();
        struct real_server *c12 = rs_by_addr(IPPROTO_TCP, 80, RS12, 80);
        CHECK(c12 && c12->active + c12->inactive + c12->persistent == 0);
        CHECK(svcs.slots.svc[svcs.svc[0].slot].rs[slot12].refs > 0);
        CHECK(c12 && c12->slot != slot12);
        struct real_server *c53 = rs_by_addr(IPPROTO_UDP, 53, RS12, 53);
        CHECK(c53 && c53->active + c53->inactive + c53->persistent == 0);
        /* The .12:80 flows left over are still reset: an RST for the client, nothing for .12. */
        for (unsigned i = 0; i < N_HTTP; i++) {
            struct conn *c = flow_conn(&http[i]);
            if (!c || slots_live(slot_of(c)))
                continue;
            CHECK_EQ_U(from_server(&http[i], TH_ACK_, 0), FP_VERDICT_DROP);
            CHECK_COUNTERS();
        }
        /* And :53 works again. */
        struct flow dns2 = { .proto = IPPROTO_UDP, .caddr = CLIENT3, .cport = 5354, .vaddr = VIP, .vport = 53 };
        CHECK_EQ_U(from_client(&dns2, 0, 30), FP_VERDICT_TX_INT);
        CHECK_EQ_U(dns2.raddr, RS12);
        CHECK_COUNTERS();
    }

    /* ---- everything expires, one tick a second as the daemon does: no crash, no counter
     * underflow (each check compares against the entries), all zero at the end. ---- */
    for (uint32_t now = 1; now <= 4000; now++) {
        fastpath_tick(&fp, now);
        if (now % 5 == 0 || now < 20) {
            unsigned bad = check_counters_line(__LINE__);
            CHECK_EQ_U(bad, 0);
            if (bad) {
                fprintf(stderr, "  (at tick %u)\n", now);
                break;
            }
        }
    }
    CHECK_EQ_U(fp.conns.count, 0);
    for (unsigned s = 0; s < svcs.n; s++)
        for (unsigned j = 0; j <= svcs.svc[s].n_rs; j++) {
            const struct real_server *rs = &svcs.svc[s].rs[j];
            CHECK_EQ_U(rs->active, 0);
            CHECK_EQ_U(rs->inactive, 0);
            CHECK_EQ_U(rs->persistent, 0);
        }

    fpenv_down(&env);
}

/* The same kind of edit with the persistent server of :443 removed under a live connection (its
 * template is detached while it still controls that connection), then the clock jumped far
 * ahead at once instead of second by second. */
static void test_reconfig_template_and_jump(void)
{
    static struct rawlb_config cfg_c;
    env_up();
    fpenv_parse(&cfg_c, ARGS_C);
    char err[256];
    struct flow http[4];
    for (unsigned i = 0; i < 4; i++) {
        http[i] = (struct flow){ .proto = IPPROTO_TCP, .caddr = CLIENT, .cport = (uint16_t)(42000 + i), .vaddr = VIP,
                                 .vport = 80 };
        if (i < 2)
            CHECK(tcp_establish(&http[i]));
        else
            CHECK_EQ_U(from_client(&http[i], TH_SYN_, 0), FP_VERDICT_TX_INT);
    }
    struct flow tls = { .proto = IPPROTO_TCP, .caddr = CLIENT2, .cport = 50000, .vaddr = VIP, .vport = 443 };
    CHECK(tcp_establish(&tls));
    struct flow dns = { .proto = IPPROTO_UDP, .caddr = CLIENT3, .cport = 5353, .vaddr = VIP, .vport = 53 };
    CHECK_EQ_U(from_client(&dns, 0, 30), FP_VERDICT_TX_INT);
    CHECK_COUNTERS();

    learn(RS13);
    struct reconfig_result res;
    CHECK(reconfig_apply(&svcs, &cfg_c, &res, err, sizeof err));
    CHECK_EQ_U(res.services_added, 1);
    CHECK_EQ_U(res.services_removed, 1);
    CHECK_EQ_U(res.servers_added, 4);
    CHECK_EQ_U(res.servers_removed, 3);
    CHECK_COUNTERS();
    struct real_server *c13 = rs_by_addr(IPPROTO_TCP, 443, RS13, 443);
    CHECK(c13 && c13->active + c13->inactive + c13->persistent == 0);
    struct conn *old = flow_conn(&tls);
    CHECK(old && !slots_live(slot_of(old)));

    /* The same client's next connection: a new template, to .13. */
    struct flow tls2 = { .proto = IPPROTO_TCP, .caddr = CLIENT2, .cport = 50001, .vaddr = VIP, .vport = 443 };
    CHECK(tcp_establish(&tls2));
    CHECK_EQ_U(tls2.raddr, RS13);
    CHECK(c13 && c13->persistent == 1 && c13->active == 1);
    CHECK_COUNTERS();
    /* The old connection's client gets its RST; nothing for the removed server's replies. */
    CHECK_EQ_U(from_server(&tls, TH_ACK_, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(from_client(&tls, TH_ACK_, 0), FP_VERDICT_TX_EXT);
    CHECK(l4of(F)[13] & TH_RST_);
    CHECK(flow_conn(&tls) == NULL);
    /* A third connection still follows the live template. */
    struct flow tls3 = { .proto = IPPROTO_TCP, .caddr = CLIENT2, .cport = 50002, .vaddr = VIP, .vport = 443 };
    CHECK_EQ_U(from_client(&tls3, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(tls3.raddr, RS13);
    CHECK_COUNTERS();

    /* Far ahead in one jump, then once more for the templates that outlive their flows. */
    fastpath_tick(&fp, 100000);
    CHECK_COUNTERS();
    fastpath_tick(&fp, 200000);
    CHECK_COUNTERS();
    CHECK_EQ_U(fp.conns.count, 0);
    for (unsigned s = 0; s < svcs.n; s++)
        for (unsigned j = 0; j <= svcs.svc[s].n_rs; j++) {
            const struct real_server *rs = &svcs.svc[s].rs[j];
            CHECK_EQ_U(rs->active + rs->inactive + rs->persistent, 0);
        }
    fpenv_down(&env);
}

/* A server full at its -x limit (and not yet back below 3/4 of it) stays full across an edit of
 * another server; an edit that takes its limit away lets it take connections again. */
static void test_reconfig_keeps_overload(void)
{
    static struct rawlb_config limited, other_weight, unlimited;
    env_up();
    fpenv_parse(&limited, COMMON "-t 198.51.100.10:80 -r 203.0.113.11:80 -x 4 -r 203.0.113.12:80");
    fpenv_parse(&other_weight, COMMON "-t 198.51.100.10:80 -r 203.0.113.11:80 -x 4 -r 203.0.113.12:80:2");
    fpenv_parse(&unlimited, COMMON "-t 198.51.100.10:80 -r 203.0.113.11:80 -r 203.0.113.12:80:2");
    char err[256];
    struct reconfig_result res;
    CHECK(reconfig_apply(&svcs, &limited, &res, err, sizeof err));
    struct real_server *rs11 = rs_by_addr(IPPROTO_TCP, 80, RS11, 80);
    if (!rs11) {
        CHECK(rs11 != NULL);
        return;
    }
    rs11->active = 3; /* between 3/4 of -x and -x: full only if it was full before */
    rs11->overloaded = true;
    CHECK(reconfig_apply(&svcs, &other_weight, &res, err, sizeof err));
    rs11 = rs_by_addr(IPPROTO_TCP, 80, RS11, 80);
    CHECK(rs11 && rs11->overloaded && rs11->active == 3);
    CHECK(reconfig_apply(&svcs, &unlimited, &res, err, sizeof err));
    rs11 = rs_by_addr(IPPROTO_TCP, 80, RS11, 80);
    CHECK(rs11 && !rs11->overloaded);
    if (rs11)
        rs11->active = 0;
    fpenv_down(&env);
}

int main(void)
{
    test_reconfig();
    test_reconfig_template_and_jump();
    test_reconfig_keeps_overload();
    CHECK_DONE();
}
