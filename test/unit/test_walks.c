/* test_walks: the table walks that run in bounded slices. The reap walk (fastpath_reap_some),
 * after health drops a server's flows (service_drop_flows) or an edit removes one
 * (reconfig_apply): the entries it has not come to yet already answer as dropped, every entry of
 * the retired slot ends up reset however the table changes between two slices, entries made for
 * the server afterwards are left alone, more retirements mid-walk start it over, and a slot is
 * not handed out again while an entry names it. The conns listing in parts (ctlproto_conns_part):
 * on an unchanged table the parts make the one-call listing, and an entry that stays through a
 * changing table is shown exactly once. Timings are tools/walk-bench.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "testing.h"
#include "config.h"
#include "conn.h"
#include "ctlproto.h"
#include "fastpath.h"
#include "fpenv.h"
#include "frames.h"
#include "neigh.h"
#include "packet.h"
#include "reconfig.h"
#include "service.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define VIP IP4(198, 51, 100, 10)
#define RS11 IP4(203, 0, 113, 11)
#define RS12 IP4(203, 0, 113, 12)
#define CLIENT_NET IP4(192, 0, 2, 0)

#define ARGS "-e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80 -r 203.0.113.12:80"
#define ARGS_WITHOUT_12 "-e ext -i int -n 203.0.113.1 -t 198.51.100.10:80 -r 203.0.113.11:80"
#define CAPACITY 8192
#define FLOWS 3000
#define BUDGET 97 /* pool slots per slice: not a divisor of anything here */
#define NOW 100

static struct rawlb_config cfg;
static struct service_table svcs;
static struct neigh_table neigh;
static struct fastpath fp;
static const struct fpenv env = { &cfg, &svcs, &neigh, &fp };
static uint8_t buf[70000];
#define F (buf + FRAME_VNET_LEN)

static void env_up(void)
{
    struct fpenv_opts o = { .max_conns = CAPACITY, .ext_mtu = 1500, .int_mtu = 1500, .seed = 0x5eed };
    fpenv_up(&env, ARGS, &o);
}

/* An established flow from client port cport to the real server at index rs of service 0, made
 * as the fast path makes one (its watcher counts it). */
static struct conn *add_flow(unsigned rs, uint16_t cport)
{
    const struct service *svc = &svcs.svc[0];
    struct conn e = { .caddr = htonl(CLIENT_NET | (cport & 0xff)), .cport = htons(cport), .vaddr = htonl(VIP),
                      .vport = htons(80), .daddr = svc->rs[rs].ep.addr, .dport = svc->rs[rs].ep.port,
                      .proto = IPPROTO_TCP, .svc = svc->slot, .rs = svc->rs[rs].slot, .template = CONN_NONE };
    struct conn *c = conn_create(&fp.conns, &e);
    CHECK(c != NULL);
    if (c)
        conn_change_state(&fp.conns, c, TCP_S_ESTABLISHED);
    return c;
}

static void fill(void)
{
    for (unsigned i = 0; i < FLOWS; i++)
        add_flow(i % 2, (uint16_t)(10000 + i));
}

struct census {
    uint16_t svc_slot, rs_slot;
    unsigned named, reset; /* entries naming that slot, and how many of them are marked */
    unsigned other_reset;  /* entries naming any other slot that are marked */
};

static void census_entry(void *arg, struct conn_table *t, struct conn *c)
{
    (void)t;
    struct census *k = arg;
    bool reset = c->flags & CONN_F_RESET;
    if (c->svc == k->svc_slot && c->rs == k->rs_slot) {
        k->named++;
        k->reset += reset;
    } else {
        k->other_reset += reset;
    }
}

static struct census census_of(uint16_t svc_slot, uint16_t rs_slot)
{
    struct census k = { .svc_slot = svc_slot, .rs_slot = rs_slot };
    conn_for_each(&fp.conns, census_entry, &k);
    return k;
}

static enum fp_verdict client_ack(uint16_t cport)
{
    struct frame_spec s = fpenv_client_spec(IPPROTO_TCP, CLIENT_NET | (cport & 0xff), cport, VIP, 80);
    s.tcp_flags = TH_ACK_;
    s.seq = 1000;
    s.ack = 5000;
    size_t len = frame_build(buf, &s);
    return fastpath_handle(&fp, true, buf, &len, NOW);
}

static enum fp_verdict server_ack(uint32_t raddr, uint16_t cport)
{
    struct frame_spec s = fpenv_server_spec(IPPROTO_TCP, raddr, 80, CLIENT_NET | (cport & 0xff), cport);
    s.tcp_flags = TH_ACK_;
    s.seq = 5000;
    s.ack = 1000;
    size_t len = frame_build(buf, &s);
    return fastpath_handle(&fp, false, buf, &len, NOW);
}

/* Reaps in BUDGET slices, calling between(i) before slice i; returns the number of slices. */
static unsigned reap_in_slices(void (*between)(unsigned slice))
{
    bool done = false;
    unsigned slices = 0;
    while (!done && slices < 10 * CAPACITY) {
        if (between)
            between(slices);
        fastpath_reap_some(&fp, BUDGET, &done);
        slices++;
    }
    return slices;
}

