/* test_sched: every scheduler against hand-built services: eligibility (weight 0, unavailable,
 * unresolved, none left), then each one's own distribution as IPVS would give it. mh has its
 * own notion of a server that is up, and its own test (test_sched_mh). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "scheduler.h"

static const struct sched_ops *const all_ops[] = {
    &sched_rr_ops, &sched_wrr_ops, &sched_lc_ops, &sched_wlc_ops, &sched_sh_ops, &sched_mh_ops,
};
#define N_OPS (sizeof(all_ops) / sizeof(all_ops[0]))

/* Static: struct service is a few kilobytes. */
static struct service svc;

static void svc_setup(const struct sched_ops *ops, const int *weights, unsigned n)
{
    memset(&svc, 0, sizeof(svc));
    svc.sched = ops;
    svc.n_rs = n;
    for (unsigned i = 0; i < n; i++) {
        svc.rs[i].ep.addr = htonl(0x0a000100u + i + 1);
        svc.rs[i].ep.port = htons(80);
        svc.rs[i].weight = svc.rs[i].config_weight = weights[i];
        svc.rs[i].available = svc.rs[i].resolved = true;
    }
    if (ops->init) CHECK(ops->init(&svc));
}

static void svc_teardown(void)
{
    if (svc.sched->done) svc.sched->done(&svc);
    CHECK(svc.sched_data == NULL);
}

static uint32_t client(unsigned i)
{
    return htonl(0xc0a80000u + i); /* 192.168.0.0 + i, consecutive addresses */
}

/* One new flow as the connection table would account it: the picked server gains an entry. */
static int pick(unsigned flow)
{
    int i = svc.sched->schedule(&svc, client(flow), 0);
    if (i >= 0) svc.rs[i].inactive++;
    return i;
}

static void test_registry(void)
{
    char names[64];
    unsigned found = 0;

    snprintf(names, sizeof(names), "%s", sched_names());
    for (char *save = NULL, *w = strtok_r(names, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        const struct sched_ops *ops = sched_find(w);
        CHECK(ops != NULL);
        if (ops) CHECK(strcmp(ops->name, w) == 0);
        found++;
    }
    CHECK_EQ_U(found, N_OPS);
    for (unsigned i = 0; i < N_OPS; i++) {
        CHECK(sched_find(all_ops[i]->name) == all_ops[i]);
        CHECK(all_ops[i]->schedule != NULL);
        CHECK(strlen(all_ops[i]->name) < RAWLB_SCHED_NAMELEN);
        for (unsigned j = i + 1; j < N_OPS; j++) CHECK(strcmp(all_ops[i]->name, all_ops[j]->name) != 0);
    }
    CHECK(sched_find("nq") == NULL);
    CHECK(sched_find("") == NULL);
    CHECK(sched_find("WLC") == NULL);
    CHECK(sched_find(NULL) == NULL);
}

static void test_eligibility(const struct sched_ops *ops)
{
    unsigned hits[4];

    /* Weight 0 is never chosen. */
    svc_setup(ops, (const int[]){1, 0, 2, 1}, 4);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 1000; f++) {
        int i = pick(f);
        CHECK(i >= 0 && i < 4);
        if (i >= 0) hits[i]++;
    }
    CHECK_EQ_U(hits[1], 0);
    CHECK(hits[0] > 0 && hits[2] > 0 && hits[3] > 0);
    svc_teardown();

    /* Unavailable is never chosen, whether set before init or changed later. */
    svc_setup(ops, (const int[]){1, 1, 1, 1}, 4);
    service_set_available(&svc, 2, false);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 1000; f++) {
        int i = pick(f);
        CHECK(i >= 0 && i < 4);
        if (i >= 0) hits[i]++;
    }
    CHECK_EQ_U(hits[2], 0);
    CHECK(hits[0] > 0 && hits[1] > 0 && hits[3] > 0);
    service_set_available(&svc, 2, true);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 1000; f++) {
        int i = pick(f);
        if (i >= 0) hits[i]++;
    }
    CHECK(hits[2] > 0);

    /* Unresolved (its MAC not known yet) is never chosen either, once the scheduler is told. */
    svc.rs[1].resolved = false;
    if (ops->update) ops->update(&svc);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 1000; f++) {
        int i = pick(f);
        CHECK(i >= 0 && i < 4);
        if (i >= 0) hits[i]++;
    }
    CHECK_EQ_U(hits[1], 0);
    CHECK(hits[0] > 0 && hits[2] > 0 && hits[3] > 0);
    svc.rs[1].resolved = true;
    if (ops->update) ops->update(&svc);

    /* -1 when nothing is left: all unavailable, then all at weight 0. */
    for (unsigned i = 0; i < 4; i++) service_set_available(&svc, i, false);
    for (unsigned f = 0; f < 100; f++) CHECK(pick(f) == -1);
    for (unsigned i = 0; i < 4; i++) {
        service_set_available(&svc, i, true);
        service_set_weight(&svc, i, 0);
    }
    for (unsigned f = 0; f < 100; f++) CHECK(pick(f) == -1);
    /* And back. */
    service_set_weight(&svc, 3, 5);
    for (unsigned f = 0; f < 100; f++) CHECK(pick(f) == 3);
    svc_teardown();

    /* Weight 0 from the start, and an empty service. */
    svc_setup(ops, (const int[]){0, 0}, 2);
    CHECK(pick(1) == -1);
    svc_teardown();
    svc_setup(ops, NULL, 0);
    CHECK(pick(1) == -1);
    svc_teardown();
}

