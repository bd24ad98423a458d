/* test_fastpath: fastpath_handle() offline, the real fast path fed frames built in memory
 * (vnet header, Ethernet, IPv4, TCP/UDP/ICMP; frames.h) with its services parsed from a command
 * line as the daemon's are. Every rewritten frame is checked byte by byte and its checksums are
 * recomputed from scratch with the reference sum; counters (ActiveConn/InActConn, drop reasons)
 * are checked after each step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "testing.h"
#include "config.h"
#include "fastpath.h"
#include "fpenv.h"
#include "frames.h"
#include "neigh.h"
#include "packet.h"
#include "reply.h"
#include "service.h"
#include "uplink.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define VIP IP4(198, 51, 100, 10)
#define VIP2 IP4(198, 51, 100, 20)
#define NAT IP4(203, 0, 113, 1)
#define RS1 IP4(203, 0, 113, 11)
#define RS2 IP4(203, 0, 113, 12)
#define CLIENT IP4(192, 0, 2, 7)
#define ROUTER IP4(192, 0, 2, 254)
#define OTHER IP4(198, 51, 100, 99)

/* Services, in this order (indexes into the service table):
 *   0  TCP VIP:80   wlc  RS1:8080 weight 3, RS2:8080 weight 1
 *   1  UDP VIP:53   wlc  RS1:1053, RS2:1053
 *   2  TCP VIP2:443 wlc  -p 300 -M /24, RS1:8443, RS2:8443
 *   3  UDP VIP2:53  wlc  -o, RS1:2053, RS2:2053
 * Real-server ports differ from the virtual ones so every port rewrite shows. */
#define ARGS                                                                                  \
    "-e ext -i int -n 203.0.113.1 "                                                           \
    "-t 198.51.100.10:80 -r 203.0.113.11:8080:3 -r 203.0.113.12:8080:1 "                      \
    "-u 198.51.100.10:53 -r 203.0.113.11:1053 -r 203.0.113.12:1053 "                          \
    "-t 198.51.100.20:443 -p 300 -M 255.255.255.0 -r 203.0.113.11:8443 -r 203.0.113.12:8443 " \
    "-u 198.51.100.20:53 -o -r 203.0.113.11:2053 -r 203.0.113.12:2053"
enum { SVC_HTTP, SVC_DNS, SVC_PERSIST, SVC_OPS };

#define NOW 100
#define ARP_REQUEST 1
#define ARP_REPLY 2

static const uint8_t ZERO_MAC[6];

static struct rawlb_config cfg;
static struct service_table svcs;
static struct neigh_table neigh;
static struct fastpath fp;
static const struct fpenv env = { &cfg, &svcs, &neigh, &fp };
static uint8_t buf[70000];
#define F (buf + FRAME_VNET_LEN) /* the Ethernet frame in buf */

static uint32_t now_s; /* the clock run() gives the fast path */

static void env_up(uint32_t max_conns, unsigned ext_mtu, unsigned int_mtu)
{
    now_s = NOW;
    struct fpenv_opts o = { .max_conns = max_conns, .ext_mtu = ext_mtu, .int_mtu = int_mtu, .seed = 0x12345678u };
    fpenv_up(&env, ARGS, &o);
}

static void env_down(void) { fpenv_down(&env); }

static struct real_server *rs_at(unsigned svc, unsigned rs) { return &svcs.svc[svc].rs[rs]; }

/* ---- frames ---- */

static size_t out_len;
static enum fp_verdict run(bool from_ext, const struct frame_spec *s)
{
    out_len = frame_build(buf, s);
    return fastpath_handle(&fp, from_ext, buf, &out_len, now_s);
}

static uint32_t o_saddr(void) { return get32(F + 14 + 12); }
static uint32_t o_daddr(void) { return get32(F + 14 + 16); }
static uint16_t o_sport(void) { return get16(l4of(F)); }
static uint16_t o_dport(void) { return get16(l4of(F) + 2); }
static uint8_t o_ttl(void) { return F[14 + 8]; }
static bool o_vnet_zero(void)
{
    static const uint8_t zero[FRAME_VNET_LEN];
    return memcmp(buf, zero, FRAME_VNET_LEN) == 0;
}
static bool mac_is(const uint8_t *at, const uint8_t *mac) { return memcmp(at, mac, 6) == 0; }
static bool o_dmac_is_rs(uint32_t raddr)
{
    uint8_t m[6];
    fpenv_rs_mac(raddr, m);
    return mac_is(F, m);
}

/* A TCP flow as the tests drive it: client side tuple and, once scheduled, its server. */
struct flow {
    uint32_t caddr, vaddr;
    uint16_t cport, vport;
    uint32_t raddr;
    uint16_t rport;
};

static enum fp_verdict tcp_from_client(struct flow *fl, uint8_t flags, size_t payload)
{
    struct frame_spec s = fpenv_client_spec(IPPROTO_TCP, fl->caddr, fl->cport, fl->vaddr, fl->vport);
    s.tcp_flags = flags;
    s.seq = 1000;
    s.ack = (flags & TH_ACK_) ? 5000 : 0;
    s.payload = payload;
    s.frag = IP_DF_;
    enum fp_verdict v = run(true, &s);
    if (v == FP_VERDICT_TX_INT && (flags & TH_SYN_)) {
        fl->raddr = o_daddr();
        fl->rport = o_dport();
    }
    return v;
}

static enum fp_verdict tcp_from_server(const struct flow *fl, uint8_t flags, size_t payload)
{
    struct frame_spec s = fpenv_server_spec(IPPROTO_TCP, fl->raddr, fl->rport, fl->caddr, fl->cport);
    s.tcp_flags = flags;
    s.seq = 5000;
    s.ack = 1001;
    s.payload = payload;
    s.frag = IP_DF_;
    return run(false, &s);
}

/* SYN, SYN-ACK, ACK; true when each step went the right way. */
static bool tcp_establish(struct flow *fl)
{
    return tcp_from_client(fl, TH_SYN_, 0) == FP_VERDICT_TX_INT &&
           tcp_from_server(fl, TH_SYN_ | TH_ACK_, 0) == FP_VERDICT_TX_EXT &&
           tcp_from_client(fl, TH_ACK_, 0) == FP_VERDICT_TX_INT;
}

static struct conn *flow_conn(const struct flow *fl)
{
    return conn_lookup_in(&fp.conns, IPPROTO_TCP, htonl(fl->caddr), htons(fl->cport), htonl(fl->vaddr),
                          htons(fl->vport));
}

/* The frame in buf went to the real server of fl as the client sent it, NATed. */
static void check_to_server(const struct flow *fl, uint8_t ttl_sent, size_t len_sent)
{
    CHECK_EQ_U(out_len, len_sent);
    CHECK(o_dmac_is_rs(fl->raddr));
    CHECK(mac_is(F + 6, INT_MAC));
    CHECK_EQ_U(o_saddr(), fl->caddr);
    CHECK_EQ_U(o_sport(), fl->cport);
    CHECK_EQ_U(o_daddr(), fl->raddr);
    CHECK_EQ_U(o_dport(), fl->rport);
    CHECK_EQ_U(o_ttl(), ttl_sent - 1);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
}

/* The frame in buf went to the client from VIP:vport. */
static void check_to_client(const struct flow *fl, uint8_t ttl_sent, size_t len_sent)
{
    CHECK_EQ_U(out_len, len_sent);
    CHECK(mac_is(F, CLIENT_MAC));
    CHECK(mac_is(F + 6, EXT_MAC));
    CHECK_EQ_U(o_saddr(), fl->vaddr);
    CHECK_EQ_U(o_sport(), fl->vport);
    CHECK_EQ_U(o_daddr(), fl->caddr);
    CHECK_EQ_U(o_dport(), fl->cport);
    CHECK_EQ_U(o_ttl(), ttl_sent - 1);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
}

#define TCP_FRAME_LEN(payload) (FRAME_VNET_LEN + 14 + 20 + 20 + (payload))

/* ---- TCP: one flow through its life ---- */

static void test_tcp_flow(void)
{
    env_up(1024, 1500, 1500);
    struct real_server *r1 = rs_at(SVC_HTTP, 0), *r2 = rs_at(SVC_HTTP, 1);
    struct flow fl = { .caddr = CLIENT, .cport = 40000, .vaddr = VIP, .vport = 80 };

    /* SYN: scheduled (wlc, all idle: the first server), NATed to it. */
    CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fl.raddr, RS1);
    CHECK_EQ_U(fl.rport, 8080);
    check_to_server(&fl, 64, TCP_FRAME_LEN(0));
    CHECK_EQ_U(F[14 + 20 + 13], TH_SYN_);
    CHECK_EQ_U(r1->inactive, 1);
    CHECK_EQ_U(r1->active, 0);
    CHECK_EQ_U(r2->inactive + r2->active, 0);
    CHECK_EQ_U(fp.stats.tx_int, 1);
    CHECK_EQ_U(fp.stats.rx_ext, 1);
    struct conn *c = flow_conn(&fl);
    CHECK(c != NULL);
    CHECK(c && mac_is(c->client_mac, CLIENT_MAC));

    /* SYN-ACK from the server: from VIP:80, to the MAC the client's SYN came from. */
    CHECK_EQ_U(tcp_from_server(&fl, TH_SYN_ | TH_ACK_, 0), FP_VERDICT_TX_EXT);
    check_to_client(&fl, 64, TCP_FRAME_LEN(0));
    CHECK_EQ_U(r1->inactive, 1);
    CHECK_EQ_U(r1->active, 0);

    /* ACK: established. */
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_, 0), FP_VERDICT_TX_INT);
    check_to_server(&fl, 64, TCP_FRAME_LEN(0));
    CHECK_EQ_U(r1->active, 1);
    CHECK_EQ_U(r1->inactive, 0);

    /* Data both ways, odd lengths to exercise the trailing byte of the sum. */
    for (unsigned i = 0; i < 5; i++) {
        CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_ | 0x08, 1 + i * 333), FP_VERDICT_TX_INT);
        check_to_server(&fl, 64, TCP_FRAME_LEN(1 + i * 333));
        CHECK_EQ_U(tcp_from_server(&fl, TH_ACK_ | 0x08, 1447 - i), FP_VERDICT_TX_EXT);
        check_to_client(&fl, 64, TCP_FRAME_LEN(1447 - i));
    }
    CHECK_EQ_U(r1->active, 1);
    fastpath_fold_stats(&fp); /* per-packet counters reach the table when the daemon reads it */
    CHECK_EQ_U(r1->stats.in_pkts, 7);
    CHECK_EQ_U(r1->stats.out_pkts, 6);

    /* Client closes first: FIN, server FIN, last ACK. Inactive from the FIN on. */
    CHECK_EQ_U(tcp_from_client(&fl, TH_FIN_ | TH_ACK_, 0), FP_VERDICT_TX_INT);
    check_to_server(&fl, 64, TCP_FRAME_LEN(0));
    CHECK_EQ_U(r1->active, 0);
    CHECK_EQ_U(r1->inactive, 1);
    CHECK_EQ_U(tcp_from_server(&fl, TH_FIN_ | TH_ACK_, 0), FP_VERDICT_TX_EXT);
    check_to_client(&fl, 64, TCP_FRAME_LEN(0));
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_, 0), FP_VERDICT_TX_INT);
    c = flow_conn(&fl);
    CHECK(c && c->state == TCP_S_TIME_WAIT);
    CHECK_EQ_U(r1->active, 0);
    CHECK_EQ_U(r1->inactive, 1);

    /* A second flow ended by the client's RST. */
    struct flow f2 = { .caddr = CLIENT, .cport = 40001, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&f2));
    struct real_server *r = f2.raddr == RS1 ? r1 : r2;
    CHECK_EQ_U(r->active, 1);
    CHECK_EQ_U(tcp_from_client(&f2, TH_RST_ | TH_ACK_, 0), FP_VERDICT_TX_INT);
    check_to_server(&f2, 64, TCP_FRAME_LEN(0));
    CHECK_EQ_U(r->active, 0);
    c = flow_conn(&f2);
    CHECK(c && c->state == TCP_S_CLOSE);

    /* A third ended by the server's RST. */
    struct flow f3 = { .caddr = CLIENT, .cport = 40002, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&f3));
    CHECK_EQ_U(r1->active + r2->active, 1);
    CHECK_EQ_U(tcp_from_server(&f3, TH_RST_, 0), FP_VERDICT_TX_EXT);
    check_to_client(&f3, 64, TCP_FRAME_LEN(0));
    CHECK_EQ_U(r1->active + r2->active, 0);
    CHECK_EQ_U(r1->inactive + r2->inactive, 3);

    /* Later packets of a flow stay with its server whatever the load does meanwhile. */
    struct flow f4 = { .caddr = CLIENT, .cport = 40003, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&f4));
    for (unsigned i = 0; i < 20; i++) {
        struct flow other = { .caddr = CLIENT, .cport = (uint16_t)(41000 + i), .vaddr = VIP, .vport = 80 };
        CHECK_EQ_U(tcp_from_client(&other, TH_SYN_, 0), FP_VERDICT_TX_INT);
        CHECK_EQ_U(tcp_from_client(&f4, TH_ACK_, 10), FP_VERDICT_TX_INT);
        check_to_server(&f4, 64, TCP_FRAME_LEN(10));
    }
    env_down();
}

/* ---- wlc 3:1 ---- */

