/* flowworker: the generated fanout program (run by libpcap's classic BPF interpreter, as the
 * kernel would run it on a frame's network header) picks the same worker as flow_worker() for
 * both directions of a flow, for ICMP errors about it, for its fragments, with IP options; and
 * one client's TCP connections spread over the workers. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "flowworker.h"
#include "testing.h"

#define PKT_ROOM 128
#define FLOWS_PER_CASE 2000
#define SPREAD_FLOWS 10000

struct ends {
    uint32_t saddr, daddr; /* host order */
    uint16_t sport, dport;
};

/* An IPv4 header (ihl words) and 8 bytes of L4 header at p; returns the length. */
static size_t put_ip(uint8_t *p, unsigned ihl, uint8_t proto, uint16_t frag, const struct ends *e)
{
    memset(p, 0, ihl * 4 + 8);
    p[0] = (uint8_t)(0x40 | ihl);
    p[6] = (uint8_t)(frag >> 8);
    p[7] = (uint8_t)frag;
    p[8] = 64;
    p[9] = proto;
    uint32_t s = htonl(e->saddr), d = htonl(e->daddr);
    memcpy(p + 12, &s, 4);
    memcpy(p + 16, &d, 4);
    uint16_t sp = htons(e->sport), dp = htons(e->dport);
    memcpy(p + ihl * 4, &sp, 2);
    memcpy(p + ihl * 4 + 2, &dp, 2);
    return ihl * 4 + 8;
}

/* An ICMP error from `outer` quoting a frame `quoted`. */
static size_t put_icmp_error(uint8_t *p, unsigned ihl, uint8_t type, const struct ends *outer, uint8_t qproto,
                             unsigned qihl, const struct ends *quoted)
{
    size_t n = put_ip(p, ihl, IPPROTO_ICMP, 0, outer);
    uint8_t *icmp = p + ihl * 4; /* put_ip left its 8 bytes zero: the ICMP header */
    icmp[0] = type;
    return n + put_ip(icmp + 8, qihl, qproto, 0, quoted);
}

static unsigned run(const struct sock_filter *prog, const uint8_t *pkt, size_t len)
{
    return bpf_filter((const struct bpf_insn *)prog, pkt, (unsigned)len, (unsigned)len);
}

static uint32_t rnd32(void)
{
    return ((uint32_t)rand() << 16) ^ (uint32_t)rand();
}

