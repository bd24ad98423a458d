/* test_service: the service table built from a hand-made config, lookups, and weight,
 * availability and resolution changes reaching the scheduler. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
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
    for (unsigned f = 0; f < 400; f++) hits[t->sched->schedule(t, f, 0)]++;
    CHECK(hits[0] == 300 && hits[1] == 100);

    /* 3:1 -> 0:1, then 1:3. */
    service_set_weight(t, 0, 0);
    CHECK(t->rs[0].weight == 0);
    for (unsigned f = 0; f < 50; f++) CHECK(t->sched->schedule(t, f, 0) == 1);
    service_set_weight(t, 0, 1);
    service_set_weight(t, 1, 3);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 400; f++) hits[t->sched->schedule(t, f, 0)]++;
    CHECK(hits[0] == 100 && hits[1] == 300);
    /* Out of range is ignored. */
    service_set_weight(t, 2, 5);
    service_set_weight(t, 99, 5);
    CHECK(t->rs[2].weight == 0);

    /* rr: the weight-0 server joins when given a weight, leaves when held out by health. */
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 100; f++) hits[u->sched->schedule(u, f, 0)]++;
    CHECK(hits[0] == 50 && hits[1] == 50 && hits[2] == 0);
    service_set_weight(u, 2, 1);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 300; f++) hits[u->sched->schedule(u, f, 0)]++;
    CHECK(hits[0] == 100 && hits[1] == 100 && hits[2] == 100);
    service_set_available(u, 0, false);
    CHECK(!u->rs[0].available);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 300; f++) hits[u->sched->schedule(u, f, 0)]++;
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