static void wlc_case(bool complete)
{
    env_up(2048, 1500, 1500); /* 400 SYNs within the half-open share (a quarter) */
    unsigned n1 = 0, n2 = 0;
    for (unsigned i = 0; i < 400; i++) {
        struct flow fl = { .caddr = CLIENT, .cport = (uint16_t)(10000 + i), .vaddr = VIP, .vport = 80 };
        CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_TX_INT);
        if (fl.raddr == RS1)
            n1++;
        else if (fl.raddr == RS2)
            n2++;
        if (complete) {
            CHECK_EQ_U(tcp_from_server(&fl, TH_SYN_ | TH_ACK_, 0), FP_VERDICT_TX_EXT);
            CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_, 0), FP_VERDICT_TX_INT);
        }
    }
    if (n1 < 296 || n1 > 304 || n2 < 96 || n2 > 104 || n1 + n2 != 400)
        fprintf(stderr, "wlc 3:1 (%s): %u/%u\n", complete ? "established" : "SYN only", n1, n2);
    CHECK(n1 >= 296 && n1 <= 304);
    CHECK(n2 >= 96 && n2 <= 104);
    CHECK_EQ_U(n1 + n2, 400);
    struct real_server *r1 = rs_at(SVC_HTTP, 0), *r2 = rs_at(SVC_HTTP, 1);
    if (complete) {
        CHECK_EQ_U(r1->active, n1);
        CHECK_EQ_U(r2->active, n2);
        CHECK_EQ_U(r1->inactive + r2->inactive, 0);
    } else {
        CHECK_EQ_U(r1->inactive, n1);
        CHECK_EQ_U(r2->inactive, n2);
        CHECK_EQ_U(r1->active + r2->active, 0);
    }
    CHECK_EQ_U(fp.conns.count, 400);
    env_down();
}

static void test_wlc_split(void)
{
    wlc_case(false);
    wlc_case(true);
}

/* ---- drops ---- */

static uint64_t drops_total(void)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < FP_DROP_COUNT; i++)
        n += fp.stats.drops[i];
    return n;
}

/* Sends what is in buf[0..len) and expects a drop for that reason (and no other counter). */
static void expect_drop(bool from_ext, size_t len, enum fp_drop why, int line)
{
    uint64_t before = fp.stats.drops[why], total = drops_total();
    out_len = len;
    enum fp_verdict v = fastpath_handle(&fp, from_ext, buf, &out_len, NOW);
    if (v != FP_VERDICT_DROP || fp.stats.drops[why] != before + 1 || drops_total() != total + 1) {
        fprintf(stderr, "line %d: expected drop %s, got verdict %d, drops[%s] %llu -> %llu\n", line,
                fastpath_drop_name(why), (int)v, fastpath_drop_name(why), (unsigned long long)before,
                (unsigned long long)fp.stats.drops[why]);
        check_failures++;
    }
}
#define EXPECT_DROP(ext, len, why) expect_drop(ext, len, why, __LINE__)

static void ignore_addr(void *arg, uint32_t addr)
{
    (void)arg;
    (void)addr;
}

static void test_drops(void)
{
    env_up(1024, 1500, 1500);
    struct frame_spec s;
    size_t len;

    /* An RST of an unknown flow: never answered (test_unknown_flow_rst has the answered ones). */
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40000, VIP, 80);
    s.tcp_flags = TH_RST_;
    len = frame_build(buf, &s);
    EXPECT_DROP(true, len, FP_DROP_NOT_SYN);
    s.tcp_flags = TH_RST_ | TH_ACK_;
    len = frame_build(buf, &s);
    EXPECT_DROP(true, len, FP_DROP_NOT_SYN);
    CHECK_EQ_U(fp.conns.count, 0);

    /* A real server's packet for no entry. */
    s = fpenv_server_spec(IPPROTO_TCP, RS1, 8080, CLIENT, 40000);
    s.tcp_flags = TH_SYN_ | TH_ACK_;
    len = frame_build(buf, &s);
    EXPECT_DROP(false, len, FP_DROP_NO_CONN);
    s = fpenv_server_spec(IPPROTO_UDP, RS1, 1053, CLIENT, 5000);
    len = frame_build(buf, &s);
    EXPECT_DROP(false, len, FP_DROP_NO_CONN);

    /* No service, and nothing to answer: an RST to a port without a service, a SYN to an
     * address that is not a VIP, another protocol (test_no_service has the answered ones). */
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40000, VIP, 81);
    s.tcp_flags = TH_RST_;
    len = frame_build(buf, &s);
    EXPECT_DROP(true, len, FP_DROP_NO_SERVICE);
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40000, OTHER, 80);
    s.tcp_flags = TH_SYN_;
    len = frame_build(buf, &s);
    EXPECT_DROP(true, len, FP_DROP_NO_SERVICE);
    s = fpenv_client_spec(IPPROTO_UDP, CLIENT, 5000, OTHER, 53);
    len = frame_build(buf, &s);
    EXPECT_DROP(true, len, FP_DROP_NO_SERVICE);
    s = fpenv_client_spec(47 /* GRE */, CLIENT, 0, VIP, 0);
    s.no_l4_header = true;
    s.payload = 16;
    len = frame_build(buf, &s);
    EXPECT_DROP(true, len, FP_DROP_NO_SERVICE);

    /* ICMP to a VIP that is neither echo nor error; echo to a non-VIP. */
    s = fpenv_client_spec(IPPROTO_ICMP, CLIENT, 0, VIP, 0);
    s.icmp_type = 13; /* timestamp */
    s.payload = 12;
    len = frame_build(buf, &s);
    EXPECT_DROP(true, len, FP_DROP_ICMP_OTHER);
    s = fpenv_client_spec(IPPROTO_ICMP, CLIENT, 0, OTHER, 0);
    s.icmp_type = 8;
    s.payload = 8;
    len = frame_build(buf, &s);
    EXPECT_DROP(true, len, FP_DROP_ICMP_OTHER);

    /* TTL 1 cannot be forwarded. */
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40010, VIP, 80);
    s.tcp_flags = TH_SYN_;
    s.ttl = 1;
    len = frame_build(buf, &s);
    EXPECT_DROP(true, len, FP_DROP_TTL);

    /* Every truncation of a valid SYN: dropped as truncated, never read beyond. Copies the
     * frame into a buffer of exactly that size so ASan sees any overread. */
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40020, VIP, 80);
    s.tcp_flags = TH_SYN_;
    s.payload = 7;
    size_t full = frame_build(buf, &s);
    for (size_t n = 0; n < full; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        uint64_t before = fp.stats.drops[FP_DROP_TRUNCATED];
        size_t l = n;
        enum fp_verdict v = fastpath_handle(&fp, true, cut, &l, NOW);
        CHECK_EQ_U(v, FP_VERDICT_DROP);
        CHECK_EQ_U(fp.stats.drops[FP_DROP_TRUNCATED], before + 1);
        free(cut);
    }
    /* ...while the same frame padded (Ethernet minimum, trailing junk) goes through unchanged in size. */
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40021, VIP, 80);
    s.tcp_flags = TH_SYN_;
    len = frame_build(buf, &s);
    memset(buf + len, 0xa5, 20);
    out_len = len + 20;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_INT);
    CHECK_EQ_U(out_len, len + 20);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));

    /* Impossible IP headers. */
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40030, VIP, 80);
    s.tcp_flags = TH_SYN_;
    len = frame_build(buf, &s);
    F[14] = 0x65; /* version 6 */
    EXPECT_DROP(true, len, FP_DROP_BAD_IP);
    len = frame_build(buf, &s);
    F[14] = 0x44; /* header length 16 */
    EXPECT_DROP(true, len, FP_DROP_BAD_IP);
    len = frame_build(buf, &s);
    put16(F + 14 + 2, 19); /* total length below the header */
    EXPECT_DROP(true, len, FP_DROP_BAD_IP);
    len = frame_build(buf, &s);
    put16(F + 14 + 2, 60000); /* beyond the frame */
    EXPECT_DROP(true, len, FP_DROP_TRUNCATED);
    len = frame_build(buf, &s);
    F[14] = 0x4f; /* header length 60 > total length 40 */
    EXPECT_DROP(true, len, FP_DROP_BAD_IP);
    len = frame_build(buf, &s);
    F[14] = 0x4f; /* header length 60, total 60, frame has 40 bytes of IP */
    put16(F + 14 + 2, 60);
    EXPECT_DROP(true, len, FP_DROP_TRUNCATED);
    len = frame_build(buf, &s);
    F[14 + 20 + 12] = 0x40; /* TCP data offset 16 */
    EXPECT_DROP(true, len, FP_DROP_BAD_L4);
    len = frame_build(buf, &s);
    F[14 + 20 + 12] = 0xf0; /* TCP data offset 60 */
    EXPECT_DROP(true, len, FP_DROP_BAD_L4);
    /* Other ethertypes, broken ARP. */
    len = frame_build(buf, &s);
    put16(F + 12, 0x86dd);
    EXPECT_DROP(true, len, FP_DROP_NOT_IPV4);
    len = frame_build_arp(buf, ARP_REQUEST, CLIENT_MAC, (const uint8_t *)"\xff\xff\xff\xff\xff\xff", CLIENT_MAC,
                          CLIENT, ZERO_MAC, VIP);
    put16(F + 14, 6); /* hardware type IEEE 802 */
    EXPECT_DROP(true, len, FP_DROP_ARP_IGNORED);
    EXPECT_DROP(true, FRAME_VNET_LEN + 14 + 10, FP_DROP_ARP_IGNORED);

    /* A real server whose MAC is not known: dropped, and asked for. */
    neigh_init(&neigh);
    neigh_add(&neigh, htonl(RS1));
    neigh_add(&neigh, htonl(RS2));
    neigh_for_each_wanted(&neigh, 0, ignore_addr, NULL);
    CHECK(!neigh.any_wanted);
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40040, VIP, 80);
    s.tcp_flags = TH_SYN_;
    len = frame_build(buf, &s);
    EXPECT_DROP(true, len, FP_DROP_NO_NEIGH);
    CHECK(neigh.any_wanted);
    CHECK_EQ_U(fp.stats.tx_int, 1);
    CHECK_EQ_U(fp.stats.tx_ext, 0);
    env_down();
}

/* ---- UDP ---- */

static enum fp_verdict udp_from_client(struct flow *fl, size_t payload, bool nocsum)
{
    struct frame_spec s = fpenv_client_spec(IPPROTO_UDP, fl->caddr, fl->cport, fl->vaddr, fl->vport);
    s.payload = payload;
    s.udp_nocsum = nocsum;
    enum fp_verdict v = run(true, &s);
    if (v == FP_VERDICT_TX_INT) {
        fl->raddr = o_daddr();
        fl->rport = o_dport();
    }
    return v;
}

static enum fp_verdict udp_from_server(const struct flow *fl, size_t payload, bool nocsum)
{
    struct frame_spec s = fpenv_server_spec(IPPROTO_UDP, fl->raddr, fl->rport, fl->caddr, fl->cport);
    s.payload = payload;
    s.udp_nocsum = nocsum;
    return run(false, &s);
}

#define UDP_FRAME_LEN(payload) (FRAME_VNET_LEN + 14 + 20 + 8 + (payload))

static void test_udp(void)
{
    env_up(1024, 1500, 1500);
    struct flow fl = { .caddr = CLIENT, .cport = 5000, .vaddr = VIP, .vport = 53 };
    CHECK_EQ_U(udp_from_client(&fl, 33, false), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fl.raddr, RS1);
    CHECK_EQ_U(fl.rport, 1053);
    check_to_server(&fl, 64, UDP_FRAME_LEN(33));
    CHECK(l4_check(F) != 0);
    CHECK_EQ_U(rs_at(SVC_DNS, 0)->inactive, 1);
    CHECK_EQ_U(udp_from_server(&fl, 100, false), FP_VERDICT_TX_EXT);
    check_to_client(&fl, 64, UDP_FRAME_LEN(100));
    /* The flow's next datagram: same server (wlc would pick the idle other one). */
    CHECK_EQ_U(udp_from_client(&fl, 34, false), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fl.raddr, RS1);
    check_to_server(&fl, 64, UDP_FRAME_LEN(34));
    CHECK_EQ_U(rs_at(SVC_DNS, 0)->inactive, 1);

    /* Checksum 0 (none) stays 0 both ways. */
    struct flow f2 = { .caddr = CLIENT, .cport = 5001, .vaddr = VIP, .vport = 53 };
    CHECK_EQ_U(udp_from_client(&f2, 40, true), FP_VERDICT_TX_INT);
    CHECK_EQ_U(f2.raddr, RS2);
    CHECK_EQ_U(o_daddr(), RS2);
    CHECK_EQ_U(o_dport(), 1053);
    CHECK(ip_csum_ok(F));
    CHECK_EQ_U(l4_check(F), 0);
    CHECK_EQ_U(udp_from_server(&f2, 41, true), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK_EQ_U(o_sport(), 53);
    CHECK(ip_csum_ok(F));
    CHECK_EQ_U(l4_check(F), 0);
    env_down();

    /* Expiry: an unanswered datagram's entry (not yet a stream) goes after 30 s, and a late
     * reply has nowhere to go. */
    env_up(1024, 1500, 1500);
    struct flow f3 = { .caddr = CLIENT, .cport = 5002, .vaddr = VIP, .vport = 53 };
    CHECK_EQ_U(udp_from_client(&f3, 10, false), FP_VERDICT_TX_INT);
    fastpath_tick(&fp, 29);
    CHECK_EQ_U(fp.conns.count, 1);
    fastpath_tick(&fp, 32);
    CHECK_EQ_U(fp.conns.count, 0);
    CHECK_EQ_U(rs_at(SVC_DNS, 0)->inactive, 0);
    CHECK_EQ_U(udp_from_server(&f3, 10, false), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_CONN], 1);
    env_down();
}