static void test_rr(void)
{
    svc_setup(&sched_rr_ops, (const int[]){1, 1, 1}, 3);
    for (unsigned f = 0; f < 9; f++) CHECK_EQ_U(pick(f), f % 3);
    /* Weights do not matter beyond 0 = out. */
    service_set_weight(&svc, 0, 100);
    service_set_weight(&svc, 1, 0);
    /* Last was 2: next are 0, 2, 0, 2. */
    for (unsigned f = 0; f < 8; f++) CHECK_EQ_U(pick(f), f % 2 ? 2 : 0);
    unsigned hits[3] = {0};
    service_set_weight(&svc, 1, 1);
    for (unsigned f = 0; f < 300; f++) hits[pick(f)]++;
    CHECK(hits[0] == 100 && hits[1] == 100 && hits[2] == 100);
    svc_teardown();
}

static void check_sequence(const int *expect, unsigned n, unsigned rounds)
{
    for (unsigned r = 0; r < rounds; r++)
        for (unsigned k = 0; k < n; k++) {
            int got = pick(k);
            if (got != expect[k]) {
                fprintf(stderr, "wrr round %u step %u: got %d want %d\n", r, k, got, expect[k]);
                check_failures++;
            }
        }
}

static void test_wrr(void)
{
    unsigned hits[3] = {0};

    /* 3:1 gives exactly 300/100 over 400 picks, as A A A B. */
    svc_setup(&sched_wrr_ops, (const int[]){3, 1}, 2);
    for (unsigned f = 0; f < 400; f++) hits[pick(f)]++;
    CHECK_EQ_U(hits[0], 300);
    CHECK_EQ_U(hits[1], 100);
    svc_teardown();
    svc_setup(&sched_wrr_ops, (const int[]){3, 1}, 2);
    check_sequence((const int[]){0, 0, 0, 1}, 4, 5);
    svc_teardown();

    /* IPVS interleaving: 4:3:2 gives A A B A B C A B C. */
    svc_setup(&sched_wrr_ops, (const int[]){4, 3, 2}, 3);
    check_sequence((const int[]){0, 0, 1, 0, 1, 2, 0, 1, 2}, 9, 10);
    svc_teardown();

    /* The gcd steps: 4:2 is 2:1, A A B. */
    svc_setup(&sched_wrr_ops, (const int[]){4, 2}, 2);
    check_sequence((const int[]){0, 0, 1}, 3, 10);
    svc_teardown();

    /* Weights changed through service_set_weight are picked up: 3:1 -> 1:1 -> 1:2. */
    svc_setup(&sched_wrr_ops, (const int[]){3, 1}, 2);
    pick(0);
    service_set_weight(&svc, 0, 1);
    check_sequence((const int[]){0, 1}, 2, 10);
    service_set_weight(&svc, 1, 2);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 300; f++) hits[pick(f)]++;
    CHECK_EQ_U(hits[0], 100);
    CHECK_EQ_U(hits[1], 200);
    /* A server held out by health leaves the others' ratio intact. */
    service_set_available(&svc, 0, false);
    for (unsigned f = 0; f < 30; f++) CHECK(pick(f) == 1);
    svc_teardown();

    /* A large weight next to a small one still terminates and keeps the ratio. */
    svc_setup(&sched_wrr_ops, (const int[]){65535, 1}, 2);
    memset(hits, 0, sizeof(hits));
    for (unsigned f = 0; f < 65536 * 2; f++) hits[pick(f)]++;
    CHECK_EQ_U(hits[0], 65535 * 2);
    CHECK_EQ_U(hits[1], 2);
    svc_teardown();
}