static void check_map(const struct flow_map *m)
{
    struct sock_filter ext[FLOW_PROG_MAX], in[FLOW_PROG_MAX];
    CHECK(flow_fanout_prog(m, true, ext) <= FLOW_PROG_MAX);
    CHECK(flow_fanout_prog(m, false, in) <= FLOW_PROG_MAX);
    uint8_t pkt[PKT_ROOM];
    for (unsigned i = 0; i < FLOWS_PER_CASE; i++) {
        uint8_t proto = (i & 1) ? IPPROTO_TCP : IPPROTO_UDP;
        unsigned ihl = 5 + (i % 3 == 0); /* some with a 4-byte option */
        uint32_t client = 0xc6336400u | (rnd32() & 0xff), vip = 0xc633640au, rs = 0xcb00710bu + (i & 3);
        uint16_t cport = (uint16_t)(1024 + rnd32() % 60000), vport = 80, rport = 8080;
        unsigned want = flow_worker(m, proto, htonl(client), htons(cport));
        CHECK(want < m->n_workers);

        struct ends request = { client, vip, cport, vport }, reply = { rs, client, rport, cport };
        CHECK_EQ_U(run(ext, pkt, put_ip(pkt, ihl, proto, 0, &request)), want);
        CHECK_EQ_U(run(in, pkt, put_ip(pkt, ihl, proto, 0, &reply)), want);
        /* The first fragment carries ports; a later one only addresses. */
        CHECK_EQ_U(run(ext, pkt, put_ip(pkt, ihl, proto, 0x2000, &request)), want);
        unsigned later = flow_worker(m, proto, htonl(client), 0);
        CHECK_EQ_U(run(ext, pkt, put_ip(pkt, ihl, proto, 0x00b9, &request)), later);
        CHECK_EQ_U(run(in, pkt, put_ip(pkt, ihl, proto, 0x20b9, &reply)), later);
        if (proto == IPPROTO_UDP || !m->use_port)
            CHECK_EQ_U(later, want);
        /* The client's router says our reply (VIP -> client) could not be delivered; a real
         * server's stack says the same of the request we forwarded (client -> server). */
        struct ends router = { 0xc6336401u, vip, 0, 0 }, sent_to_client = { vip, client, vport, cport };
        CHECK_EQ_U(run(ext, pkt, put_icmp_error(pkt, ihl, 3, &router, proto, 5 + (i % 2), &sent_to_client)), want);
        struct ends server = { rs, client, 0, 0 }, sent_to_server = { client, rs, cport, rport };
        CHECK_EQ_U(run(in, pkt, put_icmp_error(pkt, ihl, 11, &server, proto, 5, &sent_to_server)), want);
        /* A ping from the client goes by its address. */
        struct ends ping = { client, vip, 0, 0 };
        size_t n = put_ip(pkt, ihl, IPPROTO_ICMP, 0, &ping);
        pkt[ihl * 4] = 8;
        CHECK_EQ_U(run(ext, pkt, n), flow_worker(m, IPPROTO_ICMP, htonl(client), 0));
        /* A synced entry lands where its frames do. */
        struct conn c = { .caddr = htonl(client), .cport = htons(cport), .proto = proto };
        CHECK_EQ_U(flow_worker_of_entry(m, &c), want);
    }
}

/* One client's connections (the benchmark's wrk) are not all one worker's. */
static void check_spread(void)
{
    struct flow_map m = { .n_workers = 2, .mask = 0xffffffffu, .use_port = true };
    unsigned count[2] = { 0, 0 };
    for (unsigned port = 1024; port < 1024 + SPREAD_FLOWS; port++)
        count[flow_worker(&m, IPPROTO_TCP, htonl(0xc6336402u), htons((uint16_t)port))]++;
    CHECK(count[0] > SPREAD_FLOWS * 45 / 100 && count[1] > SPREAD_FLOWS * 45 / 100);
}

/* Persistence: every connection of a client network meets its template. */
static void check_persistence(void)
{
    static struct service_table t;
    t.n = 2;
    t.svc[0].persist_timeout = 300;
    t.svc[0].persist_mask = htonl(0xffffff00u);
    t.svc[1].persist_mask = htonl(0xffffffffu);
    struct flow_map m;
    flow_map_init(&m, 3, &t);
    CHECK(!m.use_port);
    CHECK_EQ_U(m.mask, 0xffffff00u);
    struct conn tpl = { .caddr = htonl(0xc6336400u), .proto = IPPROTO_TCP, .flags = CONN_F_TEMPLATE };
    unsigned owner = flow_worker_of_entry(&m, &tpl);
    for (unsigned host = 0; host < 256; host++)
        CHECK_EQ_U(flow_worker(&m, IPPROTO_TCP, htonl(0xc6336400u | host), htons((uint16_t)(2000 + host))), owner);
    t.svc[0].persist_timeout = 0;
    flow_map_init(&m, 3, &t);
    CHECK(m.use_port);
    CHECK_EQ_U(m.mask, 0xffffffffu);
}

int main(void)
{
    srand(7);
    for (unsigned n = 1; n <= 4; n++) {
        struct flow_map by_port = { .n_workers = n, .mask = 0xffffffffu, .use_port = true };
        struct flow_map by_net = { .n_workers = n, .mask = 0xffff0000u, .use_port = false };
        check_map(&by_port);
        check_map(&by_net);
    }
    check_spread();
    check_persistence();
    CHECK_DONE();
}