/* ---- partial checksums and GSO superframes ---- */

static void test_partial_and_gso(void)
{
    env_up(1024, 1500, 1500);
    struct flow fl = { .caddr = CLIENT, .cport = 40100, .vaddr = VIP, .vport = 80 };
    struct frame_spec s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40100, VIP, 80);
    s.tcp_flags = TH_SYN_;
    s.partial_csum = true;
    out_len = frame_build(buf, &s);
    uint8_t vnet_in[FRAME_VNET_LEN];
    memcpy(vnet_in, buf, sizeof vnet_in);
    uint16_t field_in = get16(l4of(F) + 16);
    CHECK_EQ_U(field_in, ref_fold(pseudo_sum(F))); /* the builder did what it says */
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_INT);
    CHECK_EQ_U(o_daddr(), RS1);
    CHECK_EQ_U(o_dport(), 8080);
    CHECK(ip_csum_ok(F));
    /* The field is the pseudo-header sum for the new address: not complemented, no port in it. */
    CHECK_EQ_U(get16(l4of(F) + 16), ref_fold(pseudo_sum(F)));
    CHECK(get16(l4of(F) + 16) != field_in);
    CHECK(memcmp(buf, vnet_in, sizeof vnet_in) == 0);
    fl.raddr = RS1;
    fl.rport = 8080;

    /* The server's partial SYN-ACK: the field follows the new source address. */
    s = fpenv_server_spec(IPPROTO_TCP, RS1, 8080, CLIENT, 40100);
    s.tcp_flags = TH_SYN_ | TH_ACK_;
    s.partial_csum = true;
    out_len = frame_build(buf, &s);
    memcpy(vnet_in, buf, sizeof vnet_in);
    CHECK_EQ_U(fastpath_handle(&fp, false, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK_EQ_U(o_sport(), 80);
    CHECK(ip_csum_ok(F));
    CHECK_EQ_U(get16(l4of(F) + 16), ref_fold(pseudo_sum(F)));
    CHECK(memcmp(buf, vnet_in, sizeof vnet_in) == 0);
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_, 0), FP_VERDICT_TX_INT);

    /* A 20000-byte TSO superframe from the client: passes whole, vnet header untouched. */
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40100, VIP, 80);
    s.tcp_flags = TH_ACK_ | 0x08;
    s.frag = IP_DF_;
    s.payload = 20000 - 40;
    s.partial_csum = true;
    s.vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    s.vnet.gso_size = 1448;
    s.vnet.hdr_len = 14 + 20 + 20;
    out_len = frame_build(buf, &s);
    size_t len_in = out_len;
    memcpy(vnet_in, buf, sizeof vnet_in);
    CHECK_EQ_U(totof(F), 20000);
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_INT);
    CHECK_EQ_U(out_len, len_in);
    CHECK(memcmp(buf, vnet_in, sizeof vnet_in) == 0);
    CHECK(o_dmac_is_rs(RS1));
    CHECK_EQ_U(o_daddr(), RS1);
    CHECK_EQ_U(o_dport(), 8080);
    CHECK_EQ_U(o_ttl(), 63);
    CHECK(ip_csum_ok(F));
    CHECK_EQ_U(get16(l4of(F) + 16), ref_fold(pseudo_sum(F)));

    /* ...and a 60000-byte one back from the server. */
    s = fpenv_server_spec(IPPROTO_TCP, RS1, 8080, CLIENT, 40100);
    s.tcp_flags = TH_ACK_;
    s.frag = IP_DF_;
    s.payload = 60000 - 40;
    s.partial_csum = true;
    s.vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    s.vnet.gso_size = 1448;
    s.vnet.hdr_len = 14 + 20 + 20;
    out_len = frame_build(buf, &s);
    len_in = out_len;
    memcpy(vnet_in, buf, sizeof vnet_in);
    CHECK_EQ_U(fastpath_handle(&fp, false, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(out_len, len_in);
    CHECK(memcmp(buf, vnet_in, sizeof vnet_in) == 0);
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK_EQ_U(o_sport(), 80);
    CHECK(ip_csum_ok(F));
    CHECK_EQ_U(get16(l4of(F) + 16), ref_fold(pseudo_sum(F)));

    /* A GSO type with no segment size cannot be right. */
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40100, VIP, 80);
    s.tcp_flags = TH_ACK_;
    s.payload = 5000;
    s.partial_csum = true;
    s.vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    s.vnet.gso_size = 0;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_GSO_BAD);
    env_down();
}

/* ---- ARP ---- */

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void check_arp_reply(const uint8_t *to_mac, uint32_t to_ip, const uint8_t *our_mac, uint32_t our_ip)
{
    const uint8_t *a = F + 14;
    CHECK(o_vnet_zero());
    CHECK(mac_is(F, to_mac));
    CHECK(mac_is(F + 6, our_mac));
    CHECK_EQ_U(get16(F + 12), 0x0806);
    CHECK_EQ_U(get16(a), 1);
    CHECK_EQ_U(get16(a + 2), 0x0800);
    CHECK_EQ_U(a[4], 6);
    CHECK_EQ_U(a[5], 4);
    CHECK_EQ_U(get16(a + 6), ARP_REPLY);
    CHECK(mac_is(a + 8, our_mac));
    CHECK_EQ_U(get32(a + 14), our_ip);
    CHECK(mac_is(a + 18, to_mac));
    CHECK_EQ_U(get32(a + 24), to_ip);
}

static void test_arp(void)
{
    env_up(1024, 1500, 1500);
    size_t len;
    uint8_t rs1_mac[6];
    fpenv_rs_mac(RS1, rs1_mac);

    /* Who has the VIP (ext): we do. */
    len = frame_build_arp(buf, ARP_REQUEST, CLIENT_MAC, BCAST, CLIENT_MAC, CLIENT, ZERO_MAC, VIP);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(out_len, len);
    check_arp_reply(CLIENT_MAC, CLIENT, EXT_MAC, VIP);
    /* The other VIP too. */
    len = frame_build_arp(buf, ARP_REQUEST, CLIENT_MAC, BCAST, CLIENT_MAC, CLIENT, ZERO_MAC, VIP2);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    check_arp_reply(CLIENT_MAC, CLIENT, EXT_MAC, VIP2);

    /* Who has the NAT router address (int), asked by a real server. */
    len = frame_build_arp(buf, ARP_REQUEST, rs1_mac, BCAST, rs1_mac, RS1, ZERO_MAC, NAT);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, false, buf, &out_len, NOW), FP_VERDICT_TX_INT);
    check_arp_reply(rs1_mac, RS1, INT_MAC, NAT);
    CHECK_EQ_U(fp.stats.arp_replies, 3);

    /* Not ours, or asked on the wrong side. */
    len = frame_build_arp(buf, ARP_REQUEST, CLIENT_MAC, BCAST, CLIENT_MAC, CLIENT, ZERO_MAC, OTHER);
    EXPECT_DROP(true, len, FP_DROP_ARP_IGNORED);
    len = frame_build_arp(buf, ARP_REQUEST, CLIENT_MAC, BCAST, CLIENT_MAC, CLIENT, ZERO_MAC, NAT);
    EXPECT_DROP(true, len, FP_DROP_ARP_IGNORED);
    len = frame_build_arp(buf, ARP_REQUEST, rs1_mac, BCAST, rs1_mac, RS1, ZERO_MAC, VIP);
    EXPECT_DROP(false, len, FP_DROP_ARP_IGNORED);
    len = frame_build_arp(buf, ARP_REQUEST, rs1_mac, BCAST, rs1_mac, RS1, ZERO_MAC, RS2);
    EXPECT_DROP(false, len, FP_DROP_ARP_IGNORED);
    /* A reply for the VIP is not a request. */
    len = frame_build_arp(buf, ARP_REPLY, CLIENT_MAC, EXT_MAC, CLIENT_MAC, CLIENT, EXT_MAC, VIP);
    EXPECT_DROP(true, len, FP_DROP_ARP_IGNORED);
    CHECK_EQ_U(fp.stats.arp_replies, 3);

    /* A real server's ARP reply on int teaches its new MAC, which new flows then use. */
    static const uint8_t new_mac[6] = { 0x02, 0xbb, 0xbb, 0xbb, 0xbb, 0x0b };
    len = frame_build_arp(buf, ARP_REPLY, new_mac, INT_MAC, new_mac, RS1, INT_MAC, NAT);
    EXPECT_DROP(false, len, FP_DROP_ARP_IGNORED); /* consumed, nothing to send */
    const uint8_t *m = neigh_lookup(&neigh, htonl(RS1));
    CHECK(m && mac_is(m, new_mac));
    struct flow fl = { .caddr = CLIENT, .cport = 40200, .vaddr = VIP, .vport = 80 };
    CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fl.raddr, RS1);
    CHECK(mac_is(F, new_mac));
    /* The same from the client side teaches nothing. */
    static const uint8_t evil_mac[6] = { 0x02, 0x66, 0x66, 0x66, 0x66, 0x66 };
    len = frame_build_arp(buf, ARP_REPLY, evil_mac, EXT_MAC, evil_mac, RS1, EXT_MAC, VIP);
    EXPECT_DROP(true, len, FP_DROP_ARP_IGNORED);
    m = neigh_lookup(&neigh, htonl(RS1));
    CHECK(m && mac_is(m, new_mac));
    /* A request from a real server also teaches its MAC. */
    static const uint8_t newer_mac[6] = { 0x02, 0xbb, 0xbb, 0xbb, 0xbb, 0xbc };
    len = frame_build_arp(buf, ARP_REQUEST, newer_mac, BCAST, newer_mac, RS1, ZERO_MAC, NAT);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, false, buf, &out_len, NOW), FP_VERDICT_TX_INT);
    m = neigh_lookup(&neigh, htonl(RS1));
    CHECK(m && mac_is(m, newer_mac));
    env_down();

    /* When the NAT router address is the kernel's, we leave its ARP to the kernel. */
    env_up(1024, 1500, 1500);
    fp.cfg.answer_arp_nat = false;
    len = frame_build_arp(buf, ARP_REQUEST, rs1_mac, BCAST, rs1_mac, RS1, ZERO_MAC, NAT);
    EXPECT_DROP(false, len, FP_DROP_ARP_IGNORED);
    env_down();
}

/* ---- ICMP echo ---- */

static void test_echo(void)
{
    env_up(1024, 1500, 1500);
    uint8_t payload[56];
    for (unsigned i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(0xa0 + i);
    struct frame_spec s = fpenv_client_spec(IPPROTO_ICMP, CLIENT, 0, VIP, 0);
    s.icmp_type = 8;
    s.icmp_rest = 0x12340001;
    s.data = payload;
    s.payload = sizeof payload;
    s.ttl = 50;
    size_t len = frame_build(buf, &s);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(out_len, len);
    CHECK(o_vnet_zero());
    CHECK(mac_is(F, CLIENT_MAC));
    CHECK(mac_is(F + 6, EXT_MAC));
    CHECK_EQ_U(F[14 + 9], IPPROTO_ICMP);
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK_EQ_U(o_daddr(), CLIENT);
    CHECK_EQ_U(totof(F), 20 + 8 + sizeof payload);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
    CHECK_EQ_U(l4of(F)[0], 0);
    CHECK_EQ_U(l4of(F)[1], 0);
    CHECK_EQ_U(get32(l4of(F) + 4), 0x12340001);
    CHECK(memcmp(l4of(F) + 8, payload, sizeof payload) == 0);
    CHECK_EQ_U(fp.stats.echo_replies, 1);
    /* An odd-length echo to the other VIP. */
    s.daddr = VIP2;
    s.payload = 13;
    len = frame_build(buf, &s);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(o_saddr(), VIP2);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
    CHECK(memcmp(l4of(F) + 8, payload, 13) == 0);
    env_down();
}

/* ---- DF and the egress MTU ---- */

static void test_too_big(void)
{
    env_up(1024, 1500, 1200);
    struct frame_spec s = fpenv_client_spec(IPPROTO_UDP, CLIENT, 7000, VIP, 53);
    s.frag = IP_DF_;
    s.payload = 1400 - 28;
    size_t len = frame_build(buf, &s);
    uint8_t orig[28];
    memcpy(orig, F + 14, sizeof orig);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(out_len, FRAME_VNET_LEN + 14 + 20 + 8 + 28);
    CHECK(o_vnet_zero());
    CHECK(mac_is(F, CLIENT_MAC));
    CHECK(mac_is(F + 6, EXT_MAC));
    CHECK_EQ_U(F[14 + 9], IPPROTO_ICMP);
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK_EQ_U(o_daddr(), CLIENT);
    CHECK_EQ_U(totof(F), 56);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
    CHECK_EQ_U(l4of(F)[0], 3);
    CHECK_EQ_U(l4of(F)[1], 4);
    CHECK_EQ_U(get16(l4of(F) + 4), 0);
    CHECK_EQ_U(get16(l4of(F) + 6), 1200);
    CHECK(memcmp(l4of(F) + 8, orig, sizeof orig) == 0); /* daddr still the VIP, TTL as sent */
    CHECK_EQ_U(fp.stats.icmp_too_big_sent, 1);

    /* Without DF: dropped (we do not fragment). */
    s.frag = 0;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_TOO_BIG);
    /* Exactly the MTU passes. */
    s.frag = IP_DF_;
    s.payload = 1200 - 28;
    CHECK_EQ_U(run(true, &s), FP_VERDICT_TX_INT);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
    /* A GSO superframe whose segments are too big for the internal link. */
    struct flow fl = { .caddr = CLIENT, .cport = 40300, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&fl));
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40300, VIP, 80);
    s.tcp_flags = TH_ACK_;
    s.frag = 0;
    s.payload = 10000;
    s.partial_csum = true;
    s.vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    s.vnet.gso_size = 1448;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_TOO_BIG);
    s.vnet.gso_size = 1160; /* 20 + 20 + 1160 = 1200 */
    CHECK_EQ_U(run(true, &s), FP_VERDICT_TX_INT);
    env_down();

    /* The other way: a server's reply too big for the external link, answered from the NAT
     * router address towards the server. */
    env_up(1024, 1200, 1500);
    struct flow f2 = { .caddr = CLIENT, .cport = 7001, .vaddr = VIP, .vport = 53 };
    CHECK_EQ_U(udp_from_client(&f2, 20, false), FP_VERDICT_TX_INT);
    s = fpenv_server_spec(IPPROTO_UDP, f2.raddr, f2.rport, CLIENT, 7001);
    s.frag = IP_DF_;
    s.payload = 1400 - 28;
    len = frame_build(buf, &s);
    memcpy(orig, F + 14, sizeof orig);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, false, buf, &out_len, NOW), FP_VERDICT_TX_INT);
    CHECK(o_dmac_is_rs(f2.raddr));
    CHECK(mac_is(F + 6, INT_MAC));
    CHECK_EQ_U(o_saddr(), NAT);
    CHECK_EQ_U(o_daddr(), f2.raddr);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
    CHECK_EQ_U(l4of(F)[0], 3);
    CHECK_EQ_U(l4of(F)[1], 4);
    CHECK_EQ_U(get16(l4of(F) + 6), 1200);
    CHECK(memcmp(l4of(F) + 8, orig, sizeof orig) == 0);
    env_down();
}