static void test_lc(void)
{
    /* Overheads 512, 256+0, 5+256 -> index 1. */
    svc_setup(&sched_lc_ops, (const int[]){1, 1, 1}, 3);
    svc.rs[0].active = 2;
    svc.rs[1].active = 1;
    svc.rs[2].active = 1;
    svc.rs[2].inactive = 5;
    CHECK(svc.sched->schedule(&svc, client(0), 0) == 1);
    /* One active outweighs 255 inactive. */
    svc.rs[1].active = 2;
    svc.rs[2].active = 0;
    svc.rs[2].inactive = 255;
    CHECK(svc.sched->schedule(&svc, client(0), 0) == 2);
    /* First minimum wins; weights other than 0 do not matter. */
    for (unsigned i = 0; i < 3; i++) svc.rs[i].active = svc.rs[i].inactive = 0;
    svc.rs[0].weight = 1;
    svc.rs[2].weight = 100;
    CHECK(svc.sched->schedule(&svc, client(0), 0) == 0);
    svc.rs[0].available = false;
    CHECK(svc.sched->schedule(&svc, client(0), 0) == 1);
    /* Equal flows per server whatever the weights. */
    svc.rs[0].available = true;
    unsigned hits[3] = {0};
    for (unsigned f = 0; f < 300; f++) hits[pick(f)]++;
    CHECK(hits[0] == 100 && hits[1] == 100 && hits[2] == 100);
    svc_teardown();
}

static void wlc_ratio(bool active)
{
    unsigned hits[2] = {0};

    svc_setup(&sched_wlc_ops, (const int[]){3, 1}, 2);
    for (unsigned f = 0; f < 4000; f++) {
        int i = svc.sched->schedule(&svc, client(f), 0);
        CHECK(i == 0 || i == 1);
        if (i < 0) continue;
        hits[i]++;
        if (active)
            svc.rs[i].active++;
        else
            svc.rs[i].inactive++;
    }
    CHECK(hits[0] >= 2970 && hits[0] <= 3030);
    CHECK(hits[1] >= 970 && hits[1] <= 1030);
    svc_teardown();
}

static void test_wlc(void)
{
    wlc_ratio(false);
    wlc_ratio(true);

    /* Unequal existing loads, equal weights: the idle server takes flows until it catches up. */
    svc_setup(&sched_wlc_ops, (const int[]){1, 1}, 2);
    svc.rs[0].inactive = 100;
    for (unsigned f = 0; f < 100; f++) CHECK(pick(f) == 1);
    unsigned hits[2] = {0};
    for (unsigned f = 0; f < 200; f++) hits[pick(f)]++;
    CHECK(hits[0] == 100 && hits[1] == 100);
    svc_teardown();

    /* overhead/weight: 600/2 = 300 against 250/1 -> the lighter-weighted but less loaded one;
     * 400/2 = 200 against 250/1 -> the heavier one. */
    svc_setup(&sched_wlc_ops, (const int[]){2, 1}, 2);
    svc.rs[0].active = 2;
    svc.rs[0].inactive = 88;
    svc.rs[1].inactive = 250;
    CHECK(svc.sched->schedule(&svc, client(0), 0) == 1);
    svc.rs[0].active = 1;
    svc.rs[0].inactive = 144;
    CHECK(svc.sched->schedule(&svc, client(0), 0) == 0);
    /* Ties go to the first. */
    svc.rs[0].active = 0;
    svc.rs[0].inactive = 500;
    CHECK(svc.sched->schedule(&svc, client(0), 0) == 0);
    /* Counters at their limits do not overflow the cross-multiplication. */
    svc.rs[0].active = svc.rs[0].inactive = UINT32_MAX;
    svc.rs[0].weight = 65535;
    svc.rs[1].active = UINT32_MAX;
    svc.rs[1].inactive = 0;
    svc.rs[1].weight = 65535;
    CHECK(svc.sched->schedule(&svc, client(0), 0) == 1);
    svc_teardown();
}

