/* test_service: the service table built from a hand-made config, lookups, and weight,
 * availability and resolution changes reaching the scheduler. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "testing.h"
#include "scheduler.h"
#include "service.h"

static struct rawlb_config cfg;
static struct service_table tab;

#define VIP htonl(0x0a000001u)  /* 10.0.0.1 */
#define VIP2 htonl(0x0a000002u) /* 10.0.0.2 */

static void add_rs(struct service_config *sc, uint32_t host, uint16_t port, int weight)
{
    struct rs_config *rs = &sc->rs[sc->n_rs++];
    rs->ep.addr = htonl(host);
    rs->ep.port = htons(port);
    rs->weight = weight;
}

static void build_config(void)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.n_services = 2;

    struct service_config *tcp = &cfg.services[0];
    tcp->proto = IPPROTO_TCP;
    tcp->vip.addr = VIP;
    tcp->vip.port = htons(80);
    snprintf(tcp->scheduler, sizeof(tcp->scheduler), "wrr");
    tcp->persist_timeout = 300;
    tcp->persist_mask = htonl(0xffffff00u);
    add_rs(tcp, 0xc0a80a01u, 8080, 3);
    add_rs(tcp, 0xc0a80a02u, 8080, 1);

    struct service_config *udp = &cfg.services[1];
    udp->proto = IPPROTO_UDP;
    udp->vip.addr = VIP2;
    udp->vip.port = htons(53);
    snprintf(udp->scheduler, sizeof(udp->scheduler), "rr");
    udp->one_packet = true;
    add_rs(udp, 0xc0a80a03u, 53, 1);
    add_rs(udp, 0xc0a80a04u, 53, 1);
    add_rs(udp, 0xc0a80a05u, 53, 0);
}

static void test_init(void)
{
    char err[RAWLB_ERRLEN] = "";

    build_config();
    CHECK(service_table_init(&tab, &cfg, err, sizeof(err)));
    CHECK_EQ_U(tab.n, 2);

    const struct service *t = &tab.svc[0], *u = &tab.svc[1];
    CHECK(t->proto == IPPROTO_TCP && t->vip.addr == VIP && t->vip.port == htons(80));
    CHECK(t->sched == &sched_wrr_ops && t->sched_data != NULL);
    CHECK_EQ_U(t->persist_timeout, 300);
    CHECK(t->persist_mask == htonl(0xffffff00u));
    CHECK(!t->one_packet);
    CHECK_EQ_U(t->n_rs, 2);
    CHECK(t->rs[0].ep.addr == htonl(0xc0a80a01u) && t->rs[0].ep.port == htons(8080));
    CHECK(t->rs[0].weight == 3 && t->rs[1].weight == 1);

    CHECK(u->proto == IPPROTO_UDP && u->vip.addr == VIP2 && u->vip.port == htons(53));
    CHECK(u->sched == &sched_rr_ops);
    CHECK(u->one_packet);
    CHECK_EQ_U(u->n_rs, 3);
    CHECK(u->rs[2].weight == 0);

    for (unsigned s = 0; s < tab.n; s++)
        for (unsigned i = 0; i < tab.svc[s].n_rs; i++) {
            const struct real_server *rs = &tab.svc[s].rs[i];
            CHECK(rs->available && rs->resolved);
            CHECK(rs->active == 0 && rs->inactive == 0 && rs->persistent == 0 && rs->stats.conns == 0);
        }
}