/* ---- ICMP errors about balanced flows ---- */

static void test_icmp_translation(void)
{
    env_up(1024, 1500, 1500);

    /* Port unreachable from a real server about a UDP datagram it got from us. */
    struct flow fl = { .caddr = CLIENT, .cport = 5001, .vaddr = VIP, .vport = 53 };
    struct frame_spec s = fpenv_client_spec(IPPROTO_UDP, CLIENT, 5001, VIP, 53);
    s.payload = 30;
    size_t len = frame_build(buf, &s);
    uint8_t sent[28], rcvd[28];
    memcpy(sent, F + 14, sizeof sent);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_INT);
    fl.raddr = o_daddr();
    fl.rport = o_dport();
    memcpy(rcvd, F + 14, sizeof rcvd); /* what the server quotes */
    s = fpenv_server_spec(IPPROTO_ICMP, fl.raddr, 0, CLIENT, 0);
    s.icmp_type = 3;
    s.icmp_code = 3;
    s.data = rcvd;
    s.payload = sizeof rcvd;
    len = frame_build(buf, &s);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, false, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(out_len, len);
    CHECK(mac_is(F, CLIENT_MAC));
    CHECK(mac_is(F + 6, EXT_MAC));
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK_EQ_U(o_daddr(), CLIENT);
    CHECK_EQ_U(o_ttl(), 63);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
    uint8_t *q = l4of(F) + 8;
    CHECK_EQ_U(l4of(F)[0], 3);
    CHECK_EQ_U(l4of(F)[1], 3);
    CHECK_EQ_U(get32(q + 12), CLIENT);
    CHECK_EQ_U(get32(q + 16), VIP);
    CHECK_EQ_U(get16(q + 20), 5001);
    CHECK_EQ_U(get16(q + 22), 53);
    CHECK_EQ_U(ref_fold(ref_sum(q, 20, 0)), 0xffff);
    /* The quote is what the client sent, but for the TTL our forwarding took. */
    CHECK(memcmp(q, sent, 8) == 0);
    CHECK_EQ_U(q[8], sent[8] - 1);
    CHECK(memcmp(q + 9, sent + 9, 1) == 0);
    CHECK(memcmp(q + 12, sent + 12, 16) == 0); /* addresses, ports, UDP length and checksum */
    CHECK_EQ_U(fp.stats.icmp_translated, 1);

    /* Fragmentation needed from a router on the client side about what we sent the client. */
    struct flow f2 = { .caddr = CLIENT, .cport = 40400, .vaddr = VIP, .vport = 80 };
    CHECK_EQ_U(tcp_from_client(&f2, TH_SYN_, 0), FP_VERDICT_TX_INT);
    s = fpenv_server_spec(IPPROTO_TCP, f2.raddr, f2.rport, CLIENT, 40400);
    s.tcp_flags = TH_SYN_ | TH_ACK_;
    s.seq = 777777;
    s.ack = 1001;
    s.frag = IP_DF_;
    len = frame_build(buf, &s);
    uint8_t server_sent[28], client_got[28];
    memcpy(server_sent, F + 14, sizeof server_sent);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, false, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    memcpy(client_got, F + 14, sizeof client_got);
    s = fpenv_client_spec(IPPROTO_ICMP, ROUTER, 0, VIP, 0);
    s.icmp_type = 3;
    s.icmp_code = 4;
    s.icmp_rest = 1400;
    s.data = client_got;
    s.payload = sizeof client_got;
    len = frame_build(buf, &s);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_INT);
    CHECK_EQ_U(out_len, len);
    CHECK(o_dmac_is_rs(f2.raddr));
    CHECK(mac_is(F + 6, INT_MAC));
    CHECK_EQ_U(o_saddr(), ROUTER);
    CHECK_EQ_U(o_daddr(), f2.raddr);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
    q = l4of(F) + 8;
    CHECK_EQ_U(get16(l4of(F) + 6), 1400);
    CHECK_EQ_U(get32(q + 12), f2.raddr);
    CHECK_EQ_U(get32(q + 16), CLIENT);
    CHECK_EQ_U(get16(q + 20), f2.rport);
    CHECK_EQ_U(get16(q + 22), 40400);
    CHECK_EQ_U(ref_fold(ref_sum(q, 20, 0)), 0xffff);
    CHECK(memcmp(q, server_sent, 8) == 0);
    CHECK(memcmp(q + 12, server_sent + 12, 16) == 0);
    CHECK_EQ_U(fp.stats.icmp_translated, 2);

    /* A longer quote (Linux quotes up to 576 bytes) holds the TCP checksum: restored too. */
    CHECK_EQ_U(tcp_from_client(&f2, TH_ACK_, 0), FP_VERDICT_TX_INT);
    {
        s = fpenv_server_spec(IPPROTO_TCP, f2.raddr, f2.rport, CLIENT, 40400);
        s.tcp_flags = TH_ACK_ | 0x08;
        s.seq = 777778;
        s.ack = 1001;
        s.payload = 31;
        s.frag = IP_DF_;
        len = frame_build(buf, &s);
        uint8_t srv[40 + 31], cli[40 + 31];
        memcpy(srv, F + 14, sizeof srv);
        out_len = len;
        CHECK_EQ_U(fastpath_handle(&fp, false, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
        memcpy(cli, F + 14, sizeof cli);
        s = fpenv_client_spec(IPPROTO_ICMP, ROUTER, 0, VIP, 0);
        s.icmp_type = 11; /* time exceeded */
        s.data = cli;
        s.payload = sizeof cli;
        len = frame_build(buf, &s);
        out_len = len;
        CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_INT);
        q = l4of(F) + 8;
        CHECK(ip_csum_ok(F));
        CHECK(l4_csum_ok(F));
        CHECK_EQ_U(ref_fold(ref_sum(q, 20, 0)), 0xffff);
        CHECK(memcmp(q, srv, 8) == 0);
        CHECK(memcmp(q + 12, srv + 12, sizeof srv - 12) == 0); /* TCP header with its checksum, data */
    }

    /* Errors about flows we do not have. */
    rcvd[22] ^= 0x55; /* another client port */
    s = fpenv_server_spec(IPPROTO_ICMP, fl.raddr, 0, CLIENT, 0);
    s.icmp_type = 3;
    s.icmp_code = 3;
    s.data = rcvd;
    s.payload = sizeof rcvd;
    EXPECT_DROP(false, frame_build(buf, &s), FP_DROP_ICMP_UNTRACKED);
    client_got[22] ^= 0x55;
    s = fpenv_client_spec(IPPROTO_ICMP, ROUTER, 0, VIP, 0);
    s.icmp_type = 3;
    s.icmp_code = 4;
    s.icmp_rest = 1400;
    s.data = client_got;
    s.payload = sizeof client_got;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_ICMP_UNTRACKED);
    env_down();
}

/* ---- fragments ---- */

/* A UDP datagram of 8 + 1000 bytes from the client in two fragments (600 + 408 bytes of it). */
static void send_fragments(uint16_t cport, uint16_t id, uint32_t *first_to, uint32_t *second_to)
{
    struct frame_spec s = fpenv_client_spec(IPPROTO_UDP, CLIENT, cport, VIP, 53);
    s.ip_id = id;
    s.frag = IP_MF_;
    s.payload = 592;
    s.udp_len = 1008;
    *first_to = *second_to = 0;
    if (run(true, &s) == FP_VERDICT_TX_INT) {
        *first_to = o_daddr();
        CHECK_EQ_U(o_dport(), 1053);
        CHECK(ip_csum_ok(F));
    } else {
        CHECK(0 && "first fragment forwarded");
    }
    s = fpenv_client_spec(IPPROTO_UDP, CLIENT, cport, VIP, 53);
    s.ip_id = id;
    s.frag = 600 / 8;
    s.no_l4_header = true;
    s.payload = 408;
    size_t len = frame_build(buf, &s);
    uint8_t data[408];
    memcpy(data, F + 14 + 20, sizeof data);
    out_len = len;
    if (fastpath_handle(&fp, true, buf, &out_len, NOW) == FP_VERDICT_TX_INT) {
        *second_to = o_daddr();
        CHECK_EQ_U(out_len, len);
        CHECK(ip_csum_ok(F));
        CHECK_EQ_U(get16(F + 14 + 6), 600 / 8);
        CHECK(memcmp(F + 14 + 20, data, sizeof data) == 0); /* no "ports" rewritten in it */
    } else {
        CHECK(0 && "second fragment forwarded");
    }
}

static void test_fragments(void)
{
    env_up(1024, 1500, 1500);
    uint32_t a1, a2, b1, b2;
    send_fragments(6000, 0x1111, &a1, &a2);
    send_fragments(6001, 0x2222, &b1, &b2);
    CHECK_EQ_U(a1, RS1);
    CHECK_EQ_U(a2, RS1);
    CHECK_EQ_U(b1, RS2); /* wlc: the other one was busy */
    CHECK_EQ_U(b2, RS2);

    /* A later fragment whose first we never saw. */
    struct frame_spec s = fpenv_client_spec(IPPROTO_UDP, CLIENT, 6000, VIP, 53);
    s.ip_id = 0x3333;
    s.frag = 75;
    s.no_l4_header = true;
    s.payload = 100;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_FRAG_UNKNOWN);
    /* ... or whose first came from another client. */
    s.saddr = ROUTER;
    s.ip_id = 0x1111;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_FRAG_UNKNOWN);

    /* The server's reply in two fragments goes back from the VIP. */
    s = fpenv_server_spec(IPPROTO_UDP, RS1, 1053, CLIENT, 6000);
    s.ip_id = 0x4444;
    s.frag = IP_MF_;
    s.payload = 1472;
    s.udp_len = 8 + 2000;
    CHECK_EQ_U(run(false, &s), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK_EQ_U(o_sport(), 53);
    CHECK(ip_csum_ok(F));
    s = fpenv_server_spec(IPPROTO_UDP, RS1, 1053, CLIENT, 6000);
    s.ip_id = 0x4444;
    s.frag = 1480 / 8;
    s.no_l4_header = true;
    s.payload = 528;
    CHECK_EQ_U(run(false, &s), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK(mac_is(F, CLIENT_MAC));
    CHECK(ip_csum_ok(F));
    env_down();
}

/* ---- flows rawlb dropped (conn_mark_reset) and reused tuples ---- */

static void test_reset(void)
{
    env_up(1024, 1500, 1500);
    struct flow fl = { .caddr = CLIENT, .cport = 40500, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&fl));
    struct real_server *r = rs_at(SVC_HTTP, fl.raddr == RS1 ? 0 : 1);
    CHECK_EQ_U(r->active, 1);
    struct conn *c = flow_conn(&fl);
    CHECK(c != NULL);
    if (!c) {
        env_down();
        return;
    }
    conn_mark_reset(&fp.conns, c);

    /* The server's packets for it go nowhere now. */
    CHECK_EQ_U(tcp_from_server(&fl, TH_ACK_, 10), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_CONN], 1);

    /* The client's next segment is answered with an RST from VIP:80. */
    struct frame_spec s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 40500, VIP, 80);
    s.tcp_flags = TH_ACK_ | 0x08;
    s.seq = 123456;
    s.ack = 987654;
    s.payload = 100;
    CHECK_EQ_U(run(true, &s), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(out_len, TCP_FRAME_LEN(0));
    CHECK(o_vnet_zero());
    CHECK(mac_is(F, CLIENT_MAC));
    CHECK(mac_is(F + 6, EXT_MAC));
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK_EQ_U(o_daddr(), CLIENT);
    CHECK_EQ_U(o_sport(), 80);
    CHECK_EQ_U(o_dport(), 40500);
    CHECK_EQ_U(totof(F), 40);
    CHECK_EQ_U(l4of(F)[13], TH_RST_);
    CHECK_EQ_U(get32(l4of(F) + 4), 987654);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
    CHECK_EQ_U(fp.stats.resets_sent, 1);
    CHECK(flow_conn(&fl) == NULL);
    CHECK_EQ_U(r->active + r->inactive, 0);
    /* ... and the one after that is just an unknown flow: an RST again, no entry. */
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_, 0), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(l4of(F)[13], TH_RST_);
    CHECK_EQ_U(fp.stats.resets_sent, 2);
    CHECK(flow_conn(&fl) == NULL);

    /* A SYN on a reset entry is scheduled afresh. */
    CHECK(tcp_establish(&fl));
    c = flow_conn(&fl);
    CHECK(c != NULL);
    if (c)
        conn_mark_reset(&fp.conns, c);
    uint64_t created = fp.conns.stats.created;
    CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fp.conns.stats.created, created + 1);
    c = flow_conn(&fl);
    CHECK(c && !(c->flags & CONN_F_RESET) && c->state == TCP_S_SYN_RECV);
    CHECK_EQ_U(fp.conns.count, 1);
    CHECK_EQ_U(fp.stats.resets_sent, 2);
    /* An RST from the client on a reset entry gets no RST back. */
    if (c)
        conn_mark_reset(&fp.conns, c);
    CHECK_EQ_U(tcp_from_client(&fl, TH_RST_, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NOT_SYN], 1);
    CHECK_EQ_U(fp.stats.resets_sent, 2);
    CHECK(flow_conn(&fl) == NULL);
    env_down();
}