static int schedule_none(struct service *svc, uint32_t caddr, uint16_t cport)
{
    (void)svc;
    (void)caddr;
    (void)cport;
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
    for (unsigned f = 0; f < 50; f++) CHECK(t->sched->schedule(t, f, 0) == 1);
    for (unsigned f = 0; f < 50; f++) CHECK(u->sched->schedule(u, f, 0) == 1);

    /* Known again: wrr 3:1 as before. */
    unknown_addr = 0;
    service_table_resolve(&tab, 0, known_but_one, NULL);
    CHECK(t->rs[0].resolved && u->rs[0].resolved);
    for (unsigned f = 0; f < 400; f++) hits[t->sched->schedule(t, f, 0)]++;
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
        int r = tab.svc[0].sched->schedule(&tab.svc[0], htonl(0x01020304u), 0);
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

/* ---- connection limits (-x -y) through the real service_schedule ---- */

static const char *const sched_names_all[] = {"rr", "wrr", "lc", "wlc", "sh"};

/* One TCP service of two weight-1 servers, the first limited to u/l, under scheduler name. */
static struct service *limited_service(const char *name, uint32_t u, uint32_t l)
{
    char err[RAWLB_ERRLEN] = "";
    memset(&cfg, 0, sizeof(cfg));
    cfg.n_services = 1;
    struct service_config *sc = &cfg.services[0];
    sc->proto = IPPROTO_TCP;
    sc->vip.addr = VIP;
    sc->vip.port = htons(80);
    snprintf(sc->scheduler, sizeof(sc->scheduler), "%s", name);
    add_rs(sc, 0xc0a80a01u, 80, 1);
    add_rs(sc, 0xc0a80a02u, 80, 1);
    sc->rs[0].u_threshold = u;
    sc->rs[0].l_threshold = l;
    CHECK(service_table_init(&tab, &cfg, err, sizeof(err)));
    return &tab.svc[0];
}

/* n new flows from distinct clients as the connection table counts them (the picked server
 * gains an entry); how many went to server 0. */
static unsigned flows(struct service *svc, unsigned n)
{
    static unsigned client;
    unsigned to0 = 0;
    for (unsigned i = 0; i < n; i++) {
        int r = service_schedule(svc, htonl(0xc6336400u + client++), 0);
        CHECK(r == 0 || r == 1);
        if (r < 0)
            continue;
        __atomic_add_fetch(&svc->rs[r].inactive, 1, __ATOMIC_RELAXED);
        to0 += r == 0;
    }
    return to0;
}

/* With -y: overloaded at u (counted active + inactive), no new flows until below l. */
static void test_threshold_hysteresis(const char *name)
{
    struct service *svc = limited_service(name, 4, 2);
    CHECK(svc->has_threshold && !svc->rs[0].overloaded);
    unsigned got = flows(svc, 200);
    if (got != 4)
        fprintf(stderr, "%s: server 0 with -x 4 got %u of 200 new flows\n", name, got), check_failures++;
    CHECK(svc->rs[0].overloaded && !svc->rs[1].overloaded);
    CHECK_EQ_U(svc->rs[0].inactive, 4);

    svc->rs[0].inactive = 1;
    svc->rs[0].active = 2; /* 3: below u, not below l: still overloaded */
    CHECK_EQ_U(flows(svc, 100), 0);
    CHECK(svc->rs[0].overloaded);
    svc->rs[0].active = 0;
    svc->rs[0].inactive = 2; /* 2: not below l */
    CHECK_EQ_U(flows(svc, 100), 0);
    svc->rs[0].inactive = 1; /* below l: back in, up to u again */
    got = flows(svc, 200);
    if (got != 3)
        fprintf(stderr, "%s: server 0 back below -y 2 got %u new flows, want 3 (to -x 4)\n", name, got),
            check_failures++;
    CHECK(svc->rs[0].overloaded);

    /* -e -x 0: a new table without limits never holds a server out, however many it has. */
    service_table_free(&tab);
    svc = limited_service(name, 0, 2);
    svc->rs[0].inactive = 1000;
    svc->rs[1].inactive = 1000;
    CHECK(!svc->has_threshold);
    CHECK(flows(svc, 200) > 0 && !svc->rs[0].overloaded);
    service_table_free(&tab);
}

/* Without -y: back in below 3/4 of u (IPVS: total * 4 < u * 3). */
static void test_threshold_three_quarters(const char *name)
{
    struct service *svc = limited_service(name, 8, 0);
    CHECK_EQ_U(flows(svc, 300), 8);
    CHECK(svc->rs[0].overloaded);
    svc->rs[0].inactive = 6; /* 24 < 24 is false: stays out */
    CHECK_EQ_U(flows(svc, 100), 0);
    svc->rs[0].inactive = 5; /* 20 < 24: back in */
    CHECK_EQ_U(flows(svc, 300), 3);
    service_table_free(&tab);
}

/* Every server in the schedule at its limit: SERVICE_SCHED_LIMIT, not "no server"; a server out
 * of the schedule for another reason (weight 0, health) makes no difference to that; with none in
 * the schedule it is "no server" (-1), overloaded or not. Templates do not count. */
static void test_threshold_refusal(const char *name)
{
    struct service *svc = limited_service(name, 2, 0);
    svc->rs[1].u_threshold = 3; /* as a table from -x 3 on the second server */
    svc->rs[0].persistent = 50;
    CHECK_EQ_U(flows(svc, 5), 2);
    CHECK(service_schedule(svc, htonl(0xc6336401u), 0) == SERVICE_SCHED_LIMIT); /* decided at the pick */
    CHECK(svc->rs[0].overloaded && svc->rs[1].overloaded);
    service_set_weight(svc, 1, 0);
    CHECK(service_schedule(svc, htonl(0xc6336401u), 0) == SERVICE_SCHED_LIMIT);
    service_set_available(svc, 0, false);
    CHECK(service_schedule(svc, htonl(0xc6336401u), 0) == -1);
    service_set_available(svc, 0, true);
    svc->rs[0].active = svc->rs[0].inactive = 0; /* server 0 drained: taken again */
    CHECK(service_schedule(svc, htonl(0xc6336401u), 0) == 0);
    service_table_free(&tab);
}

static void test_thresholds(void)
{
    for (unsigned i = 0; i < sizeof sched_names_all / sizeof sched_names_all[0]; i++) {
        test_threshold_hysteresis(sched_names_all[i]);
        test_threshold_three_quarters(sched_names_all[i]);
        test_threshold_refusal(sched_names_all[i]);
    }
}

static void test_find_by_server(void)
{
    unsigned rs = 99;
    CHECK(service_find_by_server(&tab, IPPROTO_TCP, htonl(0xc0a80a02u), htons(8080), &rs) == 0);
    CHECK_EQ_U(rs, 1);
    CHECK(service_find_by_server(&tab, IPPROTO_UDP, htonl(0xc0a80a05u), htons(53), &rs) == 1);
    CHECK_EQ_U(rs, 2);
    /* Each of proto, address and port must match. */
    CHECK(service_find_by_server(&tab, IPPROTO_UDP, htonl(0xc0a80a01u), htons(8080), &rs) == -1);
    CHECK(service_find_by_server(&tab, IPPROTO_TCP, htonl(0xc0a80a01u), htons(8081), &rs) == -1);
    CHECK(service_find_by_server(&tab, IPPROTO_TCP, htonl(0xc0a80a09u), htons(8080), &rs) == -1);
    CHECK(service_find_by_server(&tab, IPPROTO_TCP, VIP, htons(80), &rs) == -1); /* a VIP is no server */

    /* A sorry server is found as its service's; a server in two services is nobody's. */
    char err[RAWLB_ERRLEN] = "";
    struct service_table *two = calloc(1, sizeof *two);
    CHECK(two != NULL);
    memset(&cfg, 0, sizeof(cfg));
    cfg.n_services = 2;
    for (unsigned i = 0; i < 2; i++) {
        struct service_config *sc = &cfg.services[i];
        sc->proto = IPPROTO_TCP;
        sc->vip.addr = VIP;
        sc->vip.port = htons((uint16_t)(80 + i));
        snprintf(sc->scheduler, sizeof(sc->scheduler), "mh");
        add_rs(sc, 0xc0a80b01u + i, 80, 1); /* its own */
        add_rs(sc, 0xc0a80bffu, 80, 1);     /* in both */
    }
    cfg.services[0].check.has_sorry = true;
    cfg.services[0].check.sorry = (struct endpoint){ .addr = htonl(0xc0a80c01u), .port = htons(80) };
    CHECK(service_table_init(two, &cfg, err, sizeof(err)));
    CHECK(service_find_by_server(two, IPPROTO_TCP, htonl(0xc0a80b02u), htons(80), &rs) == 1);
    CHECK_EQ_U(rs, 0);
    CHECK(service_find_by_server(two, IPPROTO_TCP, htonl(0xc0a80c01u), htons(80), &rs) == 0);
    CHECK_EQ_U(rs, service_sorry_index(&two->svc[0]));
    CHECK(service_find_by_server(two, IPPROTO_TCP, htonl(0xc0a80bffu), htons(80), &rs) == -1);
    service_table_free(two);

    /* A full table: every server of every service where it is. */
    memset(&cfg, 0, sizeof(cfg));
    cfg.n_services = RAWLB_MAX_SERVICES;
    for (unsigned i = 0; i < RAWLB_MAX_SERVICES; i++) {
        struct service_config *sc = &cfg.services[i];
        sc->proto = i % 2 ? IPPROTO_UDP : IPPROTO_TCP;
        sc->vip.addr = VIP;
        sc->vip.port = htons((uint16_t)(1000 + i));
        snprintf(sc->scheduler, sizeof(sc->scheduler), "rr");
        for (unsigned j = 0; j < RAWLB_MAX_RS_PER_SERVICE; j++)
            add_rs(sc, 0xc0a80000u + i * 256 + j, (uint16_t)(2000 + j), 1);
    }
    CHECK(service_table_init(two, &cfg, err, sizeof(err)));
    unsigned found = 0;
    for (unsigned i = 0; i < RAWLB_MAX_SERVICES; i++)
        for (unsigned j = 0; j < RAWLB_MAX_RS_PER_SERVICE; j++)
            found += service_find_by_server(two, i % 2 ? IPPROTO_UDP : IPPROTO_TCP, htonl(0xc0a80000u + i * 256 + j),
                                            htons((uint16_t)(2000 + j)), &rs) == (int)i &&
                     rs == j;
    CHECK_EQ_U(found, RAWLB_MAX_SERVICES * RAWLB_MAX_RS_PER_SERVICE);
    service_table_free(two);
    free(two);
}

int main(void)
{
    test_init();
    test_find();
    test_find_by_server();
    test_weights();
    test_resolve();
    test_errors();
    test_thresholds();
    CHECK_DONE();
}