/* Between slices the table changes: entries behind and ahead of the cursor go, new flows to
 * both servers come (to .11 under its fresh slot), some in the slots freed. */
static unsigned made_after;
static void churn(unsigned slice)
{
    if (slice % 3)
        return;
    uint32_t cur = fp.reap_cursor;
    uint32_t picks[2] = { cur ? cur - 1 : 0, cur + BUDGET + 5 };
    for (unsigned i = 0; i < 2; i++)
        if (picks[i] < fp.conns.never_used && (fp.conns.pool[picks[i]].flags & CONN_F_LIVE))
            conn_delete(&fp.conns, &fp.conns.pool[picks[i]]);
    add_flow(0, (uint16_t)(20000 + made_after++));
    add_flow(1, (uint16_t)(20000 + made_after++));
}

static void test_drop_walk(void)
{
    env_up();
    fill();
    struct service *svc = &svcs.svc[0];
    struct real_server *r11 = &svc->rs[0];
    const uint16_t svc_slot = svc->slot, old_slot = r11->slot;
    CHECK_EQ_U(r11->active, FLOWS / 2);
    uint32_t flows = 0;
    CHECK(service_drop_flows(&svcs, 0, 0, &flows));
    CHECK_EQ_U(flows, FLOWS / 2);
    CHECK(r11->slot != old_slot);
    CHECK_EQ_U(r11->active + r11->inactive, 0);
    struct census k = census_of(svc_slot, old_slot);
    CHECK_EQ_U(k.named, FLOWS / 2);
    CHECK_EQ_U(k.reset, 0); /* nothing walked yet */

    /* Before the walk comes to them: a client's segment gets an RST from the VIP and the entry
     * goes; a reply from the server finds nothing. Port 10000 is .11's first flow, 10002 its
     * second. */
    uint64_t resets = fp.stats.resets_sent, no_conn = fp.stats.drops[FP_DROP_NO_CONN];
    CHECK_EQ_U(client_ack(10000), FP_VERDICT_TX_EXT);
    CHECK(l4of(F)[13] & TH_RST_);
    CHECK_EQ_U(fp.stats.resets_sent, resets + 1);
    CHECK_EQ_U(server_ack(RS11, 10002), FP_VERDICT_DROP);
    CHECK_EQ_U(fp.stats.drops[FP_DROP_NO_CONN], no_conn + 1);
    /* .12's flows go on. */
    CHECK_EQ_U(client_ack(10001), FP_VERDICT_TX_INT);

    /* The walk, in slices, with the table changing between them. */
    made_after = 0;
    unsigned slices = reap_in_slices(churn);
    CHECK(slices >= FLOWS / BUDGET); /* bounded slices, not one call */
    CHECK(!fp.reaping && fp.reap_cursor >= fp.conns.never_used);
    k = census_of(svc_slot, old_slot);
    CHECK(k.named > 0);
    CHECK_EQ_U(k.reset, k.named); /* every entry of the dropped server is marked */
    CHECK_EQ_U(census_of(svc_slot, r11->slot).reset, 0); /* those made afterwards are not */
    CHECK_EQ_U(k.other_reset, 0);
    CHECK(made_after > 0);
    CHECK_EQ_U(r11->active, census_of(svc_slot, r11->slot).named);

    /* The tombstone is not handed out while named; once its entries are gone, it is. */
    CHECK(svcs.slots.svc[svc_slot].rs[old_slot].refs == k.named);
    int taken = slots_take_server(&svcs.slots, svc_slot, 0, 0);
    CHECK(taken >= 0 && taken != old_slot);
    slots_retire(&svcs.slots, svc_slot, (unsigned)taken); /* never named: free again at once */
    fastpath_tick(&fp, NOW + CONN_TIMEOUT_RESET + 1);      /* the reset entries expire */
    CHECK_EQ_U(census_of(svc_slot, old_slot).named, 0);
    CHECK_EQ_U(svcs.slots.svc[svc_slot].rs[old_slot].refs, 0);
    taken = slots_take_server(&svcs.slots, svc_slot, 0, 0);
    CHECK_EQ_U(taken, old_slot); /* the lowest free slot */
    fpenv_down(&env);
}

/* A second server dropped while the first one's walk is half way: the walk starts over, so .12's
 * entries behind the cursor are marked too. */
static void test_walk_restarts(void)
{
    env_up();
    fill();
    const uint16_t svc_slot = svcs.svc[0].slot, slot11 = svcs.svc[0].rs[0].slot, slot12 = svcs.svc[0].rs[1].slot;
    uint32_t flows;
    bool done;
    CHECK(service_drop_flows(&svcs, 0, 0, &flows));
    for (unsigned i = 0; i < 10; i++)
        fastpath_reap_some(&fp, BUDGET, &done);
    CHECK(!done && fp.reap_cursor == 10 * BUDGET);
    CHECK(service_drop_flows(&svcs, 0, 1, &flows));
    CHECK_EQ_U(flows, FLOWS / 2);
    fastpath_reap_some(&fp, BUDGET, &done);
    CHECK_EQ_U(fp.reap_cursor, BUDGET); /* started over */
    reap_in_slices(NULL);
    struct census k11 = census_of(svc_slot, slot11), k12 = census_of(svc_slot, slot12);
    CHECK_EQ_U(k11.named, FLOWS / 2);
    CHECK_EQ_U(k11.reset, FLOWS / 2);
    CHECK_EQ_U(k12.named, FLOWS / 2);
    CHECK_EQ_U(k12.reset, FLOWS / 2);
    fpenv_down(&env);
}