static void test_reuse(void)
{
    env_up(1024, 1500, 1500);
    struct real_server *r1 = rs_at(SVC_HTTP, 0), *r2 = rs_at(SVC_HTTP, 1);

    /* TIME_WAIT: closed by FINs both ways. */
    struct flow fl = { .caddr = CLIENT, .cport = 40600, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&fl));
    CHECK_EQ_U(tcp_from_client(&fl, TH_FIN_ | TH_ACK_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(tcp_from_server(&fl, TH_FIN_ | TH_ACK_, 0), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_, 0), FP_VERDICT_TX_INT);
    struct conn *c = flow_conn(&fl);
    CHECK(c && c->state == TCP_S_TIME_WAIT);
    uint64_t created = fp.conns.stats.created;
    CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_TX_INT);
    check_to_server(&fl, 64, TCP_FRAME_LEN(0));
    CHECK_EQ_U(fp.conns.stats.created, created + 1);
    c = flow_conn(&fl);
    CHECK(c && c->state == TCP_S_SYN_RECV);
    CHECK(c && c->daddr == htonl(fl.raddr));
    CHECK_EQ_U(fp.conns.count, 1);
    CHECK_EQ_U(r1->inactive + r2->inactive, 1);
    CHECK_EQ_U(r1->active + r2->active, 0);

    /* CLOSE: ended by an RST. */
    struct flow f2 = { .caddr = CLIENT, .cport = 40601, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&f2));
    CHECK_EQ_U(tcp_from_server(&f2, TH_RST_, 0), FP_VERDICT_TX_EXT);
    c = flow_conn(&f2);
    CHECK(c && c->state == TCP_S_CLOSE);
    created = fp.conns.stats.created;
    CHECK_EQ_U(tcp_from_client(&f2, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fp.conns.stats.created, created + 1);
    c = flow_conn(&f2);
    CHECK(c && c->state == TCP_S_SYN_RECV);
    CHECK_EQ_U(fp.conns.count, 2);
    CHECK_EQ_U(r1->inactive + r2->inactive, 2);

    /* A SYN on a live (established) entry is a retransmission: same entry, same server. */
    struct flow f3 = { .caddr = CLIENT, .cport = 40602, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&f3));
    uint32_t to = f3.raddr;
    created = fp.conns.stats.created;
    CHECK_EQ_U(tcp_from_client(&f3, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fp.conns.stats.created, created);
    CHECK_EQ_U(f3.raddr, to);
    env_down();
}

/* ---- table full ---- */

/* ---- overload: which stale frames are still forwarded (fastpath_of_stream) ---- */

/* The frame a client (or, !from_ext, the flow's server) would send now is of an established flow. */
static bool of_stream(const struct flow *fl, bool from_ext, uint8_t proto)
{
    struct frame_spec s = from_ext ? fpenv_client_spec(proto, fl->caddr, fl->cport, fl->vaddr, fl->vport)
                                   : fpenv_server_spec(proto, fl->raddr, fl->rport, fl->caddr, fl->cport);
    s.tcp_flags = TH_ACK_;
    s.payload = 10;
    size_t len = frame_build(buf, &s);
    return fastpath_of_stream(&fp, from_ext, buf, len, now_s);
}

static void test_of_stream(void)
{
    env_up(1024, 1500, 1500);
    struct flow tcp = { .caddr = CLIENT, .cport = 41000, .vaddr = VIP, .vport = 80 };
    struct flow udp = { .caddr = CLIENT, .cport = 41001, .vaddr = VIP, .vport = 53 };
    CHECK(!of_stream(&tcp, true, IPPROTO_TCP)); /* no entry */
    CHECK_EQ_U(tcp_from_client(&tcp, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK(!of_stream(&tcp, true, IPPROTO_TCP) && !of_stream(&tcp, false, IPPROTO_TCP)); /* half-open */
    CHECK_EQ_U(tcp_from_server(&tcp, TH_SYN_ | TH_ACK_, 0), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(tcp_from_client(&tcp, TH_ACK_, 0), FP_VERDICT_TX_INT);
    CHECK(of_stream(&tcp, true, IPPROTO_TCP) && of_stream(&tcp, false, IPPROTO_TCP));
    CHECK_EQ_U(udp_from_client(&udp, 10, false), FP_VERDICT_TX_INT);
    CHECK_EQ_U(udp_from_server(&udp, 10, false), FP_VERDICT_TX_EXT);
    CHECK(!of_stream(&udp, true, IPPROTO_UDP)); /* one exchange: not yet a stream */
    CHECK_EQ_U(udp_from_client(&udp, 10, false), FP_VERDICT_TX_INT);
    CHECK(of_stream(&udp, true, IPPROTO_UDP) && of_stream(&udp, false, IPPROTO_UDP));
    uint64_t rx = fp.stats.rx_ext + fp.stats.rx_int;
    CHECK_EQ_U(tcp_from_client(&tcp, TH_RST_, 0), FP_VERDICT_TX_INT);
    CHECK(!of_stream(&tcp, true, IPPROTO_TCP)); /* closed */
    CHECK_EQ_U(fp.stats.rx_ext + fp.stats.rx_int, rx + 1); /* asking counted nothing */
    env_down();
}

static void test_table_full(void)
{
    env_up(4, 1500, 1500);
    struct flow fl[5];
    for (unsigned i = 0; i < 4; i++) {
        fl[i] = (struct flow){ .caddr = CLIENT, .cport = (uint16_t)(40700 + i), .vaddr = VIP, .vport = 80 };
        CHECK(tcp_establish(&fl[i]));
    }
    fl[4] = (struct flow){ .caddr = CLIENT, .cport = 40704, .vaddr = VIP, .vport = 80 };
    CHECK_EQ_U(tcp_from_client(&fl[4], TH_SYN_, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_TABLE_FULL], 1);
    struct frame_spec s = fpenv_client_spec(IPPROTO_UDP, CLIENT, 5000, VIP, 53);
    s.payload = 10;
    CHECK_EQ_U(run(true, &s), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_TABLE_FULL], 2);
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ_U(tcp_from_client(&fl[i], TH_ACK_, 50), FP_VERDICT_TX_INT);
        check_to_server(&fl[i], 64, TCP_FRAME_LEN(50));
        CHECK_EQ_U(tcp_from_server(&fl[i], TH_ACK_, 60), FP_VERDICT_TX_EXT);
        check_to_client(&fl[i], 64, TCP_FRAME_LEN(60));
    }
    /* One closes: a closed flow's entry makes room before any established one. */
    CHECK_EQ_U(tcp_from_client(&fl[0], TH_RST_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(tcp_from_client(&fl[4], TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fp.conns.stats.evicted[CONN_C_CLOSED], 1);
    CHECK(flow_conn(&fl[0]) == NULL);
    /* A new flow then takes the place of the half-open one (the rest are busy). */
    CHECK_EQ_U(tcp_from_client(&fl[0], TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fp.conns.stats.evicted[CONN_C_HALF_OPEN], 1);
    CHECK(flow_conn(&fl[4]) == NULL);
    env_down();
}

/* ---- weights ---- */

static void test_weights(void)
{
    env_up(1024, 1500, 1500);
    struct service *svc = &svcs.svc[SVC_HTTP];
    struct flow old = { .caddr = CLIENT, .cport = 40800, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&old));
    CHECK_EQ_U(old.raddr, RS1);
    service_set_weight(svc, 0, 0);
    for (unsigned i = 0; i < 50; i++) {
        struct flow fl = { .caddr = CLIENT, .cport = (uint16_t)(41000 + i), .vaddr = VIP, .vport = 80 };
        CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_TX_INT);
        CHECK_EQ_U(fl.raddr, RS2);
        CHECK_EQ_U(tcp_from_client(&old, TH_ACK_, 5), FP_VERDICT_TX_INT);
        check_to_server(&old, 64, TCP_FRAME_LEN(5));
    }
    CHECK_EQ_U(tcp_from_server(&old, TH_ACK_, 5), FP_VERDICT_TX_EXT);
    check_to_client(&old, 64, TCP_FRAME_LEN(5));
    service_set_weight(svc, 1, 0);
    struct flow fl = { .caddr = CLIENT, .cport = 42000, .vaddr = VIP, .vport = 80 };
    CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_SERVER], 1);
    CHECK_EQ_U(tcp_from_client(&old, TH_ACK_, 5), FP_VERDICT_TX_INT);
    /* Health holding a server out works the same way. */
    service_set_weight(svc, 1, 1);
    service_set_available(svc, 1, false);
    CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_SERVER], 2);
    service_set_available(svc, 1, true);
    CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fl.raddr, RS2);
    env_down();
}

/* ---- connection limits (-x): refused as server_limit, established flows and persistent
 * clients go on ---- */