static void test_find(void)
{
    CHECK(service_find(&tab, IPPROTO_TCP, VIP, htons(80)) == 0);
    CHECK(service_find(&tab, IPPROTO_UDP, VIP2, htons(53)) == 1);
    /* Each of proto, address and port must match. */
    CHECK(service_find(&tab, IPPROTO_UDP, VIP, htons(80)) == -1);
    CHECK(service_find(&tab, IPPROTO_TCP, VIP2, htons(53)) == -1);
    CHECK(service_find(&tab, IPPROTO_TCP, VIP, htons(443)) == -1);
    CHECK(service_find(&tab, IPPROTO_TCP, VIP, 80) == -1); /* host order is a different port */
    CHECK(service_find(&tab, IPPROTO_TCP, VIP2, htons(80)) == -1);
    CHECK(service_find(&tab, IPPROTO_ICMP, VIP, htons(80)) == -1);

    CHECK(service_is_vip(&tab, VIP));
    CHECK(service_is_vip(&tab, VIP2));
    CHECK(!service_is_vip(&tab, htonl(0x0a000003u)));
    CHECK(!service_is_vip(&tab, htonl(0xc0a80a01u))); /* a real server is not a VIP */
    CHECK(!service_is_vip(&tab, 0));
}

static void test_weights(void)
{
    struct service *t = &tab.svc[0], *u = &tab.svc[1];
    unsigned hits[3] = {0};

    /* wrr 3:1 as configured. */
    for (unsigned f = 0; f < 400; f++) hits[t->sched->schedule(t, f)]++;
    CHECK(hits[0] == 300 && hits[1] == 100);

    /* 3:1 -> 0:1, then 1:3. */
    service_set_weight(t, 0, 0);
    CHECK(t->rs[0].weight == 0);
    for (unsigned f = 0; f < 50; f++) CHECK(t->sched->schedule(t, f) == 1);
    service_set_weight(t, 0, 1);
    service_set_weight(t, 1, 3);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 400; f++) hits[t->sched->schedule(t, f)]++;
    CHECK(hits[0] == 100 && hits[1] == 300);
    /* Out of range is ignored. */
    service_set_weight(t, 2, 5);
    service_set_weight(t, 99, 5);
    CHECK(t->rs[2].weight == 0);

    /* rr: the weight-0 server joins when given a weight, leaves when held out by health. */
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 100; f++) hits[u->sched->schedule(u, f)]++;
    CHECK(hits[0] == 50 && hits[1] == 50 && hits[2] == 0);
    service_set_weight(u, 2, 1);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 300; f++) hits[u->sched->schedule(u, f)]++;
    CHECK(hits[0] == 100 && hits[1] == 100 && hits[2] == 100);
    service_set_available(u, 0, false);
    CHECK(!u->rs[0].available);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 300; f++) hits[u->sched->schedule(u, f)]++;
    CHECK(hits[0] == 0 && hits[1] == 150 && hits[2] == 150);
}

static uint32_t unknown_addr;
static unsigned asked, updates;

static bool known_but_one(void *arg, uint32_t addr)
{
    (void)arg;
    asked++;
    return addr != unknown_addr;
}

static void count_update(struct service *svc)
{
    (void)svc;
    updates++;
}

static int schedule_none(struct service *svc, uint32_t caddr)
{
    (void)svc;
    (void)caddr;
    return -1;
}

/* The neighbour table's word: a server whose MAC is not known gets no new flows, in every
 * service that has it; only a service where a flag changed has its scheduler told. */