/* An edit removing .12 changes no entry; its entries are then dropped when met and reaped. */
static void test_edit_walk(void)
{
    static struct rawlb_config next;
    static struct conn pool_before[CAPACITY];
    env_up();
    fill();
    fpenv_parse(&next, ARGS_WITHOUT_12);
    const uint16_t svc_slot = svcs.svc[0].slot, slot12 = svcs.svc[0].rs[1].slot;
    memcpy(pool_before, fp.conns.pool, sizeof pool_before);
    struct reconfig_result res;
    char err[256];
    CHECK(reconfig_apply(&svcs, &next, &res, err, sizeof err));
    CHECK(memcmp(pool_before, fp.conns.pool, sizeof pool_before) == 0);
    CHECK_EQ_U(res.flows_dropped, FLOWS / 2);
    CHECK(!slots_live(service_slot_of(&svcs, svc_slot, slot12)));
    CHECK_EQ_U(server_ack(RS12, 10001), FP_VERDICT_DROP);
    CHECK_EQ_U(client_ack(10003), FP_VERDICT_TX_EXT); /* .12's second flow: an RST */
    CHECK(l4of(F)[13] & TH_RST_);
    CHECK_EQ_U(client_ack(10000), FP_VERDICT_TX_INT); /* .11's flow goes on */
    reap_in_slices(NULL);
    struct census k = census_of(svc_slot, slot12);
    CHECK_EQ_U(k.named, FLOWS / 2 - 1);
    CHECK_EQ_U(k.reset, k.named);
    CHECK_EQ_U(k.other_reset, 0);
    fpenv_down(&env);
}

/* ---- the conns listing in parts ---- */

#define PART_LEN 2048
#define PART_SLOTS 64
#define LISTING_MAX (1 << 20)

/* The listing in parts of PART_SLOTS pool slots into out; between(i) before part i. */
static size_t list_in_parts(char *out, void (*between)(unsigned part), unsigned *parts)
{
    static char part[PART_LEN];
    struct conn_table *tables[] = { &fp.conns };
    struct ctl_conns_listing l;
    ctlproto_conns_begin(&l, &svcs, tables, 1, NOW, NULL, false, LISTING_MAX);
    size_t n = 0;
    bool done = false;
    for (*parts = 0; !done; (*parts)++) {
        if (between)
            between(*parts);
        size_t got = ctlproto_conns_part(&l, PART_SLOTS, part, sizeof part, &done);
        CHECK(got < sizeof part);
        memcpy(out + n, part, got);
        n += got;
    }
    out[n] = '\0';
    return n;
}

static unsigned count_lines_with(const char *text, const char *needle)
{
    unsigned n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Between parts: flows of ports 10000..10099 end and new ones come (some in their pool slots). */
static void listing_churn(unsigned part)
{
    if (part >= 100)
        return;
    struct conn *c = conn_lookup_in(&fp.conns, IPPROTO_TCP, htonl(CLIENT_NET | ((10000 + part) & 0xff)),
                                    htons((uint16_t)(10000 + part)), htonl(VIP), htons(80));
    if (c)
        conn_delete(&fp.conns, c);
    add_flow(part % 2, (uint16_t)(30000 + part));
}

static void test_listing_parts(void)
{
    static char whole[LISTING_MAX], parted[LISTING_MAX];
    env_up();
    fill();
    struct conn_table *tables[] = { &fp.conns };
    size_t n = ctlproto_render_conns(&svcs, tables, 1, NOW, NULL, false, whole, sizeof whole);
    unsigned parts;
    size_t m = list_in_parts(parted, NULL, &parts);
    CHECK(parts > FLOWS / PART_SLOTS);
    CHECK_EQ_U(m, n);
    CHECK(strcmp(whole, parted) == 0);
    CHECK_EQ_U(count_lines_with(parted, "ESTABLISHED"), FLOWS);

    /* A changing table: every flow that lives through the listing is in it once. */
    list_in_parts(parted, listing_churn, &parts);
    unsigned missing_or_twice = 0;
    for (unsigned i = 100; i < FLOWS; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "192.0.2.%u:%u ", (10000 + i) & 0xff, 10000 + i);
        missing_or_twice += count_lines_with(parted, needle) != 1;
    }
    CHECK_EQ_U(missing_or_twice, 0);
    fpenv_down(&env);
}

int main(void)
{
    test_drop_walk();
    test_walk_restarts();
    test_edit_walk();
    test_listing_parts();
    CHECK_DONE();
}