static void test_server_limit(void)
{
    env_up(1024, 1500, 1500);
    struct service *svc = &svcs.svc[SVC_HTTP];
    svc->rs[0].u_threshold = svc->rs[1].u_threshold = 1; /* the table of -x 1 after each -r */
    svc->has_threshold = true;
    struct flow fl[3];
    for (unsigned i = 0; i < 3; i++)
        fl[i] = (struct flow){ .caddr = CLIENT, .cport = (uint16_t)(43000 + i), .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&fl[0]) && tcp_establish(&fl[1]));
    CHECK(fl[0].raddr != fl[1].raddr); /* the first at its limit, the second went to the other */
    CHECK_EQ_U(tcp_from_client(&fl[2], TH_SYN_, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_SERVER_LIMIT], 1);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_SERVER], 0);
    CHECK(svc->rs[0].overloaded && svc->rs[1].overloaded);
    CHECK_EQ_U(tcp_from_client(&fl[0], TH_ACK_, 5), FP_VERDICT_TX_INT);
    check_to_server(&fl[0], 64, TCP_FRAME_LEN(5));
    /* Every server out for another reason (weight 0): "no server", whatever their counts. */
    service_set_weight(svc, 0, 0);
    service_set_weight(svc, 1, 0);
    CHECK_EQ_U(tcp_from_client(&fl[2], TH_SYN_, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_SERVER], 1);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_SERVER_LIMIT], 1);

    /* Persistence: a client whose template names an overloaded server still goes there, as in
     * IPVS; a client without one is refused once both are at their limit. */
    svc = &svcs.svc[SVC_PERSIST];
    svc->rs[0].u_threshold = svc->rs[1].u_threshold = 1;
    svc->has_threshold = true;
    struct flow a1 = { .caddr = IP4(198, 51, 101, 1), .cport = 40000, .vaddr = VIP2, .vport = 443 };
    struct flow a2 = { .caddr = IP4(198, 51, 101, 2), .cport = 40001, .vaddr = VIP2, .vport = 443 }; /* a1's /24 */
    struct flow b = { .caddr = IP4(198, 51, 102, 1), .cport = 40002, .vaddr = VIP2, .vport = 443 };
    struct flow c = { .caddr = IP4(198, 51, 103, 1), .cport = 40003, .vaddr = VIP2, .vport = 443 };
    CHECK(tcp_establish(&a1) && tcp_establish(&b));
    CHECK(a1.raddr != b.raddr);
    CHECK_EQ_U(tcp_from_client(&c, TH_SYN_, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_SERVER_LIMIT], 2);
    CHECK_EQ_U(tcp_from_client(&a2, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(a2.raddr, a1.raddr);
    env_down();
}

/* ---- persistence and one-packet scheduling ---- */

static void test_persistence(void)
{
    env_up(1024, 1500, 1500);
    uint32_t first = 0;
    bool same = true;
    for (unsigned i = 0; i < 40; i++) {
        struct flow fl = { .caddr = (i & 1) ? IP4(198, 51, 100, 101) : IP4(198, 51, 100, 100),
                           .cport = (uint16_t)(30000 + i * 7), .vaddr = VIP2, .vport = 443 };
        CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_TX_INT);
        CHECK_EQ_U(fl.rport, 8443);
        if (i == 0)
            first = fl.raddr;
        same &= fl.raddr == first;
        if (i % 3 == 0) {
            CHECK_EQ_U(tcp_from_server(&fl, TH_SYN_ | TH_ACK_, 0), FP_VERDICT_TX_EXT);
            check_to_client(&fl, 64, TCP_FRAME_LEN(0));
            CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_, 0), FP_VERDICT_TX_INT);
        }
    }
    CHECK(same);
    CHECK(first == RS1 || first == RS2);
    unsigned idx = first == RS1 ? 0 : 1;
    CHECK_EQ_U(rs_at(SVC_PERSIST, idx)->persistent, 1);
    CHECK_EQ_U(rs_at(SVC_PERSIST, idx)->active + rs_at(SVC_PERSIST, idx)->inactive, 40);
    /* Another network: scheduled on its own (wlc: to the idle server). */
    struct flow other = { .caddr = IP4(192, 0, 2, 9), .cport = 30000, .vaddr = VIP2, .vport = 443 };
    CHECK_EQ_U(tcp_from_client(&other, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK(other.raddr != first);
    CHECK_EQ_U(rs_at(SVC_PERSIST, 1 - idx)->persistent, 1);
    /* Quiesced (weight 0), the server keeps its persistent clients, as IPVS does by default... */
    struct service *svc = &svcs.svc[SVC_PERSIST];
    service_set_weight(svc, idx, 0);
    struct flow more = { .caddr = IP4(198, 51, 100, 77), .cport = 31000, .vaddr = VIP2, .vport = 443 };
    CHECK_EQ_U(tcp_from_client(&more, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(more.raddr, first);
    /* ...but one that health holds out does not: the network moves to the other server and stays. */
    service_set_weight(svc, idx, 1);
    service_set_available(svc, idx, false);
    for (unsigned i = 0; i < 5; i++) {
        more.cport = (uint16_t)(31001 + i);
        CHECK_EQ_U(tcp_from_client(&more, TH_SYN_, 0), FP_VERDICT_TX_INT);
        CHECK(more.raddr != first);
    }
    service_set_available(svc, idx, true);
    more.cport = 31010;
    CHECK_EQ_U(tcp_from_client(&more, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK(more.raddr != first);
    env_down();

    /* -o: each datagram of one tuple scheduled on its own; every reply translated. */
    env_up(1024, 1500, 1500);
    struct flow a = { .caddr = CLIENT, .cport = 6000, .vaddr = VIP2, .vport = 53 };
    struct flow b = a;
    CHECK_EQ_U(udp_from_client(&a, 20, false), FP_VERDICT_TX_INT);
    check_to_server(&a, 64, UDP_FRAME_LEN(20));
    CHECK_EQ_U(udp_from_client(&b, 21, false), FP_VERDICT_TX_INT);
    check_to_server(&b, 64, UDP_FRAME_LEN(21));
    CHECK_EQ_U(a.rport, 2053);
    CHECK_EQ_U(b.rport, 2053);
    CHECK(a.raddr != b.raddr); /* wlc, the first server busy with the first datagram */
    CHECK(conn_lookup_in(&fp.conns, IPPROTO_UDP, htonl(CLIENT), htons(6000), htonl(VIP2), htons(53)) == NULL);
    CHECK_EQ_U(udp_from_server(&a, 30, false), FP_VERDICT_TX_EXT);
    check_to_client(&a, 64, UDP_FRAME_LEN(30));
    CHECK_EQ_U(udp_from_server(&b, 31, false), FP_VERDICT_TX_EXT);
    check_to_client(&b, 64, UDP_FRAME_LEN(31));
    CHECK_EQ_U(fp.conns.count, 2);
    /* A third datagram lands on a server that already has this tuple's entry: reused, not doubled. */
    struct flow c3 = a;
    CHECK_EQ_U(udp_from_client(&c3, 22, false), FP_VERDICT_TX_INT);
    check_to_server(&c3, 64, UDP_FRAME_LEN(22));
    CHECK_EQ_U(fp.conns.count, 2);
    CHECK_EQ_U(rs_at(SVC_OPS, 0)->inactive + rs_at(SVC_OPS, 1)->inactive, 2);
    /* Both servers' flows dropped (health) and the servers back at once: the tuple's next
     * datagram gets a fresh entry, so the reply is translated again, not dropped. */
    fastpath_drop_server(&fp, SVC_OPS, 0);
    fastpath_drop_server(&fp, SVC_OPS, 1);
    struct flow d = a;
    uint64_t no_conn = fp.stats.drops[FP_DROP_NO_CONN];
    CHECK_EQ_U(udp_from_client(&d, 23, false), FP_VERDICT_TX_INT);
    CHECK_EQ_U(udp_from_server(&d, 32, false), FP_VERDICT_TX_EXT);
    check_to_client(&d, 64, UDP_FRAME_LEN(32));
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_CONN], no_conn);
    env_down();
}

/* ---- expiry through fastpath_tick: the counters follow the entries out ---- */

static void test_expiry(void)
{
    env_up(1024, 1500, 1500);
    struct real_server *r1 = rs_at(SVC_HTTP, 0), *r2 = rs_at(SVC_HTTP, 1);
    struct flow es = { .caddr = CLIENT, .cport = 43000, .vaddr = VIP, .vport = 80 };
    struct flow tw = { .caddr = CLIENT, .cport = 43001, .vaddr = VIP, .vport = 80 };
    struct flow sr = { .caddr = CLIENT, .cport = 43002, .vaddr = VIP, .vport = 80 };
    struct flow udp = { .caddr = CLIENT, .cport = 43003, .vaddr = VIP, .vport = 53 };
    CHECK(tcp_establish(&es));
    CHECK(tcp_establish(&tw));
    CHECK_EQ_U(tcp_from_client(&tw, TH_FIN_ | TH_ACK_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(tcp_from_server(&tw, TH_FIN_ | TH_ACK_, 0), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(tcp_from_client(&sr, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(udp_from_client(&udp, 10, false), FP_VERDICT_TX_INT);
    CHECK_EQ_U(udp_from_server(&udp, 10, false), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(udp_from_client(&udp, 10, false), FP_VERDICT_TX_INT); /* a stream: 300 s */
    CHECK_EQ_U(fp.conns.count, 4);
    CHECK_EQ_U(r1->active + r2->active, 1);
    CHECK_EQ_U(r1->inactive + r2->inactive, 2);
    fastpath_tick(&fp, 130); /* past TIME_WAIT (120) and SYN_RECV */
    CHECK_EQ_U(fp.conns.count, 2);
    CHECK(flow_conn(&es) != NULL);
    CHECK(flow_conn(&tw) == NULL);
    CHECK(flow_conn(&sr) == NULL);
    CHECK_EQ_U(r1->inactive + r2->inactive, 0);
    CHECK_EQ_U(rs_at(SVC_DNS, 0)->inactive, 1);
    fastpath_tick(&fp, 310);
    CHECK_EQ_U(fp.conns.count, 1);
    CHECK_EQ_U(rs_at(SVC_DNS, 0)->inactive, 0);
    fastpath_tick(&fp, 910);
    CHECK_EQ_U(fp.conns.count, 0);
    CHECK_EQ_U(r1->active + r2->active + r1->inactive + r2->inactive, 0);
    env_down();
}

/* ---- an echo request with IP options: answered without them ---- */

static void test_echo_options(void)
{
    env_up(1024, 1500, 1500);
    struct frame_spec s = fpenv_client_spec(IPPROTO_ICMP, CLIENT, 0, VIP, 0);
    s.icmp_type = 8;
    s.icmp_rest = 0x00070009;
    s.payload = 32;
    size_t len = frame_build(buf, &s);
    uint8_t icmp[40];
    memcpy(icmp, F + 14 + 20, sizeof icmp);
    /* Insert 4 bytes of options (NOP NOP NOP EOL) after the fixed header. */
    memmove(F + 14 + 24, F + 14 + 20, 40);
    memcpy(F + 14 + 20, "\x01\x01\x01\x00", 4);
    F[14] = 0x46;
    put16(F + 14 + 2, 64);
    put16(F + 14 + 10, 0);
    put16(F + 14 + 10, (uint16_t)~ref_fold(ref_sum(F + 14, 24, 0)));
    len += 4;
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(out_len, len - 4);
    CHECK_EQ_U(F[14], 0x45);
    CHECK_EQ_U(totof(F), 60);
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
    CHECK_EQ_U(l4of(F)[0], 0);
    CHECK(memcmp(l4of(F) + 4, icmp + 4, 36) == 0);
    env_down();
}

/* ---- the role gate (HA): a backup learns but sends nothing; grace after a takeover ---- */

static void test_role_gate(void)
{
    env_up(1024, 1500, 1500);
    size_t len;
    uint8_t new_mac[6] = { 0x02, 0xaa, 0, 0, 0x99, 0x11 };
    fastpath_set_role(&fp, false, 0);

    /* No ARP answer for the VIP or the NAT router address, but the server's MAC is learnt. */
    len = frame_build_arp(buf, ARP_REQUEST, CLIENT_MAC, BCAST, CLIENT_MAC, CLIENT, ZERO_MAC, VIP);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_DROP);
    len = frame_build_arp(buf, ARP_REQUEST, new_mac, BCAST, new_mac, RS1, ZERO_MAC, NAT);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, false, buf, &out_len, NOW), FP_VERDICT_DROP);
    CHECK(mac_is(neigh_lookup(&neigh, htonl(RS1)), new_mac));
    /* No forwarding, no echo reply, no RST for an unknown flow or a port without a service,
     * no ICMP port unreachable. */
    struct flow fl = { .caddr = CLIENT, .cport = 41000, .vaddr = VIP, .vport = 80 };
    struct flow no_svc = { .caddr = CLIENT, .cport = 41002, .vaddr = VIP, .vport = 81 };
    struct flow no_udp = { .caddr = CLIENT, .cport = 41003, .vaddr = VIP, .vport = 54 };
    CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_DROP);
    CHECK(flow_conn(&fl) == NULL);
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_, 10), FP_VERDICT_DROP);
    CHECK_EQ_U(tcp_from_client(&no_svc, TH_SYN_, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(udp_from_client(&no_udp, 10, false), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_STANDBY], 6);
    CHECK_EQ_U(fp.stats.arp_replies + fp.stats.resets_sent + fp.stats.icmp_unreach_sent, 0);
    CHECK_EQ_U(fp.stats.tx_ext + fp.stats.tx_int, 0);

    /* Master with a grace period: an unknown mid-flow segment is dropped as grace, to a port
     * with a service or without; a SYN opens a flow as usual, a SYN to a port without a
     * service (a new connection) gets its RST and UDP there its ICMP error; after the grace
     * period the unknown mid-flow segment gets an RST. */
    fastpath_set_role(&fp, true, NOW + 5);
    len = frame_build_arp(buf, ARP_REQUEST, CLIENT_MAC, BCAST, CLIENT_MAC, CLIENT, ZERO_MAC, VIP);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_, 10), FP_VERDICT_DROP);
    CHECK_EQ_U(tcp_from_client(&no_svc, TH_ACK_, 10), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_GRACE], 2);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NOT_SYN] + fp.stats.drops[FP_DROP_NO_SERVICE], 0);
    CHECK_EQ_U(fp.stats.resets_sent, 0);
    CHECK_EQ_U(tcp_from_client(&no_svc, TH_SYN_, 0), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(l4of(F)[13], TH_RST_ | TH_ACK_);
    CHECK_EQ_U(udp_from_client(&no_udp, 10, false), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(fp.stats.resets_sent, 1);
    CHECK_EQ_U(fp.stats.icmp_unreach_sent, 1);
    CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_TX_INT);
    fastpath_set_role(&fp, true, NOW);
    struct flow f2 = { .caddr = CLIENT, .cport = 41001, .vaddr = VIP, .vport = 80 };
    CHECK_EQ_U(tcp_from_client(&f2, TH_ACK_, 10), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(l4of(F)[13], TH_RST_);
    CHECK_EQ_U(fp.stats.resets_sent, 2);
    CHECK(flow_conn(&f2) == NULL);
    env_down();
}

/* ---- the unknown-flow rule: RST, ICMP port unreachable, their budget ---- */

/* A client's TCP segment to vaddr:vport from CLIENT:cport. */
static enum fp_verdict tcp_segment(uint32_t vaddr, uint16_t vport, uint16_t cport, uint8_t flags, uint32_t seq,
                                   uint32_t ack, size_t payload)
{
    struct frame_spec s = fpenv_client_spec(IPPROTO_TCP, CLIENT, cport, vaddr, vport);
    s.tcp_flags = flags;
    s.seq = seq;
    s.ack = ack;
    s.payload = payload;
    s.frag = IP_DF_;
    return run(true, &s);
}

/* The frame in buf is an RST from vaddr:vport to CLIENT:cport, numbered seq/ack, with flags. */
static void check_rst(uint32_t vaddr, uint16_t vport, uint16_t cport, uint8_t flags, uint32_t seq, uint32_t ack)
{
    CHECK_EQ_U(out_len, TCP_FRAME_LEN(0));
    CHECK(o_vnet_zero());
    CHECK(mac_is(F, CLIENT_MAC));
    CHECK(mac_is(F + 6, EXT_MAC));
    CHECK_EQ_U(F[14 + 9], IPPROTO_TCP);
    CHECK_EQ_U(totof(F), 40);
    CHECK_EQ_U(o_saddr(), vaddr);
    CHECK_EQ_U(o_sport(), vport);
    CHECK_EQ_U(o_daddr(), CLIENT);
    CHECK_EQ_U(o_dport(), cport);
    CHECK_EQ_U(l4of(F)[13], flags);
    CHECK_EQ_U(get32(l4of(F) + 4), seq);
    CHECK_EQ_U(get32(l4of(F) + 8), ack);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
}

/* RFC 793, "Reset Generation": for a segment with ACK the RST takes its sequence number from
 * the segment's acknowledgment; without, it is <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN
 * and FIN counting one each. No entry is made for any of them. */
static void test_unknown_flow_rst(void)
{
    env_up(1024, 1500, 1500);
    static const struct {
        uint8_t flags;
        uint32_t seq, ack;
        size_t payload;
        uint8_t want_flags;
        uint32_t want_seq, want_ack;
    } cases[] = {
        { TH_ACK_ | 0x08, 123456, 987654, 100, TH_RST_, 987654, 0 },
        { TH_ACK_, 5, 0xfffffff0u, 0, TH_RST_, 0xfffffff0u, 0 },
        { TH_FIN_ | TH_ACK_, 77, 4242, 0, TH_RST_, 4242, 0 },
        { TH_SYN_ | TH_ACK_, 77, 31337, 0, TH_RST_, 31337, 0 },
        { TH_FIN_, 1000, 0, 0, TH_RST_ | TH_ACK_, 0, 1001 },
        { 0x08, 1000, 0, 10, TH_RST_ | TH_ACK_, 0, 1010 },
        { TH_FIN_ | 0x08, 0xfffffffeu, 0, 5, TH_RST_ | TH_ACK_, 0, 4 }, /* wraps */
        { 0, 9, 0, 0, TH_RST_ | TH_ACK_, 0, 9 },                       /* no flags at all */
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t cport = (uint16_t)(44000 + i);
        CHECK_EQ_U(tcp_segment(VIP, 80, cport, cases[i].flags, cases[i].seq, cases[i].ack, cases[i].payload),
                   FP_VERDICT_TX_EXT);
        check_rst(VIP, 80, cport, cases[i].want_flags, cases[i].want_seq, cases[i].want_ack);
    }
    unsigned n = sizeof cases / sizeof cases[0];
    CHECK_EQ_U(fp.stats.resets_sent, n);
    CHECK_EQ_U(fp.stats.tx_ext, n);
    CHECK_EQ_U(drops_total(), 0);
    CHECK_EQ_U(fp.conns.count, 0);
    CHECK_EQ_U(fp.conns.stats.created, 0);

    /* A persistent service: the RST, and no template either. */
    CHECK_EQ_U(tcp_segment(VIP2, 443, 44100, TH_ACK_, 1, 2, 0), FP_VERDICT_TX_EXT);
    check_rst(VIP2, 443, 44100, TH_RST_, 2, 0);
    CHECK_EQ_U(fp.conns.count, 0);

    /* A GSO superframe with a partial checksum: the RST is a plain frame, checksums complete. */
    struct frame_spec s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 44101, VIP, 80);
    s.tcp_flags = TH_ACK_ | 0x08;
    s.seq = 1;
    s.ack = 0x01020304;
    s.payload = 2896;
    s.frag = IP_DF_;
    s.partial_csum = true;
    s.vnet.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
    s.vnet.gso_size = 1448;
    s.vnet.hdr_len = 14 + 20 + 20;
    CHECK_EQ_U(run(true, &s), FP_VERDICT_TX_EXT);
    check_rst(VIP, 80, 44101, TH_RST_, 0x01020304, 0);

    /* Never for an RST, nor for what does not come from one host to us alone (RFC 1122). */
    uint64_t sent = fp.stats.tx_ext;
    s = fpenv_client_spec(IPPROTO_TCP, CLIENT, 44102, VIP, 80);
    s.tcp_flags = TH_RST_ | TH_ACK_;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_NOT_SYN);
    s.tcp_flags = TH_ACK_;
    s.saddr = IP4(224, 0, 0, 9);
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_NOT_SYN);
    s.saddr = CLIENT;
    memcpy(s.dmac, BCAST, 6);
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_NOT_SYN);
    CHECK_EQ_U(fp.stats.tx_ext, sent);
    CHECK_EQ_U(fp.conns.count, 0);
    env_down();
}