static void test_sh(void)
{
    enum { N = 10000 };
    static int first[N];
    unsigned hits[4] = {0};

    /* Same client, same server; spread in proportion to weights over consecutive addresses. */
    svc_setup(&sched_sh_ops, (const int[]){3, 1}, 2);
    for (unsigned c = 0; c < N; c++) {
        first[c] = svc.sched->schedule(&svc, client(c), 0);
        CHECK(first[c] == 0 || first[c] == 1);
        if (first[c] >= 0) hits[first[c]]++;
    }
    for (unsigned c = 0; c < N; c++) CHECK(svc.sched->schedule(&svc, client(c), 0) == first[c]);
    CHECK(hits[0] >= 6750 && hits[0] <= 8250);
    CHECK(hits[1] >= 1750 && hits[1] <= 3250);
    /* Clients that differ only in high bits spread too (not just the low byte). */
    memset(hits, 0, sizeof(hits));
    for (unsigned c = 0; c < 4000; c++) hits[svc.sched->schedule(&svc, htonl((c << 20) | 0x0a), 0)]++;
    CHECK(hits[0] >= 2700 && hits[0] <= 3300);

    /* Fallback: a server quiesced before the table is rebuilt loses its clients to the next
     * bucket; everyone else keeps their server. */
    svc.rs[0].weight = 0;
    for (unsigned c = 0; c < N; c++) CHECK(svc.sched->schedule(&svc, client(c), 0) == 1);
    svc.rs[0].weight = 3;
    /* Held out by health: the table stays, only its clients move. */
    service_set_available(&svc, 1, false);
    for (unsigned c = 0; c < N; c++) CHECK(svc.sched->schedule(&svc, client(c), 0) == 0);
    service_set_available(&svc, 1, true);
    for (unsigned c = 0; c < N; c++) CHECK(svc.sched->schedule(&svc, client(c), 0) == first[c]);
    svc_teardown();

    svc_setup(&sched_sh_ops, (const int[]){1, 1, 1, 1}, 4);
    for (unsigned c = 0; c < N; c++) first[c] = svc.sched->schedule(&svc, client(c), 0);
    service_set_available(&svc, 2, false);
    unsigned moved = 0;
    for (unsigned c = 0; c < N; c++) {
        int i = svc.sched->schedule(&svc, client(c), 0);
        CHECK(i != 2 && i >= 0);
        if (first[c] != 2)
            CHECK(i == first[c]);
        else
            moved++;
    }
    CHECK(moved >= 2000 && moved <= 3000);
    /* A weight change through the control path rebuilds: the server gets no buckets at all. */
    service_set_available(&svc, 2, true);
    service_set_weight(&svc, 3, 0);
    memset(hits, 0, sizeof(hits));
    for (unsigned c = 0; c < N; c++) hits[svc.sched->schedule(&svc, client(c), 0)]++;
    CHECK_EQ_U(hits[3], 0);
    for (unsigned i = 0; i < 3; i++) CHECK(hits[i] >= 2900 && hits[i] <= 3770);
    svc_teardown();

    /* Proportional even when weights are large next to 256 (IPVS's fill would give 200:56). */
    svc_setup(&sched_sh_ops, (const int[]){200, 300}, 2);
    memset(hits, 0, sizeof(hits));
    for (unsigned c = 0; c < N; c++) hits[svc.sched->schedule(&svc, client(c), 0)]++;
    CHECK(hits[0] >= 3600 && hits[0] <= 4400);
    svc_teardown();

    /* A tiny weight still gets a bucket. */
    svc_setup(&sched_sh_ops, (const int[]){65535, 1}, 2);
    memset(hits, 0, sizeof(hits));
    for (unsigned c = 0; c < N; c++) hits[svc.sched->schedule(&svc, client(c), 0)]++;
    CHECK(hits[1] > 0 && hits[1] < 200);
    svc_teardown();
}

int main(void)
{
    test_registry();
    for (unsigned i = 0; i < N_OPS; i++)
        if (all_ops[i] != &sched_mh_ops) /* unresolved counts as up for mh (sched_mh.c) */
            test_eligibility(all_ops[i]);
    test_rr();
    test_wrr();
    test_lc();
    test_wlc();
    test_sh();
    CHECK_DONE();
}