static void test_resolve(void)
{
    static const struct sched_ops counting = { .name = "counting", .update = count_update, .schedule = schedule_none };
    char err[RAWLB_ERRLEN] = "";
    struct service *t = &tab.svc[0], *u = &tab.svc[1];
    unsigned hits[3] = {0};

    service_table_free(&tab);
    build_config();
    cfg.services[1].rs[0].ep.addr = htonl(0xc0a80a01u); /* the TCP service's first server, on port 53 */
    CHECK(service_table_init(&tab, &cfg, err, sizeof(err)));
    unknown_addr = htonl(0xc0a80a01u);
    service_table_resolve(&tab, 0, known_but_one, NULL);
    CHECK_EQ_U(asked, 5); /* every real server once */
    CHECK(!t->rs[0].resolved && t->rs[1].resolved && !u->rs[0].resolved && u->rs[1].resolved && u->rs[2].resolved);
    CHECK(t->rs[0].available && !rs_schedulable(&t->rs[0]));
    for (unsigned f = 0; f < 50; f++) CHECK(t->sched->schedule(t, f) == 1);
    for (unsigned f = 0; f < 50; f++) CHECK(u->sched->schedule(u, f) == 1);

    /* Known again: wrr 3:1 as before. */
    unknown_addr = 0;
    service_table_resolve(&tab, 0, known_but_one, NULL);
    CHECK(t->rs[0].resolved && u->rs[0].resolved);
    for (unsigned f = 0; f < 400; f++) hits[t->sched->schedule(t, f)]++;
    CHECK(hits[0] == 300 && hits[1] == 100);

    /* One address: only the servers there are looked at. */
    asked = 0;
    unknown_addr = htonl(0xc0a80a01u);
    service_table_resolve(&tab, unknown_addr, known_but_one, NULL);
    CHECK_EQ_U(asked, 2);
    CHECK(!t->rs[0].resolved && t->rs[1].resolved && !u->rs[0].resolved && u->rs[1].resolved);
    unknown_addr = 0;
    service_table_resolve(&tab, htonl(0xc0a80a02u), known_but_one, NULL);
    CHECK(!t->rs[0].resolved && !u->rs[0].resolved); /* not asked, so not changed */
    service_table_resolve(&tab, htonl(0xc0a80a01u), known_but_one, NULL);
    CHECK(t->rs[0].resolved && u->rs[0].resolved);

    /* The scheduler hears of a change, and of nothing else. */
    const struct sched_ops *wrr = t->sched;
    t->sched = &counting;
    updates = 0;
    service_table_resolve(&tab, 0, known_but_one, NULL);
    CHECK_EQ_U(updates, 0);
    unknown_addr = htonl(0xc0a80a02u);
    service_table_resolve(&tab, 0, known_but_one, NULL);
    CHECK_EQ_U(updates, 1);
    CHECK(!t->rs[1].resolved);
    t->sched = wrr;
}

static void test_errors(void)
{
    char err[RAWLB_ERRLEN] = "";

    service_table_free(&tab);
    CHECK_EQ_U(tab.n, 0);
    service_table_free(&tab); /* twice is harmless */

    /* The config is validated first, but an unknown name still fails cleanly. */
    build_config();
    snprintf(cfg.services[1].scheduler, sizeof(cfg.services[1].scheduler), "nq");
    CHECK(!service_table_init(&tab, &cfg, err, sizeof(err)));
    CHECK(strstr(err, "nq") != NULL);
    CHECK(strstr(err, "10.0.0.2:53") != NULL);
    CHECK_EQ_U(tab.n, 0);

    /* Every scheduler initialises and frees through the table; an empty config is fine. */
    static const char *const names[] = {"rr", "wrr", "lc", "wlc", "sh"};
    for (unsigned i = 0; i < 5; i++) {
        build_config();
        snprintf(cfg.services[0].scheduler, sizeof(cfg.services[0].scheduler), "%s", names[i]);
        CHECK(service_table_init(&tab, &cfg, err, sizeof(err)));
        int r = tab.svc[0].sched->schedule(&tab.svc[0], htonl(0x01020304u));
        CHECK(r == 0 || r == 1);
        service_table_free(&tab);
    }
    memset(&cfg, 0, sizeof(cfg));
    CHECK(service_table_init(&tab, &cfg, err, sizeof(err)));
    CHECK_EQ_U(tab.n, 0);
    CHECK(service_find(&tab, IPPROTO_TCP, VIP, htons(80)) == -1);
    CHECK(!service_is_vip(&tab, VIP));
    service_table_free(&tab);
}

int main(void)
{
    test_init();
    test_find();
    test_weights();
    test_resolve();
    test_errors();
    CHECK_DONE();
}