/* An established flow's entry expires (the client stayed idle past the TCP timeout): the
 * client's next segment gets an RST from VIP:80 at once, numbered from its ACK, and no entry. */
static void test_expired_rst(void)
{
    env_up(1024, 1500, 1500);
    struct flow fl = { .caddr = CLIENT, .cport = 44200, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&fl));
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_ | 0x08, 20), FP_VERDICT_TX_INT);
    uint64_t created = fp.conns.stats.created;
    now_s = NOW + cfg.timeouts.tcp + 1;
    fastpath_tick(&fp, now_s);
    CHECK(flow_conn(&fl) == NULL);
    CHECK_EQ_U(fp.conns.stats.expired, 1);
    CHECK_EQ_U(tcp_segment(VIP, 80, fl.cport, TH_ACK_ | 0x08, 1020, 5001, 30), FP_VERDICT_TX_EXT);
    check_rst(VIP, 80, fl.cport, TH_RST_, 5001, 0);
    CHECK_EQ_U(fp.stats.resets_sent, 1);
    CHECK(flow_conn(&fl) == NULL);
    CHECK_EQ_U(fp.conns.count, 0);
    CHECK_EQ_U(fp.conns.stats.created, created);
    CHECK_EQ_U(rs_at(SVC_HTTP, 0)->active + rs_at(SVC_HTTP, 1)->active, 0);
    /* The client's SYN afterwards is a new flow as ever (the servers' MACs aged meanwhile). */
    fpenv_learn(&neigh, RS1, now_s);
    fpenv_learn(&neigh, RS2, now_s);
    CHECK_EQ_U(tcp_from_client(&fl, TH_SYN_, 0), FP_VERDICT_TX_INT);
    CHECK_EQ_U(fp.conns.stats.created, created + 1);
    env_down();
}

/* The frame in buf is ICMP port unreachable from vaddr to CLIENT quoting quote[0..quote_len). */
static void check_port_unreach(uint32_t vaddr, const uint8_t *quote, size_t quote_len)
{
    CHECK_EQ_U(out_len, FRAME_VNET_LEN + 14 + 20 + 8 + quote_len);
    CHECK(o_vnet_zero());
    CHECK(mac_is(F, CLIENT_MAC));
    CHECK(mac_is(F + 6, EXT_MAC));
    CHECK_EQ_U(F[14], 0x45);
    CHECK_EQ_U(F[14 + 9], IPPROTO_ICMP);
    CHECK_EQ_U(o_ttl(), 64);
    CHECK_EQ_U(totof(F), 20 + 8 + quote_len);
    CHECK_EQ_U(o_saddr(), vaddr);
    CHECK_EQ_U(o_daddr(), CLIENT);
    CHECK_EQ_U(l4of(F)[0], 3);
    CHECK_EQ_U(l4of(F)[1], 3);
    CHECK_EQ_U(get32(l4of(F) + 4), 0);
    CHECK(memcmp(l4of(F) + 8, quote, quote_len) == 0);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
}

/* A port without a service: any TCP gets an RST from it, UDP an ICMP port unreachable quoting
 * the datagram's IP header and 8 bytes; RFC 1122's exceptions get nothing. */
static void test_no_service(void)
{
    env_up(1024, 1500, 1500);
    CHECK_EQ_U(tcp_segment(VIP, 81, 45000, TH_SYN_, 1000, 0, 0), FP_VERDICT_TX_EXT);
    check_rst(VIP, 81, 45000, TH_RST_ | TH_ACK_, 0, 1001);
    CHECK_EQ_U(tcp_segment(VIP, 81, 45001, TH_ACK_, 1000, 777, 0), FP_VERDICT_TX_EXT);
    check_rst(VIP, 81, 45001, TH_RST_, 777, 0);
    CHECK_EQ_U(tcp_segment(VIP, 53, 45002, TH_SYN_, 1, 0, 0), FP_VERDICT_TX_EXT); /* a UDP service's port */
    check_rst(VIP, 53, 45002, TH_RST_ | TH_ACK_, 0, 2);
    CHECK_EQ_U(tcp_segment(VIP2, 80, 45003, TH_SYN_, 1, 0, 0), FP_VERDICT_TX_EXT); /* the other VIP */
    check_rst(VIP2, 80, 45003, TH_RST_ | TH_ACK_, 0, 2);
    CHECK_EQ_U(fp.stats.resets_sent, 4);

    /* UDP, short: the answer is longer than the datagram (the buffer's room, fastpath.h). */
    uint8_t quote[60 + 8];
    struct frame_spec s = fpenv_client_spec(IPPROTO_UDP, CLIENT, 5353, VIP, 54);
    size_t len = frame_build(buf, &s);
    memcpy(quote, F + 14, 28);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    CHECK(out_len > len && out_len <= REPLY_ICMP_ERROR_MAX);
    check_port_unreach(VIP, quote, 28);
    /* Longer: only the header and 8 bytes are quoted. */
    s.payload = 333;
    len = frame_build(buf, &s);
    memcpy(quote, F + 14, 28);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    check_port_unreach(VIP, quote, 28);
    /* With IP options: quoted with them. */
    s.payload = 40;
    len = frame_build(buf, &s);
    memmove(F + 14 + 24, F + 14 + 20, 48);
    memcpy(F + 14 + 20, "\x01\x01\x01\x00", 4);
    F[14] = 0x46;
    put16(F + 14 + 2, 24 + 48);
    put16(F + 14 + 10, 0);
    put16(F + 14 + 10, (uint16_t)~ref_fold(ref_sum(F + 14, 24, 0)));
    len += 4;
    memcpy(quote, F + 14, 32);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    check_port_unreach(VIP, quote, 32);
    /* A first fragment is answered (it has the ports); a later one is not. */
    s = fpenv_client_spec(IPPROTO_UDP, CLIENT, 5354, VIP2, 54);
    s.frag = IP_MF_;
    s.payload = 592;
    s.udp_len = 1008;
    len = frame_build(buf, &s);
    memcpy(quote, F + 14, 28);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_EXT);
    check_port_unreach(VIP2, quote, 28);
    CHECK_EQ_U(fp.stats.icmp_unreach_sent, 4);
    s.frag = 600 / 8;
    s.no_l4_header = true;
    s.payload = 408;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_FRAG_UNKNOWN);

    /* Not from one host, or not to us alone: nothing. */
    static const uint32_t not_one_host[] = { IP4(0, 0, 0, 0), IP4(0, 1, 2, 3), IP4(127, 0, 0, 1),
                                             IP4(224, 0, 0, 1), IP4(239, 1, 2, 3), IP4(240, 0, 0, 1),
                                             IP4(255, 255, 255, 255) };
    for (unsigned i = 0; i < sizeof not_one_host / sizeof not_one_host[0]; i++) {
        s = fpenv_client_spec(IPPROTO_UDP, not_one_host[i], 5355, VIP, 54);
        EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_NO_SERVICE);
        s.proto = IPPROTO_TCP;
        s.tcp_flags = TH_SYN_;
        EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_NO_SERVICE);
    }
    static const uint8_t mcast_mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    s = fpenv_client_spec(IPPROTO_UDP, CLIENT, 5356, VIP, 54);
    memcpy(s.dmac, BCAST, 6);
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_NO_SERVICE);
    memcpy(s.dmac, mcast_mac, 6);
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_NO_SERVICE);
    /* Never an ICMP error about an ICMP error: port unreachable quoting a datagram from VIP:54. */
    struct frame_spec inner = fpenv_server_spec(IPPROTO_UDP, VIP, 54, CLIENT, 5357);
    static uint8_t tmp[FRAME_VNET_LEN + 14 + 28];
    frame_build(tmp, &inner);
    s = fpenv_client_spec(IPPROTO_ICMP, CLIENT, 0, VIP, 0);
    s.icmp_type = 3;
    s.icmp_code = 3;
    s.data = tmp + FRAME_VNET_LEN + 14;
    s.payload = 28;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_ICMP_UNTRACKED);
    CHECK_EQ_U(fp.stats.icmp_unreach_sent, 4);
    CHECK_EQ_U(fp.stats.resets_sent, 4);
    CHECK_EQ_U(fp.stats.tx_ext, 8);
    CHECK_EQ_U(fp.conns.count, 0);
    env_down();
}

/* How many of n SYNs to VIP:81 (ports from cport on) are answered at second now_s; the rest
 * must be refused by the bucket. */
static unsigned answered_of(unsigned n, uint16_t cport)
{
    unsigned answered = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t limited = fp.stats.drops[FP_DROP_RATE_LIMITED];
        enum fp_verdict v = tcp_segment(VIP, 81, (uint16_t)(cport + i), TH_SYN_, i, 0, 0);
        if (v == FP_VERDICT_TX_EXT)
            answered++;
        else
            CHECK_EQ_U(fp.stats.drops[FP_DROP_RATE_LIMITED], limited + 1);
    }
    return answered;
}

/* One bucket per worker for RSTs and ICMP errors about traffic of no flow: FP_REPLY_BURST at
 * once, then nothing until the clock moves, FP_REPLY_RATE a second after, never more than the
 * burst however long it rested. Forwarding, and RSTs for flows rawlb dropped itself (one per
 * entry), do not depend on it. */
static void test_reply_limit(void)
{
    env_up(1024, 1500, 1500);
    CHECK_EQ_U(answered_of(FP_REPLY_BURST + 10, 1000), FP_REPLY_BURST);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_RATE_LIMITED], 10);
    struct flow udp = { .caddr = CLIENT, .cport = 6000, .vaddr = VIP, .vport = 54 };
    CHECK_EQ_U(udp_from_client(&udp, 10, false), FP_VERDICT_DROP);
    CHECK_EQ_U(tcp_segment(VIP, 80, 6001, TH_ACK_, 1, 2, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_RATE_LIMITED], 12);
    struct flow fl = { .caddr = CLIENT, .cport = 6002, .vaddr = VIP, .vport = 80 };
    CHECK(tcp_establish(&fl));
    struct conn *c = flow_conn(&fl);
    CHECK(c != NULL);
    if (c)
        conn_mark_reset(&fp.conns, c);
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_, 0), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(l4of(F)[13], TH_RST_);
    CHECK_EQ_U(fp.stats.resets_sent, FP_REPLY_BURST + 1);

    now_s = NOW + 1;
    CHECK_EQ_U(udp_from_client(&udp, 10, false), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(fp.stats.icmp_unreach_sent, 1);
    CHECK_EQ_U(answered_of(FP_REPLY_RATE + 10, 3000), FP_REPLY_RATE - 1);
    now_s = NOW + 1000;
    CHECK_EQ_U(answered_of(FP_REPLY_BURST + 10, 5000), FP_REPLY_BURST);
    CHECK_EQ_U(fp.conns.count, 0); /* fl's entry went with its RST; no other was made */
    env_down();
}

/* ---- a fragmented ping to a VIP, a fragmented ICMP error from a real server: dropped whole,
 * never answered or translated in part ---- */

static void test_fragmented_echo(void)
{
    env_up(1024, 1500, 1500);
    /* A 3000-byte ping in three fragments: 1480, 1480, 48 bytes of ICMP. */
    struct frame_spec s = fpenv_client_spec(IPPROTO_ICMP, CLIENT, 0, VIP, 0);
    s.icmp_type = 8;
    s.icmp_rest = 0x12340001;
    s.ip_id = 0x7777;
    s.frag = IP_MF_;
    s.payload = 1472;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_ICMP_FRAGMENT);
    s.no_l4_header = true;
    s.frag = IP_MF_ | 1480 / 8;
    s.payload = 1480;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_ICMP_FRAGMENT);
    s.frag = 2960 / 8;
    s.payload = 48;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_ICMP_FRAGMENT);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_ICMP_FRAGMENT], 3);
    CHECK_EQ_U(fp.stats.echo_replies, 0);
    CHECK_EQ_U(fp.stats.tx_ext, 0);
    /* To an address that is not a VIP it is no ping of ours at all. */
    s = fpenv_client_spec(IPPROTO_ICMP, CLIENT, 0, OTHER, 0);
    s.icmp_type = 8;
    s.frag = IP_MF_;
    s.payload = 1472;
    EXPECT_DROP(true, frame_build(buf, &s), FP_DROP_ICMP_OTHER);
    /* A whole ping still gets its echo. */
    s = fpenv_client_spec(IPPROTO_ICMP, CLIENT, 0, VIP, 0);
    s.icmp_type = 8;
    s.payload = 1472;
    CHECK_EQ_U(run(true, &s), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(l4of(F)[0], 0);
    CHECK_EQ_U(fp.stats.echo_replies, 1);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_ICMP_FRAGMENT], 3);

    /* A real server's port unreachable about a flow of ours, in two fragments. */
    struct flow fl = { .caddr = CLIENT, .cport = 5009, .vaddr = VIP, .vport = 53 };
    CHECK_EQ_U(udp_from_client(&fl, 30, false), FP_VERDICT_TX_INT);
    uint8_t quote[28];
    memcpy(quote, F + 14, sizeof quote);
    s = fpenv_server_spec(IPPROTO_ICMP, fl.raddr, 0, CLIENT, 0);
    s.icmp_type = 3;
    s.icmp_code = 3;
    s.data = quote;
    s.payload = sizeof quote;
    s.ip_id = 0x7778;
    s.frag = IP_MF_;
    EXPECT_DROP(false, frame_build(buf, &s), FP_DROP_ICMP_FRAGMENT);
    s.no_l4_header = true;
    s.data = NULL;
    s.frag = (8 + sizeof quote) / 8;
    s.payload = 8;
    EXPECT_DROP(false, frame_build(buf, &s), FP_DROP_ICMP_FRAGMENT);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_ICMP_FRAGMENT], 5);
    CHECK_EQ_U(fp.stats.icmp_translated, 0);
    env_down();
}

/* mh services (Scale-out): a segment of a flow another director carried is forwarded to the
 * server mh picks for its client, as a mid-flow entry, half-open until the server answers; an
 * RST segment is not taken up, and a wlc service still answers such a segment with an RST. */
static void test_mid_flow_mh(void)
{
    now_s = NOW;
    struct fpenv_opts o = { .max_conns = 1024, .ext_mtu = 1500, .int_mtu = 1500, .seed = 0x12345678u };
    fpenv_up(&env,
             "-e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -s mh -b mh-port --check none "
             "-r 203.0.113.11:8080 -r 203.0.113.12:8080 -t 198.51.100.20:80 --check none -r 203.0.113.11:8080",
             &o);
    struct flow fl = { .caddr = CLIENT, .cport = 45000, .vaddr = VIP, .vport = 80 };
    int want = service_schedule(&svcs.svc[0], htonl(CLIENT), htons(45000));
    CHECK(want >= 0);
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_ | 0x08, 100), FP_VERDICT_TX_INT);
    CHECK_EQ_U(o_daddr(), ntohl(svcs.svc[0].rs[want].ep.addr));
    CHECK_EQ_U(o_dport(), 8080);
    CHECK(l4_csum_ok(F));
    struct conn *c = flow_conn(&fl);
    CHECK(c && c->state == TCP_S_SYN_RECV);
    CHECK_EQ_U(fp.stats.mid_flow_taken, 1);
    CHECK_EQ_U(fp.stats.resets_sent, 0);
    /* the client again: still half-open; the server's answer makes it established */
    CHECK_EQ_U(tcp_from_client(&fl, TH_ACK_ | 0x08, 100), FP_VERDICT_TX_INT);
    CHECK(c->state == TCP_S_SYN_RECV);
    fl.raddr = ntohl(svcs.svc[0].rs[want].ep.addr);
    fl.rport = 8080;
    CHECK_EQ_U(tcp_from_server(&fl, TH_ACK_ | 0x08, 200), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK_EQ_U(o_sport(), 80);
    CHECK(c->state == TCP_S_ESTABLISHED);
    CHECK_EQ_U(fp.stats.mid_flow_taken, 1);
    /* an RST of no flow is not taken up, nor answered */
    CHECK_EQ_U(tcp_segment(VIP, 80, 45001, TH_RST_ | TH_ACK_, 1, 2, 0), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NOT_SYN], 1);
    /* a service with another scheduler: the RST of the unknown-flow rule */
    CHECK_EQ_U(tcp_segment(VIP2, 80, 45002, TH_ACK_, 1, 2, 0), FP_VERDICT_TX_EXT);
    check_rst(VIP2, 80, 45002, TH_RST_, 2, 0);
    CHECK_EQ_U(fp.stats.mid_flow_taken, 1);
    CHECK_EQ_U(fp.conns.count, 1);
    env_down();
}

/* Stateless replies (Scale-out): a real server's segment of a flow this director did not carry
 * goes to the client from VIP:port for an mh service, through the gateway of the kernel's route
 * toward the client, whose MAC comes from ARP on the external side; an ICMP error about one goes
 * to the server mh picks. Without a way out (no
 * uplink, no route, an on-link route, the gateway's MAC not known yet), for another scheduler's
 * service, and from a server two services share, it is dropped and counted. No entry is made. */
static void test_stateless_reply(void)
{
    static const uint8_t GW_MAC[6] = { 0x02, 0x9a, 0, 0, 0, 0x01 };
    const uint32_t gw = IP4(198, 51, 100, 1);
    const uint32_t shared = IP4(203, 0, 113, 13);
    now_s = NOW;
    struct fpenv_opts o = { .max_conns = 1024, .ext_mtu = 1500, .int_mtu = 1500, .seed = 0x12345678u };
    fpenv_up(&env,
             "-e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -s mh --check none -r 203.0.113.11:8080 "
             "-t 198.51.100.20:80 --check none -r 203.0.113.12:8080 "
             "-t 198.51.100.10:81 -s mh --check none -r 203.0.113.13:8080 "
             "-t 198.51.100.20:81 -s mh --check none -r 203.0.113.13:8080",
             &o);
    struct flow fl = { .caddr = CLIENT, .cport = 46000, .vaddr = VIP, .vport = 80, .raddr = RS1, .rport = 8080 };
    /* no uplink (rawlb-pcap, the fuzzer): dropped as ever */
    CHECK_EQ_U(tcp_from_server(&fl, TH_ACK_, 100), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_CONN], 1);

    static struct uplink up;
    neigh_init(&up.gateways);
    up.routes[0] = (struct uplink_route){ .net = 0, .mask = 0, .gateway = htonl(gw), .len = 0 };
    up.routes[1] = (struct uplink_route){
        .net = htonl(IP4(198, 51, 100, 0)), .mask = htonl(0xffffff00u), .gateway = 0, .len = 24 };
    up.n = 2;
    uplink_sort(up.routes, up.n);
    CHECK_EQ_U(up.routes[0].len, 24);
    CHECK(neigh_add(&up.gateways, htonl(gw)));
    fp.uplink = &up;
    /* the gateway's MAC is not known yet */
    CHECK_EQ_U(tcp_from_server(&fl, TH_ACK_, 100), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_GATEWAY_MAC], 1);
    /* its ARP on the external side teaches it */
    size_t len = frame_build_arp(buf, ARP_REPLY, GW_MAC, EXT_MAC, GW_MAC, gw, EXT_MAC, VIP);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_DROP);
    CHECK_EQ_U(tcp_from_server(&fl, TH_ACK_, 100), FP_VERDICT_TX_EXT);
    CHECK_EQ_U(out_len, TCP_FRAME_LEN(100));
    CHECK(mac_is(F, GW_MAC));
    CHECK(mac_is(F + 6, EXT_MAC));
    CHECK_EQ_U(o_saddr(), VIP);
    CHECK_EQ_U(o_sport(), 80);
    CHECK_EQ_U(o_daddr(), CLIENT);
    CHECK_EQ_U(o_dport(), 46000);
    CHECK(ip_csum_ok(F));
    CHECK(l4_csum_ok(F));
    CHECK_EQ_U(fp.stats.stateless_replies, 1);
    CHECK_EQ_U(fp.rs_stats[0][0].out_pkts, 1);
    CHECK_EQ_U(fp.conns.count, 0);
    /* a router on the way says that reply was too big: the error goes to the server mh picks for
     * the quoted client, as it would through the director that has the entry */
    uint8_t client_got[28];
    memcpy(client_got, F + 14, sizeof client_got);
    struct frame_spec s = fpenv_client_spec(IPPROTO_ICMP, ROUTER, 0, VIP, 0);
    s.icmp_type = 3;
    s.icmp_code = 4;
    s.icmp_rest = 1400;
    s.data = client_got;
    s.payload = sizeof client_got;
    len = frame_build(buf, &s);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_TX_INT);
    CHECK(o_dmac_is_rs(RS1));
    CHECK_EQ_U(o_daddr(), RS1);
    CHECK(l4_csum_ok(F));
    const uint8_t *q = l4of(F) + 8;
    CHECK_EQ_U(get32(q + 12), RS1);
    CHECK_EQ_U(get16(q + 20), 8080);
    CHECK_EQ_U(get32(q + 16), CLIENT);
    CHECK_EQ_U(get16(q + 22), 46000);
    CHECK_EQ_U(fp.stats.icmp_translated, 1);
    /* the same about a wlc service's flow without an entry: not ours to guess */
    memcpy(client_got + 12, &(uint32_t){ htonl(VIP2) }, 4);
    s.data = client_got;
    len = frame_build(buf, &s);
    out_len = len;
    CHECK_EQ_U(fastpath_handle(&fp, true, buf, &out_len, NOW), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_ICMP_UNTRACKED], 1);
    /* a client on the external link itself: no gateway to send it to */
    fl.caddr = OTHER;
    CHECK_EQ_U(tcp_from_server(&fl, TH_ACK_, 100), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_ROUTE], 1);
    fl.caddr = CLIENT;
    /* a wlc service's server: its flows have entries or are not ours */
    fl.raddr = RS2;
    CHECK_EQ_U(tcp_from_server(&fl, TH_ACK_, 100), FP_VERDICT_DROP);
    /* a server in two mh services: whose reply it is cannot be told */
    fl.raddr = shared;
    CHECK_EQ_U(tcp_from_server(&fl, TH_ACK_, 100), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_CONN], 3);
    CHECK_EQ_U(fp.stats.stateless_replies, 1);
    fp.uplink = NULL;
    env_down();
}

int main(void)
{
    test_tcp_flow();
    test_wlc_split();
    test_drops();
    test_udp();
    test_partial_and_gso();
    test_arp();
    test_echo();
    test_too_big();
    test_icmp_translation();
    test_fragments();
    test_reset();
    test_reuse();
    test_table_full();
    test_of_stream();
    test_weights();
    test_server_limit();
    test_persistence();
    test_expiry();
    test_echo_options();
    test_role_gate();
    test_unknown_flow_rst();
    test_expired_rst();
    test_no_service();
    test_reply_limit();
    test_fragmented_echo();
    test_mid_flow_mh();
    test_stateless_reply();
    CHECK_DONE();
}
